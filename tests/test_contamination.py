"""Contamination flags (``flag_contamination``) and their monitoring (``contamination_summary``)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from dwp_eval.errors import (
    ColumnError,
    DesignError,
    MissingDataError,
    OptionError,
    RecordProblemsWarning,
)
from dwp_eval.monitor import (
    ContaminationSummary,
    contamination_summary,
    flag_contamination,
    wilson_interval,
)
from dwp_eval.monitor.contamination import FLAG_COLUMNS, FLAG_REASONS, SUMMARY_COLUMNS

# Wilson intervals are the same closed form as statsmodels'; only rounding differs.
WILSON_TOL = 1e-12

SIMILAR = ["IPS trial", "Third-party IPS support"]


def _people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [10, 20, 30, 40, 50, 60],
            "arm": ["control", "control", "control", "treatment", "treatment", "control"],
            "randomised_on": pd.to_datetime(["2018-01-01"] * 6),
            "site": ["North", "North", "South", "South", "North", "South"],
        }
    )


def _referrals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [10, 10, 20, 30, 40, 50, 50],
            "provision": ["CV workshop", "IPS trial", "Debt advice", "IPS trial", "Third-party IPS support",
                          "CV workshop", "IPS trial"],
            "start_date": pd.to_datetime(["2018-01-05", "2018-03-01", "2018-02-01", "2019-06-01",
                                          "2018-01-01", "2018-05-01", "2018-01-02"]),
            "end_date": pd.to_datetime(["2018-01-05", "2018-06-01", "2018-02-01", "2019-09-01",
                                        "2018-01-01", "2018-05-01", None]),
        }
    )


def flag(people=None, refs=None, **kw):
    kw.setdefault("similar", SIMILAR)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordProblemsWarning)
        return flag_contamination(_people() if people is None else people,
                                  _referrals() if refs is None else refs, **kw)


# ------------------------------------------------------------------ the flags


def test_one_row_per_person_in_people_order_with_fixed_columns() -> None:
    people = _people().set_index(pd.Index(list("abcdef")))
    f = flag(people, keep="site")
    assert list(f.columns) == ["id", "arm", "randomised_on", "site", *FLAG_COLUMNS]
    assert f.index.tolist() == list("abcdef")
    assert f["id"].tolist() == [10, 20, 30, 40, 50, 60]
    assert f["contaminated"].dtype == np.int64 and f["also_received"].dtype == np.int64
    assert f["days_after_randomisation"].dtype == "Int64"
    assert list(f["reason"].cat.categories) == list(FLAG_REASONS)


def test_flags_first_provision_days_and_reasons() -> None:
    f = flag()
    assert f["contaminated"].tolist() == [1, 0, 0, 0, 0, 0]
    assert f["also_received"].tolist() == [0, 0, 0, 1, 1, 0]
    assert f["first_provision"].astype(object).tolist()[:1] == ["IPS trial"]
    assert f["first_provision"].isna().tolist() == [False, True, True, False, False, True]
    assert f["first_start_date"].iloc[0] == pd.Timestamp("2018-03-01")
    assert f["days_after_randomisation"].tolist()[:1] == [59]
    assert f["days_after_randomisation"].iloc[3] == 0  # randomisation day is in the window
    assert f["reason"].astype(str).tolist() == [
        "similar provision in window",
        "no similar provision",
        "similar provision outside window",
        "similar provision in window",
        "similar provision in window",
        "no referral records",
    ]
    assert f["n_similar"].tolist() == [1, 0, 0, 1, 1, 0]


def test_window_bounds_are_inclusive() -> None:
    refs = pd.DataFrame({"id": [10, 20, 30], "provision": "IPS trial",
                         "start_date": pd.to_datetime(["2018-01-11", "2018-01-10", "2018-01-21"])})
    f = flag(refs=refs, window_days=(10, 19))
    assert f["contaminated"].tolist()[:3] == [1, 0, 0]
    f = flag(refs=refs, window_days=(9, 20))
    assert f["contaminated"].tolist()[:3] == [1, 1, 1]


def test_min_days_counts_calendar_days_inclusive_and_ongoing_counts() -> None:
    # 10: one day (start = end); 40: 1 day; 50: ongoing; 30 outside window
    f = flag(min_days=1)
    assert f["contaminated"].tolist()[0] == 1 and f["also_received"].tolist()[3:5] == [1, 1]
    f = flag(min_days=2)
    assert f["also_received"].tolist()[3:5] == [0, 1]  # one-day contact ignored, ongoing kept
    assert f["reason"].iloc[3] == "similar provision shorter than min_days"
    f = flag(min_days=93)  # 2018-03-01 .. 2018-06-01 is 93 days
    assert f["contaminated"].iloc[0] == 1
    f = flag(min_days=94)
    assert f["contaminated"].iloc[0] == 0


def test_first_record_ties_broken_by_name_and_duplicates_counted_once() -> None:
    refs = pd.DataFrame({
        "id": [10, 10, 10, 10],
        "provision": ["Third-party IPS support", "IPS trial", "IPS trial", "IPS trial"],
        "start_date": pd.to_datetime(["2018-02-01", "2018-02-01", "2018-02-01", "2018-03-01"]),
    })
    with pytest.warns(RecordProblemsWarning, match="1 duplicated record"):
        f = flag_contamination(_people(), refs, similar=SIMILAR)
    assert f["first_provision"].iloc[0] == "IPS trial"
    assert f["n_similar"].iloc[0] == 3
    assert f.attrs["data_problems"]["duplicate"]["n_records"] == 1


def test_callable_rule_receives_parsed_records() -> None:
    seen = {}

    def rule(r: pd.DataFrame) -> pd.Series:
        seen["dtype"] = r["start_date"].dtype
        return r["provision"].str.contains("IPS")

    refs = _referrals().assign(start_date=lambda d: d["start_date"].dt.strftime("%Y-%m-%d"))
    f = flag(refs=refs, similar=rule)
    assert pd.api.types.is_datetime64_any_dtype(seen["dtype"])
    pd.testing.assert_series_equal(f["contaminated"], flag()["contaminated"])
    assert f.attrs["settings"]["similar"] == "rule rule"
    assert f.attrs["data_problems"]["unknown_provision"]["action"] == "not checked: similar is a rule"
    # 0/1 is accepted as well as booleans
    g = flag(similar=lambda r: r["provision"].isin(SIMILAR).astype(int))
    pd.testing.assert_series_equal(g["contaminated"], flag()["contaminated"])


def test_text_dates_in_iso_format_are_parsed() -> None:
    refs = _referrals()
    refs["start_date"] = refs["start_date"].dt.strftime("%Y-%m-%d")
    people = _people().assign(randomised_on="2018-01-01")
    pd.testing.assert_frame_equal(flag(people, refs), flag())


def test_empty_referrals_flag_nobody() -> None:
    f = flag(refs=_referrals().iloc[0:0])
    assert f["contaminated"].sum() == 0
    assert set(f["reason"].astype(str)) == {"no referral records"}


def test_single_similar_name_may_be_a_string() -> None:
    f = flag(similar="IPS trial")
    assert f["contaminated"].tolist()[0] == 1 and f["also_received"].tolist()[3:5] == [0, 1]


# ------------------------------------------------------------------ record problems


def test_every_problem_is_counted_in_one_warning_and_on_the_result() -> None:
    refs = pd.concat(
        [
            _referrals(),
            pd.DataFrame({
                "id": [999, 10, 20, 20, 60],
                "provision": ["IPS trial", "IPS trial", "IPS trial", "ips  trial", "IPS trial"],
                "start_date": pd.to_datetime(["2018-02-01", "2018-03-01", "2017-12-01", "2018-02-01", "2018-02-10"]),
                "end_date": pd.to_datetime(["2018-02-02", "2018-06-01", "2017-12-20", "2018-03-01", "2018-02-01"]),
            }),
        ],
        ignore_index=True,
    )
    with pytest.warns(RecordProblemsWarning) as caught:
        f = flag_contamination(_people(), refs, similar=SIMILAR)
    assert len(caught) == 1
    msg = str(caught[0].message)
    assert msg.startswith("flag_contamination: 5 problem(s) in 12 referral records: ")
    assert "1 record(s) name ids not in people (left out; e.g. 999)" in msg
    assert "1 duplicated record(s) (counted once)" in msg
    assert "1 similar-provision record(s) dated before randomisation (counted only inside window_days=(0, 365))" in msg
    assert "1 record(s) with unknown provision names, not counted as similar: 'ips  trial' (1 records; looks like similar provision 'IPS trial')" in msg
    assert "1 record(s) ending before they start" in msg
    assert msg.endswith("Nothing was dropped silently: details in result.attrs['data_problems'].")
    p = f.attrs["data_problems"]
    assert list(p) == ["unknown_id", "duplicate", "before_randomisation", "unknown_provision", "end_before_start"]
    assert {k: v["n_records"] for k, v in p.items()} == dict.fromkeys(p, 1)
    assert p["unknown_id"]["examples"] == (999,)
    assert p["duplicate"]["examples"] == ("id 10: 'IPS trial' on 2018-03-01",)
    assert p["before_randomisation"]["examples"] == ("id 20: 'IPS trial' on 2017-12-01",)
    # the look-alike name is not counted as similar; the duplicate is counted once
    assert f["contaminated"].tolist() == [1, 0, 0, 0, 0, 1]
    assert f["n_similar"].iloc[0] == 1


def test_known_names_make_other_names_unknown() -> None:
    with pytest.warns(RecordProblemsWarning, match=re.escape(
        "2 record(s) with unknown provision names, not counted as similar: 'CV workshop' (2 records; "
        "neither in similar nor in known)"
    )):
        f = flag_contamination(_people(), _referrals(), similar=SIMILAR, known=["Debt advice"])
    assert f.attrs["data_problems"]["unknown_provision"]["examples"] == (
        "'CV workshop' (2 records; neither in similar nor in known)",
    )
    flag(known=["Debt advice", "CV workshop"])  # no warning: every name is known


def test_ids_of_another_type_get_a_hint() -> None:
    refs = _referrals().assign(id=lambda d: d["id"].astype(str))
    with pytest.warns(RecordProblemsWarning, match=re.escape(
        "no record matched a person: are the ids of the same type? (people: int64, records: str)"
    )):
        flag_contamination(_people(), refs, similar=SIMILAR)


def test_attrs_are_plain_values_so_pandas_operations_keep_working() -> None:
    f = flag()
    assert isinstance(f.attrs["data_problems"], dict)
    both = pd.concat([f, f])  # attrs compared with == by pandas: must not be DataFrames
    assert len(both) == 12


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"id": "person"}, "flag_contamination: column 'person' (id) is not in people. Columns present: 'id', 'arm', 'randomised_on', 'site'. Fix: pass the name of an existing column as id=."),
        ({"assigned": "group"}, "flag_contamination: column 'group' (assigned) is not in people."),
        ({"randomised": "date"}, "flag_contamination: column 'date' (randomised) is not in people."),
        ({"provision": "provison"}, "flag_contamination: column 'provison' (provision) is not in referrals. Did you mean 'provision'? Columns present: 'id', 'provision', 'start_date', 'end_date'."),
        ({"started": "began"}, "flag_contamination: column 'began' (started) is not in referrals."),
        ({"keep": ["region"]}, "flag_contamination: column 'region' (keep) is not in people."),
    ],
)
def test_missing_columns_are_named_with_the_columns_present(kw, message) -> None:
    with pytest.raises(ColumnError, match=re.escape(message)):
        flag(**kw)


def test_min_days_needs_an_end_date_column() -> None:
    with pytest.raises(ColumnError, match=re.escape(
        "flag_contamination: min_days=7 needs the end date of each referral, but column 'end_date' "
        "(ended) is not in referrals. Columns present: 'id', 'provision', 'start_date'. "
        "Fix: pass ended= with the end-date column, or min_days=0."
    )):
        flag(refs=_referrals().drop(columns="end_date"), min_days=7)


def test_duplicated_person_ids() -> None:
    people = pd.concat([_people(), _people().iloc[[1]]])
    with pytest.raises(ColumnError, match=re.escape(
        "flag_contamination: column 'id' (id) must identify each row once, but 1 value(s) appear more than once: 20."
    )):
        flag(people)


@pytest.mark.parametrize("column", ["id", "arm"])
def test_missing_ids_or_arms_in_people(column) -> None:
    people = _people().astype({column: object})
    people.loc[2, column] = None
    with pytest.raises(MissingDataError, match=re.escape(
        f"flag_contamination: column '{column}' ({'id' if column == 'id' else 'assigned'}) has 1 missing value(s) (first at rows 2)."
    )):
        flag(people)


def test_missing_dates() -> None:
    people = _people()
    people.loc[3, "randomised_on"] = pd.NaT
    with pytest.raises(MissingDataError, match=re.escape(
        "flag_contamination: column 'randomised_on' (randomised) of people has 1 missing date(s) (first at rows 3). "
        "Fix: remove those records or fill in their dates before calling flag_contamination."
    )):
        flag(people)
    refs = _referrals()
    refs.loc[[1, 4], "start_date"] = pd.NaT
    with pytest.raises(MissingDataError, match=re.escape(
        "flag_contamination: column 'start_date' (started) of referrals has 2 missing date(s) (first at rows 1, 4)."
    )):
        flag(refs=refs)


def test_missing_ids_and_provision_in_referrals() -> None:
    refs = _referrals().astype({"id": float})
    refs.loc[0, "id"] = np.nan
    with pytest.raises(MissingDataError, match=re.escape("flag_contamination: column 'id' (id) has 1 missing value(s)")):
        flag(refs=refs)
    refs = _referrals()
    refs.loc[5, "provision"] = None
    with pytest.raises(MissingDataError, match=re.escape("flag_contamination: column 'provision' (provision) has 1 missing value(s) (first at rows 5)")):
        flag(refs=refs)


def test_unparsable_dates_name_the_column_and_an_example() -> None:
    refs = _referrals().assign(start_date=["2018-01-05", "01/03/2018", "2018-02-01", "2019-06-01",
                                           "2018-01-01", "2018-05-01", "2018-01-02"])
    with pytest.raises(ColumnError, match=re.escape(
        "flag_contamination: column 'start_date' (started) of referrals has 1 value(s) that are not dates "
        "in ISO format (YYYY-MM-DD), e.g. '01/03/2018'. Fix: convert the column with "
        "pd.to_datetime(referrals['start_date'], format=...) giving its format (e.g. '%d/%m/%Y')."
    )):
        flag(refs=refs)
    people = _people().assign(randomised_on=20180101)
    with pytest.raises(ColumnError, match=re.escape(
        "flag_contamination: column 'randomised_on' (randomised) of people must hold dates. Got dtype int64 instead."
    )):
        flag(people)


def test_unknown_control_label() -> None:
    with pytest.raises(DesignError, match=re.escape(
        "flag_contamination: the control arm 'ctrl' is not in column 'arm', which holds 'control', 'treatment'. "
        "Fix: pass control= with the control arm's label."
    )):
        flag(control="ctrl")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"similar": []}, "The 'similar' parameter of flag_contamination must be a non-empty list of provision names or a callable rule (records -> booleans). Got [] instead."),
        ({"similar": 3}, "The 'similar' parameter of flag_contamination must be a non-empty list"),
        ({"window_days": (30, 0)}, "The 'window_days' parameter of flag_contamination must be a pair of ints (first, last) with first <= last, in days after randomisation. Got (30, 0) instead."),
        ({"window_days": 365}, "The 'window_days' parameter of flag_contamination must be a pair of ints"),
        ({"window_days": (0.5, 10)}, "Got (0.5, 10) instead."),
        ({"min_days": -1}, "The 'min_days' parameter of flag_contamination must be a non-negative int (days). Got -1 instead."),
        ({"min_days": 2.5}, "Got 2.5 instead."),
        ({"known": "CV workshop"}, "The 'known' parameter of flag_contamination must be a list of provision names or None."),
        ({"keep": ["reason"]}, "The 'keep' parameter of flag_contamination names column(s) 'reason' that the result adds itself."),
        ({"similar": lambda r: [True]}, "The 'similar' rule of flag_contamination must return one value per referral record (7). Got shape (1,) instead."),
        ({"similar": lambda r: np.arange(len(r))}, "The 'similar' rule of flag_contamination must return booleans or 0/1. Got values 2, 3, 4, 5, 6 instead."),
        ({"similar": lambda r: [True, None] + [False] * 5}, "The 'similar' rule of flag_contamination returned missing values."),
    ],
)
def test_bad_options(kw, message) -> None:
    people = _people().assign(reason="x") if "keep" in kw else _people()
    with pytest.raises(OptionError, match=re.escape(message)):
        flag(people, **kw)


@pytest.mark.parametrize("bad", [None, [1, 2], pd.DataFrame()])
def test_bad_frames(bad) -> None:
    if isinstance(bad, pd.DataFrame):
        with pytest.raises(OptionError, match=re.escape("The 'people' parameter of flag_contamination must have at least one row. Got an empty DataFrame.")):
            flag_contamination(bad, _referrals(), similar=SIMILAR)
        return
    with pytest.raises(OptionError, match=re.escape(f"The 'referrals' parameter of flag_contamination must be a pandas DataFrame. Got {type(bad).__name__} instead.")):
        flag_contamination(_people(), bad, similar=SIMILAR)


# ------------------------------------------------------------------ properties

DAY0 = np.datetime64("2018-01-01")
NAMES = ["IPS trial", "Third-party IPS support", "CV workshop", "Debt advice"]


@st.composite
def trials(draw):
    n = draw(st.integers(2, 12))
    rand = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    arms = draw(st.lists(st.sampled_from(["control", "treatment"]), min_size=n, max_size=n))
    arms[0] = "control"
    people = pd.DataFrame({"id": np.arange(1, n + 1) * 3, "arm": arms,
                           "randomised_on": (DAY0 + np.array(rand, dtype="timedelta64[D]")).astype("datetime64[ns]")})
    m = draw(st.integers(0, 25))
    who = draw(st.lists(st.integers(0, n), min_size=m, max_size=m))  # n: an id not in the trial
    prov = draw(st.lists(st.sampled_from(NAMES), min_size=m, max_size=m))
    start = draw(st.lists(st.integers(-60, 500), min_size=m, max_size=m))
    length = draw(st.lists(st.integers(1, 40), min_size=m, max_size=m))
    s = DAY0 + np.array(start, dtype="timedelta64[D]")
    refs = pd.DataFrame({"id": (np.array(who, dtype=np.int64) + 1) * 3, "provision": prov,
                         "start_date": s.astype("datetime64[ns]"),
                         "end_date": (s + np.array(length, dtype="timedelta64[D]")).astype("datetime64[ns]")})
    if m and draw(st.booleans()):
        refs = pd.concat([refs, refs.iloc[[0]]], ignore_index=True)
    perm_p = draw(st.permutations(range(n)))
    perm_r = draw(st.permutations(range(len(refs))))
    return people, refs, list(perm_p), list(perm_r)


def _quiet(people, refs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordProblemsWarning)
        return flag_contamination(people, refs, similar=SIMILAR, window_days=(0, 365), **kw)


@given(trials(), st.sampled_from([0, 10]))
def test_flags_do_not_depend_on_row_order(trial, min_days) -> None:
    people, refs, perm_p, perm_r = trial
    base = _quiet(people, refs, min_days=min_days)
    shuffled = _quiet(people.iloc[perm_p], refs.iloc[perm_r], min_days=min_days)
    pd.testing.assert_frame_equal(shuffled.loc[base.index], base, check_categorical=False)
    assert shuffled.attrs["data_problems"] == base.attrs["data_problems"]


@given(trials(), st.integers(1, 30))
def test_irrelevant_provision_changes_nothing(trial, k) -> None:
    people, refs, _, _ = trial
    base = _quiet(people, refs, min_days=5)
    rng = np.random.default_rng(k)
    extra = pd.DataFrame({
        "id": rng.choice(people["id"].to_numpy(), size=k),
        "provision": rng.choice(["CV workshop", "Debt advice"], size=k),
        "start_date": (DAY0 + rng.integers(-100, 400, size=k).astype("timedelta64[D]")).astype("datetime64[ns]"),
        "end_date": pd.NaT,
    })
    more = pd.concat([refs, extra], ignore_index=True).iloc[::-1]
    got = _quiet(people, more, min_days=5)
    pd.testing.assert_frame_equal(got.drop(columns="reason"), base.drop(columns="reason"), check_categorical=False)
    changed = got["reason"].astype(str) != base["reason"].astype(str)
    assert set(base["reason"][changed].astype(str)) <= {"no referral records"}
    assert set(got["reason"][changed].astype(str)) <= {"no similar provision"}
    assert got.attrs["data_problems"] == base.attrs["data_problems"]


# ------------------------------------------------------------------ summary and Wilson


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.5])
def test_wilson_matches_statsmodels(alpha) -> None:
    n = np.array([1, 1, 2, 7, 40, 40, 40, 333, 10_000, 1_000_000])
    k = np.array([0, 1, 1, 3, 0, 3, 40, 17, 123, 71_234])
    lo, hi = wilson_interval(k, n, alpha)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=0, atol=WILSON_TOL)
    np.testing.assert_allclose(hi, ref_hi, rtol=0, atol=WILSON_TOL)
    assert np.all(lo >= -WILSON_TOL) and np.all(hi <= 1 + WILSON_TOL)


def test_summary_by_arm_uses_receipt_of_similar_provision() -> None:
    s = contamination_summary(flag())
    assert isinstance(s, ContaminationSummary)
    t = s.to_frame()
    assert list(t.columns) == ["arm", *SUMMARY_COLUMNS]
    assert t["arm"].tolist() == ["control", "treatment"]
    assert t["n"].tolist() == [4, 2] and t["n_flagged"].tolist() == [1, 2]
    lo, hi = proportion_confint([1, 2], [4, 2], alpha=0.05, method="wilson")
    np.testing.assert_allclose(t["conf_low"], lo, atol=WILSON_TOL)
    np.testing.assert_allclose(t["conf_high"], hi, atol=WILSON_TOL)
    assert t["above_threshold"].isna().all() and t["threshold"].isna().all()
    assert s.flag == "contaminated|also_received" and s.rate == 0.5
    assert s.summary().splitlines()[0] == (
        "Receipt of similar provision by arm: 3 of 6 (50.0%); Wilson 95% intervals"
    )
    assert "<strong>" in s._repr_html_() and repr(s).startswith("<ContaminationSummary")
    assert str(s) == s.summary()


def test_summary_by_site_and_month_with_threshold() -> None:
    people = _people().assign(randomised_on=pd.to_datetime(
        ["2018-01-01", "2018-01-20", "2018-02-01", "2018-02-03", "2018-02-05", "2018-01-31"]))
    refs = _referrals().assign(start_date=pd.Timestamp("2018-03-01"), end_date=pd.NaT)
    f = flag(people, refs, keep="site")
    control = f[f["arm"] == "control"]
    s = contamination_summary(control, by=("site", "month"), threshold=0.4)
    t = s.to_frame()
    assert list(t.columns) == ["site", "month", *SUMMARY_COLUMNS]
    assert t["month"].astype(str).tolist() == ["2018-01", "2018-01", "2018-02"]
    assert t["n"].tolist() == [2, 1, 1] and t["n_flagged"].tolist() == [1, 0, 1]
    assert t["above_threshold"].tolist() == [True, False, True]
    assert t["significantly_above"].tolist() == [False, False, False]
    assert len(s.above()) == 2
    assert s.summary().splitlines()[-1] == (
        "  threshold 40%: 2 group(s) above (*), 0 with the whole interval above (**)"
    )
    ci = s.conf_int(0.5)
    lo, _ = proportion_confint(t["n_flagged"], t["n"], alpha=0.5, method="wilson")
    np.testing.assert_allclose(ci["conf_low"], lo, atol=WILSON_TOL)


def test_summary_overall_and_named_flags() -> None:
    f = flag()
    s = contamination_summary(f, by=None, flag="contaminated")
    assert s.to_frame()[["n", "n_flagged"]].values.tolist() == [[6, 1]]
    assert s.label == "contamination"


def test_summary_plot_draws_lines_by_site(tmp_path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    people = _people().assign(randomised_on=pd.to_datetime(
        ["2018-01-01", "2018-02-20", "2018-02-01", "2018-03-03", "2018-02-05", "2018-01-31"]))
    with pytest.warns(RecordProblemsWarning, match="dated before randomisation"):
        f = flag_contamination(people, _referrals(), similar=SIMILAR, keep="site")
    s = contamination_summary(f, by=("site", "month"), threshold=0.2)
    ax = s.plot()
    assert len(ax.get_lines()) == 3  # North, South, threshold
    assert ax.get_xlabel() == "month of randomisation"
    ax2 = contamination_summary(f, by=("site",)).plot(x="site")
    assert ax2.get_xlabel() == "site"
    with pytest.raises(OptionError, match=re.escape(
        "The 'x' parameter of ContaminationSummary.plot must be one of the by columns 'site'. Got 'month' instead."
    )):
        contamination_summary(f, by="site").plot(x="month")
    assert contamination_summary(f, by="site").plot().get_xlabel() == "site"  # default x


def test_summary_bad_input() -> None:
    f = flag()
    with pytest.raises(ColumnError, match=re.escape(
        "contamination_summary: column 'contaminated' (flag) must hold 0/1 values. Got 2 among its values."
    )):
        contamination_summary(f.assign(contaminated=f["contaminated"] * 2))
    g = f.astype({"also_received": float})
    g.loc[0, "also_received"] = np.nan
    with pytest.raises(MissingDataError, match=re.escape("contamination_summary: column 'also_received' (flag) has 1 missing value(s)")):
        contamination_summary(g)
    with pytest.raises(ColumnError, match=re.escape("contamination_summary: column 'site' (by) is not in flags.")):
        contamination_summary(f, by="site")
    with pytest.raises(ColumnError, match=re.escape(
        "contamination_summary: by='month' is the month of randomisation, but column 'randomised_on' (randomised) is not in flags."
    )):
        contamination_summary(f.drop(columns="randomised_on"), by="month")
    with pytest.raises(ColumnError, match=re.escape(
        "contamination_summary: flags has none of the columns 'contaminated', 'also_received', 'received'."
    )):
        contamination_summary(f[["id", "arm"]])
    with pytest.raises(OptionError, match=re.escape("The 'alpha' parameter of contamination_summary must be a float in (0, 1). Got 1.5 instead.")):
        contamination_summary(f, alpha=1.5)
    with pytest.raises(OptionError, match=re.escape("The 'threshold' parameter of contamination_summary must be a rate in [0, 1] or None. Got 5 instead.")):
        contamination_summary(f, threshold=5)
