"""The variance of the blocked difference in means as the assignment coefficient of
the saturated regression (assignment fully interacted with centred stratum dummies,
Lin 2013), computed from cell sums: no ``n x strata`` dummy matrix.

The regression of ``y`` on assignment interacted with the (weighted-mean-centred)
dummies of ``B`` strata spans the ``2B`` stratum-by-arm cells, so its fitted values
are the (weighted) cell means ``ybar_c``, its residuals ``e_i = y_i - ybar_c``, its
leverages ``h_i = w_i / W_c`` (``W_c``: the cell's sum of weights), and its
assignment coefficient is the blocked estimate ``sum_b (W_b / W) (ybar_b1 -
ybar_b0)``, a linear function ``sum_i a_i y_i`` of the outcome with
``a_i = s_c (W_b / W) w_i / W_c`` (``s_c = +1`` treated, ``-1`` control). The
sandwich variances of that coefficient are then sums over people, clusters and
cells (White 1980; MacKinnon & White 1985; Liang & Zeger 1986):

* classical: ``s^2 sum_i a_i^2 / w_i`` with ``s^2 = sum_i w_i e_i^2 / (n - 2B)``;
* HC0-HC3: ``sum_i a_i^2 e_i^2 omega(h_i)``, ``omega`` 1, 1 (times
  ``n / (n - 2B)``), ``1 / (1 - h_i)`` or ``1 / (1 - h_i)^2``; df ``n - 2B``;
* CR0/CR1: ``sum_g (sum_{i in g} a_i e_i)^2`` (CR1 times ``G/(G-1) (n-1)/(n-2B)``);
  df ``G - 1``;
* CR2 (unweighted; Bell & McCaffrey 2002): ``H_gg`` is block diagonal over the
  cells that cluster ``g`` touches, each block ``1 1' / n_c`` of rank one with
  eigenvalue ``lambda_gc = m_gc / n_c`` (``m_gc`` people of ``g`` in cell ``c``), so
  ``(I - H_gg)^{-1/2}`` scales the within-cell mean of the residuals by
  ``f_gc = (1 - lambda_gc)^{-1/2}`` (0 where ``1 - lambda < 1e-12``, as estimatr) and
  the adjusted score is ``t_g = sum_c a_c f_gc E_gc`` (``E_gc``: the sum of the
  residuals of ``g`` in ``c``). The Satterthwaite df (Pustejovsky & Tipton 2018,
  eq. 11, working model ``Phi = I``) is ``tr(Omega)^2 / tr(Omega^2)`` with
  ``Omega = diag(d) - Q Q'``, ``d_g = sum_c f_gc^2 a_c^2 m_gc`` and
  ``q_gc = f_gc a_c m_gc / sqrt(n_c)``, a sparse ``G x 2B`` matrix.

These are the numbers the regression with explicit dummies gives (checked to
1e-10 in ``tests/test_saturated.py``), in O(n) memory and time. Weighted CR2 has
no such cell form here and is left to the caller.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dwp_eval._core.variance import hc_weights

__all__ = ["saturated_blocked"]


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Consecutive codes ``0..K-1`` of ``values`` and ``K``."""
    uniq, inv = np.unique(np.asarray(values), return_inverse=True)
    return inv.astype(np.int64).ravel(), len(uniq)


def saturated_blocked(
    y: np.ndarray,
    z: np.ndarray,
    strata: np.ndarray,
    *,
    se_type: str,
    cluster: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[float, float, float, int | None]:
    """Coefficient, SE, df and number of clusters of the assignment in the saturated
    (Lin 2013) regression on stratum dummies, from cell sums (module docstring).

    ``se_type`` is a canonical name (``classical``, ``HC0``-``HC3``, ``CR0``-``CR2``);
    every stratum must hold both arms (the caller checks). Weighted CR2 has no cell
    form: the caller uses the regression with dummies, and passing it raises
    ``ValueError``.
    """
    y = np.asarray(y, dtype=float)
    treated = np.asarray(z) == 1
    n = len(y)
    sb, B = _codes(strata)
    cell = 2 * sb + treated.astype(np.int64)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    Wc = np.bincount(cell, weights=w, minlength=2 * B)
    ybar = np.bincount(cell, weights=w * y, minlength=2 * B) / Wc
    e = y - ybar[cell]
    Wb = Wc[0::2] + Wc[1::2]
    share = Wb / Wb.sum()
    coef = float(np.sum(share * (ybar[1::2] - ybar[0::2])))
    sign = np.where(np.arange(2 * B) % 2 == 1, 1.0, -1.0)
    a_cell = sign * np.repeat(share, 2) / Wc  # a_i = a_cell[c] * w_i
    a = a_cell[cell] * w
    k = 2 * B
    dof = float(n - k)
    if se_type == "classical":
        s2 = float(np.sum(w * e**2)) / dof
        return coef, float(np.sqrt(s2 * np.sum(a**2 / w))), dof, None
    if se_type in ("HC0", "HC1", "HC2", "HC3"):
        h = w / Wc[cell]
        v = float(np.sum(a**2 * e**2 * hc_weights(se_type, h)))
        if se_type == "HC1":
            v *= n / dof
        return coef, float(np.sqrt(v)), dof, None
    if cluster is None:
        raise ValueError(f"saturated_blocked: se_type {se_type!r} needs cluster codes")
    cg, G = _codes(cluster)
    if se_type in ("CR0", "CR1"):
        t = np.bincount(cg, weights=a * e, minlength=G)
        v = float(np.sum(t**2))
        if se_type == "CR1":
            v *= G / (G - 1) * (n - 1) / dof
        return coef, float(np.sqrt(v)), float(G - 1), G
    if weights is not None:
        raise ValueError("saturated_blocked: weighted CR2 has no cell form (use the regression with dummies)")
    # CR2: one entry per (cluster, cell) pair present
    pair, first = np.unique(cg * k + cell, return_inverse=True)
    m = np.bincount(first, minlength=len(pair)).astype(float)
    E = np.bincount(first, weights=e, minlength=len(pair))
    g_of, c_of = pair // k, pair % k
    n_c = Wc[c_of]  # unweighted: people in the cell
    one_minus = 1.0 - m / n_c
    f = np.where(one_minus > 1e-12, 1.0 / np.sqrt(np.clip(one_minus, 1e-300, None)), 0.0)
    ac = a_cell[c_of]
    t = np.bincount(g_of, weights=ac * f * E, minlength=G)
    v = float(np.sum(t**2))
    d = np.bincount(g_of, weights=f**2 * ac**2 * m, minlength=G)
    q = sp.csr_matrix((f * ac * m / np.sqrt(n_c), (g_of, c_of)), shape=(G, k))
    q_norm2 = np.asarray(q.multiply(q).sum(axis=1)).ravel()
    small = (q @ q.T) if G <= k else (q.T @ q)  # the same nonzero spectrum
    frob = float(small.multiply(small).sum())
    tr = float(d.sum() - q_norm2.sum())
    tr2 = float(np.sum(d**2) - 2 * np.sum(d * q_norm2) + frob)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = tr**2 / tr2 if tr2 > 0 else float("nan")
    return coef, float(np.sqrt(v)), float(df), G
