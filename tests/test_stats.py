"""Day statistics: hand-built book, and the committed LOBSTER reference stats vs the real files."""
from __future__ import annotations

import json
import math

import numpy as np

from companion.events import ADD, EVENT_DTYPE, EXEC_VISIBLE, NS, Instrument
from companion.stats import REFERENCE_STATS, day_stats, two_sided


def _book(rows):
    return np.array(rows, dtype=np.float64)


def test_day_stats_hand_worked():
    inst = Instrument("T", tick=100, price_scale=10000)
    ev = np.zeros(4, EVENT_DTYPE)
    ev["ts"] = np.array([0, 1, 2, 3]) * 900 * NS
    ev["kind"] = [ADD, ADD, EXEC_VISIBLE, ADD]
    ev["size"] = [10, 20, 30, 40]
    book = _book([
        [1000200, 10, 1000000, 5],      # spread 2 ticks, depth (10+5)/2
        [1000100, 20, 1000000, 5],      # spread 1 tick
        [9999999999, 0, 1000000, 5],    # one-sided: excluded
        [1000300, 30, 1000000, 15],     # spread 3 ticks
    ])
    s = day_stats(ev, book, inst)
    assert two_sided(book).tolist() == [True, True, False, True]
    assert s["messages"] == 4
    assert math.isclose(s["hours"], 0.75)
    assert math.isclose(s["spread_ticks_mean"], 2.0)
    assert s["spread_ticks_median"] == 2.0
    assert math.isclose(s["depth_best_mean"], (7.5 + 12.5 + 22.5) / 3)
    assert math.isclose(s["execution_share"], 0.25)
    assert s["trade_size_mean"] == 30


def test_reference_stats_match_the_real_files(shared_data):
    """The committed reference numbers (chapter 01's table) are what the real files say."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "data_scripts" / "make_reference_stats.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    ref = json.loads(REFERENCE_STATS.read_text())
    assert ref["lobster:AAPL:1"]["messages"] == 118497


def test_spearman_ic_is_the_one_rank_correlation():
    """``spearman_ic`` (mid-ranks, NaN pairs dropped) equals scipy's Spearman, and the modules that
    used to carry their own copy (features.plots, models.metrics, the signal decay) use this one,
    and the decay's bootstrap ranks are ``stats.ranks``, the ranks ``spearman_ic`` correlates."""
    from scipy.stats import rankdata, spearmanr

    from companion.features import plots as fplots
    from companion.models import decay
    from companion.models import metrics as mmetrics
    from companion.stats import pearson, ranks, spearman_ic

    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, 200).astype(float)                 # many ties
    b = a + rng.normal(size=200)
    a[[5, 17]] = np.nan
    b[40] = np.nan
    ok = ~(np.isnan(a) | np.isnan(b))
    assert math.isclose(spearman_ic(a, b), spearmanr(a[ok], b[ok]).statistic, abs_tol=1e-12)
    assert math.isclose(spearman_ic(a, -b), -spearman_ic(a, b), abs_tol=1e-15)
    assert math.isnan(spearman_ic([1.0, 2.0], [1.0, 2.0])) and math.isnan(spearman_ic(np.ones(5), np.arange(5.0)))
    assert math.isclose(pearson(a[ok], b[ok]), np.corrcoef(a[ok], b[ok])[0, 1], abs_tol=1e-12)
    assert fplots.spearman_ic is spearman_ic and mmetrics.spearman_ic is spearman_ic
    assert decay.spearman_ic is spearman_ic and decay.ranks is ranks
    assert not hasattr(decay, "_ranks") and not hasattr(decay, "_pearson")
    np.testing.assert_array_equal(ranks(a[ok]), rankdata(a[ok]))
    assert math.isclose(pearson(ranks(a[ok]), ranks(b[ok])), spearman_ic(a, b), abs_tol=0)
    # the decay's IC per delay is spearman_ic of the delayed signal and the target, bit for bit
    sig, m = np.nan_to_num(b)[:200], np.cumsum(np.nan_to_num(a))[:200]
    r = decay.delayed_ic(np.arange(200) * 10**8, sig, m, [0, 10**8], horizon_ns=10**8, step_ns=10**8,
                         block_ns=None)
    t = r["t"] // 10**8
    y = m[t + 1] - m[t]
    assert r["ic"][1] == spearman_ic(sig[t - 1], y) and r["ic"][0] == spearman_ic(sig[t], y)
    np.testing.assert_array_equal(r["ry"], ranks(y))


def test_mid_price_one_empty_level_rule():
    """One level-1 mid with one empty-level rule (dummy price or size <= 0 -> empty), shared by
    signals, the simulator result and the training set."""
    from companion import signals
    from companion.events import DUMMY_ASK, DUMMY_BID
    from companion.stats import mid_price

    book = _book([
        [10100, 3, 10000, 5],            # two-sided
        [DUMMY_ASK, 0, 10000, 5],        # no ask (LOBSTER dummy)
        [10100, 3, DUMMY_BID, 0],        # no bid
        [10100, 0, 10000, 5],            # a price with no size is empty too
        [10300, 1, 10000, 2],
    ])
    got = mid_price(book)
    np.testing.assert_array_equal(got, [10050.0, np.nan, np.nan, np.nan, 10150.0])
    np.testing.assert_array_equal(two_sided(book), ~np.isnan(got))
    assert signals.mid_price is mid_price
    ints = mid_price(book.astype(np.int64))                  # integer books give the same floats
    np.testing.assert_array_equal(ints, got)
