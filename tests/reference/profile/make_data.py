"""Seeded synthetic trial with monthly RTI-like records for the impact-profile references.

Writes data/people.csv (id, arm, stratum, randomised_on, age, benefit) and data/employment.csv (id,
month, earnings): 600 people randomised January to March 2019 within 4 strata, 9 months of
records after the latest randomisation month (to 2019-12), a known monthly effect.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261206)
n, K = 600, 9
stratum = rng.integers(0, 4, size=n)
arm = np.empty(n, dtype=object)
for s in range(4):  # complete randomisation within each stratum, half to treatment
    idx = np.flatnonzero(stratum == s)
    z = np.zeros(len(idx), dtype=bool)
    z[rng.permutation(len(idx))[: len(idx) // 2]] = True
    arm[idx] = np.where(z, "treatment", "control")
day = rng.integers(0, 90, size=n)
randomised = pd.Timestamp("2019-01-01") + pd.to_timedelta(day, unit="D")
first = randomised.to_period("M")
rows = []
for i in range(n):
    z = arm[i] == "treatment"
    for k in range(0, K + 1):  # the month of randomisation too (not in the profile)
        p = 0.15 + 0.02 * k + 0.05 * stratum[i] + (0.06 * min(k, 6) / 6 if z else 0.0)
        if rng.random() < p:
            pay = float(np.round(rng.gamma(2.0, 450.0) + (60.0 if z else 0.0), 2))
            rows.append((i, str(first[i] + k), pay))
people = pd.DataFrame({"id": np.arange(n), "arm": arm, "stratum": stratum,
                       "randomised_on": randomised.strftime("%Y-%m-%d")})
# baseline covariates for the Lin-adjusted profile, from their own stream (so the columns
# above are those of the first version of this script)
rng_x = np.random.default_rng(20261207)
people["age"] = rng_x.integers(18, 65, size=n)
people["benefit"] = rng_x.choice(["jsa", "esa", "uc"], size=n)
employment = pd.DataFrame(rows, columns=["id", "month", "earnings"])
out = Path(__file__).parent / "data"
people.to_csv(out / "people.csv", index=False)
employment.to_csv(out / "employment.csv", index=False)
print(len(people), "people;", len(employment), "records to", employment["month"].max())
