"""Sun & Abraham (2021) interaction-weighted event studies: a two-way fixed
effects regression saturated in cohort x relative-period indicators, its
coefficients averaged by relative period with cohort-share weights.
Dispatched from :func:`dwp_eval.event_study`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.influence import sup_t_critical_value
from dwp_eval._core.panel import (
    absorbed_parameters,
    cohort_grid,
    fit_within,
    post_means,
    prepare_cohorts,
    twoway,
)
from dwp_eval._core.variance import vcov as vcov_of
from dwp_eval._validation import Seed, check_seed
from dwp_eval.errors import DesignError
from dwp_eval.results.event_study import EventStudy, build_event_study

__all__ = ["sun_abraham_event_study"]


def sun_abraham_event_study(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable, ref: int,
    window: tuple[int, int] | None, covariates: Sequence[Hashable], cluster: Hashable | None,
    bootstrap: int, seed: Seed | None, alpha: float, func: str,
) -> EventStudy:
    r"""Interaction-weighted estimator (Sun & Abraham 2021, *J. Econometrics* 225(2)).

    Notes
    -----
    Regression (Sun & Abraham 2021, eq. 27):
    :math:`Y_{it} = \alpha_i + \lambda_t + \sum_{g \notin C} \sum_{e \ne r}
    \delta_{ge} 1\{g_i = g\} 1\{t - g_i = e\} + X_{it}'\beta + \varepsilon_{it}`,
    with the control cohort ``C`` the never-treated units or, if there are
    none, the last-treated cohort (then only the periods before it is treated
    are used), and ``r = ref`` (default ``-1``). The effect at relative period
    ``e`` is :math:`\hat\nu_e = \sum_g \hat\Pr(g_i = g \mid t - g_i = e)\,
    \hat\delta_{ge}` (eq. 28), the shares being the cohorts' observation counts
    at ``e`` in the estimation sample; the overall effect averages every
    post-treatment :math:`\hat\delta_{ge}` with weights proportional to its
    observations (fixest's ``aggregate(agg = "att")``). Standard errors: CR1
    clustered by unit (or ``cluster``) with fixest's small-sample factor, and
    the delta method with the shares held fixed, as fixest's ``sunab()``
    aggregation does (Sun & Abraham's eq. 31 adds the shares' sampling
    variance; fixest and pyfixest omit it).

    Examples
    --------
    Called through :func:`dwp_eval.event_study`:

    >>> from dwp_eval import event_study
    >>> from dwp_eval.datasets.rollout import area_rollout
    >>> panel = area_rollout(n_areas=40, periods=8, cohorts=(4, 6), seed=1)
    >>> es = event_study(panel, outcome="employment_rate", unit="area", time="month",
    ...                  cohort="cohort", estimator="sun_abraham", bootstrap=0)
    >>> bool(es.overall.estimate > 0)
    True
    """
    prep = prepare_cohorts(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covariates, cluster=cluster, func=func)
    Y, Xs, g, cl = prep["Y"], prep["X"], prep["g"], prep["clusters"]
    N, T = Y.shape
    u, t, gu = cohort_grid(prep, unit=unit, func=func, estimator="sun_abraham",
                           why="their effects cannot be told apart from their unit effects relative "
                               f"to event time {ref}")
    if (g < 0).any():
        control, keep = "never treated", np.ones(N * T, dtype=bool)
        ctrl_cohort = -1
    else:
        ctrl_cohort = int(g.max())
        if (g == ctrl_cohort).all():
            raise DesignError(f"{func}: estimator='sun_abraham' needs two or more cohorts or never-treated units.")
        control, keep = "last-treated cohort", t < ctrl_cohort
    kept_t = np.unique(t[keep])
    u_k, t_k, g_k = u[keep], t[keep], gu[keep]
    e_k = t_k - g_k
    cohorts = sorted(set(g_k[g_k >= 0].tolist()) - {ctrl_cohort})
    cells = [(c, int(ev)) for c in cohorts for ev in sorted(set(e_k[g_k == c].tolist())) if ev != ref]
    if not cells:
        raise DesignError(f"{func}: no cohort x relative-period cells to estimate.")
    if not any(ev < ref for _, ev in cells) and not any(ev > ref for _, ev in cells):
        raise DesignError(f"{func}: no event time other than the reference {ref} is observed.")
    D = np.column_stack([((g_k == c) & (e_k == ev)).astype(float) for c, ev in cells])
    n_cell = D.sum(axis=0)
    X = D if Xs is None else np.column_stack([D, Xs.reshape(N * T, -1)[keep]])
    names = [f"cohort {prep['times'][c]!r} x event_time {ev}" for c, ev in cells] + [str(c) for c in covariates]
    tcode = np.full(T, -1, dtype=np.int64)
    tcode[kept_t] = np.arange(len(kept_t))
    tw = twoway(u_k, tcode[t_k], N, len(kept_t))
    clu = u_k if cl is None else cl[u_k]
    fit = fit_within(tw.demean(X), tw.demean(Y.reshape(-1)[keep]), names, absorbed_parameters(tw, clu), func)
    res = vcov_of(fit, "CR1", clu)
    m = len(cells)
    delta, Vd = fit.beta[:m], res.vcov[:m, :m]
    ev_of = np.array([ev for _, ev in cells])
    levels = sorted(set(ev_of.tolist()))
    if window is not None:
        levels = [lv for lv in levels if window[0] <= lv <= window[1]]
    if not levels:
        raise DesignError(f"{func}: no relative period inside window {window!r}.")
    A = np.zeros((len(levels) + 1, m))
    for j, lv in enumerate(levels):
        sel = ev_of == lv
        A[j, sel] = n_cell[sel] / n_cell[sel].sum()
    post = (ev_of >= 0) & np.isin(ev_of, levels)
    if not post.any():
        post = ev_of >= 0
    A[-1, post] = n_cell[post] / max(n_cell[post].sum(), 1.0)
    est = A @ delta
    Vall = A @ Vd @ A.T
    k = len(levels)
    V = Vall[:k, :k]
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    df = float(res.df[0])
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    if bootstrap:
        rng = check_seed(seed, func=func)
        crit = max(crit, sup_t_critical_value(V, draws=bootstrap, rng=rng, alpha=alpha))
    return build_event_study(
        by="event_time", keys=levels, estimates=est[:k], std_errors=se, vcov=V,
        pre=np.array([lv < 0 for lv in levels]), critical_value=crit, alpha=alpha,
        overall=float(est[k]) if post.any() else float("nan"),
        overall_se=float(np.sqrt(max(Vall[k, k], 0.0))), outcome=str(outcome),
        estimator=f"sun_abraham (interaction-weighted, {control} control)", se_type="CR1",
        bootstrap=bootstrap, ref=ref, n_obs=int(keep.sum()), n_clusters=res.n_clusters, df=df,
        means=post_means(Y, g)[::-1],
        n_by_arm={"never treated": int(np.sum(g < 0)), "treated": int(np.sum(g >= 0))},
    )
