"""Baseline balance tables, checked against a hand computation in pandas."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import dwp_eval as de
from dwp_eval._core.variance import VcovResult
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.monitor.balance import DEFAULT_DRAWS, balance
from dwp_eval.monitor.omnibus import _null_wald
from dwp_eval.results import BALANCE_COLUMNS, OMNIBUS_COLUMNS, BalanceTable

# means and variances of a few hundred O(1e4) values, computed two ways: rounding only
RTOL = 1e-10


def hand_balance(data: pd.DataFrame, assigned: str, column: pd.Series, control: str, arm: str) -> dict:
    """Austin (2009) eq. 1-2 and the variance ratio, straight from the definitions."""
    c = column[data[assigned] == control]
    a = column[data[assigned] == arm]
    return {
        "n_control": len(c),
        "n_arm": len(a),
        "mean_control": c.mean(),
        "mean_arm": a.mean(),
        "sd_control": c.std(ddof=1),
        "sd_arm": a.std(ddof=1),
        "std_diff": (a.mean() - c.mean()) / np.sqrt((a.var(ddof=1) + c.var(ddof=1)) / 2),
        "variance_ratio": a.var(ddof=1) / c.var(ddof=1),
    }


@pytest.fixture
def trial(people) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return people.assign(arm=rng.choice(np.array(["control", "treatment", "other"]), size=len(people)))


def test_numeric_covariates_match_hand_computation(trial) -> None:
    covs = ["age", "female", "prior_earnings"]
    bt = de.balance(trial, assigned="arm", covariates=covs, control="control")
    frame = bt.to_frame()
    assert list(frame.columns) == BALANCE_COLUMNS
    assert frame[["covariate", "arm"]].to_numpy().tolist() == [
        [c, a] for a in ["other", "treatment"] for c in covs
    ]
    for row in frame.itertuples(index=False):
        expected = hand_balance(trial, "arm", trial[row.covariate], "control", row.arm)
        for key, value in expected.items():
            np.testing.assert_allclose(getattr(row, key), value, rtol=RTOL, err_msg=f"{row.covariate} {row.arm} {key}")
    assert bt.max_abs_std_diff == pytest.approx(frame["std_diff"].abs().max(), rel=0)
    assert bt.n_by_arm == trial["arm"].value_counts().to_dict()


def test_categorical_covariates_expand_into_levels(trial) -> None:
    bt = de.balance(trial, assigned="arm", covariates=["benefit", "age"], control="control")
    frame = bt.to_frame()
    treat = frame[frame["arm"] == "treatment"]
    # text levels in sorted order, then the numeric covariate
    assert treat["covariate"].tolist() == ["benefit=ESA", "benefit=JSA", "benefit=UC", "age"]
    for level in ["ESA", "JSA", "UC"]:
        share = (trial["benefit"] == level).astype(float)
        expected = hand_balance(trial, "arm", share, "control", "treatment")
        row = treat.set_index("covariate").loc[f"benefit={level}"]
        np.testing.assert_allclose(row["mean_arm"], expected["mean_arm"], rtol=RTOL)
        np.testing.assert_allclose(row["std_diff"], expected["std_diff"], rtol=RTOL)
    # the shares of the levels sum to one in each arm
    assert treat["mean_arm"].iloc[:3].sum() == pytest.approx(1.0, abs=1e-12)  # three shares: rounding


def test_pandas_categorical_keeps_its_level_order_and_unused_levels(trial) -> None:
    cat = trial.assign(
        benefit=pd.Categorical(trial["benefit"], categories=["UC", "JSA", "ESA", "PIP"])
    )
    frame = de.balance(cat, assigned="arm", covariates=["benefit"], control="control").to_frame()
    treat = frame[frame["arm"] == "treatment"]
    assert treat["covariate"].tolist() == ["benefit=UC", "benefit=JSA", "benefit=ESA", "benefit=PIP"]
    pip = treat.set_index("covariate").loc["benefit=PIP"]
    # an empty level: zero share in both arms, no difference, undefined variance ratio
    assert pip["mean_arm"] == 0 and pip["std_diff"] == 0 and np.isnan(pip["variance_ratio"])


def test_arm_order_follows_a_categorical_assigned_column(people) -> None:
    alloc = de.randomise(people, arms={"treatment": 1, "control": 1, "extra": 1}, seed=1)
    bt = alloc.balance(people, ["age"])
    assert bt.arms == ("treatment", "control", "extra")
    assert bt.control == "control"
    assert bt.to_frame()["arm"].tolist() == ["treatment", "extra"]


def test_allocation_balance_joins_by_id(people) -> None:
    alloc = de.randomise(people, strata="site", seed=3)
    shuffled = people.sample(frac=1, random_state=np.random.default_rng(1))
    a = alloc.balance(people, ["age", "benefit"]).to_frame()
    b = alloc.balance(shuffled, ["age", "benefit"]).to_frame()
    pd.testing.assert_frame_equal(a, b, rtol=RTOL)
    joined = people.merge(alloc.table[["id", "arm"]], on="id")
    expected = hand_balance(joined, "arm", joined["age"], "control", "treatment")
    np.testing.assert_allclose(a.set_index("covariate").loc["age", "std_diff"], expected["std_diff"], rtol=RTOL)
    # a data column called "arm" is not confused with the allocation's arm
    c = alloc.balance(people.assign(arm="stale"), ["age"]).to_frame()
    np.testing.assert_allclose(c["std_diff"].iloc[0], expected["std_diff"], rtol=RTOL)


def test_unknown_control_raises(trial) -> None:
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: the control arm 'ctrl' is not in column 'arm', which holds 'control', 'other', "
            "'treatment'. Fix: pass control= with the control arm's label."
        ),
    ):
        de.balance(trial, assigned="arm", covariates=["age"], control="ctrl")


def test_bad_columns_and_missing_values(trial) -> None:
    with pytest.raises(ColumnError, match=r"balance: column 'income' \(covariates\) is not in the data\..*Columns present: 'id', 'site'"):
        de.balance(trial, assigned="arm", covariates=["income"])
    with pytest.raises(ColumnError, match=r"balance: column 'group' \(assigned\) is not in the data"):
        de.balance(trial, assigned="group", covariates=["age"])
    with pytest.raises(ColumnError, match=r"name at least one covariate in covariates="):
        de.balance(trial, assigned="arm", covariates=[])
    holes = trial.assign(age=trial["age"].where(trial.index % 50 != 0))
    with pytest.raises(MissingDataError, match=r"balance: column 'age' \(covariates\) has 5 missing value\(s\)"):
        de.balance(holes, assigned="arm", covariates=["age"])
    dates = trial.assign(when=pd.Timestamp("2018-01-01"))
    with pytest.raises(ColumnError, match=r"column 'when' \(covariates\) has dtype datetime64\[\w+\], which is neither numeric nor categorical"):
        de.balance(dates, assigned="arm", covariates=["when"])


def test_allocation_balance_needs_every_allocated_person(people) -> None:
    alloc = de.randomise(people, seed=3)
    with pytest.raises(ColumnError, match=r"Allocation\.balance: 10 allocated id\(s\) are not in the data"):
        alloc.balance(people.iloc[10:], ["age"])
    with pytest.raises(ColumnError, match=r"Allocation\.balance: column 'id' \(id\) is not in the data\. Columns present: 'site'"):
        alloc.balance(people.drop(columns="id"), ["age"])


def test_balance_table_is_frozen_and_copies(trial) -> None:
    bt = de.balance(trial, assigned="arm", covariates=["age"], control="control")
    frame = bt.to_frame()
    frame.loc[:, "std_diff"] = 99.0
    assert bt.to_frame()["std_diff"].abs().max() < 99
    with pytest.raises(dataclasses.FrozenInstanceError):
        bt.control = "other"  # type: ignore[misc]


def test_summary_flags_large_differences() -> None:
    data = pd.DataFrame({"arm": ["control", "treatment"] * 4, "x": [0, 1, 0, 1, 1, 2, 1, 2], "y": [1, 1, 2, 2, 3, 3, 4, 4]})
    bt = de.balance(data, assigned="arm", covariates=["x", "y"], threshold=0.25)
    text = bt.summary()
    lines = {line.split()[0]: line for line in text.splitlines()[2:-1]}
    assert lines["x"].endswith("*") and not lines["y"].endswith("*")
    assert "largest |std diff|" in text and "(* marks |std diff| >= 0.25)" in text


# ============================================================================ omnibus test
#
# Tolerances, each with its reason:
# - RTOL_REF: statsmodels' own F moves by 4e-9 (relative) when prior_earnings is rescaled
#   by 1e-4 (its solve on the unscaled design loses digits); dwp_eval's does not move.
# - RTOL_SAME: the same statistic by two routes (vectorised over draws vs one fit per draw,
#   the library's CR2 vs a dense brute-force one): rounding only.
RTOL_REF = 1e-8
RTOL_SAME = 1e-9

REF = Path(__file__).resolve().parent / "reference" / "balance"
REF_COVARIATES = [
    "age",
    "female",
    "disability",
    "months_out_of_work",
    "prior_earnings",
    "benefit",
    "health_condition",
]


def _ref_data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / name)


def _results() -> pd.DataFrame:
    return pd.read_csv(REF / "statsmodels_results.csv")


@pytest.mark.parametrize("case", _results()["case"].tolist())
def test_omnibus_f_matches_statsmodels(case: str) -> None:
    ref = _results().set_index("case").loc[case]
    d = _ref_data(ref["data_file"])
    bt = balance(
        d,
        assigned="arm",
        covariates=REF_COVARIATES,
        strata="site" if ref["strata"] else None,
        cluster="jobcentre" if ref["cluster"] else None,
        se_type=ref["se_type"],
    )
    t = next(t for t in bt.omnibus if t.arm == ref["arm"])
    assert " ".join(t.terms) == ref["terms"]
    assert t.n_obs == ref["n_obs"] and t.df_num == ref["df_num"] and t.df_denom == ref["df_denom"]
    np.testing.assert_allclose(t.statistic, ref["f_statistic"], rtol=RTOL_REF)
    np.testing.assert_allclose(t.wald, ref["wald"], rtol=RTOL_REF)
    np.testing.assert_allclose(t.p_value, ref["p_value"], rtol=RTOL_REF)
    assert t.se_type == ref["se_type"]


def test_reference_covers_hc2_with_and_without_strata_and_clusters() -> None:
    ref = _results()
    assert {
        "complete_HC2",
        "strata_treatment_HC2",
        "strata_intensive_HC2",
        "cluster_CR1",
        "cluster_strata_CR1",
    } <= set(ref["case"])


def _brute_cr2_wald(
    d: np.ndarray, X: np.ndarray, strata: np.ndarray | None, cluster: np.ndarray
) -> float:
    """CR2 Wald statistic from the dense hat matrix of the model with all stratum dummies:
    A_g = (I - H_gg)^{-1/2} by eigendecomposition (Bell & McCaffrey 2002)."""
    Z = (
        np.ones((len(d), 1))
        if strata is None
        else (strata[:, None] == np.unique(strata)[None, :]).astype(float)
    )
    full = np.column_stack([Z, X])
    M = np.linalg.inv(full.T @ full)
    beta = M @ full.T @ d
    e = d - full @ beta
    H = full @ M @ full.T
    meat = np.zeros((full.shape[1], full.shape[1]))
    for g in np.unique(cluster):
        idx = np.flatnonzero(cluster == g)
        lam, U = np.linalg.eigh(np.eye(len(idx)) - H[np.ix_(idx, idx)])
        A = (U * np.where(lam > 1e-12, 1 / np.sqrt(np.clip(lam, 1e-300, None)), 0.0)) @ U.T
        u = full[idx].T @ (A @ e[idx])
        meat += np.outer(u, u)
    V = (M @ meat @ M)[Z.shape[1] :, Z.shape[1] :]
    b = beta[Z.shape[1] :]
    return float(b @ np.linalg.solve(V, b))


@pytest.mark.parametrize("strata", [None, "site"])
def test_cr2_omnibus_matches_a_dense_brute_force_computation(strata) -> None:
    d = _ref_data("clustered.csv")
    covs = ["age", "female", "months_out_of_work", "benefit"]
    t = balance(d, assigned="arm", covariates=covs, strata=strata, cluster="jobcentre").omnibus[0]
    assert t.se_type == "CR2" and t.n_clusters == d["jobcentre"].nunique()
    assert t.df_denom == t.n_clusters - 1
    X = np.column_stack(
        [d["age"], d["female"], d["months_out_of_work"]]
        + [(d["benefit"] == lev).to_numpy(float) for lev in ["JSA", "UC", "none"]]
    )
    expected = _brute_cr2_wald(
        (d["arm"] == "treatment").to_numpy(float),
        X,
        None if strata is None else d[strata].to_numpy(),
        d["jobcentre"].to_numpy(),
    )
    np.testing.assert_allclose(t.wald, expected, rtol=RTOL_SAME)
    assert t.terms == (
        "age",
        "female",
        "months_out_of_work",
        "benefit=JSA",
        "benefit=UC",
        "benefit=none",
    )
    np.testing.assert_allclose(t.p_value, stats.f.sf(expected / 6, 6, t.df_denom), rtol=1e-8)


# ---------------------------------------------------------------- randomisation version


@pytest.fixture
def stratified(people) -> pd.DataFrame:
    alloc = de.randomise(
        people, arms={"control": 1, "treatment": 1, "extra": 1}, strata="site", seed=8
    )
    return people.merge(alloc.table[["id", "arm"]], on="id")


@pytest.fixture
def clustered(make_people) -> pd.DataFrame:
    """400 people in 54 teams (office x referral ten-day period), randomised whole within site."""
    people = make_people(400, 11)
    people["team"] = people["office"] + "/" + (people["referred_day"] // 10).astype(str)
    alloc = de.randomise(people, strata="site", cluster="team", seed=12)
    return people.merge(alloc.table[["id", "arm"]], on="id")


COVS = ["age", "female", "prior_earnings", "benefit"]
DESIGNS = [
    ("stratified", "treatment", "site", None, "HC2"),
    ("stratified", "extra", "site", None, "HC1"),
    ("stratified", "treatment", None, None, "classical"),
    ("stratified", "extra", None, None, "HC3"),
    ("clustered", "treatment", "site", "team", "CR2"),
    ("clustered", "treatment", None, "team", "CR1"),
    ("clustered", "treatment", "site", "team", "CR0"),
]


def _with_draw(data: pd.DataFrame, draw: pd.Series, arm: str) -> pd.DataFrame:
    out = data.copy()
    out.loc[draw.index, "arm"] = np.where(draw.to_numpy(), arm, "control")
    return out


@pytest.mark.parametrize(("data_name", "arm", "strata", "cluster", "se_type"), DESIGNS)
def test_vectorised_null_statistics_equal_one_fit_per_draw(
    request, data_name, arm, strata, cluster, se_type
) -> None:
    data = request.getfixturevalue(data_name)
    wald, null, draws = _null_wald(
        data,
        assigned="arm",
        covariates=COVS,
        arm=arm,
        strata=strata,
        cluster=cluster,
        se_type=se_type,
        draws=30,
        seed=5,
    )
    observed = balance(
        data, assigned="arm", covariates=COVS, strata=strata, cluster=cluster, se_type=se_type
    )
    assert wald == pytest.approx(
        next(t for t in observed.omnibus if t.arm == arm).wald, rel=RTOL_SAME
    )
    assert null.shape == (30,) and draws.shape == (
        int(data["arm"].isin([arm, "control"]).sum()),
        30,
    )
    for j in range(4):
        again = balance(
            _with_draw(data, draws[j], arm),
            assigned="arm",
            covariates=COVS,
            strata=strata,
            cluster=cluster,
            se_type=se_type,
        )
        assert null[j] == pytest.approx(
            next(t for t in again.omnibus if t.arm == arm).wald, rel=RTOL_SAME
        )


@pytest.mark.parametrize(
    ("data_name", "arm", "strata", "cluster"),
    [
        ("stratified", "extra", "site", None),
        ("stratified", "treatment", None, None),
        ("clustered", "treatment", "site", "team"),
    ],
)
def test_redrawn_assignments_follow_the_design(request, data_name, arm, strata, cluster) -> None:
    data = request.getfixturevalue(data_name)
    _, _, draws = _null_wald(
        data,
        assigned="arm",
        covariates=COVS,
        arm=arm,
        strata=strata,
        cluster=cluster,
        draws=200,
        seed=3,
    )
    compared = data.loc[draws.index]
    assert set(compared["arm"]) == {arm, "control"}  # people in other arms are not re-drawn
    observed = compared["arm"].eq(arm)
    by = compared[strata] if strata is not None else pd.Series(0, index=compared.index)
    if cluster is not None:
        # whole clusters: every person of a cluster has the cluster's draw
        assert (draws.groupby(compared[cluster]).nunique() == 1).all().all()
        # units are clusters: count treated clusters
        first = ~compared[cluster].duplicated().to_numpy()
        observed, draws, by = observed[first], draws[first], by[first]
    expected = observed.groupby(by).sum()
    for j in range(draws.shape[1]):
        assert draws[j].groupby(by).sum().equals(expected)  # the observed count in every stratum
    # the draws differ from each other and from the observed assignment
    assert draws.T.drop_duplicates().shape[0] > 190
    assert (draws.ne(observed, axis=0)).any().all() or draws.shape[1] == 200


def test_randomisation_p_value_counts_draws_at_least_as_large(stratified) -> None:
    two = stratified[stratified["arm"] != "extra"]
    bt = balance(two, assigned="arm", covariates=COVS, strata="site", draws=400, seed=9)
    t = bt.omnibus[0]
    wald, null, _ = _null_wald(
        two, assigned="arm", covariates=COVS, arm="treatment", strata="site", draws=400, seed=9
    )
    k = int(np.sum(null >= wald * (1 - 1e-9)))
    assert t.ri_p_value == (1 + k) / 401
    assert t.ri_mcse == pytest.approx(np.sqrt(t.ri_p_value * (1 - t.ri_p_value) / 400), rel=1e-12)
    assert t.ri_draws == 400 and not t.ri_enumerated and t.design == "stratified"


def test_small_designs_enumerate_every_assignment() -> None:
    df = pd.DataFrame(
        {
            "arm": ["control", "treatment"] * 4,
            "x": [1.0, 2.5, 0.3, 4.0, 2.2, 3.1, 0.9, 1.7],
            "s": ["a"] * 4 + ["b"] * 4,
        }
    )
    for strata, combos in [
        (None, [c for c in itertools.combinations(range(8), 4)]),
        (
            "s",
            [
                a + b
                for a in itertools.combinations(range(4), 2)
                for b in itertools.combinations(range(4, 8), 2)
            ],
        ),
    ]:
        t = balance(df, assigned="arm", covariates=["x"], strata=strata, draws=100, seed=1).omnibus[
            0
        ]
        assert t.ri_enumerated and t.ri_draws == len(combos) and t.ri_mcse == 0.0
        walds = []
        for treated in combos:
            arm = np.where(np.isin(np.arange(8), treated), "treatment", "control")
            walds.append(
                balance(df.assign(arm=arm), assigned="arm", covariates=["x"], strata=strata)
                .omnibus[0]
                .wald
            )
        assert t.ri_p_value == pytest.approx(
            np.mean(np.array(walds) >= t.wald * (1 - 1e-9)), abs=1e-15
        )
    assert (
        "all 70 assignments, exact"
        in balance(df, assigned="arm", covariates=["x"], draws=100, seed=1).summary()
    )


def test_draws_default_and_seed_rules(stratified) -> None:
    off = balance(stratified, assigned="arm", covariates=COVS, strata="site")
    assert all(t.ri_p_value is None and t.ri_draws == 0 and t.ri_mcse is None for t in off.omnibus)
    assert "no randomisation test (pass seed= to run one)" in off.summary()
    on = balance(stratified, assigned="arm", covariates=COVS, strata="site", seed=4)
    assert [t.ri_draws for t in on.omnibus] == [
        DEFAULT_DRAWS,
        DEFAULT_DRAWS,
    ] and DEFAULT_DRAWS == 2000
    assert (
        balance(stratified, assigned="arm", covariates=COVS, strata="site", seed=4, draws=0)
        .omnibus[0]
        .ri_p_value
        is None
    )
    # same seed, same answer; a Generator works; another seed differs
    again = balance(stratified, assigned="arm", covariates=COVS, strata="site", seed=4)
    gen = balance(
        stratified, assigned="arm", covariates=COVS, strata="site", seed=np.random.default_rng(4)
    )
    other = balance(stratified, assigned="arm", covariates=COVS, strata="site", seed=5)
    p = [t.ri_p_value for t in on.omnibus]
    assert p == [t.ri_p_value for t in again.omnibus] == [t.ri_p_value for t in gen.omnibus]
    assert p != [t.ri_p_value for t in other.omnibus]
    # the randomisation test does not change the F test
    pd.testing.assert_frame_equal(
        off.omnibus_frame()[["statistic", "p_value", "wald"]],
        on.omnibus_frame()[["statistic", "p_value", "wald"]],
    )


# ---------------------------------------------------------------- results and compatibility


def test_one_omnibus_test_per_arm_among_that_arm_and_control(stratified) -> None:
    bt = balance(stratified, assigned="arm", covariates=COVS, strata="site")
    assert bt.arms == ("control", "treatment", "extra")  # the categorical order of the allocation
    assert [t.arm for t in bt.omnibus] == ["treatment", "extra"]
    for t in bt.omnibus:
        assert t.n_obs == int(stratified["arm"].isin([t.arm, "control"]).sum())
        assert t.df_num == 5 and t.df_denom == t.n_obs - 5 - 3  # 3 sites absorbed
        assert t.terms == ("age", "female", "prior_earnings", "benefit=JSA", "benefit=UC")
        assert t.statistic == pytest.approx(t.wald / t.df_num, rel=1e-15)
        assert t.p_value == pytest.approx(stats.f.sf(t.statistic, t.df_num, t.df_denom), rel=1e-12)
        assert t.design == "stratified" and t.n_strata == 3 and t.n_clusters is None
    # the same test restricted to the two arms' data
    two = stratified[stratified["arm"].isin(["treatment", "control"])]
    alone = balance(two, assigned="arm", covariates=COVS, strata="site").omnibus[0]
    assert alone.wald == pytest.approx(bt.omnibus[0].wald, rel=RTOL_SAME)


def test_omnibus_frame_and_summary(stratified) -> None:
    bt = balance(stratified, assigned="arm", covariates=COVS, strata="site", draws=99, seed=2)
    frame = bt.omnibus_frame()
    assert list(frame.columns) == OMNIBUS_COLUMNS
    assert frame["arm"].tolist() == ["treatment", "extra"] and (frame["ri_draws"] == 99).all()
    assert (
        frame["se_type"].tolist() == ["HC2", "HC2"]
        and frame["design"].tolist() == ["stratified"] * 2
    )
    row = frame.iloc[0]
    t = bt.omnibus[0]
    assert (row["statistic"], row["p_value"], row["ri_p_value"], row["df_denom"]) == (
        t.statistic,
        t.p_value,
        t.ri_p_value,
        t.df_denom,
    )
    pd.testing.assert_frame_equal(t.to_frame(), frame.iloc[[0]].reset_index(drop=True))
    text = bt.summary()
    assert (
        "Omnibus test: each arm (vs control) regressed on the covariates and fixed effects of site"
        in text
    )
    assert re.search(
        r"treatment +F = [\d.]+ on \(5, [\d,]+\) df, p = [\d.e-]+; randomisation p = [\d.]+ "
        r"\(99 draws, MC SE [\d.e-]+\)",
        text,
    )
    assert "Omnibus balance test of treatment vs control" in t.summary()
    assert repr(t).startswith("<BalanceTest treatment vs control: F = ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.statistic = 0.0  # type: ignore[misc]
    no_ri = balance(stratified, assigned="arm", covariates=COVS).omnibus_frame()
    assert no_ri["ri_p_value"].isna().all() and (no_ri["ri_draws"] == 0).all()


def test_omnibus_false_gives_the_descriptive_table_only(trial) -> None:
    plain = balance(trial, assigned="arm", covariates=["age", "benefit"], omnibus=False)
    full = balance(trial, assigned="arm", covariates=["age", "benefit"])
    assert plain.omnibus == () and len(full.omnibus) == 2
    pd.testing.assert_frame_equal(plain.to_frame(), full.to_frame())
    assert list(plain.omnibus_frame().columns) == OMNIBUS_COLUMNS and plain.omnibus_frame().empty
    assert "Omnibus" not in plain.summary()
    # a covariate constant in the sample is fine for the descriptive table
    const = trial.assign(everyone=1)
    assert (
        balance(const, assigned="arm", covariates=["everyone"], omnibus=False).max_abs_std_diff == 0
    )


def test_old_calls_keep_working(people, trial) -> None:
    # the positional constructor of BalanceTable, and balance / Allocation.balance without options
    frame = balance(trial, assigned="arm", covariates=["age"]).to_frame()
    bt = BalanceTable(
        frame, "control", ("control", "other", "treatment"), ("age",), {"control": 1}, 0.1
    )
    assert bt.omnibus == () and bt.strata is None and bt.omnibus_frame().empty
    alloc = de.randomise(people, strata="site", seed=3)
    table = alloc.balance(people, ["age", "benefit", "female"])
    assert [t.arm for t in table.omnibus] == ["treatment"] and table.omnibus[0].se_type == "HC2"
    # Allocation.balance follows the design: stratum fixed effects for a stratified allocation
    assert table.omnibus[0].design == "stratified" and table.strata == "stratum"
    direct = balance(people.merge(alloc.table[["id", "arm", "stratum"]], on="id"), assigned="arm",
                     covariates=["age", "benefit", "female"], strata="stratum")
    assert table.omnibus[0].statistic == direct.omnibus[0].statistic
    clustered = de.randomise(people, cluster="office", seed=4).balance(people, ["age"])
    assert clustered.omnibus[0].se_type == "CR2" and clustered.cluster == "office"


def test_rare_levels_are_noted() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "arm": rng.permutation(["control", "treatment"] * 30),
            "x": rng.normal(size=60),
            "cat": ["a"] * 29 + ["b"] * 28 + ["c"] * 3,
        }
    )
    t = balance(df, assigned="arm", covariates=["x", "cat"]).omnibus[0]
    assert t.notes == (
        "level(s) held by fewer than 5 people: cat=c (3); robust F tests over-reject "
        "with rare levels, so prefer the randomisation p-value",
    )
    assert (
        "note: level(s) held by fewer than 5 people"
        in balance(df, assigned="arm", covariates=["x", "cat"]).summary()
    )


# ---------------------------------------------------------------- errors


def _df(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arm": rng.permutation(np.array(["control", "treatment"] * (n // 2))),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "s": np.repeat(["a", "b", "c", "d"], n // 4),
            "c": np.repeat([f"c{i}" for i in range(n // 4)], 4),
        }
    )


def test_constant_covariates_are_named() -> None:
    df = _df()
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: covariate 'k' is constant (3) among the 40 people in 'treatment' and "
            "'control', "
            "so "
            "the omnibus regression cannot include it (it would be collinear with the intercept). "
            "Fix: "
            "drop it from covariates, or pass omnibus=False for the descriptive table only."
        ),
    ):
        balance(df.assign(k=3), assigned="arm", covariates=["x", "k"])
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: covariate 'site' takes one value ('north') among the 40 people in "
            "'treatment' "
            "and "
            "'control', so the omnibus regression cannot include it"
        ),
    ):
        balance(df.assign(site="north"), assigned="arm", covariates=["x", "site"])
    # constant only among the compared arms: the message counts those people
    three = df.assign(
        arm=np.where(np.arange(40) < 10, "zzz", df["arm"]), k=np.where(np.arange(40) < 10, 1.0, 0.0)
    )
    n_compared = int(three["arm"].isin(["treatment", "control"]).sum())
    with pytest.raises(
        DesignError,
        match=re.escape(
            f"balance: covariate 'k' is constant (0) among the {n_compared} people in 'treatment' "
            f"and "
            f"'control'"
        ),
    ):
        balance(three, assigned="arm", covariates=["x", "k"])


def test_covariates_constant_within_strata_leave_the_omnibus_test_with_a_note() -> None:
    df = _df()
    by_stratum = df.assign(level=df["s"].map({"a": 1.0, "b": 2.0, "c": 2.0, "d": 5.0}))
    bt = balance(by_stratum, assigned="arm", covariates=["x", "level"], strata="s")
    test = bt.omnibus[0]
    assert test.df_num == 1  # only x is tested
    assert "level" in set(bt.to_frame()["covariate"])  # still tabulated
    assert any("'level' constant within every stratum" in n for n in test.notes)
    alone = balance(by_stratum, assigned="arm", covariates=["x"], strata="s").omnibus[0]
    assert test.statistic == pytest.approx(alone.statistic, rel=1e-12)
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: every covariate ('level') is constant within each stratum of 's' among the "
            "people in 'treatment' and 'control', so the stratification balances them all and the "
            "omnibus test has nothing to test. Fix: pass omnibus=False for the descriptive table only."
        ),
    ):
        balance(by_stratum, assigned="arm", covariates=["level"], strata="s")
    # without strata the same covariate is tested
    assert balance(by_stratum, assigned="arm", covariates=["x", "level"]).omnibus[0].df_num == 2


def test_collinear_covariates_are_named() -> None:
    df = _df()
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: the covariates are collinear: 'w' can be written as a combination of the "
            "other "
            "columns (or of the strata). Fix: drop it from covariates. Or pass omnibus=False for "
            "the "
            "descriptive table without the omnibus test."
        ),
    ):
        balance(df.assign(w=2 * df["x"] - df["z"] + 1), assigned="arm", covariates=["x", "z", "w"])


def test_missing_values_in_design_columns_raise(trial) -> None:
    holes = trial.assign(site=trial["site"].where(trial.index % 40 != 0))
    with pytest.raises(
        MissingDataError, match=r"balance: column 'site' \(strata\) has 6 missing value\(s\)"
    ):
        balance(holes, assigned="arm", covariates=["age"], strata="site")
    holes = trial.assign(office=trial["office"].where(trial.index % 60 != 0))
    with pytest.raises(
        MissingDataError, match=r"balance: column 'office' \(cluster\) has 4 missing value\(s\)"
    ):
        balance(holes, assigned="arm", covariates=["age"], cluster="office")
    with pytest.raises(
        ColumnError, match=r"balance: column 'region' \(strata\) is not in the data"
    ):
        balance(trial, assigned="arm", covariates=["age"], strata="region")
    with pytest.raises(ColumnError, match=r"balance: column 'team' \(cluster\) is not in the data"):
        balance(trial, assigned="arm", covariates=["age"], cluster="team")


def test_a_stratum_of_one_person_raises() -> None:
    df = _df()
    df.loc[0, "s"] = "lonely"
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: 1 stratum/strata of column 's' hold one person among those in 'treatment' "
            "and "
            "'control' ('lonely'), so the omnibus regression with stratum fixed effects fits them "
            "exactly (leverage one). Fix: merge each with a similar stratum, or pass strata=None."
        ),
    ):
        balance(df, assigned="arm", covariates=["x"], strata="s")


def test_cluster_design_errors() -> None:
    df = _df()
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: 8 cluster(s) of column 'c' hold people of more than one arm (e.g. 'c0', "
            "'c1', "
            "'c2', 'c4', 'c5'), so whole clusters were not randomised. Fix: pass the column of the "
            "unit "
            "of assignment as cluster=, or cluster=None for individual randomisation."
        ),
    ):
        balance(df, assigned="arm", covariates=["x"], cluster="c")
    whole = df.assign(
        arm=np.where(df["c"].isin(["c0", "c3", "c5", "c6", "c9"]), "treatment", "control")
    )
    split = whole.assign(s=np.tile(["a", "b"], 20))
    with pytest.raises(
        DesignError,
        match=re.escape("balance: 10 cluster(s) of column 'c' span more than one stratum of 's'"),
    ):
        balance(split, assigned="arm", covariates=["x"], cluster="c", strata="s")
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: the 10 clusters in 'treatment' and 'control' are too few for a "
            "cluster-robust "
            "test of 9 covariate coefficient(s): the covariance is singular with fewer than 11 "
            "clusters. "
            "Fix: pass fewer covariates (at most 8)."
        ),
    ):
        extra = {f"v{i}": np.random.default_rng(i).normal(size=40) for i in range(7)}
        balance(whole.assign(**extra), assigned="arm", covariates=["x", "z", *extra], cluster="c")
    assert (
        balance(whole, assigned="arm", covariates=["x", "z"], cluster="c").omnibus[0].design
        == "cluster"
    )


def test_perfect_prediction_and_no_residual_df_raise() -> None:
    df = _df()
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: the covariates predict assignment to 'treatment' rather than 'control' "
            "exactly "
            "(every residual of the omnibus regression is zero), so they cannot be baseline "
            "covariates "
            "of a randomised trial. Fix: check that none of them was recorded after randomisation "
            "or "
            "derived from the arm."
        ),
    ):
        balance(
            df.assign(post=(df["arm"] == "treatment").astype(int)),
            assigned="arm",
            covariates=["x", "post"],
        )
    tiny = _df(8)
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: the omnibus regression of 'treatment' vs 'control' has 8 parameters for 8 "
            "people, "
            "so there are no residual degrees of freedom. Fix: pass fewer covariates (or coarser "
            "strata)."
        ),
    ):
        extra = {f"v{i}": np.random.default_rng(i).normal(size=8) for i in range(5)}
        balance(tiny.assign(**extra), assigned="arm", covariates=["x", "z", *extra])


def test_leverage_one_and_singular_covariance_raise(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "arm": rng.permutation(["control", "treatment"] * 30),
            "x": rng.normal(size=60),
            "cat": ["a"] * 30 + ["b"] * 29 + ["c"],
        }
    )
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: 1 person(s) among those in 'treatment' and 'control' have leverage one in "
            "the "
            "omnibus regression (rows 59), from the level(s) 'cat=c' held by one person: their "
            "residuals "
            "are zero, so the HC2 covariance, and the F test, are not defined. Fix: merge rare "
            "levels "
            "into a larger one, or drop the covariate."
        ),
    ):
        balance(df, assigned="arm", covariates=["x", "cat"])
    # the classical covariance is defined
    assert (
        balance(df, assigned="arm", covariates=["x", "cat"], se_type="classical").omnibus[0].df_num
        == 3
    )

    mod = importlib.import_module(
        "dwp_eval.monitor.omnibus"
    )  # the omnibus test's module, where the Wald statistic takes its covariance

    def singular(fit, se_type, cluster=None):
        return VcovResult(np.zeros((fit.k, fit.k)), np.full(fit.k, 1.0), se_type, None)

    monkeypatch.setattr(mod, "vcov", singular)
    with pytest.raises(
        DesignError,
        match=re.escape(
            "balance: the HC2 covariance of the covariate coefficients of 'treatment' vs "
            "'control' is "
            "singular: in some direction of the covariates no person (or cluster) has residual "
            "variation, typically a rare level of a categorical covariate whose holders are all "
            "in one "
            "arm and alike otherwise. The omnibus Wald test is then undefined. Fix: merge rare "
            "levels "
            "into a larger one, or drop the covariate."
        ),
    ):
        balance(_df(), assigned="arm", covariates=["x"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"draws": -1},
            OptionError,
            "The 'draws' parameter of balance must be a non-negative int (0: no randomisation "
            "test). Got -1 instead.",
        ),
        (
            {"draws": 2.5, "seed": 1},
            OptionError,
            "The 'draws' parameter of balance must be a non-negative int (0: no randomisation "
            "test). Got 2.5 instead.",
        ),
        (
            {"draws": True, "seed": 1},
            OptionError,
            "The 'draws' parameter of balance must be a non-negative int (0: no randomisation "
            "test). Got True instead.",
        ),
        (
            {"draws": 100},
            OptionError,
            "The 'seed' parameter of balance must be an int or a numpy.random.Generator when "
            "draws=100 "
            "asks "
            "for a randomisation test. Got None instead. Fix: pass a recorded integer, e.g. "
            "seed=20180501, "
            "so the test can be reproduced.",
        ),
        (
            {"draws": 100, "seed": 1, "omnibus": False},
            OptionError,
            "balance: draws=100 asks for the randomisation version of the omnibus test, but "
            "omnibus=False. "
            "Fix: pass omnibus=True, or drop draws=.",
        ),
        (
            {"omnibus": "yes"},
            OptionError,
            "The 'omnibus' parameter of balance must be True or False. Got 'yes' instead.",
        ),
        (
            {"seed": -3},
            OptionError,
            "The 'seed' parameter of balance must be a non-negative int or a "
            "numpy.random.Generator. Got -3 instead.",
        ),
        (
            {"seed": "abc"},
            OptionError,
            "The 'seed' parameter of balance must be an int or a numpy.random.Generator.",
        ),
        (
            {"se_type": "HC4"},
            OptionError,
            "The 'se_type' parameter of balance must be one of 'classical', 'HC0', 'HC1', 'HC2', "
            "'HC3' "
            "(or 'stata'). Got 'HC4' instead. Did you mean 'HC3'?",
        ),
        (
            {"se_type": "CR2"},
            OptionError,
            "The 'se_type' parameter of balance is 'CR2', a cluster-robust type, but no cluster= "
            "was given.",
        ),
    ],
)
def test_option_errors(kwargs, error, message) -> None:
    with pytest.raises(error, match=re.escape(message)):
        balance(_df(), assigned="arm", covariates=["x"], **kwargs)


# ---------------------------------------------------------------- Monte Carlo (seeded)


def rejection_band(n: int, p: float, level: float = 0.999) -> tuple[int, int]:
    """The central ``level`` range of the number of rejections in ``n`` tests of size ``p``."""
    lo, hi = stats.binom.ppf([(1 - level) / 2, (1 + level) / 2], n, p)
    return int(lo), int(hi)


def test_rejection_band_helper() -> None:
    lo, hi = rejection_band(1000, 0.05)
    assert lo <= 50 <= hi and lo > 25 and hi < 75
    # a band that holds 99.9% of the binomial mass, no more than needed
    assert stats.binom.cdf(hi, 1000, 0.05) - stats.binom.cdf(lo - 1, 1000, 0.05) >= 0.999
    assert rejection_band(200, 0.5)[0] > 70


@pytest.fixture(scope="module")
def mc_population() -> pd.DataFrame:
    return de.datasets.whp_like(n=600, seed=77)


MC_COVS = [
    "age",
    "female",
    "disability",
    "months_out_of_work",
    "prior_earnings",
    "benefit",
    "health_condition",
]


@pytest.mark.slow
def test_f_test_p_values_are_uniform_under_randomisation(mc_population) -> None:
    rng = np.random.default_rng(2024)
    reps = 250
    arms = np.array(["control", "treatment"] * 300)
    p = np.array(
        [
            balance(
                mc_population.assign(arm=rng.permutation(arms)), assigned="arm", covariates=MC_COVS
            )
            .omnibus[0]
            .p_value
            for _ in range(reps)
        ]
    )
    lo, hi = rejection_band(reps, 0.05)
    assert lo <= int(np.sum(p <= 0.05)) <= hi
    assert stats.kstest(p, "uniform").pvalue > 0.001


@pytest.mark.slow
@pytest.mark.parametrize(
    ("strata", "cluster", "reps"), [("site", None, 100), ("site", "jobcentre", 70)]
)
def test_randomisation_p_values_are_uniform_under_the_design(
    mc_population, strata, cluster, reps
) -> None:
    rng = np.random.default_rng(7)
    covs = ["age", "female", "months_out_of_work", "benefit"]
    p = []
    for _ in range(reps):
        alloc = de.randomise(mc_population, strata=strata, cluster=cluster, seed=rng)
        data = mc_population.merge(alloc.table[["id", "arm"]], on="id")
        t = balance(
            data,
            assigned="arm",
            covariates=covs,
            strata=strata,
            cluster=cluster,
            draws=49,
            seed=rng,
        ).omnibus[0]
        p.append(t.ri_p_value)
    p = np.array(p)
    assert set(np.round(p * 50, 9)) <= set(range(1, 51))  # (1 + k) / 50
    for level in (0.1, 0.2):  # exact: P(p <= level) = level when level * 50 is whole
        lo, hi = rejection_band(reps, level)
        assert lo <= int(np.sum(p <= level + 1e-12)) <= hi, level


@pytest.mark.slow
def test_both_tests_reject_an_injected_imbalance(mc_population) -> None:
    rng = np.random.default_rng(99)
    # older people more likely to be assigned: not a randomised comparison
    age = mc_population["age"].to_numpy(float)
    prob = 1 / (1 + np.exp(-(age - age.mean()) / 12))
    f_rejects = ri_rejects = 0
    reps = 20
    for _ in range(reps):
        arm = np.where(rng.random(len(age)) < prob, "treatment", "control")
        t = balance(
            mc_population.assign(arm=arm), assigned="arm", covariates=MC_COVS, draws=99, seed=rng
        ).omnibus[0]
        f_rejects += t.p_value <= 0.05
        ri_rejects += t.ri_p_value <= 0.05
    assert f_rejects >= 19 and ri_rejects >= 19


# ---------------------------------------------------------------- properties


def _random_trial(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arm": rng.permutation(np.array(["control", "treatment"] * (n // 2))),
            "x": rng.normal(size=n),
            "w": rng.exponential(size=n),
            "g": rng.choice(np.array(["p", "q", "r"]), size=n),
            "s": rng.choice(np.array(["s1", "s2", "s3"]), size=n),
        }
    )


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), n=st.integers(15, 40).map(lambda k: 2 * k))
def test_row_order_does_not_matter(seed, n) -> None:
    df = _random_trial(seed, n)
    a = balance(df, assigned="arm", covariates=["x", "w", "g"], strata="s").omnibus[0]
    b = balance(
        df.sample(frac=1, random_state=np.random.default_rng(seed + 1)),
        assigned="arm",
        covariates=["x", "w", "g"],
        strata="s",
    ).omnibus[0]
    assert b.wald == pytest.approx(a.wald, rel=RTOL_SAME) and b.df_denom == a.df_denom


@settings(max_examples=20)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(15, 40).map(lambda k: 2 * k),
    scale=st.floats(0.01, 100) | st.floats(-100, -0.01),
    shift=st.floats(-1e3, 1e3),
)
def test_rescaling_a_covariate_leaves_the_test_unchanged(seed, n, scale, shift) -> None:
    df = _random_trial(seed, n)
    a = balance(df, assigned="arm", covariates=["x", "w", "g"]).omnibus[0]
    b = balance(
        df.assign(x=scale * df["x"] + shift), assigned="arm", covariates=["x", "w", "g"]
    ).omnibus[0]
    assert b.wald == pytest.approx(a.wald, rel=1e-7)  # conditioning of the shifted column


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), n=st.integers(15, 40).map(lambda k: 2 * k))
def test_which_arm_is_control_does_not_matter_and_one_stratum_is_no_strata(seed, n) -> None:
    df = _random_trial(seed, n)
    a = balance(df, assigned="arm", covariates=["x", "g"]).omnibus[0]
    b = balance(df, assigned="arm", covariates=["x", "g"], control="treatment").omnibus[0]
    c = balance(df.assign(one="all"), assigned="arm", covariates=["x", "g"], strata="one").omnibus[
        0
    ]
    assert b.wald == pytest.approx(a.wald, rel=RTOL_SAME)
    assert c.wald == pytest.approx(a.wald, rel=RTOL_SAME) and c.df_denom == a.df_denom


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), draws=st.integers(1, 60))
def test_randomisation_p_value_is_a_valid_monte_carlo_p_value(seed, draws) -> None:
    df = _random_trial(seed, 40)
    t = balance(
        df, assigned="arm", covariates=["x", "w"], strata="s", draws=draws, seed=seed
    ).omnibus[0]
    assert t.ri_draws == draws and 1 / (draws + 1) <= t.ri_p_value <= 1
    assert (t.ri_p_value * (draws + 1)) == pytest.approx(
        round(t.ri_p_value * (draws + 1)), abs=1e-9
    )
