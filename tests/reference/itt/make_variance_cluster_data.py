"""Write ``variance_cluster_data.csv``: an *individually* randomised trial whose
people live in villages that do not align with assignment (every village holds
both arms), for the reference values of a cluster used for the variance only.

Run from the repository root::

    .venv/bin/python tests/reference/itt/make_variance_cluster_data.py

Complete randomisation within four blocks (half of each block treated), 360
people in 30 villages of unequal size (villages cut across blocks). Columns:
``id``, ``arm`` (``"control"``/``"treatment"``), ``z`` (0/1), ``block``,
``village``, ``y`` (village random effect plus noise plus an effect of 0.4),
``x1``, ``x2`` (baseline covariates), ``w`` (positive weights), ``d`` (receipt:
one-sided non-compliance, about 70% take-up among the treated and 10%
contamination among controls). Values are rounded to six decimals so R and
Python read identical doubles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "variance_cluster_data.csv"


def main() -> None:
    rng = np.random.default_rng(20261205)
    n, n_village = 360, 30
    sizes = rng.integers(5, 20, size=n_village)
    village = rng.choice(np.arange(n_village), size=n, p=sizes / sizes.sum())
    block = np.repeat(np.arange(4), n // 4)
    z = np.zeros(n, dtype=int)
    for b in range(4):
        idx = np.flatnonzero(block == b)
        z[rng.choice(idx, size=len(idx) // 2, replace=False)] = 1
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, size=n)
    u = rng.normal(scale=0.8, size=n_village)[village]
    d = np.where(z == 1, rng.uniform(size=n) < 0.7, rng.uniform(size=n) < 0.1).astype(int)
    y = 1.0 + 0.6 * d + 0.5 * x1 + 0.1 * x2 + 0.3 * block + u + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "arm": np.where(z == 1, "treatment", "control"),
        "z": z,
        "block": [f"b{b}" for b in block],
        "village": [f"v{v:02d}" for v in village],
        "y": np.round(y, 6),
        "x1": np.round(x1, 6),
        "x2": np.round(x2, 6),
        "w": np.round(w, 6),
        "d": d,
    })
    assert (frame.groupby("village")["z"].nunique() == 2).all()
    frame.to_csv(OUT, index=False)


if __name__ == "__main__":
    main()
