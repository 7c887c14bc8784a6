"""Employment outcomes derived from monthly administrative records.

Trials of employment programmes measure their outcomes from administrative
data linked to each participant: monthly employment and earnings records (in
the UK, HMRC PAYE Real Time Information, RTI) and benefit spells. This module
turns those records into one row of outcomes per person over a follow-up
window that starts on the day of randomisation (``months`` calendar months):

- ``employed_weeks``: weeks in work in the window;
- ``any_employment``: 1 if ``employed_weeks > 0``;
- ``employed_13_weeks``: 1 if ``employed_weeks >= weeks_threshold`` (13);
- ``cumulative_earnings``: pounds earned in the window;
- ``sustained_earnings``: 1 if the window's earnings reach ``hours x
  sustained_weeks`` at the wage rate in force each month (the Work and Health
  Programme's 16 hours a week for 26 weeks at the National Living Wage);
- ``days_on_benefit``: days of the window covered by a benefit spell.

A person whose window is not yet covered by the records gets missing (NA)
measures and a ``reason``, never a zero: a zero would say "did not work",
which the records cannot yet tell. See :func:`derive_outcomes` for the exact
conventions.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.records import (
    add_months,
    date_text,
    day_numbers,
    example_ids,
    month_numbers,
    month_of,
    month_start,
    no_missing,
    parse_dates,
    scalar_date,
)
from dwp_eval._validation import (
    _fmt_list,
    check_columns,
    check_data,
    check_option,
    check_unique,
)
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    OptionError,
    RecordProblemsWarning,
)

__all__ = [
    "BENEFIT_COLUMNS",
    "EMPLOYMENT_COLUMNS",
    "FOLLOW_UP_COLUMNS",
    "MEASURES",
    "NATIONAL_LIVING_WAGE",
    "Measure",
    "derive_outcomes",
]

Measure = Literal[
    "employed_weeks",
    "any_employment",
    "employed_13_weeks",
    "cumulative_earnings",
    "sustained_earnings",
    "days_on_benefit",
]
"""The name of a measure (one of :data:`MEASURES`)."""

MEASURES: tuple[str, ...] = (
    "employed_weeks",
    "any_employment",
    "employed_13_weeks",
    "cumulative_earnings",
    "sustained_earnings",
    "days_on_benefit",
)
"""The measures :func:`derive_outcomes` can derive, in the order of its result."""

FOLLOW_UP_COLUMNS: tuple[str, ...] = ("follow_up_end", "follow_up_complete", "reason")
"""Columns of the result of :func:`derive_outcomes` after the id and the measures."""

EMPLOYMENT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"month": "month", "earnings": "earnings", "weeks_employed": "weeks_employed"}
)
"""Default column names of the monthly employment records, by role.

Pass ``employment_columns={"month": "pay_month"}`` to :func:`derive_outcomes`
to change some of them; ``{"weeks_employed": None}`` ignores a weeks column
even if there is one.
"""

BENEFIT_COLUMNS: Mapping[str, str] = MappingProxyType({"start": "start", "end": "end"})
"""Default column names of the benefit spells, by role (``benefit_columns=``)."""

NATIONAL_LIVING_WAGE: tuple[tuple[str, float], ...] = (
    ("2016-04-01", 7.20),
    ("2017-04-01", 7.50),
    ("2018-04-01", 7.83),
    ("2019-04-01", 8.21),
    ("2020-04-01", 8.72),
    ("2021-04-01", 8.91),
    ("2022-04-01", 9.50),
    ("2023-04-01", 10.42),
    ("2024-04-01", 11.44),
)
"""The UK National Living Wage: the date each rate took effect and pounds per hour.

The rate for workers aged 25 and over from April 2016 to March 2021, 23 and
over from April 2021, and 21 and over from April 2024. Source: GOV.UK,
"National Minimum Wage and National Living Wage rates"
(https://www.gov.uk/national-minimum-wage-rates, current and previous rates).
The default ``wage_rates`` of :func:`derive_outcomes`; as a table,
``pd.DataFrame(NATIONAL_LIVING_WAGE, columns=["from", "rate"])``.
"""

_FUNC = "derive_outcomes"
# Rounding before thresholds: weeks to 1e-6 (under a second), so that exactly
# 13 weeks reached along any floating-point path counts as 13.
_WEEKS_DECIMALS = 6
# weeks_employed may exceed the weeks in its month by this much (rounding, e.g.
# 4.43 for a 31-day month of 4.4286 weeks).
_WEEKS_SLACK = 0.01


# ------------------------------------------------------------------ helpers


def _need(data: pd.DataFrame, column: Hashable, *, role: str, param: str, fix: str) -> None:
    check_columns(data, [column], role=role, func=_FUNC, param=param, fix=fix)


def _no_missing(
    data: pd.DataFrame, missing: np.ndarray, column: Hashable, *, role: str, param: str
) -> None:
    no_missing(missing, data, column, role=role, func=_FUNC, param=param)


def _day_numbers(
    data: pd.DataFrame, column: Hashable, *, role: str, param: str
) -> tuple[np.ndarray, np.ndarray]:
    """Calendar days since 1970-01-01 (int64; times of day dropped) and a missing mask."""
    return day_numbers(parse_dates(data, column, role=role, func=_FUNC, param=param))


def _number(value: Any, *, param: str, what: str, minimum: float = 0.0) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) <= minimum:
        raise OptionError(
            f"The '{param}' parameter of {_FUNC} must be a positive number ({what}). "
            f"Got {value!r} instead."
        )
    return float(value)


def _months(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise OptionError(
            f"The 'months' parameter of {_FUNC} must be a positive int (calendar months of "
            f"follow-up, e.g. 12). Got {value!r} instead."
        )
    return int(value)


def _measures(measures: Any, has_benefits: bool) -> list[str]:
    if measures is None:
        return [m for m in MEASURES if has_benefits or m != "days_on_benefit"]
    values = [measures] if isinstance(measures, str) else measures
    if not isinstance(values, (list, tuple, pd.Index, np.ndarray)) or len(values) == 0:
        raise OptionError(
            f"The 'measures' parameter of {_FUNC} must be a measure name or a non-empty list of "
            f"them ({_fmt_list(MEASURES)}). Got {measures!r} instead."
        )
    chosen = [check_option(v, MEASURES, param="measures", func=_FUNC) for v in values]
    if "days_on_benefit" in chosen and not has_benefits:
        raise OptionError(
            f"The 'measures' parameter of {_FUNC} asks for 'days_on_benefit', which needs benefit "
            f"spells. Fix: pass benefits= (one row per spell: id, start, end) or leave "
            f"'days_on_benefit' out."
        )
    return list(dict.fromkeys(chosen))


def _roles(value: Any, defaults: Mapping[str, str], *, param: str) -> dict[str, Hashable | None]:
    roles: dict[str, Hashable | None] = dict(defaults)
    if value is None:
        return roles
    if not isinstance(value, Mapping):
        raise OptionError(
            f"The '{param}' parameter of {_FUNC} must be a dict from role to column name, e.g. "
            f"{{{next(iter(defaults))!r}: 'my_column'}}. Got {value!r} instead."
        )
    for key, column in value.items():
        check_option(key, list(defaults), param=f"{param} key", func=_FUNC)
        roles[key] = column
    return roles


def _positions(people_ids: pd.Series, record_ids: pd.Series) -> np.ndarray:
    """Row in ``people`` of each record's id (-1: not a person in ``people``)."""
    if len(record_ids) == 0:
        return np.zeros(0, dtype=np.int64)
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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class _Rates:
    """Wage rates by date, a default schedule and regional overrides."""

    def __init__(
        self,
        default: tuple[np.ndarray, np.ndarray],
        regional: list[tuple[np.ndarray, np.ndarray]],
        region_names: list[Any],
    ) -> None:
        self.default = default
        self.regional = regional
        self.region_names = region_names

    def at(self, day: np.ndarray, region_code: np.ndarray) -> np.ndarray:
        """Rate in force on each ``day`` for each region code (-1: default; NaN: none)."""
        out = np.full(len(day), np.nan)
        frm, rate = self.default
        if frm.size:
            k = np.searchsorted(frm, day, side="right") - 1
            ok = k >= 0
            out[ok] = rate[k[ok]]
        for code, (r_frm, r_rate) in enumerate(self.regional):
            who = np.flatnonzero(region_code == code)
            if who.size == 0:
                continue
            k = np.searchsorted(r_frm, day[who], side="right") - 1
            ok = k >= 0
            out[who[ok]] = r_rate[k[ok]]
        return out

    def earliest(self) -> int | None:
        starts = [f[0] for f, _ in [self.default, *self.regional] if f.size]
        return int(min(starts)) if starts else None


def _wage_rates(wage_rates: Any, *, with_region: bool) -> tuple[_Rates, str]:
    if wage_rates is None:
        table = pd.DataFrame(NATIONAL_LIVING_WAGE, columns=["from", "rate"])
        source = "NATIONAL_LIVING_WAGE"
    else:
        table = check_data(wage_rates, func=_FUNC, param="wage_rates")
        source = "wage_rates"
    fix = (
        "wage_rates needs columns 'from' (date the rate takes effect) and 'rate' (pounds per hour)"
    )
    _need(table, "from", role="from", param="wage_rates", fix=fix)
    _need(table, "rate", role="rate", param="wage_rates", fix=fix)
    frm, missing = _day_numbers(table, "from", role="from", param="wage_rates")
    _no_missing(table, missing, "from", role="from", param="wage_rates")
    rate_col = table["rate"]
    if pd.api.types.is_bool_dtype(rate_col) or not pd.api.types.is_numeric_dtype(rate_col):
        raise ColumnError(
            f"{_FUNC}: column 'rate' of wage_rates must hold numbers (pounds per hour). Got dtype "
            f"{rate_col.dtype} instead. Fix: convert it, e.g. wage_rates['rate'].astype(float)."
        )
    rate = rate_col.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(rate) | (rate <= 0)
    if bad.any():
        raise ColumnError(
            f"{_FUNC}: column 'rate' of wage_rates must hold positive pounds per hour, but "
            f"{int(bad.sum()):,} row(s) do not (e.g. {_plain(rate_col[bad].iloc[0])!r}). "
            f"Fix: correct or remove those rows."
        )
    has_region_col = "region" in table.columns
    region_vals = (
        table["region"] if has_region_col else pd.Series([None] * len(table), index=table.index)
    )
    is_default = region_vals.isna().to_numpy()
    if with_region and not has_region_col:
        raise OptionError(
            f"The 'region' parameter of {_FUNC} picks regional rows of wage_rates, but wage_rates "
            f"has no 'region' column (columns present: {_fmt_list(list(table.columns))}). Fix: add "
            f"a 'region' column (missing for the default rows) or leave region= out."
        )
    if not with_region and (~is_default).any():
        names = _fmt_list(sorted({str(v) for v in region_vals[~is_default]}), 5)
        raise OptionError(
            f"The 'wage_rates' parameter of {_FUNC} has regional rows ({names}) but region= was "
            f"not given, so they would be ignored. Fix: pass region= with the column of people "
            f"naming each person's region, or drop the regional rows."
        )
    key = pd.DataFrame(
        {"region": region_vals.astype(object).where(~is_default, "\x00default"), "from": frm}
    )
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = key[dup].iloc[0]
        where = (
            "default rows" if first["region"] == "\x00default" else f"region {first['region']!r}"
        )
        raise ColumnError(
            f"{_FUNC}: wage_rates has {int(dup.sum()):,} rows that share a 'from' date with "
            f"another row of the same region (e.g. {where} from {date_text(first['from'])}). "
            f"Fix: keep one "
            f"rate per region and date."
        )

    def schedule(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(frm[mask], kind="stable")
        return frm[mask][order], rate[mask][order]

    region_names = list(pd.unique(region_vals[~is_default].astype(object)))
    regional = [schedule((~is_default) & (region_vals == r).to_numpy()) for r in region_names]
    return _Rates(schedule(is_default), regional, region_names), source


def _union_days(pos: np.ndarray, start: np.ndarray, end: np.ndarray, n: int) -> np.ndarray:
    """Per person, the number of days covered by the union of half-open ``[start, end)``."""
    keep = end > start
    pos, start, end = pos[keep], start[keep], end[keep]
    if pos.size == 0:
        return np.zeros(n, dtype=np.int64)
    base = int(min(start.min(), end.min()))
    s_rel = start - base
    e_rel = end - base
    order = np.argsort(pos * (int(s_rel.max()) + 1) + s_rel)
    pos, s_rel, e_rel = pos[order], s_rel[order], e_rel[order]
    width = int(e_rel.max()) + 1
    # running maximum of the end within each person: adding pos x width makes each
    # person's values larger than every earlier person's, so one accumulate suffices
    key = pos * width + e_rel
    run = np.maximum.accumulate(key)
    prev = np.empty_like(run)
    prev[0] = -1
    prev[1:] = run[:-1]
    prev_end = prev - pos * width  # negative when the previous spell is another person's
    new = np.maximum(0, e_rel - np.maximum(s_rel, prev_end))
    return np.bincount(pos, weights=new, minlength=n).round().astype(np.int64)


def _window_sums(
    pos: np.ndarray,
    month: np.ndarray,
    earnings: np.ndarray,
    weeks: np.ndarray | None,
    w_start: np.ndarray,
    w_end: np.ndarray,
    complete: np.ndarray,
    *,
    rates: _Rates | None,
    code: np.ndarray | None,
    at_start: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per person: weeks in work, earnings and (with ``rates``) earnings / rate in the window.

    Written for tens of millions of records: few passes over them, and the
    months' first days, lengths and wage rates come from small tables.
    """
    n = len(w_start)
    first_m = month_of(w_start)
    span = month_of(w_end - 1) - first_m
    all_known = bool((pos >= 0).all())
    rows: np.ndarray | None = None if all_known else np.flatnonzero(pos >= 0)
    p = pos if rows is None else pos[rows]
    # a record is in the window when its month is between the window's first and
    # last months; only those two months can be partly outside it
    rel = first_m[p]
    np.subtract(month if rows is None else month[rows], rel, out=rel)
    inside = rel >= 0
    inside &= rel <= span[p]
    if not complete.all():
        inside &= complete[p]
    if not inside.all():
        sel = np.flatnonzero(inside)
        rows = sel if rows is None else rows[sel]
        p = p[sel]
        rel = rel[sel]
    m = month if rows is None else month[rows]
    if m.size == 0:
        zero = np.zeros(n)
        return zero, zero.copy(), (zero.copy() if rates is not None else None)
    lo = int(m.min())
    starts = month_start(np.arange(lo, int(m.max()) + 2, dtype=np.int64))
    lengths = np.diff(starts)
    k = m - lo
    y = earnings.copy() if rows is None else earnings[rows]
    edge = np.flatnonzero((rel == 0) | (rel == span[p]))
    pe = p[edge]
    ke = k[edge]
    ms_e = starts[ke]
    overlap_e = np.minimum(w_end[pe], starts[ke + 1]) - np.maximum(w_start[pe], ms_e)
    frac_e = overlap_e / lengths[ke]
    if weeks is not None:
        wk = weeks.copy() if rows is None else weeks[rows]
        wk[edge] *= frac_e
    else:
        wk = (lengths / 7.0)[k]
        wk[edge] = overlap_e / 7.0
        wk[y <= 0] = 0.0
    y[edge] *= frac_e
    emp_weeks = np.bincount(p, weights=wk, minlength=n)
    del wk
    cum = np.bincount(p, weights=y, minlength=n)
    eq: np.ndarray | None = None
    if rates is not None and at_start is not None:
        # the rate in force on the first day of each month inside the window: the
        # window's start in its first month, the month's first day otherwise
        n_codes = len(rates.region_names) + 1
        month_days = starts[:-1]
        grid = rates.at(
            np.tile(month_days, n_codes),
            np.repeat(np.arange(-1, n_codes - 1, dtype=np.int64), month_days.size),
        ).reshape(n_codes, month_days.size)
        r = grid[0][k] if code is None else grid[code[p] + 1, k]
        first_edge = edge[rel[edge] == 0]
        r[first_edge] = at_start[p[first_edge]]
        np.divide(y, r, out=r)
        eq = np.bincount(p, weights=r, minlength=n)
    return emp_weeks, cum, eq


# ------------------------------------------------------------------ main


def derive_outcomes(
    people: pd.DataFrame,
    *,
    employment: pd.DataFrame,
    benefits: pd.DataFrame | None = None,
    id: Hashable = "id",
    randomised: Hashable = "randomised_on",
    months: int = 12,
    data_end: str | _dt.date | np.datetime64 | None = None,
    measures: Measure | Sequence[Measure] | None = None,
    weeks_threshold: float = 13.0,
    hours: float = 16.0,
    sustained_weeks: float = 26.0,
    wage_rates: pd.DataFrame | None = None,
    region: Hashable | None = None,
    employment_columns: Mapping[str, Hashable | None] | None = None,
    benefit_columns: Mapping[str, Hashable] | None = None,
) -> pd.DataFrame:
    r"""Employment and benefit outcomes per person over a follow-up window from randomisation.

    Each person's follow-up window is the ``months`` calendar months from the
    day of randomisation: the days ``[randomised, randomised + months)``,
    where ``randomised + months`` is the same day of the month ``months``
    months later (clipped to the month's last day, as
    ``pandas.DateOffset(months=months)``). So randomised on 27 May 2018 with
    ``months=12``, the window is 27 May 2018 to 26 May 2019 inclusive
    (``follow_up_end``). Follow-up is *complete* when ``follow_up_end <=
    data_end``; otherwise the person's measures are NA and ``reason`` says
    why. Nobody is dropped and no NA is ever replaced by zero.

    Parameters
    ----------
    people
        One row per person: id (unique) and date of randomisation (and the
        ``region`` column, if given).
    employment
        Monthly employment records, one row per person and month in which the
        person was paid (HMRC RTI-like): ``id``, ``month`` (a date anywhere in
        the month, ISO text, or a monthly ``Period``), ``earnings`` (pounds paid
        that month, >= 0) and, optionally, ``weeks_employed`` (weeks in work
        that month, from 0 to the month's days / 7, e.g. 4.43 for a 31-day
        month). A person-month with no record had no employment and no
        earnings. Records outside a person's window (e.g. before
        randomisation) are allowed and not counted. May be empty if
        ``data_end`` is given.
    benefits
        Optional benefit spells, one row per spell: ``id``, ``start`` and
        ``end`` (both days included; a missing end means the spell is still
        open). Needed for ``days_on_benefit``. May be empty.
    id
        The id column, in ``people`` and in the records.
    randomised
        Column of ``people`` with the date of randomisation (the window's first
        day; a time of day is ignored).
    months
        Length of the follow-up window in calendar months.
    data_end
        The last day up to which the records are complete. Default: the last
        day of the latest month in ``employment``. Benefit spells are assumed
        complete to the same day.
    measures
        Which of :data:`MEASURES` to derive, in the order given. Default: all
        of them (``days_on_benefit`` only when ``benefits`` is given).
    weeks_threshold
        Weeks in work for ``employed_13_weeks`` (13: the primary outcome of
        the IPS health-led trials, 13 or more weeks in work within 12 months).
    hours, sustained_weeks
        The ``sustained_earnings`` threshold: earnings equal to ``hours`` a
        week for ``sustained_weeks`` weeks at the wage rate in force (16 and
        26: the Work and Health Programme's earnings outcome).
    wage_rates
        Hourly wage rates by date for ``sustained_earnings``: columns ``from``
        (the date a rate takes effect) and ``rate`` (pounds per hour) and,
        optionally, ``region`` for regional overrides (missing for the default
        rows). Default: :data:`NATIONAL_LIVING_WAGE`. The rates must cover the
        start of every complete window.
    region
        Column of ``people`` naming each person's region, to pick the regional
        rows of ``wage_rates``. A person whose region is missing or has no rows
        uses the default rows. For a region with rows, the rate on a day is
        that of the region's latest row on or before the day; before its first
        row, the default rate applies.
    employment_columns
        Other names for the columns of ``employment``, by role, e.g.
        ``{"month": "pay_month", "earnings": "pay"}`` (defaults in
        :data:`EMPLOYMENT_COLUMNS`). ``{"weeks_employed": None}`` ignores a
        weeks column.
    benefit_columns
        Other names for the columns of ``benefits``: ``{"start": ..., "end": ...}``.

    Returns
    -------
    pandas.DataFrame
        One row per person, in the order and with the index of ``people``:
        the ``id`` column, then the measures in the order of ``measures``

        - ``employed_weeks`` (Float64): weeks in work in the window;
        - ``any_employment`` (Int64 0/1): ``employed_weeks > 0``;
        - ``employed_13_weeks`` (Int64 0/1): ``employed_weeks >= weeks_threshold``;
        - ``cumulative_earnings`` (Float64, pounds, to the penny);
        - ``sustained_earnings`` (Int64 0/1): see Notes;
        - ``days_on_benefit`` (Int64): days of the window on benefit,

        then ``follow_up_end`` (datetime64: the window's last day),
        ``follow_up_complete`` (bool) and ``reason`` (str: ``""`` when
        follow-up is complete, else e.g. ``"follow-up incomplete: window ends
        2019-05-26, records end 2019-03-31"`` or ``"follow-up not started:
        randomised 2019-04-02, records end 2019-03-31"``). The measures are NA
        exactly when ``follow_up_complete`` is False.

        ``result.attrs`` holds plain values:

        - ``"follow_up"``: ``months``, ``data_end`` (ISO text),
          ``data_end_from`` (``"employment"`` or ``"data_end"``), ``n_people``,
          ``n_complete``, ``n_incomplete``, ``n_not_started`` (randomised after
          ``data_end``; counted in ``n_incomplete`` too);
        - ``"data_problems"``: ``employment_unknown_id`` and
          ``benefits_unknown_id``, each ``{"n_records", "action",
          "examples"}``: records naming ids not in ``people``, left out;
        - ``"settings"``: the measures, thresholds, wage-rate source and how
          weeks in work were measured (``"weeks_employed"`` or ``"earnings >
          0"``).

    Raises
    ------
    ColumnError
        A named column is missing (the message lists those present);
        duplicated ids in ``people``; duplicated person-months in
        ``employment``; negative or non-numeric earnings; ``weeks_employed``
        outside 0 to the month's weeks; a spell ending before it starts; dates
        that are not dates; bad ``wage_rates`` rows.
    MissingDataError
        Missing ids, randomisation dates, months, earnings, weeks or spell
        starts.
    DesignError
        No one can have complete follow-up (the earliest window ends after
        ``data_end``), or ``wage_rates`` do not cover the start of a complete
        window.
    OptionError
        A parameter has the wrong type or value (an unknown measure name lists
        the valid ones and suggests the closest).

    Warns
    -----
    RecordProblemsWarning
        Records name ids that are not in ``people``: they are counted, left
        out, and recorded in ``result.attrs["data_problems"]``.

    Notes
    -----
    Write :math:`W_i = [r_i, r_i + M)` for person :math:`i`'s window of
    :math:`M` calendar months (in days), and for a calendar month :math:`m`
    with days :math:`[s_m, e_m)`, :math:`n_m = e_m - s_m` its length and
    :math:`o_{im} = |[s_m, e_m) \cap W_i|` the days of the month inside the
    window. RTI records are monthly (pay reported in each month, not the days
    worked), so the window's first and last months, which are usually only
    partly inside it, are apportioned by days: a share :math:`f_{im} =
    o_{im} / n_m` of the month's weeks and earnings counts. This assumes work
    and pay spread evenly over the month; it is exact for every month wholly
    inside the window.

    With :math:`w_{im}` the record's ``weeks_employed`` and :math:`y_{im}` its
    earnings (zero without a record),

    .. math::

        \text{employed\_weeks}_i = \sum_m f_{im} w_{im}, \qquad
        \text{cumulative\_earnings}_i = \sum_m f_{im} y_{im}.

    Without a ``weeks_employed`` column a month with :math:`y_{im} > 0`
    counts as in work for all of its part inside the window:
    :math:`f_{im} w_{im} = o_{im} / 7`. ``employed_weeks`` is rounded to six
    decimals (under a second) before the thresholds, so exactly 13 weeks counts
    as 13 whatever the floating-point path; ``cumulative_earnings`` is rounded
    to the penny.

    ``sustained_earnings`` follows the Work and Health Programme's earnings
    outcome: earnings equivalent to ``hours`` (16) a week for
    ``sustained_weeks`` (26) weeks at the National Living Wage (DWP, *Work and
    Health Programme provider guidance*, outcome payments). When the rate
    changes inside the window (each April), a single pound threshold is
    ambiguous; each month's earnings are instead converted to weeks at
    ``hours`` a week at the rate :math:`\rho_{im}` in force that month, and
    the weeks are added up:

    .. math::

        \text{sustained\_earnings}_i = 1\Big[\sum_m
        \frac{f_{im} y_{im}}{h \, \rho_{im}} \ge K\Big],

    with :math:`h` = ``hours`` and :math:`K` = ``sustained_weeks``. With one
    rate :math:`\rho` throughout this is the familiar
    :math:`\sum_m f_{im} y_{im} \ge h K \rho` (16 x 26 x £8.21 = £3,415.36 in
    2019-20). :math:`\rho_{im}` is the rate in force (for the person's
    region) on the first day of month :math:`m` inside the window,
    :math:`\max(r_i, s_m)`; National Living Wage changes take effect on 1
    April, so each month has one rate.

    ``days_on_benefit`` is :math:`|W_i \cap \bigcup_k [a_{ik}, b_{ik}]|`, the
    days of the window inside at least one of the person's spells (both end
    days included; overlapping spells are not counted twice; a spell crossing
    the window's end counts up to the window's last day; an open spell runs to
    the end of the window).

    The result does not depend on the order of the rows of ``people`` (beyond
    its own row order) or of the records.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({
    ...     "id": [1, 2, 3],
    ...     "randomised_on": pd.to_datetime(["2019-01-01", "2019-01-01", "2019-06-01"]),
    ... })
    >>> employment = pd.DataFrame({
    ...     "id": [1, 1, 1, 1, 2],
    ...     "month": ["2019-02", "2019-03", "2019-04", "2019-05", "2019-02"],
    ...     "earnings": [1200.0, 1250.0, 1300.0, 1250.0, 300.0],
    ... })
    >>> out = derive_outcomes(people, employment=employment, months=12,
    ...                       data_end="2019-12-31")
    >>> out[["id", "employed_weeks", "employed_13_weeks", "cumulative_earnings"]]
       id  employed_weeks  employed_13_weeks  cumulative_earnings
    0   1       17.142857                  1               5000.0
    1   2             4.0                  0                300.0
    2   3            <NA>               <NA>                 <NA>
    >>> out.loc[2, "reason"]
    'follow-up incomplete: window ends 2020-05-31, records end 2019-12-31'
    """
    # ------------------------------------------------ people and options
    people = check_data(people, func=_FUNC, param="people")
    _need(people, id, role="id", param="people", fix="pass the name of an existing column as id=")
    _need(
        people,
        randomised,
        role="randomised",
        param="people",
        fix="pass the column with each person's date of randomisation as randomised=",
    )
    if region is not None:
        _need(
            people, region, role="region", param="people", fix="pass an existing column as region="
        )
    id_missing = people[id].isna().to_numpy()
    _no_missing(people, id_missing, id, role="id", param="people")
    check_unique(people, id, role="id", func=_FUNC)
    rand, rand_missing = _day_numbers(people, randomised, role="randomised", param="people")
    _no_missing(people, rand_missing, randomised, role="randomised", param="people")
    n_months = _months(months)
    threshold = _number(weeks_threshold, param="weeks_threshold", what="weeks in work")
    hours_ = _number(hours, param="hours", what="hours a week")
    sust_weeks = _number(sustained_weeks, param="sustained_weeks", what="weeks")
    chosen = _measures(measures, benefits is not None)
    emp_roles = _roles(employment_columns, EMPLOYMENT_COLUMNS, param="employment_columns")
    ben_roles = _roles(benefit_columns, BENEFIT_COLUMNS, param="benefit_columns")
    n = len(people)

    # ------------------------------------------------ employment records
    emp = check_data(employment, func=_FUNC, param="employment", allow_empty=True)
    emp_fix = "pass its name in employment_columns={{{role!r}: ...}}"
    _need(
        emp, id, role="id", param="employment", fix="name the id column of the records as in people"
    )
    month_col = emp_roles["month"]
    earn_col = emp_roles["earnings"]
    for role, column in (("month", month_col), ("earnings", earn_col)):
        if column is None:
            raise OptionError(
                f"The 'employment_columns' parameter of {_FUNC} must name a column for "
                f"{role!r}. Got None instead."
            )
        _need(emp, column, role=role, param="employment", fix=emp_fix.format(role=role))
    weeks_col = emp_roles["weeks_employed"]
    explicit_weeks = employment_columns is not None and "weeks_employed" in employment_columns
    if weeks_col is not None and weeks_col not in emp.columns:
        if explicit_weeks:
            _need(
                emp,
                weeks_col,
                role="weeks_employed",
                param="employment",
                fix=emp_fix.format(role="weeks_employed"),
            )
        weeks_col = None
    _no_missing(emp, emp[id].isna().to_numpy(), id, role="id", param="employment")
    month, month_missing = month_numbers(emp, month_col, role="month", func=_FUNC, param="employment")
    _no_missing(emp, month_missing, month_col, role="month", param="employment")
    earnings = _amounts(emp, earn_col, role="earnings")
    weeks: np.ndarray | None = None
    if weeks_col is not None:
        weeks = _amounts(emp, weeks_col, role="weeks_employed")
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
                f"{_FUNC}: column {weeks_col!r} (weeks_employed) of employment has "
                f"{int(over.sum()):,} value(s) above the weeks in their month (e.g. "
                f"{weeks[i]:g} in {np.datetime64(int(month[i]), 'M')!s}, which has "
                f"{cap[i] - _WEEKS_SLACK:.4g} weeks). Fix: cap weeks_employed at the month's "
                f"days / 7, or aggregate duplicated jobs with a cap."
            )

    # ------------------------------------------------ follow-up windows
    if data_end is None:
        if len(emp) == 0:
            raise OptionError(
                f"The 'data_end' parameter of {_FUNC} is needed when employment is empty (the "
                f"end of the records cannot be read from them). Fix: pass data_end= with the "
                f"last day the records are complete for."
            )
        end_day = int(month_start(np.array([month.max() + 1]))[0]) - 1
        end_from = "employment"
    else:
        end_day = scalar_date(data_end, param="data_end", func=_FUNC)
        end_from = "data_end"
    w_start = rand
    w_end = add_months(rand, n_months)  # exclusive
    complete = (w_end - 1) <= end_day
    if not complete.any():
        first = int(w_start.min())
        first_end = int(add_months(np.array([first]), n_months)[0])
        fits = [
            k
            for k in range(n_months - 1, 0, -1)
            if add_months(np.array([first]), k)[0] - 1 <= end_day
        ]
        if fits:
            hint = f"use months={fits[0]} or fewer (the longest window anyone can have complete)"
        elif end_day < first:
            hint = "the records end before anyone was randomised: check data_end and the dates"
        else:
            hint = "the records end less than a month after the earliest randomisation"
        raise DesignError(
            f"{_FUNC}: no one has complete follow-up: the earliest window ({n_months} months from "
            f"{date_text(first)}) ends {date_text(first_end - 1)}, "
            f"but the records end {date_text(end_day)}. Fix: {hint}, or pass data_end= if the "
            f"records are complete to a later date."
        )

    # ------------------------------------------------ employment in the window
    pos = _positions(people[id], emp[id])
    known = pos >= 0
    all_known = bool(known.all())
    if pos.size and (all_known or known.any()):
        _check_duplicates(emp, id, month_col, pos, month, people[id], None if all_known else known)
    problems: dict[str, dict[str, Any]] = {}
    unknown_ids = np.zeros(0) if all_known else emp[id].to_numpy()[~known]
    problems["employment_unknown_id"] = _problem(unknown_ids, "left out")

    grid: _Rates | None = None
    code: np.ndarray | None = None
    at_start: np.ndarray | None = None
    rate_source = None
    if "sustained_earnings" in chosen:
        rates, rate_source = _wage_rates(wage_rates, with_region=region is not None)
        if region is not None and rates.region_names:
            code = np.asarray(
                pd.Index(rates.region_names).get_indexer(people[region]), dtype=np.int64
            )
        at_start = rates.at(w_start, code if code is not None else np.full(n, -1, np.int64))
        uncovered = complete & np.isnan(at_start)
        if uncovered.any():
            first = int(w_start[uncovered].min())
            earliest = rates.earliest()
            known_from = (
                f"the earliest rate takes effect {date_text(earliest)}"
                if earliest is not None
                else "no rate applies"
            )
            raise DesignError(
                f"{_FUNC}: wage_rates do not cover the start of {int(uncovered.sum()):,} complete "
                f"follow-up window(s) (the earliest starts {date_text(first)}; {known_from}), so "
                f"sustained_earnings cannot be derived. Fix: add a rate with a 'from' date on or "
                f"before {date_text(first)} (to the default rows, or the person's region)."
            )
        grid = rates

    sums = _window_sums(
        pos,
        month,
        earnings,
        weeks,
        w_start,
        w_end,
        complete,
        rates=grid,
        code=code,
        at_start=at_start,
    )
    emp_weeks = np.round(sums[0], _WEEKS_DECIMALS)
    values: dict[str, np.ndarray] = {}
    values["employed_weeks"] = emp_weeks
    values["any_employment"] = (emp_weeks > 0).astype(np.int64)
    values["employed_13_weeks"] = (emp_weeks >= threshold).astype(np.int64)
    values["cumulative_earnings"] = np.round(sums[1], 2)
    if sums[2] is not None:
        eq_weeks = np.round(sums[2] / hours_, _WEEKS_DECIMALS)
        values["sustained_earnings"] = (eq_weeks >= sust_weeks).astype(np.int64)

    # ------------------------------------------------ benefit spells
    if benefits is not None:
        ben = check_data(benefits, func=_FUNC, param="benefits", allow_empty=True)
        _need(
            ben,
            id,
            role="id",
            param="benefits",
            fix="name the id column of the spells as in people",
        )
        start_col, stop_col = ben_roles["start"], ben_roles["end"]
        for role, column in (("start", start_col), ("end", stop_col)):
            _need(
                ben,
                column,
                role=role,
                param="benefits",
                fix=f"pass its name in benefit_columns={{{role!r}: ...}}",
            )
        _no_missing(ben, ben[id].isna().to_numpy(), id, role="id", param="benefits")
        b_start, b_start_missing = _day_numbers(ben, start_col, role="start", param="benefits")
        _no_missing(ben, b_start_missing, start_col, role="start", param="benefits")
        b_stop, b_open = _day_numbers(ben, stop_col, role="end", param="benefits")
        backwards = ~b_open & (b_stop < b_start)
        if backwards.any():
            i = int(np.flatnonzero(backwards)[0])
            raise ColumnError(
                f"{_FUNC}: benefits has {int(backwards.sum()):,} spell(s) whose {stop_col!r} (end) "
                f"is before their {start_col!r} (start), e.g. row {_plain(ben.index[i])!r}: "
                f"{date_text(b_start[i])} to {date_text(b_stop[i])}. Fix: correct or swap those "
                f"dates (a missing end means the spell is still open)."
            )
        b_pos = _positions(people[id], ben[id])
        b_known = b_pos >= 0
        problems["benefits_unknown_id"] = _problem(ben[id].to_numpy()[~b_known], "left out")
        if "days_on_benefit" in chosen:
            sel = np.flatnonzero(b_known)
            sel = sel[complete[b_pos[sel]]]
            bp = b_pos[sel]
            lo = np.maximum(b_start[sel], w_start[bp])
            hi = np.where(b_open[sel], w_end[bp], np.minimum(b_stop[sel] + 1, w_end[bp]))
            values["days_on_benefit"] = _union_days(bp, lo, hi, n)
    else:
        problems["benefits_unknown_id"] = _problem(np.zeros(0), "left out")

    # ------------------------------------------------ problems and result
    _warn_problems(
        problems,
        n_emp=len(emp),
        n_ben=None if benefits is None else len(benefits),
        n_known=int(known.sum()),
    )

    mask = ~complete
    out = pd.DataFrame({id: people[id].to_numpy()}, index=people.index)
    for name in chosen:
        v = values[name]
        if name in ("employed_weeks", "cumulative_earnings"):
            out[name] = pd.arrays.FloatingArray(v.astype(np.float64), mask.copy())
        else:
            out[name] = pd.arrays.IntegerArray(v.astype(np.int64), mask.copy())
    last = w_end - 1
    out["follow_up_end"] = last.astype("datetime64[D]").astype("datetime64[ns]")
    out["follow_up_complete"] = complete
    reason = np.full(n, "", dtype=object)
    end_text = date_text(end_day)
    not_started = rand > end_day
    late = mask & ~not_started
    if late.any():
        ends = np.datetime_as_string(last[late].astype("datetime64[D]"))
        reason[late] = np.char.add(
            np.char.add("follow-up incomplete: window ends ", ends), f", records end {end_text}"
        ).astype(object)
    if not_started.any():
        starts = np.datetime_as_string(rand[not_started].astype("datetime64[D]"))
        reason[not_started] = np.char.add(
            np.char.add("follow-up not started: randomised ", starts), f", records end {end_text}"
        ).astype(object)
    out["reason"] = reason
    out.attrs["follow_up"] = {
        "months": n_months,
        "data_end": end_text,
        "data_end_from": end_from,
        "n_people": n,
        "n_complete": int(complete.sum()),
        "n_incomplete": int(mask.sum()),
        "n_not_started": int(not_started.sum()),
    }
    out.attrs["data_problems"] = problems
    out.attrs["settings"] = {
        "measures": tuple(chosen),
        "weeks_threshold": threshold,
        "hours": hours_,
        "sustained_weeks": sust_weeks,
        "wage_rates": rate_source,
        "weeks_from": "weeks_employed" if weeks is not None else "earnings > 0",
    }
    return out


def _amounts(emp: pd.DataFrame, column: Hashable, *, role: str) -> np.ndarray:
    """A non-negative, finite, complete numeric column of ``employment`` as float64."""
    s = emp[column]
    if len(s) == 0:
        return np.zeros(0)
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise ColumnError(
            f"{_FUNC}: column {column!r} ({role}) of employment must hold numbers. Got dtype "
            f"{s.dtype} instead. Fix: convert it, e.g. pd.to_numeric(employment[{column!r}])."
        )
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~(values >= 0)  # NaN or negative
    if bad.any():
        _no_missing(emp, np.isnan(values), column, role=role, param="employment")
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
            f"{_FUNC}: column {column!r} ({role}) of employment has {int(bad.sum()):,} negative "
            f"or infinite value(s) (e.g. {values[i]:g} at row {_plain(emp.index[i])!r}). "
            f"Fix: {fix}."
        )
    return values


def _check_duplicates(
    emp: pd.DataFrame,
    id: Hashable,
    month_col: Hashable,
    pos: np.ndarray,
    month: np.ndarray,
    people_ids: pd.Series,
    known: np.ndarray | None,
) -> None:
    """Raise ColumnError if a person in ``people`` has two records for one month."""
    if known is not None:
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
        f"{_FUNC}: employment has {n_rows:,} duplicated person-month record(s): "
        f"{n_cells:,} person-month(s) appear more than once (e.g. id {who!r} in {when}). "
        f"Fix: aggregate to one row per person and month first, e.g. "
        f"employment.groupby([{id!r}, employment[{month_col!r}].dt.to_period('M')]).sum() "
        f"(and cap weeks_employed at the weeks in the month)."
    )


def _problem(ids: np.ndarray, action: str) -> dict[str, Any]:
    return {
        "n_records": len(ids),
        "action": action,
        "examples": example_ids(ids) if len(ids) else (),
    }


def _warn_problems(
    problems: dict[str, dict[str, Any]], *, n_emp: int, n_ben: int | None, n_known: int
) -> None:
    parts = []
    e = problems["employment_unknown_id"]
    if e["n_records"]:
        hint = ""
        if n_known == 0:
            hint = (
                " (no employment record matches anyone: check that the id columns have "
                "the same type)"
            )
        parts.append(
            f"{e['n_records']:,} of {n_emp:,} employment record(s) name ids not in people "
            f"(e.g. {_fmt_list(e['examples'])}){hint}"
        )
    bp = problems["benefits_unknown_id"]
    if bp["n_records"]:
        parts.append(
            f"{bp['n_records']:,} of {n_ben or 0:,} benefit spell(s) name ids not in people "
            f"(e.g. {_fmt_list(bp['examples'])})"
        )
    if parts:
        warnings.warn(
            f"{_FUNC}: " + "; ".join(parts) + ". They were left out; counts in "
            "result.attrs['data_problems'].",
            RecordProblemsWarning,
            stacklevel=3,
        )
