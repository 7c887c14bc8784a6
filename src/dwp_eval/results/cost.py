"""Cost-effectiveness results: the cost per additional outcome with its confidence
set, and the net benefit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin, interval_frame
from dwp_eval._core.ratio import fieller_set, percentile_ratio_set, t_quantile
from dwp_eval._validation import check_alpha

__all__ = ["COST_COLUMNS", "CostEffectiveness"]

#: Columns of :meth:`CostEffectiveness.to_frame`.
COST_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "interval_kind",
    "method",
    "alpha",
    "df",
    "per",
]

def _money(v: float, currency: str) -> str:
    if not np.isfinite(v):
        return "-inf" if v < 0 else "inf"
    sign = "-" if v < 0 else ""
    a = abs(v)
    return f"{sign}{currency}{a:,.0f}" if a >= 100 else f"{sign}{currency}{a:,.2f}"


@dataclass(frozen=True, eq=False, repr=False)
class CostEffectiveness(ResultMixin):
    """Cost per additional outcome and net benefit of a programme.

    Attributes
    ----------
    estimand, outcome, treatment, control
        From the effect (``"ITT"``: per person assigned; ``"CACE"``: per complier).
    effect, effect_std_error, df
        Additional outcomes per participant, its standard error and degrees of
        freedom (from the effect).
    cost, cost_std_error, cost_effect_cov
        Incremental cost per participant, its standard error and its covariance
        with the effect estimate.
    cost_per_outcome
        ``cost / effect``: the cost of each additional outcome, which is also the
        break-even value per outcome (:attr:`break_even_value`).
    cost_per_outcome_std_error
        Its delta-method standard error (for reference whatever the method).
    conf_low, conf_high, interval_kind
        The ``1 - alpha`` set for the cost per outcome by ``method``, read by
        ``interval_kind``: ``"bounded"``: ``[conf_low, conf_high]``;
        ``"exclusive"``: everything except the open interval ``(conf_low,
        conf_high)``; ``"unbounded"``: the whole line (both ends infinite) or a
        ray with one finite end. Never NaN.
    method, alpha, draws
        ``"fieller"``, ``"delta"`` or ``"bootstrap"``; the level; bootstrap
        draws (0 otherwise).
    value_per_outcome, net_benefit, net_benefit_std_error, net_benefit_low, net_benefit_high
        With a value per outcome: ``value * effect - cost`` per participant, its
        standard error and ``1 - alpha`` t interval (``None`` without a value).
    per
        Participants the amounts of ``to_frame()`` and ``summary()`` refer to
        (1: per participant; e.g. 1,000).
    """

    estimand: str
    outcome: str
    treatment: str
    control: str
    effect: float
    effect_std_error: float
    df: float
    cost: float
    cost_std_error: float
    cost_effect_cov: float
    cost_per_outcome: float
    cost_per_outcome_std_error: float
    conf_low: float
    conf_high: float
    interval_kind: str
    method: str
    alpha: float
    per: int = 1
    draws: int = 0
    value_per_outcome: float | None = None
    net_benefit: float | None = None
    net_benefit_std_error: float | None = None
    net_benefit_low: float | None = None
    net_benefit_high: float | None = None
    outcome_label: str | None = None
    currency: str = "£"
    notes: tuple[str, ...] = ()
    bootstrap_ratios: np.ndarray | None = field(default=None, repr=False)
    bootstrap_opposite: float = 0.0

    @property
    def break_even_value(self) -> float:
        """The value per outcome at which the net benefit is zero: ``cost / effect``.
        Its confidence set is the cost per outcome's (Fieller's set is exactly the
        values at which the test of zero net benefit is not rejected)."""
        return self.cost_per_outcome

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: ends of the ``1 - alpha`` set for the cost per outcome
        (default: the result's alpha), by the result's method; read them with
        :meth:`interval_kind_at` (an ``"exclusive"`` set lies outside them)."""
        return self._interval(alpha)[:2]

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The ``1 - alpha`` set for the cost per outcome as a one-row table
        ``term, conf_low, conf_high, interval_kind``."""
        lo, hi, kind = self._interval(alpha)
        out = interval_frame(["cost_per_outcome"], [lo], [hi])
        out["interval_kind"] = kind
        return out

    def interval_kind_at(self, alpha: float | None = None) -> str:
        """``interval_kind`` of the ``1 - alpha`` set."""
        return self._interval(alpha)[2]

    def _interval(self, alpha: float | None) -> tuple[float, float, str]:
        a = self.alpha if alpha is None else check_alpha(alpha, func="CostEffectiveness.conf_int")
        if a == self.alpha:
            return self.conf_low, self.conf_high, self.interval_kind
        q = t_quantile(a, self.df)
        if self.method == "fieller":
            return fieller_set(
                self.cost,
                self.effect,
                self.cost_std_error**2,
                self.effect_std_error**2,
                self.cost_effect_cov,
                q,
            )
        if self.method == "delta":
            r, se = self.cost_per_outcome, self.cost_per_outcome_std_error
            return r - q * se, r + q * se, "bounded"
        ratios = cast(np.ndarray, self.bootstrap_ratios)  # kept by method="bootstrap"
        return percentile_ratio_set(ratios, self.bootstrap_opposite, a)

    def to_frame(self) -> pd.DataFrame:
        """Rows ``additional_outcomes`` (the effect), ``cost``, ``cost_per_outcome``
        and, with a value per outcome, ``net_benefit``; columns as in
        ``COST_COLUMNS``. Outcomes, cost and net benefit are per ``per``
        participants; the cost per outcome is per outcome. The outcome and cost
        rows have t intervals with the effect's df."""
        q = t_quantile(self.alpha, self.df)
        k = float(self.per)

        def row(
            term: str, est: float, se: float, lo: float, hi: float, kind: str, method: str
        ) -> dict[str, Any]:
            return {
                "term": term,
                "estimate": est,
                "std_error": se,
                "conf_low": lo,
                "conf_high": hi,
                "interval_kind": kind,
                "method": method,
                "alpha": self.alpha,
                "df": self.df,
                "per": self.per if term != "cost_per_outcome" else 1,
            }

        rows = [
            row(
                "additional_outcomes",
                k * self.effect,
                k * self.effect_std_error,
                k * (self.effect - q * self.effect_std_error),
                k * (self.effect + q * self.effect_std_error),
                "bounded",
                "t",
            ),
            row(
                "cost",
                k * self.cost,
                k * self.cost_std_error,
                k * (self.cost - q * self.cost_std_error),
                k * (self.cost + q * self.cost_std_error),
                "bounded",
                "t",
            ),
            row(
                "cost_per_outcome",
                self.cost_per_outcome,
                self.cost_per_outcome_std_error,
                self.conf_low,
                self.conf_high,
                self.interval_kind,
                self.method,
            ),
        ]
        if self.net_benefit is not None:
            se, lo, hi = self._net_benefit_inference()
            rows.append(
                row(
                    "net_benefit",
                    k * self.net_benefit,
                    k * se,
                    k * lo,
                    k * hi,
                    "bounded",
                    "t",
                )
            )
        return pd.DataFrame(rows, columns=COST_COLUMNS)

    def _net_benefit_inference(self) -> tuple[float, float, float]:
        """The net benefit's SE and interval ends (set whenever ``net_benefit`` is)."""
        return (cast(float, self.net_benefit_std_error), cast(float, self.net_benefit_low),
                cast(float, self.net_benefit_high))

    def _label(self) -> str:
        return self.outcome_label or f"outcome ({self.outcome})"

    def _set_text(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        name = {"fieller": "Fieller", "delta": "delta-method", "bootstrap": "bootstrap percentile"}[
            self.method
        ]
        lo, hi = _money(self.conf_low, self.currency), _money(self.conf_high, self.currency)
        if self.interval_kind == "bounded":
            return f"{level} {name} interval {lo} to {hi}"
        if self.interval_kind == "exclusive":
            return (
                f"{level} {name} set unbounded: {lo} or less, or {hi} or more (the "
                f"effect's {level} interval includes zero, so the data do not rule out no effect)"
            )
        if np.isfinite(self.conf_low):
            return f"{level} {name} set unbounded: {lo} or more"
        if np.isfinite(self.conf_high):
            return f"{level} {name} set unbounded: {hi} or less"
        if self.method == "bootstrap":
            return f"{level} {name} set unbounded: the ratio passes through infinity (see note)"
        return (
            f"{level} {name} set unbounded: the whole line (the data say nothing about the "
            "cost per outcome at this level)"
        )

    def summary(self) -> str:
        who = {"ITT": "person assigned to the programme", "CACE": "complier"}.get(
            self.estimand, f"participant ({self.estimand} population)"
        )
        c = self.currency
        lines = [
            f"Each additional {self._label()} cost {_money(self.cost_per_outcome, c)} "
            f"({self._set_text()}).",
            f"  effect          {self.effect:.4g} additional outcomes per {who} (SE "
            f"{self.effect_std_error:.4g}, df {self.df:,.6g}); {self.estimand} of {self.treatment} "
            f"vs {self.control} on {self.outcome}",
            f"  cost            {_money(self.cost, c)} per {who} "
            f"(SE {_money(self.cost_std_error, c)}"
            f", covariance with the effect {self.cost_effect_cov:.4g})",
        ]
        if self.per != 1:
            lines.append(
                f"  per {self.per:,} participants: {self.per * self.effect:,.4g} additional "
                "outcomes for "
                f"{_money(self.per * self.cost, c)}"
            )
        if self.net_benefit is not None and self.value_per_outcome is not None:
            _, low, high = self._net_benefit_inference()
            k = float(self.per)
            unit = "participant" if self.per == 1 else f"{self.per:,} participants"
            lines.append(
                f"  net benefit     {_money(k * self.net_benefit, c)} per {unit} at "
                f"{_money(self.value_per_outcome, c)} per outcome ({100 * (1 - self.alpha):g}% CI "
                f"{_money(k * low, c)} to {_money(k * high, c)})"
            )
        same = (
            " (with the Fieller set above as its confidence set)"
            if self.method == "fieller"
            else ""
        )
        lines.append(
            f"  break-even      the programme pays for itself when an additional outcome is worth "
            f"more than {_money(self.break_even_value, c)}{same}"
        )
        lines.extend(f"  note            {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<CostEffectiveness {_money(self.cost_per_outcome, self.currency)} per additional "
            f"outcome, {self.method} {self.interval_kind} "
            f"[{self.conf_low:.6g}, {self.conf_high:.6g}]>"
        )
