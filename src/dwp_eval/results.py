"""Frozen result types and the conventions every result follows.

Every result is an immutable dataclass with

* ``to_frame()``: a pandas DataFrame with fixed snake_case columns (a copy);
* ``summary()``: readable text (``str(result)`` gives the same);
* ``_repr_html_()``: the summary and the table for notebooks.

A different analysis choice gives a new result; nothing is changed in place.
"""

from __future__ import annotations

import abc
import html
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from dwp_eval._validation import check_alpha

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ARInterval",
    "BalanceTable",
    "BalanceTest",
    "Effect",
    "FirstStage",
    "PowerCurve",
    "PowerResult",
    "ReadOnlyMappings",
    "ResultMixin",
    "SensitivityTable",
]


class ResultMixin(abc.ABC):
    """Shared display behaviour of result types; each defines ``to_frame`` and ``summary``."""

    @abc.abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame with fixed snake_case columns (a copy)."""

    @abc.abstractmethod
    def summary(self) -> str:
        """The result as readable text."""

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = self.summary().splitlines()[0] if self.summary() else type(self).__name__
        return f"<p><strong>{html.escape(head)}</strong></p>" + self.to_frame().to_html(
            index=False, float_format=lambda v: f"{v:.4g}"
        )


class ReadOnlyMappings:
    """Mixin for frozen result dataclasses whose mapping fields must not change.

    Each field named in ``_MAPPINGS`` is replaced by a read-only view of a
    private copy (``None`` stays ``None``), so a result cannot be changed
    through a dict it was given or through the mapping it returns; views do
    not pickle, so pickling stores plain dicts and re-wraps them on loading.
    """

    _MAPPINGS: ClassVar[tuple[str, ...]] = ()

    def _freeze_mappings(self) -> None:
        for name in self._MAPPINGS:
            value = getattr(self, name)
            frozen = None if value is None else MappingProxyType(dict(value))
            object.__setattr__(self, name, frozen)

    def __post_init__(self) -> None:
        self._freeze_mappings()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in self._MAPPINGS:
            value = state[name]
            state[name] = None if value is None else dict(value)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()


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
            f"  F = {self.statistic:.4g} on ({self.df_num}, {_df_text(self.df_denom)}) df, "
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
            f"({self.df_num}, {_df_text(self.df_denom)}), p = {self.p_value:.4g}>"
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
    n_by_arm: dict[str, int]
    threshold: float = 0.1
    omnibus: tuple[BalanceTest, ...] = ()
    strata: str | None = None
    cluster: str | None = None

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
                    f"{_df_text(t.df_denom)}) df, p = {t.p_value:.4g}; {t._ri_text()}"
                )
                lines.extend(f"  {'':<12} note: {note}" for note in t.notes)
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


def _number(v: float) -> str:
    """A number for reading: from 1,000 up thousands-separated with one decimal
    (``1,234.6``); below, four significant digits (``456.7``, ``1.235``,
    ``0.01235``); scientific notation only under 0.0001 (``1.235e-05``)."""
    if not np.isfinite(v):
        return f"{v}"
    if v == 0:
        return "0"
    magnitude = abs(float(f"{v:.4g}"))  # after rounding: 999.96 -> 1000
    if magnitude >= 1000:
        return f"{v:,.1f}"
    if magnitude < 1e-4:
        return f"{v:.4g}"
    return f"{v:.{3 - int(np.floor(np.log10(magnitude)))}f}"


def _df_text(df: float) -> str:
    """Degrees of freedom: whole numbers without decimals (``5,100``), others as
    :func:`_number` (``192.3``)."""
    if np.isfinite(df) and float(df).is_integer():
        return f"{df:,.0f}"
    return _number(df)


@dataclass(frozen=True, eq=False, repr=False)
class FirstStage(ResultMixin):
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

    def conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """``1 - alpha`` interval for the first-stage difference."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="FirstStage.conf_int")
        return t_interval(self.difference, self.std_error, self.df, a)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``received, take_up_treatment, take_up_control, difference, std_error,
        df, conf_low, conf_high, f_statistic, df_denominator, effective_f, p_value, se_type``."""
        lo, hi = self.conf_int()
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
        lo, hi = self.conf_int()
        return "\n".join([
            f"First stage: {self.received} on assignment ({self.treatment} vs {self.control})",
            f"  take-up         {self.treatment} {100 * self.take_up_treatment:.2f}%, "
            f"{self.control} {100 * self.take_up_control:.2f}%",
            f"  difference      {100 * self.difference:.2f} pp (SE {100 * self.std_error:.2f} pp), "
            f"{100 * (1 - self.alpha):g}% CI [{100 * lo:.2f}, {100 * hi:.2f}] pp",
            f"  robust F        {_number(self.f_statistic)} on (1, {_df_text(self.df_denominator)}) "
            f"df, p = {self.p_value:.4g}; effective F {_number(self.effective_f)}; SE {self.se_type}",
        ])

    def __repr__(self) -> str:
        return (f"<FirstStage {self.received}: {100 * self.difference:.2f} pp, "
                f"F = {self.f_statistic:.4g}>")


@dataclass(frozen=True, eq=False, repr=False)
class ARInterval:
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

    def text(self, fmt: Callable[[float], str] = _number) -> str:
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

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<ARInterval {self.text()}>"


@dataclass(frozen=True, eq=False, repr=False)
class Effect(ReadOnlyMappings, ResultMixin):
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
        ``matched-pair clustered``).
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
    _refit: Callable[..., Effect] | None = None
    #: CACE only: the first stage, the ITT (reduced form) it is the ratio of, and
    #: the Anderson-Rubin interval; ``None`` for other estimands.
    first_stage: FirstStage | None = None
    itt: Effect | None = None
    ar_interval: ARInterval | None = None
    #: ATT from a 2x2 difference-in-differences only: outcome means by group and
    #: period (``dwp_eval.did``); ``None`` otherwise.
    group_means: pd.DataFrame | None = None

    _MAPPINGS = ("n_by_arm", "dropped")

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
        """The ``1 - alpha`` confidence interval (default: the result's alpha).

        ``alpha`` must be a number in (0, 1); anything else raises
        :class:`~dwp_eval.errors.OptionError`.
        """
        a = self.alpha if alpha is None else check_alpha(alpha, func="Effect.conf_int")
        return t_interval(self.estimate, self.std_error, self.df, a)

    def with_se(self, se_type: str, *, cluster: Hashable | None = None) -> Effect:
        """The same point estimate with another variance estimator, as a new result.

        The estimator is kept: a regression result is refitted with ``se_type``;
        a design-based difference in means keeps its estimate and takes the
        variance from the regression whose coefficient equals it (e.g. for a
        blocked design, assignment interacted with centred stratum dummies),
        or raises :class:`~dwp_eval.errors.OptionError` naming the se_types
        available for the design when no such regression exists. The design's
        own label (e.g. ``"neyman (blocked)"``) gives back the design-based
        variance. ``cluster=None`` keeps the result's cluster column; naming
        one analyses the data as clustered by it.
        """
        if self._refit is None:
            from dwp_eval.errors import OptionError

            raise OptionError(
                f"with_se: this {self.estimand} ({self.design}) cannot be re-estimated with "
                f"another se_type: its standard error ({self.se_type}) does not come from a "
                "regression variance. Fix: re-run the estimator that made it with the "
                "options it offers (e.g. staggered_did(..., cluster=...))."
            )
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
        return f"{100 * v:.2f} pp" if self.binary_outcome else _number(v)

    def _fmt_mean(self, v: float) -> str:
        # a mean of a 0/1 outcome is a share (%); differences between shares are in pp
        return f"{100 * v:.2f}%" if self.binary_outcome else _number(v)

    def summary(self) -> str:
        lo, hi = self.conf_int()
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"{self.estimand} of {self.treatment} vs {self.control} on {self.outcome}",
            f"  estimate        {self._fmt(self.estimate)}  (SE {self._fmt(self.std_error)})",
            f"  {level + ' CI':<16}[{self._fmt(lo)}, {self._fmt(hi)}]",
            f"  t = {self.statistic:.3f}, df = {_df_text(self.df)}, p = {self.p_value:.4g}",
            f"  means           control {self._fmt_mean(self.control_mean)}, "
            f"{self.treatment} {self._fmt_mean(self.treatment_mean)}",
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
        if self.first_stage is not None:
            fs = self.first_stage
            lines.append(
                f"  first stage     take-up {fs.treatment} {100 * fs.take_up_treatment:.1f}%, "
                f"{fs.control} {100 * fs.take_up_control:.1f}%; difference "
                f"{100 * fs.difference:.2f} pp (SE {100 * fs.std_error:.2f} pp)"
            )
            lines.append(
                f"                  robust F = {_number(fs.f_statistic)} (1, {_df_text(fs.df_denominator)} "
                f"df), effective F = {_number(fs.effective_f)}"
            )
        if self.itt is not None:
            ilo, ihi = self.itt.conf_int()
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
                index=False, float_format=lambda v: _number(float(v)), na_rep=""
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

    def _fmt(self, v: float) -> str:
        if not np.isfinite(v):
            return "-inf" if v < 0 else "inf"
        return f"{100 * v:.2f} pp" if self.binary_outcome else _number(v)

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
        ax.fill_between(f["theta"], scale * f["conf_low"], scale * f["conf_high"], alpha=0.25,
                        label=f"{100 * (1 - self.alpha):g}% CI")
        ax.plot(f["theta"], scale * f["estimate"], marker="o", ms=3, label="CACE", **kwargs)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("theta: effect of similar provision relative to the programme")
        ax.set_ylabel(f"effect on {self.outcome}" + (" (pp)" if self.binary_outcome else ""))
        ax.legend(loc="best")
        return ax


# --- power, MDE and sample size (dwp_eval.design.power) ------------------------------

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
        the effect given times ``take_up - contamination`` otherwise.
    mde_cace
        The same on the CACE scale: ``mde / (take_up - contamination)``.
    power
        Probability of rejecting the null at ``alpha`` when the ITT effect is ``mde``.
    std_error
        Standard error of the ITT estimate at that effect.
    df, multiplier
        The design's degrees of freedom and ``mde / std_error`` (Bloom 1995).
    unrounded
        ``sample_size`` only: the continuous solution (people, or clusters in a
        cluster design) before rounding up each arm.
    comparisons
        One row per treatment arm compared with control (the fields above are
        those of the least powered comparison).
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
    comparisons: tuple[dict[str, Any], ...] = ()

    @property
    def binary(self) -> bool:
        """Whether the outcome is binary (``baseline_rate`` given)."""
        return self.baseline_rate is not None

    def _fmt(self, v: float) -> str:
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
            people += f" in {self.n_clusters:,} clusters"
        head = f"With {people}, {self._ratio_text()}, {_pct(self.power)} power and a {test}"
        on = f" on {self.outcome}" if self.outcome else ""
        if self.binary:
            on = on or " on the outcome"
            on += f" (base {_pct(self.baseline_rate or 0.0)})"
        diluted = self.take_up != 1.0 or self.contamination != 0.0
        if self.solved_for == "power":
            first = (
                f"With {people}, {self._ratio_text()}, and a {test}, the power to detect an ITT "
                f"effect of {self._fmt(self.mde)}{on} is {_pct(self.power)}"
            )
        elif self.solved_for == "n":
            first = (
                f"To detect an ITT effect of {self._fmt(self.mde)}{on} with {_pct(self.power)} "
                f"power and a {test} you need {people}, {self._ratio_text()}"
            )
        else:
            first = f"{head}, the smallest ITT effect you can detect{on} is {self._fmt(self.mde)}"
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
        if self.n_clusters_per_arm is not None:
            cl = ", ".join(f"{a} {k:,}" for a, k in self.n_clusters_per_arm.items())
            lines.append(
                f"  clusters        {self.n_clusters:,} ({cl}); mean size {self.cluster_size:g}, "
                f"ICC {self.icc:g}, CV of sizes {self.cluster_size_cv:g}"
            )
        lines.append(f"  design          {self.design}")
        lines.append(
            f"  ITT             {self._fmt(self.mde)} (SE {self._fmt(self.std_error)}); "
            f"CACE {self._fmt(self.mde_cace)}"
        )
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
            lines.append(f"  unrounded       {self.unrounded:,.2f} {unit} before rounding up each arm")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<PowerResult n={self.n:,} mde={self._fmt(self.mde)} "
            f"mde_cace={self._fmt(self.mde_cace)} power={self.power:.3f}>"
        )


@dataclass(frozen=True, eq=False, repr=False)
class PowerCurve(ResultMixin):
    """Power over a grid of sample sizes and/or effects (:func:`dwp_eval.power_curve`).

    ``to_frame()`` has one row per grid point with columns ``n``, ``n_clusters``,
    ``effect`` (the effect given, CACE scale), ``effect_itt`` and ``power``;
    ``plot()`` draws power against the axis that varies, one line per value of
    the other.
    """

    _frame: pd.DataFrame
    x: str
    alpha: float
    target_power: float
    outcome: str | None = None

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
        for value, g in f.groupby(other, sort=True, dropna=False):
            ax.plot(g[self.x], g["power"], marker="o", ms=3, label=f"{other} = {value:g}", **kwargs)
        ax.axhline(self.target_power, color="grey", lw=0.8, ls="--")
        ax.set_ylim(0, 1)
        ax.set_xlabel(self.x if self.x != "effect" else "effect (CACE scale)")
        ax.set_ylabel(f"power (alpha = {self.alpha:g})")
        if f[other].nunique() > 1:
            ax.legend(loc="lower right")
        if self.outcome:
            ax.set_title(self.outcome)
        return ax
