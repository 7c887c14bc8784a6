"""Write the seeded datasets of the omnibus balance reference (``data/``).

Run from the repository root::

    .venv/bin/python tests/reference/balance/make_data.py

Each dataset is a :func:`dwp_eval.datasets.whp_like` population allocated by
:func:`dwp_eval.randomise` with a fixed seed, with the columns the reference
regressions use. Numbers are integers or 0/1 (``prior_earnings`` is rounded to
whole pounds), so statsmodels and dwp_eval read identical doubles. Rerunning
rewrites byte-identical files.

* ``stratified.csv``: 1,200 people, three arms (``control`` 2 : ``treatment``
  1 : ``intensive`` 1), complete randomisation within ``site`` (7 strata).
* ``clustered.csv``: 1,500 people in jobcentres (``jobcentre``, 42 clusters)
  randomised whole, 1:1, within ``site``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import dwp_eval as de

HERE = Path(__file__).resolve().parent
COLUMNS = [
    "id",
    "arm",
    "site",
    "jobcentre",
    "age",
    "female",
    "disability",
    "months_out_of_work",
    "prior_earnings",
    "benefit",
    "health_condition",
]


def main() -> None:
    (HERE / "data").mkdir(exist_ok=True)
    people = de.datasets.whp_like(n=1200, seed=20240301)
    alloc = de.randomise(
        people, arms={"control": 2, "treatment": 1, "intensive": 1}, strata="site", seed=20240302
    )
    out = people.merge(alloc.table[["id", "arm"]], on="id")
    out["prior_earnings"] = np.round(out["prior_earnings"]).astype(np.int64)
    out[COLUMNS].to_csv(HERE / "data" / "stratified.csv", index=False)

    people = de.datasets.whp_like(n=1500, seed=20240303)
    alloc = de.randomise(people, strata="site", cluster="jobcentre", seed=20240304)
    out = people.merge(alloc.table[["id", "arm"]], on="id")
    out["prior_earnings"] = np.round(out["prior_earnings"]).astype(np.int64)
    out[COLUMNS].to_csv(HERE / "data" / "clustered.csv", index=False)


if __name__ == "__main__":
    main()
