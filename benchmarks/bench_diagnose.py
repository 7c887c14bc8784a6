"""Design diagnosis: dwp_eval.diagnose against a plain loop calling statsmodels.

Target (the issue): ``diagnose`` with 1,000 simulations of an HC2 ITT on
10,000 people in under 10 s, and at least 20x faster than a plain loop that,
for each simulation, randomises with ``dwp_eval.randomise`` and fits
``statsmodels OLS(y, [1, z]).fit(cov_type="HC2")``.

Both do the same job on the same fixed population (``y0`` normal, constant
effect 0.1): simulation ``s`` draws its assignment with the ``s``-th child of
``SeedSequence(SEED)``, so both see identical assignments. The loop takes about
6 ms per simulation, so it is timed on ``PEER_SIMS`` simulations and its times
are scaled by ``sims / PEER_SIMS`` (labelled in the table). Before timing, the
peer's estimates and HC2 standard errors are checked to equal diagnose's for
the same simulations (the HC2 SE of a difference in means is the Neyman SE).

The designs people actually run (issue 16, item 6): a stratified design (10
strata; the blocked difference in means), additive covariates (3) and Lin's
interacted covariates (3), each 1,000 simulations of 10,000 people, target at
least 10x the statsmodels loop. The loop's model is the regression that gives
the same estimate and HC2 SE as ``itt``: ``[1, z, x]`` (additive),
``[1, z, x_c, z x_c]`` (Lin) and, for the blocked difference in means,
``[1, z, D_c, z D_c]`` with ``D_c`` the centred stratum dummies (a saturated
cell-means model: its HC2 variance is the blocked Neyman variance, Gerber &
Green 2012 eq. 3.11). A bare-numpy floor is timed too: a loop that, given the
same assignments (drawn untimed beforehand), fits each simulation's OLS by
``numpy.linalg.qr`` with the HC2 variance from the leverages (no library
overhead); its ratio says how much of the speed-up comes from batching rather
than from removing overhead. Both loops are timed on ``PEER_SIMS`` simulations
and scaled.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

import dwp_eval
from benchmarks import harness as h
from dwp_eval.design.simulate import diagnose

SEED = 20240501
DATA_SEED = 1
EFFECT = 0.1
PEER_SIMS = 50


N_STRATA = 10


def make_population(n: int, *, seed: int = DATA_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "y0": x @ np.array([0.5, 0.3, -0.2]) + rng.normal(size=n),
        "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2],
        "region": rng.integers(0, N_STRATA, size=n),
    })


COVS = ["x1", "x2", "x3"]
#: the designs: diagnose's keywords, and the statsmodels regression that reproduces itt
DESIGNS: dict[str, dict[str, Any]] = {
    "stratified": {"strata": "region"},
    "additive covariates": {"covariates": COVS, "adjustment": "additive"},
    "Lin covariates": {"covariates": COVS, "adjustment": "lin"},
}


def design_matrix(pop: pd.DataFrame, z: np.ndarray, design: str) -> np.ndarray:
    """The regressors whose OLS coefficient on z (column 1) and HC2 SE equal itt's."""
    one = np.ones(len(z))
    if design == "stratified":
        d = pd.get_dummies(pop["region"], drop_first=True, dtype=float).to_numpy()
        d -= d.mean(axis=0)
        return np.column_stack([one, z, d, z[:, None] * d])
    x = pop[COVS].to_numpy(dtype=float)
    x = x - x.mean(axis=0)
    if design == "additive covariates":
        return np.column_stack([one, z, x])
    return np.column_stack([one, z, x, z[:, None] * x])


def assignments(pop: pd.DataFrame, sims: int, design: str) -> list[np.ndarray]:
    """Simulation s's 0/1 assignment by dwp_eval.randomise with the s-th child seed
    (what diagnose draws)."""
    strata = "region" if design == "stratified" else None
    out = []
    for child in np.random.SeedSequence(SEED).spawn(sims):
        alloc = dwp_eval.randomise(pop, strata=strata, seed=np.random.default_rng(child))
        arm = alloc.table.set_index("id")["arm"].reindex(pop["id"]).to_numpy()
        out.append((arm == "treatment").astype(float))
    return out


def statsmodels_design_loop(sm: Any, pop: pd.DataFrame, sims: int, design: str) -> np.ndarray:
    """For each simulation: randomise, reveal y, fit statsmodels OLS with HC2."""
    y0 = pop["y0"].to_numpy()
    out = np.empty((sims, 2))
    for s, z in enumerate(assignments(pop, sims, design)):
        fit = sm.OLS(y0 + EFFECT * z, design_matrix(pop, z, design)).fit(cov_type="HC2")
        out[s] = fit.params[1], fit.bse[1]
    return out


def numpy_loop(pop: pd.DataFrame, zs: list[np.ndarray], design: str) -> np.ndarray:
    """The bare-numpy floor: given the assignments, OLS by QR and HC2 per simulation."""
    y0 = pop["y0"].to_numpy()
    out = np.empty((len(zs), 2))
    for s, z in enumerate(zs):
        X = design_matrix(pop, z, design)
        y = y0 + EFFECT * z
        Q, R = np.linalg.qr(X)
        beta = np.linalg.solve(R, Q.T @ y)
        e = y - X @ beta
        h = np.einsum("ij,ij->i", Q, Q)
        # row 1 of (X'X)^{-1} X' = (Q R^{-T} e_1)'
        a = Q @ np.linalg.solve(R.T, np.eye(R.shape[0])[:, 1])
        out[s] = beta[1], np.sqrt(np.sum(a**2 * e**2 / (1 - h)))
    return out


def run_design(design: str, pop: pd.DataFrame, sims: int, peer_sims: int, sm: Any,
               quick: bool) -> h.Comparison:
    kw = DESIGNS[design]
    first: dict[str, Any] = {}

    def ours_check(res: Any) -> str:
        if res.method != "batched" or res.sims != sims:
            raise h.BenchmarkError(f"diagnose ran {res.sims} sims by {res.method!r}")
        first["ours"] = res
        return (f"{res.sims:,} sims, {res.method} ({res.design}, {res.se_type}); coverage "
                f"{res.coverage:.3f}, power {res.power:.3f}")

    def same(out: np.ndarray, who: str) -> str:
        ours = first["ours"]
        de = float(np.max(np.abs(out[:, 0] - ours.estimates[:peer_sims])))
        ds = float(np.max(np.abs(out[:, 1] - ours.std_errors[:peer_sims])))
        if de > 1e-10 or ds > 1e-10:
            raise h.BenchmarkError(f"{who} estimates/SEs differ from diagnose's ({de:.2g}, {ds:.2g})")
        return f"{peer_sims} sims; max |diff| estimate {de:.1g}, SE {ds:.1g}"

    sm_label = f"statsmodels OLS HC2 loop ({peer_sims} sims, time x{sims // peer_sims})"
    np_label = f"bare-numpy QR+HC2 loop ({peer_sims} sims, time x{sims // peer_sims})"
    peers: dict[str, h.Case | h.Missing] = {
        sm_label: h.missing("statsmodels") if sm is None else h.Case(
            "statsmodels", lambda: statsmodels_design_loop(sm, pop, peer_sims, design),
            check=lambda out: same(out, "statsmodels")),
        np_label: h.Case("numpy", lambda zs: numpy_loop(pop, zs, design),
                         setup=lambda: assignments(pop, peer_sims, design),
                         check=lambda out: same(out, "numpy")),
    }
    cmp = h.compare(
        f"diagnose, {design}: {sims:,} simulations of an HC2 ITT on {len(pop):,} people",
        h.Case("dwp_eval.diagnose",
               lambda: diagnose(pop, effect=EFFECT, sims=sims, seed=SEED, progress=False, **kw),
               check=ours_check),
        peers,
        repeat=3,
        target_ratio={sm_label: 10.0},
        quick=quick,
        info=f"fixed population, 1:1, constant effect {EFFECT}; seed {SEED}; {kw}; the statsmodels "
        "loop randomises with dwp_eval.randomise and fits per simulation; the numpy floor is given "
        "the assignments (drawn untimed)",
        show=False,
    )
    scale = sims / peer_sims
    scaled = tuple(
        dataclasses.replace(t, times=tuple(x * scale for x in t.times)) if t.status == "ok" else t
        for t in cmp.peers
    )
    return dataclasses.replace(cmp, peers=scaled)


def statsmodels_loop(sm: Any, pop: pd.DataFrame, sims: int) -> np.ndarray:
    """For each simulation: randomise, reveal y, fit OLS with HC2; returns (estimate, SE) rows."""
    y0 = pop["y0"].to_numpy()
    out = np.empty((sims, 2))
    for s, child in enumerate(np.random.SeedSequence(SEED).spawn(sims)):
        alloc = dwp_eval.randomise(pop, seed=np.random.default_rng(child))
        arm = alloc.table.set_index("id")["arm"].reindex(pop["id"]).to_numpy()
        z = (arm == "treatment").astype(float)
        y = y0 + EFFECT * z
        fit = sm.OLS(y, np.column_stack([np.ones_like(z), z])).fit(cov_type="HC2")
        out[s] = fit.params[1], fit.bse[1]
    return out


def run(quick: bool) -> list[h.Comparison]:
    n = 2_000 if quick else 10_000
    sims = 100 if quick else 1_000
    peer_sims = 10 if quick else PEER_SIMS
    pop = make_population(n)
    sm = h.optional_import("statsmodels.api")

    first: dict[str, Any] = {}

    def ours_check(res: Any) -> str:
        if res.method != "batched" or res.sims != sims:
            raise h.BenchmarkError(f"diagnose ran {res.sims} sims by {res.method!r}")
        first["ours"] = res
        return (f"{res.sims:,} sims, {res.method}; coverage {res.coverage:.3f}, power "
                f"{res.power:.3f}, bias {res.bias:.2g}")

    def peer_check(out: np.ndarray) -> str:
        ours = first["ours"]
        if not (np.allclose(out[:, 0], ours.estimates[:peer_sims], rtol=1e-9, atol=1e-12)
                and np.allclose(out[:, 1], ours.std_errors[:peer_sims], rtol=1e-9)):
            raise h.BenchmarkError("statsmodels estimates/SEs differ from diagnose's")
        return f"{peer_sims} sims; estimates and HC2 SEs equal diagnose's"

    ours = h.Case(
        "dwp_eval.diagnose",
        lambda: diagnose(pop, effect=EFFECT, sims=sims, seed=SEED),
        check=ours_check,
    )
    label = f"statsmodels OLS HC2 loop ({peer_sims} sims, time x{sims // peer_sims})"
    peers: dict[str, h.Case | h.Missing] = {
        label: h.missing("statsmodels")
        if sm is None
        else h.Case("statsmodels", lambda: statsmodels_loop(sm, pop, peer_sims), check=peer_check)
    }
    cmp = h.compare(
        f"diagnose: {sims:,} simulations of an HC2 ITT on {n:,} people",
        ours,
        peers,
        repeat=3,
        target_seconds=10.0,
        target_ratio={label: 20.0},
        quick=quick,
        info=f"fixed population, complete randomisation 1:1, constant effect {EFFECT}; seed {SEED}; "
        f"the peer loop randomises with dwp_eval.randomise and fits statsmodels per simulation, "
        f"timed on {peer_sims} simulations and scaled to {sims:,}",
        show=False,
    )
    scale = sims / peer_sims
    scaled = tuple(
        dataclasses.replace(t, times=tuple(x * scale for x in t.times)) if t.status == "ok" else t
        for t in cmp.peers
    )
    cmp = dataclasses.replace(cmp, peers=scaled)
    print(cmp.table(), "", sep="\n", flush=True)
    out = [cmp]
    for design in DESIGNS:
        c = run_design(design, pop, sims, peer_sims, sm, quick)
        print(c.table(), "", sep="\n", flush=True)
        out.append(c)
    return out
