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
