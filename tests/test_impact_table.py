"""``impact_table``: rows equal ``itt`` calls exactly (overall and on subgroup subsets),
adjusted p-values within families, the heterogeneity test against statsmodels, Romano-Wolf,
errors from ``itt`` propagating unchanged, bad input (messages pinned), missing data, and
the ``EffectTable`` result (frame, text, HTML, forest plot, immutability).
"""

from __future__ import annotations

import dataclasses
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.estimate.itt import DroppedRowsWarning
from dwp_eval.estimate.multiplicity import adjust_p_values
from dwp_eval.report.impact import impact_table
from dwp_eval.results import HETEROGENEITY_COLUMNS, IMPACT_COLUMNS, EffectTable
from dwp_eval.results.impact import ALL

# The heterogeneity test against statsmodels: the same least squares and HC2/CR1 formulas,
# with strata absorbed here and entered as dummies there, so only rounding differs (~1e-12).
RTOL = 1e-8

OUTCOMES = ["employed", "earnings", "days"]

# columns of a table row that must equal the corresponding itt result exactly
SAME_AS_ITT = [
    "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "df", "n_obs",
    "n_control", "n_treatment", "control_mean", "treatment_mean", "se_type", "design", "estimand",
]


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    """600 people in 60 offices (clusters) within 6 strata; people randomised within strata
    (``arm``), offices randomised within strata (``arm_c``); a 3-level subgroup, covariates,
    and binary and continuous outcomes with effects that differ by condition."""
    rng = np.random.default_rng(20240601)
    n = 600
    df = pd.DataFrame(
        {
            "office": np.repeat(np.arange(60), 10),
            "stratum": np.repeat(np.arange(6), 100),
            "condition": rng.choice(["mental_health", "musculoskeletal", "other"], n, p=[0.4, 0.3, 0.3]),
            "age": rng.integers(18, 65, n),
            "female": rng.integers(0, 2, n),
        }
    )
    df["arm"] = np.concatenate([rng.permutation(np.repeat(["control", "treatment"], 50)) for _ in range(6)])
    office_arm = np.concatenate([rng.permutation(np.repeat(["control", "treatment"], 5)) for _ in range(6)])
    df["arm_c"] = office_arm[df["office"]]
    t = (df["arm"] == "treatment").to_numpy()
    mh = (df["condition"] == "mental_health").to_numpy()
    shock = rng.normal(0, 0.05, 60)[df["office"]]
    df["employed"] = (rng.random(n) < 0.25 + 0.08 * t - 0.05 * mh + shock).astype(int)
    df["earnings"] = np.round(rng.gamma(2, 1500, n) * (1 + 0.2 * t * ~mh), 2)
    df["days"] = np.clip(rng.normal(280 - 15 * t, 40, n), 0, 365).round()
    return df


# --------------------------------------------------------------------------- rows = itt


DESIGNS = {
    "standard": dict(assigned="arm"),
    "blocked": dict(assigned="arm", strata="stratum"),
    "clustered": dict(assigned="arm_c", cluster="office"),
    "block-clustered": dict(assigned="arm_c", cluster="office", strata="stratum"),
    "covariates": dict(assigned="arm", strata="stratum", covariates=["age", "female"]),
    "additive CR2": dict(assigned="arm_c", cluster="office", covariates=["age"], adjustment="additive"),
    "HC1": dict(assigned="arm", se_type="HC1"),
}


def _row(frame: pd.DataFrame, outcome: str, subgroup: str) -> pd.Series:
    hit = frame[(frame["outcome"] == outcome) & (frame["subgroup"] == subgroup)]
    assert len(hit) == 1
    return hit.iloc[0]


def _assert_row_is(row: pd.Series, effect: de.Effect) -> None:
    ref = effect.to_frame().iloc[0]
    for col in SAME_AS_ITT:
        assert row[col] == ref[col], (col, row[col], ref[col])


@pytest.mark.parametrize("design", list(DESIGNS))
def test_rows_equal_itt_exactly(trial, design):
    kw = DESIGNS[design]
    tab = impact_table(trial, outcomes=OUTCOMES, **kw)
    frame = tab.to_frame()
    assert list(frame.columns) == IMPACT_COLUMNS
    assert frame["outcome"].tolist() == OUTCOMES
    assert frame["subgroup"].tolist() == ["all"] * 3
    for o in OUTCOMES:
        _assert_row_is(_row(frame, o, "all"), de.itt(trial, outcome=o, **kw))


@pytest.mark.parametrize("design", ["standard", "blocked", "covariates"])
def test_subgroup_rows_equal_itt_on_the_subset(trial, design):
    kw = DESIGNS[design]
    tab = impact_table(trial, outcomes=OUTCOMES, by="condition", **kw)
    frame = tab.to_frame()
    levels = ["mental_health", "musculoskeletal", "other"]
    assert len(frame) == len(OUTCOMES) * (1 + len(levels))
    # order: each outcome's overall row, then its subgroups in sorted order
    assert frame["subgroup"].tolist()[:4] == ["all"] + [f"condition={lev}" for lev in levels]
    for o in OUTCOMES:
        _assert_row_is(_row(frame, o, "all"), de.itt(trial, outcome=o, **kw))
        for lev in levels:
            subset = trial[trial["condition"] == lev]
            _assert_row_is(_row(frame, o, f"condition={lev}"), de.itt(subset, outcome=o, **kw))


def test_subgroups_of_a_cluster_design(trial):
    # female varies within offices: subgroup rows are itt on the subset (fewer people per office)
    kw = DESIGNS["clustered"]
    frame = impact_table(trial, outcomes=["employed"], by="female", **kw).to_frame()
    for lev in (0, 1):
        _assert_row_is(_row(frame, "employed", f"female={lev}"), de.itt(trial[trial["female"] == lev], outcome="employed", **kw))


# --------------------------------------------------------------------------- corrections


def test_holm_within_the_default_family(trial):
    tab = impact_table(trial, outcomes=OUTCOMES, assigned="arm", strata="stratum")
    frame = tab.to_frame()
    assert frame["family"].unique().tolist() == ["all outcomes"]
    assert frame["correction"].unique().tolist() == ["holm"]
    np.testing.assert_array_equal(frame["p_value_adjusted"], adjust_p_values(frame["p_value"], method="holm"))


@pytest.mark.parametrize("correction", ["holm", "bonferroni", "bh", "none"])
def test_corrections_apply_within_each_family(trial, correction):
    family = {"primary": ["employed"], "secondary": ["earnings", "days"]}
    tab = impact_table(
        trial, outcomes=OUTCOMES, assigned="arm", strata="stratum", by="condition",
        family=family, correction=correction,
    )
    frame = tab.to_frame()
    expected_families = {"primary", "secondary", "employed by condition", "earnings by condition", "days by condition"}
    assert set(frame["family"]) == expected_families
    for _, rows in frame.groupby("family"):
        np.testing.assert_array_equal(
            rows["p_value_adjusted"], adjust_p_values(rows["p_value"], method=correction)
        )
    # a primary family of one outcome is not adjusted at all
    primary = frame[frame["family"] == "primary"].iloc[0]
    assert primary["p_value_adjusted"] == primary["p_value"]


def test_romano_wolf_correction(trial):
    args = dict(
        outcomes=OUTCOMES, assigned="arm", strata="stratum", by="female",
        correction="romano_wolf", draws=499,
    )
    a = impact_table(trial, **args, seed=7).to_frame()
    b = impact_table(trial, **args, seed=7).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert (a["p_value_adjusted"] >= a["p_value"]).all()
    overall = a[a["subgroup"] == "all"]
    # the overall family equals romano_wolf on the same outcomes and draws (same seed)
    rw = de.estimate.multiplicity.romano_wolf(
        trial, outcomes=OUTCOMES, assigned="arm", strata="stratum", draws=499, seed=7
    )
    expected = np.maximum(rw.p_value_adjusted, [e.p_value for e in rw.effects])
    np.testing.assert_array_equal(overall["p_value_adjusted"], expected)
    assert "Romano-Wolf p-values from 499 bootstrap draws" in impact_table(trial, **args, seed=7).summary()


def test_romano_wolf_needs_a_seed(trial):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "impact_table: correction='romano_wolf' resamples the data, so it needs seed=. Fix: "
            "pass a recorded integer, e.g. seed=20240601, so the adjusted p-values can be reproduced."
        ),
    ):
        impact_table(trial, outcomes=OUTCOMES, assigned="arm", correction="romano_wolf")


# --------------------------------------------------------------------------- heterogeneity


def _sm_design(trial, outcome, *, strata=False, covariates=()):
    """The interaction model with explicit dummies, for statsmodels."""
    z = (trial["arm"] == "treatment").to_numpy(dtype=float)
    d = pd.get_dummies(trial["condition"], dtype=float)
    X = pd.DataFrame({f"z:{c}": z * d[c] for c in d.columns})
    for c in d.columns[1:]:
        X[c] = d[c]
    for c in covariates:
        X[c] = trial[c].astype(float)
    if strata:
        s = pd.get_dummies(trial["stratum"], prefix="s", dtype=float)
        X = pd.concat([X, s.iloc[:, 1:]], axis=1)
    X = sm.add_constant(X)
    R = np.zeros((2, X.shape[1]))
    R[0, 1], R[0, 2] = -1, 1
    R[1, 1], R[1, 3] = -1, 1
    return trial[outcome].to_numpy(dtype=float), X, R


@pytest.mark.parametrize(
    ("strata", "covariates"), [(False, ()), (True, ()), (True, ("age", "female"))], ids=["plain", "strata", "covariates"]
)
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_heterogeneity_matches_statsmodels_hc2(trial, outcome, strata, covariates):
    tab = impact_table(
        trial, outcomes=[outcome], assigned="arm", by="condition",
        strata="stratum" if strata else None, covariates=list(covariates) or None,
    )
    het = tab.heterogeneity
    assert list(het.columns) == HETEROGENEITY_COLUMNS
    row = het.iloc[0]
    y, X, R = _sm_design(trial, outcome, strata=strata, covariates=covariates)
    res = sm.OLS(y, X).fit(cov_type="HC2")
    ft = res.f_test(R)
    np.testing.assert_allclose(row["statistic"], float(np.squeeze(ft.fvalue)), rtol=RTOL)
    np.testing.assert_allclose(row["p_value"], float(ft.pvalue), rtol=RTOL)
    assert row["df_num"] == ft.df_num == 2
    assert row["df_denom"] == ft.df_denom
    wt = res.wald_test(R, use_f=False, scalar=True)
    np.testing.assert_allclose(row["wald_statistic"], float(wt.statistic), rtol=RTOL)
    assert row["se_type"] == "HC2" and row["n_subgroups"] == 3 and row["n_obs"] == len(trial)


def test_heterogeneity_with_clusters_matches_statsmodels_cr1(trial):
    # statsmodels' cluster covariance is CR1 and its F test uses G - 1 denominator df, as here
    tab = impact_table(trial, outcomes=["earnings"], assigned="arm_c", cluster="office", by="condition", se_type="CR1")
    row = tab.heterogeneity.iloc[0]
    t2 = trial.assign(arm=trial["arm_c"])
    y, X, R = _sm_design(t2, "earnings")
    ft = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": trial["office"]}).f_test(R)
    np.testing.assert_allclose(row["statistic"], float(np.squeeze(ft.fvalue)), rtol=RTOL)
    np.testing.assert_allclose(row["p_value"], float(ft.pvalue), rtol=RTOL)
    assert row["df_denom"] == ft.df_denom == 59
    # the default with clusters is CR2
    assert impact_table(trial, outcomes=["earnings"], assigned="arm_c", cluster="office", by="condition").heterogeneity.iloc[0]["se_type"] == "CR2"


def test_heterogeneity_when_strata_span_the_subgroups(trial):
    # subgroups are unions of strata: their main effects are absorbed by the strata
    t2 = trial.assign(region=np.where(trial["stratum"] < 3, "north", "south"))
    het = impact_table(t2, outcomes=["days"], assigned="arm", strata="stratum", by="region").heterogeneity
    assert "left out (already spanned): region=south" in het.iloc[0]["method"]
    z = (t2["arm"] == "treatment").to_numpy(dtype=float)
    south = (t2["region"] == "south").to_numpy(dtype=float)
    X = pd.DataFrame({"z_n": z * (1 - south), "z_s": z * south})
    X = pd.concat([X, pd.get_dummies(t2["stratum"], prefix="s", dtype=float)], axis=1)
    ft = sm.OLS(t2["days"].to_numpy(dtype=float), X).fit(cov_type="HC2").f_test(np.r_[-1.0, 1.0, np.zeros(6)][None, :])
    np.testing.assert_allclose(het.iloc[0]["statistic"], float(np.squeeze(ft.fvalue)), rtol=RTOL)


def test_heterogeneity_when_by_is_also_a_covariate(trial):
    het = impact_table(trial, outcomes=["days"], assigned="arm", by="female", covariates=["female", "age"]).heterogeneity
    assert "left out (already spanned): female" in het.iloc[0]["method"]


def test_subgroup_rows_leave_out_covariates_constant_in_the_subgroup(trial):
    tab = impact_table(trial, outcomes=["days"], assigned="arm", by="female", covariates=["female", "age"])
    frame = tab.to_frame()
    _assert_row_is(_row(frame, "days", "all"), de.itt(trial, outcome="days", assigned="arm", covariates=["female", "age"]))
    for lev in (0, 1):
        ref = de.itt(trial[trial["female"] == lev], outcome="days", assigned="arm", covariates=["age"])
        _assert_row_is(_row(frame, "days", f"female={lev}"), ref)
    assert tab.notes == (
        "subgroup female=0: 'female' left out of the covariates (constant within the subgroup)",
        "subgroup female=1: 'female' left out of the covariates (constant within the subgroup)",
    )
    assert tab.notes[0] in tab.summary()


def test_romano_wolf_for_subgroups_with_covariates_and_clusters(trial):
    t2 = trial.assign(region=np.where(trial["stratum"] < 3, "north", "south"))
    for kw in (
        dict(assigned="arm", by="female", covariates=["female", "age"]),
        dict(assigned="arm_c", cluster="office", strata="stratum", by="region"),
    ):
        frame = impact_table(t2, outcomes=["employed", "days"], correction="romano_wolf", draws=99, seed=3, **kw).to_frame()
        assert (frame["p_value_adjusted"] >= frame["p_value"]).all()
        assert (frame["p_value_adjusted"] <= 1).all()


def test_no_heterogeneity_without_by(trial):
    assert impact_table(trial, outcomes=["days"], assigned="arm").heterogeneity is None


# --------------------------------------------------------------------------- errors from itt


def test_variance_cluster_passes_through_to_itt(trial):
    # people, not offices, were randomised in 'arm': the offices cluster the variance only
    tab = impact_table(trial, outcomes=OUTCOMES, assigned="arm", cluster="office")
    direct = de.itt(trial, outcome="employed", assigned="arm", cluster="office")
    assert direct.cluster_role == "variance"
    row = tab.to_frame().set_index("outcome").loc["employed"]
    assert row["std_error"] == pytest.approx(direct.std_error)


def test_missing_outcome_error_propagates_unchanged(trial):
    t2 = trial.copy()
    t2.loc[[1, 2], "earnings"] = np.nan
    with pytest.raises(
        MissingDataError,
        match=re.escape("itt: column 'earnings' (outcome) has 2 missing value(s) among the 600 rows"),
    ) as info:
        impact_table(t2, outcomes=OUTCOMES, assigned="arm")
    assert "(raised by impact_table for outcome 'earnings')" in info.value.__notes__


def test_a_subgroup_cell_that_cannot_be_estimated_says_which_row_and_why(trial):
    t2 = trial.assign(tiny=np.where(np.arange(len(trial)) == 0, "x", "y"))
    tab = impact_table(t2, outcomes=["days"], assigned="arm", by="tiny")
    f = tab.to_frame().set_index("subgroup")
    assert f.loc["tiny=x", "not_estimable"] == "fewer than two per arm"
    assert tab.effects[1].notes[0].startswith(
        "impact_table: the effect on outcome 'days' is not estimable (fewer than two per arm): "
        "in outcome 'days', subgroup tiny=x the arms hold ")
    # the heterogeneity test needs two estimable subgroups: it says why it is not computed
    het = tab.heterogeneity
    assert np.isnan(het["p_value"].item())
    assert het["method"].item().startswith("not computed (fewer than two estimable subgroups): "
                                          "impact_table: only 1 subgroup(s) of 'tiny' have an estimable effect on 'days'")


def test_errors_of_the_whole_table_say_which_row(trial):
    with pytest.raises(DesignError) as info:
        impact_table(trial.assign(c="k"), outcomes=["days"], assigned="arm", cluster="c")
    assert info.value.__notes__ == ["(raised by impact_table for outcome 'days')"]


# --------------------------------------------------------------------------- bad input


def test_unknown_correction_lists_the_valid_ones(trial):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'correction' parameter of impact_table must be one of 'holm', 'bonferroni', "
            "'bh', 'romano_wolf', 'none'. Got 'holms' instead. Did you mean 'holm'?"
        ),
    ):
        impact_table(trial, outcomes=OUTCOMES, assigned="arm", correction="holms")


def test_outcome_listed_twice(trial):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'outcomes' parameter of impact_table must name each outcome once; 'earnings' "
            "appear(s) more than once. Fix: remove the repeats."
        ),
    ):
        impact_table(trial, outcomes=["employed", "earnings", "earnings"], assigned="arm")


def test_family_naming_an_outcome_not_in_outcomes(trial):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'family' parameter of impact_table names 'benefit_days' (in family 'secondary'), "
            "which is not in outcomes ('employed', 'earnings', 'days'). Fix: add it to outcomes= "
            "or remove it from the family."
        ),
    ):
        impact_table(
            trial, outcomes=OUTCOMES, assigned="arm",
            family={"primary": ["employed"], "secondary": ["earnings", "days", "benefit_days"]},
        )


def test_family_must_cover_each_outcome_once(trial):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'family' parameter of impact_table leaves 'days' in no family. Fix: add each "
            "outcome to a family"
        ),
    ):
        impact_table(trial, outcomes=OUTCOMES, assigned="arm", family={"primary": ["employed", "earnings"]})
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'family' parameter of impact_table puts 'days' in two families ('a' and 'b'); "
            "each outcome belongs to one family."
        ),
    ):
        impact_table(trial, outcomes=OUTCOMES, assigned="arm", family={"a": ["employed", "days"], "b": ["earnings", "days"]})


def test_by_column_missing(trial):
    with pytest.raises(
        ColumnError,
        match=re.escape(
            "impact_table: column 'conditon' (by) is not in the data. Did you mean 'condition'? "
            "Columns present: "
        ),
    ):
        impact_table(trial, outcomes=OUTCOMES, assigned="arm", by="conditon")


def test_by_with_one_level(trial):
    with pytest.raises(
        DesignError,
        match=re.escape("impact_table: column 'one' (by) takes 1 value(s) ('x'); subgroups need at least two."),
    ):
        impact_table(trial.assign(one="x"), outcomes=OUTCOMES, assigned="arm", by="one")


def test_outcome_column_missing(trial):
    with pytest.raises(
        ColumnError, match=re.escape("impact_table: column 'earning' (outcomes) is not in the data. Did you mean 'earnings'?")
    ):
        impact_table(trial, outcomes=["employed", "earning"], assigned="arm")


# --------------------------------------------------------------------------- missing data


def test_missing_drop_records_counts_per_outcome(trial):
    t2 = trial.copy()
    t2.loc[[1, 2, 3], "earnings"] = np.nan
    t2.loc[[4], "days"] = np.nan
    with pytest.warns(DroppedRowsWarning) as record:
        tab = impact_table(t2, outcomes=OUTCOMES, assigned="arm", missing="drop")
    messages = [str(w.message) for w in record]
    assert any("3 row(s) with missing values dropped (3 with missing earnings)" in m for m in messages)
    frame = tab.to_frame()
    assert frame["n_obs"].tolist() == [600, 597, 599]
    dropped = tab.dropped
    assert dropped.to_dict("records") == [
        {"outcome": "earnings", "subgroup": "all", "column": "earnings", "n_dropped": 3},
        {"outcome": "days", "subgroup": "all", "column": "days", "n_dropped": 1},
    ]
    assert "earnings: 3 row(s) with missing earnings dropped" in tab.summary()


def test_missing_by(trial):
    t2 = trial.copy()
    t2["condition"] = t2["condition"].astype(object)
    t2.loc[[5, 6], "condition"] = None
    with pytest.raises(
        MissingDataError,
        match=re.escape("impact_table: column 'condition' (by) has 2 missing value(s). Fix: fill them"),
    ):
        impact_table(t2, outcomes=["days"], assigned="arm", by="condition")
    with pytest.warns(DroppedRowsWarning, match=re.escape("2 row(s) with missing condition are left out of the subgroup rows")):
        tab = impact_table(t2, outcomes=["days"], assigned="arm", by="condition", missing="drop")
    frame = tab.to_frame()
    assert frame["n_obs"].tolist()[0] == 600
    assert frame["n_obs"].iloc[1:].sum() == 598
    assert tab.by_missing == 2 and tab.heterogeneity.iloc[0]["n_obs"] == 598
    assert "2 row(s) with missing condition are in no subgroup row" in tab.summary()


# --------------------------------------------------------------------------- the result


@pytest.fixture(scope="module")
def table(trial) -> EffectTable:
    return impact_table(trial, outcomes=OUTCOMES, assigned="arm", strata="stratum", by="condition")


def test_summary_text(table):
    text = table.summary()
    lines = text.splitlines()
    assert lines[0] == (
        "ITT impact of treatment vs control (95% confidence intervals; p-values adjusted within "
        "families: Holm (1979))"
    )
    assert lines[1].split() == [
        "outcome", "subgroup", "control", "mean", "treatment", "mean", "impact", "95%", "CI",
        "p-value", "adjusted", "p-value", "n",
    ]
    employed = lines[2]
    e = table.effects[0]
    assert employed.startswith("employed  all")
    assert f"{100 * e.control_mean:.1f}%" in employed and f"{100 * e.estimate:+.1f} pp" in employed
    assert "0/1 outcomes: means in %, impacts and intervals in percentage points (pp)" in text
    assert "heterogeneity by condition, employed: F(2, " in text
    assert str(table) == text


def test_html_and_repr(table):
    page = table._repr_html_()
    assert page.startswith("<p><strong>ITT impact of treatment vs control")
    assert "<table" in page and "adjusted p-value" in page and "condition=other" in page
    assert repr(table) == "<EffectTable 12 rows: 3 outcome(s) by condition, correction holm>"


def test_conf_int(table):
    ci = table.conf_int(0.1)
    e = table.effects[1]
    assert (ci.loc[1, "conf_low"], ci.loc[1, "conf_high"]) == e.interval(0.1)
    frame = table.to_frame()
    np.testing.assert_array_equal(table.conf_int()["conf_low"], frame["conf_low"])


def test_table_is_read_only(table):
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.correction = "none"  # type: ignore[misc]
    het = table.heterogeneity
    het.loc[0, "p_value"] = -1.0
    assert table.heterogeneity.loc[0, "p_value"] != -1.0
    frame = table.to_frame()
    frame.loc[0, "estimate"] = 99.0
    assert table.to_frame().loc[0, "estimate"] != 99.0


def test_forest_plot_has_one_marker_per_row(table):
    # outcomes in different units (pp, earnings, days): one panel per unit, never one axis
    ax = table.plot()
    panels = ax.figure.axes
    assert len(panels) == 3 and ax is panels[0]
    x = np.concatenate([p.containers[0].lines[0].get_xdata() for p in panels])
    assert len(x) == len(table) == 12
    scale = np.array([100.0 if e.binary_outcome else 1.0 for e in table.effects])
    np.testing.assert_allclose(x, table.to_frame()["estimate"] * scale)
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["employed (pp)", "    condition=mental_health"]
    assert any(list(line.get_xdata()) == [0.0, 0.0] for line in ax.get_lines())  # zero line
    plt.close(ax.figure)
    fig, ax0 = plt.subplots()
    with pytest.raises(OptionError, match=r"different units on separate panels \('pp', "
                       r"'earnings', 'days'\), which one 'ax' cannot hold"):
        table.plot(ax=ax0)
    assert table.plot(ax=ax0, outcome="employed") is ax0
    plt.close(fig)


def test_forest_plot_of_one_outcome(table):
    ax = table.plot(outcome="earnings")
    (container,) = ax.containers
    assert len(container.lines[0].get_xdata()) == 4
    assert ax.get_xlabel() == "earnings (95% CI)"
    plt.close(ax.figure)
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'outcome' parameter of EffectTable.plot must be one of 'employed', 'earnings', "
            "'days'. Got 'earning' instead."
        ),
    ):
        table.plot(outcome="earning")


# --------------------------------------------------------------------------- several arms (issue 13)

REF = __import__("pathlib").Path(__file__).parent / "reference" / "impact"
# Dunnett p-values: ours integrate the one-factor form to ~1e-9, multcomp's pmvt and
# scipy's dunnett are quasi-Monte Carlo (abseps 1e-6 and scipy's default)
DUNNETT_TOL = 1e-4


@pytest.fixture(scope="module")
def multiarm() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "multiarm.csv")


def test_three_arm_trial_gives_every_arm_against_control_in_one_table(multiarm):
    three = multiarm[multiarm["arm"] != "c"]
    tab = impact_table(three, outcomes=["y1", "y2"], assigned="arm")
    f = tab.to_frame()
    assert list(zip(f["outcome"], f["treatment"], strict=True)) == [
        ("y1", "a"), ("y1", "b"), ("y2", "a"), ("y2", "b")
    ]
    for row in f.itertuples(index=False):
        ref = de.itt(three, outcome=row.outcome, assigned="arm", treatment=row.treatment)
        assert row.estimate == ref.estimate and row.p_value == ref.p_value
    # no arm correction: every outcome x arm row is one hypothesis of the family
    assert f["p_value_adjusted"].tolist() == pytest.approx(
        adjust_p_values(f["p_value"].to_numpy(), "holm").tolist(), abs=0)
    assert (f["p_value_arms"] == f["p_value"]).all() and f["arm_correction"].isna().all()
    assert "a vs control" in tab.summary() and "each arm (a, b) vs control" in tab.summary()
    assert tab.conf_int()["term"].tolist() == ["a vs control", "b vs control"] * 2


def test_holm_across_arms_then_across_outcomes_arm_by_arm(multiarm):
    tab = impact_table(multiarm, outcomes=["y1", "y2"], assigned="arm", arm_correction="holm")
    f = tab.to_frame()
    for o in ("y1", "y2"):
        rows = f[f["outcome"] == o]
        np.testing.assert_allclose(rows["p_value_arms"], adjust_p_values(rows["p_value"], "holm"))
    for arm in ("a", "b", "c"):
        rows = f[f["treatment"] == arm]
        np.testing.assert_allclose(rows["p_value_adjusted"], adjust_p_values(rows["p_value_arms"], "holm"))
    assert "across arms: Holm (1979)" in tab.summary()


def _multcomp(dataset: str, outcome: str, df_rule: str | None = None) -> pd.DataFrame:
    ref = pd.read_csv(REF / "multcomp_results.csv")
    pick = (ref["dataset"] == dataset) & (ref["outcome"] == outcome)
    if df_rule is not None:
        pick &= ref["df_rule"] == df_rule
    return ref[pick]


@pytest.mark.parametrize("outcome", ["y1", "y2"])
def test_dunnett_matches_multcomp_with_hc2(multiarm, outcome):
    """Four heteroskedastic arms: the statistics and their correlation are multcomp's
    glht(mcp(arm = "Dunnett")) with the HC2 covariance of lm(y ~ arm) (to 1e-10), and our
    multivariate-t p-values at multcomp's (integer) df are its single-step p-values."""
    from dwp_eval.estimate.multiplicity import dunnett_p_values

    r = _multcomp("multiarm", outcome)
    k = len(r)
    corr_ref = r[[f"corr_{j}" for j in range(1, k + 1)]].to_numpy()
    tab = impact_table(multiarm, outcomes=[outcome], assigned="arm", arm_correction="dunnett")
    rows = [row for row in _rows(tab) if row.subgroup == ALL]
    np.testing.assert_allclose([x.effect.statistic for x in rows], r["statistic"], rtol=1e-10)
    lam = np.array([_lambda(multiarm, x) for x in rows])
    corr = np.outer(np.sqrt(lam), np.sqrt(lam))
    np.fill_diagonal(corr, 1.0)
    np.testing.assert_allclose(corr, corr_ref, rtol=1e-10)
    p_at_ref_df = dunnett_p_values(r["statistic"], corr_ref, df=float(r["df"].iloc[0]))
    np.testing.assert_allclose(p_at_ref_df, r["p_value_dunnett"], atol=DUNNETT_TOL)
    # the table itself uses the smallest Welch df of the contrasts (not an integer)
    f = tab.to_frame()
    np.testing.assert_allclose(
        f["p_value_arms"], dunnett_p_values(f["statistic"], corr, df=f["df"].min()), rtol=1e-12
    )
    assert f["df"].min() > r["df"].iloc[0]  # multcomp's floor of it
    np.testing.assert_allclose(f["p_value_adjusted"], f["p_value_arms"])  # one outcome


def test_dunnett_end_to_end_matches_multcomp_and_scipy_on_the_classical_model():
    """Equal sample variances in every arm and classical standard errors: the rows'
    statistics are scipy.stats.dunnett's (pooled one-way ANOVA); the table's Dunnett
    p-values (df = smallest two-arm df, an integer here) are multcomp's at that df; and at
    the one-way ANOVA's df = N - 3 our p-values are scipy's and multcomp's."""
    from dwp_eval.estimate.multiplicity import dunnett_p_values

    h = pd.read_csv(REF / "data" / "homoskedastic.csv")
    sc = pd.read_csv(REF / "scipy_dunnett.csv")
    tab = impact_table(h, outcomes=["y"], assigned="arm", se_type="classical",
                       arm_correction="dunnett")
    f = tab.to_frame()
    np.testing.assert_allclose(f["statistic"], sc["statistic"], rtol=1e-12)
    mc = _multcomp("homoskedastic", "y", "min two-arm df")
    assert f["df"].min() == mc["df"].iloc[0]
    np.testing.assert_allclose(f["p_value_arms"], mc["p_value_dunnett"], atol=DUNNETT_TOL)
    corr = np.array([[1.0, sc["rho"][0]], [sc["rho"][0], 1.0]])
    ours = dunnett_p_values(sc["statistic"], corr, df=float(sc["df"][0]))
    np.testing.assert_allclose(ours, sc["p_value_dunnett"], atol=DUNNETT_TOL)
    anova = _multcomp("homoskedastic", "y", "N - 3")
    np.testing.assert_allclose(ours, anova["p_value_dunnett"], atol=DUNNETT_TOL)


def _rows(tab: EffectTable) -> list:
    """Rebuild the rows' (effect, subgroup) pairs with the itt arguments they used."""
    from dwp_eval.report.impact_rows import Row

    return [
        Row(e, sub, fam, None, e.outcome,
            dict(assigned="arm", control=e.control, treatment=e.treatment), e.treatment)
        for e, sub, fam in zip(tab.effects, tab.subgroups, tab.families, strict=True)
    ]


def _lambda(data: pd.DataFrame, row) -> float:
    from dwp_eval.report.impact_rows import arm_mean_variances

    v_c, v_k = arm_mean_variances(data, row)
    return v_c / (v_c + v_k)


def test_dunnett_lies_between_the_raw_and_the_bonferroni_p_value(multiarm):
    """At the df Dunnett uses (the smallest of the rows'), its p-values are at least the
    two-sided t p-value and at most Bonferroni's."""
    from scipy import stats

    d = impact_table(multiarm, outcomes=["y1"], assigned="arm", arm_correction="dunnett").to_frame()
    raw = 2 * stats.t.sf(d["statistic"].abs(), d["df"].min())
    assert np.all(d["p_value_arms"] >= raw) and np.all(d["p_value_arms"] <= 3 * raw)
    assert np.all(np.diff(d["p_value_arms"][np.argsort(-d["statistic"].abs())]) >= 0)


def test_several_arms_with_subgroups_and_a_list_of_arms(multiarm):
    df = multiarm.assign(group=np.tile(["x", "y"], len(multiarm) // 2))
    tab = impact_table(df, outcomes=["y1"], assigned="arm", treatment=["c", "a"], by="group",
                       arm_correction="dunnett")
    f = tab.to_frame()
    assert f["treatment"].tolist() == ["c"] * 3 + ["a"] * 3
    sub = df[df["group"] == "y"]
    ref = de.itt(sub, outcome="y1", assigned="arm", treatment="a")
    row = f[(f["treatment"] == "a") & (f["subgroup"] == "group=y")].iloc[0]
    assert row["estimate"] == ref.estimate
    het = tab.heterogeneity
    assert het["treatment"].tolist() == ["c", "a"]
    assert "(a vs control)" in tab.summary()


def test_several_arms_refuse_romano_wolf_and_bad_arm_correction(multiarm):
    with pytest.raises(OptionError, match=r"correction='romano_wolf' compares one treatment arm"):
        impact_table(multiarm, outcomes=["y1"], assigned="arm", correction="romano_wolf", seed=1)
    with pytest.raises(OptionError, match="arm_correction"):
        impact_table(multiarm, outcomes=["y1"], assigned="arm", arm_correction="tukey")
    with pytest.raises(OptionError, match="names an arm twice"):
        impact_table(multiarm, outcomes=["y1"], assigned="arm", treatment=["a", "a"])
    with pytest.raises(DesignError, match="'z' is not in column 'arm'"):
        impact_table(multiarm, outcomes=["y1"], assigned="arm", treatment=["a", "z"])


# --------------------------------------------------------------------------- subgroups within strata (issue 13)


@pytest.fixture(scope="module")
def stratified() -> pd.DataFrame:
    """The user's trial: 28 site x benefit strata, 1:1 within strata, a random health
    condition whose rarest level leaves 8 strata with one arm (tests/reference/impact)."""
    return pd.read_csv(REF / "data" / "stratified_subgroups.csv")


@pytest.mark.parametrize(
    "options",
    [dict(), dict(covariates=["x"]), dict(covariates=["x"], adjustment="additive")],
    ids=["blocked", "lin", "additive"],
)
def test_subgroups_of_a_stratified_trial_drop_one_arm_strata_with_a_warning(stratified, options):
    assert stratified["stratum"].nunique() == 28
    with pytest.warns(DroppedRowsWarning, match=(
            r"subgroup health_condition=other: 8 stratum/strata of 'stratum' hold only one arm "
            r"within the subgroup \('site00_esa', 'site03_esa', 'site04_uc', .*their 17 people")):
        tab = impact_table(stratified, outcomes=["y"], assigned="arm", by="health_condition",
                           strata="stratum", **options)
    f = tab.to_frame().set_index("subgroup")
    kept = pd.read_csv(REF / "data" / "stratified_subgroups_kept.csv")
    for lev in ["mental", "msk", "none", "other"]:
        ref = de.itt(kept[kept["health_condition"] == lev], outcome="y", assigned="arm",
                     strata="stratum", **options)
        assert f.loc[f"health_condition={lev}", "estimate"] == pytest.approx(ref.estimate, rel=1e-12)
        assert f.loc[f"health_condition={lev}", "n_obs"] == ref.n_obs
    assert f.loc["all", "n_obs"] == 3000
    assert tab.heterogeneity["n_obs"].iloc[0] == len(kept)
    assert any("their 17 people are left out" in n for n in tab.notes)


def test_subgroup_rows_in_strata_match_statsmodels_and_estimatr(stratified):
    """After dropping the one-arm strata: OLS with strata fixed effects (additive x) is
    statsmodels' OLS with stratum dummies and estimatr's lm_robust(fixed_effects = ~stratum)
    (HC2); the blocked difference in means is estimatr's difference_in_means(blocks =)."""
    sm_ref = pd.read_csv(REF / "statsmodels_subgroups.csv")
    er = pd.read_csv(REF / "estimatr_subgroups.csv")
    with pytest.warns(DroppedRowsWarning):
        add = impact_table(stratified, outcomes=["y"], assigned="arm", by="health_condition",
                           strata="stratum", covariates=["x"], adjustment="additive").to_frame()
        blk = impact_table(stratified, outcomes=["y"], assigned="arm", by="health_condition",
                           strata="stratum").to_frame()
    add, blk = add.iloc[1:].reset_index(drop=True), blk.iloc[1:].reset_index(drop=True)
    s = sm_ref[sm_ref["covariates"] == "x"].reset_index(drop=True)
    fe = er[er["call"].str.startswith("lm_robust")].reset_index(drop=True)
    dim = er[er["call"].str.startswith("difference_in_means")].reset_index(drop=True)
    assert add["subgroup"].tolist() == s["subgroup"].tolist() == fe["subgroup"].tolist()
    for ref in (s, fe):
        np.testing.assert_allclose(add[["estimate", "std_error", "p_value", "df"]],
                                   ref[["estimate", "std_error", "p_value", "df"]], rtol=1e-8)
        assert add["n_obs"].tolist() == ref["n_obs"].tolist()
    np.testing.assert_allclose(blk[["estimate", "std_error", "p_value", "df"]],
                               dim[["estimate", "std_error", "p_value", "df"]], rtol=1e-8)


@pytest.mark.parametrize("covariates", [None, ["x"]])
def test_heterogeneity_in_strata_uses_the_kept_rows_as_statsmodels(stratified, covariates):
    ref = pd.read_csv(REF / "statsmodels_heterogeneity.csv")
    ref = ref[ref["covariates"] == ("x" if covariates else "none")].iloc[0]
    with pytest.warns(DroppedRowsWarning):
        het = impact_table(stratified, outcomes=["y"], assigned="arm", by="health_condition",
                           strata="stratum", covariates=covariates).heterogeneity.iloc[0]
    for col in ("statistic", "df_num", "df_denom", "p_value", "n_obs"):
        assert het[col] == pytest.approx(ref[col], rel=RTOL)


# --------------------------------------------------------------------------- limits on work (issue 19)


def test_draws_above_the_limit_are_refused(trial):
    from dwp_eval.estimate.multiplicity import MAX_DRAWS

    assert MAX_DRAWS == 100_000
    with pytest.raises(OptionError, match=r"draws.*is 4,611,686,018,427,387,904, above the limit of 100,000"):
        impact_table(trial, outcomes=["days"], assigned="arm", correction="romano_wolf",
                     seed=1, draws=2**62)
    with pytest.raises(OptionError, match="above the limit of 100,000"):
        de.romano_wolf(trial, outcomes=["days"], assigned="arm", seed=1, draws=100_001)


def test_a_plan_with_unbounded_draws_is_refused():
    from dwp_eval.report.plan import AnalysisPlan, PlanError

    raw = {"design": {"assigned": "arm"}, "outcomes": {"primary": ["y"]},
           "multiplicity": {"correction": "romano_wolf", "seed": 1, "draws": 2**62}}
    with pytest.raises(PlanError, match=r"draws must be from 1 to 100,000 .*Got 4,611,686,018,427,387,904"):
        AnalysisPlan.from_dict(raw)
    raw["multiplicity"]["draws"] = 100_000
    assert AnalysisPlan.from_dict(raw).draws == 100_000


def test_a_subgroup_column_with_thousands_of_levels_is_refused(trial):
    df = trial.assign(postcode=[f"P{i}" for i in range(len(trial))])
    with pytest.raises(DesignError, match=r"'postcode' \(by\) takes 600 values, above the limit of 50 subgroups"):
        impact_table(df, outcomes=["days"], assigned="arm", by="postcode")


def test_dense_strata_dummies_above_the_limit_are_refused(trial, monkeypatch):
    """Weighted fits with clustered SEs enter strata as dummies (n x strata): refused above
    MAX_DUMMY_CELLS rather than building the matrix."""
    import dwp_eval.report.heterogeneity as het

    monkeypatch.setattr(het, "MAX_DUMMY_CELLS", 1000)
    df = trial.assign(w=1.0 + (trial["age"] % 3))
    with pytest.raises(DesignError, match=r"600 rows x 6 strata is above the limit of 1,000 cells"):
        impact_table(df, outcomes=["days"], assigned="arm_c", cluster="office", strata="stratum",
                     weights="w", by="condition")
