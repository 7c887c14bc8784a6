"""What the person-local functions share on Dask and Spark (``derive_outcomes``, ``take_up``,
``flag_contamination``): tables of one engine, empty pandas stand-ins of engine frames (the
pandas rules run on them check the columns and options with their own messages and give the
result's columns), kernel rows in plain dtypes, and duplicated ids found per partition and
reported once on the driver.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import pandas as pd

from dwp_eval._core.engines.base import DASK, engine_of
from dwp_eval._core.engines.ops import _dtype, columns
from dwp_eval._validation import check_unique
from dwp_eval.errors import OptionError

__all__ = [
    "check_same_engine",
    "duplicated_ids",
    "plain",
    "raise_duplicated",
    "stand_in",
]

_FIX = {DASK: "dask.dataframe.from_pandas(frame, npartitions=...)",
        "spark": "spark.createDataFrame(frame)"}


def check_same_engine(engine: str, frames: Mapping[str, Any], *, func: str) -> None:
    """Raise :class:`OptionError` naming a table (``param -> frame``; ``None``: not given)
    that is not a frame of ``engine``, as ``people`` is."""
    for param, frame in frames.items():
        if frame is None or engine_of(frame) == engine:
            continue
        raise OptionError(
            f"The '{param}' parameter of {func} must be a {engine.capitalize()} DataFrame, as "
            f"people is (the rows of every table are brought together by person id on one "
            f"engine). Got {type(frame).__module__}.{type(frame).__qualname__} instead. Fix: "
            f"convert it, e.g. {_FIX[engine]}, or pass pandas DataFrames throughout."
        )


def stand_in(frame: Any) -> pd.DataFrame:
    """An empty pandas frame with the engine frame's columns and (pandas) dtypes."""
    if engine_of(frame) == DASK:
        return frame._meta.iloc[:0].copy()
    # a Spark integer or boolean column may hold nulls: its pandas dtype is the nullable one
    # (a partition without nulls arrives as int64 or bool, and is cast to it)
    nullable = {"int64": "Int64", "bool": "boolean"}
    dtypes = {}
    for c in columns(frame):
        dtype = _dtype(frame, c)
        if frame.schema[str(c)].nullable:
            dtype = nullable.get(str(dtype), dtype)
        dtypes[c] = dtype
    return pd.DataFrame({c: pd.Series([], dtype=dtype) for c, dtype in dtypes.items()})


def plain(rows: pd.DataFrame, meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """A kernel's rows as an engine stores them: categoricals as text (``None`` where
    missing; the categories differ between partitions), datetimes in nanoseconds, and
    with ``meta``, its columns and dtypes; a fresh index."""
    out = rows.reset_index(drop=True)
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_datetime64_any_dtype(s) and str(s.dtype) != "datetime64[ns]":
            out[c] = s.astype("datetime64[ns]")
    if meta is not None:
        out = out[list(meta.columns)].astype(dict(meta.dtypes))
    return out


def duplicated_ids(table: pd.DataFrame, id: Hashable) -> list[Any]:
    """The values of ``table[id]`` that appear more than once (a partition's rows of
    ``people``: all rows of one id reach one partition)."""
    s = table[id]
    dup = s.duplicated(keep=False).to_numpy()
    if not dup.any():
        return []
    return [v.item() if hasattr(v, "item") else v for v in pd.unique(s[dup])]


def raise_duplicated(values: Iterable[Any], id: Hashable, *, role: str, func: str) -> None:
    """Raise the error of a duplicated ``id`` (as for a pandas frame) for the duplicated
    values found in every partition (none: nothing is raised)."""
    found = list(values)
    if not found:
        return
    try:
        found = sorted(found)
    except TypeError:
        found = sorted(found, key=str)
    check_unique(pd.DataFrame({id: found + found}), id, role=role, func=func)
