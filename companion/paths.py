"""Where the data lives: the data directory (``$COMPANION_DATA``, default ``<repo>/data``) and the
shared real-data folder (``$COMPANION_SHARED``, default ``<repo>/../shared/data``).

The bottom layer for paths: :mod:`companion.data` (the dataset registry) and
:mod:`companion.synth` (the generator's files) both read them from here, so neither imports the
other's module to find a folder.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "data_dir", "shared_data_dir"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The data directory: ``$COMPANION_DATA`` or ``<repo>/data``.

    Returns
    -------
    pathlib.Path
        Absolute path (it may not exist yet).

    Examples
    --------
    >>> data_dir().is_absolute()
    True
    """
    return Path(os.environ.get("COMPANION_DATA", REPO_ROOT / "data")).resolve()


def shared_data_dir() -> Path | None:
    """The shared real-data folder (``$COMPANION_SHARED`` or ``<repo>/../shared/data``).

    Returns
    -------
    pathlib.Path or None
        Absolute path, or None when the folder does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from unittest import mock
    >>> with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {"COMPANION_SHARED": tmp}):
    ...     shared_data_dir() == Path(tmp).resolve()
    True
    >>> with mock.patch.dict(os.environ, {"COMPANION_SHARED": "/no/such/folder"}):
    ...     print(shared_data_dir())
    None
    """
    p = Path(os.environ.get("COMPANION_SHARED", REPO_ROOT.parent / "shared" / "data"))
    return p.resolve() if p.is_dir() else None
