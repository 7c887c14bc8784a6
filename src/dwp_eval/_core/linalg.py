"""One least-squares core: weighted OLS by Cholesky on the cross-product, with
strata fixed effects absorbed by within-stratum demeaning.

Everything downstream (leverages, HC and CR variances, Bell-McCaffrey degrees
of freedom) works with ``XL = X R^{-1}`` where ``X'X = R'R``: then
``(X'X)^{-1} = L L'`` with ``L = R^{-1}`` and the hat matrix restricted to
rows ``i, j`` is ``(XL)_i (XL)_j'``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg as sla

from dwp_eval.errors import DesignError

__all__ = ["OLSFit", "Term", "check_full_rank", "demean", "fit_ols", "with_residuals"]

#: Rows per block in passes over the data (leverages, HC meat): a block of
#: ``X R^{-1}`` stays in cache and no n x k temporary is allocated.
BLOCK_ROWS = 16_384


class Term(str):
    """A design-matrix column name that remembers the user's column it was built
    from (``source``; ``None`` for the intercept and assignment), so that
    :func:`check_full_rank` names user columns."""

    source: str | None

    def __new__(cls, name: str, source: str | None) -> Term:
        term = super().__new__(cls, name)
        term.source = source
        return term


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
    L: np.ndarray  # R^{-1} (upper triangular): (X'X)^{-1} = L L'
    sqrt_w: np.ndarray | None  # sqrt of the weights, or None
    fe_codes: np.ndarray | None  # absorbed stratum per row, or None
    fe_scale: np.ndarray | None  # sqrt(w_i / W_s): row's loading on its stratum's mean direction
    n_fe: int  # number of absorbed fixed-effect parameters
    # largest |y| on the working (weighted) scale before any demeaning: the outcome's
    # scale, against which residuals count as zero (see variance.residuals_vanish)
    y_scale: float = float("nan")

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

    @property
    def XL(self) -> np.ndarray:
        """``X R^{-1}`` (n x k): rows give leverages. Computed on each access, not stored."""
        return np.asarray(self.X @ self.L)

    def leverage_blocks(self) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """``(rows, XL[rows], leverages of rows)`` for consecutive blocks of rows
        (leverages include the absorbed fixed effects), never forming all of ``XL``."""
        for start in range(0, self.n, BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            xl = self.X[rows] @ self.L
            h = np.einsum("ij,ij->i", xl, xl)
            if self.fe_scale is not None:
                h += self.fe_scale[rows] ** 2
            yield rows, xl, h

    def leverage(self) -> np.ndarray:
        """Diagonal of the hat matrix, including the absorbed fixed effects."""
        h = np.empty(self.n)
        for rows, _, h_rows in self.leverage_blocks():
            h[rows] = h_rows
        return h


def demean(values: np.ndarray, codes: np.ndarray, n_groups: int, w: np.ndarray | None) -> np.ndarray:
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
    """Cholesky factor of X'X; raise naming the columns that are collinear.

    Messages name the user's columns. A name may carry the column it was built
    from as a ``source`` attribute (a ``str`` subclass, as :func:`dwp_eval.itt`
    passes; ``None`` for design columns such as the intercept and assignment):
    an interaction ``assigned:x`` or a dummy ``region[b]`` is then reported as
    ``'x'`` or ``'region'``, and a design column is never blamed while a user
    column can be dropped instead. Of a collinear set, the columns named are
    those that add nothing to the design columns and the columns before them.
    """

    def source(i: int) -> str | None:
        return getattr(names[i], "source", str(names[i]))

    def user_columns(idx: Sequence[int]) -> list[str]:
        named = list(dict.fromkeys(s for s in (source(int(i)) for i in idx) if s is not None))
        return named or [str(names[int(i)]) for i in idx]

    xtx = X.T @ X
    d = np.sqrt(np.clip(np.diag(xtx), 0, None))
    zero = np.flatnonzero(d <= 1e-12 * max(1.0, float(d.max(initial=0.0))))
    if zero.size:
        raise DesignError(
            f"{func}: {what} {', '.join(map(repr, user_columns(zero.tolist())))} are zero (or "
            "constant within strata) in the estimation sample, so their effect cannot be "
            "estimated. Fix: drop them."
        )
    scaled = xtx / np.outer(d, d)

    def cholesky(cols: list[int]) -> np.ndarray | None:
        """Upper factor of the columns' scaled cross-product, or None if not of full rank."""
        try:
            R = np.linalg.cholesky(scaled[np.ix_(cols, cols)]).T
        except np.linalg.LinAlgError:
            return None
        return R if np.min(np.abs(np.diag(R))) > 1e-7 else None

    k = len(d)
    R = cholesky(list(range(k)))
    if R is None:
        # design columns first, then the others in order: a column that adds nothing
        # to those kept before it is one the user can drop
        order = [i for i in range(k) if source(i) is None] + [i for i in range(k) if source(i) is not None]
        kept: list[int] = []
        dropped: list[int] = []
        for i in order:
            (kept if cholesky([*kept, i]) is not None else dropped).append(i)
        if not dropped:  # rank decided by rounding in another order: pivoted QR decides
            _, _, piv = sla.qr(scaled, pivoting=True)
            ev = np.linalg.eigvalsh(scaled)
            dropped = [int(i) for i in piv[int(np.sum(ev > 1e-10 * ev.max())) :]]
        cols = user_columns(dropped)
        raise DesignError(
            f"{func}: the {what} are collinear: {', '.join(map(repr, cols))} can be written "
            "as a combination of the other columns (or of the strata). Fix: drop "
            f"{'it' if len(cols) == 1 else 'them'} from covariates."
        )
    return np.asarray(R * d[None, :])


def fit_ols(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    weights: np.ndarray | None = None,
    fe_codes: np.ndarray | None = None,
    n_absorbed: int = 0,
    func: str,
    what: str = "covariates",
) -> OLSFit:
    """Weighted least squares of ``y`` on ``X`` with optional absorbed fixed effects.

    With ``fe_codes``, each column and the outcome are demeaned within groups
    (Frisch-Waugh-Lovell), so ``X`` must not contain an intercept; the
    absorbed parameters count towards the residual degrees of freedom, and
    each row's loading ``sqrt(w_i / W_s)`` on its group's mean direction is
    kept so that leverages equal those of the full dummy-variable model.
    ``n_absorbed`` counts parameters already removed from ``X`` and ``y`` by
    the caller (e.g. two-way demeaning), for the residual degrees of freedom;
    ``what`` names the columns in a collinearity message.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    sw = None if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    y_scale = float(np.max(np.abs(y if sw is None else y * sw))) if y.size else 0.0
    fe_scale = None
    n_fe = 0
    if fe_codes is not None:
        codes = np.asarray(fe_codes, dtype=np.int64)
        n_groups = int(codes.max()) + 1
        w = None if weights is None else np.asarray(weights, dtype=float)
        X = demean(X, codes, n_groups, w)
        y = demean(y, codes, n_groups, w)
        wt = np.ones(len(codes)) if w is None else w
        tot = np.bincount(codes, weights=wt, minlength=n_groups)
        fe_scale = np.sqrt(wt / tot[codes])
        n_fe = int(np.sum(np.bincount(codes, minlength=n_groups) > 0))
    if sw is not None:
        X = X * sw[:, None]
        y = y * sw
    R = check_full_rank(X, names, func=func, what=what)
    Xty = X.T @ y
    beta = sla.cho_solve((R, False), Xty)
    resid = y - X @ beta
    # R^{-1} by LAPACK's triangular inverse (dtrtri): the same back-substitution as
    # solve_triangular(R, I), without scipy 1.17's per-call overhead (~4 ms even
    # for 2 x 2, which dominated small fits in simulations)
    L, info = sla.lapack.dtrtri(np.asarray(R, dtype=float), lower=0)
    if info != 0:  # pragma: no cover - R has a positive diagonal after check_full_rank
        raise DesignError(f"{func}: the design's Cholesky factor is singular.")
    bread = L @ L.T
    return OLSFit(
        X=X,
        y=y,
        names=tuple(names),
        beta=beta,
        resid=resid,
        R=R,
        bread=bread,
        L=L,
        sqrt_w=sw,
        fe_codes=None if fe_codes is None else np.asarray(fe_codes, dtype=np.int64),
        fe_scale=fe_scale,
        n_fe=n_fe + int(n_absorbed),
        y_scale=y_scale,
    )


def with_residuals(fit: OLSFit, resid: np.ndarray) -> OLSFit:
    """``fit`` with other working residuals; design, bread and leverages unchanged.

    Two-stage least squares is the OLS fit of the outcome on the design with
    each endogenous column replaced by its first-stage fitted values, but its
    residuals use the *actual* endogenous columns: ``e = y - X beta``, not
    ``y - X_hat beta`` (estimatr's ``iv_robust``, Stata's ``ivregress``).
    Every estimator in :mod:`dwp_eval._core.variance` reads the residuals
    from ``fit.resid`` and the design from ``fit.X``, so passing the 2SLS fit
    through this function gives the IV sandwich: ``X_hat``'s bread and
    leverages (HC2, HC3, CR2 and its Bell-McCaffrey df) with the structural
    residuals. ``resid`` is on the working scale (demeaned within absorbed
    fixed effects, times ``sqrt(w)`` when weighted), like ``fit.resid``.
    """
    resid = np.asarray(resid, dtype=float)
    if resid.shape != fit.resid.shape:
        raise ValueError(
            f"with_residuals: resid must have shape {fit.resid.shape}; got {resid.shape}."
        )
    return replace(fit, resid=resid)
