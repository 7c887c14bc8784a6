"""Difference-in-differences: the 2x2 design and two-way fixed effects (TWFE),
on balanced or unbalanced panels and on repeated cross-sections.

The estimate is the coefficient on the treatment indicator ``D_it`` in

    y_it = alpha_i + lambda_t + beta D_it + x_it' gamma + e_it

with unit and period effects absorbed by the exact two-way within
transformation of :mod:`dwp_eval._core.panel` (no dummy matrices; also exact
on unbalanced panels). On repeated cross-sections (``unit=None``) the unit
effects are replaced by a treated-group indicator. Variances come from
:mod:`dwp_eval._core.variance`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from dwp_eval._core.contract import Frozen, Refit
from dwp_eval._core.engines import PANDAS, engine_of
from dwp_eval._core.linalg import fit_ols
from dwp_eval._core.panel import (
    absorbed_parameters,
    check_binary,
    check_finite_result,
    check_no_switch_off,
    check_numeric,
    check_periods,
    check_post_periods,
    check_two_clusters,
    check_unit_time,
    check_varies,
    fit_within,
    prepare_cohorts,
    require_columns,
    sorted_codes,
    twoway,
    validate_frame,
    warn_dropped,
)
from dwp_eval._core.sample import align_labels
from dwp_eval._core.variance import resolve_se_type, vcov
from dwp_eval._validation import as_column_list, check_alpha
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate._did_engine import did_engine
from dwp_eval.estimate._did_engine_rcs import did_rcs_engine
from dwp_eval.estimate._did_means import GROUP_MEANS_COLUMNS, group_means_frame
from dwp_eval.results import Effect
from dwp_eval.results.did import BACON_COLUMNS, BaconDecomposition

__all__ = ["GROUP_MEANS_COLUMNS", "bacon_decomposition", "did"]

def _covariate_matrix(frame: pd.DataFrame, covs: Sequence[Hashable], func: str) -> np.ndarray:
    cols = [check_numeric(frame, c, role="covariates", func=func) for c in covs]
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


def _change_if(y: np.ndarray, post: np.ndarray, cl: np.ndarray) -> tuple[float, float, float, float, float]:
    """Means before and after, their SEs, and the change with a cluster-robust SE.

    The change ``mean_post - mean_pre`` has influence ``sum_{i in c}`` of
    ``(y_i - mean_post) 1{post} / n_post - (y_i - mean_pre) 1{pre} / n_pre`` per
    cluster ``c`` (unit); its variance is ``G/(G-1) sum_c IF_c^2``. On a balanced
    two-period panel this is ``s_Delta / sqrt(n)``, the SE of the mean change.
    """
    pre, po = post == 0, post == 1
    n0, n1 = int(pre.sum()), int(po.sum())
    m0, m1 = float(y[pre].mean()), float(y[po].mean())
    s0 = float(y[pre].std(ddof=1) / np.sqrt(n0)) if n0 > 1 else float("nan")
    s1 = float(y[po].std(ddof=1) / np.sqrt(n1)) if n1 > 1 else float("nan")
    contrib = np.where(po, (y - m1) / n1, -(y - m0) / n0)
    codes, _ = pd.factorize(cl)
    per = np.bincount(codes, weights=contrib)
    G = len(per)
    se = float(np.sqrt(G / (G - 1) * np.sum(per**2))) if G > 1 else float("nan")
    return m0, s0, m1, s1, se


def _group_means(y: np.ndarray, group: np.ndarray, post: np.ndarray, cl: np.ndarray) -> pd.DataFrame:
    per_group = []
    for g in (0.0, 1.0):
        m = group == g
        m0, s0, m1, s1, se = _change_if(y[m], post[m], cl[m])
        per_group.append((int(np.sum(m & (post == 0))), m0, s0, int(np.sum(m & (post == 1))), m1, s1, se))
    return group_means_frame(per_group)


def did(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    unit: Hashable | None,
    time: Hashable,
    treated: Hashable,
    post: Hashable | None = None,
    covariates: Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> Effect:
    """Difference-in-differences estimate of the average effect on the treated (ATT).

    Parameters
    ----------
    data
        One row per unit and period (a panel), or per person and period with
        ``unit=None`` (repeated cross-sections). A pandas, Dask or Spark
        DataFrame: on Dask and Spark the estimate and its variance come from
        per-unit, per-period and per-cluster sums computed by the engine (CR2
        only on panels; see the guide, "Data on Dask or Spark").
    outcome
        Numeric outcome column.
    unit
        Column identifying units (areas, offices, people) followed over time;
        ``None`` for repeated cross-sections.
    time
        Period column (numbers or dates; anything that sorts).
    treated
        Without ``post``: 0/1 *treatment status* ``D_it`` (1 in the periods a unit
        is treated; once on it must stay on). With ``post``: 0/1 *treated group*
        indicator, constant within a unit, and ``D_it = treated x post``.
    post
        0/1 column marking the periods after the change (a function of ``time``);
        the classic 2x2 design. Required for repeated cross-sections.
    covariates
        Numeric time-varying covariates added to the regression.
    cluster
        Column to cluster the standard errors on; default the unit (panels). For
        repeated cross-sections the default is no clustering.
    se_type
        Variance estimator, any name of the variance table (see :func:`dwp_eval.itt`).
        Default ``"CR1"`` when clustered, ``"HC1"`` otherwise (the ``"stata"``
        convention). ``"CR2"`` gives Bell-McCaffrey SEs with Satterthwaite df.
    alpha
        Significance level.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome or
        covariate, as :func:`dwp_eval.itt` (a :class:`~dwp_eval.errors.DroppedRowsWarning`
        gives the counts, which are kept on the result's ``dropped``; the panel
        may become unbalanced, which TWFE handles). Missing values in ``unit``,
        ``time``, ``treated``, ``post`` or ``cluster`` always raise.

    Returns
    -------
    Effect
        Estimand ``"ATT"``. When the design is a 2x2 (``post`` given, or a single
        adoption date) ``group_means`` holds outcome means by group and period,
        the changes and their difference (see Notes).

    Notes
    -----
    TWFE regression ``y_it = alpha_i + lambda_t + beta D_it + e_it`` (Angrist &
    Pischke 2009, eq. 5.2.3); with two groups and two periods ``beta`` is the
    difference in mean changes (Card & Krueger 1994, Table 3). The unit and
    period effects are absorbed exactly by Frisch-Waugh-Lovell. With staggered
    adoption and effects that vary over time ``beta`` is a weighted average of
    2x2 comparisons, some with negative weights (Goodman-Bacon 2021): use
    :func:`dwp_eval.staggered_did` and :func:`dwp_eval.bacon_decomposition`.

    CR1 (the default) is CR0 times ``G/(G-1) (n-1)/(n-K)``. ``K`` counts the
    regressors and the fixed effects not nested in the clusters, a nested set
    still counting its one constant: with units nested in the clusters (the
    default cluster = unit, or regions holding whole units) ``K = k + T``, the
    ``T - 1`` period effects and the constant. That is fixest's default
    ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)`` (fixest
    documentation, ``?ssc`` and the vignette "On standard-errors") and the
    ``K`` of Stata's ``xtreg y d i.period, fe vce(cluster c)`` (Stata [XT]
    ``xtreg``, Methods and formulas: the within regression with a constant);
    both agree with it to 1e-8 (``tests/reference/did/twfe_cr1.py``). On a
    panel whose unit-period graph falls apart, ``T - 1`` becomes the number of
    identified period effects. Clusters that cut across units count every unit
    and period effect, as Stata's ``areg`` and estimatr's ``"stata"``. CR2 forms the unit-demeaned period indicators (n x T) to
    get the exact leverages, as estimatr's ``lm_robust(fixed_effects = ~ unit
    + time, se_type = "CR2")``.

    In ``group_means`` each group's change ``mean_post - mean_pre`` uses every
    row available, with a cluster-robust (by unit) SE; the ``difference`` row
    treats the two groups as independent. On an unbalanced panel the TWFE
    estimate uses within-unit changes only, so it can differ from the
    ``difference`` row's change.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"area": [1, 1, 2, 2, 3, 3, 4, 4], "t": [0, 1] * 4,
    ...                    "nj": [1, 1, 1, 1, 0, 0, 0, 0], "after": [0, 1] * 4,
    ...                    "y": [10.0, 13.0, 11.0, 13.0, 9.0, 10.0, 12.0, 12.0]})
    >>> res = did(df, outcome="y", unit="area", time="t", treated="nj", post="after")
    >>> round(res.estimate, 3), res.se_type
    (2.0, 'CR1')
    """
    func = "did"
    alpha = check_alpha(alpha, func=func)
    covs = as_column_list(covariates)
    engine = engine_of(data)
    if engine is not None and engine != PANDAS and unit is None:
        return did_rcs_engine(data, engine, outcome=outcome, time=time, treated=treated, post=post,
                              covariates=covs, cluster=cluster, se_type=se_type, alpha=alpha,
                              missing=missing)
    if engine is not None and engine != PANDAS:
        return did_engine(data, engine, outcome=outcome, unit=unit, time=time, treated=treated,
                          post=post, covariates=covs, cluster=cluster, se_type=se_type, alpha=alpha,
                          missing=missing)
    sample = _did_sample(
        data, outcome=outcome, unit=unit, time=time, treated=treated, post=post, covariates=covs,
        cluster=cluster, func=func, missing=missing,
    )
    warn_dropped(dict(sample.dropped), func=func, stacklevel=2)
    return _fit(sample, {"alpha": alpha}, se_type=se_type, func=func)


@dataclass(frozen=True, eq=False)
class DidSample(Frozen):
    """A validated difference-in-differences sample: the arrays the estimate and its
    variance need (frozen), and the labels of the analysed rows."""

    outcome: str
    treated: str
    post: str | None
    panel: bool
    covariates: tuple[str, ...]
    y: np.ndarray
    d: np.ndarray  # treatment status D_it
    group: np.ndarray  # treated group (ever treated)
    p: np.ndarray | None  # post period, for 2x2 designs
    xc: np.ndarray  # covariates (n x q)
    time_codes: np.ndarray
    time_levels: np.ndarray
    unit_codes: np.ndarray | None
    cluster: np.ndarray | None
    index: pd.Index
    dropped: tuple[tuple[str, int], ...] = ()  # rows dropped by missing="drop", per column

    _UNFROZEN = ("index",)  # a pandas Index is immutable

    def regroup(self, cluster: Any, *, func: str) -> DidSample:
        return replace(self, cluster=align_labels(cluster, self.index, len(self.y), param="cluster", func=func))


def _did_sample(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable | None, time: Hashable,
    treated: Hashable, post: Hashable | None, covariates: list[Hashable],
    cluster: Hashable | None, func: str, missing: str = "raise",
) -> DidSample:
    """Check the panel (or repeated cross-sections) and return its arrays."""
    covs = covariates
    require_columns(func, outcome=outcome, time=time, treated=treated)
    data, dropped_rows = validate_frame(
        data,
        [(outcome, "outcome"), (unit, "unit"), (time, "time"), (treated, "treated"), (post, "post"),
         *[(c, "covariates") for c in covs], (cluster, "cluster")],
        func=func, missing=missing,
    )
    dropped = tuple(dropped_rows.items())
    y = check_numeric(data, outcome, role="outcome", func=func)
    check_varies(y, outcome, func=func)
    tr = check_binary(data, treated, role="treated", func=func)
    xc = _covariate_matrix(data, covs, func)
    p: np.ndarray | None = None
    if post is not None:
        p = check_binary(data, post, role="post", func=func)
        t_codes, _ = sorted_codes(data[time], column=time, role="time", func=func)
        check_post_periods(pd.Series(p, dtype=float).groupby(t_codes).mean().to_numpy(), post=post,
                           time=time, func=func)
    cl = None if cluster is None else np.asarray(pd.factorize(data[cluster])[0], dtype=np.int64)
    if cl is not None:
        check_two_clusters(int(cl.max()) + 1, cluster, func=func)
    check_periods(len(sorted_codes(data[time], column=time, role="time", func=func)[1]), time, func=func)
    if unit is None:
        if p is None:
            raise OptionError(
                f"The 'post' parameter of {func} is needed with unit=None (repeated "
                "cross-sections): without units, the treated group and the periods after the "
                "change must be given. Fix: pass treated= (the group) and post= (0/1 after)."
            )
        t_codes, t_levels = sorted_codes(data[time], column=time, role="time", func=func)
        return DidSample(
            outcome=str(outcome), treated=str(treated), post=str(post), panel=False,
            covariates=tuple(map(str, covs)), y=y, d=tr * p, group=tr, p=p, xc=xc,
            time_codes=t_codes, time_levels=t_levels, unit_codes=None, cluster=cl,
            index=data.index, dropped=dropped,
        )
    u, ulev, t_codes, t_levels = check_unit_time(data, unit, time, func=func)
    N = len(ulev)
    if p is None:
        d = tr
        first = check_no_switch_off(d, u, t_codes, N, ulev, column=treated, func=func)
        group = (first[u] >= 0).astype(float)
        starts = np.unique(first[first >= 0])
        if len(starts) == 1:
            p = (t_codes >= starts[0]).astype(float)
    else:
        if pd.Series(tr).groupby(u).nunique().max() > 1:
            raise DesignError(
                f"{func}: with post= the column {treated!r} (treated) marks the treated group "
                f"and must be constant within each unit of {unit!r}, but it changes for some "
                "units. Fix: pass the group indicator, or drop post= and pass the 0/1 "
                "treatment status as treated=."
            )
        group = tr
        d = tr * p
    if np.all(d == 0):
        raise DesignError(f"{func}: no row is treated, so there is no effect to estimate.")
    if np.all(group == 1):
        raise DesignError(
            f"{func}: every unit is treated at some point and none serves as comparison; "
            "TWFE then compares early with late adopters only. Fix: add comparison units, "
            "or use staggered_did(control_group='not_yet_treated')."
        )
    return DidSample(
        outcome=str(outcome), treated=str(treated), post=None if post is None else str(post),
        panel=True, covariates=tuple(map(str, covs)), y=y, d=d, group=group, p=p, xc=xc,
        time_codes=t_codes, time_levels=t_levels, unit_codes=u, cluster=cl, index=data.index,
        dropped=dropped,
    )


def _fit(sample: DidSample, options: Mapping[str, Any], *, se_type: str | None, func: str) -> Effect:
    """The ATT and its variance from a prepared sample (see :func:`did`)."""
    y, d, group, p, xc = sample.y, sample.d, sample.group, sample.p, sample.xc
    t_codes, t_levels = sample.time_codes, sample.time_levels
    binary = bool(np.all((y == 0.0) | (y == 1.0)))
    se_default = "stata" if se_type is None else se_type
    notes: list[str] = []
    covs = sample.covariates
    if not sample.panel:
        cl = sample.cluster
        se_name = resolve_se_type(se_default, clustered=cl is not None, func=func)
        X = np.column_stack([group, d, xc])
        names = ["treated_group", "treated:post", *covs]
        fit = fit_ols(X, y, names, fe_codes=t_codes, func=func)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
            res = vcov(fit, se_name, cl, outcome=sample.outcome, func=func,
                       scale=float(np.max(np.abs(y))))
        j = 1
        design = "repeated cross-sections"
        method = "OLS of outcome on group, period effects and group x post"
        unit_codes = np.arange(len(y))
        n_treated, n_comparison = int(np.sum(group == 1)), int(np.sum(group == 0))
        n_units = None
    else:
        u = cast(np.ndarray, sample.unit_codes)  # a panel has units
        N, T = int(u.max()) + 1, len(t_levels)
        cl = u if sample.cluster is None else sample.cluster
        se_name = resolve_se_type(se_default, clustered=True, func=func)
        tw = twoway(u, t_codes, N, T)
        X = np.column_stack([d, xc])
        names = [sample.treated if sample.post is None else f"{sample.treated}:{sample.post}", *covs]
        if se_name == "CR2":
            # exact CR2 leverages: unit effects absorbed, period indicators explicit
            dummies = (t_codes[:, None] == np.arange(1, T)[None, :]).astype(float)
            fit = fit_ols(
                np.column_stack([X, dummies]), y, [*names, *[f"period[{v}]" for v in t_levels[1:]]],
                fe_codes=u, func=func,
            )
        else:
            Xd = tw.demean(X)
            yd = tw.demean(y)
            n_fe = absorbed_parameters(tw, cl)
            fit = fit_within(Xd, yd, names, n_fe, func)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
            res = vcov(fit, se_name, cl, outcome=sample.outcome, func=func,
                       scale=float(np.max(np.abs(y))))
        j = 0
        counts = np.bincount(u, minlength=N)
        balanced = bool(np.all(counts == T))
        design = "panel (balanced)" if balanced else "panel (unbalanced)"
        method = "two-way fixed effects (unit and period effects absorbed)"
        if not balanced:
            single = int(np.sum(counts == 1))
            if single:
                notes.append(f"{single:,} unit(s) observed once carry no within-unit change")
        unit_codes = u
        unit_group = np.zeros(N)
        unit_group[u] = group
        n_treated, n_comparison = int(unit_group.sum()), int(N - unit_group.sum())
        n_units = N
    if covs:
        method += ", covariates"

    est = float(fit.beta[j])
    se = float(res.std_error[j])
    df = float(res.df[j])
    check_finite_result([est, se], sample.outcome, func=func)
    gm = None
    if p is not None:
        gm = _group_means(y, group, p, unit_codes if cl is None else cl)
        method = ("2x2 difference in differences; " + method) if not sample.panel else method
        control_mean = float(gm.loc[0, "mean_post"])
        treatment_mean = float(gm.loc[1, "mean_post"])
    else:
        control_mean = float(y[group == 0].mean())
        treatment_mean = float(y[d == 1].mean())
    if n_units is not None:
        notes.insert(0, f"{n_units:,} units, {len(t_levels):,} periods")
    return Effect(
        estimand="ATT",
        outcome=sample.outcome,
        treatment="treated",
        control="comparison",
        estimate=est,
        std_error=se,
        df=df,
        alpha=options["alpha"],
        n_obs=len(y),
        n_by_arm={"comparison": n_comparison, "treated": n_treated},
        control_mean=control_mean,
        treatment_mean=treatment_mean,
        se_type=se_name,
        design=design,
        method=method,
        covariates=covs,
        n_clusters=res.n_clusters,
        binary_outcome=binary,
        notes=tuple(notes),
        dropped=dict(sample.dropped),
        _refit=Refit(refit, sample, options),
        _group_means=gm,
    )


def refit(sample: DidSample, options: Mapping[str, Any], *, se_type: str, cluster: Any = None) -> Effect:
    """:meth:`Effect.with_se` for a DiD: the same estimate on the same sample with
    another variance (``cluster``: new cluster labels, or ``None`` to keep)."""
    func = "Effect.with_se"
    if cluster is not None:
        sample = sample.regroup(cluster, func=func)
        label = getattr(cluster, "name", None)
        check_two_clusters(len(np.unique(cast(np.ndarray, sample.cluster))),
                           "cluster" if label is None else label, func=func)
    return _fit(sample, options, se_type=se_type, func=func)


# ---------------------------------------------------------------- Goodman-Bacon


def bacon_decomposition(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable
) -> BaconDecomposition:
    """Goodman-Bacon (2021) decomposition of the two-way fixed effects estimate.

    Parameters
    ----------
    data
        A balanced panel (one row per unit and period), no covariates.
    outcome, unit, time
        Outcome, unit and period columns.
    cohort
        Period each unit is first treated (0 or missing: never treated; the
        first period: always treated), as for :func:`dwp_eval.staggered_did`.

    Returns
    -------
    BaconDecomposition

    Notes
    -----
    With timing groups ``k`` (first treated in ``g_k``, treated a share
    ``Dbar_k`` of the periods, unit share ``n_k``) and never-treated ``U``, the
    TWFE coefficient is ``sum s_kU b_kU + sum_{k<l} (s^k_kl b^k_kl + s^l_kl b^l_kl)``
    (Goodman-Bacon 2021, Theorem 1, eq. 10a-10e): ``b_kU`` compares group
    ``k`` with never-treated units before and after ``g_k``; ``b^k_kl``
    compares earlier ``k`` with later ``l`` before ``g_l``; ``b^l_kl`` compares
    later ``l`` with earlier ``k`` after ``g_k`` (already-treated controls).
    The weights are proportional to ``(n_k + n_U)^2 n_kU (1 - n_kU) Dbar_k (1 - Dbar_k)``,
    ``((n_k + n_l)(1 - Dbar_l))^2 n_kl (1 - n_kl) (Dbar_k - Dbar_l)/(1 - Dbar_l) (1 - Dbar_k)/(1 - Dbar_l)``
    and ``((n_k + n_l) Dbar_k)^2 n_kl (1 - n_kl) Dbar_l/Dbar_k (Dbar_k - Dbar_l)/Dbar_k``,
    normalised to sum to one.

    Examples
    --------
    >>> from dwp_eval.datasets.rollout import area_rollout
    >>> panel = area_rollout(n_areas=40, periods=8, cohorts=(4, 6), seed=1)
    >>> bd = bacon_decomposition(panel, outcome="employment_rate", unit="area", time="month",
    ...                          cohort="cohort")
    >>> round(float((bd.to_frame()["weight"] * bd.to_frame()["estimate"]).sum() - bd.twfe_estimate), 12)
    0.0
    """
    func = "bacon_decomposition"
    prep = prepare_cohorts(data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=[],
                           cluster=None, func=func)
    Y, g, tlev = prep["Y"], prep["g"], prep["times"]
    N, T = Y.shape
    groups = np.unique(g)
    treated_groups = [int(k) for k in groups if k >= 0]
    if not treated_groups:
        raise DesignError(f"{func}: no unit is ever treated (column {cohort!r}).")
    means = {int(k): Y[g == k].mean(axis=0) for k in groups}  # period means per timing group
    share = {int(k): float(np.mean(g == k)) for k in groups}
    dbar = {k: (T - k) / T for k in treated_groups}  # share of periods treated (g index 0..T-1)

    def win(k: int, lo: int, hi: int) -> float:
        return float(means[k][lo:hi].mean())

    rows: list[dict[str, Any]] = []
    label = {k: tlev[k] for k in treated_groups}
    if -1 in means:
        for k in treated_groups:
            if k == 0:
                continue  # always treated vs never treated: no before period
            b = (win(k, k, T) - win(k, 0, k)) - (win(-1, k, T) - win(-1, 0, k))
            nk = share[k] / (share[k] + share[-1])
            v = nk * (1 - nk) * dbar[k] * (1 - dbar[k])
            rows.append({"comparison": "treated vs never treated", "treated": label[k], "control": "never",
                         "estimate": b, "weight": (share[k] + share[-1]) ** 2 * v})
    for i, k in enumerate(treated_groups):
        for el in treated_groups[i + 1:]:
            nkl = share[k] / (share[k] + share[el])
            dk, dl = dbar[k], dbar[el]
            if k > 0:  # early k vs later l, before l is treated
                b = (win(k, k, el) - win(k, 0, k)) - (win(el, k, el) - win(el, 0, k))
                v = nkl * (1 - nkl) * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl)
                rows.append({"comparison": "earlier vs later treated", "treated": label[k], "control": label[el],
                             "estimate": b, "weight": ((share[k] + share[el]) * (1 - dl)) ** 2 * v})
            b = (win(el, el, T) - win(el, k, el)) - (win(k, el, T) - win(k, k, el))
            v = nkl * (1 - nkl) * dl / dk * (dk - dl) / dk
            rows.append({"comparison": "later vs always treated" if k == 0 else "later vs earlier treated",
                         "treated": label[el], "control": label[k], "estimate": b,
                         "weight": ((share[k] + share[el]) * dk) ** 2 * v})
    if not rows:
        raise DesignError(f"{func}: no 2x2 comparison exists (one timing group and no never-treated units).")
    table = pd.DataFrame(rows, columns=BACON_COLUMNS)
    table["weight"] = table["weight"] / table["weight"].sum()
    # the TWFE estimate itself, from the exact within transformation
    u = np.repeat(np.arange(N), T)
    t = np.tile(np.arange(T), N)
    d = ((g[u] >= 0) & (t >= g[u])).astype(float)
    tw = twoway(u, t, N, T)
    dd = tw.demean(d)
    beta = float(dd @ tw.demean(Y.reshape(-1)) / (dd @ dd))
    return BaconDecomposition(_table=table, twfe_estimate=beta, outcome=str(outcome), n_units=N, n_periods=T)
