"""Write the repeated-cross-section and unbalanced-panel test data.

    python tests/reference/did/make_rcs.py

``staggered_rcs.csv``: LFS-like survey rows (a person observed once, in an area
and a quarter) with a survey weight and a covariate ``x`` that differs by
cohort and shifts trends; 60 areas, 8 periods, cohorts 4 and 6 (areas), 20 never
treated, 10 to 40 respondents per area and period.
``staggered_unbalanced.csv``: a person panel (300 people, 8 periods) with about a
fifth of the person-periods missing at random, a weight per person.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def survey(seed: int = 20261206) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    areas = np.arange(1, 61)
    cohort = np.repeat([4, 6, 0], 20)
    level = rng.normal(0.6, 0.05, 60)
    rows = []
    for a, g, lv in zip(areas, cohort, level, strict=True):
        for t in range(1, 9):
            m = int(rng.integers(10, 41))
            x = rng.normal(0.3 * (g == 4) - 0.2 * (g == 6), 1.0, m)
            eff = (0.05 + 0.01 * (t - g)) * (g > 0) * (t >= g)
            y = lv + 0.02 * t + 0.01 * t * x + 0.1 * x + eff + rng.normal(0, 0.2, m)
            w = np.exp(rng.normal(0, 0.5, m)) * 100
            rows.append(pd.DataFrame({"area": a, "quarter": t, "cohort": g, "y": y, "x": x, "w": w}))
    return pd.concat(rows, ignore_index=True)


def unbalanced(seed: int = 20261207) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, T = 300, 8
    cohort = rng.choice([0, 3, 5, 7], size=n, p=[0.4, 0.2, 0.2, 0.2])
    x = rng.normal(0, 1, n) + 0.3 * (cohort == 3)
    ui = rng.normal(0, 0.5, n)
    w = np.exp(rng.normal(0, 0.4, n))
    rows = []
    for i in range(n):
        for t in range(1, T + 1):
            if rng.random() < 0.2:
                continue
            eff = 1.0 * (cohort[i] > 0) * (t >= cohort[i])
            y = ui[i] + 0.1 * t + 0.05 * t * x[i] + eff + rng.normal(0, 1)
            rows.append((i + 1, t, cohort[i], y, x[i], w[i]))
    return pd.DataFrame(rows, columns=["id", "period", "cohort", "y", "x", "w"])


if __name__ == "__main__":
    survey().to_csv(HERE / "staggered_rcs.csv", index=False, float_format="%.10g")
    unbalanced().to_csv(HERE / "staggered_unbalanced.csv", index=False, float_format="%.10g")
