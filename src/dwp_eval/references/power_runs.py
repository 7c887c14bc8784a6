"""Reference comparisons for the partially nested, three-level, moderator and
time-to-event power designs (issue 16): PowerUpR 1.1.0 (``ira_pn``, ``cra3r3``,
``mod221``, ``mod211``'s standard error), the log-rank formulas written out in
base R, and the Schoenfeld events printed by Phadnis, Wetmore & Mayo (2017)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval.references.runs import Row

__all__ = ["log_rank_design", "run_log_rank", "run_power_structures", "structure_design"]

RTOL = 1e-8


def structure_design(r: Any) -> dict[str, Any]:
    """The :func:`dwp_eval.mde` design of a row of ``power/powerup_structures.csv``."""
    d: dict[str, Any] = dict(alpha=float(r["alpha"]), two_sided=str(r["two_tailed"]).upper() == "TRUE",
                             ratio=float(r["p"]))
    kind = r["design"]
    if kind == "ira_pn":  # PowerUpR applies r21 to both variance components
        d.update(n=int(float(r["n"])), nested_in="treatment", cluster_size=float(r["ic_size"]),
                 icc=float(r["rho2"]), r2=float(r["r21"]), r2_cluster=float(r["r21"]))
    elif kind == "cra3r3":
        d.update(n_clusters=int(float(r["K"])), cluster_size=float(r["n"]), icc=float(r["rho2"]),
                 level3_size=float(r["J"]), icc_level3=float(r["rho3"]), r2=float(r["r21"]),
                 r2_cluster=float(r["r22"]), r2_level3=float(r["r23"]), n_covariates=int(float(r["g"])))
    elif kind == "mod221":
        d.update(n_clusters=int(float(r["J"])), cluster_size=float(r["n"]), icc=float(r["rho2"]),
                 r2=float(r["r21"]), moderator_share=float(r["q"]))
    else:  # mod_ira: individual RCT, binary moderator
        d.update(n=int(float(r["n"])), r2=float(r["r21"]), moderator_share=float(r["q"]))
    return d


def log_rank_design(r: Any, formula: str) -> dict[str, Any]:
    """The design of a row of ``power/log_rank.csv`` with the events ``formula``."""
    d: dict[str, Any] = dict(
        alpha=float(r["alpha"]), two_sided=str(r["two_sided"]).upper() == "TRUE", ratio=float(r["ratio"]),
        control_median=float(r["control_median"]), follow_up=float(r["follow_up"]), events_formula=formula,
    )
    if float(r["accrual"]) > 0:
        d["accrual"] = float(r["accrual"])
    if float(r["cluster_size"]) > 1:
        d.update(cluster_size=float(r["cluster_size"]), icc=float(r["icc"]))
    return d


def _failed(case: str, exc: Exception) -> Row:
    return Row(case, "error", float("nan"), 0.0, 0.0, note=f"{type(exc).__name__}: {exc}")


def run_power_structures(root: Path) -> list[Row]:
    from dwp_eval.design import power as pw

    rows: list[Row] = []
    for r in pd.read_csv(root / "power" / "powerup_structures.csv").to_dict("records"):
        case = str(r["call"])
        try:
            d = structure_design(r)
            if r["solved"] == "mdes":
                res = pw.mde(power=float(r["power"]), method="t", **d)
                rows.append(Row(case, "mde", res.mde, float(r["value"]), RTOL))
            else:
                res = pw.power(effect=float(r["es"]), method="noncentral_t", **d)
                rows.append(Row(case, "power", res.power, float(r["value"]), RTOL))
            rows.append(Row(case, "std_error", res.std_error, float(r["sse"]), RTOL))
            rows.append(Row(case, "df", float(res.df), float(r["df"]), RTOL))
        except Exception as exc:
            rows.append(_failed(case, exc))
    return rows


def run_log_rank(root: Path) -> list[Row]:
    from dwp_eval.design import power as pw

    rows: list[Row] = []
    for i, r in enumerate(pd.read_csv(root / "power" / "log_rank.csv").to_dict("records")):
        for formula in ("schoenfeld", "freedman"):
            case = f"log_rank row {i + 1} {formula} (HR {r['hazard_ratio']:g})"
            try:
                d = log_rank_design(r, formula)
                m = float(r["cluster_size"])
                de = 1 + (m - 1) * float(r["icc"])
                s = pw.sample_size(mde=float(r["hazard_ratio"]), power=float(r["power"]), **d)
                rows.append(Row(case, "n", float(s.unrounded or 0.0) * m, float(r[f"n_{formula}"]), RTOL))
                rows.append(Row(case, "events", float(s.events_needed or 0.0),
                                float(r[f"events_{formula}"]) * de, RTOL))
                d["n_clusters" if m > 1 else "n"] = 1200  # people, or clusters of m
                p = pw.power(effect=float(r["hazard_ratio"]), **d)
                rows.append(Row(case, "power", p.power, float(r[f"power_{formula}"]), RTOL))
            except Exception as exc:
                rows.append(_failed(case, exc))
    for r in pd.read_csv(root / "power" / "log_rank_published.csv").to_dict("records"):
        case = f"Phadnis et al. 2017 Table 3, HR {r['hazard_ratio']:g}"
        try:
            s = pw.sample_size(mde=float(r["hazard_ratio"]), power=float(r["power"]), alpha=float(r["alpha"]),
                               two_sided=str(r["two_sided"]).upper() == "TRUE", control_median=1.0,
                               follow_up=1e6)
            even = 2.0 * math.ceil(float(s.events_needed or 0.0) / 2)
            rows.append(Row(case, "events (rounded up to even)", even, float(r["events_printed"]), 0.0))
        except Exception as exc:
            rows.append(_failed(case, exc))
    return rows
