"""The allocation table as CSV text and back, exactly (private to ``design``).

* Id and cluster columns keep their type: the dtype is recorded in the audit log
  (:func:`column_dtype`, checked when :func:`~dwp_eval.randomise` is called, so an
  id type that could not be read back is refused up front) and restored on
  reading (:func:`restore`): int, unsigned int (above 2**63 too), integral float,
  nullable Int64, text, pandas ``string``, datetime (naive or with a time zone)
  and categoricals of these.
* Text cells are escaped against spreadsheet formula injection (OWASP, "CSV
  Injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is written with a leading ``'``, as is a cell that already starts with
  ``'`` (so the escape is unambiguous), and :func:`unescape` restores it exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import ColumnError

__all__ = ["FORMULA_ESCAPE", "column_dtype", "escape", "restore", "table_to_csv", "unescape"]

FORMULA_ESCAPE = "'"
_RISKY = ("=", "+", "-", "@", "\t", "\r", FORMULA_ESCAPE)
TEXT_COLUMNS = ("arm", "stratum")


def escape(values: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``."""
    text = values.astype(object)
    return text.map(lambda v: FORMULA_ESCAPE + v if isinstance(v, str) and v.startswith(_RISKY) else v)


def unescape(values: pd.Series) -> pd.Series:
    """The inverse of :func:`escape` on text read back from the file."""
    return values.map(lambda v: v[1:] if isinstance(v, str) and v.startswith(FORMULA_ESCAPE) else v)


def _inner_kind(dtype: Any) -> str | None:
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_object_dtype(dtype):
        return "object"
    return None


def column_dtype(values: pd.Series, *, role: str, func: str) -> dict[str, Any]:
    """The record of an id (or cluster) column's dtype, or a ``ColumnError`` if the
    values could not be written to CSV and read back the same."""
    dtype = values.dtype
    categories = None
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories.dtype
        kind = _inner_kind(categories)
    else:
        kind = _inner_kind(dtype)
    if kind == "object":
        inner = values.astype(object) if categories is None else pd.Series(values.cat.categories)
        odd = [v for v in inner.tolist() if not isinstance(v, str)]
        if odd:
            raise ColumnError(
                f"{func}: column {values.name!r} ({role}) holds values of mixed types such as "
                f"{odd[0]!r} ({type(odd[0]).__name__}) among text, which would not read back "
                "as they were. Fix: convert the column to one type first, e.g. "
                "data[col].astype(str) or data[col].astype('int64')."
            )
    if kind is None:
        raise ColumnError(
            f"{func}: column {values.name!r} ({role}) has dtype {dtype}, which an allocation "
            "file cannot store exactly. Fix: use integer, text or datetime ids (or a "
            "categorical of them)."
        )
    rec: dict[str, Any] = {"dtype": str(dtype if categories is None else categories)}
    if categories is not None:
        rec["categorical"] = True
    return rec


def _from_text(text: pd.Series, dtype_name: str) -> pd.Series:
    dtype = pd.api.types.pandas_dtype(dtype_name)
    if isinstance(dtype, pd.StringDtype):
        return text.astype(dtype)
    if pd.api.types.is_integer_dtype(dtype):
        ints = [int(v) for v in text.tolist()]
        if isinstance(dtype, np.dtype):
            return pd.Series(np.asarray(ints, dtype=dtype), index=text.index)
        return pd.Series(pd.array(ints, dtype=dtype), index=text.index)
    if pd.api.types.is_float_dtype(dtype):
        return text.astype(dtype)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.to_datetime(text, utc=True, format="ISO8601").dt.tz_convert(dtype.tz).astype(dtype)
    if pd.api.types.is_datetime64_dtype(dtype):
        return pd.to_datetime(text, format="ISO8601").astype(dtype)
    return text.astype(object)


def restore(text: pd.Series, rec: Mapping[str, Any]) -> pd.Series:
    """Column values of the recorded dtype from their (unescaped) text; raises
    ``ValueError``/``TypeError`` when a cell is not a value of that type."""
    out = _from_text(text, str(rec["dtype"]))
    if rec.get("categorical"):
        out = out.astype("category")
    return out.rename(text.name)


def table_to_csv(table: pd.DataFrame, text_columns: list[str]) -> bytes:
    """The allocation table as UTF-8 CSV with ``\\n`` line ends, text cells escaped."""
    out = table.copy()
    for col in text_columns:
        if col in out.columns and not (
            pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_datetime64_any_dtype(out[col])
        ):
            out[col] = escape(out[col])
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            # ISO 8601 with the UTC offset: read back exactly, whatever the time zone
            out[col] = out[col].map(lambda t: t.isoformat(), na_action="ignore")
        elif isinstance(out[col].dtype, pd.CategoricalDtype) and pd.api.types.is_datetime64_any_dtype(
            out[col].cat.categories
        ):
            out[col] = out[col].astype(object).map(lambda t: t.isoformat(), na_action="ignore")
    # a carriage return inside a cell is not quoted by the csv writer when lines end
    # with "\n", but a reader takes it for a line end: quote every text cell then
    has_cr = any(
        out[c].astype(object).map(lambda v: isinstance(v, str) and "\r" in v).any()
        for c in out.columns
        if not pd.api.types.is_numeric_dtype(out[c])
    )
    buf = io.StringIO()
    out.to_csv(
        buf, index=False, lineterminator="\n",
        quoting=csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL,
    )
    return buf.getvalue().encode("utf-8")
