"""CONSORT flow from true counts only: eligibility boxes only when given (``assessed=``,
``excluded=`` counts), "not yet due for follow-up" apart from "lost to follow-up"
(with reasons), and ``Flow.adds_up`` with the diagram's note when rounded or
suppressed counts no longer add up. Counts are hand tallies of small data sets
written out row by row; every error message is pinned."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval.errors import DesignError, DwpEvalError, OptionError
from dwp_eval.monitor.flow import flow
from dwp_eval.report import _checked
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.document import _protect
from dwp_eval.report.plan import AnalysisPlan, PlanError
from dwp_eval.results.flow import NOT_ADDING_UP
from dwp_eval.results.palette import alt_text_of


def _randomised() -> pd.DataFrame:
    """Ten people randomised. Control rows 0-4: row 3 lost ("moved away"), row 4 not yet
    due. Treatment rows 5-9: rows 6 and 7 lost (one "withdrew", one with no reason), rows
    8 and 9 not yet due; row 5 followed up without an outcome."""
    return pd.DataFrame({
        "arm": ["control"] * 5 + ["treatment"] * 5,
        "fu": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
        "due_later": [0, 0, 0, 0, 1, 0, 0, 0, 1, 1],
        "why_lost": [None, None, None, "moved away", None, None, "withdrew", "", None, None],
        "y": [1.0, 2.0, 0.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
    })


def _texts(ax: plt.Axes) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


def test_no_eligibility_counts_no_eligibility_boxes() -> None:
    fl = flow(_randomised(), assigned="arm")
    assert fl.n_assessed is None and fl.n_excluded is None and not fl.recorded_exclusions
    assert set(fl.to_frame()["stage"]) == {"randomised", "allocated", "analysed"}
    ax = fl.plot()
    text = _texts(ax)
    assert "Assessed for eligibility" not in text and "Excluded" not in text
    assert "Randomised (n = 10)" in text
    assert fl.summary().startswith("CONSORT flow: 10 randomised (assessment for eligibility")
    assert repr(fl).startswith("<Flow 10 randomised")
    plt.close(ax.figure)


def test_assessed_and_exclusion_counts() -> None:
    fl = flow(_randomised(), assigned="arm", assessed=62,
              excluded={"declined": 12, "did not meet criteria": 40})
    assert (fl.n_assessed, fl.n_excluded, fl.n_randomised) == (62, 52, 10)
    assert list(fl.excluded_by_reason.items()) == [("did not meet criteria", 40), ("declined", 12)]
    head = fl.to_frame().head(4).values.tolist()
    assert [r[0] for r in head] == ["assessed", "excluded", "excluded", "excluded"]
    ax = fl.plot()
    text = _texts(ax)
    assert "Assessed for eligibility (n = 62)" in text
    assert "did not meet criteria (n = 40)" in text and "Excluded (n = 52)" in text
    plt.close(ax.figure)
    # the counts alone: assessed = excluded + randomised
    assert flow(_randomised(), assigned="arm", excluded={"declined": 5}).n_assessed == 15
    # assessed alone: one exclusion without reasons
    only = flow(_randomised(), assigned="arm", assessed=30)
    assert (only.n_excluded, dict(only.excluded_by_reason)) == (20, {})
    assert only.adds_up()


def test_not_due_is_not_lost_and_lost_has_reasons() -> None:
    fl = flow(_randomised(), assigned="arm", followed_up="fu", not_due="due_later",
              lost_reason="why_lost", outcome="y")
    assert dict(fl.not_due) == {"control": 1, "treatment": 2}
    assert dict(fl.lost_to_follow_up) == {"control": 1, "treatment": 2}
    assert {a: dict(r) for a, r in fl.lost_by_reason.items()} == {
        "control": {"moved away": 1, "reason not recorded": 0, "withdrew": 0},
        "treatment": {"moved away": 0, "reason not recorded": 1, "withdrew": 1},
    }
    assert dict(fl.analysed) == {"control": 3, "treatment": 0}
    assert dict(fl.excluded_from_analysis) == {"control": 0, "treatment": 1}
    for a in fl.arms:
        assert (fl.not_due[a] + fl.lost_to_follow_up[a] + fl.excluded_from_analysis[a]
                + fl.analysed[a] == fl.allocated[a])
    assert fl.adds_up()
    ax = fl.plot()
    text = _texts(ax)
    assert "Not yet due for follow-up (n = 2)" in text
    assert "Lost to follow-up (n = 2)" in text and "withdrew (n = 1)" in text
    assert NOT_ADDING_UP not in text
    assert "not yet due for follow-up" in fl.summary() and "moved away" in fl.summary()
    assert alt_text_of(ax.figure) == fl.alt_text()
    assert "1 not yet due for follow-up, 1 lost to follow-up" in fl.alt_text()
    plt.close(ax.figure)


def test_rounded_boxes_say_they_do_not_add_up() -> None:
    fl = flow(_randomised(), assigned="arm", assessed=1_003,
              excluded={"did not meet criteria": 993}, followed_up="fu", not_due="due_later")
    f = fl.to_frame()
    assert fl.adds_up(f)
    rounded = f.assign(count=[int(5 * round(v / 5)) for v in f["count"]])
    assert not fl.adds_up(rounded)
    suppressed = f.assign(count=[v if v >= 10 else "[c]" for v in f["count"]])
    assert not fl.adds_up(suppressed)
    ax = fl.plot(frame=rounded)
    assert NOT_ADDING_UP in _texts(ax) and NOT_ADDING_UP in alt_text_of(ax.figure)
    plt.close(ax.figure)
    ax = fl.plot(frame=f)  # the true counts, passed as a frame: they add up, no note
    assert NOT_ADDING_UP not in _texts(ax)
    plt.close(ax.figure)


def test_diagram_labels_through_the_disclosure_layer() -> None:
    fl = flow(_randomised(), assigned="arm", assessed=1_003,
              excluded={"did not meet criteria": 990, "declined": 3}, followed_up="fu",
              not_due="due_later", lost_reason="why_lost")
    f = fl.to_frame()
    rules = DisclosureRules()
    published = _protect(f, rules, "flow", **_checked.flow(f))
    ax = fl.plot(frame=published)
    text = _texts(ax)
    for shown in (" = 3)", " = 1)", " = 2)", " = 993)"):  # small or unrounded counts
        assert shown not in text
    assert "Assessed for eligibility (n = 1,005)" in text  # rounded to base 5
    assert f"declined (n {rules.suppressed})" in text or f"declined (n = {rules.suppressed})" in text
    assert NOT_ADDING_UP in text
    plt.close(ax.figure)


def test_plan_keys_for_flow() -> None:
    plan = AnalysisPlan.from_dict({
        "design": {"assigned": "arm", "followed_up": "fu", "not_due": "due_later",
                   "lost_reason": "why_lost"},
        "outcomes": {"primary": ["y"]},
        "flow": {"assessed": 62, "excluded": {"did not meet criteria": 52}},
    })
    opts = plan.flow_options
    assert opts["assessed"] == 62 and dict(opts["excluded"]) == {"did not meet criteria": 52}
    assert (opts["not_due"], opts["lost_reason"]) == ("due_later", "why_lost")
    fl = flow(_randomised(), assigned="arm", followed_up="fu", **opts)
    assert fl.n_assessed == 62 and dict(fl.not_due) == {"control": 1, "treatment": 2}
    with pytest.raises(PlanError, match=r"gives the exclusions twice.*Fix: keep one"):
        AnalysisPlan.from_dict({
            "design": {"assigned": "arm", "excluded": "why"}, "outcomes": {"primary": ["y"]},
            "flow": {"excluded": {"declined": 1}}})
    with pytest.raises(PlanError, match=r"\[flow\] assessed has the wrong type"):
        AnalysisPlan.from_dict({"design": {"assigned": "arm"}, "outcomes": {"primary": ["y"]},
                                "flow": {"assessed": "many"}})


def test_bad_counts_raise() -> None:
    d = _randomised()
    with pytest.raises(DesignError, match=r"52 excluded .* and 10 randomised .* make 62, more "
                       r"than the 50 assessed for eligibility .*Fix: correct the counts\."):
        flow(d, assigned="arm", assessed=50, excluded={"did not meet criteria": 52})
    with pytest.raises(DesignError, match=r"make 15, fewer than the 20 assessed.*'reason not "
                       r"recorded'"):
        flow(d, assigned="arm", assessed=20, excluded={"declined": 5})
    with pytest.raises(DesignError, match=r"10 randomised \(rows with an arm\), more than the 4 "
                       r"assessed for eligibility .*Fix: correct assessed="):
        flow(d, assigned="arm", assessed=4)
    with pytest.raises(OptionError, match=r"The assessed parameter of flow must be a whole "
                       r"number >= 0 .*Got -3 instead"):
        flow(d, assigned="arm", assessed=-3)
    with pytest.raises(OptionError, match=r"'excluded' count of 'declined' .* must be a whole "
                       r"number >= 0 .*Got -1 instead"):
        flow(d, assigned="arm", excluded={"declined": -1})
    with pytest.raises(OptionError, match=r"must be a whole number >= 0 .*Got 2.5 instead"):
        flow(d, assigned="arm", excluded={"declined": 2.5})
    with pytest.raises(OptionError, match=r"has an empty reason .*Fix: name each reason"):
        flow(d, assigned="arm", excluded={" ": 3})
    with pytest.raises(OptionError, match=r"'lost_reason' parameter of flow needs followed_up="):
        flow(d, assigned="arm", lost_reason="why_lost")
    d2 = d.assign(due_later=[0, 1, 0, 0, 1, 0, 0, 0, 1, 1])  # row 1 followed up, yet not due
    with pytest.raises(DesignError, match=r"1 row\(s\) are not yet due for follow-up .* but have "
                       r"followed_up = 1 .*first at rows 1\b"):
        flow(d2, assigned="arm", followed_up="fu", not_due="due_later")
    with pytest.raises(DesignError, match=r"not yet due .* but have a value of the outcome"):
        flow(d2, assigned="arm", not_due="due_later", outcome="y")
    with pytest.raises(DesignError, match=r"assessed=12 but the data have 11 rows"):
        flow(pd.concat([d, pd.DataFrame({"arm": [None], "why": ["declined"]})],
                       ignore_index=True), assigned="arm", excluded="why", assessed=12)
    withheld = pd.concat([d, pd.DataFrame({"arm": [None]})], ignore_index=True)
    with pytest.raises(DwpEvalError, match=r"with excluded= as counts, data must hold only the "
                       r"people randomised"):
        flow(withheld, assigned="arm", excluded={"declined": 3})


def test_unknown_stage_in_a_frame_raises() -> None:
    fl = flow(_randomised(), assigned="arm", followed_up="fu")
    f = fl.to_frame()
    f.loc[0, "stage"] = "screened"
    with pytest.raises(OptionError, match=r"unknown stage 'screened'; the stages are "
                       r"'assessed'.*Fix: keep the 'stage' column"):
        fl.adds_up(f)
    with pytest.raises(OptionError, match=r"unknown stage 'screened'"):
        fl.plot(frame=f)
    plt.close("all")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["control", "treatment"]), st.booleans(),
                          st.booleans(), st.sampled_from(["a", "b", None])),
                min_size=2, max_size=40),
       st.dictionaries(st.sampled_from(["x", "y", "z"]), st.integers(0, 50), max_size=3))
def test_identities_hold_with_counts(rows: list, excluded: dict) -> None:
    d = pd.DataFrame(rows, columns=["arm", "fu", "due", "why"])
    d.loc[0, "arm"], d.loc[1, "arm"] = "control", "treatment"
    d["fu"] = (d["fu"] & ~d["due"]).astype(int)
    d["due"] = d["due"].astype(int)
    fl = flow(d, assigned="arm", excluded=excluded, followed_up="fu", not_due="due",
              lost_reason="why")
    assert fl.adds_up() and fl.adds_up(fl.to_frame())
    assert fl.n_assessed == len(d) + sum(excluded.values())
    for a in fl.arms:
        assert sum(fl.lost_by_reason[a].values()) == fl.lost_to_follow_up[a]
