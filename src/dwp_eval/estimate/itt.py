"""Intention-to-treat effects: design-aware difference in means and covariate-adjusted
regression (Lin 2013), with HC/CR variances from :mod:`dwp_eval._core.variance`."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.difference_in_means import design_based, same_estimate_regression
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import prepare_sample, wmean
from dwp_eval._core.variance import resolve_se_type
from dwp_eval._validation import as_column_list, check_alpha, check_option
from dwp_eval.errors import DroppedRowsWarning
from dwp_eval.results import Effect

__all__ = ["DroppedRowsWarning", "itt"]


def itt(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> Effect:
    """Intention-to-treat effect of assignment to ``treatment`` rather than ``control``.

    Parameters
    ----------
    data
        One row per person.
    outcome
        Numeric outcome; a 0/1 outcome is a linear probability model and the
        effect is reported in percentage points.
    assigned
        Column holding each person's arm.
    control, treatment
        Labels of the compared arms; ``treatment`` may be omitted when there is
        only one other arm.
    covariates
        Baseline covariates. Text or categorical columns become dummies.
    adjustment
        ``"lin"``: covariates centred at their (weighted) means and fully
        interacted with assignment (Lin 2013); ``"additive"``: covariates
        entered additively.
    strata
        Column of the randomisation strata (blocks).
    cluster
        Column of the unit of assignment when clusters were randomised.
    se_type
        ``None`` (default) uses the design's estimator: without covariates the
        design-based difference in means (see Notes); with covariates ``HC2``,
        or ``CR2`` with Bell-McCaffrey degrees of freedom when clustered. Any
        name from :data:`dwp_eval._core.variance.SE_TYPES` (case does not
        matter; aliases such as ``"stata"`` are accepted) forces the
        regression estimator with that variance. To keep the design-based
        estimate and change only its variance, use :meth:`Effect.with_se`.
    weights
        Column of positive weights (weighted least squares).
    alpha
        Significance level of the interval and test.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome,
        covariate or ``assigned`` arm (a warning gives the counts, which are
        kept on the result's ``dropped``).

    Returns
    -------
    Effect

    Notes
    -----
    Without covariates the estimator follows the design, as estimatr's
    ``difference_in_means`` does:

    * *standard*: ``mean(Y|T) - mean(Y|C)``, Neyman variance
      ``s_T^2/n_T + s_C^2/n_C`` (numerically HC2, so labelled ``HC2``) and
      Welch-Satterthwaite df (Gerber & Green 2012, eq. 3.6);
    * *blocked*: ``sum_b (n_b/n) d_b`` with variance ``sum_b (n_b/n)^2 v_b``
      (Gerber & Green 2012, eq. 3.10-3.11) and ``n - 2B`` df, labelled
      ``neyman (blocked)``; if every block holds two people (or the design
      mixes pairs and larger blocks) the *matched-pair* variance
      ``sum_b (d_b - d)^2 / (B(B-1))`` (eq. 3.16) with ``B - 1`` df;
    * *clustered*: OLS of Y on assignment with CR2 variance and
      Bell-McCaffrey df (Pustejovsky & Tipton 2018);
    * *block-clustered*: the blocked combination of within-block CR2
      estimates, ``G - 2B`` df, labelled ``CR2 (blocked)``; pairs of clusters
      use Imai, King & Nall (2009, eq. 6) with ``B - 1`` df.

    With weights and no blocks, the weighted regression with HC2 (or CR2) is
    used. With weights and blocks, each block's weighted difference ``d_b``
    (weighted HC2 or CR2 variance ``v_b``) enters with its share of the total
    weight, ``W_b / W`` in place of ``n_b / n`` (``W_b``: the sum of the
    weights in block ``b``), as estimatr 1.0.0's ``difference_in_means`` does
    (``R/estimatr_difference_in_means.R``: a block's ``nobs`` is the sum of
    its weights); the df stay ``n - 2B`` (``G - 2B``) with ``n`` people.
    The weighted blocked variance is labelled ``HC2 (blocked)``.

    With covariates, OLS with Lin's (2013) interacted adjustment (or
    additive adjustment); strata enter as absorbed fixed effects.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 4,
    ...                    "y": [1.0, 2.0, 2.0, 4.0, 3.0, 3.0, 2.0, 3.0]})
    >>> res = itt(df, outcome="y", assigned="arm")
    >>> round(res.estimate, 3), res.design, res.se_type
    (1.0, 'standard', 'HC2')
    """
    func = "itt"
    alpha = check_alpha(alpha, func=func)
    adjustment = check_option(adjustment, ("lin", "additive"), param="adjustment", func=func)  # type: ignore[assignment]
    args: dict[str, Any] = dict(
        outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covariates, adjustment=adjustment, strata=strata, weights=weights,
        alpha=alpha, missing=missing,
    )
    return _estimate(data, args, se_type=se_type, cluster=cluster, keep_design=False, func=func)


def _estimate(
    data: pd.DataFrame,
    args: dict[str, Any],
    *,
    se_type: str | None,
    cluster: Hashable | None,
    keep_design: bool,
    func: str,
) -> Effect:
    """:func:`itt` on checked options. ``keep_design``: without covariates, keep the
    design-based point estimate whatever ``se_type`` is (:meth:`Effect.with_se`)."""
    covs = as_column_list(args["covariates"])
    adjustment = args["adjustment"]
    by_design = not covs and (se_type is None or keep_design)
    se_name = "" if by_design else resolve_se_type(se_type, clustered=cluster is not None, func=func)
    prep, _ = prepare_sample(
        data, outcome=args["outcome"], assigned=args["assigned"], control=args["control"],
        treatment=args["treatment"], covariates=covs, strata=args["strata"], cluster=cluster,
        weights=args["weights"], missing=args["missing"], func=func,
    )
    y, z, w = prep.y, prep.z, prep.weights
    n_clusters = None if prep.cluster is None else len(np.unique(prep.cluster))
    n_strata = None if prep.strata is None else len(np.unique(prep.strata))

    if by_design:
        est, se, df, design, used, method = design_based(prep, func=func)
        if se_type is not None:
            own = used
            name = resolve_se_type(
                se_type, clustered=prep.cluster is not None, func=func, design_types=(own,)
            )
            if name != own:
                se, df, method = same_estimate_regression(
                    prep, est, se, design=design, own=own, se_type=name, func=func
                )
                used = name
    else:
        used = se_name
        if prep.cluster is not None:
            design = "block-clustered" if prep.strata is not None else "clustered"
        else:
            design = "blocked" if prep.strata is not None else "standard"
        est, se, df, _ = assignment_regression(
            y, z, prep.covariates, adjustment, strata=prep.strata, cluster=prep.cluster,
            weights=w, se_type=used, func=func, sources=prep.sources,
        )
        if covs:
            method = "OLS with Lin (2013) interacted covariates" if adjustment == "lin" else "OLS with additive covariates"
        else:
            method = "OLS of outcome on assignment"
        if prep.strata is not None:
            method += ", strata fixed effects"
        if w is not None:
            method += ", weighted"

    return Effect(
        estimand="ITT",
        outcome=str(args["outcome"]),
        treatment=prep.treatment,
        control=prep.control,
        estimate=est,
        std_error=se,
        df=df,
        alpha=args["alpha"],
        n_obs=len(y),
        n_by_arm=prep.n_by_arm,
        control_mean=wmean(y[z == 0], None if w is None else w[z == 0]),
        treatment_mean=wmean(y[z == 1], None if w is None else w[z == 1]),
        se_type=used,
        design=design,
        method=method,
        covariates=tuple(str(c) for c in covs),
        n_clusters=n_clusters,
        n_strata=n_strata,
        binary_outcome=prep.binary,
        dropped=prep.dropped,
        _refit=partial(
            _refit_itt, data, args, original_cluster=cluster,
            keep_design=by_design,
        ),
    )


def _refit_itt(
    data: pd.DataFrame,
    args: dict[str, Any],
    *,
    original_cluster: Hashable | None,
    keep_design: bool,
    se_type: str,
    cluster: Hashable | None,
) -> Effect:
    """:meth:`Effect.with_se`: the same estimator (design-based or regression) with
    another variance; ``cluster=None`` keeps the result's own cluster column."""
    return _estimate(
        data, args, se_type=se_type, cluster=original_cluster if cluster is None else cluster,
        keep_design=keep_design, func="Effect.with_se",
    )


