"""Time to event from administrative records: :func:`time_to_event`, one (duration, event
observed) row per person from the monthly employment records and benefit spells that
:func:`~dwp_eval.outcomes.derive_outcomes` reads, censored at the end of the records or at
a death or emigration date."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.records import date_text, month_of, month_start
from dwp_eval._validation import check_data, check_option, check_unique
from dwp_eval.errors import ColumnError, DesignError, OptionError
from dwp_eval.outcomes._inputs import _dates, _day_numbers, _need, _no_missing_ids, _plain, _roles
from dwp_eval.outcomes._problems import _after_end, _left_out, _warn_problems
from dwp_eval.outcomes._records import (
    _benefit_spells,
    _check_duplicates,
    _employment,
    _positions,
)
from dwp_eval.outcomes._windows import _data_end_day
from dwp_eval.outcomes.measures import BENEFIT_COLUMNS, EMPLOYMENT_COLUMNS

__all__ = ["EVENTS", "TIME_TO_EVENT_COLUMNS", "Event", "time_to_event"]

_FUNC = "time_to_event"

Event = Literal["job_start", "benefit_exit"]
"""The events :func:`time_to_event` derives from records (one of :data:`EVENTS`)."""

EVENTS: tuple[str, ...] = ("job_start", "benefit_exit")
"""The events :func:`time_to_event` derives from records."""

TIME_TO_EVENT_COLUMNS: tuple[str, ...] = ("duration", "event", "end_date", "censored_by", "reason")
"""Columns of the result of :func:`time_to_event` after the id."""

# a day after every real date: "no event", "no exit"
_NEVER = np.iinfo(np.int64).max // 4


def time_to_event(
    people: pd.DataFrame,
    *,
    data_end: str | _dt.date | np.datetime64,
    event: Event | None = None,
    employment: pd.DataFrame | None = None,
    benefits: pd.DataFrame | None = None,
    event_date: Hashable | None = None,
    id: Hashable = "id",
    randomised: Hashable = "randomised_on",
    exits: Hashable | Mapping[str, Hashable] | None = None,
    ongoing_job: Literal["event", "reason"] = "event",
    employment_columns: Mapping[str, Hashable | None] | None = None,
    benefit_columns: Mapping[str, Hashable] | None = None,
) -> pd.DataFrame:
    r"""Days from randomisation to a first job or to leaving benefit, censored, one row per person.

    The event comes from one of three sources:

    - ``event="job_start"`` with ``employment``: the first day in paid work
      on or after the day of randomisation, from monthly records in the
      format of :func:`~dwp_eval.outcomes.derive_outcomes`;
    - ``event="benefit_exit"`` with ``benefits``: the last day of the
      benefit spell the person was on at randomisation;
    - ``event_date=`` a column of ``people`` holding each person's event date
      (missing: no event seen), for an event already dated elsewhere.

    Follow-up ends at ``data_end`` or, for a person with an ``exits`` date
    (death, emigration), on that date if earlier. Nobody is dropped: a person
    whose time cannot be derived keeps their row, with missing ``duration``
    and ``event`` and a ``reason``.

    Parameters
    ----------
    people
        One row per person: id (unique), date of randomisation, and any
        ``event_date`` or ``exits`` columns.
    data_end
        The last day the records are complete for (a date; a month such as
        ``"2020-03"`` means its last day, as in ``derive_outcomes``). Required:
        it decides who is censored when.
    event
        ``"job_start"`` (needs ``employment``) or ``"benefit_exit"`` (needs
        ``benefits``). Leave it out when passing ``event_date``.
    employment
        Monthly employment records as for ``derive_outcomes``: ``id``,
        ``month`` (a date in the month, ISO text or a monthly Period),
        ``earnings`` (>= 0) and optionally ``weeks_employed``; one row per
        person and month paid. A month is *in work* when its
        ``weeks_employed > 0`` or, without that column, its ``earnings > 0``
        (as ``derive_outcomes`` counts weeks in work).
    benefits
        Benefit spells as for ``derive_outcomes``: ``id``, ``start``, ``end``
        (both days included; missing end: still open).
    event_date
        Column of ``people`` with the date of the event (missing: not seen).
    id, randomised
        The id column (in ``people`` and the records) and the column of
        ``people`` with the date of randomisation (a time of day is ignored).
    exits
        Dates that end a person's follow-up before ``data_end``: a column of
        ``people`` (its name labels the censoring), or a dict from label to
        column, e.g. ``{"death": "died_on", "emigration": "left_uk_on"}``.
        Missing dates mean no exit. With several columns the earliest date
        counts.
    ongoing_job
        For ``"job_start"``: a person in work both in the calendar month
        before the month of randomisation and in the month of randomisation
        may have been in a job already at randomisation. ``"event"`` (default)
        counts them as in work from the day of randomisation (duration 1), as
        ``derive_outcomes`` counts the month of randomisation;
        ``"reason"`` leaves their time missing with a reason instead.
    employment_columns, benefit_columns
        Other names for the columns of the records, by role, as for
        ``derive_outcomes`` (:data:`EMPLOYMENT_COLUMNS`, :data:`BENEFIT_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        One row per person, in the order and with the index of ``people``:

        - the ``id`` column;
        - ``duration`` (Int64, days >= 1): the day of the event or, if
          censored, the last day of follow-up, counted from the day of
          randomisation as day 1;
        - ``event`` (Int64): 1 if the event was seen, 0 if censored;
        - ``end_date`` (datetime64): the day ``duration`` counts to;
        - ``censored_by`` (object): ``"data_end"``, or the label of the
          ``exits`` column, for a censored person; None otherwise;
        - ``reason`` (str): ``""`` when derived; otherwise why not, with
          ``duration``, ``event`` and ``end_date`` missing: randomised after
          ``data_end``; not on benefit at randomisation (``"benefit_exit"``);
          in work at randomisation (``"job_start"`` with
          ``ongoing_job="reason"``).

        ``result.attrs`` holds ``"time_to_event"`` (the event, ``data_end``,
        and the counts ``n_people``, ``n_events``, ``n_censored`` by label
        and ``n_not_derived``), ``"data_problems"`` (records naming ids not
        in ``people``, and employment records after ``data_end``, as in
        ``derive_outcomes``) and ``"settings"``.

    Raises
    ------
    ColumnError
        A named column is missing; duplicated ids in ``people``; dates that
        are not dates; an ``event_date`` or ``exits`` date before the
        person's randomisation; the record checks of ``derive_outcomes``
        (negative earnings, duplicated person-months, spells ending before
        they start).
    MissingDataError
        Missing ids or randomisation dates, or missing values in the records.
    DesignError
        ``data_end`` is before everyone's randomisation.
    OptionError
        ``data_end`` not given or not a date; ``event`` and ``event_date``
        both or neither given; records missing for the event, or given for
        another; an unknown ``event`` or ``ongoing_job``.

    Warns
    -----
    RecordProblemsWarning
        Records name ids not in ``people``, or employment records are dated
        after ``data_end``: they are counted, left out and recorded in
        ``result.attrs["data_problems"]``.

    Notes
    -----
    Days are counted from the day of randomisation :math:`r_i` as day 1. With
    :math:`e_i` the day of the event and :math:`c_i = \min(\text{data\_end},
    x_i)` the last day of follow-up (:math:`x_i` the earliest exit date),

    .. math::

        T_i = \min(e_i, c_i) - r_i + 1, \qquad \delta_i = 1[e_i \le c_i],

    so :math:`T_i \ge 1`: an event on the day of randomisation has duration 1,
    and a censored person was observed without the event for :math:`T_i`
    days. This is the usual discrete-time convention of survival analysis
    (an event at time :math:`t` is in the risk set at :math:`t`, and so is a
    censoring at :math:`t`; Kalbfleisch & Prentice 2002, sec. 1.2), and
    :math:`T_i > 0` as the Kaplan-Meier and Cox estimators need.

    **Job start.** Monthly records (HMRC RTI) say in which calendar month a
    person was paid, not the day they started. The event day is the first
    day of the first month in work on or after the month of randomisation,
    or the day of randomisation when that month is the month of
    randomisation: :math:`e_i = \max(r_i, s_{m_i})` with :math:`s_m` the first
    day of month :math:`m`. The true start lies somewhere in that month (or
    earlier, as pay is in arrears), so durations are interval censored to the
    month; this is ignored, and durations are early by about half a month on
    average in both arms alike. Work in the month of randomisation counts, as
    ``derive_outcomes`` counts it in the window, so ``event == 1`` with
    ``end_date`` inside the window agrees with its ``any_employment``.
    Records before the month of randomisation are history and are not used
    (except by ``ongoing_job="reason"``).

    **Benefit exit.** Spells of a person that overlap or touch (a spell
    starting the day after another ends) are joined into one continuous spell
    on benefit, so a move between benefits is not an exit. The person must be
    on benefit on the day of randomisation; the event day is the last day of
    that continuous spell, so ``duration`` is the number of days on benefit
    from the day of randomisation. The exit is seen only when the day after
    it is inside follow-up (:math:`e_i < c_i`): a spell ending on the last day
    of the records could continue in a spell starting the next day, so it is
    censored there. Spell ends after ``data_end`` are not yet known: those
    spells are open.

    Records dated after ``data_end`` (a month starting after it, a spell
    starting after it) change nothing. The result does not depend on the
    order of the records' rows.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({
    ...     "id": [1, 2, 3],
    ...     "randomised_on": pd.to_datetime(["2019-01-10", "2019-01-20", "2019-02-01"]),
    ... })
    >>> employment = pd.DataFrame({"id": [1, 2], "month": ["2019-03", "2019-01"],
    ...                            "earnings": [900.0, 400.0]})
    >>> out = time_to_event(people, event="job_start", employment=employment,
    ...                     data_end="2019-06-30")
    >>> out[["id", "duration", "event", "end_date", "censored_by"]]
       id  duration  event   end_date censored_by
    0   1        51      1 2019-03-01        None
    1   2         1      1 2019-01-20        None
    2   3       150      0 2019-06-30    data_end

    Person 1, randomised on 10 January, is first paid in March: the event is
    dated 1 March, day 51 counting 10 January as day 1. Person 2 is paid in
    the month of randomisation: day 1. Person 3 is censored on 30 June.
    """
    people = check_data(people, func=_FUNC, param="people")
    _need(people, id, role="id", param="people", func=_FUNC,
          fix="pass the name of an existing column as id=")
    _need(people, randomised, role="randomised", param="people", func=_FUNC,
          fix="pass the column with each person's date of randomisation as randomised=")
    _no_missing_ids(people, id, param="people", func=_FUNC)
    check_unique(people, id, role="id", func=_FUNC)
    rand = _dates(people, randomised, role="randomised", param="people", func=_FUNC)
    source = _source(event, employment, benefits, event_date)
    ongoing = check_option(ongoing_job, ("event", "reason"), param="ongoing_job", func=_FUNC)
    if data_end is None:
        raise OptionError(
            f"The 'data_end' parameter of {_FUNC} is required: the last day the records are "
            "complete for (e.g. '2020-03-31', or '2020-03' for the end of March 2020). It "
            "decides who is censored when."
        )
    end_day = _data_end_day(data_end, func=_FUNC)
    if end_day < int(rand.min()):
        raise DesignError(
            f"{_FUNC}: data_end ({date_text(end_day)}) is before everyone's randomisation (the "
            f"earliest is {date_text(int(rand.min()))}), so no one has any follow-up. Fix: pass "
            "the last day the records are complete for as data_end=."
        )
    exit_day, exit_code, labels = _exits(people, exits, rand, id)
    stop = np.minimum(exit_day, end_day)  # the last day of follow-up
    n = len(rand)
    reason = np.full(n, "", dtype=object)
    late = rand > end_day
    if late.any():
        reason[late] = _texts("randomised ", rand[late], f", after the records end {date_text(end_day)}")

    problems: dict[str, dict[str, Any]] = {
        "employment_unknown_id": _left_out(None, None),
        "benefits_unknown_id": _left_out(None, None),
        "employment_after_data_end": _after_end(pd.Series([], dtype=object), np.zeros(0, np.int64),
                                                end_day),
    }
    weeks_from: str | None = None
    if source == "event_date":
        day = _event_dates(people, event_date, rand, id)
        seen = day <= stop
    elif source == "job_start":
        emp = _employment(employment, id, _roles(employment_columns, EMPLOYMENT_COLUMNS,
                                                 param="employment_columns", func=_FUNC),
                          explicit_weeks=employment_columns is not None
                          and "weeks_employed" in employment_columns, func=_FUNC)
        pos = _positions(people[id], emp.table[id])
        known = pos >= 0
        _check_duplicates(emp, id, pos, known, people[id], func=_FUNC)
        problems["employment_unknown_id"] = _left_out(emp.table[id], known)
        problems["employment_after_data_end"] = _after_end(emp.table[id], emp.month, end_day)
        worked = (emp.weeks if emp.weeks is not None else emp.earnings) > 0
        weeks_from = "weeks_employed" if emp.weeks is not None else "earnings > 0"
        day, ongoing_mask = _first_work(pos, emp.month, known & worked, rand)
        seen = day <= stop
        if ongoing == "reason":
            bad = ongoing_mask & ~late
            if bad.any():
                r_month = month_of(rand[bad]).astype("datetime64[M]")
                prev = np.datetime_as_string((r_month - np.timedelta64(1, "M")).astype("datetime64[M]"))
                reason[bad] = _join("in work at randomisation: paid in ", prev, " and ",
                                    np.datetime_as_string(r_month),
                                    " (the month of randomisation)")
    else:
        spells = _benefit_spells(benefits, id, _roles(benefit_columns, BENEFIT_COLUMNS,
                                                      param="benefit_columns", func=_FUNC),
                                 func=_FUNC)
        pos = _positions(people[id], spells.table[id])
        known = pos >= 0
        problems["benefits_unknown_id"] = _left_out(spells.table[id], known)
        day, on_benefit = _spell_end_at(pos[known], spells.start[known], spells.stop[known],
                                        spells.open[known], rand, end_day)
        seen = day < stop
        off = ~on_benefit & ~late
        if off.any():
            reason[off] = _texts("not on benefit at randomisation (no spell covers ", rand[off], ")")

    _warn_problems(
        problems,
        n_emp=0 if employment is None else len(emp.table),
        n_ben=None if benefits is None else len(spells.table),
        n_known=int(known.sum()) if source != "event_date" else 0,
        data_end=end_day, inferred=False, func=_FUNC,
    )
    derived = reason == ""
    end = np.where(seen, day, stop)
    duration = end - rand + 1
    by = np.where(exit_day <= end_day, exit_code, -1)
    censored_by = np.full(n, None, dtype=object)
    cens = derived & ~seen
    names = np.array(["data_end", *labels], dtype=object)
    censored_by[cens] = names[by[cens] + 1]

    out = pd.DataFrame({id: people[id].to_numpy()}, index=people.index)
    out["duration"] = pd.arrays.IntegerArray(np.where(derived, duration, 0), ~derived)
    out["event"] = pd.arrays.IntegerArray(seen.astype(np.int64), ~derived)
    out["end_date"] = np.where(derived, end, np.iinfo(np.int64).min).astype(
        "datetime64[D]").astype("datetime64[ns]")
    out["censored_by"] = pd.Series(censored_by, index=people.index, dtype=object)  # None, not NaN
    out["reason"] = reason
    name = source if source != "event_date" else str(event_date)
    counts = pd.Series(censored_by[cens]).value_counts()
    out.attrs["time_to_event"] = {
        "event": name,
        "data_end": date_text(end_day),
        "n_people": n,
        "n_events": int((derived & seen).sum()),
        "n_censored": {str(k): int(v) for k, v in counts.items()},
        "n_not_derived": int((~derived).sum()),
    }
    out.attrs["data_problems"] = problems
    out.attrs["settings"] = {
        "event": name,
        "source": "event_date" if source == "event_date" else
        ("employment" if source == "job_start" else "benefits"),
        "ongoing_job": ongoing,
        "weeks_from": weeks_from,
        "exits": tuple(labels),
        "day_count": "the day of randomisation is day 1",
    }
    return out


def _source(event: Any, employment: Any, benefits: Any, event_date: Any) -> str:
    """``"event_date"``, ``"job_start"`` or ``"benefit_exit"``, with the records it needs."""
    if event_date is not None:
        if event is not None or employment is not None or benefits is not None:
            raise OptionError(
                f"The 'event_date' parameter of {_FUNC} gives the events itself: pass it without "
                "event=, employment= or benefits= (or derive the event from records with event= "
                "and no event_date=)."
            )
        return "event_date"
    if event is None:
        raise OptionError(
            f"The 'event' parameter of {_FUNC} is needed: 'job_start' (with employment=) or "
            "'benefit_exit' (with benefits=); or pass event_date= naming a column of dates."
        )
    chosen = check_option(event, EVENTS, param="event", func=_FUNC)
    needs, other = ("employment", "benefits") if chosen == "job_start" else ("benefits", "employment")
    given = {"employment": employment, "benefits": benefits}
    if given[needs] is None:
        what = "monthly employment records" if needs == "employment" else "benefit spells"
        raise OptionError(
            f"The '{needs}' parameter of {_FUNC} is needed for event={chosen!r}: pass the "
            f"{what} ({needs}=...)."
        )
    if given[other] is not None:
        raise OptionError(
            f"The '{other}' parameter of {_FUNC} is not used for event={chosen!r}. Fix: leave "
            f"it out (call {_FUNC} once per event)."
        )
    return chosen


def _before_randomisation(
    people: pd.DataFrame, column: Hashable, day: np.ndarray, rand: np.ndarray, id: Hashable,
    *, role: str, fix: str,
) -> None:
    """Raise ColumnError when a date of ``column`` is before the person's randomisation."""
    bad = day < rand
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ColumnError(
            f"{_FUNC}: column {column!r} ({role}) of people has {int(bad.sum()):,} date(s) before "
            f"the person's randomisation (e.g. id {_plain(people[id].iloc[i])!r}: "
            f"{date_text(day[i])}, randomised {date_text(rand[i])}). Fix: {fix}"
        )


def _event_dates(people: pd.DataFrame, column: Hashable, rand: np.ndarray, id: Hashable) -> np.ndarray:
    """The event day of each person (``_NEVER``: none seen)."""
    _need(people, column, role="event_date", param="people", func=_FUNC,
          fix="pass the column with each person's event date as event_date=")
    day, missing = _day_numbers(people, column, role="event_date", param="people", func=_FUNC)
    day = np.where(missing, _NEVER, day)
    _before_randomisation(people, column, day, rand, id, role="event_date",
                          fix="correct those dates; an event before randomisation is not an "
                          "outcome of the trial (a job held at randomisation is a baseline "
                          "characteristic).")
    return day


def _exits(
    people: pd.DataFrame, exits: Any, rand: np.ndarray, id: Hashable
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each person's earliest exit day (``_NEVER``: none), the index of its label, the labels."""
    n = len(rand)
    if exits is None:
        return np.full(n, _NEVER, dtype=np.int64), np.full(n, -1, dtype=np.int64), []
    if isinstance(exits, Mapping):
        pairs = [(str(k), v) for k, v in exits.items()]
        if not pairs:
            raise OptionError(
                f"The 'exits' parameter of {_FUNC} must be a column or a non-empty dict from "
                "label to column, e.g. {'death': 'died_on'}. Got an empty dict."
            )
    else:
        pairs = [(str(exits), exits)]
    first = np.full(n, _NEVER, dtype=np.int64)
    code = np.full(n, -1, dtype=np.int64)
    for k, (label, column) in enumerate(pairs):
        _need(people, column, role=f"exits: {label}", param="people", func=_FUNC,
              fix="pass the column of death or emigration dates in exits=")
        day, missing = _day_numbers(people, column, role=f"exits: {label}", param="people",
                                    func=_FUNC)
        day = np.where(missing, _NEVER, day)
        _before_randomisation(people, column, day, rand, id, role=f"exits: {label}",
                              fix="correct those dates; someone who died or left before "
                              "randomisation cannot have been randomised.")
        earlier = day < first
        first = np.where(earlier, day, first)
        code = np.where(earlier, k, code)
    return first, code, [label for label, _ in pairs]


def _first_work(
    pos: np.ndarray, month: np.ndarray, use: np.ndarray, rand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per person, the first day in work on or after randomisation (``_NEVER``: none), and
    whether they were in work both in the month before the month of randomisation and in it."""
    n = len(rand)
    p = pos[use]
    m = month[use]
    r_month = month_of(rand)
    rel = m - r_month[p]
    after = rel >= 0
    day = np.full(n, _NEVER, dtype=np.int64)
    if after.any():
        pa = p[after]
        start = np.maximum(month_start(m[after]), rand[pa])
        np.minimum.at(day, pa, start)
    before = np.zeros(n, dtype=bool)
    before[p[rel == -1]] = True
    at = np.zeros(n, dtype=bool)
    at[p[rel == 0]] = True
    return day, before & at


def _spell_end_at(
    pos: np.ndarray, start: np.ndarray, stop: np.ndarray, still_open: np.ndarray,
    rand: np.ndarray, end_day: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per person, the last day of the continuous spell on benefit covering the day of
    randomisation (``end_day + 1``: still on benefit after the records end), and whether
    there is one. Spells that overlap or touch are one spell; spells starting after
    ``end_day`` are not yet in the records, and ends after it not yet known."""
    n = len(rand)
    on = np.zeros(n, dtype=bool)
    last = np.full(n, _NEVER, dtype=np.int64)
    keep = start <= end_day
    pos, start = pos[keep], start[keep]
    stop = np.where(still_open[keep], end_day + 1, np.minimum(stop[keep], end_day + 1))
    if pos.size == 0:
        return last, on
    base = int(start.min())
    s_rel = start - base
    e_rel = stop - base + 1  # exclusive end; touching spells: next start == this end
    order = np.lexsort((s_rel, pos))
    pos, s_rel, e_rel = pos[order], s_rel[order], e_rel[order]
    width = int(e_rel.max()) + 1
    # running maximum of the (exclusive) end within each person, as in _union_days
    run = np.maximum.accumulate(pos * width + e_rel) - pos * width
    prev = np.empty_like(run)
    prev[0] = -1
    prev[1:] = run[:-1]
    new = np.ones(pos.size, dtype=bool)
    new[1:] = (pos[1:] != pos[:-1]) | (s_rel[1:] > prev[1:])
    group = np.cumsum(new) - 1
    g_start = s_rel[new] + base
    g_pos = pos[new]
    ends = np.flatnonzero(np.r_[new[1:], True])
    g_last = run[ends] + base - 1  # the run's last day
    covers = (g_start <= rand[g_pos]) & (rand[g_pos] <= g_last)
    del group
    who = g_pos[covers]
    on[who] = True
    last[who] = g_last[covers]
    return last, on


def _texts(before: str, days: np.ndarray, after: str) -> np.ndarray:
    return _join(before, np.datetime_as_string(days.astype("datetime64[D]")), after)


def _join(*parts: Any) -> np.ndarray:
    out: Any = parts[0]
    for part in parts[1:]:
        out = np.char.add(out, part)
    return np.asarray(out).astype(object)
