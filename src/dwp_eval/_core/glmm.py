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
inverse of the observed information (central differences of the analytic
gradient), as lme4's ``vcov`` (``use.hessian = TRUE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from dwp_eval.errors import ConvergenceError

__all__ = ["GLMMFit", "fit_random_intercept", "marginal_risks"]


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
        self.nodes, self.logw = nodes, logw  # G x K each

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, sigma = theta[:-1], theta[-1]
        U = self.nodes[self.site]  # n x K
        E = (self.X @ beta)[:, None] + sigma * U
        rows = self.y[:, None] * E - np.logaddexp(0.0, E)
        S = _site_sums(rows, self.starts) + self.logw  # G x K
        ll_j = special.logsumexp(S, axis=1)
        pi = np.exp(S - ll_j[:, None])[self.site]  # n x K
        R = (self.y[:, None] - special.expit(E)) * pi
        g_beta = self.X.T @ R.sum(axis=1)
        g_sigma = float(np.sum(R * U))
        return -float(ll_j.sum()), -np.append(g_beta, g_sigma)


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
    outcome: str, func: str, max_rounds: int = 50,
) -> GLMMFit:
    """ML fit; ``site`` are codes ``0..G-1`` (any order); ``beta0`` the starting
    coefficients (the ordinary logit's)."""
    order = np.argsort(site, kind="stable")
    X, y, site = X[order], y[order], site[order]
    G = int(site.max()) + 1
    starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]])
    t, w = np.polynomial.hermite_e.hermegauss(n_agq)
    theta = np.append(beta0, 0.5)
    bounds = [(None, None)] * len(beta0) + [(0.0, None)]
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
    k = len(theta)
    H = np.zeros((k, k))
    for a in range(k):
        hstep = 1e-5 * max(1.0, abs(theta[a]))
        up, dn = theta.copy(), theta.copy()
        up[a] += hstep
        dn[a] -= hstep
        H[:, a] = (obj(up)[1] - obj(dn)[1]) / (2 * hstep)
    H = (H + H.T) / 2
    return GLMMFit(beta=theta[:-1], sigma=float(theta[-1]), vcov=np.linalg.inv(H),
                   loglik=-ll, rounds=rounds)


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
