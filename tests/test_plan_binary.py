"""Analysis plans that pre-specify binary_effect (scale, model, site) for an outcome and
multiple imputation of missing outcomes; the report shows the pre-specified scale first."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import DroppedRowsWarning
from dwp_eval.report.plan import AnalysisPlan, PlanError
from dwp_eval.report.report import analyse

# the report and the direct call run the same code on the same data and seed: only
# floating-point noise between identical computations may differ
EXACT = 1e-12


def _trial(n: int = 800, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": np.arange(n),
        "arm": np.tile(["control", "treatment"], n // 2),
        "stratum": rng.integers(0, 2, n),
        "office": rng.integers(0, 8, n),
        "age": rng.normal(40, 10, n).round(),
    })
    z = (df["arm"] == "treatment").to_numpy()
    office = rng.normal(0, 0.4, 8)[df["office"]]
    eta = -0.6 + 0.5 * z + 0.03 * (df["age"] - 40) + office
    df["employed"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    df.loc[rng.random(n) < 0.12, "employed"] = np.nan
    df["earnings"] = rng.normal(5000 + 400 * z, 1500).round(2)
    return df


DATA = _trial()


def _plan(analysis: dict[str, Any] | None = None, **design: Any) -> AnalysisPlan:
    return AnalysisPlan.from_dict({
        "design": {"id": "id", "assigned": "arm", "strata": "stratum", **design},
        "outcomes": {"primary": ["employed"], "secondary": ["earnings"]},
        "analysis": {"covariates": ["age"], **(analysis or {})},
    })


MI_PLAN = {"missing": "mi", "m": 3, "mi_seed": 11,
           "employed": {"estimator": "binary_effect", "scale": "odds_ratio", "site": "office"}}


# ----------------------------------------------------------------- reading


def test_defaults_are_itt_for_every_outcome_and_no_imputation() -> None:
    plan = _plan()
    assert plan.analysis_of("employed").estimator == "itt"
    assert plan.mi is None


def test_an_outcome_table_sets_binary_effect_scale_and_site() -> None:
    plan = _plan(MI_PLAN)
    a = plan.analysis_of("employed")
    assert (a.estimator, a.scale, a.model, a.site) == ("binary_effect", "odds_ratio", "logit",
                                                      "office")
    assert a.scales() == ("odds_ratio", "risk_difference", "risk_ratio")
    assert plan.analysis_of("earnings").estimator == "itt"
    assert plan.mi is not None and (plan.mi.m, plan.mi.seed, plan.mi.method) == (3, 11, None)
    assert "binary_effect" in plan.summary() and "m=3" in plan.summary()
    assert plan.columns()["[analysis] site"] == ["office"]


def test_analysis_level_keys_are_every_outcomes_default() -> None:
    plan = AnalysisPlan.from_dict({
        "design": {"assigned": "arm"}, "outcomes": {"primary": ["employed"]},
        "analysis": {"estimator": "binary_effect", "scale": "risk_ratio", "model": "probit"},
    })
    a = plan.analysis_of("employed")
    assert (a.estimator, a.scale, a.model) == ("binary_effect", "risk_ratio", "probit")
    assert a.scales() == ("risk_ratio", "risk_difference")  # no odds ratio for a probit


@pytest.mark.parametrize(("analysis", "match"), [
    ({"estimator": "logit"}, r"\[analysis\] estimator must be one of 'itt'.*Fix"),
    ({"employed": {"estimator": "binary_effect", "scale": "odds"}},
     r"\[analysis.employed\] scale must be one of .*did you mean 'odds_ratio'.*Fix"),
    ({"employed": {"estimator": "binary_effect", "model": "cloglog"}},
     r"\[analysis.employed\] model must be one of 'logit', 'probit'"),
    ({"employed": {"scale": "odds_ratio"}},
     r"\[analysis.employed\] scale applies to estimator = \"binary_effect\" only.*Fix: add "
     r"estimator"),
    ({"site": "office"}, r"\[analysis\] site applies to estimator = \"binary_effect\" only, "
                         r"and no outcome"),
    ({"employed": {"estimator": "binary_effect", "model": "probit", "scale": "odds_ratio"}},
     r"odds_ratio.*logit only.*Fix: use model = \"logit\""),
    ({"employed": {"estimator": "binary_effect", "model": "probit", "site": "office"}},
     r"site needs the logit"),
    ({"employed": {"estimator": "binary_effect", "site": 3}}, r"site must be a column name"),
    ({"employd": {"estimator": "binary_effect"}},
     r"\[analysis.employd\], but 'employd' is not an outcome.*Did you mean \[analysis.employed\]"),
    ({"employed": {"estimater": "binary_effect"}},
     r"\[analysis.employed\] has an unknown key 'estimater'.*Did you mean 'estimator'"),
    ({"m": 5}, r"\[analysis\] m applies to missing = \"mi\" only.*Fix: add missing = \"mi\""),
    ({"mi_seed": 1, "missing": "drop"}, r"\[analysis\] mi_seed applies to missing = \"mi\""),
    ({"missing": "mi"}, r"\[analysis\] mi_seed is required with missing = \"mi\".*Fix: add "
                        r"mi_seed"),
    ({"missing": "mi", "mi_seed": 1, "m": 1}, r"\[analysis\] m must be .* at least 2 .*; got 1"),
    ({"missing": "mi", "mi_seed": 1, "m": True}, r"\[analysis\] m must be"),
    ({"missing": "mi", "mi_seed": "x"}, r"\[analysis\] mi_seed must be a whole number"),
    ({"missing": "mi", "mi_seed": 1, "mi_method": "cart"},
     r"\[analysis\] mi_method must be one of 'pmm', 'norm', 'logreg'"),
    ({"missing": "mi", "mi_seed": 1, "mi_using": [1]}, r"\[analysis\] mi_using must be a list"),
    ({"missing": "impute"}, r"'missing'.*'raise', 'drop', 'mi'"),
])
def test_bad_values_name_the_section_key_and_fix(analysis: dict[str, Any], match: str) -> None:
    with pytest.raises(PlanError if "'missing'" not in match else de.errors.OptionError,
                       match=match):
        _plan(analysis)


def test_site_with_a_cluster_is_refused() -> None:
    with pytest.raises(PlanError, match=r"\[analysis\] site .*takes no cluster.*Fix: remove site"):
        _plan({"employed": {"estimator": "binary_effect", "site": "office"}}, cluster="office")


def test_check_data_refuses_binary_effect_on_a_non_binary_outcome() -> None:
    plan = AnalysisPlan.from_dict({
        "design": {"assigned": "arm"}, "outcomes": {"primary": ["earnings"]},
        "analysis": {"estimator": "binary_effect"},
    })
    with pytest.raises(PlanError, match=r"binary_effect\" needs a 0/1 outcome.*'earnings'.*Fix"):
        plan.check_data(DATA)


def test_check_data_names_a_missing_site_or_mi_using_column() -> None:
    plan = _plan({"employed": {"estimator": "binary_effect", "site": "jobcentre"}})
    with pytest.raises(de.errors.ColumnError, match=r"'jobcentre' \(\[analysis\] site\)"):
        plan.check_data(DATA)
    plan = _plan({"missing": "mi", "mi_seed": 1, "mi_using": ["agee"]})
    with pytest.raises(de.errors.ColumnError, match=r"\[analysis\] mi_using"):
        plan.check_data(DATA)


# ----------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def mi_report() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return analyse(DATA, _plan(MI_PLAN))


def test_the_report_shows_the_prespecified_odds_ratio_first(mi_report: Any) -> None:
    sec = mi_report.section("prespecified")
    assert list(sec.table["scale"]) == ["odds_ratio", "risk_difference", "risk_ratio"]
    assert list(sec.table["analysis"]) == ["pre-specified", "supporting", "supporting"]
    assert list(sec.display["scale"]) == ["odds ratio", "risk difference", "risk ratio"]
    assert sec.display["estimate"][1].endswith(" pp")  # risk difference in pp
    assert not sec.display["estimate"][0].endswith(("pp", "%"))  # a ratio has no unit
    assert set(sec.table["m"]) == {3}
    keys = [s.key for s in mi_report.sections]
    assert keys.index("prespecified") == keys.index("impact") + 1
    assert any("pre-specified analysis is the odds ratio" in t
               for t in mi_report.section("impact").text)


def test_the_reported_odds_ratio_is_the_pooled_binary_effect(mi_report: Any) -> None:
    mi = de.multiple_imputation(DATA, impute="employed", assigned="arm", using=["age"], m=3,
                                method="logreg", seed=11)
    pooled = mi.fit(de.binary_effect, outcome="employed", control="control",
                    treatment="treatment", covariates=["age"], strata="stratum",
                    site="office", scale="odds_ratio")
    assert pooled.scale == "odds_ratio"  # pooled on the log scale, shown as the ratio
    row = mi_report.section("prespecified").table.iloc[0]
    assert row["estimate"] == pytest.approx(pooled.estimate, rel=EXACT, abs=0)
    assert np.log(pooled.estimate) == pytest.approx(np.mean(pooled.estimates), rel=EXACT)
    lo, hi = pooled.interval()
    assert (row["conf_low"], row["conf_high"]) == pytest.approx((lo, hi), rel=EXACT)
    assert row["p_value"] == pytest.approx(pooled.p_value, rel=EXACT)
    assert row["df"] == pytest.approx(pooled.df, rel=EXACT)


def test_the_headline_names_the_odds_ratio(mi_report: Any) -> None:
    head = mi_report.section("headline")
    or_ = mi_report.section("prespecified").table["estimate"].iloc[0]
    assert any(f"odds ratio of {or_:.2f}" in t and "pre-specified" in t for t in head.text)
    assert any(t.startswith("Supporting scales for employed: risk difference") for t in head.text)
    assert head.table["measure"].tolist()[1] == "odds ratio"
    assert head.display["value"].tolist()[1] == f"{or_:.2f}"


def test_methods_state_the_estimator_site_and_imputation(mi_report: Any) -> None:
    text = " ".join(mi_report.section("methods").text)
    assert "random intercept for each office" in text
    assert "odds ratio" in text and "m = 3" in text and "seed 11" in text
    assert "Rubin's rules" in text and "Barnard-Rubin" in text
    settings = dict(mi_report.section("methods").table.to_numpy())
    assert settings["imputations (m)"] == "3" and settings["imputation seed"] == "11"


def test_the_report_publishes_no_counts_in_the_binary_rows(mi_report: Any) -> None:
    cols = set(mi_report.section("prespecified").table.columns)
    assert not cols & {"n", "n_obs", "n_control", "n_treatment"}
    mi_report.to_markdown()  # renders


def test_a_model_that_fails_is_marked_not_estimable_and_the_report_goes_on() -> None:
    df = DATA.assign(employed=DATA["employed"].fillna(0))
    df.loc[df["arm"] == "treatment", "employed"] = 1.0  # everyone treated employed: no logit
    plan = _plan({"employed": {"estimator": "binary_effect", "scale": "odds_ratio"}})
    rep = analyse(df, plan)
    sec = rep.section("prespecified")
    assert sec.display["estimate"].str.startswith("not estimable").all()
    assert sec.table["estimate"].isna().all()
    assert any("not estimable" in t for t in rep.section("headline").text)
    assert "impact" in [s.key for s in rep.sections]


def test_without_mi_the_binary_rows_are_binary_effect_itself() -> None:
    df = DATA.dropna(subset=["employed"])
    plan = _plan({"employed": {"estimator": "binary_effect", "scale": "risk_ratio"}})
    rep = analyse(df, plan)
    res = de.binary_effect(df, outcome="employed", assigned="arm", covariates=["age"],
                           strata="stratum", scale=["risk_ratio", "risk_difference",
                                                    "odds_ratio"])
    table = rep.section("prespecified").table
    assert table["estimate"].iloc[0] == pytest.approx(res.estimate("risk_ratio"), rel=EXACT)
    assert table["scale"].iloc[0] == "risk_ratio"


def test_every_output_of_the_report_is_written(mi_report: Any, tmp_path: Any) -> None:
    out = mi_report.write(html=tmp_path / "r.html", markdown=tmp_path / "r.md",
                          tables=tmp_path / "tables")
    page = out["html"].read_text(encoding="utf-8")
    assert "Pre-specified estimates: the plan&#x27;s scale and imputation first" in page
    assert (tmp_path / "tables" / "prespecified.csv").is_file()


def test_pooling_binary_effect_needs_one_scale_and_one_result_per_imputation() -> None:
    mi = de.multiple_imputation(DATA, impute="employed", assigned="arm", using=["age"], m=2,
                                method="logreg", seed=1)
    with pytest.raises(de.errors.OptionError, match=r"Rubin's rules pool one at a time\. Fix: "
                                                    r"pass scale="):
        mi.fit(de.binary_effect, outcome="employed")
    fits = [de.binary_effect(d, outcome="employed", assigned="arm") for d in mi]
    with pytest.raises(de.errors.OptionError, match=r"one per completed dataset\. Got list of 1"):
        mi.pool(fits[:1])
    rd = mi.pool(fits, scale="risk_difference")
    direct = mi.fit(de.binary_effect, outcome="employed", scale="risk_difference")
    assert rd.scale == "risk_difference"
    assert rd.estimate == pytest.approx(direct.estimate, rel=EXACT)
    assert rd.std_error == pytest.approx(direct.std_error, rel=EXACT)


def test_the_prespecified_p_value_is_adjusted_within_its_family() -> None:
    df = DATA.dropna(subset=["employed"])
    plan = AnalysisPlan.from_dict({
        "design": {"assigned": "arm", "strata": "stratum"},
        "outcomes": {"primary": ["employed", "earnings"]},
        "analysis": {"covariates": ["age"],
                     "employed": {"estimator": "binary_effect", "scale": "odds_ratio"}},
    })
    rep = analyse(df, plan)
    table = rep.section("prespecified").table
    itt_p = rep.results["impact"].effects[1].p_value  # earnings, the other primary outcome
    want = de.adjust_p_values([table["p_value"].iloc[0], itt_p], method="holm")[0]
    assert table["p_value_adjusted"].iloc[0] == pytest.approx(want, rel=EXACT)
    assert table["p_value_adjusted"].iloc[1:].isna().all()  # supporting rows are not adjusted


def test_with_mi_an_itt_outcome_is_pooled_over_the_imputations() -> None:
    df = DATA.copy()
    df.loc[df.index % 9 == 0, "earnings"] = np.nan
    plan = AnalysisPlan.from_dict({
        "design": {"assigned": "arm", "strata": "stratum"},
        "outcomes": {"primary": ["earnings"]},
        "analysis": {"covariates": ["age"], "missing": "mi", "m": 3, "mi_seed": 4},
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        rep = analyse(df, plan)
    mi = de.multiple_imputation(df, impute="earnings", assigned="arm", using=["age"], m=3,
                                method="pmm", seed=4)
    pooled = mi.fit(de.itt, outcome="earnings", control="control", treatment="treatment",
                    covariates=["age"], strata="stratum")
    row = rep.section("prespecified").table.iloc[0]
    assert (row["scale"], row["analysis"], row["m"]) == ("itt", "pre-specified", 3)
    assert row["estimate"] == pytest.approx(pooled.estimate, rel=EXACT)
    assert row["p_value"] == pytest.approx(pooled.p_value, rel=EXACT)
    head = " ".join(rep.section("headline").text)
    assert "gave an ITT effect of +£" in head and "pooled over 3 imputations" in head
    assert rep.section("headline").table["measure"].tolist()[1] == "ITT"


def test_the_prespecified_rows_change_no_other_published_table() -> None:
    from small_cells import small_cell_plan, small_cell_trial

    data = small_cell_trial()
    raw = small_cell_plan().to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = analyse(data, AnalysisPlan.from_dict(raw))
        raw["analysis"]["employed"] = {"estimator": "binary_effect", "scale": "risk_ratio"}
        after = analyse(data, AnalysisPlan.from_dict(raw))
    old, new = before.tables, after.tables
    assert set(new) - set(old) == {"prespecified"}
    for key in old:
        if key not in ("headline", "methods", "disclosure"):
            pd.testing.assert_frame_equal(new[key], old[key])
    pd.testing.assert_frame_equal(new["disclosure"], old["disclosure"])  # nothing new withheld
    published = new["prespecified"]
    assert not set(published.columns) & {"n", "n_obs", "n_control", "n_treatment", "count"}
    assert published["scale"].tolist()[0] == "risk_ratio"


def test_a_toml_file_with_an_outcome_table_reads(tmp_path: Any) -> None:
    path = tmp_path / "plan.toml"
    path.write_text("""
[design]
assigned = "arm"

[outcomes]
primary = ["employed_13_weeks"]
secondary = ["cumulative_earnings"]

[analysis]
covariates = ["age", "prior_earnings"]
missing = "mi"
m = 20
mi_seed = 20240101

[analysis.employed_13_weeks]
estimator = "binary_effect"
scale = "odds_ratio"
site = "office"
""", encoding="utf-8")
    plan = AnalysisPlan.read(path)
    assert plan.analysis_of("employed_13_weeks").site == "office"
    assert plan.analysis_of("cumulative_earnings").estimator == "itt"
    assert plan.mi is not None and plan.mi.seed == 20240101
    assert plan.to_dict()["analysis"]["employed_13_weeks"]["scale"] == "odds_ratio"


def test_a_bad_default_is_named_in_analysis_not_in_the_outcome_table() -> None:
    with pytest.raises(PlanError, match=r"Analysis plan \[analysis\] scale must be one of"):
        _plan({"scale": "odds", "employed": {"estimator": "binary_effect"}})
