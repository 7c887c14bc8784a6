"""Synthetic control and synthetic difference-in-differences on a wide outcome matrix.

``Y`` is an ``N x T`` matrix: the ``N0`` donor (control) units first, then the
treated units; the ``T0`` pre-periods first, then the post-periods. Weights are
found by Frank-Wolfe with exact line search on the simplex, as in Arkhangelsky,
Athey, Hirshberg, Imbens & Wager (2021, AER, Section 2 and Appendix; the
algorithm of their R package synthdid, whose convergence rule is used so that
the same optimum is reached).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SdidFit", "bootstrap_draws", "collapsed", "fit_sdid", "frank_wolfe", "jackknife_se", "noise_level",
           "placebo_draws", "resampling_se", "sdid_estimate"]


def collapsed(Y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    """The ``(N0 + 1) x (T0 + 1)`` matrix with treated units and post-periods averaged."""
    top = np.column_stack([Y[:n0, :t0], Y[:n0, t0:].mean(axis=1)])
    bottom = np.append(Y[n0:, :t0].mean(axis=0), Y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def noise_level(Y: np.ndarray, n0: int, t0: int) -> float:
    """sigma: the standard deviation (n - 1 denominator) of the donors' first
    differences over the pre-periods (Arkhangelsky et al. 2021, eq. 2.3)."""
    d = np.diff(Y[:n0, :t0], axis=1)
    return float(np.std(d, ddof=1)) if d.size > 1 else 0.0


def frank_wolfe(Y: np.ndarray, zeta: float, *, intercept: bool, start: np.ndarray | None,
                min_decrease: float, max_iter: int) -> np.ndarray:
    """Weights ``w`` on the simplex minimising
    ``zeta^2 ||w||^2 + ||A w - b||^2 / N`` where ``A`` is all columns of ``Y`` but the
    last and ``b`` the last (both column-centred with ``intercept``).

    Frank-Wolfe with exact line search (each step moves towards the vertex with the
    smallest gradient coordinate), run on the Gram matrix ``A'A`` so a step costs
    O(k); stops, as synthdid's ``sc.weight.fw`` does, when the objective falls by
    less than ``min_decrease^2`` or after ``max_iter`` steps."""
    n, k1 = Y.shape
    k = k1 - 1
    if intercept:
        Y = Y - Y.mean(axis=0)
    x = np.full(k, 1.0 / k) if start is None else np.array(start, dtype=float)
    A, b = Y[:, :k], Y[:, k]
    G = A.T @ A
    h = A.T @ b
    eta = n * zeta**2
    z2 = zeta**2
    # Everything is updated in O(k) per step: with x' = (1 - s) x + s e_i the half
    # gradient hg = Gx - h + eta x becomes (1 - s) hg + s Q[i] (Q = G - h 1' + eta I,
    # G symmetric) and the scalars x'x, h'x, x'Gx follow by expanding the squares.
    Q = G - h[None, :] + eta * np.eye(k)  # row i: G[i] - h + eta e_i (G symmetric)
    Gx = G @ x
    hg = Gx - h + eta * x
    gd = np.diag(G).tolist()
    hl = h.tolist()
    xx, hx, xGx = float(x @ x), float(h @ x), float(x @ Gx)
    bb = float(b @ b)
    thresh = min_decrease**2
    prev2 = prev1 = np.inf
    t = 0
    while t < max_iter and (t < 2 or prev2 - prev1 > thresh):
        t += 1
        i = int(hg.argmin())
        xi = float(x[i])
        if not (xi == 1.0 and xx == 1.0):  # else x is already the vertex: no move
            gxi = float(hg[i]) + hl[i] - eta * xi  # (Gx)_i
            num = float(hg[i]) - (xGx - hx + eta * xx)  # half-gradient . (e_i - x)
            den = gd[i] - 2.0 * gxi + xGx + eta * (1.0 - 2.0 * xi + xx)
            step = min(1.0, max(0.0, -num / den)) if den > 0 else 0.0
            c = 1.0 - step
            xx = c * c * xx + 2.0 * step * c * xi + step * step
            hx = c * hx + step * hl[i]
            xGx = c * c * xGx + 2.0 * step * c * gxi + step * step * gd[i]
            x *= c
            x[i] += step
            hg *= c
            hg += step * Q[i]
        val = z2 * xx + (xGx - 2.0 * hx + bb) / n
        prev2, prev1 = prev1, val
    return x


def _sparsify(w: np.ndarray) -> np.ndarray:
    v = np.where(w <= w.max() / 4, 0.0, w)
    return v / v.sum()


@dataclass(frozen=True)
class SdidFit:
    """Weights and estimate of one synthetic DiD-type fit."""

    estimate: float
    omega: np.ndarray  # donor weights (N0)
    lam: np.ndarray  # pre-period weights (T0); zeros for synthetic control
    zeta_omega: float
    zeta_lambda: float
    noise: float


def sdid_estimate(Y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    """``tau = (-omega, 1/N1)' Y (-lambda, 1/T1)``: the weighted two-way fixed effects
    estimate (Arkhangelsky et al. 2021, eq. 2.1, written as in their eq. 2.7)."""
    n, t = Y.shape
    a = np.concatenate([-omega, np.full(n - n0, 1.0 / (n - n0))])
    c = np.concatenate([-lam, np.full(t - t0, 1.0 / (t - t0))])
    return float(a @ Y @ c)


def fit_sdid(Y: np.ndarray, n0: int, t0: int, *, kind: str,
             omega: np.ndarray | None = None, lam: np.ndarray | None = None, fixed: bool = False,
             zeta_omega: float | None = None, zeta_lambda: float | None = None,
             min_decrease: float | None = None, max_iter: int = 10_000,
             max_iter_pre_sparsify: int = 100) -> SdidFit:
    """Fit ``kind`` = ``"sdid"``, ``"sc"`` or ``"did"`` as Arkhangelsky et al. (2021)
    define them (their Algorithm 1; synthetic control has no time weights, no unit
    intercept and ``zeta = 1e-6 sigma``; DiD has uniform weights).

    ``omega`` / ``lam`` are starting values for the solver, or, with ``fixed``, the
    weights themselves (the fixed-weight jackknife). ``zeta_*`` and ``min_decrease``
    default to the data's (``sigma`` from :func:`noise_level`); the resampling
    algorithms pass the original fit's. The solver settings are synthdid's
    (``min_decrease = 1e-5 sigma``, 100 steps, sparsify, up to 10,000 steps)."""
    n, t = Y.shape
    n1, t1 = n - n0, t - t0
    sigma = noise_level(Y, n0, t0)
    eta_omega = (n1 * t1) ** 0.25 if kind == "sdid" else 1e-6
    zo = eta_omega * sigma if zeta_omega is None else zeta_omega
    zl = 1e-6 * sigma if zeta_lambda is None else zeta_lambda
    md = 1e-5 * sigma if min_decrease is None else min_decrease
    Yc = collapsed(Y, n0, t0)

    def solve(M: np.ndarray, zeta: float, intercept: bool, start: np.ndarray | None) -> np.ndarray:
        w = frank_wolfe(M, zeta, intercept=intercept, start=start, min_decrease=md,
                        max_iter=max_iter_pre_sparsify)
        return frank_wolfe(M, zeta, intercept=intercept, start=_sparsify(w), min_decrease=md,
                           max_iter=max_iter)

    if kind == "did":
        w = np.full(n0, 1.0 / n0)
        lm = np.full(t0, 1.0 / t0)
    else:
        if kind == "sc":
            lm = np.zeros(t0)
        elif fixed and lam is not None:
            lm = np.asarray(lam, dtype=float)
        else:
            lm = solve(Yc[:n0], zl, True, lam)
        if fixed and omega is not None:
            w = np.asarray(omega, dtype=float)
        else:
            w = solve(Yc[:, :t0].T, zo, kind == "sdid", omega)
    return SdidFit(sdid_estimate(Y, n0, t0, w, lm), w, lm, zo, zl, sigma)


def _normalise(x: np.ndarray) -> np.ndarray:
    s = x.sum()
    return x / s if s != 0 else np.full(x.size, 1.0 / x.size)


def jackknife_se(Y: np.ndarray, n0: int, t0: int, fit: SdidFit, kind: str) -> float:
    """The fixed-weight jackknife SE (Arkhangelsky et al. 2021, Algorithm 3): drop each
    unit in turn, keep lambda and the renormalised omega, recompute tau. NaN with one
    treated unit or one donor with non-zero weight (where it is undefined)."""
    n = Y.shape[0]
    if n - n0 == 1 or np.count_nonzero(fit.omega) == 1:
        return float("nan")
    u = np.empty(n)
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        m0 = n0 - (i < n0)
        om = fit.omega[keep[:m0]]
        u[i] = sdid_estimate(Y[keep], m0, t0, om / om.sum(), fit.lam)
    return float(np.sqrt((n - 1) ** 2 / n * np.var(u, ddof=1)))


def _refit(Y: np.ndarray, n0: int, t0: int, fit: SdidFit, kind: str, omega_start: np.ndarray) -> float:
    return fit_sdid(Y, n0, t0, kind=kind, omega=_normalise(omega_start), lam=fit.lam,
                    zeta_omega=fit.zeta_omega, zeta_lambda=fit.zeta_lambda,
                    min_decrease=1e-5 * fit.noise).estimate


def placebo_draws(Y: np.ndarray, n0: int, t0: int, fit: SdidFit, kind: str, reps: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Placebo estimates (Algorithm 4): permute the donors, give the last ``N1`` of them
    the treatment and re-estimate on the donors only (weights re-optimised from the
    original ones)."""
    n1 = Y.shape[0] - n0
    out = np.empty(reps)
    for r in range(reps):
        ind = rng.permutation(n0)
        m0 = n0 - n1
        out[r] = _refit(Y[ind], m0, t0, fit, kind, fit.omega[ind[:m0]])
    return out


def bootstrap_draws(Y: np.ndarray, n0: int, t0: int, fit: SdidFit, kind: str, reps: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Unit bootstrap estimates (Algorithm 2): resample units with replacement, redraw
    when the sample has no donor or no treated unit, re-estimate."""
    n = Y.shape[0]
    out = np.empty(reps)
    r = 0
    while r < reps:
        ind = np.sort(rng.integers(0, n, size=n))
        m0 = int(np.sum(ind < n0))
        if m0 == 0 or m0 == n:
            continue
        out[r] = _refit(Y[ind], m0, t0, fit, kind, fit.omega[ind[:m0]])
        r += 1
    return out


def resampling_se(draws: np.ndarray) -> float:
    """``sqrt((B - 1) / B) sd(draws)``: the SE of Algorithms 2 and 4."""
    return float(np.std(draws, ddof=0))
