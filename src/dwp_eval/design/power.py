"""Analytic power, minimum detectable effect (MDE) and sample size for trial designs.

One design description is shared by :func:`mde`, :func:`sample_size`,
:func:`power` and :func:`power_curve` (all options keyword-only):

* test: ``alpha=0.05``, ``power=0.8``, ``two_sided=True``, ``method="t"``;
* allocation: ``ratio=0.5`` (fraction treated) or ``arms=`` (several arms, each
  compared with control, ``correction="bonferroni" | "holm" | "dunnett"``);
* outcome: ``sd=`` (continuous; effects in outcome units) or ``baseline_rate=``
  (binary; effects are differences in rates, 0.037 = 3.7 percentage points);
  neither gives standardised effects (SD units);
* precision: ``r2=`` (individual covariates), ``strata=`` (number of blocks,
  fixed effects), ``n_covariates=`` (for the df);
* clusters: ``cluster_size=``, ``icc=``, ``r2_cluster=``, ``cluster_size_cv=``;
* dilution: ``take_up=1.0``, ``contamination=0.0``; loss: ``attrition=0.0``
  or ``response_rate=`` (a number or one per arm).

The variance of the ITT contrast between arm :math:`a` and control :math:`c`
with :math:`n_a, n_c` people analysed is (Bloom 1995; Dong & Maynard 2013,
eq. for IRA/BIRA)

.. math:: V = (1 - R^2)\\,\\bigl(\\sigma_a^2 / n_a + \\sigma_c^2 / n_c\\bigr),

and with :math:`J_a, J_c` clusters of mean size :math:`m` (analysed
:math:`m_a = m\\,r_a`), intraclass correlation :math:`\\rho` and coefficient of
variation of cluster sizes :math:`CV` (Dong & Maynard 2013, CRA2;
Eldridge, Ashby & Kerry 2006, *IJE* 35:1292)

.. math:: V = \\sum_{g \\in \\{a, c\\}} \\frac{\\sigma_g^2}{J_g}
   \\Bigl[\\rho\\,(1 - R^2_{cluster})\\,(1 + CV^2) + \\frac{(1-\\rho)(1-R^2)}{m_g}\\Bigr].

The MDE is :math:`M \\sqrt{V}` with the multiplier :math:`M` of the chosen
``method``. The CACE MDE is the ITT MDE over ``take_up - contamination``
(Bloom 1984; Angrist, Imbens & Rubin 1996).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from dwp_eval._validation import check_option
from dwp_eval.errors import ConvergenceError, OptionError
from dwp_eval.results import PowerCurve, PowerResult

__all__ = ["mde", "power", "power_curve", "sample_size"]

Method = Literal["t", "noncentral_t", "normal"]
Correction = Literal["bonferroni", "holm", "dunnett"]
BinaryVariance = Literal["unpooled", "baseline"]

METHODS = ("t", "noncentral_t", "normal")
CORRECTIONS = ("bonferroni", "holm", "dunnett")
BINARY_VARIANCES = ("unpooled", "baseline")

# Search ranges of the sample-size solver (named in its error messages).
MAX_PEOPLE = 1e9
MAX_CLUSTERS = 1e7


# ------------------------------------------------------------------ validation


def _number(value: Any, name: str, func: str, what: str, ok: Callable[[float], bool]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.")
    v = float(value)
    if not math.isfinite(v) or not ok(v):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.")
    return v


def _open01(value: Any, name: str, func: str) -> float:
    return _number(value, name, func, "a float in (0, 1)", lambda v: 0 < v < 1)


def _closed01(value: Any, name: str, func: str, *, upper_open: bool = False) -> float:
    if upper_open:
        return _number(value, name, func, "a float in [0, 1)", lambda v: 0 <= v < 1)
    return _number(value, name, func, "a float in [0, 1]", lambda v: 0 <= v <= 1)


def _positive(value: Any, name: str, func: str) -> float:
    return _number(value, name, func, "a positive number", lambda v: v > 0)


def _count(value: Any, name: str, func: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise OptionError(
            f"The '{name}' parameter of {func} must be an int >= {minimum}. Got {value!r} instead."
        )
    return int(value)


def _people(value: Any, name: str, func: str) -> int:
    """Counts of people or clusters: whole numbers (floats like 3675.0 are accepted)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return _count(value, name, func, minimum=2)


@dataclass(frozen=True)
class _Design:
    """The validated design description (internal)."""

    func: str
    alpha: float
    two_sided: bool
    arms: dict[str, float]  # arm -> share of units, control first
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
    response: dict[str, float]
    correction: str
    method: str
    binary_variance: str
    outcome: str | None

    @property
    def clustered(self) -> bool:
        return self.cluster_size is not None

    @property
    def treatments(self) -> list[str]:
        return [a for a in self.arms if a != self.control]

    @property
    def compliance(self) -> float:
        return self.take_up - self.contamination

    @property
    def label(self) -> str:
        kind = "cluster-randomised" if self.clustered else "individually randomised"
        if self.strata is not None:
            kind = f"{kind} within {self.strata} strata"
        extra = [f"R2 {self.r2:g}"] if self.r2 else []
        if self.clustered and self.r2_cluster:
            extra.append(f"cluster R2 {self.r2_cluster:g}")
        if self.take_up != 1 or self.contamination:
            extra.append(f"take-up {self.take_up:g}, contamination {self.contamination:g}")
        if any(r != 1 for r in self.response.values()):
            extra.append("response " + ", ".join(f"{a} {r:g}" for a, r in self.response.items()))
        if self.baseline_rate is not None:
            extra.append(f"binary outcome, {self.binary_variance} variance")
        return kind + ("; " + "; ".join(extra) if extra else "")


def _arms(
    ratio: Any, arms: Any, func: str
) -> tuple[dict[str, float], str]:
    if arms is None:
        r = _open01(ratio, "ratio", func)
        return {"control": 1 - r, "treatment": r}, "control"
    if ratio != 0.5:
        raise OptionError(
            f"{func}: give either 'ratio' (two arms) or 'arms' (the share of each arm), not both. "
            f"Got ratio={ratio!r} and arms={arms!r}."
        )
    if isinstance(arms, (int, np.integer)) and not isinstance(arms, bool):
        k = _count(arms, "arms", func, minimum=2)
        names = ["control", *[f"treatment_{i}" for i in range(1, k)]]
        weights: dict[str, float] = dict.fromkeys(names, 1.0)
    elif isinstance(arms, Mapping):
        weights = {}
        for name, w in arms.items():
            weights[str(name)] = _positive(w, f"arms[{name!r}]", func)
    elif isinstance(arms, Sequence) and not isinstance(arms, str):
        weights = dict.fromkeys((str(a) for a in arms), 1.0)
    else:
        weights = {}
    if len(weights) < 2:
        raise OptionError(
            f"The 'arms' parameter of {func} must be the number of arms (>= 2), a list of at least "
            f"two arm names or a mapping of arm name to allocation ratio such as "
            f"{{'control': 2, 'treatment': 1}}. Got {arms!r} instead."
        )
    control = "control" if "control" in weights else next(iter(weights))
    total = sum(weights.values())
    ordered = {control: weights[control] / total}
    ordered.update({a: w / total for a, w in weights.items() if a != control})
    return ordered, control


def _response(attrition: Any, response_rate: Any, arms: Mapping[str, float], func: str) -> dict[str, float]:
    if response_rate is not None and not (
        isinstance(attrition, (int, float)) and not isinstance(attrition, bool) and attrition == 0
    ):
        raise OptionError(
            f"{func}: give either 'attrition' or 'response_rate' (= 1 - attrition), not both."
        )
    if response_rate is None:
        name, value, convert = "attrition", attrition, (lambda a: 1.0 - a)
    else:
        name, value, convert = "response_rate", response_rate, (lambda r: r)
    if isinstance(value, Mapping):
        unknown = [a for a in value if str(a) not in arms]
        missing = [a for a in arms if a not in {str(k) for k in value}]
        if unknown or missing:
            raise OptionError(
                f"The '{name}' parameter of {func} must give one rate for every arm "
                f"({', '.join(map(repr, arms))}). "
                + (f"Unknown arm(s): {', '.join(map(repr, unknown))}. " if unknown else "")
                + (f"Missing arm(s): {', '.join(map(repr, missing))}." if missing else "")
            )
        rates = {str(a): v for a, v in value.items()}
    else:
        rates = dict.fromkeys(arms, value)
    out = {}
    for a in arms:
        if name == "attrition":
            v = _closed01(rates[a], name, func, upper_open=True)
        else:
            v = _number(rates[a], name, func, "a float in (0, 1]", lambda r: 0 < r <= 1)
        out[a] = convert(v)
    return out


def _design(func: str, **kw: Any) -> _Design:
    alpha = _open01(kw["alpha"], "alpha", func)
    if not isinstance(kw["two_sided"], (bool, np.bool_)):
        raise OptionError(
            f"The 'two_sided' parameter of {func} must be True or False. Got {kw['two_sided']!r} instead."
        )
    arms, control = _arms(kw["ratio"], kw["arms"], func)
    sd, rate = kw["sd"], kw["baseline_rate"]
    if sd is not None and rate is not None:
        raise OptionError(
            f"{func}: give either 'sd' (continuous outcome) or 'baseline_rate' (binary outcome), "
            f"not both. Got sd={sd!r} and baseline_rate={rate!r}."
        )
    if sd is not None:
        sd = _positive(sd, "sd", func)
    if rate is not None:
        rate = _open01(rate, "baseline_rate", func)
    r2 = _closed01(kw["r2"], "r2", func, upper_open=True)
    cluster_size, icc = kw["cluster_size"], kw["icc"]
    if (cluster_size is None) != (icc is None):
        given, need = ("cluster_size", "icc") if icc is None else ("icc", "cluster_size")
        raise OptionError(
            f"{func}: a cluster design needs both 'cluster_size' and 'icc'; got {given} without "
            f"{need}. Fix: pass {need}= too (icc=0.02 is a common guess for employment "
            f"outcomes by jobcentre), or neither for individual randomisation."
        )
    r2_cluster = _closed01(kw["r2_cluster"], "r2_cluster", func, upper_open=True)
    cv = _number(kw["cluster_size_cv"], "cluster_size_cv", func, "a number >= 0", lambda v: v >= 0)
    if cluster_size is not None:
        cluster_size = _number(cluster_size, "cluster_size", func, "a number >= 1", lambda v: v >= 1)
        icc = _closed01(icc, "icc", func, upper_open=True)
    elif r2_cluster or cv:
        raise OptionError(
            f"{func}: 'r2_cluster' and 'cluster_size_cv' apply to cluster designs only; "
            f"pass cluster_size= and icc= as well."
        )
    strata = None if kw["strata"] is None else _count(kw["strata"], "strata", func)
    n_cov = _count(kw["n_covariates"], "n_covariates", func, minimum=0)
    take_up = _number(kw["take_up"], "take_up", func, "a float in (0, 1]", lambda v: 0 < v <= 1)
    contamination = _closed01(kw["contamination"], "contamination", func, upper_open=True)
    if take_up <= contamination:
        raise ConvergenceError(
            f"{func}: take_up ({take_up:g}) must exceed contamination ({contamination:g}): "
            f"the ITT effect is CACE x (take_up - contamination) = 0 or less, so no sample size or "
            f"effect in (0, infinity) can be detected."
        )
    response = _response(kw["attrition"], kw["response_rate"], arms, func)
    correction = check_option(kw["correction"], CORRECTIONS, param="correction", func=func)
    method = check_option(kw["method"], METHODS, param="method", func=func)
    bv = check_option(kw["binary_variance"], BINARY_VARIANCES, param="binary_variance", func=func)
    outcome = kw["outcome"]
    if outcome is not None and not isinstance(outcome, str):
        raise OptionError(f"The 'outcome' parameter of {func} must be a str or None. Got {outcome!r} instead.")
    return _Design(
        func=func,
        alpha=alpha,
        two_sided=bool(kw["two_sided"]),
        arms=arms,
        control=control,
        sd=sd,
        baseline_rate=rate,
        r2=r2,
        cluster_size=cluster_size,
        icc=icc,
        r2_cluster=r2_cluster,
        cluster_size_cv=cv,
        strata=strata,
        n_covariates=n_cov,
        take_up=take_up,
        contamination=contamination,
        response=response,
        correction=correction,
        method=method,
        binary_variance=bv,
        outcome=outcome,
    )


# ------------------------------------------------------------------ the engine


def _allocate(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Whole units per arm: largest remainders of ``total * share`` (ties to the first arm)."""
    raw = {a: total * s for a, s in shares.items()}
    out = {a: math.floor(v + 1e-9) for a, v in raw.items()}
    left = total - sum(out.values())
    order = sorted(raw, key=lambda a: -(raw[a] - out[a]))
    for a in order[:left]:
        out[a] += 1
    return out


def _df(d: _Design, units: Mapping[str, float]) -> float:
    """Residual df: units analysed - arms x strata - covariates (PowerUp's convention)."""
    n_arms = len(d.arms)
    blocks = d.strata or 1
    if d.clustered:
        total = sum(units.values())
    else:
        total = sum(units[a] * d.response[a] for a in units)
    return total - n_arms * blocks - d.n_covariates


def _unit_variance(d: _Design, arm: str, effect_itt: float) -> float:
    """Per-person outcome variance in an arm (at the alternative for binary outcomes)."""
    if d.baseline_rate is not None:
        p = d.baseline_rate
        if arm != d.control and d.binary_variance == "unpooled":
            p = p + effect_itt
        return p * (1 - p)
    return 1.0 if d.sd is None else d.sd**2


def _variance(d: _Design, units: Mapping[str, float], arm: str, effect_itt: float) -> float:
    """Variance of the ITT contrast ``arm - control`` (see the module docstring)."""
    total = 0.0
    for g in (arm, d.control):
        v = _unit_variance(d, g, effect_itt)
        if d.clustered:
            # cluster_size and icc are both set in every cluster design (checked on input)
            size, icc = cast(float, d.cluster_size), cast(float, d.icc)
            m = size * d.response[g]
            between = icc * (1 - d.r2_cluster) * (1 + d.cluster_size_cv**2)
            within = (1 - icc) * (1 - d.r2) / m
            total += v * (between + within) / units[g]
        else:
            total += v * (1 - d.r2) / (units[g] * d.response[g])
    return total


def _dunnett_probability(c: float, lambdas: tuple[float, ...], df: float, two_sided: bool) -> float:
    """P(all |T_i| <= c) (or T_i <= c) for Dunnett's statistics (Dunnett 1955, JASA 50:1096).

    Correlations are ``sqrt(lambda_i lambda_j)`` with ``lambda_i = n_i / (n_i + n_c)``,
    so one normal factor ``W`` makes the statistics independent; the studentised
    case integrates over ``s = sqrt(chi2_df / df)``.
    """
    x, w = special.roots_hermitenorm(80)
    w = w / math.sqrt(2 * math.pi)
    lam = np.asarray(lambdas)[:, None]
    a, b = np.sqrt(lam), np.sqrt(1 - lam)

    def given_s(s: float) -> float:
        upper = stats.norm.cdf((c * s + a * x) / b)
        lower = stats.norm.cdf((-c * s + a * x) / b) if two_sided else 0.0
        return float(np.sum(w * np.prod(upper - lower, axis=0)))

    if not math.isfinite(df):
        return given_s(1.0)
    dens = stats.chi(df)
    val, _ = integrate.quad(
        lambda s: given_s(s) * float(dens.pdf(s * math.sqrt(df))) * math.sqrt(df),
        0,
        np.inf,
        epsabs=1e-10,
        limit=200,
    )
    return float(val)


@lru_cache(maxsize=256)
def _dunnett_critical(alpha: float, lambdas: tuple[float, ...], df: float, two_sided: bool) -> float:
    def f(c: float) -> float:
        return _dunnett_probability(c, lambdas, df, two_sided) - (1 - alpha)

    return float(optimize.brentq(f, 0.5, 40.0, xtol=1e-10))


def _critical(d: _Design, df: float, lambdas: tuple[float, ...]) -> float:
    """Critical value of each comparison's test statistic (after any correction)."""
    k = len(d.arms) - 1
    use_df = math.inf if d.method == "normal" else df
    if k > 1 and d.correction == "dunnett":
        return _dunnett_critical(d.alpha, tuple(round(v, 12) for v in lambdas), use_df, d.two_sided)
    # Bonferroni; for one comparison Holm's first step is Bonferroni's, so its
    # power to reject it is at least this (a conservative, standard choice).
    a = d.alpha / k if k > 1 else d.alpha
    q = 1 - a / 2 if d.two_sided else 1 - a
    return float(stats.norm.ppf(q)) if use_df == math.inf else float(stats.t.ppf(q, use_df))


def _power_at(d: _Design, lam: float, crit: float, df: float) -> float:
    """Power of one comparison when its ITT effect is ``lam`` standard errors."""
    lam = abs(lam)
    if d.method == "t":  # Bloom (1995) / PowerUp: shifted central t, one tail
        return float(stats.t.cdf(lam - crit, df))
    if d.method == "normal":
        p = float(stats.norm.cdf(lam - crit))
        return p + float(stats.norm.cdf(-lam - crit)) if d.two_sided else p
    p = float(stats.nct.sf(crit, df, lam))  # exact under normal errors: pwr, statsmodels
    if not d.two_sided:
        return p
    far = float(stats.nct.cdf(-crit, df, lam))
    return p + (far if math.isfinite(far) else 0.0)  # scipy gives NaN for tails below ~1e-300


def _multiplier(d: _Design, crit: float, df: float, target: float, func: str) -> float:
    """The number of standard errors at which power equals ``target``."""
    if d.method == "t":
        return crit + float(stats.t.ppf(target, df))
    hi = crit + float(stats.norm.ppf(target)) + 5.0
    if _power_at(d, hi, crit, df) < target:  # pragma: no cover - needs power ~ 1
        raise ConvergenceError(
            f"{func}: no effect up to {hi:g} standard errors reaches {target:g} power."
        )
    return float(optimize.brentq(lambda lam: _power_at(d, lam, crit, df) - target, 0.0, hi, xtol=1e-12))


@dataclass(frozen=True)
class _Point:
    units: dict[str, float]
    df: float
    rows: list[dict[str, Any]]  # one per comparison: arm, se, crit, power, mult, mde


def _lambdas(d: _Design, units: Mapping[str, float]) -> tuple[float, ...]:
    def eff(a: str) -> float:
        return units[a] * (1.0 if d.clustered else d.response[a])

    c = eff(d.control)
    return tuple(eff(a) / (eff(a) + c) for a in d.treatments)


def _check_df(d: _Design, units: Mapping[str, float], func: str) -> float:
    df = _df(d, units)
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


def _evaluate(d: _Design, units: Mapping[str, float], effect_itt: float, func: str) -> _Point:
    """Power of each comparison at a given ITT effect."""
    df = _check_df(d, units, func)
    crit = _critical(d, df, _lambdas(d, units))
    rows = []
    for arm in d.treatments:
        se = math.sqrt(_variance(d, units, arm, effect_itt))
        pw = _power_at(d, effect_itt / se, crit, df)
        rows.append({"arm": arm, "se": se, "crit": crit, "power": pw, "mde": effect_itt})
    return _Point(dict(units), df, rows)


def _solve_mde(d: _Design, units: Mapping[str, float], target: float, func: str) -> _Point:
    df = _check_df(d, units, func)
    crit = _critical(d, df, _lambdas(d, units))
    mult = _multiplier(d, crit, df, target, func)
    rows = []
    for arm in d.treatments:
        if d.baseline_rate is None or d.binary_variance == "baseline":
            delta = mult * math.sqrt(_variance(d, units, arm, 0.0))
            if d.baseline_rate is not None and delta >= 1 - d.baseline_rate:
                raise ConvergenceError(
                    f"{func}: no detectable effect: even a rise from {d.baseline_rate:g} to 1 "
                    f"(searched ITT effects in (0, {1 - d.baseline_rate:g})) is smaller than "
                    f"{mult:.3f} standard errors. Fix: increase n or n_clusters."
                )
        else:
            hi = 1 - d.baseline_rate - 1e-12

            def gap(x: float, arm: str = arm) -> float:
                return x - mult * math.sqrt(_variance(d, units, arm, x))

            if gap(hi) < 0:
                raise ConvergenceError(
                    f"{func}: no detectable effect: even a rise from {d.baseline_rate:g} to 1 "
                    f"(searched ITT effects in (0, {1 - d.baseline_rate:g})) is smaller than "
                    f"{mult:.3f} standard errors. Fix: increase n or n_clusters."
                )
            delta = float(optimize.brentq(gap, 0.0, hi, xtol=1e-14, rtol=1e-14))
        se = math.sqrt(_variance(d, units, arm, delta))
        rows.append({"arm": arm, "se": se, "crit": crit, "power": target, "mde": delta})
    return _Point(dict(units), df, rows)


def _min_units(d: _Design) -> float:
    """Smallest total (people or clusters) with at least one residual df."""
    need = len(d.arms) * (d.strata or 1) + d.n_covariates + 1
    if d.clustered:
        return float(need)
    mean_response = sum(s * d.response[a] for a, s in d.arms.items())
    return need / mean_response


def _units_from_total(d: _Design, total: float) -> dict[str, float]:
    return {a: total * s for a, s in d.arms.items()}


def _solve_units(d: _Design, effect_itt: float, target: float, func: str) -> float:
    """Continuous total (people or clusters) at which the least powered comparison reaches target."""
    lo = _min_units(d) * (1 + 1e-9)
    hi = MAX_CLUSTERS if d.clustered else MAX_PEOPLE
    what = "clusters" if d.clustered else "people"

    def f(total: float) -> float:
        pt = _evaluate(d, _units_from_total(d, total), effect_itt, func)
        return min(r["power"] for r in pt.rows) - target

    if f(hi) < 0:
        raise ConvergenceError(
            f"{func}: no sample size reaches {target:g} power for an ITT effect of "
            f"{effect_itt:.6g}: searched {lo:,.4g} to {hi:,.4g} {what}."
        )
    if f(lo) >= 0:
        return lo
    return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-13, maxiter=500))


def _result(
    d: _Design,
    point: _Point,
    *,
    solved_for: str,
    target: float | None,
    effect: float | None,
    unrounded: float | None = None,
) -> PowerResult:
    units = point.units
    if d.clustered:
        size = cast(float, d.cluster_size)  # set in every cluster design (checked on input)
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
        comparisons=tuple(comp),
    )


def _given_units(d: _Design, n: Any, n_clusters: Any, func: str) -> dict[str, float]:
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
        if not d.clustered:
            raise OptionError(
                f"{func}: 'n_clusters' needs a cluster design; pass cluster_size= and icc= too, "
                f"or pass n= for individual randomisation."
            )
        j = _people(n_clusters, "n_clusters", func)
        return {a: float(v) for a, v in _allocate(j, d.arms).items()}
    people = _people(n, "n", func)
    if d.clustered:
        jf = people / cast(float, d.cluster_size)  # set in every cluster design
        if abs(jf - round(jf)) > 1e-9:
            raise OptionError(
                f"{func}: n={people:,} is not a whole number of clusters of size "
                f"{d.cluster_size:g}. Fix: pass n_clusters= instead."
            )
        return {a: float(v) for a, v in _allocate(round(jf), d.arms).items()}
    return {a: float(v) for a, v in _allocate(people, d.arms).items()}


def _target(value: Any, d: _Design, func: str) -> float:
    p = _open01(value, "power", func)
    if p <= d.alpha:
        raise ConvergenceError(
            f"{func}: power ({p:g}) must exceed alpha ({d.alpha:g}): a test with size alpha "
            f"already rejects with probability alpha when there is no effect, so no effect in "
            f"(0, infinity) is 'minimum detectable' at this power."
        )
    return p


def _effect_itt(d: _Design, effect: Any, name: str, func: str, *, allow_zero: bool) -> tuple[float, float]:
    what = "a number" if allow_zero else "a non-zero number"
    e = _number(effect, name, func, what, lambda v: allow_zero or v != 0)
    itt = e * d.compliance
    if d.baseline_rate is not None and not 0 < d.baseline_rate + itt < 1:
        raise OptionError(
            f"The '{name}' parameter of {func} is a difference in rates: the treatment-arm rate "
            f"baseline_rate + {name} x (take_up - contamination) = {d.baseline_rate + itt:.4g} "
            f"must be in (0, 1). Got {effect!r}; pass 0.05 for 5 percentage points."
        )
    return e, itt


# ------------------------------------------------------------------ public API


def mde(
    *,
    n: int | None = None,
    n_clusters: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 0.5,
    arms: int | Sequence[str] | Mapping[str, float] | None = None,
    sd: float | None = None,
    baseline_rate: float | None = None,
    r2: float = 0.0,
    cluster_size: float | None = None,
    icc: float | None = None,
    r2_cluster: float = 0.0,
    cluster_size_cv: float = 0.0,
    strata: int | None = None,
    n_covariates: int = 0,
    take_up: float = 1.0,
    contamination: float = 0.0,
    attrition: float | Mapping[str, float] = 0.0,
    response_rate: float | Mapping[str, float] | None = None,
    correction: Correction = "bonferroni",
    method: Method = "t",
    binary_variance: BinaryVariance = "baseline",
    outcome: str | None = None,
) -> PowerResult:
    """Minimum detectable effect (ITT and CACE) of a design with ``n`` people or ``n_clusters``.

    Parameters
    ----------
    n, n_clusters
        People randomised, or (cluster designs) clusters randomised; whole
        numbers, allocated to arms by ``ratio``/``arms`` (largest remainders).
    alpha, power, two_sided
        Significance level, target power and whether the test is two-sided.
    ratio
        Fraction of units assigned to treatment (two arms).
    arms
        Several arms instead of ``ratio``: their number, their names, or a
        mapping of name to allocation ratio (``{"control": 2, "a": 1, "b": 1}``).
        The control arm is ``"control"`` if present, else the first; each other
        arm is compared with it, with ``correction`` for the multiple comparisons.
    sd, baseline_rate
        Outcome SD (continuous; effects in outcome units) or control-arm rate
        (binary; effects are differences in rates, 0.037 = 3.7 pp). Neither:
        effects in SD units.
    r2
        Share of the individual-level outcome variance explained by baseline
        covariates (in cluster designs: of the within-cluster variance),
        including the strata when they enter the analysis as fixed effects:
        ``strata=`` alone only costs degrees of freedom, so the variance the
        strata explain must be counted here.
    cluster_size, icc, r2_cluster, cluster_size_cv
        Cluster designs: mean people per cluster, intraclass correlation,
        share of the between-cluster variance explained by cluster-level
        covariates, and the coefficient of variation of cluster sizes.
    strata
        Number of strata (blocks) randomised within, analysed with fixed
        effects: they cost ``arms x strata`` degrees of freedom (PowerUp).
        The precision they bring goes in ``r2``.
    n_covariates
        Covariates behind ``r2`` / ``r2_cluster``, subtracted from the df.
    take_up, contamination
        Share of the treatment arm who receive the programme and of the
        control arm who receive similar provision.
    attrition, response_rate
        Share lost to follow-up (or kept), one number or one per arm.
    correction
        ``"bonferroni"``, ``"holm"`` (its power for one comparison is at least
        Bonferroni's, which is used) or ``"dunnett"`` (exact critical value for
        comparisons with a shared control; Dunnett 1955).
    method
        ``"t"`` (default): Bloom's multiplier :math:`t_{1-\\alpha/2,df} +
        t_{power,df}` as in PowerUp (Dong & Maynard 2013); ``"noncentral_t"``:
        exact power of the t test under normal errors, both tails (R ``pwr``,
        statsmodels ``TTestIndPower``); ``"normal"``: normal approximation,
        both tails (``pwr.2p.test``, ``NormalIndPower``).
    binary_variance
        ``"baseline"`` (default): :math:`p_0(1-p_0)` in both arms, the
        planning convention of Bloom (1995) and PowerUp (the outcome SD at the
        control rate); ``"unpooled"``: :math:`p_0(1-p_0)` in control and
        :math:`p_1(1-p_1)`, :math:`p_1 = p_0 + \\text{ITT}`, in treatment, the
        variance the HC2 difference in means estimates under the alternative
        (the unpooled Wald test of two proportions; checked against statsmodels
        ``NormalIndPower`` and by simulation). The two differ little unless the
        effect is large relative to :math:`p_0(1-p_0)`; ``"unpooled"`` is the
        more accurate when rates move towards 0.5.
    outcome
        Name of the outcome, for the summary.

    Returns
    -------
    PowerResult
        ``mde`` (ITT scale) and ``mde_cace`` with the df and multiplier used.

    Raises
    ------
    ConvergenceError
        Impossible designs: ``take_up <= contamination``, ``power <= alpha``,
        too few people or clusters for the df, no detectable rate difference.
    OptionError
        Invalid options.

    Notes
    -----
    ``MDE = M x SE`` with the standard error of the module docstring (Bloom 1995,
    *Evaluation Review* 19:547; Dong & Maynard 2013, *JREE* 6:24; unequal
    cluster sizes: Eldridge, Ashby & Kerry 2006). The CACE MDE is
    ``MDE / (take_up - contamination)`` (Bloom 1984, *Evaluation Review* 8:225).
    Attrition: each arm's analysed people are its randomised people times its
    response rate (in cluster designs the clusters stay, their size shrinks).

    Examples
    --------
    >>> from dwp_eval.design.power import mde
    >>> res = mde(n=3675, baseline_rate=0.2, take_up=0.65, contamination=0.05)
    >>> round(100 * res.mde, 2), round(100 * res.mde_cace, 2)
    (3.7, 6.16)
    >>> round(mde(n=128, method="noncentral_t").mde, 4)  # pwr.t.test(n=64, power=.8)
    0.4991
    >>> round(mde(n_clusters=20, cluster_size=15, icc=0.17).mde, 3)  # PowerUpR: 0.629
    0.629
    """
    func = "mde"
    d = _design(func, **_collect(locals()))
    target = _target(power, d, func)
    units = _given_units(d, n, n_clusters, func)
    return _result(d, _solve_mde(d, units, target, func), solved_for="mde", target=target, effect=None)


def sample_size(
    *,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 0.5,
    arms: int | Sequence[str] | Mapping[str, float] | None = None,
    sd: float | None = None,
    baseline_rate: float | None = None,
    r2: float = 0.0,
    cluster_size: float | None = None,
    icc: float | None = None,
    r2_cluster: float = 0.0,
    cluster_size_cv: float = 0.0,
    strata: int | None = None,
    n_covariates: int = 0,
    take_up: float = 1.0,
    contamination: float = 0.0,
    attrition: float | Mapping[str, float] = 0.0,
    response_rate: float | Mapping[str, float] | None = None,
    correction: Correction = "bonferroni",
    method: Method = "t",
    binary_variance: BinaryVariance = "baseline",
    outcome: str | None = None,
) -> PowerResult:
    """People (or clusters) needed to detect a programme effect ``mde`` with ``power``.

    ``mde`` is the effect of the programme on those who take it up (the CACE);
    the ITT effect to detect is ``mde x (take_up - contamination)``, so the
    sample needed grows with ``1 / (take_up - contamination)^2``. With the
    defaults ``take_up=1, contamination=0`` it is the ITT effect. In cluster
    designs the number of clusters of ``cluster_size`` is solved.

    The other parameters are those of :func:`mde`. The continuous solution is
    rounded up in each arm (``unrounded`` keeps it); ``power`` is the power
    reached with the rounded numbers.

    Raises
    ------
    ConvergenceError
        Impossible designs, and when no sample up to 1e9 people (1e7 clusters)
        reaches the power (e.g. clusters whose between-cluster variance alone
        exceeds what the effect allows); the message names the range searched.

    Notes
    -----
    Solves ``power(n) = target`` by Brent's method on the continuous total
    (the df depend on ``n`` in the t methods). Formulas as in :func:`mde`.

    Examples
    --------
    >>> from dwp_eval.design.power import sample_size
    >>> sample_size(mde=0.5, method="noncentral_t").n_per_arm  # pwr.t.test: 63.77
    {'control': 64, 'treatment': 64}
    >>> sample_size(mde=0.10, baseline_rate=0.2, take_up=0.6).n
    1398
    """
    func = "sample_size"
    kw = _collect(locals())
    d = _design(func, **kw)
    target = _target(power, d, func)
    effect, itt = _effect_itt(d, mde, "mde", func, allow_zero=False)
    exact = _solve_units(d, itt, target, func)
    whole = {a: float(math.ceil(round(exact * s, 6))) for a, s in d.arms.items()}
    point = _evaluate(d, whole, itt, func)
    return _result(d, point, solved_for="n", target=target, effect=effect, unrounded=exact)


def power(
    *,
    effect: float,
    n: int | None = None,
    n_clusters: int | None = None,
    alpha: float = 0.05,
    two_sided: bool = True,
    ratio: float = 0.5,
    arms: int | Sequence[str] | Mapping[str, float] | None = None,
    sd: float | None = None,
    baseline_rate: float | None = None,
    r2: float = 0.0,
    cluster_size: float | None = None,
    icc: float | None = None,
    r2_cluster: float = 0.0,
    cluster_size_cv: float = 0.0,
    strata: int | None = None,
    n_covariates: int = 0,
    take_up: float = 1.0,
    contamination: float = 0.0,
    attrition: float | Mapping[str, float] = 0.0,
    response_rate: float | Mapping[str, float] | None = None,
    correction: Correction = "bonferroni",
    method: Method = "t",
    binary_variance: BinaryVariance = "baseline",
    outcome: str | None = None,
) -> PowerResult:
    """Power to detect a programme effect ``effect`` with ``n`` people or ``n_clusters``.

    ``effect`` is on the CACE scale as in :func:`sample_size` (the ITT effect is
    ``effect x (take_up - contamination)``); the other parameters are those of
    :func:`mde`. With several arms, ``power`` is that of the least powered
    comparison with control (each one is in ``to_frame()``).

    Notes
    -----
    ``method="t"``: ``power = T_df(|effect| / SE - t_crit)`` (Bloom 1995; the
    inverse of PowerUp's MDE); ``"noncentral_t"``: ``1 - T'_{df,λ}(t_crit) +
    T'_{df,λ}(-t_crit)`` with ``λ = effect / SE`` (Cohen 1988; R ``pwr``;
    PowerUpR's ``power.*`` functions); ``"normal"``: ``Φ(λ - z) + Φ(-λ - z)``.

    Examples
    --------
    >>> from dwp_eval.design.power import power
    >>> round(power(effect=0.5, n=128, method="noncentral_t").power, 4)  # pwr.t.test
    0.8015
    >>> round(power(effect=0.05, n=2000, baseline_rate=0.3).power, 3)
    0.684
    """
    func = "power"
    kw = _collect(locals())
    d = _design(func, **kw)
    e, itt = _effect_itt(d, effect, "effect", func, allow_zero=True)
    units = _given_units(d, n, n_clusters, func)
    return _result(d, _evaluate(d, units, itt, func), solved_for="power", target=None, effect=e)


_DESIGN_KEYS = (
    "alpha",
    "two_sided",
    "ratio",
    "arms",
    "sd",
    "baseline_rate",
    "r2",
    "cluster_size",
    "icc",
    "r2_cluster",
    "cluster_size_cv",
    "strata",
    "n_covariates",
    "take_up",
    "contamination",
    "attrition",
    "response_rate",
    "correction",
    "method",
    "binary_variance",
    "outcome",
)


def _collect(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in _DESIGN_KEYS}


def power_curve(
    *,
    effect: float | Sequence[float],
    n: int | Sequence[int] | None = None,
    n_clusters: int | Sequence[int] | None = None,
    target_power: float = 0.8,
    **design: Any,
) -> PowerCurve:
    """Power over a grid of sample sizes and/or effects, as a table and a plot.

    Parameters
    ----------
    effect
        One effect or several (CACE scale, as in :func:`power`).
    n, n_clusters
        One sample size or several (people, or clusters in a cluster design).
    target_power
        Drawn as a dashed line on the plot.
    **design
        Any design option of :func:`power` (``baseline_rate``, ``icc``, ...).

    Returns
    -------
    PowerCurve
        ``to_frame()``: one row per combination (columns ``n``,
        ``n_clusters``, ``effect``, ``effect_itt``, ``power``); ``plot()``:
        power against the varying sample size (one line per effect) or,
        when only the effect varies, against the effect.

    Examples
    --------
    >>> from dwp_eval.design.power import power_curve
    >>> curve = power_curve(effect=0.05, n=[500, 1000, 2000], baseline_rate=0.3)
    >>> curve.to_frame()["power"].round(3).tolist()
    [0.228, 0.406, 0.684]
    """
    func = "power_curve"

    def grid(value: Any, name: str) -> list[Any]:
        if value is None:
            return [None]
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, pd.Series)):
            return [value]
        vals = list(value)
        if not vals:
            raise OptionError(f"The '{name}' parameter of {func} must not be empty.")
        return vals

    unknown = sorted(set(design) - set(_DESIGN_KEYS))
    if unknown:
        from dwp_eval._validation import closest

        guess = closest(unknown[0], _DESIGN_KEYS)
        hint = f" Did you mean {guess!r}?" if guess else ""
        raise OptionError(
            f"{func} got unknown design option(s) {', '.join(map(repr, unknown))}.{hint} "
            f"Valid: {', '.join(_DESIGN_KEYS)}."
        )
    target = _open01(target_power, "target_power", func)
    effects, ns, js = grid(effect, "effect"), grid(n, "n"), grid(n_clusters, "n_clusters")
    rows = []
    for j in js:
        for nn in ns:
            for e in effects:
                r = power(effect=e, n=nn, n_clusters=j, **design)
                rows.append(
                    {
                        "n": r.n,
                        "n_clusters": r.n_clusters,
                        "effect": float(e),
                        "effect_itt": r.mde,
                        "power": r.power,
                    }
                )
    frame = pd.DataFrame(rows, columns=["n", "n_clusters", "effect", "effect_itt", "power"])
    if len(js) > 1:
        x = "n_clusters"
    elif len(ns) > 1 or len(effects) == 1:
        x = "n" if n is not None else "n_clusters"
    else:
        x = "effect"
    alpha = float(design.get("alpha", 0.05))
    return PowerCurve(frame, x=x, alpha=alpha, target_power=target, outcome=design.get("outcome"))
