"""Outcomes derived from monthly employment records and benefit spells (``dwp_eval.outcomes``).

Hand-built records with answers worked out by hand (in the comments) for each
boundary: exactly 13 weeks, a gap month, work and benefit spells crossing the
window's end, partial first and last months, incomplete follow-up, a wage-rate
change and a regional rate. Then every bad input, properties (row order,
brute-force day counts, calendar months) and the synthetic generator.

Tolerance: ``employed_weeks`` is rounded to six decimals by design, so weeks
are compared to within 1e-6 (``WEEKS``); pounds are rounded to the penny. The
thresholds are applied to the rounded values, so 0/1 answers are exact.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval._core.records import add_months
from dwp_eval.datasets import whp_like
from dwp_eval.datasets.admin import AdminRecords, whp_monthly_records
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    MissingDataError,
    OptionError,
    RecordProblemsWarning,
)
from dwp_eval.outcomes import (
    FOLLOW_UP_COLUMNS,
    MEASURES,
    NATIONAL_LIVING_WAGE,
    derive_outcomes,
)

ROOT = Path(__file__).resolve().parents[1]
WEEKS = 1e-6  # employed_weeks is rounded to six decimals


def people_frame(*dates: str, ids: list[int] | None = None, **extra: list) -> pd.DataFrame:
    ids = ids if ids is not None else list(range(1, len(dates) + 1))
    return pd.DataFrame({"id": ids, "randomised_on": pd.to_datetime(list(dates)), **extra})


def records(rows: list[tuple], weeks: bool = True) -> pd.DataFrame:
    """Rows of (id, month, earnings[, weeks_employed])."""
    cols = ["id", "month", "earnings"] + (["weeks_employed"] if weeks else [])
    return pd.DataFrame([r[: len(cols)] for r in rows], columns=cols)


def spells(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "start", "end"])
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def derive(people: pd.DataFrame, employment: pd.DataFrame, **kwargs) -> pd.DataFrame:
    kwargs.setdefault("data_end", "2020-12-31")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordProblemsWarning)
        return derive_outcomes(people, employment=employment, **kwargs)


# ------------------------------------------------------------------ result shape


def test_columns_order_dtypes_and_index() -> None:
    people = people_frame("2019-01-01", "2019-01-01", ids=[30, 10])
    people.index = ["a", "b"]
    emp = records([(10, "2019-02", 500.0, 2.0)])
    ben = spells([(30, "2019-01-01", "2019-01-10")])
    out = derive(people, emp, benefits=ben)
    assert list(out.columns) == ["id", *MEASURES, *FOLLOW_UP_COLUMNS]
    assert list(out.index) == ["a", "b"]
    assert out["id"].tolist() == [30, 10]
    assert str(out["employed_weeks"].dtype) == "Float64"
    assert str(out["cumulative_earnings"].dtype) == "Float64"
    for name in ("any_employment", "employed_13_weeks", "sustained_earnings", "days_on_benefit"):
        assert str(out[name].dtype) == "Int64", name
    assert out["follow_up_complete"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(out["follow_up_end"])
    # person 30 has no employment records: zeros, not NA
    assert out.loc["a", "employed_weeks"] == 0 and out.loc["a", "any_employment"] == 0
    assert out.loc["a", "days_on_benefit"] == 10 and out.loc["b", "days_on_benefit"] == 0
    assert out["reason"].tolist() == ["", ""]


def test_measures_subset_in_the_order_given_and_without_benefits() -> None:
    people = people_frame("2019-01-01")
    emp = records([(1, "2019-02", 500.0, 2.0)])
    out = derive(people, emp, measures=["cumulative_earnings", "any_employment"])
    assert list(out.columns) == ["id", "cumulative_earnings", "any_employment", *FOLLOW_UP_COLUMNS]
    assert "days_on_benefit" not in derive(people, emp).columns
    assert list(derive(people, emp, measures="employed_weeks").columns)[1] == "employed_weeks"


def test_follow_up_window_is_calendar_months_from_randomisation() -> None:
    # 27 May 2018 + 12 months = 27 May 2019 (exclusive): last day 26 May 2019.
    # 31 Jan 2019 + 1 month = 28 Feb 2019 (clipped), so the window is 31 Jan to 27 Feb.
    people = people_frame("2018-05-27", "2019-01-31")
    out = derive(people, records([]), months=12)
    assert out["follow_up_end"].tolist() == [pd.Timestamp("2019-05-26"), pd.Timestamp("2020-01-30")]
    one = derive(people, records([]), months=1)
    assert one["follow_up_end"].tolist() == [pd.Timestamp("2018-06-26"), pd.Timestamp("2019-02-27")]


# ------------------------------------------------------------------ weeks in work


def test_exactly_13_weeks_counts_and_12_9_does_not() -> None:
    people = people_frame("2019-01-01", "2019-01-01", "2019-01-01")
    emp = records(
        [
            (1, "2019-02", 1000.0, 4.0),
            (1, "2019-03", 1000.0, 4.0),
            (1, "2019-04", 1000.0, 4.0),
            (1, "2019-05", 250.0, 1.0),  # 13.0 weeks
            (2, "2019-02", 1000.0, 4.0),
            (2, "2019-03", 1000.0, 4.0),
            (2, "2019-04", 1000.0, 4.0),
            (2, "2019-05", 250.0, 0.9),  # 12.9 weeks
            (3, "2019-03", 1000.0, 4.22),
            (3, "2019-05", 1000.0, 4.43),
            (3, "2019-07", 1000.0, 4.35),  # 13 weeks, but 12.999999999999998 as floats
        ]
    )
    out = derive(people, emp)
    assert out["employed_weeks"].tolist() == pytest.approx([13.0, 12.9, 13.0], abs=WEEKS)
    assert out["employed_13_weeks"].tolist() == [1, 0, 1]
    assert out["any_employment"].tolist() == [1, 1, 1]
    assert derive(people, emp, weeks_threshold=12.9)["employed_13_weeks"].tolist() == [1, 1, 1]


def test_exactly_13_weeks_from_days_without_a_weeks_column() -> None:
    # Randomised 30 Jan: 2 days of January + February (28) + March (31) + April (30)
    # = 91 days = 13 weeks exactly. Randomised 31 Jan: 90 days = 12.857 weeks.
    people = people_frame("2019-01-30", "2019-01-31")
    rows = [(i, m, 800.0) for i in (1, 2) for m in ("2019-01", "2019-02", "2019-03", "2019-04")]
    out = derive(people, records(rows, weeks=False))
    assert out["employed_weeks"].tolist() == pytest.approx([13.0, 90 / 7], abs=WEEKS)
    assert out["employed_13_weeks"].tolist() == [1, 0]
    assert out.attrs["settings"]["weeks_from"] == "earnings > 0"
    # the first month is apportioned by days: 2/31 and 1/31 of January's pay
    jan = 800 * np.array([2, 1]) / 31
    assert out["cumulative_earnings"].tolist() == pytest.approx(np.round(jan + 2400, 2), abs=WEEKS)


def test_a_gap_month_is_not_counted() -> None:
    # Feb (28 days), Mar (31), no April, May (31), June (30): 120 days; a zero-pay
    # record (July) is not work either.
    people = people_frame("2019-01-01", "2019-01-01")
    rows = [(1, m, 900.0) for m in ("2019-02", "2019-03", "2019-05", "2019-06")]
    rows.append((1, "2019-07", 0.0))
    rows += [(2, m, 900.0) for m in ("2019-02", "2019-03", "2019-04", "2019-05", "2019-06")]
    out = derive(people, records(rows, weeks=False))
    assert out["employed_weeks"].tolist() == pytest.approx([120 / 7, 150 / 7], abs=WEEKS)
    assert out["employed_weeks"].iloc[0] == pytest.approx(17.142857, abs=1e-6)
    assert out["cumulative_earnings"].tolist() == [3600.0, 4500.0]


def test_partial_first_and_last_months_are_apportioned_by_days() -> None:
    # Randomised 17 March 2019: the window is 17 Mar 2019 to 16 Mar 2020.
    # March 2019: 15 of 31 days inside; March 2020: 16 of 31 days inside.
    people = people_frame("2019-03-17")
    emp = records(
        [
            (1, "2019-02", 3100.0, 4.0),  # before randomisation: not counted
            (1, "2019-03", 3100.0, 31 / 7),
            (1, "2019-06", 1000.0, 2.0),
            (1, "2020-03", 3100.0, 31 / 7),
            (1, "2020-04", 3100.0, 30 / 7),  # after the window: not counted
        ]
    )
    out = derive(people, emp)
    assert out["employed_weeks"].iloc[0] == pytest.approx(15 / 7 + 2 + 16 / 7, abs=WEEKS)
    assert out["cumulative_earnings"].iloc[0] == pytest.approx(1500 + 1000 + 1600, abs=WEEKS)


def test_work_spell_crossing_the_window_end_counts_up_to_its_last_day() -> None:
    # Randomised 15 Jan 2019: last day 14 Jan 2020. A job from Nov 2019 onwards
    # counts Nov (30 days), Dec (31) and 14 days of January 2020.
    people = people_frame("2019-01-15")
    rows = [(1, m, 3100.0) for m in ("2019-11", "2019-12", "2020-01", "2020-02", "2020-03")]
    out = derive(people, records(rows, weeks=False))
    assert out["employed_weeks"].iloc[0] == pytest.approx((30 + 31 + 14) / 7, abs=WEEKS)
    assert out["cumulative_earnings"].iloc[0] == pytest.approx(
        3100 + 3100 + 3100 * 14 / 31, rel=0.01 / 7000
    )


def test_months_may_be_periods_dates_or_text_and_columns_renamed() -> None:
    people = people_frame("2019-01-01")
    text = pd.DataFrame({"pid": [1, 1], "pay_month": ["2019-02", "2019-03-20"], "pay": [1.0, 2.0]})
    text = text.rename(columns={"pid": "id"})
    as_period = text.assign(pay_month=pd.PeriodIndex(["2019-02", "2019-03"], freq="M"))
    as_date = text.assign(
        pay_month=pd.to_datetime(["2019-02-11", "2019-03-31 17:00"], format="ISO8601")
    )
    cols = {"month": "pay_month", "earnings": "pay"}
    outs = [derive(people, e, employment_columns=cols) for e in (text, as_period, as_date)]
    for out in outs:
        assert out["employed_weeks"].iloc[0] == pytest.approx(59 / 7, abs=WEEKS)
        assert out["cumulative_earnings"].iloc[0] == 3.0
    # a weeks column can be ignored on purpose
    with_weeks = records([(1, "2019-02", 100.0, 1.0)])
    out = derive(people, with_weeks, employment_columns={"weeks_employed": None})
    assert out["employed_weeks"].iloc[0] == pytest.approx(4.0, abs=WEEKS)


# ------------------------------------------------------------------ follow-up


def test_incomplete_follow_up_gives_na_and_a_reason_never_zero() -> None:
    people = people_frame("2018-01-01", "2018-05-27", "2019-04-02")
    emp = records(
        [
            (1, "2018-03", 400.0, 2.0),
            (2, "2018-06", 5000.0, 4.29),  # in work, but the window is not complete
            (2, "2019-03", 5000.0, 4.43),
        ]
    )
    ben = spells([(2, "2018-05-01", None), (3, "2019-01-01", None)])
    out = derive(people, emp, benefits=ben, data_end=None)  # records end 2019-03-31
    assert out["follow_up_complete"].tolist() == [True, False, False]
    for name in MEASURES:
        assert out[name].isna().tolist() == [False, True, True], name
    assert out["days_on_benefit"].iloc[0] == 0
    assert out["reason"].tolist() == [
        "",
        "follow-up incomplete: window ends 2019-05-26, records end 2019-03-31",
        "follow-up not started: randomised 2019-04-02, records end 2019-03-31",
    ]
    assert out.attrs["follow_up"] == {
        "months": 12,
        "data_end": "2019-03-31",
        "data_end_from": "employment",
        "n_people": 3,
        "n_complete": 1,
        "n_incomplete": 2,
        "n_not_started": 1,
    }


def test_window_ending_on_data_end_is_complete() -> None:
    people = people_frame("2019-01-01", "2019-01-02")
    out = derive(people, records([]), data_end="2019-12-31")
    assert out["follow_up_complete"].tolist() == [True, False]


def test_empty_employment_with_data_end_means_nobody_worked() -> None:
    people = people_frame("2019-01-01")
    out = derive(people, records([]), data_end=pd.Timestamp("2020-01-31"))
    assert out["employed_weeks"].tolist() == [0.0]
    assert out["sustained_earnings"].tolist() == [0]


def test_records_before_randomisation_are_fine() -> None:
    people = people_frame("2019-06-10")
    emp = records([(1, "2019-01", 900.0, 4.0), (1, "2019-05", 900.0, 4.0)])
    out = derive(people, emp)  # no warning (derive turns one into an error)
    assert out["employed_weeks"].tolist() == [0.0]
    assert out["any_employment"].tolist() == [0]


# ------------------------------------------------------------------ sustained earnings


STEP_RATES = pd.DataFrame({"from": ["2019-01-01", "2019-07-01"], "rate": [10.0, 20.0]})


def test_wage_rate_change_mid_window_changes_the_sustained_answer() -> None:
    # 16 h x 26 weeks = 416 hours. £4,160 is 26 weeks' worth at £10 (February) but
    # 13 weeks' worth at £20 (August). A single threshold at the rate at the window's
    # start (£4,160) would say 1 for person 2; at the end (£8,320), 0 for person 1.
    people = people_frame("2019-01-01", "2019-01-01", "2019-01-01", "2019-01-01")
    emp = records(
        [
            (1, "2019-02", 4160.0, 4.0),
            (2, "2019-08", 4160.0, 4.43),
            (3, "2019-02", 2080.0, 4.0),  # 13 weeks' worth
            (3, "2019-08", 4160.0, 4.43),  # + 13 weeks' worth = 26
            (4, "2019-02", 4159.99, 4.0),  # just short
        ]
    )
    out = derive(people, emp, wage_rates=STEP_RATES)
    assert out["sustained_earnings"].tolist() == [1, 0, 1, 0]
    assert out["cumulative_earnings"].tolist() == [4160.0, 4160.0, 6240.0, 4159.99]
    assert out.attrs["settings"]["wage_rates"] == "wage_rates"
    # the hours and weeks are inputs: 8 hours x 26 weeks at £20 is £4,160
    assert (
        derive(people, emp, wage_rates=STEP_RATES, hours=8.0)["sustained_earnings"].tolist()[1] == 1
    )
    assert derive(people, emp, wage_rates=STEP_RATES, sustained_weeks=13)[
        "sustained_earnings"
    ].tolist() == [1, 1, 1, 1]


def test_rate_for_the_first_month_is_the_one_at_the_window_start() -> None:
    # Randomised 15 Jan; a rate takes effect on 10 January. The first (partial) month
    # uses the rate in force on 15 January, though none was in force on 1 January.
    people = people_frame("2019-01-15")
    rates = pd.DataFrame({"from": ["2019-01-10"], "rate": [10.0]})
    emp = records([(1, "2019-01", 31 * 4160 / 17, 4.0)])  # 17/31 of it is in the window
    out = derive(people, emp, wage_rates=rates)
    assert out["cumulative_earnings"].iloc[0] == pytest.approx(4160.0, abs=0.005)
    assert out["sustained_earnings"].tolist() == [1]


def test_national_living_wage_is_the_default() -> None:
    # 16 x 26 x £8.21 (April 2019) = £3,415.36
    assert dict(NATIONAL_LIVING_WAGE)["2019-04-01"] == 8.21
    assert [r for _, r in NATIONAL_LIVING_WAGE] == [
        7.20,
        7.50,
        7.83,
        8.21,
        8.72,
        8.91,
        9.50,
        10.42,
        11.44,
    ]
    assert [d for d, _ in NATIONAL_LIVING_WAGE] == [f"{y}-04-01" for y in range(2016, 2025)]
    people = people_frame("2019-04-01", "2019-04-01")
    emp = records([(1, "2019-05", 3415.36, 4.0), (2, "2019-05", 3415.35, 4.0)])
    out = derive(people, emp)
    assert out["sustained_earnings"].tolist() == [1, 0]
    assert out.attrs["settings"]["wage_rates"] == "NATIONAL_LIVING_WAGE"


def test_regional_override() -> None:
    # Default £10 throughout; London £20 from 1 April 2019. £4,160 is 26 weeks'
    # worth at £10, 13 at £20.
    rates = pd.DataFrame(
        {
            "from": ["2019-01-01", "2019-04-01"],
            "rate": [10.0, 20.0],
            "region": [None, "London"],
        }
    )
    people = people_frame(*["2019-01-01"] * 5, region=["London", "London", "Wales", None, "Mars"])
    emp = records(
        [
            (1, "2019-02", 4160.0, 4.0),  # London before its first row: default £10
            (2, "2019-05", 4160.0, 4.0),  # London rate: 13 weeks' worth
            (3, "2019-05", 4160.0, 4.0),  # Wales: default
            (4, "2019-05", 4160.0, 4.0),  # no region: default
            (5, "2019-05", 4160.0, 4.0),  # a region without rows: default
        ]
    )
    out = derive(people, emp, wage_rates=rates, region="region")
    assert out["sustained_earnings"].tolist() == [1, 0, 1, 1, 1]


# ------------------------------------------------------------------ benefit spells


def test_overlapping_nested_adjacent_and_open_spells() -> None:
    # Window: 1 Jan 2019 to 31 Dec 2019 (365 days).
    people = people_frame(*["2019-01-01"] * 6)
    ben = spells(
        [
            (1, "2019-01-01", "2019-01-31"),
            (1, "2019-01-20", "2019-02-10"),  # overlaps: union 1 Jan-10 Feb = 41 days
            (2, "2019-03-01", "2019-03-31"),
            (2, "2019-03-05", "2019-03-06"),  # nested: 31 days
            (3, "2019-01-01", "2019-01-10"),
            (3, "2019-01-11", "2019-01-20"),  # adjacent: 20 days
            (4, "2018-06-01", None),  # open, from before randomisation: 365 days
            (5, "2019-12-01", "2020-03-01"),  # crosses the window's end: 31 days
            (6, "2018-01-01", "2018-12-31"),  # ends the day before the window
            (6, "2019-12-31", "2019-12-31"),  # the last day: 1 day
        ]
    )
    out = derive(people, records([]), benefits=ben)
    assert out["days_on_benefit"].tolist() == [41, 31, 20, 365, 31, 1]


def test_spell_crossing_the_window_end_and_leap_year_window() -> None:
    # Randomised 15 Jan 2020: window to 14 Jan 2021, 366 days (29 Feb 2020).
    people = people_frame("2020-01-15", "2020-01-15")
    ben = spells([(1, "2020-12-01", "2021-03-01"), (2, "2019-01-01", None)])
    out = derive(people, records([]), benefits=ben, data_end="2021-12-31")
    assert out["days_on_benefit"].tolist() == [31 + 14, 366]


# ------------------------------------------------------------------ record problems


def test_unknown_ids_warn_count_and_are_left_out() -> None:
    people = people_frame("2019-01-01", "2019-01-01")
    emp = records(
        [(1, "2019-02", 500.0, 2.0), (7, "2019-02", 500.0, 2.0), (8, "2019-03", 1.0, 1.0)]
    )
    ben = spells([(9, "2019-01-01", None), (2, "2019-01-01", "2019-01-05")])
    with pytest.warns(
        RecordProblemsWarning,
        match=r"2 of 3 employment record\(s\) name ids not in people \(e\.g\. 7, 8\); 1 of 2 benefit spell\(s\) name ids not in people \(e\.g\. 9\)\. They were left out",
    ):
        out = derive_outcomes(people, employment=emp, benefits=ben, data_end="2020-12-31")
    assert out["cumulative_earnings"].tolist() == [500.0, 0.0]
    assert out["days_on_benefit"].tolist() == [0, 5]
    problems = out.attrs["data_problems"]
    assert problems["employment_unknown_id"] == {
        "n_records": 2,
        "action": "left out",
        "examples": (7, 8),
    }
    assert problems["benefits_unknown_id"]["n_records"] == 1


def test_no_matching_ids_hints_at_the_id_type() -> None:
    people = people_frame("2019-01-01")
    emp = records([("1", "2019-02", 500.0, 2.0)])
    with pytest.warns(RecordProblemsWarning, match="check that the id columns have the same type"):
        derive_outcomes(people, employment=emp, data_end="2020-12-31")


def test_string_ids_work() -> None:
    people = people_frame("2019-01-01", "2019-01-01", ids=["a", "b"])
    emp = records([("b", "2019-02", 500.0, 2.0)])
    out = derive(people, emp)
    assert out["cumulative_earnings"].tolist() == [0.0, 500.0]


# ------------------------------------------------------------------ bad input


@pytest.fixture
def ok() -> dict:
    return {
        "people": people_frame("2019-01-01", "2019-02-01"),
        "employment": records([(1, "2019-02", 500.0, 2.0)]),
        "data_end": "2020-12-31",
    }


def call(ok: dict, **changes):
    args = {**ok, **changes}
    people = args.pop("people")
    return derive_outcomes(people, **args)


BAD_PEOPLE = [
    (
        "not a frame",
        [1, 2],
        OptionError,
        r"The 'people' parameter of derive_outcomes must be a pandas DataFrame\. Got list instead",
    ),
    (
        "empty",
        pd.DataFrame({"id": [], "randomised_on": []}),
        OptionError,
        "must have at least one row",
    ),
    (
        "no id",
        pd.DataFrame({"ident": [1], "randomised_on": ["2019-01-01"]}),
        ColumnError,
        r"column 'id' \(id\) is not in people\. Did you mean 'ident'\? Columns present: 'ident', 'randomised_on'\. Fix: pass the name of an existing column as id=",
    ),
    (
        "no date",
        pd.DataFrame({"id": [1], "referred_on": ["2019-01-01"]}),
        ColumnError,
        r"column 'randomised_on' \(randomised\) is not in people\..*Columns present: 'id', 'referred_on'\. Fix: pass the column with each person's date of randomisation as randomised=",
    ),
    (
        "missing id",
        pd.DataFrame({"id": [1, None], "randomised_on": ["2019-01-01"] * 2}),
        MissingDataError,
        r"column 'id' \(id\) of people has 1 missing value\(s\) \(first at rows 1\)",
    ),
    (
        "duplicated id",
        pd.DataFrame({"id": [1, 1], "randomised_on": ["2019-01-01"] * 2}),
        ColumnError,
        r"column 'id' \(id\) must identify each row once, but 1 value\(s\) appear more than once: 1",
    ),
    (
        "missing date",
        pd.DataFrame({"id": [1, 2], "randomised_on": pd.to_datetime(["2019-01-01", None])}),
        MissingDataError,
        r"column 'randomised_on' \(randomised\) of people has 1 missing value\(s\)",
    ),
    (
        "text date",
        pd.DataFrame({"id": [1], "randomised_on": ["01/02/2019"]}),
        ColumnError,
        r"column 'randomised_on' \(randomised\) of people has 1 value\(s\) that are not dates in ISO format \(YYYY-MM-DD\), e\.g\. '01/02/2019'",
    ),
    (
        "numeric date",
        pd.DataFrame({"id": [1], "randomised_on": [20190101]}),
        ColumnError,
        r"column 'randomised_on' \(randomised\) of people must hold dates\. Got dtype int64",
    ),
]


@pytest.mark.parametrize(
    ("label", "people", "error", "match"), BAD_PEOPLE, ids=[b[0] for b in BAD_PEOPLE]
)
def test_bad_people(ok, label, people, error, match) -> None:
    with pytest.raises(error, match=match):
        call(ok, people=people)


BAD_EMPLOYMENT = [
    (
        "not a frame",
        None,
        OptionError,
        r"The 'employment' parameter of derive_outcomes must be a pandas DataFrame\. Got NoneType",
    ),
    (
        "no id",
        pd.DataFrame({"person": [1], "month": ["2019-02"], "earnings": [1.0]}),
        ColumnError,
        r"column 'id' \(id\) is not in employment\..*Columns present: 'person', 'month', 'earnings'\. Fix: name the id column of the records as in people",
    ),
    (
        "no month",
        pd.DataFrame({"id": [1], "pay_month": ["2019-02"], "earnings": [1.0]}),
        ColumnError,
        r"column 'month' \(month\) is not in employment\. Did you mean 'pay_month'\?.*Fix: pass its name in employment_columns=\{'month': \.\.\.\}",
    ),
    (
        "no earnings",
        pd.DataFrame({"id": [1], "month": ["2019-02"]}),
        ColumnError,
        r"column 'earnings' \(earnings\) is not in employment\..*Columns present: 'id', 'month'",
    ),
    (
        "missing id",
        pd.DataFrame({"id": [1, None], "month": ["2019-02"] * 2, "earnings": [1.0, 2.0]}),
        MissingDataError,
        r"column 'id' \(id\) of employment has 1 missing value\(s\)",
    ),
    (
        "missing month",
        pd.DataFrame({"id": [1, 1], "month": ["2019-02", None], "earnings": [1.0, 2.0]}),
        MissingDataError,
        r"column 'month' \(month\) of employment has 1 missing value\(s\) \(first at rows 1\)",
    ),
    (
        "bad month",
        pd.DataFrame({"id": [1], "month": ["Feb 2019x"], "earnings": [1.0]}),
        ColumnError,
        r"column 'month' \(month\) of employment has 1 value\(s\) that are not dates",
    ),
    (
        "missing earnings",
        pd.DataFrame({"id": [1, 1], "month": ["2019-02", "2019-03"], "earnings": [1.0, np.nan]}),
        MissingDataError,
        r"column 'earnings' \(earnings\) of employment has 1 missing value\(s\)",
    ),
    (
        "negative earnings",
        pd.DataFrame({"id": [1, 1], "month": ["2019-02", "2019-03"], "earnings": [1.0, -40.0]}),
        ColumnError,
        r"column 'earnings' \(earnings\) of employment has 1 negative or infinite value\(s\) \(e\.g\. -40 at row 1\)\. Fix: net corrections and refunds into the month they correct",
    ),
    (
        "infinite earnings",
        pd.DataFrame({"id": [1], "month": ["2019-02"], "earnings": [np.inf]}),
        ColumnError,
        r"1 negative or infinite value\(s\) \(e\.g\. inf",
    ),
    (
        "text earnings",
        pd.DataFrame({"id": [1], "month": ["2019-02"], "earnings": ["£100"]}),
        ColumnError,
        r"column 'earnings' \(earnings\) of employment must hold numbers\. Got dtype",
    ),
    (
        "negative weeks",
        pd.DataFrame(
            {"id": [1], "month": ["2019-02"], "earnings": [1.0], "weeks_employed": [-1.0]}
        ),
        ColumnError,
        r"column 'weeks_employed' \(weeks_employed\) of employment has 1 negative",
    ),
    (
        "missing weeks",
        pd.DataFrame(
            {"id": [1], "month": ["2019-02"], "earnings": [1.0], "weeks_employed": [np.nan]}
        ),
        MissingDataError,
        r"column 'weeks_employed' \(weeks_employed\) of employment has 1 missing value\(s\)",
    ),
    (
        "weeks above the month",
        pd.DataFrame(
            {
                "id": [1, 1],
                "month": ["2019-02", "2019-03"],
                "earnings": [1.0, 1.0],
                "weeks_employed": [4.1, 4.43],
            }
        ),
        ColumnError,
        r"column 'weeks_employed' \(weeks_employed\) of employment has 1 value\(s\) above the weeks in their month \(e\.g\. 4\.1 in 2019-02, which has 4 weeks\)",
    ),
    (
        "duplicated person-month",
        pd.DataFrame(
            {
                "id": [1, 1, 1, 2, 2],
                "month": ["2019-02-05", "2019-03", "2019-02-20", "2019-04", "2019-04"],
                "earnings": [1.0] * 5,
            }
        ),
        ColumnError,
        r"employment has 2 duplicated person-month record\(s\): 2 person-month\(s\) appear more than once \(e\.g\. id 1 in 2019-02\)\. Fix: aggregate to one row per person and month first",
    ),
]


@pytest.mark.parametrize(
    ("label", "employment", "error", "match"), BAD_EMPLOYMENT, ids=[b[0] for b in BAD_EMPLOYMENT]
)
def test_bad_employment(ok, label, employment, error, match) -> None:
    with pytest.raises(error, match=match):
        call(ok, employment=employment)


def test_weeks_of_a_31_day_month_may_be_rounded_up() -> None:
    people = people_frame("2019-01-01")
    out = derive(people, records([(1, "2019-03", 1.0, 4.43)]))
    assert out["employed_weeks"].iloc[0] == pytest.approx(4.43, abs=WEEKS)


BAD_OPTIONS = [
    (
        {"months": 0},
        OptionError,
        r"The 'months' parameter of derive_outcomes must be a positive int \(calendar months of follow-up, e\.g\. 12\)\. Got 0 instead",
    ),
    ({"months": 12.0}, OptionError, r"The 'months' parameter .* Got 12\.0 instead"),
    ({"months": True}, OptionError, r"The 'months' parameter .* Got True instead"),
    (
        {"weeks_threshold": 0},
        OptionError,
        r"The 'weeks_threshold' parameter of derive_outcomes must be a positive number \(weeks in work\)\. Got 0 instead",
    ),
    (
        {"hours": -16},
        OptionError,
        r"The 'hours' parameter of derive_outcomes must be a positive number \(hours a week\)",
    ),
    (
        {"sustained_weeks": float("nan")},
        OptionError,
        r"The 'sustained_weeks' parameter of derive_outcomes must be a positive number",
    ),
    (
        {"measures": ["employed_13_week"]},
        OptionError,
        r"The 'measures' parameter of derive_outcomes must be one of 'employed_weeks', .*'days_on_benefit'\. Got 'employed_13_week' instead\. Did you mean 'employed_13_weeks'\?",
    ),
    (
        {"measures": []},
        OptionError,
        r"The 'measures' parameter of derive_outcomes must be a measure name or a non-empty list",
    ),
    (
        {"measures": 5},
        OptionError,
        r"The 'measures' parameter of derive_outcomes must be a measure name or a non-empty list",
    ),
    (
        {"measures": ["days_on_benefit"]},
        OptionError,
        r"asks for 'days_on_benefit', which needs benefit spells\. Fix: pass benefits=",
    ),
    (
        {"data_end": "end of March"},
        OptionError,
        r"The 'data_end' parameter of derive_outcomes must be a date \(e\.g\. '2019-03-31'",
    ),
    (
        {"data_end": 20190331},
        OptionError,
        r"The 'data_end' parameter of derive_outcomes must be a date.*Got 20190331 instead",
    ),
    (
        {"employment_columns": ["month"]},
        OptionError,
        r"The 'employment_columns' parameter of derive_outcomes must be a dict from role to column name",
    ),
    (
        {"employment_columns": {"earning": "pay"}},
        OptionError,
        r"The 'employment_columns key' parameter of derive_outcomes must be one of 'month', 'earnings', 'weeks_employed'\. Got 'earning' instead\. Did you mean 'earnings'\?",
    ),
    (
        {"employment_columns": {"month": None}},
        OptionError,
        r"The 'employment_columns' parameter of derive_outcomes must name a column for 'month'\. Got None instead",
    ),
    (
        {"employment_columns": {"weeks_employed": "weeks"}},
        ColumnError,
        r"column 'weeks' \(weeks_employed\) is not in employment\.",
    ),
    ({"region": "area"}, ColumnError, r"column 'area' \(region\) is not in people\."),
    (
        {"benefits": [1]},
        OptionError,
        r"The 'benefits' parameter of derive_outcomes must be a pandas DataFrame",
    ),
]


@pytest.mark.parametrize(
    ("changes", "error", "match"), BAD_OPTIONS, ids=[str(b[0]) for b in BAD_OPTIONS]
)
def test_bad_options(ok, changes, error, match) -> None:
    with pytest.raises(error, match=match):
        call(ok, **changes)


def test_empty_employment_needs_data_end(ok) -> None:
    with pytest.raises(
        OptionError,
        match=r"The 'data_end' parameter of derive_outcomes is needed when employment is empty",
    ):
        call(ok, employment=records([]), data_end=None)


def test_window_longer_than_the_data_is_an_error(ok) -> None:
    # records end 31 March 2019; the earliest randomisation is 1 January 2019: a
    # 3-month window ends 31 March, so 3 months is the longest that fits.
    emp = records([(1, "2019-03", 500.0, 2.0)])
    with pytest.raises(
        DesignError,
        match=r"no one has complete follow-up: the earliest window \(12 months from 2019-01-01\) ends 2019-12-31, but the records end 2019-03-31\. Fix: use months=3 or fewer",
    ):
        call(ok, employment=emp, data_end=None)
    assert call(ok, employment=emp, data_end=None, months=3)["follow_up_complete"].tolist() == [
        True,
        False,
    ]
    with pytest.raises(DesignError, match="the records end before anyone was randomised"):
        call(ok, employment=emp, data_end="2018-06-30")
    with pytest.raises(
        DesignError, match="the records end less than a month after the earliest randomisation"
    ):
        call(ok, employment=emp, data_end="2019-01-20")


BAD_BENEFITS = [
    (
        pd.DataFrame({"id": [1], "from": ["2019-01-01"], "end": [None]}),
        ColumnError,
        r"column 'start' \(start\) is not in benefits\..*Columns present: 'id', 'from', 'end'\. Fix: pass its name in benefit_columns=\{'start': \.\.\.\}",
    ),
    (
        pd.DataFrame({"person": [1], "start": ["2019-01-01"], "end": [None]}),
        ColumnError,
        r"column 'id' \(id\) is not in benefits",
    ),
    (
        pd.DataFrame({"id": [1, 1], "start": ["2019-01-01", None], "end": [None, None]}),
        MissingDataError,
        r"column 'start' \(start\) of benefits has 1 missing value\(s\)",
    ),
    (
        pd.DataFrame({"id": [1], "start": ["2019-02-01"], "end": ["2019-01-31"]}),
        ColumnError,
        r"benefits has 1 spell\(s\) whose 'end' \(end\) is before their 'start' \(start\), e\.g\. row 0: 2019-02-01 to 2019-01-31\. Fix: correct or swap those dates",
    ),
    (
        pd.DataFrame({"id": [None], "start": ["2019-02-01"], "end": ["2019-03-31"]}),
        MissingDataError,
        r"column 'id' \(id\) of benefits has 1 missing value\(s\)",
    ),
]


@pytest.mark.parametrize(("benefits", "error", "match"), BAD_BENEFITS)
def test_bad_benefits(ok, benefits, error, match) -> None:
    with pytest.raises(error, match=match):
        call(ok, benefits=benefits)


def test_benefit_columns_can_be_renamed(ok) -> None:
    ben = pd.DataFrame({"id": [1], "from": ["2019-01-01"], "to": ["2019-01-31"]})
    out = call(ok, benefits=ben, benefit_columns={"start": "from", "end": "to"})
    assert out["days_on_benefit"].tolist() == [31, 0]


BAD_RATES = [
    (
        {"wage_rates": pd.DataFrame({"date": ["2019-01-01"], "rate": [8.0]})},
        ColumnError,
        r"column 'from' \(from\) is not in wage_rates\..*Columns present: 'date', 'rate'\. Fix: wage_rates needs columns 'from' \(date the rate takes effect\) and 'rate' \(pounds per hour\)",
    ),
    (
        {"wage_rates": pd.DataFrame({"from": ["2019-01-01"], "rate": [0.0]})},
        ColumnError,
        r"column 'rate' of wage_rates must hold positive pounds per hour, but 1 row\(s\) do not \(e\.g\. 0\.0\)",
    ),
    (
        {"wage_rates": pd.DataFrame({"from": ["2019-01-01"], "rate": ["8.21"]})},
        ColumnError,
        r"column 'rate' of wage_rates must hold numbers",
    ),
    (
        {"wage_rates": pd.DataFrame({"from": ["2019-01-01", None], "rate": [8.0, 9.0]})},
        MissingDataError,
        r"column 'from' \(from\) of wage_rates has 1 missing value",
    ),
    (
        {"wage_rates": pd.DataFrame({"from": ["2019-01-01", "2019-01-01"], "rate": [8.0, 9.0]})},
        ColumnError,
        r"wage_rates has 2 rows that share a 'from' date with another row of the same region \(e\.g\. default rows from 2019-01-01\)",
    ),
    (
        {"wage_rates": pd.DataFrame({"from": ["2019-01-01"], "rate": [8.0]}), "region": "region"},
        OptionError,
        r"The 'region' parameter of derive_outcomes picks regional rows of wage_rates, but wage_rates has no 'region' column",
    ),
    (
        {
            "wage_rates": pd.DataFrame(
                {"from": ["2019-01-01"] * 2, "rate": [8.0, 9.0], "region": [None, "London"]}
            )
        },
        OptionError,
        r"The 'wage_rates' parameter of derive_outcomes has regional rows \('London'\) but region= was not given",
    ),
    (
        {"wage_rates": pd.DataFrame({"from": ["2019-01-15"], "rate": [8.0]})},
        DesignError,
        r"wage_rates do not cover the start of 1 complete follow-up window\(s\) \(the earliest starts 2019-01-01; the earliest rate takes effect 2019-01-15\), so sustained_earnings cannot be derived\. Fix: add a rate with a 'from' date on or before 2019-01-01",
    ),
    (
        {
            "wage_rates": pd.DataFrame(
                {"from": ["2019-01-01"], "rate": [8.0], "region": ["London"]}
            ),
            "region": "region",
        },
        DesignError,
        r"wage_rates do not cover the start of 1 complete follow-up window\(s\)",
    ),
]


@pytest.mark.parametrize(("changes", "error", "match"), BAD_RATES)
def test_bad_wage_rates(ok, changes, error, match) -> None:
    people = ok["people"].assign(region=["London", "Wales"])
    with pytest.raises(error, match=match):
        call(ok, people=people, **changes)


def test_wage_rates_before_2016_need_their_own_rates(ok) -> None:
    people = people_frame("2015-06-01")
    with pytest.raises(
        DesignError,
        match="the earliest starts 2015-06-01; the earliest rate takes effect 2016-04-01",
    ):
        call(ok, people=people, employment=records([]))
    # without sustained_earnings the rates are not needed
    out = call(ok, people=people, employment=records([]), measures=["employed_weeks"])
    assert out["employed_weeks"].tolist() == [0.0]


def test_incomplete_windows_need_no_wage_rates(ok) -> None:
    # the second person's window is incomplete, so no rate is needed for it
    people = people_frame("2019-01-01", "2030-01-01")
    rates = pd.DataFrame({"from": ["2019-01-01"], "rate": [8.0]})
    out = call(ok, people=people, wage_rates=rates)
    assert out["sustained_earnings"].isna().tolist() == [False, True]


# ------------------------------------------------------------------ properties


@st.composite
def trial_records(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 6))
    days = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))
    people = pd.DataFrame(
        {
            "id": np.arange(n) * 3 + 5,
            "randomised_on": pd.Timestamp("2019-01-01") + pd.to_timedelta(days, unit="D"),
        }
    )
    cells = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 27)), max_size=30, unique=True)  # to 2021-03: data_end
    )
    emp = pd.DataFrame(
        {
            "id": [int(people["id"].iloc[i]) for i, _ in cells],
            "month": [pd.Timestamp("2018-12-01") + pd.DateOffset(months=m) for _, m in cells],
            "earnings": draw(
                st.lists(
                    st.sampled_from([0.0, 10.0, 333.33, 1500.0]),
                    min_size=len(cells),
                    max_size=len(cells),
                )
            ),
        }
    )
    emp["weeks_employed"] = draw(
        st.lists(st.sampled_from([0.0, 1.5, 4.0]), min_size=len(cells), max_size=len(cells))
    )
    n_spells = draw(st.integers(0, 8))
    ben = pd.DataFrame(
        {
            "id": [int(people["id"].iloc[draw(st.integers(0, n - 1))]) for _ in range(n_spells)],
            "start": [
                pd.Timestamp("2018-10-01") + pd.Timedelta(days=draw(st.integers(0, 800)))
                for _ in range(n_spells)
            ],
        }
    )
    ben["end"] = [
        pd.NaT
        if draw(st.booleans()) and draw(st.booleans())
        else s + pd.Timedelta(days=draw(st.integers(0, 200)))
        for s in ben["start"]
    ]
    return people, emp, ben


@settings(max_examples=40, deadline=None)
@given(trial_records(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data, rnd) -> None:
    people, emp, ben = data
    base = derive(people, emp, benefits=ben, months=12, data_end="2021-03-31")
    order_p = list(range(len(people)))
    order_e = list(range(len(emp)))
    order_b = list(range(len(ben)))
    for order in (order_p, order_e, order_b):
        rnd.shuffle(order)
    shuffled = derive(
        people.iloc[order_p],
        emp.iloc[order_e],
        benefits=ben.iloc[order_b],
        months=12,
        data_end="2021-03-31",
    )
    assert len(shuffled) == len(people)  # no rows lost
    shuffled = shuffled.loc[base.index]
    # sums in another order may differ in the last bit, and so by one unit of rounding
    rounded = {"employed_weeks": 1.1e-6, "cumulative_earnings": 0.011}
    for name, tol in rounded.items():
        assert shuffled[name].to_numpy(dtype=float) == pytest.approx(
            base[name].to_numpy(dtype=float), abs=tol
        )
    others = [c for c in base.columns if c not in rounded]
    pd.testing.assert_frame_equal(shuffled[others], base[others])


def _brute_force(
    people: pd.DataFrame, emp: pd.DataFrame, ben: pd.DataFrame, months: int
) -> pd.DataFrame:
    """Day by day: each record's weeks and pay spread evenly over its month's days."""
    out = []
    for person in people.itertuples(index=False):
        start = person.randomised_on
        end = start + pd.DateOffset(months=months)  # exclusive
        window = pd.date_range(start, end - pd.Timedelta(days=1), freq="D")
        weeks = pay = 0.0
        for rec in emp[emp["id"] == person.id].itertuples(index=False):
            month_days = pd.date_range(rec.month, rec.month + pd.offsets.MonthEnd(0), freq="D")
            share = month_days.isin(window).sum() / len(month_days)
            weeks += rec.weeks_employed * share
            pay += rec.earnings * share
        covered: set[pd.Timestamp] = set()
        for sp in ben[ben["id"] == person.id].itertuples(index=False):
            last = end - pd.Timedelta(days=1) if pd.isna(sp.end) else sp.end
            if last >= sp.start:
                covered |= set(pd.date_range(sp.start, last, freq="D"))
        out.append((weeks, round(pay, 2), len(covered & set(window))))
    return pd.DataFrame(out, columns=["employed_weeks", "cumulative_earnings", "days_on_benefit"])


@settings(max_examples=25, deadline=None)
@given(trial_records(), st.sampled_from([1, 6, 12]))
def test_agrees_with_a_day_by_day_calculation(data, months) -> None:
    people, emp, ben = data
    out = derive(people, emp, benefits=ben, months=months, data_end="2030-12-31")
    ref = _brute_force(people, emp, ben, months)
    assert out["employed_weeks"].to_numpy(dtype=float) == pytest.approx(
        ref["employed_weeks"].to_numpy(), abs=1e-6
    )
    assert out["cumulative_earnings"].to_numpy(dtype=float) == pytest.approx(
        ref["cumulative_earnings"].to_numpy(), abs=0.011
    )
    assert out["days_on_benefit"].tolist() == ref["days_on_benefit"].tolist()
    window_days = (out["follow_up_end"] - people["randomised_on"]).dt.days + 1
    assert (out["days_on_benefit"].to_numpy() <= window_days.to_numpy()).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(-2000, 40000), st.integers(1, 60))
def test_calendar_months_match_pandas_dateoffset(day, months) -> None:
    ts = pd.Timestamp(np.datetime64(day, "D"))
    expected = (
        (ts + pd.DateOffset(months=months)).to_datetime64().astype("datetime64[D]").astype(np.int64)
    )
    assert add_months(np.array([day]), months)[0] == expected
    # the lookup-table path (large arrays) gives the same answer
    many = np.full(60_000, day)
    many[::2] = day + 17
    got = add_months(many, months)
    assert got[1] == expected
    assert got[0] == add_months(np.array([day + 17]), months)[0]


def test_sorted_and_shuffled_large_records_agree() -> None:
    # exercises the direct id lookup, the lookup tables and the duplicate check on
    # unsorted records (the sorted fast path is skipped)
    rng = np.random.default_rng(4)
    n = 30_000
    people = pd.DataFrame(
        {
            "id": np.arange(n) * 2 + 1,
            "randomised_on": pd.Timestamp("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        }
    )
    emp = pd.DataFrame(
        {
            "id": np.repeat(people["id"].to_numpy(), 3),
            "month": np.tile(
                np.array(["2019-03-01", "2019-09-01", "2020-02-01"], dtype="datetime64[ns]"), n
            ),
            "earnings": rng.gamma(2.0, 400.0, 3 * n).round(2),
        }
    )
    a = derive(people, emp)
    b = derive(people, emp.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(a, b)
    dup = pd.concat([emp, emp.iloc[[5]]]).sample(frac=1.0, random_state=1)
    with pytest.raises(
        ColumnError,
        match=r"employment has 1 duplicated person-month record\(s\): 1 person-month\(s\)",
    ):
        derive(people, dup)


# ------------------------------------------------------------------ the synthetic generator


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, np.ndarray, AdminRecords]:
    people = whp_like(n=20_000, seed=11)
    arm = np.where(np.random.default_rng(5).random(len(people)) < 0.5, "treatment", "control")
    return people, arm, whp_monthly_records(people, arm, seed=12)


def test_generator_records_are_well_formed(synthetic) -> None:
    people, _, rec = synthetic
    emp, ben = rec.employment, rec.benefits
    assert list(emp.columns) == ["id", "month", "earnings", "weeks_employed"]
    assert list(ben.columns) == ["id", "start", "end"]
    assert list(rec.truth.columns) == [
        "id",
        "arm",
        "received",
        "employed_13_weeks",
        "any_employment",
    ]
    assert not emp.duplicated(["id", "month"]).any()
    assert (emp["month"].dt.day == 1).all()
    assert (emp["earnings"] > 0).all()
    assert emp["weeks_employed"].between(0, emp["month"].dt.days_in_month / 7 + 0.01).all()
    assert set(emp["id"]) <= set(people["id"]) and set(ben["id"]) <= set(people["id"])
    closed = ben["end"].notna()
    assert (ben.loc[closed, "end"] >= ben.loc[closed, "start"]).all()
    data_end = pd.Timestamp(emp.attrs["data_end"])
    assert emp["month"].max() + pd.offsets.MonthEnd(0) == data_end
    assert (ben["start"] <= data_end).all() and (ben.loc[closed, "end"] <= data_end).all()
    # realistic shapes: part-time months, spells of several months, open claims
    per_person = emp.groupby("id").size()
    assert per_person.median() >= 4
    assert (emp["earnings"] / emp["weeks_employed"].clip(lower=0.5)).median() < 400
    assert 0.2 < ben["end"].isna().mean() < 0.8
    # some records are before randomisation (left a job shortly before)
    rand = emp["id"].map(people.set_index("id")["referred_on"])
    assert (emp["month"] + pd.offsets.MonthEnd(0) < rand).any()


def test_generator_truth_is_recovered_exactly(synthetic) -> None:
    people, _, rec = synthetic
    out = derive_outcomes(
        people, employment=rec.employment, benefits=rec.benefits, randomised="referred_on"
    )
    assert out["follow_up_complete"].all()
    assert out["employed_13_weeks"].tolist() == rec.truth["employed_13_weeks"].tolist()
    assert out["any_employment"].tolist() == rec.truth["any_employment"].tolist()
    assert out["days_on_benefit"].between(0, 366).all()
    # by default the records cover `months` (24) months after everyone's randomisation
    two_years = derive_outcomes(
        people,
        employment=rec.employment,
        randomised="referred_on",
        months=24,
        measures="employed_weeks",
    )
    assert two_years["follow_up_complete"].all()
    assert not derive_outcomes(
        people,
        employment=rec.employment,
        randomised="referred_on",
        months=25,
        measures="employed_weeks",
    )["follow_up_complete"].all()


def test_treatment_raises_employed_13_weeks(synthetic) -> None:
    people, arm, rec = synthetic
    out = derive_outcomes(
        people, employment=rec.employment, benefits=rec.benefits, randomised="referred_on"
    )
    y = out["employed_13_weeks"].to_numpy(dtype=float)
    t, c = y[arm == "treatment"], y[arm == "control"]
    diff = t.mean() - c.mean()
    se = np.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size)
    assert rec.truth.attrs["true_itt"] == {"employed_13_weeks": 0.04}
    assert abs(diff - 0.04) < 4 * se  # 4 SE: fails about 1 time in 16,000 for a correct effect
    assert diff > 0.015
    weeks = out["employed_weeks"].to_numpy(dtype=float)
    assert weeks[arm == "treatment"].mean() > weeks[arm == "control"].mean()
    days = out["days_on_benefit"].to_numpy(dtype=float)
    assert days[arm == "treatment"].mean() < days[arm == "control"].mean()


def test_no_effect_without_the_programme() -> None:
    people = whp_like(n=20_000, seed=21)
    arm = np.where(np.arange(len(people)) % 2 == 0, "treatment", "control")
    rec = whp_monthly_records(people, arm, seed=22, effect=0.0, months=12)
    y = rec.truth["employed_13_weeks"].to_numpy(dtype=float)
    se = np.sqrt(2 * y.var() / (len(y) / 2))
    assert abs(y[arm == "treatment"].mean() - y[arm == "control"].mean()) < 4 * se


def test_generator_is_reproducible(synthetic) -> None:
    people, arm, _ = synthetic
    small = people.iloc[:500]
    a = whp_monthly_records(small, arm[:500], seed=3)
    b = whp_monthly_records(small, arm[:500], seed=np.random.default_rng(3))
    c = whp_monthly_records(small, arm[:500], seed=4)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not a.employment.equals(c.employment)


def test_generator_received_and_data_end() -> None:
    people = whp_like(n=3000, seed=31)
    arm = np.where(np.arange(len(people)) % 2 == 0, "treatment", "control")
    received = ((arm == "treatment") & (np.arange(len(people)) % 4 == 0)).astype(int)
    rec = whp_monthly_records(people, arm, seed=32, received=received, data_end="2019-06-15")
    assert rec.truth.attrs["true_cace"] == {"employed_13_weeks": 0.04}
    assert rec.truth.attrs["true_itt"]["employed_13_weeks"] == pytest.approx(0.04 * 0.5)
    assert rec.truth["received"].tolist() == received.tolist()
    assert rec.employment.attrs["data_end"] == "2019-05-31"  # June is not complete
    assert rec.employment["month"].max() == pd.Timestamp("2019-05-01")
    out = derive_outcomes(
        people, employment=rec.employment, benefits=rec.benefits, randomised="referred_on"
    )
    done = out["follow_up_complete"].to_numpy()
    assert 0 < done.sum() < len(people)
    assert (
        out.loc[done, "employed_13_weeks"].to_numpy()
        == rec.truth.loc[done, "employed_13_weeks"].to_numpy()
    ).all()
    assert out.loc[~done, "employed_13_weeks"].isna().all()
    none = whp_monthly_records(people.iloc[:50], seed=1)
    assert "arm" not in none.truth.columns and "true_itt" not in none.truth.attrs


BAD_GENERATOR = [
    (
        {"people": [1]},
        r"The 'people' parameter of whp_monthly_records must be a non-empty pandas DataFrame \(e\.g\. from whp_like\)\. Got list instead",
    ),
    (
        {"people": "drop"},
        r"must have the columns of whp_like .*Missing: 'jobcentre'; columns present:",
    ),
    (
        {"months": 0},
        r"The 'months' parameter of whp_monthly_records must be a positive int\. Got 0 instead",
    ),
    (
        {"effect": 0.2},
        r"The 'effect' parameter of whp_monthly_records must be a number from 0 to 0\.1",
    ),
    (
        {"assigned": ["treatment"]},
        r"The 'assigned' parameter of whp_monthly_records must have one arm per person \(10\)\. Got 1 instead",
    ),
    (
        {"received": [2] * 10},
        r"The 'received' parameter of whp_monthly_records must hold 0/1 values",
    ),
    (
        {"data_end": "2017-12-15"},
        r"The 'data_end' parameter of whp_monthly_records must be after the first randomisation",
    ),
    ({"data_end": 5}, r"The 'data_end' parameter of whp_monthly_records must be a date"),
    ({"seed": -1}, r"The 'seed' parameter of whp_monthly_records must be a non-negative int"),
]


@pytest.mark.parametrize(
    ("changes", "match"), BAD_GENERATOR, ids=[str(b[0]) for b in BAD_GENERATOR]
)
def test_bad_generator_input(changes, match) -> None:
    people = whp_like(n=10, seed=1)
    args = {"people": people, "seed": 1, **changes}
    if isinstance(args["people"], str):
        args["people"] = people.drop(columns="jobcentre")
    with pytest.raises(OptionError, match=match):
        whp_monthly_records(**args)

# The guide's code (docs/guides/outcomes.md) runs in tests/test_examples.py (DOC_PAGES).


# ------------------------------------------------------------------ the end of the records (issue 19)


def _monthly_trial() -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 people randomised monthly from 2018-06 to 2019-05, records complete to 2020-03:
    those randomised 2019-05 have incomplete 12-month follow-up."""
    rng = np.random.default_rng(19)
    dates = pd.date_range("2018-06-01", "2019-05-01", freq="MS").repeat(5)
    people = pd.DataFrame({"id": np.arange(1, 61), "randomised_on": dates})
    months = pd.period_range("2018-06", "2020-03", freq="M")
    rows = [(i, str(m), 1000.0) for i in people["id"] for m in months if rng.random() < 0.6]
    return people, records(rows, weeks=False)


def test_a_stray_record_dated_years_late_completes_no_ones_follow_up() -> None:
    people, emp = _monthly_trial()
    clean = derive_outcomes(people, employment=emp)
    assert clean.attrs["follow_up"]["data_end"] == "2020-03-31"
    incomplete = ~clean["follow_up_complete"].to_numpy()
    assert incomplete.sum() == 5  # randomised 2019-05-01: window ends 2020-04-30
    typo = pd.concat([emp, records([(3, "2031-06", 250.0)], weeks=False)], ignore_index=True)
    with pytest.warns(RecordProblemsWarning, match=(
        r"data_end was not given, so the records were taken to end 2020-03-31.*1 of [\d,]+ "
        r"employment record\(s\) are dated after it \(up to 2031-06; e.g. ids 3\)"
    )):
        out = derive_outcomes(people, employment=typo)
    assert out.attrs["follow_up"]["data_end"] == "2020-03-31"
    assert out.attrs["follow_up"]["data_end_from"] == "employment"
    assert out["employed_13_weeks"][incomplete].isna().all()
    pd.testing.assert_frame_equal(out, clean, check_like=False)
    late = out.attrs["data_problems"]["employment_after_data_end"]
    assert late["n_records"] == 1 and late["examples"] == (3,) and late["latest"] == "2031-06"


def test_records_after_a_given_data_end_are_counted_and_complete_no_one() -> None:
    people, emp = _monthly_trial()
    late = pd.concat([emp, records([(3, "2020-05", 250.0), (4, "2021-01", 9.0)], weeks=False)],
                     ignore_index=True)
    with pytest.warns(RecordProblemsWarning, match=r"data_end is 2020-03-31; 2 of [\d,]+ "):
        out = derive_outcomes(people, employment=late, data_end="2020-03-31")
    assert out.attrs["data_problems"]["employment_after_data_end"]["n_records"] == 2
    assert int(out["follow_up_complete"].sum()) == 55


def test_a_month_as_data_end_means_its_last_day_and_yyyy_mm_months_are_read() -> None:
    people, emp = _monthly_trial()
    as_month = derive_outcomes(people, employment=emp, data_end="2020-03")
    as_day = derive_outcomes(people, employment=emp, data_end="2020-03-31")
    pd.testing.assert_frame_equal(as_month, as_day)
    as_period = derive_outcomes(people, employment=emp, data_end=pd.Period("2020-03", "M"))
    pd.testing.assert_frame_equal(as_period, as_day)
    assert emp["month"].str.fullmatch(r"\d{4}-\d{2}").all()  # YYYY-MM text months
    assert as_day.attrs["follow_up"]["n_complete"] == 55
