"""``staggered_did`` on a Dask or Spark DataFrame.

* ``panel=False`` (repeated cross-sections, no covariates, no weights): every ATT(g, t)
  is the four-means difference ``(ybar_gt - ybar_gb) - (ybar_Ct - ybar_Cb)`` (Sant'Anna &
  Zhao 2020, Section 3.2, without covariates), and a respondent's influence function is
  ``+-(y_i - ybar_cell) n / n_cell``; summed within the area (the inference row) it is
  ``n_total sum_cells +-(S_{a,cell} - n_{a,cell} ybar_cell) / n_cell``. So the engine adds
  up only the outcome sums and counts of every area and period (one row per area-period
  on the driver), and the areas' order of first appearance, which the multiplier
  bootstrap's draws follow: the same seed gives the same bands as pandas on the same rows.
* ``panel=True`` (a balanced panel): the result keeps every unit's influence function
  (``n_units x cells``, for :meth:`StaggeredDid.aggregate` and its bootstrap), which needs
  each unit's outcome in every period. The engine adds up, per unit, its rows, outcome and
  covariates in each period (one row per unit on the driver: ``n_units x (2 + q) T``
  numbers, against the ``n_units x T`` long rows in memory), with the checks of the
  pandas path (one row per unit and period, every unit in every period, a cohort and a
  cluster constant within units, missing values dropped with the unit's other periods),
  and the pandas estimator runs on the wide arrays. ``allow_unbalanced=True`` brings the
  rows themselves (the unbalanced estimator works on rows).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.att_gt import (
    att_gt_cells,
    att_gt_row,
    check_comparison_group,
    comparison,
    last_cohort_cut,
)
from dwp_eval._core.engines import (
    check_engine_columns,
    collect,
    columns,
    keyed_sums,
    map_sums,
    require,
)
from dwp_eval._core.engines.groups import (
    distinct,
    dtype_of,
    first_positions,
    min_max,
    select,
    with_position,
)
from dwp_eval._core.panel import (
    OTHER_PERIODS,
    check_periods,
    check_pre_period,
    check_two_clusters,
    check_varies,
    sorted_codes,
    warn_dropped,
)
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
)
from dwp_eval.estimate._engine_checks import engine_missing, engine_numeric, unsupported
from dwp_eval.estimate.staggered_rcs import finish_rc
from dwp_eval.results.did import StaggeredDid

__all__ = ["panel_cells", "project_panel", "staggered_rc_engine"]


def _check(data: Any, engine: str, cols: Sequence[tuple[Hashable | None, str]], func: str) -> list[Hashable]:
    require(engine, func=func)
    have = columns(data)
    named = [(c, r) for c, r in cols if c is not None]
    for c, r in named:
        check_engine_columns(have, {r: c}, param="data", func=func)
    return list(dict.fromkeys(c for c, _ in named))


def project_panel(data: Any, engine: str, *, outcome: Hashable, unit: Hashable, time: Hashable,
                  cohort: Hashable, covariates: Sequence[Hashable], cluster: Hashable | None,
                  weights: Hashable | None, func: str) -> pd.DataFrame:
    """The columns a panel ``staggered_did`` uses, in memory (see the module docstring)."""
    cols = _check(data, engine, [(outcome, "outcome"), (unit, "unit"), (time, "time"), (cohort, "cohort"),
                                 *[(c, "covariates") for c in covariates], (cluster, "cluster"),
                                 (weights, "weights")], func)
    return collect(select(data, cols))


def panel_cells(data: Any, engine: str, *, outcome: Hashable, unit: Hashable, time: Hashable,
                cohort: Hashable, covariates: Sequence[Hashable], cluster: Hashable | None,
                missing: str, func: str) -> dict[str, Any]:
    """:func:`~dwp_eval._core.panel.prepare_cohorts`' wide arrays of a balanced panel, from
    per-unit sums on the engine (see the module docstring); the same checks and errors."""
    cols = _check(data, engine, [(outcome, "outcome"), (unit, "unit"), (time, "time"), (cohort, "cohort"),
                                 *[(c, "covariates") for c in covariates], (cluster, "cluster")], func)
    frame = select(data, cols)
    engine_numeric(frame, [(outcome, "outcome"), *[(c, "covariates") for c in covariates]], func=func)
    _, dropped = engine_missing(frame, [(outcome, "outcome"), (unit, "unit"), (time, "time"),
                                        *[(c, "covariates") for c in covariates],
                                        *([(cluster, "cluster")] if cluster is not None else [])],
                                droppable=("outcome", "covariates"), missing=missing, func=func)
    tindex = pd.Index(distinct(frame, time).to_numpy())
    tcodes, _ = sorted_codes(pd.Series(tindex), column=time, role="time", func=func)
    tindex = tindex[np.argsort(tcodes)]  # the periods in order
    firsts = first_positions(with_position(frame), unit)  # units in order of first appearance
    uindex = pd.Index(firsts.sort_values(kind="stable").index.to_numpy())
    cindex = None if cluster is None else pd.Index(distinct(frame, cluster).to_numpy())
    T, q = len(tindex), len(covariates)
    numeric_cohort = pd.api.types.is_numeric_dtype(dtype_of(frame, cohort))
    names = ([f"n{s}" for s in range(T)] + [f"y{s}" for s in range(T)]
             + [f"x{j}_{s}" for j in range(q) for s in range(T)]
             + ["rows", "incomplete", "g", "g2", "gna", "unknown", *(["cl", "cl2"] if cindex is not None else [])])

    def per_unit(chunk: pd.DataFrame) -> pd.DataFrame:
        # one row per unit of the chunk, keyed by the unit itself (no index of every unit
        # is sent to the workers), added up with bincount (no row-length frame)
        codes, units = pd.factorize(chunk[unit], sort=False)
        G = len(units)
        t = np.asarray(tindex.get_indexer(chunk[time]), dtype=np.int64)
        ok = chunk[outcome].notna().to_numpy()
        for c in covariates:
            ok &= chunk[c].notna().to_numpy()

        def add(weights: np.ndarray | None, where: np.ndarray) -> np.ndarray:
            return np.bincount(codes[where], weights=None if weights is None else weights[where], minlength=G)

        out: dict[str, Any] = {"_u": units}
        y = chunk[outcome].to_numpy(dtype=float, na_value=np.nan)
        xs = [chunk[c].to_numpy(dtype=float, na_value=np.nan) for c in covariates]
        for s in range(T):
            at = ok & (t == s)
            out[f"n{s}"] = add(None, at).astype(float)
            out[f"y{s}"] = add(y, at)
            for j in range(q):
                out[f"x{j}_{s}"] = add(xs[j], at)
        coh = chunk[cohort]
        na = coh.isna().to_numpy()
        never = na | (coh.fillna(0).to_numpy() == 0) if numeric_cohort else na
        gc = np.where(never, -1, tindex.get_indexer(coh.where(~never)))
        unknown = (~never) & (gc < 0)
        gcode = np.where(unknown, 0, gc).astype(float)
        # a unit's cohort: the same value in every row (missing and 0 are two values, as in
        # pandas' nunique); only complete rows count, as pandas checks after dropping
        raw = np.where(never & ~na, -1.0, gcode) if numeric_cohort else gcode
        out.update(rows=add(None, ok).astype(float), incomplete=add(None, ~ok).astype(float),
                   g=add(raw, ok), g2=add(raw**2, ok), gna=add(None, ok & na).astype(float),
                   unknown=add(None, ok & unknown).astype(float))
        if cindex is not None:
            cc = np.asarray(cindex.get_indexer(chunk[cluster]), dtype=float)
            out["cl"], out["cl2"] = add(cc, ok), add(cc**2, ok)
        return pd.DataFrame(out)

    key_type = "string" if engine == "dask" else frame.schema[str(unit)].dataType.simpleString()
    # one row per unit, in order of first appearance, filled piece by piece (the driver
    # holds the array and one piece, never a frame of every unit's sums and its copies)
    array = keyed_sums(frame, cols, per_unit, names, key="_u", index=uindex, key_type=key_type)
    col = {name: j for j, name in enumerate(names)}
    ulev = uindex.to_numpy()
    touched = array[:, col["incomplete"]] > 0
    if touched.any():  # the other periods of units with a missing value go too (balanced panel)
        rest = int(array[touched, col["rows"]].sum())
        if rest:
            dropped[f"{OTHER_PERIODS} (balanced panel)"] = rest
        if touched.all():
            raise MissingDataError(
                f"{func}: every unit of {unit!r} has a missing value in some period, so "
                "missing='drop' (which keeps the panel balanced) leaves nothing to analyse. "
                "Fix: fill the missing values."
            )
        array, ulev = array[~touched], ulev[~touched]

    def sums(*names: str) -> np.ndarray:
        return array[:, [col[name] for name in names]]

    n = sums(*[f"n{s}" for s in range(T)])
    present = n.sum(axis=0) > 0  # periods of the units kept
    n = n[:, present]
    tlev = np.asarray(sorted_codes(pd.Series(tindex[present]), column=time, role="time", func=func)[1])
    y_all = sums(*[f"y{s}" for s in range(T)])[:, present]
    check_varies(y_all[n > 0], outcome, func=func)
    _check_cells(n, ulev, tlev, unit=unit, time=time, func=func)
    rows = array[:, col["rows"]]
    g, g2, gna = (array[:, col[name]] for name in ("g", "g2", "gna"))
    changes = (g2 * rows != g**2) | ((gna > 0) & (gna < rows))
    if changes.any():
        bad = ulev[changes]
        raise DesignError(
            f"{func}: column {cohort!r} (cohort) must be the same in every period of a unit, but it "
            f"changes for {len(bad):,} unit(s) (e.g. {_fmt_list(bad[:5], 5)}). Fix: set each unit's "
            "cohort to the period it was first treated (0 or missing if never treated)."
        )
    if array[:, col["unknown"]].sum() > 0:
        raise DesignError(
            f"{func}: some cohort values of column {cohort!r} are not periods of {time!r} (observed "
            f"{_fmt_list(tlev[:3], 3)} ... {tlev[-1]!r}). A cohort is the period a unit is first "
            "treated, in the units of the time column; 0 or missing means never treated. Fix: recode "
            "the cohorts, or drop units first treated after the last period (or code them 0: not "
            "treated during the panel)."
        )
    gidx = np.maximum(np.round(g / rows), -1).astype(np.int64)
    # cohort indices among the periods kept (a cohort in a period left out is unknown)
    position = np.cumsum(present) - 1
    treated = gidx >= 0
    if treated.any():
        if not present[gidx[treated]].all():
            raise DesignError(
                f"{func}: some cohort values of column {cohort!r} are not periods of {time!r}. Fix: "
                "recode the cohorts."
            )
        gidx[treated] = position[gidx[treated]]
    Y = y_all
    Xs = None
    if q:
        Xs = np.stack([sums(*[f"x{j}_{s}" for s in range(T)])[:, present] for j in range(q)], axis=2)
    cl = None
    if cindex is not None:
        c1, c2 = array[:, col["cl"]], array[:, col["cl2"]]
        if np.any(c2 * rows != c1**2):
            raise DesignError(
                f"{func}: column {cluster!r} (cluster) must be constant within units (units nested "
                "in clusters)."
            )
        cl = np.asarray(pd.factorize(np.round(c1 / rows).astype(np.int64))[0], dtype=np.int64)
        check_two_clusters(int(cl.max()) + 1, cluster, func=func)
    return {"Y": Y, "X": Xs, "g": gidx, "units": ulev, "times": tlev, "clusters": cl, "dropped": dropped}


def _check_cells(n: np.ndarray, ulev: np.ndarray, tlev: np.ndarray, *, unit: Hashable, time: Hashable,
                 func: str) -> None:
    """One row per unit and period (as :func:`~dwp_eval._core.panel.check_unit_time`), and
    every unit in every period (a balanced panel), from the units' row counts per period."""
    if (n > 1).any():
        iu, it = np.nonzero(n > 1)
        pairs = ", ".join(f"({ulev[a]!r}, {tlev[b]!r})" for a, b in list(zip(iu, it, strict=True))[:5])
        raise ColumnError(
            f"{func}: columns {unit!r} (unit) and {time!r} (time) must identify each row once, "
            f"but {len(iu):,} unit-period pair(s) appear more than once: {pairs}. Fix: keep one "
            "row per unit and period (e.g. aggregate people to area-month means first), or pass "
            "unit=None for repeated cross-sections."
        )
    check_periods(n.shape[1], time, func=func)
    short = ulev[(n == 0).any(axis=1)]
    if len(short):
        raise DesignError(
            f"{func}: needs a balanced panel, but {len(short):,} unit(s) of {unit!r} are not observed "
            f"in all {n.shape[1]} periods (e.g. {_fmt_list(short[:5], 5)}). Fix: keep the units observed in "
            "every period (e.g. df.groupby(unit).filter(lambda g: len(g) == T)), or use did() for "
            "unbalanced panels."
        )


def staggered_rc_engine(
    data: Any, engine: str, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable,
    covariates: Sequence[Hashable], weights: Hashable | None, control_group: str, method: str,
    anticipation: int, base_period: str, last_cohort: str, cluster: Hashable | None, bootstrap: int,
    rng: np.random.Generator | None, alpha: float, missing: str, func: str = "staggered_did",
) -> StaggeredDid:
    """``staggered_did(panel=False)`` from area-by-period sums (see the module docstring)."""
    if covariates:
        raise unsupported("covariates= with panel=False", engine, func)
    if weights is not None:
        raise unsupported("weights= with panel=False", engine, func)
    cols = _check(data, engine, [(outcome, "outcome"), (unit, "unit"), (time, "time"), (cohort, "cohort"),
                                 (cluster, "cluster")], func)
    frame = select(data, cols)
    engine_numeric(frame, [(outcome, "outcome")], func=func)
    frame, dropped = engine_missing(frame, [(c, r) for c, r in [(outcome, "outcome"), (unit, "unit"),
                                                                (time, "time"), (cluster, "cluster")]
                                            if c is not None],
                                    droppable=("outcome",), missing=missing, func=func)
    warn_dropped(dropped, func=func, stacklevel=4)
    lo, hi = min_max(frame, outcome)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ColumnError(f"{func}: column {outcome!r} (outcome) holds infinite values.")
    check_varies(np.array([lo, hi]), outcome, func=func)
    tvals = distinct(frame, time)
    tcodes, tlev = sorted_codes(tvals, column=time, role="time", func=func)
    check_periods(len(tlev), time, func=func)
    tindex = pd.Index(tvals.to_numpy()[np.argsort(tcodes)])
    firsts = first_positions(with_position(frame), unit)  # units in order of first appearance
    uindex = pd.Index(firsts.index.to_numpy())
    cindex = None if cluster is None else pd.Index(distinct(frame, cluster).to_numpy())
    N, T = len(uindex), len(tlev)
    numeric_cohort = pd.api.types.is_numeric_dtype(dtype_of(frame, cohort))

    def cells(chunk: pd.DataFrame) -> pd.DataFrame:
        u = np.asarray(uindex.get_indexer(chunk[unit]), dtype=np.int64)
        t = np.asarray(tindex.get_indexer(chunk[time]), dtype=np.int64)
        coh = chunk[cohort]
        never = coh.isna().to_numpy()
        if numeric_cohort:
            never = never | (coh.fillna(0).to_numpy() == 0)
        gc = np.where(never, -1, tindex.get_indexer(coh.where(~never)))
        unknown = (~never) & (gc < 0)
        gcode = np.where(unknown, 0, gc).astype(float)
        out: dict[str, Any] = {"_k": u * T + t, "n": np.ones(len(chunk)),
                               "y": chunk[outcome].to_numpy(dtype=float), "g": gcode, "g2": gcode**2,
                               "unknown": unknown.astype(float)}
        if cindex is not None:
            cc = np.asarray(cindex.get_indexer(chunk[cluster]), dtype=float)
            out["cl"], out["cl2"] = cc, cc**2
        return pd.DataFrame(out)

    outs = ["n", "y", "g", "g2", "unknown", *(["cl", "cl2"] if cindex is not None else [])]
    sums = map_sums(frame, cols, cells, outs, key="_k")
    key = sums.index.to_numpy()
    n_ut = np.zeros((N, T))
    S_ut = np.zeros((N, T))
    n_ut[key // T, key % T] = sums["n"].to_numpy()
    S_ut[key // T, key % T] = sums["y"].to_numpy()
    ku = key // T
    per_unit = sums.groupby(ku)[outs].sum()
    if per_unit["unknown"].sum() > 0:
        raise DesignError(
            f"{func}: some cohort values of column {cohort!r} are not periods of {time!r}. A cohort "
            "is the period a unit is first treated; 0 or missing means never treated. Fix: recode "
            "the cohorts."
        )
    nu = per_unit["n"].to_numpy()
    gsum = per_unit["g"].to_numpy()
    if np.any(per_unit["g2"].to_numpy() * nu != gsum**2):
        bad = uindex[per_unit.index.to_numpy()[per_unit["g2"].to_numpy() * nu != gsum**2]]
        raise DesignError(
            f"{func}: column {cohort!r} (cohort) must be the same in every row of a unit of "
            f"{unit!r}, but it differs within {len(bad):,} unit(s) (e.g. {_fmt_list(bad[:5], 5)}). "
            "With panel=False the unit is the area (or cluster) the programme rolled out in. Fix: set "
            "each area's cohort to the period it was first treated (0 or missing if never treated)."
        )
    gu = np.round(gsum / nu).astype(np.int64)
    clu = None
    if cindex is not None:
        if np.any(per_unit["cl2"].to_numpy() * nu != per_unit["cl"].to_numpy() ** 2):
            raise DesignError(
                f"{func}: column {cluster!r} (cluster) must be constant within each unit of {unit!r} "
                "(units nested in clusters). Fix: cluster on a coarser column, or leave cluster=None "
                "to cluster on the units."
            )
        clu = np.round(per_unit["cl"].to_numpy() / nu).astype(np.int64)
    return _estimate(n_ut, S_ut, gu, clu, uindex.to_numpy(), tlev, dropped=dropped, outcome=outcome,
                     unit=unit, cohort=cohort, cluster=cluster, control_group=control_group, method=method,
                     anticipation=anticipation, base_period=base_period, last_cohort=last_cohort,
                     bootstrap=bootstrap, rng=rng, alpha=alpha, func=func)


def _estimate(
    n_ut: np.ndarray, S_ut: np.ndarray, gu: np.ndarray, clu: np.ndarray | None, ulev: np.ndarray,
    tlev: np.ndarray, *, dropped: dict[str, int], outcome: Hashable, unit: Hashable, cohort: Hashable,
    cluster: Hashable | None, control_group: str, method: str, anticipation: int, base_period: str,
    last_cohort: str, bootstrap: int, rng: np.random.Generator | None, alpha: float, func: str,
) -> StaggeredDid:
    """The steps of :func:`staggered_did_rc` on area-by-period sums ``S_ut`` and counts ``n_ut``
    (areas in order of first appearance; ``gu`` each area's cohort index, -1 never)."""
    notes: list[str] = []
    early_u = check_pre_period(gu, anticipation, func=func)
    if early_u.any():
        n_early = int(early_u.sum())
        warnings.warn(f"{func}: {n_early:,} unit(s) ({int(n_ut[early_u].sum()):,} rows) first treated in "
                      "the first period have no pre-treatment period and were dropped.",
                      DroppedRowsWarning, stacklevel=4)
        notes.append(f"{n_early:,} unit(s) treated from the first period dropped")
        keep = ~early_u
        n_ut, S_ut, gu, ulev = n_ut[keep], S_ut[keep], gu[keep], ulev[keep]
        clu = None if clu is None else clu[keep]
    check_comparison_group(gu, control_group, cohort=cohort, times=tlev, anticipation=anticipation,
                           func=func)
    T = len(tlev)
    cohorts = np.unique(gu[gu >= 0])
    if control_group == "not_yet_treated" and not (gu < 0).any() and last_cohort == "comparison":
        cut, note = last_cohort_cut(cohorts, anticipation=anticipation, unit=unit, times=tlev, func=func)
        n_ut, S_ut = n_ut[:, :cut], S_ut[:, :cut]
        notes.append(note)
        tlev, T, cohorts = tlev[:cut], cut, cohorts[:-1]
    n_units = len(ulev)
    n_rows = int(n_ut.sum())
    n_total = n_rows
    ucount = n_ut.sum(axis=1)
    uw = ucount.copy()
    cl = None
    if clu is not None:
        cl = np.asarray(pd.factorize(clu)[0], dtype=np.int64)
        check_two_clusters(int(cl.max()) + 1, cluster, func=func)
    else:
        check_two_clusters(n_units, unit, func=func)
    rows: list[dict[str, Any]] = []
    infs: list[np.ndarray] = []
    skipped = 0
    used = np.zeros(n_units, dtype=bool)
    for gg, tt, b in att_gt_cells(cohorts, T, base_period=base_period, anticipation=anticipation):
        treated = gu == gg
        control = comparison(gu, gg, tt, b, control_group=control_group, anticipation=anticipation)
        # the four cells: (treated, t), (treated, b), (control, t), (control, b)
        cells = [(treated, tt, 1.0), (treated, b, -1.0), (control, tt, -1.0), (control, b, 1.0)]
        counts = [float(n_ut[m, s].sum()) for m, s, _ in cells]
        if min(counts) == 0:
            skipped += 1
            continue
        means = [float(S_ut[m, s].sum()) / c for (m, s, _), c in zip(cells, counts, strict=True)]
        att = (means[0] - means[1]) - (means[2] - means[3])
        inf = np.zeros(n_units)
        for (m, s, sign), c, eta in zip(cells, counts, means, strict=True):
            inf[m] += sign * (S_ut[m, s] - n_ut[m, s] * eta) / c
        infs.append(inf * n_total)
        present = (n_ut[:, tt] + n_ut[:, b]) > 0
        used |= control & present
        rows.append(att_gt_row(tlev, gg, tt, b, att, int(np.sum(treated & present)),
                               int(np.sum(control & present))))
    if skipped:
        notes.append(f"{skipped} ATT(g, t) without treated or comparison rows in one of their periods left out")
    if not rows:
        raise DesignError(f"{func}: no ATT(g, t) could be estimated (no comparison rows).")
    tix = np.arange(T)[None, :]
    g_col = gu[:, None]
    tr = (g_col >= 0) & (tix >= g_col)
    first = int(cohorts.min())
    cm = (g_col < 0) & (tix >= first) if (gu < 0).any() else (tix >= first) & (tix < g_col)
    cm = np.broadcast_to(cm, n_ut.shape)
    treated_mean = float(S_ut[tr].sum() / n_ut[tr].sum()) if n_ut[tr].sum() > 0 else float("nan")
    comparison_mean = float(S_ut[cm].sum() / n_ut[cm].sum()) if n_ut[cm].sum() > 0 else float("nan")
    return finish_rc(
        rows, infs, cl=cl, unbalanced=False, n_units=n_units, n_total=n_total, n_rows=n_rows,
        bootstrap=bootstrap, rng=rng, alpha=alpha, tlev=tlev, cohorts=cohorts, ucoh=gu.copy(),
        means=(treated_mean, comparison_mean), notes=notes, unit=unit, weights=None,
        outcome=outcome, method=method, control_group=control_group, base_period=base_period,
        anticipation=anticipation, covariates=(), used=used, dropped=dropped, uw=uw, ucount=ucount,
    )

