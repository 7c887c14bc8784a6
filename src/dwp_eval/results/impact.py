"""Impact tables: the ITT effect on several outcomes (and within subgroups) with
p-values adjusted for multiple testing, and the tests of subgroup heterogeneity.
Made by :func:`dwp_eval.impact_table`."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin, interval_frame
from dwp_eval._core.format import p_cell
from dwp_eval._validation import _fmt_list, check_alpha
from dwp_eval.errors import OptionError
from dwp_eval.results.effect import Effect
from dwp_eval.results.palette import BLUE, GREY, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ALL", "ARM_CORRECTIONS", "CORRECTIONS", "HETEROGENEITY_COLUMNS", "IMPACT_COLUMNS", "NOT_ESTIMABLE", "EffectTable"]

#: Corrections accepted by :func:`impact_table`, with the text used in summaries.
CORRECTIONS: dict[str, str] = {
    "holm": "Holm (1979)",
    "bonferroni": "Bonferroni",
    "bh": "Benjamini-Hochberg (1995) false discovery rate",
    "romano_wolf": "Romano-Wolf (2016) step-down bootstrap",
    "none": "no correction",
}

#: Corrections across treatment arms (each compared with control) accepted by
#: :func:`impact_table`'s ``arm_correction``, with the text used in summaries.
ARM_CORRECTIONS: dict[str, str] = {
    "holm": "Holm (1979)",
    "dunnett": "Dunnett (1955) single-step, many-to-one",
}

#: Columns of :meth:`EffectTable.to_frame`, in order.
IMPACT_COLUMNS = [
    "outcome",
    "subgroup",
    "estimand",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "p_value_adjusted",
    "conf_low",
    "conf_high",
    "df",
    "n_obs",
    "n_control",
    "n_treatment",
    "control_mean",
    "treatment_mean",
    "se_type",
    "design",
    "family",
    "correction",
    "treatment",
    "p_value_arms",
    "arm_correction",
    "not_estimable",
]

#: Columns of :attr:`EffectTable.heterogeneity`, in order.
HETEROGENEITY_COLUMNS = [
    "outcome",
    "by",
    "n_subgroups",
    "statistic",
    "df_num",
    "df_denom",
    "p_value",
    "wald_statistic",
    "se_type",
    "n_obs",
    "method",
    "treatment",
]

#: Label of the rows that use every person (no subgroup).
ALL = "all"

#: What a table shows in place of the effect of a row that cannot be estimated.
NOT_ESTIMABLE = "not estimable"


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True, eq=False, repr=False)
class EffectTable(ResultMixin):
    """ITT effects on several outcomes (and subgroups), as trial reports tabulate them.

    Attributes
    ----------
    effects
        One :class:`~dwp_eval.Effect` per row, as :func:`dwp_eval.itt` returns it.
    subgroups
        ``"all"`` for rows that use everyone, ``"<by>=<level>"`` for subgroup rows.
    families
        The family each row's p-value is adjusted within.
    p_value_adjusted
        The adjusted p-value of each row.
    correction
        The correction used (a key of :data:`CORRECTIONS`).
    alpha
        Significance level of the intervals.
    by
        The subgroup column, or ``None``.
    draws
        Bootstrap draws (Romano-Wolf only).
    by_missing
        Rows with a missing ``by`` value, which are in no subgroup row.
    notes
        Anything a reader of the table should know.
    p_value_arms
        Each row's p-value adjusted across the treatment arms of its outcome (and
        subgroup) only; the row's own p-value without ``arm_correction``.
    arm_correction
        The correction across arms (a key of :data:`ARM_CORRECTIONS`), or ``None``.
    not_estimable
        Per row, why its effect could not be estimated (e.g. ``"zero residual
        variance"``), or ``""`` for an estimated row; empty when every row is
        estimated. A row that is not estimable keeps its counts (and arm means),
        has no estimate, interval or p-value (NaN in :meth:`to_frame`, "not
        estimable (reason)" in the displays), and is left out of its family's
        p-value adjustment (a note says so).
    """

    effects: tuple[Effect, ...]
    subgroups: tuple[str, ...]
    families: tuple[str, ...]
    p_value_adjusted: tuple[float, ...]
    correction: str
    alpha: float
    by: str | None = None
    draws: int | None = None
    by_missing: int = 0
    notes: tuple[str, ...] = ()
    _heterogeneity: pd.DataFrame | None = None
    p_value_arms: tuple[float, ...] | None = None
    arm_correction: str | None = None
    not_estimable: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.effects)

    def reasons(self) -> tuple[str, ...]:
        """Per row, why it is not estimable, or ``""`` (see :attr:`not_estimable`)."""
        return self.not_estimable or ("",) * len(self.effects)

    # ------------------------------------------------------------------ tables

    def to_frame(self) -> pd.DataFrame:
        """One row per effect, columns as in :data:`IMPACT_COLUMNS`."""
        rows = []
        parm = self.p_value_arms or tuple(e.p_value for e in self.effects)
        for e, sub, fam, padj, pa, why in zip(
            self.effects, self.subgroups, self.families, self.p_value_adjusted, parm,
            self.reasons(), strict=True,
        ):
            rows.append(
                {
                    "outcome": e.outcome,
                    "subgroup": sub,
                    "estimand": e.estimand,
                    "estimate": e.estimate,
                    "std_error": e.std_error,
                    "statistic": e.statistic,
                    "p_value": e.p_value,
                    "p_value_adjusted": padj,
                    "conf_low": e.conf_low,
                    "conf_high": e.conf_high,
                    "df": e.df,
                    "n_obs": e.n_obs,
                    "n_control": e.n_control,
                    "n_treatment": e.n_treatment,
                    "control_mean": e.control_mean,
                    "treatment_mean": e.treatment_mean,
                    "se_type": e.se_type,
                    "design": e.design,
                    "family": fam,
                    "correction": self.correction,
                    "treatment": e.treatment,
                    "p_value_arms": pa,
                    "arm_correction": self.arm_correction,
                    "not_estimable": why,
                }
            )
        return pd.DataFrame(rows, columns=IMPACT_COLUMNS)

    @property
    def heterogeneity(self) -> pd.DataFrame | None:
        """Tests that the effect is the same in every subgroup (one row per outcome), or
        ``None`` without ``by=``. Columns as in :data:`HETEROGENEITY_COLUMNS`."""
        return None if self._heterogeneity is None else self._heterogeneity.copy()

    @property
    def dropped(self) -> pd.DataFrame:
        """Rows dropped for missing values (``missing="drop"``), per table row and column."""
        rows = [
            {"outcome": e.outcome, "subgroup": sub, "column": col, "n_dropped": n}
            for e, sub in zip(self.effects, self.subgroups, strict=True)
            for col, n in e.dropped.items()
        ]
        return pd.DataFrame(rows, columns=["outcome", "subgroup", "column", "n_dropped"])

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """``1 - alpha`` confidence intervals of every row (default: the table's alpha):
        ``term, conf_low, conf_high``, then ``outcome`` and ``subgroup``."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="EffectTable.conf_int")
        lo_hi = [e.interval(a) for e in self.effects]
        out = interval_frame([f"{e.treatment} vs {e.control}" for e in self.effects],
                             [v[0] for v in lo_hi], [v[1] for v in lo_hi])
        out["outcome"] = [e.outcome for e in self.effects]
        out["subgroup"] = list(self.subgroups)
        return out

    # ------------------------------------------------------------------ display

    def _cells(self) -> list[dict[str, str]]:
        """The report's formatted cells, one dict per row."""
        level = f"{100 * (1 - self.alpha):g}% CI"
        several = self._several_arms()
        out = []
        for e, sub, padj, why in zip(
            self.effects, self.subgroups, self.p_value_adjusted, self.reasons(), strict=True
        ):
            lo, hi = e.interval()
            cell = {"outcome": e.outcome, "subgroup": sub}
            if several:
                cell["arm"] = f"{e.treatment} vs {e.control}"
            if why:
                out.append(cell | {
                    "control mean": "", "treatment mean": "",
                    "impact": f"{NOT_ESTIMABLE} ({why})", level: "", "p-value": "",
                    "adjusted p-value": "", "n": f"{e.n_obs:,}",
                })
                continue
            if e.binary_outcome:
                means = (f"{100 * e.control_mean:.1f}%", f"{100 * e.treatment_mean:.1f}%")
                impact = f"{100 * e.estimate:+.1f} pp"
                ci = f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
            else:
                d = _decimals(e.std_error)
                means = (_num(e.control_mean, d), _num(e.treatment_mean, d))
                impact = _num(e.estimate, d, sign=True)
                ci = f"[{_num(lo, d, sign=True)}, {_num(hi, d, sign=True)}]"
            out.append(
                cell | {
                    "control mean": means[0],
                    "treatment mean": means[1],
                    "impact": impact,
                    level: ci,
                    "p-value": p_cell(e.p_value),
                    "adjusted p-value": p_cell(padj),
                    "n": f"{e.n_obs:,}",
                }
            )
        return out

    def _several_arms(self) -> bool:
        return len({e.treatment for e in self.effects}) > 1

    def _title(self) -> str:
        e = self.effects[0]
        arms = (
            f"each arm ({', '.join(dict.fromkeys(x.treatment for x in self.effects))})"
            if self._several_arms() else e.treatment
        )
        across = (
            f"; across arms: {ARM_CORRECTIONS[self.arm_correction]}"
            if self.arm_correction is not None else ""
        )
        return (
            f"{e.estimand} impact of {arms} vs {e.control} "
            f"({100 * (1 - self.alpha):g}% confidence intervals; p-values adjusted within "
            f"families: {CORRECTIONS[self.correction]}{across})"
        )

    def _footnotes(self) -> list[str]:
        lines = []
        several = self._several_arms()
        fams = list(dict.fromkeys(self.families))
        for fam in fams:
            members = [
                e.outcome + (f" ({', '.join(tags)})" if (tags := [
                    t for t in (None if sub == ALL else sub, e.treatment if several else None) if t
                ]) else "")
                for e, sub, f in zip(self.effects, self.subgroups, self.families, strict=True)
                if f == fam
            ]
            lines.append(f"family {fam!r}: {', '.join(members)}")
        if self.correction == "romano_wolf" and self.draws is not None:
            lines.append(f"Romano-Wolf p-values from {self.draws:,} bootstrap draws")
        if self.arm_correction is not None:
            lines.append(
                f"p-values adjusted across arms within each outcome first "
                f"({ARM_CORRECTIONS[self.arm_correction]}), then across the outcomes of each "
                "family arm by arm"
            )
        if any(e.binary_outcome for e in self.effects):
            lines.append("0/1 outcomes: means in %, impacts and intervals in percentage points (pp)")
        designs = sorted({f"{e.design} design, {e.se_type} standard errors"
                          for e, why in zip(self.effects, self.reasons(), strict=True) if not why})
        if designs:
            lines.append("; ".join(designs))
        for e, sub, fam, why in zip(
            self.effects, self.subgroups, self.families, self.reasons(), strict=True
        ):
            if why:
                where = e.outcome if sub == ALL else f"{e.outcome} ({sub})"
                arm = f", {e.treatment} vs {e.control}" if several else ""
                detail = f": {e.notes[0]}" if e.notes else ""
                lines.append(
                    f"{where}{arm}: {NOT_ESTIMABLE} ({why}); left out of the p-value "
                    f"adjustment of family {fam!r}{detail}"
                )
        het = self._heterogeneity
        if het is not None:
            for row in het.itertuples(index=False):
                arm = f" ({row.treatment} vs {self.effects[0].control})" if several else ""
                if not np.isfinite(row.statistic):
                    lines.append(f"heterogeneity by {row.by}, {row.outcome}{arm}: {row.method}")
                    continue
                lines.append(
                    f"heterogeneity by {row.by}, {row.outcome}{arm}: F({row.df_num:g}, "
                    f"{row.df_denom:.4g}) = {row.statistic:.3f}, p = {p_cell(row.p_value)} "
                    f"({row.se_type})"
                )
        for e, sub in zip(self.effects, self.subgroups, strict=True):
            for col, n in e.dropped.items():
                where = e.outcome if sub == ALL else f"{e.outcome} ({sub})"
                lines.append(f"{where}: {n:,} row(s) with missing {col} dropped")
        if self.by_missing:
            lines.append(
                f"{self.by_missing:,} row(s) with missing {self.by} are in no subgroup row "
                "(they are in the 'all' rows)"
            )
        lines.extend(self.notes)
        return lines

    def summary(self) -> str:
        """The table as text: one line per row, then families, tests and notes."""
        cells = self._cells()
        cols = list(cells[0])
        widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in cols}
        left = {"outcome", "subgroup", "arm"}

        def fmt(values: Mapping[str, str]) -> str:
            return "  ".join(
                f"{values[c]:<{widths[c]}}" if c in left else f"{values[c]:>{widths[c]}}" for c in cols
            ).rstrip()

        lines = [self._title(), fmt({c: c for c in cols})]
        lines += [fmt(r) for r in cells]
        lines += [f"  {note}" for note in self._footnotes()]
        return "\n".join(lines)

    # the exports (dwp_eval._core.export) show the table as summary() does
    def _export_title(self) -> str:
        return self._title()

    def _export_cells(self) -> pd.DataFrame:
        return pd.DataFrame(self._cells())

    def _export_notes(self) -> list[str]:
        return self._footnotes()

    def _repr_html_(self) -> str:
        body = pd.DataFrame(self._cells()).to_html(index=False, escape=True)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._footnotes())
        return f"<p><strong>{html.escape(self._title())}</strong></p>{body}<ul>{notes}</ul>"

    def __repr__(self) -> str:
        outcomes = list(dict.fromkeys(e.outcome for e in self.effects))
        return (
            f"<EffectTable {len(self)} rows: {len(outcomes)} outcome(s)"
            + (f" by {self.by}" if self.by is not None else "")
            + f", correction {self.correction}>"
        )

    def plot(self, ax: Axes | None = None, *, outcome: str | None = None, **kwargs: Any) -> Axes:
        """Forest plot: the estimate and confidence interval of each row, and a zero line,
        one panel per unit.

        Parameters
        ----------
        ax
            Axes to draw on, when the rows drawn share one unit (one outcome,
            or only 0/1 outcomes); default: a new figure with one panel per unit.
        outcome
            Plot only this outcome's rows.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        matplotlib.axes.Axes
            The (first) panel; every panel is in ``ax.figure.axes``, and the
            figure's ``alt_text`` (:meth:`alt_text`) describes the plot.

        Raises
        ------
        OptionError
            If ``ax`` is given and the rows are in several units.

        Notes
        -----
        0/1 outcomes are drawn in percentage points and share a panel; every
        other outcome (pounds, days, ...) has a panel of its own, in its units,
        since outcomes in different units cannot share an axis. A thin line
        separates outcomes within a panel.
        """
        import matplotlib.pyplot as plt

        pick = [
            i for i, e in enumerate(self.effects) if outcome is None or e.outcome == str(outcome)
        ]
        if not pick:
            names = list(dict.fromkeys(e.outcome for e in self.effects))
            raise OptionError(
                f"The 'outcome' parameter of EffectTable.plot must be one of {_fmt_list(names)}. "
                f"Got {outcome!r} instead."
            )
        panels: dict[str, list[int]] = {}
        for i in pick:
            e = self.effects[i]
            panels.setdefault("pp" if e.binary_outcome else e.outcome, []).append(i)
        if ax is not None and len(panels) > 1:
            raise OptionError(
                f"EffectTable.plot draws outcomes in different units on separate panels "
                f"({_fmt_list(list(panels))}), which one 'ax' cannot hold. Fix: pass ax=None "
                "(a new figure, one panel per unit) or outcome= to draw one outcome on ax."
            )
        if ax is None:
            sizes = [0.35 * len(rows) + 0.9 for rows in panels.values()]
            fig, axes = plt.subplots(len(panels), 1, squeeze=False, figsize=(6.5, sum(sizes) + 0.4),
                                     gridspec_kw={"height_ratios": sizes})
            panel_axes = list(axes[:, 0])
        else:
            panel_axes = [ax]
        for unit, rows, panel in zip(panels, panels.values(), panel_axes, strict=True):
            self._panel(panel, rows, unit, **kwargs)
        if ax is None:
            fig.tight_layout()
        set_alt_text(panel_axes[0], self.alt_text(outcome))
        return panel_axes[0]

    def _panel(self, ax: Axes, pick: list[int], unit: str, **kwargs: Any) -> None:
        effects = [self.effects[i] for i in pick]
        subgroups = [self.subgroups[i] for i in pick]
        why = [self.reasons()[i] for i in pick]
        n = len(effects)
        scale = np.array([100.0 if e.binary_outcome else 1.0 for e in effects])
        est = np.array([e.estimate for e in effects]) * scale
        ci = np.array([e.interval() for e in effects]) * scale[:, None]
        ypos = np.arange(n)
        opts: dict[str, Any] = {"fmt": "o", "capsize": 3, "color": BLUE}
        opts.update(kwargs)
        ax.errorbar(est, ypos, xerr=[est - ci[:, 0], ci[:, 1] - est], **opts)
        ax.axvline(0.0, color=GREY, lw=0.8, ls="--")
        for i in range(1, n):
            if effects[i].outcome != effects[i - 1].outcome:
                ax.axhline(i - 0.5, color="lightgrey", lw=0.8)
        labels = [  # a row that is not estimable has no point; its label says so
            ((e.outcome + (" (pp)" if e.binary_outcome else "")) if sub == ALL else f"    {sub}")
            + (f" ({NOT_ESTIMABLE})" if w else "")
            for e, sub, w in zip(effects, subgroups, why, strict=True)
        ]
        ax.set_yticks(ypos, labels)
        ax.set_ylim(n - 0.5, -0.5)
        level = f"{100 * (1 - self.alpha):g}% CI"
        if unit == "pp":
            what = effects[0].outcome if len({e.outcome for e in effects}) == 1 else "impact"
            ax.set_xlabel(f"{what}, percentage points ({level})")
        else:
            ax.set_xlabel(f"{unit} ({level})")

    def alt_text(self, outcome: str | None = None) -> str:
        """One sentence describing :meth:`plot` (for screen readers)."""
        parts = []
        for e, sub, why in zip(self.effects, self.subgroups, self.reasons(), strict=True):
            if outcome is not None and e.outcome != str(outcome):
                continue
            name = e.outcome if sub == ALL else f"{e.outcome}, {sub}"
            if why:
                parts.append(f"{name}: {NOT_ESTIMABLE}")
                continue
            lo, hi = e.interval()
            k = 100.0 if e.binary_outcome else 1.0
            unit = " pp" if e.binary_outcome else ""
            parts.append(f"{name}: {k * e.estimate:+.3g}{unit} ({k * lo:.3g} to {k * hi:.3g})")
        return (f"Forest plot of impacts with {100 * (1 - self.alpha):g}% confidence intervals, "
                f"one panel per unit: {'; '.join(parts)}.")


def _decimals(std_error: float) -> int:
    """Decimals that show a number to about a tenth of its standard error (0 to 6)."""
    if not np.isfinite(std_error) or std_error <= 0:
        return 2
    return int(min(6, max(0, 1 - np.floor(np.log10(std_error)))))


def _num(v: float, decimals: int, *, sign: bool = False) -> str:
    if not np.isfinite(v):
        return str(v)
    return f"{v:+,.{decimals}f}" if sign else f"{v:,.{decimals}f}"
