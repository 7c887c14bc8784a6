"""Multiple-testing results: Romano-Wolf adjusted p-values for a family of effects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval.results.effect import Effect

__all__ = ["ROMANO_WOLF_COLUMNS", "RomanoWolf"]

ROMANO_WOLF_COLUMNS = [
    "outcome",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "p_value_bootstrap",
    "p_value_adjusted",
    "n_obs",
    "se_type",
    "design",
]


@dataclass(frozen=True, eq=False, repr=False)
class RomanoWolf(ResultMixin):
    """Romano-Wolf adjusted p-values for a family of effects.

    Attributes
    ----------
    effects
        The effect of each hypothesis (as :func:`dwp_eval.itt` reports it).
    labels
        A label per hypothesis (the outcome, or ``"outcome, by=level"``).
    p_value_bootstrap
        Unadjusted bootstrap-t p-values.
    p_value_adjusted
        Romano-Wolf step-down adjusted p-values.
    bootstrap_statistics
        The ``draws x K`` resampled statistics ``(theta* - theta) / se*``
        (read-only).
    draws
        Number of bootstrap draws.
    resampling
        What was resampled (e.g. ``"clusters within strata and arm"``).
    n_degenerate
        Draws in which some statistic could not be computed; they count as
        exceeding the observed statistic (conservative).
    """

    effects: tuple[Effect, ...]
    labels: tuple[str, ...]
    p_value_bootstrap: tuple[float, ...]
    p_value_adjusted: tuple[float, ...]
    bootstrap_statistics: np.ndarray
    draws: int
    resampling: str
    n_degenerate: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per hypothesis (columns as in ``ROMANO_WOLF_COLUMNS``)."""
        rows = [
            {
                "outcome": label,
                "estimate": e.estimate,
                "std_error": e.std_error,
                "statistic": e.statistic,
                "p_value": e.p_value,
                "p_value_bootstrap": pb,
                "p_value_adjusted": pa,
                "n_obs": e.n_obs,
                "se_type": e.se_type,
                "design": e.design,
            }
            for label, e, pb, pa in zip(
                self.labels, self.effects, self.p_value_bootstrap, self.p_value_adjusted, strict=True
            )
        ]
        return pd.DataFrame(rows, columns=ROMANO_WOLF_COLUMNS)

    def summary(self) -> str:
        width = max([len(s) for s in self.labels] + [7])
        lines = [
            f"Romano-Wolf step-down adjusted p-values ({self.draws:,} bootstrap draws; "
            f"{self.resampling})",
            f"  {'outcome':<{width}}  {'estimate':>11} {'t':>8} {'p':>8} {'p boot':>8} {'p adj':>8}",
        ]
        for label, e, pb, pa in zip(
            self.labels, self.effects, self.p_value_bootstrap, self.p_value_adjusted, strict=True
        ):
            lines.append(
                f"  {label:<{width}}  {e.estimate:>11.4g} {e.statistic:>8.3f} {e.p_value:>8.4f} "
                f"{pb:>8.4f} {pa:>8.4f}"
            )
        if self.n_degenerate:
            lines.append(
                f"  {self.n_degenerate:,} draw(s) could not be studentised and count as exceedances"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RomanoWolf {len(self.labels)} hypotheses, {self.draws:,} draws>"
