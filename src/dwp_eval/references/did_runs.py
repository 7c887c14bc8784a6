"""The reference comparisons of difference-in-differences added with issue 13, run
by :func:`dwp_eval.selfcheck`:

* ``did_twfe_cr1``: the default CR1 of :func:`dwp_eval.did` against pyfixest's
  ``feols(..., cluster=)`` (fixest's small-sample correction) and Stata's ``xtreg,
  fe vce(cluster)`` rebuilt with statsmodels (``tests/reference/did/twfe_cr1.py``);
* ``staggered_no_never``: :func:`dwp_eval.staggered_did` with not-yet-treated
  comparisons on a panel without never-treated units against csdid 0.4.3 and
  moderndid 0.2.0 (R did's rule, ``tests/reference/did/staggered_no_never.py``).

Tolerances as in ``tests/test_did_reference.py`` and
``tests/test_staggered_no_never.py``, each with its reason there.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval.references.runs import Row, _atol_row, _failed, _num, _read

__all__ = ["run_staggered_no_never", "run_twfe_cr1"]

# the same least-squares problem on identical doubles: 1e-8 relative
CR1_RTOL = 1e-8
# staggered cells: estimates (employment rates of order 0.001-0.05) to 1e-10
# absolute, standard errors to 1e-8 relative
STAGGERED_ATOL = 1e-10
STAGGERED_RTOL = 1e-8


@cache
def _frame(root: str, rel: str) -> pd.DataFrame:
    return pd.read_csv(Path(root) / "did" / rel)


def _cr1_fit(root: Path, case: str) -> Any:
    """``did``'s default (CR1) on a case ``<panel>[_x]_<cluster>`` of twfe_cr1.csv."""
    from dwp_eval.estimate.did import did

    if case.startswith("card_krueger"):
        ck = _frame(str(root), "data/card_krueger.csv").dropna(subset=["fte"])
        if "balanced" in case:
            ck = ck[ck.groupby("store")["fte"].transform("size") == 2]
        return did(ck, outcome="fte", unit="store", time="wave", treated="nj", post="wave")
    panel, cluster = case.rsplit("_", 1)
    panels = _frame(str(root), "twfe_panels.csv")
    d = panels[panels["panel"] == panel.removesuffix("_x")]
    return did(d, outcome="y", unit="unit", time="period", treated="d",
               covariates=["x"] if panel.endswith("_x") else None,
               cluster=None if cluster == "unit" else cluster)


def run_twfe_cr1(root: Path) -> list[Row]:
    rows: list[Row] = []
    for r in _read(root / "did" / "twfe_cr1.csv").to_dict("records"):
        name = f"{r['case']} {r['source']}"
        try:
            res = _cr1_fit(root, str(r["case"]))
            rows += [Row(name, "estimate", float(res.estimate), _num(r["estimate"]), CR1_RTOL),
                     Row(name, "std_error", float(res.std_error), _num(r["std_error"]), CR1_RTOL),
                     Row(name, "n_obs", float(res.n_obs), _num(r["n_obs"]), 0.0)]
        except Exception as exc:
            rows.append(_failed(name, exc))
    return rows


def _staggered(root: Path, method: str, base: str, covariates: str, last_cohort: str) -> Any:
    from dwp_eval.estimate.staggered import staggered_did

    options: dict[str, Any] = {"method": method, "base_period": base, "last_cohort": last_cohort}
    return staggered_did(
        _frame(str(root), "staggered_panel_no_never.csv"), outcome="employment_rate", unit="id",
        time="month", cohort="cohort", covariates=["x"] if covariates else None,
        control_group="not_yet_treated", bootstrap=0, **options,
    )


def _cells(name: str, ours: pd.DataFrame, ref: pd.DataFrame) -> list[Row]:
    rows: list[Row] = []
    for key, r in ref.iterrows():
        case = f"{name} {key}"
        if key not in ours.index:
            rows.append(Row(case, "missing cell", float("nan"), 0.0, 0.0,
                            note="the reference has a cell that staggered_did does not"))
            continue
        got = ours.loc[key]
        rows.append(_atol_row(case, "estimate", float(got["estimate"]), float(r["estimate"]),
                              STAGGERED_ATOL))
        rows.append(Row(case, "std_error", float(got["std_error"]), float(r["std_error"]),
                        STAGGERED_RTOL))
    extra = sorted(set(ours.index) - set(ref.index))
    if extra:
        rows.append(Row(f"{name} extra cells", "count", float(len(extra)), 0.0, 0.0,
                        note=f"cells the reference does not have: {extra[:5]}"))
    return rows


def run_staggered_no_never(root: Path) -> list[Row]:
    """ATT(g, t) and the four aggregations; csdid and moderndid on the panel
    pre-processed by R's rule against the default (``last_cohort="comparison"``),
    moderndid as-is against ``last_cohort="estimate"`` (its NaN cells left out; the
    reference cell of a universal base period, 0 by construction, left out)."""
    att = _read(root / "did" / "staggered_no_never_att_gt.csv").fillna({"covariates": ""})
    agg = _read(root / "did" / "staggered_no_never_aggte.csv").fillna({"covariates": ""})
    rows: list[Row] = []
    specs = sorted({(str(r["package"]), str(r["method"]), str(r["base_period"]),
                     str(r["covariates"])) for r in att.to_dict("records")})
    for package, method, base, covs in specs:
        name = f"{package} {method} {base} {covs or 'no covariates'}"
        last = "estimate" if package == "moderndid" else "comparison"
        try:
            res = _staggered(root, method, base, covs, last)
            sel = att[(att["package"] == package) & (att["method"] == method)
                      & (att["base_period"] == base) & (att["covariates"] == covs)].copy()
            sel = sel[sel["estimate"].notna()]
            sel["cohort"], sel["time"] = sel["cohort"].astype(float).astype(int), sel["time"].astype(float).astype(int)
            sel[["estimate", "std_error"]] = sel[["estimate", "std_error"]].astype(float)
            if base == "universal":
                sel = sel[sel["time"] != sel["cohort"] - 1]
            ours = res.att_gt.set_index(["cohort", "time"])
            rows += _cells(f"{name} att_gt", ours, sel.set_index(["cohort", "time"]))
            for kind in ("simple", "group", "dynamic", "calendar"):
                ref = agg[(agg["package"] == package) & (agg["method"] == method)
                          & (agg["base_period"] == base) & (agg["covariates"] == covs)
                          & (agg["type"] == kind)].copy()
                if ref.empty:
                    continue
                ref[["estimate", "std_error"]] = ref[["estimate", "std_error"]].astype(float)
                out = res.aggregate(kind, bootstrap=0)
                eff = out if kind == "simple" else out.overall
                overall = ref[ref["key"] == "overall"].iloc[0]
                case = f"{name} {kind} overall"
                rows.append(_atol_row(case, "estimate", float(eff.estimate),
                                      float(overall["estimate"]), STAGGERED_ATOL))
                rows.append(Row(case, "std_error", float(eff.std_error),
                                float(overall["std_error"]), STAGGERED_RTOL))
                if kind == "simple":
                    continue
                cells = ref[(ref["key"] != "overall") & ref["estimate"].notna()].copy()
                cells["key"] = cells["key"].astype(float).astype(int)
                if base == "universal" and kind == "dynamic":
                    cells = cells[cells["key"] != -1]
                table = out.to_frame().set_index(out.by)
                rows += _cells(f"{name} {kind}", table, cells.set_index("key"))
        except Exception as exc:
            rows.append(_failed(name, exc))
    return rows
