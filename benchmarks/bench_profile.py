"""The month-by-month impact profile: dwp_eval.impact_profile against a statsmodels month loop.

The job: the ITT on the employment rate and on earnings in each of 24 months after
randomisation, from RTI-like monthly records, for 200,000 people (``--quick``: 5,000).
dwp_eval reads the records, builds the month-by-month outcomes, estimates every month at
once with the joint (stacked HC2) covariance and simulates the sup-t critical value
(100,000 normal draws). The peer is what an analyst writes by hand: a pandas pivot of the
records into one column per month, then a loop over months and measures of statsmodels
``OLS(y, [1, z]).fit(cov_type="HC2")``. It does less: pointwise intervals only (no joint
covariance, no band) and none of the checks (ids, duplicates, months beyond the records).
Before timing, both give the same estimates and standard errors (to 1e-8, relative).
No target: the ratio is for information.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval import impact_profile

MONTHS = 24
DATA_SEED = 20191
TOL = 1e-8


def make_data(n: int, *, seed: int = DATA_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People (id, arm, randomised_on in 2019) and records to the end of 2021-01."""
    rng = np.random.default_rng(seed)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    start = pd.Period("2019-01", "M")
    first = rng.integers(0, 12, size=n)
    people = pd.DataFrame({
        "id": np.arange(n), "arm": np.where(z == 1, "treatment", "control"),
        "randomised_on": (start + 0).to_timestamp() + pd.to_timedelta(first * 30 + 3, "D"),
    })
    first = people["randomised_on"].dt.to_period("M").map(lambda p: p.ordinal).to_numpy()
    u = rng.random(n)
    work = rng.random((n, MONTHS)) < (0.2 + 0.4 * u)[:, None] + 0.03 * z[:, None]
    i, k = np.nonzero(work)
    month = pd.PeriodIndex.from_ordinals(first[i] + k + 1, freq="M").to_timestamp()
    emp = pd.DataFrame({"id": i, "month": month,
                        "earnings": np.round(rng.gamma(2.0, 450.0, size=len(i)), 2)})
    return people, emp


def ours(people: pd.DataFrame, emp: pd.DataFrame) -> Any:
    return impact_profile(people, employment=emp, assigned="arm", months=MONTHS)


def statsmodels_loop(people: pd.DataFrame, emp: pd.DataFrame) -> pd.DataFrame:
    import statsmodels.api as sm

    first = people.set_index("id")["randomised_on"].dt.to_period("M").array.asi8
    k = emp["month"].dt.to_period("M").array.asi8 - first[emp["id"].to_numpy()]
    keep = (k >= 1) & (k <= MONTHS)
    rec = emp[keep].assign(k=k[keep])
    pay = rec.pivot(index="id", columns="k", values="earnings").reindex(
        index=people["id"], columns=range(1, MONTHS + 1)).fillna(0.0)
    X = sm.add_constant((people["arm"] == "treatment").astype(float).to_numpy())
    rows = []
    for measure, Y in (("employed", (pay > 0).astype(float)), ("earnings", pay)):
        for month in range(1, MONTHS + 1):
            fit = sm.OLS(Y[month].to_numpy(), X).fit(cov_type="HC2")
            rows.append({"measure": measure, "month": month, "estimate": fit.params[1],
                         "std_error": fit.bse[1]})
    return pd.DataFrame(rows)


def _check(peer: pd.DataFrame) -> Any:
    def check(prof: Any) -> str:
        f = prof.to_frame()
        for col in ("estimate", "std_error"):
            a, b = f[col].to_numpy(), peer[col].to_numpy()
            if np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)) > TOL:
                raise h.BenchmarkError(f"impact_profile: {col} differs from statsmodels")
        return (f"{len(f)} monthly effects as statsmodels HC2 (to {TOL:g}); sup-t "
                f"{prof.critical_values['employed']:.3f}")
    return check


def run(quick: bool) -> list[h.Comparison]:
    n = 5_000 if quick else 200_000
    people, emp = make_data(n)
    peer = statsmodels_loop(people, emp)
    return [h.compare(
        f"impact_profile: {n:,} people, {MONTHS} months x 2 measures, {len(emp):,} records",
        h.Case("dwp_eval.impact_profile", lambda: ours(people, emp), check=_check(peer)),
        {"statsmodels month loop": h.Case("statsmodels month loop",
                                          lambda: statsmodels_loop(people, emp),
                                          check=lambda out: f"{len(out)} pointwise fits only")},
        repeat=2 if quick else 3, quick=quick,
        info="statsmodels: pivot + 48 OLS HC2 fits, pointwise only; for information",
    )]
