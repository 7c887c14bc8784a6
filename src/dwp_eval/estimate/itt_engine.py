""":func:`~dwp_eval.itt` on a Dask or Spark DataFrame: the same estimators from sums the
engine adds up (:mod:`dwp_eval._core.engines.regression`), finished on the driver.

Offered on an engine: the difference in means and the regression (Lin 2013 or additive
numeric covariates) of a standard or clustered design, with weights, and every variance
of the lookup table (CR2 unweighted). What needs the rows together on one machine
(strata, partially nested designs, weighted CR2, text covariates) raises
:class:`~dwp_eval.errors.OptionError` naming the option and the fix.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.difference_in_means import welch_df
from dwp_eval._core.engines import kept
from dwp_eval._core.engines.regression import (
    Design,
    EngineFit,
    cluster_sums_of,
    cr_vcov,
    fit_sums,
    hc_vcov,
    with_centre,
)
from dwp_eval._core.variance import resolve_se_type
from dwp_eval._validation import _fmt_list, check_alpha
from dwp_eval.errors import DesignError
from dwp_eval.estimate.engine_sample import check_sample_columns, engine_sample, refuse
from dwp_eval.results import Effect

__all__ = ["itt_on_engine"]

def itt_on_engine(
    data: Any, engine: str, *, outcome: Hashable, assigned: Hashable, control: Any,
    treatment: Any | None, covariates: Sequence[Hashable], adjustment: str, strata: Any,
    cluster: Hashable | None, nested_in: Any, se_type: str | None, weights: Hashable | None,
    alpha: float, missing: str, estimator: str,
) -> Effect:
    """:func:`~dwp_eval.itt` of a Dask or Spark DataFrame (``estimator`` already chosen)."""
    func = "itt"
    alpha = check_alpha(alpha, func=func)
    if strata is not None:
        raise refuse("'strata' parameter", engine, func)
    if nested_in is not None:
        raise refuse("'nested_in' parameter", engine, func)
    check_sample_columns(data, engine, func=func, outcome=outcome, assigned=assigned,
                         covariates=covariates, cluster=cluster, weights=weights)
    with kept(data, [outcome, assigned, *covariates, cluster, weights]) as data:
        return _itt(data, engine, outcome=outcome, assigned=assigned, control=control,
                    treatment=treatment, covariates=covariates, adjustment=adjustment,
                    cluster=cluster, se_type=se_type, weights=weights, alpha=alpha,
                    missing=missing, estimator=estimator, func=func)


def _itt(
    data: Any, engine: str, *, outcome: Hashable, assigned: Hashable, control: Any,
    treatment: Any | None, covariates: Sequence[Hashable], adjustment: str,
    cluster: Hashable | None, se_type: str | None, weights: Hashable | None,
    alpha: float, missing: str, estimator: str, func: str,
) -> Effect:
    design, totals, dropped = engine_sample(
        data, engine, func=func, outcome=outcome, assigned=assigned, control=control,
        treatment=treatment, covariates=covariates, cluster=cluster, weights=weights,
        missing=missing, lin=adjustment == "lin",
    )
    design = with_centre(design, totals)
    means = (totals["wy1"] / totals["w1"], totals["wy0"] / totals["w0"])
    try:
        fit = fit_sums(data, design, (float(totals["wy1"] / totals["w1"]) if weights is None else 0.0,
                                      float(totals["wy0"] / totals["w0"]) if weights is None else 0.0))
    except np.linalg.LinAlgError:
        raise DesignError(
            f"{func}: the regression of {design.outcome!r} on assignment and the covariates "
            f"{_fmt_list([str(c) for c in design.covariates])} is singular (a covariate is "
            "constant among the compared people, or a combination of the others). Fix: drop "
            "the redundant covariate."
        ) from None
    return _result(data, design, fit, totals, means, dropped, se_type=se_type, estimator=estimator,
                   alpha=alpha, engine=engine, func=func)


def _result(data: Any, design: Design, fit: EngineFit, totals: pd.Series, means: tuple[float, float],
            dropped: dict[str, int], *, se_type: str | None, estimator: str, alpha: float,
            engine: str, func: str) -> Effect:
    n1, n0 = int(totals["n1"]), int(totals["n0"])
    clustered = design.cluster is not None
    role = None
    n_clusters = None
    blocks = None
    if clustered:
        key_type = ("string" if engine == "dask"
                    else data.schema[str(design.cluster)].dataType.simpleString())
        blocks = cluster_sums_of(data, design, fit, key_type=key_type)
        n_clusters = len(blocks)
        mixed = ((blocks["z"] > 0) & (blocks["z"] < blocks["n"])).any()
        role = "variance" if mixed else "design"
    used = resolve_se_type(se_type, clustered=clustered, func=func,
                           design_types=("HC2",) if not clustered and estimator == "difference_in_means" else ())
    weighted = design.weights is not None
    est = float(fit.beta[1])
    if clustered and used == "CR2" and weighted:
        raise refuse("weighted CR2 variance (weights= with cluster=)", engine, func)
    if estimator == "difference_in_means" and not clustered and not weighted and se_type is None:
        ss1, ss0 = fit.rss_arms
        v1, v0 = ss1 / (n1 - 1) / n1, ss0 / (n0 - 1) / n0
        se, df = float(np.sqrt(v1 + v0)), float(welch_df(v1, v0, n1, n0))
        design_label, method = "standard", "difference in means (Neyman variance, Welch df)"
    else:
        if blocks is not None:  # clustered
            V, dof = cr_vcov(blocks, design, fit, used)
            df = float(dof[1])
        else:
            V = hc_vcov(data, design, fit, used)
            df = float(fit.n - design.k)
        se = float(np.sqrt(max(V[1, 1], 0.0)))
        if estimator == "difference_in_means":
            design_label = "clustered" if role == "design" else "standard"
            own = "CR2" if role == "design" else "HC2"
            if used == own and role != "variance":
                method = "difference in means (OLS" + (", weighted" if weighted else "") + f", {used})"
            else:  # the regression whose coefficient is the difference in means
                method = ("OLS of outcome on assignment" + (", weighted" if weighted else "")
                          + f"; its coefficient is the {design_label} difference in means")
        else:
            design_label = "clustered" if role == "design" else "standard"
            method = ("OLS with Lin (2013) interacted covariates" if design.covariates and design.lin
                      else "OLS with additive covariates" if design.covariates
                      else "OLS of outcome on assignment")
            if weighted:
                method += ", weighted"
    if role == "variance":
        method += ", SEs clustered for the variance only (people were randomised)"
    method += f"; computed on {engine.capitalize()}"
    return Effect(
        estimand="ITT", outcome=str(design.outcome), treatment=design.treatment_key,
        control=design.control_key, estimate=est, std_error=se, df=df, alpha=alpha,
        n_obs=n1 + n0, n_by_arm={design.control_key: n0, design.treatment_key: n1},
        control_mean=float(means[1]), treatment_mean=float(means[0]), se_type=used,
        design=design_label, method=method, covariates=tuple(str(c) for c in design.covariates),
        n_clusters=n_clusters, n_strata=None, binary_outcome=bool(totals["nonbinary"] == 0),
        dropped=dropped, cluster_role=role, assigned=str(design.assigned),
    )
