r"""The conditional least-favourable hybrid test of moment inequalities with linear
nuisance parameters (Andrews, Roth & Pakes 2023, "Inference for Linear Conditional
Moment Inequalities", ReStud; ARP below), on numpy arrays.

The null hypothesis is that :math:`E[y] - X\tau \le 0` for some :math:`\tau`, with
:math:`y \sim N(\mu, \Sigma)` and :math:`\sigma = \sqrt{\mathrm{diag}\,\Sigma}`. The
statistic is the linear programme (ARP eq. 12)

.. math:: \hat\eta = \min_{\eta,\tau} \eta \quad\text{s.t.}\quad y - X\tau \le \eta\,\sigma
          \;=\; \max_{\gamma \in V} \gamma'y,

the second form its dual (ARP eq. 13), :math:`V` the vertices of
:math:`\{\gamma \ge 0: \gamma'\sigma = 1, \gamma'X = 0\}`. The vertices are the
extreme rays :math:`r` of the cone :math:`\{\gamma \ge 0 : \gamma'X = 0\}` scaled by
:math:`1/(r'\sigma)`; callers pass the rays (they do not depend on :math:`\sigma`),
so that the statistic, its conditioning set and the least-favourable critical value
are exact and vectorised over many :math:`y` instead of one linear programme each.

Conditional on the optimal vertex :math:`\hat\gamma` and on
:math:`S = y - b\,\hat\gamma'y`, :math:`b = \Sigma\hat\gamma/\hat\gamma'\Sigma\hat\gamma`,
:math:`\hat\eta = \hat\gamma'y` is normal truncated to :math:`[v^{lo}, v^{up}]`, the
values :math:`c` at which :math:`\hat\gamma` stays optimal for :math:`y = S + bc`
(ARP Lemma 1 and section 4): :math:`c(1 - \gamma'b) \ge \gamma'S` for every vertex.
The hybrid (ARP section 4.3) rejects when :math:`\hat\eta > c_{LF}`, the :math:`1-\kappa`
quantile of :math:`\max_{\gamma\in V}\gamma'\xi`, :math:`\xi\sim N(0,\Sigma)`; otherwise
when :math:`\hat\eta/\sigma_{\hat\gamma}` exceeds :math:`\max(0, q)`, :math:`q` the
:math:`1-\tilde\alpha` quantile, :math:`\tilde\alpha = (\alpha-\kappa)/(1-\kappa)`, of a
standard normal truncated to :math:`[v^{lo}, \min(v^{up}, c_{LF})]/\sigma_{\hat\gamma}`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["eta", "hybrid_accept", "lf_critical_value", "normal_sqrt", "truncated_normal_quantile",
           "vertices"]

# Below this, gamma' Sigma gamma (with gamma' sigma = 1, so at most 1) counts as zero.
_ZERO_VARIANCE = 1e-12
# |1 - gamma'b| below this: the vertex does not bound c (it is the optimal one, or ties it).
_PARALLEL = 1e-10


def truncated_normal_quantile(p: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    r"""The ``p`` quantile of :math:`N(0,1)` truncated to ``[lower, upper]`` (elementwise).

    Solves :math:`\Phi(x) = (1-p)\Phi(l) + p\,\Phi(u)` on the log scale (the upper-tail
    form :math:`\bar\Phi(x) = (1-p)\bar\Phi(l) + p\,\bar\Phi(u)` when :math:`l > 0`), so it
    stays accurate far in either tail.
    """
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    lo, hi = np.broadcast_arrays(lo, hi)
    out = np.empty(lo.shape)
    lp, lq = np.log(p), np.log1p(-p)
    right = lo > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.logaddexp(lq + special.log_ndtr(-lo[right]), lp + special.log_ndtr(-hi[right]))
        out[right] = -special.ndtri_exp(up)
        dn = np.logaddexp(lq + special.log_ndtr(lo[~right]), lp + special.log_ndtr(hi[~right]))
        out[~right] = special.ndtri_exp(dn)
    return np.clip(out, lo, hi)


def normal_sqrt(sigma: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance (negative rounding eigenvalues set to 0)."""
    w, q = np.linalg.eigh((sigma + sigma.T) / 2)
    return (q * np.sqrt(np.clip(w, 0.0, None))) @ q.T


def vertices(rays: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The dual vertices ``r / (r' sd)`` (one per row) of ARP eq. 13 from the cone's rays."""
    return rays / (rays @ sd)[:, None]


def eta(v: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``max_gamma gamma'y`` over the vertices ``v`` (rows), for each column of ``y``."""
    return (v @ y).max(axis=0)


def lf_critical_value(v: np.ndarray, sigma: np.ndarray, kappa: float, z: np.ndarray) -> float:
    r"""The least-favourable critical value :math:`c_{LF}` (ARP section 4.3): the
    ``1 - kappa`` quantile (linear interpolation, R's type 7) of :math:`\hat\eta(\xi)`
    over the draws :math:`\xi = \Sigma^{1/2} z`, ``z`` standard normal (one draw a row)."""
    xi = z @ normal_sqrt(sigma)
    return float(np.quantile(eta(v, xi.T), 1.0 - kappa))


def hybrid_accept(v: np.ndarray, y0: np.ndarray, a: np.ndarray, thetas: np.ndarray, sigma: np.ndarray,
                  alpha: float, kappa: float, lf_cv: float, *, truncate: bool = True) -> np.ndarray:
    r"""Which :math:`\theta` the conditional least-favourable hybrid test accepts, for the
    moments :math:`y(\theta) = y_0 - a\theta` with covariance ``sigma`` and dual vertices
    ``v`` (rows). A boolean array over ``thetas``. ``truncate=False`` leaves
    :math:`\hat\eta \le c_{LF}` out of the conditioning event (HonestDiD's branch without
    nuisance parameters does; the test is then slightly conservative)."""
    y = y0[:, None] - a[:, None] * thetas[None, :]
    vals = v @ y  # (vertices, thetas)
    best = vals.argmax(axis=0)
    cols = np.arange(thetas.size)
    stat = vals[best, cols]
    vsv = v @ sigma @ v.T
    var = vsv[best, best]
    accept = stat <= lf_cv  # the first stage
    deg = var < _ZERO_VARIANCE
    accept &= ~(deg & (stat > 0))  # no variance: reject iff eta > 0 (the conditional limit)
    live = accept & ~deg
    if not np.any(live):
        return accept
    idx = np.flatnonzero(live)
    b_best = best[idx]
    vb = vsv[:, b_best] / var[idx][None, :]  # gamma'b for every vertex
    vs = vals[:, idx] - vb * stat[idx][None, :]  # gamma'S
    gap = 1.0 - vb
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = vs / gap
    lower = np.where(gap > _PARALLEL, bound, -np.inf).max(axis=0)
    upper = np.where(gap < -_PARALLEL, bound, np.inf).min(axis=0)
    sd = np.sqrt(var[idx])
    z = stat[idx] / sd
    zlo = lower / sd
    zup = (np.minimum(upper, lf_cv) if truncate else upper) / sd
    inside = (zlo <= z) & (z <= zup)  # otherwise (rounding) do not reject, as ARP's code does
    size = (alpha - kappa) / (1.0 - kappa)
    cv = np.maximum(0.0, truncated_normal_quantile(1.0 - size, zlo, zup))
    accept[idx] = ~inside | (z <= cv)
    return accept
