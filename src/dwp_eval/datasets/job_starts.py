"""Synthetic admin records with a known effect on *when* people find work.

:func:`whp_job_starts` gives a :func:`~dwp_eval.datasets.whp_like` population
monthly employment records (HMRC RTI-like) and benefit spells in which the
programme multiplies the hazard of starting a job by a known hazard ratio, with
the true job start and benefit exit days kept, for
:func:`~dwp_eval.outcomes.time_to_event` and survival analyses ("when did people
find work?").
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.records import add_months, month_of, month_start, scalar_date
from dwp_eval._validation import check_seed
from dwp_eval.datasets._common import _arms, _whp_people
from dwp_eval.datasets.admin import AdminRecords
from dwp_eval.errors import OptionError

__all__ = ["TRUE_RMST_HORIZONS", "whp_job_starts"]

_FUNC = "whp_job_starts"
_NEEDED = ("id", "referred_on", "prior_earnings", "months_out_of_work", "health_condition")
_NEVER = 10_000_000
#: Horizons (days) at which :func:`whp_job_starts` reports the true restricted mean time.
TRUE_RMST_HORIZONS = (182, 365, 730)
# hours a week of a job and their probabilities; the hourly wage (pounds) of 2018-19
_HOURS = np.array([16.0, 20.0, 25.0, 30.0, 37.5])
_HOURS_P = np.array([0.22, 0.18, 0.17, 0.13, 0.30])
_WAGE = 7.83


def _positive(value: Any, param: str, what: str) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) <= 0:
        raise OptionError(
            f"The '{param}' parameter of {_FUNC} must be a positive number ({what}). "
            f"Got {value!r} instead."
        )
    return float(value)


def _log_multiplier(people: pd.DataFrame) -> np.ndarray:
    """Each person's log hazard multiplier from their baseline characteristics."""
    months = people["months_out_of_work"].to_numpy(dtype=float)
    earn = people["prior_earnings"].to_numpy(dtype=float)
    condition = people["health_condition"].to_numpy(dtype=object)
    eta = (
        -0.5 * np.log1p(months / 12.0)
        + 0.15 * np.log1p(earn / 1000.0)
        - 0.3 * (condition == "mental_health")
        - 0.15 * (condition == "musculoskeletal")
    )
    return np.asarray(eta - eta.mean(), dtype=float)


def whp_job_starts(
    people: pd.DataFrame,
    assigned: pd.Series | np.ndarray,
    *,
    seed: int | np.random.Generator,
    hazard_ratio: float = 1.25,
    scale_days: float = 900.0,
    shape: float = 0.85,
    covariate_effects: bool = True,
    months: int = 24,
    data_end: str | _dt.date | np.datetime64 | None = None,
    treatment: str = "treatment",
) -> AdminRecords:
    r"""Monthly employment records and benefit spells with a known effect on time to a first job.

    Parameters
    ----------
    people
        Output of :func:`~dwp_eval.datasets.whp_like` (uses ``id``,
        ``referred_on``, the date of randomisation, ``prior_earnings``,
        ``months_out_of_work``, ``health_condition`` and, if present,
        ``benefit``).
    assigned
        Each person's arm, aligned with ``people``.
    seed
        An int or a ``numpy.random.Generator``.
    hazard_ratio
        The programme's hazard ratio for starting a first job (``treatment``
        arm over any other; above 1: sooner).
    scale_days, shape
        The Weibull baseline: :math:`S_0(t) = \exp\{-(t/\lambda)^k\}` with
        :math:`\lambda` = ``scale_days`` and :math:`k` = ``shape`` (0.85: a
        falling hazard, as the longer out of work find work more slowly).
        The defaults put about 38% of the control arm in work within a year
        (45% of the programme arm with the default hazard ratio).
    covariate_effects
        If True, each person's hazard is multiplied by :math:`\exp(\eta_i)`
        from months out of work, prior earnings and health condition (centred
        on 0); the hazard ratio is then conditional on them, and the marginal
        hazards by arm are not exactly proportional. If False, everyone has the
        baseline hazard, so ``hazard_ratio`` is also the marginal one.
    months
        Months of records after the latest randomisation (ignored when
        ``data_end`` is given): the records end on the last day of the month
        in which the latest-randomised person's ``months`` months end.
    data_end
        Optional extract date instead: records end on the last day of the
        last complete month on or before it.
    treatment
        The label of the programme arm in ``assigned``.

    Returns
    -------
    AdminRecords
        A named tuple of three DataFrames, each with ``attrs["data_end"]``.

        ``employment``: ``id``, ``month`` (datetime64, first day of the
        month), ``earnings`` (pounds, > 0) and ``weeks_employed`` (days in
        work that month / 7, to two decimals), one row per person and month
        paid, sorted by person and month. Some people have a job that ended in
        the month before the month of randomisation.

        ``benefits``: ``id``, ``start``, ``end`` (both days included; NaT:
        open at ``data_end``).

        ``truth``: one row per person in the order of ``people``: ``id``,
        ``arm``, ``job_start`` (the first day of the first job after
        randomisation; NaT if after ``data_end``), ``on_benefit`` (0/1: on
        benefit on the day of randomisation) and ``benefit_exit`` (the last
        day of that spell; NaT if none or not ended by ``data_end``).
        ``truth.attrs["true"]`` holds ``hazard_ratio``, ``scale_days``,
        ``shape``, ``covariate_effects`` and ``rmst``: for each horizon
        :math:`\tau` in :data:`TRUE_RMST_HORIZONS`, ``{"control",
        "treatment", "difference"}``, the restricted mean time to a first job
        in days for this population under each arm (see Notes).

    Notes
    -----
    Person :math:`i` with :math:`d_i = 1` in the programme arm starts a first
    job after a continuous time :math:`T_i` (days from randomisation) with
    survival :math:`S_i(t) = \exp\{-(t/\lambda)^k \exp(\eta_i)\,
    \theta^{d_i}\}`, :math:`\theta` = ``hazard_ratio`` (Cox proportional
    hazards with a Weibull baseline; drawn by inversion, Bender, Augustin &
    Blettner 2005, *Stat. Med.* 24:1713, eq. 6). The job starts on day
    :math:`\lfloor T_i \rfloor` after randomisation (day 0: the day of
    randomisation), so in the day count of
    :func:`~dwp_eval.outcomes.time_to_event` (the day of randomisation is day
    1) the duration is :math:`\lfloor T_i \rfloor + 1`. The true restricted
    mean duration to horizon :math:`\tau` (whole days) under arm :math:`a` is
    then

    .. math::

        \mu_a(\tau) = \int_0^\tau P(\lfloor T \rfloor + 1 > t)\, dt
        = \frac{1}{n} \sum_i \sum_{j=0}^{\tau - 1} S_i(j \mid d = a),

    averaged over this population's covariates (the finite-population
    estimand of a trial). Durations read from the monthly records by
    ``time_to_event`` are coarser (a job is dated to the first day of its
    month, or the day of randomisation), so their restricted means are a few
    days shorter than :math:`\mu_a`, in both arms.

    Jobs last :math:`30 + \text{Exp}(\text{mean } 300)` days; 40% of those
    ending before the records end are followed by another job 30 to 240 days
    later. People on a benefit at referral (``benefit`` not ``"none"``, or
    everyone without that column) are on a spell from before randomisation
    that ends when they start work: 0 to 28 days after for jobs of 30 or more
    hours, 14 to 180 days after for part-time jobs. 60% of job endings start a
    new spell 0 to 21 days later. 80% of people with at most one month out of
    work and some prior earnings had a job that ended in the month before the
    month of randomisation. Pay is the days in work / 7 x hours x £7.83 x a
    personal premium :math:`\exp(N(0.05, 0.12^2))`.

    Examples
    --------
    >>> from dwp_eval.datasets import whp_like, whp_job_starts
    >>> people = whp_like(n=400, seed=1)
    >>> rec = whp_job_starts(people, ["treatment", "control"] * 200, seed=2)
    >>> list(rec.truth.columns)
    ['id', 'arm', 'job_start', 'on_benefit', 'benefit_exit']
    >>> rec.truth.attrs["true"]["hazard_ratio"]
    1.25
    """
    rng = check_seed(seed, func=_FUNC)
    _whp_people(people, _NEEDED, func=_FUNC)
    theta = _positive(hazard_ratio, "hazard_ratio", "the hazard ratio, e.g. 1.25")
    lam = _positive(scale_days, "scale_days", "the Weibull scale in days")
    k = _positive(shape, "shape", "the Weibull shape")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise OptionError(
            f"The 'months' parameter of {_FUNC} must be a positive int. Got {months!r} instead."
        )
    n = len(people)
    arm = _arms(assigned, n, func=_FUNC)
    d = arm == treatment
    rand = pd.to_datetime(people["referred_on"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    if data_end is None:
        last = int((add_months(rand, int(months)) - 1).max())
        end_day = int(month_start(month_of(np.array([last])) + 1)[0]) - 1
    else:
        day = scalar_date(data_end, param="data_end", func=_FUNC, example="2019-12-31")
        end_day = int(month_start(month_of(np.array([day + 1])))[0]) - 1
        if end_day < int(rand.min()):
            raise OptionError(
                f"The 'data_end' parameter of {_FUNC} must leave a complete month after the first "
                f"randomisation ({np.datetime64(int(rand.min()), 'D')}). Got {data_end!r}."
            )

    # first job: T = lambda * (-log U / (exp(eta) theta^d))^(1/k)
    eta = _log_multiplier(people) if covariate_effects else np.zeros(n)
    rate = np.exp(eta) * np.where(d, theta, 1.0)
    t = lam * (-np.log(rng.random(n)) / rate) ** (1.0 / k)
    s1 = np.floor(np.minimum(t, _NEVER)).astype(np.int64)  # days after randomisation
    e1 = s1 + 30 + np.floor(rng.exponential(300.0, size=n)).astype(np.int64)
    again = rng.random(n) < 0.4
    s2 = np.where(again, e1 + rng.integers(30, 241, size=n), _NEVER)
    e2 = np.where(again, s2 + 30 + np.floor(rng.exponential(300.0, size=n)).astype(np.int64),
                  _NEVER)
    out_months = people["months_out_of_work"].to_numpy(dtype=float)
    prior = people["prior_earnings"].to_numpy(dtype=float)
    pre = (out_months <= 1) & (prior > 0) & (rng.random(n) < 0.8)
    e0 = (month_start(month_of(rand)) - rand) - rng.integers(0, 21, size=n)  # exclusive
    s0 = e0 - rng.integers(60, 401, size=n)
    hours = _HOURS[rng.choice(len(_HOURS), size=(n, 3), p=_HOURS_P)]
    premium = np.maximum(np.exp(rng.normal(0.05, 0.12, size=n)), 0.97)

    employment = _months_paid(
        people["id"].to_numpy(), rand, end_day, premium,
        [(pre, s0, e0, hours[:, 0]), (s1 < _NEVER, s1, e1, hours[:, 1]),
         (again, s2, e2, hours[:, 2])],
    )
    on_benefit = (people["benefit"].to_numpy().astype(str) != "none"
                  if "benefit" in people.columns else np.ones(n, dtype=bool))

    def lag(h: np.ndarray) -> np.ndarray:
        return np.where(h >= 30, rng.integers(0, 29, size=n), rng.integers(14, 181, size=n))

    b0_start = -(np.round(out_months * 30.44).astype(np.int64) + rng.integers(0, 61, size=n))
    b0_start = np.where(pre, np.minimum(e0 + rng.integers(0, 15, size=n), 0), b0_start)
    b0_end = np.where(s1 < _NEVER, s1 + lag(hours[:, 1]), _NEVER)
    claim1 = rng.random(n) < 0.6
    # a new claim starts at least two days after the last ended (one day off benefit), so
    # that spells never join and each exit is the truth's
    b1_start = np.maximum(e1 + rng.integers(0, 22, size=n), b0_end + 2)
    b1_end = np.where(again, s2 + lag(hours[:, 2]), _NEVER)
    claim2 = again & (rng.random(n) < 0.6)
    b2_start = np.maximum(e2 + rng.integers(0, 22, size=n), b1_end + 2)
    parts = [(on_benefit, b0_start, b0_end),
             (claim1 & (s1 < _NEVER) & (b1_start < b1_end), b1_start, b1_end),
             (claim2 & (b2_start < _NEVER), b2_start, np.full(n, _NEVER))]
    benefits = _spells(people["id"].to_numpy(), rand, end_day, parts)

    end_text = str(np.datetime64(end_day, "D"))
    employment.attrs["data_end"] = end_text
    benefits.attrs["data_end"] = end_text
    start_day = rand + s1
    exit_day = rand + b0_end
    truth = pd.DataFrame({"id": people["id"].to_numpy(), "arm": arm})
    truth["job_start"] = _dates(np.where(start_day <= end_day, start_day, _NEVER))
    truth["on_benefit"] = on_benefit.astype(np.int64)
    truth["benefit_exit"] = _dates(np.where(on_benefit & (exit_day <= end_day), exit_day, _NEVER))
    truth.attrs["data_end"] = end_text
    truth.attrs["true"] = {
        "hazard_ratio": theta,
        "scale_days": lam,
        "shape": k,
        "covariate_effects": bool(covariate_effects),
        "rmst": _true_rmst(np.exp(eta), theta, lam, k),
    }
    return AdminRecords(employment, benefits, truth)


def _dates(day: np.ndarray) -> np.ndarray:
    """Day numbers as datetime64[ns]; ``_NEVER`` and beyond as NaT."""
    never = day >= _NEVER // 2  # masked before converting: numpy 2.5 raises on the overflow
    out = np.where(never, 0, day).astype("datetime64[D]").astype("datetime64[ns]")
    out[never] = np.datetime64("NaT", "ns")
    return out


def _true_rmst(mult: np.ndarray, theta: float, lam: float, k: float) -> dict[int, dict[str, float]]:
    """The restricted mean duration (the day of randomisation as day 1) by arm at each
    horizon: the mean over people of the sum over whole days of their survival."""
    out: dict[int, dict[str, float]] = {}
    j = np.arange(max(TRUE_RMST_HORIZONS), dtype=float)
    base = (j / lam) ** k  # cumulative baseline hazard at day j
    by_arm = {}
    for name, hr in (("control", 1.0), ("treatment", theta)):
        # mean over people of S_i(j), day by day (people in chunks to bound memory)
        s = np.zeros(j.size)
        for lo in range(0, mult.size, 2000):
            s += np.exp(-np.outer(mult[lo:lo + 2000] * hr, base)).sum(axis=0)
        by_arm[name] = np.cumsum(s / mult.size)
    for tau in TRUE_RMST_HORIZONS:
        c, t = float(by_arm["control"][tau - 1]), float(by_arm["treatment"][tau - 1])
        out[tau] = {"control": c, "treatment": t, "difference": t - c}
    return out


def _months_paid(
    ids: np.ndarray, rand: np.ndarray, end_day: int, premium: np.ndarray,
    jobs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """One row per person and month paid from jobs (mask, start, exclusive end, hours; days
    relative to randomisation), cut at ``end_day``."""
    who_l, st_l, en_l, h_l = [], [], [], []
    for has, s, e, h in jobs:
        w = np.flatnonzero(has & (s < _NEVER))
        who_l.append(w)
        st_l.append(rand[w] + s[w])
        en_l.append(np.minimum(rand[w] + np.minimum(e[w], _NEVER), end_day + 1))
        h_l.append(h[w])
    who, st, en, hrs = (np.concatenate(x) for x in (who_l, st_l, en_l, h_l))
    ok = en > st
    who, st, en, hrs = who[ok], st[ok], en[ok], hrs[ok]
    first = month_of(st)
    count = month_of(en - 1) - first + 1
    rep = np.repeat(np.arange(who.size), count)
    month = first[rep] + np.arange(rep.size) - np.repeat(np.cumsum(count) - count, count)
    days = (np.minimum(en[rep], month_start(month + 1))
            - np.maximum(st[rep], month_start(month))).astype(float)
    pay = days / 7.0 * hrs[rep] * _WAGE * premium[who[rep]]
    frame = pd.DataFrame({"p": who[rep], "month": month, "days": days, "pay": pay})
    cell = frame.groupby(["p", "month"], sort=True).sum()
    p = cell.index.get_level_values("p").to_numpy()
    m = cell.index.get_level_values("month").to_numpy()
    return pd.DataFrame({
        "id": ids[p],
        "month": m.astype("datetime64[M]").astype("datetime64[ns]"),
        "earnings": np.round(cell["pay"].to_numpy(), 2),
        "weeks_employed": np.round(np.minimum(cell["days"].to_numpy(), 31.0) / 7.0, 2),
    })


def _spells(
    ids: np.ndarray, rand: np.ndarray, end_day: int,
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Benefit spells (mask, first day, last day relative to randomisation; ``_NEVER``:
    open) as rows, cut at ``end_day`` (later ends are open), sorted by person and start."""
    w_l, s_l, e_l = [], [], []
    for has, s, e in parts:
        w = np.flatnonzero(has & (s <= e))
        w_l.append(w)
        s_l.append(rand[w] + s[w])
        e_l.append(np.where(e[w] >= _NEVER, _NEVER, rand[w] + e[w]))
    w, s, e = (np.concatenate(x) for x in (w_l, s_l, e_l))
    keep = s <= end_day
    w, s, e = w[keep], s[keep], e[keep]
    order = np.lexsort((s, w))
    w, s, e = w[order], s[order], e[order]
    return pd.DataFrame({
        "id": ids[w],
        "start": s.astype("datetime64[D]").astype("datetime64[ns]"),
        "end": _dates(np.where(e > end_day, _NEVER, e)),
    })
