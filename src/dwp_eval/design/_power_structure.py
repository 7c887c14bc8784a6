"""Design structures beyond the two-arm individual or two-level cluster trial.

Four structures share the power engine's solvers, each a variance of the
estimated contrast (and, for the partially nested design, its df):

* **Partially nested** (``nested_in="treatment"``; IPS: treatment-arm people in
  caseloads of :math:`m` per employment specialist, control arm unclustered).
  With :math:`\\sigma^2` the person-level (within-caseload, and control) variance,
  :math:`\\rho` the specialist ICC in the treatment arm, so that the specialist
  variance is :math:`\\tau^2 = \\sigma^2\\rho/(1-\\rho)`, :math:`J_T = n_T/m`
  caseloads and :math:`r_g` the response rates (Lohr, Schochet & Sanders 2014,
  *Partially Nested Randomized Controlled Trials in Education Research*,
  NCER 2014-2000, ch. 3; PowerUpR ``ira_pn``)

  .. math:: V = \\frac{\\tau^2(1-R^2_{cluster})(1+CV^2) + \\sigma^2(1-R^2)/(m r_T)}{J_T}
     + \\frac{\\sigma^2(1-R^2)}{n_C r_C},

  which with :math:`R^2_{cluster} = R^2`, :math:`CV = 0` is PowerUpR's
  :math:`\\frac{1-R^2}{np(1-p)}\\frac{1-p\\rho}{1-\\rho}\\bigl[1 + \\frac{\\rho(1-p)(m-1)}{1-p\\rho}\\bigr]`;
  df by Satterthwaite (1946) from the two terms, on :math:`J_T - 1` and
  :math:`n_C r_C - 1` df (PowerUpR's default).
* **Three-level cluster randomisation** (people in offices in districts,
  districts randomised; PowerUp CRA3, Dong & Maynard 2013, eq. for CRA3_3):
  with :math:`K_g` districts per arm, :math:`J` offices per district,
  :math:`m` people per office, ICCs :math:`\\rho_2` (office), :math:`\\rho_3`
  (district)

  .. math:: V = \\sum_g \\frac{\\sigma^2}{K_g}\\Bigl[\\rho_3(1-R^2_3)
     + \\frac{\\rho_2(1-R^2_2)}{J} + \\frac{(1-\\rho_2-\\rho_3)(1-R^2_1)}{J m_g}\\Bigr],

  df = districts - arms x strata - covariates (PowerUp: :math:`K - g_3 - 2`).
* **Moderator (subgroup-difference) effect** of a binary person-level moderator
  held by a share :math:`q`: the variance of the difference between the two
  subgroups' ITT effects is the person-level part of the main-effect variance
  over :math:`q(1-q)`; in cluster designs the cluster effects cancel within
  clusters (Spybrook, Kelcey & Dong 2016, *JEBS* 41:605; Dong, Spybrook, Kelcey
  & Bulus 2021, *Methodology* 17:92; PowerUpR ``mod221`` with a non-randomly
  varying moderator effect):

  .. math:: V = \\sum_g \\frac{\\sigma^2(1-\\rho)(1-R^2)}{J_g m_g\\,q(1-q)}
     \\quad(\\rho = 0,\\ J_g m_g = n_g \\text{ for individual randomisation}),

  df = people analysed - 2 x arms x strata - covariates (individual),
  people analysed - clusters - arms x strata - covariates (clusters; PowerUpR
  ``nJ - J - 2``).
* **Time to event** (log-rank test): the effect is the log hazard ratio
  :math:`\\beta = \\log\\psi` of treatment against control. With :math:`D`
  expected events in the two arms and :math:`k = n_T/n_C`, Schoenfeld (1983,
  *Biometrics* 39:499, eq. 1; 1981 *Biometrika* 68:316)
  :math:`V = (1+k)^2 / (k D)` and Freedman (1982, *Stat. Med.* 1:121)
  :math:`V = \\bigl(\\tfrac{\\log\\psi}{\\psi-1}\\bigr)^2 (1+k\\psi)^2/(k D)`
  (his power :math:`\\Phi(\\sqrt{kD}\\,|1-\\psi|/(1+k\\psi) - z)` written as
  :math:`|\\beta|/\\sqrt V`). Events: exponential survival with control hazard
  :math:`\\lambda_C = \\log 2/\\text{median}`, :math:`\\lambda_T = \\psi\\lambda_C`,
  uniform accrual over :math:`a` and further follow-up :math:`f`; the
  probability of an event is integrated exactly,
  :math:`P = 1 - (e^{-\\lambda f} - e^{-\\lambda(a+f)})/(\\lambda a)`
  (:math:`1 - e^{-\\lambda f}` without accrual), the quantity Schoenfeld (1983)
  approximates by Simpson's rule. In cluster designs :math:`V` is multiplied by
  the design effect :math:`1 + ((1+CV^2)m - 1)\\rho` (Donner & Klar 2000,
  *Design and Analysis of Cluster Randomization Trials*, ch. 5; for the
  log-rank statistic Gangnon & Kosorok 2004, *Biometrika* 91:263, with
  :math:`\\rho` the within-cluster correlation of the log-rank scores).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dwp_eval._validation import check_option
from dwp_eval.errors import OptionError

__all__ = [
    "EVENTS_FORMULAS",
    "NO_STRUCTURE",
    "Structure",
    "event_probability",
    "log_rank_variance",
    "parse_structure",
    "satterthwaite_df",
]

EVENTS_FORMULAS = ("schoenfeld", "freedman")


@dataclass(frozen=True)
class Structure:
    """The validated structure options (internal; all ``None`` for the basic designs)."""

    nested_in: str | None = None
    level3_size: float | None = None
    icc_level3: float | None = None
    r2_level3: float = 0.0
    moderator_share: float | None = None
    control_median: float | None = None
    accrual: float | None = None
    follow_up: float | None = None
    events_formula: str = "schoenfeld"

    @property
    def three_level(self) -> bool:
        return self.level3_size is not None

    @property
    def control_hazard(self) -> float:
        return math.log(2.0) / float(self.control_median or math.nan)

    def describe(self, kind: str, extra: list[str]) -> tuple[str, list[str]]:
        """The design label's kind and extras with this structure."""
        if self.nested_in is not None:
            kind = kind.replace("individually randomised", "individually randomised, partially nested")
            extra = [*extra, f"clustered in the {self.nested_in} arm only"]
        if self.three_level:
            kind = kind.replace("cluster-randomised", "three-level cluster-randomised")
            extra = [*extra, f"{self.level3_size:g} clusters per level-3 unit, level-3 ICC {self.icc_level3:g}"]
            if self.r2_level3:
                extra.append(f"level-3 R2 {self.r2_level3:g}")
        if self.moderator_share is not None:
            extra = [*extra, f"moderator effect, share {self.moderator_share:g}"]
        if self.control_median is not None:
            acc = f"accrual {self.accrual:g}, " if self.accrual else ""
            extra = [
                *extra,
                f"time to event (log-rank, {self.events_formula}); control median "
                f"{self.control_median:g}, {acc}follow-up {self.follow_up:g}",
            ]
        return kind, extra


NO_STRUCTURE = Structure()


def _num(value: Any, name: str, func: str, what: str, ok: Any) -> float:
    if isinstance(value, bool) or isinstance(value, str) or not hasattr(value, "__float__"):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.") from None
    if not math.isfinite(v) or not ok(v):
        raise OptionError(f"The '{name}' parameter of {func} must be {what}. Got {value!r} instead.")
    return v


def _refuse(func: str, what: str, given: Mapping[str, Any], names: tuple[str, ...], fix: str) -> None:
    bad = [n for n in names if given.get(n)]
    if bad:
        raise OptionError(f"{func}: {what} cannot be combined with {', '.join(bad)}. Fix: {fix}")


def parse_structure(func: str, kw: Mapping[str, Any], *, icc: float | None, n_arms: int) -> Structure:
    """Validate the structure options among the design options ``kw`` (defaults filled in)."""
    nested = kw["nested_in"]
    size3, icc3, r23 = kw["level3_size"], kw["icc_level3"], kw["r2_level3"]
    share, median = kw["moderator_share"], kw["control_median"]
    clustered = kw["cluster_size"] is not None
    flags = {
        "nested_in": nested is not None,
        "level3_size": size3 is not None,
        "moderator_share": share is not None,
        "control_median": median is not None,
    }
    if nested is not None:
        nested = check_option(nested, ("treatment",), param="nested_in", func=func)
        if not clustered:
            raise OptionError(
                f"{func}: nested_in='treatment' needs cluster_size= (people per specialist's caseload) "
                f"and icc= (the specialist ICC in the treatment arm)."
            )
        if n_arms != 2:
            raise OptionError(f"{func}: nested_in='treatment' is for two arms; got {n_arms}. Fix: use ratio=.")
        if kw["strata"] is not None or kw["n_covariates"]:
            raise OptionError(
                f"{func}: nested_in='treatment' takes its df from Satterthwaite's formula for the two "
                f"arms (PowerUpR ira_pn), which has no place for strata or n_covariates. Fix: leave them "
                f"out and put the precision covariates bring in r2 and r2_cluster."
            )
        _refuse(func, "nested_in", flags, ("level3_size", "moderator_share", "control_median"),
                "plan these designs separately.")
    if (size3 is None) != (icc3 is None):
        raise OptionError(
            f"{func}: a three-level design needs both 'level3_size' (clusters per level-3 unit) and "
            f"'icc_level3'; got only {'level3_size' if icc3 is None else 'icc_level3'}."
        )
    r23v = _num(r23, "r2_level3", func, "a float in [0, 1)", lambda v: 0 <= v < 1)
    if size3 is not None:
        size3 = _num(size3, "level3_size", func, "a number >= 1", lambda v: v >= 1)
        icc3 = _num(icc3, "icc_level3", func, "a float in [0, 1)", lambda v: 0 <= v < 1)
        if not clustered:
            raise OptionError(
                f"{func}: a three-level design needs cluster_size= (people per office) and icc= "
                f"(the office ICC) as well as level3_size= and icc_level3=."
            )
        if icc is not None and icc + icc3 >= 1:
            raise OptionError(
                f"{func}: icc ({icc:g}) plus icc_level3 ({icc3:g}) must be below 1: they are shares "
                f"of the outcome variance. Fix: lower one of them."
            )
        if kw["cluster_size_cv"]:
            raise OptionError(f"{func}: cluster_size_cv is not available in three-level designs; leave it 0.")
        _refuse(func, "a three-level design", flags, ("moderator_share", "control_median"),
                "plan these designs separately.")
    elif r23v:
        raise OptionError(f"{func}: 'r2_level3' applies to three-level designs only (level3_size=, icc_level3=).")
    if share is not None:
        share = _num(share, "moderator_share", func, "a float in (0, 1)", lambda v: 0 < v < 1)
        _refuse(func, "moderator_share", flags, ("control_median",), "plan these designs separately.")
    acc, fu = kw["accrual"], kw["follow_up"]
    formula = check_option(kw["events_formula"], EVENTS_FORMULAS, param="events_formula", func=func)
    if median is not None:
        median = _num(median, "control_median", func, "a positive number (time, e.g. days)", lambda v: v > 0)
        if fu is None:
            raise OptionError(
                f"{func}: a time-to-event design needs follow_up= (time each person is followed after "
                f"recruitment ends, in the unit of control_median)."
            )
        fu = _num(fu, "follow_up", func, "a positive number (time)", lambda v: v > 0)
        if acc is not None:
            acc = _num(acc, "accrual", func, "a positive number (time) or None", lambda v: v > 0)
        others = {
            "sd": kw["sd"] is not None,
            "baseline_rate": kw["baseline_rate"] is not None,
            "r2": bool(kw["r2"]),
            "take_up": kw["take_up"] != 1,
            "contamination": bool(kw["contamination"]),
            "attrition": kw["attrition"] != 0 if not isinstance(kw["attrition"], Mapping) else True,
            "response_rate": kw["response_rate"] is not None,
        }
        _refuse(func, "a time-to-event design (control_median=)", others, tuple(others),
                "leave them out: the effect is a hazard ratio, censoring is set by accrual and follow_up.")
    elif acc is not None or fu is not None or formula != "schoenfeld":
        raise OptionError(
            f"{func}: 'accrual', 'follow_up' and 'events_formula' apply to time-to-event designs only; "
            f"pass control_median= too."
        )
    return Structure(
        nested_in=nested,
        level3_size=size3,
        icc_level3=icc3,
        r2_level3=r23v,
        moderator_share=share,
        control_median=median,
        accrual=acc,
        follow_up=fu,
        events_formula=formula,
    )


def event_probability(hazard: float, accrual: float | None, follow_up: float) -> float:
    """P(event observed): exponential hazard, uniform accrual over ``accrual``, then ``follow_up``."""
    if not accrual:
        return -math.expm1(-hazard * follow_up)
    # 1 - (e^{-lf} - e^{-l(a+f)}) / (l a), written to keep precision when l a is small
    return 1.0 - math.exp(-hazard * follow_up) * (-math.expm1(-hazard * accrual)) / (hazard * accrual)


def log_rank_variance(s: Structure, n_t: float, n_c: float, log_hr: float, deff: float) -> tuple[float, float]:
    """Variance of the log hazard ratio's test (Schoenfeld or Freedman) and the expected events."""
    lam = s.control_hazard
    fu = float(s.follow_up or 0.0)
    p_c = event_probability(lam, s.accrual, fu)
    p_t = event_probability(lam * math.exp(log_hr), s.accrual, fu)
    events = n_t * p_t + n_c * p_c
    k = n_t / n_c
    if s.events_formula == "schoenfeld":
        v = (1 + k) ** 2 / (k * events)
    else:
        psi = math.exp(log_hr)
        c = 1.0 if abs(log_hr) < 1e-12 else log_hr / math.expm1(log_hr)  # log(psi) / (psi - 1)
        v = c**2 * (1 + k * psi) ** 2 / (k * events)
    return v * deff, events


def satterthwaite_df(v1: float, df1: float, v2: float, df2: float) -> float:
    """Satterthwaite's (1946) df of ``v1 + v2`` with ``v1`` on ``df1`` and ``v2`` on ``df2`` df."""
    if df1 <= 0 or df2 <= 0:
        return min(df1, df2)
    return (v1 + v2) ** 2 / (v1**2 / df1 + v2**2 / df2)
