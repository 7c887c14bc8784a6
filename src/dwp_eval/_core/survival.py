"""Right-censored survival statistics shared by the survival estimators: the
Kaplan-Meier curve with Greenwood's variance, the restricted mean survival time
(RMST) with each person's influence on it, and the Cox model's score residuals
for Efron's ties (the robust, dfbeta-based variance of Lin & Wei 1989).

Conventions, as R's ``survival`` package: a person whose time is ``t`` is at
risk at ``t`` (censored people too); deaths at ``t`` come before censorings at ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["KaplanMeier", "cox_score_residuals", "hall_wellner_band", "kaplan_meier",
           "loglog_interval", "rmst_influence"]


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


def cox_score_residuals(
    time: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Score residuals of a Cox model with Efron's ties (Therneau & Grambsch 2000, sec. 3.7.2;
    as R's ``residuals(fit, type = "score")``): for person ``i``

    ``U_i = sum_t [ dN_i(t) (x_i - mean_j xbar_j) - Y_i(t) r_i sum_j c_ij (x_i - xbar_j) / S0_j ]``

    over the event times ``t`` of ``i``'s stratum, ``j = 0..d-1`` the tied deaths,
    ``S0_j = S0 - (j/d) D0``, ``xbar_j = (S1 - (j/d) D1) / S0_j`` (``D`` sums over the deaths),
    ``c_ij = 1 - j/d`` for the deaths at ``t`` and 1 for the others at risk. The dfbeta
    residuals are ``U I^{-1}`` and the robust variance ``sum_g (sum_{i in g} U_i I^{-1})^2``
    (Lin & Wei 1989)."""
    n, p = X.shape
    out = np.zeros((n, p))
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s)
                                                   for s in np.unique(strata)]
    for rows in groups:
        out[rows] = _score_stratum(time[rows], event[rows], X[rows], beta)
    return out


def _score_stratum(time: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    n, p = X.shape
    order = np.argsort(time, kind="stable")
    t, e, x = time[order], event[order] > 0, X[order]
    eta = x @ beta
    r = np.exp(eta - eta.max())  # the scale cancels in every ratio below
    ut, first, inv = np.unique(t, return_index=True, return_inverse=True)
    # risk-set sums at each distinct time (everyone with time >= t)
    S0 = np.cumsum(r[::-1])[::-1][first]
    S1 = np.cumsum((r[:, None] * x)[::-1], axis=0)[::-1][first]
    d = np.bincount(inv, weights=e, minlength=len(ut))
    D0 = np.bincount(inv, weights=r * e, minlength=len(ut))
    D1 = np.stack([np.bincount(inv, weights=r * e * x[:, k], minlength=len(ut)) for k in range(p)],
                  axis=1) if p else np.zeros((len(ut), 0))
    ev = np.flatnonzero(d > 0)
    dk = d[ev].astype(int)
    # expand each event time into its d tied deaths j = 0..d-1
    rep = np.repeat(np.arange(len(ev)), dk)
    j = np.arange(dk.sum()) - np.repeat(np.cumsum(dk) - dk, dk)
    frac = j / np.repeat(dk, dk)
    s0j = S0[ev][rep] - frac * D0[ev][rep]
    xbj = (S1[ev][rep] - frac[:, None] * D1[ev][rep]) / s0j[:, None]
    starts = np.cumsum(dk) - dk
    a = np.add.reduceat(1.0 / s0j, starts)  # hazard increment, others at risk
    b = np.add.reduceat(xbj / s0j[:, None], starts, axis=0)
    a_d = np.add.reduceat((1 - frac) / s0j, starts)  # the tied deaths' own share
    b_d = np.add.reduceat((1 - frac)[:, None] * xbj / s0j[:, None], starts, axis=0)
    m = np.add.reduceat(xbj, starts, axis=0) / dk[:, None]  # mean_j xbar_j
    # cumulative sums over event times strictly before each distinct time
    A_full = np.zeros(len(ut))
    B_full = np.zeros((len(ut), p))
    A_full[ev] = a
    B_full[ev] = b
    A_before = np.concatenate([[0.0], np.cumsum(A_full)])[:-1]
    B_before = np.vstack([np.zeros((1, p)), np.cumsum(B_full, axis=0)])[:-1]
    A_at = A_full.copy()
    B_at = B_full.copy()
    Ad_at = np.zeros(len(ut))
    Bd_at = np.zeros((len(ut), p))
    M_at = np.zeros((len(ut), p))
    Ad_at[ev] = a_d
    Bd_at[ev] = b_d
    M_at[ev] = m
    # each person: at risk at every event time up to and including their own time
    Ai = A_before[inv] + np.where(e, Ad_at[inv], A_at[inv])
    Bi = B_before[inv] + np.where(e[:, None], Bd_at[inv], B_at[inv])
    resid = -r[:, None] * (x * Ai[:, None] - Bi)
    resid[e] += x[e] - M_at[inv[e]]
    out = np.empty((n, p))
    out[order] = resid
    return out
