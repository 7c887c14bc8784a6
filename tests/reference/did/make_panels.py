"""Synthetic panels for the TWFE reference values (``twfe_panels.csv``).

Three panels of 60 units (in 12 regions) over 8 periods with staggered
adoption (first treated in period 4, 6 or never), unit and period effects,
a time-varying covariate and heteroskedastic errors:

* ``balanced``: every unit in every period;
* ``unbalanced``: about 12% of unit-periods removed at random;
* ``unbalanced_x``: the unbalanced panel analysed with the covariate and
  clustered by region.

Run from the repository root: ``python tests/reference/did/make_panels.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).with_name("twfe_panels.csv")


def make(seed: int = 20260601) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, T = 60, 8
    unit = np.repeat(np.arange(1, n + 1), T)
    period = np.tile(np.arange(1, T + 1), n)
    region = (unit - 1) % 12 + 1
    cohort = rng.choice([4, 6, 0], size=n, p=[0.3, 0.3, 0.4])[unit - 1]
    d = ((cohort > 0) & (period >= cohort)).astype(int)
    x = rng.normal(size=n * T) + 0.1 * period
    a = rng.normal(size=n)[unit - 1]
    lam = np.linspace(0, 1, T)[period - 1]
    y = a + lam + 0.5 * x + (1.0 + 0.2 * (period - cohort)) * d + rng.normal(size=n * T) * (1 + 0.5 * d)
    frame = pd.DataFrame({"unit": unit, "period": period, "region": region, "cohort": cohort,
                          "d": d, "x": np.round(x, 6), "y": np.round(y, 6)})
    keep = rng.random(n * T) > 0.12
    out = [frame.assign(panel="balanced"), frame[keep].assign(panel="unbalanced"),
           frame[keep].assign(panel="unbalanced_x")]
    return pd.concat(out, ignore_index=True)


if __name__ == "__main__":
    df = make()
    df.to_csv(OUT, index=False)
    print(f"wrote {OUT.name}: {len(df)} rows")
