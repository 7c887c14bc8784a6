"""Quantile treatment effects: dwp_eval.quantile_effects (the percentile bootstrap,
vectorised: each arm sorted once, every batch of draws' weighted type-1 quantiles by
one cumulative sum and one searchsorted) against a plain per-draw numpy loop
(resample indices within arm, ``np.quantile(method="inverted_cdf")`` per arm) and
statsmodels ``QuantReg(y, [1, z]).fit(q=tau)`` per draw and level.

Jobs: 20,000 people (two arms of 10,000, 40% zeros), 5 quantiles, 999 draws (ours vs
the loop); 2,000 people (1,001 and 999: n tau never an integer), 5 quantiles, 49 draws (ours vs the loop vs statsmodels,
which refits 5 quantile regressions per draw).

Checks before timing: the loop's and statsmodels' point estimates equal dwp_eval's
(the loop exactly; statsmodels' IRLS to 1e-2 relative, n tau never an integer), and
with 999 draws the loop's bootstrap standard errors are within 20% of dwp_eval's
(different random streams, the same resampling scheme). Target: 2x the loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import dwp_eval
from benchmarks import harness as h

DATA_SEED = 20261206
TAUS = (0.1, 0.25, 0.5, 0.75, 0.9)


def make_trial(n_c: int, n_t: int, *, seed: int = DATA_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = np.r_[np.zeros(n_c), np.ones(n_t)]
    works = rng.random(len(z)) > np.where(z == 1, 0.35, 0.42)
    y = np.where(works, np.round(rng.lognormal(6.8 + 0.1 * z, 0.8), 2), 0.0)
    return pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "earnings": y})


def loop(frame: pd.DataFrame, draws: int, seed: int) -> np.ndarray:
    """The plain way: per draw, resample each arm and take its quantiles."""
    rng = np.random.default_rng(seed)
    y = frame["earnings"].to_numpy()
    t = (frame["arm"] == "treatment").to_numpy()
    yc, yt = y[~t], y[t]
    out = np.empty((draws + 1, len(TAUS)))
    out[0] = np.quantile(yt, TAUS, method="inverted_cdf") - np.quantile(yc, TAUS, method="inverted_cdf")
    for b in range(1, draws + 1):
        rc = yc[rng.integers(0, len(yc), len(yc))]
        rt = yt[rng.integers(0, len(yt), len(yt))]
        out[b] = np.quantile(rt, TAUS, method="inverted_cdf") - np.quantile(rc, TAUS, method="inverted_cdf")
    return out


def run(quick: bool) -> list[h.Comparison]:
    return [_job(n_c, n_t, draws, with_sm, quick)
            for n_c, n_t, draws, with_sm in ((10_000, 10_000, 999, False), (1_001, 999, 49, True))]


def _job(n_c: int, n_t: int, draws: int, with_sm: bool, quick: bool) -> h.Comparison:
    if quick:
        n_c, n_t, draws = n_c // 10 + 1, n_t // 10, min(draws, 99)
    frame = make_trial(n_c, n_t)
    ref: dict[str, Any] = {}

    def ours() -> Any:
        return dwp_eval.quantile_effects(frame, outcome="earnings", assigned="arm",
                                         quantiles=TAUS, draws=draws, seed=1)

    def ours_check(res: Any) -> str:
        f = res.to_frame()
        ref["est"], ref["se"] = f["estimate"].to_numpy(), f["std_error"].to_numpy()
        return f"QTE at {TAUS}: {np.round(ref['est'], 2).tolist()}"

    def loop_check(res: np.ndarray) -> str:
        if not np.array_equal(res[0], ref["est"]):
            raise h.BenchmarkError(f"loop estimate {res[0]} differs from {ref['est']}")
        se = res[1:].std(axis=0, ddof=1)
        if len(res) < 500:  # a few draws: their SEs are too noisy to compare
            return "estimates equal"
        ok = (ref["se"] == 0) | (np.abs(se / np.where(ref["se"] == 0, 1, ref["se"]) - 1) < 0.2)
        if not ok.all():
            raise h.BenchmarkError(f"loop bootstrap SEs {se} far from dwp_eval's {ref['se']}")
        return "estimates equal; bootstrap SEs within 20%"

    peers: dict[str, h.Case | h.Missing] = {
        "numpy loop per draw": h.Case("loop", lambda: loop(frame, draws, 2), check=loop_check),
    }
    if with_sm:
        sm = h.optional_import("statsmodels.api")
        if sm is None:
            peers["statsmodels QuantReg per draw"] = h.missing("statsmodels")
        else:
            peers["statsmodels QuantReg per draw"] = h.Case(
                "sm", lambda: _quantreg(sm, frame, draws), check=_sm_check(ref))
    cmp = h.compare(
        f"quantile_effects, {n_c + n_t:,} people, {len(TAUS)} quantiles, {draws:,} draws",
        h.Case("dwp_eval.quantile_effects", ours, check=ours_check), peers,
        repeat=1 if quick else 3, quick=quick, show=False,
        target_ratio={"numpy loop per draw": 2.0} if not with_sm else None,
    )
    print(cmp.table(), "", sep="\n", flush=True)
    return cmp


def _quantreg(sm: Any, frame: pd.DataFrame, draws: int) -> np.ndarray:
    import warnings

    rng = np.random.default_rng(3)
    y = frame["earnings"].to_numpy()
    z = (frame["arm"] == "treatment").to_numpy(dtype=float)
    rows_c, rows_t = np.flatnonzero(z == 0), np.flatnonzero(z == 1)
    out = np.empty((draws + 1, len(TAUS)))
    for b in range(draws + 1):
        if b == 0:
            idx = np.arange(len(y))
        else:
            idx = np.r_[rng.choice(rows_c, len(rows_c)), rng.choice(rows_t, len(rows_t))]
        X = np.column_stack([np.ones(len(idx)), z[idx]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for j, tau in enumerate(TAUS):
                out[b, j] = sm.QuantReg(y[idx], X).fit(q=tau, max_iter=5000).params[1]
    return out


def _sm_check(ref: dict[str, Any]) -> Any:
    def check(res: np.ndarray) -> str:
        d = np.abs(res[0] - ref["est"])
        if np.any(d > 1e-2 * np.maximum(1.0, np.abs(ref["est"]))):
            raise h.BenchmarkError(f"statsmodels QuantReg {res[0]} differs from {ref['est']}")
        return f"estimates agree (max abs diff {d.max():.1e}, IRLS)"
    return check
