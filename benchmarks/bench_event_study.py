"""Heterogeneity-robust event studies: dwp_eval against diff-diff and pyfixest.

``event_study(estimator="imputation")`` against diff-diff's ``ImputationDiD``
(the same conservative variance) and pyfixest's ``did2s`` (same point
estimates, GMM variance); ``event_study(estimator="sun_abraham")`` against
diff-diff's ``SunAbraham``. Same ``area_rollout`` panel for all; before timing
the peers' event-time estimates are checked against dwp_eval's (differences
relative to the largest estimate: 1e-6 for diff-diff, 1e-4 for pyfixest,
which demeans iteratively to its default tolerance). No target:
the ratios are reported. The peers are benchmark-only dependencies
(``pip install diff-diff pyfixest``); missing ones are reported as skipped.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.estimate.event_study import event_study

DATA_SEED = 20261206
RTOL = 1e-6


def make_panel(n_units: int) -> pd.DataFrame:
    panel = area_rollout(n_areas=n_units, periods=10, cohorts=(4, 6, 8), seed=DATA_SEED)
    panel["id"] = np.repeat(np.arange(1, n_units + 1), 10)
    return panel


def _agree(label: str, ours: dict[int, float], theirs: dict[int, float], rtol: float = RTOL) -> str:
    worst = 0.0
    scale = max(abs(v) for v in ours.values())
    for e, v in ours.items():
        if e not in theirs:
            raise h.BenchmarkError(f"{label}: no estimate at event time {e}")
        worst = max(worst, abs(theirs[e] - v) / scale)
    if worst > rtol:
        raise h.BenchmarkError(f"{label}: event-time estimates differ from dwp_eval's by {worst:.1e} (relative)")
    return f"estimates = dwp_eval's (max rel diff {worst:.0e})"


def _one(estimator: str, quick: bool) -> h.Comparison:
    n = 2_000 if quick else 20_000
    panel = make_panel(n)
    first: dict[int, float] = {}

    def ours() -> Any:
        return event_study(panel, outcome="employment_rate", unit="id", time="month", cohort="cohort",
                           estimator=estimator, bootstrap=0)  # type: ignore[arg-type]

    def ours_check(res: Any) -> str:
        f = res.to_frame()
        first.update({int(e): float(v) for e, v in zip(f.event_time, f.estimate, strict=True) if e >= 0})
        return f"{len(f)} event times; overall {res.overall.estimate:.5f} (SE {res.overall.std_error:.5f})"

    peers: dict[str, h.Case | h.Missing] = {}
    dd = h.optional_import("diff_diff")
    if dd is None:
        peers["diff-diff"] = h.missing("diff-diff")
    else:
        def run_dd() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if estimator == "imputation":
                    return dd.ImputationDiD(cluster="id", aux_partition="cohort_horizon").fit(
                        panel, outcome="employment_rate", unit="id", time="month", first_treat="cohort",
                        aggregate="event_study")
                return dd.SunAbraham(cluster="id").fit(panel, outcome="employment_rate", unit="id",
                                                       time="month", first_treat="cohort")

        def check_dd(r: Any) -> str:
            return _agree("diff-diff", first, {int(e): float(v["effect"]) for e, v in r.event_study_effects.items()})

        peers["diff-diff"] = h.Case("diff-diff", run_dd, check=check_dd)
    pf = h.optional_import("pyfixest")
    if estimator == "imputation":
        if pf is None:
            peers["pyfixest did2s"] = h.missing("pyfixest")
        else:
            def run_pf() -> Any:
                d = panel.assign(treat=((panel.cohort > 0) & (panel.month >= panel.cohort)).astype(int))
                d["rel"] = np.where(d.treat == 1, d.month - d.cohort, -1000)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return pf.did2s(d, yname="employment_rate", first_stage="~ 0 | id + month",
                                    second_stage="~ i(rel, ref=-1000)", treatment="treat", cluster="id")

            def check_pf(fit: Any) -> str:
                got = {int(float(k.split("::")[-1].rstrip("]"))): float(v) for k, v in fit.coef().items()}
                # pyfixest's alternating projections stop at its default tolerance
                return _agree("pyfixest did2s", first, got, rtol=1e-4)

            peers["pyfixest did2s"] = h.Case("pyfixest did2s", run_pf, check=check_pf)
    return h.compare(
        f"event_study(estimator={estimator!r}), clustered by unit: {n:,} units x 10 periods x 3 cohorts",
        h.Case(f"dwp_eval.event_study[{estimator}]", ours, check=ours_check),
        peers,
        repeat=1 if quick else 2,
        quick=quick,
        info="analytic SEs for all (did2s: its GMM SEs); no bootstrap",
    )


def run(quick: bool) -> list[h.Comparison]:
    return [_one("imputation", quick), _one("sun_abraham", quick)]
