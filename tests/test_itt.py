"""``itt``: input checks (every user-facing message pinned), arm choice, the
design-based estimators against their textbook formulas, regression estimators
against statsmodels, and the result's behaviour (``with_se``, ``conf_int``,
``to_frame``).

R reference values are in ``test_itt_reference.py``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.estimate.itt import DroppedRowsWarning
from dwp_eval.results import EFFECT_COLUMNS, Effect

# Closed-form estimators and statsmodels against itt: the same arithmetic in a
# different order, so only rounding differs (~1e-14); 1e-10 relative leaves a
# wide margin while any formula difference (n vs n-1, a missing factor) is
# orders of magnitude larger.
RTOL = 1e-10


@pytest.fixture
def df() -> pd.DataFrame:
    """40 people in 10 clusters of 4, 4 strata of 10; arms alternate by person
    (``arm``) and by cluster (``arm_c``)."""
    rng = np.random.default_rng(20240601)
    n = 40
    out = pd.DataFrame(
        {
            "arm": np.tile(["control", "treatment"], n // 2),
            "y": rng.normal(size=n),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "cl": np.repeat(np.arange(10), 4),
            "s": np.repeat(np.arange(4), 10),
        }
    )
    out["arm_c"] = np.where(out["cl"] % 2 == 0, "control", "treatment")
    out["y"] = out["y"] + 0.5 * (out["arm"] == "treatment") + out["x1"]
    return out


# --------------------------------------------------------------------------- bad input


def test_outcome_not_numeric(df):
    d = df.assign(y_text=df["y"].astype(str))
    with pytest.raises(
        ColumnError,
        match=re.escape(
            "itt: column 'y_text' (outcome) must be numeric (or 0/1 for a binary outcome); it has "
            "dtype"
        )
        + r".*Fix: convert it, e\.g\. df\['y_text'\]\.astype\(float\)\.",
    ):
        de.itt(d, outcome="y_text", assigned="arm")


def test_outcome_infinite(df):
    d = df.copy()
    d.loc[3, "y"] = np.inf
    with pytest.raises(ColumnError, match=r"itt: column 'y' \(outcome\) holds infinite values: 1 row\(s\) are \+/-inf \(first at rows 3\)"):
        de.itt(d, outcome="y", assigned="arm")


def test_missing_column_lists_columns_present(df):
    with pytest.raises(
        ColumnError,
        match=re.escape(
            "itt: column 'yy' (outcome) is not in the data. Did you mean 'y'? Columns present: "
            "'arm', 'y', 'x1', 'x2', 'cl', 's', 'arm_c'. Fix: pass the name of an existing column "
            "as outcome=."
        ),
    ):
        de.itt(df, outcome="yy", assigned="arm")


def test_assigned_has_one_arm_only(df):
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: column 'arm' holds only one arm ('control'); an effect needs a treatment arm too."
        ),
    ):
        de.itt(df[df["arm"] == "control"], outcome="y", assigned="arm")


def test_treatment_arm_not_in_data(df):
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: the treatment arm 'job_club' is not in column 'arm', which holds 'control', "
            "'treatment'."
        ),
    ):
        de.itt(df, outcome="y", assigned="arm", treatment="job_club")


def test_control_arm_not_in_data(df):
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: the control arm 'ctrl' is not in column 'arm', which holds 'control', "
            "'treatment'. Fix: pass control= with the control arm's label."
        ),
    ):
        de.itt(df, outcome="y", assigned="arm", control="ctrl")


def test_several_arms_and_no_treatment_named(df):
    d = df.copy()
    d.loc[:9, "arm"] = "job_club"
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: column 'arm' holds several treatment arms ('job_club', 'treatment'). Fix: name "
            "the arm to compare with control, e.g. treatment='job_club'."
        ),
    ):
        de.itt(d, outcome="y", assigned="arm")


def test_missing_outcome_raises_with_count(df):
    d = df.copy()
    d.loc[[1, 2, 3], "y"] = np.nan
    with pytest.raises(
        MissingDataError,
        match=re.escape(
            "itt: column 'y' (outcome) has 3 missing value(s) among the 40 rows of the compared "
            "arms. Fix: fill or remove them, or pass missing='drop'"
        ),
    ):
        de.itt(d, outcome="y", assigned="arm")


def test_missing_covariate_raises_with_count(df):
    d = df.copy()
    d.loc[[4, 5], "x2"] = np.nan
    with pytest.raises(
        MissingDataError,
        match=re.escape("itt: column 'x2' (covariates) has 2 missing value(s) among the 40 rows"),
    ):
        de.itt(d, outcome="y", assigned="arm", covariates=["x1", "x2"])


def test_missing_drop_warns_with_counts_and_records_them(df):
    d = df.copy()
    d.loc[[1, 2, 3], "y"] = np.nan
    d.loc[[3, 4], "x1"] = np.nan  # row 3 is counted once, under the first column checked
    with pytest.warns(
        DroppedRowsWarning,
        match=re.escape(
            "itt: 4 row(s) with missing values dropped (3 with missing y, 1 with missing x1)."
        ),
    ):
        res = de.itt(d, outcome="y", assigned="arm", covariates=["x1"], missing="drop")
    assert res.dropped == {"y": 3, "x1": 1}
    assert res.n_obs == 36
    assert "dropped         3 row(s) with missing y" in res.summary()
    complete = de.itt(d.dropna(subset=["y", "x1"]), outcome="y", assigned="arm", covariates=["x1"])
    assert res.estimate == pytest.approx(complete.estimate, rel=RTOL)
    assert res.std_error == pytest.approx(complete.std_error, rel=RTOL)
    assert complete.dropped == {}


def test_missing_drop_without_missing_values_is_silent(df):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = de.itt(df, outcome="y", assigned="arm", missing="drop")
    assert res.dropped == {}


def test_missing_assigned_raises_with_count(df):
    """A person with no arm is in neither compared arm: reported, not filtered away."""
    d = df.copy()
    d.loc[[1, 2], "arm"] = None
    d.loc[5, "arm"] = np.nan
    with pytest.raises(
        MissingDataError,
        match=re.escape(
            "itt: column 'arm' (assigned) has 3 missing value(s) among the 40 rows, so those "
            "people belong to no arm. Fix: fill in the arm each person was allocated to, or "
            "remove those rows, or pass missing='drop' to analyse the people with a known arm "
            "(the count dropped is recorded)."
        ),
    ):
        de.itt(d, outcome="y", assigned="arm")


def test_missing_assigned_drop_warns_and_records(df):
    d = df.copy()
    d.loc[[1, 2, 5], "arm"] = None
    d.loc[[2, 7], "y"] = np.nan  # row 2 has neither: counted once, as having no arm
    with pytest.warns(
        DroppedRowsWarning,
        match=re.escape(
            "itt: 4 row(s) with missing values dropped (3 with missing arm, 1 with missing y)."
        ),
    ):
        res = de.itt(d, outcome="y", assigned="arm", missing="drop")
    assert res.dropped == {"arm": 3, "y": 1}
    assert res.n_obs == 36
    assert "dropped         3 row(s) with missing arm" in res.summary()
    complete = de.itt(d.dropna(subset=["arm", "y"]), outcome="y", assigned="arm")
    assert res.estimate == pytest.approx(complete.estimate, rel=RTOL)


def test_missing_assigned_counts_rows_of_other_arms_too(df):
    """With several arms the missing arm could have been any of them: still counted."""
    d = df.copy()
    d.loc[d.index[::4], "arm"] = "other"
    d.loc[0, "arm"] = None
    with pytest.raises(MissingDataError, match=r"column 'arm' \(assigned\) has 1 missing value"):
        de.itt(d, outcome="y", assigned="arm", treatment="treatment")


def test_missing_option_checked(df):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'missing' parameter of itt must be one of 'raise', 'drop'. Got 'omit' instead."
        ),
    ):
        de.itt(df, outcome="y", assigned="arm", missing="omit")


def test_constant_covariate(df):
    d = df.assign(k=1.0)
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: covariate 'k' is constant (1) in the analysis sample, so it cannot adjust "
            "anything. Fix: drop it from covariates."
        ),
    ):
        de.itt(d, outcome="y", assigned="arm", covariates=["x1", "k"])


def test_covariate_constant_only_within_the_compared_arms(df):
    """Constant among the compared arms, though not in the whole data."""
    d = df.copy()
    d.loc[:9, "arm"] = "job_club"
    d["k"] = np.where(d["arm"] == "job_club", 5.0, 2.0)
    with pytest.raises(DesignError, match=r"covariate 'k' is constant \(2\) in the analysis sample"):
        de.itt(d, outcome="y", assigned="arm", treatment="treatment", covariates=["k"])


def test_categorical_covariate_with_one_level(df):
    d = df.assign(region="north")
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: covariate 'region' takes one value ('north') in the analysis sample. Fix: drop "
            "it from covariates."
        ),
    ):
        de.itt(d, outcome="y", assigned="arm", covariates=["region"])


def test_cluster_with_missing_values(df):
    d = df.assign(cl=df["cl"].astype(float))
    d.loc[0, "cl"] = np.nan
    msg = re.escape(
        "itt: column 'cl' (cluster) has 1 missing value(s) among the 40 rows of the compared arms. "
        "Fix: fill or remove them; design columns cannot be dropped silently."
    )
    with pytest.raises(MissingDataError, match=msg):
        de.itt(d, outcome="y", assigned="arm_c", cluster="cl")
    with pytest.raises(MissingDataError, match=msg):  # not even with missing="drop"
        de.itt(d, outcome="y", assigned="arm_c", cluster="cl", missing="drop")


def test_cluster_split_across_arms(df):
    # people were randomised: the clusters group the errors for the variance only
    res = de.itt(df, outcome="y", assigned="arm", cluster="cl")
    plain = de.itt(df, outcome="y", assigned="arm")
    assert res.cluster_role == "variance" and res.design == "standard"
    assert res.estimate == pytest.approx(plain.estimate) and res.se_type == "CR2"


def test_one_cluster_split_across_arms(df):
    d = df.copy()
    d.loc[0, "arm_c"] = "treatment"  # cluster 0 is otherwise control
    res = de.itt(d, outcome="y", assigned="arm_c", cluster="cl")
    assert res.cluster_role == "variance" and res.design == "standard"


def test_fewer_than_two_clusters_per_arm(df):
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: a cluster design needs at least 2 clusters in each arm; found 2 in 'control' and "
            "1 in 'treatment'. Cluster-robust inference is impossible."
        ),
    ):
        de.itt(df[df["cl"] < 3], outcome="y", assigned="arm_c", cluster="cl")


@pytest.mark.parametrize("adjustment", ["lin", "additive"])
def test_collinear_covariates_named(df, adjustment):
    """The message names the user's column whose removal restores full rank: the
    one that adds nothing to the columns before it."""
    d = df.assign(x3=df["x1"] + 2 * df["x2"])
    covs = ["x1", "x2", "x3"]
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: the covariates are collinear: 'x3' can be written as a combination of the other "
            "columns (or of the strata). Fix: drop it from covariates."
        ),
    ) as info:
        de.itt(d, outcome="y", assigned="arm", covariates=covs, adjustment=adjustment)
    named = set(re.findall(r"'([^']+)'", str(info.value)))
    assert named == {"x3"}  # the later column, never an interaction term
    kept = [c for c in covs if c not in named]
    res = de.itt(d, outcome="y", assigned="arm", covariates=kept, adjustment=adjustment)
    assert np.isfinite(res.std_error)


def test_collinear_additive_names_exactly_one(df):
    d = df.assign(x1_twice=2 * df["x1"])
    with pytest.raises(
        DesignError,
        match=r"itt: the covariates are collinear: '(x1|x1_twice)' can be written as a "
        r"combination of the other columns \(or of the strata\)\. Fix: drop it from covariates\.",
    ):
        de.itt(d, outcome="y", assigned="arm", covariates=["x1", "x1_twice"], adjustment="additive")


@pytest.mark.parametrize("adjustment", ["lin", "additive"])
def test_covariate_equal_to_assignment_is_named_not_assignment(df, adjustment):
    """Internal columns (intercept, assignment, Lin interactions) are never blamed."""
    d = df.assign(treated=(df["arm"] == "treatment").astype(float))
    with pytest.raises(
        DesignError,
        match=re.escape("itt: the covariates are collinear: 'treated' can be written"),
    ):
        de.itt(d, outcome="y", assigned="arm", covariates=["treated", "x1"], adjustment=adjustment)


@pytest.mark.parametrize("adjustment", ["lin", "additive"])
def test_collinear_categorical_covariate_named_by_its_column(df, adjustment):
    """A dummy of a text covariate is reported by the covariate's name, not 'region[b]'."""
    region = np.where(np.arange(40) % 3 == 0, "a", np.where(np.arange(40) % 3 == 1, "b", "c"))
    d = df.assign(region=region, is_b=(region == "b").astype(float))
    with pytest.raises(DesignError) as info:
        de.itt(d, outcome="y", assigned="arm", covariates=["is_b", "region"], adjustment=adjustment)
    msg = str(info.value)
    assert "the covariates are collinear: 'region' can be written" in msg
    assert "[" not in msg and "assigned" not in msg


def test_lin_covariate_collinear_within_an_arm_is_named(df):
    """Constant among the treated: only its Lin interaction is collinear (with assignment)."""
    d = df.assign(xt=np.where(df["arm"] == "treatment", 1.0, df["x1"] + 5))
    with pytest.raises(DesignError) as info:
        de.itt(d, outcome="y", assigned="arm", covariates=["x2", "xt"])
    assert re.findall(r"'([^']+)'", str(info.value)) == ["xt"]
    assert "assigned" not in str(info.value)


def test_covariate_constant_within_strata(df):
    """A covariate that only repeats the strata is absorbed by them."""
    d = df.assign(sx=df["s"] * 1.5)
    with pytest.raises(DesignError, match=r"'sx' are zero \(or constant within strata\)"):
        de.itt(d, outcome="y", assigned="arm", covariates=["x1", "sx"], strata="s")


def test_one_person_stratum(df):
    d = df.copy()
    d.loc[0, "s"] = 99
    with pytest.raises(
        DesignError,
        match=re.escape(
            "itt: 1 stratum/strata in column 's' hold one person only (e.g. 99); a one-person "
            "stratum carries no comparison. Fix: merge it with a neighbouring stratum, as at "
            "randomisation."
        ),
    ):
        de.itt(d, outcome="y", assigned="arm", strata="s")


def test_stratum_with_one_arm_only(df):
    d = df.copy()
    d.loc[d["s"] == 0, "arm"] = "control"
    with pytest.raises(
        DesignError,
        match=r"itt: 1 stratum/strata in column 's' hold only one of the compared arms \(e\.g\. 0\)",
    ):
        de.itt(d, outcome="y", assigned="arm", strata="s")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 2}, "The 'alpha' parameter of itt must be a float in (0, 1). Got 2 instead."),
        ({"alpha": True}, "The 'alpha' parameter of itt must be a float in (0, 1). Got True instead."),
        (
            {"adjustment": "linn", "covariates": ["x1"]},
            "The 'adjustment' parameter of itt must be one of 'lin', 'additive'. Got 'linn' "
            "instead. Did you mean 'lin'?",
        ),
        (
            {"se_type": "HC5"},
            "The 'se_type' parameter of itt must be one of 'classical', 'HC0', 'HC1', 'HC2', "
            "'HC3' (or 'stata'). Got 'HC5' instead. Did you mean 'HC3'?",
        ),
        (
            {"se_type": "CR2"},
            "The 'se_type' parameter of itt is 'CR2', a cluster-robust type, but no cluster= was "
            "given. Fix: pass cluster=, or use one of 'classical', 'HC0', 'HC1', 'HC2', 'HC3'.",
        ),
    ],
)
def test_bad_options(df, kwargs, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        de.itt(df, outcome="y", assigned="arm", **kwargs)


def test_non_cluster_se_type_with_cluster(df):
    with pytest.raises(OptionError, match=r"is 'HC2', which ignores the clusters"):
        de.itt(df, outcome="y", assigned="arm_c", cluster="cl", se_type="HC2")


def test_data_must_be_a_dataframe(df):
    with pytest.raises(OptionError, match="The 'data' parameter of itt must be a pandas DataFrame"):
        de.itt(df.to_dict("list"), outcome="y", assigned="arm")


def test_non_positive_weights(df):
    d = df.assign(w=1.0)
    d.loc[2, "w"] = 0.0
    with pytest.raises(ColumnError, match=r"column 'w' \(weights\) must hold positive finite numbers"):
        de.itt(d, outcome="y", assigned="arm", weights="w")


def test_errors_are_value_errors(df):
    with pytest.raises(ValueError):
        de.itt(df, outcome="y", assigned="arm", treatment="nope")


# --------------------------------------------------------------------------- arms


def test_treatment_picks_the_arm(df):
    d = df.copy()
    d.loc[:9, "arm"] = "job_club"
    d.loc[d["arm"] == "job_club", "y"] += 10.0
    for arm in ["job_club", "treatment"]:
        res = de.itt(d, outcome="y", assigned="arm", treatment=arm)
        y1 = d.loc[d["arm"] == arm, "y"]
        y0 = d.loc[d["arm"] == "control", "y"]
        assert res.treatment == arm
        assert res.estimate == pytest.approx(y1.mean() - y0.mean(), rel=RTOL)
        assert res.n_by_arm == {"control": len(y0), arm: len(y1)}
        assert res.n_obs == len(y0) + len(y1)
        assert res.to_frame()["term"].item() == f"{arm} vs control"


def test_control_label_and_numeric_arms():
    d = pd.DataFrame({"z": [0, 1] * 6, "y": np.arange(12.0) ** 1.5})
    res = de.itt(d, outcome="y", assigned="z", control="0")
    assert (res.control, res.treatment) == ("0", "1")
    assert res.estimate == pytest.approx(d.y[d.z == 1].mean() - d.y[d.z == 0].mean(), rel=RTOL)


# --------------------------------------------------------------------------- estimators


def _welch(y1, y0):
    v1, v0 = np.var(y1, ddof=1) / len(y1), np.var(y0, ddof=1) / len(y0)
    df = (v1 + v0) ** 2 / (v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1))
    return y1.mean() - y0.mean(), np.sqrt(v1 + v0), df


def test_standard_design_is_neyman_with_welch_df(df):
    res = de.itt(df, outcome="y", assigned="arm")
    t = (df["arm"] == "treatment").to_numpy()
    est, se, dof = _welch(df["y"].to_numpy()[t], df["y"].to_numpy()[~t])
    assert (res.design, res.se_type) == ("standard", "HC2")
    assert res.estimate == pytest.approx(est, rel=RTOL)
    assert res.std_error == pytest.approx(se, rel=RTOL)
    assert res.df == pytest.approx(dof, rel=RTOL)
    assert res.control_mean == pytest.approx(df.loc[~t, "y"].mean(), rel=RTOL)
    assert res.treatment_mean == pytest.approx(df.loc[t, "y"].mean(), rel=RTOL)


def test_blocked_design_gerber_green_3_10(df):
    """Blocks weighted by size, variance sum_b (n_b/N)^2 v_b, df N - 2B."""
    res = de.itt(df, outcome="y", assigned="arm", strata="s")
    parts = []
    for _, g in df.groupby("s"):
        t = (g["arm"] == "treatment").to_numpy()
        est, se, _ = _welch(g["y"].to_numpy()[t], g["y"].to_numpy()[~t])
        parts.append((len(g), est, se))
    n_b, d_b, se_b = map(np.array, zip(*parts, strict=True))
    N = n_b.sum()
    assert (res.design, res.n_strata) == ("blocked", 4)
    assert res.estimate == pytest.approx(np.sum(n_b / N * d_b), rel=RTOL)
    assert res.std_error == pytest.approx(np.sqrt(np.sum((n_b / N) ** 2 * se_b**2)), rel=RTOL)
    assert res.df == N - 2 * 4


def test_matched_pair_design_gerber_green_3_16(df):
    d = df.assign(pair=np.arange(40) // 2)
    res = de.itt(d, outcome="y", assigned="arm", strata="pair")
    y = d["y"].to_numpy()
    diffs = y[1::2] - y[0::2]  # treatment is the second of each pair
    B = 20
    assert (res.design, res.se_type) == ("matched-pair", "matched-pair")
    assert res.estimate == pytest.approx(diffs.mean(), rel=RTOL)
    se = np.sqrt(np.sum((diffs - diffs.mean()) ** 2) / (B * (B - 1)))
    assert res.std_error == pytest.approx(se, rel=RTOL)
    assert res.df == B - 1


def test_clustered_design_labels(df):
    res = de.itt(df, outcome="y", assigned="arm_c", cluster="cl")
    assert (res.design, res.se_type, res.n_clusters) == ("clustered", "CR2", 10)
    y, z = df["y"].to_numpy(), (df["arm_c"] == "treatment").to_numpy()
    assert res.estimate == pytest.approx(y[z].mean() - y[~z].mean(), rel=RTOL)


def test_clustered_cr1_matches_statsmodels(df):
    res = de.itt(df, outcome="y", assigned="arm_c", cluster="cl", se_type="CR1")
    X = sm.add_constant((df["arm_c"] == "treatment").astype(float).to_numpy())
    ref = sm.OLS(df["y"].to_numpy(), X).fit(cov_type="cluster", cov_kwds={"groups": df["cl"]})
    assert res.std_error == pytest.approx(ref.bse[1], rel=RTOL)
    assert res.df == 9


def test_stata_alias_with_cluster_is_cr1(df):
    a = de.itt(df, outcome="y", assigned="arm_c", cluster="cl", se_type="stata")
    b = de.itt(df, outcome="y", assigned="arm_c", cluster="cl", se_type="CR1")
    assert a.se_type == "CR1"
    assert a.std_error == b.std_error


@pytest.mark.parametrize("se_type", ["HC0", "HC1", "HC2", "HC3"])
def test_additive_adjustment_matches_statsmodels(df, se_type):
    res = de.itt(df, outcome="y", assigned="arm", covariates=["x1", "x2"], adjustment="additive",
                 se_type=se_type)
    z = (df["arm"] == "treatment").astype(float).to_numpy()
    X = np.column_stack([np.ones(40), z, df[["x1", "x2"]].to_numpy()])
    ref = sm.OLS(df["y"].to_numpy(), X).fit(cov_type=se_type)
    assert res.estimate == pytest.approx(ref.params[1], rel=RTOL)
    assert res.std_error == pytest.approx(ref.bse[1], rel=RTOL)
    assert res.df == 40 - 4
    assert res.method == "OLS with additive covariates"


def test_lin_adjustment_matches_statsmodels(df):
    """Lin (2013): covariates centred at their means and interacted with assignment."""
    res = de.itt(df, outcome="y", assigned="arm", covariates=["x1", "x2"])
    z = (df["arm"] == "treatment").astype(float).to_numpy()
    xc = df[["x1", "x2"]].to_numpy() - df[["x1", "x2"]].to_numpy().mean(axis=0)
    X = np.column_stack([np.ones(40), z, xc, z[:, None] * xc])
    ref = sm.OLS(df["y"].to_numpy(), X).fit(cov_type="HC2")
    assert (res.se_type, res.design) == ("HC2", "standard")
    assert res.estimate == pytest.approx(ref.params[1], rel=RTOL)
    assert res.std_error == pytest.approx(ref.bse[1], rel=RTOL)
    assert res.df == 40 - 6
    assert res.covariates == ("x1", "x2")


def test_strata_with_covariates_match_dummy_regression(df):
    res = de.itt(df, outcome="y", assigned="arm", covariates=["x1"], adjustment="additive",
                 strata="s")
    z = (df["arm"] == "treatment").astype(float).to_numpy()
    D = pd.get_dummies(df["s"]).to_numpy(dtype=float)
    X = np.column_stack([z, df["x1"].to_numpy(), D])
    ref = sm.OLS(df["y"].to_numpy(), X).fit(cov_type="HC2")
    assert res.design == "blocked"
    assert res.estimate == pytest.approx(ref.params[0], rel=RTOL)
    assert res.std_error == pytest.approx(ref.bse[0], rel=RTOL)
    assert res.df == 40 - 2 - 4


def test_categorical_covariate_becomes_dummies(df):
    d = df.assign(region=np.array(["north", "south", "west", "east"])[np.arange(40) // 2 % 4])
    res = de.itt(d, outcome="y", assigned="arm", covariates=["region"], adjustment="additive")
    z = (d["arm"] == "treatment").astype(float).to_numpy()
    D = pd.get_dummies(d["region"], drop_first=True).to_numpy(dtype=float)
    ref = sm.OLS(d["y"].to_numpy(), np.column_stack([np.ones(40), z, D])).fit(cov_type="HC2")
    assert res.estimate == pytest.approx(ref.params[1], rel=RTOL)
    assert res.std_error == pytest.approx(ref.bse[1], rel=RTOL)


def test_weights_match_statsmodels_wls(df):
    d = df.assign(w=np.linspace(0.5, 2.5, 40))
    res = de.itt(d, outcome="y", assigned="arm", weights="w")
    z = (d["arm"] == "treatment").astype(float).to_numpy()
    ref = sm.WLS(d["y"].to_numpy(), sm.add_constant(z), weights=d["w"].to_numpy()).fit(
        cov_type="HC2"
    )
    assert res.estimate == pytest.approx(ref.params[1], rel=RTOL)
    assert res.std_error == pytest.approx(ref.bse[1], rel=RTOL)
    w, y = d["w"].to_numpy(), d["y"].to_numpy()
    assert res.treatment_mean == pytest.approx(np.average(y[z == 1], weights=w[z == 1]), rel=RTOL)


def test_bool_outcome_is_binary(df):
    d = df.assign(found_work=df["y"] > 0)
    res = de.itt(d, outcome="found_work", assigned="arm")
    assert res.binary_outcome
    z = d["arm"] == "treatment"
    assert res.estimate == pytest.approx(d.found_work[z].mean() - d.found_work[~z].mean(), rel=RTOL)


# --------------------------------------------------------------------------- the result


def test_binary_outcome_summary_in_percentage_points(df):
    d = df.assign(found_work=(df["y"] > 0).astype(int))
    res = de.itt(d, outcome="found_work", assigned="arm")
    assert res.binary_outcome
    text = res.summary()
    assert f"estimate        {100 * res.estimate:.2f} pp  (SE {100 * res.std_error:.2f} pp)" in text
    lo, hi = res.interval()
    assert f"[{100 * lo:.2f} pp, {100 * hi:.2f} pp]" in text
    assert "pp" in repr(res)
    # the table stays on the outcome's scale (proportions)
    assert res.to_frame()["estimate"].item() == pytest.approx(res.estimate)


def test_continuous_outcome_summary_has_no_percentage_points(df):
    assert " pp" not in de.itt(df, outcome="y", assigned="arm").summary()


def test_with_se_returns_a_new_effect_and_leaves_the_original(df):
    res = de.itt(df, outcome="y", assigned="arm", covariates=["x1"])
    before = res.to_frame()
    other = res.with_se("HC1")
    assert isinstance(other, Effect)
    assert other is not res
    assert other.se_type == "HC1"
    assert res.se_type == "HC2"
    pd.testing.assert_frame_equal(res.to_frame(), before)
    assert other.estimate == pytest.approx(res.estimate, rel=RTOL)
    assert other.std_error != res.std_error
    assert other.std_error == pytest.approx(
        de.itt(df, outcome="y", assigned="arm", covariates=["x1"], se_type="HC1").std_error, rel=RTOL
    )


def test_with_se_cluster(df):
    res = de.itt(df, outcome="y", assigned="arm_c")
    clustered = res.with_se("CR2", cluster=df["cl"])
    assert (clustered.se_type, clustered.design, clustered.n_clusters) == ("CR2", "clustered", 10)
    assert clustered.estimate == pytest.approx(res.estimate, rel=RTOL)
    assert (res.se_type, res.design, res.n_clusters) == ("HC2", "standard", None)
    direct = de.itt(df, outcome="y", assigned="arm_c", cluster="cl")
    assert clustered.std_error == pytest.approx(direct.std_error, rel=RTOL)


def test_with_se_checks_the_name(df):
    res = de.itt(df, outcome="y", assigned="arm")
    with pytest.raises(OptionError, match=r"Got 'HC9' instead\. Did you mean 'HC3'\?"):
        res.with_se("HC9")


def test_weighted_blocked_design_weights_strata_by_their_weight(df):
    """estimatr 1.0.0 (R/estimatr_difference_in_means.R): a block's weight is its sum
    of weights, W_b / W, not n_b / n; within a block, the weighted (HC2) difference in
    means; df n - 2B with n people."""
    w = np.random.default_rng(7).uniform(0.2, 5.0, size=len(df))
    d = df.assign(w=w)
    res = de.itt(d, outcome="y", assigned="arm", strata="s", weights="w")
    W_b, d_b, v_b = [], [], []
    for _, g in d.groupby("s"):
        t = (g["arm"] == "treatment").to_numpy()
        X = sm.add_constant(t.astype(float))
        fit = sm.WLS(g["y"].to_numpy(), X, weights=g["w"].to_numpy()).fit(cov_type="HC2")
        W_b.append(g["w"].sum())
        d_b.append(fit.params[1])
        v_b.append(fit.bse[1] ** 2)
    share = np.array(W_b) / np.sum(W_b)
    assert share @ np.array(d_b) != pytest.approx(np.full(4, 0.25) @ np.array(d_b), rel=1e-3)
    assert res.estimate == pytest.approx(share @ np.array(d_b), rel=RTOL)
    assert res.std_error == pytest.approx(np.sqrt(share**2 @ np.array(v_b)), rel=RTOL)
    assert res.df == 40 - 2 * 4
    assert (res.design, res.se_type) == ("blocked", "HC2 (blocked)")


@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        ({"assigned": "arm", "strata": "s"}, "neyman (blocked)"),
        ({"assigned": "arm", "strata": "s", "weights": "w"}, "HC2 (blocked)"),
        ({"assigned": "arm_c", "strata": "s2", "cluster": "cl"}, "CR2 (blocked)"),
    ],
)
def test_blocked_design_based_variance_is_not_labelled_as_a_regression_type(df, kwargs, label):
    """The blocked variance combines within-stratum variances; 'HC2' would claim the HC2
    of the strata-fixed-effects regression that itt(..., se_type="HC2") fits."""
    d = df.assign(w=np.linspace(0.5, 2.0, len(df)), s2=df["cl"] // 5)
    res = de.itt(d, outcome="y", **kwargs)
    assert res.se_type == label
    assert res.to_frame()["se_type"].item() == label
    assert res.summary().splitlines()[6].endswith(f"; SE {label}")
    assert f", {label}, " in repr(res)


def _unbalanced(df: pd.DataFrame) -> pd.DataFrame:
    """Unequal treated shares across strata and unequal cluster sizes (5 rows out),
    with weights and a coarser stratum of whole clusters (``s2``)."""
    d = df.drop(index=[1, 3, 12, 25, 30]).reset_index(drop=True)
    return d.assign(w=np.random.default_rng(5).uniform(0.3, 3.0, len(d)), s2=d["cl"] // 5)


WITH_SE_DESIGNS = {
    "standard": ({"assigned": "arm"}, "HC1"),
    "weighted": ({"assigned": "arm", "weights": "w"}, "HC3"),
    "blocked": ({"assigned": "arm", "strata": "s"}, "HC1"),
    "weighted blocked": ({"assigned": "arm", "strata": "s", "weights": "w"}, "classical"),
    "clustered": ({"assigned": "arm_c", "cluster": "cl"}, "CR1"),
    "block-clustered": ({"assigned": "arm_c", "strata": "s2", "cluster": "cl"}, "CR1"),
    "weighted block-clustered": (
        {"assigned": "arm_c", "strata": "s2", "cluster": "cl", "weights": "w"}, "CR0"),
    "matched pairs": ({"assigned": "arm", "strata": "pair"}, "HC0"),
}


@pytest.mark.parametrize("design", list(WITH_SE_DESIGNS))
def test_with_se_never_changes_a_design_based_estimate(df, design):
    """Another SE type keeps the estimator: the design-based estimate, with the
    variance of the regression whose coefficient equals it."""
    kwargs, se_type = WITH_SE_DESIGNS[design]
    if design == "matched pairs":
        d = df.assign(pair=np.arange(len(df)) // 2)
    else:
        d = _unbalanced(df)
    res = de.itt(d, outcome="y", **kwargs)
    other = res.with_se(se_type)
    assert other.estimate == pytest.approx(res.estimate, rel=RTOL)
    assert (other.se_type, other.design) == (se_type, res.design)
    assert other.std_error != pytest.approx(res.std_error, rel=1e-6)
    assert (other.n_obs, other.n_clusters, other.n_strata) == (res.n_obs, res.n_clusters, res.n_strata)
    # and the design's own label gives the design-based result back
    again = other.with_se(res.se_type)
    assert (again.estimate, again.std_error, again.df, again.se_type) == (
        res.estimate, res.std_error, res.df, res.se_type)


def test_blocked_with_se_was_the_strata_fixed_effects_estimate_before(df):
    """The strata fixed-effects regression (estimator="ols": precision weights) has
    another estimate; with_se and se_type= must not switch to it."""
    d = _unbalanced(df)
    res = de.itt(d, outcome="y", assigned="arm", strata="s")
    fe = de.itt(d, outcome="y", assigned="arm", strata="s", se_type="HC1", estimator="ols")
    assert fe.estimate != pytest.approx(res.estimate, rel=1e-4)
    assert res.with_se("HC1").estimate == pytest.approx(res.estimate, rel=RTOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_blocked_with_se_hc2_is_the_lin_regression_on_stratum_dummies(df, weighted):
    """HC2 of y ~ z interacted with centred stratum dummies reproduces the blocked
    estimate, SE and n - 2B df exactly (estimatr: difference_in_means(blocks=) equals
    lm_lin(y ~ z, covariates = ~ block, se_type = "HC2")); only the label differs."""
    d = _unbalanced(df)
    kw = {"weights": "w"} if weighted else {}
    res = de.itt(d, outcome="y", assigned="arm", strata="s", **kw)
    hc2 = res.with_se("HC2")
    assert hc2.se_type == "HC2"
    assert hc2.estimate == pytest.approx(res.estimate, rel=RTOL)
    assert hc2.std_error == pytest.approx(res.std_error, rel=RTOL)
    assert hc2.df == res.df == 35 - 2 * 4
    d["s_cat"] = d["s"].astype(str)  # the same model through covariates=
    lin = de.itt(d, outcome="y", assigned="arm", covariates=["s_cat"], **kw)
    assert lin.estimate == pytest.approx(res.estimate, rel=RTOL)
    assert lin.std_error == pytest.approx(res.std_error, rel=RTOL)


def test_with_se_accepts_the_design_label_in_any_case(df):
    res = de.itt(df, outcome="y", assigned="arm", strata="s")
    again = res.with_se("Neyman (Blocked)")
    assert (again.se_type, again.std_error, again.df) == (res.se_type, res.std_error, res.df)
    assert res.with_se("hc2").se_type == "HC2"
    assert res.with_se("Stata").se_type == "HC1"


def test_with_se_lists_the_se_types_of_the_design(df):
    res = de.itt(df, outcome="y", assigned="arm", strata="s")
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'se_type' parameter of Effect.with_se is 'CR2', a cluster-robust type, but no "
            "cluster= was given. Fix: pass cluster=, or use one of 'neyman (blocked)', "
            "'classical', 'HC0', 'HC1', 'HC2', 'HC3'."
        ),
    ):
        res.with_se("CR2")
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'se_type' parameter of Effect.with_se must be one of 'neyman (blocked)', "
            "'classical', 'HC0', 'HC1', 'HC2', 'HC3' (or 'stata'). Got 'HC4' instead. Did you "
            "mean 'HC3'?"
        ),
    ):
        res.with_se("HC4")


def test_with_se_refuses_a_regression_that_would_change_a_matched_pair_estimate(df):
    """Pairs mixed with larger, unbalanced blocks: the size-weighted estimate is no
    regression coefficient with a usable variance, so only the design's own is offered."""
    d = df.copy()
    d["blk"] = np.r_[np.arange(10) // 2, np.repeat([5, 6], 15)]
    d["arm"] = np.r_[np.tile(["control", "treatment"], 5), np.where(np.arange(30) % 3 == 0,
                                                                     "treatment", "control")]
    res = de.itt(d, outcome="y", assigned="arm", strata="blk")
    assert (res.design, res.se_type) == ("matched-pair", "matched-pair")
    with pytest.raises(
        OptionError,
        match=r"The 'se_type' parameter of Effect.with_se is 'HC2', but no regression with that "
        r"variance has the same point estimate as this matched-pair design's difference in means "
        r"\(.*\)\. The only se_type available for this design is 'matched-pair'\.",
    ):
        res.with_se("HC2")
    assert res.with_se("matched-pair").std_error == res.std_error


def test_with_se_reuses_the_cluster_column(df):
    """with_se("CR1") on a clustered result keeps cluster= (it used to drop it)."""
    res = de.itt(df, outcome="y", assigned="arm_c", cluster="cl")
    cr1 = res.with_se("CR1")
    direct = de.itt(df, outcome="y", assigned="arm_c", cluster="cl", se_type="CR1")
    assert (cr1.se_type, cr1.design, cr1.n_clusters) == ("CR1", "clustered", 10)
    assert cr1.std_error == pytest.approx(direct.std_error, rel=RTOL)
    assert cr1.df == direct.df == 9
    with pytest.raises(OptionError, match=r"is 'HC2', which ignores the clusters\. With cluster= "
                                          r"use one of 'CR2', 'CR0', 'CR1'\."):
        res.with_se("HC2")


def test_with_se_reuses_the_cluster_column_with_covariates(df):
    res = de.itt(df, outcome="y", assigned="arm_c", cluster="cl", covariates=["x1"])
    cr1 = res.with_se("stata")
    direct = de.itt(df, outcome="y", assigned="arm_c", cluster="cl", covariates=["x1"],
                    se_type="CR1")
    assert (cr1.se_type, cr1.n_clusters) == ("CR1", 10)
    assert cr1.estimate == pytest.approx(res.estimate, rel=RTOL)
    assert cr1.std_error == pytest.approx(direct.std_error, rel=RTOL)
    with pytest.raises(OptionError, match=r"With cluster= use one of 'CR0', 'CR1', 'CR2'\."):
        res.with_se("HC1")


def test_conf_int_widens_as_alpha_falls(df):
    res = de.itt(df, outcome="y", assigned="arm")
    widths = []
    for alpha in [0.5, 0.2, 0.1, 0.05, 0.01, 0.001]:
        lo, hi = res.interval(alpha)
        ci = res.conf_int(alpha)
        assert list(ci.columns) == ["term", "conf_low", "conf_high"]
        assert (ci.loc[0, "conf_low"], ci.loc[0, "conf_high"]) == (lo, hi)
        assert ci.loc[0, "term"] == "treatment vs control"
        assert lo < res.estimate < hi
        assert (lo + hi) / 2 == pytest.approx(res.estimate, rel=RTOL)
        widths.append(hi - lo)
    assert np.all(np.diff(widths) > 0)
    assert res.interval() == res.interval(0.05) == (res.conf_low, res.conf_high)
    pd.testing.assert_frame_equal(res.conf_int(), res.conf_int(0.05))
    q = stats.t.ppf(0.975, res.df)
    assert res.conf_high == pytest.approx(res.estimate + q * res.std_error, rel=RTOL)


def test_alpha_sets_the_reported_interval(df):
    res = de.itt(df, outcome="y", assigned="arm", alpha=0.1)
    assert (res.conf_low, res.conf_high) == res.interval(0.1)
    assert "90% CI" in res.summary()


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.05", True, float("nan")])
def test_conf_int_rejects_bad_alpha(df, alpha):
    """Checked by the shared validation layer: OptionError, the standard message."""
    res = de.itt(df, outcome="y", assigned="arm")
    with pytest.raises(
        OptionError,
        match=re.escape(
            f"The 'alpha' parameter of Effect.conf_int must be a float in (0, 1). Got {alpha!r} "
            "instead."
        ),
    ):
        res.conf_int(alpha)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"assigned": "arm"},
        {"assigned": "arm", "strata": "s"},
        {"assigned": "arm_c", "cluster": "cl"},
        {"assigned": "arm", "covariates": ["x1", "x2"]},
        {"assigned": "arm", "se_type": "classical"},
    ],
)
def test_to_frame_columns_fixed(df, kwargs):
    res = de.itt(df, outcome="y", **kwargs)
    frame = res.to_frame()
    assert list(frame.columns) == EFFECT_COLUMNS
    assert len(frame) == 1
    row = frame.iloc[0]
    for col in ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "df"]:
        assert row[col] == pytest.approx(getattr(res, col), rel=RTOL)
    assert row["n_obs"] == res.n_obs
    assert (row["se_type"], row["design"], row["estimand"]) == (res.se_type, res.design, "ITT")
    # a copy: changing it does not touch the result
    frame.loc[0, "estimate"] = 1e9
    assert res.to_frame()["estimate"].item() == pytest.approx(res.estimate)


def test_effect_columns_hold_the_style_guide_columns():
    required = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high",
                "df", "n_obs", "se_type", "design"]
    assert set(required) <= set(EFFECT_COLUMNS)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in EFFECT_COLUMNS)


def test_statistic_and_p_value(df):
    res = de.itt(df, outcome="y", assigned="arm")
    assert res.statistic == pytest.approx(res.estimate / res.std_error, rel=RTOL)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(res.statistic), res.df), rel=RTOL)


def test_input_data_not_modified(df):
    before = df.copy()
    de.itt(df, outcome="y", assigned="arm", covariates=["x1"], strata="s")
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- estimator= and se_type=

SE_TYPES_UNCLUSTERED = ["classical", "HC0", "HC1", "HC2", "HC3", "stata", "neyman (blocked)"]


@pytest.mark.parametrize("se_type", SE_TYPES_UNCLUSTERED)
@pytest.mark.parametrize("weighted", [False, True])
def test_se_type_changes_only_the_variance_never_the_estimate(df, se_type, weighted):
    """A variance option must never change the point estimate: on a blocked design
    without covariates every se_type keeps the blocked difference in means."""
    d = _unbalanced(df)
    kw = {"weights": "w"} if weighted else {}
    default = de.itt(d, outcome="y", assigned="arm", strata="s", **kw)
    if se_type == "neyman (blocked)" and weighted:
        se_type = "HC2 (blocked)"
    res = de.itt(d, outcome="y", assigned="arm", strata="s", se_type=se_type, **kw)
    assert res.estimate == default.estimate
    assert res.with_se(default.se_type).std_error == pytest.approx(default.std_error, rel=RTOL)


@pytest.mark.parametrize("se_type", ["CR0", "CR1", "CR2", "stata"])
def test_se_type_keeps_the_block_clustered_estimate(df, se_type):
    d = _unbalanced(df)
    default = de.itt(d, outcome="y", assigned="arm_c", strata="s2", cluster="cl")
    res = de.itt(d, outcome="y", assigned="arm_c", strata="s2", cluster="cl", se_type=se_type)
    assert res.estimate == default.estimate


@pytest.mark.parametrize("weighted", [False, True])
def test_estimator_ols_is_the_strata_fixed_effects_coefficient(df, weighted):
    """estimator="ols" reproduces the coefficient of assignment in the least-squares
    fit with stratum dummies (statsmodels), which differs from the blocked difference
    in means when treated shares differ across strata."""
    d = _unbalanced(df)
    kw = {"weights": "w"} if weighted else {}
    ols = de.itt(d, outcome="y", assigned="arm", strata="s", estimator="ols", **kw)
    X = pd.get_dummies(d["s"], prefix="s", dtype=float)
    X.insert(0, "z", (d["arm"] == "treatment").astype(float))
    fit = (sm.WLS(d["y"], X, weights=d["w"]) if weighted else sm.OLS(d["y"], X)).fit(cov_type="HC2")
    assert ols.estimate == pytest.approx(fit.params["z"], rel=RTOL)
    assert ols.std_error == pytest.approx(fit.bse["z"], rel=RTOL)
    assert ols.method.endswith("strata fixed effects" + (", weighted" if weighted else ""))
    dim = de.itt(d, outcome="y", assigned="arm", strata="s", **kw)
    assert dim.estimate != pytest.approx(ols.estimate, rel=1e-4)
    assert ols.with_se("HC1").estimate == ols.estimate


def test_estimator_option_is_checked(df):
    with pytest.raises(OptionError, match=r"The 'estimator' parameter of itt must be one of "
                       r"'difference_in_means', 'ols'\. Got 'fe' instead\."):
        de.itt(df, outcome="y", assigned="arm", estimator="fe")
    with pytest.raises(OptionError, match=r"The 'estimator' parameter of itt is "
                       r"'difference_in_means', which takes no covariates, but "
                       r"covariates='x1' were given\. Fix: drop estimator="):
        de.itt(df, outcome="y", assigned="arm", covariates=["x1"], estimator="difference_in_means")
