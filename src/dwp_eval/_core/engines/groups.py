"""Small things the panel estimators ask of an engine besides partial sums: a column's
dtype, the distinct values of a column, each key's first row, projected and filtered
frames.

Written once per engine on their public APIs (Dask: ``drop_duplicates``, ``groupby``,
``cumsum``; Spark: ``distinct``, ``groupBy``, ``monotonically_increasing_id``). The results
are small (one row per value or key) and come back as pandas.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines.base import DASK, PANDAS, SPARK, engine_of
from dwp_eval._core.engines.ops import collect

__all__ = ["POSITION", "distinct", "dropna", "dtype_of", "first_positions", "min_max", "select",
           "with_position"]

#: The column :func:`with_position` adds: increasing in the frame's row order.
POSITION = "_dwp_eval_position"

_SPARK_TO_PANDAS = {"long": "int64", "integer": "int64", "short": "int64", "byte": "int64",
                    "double": "float64", "float": "float64", "boolean": "bool",
                    "date": "datetime64[ns]", "timestamp": "datetime64[ns]",
                    "timestamp_ntz": "datetime64[ns]", "string": "object"}


def _engine(frame: Any) -> str:
    engine = engine_of(frame)
    if engine is None:
        raise TypeError(f"not a DataFrame of a known engine: {type(frame)!r}")
    return engine


def dtype_of(frame: Any, col: Hashable) -> np.dtype[Any] | Any:
    """The column's pandas dtype (Spark: the pandas dtype its Spark type arrives as;
    decimals count as float)."""
    if _engine(frame) == SPARK:
        name = frame.schema[str(col)].dataType.typeName()
        if name == "decimal":
            return np.dtype("float64")
        return np.dtype(_SPARK_TO_PANDAS.get(name, "object"))
    return frame.dtypes[col]


def select(frame: Any, cols: Sequence[Hashable]) -> Any:
    """The frame with the columns ``cols`` only (in that order, each once)."""
    cols = list(dict.fromkeys(cols))
    if _engine(frame) == SPARK:
        from pyspark.sql import functions as F

        return frame.select(*[F.col(f"`{c}`") for c in cols])
    return frame[cols]


def dropna(frame: Any, cols: Sequence[Hashable]) -> Any:
    """The rows with no missing value (null or NaN) in ``cols``."""
    if not cols:
        return frame
    if _engine(frame) == SPARK:
        return frame.dropna(subset=[str(c) for c in cols])
    return frame.dropna(subset=list(cols))


def distinct(frame: Any, col: Hashable) -> pd.Series:
    """The distinct values of a column (missing values left out), in no set order."""
    engine = _engine(frame)
    if engine == PANDAS:
        values = frame[col].dropna().drop_duplicates()
    elif engine == DASK:
        values = collect(frame[[col]].dropna().drop_duplicates())[col]
    else:
        part = select(frame, [col]).dropna().distinct()
        values = collect(part)[str(col)]
    return values.reset_index(drop=True)


def with_position(frame: Any) -> Any:
    """The frame with a column :data:`POSITION` that increases with the row order
    (partition by partition, row by row); not consecutive on Spark."""
    engine = _engine(frame)
    if engine == PANDAS:
        return frame.assign(**{POSITION: np.arange(len(frame), dtype=np.int64)})
    if engine == DASK:
        ones = frame.assign(**{POSITION: 1})[POSITION].astype("int64")
        return frame.assign(**{POSITION: ones.cumsum()})
    from pyspark.sql import functions as F

    return frame.withColumn(POSITION, F.monotonically_increasing_id())


def first_positions(frame: Any, key: Hashable) -> pd.Series:
    """Each key's first :data:`POSITION` (the frame from :func:`with_position`), indexed
    by the key's values; sorting by it gives the keys in order of first appearance (as
    ``pd.factorize``)."""
    engine = _engine(frame)
    if engine == PANDAS:
        out = frame.groupby(key, sort=False)[POSITION].min()
    elif engine == DASK:
        out = frame[[key, POSITION]].groupby(key)[POSITION].min().compute()
    else:
        from pyspark.sql import functions as F

        part = frame.groupBy(F.col(f"`{key}`")).agg(F.min(POSITION).alias(POSITION))
        pdf = collect(part)
        out = pdf.set_index(str(key))[POSITION]
    return out.sort_values(kind="stable")


def min_max(frame: Any, col: Hashable) -> tuple[float, float]:
    """The smallest and largest value of a numeric column (missing values left out)."""
    engine = _engine(frame)
    if engine == PANDAS:
        s = frame[col]
        return float(s.min()), float(s.max())
    if engine == DASK:
        import dask

        lo, hi = dask.compute(frame[col].min(), frame[col].max())
        return float(lo), float(hi)
    from pyspark.sql import functions as F

    row = frame.agg(F.min(F.col(f"`{col}`")), F.max(F.col(f"`{col}`"))).collect()[0]
    return float(row[0]), float(row[1])
