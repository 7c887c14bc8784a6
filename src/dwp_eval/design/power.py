"""Analytic power, minimum detectable effect (MDE) and sample size for trial designs.

One design description is shared by :func:`mde`, :func:`sample_size`,
:func:`power` and :func:`power_curve`: the keyword-only options of
:class:`DesignOptions` (each documented there once, with its default):

* test: ``alpha=0.05``, ``two_sided=True``, ``method="t"``;
* allocation: ``ratio=0.5`` (fraction treated) or ``arms=`` (several arms, each
  compared with control, ``correction="bonferroni" | "holm" | "dunnett"``);
* outcome: ``sd=`` (continuous; effects in outcome units) or ``baseline_rate=``
  (binary; effects are differences in rates, 0.037 = 3.7 percentage points);
  neither gives standardised effects (SD units);
* precision: ``r2=`` (individual covariates), ``strata=`` (number of blocks,
  fixed effects), ``n_covariates=`` (for the df);
* clusters: ``cluster_size=``, ``icc=``, ``r2_cluster=``, ``cluster_size_cv=``;
* dilution: ``take_up=1.0``, ``contamination=0.0``; loss: ``attrition=0.0``
  or ``response_rate=`` (a number or one per arm);
* structure: ``nested_in="treatment"`` (partially nested: clusters of
  ``cluster_size`` in the treatment arm only, as IPS caseloads),
  ``level3_size=``, ``icc_level3=``, ``r2_level3=`` (three-level cluster
  randomisation), ``moderator_share=`` (a subgroup-difference effect);
* time to event (log-rank test): ``control_median=``, ``accrual=``,
  ``follow_up=``, ``events_formula="schoenfeld" | "freedman"``; effects are
  hazard ratios. Formulas and sources in
  :mod:`dwp_eval.design._power_structure`.

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
``method``. For binary outcomes :math:`\\sigma_a^2 = p_a(1-p_a)` at the
treatment rate :math:`p_a = p_0 + \\text{ITT}` (the variance under the
alternative; ``binary_variance="baseline"`` keeps :math:`p_0(1-p_0)`), so the
MDE solves :math:`\\text{ITT} = M \\sqrt{V(\\text{ITT})}`. The CACE MDE is the
ITT MDE over ``take_up - contamination`` (Bloom 1984; Angrist, Imbens & Rubin
1996).

:func:`mde` reports both scales; :func:`sample_size`, :func:`power` and
:func:`power_curve` take an effect on the scale named by ``scale="itt"`` or
``scale="cace"``, required when take-up or contamination make the two differ.
The three use one variance, one allocation of ``n`` to arms and one power
function, so they are inverses:
``sample_size(mde=mde(n=N, ...).mde, scale="itt", ...).n == N`` and
``power(effect=mde(n=N, ...).mde, n=N, scale="itt", ...).power`` is the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, Unpack

import numpy as np
import pandas as pd

from dwp_eval.design import _power_solvers as solve
from dwp_eval.design._power_design import (
    DesignOptions,
    PowerDesign,
    open01,
    parse_design,
    shares_design_options,
)
from dwp_eval.errors import OptionError
from dwp_eval.results import PowerCurve, PowerResult

__all__ = ["DesignOptions", "Scale", "mde", "power", "power_curve", "sample_size"]

#: The scale of an effect given to :func:`sample_size`, :func:`power` and
#: :func:`power_curve`: the ITT effect, or the CACE (effect on those who take
#: the programme up), or, for binary outcomes (``baseline_rate=``), the ITT odds
#: ratio or risk ratio of the treatment arm against control, or, for
#: time-to-event outcomes (``control_median=``), the hazard ratio.
Scale = Literal["itt", "cace", "odds_ratio", "risk_ratio", "hazard_ratio"]


@shares_design_options
def mde(
    *,
    n: int | None = None,
    n_clusters: int | None = None,
    power: float = 0.8,
    **design: Unpack[DesignOptions],
) -> PowerResult:
    """Minimum detectable effect (ITT and CACE) of a design with ``n`` people or ``n_clusters``.

    Parameters
    ----------
    n, n_clusters
        People randomised, or (cluster designs) clusters randomised; whole
        numbers, allocated to arms by ``ratio``/``arms`` (largest remainders).
    power
        Target power.
    **design
        The design options shared with :func:`sample_size`, :func:`power` and
        :func:`power_curve` (``alpha``, ``two_sided``, ``ratio`` or ``arms``,
        ``sd`` or ``baseline_rate``, ``r2``, ``cluster_size``, ``icc``,
        ``r2_cluster``, ``cluster_size_cv``, ``strata``, ``n_covariates``,
        ``take_up``, ``contamination``, ``attrition`` or ``response_rate``,
        ``correction``, ``method``, ``binary_variance``, ``outcome``,
        ``nested_in``, ``level3_size``, ``icc_level3``, ``r2_level3``,
        ``moderator_share``, ``control_median``, ``accrual``, ``follow_up``,
        ``events_formula``), each documented with its default in
        :class:`DesignOptions`.

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
        Invalid or unknown options.

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
    (3.82, 6.37)
    >>> base = mde(n=3675, baseline_rate=0.2, take_up=0.65, contamination=0.05,
    ...            binary_variance="baseline")  # p0(1-p0) in both arms
    >>> round(100 * base.mde, 2)
    3.7
    >>> round(mde(n=128, method="noncentral_t").mde, 4)  # pwr.t.test(n=64, power=.8)
    0.4991
    >>> round(mde(n_clusters=20, cluster_size=15, icc=0.17).mde, 3)  # PowerUpR: 0.629
    0.629

    A partially nested design (Lohr, Schochet & Sanders 2014, example 3.3, as
    in PowerUpR's ``mdes.ira_pn(n=250, rho_ic=.1, ic_size=5, df=Inf)``: 0.401),
    districts randomised with offices inside (PowerUp CRA3), a subgroup
    difference, and a time-to-event outcome:

    >>> round(mde(n=250, nested_in="treatment", cluster_size=5, icc=0.1, method="normal").mde, 3)
    0.401
    >>> round(mde(n_clusters=40, cluster_size=30, icc=0.05, level3_size=4, icc_level3=0.02).mde, 3)
    0.182
    >>> round(mde(n=2000, moderator_share=0.3).mde, 3)
    0.274
    >>> m = mde(n=2000, control_median=240, accrual=365, follow_up=365)
    >>> round(m.mde_hazard_ratio, 3), round(m.events)
    (1.15, 1612)
    """
    func = "mde"
    d = parse_design(func, design, own=("n", "n_clusters", "power"))
    target = solve.check_target(power, d, func)
    units = solve.given_units(d, n, n_clusters, func)
    point = solve.solve_mde(d, units, target, func)
    return solve.power_result(d, point, solved_for="mde", target=target, effect=None)


@shares_design_options
def sample_size(
    *,
    mde: float,
    power: float = 0.8,
    scale: Scale | None = None,
    **design: Unpack[DesignOptions],
) -> PowerResult:
    """People (or clusters) needed to detect an effect ``mde`` with ``power``.

    With take-up or contamination (``take_up < 1`` or ``contamination > 0``)
    ``scale`` says which effect ``mde`` is, and is required: ``"itt"``, the
    effect of being offered the programme (what :func:`mde` reports in
    ``.mde``), or ``"cace"``, its effect on those who take it up (``.mde_cace``;
    the ITT effect to detect is then ``mde x (take_up - contamination)``, so the
    sample grows with ``1 / (take_up - contamination)^2``). Without them the two
    are the same and ``scale`` may be left out. In cluster designs the number of
    clusters of ``cluster_size`` is solved.

    ``n`` is the smallest whole number of people (or clusters) that, split
    into arms by the rule :func:`mde` and :func:`power` use for ``n=``
    (largest remainders), reaches ``power``; so
    ``sample_size(mde=mde(n=N, ...).mde, scale="itt", ...).n == N`` for every
    design. ``unrounded`` keeps the continuous solution (arms in exact
    proportion); ``power`` is the power reached with the whole numbers.

    Parameters
    ----------
    mde
        The effect to detect, on ``scale``.
    power
        Target power.
    scale
        ``"itt"`` or ``"cace"``: the scale of ``mde``; required with take-up or
        contamination. Binary outcomes also take ``"odds_ratio"`` or
        ``"risk_ratio"``: ``mde`` is the ITT odds ratio :math:`\\psi` or risk
        ratio :math:`\\rho` of the treatment arm against control, converted to
        the difference :math:`p_1 - p_0` with :math:`p_1 = \\psi p_0 / (1 - p_0 +
        \\psi p_0)` or :math:`p_1 = \\rho p_0` (Fleiss, Levin & Paik 2003,
        sections 4.2 and 6.3).
    **design
        The design options of :class:`DesignOptions`, as in :func:`mde`.

    Returns
    -------
    PowerResult
        ``n`` (and ``n_clusters``) reached, ``unrounded`` and the power reached.

    Raises
    ------
    ConvergenceError
        Impossible designs, and when no sample up to 1e9 people (1e7 clusters)
        reaches the power (e.g. clusters whose between-cluster variance alone
        exceeds what the effect allows); the message names the range searched.
    OptionError
        Invalid or unknown options.

    Notes
    -----
    Solves ``power(n) = target`` by Brent's method on the continuous total
    (the df depend on ``n`` in the t methods), then the smallest whole total
    reaching it by bisection. Formulas as in :func:`mde`; binary outcomes use
    the variance under the alternative by default (``binary_variance``).

    Examples
    --------
    >>> from dwp_eval.design.power import mde, sample_size
    >>> sample_size(mde=0.5, method="noncentral_t").n_per_arm  # pwr.t.test: 63.77
    {'control': 64, 'treatment': 64}
    >>> sample_size(mde=0.04, baseline_rate=0.2, method="normal").n_per_arm  # Fleiss/Stata: 1,683
    {'control': 1680, 'treatment': 1680}
    >>> sample_size(mde=1.5, baseline_rate=0.2, scale="odds_ratio", method="normal").n_per_arm
    {'control': 532, 'treatment': 532}
    >>> sample_size(mde=0.10, baseline_rate=0.2, take_up=0.6, scale="cace").n
    1539
    >>> m = mde(n=2000, baseline_rate=0.2, take_up=0.6)
    >>> sample_size(mde=m.mde, baseline_rate=0.2, take_up=0.6, scale="itt").n
    2000

    Time to event: Schoenfeld's events for a hazard ratio of 1.2 and the
    people needed to see them (``events_needed``):

    >>> r = sample_size(mde=1.2, control_median=240, accrual=365, follow_up=365)
    >>> r.n, round(r.events_needed, 1)
    (1163, 944.5)
    """
    func = "sample_size"
    d = parse_design(func, design, own=("mde", "power", "scale"))
    target = solve.check_target(power, d, func)
    how = solve.check_scale(d, scale, "mde", func)
    effect, itt = solve.check_effect(d, mde, "mde", func, allow_zero=False, scale=how)
    exact = solve.solve_units(d, itt, target, func)
    total = solve.solve_whole(d, itt, target, exact, func)
    whole = {a: float(v) for a, v in solve.allocate(total, d.arms).items()}
    point = solve.evaluate(d, whole, itt, func)
    res = solve.power_result(
        d, point, solved_for="n", target=target, effect=effect, unrounded=exact, scale=how
    )
    if d.survival:  # the events the continuous solution needs (Schoenfeld's / Freedman's D)
        res = replace(res, events_needed=solve.events_at(d, exact, itt))
    return res


@shares_design_options
def power(
    *,
    effect: float,
    n: int | None = None,
    n_clusters: int | None = None,
    scale: Scale | None = None,
    **design: Unpack[DesignOptions],
) -> PowerResult:
    """Power to detect an effect ``effect`` with ``n`` people or ``n_clusters``.

    ``scale`` is required with take-up or contamination, as in
    :func:`sample_size`: ``"itt"`` (``effect`` is the ITT effect, as
    :func:`mde` reports in ``.mde``) or ``"cace"`` (the ITT effect is
    ``effect x (take_up - contamination)``). With several arms, ``power`` is
    that of the least powered comparison with control (each one is in
    ``to_frame()``).

    Parameters
    ----------
    effect
        The effect, on ``scale``.
    n, n_clusters
        People randomised, or (cluster designs) clusters randomised, as in :func:`mde`.
    scale
        ``"itt"`` or ``"cace"``: the scale of ``effect``; required with take-up
        or contamination. Binary outcomes also take ``"odds_ratio"`` or
        ``"risk_ratio"`` (ITT ratios, as in :func:`sample_size`).
    **design
        The design options of :class:`DesignOptions`, as in :func:`mde`.

    Returns
    -------
    PowerResult
        ``power`` (of the least powered comparison) at ``effect``.

    Raises
    ------
    ConvergenceError
        Impossible designs, as in :func:`mde`.
    OptionError
        Invalid or unknown options.

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
    0.666
    """
    func = "power"
    d = parse_design(func, design, own=("effect", "n", "n_clusters", "scale"))
    how = solve.check_scale(d, scale, "effect", func)
    return _power(d, effect, n, n_clusters, func, how)


def _power(d: PowerDesign, effect: Any, n: Any, n_clusters: Any, func: str, scale: str) -> PowerResult:
    """Power at ``effect`` (on ``scale``) with ``n`` people or ``n_clusters`` in the design ``d``."""
    e, itt = solve.check_effect(d, effect, "effect", func, allow_zero=True, scale=scale)
    units = solve.given_units(d, n, n_clusters, func)
    point = solve.evaluate(d, units, itt, func)
    return solve.power_result(d, point, solved_for="power", target=None, effect=e, scale=scale)


@shares_design_options
def power_curve(
    *,
    effect: float | Sequence[float],
    n: int | Sequence[int] | None = None,
    n_clusters: int | Sequence[int] | None = None,
    target_power: float = 0.8,
    scale: Scale | None = None,
    **design: Unpack[DesignOptions],
) -> PowerCurve:
    """Power over a grid of sample sizes and/or effects, as a table and a plot.

    Parameters
    ----------
    effect
        One effect or several, on ``scale``.
    n, n_clusters
        One sample size or several (people, or clusters in a cluster design).
    target_power
        Drawn as a dashed line on the plot.
    scale
        ``"itt"`` or ``"cace"``: the scale of ``effect``; required with take-up
        or contamination, as in :func:`power`.
    **design
        The design options of :class:`DesignOptions` (``baseline_rate``,
        ``icc``, ...), as in :func:`power`.

    Returns
    -------
    PowerCurve
        ``to_frame()``: one row per combination (columns ``n``,
        ``n_clusters``, ``effect`` (as given), ``effect_itt``, ``effect_cace``,
        ``power``); ``plot()``:
        power against the varying sample size (one line per effect) or,
        when only the effect varies, against the effect.

    Examples
    --------
    >>> from dwp_eval.design.power import power_curve
    >>> curve = power_curve(effect=0.05, n=[500, 1000, 2000], baseline_rate=0.3)
    >>> curve.to_frame()["power"].round(3).tolist()
    [0.221, 0.393, 0.666]
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

    d = parse_design(func, design, own=("effect", "n", "n_clusters", "target_power", "scale"))
    target = open01(target_power, "target_power", func)
    how = solve.check_scale(d, scale, "effect", func)
    effects, ns, js = grid(effect, "effect"), grid(n, "n"), grid(n_clusters, "n_clusters")
    rows = []
    for j in js:
        for nn in ns:
            for e in effects:
                r = _power(d, e, nn, j, func, how)
                rows.append(
                    {
                        "n": r.n,
                        "n_clusters": r.n_clusters,
                        "effect": float(e),
                        "effect_itt": r.mde,
                        "effect_cace": r.mde_cace,
                        "power": r.power,
                    }
                )
    columns = ["n", "n_clusters", "effect", "effect_itt", "effect_cace", "power"]
    frame = pd.DataFrame(rows, columns=columns)
    if len(js) > 1:
        x = "n_clusters"
    elif len(ns) > 1 or len(effects) == 1:
        x = "n" if n is not None else "n_clusters"
    else:
        x = "effect"
    return PowerCurve(frame, x=x, alpha=d.alpha, target_power=target, outcome=d.outcome, scale=how)
