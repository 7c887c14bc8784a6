"""Staggered DiD on repeated cross-sections (survey rows): dwp_eval against moderndid
(and R did, recorded).

Target (issue 17): 2,000,000 survey rows, 400 areas, 12 periods, four cohorts and
never-treated areas, doubly robust without covariates, survey weights, analytic
SEs clustered by area plus 1,000 multiplier-bootstrap draws: report the ratio to
R did ``att_gt(panel = FALSE)`` and to moderndid (``panel=False``).

moderndid holds a dense rows x cells influence-function matrix (2M x 84 doubles,
1.3 GB) and its run is minutes at full size, so it is timed on the first
``PEER_ROWS`` rows' design (200,000 rows, same areas and periods) and its ratio is
reported at that size; dwp_eval is timed at both sizes. Before timing the peers'
ATT(g, t) are checked equal to dwp_eval's to 1e-8. R did's time is read from
``benchmarks/r/bench_staggered_rcs.out`` when present (written by
``benchmarks/r/bench_staggered_rcs.R``).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval.estimate.staggered import staggered_did

DATA_SEED = 20261206
ATOL = 1e-8
PEER_ROWS = 200_000
R_OUT = Path(__file__).parent / "r" / "bench_staggered_rcs.out"


def make_survey(n_rows: int, n_areas: int = 400, periods: int = 12, seed: int = DATA_SEED) -> pd.DataFrame:
    """LFS-like rows: area, quarter, cohort (0 never; 4, 6, 8, 10), outcome, weight."""
    rng = np.random.default_rng(seed)
    cohort_of_area = rng.choice([0, 4, 6, 8, 10], size=n_areas)
    area = rng.integers(0, n_areas, n_rows)
    t = rng.integers(1, periods + 1, n_rows)
    g = cohort_of_area[area]
    eff = np.where((g > 0) & (t >= g), 0.03, 0.0)
    y = 0.7 + 0.002 * t + rng.normal(0, 0.05, n_areas)[area] + eff + rng.normal(0, 0.4, n_rows)
    w = np.exp(rng.normal(0, 0.4, n_rows))
    return pd.DataFrame({"area": area + 1, "quarter": t, "cohort": g, "y": y, "w": w})


def _job(n: int, with_peer: bool, quick: bool) -> h.Comparison:
    df = make_survey(n)
    first: dict[str, np.ndarray] = {}

    def ours() -> Any:
        return staggered_did(df, outcome="y", unit="area", time="quarter", cohort="cohort", weights="w",
                             panel=False, bootstrap=1000, seed=1)

    def ours_check(res: Any) -> str:
        f = res.att_gt.sort_values(["cohort", "time"])
        first["att"] = f["estimate"].to_numpy()
        return f"{len(f)} ATT(g,t); critical value {res.critical_value:.3f}"

    peers: dict[str, h.Case | h.Missing] = {}
    md = h.optional_import("moderndid")
    if not with_peer:
        pass
    elif md is None:
        peers["moderndid"] = h.missing("moderndid")
    else:
        def run_md() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return md.att_gt(df, yname="y", tname="quarter", gname="cohort", weightsname="w",
                                 panel=False, clustervars=["area"], est_method="dr", boot=True,
                                 biters=1000, cband=True, random_state=1)

        def check_md(r: Any) -> str:
            order = np.lexsort((np.asarray(r.times), np.asarray(r.groups)))
            d = float(np.max(np.abs(np.asarray(r.att_gt, dtype=float)[order] - first["att"])))
            if d > ATOL:
                raise h.BenchmarkError(f"moderndid: ATT(g,t) differ from dwp_eval's by {d:.2e}")
            return f"ATT(g,t) = dwp_eval's (max diff {d:.0e})"

        peers["moderndid"] = h.Case("moderndid", run_md, check=check_md)
    cmp = h.compare(
        f"staggered_did(panel=False), dr, survey weights, clustered by area, 1,000 bootstrap draws: "
        f"{n:,} rows, 400 areas, 12 periods, 4 cohorts",
        h.Case("dwp_eval.staggered_did", ours, check=ours_check),
        peers,
        repeat=1,
        target_ratio={"moderndid": 1.0} if with_peer else {},
        quick=quick,
        info="same rows for every in-process implementation",
        show=False,
    )
    if not quick and n >= 2_000_000:
        cmp = dataclasses.replace(cmp, peers=(*cmp.peers, _r_row()),
                                  target_ratio={**cmp.target_ratio, "R did (recorded)": 1.0})
    print(cmp.table(), "", sep="\n", flush=True)
    return cmp


def _r_row() -> h.Timing:
    name = "R did (recorded)"
    if not R_OUT.exists():
        return h.Timing(name, "skipped", note="run Rscript benchmarks/r/bench_staggered_rcs.R (needs R did)")
    m = re.search(r"elapsed_seconds ([0-9.]+)", R_OUT.read_text())
    if m is None:
        return h.Timing(name, "skipped", note=f"{R_OUT.name} has no timing")
    return h.Timing(name, "ok", (float(m.group(1)),), note=f"one system.time() run read from {R_OUT.name}")


def run(quick: bool) -> list[h.Comparison]:
    if quick:
        return [_job(20_000, True, quick)]
    return [_job(PEER_ROWS, True, quick), _job(2_000_000, False, quick)]


if __name__ == "__main__":  # write the data for the R timing
    make_survey(2_000_000).to_csv("/tmp/bench_staggered_rcs.csv", index=False)
