"""The simulated operating characteristics of a design: :class:`Diagnosis`, made by
:func:`~dwp_eval.diagnose`, with Monte Carlo standard errors (Morris, White &
Crowther 2019, *Statistics in Medicine* 38:2074-2102, Table 6)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin

__all__ = ["DIAGNOSIS_COLUMNS", "Diagnosis"]

#: Columns of :meth:`Diagnosis.to_frame`.
DIAGNOSIS_COLUMNS = ["metric", "value", "mc_se", "description"]


@dataclass(frozen=True, eq=False, repr=False)
class Diagnosis(ResultMixin):
    """The simulated operating characteristics of a design and estimator.

    Made by :func:`~dwp_eval.diagnose`. Per-simulation values are in :meth:`draws`;
    :meth:`to_frame` has one row per metric (columns ``metric``, ``value``,
    ``mc_se``, ``description``).

    Attributes
    ----------
    estimator, design, se_type, method
        The estimator (``"itt"``), the design label it reported
        (``standard``, ``blocked``, ``clustered`` ...), its variance
        estimator, and how the simulations were run (``"batched"``: the
        estimator evaluated for many assignments at once; ``"loop"``: one
        estimator call per simulation).
    sims, n, alpha, effect
        Simulations, people per simulated trial (the mean when the population
        is redrawn), the significance level and the ``effect=`` given (or
        ``None`` when the population supplies ``y1``).
    estimates, std_errors, conf_low, conf_high, p_values, truths
        One value per simulation (read-only arrays); ``truths`` is the true
        effect in that simulation's population, ``mean(y1 - y0)``.
    """

    estimator: str
    design: str
    se_type: str
    method: str
    sims: int
    n: float
    alpha: float
    effect: float | None
    estimates: np.ndarray
    std_errors: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    p_values: np.ndarray
    truths: np.ndarray
    seed: int | None = None

    # -- metrics (Morris, White & Crowther 2019, Table 6) ---------------------------

    @property
    def estimand(self) -> float:
        """The mean over simulations of the true effect ``mean(y1 - y0)``."""
        return float(np.mean(self.truths))

    @property
    def bias(self) -> float:
        """``mean(estimate - truth)``."""
        return float(np.mean(self.estimates - self.truths))

    @property
    def bias_mc_se(self) -> float:
        """``sd(estimate - truth) / sqrt(S)``."""
        return _mean_se(self.estimates - self.truths)

    @property
    def rmse(self) -> float:
        """``sqrt(mean((estimate - truth)^2))``."""
        return float(np.sqrt(np.mean((self.estimates - self.truths) ** 2)))

    @property
    def rmse_mc_se(self) -> float:
        """Delta method: ``MCSE(MSE) / (2 RMSE)``, ``MCSE(MSE) = sd(err^2) / sqrt(S)``."""
        err2 = (self.estimates - self.truths) ** 2
        rmse = self.rmse
        return _mean_se(err2) / (2 * rmse) if rmse > 0 else 0.0

    @property
    def empirical_se(self) -> float:
        """Standard deviation of the estimates over simulations."""
        return float(np.std(self.estimates, ddof=1)) if self.sims > 1 else float("nan")

    @property
    def empirical_se_mc_se(self) -> float:
        """``empirical_se / sqrt(2 (S - 1))``."""
        return self.empirical_se / math.sqrt(2 * (self.sims - 1)) if self.sims > 1 else float("nan")

    @property
    def mean_se(self) -> float:
        """``sqrt(mean(std_error^2))``: the model standard error (Morris et al.'s ModSE)."""
        return float(np.sqrt(np.mean(self.std_errors**2)))

    @property
    def mean_se_mc_se(self) -> float:
        """``sqrt(var(std_error^2) / (4 S ModSE^2))``."""
        m = self.mean_se
        return _mean_se(self.std_errors**2) / (2 * m) if m > 0 else 0.0

    @property
    def coverage(self) -> float:
        """Share of ``1 - alpha`` intervals that contain the truth."""
        return float(np.mean((self.conf_low <= self.truths) & (self.truths <= self.conf_high)))

    @property
    def coverage_mc_se(self) -> float:
        """``sqrt(C (1 - C) / S)``."""
        return _prop_se(self.coverage, self.sims)

    @property
    def power(self) -> float:
        """Share of simulations rejecting ``effect = 0`` at ``alpha`` (two-sided)."""
        return float(np.mean(self.p_values < self.alpha))

    @property
    def power_mc_se(self) -> float:
        """``sqrt(P (1 - P) / S)``."""
        return _prop_se(self.power, self.sims)

    @property
    def mean_width(self) -> float:
        """Mean length of the ``1 - alpha`` interval."""
        return float(np.mean(self.conf_high - self.conf_low))

    @property
    def mean_width_mc_se(self) -> float:
        """``sd(width) / sqrt(S)``."""
        return _mean_se(self.conf_high - self.conf_low)

    # -- sign and magnitude among significant results (Gelman & Carlin 2014) ---------

    @property
    def _significant(self) -> np.ndarray:
        return np.asarray(self.p_values < self.alpha)

    @property
    def sign_magnitude_undefined(self) -> str | None:
        """Why :attr:`type_s` and :attr:`type_m` are not defined (``None`` when they are):
        a true effect of zero has no sign to get wrong and no size to exaggerate, and
        both condition on a significant result, so they need at least one."""
        zero = int(np.sum(self.truths == 0))
        if zero:
            return (f"the true effect is zero in {zero:,} of {self.sims:,} simulations, so "
                    "it has no sign to get wrong or size to exaggerate")
        if not self._significant.any():
            return f"no simulation was significant at alpha {self.alpha:g}"
        return None

    @property
    def type_s(self) -> float | None:
        """Type S error rate: the share of significant estimates whose sign differs from
        the true effect's, ``P(sign(b) != sign(t) | p < alpha)`` (Gelman & Carlin 2014);
        ``None`` when not defined (:attr:`sign_magnitude_undefined` says why)."""
        if self.sign_magnitude_undefined is not None:
            return None
        sig = self._significant
        return float(np.mean(np.sign(self.estimates[sig]) != np.sign(self.truths[sig])))

    @property
    def type_s_mc_se(self) -> float | None:
        """``sqrt(S_err (1 - S_err) / K)`` with ``K`` significant simulations."""
        ts = self.type_s
        return None if ts is None else _prop_se(ts, int(self._significant.sum()))

    @property
    def type_m(self) -> float | None:
        """Type M error (exaggeration ratio): the mean of ``|b| / |t|`` over significant
        simulations, ``E(|b| / |t| | p < alpha)`` (Gelman & Carlin 2014, whose
        ``retrodesign`` divides ``mean(|b|)`` by the one true effect ``|A|``: the same
        when the truth is fixed); ``None`` when not defined."""
        if self.sign_magnitude_undefined is not None:
            return None
        sig = self._significant
        return float(np.mean(np.abs(self.estimates[sig]) / np.abs(self.truths[sig])))

    @property
    def type_m_mc_se(self) -> float | None:
        """``sd(|b| / |t|) / sqrt(K)`` over the ``K`` significant simulations (``nan``
        with one)."""
        if self.type_m is None:
            return None
        sig = self._significant
        return _mean_se(np.abs(self.estimates[sig]) / np.abs(self.truths[sig]))

    # -- display ---------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: ``metric, value, mc_se, description``."""
        level = f"{100 * (1 - self.alpha):g}%"
        rows = [
            ("estimand", self.estimand, _mean_se(self.truths) if np.ptp(self.truths) > 0 else 0.0,
             "mean complier effect of receipt (Wald ratio)" if self.estimator == "cace"
             else "mean true effect mean(y1 - y0)"),
            ("bias", self.bias, self.bias_mc_se, "mean(estimate - truth)"),
            ("rmse", self.rmse, self.rmse_mc_se, "root mean squared error"),
            ("empirical_se", self.empirical_se, self.empirical_se_mc_se, "SD of the estimates"),
            ("mean_se", self.mean_se, self.mean_se_mc_se, "sqrt(mean(std_error^2))"),
            ("coverage", self.coverage, self.coverage_mc_se, f"share of {level} intervals covering the truth"),
            ("power", self.power, self.power_mc_se, f"share rejecting effect = 0 at alpha {self.alpha:g}"),
            ("mean_width", self.mean_width, self.mean_width_mc_se, f"mean {level} interval length"),
        ]
        why = self.sign_magnitude_undefined
        nan = float("nan")
        if why is None:
            rows += [
                ("type_s", float(self.type_s or 0.0), float(self.type_s_mc_se or 0.0),
                 "share of significant estimates with the wrong sign"),
                ("type_m", float(self.type_m or 0.0), float(self.type_m_mc_se or 0.0),
                 "mean |estimate| / |truth| among significant (exaggeration ratio)"),
            ]
        else:
            rows += [("type_s", nan, nan, f"not defined: {why}"),
                     ("type_m", nan, nan, f"not defined: {why}")]
        return pd.DataFrame(rows, columns=DIAGNOSIS_COLUMNS)

    def draws(self) -> pd.DataFrame:
        """One row per simulation: ``sim, estimate, std_error, conf_low, conf_high, p_value, truth``."""
        return pd.DataFrame(
            {
                "sim": np.arange(self.sims),
                "estimate": self.estimates,
                "std_error": self.std_errors,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
                "p_value": self.p_values,
                "truth": self.truths,
            }
        )

    def summary(self) -> str:
        f = self.to_frame()
        n = f"{self.n:,.0f}" if float(self.n).is_integer() else f"{self.n:,.1f} (mean)"
        lines = [
            f"Diagnosis of {self.estimator} ({self.design}, SE {self.se_type}): {self.sims:,} "
            f"simulated trials of {n} people",
            f"  {'metric':<13}{'value':>11}  {'MC SE':>9}",
        ]
        for row in f.itertuples(index=False):
            if str(row.description).startswith("not defined"):
                lines.append(f"  {row.metric:<13}{'-':>11}  {'-':>9}  {row.description}")
            else:
                lines.append(f"  {row.metric:<13}{row.value:>11.4g}  {row.mc_se:>9.2g}  {row.description}")
        lines.append(f"  run           {self.method}; alpha {self.alpha:g}"
                     + (f"; seed {self.seed}" if self.seed is not None else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<Diagnosis {self.estimator} {self.design}: bias {self.bias:.3g}, coverage "
            f"{self.coverage:.3f}, power {self.power:.3f} ({self.sims:,} sims)>"
        )


def _mean_se(values: np.ndarray) -> float:
    """Monte Carlo SE of a mean: ``sd(values) / sqrt(S)``."""
    s = len(values)
    return float(np.std(values, ddof=1) / math.sqrt(s)) if s > 1 else float("nan")


def _prop_se(p: float, s: int) -> float:
    """Monte Carlo SE of a proportion: ``sqrt(p (1 - p) / S)``."""
    return math.sqrt(p * (1 - p) / s)
