"""The four things the library asks of an engine: its columns, partial sums added up,
person-local kernels run per partition, and small frames brought to the driver.

Each is written once per engine (Dask: ``map_partitions``, ``shuffle``, ``persist``;
Spark: ``mapInPandas``, ``repartition``, ``cache``), on the engines' public APIs only.
"""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines.base import DASK, PANDAS, SPARK, Note, engine_of
from dwp_eval.errors import DwpEvalError

__all__ = ["by_key", "collect", "columns", "count_rows", "kept", "keyed_sums", "map_sums", "with_key_means"]

#: A function of a pandas chunk returning partial sums (a frame; with a key column, one
#: row per key present in the chunk).
ChunkSums = Callable[[pd.DataFrame], pd.DataFrame]
#: A person-local kernel: the partition's rows of each table (by name) -> its rows and a note.
Kernel = Callable[[dict[str, pd.DataFrame]], tuple[pd.DataFrame, Any]]
#: The most rows :func:`map_sums` hands ``fn`` at once (a larger partition goes in slices).
SLICE_ROWS = 1_000_000
# the column holding a partition's pickled Note in Spark's output
_NOTE = "_dwp_eval_note"
_KEY = "_dwp_eval_key"
_TAG = "_dwp_eval_tag"


def _engine(frame: Any) -> str:
    engine = engine_of(frame)
    if engine is None:
        raise TypeError(f"not a DataFrame of a known engine: {type(frame)!r}")
    return engine


def columns(frame: Any) -> list[Hashable]:
    """The frame's column names."""
    return list(frame.columns)


def count_rows(frame: Any) -> int:
    """The number of rows (one pass on an engine)."""
    engine = _engine(frame)
    if engine == PANDAS:
        return len(frame)
    if engine == DASK:
        return int(frame.shape[0].compute())
    return int(frame.count())


def collect(frame: Any, cols: Sequence[Hashable] | None = None) -> pd.DataFrame:
    """The frame (or its columns ``cols``) in memory, as pandas: for small frames only."""
    engine = _engine(frame)
    if engine == PANDAS:
        return frame if cols is None else frame[list(cols)]
    if engine == DASK:
        part = frame if cols is None else frame[list(cols)]
        return part.compute().reset_index(drop=True)
    part = frame if cols is None else frame.select(*[_spark_col(c) for c in cols])
    return _spark_dates(part.toPandas(), part.schema)


@contextmanager
def kept(frame: Any, cols: Sequence[Hashable | None]) -> Iterator[Any]:
    """The columns ``cols`` of ``frame`` (``None`` entries skipped) kept in the engine's
    memory while the block runs, so that several passes over them read the source once;
    released afterwards. Spark ``cache`` (memory and disk); Dask ``persist`` when the
    columns fit in a third of the workers' memory (otherwise each pass reads them again)."""
    wanted = list(dict.fromkeys(c for c in cols if c is not None))
    engine = _engine(frame)
    if engine == PANDAS:
        yield frame
    elif engine == DASK:
        part = frame[wanted]
        if _fits_in_cluster(part):
            part = part.persist()
        try:
            yield part
        finally:
            del part
    else:
        part = frame.select(*[_spark_col(c) for c in wanted]).cache()
        try:
            yield part
        finally:
            part.unpersist()


def _fits_in_cluster(part: Any) -> bool:
    """Whether a Dask frame, kept in memory, would take under a third of the workers' memory
    (estimated from its first partition); otherwise each pass reads it again."""
    try:
        from distributed import get_client

        workers = get_client().scheduler_info()["workers"].values()
        limit = sum(w.get("memory_limit") or 0 for w in workers)
    except (ImportError, ValueError):
        return False  # no distributed client: the local scheduler re-reads, holding nothing
    if not limit:
        return False
    first = part.get_partition(0).compute()
    return bool(first.memory_usage(deep=True).sum() * part.npartitions * 3 < limit)


# --------------------------------------------------------------------------- sums
def map_sums(
    frame: Any,
    cols: Sequence[Hashable],
    fn: ChunkSums,
    out: Sequence[str],
    *,
    key: str | None = None,
    key_type: str = "long",
) -> pd.DataFrame:
    """Apply ``fn`` to chunks of ``frame[cols]`` and add up its partial sums.

    ``fn`` returns a frame with the float columns ``out`` (and, with ``key``, a column
    ``key`` of Spark type ``key_type``); the result has one row (no key) or one row per
    key, indexed by it and sorted. The sums are exact up to the order of addition.
    For very many keys (one per unit of a panel) see :func:`keyed_sums`.
    """
    engine = _engine(frame)
    out = list(out)
    partial = _partial(fn, out, key)
    if engine == PANDAS:
        total = partial(frame[list(cols)])
    elif engine == DASK:
        meta = partial(frame[list(cols)]._meta)
        parts = frame[list(cols)].map_partitions(partial, meta=meta)
        total = parts.compute() if key is None else parts.groupby(key)[out].sum().compute().reset_index()
    else:
        total = _spark_sums(frame, cols, partial, out, key, key_type)
    if key is None:
        return pd.DataFrame([total[out].sum(axis=0).to_numpy()], columns=out)
    return total.groupby(key)[out].sum().sort_index()


def _partial(fn: ChunkSums, out: list[str], key: str | None) -> ChunkSums:
    """``fn`` on a chunk (a large one in slices, so that fn's working copies stay small),
    its sums added up over the chunk (per key)."""

    def partial(chunk: pd.DataFrame) -> pd.DataFrame:
        res = (fn(chunk) if len(chunk) <= SLICE_ROWS else
               pd.concat([fn(chunk.iloc[i : i + SLICE_ROWS]) for i in range(0, len(chunk), SLICE_ROWS)],
                         ignore_index=True))
        if key is None:
            return pd.DataFrame([res[out].sum(axis=0).to_numpy()], columns=out)
        return res.groupby(key, sort=False, as_index=False)[out].sum()

    return partial


def keyed_sums(
    frame: Any,
    cols: Sequence[Hashable],
    fn: ChunkSums,
    out: Sequence[str],
    *,
    key: str,
    index: pd.Index,
    key_type: str = "long",
) -> np.ndarray:
    """:func:`map_sums` by ``key`` for very many keys (one per unit of a panel), as one
    float array with a row per value of ``index`` (in its order; zeros for a value with
    no rows) and a column per name in ``out``.

    The driver holds that array and one piece at a time: Dask adds the keys up in as many
    partitions as the input has (no worker holds them all) and each is copied into its
    rows as it arrives; Spark's come in one Arrow collect. A key that is not in
    ``index`` raises ``ValueError`` (the caller's index must hold every key).
    """
    engine = _engine(frame)
    out = list(out)
    partial = _partial(fn, out, key)
    result = np.zeros((len(index), len(out)))

    def put(piece: pd.DataFrame, keys: Any) -> None:
        pos = index.get_indexer(keys)
        if (pos < 0).any():
            raise ValueError(f"keyed_sums: {int((pos < 0).sum())} key(s) not in the index")
        result[pos] += piece[out].to_numpy(dtype=float)  # a key once per piece

    if engine == PANDAS:
        sums = partial(frame[list(cols)])
        put(sums, sums[key])
    elif engine == DASK:
        meta = partial(frame[list(cols)]._meta)
        parts = frame[list(cols)].map_partitions(partial, meta=meta)
        client = _distributed_client()
        pieces = parts.groupby(key)[out].sum(split_out=True, **_shuffle_method()).to_delayed()
        if client is None:  # a local scheduler: computed together
            import dask

            for piece in dask.compute(*pieces):
                put(piece, piece.index)
        else:  # computed on the workers, gathered one at a time and released
            futures = client.compute(pieces)
            del pieces
            while futures:
                future = futures.pop(0)
                piece = future.result()
                del future
                put(piece, piece.index)
                del piece
    else:  # one Arrow collect of the per-key sums
        total = _spark_sums(frame, cols, partial, out, key, key_type)
        put(total, total[key])
    return result


def _distributed_client() -> Any:
    """The ``dask.distributed`` Client that is Dask's scheduler now, or ``None`` (a local
    scheduler, set or by configuration)."""
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    try:
        from distributed import Client
    except ImportError:
        return None
    return client if isinstance(client, Client) else None


def _shuffle_method() -> dict[str, str]:
    """Dask picks the p2p shuffle whenever a distributed client exists, which fails when
    the configured scheduler is a local one: then the task shuffle."""
    return {} if _distributed_client() is not None else {"shuffle_method": "tasks"}


def _spark_sums(
    frame: Any, cols: Sequence[Hashable], partial: ChunkSums, out: list[str], key: str | None,
    key_type: str,
) -> pd.DataFrame:
    from pyspark.sql import functions as F

    part = frame.select(*[_spark_col(c) for c in cols])
    schema = part.schema

    def each(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        sums = [partial(_spark_dates(b, schema)) for b in batches if len(b)]
        if sums:
            both = pd.concat(sums, ignore_index=True)
            yield (pd.DataFrame([both[out].sum(axis=0).to_numpy()], columns=out)
                   if key is None else both.groupby(key, as_index=False)[out].sum())

    fields = ([f"`{key}` {key_type}"] if key is not None else []) + [f"`{c}` double" for c in out]
    res = part.mapInPandas(each, ", ".join(fields))
    if key is None:
        agg = res.agg(*[F.sum(F.col(f"`{c}`")).alias(c) for c in out])
    else:
        agg = res.groupBy(key).agg(*[F.sum(F.col(f"`{c}`")).alias(c) for c in out])
    return agg.toPandas()


def with_key_means(
    frame: Any,
    cols: Sequence[Hashable],
    fn: ChunkSums,
    out: Sequence[str],
    means: Sequence[str],
    *,
    key: str,
    key_type: str = "long",
) -> Any:
    """The frame of ``fn``'s rows, each with the means of the columns ``means`` over every
    row that shares its ``key``, as columns ``"_m_" + name``.

    ``fn`` maps a pandas chunk of ``frame[cols]`` to one row per row: the column ``key``
    (Spark type ``key_type``) and the float columns ``out`` (which hold ``means``). The
    engine groups and joins (a hash shuffle on the key), so no table of every key comes
    to the driver or goes out with the tasks: a unit's means for the within transformation
    of a panel of millions of units stay on the engine. Returns a frame of the engine.
    """
    engine = _engine(frame)
    out, means = list(out), list(means)
    names = {c: f"_m_{c}" for c in means}
    if engine == PANDAS:
        rows = fn(frame[list(cols)])
        return rows.assign(**{names[c]: rows.groupby(key)[c].transform("mean") for c in means})
    if engine == DASK:
        meta = fn(frame[list(cols)]._meta)
        rows = frame[list(cols)].map_partitions(fn, meta=meta)
        how = _shuffle_method()
        by_key = rows.groupby(key)[means].mean(split_out=True, **how)
        # new columns by assign: dask 2026.8 loses the key when a split_out group-by is renamed
        by_key = by_key.assign(**{names[c]: by_key[c] for c in means})[list(names.values())].reset_index()
        return rows.merge(by_key, on=key, how="left", **how)
    from pyspark.sql import functions as F

    part = frame.select(*[_spark_col(c) for c in cols])
    schema = part.schema

    def each(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            if len(b):
                yield fn(_spark_dates(b, schema))[[key, *out]]

    rows = part.mapInPandas(each, ", ".join([f"`{key}` {key_type}", *[f"`{c}` double" for c in out]]))
    by_key = rows.groupBy(key).agg(*[F.avg(_spark_col(c)).alias(names[c]) for c in means])
    return rows.join(by_key, on=key, how="left")


# --------------------------------------------------------------------------- by key
def by_key(
    tables: Mapping[str, tuple[Any, Hashable, Sequence[Hashable]]],
    kernel: Kernel,
    meta: pd.DataFrame,
    *,
    npartitions: int | None = None,
) -> tuple[Any, list[Note]]:
    """Run ``kernel`` on the rows of every table that share a key, partition by partition.

    ``tables`` maps a name to ``(frame, key column, columns to keep)`` (all frames of one
    engine, or ``None`` for a table not given). Rows are hash-partitioned on the key, so
    all of a person's rows, in every table, reach one kernel call however the input was
    partitioned. ``meta`` is an empty frame with the kernel's output columns and dtypes.
    Returns the engine frame of the kernel's rows (computed and kept in the engine's
    memory, so the notes and the rows come from one run) and the partitions' notes; a
    kernel's :class:`DwpEvalError` is raised here.
    """
    given = {name: t for name, t in tables.items() if t is not None and t[0] is not None}
    engine = _engine(next(iter(given.values()))[0])
    specs = {name: (list(cols), {c: _dtype(frame, c) for c in cols})
             for name, (frame, _, cols) in given.items()}
    run = _Runner(kernel, specs, meta)
    if engine == PANDAS:
        rows, note = run.tables({name: frame[list(cols)] for name, (frame, _, cols) in given.items()})
        notes = [note]
    elif engine == DASK:
        rows, notes = _dask_by_key(given, run, meta, npartitions)
    else:
        rows, notes = _spark_by_key(given, run, meta, npartitions)
    for note in notes:
        note.raise_error()
    return rows, notes


class _Runner:
    """The kernel with its table specs: splits a stacked partition back into tables with
    their own columns and dtypes, runs the kernel, and catches the DwpEvalError it raises."""

    def __init__(self, kernel: Kernel, specs: Mapping[str, tuple[list[Hashable], dict[Hashable, Any]]],
                 meta: pd.DataFrame) -> None:
        self.kernel, self.specs, self.meta = kernel, dict(specs), meta

    def tables(self, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, Note]:
        # no warnings.catch_warnings here: it swaps process-wide state, and on a threaded
        # scheduler a worker thread's exit would restore it over the caller's (losing the
        # caller's warnings). Kernels report problems in their note, never by warning.
        try:
            rows, value = self.kernel(tables)
            return rows, Note(value=value)
        except DwpEvalError as exc:
            return self.meta.iloc[:0].copy(), Note.of_error(exc)

    def stacked(self, part: pd.DataFrame) -> tuple[pd.DataFrame, Note]:
        tables = {}
        for i, (name, (cols, dtypes)) in enumerate(self.specs.items()):
            rows = part[part[_TAG] == i] if len(part) else part
            t = pd.DataFrame({c: rows[_stacked_name(i, j)].to_numpy() for j, c in enumerate(cols)})
            tables[name] = _restore(t, dtypes)
        return self.tables(tables)


def _stacked_name(i: int, j: int) -> str:
    return f"_t{i}_c{j}"


def _dtype(frame: Any, col: Hashable) -> Any:
    """The column's pandas dtype (Spark: a pandas dtype for its Spark type)."""
    if engine_of(frame) == SPARK:
        return _SPARK_TO_PANDAS.get(frame.schema[str(col)].dataType.typeName(), object)
    return frame.dtypes[col]


_SPARK_TO_PANDAS = {"long": "int64", "integer": "int64", "short": "int64", "byte": "int64",
                    "double": "float64", "float": "float64", "boolean": "bool",
                    "date": "datetime64[ns]", "timestamp": "datetime64[ns]",
                    "timestamp_ntz": "datetime64[ns]", "string": object}


def _restore(t: pd.DataFrame, dtypes: Mapping[Hashable, Any]) -> pd.DataFrame:
    """A table's own dtypes back after stacking (which fills other tables' columns with
    missing values); a column that now holds missing values keeps a nullable dtype."""
    for c, dtype in dtypes.items():
        s = t[c]
        try:
            if np.issubdtype(np.dtype(dtype), np.datetime64) if isinstance(dtype, (str, np.dtype)) else False:
                t[c] = pd.to_datetime(s)
            elif s.isna().any() and str(dtype) in ("int64", "bool"):
                t[c] = s.astype("Int64" if dtype == "int64" else "boolean")
            else:
                t[c] = s.astype(dtype)
        except (TypeError, ValueError):
            pass  # the kernel's own checks name the column and the problem
    return t


def _dask_by_key(given: Mapping[str, Any], run: _Runner, meta: pd.DataFrame,
                 npartitions: int | None) -> tuple[Any, list[Note]]:
    import dask
    import dask.dataframe as dd

    parts = []
    key_as = _common_key([frame.dtypes[key] for frame, key, _ in given.values()])
    for i, (frame, key, cols) in enumerate(given.values()):
        # one blockwise step per table (renamed columns, the key and the table's tag), so
        # that no two expressions of the frame must be aligned partition by partition
        wanted = list(dict.fromkeys([*cols, key]))
        part_meta = _stacked_part(frame[wanted]._meta, i, list(cols), key, key_as)
        parts.append(frame[wanted].map_partitions(_stacked_part, i, list(cols), key, key_as,
                                                  meta=part_meta))
    n = npartitions or max(f.npartitions for f, _, _ in given.values())
    stacked = dd.concat(parts).shuffle(_KEY, npartitions=n)
    runs = [dask.delayed(run.stacked)(p) for p in stacked.to_delayed()]
    runs = list(dask.persist(*runs))
    notes = list(dask.compute(*[dask.delayed(_second)(r) for r in runs]))
    rows = dd.from_delayed([dask.delayed(_first)(r) for r in runs], meta=meta, verify_meta=False)
    return rows, notes


def _common_key(dtypes: Sequence[Any]) -> str | None:
    """How the tables' keys are made one type for the shuffle: unchanged when their dtypes
    agree, as ``float64`` when all are numbers (1001 and 1001.0 are one person, as in
    pandas), otherwise as text. Only where a row goes depends on it: the kernels match ids
    in their own dtypes, so ids of different types still match nobody, as in pandas."""
    if len({str(d) for d in dtypes}) == 1:
        return None
    numeric = all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)
                  for d in dtypes)
    return "float64" if numeric else "str"


def _stacked_part(part: pd.DataFrame, i: int, cols: list[Hashable], key: Hashable,
                  key_as: str | None = None) -> pd.DataFrame:
    """A partition of table ``i`` as stacked rows: its columns renamed, its key (made the
    tables' common type, :func:`_common_key`) and its tag."""
    out = pd.DataFrame({_stacked_name(i, j): part[c] for j, c in enumerate(cols)}, index=part.index)
    k = part[key]
    if key_as == "float64":
        k = k.astype("float64")
    elif key_as == "str":
        k = k.astype(object).where(k.notna(), None).map(lambda v: None if v is None else str(v))
    out[_KEY] = k
    out[_TAG] = i
    return out


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _spark_by_key(given: Mapping[str, Any], run: _Runner, meta: pd.DataFrame,
                  npartitions: int | None) -> tuple[Any, list[Note]]:
    from pyspark.sql import functions as F

    frames = list(given.values())
    key_type = frames[0][0].schema[str(frames[0][1])].dataType
    parts = []
    for i, (frame, key, cols) in enumerate(frames):
        parts.append(frame.select(
            *[_spark_col(c).alias(_stacked_name(i, j)) for j, c in enumerate(cols)],
            _spark_col(key).cast(key_type).alias(_KEY), F.lit(i).alias(_TAG),
        ))
    stacked = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), parts)
    n = npartitions or max(f.rdd.getNumPartitions() for f, _, _ in frames)
    schema = stacked.schema
    out_schema = _spark_schema(meta) + f", `{_NOTE}` string"

    def each(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        chunks = [b for b in batches if len(b)]
        part = (pd.concat(chunks, ignore_index=True) if chunks
                else pd.DataFrame({f.name: [] for f in schema.fields}))
        rows, note = run.stacked(_spark_dates(part, schema))
        if len(rows):
            yield rows.assign(**{_NOTE: None})
        yield pd.DataFrame({**{c: [None] for c in meta.columns},
                            _NOTE: [base64.b64encode(pickle.dumps(note)).decode("ascii")]})

    res = stacked.repartition(n, _KEY).mapInPandas(each, out_schema).cache()
    notes = [pickle.loads(base64.b64decode(r[0]))
             for r in res.filter(F.col(_NOTE).isNotNull()).select(_NOTE).collect()]
    rows = res.filter(F.col(_NOTE).isNull()).drop(_NOTE)
    return rows, notes


def _spark_col(c: Hashable) -> Any:
    from pyspark.sql import functions as F

    return F.col(f"`{c}`")


def _spark_schema(meta: pd.DataFrame) -> str:
    """A Spark DDL schema for the kernel's output columns."""
    fields = []
    for c, dtype in meta.dtypes.items():
        kind = str(dtype).lower()
        if kind.startswith(("int", "uint")):
            typ = "long"
        elif kind.startswith("float"):
            typ = "double"
        elif kind in ("bool", "boolean"):
            typ = "boolean"
        elif kind.startswith("datetime64"):
            typ = "timestamp"
        else:
            typ = "string"
        fields.append(f"`{c}` {typ}")
    return ", ".join(fields)


def _spark_dates(pdf: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Spark's dates arrive as Python ``date`` objects: make them ``datetime64`` as a
    pandas user's dates are."""
    for f in schema.fields:
        if f.dataType.typeName() == "date" and f.name in pdf.columns:
            pdf[f.name] = pd.to_datetime(pdf[f.name])
    return pdf
