"""Contamination flags: dwp_eval.flag_contamination against a plain pandas merge + groupby.

Target (the issue): flag 5,000,000 referral records against 1,000,000 people
in under 5 s. For information, the same flags computed the way an analyst
would by hand in pandas: filter the similar provision, merge on the person's
arm and date of randomisation, keep the records in the window and long enough,
take each person's first record with a groupby, merge back onto everyone.

The pandas version does less: it neither finds nor counts record problems
(ids not in the trial, duplicates, dates before randomisation, look-alike
provision names) and gives no ``reason``. Both results are checked to give the
same ``contaminated`` and ``also_received`` flags and the same first date
before anything is timed.

The records: ids drawn from the people (0.1% naming ids not in the trial),
8 provision names as text (2 similar), start dates from 200 days before to
500 days after randomisation, lengths 1 to 180 days, 10% with no end date,
1% duplicated. Flags: ``window_days=(0, 365)``, ``min_days=7``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import harness as h
from dwp_eval.monitor import flag_contamination

DATA_SEED = 20180501
SIMILAR = ["IPS trial", "Third-party IPS support"]
OTHER = [
    "Work search review",
    "CV workshop",
    "Sector-based work academy",
    "Talking therapies",
    "Debt advice",
    "Skills bootcamp",
]
MIN_DAYS = 7


def make_data(n_people: int, n_records: int, *, seed: int = DATA_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People (``id``, ``arm``, ``randomised_on``) and referral records."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2017-11-27", "D")
    rand_day = rng.integers(0, 510, n_people)
    people = pd.DataFrame(
        {
            "id": np.arange(1, n_people + 1, dtype=np.int64),
            "arm": np.where(rng.random(n_people) < 0.5, "treatment", "control").astype(object),
            "randomised_on": (start + rand_day.astype("timedelta64[D]")).astype("datetime64[ns]"),
        }
    )
    who = rng.integers(0, n_people, n_records)
    # similar provision is rarer than the rest (about 12% of records)
    names = np.asarray(SIMILAR + OTHER, dtype=object)
    p = np.r_[[0.08, 0.04], np.full(len(OTHER), 0.88 / len(OTHER))]
    prov = rng.choice(len(names), size=n_records, p=p)
    day = rand_day[who] + rng.integers(-200, 501, n_records)
    length = rng.integers(1, 181, n_records)
    sdate = start + day.astype("timedelta64[D]")
    edate = (sdate + (length - 1).astype("timedelta64[D]")).astype("datetime64[ns]")
    edate[rng.random(n_records) < 0.1] = np.datetime64("NaT")
    ids = people["id"].to_numpy()[who]
    unknown = rng.random(n_records) < 0.001
    ids[unknown] = n_people + 1 + rng.integers(0, n_people, int(unknown.sum()))
    refs = pd.DataFrame(
        {
            "id": ids,
            "provision": names[prov],
            "start_date": sdate.astype("datetime64[ns]"),
            "end_date": edate,
        }
    )
    dup = rng.random(n_records) < 0.01
    refs = pd.concat([refs, refs[dup]], ignore_index=True)
    return people, refs


def ours(people: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the record problems are expected here
        return flag_contamination(people, refs, similar=SIMILAR, min_days=MIN_DAYS)


def pandas_merge_groupby(people: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """The flags by hand: filter, merge, window, groupby first, merge back."""
    sim = refs[refs["provision"].isin(SIMILAR)]
    m = sim.merge(people[["id", "arm", "randomised_on"]], on="id", how="inner")
    days = (m["start_date"] - m["randomised_on"]).dt.days
    length = (m["end_date"] - m["start_date"]).dt.days + 1
    keep = (days >= 0) & (days <= 365) & ((length >= MIN_DAYS) | m["end_date"].isna())
    q = m.loc[keep, ["id", "provision", "start_date"]]
    first = q.sort_values(["id", "start_date", "provision"]).groupby("id", sort=False).head(1)
    out = people[["id", "arm"]].merge(first, on="id", how="left")
    got = out["start_date"].notna()
    out["contaminated"] = (got & (out["arm"] == "control")).astype(np.int64)
    out["also_received"] = (got & (out["arm"] != "control")).astype(np.int64)
    return out


def _check_ours(reference: pd.DataFrame) -> Any:
    def check(flags: pd.DataFrame) -> str:
        if len(flags) != len(reference):
            raise h.BenchmarkError("flag_contamination: not one row per person")
        for col in ("contaminated", "also_received"):
            if not np.array_equal(flags[col].to_numpy(), reference[col].to_numpy()):
                raise h.BenchmarkError(f"flag_contamination: {col} differs from the pandas version")
        if not flags["first_start_date"].equals(reference["start_date"].rename("first_start_date")):
            raise h.BenchmarkError("flag_contamination: first start dates differ")
        p = flags.attrs["data_problems"]
        return (
            f"{int(flags['contaminated'].sum()):,} contaminated, "
            f"{int(flags['also_received'].sum()):,} also received; problems: "
            f"{p['unknown_id']['n_records']:,} unknown ids, {p['duplicate']['n_records']:,} duplicates"
        )

    return check


def _check_pandas(flags: pd.DataFrame) -> str:
    return f"{int(flags['contaminated'].sum()):,} contaminated (no problem counts)"


def run(quick: bool) -> list[h.Comparison]:
    n_people, n_records = (20_000, 100_000) if quick else (1_000_000, 5_000_000)
    people, refs = make_data(n_people, n_records)
    reference = pandas_merge_groupby(people, refs)
    ours_case = h.Case(
        "dwp_eval.flag_contamination", lambda: ours(people, refs), check=_check_ours(reference)
    )
    peers = {
        "pandas merge+groupby": h.Case(
            "pandas merge+groupby", lambda: pandas_merge_groupby(people, refs), check=_check_pandas
        )
    }
    return [
        h.compare(
            f"flag_contamination: {len(refs):,} referral records, {n_people:,} people",
            ours_case,
            peers,
            repeat=3 if not quick else 2,
            target_seconds=5.0,
            quick=quick,
            info="provision as text (8 names, 2 similar); window (0, 365), min_days 7; "
            "the pandas version counts no record problems; for information",
        )
    ]
