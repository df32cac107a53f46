"""The simulator on real LOBSTER data (GOOG 2012-06-21, 10 levels), LOBSTER's own orderbook file as
the snapshots: every invariant holds, FIFO from order ids runs, and the fill bounds are ordered."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_sim_orders import _mm_strategy
from test_sim_properties import check_invariants

from companion.events import EVENT_DTYPE
from companion.sim import Fees, FIFOQueue, PowerProbQueue, RiskAverseQueue, Simulator

N = 30_000


def _goog(shared):
    d = shared / "lobster"
    msg = d / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
    ob = d / "GOOG_2012-06-21_34200000_57600000_orderbook_10.csv.gz"
    if not msg.exists() or not ob.exists():
        pytest.skip("GOOG level-10 sample absent")
    m = pd.read_csv(msg, header=None, nrows=N).iloc[:, :6].to_numpy()
    book = pd.read_csv(ob, header=None, nrows=N).to_numpy(np.float64)
    ev = np.zeros(len(m), EVENT_DTYPE)
    ev["ts"] = np.round(m[:, 0] * 1e9).astype(np.int64)
    ev["ts_local"] = ev["ts"]
    ev["kind"], ev["order_id"], ev["size"], ev["price"], ev["side"] = m[:, 1], m[:, 2], m[:, 3], m[:, 4], m[:, 5]
    return ev, book


@pytest.mark.realdata
def test_goog_market_maker_all_queue_models(shared_data):
    ev, book = _goog(shared_data)
    maker = {}
    for q in (RiskAverseQueue(), PowerProbQueue(2.0), FIFOQueue()):
        sim = Simulator(ev, book, tick=100, queue=q, entry_latency=100_000,
                        response_latency=100_000, feed_latency=50_000,
                        fees=Fees(maker=-20, taker=30, unit="per_share"))
        res = sim.run(_mm_strategy, np.array([100.0, 500.0]), np.zeros(3))
        check_invariants(res, ev, book, entry_min=100_000, resp_min=100_000)
        f = res.fills
        maker[type(q).__name__] = f["qty"][f["liquidity"] == 1].sum()
        assert len(f) > 10
    # the risk-averse model is the lower fill bound (path-dependent in general; holds on this sample)
    assert maker["RiskAverseQueue"] <= maker["PowerProbQueue"]
    assert maker["RiskAverseQueue"] <= maker["FIFOQueue"]
