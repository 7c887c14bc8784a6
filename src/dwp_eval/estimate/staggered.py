"""Staggered adoption: Callaway & Sant'Anna (2021) group-time average effects
ATT(g, t), their aggregations, analytic influence-function standard errors and
the multiplier bootstrap with uniform bands.

Each ATT(g, t) is a 2x2 comparison of the change in outcome between a base
period and period ``t`` for the units first treated in period ``g`` (cohort
``g``) against a comparison group (never treated, or not yet treated), by
outcome regression, inverse probability weighting or the doubly robust
estimator of Sant'Anna & Zhao (2020). Everything downstream (standard errors,
aggregations, bootstrap) is computed from the estimators' influence functions,
stacked in an ``n_units x n_cells`` matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.att_gt import (
    att_gt_cells,
    att_gt_row,
    check_comparison_group,
    comparison,
    last_cohort_cut,
)
from dwp_eval._core.engines import PANDAS, engine_of
from dwp_eval._core.influence import influence_std_error, multiplier_bootstrap
from dwp_eval._core.panel import (
    check_pre_period,
    is_balanced,
    post_means,
    prepare_cohorts,
    warn_dropped,
)
from dwp_eval._validation import (
    Seed,
    as_column_list,
    check_alpha,
    check_option,
    check_seed,
)
from dwp_eval.errors import DesignError, DroppedRowsWarning, DwpEvalWarning, OptionError
from dwp_eval.estimate._staggered_engine import panel_cells, project_panel, staggered_rc_engine
from dwp_eval.estimate.staggered_rcs import staggered_did_rc
from dwp_eval.results.did import ATT_GT_COLUMNS, StaggeredDid

__all__ = ["staggered_did"]

#: Propensity scores above this are trimmed from the comparison group (as DRDID).
TRIM_LEVEL = 0.995


# ---------------------------------------------------------------- the 2x2 estimators


def _logit(X: np.ndarray, d: np.ndarray, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression by Newton-Raphson: fitted probabilities and the
    influence of the coefficients ``(X' W X / n)^{-1} x_i (d_i - p_i)``."""
    n, k = X.shape
    beta = np.zeros(k)
    for _ in range(100):
        eta = np.clip(X @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        H = (X * w[:, None]).T @ X
        step = np.linalg.lstsq(H, X.T @ (d - p), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:  # pragma: no cover - logit on bounded designs converges quickly
        raise DesignError(f"{func}: the propensity score (logit) did not converge; the covariates "
                          "may separate treated and comparison units. Fix: use method='reg'.")
    eta = np.clip(X @ beta, -35, 35)
    p = 1.0 / (1.0 + np.exp(-eta))
    H = (X * (p * (1 - p))[:, None]).T @ X / n
    inf = (X * (d - p)[:, None]) @ np.linalg.pinv(H)
    return p, inf


def _ols_influence(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted OLS of ``y`` on ``X`` (weights ``w``, here 1 - D: comparison units)
    and its influence ``w_i (y_i - x_i'b) x_i' (X'WX/n)^{-1}``."""
    n = len(y)
    XtWX = (X * w[:, None]).T @ X
    b = np.linalg.lstsq(XtWX, (X * w[:, None]).T @ y, rcond=None)[0]
    fitted = X @ b
    inf = (X * (w * (y - fitted))[:, None]) @ np.linalg.pinv(XtWX / n)
    return fitted, inf


def att_2x2(
    dy: np.ndarray, d: np.ndarray, X: np.ndarray | None, method: str, func: str = "staggered_did"
) -> tuple[float, np.ndarray]:
    """ATT of a 2x2 panel comparison and its influence function (per unit).

    ``dy``: change in outcome; ``d``: 1 for the treated cohort, 0 for comparison
    units; ``X``: covariates with an intercept column (``None``: no covariates).

    * ``reg``: outcome regression, ``mean_{D=1}(dy - x'b_0)`` with ``b_0`` from
      OLS of ``dy`` on ``x`` among comparison units (Heckman, Ichimura & Todd
      1997; Sant'Anna & Zhao 2020, eq. 2.2);
    * ``ipw``: normalised (Hajek) inverse probability weighting (Abadie 2005;
      Sant'Anna & Zhao 2020, eq. 2.4) with a logit propensity score;
    * ``dr``: the doubly robust estimator (Sant'Anna & Zhao 2020, eq. 3.1),
      weights ``D`` and ``p(x)(1-D)/(1-p(x))`` applied to ``dy - x'b_0``.

    The influence functions include the estimation effect of ``b_0`` and of the
    logit coefficients (Sant'Anna & Zhao 2020, Appendix; as DRDID's
    ``reg_did_panel``, ``std_ipw_did_panel`` and ``drdid_panel``). Comparison
    units with a propensity score above ``TRIM_LEVEL`` are given weight 0.
    Without covariates all three equal the difference in mean changes.
    """
    if X is None or X.shape[1] == 1:
        m1, m0 = d.mean(), 1 - d.mean()
        eta1 = float(np.sum(d * dy) / np.sum(d))
        eta0 = float(np.sum((1 - d) * dy) / np.sum(1 - d))
        inf = d * (dy - eta1) / m1 - (1 - d) * (dy - eta0) / m0
        return eta1 - eta0, inf
    if method == "reg":
        fitted, lin_ols = _ols_influence(X, dy, 1 - d)
        md = d.mean()
        eta_t = float(np.mean(d * dy) / md)
        eta_c = float(np.mean(d * fitted) / md)
        inf_t = (d * dy - d * eta_t) / md
        m1 = np.mean(d[:, None] * X, axis=0)
        inf_c = (d * fitted - d * eta_c + lin_ols @ m1) / md
        return eta_t - eta_c, inf_t - inf_c
    ps, lin_ps = _logit(X, d, func)
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(d == 1, 1.0, (ps < TRIM_LEVEL).astype(float))
    w1 = d
    w0 = trim * ps * (1 - d) / (1 - ps)
    if method == "ipw":
        eta_t = float(np.mean(w1 * dy) / np.mean(w1))
        eta_c = float(np.mean(w0 * dy) / np.mean(w0))
        inf_t = (w1 * dy - w1 * eta_t) / np.mean(w1)
        m2 = np.mean((w0 * (dy - eta_c))[:, None] * X, axis=0)
        inf_c = (w0 * dy - w0 * eta_c + lin_ps @ m2) / np.mean(w0)
        return eta_t - eta_c, inf_t - inf_c
    fitted, lin_ols = _ols_influence(X, dy, 1 - d)
    r = dy - fitted
    eta_t = float(np.mean(w1 * r) / np.mean(w1))
    eta_c = float(np.mean(w0 * r) / np.mean(w0))
    m1 = np.mean(w1[:, None] * X, axis=0)
    inf_t = (w1 * r - w1 * eta_t - lin_ols @ m1) / np.mean(w1)
    m2 = np.mean((w0 * (r - eta_c))[:, None] * X, axis=0)
    m3 = np.mean(w0[:, None] * X, axis=0)
    inf_c = (w0 * r - w0 * eta_c + lin_ps @ m2 - lin_ols @ m3) / np.mean(w0)
    return eta_t - eta_c, inf_t - inf_c


# ---------------------------------------------------------------- inference helpers


# ---------------------------------------------------------------- result


def staggered_did(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    unit: Hashable,
    time: Hashable,
    cohort: Hashable,
    covariates: Sequence[Hashable] | None = None,
    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated",
    method: Literal["dr", "ipw", "reg"] = "dr",
    anticipation: int = 0,
    base_period: Literal["varying", "universal"] = "varying",
    last_cohort: Literal["comparison", "estimate"] = "comparison",
    cluster: Hashable | None = None,
    bootstrap: int = 1000,
    seed: Seed | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
    panel: bool = True,
    allow_unbalanced: bool = False,
    weights: Hashable | None = None,
) -> StaggeredDid:
    """Callaway & Sant'Anna (2021) group-time average treatment effects.

    Parameters
    ----------
    data
        A balanced panel: one row per unit and period. A pandas, Dask or Spark
        DataFrame: on Dask and Spark, ``panel=False`` (no covariates or weights)
        runs on area-by-period sums computed by the engine; a balanced panel on
        per-unit sums (one row per unit on the driver), an unbalanced one
        (``allow_unbalanced=True``) brings its rows (see the guide, "Data on Dask
        or Spark").
    outcome, unit, time
        Outcome, unit id and period columns (periods must sort).
    cohort
        The period in which each unit is first treated (same units as ``time``,
        constant within a unit). ``0`` or missing (NaN) means never treated.
    covariates
        Numeric covariates for ``reg``/``ipw``/``dr``; each 2x2 uses their values
        in the earlier of its two periods (time-invariant covariates avoid the
        question).
    control_group
        ``"never_treated"`` (default) or ``"not_yet_treated"`` (never treated
        plus units first treated after both compared periods, allowing for
        ``anticipation``).
    method
        ``"dr"`` doubly robust (default; Sant'Anna & Zhao 2020), ``"ipw"`` or
        ``"reg"`` (outcome regression).
    anticipation
        Periods before the cohort in which units may already react; the base
        period moves back by that many.
    base_period
        ``"varying"`` (default): post-treatment cells compare with period
        ``g - 1 - anticipation``, pre-treatment cells with the period just before
        (short differences); ``"universal"``: every cell compares with
        ``g - 1 - anticipation`` (that reference cell is left out).
    last_cohort
        Only with ``control_group="not_yet_treated"`` and no never-treated
        units, where the cohort treated last has no comparison units once it is
        treated. ``"comparison"`` (default): as R's ``did`` (``att_gt``'s
        pre-processing), the periods from ``g_max - anticipation`` on are
        dropped and the last cohort serves only as a comparison group: it gets
        no ATT(g, t) of its own (a note says so). ``"estimate"``: keep every
        period and also estimate the last cohort's pre-treatment (placebo)
        cells against the earlier cohorts not yet treated (moderndid 0.2's
        behaviour); they enter the dynamic aggregation's negative event times.
    cluster
        Column of clusters that units are nested in (e.g. region): SEs and
        bootstrap draws by cluster. Default: units.
    bootstrap
        Multiplier bootstrap draws for the uniform bands (0: pointwise only).
    seed
        An int or ``numpy.random.Generator``; required when ``bootstrap > 0``.
    alpha
        Significance level of intervals and bands.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome or
        covariate, as :func:`dwp_eval.itt`; since the panel must be balanced
        the other periods of those units are dropped too (as R did's
        balancing). A :class:`~dwp_eval.errors.DroppedRowsWarning` gives the
        counts, which are kept on the result's ``dropped``.
    panel
        ``True`` (default): ``data`` is a panel of units followed over time.
        ``False``: repeated cross-sections (e.g. Labour Force Survey
        respondents, each observed once): ``unit`` is then the area (or other
        cluster) that the cohort belongs to, each ATT(g, t) is the
        repeated-cross-section estimator of Sant'Anna & Zhao (2020) on the rows of
        periods ``b`` and ``t`` (R did's ``panel = FALSE``), and inference is
        clustered by ``unit`` (or ``cluster``, which must contain the units).
    allow_unbalanced
        With ``panel=True``: an unbalanced panel is analysed as repeated
        cross-sections whose influence functions are summed within units (R
        did's ``allow_unbalanced_panel = TRUE``); a balanced panel still uses the
        panel estimator.
    weights
        Column of sampling (survey) weights, > 0, normalised to mean 1 (as R did
        and DRDID; only the relative weights matter). With ``panel=False`` or
        an unbalanced panel.

    Returns
    -------
    StaggeredDid

    Notes
    -----
    ``ATT(g, t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | C]`` under parallel
    trends (Callaway & Sant'Anna 2021, Theorem 1), with base period ``b`` and
    comparison group ``C``. Units first treated in the first period (or within
    ``anticipation`` of it) have no pre-period and are dropped with a warning.
    The analytic SE of each estimate is ``sqrt(sum_i IF_i^2) / n`` from the
    2x2 influence function rescaled to all ``n`` units (as the R did package);
    the bootstrap draws Rademacher multipliers (Callaway & Sant'Anna 2021,
    Algorithm 1) and gives the uniform band's critical value.

    Examples
    --------
    >>> from dwp_eval.datasets.rollout import area_rollout
    >>> panel = area_rollout(n_areas=40, periods=8, cohorts=(4, 6), seed=1)
    >>> res = staggered_did(panel, outcome="employment_rate", unit="area", time="month",
    ...                     cohort="cohort", bootstrap=0)
    >>> len(res.att_gt)
    14
    """
    func = "staggered_did"
    alpha = check_alpha(alpha, func=func)
    control_group = check_option(control_group, ("never_treated", "not_yet_treated"), param="control_group", func=func)  # type: ignore[assignment]
    method = check_option(method, ("dr", "ipw", "reg"), param="method", func=func)  # type: ignore[assignment]
    base_period = check_option(base_period, ("varying", "universal"), param="base_period", func=func)  # type: ignore[assignment]
    last_cohort = check_option(last_cohort, ("comparison", "estimate"), param="last_cohort", func=func)  # type: ignore[assignment]
    if isinstance(anticipation, bool) or not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise OptionError(f"The 'anticipation' parameter of {func} must be an int >= 0. Got {anticipation!r} instead.")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise OptionError(f"The 'bootstrap' parameter of {func} must be an int >= 0. Got {bootstrap!r} instead.")
    if bootstrap and seed is None:
        raise OptionError(
            f"The 'seed' parameter of {func} is needed for the multiplier bootstrap (bootstrap="
            f"{bootstrap}). Fix: pass a recorded integer, e.g. seed=20240501, or bootstrap=0 for "
            "pointwise intervals only."
        )
    rng = check_seed(seed, func=func) if bootstrap else None
    covs = as_column_list(covariates)
    for name, flag in (("panel", panel), ("allow_unbalanced", allow_unbalanced)):
        if not isinstance(flag, (bool, np.bool_)):
            raise OptionError(f"The '{name}' parameter of {func} must be True or False. Got {flag!r} instead.")
    engine = engine_of(data)
    engine_prep: str | None = None  # a balanced panel on an engine: per-unit sums (panel_cells)
    if engine is not None and engine != PANDAS:
        if not panel:
            return staggered_rc_engine(
                data, engine, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covs,
                weights=weights, control_group=control_group, method=method,
                anticipation=int(anticipation), base_period=base_period, last_cohort=last_cohort,
                cluster=cluster, bootstrap=int(bootstrap), rng=rng, alpha=alpha, missing=missing,
                func=func)
        if allow_unbalanced:  # the unbalanced estimator works on rows: bring them
            data = project_panel(data, engine, outcome=outcome, unit=unit, time=time, cohort=cohort,
                                 covariates=covs, cluster=cluster, weights=weights, func=func)
        else:
            _balanced_only(weights, func)
            engine_prep = engine
    unbalanced = engine_prep is None and bool(panel) and bool(allow_unbalanced) and not is_balanced(
        data, unit=unit, time=time, columns=[outcome, *covs], missing=missing, func=func)
    if not panel or unbalanced:
        return staggered_did_rc(
            data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covs, weights=weights,
            control_group=control_group, method=method, anticipation=int(anticipation),
            base_period=base_period, last_cohort=last_cohort, cluster=cluster, bootstrap=int(bootstrap),
            rng=rng, alpha=alpha, missing=missing, unbalanced=unbalanced, func=func,
        )
    _balanced_only(weights, func)
    if engine_prep is not None:
        prep = panel_cells(data, engine_prep, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covs, cluster=cluster, missing=missing, func=func)
    else:
        prep = prepare_cohorts(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                               covariates=covs, cluster=cluster, func=func, missing=missing)
    warn_dropped(prep["dropped"], func=func, stacklevel=2)
    Y, Xs, g, tlev, cl = prep["Y"], prep["X"], prep["g"], prep["times"], prep["clusters"]
    N, T = Y.shape
    notes: list[str] = []
    early = check_pre_period(g, anticipation, func=func)
    if early.any():
        warnings.warn(
            f"{func}: {int(early.sum()):,} unit(s) first treated in the first period"
            + (f" (or within anticipation={anticipation} of it)" if anticipation else "")
            + " have no pre-treatment period and were dropped.",
            DroppedRowsWarning, stacklevel=2,
        )
        notes.append(f"{int(early.sum()):,} unit(s) treated from the first period dropped")
        keep = ~early
        Y, g = Y[keep], g[keep]
        Xs = None if Xs is None else Xs[keep]
        cl = None if cl is None else np.asarray(pd.factorize(cl[keep])[0], dtype=np.int64)
        N = Y.shape[0]
    check_comparison_group(g, control_group, cohort=cohort, times=prep["times"],
                           anticipation=anticipation, func=func)
    cohorts = np.unique(g[g >= 0])
    if control_group == "not_yet_treated" and not (g < 0).any() and last_cohort == "comparison":
        cut, note = last_cohort_cut(cohorts, anticipation=anticipation, unit=unit, times=prep["times"],
                                    func=func)
        Y = Y[:, :cut]
        Xs = None if Xs is None else Xs[:, :cut]
        tlev = tlev[:cut]
        T = cut
        cohorts = cohorts[:-1]
        notes.append(note)
    rows: list[dict[str, Any]] = []
    infs: list[np.ndarray] = []
    skipped = 0
    used_as_control = np.zeros(N, dtype=bool)
    for gg, t, b in att_gt_cells(cohorts, T, base_period=base_period, anticipation=anticipation):
        treated = g == gg
        control = comparison(g, gg, t, b, control_group=control_group, anticipation=anticipation)
        sub = treated | control
        n_t, n_c = int(treated.sum()), int(control.sum())
        if n_c == 0:
            skipped += 1
            continue
        used_as_control |= control
        dy = Y[sub, t] - Y[sub, b]
        d = treated[sub].astype(float)
        X = None
        if Xs is not None:
            X = np.column_stack([np.ones(int(sub.sum())), Xs[sub, min(t, b), :]])
        att, inf_sub = att_2x2(dy, d, X, method, func)
        inf = np.zeros(N)
        inf[sub] = inf_sub * (N / sub.sum())
        infs.append(inf)
        rows.append(att_gt_row(tlev, gg, t, b, att, n_t, n_c))
    if skipped:
        notes.append(f"{skipped} ATT(g, t) without comparison units left out")
    if not rows:
        raise DesignError(f"{func}: no ATT(g, t) could be estimated (no comparison units).")
    inf_mat = np.column_stack(infs)
    se = influence_std_error(inf_mat, cl)
    se = _mark_degenerate_cells(rows, se, outcome, notes, func)
    crit = float(stats.norm.ppf(1 - alpha / 2))
    if bootstrap and rng is not None:
        _, crit = multiplier_bootstrap(inf_mat, draws=int(bootstrap), rng=rng, clusters=cl, alpha=alpha)
    f = pd.DataFrame(rows)
    f["std_error"] = se
    with np.errstate(divide="ignore", invalid="ignore"):
        f["statistic"] = f["estimate"] / f["std_error"]
    f["p_value"] = 2 * stats.norm.sf(np.abs(f["statistic"]))
    q = stats.norm.ppf(1 - alpha / 2)
    f["conf_low"] = f["estimate"] - q * se
    f["conf_high"] = f["estimate"] + q * se
    f["band_low"] = f["estimate"] - crit * se
    f["band_high"] = f["estimate"] + crit * se
    f["term"] = [f"ATT({c}, {t})" for c, t in zip(f["cohort"], f["time"], strict=True)]
    f = f[[*ATT_GT_COLUMNS, "_g", "_t"]]
    sizes = {tlev[c]: int(np.sum(g == c)) for c in cohorts.tolist()}
    treated_mean, comparison_mean = post_means(Y, g)
    g = np.where(np.isin(g, cohorts), g, -1)  # a comparison-only last cohort counts as comparison
    return StaggeredDid(
        _att_gt=f, outcome=str(outcome), method=method, control_group=control_group,
        base_period=base_period, anticipation=int(anticipation), alpha=alpha, n_units=N,
        n_periods=T, n_clusters=None if cl is None else int(cl.max()) + 1, bootstrap=int(bootstrap),
        critical_value=crit, covariates=tuple(map(str, covs)), cohort_sizes=sizes,
        treated_mean=treated_mean, comparison_mean=comparison_mean,
        n_comparison_units=int(used_as_control.sum()), notes=tuple(notes), dropped=prep["dropped"],
        _inf=inf_mat, _unit_cohort=g, _clusters=cl, _time_levels=tlev,
        # a seed for aggregate()'s later bootstraps: a number, so that the result holds
        # no generator whose state would change (and each aggregate() is reproducible)
        _seed=None if rng is None else int(rng.integers(0, 2**63 - 1)),
    )



def _balanced_only(weights: Hashable | None, func: str) -> None:
    """Raise for weights with a balanced panel (its estimator is unweighted)."""
    if weights is not None:
        raise OptionError(
            f"{func}: weights={weights!r} with a balanced panel is not supported: the balanced-panel "
            "estimator is unweighted. Fix: pass panel=False to use the weighted repeated-cross-section "
            "estimator, or drop weights."
        )


def _mark_degenerate_cells(
    rows: list[dict[str, Any]], se: np.ndarray, outcome: Hashable, notes: list[str], func: str
) -> np.ndarray:
    """The degeneracy rule for ATT(g, t): a cell whose standard error is exactly zero or
    not finite (one treated and one comparison unit, or changes that do not vary) has no
    test. Its standard error (so its statistic, p-value and intervals) is NaN, marked
    "not estimable" in the notes and named in a :class:`DwpEvalWarning`: never a
    statistic of +/-inf from a zero standard error."""
    se = np.asarray(se, dtype=float).copy()
    bad = [i for i, v in enumerate(se) if not (np.isfinite(v) and v > 0)]
    if not bad:
        return se
    names = [f"ATT({rows[i]['cohort']}, {rows[i]['time']})" for i in bad]
    few = [i for i in bad if rows[i]["n_treated"] < 2 or rows[i]["n_control"] < 2]
    why = "fewer than two per arm" if few else "zero residual variance"
    text = (
        f"{len(bad)} ATT(g, t) of outcome {outcome!r} not estimable ({why}): "
        f"{', '.join(names[:5])}{' ...' if len(bad) > 5 else ''}; their standard errors are NaN"
    )
    notes.append(text)
    warnings.warn(
        f"{func}: {text}. Fix: pool small cohorts, or use control_group='not_yet_treated' for "
        "more comparison units.",
        DwpEvalWarning, stacklevel=3,
    )
    se[bad] = np.nan
    return se
