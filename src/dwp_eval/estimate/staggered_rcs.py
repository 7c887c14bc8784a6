"""Callaway & Sant'Anna (2021) ATT(g, t) from repeated cross-sections (survey
respondents observed once, in an area and a period) and from unbalanced panels,
with sampling weights: the ``panel=False`` / ``allow_unbalanced=True`` paths of
:func:`dwp_eval.staggered_did`.

Each ATT(g, t) is a repeated-cross-section 2x2 comparison (Sant'Anna & Zhao
2020, Section 3.2): the rows observed in the base period ``b`` or in period
``t`` that belong to cohort ``g`` or to the comparison group. The influence
function of each row is rescaled by ``n / n_1`` (all rows over the cell's rows,
as R's ``did``) and summed within the area (repeated cross-sections) or the
person (unbalanced panel): the inference rows of the result. The cohort is
constant within ``unit``, so every inference row belongs to one cohort.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.att_gt import (
    att_gt_cells,
    att_gt_row,
    check_comparison_group,
    comparison,
    last_cohort_cut,
)
from dwp_eval._core.influence import influence_std_error, multiplier_bootstrap
from dwp_eval._core.panel import (
    check_numeric,
    check_periods,
    check_pre_period,
    check_two_clusters,
    check_unit_time,
    check_varies,
    require_columns,
    sorted_codes,
    validate_frame,
    warn_dropped,
)
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import DesignError, DroppedRowsWarning, MissingDataError
from dwp_eval.results.did import ATT_GT_COLUMNS, StaggeredDid

__all__ = ["att_2x2_rc", "staggered_did_rc"]

#: Comparison rows with a propensity score above this get weight 0 (as DRDID).
TRIM_LEVEL = 0.995


def _wols(X: np.ndarray, y: np.ndarray, w: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted OLS on the ``rows`` (bool): fitted values for every row and the
    coefficients' influence ``w_i (y_i - x_i'b) x_i' (X_r'W X_r/n)^{-1}`` (zero
    outside the fitting rows; ``n`` all rows)."""
    n = len(y)
    Xr, wr = X[rows], w[rows]
    XtWX = (Xr * wr[:, None]).T @ Xr
    if np.linalg.cond(XtWX) > 1e12:
        raise DesignError("staggered_did: the outcome regression of a 2x2 cell is singular (collinear "
                          "or constant covariates within a cohort-period). Fix: drop or recode covariates.")
    b = np.linalg.solve(XtWX, (Xr * wr[:, None]).T @ y[rows])
    fitted = X @ b
    lin = np.zeros_like(X)
    lin[rows] = (Xr * (wr * (y[rows] - fitted[rows]))[:, None]) @ np.linalg.inv(XtWX / n)
    return fitted, lin


def _wlogit(X: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by Newton-Raphson: fitted probabilities and the coefficients'
    influence ``w_i (d_i - p_i) x_i' (X' diag(w p (1-p)) X / n)^{-1}``."""
    n, k = X.shape
    beta = np.zeros(k)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -35, 35)))
        H = (X * (w * p * (1 - p))[:, None]).T @ X
        step = np.linalg.lstsq(H, X.T @ (w * (d - p)), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:  # pragma: no cover - bounded designs converge quickly
        raise DesignError("staggered_did: the propensity score (logit) did not converge; the "
                          "covariates may separate treated and comparison rows. Fix: use method='reg'.")
    p = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -35, 35)))
    H = (X * (w * p * (1 - p))[:, None]).T @ X / n
    return p, (X * (w * (d - p))[:, None]) @ np.linalg.inv(H)


def _cell_mean_if(y: np.ndarray, wc: np.ndarray) -> tuple[float, np.ndarray]:
    """Hajek mean ``sum(w y) / sum(w)`` and its influence ``w (y - eta) / mean(w)``."""
    eta = float(np.sum(wc * y) / np.sum(wc))
    return eta, wc * (y - eta) / np.mean(wc)


def att_2x2_rc(
    y: np.ndarray, post: np.ndarray, d: np.ndarray, X: np.ndarray | None, w: np.ndarray, method: str
) -> tuple[float, np.ndarray]:
    """ATT of a repeated-cross-section 2x2 comparison and each row's influence.

    ``y`` outcome, ``post`` 1 in period ``t`` (0: base period), ``d`` 1 for the
    treated cohort, ``X`` covariates with an intercept column (``None``: none),
    ``w`` sampling weights (normalised here to mean 1, as DRDID).

    * without covariates every method is the weighted four-means difference
      ``(ybar_11 - ybar_10) - (ybar_01 - ybar_00)``;
    * ``reg``: Sant'Anna & Zhao (2020) eq. 2.3 (outcome regressions of the
      comparison rows in each period; DRDID's ``reg_did_rc``);
    * ``ipw``: eq. 2.5 with Hajek weights (DRDID's ``std_ipw_did_rc``);
    * ``dr``: the locally efficient doubly robust estimator, eq. 3.4 (``tau^{dr,rc}_1``;
      DRDID's ``drdid_rc``), with outcome regressions of both groups in both periods.

    The influence functions include the estimation effect of every regression
    and of the weighted logit (Sant'Anna & Zhao 2020, Appendix B).
    """
    w = w / np.mean(w)
    c, p1 = 1 - d, post
    if X is None or X.shape[1] == 1:
        e11, i11 = _cell_mean_if(y, w * d * p1)
        e10, i10 = _cell_mean_if(y, w * d * (1 - p1))
        e01, i01 = _cell_mean_if(y, w * c * p1)
        e00, i00 = _cell_mean_if(y, w * c * (1 - p1))
        return (e11 - e10) - (e01 - e00), (i11 - i10) - (i01 - i00)
    if method in ("reg", "dr"):
        oy0, L0 = _wols(X, y, w, (c * (1 - p1)) > 0)
        oy1, L1 = _wols(X, y, w, (c * p1) > 0)
    if method == "reg":
        e_t1, i_t1 = _cell_mean_if(y, w * d * p1)
        e_t0, i_t0 = _cell_mean_if(y, w * d * (1 - p1))
        wd = w * d
        eta_c = float(np.mean(wd * (oy1 - oy0)) / np.mean(wd))
        M1 = np.mean(wd[:, None] * X, axis=0)
        inf_c = (wd * (oy1 - oy0) - wd * eta_c + L1 @ M1 - L0 @ M1) / np.mean(wd)
        return (e_t1 - e_t0) - eta_c, (i_t1 - i_t0) - inf_c
    ps, lin_ps = _wlogit(X, d, w)
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(d == 1, 1.0, (ps < TRIM_LEVEL).astype(float))
    wt1, wt0 = trim * w * d * p1, trim * w * d * (1 - p1)
    odds = trim * w * ps * c / (1 - ps)
    wc1, wc0 = odds * p1, odds * (1 - p1)
    if method == "ipw":
        a_t1, i_t1 = _cell_mean_if(y, wt1)
        a_t0, i_t0 = _cell_mean_if(y, wt0)
        a_c1, i_c1 = _cell_mean_if(y, wc1)
        a_c0, i_c0 = _cell_mean_if(y, wc0)
        M2 = (np.mean((wc1 * (y - a_c1))[:, None] * X, axis=0) / np.mean(wc1)
              - np.mean((wc0 * (y - a_c0))[:, None] * X, axis=0) / np.mean(wc0))
        inf = (i_t1 - i_t0) - (i_c1 - i_c0 + lin_ps @ M2)
        return (a_t1 - a_t0) - (a_c1 - a_c0), inf
    # dr: outcome regressions of the treated too (the locally efficient estimator)
    oyt0, Lt0 = _wols(X, y, w, (d * (1 - p1)) > 0)
    oyt1, Lt1 = _wols(X, y, w, (d * p1) > 0)
    oyc = p1 * oy1 + (1 - p1) * oy0
    r = y - oyc
    wd, wdt1, wdt0 = trim * w * d, wt1, wt0
    a_t1, i_t1 = _cell_mean_if(r, wt1)
    a_t0, i_t0 = _cell_mean_if(r, wt0)
    a_c1, i_c1 = _cell_mean_if(r, wc1)
    a_c0, i_c0 = _cell_mean_if(r, wc0)
    a_d1, i_d1 = _cell_mean_if(oyt1 - oy1, wd)
    a_dt1, i_dt1 = _cell_mean_if(oyt1 - oy1, wdt1)
    a_d0, i_d0 = _cell_mean_if(oyt0 - oy0, wd)
    a_dt0, i_dt0 = _cell_mean_if(oyt0 - oy0, wdt0)
    att = (a_t1 - a_t0) - (a_c1 - a_c0) + (a_d1 - a_dt1) - (a_d0 - a_dt0)

    def colmean(v: np.ndarray) -> np.ndarray:
        return np.asarray(np.mean(v[:, None] * X, axis=0))

    inf_treat_or = L1 @ (-colmean(wt1) / np.mean(wt1)) + L0 @ (-colmean(wt0) / np.mean(wt0))
    M2 = colmean(wc1 * (r - a_c1)) / np.mean(wc1) - colmean(wc0 * (r - a_c0)) / np.mean(wc0)
    inf_cont_or = L1 @ (-colmean(wc1) / np.mean(wc1)) + L0 @ (-colmean(wc0) / np.mean(wc0))
    inf_eff = (i_d1 - i_dt1) - (i_d0 - i_dt0)
    mom1 = colmean(wd / np.mean(wd) - wdt1 / np.mean(wdt1))
    mom0 = colmean(wd / np.mean(wd) - wdt0 / np.mean(wdt0))
    inf_or = (Lt1 - L1) @ mom1 - (Lt0 - L0) @ mom0
    inf_treat = i_t1 - i_t0 + inf_treat_or
    inf_cont = i_c1 - i_c0 + lin_ps @ M2 + inf_cont_or
    return att, inf_treat - inf_cont + inf_eff + inf_or


def _prepare(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable,
    covariates: Sequence[Hashable], weights: Hashable | None, cluster: Hashable | None,
    unbalanced: bool, func: str, missing: str,
) -> dict[str, Any]:
    """Validate long data (one row per respondent, or per unit and period) and code it."""
    require_columns(func, outcome=outcome, unit=unit, time=time, cohort=cohort)
    frame, dropped = _validate(data, outcome, unit, time, cohort, covariates, weights, cluster, func, missing)
    y = check_numeric(frame, outcome, role="outcome", func=func)
    check_varies(y, outcome, func=func)
    if unbalanced:
        u, ulev, t, tlev = check_unit_time(frame, unit, time, func=func)
    else:
        uc, ulev_idx = pd.factorize(frame[unit], sort=False)
        u, ulev = np.asarray(uc, dtype=np.int64), np.asarray(ulev_idx)
        t, tlev = sorted_codes(frame[time], column=time, role="time", func=func)
    check_periods(len(tlev), time, func=func)
    if weights is None:
        w = np.ones(len(y))
    else:
        w = check_numeric(frame, weights, role="weights", func=func)
        bad = ~np.isfinite(w) | (w <= 0)
        if bad.any():
            raise DesignError(
                f"{func}: column {weights!r} (weights) must hold survey weights > 0, but "
                f"{int(bad.sum()):,} row(s) are zero, negative or infinite (e.g. "
                f"{_fmt_list(pd.unique(w[bad])[:3], 3)}). Fix: drop the respondents outside the "
                "population (weight 0) before the call, or correct the weights."
            )
        w = w / w.mean()  # normalised to mean 1 (R did's faster_mode; DRDID within each cell)
    coh = frame[cohort]
    never = coh.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(coh):
        never = never | (coh.fillna(0).to_numpy() == 0)
    per = pd.Series(np.where(never, np.nan, coh.to_numpy(dtype=object)) if not never.all() else never)
    nun = per.groupby(u).nunique(dropna=False)
    if (nun > 1).any():
        badu = ulev[nun.index[nun > 1].to_numpy()]
        raise DesignError(
            f"{func}: column {cohort!r} (cohort) must be the same in every row of a unit of "
            f"{unit!r}, but it differs within {len(badu):,} unit(s) (e.g. {_fmt_list(badu[:5], 5)}). "
            "With panel=False the unit is the area (or cluster) the programme rolled out in. Fix: set "
            "each area's cohort to the period it was first treated (0 or missing if never treated)."
        )
    lookup = {v: i for i, v in enumerate(tlev.tolist())}
    g = np.full(len(y), -1, dtype=np.int64)
    vals = coh.to_numpy()[~never]
    unknown = [v for v in pd.unique(vals) if v not in lookup]
    if unknown:
        raise DesignError(
            f"{func}: cohort value(s) {_fmt_list(sorted(unknown)[:5], 5)} of column {cohort!r} are not "
            f"periods of {time!r}. A cohort is the period a unit is first treated; 0 or missing means "
            "never treated. Fix: recode the cohorts."
        )
    g[~never] = np.array([lookup[v] for v in vals.tolist()], dtype=np.int64)
    Xs = None
    if covariates:
        Xs = np.column_stack([check_numeric(frame, c, role="covariates", func=func) for c in covariates])
    cl = None
    if cluster is not None:
        cc = np.asarray(pd.factorize(frame[cluster])[0], dtype=np.int64)
        if (pd.Series(cc).groupby(u).nunique() > 1).any():
            raise DesignError(
                f"{func}: column {cluster!r} (cluster) must be constant within each unit of {unit!r} "
                "(units nested in clusters). Fix: cluster on a coarser column, or leave cluster=None "
                "to cluster on the units."
            )
        cl = cc
    return {"y": y, "u": u, "units": ulev, "t": t, "times": tlev, "g": g, "w": w, "X": Xs,
            "clusters": cl, "dropped": dropped}


def _validate(data: pd.DataFrame, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable,
              covariates: Sequence[Hashable], weights: Hashable | None, cluster: Hashable | None,
              func: str, missing: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Columns exist; missing values raise (``missing="drop"``: outcome and covariates dropped
    with counts); a missing weight always raises (it is a design column)."""
    frame, dropped = validate_frame(
        data, [(outcome, "outcome"), (unit, "unit"), (time, "time"),
               *[(c, "covariates") for c in covariates], (weights, "weights"), (cluster, "cluster")],
        func=func, missing=missing,
    )
    if cohort not in frame.columns:
        validate_frame(frame, [(cohort, "cohort")], func=func)
    if len(frame) == 0:  # pragma: no cover - validate_frame raises first
        raise MissingDataError(f"{func}: no rows left to analyse.")
    return frame, dropped


def staggered_did_rc(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable,
    covariates: Sequence[Hashable], weights: Hashable | None, control_group: str, method: str,
    anticipation: int, base_period: str, last_cohort: str, cluster: Hashable | None,
    bootstrap: int, rng: np.random.Generator | None, alpha: float, missing: str, unbalanced: bool,
    func: str = "staggered_did",
) -> StaggeredDid:
    """The repeated-cross-section (``unbalanced=False``) or unbalanced-panel
    ``staggered_did``; options already checked by the caller."""
    prep = _prepare(data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                    weights=weights, cluster=cluster, unbalanced=unbalanced, func=func, missing=missing)
    warn_dropped(prep["dropped"], func=func, stacklevel=3)
    y, u, t, g, w, Xs = prep["y"], prep["u"], prep["t"], prep["g"], prep["w"], prep["X"]
    tlev, ulev = prep["times"], prep["units"]
    notes: list[str] = []
    early = check_pre_period(g, anticipation, func=func)
    if early.any():
        n_early = len(np.unique(u[early]))
        warnings.warn(f"{func}: {n_early:,} unit(s) ({int(early.sum()):,} rows) first treated in the first "
                      "period have no pre-treatment period and were dropped.", DroppedRowsWarning, stacklevel=3)
        notes.append(f"{n_early:,} unit(s) treated from the first period dropped")
        keep = ~early
        y, u, t, g, w = y[keep], u[keep], t[keep], g[keep], w[keep]
        Xs = None if Xs is None else Xs[keep]
        cl0 = prep["clusters"]
        prep["clusters"] = None if cl0 is None else cl0[keep]
        uc, ui = np.unique(u, return_inverse=True)
        u, ulev = ui.astype(np.int64), ulev[uc]
    check_comparison_group(g, control_group, cohort=cohort, times=tlev, anticipation=anticipation,
                           func=func)
    T = len(tlev)
    cohorts = np.unique(g[g >= 0])
    if control_group == "not_yet_treated" and not (g < 0).any() and last_cohort == "comparison":
        cut, note = last_cohort_cut(cohorts, anticipation=anticipation, unit=unit, times=tlev, func=func)
        keep = t < cut
        y, u, t, g, w = y[keep], u[keep], t[keep], g[keep], w[keep]
        Xs = None if Xs is None else Xs[keep]
        prep["clusters"] = None if prep["clusters"] is None else prep["clusters"][keep]
        notes.append(note)
        tlev, T, cohorts = tlev[:cut], cut, cohorts[:-1]
    n_rows = len(y)
    n_units = len(ulev)
    # inference rows: the units (areas for cross-sections; people for an unbalanced panel)
    ucoh = np.full(n_units, -1, dtype=np.int64)
    ucoh[u] = g
    uw = np.bincount(u, weights=w, minlength=n_units)
    ucount = np.bincount(u, minlength=n_units).astype(float)
    n_total = n_units if unbalanced else n_rows
    if unbalanced:  # R did: a person's weight in the aggregations is the mean of their rows' weights
        uw, ucount = uw / ucount, np.ones(n_units)
    cl = None
    if prep["clusters"] is not None:
        cu = np.zeros(n_units, dtype=np.int64)
        cu[u] = prep["clusters"]
        cl = np.asarray(pd.factorize(cu)[0], dtype=np.int64)
        check_two_clusters(int(cl.max()) + 1, cluster, func=func)
    elif not unbalanced:
        check_two_clusters(n_units, unit, func=func)
    rows_of = [np.flatnonzero(t == k) for k in range(T)]
    rows: list[dict[str, Any]] = []
    infs: list[np.ndarray] = []
    skipped = 0
    used = np.zeros(n_units, dtype=bool)
    for gg, tt, b in att_gt_cells(cohorts, T, base_period=base_period, anticipation=anticipation):
        idx = np.concatenate([rows_of[b], rows_of[tt]])
        gi = g[idx]
        treated = gi == gg
        control = comparison(gi, gg, tt, b, control_group=control_group, anticipation=anticipation)
        sel = treated | control
        idx, d = idx[sel], treated[sel].astype(float)
        post = (t[idx] == tt).astype(float)
        if min(np.sum(d * post), np.sum(d * (1 - post)), np.sum((1 - d) * post),
               np.sum((1 - d) * (1 - post))) == 0:
            skipped += 1
            continue
        X = None if Xs is None else np.column_stack([np.ones(len(idx)), Xs[idx]])
        att, inf_rows = att_2x2_rc(y[idx], post, d, X, w[idx], method)
        infs.append(np.bincount(u[idx], weights=inf_rows * (n_total / len(idx)), minlength=n_units))
        used[np.unique(u[idx][d == 0])] = True
        rows.append(att_gt_row(tlev, gg, tt, b, att, len(np.unique(u[idx][d == 1])),
                               len(np.unique(u[idx][d == 0]))))
    if skipped:
        notes.append(f"{skipped} ATT(g, t) without treated or comparison rows in one of their periods left out")
    if not rows:
        raise DesignError(f"{func}: no ATT(g, t) could be estimated (no comparison rows).")
    tr = (g >= 0) & (t >= g)
    cm = (g < 0) & (t >= int(cohorts.min())) if (g < 0).any() else (t >= int(cohorts.min())) & (t < g)
    treated_mean = float(np.average(y[tr], weights=w[tr])) if tr.any() else float("nan")
    comparison_mean = float(np.average(y[cm], weights=w[cm])) if cm.any() else float("nan")
    return finish_rc(
        rows, infs, cl=cl, unbalanced=unbalanced, n_units=n_units, n_total=n_total, n_rows=n_rows,
        bootstrap=bootstrap, rng=rng, alpha=alpha, tlev=tlev, cohorts=cohorts, ucoh=ucoh,
        means=(treated_mean, comparison_mean), notes=notes, unit=unit, weights=weights,
        outcome=outcome, method=method, control_group=control_group, base_period=base_period,
        anticipation=anticipation, covariates=covariates, used=used, dropped=prep["dropped"],
        uw=uw, ucount=ucount,
    )


def finish_rc(
    rows: list[dict[str, Any]], infs: list[np.ndarray], *, cl: np.ndarray | None, unbalanced: bool,
    n_units: int, n_total: int, n_rows: int, bootstrap: int, rng: np.random.Generator | None,
    alpha: float, tlev: np.ndarray, cohorts: np.ndarray, ucoh: np.ndarray, means: tuple[float, float],
    notes: list[str], unit: Hashable, weights: Hashable | None, outcome: Hashable, method: str,
    control_group: str, base_period: str, anticipation: int, covariates: Sequence[Hashable],
    used: np.ndarray, dropped: dict[str, int], uw: np.ndarray, ucount: np.ndarray,
) -> StaggeredDid:
    """The result of the repeated-cross-section estimator from its ATT(g, t) rows and the
    per-unit influence functions (shared with the Dask and Spark path)."""
    inf_mat = np.column_stack(infs)
    clusters = cl if cl is not None else (None if unbalanced else np.arange(n_units, dtype=np.int64))
    scale = n_units / n_total  # influence_std_error divides by the number of inference rows
    se = influence_std_error(inf_mat, clusters) * scale
    crit = float(stats.norm.ppf(1 - alpha / 2))
    if bootstrap and rng is not None:
        _, crit = multiplier_bootstrap(inf_mat, draws=int(bootstrap), rng=rng, clusters=clusters, alpha=alpha)
    f = pd.DataFrame(rows)
    f["std_error"] = np.where(se > 0, se, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["statistic"] = f["estimate"] / f["std_error"]
    f["p_value"] = 2 * stats.norm.sf(np.abs(f["statistic"]))
    q = stats.norm.ppf(1 - alpha / 2)
    f["conf_low"] = f["estimate"] - q * f["std_error"]
    f["conf_high"] = f["estimate"] + q * f["std_error"]
    f["band_low"] = f["estimate"] - crit * f["std_error"]
    f["band_high"] = f["estimate"] + crit * f["std_error"]
    f["term"] = [f"ATT({c}, {s})" for c, s in zip(f["cohort"], f["time"], strict=True)]
    f = f[[*ATT_GT_COLUMNS, "_g", "_t"]]
    sizes = {tlev[c]: int(np.sum(ucoh == c)) for c in cohorts.tolist()}
    treated_mean, comparison_mean = means
    ucoh = np.where(np.isin(ucoh, cohorts), ucoh, -1)
    notes.append(("unbalanced panel: repeated cross-section estimators, influence functions summed "
                  "within units" if unbalanced else "repeated cross-sections: inference clustered by "
                  f"{unit!r}") + ("" if weights is None else f"; survey weights {weights!r}"))
    return StaggeredDid(
        _att_gt=f, outcome=str(outcome), method=method, control_group=control_group,
        base_period=base_period, anticipation=int(anticipation), alpha=alpha, n_units=n_units,
        n_periods=len(tlev), n_clusters=None if clusters is None else int(clusters.max()) + 1,
        bootstrap=int(bootstrap), critical_value=crit, covariates=tuple(map(str, covariates)),
        cohort_sizes=sizes, treated_mean=treated_mean, comparison_mean=comparison_mean,
        n_comparison_units=int(used.sum()), notes=tuple(notes), dropped=dropped,
        _inf=inf_mat, _unit_cohort=ucoh, _clusters=clusters, _time_levels=tlev,
        _seed=None if rng is None else int(rng.integers(0, 2**63 - 1)),
        _row_weight=uw, _row_count=ucount, _n_total=n_total, _n_obs=n_rows,
        data_kind="unbalanced panel" if unbalanced else "repeated cross-sections",
        weights=None if weights is None else str(weights),
    )
