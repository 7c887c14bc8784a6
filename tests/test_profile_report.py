"""The month-by-month impact section of ``analyse(..., records=...)``."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.report.plan import AnalysisPlan


@functools.cache
def _trial() -> tuple[pd.DataFrame, pd.DataFrame]:
    people = de.datasets.whp_like(n=600, seed=1)
    alloc = de.randomise(people, strata="site", seed=2)
    trial = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    trial = trial.merge(de.datasets.whp_outcomes(trial, trial["arm"], seed=3), on="id")
    records = de.datasets.whp_monthly_records(trial, trial["arm"], seed=4, months=12)
    return trial.assign(randomised_on=trial["referred_on"]), records.employment


PLAN = AnalysisPlan.from_dict({
    "design": {"id": "id", "assigned": "arm", "strata": "stratum"},
    "outcomes": {"primary": ["employed_13_weeks"]},
})


@pytest.fixture(scope="module")
def report() -> de.Report:
    trial, records = _trial()
    return de.analyse(trial, PLAN, records=records)


def test_profile_section_sits_after_the_impacts(report, tmp_path):
    keys = [s.key for s in report.sections]
    assert keys.index("profile") == keys.index("impact") + 1 and keys[-1] == "disclosure"
    section = report.sections[keys.index("profile")]
    prof = report.results["profile"]
    assert isinstance(prof, de.ImpactProfile)
    assert section.figure is not None and section.figure[:4] == b"\x89PNG"
    assert any(t.startswith("Figure: Line chart") for t in section.text)
    # effects and intervals only: no arm means (a rate with a rounded n gives counts back)
    assert not {"control_mean", "treatment_mean"} & set(section.table.columns)
    # counts are rounded by the plan's disclosure rules
    assert section.table["n_obs"].iloc[0] % 5 == 0
    assert section.display["effect"].iloc[0].endswith(" pp")
    html = report.to_html(tmp_path / "report.html").read_text()
    assert "Impacts month by month" in html


def test_profile_section_estimates_what_impact_profile_gives(report):
    trial, records = _trial()
    prof = report.results["profile"]
    with pytest.warns(de.DroppedRowsWarning, match="randomised too late"):
        again = de.impact_profile(trial, employment=records, assigned="arm", strata="stratum",
                                  months=prof.months, missing="drop", seed=prof.seed)
    pd.testing.assert_frame_equal(prof.to_frame(), again.to_frame())


def test_without_records_there_is_no_profile_and_a_bad_profile_never_aborts():
    trial, records = _trial()
    plain = de.analyse(trial, PLAN)
    assert "profile" not in [s.key for s in plain.sections]
    broken = de.analyse(trial.drop(columns="randomised_on"), PLAN, records=records)
    section = next(s for s in broken.sections if s.key == "profile")
    assert "not estimable" in section.text[0] and "randomised_on" in section.text[0]
    assert broken.results["profile"] is None


def test_profile_follows_the_plans_covariates():
    trial, records = _trial()
    plan = AnalysisPlan.from_dict({
        "design": {"id": "id", "assigned": "arm", "strata": "stratum"},
        "outcomes": {"primary": ["employed_13_weeks"]},
        "analysis": {"covariates": ["age", "prior_earnings"]},
    })
    rep = de.analyse(trial, plan, records=records)
    assert rep.results["profile"].adjusted == ("age", "prior_earnings")
    section = next(s for s in rep.sections if s.key == "profile")
    assert "Lin-adjusted for age, prior_earnings" in section.text[0]
