"""Seeded Monte Carlo checks of ``itt`` with assignments drawn by ``randomise``.

Each simulation draws a new sample of people from a super-population (so the
estimand is the population average effect, for which the Neyman / HC2 / CR2
variances are unbiased or conservative) and a new random assignment with
:func:`dwp_eval.randomise`, then checks

* coverage of the 95% interval inside an exact binomial band (level 99%);
* unbiasedness: mean estimate within 4 Monte Carlo SEs of the truth;
* p-values of the test of the true effect uniform (Kolmogorov-Smirnov);
* with few clusters of very unequal size and a skewed outcome, CR2 with
  Bell-McCaffrey df keeps coverage near nominal while CR1 with ``G - 1`` df
  undercovers.

Everything is seeded, so the outcome of each test is fixed; the bands say how
far from nominal a correct method could land by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dwp_eval as de

N_SIMS = 1000
ALPHA = 0.05
# Level of the binomial band for coverage: a correct method falls outside it
# with probability < 1%.
BAND_LEVEL = 0.99
# Unbiasedness: |mean estimate - truth| < 4 Monte Carlo standard errors.
BIAS_Z = 4.0
# p-values under the true null: a Kolmogorov-Smirnov test against U(0, 1)
# rejects at 0.1% only when the distribution is clearly not uniform.
KS_LEVEL = 0.001


def binomial_band(p: float, n: int, level: float) -> tuple[float, float]:
    """Equal-tailed band for the proportion of successes in ``n`` Binomial(n, p) draws.

    Returns ``(lo, hi)`` such that ``P(lo <= X/n <= hi) >= level`` with at most
    ``(1 - level)/2`` probability below ``lo`` and at most ``(1 - level)/2``
    above ``hi``. An observed coverage *inside* the band is consistent with a
    true coverage of ``p``; *outside* it is evidence against.
    """
    tail = (1 - level) / 2
    lo = stats.binom.ppf(tail, n, p)  # smallest k with P(X <= k) >= tail
    hi = stats.binom.isf(tail, n, p)  # smallest k with P(X > k) <= tail
    return float(lo) / n, float(hi) / n


def assert_coverage(covered: np.ndarray, *, label: str) -> float:
    lo, hi = binomial_band(1 - ALPHA, len(covered), BAND_LEVEL)
    coverage = float(np.mean(covered))
    assert lo <= coverage <= hi, (
        f"{label}: coverage {coverage:.3f} of nominal {1 - ALPHA:.2f} outside the "
        f"{BAND_LEVEL:.0%} binomial band [{lo:.3f}, {hi:.3f}] for {len(covered)} simulations"
    )
    return coverage


# --------------------------------------------------------------------------- the helper


@pytest.mark.parametrize(
    ("p", "n", "level"),
    [(0.95, 1000, 0.99), (0.95, 1000, 0.95), (0.9, 500, 0.999), (0.5, 200, 0.9), (0.95, 50, 0.95)],
)
def test_binomial_band_has_the_stated_probability(p, n, level):
    lo, hi = binomial_band(p, n, level)
    k_lo, k_hi = round(lo * n), round(hi * n)
    assert lo < p < hi
    tail = (1 - level) / 2
    # P(X < lo) <= tail and P(X > hi) <= tail, so P(lo <= X <= hi) >= level ...
    assert stats.binom.cdf(k_lo - 1, n, p) <= tail
    assert stats.binom.sf(k_hi, n, p) <= tail
    assert stats.binom.cdf(k_hi, n, p) - stats.binom.cdf(k_lo - 1, n, p) >= level
    # ... and the band is the narrowest equal-tailed one: one count in from either end
    # leaves more than the tail outside
    assert stats.binom.cdf(k_lo, n, p) > tail
    assert stats.binom.sf(k_hi - 1, n, p) > tail


def test_binomial_band_direction():
    """Coverage far below or above nominal is flagged; nominal is not. (A well-known
    vignette had this inequality backwards and flagged the good methods.)"""
    lo, hi = binomial_band(0.95, 1000, 0.99)
    assert 0.93 < lo < 0.94 and 0.96 < hi < 0.97
    assert lo <= 0.95 <= hi  # nominal coverage passes
    assert not lo <= 0.90 <= hi  # undercoverage fails
    assert not lo <= 0.99 <= hi  # overcoverage fails too
    # a higher level or fewer simulations widen the band
    lo2, hi2 = binomial_band(0.95, 1000, 0.999)
    assert lo2 < lo and hi2 > hi
    lo3, hi3 = binomial_band(0.95, 200, 0.99)
    assert lo3 < lo and hi3 > hi
    with pytest.raises(AssertionError, match="outside the 99% binomial band"):
        assert_coverage(np.r_[np.ones(880), np.zeros(120)].astype(bool), label="too low")
    assert assert_coverage(np.r_[np.ones(950), np.zeros(50)].astype(bool), label="ok") == 0.95


# --------------------------------------------------------------------------- simulation


@dataclass
class Sims:
    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray
    covered: np.ndarray
    truth: float

    @property
    def p_values(self) -> np.ndarray:
        """Two-sided p-values of H0: effect = truth."""
        t = (self.estimate - self.truth) / self.std_error
        return 2 * stats.t.sf(np.abs(t), self.df)

    def check(self, label: str) -> float:
        coverage = assert_coverage(self.covered, label=label)
        mc_se = self.estimate.std(ddof=1) / np.sqrt(len(self.estimate))
        bias = self.estimate.mean() - self.truth
        assert abs(bias) < BIAS_Z * mc_se, f"{label}: bias {bias:.4g}, MC SE {mc_se:.4g}"
        ks = stats.kstest(self.p_values, "uniform")
        assert ks.pvalue > KS_LEVEL, f"{label}: p-values not uniform (KS p = {ks.pvalue:.2g})"
        return coverage


def simulate(people, draw_outcome, truth, *, seed, randomise_kw, itt_kw, n_sims=N_SIMS) -> Sims:
    """Assign with ``randomise`` and estimate with ``itt`` ``n_sims`` times.

    ``draw_outcome(rng, z)`` returns the new columns (at least ``y``) given the
    assignment ``z``: each simulation is a new sample from the super-population.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n_sims, 4))
    for s in range(n_sims):
        alloc = de.randomise(people, seed=rng, **randomise_kw)
        arm = alloc.table.set_index("id")["arm"].reindex(people["id"]).to_numpy()
        z = (arm == "treatment").astype(float)
        d = people.assign(arm=arm, **draw_outcome(rng, z))
        res = de.itt(d, outcome="y", assigned="arm", **itt_kw)
        lo, hi = res.interval(ALPHA)
        out[s] = res.estimate, res.std_error, res.df, lo <= truth <= hi
    return Sims(out[:, 0], out[:, 1], out[:, 2], out[:, 3].astype(bool), truth)


@pytest.mark.slow
@pytest.mark.parametrize("covariates", [None, ["x"]], ids=["difference", "lin"])
def test_standard_design(covariates):
    """90 people, 1:2 allocation, skewed heteroskedastic outcomes, heterogeneous effects;
    without covariates (Neyman, Welch df) and with Lin's adjustment (HC2)."""
    n = 90
    people = pd.DataFrame({"id": np.arange(n)})
    tau = 0.5

    def draw(rng, z):
        x = rng.normal(size=n)
        y0 = np.exp(0.6 * rng.normal(size=n)) + 0.8 * x
        y1 = y0 + tau + 0.5 * x + 0.5 * rng.normal(size=n)  # E[effect] = tau
        return {"y": np.where(z == 1, y1, y0), "x": x}

    sims = simulate(people, draw, tau, seed=100 if covariates is None else 101,
                    randomise_kw={"arms": {"control": 1, "treatment": 2}},
                    itt_kw={"covariates": covariates})
    sims.check("standard" + (" lin" if covariates else ""))


@pytest.mark.slow
def test_stratified_design():
    """4 strata of unequal size with different means and effects; blocked estimator."""
    sizes = np.array([16, 24, 30, 50])
    stratum = np.repeat(np.arange(4), sizes)
    people = pd.DataFrame({"id": np.arange(sizes.sum()), "stratum": stratum})
    mu = np.array([0.0, 1.0, 3.0, 6.0])[stratum]
    tau_s = np.array([2.0, 1.0, 0.0, 0.5])
    truth = float(np.sum(sizes * tau_s) / sizes.sum())  # strata weighted by size

    def draw(rng, z):
        y0 = mu + rng.gamma(2.0, 1.0, size=len(z)) * (1 + stratum)
        return {"y": y0 + z * (tau_s[stratum] + rng.normal(size=len(z)))}

    sims = simulate(people, draw, truth, seed=200, randomise_kw={"strata": "stratum"},
                    itt_kw={"strata": "stratum"})
    sims.check("stratified")
    assert np.all(sims.df == sizes.sum() - 2 * 4)


@pytest.mark.slow
def test_clustered_design():
    """30 clusters of 4-30 people, intra-cluster correlation; CR2 with BM df."""
    rng = np.random.default_rng(300)
    sizes = rng.integers(4, 31, size=30)
    cluster = np.repeat(np.arange(30), sizes)
    people = pd.DataFrame({"id": np.arange(sizes.sum()), "office": cluster})
    tau = 1.0

    def draw(rng, z):
        u = rng.normal(size=30)[cluster]
        return {"y": 2.0 + u + rng.normal(size=len(z)) * 1.5 + tau * z}

    sims = simulate(people, draw, tau, seed=301, randomise_kw={"cluster": "office"},
                    itt_kw={"cluster": "office"})
    sims.check("clustered")


@pytest.mark.slow
def test_few_unequal_clusters_cr2_covers_cr1_undercovers():
    """8 clusters of 3 to 80 people, log-normal outcome with a cluster effect, no
    treatment effect. CR2 with Bell-McCaffrey df (about 3 here) stays near 95%;
    CR1 with G - 1 = 7 df undercovers badly (checked offline with 2,000
    simulations on 6 seeds: CR2 0.930-0.951, CR1 0.79-0.83)."""
    sizes = np.array([3, 5, 8, 12, 20, 30, 50, 80])
    G = len(sizes)
    cluster = np.repeat(np.arange(G), sizes)
    people = pd.DataFrame({"id": np.arange(sizes.sum()), "office": cluster})
    rng = np.random.default_rng(400)
    covered = {"CR2": [], "CR1": []}
    dfs = {"CR2": [], "CR1": []}
    for _ in range(N_SIMS):
        arm = de.randomise(people, cluster="office", seed=rng).table.set_index("id")["arm"]
        y = np.exp(0.5 * rng.normal(size=G)[cluster] + rng.normal(size=len(cluster)))
        d = people.assign(arm=arm.reindex(people["id"]).to_numpy(), y=y)
        cr2 = de.itt(d, outcome="y", assigned="arm", cluster="office")
        cr1 = cr2.with_se("CR1")  # the same clusters
        for name, res in [("CR2", cr2), ("CR1", cr1)]:
            lo, hi = res.interval(ALPHA)
            covered[name].append(lo <= 0.0 <= hi)
            dfs[name].append(res.df)
    cov2, cov1 = np.mean(covered["CR2"]), np.mean(covered["CR1"])
    assert np.all(np.array(dfs["CR1"]) == G - 1)
    assert np.mean(dfs["CR2"]) < G - 1
    # CR2: within 3 percentage points of nominal (the 99% band's lower end is 0.932;
    # BM df is an approximation, so allow a little below it)
    assert cov2 >= 0.92, f"CR2 coverage {cov2:.3f}"
    # CR1 is at least 7 points worse
    assert cov1 <= cov2 - 0.07, f"CR1 coverage {cov1:.3f} vs CR2 {cov2:.3f}"
    assert cov1 < binomial_band(1 - ALPHA, N_SIMS, BAND_LEVEL)[0]
