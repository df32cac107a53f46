"""Backtest: metrics on hand-worked examples, round trips, an end-to-end run on a short synthetic
day (accounting identities, flat at the end, determinism, Python path == numba path), the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from companion import signals as sg
from companion import synth
from companion.backtest import (
    ExecutionConfig,
    ImbalanceScalper,
    ModelStrategy,
    NoOp,
    performance_figure,
    round_trips,
    run_backtest,
)
from companion.backtest import metrics as M
from companion.backtest.strategies import D_K, D_ROLE, ROLE_ENTRY
from companion.events import NS
from companion.sim import FILL_DTYPE, Fees, RiskLimits

PNL = np.array([10.0, -5.0, 20.0, -10.0, 5.0])


# ------------------------------------------------------------------------------------------
# metrics, hand-worked
def test_metrics_on_a_known_trade_list():
    assert M.total_pnl(PNL) == 20.0 and M.average_pnl(PNL) == 4.0
    assert M.win_rate(PNL) == pytest.approx(0.6)
    assert M.profit_factor(PNL) == pytest.approx(35 / 15)
    # std (ddof 1) = sqrt((36 + 81 + 256 + 196 + 1) / 4) = sqrt(142.5)
    assert M.sharpe_ratio(PNL) == pytest.approx(4 / np.sqrt(142.5))
    assert M.sharpe_ratio(PNL, 252) == pytest.approx(4 / np.sqrt(142.5) * np.sqrt(252))
    # downside deviation sqrt((25 + 100) / 5) = 5
    assert M.sortino_ratio(PNL) == pytest.approx(0.8)
    # equity 10, 5, 25, 15, 20 -> peaks 10, 10, 25, 25, 25 -> max drawdown 10
    assert M.max_drawdown(np.cumsum(PNL)) == 10.0
    assert M.drawdown(np.cumsum(PNL)).tolist() == [0, 5, 0, 10, 5]
    assert M.max_drawdown([-3.0, -1.0]) == 3.0          # the peak starts at 0 (initial capital)
    # sorted -10, -5, 5, 10, 20: 5% quantile at position 0.2 -> -10 + 0.2 * 5 = -9
    assert M.value_at_risk(PNL, 0.95) == pytest.approx(9.0)
    assert M.profit_factor([1.0, 2.0]) == np.inf and np.isnan(M.profit_factor([]))
    assert np.isnan(M.sharpe_ratio([1.0])) and np.isnan(M.sharpe_ratio([2.0, 2.0]))
    assert M.losing_days([-1.0, 2.0, -0.5, 0.0]) == 2
    assert M.average_holding_time([1.0, 3.0]) == 2.0


def test_execution_metrics_by_hand():
    # buy 100 at 101 vs mid 100 (100 bps), sell 300 at 99.5 vs mid 100 (50 bps)
    assert M.slippage_bps([1, -1], [101, 99.5], [100, 100], [100, 300]) == pytest.approx(62.5)
    assert M.slippage_bps([1], [99.0], [100.0], [10]) == pytest.approx(-100.0)   # price improvement
    assert M.fill_rate([100, 0, 50], [100, 100, 100]) == pytest.approx(0.5)
    assert M.signal_accuracy([1, 1, -1, -1, 1], [2.0, -1.0, -3.0, 0.0, 5.0]) == pytest.approx(0.75)
    assert M.information_coefficient([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert M.information_coefficient([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # bars of 10 from t0 = 0: equity after the last event <= 10, 20, 30
    bars = M.bar_pnl([1, 5, 12, 25], [1.0, 2.0, 4.0, 3.0], 10, 0, 30)
    assert bars.tolist() == [2.0, 2.0, -1.0]


def _fills(rows):
    f = np.zeros(len(rows), FILL_DTYPE)
    for i, (ts, side, px, q, fee) in enumerate(rows):
        f[i]["ts"], f[i]["side"], f[i]["price"], f[i]["qty"], f[i]["fee"] = ts, side, px, q, fee
        f[i]["order_id"] = i
    return f


def test_round_trips_by_hand():
    f = _fills([(1, 1, 100.0, 60, 0.6), (2, 1, 101.0, 40, 0.4), (3, -1, 102.0, 100, 1.0),
                (4, 1, 100.0, 100, 1.0), (5, -1, 101.0, 300, 3.0)])
    dm = np.array([99.5, 100.5, 101.5, 100.5, 101.5])
    t = round_trips(f, dm, np.arange(5.0), last_mid=100.0, last_ts=9, scale=1.0)
    assert len(t) == 3
    a, b, c = (t.iloc[i] for i in range(3))
    assert a["side"] == 1 and a["qty"] == 100 and a["entry_price"] == pytest.approx(100.4)
    assert a["gross"] == pytest.approx(102 * 100 - 100 * 60 - 101 * 40)
    assert a["fees"] == pytest.approx(2.0) and a["net"] == pytest.approx(a["gross"] - 2.0)
    assert a["pnl_mid"] == pytest.approx(101.5 * 100 - 99.5 * 60 - 100.5 * 40)
    assert a["holding_s"] == pytest.approx(2 / NS) and a["closed"]
    # the flip: 100 of the 300 close trade b, 200 open a short (fee pro rata)
    assert b["gross"] == pytest.approx(100.0) and b["fees"] == pytest.approx(1.0 + 1.0)
    assert c["side"] == -1 and c["qty"] == 200 and not c["closed"]
    assert c["gross"] == pytest.approx(200 * (101 - 100)) and c["fees"] == pytest.approx(2.0)
    assert c["signal"] == 4.0 and c["exit_ts"] == 9


# ------------------------------------------------------------------------------------------
# end to end on a short synthetic day
@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 600.0))
    d = synth.simulate(seed=11, levels=5, config=cfg)
    return synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5)


EXEC = ExecutionConfig(fees=Fees(maker=-20.0, taker=30.0, unit="per_share"),
                       entry_latency=200_000, response_latency=150_000, feed_latency=50_000,
                       flat_before_close_s=60.0, risk=RiskLimits(max_loss=20 * 10_000))


def _assert_same_run(r1, r2):
    for name in ("orders", "fills", "risk_events"):
        a, b = getattr(r1.sim, name), getattr(r2.sim, name)
        assert len(a) == len(b), name
        for fld in a.dtype.names:
            np.testing.assert_array_equal(a[fld], b[fld], err_msg=f"{name}.{fld}")
    np.testing.assert_array_equal(r1.sim.position, r2.sim.position)
    np.testing.assert_array_equal(r1.sim.cash, r2.sim.cash)


@pytest.mark.parametrize("entry", ["market", "limit"])
def test_scalper_accounting_flat_and_paths(day, entry):
    ev, book, inst = day
    strat = ImbalanceScalper(entry=entry, qty=100, hold_s=5.0, entry_ttl_s=1.0)
    r = run_backtest(ev, book, inst, strat, execution=EXEC)
    t = r.trades
    assert len(t) > 5 and len(r.sim.fills) > 0
    scale = inst.price_scale
    eq_final = r.equity().iloc[-1]
    # identities: equity = sum of round-trip net = gross - fees = cash (flat) ; fees add up
    assert eq_final == pytest.approx(t["net"].sum(), abs=1e-6)
    assert t["net"].sum() == pytest.approx(t["gross"].sum() - t["fees"].sum(), abs=1e-6)
    assert t["fees"].sum() == pytest.approx(r.sim.fills["fee"].sum() / scale, abs=1e-9)
    assert eq_final == pytest.approx(r.sim.cash[-1] / scale, abs=1e-9)
    # flat at the end (flat_at = close - 60 s) and never re-opened after it
    flat_at = inst.session_close_ns - 60 * NS
    assert r.sim.position[-1] == 0 and r.sim.local_position == 0
    assert t["closed"].all()
    late = r.sim.orders[r.sim.orders["ts_submit"] > flat_at]
    assert (late["by_risk"] == 1).all()
    # never more than one lot
    assert np.abs(r.sim.position).max() <= 100
    # every strategy entry followed a STRONG code at its decision row
    codes, _ = strat.codes(ev, book, inst)
    o = r.sim.orders
    ent = np.flatnonzero((o["by_risk"] == 0) & (r.decisions[: len(o), D_ROLE] == ROLE_ENTRY))
    k = r.decisions[ent, D_K].astype(int)
    assert (np.abs(codes[k]) == 2).all() and (np.sign(codes[k]) == o["side"][ent]).all()
    # determinism and Python path == numba path
    _assert_same_run(r, run_backtest(ev, book, inst, strat, execution=EXEC))
    rp = run_backtest(ev, book, inst, strat, execution=EXEC, path="python")
    _assert_same_run(r, rp)
    np.testing.assert_array_equal(r.decisions, rp.decisions)
    m = r.metrics()
    assert m["trades"] == len(t) and m["net_pnl"] == pytest.approx(eq_final)
    assert m["final_position"] == 0 and 0 < m["fill_rate"] <= 1
    assert m["pnl_mid"] - m["spread_cost"] == pytest.approx(m["gross_pnl"])
    if entry == "market":
        assert m["fill_rate"] == pytest.approx(1.0) and m["slippage_bps"] > 0


def test_noop_and_seeds(day):
    ev, book, inst = day
    r = run_backtest(ev, book, inst, NoOp(), execution=EXEC)
    assert len(r.sim.orders) == 0 and (r.equity() == 0).all() and len(r.trades) == 0
    assert run_backtest(ev, book, inst, NoOp(), execution=EXEC, path="python").sim.orders.size == 0


def test_model_strategy_follows_the_rule_causally(day):
    ev, book, inst = day
    ts = ev["ts"]
    # a per-second P(up) from the imbalance (stamped at T from the book at the last event <= T)
    comp = sg.imbalance_components(book, ev, levels=5, tick=inst.tick)["composite"].to_numpy()
    grid = sg.sample_on_grid(ts, {"s": comp}, NS)
    p = 0.5 + 0.5 * np.nan_to_num(grid["s"].to_numpy())
    strat = ModelStrategy(p_up=p, p_ts=grid.index.to_numpy(), ofi_threshold=50.0, hold_s=3.0)
    r = run_backtest(ev, book, inst, strat, execution=EXEC)
    assert len(r.trades) > 0
    o = r.sim.orders
    ent = np.flatnonzero((o["by_risk"] == 0) & (r.decisions[: len(o), D_ROLE] == ROLE_ENTRY))
    k = r.decisions[ent, D_K].astype(int)
    pk = sg.align_predictions(grid.index.to_numpy(), p, ts[k])
    ofi = sg.trailing_ofi(book, ts, 10 * NS)[k]
    assert (grid.index.to_numpy()[np.searchsorted(grid.index.to_numpy(), ts[k], "right") - 1] <= ts[k]).all()
    want = np.where((pk > 0.55) & (ofi > 50), 1, np.where((pk < 0.45) & (ofi < -50), -1, 0))
    assert (want == o["side"][ent]).all()
    _assert_same_run(r, run_backtest(ev, book, inst, strat, execution=EXEC, path="python"))


def test_performance_figure_has_units(day):
    import matplotlib

    matplotlib.use("Agg")
    ev, book, inst = day
    r = run_backtest(ev, book, inst, ImbalanceScalper(), execution=EXEC)
    fig = performance_figure(r)
    axes = fig.axes
    assert len(axes) == 6
    for a in axes:
        assert "(" in a.get_xlabel() and "(" in a.get_ylabel()
    import matplotlib.pyplot as plt

    plt.close(fig)


# ------------------------------------------------------------------------------------------
# CLI
def test_cli_config_errors_name_the_key():
    from companion.commands.backtest import parse_config

    inst = synth.instrument()
    with pytest.raises(ValueError, match="risk.max_postion"):
        parse_config({"risk": {"max_postion": 1}}, "scalper", inst)
    with pytest.raises(ValueError, match="strategy.qyt"):
        parse_config({"strategy": {"qyt": 1}}, "scalper", inst)
    with pytest.raises(ValueError, match="execution.fees.maker"):
        parse_config({"execution": {"fees": {"maker": "cheap"}}}, "scalper", inst)
    with pytest.raises(ValueError, match="execution.queue"):
        parse_config({"execution": {"queue": "lifo"}}, "scalper", inst)
    with pytest.raises(FileNotFoundError, match="strategy.predictions"):
        parse_config({"strategy": {"predictions": "/nonexistent/p.csv"}}, "model", inst)
    assert parse_config({}, "model", inst)[0].p_up is None     # the CLI fits P(up) out of sample
    with pytest.raises(ValueError, match="entry"):
        parse_config({"strategy": {"entry": "iceberg"}}, "scalper", inst)
    s, ex, path = parse_config({"strategy": {"entry": "limit", "qty": 200},
                                "execution": {"fees": {"maker": -0.002, "taker": 0.003}},
                                "risk": {"max_loss": 50, "position_timeout_s": 30}}, "scalper", inst)
    assert s.entry == "limit" and s.qty == 200 and path == "numba"
    assert ex.fees.taker == pytest.approx(30.0) and ex.fees.unit == "per_share"
    assert ex.risk.max_loss == pytest.approx(50 * 10_000) and ex.risk.position_timeout_ns == 30 * NS


def test_cli_end_to_end_json(tmp_path, capsys):
    from companion.cli import main

    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 300.0))
    msg, _ = synth.write_day(tmp_path, seed=5, levels=5, config=cfg)
    yml = tmp_path / "c.yaml"
    yml.write_text("strategy:\n  hold_s: 3\nexecution:\n  path: python\n")
    assert main(["backtest", "--data", str(msg), "--strategy", "scalper", "--config", str(yml), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    m = json.loads(out[-1])
    assert m["strategy"] == "scalper" and m["path"] == "python" and m["final_position"] == 0
    assert m["net_pnl"] == pytest.approx(m["gross_pnl"] - m["fees"])
    yml.write_text("risk:\n  max_postion: 3\n")
    assert main(["backtest", "--data", str(msg), "--config", str(yml)]) == 2
    assert "risk.max_postion" in capsys.readouterr().err



def test_cli_model_without_predictions_fits_them_out_of_sample(tmp_path, capsys):
    from companion.cli import main

    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 1200.0))
    msg, _ = synth.write_day(tmp_path, seed=5, levels=5, config=cfg)
    assert main(["backtest", "--data", str(msg), "--strategy", "model", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("P(up): purged walk-forward") and "out-of-sample seconds" in out[0]
    m = json.loads(out[-1])
    assert m["strategy"] == "model" and m["final_position"] == 0
    assert m["net_pnl"] == pytest.approx(m["gross_pnl"] - m["fees"])


def test_cli_market_maker_prints_the_decomposition(tmp_path, capsys):
    from companion.cli import main

    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 300.0))
    msg, _ = synth.write_day(tmp_path, seed=5, levels=5, config=cfg)
    yml = tmp_path / "mm.yaml"
    yml.write_text("strategy:\n  vol_window_s: 20\n  intensity_window_s: 60\n  gamma: 0.05\n"
                   "execution:\n  flat_before_close_s: 20\n")
    assert main(["backtest", "--data", str(msg), "--strategy", "mm", "--alpha", "imbalance",
                 "--config", str(yml), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    m = json.loads(out[-1])
    assert m["strategy"] == "glft" and m["alpha"] == "imbalance" and m["final_position"] == 0
    assert m["maker_fills"] > 0 and 0 < m["fill_rate"] <= 1
    assert set(m["adverse_selection"]) == {"100ms", "1s", "10s", "60s"}
    # the identity, to the cent, on what the CLI printed
    assert abs(m["spread_capture"] + m["inventory_pnl"] - m["fees"] - m["net"]) < 0.005
    for h, adv in m["adverse_selection"].items():
        assert abs(m["spread_capture"] - adv + m["inventory_rest"][h] - m["fees"] - m["net"]) < 0.005
    assert m["net"] == pytest.approx(m["net_pnl"], abs=0.005)
    assert any(line.strip().startswith("adverse_selection") for line in out[:-1])
    # the grid on the teaching path; the default fees are NASDAQ 2012's (rebate for makers)
    yml.write_text("execution:\n  path: python\n  flat_before_close_s: 20\n")
    assert main(["backtest", "--data", str(msg), "--strategy", "mm_grid", "--config", str(yml), "--json"]) == 0
    g = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert g["strategy"] == "grid" and g["path"] == "python" and g["maker_fills"] > 0
    assert g["fees"] < 0                                   # maker rebates exceed taker fees


def test_cli_market_maker_bad_input_exits_2(tmp_path, capsys):
    from companion.cli import main
    from companion.commands.backtest import parse_config

    inst = synth.instrument()
    with pytest.raises(ValueError, match="strategy.gama"):
        parse_config({"strategy": {"gama": 0.1}}, "mm", inst)
    with pytest.raises(ValueError, match="strategy.post_only"):
        parse_config({"strategy": {"post_only": "yes"}}, "mm", inst)
    with pytest.raises(ValueError, match="strategy.A"):
        parse_config({"strategy": {"A": -1}}, "mm", inst)
    with pytest.raises(ValueError, match="alpha must be one of"):
        parse_config({"strategy": {"alpha": "sentiment"}}, "mm_grid", inst)
    s, ex, _ = parse_config({"strategy": {"quote_size": 200, "horizon_s": 30}}, "mm_as", inst)
    assert s.quote_size == 200 and s.horizon_s == 30 and ex.fees.maker == pytest.approx(-20.0)
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 60.0))
    msg, _ = synth.write_day(tmp_path, seed=5, levels=5, config=cfg)
    assert main(["backtest", "--data", str(msg), "--strategy", "scalper", "--alpha", "ofi"]) == 2
    assert "--alpha applies to the market makers" in capsys.readouterr().err
    yml = tmp_path / "bad.yaml"
    yml.write_text("strategy:\n  max_sigma: .nan\n")
    assert main(["backtest", "--data", str(msg), "--strategy", "mm", "--config", str(yml)]) == 2
    assert "strategy.max_sigma" in capsys.readouterr().err
