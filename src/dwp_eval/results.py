"""Frozen result types and the conventions every result follows.

Every result is an immutable dataclass with

* ``to_frame()``: a pandas DataFrame with fixed snake_case columns (a copy);
* ``summary()``: readable text (``str(result)`` gives the same);
* ``_repr_html_()``: the summary and the table for notebooks.

A different analysis choice gives a new result; nothing is changed in place.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BalanceTable", "ResultMixin"]


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
