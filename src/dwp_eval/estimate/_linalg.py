"""One least-squares core: weighted OLS by Cholesky on the cross-product, with
strata fixed effects absorbed by within-stratum demeaning.

Everything downstream (leverages, HC and CR variances, Bell-McCaffrey degrees
of freedom) works with ``XL = X R^{-1}`` where ``X'X = R'R``: then
``(X'X)^{-1} = L L'`` with ``L = R^{-1}`` and the hat matrix restricted to
rows ``i, j`` is ``(XL)_i (XL)_j'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from dwp_eval.errors import DesignError

__all__ = ["OLSFit", "fit_ols"]


@dataclass(frozen=True, eq=False)
class OLSFit:
    """A fitted (weighted) least-squares model on transformed data.

    ``X`` and ``y`` are the working design and outcome after weighting
    (rows multiplied by ``sqrt(w)``) and, if fixed effects were absorbed,
    within-stratum (weighted) demeaning.
    """

    X: np.ndarray  # n x k working design
    y: np.ndarray  # n working outcome
    names: tuple[str, ...]
    beta: np.ndarray  # k
    resid: np.ndarray  # n working residuals
    R: np.ndarray  # k x k upper Cholesky factor of X'X
    bread: np.ndarray  # (X'X)^{-1}
    XL: np.ndarray  # X R^{-1}: rows give leverages
    sqrt_w: np.ndarray | None  # sqrt of the weights, or None
    fe_codes: np.ndarray | None  # absorbed stratum per row, or None
    fe_scale: np.ndarray | None  # sqrt(w_i / W_s): row's loading on its stratum's mean direction
    n_fe: int  # number of absorbed fixed-effect parameters

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def k(self) -> int:
        return int(self.X.shape[1])

    @property
    def rank(self) -> int:
        """Parameters estimated: columns of X plus absorbed fixed effects."""
        return self.k + self.n_fe

    def leverage(self) -> np.ndarray:
        """Diagonal of the hat matrix, including the absorbed fixed effects."""
        h = np.einsum("ij,ij->i", self.XL, self.XL)
        if self.fe_scale is not None:
            h = h + self.fe_scale**2
        return np.asarray(h)


def _demean(values: np.ndarray, codes: np.ndarray, n_groups: int, w: np.ndarray | None) -> np.ndarray:
    """Subtract the (weighted) group mean from each column of ``values``."""
    if values.ndim == 1:
        values = values[:, None]
        squeeze = True
    else:
        squeeze = False
    wt = np.ones(len(codes)) if w is None else w
    tot = np.bincount(codes, weights=wt, minlength=n_groups)
    out = np.empty_like(values, dtype=float)
    for j in range(values.shape[1]):
        s = np.bincount(codes, weights=wt * values[:, j], minlength=n_groups)
        out[:, j] = values[:, j] - (s / tot)[codes]
    return out[:, 0] if squeeze else out


def check_full_rank(X: np.ndarray, names: Sequence[str], *, func: str, what: str = "covariates") -> np.ndarray:
    """Cholesky factor of X'X; raise naming the columns that are collinear."""
    xtx = X.T @ X
    d = np.sqrt(np.clip(np.diag(xtx), 0, None))
    zero = np.flatnonzero(d <= 1e-12 * max(1.0, float(d.max(initial=0.0))))
    if zero.size:
        raise DesignError(
            f"{func}: {what} {', '.join(repr(names[int(i)]) for i in zero)} are zero (or constant "
            "within strata) in the estimation sample, so their effect cannot be estimated. "
            "Fix: drop them."
        )
    scaled = xtx / np.outer(d, d)
    try:
        R = np.linalg.cholesky(scaled).T
        ok = np.min(np.abs(np.diag(R))) > 1e-7
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        _, _, piv = sla.qr(scaled, pivoting=True)
        ev = np.linalg.eigvalsh(scaled)
        rank = int(np.sum(ev > 1e-10 * ev.max()))
        dropped = [names[int(i)] for i in piv[rank:]]
        raise DesignError(
            f"{func}: the {what} are collinear: {', '.join(map(repr, dropped))} can be written "
            "as a combination of the other columns (or of the strata). Fix: drop "
            f"{'it' if len(dropped) == 1 else 'them'} from covariates."
        )
    return np.asarray(R * d[None, :])


def fit_ols(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    weights: np.ndarray | None = None,
    fe_codes: np.ndarray | None = None,
    func: str,
) -> OLSFit:
    """Weighted least squares of ``y`` on ``X`` with optional absorbed fixed effects.

    With ``fe_codes``, each column and the outcome are demeaned within groups
    (Frisch-Waugh-Lovell), so ``X`` must not contain an intercept; the
    absorbed parameters count towards the residual degrees of freedom, and
    each row's loading ``sqrt(w_i / W_s)`` on its group's mean direction is
    kept so that leverages equal those of the full dummy-variable model.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    sw = None if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    fe_scale = None
    n_fe = 0
    if fe_codes is not None:
        codes = np.asarray(fe_codes, dtype=np.int64)
        n_groups = int(codes.max()) + 1
        w = None if weights is None else np.asarray(weights, dtype=float)
        X = _demean(X, codes, n_groups, w)
        y = _demean(y, codes, n_groups, w)
        wt = np.ones(len(codes)) if w is None else w
        tot = np.bincount(codes, weights=wt, minlength=n_groups)
        fe_scale = np.sqrt(wt / tot[codes])
        n_fe = int(np.sum(np.bincount(codes, minlength=n_groups) > 0))
    if sw is not None:
        X = X * sw[:, None]
        y = y * sw
    R = check_full_rank(X, names, func=func)
    Xty = X.T @ y
    beta = sla.cho_solve((R, False), Xty)
    resid = y - X @ beta
    L = sla.solve_triangular(R, np.eye(R.shape[0]), lower=False)
    bread = L @ L.T
    XL = X @ L
    return OLSFit(
        X=X,
        y=y,
        names=tuple(names),
        beta=beta,
        resid=resid,
        R=R,
        bread=bread,
        XL=XL,
        sqrt_w=sw,
        fe_codes=None if fe_codes is None else np.asarray(fe_codes, dtype=np.int64),
        fe_scale=fe_scale,
        n_fe=n_fe,
    )
