"""The entry point, :func:`derive_outcomes`: one row of outcomes per person from
monthly employment records and benefit spells."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._core.engines import DASK, SPARK, engine_of
from dwp_eval._core.records import date_text
from dwp_eval._validation import check_data, check_unique
from dwp_eval.outcomes._engine import _on_engine
from dwp_eval.outcomes._inputs import (
    _FUNC,
    _dates,
    _measures,
    _months,
    _need,
    _no_missing_ids,
    _number,
    _roles,
)
from dwp_eval.outcomes._problems import _after_end, _left_out, _warn_problems
from dwp_eval.outcomes._records import (
    _benefit_spells,
    _check_duplicates,
    _employment,
    _positions,
)
from dwp_eval.outcomes._windows import _days_on_benefit, _follow_up, _window_sums, _Windows
from dwp_eval.outcomes.measures import BENEFIT_COLUMNS, EMPLOYMENT_COLUMNS, Measure
from dwp_eval.outcomes.wage_rates import _window_rates

__all__ = ["derive_outcomes"]


class _Report(NamedTuple):
    """What :func:`_derive` found besides the result: the problems and the counts the
    warning states, and the result's attrs (``follow_up``, ``settings``)."""

    problems: dict[str, dict[str, Any]]
    n_emp: int
    n_ben: int | None
    n_known: int  # employment records of people in ``people``
    data_end: int
    data_end_from: str
    follow_up: dict[str, Any]
    settings: dict[str, Any]
    first_start: int | None  # the earliest randomisation day (None: no people)

# Rounding before thresholds: weeks to 1e-6 (under a second), so that exactly
# 13 weeks reached along any floating-point path counts as 13.
_WEEKS_DECIMALS = 6


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
        ``region`` column, if given). A pandas, Dask or Spark DataFrame; with
        Dask or Spark, ``employment`` and ``benefits`` are frames of the same
        engine (see "Dask and Spark" under Notes).
    employment
        Monthly employment records, one row per person and month in which the
        person was paid (HMRC RTI-like): ``id``, ``month`` (a date anywhere in
        the month, ISO text such as ``"2019-03-15"`` or ``"2019-03"``, or a
        monthly ``Period``), ``earnings`` (pounds paid
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
        The last day up to which the records are complete (a date; a month
        such as ``"2020-03"`` means its last day). Pass it: it decides who has
        complete follow-up. Default: the last day of the last month of the
        bulk of the ``employment`` records, the last month holding at least
        10% of their median number per month, reached from the busiest month
        without a gap of more than 12 months (so one record dated 2031-06 by
        mistake does not complete everyone's follow-up); the date is in
        ``result.attrs["follow_up"]``. Employment records dated after
        ``data_end`` (given or inferred) are ignored, counted and warned
        about: they never complete anyone's window. Benefit spells are
        assumed complete to the same day.
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
        (A Dask or Spark DataFrame for such input, see Notes.) One row per
        person, in the order and with the index of ``people``:
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
          ``employment_after_data_end`` (the same keys and ``"latest"``, the
          latest month): records dated after ``data_end``, ignored;
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
        Records name ids that are not in ``people``, or employment records
        are dated after ``data_end`` (given or inferred; the message gives the
        date and the records beyond it): they are counted, left out, and
        recorded in ``result.attrs["data_problems"]``.

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

    **Dask and Spark.** Given a Dask or Spark DataFrame (``pip install
    "dwp_eval[dask]"`` or ``"dwp_eval[spark]"``), the same rules run on the
    engine, partition by partition: the rows of ``people``, ``employment`` and
    ``benefits`` are hash-partitioned on ``id``, so all of a person's records
    meet their row of ``people`` in one partition however the input was
    partitioned, and the pandas rules run there. The driver decides what is
    global: the columns and options (checked first, with the messages above);
    ``data_end`` when it is not given (the month histogram of all employment
    records is added up on the engine and read as above, and every partition
    gets that day); that someone has complete follow-up (the
    :class:`DesignError` above); duplicated ids; and the one warning, whose
    counts and examples are those of all partitions, as pandas words them.
    ``wage_rates`` stays a pandas DataFrame (it is sent to every partition).
    The result is a frame of the same engine (Dask in, Dask out; Spark in,
    Spark out), computed once and kept in the engine's memory, with the
    columns and values of the pandas result but in no particular row order
    (sort by ``id``) and with a fresh index. An engine frame carries no
    ``attrs``: ``follow_up``, ``data_problems`` and ``settings`` are not
    returned (the problem counts are in the warning; count complete
    follow-up from ``follow_up_complete``). In a partition, each person's
    employment records are added up in the order of person and month (the
    order of sorted pandas input): the sums are rounded to the penny, so
    another order can change a half penny. Row labels named in an error
    message are those of the partition, not of the input.

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
    engine = engine_of(people)
    options: dict[str, Any] = dict(
        id=id, randomised=randomised, months=months, data_end=data_end, measures=measures,
        weeks_threshold=weeks_threshold, hours=hours, sustained_weeks=sustained_weeks,
        wage_rates=wage_rates, region=region, employment_columns=employment_columns,
        benefit_columns=benefit_columns,
    )
    if engine in (DASK, SPARK):
        out, report = _on_engine(engine, _derive, people, employment, benefits, options)
    else:
        out, report = _derive(people, employment, benefits, **options)
    _warn_problems(
        report.problems,
        n_emp=report.n_emp,
        n_ben=report.n_ben,
        n_known=report.n_known,
        data_end=report.data_end,
        inferred=report.data_end_from == "employment",
        attrs=engine not in (DASK, SPARK),
    )
    if engine in (DASK, SPARK):
        return out
    out.attrs["follow_up"] = report.follow_up
    out.attrs["data_problems"] = report.problems
    out.attrs["settings"] = report.settings
    return out


def _derive(
    people: pd.DataFrame,
    employment: pd.DataFrame,
    benefits: pd.DataFrame | None,
    *,
    id: Hashable,
    randomised: Hashable,
    months: int,
    data_end: str | _dt.date | np.datetime64 | None,
    measures: Measure | Sequence[Measure] | None,
    weeks_threshold: float,
    hours: float,
    sustained_weeks: float,
    wage_rates: pd.DataFrame | None,
    region: Hashable | None,
    employment_columns: Mapping[str, Hashable | None] | None,
    benefit_columns: Mapping[str, Hashable] | None,
    end: tuple[int, str] | None = None,
    whole: bool = True,
) -> tuple[pd.DataFrame, _Report]:
    """The rules of :func:`derive_outcomes` without its warning: the result (no attrs) and
    what the warning and the attrs report. ``end``: ``data_end`` already resolved, as
    ``(day, from)``; ``whole=False``: ``people`` is one partition of a Dask or Spark frame
    (it may be empty, and whether anyone has complete follow-up is checked by the caller)."""

    # ------------------------------------------------ people and options
    people = check_data(people, func=_FUNC, param="people", allow_empty=not whole)
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
    _no_missing_ids(people, id, param="people")
    check_unique(people, id, role="id", func=_FUNC)
    rand = _dates(people, randomised, role="randomised", param="people")
    n_months = _months(months)
    threshold = _number(weeks_threshold, param="weeks_threshold", what="weeks in work")
    hours_ = _number(hours, param="hours", what="hours a week")
    sust_weeks = _number(sustained_weeks, param="sustained_weeks", what="weeks")
    chosen = _measures(measures, benefits is not None)
    emp_roles = _roles(employment_columns, EMPLOYMENT_COLUMNS, param="employment_columns")
    ben_roles = _roles(benefit_columns, BENEFIT_COLUMNS, param="benefit_columns")

    # ------------------------------------------------ records and windows
    emp = _employment(
        employment,
        id,
        emp_roles,
        explicit_weeks=employment_columns is not None and "weeks_employed" in employment_columns,
    )
    windows = _follow_up(rand, n_months, data_end, emp.month, end=end, whole=whole)
    pos = _positions(people[id], emp.table[id])
    known = pos >= 0
    _check_duplicates(emp, id, pos, known, people[id])
    problems: dict[str, dict[str, Any]] = {}
    problems["employment_unknown_id"] = _left_out(emp.table[id], known)
    problems["employment_after_data_end"] = _after_end(emp.table[id], emp.month, windows.data_end)

    # ------------------------------------------------ employment in the window
    rates = None
    if "sustained_earnings" in chosen:
        rates = _window_rates(wage_rates, region, people, windows.start, windows.complete)
    weeks, earnings, eq = _window_sums(
        pos, emp.month, emp.earnings, emp.weeks, windows, rates=rates
    )
    emp_weeks = np.round(weeks, _WEEKS_DECIMALS)
    values: dict[str, np.ndarray] = {}
    values["employed_weeks"] = emp_weeks
    values["any_employment"] = (emp_weeks > 0).astype(np.int64)
    values["employed_13_weeks"] = (emp_weeks >= threshold).astype(np.int64)
    values["cumulative_earnings"] = np.round(earnings, 2)
    if eq is not None:
        eq_weeks = np.round(eq / hours_, _WEEKS_DECIMALS)
        values["sustained_earnings"] = (eq_weeks >= sust_weeks).astype(np.int64)

    # ------------------------------------------------ benefit spells
    if benefits is not None:
        spells = _benefit_spells(benefits, id, ben_roles)
        b_pos = _positions(people[id], spells.table[id])
        b_known = b_pos >= 0
        problems["benefits_unknown_id"] = _left_out(spells.table[id], b_known)
        if "days_on_benefit" in chosen:
            values["days_on_benefit"] = _days_on_benefit(spells, b_pos, b_known, windows)
    else:
        problems["benefits_unknown_id"] = _left_out(None, None)

    # ------------------------------------------------ problems and result
    out = _result(people, id, values, chosen, windows)
    settings = {
        "measures": tuple(chosen),
        "weeks_threshold": threshold,
        "hours": hours_,
        "sustained_weeks": sust_weeks,
        "wage_rates": None if rates is None else rates.source,
        "weeks_from": "weeks_employed" if emp.weeks is not None else "earnings > 0",
    }
    report = _Report(
        problems=problems,
        n_emp=len(emp.table),
        n_ben=None if benefits is None else len(benefits),
        n_known=int(known.sum()),
        data_end=windows.data_end,
        data_end_from=windows.data_end_from,
        follow_up=_follow_up_counts(windows, n_months),
        settings=settings,
        first_start=int(windows.start.min()) if len(windows.start) else None,
    )
    return out, report


def _result(
    people: pd.DataFrame,
    id: Hashable,
    values: Mapping[str, np.ndarray],
    chosen: Sequence[str],
    windows: _Windows,
) -> pd.DataFrame:
    """The id, the measures (NA where follow-up is incomplete) and the follow-up columns."""
    mask = ~windows.complete
    out = pd.DataFrame({id: people[id].to_numpy()}, index=people.index)
    for name in chosen:
        v = values[name]
        if name in ("employed_weeks", "cumulative_earnings"):
            out[name] = pd.arrays.FloatingArray(v.astype(np.float64), mask.copy())
        else:
            out[name] = pd.arrays.IntegerArray(v.astype(np.int64), mask.copy())
    last = windows.end - 1
    out["follow_up_end"] = last.astype("datetime64[D]").astype("datetime64[ns]")
    out["follow_up_complete"] = windows.complete
    out["reason"] = _reasons(windows)
    return out


def _reasons(windows: _Windows) -> np.ndarray:
    """Why each person's measures are missing (``""``: follow-up is complete)."""
    reason = np.full(len(windows.start), "", dtype=object)
    end_text = date_text(windows.data_end)
    not_started = windows.start > windows.data_end
    late = ~windows.complete & ~not_started
    if late.any():
        ends = np.datetime_as_string((windows.end - 1)[late].astype("datetime64[D]"))
        reason[late] = np.char.add(
            np.char.add("follow-up incomplete: window ends ", ends), f", records end {end_text}"
        ).astype(object)
    if not_started.any():
        starts = np.datetime_as_string(windows.start[not_started].astype("datetime64[D]"))
        reason[not_started] = np.char.add(
            np.char.add("follow-up not started: randomised ", starts), f", records end {end_text}"
        ).astype(object)
    return reason


def _follow_up_counts(windows: _Windows, n_months: int) -> dict[str, Any]:
    """``result.attrs["follow_up"]``: the window, the end of the records and the counts."""
    incomplete = ~windows.complete
    return {
        "months": n_months,
        "data_end": date_text(windows.data_end),
        "data_end_from": windows.data_end_from,
        "n_people": len(windows.start),
        "n_complete": int(windows.complete.sum()),
        "n_incomplete": int(incomplete.sum()),
        "n_not_started": int((windows.start > windows.data_end).sum()),
    }
