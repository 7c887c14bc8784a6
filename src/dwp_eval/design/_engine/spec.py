"""The design of an allocation: arms and their ratios, strata, clusters, arrival
order, method, block sizes and any re-randomisation rule, validated once from
the options of :func:`~dwp_eval.randomise` and recorded in the audit log."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from dwp_eval._validation import as_column_list, check_option
from dwp_eval.errors import OptionError

__all__ = ["METHODS", "BalanceRule", "Design", "make_design", "ratio_weights"]

METHODS = ("complete", "permuted_blocks")


@dataclass(frozen=True)
class BalanceRule:
    """A re-randomisation rule: redraw until every standardised difference is small.

    Parameters
    ----------
    covariates
        Numeric (or 0/1) baseline columns whose balance is checked.
    max_abs_std_diff
        Accept a draw when, for every covariate and every arm compared with the
        control arm, ``|mean_arm - mean_control| / sqrt((var_arm + var_control) / 2)``
        is below this bound.
    max_draws
        Give up (raising :class:`~dwp_eval.errors.DesignError`) after this many draws.

    Notes
    -----
    Re-randomisation (Morgan & Rubin 2012, *Annals of Statistics* 40(2)) changes
    the assignment mechanism: the nominal probabilities no longer describe the
    design, so inference must be by randomisation tests that repeat the rule.
    """

    covariates: tuple[str, ...]
    max_abs_std_diff: float = 0.1
    max_draws: int = 1000

    def __post_init__(self) -> None:
        covs = as_column_list(self.covariates)
        if not covs:
            raise OptionError(
                "The 'covariates' parameter of BalanceRule must name at least one column. "
                "Got an empty list instead."
            )
        object.__setattr__(self, "covariates", tuple(str(c) for c in covs))
        bound = self.max_abs_std_diff
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
            raise OptionError(
                "The 'max_abs_std_diff' parameter of BalanceRule must be a positive number. "
                f"Got {bound!r} instead."
            )
        draws = self.max_draws
        if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
            raise OptionError(
                "The 'max_draws' parameter of BalanceRule must be a positive int. "
                f"Got {draws!r} instead."
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "covariates": list(self.covariates),
            "max_abs_std_diff": float(self.max_abs_std_diff),
            "max_draws": int(self.max_draws),
        }


@dataclass(frozen=True)
class Design:
    """The recorded description of an allocation design (what the audit log keeps)."""

    id: str
    arms: tuple[str, ...]
    ratios: tuple[float, ...]
    weights: tuple[int, ...]
    control: str
    strata: tuple[str, ...] = ()
    cluster: str | None = None
    order: str | None = None
    method: str = "complete"
    block_sizes: tuple[int, ...] | None = None
    rule: BalanceRule | None = None

    @property
    def label(self) -> str:
        """``complete``, ``stratified``, ``cluster`` or ``stratified-cluster``."""
        if self.cluster is None:
            return "stratified" if self.strata else "complete"
        return "stratified-cluster" if self.strata else "cluster"

    @property
    def probabilities(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def base_block(self) -> int:
        return int(sum(self.weights))

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "id": self.id,
            "arms": dict(zip(self.arms, self.ratios, strict=True)),
            "weights": list(self.weights),
            "control": self.control,
            "strata": list(self.strata),
            "cluster": self.cluster,
            "order": self.order,
            "method": self.method,
            "block_sizes": None if self.block_sizes is None else list(self.block_sizes),
            "rerandomise": None if self.rule is None else self.rule.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Design:
        rule = d.get("rerandomise")
        arms = dict(d["arms"])
        return cls(
            id=d["id"],
            arms=tuple(arms),
            ratios=tuple(float(v) for v in arms.values()),
            weights=tuple(int(v) for v in d["weights"]),
            control=d["control"],
            strata=tuple(d.get("strata") or ()),
            cluster=d.get("cluster"),
            order=d.get("order"),
            method=d.get("method", "complete"),
            block_sizes=None if d.get("block_sizes") is None else tuple(d["block_sizes"]),
            rule=None if rule is None else BalanceRule(**rule),
        )


def ratio_weights(arms: Any, func: str) -> tuple[tuple[str, ...], tuple[float, ...], tuple[int, ...]]:
    """Validate ``arms`` and return names, ratios and the smallest integer weights."""
    if isinstance(arms, Mapping):
        items = list(arms.items())
    elif isinstance(arms, (list, tuple)) and all(isinstance(a, str) for a in arms):
        items = [(a, 1) for a in arms]
    else:
        raise OptionError(
            f"The 'arms' parameter of {func} must be a dict of arm name to ratio, e.g. "
            f"{{'control': 1, 'treatment': 2}}, or a list of arm names. Got {arms!r} instead."
        )
    if len(items) < 2:
        raise OptionError(
            f"The 'arms' parameter of {func} must name at least two arms. Got {arms!r} instead."
        )
    names: list[str] = []
    fracs: list[Fraction] = []
    ratios: list[float] = []
    for name, ratio in items:
        if not isinstance(name, str) or not name.strip():
            raise OptionError(
                f"The 'arms' parameter of {func} must have non-empty text arm names. "
                f"Got {name!r} instead."
            )
        if name in names:
            raise OptionError(f"The 'arms' parameter of {func} names arm {name!r} twice.")
        if (
            isinstance(ratio, bool)
            or not isinstance(ratio, (int, float, np.integer, np.floating, Fraction))
            or not math.isfinite(float(ratio))
            or float(ratio) <= 0
        ):
            raise OptionError(
                f"The 'arms' parameter of {func} must give each arm a positive number as its "
                f"ratio. Got {ratio!r} for arm {name!r} instead. Fix: e.g. "
                f"arms={{'control': 1, 'treatment': 2}}."
            )
        names.append(name)
        ratios.append(float(ratio))
        fracs.append(_as_fraction(ratio))
    # ratios are relative: scale so the largest is 1, then find the simplest
    # fractions (denominator <= MAX_BLOCK) within a relative 1e-9 of each ratio
    top = max(fracs)
    scaled = [f / top for f in fracs]
    approx = [f.limit_denominator(MAX_BLOCK) for f in scaled]
    off = [
        (name, r) for name, r, f, a in zip(names, ratios, scaled, approx, strict=True)
        if a == 0 or abs(a - f) > f * Fraction(1, 10**9)
    ]
    denom = math.lcm(*(f.denominator for f in approx))
    ints = [int(f * denom) for f in approx]
    g = math.gcd(*ints)
    weights = tuple(i // g for i in ints)
    if off or sum(weights) > MAX_BLOCK:
        shown = ":".join(f"{r:g}" for r in ratios)
        raise OptionError(
            f"The 'arms' parameter of {func} gives ratios {shown}, which cannot be honoured "
            f"exactly: the smallest whole-number ratio with these proportions needs blocks of "
            f"more than {MAX_BLOCK:,} units"
            + (f" (arm {off[0][0]!r} would get probability 0 or a rounded one)" if off else "")
            + ". Fix: use simple ratios such as 2:1:1 (whole numbers, or fractions with small "
            "denominators such as 1/3)."
        )
    return tuple(names), tuple(ratios), weights


MAX_BLOCK = 10_000  # the largest sum of whole-number weights (the smallest exact block)


def _as_fraction(ratio: Any) -> Fraction:
    """The exact rational a ratio stands for: a float by its shortest decimal text
    (so ``0.1`` is 1/10), ints and Fractions as they are."""
    if isinstance(ratio, Fraction):
        return ratio
    if isinstance(ratio, (int, np.integer)):
        return Fraction(int(ratio))
    return Fraction(repr(float(ratio)))


def make_design(
    *,
    id: Hashable,
    arms: Any,
    strata: Any,
    cluster: Any,
    order: Any,
    method: Any,
    block_sizes: Any,
    rerandomise: Any,
    func: str,
) -> Design:
    """Validate the options of :func:`randomise` and return a :class:`Design`."""
    method = check_option(method, METHODS, param="method", func=func)
    names, ratios, weights = ratio_weights(arms, func)
    control = "control" if "control" in names else names[0]
    strata_cols = tuple(str(c) for c in as_column_list(strata))
    if len(set(strata_cols)) != len(strata_cols):
        raise OptionError(f"The 'strata' parameter of {func} names a column twice: {strata_cols}.")
    base = int(sum(weights))
    sizes: tuple[int, ...] | None = None
    if method == "permuted_blocks":
        if block_sizes is None:
            sizes = (base, 2 * base, 3 * base)
        else:
            raw: list[Any] = list(as_column_list(block_sizes))
            if not raw or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in raw
            ):
                raise OptionError(
                    f"The 'block_sizes' parameter of {func} must be a list of positive ints. "
                    f"Got {block_sizes!r} instead."
                )
            bad = [int(s) for s in raw if int(s) % base]
            if bad:
                raise OptionError(
                    f"The 'block_sizes' parameter of {func} must hold multiples of {base} "
                    f"(the sum of the ratios {':'.join(map(str, weights))}) so that every block "
                    f"keeps the ratio exactly. Got {bad} instead."
                )
            sizes = tuple(sorted({int(s) for s in raw}))
    elif block_sizes is not None:
        raise OptionError(
            f"The 'block_sizes' parameter of {func} is used only with method='permuted_blocks'. "
            f"Got method={method!r}."
        )
    rule: BalanceRule | None
    if rerandomise is None:
        rule = None
    elif isinstance(rerandomise, BalanceRule):
        rule = rerandomise
    elif isinstance(rerandomise, Mapping):
        rule = BalanceRule(**rerandomise)
    else:
        raise OptionError(
            f"The 'rerandomise' parameter of {func} must be a BalanceRule (or a dict of its "
            f"fields). Got {rerandomise!r} instead."
        )
    if rule is not None and method != "complete":
        raise OptionError(
            f"The 'rerandomise' parameter of {func} needs method='complete': re-randomisation "
            "redraws the whole sample at once, which rolling (permuted-block) allocation cannot do."
        )
    return Design(
        id=str(id),
        arms=names,
        ratios=ratios,
        weights=weights,
        control=control,
        strata=strata_cols,
        cluster=None if cluster is None else str(cluster),
        order=None if order is None else str(order),
        method=method,
        block_sizes=sizes,
        rule=rule,
    )
