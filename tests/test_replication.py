"""The replication page (book/replication.md) and its numbers (companion/reference/replication.json).

The real-data test recomputes every number from the LOBSTER samples with
``data_scripts/make_replication.py --check`` (about 30 s, marked slow); the others check, without
data, that the committed page is the rendering of the committed JSON and that the comparison
catches a change.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "data_scripts" / "make_replication.py"


@pytest.fixture(scope="module")
def rep():
    spec = importlib.util.spec_from_file_location("make_replication", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def committed(rep) -> dict:
    return json.loads(rep.JSON_PATH.read_text())


def test_committed_json_is_canonical(rep, committed):
    """Sorted keys, every sample present, floats rounded to the stated decimals."""
    text = rep.JSON_PATH.read_text()
    assert text == json.dumps(committed, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert sorted(committed["samples"]) == sorted(rep.SAMPLES)
    for key, v in rep._flat(committed).items():
        if isinstance(v, float):
            assert round(v, rep.DECIMALS) == v, key


def test_committed_page_is_the_rendering_of_the_json(rep, committed):
    page = rep.PAGE_PATH.read_text()
    assert page == rep.render(committed), "book/replication.md is stale: rerun data_scripts/make_replication.py"
    for spec in rep.SAMPLES:
        assert f" {rep._short(spec)} |" in page, spec
    for key in ("cont2014price", "cont2023cross", "easley2012flow", "andersen2014vpin", "stoikov2018micro",
                "lee1991inferring", "ntakaris2018benchmark"):
        assert f"`{key}`" in page


def test_level1_numbers_agree_across_goog_depths(committed):
    """GOOG 1/5/10 are one day of messages: every level-1 number must be the same in the three files."""
    s = committed["samples"]
    for section in ("ofi", "tradesign", "vpin", "microprice"):
        assert s["lobster:GOOG:1"][section] == s["lobster:GOOG:5"][section] == s["lobster:GOOG:10"][section], section
    assert "multilevel" not in s["lobster:GOOG:1"]
    assert s["lobster:GOOG:10"]["multilevel"]["levels"] == 10


def test_differences_lists_changed_missing_and_extra_keys(rep, committed):
    assert rep.differences(committed, committed) == []
    changed = json.loads(json.dumps(committed))
    changed["samples"]["lobster:AAPL:1"]["ofi"]["r2_mean"] += 0.001
    del changed["samples"]["lobster:GOOG:5"]["vpin"]["n_vpin"]
    changed["samples"]["lobster:AMZN:1"]["extra"] = 1.0
    d = rep.differences(committed, changed)
    assert len(d) == 3
    assert any(x.startswith("samples.lobster:AAPL:1.ofi.r2_mean: recomputed") for x in d)
    assert any(x.startswith("samples.lobster:GOOG:5.vpin.n_vpin:") and "missing" in x for x in d)
    assert any(x.startswith("samples.lobster:AMZN:1.extra:") and "not recomputed" in x for x in d)
    # within the relative tolerance: no difference
    near = json.loads(json.dumps(committed))
    near["samples"]["lobster:AAPL:1"]["ofi"]["r2_mean"] *= 1 + 1e-9
    assert rep.differences(committed, near) == []


@pytest.mark.slow
def test_replication_numbers_match_the_real_files(shared_data, rep):
    """Recompute every number from the LOBSTER samples; the committed JSON and page must match."""
    if not (shared_data / "lobster").is_dir():
        pytest.skip("no LOBSTER samples in the shared data")
    out = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "numbers match" in out.stdout
    page = rep.PAGE_PATH.read_text()
    for spec in rep.SAMPLES:
        assert f" {rep._short(spec)} |" in page, spec          # a column of the tables
