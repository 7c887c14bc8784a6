"""The regression of an outcome on assignment that every ITT-type estimator fits:
an intercept (or absorbed strata), the 0/1 assignment, and covariates centred at
their (weighted) means, entered additively or fully interacted with assignment
(Lin 2013, *Annals of Applied Statistics* 7(1)), with the variance from
:mod:`dwp_eval._core.variance`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dwp_eval._core.degeneracy import check_arm_sizes, check_residuals, not_estimable
from dwp_eval._core.linalg import Term, fit_ols
from dwp_eval._core.variance import vcov

__all__ = ["assignment_regression"]


def assignment_regression(
    y: np.ndarray,
    z: np.ndarray,
    cov: pd.DataFrame,
    adjustment: str,
    *,
    strata: np.ndarray | None,
    cluster: np.ndarray | None,
    weights: np.ndarray | None,
    se_type: str,
    func: str,
    sources: Mapping[str, str] | None = None,
    outcome: str | None = None,
    check: bool = True,
) -> tuple[float, float, float, int | None]:
    """OLS of y on assignment (and covariates, strata effects); returns estimate, SE, df, G.

    ``sources`` maps covariate columns to the user's covariates they came from
    (default: themselves), so that a collinearity error names user columns.

    The degeneracy rule (``check``, named ``outcome``): fewer than two people in
    an arm, the outcome among its own covariates, or residuals that vanish to
    rounding (:func:`dwp_eval._core.variance.check_residuals`) raise
    :class:`~dwp_eval.errors.NotEstimableError` rather than return a standard
    error of zero or rounding noise.
    """
    n, p = len(y), cov.shape[1]
    if check:
        check_arm_sizes(z, outcome=outcome, func=func)
        own = [str(c) for c in cov.columns if outcome is not None
               and outcome in (str(c), (sources or {}).get(str(c)))]
        if own:
            raise not_estimable(
                outcome, "outcome among its covariates",
                f"it is listed among its own covariates ({own[0]!r}), so the regression fits "
                "it exactly", func=func,
            )
    lin = adjustment == "lin" and p > 0
    first = 1 if strata is None else 0  # intercept column unless strata are absorbed
    # one n x k array filled column by column: no n x p temporaries (memory is the
    # data's size plus the design, not several copies of the covariates)
    X = np.empty((n, first + 1 + p * (2 if lin else 1)), order="F")  # columns contiguous
    names: list[str] = [Term("(Intercept)", None)] if first else []
    if first:
        X[:, 0] = 1.0
    X[:, first] = z
    names.append(Term("assigned", None))
    if p:
        src = {str(c): (sources or {}).get(str(c), str(c)) for c in cov.columns}
        for j, c in enumerate(cov.columns):
            col = X[:, first + 1 + j]
            col[:] = cov[c].to_numpy(dtype=float)
            col -= np.average(col, weights=weights)  # centred (Lin 2013)
            if lin:
                np.multiply(col, z, out=X[:, first + 1 + p + j])
        names += [Term(str(c), src[str(c)]) for c in cov.columns]
        if lin:
            names += [Term(f"assigned:{c}", src[str(c)]) for c in cov.columns]
    fit = fit_ols(X, y, names, weights=weights, fe_codes=strata, func=func)
    if check:
        check_residuals(fit, outcome=outcome, func=func)
    res = vcov(fit, se_type, cluster)
    j = names.index("assigned")
    return float(fit.beta[j]), float(res.std_error[j]), float(res.df[j]), res.n_clusters
