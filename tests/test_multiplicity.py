"""Multiple testing: ``adjust_p_values`` against statsmodels and hand computations, and the
Romano-Wolf step-down bootstrap (``romano_wolf_p_values``, ``romano_wolf``).

Romano-Wolf is checked by

* a hand-computed step-down on a tiny bootstrap matrix (monotonicity enforcement included);
* properties: adjusted >= bootstrap unadjusted (exact), monotone along the step-down order
  (exact), close to or above the t-test p-values and below Bonferroni (Monte Carlo error);
* the vectorised bootstrap statistics against itt's own code run on every draw, and against
  itt on the original data when every unit is drawn once;
* seeded reproducibility;
* a seeded Monte Carlo of the familywise error rate under the global null (slow).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from statsmodels.stats.multitest import multipletests

import dwp_eval as de
from dwp_eval.errors import DegenerateDrawsWarning, OptionError
from dwp_eval.estimate.multiplicity import adjust_p_values, romano_wolf, romano_wolf_p_values
from dwp_eval.estimate.resampling import DesignBootstrap, Hypothesis
from dwp_eval.results import RomanoWolf

# adjust_p_values delegates to statsmodels: identical arithmetic, so equality to rounding.
RTOL = 1e-12
# Vectorised bootstrap statistics against itt's code on the same draws: the same formulas
# summed in a different order (unit totals, centred outcomes), so only rounding differs.
STAT_RTOL = 1e-8
# Romano-Wolf against the t-test p-values and Bonferroni: the bootstrap p-values carry Monte
# Carlo error of about sqrt(p(1-p)/draws) <= 0.016 for 999 draws, and the bootstrap-t and t
# distributions differ by O(1/n); 0.03 is about two Monte Carlo standard errors.
MC_TOL = 0.03


# --------------------------------------------------------------------------- adjust_p_values


@pytest.mark.parametrize(("method", "sm_method"), [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adjust_p_values_matches_statsmodels(method, sm_method, seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.05, 4), rng.uniform(0, 1, 8)])
    expected = multipletests(p, method=sm_method)[1]
    np.testing.assert_allclose(adjust_p_values(p, method=method), expected, rtol=RTOL)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 30),
                  elements=st.sampled_from([0.0, 1e-12, 0.001, 0.01, 0.02, 0.05, 0.2, 0.5, 1.0])
                  | st.floats(0, 1)))
def test_holm_equals_statsmodels_with_ties_zeros_and_ones(p):
    """Holm is written here (statsmodels' Holm runs gc.collect() on every call): it equals
    statsmodels' on any family, ties and the ends of [0, 1] included."""
    np.testing.assert_allclose(adjust_p_values(p, method="holm"), multipletests(p, method="holm")[1],
                               rtol=1e-15, atol=0)


def test_holm_by_hand():
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> 0.06 (monotone)
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(adjust_p_values(p, method="holm"), [0.03, 0.06, 0.06, 0.02], rtol=RTOL)
    np.testing.assert_allclose(adjust_p_values(p), [0.03, 0.06, 0.06, 0.02], rtol=RTOL)


def test_bonferroni_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(adjust_p_values(p, method="bonferroni"), [0.04, 0.16, 0.12, 0.02], rtol=RTOL)
    # BH: K p_(j) / j = 0.02, 0.02, 0.04, 0.04 for 0.005, 0.01, 0.03, 0.04; min from the top
    np.testing.assert_allclose(adjust_p_values(p, method="bh"), [0.02, 0.04, 0.04, 0.02], rtol=RTOL)


def test_bonferroni_caps_at_one_and_none_is_identity():
    np.testing.assert_array_equal(adjust_p_values([0.5, 0.9], method="bonferroni"), [1.0, 1.0])
    np.testing.assert_array_equal(adjust_p_values([0.5, 0.01], method="none"), [0.5, 0.01])
    assert adjust_p_values([], method="holm").shape == (0,)


def test_adjust_p_values_unknown_method_lists_valid_ones():
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'method' parameter of adjust_p_values must be one of 'holm', 'bonferroni', "
            "'bh', 'none'. Got 'holms' instead. Did you mean 'holm'?"
        ),
    ):
        adjust_p_values([0.1, 0.2], method="holms")


@pytest.mark.parametrize("bad", [[0.1, 1.2], [0.1, np.nan], [-0.01, 0.2]])
def test_adjust_p_values_rejects_values_outside_unit_interval(bad):
    with pytest.raises(
        OptionError,
        match=re.escape("The 'p_values' parameter of adjust_p_values must hold numbers in [0, 1] with no missing values."),
    ):
        adjust_p_values(bad)


def test_adjust_p_values_rejects_2d():
    with pytest.raises(OptionError, match=re.escape("must be one-dimensional. Got shape (2, 2).")):
        adjust_p_values([[0.1, 0.2], [0.3, 0.4]])


# --------------------------------------------------------------------------- romano_wolf_p_values


def test_romano_wolf_p_values_by_hand():
    # t = (3, 1); step 1 uses max(|t*_1|, |t*_2|) = 2, 3.5, 1.5, 0.3: one of four >= 3,
    # p = (1 + 1) / 5; step 2 uses |t*_2| = 2, 0.1, 1.5, 0.3: two >= 1, p = 3 / 5.
    boot = np.array([[0.5, 2.0], [3.5, 0.1], [1.0, 1.5], [0.2, 0.3]])
    np.testing.assert_allclose(romano_wolf_p_values([3.0, -1.0], boot), [0.4, 0.6])


def test_romano_wolf_p_values_enforces_monotonicity():
    # step 1: two draws with max >= 3, p = 3/5; step 2 alone would give 1/5 but cannot be
    # below the previous step.
    boot = np.array([[3.5, 0.0], [3.2, 0.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(romano_wolf_p_values([3.0, 2.9], boot), [0.6, 0.6])


def test_romano_wolf_p_values_counts_missing_draws_as_exceedances():
    boot = np.array([[np.nan, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(romano_wolf_p_values([3.0, 2.0], boot), [0.4, 0.4])


def test_romano_wolf_p_values_shape_error():
    with pytest.raises(OptionError, match=re.escape("must be a draws x K array matching the K = 3 statistics")):
        romano_wolf_p_values([1.0, 2.0, 3.0], np.zeros((10, 2)))


@given(
    t=hnp.arrays(float, st.integers(1, 6), elements=st.floats(-5, 5)),
    seed=st.integers(0, 2**16),
)
def test_romano_wolf_p_values_properties(t, seed):
    rng = np.random.default_rng(seed)
    k = len(t)
    boot = rng.standard_normal((199, k)) @ np.linalg.cholesky(0.5 * np.eye(k) + 0.5)
    adj = romano_wolf_p_values(t, boot)
    unadj = (np.sum(np.abs(boot) >= np.abs(t), axis=0) + 1) / 200
    assert np.all(adj >= unadj - 1e-15)  # never below the unadjusted bootstrap p-value
    order = np.argsort(-np.abs(t), kind="stable")
    assert np.all(np.diff(adj[order]) >= 0)  # monotone along the step-down order
    assert np.all((adj > 0) & (adj <= 1))


# --------------------------------------------------------------------------- romano_wolf on data


def _trial(n: int = 400, seed: int = 7, rho: float = 0.5, effects=(0.0, 0.0, 0.0)) -> pd.DataFrame:
    """People in 10 strata of 40 and 80 clusters of 5; arms by person (``arm``, blocked),
    by cluster (``arm_c``) and in pairs (``arm_p`` within ``pair``); outcomes correlated
    ``rho``; ``effects`` on y0, y1, y2."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"s": np.repeat(np.arange(10), n // 10), "cl": np.repeat(np.arange(n // 5), 5)})
    df["arm"] = np.concatenate([rng.permutation(np.repeat(["control", "treatment"], n // 20)) for _ in range(10)])
    df["arm_c"] = np.where(df["cl"] % 2 == 0, "control", "treatment")
    df["pair"] = np.repeat(np.arange(n // 2), 2)
    df["arm_p"] = np.concatenate([rng.permutation(["control", "treatment"]) for _ in range(n // 2)])
    df["cpair"] = df["cl"] // 2
    df["w"] = rng.uniform(0.5, 2.0, n)
    df["x"] = rng.normal(size=n)
    df["g"] = rng.choice(["a", "b", "c"], n)
    common = rng.normal(size=n)
    for k, eff in enumerate(effects):
        t = (df["arm"] == "treatment").to_numpy()
        df[f"y{k}"] = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=n) + df["x"] + eff * t + 50
    df["yb"] = (rng.random(n) < 0.3).astype(int)
    return df


DESIGNS = {
    "standard": dict(assigned="arm"),
    "blocked": dict(assigned="arm", strata="s"),
    "clustered": dict(assigned="arm_c", cluster="cl"),
    "block-clustered": dict(assigned="arm_c", cluster="cl", strata="s"),
    "weighted": dict(assigned="arm", weights="w"),
    "weighted blocked": dict(assigned="arm", weights="w", strata="s"),
    "weighted clustered": dict(assigned="arm_c", weights="w", cluster="cl"),
    "matched-pair": dict(assigned="arm_p", strata="pair"),
    "matched-pair clustered": dict(assigned="arm_c", strata="cpair", cluster="cl"),
    "covariates": dict(assigned="arm", strata="s", covariates=["x", "g"]),
    "covariates clustered": dict(assigned="arm_c", cluster="cl", covariates=["x"]),
    "HC1": dict(assigned="arm", se_type="HC1"),
}


def _bootstrap(df, outcomes, kw, within=None):
    effects = [de.itt(df, outcome=o, **kw) for o in outcomes]
    hyps = [Hypothesis(o, o, None, e) for o, e in zip(outcomes, effects, strict=True)]
    boot = DesignBootstrap(
        df, hyps, assigned=kw["assigned"], covariates=list(kw.get("covariates") or []),
        adjustment="lin", strata=kw.get("strata"), cluster=kw.get("cluster"),
        se_type=kw.get("se_type"), weights=kw.get("weights"), within=within, func="test",
    )
    return boot, effects


def _statistics(boot, counts):
    if boot.mode == "blocks":
        return boot._blocks(counts)
    if boot.mode == "pairs":
        return boot._pairs(counts)
    return boot._loop(counts)


@pytest.mark.parametrize("design", list(DESIGNS))
def test_bootstrap_statistics_with_every_unit_once_equal_itt(design):
    df = _trial()
    boot, effects = _bootstrap(df, ["y0", "y1", "yb"], DESIGNS[design])
    est, se = _statistics(boot, np.ones((1, boot.n_units), dtype=np.int64))
    np.testing.assert_allclose(est[0], [e.estimate for e in effects], rtol=STAT_RTOL, atol=1e-12)
    np.testing.assert_allclose(se[0], [e.std_error for e in effects], rtol=STAT_RTOL)


@pytest.mark.parametrize(
    "design",
    ["standard", "blocked", "clustered", "block-clustered", "weighted", "weighted blocked",
     "matched-pair", "matched-pair clustered"],
)
def test_vectorised_bootstrap_equals_itt_code_on_each_draw(design):
    """The matrix formulas give what itt's own estimator gives on each resampled data set
    (units drawn twice counting as two units)."""
    df = _trial()
    boot, _ = _bootstrap(df, ["y0", "y1"], DESIGNS[design])
    assert boot.mode in ("blocks", "pairs")
    counts = next(boot.counts(np.random.default_rng(5), 25))
    est, se = _statistics(boot, counts)
    boot.mode = "design-loop"  # itt's _design_based on every draw
    est_loop, se_loop = boot._loop(counts)
    np.testing.assert_allclose(est, est_loop, rtol=STAT_RTOL)
    np.testing.assert_allclose(se, se_loop, rtol=STAT_RTOL)


def test_arm_is_not_a_resampling_cell_when_a_stratum_has_one_cluster_of_an_arm():
    # stratum 0 has one treated office and three control offices: resampling within stratum
    # and arm would never vary that office, so offices are resampled within strata only
    df = _trial()
    df["arm_c"] = np.where(df["cl"] % 2 == 0, "control", "treatment")
    df.loc[df["cl"].isin([1, 3, 5]), "arm_c"] = "control"
    df.loc[df["cl"].isin([7]), "arm_c"] = "treatment"
    kw = dict(assigned="arm_c", cluster="cl", strata="s")
    boot, _ = _bootstrap(df, ["y0", "y1"], kw)
    assert boot.mode == "blocks" and boot.resampling == "clusters within strata"
    counts = next(boot.counts(np.random.default_rng(5), 40))
    est, se = boot._blocks(counts)
    boot.mode = "design-loop"
    est_loop, se_loop = boot._loop(counts)
    ok = np.isfinite(se_loop)
    assert ok.sum() > 20  # most draws keep both arms in every stratum
    np.testing.assert_allclose(est[ok], est_loop[ok], rtol=STAT_RTOL)
    np.testing.assert_allclose(se[ok], se_loop[ok], rtol=STAT_RTOL)
    assert (~ok).any()  # some draws lose an arm in a stratum: not estimable in either code
    assert not np.isfinite(est[~ok]).any()


def test_resampling_follows_the_design():
    df = _trial()
    kw = dict(draws=19, seed=1)
    assert romano_wolf(df, outcomes=["y0"], assigned="arm", **kw).resampling == "people within arm"
    assert (
        romano_wolf(df, outcomes=["y0"], assigned="arm", strata="s", **kw).resampling
        == "people within strata and arm"
    )
    assert (
        romano_wolf(df, outcomes=["y0"], assigned="arm_c", cluster="cl", **kw).resampling
        == "clusters within arm"
    )
    assert (
        romano_wolf(df, outcomes=["y0"], assigned="arm_p", strata="pair", **kw).resampling
        == "pairs (strata)"
    )


def test_romano_wolf_result():
    df = _trial(effects=(0.3, 0.0, 0.15))
    rw = romano_wolf(df, outcomes=["y0", "y1", "y2"], assigned="arm", strata="s", draws=999, seed=11)
    assert isinstance(rw, RomanoWolf)
    frame = rw.to_frame()
    assert list(frame.columns) == [
        "outcome", "estimate", "std_error", "statistic", "p_value", "p_value_bootstrap",
        "p_value_adjusted", "n_obs", "se_type", "design",
    ]
    assert frame["outcome"].tolist() == ["y0", "y1", "y2"]
    for e, o in zip(rw.effects, ["y0", "y1", "y2"], strict=True):
        ref = de.itt(df, outcome=o, assigned="arm", strata="s")
        assert e.estimate == ref.estimate and e.std_error == ref.std_error
    assert rw.bootstrap_statistics.shape == (999, 3)
    assert not rw.bootstrap_statistics.flags.writeable
    assert "Romano-Wolf" in rw.summary() and "999 bootstrap draws" in rw.summary()
    assert repr(rw) == "<RomanoWolf 3 hypotheses, 999 draws>"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_romano_wolf_bounds(seed):
    """Adjusted >= unadjusted; monotone in the step-down order; <= Bonferroni (MC error)."""
    df = _trial(seed=seed, effects=(0.25, 0.1, 0.0), rho=0.3)
    outs = ["y0", "y1", "y2"]
    rw = romano_wolf(df, outcomes=outs, assigned="arm", strata="s", draws=999, seed=seed)
    adj = np.array(rw.p_value_adjusted)
    boot = np.array(rw.p_value_bootstrap)
    p = np.array([e.p_value for e in rw.effects])
    t = np.abs([e.statistic for e in rw.effects])
    assert np.all(adj >= boot)  # exact, by construction
    assert np.all(adj >= p - MC_TOL)  # the t-test p-values: up to Monte Carlo error
    assert np.all(np.diff(adj[np.argsort(-t)]) >= 0)
    bonferroni = np.minimum(1.0, len(outs) * p)
    assert np.all(adj <= bonferroni + MC_TOL)


def test_romano_wolf_gains_over_holm_when_outcomes_are_nearly_identical():
    # Three almost identical outcomes: one test in effect, so Romano-Wolf is close to the
    # unadjusted p-value while Holm multiplies the smallest by three.
    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({"arm": np.repeat(["control", "treatment"], n // 2)})
    base = rng.normal(size=n) + 0.2 * (df["arm"] == "treatment")
    for k in range(3):
        df[f"y{k}"] = base + 0.01 * rng.normal(size=n)
    rw = romano_wolf(df, outcomes=["y0", "y1", "y2"], assigned="arm", draws=1999, seed=4)
    p = np.array([e.p_value for e in rw.effects])
    holm = adjust_p_values(p, method="holm")
    assert min(rw.p_value_adjusted) < 0.75 * min(holm)
    assert min(rw.p_value_adjusted) <= min(p) + MC_TOL


def test_romano_wolf_is_reproducible():
    df = _trial(effects=(0.2, 0.1, 0.0))
    args = dict(outcomes=["y0", "y1", "y2"], assigned="arm_c", cluster="cl", draws=199)
    a = romano_wolf(df, **args, seed=123)
    b = romano_wolf(df, **args, seed=123)
    c = romano_wolf(df, **args, seed=np.random.default_rng(123))
    d = romano_wolf(df, **args, seed=124)
    assert a.p_value_adjusted == b.p_value_adjusted == c.p_value_adjusted
    np.testing.assert_array_equal(a.bootstrap_statistics, b.bootstrap_statistics)
    assert not np.array_equal(a.bootstrap_statistics, d.bootstrap_statistics)


def test_romano_wolf_with_covariates_and_missing_outcomes():
    df = _trial(effects=(0.3, 0.0, 0.0))
    df.loc[[3, 50, 77], "y1"] = np.nan
    with pytest.warns(de.DwpEvalWarning, match="3 row"):
        rw = romano_wolf(
            df, outcomes=["y0", "y1"], assigned="arm", covariates=["x", "g"], draws=99, seed=2,
            missing="drop",
        )
    assert [e.n_obs for e in rw.effects] == [400, 397]
    assert rw.n_degenerate == 0
    assert rw.p_value_adjusted[0] <= rw.p_value_adjusted[1]


def test_romano_wolf_needs_a_valid_seed_and_draws():
    df = _trial()
    with pytest.raises(TypeError, match="seed"):
        romano_wolf(df, outcomes=["y0"], assigned="arm")  # type: ignore[call-arg]
    with pytest.raises(
        OptionError, match=re.escape("The 'seed' parameter of romano_wolf must be an int or a numpy.random.Generator.")
    ):
        romano_wolf(df, outcomes=["y0"], assigned="arm", seed="1")
    with pytest.raises(
        OptionError, match=re.escape("The 'draws' parameter of romano_wolf must be a positive int (e.g. 1000). Got 0 instead.")
    ):
        romano_wolf(df, outcomes=["y0"], assigned="arm", seed=1, draws=0)
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'outcomes' parameter of romano_wolf must name each outcome once; 'y0' appear(s) "
            "more than once. Fix: remove the repeats."
        ),
    ):
        romano_wolf(df, outcomes=["y0", "y1", "y0"], assigned="arm", seed=1)


# --------------------------------------------------------------------------- Monte Carlo


def binomial_upper(p: float, n: int, level: float) -> float:
    """Upper end of the one-sided ``level`` band for the proportion of Binomial(n, p) successes:
    a proportion above it has probability at most ``1 - level`` when the true rate is ``p``."""
    return float(stats.binom.isf(1 - level, n, p)) / n


def test_binomial_upper_has_the_stated_probability():
    hi = binomial_upper(0.05, 400, 0.99)
    assert stats.binom.sf(round(hi * 400), 400, 0.05) <= 0.01 < stats.binom.sf(round(hi * 400) - 1, 400, 0.05)


@pytest.mark.slow
def test_familywise_error_rate_under_the_global_null():
    """Global null, four outcomes correlated 0.6 (t5 errors), 200 people in 5 strata: the
    share of trials in which Romano-Wolf rejects any hypothesis at 5% is inside the 99%
    one-sided binomial band above 0.05. It must not be trivially conservative either (below
    alpha / 2 would signal a bug), and with correlated outcomes it should reject about as
    often as Holm or more."""
    rng = np.random.default_rng(20240601)
    n, k, sims, draws, alpha = 200, 4, 600, 199, 0.05
    strata = np.repeat(np.arange(5), n // 5)
    outs = [f"y{j}" for j in range(k)]
    any_reject = np.zeros(sims, dtype=bool)
    any_reject_holm = np.zeros(sims, dtype=bool)
    for s in range(sims):
        common = rng.normal(size=n)
        y = np.sqrt(0.6) * common[:, None] + np.sqrt(0.4) * rng.standard_t(5, size=(n, k))
        arm = np.concatenate([rng.permutation(np.repeat(["control", "treatment"], n // 10)) for _ in range(5)])
        df = pd.DataFrame(y, columns=outs).assign(arm=arm, s=strata)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rw = romano_wolf(df, outcomes=outs, assigned="arm", strata="s", draws=draws, seed=rng)
        any_reject[s] = min(rw.p_value_adjusted) <= alpha
        # Holm rejects something iff K min(p) <= alpha (its first step); computed directly
        # because statsmodels' Holm runs gc.collect() on every call (~70 ms under pytest)
        any_reject_holm[s] = k * min(e.p_value for e in rw.effects) <= alpha
    fwer = any_reject.mean()
    hi = binomial_upper(alpha, sims, 0.99)
    assert fwer <= hi, f"Romano-Wolf FWER {fwer:.3f} above the 99% band {hi:.3f} for alpha {alpha}"
    assert fwer >= alpha / 2, f"Romano-Wolf FWER {fwer:.3f}: far too conservative"
    # with correlated outcomes Romano-Wolf rejects at least as often as Holm (same data)
    assert fwer >= any_reject_holm.mean() - 0.01
    print(f"FWER Romano-Wolf {fwer:.3f}, Holm {any_reject_holm.mean():.3f} ({sims} trials)")


def test_degenerate_draws_are_counted_and_conservative():
    # two people per arm: a quarter of the draws repeat one person in each arm, so the
    # standard error is zero and the draw cannot be studentised
    df = pd.DataFrame({"arm": ["control", "control", "treatment", "treatment"], "y": [1.0, 2.0, 4.0, 6.0]})
    with pytest.warns(DegenerateDrawsWarning, match=r"of 400 bootstrap draws could not be studentised"):
        rw = romano_wolf(df, outcomes=["y"], assigned="arm", draws=400, seed=1)
    assert 60 < rw.n_degenerate < 140  # about 100 expected
    assert np.isinf(rw.bootstrap_statistics).sum() == rw.n_degenerate
    assert rw.p_value_adjusted[0] >= (rw.n_degenerate + 1) / 401


# --------------------------------------------------------------------------- Dunnett


def test_dunnett_p_values_one_contrast_is_the_t_test():
    from scipy import stats

    from dwp_eval.estimate.multiplicity import dunnett_p_values

    assert dunnett_p_values([2.1], [[1.0]], df=40)[0] == pytest.approx(2 * stats.t.sf(2.1, 40))
    assert dunnett_p_values([-2.1], [[1.0]])[0] == pytest.approx(2 * stats.norm.sf(2.1))


@pytest.mark.parametrize("df", [12.0, 150.5, np.inf])
def test_dunnett_one_factor_formula_equals_genz_multivariate_t(df):
    """The one-factor (Dunnett 1955) integral and scipy's multivariate t / normal cdf agree."""
    from dwp_eval.estimate.multiplicity import _mvt_exceed, dunnett_p_values

    a = np.array([0.55, 0.7, 0.62])
    corr = np.outer(a, a)
    np.fill_diagonal(corr, 1.0)
    t = np.array([2.4, -1.1, 0.4])
    ours = dunnett_p_values(t, corr, df=df)
    genz = [_mvt_exceed(abs(v), corr, df) for v in t]
    np.testing.assert_allclose(ours, genz, atol=2e-4)


def test_dunnett_general_correlation_uses_genz():
    from dwp_eval.estimate.multiplicity import dunnett_p_values

    corr = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])  # not one-factor
    p = dunnett_p_values([2.5, 1.0, 0.3], corr, df=30)
    assert 0.04 < p[0] < 0.06 and p[0] < p[1] < p[2] <= 1


def test_dunnett_p_values_bad_input():
    from dwp_eval.estimate.multiplicity import dunnett_p_values

    with pytest.raises(OptionError, match="'correlation' must be a 2 x 2 correlation matrix"):
        dunnett_p_values([1.0, 2.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(OptionError, match="'statistics' must be a non-empty 1-D array"):
        dunnett_p_values([np.nan], [[1.0]])
    with pytest.raises(OptionError, match="'df' must be positive"):
        dunnett_p_values([1.0], [[1.0]], df=0)


@settings(max_examples=20, deadline=None)
@given(
    a=hnp.arrays(float, st.integers(2, 4), elements=st.floats(0.1, 0.95)),
    t=st.floats(0.0, 5.0),
    df=st.sampled_from([5.0, 37.5, 400.0, np.inf]),
)
def test_dunnett_p_values_lie_between_the_raw_and_bonferroni(a, t, df):
    """Sidak-type bounds: a single-step max-|t| p-value is at least the raw two-sided p and
    at most K times it (Bonferroni), and grows as the correlation falls."""
    from dwp_eval.estimate.multiplicity import dunnett_p_values

    k = len(a)
    corr = np.outer(a, a)
    np.fill_diagonal(corr, 1.0)
    p = dunnett_p_values(np.full(k, t), corr, df=df)
    raw = 2 * (stats.norm.sf(t) if np.isinf(df) else stats.t.sf(t, df))
    assert np.all(p >= raw - 1e-9) and np.all(p <= min(1.0, k * raw) + 1e-9)
    assert np.allclose(p, p[0])
    weaker = dunnett_p_values(np.full(k, t), np.where(np.eye(k) == 1, 1.0, corr * 0.5), df=df)
    assert weaker[0] >= p[0] - 1e-9
