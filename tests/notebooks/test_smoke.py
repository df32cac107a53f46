"""Papermill smoke runs: every chapter with other parameters (another seed, real LOBSTER data)."""
from __future__ import annotations

from pathlib import Path

import papermill as pm
import pytest
import yaml

from companion.data import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
PARAMS = yaml.safe_load((Path(__file__).parent / "params_ci.yml").read_text()) or {}
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _run(nb: Path, out: Path, parameters: dict) -> None:
    pm.execute_notebook(str(nb), str(out), parameters=parameters, kernel_name="python3",
                        cwd=str(nb.parent), execution_timeout=900, progress_bar=False)


@pytest.mark.slow
@pytest.mark.parametrize("nb", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_smoke(nb: Path, tmp_path: Path):
    params = PARAMS.get(nb.stem, {}).get("smoke")
    if params is None:
        pytest.skip(f"{nb.stem}: no smoke parameters in params_ci.yml")
    _run(nb, tmp_path / nb.name, params)


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("nb", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_realdata(nb: Path, tmp_path: Path):
    if shared_data_dir() is None:
        pytest.skip("../shared/data is absent: real-data run skipped")
    params = PARAMS.get(nb.stem, {}).get("realdata")
    if params is None:
        pytest.skip(f"{nb.stem}: no real-data parameters in params_ci.yml")
    _run(nb, tmp_path / nb.name, params)
