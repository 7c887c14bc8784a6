"""Binary outcomes: dwp_eval.binary_effect against statsmodels Logit with a
sandwich variance, and a bare-numpy Newton logit as a floor.

Target (issue 15, item 1): the logit with 10 covariates on 1,000,000 rows, HC0
sandwich, at least 2x faster than statsmodels ``Logit(y, X).fit(cov_type="HC0")``
on the same rows (from the DataFrame, as dwp_eval is). dwp_eval also computes the
marginal risk difference and ratio by standardisation with their influence-function
variances, which statsmodels does not; the floor (Newton steps and the HC0
sandwich, nothing else, matrices prebuilt) shows how much room is left.

Before timing, statsmodels' log odds ratio and HC0 SE are checked equal to
dwp_eval's to 1e-6 relative.

Second job: the random-intercept (site) logit, ``site=`` with nAGQ=15, 50 sites
and 200,000 rows, 10 covariates: target under 10 s (no in-process peer: lme4 is R).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

import dwp_eval
from benchmarks import harness as h

DATA_SEED = 20261206
K = 10
COVARIATES = [f"x{j}" for j in range(1, K + 1)]
RTOL = 1e-6


def make_trial(n: int, *, seed: int = DATA_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, K))
    z = rng.permutation(np.arange(n) < n // 2)
    eta = -0.6 + 0.3 * z + x @ (np.arange(1, K + 1) / (2 * K))
    y = (rng.random(n) < special.expit(eta)).astype(np.int8)
    frame = pd.DataFrame({"arm": np.where(z, "treatment", "control"), "y": y})
    for j, name in enumerate(COVARIATES):
        frame[name] = x[:, j]
    return frame


def design(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    z = (frame["arm"] == "treatment").to_numpy(dtype=float)
    X = np.column_stack([np.ones(n), z, frame[COVARIATES].to_numpy(dtype=float)])
    return frame["y"].to_numpy(dtype=float), X


def floor_fit(yX: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """Newton-Raphson logit and HC0 sandwich in bare numpy: the floor."""
    y, X = yX
    beta = np.zeros(X.shape[1])
    for _ in range(25):
        p = special.expit(X @ beta)
        info = (X * (p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(info, X.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = special.expit(X @ beta)
    s = X * (y - p)[:, None]
    B = np.linalg.inv((X * (p * (1 - p))[:, None]).T @ X)
    V = B @ (s.T @ s) @ B
    return float(beta[1]), float(np.sqrt(V[1, 1]))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def run(quick: bool) -> list[h.Comparison]:
    n = 20_000 if quick else 1_000_000
    frame = make_trial(n)
    sm = h.optional_import("statsmodels.api")
    ref: dict[str, tuple[float, float]] = {}

    def ours() -> Any:
        return dwp_eval.binary_effect(frame, outcome="y", assigned="arm", covariates=COVARIATES)

    def ours_check(res: Any) -> str:
        ref["ours"] = (float(np.log(res.estimate("odds_ratio"))), float(res.log_std_errors["odds_ratio"]))
        return (f"RD {res.estimate('risk_difference'):.5f} (SE {res.std_errors['risk_difference']:.5f}), "
                f"OR {res.estimate('odds_ratio'):.5f}")

    def agree(label: str) -> Any:
        def check(out: tuple[float, float]) -> str:
            d = max(_rel(out[0], ref["ours"][0]), _rel(out[1], ref["ours"][1]))
            if d > RTOL:
                raise h.BenchmarkError(f"{label} {out} differs from dwp_eval {ref['ours']} ({d:.1e})")
            return f"log OR and HC0 SE = dwp_eval's (rel diff {d:.0e})"
        return check

    def sm_fit(yX: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
        fit = sm.Logit(yX[0], yX[1]).fit(disp=0, cov_type="HC0")
        return float(fit.params[1]), float(fit.bse[1])

    peers: dict[str, h.Case | h.Missing] = {
        "numpy Newton + HC0 (floor, X prebuilt)": h.Case(
            "floor", floor_fit, setup=lambda: design(frame), check=agree("numpy floor")),
    }
    if sm is None:
        peers["statsmodels Logit HC0"] = h.missing("statsmodels")
    else:
        peers["statsmodels Logit HC0"] = h.Case(
            "sm", lambda: sm_fit(design(frame)), check=agree("statsmodels"))
    cmp = h.compare(
        f"binary_effect logit HC0, {n:,} rows, {K} covariates",
        h.Case("dwp_eval.binary_effect", ours, check=ours_check),
        peers,
        repeat=2 if quick else 3,
        target_ratio={"statsmodels Logit HC0": 2.0},
        quick=quick,
        info="dwp_eval also computes the standardised RD and RR with influence-function SEs",
        show=False,
    )
    print(cmp.table(), "", sep="\n", flush=True)
    return [cmp, _site_job(quick)]


def _site_job(quick: bool) -> h.Comparison:
    n, n_sites = (20_000, 20) if quick else (200_000, 50)
    frame = make_trial(n, seed=DATA_SEED + 1)
    rng = np.random.default_rng(DATA_SEED + 2)
    site = rng.integers(0, n_sites, n)
    u = rng.normal(scale=0.5, size=n_sites)
    _, X = design(frame)
    eta = X @ np.r_[-0.6, 0.3, np.arange(1, K + 1) / (2 * K)] + u[site]
    frame["y"] = (rng.random(n) < special.expit(eta)).astype(np.int8)
    frame["site"] = site

    def ours() -> Any:
        return dwp_eval.binary_effect(frame, outcome="y", assigned="arm", covariates=COVARIATES,
                                      site="site")

    def check(res: Any) -> str:
        sd = res.coefficients["site_sd"]
        if not 0.3 < sd < 0.7:
            raise h.BenchmarkError(f"site SD {sd} far from the simulated 0.5")
        return f"OR {res.estimate('odds_ratio'):.4f}, site SD {sd:.4f}"

    cmp = h.compare(
        f"binary_effect site model (nAGQ=15), {n:,} rows, {n_sites} sites, {K} covariates",
        h.Case("dwp_eval.binary_effect(site=)", ours, check=check), {},
        repeat=1 if quick else 2, target_seconds=10.0, quick=quick, show=False,
    )
    print(cmp.table(), "", sep="\n", flush=True)
    return cmp
