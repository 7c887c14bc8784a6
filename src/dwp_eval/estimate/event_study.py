"""Event studies: effects by time relative to treatment, with pointwise and
uniform (sup-t) bands and a joint pre-trend test.

Four estimators: ``"callaway_santanna"`` (the dynamic aggregation of
:func:`dwp_eval.staggered_did` with a universal base period), ``"twfe"``
(two-way fixed effects with relative-time indicators), ``"imputation"``
(Borusyak, Jaravel & Spiess 2024) and ``"sun_abraham"`` (Sun & Abraham 2021).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.influence import sup_t_critical_value
from dwp_eval._core.panel import (
    absorbed_parameters,
    fit_within,
    post_means,
    prepare_cohorts,
    twoway,
)
from dwp_eval._core.variance import vcov as vcov_of
from dwp_eval._validation import Seed, as_column_list, check_alpha, check_option, check_seed
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate.event_study_imputation import imputation_event_study
from dwp_eval.estimate.event_study_sunab import sun_abraham_event_study
from dwp_eval.estimate.staggered import staggered_did
from dwp_eval.results.event_study import EVENT_STUDY_COLUMNS, EventStudy, build_event_study

__all__ = ["ESTIMATORS", "EVENT_STUDY_COLUMNS", "EventStudy", "event_study"]

#: The estimators :func:`event_study` offers.
ESTIMATORS = ("callaway_santanna", "twfe", "imputation", "sun_abraham")


def event_study(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    unit: Hashable,
    time: Hashable,
    cohort: Hashable,
    ref: int = -1,
    window: tuple[int, int] | None = None,
    covariates: Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    estimator: Literal["callaway_santanna", "twfe", "imputation", "sun_abraham"] = "callaway_santanna",
    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated",
    bootstrap: int = 1000,
    seed: Seed | None = None,
    alpha: float = 0.05,
) -> EventStudy:
    """Effects by periods since treatment, with uniform bands and a pre-trend test.

    Parameters
    ----------
    data, outcome, unit, time, cohort
        A balanced panel as for :func:`dwp_eval.staggered_did` (cohort: first
        treated period, 0 or missing for never treated).
    ref
        Reference event time (effect fixed at 0). ``callaway_santanna`` supports
        ``-1`` only (the universal base period ``g - 1``).
    window
        ``(lo, hi)`` event times to report. For ``twfe`` event times beyond the
        window are binned into its end points (Schmidheiny & Siegloch 2023);
        for ``callaway_santanna`` effects outside the window are left out.
    covariates
        Covariates (doubly robust adjustment for ``callaway_santanna``; extra
        regressors for ``twfe``).
    cluster
        Cluster column (default: units).
    estimator
        ``"callaway_santanna"`` (default): :meth:`StaggeredDid.aggregate`
        ``("dynamic")`` with doubly robust 2x2s and a universal base period;
        robust to effects that vary across cohorts and over time.
        ``"twfe"``: ``y_it = a_i + l_t + sum_{e != ref} b_e 1{t - g_i = e} + e_it``
        with CR1 SEs clustered by unit (the small-sample factor of
        :func:`dwp_eval.did`: fixest's default, Stata's ``xtreg, fe``); its
        coefficients mix effects across cohorts when effects differ (Sun &
        Abraham 2021).
        ``"imputation"``: Borusyak, Jaravel & Spiess (2024): unit and period
        effects fitted on untreated observations, untreated outcomes imputed
        for treated ones, the differences averaged by event time; BJS's
        conservative clustered variance; pre-period effects from their
        separate pre-trend regression (``ref`` is not used; see
        :func:`~dwp_eval.estimate.event_study_imputation.imputation_event_study`).
        ``"sun_abraham"``: Sun & Abraham (2021) interaction-weighted
        estimator: cohort x relative-period indicators (``ref`` left out),
        never-treated (else last-treated) control, cohort-share weights, CR1
        by unit with the delta method (fixest's ``sunab()``; see
        :func:`~dwp_eval.estimate.event_study_sunab.sun_abraham_event_study`).
    control_group
        For ``callaway_santanna``: never-treated or not-yet-treated comparisons.
    bootstrap, seed
        Draws for the uniform band (multiplier bootstrap for
        ``callaway_santanna``; draws from the estimated normal distribution of
        the estimates for ``twfe``) and their seed (required when draws > 0).
    alpha
        Significance level.

    Returns
    -------
    EventStudy

    Examples
    --------
    >>> from dwp_eval.datasets.rollout import area_rollout
    >>> panel = area_rollout(n_areas=40, periods=8, cohorts=(4, 6), seed=1)
    >>> es = event_study(panel, outcome="employment_rate", unit="area", time="month",
    ...                  cohort="cohort", estimator="twfe", seed=1)
    >>> es.to_frame()["event_time"].tolist()
    [-5, -4, -3, -2, 0, 1, 2, 3, 4]
    """
    func = "event_study"
    alpha = check_alpha(alpha, func=func)
    estimator = check_option(estimator, ESTIMATORS, param="estimator", func=func)  # type: ignore[assignment]
    if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)):
        raise OptionError(f"The 'ref' parameter of {func} must be an int (an event time). Got {ref!r} instead.")
    if window is not None:
        if len(window) != 2 or not all(isinstance(w, (int, np.integer)) for w in window) or window[0] > window[1]:
            raise OptionError(
                f"The 'window' parameter of {func} must be a pair of ints (lo, hi) with lo <= hi. "
                f"Got {window!r} instead."
            )
        if not window[0] <= ref <= window[1]:
            raise OptionError(f"The 'ref' parameter of {func} ({ref}) must lie inside window {tuple(window)}.")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise OptionError(f"The 'bootstrap' parameter of {func} must be an int >= 0. Got {bootstrap!r} instead.")
    if bootstrap and seed is None:
        raise OptionError(
            f"The 'seed' parameter of {func} is needed for the uniform band ({bootstrap} draws). "
            "Fix: pass a recorded integer, e.g. seed=20240501, or bootstrap=0 for pointwise intervals only."
        )
    covs = as_column_list(covariates)
    if estimator == "imputation":
        if ref != -1:
            raise OptionError(
                f"The 'ref' parameter of {func} is not used with estimator='imputation' (its effects "
                "compare with imputed untreated outcomes; pre-period effects are relative to the "
                f"earliest pre-period). Got {ref!r} instead. Fix: leave ref at -1."
            )
        return imputation_event_study(
            data, outcome=outcome, unit=unit, time=time, cohort=cohort, window=window, covariates=covs,
            cluster=cluster, bootstrap=int(bootstrap), seed=seed, alpha=alpha, func=func)
    if estimator == "sun_abraham":
        return sun_abraham_event_study(
            data, outcome=outcome, unit=unit, time=time, cohort=cohort, ref=int(ref), window=window,
            covariates=covs, cluster=cluster, bootstrap=int(bootstrap), seed=seed, alpha=alpha, func=func)
    if estimator == "callaway_santanna":
        if ref != -1:
            raise OptionError(
                f"The 'ref' parameter of {func} must be -1 with estimator='callaway_santanna' (the "
                f"universal base period g - 1). Got {ref!r} instead. Fix: use estimator='twfe' for "
                "another reference period."
            )
        res = staggered_did(
            data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covs,
            control_group=control_group, base_period="universal", cluster=cluster, bootstrap=0,
            alpha=alpha,
        )
        return res.aggregate("dynamic", bootstrap=bootstrap, seed=seed, window=window)  # type: ignore[return-value]
    return _twfe_event_study(
        data, outcome=outcome, unit=unit, time=time, cohort=cohort, ref=int(ref), window=window,
        covariates=covs, cluster=cluster, bootstrap=int(bootstrap), seed=seed, alpha=alpha, func=func,
    )


def _twfe_event_study(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable, ref: int,
    window: tuple[int, int] | None, covariates: list[Hashable], cluster: Hashable | None, bootstrap: int,
    seed: Seed | None, alpha: float, func: str,
) -> EventStudy:
    prep = prepare_cohorts(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covariates, cluster=cluster, func=func)
    Y, Xs, g, cl = prep["Y"], prep["X"], prep["g"], prep["clusters"]
    N, T = Y.shape
    u = np.repeat(np.arange(N), T)
    t = np.tile(np.arange(T), N)
    gu = g[u]
    treated = gu >= 0
    e = np.where(treated, t - gu, 0)
    if window is not None:
        e = np.clip(e, window[0], window[1])
    levels = sorted(set(e[treated].tolist()) - {ref})
    if not levels:
        raise DesignError(f"{func}: no event time other than the reference {ref} is observed.")
    if not (g < 0).any():
        raise DesignError(
            f"{func}: estimator='twfe' needs never-treated units: with every unit treated, the "
            "relative-time indicators are collinear with the unit and period effects. Fix: use "
            "estimator='callaway_santanna' with control_group='not_yet_treated'."
        )
    D = np.column_stack([(treated & (e == k)).astype(float) for k in levels])
    X = D if Xs is None else np.column_stack([D, Xs.reshape(N * T, -1)])
    names = [f"event_time {k}" for k in levels] + [str(c) for c in covariates]
    tw = twoway(u, t, N, T)
    clu = u if cl is None else cl[u]
    n_fe = absorbed_parameters(tw, clu)
    fit = fit_within(tw.demean(X), tw.demean(Y.reshape(-1)), names, n_fe, func)
    res = vcov_of(fit, "CR1", clu)
    k = len(levels)
    V = res.vcov[:k, :k]
    est = fit.beta[:k]
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    df = float(res.df[0])
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    if bootstrap:
        rng = check_seed(seed, func=func)
        crit = max(crit, sup_t_critical_value(V, draws=bootstrap, rng=rng, alpha=alpha))
    post = np.array([lv >= 0 for lv in levels])
    overall = float(est[post].mean()) if post.any() else float("nan")
    wpost = post / max(post.sum(), 1)
    overall_se = float(np.sqrt(wpost @ V @ wpost))
    return build_event_study(
        by="event_time", keys=levels, estimates=est, std_errors=se, vcov=V,
        pre=np.array([lv < 0 for lv in levels]), critical_value=crit, alpha=alpha, overall=overall,
        overall_se=overall_se, outcome=str(outcome), estimator="twfe (relative-time indicators)",
        se_type="CR1", bootstrap=bootstrap, ref=ref, n_obs=N * T, n_clusters=res.n_clusters, df=df,
        means=post_means(Y, g)[::-1],
        n_by_arm={"never treated": int(np.sum(g < 0)), "treated": int(np.sum(g >= 0))},
    )
