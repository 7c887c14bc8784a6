"""The synthetic Work-and-Health-style population ``datasets.whp_like``."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.datasets import SITES, whp_like
from dwp_eval.errors import OptionError

COLUMNS = [
    "id",
    "referred_on",
    "site",
    "jobcentre",
    "benefit",
    "health_condition",
    "disability",
    "female",
    "age",
    "months_out_of_work",
    "prior_earnings",
]


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return whp_like(n=20_000, seed=20180501)


def test_shape_columns_and_dtypes() -> None:
    people = whp_like(n=1234, seed=1)
    assert people.shape == (1234, 11)
    assert list(people.columns) == COLUMNS
    assert people["id"].tolist() == list(range(1, 1235))
    assert people["id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(people["referred_on"])
    for col in ["site", "jobcentre", "benefit", "health_condition"]:
        assert pd.api.types.is_string_dtype(people[col]), col
    for col in ["disability", "female", "age", "months_out_of_work"]:
        assert people[col].dtype == np.int64, col
    assert people["prior_earnings"].dtype == np.float64
    assert not people.isna().any().any()


def test_values_are_in_their_ranges(big) -> None:
    assert set(big["site"]) == set(SITES)
    assert set(big["benefit"]) == {"UC", "ESA", "JSA", "none"}
    assert set(big["health_condition"]) == {"mental_health", "musculoskeletal", "other_physical", "none"}
    assert set(big["disability"]) == {0, 1} and set(big["female"]) == {0, 1}
    assert big["age"].between(18, 64).all()
    assert big["months_out_of_work"].between(0, 120).all()
    assert (big["prior_earnings"] >= 0).all()
    assert big["referred_on"].min() >= pd.Timestamp("2017-11-27")
    assert big["referred_on"].max() < pd.Timestamp("2017-11-27") + pd.Timedelta(days=17 * 30)
    assert big["referred_on"].is_monotonic_increasing  # sorted by id = referral order


def test_shares_follow_the_documented_shape(big) -> None:
    # 20,000 draws: a share's binomial SD is at most 0.0035, so 0.02 is over 5 SDs
    share = big["site"].value_counts(normalize=True)
    for site, (p, _) in SITES.items():
        assert share[site] == pytest.approx(p, abs=0.02), site
    zero = (big["prior_earnings"] == 0).mean()
    assert zero == pytest.approx(0.55, abs=0.1)  # "zero for about 55%" (docstring)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = whp_like(n=500, seed=7)
    pd.testing.assert_frame_equal(a, whp_like(n=500, seed=7))
    pd.testing.assert_frame_equal(a, whp_like(n=500, seed=np.random.default_rng(7)))
    b = whp_like(n=500, seed=8)
    assert not a.drop(columns="id").equals(b.drop(columns="id"))


def test_jobcentres_are_nested_in_sites(big) -> None:
    sites_per_jobcentre = big.groupby("jobcentre")["site"].nunique()
    assert (sites_per_jobcentre == 1).all()
    initials = {s: "".join(w[0] for w in s.split()) for s in SITES}
    site_of = big.drop_duplicates("jobcentre").set_index("jobcentre")["site"]
    for jobcentre, site in site_of.items():
        prefix, number = jobcentre.split("-")
        assert prefix == initials[site]
        assert 1 <= int(number) <= SITES[site][1]
    # 3 to 9 jobcentres per site, as documented, all of them used at this size
    per_site = big.groupby("site")["jobcentre"].nunique().to_dict()
    assert per_site == {s: m for s, (_, m) in SITES.items()}


def test_usable_for_a_stratified_cluster_design() -> None:
    people = whp_like(n=600, seed=3)
    alloc = de.randomise(people, strata="site", cluster="jobcentre", seed=1)
    assert alloc.design == "stratified-cluster"
    alloc.verify(people)


@pytest.mark.parametrize("n", [0, -5, 2.5, "10", True])
def test_bad_n(n) -> None:
    with pytest.raises(OptionError, match=re.escape(f"The 'n' parameter of whp_like must be a positive int. Got {n!r} instead.")):
        whp_like(n=n, seed=1)


def test_bad_seed() -> None:
    with pytest.raises(OptionError, match=r"The 'seed' parameter of whp_like must be an int or a numpy\.random\.Generator"):
        whp_like(n=5, seed=None)


# ------------------------------------------------------------------ records and receipt


def _trial(n: int = 4000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    from dwp_eval.datasets import whp_like as _like

    people = _like(n=n, seed=seed)
    arm = np.where(np.arange(n) % 2 == 0, "treatment", "control")
    return people, arm


def test_whp_referrals_shapes_and_determinism() -> None:
    from dwp_eval.datasets import SIMILAR_PROVISION, WhpRecords, whp_referrals

    people, arm = _trial()
    rec = whp_referrals(people, arm, seed=11)
    assert isinstance(rec, WhpRecords)
    assert list(rec.starts.columns) == ["id", "start_date"]
    assert list(rec.referrals.columns) == ["id", "provision", "start_date", "end_date"]
    assert list(rec.truth.columns) == [
        "id", "arm", "site", "took_up", "received_programme", "contaminated",
        "also_received", "trivial_contact", "received",
    ]
    assert rec.truth["id"].tolist() == people["id"].tolist()
    assert rec.referrals["start_date"].is_monotonic_increasing
    assert set(SIMILAR_PROVISION) <= set(rec.referrals["provision"])
    # contamination only in control, also_received only in treatment, no programme starts elsewhere
    t = rec.truth
    assert (t.loc[t["arm"] == "treatment", "contaminated"] == 0).all()
    assert (t.loc[t["arm"] == "control", "also_received"] == 0).all()
    assert (t["received"] == (t["received_programme"] | t["contaminated"] | t["also_received"])).all()
    again = whp_referrals(people, arm, seed=11)
    for a, b in zip(rec, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert not whp_referrals(people, arm, seed=12).referrals.equals(rec.referrals)


def test_whp_referrals_rates_are_recorded_and_roughly_realised() -> None:
    from dwp_eval.datasets import SIGNPOSTING, whp_referrals

    people, arm = _trial(n=20_000, seed=6)
    rec = whp_referrals(people, arm, seed=1)
    rates = rec.truth.attrs["true_rates"]
    assert rates["signposting"] == SIGNPOSTING and rec.referrals.attrs["true_rates"] == rates
    assert rates["take_up"] == pytest.approx(0.75, abs=1e-12)  # centred probabilities
    t = rec.truth
    # 10,000 per arm: binomial SDs below 0.005, bands of 4 SD
    assert t.loc[t["arm"] == "treatment", "took_up"].mean() == pytest.approx(0.75, abs=0.02)
    assert t.loc[t["arm"] == "control", "contaminated"].mean() == pytest.approx(
        rates["expected_contamination"], abs=0.011)
    # take-up is selective: longer out of work, less take-up
    treat = t["arm"] == "treatment"
    long_out = people["months_out_of_work"] > people.loc[treat, "months_out_of_work"].median()
    assert t.loc[treat & long_out, "took_up"].mean() < t.loc[treat & ~long_out, "took_up"].mean()


def test_whp_referrals_one_signposting_rate_and_bad_options() -> None:
    from dwp_eval.datasets import whp_referrals

    people, arm = _trial(n=300)
    rec = whp_referrals(people, arm, seed=1, signposting=0.0, trivial=0.0, duplicates=0.0, unknown_ids=0.0)
    assert rec.truth["contaminated"].sum() == 0
    assert rec.truth.attrs["true_rates"]["expected_contamination"] == 0.0
    with pytest.raises(OptionError, match=re.escape("The 'take_up' parameter of whp_referrals must be a rate in [0, 1]. Got 1.5 instead.")):
        whp_referrals(people, arm, seed=1, take_up=1.5)
    with pytest.raises(OptionError, match=re.escape("The 'signposting' parameter of whp_referrals must give a rate for every site. Missing:")):
        whp_referrals(people, arm, seed=1, signposting={"London": 0.1})
    with pytest.raises(OptionError, match=re.escape("The 'assigned' parameter of whp_referrals must have one arm per person (300). Got 2 instead.")):
        whp_referrals(people, arm[:2], seed=1)
    with pytest.raises(OptionError, match=re.escape("The 'people' parameter of whp_referrals must have columns 'id', 'referred_on' and 'site'")):
        whp_referrals(people.drop(columns="site"), arm, seed=1)
    with pytest.raises(OptionError, match=re.escape("The 'dissimilar' parameter of whp_referrals must be a non-negative number")):
        whp_referrals(people, arm, seed=1, dissimilar=-1)


def test_whp_outcomes_without_received_is_unchanged() -> None:
    from dwp_eval.datasets import whp_outcomes

    people, arm = _trial(n=500)
    a = whp_outcomes(people, arm, seed=3)
    b = whp_outcomes(people, arm, seed=3, received=None)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == {"true_itt": {"employed_13_weeks": 0.04}}
    # receipt equal to assignment reproduces the ITT data exactly
    c = whp_outcomes(people, arm, seed=3, received=(arm == "treatment").astype(int))
    pd.testing.assert_frame_equal(a, c, check_flags=False)
    assert c.attrs["true_cace"] == {"employed_13_weeks": 0.04}


def test_whp_outcomes_effect_is_carried_by_receipt() -> None:
    from dwp_eval.datasets import whp_outcomes, whp_referrals

    people, arm = _trial(n=40_000, seed=9)
    truth = whp_referrals(people, arm, seed=2).truth
    out = whp_outcomes(people, arm, seed=4, effect=0.1, received=truth["received"])
    d = truth["received"].to_numpy()
    z = (arm == "treatment")
    p_t, p_c = d[z].mean(), d[~z].mean()
    assert out.attrs["true_cace"]["employed_13_weeks"] == 0.1
    assert out.attrs["true_itt"]["employed_13_weeks"] == pytest.approx(0.1 * (p_t - p_c))
    y = out["employed_13_weeks"].to_numpy()
    itt = y[z].mean() - y[~z].mean()
    wald = itt / (p_t - p_c)
    # Wald SE here is about 0.0065 (20,000 per arm, first stage about 0.66): allow 4 SE
    assert wald == pytest.approx(0.1, abs=0.026)


@pytest.mark.parametrize("bad", [[0, 2] * 250, [0.5] * 500, [np.nan] + [0] * 499, ["yes"] * 500])
def test_whp_outcomes_received_must_be_binary(bad) -> None:
    from dwp_eval.datasets import whp_outcomes

    people, arm = _trial(n=500)
    with pytest.raises(OptionError, match=re.escape("The 'received' parameter of whp_outcomes must hold 0/1 values with none missing.")):
        whp_outcomes(people, arm, seed=1, received=bad)
    with pytest.raises(OptionError, match=re.escape("The 'received' parameter of whp_outcomes must have one value per person (500). Got 3 instead.")):
        whp_outcomes(people, arm, seed=1, received=[0, 1, 0])
