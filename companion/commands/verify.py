"""``python -m companion verify``: check the book engine against a venue's own answer key.

* ``verify lobster MESSAGE ORDERBOOK`` -- every message applied to the previous orderbook row must
  give the next row on every level it determines; snapshot-assisted replay must reproduce every
  row (see :func:`companion.book.verify_lobster`).
* ``verify binance RECORDING [RECORDING ...]`` -- the book rebuilt by
  :func:`companion.book.replay` from the recording's snapshot + depth diffs must equal its
  bookTicker stream at equal update ids (see :func:`companion.io.binance.verify_recording`).
  Several consecutive daily recordings are read as one stream (the book carried across files,
  update-id continuity checked at each boundary); the counts are reported per file.

Exit code 0 when everything matched, 1 when not, 2 on bad input (reader's DataFormatError).
"""
from __future__ import annotations

import argparse

from companion.cli import print_json_last


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="verify book reconstruction against a venue's answer key",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="venue", required=True)
    lob = sub.add_parser("lobster", help="LOBSTER message file against its orderbook file")
    lob.add_argument("message", help="LOBSTER message file (.csv or .csv.gz)")
    lob.add_argument("orderbook", help="LOBSTER orderbook file (.csv or .csv.gz)")
    lob.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    lob.set_defaults(handler=run_lobster)
    bn = sub.add_parser("binance", help="Binance depth recording against its bookTicker stream")
    bn.add_argument("recording", nargs="+",
                    help="hftbacktest-style Binance recording (.gz); several = consecutive days, in order")
    bn.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    bn.set_defaults(handler=run_binance)
    register_formats(sub)


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.2f}%" if b else "n/a"


def run_lobster(args: argparse.Namespace) -> int:
    from companion.book import verify_lobster
    from companion.io.lobster import read_lobster

    r = verify_lobster(read_lobster(args.message, args.orderbook, check=False))
    n, tc, tm = r["rows"], r["transitions_checked"], r["transitions_matched"]
    print(f"{r['symbol']} level {r['levels']}: {n} rows")
    print(f"transitions matched: {tm} / {tc} ({_pct(tm, tc)})"
          + ("" if r["first_mismatched_transition"] is None else f"; first mismatch at row {r['first_mismatched_transition']}"))
    print(f"transitions bringing a level in from beyond the visible depth: {r['transitions_with_entering']} "
          f"({_pct(r['transitions_with_entering'], tc)}); levels taken from the snapshot: {r['levels_taken_from_snapshot']}")
    print(f"snapshot-assisted replay: {r['rows_reproduced']} / {n} rows reproduced exactly"
          + (" (all)" if r["all_rows_reproduced"] else ""))
    if r["drift_first_mismatch_row"] is None:
        print("plain replay from row 0 and the messages alone: every row matches")
    else:
        print(f"plain replay from row 0 and the messages alone (not exact for a level-{r['levels']} file): first "
              f"differs at row {r['drift_first_mismatch_row']} ({r['drift_first_mismatch_time']}); "
              f"{r['drift_rows_matched']} / {n} rows equal")
    print(f"plain replay from an empty book: {r['replay_exact_rows']} / {n} rows exact ({_pct(r['replay_exact_rows'], n)})")
    found = {k.replace("_", " "): v for k, v in r["order_anomalies"].items() if v}
    print(f"order audit ({'full depth: anomalies are errors' if r['full_depth'] else 'truncated depth: anomalies counted'}): "
          + (", ".join(f"{k} {v}" for k, v in found.items()) or "no anomaly"))
    print("OK: every determined level matched" if r["ok"] else "MISMATCH")
    if args.json:
        print_json_last(r)
    return 0 if r["ok"] else 1


def run_binance(args: argparse.Namespace) -> int:
    from companion.book import top_of_book
    from companion.io.binance import verify_recording

    r = verify_recording(list(args.recording), top_of_book=top_of_book)
    r["engine"] = "companion.book.replay"
    files = r["files"]
    print(f"{len(files)} file(s), {r['market']}: {r['diffs_applied']} diffs applied, {r['diffs_dropped']} dropped, "
          f"{r['gaps']} gaps, {r['boundary_resyncs']} re-synced file boundaries")
    for f in files:
        print(f"  {f['recording']} ({f['boundary']}): {f['lines']} lines, {f['diffs_applied']} diffs, "
              f"{f['trades']} trades, {f['tickers']} bookTickers; compared {f['compared']}, "
              f"matched {f['matched']} ({_pct(f['matched'], f['compared'])})")
    print(f"bookTicker points compared: {r['compared']} of {r['tickers']}; matched: {r['matched']} "
          f"({_pct(r['matched'], r['compared'])}); crossed books: {r['crossed']}")
    if r["local_ts_backwards"]:
        print(f"local receive time went backwards on {r['local_ts_backwards']} line(s), first at "
              f"{r['local_ts_backwards_first']}")
    ok = bool(r["all_matched"])
    print("OK: the rebuilt best quotes equal bookTicker at every compared point" if ok else "MISMATCH")
    if args.json:
        print_json_last(r)
    return 0 if ok else 1


# ---- issue 16: DBN / Tardis verification (added by the formats helper) ----
def register_formats(sub) -> None:
    """The ``verify dbn`` and ``verify tardis`` sub-commands."""
    db = sub.add_parser("dbn", help="Databento DBN MBO file against the MBP-10 file of the same session")
    db.add_argument("mbo", help="DBN MBO file (.dbn or .dbn.zst)")
    db.add_argument("mbp10", help="DBN MBP-10 file (.dbn or .dbn.zst)")
    db.add_argument("--instrument-id", type=int, default=None, help="instrument to check (files with several)")
    db.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    db.set_defaults(handler=run_dbn)
    td = sub.add_parser("tardis", help="Tardis incremental_book_L2 against book_snapshot_25 of the same market")
    td.add_argument("incremental", help="Tardis incremental_book_L2 CSV (.csv or .csv.gz)")
    td.add_argument("snapshot", help="Tardis book_snapshot_25 (or _5) CSV of the same exchange and symbol")
    td.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    td.set_defaults(handler=run_tardis)


def run_dbn(args: argparse.Namespace) -> int:
    from companion.io.dbn import verify_dbn

    r = verify_dbn(args.mbo, args.mbp10, instrument_id=args.instrument_id)
    print(f"{r['symbol']}: {r['mbo_records']} MBO records, {r['mbp10_records']} MBP-10 records")
    print(f"records in both (same sequence, ts_recv, action): {r['records_matched']}; "
          f"equal side/price/size: {r['records_equal']}")
    print(f"MBP-10 rows following from the previous row by their trigger: {r['transitions_matched']} / "
          f"{r['transitions_checked']} checked")
    if r["book_determinable"]:
        print(f"MBO replay vs MBP-10 book: {r['rows_equal']} / {r['rows_compared']} rows equal")
    else:
        print(f"MBO replay vs MBP-10 book: not determinable (no snapshot; {r['unknown_orders']} orders "
              "referenced before they were added)")
    print("OK: every determined check matched" if r["ok"] else "MISMATCH")
    if args.json:
        print_json_last(r)
    return 0 if r["ok"] else 1


def run_tardis(args: argparse.Namespace) -> int:
    from companion.io.tardis import verify_tardis

    r = verify_tardis(args.incremental, args.snapshot)
    print(f"{r['exchange']} {r['symbol']}: {r['incremental_rows']} incremental rows, "
          f"{r['snapshots']} snapshots of {r['depth']} levels")
    print(f"snapshots inside the incremental stream's time span: {r['compared']}; "
          f"equal on the top {r['depth']} levels: {r['matched']}")
    if r["compared"] == 0:
        print("nothing to compare: the two files do not overlap (different exchange, symbol or time)")
    print("OK: the rebuilt book equals every overlapping snapshot" if r["ok"] else "MISMATCH")
    if args.json:
        print_json_last(r)
    return 0 if r["ok"] else 1
