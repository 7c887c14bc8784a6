"""Heteroskedasticity- and cluster-robust variance estimators: one lookup table.

=============  ==========================  ===============================================
name           aliases                     variance (``M = (X'X)^{-1}``, ``e`` residuals)
=============  ==========================  ===============================================
classical      ``iid``, ``homoskedastic``  ``s^2 M``, ``s^2 = e'e / (n - p)``
HC0            ``robust``                  ``M X' diag(e_i^2) X M`` (White 1980)
HC1            ``stata`` (no cluster)      HC0 times ``n / (n - p)``
HC2            ``neyman``                  ``e_i^2 / (1 - h_ii)`` (MacKinnon & White 1985)
HC3                                        ``e_i^2 / (1 - h_ii)^2``
CR0                                        ``M (sum_g X_g' e_g e_g' X_g) M`` (Liang & Zeger 1986)
CR1            ``stata`` (cluster)         CR0 times ``G/(G-1) (n-1)/(n-p)``
CR2            ``bell_mccaffrey``          ``X_g' A_g e_g`` with ``A_g = (I - H_gg)^{-1/2}``
                                           (Bell & McCaffrey 2002)
=============  ==========================  ===============================================

``p`` counts all estimated parameters, absorbed fixed effects included.
Degrees of freedom: ``n - p`` for classical and HC types; ``G - 1`` for CR0
and CR1; for CR2 the Bell-McCaffrey / Pustejovsky-Tipton Satterthwaite
degrees of freedom of each coefficient (what clubSandwich's
``coef_test(test = "Satterthwaite")`` and estimatr's ``lm_robust`` report).

CR2 is computed without forming any ``n_g x n_g`` matrix. With ``X'X = R'R``,
``L = R^{-1}`` and ``Y_g = [Z_g, X_g L]`` (``Z_g``: the rows' loadings on the
absorbed fixed-effect directions), ``H_gg = Y_g Y_g'`` has rank at most
``k + m_g``, and the push-through identity ``Y' f(Y Y') = f(Y'Y) Y'`` moves
every matrix function to the small matrix ``C_g = Y_g'Y_g``:
``X_g' A_g e_g = L^{-T} P f(C_g) Y_g' e_g`` with ``f(t) = (1 - t)^{-1/2}``
(``0`` where ``1 - t < 1e-12``, as estimatr does for leverage-one clusters).
The Satterthwaite degrees of freedom for a contrast ``c`` are
``tr(Omega)^2 / tr(Omega^2)`` with ``Omega = D - S'S`` (Pustejovsky & Tipton
2018, *JBES* 36(4), eq. 11 with working model ``Phi = I``), where
``D_gg = a' f(C_g)^2 C_g a``, ``s_g = f(C_g) C_g a`` and ``a = L'c`` padded with
zeros on the fixed-effect coordinates; ``tr(Omega^2)`` needs only
``sum_g s_g s_g'``, a small matrix, never the ``G x G`` one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from dwp_eval._core.cluster_blocks import cr2_factor, cr2_from_blocks
from dwp_eval._core.degeneracy import check_residuals
from dwp_eval._core.linalg import BLOCK_ROWS, OLSFit
from dwp_eval._validation import closest
from dwp_eval.errors import DesignError, OptionError

__all__ = [
    "SE_TYPES",
    "BatchedWald",
    "VcovResult",
    "cluster_sums",
    "hc_weights",
    "resolve_se_type",
    "unclustered_se_type",
    "vcov",
]


@dataclass(frozen=True)
class VcovResult:
    """A covariance matrix with the degrees of freedom of each coefficient."""

    vcov: np.ndarray
    df: np.ndarray
    se_type: str
    n_clusters: int | None

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))


@dataclass(frozen=True)
class SEType:
    """An entry of the lookup table."""

    name: str
    clustered: bool
    aliases: tuple[str, ...]
    compute: Callable[[OLSFit, np.ndarray | None], VcovResult]
    doc: str


def hc_weights(se_type: str, h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Per-row weight ``w_i`` of ``e_i^2`` in the HC meat: 1 (HC0, HC1),
    ``1 / (1 - h_ii)`` (HC2) or ``1 / (1 - h_ii)^2`` (HC3); 0 for leverage-one
    rows, as estimatr does. ``out``: an array to write them into."""
    if se_type in ("HC0", "HC1"):
        if out is None:
            return np.ones_like(h)
        out[...] = 1.0
        return out
    w = np.subtract(1.0, h, out=out)
    if se_type != "HC2":
        np.square(w, out=w)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.reciprocal(w, out=w)
    bad = ~np.isfinite(w)
    if bad.any():
        w[bad] = 0.0
    return w


def _cluster_loadings(
    xl: np.ndarray, fe: np.ndarray | None, scale: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """``Y_g = [Z_g, (X R^{-1})_g]`` for the rows of one cluster (``Z_g``: the rows'
    loadings on their absorbed strata's mean directions), the strata the cluster
    touches and their number ``m``."""
    if fe is None or scale is None:
        return xl, np.zeros(0, dtype=np.int64), 0
    strata_g, inv = np.unique(fe, return_inverse=True)
    m = len(strata_g)
    Z = np.zeros((len(xl), m))
    Z[np.arange(len(xl)), inv] = scale
    return np.hstack([Z, xl]), strata_g, m


def _classical(fit: OLSFit, cluster: np.ndarray | None) -> VcovResult:
    dof = fit.n - fit.rank
    s2 = float(fit.resid @ fit.resid) / dof
    return VcovResult(s2 * fit.bread, np.full(fit.k, float(dof)), "classical", None)


def _hc(kind: str) -> Callable[[OLSFit, np.ndarray | None], VcovResult]:
    def compute(fit: OLSFit, cluster: np.ndarray | None) -> VcovResult:
        # M X' Omega X M = L (XL' Omega XL) L', accumulated over blocks of rows of
        # XL = X L (no n x k temporary; the leverages come from the same blocks)
        meat = np.zeros((fit.k, fit.k))
        for rows, xl, h in fit.leverage_blocks():
            omega = fit.resid[rows] ** 2 * hc_weights(kind, h)
            meat += xl.T @ (xl * omega[:, None])
        v = fit.L @ meat @ fit.L.T
        dof = fit.n - fit.rank
        if kind == "HC1":
            v = v * fit.n / dof
        return VcovResult(v, np.full(fit.k, float(dof)), kind, None)

    return compute


def _need_clusters(cluster: np.ndarray | None, se_type: str) -> np.ndarray:
    """The cluster codes a cluster-robust type needs (an explicit check, not an
    ``assert``: it must hold under ``python -O`` too)."""
    if cluster is None:
        raise DesignError(
            f"vcov: se_type {se_type!r} is cluster-robust and needs cluster codes, but none were "
            "given. Fix: pass cluster=, or use an HC type."
        )
    return cluster


def _cluster_index(cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Row order grouped by cluster and the group boundaries."""
    order = np.argsort(cluster, kind="stable")
    c = cluster[order]
    bounds = np.flatnonzero(np.r_[True, c[1:] != c[:-1], True])
    return order, bounds, len(bounds) - 1


def cluster_sums(values: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Sums of the rows of ``values`` (``n`` or ``n x k``) within each cluster code
    ``0..G-1`` (``G x k``; clusters in code order)."""
    values = np.asarray(values, dtype=float)
    squeeze = values.ndim == 1
    v2 = values[:, None] if squeeze else values
    order, bounds, _ = _cluster_index(cluster)
    out = np.add.reduceat(v2[order], bounds[:-1], axis=0)
    return out[:, 0] if squeeze else out


def _cr01(kind: str) -> Callable[[OLSFit, np.ndarray | None], VcovResult]:
    def compute(fit: OLSFit, cluster: np.ndarray | None) -> VcovResult:
        cluster = _need_clusters(cluster, kind)
        U = cluster_sums(fit.X * fit.resid[:, None], cluster)
        G = U.shape[0]
        v = fit.bread @ (U.T @ U) @ fit.bread
        if kind == "CR1":
            v = v * (G / (G - 1)) * ((fit.n - 1) / (fit.n - fit.rank))
        return VcovResult(v, np.full(fit.k, float(G - 1)), kind, G)

    return compute


def _cr2_weighted(fit: OLSFit, cluster: np.ndarray) -> VcovResult:
    """CR2 for weighted least squares with working model ``Phi = I`` on the
    original scale, as clubSandwich (``inverse_var = FALSE``) and estimatr do.

    With ``H = X M X'W``, the adjustment is ``A_g = G_g^{-1/2}``, where
    ``G_g = [(I - H)(I - H)']_gg = I + B_g K B_g'`` with ``B_g = [X_g, W_g X_g]``
    and ``K = [[N, -M], [-M, 0]]``, ``N = M X'W^2X M`` (Pustejovsky & Tipton
    2018, eq. 7 with ``Phi = I``). ``G_g`` is the identity plus a matrix of rank
    at most ``2k``, so its inverse square root is formed in that subspace.
    Degrees of freedom: ``Omega = D + Gamma' K Gamma`` with ``D_gg = p_g'p_g``,
    ``p_g = A_g W_g X_g M c`` and ``gamma_g = [X_g'p_g; X_g'W_g p_g]``.
    """
    if fit.sqrt_w is None:
        raise DesignError("vcov: the weighted CR2 variance needs a weighted fit (fit_ols(weights=...)).")
    order, bounds, G = _cluster_index(cluster)
    k = fit.k
    sw = fit.sqrt_w
    w = sw**2
    X = fit.X / sw[:, None]
    e = fit.resid / sw
    M = fit.bread
    N = M @ ((X * (w**2)[:, None]).T @ X) @ M
    K = np.block([[N, -M], [-M, np.zeros((k, k))]])
    est_sum = np.zeros((k, k))
    d = np.zeros((G, k))
    fdiag = np.zeros((G, k))
    S = np.zeros((k, 2 * k, 2 * k))
    for g in range(G):
        rows = order[bounds[g] : bounds[g + 1]]
        Xg = X[rows]
        WXg = Xg * w[rows][:, None]
        B = np.hstack([Xg, WXg])
        Ub, sv, _ = np.linalg.svd(B, full_matrices=False)
        Q = Ub[:, sv > 1e-12 * max(1.0, float(sv.max(initial=0.0)))]
        T = Q.T @ B
        small = np.eye(Q.shape[1]) + T @ K @ T.T
        mu, V = np.linalg.eigh((small + small.T) / 2)
        gmu = np.where(mu > 1e-12, 1.0 / np.sqrt(np.clip(mu, 1e-300, None)), 0.0)
        Phi = (V * gmu) @ V.T - np.eye(Q.shape[1])
        eg = e[rows]
        Ae = eg + Q @ (Phi @ (Q.T @ eg))
        est = WXg.T @ Ae
        est_sum += np.outer(est, est)
        BM = WXg @ M  # n_g x k contrasts
        P = BM + Q @ (Phi @ (Q.T @ BM))
        d[g] = np.sum(P**2, axis=0)
        gam = np.vstack([Xg.T @ P, WXg.T @ P])  # 2k x k
        fdiag[g] = np.einsum("aj,ab,bj->j", gam, K, gam)
        S += np.einsum("aj,bj->jab", gam, gam)
    V = M @ est_sum @ M
    tr = d.sum(axis=0) + fdiag.sum(axis=0)
    KS = np.einsum("ab,jbc->jac", K, S)
    frob = np.einsum("jab,jba->j", KS, KS)
    tr2 = np.sum(d**2, axis=0) + 2 * np.sum(d * fdiag, axis=0) + frob
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = tr**2 / tr2
    return VcovResult(V, dof, "CR2", G)


def _cr2(fit: OLSFit, cluster: np.ndarray | None) -> VcovResult:
    cluster = _need_clusters(cluster, "CR2")
    if fit.sqrt_w is not None:
        if fit.fe_codes is not None:
            raise DesignError(
                "CR2 with weights and absorbed strata is not supported; pass the strata as "
                "dummy covariates instead."
            )
        return _cr2_weighted(fit, cluster)
    order, bounds, G = _cluster_index(cluster)
    k = fit.k
    L = np.linalg.inv(fit.R)  # upper triangular, (X'X)^{-1} = L L'
    if fit.fe_codes is None:
        # each cluster enters through two small sums only (what Dask and Spark add up too)
        C = np.empty((G, k, k))
        u = np.empty((G, k))
        XL = fit.XL
        for g in range(G):
            rows = order[bounds[g] : bounds[g + 1]]
            C[g] = XL[rows].T @ XL[rows]
            u[g] = XL[rows].T @ fit.resid[rows]
        V, dof = cr2_from_blocks(L, C, u)
        return VcovResult(V, dof, "CR2", G)
    A = L.T  # columns a_j = L' e_j: the contrasts of every coefficient
    XL = fit.XL
    e = fit.resid
    has_fe = fit.fe_codes is not None
    fe = fit.fe_codes
    n_fe_groups = int(fe.max()) + 1 if has_fe and fe is not None else 0

    t_sum = np.zeros((k, k))  # sum_g t_g t_g' (adjusted scores in L-coordinates)
    d = np.zeros((G, k))  # D_gg per contrast
    s_norm2 = np.zeros((G, k))  # ||s_g||^2 per contrast
    ss_x = np.zeros((k, k, k))  # per contrast j: sum_g s_g^X s_g^X'
    zs = np.zeros((n_fe_groups, k, k)) if has_fe else None  # per stratum: sum z_g s_g^X' (contrast last)
    zz_diag = np.zeros((n_fe_groups, k)) if has_fe else None
    zz_dense: dict[tuple[int, int], np.ndarray] = {}
    nested = True
    for g in range(G):
        rows = order[bounds[g] : bounds[g + 1]]
        eg = e[rows]
        Y, strata_g, m = _cluster_loadings(
            XL[rows], None if not has_fe or fe is None else fe[rows],
            None if fit.fe_scale is None else fit.fe_scale[rows],
        )
        lam, U, f = cr2_factor(Y.T @ Y)
        u = Y.T @ eg
        v = U @ (f * (U.T @ u))
        t = v[m:]
        t_sum += np.outer(t, t)
        # degrees of freedom, all k contrasts at once
        Ua = U[m:, :].T @ A  # (m+k) x k: U' a_hat for each contrast
        lam_c = np.clip(lam, 0.0, None)
        d[g] = np.sum((f**2 * lam_c)[:, None] * Ua**2, axis=0)
        s = U @ ((f * lam_c)[:, None] * Ua)  # (m+k) x k
        s_norm2[g] = np.sum(s**2, axis=0)
        sx = s[m:, :]
        ss_x += np.einsum("aj,bj->jab", sx, sx)
        if m:
            zs, zz_diag = cast(np.ndarray, zs), cast(np.ndarray, zz_diag)  # has_fe: both arrays
            sz = s[:m, :]  # m x k
            for i, st in enumerate(strata_g):
                zs[st] += np.einsum("j,aj->aj", sz[i], sx)
                zz_diag[st] += sz[i] ** 2
            if m > 1:
                nested = False
                for i, si in enumerate(strata_g):
                    for jj, sj in enumerate(strata_g):
                        if i != jj:
                            key = (int(si), int(sj))
                            zz_dense[key] = zz_dense.get(key, np.zeros(k)) + sz[i] * sz[jj]
    V = L @ t_sum @ L.T
    tr_omega = d.sum(axis=0) - s_norm2.sum(axis=0)
    frob = np.einsum("jab,jab->j", ss_x, ss_x)
    if has_fe and zs is not None and zz_diag is not None:
        frob = frob + 2 * np.einsum("saj,saj->j", zs, zs) + np.sum(zz_diag**2, axis=0)
        if not nested:
            for val in zz_dense.values():
                frob = frob + val**2
    tr_omega2 = np.sum(d**2, axis=0) - 2 * np.sum(d * s_norm2, axis=0) + frob
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = tr_omega**2 / tr_omega2
    return VcovResult(V, dof, "CR2", G)


SE_TYPES: dict[str, SEType] = {
    "classical": SEType("classical", False, ("iid", "homoskedastic", "const"), _classical,
                        "Homoskedastic OLS variance."),
    "HC0": SEType("HC0", False, ("robust", "hc0"), _hc("HC0"), "White (1980)."),
    "HC1": SEType("HC1", False, ("hc1",), _hc("HC1"), "HC0 with n/(n-p) (Stata's robust)."),
    "HC2": SEType("HC2", False, ("hc2", "neyman"), _hc("HC2"),
                  "Leverage-adjusted (MacKinnon & White 1985); Neyman variance for a difference in means."),
    "HC3": SEType("HC3", False, ("hc3",), _hc("HC3"), "Jackknife-like (MacKinnon & White 1985)."),
    "CR0": SEType("CR0", True, ("cr0",), _cr01("CR0"), "Liang & Zeger (1986)."),
    "CR1": SEType("CR1", True, ("cr1",), _cr01("CR1"), "CR0 with G/(G-1)(n-1)/(n-p) (Stata)."),
    "CR2": SEType("CR2", True, ("cr2", "bell_mccaffrey", "bm"), _cr2,
                  "Bell & McCaffrey (2002) with Satterthwaite df (Pustejovsky & Tipton 2018)."),
}


def resolve_se_type(
    se_type: str | None, *, clustered: bool, func: str, design_types: tuple[str, ...] = ()
) -> str:
    """Canonical name for ``se_type`` (``None``: HC2, or CR2 when clustered).

    Names and aliases match whatever their case, spaces, ``-`` or ``_``
    (``"hc2"``, ``"Stata"``, ``"Bell-McCaffrey"``). ``"stata"`` means HC1
    without clusters and CR1 with them, as in estimatr. ``design_types`` are
    the labels of a design-based variance that are also accepted (and returned
    as spelled there, e.g. ``"neyman (blocked)"``). A name that is unknown, or
    that does not fit the design (an HC type with clusters, a CR type without),
    raises :class:`OptionError` listing only the names valid for this design
    and suggesting the closest of them.
    """
    if se_type is None:
        return "CR2" if clustered else "HC2"
    if not isinstance(se_type, str):
        raise OptionError(
            f"The 'se_type' parameter of {func} must be a string such as 'HC2'. Got {se_type!r} instead."
        )

    def norm(name: str) -> str:
        return "".join(ch for ch in name.lower() if ch not in " -_")

    key = norm(se_type)
    for label in design_types:
        if key == norm(label):
            return label
    if key == "stata":
        return "CR1" if clustered else "HC1"
    found = next(
        (name for name, e in SE_TYPES.items() if key in {norm(name), *map(norm, e.aliases)}), None
    )
    fitting = [n for n, e in SE_TYPES.items() if e.clustered == clustered]
    valid = list(dict.fromkeys([*design_types, *fitting]))
    listed = ", ".join(map(repr, valid))
    if found is None:
        # suggest only names (or aliases) valid for this design
        spelled = {norm(a): a for n in fitting for a in SE_TYPES[n].aliases}
        spelled.update({norm(n): n for n in valid})  # a name before its lower-case alias
        spelled["stata"] = "stata"
        guess = closest(key, list(spelled))
        hint = f" Did you mean {spelled[guess]!r}?" if guess else ""
        raise OptionError(
            f"The 'se_type' parameter of {func} must be one of {listed} (or 'stata'). "
            f"Got {se_type!r} instead.{hint}"
        )
    if SE_TYPES[found].clustered != clustered:
        if clustered:
            raise OptionError(
                f"The 'se_type' parameter of {func} is {se_type!r}, which ignores the clusters. "
                f"With cluster= use one of {listed}."
            )
        raise OptionError(
            f"The 'se_type' parameter of {func} is {se_type!r}, a cluster-robust type, but no "
            f"cluster= was given. Fix: pass cluster=, or use one of {listed}."
        )
    return found


def unclustered_se_type(se_type: str, *, func: str) -> bool:
    """Whether ``se_type`` names a variance that ignores clusters (an HC type or
    classical), so that a result clustered for the variance only is re-estimated
    without them. ``"stata"`` is CR1 with clusters (False); unknown names are
    False (the caller's own check then lists the valid ones)."""
    try:
        resolve_se_type(se_type, clustered=True, func=func)
    except OptionError:
        try:
            resolve_se_type(se_type, clustered=False, func=func)
        except OptionError:
            return False
        return True
    return False


def vcov(
    fit: OLSFit, se_type: str, cluster: np.ndarray | None = None, *, outcome: str | None = None,
    func: str = "vcov", scale: float | None = None,
) -> VcovResult:
    """Covariance of the coefficients of ``fit`` by the named estimator.

    ``cluster`` holds integer cluster codes (one per row) for cluster-robust types.
    When ``fit`` is the regression of an outcome (``outcome`` given: its name), the
    degeneracy rule applies first: residuals that vanish to rounding raise
    :class:`NotEstimableError` (:func:`check_residuals`). Fits of other things
    (a first stage, a balance regression of assignment) pass no ``outcome``;
    ``scale`` is the raw outcome's size when ``fit`` saw it demeaned.
    """
    if outcome is not None:
        check_residuals(fit, outcome=outcome, func=func, scale=scale)
    entry = SE_TYPES[se_type]
    if entry.clustered:
        if cluster is None:
            raise DesignError(f"vcov: se_type {se_type!r} needs cluster codes.")
        if len(np.unique(cluster)) < 2:
            raise DesignError("vcov: cluster-robust variance needs at least two clusters.")
    return entry.compute(fit, cluster)


# ------------------------------------------------------------ batched: many outcomes


def _cr_operators(fit: OLSFit, se_type: str, order: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Rows ``T_i`` (n x k, in cluster order) with ``t_g = sum_{i in g} T_i e_i`` the
    cluster's (adjusted) score in ``X R^{-1}`` coordinates.

    CR0/CR1: ``T_i = (X R^{-1})_i``. CR2: ``T_g = [f(C_g) Y_g']`` restricted to the
    covariate coordinates, with ``Y_g = [Z_g, (X R^{-1})_g]``, ``C_g = Y_g'Y_g`` and
    ``f(t) = (1 - t)^{-1/2}`` (0 where ``1 - t < 1e-12``): the same push-through
    form of ``X_g' (I - H_gg)^{-1/2}`` as :func:`vcov`'s CR2.
    """
    XL = fit.XL[order]
    if se_type != "CR2":
        return np.asarray(XL)
    fe = None if fit.fe_codes is None else fit.fe_codes[order]
    scale = None if fit.fe_scale is None else fit.fe_scale[order]
    out = np.empty_like(XL)
    for g in range(len(bounds) - 1):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        Y, _, m = _cluster_loadings(
            XL[lo:hi], None if fe is None else fe[lo:hi], None if scale is None else scale[lo:hi]
        )
        _, U, f = cr2_factor(Y.T @ Y)
        T = (U * f) @ (U.T @ Y.T)  # (m + k) x n_g
        out[lo:hi] = T[m:, :].T
    return out


@dataclass(frozen=True, eq=False)
class BatchedWald:
    """The Wald statistic of the covariate coefficients for many outcomes at once.

    Built once from the fit of the observed assignment: the design (covariates,
    strata) is the same for every re-drawn assignment, so only ``D`` (draws x
    people) changes. With ``XL = X R^{-1}`` (the covariates demeaned within
    strata), a row ``d`` of ``D`` has coefficients ``b = R^{-1} g`` with
    ``g = XL'd``, residuals ``e = d - S(S'S)^{-1}S'd - XL g`` and covariance
    ``R^{-1} K R^{-T} c``, so ``W = g' K^{-1} g / c``: ``K = sum_i w_i e_i^2 XL_i XL_i'``
    (HC), ``sum_g t_g t_g'`` with ``t_g = sum_{i in g} T_i e_i`` (CR), or
    ``(e'e / (n - p)) I`` (classical); ``c`` is the HC1/CR1 factor.
    """

    XL: np.ndarray
    stratum: np.ndarray
    strata_t: sp.csr_matrix
    stratum_size: np.ndarray
    kind: str
    hc_weight: np.ndarray | None
    operators: np.ndarray | None
    order: np.ndarray | None
    bounds: np.ndarray | None
    factor: float
    dof: float

    @classmethod
    def build(
        cls, fit: OLSFit, se_type: str, strata: np.ndarray, cluster: np.ndarray | None
    ) -> BatchedWald:
        n = fit.n
        n_strata = int(strata.max()) + 1
        S_t = sp.csr_matrix((np.ones(n), (strata, np.arange(n))), shape=(n_strata, n))
        dof = float(n - fit.rank)
        hc_weight = operators = order = bounds = None
        factor = 1.0
        if se_type == "classical":
            kind = "classical"
        elif not SE_TYPES[se_type].clustered:
            kind = "hc"
            hc_weight = hc_weights(se_type, fit.leverage())
            if se_type == "HC1":
                factor = n / dof
        else:
            kind = "cr"
            order, bounds, G = _cluster_index(_need_clusters(cluster, se_type))
            operators = _cr_operators(fit, se_type, order, bounds)
            if se_type == "CR1":
                factor = (G / (G - 1)) * ((n - 1) / dof)
        return cls(
            XL=np.asarray(fit.XL),
            stratum=strata,
            strata_t=S_t,
            stratum_size=np.bincount(strata, minlength=n_strata),
            kind=kind,
            hc_weight=hc_weight,
            operators=operators,
            order=order,
            bounds=bounds,
            factor=factor,
            dof=dof,
        )

    def residuals(self, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients ``g`` (B x k, in ``XL`` coordinates) and residuals (B x n) of the
        rows of ``D`` (B x n: one assignment per row)."""
        means = np.asarray(self.strata_t @ D.T).T / self.stratum_size[None, :]  # B x S
        g = D @ self.XL
        E = D - means[:, self.stratum] - g @ self.XL.T
        return g, E

    def statistics(self, D: np.ndarray) -> np.ndarray:
        """The Wald statistic of each row of ``D`` (B x n, 0/1 or any numbers)."""
        g, E = self.residuals(np.asarray(D, dtype=float))
        B = E.shape[0]
        k = self.XL.shape[1]
        if self.kind == "classical":
            s2 = np.einsum("bi,bi->b", E, E) / self.dof
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray(np.einsum("bj,bj->b", g, g) / s2)
        if self.kind == "hc":
            hc_weight = cast(np.ndarray, self.hc_weight)  # set by build() for kind "hc"
            iu, ju = np.triu_indices(k)
            flat = np.zeros((B, len(iu)))
            for lo in range(0, E.shape[1], BLOCK_ROWS):
                hi = lo + BLOCK_ROWS
                xl = self.XL[lo:hi]
                flat += (E[:, lo:hi] ** 2 * hc_weight[None, lo:hi]) @ (xl[:, iu] * xl[:, ju])
            meat = np.empty((B, k, k))
            meat[:, iu, ju] = flat
            meat[:, ju, iu] = flat
        else:
            # set by build() for kind "cr"
            operators = cast(np.ndarray, self.operators)
            order, bounds = cast(np.ndarray, self.order), cast(np.ndarray, self.bounds)
            Eo = E[:, order]
            U = np.stack(
                [
                    np.add.reduceat(Eo * operators[None, :, j], bounds[:-1], axis=1)
                    for j in range(k)
                ],
                axis=2,
            )  # B x G x k
            meat = np.matmul(U.transpose(0, 2, 1), U)
        return _quadratic(meat, g) / self.factor


def _quadratic(meat: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``g_b' meat_b^{-1} g_b`` for each draw ``b``; ``inf`` where ``meat_b`` is singular."""
    try:
        sol = np.linalg.solve(meat, g[..., None])[..., 0]
        return np.asarray(np.einsum("bj,bj->b", g, sol))
    except np.linalg.LinAlgError:
        out = np.empty(len(g))
        for b in range(len(g)):
            try:
                out[b] = float(g[b] @ np.linalg.solve(meat[b], g[b]))
            except np.linalg.LinAlgError:
                out[b] = np.inf
        return out

