"""The delta-adjusted (tipping-point) sensitivity analysis of multiply imputed
outcomes (:func:`dwp_eval.tipping_point`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin, interval_frame
from dwp_eval._core.format import number
from dwp_eval._validation import check_alpha
from dwp_eval.errors import OptionError
from dwp_eval.results.palette import VERMILLION, band_plot, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TIPPING_COLUMNS", "TippingPoint"]

#: Columns of :meth:`TippingPoint.to_frame`: one row per delta.
TIPPING_COLUMNS = ["delta", "estimate", "std_error", "statistic", "p_value", "conf_low",
                   "conf_high", "df", "fmi", "significant", "tipping"]


@dataclass(frozen=True, eq=False, repr=False)
class TippingPoint(ResultMixin):
    """The pooled effect when the imputed values of ``column`` in ``arm`` are shifted
    by ``delta``, over a grid of deltas, and the delta at which the conclusion at
    level ``alpha`` changes.

    Attributes
    ----------
    tipping_delta
        The shift nearest zero at which the conclusion changes (the p-value crosses
        ``alpha``), found by root-finding between the grid points that bracket the
        change; NaN when no delta on the grid changes it.
    tipping_deltas
        Every such shift found (on either side of zero).
    significant_at_zero
        The conclusion of the analysis without shift (missing at random).
    scale
        ``"outcome"``: delta is in the outcome's units; ``"log-odds"``: added to the
        log-odds of the logistic imputation model.
    """

    _frame: pd.DataFrame
    estimand: str
    outcome: str
    column: str
    arm: str
    treatment: str
    control: str
    alpha: float
    m: int
    method: str
    scale: str
    tipping_delta: float
    tipping_deltas: tuple[float, ...]
    significant_at_zero: bool
    binary_outcome: bool = False

    def to_frame(self) -> pd.DataFrame:
        return self._frame.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The pooled intervals at every delta (``term`` is ``delta = ...``), at the
        result's own level (another level needs a new analysis)."""
        if alpha is not None and check_alpha(alpha, func="TippingPoint.conf_int") != self.alpha:
            raise OptionError(f"TippingPoint.conf_int: this analysis is at alpha = {self.alpha:g}; "
                              "another level needs a new one. Fix: tipping_point(..., alpha=...).")
        f = self._frame
        return interval_frame([f"delta = {d:.6g}" for d in f["delta"]], f["conf_low"],
                              f["conf_high"])

    def _fmt(self, v: float) -> str:
        return f"{100 * v:.2f} pp" if self.binary_outcome else number(v)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        unit = "" if self.scale == "outcome" else " (log-odds)"
        lines = [
            f"Tipping point: {self.estimand} of {self.treatment} vs {self.control} on "
            f"{self.outcome}, imputed {self.column} in {self.arm} shifted by delta{unit}",
            f"  m = {self.m} imputations ({self.method}); without shift the effect is "
            f"{'' if self.significant_at_zero else 'not '}significant at alpha = {self.alpha:g}",
        ]
        if math.isnan(self.tipping_delta):
            lines.append("  no delta on the grid changes the conclusion")
        else:
            lines.append(f"  tipping point   delta = {number(self.tipping_delta)}{unit}"
                         + (f" (also {', '.join(number(d) for d in self.tipping_deltas if d != self.tipping_delta)})"
                            if len(self.tipping_deltas) > 1 else ""))
        lines.append(f"  {'delta':>10}  {'estimate':>12}  {level + ' CI':>28}  {'p':>8}")
        for r in self._frame.itertuples(index=False):
            ci = f"[{self._fmt(r.conf_low)}, {self._fmt(r.conf_high)}]"
            mark = "  <- tipping point" if r.tipping else ""
            lines.append(f"  {number(r.delta):>10}  {self._fmt(r.estimate):>12}  {ci:>28}  "
                         f"{r.p_value:>8.4f}{mark}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<TippingPoint {self.outcome}: {len(self._frame)} deltas, tipping at "
                f"{self.tipping_delta:.4g}>")

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The pooled effect against delta with its interval as a band, zero, and the
        tipping point as a vertical line."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        f = self._frame
        scale = 100.0 if self.binary_outcome else 1.0
        band_plot(ax, f["delta"], f, scale=scale, alpha=self.alpha, label=self.estimand,
                  **kwargs)
        for d in self.tipping_deltas:
            ax.axvline(d, color=VERMILLION, ls="--", lw=1,
                       label="tipping point" if d == self.tipping_deltas[0] else None)
        unit = "" if self.scale == "outcome" else " (log-odds)"
        ax.set_xlabel(f"delta added to imputed {self.column} in {self.arm}{unit}")
        ax.set_ylabel(f"effect on {self.outcome}" + (" (pp)" if self.binary_outcome else ""))
        ax.legend(loc="best")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        f = self._frame
        unit = "" if self.scale == "outcome" else " on the log-odds scale"
        tip = (f"the conclusion tips at delta = {', '.join(f'{d:g}' for d in self.tipping_deltas)} "
               "(dashed)" if self.tipping_deltas else "no delta in the range tips the conclusion")
        return (f"Tipping-point analysis: the pooled {self.estimand} on {self.outcome} "
                f"({self.m} imputations) against delta, the shift added to imputed "
                f"{self.column} in {self.arm}{unit}, from {f['delta'].min():g} to "
                f"{f['delta'].max():g}, with its {100 * (1 - self.alpha):g}% interval as a band; "
                f"{tip}.")


def tipping_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows of a :class:`TippingPoint` table, sorted by delta."""
    frame = pd.DataFrame(rows, columns=TIPPING_COLUMNS).sort_values("delta", kind="stable")
    frame["significant"] = frame["significant"].astype(bool)
    frame["tipping"] = frame["tipping"].astype(bool)
    return frame.reset_index(drop=True).astype({"delta": float}).pipe(
        lambda f: f.assign(delta=np.asarray(f["delta"], dtype=float)))
