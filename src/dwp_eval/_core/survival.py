"""Right-censored survival statistics shared by the survival estimators: the
Kaplan-Meier curve with Greenwood's variance, the restricted mean survival time
(RMST) with each person's influence on it (the Cox model is in
:mod:`dwp_eval._core.cox`).

Conventions, as R's ``survival`` package: a person whose time is ``t`` is at
risk at ``t`` (censored people too); deaths at ``t`` come before censorings at ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["KaplanMeier", "hall_wellner_band", "kaplan_meier", "loglog_interval",
           "rmst_influence"]


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve at every distinct observed time (events or censorings).

    ``greenwood`` is the cumulative sum ``sum_{t_k <= t} d_k / (Y_k (Y_k - d_k))``, so
    that ``Var S(t) = S(t)^2 greenwood(t)`` (Greenwood 1926); ``inf`` once ``S = 0``.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    greenwood: np.ndarray
    n: int

    @property
    def std_error(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            se = self.survival * np.sqrt(self.greenwood)
        return np.where(self.survival > 0, se, 0.0)


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KaplanMeier:
    """The Kaplan-Meier estimate ``S(t) = prod_{t_k <= t} (1 - d_k / Y_k)`` (Kaplan & Meier 1958)."""
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event, minlength=len(ut))
    tot = np.bincount(inv, minlength=len(ut)).astype(float)
    y = np.cumsum(tot[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(1.0 - d / y)
        g = np.cumsum(np.where(d > 0, d / (y * (y - d)), 0.0))
    return KaplanMeier(ut, y, d, tot - d, s, g, len(time))


def loglog_interval(km: KaplanMeier, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval on the log(-log) scale, as R's ``survfit(conf.type = "log-log")``:
    ``S^exp(+/- z sqrt(greenwood) / log S)`` (Kalbfleisch & Prentice 1980; Klein &
    Moeschberger 2003, eq. 4.3.2). Where ``S = 1`` or ``S = 0`` (no variance on that scale)
    the interval is the point itself."""
    q = float(stats.norm.ppf(1 - alpha / 2))
    s = km.survival
    with np.errstate(divide="ignore", invalid="ignore"):
        w = q * np.sqrt(km.greenwood) / np.log(s)
        lo = s ** np.exp(-w)
        hi = s ** np.exp(w)
    inside = (s > 0) & (s < 1)
    return np.where(inside, lo, s), np.where(inside, hi, s)


def hall_wellner_band(km: KaplanMeier, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous ``1 - alpha`` band of Hall & Wellner (1980), in its original linear
    form (Klein & Moeschberger 2003, eq. 4.4.2): ``S(t) (1 +/- c (1 + n sigma^2(t)) / sqrt(n))``
    cut to [0, 1], with ``sigma^2`` the Greenwood sum, ``n`` the arm's size and ``c`` the
    ``1 - alpha`` quantile of sup |Brownian bridge| on [0, 1] (Kolmogorov's distribution,
    1.3581 at 95%), so that the band holds over the whole follow-up (conservative over a
    shorter range, where Klein & Moeschberger's table gives a smaller ``c``). The linear
    form is used because the log(-log) form widens without bound near ``t = 0``."""
    c = float(stats.kstwobign.ppf(1 - alpha))
    n = float(km.n)
    with np.errstate(invalid="ignore"):
        half = c * (1 + n * km.greenwood) * km.survival / np.sqrt(n)
    half = np.where(km.survival > 0, half, 0.0)
    return np.clip(km.survival - half, 0.0, 1.0), np.clip(km.survival + half, 0.0, 1.0)


def rmst_influence(time: np.ndarray, event: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """The RMST ``mu = int_0^tau S(u) du`` of the Kaplan-Meier curve and each person's
    influence on it (Royston & Parmar 2013).

    With ``A_k = int_{t_k}^tau S(u) du`` and ``h_k = d_k / Y_k`` at the event times
    ``t_k <= tau``, person ``i``'s influence (the infinitesimal jackknife of the KM, as
    ``survfit(influence = TRUE)`` in R) is
    ``phi_i = -sum_k A_k (dN_i(t_k) - Y_i(t_k) h_k) / (Y_k - d_k)``; the terms are
    orthogonal across ``k``, so ``sum_i phi_i^2`` is exactly Greenwood's variance
    ``sum_k A_k^2 d_k / (Y_k (Y_k - d_k))``; summing ``phi_i`` within clusters first
    gives the cluster-robust variance."""
    km = kaplan_meier(time, event)
    keep = km.time <= tau
    t = km.time[keep]
    s = km.survival[keep]
    edges = np.append(t, tau)
    # S is s_k on [t_k, t_{k+1}); area before the first time is t_1 * 1
    areas = s * np.diff(edges)
    mu = float(t[0] * 1.0 + areas.sum()) if len(t) else float(tau)
    A = np.cumsum(areas[::-1])[::-1]  # A_k = int_{t_k}^tau S
    d = km.n_event[keep]
    y = km.n_risk[keep]
    alive = y - d
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where((d > 0) & (alive > 0), A / alive, 0.0)  # weight of a death at t_k
        haz = np.where((d > 0) & (alive > 0), A * d / (y * alive), 0.0)  # at-risk compensator
    cum = np.concatenate([[0.0], np.cumsum(haz)])
    # index of each person's time among the kept times (people after tau are at risk at all)
    pos = np.searchsorted(t, time, side="right")  # number of kept times <= time_i
    phi = cum[pos].copy()
    died = (event > 0) & (time <= tau)
    idx = np.searchsorted(t, time[died], side="left")
    phi[died] -= own[idx]
    return mu, phi
