"""Cluster-robust variances from per-cluster blocks ``X_g'X_g`` and ``X_g'e_g`` only, for
data whose rows stay on an engine (Dask, Spark): no row and no ``n_g x n_g`` matrix.

CR2 (Bell & McCaffrey 2002) with the push-through identity of
:mod:`dwp_eval._core.variance`: with ``X'X = R'R``, ``L = R^{-1}`` and
``C_g = L' X_g'X_g L`` (the cluster's leverage block in ``X R^{-1}`` coordinates),
``X_g'(I - H_gg)^{-1/2} e_g = L^{-T} U f(Lambda) U' L' X_g'e_g`` with
``C_g = U Lambda U'`` and ``f(t) = (1 - t)^{-1/2}`` (``0`` where ``1 - t < 1e-12``, as
estimatr for leverage-one clusters). The Satterthwaite degrees of freedom of each
coefficient are ``tr(Omega)^2 / tr(Omega^2)``, ``Omega = D - S'S`` (Pustejovsky & Tipton
2018, *JBES* 36(4), eq. 11, working model ``Phi = I``), from the same ``C_g``.

Absorbed fixed effects nested in the clusters (unit effects with units within
clusters) add leverage-one directions orthogonal to the demeaned ``X_g`` and ``e_g``:
``f`` is 0 on them and they drop out, so the blocks of the within-transformed design
give the same variance and degrees of freedom as the full dummy-variable model.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cr2_from_blocks"]


def cr2_from_blocks(xtx_g: np.ndarray, xte_g: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance (``k x k``) and the Satterthwaite df of each coefficient from the
    per-cluster ``X_g'X_g`` (``G x k x k``), ``X_g'e_g`` (``G x k``) and ``L = R^{-1}``
    (``X'X = R'R``)."""
    G, k = xte_g.shape
    A = L.T  # columns: the contrasts L'e_j of every coefficient
    t_sum = np.zeros((k, k))
    d = np.zeros((G, k))
    s_norm2 = np.zeros((G, k))
    ss = np.zeros((k, k, k))
    for g in range(G):
        C = L.T @ xtx_g[g] @ L
        lam, U = np.linalg.eigh((C + C.T) / 2)
        one_minus = 1.0 - lam
        f = np.where(one_minus > 1e-12, 1.0 / np.sqrt(np.clip(one_minus, 1e-300, None)), 0.0)
        v = U @ (f * (U.T @ (L.T @ xte_g[g])))
        t_sum += np.outer(v, v)
        Ua = U.T @ A
        lam_c = np.clip(lam, 0.0, None)
        d[g] = np.sum((f**2 * lam_c)[:, None] * Ua**2, axis=0)
        s = U @ ((f * lam_c)[:, None] * Ua)
        s_norm2[g] = np.sum(s**2, axis=0)
        ss += np.einsum("aj,bj->jab", s, s)
    V = L @ t_sum @ L.T
    tr = d.sum(axis=0) - s_norm2.sum(axis=0)
    frob = np.einsum("jab,jab->j", ss, ss)
    tr2 = np.sum(d**2, axis=0) - 2 * np.sum(d * s_norm2, axis=0) + frob
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = tr**2 / tr2
    return V, dof
