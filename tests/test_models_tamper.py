"""Tampered model files (issue 17 item 6): every tamper class gives one clear ValueError naming
the file -- never a segfault (child out of range), a hang (child = self), a silent out-of-bounds
read or a misprediction (short arrays), and a broken sidecar never skips the hash check.

The cases run in a child process with a timeout, so a segfault or a hang fails this test
instead of killing pytest. Each case is loaded with both CompiledModel.from_file and
companion.models.io.load_model (whose sidecar hash is rewritten to match the tampered text,
as an editor of both files would: only the structural checks can catch it then)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("lightgbm")

WORKER = textwrap.dedent(r'''
    import hashlib, json, re, sys
    from pathlib import Path
    import numpy as np, pandas as pd
    from companion.models import DirectionClassifier, save_model
    from companion.models.io import load_model
    from companion.models.compiled import CompiledModel

    d = Path(sys.argv[1])
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X["a"] + 0.3 * rng.normal(size=300)) > 0
    m = DirectionClassifier(n_estimators=3, num_leaves=4, min_child_samples=5, n_jobs=1).fit(X, y)
    txt, meta = save_model(m, d / "clf", X=X, y=y)
    good_txt, good_meta = txt.read_text(), json.loads(meta.read_text())

    def field(text, key, fn):
        """Apply fn to the value list of the first tree's line `key=`."""
        i = text.index("Tree=0")
        j = text.index(key + "=", i)
        k = text.index("\n", j)
        vals = text[j + len(key) + 1:k].split()
        return text[:j] + key + "=" + " ".join(fn(vals)) + text[k:]

    def set0(v):
        return lambda vals: [v] + vals[1:]

    cases = {
        "child out of range": lambda t: field(t, "left_child", set0("1000000")),
        "child = self (cycle)": lambda t: field(t, "left_child", set0("0")),
        "child points backward": lambda t: field(t, "right_child", lambda v: v[:-1] + ["0"]),
        "leaf index out of range": lambda t: field(t, "left_child", set0("-99")),
        "feature index out of range": lambda t: field(t, "split_feature", set0("7")),
        "negative feature index": lambda t: field(t, "split_feature", set0("-1")),
        "short threshold array": lambda t: field(t, "threshold", lambda v: v[:-1]),
        "short leaf_value array": lambda t: field(t, "leaf_value", lambda v: v[:-1]),
        "short child array": lambda t: field(t, "right_child", lambda v: v[:-1]),
        "num_leaves too large": lambda t: field(t, "num_leaves", lambda v: [str(int(v[0]) + 5)]),
        "non-numeric token": lambda t: field(t, "threshold", set0("abc")),
        "NaN threshold": lambda t: field(t, "threshold", set0("nan")),
        "missing field": lambda t: re.sub(r"\nleft_child=[^\n]*", "", t, count=1),
        "max_feature_idx lowered": lambda t: t.replace("max_feature_idx=1", "max_feature_idx=0"),
        "truncated file": lambda t: t[: len(t) // 3],
        "empty file": lambda t: "",
        "not a model": lambda t: "hello\n",
    }
    out = {}

    def attempt(fn):
        try:
            fn()
            return "LOADED"
        except ValueError as exc:
            return "ValueError: " + str(exc)
        except Exception as exc:  # noqa: BLE001
            return f"{type(exc).__name__}: {exc}"

    for name, tamper in cases.items():
        text = tamper(good_txt)
        txt.write_text(text)
        plain = d / "plain.txt"
        plain.write_text(text)
        meta.write_text(json.dumps({**good_meta, "model_sha256": hashlib.sha256(text.encode()).hexdigest()}))
        out[name] = {"from_file": attempt(lambda: CompiledModel.from_file(meta)),
                     "plain": attempt(lambda: CompiledModel.from_file(plain)),
                     "load_model": attempt(lambda: load_model(meta))}
        print(name, out[name], file=sys.stderr, flush=True)
    # sidecar tampers: the model text is tampered too (a cycle), and no check may be skipped
    bad = cases["child = self (cycle)"](good_txt)
    sidecars = {
        "sidecar not JSON": "{oops",
        "sidecar non-UTF-8": b"\xff\xfe{",
        "sidecar without model_sha256": {k: v for k, v in good_meta.items() if k != "model_sha256"},
        "sidecar wrong format": {**good_meta, "format": "other/1"},
        "sidecar model_file escapes folder": {**good_meta, "model_file": "../clf.txt"},
        "sidecar stale hash": good_meta,
    }
    for name, sc in sidecars.items():
        txt.write_text(bad)
        if isinstance(sc, bytes):
            meta.write_bytes(sc)
        else:
            meta.write_text(sc if isinstance(sc, str) else json.dumps(sc))
        out[name] = {"from_file": attempt(lambda: CompiledModel.from_file(txt)),
                     "load_model": attempt(lambda: load_model(meta))}
        print(name, out[name], file=sys.stderr, flush=True)
    print(json.dumps(out))
''')


def test_every_model_tamper_is_one_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"worker died (rc {r.returncode}: segfault or abort?)\n{r.stderr[-3000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(out) == 23
    bad = {}
    for case, by_loader in out.items():
        for loader, res in by_loader.items():
            ok = res.startswith("ValueError: ") and "\n" not in res and (".txt" in res or ".json" in res)
            if not ok:
                bad[(case, loader)] = res
    assert not bad, bad


def test_untampered_model_still_loads(tmp_path):
    """The checks accept every real model (the round trip is also in test_models_compiled.py)."""
    import numpy as np

    from companion.models.compiled import CompiledModel

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    booster = pytest.importorskip("lightgbm").train(
        {"objective": "multiclass", "num_class": 3, "num_leaves": 31, "verbose": -1, "num_threads": 1,
         "deterministic": True, "min_data_in_leaf": 5},
        pytest.importorskip("lightgbm").Dataset(X, rng.integers(0, 3, 500)), num_boost_round=5)
    cm = CompiledModel.from_booster(booster)
    np.testing.assert_allclose(cm.predict_output(X), booster.predict(X), rtol=0, atol=1e-12)
