"""``python -m companion convert --from FORMAT --to {lobster,parquet,hftbacktest} IN OUT``.

Reads ``IN`` with the format's strict reader into :data:`companion.events.EVENT_DTYPE` and writes:

* ``lobster``: ``OUT`` is a folder; writes ``SYMBOL_DATE_STARTMS_ENDMS_message_L.csv`` and
  ``..._orderbook_L.csv`` (LOBSTER ReadMe layout; times in seconds after midnight of the first
  event's UTC date, prices in 1e-4 currency units, integer sizes). Level-only sources (Tardis,
  Bybit) become aggregated ADD / CANCEL / DELETE messages with order id 0; a TRADE becomes a type-5
  message on the resting side; trades without a side are dropped (counted). Fractional sizes or
  prices finer than 1e-4 cannot be LOBSTER and are refused (use ``parquet``);
* ``parquet``: one table with the event columns; the instrument as JSON in the schema metadata
  (key ``companion.instrument``);
* ``hftbacktest``: the ``.npz`` of :func:`companion.io.hftbacktest.export`.

Formats: ``dbn`` (MBO), ``tardis`` (incremental_book_L2), ``tardis-trades``, ``bybit`` (ob500),
``itch`` (ITCH 5.0, needs ``--symbol`` or ``--locate`` when several stocks), ``lobster``
(message file; its orderbook file is not needed).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import numpy as np

FORMATS = ("dbn", "tardis", "tardis-trades", "bybit", "itch", "lobster")
TARGETS = ("lobster", "parquet", "hftbacktest")


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert DBN / Tardis / Bybit / ITCH data to LOBSTER, parquet or hftbacktest",
                              description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="src", required=True, choices=FORMATS, help="input format")
    p.add_argument("--to", dest="dst", required=True, choices=TARGETS, help="output format")
    p.add_argument("input", help="input file")
    p.add_argument("output", help="output folder (lobster) or file (parquet, hftbacktest)")
    p.add_argument("--levels", type=int, default=10, help="orderbook levels of the LOBSTER output (default 10)")
    p.add_argument("--symbol", default=None, help="ITCH: stock symbol to keep")
    p.add_argument("--locate", type=int, default=None, help="ITCH: stock locate to keep")
    p.add_argument("--instrument-id", type=int, default=None, help="DBN: instrument to keep")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.set_defaults(handler=run)


def read_any(fmt: str, path: str | Path, **kw):
    """``(events, instrument)`` of a file in one of :data:`FORMATS`."""
    if fmt == "dbn":
        from companion.io.dbn import read_dbn_mbo

        d = read_dbn_mbo(path, instrument_id=kw.get("instrument_id"))
        return d.events, d.instrument
    if fmt == "tardis":
        from companion.io.tardis import read_tardis_incremental

        d = read_tardis_incremental(path)
        return d.events, d.instrument
    if fmt == "tardis-trades":
        from companion.io.tardis import read_tardis_trades

        d = read_tardis_trades(path)
        return d.events, d.instrument
    if fmt == "bybit":
        from companion.io.bybit import read_bybit_ob500

        d = read_bybit_ob500(path)
        return d.events, d.instrument
    if fmt == "itch":
        from companion.io.itch import read_itch

        d = read_itch(path, locate=kw.get("locate"), symbol=kw.get("symbol"))
        return d.events, d.instrument
    if fmt == "lobster":
        from companion.io.lobster import read_lobster

        d = read_lobster(path)
        return d.events, d.instrument
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def to_lobster_messages(events: np.ndarray, instrument, source: str = "input") -> tuple[np.ndarray, int, dict]:
    """LOBSTER message rows ``(time_ns, type, order_id, size, price, direction)`` (int64), the
    UTC-midnight offset subtracted from the times, and counts of what was changed or dropped."""
    from companion.errors import DataFormatError
    from companion.events import ADD, CANCEL, CLEAR, CROSS, DELETE, EXEC_HIDDEN, EXEC_VISIBLE, HALT, LEVEL_SET, TRADE

    sc = int(instrument.price_scale)
    if (10000 * 1) % sc and sc % 10000:
        raise DataFormatError(source, f"price scale {sc} cannot be expressed in 1e-4 units", field="price")
    mul_num, mul_den = (10000 // sc, 1) if 10000 % sc == 0 else (1, sc // 10000)
    px = events["price"].astype(np.int64)
    if mul_den > 1 and np.any(px % mul_den):
        i = int(np.flatnonzero(px % mul_den)[0])
        raise DataFormatError(source, f"event {i + 1}: price finer than 1e-4 cannot be written as LOBSTER "
                              "(use --to parquet)", field="price")
    sz = events["size"]
    if np.any(sz != np.round(sz)):
        i = int(np.flatnonzero(sz != np.round(sz))[0])
        raise DataFormatError(source, f"event {i + 1}: fractional size {sz[i]} cannot be written as LOBSTER "
                              "(integer shares; use --to parquet)", field="size")
    ts = events["ts"].astype(np.int64)
    base = 0
    if len(ts) and ts[0] >= 86_400 * 10**9:
        base = (int(ts[0]) // (86_400 * 10**9)) * 86_400 * 10**9
    book = {1: {}, -1: {}}
    rows = []
    st = {"trades_without_side": 0, "level_messages": 0}
    for e in events.tolist():
        t, k, s, p, q, oid = e[0] - base, e[2], e[3], e[4] * mul_num // mul_den, round(e[5]), e[6]
        if k in (ADD, CANCEL, DELETE, EXEC_VISIBLE, EXEC_HIDDEN, CROSS, HALT):
            if k == ADD:
                book[s][p] = book[s].get(p, 0) + q
            elif k in (CANCEL, DELETE, EXEC_VISIBLE):
                book[s][p] = book[s].get(p, 0) - q
            rows.append((t, k, oid, q, p, s))
        elif k == TRADE:
            if s == 0:
                st["trades_without_side"] += 1
                continue
            rows.append((t, EXEC_HIDDEN, 0, q, p, -s))
        elif k == LEVEL_SET:
            old = book[s].get(p, 0)
            if q > old:
                rows.append((t, ADD, 0, q - old, p, s))
            elif q < old:
                rows.append((t, DELETE if q == 0 else CANCEL, 0, old - q, p, s))
            else:
                continue
            st["level_messages"] += 1
            book[s][p] = q
        elif k == CLEAR:
            for sd in (1, -1):
                for lp, lq in sorted(book[sd].items()):
                    if lq > 0:
                        rows.append((t, DELETE, 0, lq, lp, sd))
                book[sd] = {}
    arr = np.array(rows, dtype=np.int64).reshape(-1, 6)
    return arr, base, st


def write_lobster(out_dir: str | Path, events: np.ndarray, instrument, levels: int = 10, source: str = "input"
                  ) -> tuple[Path, Path, dict]:
    """Write the LOBSTER message + orderbook CSVs of ``events``; returns both paths and counts."""
    from companion.book import replay
    from companion.events import EVENT_DTYPE
    from companion.synth.kernels import format_int_table_nb, format_messages_nb

    msgs, base, st = to_lobster_messages(events, instrument, source)
    ev = np.zeros(len(msgs), EVENT_DTYPE)
    ev["ts"], ev["kind"], ev["order_id"], ev["size"], ev["price"], ev["side"] = (msgs[:, j] for j in range(6))
    ob = replay(ev, levels).astype(np.int64)
    date = _dt.datetime.fromtimestamp(base / 1e9, tz=_dt.UTC).strftime("%Y-%m-%d") if base else (
        instrument.date or "1970-01-01")
    t0 = int(msgs[0, 0]) // 1_000_000 if len(msgs) else 0
    t1 = int(msgs[-1, 0]) // 1_000_000 + 1 if len(msgs) else 1
    sym = "".join(c if c.isalnum() or c in ".-" else "-" for c in instrument.symbol) or "X"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mp = out / f"{sym}_{date}_{t0}_{t1}_message_{levels}.csv"
    op = out / f"{sym}_{date}_{t0}_{t1}_orderbook_{levels}.csv"
    mp.write_bytes(format_messages_nb(np.ascontiguousarray(msgs)).tobytes())
    op.write_bytes(format_int_table_nb(np.ascontiguousarray(ob)).tobytes())
    st["messages"] = len(msgs)
    return mp, op, st


def write_parquet(path: str | Path, events: np.ndarray, instrument) -> Path:
    """The events as a parquet table; the instrument as JSON in the schema metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({name: np.ascontiguousarray(events[name]) for name in events.dtype.names})
    t = t.replace_schema_metadata({"companion.instrument": json.dumps(instrument.to_dict(), default=str)})
    pq.write_table(t, str(path))
    return Path(path)


def run(args: argparse.Namespace) -> int:
    from companion.cli import print_json_last

    ev, ins = read_any(args.src, args.input, symbol=args.symbol, locate=args.locate, instrument_id=args.instrument_id)
    info = {"from": args.src, "to": args.dst, "input": args.input, "events": len(ev), "symbol": ins.symbol,
            "price_scale": ins.price_scale, "tick": ins.tick}
    if args.dst == "lobster":
        if args.levels < 1:
            raise ValueError(f"--levels must be >= 1, got {args.levels}")
        mp, op, st = write_lobster(args.output, ev, ins, args.levels, source=args.input)
        info.update({"message_path": str(mp), "orderbook_path": str(op), **st})
        print(f"{len(ev)} events -> {st['messages']} LOBSTER messages: {mp}")
        print(f"orderbook ({args.levels} levels): {op}")
    elif args.dst == "parquet":
        p = write_parquet(args.output, ev, ins)
        info["path"] = str(p)
        print(f"{len(ev)} events -> {p}")
    else:
        from companion.io.hftbacktest import export

        p = export(ev, args.output, ins)
        info["path"] = str(p)
        print(f"{len(ev)} events -> {p} (hftbacktest npz)")
    if args.json:
        print_json_last(info)
    return 0
