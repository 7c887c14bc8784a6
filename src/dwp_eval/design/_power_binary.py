"""Binary outcomes on the odds-ratio and risk-ratio scales for the power engine.

The engine works with the ITT difference in rates :math:`\\delta = p_1 - p_0`
(treatment-arm rate minus control-arm rate). An effect given as an odds ratio
:math:`\\psi` or a risk ratio :math:`\\rho` of the treatment (offered) arm
against control at the control rate :math:`p_0` is the difference

.. math:: p_1 = \\frac{\\psi p_0}{1 - p_0 + \\psi p_0}, \\qquad p_1 = \\rho\\,p_0,
   \\qquad \\delta = p_1 - p_0

(Fleiss, Levin & Paik 2003, *Statistical Methods for Rates and Proportions*,
3rd ed., sections 4.2 and 6.3: a study powered for a ratio is powered for the
difference in proportions it implies). Both are ITT ratios: the arms as
randomised, as ``binary_effect`` estimates them.
"""

from __future__ import annotations

import math

from dwp_eval.errors import OptionError

RATIO_SCALES = ("odds_ratio", "risk_ratio")


def difference_from_ratio(p0: float, ratio: float, scale: str, name: str, func: str) -> float:
    """The difference in rates ``p1 - p0`` that the ratio ``ratio`` on ``scale`` gives at ``p0``."""
    if not math.isfinite(ratio) or ratio <= 0:
        raise OptionError(
            f"The '{name}' parameter of {func} is a {scale.replace('_', ' ')} (scale={scale!r}) and "
            f"must be a positive finite number. Got {ratio!r}; pass 1.5 for a ratio of 1.5."
        )
    p1 = ratio * p0 / (1.0 - p0 + ratio * p0) if scale == "odds_ratio" else ratio * p0
    if not 0 < p1 < 1:
        raise OptionError(
            f"The '{name}' parameter of {func} is a risk ratio: baseline_rate x {name} = "
            f"{p1:.4g} must be in (0, 1). Got {ratio!r}; pass a ratio below {1 / p0:.4g}."
        )
    return p1 - p0


def ratio_from_difference(p0: float, delta: float, scale: str) -> float:
    """The odds ratio or risk ratio of the rates ``p0 + delta`` and ``p0``."""
    p1 = p0 + delta
    if scale == "odds_ratio":
        return (p1 / (1.0 - p1)) / (p0 / (1.0 - p0))
    return p1 / p0
