"""Seeded Monte Carlo (4,000 sims, seed 2026) of the standardised RD and RR and the
conditional OR of binary_effect: the design of
tests/test_binary.py::test_coverage_monte_carlo with more trials.

Run: python standardised_coverage.py > standardised_coverage.txt
"""

import warnings

import numpy as np
import pandas as pd

import dwp_eval as de

warnings.simplefilter("ignore")
rng = np.random.default_rng(2026)
b0, bz, bx = -0.5, 0.5, 1.0
xs = rng.normal(size=4_000_000)
p1 = (1 / (1 + np.exp(-(b0 + bz + bx * xs)))).mean()
p0 = (1 / (1 + np.exp(-(b0 + bx * xs)))).mean()
truth = {"risk_difference": p1 - p0, "risk_ratio": p1 / p0, "odds_ratio": np.exp(bz)}
sims, n = 4000, 400
hits = dict.fromkeys(truth, 0)
est: dict[str, list[float]] = {k: [] for k in truth}
for _ in range(sims):
    x = rng.normal(size=n)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    y = (rng.random(n) < 1 / (1 + np.exp(-(b0 + bz * z + bx * x)))).astype(int)
    df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": y, "x": x})
    ci = de.binary_effect(df, outcome="y", assigned="arm", covariates=["x"]).to_frame()
    for r in ci.itertuples(index=False):
        hits[r.scale] += r.conf_low <= truth[r.scale] <= r.conf_high
        est[r.scale].append(r.estimate)
mcse = np.sqrt(0.95 * 0.05 / sims)
for s in truth:
    print(f"{s}: coverage {hits[s] / sims:.4f} (MC SE {mcse:.4f}); bias "
          f"{np.mean(est[s]) - truth[s]:.5f} (MC SE {np.std(est[s]) / np.sqrt(sims):.5f})")
