"""The design options of :func:`~dwp_eval.mde`, :func:`~dwp_eval.sample_size`,
:func:`~dwp_eval.power` and :func:`~dwp_eval.power_curve`, defined once.

* :class:`DesignOptions` is the keyword-only signature the four functions share
  (``**design: Unpack[DesignOptions]``): names, types and documentation;
* :data:`DEFAULTS` holds each option's default;
* :func:`parse_design` is the one place the options are collected (defaults
  filled in, unknown names refused with a suggestion) and validated, giving the
  frozen :class:`PowerDesign` that the variance and the solvers read;
* :func:`shares_design_options` writes the options into each function's runtime
  signature, so ``help()`` and ``inspect.signature`` list them with their defaults.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ForwardRef, Literal, TypedDict, TypeVar

import numpy as np

from dwp_eval._validation import check_option, closest
from dwp_eval.design._power_structure import NO_STRUCTURE, Structure, parse_structure
from dwp_eval.errors import ConvergenceError, OptionError

__all__ = [
    "BINARY_VARIANCES",
    "CORRECTIONS",
    "DEFAULTS",
    "METHODS",
    "BinaryVariance",
    "Correction",
    "DesignOptions",
    "EventsFormula",
    "Method",
    "PowerDesign",
    "number",
    "open01",
    "parse_design",
    "shares_design_options",
    "whole_units",
]

Method = Literal["t", "noncentral_t", "normal"]
Correction = Literal["bonferroni", "holm", "dunnett"]
BinaryVariance = Literal["unpooled", "baseline"]
EventsFormula = Literal["schoenfeld", "freedman"]

METHODS = ("t", "noncentral_t", "normal")
CORRECTIONS = ("bonferroni", "holm", "dunnett")
BINARY_VARIANCES = ("unpooled", "baseline")


class DesignOptions(TypedDict, total=False):
    """The design options shared by :func:`~dwp_eval.mde`, :func:`~dwp_eval.sample_size`,
    :func:`~dwp_eval.power` and :func:`~dwp_eval.power_curve`.

    Every option is keyword-only and optional; the default is given first.

    Attributes
    ----------
    alpha : float
        ``0.05``. Significance level.
    two_sided : bool
        ``True``. Whether the test is two-sided.
    ratio : float
        ``0.5``. Fraction of units assigned to treatment (two arms).
    arms : int, sequence of str or mapping of str to float, optional
        ``None``. Several arms instead of ``ratio``: their number, their names,
        or a mapping of name to allocation ratio (``{"control": 2, "a": 1, "b": 1}``).
        The control arm is ``"control"`` if present, else the first; each other
        arm is compared with it, with ``correction`` for the multiple comparisons.
    sd : float, optional
        ``None``. Outcome SD (continuous outcome; effects in outcome units).
    baseline_rate : float, optional
        ``None``. Control-arm rate of a binary outcome (effects are differences
        in rates, 0.037 = 3.7 pp). Without ``sd`` or ``baseline_rate``, effects
        are in SD units.
    r2 : float
        ``0.0``. Share of the individual-level outcome variance explained by
        baseline covariates (in cluster designs: of the within-cluster
        variance), including the strata when they enter the analysis as fixed
        effects: ``strata=`` alone only costs degrees of freedom, so the
        variance the strata explain must be counted here.
    cluster_size : float, optional
        ``None``. Cluster designs: mean people per cluster (with ``icc``).
    icc : float, optional
        ``None``. Cluster designs: intraclass correlation.
    r2_cluster : float
        ``0.0``. Cluster designs: share of the between-cluster variance
        explained by cluster-level covariates.
    cluster_size_cv : float
        ``0.0``. Cluster designs: coefficient of variation of cluster sizes.
    strata : int, optional
        ``None``. Number of strata (blocks) randomised within, analysed with
        fixed effects: they cost ``arms x strata`` degrees of freedom (PowerUp).
        The precision they bring goes in ``r2``.
    n_covariates : int
        ``0``. Covariates behind ``r2`` / ``r2_cluster``, subtracted from the df.
    take_up : float
        ``1.0``. Share of the treatment arm who receive the programme.
    contamination : float
        ``0.0``. Share of the control arm who receive similar provision.
    attrition : float or mapping of str to float
        ``0.0``. Share lost to follow-up, one number or one per arm.
    response_rate : float or mapping of str to float, optional
        ``None``. Share kept (``1 - attrition``), instead of ``attrition``.
    correction : {"bonferroni", "holm", "dunnett"}
        ``"bonferroni"``. With several treatment arms: ``"bonferroni"``,
        ``"holm"`` (its power for one comparison is at least Bonferroni's,
        which is used) or ``"dunnett"`` (exact critical value for comparisons
        with a shared control; Dunnett 1955).
    method : {"t", "noncentral_t", "normal"}
        ``"t"``: Bloom's multiplier :math:`t_{1-\\alpha/2,df} + t_{power,df}`
        as in PowerUp (Dong & Maynard 2013); ``"noncentral_t"``: exact power of
        the t test under normal errors, both tails (R ``pwr``, statsmodels
        ``TTestIndPower``); ``"normal"``: normal approximation, both tails
        (``pwr.2p.test``, ``NormalIndPower``).
    binary_variance : {"unpooled", "baseline"}
        ``"unpooled"``: the variance under the alternative,
        :math:`p_0(1-p_0)` in control and :math:`p_a(1-p_a)`,
        :math:`p_a = p_0 + \\text{ITT}_a`, in treatment arm :math:`a`, so that
        :math:`V = (1-R^2)\\,[p_a(1-p_a)/n_a + p_0(1-p_0)/n_c]` (times the
        cluster design effect). It is the variance of the unpooled Wald test of
        two proportions (Chow, Shao & Wang 2008, *Sample Size Calculations in
        Clinical Research*, 2nd ed., section 4.2; statsmodels ``NormalIndPower``
        with an unpooled effect size) and the variance the HC2 difference in
        means estimates when the effect is ``ITT``; with ``method="normal"`` it
        gives the textbook :math:`n = (z_{1-\\alpha/2}+z_{power})^2\\,[p_0(1-p_0)
        + p_1(1-p_1)] / \\delta^2` per arm (plus the far tail). It agrees with
        Fleiss, Levin & Paik (2003, section 4.2) / Stata ``power
        twoproportions`` (pooled variance under the null, unpooled under the
        alternative) and with R ``pwr.2p.test`` (Cohen's arcsine h) to a few
        tenths of a percent of ``n`` at usual rates (0.20 -> 0.24, 5% two-sided,
        80% power: 1,680 per arm with ``method="normal"``, 1,681 with the
        default t multiplier; Fleiss/Stata 1,683; ``pwr`` 1,681;
        ``tests/reference/power/``). The default, used the same
        way by :func:`~dwp_eval.mde` (solved for the effect at which the ITT
        equals the multiplier times the standard error at that effect),
        :func:`~dwp_eval.sample_size` and :func:`~dwp_eval.power`, so each is
        the inverse of the others. ``"baseline"``: :math:`p_0(1-p_0)` in every
        arm, the planning convention of Bloom (1995) and PowerUp (the outcome
        SD at the control rate); smaller than the variance under the
        alternative when the effect moves the rate towards 0.5 (it needs 1,571
        people per arm where the tests above need about 1,680). With ``sd=``
        or a standardised outcome this option has no effect: the outcome
        variance does not depend on the effect.
    outcome : str, optional
        ``None``. Name of the outcome, for the summary.
    nested_in : {"treatment"}, optional
        ``None``. Partially nested design (IPS: the treatment arm is served in
        caseloads of ``cluster_size`` people per employment specialist, the
        control arm is not clustered): ``icc`` is the specialist ICC in the
        treatment arm, ``n`` counts people randomised (Lohr, Schochet & Sanders
        2014; PowerUpR ``ira_pn``). See :mod:`dwp_eval.design._power_structure`.
    level3_size : float, optional
        ``None``. Three-level cluster randomisation (people in offices in
        districts, districts randomised; PowerUp CRA3): offices per district,
        with ``cluster_size`` people per office, ``icc`` the office (level 2)
        ICC and ``icc_level3`` the district ICC; ``n_clusters`` counts
        districts.
    icc_level3 : float, optional
        ``None``. Three-level designs: the district (level 3) ICC.
    r2_level3 : float
        ``0.0``. Three-level designs: share of the district-level variance
        explained by district covariates (``r2_cluster`` is the office level's).
    moderator_share : float, optional
        ``None``. Moderator (subgroup-difference) effect: the effect solved is
        the difference between the ITT effects of people with and without a
        binary person-level moderator, held by this share of people (Spybrook,
        Kelcey & Dong 2016; PowerUpR ``mod221``).
    control_median : float, optional
        ``None``. Time-to-event outcome (log-rank test): the control arm's
        median time to the event (exponential survival); effects are hazard
        ratios (``scale="hazard_ratio"``); ``accrual`` and ``follow_up`` in
        the same time unit.
    accrual : float, optional
        ``None``. Time-to-event: length of uniform recruitment (``None``: all
        start together).
    follow_up : float, optional
        ``None``. Time-to-event: follow-up after recruitment ends (required).
    events_formula : {"schoenfeld", "freedman"}
        ``"schoenfeld"``. Time-to-event: the events formula, Schoenfeld (1983)
        or Freedman (1982).
    """

    alpha: float
    two_sided: bool
    ratio: float
    arms: int | Sequence[str] | Mapping[str, float] | None
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
    attrition: float | Mapping[str, float]
    response_rate: float | Mapping[str, float] | None
    correction: Correction
    method: Method
    binary_variance: BinaryVariance
    outcome: str | None
    nested_in: Literal["treatment"] | None
    level3_size: float | None
    icc_level3: float | None
    r2_level3: float
    moderator_share: float | None
    control_median: float | None
    accrual: float | None
    follow_up: float | None
    events_formula: EventsFormula


#: The default of every option of :class:`DesignOptions`, in its order (a test
#: checks that the two name the same options).
DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "alpha": 0.05,
        "two_sided": True,
        "ratio": 0.5,
        "arms": None,
        "sd": None,
        "baseline_rate": None,
        "r2": 0.0,
        "cluster_size": None,
        "icc": None,
        "r2_cluster": 0.0,
        "cluster_size_cv": 0.0,
        "strata": None,
        "n_covariates": 0,
        "take_up": 1.0,
        "contamination": 0.0,
        "attrition": 0.0,
        "response_rate": None,
        "correction": "bonferroni",
        "method": "t",
        "binary_variance": "unpooled",
        "outcome": None,
        "nested_in": None,
        "level3_size": None,
        "icc_level3": None,
        "r2_level3": 0.0,
        "moderator_share": None,
        "control_median": None,
        "accrual": None,
        "follow_up": None,
        "events_formula": "schoenfeld",
    }
)

F = TypeVar("F", bound=Callable[..., Any])


def shares_design_options(fn: F) -> F:
    """Give ``fn`` (which takes ``**design: Unpack[DesignOptions]``) a runtime
    signature that lists its own parameters, then every design option with its
    default and annotation, as if each had been written out."""
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    hints = DesignOptions.__annotations__
    options = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=default,
            annotation=_annotation_text(hints[name]),
        )
        for name, default in DEFAULTS.items()
    ]
    fn.__signature__ = sig.replace(parameters=[*own, *options])  # type: ignore[attr-defined]
    return fn


def _annotation_text(hint: Any) -> Any:
    """``'float'`` for a TypedDict's ``ForwardRef('float')`` (postponed annotations)."""
    return hint.__forward_arg__ if isinstance(hint, ForwardRef) else hint


# ------------------------------------------------------------------ validation


def number(value: Any, name: str, func: str, what: str, ok: Callable[[float], bool]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.")
    v = float(value)
    if not math.isfinite(v) or not ok(v):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.")
    return v


def open01(value: Any, name: str, func: str) -> float:
    return number(value, name, func, "a float in (0, 1)", lambda v: 0 < v < 1)


def _closed01(value: Any, name: str, func: str, *, upper_open: bool = False) -> float:
    if upper_open:
        return number(value, name, func, "a float in [0, 1)", lambda v: 0 <= v < 1)
    return number(value, name, func, "a float in [0, 1]", lambda v: 0 <= v <= 1)


def _positive(value: Any, name: str, func: str) -> float:
    return number(value, name, func, "a positive number", lambda v: v > 0)


def _count(value: Any, name: str, func: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise OptionError(
            f"The '{name}' parameter of {func} must be an int >= {minimum}. Got {value!r} instead."
        )
    return int(value)


def whole_units(value: Any, name: str, func: str) -> int:
    """Counts of people or clusters: whole numbers (floats like 3675.0 are accepted)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return _count(value, name, func, minimum=2)


@dataclass(frozen=True)
class PowerDesign:
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
    structure: Structure = NO_STRUCTURE

    @property
    def clustered(self) -> bool:
        """Whether clusters are the units randomised (not in a partially nested design)."""
        return self.cluster_size is not None and self.structure.nested_in is None

    @property
    def survival(self) -> bool:
        return self.structure.control_median is not None

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
        kind, extra = self.structure.describe(kind, extra)
        return kind + ("; " + "; ".join(extra) if extra else "")


def _arms(ratio: Any, arms: Any, func: str) -> tuple[dict[str, float], str]:
    if arms is None:
        r = open01(ratio, "ratio", func)
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
            v = number(rates[a], name, func, "a float in (0, 1]", lambda r: 0 < r <= 1)
        out[a] = convert(v)
    return out


def parse_design(func: str, options: Mapping[str, Any], *, own: Sequence[str] = ()) -> PowerDesign:
    """Collect and validate the design options passed to ``func``.

    ``options`` are the keywords ``func`` received in ``**design``; an unknown
    name is refused with the closest valid one (``own``: the function's other
    parameters, also suggested). Options not given take their :data:`DEFAULTS`.
    """
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        valid = [*own, *DEFAULTS]
        guess = closest(unknown[0], valid)
        hint = f" Did you mean {guess!r}?" if guess else ""
        raise OptionError(
            f"{func} got unknown design option(s) {', '.join(map(repr, unknown))}.{hint} "
            f"Valid: {', '.join(valid)}."
        )
    kw = {**DEFAULTS, **options}
    alpha = open01(kw["alpha"], "alpha", func)
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
        # sd**2 enters every variance: beyond 1e150 it overflows to inf.
        sd = number(sd, "sd", func, "a positive number below 1e+150", lambda v: 0 < v < 1e150)
    if rate is not None:
        rate = open01(rate, "baseline_rate", func)
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
    cv = number(kw["cluster_size_cv"], "cluster_size_cv", func, "a number >= 0", lambda v: v >= 0)
    if cluster_size is not None:
        cluster_size = number(cluster_size, "cluster_size", func, "a number >= 1", lambda v: v >= 1)
        icc = _closed01(icc, "icc", func, upper_open=True)
    elif r2_cluster or cv:
        raise OptionError(
            f"{func}: 'r2_cluster' and 'cluster_size_cv' apply to cluster designs only; "
            f"pass cluster_size= and icc= as well."
        )

    strata = None if kw["strata"] is None else _count(kw["strata"], "strata", func)
    n_cov = _count(kw["n_covariates"], "n_covariates", func, minimum=0)
    take_up = number(kw["take_up"], "take_up", func, "a float in (0, 1]", lambda v: 0 < v <= 1)
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
    structure = parse_structure(func, kw, icc=icc, n_arms=len(arms))
    if structure.control_median is not None:
        if "method" in options and method != "normal":
            raise OptionError(
                f"{func}: the log-rank test's power uses its normal approximation: pass "
                f"method='normal' or leave method out. Got method={method!r}."
            )
        method = "normal"
    return PowerDesign(
        structure=structure,
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
