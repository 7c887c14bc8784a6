"""Treatment effects (ITT, CACE, ATT) with the CACE first stage, the
Anderson-Rubin set and the contamination sensitivity table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from dwp_eval._core.contract import (
    ArmCounts,
    IntervalEnds,
    OneInterval,
    Refit,
    ResultMixin,
    interval_frame,
)
from dwp_eval._core.format import df_text, number
from dwp_eval._core.wald import t_interval, t_p_value
from dwp_eval._validation import arm_phrase, check_alpha
from dwp_eval.errors import OptionError
from dwp_eval.results.palette import band_plot, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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
    "cluster_role",
]


@dataclass(frozen=True, eq=False, repr=False)
class FirstStage(OneInterval, ResultMixin):
    """The first stage of a CACE: how assignment moved receipt.

    Attributes
    ----------
    take_up_treatment, take_up_control
        Share with ``received = 1`` in each compared arm (raw means).
    difference, std_error, df
        Coefficient of assignment in the regression of ``received`` on
        assignment (and the covariates and strata of the CACE), its standard
        error by the CACE's ``se_type`` and its degrees of freedom. Without
        covariates or strata ``difference`` is
        ``take_up_treatment - take_up_control``.
    f_statistic, df_denominator
        Robust Wald F of the first stage, ``(difference / std_error)^2`` on
        ``(1, df_denominator)`` degrees of freedom (``n - p``, or ``G - 1``
        with clusters, as estimatr's ``iv_robust(diagnostics = TRUE)``).
    effective_f
        Montiel Olea & Pflueger (2013) effective F. With one instrument it
        equals the robust Wald F (their eq. 11 with ``K = 1``).
    """

    received: str
    treatment: str
    control: str
    take_up_treatment: float
    take_up_control: float
    difference: float
    std_error: float
    df: float
    f_statistic: float
    df_denominator: float
    effective_f: float
    se_type: str
    alpha: float = 0.05

    @property
    def p_value(self) -> float:
        """p-value of the robust F test of no first stage."""
        from scipy import stats

        return float(stats.f.sf(self.f_statistic, 1, self.df_denominator))

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: the ``1 - alpha`` interval for the first-stage difference."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="FirstStage.conf_int")
        return t_interval(self.difference, self.std_error, self.df, a)

    def _interval_term(self) -> str:
        return f"{self.received}: {self.treatment} vs {self.control}"

    def to_frame(self) -> pd.DataFrame:
        """One row: ``received, take_up_treatment, take_up_control, difference, std_error,
        df, conf_low, conf_high, f_statistic, df_denominator, effective_f, p_value, se_type``."""
        lo, hi = self.interval()
        row = {
            "received": self.received,
            "take_up_treatment": self.take_up_treatment,
            "take_up_control": self.take_up_control,
            "difference": self.difference,
            "std_error": self.std_error,
            "df": self.df,
            "conf_low": lo,
            "conf_high": hi,
            "f_statistic": self.f_statistic,
            "df_denominator": self.df_denominator,
            "effective_f": self.effective_f,
            "p_value": self.p_value,
            "se_type": self.se_type,
        }
        return pd.DataFrame([row])

    def summary(self) -> str:
        lo, hi = self.interval()
        return "\n".join([
            f"First stage: {self.received} on assignment ({self.treatment} vs {self.control})",
            f"  take-up         {self.treatment} {100 * self.take_up_treatment:.2f}%, "
            f"{self.control} {100 * self.take_up_control:.2f}%",
            f"  difference      {100 * self.difference:.2f} pp (SE {100 * self.std_error:.2f} pp), "
            f"{100 * (1 - self.alpha):g}% CI [{100 * lo:.2f}, {100 * hi:.2f}] pp",
            f"  robust F        {number(self.f_statistic)} on (1, {df_text(self.df_denominator)}) "
            f"df, p = {self.p_value:.4g}; effective F {number(self.effective_f)}; SE {self.se_type}",
        ])

    def __repr__(self) -> str:
        return (f"<FirstStage {self.received}: {100 * self.difference:.2f} pp, "
                f"F = {self.f_statistic:.4g}>")


@dataclass(frozen=True, eq=False, repr=False)
class ARInterval(ResultMixin):
    """An Anderson-Rubin confidence set for the CACE (Anderson & Rubin 1949).

    The set of effects ``b`` not rejected by the test of no effect of
    assignment on ``outcome - b * received``. It keeps its coverage however
    weak the first stage is, and so need not be an interval:

    * ``"bounded"``: ``[low, high]``, when the first stage is significant
      at ``alpha``;
    * ``"two rays"``: ``(-inf, low] U [high, inf)``, when it is not and the
      data still exclude the effects between;
    * ``"whole line"``: every effect is compatible with the data (no
      information about the CACE at this level);
    * ``"ray"``: ``(-inf, high]`` or ``[low, inf)`` (a boundary case).

    ``pieces`` holds the closed pieces as ``(low, high)`` pairs (with
    ``-inf``/``inf`` for unbounded ends).
    """

    pieces: tuple[tuple[float, float], ...]
    kind: str
    alpha: float
    df: float

    @property
    def bounded(self) -> bool:
        """Whether the set is one finite interval."""
        return self.kind == "bounded"

    @property
    def low(self) -> float:
        """Smallest effect in the set (``-inf`` when unbounded below)."""
        return self.pieces[0][0]

    @property
    def high(self) -> float:
        """Largest effect in the set (``inf`` when unbounded above)."""
        return self.pieces[-1][1]

    def contains(self, value: float) -> bool:
        """Whether ``value`` is in the set."""
        return any(lo <= value <= hi for lo, hi in self.pieces)

    def text(self, fmt: Callable[[float], str] = number) -> str:
        """The set as text, saying in words when it is unbounded."""

        def end(v: float) -> str:
            return ("-inf" if v < 0 else "inf") if not np.isfinite(v) else fmt(v)

        if self.kind == "whole line":
            return "(-inf, inf): the whole line; the data rule out no effect (first stage too weak)"
        parts = []
        for lo, hi in self.pieces:
            left = "(" if not np.isfinite(lo) else "["
            right = ")" if not np.isfinite(hi) else "]"
            parts.append(f"{left}{end(lo)}, {end(hi)}{right}")
        out = " U ".join(parts)
        if self.kind == "two rays":
            out += ": unbounded, two rays (first stage not significant)"
        elif self.kind == "ray":
            out += ": unbounded"
        return out

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The set's pieces, one row each (``term, conf_low, conf_high``). Only the
        set's own level is available: ``alpha`` other than the set's raises."""
        if alpha is not None and check_alpha(alpha, func="ARInterval.conf_int") != self.alpha:
            raise OptionError(
                f"ARInterval.conf_int: this set is at alpha = {self.alpha:g}; another level "
                "needs a new set. Fix: re-run cace(..., alpha=...)."
            )
        n = len(self.pieces)
        return interval_frame(["Anderson-Rubin"] * n, [p[0] for p in self.pieces],
                              [p[1] for p in self.pieces])

    def to_frame(self) -> pd.DataFrame:
        """One row per piece: ``term, conf_low, conf_high, kind, alpha``."""
        out = self.conf_int()
        out["kind"] = self.kind
        out["alpha"] = self.alpha
        return out

    def summary(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<ARInterval {self.text()}>"


@dataclass(frozen=True, eq=False, repr=False)
class Effect(IntervalEnds, ArmCounts, ResultMixin):
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
        People analysed in each compared arm (a read-only mapping).
    control_mean, treatment_mean
        Outcome means in the two arms (weighted when weights are used).
    se_type, design
        The variance estimator (``HC2``, ``CR2``, ...; for the design-based
        blocked estimators ``neyman (blocked)``, ``HC2 (blocked)`` (weighted)
        or ``CR2 (blocked)``, the combination of within-stratum variances; for
        pairs ``matched-pair``) and the design label (``standard``,
        ``blocked``, ``clustered``, ``block-clustered``, ``matched-pair``,
        ``matched-pair clustered``, ``partially nested``, ``blocked partially
        nested``).
    cluster_role
        ``"design"`` when whole clusters were randomised; ``"variance"`` when
        people were randomised and the clusters (villages, providers,
        caseloads) only group the errors for a cluster-robust variance (the
        estimate is the unclustered design's own); ``"partially nested"`` when
        one arm's people are clustered and each of the other arm's is their
        own cluster (``itt(..., nested_in=)``); ``None`` without clusters.
    dropped
        Rows dropped for missing values, by column (``missing="drop"``; a
        read-only mapping).
    first_stage, itt, ar_interval
        CACE only (``None`` otherwise): the :class:`FirstStage`, the ITT
        (reduced form, same covariates, strata and variance) whose ratio to
        the first-stage difference is the CACE, and the Anderson-Rubin
        :class:`ARInterval`, valid however weak the first stage.
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
    n_by_arm: Mapping[str, int]
    control_mean: float
    treatment_mean: float
    se_type: str
    design: str
    method: str
    covariates: tuple[str, ...] = ()
    n_clusters: int | None = None
    n_strata: int | None = None
    binary_outcome: bool = False
    dropped: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    cluster_role: str | None = None
    #: the arm column's name, for readable numeric labels ("treatment (arm = 1)")
    assigned: str | None = None
    _refit: Refit | None = None
    #: CACE only: the first stage, the ITT (reduced form) it is the ratio of, and
    #: the Anderson-Rubin interval; ``None`` for other estimands.
    first_stage: FirstStage | None = None
    itt: Effect | None = None
    ar_interval: ARInterval | None = None
    #: ATT from a 2x2 difference-in-differences only: outcome means by group and
    #: period (read with :attr:`group_means`).
    _group_means: pd.DataFrame | None = None

    @property
    def group_means(self) -> pd.DataFrame | None:
        """ATT from a 2x2 difference-in-differences only: outcome means by group and
        period (``dwp_eval.did``; a new copy each time); ``None`` otherwise."""
        return None if self._group_means is None else self._group_means.copy()

    @property
    def statistic(self) -> float:
        return self.estimate / self.std_error if self.std_error > 0 else float("nan")

    @property
    def p_value(self) -> float:
        return t_p_value(self.statistic, self.df)

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: the ``1 - alpha`` confidence interval (default: the
        result's alpha) from a t distribution with ``df`` degrees of freedom.

        ``alpha`` must be a number in (0, 1); anything else raises
        :class:`~dwp_eval.errors.OptionError`.
        """
        a = self.alpha if alpha is None else check_alpha(alpha, func="Effect.conf_int")
        return t_interval(self.estimate, self.std_error, self.df, a)

    def with_se(self, se_type: str, *, cluster: Any = None) -> Effect:
        """The same point estimate with another variance estimator, as a new result.

        The estimator is kept: a regression result is refitted with ``se_type``;
        a design-based difference in means keeps its estimate and takes the
        variance from the regression whose coefficient equals it (e.g. for a
        blocked design, assignment interacted with centred stratum dummies),
        or raises :class:`~dwp_eval.errors.OptionError` naming the se_types
        available for the design when no such regression exists. The design's
        own label (e.g. ``"neyman (blocked)"``) gives back the design-based
        variance.

        The result keeps the prepared arrays it was estimated from (read-only),
        never the caller's DataFrame, so ``cluster=None`` keeps the result's own
        clusters and new clusters are passed as the column itself: a pandas
        Series aligned with the data by its index (``cluster=df["office"]``) or
        an array with one label per analysed row. Clusters that hold both arms
        (villages of an individually randomised trial) cluster the variance only
        (``cluster_role="variance"`` on the new result).
        """
        if self._refit is None:
            raise OptionError(
                f"with_se: this {self.estimand} ({self.design}) cannot be re-estimated with "
                f"another se_type: its standard error ({self.se_type}) does not come from a "
                "regression variance. Fix: re-run the estimator that made it with the "
                "options it offers (e.g. staggered_did(..., cluster=...))."
            )
        return cast(Effect, self._refit(se_type=se_type, cluster=cluster))

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
            "cluster_role": self.cluster_role,
        }
        return pd.DataFrame([row], columns=EFFECT_COLUMNS)

    def _fmt(self, v: float) -> str:
        return f"{100 * v:.2f} pp" if self.binary_outcome else number(v)

    def _fmt_mean(self, v: float) -> str:
        # a mean of a 0/1 outcome is a share (%); differences between shares are in pp
        return f"{100 * v:.2f}%" if self.binary_outcome else number(v)

    def summary(self) -> str:
        lo, hi = self.interval()
        level = f"{100 * (1 - self.alpha):g}%"
        t_arm = arm_phrase(self.treatment, "treatment", self.assigned)
        c_arm = arm_phrase(self.control, "control", self.assigned)
        lines = [
            f"{self.estimand} of {t_arm} vs {c_arm} on {self.outcome}",
            f"  estimate        {self._fmt(self.estimate)}  (SE {self._fmt(self.std_error)})",
            f"  {level + ' CI':<16}[{self._fmt(lo)}, {self._fmt(hi)}]",
            f"  t = {self.statistic:.3f}, df = {df_text(self.df)}, p = {self.p_value:.4g}",
            f"  means           {'control' if c_arm == 'control' else c_arm} "
            f"{self._fmt_mean(self.control_mean)}, {t_arm} {self._fmt_mean(self.treatment_mean)}",
            f"  n               {self.n_obs:,} ({', '.join(f'{a} {n:,}' for a, n in self.n_by_arm.items())})",
            f"  design          {self.design}; {self.method}; SE {self.se_type}",
        ]
        if self.n_clusters is not None:
            role = {
                "design": " (whole clusters randomised)",
                "variance": " (for the variance only: people were randomised)",
                "partially nested": " (partially nested: each unclustered person their own)",
            }.get(self.cluster_role or "", "")
            lines.append(f"  clusters        {self.n_clusters:,}{role}")
        if self.n_strata is not None:
            lines.append(f"  strata          {self.n_strata:,}")
        if self.covariates:
            lines.append(f"  covariates      {', '.join(self.covariates)}")
        for col, n in self.dropped.items():
            lines.append(f"  dropped         {n:,} row(s) with missing {col}")
        if self.first_stage is not None:
            fs = self.first_stage
            lines.append(
                f"  first stage     take-up {fs.treatment} {100 * fs.take_up_treatment:.1f}%, "
                f"{fs.control} {100 * fs.take_up_control:.1f}%; difference "
                f"{100 * fs.difference:.2f} pp (SE {100 * fs.std_error:.2f} pp)"
            )
            lines.append(
                f"                  robust F = {number(fs.f_statistic)} (1, {df_text(fs.df_denominator)} "
                f"df), effective F = {number(fs.effective_f)}"
            )
        if self.itt is not None:
            ilo, ihi = self.itt.interval()
            lines.append(
                f"  ITT             {self.itt._fmt(self.itt.estimate)} (SE "
                f"{self.itt._fmt(self.itt.std_error)}), {level} CI [{self.itt._fmt(ilo)}, "
                f"{self.itt._fmt(ihi)}]"
            )
        if self.ar_interval is not None:
            lines.append(f"  {'AR ' + level + ' CI':<16}{self.ar_interval.text(self._fmt)}")
        if self.group_means is not None:
            lines.append("  group means")
            table = self.group_means.to_string(
                index=False, float_format=lambda v: number(float(v)), na_rep=""
            )
            lines.extend("    " + row for row in table.splitlines())
        lines.extend(f"  note            {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<Effect {self.estimand} {self.outcome}: {self._fmt(self.estimate)} "
            f"(SE {self._fmt(self.std_error)}, {self.se_type}, {self.design})>"
        )


SENSITIVITY_COLUMNS = ["theta", "estimate", "std_error", "conf_low", "conf_high", "ar_low",
                       "ar_high", "ar_kind", "first_stage", "df"]


@dataclass(frozen=True, eq=False, repr=False)
class SensitivityTable(ResultMixin):
    """The CACE if controls' similar provision was a fraction ``theta`` as effective
    as the programme (:func:`dwp_eval.estimate.cace.contamination_sensitivity`).

    ``to_frame()`` has one row per ``theta`` with the columns of
    ``SENSITIVITY_COLUMNS``: the estimate, its t interval, the Anderson-Rubin
    set's ends and kind, the first-stage difference in the dose and the df.
    ``itt`` is the same at every ``theta``.
    """

    _frame: pd.DataFrame
    outcome: str
    treatment: str
    control: str
    itt: float
    itt_std_error: float
    take_up_treatment: float
    contaminated_control: float
    alpha: float
    se_type: str
    binary_outcome: bool = False

    def to_frame(self) -> pd.DataFrame:
        return self._frame.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The t intervals of the CACE at every ``theta`` (``term`` is ``theta = ...``),
        at the table's own level (another level needs a new table)."""
        if alpha is not None and check_alpha(alpha, func="SensitivityTable.conf_int") != self.alpha:
            raise OptionError(
                f"SensitivityTable.conf_int: this table is at alpha = {self.alpha:g}; another "
                "level needs a new table. Fix: re-run contamination_sensitivity(..., alpha=...)."
            )
        f = self._frame
        return interval_frame([f"theta = {t:g}" for t in f["theta"]], f["conf_low"], f["conf_high"])

    def _fmt(self, v: float) -> str:
        if not np.isfinite(v):
            return "-inf" if v < 0 else "inf"
        return f"{100 * v:.2f} pp" if self.binary_outcome else number(v)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"Contamination sensitivity of the CACE of {self.treatment} vs {self.control} on "
            f"{self.outcome}",
            f"  ITT {self._fmt(self.itt)} (SE {self._fmt(self.itt_std_error)}); take-up "
            f"{100 * self.take_up_treatment:.1f}%, contaminated controls "
            f"{100 * self.contaminated_control:.1f}%; SE {self.se_type}",
            "  theta = effect of controls' similar provision relative to the programme",
            f"  {'theta':>5}  {'estimate':>10}  {level + ' CI':>26}  {'AR ' + level + ' set':>26}",
        ]
        for r in self._frame.itertuples(index=False):
            ci = f"[{self._fmt(r.conf_low)}, {self._fmt(r.conf_high)}]"
            ar = f"[{self._fmt(r.ar_low)}, {self._fmt(r.ar_high)}]"
            if r.ar_kind == "two rays":
                ar = "two rays"
            lines.append(f"  {r.theta:>5.2f}  {self._fmt(r.estimate):>10}  {ci:>26}  {ar:>26}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<SensitivityTable {self.outcome}: {len(self._frame)} values of theta>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The effect against ``theta`` with its t interval as a band."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        f = self._frame
        scale = 100.0 if self.binary_outcome else 1.0
        band_plot(ax, f["theta"], f, scale=scale, alpha=self.alpha, label="CACE", **kwargs)
        ax.set_xlabel("theta: effect of similar provision relative to the programme")
        ax.set_ylabel(f"effect on {self.outcome}" + (" (pp)" if self.binary_outcome else ""))
        ax.legend(loc="best")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        f = self._frame
        ends = [f.iloc[0], f.iloc[-1]] if len(f) > 1 else [f.iloc[0]]
        said = "; ".join(f"at theta = {r['theta']:g}, {self._fmt(r['estimate'])} "
                         f"[{self._fmt(r['conf_low'])}, {self._fmt(r['conf_high'])}]" for r in ends)
        return (f"CACE on {self.outcome} against theta, the effect of controls' similar provision "
                f"relative to the programme, with its {100 * (1 - self.alpha):g}% interval as a "
                f"band ({len(f)} values of theta): {said}.")


# --- power, MDE and sample size (dwp_eval.design.power) ------------------------------
