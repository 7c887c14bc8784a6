"""Cost-effectiveness of a programme from its estimated effect and its cost.

:func:`cost_effectiveness` turns an :class:`~dwp_eval.results.Effect` (an ITT
or a CACE: additional outcomes per participant) and the incremental cost per
participant into the cost per additional outcome, with a Fieller (1954),
delta-method or parametric bootstrap interval, and, given a value per
outcome, the net benefit per participant (or per ``per`` participants) and the
break-even value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._validation import check_alpha, check_option, check_seed
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.results import Effect, ResultMixin

__all__ = ["COST_COLUMNS", "CostEffectiveness", "cost_effectiveness", "fieller_set"]

METHODS = ("fieller", "delta", "bootstrap")
INTERVAL_KINDS = ("bounded", "unbounded", "exclusive")

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


def _quantile(alpha: float, df: float) -> float:
    """``t_{1 - alpha/2, df}`` (the normal quantile when ``df`` is infinite)."""
    if not np.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def fieller_set(
    num: float, den: float, var_num: float, var_den: float, cov: float, q: float
) -> tuple[float, float, str]:
    """Fieller's confidence set for ``num / den``: ``(low, high, kind)``.

    The set of ratios ``R`` with ``(num - R den)^2 <= q^2 (var_num - 2 R cov + R^2 var_den)``,
    i.e. ``a R^2 - 2 b R + c <= 0`` with ``a = den^2 - q^2 var_den``,
    ``b = num den - q^2 cov`` and ``c = num^2 - q^2 var_num``:

    * ``"bounded"``: ``[low, high]`` (``a > 0``: ``den`` differs from 0 at the level);
    * ``"exclusive"``: ``(-inf, low] U [high, inf)`` (``a < 0`` with real roots);
    * ``"unbounded"``: the whole line (``low = -inf``, ``high = inf``), or a ray
      with one finite end when ``a = 0``.
    """
    a = den * den - q * q * var_den
    b = num * den - q * q * cov
    c = num * num - q * q * var_num
    disc = b * b - a * c
    scale = max(den * den, q * q * var_den, 1e-300)
    if abs(a) <= 1e-12 * scale:  # linear: -2 b R + c <= 0
        if b > 0:
            return c / (2 * b), math.inf, "unbounded"
        if b < 0:
            return -math.inf, c / (2 * b), "unbounded"
        return -math.inf, math.inf, "unbounded"
    if a < 0 and disc < 0:
        return -math.inf, math.inf, "unbounded"
    s = math.sqrt(max(disc, 0.0))
    # numerically stable roots of a R^2 - 2 b R + c
    big = b + s if b >= 0 else b - s
    r1 = big / a
    r2 = c / big if big != 0 else r1
    lo, hi = sorted((r1, r2))
    return lo, hi, "bounded" if a > 0 else "exclusive"


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

    def conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """Ends of the ``1 - alpha`` set for the cost per outcome (default: the
        result's alpha), by the result's method; read them with :meth:`interval_kind_at`."""
        return self._interval(alpha)[:2]

    def interval_kind_at(self, alpha: float | None = None) -> str:
        """``interval_kind`` of the ``1 - alpha`` set."""
        return self._interval(alpha)[2]

    def _interval(self, alpha: float | None) -> tuple[float, float, str]:
        a = self.alpha if alpha is None else check_alpha(alpha, func="CostEffectiveness.conf_int")
        if a == self.alpha:
            return self.conf_low, self.conf_high, self.interval_kind
        q = _quantile(a, self.df)
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
        assert self.bootstrap_ratios is not None
        return _percentile(self.bootstrap_ratios, self.bootstrap_opposite, a)

    def to_frame(self) -> pd.DataFrame:
        """Rows ``additional_outcomes`` (the effect), ``cost``, ``cost_per_outcome``
        and, with a value per outcome, ``net_benefit``; columns as in
        ``COST_COLUMNS``. Outcomes, cost and net benefit are per ``per``
        participants; the cost per outcome is per outcome. The outcome and cost
        rows have t intervals with the effect's df."""
        q = _quantile(self.alpha, self.df)
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
            assert self.net_benefit_std_error is not None
            assert self.net_benefit_low is not None and self.net_benefit_high is not None
            rows.append(
                row(
                    "net_benefit",
                    k * self.net_benefit,
                    k * self.net_benefit_std_error,
                    k * self.net_benefit_low,
                    k * self.net_benefit_high,
                    "bounded",
                    "t",
                )
            )
        return pd.DataFrame(rows, columns=COST_COLUMNS)

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
            assert self.net_benefit_low is not None and self.net_benefit_high is not None
            k = float(self.per)
            unit = "participant" if self.per == 1 else f"{self.per:,} participants"
            lines.append(
                f"  net benefit     {_money(k * self.net_benefit, c)} per {unit} at "
                f"{_money(self.value_per_outcome, c)} per outcome ({100 * (1 - self.alpha):g}% CI "
                f"{_money(k * self.net_benefit_low, c)} to {_money(k * self.net_benefit_high, c)})"
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


def _percentile(ratios: np.ndarray, opposite: float, alpha: float) -> tuple[float, float, str]:
    """Percentile interval of the bootstrap ratios; unbounded when at least ``alpha / 2``
    of the draws have an effect of the other sign (the ratio passes through infinity)."""
    if opposite >= alpha / 2:
        return -math.inf, math.inf, "unbounded"
    lo, hi = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi), "bounded"


def _number(value: Any, *, param: str, func: str, minimum: float | None = 0.0) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and np.isfinite(float(value)) and (minimum is None or float(value) >= minimum):
        return float(value)
    want = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
    raise OptionError(f"The '{param}' parameter of {func} must be {want}. Got {value!r} instead.")


def cost_effectiveness(
    effect: Effect,
    *,
    cost_per_participant: float,
    cost_se: float = 0.0,
    cost_effect_cov: float = 0.0,
    value_per_outcome: float | None = None,
    per: int = 1,
    alpha: float | None = None,
    method: Literal["fieller", "delta", "bootstrap"] = "fieller",
    draws: int = 10_000,
    seed: int | np.random.Generator | None = None,
    outcome_label: str | None = None,
    currency: str = "£",
) -> CostEffectiveness:
    """Cost per additional outcome, with a Fieller interval, and net benefit.

    Parameters
    ----------
    effect
        An :class:`~dwp_eval.results.Effect` from :func:`dwp_eval.itt` or
        :func:`dwp_eval.cace`: its estimate is the number of additional
        outcomes per participant (0.04: 4 percentage points more in work).
    cost_per_participant
        Incremental cost (programme minus control provision) per participant of
        the effect's population: per person *assigned* to the programme for an
        ITT (starters and non-starters alike), per *complier* for a CACE.
    cost_se
        Standard error of the cost (0: known, e.g. a contract price).
    cost_effect_cov
        Covariance of the cost and effect estimates (0 when the cost comes from
        a separate costing exercise).
    value_per_outcome
        Value of one additional outcome (e.g. fiscal saving of one more person
        in work); gives the net benefit.
    per
        Report outcomes, costs and net benefit per this many participants
        (e.g. 1,000); the cost per outcome is unchanged.
    alpha
        Level of the intervals (default: the effect's ``alpha``).
    method
        Interval for the cost per outcome: ``"fieller"`` (default),
        ``"delta"`` or ``"bootstrap"`` (parametric, percentile).
    draws, seed
        Bootstrap draws and their seed (an int or ``numpy.random.Generator``;
        required for ``method="bootstrap"``, the only source of randomness).
    outcome_label, currency
        Words for the outcome and the currency symbol used by ``summary()``,
        e.g. ``outcome_label="person in work for 13+ weeks"``.

    Returns
    -------
    CostEffectiveness

    Notes
    -----
    *Populations.* Cost and effect must refer to the same people. The ITT is
    the effect per person offered the programme, so the cost is the average
    incremental cost per person assigned: total programme cost over everyone
    assigned, whether or not they started (minus what the control arm cost).
    The CACE is the effect per complier, so the cost is per complier. When
    only starters cost anything and there are no always-takers, both ratios
    are the same number, ``(pi C_c) / (pi CACE) = C_c / CACE`` (``pi`` the
    take-up); the ITT version avoids the first stage's uncertainty.

    *Ratio.* With effect ``E`` (variance ``v_E``), cost ``C`` (``v_C``) and
    covariance ``c_CE``, the cost per additional outcome is ``R = C / E``,
    also the value per outcome at which the net benefit is zero.

    *Fieller's set* (Fieller 1954, *JRSS B* 16:175; Willan & O'Brien 1996,
    *Health Economics* 5:297) inverts the t test of ``C - R E = 0``: it holds
    every ``R`` with ``(C - R E)^2 <= t^2 (v_C - 2 R c_CE + R^2 v_E)``, ``t``
    the ``1 - alpha/2`` quantile of t with the effect's df (normal when
    infinite). The quadratic ``a R^2 - 2 b R + c <= 0`` with ``a = E^2 - t^2
    v_E``, ``b = C E - t^2 c_CE``, ``c = C^2 - t^2 v_C`` gives a bounded
    interval when ``a > 0`` (the effect is significant at ``alpha``), and
    otherwise the complement of an interval (``"exclusive"``) or the whole
    line (``"unbounded"``); these are reported as such, never as NaN. With
    ``cost_se = 0`` and no covariance the ends are ``C / (E +/- t se_E)``: the
    cost divided by the ends of the effect's interval. Because ``C - R E`` is
    minus the net benefit at value ``R``, Fieller's set is exactly the set of
    values per outcome at which zero net benefit is not rejected.

    *Delta method.* ``se(R) = sqrt(v_C - 2 R c_CE + R^2 v_E) / |E|`` and
    ``R -/+ t se(R)`` (always bounded; poor when ``E`` is imprecise).

    *Bootstrap.* ``(E*, C*)`` drawn ``draws`` times from the bivariate normal
    with the estimates' means and covariance, ``R* = C*/E*``, and the
    ``alpha/2`` and ``1 - alpha/2`` quantiles of ``R*``. When at least
    ``alpha/2`` of the draws have an effect of the other sign the ratio
    passes through infinity and the set is reported as unbounded.

    *Net benefit* per participant at value ``V``: ``NB = V E - C`` with
    ``se = sqrt(V^2 v_E + v_C - 2 V c_CE)`` and a t interval with the
    effect's df (Stinnett & Mullahy 1998, *Medical Decision Making* 18:S68);
    amounts are multiplied by ``per``.

    Examples
    --------
    >>> from dwp_eval.estimate.cost import cost_effectiveness
    >>> from dwp_eval.results import Effect
    >>> itt = Effect(estimand="ITT", outcome="employed_13_weeks", treatment="treatment",
    ...              control="control", estimate=0.04, std_error=0.01, df=float("inf"),
    ...              alpha=0.05, n_obs=8000, n_by_arm={"control": 4000, "treatment": 4000},
    ...              control_mean=0.2, treatment_mean=0.24, se_type="HC2", design="standard",
    ...              method="difference in means", binary_outcome=True)
    >>> ce = cost_effectiveness(itt, cost_per_participant=1000.0)
    >>> round(ce.cost_per_outcome)
    25000
    >>> ce.interval_kind, round(ce.conf_low), round(ce.conf_high)   # 1000 / (0.04 +/- 1.96 x 0.01)
    ('bounded', 16779, 49019)
    >>> ce = cost_effectiveness(itt, cost_per_participant=1000.0, value_per_outcome=40_000.0,
    ...                         per=1000)
    >>> round(ce.net_benefit * ce.per)   # (40,000 x 0.04 - 1,000) per 1,000 participants
    600000
    """
    func = "cost_effectiveness"
    if not isinstance(effect, Effect):
        raise OptionError(
            f"The 'effect' parameter of {func} must be an Effect (from dwp_eval.itt or "
            f"dwp_eval.cace). Got {type(effect).__name__} instead. Fix: pass the result of "
            "itt(...) "
            "or cace(...)."
        )
    C = _number(cost_per_participant, param="cost_per_participant", func=func)
    se_C = _number(cost_se, param="cost_se", func=func)
    cov = _number(cost_effect_cov, param="cost_effect_cov", func=func, minimum=None)
    V = (
        None
        if value_per_outcome is None
        else _number(value_per_outcome, param="value_per_outcome", func=func)
    )
    if isinstance(per, bool) or not isinstance(per, (int, np.integer)) or per < 1:
        raise OptionError(
            f"The 'per' parameter of {func} must be a positive int, e.g. 1000. Got {per!r} instead."
        )
    a = effect.alpha if alpha is None else check_alpha(alpha, func=func)
    how = check_option(method, METHODS, param="method", func=func)
    if how == "bootstrap":
        if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 100:
            raise OptionError(
                f"The 'draws' parameter of {func} must be an int of at least 100. "
                f"Got {draws!r} instead."
            )
        if seed is None:
            raise OptionError(
                f"The 'seed' parameter of {func} must be an int or a numpy.random.Generator when "
                "method='bootstrap'. Got None instead. Fix: pass a recorded integer, e.g. "
                "seed=20180501, so the interval can be reproduced."
            )
    E = float(effect.estimate)
    se_E = float(effect.std_error)
    df = float(effect.df)
    if not np.isfinite(E) or not np.isfinite(se_E) or se_E <= 0 or np.isnan(df):
        raise DesignError(
            f"{func}: the effect on {effect.outcome!r} has estimate {E!r}, standard error {se_E!r} "
            f"and df {df!r}; a cost-effectiveness interval needs a finite estimate and a positive, "
            "finite standard error. Fix: pass an Effect from itt or cace with a standard error."
        )
    if E == 0:
        raise DesignError(
            f"{func}: the effect on {effect.outcome!r} is exactly 0, so there are no additional "
            "outcomes and the cost per additional outcome is undefined. Fix: report the cost "
            "(and the net benefit, -cost) without a ratio."
        )
    if cov * cov > (se_E * se_C) ** 2 * (1 + 1e-12):
        raise OptionError(
            f"The 'cost_effect_cov' parameter of {func} must be at most se(effect) x cost_se = "
            f"{se_E * se_C:.6g} in absolute value (a correlation in [-1, 1]). Got {cov!r} instead."
        )
    q = _quantile(a, df)
    R = C / E
    v_E, v_C = se_E**2, se_C**2
    se_R = math.sqrt(max(v_C - 2 * R * cov + R * R * v_E, 0.0)) / abs(E)
    notes = []
    ratios = None
    n_draws = 0
    opposite = 0.0
    if how == "fieller":
        lo, hi, kind = fieller_set(C, E, v_C, v_E, cov, q)
    elif how == "delta":
        lo, hi, kind = R - q * se_R, R + q * se_R, "bounded"
    else:
        rng = check_seed(seed, func=func)
        z = rng.standard_normal((int(draws), 2))
        # the Cholesky factor of [[v_E, cov], [cov, v_C]], written out (v_E > 0)
        e_star = E + se_E * z[:, 0]
        c_star = C + (cov / se_E) * z[:, 0] + math.sqrt(max(v_C - cov * cov / v_E, 0.0)) * z[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = c_star / e_star
        ratios.setflags(write=False)
        n_draws = int(draws)
        opposite = float(np.mean(np.sign(e_star) != np.sign(E)))
        lo, hi, kind = _percentile(ratios, opposite, a)
        if kind == "unbounded":
            notes.append(
                f"{100 * opposite:.1f}% of the bootstrap draws had an effect of the other sign, at "
                f"least alpha/2: the ratio passes through infinity, so the percentile interval is "
                "unbounded; method='fieller' gives the exact shape of the set"
            )
    if E < 0:
        notes.append(
            "the effect is negative: the programme produces fewer outcomes, so the ratio is not a "
            "cost per additional outcome (with a positive cost the programme is dominated)"
        )
    if how == "delta" and abs(E) / se_E <= q:
        notes.append(
            f"the effect is not significant at alpha = {a:g} "
            f"(|t| = {abs(E) / se_E:.3g} <= {q:.3g}): "
            "the delta-method interval hides that the effect may be zero; method='fieller' does not"
        )
    if kind != "bounded" and how == "fieller":
        notes.append(
            f"the effect is not significant at alpha = {a:g} "
            f"(|t| = {abs(E) / se_E:.3g} < {q:.3g}), "
            "so the Fieller set is unbounded"
        )
    nb = nb_se = nb_lo = nb_hi = None
    if V is not None:
        nb = V * E - C
        nb_se = math.sqrt(max(V * V * v_E + v_C - 2 * V * cov, 0.0))
        nb_lo, nb_hi = nb - q * nb_se, nb + q * nb_se
    return CostEffectiveness(
        estimand=effect.estimand,
        outcome=effect.outcome,
        treatment=effect.treatment,
        control=effect.control,
        effect=E,
        effect_std_error=se_E,
        df=df,
        cost=C,
        cost_std_error=se_C,
        cost_effect_cov=cov,
        cost_per_outcome=R,
        cost_per_outcome_std_error=se_R,
        conf_low=float(lo),
        conf_high=float(hi),
        interval_kind=kind,
        method=how,
        alpha=a,
        per=int(per),
        draws=n_draws,
        value_per_outcome=V,
        net_benefit=nb,
        net_benefit_std_error=nb_se,
        net_benefit_low=nb_lo,
        net_benefit_high=nb_hi,
        outcome_label=outcome_label,
        currency=currency,
        notes=tuple(notes),
        bootstrap_ratios=ratios,
        bootstrap_opposite=opposite,
    )
