"""A generated trial with small cells, for the disclosure tests: control-arm sites with 1
to 9 contamination events, a 12-person and a 40-person pre-specified subgroup (the
latter with control 5 of 16 and treatment 3 of 24 employed) and one person whose
earnings dominate their subgroup's arm."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwp_eval.report.plan import AnalysisPlan

SITES = {"A": 3, "B": 7, "C": 1, "D": 25, "E": 40, "F": 9}  # contaminated controls per site


def small_cell_trial(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    # the 40-person subgroup: control 5 of 16 employed, treatment 3 of 24
    for arm, n, k in (("control", 16, 5), ("treatment", 24, 3)):
        for i in range(n):
            rows.append({"group": "mid", "arm": arm, "employed": int(i < k)})
    # the 12-person subgroup
    for arm, n, k in (("control", 6, 2), ("treatment", 6, 4)):
        for i in range(n):
            rows.append({"group": "tiny", "arm": arm, "employed": int(i < k)})
    for arm in ("control", "treatment"):
        for _ in range(300):
            rows.append({"group": "main", "arm": arm, "employed": int(rng.random() < 0.3)})
    df = pd.DataFrame(rows)
    n = len(df)
    df["id"] = np.arange(n)
    df["age"] = rng.integers(18, 65, n).astype(float)
    df["earnings"] = np.round(df["employed"] * rng.gamma(2.0, 2500.0, n), 2)
    # one person dominates the 40-person subgroup's treatment-arm earnings
    dominant = df.index[(df["group"] == "mid") & (df["arm"] == "treatment")][0]
    df.loc[dominant, "earnings"] = 400_000.0
    # control-arm sites with few contamination events
    ctrl = df.index[df["arm"] == "control"].to_numpy().copy()
    rng.shuffle(ctrl)
    df["site"] = "G"
    df["contaminated"] = 0
    start = 0
    for site, events in SITES.items():
        members = ctrl[start:start + 50]
        start += 50
        df.loc[members, "site"] = site
        df.loc[members[:events], "contaminated"] = 1
    treat = df.index[df["arm"] == "treatment"].to_numpy()
    df.loc[treat, "site"] = rng.choice(list(SITES), len(treat))
    df["received"] = np.where(df["arm"] == "treatment", (rng.random(n) < 0.8).astype(int),
                              df["contaminated"])
    return df


def small_cell_plan(**disclosure: object) -> AnalysisPlan:
    return AnalysisPlan.from_dict({
        "plan": {"title": "Small cells"},
        "design": {"id": "id", "assigned": "arm", "control": "control",
                   "treatment": "treatment", "received": "received",
                   "contaminated": "contaminated", "site": "site"},
        "outcomes": {"primary": ["employed"], "secondary": ["earnings"]},
        "analysis": {"covariates": ["age"], "adjustment": "lin", "se_type": "HC2"},
        "subgroups": {"by": ["group"], "outcomes": ["employed", "earnings"]},
        "balance": {"covariates": ["age"]},
        "disclosure": {"min_count": 10, "round_to": 5, **disclosure},
    })
