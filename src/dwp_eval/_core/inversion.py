"""Test inversion shared by the randomisation test and the wild cluster bootstrap.

Both summarise each re-drawn assignment (or bootstrap sample) by five numbers
``(a, b, v0, v1, v2)`` such that the statistic for the hypothesis of a
constant effect ``tau`` is ``T(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)``;
the p-value of every ``tau`` then re-uses the same draws, and the interval is
the set of ``tau`` not rejected (Imbens & Rubin 2015, ch. 5.7; for the
bootstrap, MacKinnon 2015 and Roodman et al. 2019, *Stata Journal* 19(1)).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from dwp_eval._core.assignments import TIE_RTOL
from dwp_eval._core.contract import Frozen
from dwp_eval.errors import DwpEvalWarning

__all__ = ["PValueFunction", "t_values"]


def t_values(coefs: np.ndarray, tau: float) -> np.ndarray:
    """``T(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)`` for rows ``(a, b, v0, v1, v2)``."""
    c = np.atleast_2d(coefs)
    num = c[:, 0] - tau * c[:, 1]
    var = c[:, 2] + tau * (c[:, 3] + tau * c[:, 4])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num / np.sqrt(np.clip(var, 0.0, None))
    return np.asarray(t)


@dataclass(frozen=True, eq=False)
class PValueFunction(Frozen):  # read-only copies: a result holding this is frozen
    """The p-value of ``H0: effect = tau`` as a function of ``tau``.

    ``obs`` holds the observed ``(a, b, v0, v1, v2)`` and ``draws`` one row per
    re-drawn assignment (or bootstrap sample); the statistic is
    :func:`t_values`. ``plus_one`` selects ``(1 + k) / (1 + B)`` (random
    permutations, Phipson & Smyth 2010) instead of ``k / B`` (enumeration, or
    the bootstrap).
    """

    obs: np.ndarray
    draws: np.ndarray
    plus_one: bool
    centre: float
    scale: float


    def __call__(self, tau: float) -> float:
        return float(self.many(np.array([float(tau)]))[0])

    def many(self, taus: np.ndarray) -> np.ndarray:
        """p-values at each of ``taus`` (vectorised over taus and draws)."""
        out = np.empty(len(taus))
        step = max(1, 4_000_000 // max(len(self.draws), 1))
        d = self.draws
        o = self.obs[0]
        for i in range(0, len(taus), step):
            t = taus[i : i + step][:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                t_obs = np.abs((o[0] - t * o[1]) / np.sqrt(np.clip(o[2] + t * (o[3] + t * o[4]), 0, None)))
                t_star = np.abs(
                    (d[None, :, 0] - t * d[None, :, 1])
                    / np.sqrt(np.clip(d[None, :, 2] + t * (d[None, :, 3] + t * d[None, :, 4]), 0, None))
                )
            # an undefined draw (0/0) counts as at least as extreme: conservative
            k = np.count_nonzero(~(t_star < t_obs * (1.0 - TIE_RTOL)), axis=1)
            p = (1 + k) / (1 + len(d)) if self.plus_one else k / len(d)
            out[i : i + step] = np.where(np.isnan(t_obs[:, 0]), 1.0, p)
        return out

    def interval(self, alpha: float) -> tuple[float, float]:
        """The set of ``tau`` not rejected at ``alpha`` (its convex hull), by a grid
        scan out to 40 scales either side of the estimate, then bisection. An
        unbounded side is -inf/inf, with a :class:`DwpEvalWarning` saying why (never
        a silent infinity)."""
        lo, hi = self._bound(alpha, -1.0), self._bound(alpha, 1.0)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            warnings.warn(
                f"The {100 * (1 - alpha):g}% interval from inverting the test is unbounded "
                f"({lo:g}, {hi:g}): no effect size on that side is rejected at alpha={alpha:g}; "
                "with few people or draws the smallest attainable p-value can exceed alpha. "
                "Fix: use more draws (or draws='all'), or a larger sample; report the interval "
                "as unbounded, not as a number.",
                DwpEvalWarning, stacklevel=3,
            )
        return (lo, hi)

    def _bound(self, alpha: float, side: float) -> float:
        scale = self.scale if np.isfinite(self.scale) and self.scale > 0 else max(abs(self.centre), 1.0)
        grid = self.centre + side * scale * np.arange(0, 321) / 8.0
        accepted = self.many(grid) > alpha
        if accepted[-1]:
            # still not rejected 40 scales out: look further, then give up (unbounded)
            inner = float(grid[-1])
            for k in range(2, 8):
                t = self.centre + side * scale * 10.0**k
                if self(t) <= alpha:
                    return self._bisect(inner, t, alpha)
                inner = t
            return side * np.inf
        if not accepted.any():
            return self.centre
        last = int(np.flatnonzero(accepted).max())
        return self._bisect(float(grid[last]), float(grid[last + 1]), alpha)

    def _bisect(self, inside: float, outside: float, alpha: float) -> float:
        tol = 1e-10 * max(self.scale, abs(self.centre), 1e-300)
        for _ in range(200):
            if abs(outside - inside) <= tol:
                break
            mid = 0.5 * (inside + outside)
            if self(mid) > alpha:
                inside = mid
            else:
                outside = mid
        return 0.5 * (inside + outside)
