"""Month-by-month outcomes after randomisation, from monthly employment records.

:func:`monthly_outcomes` turns RTI-like monthly records (one row per person and
month paid) into one row per person with, for each month ``k = 1, ..., K``
after the month of randomisation, whether the person was in paid work that
month and what they earned: the data behind the month-by-month impact profile
(:func:`dwp_eval.impact_profile`) that DWP impact assessments chart.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._core.records import (
    date_text,
    day_numbers,
    month_numbers,
    month_of,
    month_start,
    no_missing,
    parse_dates,
    scalar_date,
)
from dwp_eval._validation import _fmt_list, check_columns, check_data, check_unique
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError

__all__ = ["MonthlyRecords", "monthly_outcomes", "monthly_records"]

_FUNC = "monthly_outcomes"


class MonthlyRecords(NamedTuple):
    """Each person's month-by-month employment and earnings (arrays ``n x K``)."""

    employed: np.ndarray  # 0/1, NaN where the month is after the records end
    earnings: np.ndarray  # pounds, NaN where the month is after the records end
    first_month: np.ndarray  # the calendar month of randomisation (months since 1970-01)
    data_end: int  # the last day the records are complete for (day number)
    weeks_from: str  # "weeks_employed" or "earnings > 0"


def _data_end(value: Any, month: np.ndarray, *, func: str) -> int:
    """``data_end`` as the last day of the last complete month; by default the last day of
    the latest month in the records."""
    if value is None:
        if len(month) == 0:
            raise OptionError(
                f"The 'data_end' parameter of {func} is needed when employment is empty. "
                "Fix: pass data_end= with the last day the records are complete for."
            )
        return int(month_start(np.array([int(month.max()) + 1]))[0]) - 1
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", value):
        m = int(np.datetime64(value.strip().zfill(7), "M").astype(np.int64))
        return int(month_start(np.array([m + 1]))[0]) - 1
    if isinstance(value, pd.Period) and value.freqstr == "M":
        return int(month_start(np.array([int(value.ordinal) + 1]))[0]) - 1
    day = scalar_date(value, param="data_end", func=func)
    # a month counts only when the records cover its last day
    m = int(month_of(np.array([day + 1]))[0])
    return int(month_start(np.array([m]))[0]) - 1


def monthly_records(
    people: pd.DataFrame,
    *,
    employment: pd.DataFrame,
    id: Hashable = "id",
    randomised: Hashable = "randomised_on",
    months: int = 12,
    data_end: str | _dt.date | np.datetime64 | None = None,
    employment_columns: Mapping[str, Hashable | None] | None = None,
    func: str = _FUNC,
) -> MonthlyRecords:
    """The arrays behind :func:`monthly_outcomes` (checked inputs, no frame)."""
    people = check_data(people, func=func, param="people")
    if isinstance(months, bool) or not isinstance(months, int | np.integer) or int(months) < 1:
        raise OptionError(
            f"The 'months' parameter of {func} must be a positive int (months after the month "
            f"of randomisation). Got {months!r} instead."
        )
    n_months = int(months)
    roles: dict[str, Hashable | None] = {
        "month": "month", "earnings": "earnings", "weeks_employed": "weeks_employed"}
    if employment_columns is not None:
        unknown = sorted(set(map(str, employment_columns)) - set(roles))
        if unknown:
            raise OptionError(
                f"The 'employment_columns' parameter of {func} has unknown role(s) "
                f"{_fmt_list(unknown)}; the roles are {_fmt_list(list(roles))}."
            )
        roles.update(employment_columns)
    check_columns(people, [id, randomised], role="id / randomised", func=func, param="people")
    no_missing(people[id].isna().to_numpy(), people, id, role="id", func=func, param="people")
    check_unique(people, id, role="id", func=func)
    r_day, r_missing = day_numbers(parse_dates(people, randomised, role="randomised", func=func,
                                               param="people"))
    no_missing(r_missing, people, randomised, role="randomised", func=func, param="people")
    emp = check_data(employment, func=func, param="employment", allow_empty=True)
    month_col, earn_col, weeks_col = roles["month"], roles["earnings"], roles["weeks_employed"]
    check_columns(emp, [id, month_col, earn_col], role="id / month / earnings", func=func,
                  param="employment")
    if weeks_col is not None and weeks_col not in emp.columns:
        weeks_col = None
    no_missing(emp[id].isna().to_numpy(), emp, id, role="id", func=func, param="employment")
    month, m_missing = month_numbers(emp, month_col, role="month", func=func, param="employment")
    no_missing(m_missing, emp, month_col, role="month", func=func, param="employment")
    earnings = _amounts(emp, earn_col, role="earnings", func=func)
    weeks = None if weeks_col is None else _amounts(emp, weeks_col, role="weeks_employed",
                                                     func=func)
    end_day = _data_end(data_end, month, func=func)
    end_month = int(month_of(np.array([end_day]))[0])

    # each record's person
    pos = pd.Index(people[id]).get_indexer(emp[id])
    unknown_ids = pos < 0
    if unknown_ids.any():
        examples = pd.unique(emp.loc[unknown_ids, id])[:3]
        raise MissingDataError(
            f"{func}: {int(unknown_ids.sum()):,} employment record(s) name ids that are not in "
            f"people's column {id!r} (e.g. {_fmt_list(examples, 3)}). Fix: link the records to "
            "the trial's participants first (keep only their ids), or add the missing people."
        )
    first = month_of(r_day)
    if int(first.min()) > end_month - 1:
        raise DesignError(
            f"{func}: the records end {date_text(end_day)}, before anyone's first month after "
            f"randomisation (the earliest randomisation is {date_text(int(r_day.min()))}). "
            "Fix: pass data_end= if the records are complete to a later date."
        )
    k = month - first[pos]  # month after randomisation of each record (0: the month itself)
    keep = (k >= 1) & (k <= n_months) & (month <= end_month)
    p, kk = pos[keep], k[keep] - 1
    cell = p * n_months + kk
    n = len(people)
    per_cell = np.bincount(cell, minlength=n * n_months)
    if (per_cell > 1).any():
        dup = int(np.flatnonzero(per_cell[cell] > 1)[0])
        row = np.flatnonzero(keep)[dup]
        who = emp[id].iloc[row]
        who = who.item() if isinstance(who, np.generic) else who
        raise ColumnError(
            f"{func}: employment has more than one record for a person and month, e.g. id "
            f"{who!r} in {emp[month_col].iloc[row]!r}. Fix: add up each person's "
            "records within a month first (one row per person and month)."
        )
    y = np.zeros(n * n_months)
    y[cell] = earnings[keep]
    worked = np.zeros(n * n_months)
    worked[cell] = (weeks[keep] if weeks is not None else earnings[keep]) > 0
    covered = (first[:, None] + np.arange(1, n_months + 1)[None, :]) <= end_month
    emp_m = np.where(covered, worked.reshape(n, n_months), np.nan)
    earn_m = np.where(covered, y.reshape(n, n_months), np.nan)
    return MonthlyRecords(emp_m, earn_m, first, end_day,
                          "weeks_employed" if weeks is not None else "earnings > 0")


def _amounts(emp: pd.DataFrame, column: Hashable, *, role: str, func: str) -> np.ndarray:
    s = emp[column]
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise ColumnError(
            f"{func}: column {column!r} ({role}) of employment must be numeric. Got dtype "
            f"{s.dtype} instead. Fix: convert it, e.g. pd.to_numeric(employment[{column!r}])."
        )
    v = s.to_numpy(dtype=float, na_value=np.nan)
    no_missing(np.isnan(v), emp, column, role=role, func=func, param="employment")
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        raise ColumnError(
            f"{func}: column {column!r} ({role}) of employment has {int(bad.sum()):,} negative "
            f"or infinite value(s) (first at rows {_fmt_list(emp.index[bad][:5].tolist(), 5)}). "
            "Fix: correct them; a month with no pay has no record."
        )
    return v


def monthly_outcomes(
    people: pd.DataFrame,
    *,
    employment: pd.DataFrame,
    id: Hashable = "id",
    randomised: Hashable = "randomised_on",
    months: int = 12,
    data_end: str | _dt.date | np.datetime64 | None = None,
    employment_columns: Mapping[str, Hashable | None] | None = None,
) -> pd.DataFrame:
    """Employment and earnings in each calendar month after the month of randomisation.

    Parameters
    ----------
    people
        One row per person: ``id`` (unique) and the date of randomisation.
    employment
        Monthly records as for :func:`~dwp_eval.outcomes.derive_outcomes`: ``id``,
        ``month`` (a date in the month, ISO text or a monthly Period),
        ``earnings`` (pounds paid that month, >= 0) and optionally
        ``weeks_employed``; one row per person and month paid.
    id, randomised
        The id column (in both frames) and the date of randomisation in ``people``.
    months
        How many months after randomisation: ``K``.
    data_end
        The last day the records are complete for (a month such as ``"2020-03"``
        means its last day; a day inside a month means the end of the month
        before it). Default: the end of the latest month in the records.
    employment_columns
        Other names for the columns of ``employment`` by role, as for
        :func:`~dwp_eval.outcomes.derive_outcomes`.

    Returns
    -------
    pandas.DataFrame
        One row per person in the order and with the index of ``people``: the
        ``id``, then ``employed_1`` ... ``employed_K`` (Int64 0/1) and
        ``earnings_1`` ... ``earnings_K`` (Float64, pounds). Months after the
        end of the records are NA (never zero). ``attrs["data_end"]`` holds the
        end of the records (ISO text).

    Notes
    -----
    Month ``k`` is the ``k``-th calendar month after the calendar month in
    which the person was randomised (randomised on 27 May 2018, month 1 is
    June 2018), so every month is a whole month of RTI pay, as DWP's
    month-by-month impact charts count them (e.g. DWP, *Work Programme
    evaluation: the impact of the Work Programme*, 2014; HMRC RTI is reported
    monthly). The month of randomisation itself, partly before it, is not a
    month after randomisation. A person is *employed* in month ``k`` when a
    record for that month has ``weeks_employed > 0`` (or, without that column,
    ``earnings > 0``); *earnings* are the month's pay, 0 without a record.
    Unlike :func:`~dwp_eval.outcomes.derive_outcomes`, whose windows start on
    the day of randomisation and apportion the first and last months by days,
    nothing is apportioned here.

    Examples
    --------
    >>> import pandas as pd
    >>> from dwp_eval.outcomes import monthly_outcomes
    >>> people = pd.DataFrame({"id": [1, 2],
    ...                        "randomised_on": pd.to_datetime(["2019-01-15", "2019-02-03"])})
    >>> employment = pd.DataFrame({"id": [1, 1, 2], "month": ["2019-02", "2019-03", "2019-03"],
    ...                            "earnings": [900.0, 1000.0, 500.0]})
    >>> monthly_outcomes(people, employment=employment, months=2, data_end="2019-03")
       id  employed_1  employed_2  earnings_1  earnings_2
    0   1           1           1       900.0      1000.0
    1   2           1        <NA>       500.0        <NA>
    """
    rec = monthly_records(people, employment=employment, id=id, randomised=randomised,
                          months=months, data_end=data_end, employment_columns=employment_columns)
    out = pd.DataFrame({id: people[id].to_numpy()}, index=people.index)
    miss = np.isnan(rec.employed)
    for j in range(rec.employed.shape[1]):
        out[f"employed_{j + 1}"] = pd.arrays.IntegerArray(
            np.nan_to_num(rec.employed[:, j]).astype(np.int64), miss[:, j].copy())
    for j in range(rec.earnings.shape[1]):
        out[f"earnings_{j + 1}"] = pd.arrays.FloatingArray(
            np.nan_to_num(rec.earnings[:, j]), miss[:, j].copy())
    out.attrs["data_end"] = date_text(rec.data_end)
    return out
