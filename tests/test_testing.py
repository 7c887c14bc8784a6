"""``dwp_eval.testing``: the bands have the stated probability (in the right
direction), the assertions pass for ``itt`` where it is correct, and they FAIL
for deliberately wrong estimators, so they are tests that can fail."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dwp_eval as de
from dwp_eval.errors import OptionError
from dwp_eval.testing import (
    MonteCarloCheck,
    assert_coverage,
    assert_size,
    assert_unbiased,
    binomial_band,
)

SIMS = 500
EFFECT = 0.5


def two_arm(rng: np.random.Generator, effect: float = EFFECT, n: int = 80) -> pd.DataFrame:
    """Complete randomisation of n people drawn from a skewed super-population."""
    arm = rng.permutation(np.repeat(["control", "treatment"], n // 2))
    y = rng.gamma(2.0, 1.0, size=n) + effect * (arm == "treatment")
    return pd.DataFrame({"arm": arm, "y": y})


def null_two_arm(rng: np.random.Generator) -> pd.DataFrame:
    return two_arm(rng, effect=0.0)


def clustered(rng: np.random.Generator, effect: float = EFFECT) -> pd.DataFrame:
    """16 offices of unequal size, offices randomised (8 per arm), office shocks."""
    sizes = rng.integers(5, 30, size=16)
    office = np.repeat(np.arange(16), sizes)
    treated = rng.permutation(np.repeat([0, 1], 8))[office]
    y = rng.normal(size=16)[office] + rng.normal(size=len(office)) + effect * treated
    return pd.DataFrame({"office": office, "arm": np.where(treated == 1, "treatment", "control"),
                         "y": y})


def itt(d: pd.DataFrame) -> de.Effect:
    return de.itt(d, outcome="y", assigned="arm")


def itt_cluster(d: pd.DataFrame) -> de.Effect:
    return de.itt(d, outcome="y", assigned="arm", cluster="office")


def halved_se(d: pd.DataFrame) -> de.Effect:
    """A deliberately wrong estimator: the right estimate with half its SE."""
    res = itt(d)
    return dataclasses.replace(res, std_error=res.std_error / 2)


def doubled_se(d: pd.DataFrame) -> de.Effect:
    res = itt(d)
    return dataclasses.replace(res, std_error=res.std_error * 2)


def biased(d: pd.DataFrame) -> de.Effect:
    res = itt(d)
    return dataclasses.replace(res, estimate=res.estimate + 0.15)


# ----------------------------------------------------------------------------- the band


@pytest.mark.parametrize(
    ("p", "n", "significance"),
    [(0.95, 1000, 0.001), (0.95, 1000, 0.01), (0.9, 500, 0.05), (0.05, 300, 0.001), (0.5, 41, 0.1)],
)
def test_binomial_band_has_the_stated_probability(p, n, significance):
    """The famous slip is the inequality's direction: check both tails, and that
    the band is the tightest one with that property."""
    lo, hi = binomial_band(p, n, significance=significance)
    k_lo, k_hi = round(lo * n), round(hi * n)
    tail = significance / 2
    assert lo < p < hi
    assert stats.binom.cdf(k_lo - 1, n, p) <= tail  # P(X < lower) <= tail
    assert stats.binom.sf(k_hi, n, p) <= tail  # P(X > upper) <= tail
    assert stats.binom.cdf(k_lo, n, p) > tail  # one more inside would break it
    assert stats.binom.sf(k_hi - 1, n, p) > tail
    one_lo, one_hi = binomial_band(p, n, significance=significance, alternative="less")
    assert one_hi == 1.0 and lo <= one_lo
    assert stats.binom.cdf(round(one_lo * n) - 1, n, p) <= significance


def test_binomial_band_rejects_as_often_as_stated():
    """Simulated Binomial draws fall outside the 5% band about 5% of the time (at most)."""
    rng = np.random.default_rng(1)
    lo, hi = binomial_band(0.95, 400, significance=0.05)
    x = rng.binomial(400, 0.95, size=200_000) / 400
    outside = np.mean((x < lo) | (x > hi))
    assert 0.02 < outside <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200_000)


# ----------------------------------------------------------------------------- they pass for itt


@pytest.mark.slow
def test_itt_standard_design_passes_all_three():
    cov = assert_coverage(itt, two_arm, truth=EFFECT, sims=SIMS, seed=1)
    assert isinstance(cov, MonteCarloCheck) and cov.passed and cov.check == "coverage"
    assert cov.lower < 0.95 < cov.upper and cov.sims == SIMS
    assert assert_unbiased(itt, two_arm, truth=EFFECT, sims=SIMS, seed=2).passed
    size = assert_size(itt, null_two_arm, sims=SIMS, seed=3)
    assert size.passed and size.target == 0.05
    assert list(size.to_frame().columns) == ["check", "observed", "target", "lower", "upper",
                                             "mc_se", "sims", "significance", "passed"]
    assert "inside" in size.summary() and "MonteCarloCheck size" in repr(size)


@pytest.mark.slow
def test_itt_cr2_with_few_unequal_clusters_passes():
    """16 clusters of 5-29 people: CR2 with Bell-McCaffrey df keeps coverage and size."""
    assert assert_coverage(itt_cluster, clustered, truth=EFFECT, sims=300, seed=4).passed
    assert assert_size(itt_cluster, lambda rng: clustered(rng, 0.0), sims=300, seed=5).passed


def test_truth_can_be_a_function_of_the_data():
    def dgp(rng):
        d = two_arm(rng)
        return d.assign(tau=rng.normal(EFFECT, 0.01, size=len(d)))

    res = assert_unbiased(itt, dgp, truth=lambda d: 0.0 * d["tau"].mean() + EFFECT, sims=50, seed=1)
    assert res.passed


# ----------------------------------------------------------------------------- they fail when wrong


def test_coverage_fails_for_a_halved_standard_error():
    with pytest.raises(AssertionError, match=(
        r"assert_coverage: coverage of the 95% intervals 0\.\d+ \(\d+ of 300 simulations; Monte "
        r"Carlo SE 0\.\d+\) is outside \[0\.9\d+, 0\.9\d+\], the band of an exact two-sided "
        r"\(equal-tailed\) binomial test of rate = 0\.95 at significance 0\.001\. The intervals "
        r"are too narrow")):
        assert_coverage(halved_se, two_arm, truth=EFFECT, sims=300, seed=1)


def test_size_fails_for_a_halved_standard_error():
    with pytest.raises(AssertionError, match=r"rejection rate at alpha 0\.05 under the null .* "
                                             r"is outside .* over-rejects a true null"):
        assert_size(halved_se, null_two_arm, sims=300, seed=1)


def test_unbiased_fails_for_a_biased_estimator():
    with pytest.raises(AssertionError, match=r"assert_unbiased: bias 0\.1\d+ .* is outside "
                                             r"\[-0\.\d+, 0\.\d+\] .* The estimator is biased"):
        assert_unbiased(biased, two_arm, truth=EFFECT, sims=300, seed=1)
    # a stated tolerance accepts a known small bias
    assert assert_unbiased(biased, two_arm, truth=EFFECT, sims=300, seed=1, tolerance=0.2).passed


def test_one_sided_alternatives_accept_conservative_estimators():
    with pytest.raises(AssertionError, match=r"too wide"):
        assert_coverage(doubled_se, two_arm, truth=EFFECT, sims=200, seed=1)
    assert assert_coverage(doubled_se, two_arm, truth=EFFECT, sims=200, seed=1, alternative="less").passed
    with pytest.raises(AssertionError, match=r"conservative"):
        assert_size(doubled_se, null_two_arm, sims=300, seed=1)
    assert assert_size(doubled_se, null_two_arm, sims=300, seed=1, alternative="greater").passed


# ----------------------------------------------------------------------------- errors


def test_input_errors_are_pinned():
    with pytest.raises(OptionError, match=r"The 'sims' parameter of assert_coverage must be an int >= 2"):
        assert_coverage(itt, two_arm, truth=0.5, sims=1, seed=1)
    with pytest.raises(OptionError, match=r"The 'level' parameter of assert_coverage must be a float in \(0, 1\)"):
        assert_coverage(itt, two_arm, truth=0.5, sims=10, seed=1, level=95)
    with pytest.raises(OptionError, match=r"The 'alternative' parameter of assert_size must be one of "
                                          r"'two-sided', 'greater'\. Got 'less' instead"):
        assert_size(itt, null_two_arm, sims=10, seed=1, alternative="less")
    with pytest.raises(OptionError, match=r"The 'estimator' parameter of assert_size must be a callable"):
        assert_size("itt", null_two_arm, sims=10, seed=1)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"The 'truth' parameter of assert_unbiased must be a number"):
        assert_unbiased(itt, two_arm, truth="0.5", sims=10, seed=1)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"The 'tolerance' parameter of assert_unbiased must be a number >= 0"):
        assert_unbiased(itt, two_arm, truth=0.5, sims=10, seed=1, tolerance=-1)
    with pytest.raises(OptionError, match=r"The 'seed' parameter of assert_size must be a non-negative int"):
        assert_size(itt, null_two_arm, sims=10, seed="x")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"The 'p' parameter of binomial_band must be a float in \[0, 1\]"):
        binomial_band(1.5, 10)


def test_an_estimator_error_names_the_simulation():
    def fails_later(d):
        if d["y"].iloc[0] > 2.0:
            raise ValueError("boom")
        return itt(d)

    with pytest.raises(ValueError, match="boom") as info:
        assert_unbiased(fails_later, two_arm, truth=EFFECT, sims=50, seed=1)
    assert any("raised in simulation" in note for note in info.value.__notes__)


def test_non_finite_results_fail_with_a_count():
    def nan_se(d):
        return dataclasses.replace(itt(d), std_error=float("nan"))

    with pytest.raises(AssertionError, match=r"non-finite results in 20 of 20 simulations"):
        assert_coverage(nan_se, two_arm, truth=EFFECT, sims=20, seed=1)
