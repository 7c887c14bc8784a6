"""The staggered panel for the Callaway-Sant'Anna reference values
(``staggered_panel.csv``): ``dwp_eval.datasets.area_rollout`` with 90 areas
over 8 months, waves starting in months 3, 5 and 7 (a quarter never
piloted), plus a time-invariant covariate ``x`` that shifts both the
probability of an early wave and the outcome's trend (so that the covariate
adjustment matters and reg / ipw / dr differ).

Run from the repository root: ``python tests/reference/did/make_staggered.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dwp_eval.datasets.rollout import area_rollout

OUT = Path(__file__).with_name("staggered_panel.csv")

if __name__ == "__main__":
    panel = area_rollout(n_areas=90, periods=8, cohorts=(3, 5, 7), seed=20260602)
    rng = np.random.default_rng(20260603)
    areas = panel["area"].unique()
    coh = panel.groupby("area")["cohort"].first().reindex(areas).to_numpy()
    x = rng.normal(size=len(areas)) + 0.6 * (coh == 3) - 0.3 * (coh == 0)
    xmap = dict(zip(areas, np.round(x, 6), strict=True))
    panel["x"] = panel["area"].map(xmap)
    panel["employment_rate"] = np.round(panel["employment_rate"] + 0.002 * panel["x"] * panel["month"], 8)
    panel["id"] = panel["area"].str[1:].astype(int)
    panel.to_csv(OUT, index=False)
    print(f"wrote {OUT.name}: {len(panel)} rows")
