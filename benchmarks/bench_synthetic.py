"""Synthetic DiD on the California Proposition 99 panel (39 states x 31 years):
dwp_eval against R synthdid, and a numpy floor.

R cannot run in this process, so R synthdid is timed by ``Rscript`` in a
subprocess, timing only ``synthdid_estimate`` inside R with ``system.time``
(R start-up and data loading excluded); the ratio R / dwp_eval is printed.
synthdid is not in Debian: build it into a private library first
(``R CMD INSTALL -l /tmp/Rlib <synthdid source>``; see
``tests/reference/synthetic/README.md``); without it the time recorded in
``benchmarks/r/bench_synthdid.out`` (written by ``benchmarks/r/bench_synthdid.R``)
is used, and without that the R row is skipped.

The numpy floor is the final weighted two-way fixed effects product
``(-omega, 1/N1)' Y (-lambda, 1/T1)`` with the weights given: the part of the work
no solver can avoid. Before timing, dwp_eval's estimate is checked against R's
(-15.6038278727338, committed in tests/reference/synthetic) to 1e-8.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from benchmarks import harness as h
from dwp_eval._core.synthetic import fit_sdid, sdid_estimate
from dwp_eval.estimate.synthetic import synthetic_did

DATA = Path(__file__).resolve().parent.parent / "tests" / "reference" / "synthetic" / "california_prop99.csv"
R_LIB = "/tmp/Rlib"
R_OUT = Path(__file__).resolve().parent / "r" / "bench_synthdid.out"
R_ESTIMATE = -15.603827872733849  # tests/reference/synthetic/synthdid_reference.csv
R_SCRIPT = """
library(synthdid, lib.loc = "{lib}")
d <- read.csv("{data}", sep = ";")
setup <- panel.matrices(d, unit = "State", time = "Year", outcome = "PacksPerCapita", treatment = "treated")
reps <- {reps}
t <- system.time(for (k in 1:reps) e <- synthdid_estimate(setup$Y, setup$N0, setup$T0))[["elapsed"]]
cat(sprintf("%.17g %.17g\\n", t / reps, c(e)))
"""


def r_synthdid_seconds(reps: int) -> tuple[float, float] | None:
    """Seconds per ``synthdid_estimate`` call measured inside R, and R's estimate."""
    if shutil.which("Rscript") is None or not Path(R_LIB, "synthdid").exists():
        return None
    out = subprocess.run(["Rscript", "-e", R_SCRIPT.format(lib=R_LIB, data=DATA, reps=reps)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def r_synthdid_recorded() -> tuple[float, float] | None:
    """Seconds per call and estimate read from ``benchmarks/r/bench_synthdid.out``."""
    if not R_OUT.exists():
        return None
    text = R_OUT.read_text()
    sec = re.search(r"elapsed_seconds_per_call ([0-9.eE+-]+)", text)
    est = re.search(r"estimate ([0-9.eE+-]+)", text)
    if sec is None or est is None:
        return None
    return float(sec.group(1)), float(est.group(1))


def run(quick: bool) -> list[h.Comparison]:
    data = pd.read_csv(DATA, sep=";")
    kw = {"outcome": "PacksPerCapita", "unit": "State", "time": "Year",
          "treated_units": ["California"], "treat_time": 1989, "se_method": "jackknife"}

    def ours() -> float:
        return synthetic_did(data, **kw).estimate

    def check(est: float) -> str:
        if abs(est - R_ESTIMATE) > 1e-8:
            raise h.BenchmarkError(f"estimate {est!r} differs from R synthdid's {R_ESTIMATE!r}")
        return "estimate equals R synthdid's to 1e-8"

    Y = (data.assign(c=data.State == "California").sort_values(["c", "State", "Year"])
         .pivot_table(index=["c", "State"], columns="Year", values="PacksPerCapita").to_numpy())
    fit = fit_sdid(Y, 38, 19, kind="sdid")

    def floor() -> float:
        return sdid_estimate(Y, 38, 19, fit.omega, fit.lam)

    comp = h.compare("synthetic_did point estimate (Frank-Wolfe weights), Prop 99: 39 states x 31 years",
                     h.Case("dwp_eval.synthetic_did", ours, check=check), {"numpy floor": floor},
                     repeat=3 if quick else 7, quick=quick,
                     info="R synthdid is timed separately (inside R, below)")
    r = r_synthdid_seconds(3 if quick else 10)
    source = "timed inside R"
    if r is None:
        r = r_synthdid_recorded()
        source = f"recorded in {R_OUT.name}"
    if r is None:
        print("R synthdid: not built and no recorded time (skipped)")
    else:
        r_sec, r_est = r
        ours_sec = comp.ours.median
        print(f"R synthdid_estimate ({source}): {r_sec:.4f} s per call; estimate {r_est:.10g}")
        print(f"ratio R / dwp_eval (median): {r_sec / ours_sec:.2f}")
    return [comp]


if __name__ == "__main__":
    run(quick=False)
