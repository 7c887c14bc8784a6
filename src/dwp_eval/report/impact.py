"""Report-style impact tables: the ITT effect on several outcomes (and within subgroups),
with p-values adjusted for multiple testing and tests of subgroup heterogeneity."""

from __future__ import annotations

import html
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.linalg import demean, fit_ols
from dwp_eval._core.sample import prepare_sample
from dwp_eval._core.variance import SE_TYPES, resolve_se_type, vcov
from dwp_eval._core.wald import wald_test
from dwp_eval._validation import (
    Seed,
    _fmt_list,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_option,
    check_seed,
)
from dwp_eval.errors import (
    DesignError,
    DroppedRowsWarning,
    DwpEvalError,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.multiplicity import (
    Hypothesis,
    adjust_p_values,
    check_draws,
    check_outcome_list,
    romano_wolf_family,
)
from dwp_eval.results import Effect, ResultMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CORRECTIONS",
    "HETEROGENEITY_COLUMNS",
    "IMPACT_COLUMNS",
    "EffectTable",
    "impact_table",
]

#: Corrections accepted by :func:`impact_table`, with the text used in summaries.
CORRECTIONS: dict[str, str] = {
    "holm": "Holm (1979)",
    "bonferroni": "Bonferroni",
    "bh": "Benjamini-Hochberg (1995) false discovery rate",
    "romano_wolf": "Romano-Wolf (2016) step-down bootstrap",
    "none": "no correction",
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
]

#: Label of the rows that use every person (no subgroup).
ALL = "all"


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

    def __len__(self) -> int:
        return len(self.effects)

    # ------------------------------------------------------------------ tables

    def to_frame(self) -> pd.DataFrame:
        """One row per effect, columns as in :data:`IMPACT_COLUMNS`."""
        rows = []
        for e, sub, fam, padj in zip(
            self.effects, self.subgroups, self.families, self.p_value_adjusted, strict=True
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
        """``1 - alpha`` confidence intervals of every row (default: the table's alpha)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="EffectTable.conf_int")
        lo_hi = [e.interval(a) for e in self.effects]
        return pd.DataFrame(
            {
                "term": [e.to_frame().loc[0, "term"] for e in self.effects],
                "outcome": [e.outcome for e in self.effects],
                "subgroup": list(self.subgroups),
                "conf_low": [v[0] for v in lo_hi],
                "conf_high": [v[1] for v in lo_hi],
            }
        )

    # ------------------------------------------------------------------ display

    def _cells(self) -> list[dict[str, str]]:
        """The report's formatted cells, one dict per row."""
        level = f"{100 * (1 - self.alpha):g}% CI"
        out = []
        for e, sub, padj in zip(self.effects, self.subgroups, self.p_value_adjusted, strict=True):
            lo, hi = e.interval()
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
                {
                    "outcome": e.outcome,
                    "subgroup": sub,
                    "control mean": means[0],
                    "treatment mean": means[1],
                    "impact": impact,
                    level: ci,
                    "p-value": _p(e.p_value),
                    "adjusted p-value": _p(padj),
                    "n": f"{e.n_obs:,}",
                }
            )
        return out

    def _title(self) -> str:
        e = self.effects[0]
        return (
            f"{e.estimand} impact of {e.treatment} vs {e.control} "
            f"({100 * (1 - self.alpha):g}% confidence intervals; p-values adjusted within "
            f"families: {CORRECTIONS[self.correction]})"
        )

    def _footnotes(self) -> list[str]:
        lines = []
        fams = list(dict.fromkeys(self.families))
        for fam in fams:
            members = [
                e.outcome if sub == ALL else f"{e.outcome} ({sub})"
                for e, sub, f in zip(self.effects, self.subgroups, self.families, strict=True)
                if f == fam
            ]
            lines.append(f"family {fam!r}: {', '.join(members)}")
        if self.correction == "romano_wolf" and self.draws is not None:
            lines.append(f"Romano-Wolf p-values from {self.draws:,} bootstrap draws")
        if any(e.binary_outcome for e in self.effects):
            lines.append("0/1 outcomes: means in %, impacts and intervals in percentage points (pp)")
        designs = sorted({f"{e.design} design, {e.se_type} standard errors" for e in self.effects})
        lines.append("; ".join(designs))
        het = self._heterogeneity
        if het is not None:
            for row in het.itertuples(index=False):
                lines.append(
                    f"heterogeneity by {row.by}, {row.outcome}: F({row.df_num:g}, "
                    f"{row.df_denom:.4g}) = {row.statistic:.3f}, p = {_p(row.p_value)} "
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
        left = {"outcome", "subgroup"}

        def fmt(values: Mapping[str, str]) -> str:
            return "  ".join(
                f"{values[c]:<{widths[c]}}" if c in left else f"{values[c]:>{widths[c]}}" for c in cols
            ).rstrip()

        lines = [self._title(), fmt({c: c for c in cols})]
        lines += [fmt(r) for r in cells]
        lines += [f"  {note}" for note in self._footnotes()]
        return "\n".join(lines)

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
        """Forest plot: the estimate and confidence interval of each row, and a zero line.

        Parameters
        ----------
        ax
            Axes to draw on (default: a new figure).
        outcome
            Plot only this outcome's rows. Outcomes in different units (pounds,
            days, percentage points) share one axis otherwise.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.

        Returns
        -------
        matplotlib.axes.Axes

        Notes
        -----
        0/1 outcomes are drawn in percentage points, others in their own units;
        a thin line separates outcomes.
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
        effects = [self.effects[i] for i in pick]
        subgroups = [self.subgroups[i] for i in pick]
        n = len(effects)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 0.35 * n + 1.5))
        scale = np.array([100.0 if e.binary_outcome else 1.0 for e in effects])
        est = np.array([e.estimate for e in effects]) * scale
        ci = np.array([e.interval() for e in effects]) * scale[:, None]
        ypos = np.arange(n)
        opts: dict[str, Any] = {"fmt": "o", "capsize": 3, "color": "C0"}
        opts.update(kwargs)
        ax.errorbar(est, ypos, xerr=[est - ci[:, 0], ci[:, 1] - est], **opts)
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        for i in range(1, n):
            if effects[i].outcome != effects[i - 1].outcome:
                ax.axhline(i - 0.5, color="lightgrey", lw=0.8)
        labels = [
            (e.outcome + (" (pp)" if e.binary_outcome else "")) if sub == ALL else f"    {sub}"
            for e, sub in zip(effects, subgroups, strict=True)
        ]
        ax.set_yticks(ypos, labels)
        ax.set_ylim(n - 0.5, -0.5)
        what = effects[0].outcome if outcome is not None else "impact"
        ax.set_xlabel(f"{what} ({100 * (1 - self.alpha):g}% CI)")
        return ax


def _decimals(std_error: float) -> int:
    """Decimals that show a number to about a tenth of its standard error (0 to 6)."""
    if not np.isfinite(std_error) or std_error <= 0:
        return 2
    return int(min(6, max(0, 1 - np.floor(np.log10(std_error)))))


def _num(v: float, decimals: int, *, sign: bool = False) -> str:
    if not np.isfinite(v):
        return str(v)
    return f"{v:+,.{decimals}f}" if sign else f"{v:,.{decimals}f}"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "nan"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


# --------------------------------------------------------------------------- checks


def _check_families(
    family: Mapping[str, Sequence[Hashable]] | None, outcomes: list[Hashable], func: str
) -> dict[str, list[Hashable]]:
    if family is None:
        return {"all outcomes": list(outcomes)}
    if not isinstance(family, Mapping) or not family:
        raise OptionError(
            f"The 'family' parameter of {func} must be a dict mapping a family name to a list "
            f"of outcomes, e.g. {{'primary': [...], 'secondary': [...]}}. Got {family!r} instead."
        )
    owner: dict[Hashable, str] = {}
    out: dict[str, list[Hashable]] = {}
    for name, members in family.items():
        cols = as_column_list(members)
        if not cols:
            raise OptionError(
                f"The 'family' parameter of {func}: family {name!r} lists no outcomes."
            )
        for o in cols:
            if o not in outcomes:
                raise OptionError(
                    f"The 'family' parameter of {func} names {o!r} (in family {name!r}), which "
                    f"is not in outcomes ({_fmt_list(outcomes)}). Fix: add it to outcomes= or "
                    "remove it from the family."
                )
            if o in owner:
                raise OptionError(
                    f"The 'family' parameter of {func} puts {o!r} in two families "
                    f"({owner[o]!r} and {name!r}); each outcome belongs to one family."
                )
            owner[o] = str(name)
        out[str(name)] = cols
    left = [o for o in outcomes if o not in owner]
    if left:
        raise OptionError(
            f"The 'family' parameter of {func} leaves {_fmt_list(left)} in no family. Fix: add "
            "each outcome to a family, e.g. family={'primary': [...], 'secondary': [...]}."
        )
    return out


def _sorted_levels(values: pd.Series) -> list[Any]:
    levels = list(pd.unique(values.dropna()))
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)


# --------------------------------------------------------------------------- impact_table


def impact_table(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[Hashable],
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    by: Hashable | None = None,
    correction: Literal["holm", "bonferroni", "bh", "romano_wolf", "none"] = "holm",
    family: Mapping[str, Sequence[Hashable]] | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
    draws: int = 1000,
    seed: Seed | None = None,
) -> EffectTable:
    """The ITT effect on each outcome (and within subgroups), with adjusted p-values.

    Each row is exactly what :func:`dwp_eval.itt` returns for that outcome (on
    the subgroup's rows for subgroup rows), so the table shows the control and
    treatment means, the impact, its confidence interval, the p-value, the
    p-value adjusted for multiple testing within its family, and the number
    analysed, as UK evaluation reports tabulate them.

    Parameters
    ----------
    data
        One row per person.
    outcomes
        The outcome columns, in the order of the table; each once.
    assigned, control, treatment, covariates, adjustment, strata, cluster, se_type, weights
        As for :func:`dwp_eval.itt`, used for every row.
    by
        A column of subgroups (e.g. health condition): adds one row per outcome
        and subgroup level, and a test of heterogeneity per outcome
        (:attr:`EffectTable.heterogeneity`).
    correction
        ``"holm"`` (default), ``"bonferroni"``, ``"bh"`` (Benjamini-Hochberg),
        ``"romano_wolf"`` (needs ``seed=``) or ``"none"``.
    family
        Families of outcomes within which p-values are adjusted, e.g.
        ``{"primary": ["employed_13_weeks"], "secondary": [...]}``; every
        outcome in exactly one family. Default: all outcomes form one family.
        Subgroup rows form their own family per outcome (``"<outcome> by
        <by>"``).
    alpha
        Significance level of the intervals.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome or
        covariate, outcome by outcome (a warning gives the counts; they are
        kept in :attr:`EffectTable.dropped`). With ``"drop"``, rows with a
        missing ``by`` are left out of the subgroup rows and tests only.
    draws
        Bootstrap draws for Romano-Wolf.
    seed
        An int or ``numpy.random.Generator``; required for Romano-Wolf.

    Returns
    -------
    EffectTable

    Notes
    -----
    *Corrections* are applied within each family to the rows' p-values (see
    :func:`dwp_eval.estimate.multiplicity.adjust_p_values`). Romano-Wolf
    (:func:`dwp_eval.estimate.multiplicity.romano_wolf`) resamples the trial
    as designed and recomputes every row of a family on the same draws; its
    adjusted p-value is reported as ``max(p_RW, p)`` so that an adjusted
    p-value is never below the row's own (t-test) p-value. That only makes
    the procedure more conservative, so familywise error control is kept.

    *Heterogeneity test.* For each outcome, on the rows with a subgroup, the
    regression

    ``Y_i = sum_l tau_l Z_i D_il + sum_{l>1} gamma_l D_il + beta'X_i + [strata] + e_i``

    with ``D_il`` the indicator of subgroup ``l``, baseline covariates ``X``
    entered additively (with Lin's interacted adjustment, part of a subgroup
    difference would be absorbed by the assignment x covariate terms), and
    strata as fixed effects. Subgroup main effects (or covariates) that the
    strata or the subgroups already span are left out. The Wald statistic
    for ``H0: tau_1 = ... = tau_L``, ``W = (R tau)' (R V R')^{-1} (R tau)``,
    uses the robust covariance ``V`` (``se_type``; default HC2, or CR2 when
    clustered) and is referred to an F distribution with ``q = L - 1`` and
    ``n - p`` degrees of freedom (``p`` parameters, strata included), or
    ``G - 1`` with clusters: ``F = W / q`` (as ``statsmodels``'s
    ``f_test`` does with a robust covariance; Wooldridge 2010, section 4.2.3).
    With few clusters this F test can over-reject; the Pustejovsky & Tipton
    (2018) HTZ test is the refinement.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dwp_eval.report.impact import impact_table
    >>> rng = np.random.default_rng(3)
    >>> n = 400
    >>> df = pd.DataFrame({"arm": np.tile(["control", "treatment"], n // 2),
    ...                    "female": rng.integers(0, 2, n)})
    >>> t = (df["arm"] == "treatment").to_numpy()
    >>> df["employed"] = (rng.random(n) < 0.3 + 0.1 * t).astype(int)
    >>> df["earnings"] = rng.normal(5000 + 600 * t, 2000).round(2)
    >>> tab = impact_table(df, outcomes=["employed", "earnings"], assigned="arm", by="female")
    >>> tab.to_frame()[["outcome", "subgroup", "estimate", "p_value", "p_value_adjusted"]].round(3)
        outcome  subgroup  estimate  p_value  p_value_adjusted
    0  employed       all     0.070    0.147             0.147
    1  employed  female=0     0.026    0.711             0.711
    2  employed  female=1     0.120    0.072             0.143
    3  earnings       all   795.218    0.000             0.000
    4  earnings  female=0   734.023    0.009             0.009
    5  earnings  female=1   858.169    0.003             0.006
    >>> tab.heterogeneity[["outcome", "statistic", "df_num", "df_denom", "p_value"]].round(3)
        outcome  statistic  df_num  df_denom  p_value
    0  employed      0.951     1.0     396.0    0.330
    1  earnings      0.096     1.0     396.0    0.757
    """
    func = "impact_table"
    data = check_data(data, func=func)
    outs = check_outcome_list(outcomes, func=func)
    correction = check_option(correction, tuple(CORRECTIONS), param="correction", func=func)  # type: ignore[assignment]
    alpha = check_alpha(alpha, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)  # type: ignore[assignment]
    families = _check_families(family, outs, func)
    draws = check_draws(draws, func=func)
    rng = None
    if correction == "romano_wolf":
        if seed is None:
            raise OptionError(
                f"{func}: correction='romano_wolf' resamples the data, so it needs seed=. Fix: "
                "pass a recorded integer, e.g. seed=20240601, so the adjusted p-values can be "
                "reproduced."
            )
        rng = check_seed(seed, func=func)
    check_columns(data, outs, role="outcomes", func=func)
    by_missing = 0
    if by is not None:
        check_columns(data, [by], role="by", func=func)
        by_na = data[by].isna().to_numpy()
        by_missing = int(by_na.sum())
        if by_missing and missing == "raise":
            raise MissingDataError(
                f"{func}: column {by!r} (by) has {by_missing:,} missing value(s). Fix: fill them "
                "(e.g. with 'unknown', which becomes a subgroup of its own), or pass "
                "missing='drop' to leave those rows out of the subgroup rows (they stay in the "
                "rows for everyone)."
            )
        if by_missing:
            warnings.warn(
                f"{func}: {by_missing:,} row(s) with missing {by} are left out of the subgroup "
                "rows and heterogeneity tests.",
                DroppedRowsWarning,
                stacklevel=2,
            )

    common: dict[str, Any] = dict(
        assigned=assigned, control=control, treatment=treatment, covariates=covariates,
        adjustment=adjustment, strata=strata, cluster=cluster, se_type=se_type,
        weights=weights, alpha=alpha, missing=missing,
    )
    design_args: dict[str, Any] = dict(
        assigned=assigned, covariates=covariates, adjustment=adjustment, strata=strata,
        cluster=cluster, se_type=se_type, weights=weights,
    )

    # rows: (effect, subgroup label, family, subset mask or None, outcome column, itt args)
    rows: list[tuple[Effect, str, str, np.ndarray | None, Hashable, dict[str, Any]]] = []
    family_of = {o: name for name, members in families.items() for o in members}
    levels: list[Any] = []
    masks: list[np.ndarray] = []
    if by is not None:
        levels = _sorted_levels(data[by])
        if len(levels) < 2:
            raise DesignError(
                f"{func}: column {by!r} (by) takes {len(levels)} value(s) ({_fmt_list(levels)}); "
                "subgroups need at least two."
            )
        masks = [(data[by] == lev).fillna(False).to_numpy(dtype=bool) for lev in levels]
    # a covariate constant within a subgroup (e.g. ``by`` itself) cannot adjust its rows
    covs = as_column_list(covariates)
    sub_args: list[dict[str, Any]] = []
    notes: list[str] = []
    for lev, mask in zip(levels, masks, strict=True):
        const = [c for c in covs if data.loc[mask, c].nunique(dropna=True) <= 1]
        args = dict(common)
        if const:
            args["covariates"] = [c for c in covs if c not in const]
            notes.append(
                f"subgroup {by}={lev}: {_fmt_list(const)} left out of the covariates "
                "(constant within the subgroup)"
            )
        sub_args.append(args)
    for o in outs:
        rows.append((_itt(data, o, common, f"outcome {o!r}"), ALL, family_of[o], None, o, common))
        for lev, mask, args in zip(levels, masks, sub_args, strict=True):
            label = f"{by}={lev}"
            eff = _itt(data.loc[mask], o, args, f"outcome {o!r}, subgroup {label}")
            rows.append((eff, label, f"{o} by {by}", mask, o, args))

    # adjusted p-values, family by family
    padj = np.full(len(rows), np.nan)
    fam_names = list(dict.fromkeys(r[2] for r in rows))
    for fam in fam_names:
        idx = [i for i, r in enumerate(rows) if r[2] == fam]
        p = np.array([rows[i][0].p_value for i in idx])
        if correction == "romano_wolf":
            assert rng is not None
            hyps = [
                Hypothesis(
                    rows[i][0].outcome if rows[i][1] == ALL else f"{rows[i][0].outcome}, {rows[i][1]}",
                    rows[i][4],
                    rows[i][3],
                    rows[i][0],
                    tuple(as_column_list(rows[i][5].get("covariates"))),
                )
                for i in idx
            ]
            rw = romano_wolf_family(
                data, hyps, **design_args, within=None if rows[idx[0]][3] is None else by,
                draws=draws, rng=rng, func=func,
            )
            padj[idx] = np.maximum(np.asarray(rw.p_value_adjusted), p)
        else:
            if np.any(~np.isfinite(p)):
                raise DesignError(
                    f"{func}: a p-value in family {fam!r} is undefined (zero standard error), so "
                    "the family cannot be adjusted."
                )
            padj[idx] = adjust_p_values(p, method=correction)

    het = None
    if by is not None:
        het_rows = [
            _interaction_test(
                data.loc[~data[by].isna().to_numpy()], o, by, control=control,
                treatment=treatment, missing=missing, func=func, **design_args,
            )
            for o in outs
        ]
        het = pd.DataFrame(het_rows, columns=HETEROGENEITY_COLUMNS)

    return EffectTable(
        effects=tuple(r[0] for r in rows),
        subgroups=tuple(r[1] for r in rows),
        families=tuple(r[2] for r in rows),
        p_value_adjusted=tuple(float(v) for v in padj),
        correction=correction,
        alpha=alpha,
        by=None if by is None else str(by),
        draws=draws if correction == "romano_wolf" else None,
        by_missing=by_missing,
        notes=tuple(notes),
        _heterogeneity=het,
    )


def _itt(data: pd.DataFrame, outcome: Hashable, common: dict[str, Any], where: str) -> Effect:
    """``itt`` for one row; its errors propagate unchanged, with a note saying which row."""
    try:
        return itt(data, outcome=outcome, **common)
    except DwpEvalError as err:
        err.add_note(f"(raised by impact_table for {where})")
        raise


# --------------------------------------------------------------------------- heterogeneity


def _independent(X: np.ndarray, first: int) -> np.ndarray:
    """Columns of ``X`` kept by a greedy pass: the first ``first`` always, then each column
    whose part not explained by the kept ones is more than 1e-8 of its length."""
    G = X.T @ X
    keep = list(range(first))
    for j in range(first, X.shape[1]):
        gjj = G[j, j]
        if gjj <= 1e-12 * max(1.0, float(np.max(np.diag(G)))):
            continue
        if keep:
            Gk = G[np.ix_(keep, keep)]
            gk = G[keep, j]
            resid = gjj - gk @ np.linalg.solve(Gk, gk)
        else:
            resid = gjj
        if resid > 1e-8 * gjj:
            keep.append(j)
    return np.asarray(keep, dtype=np.int64)


def _interaction_test(
    data: pd.DataFrame,
    outcome: Hashable,
    by: Hashable,
    *,
    assigned: Hashable,
    control: str,
    treatment: str | None,
    covariates: Sequence[Hashable] | None,
    adjustment: str,
    strata: Hashable | None,
    cluster: Hashable | None,
    se_type: str | None,
    weights: Hashable | None,
    missing: str,
    func: str,
) -> dict[str, Any]:
    """Wald test that the assignment effect is the same in every subgroup (see impact_table)."""
    covs = as_column_list(covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)  # itt has already warned
        prep, frame = prepare_sample(
            data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
            covariates=covs, strata=strata, cluster=cluster, weights=weights, missing=missing,
            func=func,
        )
    codes, levels = pd.factorize(frame[by], sort=True)
    L = len(levels)
    n = len(prep.y)
    z = prep.z
    D = np.zeros((n, L))
    D[np.arange(n), codes] = 1.0
    se_used = resolve_se_type(se_type, clustered=prep.cluster is not None, func=func)
    # weighted CR2 cannot absorb strata: enter them as dummies then
    absorb = prep.strata is not None and not (prep.weights is not None and SE_TYPES[se_used].clustered)

    blocks = [z[:, None] * D]
    names = [f"assigned:{by}={lev}" for lev in levels]
    if not absorb:
        blocks.insert(0, np.ones((n, 1)))
        names.insert(0, "(Intercept)")
    n_fixed = sum(b.shape[1] for b in blocks)
    blocks.append(D[:, 1:])
    names += [f"{by}={lev}" for lev in levels[1:]]
    if prep.strata is not None and not absorb:
        sd = np.zeros((n, int(prep.strata.max()) + 1))
        sd[np.arange(n), prep.strata] = 1.0
        blocks.append(sd[:, 1:])
        names += [f"stratum[{k}]" for k in range(1, sd.shape[1])]
    if prep.covariates.shape[1]:
        blocks.append(prep.covariates.to_numpy(dtype=float))
        names += [str(c) for c in prep.covariates.columns]
    X = np.hstack(blocks)

    # leave out columns the strata (or earlier columns) already span
    check = X
    if absorb and prep.strata is not None:
        check = demean(X, prep.strata, int(prep.strata.max()) + 1, prep.weights)
    if prep.weights is not None:
        check = check * np.sqrt(prep.weights)[:, None]
    keep = _independent(check, n_fixed)
    left_out = [names[j] for j in range(X.shape[1]) if j not in set(keep.tolist())]
    X = X[:, keep]
    names = [names[j] for j in keep]

    fit = fit_ols(
        X, prep.y, names, weights=prep.weights, fe_codes=prep.strata if absorb else None, func=func
    )
    V = vcov(fit, se_used, prep.cluster)
    tau = [names.index(f"assigned:{by}={lev}") for lev in levels]
    q = L - 1
    R = np.zeros((q, len(names)))
    R[:, tau[0]] = -1.0
    for i in range(q):
        R[i, tau[i + 1]] = 1.0
    if prep.cluster is not None:
        df2 = float(len(np.unique(prep.cluster)) - 1)
        df_label = "G - 1"
    else:
        df2 = float(fit.n - fit.rank)
        df_label = "n - p"
    test = wald_test(
        fit.beta, V.vcov, R, names=names, name=f"equal effects across {by}", se_type=se_used,
        df_denom=df2, null="the assignment effect is the same in every subgroup",
    )
    if not test.valid:
        raise DesignError(
            f"{func}: the covariance of the subgroup effects on {outcome!r} is singular, so "
            f"the heterogeneity test by {by!r} is undefined."
        )
    method = (
        f"Wald test of equal assignment effects across {L} subgroups, {se_used} covariance, "
        f"F({q}, {df_label})"
    )
    if absorb:
        method += ", strata fixed effects"
    elif prep.strata is not None:
        method += ", strata dummies"
    if covs:
        method += ", additive covariates"
    if left_out:
        method += f"; left out (already spanned): {', '.join(left_out)}"
    return {
        "outcome": str(outcome),
        "by": str(by),
        "n_subgroups": L,
        "statistic": test.statistic,
        "df_num": float(q),
        "df_denom": df2,
        "p_value": test.p_value,
        "wald_statistic": test.wald,
        "se_type": se_used,
        "n_obs": n,
        "method": method,
    }
