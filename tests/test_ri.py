"""``randomisation_test``: exact p-values against full enumeration written out here,
the re-drawing engine (counts per stratum and block, whole clusters, uniform
subsets in every code path), the statistic against ``itt``, the interval by test
inversion, errors with pinned messages, reproducibility, and seeded Monte Carlo
checks that p-values are uniform under the sharp null.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import dwp_eval as de
from dwp_eval._core import assignments
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate import _ri_engine, ri
from dwp_eval.estimate.ri import randomisation_test
from dwp_eval.results import RI_COLUMNS, RandomisationTest

# The statistic is computed from per-stratum sums in a different order from the
# brute-force formulas below: rounding differs by ~1e-14; 1e-10 relative is a wide
# margin that no formula difference (n vs n - 1, a missing weight) could hide in.
RTOL = 1e-10
# Seeded Monte Carlo: a correct method falls outside a 99.9% binomial band with
# probability 0.001 per check.
BAND_LEVEL = 0.999


def binomial_band(p: float, n: int, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    return float(stats.binom.ppf(tail, n, p)) / n, float(stats.binom.isf(tail, n, p)) / n


def test_binomial_band_brackets_the_mean():
    lo, hi = binomial_band(0.05, 300, BAND_LEVEL)
    assert lo < 0.05 < hi
    assert binomial_band(0.05, 3000, BAND_LEVEL)[1] < hi  # narrower with more trials


# --------------------------------------------------------------------------- helpers


def welch_t(y: np.ndarray, z: np.ndarray) -> float:
    y1, y0 = y[z == 1], y[z == 0]
    return (y1.mean() - y0.mean()) / np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))


def blocked_t(y: np.ndarray, z: np.ndarray, s: np.ndarray) -> float:
    est = var = 0.0
    for b in np.unique(s):
        m = s == b
        w = m.mean()
        y1, y0 = y[m & (z == 1)], y[m & (z == 0)]
        est += w * (y1.mean() - y0.mean())
        var += w**2 * (y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0))
    return est / np.sqrt(var)


def cluster_t(y: np.ndarray, z: np.ndarray, g: np.ndarray) -> float:
    """Difference in person means over CR0 with G_a/(G_a - 1) in each arm (the docstring's formula)."""
    est = y[z == 1].mean() - y[z == 0].mean()
    var = 0.0
    for arm in (0, 1):
        m = z == arm
        mean = y[m].mean()
        clusters = np.unique(g[m])
        e = np.array([np.sum(y[m & (g == c)] - mean) for c in clusters])
        var += len(clusters) / (len(clusters) - 1) * np.sum(e**2) / m.sum() ** 2
    return est / np.sqrt(var)


def exact_p(t_obs: float, t_all: np.ndarray) -> float:
    return float(np.mean(np.abs(t_all) >= abs(t_obs) * (1 - 1e-9)))


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {"arm": ["control", "treatment"] * 4, "y": [3.1, 4.0, 2.2, 5.3, 2.9, 4.1, 3.5, 4.4]}
    )


@pytest.fixture
def strat() -> pd.DataFrame:
    """Two strata of 6 people, 3 treated in each: C(6, 3)^2 = 400 assignments."""
    rng = np.random.default_rng(5)
    s = np.repeat([0, 1], 6)
    z = np.r_[1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1]
    y = rng.normal(size=12) + 2.0 * s + 0.7 * z
    return pd.DataFrame({"s": s, "arm": np.where(z == 1, "treatment", "control"), "y": y})


@pytest.fixture
def clustered() -> pd.DataFrame:
    """8 clusters of unequal size, 4 treated: C(8, 4) = 70 assignments."""
    rng = np.random.default_rng(11)
    sizes = np.array([3, 5, 2, 4, 6, 3, 4, 5])
    g = np.repeat(np.arange(8), sizes)
    zc = np.array([1, 0, 1, 0, 0, 1, 1, 0])
    y = rng.normal(size=len(g)) + rng.normal(size=8)[g] + 0.5 * zc[g]
    return pd.DataFrame({"g": g, "arm": np.where(zc[g] == 1, "treatment", "control"), "y": y})


# --------------------------------------------------------------------------- exactness


def test_tiny_p_value_is_exact_against_enumeration(tiny):
    y = tiny["y"].to_numpy()
    z = (tiny["arm"] == "treatment").to_numpy().astype(int)
    t_all = []
    for treated in itertools.combinations(range(8), 4):
        zz = np.zeros(8, int)
        zz[list(treated)] = 1
        t_all.append(welch_t(y, zz))
    res = randomisation_test(tiny, outcome="y", assigned="arm", draws="all", seed=1)
    assert res.enumerated and res.draws == 70
    assert res.p_value == exact_p(welch_t(y, z), np.array(t_all))
    assert res.p_value_mc_se == 0.0
    assert np.isclose(res.statistic, welch_t(y, z), rtol=RTOL)
    assert np.allclose(np.sort(res.null_statistics), np.sort(t_all), rtol=RTOL, atol=1e-12)


def test_int_draws_enumerate_when_the_design_is_small(tiny):
    a = randomisation_test(tiny, outcome="y", assigned="arm", draws=70, seed=1)
    b = randomisation_test(tiny, outcome="y", assigned="arm", draws="all", seed=2)
    assert a.enumerated and a.p_value == b.p_value
    assert "enumerated" in a.summary()


def test_difference_statistic_exact(tiny):
    y = tiny["y"].to_numpy()
    z = (tiny["arm"] == "treatment").to_numpy().astype(int)
    d_all = []
    for treated in itertools.combinations(range(8), 4):
        zz = np.zeros(8, int)
        zz[list(treated)] = 1
        d_all.append(y[zz == 1].mean() - y[zz == 0].mean())
    res = randomisation_test(tiny, outcome="y", assigned="arm", statistic="difference", draws="all", seed=1)
    d = y[z == 1].mean() - y[z == 0].mean()
    assert res.statistic == pytest.approx(d, rel=RTOL)
    assert res.p_value == exact_p(d, np.array(d_all))


def test_stratified_p_value_is_exact_against_enumeration(strat):
    y, s = strat["y"].to_numpy(), strat["s"].to_numpy()
    z = (strat["arm"] == "treatment").to_numpy().astype(int)
    t_all = []
    for a in itertools.combinations(range(6), 3):
        for b in itertools.combinations(range(6, 12), 3):
            zz = np.zeros(12, int)
            zz[list(a) + list(b)] = 1
            t_all.append(blocked_t(y, zz, s))
    res = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws="all", seed=1)
    assert res.draws == 400 and res.design == "stratified"
    assert res.p_value == exact_p(blocked_t(y, z, s), np.array(t_all))
    # the observed statistic is itt's blocked t statistic
    assert res.statistic == pytest.approx(de.itt(strat, outcome="y", assigned="arm", strata="s").statistic, rel=RTOL)


def test_clustered_p_value_is_exact_against_enumeration(clustered):
    y, g = clustered["y"].to_numpy(), clustered["g"].to_numpy()
    z = (clustered["arm"] == "treatment").to_numpy().astype(int)
    t_all = []
    for treated in itertools.combinations(range(8), 4):
        zz = np.isin(g, treated).astype(int)
        t_all.append(cluster_t(y, zz, g))
    res = randomisation_test(clustered, outcome="y", assigned="arm", cluster="g", draws="all", seed=1)
    assert res.draws == 70 and res.design == "cluster" and res.n_clusters == 8
    assert res.statistic == pytest.approx(cluster_t(y, z, g), rel=RTOL)
    assert res.p_value == exact_p(cluster_t(y, z, g), np.array(t_all))


def test_random_draws_approach_the_exact_p_value(strat):
    exact = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws="all", seed=1)
    res = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws=399, seed=3)
    assert not res.enumerated and res.draws == 399
    assert abs(res.p_value - exact.p_value) < 4 * np.sqrt(exact.p_value * (1 - exact.p_value) / 399) + 1 / 400
    assert res.p_value_mc_se == pytest.approx(np.sqrt(res.p_value * (1 - res.p_value) / 399))


def test_phipson_smyth_p_value_never_zero():
    rng = np.random.default_rng(2)
    z = np.r_[np.ones(50), np.zeros(50)]
    df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": rng.normal(size=100) + 5 * z})
    res = randomisation_test(df, outcome="y", assigned="arm", draws=99, seed=1)
    assert res.p_value == pytest.approx(1 / 100)


def test_matched_pairs_statistic_is_itts():
    rng = np.random.default_rng(8)
    pair = np.repeat(np.arange(10), 2)
    z = np.tile([1, 0], 10)
    df = pd.DataFrame({"pair": pair, "arm": np.where(z == 1, "treatment", "control"),
                       "y": rng.normal(size=20) + pair * 0.3 + 0.4 * z})
    res = randomisation_test(df, outcome="y", assigned="arm", strata="pair", draws="all", seed=1)
    ref = de.itt(df, outcome="y", assigned="arm", strata="pair")
    assert res.draws == 2**10 and res.se_type == "matched-pair"
    assert res.statistic == pytest.approx(ref.statistic, rel=RTOL)
    assert res.estimate == pytest.approx(ref.estimate, rel=RTOL)


def test_studentised_and_difference_agree_on_standard_design(tiny):
    # without strata the Welch SE is symmetric in the arms' roles only up to the counts,
    # so the two statistics order assignments differently in general; both are valid tests
    a = randomisation_test(tiny, outcome="y", assigned="arm", draws="all", seed=1)
    b = randomisation_test(tiny, outcome="y", assigned="arm", statistic="difference", draws="all", seed=1)
    assert a.estimate == b.estimate
    assert 0 < a.p_value <= 1 and 0 < b.p_value <= 1


# --------------------------------------------------------------------------- re-drawing


def _cells(n: list[int], m: list[int]) -> assignments.Cells:
    n_arr = np.asarray(n)
    return assignments.Cells(lo=np.r_[0, np.cumsum(n_arr)[:-1]], n=n_arr, m=np.asarray(m), n_units=int(n_arr.sum()))


@pytest.mark.parametrize(
    ("n", "m", "force_large"),
    [
        (6, 2, False),  # one of the C(n, m) patterns
        (12, 5, False),  # sort
        (10, 4, True),  # independent selection + count correction
        (9, 1, True),  # share < 1/32 is not reached; tiny m through the correction
    ],
)
def test_every_subset_equally_likely(monkeypatch, n, m, force_large):
    if force_large:
        monkeypatch.setattr(assignments, "_SORT_CELL", 4)
    cells = _cells([n], [m])
    draws = 30 * __import__("math").comb(n, m)
    assign = assignments.draw_assignments(cells, np.random.default_rng(n * 100 + m), draws)
    assert np.all(assign.sum(axis=1) == m)
    codes = assign @ (1 << np.arange(n))
    _, counts = np.unique(codes, return_counts=True)
    assert len(counts) == __import__("math").comb(n, m)
    assert stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.parametrize(("n", "m"), [(200, 3), (200, 197), (200, 80)])
def test_count_correction_paths_are_uniform(monkeypatch, n, m):
    """Shares below 1/32 and above 31/32 start from none/all selected; others from
    independent selection. Every unit must be treated with probability m/n and
    every pair with probability m(m-1)/(n(n-1))."""
    monkeypatch.setattr(assignments, "_SORT_CELL", 4)
    draws = 20_000
    assign = assignments.draw_assignments(_cells([n], [m]), np.random.default_rng(m), draws)
    assert np.all(assign.sum(axis=1) == m)
    freq = assign.sum(axis=0)
    assert stats.chisquare(freq).pvalue > 1e-4
    pair01 = np.mean(assign[:, 0] & assign[:, 1])
    expected = m * (m - 1) / (n * (n - 1))
    assert abs(pair01 - expected) < 5 * np.sqrt(expected * (1 - expected) / draws) + 1e-12


def test_large_cells_keep_counts_and_inclusion():
    cells = _cells([3000, 1500, 5], [1000, 1499, 2])
    assign = assignments.draw_assignments(cells, np.random.default_rng(1), 400)
    assert np.all(assign[:, :3000].sum(axis=1) == 1000)
    assert np.all(assign[:, 3000:4500].sum(axis=1) == 1499)
    assert np.all(assign[:, 4500:].sum(axis=1) == 2)
    share = assign[:, :3000].mean()
    assert abs(share - 1 / 3) < 0.01


def test_enumeration_lists_every_assignment_once():
    cells = _cells([4, 3, 2], [2, 1, 2])
    allz = assignments.enumerate_assignments(cells)
    assert len(allz) == 6 * 3 * 1
    assert len({tuple(r) for r in allz.tolist()}) == len(allz)
    assert np.all(allz[:, :4].sum(axis=1) == 2) and np.all(allz[:, 4:7].sum(axis=1) == 1)
    assert np.all(allz[:, 7:])


def test_hook_keeps_counts_per_stratum_and_whole_clusters(make_people):
    people = make_people(3000, 4)
    people["office"] = people["site"] + "-" + (people["id"] % 8).astype(str)  # 24 offices
    alloc = de.randomise(people, strata=["site"], cluster="office", seed=3)
    t = people.merge(alloc.table[["id", "arm"]], on="id")
    t["y"] = np.random.default_rng(0).normal(size=len(t))
    z = de.estimate.ri._null_assignments(
        t, outcome="y", assigned="arm", strata="site", cluster="office", draws=200, seed=9
    )
    assert z.shape == (len(t), 200)
    # whole clusters: every person in an office has the same assignment in every draw
    per_office = z.groupby(t["office"]).nunique()
    assert int(per_office.max().max()) == 1
    # the number of treated offices in each site is the observed one in every draw
    office_z = z.groupby(t["office"]).first()
    office_site = t.groupby("office")["site"].first()
    office_obs = t.groupby("office")["arm"].first() == "treatment"
    for site in office_site.unique():
        mine = office_site.index[office_site == site]
        assert np.all(office_z.loc[mine].sum(axis=0) == office_obs.loc[mine].sum())


def test_hook_keeps_counts_in_large_strata():
    rng = np.random.default_rng(4)
    n = 6000
    s = rng.integers(0, 3, n)
    z = rng.random(n) < np.array([0.5, 0.3, 0.02])[s]
    df = pd.DataFrame({"s": s, "arm": np.where(z, "treatment", "control"), "y": rng.normal(size=n)})
    draws = ri._null_assignments(df, outcome="y", assigned="arm", strata="s", draws=50, seed=1)
    for k in range(3):
        assert np.all(draws[s == k].sum(axis=0) == z[s == k].sum())


def test_allocation_matches_strata_column(make_people):
    people = make_people(300, 6)
    alloc = de.randomise(people, strata=["site", "benefit"], seed=7)
    t = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    t["y"] = np.random.default_rng(1).normal(size=len(t)) + (t["arm"] == "treatment") * 0.3
    a = randomisation_test(t, outcome="y", assigned="arm", strata="stratum", draws=500, seed=2)
    b = randomisation_test(t, outcome="y", assigned="arm", allocation=alloc, draws=500, seed=2)
    assert a.statistic == pytest.approx(b.statistic, rel=RTOL)
    assert a.p_value == b.p_value
    assert b.design == "stratified"


def test_permuted_blocks_are_redrawn_within_blocks(make_people):
    people = make_people(120, 2)
    alloc = de.randomise(people, strata=["site"], method="permuted_blocks", seed=3)
    t = people.merge(alloc.table[["id", "arm", "stratum", "block"]], on="id")
    t["y"] = np.random.default_rng(2).normal(size=len(t))
    z = ri._null_assignments(t, outcome="y", assigned="arm", allocation=alloc, draws=100, seed=1)
    for _, rows in t.groupby(["stratum", "block"]).groups.items():
        treated = (t.loc[rows, "arm"] == "treatment").sum()
        assert np.all(z.loc[rows].sum(axis=0) == treated)
    res = randomisation_test(t, outcome="y", assigned="arm", allocation=alloc, draws=200, seed=1,
                             statistic="difference")
    assert res.design == "stratified, permuted blocks"


def test_rerandomised_allocation_redraws_only_balanced_assignments(make_people):
    people = make_people(60, 3)
    rule = de.BalanceRule(covariates=("age", "female"), max_abs_std_diff=0.1)
    with pytest.warns(de.RerandomisationWarning):
        alloc = de.randomise(people, seed=5, rerandomise=rule)
    t = people.merge(alloc.table[["id", "arm"]], on="id")
    t["y"] = np.random.default_rng(3).normal(size=len(t))
    z = ri._null_assignments(t, outcome="y", assigned="arm", allocation=alloc, draws=300, seed=2)
    x = t[["age", "female"]].to_numpy(float)
    for col in z.columns[:300]:
        zz = z[col].to_numpy()
        d = (x[zz].mean(0) - x[~zz].mean(0)) / np.sqrt((x[zz].var(0, ddof=1) + x[~zz].var(0, ddof=1)) / 2)
        assert np.max(np.abs(d)) < 0.1
    res = randomisation_test(t, outcome="y", assigned="arm", allocation=alloc, draws=300, seed=2)
    assert res.design == "complete, re-randomised"
    assert res.acceptance_rate is not None and 0 < res.acceptance_rate < 1
    assert "met the rule" in res.summary()


def test_multi_arm_redraws_only_the_compared_arms():
    rng = np.random.default_rng(6)
    arm = np.repeat(["control", "a", "b"], 10)
    df = pd.DataFrame({"arm": arm, "y": rng.normal(size=30)})
    z = ri._null_assignments(df, outcome="y", assigned="arm", treatment="b", draws=20, seed=1)
    assert len(z) == 20 and set(df.loc[z.index, "arm"]) == {"control", "b"}


# --------------------------------------------------------------------------- interval


def test_interval_contains_estimate_and_agrees_with_p_values(strat):
    res = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws=2000, seed=4)
    lo, hi = res.conf_low, res.conf_high
    assert lo < res.estimate < hi
    eps = 1e-6 * (hi - lo)
    assert res.p_value_at(lo - eps) <= res.alpha < res.p_value_at(lo + eps)
    assert res.p_value_at(hi + eps) <= res.alpha < res.p_value_at(hi - eps)
    assert res.p_value_at(res.estimate) == 1.0
    assert res.p_value_at(0.0) == res.p_value
    lo90, hi90 = res.interval(0.10)
    assert lo <= lo90 and hi90 <= hi
    assert res.interval() == (lo, hi)
    ci = res.conf_int(0.10)
    assert (ci.loc[0, "conf_low"], ci.loc[0, "conf_high"]) == (lo90, hi90)


def test_interval_unbounded_when_no_draw_can_reject(tiny):
    res = randomisation_test(tiny.iloc[:4], outcome="y", assigned="arm", draws="all", seed=1,
                             statistic="difference")
    assert res.draws == 6
    assert np.isinf(res.conf_low) and np.isinf(res.conf_high)
    assert any("unbounded" in note for note in res.notes)


@pytest.mark.slow
def test_interval_covers_a_constant_effect():
    """Test inversion of an exact test: coverage of a constant effect is at least 1 - alpha."""
    rng = np.random.default_rng(20240701)
    sims, covered = 150, 0
    for _ in range(sims):
        y0 = rng.exponential(size=40)
        z = rng.permutation(np.r_[np.ones(20), np.zeros(20)])
        df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": y0 + 1.5 * z})
        res = randomisation_test(df, outcome="y", assigned="arm", draws=199, seed=int(rng.integers(1e9)))
        covered += res.conf_low <= 1.5 <= res.conf_high
    lo, _ = binomial_band(0.95, sims, BAND_LEVEL)
    assert covered / sims >= lo


# --------------------------------------------------------------------------- errors


def test_bad_statistic(tiny):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'statistic' parameter of randomisation_test must be one of 'studentised', "
            "'difference'. Got 'studentized' instead. Did you mean 'studentised'?"
        ),
    ):
        randomisation_test(tiny, outcome="y", assigned="arm", statistic="studentized", seed=1)


@pytest.mark.parametrize("draws", [0, -5, 2.5, True, "many"])
def test_bad_draws(tiny, draws):
    with pytest.raises(
        OptionError,
        match=re.escape("The 'draws' parameter of randomisation_test must be a positive int or 'all'."),
    ):
        randomisation_test(tiny, outcome="y", assigned="arm", draws=draws, seed=1)


def test_seed_required_type(tiny):
    with pytest.raises(OptionError, match=r"The 'seed' parameter of randomisation_test must be an int"):
        randomisation_test(tiny, outcome="y", assigned="arm", seed="x")


def test_bad_alpha(tiny):
    with pytest.raises(OptionError, match=re.escape("The 'alpha' parameter of randomisation_test must be a float in (0, 1). Got 1.5 instead.")):
        randomisation_test(tiny, outcome="y", assigned="arm", seed=1, alpha=1.5)


def test_too_many_assignments_to_enumerate():
    df = pd.DataFrame({"arm": ["control", "treatment"] * 20, "y": np.arange(40.0)})
    with pytest.raises(
        OptionError,
        match=re.escape(
            "randomisation_test: the design has 137,846,528,820 possible assignments, too many to "
            "enumerate (the limit is 1,000,000). Fix: pass draws= as an int, e.g. draws=10_000."
        ),
    ):
        randomisation_test(df, outcome="y", assigned="arm", draws="all", seed=1)


def test_allocation_must_be_an_allocation(tiny):
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'allocation' parameter of randomisation_test must be a dwp_eval.Allocation (from "
            "randomise or Allocation.read). Got DataFrame instead."
        ),
    ):
        randomisation_test(tiny, outcome="y", assigned="arm", allocation=tiny, seed=1)


def test_allocation_with_strata_refused(make_people):
    people = make_people(40, 1)
    alloc = de.randomise(people, seed=1)
    t = people.merge(alloc.table[["id", "arm"]], on="id").assign(y=1.0)
    with pytest.raises(
        OptionError,
        match=re.escape(
            "randomisation_test: pass either allocation= or strata=/cluster=, not both: the "
            "allocation records the design's strata and clusters. Fix: drop strata= and cluster=."
        ),
    ):
        randomisation_test(t, outcome="y", assigned="arm", allocation=alloc, strata="site", seed=1)


def test_allocation_arm_disagreement(make_people):
    people = make_people(40, 1)
    alloc = de.randomise(people, seed=1)
    t = people.merge(alloc.table[["id", "arm"]], on="id")
    t["y"] = np.arange(len(t), dtype=float)
    t["arm"] = t["arm"].astype(str)
    first = t.index[0]
    t.loc[first, "arm"] = "control" if t.loc[first, "arm"] == "treatment" else "treatment"
    with pytest.raises(
        DesignError,
        match=r"randomisation_test: column 'arm' \(assigned\) disagrees with the allocation for 1 "
        r"person\(s\) \(.*\)\. Fix: pass the arm column of the allocation",
    ):
        randomisation_test(t, outcome="y", assigned="arm", allocation=alloc, seed=1)


def test_unallocated_ids(make_people):
    people = make_people(40, 1)
    alloc = de.randomise(people, seed=1)
    t = people.merge(alloc.table[["id", "arm"]], on="id").assign(y=1.0)
    t.loc[t.index[0], "id"] = 999_999
    with pytest.raises(
        DesignError,
        match=re.escape(
            "randomisation_test: 1 id(s) in the data were never allocated (e.g. 999999). Fix: "
            "pass only the people in the allocation."
        ),
    ):
        randomisation_test(t, outcome="y", assigned="arm", allocation=alloc, seed=1)


def test_studentised_needs_two_per_arm_in_each_stratum(strat):
    d = strat.copy()
    d["s"] = np.r_[np.zeros(3), np.ones(9)].astype(int)  # stratum 0: 2 treated, 1 control
    with pytest.raises(
        DesignError,
        match=re.escape(
            "randomisation_test: a stratum has fewer than two people in an arm, so the studentised "
            "statistic's variance cannot be estimated there. Fix: pass statistic='difference' (a "
            "valid test with the raw difference in means)."
        ),
    ):
        randomisation_test(d, outcome="y", assigned="arm", strata="s", seed=1)
    res = randomisation_test(d, outcome="y", assigned="arm", strata="s", statistic="difference", seed=1, draws="all")
    assert res.draws == 3 * 126  # C(3, 2) x C(9, 4)


def test_cluster_spanning_strata(clustered):
    d = clustered.copy()
    d["s"] = np.arange(len(d)) % 2
    with pytest.raises(
        DesignError,
        match=re.escape(
            "randomisation_test: 8 cluster(s) in column 'g' span more than one stratum, so whole "
            "clusters cannot have been randomised within strata."
        ),
    ):
        randomisation_test(d, outcome="y", assigned="arm", strata="s", cluster="g", seed=1)


def test_constant_outcome(tiny):
    with pytest.raises(
        DesignError,
        match=re.escape(
            "randomisation_test: column 'y' (outcome) is constant (1) in the compared arms, so "
            "there is nothing to test."
        ),
    ):
        randomisation_test(tiny.assign(y=1.0), outcome="y", assigned="arm", seed=1)


def test_shared_checks_name_the_function(tiny, clustered):
    with pytest.raises(de.DwpEvalError, match=r"randomisation_test: column 'yy' \(outcome\) is not in the data"):
        randomisation_test(tiny, outcome="yy", assigned="arm", seed=1)
    with pytest.raises(
        DesignError,
        match=re.escape("randomisation_test: a cluster design needs at least 2 clusters in each arm"),
    ):
        randomisation_test(clustered[clustered["g"] < 3], outcome="y", assigned="arm", cluster="g", seed=1)


# --------------------------------------------------------------------------- result


def test_same_seed_same_answer_and_generator_seed(strat):
    a = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws=150, seed=42)
    b = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws=150, seed=42)
    c = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws=150,
                           seed=np.random.default_rng(42))
    assert a.p_value == b.p_value == c.p_value
    assert np.array_equal(a.null_statistics, b.null_statistics)
    assert (a.conf_low, a.conf_high) == (b.conf_low, b.conf_high)


def test_result_frame_summary_and_html(strat):
    res = randomisation_test(strat, outcome="y", assigned="arm", strata="s", draws=100, seed=1)
    assert isinstance(res, RandomisationTest)
    f = res.to_frame()
    assert list(f.columns) == RI_COLUMNS and len(f) == 1
    assert f.loc[0, "term"] == "treatment vs control"
    assert np.isnan(f.loc[0, "df"])
    assert "Randomisation test of treatment vs control on y" in res.summary()
    assert str(res) == res.summary()
    assert res._repr_html_().startswith("<p><strong>Randomisation test")
    assert "RandomisationTest" in repr(res)
    assert not res.null_statistics.flags.writeable
    assert 0 < res.critical_value < 10
    with pytest.raises(OptionError, match=r"The 'alpha' parameter of RandomisationTest\.conf_int must be a float in \(0, 1\)\. Got 2\.0 instead\."):
        res.conf_int(2.0)


def test_missing_outcome_drop(tiny):
    d = tiny.copy()
    d.loc[0, "y"] = np.nan
    with pytest.raises(de.DwpEvalError, match="missing value"):
        randomisation_test(d, outcome="y", assigned="arm", seed=1)
    with pytest.warns(UserWarning, match="1 row"):
        res = randomisation_test(d, outcome="y", assigned="arm", seed=1, missing="drop", draws="all")
    assert res.n_obs == 7 and res.draws == 35


# --------------------------------------------------------------------------- Monte Carlo


def _sharp_null_p_values(design: str, sims: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(sims)
    for i in range(sims):
        if design == "standard":
            n = 40
            y = rng.lognormal(size=n)
            z = rng.permutation(np.r_[np.ones(15), np.zeros(25)])
            df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": y})
            kw = {}
        elif design == "stratified":
            s = np.repeat([0, 1, 2], [10, 14, 20])
            z = np.concatenate([rng.permutation(np.r_[np.ones(k // 2), np.zeros(k - k // 2)]) for k in (10, 14, 20)])
            y = rng.normal(size=len(s)) * (1 + s) + 3 * s
            df = pd.DataFrame({"s": s, "arm": np.where(z == 1, "treatment", "control"), "y": y})
            kw = {"strata": "s"}
        else:
            sizes = rng.integers(2, 9, size=12)
            g = np.repeat(np.arange(12), sizes)
            zc = rng.permutation(np.r_[np.ones(6), np.zeros(6)])
            y = rng.normal(size=len(g)) + rng.normal(size=12)[g]
            df = pd.DataFrame({"g": g, "arm": np.where(zc[g] == 1, "treatment", "control"), "y": y})
            kw = {"cluster": "g"}
        res = randomisation_test(df, outcome="y", assigned="arm", draws=200, seed=int(rng.integers(2**31)), **kw)
        out[i] = res.p_value
    return out


@pytest.mark.slow
@pytest.mark.parametrize("design", ["standard", "stratified", "clustered"])
def test_p_values_uniform_under_sharp_null(design):
    sims = 300
    p = _sharp_null_p_values(design, sims, seed={"standard": 1, "stratified": 2, "clustered": 3}[design])
    # exact test: P(p <= a) = floor(a (B + 1)) / (B + 1) with B = 200 draws
    for a in (0.05, 0.10):
        level = np.floor(a * 201) / 201
        lo, hi = binomial_band(level, sims, BAND_LEVEL)
        assert lo <= np.mean(p <= a) <= hi, f"{design}: P(p <= {a}) = {np.mean(p <= a):.3f}"
    assert stats.kstest(p, "uniform").pvalue > 0.001


@pytest.mark.parametrize("kind", ["int", "float"])
def test_numeric_arm_column_matches_text_labels_with_a_rerandomised_allocation(make_people, kind):
    """One label rule (``label_key``): an int or float arm column (a CSV read back)
    with ``control=0`` gives the same re-drawn assignments and p-value as the text
    labels of the allocation, third arm of the re-randomisation rule included."""
    people = make_people(120, 4)
    rule = de.BalanceRule(covariates=("age", "female"), max_abs_std_diff=0.2, max_draws=2000)
    with pytest.warns(de.RerandomisationWarning):
        alloc = de.randomise(people, arms={"0": 2, "1": 1, "2": 1}, rerandomise=rule, seed=2)
    t = people.merge(alloc.table[["id", "arm"]], on="id")
    t["y"] = np.random.default_rng(3).normal(size=len(t))
    num = t.assign(arm=t["arm"].astype(kind))
    kw = dict(outcome="y", assigned="arm", allocation=alloc, draws=200, seed=7)
    z_text = ri._null_assignments(t, control="0", treatment="1", **kw)
    z_num = ri._null_assignments(num, control=0, treatment=1, **kw)
    pd.testing.assert_frame_equal(z_text, z_num)
    a = randomisation_test(t, control="0", treatment="1", **kw)
    b = randomisation_test(num, control=0, treatment=1, **kw)
    assert a.p_value == b.p_value and a.estimate == b.estimate


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=4, max_size=12),
    seed=st.integers(0, 2**31 - 1),
    stratified=st.booleans(),
    scale=st.sampled_from([1.0, 1e4]),
)
def test_cluster_summary_gives_the_people_statistic(sizes, seed, stratified, scale):
    """One row per cluster (people, outcome sum, range: what an engine sends) gives the
    statistic of the people's rows for every re-drawn assignment (issue 18)."""
    rng = np.random.default_rng(seed)
    g = len(sizes)
    arm = np.array(["control", "treatment"] * (g // 2) + ["control"] * (g % 2))
    region = np.where(np.arange(g) % 4 < 2, "N", "S") if stratified else np.array(["all"] * g)
    rows = pd.DataFrame({
        "region": np.repeat(region, sizes), "office": np.repeat(np.arange(g), sizes),
        "arm": np.repeat(arm, sizes), "y": scale + rng.normal(size=sum(sizes)) * scale / 10,
    })
    by = rows.groupby(["region", "office", "arm"], sort=True)["y"]
    summary = by.agg(**{_ri_engine.SUM: "sum", _ri_engine.LO: "min", _ri_engine.HI: "max"}).reset_index()
    summary[_ri_engine.N] = by.size().to_numpy()
    kw = dict(outcome="y", assigned="arm", control="control", treatment=None, cluster="office",
              strata="region" if stratified else None, allocation=None,
              statistic="studentised" if g >= 8 and not stratified else "difference",
              missing="raise", func="randomisation_test")
    a = ri._setup(rows, **kw)
    b = ri._setup(summary, summarised=True, **kw)
    assert (dict(b.n_by_arm), b.n_clusters, b.design) == (dict(a.n_by_arm), a.n_clusters, a.design)
    cells = a.cells  # units in cell order: re-draw within each cell
    draws = [a.observed.copy() for _ in range(6)]
    for d in draws[1:]:
        for lo, n in zip(cells.lo, cells.n, strict=True):
            d[lo:lo + n] = rng.permutation(d[lo:lo + n])
    assign = np.stack(draws)
    ca = a.stat.coefficients(a.stat.sums(assign))
    cb = b.stat.coefficients(b.stat.sums(assign))
    np.testing.assert_allclose(cb, ca, rtol=1e-9, atol=1e-9 * scale**2)
