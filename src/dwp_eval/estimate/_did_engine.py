"""``did`` on a Dask or Spark DataFrame: the two-way fixed effects estimate and its
cluster-robust variance from sums computed by the engine, finished on the driver.

A pass for the missing-value rule, then three passes over the rows
(:func:`dwp_eval._core.engines.map_sums`; the per-unit and per-cluster sums by
:func:`~dwp_eval._core.engines.keyed_sums`, gathered one piece at a time):

1. by unit, keyed by the unit's value: its rows, treatment and outcome per period (the
   unit-by-period incidence ``C``) and its sums of ``v = (y, D, x)``;
2. by period: counts and sums of ``v``; the treated group's outcome sums by period follow
   from pass 1's unit-by-period sums;
3. by cluster: every row's two-way demeaned ``v`` is formed exactly from the period effects
   ``g`` (a ``T``-row array sent with the tasks) and its unit's means of ``v`` and of
   ``g_t``, which the engine computes and joins to the rows itself
   (:func:`~dwp_eval._core.engines.with_key_means`: no array of every unit goes to the
   workers), and each cluster's ``X_g'X_g``, ``X_g'y_g`` and ``y_g'y_g`` added up.

The within transformation is the exact one of :mod:`dwp_eval._core.panel` (``M v = M_u v
- M_u D g``, ``(D'M_u D) g = D'M_u v``; the T x T matrix ``D'M_u D = diag(n_t) - C'
diag(1/n_i) C`` from the counts of pass 1), so the estimate equals the pandas path's to
rounding, on balanced and unbalanced panels. CR0 and CR1 need only the per-cluster
blocks: the score of cluster ``g`` is ``X_g'e_g = X_g'y_g - X_g'X_g beta`` (Liang & Zeger
1986; the CR1 factor ``G/(G-1) (n-1)/(n-K)`` as :func:`dwp_eval.did`). CR2, as the pandas
path, regresses the unit-demeaned outcome on the unit-demeaned treatment, covariates and
period indicators; pass 3 then also adds up that design's per-cluster blocks, from which
:func:`dwp_eval._core.cluster_blocks.cr2_from_sums` gives the Bell-McCaffrey variance
and its Satterthwaite degrees of freedom (units nested in the clusters).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.linalg as sla

from dwp_eval._core.cluster_blocks import cr2_from_sums
from dwp_eval._core.contract import Frozen, Refit
from dwp_eval._core.degeneracy import check_residuals
from dwp_eval._core.engines import (
    check_engine_columns,
    columns,
    keyed_sums,
    map_sums,
    require,
    with_key_means,
)
from dwp_eval._core.engines.groups import distinct, min_max, select
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
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    OptionError,
)
from dwp_eval.estimate._engine_checks import (
    check_values,
    engine_missing,
    engine_numeric,
    group_means_from_sums,
    unsupported,
)
from dwp_eval.results import Effect

__all__ = ["did_engine"]


def _codes(values: pd.Series, levels: pd.Index) -> np.ndarray:
    return np.asarray(levels.get_indexer(values), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class EngineDid(Frozen):
    """What a DiD estimate on an engine frame keeps: the per-cluster blocks of the
    demeaned regression and the numbers the result reports (frozen)."""

    xtx: np.ndarray  # G x k x k
    xty: np.ndarray  # G x k
    beta: np.ndarray
    bread: np.ndarray
    n: int
    rank: int
    names: tuple[str, ...]
    fields: Mapping[str, Any]
    # CR2: per-cluster blocks of the unit-demeaned design with period indicators (the
    # design of the pandas path's CR2), its coefficients and L = R^{-1}
    wtw: np.ndarray | None = None
    wte: np.ndarray | None = None
    w_beta: np.ndarray | None = None
    w_L: np.ndarray | None = None


def _effect(stats: EngineDid, options: Mapping[str, Any], se_name: str) -> Effect:
    """The :class:`Effect` of an engine DiD for the variance ``se_name`` (CR0 or CR1)."""
    G = stats.xty.shape[0]
    if se_name == "CR2":
        if stats.wtw is None or stats.wte is None or stats.w_beta is None or stats.w_L is None:
            raise OptionError(
                "Effect.with_se: se_type='CR2' for a did() on a Dask or Spark DataFrame needs the "
                "blocks of its own pass. Fix: call did(..., se_type='CR2') on the frame again.")
        v, dof = cr2_from_sums(stats.wtw, stats.wte, stats.w_L)
        est, df = float(stats.w_beta[0]), float(dof[0])
    else:
        scores = stats.xty - np.einsum("gab,b->ga", stats.xtx, stats.beta)  # X_g'e_g
        v = stats.bread @ (scores.T @ scores) @ stats.bread
        if se_name == "CR1":
            v = v * (G / (G - 1)) * ((stats.n - 1) / (stats.n - stats.rank))
        est, df = float(stats.beta[0]), float(G - 1)
    se = float(np.sqrt(max(v[0, 0], 0.0)))
    f = dict(stats.fields)
    check_finite_result([est, se], f["outcome"], func="did")
    return Effect(
        estimand="ATT", outcome=f["outcome"], treatment="treated", control="comparison",
        estimate=est, std_error=se, df=df, alpha=options["alpha"], n_obs=stats.n,
        n_by_arm=dict(f["n_by_arm"]), control_mean=f["control_mean"],
        treatment_mean=f["treatment_mean"], se_type=se_name, design=f["design"],
        method=f["method"], covariates=tuple(f["covariates"]), n_clusters=G,
        binary_outcome=f["binary"], notes=tuple(f["notes"]), dropped=dict(f["dropped"]),
        _refit=Refit(refit_engine, stats, options), _group_means=f["group_means"],
    )


def refit_engine(stats: EngineDid, options: Mapping[str, Any], *, se_type: str,
                 cluster: Any = None) -> Effect:
    """:meth:`Effect.with_se` of an engine DiD: CR0 or CR1 on the same clusters."""
    func = "Effect.with_se"
    if cluster is not None:
        raise OptionError(
            f"{func}: new clusters for a did() estimated on a Dask or Spark DataFrame are not "
            "supported (the rows stay on the engine). Fix: call did(..., cluster=...) again.")
    se_name = resolve_se_type(se_type, clustered=True, func=func)
    if se_name == "CR2" and stats.wtw is None:
        raise OptionError(
            f"{func}: se_type={se_type!r} for a did() estimated on a Dask or Spark DataFrame with "
            "another se_type is not supported (CR2 needs a pass of its own). Fix: call "
            "did(..., se_type='CR2') on the frame again, or Fix: bring the data into memory (data.compute() or "
            "data.toPandas()) and call did() on it.")
    return _effect(stats, options, se_name)


def did_engine(
    data: Any, engine: str, *, outcome: Hashable, unit: Hashable | None, time: Hashable,
    treated: Hashable, post: Hashable | None, covariates: list[Hashable], cluster: Hashable | None,
    se_type: str | None, alpha: float, missing: str,
) -> Effect:
    """:func:`dwp_eval.did` on a Dask or Spark DataFrame (panel, CR0/CR1)."""
    func = "did"
    require(engine, func=func)
    if unit is None:
        raise unsupported("unit=None (repeated cross-sections)", engine, func)
    se_name = resolve_se_type("stata" if se_type is None else se_type, clustered=True, func=func)
    if missing not in ("raise", "drop"):
        raise OptionError(f"The 'missing' parameter of {func} must be one of 'raise', 'drop'. "
                          f"Got {missing!r} instead.")
    roles = [(outcome, "outcome"), (unit, "unit"), (time, "time"), (treated, "treated"),
             (post, "post"), *[(c, "covariates") for c in covariates], (cluster, "cluster")]
    roles = [(c, r) for c, r in roles if c is not None]
    have = columns(data)
    for c, r in roles:
        check_engine_columns(have, {r: c}, param="data", func=func)
    frame = select(data, [c for c, _ in roles])
    engine_numeric(frame, [(c, r) for c, r in roles if r in ("outcome", "treated", "post", "covariates")],
                   func=func)
    # the missing-value rule in a pass of its own (the counts are global, the sums per unit)
    frame, dropped = engine_missing(frame, roles, droppable=("outcome", "covariates"), missing=missing,
                                    func=func)
    covs = list(covariates)
    tvals = distinct(frame, time)
    tcodes, tlev = sorted_codes(tvals, column=time, role="time", func=func)
    check_periods(len(tlev), time, func=func)
    tindex = pd.Index(tvals.to_numpy()[np.argsort(tcodes)])
    uindex = pd.Index(distinct(frame, unit).to_numpy())
    cindex = None if cluster is None else pd.Index(distinct(frame, cluster).to_numpy())
    N, T, q = len(uindex), len(tlev), len(covs)
    cols = list(dict.fromkeys(c for c, _ in roles))

    # ---- pass 1: by unit, keyed by the unit's value (no index of every unit goes to the
    # workers); each slice adds up its rows by unit with bincount (no row-length frame)
    def by_unit(chunk: pd.DataFrame) -> pd.DataFrame:
        codes, units = pd.factorize(chunk[unit], sort=False)
        G = len(units)
        t = _codes(chunk[time], tindex)

        def add(w: np.ndarray | None = None, where: np.ndarray | None = None) -> np.ndarray:
            c = codes if where is None else codes[where]
            ww = None if w is None else (w if where is None else w[where])
            return np.bincount(c, weights=ww, minlength=G).astype(float)

        tr = chunk[treated].to_numpy(dtype=float)
        y = chunk[outcome].to_numpy(dtype=float)
        out: dict[str, Any] = {"_u": units, "n": add()}
        for s in range(T):
            on = t == s
            out[f"c{s}"] = add(None, on)
            out[f"d{s}"] = add(tr, on)
            out[f"y{s}"] = add(y, on)
        out["tr"] = add(tr)
        out["y"] = add(y)
        xs = [chunk[c].to_numpy(dtype=float) for c in covs]
        for j, x in enumerate(xs):
            out[f"x{j}"] = add(x)
        out["bad_tr"] = add(((tr != 0) & (tr != 1)).astype(float))
        out["bad_y"] = add((~np.isfinite(y)).astype(float))
        out["nonbinary_y"] = add(((y != 0) & (y != 1)).astype(float))
        if post is not None:
            p = chunk[post].to_numpy(dtype=float)
            out["bad_p"] = add(((p != 0) & (p != 1)).astype(float))
        for j, x in enumerate(xs):
            out[f"badx{j}"] = add((~np.isfinite(x)).astype(float))
        if cindex is not None:
            cc = _codes(chunk[cluster], cindex).astype(float)
            out["cl"], out["cl2"] = add(cc), add(cc**2)
        return pd.DataFrame(out)

    outs1 = ["n", *[f"c{s}" for s in range(T)], *[f"d{s}" for s in range(T)], *[f"y{s}" for s in range(T)],
             "tr", "y",
             *[f"x{j}" for j in range(q)], "bad_tr", "bad_y",
             "nonbinary_y", *(["bad_p"] if post is not None else []), *[f"badx{j}" for j in range(q)],
             *(["cl", "cl2"] if cindex is not None else [])]
    # one row per unit in uindex's order, filled piece by piece: a panel of millions of
    # units never passes through one worker, nor through copies of a frame on the driver
    key_type = "string" if engine == "dask" else frame.schema[str(unit)].dataType.simpleString()
    A1 = pd.DataFrame(keyed_sums(frame, cols, by_unit, outs1, key="_u", index=uindex, key_type=key_type),
                      columns=outs1)
    check_values(A1, outcome=outcome, treated=treated, post=post, covs=covs, func=func)
    ylo, yhi = min_max(frame, outcome)
    check_varies(np.array([ylo, yhi]), outcome, func=func)
    C = A1[[f"c{s}" for s in range(T)]].to_numpy()
    cu = A1["n"].to_numpy()
    n = int(cu.sum())
    if (C > 1).any():
        bad = np.argwhere(C > 1)[:5]
        pairs = ", ".join(f"({uindex[i]!r}, {tlev[s]!r})" for i, s in bad)
        raise ColumnError(
            f"{func}: columns {unit!r} (unit) and {time!r} (time) must identify each row once, "
            f"but {int((C > 1).sum()):,} unit-period pair(s) appear more than once: {pairs}. Fix: "
            "keep one row per unit and period (e.g. aggregate people to area-month means first), "
            "or pass unit=None for repeated cross-sections."
        )
    obs = C > 0
    ct = C.sum(axis=0)
    if post is None:
        D = A1[[f"d{s}" for s in range(T)]].to_numpy()
        first = np.where((D > 0).any(axis=1), np.argmax(D > 0, axis=1), -1)
        later = np.arange(T)[None, :] > first[:, None]
        off = (first[:, None] >= 0) & later & obs & (D == 0)
        if off.any():
            bad_units = np.flatnonzero(off.any(axis=1))
            raise DesignError(
                f"{func}: column {treated!r} (treated) switches off: {len(bad_units):,} unit(s) are "
                f"treated in one period and untreated later (e.g. {_fmt_list(uindex[bad_units][:5], 5)}). "
                "Treatment that switches off is not supported: the estimators here assume that once "
                "treated a unit stays treated (staggered adoption). Fix: check the column, or code "
                "the first period of treatment as a cohort and keep units treated from then on."
            )
        group = (first >= 0).astype(float)
        starts = np.unique(first[first >= 0])
        p_t = (np.arange(T) >= starts[0]).astype(float) if len(starts) == 1 else None
    else:
        group = A1["tr"].to_numpy() / cu
        if np.any((group != 0) & (group != 1)):
            raise DesignError(
                f"{func}: with post= the column {treated!r} (treated) marks the treated group "
                f"and must be constant within each unit of {unit!r}, but it changes for some "
                "units. Fix: pass the group indicator, or drop post= and pass the 0/1 "
                "treatment status as treated=."
            )
        p_t = None
        D = None
    if cindex is not None:
        check_two_clusters(len(cindex), cluster, func=func)

    # ---- pass 2: by period (the treated group's sums come from pass 1's unit-period sums)
    def by_period(chunk: pd.DataFrame) -> pd.DataFrame:
        t = _codes(chunk[time], tindex)
        y = chunk[outcome].to_numpy(dtype=float)
        dd = chunk[treated].to_numpy(dtype=float)
        out: dict[str, Any] = {"_t": t, "n": np.ones(len(chunk)), "y": y, "y_d": y * dd, "n_d": dd}
        if post is not None:
            out["p"] = chunk[post].to_numpy(dtype=float)
        for j, c in enumerate(covs):
            out[f"x{j}"] = chunk[c].to_numpy(dtype=float)
        if cindex is not None:
            cc = _codes(chunk[cluster], cindex).astype(float)
            out["cl"], out["cl2"] = cc, cc**2
        return pd.DataFrame(out)

    outs2 = ["n", "y", "y_d", "n_d", *(["p"] if post is not None else []),
             *[f"x{j}" for j in range(q)], *(["cl", "cl2"] if cindex is not None else [])]
    B = map_sums(frame, cols, by_period, outs2, key="_t").reindex(range(T), fill_value=0.0)
    B["y_g1"] = A1[[f"y{s}" for s in range(T)]].to_numpy().T @ group  # the group's rows by period
    B["n_g1"] = C.T @ group
    if post is not None:
        ps = B["p"].to_numpy() / B["n"].to_numpy()
        check_post_periods(ps, post=post, time=time, func=func)
        p_t = ps
        D = group[:, None] * p_t[None, :] * obs
    D = cast(np.ndarray, D)  # set on both branches
    if not (D[obs] > 0).any():
        raise DesignError(f"{func}: no row is treated, so there is no effect to estimate.")
    if np.all(group == 1):
        raise DesignError(
            f"{func}: every unit is treated at some point and none serves as comparison; "
            "TWFE then compares early with late adopters only. Fix: add comparison units, "
            "or use staggered_did(control_group='not_yet_treated')."
        )

    # ---- the two-way transformation from the counts (as panel.twoway)
    unit_sums = np.column_stack([A1["y"].to_numpy(), D.sum(axis=1), *[A1[f"x{j}"].to_numpy() for j in range(q)]])
    vbar = unit_sums / cu[:, None]
    per_t = np.column_stack([B["y"].to_numpy(), (D.sum(axis=0)),
                             *[B[f"x{j}"].to_numpy() for j in range(q)]])
    b = per_t - C.T @ vbar
    A = np.diag(ct) - (C.T / cu[None, :]) @ C
    A = (A + A.T) / 2
    ev, V = np.linalg.eigh(A)
    tol = 1e-10 * max(1.0, float(ev.max(initial=0.0)))
    keep = ev > tol
    a_pinv = (V[:, keep] / ev[keep]) @ V[:, keep].T
    rank_time = int(keep.sum())
    g = a_pinv @ b
    # M v = v - (vbar_i - gi_i) - g_t, gi_i = (C g)_i / n_i: each unit's mean of g over its
    # periods, which the engine forms with its means of v (pass 3)

    # absorbed parameters (panel.absorbed_parameters): units / periods nested in the clusters
    if cindex is None:
        unit_in, time_in = True, bool(np.all((C > 0).sum(axis=0) <= 1))
    else:
        unit_in = bool(np.all(A1["cl2"].to_numpy() * cu == A1["cl"].to_numpy() ** 2))
        time_in = bool(np.all(B["cl2"].to_numpy() * B["n"].to_numpy() == B["cl"].to_numpy() ** 2))
    n_fe = (1 if unit_in and time_in else rank_time + 1 if unit_in else N if time_in else N + rank_time)
    cr2 = se_name == "CR2"
    if cr2 and not unit_in:
        raise unsupported("se_type='CR2' with clusters that cut across units", engine, func)

    # ---- pass 3: by cluster
    k = 1 + q
    pw = k + T - 1
    p_vec = np.zeros(T) if p_t is None else np.asarray(p_t, dtype=float)

    m = 2 + q  # v = (y, D, x)

    def row_values(chunk: pd.DataFrame) -> pd.DataFrame:
        # each row's numbers for pass 3, keyed by its unit; the engine adds each unit's means
        t = _codes(chunk[time], tindex)
        out: dict[str, Any] = {"_u": chunk[unit].to_numpy(), "t": t.astype(float),
                               "y": chunk[outcome].to_numpy(dtype=float),
                               "tr": chunk[treated].to_numpy(dtype=float)}
        for j, c in enumerate(covs):
            out[f"x{j}"] = chunk[c].to_numpy(dtype=float)
        out["p"] = p_vec[t]
        for j in range(m):
            out[f"g{j}"] = g[t, j]
        if cr2:
            for s in range(1, T):
                out[f"e{s}"] = (t == s).astype(float)
        if cindex is not None:
            out["c"] = _codes(chunk[cluster], cindex).astype(float)
        return pd.DataFrame(out)

    averaged = ["y", "tr", *[f"x{j}" for j in range(q)], "p", *[f"g{j}" for j in range(m)],
                *([f"e{s}" for s in range(1, T)] if cr2 else [])]
    values = [*averaged, "t", *(["c"] if cindex is not None else [])]
    rows3 = with_key_means(frame, cols, row_values, values, averaged, key="_u", key_type=key_type)

    def by_cluster(chunk: pd.DataFrame) -> pd.DataFrame:
        def col(name: str) -> np.ndarray:
            return chunk[name].to_numpy(dtype=float)

        t = col("t").astype(np.int64)
        y = col("y")
        m_tr = col("_m_tr")
        gr = (m_tr > 0).astype(float) if post is None else m_tr  # the unit's group
        dd = col("tr") if post is None else gr * col("p")
        v = np.column_stack([y, dd, *[col(f"x{j}") for j in range(q)]])
        vbar_r = np.column_stack([col("_m_y"), m_tr if post is None else gr * col("_m_p"),
                                  *[col(f"_m_x{j}") for j in range(q)]])
        gi_r = np.column_stack([col(f"_m_g{j}") for j in range(m)])
        vd = v - (vbar_r - gi_r) - g[t]
        yd, Xd = vd[:, 0], vd[:, 1:]
        key = chunk["_u"].to_numpy() if cindex is None else col("c").astype(np.int64)
        out: dict[str, Any] = {"_c": key, "n": np.ones(len(chunk)), "yy": yd * yd}
        for a in range(k):
            out[f"xy{a}"] = Xd[:, a] * yd
            for bb in range(k):
                out[f"xx{a}_{bb}"] = Xd[:, a] * Xd[:, bb]
        if cr2:
            dummies = (t[:, None] == np.arange(1, T)[None, :]).astype(float)
            w_shift = np.column_stack([vbar_r[:, 1:], *[col(f"_m_e{s}") for s in range(1, T)]])
            W = np.column_stack([v[:, 1:], dummies]) - w_shift
            yw = y - vbar_r[:, 0]
            for a in range(pw):
                out[f"wy{a}"] = W[:, a] * yw
                for bb in range(a, pw):  # the upper triangle of the symmetric block
                    out[f"ww{a}_{bb}"] = W[:, a] * W[:, bb]
        if gm_means is not None:
            pp = col("p")
            for gg in (0, 1):
                for po in (0, 1):
                    sel = (gr == gg) & (pp == po)
                    out[f"n{gg}{po}"] = sel.astype(float)
                    out[f"s{gg}{po}"] = np.where(sel, y, 0.0)
                    out[f"ss{gg}{po}"] = np.where(sel, (y - gm_means[gg, po]) ** 2, 0.0)
        return pd.DataFrame(out)

    gm_means = None
    if p_t is not None:
        gm_means = np.zeros((2, 2))
        pr = p_t
        ng1 = B["n_g1"].to_numpy()
        yg1 = B["y_g1"].to_numpy()
        nt, yt = B["n"].to_numpy(), B["y"].to_numpy()
        for po in (0, 1):
            sel = pr == po
            gm_means[1, po] = yg1[sel].sum() / ng1[sel].sum()
            gm_means[0, po] = (yt[sel] - yg1[sel]).sum() / (nt[sel] - ng1[sel]).sum()
    xx_names = [f"xx{a}_{bb}" for a in range(k) for bb in range(k)]
    ww_names = [f"ww{a}_{bb}" for a in range(pw) for bb in range(a, pw)] if cr2 else []
    wy_names = [f"wy{a}" for a in range(pw)] if cr2 else []
    outs3 = ["n", "yy", *[f"xy{a}" for a in range(k)], *xx_names, *ww_names, *wy_names,
             *([f"{w}{gg}{po}" for w in ("n", "s", "ss") for gg in (0, 1) for po in (0, 1)]
               if gm_means is not None else [])]
    # blocks per unit (by default, keyed by its value) or per cluster (by its code)
    block_index = uindex if cindex is None else pd.RangeIndex(len(cindex))
    P = pd.DataFrame(keyed_sums(rows3, [*values, *[f"_m_{c}" for c in averaged], "_u"], by_cluster, outs3,
                                key="_c", index=block_index, key_type=key_type if cindex is None else "long"),
                     columns=outs3)
    xtx_g = P[xx_names].to_numpy().reshape(-1, k, k)
    xty_g = P[[f"xy{a}" for a in range(k)]].to_numpy()
    xtx = xtx_g.sum(axis=0)
    xty = xty_g.sum(axis=0)
    names = [str(treated) if post is None else f"{treated}:{post}", *map(str, covs)]
    ev2, V2 = np.linalg.eigh((xtx + xtx.T) / 2)
    check_full_rank((V2 * np.sqrt(np.clip(ev2, 0, None))).T, names, func=func, what="regressors")
    R = sla.cholesky(xtx, lower=False)
    beta = sla.cho_solve((R, False), xty)
    L, _ = sla.lapack.dtrtri(np.asarray(R, dtype=float), lower=0)
    bread = L @ L.T
    cr2_parts: dict[str, Any] = {}
    if cr2:
        iu, ju = np.triu_indices(pw)
        wtw_g = np.zeros((len(P), pw, pw))
        wtw_g[:, iu, ju] = P[ww_names].to_numpy()
        wtw_g[:, ju, iu] = P[ww_names].to_numpy()
        wty_g = P[wy_names].to_numpy()
        wtw = wtw_g.sum(axis=0)
        wnames = [*names, *[f"period[{v}]" for v in tlev[1:]]]
        evw, Vw = np.linalg.eigh((wtw + wtw.T) / 2)
        check_full_rank((Vw * np.sqrt(np.clip(evw, 0, None))).T, wnames, func=func, what="regressors")
        Rw = sla.cholesky(wtw, lower=False)
        w_beta = sla.cho_solve((Rw, False), wty_g.sum(axis=0))
        Lw, _ = sla.lapack.dtrtri(np.asarray(Rw, dtype=float), lower=0)
        cr2_parts = {"wtw": wtw_g, "wte": wty_g - np.einsum("gab,b->ga", wtw_g, w_beta),
                     "w_beta": w_beta, "w_L": Lw}
    rss = float(P["yy"].sum() - 2 * beta @ xty + beta @ xtx @ beta)
    ymax = max(abs(ylo), abs(yhi))
    fake = OLSFit(X=np.zeros((n, 0)), y=np.zeros(0), names=tuple(names), beta=beta,
                  resid=np.array([np.sqrt(max(rss, 0.0))]), R=R, bread=bread, L=L, sqrt_w=None,
                  fe_codes=None, fe_scale=None, n_fe=n_fe, y_scale=ymax)
    check_residuals(fake, outcome=str(outcome), func=func, scale=ymax)  # rss and n only
    # ---- what the result reports
    notes: list[str] = []
    balanced = bool(np.all(cu == T))
    if not balanced:
        single = int(np.sum(cu == 1))
        if single:
            notes.append(f"{single:,} unit(s) observed once carry no within-unit change")
    notes.insert(0, f"{N:,} units, {T:,} periods")
    gm = None
    if gm_means is not None:
        gm = group_means_from_sums(P, gm_means)
        control_mean = float(gm.loc[0, "mean_post"])
        treatment_mean = float(gm.loc[1, "mean_post"])
    else:
        control_mean = float((B["y"].sum() - B["y_g1"].sum()) / (B["n"].sum() - B["n_g1"].sum()))
        treatment_mean = float(B["y_d"].sum() / B["n_d"].sum())
    method = "two-way fixed effects (unit and period effects absorbed)" + (", covariates" if covs else "")
    warn_dropped(dropped, func=func, stacklevel=3)
    stats = EngineDid(
        xtx=xtx_g, xty=xty_g, beta=beta, bread=bread, n=n, rank=k + n_fe, names=tuple(names),
        fields={
            "outcome": str(outcome), "n_by_arm": {"comparison": int(N - group.sum()),
                                                  "treated": int(group.sum())},
            "control_mean": control_mean, "treatment_mean": treatment_mean,
            "design": "panel (balanced)" if balanced else "panel (unbalanced)", "method": method,
            "covariates": tuple(map(str, covs)), "binary": bool(A1["nonbinary_y"].sum() == 0),
            "notes": tuple(notes), "dropped": dict(dropped), "group_means": gm,
        },
        **cr2_parts,
    )
    return _effect(stats, {"alpha": alpha}, se_name)
