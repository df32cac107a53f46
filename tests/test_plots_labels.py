"""Every companion plotting helper labels both axes of every Axes it draws on (units in the label).

Each helper runs on tiny hand-built data; :func:`unlabelled` lists the axes that hold data but miss
an x or y label. An axis shared with a labelled sibling (``sharex``/``sharey``, twin axes) counts
as labelled; colour-bar axes are not data axes and are skipped.
"""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from companion import plotting  # noqa: E402
from companion.backtest.plots import performance_figure  # noqa: E402
from companion.events import EVENT_DTYPE, NS, Instrument  # noqa: E402
from companion.execution import plots as eplots  # noqa: E402
from companion.features import plots as fplots  # noqa: E402
from companion.flow import plots as flplots  # noqa: E402
from companion.flow.kyle import depth_law  # noqa: E402
from companion.flow.microprice import MicroPrice  # noqa: E402
from companion.models import plots as mplots  # noqa: E402
from companion.models.cv import PurgedWalkForward  # noqa: E402
from companion.sim import plots as splots  # noqa: E402

H = 3600 * NS


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images or ax.containers)


def _is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>"


def _labelled(ax, which: str) -> bool:
    get = (lambda a: a.get_xlabel()) if which == "x" else (lambda a: a.get_ylabel())
    if get(ax).strip():
        return True
    shared = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any(get(a).strip() for a in shared.get_siblings(ax))


def unlabelled(fig) -> list[str]:
    """``"<title>: x"`` / ``"<title>: y"`` for each data Axes of ``fig`` missing that label."""
    out = []
    for ax in fig.axes:
        if _is_colorbar(ax) or not _has_data(ax):
            continue
        for w in "xy":
            if not _labelled(ax, w):
                out.append(f"{ax.get_title() or ax}: {w}")
    return out


def test_unlabelled_can_fail():
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    assert unlabelled(fig) == [f"{ax}: x", f"{ax}: y"]
    ax.set(xlabel="time (s)", ylabel="price ($)")
    assert unlabelled(fig) == []
    tw = ax.twinx()                  # a twin shares x (labelled) but has its own y
    tw.plot([0, 1], [1, 0])
    assert unlabelled(fig) == [f"{tw}: y"]


def _inst() -> Instrument:
    return Instrument(symbol="TEST", date="2012-06-21", tick=100, price_scale=10000, levels=2,
                      session_open_ns=34200 * NS, session_close_ns=57600 * NS)


def _book_and_events(n: int = 200):
    rng = np.random.default_rng(0)
    ts = 34200 * NS + np.sort(rng.integers(0, 1200 * NS, n))
    mid = 100_0000 + 100 * np.cumsum(rng.choice([-1, 0, 0, 1], n))
    book = np.empty((n, 8))
    book[:, 0], book[:, 2] = mid + 100, mid - 100
    book[:, 4], book[:, 6] = mid + 200, mid - 200
    book[:, [1, 3, 5, 7]] = rng.integers(1, 500, (n, 4))
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts"] = ts
    ev["kind"] = rng.choice([1, 2, 3, 4], n)
    return book, ev


def test_course_plotting_helpers():
    book, ev = _book_and_events()
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    mesh = plotting.depth_heatmap(ax1, book, ev["ts"], _inst(), bin_s=60)
    fig.colorbar(mesh, ax=ax1, label="log10(1 + size, shares)")
    plotting.message_rate(ax2, ev, bin_s=60)
    assert unlabelled(fig) == []


def test_flow_helpers():
    rng = np.random.default_rng(1)
    fig = Figure()
    ax1, ax2, ax3, ax4, ax5 = fig.subplots(1, 5)
    ofi = rng.normal(0, 10, 50)
    flplots.ofi_scatter(ax1, pd.DataFrame({"ofi": ofi, "dp": 0.1 * ofi + rng.normal(0, 1, 50)}))
    k = 6
    depth = rng.uniform(5, 50, k)
    win = pd.DataFrame({"start_ns": 34200 * NS + np.arange(k) * 1800 * NS, "beta": 0.5 / depth,
                        "depth": depth, "r2": rng.uniform(0, 1, k)})
    flplots.window_bars(ax2, win, {"r2": "OFI"})
    flplots.depth_law_plot(ax3, win, depth_law(win["beta"], win["depth"]))
    m = MicroPrice(n_imb=4, n_spread=1)
    m.g_ = np.array([[-0.3, -0.1, 0.1, 0.3]])
    m.spread_edges_ = np.array([0.5, 1.5])
    flplots.micro_price_curve(ax4, m)
    b = pd.DataFrame({"end_ts": 34200 * NS + np.arange(5) * 60 * NS, "vpin": [np.nan, 0.2, 0.3, 0.25, 0.4]})
    flplots.vpin_timeline(ax5, {"exact": b}, [{"start": 34300.0, "end": 34400.0}])
    assert unlabelled(fig) == []


def _label_frame(n: int = 40):
    t = pd.DatetimeIndex(pd.Timestamp("2012-06-21 10:00") + pd.to_timedelta(np.arange(n), unit="s"))
    return t, t + pd.Timedelta("5s")


def test_model_helpers():
    t, t_end = _label_frame()
    y = np.tile([1, 0, -1, 1], 10)
    fig = Figure()
    axes = fig.subplots(2, 3).ravel()
    mplots.label_intervals(axes[0], t[:10], t_end[:10], y[:10])
    mplots.cv_splits(axes[1], PurgedWalkForward(3), t, t_end)
    thr = np.array([0.0, 0.5, 1.0])
    bal = pd.DataFrame({"down": [0.4, 0.3, 0.2], "flat": [0.2, 0.4, 0.6], "up": [0.4, 0.3, 0.2]}, index=thr)
    mplots.class_balance_plot(axes[2], bal)
    mid = pd.Series(100.0 + np.cumsum(np.tile([1.0, -1.0, 1.0, 1.0], 10)), index=t)
    samples = pd.DataFrame({"barrier": [1], "t_end": [t[3]], "ret": [2.0]}, index=t[:1])
    mplots.barrier_path(axes[3], mid, samples, pt=2.0, sl=2.0, horizon="5s", tick=1.0)
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 200)
    mplots.reliability_plot(axes[4], {"model": mplots.reliability_table(rng.random(200) < p, p, n_bins=4)})
    mplots.importance_bars(axes[5], pd.Series({"a": 0.5, "b": 0.3, "c": 0.2}))
    assert unlabelled(fig) == []


def test_feature_helpers():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"ofi_10s": rng.normal(size=50), "spread_ticks": rng.integers(1, 4, 50).astype(float),
                      "vpin": rng.uniform(size=50)})
    fig = Figure()
    axes = fig.subplots(1, 5)
    fplots.distributions(axes[:3], X, list(X.columns), bins=10)
    im = fplots.corr_heatmap(axes[3], X)
    fig.colorbar(im, ax=axes[3], label="Spearman correlation")
    ic = fplots.information_coefficients(X, {"10s": pd.Series(rng.normal(size=50), index=X.index)})
    fplots.ic_bars(axes[4], ic)
    assert unlabelled(fig) == []
    pairs = fplots.top_correlations(X, top=2)
    assert len(pairs) == 2 and pairs["corr"].abs().is_monotonic_decreasing
    ax = Figure().subplots()
    fplots.corr_pairs_bars(ax, pairs)
    assert unlabelled(ax.figure) == []
    # a legend drawn outside lies entirely outside the axes, right of or below it
    for side in ("right", "below"):
        ax = Figure().subplots()
        ax.plot([0, 1], [0, 1], label="line")
        leg = plotting.legend_outside(ax, side)
        box, frame = leg.get_window_extent(), ax.get_window_extent()
        assert box.x0 >= frame.x1 if side == "right" else box.y1 <= frame.y0
    assert "(" in axes[0].get_xlabel()             # the feature's unit from the registry


def test_execution_and_sim_helpers():
    t0 = 36000 * NS
    parent = SimpleNamespace(start_ns=t0, end_ns=t0 + 600 * NS, qty=100.0, side=1)
    sched = SimpleNamespace(times=t0 + np.array([0, 300]) * NS, cum_qty=np.array([50.0, 100.0]))
    fills = pd.DataFrame({"ts": t0 + np.array([10, 320]) * NS, "qty": [50.0, 40.0]})
    res = SimpleNamespace(parent=parent, schedule=sched, fills=fills, name="TWAP")
    fig = Figure()
    axes = fig.subplots(1, 6)
    eplots.schedule_plot(axes[0], res)
    tab = pd.DataFrame({"spread_bps": [1.0, 2.0], "impact_bps": [0.5, -0.2], "is_bps": [1.5, 1.8]},
                       index=["TWAP", "POV"])
    eplots.shortfall_bars(axes[1], tab)
    eplots.paired_differences(axes[2], {"POV": [0.1, -0.3, 0.2]}, baseline="TWAP")
    splots.fill_rate_band(axes[3], {"risk-averse": 0.1, "log": 0.3}, lower="risk-averse", upper="log")
    splots.latency_curve(axes[4], [1e-4, 1e-3, 1e-2], [1.0, 0.8, 0.5], ylabel="IC (dimensionless)")
    splots.impact_curve(axes[5], sigma_bps=150.0,
                        points=pd.DataFrame({"q_over_v": [1e-4, 1e-3], "cost_bps": [2.0, 5.0]}))
    assert unlabelled(fig) == []


def test_performance_figure():
    import matplotlib.pyplot as plt

    t = pd.DataFrame({"entry_ts": np.array([10, 11]) * H, "exit_ts": np.array([10, 11]) * H + 60 * NS,
                      "gross": [2.0, -1.0], "pnl_mid": [2.5, -0.5], "net": [1.5, -1.5], "holding_s": [60.0, 60.0],
                      "signal": [0.4, -0.6]})
    eq = pd.Series([0.0, 1.5, 0.0], index=np.array([9, 10, 11]) * H)
    res = SimpleNamespace(trades=t, equity=lambda: eq, strategy="test", instrument=_inst())
    fig = performance_figure(res)
    try:
        assert unlabelled(fig) == []
    finally:
        plt.close(fig)


@pytest.mark.parametrize("mod", [plotting, flplots, mplots, fplots, eplots, splots])
def test_every_axes_helper_is_exercised(mod):
    """A new helper that takes ``ax``/``axes`` must be added to the tests above."""
    import inspect

    covered = {"depth_heatmap", "message_rate", "ofi_scatter", "window_bars", "depth_law_plot", "micro_price_curve",
               "vpin_timeline", "shade_episodes", "label_intervals", "cv_splits", "class_balance_plot",
               "barrier_path", "reliability_plot", "importance_bars", "distributions", "corr_heatmap", "ic_bars",
               "schedule_plot", "shortfall_bars", "paired_differences", "fill_rate_band", "latency_curve",
               "impact_curve", "corr_pairs_bars", "legend_outside"}
    drawers = {n for n, f in vars(mod).items() if inspect.isfunction(f) and not n.startswith("_")
               and f.__module__ == mod.__name__ and list(inspect.signature(f).parameters)[:1] in (["ax"], ["axes"])}
    assert drawers <= covered, sorted(drawers - covered)
