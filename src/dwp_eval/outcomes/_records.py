"""The employment records and benefit spells of :func:`derive_outcomes`, read and checked:
their columns, dates, amounts and weeks, duplicated person-months, and the row of
``people`` that each record belongs to."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._core.records import date_text, month_numbers, month_start
from dwp_eval._validation import check_data
from dwp_eval.errors import ColumnError, OptionError
from dwp_eval.outcomes._inputs import (
    _FUNC,
    _dates,
    _day_numbers,
    _need,
    _no_missing,
    _no_missing_ids,
    _plain,
)

# weeks_employed may exceed the weeks in its month by this much (rounding, e.g.
# 4.43 for a 31-day month of 4.4286 weeks).
_WEEKS_SLACK = 0.01


class _Employment(NamedTuple):
    """Monthly employment records as arrays over their rows."""

    table: pd.DataFrame
    month_col: Hashable
    month: np.ndarray  # months since January 1970
    earnings: np.ndarray
    weeks: np.ndarray | None  # None: weeks in work are read from earnings > 0


class _Spells(NamedTuple):
    """Benefit spells as arrays over their rows (days since 1970-01-01)."""

    table: pd.DataFrame
    start: np.ndarray
    stop: np.ndarray  # the last day of the spell (meaningless where ``open``)
    open: np.ndarray  # no end date: the spell is still open


def _record_table(
    data: Any,
    id: Hashable,
    columns: Mapping[str, Hashable | None],
    *,
    param: str,
    what: str,
    columns_param: str,
    require_names: bool,
    func: str = _FUNC,
) -> pd.DataFrame:
    """``data`` checked as a DataFrame of records (it may be empty) with the id column and
    the column of each role in ``columns``; with ``require_names``, a role given no column
    (None) raises :class:`OptionError` naming ``columns_param``."""
    table = check_data(data, func=func, param=param, allow_empty=True)
    _need(
        table, id, role="id", param=param, fix=f"name the id column of the {what} as in people",
        func=func,
    )
    for role, column in columns.items():
        if require_names and column is None:
            raise OptionError(
                f"The '{columns_param}' parameter of {func} must name a column for "
                f"{role!r}. Got None instead."
            )
        _need(
            table, column, role=role, param=param, fix=_column_fix(columns_param, role), func=func
        )
    return table


def _column_fix(columns_param: str, role: str) -> str:
    return f"pass its name in {columns_param}={{{role!r}: ...}}"


def _employment(
    employment: Any,
    id: Hashable,
    roles: Mapping[str, Hashable | None],
    *,
    explicit_weeks: bool,
    func: str = _FUNC,
) -> _Employment:
    """The checked employment records. A ``weeks_employed`` column that is absent is
    ignored unless it was named explicitly (``explicit_weeks``)."""
    month_col, earn_col = roles["month"], roles["earnings"]
    emp = _record_table(
        employment,
        id,
        {"month": month_col, "earnings": earn_col},
        param="employment",
        what="records",
        columns_param="employment_columns",
        require_names=True,
        func=func,
    )
    weeks_col = roles["weeks_employed"]
    if weeks_col is not None and weeks_col not in emp.columns:
        if explicit_weeks:
            _need(
                emp,
                weeks_col,
                role="weeks_employed",
                param="employment",
                fix=_column_fix("employment_columns", "weeks_employed"),
                func=func,
            )
        weeks_col = None
    _no_missing_ids(emp, id, param="employment", func=func)
    month, month_missing = month_numbers(emp, month_col, role="month", func=func, param="employment")
    _no_missing(emp, month_missing, month_col, role="month", param="employment", func=func)
    earnings = _amounts(emp, earn_col, role="earnings", func=func)
    weeks: np.ndarray | None = None
    if weeks_col is not None:
        weeks = _amounts(emp, weeks_col, role="weeks_employed", func=func)
        _check_weeks(weeks, month, weeks_col, func=func)
    return _Employment(emp, month_col, month, earnings, weeks)


def _amounts(emp: pd.DataFrame, column: Hashable, *, role: str, func: str = _FUNC) -> np.ndarray:
    """A non-negative, finite, complete numeric column of ``employment`` as float64."""
    s = emp[column]
    if len(s) == 0:
        return np.zeros(0)
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise ColumnError(
            f"{func}: column {column!r} ({role}) of employment must hold numbers. Got dtype "
            f"{s.dtype} instead. Fix: convert it, e.g. pd.to_numeric(employment[{column!r}])."
        )
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~(values >= 0)  # NaN or negative
    if bad.any():
        _no_missing(emp, np.isnan(values), column, role=role, param="employment", func=func)
    bad |= values == np.inf
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        fix = (
            "net corrections and refunds into the month they correct (a month's earnings "
            "cannot be below zero), or set them to 0"
            if role == "earnings"
            else "correct those values (weeks in work that month, from 0)"
        )
        raise ColumnError(
            f"{func}: column {column!r} ({role}) of employment has {int(bad.sum()):,} negative "
            f"or infinite value(s) (e.g. {values[i]:g} at row {_plain(emp.index[i])!r}). "
            f"Fix: {fix}."
        )
    return values


def _check_weeks(
    weeks: np.ndarray, month: np.ndarray, weeks_col: Hashable, *, func: str = _FUNC
) -> None:
    """Raise ColumnError if a month's ``weeks_employed`` exceeds the weeks in the month."""
    # only values above the weeks of the shortest month need the month's length
    over = np.zeros(len(weeks), dtype=bool)
    maybe = np.flatnonzero(weeks > 28 / 7 + _WEEKS_SLACK)
    cap = np.zeros(len(weeks))
    if maybe.size:
        cap[maybe] = (
            month_start(month[maybe] + 1) - month_start(month[maybe])
        ) / 7.0 + _WEEKS_SLACK
        over[maybe] = weeks[maybe] > cap[maybe]
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ColumnError(
            f"{func}: column {weeks_col!r} (weeks_employed) of employment has "
            f"{int(over.sum()):,} value(s) above the weeks in their month (e.g. "
            f"{weeks[i]:g} in {np.datetime64(int(month[i]), 'M')!s}, which has "
            f"{cap[i] - _WEEKS_SLACK:.4g} weeks). Fix: cap weeks_employed at the month's "
            f"days / 7, or aggregate duplicated jobs with a cap."
        )


def _benefit_spells(
    benefits: Any, id: Hashable, roles: Mapping[str, Hashable | None], *, func: str = _FUNC
) -> _Spells:
    """The checked benefit spells: complete starts, ends not before their starts."""
    start_col, stop_col = roles["start"], roles["end"]
    ben = _record_table(
        benefits,
        id,
        {"start": start_col, "end": stop_col},
        param="benefits",
        what="spells",
        columns_param="benefit_columns",
        require_names=False,
        func=func,
    )
    _no_missing_ids(ben, id, param="benefits", func=func)
    start = _dates(ben, start_col, role="start", param="benefits", func=func)
    stop, still_open = _day_numbers(ben, stop_col, role="end", param="benefits", func=func)
    backwards = ~still_open & (stop < start)
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0])
        raise ColumnError(
            f"{func}: benefits has {int(backwards.sum()):,} spell(s) whose {stop_col!r} (end) "
            f"is before their {start_col!r} (start), e.g. row {_plain(ben.index[i])!r}: "
            f"{date_text(start[i])} to {date_text(stop[i])}. Fix: correct or swap those "
            f"dates (a missing end means the spell is still open)."
        )
    return _Spells(ben, start, stop, still_open)


def _positions(people_ids: pd.Series, record_ids: pd.Series) -> np.ndarray:
    """Row in ``people`` of each record's id (-1: not a person in ``people``)."""
    if len(record_ids) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(people_ids) == 0:
        return np.full(len(record_ids), -1, dtype=np.int64)
    int_ids = pd.api.types.is_integer_dtype(people_ids) and pd.api.types.is_integer_dtype(
        record_ids
    )
    if int_ids and not record_ids.isna().any():
        pid = people_ids.to_numpy(dtype=np.int64)
        rid = record_ids.to_numpy(dtype=np.int64)
        lo, hi = int(pid.min()), int(pid.max())
        if hi - lo <= 8 * len(pid) + 1_000_000:
            # direct lookup table (linear time, no hashing), with a -1 sentinel at
            # each end for ids below or above the range
            table = np.full(hi - lo + 3, -1, dtype=np.int64)
            table[pid - lo + 1] = np.arange(len(pid), dtype=np.int64)
            idx = rid - (lo - 1)
            np.clip(idx, 0, hi - lo + 2, out=idx)
            return table[idx]
    return np.asarray(pd.Index(people_ids).get_indexer(record_ids), dtype=np.int64)


def _check_duplicates(
    emp: _Employment, id: Hashable, pos: np.ndarray, known: np.ndarray, people_ids: pd.Series,
    *, func: str = _FUNC,
) -> None:
    """Raise ColumnError if a person in ``people`` has two records for one month
    (``pos``: each record's row in ``people``; ``known``: ``pos >= 0``)."""
    if not known.any():
        return
    month = emp.month
    if not known.all():
        pos, month = pos[known], month[known]
    lo = int(month.min())
    span = int(month.max()) - lo + 1
    key = pos * span
    key += month
    key -= lo
    if key.size < 2 or bool(np.all(key[1:] > key[:-1])):
        return  # sorted by person then month without repeats: the usual layout
    key.sort()
    same = key[1:] == key[:-1]
    if not same.any():
        return
    n_rows = int(same.sum())  # records beyond the first of their person-month
    repeated = key[1:][same]
    n_cells = int(np.count_nonzero(np.diff(repeated)) + 1)
    first = int(repeated[0])
    who = _plain(people_ids.iloc[first // span])
    when = str(np.datetime64(first % span + lo, "M"))
    raise ColumnError(
        f"{func}: employment has {n_rows:,} duplicated person-month record(s): "
        f"{n_cells:,} person-month(s) appear more than once (e.g. id {who!r} in {when}). "
        f"Fix: aggregate to one row per person and month first, e.g. "
        f"employment.groupby([{id!r}, employment[{emp.month_col!r}].dt.to_period('M')]).sum() "
        f"(and cap weeks_employed at the weeks in the month)."
    )
