"""Writes factor_panel.csv: a seeded factor-model panel with 5 treated units
(30 units, 20 periods, treatment from period 15, true effect 1.0), the second data
set the R synthdid reference runs on (jackknife and bootstrap need > 1 treated unit).
Rerun: python make_factor_panel.py"""
import numpy as np
import pandas as pd

rng = np.random.default_rng(20240517)
n, t, n1, t0 = 30, 20, 5, 15
load = rng.normal(size=(n, 2)) + np.where(np.arange(n)[:, None] >= n - n1, 0.5, 0.0)
fac = np.cumsum(rng.normal(size=(t, 2)), axis=0)
y = 3 + rng.normal(size=(n, 1)) + load @ fac.T + rng.normal(scale=0.5, size=(n, t))
treated = (np.arange(n)[:, None] >= n - n1) & (np.arange(t)[None, :] >= t0)
y = y + 1.0 * treated
rows = [(f"u{i:02d}", 2000 + j, round(float(y[i, j]), 6), int(treated[i, j])) for i in range(n) for j in range(t)]
pd.DataFrame(rows, columns=["unit", "year", "y", "treated"]).to_csv("factor_panel.csv", index=False)
