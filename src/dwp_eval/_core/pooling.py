"""Rubin's rules: one scalar estimate pooled over ``m`` multiply imputed datasets.

With ``Q_i`` and ``U_i`` the estimate and its squared standard error from the
``i``-th completed dataset (Rubin 1987, sec. 3.1; van Buuren 2018, sec. 2.3):

* ``Qbar = mean(Q_i)``: the pooled estimate (Rubin 1987, eq. 3.1.2);
* ``Ubar = mean(U_i)``: the within-imputation variance (eq. 3.1.3);
* ``B = sum (Q_i - Qbar)^2 / (m - 1)``: the between-imputation variance (eq. 3.1.4);
* ``T = Ubar + (1 + 1/m) B``: the total variance (eq. 3.1.5);
* ``riv = (1 + 1/m) B / Ubar``: the relative increase in variance due to
  nonresponse (eq. 3.1.7);
* ``lambda = (1 + 1/m) B / T``: the proportion of the variance due to the
  missing data (van Buuren 2018, sec. 2.3.5);
* degrees of freedom by Barnard & Rubin (1999, eq. 3 and 4):
  ``nu_old = (m - 1) / lambda^2``,
  ``nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lambda)``,
  ``nu = nu_old nu_obs / (nu_old + nu_obs)``, where ``nu_com`` is the complete-data
  degrees of freedom (``nu = nu_old`` when ``nu_com`` is infinite);
* ``fmi = (riv + 2 / (nu + 3)) / (riv + 1)``: the fraction of missing
  information (Rubin 1987, eq. 3.1.10, with ``nu`` as above, as R ``mice::pool``).

These are the formulas of R ``mice::pool`` (``rule = "rubin1987"``) with one
difference: mice floors ``lambda`` at ``1e-4`` inside the degrees of freedom;
here ``lambda = 0`` (no between-imputation variance) gives ``nu_old = inf`` and
so ``nu = nu_obs``, the limit of the formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RubinPool", "barnard_rubin_df", "rubin_pool"]


@dataclass(frozen=True)
class RubinPool:
    """Rubin's rules for one scalar (see the module docstring for each formula)."""

    m: int
    estimate: float
    within_variance: float
    between_variance: float
    total_variance: float
    riv: float
    lambda_: float
    fmi: float
    df: float
    df_complete: float

    @property
    def std_error(self) -> float:
        """``sqrt(T)``."""
        return math.sqrt(self.total_variance)


def barnard_rubin_df(m: int, lambda_: float, df_complete: float) -> float:
    """Barnard & Rubin (1999) small-sample degrees of freedom (eq. 3 and 4)."""
    df_old = math.inf if lambda_ <= 0 else (m - 1) / lambda_**2
    if math.isinf(df_complete):
        return df_old
    df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lambda_)
    if math.isinf(df_old):
        return df_obs
    return df_old * df_obs / (df_old + df_obs)


def rubin_pool(
    estimates: Sequence[float] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    df_complete: float = math.inf,
) -> RubinPool:
    """Pool ``m >= 2`` estimates and their variances (squared standard errors) by
    Rubin's rules with Barnard-Rubin degrees of freedom.

    ``df_complete`` is the degrees of freedom the analysis would have had with no
    missing data (``n - p`` for a regression; ``G - 1`` with ``G`` clusters);
    infinite gives Rubin's (1987) large-sample degrees of freedom.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = int(q.size)
    if m < 2 or u.size != m:
        raise ValueError("rubin_pool needs m >= 2 estimates and one variance each")
    same = bool(np.all(q == q[0]))  # no between-imputation variance: keep Q exactly
    qbar = float(q[0]) if same else float(q.mean())
    ubar = float(u[0]) if bool(np.all(u == u[0])) else float(u.mean())
    b = 0.0 if same else float(np.sum((q - qbar) ** 2) / (m - 1))
    t = ubar + (1 + 1 / m) * b
    riv = (1 + 1 / m) * b / ubar if ubar > 0 else math.inf
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    df = barnard_rubin_df(m, lam, float(df_complete))
    fmi = (riv + 2 / (df + 3)) / (riv + 1) if math.isfinite(riv) else 1.0
    return RubinPool(m=m, estimate=qbar, within_variance=ubar, between_variance=b,
                     total_variance=t, riv=riv, lambda_=lam, fmi=fmi, df=df,
                     df_complete=float(df_complete))
