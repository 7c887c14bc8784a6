"""Quantile treatment effects (:func:`dwp_eval.quantile_effects`): the difference of
the arms' quantiles at several levels, with bootstrap intervals, the share with a
zero outcome by arm, and the distribution plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ArmCounts, ResultMixin, interval_frame
from dwp_eval._core.format import number
from dwp_eval._validation import check_alpha
from dwp_eval.results.palette import BLUE, GREY, VERMILLION, band_plot, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["QUANTILE_COLUMNS", "QuantileEffects"]

#: Columns of :meth:`QuantileEffects.to_frame`: one row per quantile level.
QUANTILE_COLUMNS = ["quantile", "term", "estimate", "std_error", "p_value", "conf_low",
                    "conf_high", "control_quantile", "treatment_quantile", "zero_mass",
                    "alpha", "draws", "n_control", "n_treatment", "design"]


@dataclass(frozen=True, eq=False, repr=False)
class QuantileEffects(ArmCounts, ResultMixin):
    """Quantile treatment effects ``Q_T(tau) - Q_C(tau)`` with percentile bootstrap
    intervals, and the share of each arm with a zero outcome.

    Attributes
    ----------
    quantiles
        The levels ``tau`` (sorted).
    estimates
        Internal: the control quantiles, treatment quantiles, their differences (one
        block of ``len(quantiles)`` each), then the control and treatment zero
        shares and their difference; ``draws_matrix`` holds the same for every
        bootstrap draw (one row each).
    cdf_control, cdf_treatment
        Each arm's distinct outcome values (row 0) and empirical CDF there (row 1).

    ``zero_mass`` in :meth:`to_frame` says where ``tau`` falls: ``"both"`` (both
    arms' quantiles are exactly zero, so the effect is exactly 0), ``"control"``
    or ``"treatment"`` (inside that arm's zero mass only: the effect is the other
    arm's quantile) or ``"none"``.
    """

    outcome: str
    treatment: str
    control: str
    quantiles: tuple[float, ...]
    estimates: np.ndarray
    draws_matrix: np.ndarray
    alpha: float
    n_by_arm: Mapping[str, int]
    draws: int
    method: str
    design: str
    n_clusters: int | None
    n_strata: int | None
    cdf_control: np.ndarray
    cdf_treatment: np.ndarray
    dropped: Mapping[str, int]

    # ------------------------------------------------------------------ numbers

    @property
    def _q(self) -> int:
        return len(self.quantiles)

    @property
    def effects(self) -> np.ndarray:
        """The quantile treatment effects, one per level (a read-only copy)."""
        out = np.array(self.estimates[2 * self._q: 3 * self._q])
        out.setflags(write=False)
        return out

    @property
    def zero_share_control(self) -> float:
        """Share of the control arm with a zero outcome."""
        return float(self.estimates[3 * self._q])

    @property
    def zero_share_treatment(self) -> float:
        """Share of the treatment arm with a zero outcome."""
        return float(self.estimates[3 * self._q + 1])

    @property
    def zero_share_difference(self) -> float:
        """``zero_share_treatment - zero_share_control`` (negative: fewer with no earnings)."""
        return float(self.estimates[3 * self._q + 2])

    def zero_share_interval(self, alpha: float | None = None) -> tuple[float, float]:
        """Percentile bootstrap interval of :attr:`zero_share_difference`."""
        lo, hi = self._percentiles(3 * self._q + 2, alpha)
        return float(lo[0]), float(hi[0])

    def _percentiles(self, cols: int | slice, alpha: float | None) -> tuple[np.ndarray, np.ndarray]:
        a = self.alpha if alpha is None else check_alpha(alpha, func="QuantileEffects.conf_int")
        b = np.atleast_2d(self.draws_matrix[:, cols].T).T
        lo, hi = np.quantile(b, [a / 2, 1 - a / 2], axis=0)
        return np.atleast_1d(lo), np.atleast_1d(hi)

    def _zero_mass(self) -> list[str]:
        q = self._q
        qc, qt = self.estimates[:q], self.estimates[q: 2 * q]
        out = []
        for c, t in zip(qc, qt, strict=True):
            out.append("both" if c == 0 and t == 0 else "control" if c == 0 else
                       "treatment" if t == 0 else "none")
        return out

    def _terms(self) -> list[str]:
        return [f"tau = {t:g}" for t in self.quantiles]

    # ------------------------------------------------------------------ contract

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The ``1 - alpha`` percentile intervals of the effects (``term``: ``tau = ...``)."""
        q = self._q
        lo, hi = self._percentiles(slice(2 * q, 3 * q), alpha)
        return interval_frame(self._terms(), lo, hi)

    def to_frame(self) -> pd.DataFrame:
        q = self._q
        boot = self.draws_matrix[:, 2 * q: 3 * q]
        est = self.effects
        below = np.sum(boot <= 0.0, axis=0)
        above = np.sum(boot >= 0.0, axis=0)
        p = np.minimum(1.0, 2.0 * (1.0 + np.minimum(below, above)) / (len(boot) + 1.0))
        lo, hi = self._percentiles(slice(2 * q, 3 * q), None)
        return pd.DataFrame({
            "quantile": np.asarray(self.quantiles, dtype=float),
            "term": self._terms(),
            "estimate": est,
            "std_error": boot.std(axis=0, ddof=1),
            "p_value": p,
            "conf_low": lo,
            "conf_high": hi,
            "control_quantile": self.estimates[:q],
            "treatment_quantile": self.estimates[q: 2 * q],
            "zero_mass": self._zero_mass(),
            "alpha": self.alpha,
            "draws": self.draws,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "design": self.design,
        }, columns=QUANTILE_COLUMNS)

    def summary(self) -> str:
        f = self.to_frame()
        level = f"{100 * (1 - self.alpha):g}%"
        lo, hi = self.zero_share_interval()
        lines = [
            f"Quantile treatment effects of {self.treatment} vs {self.control} on {self.outcome}",
            f"  n               {self.n_control + self.n_treatment:,} ({self.control} "
            f"{self.n_control:,}, {self.treatment} {self.n_treatment:,}); design {self.design}",
            f"  method          {self.method}",
            f"  zero outcome    {self.control} {100 * self.zero_share_control:.1f}%, "
            f"{self.treatment} {100 * self.zero_share_treatment:.1f}%; difference "
            f"{100 * self.zero_share_difference:.2f} pp [{100 * lo:.2f}, {100 * hi:.2f}]",
        ]
        if self.n_clusters is not None:
            lines.append(f"  clusters        {self.n_clusters:,} (whole clusters resampled)")
        if self.n_strata is not None:
            lines.append(f"  strata          {self.n_strata:,}")
        for col, n in self.dropped.items():
            lines.append(f"  dropped         {n:,} row(s) with missing {col}")
        lines.append(f"  {'tau':>6}  {'control':>10}  {'treatment':>10}  {'effect':>10}  "
                     f"{level + ' CI':>26}  zero mass")
        for r in f.itertuples(index=False):
            ci = f"[{number(r.conf_low)}, {number(r.conf_high)}]"
            lines.append(f"  {r.quantile:>6g}  {number(r.control_quantile):>10}  "
                         f"{number(r.treatment_quantile):>10}  {number(r.estimate):>10}  {ci:>26}  "
                         f"{'' if r.zero_mass == 'none' else r.zero_mass}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<QuantileEffects {self.outcome}: {self._q} quantiles, {self.draws:,} bootstrap "
                f"draws, zero share {self.zero_share_control:.3f} vs {self.zero_share_treatment:.3f}>")

    # ------------------------------------------------------------------ plot

    def plot(self, axes: Sequence[Axes] | None = None, **kwargs: Any) -> tuple[Axes, Axes]:
        """Two panels: the quantile-effect profile over its interval band with the zero
        line (left), and the two arms' empirical CDFs (right, step functions; the
        zero-mass shares are the CDFs' heights at zero). Returns the two axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, made = plt.subplots(1, 2, figsize=(10, 4))
            left, right = made[0], made[1]
        else:
            left, right = axes[0], axes[1]
        f = self.to_frame()
        band_plot(left, f["quantile"], f, scale=1.0, alpha=self.alpha, label="quantile effect",
                  **kwargs)
        inside = min(self.zero_share_control, self.zero_share_treatment)
        if inside > 0:  # tau <= both zero shares: both quantiles are exactly zero
            left.axvspan(0.0, inside, color=GREY, alpha=0.15, label="inside both arms' zero mass")
        left.set_xlim(0.0, 1.0)
        left.set_xlabel("quantile (tau)")
        left.set_ylabel(f"effect on {self.outcome}")
        left.legend(loc="best")
        for cdf, name, colour, ls in ((self.cdf_control, self.control, VERMILLION, "--"),
                                      (self.cdf_treatment, self.treatment, BLUE, "-")):
            right.step(cdf[0], cdf[1], where="post", color=colour, ls=ls, label=name)
        right.set_xlabel(self.outcome)
        right.set_ylabel("share at or below")
        right.set_ylim(0.0, 1.0)
        right.legend(loc="lower right")
        set_alt_text(left, self.alt_text())
        return left, right

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        f = self.to_frame()
        top = f.loc[f["estimate"].abs().idxmax()]
        return (f"Quantile treatment effects of {self.treatment} vs {self.control} on "
                f"{self.outcome} at {len(f)} quantiles from {f['quantile'].min():g} to "
                f"{f['quantile'].max():g}, with {100 * (1 - self.alpha):g}% bootstrap intervals as "
                f"a band and a zero line; the largest is {number(top['estimate'])} at tau = "
                f"{top['quantile']:g}. Beside it, the two arms' cumulative distributions: "
                f"{100 * self.zero_share_control:.1f}% of {self.control} and "
                f"{100 * self.zero_share_treatment:.1f}% of {self.treatment} have a zero outcome.")
