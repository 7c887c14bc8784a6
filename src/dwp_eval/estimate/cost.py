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
from typing import Any, Literal

import numpy as np

from dwp_eval._core.ratio import fieller_set, percentile_ratio_set, t_quantile
from dwp_eval._validation import check_alpha, check_draws, check_option, check_seed
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.results import Effect
from dwp_eval.results.cost import COST_COLUMNS, CostEffectiveness

__all__ = ["COST_COLUMNS", "CostEffectiveness", "cost_effectiveness", "fieller_set"]

METHODS = ("fieller", "delta", "bootstrap")
INTERVAL_KINDS = ("bounded", "unbounded", "exclusive")




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
        draws = check_draws(draws, name="draws", func=func, minimum=100)
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
    q = t_quantile(a, df)
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
        lo, hi, kind = percentile_ratio_set(ratios, opposite, a)
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
