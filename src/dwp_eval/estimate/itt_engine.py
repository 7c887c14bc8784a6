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
from dwp_eval._core.engines import check_engine_columns, columns, kept, map_sums, require
from dwp_eval._core.engines.regression import (
    Design,
    EngineFit,
    cluster_sums_of,
    cr_vcov,
    fit_sums,
    hc_vcov,
    scan,
    with_centre,
)
from dwp_eval._core.variance import resolve_se_type
from dwp_eval._validation import (
    _fmt_list,
    arm_keys,
    check_alpha,
    check_option,
    compared_arm_codes,
    label_key,
)
from dwp_eval.errors import (
    ColumnError,
    DroppedRowsWarning,
    MissingDataError,
    NotEstimableError,
    OptionError,
)
from dwp_eval.results import Effect

__all__ = ["itt_on_engine"]

_NO_ARM = "\x00no arm"


def _refuse(option: str, engine: str, func: str) -> OptionError:
    fix = "data.compute()" if engine == "dask" else "data.toPandas()"
    return OptionError(
        f"The {option} of {func} is not yet offered on a {engine.capitalize()} DataFrame (it "
        f"needs the rows of the analysis sample together). Fix: bring the analysis sample into "
        f"memory with {fix} (one row per person fits in memory for most trials), or leave the "
        "option out."
    )


def itt_on_engine(
    data: Any, engine: str, *, outcome: Hashable, assigned: Hashable, control: Any,
    treatment: Any | None, covariates: Sequence[Hashable], adjustment: str, strata: Any,
    cluster: Hashable | None, nested_in: Any, se_type: str | None, weights: Hashable | None,
    alpha: float, missing: str, estimator: str,
) -> Effect:
    """:func:`~dwp_eval.itt` of a Dask or Spark DataFrame (``estimator`` already chosen)."""
    func = "itt"
    require(engine, func=func)
    alpha = check_alpha(alpha, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    if strata is not None:
        raise _refuse("'strata' parameter", engine, func)
    if nested_in is not None:
        raise _refuse("'nested_in' parameter", engine, func)
    names = columns(data)
    roles: dict[str, Hashable | None] = {"outcome": outcome, "assigned": assigned,
                                         "cluster": cluster, "weights": weights}
    roles.update({f"covariates ({c!r})": c for c in covariates})
    check_engine_columns(names, roles, param="data", func=func)
    _check_numeric(data, engine, [outcome, *covariates], func=func)

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
    treat_key, ctrl_key, n_no_arm = _arms(data, assigned, control, treatment, func=func)
    design = Design(outcome, assigned, ctrl_key, treat_key, tuple(covariates),
                    lin=adjustment == "lin", weights=weights, cluster=cluster,
                    drop_missing=missing == "drop")
    totals = scan(data, design)
    dropped = _missing(totals, design, n_no_arm, missing=missing, func=func)
    n1, n0 = int(totals["n1"]), int(totals["n0"])
    if min(n1, n0) < 2:
        raise NotEstimableError(
            f"{func}: outcome {outcome!r} has {min(n1, n0)} person(s) in an arm, so its effect "
            "cannot be estimated (it needs two people in each arm).",
            outcome=str(outcome), reason="fewer than two per arm",
        )
    if weights is not None and totals["nonpositive_w"] > 0:
        raise ColumnError(f"{func}: column {weights!r} (weights) holds {int(totals['nonpositive_w']):,} "
                          "zero or negative weight(s). Fix: weights must be positive.")
    design = with_centre(design, totals)
    means = (totals["wy1"] / totals["w1"], totals["wy0"] / totals["w0"])
    try:
        fit = fit_sums(data, design, (float(totals["wy1"] / totals["w1"]) if weights is None else 0.0,
                                      float(totals["wy0"] / totals["w0"]) if weights is None else 0.0))
    except np.linalg.LinAlgError:
        raise NotEstimableError(
            f"{func}: the regression of {outcome!r} on assignment and the covariates "
            f"{_fmt_list(covariates)} is singular (a covariate is constant or a combination of "
            "others). Fix: drop the redundant covariate.", outcome=str(outcome), reason="collinear",
        ) from None
    return _result(data, design, fit, totals, means, dropped, se_type=se_type, estimator=estimator,
                   alpha=alpha, engine=engine, func=func)


def _check_numeric(data: Any, engine: str, cols: Sequence[Hashable], *, func: str) -> None:
    """Outcome and covariates must be numeric on the engine (text covariates would need
    their levels; the pandas path makes dummies)."""
    for c in cols:
        if engine == "dask":
            kind = data.dtypes[c]
            ok = pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
        else:
            ok = data.schema[str(c)].dataType.typeName() in (
                "long", "integer", "short", "byte", "double", "float", "boolean", "decimal")
        if not ok:
            raise ColumnError(
                f"{func}: column {c!r} is not numeric on this {engine.capitalize()} DataFrame; on "
                "an engine the outcome and covariates must be numeric (text covariates are "
                "expanded to dummies in memory only). Fix: make 0/1 dummy columns for its levels, "
                "or convert it."
            )


def _arms(data: Any, assigned: Hashable, control: Any, treatment: Any, *, func: str) -> tuple[str, str, int]:
    """The compared arms' keys, by the same rules and messages as in memory (on the
    distinct labels), and the rows with no arm."""
    key = "arm"

    def labels(chunk: pd.DataFrame) -> pd.DataFrame:
        keys = arm_keys(chunk[assigned]).fillna(_NO_ARM)
        return pd.DataFrame({key: keys.astype(object).to_numpy(), "n": 1.0})

    counts = map_sums(data, [assigned], labels, ["n"], key=key, key_type="string")
    found = [k for k in counts.index if k != _NO_ARM]
    arms = compared_arm_codes(pd.DataFrame({assigned: found}), assigned, control, treatment, func=func)
    n_no_arm = int(counts["n"].get(_NO_ARM, 0))
    return arms.treatment, str(label_key(control)), n_no_arm


def _missing(totals: pd.Series, design: Design, n_no_arm: int, *, missing: str, func: str) -> dict[str, int]:
    """Missing values as in memory: raise (naming the column), or count the dropped rows
    (design columns are never dropped)."""
    dropped: dict[str, int] = {}
    n_arms = int(totals["n_arms"])
    if n_no_arm:
        if missing == "raise":
            raise MissingDataError(
                f"{func}: column {design.assigned!r} (assigned) has {n_no_arm:,} missing value(s) "
                f"among the {n_arms + n_no_arm:,} rows, so those people belong to no arm. Fix: fill "
                "in the arm each person was allocated to, or remove those rows, or pass "
                "missing='drop' to analyse the people with a known arm (the count dropped is "
                "recorded)."
            )
        dropped[str(design.assigned)] = n_no_arm
    cols = design.columns
    roles = {design.outcome: "outcome", **{c: "covariates" for c in design.covariates},
             design.cluster: "cluster", design.weights: "weights"}
    numeric = [design.outcome, *design.covariates] + ([design.weights] if design.weights else [])
    for i, c in enumerate(numeric):
        n_inf = int(totals[f"inf_{i}"])
        if n_inf:
            raise ColumnError(
                f"{func}: column {c!r} ({roles[c]}) holds infinite values: {n_inf:,} row(s) are "
                "+/-inf. Infinity is not a missing value, so missing='drop' does not remove it. "
                f"Fix: correct those values, or mark them missing and pass missing='drop'."
            )
    order = [design.outcome, *design.covariates, design.cluster, design.weights]
    for c in [c for c in order if c is not None]:
        n_na = int(totals[f"na_{cols.index(c)}"])
        if not n_na:
            continue
        role = roles[c]
        if missing == "raise" or role in ("cluster", "weights"):
            how = ("Fix: fill or remove them, or pass missing='drop' to analyse complete cases "
                   "(the count dropped is recorded)." if role in ("outcome", "covariates")
                   else "Fix: fill or remove them; design columns cannot be dropped silently.")
            raise MissingDataError(
                f"{func}: column {c!r} ({role}) has {n_na:,} missing value(s) among the "
                f"{n_arms:,} rows of the compared arms. {how}"
            )
        dropped[str(c)] = n_na
    if dropped:
        import warnings

        warnings.warn(
            f"{func}: {sum(dropped.values()):,} row(s) with missing values dropped ("
            + ", ".join(f"{n:,} with missing {c}" for c, n in dropped.items()) + ").",
            DroppedRowsWarning, stacklevel=4,
        )
    return dropped


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
        raise _refuse("weighted CR2 variance (weights= with cluster=)", engine, func)
    if estimator == "difference_in_means" and not clustered and not weighted and se_type is None:
        ss1, ss0 = fit.rss_arms
        v1, v0 = ss1 / (n1 - 1) / n1, ss0 / (n0 - 1) / n0
        se, df = float(np.sqrt(v1 + v0)), float(welch_df(v1, v0, n1, n0))
        design_label, method = "standard", "difference in means (Neyman variance, Welch df)"
    else:
        if clustered:
            assert blocks is not None
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
