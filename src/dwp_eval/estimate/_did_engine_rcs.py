"""``did(unit=None)`` on a Dask or Spark DataFrame: the 2x2 from repeated cross-sections.

The pandas path regresses the outcome on the treated-group indicator, ``group x post``
and any covariates with period effects absorbed (Frisch-Waugh-Lovell: every column
demeaned within its period). On an engine:

1. by period: counts and sums of ``(y, group, D, x)``, so the period means;
2. with those means broadcast, each row's demeaned ``(y, x)``: ``X'X``, ``X'y``, ``y'y``
   (per cluster when clustered: the CR0/CR1 blocks, as :mod:`._did_engine`), and the
   group-by-period cells of ``group_means``;
3. unclustered only, with ``beta`` broadcast: the HC meats ``sum_i w_i e_i^2 x_i x_i'`` for
   HC0/HC1 (``w = 1``), HC2 (``1/(1-h_i)``) and HC3 (``1/(1-h_i)^2``), the leverage
   ``h_i = x_i'(X'X)^{-1}x_i + 1/n_t`` including the absorbed period effect (MacKinnon &
   White 1985; as :mod:`dwp_eval._core.variance`), and the residual sum of squares.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla

from dwp_eval._core.contract import Frozen, Refit
from dwp_eval._core.degeneracy import check_residuals
from dwp_eval._core.engines import check_engine_columns, columns, map_sums, require
from dwp_eval._core.engines.groups import distinct, dropna, min_max, select
from dwp_eval._core.linalg import OLSFit, check_full_rank
from dwp_eval._core.panel import (
    check_finite_result,
    check_periods,
    check_post_periods,
    check_two_clusters,
    check_varies,
    sorted_codes,
    warn_dropped,
)
from dwp_eval._core.variance import resolve_se_type
from dwp_eval.errors import OptionError
from dwp_eval.estimate._did_means import group_means_frame
from dwp_eval.estimate._engine_checks import (
    MissingRule,
    check_values,
    engine_numeric,
    group_means_from_sums,
    unsupported,
)
from dwp_eval.results import Effect

__all__ = ["did_rcs_engine"]


@dataclass(frozen=True, eq=False)
class EngineRcs(Frozen):
    """What a repeated-cross-section DiD on an engine keeps for :meth:`Effect.with_se`."""

    beta: np.ndarray
    bread: np.ndarray
    n: int
    rank: int
    rss: float
    meats: Mapping[str, np.ndarray]  # HC0, HC2, HC3 (unclustered)
    xtx: np.ndarray | None  # G x k x k (clustered)
    xty: np.ndarray | None
    fields: Mapping[str, Any]


def _effect(stats: EngineRcs, options: Mapping[str, Any], se_name: str) -> Effect:
    n, rank, bread = stats.n, stats.rank, stats.bread
    G = None
    if se_name == "classical":
        v, df = stats.rss / (n - rank) * bread, float(n - rank)
    elif se_name in ("HC0", "HC1", "HC2", "HC3"):
        v = bread @ stats.meats["HC0" if se_name == "HC1" else se_name] @ bread
        if se_name == "HC1":
            v = v * n / (n - rank)
        df = float(n - rank)
    else:
        if stats.xtx is None or stats.xty is None:  # pragma: no cover - resolve_se_type refuses
            raise OptionError(f"Effect.with_se: se_type={se_name!r} needs clusters.")
        scores = stats.xty - np.einsum("gab,b->ga", stats.xtx, stats.beta)
        G = scores.shape[0]
        v = bread @ (scores.T @ scores) @ bread
        if se_name == "CR1":
            v = v * (G / (G - 1)) * ((n - 1) / (n - rank))
        df = float(G - 1)
    f = dict(stats.fields)
    est, se = float(stats.beta[1]), float(np.sqrt(max(v[1, 1], 0.0)))
    check_finite_result([est, se], f["outcome"], func="did")
    return Effect(
        estimand="ATT", outcome=f["outcome"], treatment="treated", control="comparison",
        estimate=est, std_error=se, df=df, alpha=options["alpha"], n_obs=n,
        n_by_arm=dict(f["n_by_arm"]), control_mean=f["control_mean"],
        treatment_mean=f["treatment_mean"], se_type=se_name, design="repeated cross-sections",
        method=f["method"], covariates=tuple(f["covariates"]), n_clusters=G,
        binary_outcome=f["binary"], notes=(), dropped=dict(f["dropped"]),
        _refit=Refit(refit_rcs, stats, options), _group_means=f["group_means"],
    )


def refit_rcs(stats: EngineRcs, options: Mapping[str, Any], *, se_type: str, cluster: Any = None) -> Effect:
    """:meth:`Effect.with_se` of an engine DiD on repeated cross-sections: the other
    variances of the same clustering (HC types and classical, or CR0/CR1)."""
    func = "Effect.with_se"
    if cluster is not None:
        raise OptionError(
            f"{func}: new clusters for a did() estimated on a Dask or Spark DataFrame are not "
            "supported (the rows stay on the engine). Fix: call did(..., cluster=...) again.")
    se_name = resolve_se_type(se_type, clustered=stats.xtx is not None, func=func)
    if se_name == "CR2":
        raise OptionError(
            f"{func}: se_type='CR2' for a did(unit=None) on a Dask or Spark DataFrame is not "
            "supported. Fix: bring the data into memory (data.compute() or data.toPandas()).")
    return _effect(stats, options, se_name)


def did_rcs_engine(
    data: Any, engine: str, *, outcome: Hashable, time: Hashable, treated: Hashable,
    post: Hashable | None, covariates: list[Hashable], cluster: Hashable | None, se_type: str | None,
    alpha: float, missing: str,
) -> Effect:
    """:func:`dwp_eval.did` with ``unit=None`` on a Dask or Spark DataFrame."""
    func = "did"
    require(engine, func=func)
    if post is None:
        raise OptionError(
            f"The 'post' parameter of {func} is needed with unit=None (repeated "
            "cross-sections): without units, the treated group and the periods after the "
            "change must be given. Fix: pass treated= (the group) and post= (0/1 after)."
        )
    se_name = resolve_se_type("stata" if se_type is None else se_type, clustered=cluster is not None,
                              func=func)
    if se_name == "CR2":
        raise unsupported("se_type='CR2' with unit=None", engine, func)
    roles = [(outcome, "outcome"), (time, "time"), (treated, "treated"), (post, "post"),
             *[(c, "covariates") for c in covariates], (cluster, "cluster")]
    roles = [(c, r) for c, r in roles if c is not None]
    have = columns(data)
    for c, r in roles:
        check_engine_columns(have, {r: c}, param="data", func=func)
    cols = list(dict.fromkeys(c for c, _ in roles))
    frame_all = select(data, cols)
    engine_numeric(frame_all, [(c, r) for c, r in roles if r in ("outcome", "treated", "post", "covariates")],
                   func=func)
    rule = MissingRule(roles, droppable=("outcome", "covariates"), missing=missing, func=func)
    frame = dropna(frame_all, rule.drop_cols)
    covs, q = list(covariates), len(covariates)
    tvals = distinct(frame, time)
    tcodes, tlev = sorted_codes(tvals, column=time, role="time", func=func)
    check_periods(len(tlev), time, func=func)
    tindex = pd.Index(tvals.to_numpy()[np.argsort(tcodes)])
    cindex = None if cluster is None else pd.Index(distinct(frame, cluster).to_numpy())
    T = len(tlev)

    def rows(chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t = np.asarray(tindex.get_indexer(chunk[time]), dtype=np.int64)
        y = chunk[outcome].to_numpy(dtype=float)
        gr = chunk[treated].to_numpy(dtype=float)
        p = chunk[post].to_numpy(dtype=float)
        X = np.column_stack([gr, gr * p, *[chunk[c].to_numpy(dtype=float) for c in covs]])
        return t, y, gr, p, X

    # ---- pass 1: by period
    def by_period(chunk: pd.DataFrame) -> pd.DataFrame:
        counts, ok = rule.counts(chunk)
        t, y, gr, p, X = rows(chunk)
        out: dict[str, Any] = {"_t": np.where(ok, t, -1), "n": np.ones(len(chunk)), **counts, "y": y,
                               "p": p, "y_g1": y * gr, "n_g1": gr,
                               "bad_y": (~np.isfinite(y)).astype(float),
                               "nonbinary_y": ((y != 0) & (y != 1)).astype(float),
                               "bad_tr": ((gr != 0) & (gr != 1)).astype(float),
                               "bad_p": ((p != 0) & (p != 1)).astype(float)}
        for a in range(X.shape[1]):
            out[f"x{a}"] = X[:, a]
        for j, c in enumerate(covs):
            out[f"badx{j}"] = (~np.isfinite(chunk[c].to_numpy(dtype=float))).astype(float)
        return pd.DataFrame(out)

    k = 2 + q
    outs1 = ["n", "y", "p", "y_g1", "n_g1", "bad_y", "nonbinary_y", "bad_tr", "bad_p",
             *[f"x{a}" for a in range(k)], *[f"badx{j}" for j in range(q)]]
    B_all = map_sums(frame_all, cols, by_period, [*outs1, *rule.outs], key="_t")
    dropped = rule.verdict(B_all[rule.outs].sum())
    if not dropped:
        frame = frame_all
    B = B_all.reindex(range(T), fill_value=0.0)
    check_values(B, outcome=outcome, treated=treated, post=post, covs=covs, func=func)
    ylo, yhi = min_max(frame, outcome)
    check_varies(np.array([ylo, yhi]), outcome, func=func)
    nt = B["n"].to_numpy()
    p_t = B["p"].to_numpy() / nt
    check_post_periods(p_t, post=post, time=time, func=func)
    if cindex is not None:
        check_two_clusters(len(cindex), cluster, func=func)
    means_t = np.column_stack([B["y"].to_numpy(), *[B[f"x{a}"].to_numpy() for a in range(k)]]) / nt[:, None]
    ng1, yg1, yt = B["n_g1"].to_numpy(), B["y_g1"].to_numpy(), B["y"].to_numpy()
    cell = np.zeros((2, 2))
    for po in (0, 1):
        sel = p_t == po
        cell[1, po] = yg1[sel].sum() / ng1[sel].sum()
        cell[0, po] = (yt[sel] - yg1[sel]).sum() / (nt[sel] - ng1[sel]).sum()

    # ---- pass 2: cross-products of the period-demeaned rows (per cluster when clustered)
    def demeaned(chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t, y, gr, _, X = rows(chunk)
        return t, y - means_t[t, 0], X - means_t[t, 1:], gr, y

    def blocks(chunk: pd.DataFrame) -> pd.DataFrame:
        t, yd, Xd, gr, y = demeaned(chunk)
        out: dict[str, Any] = {"n": np.ones(len(chunk)), "yy": yd * yd}
        if cindex is not None:
            out["_c"] = np.asarray(cindex.get_indexer(chunk[cluster]), dtype=np.int64)
        for a in range(k):
            out[f"xy{a}"] = Xd[:, a] * yd
            for bb in range(a, k):
                out[f"xx{a}_{bb}"] = Xd[:, a] * Xd[:, bb]
        pp = p_t[t]
        for gg in (0, 1):
            for po in (0, 1):
                m = (gr == gg) & (pp == po)
                out[f"n{gg}{po}"] = m.astype(float)
                out[f"s{gg}{po}"] = np.where(m, y, 0.0)
                out[f"ss{gg}{po}"] = np.where(m, (y - cell[gg, po]) ** 2, 0.0)
        return pd.DataFrame(out)

    iu, ju = np.triu_indices(k)
    xx_names = [f"xx{a}_{bb}" for a, bb in zip(iu, ju, strict=True)]
    gm_names = [f"{w}{gg}{po}" for w in ("n", "s", "ss") for gg in (0, 1) for po in (0, 1)]
    outs2 = ["n", "yy", *[f"xy{a}" for a in range(k)], *xx_names, *gm_names]
    P = map_sums(frame, cols, blocks, outs2, key=None if cindex is None else "_c")
    xtx_g = np.zeros((len(P), k, k))
    xtx_g[:, iu, ju] = P[xx_names].to_numpy()
    xtx_g[:, ju, iu] = P[xx_names].to_numpy()
    xty_g = P[[f"xy{a}" for a in range(k)]].to_numpy()
    xtx, xty = xtx_g.sum(axis=0), xty_g.sum(axis=0)
    names = ["treated_group", "treated:post", *map(str, covs)]
    ev, V = np.linalg.eigh(xtx)
    check_full_rank((V * np.sqrt(np.clip(ev, 0, None))).T, names, func=func)
    R = sla.cholesky(xtx, lower=False)
    beta = sla.cho_solve((R, False), xty)
    L, _ = sla.lapack.dtrtri(np.asarray(R, dtype=float), lower=0)
    bread = L @ L.T
    n = int(P["n"].sum())
    rank = k + int(np.sum(nt > 0))
    rss = float(P["yy"].sum() - 2 * beta @ xty + beta @ xtx @ beta)

    # ---- pass 3 (unclustered): HC meats and the residual sum of squares
    meats: dict[str, np.ndarray] = {}
    if cindex is None:
        def hc(chunk: pd.DataFrame) -> pd.DataFrame:
            t, yd, Xd, _, _ = demeaned(chunk)
            e = yd - Xd @ beta
            h = np.einsum("ia,ab,ib->i", Xd, bread, Xd) + 1.0 / nt[t]
            with np.errstate(divide="ignore", invalid="ignore"):
                w2 = np.where(1.0 - h > 0, 1.0 / (1.0 - h), 0.0)
            w2 = np.where(np.isfinite(w2), w2, 0.0)
            out: dict[str, Any] = {"ee": e * e}
            for name, w in (("0", 1.0), ("2", w2), ("3", w2**2)):
                we = w * e * e
                for a, bb in zip(iu, ju, strict=True):
                    out[f"m{name}_{a}_{bb}"] = we * Xd[:, a] * Xd[:, bb]
            return pd.DataFrame(out)

        mnames = {s: [f"m{s}_{a}_{bb}" for a, bb in zip(iu, ju, strict=True)] for s in ("0", "2", "3")}
        H = map_sums(frame, cols, hc, ["ee", *[c for v in mnames.values() for c in v]]).iloc[0]
        rss = float(H["ee"])
        for s, cs in mnames.items():
            m = np.zeros((k, k))
            m[iu, ju] = H[cs].to_numpy()
            m[ju, iu] = H[cs].to_numpy()
            meats[f"HC{s}"] = m
    ymax = max(abs(ylo), abs(yhi))
    fake = OLSFit(X=np.zeros((n, 0)), y=np.zeros(0), names=tuple(names), beta=beta,
                  resid=np.array([np.sqrt(max(rss, 0.0))]), R=R, bread=bread, L=L, sqrt_w=None,
                  fe_codes=None, fe_scale=None, n_fe=rank - k, y_scale=ymax)
    check_residuals(fake, outcome=str(outcome), func=func, scale=ymax)  # rss and n only
    # ---- group means
    if cindex is not None:
        gm = group_means_from_sums(P, cell)
    else:
        per_group = []
        for gg in (0, 1):
            n0, n1 = int(P[f"n{gg}0"].sum()), int(P[f"n{gg}1"].sum())
            ss0, ss1 = float(P[f"ss{gg}0"].sum()), float(P[f"ss{gg}1"].sum())
            s0 = float(np.sqrt(ss0 / (n0 - 1)) / np.sqrt(n0)) if n0 > 1 else float("nan")
            s1 = float(np.sqrt(ss1 / (n1 - 1)) / np.sqrt(n1)) if n1 > 1 else float("nan")
            G = n0 + n1
            se = float(np.sqrt(G / (G - 1) * (ss1 / n1**2 + ss0 / n0**2))) if G > 1 else float("nan")
            per_group.append((n0, float(cell[gg, 0]), s0, n1, float(cell[gg, 1]), s1, se))
        gm = group_means_frame(per_group)
    warn_dropped(dropped, func=func, stacklevel=3)
    n_treated = int(ng1.sum())
    method = ("2x2 difference in differences; OLS of outcome on group, period effects and group x post"
              + (", covariates" if covs else ""))
    stats = EngineRcs(
        beta=beta, bread=bread, n=n, rank=rank, rss=rss, meats=meats,
        xtx=None if cindex is None else xtx_g, xty=None if cindex is None else xty_g,
        fields={"outcome": str(outcome), "n_by_arm": {"comparison": n - n_treated, "treated": n_treated},
                "control_mean": float(gm.loc[0, "mean_post"]), "treatment_mean": float(gm.loc[1, "mean_post"]),
                "method": method, "covariates": tuple(map(str, covs)),
                "binary": bool(B["nonbinary_y"].sum() == 0), "dropped": dict(dropped), "group_means": gm},
    )
    return _effect(stats, {"alpha": alpha}, se_name)
