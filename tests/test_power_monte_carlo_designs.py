"""Seeded Monte Carlo: analytic power of the design options that
``test_power_monte_carlo.py`` does not cover agrees with simulated power (issue 5).

Scenarios (``dwp_eval.power``, method ``"t"``):

* ``strata=`` with strata that explain half the outcome variance, analysed with
  the blocked difference in means and with strata fixed effects (OLS, HC2);
* ``r2_cluster=``: a cluster-level covariate explaining 60% of the between-cluster
  variance, analysed with ``itt(cluster=, covariates=)`` (CR2, Bell-McCaffrey df);
* ``cluster_size_cv=``: unequal cluster sizes, ``itt(cluster=)``;
* ``arms=3`` with ``correction="bonferroni"``, ``"holm"`` and ``"dunnett"``: the
  power of each comparison against its simulated rejection rate with the same
  correction applied to the two ``itt`` tests of each simulated trial;
* ``ratio=0.3`` with take-up and contamination together.

Every simulated trial is analysed by the library's estimator: :func:`dwp_eval.diagnose`
(batched or looping over :func:`dwp_eval.itt`) where it fits (two arms, a population
it randomises), otherwise :func:`dwp_eval.itt` called once per trial and comparison.
The two :func:`~dwp_eval.diagnose` scenarios use a fixed finite population whose
outcome variance is exactly the planning value (within strata: ``1 - r2``), so that
the randomisation variance of the estimator equals the analytic one (constant
effects; Gerber & Green 2012, eq. 3.4 and 3.11) and only the assignment varies.

Each check also shows that it can fail: the simulated power must lie *outside* the
band around the power computed as if the option were ignored (no ``r2`` for the
strata, equal clusters, no correction, ``ratio=0.5``, no contamination).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import dwp_eval as de
from dwp_eval.design._power_variance import dunnett_critical
from dwp_eval.estimate.multiplicity import adjust_p_values
from dwp_eval.testing import binomial_band

pytestmark = pytest.mark.slow

ALPHA = 0.05
# Band for a simulated rejection rate: the exact binomial acceptance region of
# "rate = analytic power" at two-sided SIGNIFICANCE 0.0027 (the normal +/- 3 Monte
# Carlo SE), widened by SLACK = 2 percentage points for the approximations in the
# analytic formulas (Bloom's one-tail multiplier; df = J - 2 - covariates where the
# CR2 test uses Bell-McCaffrey df; the first-order E[1 / sum of sizes] behind
# Eldridge et al.'s design effect). The same rule as test_power_monte_carlo.py.
SIGNIFICANCE = 0.0027
SLACK = 0.02
# Paired gains of one correction over another on the same simulated trials (the
# share rejected by one and not the other) have a far smaller Monte Carlo error;
# 1 point of slack covers the normal approximation used for the exact Holm power.
PAIRED_SLACK = 0.01


def _band(
    analytic: float, sims: int, *, alternative: Literal["two-sided", "less"] = "two-sided"
) -> tuple[float, float]:
    lo, hi = binomial_band(analytic, sims, significance=SIGNIFICANCE, alternative=alternative)
    return max(lo - SLACK, 0.0), min(hi + SLACK, 1.0)


def _check(
    analytic: float,
    simulated: float,
    sims: int,
    *,
    ignoring: dict[str, float],
    alternative: Literal["two-sided", "less"] = "two-sided",
) -> None:
    """``simulated`` inside the band around ``analytic`` and outside every band
    around the power that ignores an option (so that the check can fail)."""
    mcse = math.sqrt(simulated * (1 - simulated) / sims)
    lo, hi = _band(analytic, sims, alternative=alternative)
    assert lo <= simulated <= hi, (
        f"simulated power {simulated:.4f} (MC SE {mcse:.4f}, {sims:,} sims) is outside "
        f"[{lo:.4f}, {hi:.4f}], the band around the analytic power {analytic:.4f}"
    )
    for what, naive in ignoring.items():
        nlo, nhi = _band(naive, sims, alternative="two-sided")
        assert not nlo <= simulated <= nhi, (
            f"the check cannot fail: ignoring {what} gives power {naive:.4f}, whose band "
            f"[{nlo:.4f}, {nhi:.4f}] also holds the simulated {simulated:.4f}"
        )


# ----------------------------------------------------------------------------- (1) strata

STRATA, PER_STRATUM, R2_STRATA, EFFECT_STRATA = 8, 40, 0.5, 0.2


def _strata_population(seed: int) -> pd.DataFrame:
    """Eight strata of 40 whose means have variance 0.5 and whose outcomes have
    within-stratum variance exactly 0.5 (n - 1 divisor): the strata explain half
    of the (unit) outcome variance."""
    rng = np.random.default_rng(seed)
    mu = np.linspace(-1.0, 1.0, STRATA)
    mu = (mu - mu.mean()) / mu.std() * math.sqrt(R2_STRATA)
    e = rng.normal(size=(STRATA, PER_STRATUM))
    e = (e - e.mean(1, keepdims=True)) / e.std(1, ddof=1, keepdims=True) * math.sqrt(1 - R2_STRATA)
    return pd.DataFrame(
        {
            "stratum": np.repeat([f"s{b}" for b in range(STRATA)], PER_STRATUM),
            "y0": (mu[:, None] + e).ravel(),
        }
    )


@pytest.mark.parametrize(
    ("se_type", "sims", "seed"),
    [
        (None, 2000, 601),  # blocked difference in means (batched; = FE OLS coefficient here)
        ("HC2", 400, 602),  # OLS with absorbed strata fixed effects, one itt call per trial
    ],
)
def test_blocked_design_with_strata_explaining_variance(
    se_type: str | None, sims: int, seed: int
) -> None:
    pop = _strata_population(20240601)
    res = de.diagnose(
        pop, effect=EFFECT_STRATA, strata="stratum", se_type=se_type, sims=sims, seed=seed
    )
    assert res.design == "blocked"
    assert res.se_type == ("neyman (blocked)" if se_type is None else "HC2")
    n = STRATA * PER_STRATUM
    # r2 is the share of variance the strata explain: strata= alone only costs df
    ana = de.power(effect=EFFECT_STRATA, n=n, strata=STRATA, r2=R2_STRATA)
    naive = de.power(effect=EFFECT_STRATA, n=n, strata=STRATA).power
    # the estimator's own SE is the planning SE (Neyman variance, exact S^2 by stratum)
    assert res.mean_se == pytest.approx(ana.std_error, rel=0.01)
    _check(ana.power, res.power, sims, ignoring={"the variance the strata explain (r2=0)": naive})


# ----------------------------------------------------------------------------- (2, 3) clusters

CLUSTERS, ICC = 40, 0.15


def _cluster_trials(
    sizes: np.ndarray, *, r2_cluster: float, effect: float, sims: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and p-values of ``itt(cluster=)`` in ``sims`` cluster trials.

    Cluster effects ``u_j = sqrt(icc r2c) x_j + sqrt(icc (1 - r2c)) v_j`` with a
    cluster-level covariate ``x_j`` (entered additively when ``r2c > 0``, as in
    Dong & Maynard 2013, CRA2_2), person errors with variance ``1 - icc``, half
    the clusters treated (complete randomisation of clusters).
    """
    rng = np.random.default_rng(seed)
    j = len(sizes)
    cluster = np.repeat(np.arange(j), sizes)
    kw: dict[str, Any] = {"covariates": ["x"], "adjustment": "additive"} if r2_cluster else {}
    est, p = np.empty(sims), np.empty(sims)
    for s in range(sims):
        x = rng.normal(size=j)
        u = math.sqrt(ICC * r2_cluster) * x + math.sqrt(ICC * (1 - r2_cluster)) * rng.normal(size=j)
        treated = np.zeros(j, dtype=bool)
        treated[rng.permutation(j)[: j // 2]] = True
        y = (
            u[cluster]
            + math.sqrt(1 - ICC) * rng.normal(size=cluster.size)
            + effect * treated[cluster]
        )
        data = pd.DataFrame(
            {
                "cluster": cluster,
                "arm": np.where(treated[cluster], "treatment", "control"),
                "y": y,
                "x": x[cluster],
            }
        )
        res = de.itt(data, outcome="y", assigned="arm", cluster="cluster", **kw)
        if s == 0:
            assert (res.design, res.se_type, res.n_clusters) == ("clustered", "CR2", j)
        est[s], p[s] = res.estimate, res.p_value
    return est, p


def test_cluster_level_covariate_r2_cluster() -> None:
    m, r2c, effect, sims = 10, 0.6, 0.3, 500
    _, p = _cluster_trials(
        np.full(CLUSTERS, m), r2_cluster=r2c, effect=effect, sims=sims, seed=20240602
    )
    design: dict[str, Any] = dict(
        effect=effect, n_clusters=CLUSTERS, cluster_size=m, icc=ICC, n_covariates=1
    )
    ana = de.power(**design, r2_cluster=r2c).power
    naive = de.power(**design).power
    _check(ana, float(np.mean(p < ALPHA)), sims, ignoring={"r2_cluster": naive})


def _unequal_sizes(n_clusters: int, mean: float, cv: float) -> np.ndarray:
    """Cluster sizes at the quantiles of a gamma distribution with that mean and CV."""
    shape = 1 / cv**2
    q = (np.arange(n_clusters) + 0.5) / n_clusters
    return np.maximum(1, np.round(stats.gamma.ppf(q, shape, scale=mean / shape))).astype(int)


def test_unequal_cluster_sizes_cluster_size_cv() -> None:
    effect, sims = 0.42, 500
    sizes = _unequal_sizes(CLUSTERS, 10.0, 0.8)
    mean, cv = float(sizes.mean()), float(sizes.std() / sizes.mean())  # sizes 1 to 36
    assert (mean, round(cv, 3)) == (10.0, 0.778)
    _, p = _cluster_trials(sizes, r2_cluster=0.0, effect=effect, sims=sims, seed=20240603)
    # Eldridge, Ashby & Kerry (2006): design effect 1 + ((1 + CV^2) m - 1) icc for
    # the analysis that weights people equally (itt's OLS), as the module docstring has
    design: dict[str, Any] = dict(effect=effect, n_clusters=CLUSTERS, cluster_size=mean, icc=ICC)
    ana = de.power(**design, cluster_size_cv=cv).power
    naive = de.power(**design).power
    _check(
        ana, float(np.mean(p < ALPHA)), sims, ignoring={"unequal sizes (cluster_size_cv=0)": naive}
    )


# ----------------------------------------------------------------------------- (4) arms

PER_ARM, EFFECT_ARMS, ARM_SIMS = 200, 0.28, 1000
TREATMENTS = ("treatment_1", "treatment_2")


@pytest.fixture(scope="module")
def multi_arm_trials() -> tuple[np.ndarray, np.ndarray]:
    """p-values and t statistics (``ARM_SIMS x 2``) of ``itt`` for each treatment
    arm against control in three-arm trials of 200 per arm, both effects 0.28."""
    rng = np.random.default_rng(20240604)
    arms = np.repeat(["control", *TREATMENTS], PER_ARM)
    p = np.empty((ARM_SIMS, 2))
    t = np.empty((ARM_SIMS, 2))
    for s in range(ARM_SIMS):
        arm = rng.permutation(arms)
        data = pd.DataFrame(
            {"arm": arm, "y": rng.normal(size=arm.size) + EFFECT_ARMS * (arm != "control")}
        )
        for k, treatment in enumerate(TREATMENTS):
            res = de.itt(data, outcome="y", assigned="arm", treatment=treatment)
            p[s, k], t[s, k] = res.p_value, res.estimate / res.std_error
    return p, t


def _comparison_powers(correction: Literal["bonferroni", "holm", "dunnett"]) -> list[float]:
    res = de.power(effect=EFFECT_ARMS, n=3 * PER_ARM, arms=3, correction=correction)
    assert [c["term"] for c in res.comparisons] == [f"{a} vs control" for a in TREATMENTS]
    return [c["power"] for c in res.comparisons]


def _bonferroni_reject(p: np.ndarray) -> np.ndarray:
    return np.array([adjust_p_values(row, method="bonferroni") for row in p]) <= ALPHA


def _holm_reject(p: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down, one family per row: reject the ordered p_(j) while
    p_(j) <= alpha / (K - j + 1). (Vectorised: adjust_p_values(method="holm") runs
    statsmodels' multipletests, which calls gc.collect() each time.)"""
    k = p.shape[1]
    order = np.argsort(p, axis=1)
    ok = np.take_along_axis(p, order, axis=1) <= ALPHA / (k - np.arange(k))
    ok = np.logical_and.accumulate(ok, axis=1)
    out = np.empty_like(ok)
    np.put_along_axis(out, order, ok, axis=1)
    return out


def _holm_power_two(lam: float, rho: float, alpha: float) -> float:
    """Per-comparison power of Holm's procedure for two two-sided z tests with
    means ``lam`` and correlation ``rho`` (comparisons sharing a control arm:
    ``rho = n / (n + n_c)`` with equal arms, Dunnett 1955). Comparison 1 is
    rejected when ``|T1| > c1`` (``c1 = z_{1 - alpha/4}``), or when
    ``c2 < |T1| <= c1`` (``c2 = z_{1 - alpha/2}``) and ``|T2| > c1``."""
    c1, c2 = stats.norm.ppf(1 - alpha / 4), stats.norm.ppf(1 - alpha / 2)
    s = math.sqrt(1 - rho**2)
    first = stats.norm.sf(c1 - lam) + stats.norm.cdf(-c1 - lam)

    def second(t: float) -> float:  # density of T1 times P(|T2| > c1 | T1 = t)
        mu = lam + rho * (t - lam)
        return float(
            stats.norm.pdf(t - lam)
            * (stats.norm.sf((c1 - mu) / s) + stats.norm.cdf((-c1 - mu) / s))
        )

    return float(first + integrate.quad(second, c2, c1)[0] + integrate.quad(second, -c1, -c2)[0])


def _uncorrected_power() -> float:
    return de.power(effect=EFFECT_ARMS, n=2 * PER_ARM).power  # one comparison, alpha 0.05


@pytest.mark.parametrize("correction", ["bonferroni", "dunnett"])
def test_several_arms_single_step_corrections(
    correction: Literal["bonferroni", "dunnett"], multi_arm_trials: tuple[np.ndarray, np.ndarray]
) -> None:
    p, t = multi_arm_trials
    if correction == "bonferroni":
        reject = _bonferroni_reject(p)
    else:
        # Dunnett's (1955) single-step critical value for two comparisons sharing a
        # control (lambda = 1/2 each), df = 600 - 3 as in the analytic power; the
        # value itself is checked against the multivariate normal in test_power.py
        crit = dunnett_critical(ALPHA, (0.5, 0.5), 3.0 * PER_ARM - 3, True)
        assert crit == pytest.approx(2.2174, abs=1e-4)
        reject = np.abs(t) > crit
    for k, ana in enumerate(_comparison_powers(correction)):
        _check(
            ana,
            float(reject[:, k].mean()),
            ARM_SIMS,
            ignoring={"the correction": _uncorrected_power()},
        )


def test_dunnett_gains_over_bonferroni_as_predicted(
    multi_arm_trials: tuple[np.ndarray, np.ndarray],
) -> None:
    """On the same trials, the share Dunnett rejects and Bonferroni does not matches
    the analytic gain (about 1 point), a far sharper check of the critical value."""
    p, t = multi_arm_trials
    crit = dunnett_critical(ALPHA, (0.5, 0.5), 3.0 * PER_ARM - 3, True)
    bonf, dun = _bonferroni_reject(p), np.abs(t) > crit
    assert not np.any(bonf & ~dun)  # Dunnett's critical value is the smaller one
    gains = np.subtract(_comparison_powers("dunnett"), _comparison_powers("bonferroni"))
    for k, gain in enumerate(gains):
        lo, hi = binomial_band(float(gain), ARM_SIMS, significance=SIGNIFICANCE)
        observed = float(np.mean(dun[:, k] & ~bonf[:, k]))
        assert lo - PAIRED_SLACK <= observed <= hi + PAIRED_SLACK, (observed, gain)


def test_several_arms_holm(multi_arm_trials: tuple[np.ndarray, np.ndarray]) -> None:
    """``correction="holm"`` reports Bonferroni's power, documented as a lower bound
    of Holm's per-comparison power: the simulated Holm rejection rate must not fall
    below it. The exact per-comparison Holm power (two correlated tests, computed
    here) is the sharp target, and the paired gain over Bonferroni (about 5 points
    with two comparisons) shows the bound is strict."""
    p, _ = multi_arm_trials
    holm, bonf = _holm_reject(p), _bonferroni_reject(p)
    lib_holm = np.array([adjust_p_values(row, method="holm") for row in p[:20]]) <= ALPHA
    np.testing.assert_array_equal(holm[:20], lib_holm)  # the vectorised rule is the library's
    powers = _comparison_powers("holm")
    assert powers == _comparison_powers("bonferroni")
    lam = EFFECT_ARMS / math.sqrt(2 / PER_ARM)  # ITT effect in standard errors
    exact = _holm_power_two(lam, 0.5, ALPHA)  # 0.764
    c1 = stats.norm.ppf(1 - ALPHA / 4)
    bonferroni_z = float(stats.norm.sf(c1 - lam) + stats.norm.cdf(-c1 - lam))  # 0.712
    for k, ana in enumerate(powers):
        rate = float(holm[:, k].mean())
        _check(ana, rate, ARM_SIMS, ignoring={}, alternative="less")
        _check(exact, rate, ARM_SIMS, ignoring={})
        gain = float(np.mean(holm[:, k] & ~bonf[:, k]))
        lo, hi = binomial_band(exact - bonferroni_z, ARM_SIMS, significance=SIGNIFICANCE)
        assert lo - PAIRED_SLACK <= gain <= hi + PAIRED_SLACK, (gain, exact - bonferroni_z)
        assert gain > PAIRED_SLACK  # the reported (Bonferroni) power implies a gain of 0


# ----------------------------------------------------------------------------- (5) ratio + dilution

N_RATIO, CACE, TAKE_UP, CONTAMINATION = 1000, 0.28, 0.75, 0.15


def test_unequal_allocation_with_take_up_and_contamination() -> None:
    """30% treated; exactly 75% would receive the programme if offered it and 15%
    (the always-takers among them) receive it anyway, so the ITT effect is
    CACE x 0.6 (Bloom 1984). Outcome variance exactly 1 in the population."""
    rng = np.random.default_rng(20240605)
    y0 = rng.normal(size=N_RATIO)
    y0 = (y0 - y0.mean()) / y0.std(ddof=1)
    u = rng.permutation(N_RATIO) / N_RATIO
    pop = pd.DataFrame(
        {
            "y0": y0,
            "y1": y0 + CACE,
            "d0": (u < CONTAMINATION).astype(int),
            "d1": (u < TAKE_UP).astype(int),
        }
    )
    sims = 2000
    res = de.diagnose(pop, arms={"control": 7, "treatment": 3}, sims=sims, seed=605)
    assert res.method == "batched"
    assert res.estimand == pytest.approx(CACE * (TAKE_UP - CONTAMINATION))
    design: dict[str, Any] = dict(effect=CACE, n=N_RATIO, sd=1.0, scale="cace")
    ana = de.power(**design, ratio=0.3, take_up=TAKE_UP, contamination=CONTAMINATION)
    assert ana.n_per_arm == {"control": 700, "treatment": 300}
    assert res.mean_se == pytest.approx(ana.std_error, rel=0.01)
    ignoring = {
        "the allocation (ratio=0.5)": de.power(
            **design, take_up=TAKE_UP, contamination=CONTAMINATION
        ).power,
        "contamination": de.power(**design, ratio=0.3, take_up=TAKE_UP).power,
    }
    _check(ana.power, res.power, sims, ignoring=ignoring)
