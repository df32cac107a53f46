"""Dataset SPECs: one SPEC form names a dataset everywhere (CLI, chapters, tests, studies).

SPEC forms
----------
``synthetic`` or ``synthetic:SEED``
    the seeded synthetic day (generated into the data directory on first use; byte-identical
    for the same seed).
``lobster:TICKER:LEVEL``
    a LOBSTER sample, e.g. ``lobster:AAPL:1``, looked up in ``$COMPANION_DATA/lobster`` and then
    in the shared sample folder (``$COMPANION_SHARED``, default ``../shared/data`` beside the repo).
a path to a LOBSTER message file
    its orderbook file is found beside it by name (``_message_`` -> ``_orderbook_``).
``universe:SEED:NxD[:MINUTES][:factor=RHO]`` and ``universe:.../TICKER/DATE``
    a synthetic universe of N tickers x D days, and one ticker-day of it (generated on demand,
    :mod:`companion.universe`).
a folder
    the LOBSTER ticker-days and daily Binance recordings in it (:func:`companion.catalog.discover`).

This module parses a SPEC (:func:`parse_spec`) and finds the LOBSTER files of the SPECs that have
them (:func:`resolve_lobster_paths`); :func:`companion.catalog.discover` lists the ticker-days a
SPEC names and :func:`companion.data.load` reads one.
"""
from __future__ import annotations

import os  # noqa: F401  (the doctests set environment variables)
import re
from dataclasses import dataclass
from pathlib import Path

from companion.paths import REPO_ROOT, data_dir, shared_data_dir  # noqa: F401  (REPO_ROOT: the doctests)

__all__ = ["DEFAULT_SEED", "Spec", "find_lobster_sample", "orderbook_beside", "parse_spec", "resolve_lobster_paths"]

DEFAULT_SEED = 7


@dataclass(frozen=True)
class Spec:
    """A parsed dataset SPEC (see the module docstring).

    Attributes
    ----------
    kind : str
        ``"synthetic"``, ``"lobster"``, ``"universe"`` (a universe or one of its days) or
        ``"folder"``.
    text : str
        The SPEC as given (stripped).
    seed : int or None
        Generator seed (synthetic only).
    ticker : str or None
        LOBSTER sample ticker (``lobster:TICKER:LEVEL`` only).
    level : int or None
        LOBSTER sample book depth (``lobster:TICKER:LEVEL`` only).
    """

    kind: str                 # "synthetic" | "lobster" | "universe" | "folder"
    text: str                 # the SPEC as given
    seed: int | None = None   # synthetic only
    ticker: str | None = None
    level: int | None = None


_LOBSTER_NAME = re.compile(r"^(?P<ticker>[A-Za-z0-9.]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_(?P<what>message|orderbook)_(?P<level>\d+)\.csv(\.gz)?$")


def parse_spec(spec: str) -> Spec:
    """Parse a SPEC string (see the module docstring).

    Parameters
    ----------
    spec : str
        ``synthetic[:SEED]``, ``lobster:TICKER:LEVEL``, the path of a LOBSTER message file,
        ``universe:SEED:NxD[:MINUTES][:factor=RHO][/TICKER/DATE]`` or a folder.

    Returns
    -------
    Spec

    Raises
    ------
    ValueError
        Naming the part of the SPEC that is not understood.

    Examples
    --------
    >>> parse_spec("lobster:aapl:1")
    Spec(kind='lobster', text='lobster:aapl:1', seed=None, ticker='AAPL', level=1)
    >>> parse_spec("synthetic:3").seed
    3
    >>> parse_spec("universe:1:3x5:30/SYN1/2012-06-22").kind
    'universe'
    >>> parse_spec(str(REPO_ROOT / "companion")).kind
    'folder'
    """
    s = spec.strip()
    if s == "synthetic" or s.startswith("synthetic:"):
        seed = DEFAULT_SEED
        if ":" in s:
            tail = s.split(":", 1)[1]
            if not tail.isdigit():
                raise ValueError(f"dataset SPEC {spec!r}: seed {tail!r} is not a non-negative integer")
            seed = int(tail)
        return Spec("synthetic", s, seed=seed)
    if s.startswith("lobster:"):
        parts = s.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ValueError(f"dataset SPEC {spec!r}: expected lobster:TICKER:LEVEL, e.g. lobster:AAPL:1")
        return Spec("lobster", s, ticker=parts[1].upper(), level=int(parts[2]))
    if s.startswith("universe:"):
        from companion import universe

        if "/" in s:
            universe.universe_day(s)          # raises ValueError naming what is wrong
        else:
            universe.parse_universe(s)
        return Spec("universe", s)
    p = Path(s)
    if _LOBSTER_NAME.match(p.name):
        return Spec("lobster", s)
    if p.is_dir():
        return Spec("folder", s)
    raise ValueError(
        f"dataset SPEC {spec!r} not understood: use synthetic[:SEED], lobster:TICKER:LEVEL, "
        "the path of a LOBSTER message file, universe:SEED:NxD[:MINUTES][/TICKER/DATE] or a folder"
    )


def orderbook_beside(message_path: str | Path) -> Path | None:
    """The LOBSTER orderbook file beside a message file.

    Parameters
    ----------
    message_path : str or pathlib.Path
        ``..._message_L.csv[.gz]``.

    Returns
    -------
    pathlib.Path or None
        The existing file of the same name with ``_orderbook_`` (with or without ``.gz``), or None.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     msg = Path(tmp) / "AAPL_2012-06-21_34200000_57600000_message_1.csv"
    ...     before = orderbook_beside(msg)
    ...     (Path(tmp) / "AAPL_2012-06-21_34200000_57600000_orderbook_1.csv.gz").touch()
    ...     print(before, orderbook_beside(msg).name)
    None AAPL_2012-06-21_34200000_57600000_orderbook_1.csv.gz
    """
    p = Path(message_path)
    name = p.name.replace("_message_", "_orderbook_")
    for q in (p.with_name(name), p.with_name(name[:-3] if name.endswith(".gz") else name + ".gz")):
        if q.exists():
            return q
    return None


def find_lobster_sample(ticker: str, level: int) -> Path:
    """The message file of a LOBSTER sample in the data folder, then the shared folder.

    Parameters
    ----------
    ticker : str
        E.g. ``"AAPL"``.
    level : int
        Number of book levels of the sample (1, 5, 10, ...).

    Returns
    -------
    pathlib.Path
        The first matching ``TICKER_DATE_START_END_message_LEVEL.csv[.gz]``.

    Raises
    ------
    FileNotFoundError
        When no folder holds the sample (the message says how to fetch it).

    Examples
    --------
    >>> import tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(
    ...         os.environ, {"COMPANION_DATA": tmp, "COMPANION_SHARED": "/no/such/folder"}):
    ...     (Path(tmp) / "lobster").mkdir()
    ...     (Path(tmp) / "lobster" / "AAPL_2012-06-21_34200000_57600000_message_1.csv").touch()
    ...     print(find_lobster_sample("AAPL", 1).name)
    ...     try:
    ...         find_lobster_sample("AAPL", 5)
    ...     except FileNotFoundError:
    ...         print("no level-5 sample")
    AAPL_2012-06-21_34200000_57600000_message_1.csv
    no level-5 sample
    """
    pattern = re.compile(rf"^{re.escape(ticker)}_\d{{4}}-\d{{2}}-\d{{2}}_\d+_\d+_message_{level}\.csv(\.gz)?$")
    roots = [data_dir() / "lobster"]
    sh = shared_data_dir()
    if sh is not None:
        roots.append(sh / "lobster")
    for root in roots:
        if root.is_dir():
            hits = sorted(f for f in root.iterdir() if pattern.match(f.name))
            if hits:
                return hits[0]
    raise FileNotFoundError(
        f"LOBSTER sample {ticker} level {level} not found in {', '.join(map(str, roots))}; "
        "get it with `python data_scripts/get_lobster_sample.py` (or --from DIR)"
    )


def resolve_lobster_paths(spec: str | Spec) -> tuple[Path, Path | None]:
    """Message and orderbook files of a dataset SPEC; generates the synthetic day if missing.

    Parameters
    ----------
    spec : str or Spec
        A dataset SPEC (see :func:`parse_spec`) or its parsed form. ``synthetic[:SEED]`` resolves
        to the files of :func:`companion.synth.ensure_day` under :func:`companion.paths.data_dir` (generated on
        first use: a few seconds for a full day).

    Returns
    -------
    tuple of (pathlib.Path, pathlib.Path or None)
        ``(message file, orderbook file or None)``.

    Raises
    ------
    FileNotFoundError
        When a LOBSTER sample or a message path does not exist.
    ValueError
        When the SPEC is not understood, or names a universe day or a folder (no file pair of
        their own: read them with :func:`companion.data.load`).

    Examples
    --------
    >>> import tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(
    ...         os.environ, {"COMPANION_DATA": tmp, "COMPANION_SHARED": "/no/such/folder"}):
    ...     root = Path(tmp) / "lobster"
    ...     root.mkdir()
    ...     for what in ("message", "orderbook"):
    ...         (root / f"AAPL_2012-06-21_34200000_57600000_{what}_1.csv").touch()
    ...     msg, ob = resolve_lobster_paths("lobster:AAPL:1")
    ...     print(msg.name)
    ...     print(ob.name)
    AAPL_2012-06-21_34200000_57600000_message_1.csv
    AAPL_2012-06-21_34200000_57600000_orderbook_1.csv
    """
    sp = parse_spec(spec) if isinstance(spec, str) else spec
    if sp.kind == "universe":
        raise ValueError(f"dataset SPEC {sp.text!r}: a universe day has no files (it is generated): "
                         "read it with companion.load or companion.catalog.load_day")
    if sp.kind == "folder":
        raise ValueError(f"dataset SPEC {sp.text!r}: a folder may hold many ticker-days: read its one day with "
                         "companion.load, or list them with companion.catalog.discover")
    if sp.kind == "synthetic":
        from companion import synth

        msg, ob = synth.ensure_day(seed=sp.seed)
        return Path(msg), Path(ob)
    if sp.ticker is not None:
        msg = find_lobster_sample(sp.ticker, sp.level)
    else:
        msg = Path(sp.text)
        if not msg.exists():
            raise FileNotFoundError(f"LOBSTER message file {msg} does not exist")
    return msg, orderbook_beside(msg)
