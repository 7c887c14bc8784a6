"""A cell that cannot be estimated never stops a table or a report (issue 19 item 2, issue
14): impact_table, analyse() and every output mark it "not estimable (reason)", leave it
out of the p-value adjustment of its family with a note, and leave every other row as it
would be without it. Errors of the whole table (a missing column, a bad option) still
raise."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError
from dwp_eval.report.report import Report, analyse
from dwp_eval.results.impact import NOT_ESTIMABLE
from test_report import _plan, _trial

pytestmark = pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")

COVS = ["age", "female", "months_out_of_work", "prior_earnings"]


def _bad(df: pd.DataFrame) -> pd.DataFrame:
    """The trial with an outcome constant within each arm (0 in control, 1 in treatment),
    and a 12-person subgroup (6 per arm, in one stratum, all with an outcome)."""
    out = df[df["employed_13_weeks"].notna() & df["cumulative_earnings"].notna()]
    per_arm = out.groupby(["stratum", "arm"]).size().unstack(fill_value=0)
    full = per_arm.index[(per_arm >= 2).all(axis=1)]  # no stratum without a comparison
    out = out[out["stratum"].isin(full)].copy()
    out["const_in_arms"] = np.where(out["arm"] == "control", 0.0, 1.0)
    s0 = out["stratum"].value_counts().index[0]
    tiny = np.r_[out.index[(out["stratum"] == s0) & (out["arm"] == "control")][:6],
                 out.index[(out["stratum"] == s0) & (out["arm"] == "treatment")][:6]]
    out["group"] = np.where(out.index.isin(tiny), "tiny", "large")
    return out


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _bad(_trial(n=800, seed=11))


def test_impact_table_marks_degenerate_rows_and_adjusts_the_others_alone(
    data: pd.DataFrame,
) -> None:
    args = dict(assigned="arm", control="control", treatment="treatment", strata="stratum",
                covariates=COVS, missing="drop")
    with pytest.raises(de.errors.NotEstimableError):  # the estimator itself still refuses
        de.itt(data, outcome="const_in_arms", **args)  # type: ignore[arg-type]
    tab = de.impact_table(data, outcomes=["employed_13_weeks", "const_in_arms", "prior_earnings",
                                          "cumulative_earnings"], **args)  # type: ignore[arg-type]
    good = de.impact_table(data, outcomes=["employed_13_weeks", "cumulative_earnings"],
                           **args)  # type: ignore[arg-type]
    f, g = tab.to_frame(), good.to_frame()
    assert list(f["not_estimable"]) == ["", "zero residual variance",
                                        "outcome among its covariates", ""]
    bad = f[f["not_estimable"] != ""]
    for col in ("estimate", "std_error", "p_value", "p_value_adjusted", "conf_low", "conf_high"):
        assert bad[col].isna().all()  # no number, and the column next to it says why
    assert list(bad["n_obs"]) == [len(data)] * 2
    # the other rows are what a table without the bad outcomes gives, adjusted among themselves
    kept = f[f["not_estimable"] == ""].drop(columns="not_estimable").reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, g.drop(columns="not_estimable"))
    cells = pd.DataFrame(tab._cells())
    assert list(cells["impact"][1:3]) == [f"{NOT_ESTIMABLE} (zero residual variance)",
                                         f"{NOT_ESTIMABLE} (outcome among its covariates)"]
    assert (cells.loc[1:2, ["p-value", "adjusted p-value", "95% CI"]] == "").all().all()
    notes = tab._footnotes()
    assert any(n.startswith("const_in_arms: not estimable (zero residual variance); left out of "
                            "the p-value adjustment of family 'all outcomes': itt: ") for n in notes)
    assert "not estimable (outcome among its covariates)" in tab.summary()
    assert "not estimable" in tab._repr_html_()


def test_a_subgroup_whose_covariates_are_collinear_is_a_not_estimable_cell(
    data: pd.DataFrame,
) -> None:
    covs = [*COVS, "disability", "health_condition"]
    args = dict(assigned="arm", control="control", treatment="treatment", strata="stratum",
                covariates=covs, missing="drop")
    with pytest.raises(DesignError, match="the covariates are collinear"):
        de.itt(data[data["group"] == "tiny"], outcome="employed_13_weeks", **args)  # type: ignore[arg-type]
    tab = de.impact_table(data, outcomes=["employed_13_weeks"], by="group", **args)  # type: ignore[arg-type]
    f = tab.to_frame().set_index("subgroup")
    assert f.loc["group=tiny", "not_estimable"] == "the covariates are collinear"
    assert f.loc["group=tiny", "n_obs"] == 12 and np.isnan(f.loc["group=tiny", "p_value_adjusted"])
    large = de.itt(data[data["group"] == "large"], outcome="employed_13_weeks", **args)  # type: ignore[arg-type]
    assert f.loc["group=large", "estimate"] == large.estimate
    # the only estimable subgroup row is adjusted alone: its adjusted p-value is its own
    assert f.loc["group=large", "p_value_adjusted"] == pytest.approx(large.p_value, rel=1e-12)
    # an error of the whole table is not a cell's: it still raises
    with pytest.raises(ColumnError, match="nope"):
        de.impact_table(data, outcomes=["employed_13_weeks"], by="group",
                        **dict(args, covariates=[*covs, "nope"]))  # type: ignore[arg-type]


def _plans() -> tuple[de.report.plan.AnalysisPlan, de.report.plan.AnalysisPlan]:  # type: ignore[name-defined]
    bad = _plan(
        outcomes={"primary": ["employed_13_weeks"],
                  "secondary": ["cumulative_earnings", "const_in_arms", "prior_earnings"]},
        analysis={"covariates": [*COVS, "disability", "health_condition"], "cace": True},
        subgroups={"by": ["benefit", "group"]},
    )
    good = _plan(
        outcomes={"primary": ["employed_13_weeks"], "secondary": ["cumulative_earnings"]},
        analysis={"covariates": [*COVS, "disability", "health_condition"], "cace": True},
        subgroups={"by": ["benefit"]},
    )
    return bad, good


@pytest.fixture(scope="module")
def reports(data: pd.DataFrame) -> tuple[Report, Report]:
    bad, good = _plans()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(data, bad), analyse(data, good)


def test_analyse_reports_each_bad_cell_as_not_estimable_and_goes_on(
    reports: tuple[Report, Report],
) -> None:
    rep, base = reports
    impact = rep.tables["impact"].set_index("outcome")
    assert impact.loc["const_in_arms", "not_estimable"] == "zero residual variance"
    assert impact.loc["prior_earnings", "not_estimable"] == "outcome among its covariates"
    shown = rep.section("impact").display.set_index("outcome")
    assert shown.loc["const_in_arms", "impact"] == "not estimable (zero residual variance)"
    assert shown.loc["prior_earnings", "impact"] == "not estimable (outcome among its covariates)"
    text = " ".join(rep.section("impact").text)
    assert "const_in_arms: not estimable (zero residual variance); left out of the p-value " \
           "adjustment of family 'secondary'" in text
    sub = rep.tables["subgroups"].set_index("subgroup")
    assert sub.loc["group=tiny", "not_estimable"] == "the covariates are collinear"
    sub_shown = rep.section("subgroups").display.set_index("subgroup")
    assert sub_shown.loc["group=tiny", "impact"] == "not estimable (the covariates are collinear)"
    sub_text = " ".join(rep.section("subgroups").text)
    assert "By group, employed_13_weeks, subgroup group=tiny: not estimable (the covariates are " \
           "collinear)." in sub_text
    assert " itt: " not in sub_text  # the error's counts stay out of the published text
    # every other row is exactly what the plan without the bad cells gives
    base_impact = base.tables["impact"].set_index("outcome")
    for outcome in ("employed_13_weeks", "cumulative_earnings"):
        pd.testing.assert_series_equal(impact.loc[outcome], base_impact.loc[outcome])
    base_sub = base.tables["subgroups"].set_index("subgroup")
    benefit = [s for s in base_sub.index if s.startswith("benefit=")]
    pd.testing.assert_frame_equal(sub.loc[benefit], base_sub.loc[benefit])
    pd.testing.assert_frame_equal(rep.section("mde").to_frame(), base.section("mde").to_frame())


def test_every_output_shows_the_cell_as_not_estimable_with_its_reason(
    reports: tuple[Report, Report], tmp_path: Path,
) -> None:
    rep, _ = reports
    out = rep.write(html=tmp_path / "r.html", markdown=tmp_path / "r.md", tables=tmp_path / "t")
    page = out["html"].read_text(encoding="utf-8")
    md = out["markdown"].read_text(encoding="utf-8")
    for reason in ("zero residual variance", "outcome among its covariates",
                   "the covariates are collinear"):
        assert f"not estimable ({reason})" in page
        assert f"not estimable ({reason})" in md
    impact = pd.read_csv(tmp_path / "t" / "impact.csv", keep_default_na=False)
    assert list(impact.loc[impact["outcome"] == "const_in_arms", "not_estimable"]) == [
        "zero residual variance"]
    assert impact.loc[impact["outcome"] == "const_in_arms", "p_value_adjusted"].item() == ""
    subs = pd.read_csv(tmp_path / "t" / "subgroups.csv", keep_default_na=False)
    assert subs.loc[subs["subgroup"] == "group=tiny", "not_estimable"].item() == \
        "the covariates are collinear"


def test_the_forest_plot_labels_a_row_that_is_not_estimable(data: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    tab = de.impact_table(data, outcomes=["employed_13_weeks", "const_in_arms"], assigned="arm",
                          control="control", strata="stratum", missing="drop")
    ax = tab.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["employed_13_weeks (pp)", "const_in_arms (pp) (not estimable)"]


def test_the_cace_and_the_headline_follow_the_itt_verdict(
    reports: tuple[Report, Report], capsys: pytest.CaptureFixture[str],
) -> None:
    from dwp_eval.cli.output import headline, print_headline

    rep, base = reports
    cace = rep.section("cace").display.set_index("outcome")
    assert cace.loc["const_in_arms", "CACE"] == \
        "not estimable (ITT not estimable: zero residual variance)"
    assert cace.loc["prior_earnings", "CACE"] == \
        "not estimable (ITT not estimable: outcome among its covariates)"
    base_cace = base.section("cace").display.set_index("outcome")
    pd.testing.assert_frame_equal(cace.loc[["employed_13_weeks", "cumulative_earnings"]],
                                  base_cace.loc[["employed_13_weeks", "cumulative_earnings"]])
    rows = headline(rep)
    print_headline(rows, "holm", 0.05)
    out = capsys.readouterr().out
    assert "const_in_arms" in out and "not estimable (zero residual variance)" in out
    assert "nan" not in out


def test_an_outcome_constant_in_one_arm_only_is_estimated_as_usual(data: pd.DataFrame) -> None:
    """The rule marks what has no standard error, nothing more: an outcome that is 0 for
    every control but varies among the treated has a residual variance."""
    df = data.assign(one_arm=np.where(data["arm"] == "control", 0.0, data["employed_13_weeks"]))
    tab = de.impact_table(df, outcomes=["one_arm"], assigned="arm", control="control",
                          strata="stratum", covariates=COVS, missing="drop")
    row = tab.to_frame().iloc[0]
    assert row["not_estimable"] == "" and np.isfinite(row["p_value_adjusted"])
    direct = de.itt(df, outcome="one_arm", assigned="arm", control="control", strata="stratum",
                    covariates=COVS, missing="drop")
    assert row["estimate"] == direct.estimate and row["p_value"] == direct.p_value
