"""``python -m companion train``: runs end to end, prints every baseline, one JSON object last."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("lightgbm")

from companion.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def small_spec(tmp_path_factory):
    """A 20-minute synthetic day written as LOBSTER files (message-file path as the SPEC)."""
    from companion import synth

    d = tmp_path_factory.mktemp("day")
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 1200.0))
    synth.write_day(d, seed=4, levels=10, config=cfg)
    msg = sorted(d.rglob("*_message_*.csv*"))
    assert msg, "write_day wrote no message file"
    return str(msg[0])


def test_train_json(small_spec, capsys):
    rc = main(["train", "--data", small_spec, "--horizon", "10s", "--n-splits", "3", "--n-estimators", "20",
               "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    res = json.loads(out[-1])
    assert set(res["models"]) == {"model", "majority", "ofi_sign", "logistic"}
    for m in res["models"].values():
        assert m["n"] > 0 and 0.0 <= m["accuracy"] <= 1.0
    assert res["models"]["majority"]["balanced_accuracy"] == pytest.approx(0.5, abs=0.02)
    assert res["n_splits"] == 3 and res["horizon"] == "10s"
    assert any(line.lstrip().startswith("ofi_sign") for line in out[:-1])


def test_train_deterministic(small_spec, capsys):
    args = ["train", "--data", small_spec, "--n-splits", "2", "--n-estimators", "10", "--json"]
    main(args)
    a = capsys.readouterr().out.strip().splitlines()[-1]
    main(args)
    b = capsys.readouterr().out.strip().splitlines()[-1]
    assert a == b


def test_train_bad_spec(capsys):
    rc = main(["train", "--data", "lobster:NOPE:1"])
    assert rc == 2
    assert "error" in capsys.readouterr().err
