"""Person-local rules on Dask and Spark: ``derive_outcomes``, ``take_up`` and
``flag_contamination`` given Dask or Spark frames run the pandas rules per partition (rows of
every table hash-partitioned on the person id) and must give the pandas result, the pandas
warning (its totals and examples over all partitions) and the pandas errors.

Each test runs once on Dask (a 2-worker LocalCluster) and once on Spark (local mode), through
the ``engine_frame`` fixture; the pandas call on the same data is the reference.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from dwp_eval import derive_outcomes, flag_contamination, take_up
from dwp_eval.datasets import SIMILAR_PROVISION, whp_like, whp_monthly_records, whp_referrals
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DwpEvalError,
    MissingDataError,
    RecordProblemsWarning,
)

pytestmark = pytest.mark.engine

# Floats are compared to 1e-10 relative: the kernels run the pandas rules on the same rows,
# so only the order in which a person's records are added may differ (and each partition's
# employment records are put in the order of sorted pandas input).
RTOL = 1e-10
N_PEOPLE = 300


# --------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def trial():
    """A demo trial: people with arms, employment records and benefit spells, programme
    starts and referrals, with record problems of every kind the warnings count."""
    people = whp_like(n=N_PEOPLE, seed=20240601)
    people["arm"] = np.where(np.arange(N_PEOPLE) % 2 == 0, "treatment", "control")
    admin = whp_monthly_records(people, people["arm"], seed=7)
    refs = whp_referrals(people, people["arm"], seed=8, duplicates=0.05, unknown_ids=0.02,
                         crossover=0.05, also_received=0.1)
    emp = admin.employment
    # a record naming nobody, and a stray record years late (after the inferred data_end)
    extra = pd.DataFrame({"id": [99_999, 3], "month": pd.to_datetime(["2019-01-01", "2031-06-01"]),
                          "earnings": [10.0, 20.0], "weeks_employed": [1.0, 1.0]})
    emp = _split_person(pd.concat([emp, extra], ignore_index=True))
    referrals = refs.referrals.copy()
    referrals.loc[len(referrals)] = [5, "IPS  trial", pd.Timestamp("2018-01-05"),
                                     pd.Timestamp("2018-03-01")]
    referrals = _split_person(referrals)
    starts = refs.starts.copy()
    starts.loc[len(starts)] = [99_998, pd.Timestamp("2018-06-01")]
    starts = _split_person(starts)
    return {"people": people, "employment": emp, "benefits": admin.benefits,
            "starts": starts, "referrals": referrals}


def _split_person(records: pd.DataFrame) -> pd.DataFrame:
    """The records with the last row of the first person with several records moved to the
    end: taken in row order into several partitions, that person's records start in the
    first and end in the last (the tests find the person in the last row)."""
    counts = records["id"].value_counts(sort=False)
    who = records["id"][records["id"].map(counts) >= 2].iloc[0]
    rows = np.flatnonzero(records["id"].to_numpy() == who)
    order = np.r_[np.setdiff1d(np.arange(len(records)), rows[-1:]), rows[-1:]]
    return records.iloc[order].reset_index(drop=True)


def _split_frame(engine_frame, records: pd.DataFrame, npartitions: int):
    """``records`` as an engine frame of ``npartitions`` partitions in which the person of
    the last row (see :func:`_split_person`) has records in two of them: the last row is a
    partition of its own, appended to a frame of the other rows."""
    head = engine_frame(records.iloc[:-1], npartitions - 1)
    tail = engine_frame(records.iloc[-1:], 1)
    if type(head).__module__.startswith("dask"):
        import dask.dataframe as dd

        frame = dd.concat([head, tail])
    else:
        frame = head.unionByName(tail)
    assert _partitions_of(frame, records["id"].iloc[-1]) >= 2
    return frame


def _partitions_of(frame, who) -> int:
    """How many of the engine frame's partitions hold rows of person ``who``."""
    if type(frame).__module__.startswith("dask"):
        return sum(int((frame.get_partition(i)["id"] == who).any().compute())
                   for i in range(frame.npartitions))
    from pyspark.sql import functions as F

    rows = frame.filter(F.col("id") == who).select(F.spark_partition_id().alias("p"))
    return rows.distinct().count()


def _collect(frame) -> pd.DataFrame:
    if type(frame).__module__.startswith("dask"):
        return frame.compute()
    return frame.toPandas()


def _assert_same(expected: pd.DataFrame, frame) -> None:
    """The engine's result equals the pandas result after sorting by id: the same columns,
    NA in the same places, floats to RTOL and everything else exactly (Spark returns
    nullable ints as floats and categoricals as text: values are compared)."""
    got = _collect(frame).sort_values("id").reset_index(drop=True)
    want = expected.sort_values("id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        w, g = want[col], got[col]
        w_na, g_na = w.isna().to_numpy(), g.isna().to_numpy()
        np.testing.assert_array_equal(g_na, w_na, err_msg=col)
        w, g = w[~w_na], g[~g_na]
        if pd.api.types.is_float_dtype(w):
            np.testing.assert_allclose(g.to_numpy(dtype=float), w.to_numpy(dtype=float),
                                       rtol=RTOL, atol=0, err_msg=col)
        elif pd.api.types.is_datetime64_any_dtype(w):
            np.testing.assert_array_equal(pd.to_datetime(g).to_numpy("datetime64[ns]"),
                                          w.to_numpy("datetime64[ns]"), err_msg=col)
        elif pd.api.types.is_integer_dtype(w) or pd.api.types.is_bool_dtype(w):
            np.testing.assert_array_equal(g.to_numpy(dtype=np.int64), w.to_numpy(dtype=np.int64),
                                          err_msg=col)
        else:
            assert g.astype(str).tolist() == w.astype(object).astype(str).tolist(), col


# where the warning says the counts are: the result's attrs in pandas, the warning itself on
# an engine (a Dask or Spark frame has no attrs); the rest of the text is the same
_WHERE = ("details in result.attrs['data_problems'].", "counts in result.attrs['data_problems'].",
          "these are the counts (a Dask or Spark result has no attrs).")


def _run(fn, *args, **kwargs):
    """The result and the messages of its RecordProblemsWarnings (Dask's and Spark's result
    is computed inside, so every warning is caught), with where the counts are (the only
    words that differ) replaced by ``<counts>``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, RecordProblemsWarning)]
    for where in _WHERE:
        messages = [m.replace(where, "<counts>") for m in messages]
    return out, messages


def _same_error(kind, call_pandas, call_engine) -> None:
    """Both calls raise ``kind`` with the same message."""
    with pytest.raises(kind) as want:
        call_pandas()
    with pytest.raises(kind, match=re.escape(str(want.value))) as got:
        call_engine()
    assert type(got.value) is type(want.value)


# --------------------------------------------------------------------------- few people
def test_partitions_without_people(engine_frame):
    """Four people and records in six partitions: some partitions hold records (of ids not
    in people) but no one; their records are still checked and counted."""
    people = pd.DataFrame({"id": [1, 2, 3, 4], "arm": ["treatment", "control"] * 2,
                           "randomised_on": pd.to_datetime(["2018-01-08"] * 4)})
    ids = [1, 1, 2, 3, 11, 12, 13, 14, 15, 16]
    day = pd.to_datetime("2018-02-01") + pd.to_timedelta(np.arange(10) * 3, "D")
    refs = pd.DataFrame({"id": ids, "provision": ["IPS trial", "IPS Trial"] * 5,
                         "start_date": day, "end_date": day + pd.Timedelta(days=30)})
    emp = pd.DataFrame({"id": ids, "month": day.to_period("M").to_timestamp(),
                        "earnings": np.arange(10) * 100.0})
    emp = emp.drop_duplicates(["id", "month"])
    calls = [
        (flag_contamination, (people, refs), {"similar": ["IPS trial"]}),
        (take_up, (people, refs[["id", "start_date"]]), {}),
        (derive_outcomes, (people,), {"employment": emp, "data_end": "2019-06"}),
    ]
    for fn, frames, kw in calls:
        want, want_warn = _run(fn, *frames, **kw)
        engine_kw = {k: engine_frame(v, 6) if isinstance(v, pd.DataFrame) else v
                     for k, v in kw.items()}
        got, got_warn = _run(fn, *[engine_frame(f, 6) for f in frames], **engine_kw)
        _assert_same(want, got)
        assert len(want_warn) == 1 and got_warn == want_warn, fn.__name__


# --------------------------------------------------------------------------- derive_outcomes
def test_derive_outcomes_equals_pandas(trial, engine_frame):
    people, emp, ben = trial["people"], trial["employment"], trial["benefits"]
    # 30 months: the people randomised last have incomplete follow-up (NA measures)
    kw = {"randomised": "referred_on", "months": 30}
    want, want_warn = _run(derive_outcomes, people, employment=emp, benefits=ben, **kw)
    emp_e = _split_frame(engine_frame, emp, 4)
    got, got_warn = _run(derive_outcomes, engine_frame(people, 3), employment=emp_e,
                         benefits=engine_frame(ben, 2), **kw)
    _assert_same(want, got)
    # one warning, with pandas' totals, examples and inferred data_end (read on the engine)
    assert len(want_warn) == 1
    assert "data_end was not given" in want_warn[0] and "1 of " in want_warn[0]
    assert got_warn == want_warn
    assert want.attrs["follow_up"]["data_end_from"] == "employment"
    assert 0 < want.attrs["follow_up"]["n_complete"] < len(people)


def test_derive_outcomes_no_complete_follow_up_is_global(trial, engine_frame):
    people, emp = trial["people"].head(100), trial["employment"]
    emp = emp[emp["id"] <= 100]
    # only the earliest people are complete: the partitions without them have no one complete,
    # which is no error ...
    first = people["referred_on"].min()
    kw = {"randomised": "referred_on", "months": 12,
          "data_end": (first + pd.DateOffset(months=12)).strftime("%Y-%m-%d")}
    want, _ = _run(derive_outcomes, people, employment=emp, **kw)
    assert 0 < want["follow_up_complete"].sum() < 5
    got, _ = _run(derive_outcomes, engine_frame(people, 3), employment=engine_frame(emp, 3), **kw)
    _assert_same(want, got)
    # ... and no one complete in any partition is pandas' error
    kw["data_end"] = (first + pd.DateOffset(months=6)).strftime("%Y-%m-%d")
    _same_error(
        DesignError,
        lambda: derive_outcomes(people, employment=emp, **kw),
        lambda: derive_outcomes(engine_frame(people, 3), employment=engine_frame(emp, 3), **kw),
    )


def test_derive_outcomes_errors(trial, engine_frame):
    people, emp = trial["people"].head(60), trial["employment"]
    emp = emp[emp["id"] <= 60]
    kw = {"randomised": "referred_on", "data_end": "2021-12"}
    # a missing id column, named as pandas names it
    _same_error(
        ColumnError,
        lambda: derive_outcomes(people, employment=emp, id="person", **kw),
        lambda: derive_outcomes(engine_frame(people), employment=engine_frame(emp), id="person",
                                **kw),
    )
    # duplicated ids: all rows of an id meet in one kernel; the driver states them all
    dup = pd.concat([people, people.iloc[[4, 9]]], ignore_index=True)
    _same_error(
        ColumnError,
        lambda: derive_outcomes(dup, employment=emp, **kw),
        lambda: derive_outcomes(engine_frame(dup), employment=engine_frame(emp), **kw),
    )
    # a nullable integer column with a missing value (Spark: a long column with a null)
    holes = emp.assign(earnings=emp["earnings"].round().astype("Int64"))
    holes.loc[holes.index[5], "earnings"] = pd.NA
    with pytest.raises(MissingDataError, match="'earnings'"):
        derive_outcomes(people, employment=holes, **kw)
    with pytest.raises(MissingDataError, match=r"'earnings' .* 1 missing"):
        derive_outcomes(engine_frame(people), employment=engine_frame(holes), **kw)


# --------------------------------------------------------------------------- take_up
def test_take_up_equals_pandas(trial, engine_frame):
    people, starts = trial["people"], trial["starts"]
    kw = {"randomised": "referred_on", "keep": "site"}
    want, want_warn = _run(take_up, people, starts, **kw)
    starts_e = _split_frame(engine_frame, starts, 4)
    got, got_warn = _run(take_up, engine_frame(people, 3), starts_e, **kw)
    _assert_same(want, got)
    problems = want.attrs["data_problems"]
    assert problems["duplicate"]["n_records"] > 0 and problems["unknown_id"]["n_records"] > 0
    assert problems["control_arm_start"]["n_records"] > 0
    assert len(want_warn) == 1 and got_warn == want_warn


def test_take_up_errors(trial, engine_frame):
    people, starts = trial["people"].head(60), trial["starts"]
    kw = {"randomised": "referred_on"}
    _same_error(
        ColumnError,
        lambda: take_up(people, starts.rename(columns={"id": "who"}), **kw),
        lambda: take_up(engine_frame(people), engine_frame(starts.rename(columns={"id": "who"})),
                        **kw),
    )
    dup = pd.concat([people, people.iloc[[7]]], ignore_index=True)
    _same_error(ColumnError, lambda: take_up(dup, starts, **kw),
                lambda: take_up(engine_frame(dup), engine_frame(starts), **kw))
    # the arms are those of all partitions: a control or treatment arm missing from the data
    # is an error, named with the arms of all partitions
    _same_error(DesignError, lambda: take_up(people, starts, control="placebo", **kw),
                lambda: take_up(engine_frame(people), engine_frame(starts), control="placebo",
                                **kw))
    _same_error(DesignError, lambda: take_up(people, starts, treatment="placebo", **kw),
                lambda: take_up(engine_frame(people), engine_frame(starts), treatment="placebo",
                                **kw))
    # an integer column with a missing value that the rules allow (a keep column): the
    # pandas result (Spark: a long column with a null)
    ages = people.assign(age=people["age"].astype("Int64"))
    ages.loc[ages.index[2], "age"] = pd.NA
    want, _ = _run(take_up, ages, starts, keep="age", **kw)
    assert want["age"].isna().sum() == 1
    got, _ = _run(take_up, engine_frame(ages), engine_frame(starts), keep="age", **kw)
    _assert_same(want, got)
    holes = starts.assign(id=starts["id"].astype("Int64"))
    holes.loc[holes.index[3], "id"] = pd.NA
    with pytest.raises(MissingDataError, match="'id'"):
        take_up(people, holes, **kw)
    with pytest.raises(MissingDataError, match=r"'id' .* 1 missing"):
        take_up(engine_frame(people), engine_frame(holes), **kw)


# --------------------------------------------------------------------------- flag_contamination
def test_flag_contamination_equals_pandas(trial, engine_frame):
    people, refs = trial["people"], trial["referrals"]
    kw = {"randomised": "referred_on", "similar": SIMILAR_PROVISION, "min_days": 7,
          "keep": ["site", "jobcentre"]}
    want, want_warn = _run(flag_contamination, people, refs, **kw)
    refs_e = _split_frame(engine_frame, refs, 4)
    got, got_warn = _run(flag_contamination, engine_frame(people, 3), refs_e, **kw)
    _assert_same(want, got)
    problems = want.attrs["data_problems"]
    for kind in ("unknown_id", "duplicate", "unknown_provision"):
        assert problems[kind]["n_records"] > 0, kind
    assert want["contaminated"].sum() > 0 and want["also_received"].sum() > 0
    assert len(want_warn) == 1 and got_warn == want_warn


def test_flag_contamination_rule_and_errors(trial, engine_frame):
    people, refs = trial["people"].head(80), trial["referrals"]
    refs = refs[refs["id"] <= 90]

    def ips(records: pd.DataFrame) -> pd.Series:
        return records["provision"].str.contains("IPS")

    kw = {"randomised": "referred_on", "similar": ips}
    want, want_warn = _run(flag_contamination, people, refs, **kw)
    got, got_warn = _run(flag_contamination, engine_frame(people), engine_frame(refs), **kw)
    _assert_same(want, got)
    assert got_warn == want_warn
    _same_error(
        ColumnError,
        lambda: flag_contamination(people, refs, provision="scheme", **kw),
        lambda: flag_contamination(engine_frame(people), engine_frame(refs), provision="scheme",
                                   **kw),
    )
    dup = pd.concat([people, people.iloc[[2, 3]]], ignore_index=True)
    _same_error(ColumnError, lambda: flag_contamination(dup, refs, **kw),
                lambda: flag_contamination(engine_frame(dup), engine_frame(refs), **kw))
    # a pandas frame of records with an engine frame of people: named, with the fix
    with pytest.raises(DwpEvalError, match=r"'referrals' parameter .* must be a"):
        flag_contamination(engine_frame(people), refs, **kw)
