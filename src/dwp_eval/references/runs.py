"""The reference comparisons :func:`dwp_eval.selfcheck` runs: each recomputes, with
the installed library, the values an independent implementation produced (R
estimatr, clubSandwich, pwr, PowerUpR; statsmodels, linearmodels; Card &
Krueger's published table) and returns one :class:`Row` per value."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Row", "powerup_design"]


@dataclass(frozen=True)
class Row:
    """One recomputed value and its reference value."""

    case: str
    quantity: str
    value: float
    expected: float
    rtol: float
    note: str = ""

    @property
    def abs_diff(self) -> float:
        return abs(self.value - self.expected)

    @property
    def rel_diff(self) -> float:
        """``|value - expected| / |expected|`` (the absolute difference when expected is 0)."""
        return self.abs_diff / abs(self.expected) if self.expected != 0 else self.abs_diff

    @property
    def passed(self) -> bool:
        return bool(self.value == self.expected or self.rel_diff <= self.rtol)


# ----------------------------------------------------------------------------- R calls

# Tolerances as in tests/test_itt_reference.py: R and numpy solve the same
# least-squares problems on identical doubles (the CSVs round-trip exactly),
# agreeing to ~1e-13; 1e-8 relative allows for conditioning while any
# formula difference shows at 1e-4 or more. Satterthwaite df and p-values
# (smooth in df) are ratios of traces summed in another order: 1e-6.
RTOL = {"estimate": 1e-8, "std_error": 1e-8, "conf_low": 1e-8, "conf_high": 1e-8,
        "df": 1e-6, "p_value": 1e-6}


@dataclass(frozen=True)
class _Call:
    func: str
    outcome: str
    rhs: tuple[str, ...]
    args: dict[str, str] = field(default_factory=dict)


def _parse(r_call: str) -> _Call:
    """``lm_robust(y ~ z + x1, data = d, se_type = "HC2")`` and the like."""
    m = re.fullmatch(r"(\w+)\((.*)\)", r_call)
    if m is None:
        raise ValueError(f"cannot parse R call {r_call!r}")
    func, body = m.groups()
    parts = [p.strip() for p in body.split(",")]
    outcome, rhs = (s.strip() for s in parts[0].split("~"))
    args = {}
    for part in parts[1:]:
        key, value = (s.strip() for s in part.split("=", 1))
        args[key] = value.strip('"')
    return _Call(func, outcome, tuple(t.strip() for t in rhs.split("+")), args)


def _itt_args(call: _Call, term: str) -> dict[str, Any]:
    """The :func:`dwp_eval.itt` arguments estimating the same effect as an estimatr call."""
    kw: dict[str, Any] = {"outcome": call.outcome, "assigned": "arm"}
    if "condition1" in call.args:
        kw["control"], kw["treatment"] = call.args["condition1"], call.args["condition2"]
    elif term.startswith("arm"):
        kw["treatment"] = term.removeprefix("arm")
    for r_name, name in [("blocks", "strata"), ("clusters", "cluster"), ("weights", "weights")]:
        if r_name in call.args:
            kw[name] = call.args[r_name]
    if "fixed_effects" in call.args:
        kw["strata"] = call.args["fixed_effects"].lstrip("~").strip()
    if "alpha" in call.args:
        kw["alpha"] = float(call.args["alpha"])
    covs = [re.sub(r"factor\((\w+)\)", r"\1", t) for t in call.rhs
            if t not in ("z", "arm") and ":" not in t]
    if call.func == "lm_robust":  # a regression: estimator="ols" (strata as fixed effects)
        if covs:
            kw.update(covariates=covs, adjustment="additive")
        kw["se_type"] = call.args.get("se_type", "CR2" if "clusters" in call.args else "HC2")
        kw["estimator"] = "ols"
    elif call.func == "lm_lin":
        lin = [t.strip() for t in call.args["covariates"].lstrip("~").split("+")]
        kw.update(covariates=lin, adjustment="lin", se_type=call.args["se_type"], estimator="ols")
    return kw


def _read(path: Path) -> pd.DataFrame:
    """A reference CSV with numbers parsed by Python's float (exact for ``%.17g``)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in frame.columns:
        frame[col] = frame[col].replace({"NA": None, "": None})
    return frame


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


@cache
def _dataset(root: str, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(root) / "itt" / "data" / name)


def _effect_rows(case: str, res: Any, expected: dict[str, float]) -> list[Row]:
    lo, hi = res.conf_low, res.conf_high
    got = {"estimate": res.estimate, "std_error": res.std_error, "df": res.df,
           "p_value": res.p_value, "conf_low": lo, "conf_high": hi}
    return [Row(case, q, float(got[q]), v, RTOL[q]) for q, v in expected.items() if np.isfinite(v)]


def _failed(case: str, exc: Exception) -> Row:
    return Row(case, "error", float("nan"), 0.0, 0.0, note=f"{type(exc).__name__}: {exc}")


def _estimatr_cases(ref: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """Cases compared at effect level: the treatment row of every case that ``itt``
    fits (multi-arm regressions pool three arms in one model, which ``itt`` does not)."""
    out = []
    for case, rows in ref.groupby("case", sort=False):
        first = rows.iloc[0]
        if first["error"] is not None:
            continue
        call = _parse(first["r_call"])
        if call.func != "difference_in_means" and "arm" in call.rhs:
            continue
        treat = rows[rows["term"].str.match(r"^(z|arm\w+)$")].iloc[0]
        out.append((str(case), treat))
    return out


def _run_estimatr(root: Path) -> list[Row]:
    from dwp_eval.estimate.itt import itt

    ref = _read(root / "itt" / "estimatr_results.csv")
    rows: list[Row] = []
    for case, r in _estimatr_cases(ref):
        try:
            res = itt(_dataset(str(root), r["data_file"]), **_itt_args(_parse(r["r_call"]), r["term"]))
        except Exception as exc:
            rows.append(_failed(case, exc))
            continue
        rows += _effect_rows(case, res, {q: _num(r[q]) for q in RTOL})
    return rows


def _run_clubsandwich(root: Path) -> list[Row]:
    from dwp_eval.estimate.itt import itt

    cs = _read(root / "itt" / "clubsandwich_results.csv")
    est = _read(root / "itt" / "estimatr_results.csv")
    rows: list[Row] = []
    for _, r in cs[(cs["term"] == "z") & cs["estimatr_case"].notna()
                      & (cs["inverse_var"] != "TRUE")].iterrows():
        name = str(r["case"])
        call_row = est[est["case"] == r["estimatr_case"]].iloc[0]
        try:
            res = itt(_dataset(str(root), r["data_file"]), **_itt_args(_parse(call_row["r_call"]), "z"))
        except Exception as exc:
            rows.append(_failed(name, exc))
            continue
        rows += _effect_rows(name, res, {"estimate": _num(r["estimate"]),
                                         "std_error": _num(r["std_error"]),
                                         "df": _num(r["df_satterthwaite"]),
                                         "p_value": _num(r["p_value"])})
    return rows


# ----------------------------------------------------------------------------- power

# Tolerances as in tests/test_power_reference.py, each with its reason there:
# power and MDE by the same formula: 1e-6 relative; pwr's solved n, d and h
# come from uniroot(tol = eps^0.25): 2.5e-4 absolute; statsmodels'
# solve_power: 2e-5 relative; PowerUpR prints 3 decimals: 0.0005 absolute.
POWER_RTOL = 1e-6
PWR_SOLVED_ATOL = 2.5e-4
SM_SOLVED_RTOL = 2e-5


def _atol_row(case: str, quantity: str, value: float, expected: float, atol: float) -> Row:
    """A row judged on an absolute tolerance (as a relative one at ``expected``)."""
    return Row(case, quantity, value, expected, atol / abs(expected) if expected else atol,
               note=f"absolute tolerance {atol:g}")


def powerup_design(r: Any) -> dict[str, Any]:
    """The :func:`dwp_eval.mde` design of a PowerUpR call (a row of powerup_results.csv)."""
    d: dict[str, Any] = dict(alpha=float(r["alpha"]), two_sided=str(r["two_tailed"]).upper() == "TRUE",
                             ratio=float(r["p"]))
    g = int(float(r["g"]))
    if r["design"] == "ira1r1":
        d.update(n=int(float(r["n"])), r2=float(r["r21"]), n_covariates=g)
    elif r["design"] == "bira2f1":
        d.update(n=int(float(r["n"]) * float(r["J"])), strata=int(float(r["J"])),
                 r2=float(r["r21"]), n_covariates=g)
    elif r["design"] == "cra2r2":
        d.update(n_clusters=int(float(r["J"])), cluster_size=float(r["n"]), icc=float(r["rho2"]),
                 r2=float(r["r21"]), r2_cluster=float(r["r22"]), n_covariates=g)
    else:  # bcra3f2: J clusters of n in each of K fixed blocks
        d.update(n_clusters=int(float(r["J"]) * float(r["K"])), cluster_size=float(r["n"]),
                 icc=float(r["rho2"]), strata=int(float(r["K"])), n_covariates=g)
    return d


def _run_pwr(root: Path) -> list[Row]:
    from dwp_eval.design import power as pw

    rows: list[Row] = []
    for r in pd.read_csv(root / "power" / "pwr_results.csv").to_dict("records"):
        method = "noncentral_t" if str(r["fun"]).startswith("pwr.t") else "normal"
        common = dict(alpha=float(r["sig_level"]), two_sided=r["alternative"] == "two.sided",
                      method=method)
        n1, n2 = int(r["n1"]), int(r["n2"])
        case = str(r["call"])
        try:
            if r["solved"] == "power":
                got = pw.power(effect=float(r["es"]), n=n1 + n2, ratio=n1 / (n1 + n2), **common)
                rows.append(Row(case, "power", got.power, float(r["value"]), POWER_RTOL))
            elif r["solved"] == "n":
                res = pw.sample_size(mde=float(r["es"]), power=float(r["power"]), **common)
                rows.append(_atol_row(case, "n_per_arm", float(res.unrounded or 0.0) / 2, float(r["value"]),
                                      PWR_SOLVED_ATOL))
            else:
                res = pw.mde(n=n1 + n2, ratio=n1 / (n1 + n2), power=float(r["power"]), **common)
                rows.append(_atol_row(case, "mde", res.mde, float(r["value"]), PWR_SOLVED_ATOL))
        except Exception as exc:
            rows.append(_failed(case, exc))
    return rows


def _run_statsmodels_power(root: Path) -> list[Row]:
    from dwp_eval.design import power as pw

    rows: list[Row] = []
    table = pd.read_csv(root / "power" / "statsmodels_results.csv")
    for i, r in enumerate(table.to_dict("records")):
        method = "noncentral_t" if r["engine"] == "TTestIndPower" else "normal"
        common = dict(alpha=float(r["alpha"]), two_sided=r["alternative"] == "two-sided",
                      method=method)
        share = 1 / (1 + float(r["ratio"]))  # nobs1's share
        case = f"{r['engine']}[{i}]"
        if pd.isna(r["value"]):  # statsmodels' NaN far tail: not a reference value
            continue
        try:
            if r["engine"] == "NormalIndPower_binary_unpooled":
                got = pw.power(effect=float(r["effect_size"]), n=2 * int(r["nobs1"]),
                               baseline_rate=float(r["baseline_rate"]),
                               binary_variance="unpooled", **common)
                rows.append(Row(case, "power", got.power, float(r["value"]), POWER_RTOL))
            elif r["solved"] == "power":
                n = round(float(r["nobs1"]) * (1 + float(r["ratio"])))
                got = pw.power(effect=float(r["effect_size"]), n=n, ratio=share, **common)
                rows.append(Row(case, "power", got.power, float(r["value"]), POWER_RTOL))
            elif r["solved"] == "nobs1":
                res = pw.sample_size(mde=float(r["effect_size"]), power=float(r["power"]),
                                     ratio=share, **common)
                rows.append(Row(case, "nobs1", float(res.unrounded or 0.0) * share, float(r["value"]),
                                SM_SOLVED_RTOL))
            else:
                n = round(float(r["nobs1"]) * (1 + float(r["ratio"])))
                res = pw.mde(n=n, ratio=share, power=float(r["power"]), **common)
                rows.append(Row(case, "effect_size", res.mde, float(r["value"]), SM_SOLVED_RTOL))
        except Exception as exc:
            rows.append(_failed(case, exc))
    return rows


def _run_powerupr(root: Path) -> list[Row]:
    import json

    from dwp_eval.design import power as pw

    rows: list[Row] = []
    for r in pd.read_csv(root / "power" / "powerup_results.csv", dtype=str,
                         keep_default_na=False).to_dict("records"):
        case = str(r["call"])
        try:
            d = powerup_design(r)
            if r["solved"] == "mdes":
                res = pw.mde(power=float(r["power"]), method="t", **d)
                rows.append(Row(case, "mde", res.mde, float(r["value"]), POWER_RTOL))
            else:
                res = pw.power(effect=float(r["es"]), method="noncentral_t", **d)
                rows.append(Row(case, "power", res.power, float(r["value"]), POWER_RTOL))
            rows.append(Row(case, "df", float(res.df), float(r["df"]), 0.0))
        except Exception as exc:
            rows.append(_failed(case, exc))
    for r in pd.read_csv(root / "power" / "published_examples.csv").to_dict("records"):
        case = f"published {r['case']}"
        try:
            design = json.loads(r["design"])
            if r["quantity"] == "mdes":
                got = float(pw.mde(method="t", **design).mde)
            else:  # Cohen's tables: n per group for a two-sample t test
                got = float(pw.sample_size(method="noncentral_t", **design).n_per_arm["treatment"])
            rows.append(_atol_row(case, str(r["quantity"]), got, float(r["published"]),
                                  float(r["tolerance"])))
        except Exception as exc:
            rows.append(_failed(case, exc))
    return rows


# ----------------------------------------------------------------------------- CACE

_CACE_COVARIATES = ["x1", "x2", "xb", "region"]


def _flag(v: Any) -> bool:
    return str(v).upper() == "TRUE"


def _cace_fit(root: Path, r: Any) -> Any:
    from dwp_eval.estimate.cace import cace

    return cace(
        pd.read_csv(root / "cace" / "data" / str(r["data_file"])), outcome="y", assigned="arm",
        received="d", covariates=_CACE_COVARIATES if _flag(r["covariates"]) else None,
        strata="block" if _flag(r["fixed_effects"]) else None,
        cluster="cluster" if _flag(r["clustered"]) else None, se_type=str(r["se_type"]),
    )


def _run_cace_estimatr(root: Path) -> list[Row]:
    rows: list[Row] = []
    ref = _read(root / "cace" / "estimatr_results.csv")
    fits: dict[tuple[str, ...], Any] = {}
    for r in ref.to_dict("records"):
        case = f"{r['case']} {r['quantity']}"
        key = tuple(str(r[k]) for k in ("data_file", "covariates", "fixed_effects", "clustered",
                                          "se_type"))
        try:
            if key not in fits:
                fits[key] = _cace_fit(root, r)
            res = fits[key]
        except Exception as exc:
            rows.append(_failed(case, exc))
            continue
        part = {"cace": res, "itt": res.itt, "first_stage": res.first_stage}[r["quantity"]]
        est = part.difference if r["quantity"] == "first_stage" else part.estimate
        rows.append(Row(case, "estimate", float(est), _num(r["estimate"]), 1e-8))
        rows.append(Row(case, "std_error", float(part.std_error), _num(r["std_error"]), 1e-8))
        rows.append(Row(case, "df", float(part.df), _num(r["df"]), 1e-6))
        if r["quantity"] == "cace" and r["fstat"] is not None:
            rows.append(Row(case, "first_stage_f", float(res.first_stage.f_statistic),
                            _num(r["fstat"]), 1e-8))
    return rows


def _run_cace_linearmodels(root: Path) -> list[Row]:
    rows: list[Row] = []
    for r in _read(root / "cace" / "linearmodels_results.csv").to_dict("records"):
        case = str(r["case"])
        try:
            res = _cace_fit(root, r)
        except Exception as exc:
            rows.append(_failed(case, exc))
            continue
        rows.append(Row(case, "estimate", float(res.estimate), _num(r["estimate"]), 1e-8))
        rows.append(Row(case, "std_error", float(res.std_error), _num(r["std_error"]), 1e-8))
        rows.append(Row(case, "first_stage_f", float(res.first_stage.f_statistic),
                        _num(r["first_stage_f"]), 1e-8))
    return rows


# ----------------------------------------------------------------------------- DiD

# Tolerances as in tests/test_did_reference.py, each with its reason there:
# estimatr and linearmodels solve the same least-squares problem on identical
# doubles: 1e-8 relative; Card & Krueger print two decimals: half a unit of the
# last digit (0.005), 0.01 for the cells printed as differences of printed
# numbers (row 3, and row 2's NJ-PA SE).
DID_RTOL = 1e-8
DID_PUBLISHED = 0.005 + 1e-9
DID_PUBLISHED_DERIVED = 0.01


@cache
def _card_krueger(root: str, balanced: bool) -> pd.DataFrame:
    """Card & Krueger's stores x waves with employment; ``balanced``: stores with both."""
    ck = pd.read_csv(Path(root) / "did" / "data" / "card_krueger.csv").dropna(subset=["fte"])
    return ck[ck.groupby("store")["fte"].transform("size") == 2] if balanced else ck


@cache
def _twfe_panels(root: str) -> pd.DataFrame:
    return pd.read_csv(Path(root) / "did" / "twfe_panels.csv")


def _did_fit(root: Path, case: str, se_type: str) -> Any:
    """:func:`dwp_eval.did` on a case of estimatr_twfe.csv / linearmodels_twfe.csv."""
    from dwp_eval.estimate.did import did

    if case.startswith("card_krueger"):
        return did(_card_krueger(str(root), case.endswith("balanced")), outcome="fte",
                   unit="store", time="wave", treated="nj", post="wave", se_type=se_type)
    panels = _twfe_panels(str(root))
    x = case.endswith("_x")
    return did(panels[panels["panel"] == case], outcome="y", unit="unit", time="period",
               treated="d", covariates=["x"] if x else None, cluster="region" if x else None,
               se_type=se_type)


def _group_means(res: Any) -> pd.DataFrame:
    """The 2x2 table of a two-period :func:`dwp_eval.did` result."""
    if res.group_means is None:
        raise ValueError("did returned no group means for a two-period design")
    return pd.DataFrame(res.group_means)


def _run_card_krueger(root: Path) -> list[Row]:
    from dwp_eval.estimate.did import did

    table = pd.read_csv(root / "did" / "card_krueger_table3.csv")
    pub = {(int(r["row"]), str(r["group"])): (float(r["published"]), float(r["published_se"]))
           for r in table.to_dict("records")}
    rows: list[Row] = []

    def cell(row: int, group: str, quantity: str, value: float, se: float | None,
             tol: float = DID_PUBLISHED, tol_se: float = DID_PUBLISHED) -> None:
        case = f"table 3 row {row} {group}"
        rows.append(_atol_row(case, quantity, float(value), pub[(row, group)][0], tol))
        if se is not None:
            rows.append(_atol_row(case, "std_error", float(se), pub[(row, group)][1], tol_se))

    # rows 1-3: means by state and wave over all stores with employment in that wave
    try:
        res = did(_card_krueger(str(root), False), outcome="fte", unit=None, time="wave",
                  treated="nj", post="wave")
        pa, nj, diff = (_group_means(res).iloc[i] for i in range(3))
        for group, g in (("PA", pa), ("NJ", nj), ("NJ-PA", diff)):
            cell(1, group, "fte_before", g.mean_pre, g.std_error_pre)
            cell(2, group, "fte_after", g.mean_post, g.std_error_post,
                 tol_se=DID_PUBLISHED_DERIVED if group == "NJ-PA" else DID_PUBLISHED)
        cell(3, "PA", "change", pa.change, None, tol=DID_PUBLISHED_DERIVED)
        cell(3, "NJ", "change", nj.change, None, tol=DID_PUBLISHED_DERIVED)
        cell(3, "NJ-PA", "estimate", res.estimate, None, tol=DID_PUBLISHED_DERIVED)
        for q, v, e in (("n_pa_before", pa.n_pre, 77), ("n_nj_before", nj.n_pre, 321),
                        ("n_pa_after", pa.n_post, 77), ("n_nj_after", nj.n_post, 319)):
            rows.append(Row("table 3 rows 1-3 stores", q, float(v), float(e), 0.0))
    except Exception as exc:
        rows.append(_failed("table 3 rows 1-3", exc))
    # row 4: stores with employment in both waves, TWFE with CR2 by store
    try:
        res = did(_card_krueger(str(root), True), outcome="fte", unit="store", time="wave",
                  treated="nj", post="wave", se_type="CR2")
        gm = _group_means(res)
        cell(4, "PA", "change", gm.loc[0, "change"], gm.loc[0, "std_error_change"])
        cell(4, "NJ", "change", gm.loc[1, "change"], gm.loc[1, "std_error_change"])
        cell(4, "NJ-PA", "estimate", res.estimate, res.std_error)
        for q, v, e in (("n_treated", res.n_by_arm["treated"], 309),
                        ("n_comparison", res.n_by_arm["comparison"], 75)):
            rows.append(Row("table 3 row 4 stores", q, float(v), float(e), 0.0))
    except Exception as exc:
        rows.append(_failed("table 3 row 4", exc))
    return rows


def _run_did_estimatr(root: Path) -> list[Row]:
    """CR2 and CR0 rows: estimate, SE, df and n compared directly. estimatr's
    ``"stata"`` CR1 counts every absorbed effect in ``p`` (as Stata's ``areg``),
    ``did``'s CR1 leaves out unit effects nested in the clusters (as ``xtreg, fe``):
    the stata rows are compared as ``did``'s CR0 times estimatr's factor
    ``G/(G-1) (n-1)/(n-p)``, ``p`` = covariates + (periods - 1) + units."""
    rows: list[Row] = []
    panels = _twfe_panels(str(root))
    for r in _read(root / "did" / "estimatr_twfe.csv").to_dict("records"):
        case, se_type = str(r["case"]), str(r["se_type"])
        name = f"{case} {se_type}"
        try:
            if se_type != "stata":
                res = _did_fit(root, case, se_type)
                rows += [Row(name, "estimate", float(res.estimate), _num(r["estimate"]), DID_RTOL),
                         Row(name, "std_error", float(res.std_error), _num(r["std_error"]), DID_RTOL),
                         Row(name, "df", float(res.df), _num(r["df"]), DID_RTOL),
                         Row(name, "n_obs", float(res.n_obs), _num(r["n_obs"]), 0.0)]
                continue
            cr0, cr1 = _did_fit(root, case, "CR0"), _did_fit(root, case, "CR1")
            n, G = cr0.n_obs, cr0.n_clusters
            periods = 2 if case.startswith("card") else int(panels["period"].nunique())
            p = (2 if case.endswith("_x") else 1) + (periods - 1) + sum(cr0.n_by_arm.values())
            scaled = cr0.std_error * np.sqrt(G / (G - 1) * (n - 1) / (n - p))
            rows += [Row(name, "estimate", float(cr1.estimate), _num(r["estimate"]), DID_RTOL),
                     Row(name, "std_error", float(scaled), _num(r["std_error"]), DID_RTOL,
                         note="CR0 x sqrt(G/(G-1) (n-1)/(n-p)), p counting every absorbed effect"),
                     Row(name, "df", float(cr1.df), _num(r["df"]), DID_RTOL),
                     Row(name, "n_obs", float(cr1.n_obs), _num(r["n_obs"]), 0.0)]
        except Exception as exc:
            rows.append(_failed(name, exc))
    return rows


def _run_did_linearmodels(root: Path) -> list[Row]:
    """The treatment rows (``did`` reports the effect only): linearmodels'
    clustered SE with ``group_debias`` is CR0 times ``G/(G-1) (n-1)/(n-df_model)``."""
    rows: list[Row] = []
    for r in _read(root / "did" / "linearmodels_twfe.csv").to_dict("records"):
        if r["term"] != "d":
            continue
        case = str(r["case"])
        try:
            res = _did_fit(root, case, "CR0")
        except Exception as exc:
            rows.append(_failed(case, exc))
            continue
        n, G = res.n_obs, res.n_clusters
        scale = np.sqrt((n - 1) / (n - _num(r["df_model"])) * G / (G - 1))
        rows += [Row(case, "estimate", float(res.estimate), _num(r["estimate"]), DID_RTOL),
                 Row(case, "std_error", float(res.std_error * scale), _num(r["std_error"]), DID_RTOL,
                     note="CR0 x sqrt(G/(G-1) (n-1)/(n-df_model))"),
                 Row(case, "n_obs", float(n), _num(r["n_obs"]), 0.0)]
    return rows
