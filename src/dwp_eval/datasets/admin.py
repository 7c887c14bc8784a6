"""Synthetic monthly administrative records for a :func:`~dwp_eval.datasets.whp_like` population.

:func:`whp_monthly_records` makes what an evaluator links to a trial's
participants: monthly employment and earnings records shaped like HMRC PAYE
Real Time Information (one row per person and month paid) and benefit spells,
with the labels that generated them, so that
:func:`~dwp_eval.outcomes.derive_outcomes` can be checked against a known truth.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._core.records import add_months, month_of, month_start, scalar_date
from dwp_eval._validation import check_seed
from dwp_eval.datasets._common import _arms, _binary_array, _chance_of_13_weeks, _whp_people
from dwp_eval.errors import OptionError
from dwp_eval.outcomes import NATIONAL_LIVING_WAGE

__all__ = ["AdminRecords", "whp_monthly_records"]

_FUNC = "whp_monthly_records"
_NEEDED = (
    "id",
    "referred_on",
    "prior_earnings",
    "months_out_of_work",
    "health_condition",
    "jobcentre",
)
# relative day used for "no such spell" / "still open"
_NEVER = 10_000_000
# hours a week of a job, and their probabilities with and without a health condition
_HOURS = np.array([16.0, 20.0, 25.0, 30.0, 37.5])
_HOURS_P_HEALTH = np.array([0.30, 0.22, 0.18, 0.12, 0.18])
_HOURS_P_NONE = np.array([0.12, 0.13, 0.15, 0.15, 0.45])


class AdminRecords(NamedTuple):
    """Monthly employment records, benefit spells and the truth behind them
    (:func:`whp_monthly_records`)."""

    employment: pd.DataFrame
    benefits: pd.DataFrame
    truth: pd.DataFrame


def _nlw_at(day: np.ndarray) -> np.ndarray:
    """The National Living Wage in force on each day (the 2016 rate before April 2016)."""
    frm = np.array([np.datetime64(d, "D").astype(np.int64) for d, _ in NATIONAL_LIVING_WAGE])
    rate = np.array([r for _, r in NATIONAL_LIVING_WAGE])
    k = np.searchsorted(frm, day, side="right") - 1
    return np.asarray(rate[np.maximum(k, 0)], dtype=float)


def _end_day(data_end: Any) -> int:
    """``data_end`` as a day number, moved back to the last day of a complete month."""
    day = scalar_date(data_end, param="data_end", func=_FUNC, example="2019-12-31", none=True)
    month = int(month_of(np.array([day + 1]))[0])  # the day after a month end starts a month
    return int(month_start(np.array([month]))[0]) - 1


def whp_monthly_records(
    people: pd.DataFrame,
    assigned: pd.Series | np.ndarray | None = None,
    *,
    seed: int | np.random.Generator,
    months: int = 24,
    received: pd.Series | np.ndarray | None = None,
    effect: float = 0.04,
    data_end: str | _dt.date | np.datetime64 | None = None,
    treatment: str = "treatment",
) -> AdminRecords:
    r"""Monthly employment records and benefit spells, with a known effect on 13 weeks in work.

    Made for :func:`~dwp_eval.outcomes.derive_outcomes` on a
    :func:`~dwp_eval.datasets.whp_like` population: whether each person reaches
    13 weeks in work in the 12 months after randomisation is drawn first,
    with a known effect of the programme, and the records are then built to
    match, so ``derive_outcomes(..., months=12)`` recovers
    ``truth["employed_13_weeks"]`` and ``truth["any_employment"]`` exactly for
    everyone with complete follow-up.

    Parameters
    ----------
    people
        Output of :func:`~dwp_eval.datasets.whp_like` (uses ``id``,
        ``referred_on``, the date of randomisation, ``prior_earnings``,
        ``months_out_of_work``, ``health_condition``, ``jobcentre`` and, if
        present, ``benefit``).
    assigned
        Optional arm of each person, aligned with ``people``. Without
        ``received``, everyone in the ``treatment`` arm receives the programme
        and nobody else does.
    seed
        An int or a ``numpy.random.Generator``.
    months
        Months of records after the latest randomisation: the records end on
        the last day of the month in which the latest-randomised person's
        window of ``months`` months ends, so everyone has at least ``months``
        months of complete follow-up. Ignored when ``data_end`` is given.
    received
        Optional 0/1 per person, aligned with ``people``: who received the
        programme (e.g. ``truth["received"]`` of
        :func:`~dwp_eval.datasets.whp_referrals`). Receipt alone carries the
        effect, in either arm.
    effect
        The increase, for a person who receives the programme, in the
        probability of 13 or more weeks in work in the 12 months after
        randomisation (0.04: 4 percentage points), between 0 and 0.1.
    data_end
        Optional extract date instead of ``months``: records end on the last
        day of the last complete month on or before it (a month's records
        arrive after it ends). People randomised late then have incomplete
        follow-up, as in an interim analysis.
    treatment
        The label of the programme arm in ``assigned``.

    Returns
    -------
    AdminRecords
        A named tuple of three DataFrames, each with ``attrs["data_end"]`` (ISO
        text: the last day the records are complete for).

        ``employment``: ``id``, ``month`` (datetime64, the first day of the
        month), ``earnings`` (pounds paid that month, > 0) and
        ``weeks_employed`` (days in work that month / 7, to two decimals); one
        row per person and month paid, sorted by person (in the order of
        ``people``) then month. Months before randomisation appear for people
        who left a job shortly before it.

        ``benefits``: ``id``, ``start``, ``end`` (both days included; NaT: open
        at ``data_end``); sorted by person then start. Spells may overlap
        by a few days (a move from one benefit to another).

        ``truth``: one row per person in the order of ``people``: ``id``,
        ``arm`` (only with ``assigned``), ``received`` (0/1: carries the
        effect), ``employed_13_weeks`` and ``any_employment`` (0/1, in the 12
        months from randomisation, as ``derive_outcomes`` measures them from
        these records with the ``weeks_employed`` column). ``truth.attrs``
        holds ``true_itt`` (with ``assigned``: ``{"employed_13_weeks":
        effect x (share receiving in the treatment arm - share receiving
        elsewhere)}``, so ``effect`` without ``received``) and, with
        ``received``, ``true_cace`` (``{"employed_13_weeks": effect}``).

    Notes
    -----
    The data-generating process, person by person (days counted from
    randomisation, day 0):

    1. The probability of 13+ weeks in work in the first 12 months is
       :math:`p_i = \text{clip}(0.24 - 0.0015\,\text{months\_out\_of\_work}_i
       + 0.000004\,\text{prior\_earnings}_i - 0.03\,\text{mental\_health}_i +
       u_{j(i)}, 0.02, 0.9) + \text{effect} \times D_i`, with :math:`u_j \sim
       N(0, 0.04^2)` a jobcentre shock (outcomes are correlated within
       jobcentre) and :math:`D_i` receipt, as in
       :func:`~dwp_eval.datasets.whp_outcomes`. Those drawn to reach 13 weeks
       start a job between day 0 and 98 days before the window's last month
       and stay in work for at least 98 days (14 weeks) within the months that
       lie wholly inside the window, then a further exponential time (mean 240
       days).
    2. Of the others, a share :math:`0.2 + \text{effect} \times D_i` work
       less than 13 weeks: half a short job of 14 to 84 days inside the
       window, half a job starting in the window's last 84 days (and lasting
       beyond it). Their work within the months touching the window is at most
       84 days (12 weeks), so no convention for part months makes it 13. Of
       the rest, 30% start a job in the following year.
    3. 30% of those who reach 13 weeks leave, have a gap of 14 to 62
       days (often a calendar month with no pay record), and start another job;
       45% of everyone who worked start a further job 30 to 240 days after
       their last one ends (for those below 13 weeks, not before the window's
       last month ends).
    4. People with at most one month out of work and some prior earnings
       (80% of them) left a job shortly before the month of randomisation.
    5. Each job has hours a week of 16, 20, 25, 30 or 37.5 (more part-time
       with a health condition) and an hourly wage of the National Living Wage
       in force times a personal premium :math:`\exp(N(0.05, 0.12^2))` (at least
       0.97); each month's pay varies by :math:`\exp(N(0, 0.1^2))`, and 4% of
       months include a bonus of 20% to 100%.
    6. Benefit spells: people on a benefit at referral (``benefit`` not
       ``"none"``) have a spell from before referral that ends when they start
       work, 0 to 28 days after for jobs of 30+ hours, 14 to 180 days after
       for part-time jobs; 8% move to another benefit with up to 7 days of
       overlap. 60% of job endings start a new spell 0 to 21 days later, ending
       the same way at the next job. Spells still running at ``data_end`` are
       open (``end`` NaT).

    Examples
    --------
    >>> from dwp_eval.datasets import whp_like
    >>> from dwp_eval.datasets.admin import whp_monthly_records
    >>> people = whp_like(n=400, seed=1)
    >>> rec = whp_monthly_records(people, ["treatment", "control"] * 200, seed=2)
    >>> list(rec.employment.columns)
    ['id', 'month', 'earnings', 'weeks_employed']
    >>> list(rec.benefits.columns)
    ['id', 'start', 'end']
    >>> rec.truth.attrs["true_itt"]
    {'employed_13_weeks': 0.04}
    """
    rng = check_seed(seed, func=_FUNC)
    _whp_people(people, _NEEDED, func=_FUNC)
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise OptionError(
            f"The 'months' parameter of {_FUNC} must be a positive int. Got {months!r} instead."
        )
    if (
        isinstance(effect, bool)
        or not isinstance(effect, (int, float, np.floating))
        or not 0.0 <= float(effect) <= 0.1
    ):
        raise OptionError(
            f"The 'effect' parameter of {_FUNC} must be a number from 0 to 0.1 (a change in the "
            f"probability of 13+ weeks in work). Got {effect!r} instead."
        )
    effect = float(effect)
    n = len(people)
    arm: np.ndarray | None = None
    if assigned is not None:
        arm = _arms(assigned, n, func=_FUNC)
    if received is not None:
        d = _binary_array(received, n, param="received", func=_FUNC).astype(bool)
    elif arm is not None:
        d = arm == treatment
    else:
        d = np.zeros(n, dtype=bool)

    ids = people["id"].to_numpy()
    rand_dates = pd.to_datetime(people["referred_on"])
    if rand_dates.isna().any():
        raise OptionError(
            f"The 'people' parameter of {_FUNC} has missing 'referred_on' dates. "
            f"Fix: remove those people or fill in their dates."
        )
    rand = rand_dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    if data_end is None:
        last = int((add_months(rand, int(months)) - 1).max())
        end_day = int(month_start(month_of(np.array([last])) + 1)[0]) - 1
    else:
        end_day = _end_day(data_end)
        if end_day < int(rand.min()):
            raise OptionError(
                f"The 'data_end' parameter of {_FUNC} must be after the first randomisation "
                f"({np.datetime64(int(rand.min()), 'D')}) and its month must be complete; "
                f"got {data_end!r}, which leaves no records."
            )

    # 1. who reaches 13 weeks in the first year, and who works less
    base, _ = _chance_of_13_weeks(people, rng)
    out_months = people["months_out_of_work"].to_numpy(dtype=float)
    prior = people["prior_earnings"].to_numpy(dtype=float)
    health = people["health_condition"].to_numpy().astype(str) != "none"
    p13 = base + effect * d
    reach = rng.random(n) < p13
    some = ~reach & (rng.random(n) < 0.2 + effect * d)

    # window geometry, in days from randomisation
    w12 = add_months(rand, 12) - rand
    r_month = month_of(rand)
    first_full = month_start(r_month + 1) - rand  # first month wholly inside the window
    last_month = month_of(rand + w12 - 1)
    last_start = month_start(last_month) - rand  # the window's last (partial) month
    touch_end = month_start(last_month + 1) - rand  # end of the months touching the window

    s1 = np.full(n, _NEVER, dtype=np.int64)
    e1 = np.full(n, _NEVER, dtype=np.int64)
    start13 = np.floor(rng.random(n) ** 1.6 * (last_start - 98 + 1)).astype(np.int64)
    tail = np.floor(rng.exponential(240.0, size=n)).astype(np.int64)
    s1 = np.where(reach, start13, s1)
    e1 = np.where(reach, np.maximum(start13, first_full) + 98 + tail, e1)
    short = some & (rng.random(n) < 0.5)
    length = rng.integers(14, 85, size=n)
    s_short = np.floor(rng.random(n) * (w12 - length + 1)).astype(np.int64)
    s1 = np.where(short, s_short, s1)
    e1 = np.where(short, s_short + length, e1)
    late = some & ~short
    s_late = rng.integers(touch_end - 84, w12 - 7 + 1)
    s1 = np.where(late, s_late, s1)
    e1 = np.where(late, s_late + 7 + tail, e1)
    later = ~reach & ~some & (rng.random(n) < 0.3)
    s_later = touch_end + rng.integers(0, 366, size=n)
    e1 = np.where(later, s_later + 30 + tail, e1)
    s1 = np.where(later, s_later, s1)
    worked = s1 < _NEVER

    # 3. gaps and later jobs
    gap = reach & (rng.random(n) < 0.3)
    s2 = np.where(gap, e1 + rng.integers(14, 63, size=n), _NEVER)
    e2 = np.where(gap, s2 + 30 + np.floor(rng.exponential(200.0, size=n)).astype(np.int64), _NEVER)
    again = worked & (rng.random(n) < 0.45)
    s3 = np.where(gap, e2, e1) + rng.integers(30, 241, size=n)
    s3 = np.where(reach, s3, np.maximum(s3, touch_end))
    s3 = np.where(again, s3, _NEVER)
    e3 = np.where(
        again, s3 + 30 + np.floor(rng.exponential(240.0, size=n)).astype(np.int64), _NEVER
    )

    # 4. a job that ended before the month of randomisation
    pre = (out_months <= 1) & (prior > 0) & (rng.random(n) < 0.8)
    e0 = (month_start(r_month) - rand) - rng.integers(0, 21, size=n)
    s0 = e0 - rng.integers(60, 401, size=n)

    # 5. jobs -> person-months
    hours = np.where(
        health[:, None],
        rng.choice(len(_HOURS), size=(n, 4), p=_HOURS_P_HEALTH),
        rng.choice(len(_HOURS), size=(n, 4), p=_HOURS_P_NONE),
    )
    hours = _HOURS[hours]
    premium = np.maximum(np.exp(rng.normal(0.05, 0.12, size=(n, 4))), 0.97)
    job_who, job_s, job_e, job_h, job_p = [], [], [], [], []
    for k, (has, s, e) in enumerate(
        ((pre, s0, e0), (worked, s1, e1), (gap, s2, e2), (again, s3, e3))
    ):
        who = np.flatnonzero(has)
        job_who.append(who)
        job_s.append(rand[who] + s[who])
        job_e.append(np.minimum(rand[who] + e[who], end_day + 1))
        job_h.append(hours[who, k])
        job_p.append(premium[who, k])
    who = np.concatenate(job_who)
    st = np.concatenate(job_s)
    en = np.concatenate(job_e)
    hrs = np.concatenate(job_h)
    prem = np.concatenate(job_p)
    ok = en > st
    who, st, en, hrs, prem = who[ok], st[ok], en[ok], hrs[ok], prem[ok]
    first_m = month_of(st)
    count = month_of(en - 1) - first_m + 1
    rep = np.repeat(np.arange(who.size), count)
    offset = np.arange(rep.size) - np.repeat(np.cumsum(count) - count, count)
    month = first_m[rep] + offset
    m_start = month_start(month)
    m_end = month_start(month + 1)
    days = (np.minimum(en[rep], m_end) - np.maximum(st[rep], m_start)).astype(float)
    wage = _nlw_at(m_start) * prem[rep]
    noise = np.exp(rng.normal(0.0, 0.1, size=rep.size))
    bonus = np.where(rng.random(rep.size) < 0.04, 1 + rng.uniform(0.2, 1.0, size=rep.size), 1.0)
    pay = days / 7.0 * hrs[rep] * wage * noise * bonus
    person = who[rep]
    lo = int(month.min()) if month.size else 0
    span = int(month.max()) - lo + 1 if month.size else 1
    key = person.astype(np.int64) * span + (month - lo)
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    cell_days = np.add.reduceat(days[order], first) if key.size else np.zeros(0)
    cell_pay = np.add.reduceat(pay[order], first) if key.size else np.zeros(0)
    cell_person = key[first] // span
    cell_month = key[first] % span + lo
    end_text = str(np.datetime64(end_day, "D"))
    employment = pd.DataFrame(
        {
            "id": ids[cell_person],
            "month": cell_month.astype("datetime64[M]").astype("datetime64[ns]"),
            "earnings": np.round(cell_pay, 2),
            "weeks_employed": np.round(cell_days / 7.0, 2),
        }
    )
    employment.attrs["data_end"] = end_text

    # 6. benefit spells (relative days, both ends included)
    if "benefit" in people.columns:
        on_benefit = people["benefit"].to_numpy().astype(str) != "none"
    else:
        on_benefit = np.ones(n, dtype=bool)

    def run_on(hours_col: int) -> np.ndarray:
        full_time = hours[:, hours_col] >= 30
        return np.where(full_time, rng.integers(0, 29, size=n), rng.integers(14, 181, size=n))

    def ends_at(next_start: np.ndarray, hours_col: int) -> np.ndarray:
        return np.where(next_start < _NEVER, next_start + run_on(hours_col), _NEVER)

    b_who, b_s, b_e = [], [], []

    def add(mask: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        keep = mask & (start <= end)
        w = np.flatnonzero(keep)
        b_who.append(w)
        b_s.append(start[w])
        b_e.append(end[w])

    b0_start = np.where(
        pre,
        np.minimum(e0 + rng.integers(1, 15, size=n), 0),
        -(np.round(out_months * 30.44).astype(np.int64) + rng.integers(0, 61, size=n)),
    )
    b0_end = ends_at(np.where(worked, s1, _NEVER), 1)
    move = on_benefit & (rng.random(n) < 0.08)
    move_day = rng.integers(30, 400, size=n)
    move = move & (move_day < b0_end - 1) & (move_day > b0_start)
    add(on_benefit, b0_start, np.where(move, move_day, b0_end))
    add(move, move_day - rng.integers(0, 8, size=n), b0_end)
    next_after_1 = np.where(gap, s2, s3)
    for has, e, nxt, col in (
        (worked, e1, next_after_1, 2),
        (gap, e2, s3, 3),
        (again, e3, np.full(n, _NEVER), 3),
    ):
        claim = has & (e < _NEVER) & (rng.random(n) < 0.6)
        add(claim, e + rng.integers(0, 22, size=n), ends_at(nxt, col))
    bw = np.concatenate(b_who)
    bs = rand[bw] + np.concatenate(b_s)
    be_rel = np.concatenate(b_e)
    be = rand[bw] + be_rel
    keep = bs <= end_day
    bw, bs, be, be_rel = bw[keep], bs[keep], be[keep], be_rel[keep]
    open_ = (be_rel >= _NEVER) | (be > end_day)
    border = np.lexsort((bs, bw))
    benefits = pd.DataFrame(
        {
            "id": ids[bw[border]],
            "start": bs[border].astype("datetime64[D]").astype("datetime64[ns]"),
            "end": np.where(open_, np.datetime64("NaT", "D"), be.astype("datetime64[D]"))[border].astype(
                "datetime64[ns]"
            ),
        }
    )
    benefits.attrs["data_end"] = end_text

    truth = pd.DataFrame({"id": ids})
    if arm is not None:
        truth["arm"] = arm
    truth["received"] = d.astype(np.int64)
    truth["employed_13_weeks"] = reach.astype(np.int64)
    truth["any_employment"] = (reach | some).astype(np.int64)
    truth.attrs["data_end"] = end_text
    if arm is not None:
        in_t = arm == treatment
        share_t = float(d[in_t].mean()) if in_t.any() else 0.0
        share_c = float(d[~in_t].mean()) if (~in_t).any() else 0.0
        truth.attrs["true_itt"] = {"employed_13_weeks": effect * (share_t - share_c)}
    if received is not None:
        truth.attrs["true_cace"] = {"employed_13_weeks": effect}
    return AdminRecords(employment, benefits, truth)
