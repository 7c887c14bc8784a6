"""Difference-in-differences: dwp_eval against csdid, moderndid and linearmodels.

Targets (the issue):

1. Staggered DiD (doubly robust, never-treated comparisons, analytic SEs plus
   1,000 multiplier-bootstrap draws for the uniform band) on 100,000 units x 8
   periods x 4 cohorts: at least 10x faster than ``csdid`` and not slower than
   ``moderndid`` (ratio at least 1).
2. TWFE with 1,000,000 units x 6 periods, clustered by unit: faster than
   linearmodels ``PanelOLS(entity_effects=True, time_effects=True)``
   (ratio at least 1).

Before timing, every result is checked: the peers' ATT(g, t) equal
dwp_eval's to 1e-8 (absolute, on an outcome of order 0.4; their bootstrap SEs
are random, so only the estimates are compared here: the analytic SEs are
compared in ``tests/test_staggered_reference.py``); PanelOLS's coefficient
equals dwp_eval's TWFE estimate to 1e-8 relative. csdid and moderndid are test/benchmark-only dependencies
(``pip install csdid moderndid``); missing ones are reported as skipped.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.estimate.did import did
from dwp_eval.estimate.staggered import staggered_did

DATA_SEED = 20260610
ATOL = 1e-8
COHORTS = (3, 4, 5, 6)


def make_rollout(n_units: int) -> pd.DataFrame:
    """An ``area_rollout`` panel with an integer id (what csdid and moderndid need)."""
    panel = area_rollout(n_areas=n_units, periods=8, cohorts=COHORTS, seed=DATA_SEED)
    panel["id"] = np.repeat(np.arange(1, n_units + 1), 8)
    return panel


def make_twfe(n_units: int, periods: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(DATA_SEED)
    u = np.repeat(np.arange(n_units), periods)
    t = np.tile(np.arange(1, periods + 1), n_units)
    g = rng.choice([0, 3, 5], size=n_units)[u]
    d = ((g > 0) & (t >= g)).astype(float)
    y = rng.normal(size=n_units)[u] + 0.1 * t + (0.5 + 0.1 * (t - g)) * d + rng.normal(size=n_units * periods)
    return pd.DataFrame({"unit": u, "t": t, "d": d, "y": y})


def _staggered(quick: bool) -> h.Comparison:
    n = 5_000 if quick else 100_000
    panel = make_rollout(n)
    first: dict[str, np.ndarray] = {}

    def ours() -> Any:
        return staggered_did(panel, outcome="employment_rate", unit="id", time="month", cohort="cohort",
                             bootstrap=1000, seed=1)

    def ours_check(res: Any) -> str:
        f = res.att_gt.sort_values(["cohort", "time"])
        first["att"] = f["estimate"].to_numpy()
        return f"{len(f)} ATT(g,t); critical value {res.critical_value:.3f}"

    def agree(label: str, att: np.ndarray) -> str:
        d = float(np.max(np.abs(np.asarray(att, dtype=float) - first["att"])))
        if d > ATOL:
            raise h.BenchmarkError(f"{label}: ATT(g,t) differ from dwp_eval's by {d:.2e}")
        return f"ATT(g,t) = dwp_eval's (max diff {d:.0e})"

    peers: dict[str, h.Case | h.Missing] = {}
    csdid_mod = h.optional_import("csdid.att_gt")
    if csdid_mod is None:
        peers["csdid"] = h.missing("csdid")
    else:
        def run_csdid() -> Any:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                m = csdid_mod.ATTgt(yname="employment_rate", tname="month", idname="id", gname="cohort",
                                    data=panel.copy(), cband=True, biters=1000)
                m.fit(est_method="dr", bstrap=True)
            return m

        def check_csdid(m: Any) -> str:
            r = m.results
            order = np.lexsort((np.asarray(r["year"]), np.asarray(r["group"])))
            return agree("csdid", np.asarray(r["att"])[order])

        peers["csdid"] = h.Case("csdid", run_csdid, check=check_csdid)
    md = h.optional_import("moderndid")
    if md is None:
        peers["moderndid"] = h.missing("moderndid")
    else:
        def run_md() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return md.att_gt(panel, yname="employment_rate", tname="month", idname="id", gname="cohort",
                                 est_method="dr", boot=True, biters=1000, cband=True, random_state=1)

        def check_md(r: Any) -> str:
            order = np.lexsort((np.asarray(r.times), np.asarray(r.groups)))
            return agree("moderndid", np.asarray(r.att_gt)[order])

        peers["moderndid"] = h.Case("moderndid", run_md, check=check_md)
    return h.compare(
        f"staggered_did (dr, never treated, 1,000 bootstrap draws): {n:,} units x 8 periods x 4 cohorts",
        h.Case("dwp_eval.staggered_did", ours, check=ours_check),
        peers,
        repeat=1 if quick else 2,
        target_ratio={"csdid": 10.0, "moderndid": 1.0},
        quick=quick,
        info="one timed call of each peer is minutes at full size; peers run analytic SEs and the "
        "multiplier bootstrap as dwp_eval does",
    )


def _twfe(quick: bool) -> h.Comparison:
    n = 20_000 if quick else 1_000_000
    df = make_twfe(n)
    first: dict[str, float] = {}

    def ours() -> Any:
        return did(df, outcome="y", unit="unit", time="t", treated="d")

    def ours_check(res: Any) -> str:
        first["est"] = res.estimate
        return f"TWFE {res.estimate:.5f}, CR1 SE {res.std_error:.5f}"

    lm = h.optional_import("linearmodels.panel")
    peers: dict[str, h.Case | h.Missing]
    if lm is None:
        peers = {"linearmodels PanelOLS": h.missing("linearmodels")}
    else:
        def run_lm() -> Any:
            x = df.set_index(["unit", "t"])
            return lm.PanelOLS(x["y"], x[["d"]], entity_effects=True, time_effects=True).fit(
                cov_type="clustered", cluster_entity=True)

        def check_lm(fit: Any) -> str:
            est = float(fit.params["d"])
            if abs(est - first["est"]) > ATOL * max(1.0, abs(est)):
                raise h.BenchmarkError(f"PanelOLS coefficient {est!r} differs from dwp_eval's {first['est']!r}")
            return "coefficient = dwp_eval's"

        peers = {"linearmodels PanelOLS": h.Case("lm", run_lm, check=check_lm)}
    return h.compare(
        f"did TWFE, clustered by unit: {n:,} units x 6 periods",
        h.Case("dwp_eval.did", ours, check=ours_check),
        peers,
        repeat=1 if quick else 2,
        target_ratio={"linearmodels PanelOLS": 1.0},
        quick=quick,
        info="both from the DataFrame (PanelOLS's timed call includes set_index)",
    )


def run(quick: bool) -> list[h.Comparison]:
    return [_staggered(quick), _twfe(quick)]
