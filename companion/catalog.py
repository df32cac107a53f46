"""Catalog of ticker-days: what a folder, a universe or a SPEC holds, one row per (source, ticker, date, level).

A research run over many days starts from a list of :class:`~companion.events.TickerDay`. :func:`discover` builds it
from

* a **folder** (searched recursively; hidden files and folders are skipped):

  - LOBSTER files in LOBSTER's own naming, ``TICKER_DATE_START_END_message_LEVEL.csv[.gz]``, with
    the orderbook file beside it (``_orderbook_``; a message file without one is listed with the
    message path only, ``book`` is then None);
  - daily Binance websocket recordings in hftbacktest's naming, ``symbol_YYYYMMDD.gz`` (or plain
    text), one file per day per symbol. The market (``usdm`` futures: depth diffs carry ``pu``;
    ``spot``; ``coinm`` coin-margined futures, the ``dapi`` streams: a pair field ``ps`` or a
    symbol like ``BTCUSD_PERP``) is read from the first depth diff and becomes part of the ticker
    (``BTCUSDT.usdm``), so spot and futures days never mix.
    A day whose file holds no REST snapshot continues the previous day's book: its ``paths`` are
    the chain of files back to the last day with a snapshot (its own file last).

* a **universe SPEC** ``universe:SEED:NxD[:MINUTES][:factor=GAMMA]`` (see :mod:`companion.universe`);
* a **universe day SPEC** ``universe:...//TICKER/DATE`` (one ticker-day of a universe);
* any other dataset SPEC of :func:`companion.spec.parse_spec` (``synthetic[:SEED]``,
  ``lobster:TICKER:LEVEL``, a message-file path) or a Binance recording path: one ticker-day.

:func:`frame` tabulates a list; :func:`load_day` reads one day (events, book, instrument) from
its source. :class:`companion.store.Store` keeps what was read in Parquet.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError
from companion.events import CLEAR, EVENT_DTYPE, LEVEL_SET, DayData, TickerDay
from companion.spec import orderbook_beside, parse_spec, resolve_lobster_paths

__all__ = ["binance_name", "discover", "frame", "load_day"]

SOURCES = ("lobster", "binance", "synthetic")

_BINANCE_NAME = re.compile(r"^(?P<symbol>[a-z0-9]+(?:_[a-z0-9]+)?)_(?P<date>\d{8})(?:\.txt|\.jsonl?)?(?:\.gz)?$", re.IGNORECASE)


def binance_name(path: str | Path) -> tuple[str, str] | None:
    """``(symbol, YYYY-MM-DD)`` of an hftbacktest-style daily recording name, else None.

    Examples
    --------
    >>> binance_name("spot/btcusdt_20240809.gz")
    ('BTCUSDT', '2024-08-09')
    >>> binance_name("btcusd_perp_20240809.gz")
    ('BTCUSD_PERP', '2024-08-09')
    >>> binance_name("notes.gz") is None
    True
    """
    m = _BINANCE_NAME.match(Path(path).name)
    if m is None:
        return None
    d = m["date"]
    return m["symbol"].upper(), f"{d[:4]}-{d[4:6]}-{d[6:]}"


def _sniff_binance(path: Path) -> tuple[str | None, bool]:
    """``(market, has_snapshot)`` of a recording: market from the first depth diff (``pu`` ->
    futures; then ``ps`` or a ``_PERP`` / dated symbol -> ``coinm``), None when the file is not a
    Binance recording."""
    market = None
    snapshot = False
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh):
                if '"lastUpdateId"' in line:
                    snapshot = True
                if market is None and '"depthUpdate"' in line:
                    try:
                        d = json.loads(line.split(" ", 1)[1])
                    except (IndexError, ValueError):
                        return None, False
                    d = d.get("data", d)
                    sym = str(d.get("s", ""))
                    market = ("coinm" if ("ps" in d or "_" in sym) else "usdm") if "pu" in d else "spot"
                if market is not None and (snapshot or i > 50_000):
                    break
    except (OSError, EOFError, zlib.error):
        return None, False
    return market, snapshot


def _lobster_day(msg: Path) -> TickerDay:
    from companion.io.lobster import parse_lobster_name

    info = parse_lobster_name(msg)
    ob = orderbook_beside(msg)
    paths = (str(msg),) if ob is None else (str(msg), str(ob))
    source = "synthetic" if _is_synthetic(msg) else "lobster"
    return TickerDay(source, info["ticker"], info["date"], int(info["levels"]), paths, str(msg))


def _is_synthetic(msg: Path) -> bool:
    """The synthetic generator writes ``<stem>_meta.json`` beside its LOBSTER files."""
    meta = msg.with_name(msg.name.split("_message_")[0] + "_meta.json")
    return meta.exists()


def _binance_days(files: list[Path]) -> list[TickerDay]:
    groups: dict[str, list[tuple[str, Path, bool]]] = {}
    for f in files:
        sym, date = binance_name(f)
        market, snap = _sniff_binance(f)
        if market is None:
            continue
        groups.setdefault(f"{sym}.{market}", []).append((date, f, snap))
    out = []
    for ticker, rows in groups.items():
        rows.sort()
        chain: list[str] = []
        for date, f, snap in rows:
            chain = [str(f)] if snap else chain + [str(f)]
            out.append(TickerDay("binance", ticker, date, 0, tuple(chain), str(f)))
    return out


def _scan_folder(root: Path) -> list[TickerDay]:
    from companion.io.lobster import parse_lobster_name

    days: list[TickerDay] = []
    binance: list[Path] = []
    # hidden entries (e.g. the temporary folder of a synthetic day being written) are skipped
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    for f in files:
        info = parse_lobster_name(f)
        if info is not None:
            if info["what"] == "message":
                days.append(_lobster_day(f))
            continue
        if binance_name(f) is not None:
            binance.append(f)
    return days + _binance_days(binance)


def discover(spec_or_folder: str | Path) -> list[TickerDay]:
    """The ticker-days named by a folder, a universe (day) SPEC or any dataset SPEC.

    Parameters
    ----------
    spec_or_folder : str or pathlib.Path
        A folder (searched recursively for LOBSTER files and daily Binance recordings), a universe
        SPEC ``universe:SEED:NxD[:MINUTES][:factor=GAMMA]`` (all its N x D days), a universe day
        SPEC (``universe:1:3x5:30/SYN1/2012-06-22``), a Binance recording path, or a dataset SPEC
        of :func:`companion.spec.parse_spec`.

    Returns
    -------
    list of TickerDay
        Sorted by ``(ticker, date, level)`` (then source and spec). Files that are neither LOBSTER
        nor Binance recordings are ignored.

    Raises
    ------
    ValueError
        When the SPEC is not understood; FileNotFoundError for a missing file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for t in ("AAPL", "MSFT"):
    ...         for what in ("message", "orderbook"):
    ...             (Path(tmp) / f"{t}_2012-06-21_34200000_57600000_{what}_1.csv").touch()
    ...     days = discover(tmp)
    >>> [(d.source, d.ticker, d.date, d.level, len(d.paths)) for d in days]
    [('lobster', 'AAPL', '2012-06-21', 1, 2), ('lobster', 'MSFT', '2012-06-21', 1, 2)]
    >>> [d.spec for d in discover("universe:1:2x2:30")]       # doctest: +NORMALIZE_WHITESPACE
    ['universe:1:2x2:30/SYN0/2012-06-21', 'universe:1:2x2:30/SYN0/2012-06-22',
     'universe:1:2x2:30/SYN1/2012-06-21', 'universe:1:2x2:30/SYN1/2012-06-22']
    """
    s = str(spec_or_folder).strip()
    if s.startswith("universe:"):
        from companion import universe

        if "/" in s:
            return [universe.universe_day(s)]
        days = universe.universe_days(s)
    else:
        p = Path(s)
        if p.is_dir():
            days = _scan_folder(p)
        elif binance_name(p) is not None and p.is_file() and _sniff_binance(p)[0] is not None:
            days = [d for d in _scan_folder(p.parent) if d.source == "binance" and d.own_path == str(p)]
        else:
            looks_like_path = "/" in s or "\\" in s or s.endswith((".csv", ".gz"))
            if looks_like_path and not p.exists() and not s.startswith(("synthetic", "lobster:")):
                raise FileNotFoundError(f"{s}: no such file or folder")
            sp = parse_spec(s)
            msg, _ = resolve_lobster_paths(sp)
            day = _lobster_day(Path(msg))
            days = [TickerDay(day.source, day.ticker, day.date, day.level, day.paths, s)]
    return sorted(days, key=lambda d: (d.ticker, d.date, d.level, d.source, d.spec))


def frame(days: list[TickerDay]):
    """One row per ticker-day: ``source, ticker, date, level, key, spec, files, bytes``.

    Parameters
    ----------
    days : list of TickerDay

    Returns
    -------
    pandas.DataFrame
        ``files`` = number of source files, ``bytes`` = their total size (0 for a universe day).

    Examples
    --------
    >>> f = frame(discover("universe:1:2x3:30"))
    >>> len(f), list(f.columns[:4])
    (6, ['source', 'ticker', 'date', 'level'])
    """
    import pandas as pd

    rows = []
    for d in days:
        size = sum(Path(p).stat().st_size for p in d.paths if Path(p).exists())
        rows.append({"source": d.source, "ticker": d.ticker, "date": d.date, "level": d.level,
                     "key": d.key, "spec": d.spec, "files": len(d.paths), "bytes": size})
    return pd.DataFrame(rows, columns=["source", "ticker", "date", "level", "key", "spec", "files", "bytes"])


def _book_snapshot_events(ev: np.ndarray, cut: int) -> np.ndarray:
    """``CLEAR`` + one ``LEVEL_SET`` per non-empty level of the book after events ``[0, cut)``
    (replayed from the last ``CLEAR``), stamped with the time of event ``cut``."""
    import pandas as pd

    head = ev[:cut]
    clears = np.flatnonzero(head["kind"] == CLEAR)
    start = clears[-1] + 1 if len(clears) else 0
    ls = head[start:][head["kind"][start:] == LEVEL_SET]
    df = pd.DataFrame({"side": ls["side"], "price": ls["price"], "size": ls["size"]})
    last = df.groupby(["side", "price"], sort=True)["size"].last().reset_index()
    last = last[last["size"] > 0]
    out = np.zeros(len(last) + 1, dtype=EVENT_DTYPE)
    t0 = ev[cut] if cut < len(ev) else ev[-1]
    out["ts"] = t0["ts"]
    out["ts_local"] = t0["ts_local"]
    out["kind"][0] = CLEAR
    out["kind"][1:] = LEVEL_SET
    out["side"][1:] = last["side"].to_numpy()
    out["price"][1:] = last["price"].to_numpy()
    out["size"][1:] = last["size"].to_numpy()
    return out


def _load_binance(day: TickerDay) -> DayData:
    from companion.io import binance
    from companion.io.binance import read_binance

    market = day.ticker.rsplit(".", 1)[-1]
    mk = market if market in getattr(binance, "MARKETS", ("usdm", "spot")) else None
    if len(day.paths) == 1:
        d = read_binance(day.paths[0], market=mk)
        return DayData(d.events, None, d.instrument, day)
    own = Path(day.paths[-1])
    try:
        d = read_binance(list(day.paths), market=mk)
    except (TypeError, AttributeError) as exc:
        raise DataFormatError(
            own, f"no REST snapshot in this recording: it continues {Path(day.paths[-2]).name}, and "
            f"this version of read_binance reads one file at a time ({exc})") from None
    files = getattr(d, "files", ())
    if files and "event_start" in files[-1]:
        cut = int(files[-1]["event_start"])
    else:   # the own file's events: those received at or after its first line
        cut = int(np.searchsorted(d.events["ts_local"], _first_local_ns(own), side="left"))
    ev = np.concatenate([_book_snapshot_events(d.events, cut), d.events[cut:]])
    return DayData(ev, None, d.instrument, day)


def _first_local_ns(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                return int(line.split(" ", 1)[0])
    raise DataFormatError(path, "empty recording")


def load_day(day: TickerDay) -> DayData:
    """Read one ticker-day from its source (no store; see :meth:`companion.store.Store.dataset`).

    Parameters
    ----------
    day : TickerDay

    Returns
    -------
    DayData
        ``events``, ``book`` (LOBSTER and synthetic days; None for Binance), ``instrument``.
        A Binance day without a snapshot starts with a ``CLEAR`` and the book carried over from
        the previous recordings as ``LEVEL_SET`` events.

    Raises
    ------
    companion.errors.DataFormatError
        From the reader, naming file, line and field.

    Examples
    --------
    >>> dd = load_day(discover("universe:1:2x2:2")[0])
    >>> dd.events.dtype == EVENT_DTYPE, dd.book.shape[1], dd.instrument.symbol
    (True, 40, 'SYN0')
    """
    if day.source == "binance":
        return _load_binance(day)
    if day.spec.startswith("universe:"):
        from companion import universe

        return universe.generate_day(day)
    from companion.io.lobster import read_lobster

    msg = day.paths[0]
    ob = day.paths[1] if len(day.paths) > 1 else None
    d = read_lobster(msg, ob)
    return DayData(d.events, d.book, d.instrument, day)
