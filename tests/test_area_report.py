"""Area-pilot plans ([area_pilot] with [did], [event_study], [synthetic]) and their report:
the plan is checked when read (pinned errors), the report's numbers are the public
functions' numbers, and the pilot area's own path is published under the disclosure rules."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.errors import DwpEvalError, OptionError
from dwp_eval.report.plan import AnalysisPlan, PlanError


def survey(seed: int = 1, n: int = 60, small: dict[int, int] | None = None) -> pd.DataFrame:
    """40 areas x 12 quarters of fresh survey samples; cohorts 5, 7, 9 (16 never piloted);
    a true effect of 0.05 on a 0/1 outcome; ``small``: {quarter: respondents} in area A20."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(40):
        area = f"A{i:02d}"
        g = 0 if i < 16 else (5, 7, 9)[i % 3]
        level = 0.5 + rng.normal(0, 0.05)
        for t in range(1, 13):
            k = (small or {}).get(t, n) if area == "A20" else n
            p = level + 0.005 * t + (0.05 if g and t >= g else 0.0)
            parts.append(pd.DataFrame({
                "area": area, "quarter": t, "cohort": g,
                "employed": (rng.random(k) < p).astype(int), "weight": rng.uniform(0.5, 2.0, k)}))
    return pd.concat(parts, ignore_index=True)


RAW: dict[str, Any] = {
    "plan": {"title": "Area pilot"},
    "area_pilot": {"outcome": "employed", "area": "area", "time": "quarter", "cohort": "cohort",
                   "weights": "weight", "primary": "did"},
    "did": {"bootstrap": 99, "seed": 1},
    "event_study": {"bootstrap": 99, "seed": 2, "window": [-3, 3], "m": [0.0, 0.01]},
    "synthetic": {"treated": ["A20"], "treat_time": 5, "replications": 20, "seed": 3},
}


def plan_with(**changes: dict[str, Any] | None) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    for section, body in changes.items():
        if body is None:
            raw.pop(section, None)
        else:
            raw.setdefault(section, {}).update(body)
    return raw


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return survey()


@pytest.fixture(scope="module")
def report(data: pd.DataFrame) -> de.Report:
    return de.analyse(data, AnalysisPlan.from_dict(RAW))


# ---------------------------------------------------------------------------- the plan


def test_plan_reads_and_summarises() -> None:
    plan = AnalysisPlan.from_dict(RAW)
    a = plan.area_pilot
    assert a is not None and a.analyses == ("did", "event_study", "synthetic")
    assert plan.primary == ("employed",)
    assert a.did is not None and a.did.aggregations == ("simple", "group", "calendar")
    assert a.event_study is not None and a.event_study.window == (-3, 3)
    assert a.synthetic is not None and a.synthetic.treated == ("A20",)
    text = plan.summary()
    assert "repeated cross-sections" in text and "did          primary:" in text
    assert plan.columns()["[area_pilot] weights"] == ["weight"]


BAD = [
    ({"design": {"assigned": "arm"}}, r"area_pilot\] table and the trial section\(s\) \[design\]"),
    ({"did": None, "event_study": None, "synthetic": None}, r"pre-specifies no analysis"),
    ({"area_pilot": {"primary": None}}, r"does not say which is primary. Fix: add primary"),
    ({"area_pilot": {"primary": "synthetic"}, "synthetic": None}, r"\[area_pilot\] primary is 'synthetic'"),
    ({"area_pilot": {"cohort": None}}, r"need \[area_pilot\] cohort"),
    ({"area_pilot": {"unit": "id"}}, r"names a unit but panel = false"),
    ({"area_pilot": {"panel": True}}, r"survey weights with panel = true"),
    ({"event_study": {"estimator": "imputation"}}, r"needs a panel of units"),
    ({"event_study": {"sensitivity": "relative_magnitude"}}, r"gives m, which is the smoothness"),
    ({"event_study": {"mbar": [1.0]}}, r"gives mbar, the relative-magnitudes bound"),
    ({"area_pilot": {"panel": True, "weights": None}, "event_study": {"estimator": "imputation"}},
     r"estimator = \"imputation\", whose pre-period coefficients"),
    ({"event_study": {"window": [1, 3]}}, r"window is \[1, 3\].*first < 0 <= last"),
    ({"event_study": {"m": [-1]}}, r"\[event_study\] m is \[-1\]"),
    ({"did": {"seed": None}}, r"\[did\] uses a multiplier bootstrap .* gives no seed"),
    ({"did": {"aggregations": ["dynamic"]}}, r"aggregations is \['dynamic'\]"),
    ({"did": {"bootstrap": -1}}, r"bootstrap is -1"),
    ({"synthetic": {"se_method": "wild"}}, r"se_method is 'wild'.*'placebo', 'jackknife'"),
    ({"synthetic": {"seed": None}}, r"\[synthetic\] uses placebo inference .* no seed"),
    ({"area_pilot": {"outcome": 3}}, r"\[area_pilot\] outcome is 3"),
    ({"area_pilot": {"alpha": 2.0}}, r"\[area_pilot\] alpha must be in \(0, 1\)"),
    ({"area_pilot": None}, r"\[did\], \[event_study\], \[synthetic\], which belong to an area-pilot"),
    ({"did": {"bootsrap": 9}}, r"unknown key 'bootsrap'.*Did you mean 'bootstrap'"),
]


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_plans_are_pinned(changes: dict[str, Any], message: str) -> None:
    raw = plan_with(**changes)
    for section in ("area_pilot", "synthetic"):  # None values mean "remove the key"
        for k, v in list(raw.get(section, {}).items()):
            if v is None:
                del raw[section][k]
    with pytest.raises(PlanError, match=message):
        AnalysisPlan.from_dict(raw)


def test_synthetic_needs_treated_and_time() -> None:
    raw = plan_with()
    del raw["synthetic"]["treated"]
    with pytest.raises(PlanError, match=r"\[synthetic\] must give treated"):
        AnalysisPlan.from_dict(raw)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["estimator", "window", "sensitivity", "m", "mbar", "target",
                                        "pretrend_power", "bootstrap", "seed", "control_group"]),
                       st.one_of(st.none(), st.integers(-3, 3), st.floats(-1, 2), st.text(max_size=12),
                                 st.lists(st.integers(-3, 3), max_size=3),
                                 st.sampled_from(["smoothness", "relative_magnitude", "average",
                                                  "imputation", "none"])), max_size=5))
def test_any_event_study_table_reads_or_raises_a_plan_error(body: dict[str, Any]) -> None:
    raw = plan_with(event_study={k: v for k, v in body.items() if v is not None})
    try:
        plan = AnalysisPlan.from_dict(raw)
    except PlanError as err:
        assert "Analysis plan" in str(err)
        return
    assert plan.area_pilot is not None and plan.area_pilot.event_study is not None


# ---------------------------------------------------------------------------- the report


def test_sections_in_order(report: de.Report) -> None:
    assert [s.key for s in report.sections] == [
        "headline", "sample", "did", "event_study", "sensitivity", "synthetic", "synthetic_path",
        "synthetic_weights", "methods", "disclosure"]


def test_numbers_are_the_public_functions(report: de.Report, data: pd.DataFrame) -> None:
    fit = de.staggered_did(data, outcome="employed", unit="area", time="quarter", cohort="cohort",
                           panel=False, weights="weight", bootstrap=99, seed=1)
    simple = fit.aggregate("simple")
    did = report.section("did").table
    row = did[did["aggregation"] == "overall (simple)"].iloc[0]
    assert row["estimate"] == simple.estimate and row["std_error"] == simple.std_error
    groups = fit.aggregate("group").to_frame()
    mine = did[did["aggregation"] == "by cohort"]
    np.testing.assert_array_equal(mine["estimate"].astype(float), groups["estimate"])
    np.testing.assert_array_equal(mine["band_low"].astype(float), groups["band_low"])
    es = de.staggered_did(data, outcome="employed", unit="area", time="quarter", cohort="cohort",
                          panel=False, weights="weight", bootstrap=99, seed=2,
                          base_period="universal").aggregate("dynamic", window=(-3, 3))
    got = report.section("event_study").table
    np.testing.assert_array_equal(got["estimate"].astype(float), es.to_frame()["estimate"])
    hon = de.honest_did(es, m=[0.0, 0.01])
    np.testing.assert_array_equal(report.section("sensitivity").table["conf_low"].astype(float),
                                  hon.to_frame()["conf_low"])
    assert report.results["sensitivity"].breakdown == hon.breakdown
    # the synthetic comparison on survey-weighted area-quarter means of never-piloted donors
    keep = data[(data["cohort"] == 0) | (data["area"] == "A20")]
    cells = (keep.assign(wy=keep["employed"] * keep["weight"])
             .groupby(["area", "quarter"], as_index=False)[["wy", "weight"]].sum())
    cells["employed"] = cells["wy"] / cells["weight"]
    sdid = de.synthetic_did(cells, outcome="employed", unit="area", time="quarter",
                            treated_units=["A20"], treat_time=5, replications=20, seed=3)
    syn = report.section("synthetic").table.iloc[0]
    assert abs(float(syn["estimate"]) - sdid.estimate) < 1e-12
    assert abs(float(syn["std_error"]) - sdid.std_error) < 1e-12
    head = report.section("headline").table
    assert head.iloc[0]["analysis"].startswith("primary: difference-in-differences")
    assert head.iloc[0]["estimate"] == simple.estimate


def test_true_effect_inside_the_primary_interval(report: de.Report) -> None:
    row = report.section("headline").table.iloc[0]
    assert row["conf_low"] < 0.05 < row["conf_high"]


def test_counts_of_people_are_rounded(report: de.Report, data: pd.DataFrame) -> None:
    sample = report.section("sample").table
    assert sample["n"].tolist() == [11520, 5760, 5760, 5760]  # multiples of 5 already
    assert sample["areas"].tolist() == [16, 8, 8, 8]  # areas are not people: as counted


def test_pilot_path_withheld_where_respondents_are_few() -> None:
    small = survey(seed=4, small={2: 6, 6: 12})
    rep = de.analyse(small, AnalysisPlan.from_dict(plan_with(event_study=None)))
    path = rep.section("synthetic_path").table.set_index("time")
    sup = rep.plan.disclosure.suppressed
    assert path.loc[2, "pilot"] == sup and path.loc[2, "gap"] == sup and path.loc[2, "n"] == sup
    # 12 respondents pass the threshold, but fewer than 10 with (or without) the outcome do not
    row6 = small[(small["area"] == "A20") & (small["quarter"] == 6)]["employed"]
    if min(row6.sum(), len(row6) - row6.sum()) < 10:
        assert path.loc[6, "pilot"] == sup
    assert path.loc[4, "pilot"] != sup
    log = rep.section("disclosure").table
    assert ((log["table"] == "synthetic_path") & (log["column"] == "pilot")).any()
    assert rep.section("synthetic_path").figure is not None
    # every other period's pilot value is published and rounded counts stay multiples of 5
    shown = path[path["n"] != sup]
    assert all(int(v) % 5 == 0 for v in shown["n"])


def test_primary_failure_stops_the_report_secondary_failure_is_reported(
        data: pd.DataFrame) -> None:
    bad = data.copy()
    bad.loc[0, "weight"] = 0.0
    with pytest.raises(DwpEvalError, match="weight"):
        de.analyse(bad, AnalysisPlan.from_dict(RAW))
    rep = de.analyse(data, AnalysisPlan.from_dict(plan_with(synthetic={"treat_time": 99})))
    text = " ".join(rep.section("synthetic").text)
    assert "not estimable" in text.lower()
    assert any("synthetic" in t and "not estimable" in t.lower()
               for t in rep.section("headline").text)


def test_records_do_not_apply(data: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match=r"records= .* does not apply to an area-pilot plan"):
        de.analyse(data, AnalysisPlan.from_dict(RAW), records=data)


def test_missing_column_named_by_the_plan(data: pd.DataFrame) -> None:
    with pytest.raises(DwpEvalError, match=r"'weight' \(\[area_pilot\] weights\)"):
        de.analyse(data.drop(columns="weight"), AnalysisPlan.from_dict(RAW))


def test_area_panel_plan_with_imputation_event_study() -> None:
    panel = de.datasets.area_rollout(n_areas=40, periods=12, cohorts=(5, 8), seed=3)
    raw = {"area_pilot": {"outcome": "employment_rate", "area": "area", "time": "month",
                          "cohort": "cohort", "panel": True, "primary": "event_study"},
           "event_study": {"estimator": "imputation", "window": [-3, 3], "seed": 5},
           "did": {"bootstrap": 0, "aggregations": ["simple"]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = de.analyse(panel, AnalysisPlan.from_dict(raw))
    assert "area_periods" in rep.section("sample").table.columns  # no people counted
    es = de.event_study(panel, outcome="employment_rate", unit="area", time="month",
                        cohort="cohort", window=(-3, 3), estimator="imputation", seed=5)
    np.testing.assert_allclose(rep.section("event_study").table["estimate"].astype(float),
                               es.to_frame()["estimate"], rtol=0, atol=1e-14)
    assert rep.section("headline").table.iloc[0]["analysis"].startswith("primary: event study")
    assert "sensitivity" not in [s.key for s in rep.sections]  # none by default with imputation
    assert "imputation estimator of Borusyak" in " ".join(rep.section("methods").text)


def test_report_writes_html_and_markdown(report: de.Report, tmp_path: Any) -> None:
    md = report.to_markdown()
    assert "Sensitivity to violations of parallel trends" in md
    out = report.to_html(tmp_path / "area.html")
    assert out.read_text(encoding="utf-8").count("<img") >= 4


def test_cli_runs_an_area_plan(data: pd.DataFrame, tmp_path: Any,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from dwp_eval.cli import main

    data.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "plan.toml").write_text(
        '[area_pilot]\noutcome = "employed"\narea = "area"\ntime = "quarter"\ncohort = "cohort"\n'
        'weights = "weight"\n[did]\nbootstrap = 0\naggregations = ["simple"]\n', encoding="utf-8")
    code = main(["analyse", str(tmp_path / "survey.csv"), "--plan", str(tmp_path / "plan.toml"),
                 "--out", str(tmp_path / "r.html")])
    assert code == 0
    out = capsys.readouterr().out
    assert "Pre-specified primary analysis (difference-in-differences, simple aggregation)" in out
    assert (tmp_path / "r.html").exists()


def test_example_area_plan_runs_on_lfs_areas() -> None:
    import tomllib

    from dwp_eval.datasets.plans import area_pilot_plan

    plan = AnalysisPlan.from_dict(tomllib.loads(area_pilot_plan()))
    survey_rows = de.datasets.lfs_areas(seed=123)
    a = plan.area_pilot
    assert a is not None and a.synthetic is not None
    treated = survey_rows[survey_rows["area"].isin(a.synthetic.treated)]
    assert set(treated["cohort"]) == {a.synthetic.treat_time}  # the plan's area is a last-wave area
    rep = de.analyse(survey_rows, plan)
    assert [s.key for s in rep.sections][:3] == ["headline", "sample", "did"]
    assert rep.section("sample").table["group"].tolist() == [
        "never piloted", "pilot from 5", "pilot from 9", "pilot from 13"]


def test_relative_magnitude_sensitivity(data: pd.DataFrame) -> None:
    raw = plan_with(synthetic=None, did=None)
    raw["area_pilot"]["primary"] = "event_study"
    raw["event_study"] = {"bootstrap": 0, "seed": 2, "window": [-3, 3],
                          "sensitivity": "relative_magnitude", "mbar": [0.5, 1.0]}
    rep = de.analyse(data, AnalysisPlan.from_dict(raw))
    hon = rep.results["sensitivity"]
    es = de.staggered_did(data, outcome="employed", unit="area", time="quarter", cohort="cohort",
                          panel=False, weights="weight", bootstrap=0,
                          base_period="universal").aggregate("dynamic", window=(-3, 3))
    want = de.honest_did(es, method="relative_magnitude", mbar=[0.5, 1.0])
    np.testing.assert_array_equal(rep.section("sensitivity").table["conf_low"].astype(float),
                                  want.to_frame()["conf_low"])
    assert hon.restriction == want.restriction
    assert "Mbar" in " ".join(rep.section("sensitivity").text)
