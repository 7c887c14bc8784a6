"""Dates and record helpers shared by every reader of administrative records
(outcomes from monthly records, take-up and contamination flags, the synthetic
admin data): date columns parsed once with one message shape, calendar day and
month numbers, calendar arithmetic, and example ids for problem reports.

Days are ``int64`` days since 1970-01-01 and months ``int64`` months since
January 1970, so that every rule is integer arithmetic on arrays.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list
from dwp_eval.errors import ColumnError, MissingDataError, OptionError

__all__ = [
    "add_months",
    "date_text",
    "day_numbers",
    "example_ids",
    "month_numbers",
    "month_of",
    "month_start",
    "no_missing",
    "parse_dates",
    "scalar_date",
]

# numpy's calendar conversions (days <-> months) are slow on large arrays; over a
# limited range of values a small lookup table gives the same answer much faster.
_TABLE_MIN_SIZE = 50_000
_TABLE_MAX_SPAN = 400_000


def parse_dates(data: pd.DataFrame, column: Hashable, *, role: str, func: str, param: str) -> pd.Series:
    """The column as naive ``datetime64`` (missing values stay NaT).

    Dates, time-zone aware dates (made naive), Periods (their first day) and ISO
    text (``YYYY-MM-DD``) are read; numbers, or text that is not an ISO date,
    raise :class:`ColumnError` naming the column, an example and the fix.
    """
    s = data[column]
    if len(s) == 0:
        return pd.Series(pd.to_datetime([]), index=s.index, name=s.name)
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.start_time
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        raise ColumnError(
            f"{func}: column {column!r} ({role}) of {param} must hold dates. Got dtype {s.dtype} "
            f"instead. Fix: convert it, e.g. pd.to_datetime({param}[{column!r}])."
        )
    parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy() & s.notna().to_numpy()
    if bad.any():
        example = s[bad].iloc[0]
        raise ColumnError(
            f"{func}: column {column!r} ({role}) of {param} has {int(bad.sum()):,} value(s) that "
            f"are not dates in ISO format (YYYY-MM-DD), e.g. {example!r}. Fix: convert the column "
            f"with pd.to_datetime({param}[{column!r}], format=...) giving its format "
            f"(e.g. '%d/%m/%Y')."
        )
    return parsed


def day_numbers(dates: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Calendar days since 1970-01-01 (``int64``; times of day dropped) of a parsed
    date column (:func:`parse_dates`), and a mask of the missing dates."""
    if len(dates) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    values = dates.to_numpy()
    missing = np.isnat(values)
    days = values.astype("datetime64[D]").view(np.int64)
    return days, missing


def month_numbers(
    data: pd.DataFrame, column: Hashable, *, role: str, func: str, param: str
) -> tuple[np.ndarray, np.ndarray]:
    """Months since January 1970 (``int64``) of a column of dates or monthly Periods,
    and a missing mask (missing months are 0 in the first array)."""
    s = data[column]
    if isinstance(s.dtype, pd.PeriodDtype) and getattr(s.array, "freqstr", None) == "M":
        ordinals = np.asarray(s.array.asi8, dtype=np.int64)
        missing = np.asarray(s.isna().to_numpy(), dtype=bool)
        return np.where(missing, 0, ordinals), missing
    days, missing = day_numbers(parse_dates(data, column, role=role, func=func, param=param))
    if missing.any():
        days = np.where(missing, 0, days)
    return _by_table(days, _month_of_direct, inplace=True), missing


def no_missing(
    missing: np.ndarray,
    data: pd.DataFrame,
    column: Hashable,
    *,
    role: str,
    func: str,
    param: str,
    noun: str = "value(s)",
    fix: str | None = None,
) -> None:
    """Raise :class:`MissingDataError` when ``missing`` (a mask over the rows of
    ``data``) holds any row, naming the column, the count, the first rows and the fix."""
    n_missing = int(missing.sum())
    if n_missing:
        first = data.index[missing][:5].tolist()
        how = fix if fix is not None else f"remove those rows or fill them in before calling {func}."
        raise MissingDataError(
            f"{func}: column {column!r} ({role}) of {param} has {n_missing:,} missing {noun} "
            f"(first at rows {_fmt_list(first, 5)}). Fix: {how}"
        )


def _month_of_direct(day: np.ndarray) -> np.ndarray:
    return (
        np.asarray(day, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .view(np.int64)
    )


def _month_start_direct(month: np.ndarray) -> np.ndarray:
    return (
        np.asarray(month, dtype=np.int64)
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .view(np.int64)
    )


def _by_table(values: np.ndarray, direct: Any, *, inplace: bool = False) -> np.ndarray:
    """``direct(values)`` through a lookup table over the range of ``values``.

    With ``inplace=True`` the result overwrites ``values`` (an int64 array the
    caller owns), which saves allocating another large array.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size < _TABLE_MIN_SIZE:
        return np.asarray(direct(values), dtype=np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > _TABLE_MAX_SPAN:
        return np.asarray(direct(values), dtype=np.int64)
    table = np.asarray(direct(np.arange(lo, hi + 1, dtype=np.int64)), dtype=np.int64)
    if inplace:
        np.subtract(values, lo, out=values)
        np.take(table, values, out=values, mode="clip")
        return values
    return table[values - lo]


def month_of(day: np.ndarray) -> np.ndarray:
    """Months since January 1970 of day numbers."""
    return _by_table(day, _month_of_direct)


def month_start(month: np.ndarray) -> np.ndarray:
    """Day number of the first day of months (months since January 1970)."""
    return _by_table(month, _month_start_direct)


def add_months(day: np.ndarray, months: int) -> np.ndarray:
    """Day numbers ``months`` calendar months after ``day`` (day of month clipped to the
    month's last day), the same as ``pandas.DateOffset(months=months)``."""
    day = np.asarray(day, dtype=np.int64)
    month = month_of(day)
    start = month_start(month)
    target = month + int(months)
    t_start = month_start(target)
    length = month_start(target + 1) - t_start
    return t_start + np.minimum(day - start, length - 1)


def date_text(day: int | np.integer) -> str:
    """A day number as ``YYYY-MM-DD``."""
    return str(np.datetime64(int(day), "D"))


def scalar_date(value: Any, *, param: str, func: str, example: str = "2019-03-31", none: bool = False) -> int:
    """A date-like option as a day number; anything else raises :class:`OptionError`
    (``none``: the message says ``None`` is also accepted, which the caller handles)."""
    bad = isinstance(value, (bool, int, float, np.number)) or value is None
    ts: Any = pd.NaT
    if not bad:
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError):
            bad = True
    if bad or ts is pd.NaT:
        how = f"(e.g. '{example}') or None" if none else f"(e.g. '{example}' or pd.Timestamp('{example}'))"
        raise OptionError(
            f"The '{param}' parameter of {func} must be a date {how}. Got {value!r} instead."
        )
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


def example_ids(values: Iterable[Any], limit: int = 3) -> tuple[Any, ...]:
    """The smallest ``limit`` distinct values (by text when they do not compare), as
    plain Python values, for naming examples in problem reports."""
    uniq = pd.unique(pd.Series(list(values), dtype=object))
    try:
        ordered = sorted(uniq)
    except TypeError:
        ordered = sorted(uniq, key=str)
    return tuple(v.item() if isinstance(v, np.generic) else v for v in ordered[:limit])
