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

__all__ = [
    "FORMULA_ESCAPE", "column_dtype", "escape", "is_text", "restore", "table_to_csv", "unescape",
]

FORMULA_ESCAPE = "'"
_RISKY = ("=", "+", "-", "@", "\t", "\r", FORMULA_ESCAPE)
TEXT_COLUMNS = ("arm", "stratum")


def _escape_text(values: pd.Series) -> pd.Series:
    text = values.astype(object)
    is_text = text.map(type).to_numpy() == str  # noqa: E721 - exact str, not subclasses
    risky = np.zeros(len(text), dtype=bool)
    if is_text.any():
        risky[is_text] = text[is_text].astype(str).str.startswith(_RISKY).to_numpy(dtype=bool)
    if not risky.any():
        return values
    out = text.copy()
    out[risky] = FORMULA_ESCAPE + text[risky].astype(str)
    return out


def escape(values: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``
    (a categorical column escapes its categories: the same map, done once)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.Series(values.cat.categories.astype(object))
        escaped = _escape_text(cats)
        if escaped is cats:
            return values
        return values.cat.rename_categories(escaped.tolist())
    return _escape_text(values)


def unescape(values: pd.Series) -> pd.Series:
    """The inverse of :func:`escape` on text read back from the file (each distinct
    value once)."""
    codes, uniques = pd.factorize(values.astype(object))
    plain = [v[1:] if isinstance(v, str) and v.startswith(FORMULA_ESCAPE) else v for v in uniques]
    if all(a is b for a, b in zip(plain, uniques, strict=True)):
        return values
    return pd.Series(np.asarray(plain, dtype=object)[codes], index=values.index, name=values.name)


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
        np_dtype = dtype if isinstance(dtype, np.dtype) else dtype.numpy_dtype
        ints = text.to_numpy(dtype=str).astype(np_dtype)  # exact, also above 2**63
        if isinstance(dtype, np.dtype):
            return pd.Series(ints, index=text.index)
        return pd.Series(pd.array(ints, dtype=dtype), index=text.index)
    if pd.api.types.is_float_dtype(dtype):
        return text.astype(dtype)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.to_datetime(text, utc=True, format="ISO8601").dt.tz_convert(dtype.tz).astype(dtype)
    if pd.api.types.is_datetime64_dtype(dtype):
        return pd.to_datetime(text, format="ISO8601").astype(dtype)
    return text.astype(object)


def is_text(rec: Mapping[str, Any]) -> bool:
    """Whether a recorded column dtype holds text (the only cells ever escaped)."""
    dtype = pd.api.types.pandas_dtype(str(rec["dtype"]))
    return isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)


def restore(text: pd.Series, rec: Mapping[str, Any]) -> pd.Series:
    """Column values of the recorded dtype from their (unescaped) text; raises
    ``ValueError``/``TypeError`` when a cell is not a value of that type."""
    out = _from_text(text, str(rec["dtype"]))
    if rec.get("categorical"):
        out = out.astype("category")
    return out.rename(text.name)


def _has_cr(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(values.cat.categories)
    return bool(values.astype(str).str.contains("\r", regex=False).any())


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
    has_cr = any(_has_cr(out[c]) for c in out.columns if not pd.api.types.is_numeric_dtype(out[c]))
    buf = io.StringIO()
    out.to_csv(
        buf, index=False, lineterminator="\n",
        quoting=csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL,
    )
    return buf.getvalue().encode("utf-8")
