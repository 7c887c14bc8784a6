"""The result of :func:`~dwp_eval.binary_effect`: the effect of assignment on a
0/1 outcome on the risk-difference, risk-ratio and odds-ratio scales."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.contract import ArmCounts, ResultMixin, interval_frame
from dwp_eval._validation import check_alpha, check_option
from dwp_eval.errors import OptionError

__all__ = ["BINARY_COLUMNS", "BinaryEffect"]

BINARY_COLUMNS = [
    "term", "scale", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
    "null_value",
]

#: Ratio scales are tested and given intervals on the log scale.
_LOG_SCALES = ("risk_ratio", "odds_ratio")


@dataclass(frozen=True, eq=False, repr=False)
class BinaryEffect(ArmCounts, ResultMixin):
    """Effect of assignment on a 0/1 outcome, one row per scale.

    ``estimates`` and ``std_errors`` hold each scale's estimate and delta-method
    SE on the natural scale; for the ratio scales ``log_std_errors`` holds the
    SE of the log ratio, on which the test and interval are computed
    (``exp(log r +/- z se)``). ``control_risk`` and ``treatment_risk`` are the
    (standardised, with covariates) risks the risk difference and ratio compare.
    """

    outcome: str
    treatment: str
    control: str
    scales: tuple[str, ...]
    estimates: Mapping[str, float]
    std_errors: Mapping[str, float]
    log_std_errors: Mapping[str, float]
    control_risk: float
    treatment_risk: float
    alpha: float
    n_obs: int
    n_by_arm: Mapping[str, int]
    model: str
    se_type: str
    method: str
    covariates: tuple[str, ...] = ()
    n_clusters: int | None = None
    n_strata: int | None = None
    coefficients: Mapping[str, float] = field(default_factory=dict)
    dropped: Mapping[str, int] = field(default_factory=dict)

    def _row(self, scale: str, alpha: float) -> dict[str, float | str]:
        q = float(stats.norm.ppf(1 - alpha / 2))
        est = float(self.estimates[scale])
        se = float(self.std_errors[scale])
        if scale in _LOG_SCALES:
            lse = float(self.log_std_errors[scale])
            stat = np.log(est) / lse
            lo, hi = est * np.exp(-q * lse), est * np.exp(q * lse)
            null = 1.0
        else:
            stat = est / se
            lo, hi = est - q * se, est + q * se
            null = 0.0
        return {
            "term": f"{self.treatment} vs {self.control}", "scale": scale, "estimate": est,
            "std_error": se, "statistic": float(stat), "p_value": float(2 * stats.norm.sf(abs(stat))),
            "conf_low": float(lo), "conf_high": float(hi), "null_value": null,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self._row(s, self.alpha) for s in self.scales], columns=BINARY_COLUMNS)

    def interval(self, alpha: float | None = None, *, scale: str | None = None) -> tuple[float, float]:
        """``(low, high)`` on ``scale`` (default: the first scale)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="BinaryEffect.interval")
        s = self.scales[0] if scale is None else check_option(
            scale, self.scales, param="scale", func="BinaryEffect.interval")
        r = self._row(s, a)
        return float(r["conf_low"]), float(r["conf_high"])

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The ``1 - alpha`` interval of every scale: ``term, conf_low, conf_high, scale``."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="BinaryEffect.conf_int")
        rows = [self._row(s, a) for s in self.scales]
        out = interval_frame([str(r["term"]) for r in rows], [r["conf_low"] for r in rows],
                             [r["conf_high"] for r in rows])
        out["scale"] = list(self.scales)
        return out

    def estimate(self, scale: str) -> float:
        """The estimate on ``scale``."""
        if scale not in self.scales:
            raise OptionError(f"BinaryEffect.estimate: scale {scale!r} was not estimated; "
                              f"the result holds {list(self.scales)}. Fix: pass one of those.")
        return float(self.estimates[scale])

    def on_scale(self, scale: str) -> BinaryEffect:
        """The same result holding ``scale`` only (e.g. to pool it over imputations)."""
        s = check_option(scale, self.scales, param="scale", func="BinaryEffect.on_scale")
        return replace(self, scales=(s,), estimates={s: self.estimates[s]},
                       std_errors={s: self.std_errors[s]},
                       log_std_errors={k: v for k, v in self.log_std_errors.items() if k == s})

    def for_pooling(self) -> tuple[float, float, float, str]:
        """What Rubin's rules pool (:meth:`dwp_eval.MultipleImputation.fit`): the
        estimate and standard error of the result's one scale, on the log scale for a
        ratio, the degrees of freedom (``inf``: large-sample) and the scale's label
        (``"log odds_ratio"``, ``"risk_difference"``)."""
        if len(self.scales) != 1:
            raise OptionError(
                f"BinaryEffect: Rubin's rules pool one scale at a time, and this result holds "
                f"{list(self.scales)}. Fix: pass scale=\"odds_ratio\" (or another one scale) "
                "to binary_effect through MultipleImputation.fit."
            )
        s = self.scales[0]
        if s in _LOG_SCALES:
            return float(np.log(self.estimates[s])), float(self.log_std_errors[s]), np.inf, f"log {s}"
        return float(self.estimates[s]), float(self.std_errors[s]), np.inf, s

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"Effect of {self.treatment} vs {self.control} on {self.outcome} (binary outcome)",
            f"  method          {self.method}",
            f"  variance        {self.se_type}"
            + (f", {self.n_clusters:,} {'sites' if self.se_type.startswith('model') else 'clusters'}"
               if self.n_clusters else ""),
            f"  n               {self.n_obs:,} ({self.control}: {self.n_control:,}, "
            f"{self.treatment}: {self.n_treatment:,})",
            f"  risks           {self.control}: {self.control_risk:.4f}, "
            f"{self.treatment}: {self.treatment_risk:.4f}",
            f"  {'scale':<16} {'estimate':>10} {'SE':>9} {'p':>8}  {level} CI",
        ]
        for r in self.to_frame().itertuples(index=False):
            lines.append(f"  {r.scale:<16} {r.estimate:>10.4f} {r.std_error:>9.4f} "
                         f"{r.p_value:>8.4f}  [{r.conf_low:.4f}, {r.conf_high:.4f}]")
        return "\n".join(lines)
