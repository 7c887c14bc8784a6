"""Intention-to-treat effects: design-aware difference in means and covariate-adjusted
regression (Lin 2013), with HC/CR variances from :mod:`dwp_eval._core.variance`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.contract import Refit
from dwp_eval._core.difference_in_means import (
    BLOCKED_CR2,
    BLOCKED_HC2,
    BLOCKED_NEYMAN,
    MATCHED_PAIR,
    design_based,
    same_estimate_regression,
)
from dwp_eval._core.engines import DASK, SPARK, engine_of
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import Prepared, prepare_sample, singleton_clusters, wmean
from dwp_eval._core.variance import resolve_se_type, unclustered_se_type
from dwp_eval._validation import _fmt_list, as_column_list, check_alpha, check_option
from dwp_eval.errors import DroppedRowsWarning, NotEstimableError, OptionError
from dwp_eval.estimate.itt_engine import itt_on_engine
from dwp_eval.results import Effect

__all__ = ["DIFFERENCE_IN_MEANS", "OLS", "DroppedRowsWarning", "itt"]

#: The estimators :func:`itt` offers (``estimator=``).
DIFFERENCE_IN_MEANS = "difference_in_means"
OLS = "ols"
# the design-based variances' own labels, accepted as se_type for a difference in means
_DESIGN_TYPES = (BLOCKED_NEYMAN, BLOCKED_HC2, BLOCKED_CR2, MATCHED_PAIR)


def itt(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: Any = "control",
    treatment: Any | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    nested_in: Any | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
    estimator: Literal["difference_in_means", "ols"] | None = None,
) -> Effect:
    """Intention-to-treat effect of assignment to ``treatment`` rather than ``control``.

    Parameters
    ----------
    data
        One row per person: a pandas DataFrame, or a Dask or Spark DataFrame (the
        estimate and variance are then computed from sums the engine adds up, equal to
        the in-memory result; strata, ``nested_in``, text covariates and weighted CR2
        need the rows in memory: see the guide *Data beyond one machine*).
    outcome
        Numeric outcome; a 0/1 outcome is a linear probability model and the
        effect is reported in percentage points.
    assigned
        Column holding each person's arm.
    control, treatment
        Labels of the compared arms; ``treatment`` may be omitted when there is
        only one other arm. Labels are compared by value, the same way in every
        function: ``0``, ``0.0``, ``"0"`` and ``False`` are one label on an int,
        float, bool, text or categorical arm column.
    covariates
        Baseline covariates. Text or categorical columns become dummies.
    adjustment
        ``"lin"``: covariates centred at their (weighted) means and fully
        interacted with assignment (Lin 2013); ``"additive"``: covariates
        entered additively.
    strata
        Column of the randomisation strata (blocks), or a list of columns (one
        stratum per combination of their values, as :func:`~dwp_eval.randomise`
        makes them).
    cluster
        Column of the clusters. When each cluster is wholly in one arm, whole
        clusters were randomised (``cluster_role="design"``: the clustered
        designs below). When clusters hold both arms, people were randomised
        and the clusters (villages, providers, caseloads) group the errors for
        the variance only (``cluster_role="variance"``): the estimate is the
        one the design gives without ``cluster``, and its variance is the
        cluster-robust variance (CR2 with Bell-McCaffrey df by default) of the
        regression whose coefficient it is, as estimatr's
        ``lm_robust(y ~ z, clusters = village)`` (``lm_lin`` with centred
        stratum dummies for a blocked difference in means).
    nested_in
        A *partially nested* design (see Notes): the label of the one arm whose
        people are clustered by ``cluster`` (IPS employment specialists, who
        serve the treatment arm only), e.g. ``nested_in="treatment"``. The
        other arm's people are unclustered: their ``cluster`` value is
        ignored and may be missing; each is their own (singleton) cluster.
        The nested arm needs ``cluster`` for every person and at least two
        clusters. ``None`` (default): ``cluster`` is as described above.
    se_type
        The variance only, never the estimate. ``None`` (default): the design's
        own variance for the difference in means (see Notes), ``HC2`` for a
        regression, or ``CR2`` with Bell-McCaffrey degrees of freedom when
        clustered. Any name from the variance table (``"HC0"`` to ``"HC3"``,
        ``"CR0"`` to ``"CR2"``, ``"classical"``; case does not matter; aliases
        such as ``"stata"`` are accepted). For a difference in means another
        se_type is the variance of the regression whose assignment coefficient
        *is* the difference in means (so :meth:`Effect.with_se` and this give
        the same result); where no such regression exists (pairs mixed with
        larger blocks) :class:`~dwp_eval.errors.OptionError` names the se_types
        the design offers.
    weights
        Column of positive weights (weighted least squares).
    alpha
        Significance level of the interval and test.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome,
        covariate or ``assigned`` arm (a warning gives the counts, which are
        kept on the result's ``dropped``). ``+/-inf`` is not missing: it raises
        :class:`~dwp_eval.errors.ColumnError` naming the column and rows.
    estimator
        ``"difference_in_means"``: the design-based difference in means (the
        default without covariates); ``"ols"``: the regression of the outcome
        on assignment, with strata as absorbed fixed effects and the
        covariates as ``adjustment`` says (the default, and the only choice,
        with covariates). On a blocked design the two differ: the difference
        in means weights each stratum by its size, the fixed-effects
        regression by its size times its treated share's variance.

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

    *Partially nested* (``nested_in=``): people were randomised individually,
    but in one arm the outcomes are clustered by whoever delivered the
    programme (Bauer, Sterba & Hallfors 2008; Candlish et al. 2018). The
    estimate is the one the design gives without clusters; the variance is
    the cluster-robust (CR2, Bell-McCaffrey/Pustejovsky-Tipton df) variance
    of the same regression with every person of the other arm as their own
    cluster. For the difference in means it is
    ``sum_g E_g^2 / (1 - n_g/n_T) / n_T^2 + s_C^2 / n_C``
    (``E_g``: cluster ``g``'s residual total in the nested arm): the nested
    arm's CR2 term plus the control arm's Neyman term, the design-based
    counterpart of Bauer et al.'s (2008, eq. 3-4) model variance
    ``sigma_T^2 (1 + (m - 1) rho) / n_T + sigma_C^2 / n_C``. The design label
    is ``"partially nested"`` (``"blocked partially nested"`` with strata,
    which need ``estimator="ols"``: strata fixed effects, because the blocked
    difference in means' ``G - 2B`` df would count every singleton).

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
    covs = as_column_list(covariates)
    chosen = _check_estimator(estimator, covs, func=func)
    if se_type is not None and not _is_design_label(se_type, chosen):
        # an unknown name fails before the data are read
        resolve_se_type(se_type, clustered=cluster is not None, func=func)
    engine = engine_of(data)
    if engine in (DASK, SPARK):
        return itt_on_engine(
            data, engine, outcome=outcome, assigned=assigned, control=control,
            treatment=treatment, covariates=covs, adjustment=adjustment, strata=strata,
            cluster=cluster, nested_in=nested_in, se_type=se_type, weights=weights, alpha=alpha,
            missing=missing, estimator=chosen,
        )
    nested = None
    if nested_in is not None:
        if strata is not None and chosen == DIFFERENCE_IN_MEANS:
            # the blocked combination's df (clusters - 2 x strata) would count every
            # singleton: far too many for a handful of specialists
            raise OptionError(
                f"The 'nested_in' parameter of {func} with strata= needs estimator='ols' (strata "
                "fixed effects, CR2 with Bell-McCaffrey df): the blocked difference in means "
                "takes clusters - 2 x strata df, which would count each unclustered person as a "
                "cluster. Fix: pass estimator='ols'."
            )
        data, cluster, nested = singleton_clusters(
            data, cluster=cluster, assigned=assigned, control=control, treatment=treatment,
            nested_in=nested_in, func=func,
        )
    prep, _ = prepare_sample(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covs, strata=strata, cluster=cluster, weights=weights, missing=missing,
        func=func, variance_cluster=nested is None,
    )
    options = {
        "outcome": str(outcome), "assigned": str(assigned), "estimator": chosen, "adjustment": adjustment, "alpha": alpha,
        "covariates": tuple(str(c) for c in covs), "nested": nested,
    }
    return _fit(prep, options, se_type=se_type, func=func)


def _is_design_label(se_type: Any, estimator: str) -> bool:
    """Whether ``se_type`` names a design-based variance (checked against the design later)."""
    if estimator != DIFFERENCE_IN_MEANS or not isinstance(se_type, str):
        return False
    norm = "".join(ch for ch in se_type.lower() if ch not in " -_()")
    return norm in {"".join(ch for ch in t.lower() if ch not in " -_()") for t in _DESIGN_TYPES}


def _check_block_sizes(prep: Prepared, *, func: str) -> None:
    """The blocked difference in means estimates a variance in every stratum: each needs
    two people of each arm (two clusters in all, with clusters), unless every stratum is
    a pair (matched pairs). :class:`NotEstimableError` names the strata that fall short and the
    fixes (merge them, or the fixed-effects regression, ``estimator="ols"``)."""
    st = prep.strata
    if st is None:
        return
    k = int(st.max()) + 1
    if prep.cluster is None:
        units = np.bincount(st, minlength=k)
        n1 = np.bincount(st, weights=prep.z, minlength=k)
        short = (n1 < 2) | (units - n1 < 2)
        need = "fewer than two people in an arm"
    else:
        pairs = pd.DataFrame({"s": st, "c": prep.cluster, "z": prep.z}).drop_duplicates()
        units = pairs.groupby("s")["c"].nunique().reindex(range(k), fill_value=0).to_numpy()
        short = units < 3
        need = "one cluster per arm"
    pair = bool(np.all(units == 2) or (np.any(units == 2) and np.any(units > 2)))
    if pair or not short.any():
        return
    bad = np.flatnonzero(short)
    names = [prep.strata_levels[i] if i < len(prep.strata_levels) else str(i) for i in bad]
    raise NotEstimableError(
        f"{func}: {len(bad):,} of the {k:,} strata in {prep.strata_name!r} have {need} "
        f"({_fmt_list(names[:5], 5)}), so the blocked difference in means cannot estimate "
        f"their variance for outcome {prep.outcome!r} (it needs two treated and two control "
        f"{'people' if prep.cluster is None else 'clusters in all'} per stratum, or every "
        "stratum a pair). Fix: merge those strata with neighbouring ones, or pass "
        "estimator='ols' (strata fixed effects, which need one person of each arm per stratum).",
        outcome=prep.outcome, reason="fewer than two per arm",
    )


def _check_estimator(estimator: Any, covariates: Sequence[Hashable], *, func: str) -> str:
    if estimator is None:
        return OLS if covariates else DIFFERENCE_IN_MEANS
    chosen = check_option(estimator, (DIFFERENCE_IN_MEANS, OLS), param="estimator", func=func)
    if chosen == DIFFERENCE_IN_MEANS and covariates:
        raise OptionError(
            f"The 'estimator' parameter of {func} is 'difference_in_means', which takes no "
            f"covariates, but covariates={_fmt_list(covariates)} were given. Fix: drop "
            "estimator= (covariates are adjusted for by regression, estimator='ols')."
        )
    return chosen


def _fit(prep: Prepared, options: Mapping[str, Any], *, se_type: str | None, func: str) -> Effect:
    """The ITT of a prepared sample by the chosen estimator, with the variance
    ``se_type`` (``None``: the estimator's own)."""
    y, z, w = prep.y, prep.z, prep.weights
    clustered = prep.cluster is not None
    for_variance = prep.cluster_role == "variance"
    if options["estimator"] == DIFFERENCE_IN_MEANS and for_variance:
        # people were randomised: the design's own estimate, with the variance of the
        # regression that reproduces it, clustered (lm_robust / lm_lin with clusters=)
        _check_block_sizes(replace(prep, cluster=None), func=func)
        est, se, _, design, own, method = design_based(replace(prep, cluster=None), func=func)
        used = resolve_se_type(se_type, clustered=True, func=func)
        se, df, method = same_estimate_regression(
            prep, est, se, design=design, own=own, se_type=used, func=func
        )
    elif options["estimator"] == DIFFERENCE_IN_MEANS:
        _check_block_sizes(prep, func=func)
        est, se, df, design, used, method = design_based(prep, func=func)
        if se_type is not None:
            own = used
            name = resolve_se_type(se_type, clustered=clustered, func=func, design_types=(own,))
            if name != own:
                se, df, method = same_estimate_regression(
                    prep, est, se, design=design, own=own, se_type=name, func=func
                )
                used = name
    else:
        used = resolve_se_type(se_type, clustered=clustered, func=func)
        if clustered and not for_variance:
            design = "block-clustered" if prep.strata is not None else "clustered"
        else:
            design = "blocked" if prep.strata is not None else "standard"
        est, se, df, _ = assignment_regression(
            y, z, prep.covariates, options["adjustment"], strata=prep.strata,
            cluster=prep.cluster, weights=w, se_type=used, func=func, sources=prep.sources,
            outcome=prep.outcome,
        )
        if options["covariates"]:
            method = ("OLS with Lin (2013) interacted covariates" if options["adjustment"] == "lin"
                      else "OLS with additive covariates")
        else:
            method = "OLS of outcome on assignment"
        if prep.strata is not None:
            method += ", strata fixed effects"
        if w is not None:
            method += ", weighted"
    if for_variance:
        method += ", SEs clustered for the variance only (people were randomised)"
    role = prep.cluster_role
    if options.get("nested") is not None and prep.cluster is not None:
        design = "blocked partially nested" if prep.strata is not None else "partially nested"
        method += f"; {options['nested']}"
        role = "partially nested"
    return Effect(
        estimand="ITT",
        outcome=options["outcome"],
        treatment=prep.treatment,
        control=prep.control,
        estimate=est,
        std_error=se,
        df=df,
        alpha=options["alpha"],
        n_obs=len(y),
        n_by_arm=prep.n_by_arm,
        control_mean=wmean(y[z == 0], None if w is None else w[z == 0]),
        treatment_mean=wmean(y[z == 1], None if w is None else w[z == 1]),
        se_type=used,
        design=design,
        method=method,
        covariates=options["covariates"],
        n_clusters=None if prep.cluster is None else len(np.unique(prep.cluster)),
        n_strata=None if prep.strata is None else len(np.unique(prep.strata)),
        binary_outcome=prep.binary,
        dropped=prep.dropped,
        cluster_role=role,
        assigned=options.get("assigned"),
        _refit=Refit(refit, prep, options),
    )


def refit(prep: Prepared, options: Mapping[str, Any], *, se_type: str, cluster: Any = None) -> Effect:
    """:meth:`Effect.with_se` of an ITT: the same estimator on the same prepared
    sample with another variance (``cluster``: new cluster labels, or ``None`` to
    keep the result's own)."""
    func = "Effect.with_se"
    if cluster is not None:
        prep = prep.regroup(cluster, func=func)
        # new clusters replace the partially nested ones (and their label)
        options = {**options, "nested": None}
    elif prep.cluster_role == "variance" and unclustered_se_type(se_type, func=func):
        # people were randomised, so an HC variance is valid: drop the clusters that
        # grouped the errors only (estimatr: lm_robust(..., se_type = "HC2"), no clusters)
        res = _fit(replace(prep, cluster=None, cluster_role=None), options, se_type=se_type, func=func)
        return replace(res, method=res.method + "; the variance-only clusters dropped for "
                       f"{res.se_type} (people were randomised)")
    return _fit(prep, options, se_type=se_type, func=func)
