"""Write earnings_data.csv: synthetic monthly earnings of a two-arm trial with a mass at
zero (about 45% of control and 38% of treatment earn nothing), lognormal earnings
otherwise, rounded to pence (so there are ties), 401 control and 399 treatment people
(n tau is then never an integer at the tested levels), in 4 strata; and
earnings_even.csv: 400 per arm, where n tau is an integer at tau = 0.1, 0.25, 0.5,
0.75, 0.9 (the quantile is then not unique; see reference.R).
Rerun: python make_data.py (numpy only)."""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def trial(n_c: int, n_t: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = np.r_[np.zeros(n_c), np.ones(n_t)].astype(int)
    works = rng.random(len(z)) < np.where(z == 1, 0.62, 0.55)
    pay = rng.lognormal(np.where(z == 1, 6.9, 6.8), 0.8)
    y = np.where(works, np.round(pay, 2), 0.0)
    return pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"),
                         "stratum": rng.integers(0, 4, len(z)), "earnings": y})


trial(401, 399, 20261216).to_csv(HERE / "earnings_data.csv", index=False)
trial(400, 400, 20261217).to_csv(HERE / "earnings_even.csv", index=False)
for f in ("earnings_data.csv", "earnings_even.csv"):
    d = pd.read_csv(HERE / f)
    print(f, d.groupby("arm")["earnings"].agg(n="size", zero_share=lambda v: (v == 0).mean()).to_dict())
