"""The fuzzer's calls beyond the person-level estimators (see ``tests/fuzzing.py``):
staggered difference in differences, outcomes derived from records, take-up from
start records, the power functions with odd inputs and the contamination
sensitivity table. Each takes a :class:`fuzzing.Case` (duck-typed here, to keep
the import one way) and returns the result, or a :class:`Finding` when the call
returned but the fuzzer can see the answer is wrong.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import dwp_eval as de


@dataclass(frozen=True)
class Finding:
    """A call that returned but gave an answer the fuzzer can see is wrong."""

    outcome: str  # "silent_wrong" or "row_loss"
    reason: str


def staggered_did(case: Any, outcome_of: Any) -> Any:
    """``staggered_did`` on a small rollout panel (cohorts 2 and 3, some never treated)."""
    rng = np.random.default_rng(case.seed)
    units = max(case.n // 2, 0)
    periods = 4
    cohorts = rng.choice(np.array([0, 2, 3]), size=units)
    if case.rate == "all":  # every unit treated: no never-treated comparison
        cohorts = rng.choice(np.array([2, 3]), size=units)
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units), periods),
            "period": np.tile(np.arange(1, periods + 1), units),
            "cohort": np.repeat(cohorts, periods),
        }
    )
    z = ((frame["cohort"] > 0) & (frame["period"] >= frame["cohort"])).to_numpy(dtype=float)
    frame["y"] = outcome_of(case, len(frame), rng, z)
    if case.missing == "drop" and len(frame):
        frame = frame.sample(frac=0.9, random_state=case.seed % 1000)
    return de.staggered_did(
        frame, outcome="y", unit="unit", time="period", cohort="cohort",
        control_group="not_yet_treated" if case.rate == "all" else "never_treated",
        bootstrap=0, seed=1, missing=case.missing,
    )


_STRAY = pd.Timestamp("2031-06-15")  # a typo for 2013: later than every real record


def derive_outcomes(case: Any, ids: Any) -> Any:
    """``derive_outcomes`` from monthly records; a stray future record when no
    ``data_end`` is given must be warned about, and every person keeps a row."""
    rng = np.random.default_rng(case.seed)
    n = case.n
    people = pd.DataFrame(
        {
            "id": ids,
            "randomised_on": pd.Timestamp("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D"),
        }
    )
    rows = []
    for i in range(n):
        for month in range(int(rng.integers(0, 6))):
            rows.append((people["id"].iloc[i], pd.Timestamp("2019-02-01") + pd.DateOffset(months=month * 3)))
    employment = pd.DataFrame(
        {"id": [r[0] for r in rows], "month": pd.to_datetime([r[1] for r in rows])},
        columns=["id", "month"],
    )
    if len(people):
        employment["id"] = employment["id"].astype(people["id"].dtype)
    k = len(employment)
    employment["earnings"] = rng.uniform(100, 2000, size=k)
    employment["weeks_employed"] = rng.uniform(0, 4.3, size=k)
    if case.y == "nan" and k:
        employment.loc[employment.index[: max(k // 4, 1)], "earnings"] = np.nan
    elif case.y in ("huge", "huge300") and k:
        employment["earnings"] = 1e300
    elif case.y == "inf" and k:
        employment.loc[employment.index[0], "weeks_employed"] = np.inf
    elif case.y == "constant":
        employment = employment.iloc[:0]
    month_kind = case.seed % 3
    if month_kind == 1:
        employment["month"] = employment["month"].dt.strftime("%Y-%m")
    elif month_kind == 2:
        employment["month"] = employment["month"].dt.to_period("M")
    stray = case.rate == "all" and n > 0
    if stray:
        extra = pd.DataFrame(
            {"id": people["id"].iloc[:1].to_numpy(), "month": [_STRAY], "earnings": [500.0],
             "weeks_employed": [4.0]}
        )
        if month_kind == 1:
            extra["month"] = "2031-06"
        elif month_kind == 2:
            extra["month"] = extra["month"].dt.to_period("M")
        employment = pd.concat([employment, extra], ignore_index=True)
    data_end = None if case.missing == "drop" else "2020-03-31"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = de.derive_outcomes(people, employment=employment, data_end=data_end, months=12)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if len(out) != n:
        return Finding("row_loss", f"{n} people in, {len(out)} rows out")
    warned = any(issubclass(w.category, de.RecordProblemsWarning) for w in caught)
    if stray and data_end is None and not warned:
        return Finding("silent_wrong", "a record dated 2031-06 was not warned about")
    return out


def take_up(case: Any, ids: Any, df: pd.DataFrame, kw: dict[str, Any]) -> Any:
    """``take_up`` from start records: 0%, random or 100% of people start."""
    rng = np.random.default_rng(case.seed)
    n = len(df)
    people = pd.DataFrame(
        {
            "id": ids,
            "arm": df["arm"].iloc[:, 0].to_numpy() if isinstance(df["arm"], pd.DataFrame) else df["arm"].to_numpy(),
            "randomised_on": pd.Timestamp("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 60, size=n), unit="D"),
        }
    )
    if case.rate == "zero":
        chosen = np.zeros(n, dtype=bool)
    elif case.rate == "all":
        chosen = np.ones(n, dtype=bool)
    else:
        chosen = rng.random(n) < 0.5
    starts = pd.DataFrame(
        {
            "id": people["id"][chosen].to_numpy(),
            "start_date": people["randomised_on"][chosen].to_numpy()
            + pd.to_timedelta(rng.integers(0, 400, size=int(chosen.sum())), unit="D"),
        }
    )
    if case.y == "nan" and len(starts):
        starts.loc[0, "start_date"] = pd.NaT
    out = de.take_up(people, starts, control=kw["control"], treatment=kw["treatment"])
    if len(out) != n:
        return Finding("row_loss", f"{n} people in, {len(out)} rows out")
    return out


_ODD = (1e-9, 0.01, 0.2, 0.5, 0.99, 1.0, 1e300, -1.0, 0.0, float("nan"), float("inf"))


def mde(case: Any) -> Any:
    """``mde`` with odd sizes and rates."""
    rng = np.random.default_rng(case.seed)
    value = float(rng.choice(np.array(_ODD)))
    n = int(rng.choice(np.array([0, 1, 2, 3, 10, 2000, 10**12])))
    binary = case.seed % 2 == 0
    return de.mde(
        n=n, baseline_rate=0.2 if binary else None, sd=None if binary else value,
        ratio=value if case.rate == "random" else 0.5,
        take_up=value if case.rate == "zero" else 1.0,
        contamination=value if case.rate == "all" else 0.0,
        icc=value if case.cluster == "aligned" else None,
        cluster_size=value if case.cluster == "aligned" else None,
        attrition=value if case.weights == "positive" else 0.0,
    )


def power_effect(case: Any) -> Any:
    """``power`` with odd effects, sizes and rates."""
    rng = np.random.default_rng(case.seed)
    value = float(rng.choice(np.array(_ODD)))
    effect = float(rng.choice(np.array([0.0, 1e-12, 0.05, 1e6, 1e300, -0.1, float("nan")])))
    n = int(rng.choice(np.array([0, 1, 2, 3, 10, 2000, 10**12])))
    return de.power(
        effect=effect, n=n, sd=value if case.seed % 2 else 1.0,
        ratio=value if case.rate == "random" else 0.5,
        take_up=value if case.rate == "zero" else 1.0,
        r2=value if case.covariates == "normal" else 0.0,
        alpha=value if case.weights == "positive" else 0.05,
    )


def contamination_sensitivity(case: Any, df: pd.DataFrame, kw: dict[str, Any]) -> Any:
    """``contamination_sensitivity`` over a small grid of contamination effects."""
    strata = kw.get("strata")
    return de.contamination_sensitivity(
        df, outcome="y", assigned="arm", received="d", contaminated="contaminated",
        theta=[0.0, 0.5, 1.0], control=kw["control"], treatment=kw["treatment"],
        covariates=kw.get("covariates"), strata=strata if isinstance(strata, str) else None,
        cluster=kw.get("cluster"),
    )
