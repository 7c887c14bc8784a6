"""Binomial proportions: the Wilson score interval shared by monitoring (contamination,
take-up and response rates) and the results that report those rates."""

from __future__ import annotations

import numpy as np

__all__ = ["wilson_interval"]


def wilson_interval(
    n_flagged: np.ndarray | int, n: np.ndarray | int, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``k / n``.

    Notes
    -----
    With ``p = k / n`` and ``z`` the ``1 - alpha / 2`` normal quantile, the
    interval is (Wilson 1927, *JASA* 22:209, eq. on p. 210; Agresti & Coull
    1998, *Am. Stat.* 52:119, eq. 2)

    .. math::

        \\frac{p + z^2 / (2n) \\pm z \\sqrt{p (1 - p) / n + z^2 / (4 n^2)}}{1 + z^2 / n}.

    Unlike the Wald interval ``p -/+ z sqrt(p (1 - p) / n)`` it stays inside
    [0, 1] and keeps close to nominal coverage for the small groups and rare
    events of contamination monitoring (Brown, Cai & DasGupta 2001, *Stat.
    Sci.* 16:101).

    Computed by ``statsmodels.stats.proportion.proportion_confint`` with
    ``method="wilson"``, on whole arrays at once.

    Examples
    --------
    >>> lo, hi = wilson_interval(3, 40)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0258, 0.1986)
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(n_flagged, dtype=float)
    m = np.asarray(n, dtype=float)
    lo, hi = proportion_confint(k, m, alpha=alpha, method="wilson")
    # arrays in, arrays out; a scalar in gives a numpy scalar, as numpy arithmetic does
    return np.asarray(lo, dtype=float)[()], np.asarray(hi, dtype=float)[()]
