"""The assignment regression on an engine, from sums: a few passes over the rows, each
adding up small arrays, and the driver finishes with the shared variance core.

Passes (each one :func:`~dwp_eval._core.engines.ops.map_sums` over the kept columns):

1. *scan*: rows per arm, missing and non-finite values per column, rows with no arm,
   and the (weighted) sums the covariate means and arm means need;
2. *cross-products*: ``X'WX`` and ``X'Wy`` (covariates centred at the means of pass 1,
   Lin 2013), solved on the driver after equilibration (Cholesky of the scaled matrix);
3. *refinement*: ``X'W(y - X b)``, one step of iterative refinement (Golub & Van Loan
   2013, sec. 3.5.3), so the estimate matches a QR solve to rounding, and the arms'
   sums of squared deviations (the Welch variance);
4. *meat*: the HC meat ``sum_i w_i^2 e_i^2 omega(h_ii) x_i x_i'`` with the leverage
   ``h_ii = w_i x_i' M x_i`` (MacKinnon & White 1985), or per cluster ``X_g'W_g e_g``
   and ``X_g'X_g`` (keyed by the cluster on the engine), from which
   :func:`dwp_eval._core.cluster_blocks.cr2_from_blocks` gives CR2 with Bell-McCaffrey
   df (no ``n_g x n_g`` matrix anywhere).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dwp_eval._core.cluster_blocks import cr2_from_sums
from dwp_eval._core.engines.ops import map_sums
from dwp_eval._core.variance import hc_weights
from dwp_eval._validation import arm_index

__all__ = [
    "Design",
    "EngineFit",
    "RowDesign",
    "cluster_sums_of",
    "cr_vcov",
    "fit_sums",
    "floats",
    "hc_vcov",
    "scan",
    "solve_normal",
    "with_centre",
]


class RowDesign(Protocol):
    """What the passes need of a design: its columns, its number of coefficients, the
    cluster column (or ``None``) and a chunk's ``X``, ``y``, weights and kept rows."""

    @property
    def columns(self) -> list[Hashable]: ...

    @property
    def k(self) -> int: ...

    @property
    def cluster(self) -> Hashable | None: ...

    def arrays(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]: ...


@dataclass(frozen=True)
class Design:
    """How a chunk's rows become ``y``, ``X`` (intercept, assignment, covariates and their
    interactions with assignment when ``lin``), weights and cluster labels."""

    outcome: Hashable
    assigned: Hashable
    control_key: str
    treatment_key: str
    covariates: tuple[Hashable, ...] = ()
    lin: bool = True
    weights: Hashable | None = None
    cluster: Hashable | None = None
    drop_missing: bool = False
    centre: tuple[float, ...] | None = None
    extra: tuple[Hashable, ...] = ()  # other numeric columns read with the rows (receipt)

    @property
    def columns(self) -> list[Hashable]:
        cols = [self.outcome, self.assigned, *self.covariates, *self.extra]
        cols += [c for c in (self.weights, self.cluster) if c is not None]
        return list(dict.fromkeys(cols))

    @property
    def numeric(self) -> list[Hashable]:
        """The columns that must be finite numbers."""
        return [self.outcome, *self.covariates, *self.extra] + ([self.weights] if self.weights else [])

    @property
    def k(self) -> int:
        p = len(self.covariates)
        return 2 + p * (2 if self.lin and p else 1)

    def kept(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows in a compared arm (and complete, when dropping) and their assignment."""
        arm = arm_index(chunk[self.assigned], (self.control_key, self.treatment_key))
        keep = arm <= 1
        keep &= arm >= 0
        if self.drop_missing:
            for c in self.columns:
                keep &= chunk[c].notna().to_numpy()
        return keep, (arm[keep] == 1).astype(float)

    def arrays(self, chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """``X``, ``y``, the weights (or ``None``) and the kept rows of a chunk."""
        keep, z = self.kept(chunk)
        y = floats(chunk, self.outcome, keep)
        p = len(self.covariates)
        X = np.empty((len(y), self.k))
        X[:, 0] = 1.0
        X[:, 1] = z
        centre = self.centre or (0.0,) * p
        for j, c in enumerate(self.covariates):
            X[:, 2 + j] = floats(chunk, c, keep) - centre[j]
            if self.lin:
                X[:, 2 + p + j] = X[:, 2 + j] * z
        w = None if self.weights is None else floats(chunk, self.weights, keep)
        return X, y, w, keep


def floats(chunk: pd.DataFrame, column: Hashable, keep: np.ndarray) -> np.ndarray:
    """The kept rows of a numeric column as floats (without copying the chunk's other
    columns; missing values, never among kept rows, would read as NaN)."""
    return chunk[column].to_numpy(dtype=float, na_value=np.nan)[keep]


def scan(frame: Any, design: Design) -> pd.Series:
    """Pass 1: counts and sums over the rows of the compared arms (see module docstring)."""
    cols = design.columns
    numeric = design.numeric

    def chunk_sums(chunk: pd.DataFrame) -> pd.DataFrame:
        index = arm_index(chunk[design.assigned], (design.control_key, design.treatment_key))
        arm = (index == 0) | (index == 1)
        out: dict[str, float] = {"no_arm": float((index < 0).sum()), "n_arms": float(arm.sum())}
        complete = arm.copy()
        for i, c in enumerate(cols):
            na = chunk[c].isna().to_numpy()
            out[f"na_{i}"] = float((na & arm).sum())
            complete &= ~na
        for i, c in enumerate(numeric):
            v = pd.to_numeric(chunk[c], errors="coerce").to_numpy(dtype=float)
            out[f"inf_{i}"] = float((np.isinf(v) & arm).sum())
        z = index[complete] == 1
        y = floats(chunk, design.outcome, complete)
        w = np.ones(len(y)) if design.weights is None else floats(chunk, design.weights, complete)
        out["nonpositive_w"] = float((w <= 0).sum())
        out["nonbinary"] = float(((y != 0) & (y != 1)).sum())
        for a, mask in (("1", z), ("0", ~z)):
            out[f"n{a}"] = float(mask.sum())
            out[f"w{a}"] = float(w[mask].sum())
            out[f"wy{a}"] = float((w * y)[mask].sum())
        for j, c in enumerate(design.covariates):
            out[f"wx_{j}"] = float((w * floats(chunk, c, complete)).sum())
        return pd.DataFrame([out])

    names = list(chunk_sums(_empty_like(frame, cols)).columns)
    return map_sums(frame, cols, chunk_sums, names).iloc[0]


def _empty_like(frame: Any, cols: Sequence[Hashable]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=float) for c in cols})


@dataclass(frozen=True)
class EngineFit:
    """The solved regression: coefficients, ``M = (X'WX)^{-1}``, its factor ``L`` (``M =
    L L'``), the number of rows, sum of weights and the arms' within sums of squares."""

    beta: np.ndarray
    M: np.ndarray
    L: np.ndarray
    n: int
    rss_arms: tuple[float, float]


def solve_normal(XtX: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X'X)^{-1} b``, ``(X'X)^{-1}`` and ``L`` with ``L L' = (X'X)^{-1}``, via the
    Cholesky factor of the equilibrated matrix ``D^{-1} X'X D^{-1}``; raises
    ``LinAlgError`` when a column is zero or collinear with the others (the callers name
    the covariates)."""
    d = np.sqrt(np.diag(XtX))
    if not np.all(d > 0):
        raise np.linalg.LinAlgError("a column of X is zero")
    S = XtX / np.outer(d, d)
    R = np.linalg.cholesky(S).T  # S = R'R
    # S has a unit diagonal, so R_jj^2 = 1 - R^2 of column j on the columns before it:
    # below 1e-14, the column is a combination of the others to rounding
    if float(np.min(np.abs(np.diag(R)))) < 1e-7:
        raise np.linalg.LinAlgError("the columns of X are collinear")
    Rinv = np.linalg.inv(R)
    L = Rinv / d[:, None]  # (X'X)^{-1} = D^{-1} R^{-1} R^{-T} D^{-1}
    M = L @ L.T
    return M @ b, M, L


def fit_sums(frame: Any, design: RowDesign, arm_means: tuple[float, float]) -> EngineFit:
    """Passes 2 and 3: the coefficients (with one refinement step) and ``M``."""
    k = design.k
    cols = design.columns
    iu = np.triu_indices(k)
    names = [f"xx_{i}" for i in range(len(iu[0]))] + [f"xy_{j}" for j in range(k)] + ["n"]

    def cross(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, w, _ = design.arrays(chunk)
        WX = X if w is None else X * w[:, None]
        vals = np.r_[(WX.T @ X)[iu], WX.T @ y, len(y)]
        return pd.DataFrame([vals], columns=names)

    s = map_sums(frame, cols, cross, names).iloc[0].to_numpy()
    XtX = np.zeros((k, k))
    XtX[iu] = s[: len(iu[0])]
    XtX = XtX + np.triu(XtX, 1).T
    beta, M, L = solve_normal(XtX, s[len(iu[0]) : len(iu[0]) + k])
    n = int(s[-1])

    m1, m0 = arm_means
    ref_names = [f"r_{j}" for j in range(k)] + ["ss1", "ss0"]

    def refine(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, w, _ = design.arrays(chunk)
        e = y - X @ beta
        WX = X if w is None else X * w[:, None]
        z = X[:, 1] == 1
        vals = np.r_[WX.T @ e, np.sum((y[z] - m1) ** 2), np.sum((y[~z] - m0) ** 2)]
        return pd.DataFrame([vals], columns=ref_names)

    r = map_sums(frame, cols, refine, ref_names).iloc[0].to_numpy()
    beta = beta + M @ r[:k]
    return EngineFit(beta, M, L, n, (float(r[k]), float(r[k + 1])))


def hc_vcov(frame: Any, design: RowDesign, fit: EngineFit, kind: str) -> np.ndarray:
    """Pass 4, unclustered: the HC0-HC3 (or classical) covariance."""
    k = design.k
    iu = np.triu_indices(k)
    names = [f"m_{i}" for i in range(len(iu[0]))] + ["ee"]

    def meat(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, w, _ = design.arrays(chunk)
        e = y - X @ fit.beta
        ww = np.ones(len(y)) if w is None else w
        h = ww * np.einsum("ij,jk,ik->i", X, fit.M, X)
        omega = (ww * e) ** 2 * hc_weights("HC0" if kind == "classical" else kind, h)
        vals = np.r_[(X.T @ (X * omega[:, None]))[iu], np.sum(ww * e**2)]
        return pd.DataFrame([vals], columns=names)

    s = map_sums(frame, design.columns, meat, names).iloc[0].to_numpy()
    dof = fit.n - k
    if kind == "classical":
        return fit.M * (s[-1] / dof)
    B = np.zeros((k, k))
    B[iu] = s[:-1]
    B = B + np.triu(B, 1).T
    v = fit.M @ B @ fit.M
    return v * fit.n / dof if kind == "HC1" else v


def cluster_sums_of(frame: Any, design: RowDesign, fit: EngineFit, *, key_type: str) -> pd.DataFrame:
    """Pass 4, clustered: per cluster (indexed by its label) ``X_g'W_g e_g`` (``u_*``),
    the upper triangle of ``X_g'X_g`` (``c_*``, unweighted designs), its rows ``n`` and
    treated rows ``z``."""
    k = design.k
    iu = np.triu_indices(k)
    key = str(design.cluster)
    names = [f"u_{j}" for j in range(k)] + [f"c_{i}" for i in range(len(iu[0]))] + ["n", "z"]

    def blocks(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, w, keep = design.arrays(chunk)
        e = y - X @ fit.beta
        WX = X if w is None else X * w[:, None]
        labels = chunk[design.cluster].to_numpy()[keep]
        codes, uniq = pd.factorize(labels, sort=False)
        G = len(uniq)
        out = np.empty((G, len(names)))
        # column by column: one row-length temporary at a time
        for j in range(k):
            out[:, j] = np.bincount(codes, weights=WX[:, j] * e, minlength=G)
        for i, (a, b) in enumerate(zip(*iu, strict=True)):
            out[:, k + i] = np.bincount(codes, weights=X[:, a] * X[:, b], minlength=G)
        out[:, -2] = np.bincount(codes, minlength=G)
        out[:, -1] = np.bincount(codes, weights=X[:, 1], minlength=G)
        res = pd.DataFrame(out, columns=names)
        res.insert(0, key, uniq)
        return res

    return map_sums(frame, design.columns, blocks, names, key=key, key_type=key_type)


def cr_vcov(blocks: pd.DataFrame, design: RowDesign, fit: EngineFit, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """CR0, CR1 or CR2 (with the Satterthwaite df) from :func:`cluster_sums_of`'s blocks."""
    k = design.k
    iu = np.triu_indices(k)
    U = blocks[[f"u_{j}" for j in range(k)]].to_numpy()
    G = len(U)
    if kind in ("CR0", "CR1"):
        v = fit.M @ (U.T @ U) @ fit.M
        if kind == "CR1":
            v = v * (G / (G - 1)) * ((fit.n - 1) / (fit.n - k))
        return v, np.full(k, float(G - 1))
    tri = blocks[[f"c_{i}" for i in range(len(iu[0]))]].to_numpy()
    XtX = np.zeros((G, k, k))
    XtX[:, iu[0], iu[1]] = tri
    XtX = XtX + np.triu(XtX, 1).transpose(0, 2, 1)
    return cr2_from_sums(XtX, U, fit.L)


def with_centre(design: Design, totals: pd.Series) -> Design:
    """The design with its covariates centred at their (weighted) means from :func:`scan`."""
    wsum = totals["w1"] + totals["w0"]
    centre = tuple(float(totals[f"wx_{j}"] / wsum) for j in range(len(design.covariates)))
    return replace(design, centre=centre)
