"""companion.display: presentation only (numbers unchanged, input untouched, clear errors)."""
import numpy as np
import pandas as pd
import pytest

from companion.display import fmt_price, fmt_time, table


def test_table_formats_without_touching_the_input():
    df = pd.DataFrame({"n": [1.0, 2345.0], "ok": [True, False], "x": [np.nan, 0.12345]})
    before = df.copy()
    t = table(df, {"x": "edge (bps)", "n": "trades", "ok": "passed"},
              formats={"trades": ",d", "edge (bps)": ".3f"}, index="run")
    pd.testing.assert_frame_equal(df, before)
    assert list(t.columns) == ["edge (bps)", "trades", "passed"]
    assert t["trades"].tolist() == ["1", "2,345"]
    assert t["edge (bps)"].tolist() == ["–", "0.123"]
    assert t["passed"].tolist() == [True, False]          # unformatted columns keep values
    assert table(df[["ok"]], formats="").iloc[:, 0].tolist() == ["yes", "no"]
    assert t.index.name == "run"


def test_table_series_transpose_and_index_labels():
    s = pd.Series({"lee_ready": 0.81, "tick": 0.75}, name="accuracy")
    t = table(s, formats=".2f", index_names={"lee_ready": "Lee-Ready"}, transpose=True)
    assert list(t.columns) == ["Lee-Ready", "tick"] and t.loc["accuracy"].tolist() == ["0.81", "0.75"]


def test_table_unknown_names_are_errors():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(KeyError, match="no column"):
        table(df, {"b": "B"})
    with pytest.raises(KeyError, match="unknown column"):
        table(df, formats={"b": ".1f"})


def test_fmt_price_and_time():
    assert fmt_price(2999500, 10_000) == "299.95"
    assert fmt_price(-1_234_567, 100, decimals=1) == "-12,345.7"
    assert fmt_time(0) == "00:00:00.000"
    assert fmt_time(57_599_999_999_999, digits=9) == "15:59:59.999999999"
    with pytest.raises(ValueError, match="digits"):
        fmt_time(0, digits=10)


def test_auto_names_and_formats():
    from companion.display import humanize
    df = pd.DataFrame({"n_trades": [3.0, 12.0], "avg_pnl_bps": [0.5, -1.25], "win_rate": [0.5, 1.0],
                       "label": ["a", "b"]}).rename_axis("latency_s")
    t = table(df, "auto", formats="auto")
    assert list(t.columns) == ["trades", "mean P&L per trade (bps)", "win rate", "label"]
    assert t.index.name == "latency (s)"
    assert t["trades"].tolist() == ["3", "12"]                      # whole numbers -> counts
    assert t["win rate"].tolist() == ["0.500", "1.000"]            # small whole numbers stay floats
    assert t["label"].tolist() == ["a", "b"]
    assert humanize("sharpe") == "Sharpe" and humanize("mid_range_pct") == "mid range (%)"
    with pytest.raises(ValueError, match="auto"):
        table(df, "human")
