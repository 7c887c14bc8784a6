"""Time to event from monthly records: dwp_eval.time_to_event against a plain pandas version.

Two jobs on the same synthetic trial (``datasets.whp_like`` people and
``datasets.whp_job_starts`` records to 24 months after the latest
randomisation, censored at the records' end):

- ``job_start``: days from randomisation to the first month in work on or
  after the month of randomisation (dated to the month's first day, or the day
  of randomisation);
- ``benefit_exit``: days on the continuous benefit spell (overlapping or
  touching spells joined) that covers the day of randomisation.

The pandas version is what an analyst would write by hand: for jobs, filter
the months in work, merge each with its person's date of randomisation, keep
those from the month of randomisation on, take each person's earliest with a
groupby, and censor at ``data_end``; for benefits, sort the spells, join them
with a per-person cumulative maximum of their ends and a cumulative sum of
run starts, keep the run covering the day of randomisation, and censor. It
does none of the checks (dates, duplicated person-months, ids not in the
trial, exits), gives no reasons, and drops the people who are not on benefit
(here they are added back as missing to compare). Before anything is timed,
both results are checked to give the same ``duration`` and ``event`` for
every person.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval.datasets import whp_job_starts, whp_like
from dwp_eval.outcomes import time_to_event

DATA_SEED = 20181204
RECORD_MONTHS = 24


def make_data(n: int, *, seed: int = DATA_SEED) -> tuple[pd.DataFrame, Any, str]:
    """People (``id``, ``randomised_on``), the records, and a note."""
    rng = np.random.default_rng(seed)
    people = whp_like(n, seed=rng)
    arm = np.where(rng.random(n) < 0.5, "treatment", "control")
    rec = whp_job_starts(people, arm, seed=rng, months=RECORD_MONTHS)
    people = people[["id", "referred_on"]].rename(columns={"referred_on": "randomised_on"})
    months = rec.employment["month"].dt.to_period("M")
    note = (
        f"{len(rec.employment):,} person-months ({months.min()} to {months.max()}), "
        f"{len(rec.benefits):,} benefit spells, records to {rec.truth.attrs['data_end']}"
    )
    return people, rec, note


def ours(people: pd.DataFrame, rec: Any, event: str) -> pd.DataFrame:
    data_end = rec.truth.attrs["data_end"]
    if event == "job_start":
        return time_to_event(people, event="job_start", employment=rec.employment,
                             data_end=data_end)
    return time_to_event(people, event="benefit_exit", benefits=rec.benefits, data_end=data_end)


def pandas_job_start(people: pd.DataFrame, emp: pd.DataFrame, data_end: str) -> pd.DataFrame:
    """First month in work from the month of randomisation, by merge and groupby-min."""
    end = pd.Timestamp(data_end)
    work = emp.loc[emp["weeks_employed"] > 0, ["id", "month"]].merge(people, on="id")
    first_month = work["randomised_on"].dt.to_period("M").dt.start_time
    work = work[work["month"] >= first_month]
    day = work["month"].where(work["month"] > work["randomised_on"], work["randomised_on"])
    first = day.groupby(work["id"]).min()
    start = people.set_index("id")["randomised_on"]
    event_day = first.reindex(start.index)
    seen = event_day.notna() & (event_day <= end)
    stop = event_day.where(seen, end)
    return pd.DataFrame({"id": start.index, "duration": (stop - start).dt.days.to_numpy() + 1,
                         "event": seen.astype(np.int64).to_numpy()})


def pandas_benefit_exit(people: pd.DataFrame, ben: pd.DataFrame, data_end: str) -> pd.DataFrame:
    """The continuous spell covering randomisation: cummax of ends, cumsum of run starts."""
    end = pd.Timestamp(data_end)
    b = ben[ben["start"] <= end].sort_values(["id", "start"])
    last = b["end"].where(b["end"].notna() & (b["end"] <= end), end + pd.Timedelta(days=1))
    run_end = last.groupby(b["id"]).cummax()
    prev = run_end.groupby(b["id"]).shift(1)
    new = prev.isna() | (b["start"] > prev + pd.Timedelta(days=1))
    run = new.cumsum()
    runs = pd.DataFrame({"id": b["id"], "start": b["start"], "last": last, "run": run})
    runs = runs.groupby("run").agg(id=("id", "first"), start=("start", "min"), last=("last", "max"))
    runs = runs.merge(people, on="id")
    on = runs[(runs["start"] <= runs["randomised_on"]) & (runs["randomised_on"] <= runs["last"])]
    seen = on["last"] < end
    stop = on["last"].where(seen, end)
    out = pd.DataFrame({"id": on["id"].to_numpy(),
                        "duration": (stop - on["randomised_on"]).dt.days.to_numpy() + 1,
                        "event": seen.astype(np.int64).to_numpy()})
    return out  # only the people on benefit at randomisation


def _check(expected: pd.DataFrame, who: str) -> Callable[[Any], str]:
    def check(out: pd.DataFrame) -> str:
        got = out.set_index("id")[["duration", "event"]]
        if "reason" in out.columns:
            got = got[(out["reason"] == "").to_numpy()]
        got = got.astype(np.int64)
        want = expected.set_index("id")[["duration", "event"]].astype(np.int64)
        if len(got) != len(want) or not got.sort_index().equals(want.sort_index()):
            raise h.BenchmarkError(f"{who}: duration or event differs between the versions")
        return (f"duration and event as the other version for all {len(got):,} derived; "
                f"{int(got['event'].sum()):,} events")
    return check


def run(quick: bool) -> list[h.Comparison]:
    n = 20_000 if quick else 1_000_000
    people, rec, note = make_data(n)
    data_end = rec.truth.attrs["data_end"]
    results = []
    for event, by_hand, records in (
        ("job_start", pandas_job_start, rec.employment),
        ("benefit_exit", pandas_benefit_exit, rec.benefits),
    ):
        expected = by_hand(people, records, data_end)
        ours_case = h.Case(f"dwp_eval.time_to_event({event})",
                           lambda event=event: ours(people, rec, event),
                           check=_check(expected, "time_to_event"))
        peer = h.Case("pandas merge+groupby",
                      lambda by_hand=by_hand, records=records: by_hand(people, records, data_end),
                      check=lambda out: f"{len(out):,} rows (no checks, reasons or exits)")
        results.append(h.compare(
            f"time_to_event, event={event!r}: {n:,} people, {RECORD_MONTHS} months of records",
            ours_case, {"pandas merge+groupby": peer},
            repeat=3 if not quick else 2,
            target_seconds=5.0,
            quick=quick,
            info=f"{note}; the pandas version does no checks and gives no reasons; for "
            "information",
        ))
    return results
