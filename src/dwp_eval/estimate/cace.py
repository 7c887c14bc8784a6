"""Complier average causal effect (CACE): two-stage least squares with assignment as the
instrument for receipt, its first stage, the ITT it is the ratio of, a weak-instrument
robust (Anderson-Rubin) interval, complier profiles and a contamination sensitivity table.

With ``Z`` assignment, ``D`` receipt (take-up in the treatment arm, similar provision in
the control arm) and ``Y`` the outcome, under random assignment, the exclusion
restriction (assignment affects the outcome only through receipt) and monotonicity (no
one receives *because* they were assigned to control),

    CACE = ITT / (p_T - p_C),   ITT = E[Y | Z=1] - E[Y | Z=0],   p_a = P(D=1 | Z=a)

(Angrist, Imbens & Rubin 1996, *JASA* 91:444, Proposition 1; Bloom 1984 when
``p_C = 0``). Contaminated controls (``received = 1`` in the control arm) are the
normal case: they are the always-takers (or crossovers) of the two-sided model.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.contract import Refit
from dwp_eval._core.engines import DASK, SPARK, engine_of
from dwp_eval._core.linalg import Term, fit_ols, with_residuals
from dwp_eval._core.sample import Prepared, prepare_sample, wmean
from dwp_eval._core.variance import resolve_se_type, unclustered_se_type, vcov
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
)
from dwp_eval.errors import ColumnError, DesignError
from dwp_eval.estimate.cace_engine import cace_on_engine
from dwp_eval.estimate.itt import OLS
from dwp_eval.estimate.itt import refit as itt_refit
from dwp_eval.estimate.iv_effect import WEAK_F, IVFit, anderson_rubin, cace_effect, first_stage_rule
from dwp_eval.results import (
    Effect,
)

__all__ = ["WEAK_F", "anderson_rubin", "cace"]



def _received_values(frame: pd.DataFrame, received: Hashable, func: str) -> np.ndarray:
    """``received`` as a float 0/1 vector; anything else raises naming the column."""
    s = frame[received]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s):
        shown = _fmt_list(sorted(pd.unique(s.astype(str)))[:5], 5)
        raise ColumnError(
            f"{func}: column {received!r} (received) must hold 0/1 (1 = received the programme "
            f"or similar provision); it has dtype {s.dtype} with values such as {shown}. Fix: "
            f"recode it, e.g. (df[{received!r}] == 'yes').astype(int)."
        )
    v = s.to_numpy(dtype=float)
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        shown = ", ".join(f"{x:g}" for x in np.unique(v[bad])[:5])
        raise ColumnError(
            f"{func}: column {received!r} (received) must hold 0/1 (1 = received the programme "
            f"or similar provision); {int(bad.sum()):,} row(s) hold other values ({shown}). "
            f"Fix: recode it to 0/1, e.g. (df[{received!r}] > 0).astype(int)."
        )
    return v


def _check_first_stage(
    d: np.ndarray, z: np.ndarray, received: Hashable, treatment: str, control: str, func: str,
    w: np.ndarray | None = None,
) -> tuple[float, float]:
    """Take-up by arm (weighted with ``w``); raise when there is no first stage, warn on a
    defier pattern (:func:`~dwp_eval.estimate.iv_effect.first_stage_rule`)."""
    p_t = wmean(d[z == 1], None if w is None else w[z == 1])
    p_c = wmean(d[z == 0], None if w is None else w[z == 0])
    first_stage_rule(p_t, p_c, float(d[0]) if np.ptp(d) == 0 else None, received, treatment,
                     control, func)
    return p_t, p_c


_IVFit = IVFit


def _fit_iv(
    prep: Prepared,
    d: np.ndarray,
    se_type: str,
    *,
    alpha: float,
    func: str,
) -> _IVFit:
    """2SLS of ``prep.y`` on ``d`` instrumented by assignment, with the covariates
    additive in both stages and strata absorbed, and its first stage, reduced form
    and Anderson-Rubin set, all with the variance ``se_type``."""
    y, z, n, w = prep.y, prep.z, len(prep.y), prep.weights
    cols: list[np.ndarray] = []
    names: list[str] = []
    if prep.strata is None:
        cols.append(np.ones(n))
        names.append(Term("(Intercept)", None))
    cov = prep.covariates
    if cov.shape[1]:
        xc = cov.to_numpy(dtype=float)
        xc = xc - np.average(xc, axis=0, weights=w)  # centring changes no coefficient of interest, only conditioning
        src = {str(c): prep.sources.get(str(c), str(c)) for c in cov.columns}
        cov_cols = [xc]
        cov_names = [Term(str(c), src[str(c)]) for c in cov.columns]
    else:
        cov_cols, cov_names = [], []
    W = np.column_stack([*cols, z, *cov_cols])
    w_names = [*names, Term("assigned", None), *cov_names]
    jz = len(names)
    fe = prep.strata
    # first stage and reduced form: the same design (assignment, covariates, strata)
    fs = fit_ols(W, d, w_names, weights=w, fe_codes=fe, func=func)
    rf = fit_ols(W, y, w_names, weights=w, fe_codes=fe, func=func)
    gd, gy = float(fs.beta[jz]), float(rf.beta[jz])
    if abs(gd) <= 1e-10 * max(1.0, float(np.max(np.abs(d)))):
        raise DesignError(
            f"{func}: the CACE is not identified: after adjusting for the covariates and strata, "
            f"assignment does not change receipt (first-stage coefficient {gd:.3g}). Fix: drop "
            "covariates that predict assignment, or report the ITT."
        )
    # second stage: OLS on the fitted receipt, residuals with the actual receipt
    # demeaning within strata gives the working fitted values; the working residuals
    # carry sqrt(w) when weighted (the weighted residuals still sum to zero by stratum)
    e_fs = fs.resid if fs.sqrt_w is None else fs.resid / fs.sqrt_w
    d_hat = d - e_fs
    X2 = np.column_stack([*cols, d_hat, *cov_cols])
    x_names = [*names, Term("received", None), *cov_names]
    ss = fit_ols(X2, y, x_names, weights=w, fe_codes=fe, func=func)
    beta = float(ss.beta[jz])
    iv = with_residuals(ss, ss.resid - beta * fs.resid)
    v_iv = vcov(iv, se_type, prep.cluster, outcome=prep.outcome, func=func)
    v_fs = vcov(fs, se_type, prep.cluster)
    v_rf = vcov(rf, se_type, prep.cluster)
    v_sum = vcov(with_residuals(rf, rf.resid + fs.resid), se_type, prep.cluster)
    vyy, vdd = float(v_rf.vcov[jz, jz]), float(v_fs.vcov[jz, jz])
    vyd = (float(v_sum.vcov[jz, jz]) - vyy - vdd) / 2  # the variance is a quadratic form in e
    fs_se = float(v_fs.std_error[jz])
    # receipt an exact function of assignment (and covariates): no first-stage noise
    fs_f = (gd / fs_se) ** 2 if fs_se > 1e-12 * abs(gd) else float("inf")
    df_den = float(v_fs.n_clusters - 1) if v_fs.n_clusters is not None else float(fs.n - fs.rank)
    ar = anderson_rubin(gy, gd, vyy, vyd, vdd, float(v_rf.df[jz]), alpha)
    return _IVFit(
        estimate=beta,
        std_error=float(v_iv.std_error[jz]),
        df=float(v_iv.df[jz]),
        fs_coef=gd,
        fs_se=fs_se,
        fs_df=float(v_fs.df[jz]),
        fs_f=fs_f,
        fs_df_den=df_den,
        rf_coef=gy,
        rf_se=float(v_rf.std_error[jz]),
        rf_df=float(v_rf.df[jz]),
        ar=ar,
        n_clusters=v_iv.n_clusters,
    )


def _design_label(prep: Prepared) -> str:
    if prep.cluster is not None and prep.cluster_role != "variance":
        return "block-clustered" if prep.strata is not None else "clustered"
    return "blocked" if prep.strata is not None else "standard"


def cace(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    received: Hashable,
    control: Any = "control",
    treatment: Any | None = None,
    covariates: Sequence[Hashable] | None = None,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> Effect:
    """Complier average causal effect of receiving the programme: 2SLS with assignment
    as the instrument for receipt.

    Parameters
    ----------
    data
        One row per person: a pandas DataFrame, or a Dask or Spark DataFrame (2SLS from
        sums the engine adds up, equal to the in-memory result; strata and weighted CR2
        need the rows in memory, and ``with_se`` re-runs need the call again).
    outcome
        Numeric outcome (0/1 for a binary one; the effect is then in percentage points).
    assigned
        Column holding each person's arm (the instrument).
    received
        0/1 column: the person received the programme (take-up in the treatment
        arm) or provision like it (contamination in the control arm). Controls
        with ``received = 1`` (two-sided non-compliance) are expected.
    control, treatment
        Labels of the compared arms; ``treatment`` may be omitted when there is
        only one other arm.
    covariates
        Baseline covariates, entered additively in both stages (estimatr's
        ``iv_robust`` convention). Text or categorical columns become dummies.
    strata
        Column of the randomisation strata (or a list of columns: one stratum per
        combination): absorbed fixed effects in both stages.
    cluster
        Column of the clusters: the unit of assignment when whole clusters were
        randomised, or, when people were randomised and the clusters hold both
        arms (villages, providers, caseloads), a grouping of the errors for the
        variance only (the estimate is unchanged; ``cluster_role="variance"``
        on the result, as estimatr's ``iv_robust(clusters =)``).
    se_type
        ``None`` (default): ``HC2``, or ``CR2`` with Bell-McCaffrey degrees of
        freedom when clustered; any name of
        name of the variance table (see :func:`dwp_eval.itt`; ``"stata"``: HC1 or CR1).
    weights
        Column of positive weights: weighted 2SLS (both stages, the reduced form
        and the Anderson-Rubin set weighted; estimatr's ``iv_robust(weights =)``).
    alpha
        Significance level of the intervals and tests.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome,
        ``received`` or covariate (a warning counts them; kept on ``dropped``).

    Returns
    -------
    Effect
        Estimand ``"CACE"``, with ``first_stage`` (:class:`~dwp_eval.results.FirstStage`),
        ``itt`` (the reduced form, an ITT :class:`Effect`) and ``ar_interval``
        (:class:`~dwp_eval.results.ARInterval`).

    Raises
    ------
    ColumnError
        ``received`` is not 0/1.
    MissingDataError
        A missing value in ``received`` (or the outcome, a covariate) with ``missing="raise"``.
    DesignError
        Take-up is the same in both arms (no first stage: the CACE is not identified).

    Warns
    -----
    DwpEvalWarning
        Receipt higher in the control arm than in the treatment arm (defiers).

    Notes
    -----
    The estimate is the 2SLS coefficient of ``received`` in
    ``Y = a + b D + X g + e`` with instruments ``(1, Z, X)``; it equals
    ``itt.estimate / first_stage.difference`` (just identified). Without
    covariates and strata it is the Wald (Bloom) ratio
    ``(mean(Y|T) - mean(Y|C)) / (p_T - p_C)``.

    The variance is the sandwich of the second-stage design ``X_hat``
    (receipt replaced by its first-stage fitted values) with the residuals
    ``Y - X b`` computed with the *actual* receipt; HC2/HC3 leverages and the
    CR2 adjustment and Bell-McCaffrey degrees of freedom use ``X_hat``, as
    estimatr's ``iv_robust`` does. Degrees of freedom: ``n - p`` (HC,
    classical), ``G - 1`` (CR0, CR1), Bell-McCaffrey (CR2).

    The Anderson-Rubin (1949) set collects the effects ``b`` for which the
    regression of ``Y - b D`` on assignment (same covariates, strata and
    variance) shows no effect at ``alpha``; its coverage does not depend on the
    strength of the first stage. It is a bounded interval when the first stage
    is significant at ``alpha``, and otherwise two rays or the whole line.

    Assumptions (Angrist, Imbens & Rubin 1996): assignment is random;
    exclusion (assignment changes outcomes only through receipt, so controls'
    similar provision must be counted in ``received`` if it works like the
    programme; see :func:`contamination_sensitivity` when it may not);
    monotonicity (no defiers); a first stage.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "arm": ["control", "treatment"] * 6,
    ...     "took_up": [0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1],
    ...     "y": [1.0, 3.0, 2.0, 4.0, 3.0, 3.0, 2.0, 1.0, 1.0, 4.0, 2.0, 3.0]})
    >>> res = cace(df, outcome="y", assigned="arm", received="took_up")
    >>> round(res.estimate, 4), round(res.itt.estimate / res.first_stage.difference, 4)
    (1.75, 1.75)
    """
    func = "cace"
    covs = as_column_list(covariates)
    engine = engine_of(data)
    if engine in (DASK, SPARK):
        return cace_on_engine(
            data, engine, outcome=outcome, assigned=assigned, received=received, control=control,
            treatment=treatment, covariates=covs, strata=strata, cluster=cluster,
            se_type=se_type, weights=weights, alpha=alpha, missing=missing,
        )
    alpha = check_alpha(alpha, func=func)
    data = check_data(data, func=func)
    check_columns(data, [received], role="received", func=func)
    resolve_se_type(se_type, clustered=cluster is not None, func=func)
    prep, frame = prepare_sample(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covs, strata=strata, cluster=cluster, weights=weights, missing=missing,
        func=func, extra=[received], variance_cluster=True,
    )
    options = {
        "outcome": str(outcome), "assigned": str(assigned), "received": str(received),
        "alpha": alpha,
        "covariates": tuple(str(c) for c in covs),
        "received_values": _received_values(frame, received, func),
    }
    return _fit(prep, options, se_type=se_type, func=func)


def _fit(prep: Prepared, options: Mapping[str, Any], *, se_type: str | None, func: str) -> Effect:
    """The CACE of a prepared sample (``options["received_values"]``: receipt, 0/1)."""
    used = resolve_se_type(se_type, clustered=prep.cluster is not None, func=func)
    received, alpha, covs = options["received"], options["alpha"], options["covariates"]
    d = options["received_values"]
    p_t, p_c = _check_first_stage(d, prep.z, received, prep.treatment, prep.control, func,
                                  prep.weights)
    fit = _fit_iv(prep, d, used, alpha=alpha, func=func)
    design = _design_label(prep)
    n_strata = None if prep.strata is None else len(np.unique(prep.strata))
    y, z, w = prep.y, prep.z, prep.weights
    common: dict[str, Any] = dict(
        outcome=options["outcome"], treatment=prep.treatment, control=prep.control, alpha=alpha,
        n_obs=len(y), n_by_arm=prep.n_by_arm,
        control_mean=wmean(y[z == 0], None if w is None else w[z == 0]),
        treatment_mean=wmean(y[z == 1], None if w is None else w[z == 1]), se_type=used,
        design=design, covariates=covs, n_clusters=fit.n_clusters, n_strata=n_strata,
        binary_outcome=prep.binary, dropped=prep.dropped, cluster_role=prep.cluster_role,
        assigned=options.get("assigned"),
    )
    itt_options = {
        "outcome": options["outcome"], "assigned": options.get("assigned"), "estimator": OLS, "adjustment": "additive",
        "alpha": alpha, "covariates": covs,
    }
    return cace_effect(
        fit, p_t=p_t, p_c=p_c, options=options, used=used, design=design, n_strata=n_strata,
        weighted=w is not None, cluster_role=prep.cluster_role, common=common,
        refit=Refit(refit, prep, options), itt_refit=Refit(itt_refit, prep, itt_options),
    )


def refit(prep: Prepared, options: Mapping[str, Any], *, se_type: str, cluster: Any = None) -> Effect:
    """:meth:`Effect.with_se` for a CACE: the same 2SLS on the same prepared sample
    with another variance (``cluster``: new cluster labels, or ``None`` to keep)."""
    func = "Effect.with_se"
    if cluster is not None:
        prep = prep.regroup(cluster, func=func)
    elif prep.cluster_role == "variance" and unclustered_se_type(se_type, func=func):
        # people were randomised: an HC variance drops the variance-only clusters
        # (estimatr: iv_robust(..., se_type = "HC2"), no clusters)
        res = _fit(replace(prep, cluster=None, cluster_role=None), options, se_type=se_type, func=func)
        return replace(res, method=res.method + "; the variance-only clusters dropped for "
                       f"{res.se_type} (people were randomised)")
    return _fit(prep, options, se_type=se_type, func=func)
