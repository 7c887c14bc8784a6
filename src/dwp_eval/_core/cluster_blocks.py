"""CR2 from per-cluster blocks: what the cluster-robust variance needs of each cluster is
two small sums, never its rows.

With ``X'X = R'R``, ``L = R^{-1}`` and ``Y_g = X_g L`` (a cluster's rows in the
coordinates where ``X'X`` is the identity), the CR2 adjusted score and the
Bell-McCaffrey / Pustejovsky-Tipton degrees of freedom depend on cluster ``g`` only
through ``C_g = Y_g'Y_g = L'X_g'X_g L`` and ``u_g = Y_g'e_g = L'X_g'e_g`` (the
push-through identity ``Y' f(Y Y') = f(Y'Y) Y'``; see :mod:`dwp_eval._core.variance`).
So the in-memory path (which forms them from the rows of each cluster) and the Dask and
Spark paths (which add them up on the engine, :mod:`dwp_eval._core.engines`) finish with
this one function.

Absorbed fixed effects nested in the clusters (unit effects with units within
clusters) add leverage-one directions orthogonal to the demeaned ``X_g`` and ``e_g``:
``f`` is 0 on them and they drop out, so the blocks of the within-transformed design
give the same variance and degrees of freedom as the full dummy-variable model.

Formulas: Bell & McCaffrey (2002, *Survey Methodology* 28(2)) for the adjustment
``A_g = (I - H_gg)^{-1/2}``; Pustejovsky & Tipton (2018, *JBES* 36(4), eq. 11, working
model ``Phi = I``) for the degrees of freedom ``tr(Omega)^2 / tr(Omega^2)``,
``Omega = D - S'S``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cr2_factor", "cr2_from_blocks", "cr2_from_sums"]


def cr2_factor(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition ``C_g = U diag(lam) U'`` and ``f(lam)`` with
    ``f(t) = (1 - t)^{-1/2}`` (0 where ``1 - t < 1e-12``: leverage-one clusters, as
    estimatr)."""
    lam, U = np.linalg.eigh(C)
    one_minus = 1.0 - lam
    f = np.where(one_minus > 1e-12, 1.0 / np.sqrt(np.clip(one_minus, 1e-300, None)), 0.0)
    return lam, U, f


def cr2_from_blocks(L: np.ndarray, C: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CR2 covariance ``L (sum_g t_g t_g') L'`` (``t_g = f(C_g) u_g``) and the
    Satterthwaite degrees of freedom of every coefficient, from ``C`` (``G x k x k``) and
    ``u`` (``G x k``) as defined in the module docstring."""
    k = L.shape[0]
    A = L.T  # contrasts of every coefficient: a_j = L' e_j
    t_sum = np.zeros((k, k))
    G = C.shape[0]
    d = np.zeros((G, k))
    s_norm2 = np.zeros((G, k))
    ss = np.zeros((k, k, k))
    for g in range(G):
        lam, U, f = cr2_factor(C[g])
        t = U @ (f * (U.T @ u[g]))
        t_sum += np.outer(t, t)
        Ua = U.T @ A
        lam_c = np.clip(lam, 0.0, None)
        d[g] = np.sum((f**2 * lam_c)[:, None] * Ua**2, axis=0)
        s = U @ ((f * lam_c)[:, None] * Ua)
        s_norm2[g] = np.sum(s**2, axis=0)
        ss += np.einsum("aj,bj->jab", s, s)
    V = L @ t_sum @ L.T
    tr_omega = d.sum(axis=0) - s_norm2.sum(axis=0)
    frob = np.einsum("jab,jab->j", ss, ss)
    tr_omega2 = np.sum(d**2, axis=0) - 2 * np.sum(d * s_norm2, axis=0) + frob
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = tr_omega**2 / tr_omega2
    return V, dof


def cr2_from_sums(xtx_g: np.ndarray, xte_g: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cr2_from_blocks` from the per-cluster sums in the data's own coordinates:
    ``X_g'X_g`` (``G x k x k``) and ``X_g'e_g`` (``G x k``), with ``L L' = (X'X)^{-1}``."""
    C = np.einsum("ab,gbc,cd->gad", L.T, xtx_g, L)
    return cr2_from_blocks(L, (C + C.transpose(0, 2, 1)) / 2, xte_g @ L)
