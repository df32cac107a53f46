"""Read one dataset by its SPEC: :func:`load` (the SPEC forms: :mod:`companion.spec`).

:func:`load` reads one ticker-day; a universe or a folder is accepted when it holds exactly one
(several days: list them with :func:`companion.catalog.discover` and run a study). The SPEC
parsing (:mod:`companion.spec`) and the folders (:mod:`companion.paths`) are re-exported here, where
chapters and scripts import them from: ``from companion.data import load, parse_spec, shared_data_dir``.

The data directory is ``$COMPANION_DATA`` (default ``./data`` at the repository root, gitignored).
"""
from __future__ import annotations

from pathlib import Path

from companion.paths import REPO_ROOT, data_dir, shared_data_dir  # noqa: F401  (re-exported)
from companion.spec import DEFAULT_SEED, Spec, find_lobster_sample, orderbook_beside, parse_spec, resolve_lobster_paths  # noqa: F401  (re-exported)


def load(spec: str = "synthetic"):
    """Read a dataset named by SPEC.

    Parameters
    ----------
    spec : str
        See :func:`~companion.spec.parse_spec`; default the seeded synthetic day.

    Returns
    -------
    companion.io.lobster.LobsterData
        Events, book snapshots and instrument. A universe day's ``message_path`` is its SPEC (a
        name, not a file) and ``orderbook_path`` None. A folder holding one Binance recording
        gives :class:`companion.events.DayData` (events, ``book`` None, instrument).

    Raises
    ------
    ValueError
        When a universe or folder holds more or fewer than one ticker-day.

    Examples
    --------
    >>> d = load("synthetic")                     # doctest: +SKIP
    >>> d.events.dtype == EVENT_DTYPE             # doctest: +SKIP
    True
    >>> u = load("universe:1:2x2:1/SYN0/2012-06-22")
    >>> u.instrument.symbol, u.instrument.date, u.book.shape[1]
    ('SYN0', '2012-06-22', 40)
    """
    from companion.io.lobster import LobsterData, read_lobster

    sp = parse_spec(spec)
    if sp.kind in ("universe", "folder"):
        from companion.catalog import load_day

        day = _single_day(sp)
        if day.source == "binance" or day.spec.startswith("universe:"):
            dd = load_day(day)
            if day.source == "binance":
                return dd
            return LobsterData(events=dd.events, book=dd.book, instrument=dd.instrument,
                               message_path=Path(day.spec), orderbook_path=None)
        msg, ob = Path(day.paths[0]), (Path(day.paths[1]) if len(day.paths) > 1 else None)
    else:
        msg, ob = resolve_lobster_paths(sp)
    return read_lobster(msg, ob)


def _single_day(sp: Spec):
    from companion.catalog import discover

    days = discover(sp.text)
    if len(days) != 1:
        raise ValueError(
            f"dataset SPEC {sp.text!r} names {len(days)} ticker-days, not one: list them with "
            "companion.catalog.discover(SPEC) (or name one day, e.g. universe:1:3x5:30/SYN1/2012-06-22) "
            "and run them with `python -m companion study`")
    return days[0]
