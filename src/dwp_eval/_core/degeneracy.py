"""The one degeneracy rule of the variance core (issue 19): an effect whose standard
error would come from rounding noise, or not exist, raises
:class:`~dwp_eval.errors.NotEstimableError` naming the outcome and the cause:

* residuals that vanish to rounding relative to the outcome's scale
  (:func:`residuals_vanish`): a constant outcome, one constant within arms (and
  strata), or one fitted exactly (listed among its own covariates, or a copy of it);
* fewer than two people in an arm (:func:`check_arm_sizes`), or in an arm of a
  stratum the design needs.

:func:`dwp_eval._core.variance.vcov` applies it to every fit of an outcome (its
``outcome=`` argument), :func:`dwp_eval._core.regression.assignment_regression`
and the design-based difference in means before any variance is computed, so
itt, cace, contamination_sensitivity, did, the wild cluster bootstrap and the
randomisation test all share it.
"""

from __future__ import annotations

import numpy as np

from dwp_eval._core.linalg import OLSFit
from dwp_eval.errors import NotEstimableError

__all__ = [
    "DEGENERACY_EPS",
    "check_arm_sizes",
    "check_residuals",
    "not_estimable",
    "residuals_vanish",
]

# Residuals count as zero when their sum of squares is at most (DEGENERACY_EPS * n * scale)^2,
# scale the outcome's largest absolute value: rounding leaves residuals of about
# eps * scale on each row of an exactly fitted outcome, so their sum of squares is
# about n (eps * scale)^2; a real outcome would need a spread below ~9e-16 sqrt(n)
# of its own size to be caught.
DEGENERACY_EPS = 4 * float(np.finfo(float).eps)


def residuals_vanish(rss: float, n: int, scale: float) -> bool:
    """Whether a residual sum of squares ``rss`` over ``n`` rows is zero to rounding
    for an outcome whose largest absolute value is ``scale``. Compared on the root
    scale so that an outcome near the float limit cannot overflow the bound; a
    residual sum of squares that overflowed (inf, nan) is not "vanishing": the
    caller's finiteness check reports it."""
    if not np.isfinite(rss):
        return False
    return bool(np.sqrt(rss) <= DEGENERACY_EPS * max(n, 1) * scale)


def not_estimable(outcome: str | None, reason: str, detail: str, *, func: str) -> NotEstimableError:
    """The one message of the degeneracy rule: outcome, cause, fix."""
    name = "the outcome" if outcome is None else f"outcome {outcome!r}"
    fixes = {
        "zero residual variance": "check the outcome column (a constant or derived column, or "
        "one listed among the covariates); a constant outcome has no effect to estimate",
        "outcome among its covariates": "remove the outcome from covariates= (adjust for its "
        "baseline value, another column, instead)",
        "fewer than two per arm": "collect more people, or merge strata, so that each arm (in "
        "each stratum) holds at least two",
    }
    return NotEstimableError(
        f"{func}: the effect on {name} is not estimable ({reason}): {detail}, so its standard "
        f"error would be zero or undefined and any p-value would come from rounding noise. "
        f"Fix: {fixes[reason]}.",
        outcome=outcome, reason=reason,
    )


def check_arm_sizes(z: np.ndarray, *, outcome: str | None, func: str, where: str = "") -> None:
    """:class:`NotEstimableError` unless each arm holds at least two rows."""
    n1 = int(np.sum(np.asarray(z) == 1))
    n0 = len(z) - n1
    if min(n1, n0) < 2:
        raise not_estimable(
            outcome, "fewer than two per arm",
            f"{'the' if not where else where} arms hold {n1:,} treated and {n0:,} control "
            "people, and a variance needs at least two in each", func=func,
        )


def check_residuals(fit: OLSFit, *, outcome: str | None, func: str, scale: float | None = None) -> None:
    """:class:`NotEstimableError` when the fit's residuals are zero to rounding
    relative to the outcome's scale (:func:`residuals_vanish`): ``scale``, or the
    fit's own ``y_scale`` (pass the raw outcome's ``max |y|`` when the fit saw an
    outcome already demeaned, e.g. by two-way fixed effects)."""
    rss = float(fit.resid @ fit.resid)
    scale = fit.y_scale if scale is None else max(scale, fit.y_scale)
    if residuals_vanish(rss, fit.n, scale):
        raise not_estimable(
            outcome, "zero residual variance",
            f"the regression fits every one of its {fit.n:,} rows exactly (residual sum of "
            f"squares {rss:.3g} against an outcome of size {scale:.3g}): the outcome is "
            "constant within arms (and strata), or an exact function of assignment and the "
            "covariates", func=func,
        )
