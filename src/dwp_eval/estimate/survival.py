"""Effects on a time to event: Kaplan-Meier curves, the restricted mean survival
time (RMST) difference with design-based variance, the Cox hazard ratio with
robust variance and the log-rank test."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import survdiff

from dwp_eval._core.cox import cox_score_residuals, fit_cox
from dwp_eval._core.sample import Prepared, codes, prepare_sample
from dwp_eval._core.survival import (
    hall_wellner_band,
    kaplan_meier,
    loglog_interval,
    rmst_influence,
)
from dwp_eval._validation import _fmt_list, as_column_list, check_alpha, check_columns, check_option
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    MissingDataError,
    NotEstimableError,
    OptionError,
)
from dwp_eval.results.survival import CURVE_COLUMNS, SurvivalEffect

__all__ = ["survival_effect"]


def survival_effect(
    data: pd.DataFrame,
    *,
    duration: Hashable,
    event: Hashable,
    assigned: Hashable,
    horizon: float,
    control: Any = "control",
    treatment: Any | None = None,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    covariates: Sequence[Hashable] | None = None,
    nested_in: Literal["treatment", "control"] | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> SurvivalEffect:
    """Effect of assignment to ``treatment`` rather than ``control`` on a time to event.

    Parameters
    ----------
    data
        One row per person.
    duration
        Days from randomisation to the event or to censoring (> 0).
    event
        1 if the event was observed at ``duration``, 0 if the person was censored then.
        Censored people are kept: they count in the risk sets until they leave.
    assigned, control, treatment
        The arm column and the compared arms, as for :func:`~dwp_eval.itt`.
    horizon
        The RMST's horizon ``tau`` in days; it must not pass the last follow-up time
        in either arm (in any stratum's arm, with ``strata``).
    strata
        Column(s) randomisation was stratified on: the RMST is the stratum-size-weighted
        mean of within-stratum RMSTs, the Cox model has a baseline hazard per stratum
        (as ``strata()`` in R's ``coxph``) and the log-rank test is stratified.
    cluster
        Column of the unit of assignment when whole clusters were randomised, or, with
        ``nested_in``, of the people's specialist (caseworker, group) in the nested arm.
    covariates
        Baseline covariates for the Cox model (entered additively). The RMST is unadjusted.
    nested_in
        ``"treatment"`` (or ``"control"``): a partially nested design, where only that
        arm's people are clustered (by ``cluster``), and each person in the other arm is
        their own cluster (their ``cluster`` values are ignored and may be missing).
    alpha
        Significance level of the intervals and the band.
    missing
        ``"raise"`` (default) or ``"drop"`` (complete cases, counts warned and recorded).

    Returns
    -------
    SurvivalEffect

    Notes
    -----
    *Kaplan-Meier* (Kaplan & Meier 1958) ``S(t) = prod_{t_k <= t} (1 - d_k / Y_k)`` with
    Greenwood's (1926) variance ``S(t)^2 sum_{t_k <= t} d_k / (Y_k (Y_k - d_k))``;
    pointwise intervals on the log(-log) scale (R's ``conf.type = "log-log"``) and the
    Hall & Wellner (1980) simultaneous band (Klein & Moeschberger 2003, sec. 4.4).

    *RMST* (Royston & Parmar 2013) ``mu = int_0^tau S(u) du``; each person's
    influence is ``phi_i = -sum_k A_k (dN_i(t_k) - Y_i(t_k) d_k/Y_k) / (Y_k - d_k)``
    with ``A_k = int_{t_k}^tau S``. Independent people: ``Var = sum_i phi_i^2``, which is
    exactly Greenwood's ``sum_k A_k^2 d_k / (Y_k (Y_k - d_k))`` (R's
    ``summary(survfit(...), rmean = tau)``). Clusters: ``Var_a = G_a/(G_a - 1) sum_g
    (sum_{i in g} phi_i)^2`` in each clustered arm ``a`` (a CR1-type factor; an arm of
    singletons keeps Greenwood), and intervals use Student's t with ``G - 2`` df
    (clusters randomised) or ``G_nested - 1`` df (partially nested; Bauer, Sterba &
    Hallfors 2008 for the design). With strata, ``mu_a = sum_s w_s mu_{a,s}``,
    ``w_s = n_s / n``, and ``phi_i`` is scaled by ``w_s``. The difference's variance is
    the sum of the arms' (the arms are independent).

    *Cox* hazard ratio with Efron's (1977) ties by Newton-Raphson
    (:mod:`dwp_eval._core.cox`; statsmodels' ``PHReg`` gives the same fit but is
    about 100 times slower on 10,000 people, and its robust variance is not R's); its variance
    is the robust sandwich of Lin & Wei (1989), ``D'D`` with ``D`` the dfbeta residuals
    ``U I^{-1}`` (Efron score residuals, Therneau & Grambsch 2000 sec. 3.7), summed
    within clusters when clustered: exactly R's ``coxph(..., robust = TRUE)`` /
    ``cluster =`` (no small-sample factor, normal quantiles).

    *Log-rank* test (Mantel 1966; Peto & Peto 1972), stratified with strata, as R's
    ``survdiff``; it treats people as independent (with clusters read the Cox
    cluster-robust test).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 5,
    ...                    "days": [10, 20, 15, 40, 30, 50, 35, 60, 45, 70],
    ...                    "found_job": [1, 1, 1, 0, 1, 1, 0, 1, 1, 0]})
    >>> res = survival_effect(df, duration="days", event="found_job", assigned="arm",
    ...                       horizon=45)
    >>> # control: 10 + 5 (0.8) + 15 (0.6) + 15 (0.4); treatment: 20 + 25 (0.8)
    >>> round(res.rmst["control"], 2), round(res.rmst["treatment"], 2)
    (29.0, 40.0)
    """
    func = "survival_effect"
    alpha = check_alpha(alpha, func=func)
    covs = as_column_list(covariates)
    if nested_in is not None:
        nested_in = check_option(nested_in, ("treatment", "control"), param="nested_in",  # type: ignore[assignment]
                                 func=func)
        if cluster is None:
            raise OptionError(f"{func}: nested_in={nested_in!r} needs cluster= (the column of the "
                              f"{nested_in} arm's specialists). Fix: pass cluster=.")
    tau = _check_horizon(horizon, func=func)
    if isinstance(data, pd.DataFrame):
        check_columns(data, [duration], role="duration", func=func)
        check_columns(data, [event], role="event", func=func)
        if not pd.api.types.is_numeric_dtype(data[duration]) or pd.api.types.is_bool_dtype(
                data[duration]):
            raise ColumnError(
                f"{func}: column {duration!r} (duration) must be a number of days; it has dtype "
                f"{data[duration].dtype}. Fix: compute it, e.g. (df['end'] - df['randomised'])"
                ".dt.days.")
        for col, role, fill in ((duration, "duration", "the days to the event or censoring"),
                                (event, "event", "1 = event observed, 0 = censored")):
            if missing == "raise" and data[col].isna().any():
                raise MissingDataError(
                    f"{func}: column {col!r} ({role}) has {int(data[col].isna().sum()):,} missing "
                    f"value(s). Fix: fill them ({fill}), or pass missing='drop' to analyse "
                    "complete cases (the count dropped is recorded).")
        if nested_in is not None:
            check_columns(data, [cluster], role="cluster", func=func)
    prep, frame = prepare_sample(
        data, outcome=duration, assigned=assigned, control=control, treatment=treatment,
        covariates=covs, strata=strata, cluster=None if nested_in else cluster, weights=None,
        missing=missing, func=func, extra=[event],
    )
    time = prep.y
    if np.any(time <= 0):
        bad = frame.index[time <= 0][:5].tolist()
        raise ColumnError(
            f"{func}: column {duration!r} (duration) must be > 0 days; {int(np.sum(time <= 0)):,} "
            f"row(s) are <= 0 (first at rows {_fmt_list(bad, 5)}). Fix: a person whose event "
            "falls on the day of randomisation has duration 1 (count days from the day after), "
            "and an event before randomisation is an error in the records.")
    ev_raw = frame[event].to_numpy()
    try:
        ev = np.asarray(ev_raw, dtype=float)
    except (TypeError, ValueError):
        ev = np.full(len(ev_raw), np.nan)
    if not np.all((ev == 0) | (ev == 1)):
        vals = pd.unique(ev_raw[~((ev == 0) | (ev == 1))])[:5]
        raise ColumnError(
            f"{func}: column {event!r} (event) must hold 0 (censored) or 1 (event observed); "
            f"found {_fmt_list(vals, 5)}. Fix: recode it, e.g. (df[{event!r}] == 'job').astype(int).")
    cl, design, clustered_arms = _clusters(prep, frame, cluster, nested_in, func=func)
    z = prep.z
    st = prep.strata
    if st is not None:  # randomised within strata: say so (the RMST and log-rank use them)
        design = "stratified" if cluster is None else f"stratified, {design}"
    arms = {prep.control: z == 0, prep.treatment: z == 1}
    events_by_arm = {a: int(ev[m].sum()) for a, m in arms.items()}
    for a, n_ev in events_by_arm.items():
        if n_ev == 0:
            raise NotEstimableError(
                f"{func}: arm {a!r} has no events ({event!r} is 0 for all {int(arms[a].sum()):,} "
                "people), so the Kaplan-Meier curve never drops, the hazard ratio is 0 or "
                "infinite and not estimable. Fix: check the event column, or follow people up "
                "for longer.", outcome=str(duration), reason="no events in an arm")

    rmst, rmst_se, rmst_var, n_cl = _rmst(time, ev, z, st, cl, clustered_arms, tau, prep,
                                          levels=prep.strata_levels, func=func)
    diff = rmst[prep.treatment] - rmst[prep.control]
    diff_se = float(np.sqrt(rmst_var[prep.treatment] + rmst_var[prep.control]))
    if cl is None:
        df = None
        rmst_se_type = "Greenwood (influence function)"
    elif nested_in is None:
        df = float(sum(n_cl.values()) - 2)
        rmst_se_type = "cluster-robust influence function, G/(G-1) per arm, t(G-2)"
    else:
        df = float(n_cl[prep.treatment if nested_in == "treatment" else prep.control] - 1)
        rmst_se_type = "partially nested influence function, G/(G-1) in the nested arm, t(G-1)"

    b, se, naive, coefs = _cox(time, ev, z, prep, st, cl, func=func)
    cox_se_type = "robust (Lin-Wei)" if cl is None else "cluster-robust (Lin-Wei)"
    stat, p = survdiff(time, ev, z, strata=st)
    curve = _curves(time, ev, arms, alpha)
    return SurvivalEffect(
        duration=str(duration), event=str(event), treatment=prep.treatment, control=prep.control,
        horizon=tau, alpha=alpha, rmst=rmst, rmst_std_error=rmst_se, rmst_difference=float(diff),
        rmst_difference_se=diff_se, rmst_df=df, log_hazard_ratio=b, log_hazard_ratio_se=se,
        log_hazard_ratio_naive_se=naive, log_rank_statistic=float(stat), log_rank_p=float(p),
        curve_table=curve, n_obs=len(time), n_by_arm=prep.n_by_arm, events_by_arm=events_by_arm,
        rmst_se_type=rmst_se_type, cox_se_type=cox_se_type, design=design,
        covariates=tuple(str(c) for c in covs), n_clusters=n_cl,
        n_strata=None if st is None else len(np.unique(st)), cox_coefficients=coefs,
        dropped=prep.dropped,
    )


def _check_horizon(horizon: Any, *, func: str) -> float:
    try:
        tau = float(horizon)
    except (TypeError, ValueError):
        tau = np.nan
    if isinstance(horizon, bool) or not np.isfinite(tau) or tau <= 0:
        raise OptionError(f"The 'horizon' parameter of {func} must be a positive number of days. "
                          f"Got {horizon!r} instead.")
    return tau


def _clusters(
    prep: Prepared, frame: pd.DataFrame, cluster: Hashable | None, nested_in: str | None, *,
    func: str,
) -> tuple[np.ndarray | None, str, tuple[float, ...]]:
    """Cluster codes (each unclustered person their own), the design's name and the arms
    (0 control, 1 treatment) whose clusters are real."""
    if cluster is None:
        return None, "individually randomised", ()
    if nested_in is None:
        return np.asarray(prep.cluster), f"clusters randomised ({cluster})", (0.0, 1.0)
    arm = 1.0 if nested_in == "treatment" else 0.0
    in_nested = prep.z == arm
    col = frame[cluster]
    miss = col.isna().to_numpy() & in_nested
    if miss.any():
        raise MissingDataError(
            f"{func}: column {cluster!r} (cluster) has {int(miss.sum()):,} missing value(s) in the "
            f"nested ({nested_in}) arm. Fix: fill in each {nested_in} person's specialist; design "
            "columns cannot be dropped silently.")
    cl = np.empty(len(col), dtype=np.int64)
    cl[in_nested] = codes(col[in_nested])
    g = int(cl[in_nested].max()) + 1 if in_nested.any() else 0
    if g < 2:
        raise DesignError(
            f"{func}: a partially nested design needs at least 2 clusters in the {nested_in} arm; "
            f"column {cluster!r} has {g}. Cluster-robust inference is impossible.")
    cl[~in_nested] = g + np.arange(int((~in_nested).sum()))
    return cl, f"partially nested ({cluster} in the {nested_in} arm)", (arm,)


def _rmst(
    time: np.ndarray, ev: np.ndarray, z: np.ndarray, st: np.ndarray | None,
    cl: np.ndarray | None, clustered_arms: tuple[float, ...], tau: float, prep: Prepared, *,
    levels: tuple[str, ...], func: str,
) -> tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, int]]:
    n = len(time)
    strata = np.zeros(n, dtype=np.int64) if st is None else st
    rmst, se, var, n_cl = {}, {}, {}, {}
    for code, arm in ((0.0, prep.control), (1.0, prep.treatment)):
        in_arm = z == code
        n_arm = int(in_arm.sum())
        phi = np.zeros(n)
        mu = 0.0
        for s in np.unique(strata[in_arm]):
            rows = in_arm & (strata == s)
            last = float(time[rows].max())
            if tau > last:
                where = f"arm {arm!r}" if st is None else f"stratum {levels[s]!r} of arm {arm!r}"
                raise DesignError(
                    f"{func}: horizon={tau:g} days is beyond the last follow-up time in {where} "
                    f"({last:g} days), where the Kaplan-Meier curve is not defined. Fix: pass a "
                    f"horizon of at most {last:g} days.")
            w = rows.sum() / n_arm if st is None else (strata == s).sum() / n
            m, p = rmst_influence(time[rows], ev[rows], tau)
            mu += w * m
            phi[rows] = w * p
        if cl is not None and code in clustered_arms:
            sums = np.bincount(cl[in_arm], weights=phi[in_arm])
            g = int(np.count_nonzero(np.bincount(cl[in_arm])))
            v = g / (g - 1) * float(np.sum(sums**2))
            n_cl[arm] = g
        else:
            v = float(np.sum(phi**2))
            if cl is not None:
                n_cl[arm] = n_arm
        rmst[arm], var[arm], se[arm] = float(mu), v, float(np.sqrt(v))
    return rmst, se, var, n_cl


def _cox(
    time: np.ndarray, ev: np.ndarray, z: np.ndarray, prep: Prepared, st: np.ndarray | None,
    cl: np.ndarray | None, *, func: str,
) -> tuple[float, float, float, dict[str, float]]:
    cov = prep.covariates
    X = np.column_stack([z, cov.to_numpy(dtype=float)]) if cov.shape[1] else z[:, None]
    names = ["assigned", *(str(c) for c in cov.columns)]
    fit = fit_cox(time, ev, X, st)
    beta, naive_v = fit.beta, fit.inverse_information
    if not fit.converged or not (np.all(np.isfinite(beta)) and np.all(np.isfinite(naive_v))):
        raise NotEstimableError(
            f"{func}: the Cox model has no finite estimate (its likelihood keeps rising as a "
            "coefficient goes to +/- infinity: e.g. every event in a risk set shared by both arms "
            "falls in one arm, or a covariate separates events from censorings, or covariates "
            "are collinear), so the hazard ratio is 0 or infinite. Fix: drop or merge "
            "covariates; with so few events, read the RMST difference instead.",
            outcome=prep.outcome, reason="Cox model not estimable")
    D = cox_score_residuals(time, ev, X, beta, strata=st) @ naive_v
    if cl is not None:
        D = np.stack([np.bincount(cl, weights=D[:, k]) for k in range(D.shape[1])], axis=1)
    V = D.T @ D
    return (float(beta[0]), float(np.sqrt(V[0, 0])), float(np.sqrt(naive_v[0, 0])),
            dict(zip(names, map(float, beta), strict=True)))


def _curves(time: np.ndarray, ev: np.ndarray, arms: dict[str, np.ndarray], alpha: float) -> pd.DataFrame:
    parts = []
    for arm, m in arms.items():
        km = kaplan_meier(time[m], ev[m])
        lo, hi = loglog_interval(km, alpha)
        blo, bhi = hall_wellner_band(km, alpha)
        parts.append(pd.DataFrame({
            "arm": arm, "time": km.time, "n_risk": km.n_risk.astype(np.int64),
            "n_event": km.n_event.astype(np.int64), "n_censor": km.n_censor.astype(np.int64),
            "survival": km.survival, "std_error": km.std_error, "conf_low": lo, "conf_high": hi,
            "band_low": blo, "band_high": bhi}))
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]
