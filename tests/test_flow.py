"""CONSORT flow counts (``flow``) and the flow diagram (``Flow.plot``).

Counts are checked against hand tallies of small data sets written out row by
row, and against independent pandas tallies of a synthetic trial; hypothesis
checks that the CONSORT identities hold for any data and that row order does
not matter. Every user-facing error message is pinned.
"""

from __future__ import annotations

import pickle
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from dwp_eval.datasets import whp_like
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.monitor.flow import flow
from dwp_eval.results.flow import FLOW_COLUMNS, FLOW_STAGES, MAX_REASONS_DRAWN, Flow

NA = pd.NA


def _hand() -> pd.DataFrame:
    """Twelve people assessed: rows 0-2 excluded ('not eligible' twice, 'declined'
    once); rows 4 and 6 have an empty or blank reason, which means not excluded.
    The tally per arm is written out above ``HAND_EXPECTED``."""
    return pd.DataFrame({
        "pid": [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112],
        "arm": [None, None, None, "control", "control", "control", "control", "control",
                "treatment", "treatment", "treatment", "treatment"],
        "why": ["not eligible", "declined", "not eligible", None, "", None, "  ", None,
                None, None, None, None],
        "got": [None, None, None, 1, 1, 1, 0, 1, 1, 0, 1, 1],
        "fu": [None, None, None, 1, 1, 0, 1, 1, 1, 1, 0, 1],
        "y": [np.nan, np.nan, np.nan, 3.0, 1.0, np.nan, 2.0, np.nan, 5.0, np.nan, 4.0, 6.0],
    })


# control:   rows 3..7  got 1,1,1,0,1  fu 1,1,0,1,1  y 3,1,nan,2,nan
#   received 4, not 1; lost 1 (row 5); followed up rows 3,4,6,7; analysed rows 3,4,6 -> 3;
#   excluded from analysis: row 7 -> 1
# treatment: rows 8..11 got 1,0,1,1  fu 1,1,0,1  y 5,nan,4,6
#   received 3, not 1; lost 1 (row 10); followed up rows 8,9,11; analysed 8,11 -> 2;
#   excluded from analysis: row 9 -> 1 (row 10 has an outcome but was lost: not analysed)
HAND_EXPECTED = [
    ("assessed", None, None, 12),
    ("excluded", None, None, 3),
    ("excluded", None, "not eligible", 2),
    ("excluded", None, "declined", 1),
    ("randomised", None, None, 9),
    ("allocated", "control", None, 5),
    ("allocated", "treatment", None, 4),
    ("received", "control", None, 4),
    ("received", "treatment", None, 3),
    ("not_received", "control", None, 1),
    ("not_received", "treatment", None, 1),
    ("lost_to_follow_up", "control", None, 1),
    ("lost_to_follow_up", "treatment", None, 1),
    ("analysed", "control", None, 3),
    ("analysed", "treatment", None, 2),
    ("excluded_from_analysis", "control", None, 1),
    ("excluded_from_analysis", "treatment", None, 1),
]


def _full(data: pd.DataFrame, **kwargs: object) -> Flow:
    return flow(data, assigned="arm", excluded="why", received="got", followed_up="fu",
                outcome="y", id="pid", **kwargs)


def _rows(fl: Flow) -> list[tuple]:
    f = fl.to_frame()
    return [(s, None if pd.isna(a) else a, None if pd.isna(r) else r, int(c))
            for s, a, r, c in f.itertuples(index=False)]


def test_hand_tally_in_consort_order() -> None:
    fl = _full(_hand())
    assert _rows(fl) == HAND_EXPECTED
    f = fl.to_frame()
    assert list(f.columns) == FLOW_COLUMNS
    assert str(f["count"].dtype) == "int64"
    assert f["arm"].iloc[:5].isna().all() and f["arm"].iloc[5:].notna().all()
    stages = list(dict.fromkeys(f["stage"]))
    assert stages == [s for s in FLOW_STAGES if s in stages] == [s for s in FLOW_STAGES if s != "not_due"]


def test_fields_and_counts_mapping() -> None:
    fl = _full(_hand())
    assert (fl.n_assessed, fl.n_excluded, fl.n_randomised) == (12, 3, 9)
    assert dict(fl.excluded_by_reason) == {"not eligible": 2, "declined": 1}
    assert fl.arms == ("control", "treatment")
    assert dict(fl.analysed) == {"control": 3, "treatment": 2}
    assert fl.counts[("excluded", None, "declined")] == 1
    assert fl.counts[("lost_to_follow_up", "treatment", None)] == 1
    assert list(fl.counts) == [(s, a, r) for s, a, r, _ in HAND_EXPECTED]


def test_result_is_read_only_and_pickles() -> None:
    fl = _full(_hand())
    with pytest.raises(AttributeError):
        fl.n_assessed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        fl.allocated["control"] = 0  # type: ignore[index]
    f = fl.to_frame()
    f.loc[0, "count"] = -1
    assert fl.to_frame().loc[0, "count"] == 12  # a copy
    back = pickle.loads(pickle.dumps(fl))
    assert back.to_frame().equals(fl.to_frame())
    assert dict(back.allocated) == dict(fl.allocated)


def test_summary_and_repr() -> None:
    fl = _full(_hand())
    text = fl.summary()
    assert text.splitlines()[0] == "CONSORT flow: 12 assessed, 3 excluded, 9 randomised"
    assert re.search(r"lost to follow-up\s+1\s+1", text)
    assert re.search(r"analysed\s+3\s+2", text)
    assert str(fl) == text
    assert repr(fl) == "<Flow 12 assessed, 9 randomised (control 5, treatment 4)>"
    assert "<table" in fl._repr_html_()


def test_stages_not_recorded_have_no_rows() -> None:
    d = _hand().dropna(subset=["arm"])
    fl = flow(d, assigned="arm")
    assert _rows(fl) == [  # no assessed / excluded rows: they were not given
        ("randomised", None, None, 9),
        ("allocated", "control", None, 5), ("allocated", "treatment", None, 4),
        ("analysed", "control", None, 5), ("analysed", "treatment", None, 4),
    ]
    assert fl.received is None and fl.lost_to_follow_up is None
    assert fl.excluded_from_analysis is None and not fl.recorded_exclusions
    assert fl.n_assessed is None and fl.n_excluded is None and fl.not_due is None


def test_outcome_without_follow_up_column() -> None:
    fl = flow(_hand(), assigned="arm", excluded="why", outcome="y")
    # analysed = outcome present: control rows 3, 4, 6; treatment rows 8, 10, 11
    assert dict(fl.analysed) == {"control": 3, "treatment": 3}
    assert dict(fl.excluded_from_analysis) == {"control": 2, "treatment": 1}


def test_received_in_control_programme_reads_contamination() -> None:
    # as a take_up()/cace() 'received' column: 1 in control = received the programme
    fl = flow(_hand(), assigned="arm", excluded="why", received="got",
              received_in_control="programme")
    # control got 1,1,1,0,1 -> only row 6 did not receive the programme: 1 received control
    assert dict(fl.received) == {"control": 1, "treatment": 3}
    assert dict(fl.not_received) == {"control": 4, "treatment": 1}


def test_boolean_columns_and_other_arm_labels() -> None:
    d = _hand()
    d["got"] = d["got"].map({1: True, 0: False})
    d["arm"] = d["arm"].replace({"control": "BAU", "treatment": "WHP"})
    fl = flow(d, assigned="arm", control="BAU", excluded="why", received="got")
    assert fl.arms == ("BAU", "WHP") and fl.control == "BAU"
    assert dict(fl.received) == {"BAU": 4, "WHP": 3}


def test_three_arms_control_first() -> None:
    d = pd.DataFrame({"arm": ["b", "control", "a", "a", "control", "b", "b"]})
    fl = flow(d, assigned="arm")
    assert fl.arms == ("control", "a", "b")
    assert dict(fl.allocated) == {"control": 2, "a": 2, "b": 3}


def test_counts_match_independent_pandas_tallies() -> None:
    people = whp_like(n=3_000, seed=11)
    rng = np.random.default_rng(12)
    eligible = rng.random(len(people)) < 0.9
    reasons = np.array(["not eligible", "declined", "already in work"])
    people["why"] = np.where(eligible, None, reasons[rng.integers(0, 3, len(people))])
    people["arm"] = np.where(eligible, np.where(rng.random(len(people)) < 0.5, "treatment",
                                                "control"), None)
    people["fu"] = np.where(eligible, (rng.random(len(people)) < 0.8).astype(float), np.nan)
    people["y"] = np.where(rng.random(len(people)) < 0.9, 1.0, np.nan)
    fl = flow(people, assigned="arm", excluded="why", followed_up="fu", outcome="y", id="id")
    rand = people[people["arm"].notna()]
    assert fl.n_excluded == int(people["why"].notna().sum())
    assert dict(fl.excluded_by_reason) == dict(
        sorted(people["why"].value_counts().items(), key=lambda kv: (-kv[1], kv[0])))
    assert dict(fl.allocated) == rand["arm"].value_counts().sort_index().to_dict()
    lost = rand.loc[rand["fu"] == 0, "arm"].value_counts().sort_index().to_dict()
    assert dict(fl.lost_to_follow_up) == lost
    ana = rand.loc[(rand["fu"] == 1) & rand["y"].notna(), "arm"].value_counts().sort_index()
    assert dict(fl.analysed) == ana.to_dict()


# ----------------------------------------------------------------------------- hypothesis


@st.composite
def _trials(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(2, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    excluded = rng.random(n) < draw(st.floats(0, 0.6))
    excluded[0] = False  # someone in control
    arm = np.where(rng.random(n) < 0.5, "treatment", "control").astype(object)
    arm[0] = "control"
    arm[excluded] = None
    reasons = np.array(["declined", "not eligible", "moved away"])
    return pd.DataFrame({
        "arm": arm,
        "why": np.where(excluded, reasons[rng.integers(0, 3, n)], None),
        "got": np.where(excluded, np.nan, rng.integers(0, 2, n)),
        "fu": np.where(excluded, np.nan, rng.integers(0, 2, n)),
        "y": np.where(rng.random(n) < 0.7, rng.normal(size=n), np.nan),
    })


@given(_trials())
def test_consort_identities_hold(d: pd.DataFrame) -> None:
    fl = flow(d, assigned="arm", excluded="why", received="got", followed_up="fu", outcome="y")
    assert fl.n_assessed == len(d) == fl.n_excluded + fl.n_randomised
    assert sum(fl.excluded_by_reason.values()) == fl.n_excluded
    assert sum(fl.allocated.values()) == fl.n_randomised
    for a in fl.arms:
        assert fl.received[a] + fl.not_received[a] == fl.allocated[a]
        assert (fl.lost_to_follow_up[a] + fl.excluded_from_analysis[a] + fl.analysed[a]
                == fl.allocated[a])


@given(_trials(), st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(d: pd.DataFrame, seed: int) -> None:
    kwargs = {"assigned": "arm", "excluded": "why", "received": "got", "followed_up": "fu",
              "outcome": "y"}
    shuffled = d.sample(frac=1.0, random_state=np.random.default_rng(seed))
    assert flow(d, **kwargs).to_frame().equals(flow(shuffled, **kwargs).to_frame())


# ----------------------------------------------------------------------------- the diagram


def _texts(ax: plt.Axes) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


def test_plot_draws_every_count() -> None:
    fl = _full(_hand())
    ax = fl.plot()
    text = _texts(ax)
    for needle in ["Assessed for eligibility (n = 12)", "Excluded (n = 3)",
                   "not eligible (n = 2)", "declined (n = 1)", "Randomised (n = 9)",
                   "Allocated to control (n = 5)", "Allocated to treatment (n = 4)",
                   "intervention (n = 4)", "Lost to follow-up (n = 1)", "Analysed (n = 3)",
                   "Analysed (n = 2)", "Enrolment", "Allocation", "Follow-up", "Analysis"]:
        assert needle in text, needle
    assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) >= 8
    assert not ax.axison
    plt.close(ax.figure)


def test_plot_with_a_disclosure_controlled_frame() -> None:
    people = whp_like(n=2_000, seed=3)
    people["arm"] = np.where(people["id"] % 2 == 0, "treatment", "control")
    people["fu"] = (people["id"] % 7 != 0).astype(int)
    fl = flow(people, assigned="arm", followed_up="fu")
    f = fl.to_frame()
    f["count"] = f["count"].astype(object)
    f.loc[f["count"] < 10, "count"] = "<10"
    big = f["count"].map(lambda v: isinstance(v, int | np.integer))
    f.loc[big, "count"] = [int(5 * round(v / 5)) for v in f.loc[big, "count"]]
    f.loc[(f["stage"] == "lost_to_follow_up") & (f["arm"] == "control"), "count"] = "<10"
    f.loc[(f["stage"] == "lost_to_follow_up") & (f["arm"] == "treatment"), "count"] = np.nan
    _, ax = plt.subplots()
    out = fl.plot(ax, frame=f)
    assert out is ax
    text = _texts(ax)
    # no excluded= and no assessed=: no eligibility boxes (never a count invented)
    assert "Assessed for eligibility" not in text and "Randomised (n = 2,000)" in text
    assert "Excluded" not in text  # no excluded= column: no exclusion box
    assert "Lost to follow-up (n <10)" in text
    assert "Lost to follow-up (n = \u2013)" in text
    assert f"Allocated to control (n = {fl.allocated['control']:,})" in text
    plt.close(ax.figure)


def test_plot_collapses_long_lists_of_reasons() -> None:
    n_reasons = MAX_REASONS_DRAWN + 3
    reasons = [f"reason {i:02d}" for i in range(n_reasons)]
    d = pd.DataFrame({"arm": [None] * n_reasons + ["control", "treatment"],
                      "why": [*reasons, None, None]})
    ax = flow(d, assigned="arm", excluded="why").plot()
    text = _texts(ax)
    assert "reason 00 (n = 1)" in text and "reason 10 (n = 1)" not in text
    assert "3 other reasons" in text
    plt.close(ax.figure)


def test_plot_three_arms() -> None:
    d = pd.DataFrame({"arm": ["b", "control", "a", "a", "control", "b", "b"],
                      "fu": [1, 1, 0, 1, 1, 1, 0]})
    ax = flow(d, assigned="arm", followed_up="fu").plot()
    text = _texts(ax)
    assert "Allocated to a (n = 2)" in text and "Allocated to b (n = 3)" in text
    plt.close(ax.figure)


def test_plot_frame_errors() -> None:
    fl = _full(_hand())
    with pytest.raises(OptionError, match=r"The 'frame' parameter of Flow.plot must be a pandas "
                                          r"DataFrame like Flow.to_frame\(\). Got dict instead."):
        fl.plot(frame={"count": [1]})  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"must have the columns of Flow.to_frame\(\) \('stage', "
                                          r"'arm', 'reason', 'count'\); 'reason' missing.*"
                                          r"Fix: transform only the 'count' column"):
        fl.plot(frame=fl.to_frame().drop(columns="reason"))
    partial = fl.to_frame().iloc[:-2]
    with pytest.raises(OptionError, match=r"lacks 2 row\(s\) the diagram needs \(stage, arm, "
                                          r"reason\): \('excluded_from_analysis', 'control', None\)"
                                          r".*Fix: keep every row of Flow.to_frame\(\)"):
        fl.plot(frame=partial)
    plt.close("all")


# ----------------------------------------------------------------------------- errors


def test_error_both_excluded_and_assigned() -> None:
    d = _hand()
    d.loc[4, "why"] = "declined"
    with pytest.raises(DesignError, match=(
            r"flow: 1 row\(s\) have both an exclusion reason in column 'why' \(excluded\) and "
            r"an arm in column 'arm' \(assigned\) \(first at rows 4\); .*Fix: clear the reason"
    )):
        _full(d)


def test_error_neither_excluded_nor_assigned() -> None:
    d = _hand()
    d.loc[1, "why"] = None
    with pytest.raises(MissingDataError, match=r"flow: 1 row\(s\) have neither an arm in column "
                                               r"'arm' \(assigned\) nor an exclusion reason in "
                                               r"column 'why' \(excluded\) \(first at rows 1\)\. "
                                               r"Fix: record why each person"):
        _full(d)


def test_error_missing_arm_without_excluded_column() -> None:
    with pytest.raises(MissingDataError, match=r"flow: column 'arm' \(assigned\) has 3 missing "
                                               r"value\(s\) \(first at rows 0, 1, 2\), and no "
                                               r"excluded= column says why.*Fix: pass excluded="):
        flow(_hand(), assigned="arm")


def test_error_control_arm_absent() -> None:
    with pytest.raises(DesignError, match=(
            r"flow: the control arm 'BAU' is not in column 'arm', which holds 'control', "
            r"'treatment'\. Fix: pass control="
    )):
        _full(_hand(), control="BAU")


def test_error_binary_columns() -> None:
    d = _hand()
    d.loc[5, "got"] = 2
    with pytest.raises(ColumnError, match=r"flow: column 'got' \(received\) must hold 0/1 values\. "
                                          r"Got 2\.0 among its values\. Fix: recode it to 0/1"):
        _full(d)
    d = _hand()
    d.loc[5, "fu"] = np.nan
    with pytest.raises(MissingDataError, match=r"flow: column 'fu' \(followed_up\) has 1 missing "
                                               r"value\(s\) among the 9 people randomised \(first "
                                               r"at rows 5\)\. Fix: record 0 or 1"):
        _full(d)


def test_error_columns_and_options() -> None:
    with pytest.raises(ColumnError, match=(
            r"flow: column 'fup' \(followed_up\) is not in the data\. Did you mean 'fu'\?"
    )):
        flow(_hand(), assigned="arm", excluded="why", followed_up="fup")
    d = _hand()
    d.loc[3, "pid"] = 101
    with pytest.raises(ColumnError, match=r"flow: column 'pid' \(id\) must identify each row once"):
        _full(d)
    d = _hand().astype({"pid": float})
    d.loc[2, "pid"] = np.nan
    with pytest.raises(MissingDataError, match=(
            r"flow: column 'pid' \(id\) has 1 missing value\(s\) \(first at rows 2\)"
    )):
        _full(d)
    with pytest.raises(OptionError, match=(
            r"The 'received_in_control' parameter of flow must be one of 'allocated', "
            r"'programme'\. Got 'program' instead\. Did you mean 'programme'\?"
    )):
        _full(_hand(), received_in_control="program")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=(
            r"The 'data' parameter of flow must be a pandas DataFrame"
    )):
        flow([1, 2], assigned="arm")  # type: ignore[arg-type]
