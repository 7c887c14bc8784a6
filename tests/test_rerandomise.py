"""Re-randomisation (Morgan & Rubin 2012): redraw until every standardised
difference is below a bound, warn, and record the number of draws."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import DesignError, RerandomisationWarning

COVARIATES = ["age", "female", "prior_earnings"]
# the library's standardised differences come from sums of squares, pandas'
# from centred data: they agree to rounding (values are O(1), sums of <= 240 terms)
RTOL_STD_DIFF = 1e-9


def max_abs_std_diff(data: pd.DataFrame, arms: pd.Series, covariates: list[str], control: str) -> float:
    """Largest |mean_a - mean_c| / sqrt((var_a + var_c) / 2) over covariates and
    arms, computed directly with pandas (sample variances; Austin 2009, eq. 1)."""
    frame = data[covariates].assign(arm=arms.astype(str).to_numpy())
    means = frame.groupby("arm")[covariates].mean()
    variances = frame.groupby("arm")[covariates].var(ddof=1)
    others = [a for a in means.index if a != control]
    d = (means.loc[others] - means.loc[control]) / np.sqrt((variances.loc[others] + variances.loc[control]) / 2)
    return float(d.abs().to_numpy().max())


def arms_by_person(alloc: de.Allocation, data: pd.DataFrame) -> pd.Series:
    return alloc.table.set_index("id")["arm"].loc[data["id"]]


@pytest.fixture
def rule() -> de.BalanceRule:
    return de.BalanceRule(COVARIATES, max_abs_std_diff=0.05, max_draws=5000)


def test_warns_and_meets_the_rule(people, rule) -> None:
    with pytest.warns(
        RerandomisationWarning,
        match=r"re-randomised \(accepted on draw \d+; rule \|standardised difference\| < 0\.05 on age, female, "
        r"prior_earnings\)\. .*use randomisation tests that repeat the rule for inference",
    ):
        alloc = de.randomise(people, rerandomise=rule, seed=20180501)
    got = max_abs_std_diff(people, arms_by_person(alloc, people), COVARIATES, "control")
    assert got < 0.05
    batch = alloc.metadata["batches"][0]
    np.testing.assert_allclose(batch["max_abs_std_diff"], got, rtol=RTOL_STD_DIFF)
    assert batch["draws"] > 1  # with 3 covariates and a 0.05 bound, the first draw rarely passes
    assert alloc.metadata["design"]["rerandomise"] == {
        "covariates": COVARIATES,
        "max_abs_std_diff": 0.05,
        "max_draws": 5000,
    }
    assert "re-randomised   accepted on draw" in alloc.summary()
    # the balance table tells the same story
    assert alloc.balance(people, COVARIATES).max_abs_std_diff == pytest.approx(got, rel=RTOL_STD_DIFF)


def test_recorded_draws_is_the_first_draw_that_passes(people, rule) -> None:
    with pytest.warns(RerandomisationWarning):
        alloc = de.randomise(people, rerandomise=rule, seed=20180501)
    k = alloc.metadata["batches"][0]["draws"]
    # allowing one draw fewer must fail: none of the first k - 1 draws met the rule
    fewer = de.BalanceRule(COVARIATES, max_abs_std_diff=0.05, max_draws=k - 1)
    with pytest.raises(DesignError, match=rf"in {k - 1:,} draws"):
        de.randomise(people, rerandomise=fewer, seed=20180501)
    exact = de.BalanceRule(COVARIATES, max_abs_std_diff=0.05, max_draws=k)
    with pytest.warns(RerandomisationWarning, match=rf"accepted on draw {k:,};"):
        same = de.randomise(people, rerandomise=exact, seed=20180501)
    pd.testing.assert_frame_equal(same.table, alloc.table)


def test_every_draw_is_a_valid_complete_allocation(people, rule) -> None:
    # the accepted draw is still stratified complete randomisation
    with pytest.warns(RerandomisationWarning):
        alloc = de.randomise(people, strata="site", rerandomise=rule, seed=3)
    counts = alloc.counts()
    assert (counts.diff(axis=1)["treatment"].abs() <= 1).all()
    assert (alloc.table["prob_treatment"] == 0.5).all()


def test_impossible_rule_names_max_draws(people) -> None:
    impossible = {"covariates": ["age", "prior_earnings"], "max_abs_std_diff": 1e-6, "max_draws": 20}
    with pytest.raises(
        DesignError,
        match=re.escape(
            "randomise: no allocation met the re-randomisation rule (all |standardised "
            "difference| < 1e-06) in 20 draws; the best-balanced of them had "
        )
        + r"0\.\d{3}\. Fix: loosen max_abs_std_diff, allow more max_draws, or stratify on the covariates instead\.",
    ):
        de.randomise(people, rerandomise=impossible, seed=1)


def test_best_draw_reported_is_the_smallest(people) -> None:
    # the first 20 draws are the same whatever the bound, so the best of them can
    # be found by accepting with a bound just above each candidate
    impossible = {"covariates": ["age"], "max_abs_std_diff": 1e-9, "max_draws": 20}
    with pytest.raises(DesignError) as info:
        de.randomise(people, rerandomise=impossible, seed=4)
    best = float(re.search(r"best-balanced of them had (\d\.\d+)", str(info.value)).group(1))
    # any bound above the best (as rounded to 3 decimals, plus that rounding) is met within 20 draws
    with pytest.warns(RerandomisationWarning):
        de.randomise(people, rerandomise={**impossible, "max_abs_std_diff": best + 0.0005 + 1e-12}, seed=4)
    # and a bound below it is not
    with pytest.raises(DesignError):
        de.randomise(people, rerandomise={**impossible, "max_abs_std_diff": max(best - 0.0005, 1e-9)}, seed=4)


def test_arm_with_fewer_than_two_people_never_passes() -> None:
    tiny = pd.DataFrame({"id": [1, 2, 3], "x": [0.0, 1.0, 5.0]})
    with pytest.raises(DesignError, match=r"in 5 draws; the best-balanced of them had inf"):
        de.randomise(tiny, rerandomise={"covariates": ["x"], "max_abs_std_diff": 10.0, "max_draws": 5}, seed=1)


def test_verify_reproduces_and_needs_the_covariates(tmp_path, people, rule) -> None:
    with pytest.warns(RerandomisationWarning):
        alloc = de.randomise(people, strata="benefit", rerandomise=rule, seed=11)
    alloc.write(tmp_path / "rr.csv")
    back = de.Allocation.read(tmp_path / "rr.csv")
    back.verify(people)
    assert back.metadata["batches"][0]["draws"] == alloc.metadata["batches"][0]["draws"]
    with pytest.raises(de.errors.ColumnError, match=r"column 'prior_earnings' \(covariates\) is not in the data"):
        back.verify(people.drop(columns="prior_earnings"))


def test_multi_arm_and_cluster_rules(people) -> None:
    rule = {"covariates": ["age", "female"], "max_abs_std_diff": 0.15, "max_draws": 2000}
    with pytest.warns(RerandomisationWarning):
        alloc = de.randomise(people, arms={"control": 2, "a": 1, "b": 1}, rerandomise=rule, seed=2)
    assert max_abs_std_diff(people, arms_by_person(alloc, people), ["age", "female"], "control") < 0.15
    with pytest.warns(RerandomisationWarning):
        clustered = de.randomise(
            people, cluster="office", rerandomise={**rule, "max_abs_std_diff": 0.3}, seed=2
        )
    assert (clustered.table.groupby("cluster")["arm"].nunique() == 1).all()
    # the rule is checked on people, not clusters
    assert max_abs_std_diff(people, arms_by_person(clustered, people), ["age", "female"], "control") < 0.3
    clustered.verify(people)
