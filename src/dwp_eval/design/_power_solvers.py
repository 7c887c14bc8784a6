"""The solvers behind :func:`~dwp_eval.mde`, :func:`~dwp_eval.sample_size` and
:func:`~dwp_eval.power`: units per arm, power at an effect, the MDE at a target
power, the sample size reaching it (Brent's method), and the result they make.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from scipy import optimize

from dwp_eval._validation import check_option
from dwp_eval.design._power_binary import RATIO_SCALES, difference_from_ratio
from dwp_eval.design._power_design import PowerDesign, number, open01, whole_units
from dwp_eval.design._power_structure import NO_STRUCTURE
from dwp_eval.design._power_variance import (
    critical,
    dunnett_lambdas,
    log_rank,
    multiplier,
    power_at,
    residual_df,
    variance,
)
from dwp_eval.errors import ConvergenceError, DesignError, OptionError
from dwp_eval.results import PowerResult

__all__ = [
    "MAX_CLUSTERS",
    "MAX_PEOPLE",
    "SCALES",
    "Point",
    "allocate",
    "check_effect",
    "check_scale",
    "check_target",
    "evaluate",
    "events_at",
    "given_units",
    "power_result",
    "solve_mde",
    "solve_units",
    "solve_whole",
]

# Search ranges of the sample-size solver (named in its error messages).
MAX_PEOPLE = 1e9
MAX_CLUSTERS = 1e7


def allocate(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Whole units per arm: largest remainders of ``total * share`` (ties to the first arm)."""
    raw = {a: total * s for a, s in shares.items()}
    out = {a: math.floor(v + 1e-9) for a, v in raw.items()}
    left = total - sum(out.values())
    order = sorted(raw, key=lambda a: -(raw[a] - out[a]))
    for a in order[:left]:
        out[a] += 1
    return out



@dataclass(frozen=True)
class Point:
    units: dict[str, float]
    df: float
    rows: list[dict[str, Any]]  # one per comparison: arm, se, crit, power, mult, mde




def check_df(d: PowerDesign, units: Mapping[str, float], func: str) -> float:
    df = residual_df(d, units)
    if df < 1 and d.structure.nested_in is not None:
        caseloads = units[d.treatments[0]] / cast(float, d.cluster_size)
        raise ConvergenceError(
            f"{func}: the design is too small: {caseloads:,.4g} caseloads of {d.cluster_size:g} in the "
            f"treatment arm and {units[d.control]:,.4g} people in control leave {df:,.4g} "
            f"(Satterthwaite) degrees of freedom; at least 1 is needed. Fix: increase n."
        )
    if df < 1:
        what = "clusters" if d.clustered else "people analysed"
        total = sum(units.values()) if d.clustered else sum(units[a] * d.response[a] for a in units)
        need = len(d.arms) * (d.strata or 1) + d.n_covariates + 1
        raise ConvergenceError(
            f"{func}: the design is too small: {total:,.4g} {what} leave {df:,.4g} degrees of "
            f"freedom after {len(d.arms)} arms x {d.strata or 1} strata and {d.n_covariates} "
            f"covariates; at least {need} {what} are needed."
        )
    return df


def evaluate(d: PowerDesign, units: Mapping[str, float], effect_itt: float, func: str) -> Point:
    """Power of each comparison at a given ITT effect."""
    df = check_df(d, units, func)
    crit = critical(d, df, dunnett_lambdas(d, units))
    rows = []
    for arm in d.treatments:
        se = math.sqrt(variance(d, units, arm, effect_itt))
        pw = power_at(d, effect_itt / se, crit, df)
        rows.append({"arm": arm, "se": se, "crit": crit, "power": pw, "mde": effect_itt})
    return Point(dict(units), df, rows)


def solve_mde(d: PowerDesign, units: Mapping[str, float], target: float, func: str) -> Point:
    df = check_df(d, units, func)
    crit = critical(d, df, dunnett_lambdas(d, units))
    mult = multiplier(d, crit, df, target, func)
    rows = []
    for arm in d.treatments:
        if d.survival:
            delta = _solve_log_hr(d, units, arm, mult, func)
        elif d.baseline_rate is None or d.binary_variance == "baseline":
            delta = mult * math.sqrt(variance(d, units, arm, 0.0))
            if d.baseline_rate is not None and delta >= 1 - d.baseline_rate:
                raise ConvergenceError(
                    f"{func}: no detectable effect: even a rise from {d.baseline_rate:g} to 1 "
                    f"(searched ITT effects in (0, {1 - d.baseline_rate:g})) is smaller than "
                    f"{mult:.3f} standard errors. Fix: increase n or n_clusters."
                )
        else:
            hi = 1 - d.baseline_rate - 1e-12

            def gap(x: float, arm: str = arm) -> float:
                return x - mult * math.sqrt(variance(d, units, arm, x))

            if gap(hi) < 0:
                raise ConvergenceError(
                    f"{func}: no detectable effect: even a rise from {d.baseline_rate:g} to 1 "
                    f"(searched ITT effects in (0, {1 - d.baseline_rate:g})) is smaller than "
                    f"{mult:.3f} standard errors. Fix: increase n or n_clusters."
                )
            delta = float(optimize.brentq(gap, 0.0, hi, xtol=1e-14, rtol=1e-14))
        se = math.sqrt(variance(d, units, arm, delta))
        rows.append({"arm": arm, "se": se, "crit": crit, "power": target, "mde": delta})
    return Point(dict(units), df, rows)


def _solve_log_hr(d: PowerDesign, units: Mapping[str, float], arm: str, mult: float, func: str) -> float:
    """The log hazard ratio (> 0) at ``mult`` standard errors (the variance depends on it)."""
    hi = math.log(MAX_HAZARD_RATIO)

    def gap(x: float) -> float:
        return x - mult * math.sqrt(variance(d, units, arm, x))

    if gap(hi) < 0:
        raise ConvergenceError(
            f"{func}: no detectable hazard ratio: searched hazard ratios in (1, {MAX_HAZARD_RATIO:g}). "
            f"Fix: increase n or n_clusters, or follow_up."
        )
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-14, rtol=1e-14))


# Largest hazard ratio the time-to-event MDE solver searches.
MAX_HAZARD_RATIO = 1e4


def min_units(d: PowerDesign) -> float:
    """Smallest total (people or clusters) with at least one residual df."""
    need = len(d.arms) * (d.strata or 1) + d.n_covariates + 1
    if d.structure.moderator_share is not None:
        need += len(d.arms) * (d.strata or 1)
    if d.structure.nested_in is not None:
        size = cast(float, d.cluster_size)
        share_t = d.arms[d.treatments[0]]
        return max(float(need), 2 * size / share_t, 2 / (d.arms[d.control] * d.response[d.control]))
    if d.clustered:
        return float(need)
    mean_response = sum(s * d.response[a] for a, s in d.arms.items())
    return need / mean_response


def units_from_total(d: PowerDesign, total: float) -> dict[str, float]:
    return {a: total * s for a, s in d.arms.items()}


def events_at(d: PowerDesign, total: float, effect_itt: float) -> float:
    """Time-to-event designs: expected events (largest over comparisons) with ``total`` units in exact shares."""
    units = units_from_total(d, total)
    return max(log_rank(d, units, arm, effect_itt)[1] for arm in d.treatments)


def solve_units(d: PowerDesign, effect_itt: float, target: float, func: str) -> float:
    """Continuous total (people or clusters) at which the least powered comparison reaches target."""
    lo = min_units(d) * (1 + 1e-9)
    hi = MAX_CLUSTERS if d.clustered else MAX_PEOPLE
    what = "clusters" if d.clustered else "people"

    def f(total: float) -> float:
        pt = evaluate(d, units_from_total(d, total), effect_itt, func)
        return min(r["power"] for r in pt.rows) - target

    if f(hi) < 0:
        raise ConvergenceError(
            f"{func}: no sample size reaches {target:g} power for an ITT effect of "
            f"{effect_itt:.6g}: searched {lo:,.4g} to {hi:,.4g} {what}."
        )
    if f(lo) >= 0:
        return lo
    return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-13, maxiter=500))


# Power at the sample size found must reach the target up to this much: the
# round trip sample_size(mde(n=N).mde) lands on N although the power at the MDE
# is the target only to solver precision (~1e-12); one more person raises power
# by more than 1e-9 for any n below 1e8.
POWER_TOL = 1e-10


def solve_whole(d: PowerDesign, effect_itt: float, target: float, exact: float, func: str) -> int:
    """Smallest whole total (people or clusters) whose allocation reaches ``target`` power.

    The total is split into arms by :func:`allocate`, the rule :func:`~dwp_eval.mde`
    and :func:`~dwp_eval.power` apply to ``n=``, so ``sample_size`` inverts them
    exactly. ``exact`` (the continuous solution) brackets the search: a total
    ``1 / (smallest share)`` below it leaves every arm below its continuous
    solution (power below target), one that far above leaves every arm above it.
    """
    step = 1.0 / min(d.arms.values()) + 1.0

    def reaches(total: int) -> bool:
        units = {a: float(v) for a, v in allocate(total, d.arms).items()}
        if min(units.values()) < 1 or residual_df(d, units) < 1:
            return False
        pt = evaluate(d, units, effect_itt, func)
        return min(r["power"] for r in pt.rows) >= target - POWER_TOL

    lo = max(1, math.floor(exact - step))
    hi = max(lo + 1, math.ceil(exact + step))
    limit = MAX_CLUSTERS if d.clustered else MAX_PEOPLE
    while not reaches(hi):  # pragma: no cover - the bracket above holds
        if hi > 2 * limit:
            raise ConvergenceError(
                f"{func}: no whole sample size reaches {target:g} power for an ITT effect of "
                f"{effect_itt:.6g}: searched up to {hi:,} {'clusters' if d.clustered else 'people'}."
            )
        lo, hi = hi, 2 * hi
    if reaches(lo):
        while lo > 1 and reaches(lo - 1):
            lo -= 1
        return lo
    while hi - lo > 1:  # reaches(hi) and not reaches(lo)
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi


def power_result(
    d: PowerDesign,
    point: Point,
    *,
    solved_for: str,
    target: float | None,
    effect: float | None,
    unrounded: float | None = None,
    scale: str | None = None,
) -> PowerResult:
    units = point.units
    events = None
    if d.survival:
        from_rows = [log_rank(d, units, r["arm"], r["mde"])[1] for r in point.rows]
        events = max(from_rows)
    if d.clustered:
        # people per randomised unit (a level-3 unit holds level3_size clusters)
        size = cast(float, d.cluster_size) * (d.structure.level3_size or 1.0)
        clusters = {a: round(units[a]) for a in d.arms}
        per_arm = {a: round(clusters[a] * size) for a in d.arms}
        n_clusters: int | None = sum(clusters.values())
        analysed = sum(clusters[a] * size * d.response[a] for a in d.arms)
        clusters_out: dict[str, int] | None = clusters
    else:
        per_arm = {a: round(units[a]) for a in d.arms}
        n_clusters = None
        clusters_out = None
        analysed = sum(per_arm[a] * d.response[a] for a in d.arms)
    comp = []
    for r in point.rows:
        mult = r["mde"] / r["se"] if r["se"] > 0 else 0.0
        if d.survival:  # a hazard ratio below 1 is as detectable as above
            mult = abs(mult)
        comp.append(
            {
                "term": f"{r['arm']} vs {d.control}",
                "n": sum(per_arm.values()),
                "n_treatment": per_arm[r["arm"]],
                "n_control": per_arm[d.control],
                "n_clusters": n_clusters,
                "n_analysed": analysed,
                "mde": r["mde"],
                "mde_cace": r["mde"] / d.compliance,
                "power": r["power"],
                "std_error": r["se"],
                "df": point.df,
                "multiplier": mult,
                "alpha": d.alpha,
                "method": d.method,
                "design": d.label,
            }
        )
    # the least powered comparison (largest MDE when solving for the MDE)
    worst = max(comp, key=lambda c: c["mde"]) if solved_for == "mde" else min(comp, key=lambda c: c["power"])
    return PowerResult(
        solved_for=solved_for,
        n=sum(per_arm.values()),
        n_per_arm=per_arm,
        n_clusters=n_clusters,
        n_clusters_per_arm=clusters_out,
        n_analysed=float(analysed),
        mde=float(worst["mde"]),
        mde_cace=float(worst["mde_cace"]),
        power=float(worst["power"]),
        std_error=float(worst["std_error"]),
        df=float(point.df),
        multiplier=float(worst["multiplier"]),
        target_power=target,
        effect=effect,
        alpha=d.alpha,
        two_sided=d.two_sided,
        arms=dict(d.arms),
        control=d.control,
        sd=d.sd,
        baseline_rate=d.baseline_rate,
        r2=d.r2,
        cluster_size=d.cluster_size,
        icc=d.icc,
        r2_cluster=d.r2_cluster,
        cluster_size_cv=d.cluster_size_cv,
        strata=d.strata,
        n_covariates=d.n_covariates,
        take_up=d.take_up,
        contamination=d.contamination,
        response_rate=dict(d.response),
        correction=d.correction,
        method=d.method,
        binary_variance=d.binary_variance,
        outcome=d.outcome,
        design=d.label,
        unrounded=unrounded,
        scale=scale,
        comparisons=tuple(comp),
        events=events,
        structure=d.structure.__dict__.copy() if d.structure != NO_STRUCTURE else None,
    )


def given_units(d: PowerDesign, n: Any, n_clusters: Any, func: str) -> dict[str, float]:
    """Whole units per arm from ``n`` (people) or ``n_clusters``."""
    if n is not None and n_clusters is not None:
        raise OptionError(
            f"{func}: give either 'n' (people) or 'n_clusters', not both. "
            f"Got n={n!r} and n_clusters={n_clusters!r}."
        )
    if n is None and n_clusters is None:
        raise OptionError(
            f"{func}: the sample is missing. Fix: pass n= (people randomised) or, for a cluster "
            f"design, n_clusters=."
        )
    if n_clusters is not None:
        if d.structure.nested_in is not None:
            raise OptionError(
                f"{func}: in a partially nested design people, not clusters, are randomised: pass n= "
                f"(people randomised); cluster_size= is the treatment arm's caseload size."
            )
        if not d.clustered:
            raise OptionError(
                f"{func}: 'n_clusters' needs a cluster design; pass cluster_size= and icc= too, "
                f"or pass n= for individual randomisation."
            )
        j = whole_units(n_clusters, "n_clusters", func)
        return _nonempty(
            {a: float(v) for a, v in allocate(j, d.arms).items()}, f"n_clusters={j:,}", func
        )
    people = whole_units(n, "n", func)
    if d.clustered:
        per_unit = cast(float, d.cluster_size) * (d.structure.level3_size or 1.0)
        jf = people / per_unit  # cluster_size is set in every cluster design
        if abs(jf - round(jf)) > 1e-9:
            unit = (f"level-3 units of {per_unit:g} people" if d.structure.three_level
                    else f"clusters of size {d.cluster_size:g}")
            raise OptionError(
                f"{func}: n={people:,} is not a whole number of {unit}. Fix: pass n_clusters= instead."
            )
        return _nonempty(
            {a: float(v) for a, v in allocate(round(jf), d.arms).items()}, f"n={people:,}", func
        )
    return _nonempty({a: float(v) for a, v in allocate(people, d.arms).items()}, f"n={people:,}", func)


def _nonempty(units: dict[str, float], given: str, func: str) -> dict[str, float]:
    """Refuse an allocation that leaves an arm with nobody: no variance exists for it."""
    empty = [a for a, v in units.items() if v < 1]
    if empty:
        shares = ", ".join(f"{v:g} in arm {a!r}" for a, v in units.items())
        raise DesignError(
            f"{func}: {given} allocated by the arm shares gives {shares}: an arm with no one "
            "has no estimate. Fix: give a larger n or a less extreme ratio/arms share."
        )
    return units


def check_target(value: Any, d: PowerDesign, func: str) -> float:
    p = open01(value, "power", func)
    if p <= d.alpha:
        raise ConvergenceError(
            f"{func}: power ({p:g}) must exceed alpha ({d.alpha:g}): a test with size alpha "
            f"already rejects with probability alpha when there is no effect, so no effect in "
            f"(0, infinity) is 'minimum detectable' at this power."
        )
    return p


SCALES = ("itt", "cace", *RATIO_SCALES, "hazard_ratio")


def check_scale(d: PowerDesign, scale: Any, name: str, func: str) -> str:
    """The scale of ``name``: required (``"itt"`` or ``"cace"``) when take-up or contamination dilute the effect."""
    if d.survival:
        if scale not in (None, "hazard_ratio"):
            raise OptionError(
                f"{func}: in a time-to-event design (control_median=) '{name}' is a hazard ratio: pass "
                f"scale='hazard_ratio' or leave scale out. Got scale={scale!r}."
            )
        return "hazard_ratio"
    if scale == "hazard_ratio":
        raise OptionError(
            f"{func}: scale='hazard_ratio' needs a time-to-event design: pass control_median= and "
            f"follow_up= (and accrual= if recruitment is spread out)."
        )
    if scale is None:
        if d.compliance != 1.0:
            raise OptionError(
                f"{func}: '{name}' is ambiguous when take_up={d.take_up:g} and "
                f"contamination={d.contamination:g}: the ITT effect (of being offered the "
                f"programme) is the CACE (its effect on those who take it up) times "
                f"take_up - contamination = {d.compliance:g}. Fix: pass scale='itt' if {name} is "
                f"the ITT effect (as mde() reports in .mde) or scale='cace' if it is the effect "
                f"on those who take it up (.mde_cace)."
            )
        return "itt"
    how = check_option(scale, SCALES, param="scale", func=func)
    if how in RATIO_SCALES and d.baseline_rate is None:
        raise OptionError(
            f"{func}: scale={how!r} needs a binary outcome: pass baseline_rate= (the control-arm "
            f"rate), or give '{name}' as a difference on scale='itt'."
        )
    return how


def check_effect(
    d: PowerDesign, effect: Any, name: str, func: str, *, allow_zero: bool, scale: str
) -> tuple[float, float]:
    """The effect as given and its ITT value (``effect`` on ``scale``)."""
    what = "a number" if allow_zero else "a non-zero number"
    if scale == "hazard_ratio":
        hr = number(effect, name, func, "a hazard ratio: a positive number" + ("" if allow_zero else " other than 1"),
                    lambda v: 0 < v < MAX_HAZARD_RATIO and 1 / v < MAX_HAZARD_RATIO and (allow_zero or v != 1))
        return hr, math.log(hr)
    if scale in RATIO_SCALES:
        positive = "a positive number" + ("" if allow_zero else " other than 1")
        e = number(effect, name, func, positive, lambda v: v > 0 and (allow_zero or v != 1))
        return e, difference_from_ratio(cast(float, d.baseline_rate), e, scale, name, func)
    e = number(effect, name, func, what, lambda v: allow_zero or v != 0)
    itt = e * d.compliance if scale == "cace" else e
    if d.baseline_rate is not None and not 0 < d.baseline_rate + itt < 1:
        given = f"{name} x (take_up - contamination)" if scale == "cace" else name
        raise OptionError(
            f"The '{name}' parameter of {func} is a difference in rates: the treatment-arm rate "
            f"baseline_rate + {given} = {d.baseline_rate + itt:.4g} "
            f"must be in (0, 1). Got {effect!r}; pass 0.05 for 5 percentage points."
        )
    return e, itt
