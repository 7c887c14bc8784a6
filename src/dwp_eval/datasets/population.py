"""A synthetic population shaped like a Work and Health Programme / IPS trial."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwp_eval._validation import check_seed
from dwp_eval.errors import OptionError

__all__ = ["SITES", "whp_like"]

#: Sites (contract-package areas) with their share of referrals and jobcentre count.
SITES: dict[str, tuple[float, int]] = {
    "North East": (0.12, 5),
    "North West": (0.20, 8),
    "Central": (0.18, 7),
    "Home Counties": (0.14, 6),
    "London": (0.22, 9),
    "Southern": (0.09, 4),
    "Wales": (0.05, 3),
}

BENEFITS = ("UC", "ESA", "JSA", "none")
BENEFIT_P = (0.46, 0.34, 0.12, 0.08)
CONDITIONS = ("mental_health", "musculoskeletal", "other_physical", "none")
CONDITION_P = (0.41, 0.24, 0.17, 0.18)


def whp_like(n: int = 10_000, *, seed: int | np.random.Generator) -> pd.DataFrame:
    """A synthetic trial population like the Work and Health Programme RCT.

    People are referred over 17 months (from 27 November 2017) at jobcentres
    nested in seven sites, as in the WHP and the IPS health-led trials. The
    numbers are invented; only the shape (sites of unequal size, jobcentres
    within sites, a mix of benefits and health conditions, zero-inflated prior
    earnings) follows published descriptions of those trials.

    Parameters
    ----------
    n
        Number of people.
    seed
        An int or a ``numpy.random.Generator``.

    Returns
    -------
    pandas.DataFrame
        One row per person, sorted by ``id``, with columns

        ``id`` (int, 1..n), ``referred_on`` (date of referral, which is also the
        date of randomisation), ``site`` (7 areas), ``jobcentre`` (``"<site
        initials>-<nn>"``, nested in site, 3 to 9 per site), ``benefit``
        (``UC``, ``ESA``, ``JSA``, ``none``), ``health_condition``
        (``mental_health``, ``musculoskeletal``, ``other_physical``, ``none``),
        ``disability`` (0/1), ``female`` (0/1), ``age`` (18-64),
        ``months_out_of_work`` (0-120), ``prior_earnings`` (pounds in the two
        years before referral; zero for about 55%).

    Examples
    --------
    >>> from dwp_eval.datasets import whp_like
    >>> people = whp_like(n=5, seed=3)
    >>> list(people.columns[:4])
    ['id', 'referred_on', 'site', 'jobcentre']
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OptionError(f"The 'n' parameter of whp_like must be a positive int. Got {n!r} instead.")
    rng = check_seed(seed, func="whp_like")
    n = int(n)
    names = list(SITES)
    share = np.array([SITES[s][0] for s in names])
    site_idx = rng.choice(len(names), size=n, p=share / share.sum())
    n_jc = np.array([SITES[s][1] for s in names])
    # jobcentres within a site have unequal sizes (Dirichlet shares)
    jc_within = np.empty(n, dtype=np.int64)
    for k, m in enumerate(n_jc):
        who = np.flatnonzero(site_idx == k)
        p = rng.dirichlet(np.full(m, 3.0))
        jc_within[who] = rng.choice(m, size=len(who), p=p)
    initials = ["".join(w[0] for w in s.split()) for s in names]
    jobcentre = np.array([f"{initials[s]}-{j + 1:02d}" for s, j in zip(site_idx, jc_within, strict=True)])

    benefit = rng.choice(len(BENEFITS), size=n, p=BENEFIT_P)
    condition = rng.choice(len(CONDITIONS), size=n, p=CONDITION_P)
    disability = (rng.random(n) < np.where(condition < 3, 0.78, 0.25)).astype(np.int64)
    female = (rng.random(n) < 0.44).astype(np.int64)
    age = np.clip(np.round(rng.normal(44, 11, size=n)), 18, 64).astype(np.int64)
    months = np.clip(np.round(rng.exponential(np.where(benefit == 1, 40, 14))), 0, 120).astype(np.int64)
    has_earn = rng.random(n) < 1 / (1 + np.exp(-(0.9 - 0.035 * months + 0.2 * (benefit == 2))))
    earnings = np.where(has_earn, np.round(rng.lognormal(8.6, 0.9, size=n), 2), 0.0)
    start = np.datetime64("2017-11-27")
    days = np.sort(rng.integers(0, 17 * 30, size=n))
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "referred_on": pd.to_datetime(start + days.astype("timedelta64[D]")),
            "site": pd.Categorical.from_codes(site_idx, categories=names).astype(str),
            "jobcentre": jobcentre,
            "benefit": np.asarray(BENEFITS, dtype=object)[benefit],
            "health_condition": np.asarray(CONDITIONS, dtype=object)[condition],
            "disability": disability,
            "female": female,
            "age": age,
            "months_out_of_work": months,
            "prior_earnings": earnings,
        }
    )
    return frame

