"""Wald tests and t intervals: the one place the library turns estimates and their
covariance into a statistic, a p-value and an interval.

:func:`wald_test` tests ``H0: R b = 0`` for a restriction matrix ``R`` (or a
list of coefficient positions, each restricted to zero) with
``W = (R b)' (R V R')^{-1} (R b)`` (Wooldridge 2010, eq. 4.13), referred to

* ``F(q, d)`` as ``W / q`` when a denominator ``d`` is given (the residual
  degrees of freedom ``n - p``, or ``G - 1`` with ``G`` clusters: Stata's
  ``test`` and statsmodels' ``wald_test(use_f=True)`` after a robust fit);
* ``F(q, G - q)`` as ``W (G - q) / (q (G - 1))`` when ``hotelling=G`` (the
  Hotelling ``T^2`` approximation for a covariance estimated from ``G``
  independent units: Hotelling 1931; Pustejovsky & Tipton 2018, sec. 3);
* ``chi2(q)`` as ``W`` otherwise.

When ``R V R'`` is singular or not finite the test is *invalid*: the result
keeps the reason and a NaN statistic and p-value, instead of raising
(linearmodels' ``InvalidTestStatistic``), so a report can say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.contract import ResultMixin
from dwp_eval._core.format import df_text, number, p_value_text

__all__ = ["WALD_COLUMNS", "WaldTest", "t_interval", "t_p_value", "wald_test"]

#: Columns of :meth:`WaldTest.to_frame`.
WALD_COLUMNS = ["test", "null", "statistic", "df_num", "df_denom", "distribution", "p_value",
                "wald", "se_type", "valid", "reason"]


def t_interval(estimate: float, std_error: float, df: float, alpha: float) -> tuple[float, float]:
    """``estimate -/+ t_{1-alpha/2, df} * std_error`` (normal quantile when df is infinite)."""
    q = float(stats.norm.ppf(1 - alpha / 2)) if not np.isfinite(df) else float(stats.t.ppf(1 - alpha / 2, df))
    return estimate - q * std_error, estimate + q * std_error


def t_p_value(statistic: float, df: float) -> float:
    """Two-sided p-value of a t statistic with ``df`` degrees of freedom."""
    if not np.isfinite(statistic):
        return float("nan")
    if not np.isfinite(df):
        return float(2 * stats.norm.sf(abs(statistic)))
    return float(2 * stats.t.sf(abs(statistic), df))


@dataclass(frozen=True, eq=False, repr=False)
class WaldTest(ResultMixin):
    """A Wald test of linear restrictions on regression coefficients.

    Attributes
    ----------
    name
        What is tested, in words (``"covariates predict response"``).
    terms
        The coefficients restricted.
    null
        The null hypothesis (``"assigned:age = assigned:uc = 0"``).
    wald
        ``W = (R b)' (R V R')^{-1} (R b)``.
    statistic, df_num, df_denom, distribution
        The statistic and its reference distribution: ``"F"`` (``W / q`` on
        ``(q, df_denom)``), ``"F (Hotelling)"`` or ``"chi2"`` (``W`` on ``q``
        df; ``df_denom`` is ``None``).
    se_type
        The covariance ``V`` came from.
    reason
        ``None`` for a valid test; otherwise why it could not be computed (the
        statistic and p-value are then NaN).
    """

    name: str
    terms: tuple[str, ...]
    null: str
    wald: float
    statistic: float
    df_num: int
    df_denom: float | None
    distribution: str
    se_type: str
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None

    @property
    def p_value(self) -> float:
        """Upper-tail probability of ``statistic`` under the reference distribution."""
        if not self.valid or not np.isfinite(self.statistic):
            return float("nan")
        if self.df_denom is None:
            return float(stats.chi2.sf(self.statistic, self.df_num))
        return float(stats.f.sf(self.statistic, self.df_num, self.df_denom))

    @property
    def reference(self) -> str:
        """The reference distribution as text, e.g. ``F(2, 397)`` or ``chi2(3)``."""
        if self.df_denom is None:
            return f"chi2({self.df_num})"
        hot = ", Hotelling" if "Hotelling" in self.distribution else ""
        return f"F({self.df_num}, {df_text(self.df_denom)}){hot}"

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns of :data:`WALD_COLUMNS`."""
        row = {
            "test": self.name, "null": self.null, "statistic": self.statistic,
            "df_num": self.df_num,
            "df_denom": float("nan") if self.df_denom is None else self.df_denom,
            "distribution": self.distribution, "p_value": self.p_value, "wald": self.wald,
            "se_type": self.se_type, "valid": self.valid, "reason": self.reason,
        }
        return pd.DataFrame([row], columns=WALD_COLUMNS)

    def summary(self) -> str:
        if not self.valid:
            return f"{self.name}: not computed ({self.reason})"
        return (f"{self.name}: {self.reference} = {number(self.statistic)}, "
                f"{p_value_text(self.p_value)} ({self.se_type}; H0: {self.null})")

    def __repr__(self) -> str:
        if not self.valid:
            return f"<WaldTest {self.name}: invalid ({self.reason})>"
        return f"<WaldTest {self.name}: {self.reference} = {self.statistic:.4g}, p = {self.p_value:.4g}>"


def wald_test(
    beta: np.ndarray,
    vcov: np.ndarray,
    restrict: Sequence[int] | np.ndarray,
    *,
    names: Sequence[str],
    name: str,
    se_type: str,
    df_denom: float | None = None,
    hotelling: int | None = None,
    null: str | None = None,
    inverse: Literal["solve", "pinv"] = "solve",
) -> WaldTest:
    """Wald test of ``R b = 0`` (see the module notes).

    ``restrict`` is a list of coefficient positions (each restricted to zero)
    or a ``q x k`` restriction matrix ``R``; ``names`` are the coefficient names.
    ``inverse="pinv"`` uses the Moore-Penrose inverse of ``R V R'`` (a
    generalised Wald statistic, for event-study pre-periods whose covariance
    may be of deficient rank) instead of refusing a singular one.
    """
    beta = np.asarray(beta, dtype=float)
    V = np.asarray(vcov, dtype=float)
    k = len(beta)
    arr = np.asarray(restrict)
    if arr.ndim == 2:
        R = arr.astype(float)
        terms = tuple(str(names[int(j)]) for j in np.flatnonzero(np.any(R != 0, axis=0)))
        default_null = "R b = 0"
    else:
        idx = [int(i) for i in arr.tolist()]
        R = np.zeros((len(idx), k))
        R[np.arange(len(idx)), idx] = 1.0
        terms = tuple(str(names[i]) for i in idx)
        default_null = " = ".join(terms) + " = 0"
    q = R.shape[0]
    rb = R @ beta
    rvr = R @ V @ R.T
    reason = None
    wald = float("nan")
    if not (np.all(np.isfinite(rb)) and np.all(np.isfinite(rvr))):
        reason = "the estimates or their covariance are not finite"
    elif inverse == "pinv":
        wald = float(rb @ np.linalg.pinv(rvr) @ rb)
    else:
        try:
            wald = float(rb @ np.linalg.solve(rvr, rb))
        except np.linalg.LinAlgError:
            reason = f"the {se_type} covariance of the tested coefficients is singular"
        else:
            if not np.isfinite(wald) or wald < 0:
                reason = f"the {se_type} covariance of the tested coefficients is singular"
                wald = float("nan")
    if hotelling is not None and df_denom is None and hotelling > q:
        g = int(hotelling)
        statistic, denom, dist = wald * (g - q) / (q * (g - 1)), float(g - q), "F (Hotelling)"
    elif df_denom is not None and np.isfinite(df_denom):
        statistic, denom, dist = wald / q, float(df_denom), "F"
    else:
        statistic, denom, dist = wald, None, "chi2"
    if reason is not None:
        statistic = float("nan")
    return WaldTest(
        name=name, terms=terms, null=null or default_null, wald=wald, statistic=float(statistic),
        df_num=int(q), df_denom=denom, distribution=dist, se_type=se_type, reason=reason,
    )
