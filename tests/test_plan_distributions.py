"""Analysis plans that name time-to-event outcomes ([survival.<name>]) and quantile
effects ([distribution]): what is read, and the errors for what is malformed."""

from __future__ import annotations

import pytest

import dwp_eval as de
from dwp_eval.report.plan import PlanError

BASE = {"design": {"assigned": "arm"}, "outcomes": {"primary": ["employed"]}}


def _plan(**sections):
    return de.AnalysisPlan.from_dict({**BASE, **sections})


def test_survival_and_distribution_are_read_and_listed_as_columns():
    plan = _plan(survival={"time_to_job": {"duration": "days", "event": "found", "horizon": 365}},
                 distribution={"outcomes": ["earnings"], "quantiles": [0.9, 0.5], "seed": 7})
    (s,) = plan.survival
    assert (s.name, s.duration, s.event, s.horizon) == ("time_to_job", "days", "found", 365.0)
    q = plan.distribution
    assert q is not None
    assert q.outcomes == ("earnings",) and q.quantiles == (0.5, 0.9)
    assert (q.draws, q.seed) == (999, 7)
    roles = plan.columns()
    assert roles["[survival.time_to_job]"] == ["days", "found"]
    assert roles["[distribution] outcomes"] == ["earnings"]
    assert "RMST to 365 days" in plan.summary()
    assert "earnings at quantiles 0.5, 0.9" in plan.summary()


def test_a_plan_without_them_has_none():
    plan = _plan()
    assert plan.survival == () and plan.distribution is None


@pytest.mark.parametrize(("sections", "message"), [
    ({"survival": {"t": {"duration": "d", "event": "e"}}}, r"\[survival.t\] horizon must be a positive"),
    ({"survival": {"t": {"duration": "d", "event": "e", "horizon": 0}}}, "positive number of days"),
    ({"survival": {"t": {"duration": "d", "event": "e", "horizon": True}}}, "positive number"),
    ({"survival": {"t": {"duration": "d", "event": "d", "horizon": 9}}}, "duration column 'd' again"),
    ({"survival": {"t": {"event": "e", "horizon": 9}}}, r"\[survival.t\] duration must be a column"),
    ({"survival": {"t": {"duration": "d", "event": "e", "horizn": 9}}}, "Did you mean 'horizon'"),
    ({"survival": {"t": 3}}, "one table per time-to-event outcome"),
    ({"distribution": {"outcomes": ["e"]}}, "seed is required"),
    ({"distribution": {"outcomes": ["e"], "seed": 1, "quantiles": [0, 0.5]}}, r"in \(0, 1\)"),
    ({"distribution": {"outcomes": ["e"], "seed": 1, "quantiles": [0.5, 0.5]}}, "distinct"),
    ({"distribution": {"outcomes": [], "seed": 1}}, "must list outcome columns"),
    ({"distribution": {"outcomes": ["e"], "seed": 1, "draws": 10}}, "from 99"),
    ({"distribution": {"outcomes": ["e"], "seed": 1, "draw": 999}}, "Did you mean 'draws'"),
])
def test_malformed_sections_name_the_key_and_the_fix(sections, message):
    with pytest.raises(PlanError, match=message) as err:
        _plan(**sections)
    assert "Analysis plan" in str(err.value)


def test_check_data_names_a_missing_survival_column():
    import pandas as pd
    plan = _plan(survival={"time_to_job": {"duration": "days", "event": "found", "horizon": 365}})
    data = pd.DataFrame({"arm": ["control", "treatment"], "employed": [0, 1], "days": [3, 4]})
    with pytest.raises(de.DwpEvalError, match=r"'found' \(\[survival.time_to_job\]\)"):
        plan.check_data(data)
