"""The result of :func:`dwp_eval.contamination_summary`: rates of
contamination, receipt or take-up by group, with Wilson (1927) intervals."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin, interval_frame
from dwp_eval._core.proportion import wilson_interval
from dwp_eval._validation import _fmt_list, check_alpha
from dwp_eval.errors import OptionError
from dwp_eval.results.palette import GREY, SERIES, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SUMMARY_COLUMNS", "ContaminationSummary"]

#: Columns of :meth:`ContaminationSummary.to_frame` after the ``by`` columns.
SUMMARY_COLUMNS = (
    "n",
    "n_flagged",
    "rate",
    "conf_low",
    "conf_high",
    "alpha",
    "threshold",
    "above_threshold",
    "significantly_above",
)


@dataclass(frozen=True, eq=False, repr=False)
class ContaminationSummary(ResultMixin):
    """Rates of contamination, receipt or take-up by group, with Wilson intervals.

    Made by :func:`dwp_eval.contamination_summary`. ``to_frame()`` has the ``by``
    columns then :data:`SUMMARY_COLUMNS`: ``n`` (people), ``n_flagged``,
    ``rate``, ``conf_low`` and ``conf_high`` (Wilson score interval at level
    ``1 - alpha``), ``alpha``, ``threshold`` (the tolerated rate, NaN if none),
    ``above_threshold`` (rate above it) and ``significantly_above`` (the whole
    interval above it); the last two are missing (``<NA>``) without a threshold.
    """

    _frame: pd.DataFrame
    by: tuple[str, ...]
    flag: str
    label: str
    alpha: float
    threshold: float | None
    n_obs: int
    n_flagged: int

    @property
    def rate(self) -> float:
        """The overall rate (all groups together)."""
        return self.n_flagged / self.n_obs if self.n_obs else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The table: ``by`` columns then :data:`SUMMARY_COLUMNS` (a copy)."""
        return self._frame.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Wilson intervals of every group's rate at level ``1 - alpha`` (default: the
        result's): ``term`` (the group, its ``by`` values joined), ``conf_low``,
        ``conf_high``, then the ``by`` columns."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="ContaminationSummary.conf_int")
        lo, hi = wilson_interval(self._frame["n_flagged"].to_numpy(), self._frame["n"].to_numpy(), a)
        groups = self._frame[list(self.by)]
        if self.by:
            terms = [", ".join(str(v) for v in row) for row in groups.itertuples(index=False)]
        else:
            terms = ["all"] * len(self._frame)
        out = interval_frame(terms, lo, hi)
        for col in self.by:
            out[col] = groups[col].to_numpy()
        return out

    def above(self) -> pd.DataFrame:
        """The groups whose rate is above the threshold (empty without a threshold)."""
        f = self._frame
        if self.threshold is None:
            return f.iloc[0:0].copy()
        return f[f["above_threshold"].fillna(False).to_numpy(dtype=bool)].copy()

    def summary(self) -> str:
        f = self._frame
        level = f"{100 * (1 - self.alpha):g}%"
        by = ", ".join(self.by) if self.by else "all"
        lines = [
            f"{self.label.capitalize()} by {by}: {self.n_flagged:,} of {self.n_obs:,} "
            f"({100 * self.rate:.1f}%); Wilson {level} intervals"
        ]
        keys = [[str(v) for v in f[c]] for c in self.by]
        widths = [max([len(str(c))] + [len(v) for v in col]) for c, col in zip(self.by, keys, strict=True)]
        head = "  ".join(f"{c!s:<{w}}" for c, w in zip(self.by, widths, strict=True))
        lines.append(f"  {head}{'  ' if head else ''}{'n':>9} {'flagged':>8} {'rate':>7}  {level + ' CI':<17}")
        for i in range(len(f)):
            cells = "  ".join(f"{col[i]:<{w}}" for col, w in zip(keys, widths, strict=True))
            mark = ""
            if self.threshold is not None:
                mark = "  **" if bool(f["significantly_above"].iloc[i]) else (
                    "  *" if bool(f["above_threshold"].iloc[i]) else ""
                )
            lines.append(
                f"  {cells}{'  ' if cells else ''}{int(f['n'].iloc[i]):>9,} "
                f"{int(f['n_flagged'].iloc[i]):>8,} {100 * f['rate'].iloc[i]:>6.1f}%  "
                f"[{100 * f['conf_low'].iloc[i]:4.1f}%, {100 * f['conf_high'].iloc[i]:4.1f}%]{mark}"
            )
        if self.threshold is not None:
            n_above = int(f["above_threshold"].fillna(False).sum())
            n_sig = int(f["significantly_above"].fillna(False).sum())
            lines.append(
                f"  threshold {100 * self.threshold:g}%: {n_above} group(s) above (*), "
                f"{n_sig} with the whole interval above (**)"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<ContaminationSummary {self.label} by {', '.join(self.by) or 'all'}: "
            f"{len(self._frame)} groups, overall {100 * self.rate:.1f}%>"
        )

    def _repr_html_(self) -> str:
        head = self.summary().splitlines()[0]
        return f"<p><strong>{html.escape(head)}</strong></p>" + self._frame.to_html(
            index=False, float_format=lambda v: f"{v:.4g}"
        )

    def plot(self, ax: Axes | None = None, *, x: str | None = None, band: bool = True,
             **kwargs: Any) -> Axes:
        """Rates in % with Wilson intervals: over time (``x="month"``, one line per group
        of the other ``by`` columns) or by group (any other ``x`` among ``by``).

        ``x`` defaults to ``"month"`` when it is among the ``by`` columns, else to
        the last ``by`` column (a single point without ``by``). Over months the
        intervals are bands (``band=False`` to omit); by group, interval bars.
        The threshold is a dashed line. Groups take the Okabe-Ito colours and
        distinct marker shapes; the figure's ``alt_text`` (:meth:`alt_text`)
        describes the plot.
        """
        import matplotlib.pyplot as plt

        if x is None:
            x = "month" if "month" in self.by else (self.by[-1] if self.by else None)
        elif x not in self.by:
            raise OptionError(
                f"The 'x' parameter of ContaminationSummary.plot must be one of the by columns "
                f"{_fmt_list(self.by)}. Got {x!r} instead. Fix: summarise with by=(..., {x!r})."
            )
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        f = self._frame.copy()
        if x is None:  # no by columns: the overall rate
            f["group"] = self.label
            x = "group"
        for col in ("rate", "conf_low", "conf_high"):
            f[col] = 100 * f[col].astype(float)
        others = [c for c in self.by if c != x]
        groups = f.groupby(others, sort=True, observed=True) if others else [((), f)]
        for i, (key, g) in enumerate(groups):
            g = g.sort_values(x)
            xs = g[x]
            if isinstance(xs.dtype, pd.PeriodDtype):
                xs = xs.dt.to_timestamp()
            name = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,))) or self.label
            opts = {"color": SERIES[i % len(SERIES)], "marker": "osD^v<>P"[i % 8], **kwargs}
            if x == "month":
                (line,) = ax.plot(xs, g["rate"], label=name, **opts)
                if band:
                    ax.fill_between(xs, g["conf_low"], g["conf_high"], color=line.get_color(), alpha=0.15)
            else:
                err = np.clip(np.vstack([g["rate"] - g["conf_low"], g["conf_high"] - g["rate"]]),
                              0.0, None)  # never a negative bar
                opts["fmt"] = opts.pop("marker")
                ax.errorbar(xs.astype(str), g["rate"], yerr=err, capsize=3, label=name, **opts)
        if self.threshold is not None:
            ax.axhline(100 * self.threshold, color=GREY, ls="--", lw=1,
                       label=f"threshold {100 * self.threshold:g}%")
        ax.set_xlabel("month of randomisation" if x == "month" else str(x))
        ax.set_ylabel(f"{self.label} (%)")
        ax.set_ylim(bottom=0)
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        from matplotlib.figure import Figure

        fig = ax.get_figure()
        if isinstance(fig, Figure):
            fig.tight_layout()
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """One sentence describing :meth:`plot` (for screen readers)."""
        f = self._frame
        by = ", ".join(map(str, self.by)) or "overall"
        lo, hi = 100 * float(f["rate"].min()), 100 * float(f["rate"].max())
        limit = "" if self.threshold is None else f"; threshold {100 * self.threshold:g}%"
        return (f"Plot of the {self.label} rate by {by} with Wilson intervals: "
                f"{len(f):,} group(s), rates from {lo:.1f}% to {hi:.1f}%, overall "
                f"{100 * self.rate:.1f}%{limit}.")
