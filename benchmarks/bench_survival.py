"""Survival effects: dwp_eval.survival_effect (KM curves with intervals and band, RMST
difference, Cox HR with robust SE, log-rank) against lifelines when it is installed
(KaplanMeierFitter x2, restricted_mean_survival_time, CoxPHFitter(robust=True),
logrank_test) and statsmodels (SurvfuncRight x2, PHReg with a robust covariance,
survdiff), and a bare-numpy floor (KM and Greenwood RMST by arm and the log-rank
statistic, no Cox model) showing how much of the time the Cox fit takes.

100,000 people (quick: 10,000), whole-day durations up to 730 days (ties), one
covariate. Before timing, statsmodels' Cox coefficient is checked equal to
dwp_eval's to 1e-6 relative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import dwp_eval
from benchmarks import harness as h

DATA_SEED = 20261206
TAU = 365.0
RTOL = 1e-6


def make_trial(n: int, *, seed: int = DATA_SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.permutation(np.arange(n) < n // 2)
    x = rng.normal(size=n)
    t = rng.exponential(1 / (np.exp(np.log(1 / 250) + 0.2 * z + 0.3 * x)))
    c = np.minimum(rng.exponential(1500, n), 730)
    return pd.DataFrame({"arm": np.where(z, "treatment", "control"), "x": x,
                         "days": np.maximum(np.ceil(np.minimum(t, c)), 1.0),
                         "event": (t <= c).astype(int)})


def floor(frame: pd.DataFrame) -> float:
    """KM, Greenwood RMST by arm and the log-rank statistic in bare numpy."""
    t = frame["days"].to_numpy()
    e = frame["event"].to_numpy()
    z = (frame["arm"] == "treatment").to_numpy()
    ut, inv = np.unique(t, return_inverse=True)
    out = []
    for m in (~z, z):
        d = np.bincount(inv[m], weights=e[m], minlength=len(ut))
        y = np.cumsum(np.bincount(inv[m], minlength=len(ut))[::-1])[::-1].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.cumprod(np.where(y > 0, 1 - d / y, 1.0))
        keep = ut <= TAU
        area = s[keep] * np.diff(np.append(ut[keep], TAU))
        A = np.cumsum(area[::-1])[::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.sum(np.where((d[keep] > 0) & (y[keep] > d[keep]),
                                  A**2 * d[keep] / (y[keep] * (y[keep] - d[keep])), 0.0))
        out.append((ut[keep][0] + area.sum(), var, d, y))
    d0, y0, d1, y1 = out[0][2], out[0][3], out[1][2], out[1][3]
    dd, yy = d0 + d1, y0 + y1
    with np.errstate(divide="ignore", invalid="ignore"):
        exp1 = np.where(yy > 0, dd * y1 / yy, 0.0)
        v = np.where(yy > 1, dd * (y1 / yy) * (1 - y1 / yy) * (yy - dd) / (yy - 1), 0.0)
    return float((d1.sum() - exp1.sum()) ** 2 / v.sum())


def run(quick: bool) -> list[h.Comparison]:
    n = 10_000 if quick else 100_000
    frame = make_trial(n)
    ref: dict[str, float] = {}

    def ours() -> Any:
        return dwp_eval.survival_effect(frame, duration="days", event="event", assigned="arm",
                                        horizon=TAU, covariates=["x"])

    def ours_check(res: Any) -> str:
        ref["b"] = res.log_hazard_ratio
        return (f"RMST diff {res.rmst_difference:.3f} (SE {res.rmst_difference_se:.3f}), "
                f"HR {res.hazard_ratio:.4f}")

    def sm_job() -> float:
        from statsmodels.duration.hazard_regression import PHReg
        from statsmodels.duration.survfunc import SurvfuncRight, survdiff
        z = (frame["arm"] == "treatment").to_numpy(dtype=float)
        for m in (z == 0, z == 1):
            SurvfuncRight(frame["days"].to_numpy()[m], frame["event"].to_numpy()[m])
        X = np.column_stack([z, frame["x"].to_numpy()])
        fit = PHReg(frame["days"].to_numpy(), X, status=frame["event"].to_numpy(),
                    ties="efron").fit(groups=np.arange(n))
        survdiff(frame["days"].to_numpy(), frame["event"].to_numpy(), z)
        return float(fit.params[0])

    def sm_check(b: float) -> str:
        d = abs(b - ref["b"]) / abs(ref["b"])
        if d > RTOL:
            raise h.BenchmarkError(f"statsmodels log HR {b} differs from dwp_eval {ref['b']}")
        return f"log HR = dwp_eval's (rel diff {d:.0e})"

    ll = h.optional_import("lifelines")
    peers: dict[str, h.Case | h.Missing] = {
        "numpy KM + RMST + log-rank (floor, no Cox)": h.Case("floor", lambda: floor(frame)),
        "statsmodels SurvfuncRight + PHReg + survdiff": h.Case("sm", sm_job, check=sm_check),
    }
    if ll is None:
        peers["lifelines"] = h.Missing("lifelines not installed (pip install lifelines; it is "
                                       "not a dependency of dwp_eval)")
    else:
        def ll_job() -> float:
            from lifelines.statistics import logrank_test
            from lifelines.utils import restricted_mean_survival_time
            df = frame.assign(z=(frame["arm"] == "treatment").astype(int))
            for a in (0, 1):
                part = df[df["z"] == a]
                kmf = ll.KaplanMeierFitter().fit(part["days"], part["event"])
                restricted_mean_survival_time(kmf, t=TAU)
            cph = ll.CoxPHFitter().fit(df[["days", "event", "z", "x"]], "days", "event", robust=True)
            a, b = df[df["z"] == 0], df[df["z"] == 1]
            logrank_test(a["days"], b["days"], a["event"], b["event"])
            return float(cph.params_["z"])
        peers["lifelines"] = h.Case("lifelines", ll_job)
    cmp = h.compare(
        f"survival_effect (KM, RMST, Cox robust, log-rank), {n:,} people",
        h.Case("dwp_eval.survival_effect", ours, check=ours_check),
        peers,
        repeat=2 if quick else 3,
        quick=quick,
        info="dwp_eval fits the Efron Cox model itself and adds R's dfbeta sandwich",
        show=False,
    )
    print(cmp.table(), "", sep="\n", flush=True)
    return [cmp]
