"""Confidence sets for a ratio of estimates (a cost per additional outcome):
Fieller's set, the percentile set of bootstrap ratios, and the t quantile they
and the delta method share."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["fieller_set", "percentile_ratio_set", "t_quantile"]


def t_quantile(alpha: float, df: float) -> float:
    """``t_{1 - alpha/2, df}`` (the normal quantile when ``df`` is infinite)."""
    if not np.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def fieller_set(
    num: float, den: float, var_num: float, var_den: float, cov: float, q: float
) -> tuple[float, float, str]:
    """Fieller's confidence set for ``num / den``: ``(low, high, kind)``.

    The set of ratios ``R`` with ``(num - R den)^2 <= q^2 (var_num - 2 R cov + R^2 var_den)``,
    i.e. ``a R^2 - 2 b R + c <= 0`` with ``a = den^2 - q^2 var_den``,
    ``b = num den - q^2 cov`` and ``c = num^2 - q^2 var_num``:

    * ``"bounded"``: ``[low, high]`` (``a > 0``: ``den`` differs from 0 at the level);
    * ``"exclusive"``: ``(-inf, low] U [high, inf)`` (``a < 0`` with real roots);
    * ``"unbounded"``: the whole line (``low = -inf``, ``high = inf``), or a ray
      with one finite end when ``a = 0``.
    """
    a = den * den - q * q * var_den
    b = num * den - q * q * cov
    c = num * num - q * q * var_num
    disc = b * b - a * c
    scale = max(den * den, q * q * var_den, 1e-300)
    if abs(a) <= 1e-12 * scale:  # linear: -2 b R + c <= 0
        if b > 0:
            return c / (2 * b), math.inf, "unbounded"
        if b < 0:
            return -math.inf, c / (2 * b), "unbounded"
        return -math.inf, math.inf, "unbounded"
    if a < 0 and disc < 0:
        return -math.inf, math.inf, "unbounded"
    s = math.sqrt(max(disc, 0.0))
    # numerically stable roots of a R^2 - 2 b R + c
    big = b + s if b >= 0 else b - s
    r1 = big / a
    r2 = c / big if big != 0 else r1
    lo, hi = sorted((r1, r2))
    return lo, hi, "bounded" if a > 0 else "exclusive"


def percentile_ratio_set(ratios: np.ndarray, opposite: float, alpha: float) -> tuple[float, float, str]:
    """Percentile interval of the bootstrap ratios; unbounded when at least ``alpha / 2``
    of the draws have an effect of the other sign (the ratio passes through infinity)."""
    if opposite >= alpha / 2:
        return -math.inf, math.inf, "unbounded"
    lo, hi = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi), "bounded"
