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
