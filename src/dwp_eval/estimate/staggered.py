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
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.format import number
from dwp_eval._core.influence import influence_std_error, influence_vcov, multiplier_bootstrap
from dwp_eval._core.panel import (
    post_means,
    prepare_cohorts,
)
from dwp_eval._validation import (
    Seed,
    as_column_list,
    check_alpha,
    check_option,
    check_seed,
)
from dwp_eval.errors import DesignError, DroppedRowsWarning, OptionError
from dwp_eval.results import Effect, ResultMixin
from dwp_eval.results.event_study import EventStudy, build_event_study

__all__ = ["ATT_GT_COLUMNS", "StaggeredDid", "staggered_did"]

ATT_GT_COLUMNS = [
    "term",
    "cohort",
    "time",
    "event_time",
    "base_period",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "band_low",
    "band_high",
    "n_treated",
    "n_control",
    "post",
]

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


@dataclass(frozen=True, eq=False, repr=False)
class StaggeredDid(ResultMixin):
    """Group-time average treatment effects ATT(g, t) (Callaway & Sant'Anna 2021).

    ``att_gt`` has one row per cohort ``g`` and period ``t`` (columns as in
    ``ATT_GT_COLUMNS``): the estimate, its analytic influence-function SE,
    pointwise normal interval (``conf_low``/``conf_high``) and the uniform band
    from the multiplier bootstrap (``band_low``/``band_high``; equal to the
    pointwise interval when ``bootstrap=0``). :meth:`aggregate` combines them.
    """

    _att_gt: pd.DataFrame
    outcome: str
    method: str
    control_group: str
    base_period: str
    anticipation: int
    alpha: float
    n_units: int
    n_periods: int
    n_clusters: int | None
    bootstrap: int
    critical_value: float
    covariates: tuple[str, ...]
    cohort_sizes: dict[Any, int]
    treated_mean: float
    comparison_mean: float
    n_comparison_units: int
    notes: tuple[str, ...] = ()
    # internals for aggregation
    _inf: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    _unit_cohort: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cohort index, -1 never
    _clusters: np.ndarray | None = None
    _time_levels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _seed: Any = None

    @property
    def att_gt(self) -> pd.DataFrame:
        """The group-time effects (a copy)."""
        return self._att_gt.copy()

    def to_frame(self) -> pd.DataFrame:
        return self._att_gt.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Pointwise ``1 - alpha`` normal intervals of every ATT(g, t)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="StaggeredDid.conf_int")
        q = stats.norm.ppf(1 - a / 2)
        f = self._att_gt
        return pd.DataFrame({"term": f["term"], "conf_low": f["estimate"] - q * f["std_error"],
                             "conf_high": f["estimate"] + q * f["std_error"]})

    def summary(self) -> str:
        f = self._att_gt
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"Group-time ATT(g, t) on {self.outcome} (Callaway & Sant'Anna 2021)",
            f"  method          {self.method}; comparison {self.control_group.replace('_', '-')}; "
            f"base period {self.base_period}; anticipation {self.anticipation}",
            f"  units           {self.n_units:,} in {len(self.cohort_sizes)} cohort(s) "
            f"({', '.join(f'{g}: {n:,}' for g, n in self.cohort_sizes.items())}); "
            f"{self.n_periods} periods",
            "  inference       analytic influence-function SEs"
            + (f", clustered ({self.n_clusters:,} clusters)" if self.n_clusters else "")
            + (f"; uniform {level} band from {self.bootstrap:,} multiplier bootstrap draws "
               f"(critical value {self.critical_value:.3f})" if self.bootstrap else ""),
            f"  {'cohort':>8} {'time':>8} {'estimate':>10} {'SE':>9} {'band':>22}",
        ]
        for r in f.itertuples(index=False):
            mark = "" if r.post else "  (pre)"
            lines.append(
                f"  {r.cohort!s:>8} {r.time!s:>8} {number(r.estimate):>10} {number(r.std_error):>9} "
                f"{'[' + number(r.band_low) + ', ' + number(r.band_high) + ']':>22}{mark}"
            )
        lines.extend(f"  note            {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<StaggeredDid {len(self._att_gt)} ATT(g,t) on {self.outcome}, {self.method}, {self.control_group}>"

    def aggregate(
        self,
        type: Literal["simple", "group", "dynamic", "calendar"] = "simple",
        *,
        alpha: float | None = None,
        bootstrap: int | None = None,
        seed: Seed | None = None,
        window: tuple[int, int] | None = None,
    ) -> Effect | EventStudy:
        """Aggregate the ATT(g, t) (Callaway & Sant'Anna 2021, Section 4).

        * ``"simple"``: ``sum_{g, t >= g} w_gt ATT(g, t)`` with ``w_gt``
          proportional to the cohort's size: returns an :class:`Effect`;
        * ``"dynamic"``: ``theta(e) = sum_g 1{g + e <= T} P(G = g | ...) ATT(g, g + e)``
          by event time ``e`` (eq. 3.6-3.7): returns an :class:`EventStudy`
          whose overall effect averages ``theta(e)`` over ``e >= 0``;
        * ``"group"``: ``theta(g)``, the mean of ATT(g, t) over ``t >= g``,
          overall weighted by cohort size (eq. 3.4-3.5);
        * ``"calendar"``: ``theta(t)``, the cohort-size weighted mean of
          ATT(g, t) over cohorts treated by ``t``; overall their mean (eq. 3.8-3.9).

        Standard errors come from the aggregated influence functions, including
        the estimation of the cohort-size weights (the ``wif`` term of the did
        package); bands from a new multiplier bootstrap (``bootstrap`` draws,
        default the result's, ``seed`` default the result's). ``window=(lo, hi)``
        keeps the event times in that range (``"dynamic"`` only).
        """
        kind = check_option(type, ("simple", "group", "dynamic", "calendar"), param="type",
                            func="StaggeredDid.aggregate")
        a = self.alpha if alpha is None else check_alpha(alpha, func="StaggeredDid.aggregate")
        draws = self.bootstrap if bootstrap is None else int(bootstrap)
        rng = check_seed(self._seed if seed is None else seed, func="StaggeredDid.aggregate") if draws else None
        f = self._att_gt
        gi = f["_g"].to_numpy()
        ti = f["_t"].to_numpy()
        est = f["estimate"].to_numpy()
        n = self._inf.shape[0]
        ucoh = self._unit_cohort
        cohorts = np.unique(gi)
        pg = np.array([np.mean(ucoh == g) for g in cohorts])
        pg_of = dict(zip(cohorts.tolist(), pg.tolist(), strict=True))
        ind = {g: (ucoh == g).astype(float) for g in cohorts.tolist()}

        def combine(keep: np.ndarray, weights: np.ndarray, estimated: bool) -> tuple[float, np.ndarray]:
            """Weighted sum of cells ``keep`` and its influence function; with
            ``estimated`` the weights are cohort shares estimated from the data."""
            w = weights / weights.sum()
            theta = float(np.sum(w * est[keep]))
            inf = self._inf[:, keep] @ w
            if estimated:
                S = weights.sum()
                gk = gi[keep]
                dev = np.column_stack([ind[g] - pg_of[g] for g in gk.tolist()])  # n x K
                wif = dev / S - np.outer(dev.sum(axis=1), weights / S**2)
                inf = inf + wif @ est[keep]
            return theta, inf

        post = ti >= gi
        if kind == "simple":
            keep = np.flatnonzero(post)
            if keep.size == 0:
                raise DesignError("StaggeredDid.aggregate: no post-treatment ATT(g, t) to aggregate.")
            theta, inf = combine(keep, np.array([pg_of[g] for g in gi[keep].tolist()]), True)
            se = float(influence_std_error(inf[:, None], self._clusters)[0])
            return Effect(
                estimand="ATT", outcome=self.outcome, treatment="treated", control=self.control_group.replace("_", " "),
                estimate=theta, std_error=se, df=float("inf"), alpha=a, n_obs=n * self.n_periods,
                n_by_arm=self._arms(),
                control_mean=self.comparison_mean, treatment_mean=self.treated_mean,
                se_type="influence function" + (" (clustered)" if self._clusters is not None else ""),
                design="staggered adoption",
                method=f"Callaway & Sant'Anna (2021) simple aggregation, {self.method}",
                covariates=self.covariates, n_clusters=self.n_clusters,
                notes=(f"{int(keep.size)} post-treatment ATT(g, t) weighted by cohort size",),
            )
        rows: list[tuple[Any, float, np.ndarray]] = []
        levels = self._time_levels
        if kind == "dynamic":
            e_all = ti - gi
            for e in np.unique(e_all):
                if window is not None and not window[0] <= e <= window[1]:
                    continue
                keep = np.flatnonzero(e_all == e)
                theta, inf = combine(keep, np.array([pg_of[g] for g in gi[keep].tolist()]), True)
                rows.append((int(e), theta, inf))
            overall_keys = [r[0] for r in rows if r[0] >= 0]
            by = "event_time"
            overall_weights_estimated = False
        elif kind == "group":
            for g in cohorts.tolist():
                keep = np.flatnonzero((gi == g) & post)
                if keep.size == 0:
                    continue
                theta, inf = combine(keep, np.ones(keep.size), False)
                rows.append((levels[g], theta, inf))
            overall_keys = [r[0] for r in rows]
            by = "cohort"
            overall_weights_estimated = True
        else:
            for t in np.unique(ti[post]).tolist():
                keep = np.flatnonzero((ti == t) & post)
                theta, inf = combine(keep, np.array([pg_of[g] for g in gi[keep].tolist()]), True)
                rows.append((levels[t], theta, inf))
            overall_keys = [r[0] for r in rows]
            by = "time"
            overall_weights_estimated = False
        keys = [r[0] for r in rows]
        thetas = np.array([r[1] for r in rows])
        infs = np.column_stack([r[2] for r in rows])
        sel = np.array([k in overall_keys for k in keys])
        if not sel.any():
            raise DesignError("StaggeredDid.aggregate: no post-treatment effects to aggregate.")
        if overall_weights_estimated:
            # group: overall = sum_g theta(g) P(G = g | G treated)
            gsel = [int(np.flatnonzero(levels == k)[0]) for k in np.asarray(keys)[sel]]
            wts = np.array([pg_of[g] for g in gsel])
            S = wts.sum()
            overall = float(np.sum(wts / S * thetas[sel]))
            dev = np.column_stack([ind[g] - pg_of[g] for g in gsel])
            wif = dev / S - np.outer(dev.sum(axis=1), wts / S**2)
            overall_inf = infs[:, sel] @ (wts / S) + wif @ thetas[sel]
        else:
            overall = float(np.mean(thetas[sel]))
            overall_inf = infs[:, sel].mean(axis=1)
        overall_se = float(influence_std_error(overall_inf[:, None], self._clusters)[0])
        ses = influence_std_error(infs, self._clusters)
        crit = float(stats.norm.ppf(1 - a / 2))
        if draws and rng is not None:
            _, crit = multiplier_bootstrap(infs, draws=draws, rng=rng, clusters=self._clusters, alpha=a)
        pre = np.array([k < 0 for k in keys]) if kind == "dynamic" else np.zeros(len(keys), bool)
        return build_event_study(
            by=by, keys=keys, estimates=thetas, std_errors=ses, vcov=influence_vcov(infs, self._clusters),
            pre=pre, critical_value=crit, alpha=a, overall=overall, overall_se=overall_se,
            outcome=self.outcome, estimator=f"callaway_santanna ({self.method}, {self.control_group.replace('_', '-')})",
            se_type="influence function" + (" (clustered)" if self._clusters is not None else ""),
            bootstrap=draws,
            ref=-1 - self.anticipation if kind == "dynamic" and self.base_period == "universal" else None,
            n_obs=n * self.n_periods, n_clusters=self.n_clusters, n_units=n,
            df=float("inf"), means=(self.comparison_mean, self.treated_mean), n_by_arm=self._arms(),
        )

    def _arms(self) -> dict[str, int]:
        """Units used as comparisons in at least one ATT(g, t), and treated units."""
        return {self.control_group.replace("_", " "): self.n_comparison_units,
                "treated": int(np.sum(self._unit_cohort >= 0))}


# ---------------------------------------------------------------- the estimator


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
    cluster: Hashable | None = None,
    bootstrap: int = 1000,
    seed: Seed | None = None,
    alpha: float = 0.05,
) -> StaggeredDid:
    """Callaway & Sant'Anna (2021) group-time average treatment effects.

    Parameters
    ----------
    data
        A balanced panel: one row per unit and period.
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
    cluster
        Column of clusters that units are nested in (e.g. region): SEs and
        bootstrap draws by cluster. Default: units.
    bootstrap
        Multiplier bootstrap draws for the uniform bands (0: pointwise only).
    seed
        An int or ``numpy.random.Generator``; required when ``bootstrap > 0``.
    alpha
        Significance level of intervals and bands.

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
    prep = prepare_cohorts(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covs, cluster=cluster, func=func)
    Y, Xs, g, tlev, cl = prep["Y"], prep["X"], prep["g"], prep["times"], prep["clusters"]
    N, T = Y.shape
    notes: list[str] = []
    early = (g >= 0) & (g - anticipation <= 0)
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
    if not (g >= 0).any():
        raise DesignError(f"{func}: no unit is ever treated (column {cohort!r} is 0 or missing throughout).")
    if control_group == "never_treated" and not (g < 0).any():
        raise DesignError(
            f"{func}: control_group='never_treated' but no unit is never treated (every unit has a "
            f"cohort in {cohort!r}). Fix: use control_group='not_yet_treated', which compares each "
            "cohort with units treated later."
        )
    cohorts = np.unique(g[g >= 0])
    rows: list[dict[str, Any]] = []
    infs: list[np.ndarray] = []
    skipped = 0
    used_as_control = np.zeros(N, dtype=bool)
    for gg in cohorts.tolist():
        ref = gg - 1 - anticipation
        treated = g == gg
        for t in range(T):
            if base_period == "varying":
                b = ref if t >= gg - anticipation else t - 1
                if b < 0:
                    continue
            else:
                b = ref
                if t == b:
                    continue
            if control_group == "never_treated":
                control = g < 0
            else:
                control = (g < 0) | ((g > max(t, b) + anticipation) & (g != gg))
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
            rows.append({"_g": gg, "_t": t, "cohort": tlev[gg], "time": tlev[t], "event_time": t - gg,
                         "base_period": tlev[b], "estimate": att, "n_treated": n_t, "n_control": n_c,
                         "post": bool(t >= gg)})
    if skipped:
        notes.append(f"{skipped} ATT(g, t) without comparison units left out")
    if not rows:
        raise DesignError(f"{func}: no ATT(g, t) could be estimated (no comparison units).")
    inf_mat = np.column_stack(infs)
    se = influence_std_error(inf_mat, cl)
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
    return StaggeredDid(
        _att_gt=f, outcome=str(outcome), method=method, control_group=control_group,
        base_period=base_period, anticipation=int(anticipation), alpha=alpha, n_units=N,
        n_periods=T, n_clusters=None if cl is None else int(cl.max()) + 1, bootstrap=int(bootstrap),
        critical_value=crit, covariates=tuple(map(str, covs)), cohort_sizes=sizes,
        treated_mean=treated_mean, comparison_mean=comparison_mean,
        n_comparison_units=int(used_as_control.sum()), notes=tuple(notes),
        _inf=inf_mat, _unit_cohort=g, _clusters=cl, _time_levels=tlev,
        _seed=None if rng is None else rng,
    )
