"""Results of :func:`dwp_eval.honest_did` (robust intervals under bounded
violations of parallel trends) and :func:`dwp_eval.pretrend_power`."""

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
from dwp_eval.results.palette import BLUE, GREY, VERMILLION, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["HONEST_COLUMNS", "PRETREND_POWER_COLUMNS", "HonestDid", "PretrendPower", "honest_frame"]

#: Columns of :meth:`HonestDid.to_frame`: one row per value of M.
HONEST_COLUMNS = ["term", "m", "estimate", "conf_low", "conf_high", "half_length", "worst_bias", "method"]

#: Columns of :meth:`PretrendPower.to_frame`.
PRETREND_POWER_COLUMNS = ["term", "slope", "power", "bias", "bias_given_pass", "alpha"]


def honest_frame(rows: list[dict[str, Any]], label: str = "M") -> pd.DataFrame:
    """The rows of a :class:`HonestDid` table (``term`` is ``"<label> = <m>"``)."""
    frame = pd.DataFrame(rows)
    frame.insert(0, "term", [f"{label} = {m:.6g}" for m in frame["m"]])
    return frame[HONEST_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True, eq=False, repr=False)
class HonestDid(ResultMixin):
    """Robust confidence intervals for ``theta = l' tau_post`` over a grid of M.

    Attributes
    ----------
    restriction
        ``"smoothness"`` (Delta^SD(M), FLCI) or ``"relative_magnitude"``
        (Delta^RM(Mbar), C-LF; the column ``m`` holds Mbar).
    estimate, std_error, original
        The conventional estimate ``l' beta_post``, its standard error and its
        ``1 - alpha`` normal interval (valid under exact parallel trends).
    breakdown
        The largest M at which the robust interval excludes 0 (NaN when the
        interval at M = 0 already includes 0); for relative magnitudes the smallest
        Mbar whose set contains 0.
    resolution
        The spacing of the theta grid the relative-magnitudes sets were read from
        (each bound is within one step of the exact one); 0 for the FLCI (exact).
    """

    _frame: pd.DataFrame
    restriction: str
    outcome: str
    alpha: float
    l_vec: tuple[float, ...]
    num_pre: int
    num_post: int
    estimate: float
    std_error: float
    original: tuple[float, float]
    breakdown: float
    resolution: float = 0.0

    @property
    def _labels(self) -> tuple[str, str, str]:
        if self.restriction == "relative_magnitude":
            return "Mbar", "Delta^RM(Mbar), C-LF", "C-LF"
        return "M", "Delta^SD(M), FLCI", "FLCI"

    def to_frame(self) -> pd.DataFrame:
        return self._frame.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The robust interval at each M (``term`` is ``M = ...``), at the result's level."""
        if alpha is not None and check_alpha(alpha, func="HonestDid.conf_int") != self.alpha:
            raise OptionError(f"HonestDid.conf_int: this analysis is at alpha = {self.alpha:g}; another "
                              "level needs a new one. Fix: honest_did(..., alpha=...).")
        f = self._frame
        return interval_frame(list(f["term"]), f["conf_low"], f["conf_high"])

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        f = self._frame
        name, delta, _ = self._labels
        bd = (f"the interval includes 0 even at {name} = 0" if math.isnan(self.breakdown)
              else f"{name} = {number(self.breakdown)}")
        lines = [
            f"Honest DiD ({self.restriction}, {delta}) for {self.outcome}: "
            f"l = {list(self.l_vec)} over {self.num_post} post-period(s), {self.num_pre} pre-period(s)",
            f"  conventional    {number(self.estimate)} (SE {number(self.std_error)}), {level} CI "
            f"[{number(self.original[0])}, {number(self.original[1])}]",
            f"  breakdown       {bd}",
            f"  {name:>10}  {level + ' robust CI':>28}  {'worst bias':>10}",
        ]
        for r in f.itertuples(index=False):
            lines.append(f"  {number(r.m):>10}  {'[' + number(r.conf_low) + ', ' + number(r.conf_high) + ']':>28}"
                         f"  {number(r.worst_bias):>10}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<HonestDid {self.restriction}: {len(self._frame)} values of M, breakdown {self.breakdown:.4g}>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The robust interval against M beside the conventional interval."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        f = self._frame
        m = f["m"].to_numpy(dtype=float)
        step = float(np.diff(m).min()) if m.size > 1 else 1.0
        x0 = float(m.min()) - step
        ax.vlines([x0], [self.original[0]], [self.original[1]], color=GREY, lw=2.5,
                  label="conventional")
        name, _, kind = self._labels
        ax.vlines(m, f["conf_low"], f["conf_high"], lw=2.5, label=f"robust ({kind})",
                  **{"color": BLUE, **kwargs})
        if not math.isnan(self.breakdown):
            ax.axvline(self.breakdown, color=VERMILLION, ls="--", lw=1, label=f"breakdown {name}")
        ax.axhline(0, color=GREY, lw=0.8)
        ax.set_xlabel("Mbar (post-period changes in the differential trend relative to the largest "
                      "pre-period one)" if name == "Mbar"
                      else "M (bound on the change in slope of the differential trend)")
        ax.set_ylabel(f"effect on {self.outcome}")
        ax.legend(loc="best")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        f = self._frame
        name = self._labels[0]
        pts = "; ".join(f"{name} = {m:g}: [{number(lo)}, {number(hi)}]"
                        for m, lo, hi in zip(f["m"], f["conf_low"], f["conf_high"], strict=True))
        return (f"Sensitivity of the effect on {self.outcome} to violations of parallel trends: "
                f"the conventional {100 * (1 - self.alpha):g}% interval [{number(self.original[0])}, "
                f"{number(self.original[1])}] beside the robust intervals: {pts}.")


@dataclass(frozen=True, eq=False, repr=False)
class PretrendPower(ResultMixin):
    """Power of the pre-trend test against ``delta_t = slope * (t + 1)`` and the
    bias of the post-period estimate, unconditionally and given the test passes."""

    outcome: str
    slope: float
    power: float
    alpha: float
    num_pre: int
    num_post: int
    l_vec: tuple[float, ...]
    bias: float
    bias_given_pass: float
    draws: int
    estimate: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"term": "linear pre-trend", "slope": self.slope, "power": self.power,
                              "bias": self.bias, "bias_given_pass": self.bias_given_pass,
                              "alpha": self.alpha}], columns=PRETREND_POWER_COLUMNS)

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """No interval: this is a power calculation (an empty table)."""
        return interval_frame([], [], [])

    def summary(self) -> str:
        return "\n".join([
            f"Pre-trend test power (Roth 2022) for {self.outcome}, {self.num_pre} pre-period(s)",
            f"  violation       delta_t = {number(self.slope)} x (t + 1), reference t = -1",
            f"  power           {self.power:.4f} (each pre-period |t| > z at alpha = {self.alpha:g})",
            f"  bias            {number(self.bias)} unconditional; {number(self.bias_given_pass)} given the "
            f"test passes ({self.draws:,} draws)",
        ])

    def __repr__(self) -> str:
        return f"<PretrendPower slope {self.slope:.4g}: power {self.power:.3f}>"
