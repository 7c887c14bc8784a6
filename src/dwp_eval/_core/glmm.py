"""Random-intercept logistic regression (one level: sites) by maximum likelihood
with adaptive Gauss-Hermite quadrature (AGQ).

Model: ``logit Pr(y_ij = 1 | u_j) = x_ij' b + sigma u_j`` with ``u_j ~ N(0, 1)``.
Site ``j``'s likelihood ``int prod_i p(y_ij | u) phi(u) du`` is approximated by
``n_agq``-point Gauss-Hermite quadrature centred at the conditional mode of
``u_j`` and scaled by the curvature there (Liu & Pierce 1994, *Biometrika*
81(3); Pinheiro & Bates 1995, *J. Comput. Graph. Stat.* 4(1)), as
``lme4::glmer(nAGQ = n_agq)`` does (Bates et al. 2015, *J. Stat. Softw.* 67(1)).
The nodes are re-centred between L-BFGS-B maximisations over ``(b, sigma)``
(scipy) until the estimates stop moving; the variance of the estimates is the
inverse of the observed information (analytic, with the nodes held at the
optimum), as lme4's ``vcov`` (``use.hessian = TRUE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from dwp_eval.errors import ConvergenceError

__all__ = ["GLMMFit", "fit_random_intercept", "marginal_risks", "profile_sigma_interval"]


@dataclass(frozen=True)
class GLMMFit:
    """``beta``, ``sigma`` (site SD on the logit scale), ``vcov`` over ``(beta, sigma)``,
    the log-likelihood and the number of node re-centrings."""

    beta: np.ndarray
    sigma: float
    vcov: np.ndarray
    loglik: float
    rounds: int


def _site_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts, axis=0)


def _modes(eta: np.ndarray, y: np.ndarray, sigma: float, starts: np.ndarray,
           site: np.ndarray, G: int) -> tuple[np.ndarray, np.ndarray]:
    """Conditional modes of ``u_j`` (Newton) and the quadrature scales ``1/sqrt(-h'')``."""
    u = np.zeros(G)
    for _ in range(100):
        p = special.expit(eta + sigma * u[site])
        g = sigma * _site_sums(y - p, starts) - u
        h = -(sigma**2) * _site_sums(p * (1 - p), starts) - 1.0
        step = g / h
        u -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = special.expit(eta + sigma * u[site])
    h = -(sigma**2) * _site_sums(p * (1 - p), starts) - 1.0
    return u, 1.0 / np.sqrt(-h)


class _Objective:
    """Minus the AGQ log-likelihood with the nodes held fixed, and its gradient."""

    def __init__(self, X: np.ndarray, y: np.ndarray, site: np.ndarray, starts: np.ndarray,
                 nodes: np.ndarray, logw: np.ndarray) -> None:
        self.X, self.y, self.site, self.starts = X, y, site, starts
        self.logw = logw  # G x K
        self.U = nodes[site]  # n x K, fixed while the nodes are
        self.yc = y[:, None]

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, sigma = theta[:-1], theta[-1]
        E = self.U * sigma
        E += (self.X @ beta)[:, None]
        L = np.logaddexp(0.0, E)
        rows = self.yc * E
        rows -= L
        S = _site_sums(rows, self.starts)
        S += self.logw  # G x K
        ll_j = special.logsumexp(S, axis=1)
        S -= ll_j[:, None]
        pi = np.exp(S)[self.site]  # n x K
        # residual y - p with p = exp(E - L), in place
        E -= L
        np.exp(E, out=E)
        np.subtract(self.yc, E, out=E)
        E *= pi
        g_beta = self.X.T @ E.sum(axis=1)
        g_sigma = float(np.vdot(E, self.U))
        return -float(ll_j.sum()), -np.append(g_beta, g_sigma)

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Minus the Hessian of the fixed-node log-likelihood, analytically: for
        ``l_j = log sum_k exp(S_jk)``, ``d2 l_j = sum_k pi_jk (d2 S_jk + dS_jk dS_jk')
        - m_j m_j'`` with ``m_j = sum_k pi_jk dS_jk``."""
        beta, sigma = theta[:-1], theta[-1]
        X, U = self.X, self.U
        E = U * sigma + (X @ beta)[:, None]
        P = special.expit(E)
        S = _site_sums(self.yc * E - np.logaddexp(0.0, E), self.starts) + self.logw
        pj = np.exp(S - special.logsumexp(S, axis=1)[:, None])  # G x K
        pi = pj[self.site]
        Wt = pi * P * (1 - P)
        k = X.shape[1]
        H = np.zeros((k + 1, k + 1))
        H[:k, :k] = -(X.T @ (X * Wt.sum(axis=1)[:, None]))
        H[:k, k] = H[k, :k] = -(X.T @ (Wt * U).sum(axis=1))
        H[k, k] = -float(np.sum(Wt * U * U))
        R = self.yc - P
        G, K = pj.shape
        D = np.empty((G, K, k + 1))
        for q in range(K):
            D[:, q, :k] = _site_sums(X * R[:, q, None], self.starts)
            D[:, q, k] = _site_sums(R[:, q] * U[:, q], self.starts)
        m = np.einsum("gk,gkp->gp", pj, D)
        H += np.einsum("gk,gkp,gkq->pq", pj, D, D) - m.T @ m
        return -H


def _fixed_nodes(X: np.ndarray, y: np.ndarray, site: np.ndarray, starts: np.ndarray, G: int,
                 theta: np.ndarray, t: np.ndarray, w: np.ndarray) -> _Objective:
    beta, sigma = theta[:-1], theta[-1]
    mode, scale = _modes(X @ beta, y, sigma, starts, site, G)
    nodes = mode[:, None] + scale[:, None] * t[None, :]
    logw = (np.log(scale)[:, None] + np.log(w)[None, :] - 0.5 * np.log(2 * np.pi)
            + t[None, :] ** 2 / 2 - nodes**2 / 2)
    return _Objective(X, y, site, starts, nodes, logw)


def fit_random_intercept(
    X: np.ndarray, y: np.ndarray, site: np.ndarray, beta0: np.ndarray, *, n_agq: int,
    outcome: str, func: str, max_rounds: int = 50, sigma: float | None = None,
    sigma0: float = 0.5,
) -> GLMMFit:
    """ML fit; ``site`` are codes ``0..G-1`` (any order); ``beta0`` the starting
    coefficients (the ordinary logit's). With ``sigma`` the site SD is held at that
    value and only ``b`` is fitted (for the profile likelihood; ``vcov`` is then
    not computed)."""
    order = np.argsort(site, kind="stable")
    X, y, site = X[order], y[order], site[order]
    G = int(site.max()) + 1
    starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]])
    t, w = np.polynomial.hermite_e.hermegauss(n_agq)
    theta = np.append(beta0, sigma0 if sigma is None else sigma)
    bounds = [(None, None)] * len(beta0) + [(0.0, None) if sigma is None else (sigma, sigma)]
    obj = _fixed_nodes(X, y, site, starts, G, theta, t, w)
    for rounds in range(1, max_rounds + 1):
        res = optimize.minimize(obj, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-9})
        moved = np.max(np.abs(res.x - theta))
        theta = res.x
        obj = _fixed_nodes(X, y, site, starts, G, theta, t, w)
        if moved < 1e-9 and rounds > 1:
            break
    else:
        raise ConvergenceError(
            f"{func}: the random-intercept logit of {outcome!r} did not converge. Fix: use "
            "fewer covariates, merge small sites, or drop site= (cluster= gives "
            "cluster-robust SEs instead)."
        )
    ll, _ = obj(theta)
    vcov = np.full((len(theta), len(theta)), np.nan)
    if sigma is None:
        vcov = np.linalg.inv(obj.information(theta))
    return GLMMFit(beta=theta[:-1], sigma=float(theta[-1]), vcov=vcov, loglik=-ll,
                   rounds=rounds)


def profile_sigma_interval(
    X: np.ndarray, y: np.ndarray, site: np.ndarray, fit: GLMMFit, *, n_agq: int, alpha: float,
    outcome: str, func: str,
) -> tuple[float, float]:
    """Profile-likelihood interval for the site SD: the values ``s`` with
    ``2 (l(b_hat, sigma_hat) - max_b l(b, s)) <= chi2_{1, 1 - alpha}`` (the likelihood-
    ratio test inverted, as ``confint(glmer_fit, method = "profile")`` in lme4, Bates et
    al. 2015, sec. 5.1). The lower end is 0 when ``sigma = 0`` is not rejected."""
    from scipy import stats

    cut = 0.5 * float(stats.chi2.ppf(1 - alpha, 1))

    def gap(s: float) -> float:
        held = fit_random_intercept(X, y, site, fit.beta, n_agq=n_agq, outcome=outcome,
                                    func=func, sigma=s)
        return fit.loglik - held.loglik - cut

    s_hat = fit.sigma
    lo = 0.0
    if s_hat > 0 and gap(0.0) > 0:
        lo = float(optimize.brentq(gap, 0.0, s_hat, xtol=1e-10, rtol=1e-10))
    hi_end = max(2.0 * s_hat, 0.5)
    for _ in range(60):
        if gap(hi_end) > 0:
            break
        hi_end *= 2.0
    else:  # pragma: no cover - a likelihood that never falls
        return lo, float("inf")
    hi = float(optimize.brentq(gap, s_hat, hi_end, xtol=1e-10, rtol=1e-10))
    return lo, hi


def marginal_risks(X: np.ndarray, fit: GLMMFit, *, n_nodes: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Population-averaged risks ``p_a = mean_i int F(x_i(a)'b + sigma u) phi(u) du``
    for ``a = 0, 1`` (column 1 of ``X`` is assignment) by Gauss-Hermite quadrature,
    and their gradient (2 x (k+1)) in ``(b, sigma)`` for the delta method."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / np.sqrt(2 * np.pi)
    risks, grads = [], []
    for a in (0.0, 1.0):
        Xa = X.copy()
        Xa[:, 1] = a
        E = (Xa @ fit.beta)[:, None] + fit.sigma * t[None, :]
        P = special.expit(E)
        f = (P * (1 - P)) @ w  # n
        risks.append(float((P @ w).mean()))
        g_sigma = float(((P * (1 - P)) @ (w * t)).mean())
        grads.append(np.append(Xa.T @ f / len(f), g_sigma))
    return np.array(risks), np.vstack(grads)
