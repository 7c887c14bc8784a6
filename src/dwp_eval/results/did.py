"""Difference-in-differences results: staggered adoption (Callaway & Sant'Anna
group-time effects and their aggregations) and the Goodman-Bacon decomposition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.contract import ResultMixin
from dwp_eval._core.format import number
from dwp_eval._core.influence import influence_std_error, influence_vcov, multiplier_bootstrap
from dwp_eval._validation import Seed, check_alpha, check_option, check_seed
from dwp_eval.errors import DesignError
from dwp_eval.results.effect import Effect
from dwp_eval.results.event_study import EventStudy, build_event_study
from dwp_eval.results.palette import GREY, SERIES, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ATT_GT_COLUMNS", "BACON_COLUMNS", "BaconDecomposition", "StaggeredDid"]

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
    #: rows dropped by ``missing="drop"``: per column with missing values, and the
    #: other periods of those units (the panel must stay balanced)
    dropped: Mapping[str, int] = field(default_factory=dict)
    # internals for aggregation
    _inf: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    _unit_cohort: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cohort index, -1 never
    _clusters: np.ndarray | None = None
    _time_levels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _seed: int | None = None
    #: ``"balanced panel"``, ``"repeated cross-sections"`` or ``"unbalanced panel"``
    data_kind: str = "balanced panel"
    #: the survey-weight column, if any
    weights: str | None = None
    # repeated cross-sections / unbalanced panels: the rows of ``_inf`` are areas or people;
    # their summed (normalised) weights, row counts, the n that SEs divide by, and the rows used
    _row_weight: np.ndarray | None = None
    _row_count: np.ndarray | None = None
    _n_total: int | None = None
    _n_obs: int | None = None

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
            (f"  data            {self.data_kind}, {self._n_obs:,} rows"
             + (f", survey weights {self.weights!r}" if self.weights else "") + "\n"
             if self._n_obs is not None else "")
            + f"  units           {self.n_units:,} in {len(self.cohort_sizes)} cohort(s) "
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
        for col, n in self.dropped.items():
            what = col if col.startswith("other periods of those units") else f"missing {col}"
            lines.append(f"  dropped         {n:,} row(s): {what}")
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
        # cohort shares P(G = g) = sum_i w_i 1{G_i = g} / n over the rows of the data (weights
        # w_i; R did's compute.aggte), the rows of _inf holding sums within areas
        rw = np.ones(n) if self._row_weight is None else self._row_weight
        rc = np.ones(n) if self._row_count is None else self._row_count
        n_tot = n if self._n_total is None else self._n_total
        scale = n / n_tot  # influence_std_error / influence_vcov divide by the rows of _inf
        n_obs = n * self.n_periods if self._n_obs is None else self._n_obs
        pg = np.array([np.sum(rw * (ucoh == g)) / n_tot for g in cohorts])
        pg_of = dict(zip(cohorts.tolist(), pg.tolist(), strict=True))
        ind = {g: rw * (ucoh == g) for g in cohorts.tolist()}

        def combine(keep: np.ndarray, weights: np.ndarray, estimated: bool) -> tuple[float, np.ndarray]:
            """Weighted sum of cells ``keep`` and its influence function; with
            ``estimated`` the weights are cohort shares estimated from the data."""
            w = weights / weights.sum()
            theta = float(np.sum(w * est[keep]))
            inf = self._inf[:, keep] @ w
            if estimated:
                S = weights.sum()
                gk = gi[keep]
                dev = np.column_stack([ind[g] - rc * pg_of[g] for g in gk.tolist()])  # n x K
                wif = dev / S - np.outer(dev.sum(axis=1), weights / S**2)
                inf = inf + wif @ est[keep]
            return theta, inf

        post = ti >= gi
        if kind == "simple":
            keep = np.flatnonzero(post)
            if keep.size == 0:
                raise DesignError("StaggeredDid.aggregate: no post-treatment ATT(g, t) to aggregate.")
            theta, inf = combine(keep, np.array([pg_of[g] for g in gi[keep].tolist()]), True)
            se = float(influence_std_error(inf[:, None], self._clusters)[0]) * scale
            return Effect(
                estimand="ATT", outcome=self.outcome, treatment="treated", control=self.control_group.replace("_", " "),
                estimate=theta, std_error=se, df=float("inf"), alpha=a, n_obs=n_obs,
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
            dev = np.column_stack([ind[g] - rc * pg_of[g] for g in gsel])
            wif = dev / S - np.outer(dev.sum(axis=1), wts / S**2)
            overall_inf = infs[:, sel] @ (wts / S) + wif @ thetas[sel]
        else:
            overall = float(np.mean(thetas[sel]))
            overall_inf = infs[:, sel].mean(axis=1)
        overall_se = float(influence_std_error(overall_inf[:, None], self._clusters)[0]) * scale
        ses = influence_std_error(infs, self._clusters) * scale
        crit = float(stats.norm.ppf(1 - a / 2))
        if draws and rng is not None:
            _, crit = multiplier_bootstrap(infs, draws=draws, rng=rng, clusters=self._clusters, alpha=a)
        pre = np.array([k < 0 for k in keys]) if kind == "dynamic" else np.zeros(len(keys), bool)
        return build_event_study(
            by=by, keys=keys, estimates=thetas, std_errors=ses, vcov=influence_vcov(infs, self._clusters) * scale**2,
            pre=pre, critical_value=crit, alpha=a, overall=overall, overall_se=overall_se,
            outcome=self.outcome, estimator=f"callaway_santanna ({self.method}, {self.control_group.replace('_', '-')})",
            se_type="influence function" + (" (clustered)" if self._clusters is not None else ""),
            bootstrap=draws,
            ref=-1 - self.anticipation if kind == "dynamic" and self.base_period == "universal" else None,
            n_obs=n_obs, n_clusters=self.n_clusters, n_units=n,
            df=float("inf"), means=(self.comparison_mean, self.treated_mean), n_by_arm=self._arms(),
        )

    def _arms(self) -> dict[str, int]:
        """Units used as comparisons in at least one ATT(g, t), and treated units."""
        return {self.control_group.replace("_", " "): self.n_comparison_units,
                "treated": int(np.sum(self._unit_cohort >= 0))}


# ---------------------------------------------------------------- the estimator


# ---------------------------------------------------------------- Goodman-Bacon

BACON_COLUMNS = ["comparison", "treated", "control", "estimate", "weight"]


@dataclass(frozen=True, eq=False, repr=False)
class BaconDecomposition(ResultMixin):
    """The TWFE estimate as a weighted average of 2x2 comparisons (Goodman-Bacon 2021).

    ``to_frame()`` has one row per comparison (columns ``comparison``,
    ``treated``, ``control``, ``estimate``, ``weight``); the weights sum to 1
    and ``sum(weight * estimate)`` equals ``twfe_estimate``. Comparisons of
    later-treated cohorts with earlier-treated ones (``"later vs earlier
    treated"``, ``"later vs always treated"``) use already-treated units as
    controls: when effects change over time they bias TWFE, even in sign.
    """

    _table: pd.DataFrame
    twfe_estimate: float
    outcome: str
    n_units: int
    n_periods: int

    def to_frame(self) -> pd.DataFrame:
        return self._table.copy()

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted average estimate of each kind of comparison."""
        f = self._table
        rows = []
        for kind, g in f.groupby("comparison", sort=False):
            w = float(g["weight"].sum())
            rows.append({"comparison": kind, "weight": w,
                         "estimate": float(np.sum(g["weight"] * g["estimate"]) / w) if w > 0 else 0.0,
                         "n_comparisons": len(g)})
        return pd.DataFrame(rows, columns=["comparison", "weight", "estimate", "n_comparisons"])

    def summary(self) -> str:
        lines = [
            f"Goodman-Bacon decomposition of the TWFE estimate on {self.outcome}: "
            f"{number(self.twfe_estimate)}",
            f"  {self.n_units:,} units, {self.n_periods} periods, {len(self._table)} 2x2 comparisons",
            f"  {'comparison':<28} {'weight':>8} {'avg estimate':>13}",
        ]
        for r in self.by_type().itertuples(index=False):
            lines.append(f"  {r.comparison:<28} {r.weight:>8.4f} {number(r.estimate):>13}")
        forbidden = self._table["comparison"].str.startswith("later vs")
        w = float(self._table.loc[forbidden, "weight"].sum())
        if w > 0:
            lines.append(
                f"  {100 * w:.1f}% of the weight is on comparisons with already-treated units as "
                "controls: biased when effects change over time (use staggered_did)."
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<BaconDecomposition {len(self._table)} comparisons, TWFE {number(self.twfe_estimate)}>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Each 2x2 estimate against its weight, by kind of comparison."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        markers = "osD^v<>P"
        groups = self._table.groupby("comparison", sort=False)
        for i, (kind, g) in enumerate(groups):
            ax.scatter(g["weight"], g["estimate"], label=str(kind),
                       **{"color": SERIES[i % len(SERIES)], "marker": markers[i % 8], **kwargs})
        ax.axhline(self.twfe_estimate, color=GREY, lw=0.8, ls="--", label="TWFE estimate")
        ax.set_xlabel("weight")
        ax.set_ylabel("2x2 estimate")
        ax.legend(loc="best")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        kinds = "; ".join(
            f"{kind}: {len(g)} estimate(s) carrying {100 * float(g['weight'].sum()):.1f}% of the weight"
            for kind, g in self._table.groupby("comparison", sort=False))
        return (f"Goodman-Bacon decomposition of the two-way fixed effects estimate on "
                f"{self.outcome} ({number(self.twfe_estimate)}, dashed line): each 2x2 estimate "
                f"against its weight, by kind of comparison ({kinds}).")
