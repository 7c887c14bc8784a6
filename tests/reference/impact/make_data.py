"""Seeded datasets for the impact-table references (values rounded to 6 decimals so R and
Python read identical doubles). Run from this folder:  python make_data.py"""

from __future__ import annotations

import numpy as np
import pandas as pd

# 1. four arms (control, a, b, c), unequal sizes and variances: Dunnett with HC2
rng = np.random.default_rng(20261205)
sizes = {"control": 180, "a": 120, "b": 150, "c": 90}
sds = {"control": 1.0, "a": 1.4, "b": 0.8, "c": 1.2}
shift = {"control": 0.0, "a": 0.35, "b": 0.15, "c": -0.05}
parts = []
for arm, n in sizes.items():
    parts.append(pd.DataFrame({
        "arm": arm,
        "y1": rng.normal(shift[arm], sds[arm], n),
        "y2": rng.normal(0.5 * shift[arm], sds[arm], n),
    }))
multi = pd.concat(parts, ignore_index=True).round(6)
multi.to_csv("data/multiarm.csv", index=False)

# 2. three arms with the same sample variance in every arm (the classical one-way ANOVA
# model of scipy.stats.dunnett): each arm's draws standardised, then scaled and shifted
parts = []
for arm, n, mu in [("control", 100, 0.0), ("a", 80, 0.45), ("b", 120, 0.2)]:
    e = rng.normal(size=n)
    e = (e - e.mean()) / e.std(ddof=1)
    parts.append(pd.DataFrame({"arm": arm, "y": mu + 2.0 * e}))
homo = pd.concat(parts, ignore_index=True)
homo.to_csv("data/homoskedastic.csv", index=False, float_format="%.17g")

# 3. the user's stratified trial: 14 sites x 2 benefits = 28 strata, people randomised
# 1:1 within strata, a health condition drawn at random (a rare level makes strata that
# hold one arm within the subgroup), a covariate and an outcome
n = 3000
site = rng.integers(0, 14, n)
benefit = rng.integers(0, 2, n)
strat = pd.DataFrame({"stratum": [f"site{s:02d}_{'uc' if b else 'esa'}" for s, b in zip(site, benefit, strict=True)]})
arm = np.empty(n, dtype=object)
for _stratum, idx in strat.groupby("stratum").indices.items():
    lab = np.array(["control", "treatment"] * (len(idx) // 2 + 1))[: len(idx)]
    arm[idx] = rng.permutation(lab)
strat["arm"] = arm
strat["health_condition"] = rng.choice(["none", "mental", "msk", "other"], n, p=[0.5, 0.3, 0.16, 0.04])
strat["x"] = rng.normal(size=n)
z = (strat["arm"] == "treatment").to_numpy()
effect = np.where(strat["health_condition"] == "mental", 0.05, 0.2)
strat["y"] = 1.0 + 0.5 * strat["x"] + effect * z + 0.1 * site + rng.normal(size=n)
strat = strat.round(6)
strat.to_csv("data/stratified_subgroups.csv", index=False)
print("wrote", len(multi), len(homo), len(strat), "rows")
