"""Write partially_nested_data.csv: a seeded, individually randomised trial (320 people,
4 strata) in which the treatment arm's outcomes are clustered by 12 employment
specialists (ICC about 0.15 in that arm) and the control arm is unclustered (its
specialist is missing). Rerun: python make_data.py (numpy only)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261206)
n = 320
stratum = np.repeat(np.arange(4), n // 4)
arm = np.where(rng.permutation(n) % 2 == 0, "treatment", "control")
x = np.round(rng.normal(size=n), 6)
spec = np.where(arm == "treatment", rng.integers(0, 12, n), -1)
u = rng.normal(scale=0.45, size=12)
y = 1.0 + 0.3 * x + 0.2 * stratum + rng.normal(size=n)
y += np.where(arm == "treatment", 0.4 + u[np.maximum(spec, 0)], 0.0)
df = pd.DataFrame({
    "arm": arm, "stratum": stratum, "x": x, "y": np.round(y, 6),
    "specialist": pd.Series([f"S{s:02d}" if s >= 0 else None for s in spec], dtype=object),
})
df.to_csv(Path(__file__).with_name("partially_nested_data.csv"), index=False)
print(df.groupby("arm").agg(n=("y", "size"), specialists=("specialist", "nunique"), mean=("y", "mean")))
