"""Binary-outcome GLMs: logit and probit fitted by Newton-Raphson (iteratively
reweighted least squares), with sandwich variances HC0, HC1 and CR1.

Sources: McCullagh & Nelder (1989, sec. 2.5 and 4.4) for the Newton / IRLS step;
Zeileis (2006, *J. Stat. Softw.* 16(9)) and Zeileis, Koell & Graham (2020,
*J. Stat. Softw.* 95(1)) for the sandwich ``bread @ meat @ bread`` and its
small-sample factors (as R's ``sandwich::vcovHC`` and ``vcovCL``); Cameron &
Miller (2015, *J. Human Resources* 50(2), sec. VI) for CR1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from dwp_eval.errors import ConvergenceError, NotEstimableError

__all__ = ["GLMFit", "fit_binary_glm", "glm_vcov", "inverse_link", "link_density"]

#: The sandwich variances a binary GLM offers (``se_type``).
GLM_SE_TYPES = ("HC0", "HC1", "CR0", "CR1")


def inverse_link(eta: np.ndarray, model: str) -> np.ndarray:
    """``F(eta)``: the logistic or standard normal cdf."""
    return special.expit(eta) if model == "logit" else special.ndtr(eta)


def link_density(eta: np.ndarray, model: str) -> np.ndarray:
    """``f(eta) = dF/d eta``."""
    if model == "logit":
        p = special.expit(eta)
        return p * (1.0 - p)
    return stats.norm.pdf(eta)


@dataclass(frozen=True)
class GLMFit:
    """A fitted binary GLM: coefficients, the inverse information (bread, not
    divided by n) and the per-row scores ``d loglik_i / d beta``."""

    beta: np.ndarray
    bread: np.ndarray
    scores: np.ndarray
    iterations: int


def _row_terms(
    eta: np.ndarray, y: np.ndarray, model: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: fitted probability, score weight ``d l_i / d eta_i`` and the
    (expected) information weight."""
    if model == "logit":
        p = special.expit(eta)
        return p, y - p, p * (1.0 - p)  # canonical link
    p = np.clip(special.ndtr(eta), 1e-300, 1 - 1e-16)
    f = stats.norm.pdf(eta)
    pq = p * (1.0 - p)
    return p, f * (y - p) / pq, f * f / pq  # Fisher scoring


def _loglik(eta: np.ndarray, y: np.ndarray, w: np.ndarray | None, model: str) -> float:
    if model == "logit":
        terms = y * eta - np.logaddexp(0.0, eta)
    else:
        terms = np.where(y > 0, special.log_ndtr(eta), special.log_ndtr(-eta))
    return float(terms.sum() if w is None else w @ terms)


def _grad_info(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, eta: np.ndarray, model: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, sw, iw = _row_terms(eta, y, model)
    if w is not None:
        sw, iw = w * sw, w * iw
    return X.T @ sw, X.T @ (X * iw[:, None]), p


def fit_binary_glm(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, *, model: str, outcome: str,
    func: str, tol: float = 1e-10, max_iter: int = 50,
) -> GLMFit:
    """Maximum likelihood by Newton-Raphson (Fisher scoring for probit) with step
    halving. Raises :class:`NotEstimableError` on (quasi-)complete separation and
    :class:`ConvergenceError` when ``max_iter`` steps do not converge."""
    k = X.shape[1]
    beta = np.zeros(k)
    ybar = float(np.average(y, weights=w))
    # start from the intercept-only fit when the first column is the intercept
    if np.allclose(X[:, 0], 1.0):
        beta[0] = special.logit(ybar) if model == "logit" else special.ndtri(ybar)
    eta = X @ beta
    ll = _loglik(eta, y, w, model)
    g, info, p = _grad_info(X, y, w, eta, model)
    n_iter = 0
    converged = False
    for it in range(1, max_iter + 1):
        n_iter = it
        try:
            step = np.linalg.solve(info, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, g, rcond=None)[0]
        t = 1.0
        while True:
            cand = beta + t * step
            eta = X @ cand
            ll_new = _loglik(eta, y, w, model)
            if ll_new >= ll - 1e-12 * (1 + abs(ll)) or t < 1e-8:
                break
            t /= 2
        beta, ll_old, ll = cand, ll, ll_new
        g, info, p = _grad_info(X, y, w, eta, model)
        small = np.max(np.abs(t * step)) < 1e-7 * (1 + np.max(np.abs(beta)))
        if abs(ll - ll_old) < tol * (abs(ll) + 0.1) and small:
            converged = True
            break
    if not converged:
        _check_separation(p, beta, outcome=outcome, model=model, func=func)
        raise ConvergenceError(
            f"{func}: the {model} model of {outcome!r} did not converge in {max_iter} Newton "
            "steps. Fix: drop or merge sparse covariate levels, rescale large covariates, or "
            "use fewer covariates."
        )
    _check_separation(p, beta, outcome=outcome, model=model, func=func)
    try:
        bread = np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise NotEstimableError(
            f"{func}: the {model} model of {outcome!r} has a singular information matrix "
            "(collinear covariates or a covariate constant within an arm). Fix: drop the "
            "redundant covariates.", outcome=outcome, reason="singular information",
        ) from exc
    _, sw, _ = _row_terms(eta, y, model)
    scores = X * (sw if w is None else w * sw)[:, None]
    return GLMFit(beta=beta, bread=bread, scores=scores, iterations=n_iter)


def _check_separation(p: np.ndarray, beta: np.ndarray, *, outcome: str, model: str, func: str) -> None:
    """Fitted probabilities of 0 or 1 (to 1e-8) or huge coefficients signal separation
    (Albert & Anderson 1984): the maximum likelihood estimate does not exist."""
    if np.any((p < 1e-8) | (p > 1 - 1e-8)) or np.max(np.abs(beta)) > 30:
        raise NotEstimableError(
            f"{func}: the {model} model of {outcome!r} is separated: some covariate pattern "
            "predicts the outcome perfectly, so the maximum likelihood estimate does not exist "
            "(Albert & Anderson 1984). Fix: drop or merge the covariates or levels that "
            "separate the outcome, or estimate without covariates.",
            outcome=outcome, reason="separation",
        )


def glm_vcov(fit: GLMFit, cluster: np.ndarray | None, se_type: str) -> np.ndarray:
    """Sandwich variance ``B M B`` with ``B`` the inverse information and ``M`` the
    sum of outer products of the scores (HC0), times ``n/(n-k)`` (HC1); clustered,
    ``M`` sums the cluster score totals, times ``G/(G-1)`` (CR0, as
    ``sandwich::vcovCL(type = "HC0")``) and ``G/(G-1) (n-1)/(n-k)`` (CR1, as
    ``vcovCL(type = "HC1")`` and Stata)."""
    s = fit.scores
    n, k = s.shape
    if se_type in ("CR0", "CR1"):
        assert cluster is not None
        _, inv = np.unique(cluster, return_inverse=True)
        G = int(inv.max()) + 1
        sums = np.zeros((G, k))
        np.add.at(sums, inv, s)
        meat = sums.T @ sums * (G / (G - 1))
        if se_type == "CR1":
            meat *= (n - 1) / (n - k)
    else:
        meat = s.T @ s
        if se_type == "HC1":
            meat *= n / (n - k)
    return fit.bread @ meat @ fit.bread
