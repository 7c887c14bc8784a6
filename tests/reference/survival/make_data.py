"""Synthetic survival datasets for the survival_effect references (seeded; rerun to regenerate).

    python tests/reference/survival/make_data.py

Writes three CSVs next to this script:
- ``individual.csv``: 300 people randomised individually within 3 strata, integer-day
  durations (many ties), administrative censoring at 400 days and some drop-out, two covariates.
- ``cluster.csv``: 30 offices randomised whole (15 per arm), 8-20 people each, an office effect.
- ``nested.csv``: a partially nested trial: treatment people clustered in 12 specialists
  (a specialist frailty), control people unclustered (``specialist`` empty; ``nest_id``
  gives each control person their own cluster for R's ``cluster()``).
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def durations(rng, rate, n, end=400.0, dropout=1 / 900):
    t = rng.exponential(1.0 / rate, n)
    c = np.minimum(rng.exponential(1.0 / dropout, n), end)
    dur = np.ceil(np.minimum(t, c))  # whole days: ties
    return np.maximum(dur, 1.0), (t <= c).astype(int)


def individual(rng):
    n = 300
    stratum = rng.choice(["north", "south", "west"], n)
    arm = np.where(rng.random(n) < 0.5, "treatment", "control")
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, n)
    base = {"north": 1 / 200, "south": 1 / 150, "west": 1 / 260}
    rate = np.array([base[s] for s in stratum]) * np.exp(0.35 * (arm == "treatment") + 0.3 * x1 - 0.2 * x2)
    d, e = durations(rng, rate, n)
    return pd.DataFrame({"id": np.arange(n), "arm": arm, "stratum": stratum, "x1": x1.round(4),
                         "x2": x2, "duration": d, "event": e})


def cluster(rng):
    rows = []
    for g in range(30):
        arm = "treatment" if g % 2 else "control"
        size = int(rng.integers(8, 21))
        u = rng.normal(0, 0.5)
        x1 = rng.normal(size=size)
        rate = np.exp(np.log(1 / 180) + 0.3 * (arm == "treatment") + u + 0.25 * x1)
        d, e = durations(rng, rate, size)
        rows.append(pd.DataFrame({"arm": arm, "office": f"o{g:02d}", "stratum": "ab"[g % 4 // 2],
                                  "x1": x1.round(4), "duration": d, "event": e}))
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "id", np.arange(len(out)))
    return out


def nested(rng):
    n0, groups, per = 150, 12, 13
    rows = [pd.DataFrame({"arm": "control", "specialist": "", "duration": d, "event": e})
            for d, e in [durations(rng, np.full(n0, 1 / 200), n0)]]
    for g in range(groups):
        rate = np.full(per, np.exp(np.log(1 / 200) + 0.4 + rng.normal(0, 0.6)))
        d, e = durations(rng, rate, per)
        rows.append(pd.DataFrame({"arm": "treatment", "specialist": f"s{g:02d}", "duration": d,
                                  "event": e}))
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "id", np.arange(len(out)))
    out["nest_id"] = np.where(out["arm"] == "control", "c" + out["id"].astype(str), out["specialist"])
    return out


if __name__ == "__main__":
    rng = np.random.default_rng(20261206)
    individual(rng).to_csv(HERE / "individual.csv", index=False)
    cluster(rng).to_csv(HERE / "cluster.csv", index=False)
    nested(rng).to_csv(HERE / "nested.csv", index=False)
