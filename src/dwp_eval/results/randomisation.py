"""Results of inference by re-drawing: the randomisation test (re-drawn
assignments) and the wild cluster bootstrap (re-drawn cluster weights), each
with its test-inversion interval and p-value function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ArmCounts, OneInterval, ResultMixin
from dwp_eval._core.inversion import PValueFunction
from dwp_eval._validation import check_alpha
from dwp_eval.errors import OptionError

__all__ = ["BOOTSTRAP_COLUMNS", "RI_COLUMNS", "BootstrapTest", "RandomisationTest"]


class _ByTestInversion(OneInterval):
    """Intervals and p-values by inverting a test on the same draws (``_pfun``)."""

    alpha: float
    conf_low: float
    conf_high: float
    _pfun: PValueFunction | None
    #: The function that makes the result, for messages.
    _MAKER: ClassVar[str] = ""

    def _function(self) -> PValueFunction:
        if self._pfun is None:
            raise OptionError(
                f"{type(self).__name__}: this result was not made by {self._MAKER}, so it has "
                "no p-value function."
            )
        return self._pfun

    def p_value_at(self, effect: float) -> float:
        """The p-value of the hypothesis of a constant effect ``effect`` (same draws)."""
        return self._function()(float(effect))

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: the ``1 - alpha`` interval by test inversion (default: the
        result's alpha), from the same draws."""
        a = self.alpha if alpha is None else check_alpha(alpha, func=f"{type(self).__name__}.conf_int")
        if a == self.alpha:
            return self.conf_low, self.conf_high
        return self._function().interval(a)


RI_COLUMNS = [
    "outcome",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "p_value_mc_se",
    "conf_low",
    "conf_high",
    "df",
    "alpha",
    "draws",
    "n_obs",
    "n_control",
    "n_treatment",
    "test_statistic",
    "se_type",
    "design",
]


@dataclass(frozen=True, eq=False, repr=False)
class RandomisationTest(_ByTestInversion, ArmCounts, ResultMixin):
    """A randomisation (permutation) test of no effect, with the interval from inverting it.

    Attributes
    ----------
    estimate
        The observed difference in means (blocked when stratified; of people
        when clustered).
    std_error
        The standard error used to studentise (see :func:`randomisation_test`);
        with ``test_statistic="difference"``, the standard deviation of the
        difference over the re-drawn assignments.
    statistic
        The observed test statistic: the studentised difference or the raw
        difference.
    p_value, p_value_mc_se
        Two-sided p-value and its Monte Carlo standard error (0 when every
        assignment was enumerated).
    conf_low, conf_high
        The ``1 - alpha`` interval: every constant effect not rejected at
        ``alpha``. An infinite end means no effect that large is rejected
        (too few draws or assignments).
    draws, enumerated
        The number of re-drawn assignments, and whether these were all the
        assignments the design could produce.
    null_statistics
        The statistic under each re-drawn assignment (read-only array).
    design, se_type, test_statistic
        Design label (``complete``, ``stratified``, ``cluster``,
        ``stratified-cluster``, with ``permuted blocks`` or ``re-randomised``
        when the allocation says so), the variance used to studentise and the
        statistic's name.
    """

    outcome: str
    treatment: str
    control: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    p_value_mc_se: float
    conf_low: float
    conf_high: float
    alpha: float
    draws: int
    enumerated: bool
    test_statistic: str
    se_type: str
    design: str
    n_obs: int
    n_by_arm: Mapping[str, int]
    n_strata: int | None
    n_clusters: int | None
    null_statistics: np.ndarray
    notes: tuple[str, ...] = ()
    acceptance_rate: float | None = None
    _pfun: PValueFunction | None = field(default=None, repr=False)

    _MAKER = "randomisation_test"

    @property
    def df(self) -> float:
        """Not used: the reference distribution is the randomisation distribution (NaN)."""
        return float("nan")

    @property
    def critical_value(self) -> float:
        """The ``1 - alpha`` quantile of ``|statistic|`` over the re-drawn assignments."""
        return float(np.quantile(np.abs(self.null_statistics), 1 - self.alpha))

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns in ``RI_COLUMNS``."""
        row = {
            "outcome": self.outcome,
            "term": f"{self.treatment} vs {self.control}",
            "estimate": self.estimate,
            "std_error": self.std_error,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_value_mc_se": self.p_value_mc_se,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
            "df": self.df,
            "alpha": self.alpha,
            "draws": self.draws,
            "n_obs": self.n_obs,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "test_statistic": self.test_statistic,
            "se_type": self.se_type,
            "design": self.design,
        }
        return pd.DataFrame([row], columns=RI_COLUMNS)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        how = (
            f"all {self.draws:,} assignments enumerated"
            if self.enumerated
            else f"{self.draws:,} random re-draws"
        )
        q = np.quantile(self.null_statistics, [0.025, 0.5, 0.975]) if self.draws else [np.nan] * 3
        lines = [
            f"Randomisation test of {self.treatment} vs {self.control} on {self.outcome}",
            f"  estimate        {self.estimate:,.4g}  (SE {self.std_error:,.4g})",
            f"  statistic       {self.statistic:.4g} ({self.test_statistic}; SE {self.se_type})",
            f"  p-value         {self.p_value:.4g}"
            + (f" (Monte Carlo SE {self.p_value_mc_se:.2g})" if not self.enumerated else " (exact)"),
            f"  {level + ' CI':<16}[{self.conf_low:,.4g}, {self.conf_high:,.4g}] (test inversion, "
            "constant effect)",
            f"  null            {how}; statistic median {q[1]:.3g}, 95% range "
            f"[{q[0]:.3g}, {q[2]:.3g}]",
            f"  n               {self.n_obs:,} ({', '.join(f'{a} {n:,}' for a, n in self.n_by_arm.items())})",
            f"  design          {self.design}",
        ]
        if self.n_clusters is not None:
            lines.append(f"  clusters        {self.n_clusters:,}")
        if self.n_strata is not None:
            lines.append(f"  strata          {self.n_strata:,}")
        if self.acceptance_rate is not None:
            lines.append(f"  re-randomised   {self.acceptance_rate:.3g} of candidate draws met the rule")
        lines.extend(f"  note            {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<RandomisationTest {self.outcome}: {self.estimate:,.4g}, p = {self.p_value:.4g} "
            f"({self.draws:,} {'assignments' if self.enumerated else 'draws'}, {self.design})>"
        )


# --------------------------------------------------------------------------- drawing


BOOTSTRAP_COLUMNS = [
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
    "draws",
    "n_obs",
    "n_clusters",
    "weights",
    "se_type",
    "design",
]


@dataclass(frozen=True, eq=False, repr=False)
class BootstrapTest(_ByTestInversion, ResultMixin):
    """A wild cluster bootstrap-t test of no effect, with its test-inversion interval.

    Attributes
    ----------
    estimate, std_error, statistic
        The OLS coefficient of assignment, its CR1 standard error and the CR1 t
        statistic of ``H0: effect = 0``.
    p_value
        The bootstrap p-value: the share of bootstrap ``|t*|`` at least as
        large as ``|t|``.
    conf_low, conf_high
        The ``1 - alpha`` interval: every effect not rejected by the bootstrap
        test at ``alpha`` (infinite when no effect that large is rejected).
    draws, enumerated
        Number of bootstrap samples, and whether they are every distinct weight
        vector (then the p-value is exactly reproducible).
    weights, impose_null, n_clusters
        Weight distribution, whether the null was imposed (WCR) or not (WCU),
        and the number of clusters ``G``.
    null_statistics
        The bootstrap t statistics for ``H0: effect = 0`` (read-only).
    """

    outcome: str
    treatment: str
    control: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    alpha: float
    draws: int
    enumerated: bool
    weights: str
    impose_null: bool
    n_clusters: int
    n_obs: int
    n_by_arm: Mapping[str, int]
    covariates: tuple[str, ...]
    n_strata: int | None
    null_statistics: np.ndarray
    notes: tuple[str, ...] = ()
    _pfun: PValueFunction | None = field(default=None, repr=False)

    _MAKER = "wild_cluster_bootstrap"

    @property
    def df(self) -> float:
        """Not used: the reference distribution is the bootstrap distribution (NaN)."""
        return float("nan")

    @property
    def se_type(self) -> str:
        return "CR1"

    @property
    def design(self) -> str:
        return ("stratified-cluster" if self.n_strata else "cluster") + (
            " (WCR)" if self.impose_null else " (WCU)"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns in ``BOOTSTRAP_COLUMNS``."""
        row = {
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
            "draws": self.draws,
            "n_obs": self.n_obs,
            "n_clusters": self.n_clusters,
            "weights": self.weights,
            "se_type": self.se_type,
            "design": self.design,
        }
        return pd.DataFrame([row], columns=BOOTSTRAP_COLUMNS)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        how = (
            f"all {self.draws:,} {self.weights} weight vectors enumerated"
            if self.enumerated
            else f"{self.draws:,} {self.weights} draws"
        )
        lines = [
            f"Wild cluster bootstrap of {self.treatment} vs {self.control} on {self.outcome}",
            f"  estimate        {self.estimate:,.4g}  (CR1 SE {self.std_error:,.4g})",
            f"  t (CR1)         {self.statistic:.4g}",
            f"  p-value         {self.p_value:.4g} ({'WCR, null imposed' if self.impose_null else 'WCU'})",
            f"  {level + ' CI':<16}[{self.conf_low:,.4g}, {self.conf_high:,.4g}] (test inversion)",
            f"  bootstrap       {how}",
            f"  n               {self.n_obs:,} ({', '.join(f'{a} {n:,}' for a, n in self.n_by_arm.items())})",
            f"  clusters        {self.n_clusters:,}",
        ]
        if self.n_strata is not None:
            lines.append(f"  strata          {self.n_strata:,} (fixed effects)")
        if self.covariates:
            lines.append(f"  covariates      {', '.join(self.covariates)}")
        lines.extend(f"  note            {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<BootstrapTest {self.outcome}: {self.estimate:,.4g}, p = {self.p_value:.4g} "
            f"({self.draws:,} {self.weights} draws, G = {self.n_clusters})>"
        )
