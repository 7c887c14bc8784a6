"""Randomisation inference: dwp_eval.randomisation_test against pyfixest's ritest.

Target (the issue): a randomisation test with 10,000 draws of a stratified
design on 100,000 people at least 10x faster than pyfixest's ``ritest`` with
the same number of draws.

Data: a synthetic Work-and-Health-style trial (``datasets.whp_like``) of
100,000 people randomised 1:1 by ``dwp_eval.randomise`` within 28 strata
(7 sites x 4 benefits); outcome ``employed_13_weeks`` from
``datasets.whp_outcomes`` with no true effect.

dwp_eval: ``randomisation_test(df, outcome=..., assigned="arm",
strata="stratum", draws=10_000, seed=...)``: re-draws complete randomisation
within every stratum and uses the studentised blocked difference in means
(its default). pyfixest: ``feols("y ~ treat | stratum").ritest("treat",
reps=...)`` with the default ``type="randomization-c"`` (the coefficient, its
fast numba path: the fastest ritest there is); it re-draws each person's
assignment independently (Bernoulli, ignoring the strata), so it does less
work per draw than a design-following re-draw. Also timed, for information:
``type="randomization-t"`` (the t statistic, like dwp_eval's default, which
pyfixest computes by refitting the model for every draw).

pyfixest takes about 15 ms per draw here, so a 10,000-draw ritest would take
minutes per timed run: it is timed on ``PEER_DRAWS`` draws (randomization-t
on ``PEER_T_DRAWS``) and its times are multiplied up to 10,000 draws. Its
cost is linear in the draws (one resample and one least-squares fit per
draw, after a fixed set-up); the rows are labelled "extrapolated".

Checks before timing: dwp_eval ran 10,000 stratified draws, its estimate
equals ``itt``'s blocked difference in means and its p-value lies in
``[1/(B+1), 1]``; pyfixest's estimate equals the strata fixed-effects OLS
coefficient from ``dwp_eval.itt(..., strata=, estimator="ols", se_type="HC2")``, and its
p-value is within 5 Monte Carlo standard errors (plus 0.02 for the
different statistic and re-draw scheme) of dwp_eval's.

With ``--quick`` (5,000 people, 1,000 draws) pyfixest is not run: its numba
compilation alone takes about 15 s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from typing import Any

import numpy as np
import pandas as pd

import dwp_eval
from benchmarks import harness as h

SEED = 20240520
DATA_SEED = 7
ALLOC_SEED = 20180501
DRAWS = 10_000
PEER_DRAWS = 500
PEER_T_DRAWS = 20
OUTCOME = "employed_13_weeks"


def make_trial(n: int) -> pd.DataFrame:
    """People, their arm (1:1 within site x benefit strata) and outcomes (no effect)."""
    people = dwp_eval.datasets.whp_like(n=n, seed=DATA_SEED)
    alloc = dwp_eval.randomise(people, strata=["site", "benefit"], seed=ALLOC_SEED)
    arm = alloc.table.set_index("id")["arm"].reindex(people["id"]).to_numpy()
    outcomes = dwp_eval.datasets.whp_outcomes(people, arm, seed=DATA_SEED, effect=0.0)
    return people.merge(outcomes, on="id").merge(alloc.table[["id", "arm", "stratum"]], on="id")


def pyfixest_data(trial: pd.DataFrame) -> pd.DataFrame:
    """The same people as pyfixest wants them: numeric outcome, 0/1 treat, stratum codes."""
    return pd.DataFrame(
        {
            "y": trial[OUTCOME].to_numpy(dtype=float),
            "treat": (trial["arm"] == "treatment").to_numpy(dtype=float),
            "stratum": pd.factorize(trial["stratum"])[0],
        }
    )


def _mc_se(p: float, draws: int) -> float:
    return math.sqrt(max(p * (1 - p), 1.0 / draws) / draws)


def run(quick: bool) -> list[h.Comparison]:
    n = 5_000 if quick else 100_000
    draws = 1_000 if quick else DRAWS
    trial = make_trial(n)
    n_strata = trial["stratum"].nunique()
    pf = None if quick else h.optional_import("pyfixest")
    first: dict[str, Any] = {}

    def ours_check(res: Any) -> str:
        blocked = dwp_eval.itt(trial, outcome=OUTCOME, assigned="arm", strata="stratum")
        fe = dwp_eval.itt(trial, outcome=OUTCOME, assigned="arm", strata="stratum", se_type="HC2",
                          estimator="ols")
        first["ours"], first["fe"] = res, fe.estimate
        if res.draws != draws or res.enumerated or res.n_strata != n_strata:
            raise h.BenchmarkError(
                f"randomisation_test ran {res.draws} draws over {res.n_strata} strata"
            )
        if abs(res.estimate - blocked.estimate) > 1e-12 * max(1.0, abs(blocked.estimate)):
            raise h.BenchmarkError(f"estimate {res.estimate} != itt's {blocked.estimate}")
        if not 1.0 / (draws + 1) <= res.p_value <= 1.0:
            raise h.BenchmarkError(f"p-value {res.p_value} out of range")
        return (f"{res.draws:,} draws within {res.n_strata} strata; blocked estimate "
                f"{res.estimate:.5f}, p = {res.p_value:.4f} (MC SE {res.p_value_mc_se:.4f})")

    def ritest(kind: str, reps: int) -> pd.Series:
        fit = pf.feols("y ~ treat | stratum", data=pf_frame)
        with contextlib.redirect_stderr(io.StringIO()):  # the slow path's progress bar
            return fit.ritest("treat", reps=reps, type=kind, rng=np.random.default_rng(SEED))

    def peer_check(reps: int) -> Any:
        def check(out: pd.Series) -> str:
            ours = first["ours"]
            est, p = float(out["Estimate"]), float(out["Pr(>|t|)"])
            if abs(est - first["fe"]) > 1e-8 * abs(first["fe"]):
                raise h.BenchmarkError(f"pyfixest estimate {est} != strata FE OLS {first['fe']}")
            tol = 0.02 + 5 * math.hypot(_mc_se(p, reps), _mc_se(ours.p_value, ours.draws))
            if abs(p - ours.p_value) > tol:
                raise h.BenchmarkError(
                    f"pyfixest p = {p:.4f} vs dwp_eval's {ours.p_value:.4f} (allowed {tol:.3f})"
                )
            return (f"{reps:,} draws, unstratified; FE estimate {est:.5f} = itt's; "
                    f"p = {p:.4f} (MC SE {_mc_se(p, reps):.4f})")

        return check

    label_c = f"pyfixest ritest coef ({PEER_DRAWS} draws, time x{draws // PEER_DRAWS}: extrapolated)"
    label_t = f"pyfixest ritest t ({PEER_T_DRAWS} draws, time x{draws // PEER_T_DRAWS}: extrapolated)"
    peers: dict[str, h.Case | h.Missing]
    if pf is None:
        why = (h.Missing("not run with --quick (numba compilation alone takes ~15 s)")
               if quick else h.missing("pyfixest"))
        peers = {label_c: why, label_t: why}
    else:
        pf_frame = pyfixest_data(trial)
        peers = {
            label_c: h.Case(
                "pf", lambda: ritest("randomization-c", PEER_DRAWS), check=peer_check(PEER_DRAWS)
            ),
            label_t: h.Case(
                "pf", lambda: ritest("randomization-t", PEER_T_DRAWS),
                check=peer_check(PEER_T_DRAWS),
            ),
        }
    cmp = h.compare(
        f"randomisation_test: {draws:,} draws, {n:,} people, {n_strata} strata",
        h.Case(
            "dwp_eval.randomisation_test",
            lambda: dwp_eval.randomisation_test(
                trial, outcome=OUTCOME, assigned="arm", strata="stratum", draws=draws, seed=SEED
            ),
            check=ours_check,
        ),
        peers,
        repeat=3,
        target_ratio={label_c: 10.0},
        quick=quick,
        info=f"whp_like trial randomised 1:1 within site x benefit; outcome {OUTCOME}, no effect; "
        f"dwp_eval: studentised, stratified re-draws; pyfixest: y ~ treat | stratum, Bernoulli "
        f"re-draws, timed on fewer draws and scaled linearly to {draws:,} (extrapolated)",
        show=False,
    )
    scale = {label_c: draws / PEER_DRAWS, label_t: draws / PEER_T_DRAWS}
    scaled = tuple(
        dataclasses.replace(t, times=tuple(x * scale[t.name] for x in t.times))
        if t.status == "ok"
        else t
        for t in cmp.peers
    )
    cmp = dataclasses.replace(cmp, peers=scaled)
    print(cmp.table(), "", sep="\n", flush=True)
    return [cmp]
