"""Per-ticker-day studies on a REAL Dask LocalCluster (2 worker processes, one thread each).

Distributed == serial bit for bit, a worker killed mid-run (os.kill from a thread) changes
nothing, a malformed ticker-day is skipped or stops the run with the file named, the CLI's exit
statuses, the features table read back as one Dask DataFrame, cross-impact recovery.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from companion.catalog import discover
from companion.study import StudyError, mean_ci, paired_test, run_study

UNIVERSE = "universe:3:2x3:20"          # 2 tickers x 3 days x 20-minute sessions
OFI_P = {"window": "5min"}
TRAIN_P = {"warmup": "1min", "n_estimators": 20}


@pytest.fixture(scope="module")
def cluster():
    import logging

    from distributed import Client, LocalCluster
    cl = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR)
    client = Client(cl)
    yield cl, client
    client.close()
    cl.close()


@pytest.fixture(scope="module")
def days():
    return discover(UNIVERSE)


def _same(a, b):
    assert_frame_equal(a.table, b.table, check_exact=True)
    for k in a.panels:
        assert_frame_equal(a.panels[k], b.panels[k], check_exact=True)
    assert json.dumps(a.summary, sort_keys=True, default=str) == json.dumps(b.summary, sort_keys=True, default=str)


def test_stats_helpers_against_hand_values():
    r = mean_ci([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.302653; se = 1/sqrt(3)
    assert r["mean"] == 2.0 and abs(r["hi"] - (2 + 4.302653 / np.sqrt(3))) < 1e-5
    p = paired_test([1.0, 2.0, 3.0, 4.0], [0.0, 1.5, 2.0, 3.5])
    assert p["wins"] == 4 and abs(p["mean_diff"] - 0.75) < 1e-12
    assert mean_ci([np.nan])["n"] == 0


def test_ofi_distributed_equals_serial(cluster, days, tmp_path):
    cl, _ = cluster
    store = tmp_path / "store"
    dist = run_study("ofi", days, scheduler=cl.scheduler_address, params=OFI_P, store_root=store)
    ser = run_study("ofi", days, serial=True, params=OFI_P, store_root=store)
    assert dist.workers == 2 and ser.workers == 0
    assert len(dist.table) == len(days) == 6
    assert (dist.table["n_windows"] == 4).all()           # 20 min / 5-min windows
    assert dist.table["beta_day"].gt(0).all()             # OFI pushes the price its way
    _same(dist, ser)
    s = dist.summary["r2_day"]
    assert s["n"] == 6 and s["lo"] < s["mean"] < s["hi"]


def test_train_walk_forward_by_day_distributed_equals_serial(cluster, days, tmp_path):
    _, client = cluster
    store = tmp_path / "store"
    dist = run_study("train", days, client=client, params=TRAIN_P, store_root=store)
    ser = run_study("train", days, serial=True, params=TRAIN_P, store_root=store)
    _same(dist, ser)
    t = dist.table
    # per ticker: days 2 and 3 are test days (train on 1, then on 1-2); three models each
    assert len(t) == 2 * 2 * 3 and set(t["model"]) == {"lightgbm", "logistic", "ofi_sign"}
    assert sorted(t.drop_duplicates("key")["n_train_days"].tolist()) == [1, 1, 2, 2]
    assert set(dist.summary["paired_auc"]) == {"lightgbm-logistic", "lightgbm-ofi_sign", "logistic-ofi_sign"}
    assert dist.summary["test_days"] == 4


def test_features_readable_as_one_dask_frame(cluster, days, tmp_path):
    from companion.store import Store

    _, client = cluster
    res = run_study("features", days, client=client, params={"warmup": "1min"}, store_root=tmp_path)
    ddf = Store(tmp_path).dask_frame("features", days, version=res.summary["table_version"])
    n = len(ddf.compute())
    assert n == res.summary["n_samples"] == res.table["n_samples"].sum() > 0


def _count_done(dask_scheduler=None, prefix="study-"):
    return sum(1 for k, ts in dask_scheduler.tasks.items() if str(k).startswith(prefix) and ts.state == "memory")


def test_killed_worker_is_rescheduled_and_results_equal(cluster, days, tmp_path):
    """A worker process killed (SIGKILL) once some tasks finished: Dask reruns its tasks."""
    _, client = cluster
    client.wait_for_workers(2, timeout=60)
    store = tmp_path / "store"           # a fresh store: every task builds its day (slower tasks)
    killed = {}

    def killer():
        t_end = time.time() + 120
        while time.time() < t_end:
            done = client.run_on_scheduler(_count_done)
            busy = {w: ks for w, ks in client.processing().items() if ks}
            if done >= 1 and busy:
                addr = min(busy)
                pid = client.run(os.getpid, workers=[addr])[addr]
                killed.update(done=done, pid=pid)
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    dist = run_study("ofi", days, client=client, params=OFI_P, store_root=store)
    th.join(timeout=5)
    assert killed, "the killer thread never saw a finished task while others were running"
    assert killed["done"] < len(days)
    ser = run_study("ofi", days, serial=True, params=OFI_P, store_root=store)
    _same(dist, ser)
    client.wait_for_workers(2, timeout=60)      # the nanny restarts it


def _small_lobster_folder(root: Path, bad: str | None = None) -> Path:
    from companion.synth import SynthConfig, write_day

    for k, sym in enumerate(("AAA", "BBB", "CCC")):
        write_day(root, seed=20 + k, levels=5, config=SynthConfig(symbol=sym, session=(34200.0, 34800.0)))
    if bad:
        msg = next(root.glob(f"{bad}_*_message_5.csv"))
        lines = msg.read_text().splitlines()
        f = lines[9].split(",")
        f[1] = "x"                                     # event type of line 10 not an integer
        lines[9] = ",".join(f)
        msg.write_text("\n".join(lines) + "\n")
    return root


def test_malformed_day_skip_reports_file_and_others_complete(cluster, tmp_path):
    _, client = cluster
    folder = _small_lobster_folder(tmp_path / "data", bad="BBB")
    days = discover(folder)
    assert [d.ticker for d in days] == ["AAA", "BBB", "CCC"]
    res = run_study("ofi", days, client=client, on_error="skip", params=OFI_P, store_root=tmp_path / "st")
    assert res.table["ticker"].tolist() == ["AAA", "CCC"]
    assert len(res.errors) == 1
    e = res.errors.iloc[0]
    assert "BBB" in e["key"] and "BBB_2012-06-21_34200000_34800000_message_5.csv" in e["error"]
    assert "line 10" in e["error"]
    with pytest.raises(StudyError, match=r"BBB.*message_5\.csv.*line 10"):
        run_study("ofi", days, client=client, on_error="fail", params=OFI_P, store_root=tmp_path / "st")


def test_cli_exit_statuses_and_json(cluster, tmp_path, capsys):
    from companion.cli import main

    cl, _ = cluster
    folder = _small_lobster_folder(tmp_path / "data", bad="CCC")
    base = ["study", "ofi", "--data", str(folder), "--scheduler", cl.scheduler_address, "--store", str(tmp_path / "st"),
            "--param", "window=5min"]
    assert main(base + ["--on-error", "skip", "--json"]) == 3
    cap = capsys.readouterr()
    out = json.loads(cap.out.strip().splitlines()[-1])
    assert out["n_days"] == 3 and out["summary"]["n_failed"] == 1 and len(out["table"]) == 2
    assert "CCC_2012-06-21_34200000_34800000_message_5.csv" in cap.err
    assert main(base) == 2                                           # --on-error fail is the default
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: study ofi: ticker-day") and "message_5.csv, line 10" in last
    assert "Traceback" not in err
    shutil.rmtree(folder)
    _small_lobster_folder(folder)
    assert main(base + ["--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "ofi_table.parquet").exists() and (tmp_path / "out" / "ofi_summary.json").exists()
    assert main(["study", "ofi", "--data", str(folder), "--param", "nope=1"]) == 2


def test_backtest_per_day_pnl_distribution(days, tmp_path):
    res = run_study("backtest", days[:2], serial=True, store_root=tmp_path)
    t = res.table
    assert len(t) == 2 and (t["trades"] > 0).all()
    np.testing.assert_allclose(res.summary["total_net_pnl"], t["net_pnl"].sum())
    assert res.summary["losing_days"] == int((t["net_pnl"] < 0).sum())


@pytest.mark.parametrize("factor", [0.0, 0.9])
def test_crossimpact_recovers_zero_structural_cross_impact(factor, tmp_path):
    """The universe's prices move only through their own books (true cross-impact 0).

    Factor off: the cross coefficients are 0 within their CI, in the joint and in the cross-only
    regression. Factor on: the other tickers' OFI alone looks like cross-impact (positive on
    average), and adding the own OFI absorbs most of it (the joint coefficients are near 0).
    """
    from companion.universe import true_cross_impact

    spec = "universe:5:3x4:60" + (f":factor={factor}" if factor else "")
    assert np.nansum(np.abs(true_cross_impact(spec))) == 0
    res = run_study("crossimpact", discover(spec), serial=True, store_root=tmp_path)
    assert len(res.table) == 3 * 4
    s = res.summary
    assert s["beta_own"]["lo"] > 0
    joint, only = s["beta_cross_mean"], s["beta_cross_only"]
    if factor:
        assert only["lo"] > 0
        assert abs(joint["mean"]) < 0.5 * only["mean"]
    else:
        assert joint["lo"] < 0 < joint["hi"] and only["lo"] < 0 < only["hi"]
        assert abs(joint["mean"]) < 0.25 * s["beta_own"]["mean"]


@pytest.mark.slow
def test_realdata_ofi_one_row_per_ticker_day(tmp_path, capsys):
    from companion.cli import main
    from companion.data import shared_data_dir

    sh = shared_data_dir()
    if sh is None or not (sh / "lobster").is_dir():
        pytest.skip("no shared LOBSTER folder")
    days = discover(sh / "lobster")
    assert main(["study", "ofi", "--data", str(sh / "lobster"), "--workers", "2", "--store", str(tmp_path),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    keys = [r["key"] for r in out["table"]]
    assert sorted(keys) == sorted(d.key for d in days) and len(keys) == len(set(keys)) == len(days)
    assert all(r["n_windows"] >= 10 and r["beta_day"] > 0 for r in out["table"])


def test_train_fold_purges_training_labels_that_reach_the_test_day(days, tmp_path):
    """A training day equal to the test day is purged entirely (every label ends after the test
    day's first sample minus the embargo); an earlier day is kept whole."""
    from companion.study.studies import DEFAULTS, train_fold

    p = {**DEFAULTS["train"], **TRAIN_P}
    d1, d2 = days[0], days[1]
    feats = run_study("features", [d1, d2], serial=True, params={"warmup": "1min"}, store_root=tmp_path)
    n1, n2 = feats.table.set_index("key")["n_samples"].loc[[d1.key, d2.key]]
    rows = train_fold({"key": d2.key, "test": d2, "train": [d1, d2]}, tmp_path, p)["rows"]
    assert rows[0]["n_purged"] == n2 and rows[0]["n_train"] == n1
    clean = train_fold({"key": d2.key, "test": d2, "train": [d1]}, tmp_path, p)["rows"]
    assert clean[0]["n_purged"] == 0
    # the same model fitted on the same (purged) rows: identical scores
    assert [r["auc"] for r in rows] == [r["auc"] for r in clean]


MM_P = {"gammas": (0.1, 1.0), "requote_ticks": (1,), "alpha_mults": (1.0,), "queues": ("power", "fifo"),
        "latencies_us": (100.0, 10_000.0), "intensity_window_s": 60.0}


def test_mm_distributed_equals_serial_and_decomposition_sums(cluster, days, tmp_path):
    """The market-making study on the LocalCluster equals the serial run bit for bit; every row's
    P&L decomposition sums to its net P&L to the cent; makers earn the spread, the taker pays it."""
    _, client = cluster
    store = tmp_path / "store"
    sub = days[:2]
    dist = run_study("mm", sub, client=client, params=MM_P, store_root=store)
    ser = run_study("mm", sub, serial=True, params=MM_P, store_root=store)
    _same(dist, ser)
    t = dist.table
    assert len(t) == len(sub) * 2 * 2 * 3            # days x queues x latencies x strategies
    assert set(t["strategy"]) == {"maker", "maker+alpha", "taker"}
    resid = t["spread_capture"] + t["inventory_pnl"] - t["fees"] - t["net"]
    assert resid.abs().max() < 0.005
    np.testing.assert_allclose(t["gross"] - t["fees"], t["net"], atol=1e-9)
    mk = t[t["strategy"] != "taker"]
    assert (mk["fills"] > 0).all() and (mk["fills"] == mk["maker_fills"]).all()
    assert (mk["spread_capture"] > 0).all()
    tk = t[t["strategy"] == "taker"]
    assert (tk["maker_fills"] == 0).all() and (tk["spread_capture"] < 0).all()
    # the chosen parameters come from the grids; one choice per day and queue (not per latency)
    assert set(mk["gamma"]) <= {0.1, 1.0}
    assert (mk.groupby(["key", "queue", "strategy"])["gamma"].nunique() == 1).all()
    assert set(dist.summary["net"]) == {f"{s}/{q}" for s in ("maker", "maker+alpha", "taker") for q in ("fifo", "power")}


def test_mm_parameters_never_see_the_test_part(days, tmp_path):
    """Walk-forward: scrambling everything after the cut (sizes of the test part's book and
    events) changes the test results but not one chosen parameter nor the fit part's P&L."""
    from companion.study.studies import DEFAULTS, load_dataset, mm_walk_forward

    p = {**DEFAULTS["mm"], **MM_P, "queues": ("power",), "latencies_us": (100.0,)}
    d = load_dataset(days[0], tmp_path)
    ev, book = d.events.copy(), d.book.copy()
    a = mm_walk_forward(ev, book, d.instrument, p)
    cut = a[0]["events_fit"]
    rng = np.random.default_rng(0)
    ev2, book2 = ev.copy(), book.copy()
    book2[cut:, 1::2] = np.maximum(1.0, np.round(book2[cut:, 1::2] * rng.uniform(0.2, 3.0, book2[cut:, 1::2].shape)))
    ev2["size"][cut:] = np.maximum(1, np.round(ev2["size"][cut:] * rng.uniform(0.2, 3.0, len(ev2) - cut)))
    b = mm_walk_forward(ev2, book2, d.instrument, p)
    keys = ("gamma", "requote_ticks", "alpha_scale", "fit_net", "alpha_beta", "quote_qty", "events_fit")
    for ra, rb in zip(a, b):
        assert {k: ra[k] for k in keys} == pytest.approx({k: rb[k] for k in keys}, nan_ok=True)
    assert any(ra["net"] != rb["net"] for ra, rb in zip(a, b))
