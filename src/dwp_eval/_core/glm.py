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


@dataclass(frozen=True, eq=False)
class GLMFit:
    """A fitted binary GLM: coefficients, the inverse information (bread, not
    divided by n) and, per row, the score weight ``d loglik_i / d eta_i`` (times the
    prior weight), so that row ``i``'s score is ``score_weights[i] * X[i]``; ``X``
    is the design the model was fitted on (not copied), ``eta`` the linear predictor."""

    beta: np.ndarray
    bread: np.ndarray
    score_weights: np.ndarray
    X: np.ndarray
    iterations: int
    eta: np.ndarray  # the linear predictor X @ beta

    @property
    def scores(self) -> np.ndarray:
        """The per-row scores ``d loglik_i / d beta`` (n x k; built on request)."""
        return self.X * self.score_weights[:, None]

    def scores_times(self, v: np.ndarray) -> np.ndarray:
        """``scores @ v`` (``v`` a vector or k x m) without building the n x k scores."""
        if v.ndim == 1:
            return (self.X @ v) * self.score_weights
        # (v' X')' keeps every operand in an order BLAS takes, whatever X's order
        return (np.ascontiguousarray(v.T) @ self.X.T).T * self.score_weights[:, None]


#: Rows per block of the passes over the design: a block of a few covariates stays in
#: the processor's cache while its products are formed, and its products are small
#: enough that BLAS does not hand them to threads (which on a busy machine wait for
#: each other far longer than the product takes).
_BLOCK = 4096
#: Above this many rows the Newton steps start from a fit to an evenly spaced
#: subsample (``_START_ROWS`` rows): a start close to the maximum saves full passes.
_SUBSAMPLE_ABOVE = 200_000
_START_ROWS = 25_000


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


def _loglik_terms(eta: np.ndarray, y: np.ndarray, model: str) -> np.ndarray:
    if model == "logit":
        return y * eta - np.logaddexp(0.0, eta)
    return np.where(y > 0, special.log_ndtr(eta), special.log_ndtr(-eta))


def _logit_block(
    e: np.ndarray, y: np.ndarray, w: np.ndarray | None, p: np.ndarray, sw: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Logit rows from one exponential: ``a = exp(-|eta|)`` gives
    ``log(1 + e^eta) = max(eta, 0) + log1p(a)``, ``p = (1 or a) / (1 + a)`` and
    ``p (1 - p) = a / (1 + a)^2``. Fills ``p`` and the score weight ``sw = w (y - p)``;
    returns the log-likelihood and the square root of the information weight."""
    a = np.abs(e)
    np.negative(a, out=a)
    np.exp(a, out=a)
    d = 1.0 + a
    lse = np.maximum(e, 0.0)
    lse += np.log1p(a)  # log(1 + e^eta)
    np.divide(np.where(e >= 0, 1.0, a), d, out=p)
    np.subtract(y, p, out=sw)
    root = np.sqrt(a)
    root /= d
    if w is None:
        return float(y @ e - lse.sum()), root
    sw *= w
    root *= np.sqrt(w)
    return float(w @ (y * e - lse)), root


class _Pass:
    """Buffers for one pass over the rows at a given ``beta``: linear predictor,
    fitted probabilities and score weights (with the prior weights)."""

    def __init__(self, n: int) -> None:
        self.eta = np.empty(n)
        self.p = np.empty(n)
        self.sw = np.empty(n)


def _evaluate(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, beta: np.ndarray, model: str,
    buf: _Pass,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and information at ``beta`` in one pass over the rows,
    block by block (the information from one symmetric product of the rows scaled by
    the square roots of their information weights); fills ``buf``."""
    n, k = X.shape
    ll = 0.0
    g = np.zeros(k)
    info = np.zeros((k, k))
    with np.errstate(over="ignore", under="ignore"):
        for i in range(0, n, _BLOCK):
            j = min(i + _BLOCK, n)
            Xb, yb, wb = X[i:j], y[i:j], None if w is None else w[i:j]
            e = np.matmul(Xb, beta, out=buf.eta[i:j])
            if model == "logit":
                ll_b, root = _logit_block(e, yb, wb, buf.p[i:j], buf.sw[i:j])
                ll += ll_b
            else:
                p, sw, iw = _row_terms(e, yb, model)
                terms, root = _loglik_terms(e, yb, model), np.sqrt(iw)
                if wb is None:
                    ll += float(terms.sum())
                else:
                    ll += float(wb @ terms)
                    sw, root = wb * sw, np.sqrt(wb) * root
                buf.p[i:j] = p
                buf.sw[i:j] = sw
            g += Xb.T @ buf.sw[i:j]
            Xs = Xb * root[:, None]
            info += Xs.T @ Xs
    return ll, g, info


def _start(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, model: str) -> np.ndarray:
    """Starting values: the intercept-only fit when the first column is the
    intercept, improved for the logit on large samples by a fit to an evenly spaced
    subsample (kept only when it converges to finite, moderate values). Newton's
    quadratic convergence ends at the same maximum from either start; the probit's
    Fisher scoring converges linearly, so its start is left as it was."""
    n, k = X.shape
    beta = np.zeros(k)
    ybar = float(np.average(y, weights=w))
    if np.allclose(X[:, 0], 1.0):
        beta[0] = special.logit(ybar) if model == "logit" else special.ndtri(ybar)
    if n <= _SUBSAMPLE_ABOVE or model != "logit":
        return beta
    rows = slice(None, None, n // _START_ROWS)
    sub = (np.ascontiguousarray(X[rows]), y[rows], None if w is None else w[rows])
    try:
        found = _newton(*sub, beta, model=model, tol=1e-10, max_iter=50)
    except (np.linalg.LinAlgError, FloatingPointError):
        return beta
    if not found[4] or not np.all(np.isfinite(found[0])) or np.max(np.abs(found[0])) > 30:
        return beta
    return found[0]


def _newton(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, beta: np.ndarray, *, model: str,
    tol: float, max_iter: int,
) -> tuple[np.ndarray, np.ndarray, _Pass, int, bool]:
    """Newton-Raphson from ``beta`` with step halving: ``(beta, information, buffers at
    beta, steps, converged)``; unconverged after ``max_iter`` steps, the last point."""
    n = X.shape[0]
    cur = _Pass(n)
    nxt = _Pass(n)
    ll, g, info = _evaluate(X, y, w, beta, model, cur)
    n_iter = 0
    for it in range(1, max_iter + 1):
        n_iter = it
        try:
            step = np.linalg.solve(info, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, g, rcond=None)[0]
        t = 1.0
        while True:
            cand = beta + t * step
            ll_new, g_new, info_new = _evaluate(X, y, w, cand, model, nxt)
            if ll_new >= ll - 1e-12 * (1 + abs(ll)) or t < 1e-8:
                break
            t /= 2
        beta, ll_old, ll, g, info = cand, ll, ll_new, g_new, info_new
        cur, nxt = nxt, cur
        small = np.max(np.abs(t * step)) < 1e-7 * (1 + np.max(np.abs(beta)))
        if abs(ll - ll_old) < tol * (abs(ll) + 0.1) and small:
            return beta, info, cur, it, True
    return beta, info, cur, n_iter, False


def fit_binary_glm(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, *, model: str, outcome: str,
    func: str, tol: float = 1e-10, max_iter: int = 50,
) -> GLMFit:
    """Maximum likelihood by Newton-Raphson (Fisher scoring for probit) with step
    halving. Raises :class:`NotEstimableError` on (quasi-)complete separation and
    :class:`ConvergenceError` when ``max_iter`` steps do not converge."""
    beta, info, cur, n_iter, converged = _newton(
        X, y, w, _start(X, y, w, model), model=model, tol=tol, max_iter=max_iter)
    if not converged:
        _check_separation(cur.p, beta, outcome=outcome, model=model, func=func)
        raise ConvergenceError(
            f"{func}: the {model} model of {outcome!r} did not converge in {max_iter} Newton "
            "steps. Fix: drop or merge sparse covariate levels, rescale large covariates, or "
            "use fewer covariates."
        )
    _check_separation(cur.p, beta, outcome=outcome, model=model, func=func)
    try:
        bread = np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise NotEstimableError(
            f"{func}: the {model} model of {outcome!r} has a singular information matrix "
            "(collinear covariates or a covariate constant within an arm). Fix: drop the "
            "redundant covariates.", outcome=outcome, reason="singular information",
        ) from exc
    return GLMFit(beta=beta, bread=bread, score_weights=cur.sw, X=X, iterations=n_iter,
                  eta=cur.eta)


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
    X, sw = fit.X, fit.score_weights
    n, k = X.shape
    if se_type in ("CR0", "CR1"):
        assert cluster is not None
        _, inv = np.unique(cluster, return_inverse=True)
        G = int(inv.max()) + 1
        s = fit.scores
        sums = np.column_stack([np.bincount(inv, weights=s[:, j], minlength=G) for j in range(k)])
        meat = sums.T @ sums * (G / (G - 1))
        if se_type == "CR1":
            meat *= (n - 1) / (n - k)
    else:
        meat = np.zeros((k, k))
        for i in range(0, n, _BLOCK):
            sb = X[i:i + _BLOCK] * sw[i:i + _BLOCK, None]
            meat += sb.T @ sb
        if se_type == "HC1":
            meat *= n / (n - k)
    return fit.bread @ meat @ fit.bread
