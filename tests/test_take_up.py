"""Take-up from programme start records (``take_up``)."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from dwp_eval.errors import (
    ColumnError,
    DesignError,
    MissingDataError,
    OptionError,
    RecordProblemsWarning,
)
from dwp_eval.monitor import contamination_summary, take_up
from dwp_eval.monitor.take_up import TAKE_UP_COLUMNS, TAKE_UP_REASONS


def _people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "group": ["T", "T", "T", "C", "C"],
            "rand": pd.to_datetime(["2018-01-01", "2018-01-10", "2018-01-01", "2018-01-01", "2018-01-01"]),
        }
    )


def _starts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "a", "b", "c"],
            "start": ["2018-02-01", "2018-01-15", "2019-03-01", "2018-01-01"],
        }
    )


KW = {"assigned": "group", "control": "C", "randomised": "rand", "started": "start"}


def tu(people=None, starts=None, **kw):
    args = {**KW, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordProblemsWarning)
        return take_up(_people() if people is None else people, _starts() if starts is None else starts, **args)


def test_received_first_start_and_reason() -> None:
    t = tu()
    assert list(t.columns) == ["id", "group", "rand", *TAKE_UP_COLUMNS]
    assert t["received"].tolist() == [1, 0, 1, 0, 0]
    assert t["crossover"].tolist() == [0, 0, 0, 0, 0]
    assert t["first_start_date"].iloc[0] == pd.Timestamp("2018-01-15")
    assert t["days_to_start"].tolist()[0] == 14 and t["days_to_start"].iloc[2] == 0
    assert t["n_starts"].tolist() == [2, 0, 1, 0, 0]
    assert t["reason"].astype(str).tolist() == [
        "started in window", "started outside window", "started in window", "no start record", "no start record",
    ]
    assert list(t["reason"].cat.categories) == list(TAKE_UP_REASONS)


def test_window_changes_what_counts() -> None:
    t = tu(window_days=(0, 500))
    assert t["received"].tolist() == [1, 1, 1, 0, 0]
    t = tu(window_days=(1, 20))
    assert t["received"].tolist() == [1, 0, 0, 0, 0]


def test_control_arm_starts_are_crossovers_received_and_reported() -> None:
    starts = pd.concat([_starts(), pd.DataFrame({"id": ["d", "d", "zz"], "start": ["2018-03-01"] * 2 + ["2018-03-01"]})])
    with pytest.warns(RecordProblemsWarning) as caught:
        t = take_up(_people(), starts, **KW)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "take_up: 3 problem(s) in 7 start records: 1 record(s) name ids not in people (left out; e.g. 'zz'); "
        "1 duplicated record(s) (counted once); 1 start(s) in the window by 1 person(s) outside the treatment "
        "arm(s) 'T' (kept: received=1, crossover=1). Nothing was dropped silently: details in "
        "result.attrs['data_problems']."
    )
    assert t["received"].tolist() == [1, 0, 1, 1, 0]
    assert t["crossover"].tolist() == [0, 0, 0, 1, 0]
    p = t.attrs["data_problems"]
    assert list(p) == ["unknown_id", "duplicate", "before_randomisation", "control_arm_start"]
    assert p["control_arm_start"]["n_records"] == 1
    assert p["control_arm_start"]["examples"] == ("id 'd': on 2018-03-01",)
    assert t.attrs["settings"]["treatment"] == ("T",)


def test_starts_before_randomisation_are_reported_and_count_only_inside_the_window() -> None:
    starts = pd.DataFrame({"id": ["b"], "start": ["2018-01-05"]})
    with pytest.warns(RecordProblemsWarning, match=re.escape(
        "1 start(s) dated before randomisation (counted only inside window_days=(0, 365))"
    )):
        t = take_up(_people(), starts, **KW)
    assert t["received"].iloc[1] == 0
    with pytest.warns(RecordProblemsWarning, match=re.escape("inside window_days=(-7, 365)")):
        t = take_up(_people(), starts, window_days=(-7, 365), **KW)
    assert t["received"].iloc[1] == 1 and t["days_to_start"].iloc[1] == -5


def test_named_treatment_arms_in_a_three_arm_trial() -> None:
    people = _people().assign(group=["T", "L", "T", "C", "C"])
    with pytest.warns(RecordProblemsWarning, match="outside the treatment arm"):
        t = take_up(people, _starts(), treatment=["T"], window_days=(0, 500), **KW)
    assert t["crossover"].tolist() == [0, 1, 0, 0, 0]


def test_summary_of_take_up_by_arm() -> None:
    s = contamination_summary(tu(), by="group")
    f = s.to_frame()
    assert f["group"].tolist() == ["C", "T"] and f["n_flagged"].tolist() == [0, 2]
    assert s.label == "take-up"


def test_empty_starts_and_integer_like_float_ids() -> None:
    t = tu(starts=_starts().iloc[0:0])
    assert t["received"].sum() == 0
    people = pd.DataFrame({"id": [1, 2], "arm": ["treatment", "control"],
                           "randomised_on": pd.to_datetime(["2018-01-01"] * 2)})
    starts = pd.DataFrame({"id": [1.0], "start_date": pd.to_datetime(["2018-01-02"])})
    assert take_up(people, starts)["received"].tolist() == [1, 0]


def test_bad_input() -> None:
    with pytest.raises(ColumnError, match=re.escape(
        "take_up: column 'start_date' (started) is not in starts. Did you mean 'start'? Columns present: 'id', 'start'. "
        "Fix: pass the name of an existing column as started=."
    )):
        take_up(_people(), _starts(), assigned="group", control="C", randomised="rand")
    with pytest.raises(DesignError, match=re.escape(
        "take_up: treatment= must name arms other than the control arm 'C' that are in column 'group', "
        "which holds 'C', 'T'. Got 'X' instead."
    )):
        tu(treatment="X")
    with pytest.raises(DesignError, match=re.escape("Got ['C'] instead.")):
        tu(treatment=["C"])
    starts = _starts()
    starts.loc[2, "start"] = None
    with pytest.raises(MissingDataError, match=re.escape(
        "take_up: column 'start' (started) of starts has 1 missing date(s) (first at rows 2)."
    )):
        tu(starts=starts)
    with pytest.raises(ColumnError, match=re.escape(
        "take_up: column 'start' (started) of starts has 1 value(s) that are not dates in ISO format "
        "(YYYY-MM-DD), e.g. 'soon'."
    )):
        tu(starts=_starts().assign(start=["2018-02-01", "soon", "2018-02-01", "2018-02-01"]))
    with pytest.raises(ColumnError, match=re.escape("take_up: column 'id' (id) must identify each row once")):
        tu(pd.concat([_people(), _people().iloc[[0]]]))
    with pytest.raises(OptionError, match=re.escape("The 'window_days' parameter of take_up must be a pair of ints")):
        tu(window_days=(0,))
    with pytest.raises(OptionError, match=re.escape("The 'starts' parameter of take_up must be a pandas DataFrame. Got list instead.")):
        take_up(_people(), [], **KW)
