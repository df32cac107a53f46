"""Trade signs: tick, quote, Lee-Ready and BVC on hand-built sequences; truth from LOBSTER
direction (aggressor = -direction); accuracies on the real samples."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from companion.events import ADD, EVENT_DTYPE, EXEC_HIDDEN, EXEC_VISIBLE
from companion.flow.tradesign import (
    accuracy,
    bulk_accuracy,
    bvc_bars,
    executions,
    lee_ready,
    quote_rule,
    score_trade_signs,
    signed_volume_events,
    tick_rule,
)


def test_tick_rule_by_hand():
    p = [10.0, 10.1, 10.1, 10.0, 10.0, 10.0, 10.2]
    np.testing.assert_array_equal(tick_rule(p), [0, 1, 1, -1, -1, -1, 1])
    np.testing.assert_array_equal(tick_rule([5.0, 5.0, 5.0]), [0, 0, 0])   # no tick yet: unclassified


def test_quote_rule_and_lee_ready_by_hand():
    p = np.array([10.00, 10.02, 10.01, 10.01, 10.00, 10.01])
    mid = np.array([10.01, 10.01, 10.01, 10.01, 10.01, np.nan])
    np.testing.assert_array_equal(quote_rule(p, mid), [-1, 1, 0, 0, -1, 0])
    # at the mid: tick rule (10.01 after 10.02 -> down; then zero tick -> down); NaN mid -> tick rule (up)
    np.testing.assert_array_equal(lee_ready(p, mid), [-1, 1, -1, -1, -1, 1])


def _events(rows):
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, kind, side, price, size) in enumerate(rows):
        ev[i] = (ts, ts, kind, side, price, size, i)
    return ev


def test_truth_is_minus_direction_and_quote_before_the_trade():
    ev = _events([
        (1, ADD, 1, 9900, 100),
        (2, EXEC_VISIBLE, -1, 10100, 30),   # sell limit order hit -> buyer-initiated (+1)
        (3, EXEC_VISIBLE, 1, 9900, 50),     # buy limit order hit -> seller-initiated (-1)
        (4, EXEC_HIDDEN, 1, 10000, 20),     # hidden buy order hit at the mid -> seller-initiated
    ])
    book = np.array([[10100, 30, 9900, 100], [10100, 0.0, 9900, 100], [10100, 10, 9900, 50], [10100, 10, 9900, 50]], float)
    book[1] = [10200, 5, 9900, 100]
    tr = executions(ev, book)
    np.testing.assert_array_equal(tr["aggressor"], [1, -1, -1])
    np.testing.assert_array_equal(tr["row"], [1, 2, 3])
    # mid just BEFORE each execution: rows 0, 1, 2
    np.testing.assert_array_equal(tr["mid_before"], [10000, 10050, 10000])
    np.testing.assert_array_equal(signed_volume_events(ev), [0, 30, -50, -20])
    assert len(executions(ev, hidden=False)) == 2


def test_accuracy_by_count_and_volume():
    c, v = accuracy([1, -1, 0, 1], [1, 1, -1, 1], [10, 30, 40, 20])
    assert c == 0.5 and v == pytest.approx(30 / 100)


def test_bvc_by_hand():
    # three 1-min bars; last prices 10, 11, 9 -> dp 0, +1, -2; sigma = std([0, 1, -2], ddof=1)
    ts = np.array([10, 20, 70, 80, 130]) * 10**9
    price = np.array([9.5, 10.0, 10.5, 11.0, 9.0])
    size = np.array([1.0, 3.0, 2.0, 2.0, 5.0])
    bars = bvc_bars(ts, price, size, "1min", t0=0)
    sigma = np.std([0.0, 1.0, -2.0], ddof=1)
    np.testing.assert_array_equal(bars["volume"], [4, 4, 5])
    np.testing.assert_allclose(bars["buy_frac"], stats.norm.cdf(np.array([0.0, 1.0, -2.0]) / sigma))
    assert bars.attrs["sigma"] == pytest.approx(sigma)
    # bulk accuracy: estimated vs true buy volume per bar
    true = np.array([1, 1, -1, 1, -1])
    bar = np.array([0, 0, 1, 1, 2])
    est = bars["buy_frac"].to_numpy()[bar] * size
    err = abs(0.5 * 4 - 4) + abs(stats.norm.cdf(1 / sigma) * 4 - 2) + abs(stats.norm.cdf(-2 / sigma) * 5 - 0)
    assert bulk_accuracy(bar, size, true, est) == pytest.approx(1 - err / 13)


def test_score_trade_signs_perfect_quotes():
    # every buy trades at the ask, every sell at the bid: quote rule and Lee-Ready are 100% right
    rng = np.random.default_rng(0)
    n = 400
    side = rng.choice([-1, 1], n)                      # aggressor
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts"] = np.arange(1, n + 1) * 10**9
    ev["kind"] = EXEC_VISIBLE
    ev["side"] = -side
    ev["size"] = rng.integers(1, 100, n)
    bid = 10000 + 100 * np.cumsum(rng.integers(-1, 2, n))
    ev["price"] = np.where(side > 0, bid + 100, bid)
    quotes = np.column_stack([bid + 100, np.full(n, 5.0), bid, np.full(n, 5.0)]).astype(float)  # quote before trade i
    book = np.vstack([quotes[1:], quotes[-1:]])        # row i = after trade i = the quote before trade i+1
    tab = score_trade_signs(ev, book)
    assert tab.loc["quote", "accuracy_count"] >= 1 - 1 / n   # trade 0 has no earlier row: it uses row 0
    assert tab.loc["lee_ready", "accuracy_volume"] > 0.99
    assert 0.4 < tab.loc["tick", "accuracy_count"] < 0.9
    assert 0.5 < tab.loc["bvc", "bulk_accuracy_volume"] <= 1.0


@pytest.mark.realdata
@pytest.mark.parametrize("spec", ["lobster:AAPL:1", "lobster:AMZN:1", "lobster:GOOG:1"])
def test_tradesign_report_on_lobster_samples(shared_data, spec, capsys):
    from companion.cli import main

    assert main(["report", "tradesign", spec, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    m = out["methods"]
    assert 0.75 < m["tick"]["accuracy_count"] < 0.98
    assert m["lee_ready"]["accuracy_count"] > m["tick"]["accuracy_count"]
    assert m["lee_ready"]["accuracy_count"] >= m["quote"]["accuracy_count"]
    assert 0.6 < m["bvc"]["bulk_accuracy_volume"] < m["lee_ready"]["bulk_accuracy_volume"]
