"""Seeded Monte Carlo behind the coverage figures of the site SD's intervals in
docs/guides/binary-outcomes.md: trials of 800 people in 20 sites (site SD 0.5 on the
logit scale, conditional OR exp(0.5)), fitted by binary_effect(site=...).

Run: python site_sd_coverage.py SIMS SEED wald|profile
(site_sd_coverage_wald.txt: 1000 7 wald; site_sd_coverage_profile.txt: 200 11 profile)
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd

import dwp_eval as de

warnings.simplefilter("ignore")
sims, seed, how = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(seed)
G, n = 20, 800
b0, bz, sd = -0.4, 0.5, 0.5
hit_or = hit_sd = 0
ors, sds = [], []
t = time.time()
for _ in range(sims):
    site = rng.integers(0, G, n)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    u = rng.normal(0, sd, G)
    y = (rng.random(n) < 1 / (1 + np.exp(-(b0 + bz * z + u[site])))).astype(int)
    df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": y, "site": site})
    r = de.binary_effect(df, outcome="y", assigned="arm", site="site", scale="odds_ratio",
                         site_interval=how)
    lo, hi = r.to_frame().loc[0, ["conf_low", "conf_high"]]
    hit_or += lo <= np.exp(bz) <= hi
    c = r.coefficients
    hit_sd += c["site_sd_conf_low"] <= sd <= c["site_sd_conf_high"]
    ors.append(np.log(r.estimate("odds_ratio")))
    sds.append(c["site_sd"])
mcse = np.sqrt(0.95 * 0.05 / sims)
print(f"sims {sims}, seed {seed}, site_interval={how}: OR coverage {hit_or / sims:.3f}, "
      f"site SD coverage {hit_sd / sims:.3f} (MC SE {mcse:.4f}); log OR bias "
      f"{np.mean(ors) - bz:.4f} (MC SE {np.std(ors) / np.sqrt(sims):.4f}); site SD mean "
      f"{np.mean(sds):.4f}; {time.time() - t:.0f} s")
