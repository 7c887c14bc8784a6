"""Twelve-month outcomes with known effects for a synthetic :func:`whp_like` population."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwp_eval._validation import check_seed
from dwp_eval.datasets._common import _arms, _binary_array, _chance_of_13_weeks

__all__ = ["OUTCOMES", "whp_outcomes"]

#: The outcome columns made by :func:`whp_outcomes`.
OUTCOMES = ("employed_13_weeks", "any_employment", "earnings_12m", "days_on_benefit")


def whp_outcomes(
    people: pd.DataFrame,
    assigned: pd.Series | np.ndarray,
    *,
    seed: int | np.random.Generator,
    treatment: str = "treatment",
    effect: float = 0.04,
    received: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Twelve-month outcomes for a :func:`whp_like` population, with known ITT (or CACE) effects.

    Parameters
    ----------
    people
        Output of :func:`whp_like` (uses ``months_out_of_work``, ``prior_earnings``,
        ``health_condition``, ``age``, ``jobcentre``).
    assigned
        Each person's arm, aligned with ``people``.
    seed
        An int or a ``numpy.random.Generator``.
    treatment
        The arm that receives the programme.
    effect
        The true ITT on ``employed_13_weeks`` (a proportion: 0.04 is 4
        percentage points, the IPS health-led trial's headline). With
        ``received``, the true effect of *receiving* the programme (the CACE).
    received
        Optional 0/1 per person, aligned with ``people``: who actually received
        the programme (or provision like it), e.g. ``truth["received"]`` from
        :func:`whp_referrals`. When given, the effect is carried by receipt
        alone: receiving raises the probability of 13+ weeks in work by
        exactly ``effect`` for everyone who receives, in either arm, and
        assignment has no effect of its own (the exclusion restriction holds).
        The true CACE is then ``effect`` (in ``frame.attrs["true_cace"]``), and
        the true ITT given the realised receipt is ``effect x (share receiving
        in the treatment arm - share receiving in the control arm)`` (in
        ``frame.attrs["true_itt"]``; Angrist, Imbens & Rubin 1996). Without it
        (the default, as before) everyone in the treatment arm receives and
        nobody else does, so the ITT is ``effect``.

    Returns
    -------
    pandas.DataFrame
        ``id`` and the outcomes ``employed_13_weeks`` (0/1: 13+ weeks in work in
        the 12 months after randomisation), ``any_employment`` (0/1),
        ``earnings_12m`` (pounds) and ``days_on_benefit`` (0-365). Being in the
        treatment arm raises the probability of 13+ weeks in work by exactly
        ``effect`` for everyone (a constant additive effect on the probability
        scale, so the true ITT on ``employed_13_weeks`` is ``effect``, stored in
        ``frame.attrs["true_itt"]``); it also raises any employment and
        earnings and lowers days on benefit, by amounts that have no closed
        form. Jobcentres add a shared shock, so outcomes are correlated within
        jobcentre.

    Examples
    --------
    >>> from dwp_eval.datasets import whp_like, whp_outcomes
    >>> people = whp_like(n=200, seed=1)
    >>> out = whp_outcomes(people, ["treatment", "control"] * 100, seed=2)
    >>> out.attrs["true_itt"]["employed_13_weeks"]
    0.04
    """
    rng = check_seed(seed, func="whp_outcomes")
    n = len(people)
    arm = _arms(assigned, n, func="whp_outcomes")
    t = (arm == treatment).astype(float)
    itt_true = effect
    if received is not None:
        d = _binary_array(received, n, param="received", func="whp_outcomes")
        share_t = float(d[arm == treatment].mean()) if (arm == treatment).any() else 0.0
        share_c = float(d[arm != treatment].mean()) if (arm != treatment).any() else 0.0
        itt_true = effect * (share_t - share_c)
        t = d.astype(float)
    base13, shock = _chance_of_13_weeks(people, rng)
    months = people["months_out_of_work"].to_numpy(dtype=float)
    earn = people["prior_earnings"].to_numpy(dtype=float)
    p13 = base13 + effect * t
    employed13 = (rng.random(n) < p13).astype(np.int64)
    p_any = np.clip(base13 + 0.12, 0, 0.95) + 1.25 * effect * t
    any_emp = np.maximum(employed13, (rng.random(n) < p_any).astype(np.int64))
    mean_earn = 3000 + 0.35 * earn - 20 * months + 25_000 * effect * t + 40_000 * shock
    earnings = np.where(any_emp == 1, np.maximum(0, rng.normal(mean_earn, 2500)), 0.0)
    earnings = np.round(earnings, 2)
    days = np.clip(np.round(rng.normal(300 - 250 * effect * t - 60 * employed13, 40)), 0, 365)
    frame = pd.DataFrame(
        {
            "id": people["id"].to_numpy(),
            "employed_13_weeks": employed13,
            "any_employment": any_emp,
            "earnings_12m": earnings,
            "days_on_benefit": days.astype(np.int64),
        }
    )
    frame.attrs["true_itt"] = {"employed_13_weeks": itt_true}
    if received is not None:
        frame.attrs["true_cace"] = {"employed_13_weeks": effect}
    return frame

