"""The result of :func:`~dwp_eval.survival_effect`: Kaplan-Meier curves by arm, the
restricted mean survival time (RMST) in each arm and their difference, the Cox
hazard ratio and the log-rank test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.contract import ArmCounts, ResultMixin, interval_frame
from dwp_eval._validation import check_alpha, check_option
from dwp_eval.results.palette import SERIES, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CURVE_COLUMNS", "SURVIVAL_COLUMNS", "SurvivalEffect"]

#: Columns of :meth:`SurvivalEffect.to_frame`.
SURVIVAL_COLUMNS = [
    "term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "df",
    "n_obs", "se_type", "design",
]

#: Columns of :meth:`SurvivalEffect.curves`.
CURVE_COLUMNS = [
    "arm", "time", "n_risk", "n_event", "n_censor", "survival", "std_error", "conf_low",
    "conf_high", "band_low", "band_high",
]

_TERMS = ("rmst_control", "rmst_treatment", "rmst_difference", "hazard_ratio", "log_rank")


@dataclass(frozen=True, eq=False, repr=False)
class SurvivalEffect(ArmCounts, ResultMixin):
    """Effect of assignment on a time to event (right-censored), three ways.

    * ``rmst`` / ``rmst_std_error``: the restricted mean survival time to ``horizon``
      (days) by arm (``{control: ..., treatment: ...}``); ``rmst_difference`` (treatment
      minus control) and its SE ``rmst_difference_se``; intervals use the normal
      quantile, or Student's t with ``rmst_df`` degrees of freedom when clustered.
    * ``log_hazard_ratio`` / ``log_hazard_ratio_se``: the Cox coefficient of assignment
      and its robust (cluster-robust with clusters) SE; the hazard ratio is
      ``exp(log_hazard_ratio)`` with the interval ``exp(b +/- z se)``.
    * ``log_rank_statistic`` (chi-squared, 1 df) and ``log_rank_p``.

    In :meth:`to_frame` the ``hazard_ratio`` row's ``estimate``, ``conf_low`` and
    ``conf_high`` are on the hazard-ratio scale, its ``std_error`` is that of the
    log hazard ratio and ``statistic`` is ``b / se``; the ``log_rank`` row has the
    chi-squared statistic and p-value only.
    """

    duration: str
    event: str
    treatment: str
    control: str
    horizon: float
    alpha: float
    rmst: Mapping[str, float]
    rmst_std_error: Mapping[str, float]
    rmst_difference: float
    rmst_difference_se: float
    rmst_df: float | None
    log_hazard_ratio: float
    log_hazard_ratio_se: float
    log_hazard_ratio_naive_se: float
    log_rank_statistic: float
    log_rank_p: float
    curve_table: pd.DataFrame
    n_obs: int
    n_by_arm: Mapping[str, int]
    events_by_arm: Mapping[str, int]
    rmst_se_type: str
    cox_se_type: str
    design: str
    covariates: tuple[str, ...] = ()
    n_clusters: Mapping[str, int] = field(default_factory=dict)
    n_strata: int | None = None
    cox_coefficients: Mapping[str, float] = field(default_factory=dict)
    dropped: Mapping[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ tables
    @property
    def hazard_ratio(self) -> float:
        """``exp`` of the Cox coefficient of assignment."""
        return float(np.exp(self.log_hazard_ratio))

    def _rmst_q(self, alpha: float) -> float:
        if self.rmst_df is None:
            return float(stats.norm.ppf(1 - alpha / 2))
        return float(stats.t.ppf(1 - alpha / 2, self.rmst_df))

    def _rows(self, alpha: float) -> list[dict[str, Any]]:
        q = self._rmst_q(alpha)
        df = np.nan if self.rmst_df is None else float(self.rmst_df)
        rows = []
        for term, arm in (("rmst_control", self.control), ("rmst_treatment", self.treatment)):
            est, se = float(self.rmst[arm]), float(self.rmst_std_error[arm])
            rows.append({"term": term, "estimate": est, "std_error": se, "statistic": np.nan,
                         "p_value": np.nan, "conf_low": est - q * se, "conf_high": est + q * se,
                         "df": df, "n_obs": int(self.n_by_arm[arm]), "se_type": self.rmst_se_type,
                         "design": self.design})
        est, se = self.rmst_difference, self.rmst_difference_se
        stat = est / se if se > 0 else np.nan
        p = (2 * stats.norm.sf(abs(stat)) if self.rmst_df is None
             else 2 * stats.t.sf(abs(stat), self.rmst_df))
        rows.append({"term": "rmst_difference", "estimate": est, "std_error": se,
                     "statistic": stat, "p_value": float(p), "conf_low": est - q * se,
                     "conf_high": est + q * se, "df": df, "n_obs": self.n_obs,
                     "se_type": self.rmst_se_type, "design": self.design})
        z = float(stats.norm.ppf(1 - alpha / 2))
        b, s = self.log_hazard_ratio, self.log_hazard_ratio_se
        rows.append({"term": "hazard_ratio", "estimate": float(np.exp(b)), "std_error": s,
                     "statistic": b / s, "p_value": float(2 * stats.norm.sf(abs(b / s))),
                     "conf_low": float(np.exp(b - z * s)), "conf_high": float(np.exp(b + z * s)),
                     "df": np.nan, "n_obs": self.n_obs, "se_type": self.cox_se_type,
                     "design": self.design})
        rows.append({"term": "log_rank", "estimate": np.nan, "std_error": np.nan,
                     "statistic": self.log_rank_statistic, "p_value": self.log_rank_p,
                     "conf_low": np.nan, "conf_high": np.nan, "df": 1.0, "n_obs": self.n_obs,
                     "se_type": "log-rank" + (" (stratified)" if self.n_strata else ""),
                     "design": self.design})
        return rows

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows(self.alpha), columns=SURVIVAL_COLUMNS)

    def curves(self) -> pd.DataFrame:
        """The Kaplan-Meier curves by arm, one row per distinct time in each arm (a copy):
        ``arm, time, n_risk, n_event, n_censor, survival, std_error`` (Greenwood),
        ``conf_low, conf_high`` (pointwise, log-log, as R's ``conf.type = "log-log"``) and
        ``band_low, band_high`` (Hall-Wellner simultaneous band), at the result's alpha.
        With strata the curves pool the strata (they describe; the RMST is stratified);
        the intervals and band treat people as independent (Greenwood), also with clusters."""
        return self.curve_table.copy()

    def interval(self, alpha: float | None = None, *, term: str = "rmst_difference") -> tuple[float, float]:
        """``(low, high)`` of ``term`` (default the RMST difference)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="SurvivalEffect.interval")
        t = check_option(term, _TERMS[:4], param="term", func="SurvivalEffect.interval")
        r = next(r for r in self._rows(a) if r["term"] == t)
        return float(r["conf_low"]), float(r["conf_high"])

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The ``1 - alpha`` intervals of the RMSTs, their difference and the hazard ratio."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="SurvivalEffect.conf_int")
        rows = [r for r in self._rows(a) if r["term"] != "log_rank"]
        return interval_frame([r["term"] for r in rows], [r["conf_low"] for r in rows],
                              [r["conf_high"] for r in rows])

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        ev = self.events_by_arm
        lines = [
            f"Effect of {self.treatment} vs {self.control} on time to {self.event} "
            f"({self.duration}, days)",
            f"  design          {self.design}",
            f"  n               {self.n_obs:,} ({self.control}: {self.n_control:,}, "
            f"{ev[self.control]:,} events; {self.treatment}: {self.n_treatment:,}, "
            f"{ev[self.treatment]:,} events)",
            f"  horizon         {self.horizon:g} days",
            f"  {'term':<16} {'estimate':>10} {'SE':>9} {'p':>8}  {level} CI",
        ]
        for r in self.to_frame().itertuples(index=False):
            if r.term == "log_rank":
                lines.append(f"  {'log_rank':<16} {'chi2 ' + format(r.statistic, '.3f'):>10} "
                             f"{'':>9} {r.p_value:>8.4f}")
                continue
            p = "" if np.isnan(r.p_value) else f"{r.p_value:.4f}"
            lines.append(f"  {r.term:<16} {r.estimate:>10.4f} {r.std_error:>9.4f} {p:>8}  "
                         f"[{r.conf_low:.4f}, {r.conf_high:.4f}]")
        lines.append(f"  RMST SE: {self.rmst_se_type}; Cox SE: {self.cox_se_type}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ plot
    def plot(self, ax: Axes | None = None, *, band: bool = True) -> Axes:
        """Kaplan-Meier curves by arm (steps) with the simultaneous band shaded
        (``band=False``: the pointwise interval), a dotted line at the horizon."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.0))
        tab = self.curve_table.copy()
        lo, hi = ("band_low", "band_high") if band else ("conf_low", "conf_high")
        for k, arm in enumerate((self.control, self.treatment)):
            part = tab[tab["arm"] == arm]
            t = np.concatenate([[0.0], part["time"].to_numpy()])
            colour = SERIES[k]
            ax.step(t, np.concatenate([[1.0], part["survival"].to_numpy()]), where="post",
                    color=colour, label=arm, linestyle="-" if k == 0 else "--")
            ax.fill_between(t, np.concatenate([[1.0], part[lo].to_numpy()]),
                            np.concatenate([[1.0], part[hi].to_numpy()]), step="post",
                            color=colour, alpha=0.2, linewidth=0)
        ax.axvline(self.horizon, color="#7f7f7f", linestyle=":", linewidth=1)
        ax.set_xlabel("days since randomisation")
        ax.set_ylabel(f"proportion without {self.event}")
        ax.set_ylim(0, 1.02)
        ax.legend(frameon=False)
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """One sentence describing :meth:`plot` for a screen reader."""
        c, t = self.control, self.treatment
        return (f"Kaplan-Meier curves of the proportion without {self.event} by days since "
                f"randomisation for {c} and {t}; at {self.horizon:g} days the restricted mean "
                f"time is {self.rmst[c]:.1f} days in {c} and {self.rmst[t]:.1f} in {t}, a "
                f"difference of {self.rmst_difference:.1f} days.")
