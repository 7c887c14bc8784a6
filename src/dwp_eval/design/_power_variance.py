"""The variance of an ITT contrast, the degrees of freedom and the critical values
behind :func:`~dwp_eval.mde`, :func:`~dwp_eval.sample_size` and :func:`~dwp_eval.power`.

The variance of an ITT contrast, individually or cluster randomised, is the one
written out in :mod:`dwp_eval.design.power` (Bloom 1995; Dong & Maynard 2013;
Eldridge, Ashby & Kerry 2006).

Critical values: Bonferroni (Holm's first step) from the t or normal
distribution, or Dunnett's (1955) exact value for several arms compared with
one control. Power of one comparison: Bloom's shifted central t, the
noncentral t (both tails) or the normal approximation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import cast

import numpy as np
from scipy import optimize, special, stats

from dwp_eval.design._power_design import PowerDesign
from dwp_eval.design._power_structure import log_rank_variance, satterthwaite_df
from dwp_eval.errors import ConvergenceError

__all__ = [
    "critical",
    "design_effect",
    "dunnett_critical",
    "dunnett_lambdas",
    "dunnett_probability",
    "log_rank",
    "multiplier",
    "power_at",
    "residual_df",
    "unit_variance",
    "variance",
]


def residual_df(d: PowerDesign, units: Mapping[str, float]) -> float:
    """Residual df: units analysed - arms x strata - covariates (PowerUp's convention).

    Partially nested designs: Satterthwaite's df of the two arms' variances
    (PowerUpR ``ira_pn``); moderator effects: as in
    :mod:`~dwp_eval.design._power_structure`.
    """
    n_arms = len(d.arms)
    blocks = d.strata or 1
    s = d.structure
    if s.nested_in is not None:
        treat = d.treatments[0]
        v_t, v_c = _nested_parts(d, units, treat, 0.0)
        m = cast(float, d.cluster_size)
        return satterthwaite_df(v_t, units[treat] / m - 1, v_c, units[d.control] * d.response[d.control] - 1)
    per_unit = cast(float, d.cluster_size) if d.clustered else 1.0
    people = sum(units[a] * d.response[a] * per_unit for a in units)
    if s.moderator_share is not None:
        if d.clustered:
            return people - sum(units.values()) - n_arms * blocks - d.n_covariates
        return people - 2 * n_arms * blocks - d.n_covariates
    if d.clustered:
        total = sum(units.values())
    else:
        total = sum(units[a] * d.response[a] for a in units)
    return total - n_arms * blocks - d.n_covariates


def _nested_parts(d: PowerDesign, units: Mapping[str, float], arm: str, effect_itt: float) -> tuple[float, float]:
    """Partially nested design: the treatment arm's and the control arm's variance terms."""
    size, icc = cast(float, d.cluster_size), cast(float, d.icc)
    s2_t, s2_c = unit_variance(d, arm, effect_itt), unit_variance(d, d.control, effect_itt)
    caseloads = units[arm] / size
    tau2 = s2_t * icc / (1 - icc)
    v_t = (tau2 * (1 - d.r2_cluster) * (1 + d.cluster_size_cv**2)
           + s2_t * (1 - d.r2) / (size * d.response[arm])) / caseloads
    v_c = s2_c * (1 - d.r2) / (units[d.control] * d.response[d.control])
    return v_t, v_c


def design_effect(d: PowerDesign) -> float:
    """Cluster design effect ``1 + ((1 + CV^2) m - 1) rho`` (1 without clusters)."""
    if not d.clustered:
        return 1.0
    m, icc = cast(float, d.cluster_size), cast(float, d.icc)
    return 1.0 + ((1.0 + d.cluster_size_cv**2) * m - 1.0) * icc


def log_rank(d: PowerDesign, units: Mapping[str, float], arm: str, log_hr: float) -> tuple[float, float]:
    """Variance of the log hazard ratio and the expected events of ``arm`` vs control."""
    scale = cast(float, d.cluster_size) if d.clustered else 1.0
    return log_rank_variance(d.structure, units[arm] * scale, units[d.control] * scale, log_hr, design_effect(d))


def unit_variance(d: PowerDesign, arm: str, effect_itt: float) -> float:
    """Per-person outcome variance in an arm (at the alternative for binary outcomes)."""
    if d.baseline_rate is not None:
        p = d.baseline_rate
        # a moderator effect is a difference of differences: p0(1 - p0) in every cell
        if arm != d.control and d.binary_variance == "unpooled" and d.structure.moderator_share is None:
            p = p + effect_itt
        return p * (1 - p)
    return 1.0 if d.sd is None else d.sd**2


def variance(d: PowerDesign, units: Mapping[str, float], arm: str, effect_itt: float) -> float:
    """Variance of the ITT contrast ``arm - control`` (the equations of :mod:`dwp_eval.design.power`
    and :mod:`dwp_eval.design._power_structure`)."""
    s = d.structure
    if s.control_median is not None:
        return log_rank(d, units, arm, effect_itt)[0]
    if s.nested_in is not None:
        return sum(_nested_parts(d, units, arm, effect_itt))
    q = s.moderator_share
    total = 0.0
    for g in (arm, d.control):
        v = unit_variance(d, g, effect_itt)
        if q is not None:
            icc = cast(float, d.icc) if d.clustered else 0.0
            people = units[g] * (cast(float, d.cluster_size) if d.clustered else 1.0) * d.response[g]
            total += v * (1 - icc) * (1 - d.r2) / (people * q * (1 - q))
        elif s.three_level:
            size, icc = cast(float, d.cluster_size), cast(float, d.icc)
            j, icc3 = cast(float, s.level3_size), cast(float, s.icc_level3)
            m = size * d.response[g]
            per = (icc3 * (1 - s.r2_level3) + icc * (1 - d.r2_cluster) / j
                   + (1 - icc - icc3) * (1 - d.r2) / (j * m))
            total += v * per / units[g]
        elif d.clustered:
            # cluster_size and icc are both set in every cluster design (checked on input)
            size, icc = cast(float, d.cluster_size), cast(float, d.icc)
            m = size * d.response[g]
            between = icc * (1 - d.r2_cluster) * (1 + d.cluster_size_cv**2)
            within = (1 - icc) * (1 - d.r2) / m
            total += v * (between + within) / units[g]
        else:
            total += v * (1 - d.r2) / (units[g] * d.response[g])
    return total



_HERMITE_X, _HERMITE_W = special.roots_hermitenorm(80)
_HERMITE_W = _HERMITE_W / math.sqrt(2 * math.pi)
_LEGENDRE_X, _LEGENDRE_W = special.roots_legendre(24)


@lru_cache(maxsize=512)
def _scale_nodes(df: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[g(s)], ``s = sqrt(chi2_df / df)``.

    Up to 1e4 df: Gauss-Legendre on 12 panels between the 1e-15 and 1 - 1e-15
    quantiles of ``s``, weighted by its density (below 4 df, where the density
    behaves like ``s^(df - 1)`` at 0, the first panel is split geometrically
    towards 0); this agrees with adaptive quadrature on (0, inf) to about 1e-11
    (tests/test_power_scale.py). Above
    1e4 df the chi density cannot be evaluated accurately enough near its
    narrow peak, and Wilson & Hilferty's (1931) normal approximation of
    ``(chi2_df / df)^(1/3)`` (mean ``1 - 2/(9 df)``, variance ``2/(9 df)``) is
    used with Gauss-Hermite nodes instead.
    """
    if df > 1e4:
        v = 2.0 / (9.0 * df)
        cube = (1.0 - v) + math.sqrt(v) * _HERMITE_X
        return cube**1.5, _HERMITE_W
    root = math.sqrt(df)
    lo = float(stats.chi.ppf(1e-15, df)) / root
    hi = float(stats.chi.isf(1e-15, df)) / root
    edges = np.linspace(lo, hi, 13)
    if df < 4:  # density ~ s^(df - 1) at 0, not smooth: panels shrink geometrically towards 0
        edges = np.concatenate([[0.0], hi * np.geomspace(1e-14, 1 / 12, 28), edges[2:]])
    half = np.diff(edges)[:, None] / 2
    nodes = (edges[:-1, None] + half * (1 + _LEGENDRE_X[None, :])).ravel()
    weights = (half * _LEGENDRE_W[None, :]).ravel() * stats.chi.pdf(nodes * root, df) * root
    return nodes, weights


def dunnett_probability(c: float, lambdas: tuple[float, ...], df: float, two_sided: bool) -> float:
    """P(all |T_i| <= c) (or T_i <= c) for Dunnett's statistics (Dunnett 1955, JASA 50:1096).

    Correlations are ``sqrt(lambda_i lambda_j)`` with ``lambda_i = n_i / (n_i + n_c)``,
    so one normal factor ``W`` makes the statistics independent (Gauss-Hermite
    over ``W``); the studentised case integrates over ``s = sqrt(chi2_df / df)``
    (nodes of :func:`_scale_nodes`).
    """
    lam = np.asarray(lambdas)[None, :, None]
    a, b = np.sqrt(lam), np.sqrt(1 - lam)
    if math.isfinite(df):
        s, ws = _scale_nodes(float(df))
    else:
        s, ws = np.ones(1), np.ones(1)
    xs = _HERMITE_X[None, None, :]
    cs = c * s[:, None, None]
    upper = stats.norm.cdf((cs + a * xs) / b)
    lower = stats.norm.cdf((-cs + a * xs) / b) if two_sided else 0.0
    given_s = np.prod(upper - lower, axis=1) @ _HERMITE_W  # one value per s node
    return float(given_s @ ws)


@lru_cache(maxsize=256)
def dunnett_critical(alpha: float, lambdas: tuple[float, ...], df: float, two_sided: bool) -> float:
    def f(c: float) -> float:
        return dunnett_probability(c, lambdas, df, two_sided) - (1 - alpha)

    # with a few df the critical value can exceed 40 (one-sided alpha 0.01 on
    # 1 df: about 70), so the bracket widens until it holds the root
    hi = 40.0
    while f(hi) < 0:
        if hi > 1e6:  # pragma: no cover - needs df << 1
            raise ConvergenceError(
                f"Dunnett's critical value for alpha {alpha:g} on {df:g} df exceeds {hi:g}: "
                f"the design has too few degrees of freedom. Fix: increase n or n_clusters."
            )
        hi *= 4
    return float(optimize.brentq(f, 0.5, hi, xtol=1e-10))


def critical(d: PowerDesign, df: float, lambdas: tuple[float, ...]) -> float:
    """Critical value of each comparison's test statistic (after any correction)."""
    k = len(d.arms) - 1
    use_df = math.inf if d.method == "normal" else df
    if k > 1 and d.correction == "dunnett":
        return dunnett_critical(d.alpha, tuple(round(v, 12) for v in lambdas), use_df, d.two_sided)
    # Bonferroni; for one comparison Holm's first step is Bonferroni's, so its
    # power to reject it is at least this (a conservative, standard choice).
    a = d.alpha / k if k > 1 else d.alpha
    q = 1 - a / 2 if d.two_sided else 1 - a
    return float(stats.norm.ppf(q)) if use_df == math.inf else float(stats.t.ppf(q, use_df))


def power_at(d: PowerDesign, lam: float, crit: float, df: float) -> float:
    """Power of one comparison when its ITT effect is ``lam`` standard errors."""
    lam = abs(lam)
    if d.method == "t":  # Bloom (1995) / PowerUp: shifted central t, one tail
        return float(stats.t.cdf(lam - crit, df))
    if d.method == "normal":
        p = float(stats.norm.cdf(lam - crit))
        if d.survival:  # Schoenfeld (1983) / Freedman (1982): the tail of the effect only
            return p
        return p + float(stats.norm.cdf(-lam - crit)) if d.two_sided else p
    p = float(stats.nct.sf(crit, df, lam))  # exact under normal errors: pwr, statsmodels
    if not d.two_sided:
        return p
    far = float(stats.nct.cdf(-crit, df, lam))
    return p + (far if math.isfinite(far) else 0.0)  # scipy gives NaN for tails below ~1e-300


def multiplier(d: PowerDesign, crit: float, df: float, target: float, func: str) -> float:
    """The number of standard errors at which power equals ``target``."""
    if d.method == "t":
        return crit + float(stats.t.ppf(target, df))
    hi = crit + float(stats.norm.ppf(target)) + 5.0
    if power_at(d, hi, crit, df) < target:  # pragma: no cover - needs power ~ 1
        raise ConvergenceError(
            f"{func}: no effect up to {hi:g} standard errors reaches {target:g} power."
        )
    return float(optimize.brentq(lambda lam: power_at(d, lam, crit, df) - target, 0.0, hi, xtol=1e-12))




def dunnett_lambdas(d: PowerDesign, units: Mapping[str, float]) -> tuple[float, ...]:
    def eff(a: str) -> float:
        return units[a] * (1.0 if d.clustered else d.response[a])

    c = eff(d.control)
    return tuple(eff(a) / (eff(a) + c) for a in d.treatments)
