"""Parquet store of ticker-days: events, book rows and derived tables, written once, never stale.

Timing a read against a parse (for ``benchmarks/bench_scale.py``; measured ratio in the note)::

    from companion.store import Store
    from companion.catalog import discover, load_day
    day = discover(str(companion.data.data_dir() / "synthetic" / "seed_7"))[0]   # the default day
    st = Store(tmp_root); st.dataset(day)         # build once (parse + write), outside the timing
    t_read = best_of(lambda: st.dataset(day))     # events + book back from Parquet
    t_parse = best_of(lambda: load_day(day))      # read_lobster of the two CSVs
    # both return in-memory numpy arrays (events: EVENT_DTYPE; book: (n, 40) float64), so no
    # "touch" is needed; Store.dataset(day, book=False) times the events alone.
    # Store.dataset(day, mmap=True) maps the book instead (read-only, no copy): time it with a
    # touch (``.book.sum()``) against ``load_day(day).book.sum()`` for a fair comparison.
    # Measured here (1 shared core): read 80 ms / parse 600 ms (7.5x); events alone 21 ms (28x);
    # mmap 24 ms (30x), mmap + touch 52 ms vs parse + touch 920 ms (17x).

Layout (hive-style partitions by ticker and date)::

    ROOT/TABLE/ticker=T/date=D/VARIANT.parquet     TABLE = events, book, or any derived table
    ROOT/_keys/ticker=T/date=D/VARIANT.json        the day's identity (see below)

``VARIANT`` = ``SOURCE-L<level>-<8 hex of the SPEC's sha1>``, so GOOG level 1, 5 and 10 of one
date, or the same ticker-day of two universes, never share a file.

**Keys.** The identity of a ticker-day is the sha256 of: its SPEC; for every source file its
name, size and sha256 of its content; the package version and the sha256 of the sources of the
modules that read or generate data (:func:`package_hash`); for synthetic days also
:data:`companion.synth.GENERATOR_VERSION`. Every table file carries the identity it was built
from in its Parquet metadata. A table is *fresh* only when that identity equals the current one:
``dataset`` rebuilds a stale events/book table from the source, ``has_table`` reports a stale
derived table as missing and ``read_table`` refuses it (:class:`StaleTableError`). Content
hashes are cached in the key file with the files' size, mtime, ctime and inode; a file is
re-hashed only when one of them changed (any write changes the ctime, even when the mtime is set
back; a touched but unchanged file is re-hashed and re-keyed, not rebuilt).

**Tables.** ``events``: the :data:`~companion.events.EVENT_DTYPE` columns. ``book``: the
LOBSTER-layout book (``n x 4L`` float64) stored as its cell changes in row-major order (``col``
int16, ``value`` float64; ``book_counts``: ``count`` uint16 changes per row): row ``i`` = row
``i - 1`` with its cells replaced, row 0 against zeros;
4.5 changes per row on the default day instead of 40 cells, rebuilt by one numba pass. Reads are
columnar (pyarrow, memory-mapped, uncompressed, no per-row Python; the packed event records are
filled by one numba pass). Rebuilding the ``n x 4L`` float64 book is most of a read (it writes
119 MB on the default day); ``dataset(day, mmap=True)`` maps an uncompressed Arrow IPC copy of
it instead (``ROOT/_book_mmap``, same keys). Derived tables are plain DataFrames.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit

from companion.catalog import load_day
from companion.events import EVENT_DTYPE, DayData, Instrument, TickerDay

__all__ = [
    "StaleTableError",
    "Store",
    "book_changes_nb",
    "book_from_changes_nb",
    "day_identity",
    "events_from_columns_nb",
    "package_hash",
]

COMPRESSION = "none"
"""Parquet compression of the store's tables: none -- decoding is then a copy (lz4 made the
default day's files 8x smaller but its read 2x slower). 35 MB for the default day (CSV: 100 MB)."""
_DATA_MODULES = ("__init__.py", "events.py", "errors.py", "data.py", "catalog.py", "universe.py", "store.py",
                 "synth", "io")


DATASET_TABLES = ("events", "book", "book_counts")
"""Tables written by :meth:`Store.dataset` (not by :meth:`Store.write_table`)."""


class StaleTableError(LookupError):
    """A table was asked for whose file is missing or was built from another identity."""


@lru_cache(maxsize=1)
def package_hash() -> str:
    """sha256 (16 hex) of the package version and the sources of the data modules.

    The modules are those that read or generate days (``events``, ``data``, ``catalog``,
    ``universe``, ``store``, ``synth/*``, ``io/*``); computed once per process.

    Examples
    --------
    >>> len(package_hash())
    16
    """
    import companion

    root = Path(__file__).resolve().parent
    h = hashlib.sha256(companion.__version__.encode())
    files: list[Path] = []
    for name in _DATA_MODULES:
        p = root / name
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def day_identity(day: TickerDay, cached: dict | None = None) -> dict:
    """The identity record of a ticker-day (see the module docstring).

    Parameters
    ----------
    day : TickerDay
    cached : dict, optional
        A previous record; the content hash of a file whose size, mtime, ctime and inode are all
        unchanged is reused (any write changes the ctime, which no tool can set back).

    Returns
    -------
    dict
        ``spec``, ``files`` (``name``, ``path``, ``size``, ``mtime_ns``, ``stat``, ``sha256``), ``package``,
        ``generator`` (synthetic days) and ``identity`` (sha256 of the rest without paths/mtimes).

    Examples
    --------
    >>> from companion.catalog import discover
    >>> rec = day_identity(discover("universe:1:1x1:1")[0])
    >>> rec["files"], len(rec["identity"])
    ([], 64)
    """
    old = {f["path"]: f for f in (cached or {}).get("files", [])}
    files = []
    for p in day.paths:
        path = Path(p)
        st = path.stat()
        prev = old.get(str(path))
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        if prev and prev.get("stat") == stamp:
            sha = prev["sha256"]
        else:
            sha = _sha256_file(path)
        files.append({"name": path.name, "path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                      "stat": stamp, "sha256": sha})
    rec = {"spec": day.spec, "key": day.key, "files": files, "package": package_hash()}
    if day.source == "synthetic":
        from companion.synth import GENERATOR_VERSION

        rec["generator"] = GENERATOR_VERSION
    core = {"spec": day.spec, "files": [(f["name"], f["size"], f["sha256"]) for f in files],
            "package": rec["package"], "generator": rec.get("generator")}
    rec["identity"] = hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()
    return rec


@njit(cache=True)
def book_changes_nb(book):
    """Cell changes of a book table: ``(rows int32, cols int16, values float64)`` with row ``i``
    equal to row ``i - 1`` (row 0: zeros) with cells ``cols`` set to ``values``; row-major order."""
    n, w = book.shape
    m = 0
    for i in range(n):
        for j in range(w):
            prev = book[i - 1, j] if i > 0 else 0.0
            if book[i, j] != prev:
                m += 1
    rows = np.empty(m, np.int32)
    cols = np.empty(m, np.int16)
    vals = np.empty(m, np.float64)
    k = 0
    for i in range(n):
        for j in range(w):
            prev = book[i - 1, j] if i > 0 else 0.0
            if book[i, j] != prev:
                rows[k] = i
                cols[k] = j
                vals[k] = book[i, j]
                k += 1
    return rows, cols, vals


@njit(cache=True)
def book_from_changes_nb(counts, cols, vals, out):
    """Inverse of :func:`book_changes_nb`: fill ``out`` (``(n, w)`` float64, C order) with the
    book rebuilt from its cell changes, ``counts[i]`` of them in row ``i`` (``np.bincount`` of the
    change rows; row 0 starts from zeros); returns ``out``.

    One pass: the current row lives in a ``w``-vector updated by the changes of row ``i`` and
    copied to ``out[i]`` (writing the ``n x w`` output is most of the time)."""
    n, w = out.shape
    flat = out.reshape(n * w)
    cur = np.zeros(w, np.float64)
    k = 0
    for i in range(n):
        for _ in range(counts[i]):
            cur[cols[k]] = vals[k]
            k += 1
        base = i * w
        for j in range(w):
            flat[base + j] = cur[j]
    return out


@njit(cache=True)
def events_from_columns_nb(ts, ts_local, kind, side, price, size, order_id, out):
    """Fill the :data:`~companion.events.EVENT_DTYPE` array ``out`` from its seven columns (one
    pass over the packed records instead of seven strided ones); returns ``out``."""
    for i in range(ts.shape[0]):
        out[i]["ts"] = ts[i]
        out[i]["ts_local"] = ts_local[i]
        out[i]["kind"] = kind[i]
        out[i]["side"] = side[i]
        out[i]["price"] = price[i]
        out[i]["size"] = size[i]
        out[i]["order_id"] = order_id[i]
    return out


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, memory_map=True).read(use_threads=False)


def _variant(day: TickerDay) -> str:
    return f"{day.source}-L{day.level}-{hashlib.sha1(day.spec.encode()).hexdigest()[:8]}"


def _instrument_json(ins) -> str:
    return json.dumps(ins.to_dict(), sort_keys=True, default=str)


class Store:
    """A Parquet store of ticker-days under ``root`` (see the module docstring).

    Parameters
    ----------
    root : str or pathlib.Path, optional
        Default ``$COMPANION_DATA/store`` (:func:`companion.paths.data_dir`).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from companion.catalog import discover
    >>> day = discover("universe:1:1x1:1")[0]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     st = Store(tmp)
    ...     built = st.dataset(day)                # generated and written
    ...     again = st.dataset(day)                # read back from Parquet
    ...     p = st.write_table(day, "features", pd.DataFrame({"x": [1.0, 2.0]}))
    ...     print(bool((built.events == again.events).all()), bool((built.book == again.book).all()),
    ...           st.read_table(day, "features")["x"].tolist(), p.parent.name)
    True True [1.0, 2.0] date=2012-06-21
    """

    def __init__(self, root: str | Path | None = None):
        if root is None:
            from companion.paths import data_dir

            root = data_dir() / "store"
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # ------------------------------------------------------------------ paths and keys
    def table_path(self, day: TickerDay, name: str) -> Path:
        """``ROOT/NAME/ticker=T/date=D/VARIANT.parquet``.

        Examples
        --------
        >>> from companion.catalog import discover
        >>> p = Store("/tmp/st").table_path(discover("universe:1:1x1:1")[0], "events")
        >>> p.parts[-4:-1]
        ('events', 'ticker=SYN0', 'date=2012-06-21')
        """
        if not name or "/" in name or name.startswith(("_", ".")):
            raise ValueError(f"table name {name!r}: a plain name without '/' or a leading '_' / '.'")
        return self.root / name / f"ticker={day.ticker}" / f"date={day.date}" / f"{_variant(day)}.parquet"

    def _key_path(self, day: TickerDay) -> Path:
        return self.root / "_keys" / f"ticker={day.ticker}" / f"date={day.date}" / f"{_variant(day)}.json"

    def identity(self, day: TickerDay) -> str:
        """The day's current identity (sha256 hex); updates the key file's cached file hashes.

        Examples
        --------
        >>> from companion.catalog import discover
        >>> len(Store("/tmp/st").identity(discover("universe:1:1x1:1")[0]))
        64
        """
        kp = self._key_path(day)
        try:
            cached = json.loads(kp.read_text())
        except (OSError, ValueError):
            cached = None
        rec = day_identity(day, cached)
        if rec != cached:
            _atomic_write_bytes(kp, (json.dumps(rec, indent=1, sort_keys=True) + "\n").encode())
        return rec["identity"]

    @staticmethod
    def _meta(path: Path) -> dict | None:
        import pyarrow.parquet as pq

        try:
            md = pq.read_schema(path).metadata or {}
        except (OSError, ValueError):
            return None
        raw = md.get(b"companion")
        return json.loads(raw) if raw else None

    def _fresh(self, path: Path, ident: str, version: str = "") -> bool:
        m = self._meta(path) if path.exists() else None
        return m is not None and m.get("identity") == ident and m.get("version", "") == version

    # ------------------------------------------------------------------ writing
    def _write(self, path: Path, table, meta: dict) -> Path:
        import pyarrow.parquet as pq

        md = dict(table.schema.metadata or {})
        md[b"companion"] = json.dumps(meta, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(md)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        try:
            pq.write_table(table, tmp, compression=COMPRESSION, use_dictionary=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def write_table(self, day: TickerDay, name: str, df, *, version: str = "") -> Path:
        """Write a derived table of a day (keyed by the day's current identity).

        Parameters
        ----------
        day : TickerDay
        name : str
            Table name (``events`` / ``book`` are the dataset's own).
        df : pandas.DataFrame
            Written without its index unless the index is named.
        version : str
            The producer's version (e.g. a hash of the study code and parameters); a table is
            fresh only for the same ``version``.

        Returns
        -------
        pathlib.Path
            The Parquet file written (its sidecar holds the day's identity and ``version``).

        Examples
        --------
        See :class:`Store`.
        """
        import pyarrow as pa

        if name in DATASET_TABLES:
            raise ValueError(f"table {name!r} belongs to the dataset: use Store.dataset")
        table = pa.Table.from_pandas(df, preserve_index=df.index.name is not None)
        return self._write(self.table_path(day, name), table,
                           {"identity": self.identity(day), "version": version, "key": day.key, "spec": day.spec})

    # ------------------------------------------------------------------ reading
    def has_table(self, day: TickerDay, name: str, *, version: str = "") -> bool:
        """True when the table exists and was built from the day's current identity (and ``version``).

        Examples
        --------
        >>> from companion.catalog import discover
        >>> Store("/tmp/no-such-store").has_table(discover("universe:1:1x1:1")[0], "events")
        False
        """
        return self._fresh(self.table_path(day, name), self.identity(day), version)

    def read_table(self, day: TickerDay, name: str, *, version: str = ""):
        """Read a derived table; :class:`StaleTableError` when missing or stale.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        See :class:`Store`.
        """
        import pyarrow.parquet as pq

        path = self.table_path(day, name)
        if not self._fresh(path, self.identity(day), version):
            what = "missing" if not path.exists() else "stale (built from another source or package version)"
            raise StaleTableError(f"table {name!r} of {day.key} ({day.spec}) is {what}: {path}")
        return pq.read_table(path, memory_map=True).to_pandas()

    def dataset(self, day: TickerDay, *, book: bool = True, mmap: bool = False) -> DayData:
        """Events, book and instrument of a day: from Parquet if fresh, else read from the source
        (:func:`companion.catalog.load_day`) and written first.

        Parameters
        ----------
        day : TickerDay
        book : bool
            Also read the book (False: ``book`` is None, faster).
        mmap : bool
            Return the book as a read-only memory map of an uncompressed Arrow IPC copy
            (``ROOT/_book_mmap/...``, written from the Parquet tables on first use, keyed like
            them): no copy at read time, pages come from the OS cache when touched. Costs the
            book's full size on disk (119 MB for the default day).

        Returns
        -------
        companion.events.DayData

        Examples
        --------
        See :class:`Store`.
        """
        ident = self.identity(day)
        ep, bp = self.table_path(day, "events"), self.table_path(day, "book")
        meta = self._meta(ep) if ep.exists() else None
        cp = self.table_path(day, "book_counts")
        if meta is None or meta.get("identity") != ident or (
                meta.get("has_book") and not (self._fresh(bp, ident) and self._fresh(cp, ident))):
            built = self._build(day, ident)
            if not (book and mmap and built.book is not None):
                return built
            meta = self._meta(ep)
        if book and mmap and meta.get("has_book"):
            out = self._read(day, meta, False)
            return DayData(out.events, self._book_mmap(day, meta, ident), out.instrument, day)
        return self._read(day, meta, book)

    def build(self, days: list[TickerDay], client=None) -> list[TickerDay]:
        """Make every day's events and book fresh in the store: read from its source, or generated
        for a universe day, where missing or stale (:meth:`dataset`); one Dask task per day.

        Parameters
        ----------
        days : list of TickerDay
            E.g. :func:`companion.catalog.discover` of a folder or a universe SPEC.
        client : distributed.Client, optional
            Maps one build task per day on it (``client.map``, then ``client.gather``); None builds
            the days serially in this process.

        Returns
        -------
        list of TickerDay
            ``days``, each now fresh in the store.

        Examples
        --------
        >>> import tempfile
        >>> from companion.catalog import discover
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     days = Store(tmp).build(discover("universe:1:2x1:1"))
        ...     print(len(days), all(Store(tmp).has_table(d, "events") for d in days))
        2 True
        """
        root = str(self.root)
        if client is None:
            for day in days:
                _build_day(day, root)
        else:
            client.gather(client.map(_build_day, days, root=root, pure=False))
        return list(days)

    def _book_mmap(self, day: TickerDay, meta: dict, ident: str) -> np.ndarray:
        import pyarrow as pa

        path = self.root / "_book_mmap" / f"ticker={day.ticker}" / f"date={day.date}" / f"{_variant(day)}.arrow"
        table = None
        if path.exists():
            try:
                with pa.memory_map(str(path), "r") as src:
                    table = pa.ipc.open_file(src).read_all()
                md = json.loads((table.schema.metadata or {}).get(b"companion", b"{}"))
                if md.get("identity") != ident:
                    table = None
            except (OSError, ValueError, pa.ArrowInvalid):
                table = None
        if table is None:
            b = self._read(day, meta, True).book
            arr = pa.FixedSizeListArray.from_arrays(pa.array(b.reshape(-1)), b.shape[1])
            t = pa.table({"book": arr}).replace_schema_metadata(
                {b"companion": json.dumps({"identity": ident, "key": day.key}).encode()})
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            os.close(fd)
            try:
                with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
                    w.write_table(t)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            with pa.memory_map(str(path), "r") as src:
                table = pa.ipc.open_file(src).read_all()
        n, w = meta["book_shape"]
        col = table.column("book")
        if n == 0:
            return np.zeros((0, w))
        flat = col.chunk(0).flatten().to_numpy(zero_copy_only=True)
        return flat.reshape(n, w)

    def _build(self, day: TickerDay, ident: str) -> DayData:
        import pyarrow as pa

        dd = load_day(day)
        ev = dd.events
        has_book = dd.book is not None
        base = {"identity": ident, "key": day.key, "spec": day.spec, "version": ""}
        if has_book:
            b = np.ascontiguousarray(dd.book, dtype=np.float64)
            rows, cols, vals = book_changes_nb(b)
            counts = np.bincount(rows, minlength=b.shape[0]).astype(np.uint16)
            self._write(self.table_path(day, "book"), pa.table({"col": cols, "value": vals}),
                        {**base, "shape": [int(x) for x in b.shape]})
            self._write(self.table_path(day, "book_counts"), pa.table({"count": counts}), base)
        shape = [int(x) for x in dd.book.shape] if has_book else None
        self._write(self.table_path(day, "events"), pa.table({k: ev[k] for k in EVENT_DTYPE.names}),
                    {**base, "n": len(ev), "has_book": has_book, "book_shape": shape,
                     "instrument": _instrument_json(dd.instrument)})
        return DayData(ev, dd.book, dd.instrument, day)

    def _read(self, day: TickerDay, meta: dict, book: bool) -> DayData:
        t = _read_parquet(self.table_path(day, "events"))
        ev = events_from_columns_nb(*[t.column(k).to_numpy() for k in EVENT_DTYPE.names],
                                    np.empty(t.num_rows, dtype=EVENT_DTYPE))
        b = None
        if book and meta.get("has_book"):
            bt = _read_parquet(self.table_path(day, "book"))
            ct = _read_parquet(self.table_path(day, "book_counts"))
            b = book_from_changes_nb(ct.column("count").to_numpy(), bt.column("col").to_numpy(),
                                     bt.column("value").to_numpy(), np.empty(tuple(meta["book_shape"])))
        ins = Instrument(**json.loads(meta["instrument"]))
        return DayData(ev, b, ins, day)

    # ------------------------------------------------------------------ many days
    def dask_frame(self, name: str, days: list[TickerDay] | None = None, *, version: str = ""):
        """A dask DataFrame over a table of many days, one partition per ticker-day, with
        ``ticker``, ``date`` and ``level`` columns added.

        Parameters
        ----------
        name : str
            A derived table, or ``events`` (the dataset's events; built first when missing).
        days : list of TickerDay, optional
            Default: every day that has the table (under any identity: the days are taken from the
            files' metadata, so only fresh ones are read -- a stale one raises
            :class:`StaleTableError` when computed).
        version : str
            As for :meth:`read_table`.

        Returns
        -------
        dask.dataframe.DataFrame

        Examples
        --------
        >>> import tempfile
        >>> import pandas as pd
        >>> from companion.catalog import discover
        >>> days = discover("universe:1:2x1:1")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     st = Store(tmp)
        ...     for i, d in enumerate(days):
        ...         _ = st.write_table(d, "f", pd.DataFrame({"x": [float(i)] * 3}))
        ...     df = st.dask_frame("f", days).compute()
        >>> len(df), sorted(df["ticker"].unique())
        (6, ['SYN0', 'SYN1'])
        """
        import dask.dataframe as dd

        if days is None:
            days = self.days(name)
        if not days:
            raise StaleTableError(f"no ticker-day has table {name!r} in {self.root}")
        root = str(self.root)
        return dd.from_map(_read_part, days, root=root, name=name, version=version)

    def days(self, name: str = "events") -> list[TickerDay]:
        """The ticker-days that have a file of table ``name`` (fresh or not), from its metadata.

        Examples
        --------
        >>> Store("/tmp/no-such-store").days()
        []
        """
        from companion.catalog import discover

        out = []
        base = self.root / name
        if not base.is_dir():
            return []
        for p in sorted(base.glob("ticker=*/date=*/*.parquet")):
            m = self._meta(p)
            if m and m.get("spec"):
                spec = m["spec"]
                try:
                    got = [d for d in discover(spec) if d.key == m.get("key")]
                except (OSError, ValueError):
                    continue
                out += got[:1]
        return sorted(set(out), key=lambda d: (d.ticker, d.date, d.level, d.source, d.spec))


def _build_day(day: TickerDay, root: str) -> str:
    """One task of :meth:`Store.build` (a module-level function: Dask ships it to the workers)."""
    Store(root).dataset(day)
    return day.key


def _read_part(day: TickerDay, root: str, name: str, version: str):
    st = Store(root)
    if name == "events":
        ev = st.dataset(day, book=False).events
        import pandas as pd

        df = pd.DataFrame({k: ev[k] for k in EVENT_DTYPE.names})
    else:
        df = st.read_table(day, name, version=version)
    df = df.reset_index(drop=df.index.name is None)
    df["ticker"] = day.ticker
    df["date"] = day.date
    df["level"] = day.level
    return df


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
