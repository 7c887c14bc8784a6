"""Power, minimum detectable effects and sample sizes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval.results.palette import GREY, SERIES, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POWER_COLUMNS = [
    "term",
    "n",
    "n_treatment",
    "n_control",
    "n_clusters",
    "n_analysed",
    "mde",
    "mde_cace",
    "power",
    "std_error",
    "df",
    "multiplier",
    "alpha",
    "method",
    "design",
]


def _pct(v: float) -> str:
    return f"{100 * v:.3g}%"


@dataclass(frozen=True, eq=False, repr=False)
class PowerResult(ResultMixin):
    """One point on a design's power surface: people, effect and power.

    Made by :func:`dwp_eval.mde`, :func:`dwp_eval.sample_size` and
    :func:`dwp_eval.power`; ``solved_for`` says which of the three was solved.
    ``n``, ``mde`` and ``power`` always satisfy the design's power equation
    (for ``sample_size``, ``power`` is the power reached with the rounded-up
    ``n``, at least the target).

    Attributes
    ----------
    n, n_per_arm
        People randomised, in all and by arm (before attrition).
    n_clusters, n_clusters_per_arm
        Clusters randomised (``None`` for individually randomised designs).
    n_analysed
        People expected in the analysis: ``n`` times each arm's response rate.
    mde
        The ITT effect (outcome units; proportions for binary outcomes) detected
        with probability ``power``: the minimum detectable effect for ``mde()``,
        otherwise the ``effect`` given, converted to the ITT scale if it was
        given on the CACE scale.
    mde_cace
        The same on the CACE scale: ``mde / (take_up - contamination)``.
    effect, scale
        ``sample_size`` and ``power``: the effect as given and its scale
        (``"itt"``, ``"cace"``, ``"odds_ratio"`` or ``"risk_ratio"``); ``None``
        for ``mde()``, which reports both differences (and
        :attr:`mde_odds_ratio`, :attr:`mde_risk_ratio`).
    power
        Probability of rejecting the null at ``alpha`` when the ITT effect is ``mde``.
    std_error
        Standard error of the ITT estimate at that effect.
    df, multiplier
        The design's degrees of freedom and ``mde / std_error`` (Bloom 1995).
    unrounded
        ``sample_size`` only: the continuous solution (people, or clusters in a
        cluster design, arms in exact proportion) before rounding to whole units.
    comparisons
        One row per treatment arm compared with control (the fields above are
        those of the least powered comparison).
    events
        Time-to-event designs: the expected number of events (both arms of the
        least powered comparison) at ``mde``; ``mde`` is then the log hazard
        ratio (:attr:`mde_hazard_ratio` its exponential).
    events_needed
        ``sample_size`` in time-to-event designs: the events the continuous
        solution needs (Schoenfeld's or Freedman's :math:`D`, times the
        cluster design effect), before rounding people up.
    structure
        The partially nested, three-level, moderator or time-to-event options
        (``None`` for the basic designs).
    """

    solved_for: str
    n: int
    n_per_arm: dict[str, int]
    n_clusters: int | None
    n_clusters_per_arm: dict[str, int] | None
    n_analysed: float
    mde: float
    mde_cace: float
    power: float
    std_error: float
    df: float
    multiplier: float
    target_power: float | None
    effect: float | None
    alpha: float
    two_sided: bool
    arms: dict[str, float]
    control: str
    sd: float | None
    baseline_rate: float | None
    r2: float
    cluster_size: float | None
    icc: float | None
    r2_cluster: float
    cluster_size_cv: float
    strata: int | None
    n_covariates: int
    take_up: float
    contamination: float
    response_rate: dict[str, float]
    correction: str
    method: str
    binary_variance: str
    outcome: str | None
    design: str
    unrounded: float | None = None
    scale: str | None = None
    comparisons: tuple[dict[str, Any], ...] = ()
    events: float | None = None
    events_needed: float | None = None
    structure: dict[str, Any] | None = None

    @property
    def mde_hazard_ratio(self) -> float | None:
        """Time-to-event designs: the hazard ratio ``exp(mde)`` (``mde`` is its log)."""
        if self.events is None:
            return None
        return math.exp(self.mde)

    @property
    def mde_odds_ratio(self) -> float | None:
        """Binary outcomes: the ITT odds ratio of ``baseline_rate + mde`` to ``baseline_rate``."""
        if self.baseline_rate is None:
            return None
        p0, p1 = self.baseline_rate, self.baseline_rate + self.mde
        return (p1 / (1.0 - p1)) / (p0 / (1.0 - p0))

    @property
    def mde_risk_ratio(self) -> float | None:
        """Binary outcomes: the ITT risk ratio ``(baseline_rate + mde) / baseline_rate``."""
        if self.baseline_rate is None:
            return None
        return (self.baseline_rate + self.mde) / self.baseline_rate

    @property
    def binary(self) -> bool:
        """Whether the outcome is binary (``baseline_rate`` given)."""
        return self.baseline_rate is not None

    def _fmt(self, v: float) -> str:
        if self.events is not None:
            return f"log HR {v:.4g} (HR {math.exp(v):.4g})"
        if self.binary:
            return f"{100 * v:.3g} pp"
        if self.sd is None:
            return f"{v:.3g} SD"
        return f"{v:,.4g}"

    def _ratio_text(self) -> str:
        w = list(self.arms.values())
        small = min(w)
        parts = [w_i / small for w_i in w]
        if all(abs(p - round(p)) < 1e-9 for p in parts):
            return ":".join(str(round(p)) for p in parts)
        return ":".join(f"{p:.3g}" for p in parts)

    def to_frame(self) -> pd.DataFrame:
        """One row per comparison with control (columns as in ``POWER_COLUMNS``)."""
        return pd.DataFrame(list(self.comparisons), columns=POWER_COLUMNS)

    def summary(self) -> str:
        test = f"{_pct(self.alpha)} {'two' if self.two_sided else 'one'}-sided test"
        people = f"{self.n:,} people"
        if self.n_clusters is not None:
            unit = "level-3 units" if (self.structure or {}).get("level3_size") else "clusters"
            people += f" in {self.n_clusters:,} {unit}"
        head = f"With {people}, {self._ratio_text()}, {_pct(self.power)} power and a {test}"
        on = f" on {self.outcome}" if self.outcome else ""
        if self.binary:
            on = on or " on the outcome"
            on += f" (base {_pct(self.baseline_rate or 0.0)})"
        diluted = self.take_up != 1.0 or self.contamination != 0.0
        first = self._first_line(people, test, head, on)
        if diluted:
            cont = (
                f" and allowing for {_pct(self.contamination)} contamination"
                if self.contamination
                else ""
            )
            first += (
                f"; for those who take up ({_pct(self.take_up)}){cont}, {self._fmt(self.mde_cace)}"
            )
        lines = [first + "."]
        arms = ", ".join(f"{a} {k:,}" for a, k in self.n_per_arm.items())
        lines.append(f"  people          {self.n:,} ({arms}); {self.n_analysed:,.1f} analysed")
        level3 = (self.structure or {}).get("level3_size")
        if self.n_clusters_per_arm is not None and level3:
            cl = ", ".join(f"{a} {k:,}" for a, k in self.n_clusters_per_arm.items())
            lines.append(
                f"  level-3 units   {self.n_clusters:,} randomised ({cl}), each of {level3:g} clusters "
                f"of {self.cluster_size:g}; ICC {self.icc:g} (clusters), "
                f"{(self.structure or {}).get('icc_level3'):g} (level 3)"
            )
        elif self.n_clusters_per_arm is not None:
            cl = ", ".join(f"{a} {k:,}" for a, k in self.n_clusters_per_arm.items())
            lines.append(
                f"  clusters        {self.n_clusters:,} ({cl}); mean size {self.cluster_size:g}, "
                f"ICC {self.icc:g}, CV of sizes {self.cluster_size_cv:g}"
            )
        lines.append(f"  design          {self.design}")
        if self.events is not None:
            need = f"; {self.events_needed:,.2f} needed" if self.events_needed is not None else ""
            lines.append(f"  events          {self.events:,.1f} expected (log-rank test){need}")
        if self.events is not None:
            lines.append(f"  log HR          {self.mde:.4g} (SE {self.std_error:.4g}); hazard ratio "
                         f"{math.exp(self.mde):.4g}")
        else:
            lines.append(
                f"  ITT             {self._fmt(self.mde)} (SE {self._fmt(self.std_error)}); "
                f"CACE {self._fmt(self.mde_cace)}"
            )
        if self.effect is not None and self.scale in ("odds_ratio", "risk_ratio"):
            lines.append(f"  effect given    {self.effect:.4g} ({self.scale.replace('_', ' ')})")
        elif self.effect is not None and self.scale is not None and diluted:
            lines.append(f"  effect given    {self._fmt(self.effect)} ({self.scale.upper()} scale)")
        lines.append(
            f"  multiplier      {self.multiplier:.4f} ({self.method}; df {self.df:,.6g}; "
            f"alpha {self.alpha:g}, {'two' if self.two_sided else 'one'}-sided)"
        )
        if len(self.arms) > 2:
            lines.append(
                f"  arms            {len(self.arms) - 1} comparisons with {self.control}; "
                f"{self.correction} correction"
            )
        if self.unrounded is not None:
            unit = "clusters" if self.n_clusters is not None else "people"
            lines.append(f"  unrounded       {self.unrounded:,.2f} {unit} before rounding to whole {unit}")
        return "\n".join(lines)

    def _first_line(self, people: str, test: str, head: str, on: str) -> str:
        what = "ITT effect"
        if (self.structure or {}).get("moderator_share") is not None:
            what = "difference in ITT effects between the moderator's subgroups"
        elif self.events is not None:
            what = "effect"
        if self.solved_for == "power":
            return (
                f"With {people}, {self._ratio_text()}, and a {test}, the power to detect a{'n' if what[0] in 'aeiouI' else ''} "
                f"{what} of {self._fmt(self.mde)}{on} is {_pct(self.power)}"
            )
        if self.solved_for == "n":
            return (
                f"To detect a{'n' if what[0] in 'aeiouI' else ''} {what} of {self._fmt(self.mde)}{on} with "
                f"{_pct(self.power)} power and a {test} you need {people}, {self._ratio_text()}"
            )
        return f"{head}, the smallest {what} you can detect{on} is {self._fmt(self.mde)}"

    def __repr__(self) -> str:
        return (
            f"<PowerResult n={self.n:,} mde={self._fmt(self.mde)} "
            f"mde_cace={self._fmt(self.mde_cace)} power={self.power:.3f}>"
        )


@dataclass(frozen=True, eq=False, repr=False)
class PowerCurve(ResultMixin):
    """Power over a grid of sample sizes and/or effects (:func:`dwp_eval.power_curve`).

    ``to_frame()`` has one row per grid point with columns ``n``, ``n_clusters``,
    ``effect`` (the effect given, on ``scale``), ``effect_itt``, ``effect_cace``
    and ``power``;
    ``plot()`` draws power against the axis that varies, one line per value of
    the other.
    """

    _frame: pd.DataFrame
    x: str
    alpha: float
    target_power: float
    outcome: str | None = None
    scale: str = "itt"

    def to_frame(self) -> pd.DataFrame:
        return self._frame.copy()

    def summary(self) -> str:
        f = self._frame
        lines = [f"Power curve over {self.x} ({len(f)} points, alpha {self.alpha:g})"]
        lines.append(f.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<PowerCurve over {self.x}, {len(self._frame)} points>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Power against ``n`` (or ``n_clusters`` or the effect), with the target marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        f = self._frame
        other = "effect" if self.x != "effect" else ("n_clusters" if f["n_clusters"].notna().any() else "n")
        markers = "osD^v<>P"
        for i, (value, g) in enumerate(f.groupby(other, sort=True, dropna=False)):
            ax.plot(g[self.x], g["power"], ms=3, label=f"{other} = {value:g}",
                    **{"color": SERIES[i % len(SERIES)], "marker": markers[i % 8], **kwargs})
        ax.axhline(self.target_power, color=GREY, lw=0.8, ls="--")
        ax.set_ylim(0, 1)
        ax.set_xlabel(self.x if self.x != "effect" else f"effect ({self.scale.upper()} scale)")
        ax.set_ylabel(f"power (alpha = {self.alpha:g})")
        if f[other].nunique() > 1:
            ax.legend(loc="lower right")
        if self.outcome:
            ax.set_title(self.outcome)
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        f = self._frame
        x = self.x if self.x != "effect" else f"the effect ({self.scale.upper()} scale)"
        lo, hi = f[self.x].min(), f[self.x].max()
        return (f"Power against {x} from {lo:g} to {hi:g} ({len(f)} points"
                + (f", {self.outcome}" if self.outcome else "")
                + f"), at alpha = {self.alpha:g}: power runs from {f['power'].min():.0%} to "
                f"{f['power'].max():.0%}; the dashed line marks the target of "
                f"{self.target_power:.0%}.")
