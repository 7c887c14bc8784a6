"""The imputation event-study estimator of Borusyak, Jaravel & Spiess (2024).

Unit and period effects (and covariate slopes) are fitted on the untreated
observations only, the untreated outcome ``Y_it(0)`` is imputed for every
treated observation, and the imputed effects ``tau_it = Y_it - Y_it(0)-hat``
are averaged by event time. Dispatched from :func:`dwp_eval.event_study`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.influence import sup_t_critical_value
from dwp_eval._core.panel import (
    TwoWay,
    absorbed_parameters,
    cohort_grid,
    fit_within,
    post_means,
    prepare_cohorts,
    twoway,
)
from dwp_eval._core.variance import cluster_sums
from dwp_eval._core.variance import vcov as vcov_of
from dwp_eval._validation import Seed, check_seed
from dwp_eval.errors import DesignError
from dwp_eval.results.event_study import EventStudy, build_event_study

__all__ = ["imputation_event_study"]


def _fe_span(tw: TwoWay, c_unit: np.ndarray, c_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit and period coefficients ``(a, l)`` solving the two-way normal equations
    ``F'F (a, l) = (c_unit, c_time)`` (columns: one right-hand side each), with
    ``F`` the unit and period indicators of ``tw``; ``F (a, l)`` is unique."""
    C = tw.incidence
    rhs = c_time - C.T @ (c_unit / tw.count_unit[:, None])
    lam = tw.a_pinv @ rhs
    a = (c_unit - C @ lam) / tw.count_unit[:, None]
    return a, lam


def _unit_time_sums(tw: TwoWay, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cu = np.column_stack([np.bincount(tw.unit, weights=v[:, j], minlength=tw.n_units) for j in range(v.shape[1])])
    ct = np.column_stack([np.bincount(tw.time, weights=v[:, j], minlength=tw.n_periods) for j in range(v.shape[1])])
    return cu, ct


def imputation_event_study(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable,
    window: tuple[int, int] | None, covariates: Sequence[Hashable], cluster: Hashable | None,
    bootstrap: int, seed: Seed | None, alpha: float, func: str,
) -> EventStudy:
    r"""Imputation estimator (Borusyak, Jaravel & Spiess 2024, *REStud* 91(6)).

    Notes
    -----
    Step 1 (BJS eq. 5 / Theorem 2): on the untreated observations
    :math:`\Omega_0 = \{(i, t): t < g_i\}` fit
    :math:`Y_{it} = \alpha_i + \lambda_t + X_{it}'\delta + \varepsilon_{it}` by OLS.
    Step 2: :math:`\hat\tau_{it} = Y_{it} - \hat\alpha_i - \hat\lambda_t - X_{it}'\hat\delta`
    for every treated observation. Step 3: the effect at event time ``h`` is
    :math:`\hat\tau_h = \sum_{it \in \Omega_1} w_{it} \hat\tau_{it}` with
    :math:`w_{it} = 1\{t - g_i = h\} / N_h` (the overall effect: ``1 / N_1`` on
    every treated observation in the window). The estimator is linear,
    :math:`\hat\tau_w = \sum_{it} v_{it} Y_{it}`, with :math:`v_{it} = w_{it}` on
    :math:`\Omega_1` and :math:`v_0 = -Z_0 (Z_0'Z_0)^{-1} Z_1' w_1` on
    :math:`\Omega_0` (BJS Theorem 1). Conservative variance (BJS Theorem 3,
    eq. 8), clustered by unit (or ``cluster``):
    :math:`\hat V = \sum_c (\sum_{it \in c} v_{it} \tilde\varepsilon_{it})^2`
    with :math:`\tilde\varepsilon_{it}` the step-1 residual on :math:`\Omega_0`
    and :math:`\hat\tau_{it} - \bar\tau_{g_i t}` on :math:`\Omega_1`,
    :math:`\bar\tau_{gt}` the :math:`v^2`-weighted mean of :math:`\hat\tau` over
    the treated observations of cohort ``g`` in period ``t`` (as R
    didimputation 0.3.0 computes it; no leave-out correction). The covariances
    between event times use the same cluster sums.

    Pre-trends (BJS Section 4.4, Test 1): OLS on :math:`\Omega_0` of ``Y`` on the
    fixed effects (and covariates) and indicators of the pre-treatment event
    times (all but the earliest, the reference), CR1 standard errors clustered
    as above (fixest's default). These come from a separate regression, so
    their covariance with the post-treatment effects is set to zero in
    ``vcov``; the uniform band treats the two blocks as independent.

    Examples
    --------
    Called through :func:`dwp_eval.event_study`:

    >>> from dwp_eval import event_study
    >>> from dwp_eval.datasets.rollout import area_rollout
    >>> panel = area_rollout(n_areas=40, periods=8, cohorts=(4, 6), seed=1)
    >>> es = event_study(panel, outcome="employment_rate", unit="area", time="month",
    ...                  cohort="cohort", estimator="imputation", bootstrap=0)
    >>> bool(es.overall.estimate > 0)
    True
    """
    prep = prepare_cohorts(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covariates, cluster=cluster, func=func)
    Y, Xs, g, cl = prep["Y"], prep["X"], prep["g"], prep["clusters"]
    N, T = Y.shape
    u, t, gu = cohort_grid(prep, unit=unit, func=func, estimator="imputation",
                           why="their unit effects, and so their untreated outcomes, cannot be estimated")
    treated = (gu >= 0) & (t >= gu)
    e = np.where(gu >= 0, t - gu, np.iinfo(np.int64).min)
    untreated = ~treated
    t_treated = np.unique(t[treated])
    t_untreated = np.unique(t[untreated])
    gap = np.setdiff1d(t_treated, t_untreated)
    if gap.size:
        tl = prep["times"]
        raise DesignError(
            f"{func}: estimator='imputation' needs untreated (never- or not-yet-treated) observations in "
            f"every period with treated ones, but period(s) {', '.join(repr(x) for x in tl[gap][:5].tolist())} "
            f"of {time!r} have none: their period effects cannot be estimated. Fix: add never-treated "
            "units, or drop those periods (e.g. the periods after the last cohort starts)."
        )
    if not treated.any():
        raise DesignError(f"{func}: no treated observations (every unit never treated).")
    hi_e = int(e[treated].max())
    lo, hi = (0, hi_e) if window is None else (max(0, window[0]), min(hi_e, window[1]))
    levels = [k for k in range(lo, hi + 1) if np.any(treated & (e == k))]
    if not levels:
        raise DesignError(f"{func}: no treated observations at event times inside window {window!r}.")
    # step 1: fit on untreated observations
    u0, t0 = u[untreated], t[untreated]
    tcode = np.full(T, -1, dtype=np.int64)
    tcode[t_untreated] = np.arange(len(t_untreated))
    tw = twoway(u0, tcode[t0], N, len(t_untreated))
    if tw.rank_time < len(t_untreated) - 1:
        raise DesignError(
            f"{func}: the untreated observations do not connect every unit and period (the unit and "
            "period effects are not identified). Fix: add never-treated units."
        )
    y = Y.reshape(-1)
    y0 = y[untreated]
    X = None if Xs is None else Xs.reshape(N * T, -1)
    if X is not None:
        X0d = tw.demean(X[untreated])
        fit0 = fit_within(X0d, tw.demean(y0), [str(c) for c in covariates], tw.n_fe, func)
        delta = fit0.beta
        r0 = y0 - X[untreated] @ delta
    else:
        delta = np.zeros(0)
        r0 = y0
    a, lam = _fe_span(tw, *_unit_time_sums(tw, r0[:, None]))
    lam_full = np.zeros(T)
    lam_full[t_untreated] = lam[:, 0]
    fitted = a[u, 0] + lam_full[t]
    if X is not None:
        fitted = fitted + X @ delta
    resid_all = y - fitted  # tau_it on treated, residual on untreated
    # weights: one column per event time, then the overall average
    k = len(levels)
    W = np.zeros((N * T, k + 1))
    for j, lv in enumerate(levels):
        m = treated & (e == lv)
        W[m, j] = 1.0 / m.sum()
    inw = treated & (e >= lo) & (e <= hi)
    W[inw, k] = 1.0 / inw.sum()
    est = W.T @ resid_all
    # v on untreated: -Z0 (Z0'Z0)^- Z1'w1
    W1 = W[treated]
    cu = np.column_stack([np.bincount(u[treated], weights=W1[:, j], minlength=N) for j in range(k + 1)])
    ct_full = np.column_stack([np.bincount(t[treated], weights=W1[:, j], minlength=T) for j in range(k + 1)])
    ct = ct_full[t_untreated]
    af, lf = _fe_span(tw, cu, ct)
    h = af[u0] + lf[tw.time]
    if X is not None:
        cx = X[treated].T @ W1
        b = fit0.bread @ (cx - X[untreated].T @ h)
        v0 = -(h + X0d @ b)
    else:
        v0 = -h
    V_w = W.copy()
    V_w[untreated] = v0
    # auxiliary tau-bar by cohort x period, v^2 weighted (equal within a cell for these weights)
    eps = resid_all.copy()
    cell = gu[treated] * T + t[treated]
    _, inv = np.unique(cell, return_inverse=True)
    tau1 = resid_all[treated]
    cell_mean = np.bincount(inv, weights=tau1) / np.bincount(inv)
    eps[treated] = tau1 - cell_mean[inv]
    clu = u if cl is None else cl[u]
    S = cluster_sums(V_w * eps[:, None], clu)
    Vfull = S.T @ S
    V_post = Vfull[:k, :k]
    overall, overall_se = float(est[k]), float(np.sqrt(max(Vfull[k, k], 0.0)))
    n_clusters = int(clu.max()) + 1
    # pre-trend regression on the untreated observations
    pre_levels = sorted(set(e[untreated & (gu >= 0)].tolist()))
    if window is not None:
        pre_levels = [p for p in pre_levels if p >= window[0]]
        drop_first = bool(pre_levels) and pre_levels[0] == int(e[untreated & (gu >= 0)].min())
    else:
        drop_first = True
    if drop_first:
        pre_levels = pre_levels[1:]
    keys: list[int] = list(levels)
    est_all, V_all = est[:k], V_post
    if pre_levels:
        e0 = e[untreated]
        D = np.column_stack([(e0 == p).astype(float) for p in pre_levels])
        Xp = D if X is None else np.column_stack([D, X[untreated]])
        names = [f"event_time {p}" for p in pre_levels] + [str(c) for c in covariates]
        clu0 = clu[untreated]
        fitp = fit_within(tw.demean(Xp), tw.demean(y0), names, absorbed_parameters(tw, clu0), func)
        resp = vcov_of(fitp, "CR1", clu0)
        kp = len(pre_levels)
        keys = pre_levels + keys
        est_all = np.r_[fitp.beta[:kp], est[:k]]
        V_all = np.zeros((kp + k, kp + k))
        V_all[:kp, :kp] = resp.vcov[:kp, :kp]
        V_all[kp:, kp:] = V_post
    se = np.sqrt(np.clip(np.diag(V_all), 0, None))
    crit = float(stats.norm.ppf(1 - alpha / 2))
    if bootstrap:
        rng = check_seed(seed, func=func)
        crit = max(crit, sup_t_critical_value(V_all, draws=bootstrap, rng=rng, alpha=alpha))
    return build_event_study(
        by="event_time", keys=keys, estimates=est_all, std_errors=se, vcov=V_all,
        pre=np.array([kk < 0 for kk in keys]), critical_value=crit, alpha=alpha, overall=overall,
        overall_se=overall_se, outcome=str(outcome),
        estimator="imputation (Borusyak, Jaravel & Spiess)", se_type="BJS conservative, clustered",
        bootstrap=bootstrap, ref=None, n_obs=N * T, n_clusters=n_clusters, df=float("inf"),
        means=post_means(Y, g)[::-1],
        n_by_arm={"never treated": int(np.sum(g < 0)), "treated": int(np.sum(g >= 0))},
    )
