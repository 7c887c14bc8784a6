"""The synthetic Labour-Force-Survey-like area sample ``datasets.lfs_areas``: repeated
cross-sections with survey weights and a staggered pilot with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.datasets import lfs_areas
from dwp_eval.datasets.lfs import AGE_BANDS
from dwp_eval.errors import OptionError

COLUMNS = ["area", "region", "quarter", "cohort", "treated", "age_band", "employed", "weight", "true_effect"]


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return lfs_areas(seed=2024)


def true_simple_att(data: pd.DataFrame) -> float:
    """The target of ``aggregate("simple")``: the true ATT(g, t) of the post-start cells,
    weighted by each wave's share of the (weighted) respondents (Callaway & Sant'Anna 2021,
    eq. 3.10, with R did's survey-weighted shares)."""
    cells = data[data["treated"] == 1].groupby(["cohort", "quarter"])["true_effect"].first().reset_index()
    share = data.groupby("cohort")["weight"].sum()
    w = cells["cohort"].map(share)
    return float((cells["true_effect"] * w).sum() / w.sum())


def test_shape_and_columns(survey: pd.DataFrame) -> None:
    assert list(survey.columns) == COLUMNS
    assert survey["area"].nunique() == 60
    assert sorted(survey["quarter"].unique().tolist()) == list(range(1, 17))
    sizes = survey.groupby(["area", "quarter"]).size()
    assert len(sizes) == 60 * 16  # every area sampled every quarter
    assert sizes.min() >= 10
    assert 90 < sizes.mean() < 110  # people=100 on average
    assert set(survey["cohort"].unique()) <= {0, 5, 9, 13}
    assert set(survey["age_band"].unique()) == set(AGE_BANDS)
    assert set(survey["employed"].unique()) == {0, 1}
    # the cohort is a property of the area; treated switches on at the cohort quarter
    assert (survey.groupby("area")["cohort"].nunique() == 1).all()
    on = (survey["cohort"] > 0) & (survey["quarter"] >= survey["cohort"])
    assert (survey["treated"] == on.astype(int)).all()
    assert (survey.loc[~on, "true_effect"] == 0).all()


def test_weights_positive_and_varying(survey: pd.DataFrame) -> None:
    w = survey["weight"]
    assert np.isfinite(w).all() and (w > 0).all()
    assert w.std() / w.mean() > 0.3
    # the weights gross the sample up to the area's population, the same each quarter
    pop = survey.groupby(["area", "quarter"])["weight"].sum().groupby("area")
    assert (pop.std() / pop.mean()).median() < 0.1


def test_the_weights_correct_the_over_sampled_age_band(survey: pd.DataFrame) -> None:
    sample = survey["age_band"].value_counts(normalize=True)
    population = survey.groupby("age_band")["weight"].sum() / survey["weight"].sum()
    assert sample["25-49"] == pytest.approx(0.58, abs=0.01)
    assert population["25-49"] == pytest.approx(0.52, abs=0.01)
    assert population["16-24"] == pytest.approx(0.18, abs=0.01)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = lfs_areas(n_areas=10, quarters=6, cohorts=(3, 5), people=30, seed=7)
    b = lfs_areas(n_areas=10, quarters=6, cohorts=(3, 5), people=30, seed=np.random.default_rng(7))
    c = lfs_areas(n_areas=10, quarters=6, cohorts=(3, 5), people=30, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_true_effects_follow_the_documented_model() -> None:
    data = lfs_areas(n_areas=40, quarters=10, cohorts=(4, 6, 8), people=20, effect=0.02,
                     effect_growth=0.004, never_share=0.2, seed=3)
    on = data[data["treated"] == 1]
    k = on["cohort"].map({4: 1.5, 6: 1.0, 8: 0.5})
    expected = k * (0.02 + 0.004 * (on["quarter"] - on["cohort"]))
    np.testing.assert_allclose(on["true_effect"], expected, rtol=0, atol=1e-15)
    # one effect per wave and quarter: it is the true ATT(g, t)
    assert (on.groupby(["cohort", "quarter"])["true_effect"].nunique() == 1).all()


def test_staggered_did_recovers_the_true_effect(survey: pd.DataFrame) -> None:
    res = de.staggered_did(survey, outcome="employed", unit="area", time="quarter", cohort="cohort",
                           weights="weight", panel=False, bootstrap=0)
    simple = res.aggregate("simple")
    truth = true_simple_att(survey)
    assert 0.04 < truth < 0.06
    assert abs(simple.estimate - truth) < 3 * simple.std_error
    assert 0.005 < simple.std_error < 0.03
    # the wave effects too (earlier waves gain more)
    groups = res.aggregate("group").to_frame().set_index("cohort")
    cells = survey[survey["treated"] == 1].groupby(["cohort", "quarter"])["true_effect"].first()
    for g, row in groups.iterrows():
        assert abs(row["estimate"] - cells.loc[g].mean()) < 3.5 * row["std_error"]


def test_parallel_trends_hold_by_default_and_pretrend_breaks_them() -> None:
    kw = dict(outcome="employed", unit="area", time="quarter", cohort="cohort", weights="weight",
              panel=False, base_period="universal", bootstrap=0)
    clean = de.staggered_did(lfs_areas(people=300, seed=5), **kw).aggregate("dynamic", window=(-4, 0))
    drift = de.staggered_did(lfs_areas(people=300, pretrend=-0.01, seed=5), **kw).aggregate(
        "dynamic", window=(-4, 0))
    pre_clean = clean.to_frame().set_index("event_time").loc[-4, "estimate"]
    pre_drift = drift.to_frame().set_index("event_time").loc[-4, "estimate"]
    # a slope of -0.01 a quarter in piloted areas: 3 quarters before the base period, +0.03
    assert abs(pre_clean) < 0.02
    assert pre_drift - pre_clean == pytest.approx(0.03, abs=0.01)  # same draws: only the switch noise


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_areas": 1}, r"'n_areas' parameter of lfs_areas must be an int >= 2\. Got 1"),
        ({"n_areas": 2.5}, r"'n_areas' parameter of lfs_areas must be an int >= 2\. Got 2\.5"),
        ({"quarters": True}, r"'quarters' parameter of lfs_areas must be an int >= 2\. Got True"),
        ({"people": 1}, r"'people' parameter of lfs_areas must be an int >= 2\. Got 1"),
        ({"cohorts": (1, 5)}, r"'cohorts' parameter of lfs_areas must be distinct quarters between 2 "
                              r"and quarters \(16\)\. Got \(1, 5\)"),
        ({"cohorts": (5, 5)}, r"'cohorts' parameter of lfs_areas must be distinct"),
        ({"cohorts": (17,)}, r"'cohorts' parameter of lfs_areas must be distinct"),
        ({"cohorts": ()}, r"'cohorts' parameter of lfs_areas must be distinct"),
        ({"cohorts": ("x",)}, r"'cohorts' parameter of lfs_areas must be distinct"),
        ({"never_share": 1.0}, r"'never_share' parameter of lfs_areas must be in \[0, 1\)\. Got 1\.0"),
        ({"effect": float("nan")}, r"'effect' parameter of lfs_areas must be a finite number\. Got nan"),
        ({"effect_growth": "0.1"}, r"'effect_growth' parameter of lfs_areas must be a finite number"),
        ({"pretrend": float("inf")}, r"'pretrend' parameter of lfs_areas must be a finite number"),
        ({"seed": -1}, r"'seed' parameter of lfs_areas must be a non-negative int"),
    ],
)
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    args = {"seed": 1, **kwargs}
    with pytest.raises(OptionError, match=message):
        lfs_areas(**args)


def test_seed_is_required() -> None:
    with pytest.raises(TypeError, match="seed"):
        lfs_areas()  # type: ignore[call-arg]
