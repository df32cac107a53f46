"""Shared fixtures. Real-data tests use ``shared_data`` and skip cleanly when ../shared is absent."""
from __future__ import annotations

from pathlib import Path

import pytest

from companion.data import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (LOBSTER samples, crypto recordings); skips when absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is absent: real-data test skipped")
    return d


def lobster_samples() -> list[tuple[Path, Path]]:
    """(message, orderbook) pairs of every LOBSTER sample in the shared folder ([] when absent)."""
    d = shared_data_dir()
    if d is None or not (d / "lobster").is_dir():
        return []
    out = []
    for msg in sorted((d / "lobster").glob("*_message_*.csv*")):
        ob = msg.with_name(msg.name.replace("_message_", "_orderbook_"))
        if ob.exists():
            out.append((msg, ob))
    return out


def binance_recordings() -> list[Path]:
    d = shared_data_dir()
    if d is None:
        return []
    return sorted(p for p in (d / "crypto" / "hftbacktest").glob("*/btcusdt_*.gz"))
