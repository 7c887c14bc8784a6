"""``did`` on a Dask or Spark DataFrame: the two-way fixed effects estimate and its
cluster-robust variance from sums computed by the engine, finished on the driver.

Three passes over the rows (:func:`dwp_eval._core.engines.map_sums`):

1. by unit: each unit's rows per period (the unit-by-period incidence ``C``), its
   treatment per period, and its sums of ``v = (y, D, x)``;
2. by period: counts and sums of ``v``, and the group-by-period outcome sums;
3. by cluster: with the per-unit means, the period effects ``g`` and their unit means
   broadcast to the workers, every row's two-way demeaned ``v`` is formed exactly and
   each cluster's ``X_g'X_g``, ``X_g'y_g`` and ``y_g'y_g`` added up.

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

from collections.abc import Hashable, Mapping, Sequence
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
    map_sums,
    require,
)
from dwp_eval._core.engines.groups import distinct, dropna, dtype_of, min_max, select
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
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate._did_means import group_means_frame
from dwp_eval.results import Effect

__all__ = [
    "MissingRule",
    "check_values",
    "did_engine",
    "engine_fix",
    "engine_missing",
    "engine_numeric",
    "group_means_from_sums",
    "unsupported",
]


def engine_fix(engine: str) -> str:
    """How to bring an engine frame into memory."""
    return "data.toPandas()" if engine == "spark" else "data.compute()"


def unsupported(option: str, engine: str, func: str, why: str = "") -> OptionError:
    """The :class:`OptionError` for an option this function does not offer on an engine."""
    return OptionError(
        f"{func}: {option} is not supported on a {engine.capitalize()} DataFrame{why}. Fix: "
        f"bring the data into memory first ({engine_fix(engine)}) and call {func} on the "
        "pandas DataFrame, or drop the option."
    )


def engine_numeric(frame: Any, cols: Sequence[tuple[Hashable, str]], *, func: str) -> None:
    """Raise :class:`ColumnError` for a column (role) that is not numeric or boolean."""
    for col, role in cols:
        dt = dtype_of(frame, col)
        if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)):
            raise ColumnError(
                f"{func}: column {col!r} ({role}) must be numeric; it has dtype {dt}. "
                f"Fix: convert it, e.g. df[{col!r}].astype(float)."
            )


class MissingRule:
    """The missing-value rule of :func:`validate_frame` on an engine: :meth:`counts` of a
    chunk (added up by the engine), then :meth:`verdict` on the driver, which raises as
    :func:`validate_frame` does or (``missing="drop"``) returns the rows dropped per
    droppable column (a row counts for the first such column it misses)."""

    def __init__(self, cols: Sequence[tuple[Hashable, str]], *, droppable: Sequence[str], missing: str,
                 func: str) -> None:
        self.cols, self.missing, self.func = list(cols), missing, func
        self.droppable = tuple(droppable)
        self.names = list(dict.fromkeys(c for c, _ in cols))
        self.drop_cols = list(dict.fromkeys(c for c, r in cols if r in droppable))
        self.outs = ([f"_miss{i}" for i in range(len(self.names))]
                     + [f"_drop{i}" for i in range(len(self.drop_cols))] + ["_allmiss", "_rows"])

    def counts(self, chunk: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The chunk's counts and its complete rows (no droppable column missing)."""
        out = {f"_miss{i}": chunk[c].isna().to_numpy(dtype=float) for i, c in enumerate(self.names)}
        bad = np.zeros(len(chunk), dtype=bool)
        for i, c in enumerate(self.drop_cols):
            isna = chunk[c].isna().to_numpy()
            out[f"_drop{i}"] = (isna & ~bad).astype(float)
            bad |= isna
        out["_allmiss"] = bad.astype(float)
        out["_rows"] = np.ones(len(chunk))
        return out, ~bad

    def verdict(self, sums: pd.Series) -> dict[str, int]:
        func = self.func
        for col, role in self.cols:
            n_miss = int(sums[f"_miss{self.names.index(col)}"])
            if n_miss and (self.missing == "raise" or role not in self.droppable):
                how = (f"Fix: fill them or remove those rows, or pass missing='drop' to {func} to "
                       "analyse complete rows (the count dropped is recorded)." if role in self.droppable
                       else f"Fix: fill them or remove those rows before calling {func}; design columns "
                       "cannot be dropped silently.")
                raise MissingDataError(f"{func}: column {col!r} ({role}) has {n_miss:,} missing value(s). {how}")
        dropped = {str(c): int(sums[f"_drop{i}"]) for i, c in enumerate(self.drop_cols) if int(sums[f"_drop{i}"])}
        if dropped and int(sums["_allmiss"]) == int(sums["_rows"]):
            raise MissingDataError(
                f"{func}: every row has a missing value in {_fmt_list(list(dropped), 5)}, so "
                "missing='drop' leaves nothing to analyse. Fix: check the columns."
            )
        return dropped


def engine_missing(
    frame: Any, cols: Sequence[tuple[Hashable, str]], *, droppable: Sequence[str], missing: str,
    func: str,
) -> tuple[Any, dict[str, int]]:
    """Apply :class:`MissingRule` in a pass of its own; the frame without the dropped rows."""
    rule = MissingRule(cols, droppable=droppable, missing=missing, func=func)

    def count(chunk: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(rule.counts(chunk)[0])

    dropped = rule.verdict(map_sums(frame, rule.names, count, rule.outs).iloc[0])
    return (dropna(frame, rule.drop_cols), dropped) if dropped else (frame, {})


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
    rule = MissingRule(roles, droppable=("outcome", "covariates"), missing=missing, func=func)
    frame_all, frame = frame, dropna(frame, rule.drop_cols)  # the counts come with pass 1
    covs = list(covariates)
    tvals = distinct(frame, time)
    tcodes, tlev = sorted_codes(tvals, column=time, role="time", func=func)
    check_periods(len(tlev), time, func=func)
    tindex = pd.Index(tvals.to_numpy()[np.argsort(tcodes)])
    uindex = pd.Index(distinct(frame, unit).to_numpy())
    cindex = None if cluster is None else pd.Index(distinct(frame, cluster).to_numpy())
    N, T, q = len(uindex), len(tlev), len(covs)
    cols = list(dict.fromkeys(c for c, _ in roles))

    # ---- pass 1: by unit
    def by_unit(chunk: pd.DataFrame) -> pd.DataFrame:
        u = _codes(chunk[unit], uindex)
        t = _codes(chunk[time], tindex)
        tr = chunk[treated].to_numpy(dtype=float)
        counts, ok = rule.counts(chunk)
        u = np.where(ok, u, -1)  # incomplete rows: counted, not analysed
        out: dict[str, Any] = {"_u": u, "n": np.ones(len(chunk)), **counts}
        for s in range(T):
            on = t == s
            out[f"c{s}"] = on.astype(float)
            out[f"d{s}"] = on * tr
        out["tr"] = tr
        out["y"] = chunk[outcome].to_numpy(dtype=float)
        for j, c in enumerate(covs):
            out[f"x{j}"] = chunk[c].to_numpy(dtype=float)
        out["bad_tr"] = ((tr != 0) & (tr != 1)).astype(float)
        y = chunk[outcome].to_numpy(dtype=float)
        out["bad_y"] = (~np.isfinite(y)).astype(float)
        out["nonbinary_y"] = ((y != 0) & (y != 1)).astype(float)
        if post is not None:
            p = chunk[post].to_numpy(dtype=float)
            out["bad_p"] = ((p != 0) & (p != 1)).astype(float)
        for j, c in enumerate(covs):
            out[f"badx{j}"] = (~np.isfinite(chunk[c].to_numpy(dtype=float))).astype(float)
        if cindex is not None:
            cc = _codes(chunk[cluster], cindex).astype(float)
            out["cl"], out["cl2"] = cc, cc**2
        return pd.DataFrame(out)

    outs1 = ["n", *[f"c{s}" for s in range(T)], *[f"d{s}" for s in range(T)], "tr", "y",
             *[f"x{j}" for j in range(q)], "bad_tr", "bad_y",
             "nonbinary_y", *(["bad_p"] if post is not None else []), *[f"badx{j}" for j in range(q)],
             *(["cl", "cl2"] if cindex is not None else [])]
    A_all = map_sums(frame_all, cols, by_unit, [*outs1, *rule.outs], key="_u")
    dropped = rule.verdict(A_all[rule.outs].sum())
    if not dropped:
        frame = frame_all
    A1 = A_all.reindex(range(N), fill_value=0.0)
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

    # ---- pass 2: by period
    gindex = group

    def by_period(chunk: pd.DataFrame) -> pd.DataFrame:
        u = _codes(chunk[unit], uindex)
        t = _codes(chunk[time], tindex)
        y = chunk[outcome].to_numpy(dtype=float)
        gr = gindex[u]
        dd = chunk[treated].to_numpy(dtype=float)
        out: dict[str, Any] = {"_t": t, "n": np.ones(len(chunk)), "y": y, "y_g1": y * gr, "n_g1": gr,
                               "y_d": y * dd, "n_d": dd}
        if post is not None:
            out["p"] = chunk[post].to_numpy(dtype=float)
        for j, c in enumerate(covs):
            out[f"x{j}"] = chunk[c].to_numpy(dtype=float)
        if cindex is not None:
            cc = _codes(chunk[cluster], cindex).astype(float)
            out["cl"], out["cl2"] = cc, cc**2
        return pd.DataFrame(out)

    outs2 = ["n", "y", "y_g1", "n_g1", "y_d", "n_d", *(["p"] if post is not None else []),
             *[f"x{j}" for j in range(q)], *(["cl", "cl2"] if cindex is not None else [])]
    B = map_sums(frame, cols, by_period, outs2, key="_t").reindex(range(T), fill_value=0.0)
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
    gi = (C @ g) / cu[:, None]
    shift_u = vbar - gi  # M v = v - (vbar_i - gi_i) - g_t

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
    w_shift = np.column_stack([vbar[:, 1:], C[:, 1:] / cu[:, None]]) if cr2 else None

    # ---- pass 3: by cluster
    k = 1 + q
    pw = k + T - 1
    p_vec = np.zeros(T) if p_t is None else np.asarray(p_t, dtype=float)

    def by_cluster(chunk: pd.DataFrame) -> pd.DataFrame:
        u = _codes(chunk[unit], uindex)
        t = _codes(chunk[time], tindex)
        y = chunk[outcome].to_numpy(dtype=float)
        dd = gindex[u] * p_vec[t] if post is not None else chunk[treated].to_numpy(dtype=float)
        v = np.column_stack([y, dd, *[chunk[c].to_numpy(dtype=float) for c in covs]])
        vd = v - shift_u[u] - g[t]
        yd, Xd = vd[:, 0], vd[:, 1:]
        key = u if cindex is None else _codes(chunk[cluster], cindex)
        out: dict[str, Any] = {"_c": key, "n": np.ones(len(chunk)), "yy": yd * yd}
        for a in range(k):
            out[f"xy{a}"] = Xd[:, a] * yd
            for bb in range(k):
                out[f"xx{a}_{bb}"] = Xd[:, a] * Xd[:, bb]
        if w_shift is not None:
            dummies = (t[:, None] == np.arange(1, T)[None, :]).astype(float)
            W = np.column_stack([v[:, 1:], dummies]) - w_shift[u]
            yw = y - vbar[u, 0]
            for a in range(pw):
                out[f"wy{a}"] = W[:, a] * yw
                for bb in range(a, pw):  # the upper triangle of the symmetric block
                    out[f"ww{a}_{bb}"] = W[:, a] * W[:, bb]
        if gm_means is not None:
            gr = gindex[u]
            pp = p_vec[t]
            for gg in (0, 1):
                for po in (0, 1):
                    m = (gr == gg) & (pp == po)
                    out[f"n{gg}{po}"] = m.astype(float)
                    out[f"s{gg}{po}"] = np.where(m, y, 0.0)
                    out[f"ss{gg}{po}"] = np.where(m, (y - gm_means[gg, po]) ** 2, 0.0)
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
    P = map_sums(frame, cols, by_cluster, outs3, key="_c")
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


def check_values(A1: pd.DataFrame, *, outcome: Hashable, treated: Hashable, post: Hashable | None,
                  covs: Sequence[Hashable], func: str) -> None:
    """The value checks of :func:`check_numeric` and :func:`check_binary`, from counts."""
    checks = [("bad_y", outcome, "outcome", "holds infinite values."),
              *[(f"badx{j}", c, "covariates", "holds infinite values.") for j, c in enumerate(covs)]]
    for col, name, role, what in checks:
        if A1[col].sum() > 0:
            raise ColumnError(f"{func}: column {name!r} ({role}) {what}")
    for col, name, role in (("bad_tr", treated, "treated"), ("bad_p", post, "post")):
        if col in A1 and A1[col].sum() > 0:
            raise ColumnError(
                f"{func}: column {name!r} ({role}) must hold 0/1 (or True/False); "
                f"{int(A1[col].sum()):,} row(s) hold other values. Fix: recode it, e.g. "
                f"(df[{name!r}] > 0).astype(int)."
            )


def group_means_from_sums(P: pd.DataFrame, means: np.ndarray) -> pd.DataFrame:
    """``group_means`` from per-cluster counts, sums and centred sums of squares of the
    four group-by-period cells (as ``did._change_if``: the change's influence summed by
    cluster, variance ``G/(G-1) sum_c IF_c^2`` over the clusters holding the group)."""
    per_group = []
    for gg in (0, 1):
        n0c, n1c = P[f"n{gg}0"].to_numpy(), P[f"n{gg}1"].to_numpy()
        n0, n1 = int(n0c.sum()), int(n1c.sum())
        m0, m1 = float(means[gg, 0]), float(means[gg, 1])
        s0 = float(np.sqrt(P[f"ss{gg}0"].sum() / (n0 - 1)) / np.sqrt(n0)) if n0 > 1 else float("nan")
        s1 = float(np.sqrt(P[f"ss{gg}1"].sum() / (n1 - 1)) / np.sqrt(n1)) if n1 > 1 else float("nan")
        per = (P[f"s{gg}1"].to_numpy() - n1c * m1) / n1 - (P[f"s{gg}0"].to_numpy() - n0c * m0) / n0
        per = per[(n0c + n1c) > 0]
        G = len(per)
        se = float(np.sqrt(G / (G - 1) * np.sum(per**2))) if G > 1 else float("nan")
        per_group.append((n0, m0, s0, n1, m1, s1, se))
    return group_means_frame(per_group)
