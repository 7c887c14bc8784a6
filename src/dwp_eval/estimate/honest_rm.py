r"""Robust confidence sets under the relative-magnitudes restriction
:math:`\Delta^{RM}(\bar M)` (Rambachan & Roth 2023) by the conditional least-favourable
hybrid test of Andrews, Roth & Pakes (2023) inverted over :math:`\theta`; used by
:func:`dwp_eval.honest_did` with ``method="relative_magnitude"``.

Event times are ``-num_pre-1, ..., -2`` (pre) and ``0, ..., num_post-1`` (post) around the
reference ``-1``, where :math:`\delta_{-1} = 0`. The pre-period first differences are
:math:`\Delta_j = \delta_{e_j+1} - \delta_{e_j}` (``num_pre`` of them, the last
:math:`-\delta_{-2}`), the post ones :math:`u_t = \delta_t - \delta_{t-1}`, ``u = D delta_post``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dwp_eval._core import arp
from dwp_eval.errors import ConvergenceError, DesignError

__all__ = ["RmSet", "identified_half_width", "rm_accepts_zero", "rm_breakdown", "rm_set"]

# Widen the theta grid at most this many times (each by half its original number of points).
_MAX_WIDENINGS = 200


@dataclass(frozen=True)
class RmSet:
    """The robust set at one Mbar: ``[low, high]``, the extreme accepted grid points, on a
    grid of spacing ``step``."""

    low: float
    high: float
    step: float
    points: int


def _pre_differences(n_pre: int) -> np.ndarray:
    """``P`` with ``P delta_pre`` the pre-period first differences (delta_{-1} = 0)."""
    p = np.zeros((n_pre, n_pre))
    for j in range(n_pre - 1):
        p[j, j], p[j, j + 1] = -1.0, 1.0
    p[n_pre - 1, n_pre - 1] = -1.0
    return p


def _post_differences(n_post: int) -> np.ndarray:
    """``D`` with ``D delta_post`` the post-period first differences (from delta_{-1} = 0)."""
    return np.eye(n_post) - np.eye(n_post, k=-1)


def _rays(lv: np.ndarray) -> np.ndarray:
    r"""The extreme rays of :math:`\{\gamma \ge 0: \gamma'X = 0\}` for the post-period
    moments :math:`\pm u_t` (rows ``+`` for t = 0..T-1, then ``-``), where :math:`X` spans
    :math:`D\,\ker(l')`. A ray using both signs of one :math:`t` is the pair
    :math:`e_t^+ + e_t^-` (extreme unless :math:`D_t \propto l'`, when :math:`X_t = 0`); any
    other satisfies :math:`D'(\gamma^+ - \gamma^-) \propto l`, so it is the positive and
    negative parts of :math:`\pm w`, :math:`w = D'^{-1}l`, :math:`w_t = \sum_{s \ge t} l_s`."""
    t = lv.size
    w = np.cumsum(lv[::-1])[::-1]
    rays = [np.concatenate([np.maximum(w, 0), np.maximum(-w, 0)]),
            np.concatenate([np.maximum(-w, 0), np.maximum(w, 0)])]
    d = _post_differences(t)
    for i in range(t):
        if abs(abs(d[i] @ lv) - np.linalg.norm(d[i]) * np.linalg.norm(lv)) > 1e-12 * np.linalg.norm(lv):
            pair = np.zeros(2 * t)
            pair[i] = pair[t + i] = 1.0
            rays.append(pair)
    return np.array(rays)


def identified_half_width(b: np.ndarray, n_pre: int, lv: np.ndarray, mbar: float) -> float:
    r"""Half the width of the identified set of :math:`\theta` under :math:`\Delta^{RM}(\bar M)`
    with :math:`\beta` at :math:`\hat\beta` (Rambachan & Roth 2023, section 2.4.1):
    :math:`|u_t| \le \bar M \max_j|\Delta_j|` gives :math:`\theta \in l'\hat\beta_{post} \pm
    \bar M \max_j|\Delta_j| \sum_t |w_t|`, :math:`w = D'^{-1}l`."""
    w = np.cumsum(lv[::-1])[::-1]
    return float(mbar * np.abs(_pre_differences(n_pre) @ b[:n_pre]).max() * np.abs(w).sum())


@dataclass(frozen=True)
class _Component:
    """One polyhedron :math:`\\Delta^{RM}_{j,\\pm}(\\bar M)`: its moments and critical value."""

    y0: np.ndarray
    a: np.ndarray
    sigma: np.ndarray
    v: np.ndarray
    lf_cv: float


def _components(b: np.ndarray, sigma: np.ndarray, n_pre: int, lv: np.ndarray, mbar: float,
                kappa: float, z: np.ndarray) -> list[_Component]:
    r"""For each pre-period difference :math:`j` and sign :math:`\pm` (Rambachan & Roth 2023,
    footnote 9: :math:`\Delta^{RM} = \cup_j (\Delta^{RM}_{j,+} \cup \Delta^{RM}_{j,-})`), the
    post-period moments :math:`\pm u_t - \bar M s\,\Delta_j \le 0` (eq. 12-13 of Rambachan &
    Roth with :math:`\delta = \beta - (0, \tau)`, :math:`l'\tau = \theta`). Like HonestDiD
    (``postPeriodMomentsOnly``), the pre-period moments saying that :math:`j` is the largest
    difference are left out: the union is the same set."""
    t = lv.size
    p, d = _pre_differences(n_pre), _post_differences(t)
    tau0 = lv / float(lv @ lv)
    rays = _rays(lv)
    scale = float(np.abs(np.diag(sigma)).max())
    out = []
    for j in range(n_pre):
        for s in (1.0, -1.0):
            pre = np.tile(-mbar * s * p[j], (2 * t, 1))
            amat = np.hstack([pre, np.vstack([d, -d])])
            sig = amat @ sigma @ amat.T
            sd2 = np.diag(sig)
            if np.any(sd2 <= 1e-12 * scale):
                raise DesignError("honest_did: sigma is singular where the relative-magnitudes test "
                                  "needs it: a post-period difference of the coefficients has zero "
                                  "variance, so its moment cannot be standardised. Fix: pass the "
                                  "full covariance matrix of the event-study estimates.")
            sd = np.sqrt(sd2)
            v = arp.vertices(rays, sd)
            a = np.concatenate([d @ tau0, -(d @ tau0)])
            out.append(_Component(y0=amat @ b, a=a, sigma=sig, v=v,
                                  lf_cv=arp.lf_critical_value(v, sig, kappa, z)))
    return out


def _accepts(comps: list[_Component], thetas: np.ndarray, alpha: float, kappa: float) -> np.ndarray:
    acc = np.zeros(thetas.size, dtype=bool)
    for c in comps:
        acc |= arp.hybrid_accept(c.v, c.y0, c.a, thetas, c.sigma, alpha, kappa, c.lf_cv,
                                 truncate=c.a.size > 2)
    return acc


def rm_set(b: np.ndarray, sigma: np.ndarray, n_pre: int, lv: np.ndarray, mbar: float, alpha: float,
           z: np.ndarray, grid_points: int, grid_bounds: tuple[float, float] | None) -> RmSet:
    r"""The C-LF robust set at one :math:`\bar M`: the hull of the accepted grid points.

    The grid is HonestDiD's (commit 888de5e, which made the README's cached results):
    ``grid_points`` points on :math:`l'\hat\beta_{post} \pm (\bar M \sum_t t|l_t|
    \max_j|\Delta_j| + 20\,sd(\hat\theta))` unless ``grid_bounds``; widened by whole steps, so its points stay on it, until it covers
    :math:`l'\hat\beta_{post}` plus or minus the identified half-width and 20 standard
    errors and until neither end point is accepted.
    """
    kappa = alpha / 10
    sd_theta = math.sqrt(float(lv @ sigma[n_pre:, n_pre:] @ lv))
    if not sd_theta > 0:
        raise DesignError("honest_did: the target l'tau has zero variance under sigma. Fix: pass "
                          "the full covariance matrix of the event-study estimates.")
    theta_hat = float(lv @ b[n_pre:])
    if grid_bounds is None:
        half = mbar * float(np.arange(1, lv.size + 1) @ np.abs(lv)) * float(
            np.abs(_pre_differences(n_pre) @ b[:n_pre]).max()) + 20 * sd_theta
        grid_bounds = (theta_hat - half, theta_hat + half)
    lo, hi = grid_bounds
    step = (hi - lo) / (grid_points - 1)
    comps = _components(b, sigma, n_pre, lv, mbar, kappa, z)
    reach = identified_half_width(b, n_pre, lv, mbar) + 20 * sd_theta
    n_left = max(0, math.ceil((lo - (theta_hat - reach)) / step))
    n_right = max(0, math.ceil((theta_hat + reach - hi) / step))
    base = np.linspace(lo, hi, grid_points)
    grid = np.concatenate([lo - step * np.arange(n_left, 0, -1), base,
                           hi + step * np.arange(1, n_right + 1)])
    acc = _accepts(comps, grid, alpha, kappa)
    more = max(grid_points // 2, 1)
    for _ in range(_MAX_WIDENINGS):
        if not (acc[0] or acc[-1]):
            break
        if acc[0]:
            left = grid[0] - step * np.arange(more, 0, -1)
            grid, acc = np.concatenate([left, grid]), np.concatenate([_accepts(comps, left, alpha, kappa), acc])
        if acc[-1]:
            right = grid[-1] + step * np.arange(1, more + 1)
            grid, acc = np.concatenate([grid, right]), np.concatenate([acc, _accepts(comps, right, alpha, kappa)])
    else:
        raise ConvergenceError(f"honest_did: the relative-magnitudes set at Mbar = {mbar:g} is still "
                               f"open after widening the theta grid to [{grid[0]:.4g}, {grid[-1]:.4g}].")
    if not acc.any():
        raise DesignError(f"honest_did: every theta in [{grid[0]:.4g}, {grid[-1]:.4g}] is rejected at "
                          f"Mbar = {mbar:g}: the data reject Delta^RM(Mbar) itself, so the robust set "
                          "is empty. Fix: a larger Mbar.")
    ok = grid[acc]
    return RmSet(low=float(ok[0]), high=float(ok[-1]), step=step, points=grid.size)


def rm_accepts_zero(b: np.ndarray, sigma: np.ndarray, n_pre: int, lv: np.ndarray, mbar: float,
                    alpha: float, z: np.ndarray) -> bool:
    """Whether the C-LF test at ``mbar`` accepts theta = 0 (0 is in the robust set)."""
    kappa = alpha / 10
    comps = _components(b, sigma, n_pre, lv, mbar, kappa, z)
    return bool(_accepts(comps, np.zeros(1), alpha, kappa)[0])


def rm_breakdown(b: np.ndarray, sigma: np.ndarray, n_pre: int, lv: np.ndarray, alpha: float,
                 z: np.ndarray) -> float:
    """The smallest Mbar at which the robust set contains 0 (NaN if it does at Mbar = 0),
    by bisection to a relative 1e-6."""
    def ok(m: float) -> bool:
        return rm_accepts_zero(b, sigma, n_pre, lv, m, alpha, z)
    if ok(0.0):
        return float("nan")
    hi = 1.0
    while not ok(hi):
        hi *= 2
        if hi > 2.0**40:
            raise ConvergenceError("honest_did: the relative-magnitudes set excludes 0 for every Mbar "
                                   "up to 2^40: no breakdown value.")
    lo = 0.0 if hi == 1.0 else hi / 2
    while hi - lo > 1e-6 * hi:
        mid = (lo + hi) / 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi
