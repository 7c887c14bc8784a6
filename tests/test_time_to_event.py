"""Time to event from monthly records and benefit spells (``dwp_eval.time_to_event``).

Hand-built records with the answer worked out in the comments for every rule
(the day count, the month of randomisation, records before it and after the
end of the records, weeks versus earnings, joined benefit spells, exits, the
per-person reasons); every bad input with its pinned message; hypothesis
properties against a plain day-by-day implementation written independently
of the library's array code; and agreement with ``derive_outcomes`` and the
synthetic admin generators.

All answers are whole days, so every comparison is exact.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval import time_to_event
from dwp_eval.datasets import whp_job_starts, whp_like, whp_monthly_records
from dwp_eval.datasets.job_starts import TRUE_RMST_HORIZONS
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    MissingDataError,
    OptionError,
    RecordProblemsWarning,
)
from dwp_eval.outcomes import TIME_TO_EVENT_COLUMNS, derive_outcomes
from fuzzing import ID_KINDS, _ids

D = pd.Timestamp


def people_frame(*dates: str, **extra: list) -> pd.DataFrame:
    return pd.DataFrame({"id": list(range(1, len(dates) + 1)),
                         "randomised_on": pd.to_datetime(list(dates)), **extra})


def records(rows: list[tuple], weeks: bool = False) -> pd.DataFrame:
    cols = ["id", "month", "earnings"] + (["weeks_employed"] if weeks else [])
    return pd.DataFrame(rows, columns=cols)


def spells(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "start", "end"])
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def days(a: str, b: str) -> int:
    """Days from a to b counting both: the duration of an event on b after randomisation on a."""
    return (D(b) - D(a)).days + 1


# ----------------------------------------------------------------------------- job start

def test_job_start_hand_computed() -> None:
    people = people_frame(
        "2019-01-10",  # 1: paid in March -> event 1 March
        "2019-01-20",  # 2: paid in January, the month of randomisation -> day 1
        "2019-02-01",  # 3: no records -> censored at data_end
        "2019-02-15",  # 4: paid only in January (before randomisation) -> censored
        "2019-03-31",  # 5: earnings 0 in April (not in work), paid in June -> 1 June
        "2019-04-05",  # 6: paid in July only, after data_end -> censored 30 June
        "2019-05-10",  # 7: paid in June, the month of data_end -> 1 June
        "2019-07-01",  # 8: randomised after data_end -> reason
        "2019-06-30",  # 9: randomised on data_end, paid that month -> day 1
    )
    emp = records([
        (1, "2019-03", 900.0), (1, "2019-05", 800.0), (2, "2019-01", 400.0),
        (4, "2019-01", 500.0), (5, "2019-04", 0.0), (5, "2019-06", 300.0),
        (6, "2019-07", 700.0), (7, "2019-06", 100.0), (9, "2019-06", 50.0),
        (8, "2019-07", 100.0),
    ])
    with pytest.warns(RecordProblemsWarning, match="dated after it"):
        out = time_to_event(people, event="job_start", employment=emp, data_end="2019-06")
    assert list(out.columns) == ["id", *TIME_TO_EVENT_COLUMNS]
    expect = {
        1: (days("2019-01-10", "2019-03-01"), 1, "2019-03-01", None),
        2: (1, 1, "2019-01-20", None),
        3: (days("2019-02-01", "2019-06-30"), 0, "2019-06-30", "data_end"),
        4: (days("2019-02-15", "2019-06-30"), 0, "2019-06-30", "data_end"),
        5: (days("2019-03-31", "2019-06-01"), 1, "2019-06-01", None),
        6: (days("2019-04-05", "2019-06-30"), 0, "2019-06-30", "data_end"),
        7: (days("2019-05-10", "2019-06-01"), 1, "2019-06-01", None),
        9: (1, 1, "2019-06-30", None),
    }
    assert expect[1][0] == 51 and expect[3][0] == 150  # 10 Jan is day 1, 1 Mar day 51
    for pid, (dur, ev, end, by) in expect.items():
        row = out.loc[out["id"] == pid].iloc[0]
        assert (row["duration"], row["event"], row["end_date"], row["censored_by"], row["reason"]) \
            == (dur, ev, D(end), by, ""), pid
    late = out.loc[out["id"] == 8].iloc[0]
    assert late["duration"] is pd.NA and late["event"] is pd.NA and late["end_date"] is pd.NaT
    assert late["reason"] == "randomised 2019-07-01, after the records end 2019-06-30"
    assert out.attrs["time_to_event"] == {
        "event": "job_start", "data_end": "2019-06-30", "n_people": 9, "n_events": 5,
        "n_censored": {"data_end": 3}, "n_not_derived": 1,
    }
    assert out.attrs["data_problems"]["employment_after_data_end"]["n_records"] == 2
    assert out["duration"].dtype == "Int64" and out["event"].dtype == "Int64"


def test_job_start_weeks_decide_when_present() -> None:
    # with weeks_employed, a month with pay but no weeks in work (a bonus paid after
    # leaving) is not in work; without the column, pay > 0 is in work
    people = people_frame("2019-01-15")
    emp = records([(1, "2019-02", 200.0, 0.0), (1, "2019-04", 900.0, 2.0)], weeks=True)
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31")
    assert out.loc[0, "end_date"] == D("2019-04-01")
    assert out.attrs["settings"]["weeks_from"] == "weeks_employed"
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31",
                        employment_columns={"weeks_employed": None})
    assert out.loc[0, "end_date"] == D("2019-02-01")
    assert out.attrs["settings"]["weeks_from"] == "earnings > 0"


def test_job_start_renamed_columns_and_periods() -> None:
    people = people_frame("2019-01-15").rename(columns={"id": "nino", "randomised_on": "ra"})
    emp = pd.DataFrame({"nino": [1], "pay_month": pd.PeriodIndex(["2019-03"], freq="M"),
                        "pay": [100.0]})
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31",
                        id="nino", randomised="ra",
                        employment_columns={"month": "pay_month", "earnings": "pay"})
    assert out.loc[0, "duration"] == days("2019-01-15", "2019-03-01")


def test_ongoing_job() -> None:
    # 1: paid in December and January (randomised in January) -> in work at randomisation
    # 2: paid in December only, then March -> a new job in March
    # 3: paid in January only -> started in the month of randomisation
    people = people_frame("2019-01-20", "2019-01-20", "2019-01-20")
    emp = records([(1, "2018-12", 500.0), (1, "2019-01", 500.0), (1, "2019-02", 500.0),
                   (2, "2018-12", 500.0), (2, "2019-03", 500.0), (3, "2019-01", 500.0)])
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31")
    assert out["duration"].tolist() == [1, days("2019-01-20", "2019-03-01"), 1]
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31",
                        ongoing_job="reason")
    assert out.loc[0, "duration"] is pd.NA
    assert out.loc[0, "reason"] == (
        "in work at randomisation: paid in 2018-12 and 2019-01 (the month of randomisation)")
    assert out["duration"].tolist()[1:] == [days("2019-01-20", "2019-03-01"), 1]
    assert out.attrs["time_to_event"]["n_not_derived"] == 1


def test_exits_censor_follow_up() -> None:
    # 1: died 2019-03-10, paid from April -> censored by death on 10 March
    # 2: died 2019-05-31, paid in April -> the job is seen
    # 3: emigrated 2019-02-01 and died 2019-04-01 -> the earlier, emigration
    # 4: died after data_end -> censored by data_end
    # 5: emigrated on the first day of the month he is paid in -> seen (event day <= exit)
    people = people_frame(
        "2019-01-15", "2019-01-15", "2019-01-15", "2019-01-15", "2019-01-15",
        died_on=pd.to_datetime(["2019-03-10", "2019-05-31", "2019-04-01", "2020-02-01", None]),
        left_on=pd.to_datetime([None, None, "2019-02-01", None, "2019-06-01"]),
    )
    emp = records([(1, "2019-04", 100.0), (2, "2019-04", 100.0), (5, "2019-06", 100.0)])
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31",
                        exits={"death": "died_on", "emigration": "left_on"})
    assert out["duration"].tolist() == [
        days("2019-01-15", "2019-03-10"), days("2019-01-15", "2019-04-01"),
        days("2019-01-15", "2019-02-01"), days("2019-01-15", "2019-12-31"),
        days("2019-01-15", "2019-06-01")]
    assert out["event"].tolist() == [0, 1, 0, 0, 1]
    assert out["censored_by"].tolist() == ["death", None, "emigration", "data_end", None]
    assert out.attrs["time_to_event"]["n_censored"] == {"death": 1, "emigration": 1,
                                                        "data_end": 1}
    one = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31",
                        exits="died_on")
    assert one["censored_by"].tolist() == ["died_on", None, "died_on", "data_end", None]


# ----------------------------------------------------------------------------- benefit exit

def test_benefit_exit_hand_computed() -> None:
    people = people_frame(*["2019-01-15"] * 11)
    ben = spells([
        (1, "2018-06-01", "2019-03-31"),  # exit: last day 31 March
        (2, "2018-06-01", "2019-02-28"),  # touching spells are one spell ...
        (2, "2019-03-01", "2019-05-10"),  # ... exit 10 May
        (3, "2018-06-01", "2019-02-28"),  # overlapping: a move between benefits
        (3, "2019-02-20", "2019-04-30"),  # -> exit 30 April
        (4, "2018-06-01", "2019-02-27"),  # one day off benefit (28 Feb) is an exit
        (4, "2019-03-01", "2019-05-10"),
        (5, "2019-01-16", "2019-03-01"),  # starts the day after randomisation: not on benefit
        (6, "2018-06-01", None),  # open: censored at data_end
        (7, "2018-06-01", "2019-12-31"),  # ends on data_end: censored there
        (8, "2018-06-01", "2020-03-31"),  # ends after data_end: not yet known, censored
        (9, "2019-01-15", "2019-01-15"),  # on benefit on the day of randomisation only
        (10, "2018-01-01", "2018-12-31"),  # ended before randomisation: not on benefit
        (11, "2018-06-01", "2019-12-30"),  # last day before data_end: exit seen
        (11, "2020-01-01", None),  # a spell after data_end changes nothing
    ])
    out = time_to_event(people, event="benefit_exit", benefits=ben, data_end="2019-12-31")
    r = "2019-01-15"
    cens = days(r, "2019-12-31")
    expect = [
        (days(r, "2019-03-31"), 1), (days(r, "2019-05-10"), 1), (days(r, "2019-04-30"), 1),
        (days(r, "2019-02-27"), 1), (None, None), (cens, 0), (cens, 0), (cens, 0), (1, 1),
        (None, None), (days(r, "2019-12-30"), 1),
    ]
    got = [(None if d is pd.NA else d, None if e is pd.NA else e)
           for d, e in zip(out["duration"], out["event"], strict=True)]
    assert got == expect
    assert out.loc[4, "reason"] == "not on benefit at randomisation (no spell covers 2019-01-15)"
    assert out.loc[9, "reason"] == out.loc[4, "reason"]
    assert out["censored_by"].tolist()[5:8] == ["data_end"] * 3
    assert out.attrs["settings"]["source"] == "benefits"


def test_benefit_exit_with_death() -> None:
    people = people_frame("2019-01-15", "2019-01-15", "2019-01-15",
                          died=pd.to_datetime(["2019-03-01", "2019-03-01", "2019-03-02"]))
    # 1: spell open past death -> censored by death; 2: spell ends on the day of death ->
    # censored (the exit is death); 3: spell ends the day before death -> exit seen
    ben = spells([(1, "2018-01-01", None), (2, "2018-01-01", "2019-03-01"),
                  (3, "2018-01-01", "2019-03-01")])
    out = time_to_event(people, event="benefit_exit", benefits=ben, data_end="2019-12-31",
                        exits={"death": "died"})
    r = "2019-01-15"
    assert out["duration"].tolist() == [days(r, "2019-03-01")] * 3
    assert out["event"].tolist() == [0, 0, 1]
    assert out["censored_by"].tolist() == ["death", "death", None]


# ----------------------------------------------------------------------------- event dates

def test_event_date_column() -> None:
    people = people_frame("2019-01-15", "2019-01-15", "2019-01-15", "2019-01-15",
                          job=pd.to_datetime(["2019-01-15", "2019-06-01", None, "2020-05-01"]))
    out = time_to_event(people, event_date="job", data_end="2019-12-31")
    cens = days("2019-01-15", "2019-12-31")
    assert out["duration"].tolist() == [1, days("2019-01-15", "2019-06-01"), cens, cens]
    assert out["event"].tolist() == [1, 1, 0, 0]
    assert out.attrs["time_to_event"]["event"] == "job"


# ----------------------------------------------------------------------------- bad input

def test_errors() -> None:
    people = people_frame("2019-01-15", "2019-02-15")
    emp = records([(1, "2019-03", 100.0)])
    call = dict(event="job_start", employment=emp, data_end="2019-12-31")
    with pytest.raises(ColumnError, match=r"time_to_event: .*'person'.*id"):
        time_to_event(people, **call, id="person")  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match=r"'ra'.*randomised"):
        time_to_event(people, **call, randomised="ra")  # type: ignore[arg-type]
    bad = people.assign(randomised_on=["2019-01-15", "15/02/2019"])
    with pytest.raises(ColumnError, match=r"'randomised_on' \(randomised\) of people has 1 value\(s\) "
                       r"that are not dates in ISO format.*'15/02/2019'.*pd.to_datetime"):
        time_to_event(bad, **call)  # type: ignore[arg-type]
    with pytest.raises(MissingDataError, match=r"'randomised_on' \(randomised\) of people has 1 "
                       "missing"):
        time_to_event(people.assign(randomised_on=[D("2019-01-15"), pd.NaT]), **call)  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match="duplicate"):
        time_to_event(people.assign(id=[1, 1]), **call)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="'data_end' parameter of time_to_event is required"):
        time_to_event(people, event="job_start", employment=emp, data_end=None)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="'data_end' parameter of time_to_event must be a date"):
        time_to_event(people, event="job_start", employment=emp, data_end=2019)  # type: ignore[arg-type]
    with pytest.raises(DesignError, match=r"data_end \(2018-12-31\) is before everyone's "
                       r"randomisation \(the earliest is 2019-01-15\)"):
        time_to_event(people, event="job_start", employment=emp, data_end="2018-12")
    with pytest.raises(OptionError, match="'event' parameter of time_to_event is needed"):
        time_to_event(people, employment=emp, data_end="2019-12-31")
    with pytest.raises(OptionError, match=r"'event' parameter.*'job_strat'.*job_start"):
        time_to_event(people, event="job_strat", employment=emp,  # type: ignore[arg-type]
                      data_end="2019-12-31")
    with pytest.raises(OptionError, match="'employment' parameter of time_to_event is needed"):
        time_to_event(people, event="job_start", data_end="2019-12-31")
    with pytest.raises(OptionError, match="'benefits' parameter of time_to_event is needed"):
        time_to_event(people, event="benefit_exit", employment=emp, data_end="2019-12-31")
    with pytest.raises(OptionError, match="'benefits' parameter of time_to_event is not used"):
        time_to_event(people, **call, benefits=spells([]))  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"'event_date' parameter.*without event="):
        time_to_event(people.assign(job=D("2019-05-01")), **call,  # type: ignore[arg-type]
                      event_date="job")
    with pytest.raises(OptionError, match="'ongoing_job' parameter"):
        time_to_event(people, **call, ongoing_job="drop")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"'exits' parameter.*empty dict"):
        time_to_event(people, **call, exits={})  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match=r"'died'.*exits: death"):
        time_to_event(people, **call, exits={"death": "died"})  # type: ignore[arg-type]


def test_dates_before_randomisation_are_errors() -> None:
    people = people_frame("2019-01-15", "2019-02-15",
                          job=pd.to_datetime(["2019-03-01", "2019-02-01"]),
                          died=pd.to_datetime([None, "2019-02-14"]))
    with pytest.raises(ColumnError, match=r"time_to_event: column 'job' \(event_date\) of people "
                       r"has 1 date\(s\) before the person's randomisation \(e.g. id 2: "
                       r"2019-02-01, randomised 2019-02-15\). Fix: correct those dates"):
        time_to_event(people, event_date="job", data_end="2019-12-31")
    with pytest.raises(ColumnError, match=r"column 'died' \(exits: death\) of people has 1 "
                       r"date\(s\) before the person's randomisation.*cannot have been randomised"):
        time_to_event(people.drop(columns="job"), event="job_start",
                      employment=records([]), data_end="2019-12-31", exits={"death": "died"})


def test_record_errors_name_time_to_event() -> None:
    people = people_frame("2019-01-15")
    with pytest.raises(ColumnError, match=r"^time_to_event: column 'earnings' \(earnings\) of "
                       "employment has 1 negative"):
        time_to_event(people, event="job_start", employment=records([(1, "2019-02", -5.0)]),
                      data_end="2019-12-31")
    with pytest.raises(ColumnError, match=r"^time_to_event: employment has 1 duplicated "
                       "person-month"):
        time_to_event(people, event="job_start",
                      employment=records([(1, "2019-02", 5.0), (1, "2019-02-20", 5.0)]),
                      data_end="2019-12-31")
    with pytest.raises(ColumnError, match=r"^time_to_event: benefits has 1 spell\(s\) whose 'end'"):
        time_to_event(people, event="benefit_exit", data_end="2019-12-31",
                      benefits=spells([(1, "2019-02-01", "2019-01-01")]))
    with pytest.raises(ColumnError, match=r"'month' \(month\) of employment has 1 value\(s\) that "
                       "are not dates"):
        time_to_event(people, event="job_start", employment=records([(1, "March", 5.0)]),
                      data_end="2019-12-31")
    with pytest.raises(ColumnError, match=r"'stop'.*benefit_columns=\{'end': \.\.\.\}"):
        time_to_event(people, event="benefit_exit", data_end="2019-12-31",
                      benefits=spells([]), benefit_columns={"end": "stop"})


def test_unknown_ids_warn_and_are_left_out() -> None:
    people = people_frame("2019-01-15")
    emp = records([(1, "2019-03", 100.0), (99, "2019-02", 100.0)])
    with pytest.warns(RecordProblemsWarning, match=r"^time_to_event: 1 of 2 employment record\(s\) "
                      r"name ids not in people \(e.g. 99\)"):
        out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31")
    assert out.loc[0, "end_date"] == D("2019-03-01")
    assert out.attrs["data_problems"]["employment_unknown_id"]["examples"] == (99,)
    ben = spells([(7, "2019-01-01", None)])
    with pytest.warns(RecordProblemsWarning, match=r"1 of 1 benefit spell\(s\) name ids not in"):
        out = time_to_event(people, event="benefit_exit", benefits=ben, data_end="2019-12-31")
    assert out.loc[0, "reason"].startswith("not on benefit")


@pytest.mark.parametrize("kind", ID_KINDS)
def test_ids_of_every_kind(kind: str) -> None:
    # the fuzzer's id types (tests/fuzzing.py): one row per person or a clear error
    ids = _ids(kind, 6)
    people = pd.DataFrame({"id": ids, "randomised_on": pd.to_datetime(["2019-01-15"] * 6)})
    emp = pd.DataFrame({"id": people["id"].iloc[[0, 2]].to_numpy(), "month": ["2019-03"] * 2,
                        "earnings": [10.0, 20.0]}).astype({"id": people["id"].dtype})
    ben = pd.DataFrame({"id": people["id"].iloc[[1]].to_numpy(), "start": [D("2019-01-01")],
                        "end": [D("2019-02-01")]}).astype({"id": people["id"].dtype})
    out = time_to_event(people, event="job_start", employment=emp, data_end="2019-12-31")
    assert out["event"].tolist() == [1, 0, 1, 0, 0, 0]
    out = time_to_event(people, event="benefit_exit", benefits=ben, data_end="2019-12-31")
    assert out["duration"].tolist()[:2] == [pd.NA, days("2019-01-15", "2019-02-01")]
    assert (out["reason"] != "").sum() == 5


def test_people_order_and_index_kept() -> None:
    people = people_frame("2019-01-15", "2019-02-15", "2019-03-15").iloc[[2, 0, 1]]
    people.index = ["c", "a", "b"]
    out = time_to_event(people, event="job_start", employment=records([(1, "2019-03", 1.0)]),
                        data_end="2019-12-31")
    assert list(out.index) == ["c", "a", "b"] and out["id"].tolist() == [3, 1, 2]


# ----------------------------------------------------------------------------- properties

START = np.datetime64("2019-01-01", "D")


def _by_hand(people: pd.DataFrame, emp: pd.DataFrame | None, ben: pd.DataFrame | None,
             data_end: str, died: list, ongoing: str = "event") -> list[tuple]:
    """The rules written out day by day, person by person (no arrays, no month tables)."""
    end = D(data_end).date()
    out = []
    for pid, r, x in zip(people["id"], people["randomised_on"], died, strict=True):
        r = r.date()
        if r > end:
            out.append(None)
            continue
        stop = min(end, x.date()) if x is not None else end
        if emp is not None:
            months = sorted(m for i, m, y in zip(emp["id"], emp["month"], emp["earnings"],
                                                 strict=True) if i == pid and y > 0)
            this = D(r).to_period("M")
            paid = {D(m).to_period("M") for m in months}
            if ongoing == "reason" and this in paid and this - 1 in paid:
                out.append(None)
                continue
            event = None
            for m in months:
                first = D(m).date()
                if (first.year, first.month) >= (r.year, r.month):
                    event = max(first, r)
                    break
            if event is not None and event <= stop:
                out.append(((event - r).days + 1, 1))
            else:
                out.append(((stop - r).days + 1, 0))
        else:
            assert ben is not None
            mine = [(s.date(), (e.date() if e is not pd.NaT else None))
                    for i, s, e in zip(ben["id"], ben["start"], ben["end"], strict=True)
                    if i == pid]
            def on(day, mine=mine):  # type: ignore[no-untyped-def]
                return any(s <= day and (e is None or day <= e) for s, e in mine)

            if not on(r):
                out.append(None)
                continue
            day = r
            while day < stop and on(day + pd.Timedelta(days=1).to_pytimedelta()):
                day = day + pd.Timedelta(days=1).to_pytimedelta()
            # day: the last day on benefit seen, up to stop; the exit is seen if day < stop
            out.append(((day - r).days + 1, int(day < stop)))
    return out


people_st = st.lists(st.integers(0, 200), max_size=7)


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    offsets = [0, *draw(people_st)]  # someone randomised before data_end
    n = len(offsets)
    people = pd.DataFrame({"id": np.arange(1, n + 1),
                           "randomised_on": pd.to_datetime(START + np.array(offsets))})
    rows = draw(st.lists(st.tuples(st.integers(1, n + 1), st.integers(-2, 12),
                                   st.sampled_from([0.0, 50.0, 900.0])), max_size=25,
                         unique_by=lambda t: (t[0], t[1])))
    emp = pd.DataFrame({"id": [a for a, _, _ in rows],
                        "month": [str(np.datetime64("2019-01", "M") + b) for _, b, _ in rows],
                        "earnings": [c for _, _, c in rows]})
    srows = draw(st.lists(st.tuples(st.integers(1, n), st.integers(-30, 400), st.integers(0, 120),
                                    st.booleans()), max_size=20))
    ben = pd.DataFrame({"id": [a for a, _, _, _ in srows],
                        "start": pd.to_datetime([START + b for _, b, _, _ in srows]),
                        "end": pd.to_datetime([None if o else START + b + c
                                               for _, b, c, o in srows])})
    end = str(START + draw(st.integers(100, 420)))
    died = [draw(st.one_of(st.none(), st.integers(0, 500))) for _ in range(n)]
    died = [None if d is None else D(START + offsets[i] + d) for i, d in enumerate(died)]
    return people, emp, ben, end, died


def _derived(out: pd.DataFrame) -> list:
    return [None if r else (int(d), int(e))
            for d, e, r in zip(out["duration"].fillna(-1), out["event"].fillna(-1),
                               out["reason"] != "", strict=True)]


@settings(max_examples=80, deadline=None)
@given(cases(), st.sampled_from(["job_start", "benefit_exit"]), st.sampled_from(["event", "reason"]))
def test_matches_day_by_day_and_invariants(case, event, ongoing) -> None:  # type: ignore[no-untyped-def]
    people, emp, ben, end, died = case
    people = people.assign(died=pd.to_datetime(died))
    recs = {"employment": emp} if event == "job_start" else {"benefits": ben}
    opts = {"data_end": end, "exits": {"death": "died"}, "ongoing_job": ongoing}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordProblemsWarning)
        out = time_to_event(people, event=event, **opts, **recs)
        # permuting the records' rows changes nothing
        shuffled = {k: v.sample(frac=1.0, random_state=3) for k, v in recs.items()}
        again = time_to_event(people, event=event, **opts, **shuffled)
        # records after data_end change nothing
        e_day = np.datetime64(end, "D")
        if event == "job_start":
            extra = pd.DataFrame({"id": people["id"],
                                  # after data_end and after every drawn month
                                  "month": str(max(e_day.astype("datetime64[M]") + 1,
                                                   np.datetime64("2020-02", "M"))),
                                  "earnings": 100.0})
            more = {"employment": pd.concat([emp, extra], ignore_index=True) if len(emp) else extra}
        else:
            extra = pd.DataFrame({"id": people["id"], "start": pd.Timestamp(e_day + 1),
                                  "end": pd.NaT})
            # one datetime resolution on both sides (pandas 2.0 cannot concatenate s with ns)
            extra = extra.astype({"start": ben["start"].dtype, "end": ben["end"].dtype})
            more = {"benefits": pd.concat([ben, extra], ignore_index=True) if len(ben) else extra}
        added = time_to_event(people, event=event, **opts, **more)
    pd.testing.assert_frame_equal(out, again)
    pd.testing.assert_frame_equal(out, added)
    assert _derived(out) == _by_hand(people, emp if event == "job_start" else None,
                                     ben if event == "benefit_exit" else None, end, died,
                                     ongoing if event == "job_start" else "event")
    ok = out["reason"] == ""
    r = people["randomised_on"]
    stop = pd.concat([people["died"].fillna(D(end)), pd.Series(D(end), index=people.index)],
                     axis=1).min(axis=1)
    follow = (stop - r).dt.days + 1
    assert (out.loc[ok, "duration"] >= 1).all()
    assert (out.loc[ok, "duration"] <= ((D(end) - r).dt.days + 1)[ok]).all()
    cens = ok & (out["event"] == 0)
    assert (out.loc[cens, "duration"] == follow[cens]).all()
    assert (out.loc[cens, "end_date"] == stop[cens]).all()
    assert out.loc[cens, "censored_by"].isin(["data_end", "death"]).all()
    assert out.loc[ok, "end_date"].eq(r[ok] + pd.to_timedelta(out.loc[ok, "duration"].astype(
        int) - 1, unit="D")).all()
    assert out.loc[~ok, ["duration", "event"]].isna().all().all()


# ----------------------------------------------------------------------------- generators

def test_agrees_with_derive_outcomes_and_whp_monthly_records() -> None:
    people = whp_like(n=3000, seed=11)
    rec = whp_monthly_records(people, ["treatment", "control"] * 1500, seed=12)
    p = people[["id", "referred_on"]].rename(columns={"referred_on": "randomised_on"})
    data_end = rec.employment.attrs["data_end"]
    out = time_to_event(p, event="job_start", employment=rec.employment, data_end=data_end)
    assert (out["reason"] == "").all() and out["duration"].notna().all()
    derived = derive_outcomes(p, employment=rec.employment, months=12, data_end=data_end)
    in_window = (out["event"] == 1) & (out["end_date"] <= derived["follow_up_end"])
    # a job in the 12-month window <=> derive_outcomes' any_employment <=> the generator's truth
    assert (in_window.astype(int).to_numpy() == derived["any_employment"].to_numpy()).all()
    assert (in_window.astype(int).to_numpy() == rec.truth["any_employment"].to_numpy()).all()
    assert 0.2 < in_window.mean() < 0.8


def test_benefit_exit_on_whp_monthly_records() -> None:
    people = whp_like(n=2000, seed=21)
    rec = whp_monthly_records(people, seed=22)
    p = people[["id", "referred_on", "benefit"]].rename(columns={"referred_on": "randomised_on"})
    data_end = rec.benefits.attrs["data_end"]
    out = time_to_event(p, event="benefit_exit", benefits=rec.benefits, data_end=data_end)
    # the generator puts everyone on a benefit at referral on one, from before referral
    on = p["benefit"] != "none"
    assert (out.loc[on, "reason"] == "").all()
    assert out.loc[~on, "reason"].str.startswith("not on benefit").all()
    # the duration is the days on benefit from randomisation: derive_outcomes' 12-month
    # days_on_benefit counts at least those of the first year for everyone who is on it
    derived = derive_outcomes(p, employment=rec.employment, benefits=rec.benefits, months=12,
                              data_end=data_end, measures=["days_on_benefit"])
    first_year = (derived["follow_up_end"] - p["randomised_on"]).dt.days + 1
    capped = np.minimum(out.loc[on, "duration"].astype(int), first_year[on])
    assert (derived.loc[on, "days_on_benefit"].astype(int) >= capped).all()


# ----------------------------------------------------------------------------- whp_job_starts

def _trial(n: int, seed: int, **kw):  # type: ignore[no-untyped-def]
    people = whp_like(n=n, seed=seed)
    arm = np.where(np.arange(n) % 2 == 0, "treatment", "control")
    rec = whp_job_starts(people, arm, seed=seed + 1, **kw)
    p = people[["id", "referred_on"]].rename(columns={"referred_on": "randomised_on"})
    return people, p, rec


def test_whp_job_starts_derived_job_start_is_the_true_one_to_the_month() -> None:
    _, p, rec = _trial(4000, 31, data_end="2019-09-30")
    assert rec.truth.attrs["data_end"] == "2019-09-30"
    out = time_to_event(p, event="job_start", employment=rec.employment, data_end="2019-09-30")
    true = rec.truth["job_start"]
    seen = true.notna()
    assert (out["event"].astype(bool) == seen).all()
    # the event is dated to the first day of the true start's month, or the day of randomisation
    dated = np.maximum(p["randomised_on"], true.dt.to_period("M").dt.start_time)
    assert (out.loc[seen, "end_date"] == dated[seen]).all()
    assert (out.loc[seen, "end_date"] <= true[seen]).all()
    assert (out.loc[~seen, "censored_by"] == "data_end").all()
    assert 0.2 < seen.mean() < 0.8
    # someone had a job that ended just before the month of randomisation: it is not a start
    before = rec.employment.merge(p, on="id")
    assert (before["month"] < before["randomised_on"].dt.to_period("M").dt.start_time).any()


def test_whp_job_starts_benefit_exit_is_the_true_one() -> None:
    people, p, rec = _trial(4000, 41, data_end="2019-09-30")
    out = time_to_event(p, event="benefit_exit", benefits=rec.benefits, data_end="2019-09-30")
    t = rec.truth
    on = t["on_benefit"] == 1
    assert ((out["reason"] == "") == on).all()
    assert (on == (people["benefit"] != "none")).all()
    ended = t["benefit_exit"] < pd.Timestamp("2019-09-30")  # an exit on data_end is censored
    assert (out.loc[ended, "event"] == 1).all()
    assert (out.loc[ended, "end_date"] == t.loc[ended, "benefit_exit"]).all()
    assert (out.loc[on & ~ended, "event"] == 0).all()
    assert (t.loc[on & ~ended, "benefit_exit"].isna() | (t["benefit_exit"] == pd.Timestamp(
        "2019-09-30"))[on & ~ended]).all()


def test_whp_job_starts_true_rmst() -> None:
    # without covariate effects the truth is a plain sum of the Weibull survival
    _, _p, rec = _trial(200, 51, covariate_effects=False, hazard_ratio=1.5, scale_days=700.0,
                       shape=0.9)
    rmst = rec.truth.attrs["true"]["rmst"]
    for tau in TRUE_RMST_HORIZONS:
        j = np.arange(tau)
        c = sum(np.exp(-((j / 700.0) ** 0.9)))
        t = sum(np.exp(-1.5 * (j / 700.0) ** 0.9))
        assert rmst[tau]["control"] == pytest.approx(c, rel=1e-12)
        assert rmst[tau]["treatment"] == pytest.approx(t, rel=1e-12)
        assert rmst[tau]["difference"] == pytest.approx(t - c, rel=1e-12)


def test_whp_job_starts_true_rmst_matches_simulated_durations() -> None:
    # with covariate effects, the truth averages over people: the mean of the true
    # durations min(floor(T) + 1, tau) in each arm lies within 4 standard errors of it
    _people, p, rec = _trial(30000, 61, months=36)
    start = rec.truth["job_start"]
    dur = ((start - p["randomised_on"]).dt.days + 1).to_numpy(dtype=float)
    for tau in TRUE_RMST_HORIZONS:
        capped = np.where(np.isnan(dur), tau, np.minimum(dur, tau))
        for arm in ("control", "treatment"):
            m = rec.truth["arm"].to_numpy() == arm
            x = capped[m]
            se = x.std(ddof=1) / np.sqrt(x.size)
            assert abs(x.mean() - rec.truth.attrs["true"]["rmst"][tau][arm]) < 4 * se


def test_whp_job_starts_hazard_ratio_recovered() -> None:
    # without covariate effects, a Cox model (statsmodels PHReg) on the true durations
    # recovers the hazard ratio; on the monthly durations (ties within months) nearly
    from statsmodels.duration.hazard_regression import PHReg

    _, p, rec = _trial(10000, 71, covariate_effects=False, hazard_ratio=1.3)
    treated = (rec.truth["arm"] == "treatment").to_numpy(dtype=float)[:, None]
    true = time_to_event(p.assign(job=rec.truth["job_start"]), event_date="job",
                         data_end=rec.truth.attrs["data_end"])
    monthly = time_to_event(p, event="job_start", employment=rec.employment,
                            data_end=rec.truth.attrs["data_end"])
    for out, tol in ((true, 4.0), (monthly, 4.0)):
        fit = PHReg(out["duration"].to_numpy(dtype=float), treated,
                    status=out["event"].to_numpy(dtype=float), ties="efron").fit()
        assert abs(fit.params[0] - np.log(1.3)) < tol * fit.bse[0]


def test_whp_job_starts_deterministic_and_checked() -> None:
    people = whp_like(n=300, seed=3)
    arm = ["treatment", "control"] * 150
    a = whp_job_starts(people, arm, seed=9)
    b = whp_job_starts(people, arm, seed=9)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    with pytest.raises(OptionError, match=r"'hazard_ratio' parameter of whp_job_starts must be a "
                       "positive number"):
        whp_job_starts(people, arm, seed=1, hazard_ratio=0)
    with pytest.raises(OptionError, match=r"Missing: 'prior_earnings'"):
        whp_job_starts(people.drop(columns="prior_earnings"), arm, seed=1)
    with pytest.raises(OptionError, match="one arm per person"):
        whp_job_starts(people, arm[:10], seed=1)
