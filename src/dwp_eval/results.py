"""Frozen result types and the conventions every result follows.

Every result is an immutable dataclass with

* ``to_frame()``: a pandas DataFrame with fixed snake_case columns (a copy);
* ``summary()``: readable text (``str(result)`` gives the same);
* ``_repr_html_()``: the summary and the table for notebooks.

A different analysis choice gives a new result; nothing is changed in place.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BalanceTable", "Effect", "ResultMixin"]


class ResultMixin:
    """Shared display behaviour of result types."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = self.summary().splitlines()[0] if self.summary() else type(self).__name__
        return f"<p><strong>{html.escape(head)}</strong></p>" + self.to_frame().to_html(
            index=False, float_format=lambda v: f"{v:.4g}"
        )


BALANCE_COLUMNS = [
    "covariate",
    "arm",
    "n_control",
    "n_arm",
    "mean_control",
    "mean_arm",
    "sd_control",
    "sd_arm",
    "std_diff",
    "variance_ratio",
]


@dataclass(frozen=True, eq=False, repr=False)
class BalanceTable(ResultMixin):
    """Baseline balance of covariates across arms.

    One row per covariate (or category of a categorical covariate) and arm
    compared with the control arm: counts, means, standard deviations, the
    standardised difference ``(mean_arm - mean_control) / sqrt((sd_arm^2 +
    sd_control^2) / 2)`` (Austin 2009) and the variance ratio ``sd_arm^2 /
    sd_control^2``.
    """

    _frame: pd.DataFrame
    control: str
    arms: tuple[str, ...]
    covariates: tuple[str, ...]
    n_by_arm: dict[str, int]
    threshold: float = 0.1

    def to_frame(self) -> pd.DataFrame:
        """The balance table (columns as in ``BALANCE_COLUMNS``)."""
        return self._frame.copy()

    @property
    def max_abs_std_diff(self) -> float:
        """The largest absolute standardised difference in the table."""
        return float(self._frame["std_diff"].abs().max())

    def summary(self) -> str:
        f = self._frame
        n = ", ".join(f"{a} {c:,}" for a, c in self.n_by_arm.items())
        lines = [f"Baseline balance ({n}; control: {self.control})"]
        width = max([len(str(c)) for c in f["covariate"]] + [9])
        lines.append(
            f"  {'covariate':<{width}}  {'arm':<12} {'mean ctrl':>11} {'mean arm':>11} "
            f"{'std diff':>9} {'var ratio':>9}"
        )
        for row in f.itertuples(index=False):
            flag = "  *" if abs(row.std_diff) >= self.threshold else ""
            lines.append(
                f"  {row.covariate!s:<{width}}  {row.arm!s:<12} {row.mean_control:>11.4g} "
                f"{row.mean_arm:>11.4g} {row.std_diff:>9.3f} {row.variance_ratio:>9.3f}{flag}"
            )
        lines.append(
            f"  largest |std diff| {self.max_abs_std_diff:.3f}"
            f" (* marks |std diff| >= {self.threshold:g})"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<BalanceTable {len(self.covariates)} covariates, max |std diff| {self.max_abs_std_diff:.3f}>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Love plot: standardised difference per covariate, one marker per arm."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(self._frame["covariate"].unique()) + 1.5))
        f = self._frame
        labels = list(dict.fromkeys(f["covariate"]))
        ypos = {c: i for i, c in enumerate(labels)}
        for arm, g in f.groupby("arm", sort=False, observed=True):
            ax.scatter(g["std_diff"], [ypos[c] for c in g["covariate"]], label=str(arm), **kwargs)
        ax.axvline(0, color="grey", lw=0.8)
        for x in (-self.threshold, self.threshold):
            ax.axvline(x, color="grey", lw=0.8, ls="--")
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel("standardised difference (arm - control)")
        ax.legend(title="arm vs control", loc="best")
        return ax


EFFECT_COLUMNS = [
    "estimand",
    "outcome",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df",
    "alpha",
    "n_obs",
    "n_control",
    "n_treatment",
    "control_mean",
    "treatment_mean",
    "se_type",
    "design",
]


def t_interval(estimate: float, std_error: float, df: float, alpha: float) -> tuple[float, float]:
    """``estimate -/+ t_{1-alpha/2, df} * std_error`` (normal quantile when df is infinite)."""
    from scipy import stats

    q = float(stats.norm.ppf(1 - alpha / 2)) if not np.isfinite(df) else float(stats.t.ppf(1 - alpha / 2, df))
    return estimate - q * std_error, estimate + q * std_error


def t_p_value(statistic: float, df: float) -> float:
    """Two-sided p-value of a t statistic with ``df`` degrees of freedom."""
    from scipy import stats

    if not np.isfinite(statistic):
        return float("nan")
    if not np.isfinite(df):
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), df))


@dataclass(frozen=True, eq=False, repr=False)
class Effect(ResultMixin):
    """An estimated treatment effect (ITT, CACE, ATT) with design-based inference.

    Attributes
    ----------
    estimand
        ``"ITT"``, ``"CACE"`` or ``"ATT"``.
    estimate, std_error, statistic, p_value, conf_low, conf_high, df
        The effect, its standard error, ``estimate / std_error``, the two-sided
        p-value and ``1 - alpha`` interval from a t distribution with ``df``
        degrees of freedom.
    n_by_arm
        People analysed in each compared arm.
    control_mean, treatment_mean
        Outcome means in the two arms (weighted when weights are used).
    se_type, design
        The variance estimator (``HC2``, ``CR2``, ...) and the design label
        (``standard``, ``blocked``, ``clustered``, ``block-clustered``,
        ``matched-pair``, ``matched-pair clustered``).
    """

    estimand: str
    outcome: str
    treatment: str
    control: str
    estimate: float
    std_error: float
    df: float
    alpha: float
    n_obs: int
    n_by_arm: dict[str, int]
    control_mean: float
    treatment_mean: float
    se_type: str
    design: str
    method: str
    covariates: tuple[str, ...] = ()
    n_clusters: int | None = None
    n_strata: int | None = None
    binary_outcome: bool = False
    dropped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    _refit: Callable[..., Effect] | None = None

    @property
    def statistic(self) -> float:
        return self.estimate / self.std_error if self.std_error > 0 else float("nan")

    @property
    def p_value(self) -> float:
        return t_p_value(self.statistic, self.df)

    @property
    def conf_low(self) -> float:
        return self.conf_int(self.alpha)[0]

    @property
    def conf_high(self) -> float:
        return self.conf_int(self.alpha)[1]

    @property
    def n_control(self) -> int:
        return int(self.n_by_arm.get(self.control, 0))

    @property
    def n_treatment(self) -> int:
        return int(self.n_by_arm.get(self.treatment, 0))

    def conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """The ``1 - alpha`` confidence interval (default: the result's alpha)."""
        a = self.alpha if alpha is None else float(alpha)
        if not 0 < a < 1:
            raise ValueError(f"alpha must be in (0, 1). Got {alpha!r}.")
        return t_interval(self.estimate, self.std_error, self.df, a)

    def with_se(self, se_type: str, *, cluster: Hashable | None = None) -> Effect:
        """The same estimate with another variance estimator, as a new result."""
        if self._refit is None:
            raise ValueError("This result cannot be re-estimated: it was not made by an estimator.")
        return self._refit(se_type=se_type, cluster=cluster)

    def to_frame(self) -> pd.DataFrame:
        row = {
            "estimand": self.estimand,
            "outcome": self.outcome,
            "term": f"{self.treatment} vs {self.control}",
            "estimate": self.estimate,
            "std_error": self.std_error,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
            "df": self.df,
            "alpha": self.alpha,
            "n_obs": self.n_obs,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "control_mean": self.control_mean,
            "treatment_mean": self.treatment_mean,
            "se_type": self.se_type,
            "design": self.design,
        }
        return pd.DataFrame([row], columns=EFFECT_COLUMNS)

    def _fmt(self, v: float) -> str:
        return f"{100 * v:.2f} pp" if self.binary_outcome else f"{v:,.4g}"

    def summary(self) -> str:
        lo, hi = self.conf_int()
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"{self.estimand} of {self.treatment} vs {self.control} on {self.outcome}",
            f"  estimate        {self._fmt(self.estimate)}  (SE {self._fmt(self.std_error)})",
            f"  {level + ' CI':<16}[{self._fmt(lo)}, {self._fmt(hi)}]",
            f"  t = {self.statistic:.3f}, df = {self.df:.4g}, p = {self.p_value:.4g}",
            f"  means           control {self._fmt(self.control_mean)}, "
            f"{self.treatment} {self._fmt(self.treatment_mean)}",
            f"  n               {self.n_obs:,} ({', '.join(f'{a} {n:,}' for a, n in self.n_by_arm.items())})",
            f"  design          {self.design}; {self.method}; SE {self.se_type}",
        ]
        if self.n_clusters is not None:
            lines.append(f"  clusters        {self.n_clusters:,}")
        if self.n_strata is not None:
            lines.append(f"  strata          {self.n_strata:,}")
        if self.covariates:
            lines.append(f"  covariates      {', '.join(self.covariates)}")
        for col, n in self.dropped.items():
            lines.append(f"  dropped         {n:,} row(s) with missing {col}")
        lines.extend(f"  note            {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<Effect {self.estimand} {self.outcome}: {self._fmt(self.estimate)} "
            f"(SE {self._fmt(self.std_error)}, {self.se_type}, {self.design})>"
        )
