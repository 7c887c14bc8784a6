"""Outcomes from monthly records: dwp_eval.derive_outcomes against a plain pandas version.

Target (the issue): derive the outcomes of 1,000,000 people from 24 months of
monthly employment records and benefit spells in under 10 s. For information,
the same measures computed the way an analyst would by hand in pandas: merge
the records with each person's window (randomisation date to 12 calendar
months later), compute each month's overlap with the window in days,
apportion the month's weeks in work and earnings by it, and sum per person
with a groupby; ``days_on_benefit`` by clipping each spell to the window and
summing its days.

The pandas version does less: it adds up overlapping spells twice (the data
here have none, see below), tests ``sustained_earnings`` against one pound
threshold at the wage rate in force on the window's first day instead of
converting each month's earnings at the rate in force that month, and does
none of the checks and bookkeeping (incomplete follow-up set to NA with a
reason, ids not in the trial, duplicated person-months, weeks above the
month's length, records without a weeks column). Before anything is timed,
both results are checked to give the same ``employed_weeks`` and
``cumulative_earnings`` (to 1e-9), ``any_employment``, ``employed_13_weeks``
and ``days_on_benefit`` for every person; ``sustained_earnings`` may differ
only for windows that cross a change of the wage rate (1 April).

The data: ``datasets.whp_like`` people and ``datasets.whp_monthly_records``
with 24 months of records after the latest randomisation (so everyone has
complete 12-month follow-up). Its benefit spells may overlap by a few days
(a move between benefits); here each spell's start is moved to the day after
the person's earlier spells end (and a spell that lies wholly inside an
earlier one is dropped), so that the pandas version's sum is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval.datasets import whp_like, whp_monthly_records
from dwp_eval.outcomes import MEASURES, NATIONAL_LIVING_WAGE, derive_outcomes

DATA_SEED = 20171127
MONTHS = 12
RECORD_MONTHS = 24
HOURS, SUSTAINED_WEEKS, THRESHOLD = 16.0, 26.0, 13.0
TOL = 1e-9


def _trim_overlaps(ben: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Spells with no two of a person's overlapping: each start moved past the person's
    earlier spells' ends; a spell inside an earlier one dropped. Returns (spells, moved, dropped)."""
    ben = ben.sort_values(["id", "start"], kind="stable").reset_index(drop=True)
    start = ben["start"].to_numpy().astype("datetime64[D]").view(np.int64)
    end_t = ben["end"].to_numpy()
    end = np.where(
        np.isnat(end_t), np.iinfo(np.int64).max // 2, end_t.astype("datetime64[D]").view(np.int64)
    )
    prev_end = (
        pd.Series(end).groupby(ben["id"].to_numpy()).cummax().groupby(ben["id"].to_numpy()).shift(1)
    )
    prev = prev_end.to_numpy(dtype=float)
    has_prev = ~np.isnan(prev)
    new_start = start.copy()
    later = has_prev & (start <= prev)
    new_start[later] = prev[later].astype(np.int64) + 1
    keep = new_start <= end
    out = ben.assign(start=new_start.astype("datetime64[D]").astype("datetime64[ns]"))[keep]
    return out.reset_index(drop=True), int((later & keep).sum()), int((~keep).sum())


def make_data(
    n: int, *, seed: int = DATA_SEED
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """People (``id``, ``randomised_on``), employment records, non-overlapping spells, a note."""
    rng = np.random.default_rng(seed)
    people = whp_like(n, seed=rng)
    rec = whp_monthly_records(people, seed=rng, months=RECORD_MONTHS)
    people = people[["id", "referred_on"]].rename(columns={"referred_on": "randomised_on"})
    ben, moved, dropped = _trim_overlaps(rec.benefits)
    months = rec.employment["month"].dt.to_period("M")
    note = (
        f"{len(rec.employment):,} person-months ({months.min()} to {months.max()}), "
        f"{len(ben):,} benefit spells ({moved:,} starts moved and {dropped:,} spells dropped "
        "to remove overlaps)"
    )
    return people, rec.employment, ben, note


def ours(people: pd.DataFrame, emp: pd.DataFrame, ben: pd.DataFrame) -> pd.DataFrame:
    return derive_outcomes(people, employment=emp, benefits=ben, months=MONTHS)


def pandas_merge_groupby(
    people: pd.DataFrame, emp: pd.DataFrame, ben: pd.DataFrame, *, raw: bool = False
) -> pd.DataFrame:
    """The measures by hand: merge each record with its window, apportion by days, groupby-sum.

    With ``raw=True`` the sums are not rounded (employed weeks to 1e-6 and earnings
    to the penny, as derive_outcomes documents), for the check.
    """
    win = people[["id", "randomised_on"]].rename(columns={"randomised_on": "w_start"})
    win["w_end"] = win["w_start"] + pd.DateOffset(months=MONTHS)  # first day after the window

    m = emp.merge(win, on="id", how="inner")
    m_start = m["month"]
    m_end = m_start + pd.offsets.MonthBegin(1)
    lo = m_start.where(m_start > m["w_start"], m["w_start"])
    hi = m_end.where(m_end < m["w_end"], m["w_end"])
    frac = (hi - lo).dt.days.clip(lower=0) / (m_end - m_start).dt.days
    parts = pd.DataFrame(
        {"id": m["id"], "weeks": m["weeks_employed"] * frac, "pay": m["earnings"] * frac}
    )
    sums = parts.groupby("id").sum().reindex(win["id"], fill_value=0.0)

    b = ben.merge(win, on="id", how="inner")
    b_lo = b["start"].where(b["start"] > b["w_start"], b["w_start"])
    b_hi = (b["end"] + pd.Timedelta(days=1)).fillna(b["w_end"])  # open spells run to the end
    b_hi = b_hi.where(b_hi < b["w_end"], b["w_end"])
    days = pd.DataFrame({"id": b["id"], "days": (b_hi - b_lo).dt.days.clip(lower=0)})
    on_benefit = days.groupby("id")["days"].sum().reindex(win["id"], fill_value=0)

    # one pound threshold at the rate in force on the window's first day
    frm = pd.to_datetime([d for d, _ in NATIONAL_LIVING_WAGE]).to_numpy()
    rate = np.array([r for _, r in NATIONAL_LIVING_WAGE])
    at_start = rate[np.searchsorted(frm, win["w_start"].to_numpy(), side="right") - 1]

    weeks = sums["weeks"].to_numpy()
    pay = sums["pay"].to_numpy()
    if not raw:
        weeks, pay = np.round(weeks, 6), np.round(pay, 2)
    return pd.DataFrame(
        {
            "id": win["id"].to_numpy(),
            "employed_weeks": weeks,
            "any_employment": (weeks > 0).astype(np.int64),
            "employed_13_weeks": (weeks >= THRESHOLD).astype(np.int64),
            "cumulative_earnings": pay,
            "sustained_earnings": (pay >= HOURS * SUSTAINED_WEEKS * at_start).astype(np.int64),
            "days_on_benefit": on_benefit.to_numpy(dtype=np.int64),
        }
    )


def _crosses_april(people: pd.DataFrame) -> np.ndarray:
    """Whether each window (12 months from randomisation) contains a 1 April after its
    first day, i.e. a change of the National Living Wage inside the window."""
    start = people["randomised_on"]
    # 12 months from any day other than 1 April contain exactly one later 1 April
    return ~((start.dt.month == 4) & (start.dt.day == 1)).to_numpy()


def _close(label: str, got: np.ndarray, raw: np.ndarray, decimals: int) -> int:
    """``got`` equals ``raw`` rounded to ``decimals`` (to TOL), except where ``raw`` lies
    within TOL of a rounding midpoint (two sums in another order may round either way);
    returns how many such ties there were."""
    want = np.round(raw, decimals)
    diff = np.abs(got - want)
    bad = diff > TOL
    if bad.any():
        unit = 10.0**-decimals
        scaled = raw / unit
        tie = np.abs(scaled - np.floor(scaled) - 0.5) * unit <= TOL
        real = bad & ~(tie & (diff <= unit + TOL))
        if real.any():
            i = int(np.flatnonzero(real)[0])
            raise h.BenchmarkError(
                f"derive_outcomes: {label} differs from the pandas version for "
                f"{int(real.sum()):,} people (e.g. row {i}: {got[i]!r} against {want[i]!r})"
            )
    return int(bad.sum())


def _check_ours(people: pd.DataFrame, raw: pd.DataFrame) -> Callable[[Any], str]:
    crosses = _crosses_april(people)

    def check(out: pd.DataFrame) -> str:
        if len(out) != len(raw) or not np.array_equal(out["id"].to_numpy(), raw["id"].to_numpy()):
            raise h.BenchmarkError("derive_outcomes: not one row per person in order")
        if list(out.columns[1 : 1 + len(MEASURES)]) != list(MEASURES):
            raise h.BenchmarkError(f"derive_outcomes: measures {list(out.columns)}")
        if not out["follow_up_complete"].all():
            raise h.BenchmarkError("derive_outcomes: someone's follow-up is incomplete")
        week_ties = _close(
            "employed_weeks",
            out["employed_weeks"].to_numpy(dtype=float),
            raw["employed_weeks"].to_numpy(),
            6,
        )
        pay_ties = _close(
            "cumulative_earnings",
            out["cumulative_earnings"].to_numpy(dtype=float),
            raw["cumulative_earnings"].to_numpy(),
            2,
        )
        weeks = np.round(raw["employed_weeks"].to_numpy(), 6)
        expect = {
            "any_employment": (weeks > 0).astype(np.int64),
            "employed_13_weeks": (weeks >= THRESHOLD).astype(np.int64),
            "days_on_benefit": raw["days_on_benefit"].to_numpy(),
        }
        for col, want in expect.items():
            got = out[col].to_numpy(dtype=np.int64)
            n_diff = int((got != want).sum())
            if n_diff > week_ties * (col != "days_on_benefit"):
                raise h.BenchmarkError(
                    f"derive_outcomes: {col} differs from the pandas version for {n_diff:,} people"
                )
        sust = out["sustained_earnings"].to_numpy(dtype=np.int64)
        differs = sust != raw["sustained_earnings"].to_numpy()
        if (differs & ~crosses).any():
            raise h.BenchmarkError(
                "derive_outcomes: sustained_earnings differs from the pandas version for a "
                "window with one wage rate throughout"
            )
        return (
            f"weeks, earnings, 13 weeks, any, benefit days as pandas for all {len(out):,} "
            f"(to {TOL:g}; rounding ties: {week_ties} weeks, {pay_ties} earnings at a half "
            f"penny); {int(out['employed_13_weeks'].sum()):,} with "
            f"13+ weeks; sustained_earnings differs for {int(differs.sum()):,} (April rate change)"
        )

    return check


def _check_pandas(out: pd.DataFrame) -> str:
    return f"{int(out['employed_13_weeks'].sum()):,} with 13+ weeks (no NA handling or checks)"


def run(quick: bool) -> list[h.Comparison]:
    n = 20_000 if quick else 1_000_000
    people, emp, ben, note = make_data(n)
    raw = pandas_merge_groupby(people, emp, ben, raw=True)
    ours_case = h.Case(
        "dwp_eval.derive_outcomes", lambda: ours(people, emp, ben), check=_check_ours(people, raw)
    )
    peers = {
        "pandas merge+groupby": h.Case(
            "pandas merge+groupby",
            lambda: pandas_merge_groupby(people, emp, ben),
            check=_check_pandas,
        )
    }
    return [
        h.compare(
            f"derive_outcomes: {n:,} people x {RECORD_MONTHS} months of records, "
            f"{MONTHS}-month window",
            ours_case,
            peers,
            repeat=3 if not quick else 2,
            target_seconds=10.0,
            quick=quick,
            info=f"{note}; all 6 measures; the pandas version double-counts overlapping spells, "
            "uses one wage rate per window and does no checks; for information",
        )
    ]
