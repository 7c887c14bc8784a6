"""The batched covariate-adjusted path of :func:`~dwp_eval.diagnose`: a fixed
population re-randomised many times, analysed by :func:`~dwp_eval.itt`'s
regression (additive or Lin (2013) covariates, strata as absorbed fixed effects,
an HC variance) for a whole batch of assignments at once.

Only assignment changes between simulations: the intercept (or the strata), the
centred covariates and so the leverages of that fixed part are the same in every
simulated trial. They are factorised once (:func:`~dwp_eval._core.batched_fits.fixed_part`);
each simulation's assignment column (with Lin, also its interactions with the
centred covariates) and outcome are residualised on them and the assignment
coefficient, its HC variance and df follow from small ``q x q`` systems
(:func:`~dwp_eval._core.batched_fits.partial_fits`,
:func:`~dwp_eval._core.batched_fits.batched_vcov`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dwp_eval._core.batched_fits import (
    Workspace,
    batched_vcov,
    fixed_part,
    one_column_fits,
    partial_fits,
)
from dwp_eval._core.degeneracy import residuals_vanish
from dwp_eval._core.sample import prepare_sample
from dwp_eval._core.variance import resolve_se_type
from dwp_eval.design._simulation.population import ARM, OBSERVED, Spec

__all__ = ["AdjustedRegression", "regression_ok"]

#: Elements (sims x varying columns x people) of one sub-batch's largest working
#: array: about 1.3 MB, so that a sub-batch's arrays stay in cache. Measured for
#: 10,000 people: 100 sims at a time took 2-3x longer per simulation than 6 at a
#: time (additive); 160,000 was as fast as or faster than 80,000 and 320,000 for
#: both the additive and Lin designs.
BUDGET = 160_000

#: Elements (sims x people) of the assignments drawn at once.
DRAW_BUDGET = 2_000_000


def regression_ok(spec: Spec) -> bool:
    """Whether :func:`~dwp_eval.itt` fits a regression that the batched path reproduces:
    covariates, no clusters, and a classical or HC variance."""
    if spec.estimator != "itt" or not spec.covariates or spec.cluster is not None:
        return False
    return resolve_se_type(spec.se_type, clustered=False, func="diagnose") in (
        "classical", "HC0", "HC1", "HC2", "HC3")


class AdjustedRegression:
    """:func:`~dwp_eval.itt`'s covariate-adjusted regression of one fixed population,
    prepared once and evaluated for many assignments.

    ``data`` is the population revealed under one assignment (any: only the covariates
    and strata are read); it is prepared by the same
    :func:`~dwp_eval._core.sample.prepare_sample` as ``itt``, so the covariates are
    expanded (dummies) and centred exactly as ``itt`` does.
    """

    def __init__(self, data: pd.DataFrame, spec: Spec, rows: np.ndarray, y0: np.ndarray,
                 y1: np.ndarray):
        prep, _ = prepare_sample(
            data, outcome=OBSERVED, assigned=ARM, control=spec.control, treatment=spec.treatment,
            covariates=spec.covariates, strata="_stratum" if spec.strata else None, cluster=None,
            weights=None, missing="raise", func="itt", variance_cluster=True,
        )
        if len(prep.y) != len(data):  # pragma: no cover - missing values raise above
            raise RuntimeError("diagnose: the prepared sample lost rows")
        # Work in the assignments' (canonical) order ``rows``, sorted by stratum when
        # there are strata (their sums are then contiguous runs): ``columns`` picks the
        # working order's people from an assignment in canonical order.
        self.columns: np.ndarray | None = None
        if prep.strata is not None:
            cols = np.argsort(prep.strata[rows], kind="stable")
            self.columns = cols
            rows = rows[cols]
        x = prep.covariates.to_numpy(dtype=float)[rows]
        x = x - x.mean(axis=0)  # centred (Lin 2013), as assignment_regression does
        fixed = x if prep.strata is not None else np.column_stack([np.ones(len(x)), x])
        self.fixed = fixed_part(fixed, fe_codes=None if prep.strata is None else prep.strata[rows],
                                func="diagnose")
        lin = spec.adjustment == "lin" and x.shape[1] > 0
        # the varying columns are z times these rows: [1] (additive) or [1, x_c] (Lin)
        self.loadings = np.vstack([np.ones(len(x)), x.T]) if lin else np.ones((1, len(x)))
        self.y0, tau = y0[rows], y1[rows] - y0[rows]
        self.y_scale = float(max(np.max(np.abs(y0)), np.max(np.abs(y1))))
        # a constant effect (effect=: y1 = y0 + effect, equal up to the rounding of that
        # sum): y = y0 + tau z moves with the assignment column itself
        const = float(np.mean(tau))
        rounding = 64 * np.finfo(float).eps * max(1.0, self.y_scale)
        self.tau: float | np.ndarray = (const if float(np.max(np.abs(tau - const))) <= rounding
                                        else tau)
        self.se_type = resolve_se_type(spec.se_type, clustered=False, func="diagnose")
        #: simulations per sub-batch, so that its arrays stay within ``BUDGET`` elements
        self.step = max(1, BUDGET // (len(x) * self.loadings.shape[0]))
        self.draw_step = max(1, DRAW_BUDGET // len(x))
        self.work = Workspace()  # buffers reused from one sub-batch to the next
        self.u = self.fixed.residualise(self.y0[None, :])[0]  # M y0, for the constant effect

    def estimate(
        self, Zc: np.ndarray, one: Callable[[int], tuple[float, float, float]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Estimate, SE and df of the assignment coefficient for each row of ``Zc``
        (S x n, 0/1, canonical order). ``one(s)`` runs ``itt`` on simulation ``s``
        itself: used where the batched fit cannot decide (a rank-deficient design or
        vanishing residuals), so that ``itt``'s own error is raised."""
        S, n = Zc.shape
        est, se, df = np.empty(S), np.empty(S), np.empty(S)
        for lo in range(0, S, self.step):
            z = Zc[lo : lo + self.step]
            b, q, work = len(z), len(self.loadings), self.work
            if self.columns is not None:
                z = np.take(z, self.columns, axis=1, out=work.get("z", (b, n)))
            if q == 1 and isinstance(self.tau, float):  # additive, constant effect
                b_, v, dof, ok, rss = one_column_fits(self.fixed, z, self.u, self.tau,
                                                      self.se_type, work, residualised=True)
                self._store(est, se, df, lo, b_, v, dof, ok, rss, n, one)
                continue
            if q == 1:  # the assignment column alone (a view)
                V = z[:, None, :]
            else:  # the assignment column, then its interactions (Lin)
                V = work.get("V", (b, q, n))
                V[:, 0, :] = z
                for j in range(1, q):
                    np.multiply(z, self.loadings[j][None, :], out=V[:, j, :])
            if isinstance(self.tau, float):
                fits = partial_fits(self.fixed, V, self.u, shift=(0, self.tau), work=work,
                                    residualised=True)
            else:
                y = np.multiply(z, self.tau[None, :], out=work.get("y", (b, n)))
                y += self.y0[None, :]
                fits = partial_fits(self.fixed, V, y, work=work)
            v, dof = batched_vcov(fits, self.se_type, work=work)
            rss = np.einsum("sn,sn->s", fits.resid, fits.resid)
            self._store(est, se, df, lo, fits.beta[:, 0], v, dof, fits.ok, rss, n, one)
        return est, se, df

    def _store(self, est: np.ndarray, se: np.ndarray, df: np.ndarray, lo: int, b: np.ndarray,
               v: np.ndarray, dof: float, ok: np.ndarray, rss: np.ndarray, n: int,
               one: Callable[[int], tuple[float, float, float]]) -> None:
        """Write a sub-batch's results from ``lo`` on; ``itt`` decides the fits that are
        rank deficient or whose residuals may vanish (the outcome's scale bounded by
        the population's, which flags more, never fewer)."""
        k = len(b)
        est[lo : lo + k] = b
        se[lo : lo + k] = np.sqrt(np.clip(v, 0.0, None))
        df[lo : lo + k] = dof
        for i in range(k):
            if not ok[i] or residuals_vanish(float(rss[i]), n, self.y_scale):
                est[lo + i], se[lo + i], df[lo + i] = one(lo + i)
