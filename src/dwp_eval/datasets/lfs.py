"""A synthetic quarterly Labour-Force-Survey-like sample of areas with a staggered pilot
(repeated cross-sections with survey weights)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dwp_eval._validation import check_seed
from dwp_eval.datasets.rollout import REGIONS
from dwp_eval.errors import OptionError

__all__ = ["AGE_BANDS", "lfs_areas"]

#: Age bands of the respondents, their share of the sample, of the population, and
#: their shift of the probability of being in work (the sample over-represents
#: 25-49 year olds, as household surveys do; the weights correct for it).
AGE_BANDS = ("16-24", "25-49", "50-64")
_SAMPLE_SHARE = np.array([0.12, 0.58, 0.30])
_POPULATION_SHARE = np.array([0.18, 0.52, 0.30])
_AGE_SHIFT = np.array([-0.14, 0.05, -0.06])


def _positive_int(value: object, name: str, least: int, func: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise OptionError(f"The '{name}' parameter of {func} must be an int >= {least}. Got {value!r} instead.")
    return int(value)


def _finite(value: object, name: str, func: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(
            float(value)):
        raise OptionError(f"The '{name}' parameter of {func} must be a finite number. Got {value!r} instead.")
    return float(value)


def lfs_areas(
    n_areas: int = 60,
    quarters: int = 16,
    cohorts: Sequence[int] = (5, 9, 13),
    people: int = 100,
    effect: float = 0.03,
    effect_growth: float = 0.003,
    *,
    never_share: float = 0.3,
    pretrend: float = 0.0,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """Quarterly survey respondents in areas where a programme is piloted in waves.

    Shaped like the Labour Force Survey (or the Annual Population Survey) read
    for local areas: each quarter a *fresh* sample of working-age people in
    each area, each interviewed once, with a survey weight. No person id links
    the quarters: these are repeated cross-sections, not a panel. The pilot
    starts in the areas of each wave in one of ``cohorts`` (or never), with an
    effect on the probability of being in work that grows with time since the
    start and is larger in earlier waves. Parallel trends hold by construction
    unless ``pretrend`` is set, so the true effects are known exactly.

    Parameters
    ----------
    n_areas
        Number of areas (local authorities).
    quarters
        Number of quarters (1 .. quarters).
    cohorts
        Quarters in which each wave of areas starts the pilot (each between 2
        and ``quarters``).
    people
        Mean number of respondents per area and quarter (each area-quarter
        sample size is drawn from a Poisson distribution with this mean, at
        least 10).
    effect
        Effect on the probability of being in work in the first quarter of the
        pilot (proportion: 0.03 is 3 percentage points), before the wave
        multiplier (see Notes).
    effect_growth
        Added to that effect for each further quarter since the start.
    never_share
        Probability that an area is never piloted (a comparison area); the
        others join each wave with equal probability, so wave sizes vary from
        draw to draw.
    pretrend
        A violation of parallel trends: a differential linear trend, per
        quarter, in the employment probability of the piloted areas (all
        quarters, zero in the quarter the area starts). 0 (the default) gives
        parallel trends.
    seed
        An int or a ``numpy.random.Generator``.

    Returns
    -------
    pandas.DataFrame
        One row per respondent: ``area``, ``region``, ``quarter``, ``cohort``
        (first pilot quarter of the area; 0 for never-piloted areas),
        ``treated`` (1 from the cohort quarter on), ``age_band``
        (:data:`AGE_BANDS`), ``employed`` (0/1), ``weight`` (survey weight,
        > 0: people in the population each respondent stands for) and
        ``true_effect`` (the effect built into the respondent's probability of
        being in work; the same for everyone in a wave and quarter, so it *is*
        the true ATT(g, t) of that wave and quarter; 0 when untreated).

    Notes
    -----
    Respondent ``i`` in area ``a`` and quarter ``t`` is in work with probability

    ``p = b_a + s_t + r_{region(a), t} + d_a (t - 1) + h_{age(i)} + u_{at} + tau_{at} + pretrend (t - g_a)``

    (clipped to [0.01, 0.99]; the last term only in piloted areas): an area
    level ``b_a ~ N(0.74, 0.04^2)``, a common seasonal pattern and slow recovery
    ``s_t``, region-quarter shocks ``r ~ N(0, 0.005^2)``, an area trend
    ``d_a ~ N(0, 0.001^2)`` per quarter (independent of the wave, so trends
    are parallel in expectation), the age band's shift ``h``, an area-quarter
    shock ``u ~ N(0, 0.01^2)`` shared by the area's respondents that quarter
    (why inference clusters by area), and the pilot's effect
    ``tau_{at} = k_g (effect + effect_growth (t - g))`` for ``t >= g`` in an
    area of wave ``g``, with the wave multiplier ``k_g`` falling from 1.5 for
    the first wave to 0.5 for the last (1 with one wave). Effects that vary over
    time and across waves are the setting in which two-way fixed effects is
    biased (Goodman-Bacon 2021; Callaway & Sant'Anna 2021).

    The sample over-represents 25-49 year olds (58% of the sample, 52% of the
    population); the weight of a respondent is the area's population over its
    sample size that quarter, times the band's population over sample share,
    times a log-normal factor (standard deviation 0.25 on the log scale) for
    non-response adjustment.

    Examples
    --------
    >>> survey = lfs_areas(n_areas=6, quarters=4, cohorts=(3,), people=20, seed=1)
    >>> list(survey.columns)
    ['area', 'region', 'quarter', 'cohort', 'treated', 'age_band', 'employed', 'weight', 'true_effect']
    >>> bool((survey["weight"] > 0).all())
    True
    """
    func = "lfs_areas"
    rng = check_seed(seed, func=func)
    n_areas = _positive_int(n_areas, "n_areas", 2, func)
    quarters = _positive_int(quarters, "quarters", 2, func)
    people = _positive_int(people, "people", 2, func)
    try:
        waves = sorted(int(c) for c in cohorts)
    except (TypeError, ValueError):
        waves = []
    if not waves or any(c < 2 or c > quarters for c in waves) or len(set(waves)) != len(waves):
        raise OptionError(
            f"The 'cohorts' parameter of {func} must be distinct quarters between 2 and quarters "
            f"({quarters}). Got {cohorts!r} instead."
        )
    effect = _finite(effect, "effect", func)
    effect_growth = _finite(effect_growth, "effect_growth", func)
    pretrend = _finite(pretrend, "pretrend", func)
    if isinstance(never_share, bool) or not isinstance(never_share, (int, float)) or not 0.0 <= never_share < 1.0:
        raise OptionError(f"The 'never_share' parameter of {func} must be in [0, 1). Got {never_share!r} instead.")

    # areas: wave, level, trend, population
    probs = np.r_[np.full(len(waves), (1 - never_share) / len(waves)), never_share]
    wave_of = rng.choice(np.r_[np.arange(len(waves)), -1], size=n_areas, p=probs)
    cohort = np.where(wave_of >= 0, np.asarray(waves)[np.clip(wave_of, 0, None)], 0)
    multiplier = np.linspace(1.5, 0.5, len(waves)) if len(waves) > 1 else np.ones(1)
    k = np.where(wave_of >= 0, multiplier[np.clip(wave_of, 0, None)], 0.0)
    level = rng.normal(0.74, 0.04, n_areas)
    slope = rng.normal(0.0, 0.001, n_areas)
    population = rng.integers(40_000, 300_000, n_areas)
    region = np.arange(n_areas) % len(REGIONS)

    # quarters: common pattern, region shocks, area-quarter shocks, sample sizes
    q = np.arange(1, quarters + 1)
    common = 0.005 * np.sin(2 * np.pi * (q - 1) / 4) + 0.001 * (q - 1)
    region_shock = rng.normal(0.0, 0.005, (len(REGIONS), quarters))
    area_shock = rng.normal(0.0, 0.01, (n_areas, quarters))
    size = np.maximum(rng.poisson(people, (n_areas, quarters)), 10)

    # respondents
    a = np.repeat(np.repeat(np.arange(n_areas), quarters), size.ravel())
    t = np.repeat(np.tile(q, n_areas), size.ravel())
    n = a.size
    band = rng.choice(len(AGE_BANDS), size=n, p=_SAMPLE_SHARE)
    g = cohort[a]
    piloted = g > 0
    on = piloted & (t >= g)
    tau = np.where(on, k[a] * (effect + effect_growth * (t - g)), 0.0)
    p = (level[a] + common[t - 1] + region_shock[region[a], t - 1] + slope[a] * (t - 1) + _AGE_SHIFT[band]
         + area_shock[a, t - 1] + tau + np.where(piloted, pretrend * (t - g), 0.0))
    employed = (rng.random(n) < np.clip(p, 0.01, 0.99)).astype(np.int64)
    weight = (population[a] / size[a, t - 1] * (_POPULATION_SHARE / _SAMPLE_SHARE)[band]
              * np.exp(rng.normal(0.0, 0.25, n)))

    width = len(str(n_areas))
    names = np.asarray([f"A{i + 1:0{width}d}" for i in range(n_areas)])
    return pd.DataFrame(
        {
            "area": names[a],
            "region": np.asarray(REGIONS)[region][a],
            "quarter": t,
            "cohort": g,
            "treated": on.astype(np.int64),
            "age_band": np.asarray(AGE_BANDS)[band],
            "employed": employed,
            "weight": weight,
            "true_effect": tau,
        }
    )
