"""Results of synthetic comparisons: synthetic control (Abadie, Diamond & Hainmueller
2010) and synthetic difference-in-differences (Arkhangelsky et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.contract import ResultMixin, interval_frame
from dwp_eval._core.format import number
from dwp_eval._validation import check_alpha
from dwp_eval.results.palette import BLUE, GREY, VERMILLION, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SYNTHETIC_COLUMNS", "SyntheticEstimate"]

SYNTHETIC_COLUMNS = ["term", "estimator", "estimate", "std_error", "se_method", "conf_low", "conf_high",
                     "p_value", "n_treated", "n_donors", "n_pre", "n_post"]

_NAMES = {"sdid": "synthetic DiD", "sc": "synthetic control", "did": "DiD"}


@dataclass(frozen=True, eq=False, repr=False)
class SyntheticEstimate(ResultMixin):
    """A synthetic control or synthetic DiD estimate of the average effect on the
    treated units over the post-periods, with its donor (unit) weights ``omega`` and
    pre-period (time) weights ``lam`` (zero for synthetic control), the plain DiD
    estimate on the same panel (``did_estimate``), and the placebo draws behind the
    standard error or permutation p-value.

    ``std_error`` is from ``se_method`` (``"placebo"``, ``"jackknife"``,
    ``"bootstrap"``: Arkhangelsky et al. 2021, Algorithms 2-4) and the interval is
    ``estimate +/- z_{1-alpha/2} SE`` as in that paper. For synthetic control
    ``p_value`` is the in-space placebo permutation p-value on the ratio of post- to
    pre-period RMSPE (Abadie, Diamond & Hainmueller 2010, Section 3.2.2).
    """

    estimator: str  # "sdid" or "sc"
    outcome: str
    estimate: float
    std_error: float
    se_method: str
    alpha: float
    p_value: float
    did_estimate: float
    donors: tuple[Any, ...]
    treated: tuple[Any, ...]
    pre_times: tuple[Any, ...]
    post_times: tuple[Any, ...]
    omega: np.ndarray
    lam: np.ndarray
    treated_path: np.ndarray
    synthetic_path: np.ndarray
    placebo_estimates: np.ndarray
    zeta_omega: float
    noise_level: float
    replications: int
    seed: int | None = None

    @property
    def unit_weights(self) -> pd.Series:
        """Donor weights omega (a new Series indexed by donor)."""
        return pd.Series(np.array(self.omega), index=list(self.donors), name="omega")

    @property
    def time_weights(self) -> pd.Series:
        """Pre-period weights lambda (a new Series indexed by period)."""
        return pd.Series(np.array(self.lam), index=list(self.pre_times), name="lambda")

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        a = self.alpha if alpha is None else check_alpha(alpha, func="SyntheticEstimate.conf_int")
        q = float(stats.norm.ppf(1 - a / 2))
        return self.estimate - q * self.std_error, self.estimate + q * self.std_error

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        lo, hi = self.interval(alpha)
        return interval_frame(["att"], [lo], [hi])

    def to_frame(self) -> pd.DataFrame:
        lo, hi = self.interval()
        return pd.DataFrame([{
            "term": "att", "estimator": self.estimator, "estimate": self.estimate,
            "std_error": self.std_error, "se_method": self.se_method, "conf_low": lo, "conf_high": hi,
            "p_value": self.p_value, "n_treated": len(self.treated), "n_donors": len(self.donors),
            "n_pre": len(self.pre_times), "n_post": len(self.post_times)}], columns=SYNTHETIC_COLUMNS)

    def summary(self) -> str:
        lo, hi = self.interval()
        name = _NAMES[self.estimator]
        src = ("Arkhangelsky et al. 2021" if self.estimator == "sdid"
               else "Abadie, Diamond & Hainmueller 2010")
        top = np.argsort(-np.asarray(self.omega))[:5]
        lines = [
            f"Average effect on the treated, {name}, on {self.outcome} ({src})",
            f"  estimate        {number(self.estimate)}  SE {number(self.std_error)} ({self.se_method})  "
            f"{100 * (1 - self.alpha):g}% CI [{number(lo)}, {number(hi)}]",
            f"  plain DiD       {number(self.did_estimate)}",
            f"  panel           {len(self.treated)} treated, {len(self.donors)} donors; "
            f"{len(self.pre_times)} pre- and {len(self.post_times)} post-periods",
            "  top donors      " + ", ".join(f"{self.donors[i]} {self.omega[i]:.3f}" for i in top),
        ]
        if not np.isnan(self.p_value):
            lines.append(f"  placebo p       {self.p_value:.3f} (in-space placebos, post/pre RMSPE ratio)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<SyntheticEstimate {self.estimator} {number(self.estimate)} on {self.outcome}>"

    # ---------------------------------------------------------------- plots

    def plot(self, ax: Axes | None = None) -> Axes:
        """The treated units' mean path and the synthetic (weighted donor) path."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        times = list(self.pre_times) + list(self.post_times)
        x = np.arange(len(times))
        ax.plot(x, self.treated_path, color=BLUE, marker="o", ms=3, label="treated")
        ax.plot(x, self.synthetic_path, color=VERMILLION, marker="s", ms=3, ls="--", label=f"synthetic ({_NAMES[self.estimator]})")
        ax.axvline(len(self.pre_times) - 0.5, color=GREY, lw=0.8)
        step = max(1, len(times) // 8)
        ax.set_xticks(x[::step], [str(t) for t in times[::step]])
        ax.set_ylabel(self.outcome)
        ax.legend(loc="best")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        gap = np.mean(np.asarray(self.treated_path)[len(self.pre_times):]
                      - np.asarray(self.synthetic_path)[len(self.pre_times):])
        return (f"{self.outcome} over time for the treated unit(s) (solid) and their "
                f"{_NAMES[self.estimator]} comparison (dashed); treatment starts after "
                f"{self.pre_times[-1]}; the mean post-period gap is {number(float(gap))}.")

    def plot_weights(self, ax: Axes | None = None) -> Axes:
        """The donor weights omega, largest first (non-zero ones only)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        w = self.unit_weights.sort_values(ascending=True)
        w = w[w > 0]
        ax.barh([str(i) for i in w.index], w.to_numpy(), color=BLUE)
        ax.set_xlabel("donor weight")
        text = (f"Horizontal bars of the {len(w)} donors with non-zero weight in the "
                f"{_NAMES[self.estimator]}; the largest is {w.index[-1]} ({w.iloc[-1]:.3f}).")
        set_alt_text(ax, text)
        return ax

    def plot_placebos(self, ax: Axes | None = None) -> Axes:
        """Histogram of the placebo estimates with the estimate marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        draws = np.asarray(self.placebo_estimates)
        ax.hist(draws, bins=min(30, max(5, draws.size // 5)), color=GREY)
        ax.axvline(self.estimate, color=VERMILLION, lw=1.5, label="estimate")
        ax.set_xlabel("placebo estimate")
        ax.legend(loc="best")
        set_alt_text(ax, f"Histogram of {draws.size} placebo estimates with the estimate "
                         f"{number(self.estimate)} marked by a vertical line.")
        return ax
