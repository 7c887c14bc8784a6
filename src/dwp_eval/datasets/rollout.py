"""A synthetic staggered area roll-out (an area pilot evaluated by difference-in-differences)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dwp_eval._validation import check_seed
from dwp_eval.errors import OptionError

__all__ = ["area_rollout"]

REGIONS = ("North East", "North West", "Midlands", "East", "London", "South", "Wales", "Scotland")


def area_rollout(
    n_areas: int = 120,
    periods: int = 24,
    cohorts: Sequence[int] = (7, 13, 19),
    effect: float = 0.02,
    effect_growth: float = 0.002,
    *,
    never_share: float = 0.25,
    noise: float = 0.01,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """A monthly panel of districts where a programme is piloted in waves.

    Shaped like a staggered area pilot (Pathways to Work: a few districts
    first, more a year later, the rest later or never): each district's
    monthly employment rate among its claimants, with district and month
    effects (common seasonality and a slow recovery), a pilot that starts in
    one of ``cohorts`` (or never) and an effect that *grows* with time since
    the start and is larger in earlier waves. Parallel trends hold by
    construction, so the true effects are known exactly.

    Parameters
    ----------
    n_areas
        Number of districts.
    periods
        Number of months (1 .. periods).
    cohorts
        Months in which each wave of districts starts the pilot (each between
        2 and ``periods``).
    effect
        Effect on the employment rate in the first month of the pilot
        (proportion: 0.02 is 2 percentage points) for an average district.
    effect_growth
        Added to the effect for each further month since the start.
    never_share
        Probability that a district is never piloted (a comparison area); the
        others join each wave with equal probability, so wave sizes vary from
        draw to draw, as in sampling districts from a population.
    noise
        Standard deviation of the district-month noise.
    seed
        An int or a ``numpy.random.Generator``.

    Returns
    -------
    pandas.DataFrame
        One row per district and month: ``area``, ``region``, ``month``,
        ``cohort`` (first pilot month; 0 for never-piloted districts),
        ``treated`` (1 from the cohort month on), ``claimants``,
        ``employment_rate`` and ``true_effect`` (the effect built into that
        district-month, 0 when untreated; its mean over a cohort's districts
        in a month is the true ATT(g, t)).

    Notes
    -----
    ``employment_rate = a_i + m_t + true_effect_it + e_it`` with
    ``true_effect_it = k_i (effect + effect_growth (t - g_i))`` for
    ``t >= g_i``, where the wave multiplier makes earlier waves gain more
    (from 1.5 for the first wave down to 0.5 for the last) and ``k_i`` varies
    by district around it (uniform, +/- 25%). This is the setting in which
    two-way fixed effects is biased (Goodman-Bacon 2021; Callaway &
    Sant'Anna 2021): effects that vary over time and across waves.

    Examples
    --------
    >>> panel = area_rollout(n_areas=8, periods=6, cohorts=(3, 5), seed=1)
    >>> panel.shape
    (48, 8)
    >>> sorted(panel["cohort"].unique().tolist())
    [0, 3, 5]
    """
    func = "area_rollout"
    rng = check_seed(seed, func=func)
    if not isinstance(n_areas, (int, np.integer)) or n_areas < 2:
        raise OptionError(f"The 'n_areas' parameter of {func} must be an int >= 2. Got {n_areas!r} instead.")
    if not isinstance(periods, (int, np.integer)) or periods < 2:
        raise OptionError(f"The 'periods' parameter of {func} must be an int >= 2. Got {periods!r} instead.")
    waves = sorted(int(c) for c in cohorts)
    if not waves or any(c < 2 or c > periods for c in waves) or len(set(waves)) != len(waves):
        raise OptionError(
            f"The 'cohorts' parameter of {func} must be distinct months between 2 and periods "
            f"({periods}). Got {list(cohorts)!r} instead."
        )
    if not 0.0 <= never_share < 1.0:
        raise OptionError(f"The 'never_share' parameter of {func} must be in [0, 1). Got {never_share!r} instead.")

    probs = np.r_[np.full(len(waves), (1 - never_share) / len(waves)), never_share]
    wave_of = rng.choice(np.r_[np.arange(len(waves)), -1], size=n_areas, p=probs)
    cohort = np.where(wave_of >= 0, np.asarray(waves)[np.clip(wave_of, 0, None)], 0)
    multiplier = np.linspace(1.5, 0.5, len(waves)) if len(waves) > 1 else np.ones(1)
    k = np.where(wave_of >= 0, multiplier[np.clip(wave_of, 0, None)], 0.0) * rng.uniform(0.75, 1.25, n_areas)

    month = np.arange(1, periods + 1)
    base = rng.normal(0.42, 0.06, n_areas)
    season = 0.01 * np.sin(2 * np.pi * (month - 1) / 12) + 0.0015 * (month - 1)
    claimants = rng.integers(800, 6000, n_areas)

    a = np.repeat(np.arange(n_areas), periods)
    t = np.tile(month, n_areas)
    g = cohort[a]
    on = (g > 0) & (t >= g)
    true_effect = np.where(on, k[a] * (effect + effect_growth * (t - g)), 0.0)
    rate = base[a] + season[t - 1] + true_effect + rng.normal(0.0, noise, n_areas * periods)
    width = len(str(n_areas))
    names = np.asarray([f"D{i + 1:0{width}d}" for i in range(n_areas)])
    return pd.DataFrame(
        {
            "area": names[a],
            "region": np.asarray(REGIONS)[np.arange(n_areas) % len(REGIONS)][a],
            "month": t,
            "cohort": g,
            "treated": on.astype(int),
            "claimants": claimants[a],
            "employment_rate": rate,
            "true_effect": true_effect,
        }
    )
