""":func:`~dwp_eval.cace` on a Dask or Spark DataFrame: 2SLS from sums the engine adds up.

With ``W = [1, z, covariates]`` (covariates centred, additive in both stages) and
``gamma`` the first-stage coefficients, the second-stage design is ``X2 = W T`` (``T``:
the identity with the assignment column replaced by ``gamma``, so ``X2``'s receipt
column is the fitted receipt ``W gamma``). Hence every cross-product the 2SLS needs
follows from ``W'W``, ``W'y`` and ``W'd``: ``X2'X2 = T'W'WT``, ``X2'y = T'W'y``
(Wooldridge 2010, *Econometric Analysis of Cross Section and Panel Data*, 2nd ed.,
sec. 5.2). One more pass gives the HC meats of the first stage, reduced form, their sum
(the Anderson-Rubin covariance) and the IV (residuals ``y - [1, d, covariates] b`` on the
second-stage design, as :func:`dwp_eval.estimate.cace._fit_iv` forms them), or their
per-cluster blocks, finished by the shared variance core.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.cluster_blocks import cr2_from_sums
from dwp_eval._core.engines import kept, map_sums
from dwp_eval._core.engines.regression import Design, solve_normal, with_centre
from dwp_eval._core.variance import hc_weights, resolve_se_type
from dwp_eval._validation import check_alpha
from dwp_eval.errors import ColumnError, DesignError
from dwp_eval.estimate.engine_sample import check_sample_columns, engine_sample, refuse
from dwp_eval.estimate.iv_effect import IVFit, anderson_rubin, cace_effect, first_stage_rule
from dwp_eval.results import Effect

__all__ = ["cace_on_engine"]


def cace_on_engine(
    data: Any, engine: str, *, outcome: Hashable, assigned: Hashable, received: Hashable,
    control: Any, treatment: Any | None, covariates: Sequence[Hashable], strata: Any,
    cluster: Hashable | None, se_type: str | None, weights: Hashable | None, alpha: float,
    missing: str,
) -> Effect:
    """:func:`~dwp_eval.cace` of a Dask or Spark DataFrame."""
    func = "cace"
    alpha = check_alpha(alpha, func=func)
    if strata is not None:
        raise refuse("'strata' parameter", engine, func)
    check_sample_columns(data, engine, func=func, outcome=outcome, assigned=assigned,
                         covariates=covariates, cluster=cluster, weights=weights,
                         extra=[received])
    used = resolve_se_type(se_type, clustered=cluster is not None, func=func)
    if cluster is not None and weights is not None and used == "CR2":
        raise refuse("weighted CR2 variance (weights= with cluster=)", engine, func)
    with kept(data, [outcome, assigned, received, *covariates, cluster, weights]) as rows:
        design, totals, dropped = engine_sample(
            rows, engine, func=func, outcome=outcome, assigned=assigned, control=control,
            treatment=treatment, covariates=covariates, cluster=cluster, weights=weights,
            missing=missing, extra=[received],
        )
        design = with_centre(design, totals)
        p_t, p_c = _take_up(rows, design, received, func=func)
        try:
            fit, n_clusters, role = _fit(rows, design, used, alpha=alpha, engine=engine, func=func)
        except np.linalg.LinAlgError:
            raise DesignError(
                f"{func}: the regressions of {outcome!r} and {received!r} on assignment and the "
                f"covariates {list(map(str, covariates))} are singular (a covariate is constant "
                "among the compared people, or a combination of the others). Fix: drop the "
                "redundant covariate."
            ) from None
    common: dict[str, Any] = dict(
        outcome=str(outcome), treatment=design.treatment_key, control=design.control_key,
        alpha=alpha, n_obs=int(totals["n1"] + totals["n0"]),
        n_by_arm={design.control_key: int(totals["n0"]), design.treatment_key: int(totals["n1"])},
        control_mean=float(totals["wy0"] / totals["w0"]),
        treatment_mean=float(totals["wy1"] / totals["w1"]), se_type=used,
        design="clustered" if role == "design" else "standard",
        covariates=tuple(str(c) for c in covariates), n_clusters=n_clusters, n_strata=None,
        binary_outcome=bool(totals["nonbinary"] == 0), dropped=dropped, cluster_role=role,
        assigned=str(assigned),
    )
    options = {"received": str(received), "alpha": alpha, "covariates": common["covariates"]}
    res = cace_effect(fit, p_t=p_t, p_c=p_c, options=options, used=used, design=common["design"],
                      n_strata=None, weighted=weights is not None, cluster_role=role,
                      common=common, refit=None, itt_refit=None)
    return replace(res, method=res.method + f"; computed on {engine.capitalize()}")


def _take_up(rows: Any, design: Design, received: Hashable, *, func: str) -> tuple[float, float]:
    """Receipt must be 0/1; take-up by arm (weighted), and the first-stage rule."""
    names = ["bad", "wd1", "w1", "wd0", "w0", "n_one", "n_zero"]

    def sums(chunk: pd.DataFrame) -> pd.DataFrame:
        X, _, w, keep = design.arrays(chunk)
        d = chunk[received].to_numpy(dtype=float)[keep]
        ww = np.ones(len(d)) if w is None else w
        z = X[:, 1] == 1
        bad = float(np.sum((d != 0) & (d != 1)))
        # receipt constant for everyone: no 0s or no 1s (counted, as the engine adds)
        return pd.DataFrame([[bad, np.sum((ww * d)[z]), np.sum(ww[z]), np.sum((ww * d)[~z]),
                              np.sum(ww[~z]), float(np.sum(d == 1)), float(np.sum(d == 0))]],
                            columns=names)

    s = map_sums(rows, design.columns, sums, names).iloc[0]
    if s["bad"]:
        raise ColumnError(
            f"{func}: column {received!r} (received) must hold 0/1 (1 = received the programme "
            f"or similar provision); {int(s['bad']):,} row(s) hold other values. Fix: recode it "
            f"to 0/1, e.g. (df[{received!r}] > 0).astype(int)."
        )
    p_t, p_c = float(s["wd1"] / s["w1"]), float(s["wd0"] / s["w0"])
    constant = 1.0 if s["n_zero"] == 0 else 0.0 if s["n_one"] == 0 else None
    first_stage_rule(p_t, p_c, constant, received, design.treatment_key, design.control_key, func)
    return p_t, p_c


def _fit(rows: Any, design: Design, used: str, *, alpha: float, engine: str,
         func: str) -> tuple[IVFit, int | None, str | None]:
    k = design.k
    jz = 1
    received = design.extra[0]
    iu = np.triu_indices(k)
    n_tri = len(iu[0])
    names = [f"xx_{i}" for i in range(n_tri)] + [f"xy_{j}" for j in range(k)] + [f"xd_{j}" for j in range(k)] + ["n"]

    def arrays(chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        X, y, w, keep = design.arrays(chunk)
        d = chunk[received].to_numpy(dtype=float)[keep]
        ww = np.ones(len(y)) if w is None else w
        return X, y, d, ww, keep

    def cross(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, d, ww, _ = arrays(chunk)
        WX = X * ww[:, None]
        return pd.DataFrame([np.r_[(WX.T @ X)[iu], WX.T @ y, WX.T @ d, len(y)]], columns=names)

    s = map_sums(rows, design.columns, cross, names).iloc[0].to_numpy()
    WtW = np.zeros((k, k))
    WtW[iu] = s[:n_tri]
    WtW = WtW + np.triu(WtW, 1).T
    Wty, Wtd, n = s[n_tri : n_tri + k], s[n_tri + k : n_tri + 2 * k], int(s[-1])
    both, M, L = solve_normal(WtW, np.column_stack([Wty, Wtd]))
    # one step of iterative refinement of both regressions
    ref_names = [f"ry_{j}" for j in range(k)] + [f"rd_{j}" for j in range(k)]

    def refine(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, d, ww, _ = arrays(chunk)
        WX = X * ww[:, None]
        return pd.DataFrame([np.r_[WX.T @ (y - X @ both[:, 0]), WX.T @ (d - X @ both[:, 1])]],
                            columns=ref_names)

    r = map_sums(rows, design.columns, refine, ref_names).iloc[0].to_numpy()
    both = both + M @ np.column_stack([r[:k], r[k:]])
    g_y, g_d = both[:, 0], both[:, 1]
    gd, gy = float(g_d[jz]), float(g_y[jz])
    if abs(gd) <= 1e-10:
        raise DesignError(
            f"{func}: the CACE is not identified: after adjusting for the covariates and strata, "
            f"assignment does not change receipt (first-stage coefficient {gd:.3g}). Fix: drop "
            "covariates that predict assignment, or report the ITT."
        )
    T = np.eye(k)
    T[:, jz] = g_d
    b2, M2, L2 = solve_normal(T.T @ WtW @ T, (T.T @ Wty)[:, None])
    beta = b2[:, 0]

    def residuals(X: np.ndarray, y: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
        actual = X.copy()
        actual[:, jz] = d
        return {"rf": y - X @ g_y, "fs": d - X @ g_d, "iv": y - actual @ beta}

    if design.cluster is None:
        meat_names = [f"{a}_{i}" for a in ("rf", "fs", "sum", "iv") for i in range(n_tri)] + [
            f"ee_{a}" for a in ("rf", "fs", "sum", "iv")]

        def meats(chunk: pd.DataFrame) -> pd.DataFrame:
            X, y, d, ww, _ = arrays(chunk)
            e = residuals(X, y, d)
            e["sum"] = e["rf"] + e["fs"]
            X2 = X @ T
            hw = ww * np.einsum("ij,jk,ik->i", X, M, X)
            h2 = ww * np.einsum("ij,jk,ik->i", X2, M2, X2)
            kind = "HC0" if used == "classical" else used
            out = []
            for a in ("rf", "fs", "sum", "iv"):
                Z, h = (X2, h2) if a == "iv" else (X, hw)
                om = (ww * e[a]) ** 2 * hc_weights(kind, h)
                out.append((Z.T @ (Z * om[:, None]))[iu])
            ees = [np.sum(ww * e[a] ** 2) for a in ("rf", "fs", "sum", "iv")]
            return pd.DataFrame([np.r_[np.concatenate(out), ees]], columns=meat_names)

        m = map_sums(rows, design.columns, meats, meat_names).iloc[0].to_numpy()
        V: dict[str, np.ndarray] = {}
        for i, a in enumerate(("rf", "fs", "sum", "iv")):
            B = np.zeros((k, k))
            B[iu] = m[i * n_tri : (i + 1) * n_tri]
            B = B + np.triu(B, 1).T
            Mi = M2 if a == "iv" else M
            if used == "classical":
                V[a] = Mi * (m[4 * n_tri + i] / (n - k))
            else:
                V[a] = Mi @ B @ Mi * (n / (n - k) if used == "HC1" else 1.0)
        df = {a: float(n - k) for a in ("rf", "fs", "iv")}
        n_clusters, role, df_den = None, None, float(n - k)
    else:
        V, df, n_clusters, role = _clustered(rows, design, used, arrays, residuals, T, M, L, M2, L2,
                                             n=n, engine=engine)
        df_den = float(n_clusters - 1)
    vyy, vdd = float(V["rf"][jz, jz]), float(V["fs"][jz, jz])
    vyd = (float(V["sum"][jz, jz]) - vyy - vdd) / 2
    fs_se = float(np.sqrt(max(vdd, 0.0)))
    fs_f = (gd / fs_se) ** 2 if fs_se > 1e-12 * abs(gd) else float("inf")
    fit = IVFit(
        estimate=float(beta[jz]), std_error=float(np.sqrt(max(V["iv"][jz, jz], 0.0))),
        df=df["iv"], fs_coef=gd, fs_se=fs_se, fs_df=df["fs"], fs_f=fs_f, fs_df_den=df_den,
        rf_coef=gy, rf_se=float(np.sqrt(max(vyy, 0.0))), rf_df=df["rf"],
        ar=anderson_rubin(gy, gd, vyy, vyd, vdd, df["rf"], alpha), n_clusters=n_clusters,
    )
    return fit, n_clusters, role


def _clustered(rows: Any, design: Design, used: str, arrays: Any, residuals: Any, T: np.ndarray,
               M: np.ndarray, L: np.ndarray, M2: np.ndarray, L2: np.ndarray, *, n: int,
               engine: str) -> tuple[dict[str, np.ndarray], dict[str, float], int, str]:
    """Per-cluster blocks: ``W_g'W_g`` and the scores ``W_g'e_g`` of the reduced form and
    first stage and ``X2_g'e_g`` of the IV; CR0/CR1, or CR2 with its df from the blocks."""
    k = design.k
    iu = np.triu_indices(k)
    n_tri = len(iu[0])
    key = str(design.cluster)
    names = ([f"u{a}_{j}" for a in ("rf", "fs", "iv") for j in range(k)]
             + [f"c_{i}" for i in range(n_tri)] + ["n", "z"])

    def blocks(chunk: pd.DataFrame) -> pd.DataFrame:
        X, y, d, ww, keep = arrays(chunk)
        e = residuals(X, y, d)
        labels = chunk[design.cluster].to_numpy()[keep]
        codes, uniq = pd.factorize(labels, sort=False)
        G = len(uniq)
        out = np.empty((G, len(names)))
        WX = X * ww[:, None]
        X2w = (X @ T) * ww[:, None]
        # column by column: one row-length temporary at a time
        for i, (a, Z) in enumerate((("rf", WX), ("fs", WX), ("iv", X2w))):
            for j in range(k):
                out[:, i * k + j] = np.bincount(codes, weights=Z[:, j] * e[a], minlength=G)
        for i, (a0, a1) in enumerate(zip(*iu, strict=True)):
            out[:, 3 * k + i] = np.bincount(codes, weights=X[:, a0] * X[:, a1], minlength=G)
        out[:, -2] = np.bincount(codes, minlength=G)
        out[:, -1] = np.bincount(codes, weights=X[:, 1], minlength=G)
        res = pd.DataFrame(out, columns=names)
        res.insert(0, key, uniq)
        return res

    key_type = "string" if engine == "dask" else rows.schema[key].dataType.simpleString()
    b = map_sums(rows, design.columns, blocks, names, key=key, key_type=key_type)
    G = len(b)
    role = "variance" if ((b["z"] > 0) & (b["z"] < b["n"])).any() else "design"
    U = {a: b[[f"u{a}_{j}" for j in range(k)]].to_numpy() for a in ("rf", "fs", "iv")}
    U["sum"] = U["rf"] + U["fs"]
    V: dict[str, np.ndarray] = {}
    df: dict[str, float] = {}
    if used in ("CR0", "CR1"):
        scale = (G / (G - 1)) * ((n - 1) / (n - k)) if used == "CR1" else 1.0
        for a, Ua in U.items():
            Mi = M2 if a == "iv" else M
            V[a] = Mi @ (Ua.T @ Ua) @ Mi * scale
            df[a] = float(G - 1)
        return V, df, G, role
    tri = b[[f"c_{i}" for i in range(n_tri)]].to_numpy()
    C = np.zeros((G, k, k))
    C[:, iu[0], iu[1]] = tri
    C = C + np.triu(C, 1).transpose(0, 2, 1)
    C2 = np.einsum("ab,gbc,cd->gad", T.T, C, T)  # X2_g'X2_g = T'W_g'W_g T
    for a, Ua in U.items():
        V[a], dof = cr2_from_sums(C2, Ua, L2) if a == "iv" else cr2_from_sums(C, Ua, L)
        df[a] = float(dof[1])
    return V, df, G, role
