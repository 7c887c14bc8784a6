"""Baseline balance results: the descriptive table and the omnibus test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval._core.format import df_text
from dwp_eval.results.palette import GREY, SERIES, VERMILLION, fit_tick_labels, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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

#: Columns of :meth:`BalanceTable.omnibus_frame` (one row per arm compared with control).
OMNIBUS_COLUMNS = [
    "arm",
    "control",
    "statistic",
    "df_num",
    "df_denom",
    "p_value",
    "wald",
    "ri_p_value",
    "ri_draws",
    "ri_mcse",
    "se_type",
    "design",
    "n_obs",
    "n_strata",
    "n_clusters",
]


@dataclass(frozen=True, eq=False, repr=False)
class BalanceTest(ResultMixin):
    """The omnibus test of balance of one arm against control
    (:func:`dwp_eval.monitor.balance.balance`).

    The 0/1 indicator of the arm, among people in the arm or in control, is
    regressed on all the covariates (strata as fixed effects); the test is of
    the hypothesis that every covariate coefficient is zero.

    Attributes
    ----------
    arm, control
        The arm tested and the control arm.
    statistic
        The F statistic ``wald / df_num``.
    df_num, df_denom
        Its degrees of freedom: the number of covariate coefficients ``q``, and
        ``n - p`` (people minus all parameters, strata or the intercept
        included) or, with clusters, ``G - 1``.
    p_value
        ``P(F(df_num, df_denom) >= statistic)``.
    wald
        The Wald statistic ``b' V^{-1} b`` of the covariate coefficients ``b``
        with their robust covariance ``V`` (``se_type``).
    ri_p_value, ri_mcse, ri_draws, ri_enumerated
        The randomisation-test p-value of the same statistic with the
        assignment re-drawn as the design drew it, its Monte Carlo standard
        error (0 when every assignment was enumerated), the number of re-drawn
        assignments, and whether they were all of the design's assignments.
        ``None`` and ``0`` when no randomisation test was run.
    se_type, design
        The covariance (``HC2``; ``CR2`` with clusters) and the design the
        assignments are re-drawn by (``complete``, ``stratified``,
        ``cluster``, ``stratified-cluster``).
    n_obs, n_strata, n_clusters, terms
        People in the regression, strata and clusters (``None`` without), and
        the names of the covariate columns tested.
    """

    arm: str
    control: str
    statistic: float
    df_num: int
    df_denom: float
    p_value: float
    wald: float
    ri_p_value: float | None
    ri_draws: int
    ri_mcse: float | None
    se_type: str
    design: str
    n_obs: int
    terms: tuple[str, ...]
    n_strata: int | None = None
    n_clusters: int | None = None
    ri_enumerated: bool = False
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns of ``OMNIBUS_COLUMNS`` (``ri_p_value`` and
        ``ri_mcse`` are NaN when no randomisation test was run: ``ri_draws`` 0)."""
        row = {
            "arm": self.arm,
            "control": self.control,
            "statistic": self.statistic,
            "df_num": self.df_num,
            "df_denom": self.df_denom,
            "p_value": self.p_value,
            "wald": self.wald,
            "ri_p_value": np.nan if self.ri_p_value is None else self.ri_p_value,
            "ri_draws": self.ri_draws,
            "ri_mcse": np.nan if self.ri_mcse is None else self.ri_mcse,
            "se_type": self.se_type,
            "design": self.design,
            "n_obs": self.n_obs,
            "n_strata": self.n_strata,
            "n_clusters": self.n_clusters,
        }
        return pd.DataFrame([row], columns=OMNIBUS_COLUMNS)

    def _ri_text(self) -> str:
        if self.ri_p_value is None:
            return "no randomisation test (pass seed= to run one)"
        if self.ri_enumerated:
            return (
                f"randomisation p = {self.ri_p_value:.4g} (all {self.ri_draws:,} assignments, "
                "exact)"
            )
        return (
            f"randomisation p = {self.ri_p_value:.4g} ({self.ri_draws:,} draws, "
            f"MC SE {self.ri_mcse:.2g})"
        )

    def summary(self) -> str:
        lines = [
            f"Omnibus balance test of {self.arm} vs {self.control}: the arm regressed on "
            f"{self.df_num} covariate term(s)",
            f"  F = {self.statistic:.4g} on ({self.df_num}, {df_text(self.df_denom)}) df, "
            f"p = {self.p_value:.4g} (Wald {self.wald:.4g}; SE {self.se_type})",
            f"  {self._ri_text()}",
            f"  n {self.n_obs:,}; design {self.design}"
            + (f"; {self.n_strata:,} strata" if self.n_strata is not None else "")
            + (f"; {self.n_clusters:,} clusters" if self.n_clusters is not None else ""),
        ]
        lines.extend(f"  note {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<BalanceTest {self.arm} vs {self.control}: F = {self.statistic:.4g} "
            f"({self.df_num}, {df_text(self.df_denom)}), p = {self.p_value:.4g}>"
        )


@dataclass(frozen=True, eq=False, repr=False)
class BalanceTable(ResultMixin):
    """Baseline balance of covariates across arms.

    One row per covariate (or category of a categorical covariate) and arm
    compared with the control arm: counts, means, standard deviations, the
    standardised difference ``(mean_arm - mean_control) / sqrt((sd_arm^2 +
    sd_control^2) / 2)`` (Austin 2009) and the variance ratio ``sd_arm^2 /
    sd_control^2``.

    ``omnibus`` holds one :class:`BalanceTest` per arm compared with control
    (empty with ``omnibus=False``); :meth:`omnibus_frame` puts them in a table.
    ``strata`` and ``cluster`` name the columns the omnibus test used.
    """

    _frame: pd.DataFrame
    control: str
    arms: tuple[str, ...]
    covariates: tuple[str, ...]
    n_by_arm: Mapping[str, int]
    threshold: float = 0.1
    omnibus: tuple[BalanceTest, ...] = ()
    strata: str | None = None
    cluster: str | None = None
    #: rows dropped for missing values (``balance(..., missing="drop")``), by column
    dropped: Mapping[str, int] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The balance table (columns as in ``BALANCE_COLUMNS``)."""
        return self._frame.copy()

    def omnibus_frame(self) -> pd.DataFrame:
        """The omnibus tests, one row per arm compared with control (columns as in
        ``OMNIBUS_COLUMNS``; no rows when the table was made with ``omnibus=False``)."""
        if not self.omnibus:
            return pd.DataFrame(columns=OMNIBUS_COLUMNS)
        return pd.concat([t.to_frame() for t in self.omnibus], ignore_index=True)

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
        lines.extend(f"  dropped {n:,} row(s) with missing {c}" for c, n in self.dropped.items())
        if self.omnibus:
            t0 = self.omnibus[0]
            fe = f"fixed effects of {self.strata}" if self.strata is not None else "an intercept"
            cl = f", clusters {self.cluster}" if self.cluster is not None else ""
            lines.append(
                f"Omnibus test: each arm (vs {self.control}) regressed on the covariates and "
                f"{fe}; F test of all covariate coefficients, SE {t0.se_type}{cl}"
            )
            for t in self.omnibus:
                lines.append(
                    f"  {t.arm!s:<12} F = {t.statistic:.4g} on ({t.df_num}, "
                    f"{df_text(t.df_denom)}) df, p = {t.p_value:.4g}; {t._ri_text()}"
                )
                lines.extend(f"  {'':<12} note: {note}" for note in t.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<BalanceTable {len(self.covariates)} covariates, max |std diff| {self.max_abs_std_diff:.3f}>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Love plot: standardised difference per covariate, one marker per arm.

        Covariates with ``|std diff| >= threshold`` are circled (and listed in
        the figure's ``alt_text``); the dashed lines are the threshold. The new
        figure (``ax=None``) is sized for the number of covariates, and the tick
        labels shrink to fit a given ``ax``, so they never overlap. Arms take the
        Okabe-Ito colours and distinct marker shapes. ``**kwargs`` go to
        :meth:`matplotlib.axes.Axes.scatter`.
        """
        import matplotlib.pyplot as plt

        f = self._frame
        labels = list(dict.fromkeys(f["covariate"]))
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 0.3 * len(labels) + 1.6))
        ypos = {c: i for i, c in enumerate(labels)}
        markers = "osD^v<>P"
        for i, (arm, g) in enumerate(f.groupby("arm", sort=False, observed=True)):
            opts = {"color": SERIES[i % len(SERIES)], "marker": markers[i % len(markers)],
                    "zorder": 3, **kwargs}
            ax.scatter(g["std_diff"], [ypos[c] for c in g["covariate"]], label=str(arm), **opts)
        flagged = f[f["std_diff"].abs() >= self.threshold]
        if len(flagged):
            ax.scatter(flagged["std_diff"], [ypos[c] for c in flagged["covariate"]], s=240,
                       facecolors="none", edgecolors=VERMILLION, linewidths=1.4, zorder=4,
                       label=f"|std diff| \u2265 {self.threshold:g}")
        ax.axvline(0, color=GREY, lw=0.8)
        for x in (-self.threshold, self.threshold):
            ax.axvline(x, color=GREY, lw=0.8, ls="--")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        fit_tick_labels(ax, len(labels))
        ax.set_xlabel("standardised difference (arm - control)")
        ax.legend(title="arm vs control", loc="best", fontsize="small")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """One sentence describing :meth:`plot` (for screen readers)."""
        f = self._frame
        flagged = list(dict.fromkeys(f.loc[f["std_diff"].abs() >= self.threshold, "covariate"]))
        marked = (f"{len(flagged)} circled at or beyond the threshold: "
                  f"{', '.join(map(str, flagged))}" if flagged else "none beyond the threshold")
        return (f"Balance plot: standardised differences (arm minus control) of "
                f"{len(dict.fromkeys(f['covariate']))} baseline covariates, largest absolute "
                f"{self.max_abs_std_diff:.3f}; threshold \u00b1{self.threshold:g}; {marked}.")
