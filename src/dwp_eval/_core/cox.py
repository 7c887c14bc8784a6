"""The Cox proportional hazards model with Efron's ties: Newton-Raphson fit,
model-based information, and the score residuals behind the robust (dfbeta)
variance of Lin & Wei (1989), stratified baseline hazards allowed.

Everything is computed over the distinct times of each stratum (sorted once), with
tied deaths expanded ``j = 0..d-1`` as in Efron (1977):
``S0_j = S0 - (j/d) D0``, ``S1_j = S1 - (j/d) D1``, ``S2_j = S2 - (j/d) D2``, where
``S`` sums ``r_i = exp(x_i'b)`` (times ``x_i``, ``x_i x_i'``) over the risk set
(everyone whose time is at least ``t``) and ``D`` over the deaths at ``t``.

log-likelihood ``sum_t [sum_{deaths} x_i'b - sum_j log S0_j]``; score
``sum_t [sum_{deaths} x_i - sum_j S1_j/S0_j]``; information
``sum_t sum_j [S2_j/S0_j - (S1_j/S0_j)(S1_j/S0_j)']`` (Therneau & Grambsch 2000, sec. 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CoxFit", "cox_score_residuals", "fit_cox"]


@dataclass(frozen=True)
class CoxFit:
    """A Cox fit: coefficients, the inverse information (model-based variance),
    the log-likelihood, whether Newton-Raphson converged and in how many steps."""

    beta: np.ndarray
    inverse_information: np.ndarray
    loglik: float
    converged: bool
    iterations: int


class _Stratum:
    """One stratum's people sorted by time, with its distinct times and tied deaths."""

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray) -> None:
        self.order = np.argsort(time, kind="stable")
        t = time[self.order]
        self.e = event[self.order] > 0
        self.x = X[self.order]
        _, self.first, self.inv = np.unique(t, return_index=True, return_inverse=True)
        m = len(self.first)
        d = np.bincount(self.inv, weights=self.e, minlength=m)
        self.ev = np.flatnonzero(d > 0)
        self.dk = d[self.ev].astype(np.int64)
        self.rep = np.repeat(np.arange(len(self.ev)), self.dk)
        j = np.arange(self.dk.sum()) - np.repeat(np.cumsum(self.dk) - self.dk, self.dk)
        self.frac = j / np.repeat(self.dk, self.dk)
        self.starts = np.cumsum(self.dk) - self.dk
        self.m = m
        self.x_dead_sum = self.x[self.e].sum(axis=0)

    def sums(self, beta: np.ndarray, second: bool) -> tuple[Any, ...]:
        """Risk-set and death sums at the event times, expanded over the tied deaths."""
        eta = self.x @ beta
        r = np.exp(eta - eta.max())
        shift = eta.max()
        p = self.x.shape[1]
        inv, ev, m, e = self.inv, self.ev, self.m, self.e
        w0 = np.bincount(inv, weights=r, minlength=m)
        s0 = np.cumsum(w0[::-1])[::-1][ev]
        d0 = np.bincount(inv, weights=r * e, minlength=m)[ev]
        s1 = np.empty((len(ev), p))
        d1 = np.empty((len(ev), p))
        for k in range(p):
            rx = r * self.x[:, k]
            s1[:, k] = np.cumsum(np.bincount(inv, weights=rx, minlength=m)[::-1])[::-1][ev]
            d1[:, k] = np.bincount(inv, weights=rx * e, minlength=m)[ev]
        out: tuple[Any, ...] = (eta, r, shift, s0, d0, s1, d1)
        if second:
            s2 = np.empty((len(ev), p, p))
            d2 = np.empty((len(ev), p, p))
            for k in range(p):
                for q in range(k, p):
                    rxx = r * self.x[:, k] * self.x[:, q]
                    s2[:, k, q] = s2[:, q, k] = np.cumsum(
                        np.bincount(inv, weights=rxx, minlength=m)[::-1])[::-1][ev]
                    d2[:, k, q] = d2[:, q, k] = np.bincount(inv, weights=rxx * e, minlength=m)[ev]
            out = (*out, s2, d2)
        return out

    def derivatives(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta, _, shift, s0, d0, s1, d1, s2, d2 = self.sums(beta, second=True)
        rep, f = self.rep, self.frac
        s0j = s0[rep] - f * d0[rep]
        s1j = s1[rep] - f[:, None] * d1[rep]
        s2j = s2[rep] - f[:, None, None] * d2[rep]
        xb = s1j / s0j[:, None]
        loglik = float(eta[self.e].sum() - np.sum(np.log(s0j) + shift))
        score = self.x_dead_sum - xb.sum(axis=0)
        info = (s2j / s0j[:, None, None]).sum(axis=0) - xb.T @ xb
        return loglik, score, info


def _strata(time: np.ndarray, event: np.ndarray, X: np.ndarray,
            strata: np.ndarray | None) -> list[tuple[np.ndarray, _Stratum]]:
    rows = [np.arange(len(time))] if strata is None else [
        np.flatnonzero(strata == s) for s in np.unique(strata)]
    return [(r, _Stratum(time[r], event[r], X[r])) for r in rows]


def fit_cox(time: np.ndarray, event: np.ndarray, X: np.ndarray, strata: np.ndarray | None = None,
            *, max_iter: int = 50, tol: float = 1e-10) -> CoxFit:
    """Maximum partial likelihood with Efron's ties by Newton-Raphson from 0, halving a
    step that lowers the log-likelihood; converged when the largest step is below
    ``tol``. A likelihood that keeps rising as a coefficient runs to +/- infinity
    (monotone likelihood) does not converge: ``converged`` is False."""
    parts = _strata(time, event, X, strata)
    p = X.shape[1]

    def total(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        ll, sc, inf = 0.0, np.zeros(p), np.zeros((p, p))
        for _, part in parts:
            a, b, c = part.derivatives(beta)
            ll, sc, inf = ll + a, sc + b, inf + c
        return ll, sc, inf

    beta = np.zeros(p)
    ll, score, info = total(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            break
        new = beta + step
        ll_new, sc_new, inf_new = total(new)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll)) and halvings < 30:
            step /= 2
            new = beta + step
            ll_new, sc_new, inf_new = total(new)
            halvings += 1
        if halvings == 30:  # no step raises the likelihood any more, yet the score is not 0:
            break           # a likelihood still rising towards infinity, not a maximum
        beta, ll, score, info = new, ll_new, sc_new, inf_new
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    try:
        inv = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        inv = np.full((p, p), np.nan)
        converged = False
    # Newton's steps can also stall on the way to infinity: the information, and with it the
    # step, underflows (e.g. log HR 36, information 1e-15). A model-based variance above 1e8
    # (a standard error of a log hazard ratio over 10,000) is that, not an estimate.
    finite = bool(np.all(np.isfinite(inv))) and bool(np.all(np.diag(inv) < 1e8))
    return CoxFit(beta, inv, ll, converged and finite, it)


def cox_score_residuals(
    time: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Score residuals with Efron's ties (Therneau & Grambsch 2000, sec. 3.7.2; R's
    ``residuals(fit, type = "score")``): for person ``i``

    ``U_i = sum_t [ dN_i(t) (x_i - mean_j xbar_j) - Y_i(t) r_i sum_j c_ij (x_i - xbar_j) / S0_j ]``

    over the event times ``t`` of ``i``'s stratum, ``xbar_j = S1_j / S0_j``, ``c_ij = 1 - j/d``
    for the deaths at ``t`` and 1 for the others at risk. The dfbeta residuals are
    ``U I^{-1}`` and the robust variance ``sum_g (sum_{i in g} U_i I^{-1})^2``
    (Lin & Wei 1989)."""
    n, p = X.shape
    out = np.zeros((n, p))
    for rows, part in _strata(time, event, X, strata):
        out[rows] = _residuals(part, beta)
    return out


def _residuals(part: _Stratum, beta: np.ndarray) -> np.ndarray:
    _, r, _, s0, d0, s1, d1 = part.sums(beta, second=False)
    x, e, inv, ev, m = part.x, part.e, part.inv, part.ev, part.m
    p = x.shape[1]
    rep, f, starts, dk = part.rep, part.frac, part.starts, part.dk
    s0j = s0[rep] - f * d0[rep]
    xbj = (s1[rep] - f[:, None] * d1[rep]) / s0j[:, None]
    a = np.add.reduceat(1.0 / s0j, starts)  # hazard increment for the others at risk
    b = np.add.reduceat(xbj / s0j[:, None], starts, axis=0)
    a_d = np.add.reduceat((1 - f) / s0j, starts)  # the tied deaths' own share
    b_d = np.add.reduceat((1 - f)[:, None] * xbj / s0j[:, None], starts, axis=0)
    mean_xb = np.add.reduceat(xbj, starts, axis=0) / dk[:, None]
    A_at = np.zeros(m)
    B_at = np.zeros((m, p))
    A_at[ev], B_at[ev] = a, b
    A_before = np.concatenate([[0.0], np.cumsum(A_at)])[:-1]
    B_before = np.vstack([np.zeros((1, p)), np.cumsum(B_at, axis=0)])[:-1]
    Ad_at = np.zeros(m)
    Bd_at = np.zeros((m, p))
    M_at = np.zeros((m, p))
    Ad_at[ev], Bd_at[ev], M_at[ev] = a_d, b_d, mean_xb
    # each person is at risk at every event time up to and including their own time
    Ai = A_before[inv] + np.where(e, Ad_at[inv], A_at[inv])
    Bi = B_before[inv] + np.where(e[:, None], Bd_at[inv], B_at[inv])
    resid = -r[:, None] * (x * Ai[:, None] - Bi)
    resid[e] += x[e] - M_at[inv[e]]
    out = np.empty_like(resid)
    out[part.order] = resid
    return out
