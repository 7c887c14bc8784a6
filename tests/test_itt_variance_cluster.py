"""A cluster used for the variance only: an individually randomised trial whose
people live in villages that hold both arms (Thornton 2008 clusters by village).

itt, cace and Effect.with_se accept such clusters (they used to raise DesignError),
keep the estimate the unclustered design gives and cluster only the variance, and
label the result ``cluster_role="variance"``. Reference: estimatr 1.0.0
lm_robust / lm_lin / iv_robust with ``clusters = village`` on
tests/reference/itt/variance_cluster_data.csv (variance_cluster_reference.R and
its .Rout, values in variance_cluster_results.csv).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import dwp_eval as de
from dwp_eval.errors import DesignError

REF = Path(__file__).parent / "reference" / "itt"
DATA = pd.read_csv(REF / "variance_cluster_data.csv")
RESULTS = pd.read_csv(REF / "variance_cluster_results.csv").set_index("case")
# R writes 17 significant digits; the two implementations differ by rounding only
# (observed max 2e-14 relative), so 1e-8 leaves room for BLAS differences
RTOL = 1e-8

ARGS = dict(outcome="y", assigned="arm", cluster="village")
CASES = {
    "dim_CR2": ("itt", {}),
    "dim_CR0": ("itt", {"se_type": "CR0"}),
    "dim_stata": ("itt", {"se_type": "stata"}),
    "additive_CR2": ("itt", {"covariates": ["x1", "x2"], "adjustment": "additive"}),
    "lin_CR2": ("itt", {"covariates": ["x1", "x2"]}),
    "lin_stata": ("itt", {"covariates": ["x1", "x2"], "se_type": "stata"}),
    "strata_fe_CR2": ("itt", {"strata": "block", "estimator": "ols"}),
    "strata_fe_CR0": ("itt", {"strata": "block", "estimator": "ols", "se_type": "CR0"}),
    "strata_lin_cov_CR2": ("itt", {"covariates": ["block", "x1", "x2"]}),
    "blocked_dim_CR2": ("itt", {"strata": "block"}),
    "weighted_CR2": ("itt", {"weights": "w"}),
    "cace_HC2": ("cace", {"cluster": None}),
    "cace_weighted_HC2": ("cace", {"cluster": None, "weights": "w"}),
    "cace_weighted_cov_HC2": ("cace", {"cluster": None, "weights": "w", "covariates": ["x1", "x2"]}),
    "cace_weighted_classical": ("cace", {"cluster": None, "weights": "w", "se_type": "classical"}),
    "cace_CR2": ("cace", {}),
    "cace_weighted_CR2": ("cace", {"weights": "w"}),
    "cace_weighted_stata": ("cace", {"weights": "w", "se_type": "stata"}),
}


def _run(case: str) -> de.Effect:
    kind, extra = CASES[case]
    kw = {**ARGS, **extra}
    if kind == "cace":
        return de.cace(DATA, received="d", **kw)
    return de.itt(DATA, **kw)


def test_every_reference_case_is_checked():
    assert set(CASES) == set(RESULTS.index)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_estimatr(case):
    res, ref = _run(case), RESULTS.loc[case]
    np.testing.assert_allclose(res.estimate, ref["estimate"], rtol=RTOL)
    np.testing.assert_allclose(res.std_error, ref["std_error"], rtol=RTOL)
    np.testing.assert_allclose(res.df, ref["df"], rtol=RTOL)
    np.testing.assert_allclose(res.conf_low, ref["conf_low"], rtol=RTOL)
    assert res.n_obs == ref["n_obs"]
    if CASES[case][1].get("cluster", "village") is not None:
        assert res.cluster_role == "variance"
        assert res.n_clusters == ref["n_clusters"] == 30


def test_villages_hold_both_arms():
    assert (DATA.groupby("village")["arm"].nunique() == 2).all()


def test_estimate_unchanged_and_design_kept():
    """The cluster changes the variance only: the estimate and the design label are
    those of the unclustered analysis (blocked difference in means included)."""
    for extra in ({}, {"strata": "block"}, {"covariates": ["x1"]}, {"weights": "w"}):
        plain = de.itt(DATA, outcome="y", assigned="arm", **extra)
        clustered = de.itt(DATA, outcome="y", assigned="arm", cluster="village", **extra)
        assert clustered.estimate == pytest.approx(plain.estimate, rel=1e-12)
        assert clustered.design == plain.design
        assert plain.cluster_role is None
        assert clustered.se_type == "CR2"


def test_with_se_accepts_a_variance_cluster():
    # used to raise DesignError ("contain people from both arms")
    res = de.itt(DATA, outcome="y", assigned="arm").with_se("CR2", cluster=DATA["village"])
    ref = RESULTS.loc["dim_CR2"]
    np.testing.assert_allclose([res.estimate, res.std_error, res.df],
                               [ref["estimate"], ref["std_error"], ref["df"]], rtol=RTOL)
    assert res.cluster_role == "variance"
    blocked = de.itt(DATA, outcome="y", assigned="arm", strata="block").with_se(
        "CR2", cluster=DATA["village"])
    np.testing.assert_allclose(blocked.std_error, RESULTS.loc["blocked_dim_CR2", "std_error"],
                               rtol=RTOL)
    c = de.cace(DATA, outcome="y", assigned="arm", received="d").with_se(
        "CR2", cluster=DATA["village"])
    np.testing.assert_allclose(c.std_error, RESULTS.loc["cace_CR2", "std_error"], rtol=RTOL)


def test_role_is_labelled_in_summary_and_frame():
    res = de.itt(DATA, outcome="y", assigned="arm", cluster="village")
    assert "clusters        30 (for the variance only: people were randomised)" in res.summary()
    assert "SEs clustered for the variance only" in res.method
    assert res.to_frame()["cluster_role"].tolist() == ["variance"]
    plain = de.itt(DATA, outcome="y", assigned="arm")
    assert plain.to_frame()["cluster_role"].isna().all()
    # whole clusters randomised: the design role, as before
    d = DATA.assign(arm=np.where(DATA["village"].str[1:].astype(int) % 2 == 0, "treatment", "control"))
    design = de.itt(d, outcome="y", assigned="arm", cluster="village")
    assert design.cluster_role == "design" and design.design == "clustered"
    assert "(whole clusters randomised)" in design.summary()


def test_one_variance_cluster_is_refused():
    d = DATA.assign(one="v")
    with pytest.raises(DesignError, match=r"itt: column 'one' \(cluster\) holds one cluster only"):
        de.itt(d, outcome="y", assigned="arm", cluster="one")


def test_weighted_cace_means_are_weighted():
    res = de.cace(DATA, outcome="y", assigned="arm", received="d", weights="w")
    t = DATA["arm"] == "treatment"
    assert res.treatment_mean == pytest.approx(np.average(DATA.loc[t, "y"], weights=DATA.loc[t, "w"]))
    assert res.first_stage.take_up_control == pytest.approx(
        np.average(DATA.loc[~t, "d"], weights=DATA.loc[~t, "w"]))
    assert res.estimate == pytest.approx(res.itt.estimate / res.first_stage.difference)
    assert "weighted" in res.method


# ----------------------------------------------------------- properties (hypothesis)


def _village_trial(seed: int, n_village: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 160))
    village = rng.integers(0, n_village, size=n)
    z = rng.permutation(np.r_[np.zeros(n // 2), np.ones(n - n // 2)]).astype(int)
    w = rng.uniform(0.5, 2.0, size=n)
    d = np.where(z == 1, rng.random(n) < 0.7, rng.random(n) < 0.15).astype(int)
    y = rng.normal(size=n_village)[village] + 0.5 * d + rng.normal(size=n)
    return pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": y, "w": w,
                         "d": d, "village": village, "block": rng.integers(0, 3, size=n)})


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), extra=st.sampled_from(
    [{}, {"weights": "w"}, {"covariates": ["w"]}, {"strata": "block", "estimator": "ols"}]))
def test_property_variance_cluster_keeps_estimate_and_ignores_row_order(seed, extra):
    d = _village_trial(seed)
    if (d.groupby("village")["arm"].nunique() < 2).all():
        return  # no village holds both arms: a cluster design, tested elsewhere
    kw = dict(outcome="y", assigned="arm", **extra)
    plain = de.itt(d, **kw)
    clustered = de.itt(d, cluster="village", **kw)
    shuffled = de.itt(d.sample(frac=1.0, random_state=seed % 1000), cluster="village", **kw)
    assert clustered.estimate == pytest.approx(plain.estimate, rel=1e-9, abs=1e-12)
    assert shuffled.std_error == pytest.approx(clustered.std_error, rel=1e-9)
    assert shuffled.df == pytest.approx(clustered.df, rel=1e-9)
    # the interval and the test agree
    lo = clustered.conf_low
    t = (clustered.estimate - lo) / clustered.std_error
    assert 2 * stats.t.sf(abs(t), clustered.df) == pytest.approx(clustered.alpha, abs=1e-8)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_property_weighted_cace_is_the_weighted_wald_ratio(seed):
    d = _village_trial(seed)
    res = de.cace(d, outcome="y", assigned="arm", received="d", weights="w")
    t = d["arm"] == "treatment"

    def wm(col, mask):
        return np.average(d.loc[mask, col], weights=d.loc[mask, "w"])

    ratio = (wm("y", t) - wm("y", ~t)) / (wm("d", t) - wm("d", ~t))
    assert res.estimate == pytest.approx(ratio, rel=1e-9)
    scaled = de.cace(d.assign(w=3.0 * d["w"]), outcome="y", assigned="arm", received="d",
                     weights="w")
    assert scaled.std_error == pytest.approx(res.std_error, rel=1e-9)  # weights' scale is free


# ----------------------------------------------------------- seeded Monte Carlo

N_SIMS = 400
# a correct method's coverage falls outside this exact binomial band with
# probability < 1%
BAND_LEVEL = 0.99


@pytest.mark.slow
def test_monte_carlo_variance_cluster_covers_when_effects_vary_by_village():
    """People randomised within villages whose effects vary (a new sample of 30
    villages each time; estimand: the mean effect 0.4). CR2 clustered by village
    covers at the nominal rate; HC2, which ignores the villages, undercovers."""

    rng = np.random.default_rng(20261205)
    cover = {"CR2": [], "HC2": []}
    for _ in range(N_SIMS):
        n_village, per = 30, 12
        village = np.repeat(np.arange(n_village), per)
        z = np.concatenate([rng.permutation([0] * (per // 2) + [1] * (per // 2))
                            for _ in range(n_village)])
        tau = 0.4 + rng.normal(scale=0.8, size=n_village)[village]
        y = rng.normal(size=n_village)[village] + tau * z + rng.normal(size=len(z))
        d = pd.DataFrame({"arm": z, "y": y, "village": village})
        for se, kw in (("CR2", {"cluster": "village"}), ("HC2", {})):
            res = de.itt(d, outcome="y", assigned="arm", control=0, **kw)
            cover[se].append(res.conf_low <= 0.4 <= res.conf_high)
    tail = (1 - BAND_LEVEL) / 2
    lo = stats.binom.ppf(tail, N_SIMS, 0.95) / N_SIMS
    hi = stats.binom.isf(tail, N_SIMS, 0.95) / N_SIMS
    cr2, hc2 = float(np.mean(cover["CR2"])), float(np.mean(cover["HC2"]))
    assert lo <= cr2 <= hi, (cr2, lo, hi)
    assert hc2 < lo, hc2


LINEARMODELS = pd.read_csv(REF / "weighted_cace_linearmodels.csv")


@pytest.mark.parametrize("row", LINEARMODELS.to_dict("records"), ids=lambda r: r["case"])
def test_weighted_cace_matches_linearmodels(row):
    """A second implementation of weighted 2SLS: linearmodels IV2SLS(weights=)
    (weighted_cace_linearmodels.py / .out), classical, HC0, HC1, CR0, CR1."""
    kw: dict = {"covariates": ["x1", "x2"]} if row["covariates"] else {}
    if row["se_type"].startswith("CR"):
        kw["cluster"] = "village"
    res = de.cace(DATA, outcome="y", assigned="arm", received="d", weights="w",
                  se_type=row["se_type"], **kw)
    np.testing.assert_allclose(res.estimate, row["estimate"], rtol=RTOL)
    np.testing.assert_allclose(res.std_error, row["std_error"], rtol=RTOL)


def test_impact_table_with_subgroups_and_a_variance_cluster():
    # impact_table passes cluster= to itt, and its interaction test reads it the same way
    d = DATA.assign(female=(DATA["id"] % 2).astype(int))
    tab = de.impact_table(d, outcomes=["y"], assigned="arm", by="female", cluster="village")
    assert {e.cluster_role for e in tab.effects} == {"variance"}
    assert np.isfinite(tab.heterogeneity["p_value"]).all()
    direct = de.itt(d, outcome="y", assigned="arm", cluster="village")
    assert tab.effects[0].std_error == pytest.approx(direct.std_error)


# ---------------------------------------------- with_se to an HC type drops the clusters

HC_RESULTS = pd.read_csv(REF / "variance_cluster_hc_results.csv").set_index("case")
# case of variance_cluster_hc_reference.R -> (itt options with cluster=village, with_se type)
HC_CASES = {
    "dim_HC2": ({}, "HC2"),
    "dim_HC1": ({}, "HC1"),
    "lin_HC2": ({"covariates": ["x1", "x2"]}, "HC2"),
    "additive_HC3": ({"covariates": ["x1", "x2"], "adjustment": "additive"}, "HC3"),
    "strata_fe_HC2": ({"strata": "block", "estimator": "ols"}, "HC2"),
    "blocked_dim_HC2": ({"strata": "block"}, "HC2"),
    "weighted_HC2": ({"weights": "w"}, "hc2"),
}


@pytest.mark.parametrize("case", sorted(HC_CASES))
def test_with_se_hc_on_a_variance_cluster_drops_the_cluster(case: str) -> None:
    """People were randomised, so an HC variance is valid: ``with_se("HC2")`` on a
    result clustered for the variance only recomputes without the clusters (as
    estimatr's lm_robust / lm_lin with se_type="HC2" and no clusters=) and the result
    has no cluster_role; it used to raise. The same as itt without cluster=."""
    extra, se_type = HC_CASES[case]
    clustered = de.itt(DATA, **ARGS, **extra)
    assert clustered.cluster_role == "variance"
    res = clustered.with_se(se_type)
    ref = HC_RESULTS.loc[case]
    assert res.cluster_role is None and res.n_clusters is None
    assert res.se_type == ref["se_type"]
    assert "clusters dropped" in res.method
    assert res.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert res.std_error == pytest.approx(ref["std_error"], rel=RTOL)
    plain = de.itt(DATA, outcome="y", assigned="arm", se_type=se_type, **extra)
    assert (res.estimate, res.std_error, res.df) == pytest.approx(
        (plain.estimate, plain.std_error, plain.df), rel=1e-12
    )
    if clustered.design != "standard" or extra.get("covariates") or extra.get("weights"):
        assert res.df == pytest.approx(ref["df"], rel=RTOL)
    # and back: the clusters are gone from the new result, so CR2 needs them again
    again = res.with_se("CR2", cluster=DATA["village"])
    assert again.std_error == pytest.approx(clustered.std_error, rel=1e-12)


def test_with_se_stata_on_a_variance_cluster_keeps_the_cluster() -> None:
    res = de.itt(DATA, **ARGS).with_se("stata")
    assert res.se_type == "CR1" and res.cluster_role == "variance"
    assert res.std_error == pytest.approx(RESULTS.loc["dim_stata", "std_error"], rel=RTOL)


@pytest.mark.parametrize("case,weights", [("cace_HC2", None), ("cace_weighted_HC2", "w")])
def test_cace_with_se_hc_on_a_variance_cluster_drops_the_cluster(case: str, weights) -> None:
    """The CACE as the ITT: iv_robust(..., se_type = "HC2") without clusters."""
    clustered = de.cace(DATA, received="d", weights=weights, **ARGS)
    assert clustered.cluster_role == "variance"
    res = clustered.with_se("HC2")
    assert res.cluster_role is None and res.se_type == "HC2"
    ref = RESULTS.loc[case]
    assert res.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert res.std_error == pytest.approx(ref["std_error"], rel=RTOL)
    assert res.df == pytest.approx(ref["df"], rel=RTOL)
