"""Baseline balance tables, checked against a hand computation in pandas."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, MissingDataError
from dwp_eval.results import BALANCE_COLUMNS

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
