"""The simulated population of :func:`~dwp_eval.diagnose`: what a simulation needs
(:class:`Spec`), the population contract checked (potential outcomes ``y0``,
``y1`` and receipts ``d0``, ``d1``), the observed data revealed by an
assignment, and the true effect the estimates are compared with."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list, check_columns, check_data
from dwp_eval.errors import DesignError, OptionError

__all__ = ["ARM", "OBSERVED", "RECEIVED", "Spec", "check_population", "reveal", "true_effect"]

# Columns diagnose adds to a population: the observed outcome, the assigned arm and
# (for the CACE) the observed receipt.
OBSERVED = "y"
ARM = "arm"
RECEIVED = "received"


@dataclass(frozen=True)
class Spec:
    """Everything a worker needs to run a batch of simulations (picklable)."""

    population: pd.DataFrame | None
    dgp: Callable[[np.random.Generator], pd.DataFrame] | None
    estimator: str | Callable[[pd.DataFrame], Any]
    effect: float | None
    id: Hashable
    arms: dict[str, float]
    control: str
    treatment: str
    strata: list[Hashable]
    cluster: Hashable | None
    covariates: list[Hashable]
    adjustment: str
    se_type: str | None
    alpha: float
    batched: bool
    # itt's covariate-adjusted regression evaluated for many assignments at once
    regression: bool = False


def check_population(pop: Any, spec: Spec, func: str) -> pd.DataFrame:
    """Validate a population and return it with an id column and ``y1``."""
    pop = check_data(pop, func=func, param="design")
    check_columns(pop, ["y0"], role="potential outcome under control", func=func)
    for col, role in [(c, "strata") for c in spec.strata] + [(c, "covariates") for c in spec.covariates]:
        check_columns(pop, [col], role=role, func=func)
    if spec.cluster is not None:
        check_columns(pop, [spec.cluster], role="cluster", func=func)
    reserved_for = {OBSERVED: "observed outcome", ARM: "assigned arm"}
    if spec.estimator == "cace":
        reserved_for[RECEIVED] = "observed receipt"
    for reserved, use in reserved_for.items():
        if reserved in pop.columns:
            raise DesignError(
                f"{func}: the population has a column {reserved!r}, which diagnose uses for the "
                f"{use}. Fix: rename it."
            )
    if spec.estimator == "cace":
        for col, arm in (("d0", spec.control), ("d1", spec.treatment)):
            check_columns(pop, [col], role=f"potential receipt if assigned {arm!r} (0/1)", func=func)
            v = pop[col].to_numpy()
            if not np.isin(v, (0, 1)).all():
                raise DesignError(
                    f"{func}: column {col!r} (potential receipt of the programme if assigned "
                    f"{arm!r}) must hold 0 or 1 for everyone; found "
                    f"{_fmt_list(pd.unique(v[~np.isin(v, (0, 1))])[:5])}. Fix: code receipt as 0/1."
                )
        if not (pop["d1"].to_numpy(dtype=float) - pop["d0"].to_numpy(dtype=float)).sum() > 0:
            raise DesignError(
                f"{func}: nobody's receipt depends on assignment (sum of d1 - d0 is not "
                "positive), so the CACE is not defined. Fix: give the treatment arm more "
                "receipt than control (d1 = 1 for the compliers)."
            )
    has_y1 = "y1" in pop.columns
    if has_y1 and spec.effect is not None:
        raise OptionError(
            f"{func}: give the effect either as a 'y1' column of the population or as effect=, "
            f"not both. Got effect={spec.effect!r} and a 'y1' column."
        )
    if not has_y1 and spec.effect is None:
        raise OptionError(
            f"{func}: the population has no 'y1' column (potential outcome under treatment), so "
            "effect= is needed: y1 = y0 + effect. Columns present: "
            f"{_fmt_list(pop.columns)}."
        )
    extra: dict[Hashable, np.ndarray] = {}
    if spec.id not in pop.columns:
        extra[spec.id] = np.arange(len(pop), dtype=np.int64)
    if not has_y1:
        extra["y1"] = pop["y0"].to_numpy(dtype=float) + float(spec.effect)  # type: ignore[arg-type]
    for col in ("y0", "y1"):
        v = extra[col] if col in extra else pop[col].to_numpy(dtype=float)
        if not np.all(np.isfinite(v)):
            raise DesignError(f"{func}: column {col!r} (potential outcome) holds missing or infinite values.")
    if spec.estimator != "cace" and {"d0", "d1"} <= set(pop.columns):
        # potential receipts given: the ITT compares assignments, whose potential
        # outcomes are those of the receipt each assignment brings
        y0 = extra["y0"] if "y0" in extra else pop["y0"].to_numpy(dtype=float)
        y1 = extra["y1"] if "y1" in extra else pop["y1"].to_numpy(dtype=float)
        extra["y0"] = np.where(pop["d0"].to_numpy() == 1, y1, y0)
        extra["y1"] = np.where(pop["d1"].to_numpy() == 1, y1, y0)
    if not extra:
        return pop
    out = pop.copy()
    for key, values in extra.items():
        out[key] = values
    return out


def reveal(pop: pd.DataFrame, z: np.ndarray, spec: Spec, stratum: np.ndarray | None) -> pd.DataFrame:
    cols: dict[str, Any] = {ARM: np.where(z == 1, spec.treatment, spec.control)}
    if spec.estimator == "cace":  # receipt follows assignment; the outcome follows receipt
        d = np.where(z == 1, pop["d1"].to_numpy(dtype=float), pop["d0"].to_numpy(dtype=float))
        cols[RECEIVED] = d
        z = d
    cols[OBSERVED] = np.where(z == 1, pop["y1"].to_numpy(dtype=float), pop["y0"].to_numpy(dtype=float))
    if stratum is not None:
        cols["_stratum"] = stratum
    return pop.assign(**cols)


def true_effect(pop: pd.DataFrame, spec: Spec) -> float:
    """The estimand in this population: ``mean(y1 - y0)`` for the ITT; for the CACE
    the Wald ratio ``sum((d1 - d0)(y1 - y0)) / sum(d1 - d0)``, the mean effect of
    receipt among compliers when nobody is a defier (Angrist, Imbens & Rubin 1996)."""
    y0 = pop["y0"].to_numpy(dtype=float)
    y1 = pop["y1"].to_numpy(dtype=float)
    if spec.estimator != "cace":
        return float(np.mean(y1 - y0))
    shift = pop["d1"].to_numpy(dtype=float) - pop["d0"].to_numpy(dtype=float)
    return float(np.sum(shift * (y1 - y0)) / np.sum(shift))
