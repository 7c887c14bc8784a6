"""The impact report: dwp_eval.analyse end to end against the same library calls one by one.

For information (no target): ``analyse(trial, plan)`` runs the demo's
pre-specified analysis plan (``datasets.whp_plan()``) on a synthetic
Work-and-Health-style trial built as ``dwp-eval demo`` builds it, and
``Report.to_html`` writes the report. The peer computes the same numbers by
calling the public functions the report is made from, one after another, with
the plan's settings: ``flow``, ``balance``, ``impact_table`` (all outcomes,
Holm within the primary and secondary families, and the subgroups),
``contamination_summary`` (receipt by arm, control-arm contamination, and by
site), ``cace`` for every outcome and ``mde`` for the primary outcome (with
the control arm's R-squared on the plan's covariates, as the report computes
it). The ratio is the report's overhead: checking the data against the plan,
the lone-stratum screen, disclosure control, formatted tables and five PNG
plots (matplotlib).

Before timing, the report's results are checked to equal the peer's: flow,
balance, impact and subgroup tables, receipt and contamination rates, every
CACE and the MDE (to 1e-12 relative). The HTML file is checked to hold the
plan's fingerprint and every section.
"""

from __future__ import annotations

import math
import tempfile
import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval import (
    AnalysisPlan,
    Report,
    analyse,
    balance,
    cace,
    contamination_summary,
    derive_outcomes,
    flag_contamination,
    flow,
    impact_table,
    mde,
    randomise,
    take_up,
)
from dwp_eval.datasets import SIMILAR_PROVISION, whp_like, whp_plan, whp_referrals
from dwp_eval.datasets.admin import whp_monthly_records

SEED = 2018
DATA_END = "2020-03-31"
RTOL = 1e-12


def make_trial(n: int, *, seed: int = SEED) -> pd.DataFrame:
    """The trial table ``dwp-eval demo`` analyses (src/dwp_eval/cli/demo.py, ``run_demo``)."""
    people = whp_like(n=n, seed=seed)
    alloc = randomise(people, strata=["site", "benefit"], seed=seed)
    arm = alloc.table.set_index("id")["arm"].reindex(people["id"]).to_numpy()
    people = people.assign(arm=arm)
    records = whp_referrals(people, arm, seed=seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the simulated record problems are expected
        started = take_up(people, records.starts, randomised="referred_on")
        flags = flag_contamination(
            people,
            records.referrals,
            randomised="referred_on",
            similar=SIMILAR_PROVISION,
            window_days=(0, 365),
            min_days=7,
            keep="site",
        )
    received = (
        started["received"].to_numpy(dtype=int)
        | flags["contaminated"].to_numpy(dtype=int)
        | flags["also_received"].to_numpy(dtype=int)
    )
    admin = whp_monthly_records(people, arm, seed=seed + 2, received=received, data_end=DATA_END)
    outcomes = derive_outcomes(
        people,
        employment=admin.employment,
        benefits=admin.benefits,
        randomised="referred_on",
        months=12,
    )
    return (
        people.drop(columns="arm")
        .merge(outcomes.drop(columns=["reason", "follow_up_end"]), on="id", validate="one_to_one")
        .merge(alloc.table[["id", "arm", "stratum"]], on="id", validate="one_to_one")
        .assign(
            received=received,
            contaminated=flags["contaminated"].to_numpy(dtype=int),
            followed_up=outcomes["follow_up_complete"].to_numpy(dtype=int),
        )
        .drop(columns="follow_up_complete")
    )


def load_plan() -> AnalysisPlan:
    return AnalysisPlan.from_dict(tomllib.loads(whp_plan()))


def ours(trial: pd.DataFrame, plan: AnalysisPlan) -> Report:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows without follow-up are dropped, as planned
        return analyse(trial, plan)


def by_hand(trial: pd.DataFrame, plan: AnalysisPlan) -> dict[str, Any]:
    """The report's numbers from the library's functions, called one by one."""
    d = plan.design
    assigned, control, treatment = d["assigned"], str(d["control"]), d["treatment"]
    common: dict[str, Any] = {
        "assigned": assigned,
        "control": control,
        "treatment": treatment,
        "strata": d["strata"],
        "cluster": d["cluster"],
    }
    covariates = list(plan.covariates) or None
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["flow"] = flow(
            trial,
            assigned=assigned,
            control=control,
            received=d["received"],
            followed_up=d["followed_up"],
            outcome=plan.primary[0],
            id=d["id"],
            received_in_control="programme",
        )
        out["balance"] = balance(
            trial,
            assigned=assigned,
            covariates=list(plan.balance_covariates),
            control=control,
            strata=d["strata"],
            cluster=d["cluster"],
        )
        # strata with one arm (or one person) among those with the outcome carry no
        # within-stratum comparison and make the estimators refuse: leave them out
        screened = _screen(trial, plan.outcomes, d["strata"], assigned)
        out["impact"] = impact_table(
            screened,
            outcomes=list(plan.outcomes),
            covariates=covariates,
            adjustment=plan.adjustment,  # type: ignore[arg-type]
            se_type=plan.se_type,
            correction=plan.correction,  # type: ignore[arg-type]
            family=plan.family_map(),
            alpha=plan.alpha,
            missing=plan.missing,  # type: ignore[arg-type]
            draws=plan.draws,
            seed=plan.seed,
            **common,
        )
        for by in plan.subgroups:
            out[f"subgroups_{by}"] = impact_table(
                _screen(screened, plan.subgroup_outcomes, d["strata"], assigned, by=by),
                outcomes=list(plan.subgroup_outcomes),
                covariates=covariates,
                adjustment=plan.adjustment,  # type: ignore[arg-type]
                se_type=plan.se_type,
                correction="none",
                alpha=plan.alpha,
                missing=plan.missing,  # type: ignore[arg-type]
                by=by,
                **common,
            )
        out["take_up"] = contamination_summary(
            trial, by=(assigned,), flag=d["received"], alpha=plan.alpha
        )
        ctrl = trial[trial[assigned].astype(str) == control]
        out["contamination"] = contamination_summary(
            ctrl, by=(assigned,), flag=d["contaminated"], alpha=plan.alpha
        )
        out["contamination_by_site"] = contamination_summary(
            ctrl, by=(d["site"],), flag=d["contaminated"], alpha=plan.alpha
        )
        out["cace"] = {
            y: cace(
                screened,
                outcome=y,
                received=d["received"] or "",
                covariates=covariates,
                se_type=plan.se_type,
                alpha=plan.alpha,
                missing=plan.missing,  # type: ignore[arg-type]
                **common,
            )
            for y in plan.outcomes
        }
    rate = out["take_up"].to_frame().set_index(assigned)["rate"]
    effects = {e.outcome: e for e in out["impact"].effects}
    out["mde"] = tuple(
        _mde(screened, effects[y], plan, float(rate[treatment]), float(rate[control]))
        for y in plan.primary
    )
    return out


def _screen(
    data: pd.DataFrame, outcomes: tuple[str, ...], strata: Any, assigned: Any, by: Any = None
) -> pd.DataFrame:
    """A copy with each outcome set to NA in the strata (within ``by``) that, among the people
    with the outcome, hold one arm or one person; ``data`` itself when there are none."""
    if strata is None:
        return data
    keys = [strata] if by is None else [by, strata]
    out = data
    for y in outcomes:
        seen = data[y].notna()
        arms = data.loc[seen].groupby(keys, observed=True)[assigned]
        lone = arms.nunique().lt(2) | arms.size().lt(2)
        if not lone.any():
            continue
        cell = pd.MultiIndex.from_frame(data[keys]) if by is not None else pd.Index(data[strata])
        blank = cell.isin(lone[lone].index) & seen.to_numpy()
        if blank.any():
            out = out.copy() if out is data else out
            out.loc[blank, y] = np.nan
    return out


def _mde(trial: pd.DataFrame, e: Any, plan: AnalysisPlan, take: float, contam: float) -> Any:
    """The MDE achieved: analysed n and arm ratio, the control arm's outcome and R-squared."""
    assigned = plan.design["assigned"]
    c = trial[(trial[assigned] == plan.design["control"]) & trial[e.outcome].notna()]
    y = c[e.outcome].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(c)), *(c[v].to_numpy(dtype=float) for v in plan.covariates)])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    r2 = max(0.0, 1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum()))
    design: dict[str, Any] = {
        "alpha": plan.alpha,
        "ratio": e.n_treatment / e.n_obs,
        "r2": min(r2, 0.99),
        "outcome": e.outcome,
    }
    if r2 > 0:
        design["n_covariates"] = len(plan.covariates)  # the covariates behind r2 cost df
    if e.binary_outcome:
        design["baseline_rate"] = float(np.clip(y.mean(), 0.005, 0.995))
    else:
        design["sd"] = float(y.std(ddof=1))
    if take > contam:
        design.update(take_up=take, contamination=contam)
    return mde(n=e.n_obs, **design)


# ------------------------------------------------------------------ checks


def _same_frame(label: str, got: pd.DataFrame, want: pd.DataFrame) -> None:
    try:
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), want.reset_index(drop=True), check_exact=False, rtol=RTOL
        )
    except AssertionError as err:
        raise h.BenchmarkError(f"analyse: {label} differs from the functions' own: {err}") from err


def _check_ours(reference: dict[str, Any], plan: AnalysisPlan) -> Callable[[Report], str]:
    def check(report: Report) -> str:
        res = report.results
        for key in (
            "flow",
            "balance",
            "impact",
            "take_up",
            "contamination",
            "contamination_by_site",
            *(f"subgroups_{by}" for by in plan.subgroups),
        ):
            _same_frame(key, res[key].to_frame(), reference[key].to_frame())
        for y, e in reference["cace"].items():
            got = res["cace"][y]
            for attr in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
                a, b = getattr(got, attr), getattr(e, attr)
                if not math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-15):
                    raise h.BenchmarkError(f"analyse: CACE {attr} for {y}: {a!r} against {b!r}")
        for got, want in zip(res["mde"], reference["mde"], strict=True):
            if not math.isclose(got.mde, want.mde, rel_tol=RTOL):
                raise h.BenchmarkError(f"analyse: MDE {got.mde!r} against {want.mde!r}")
        n_fig = sum(s.figure is not None for s in report.sections)
        primary = res["impact"].effects[0]
        return (
            f"{len(report.sections)} sections, {n_fig} plots; flow, balance, impacts, subgroups, "
            f"rates, {len(res['cace'])} CACEs and MDE equal the functions'; "
            f"{primary.outcome} ITT {100 * primary.estimate:+.2f} pp, n {primary.n_obs:,}"
        )

    return check


def _check_by_hand(out: dict[str, Any]) -> str:
    return f"{len(out['impact'].effects)} ITTs, {len(out['cace'])} CACEs, MDE (no formatting)"


def _check_html(report: Report) -> Callable[[Path], str]:
    def check(path: Path) -> str:
        text = path.read_text(encoding="utf-8")
        if report.fingerprint not in text:
            raise h.BenchmarkError("to_html: the plan's fingerprint is not in the file")
        absent = [s.key for s in report.sections if f'id="{s.key}"' not in text]
        if absent:
            raise h.BenchmarkError(f"to_html: sections {absent} are not in the file")
        return f"{len(text.encode()) / 2**20:.2f} MiB of HTML, {len(report.sections)} sections"

    return check


def run(quick: bool) -> list[h.Comparison]:
    n = 5_000 if quick else 100_000
    trial = make_trial(n)
    plan = load_plan()
    reference = by_hand(trial, plan)
    report = ours(trial, plan)
    n_followed = int(trial["followed_up"].sum())
    results = [
        h.compare(
            f"analyse: {n:,}-person trial, the demo's plan (whp_plan)",
            h.Case(
                "dwp_eval.analyse", lambda: ours(trial, plan), check=_check_ours(reference, plan)
            ),
            {
                "functions one by one": h.Case(
                    "functions one by one", lambda: by_hand(trial, plan), check=_check_by_hand
                )
            },
            repeat=3 if not quick else 2,
            quick=quick,
            info=f"{n_followed:,} with complete follow-up to {DATA_END}; 5 outcomes, Lin, HC2, "
            "strata fixed effects, Holm by role, subgroups by health_condition, CACE; "
            "x below 1 is the report's overhead; for information",
        )
    ]
    with tempfile.TemporaryDirectory(prefix="dwp_eval_bench_report_") as tmp:
        path = Path(tmp) / "report.html"
        results.append(
            h.compare(
                f"Report.to_html: {n:,}-person trial",
                h.Case(
                    "Report.to_html",
                    lambda: report.to_html(path, overwrite=True),
                    check=_check_html(report),
                ),
                {},
                repeat=5,
                quick=quick,
                info="one self-contained file, plots embedded; for information",
            )
        )
    return results
