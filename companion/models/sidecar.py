"""The JSON sidecar that :func:`companion.models.io.save_model` writes beside a model's LightGBM
text: its format tag, the file naming (``<stem>.txt`` + ``<stem>.json``) and the checked read.

Both loaders use it: :func:`companion.models.io.load_model` (the LightGBM estimator) and
:meth:`companion.models.compiled.CompiledModel.from_file` (the compiled trees, no LightGBM).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["FORMAT", "model_stem", "read_metadata"]

#: The ``format`` field of every sidecar this package writes.
FORMAT = "companion-lightgbm/1"


def model_stem(path: str | Path) -> Path:
    """The model's stem: ``path`` without a ``.txt`` / ``.json`` suffix.

    Examples
    --------
    >>> model_stem("models/clf.json").as_posix(), model_stem("models/clf").as_posix()
    ('models/clf', 'models/clf')
    """
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".txt", ".json") else p


def read_metadata(meta_path: str | Path) -> tuple[dict, Path, bytes]:
    """Read and check a ``.json`` sidecar: ``(metadata, model text path, model text bytes)``.

    Every problem (unreadable or non-JSON sidecar, wrong ``format``, missing or ill-typed
    ``model_file`` / ``model_sha256`` / ``estimator`` / ``feature_names``, a ``model_file`` outside
    the sidecar's folder, model text missing or not matching the recorded sha256) raises one
    ValueError naming the file: a broken sidecar can never skip the hash check.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "m.json").write_text("{not json")
    >>> try:
    ...     read_metadata(d / "m.json")
    ... except ValueError as exc:
    ...     print(str(exc).split("/")[-1][:22])
    m.json: not valid JSON
    """
    meta_path = Path(meta_path)
    try:
        meta = json.loads(meta_path.read_bytes().decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{meta_path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{meta_path}: not a {FORMAT} metadata file")
    for key, typ in (("model_file", str), ("model_sha256", str), ("estimator", str), ("feature_names", list)):
        if not isinstance(meta.get(key), typ):
            raise ValueError(f"{meta_path}: field {key!r} missing or not a {typ.__name__}")
    if not all(isinstance(f, str) for f in meta["feature_names"]):
        raise ValueError(f"{meta_path}: field 'feature_names' must be a list of strings")
    name = meta["model_file"]
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"{meta_path}: model_file {name!r} must be a file name in the same folder")
    txt = meta_path.parent / name
    try:
        raw = txt.read_bytes()
    except OSError as exc:
        raise ValueError(f"{meta_path}: cannot read its model file {txt} ({exc.strerror})") from None
    if hashlib.sha256(raw).hexdigest() != meta["model_sha256"]:
        raise ValueError(f"{txt}: model file does not match the sha256 recorded in its metadata")
    return meta, txt, raw
