"""Quantile treatment effects (de.quantile_effects).

Reference: tests/reference/quantile/reference.R (R 4.2.2, quantreg from Debian):
``rq(earnings ~ treat, tau)``'s treatment coefficient and R's ``quantile(type = 1)``
of each arm, on committed synthetic earnings with a zero mass (reference_results.csv).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.estimate.quantile import weighted_quantiles

REF = Path(__file__).parent / "reference" / "quantile"
RESULTS = pd.read_csv(REF / "reference_results.csv")
# R prints 17 significant digits and both sides pick the same order statistic: the
# only difference is the subtraction's rounding
TOL = 1e-10
TAUS = sorted(RESULTS["tau"].unique())
ARGS = dict(outcome="earnings", assigned="arm", seed=1, draws=99)


@pytest.mark.parametrize("file", ["earnings_data.csv", "earnings_even.csv"])
def test_matches_r_type1_quantiles(file: str) -> None:
    ref = RESULTS[RESULTS["file"] == file].set_index("tau")
    res = de.quantile_effects(pd.read_csv(REF / file), quantiles=TAUS, **ARGS)
    f = res.to_frame().set_index("quantile")
    np.testing.assert_allclose(f["control_quantile"], ref["type1_control"], rtol=0, atol=TOL)
    np.testing.assert_allclose(f["treatment_quantile"], ref["type1_treatment"], rtol=0, atol=TOL)
    np.testing.assert_allclose(f["estimate"], ref["type1_difference"], rtol=0, atol=TOL)
    assert res.zero_share_control == pytest.approx(ref["zero_share_control"].iloc[0], abs=1e-15)
    assert res.zero_share_treatment == pytest.approx(ref["zero_share_treatment"].iloc[0], abs=1e-15)


def test_matches_quantreg_rq_when_the_quantile_is_unique() -> None:
    """n tau is never an integer in earnings_data.csv (401 and 399 people): the check-loss
    minimiser is unique and rq's coefficient is the difference of type-1 quantiles."""
    ref = RESULTS[RESULTS["file"] == "earnings_data.csv"].set_index("tau")
    res = de.quantile_effects(pd.read_csv(REF / "earnings_data.csv"), quantiles=TAUS, **ARGS)
    f = res.to_frame().set_index("quantile")
    np.testing.assert_allclose(f["estimate"], ref["rq_treat"], rtol=0, atol=TOL)
    np.testing.assert_allclose(f["control_quantile"], ref["rq_intercept"], rtol=0, atol=TOL)


def test_zero_mass_flags() -> None:
    """Control 45.4% zeros, treatment 37.1%: tau <= 0.371 is inside both (effect exactly
    0), 0.371 < tau <= 0.454 inside the control arm's only (effect = treatment quantile)."""
    res = de.quantile_effects(pd.read_csv(REF / "earnings_data.csv"), quantiles=TAUS, **ARGS)
    f = res.to_frame().set_index("quantile")
    assert list(f["zero_mass"]) == ["both"] * 3 + ["control"] * 2 + ["none"] * 4
    assert (f.loc[[0.1, 0.25, 0.3], "estimate"] == 0.0).all()
    assert (f.loc[[0.1, 0.25, 0.3], ["conf_low", "conf_high"]] == 0.0).all().all()
    np.testing.assert_array_equal(f.loc[[0.4, 0.45], "estimate"], f.loc[[0.4, 0.45], "treatment_quantile"])
    assert res.zero_share_difference == pytest.approx(res.zero_share_treatment - res.zero_share_control)
    lo, hi = res.zero_share_interval()
    assert lo < res.zero_share_difference < hi < 0


def test_seeded_and_contract() -> None:
    d = pd.read_csv(REF / "earnings_data.csv")
    a = de.quantile_effects(d, **ARGS)
    b = de.quantile_effects(d, **ARGS)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    c = de.quantile_effects(d, **{**ARGS, "seed": 2})
    assert not np.array_equal(a.to_frame()["conf_low"], c.to_frame()["conf_low"])
    assert list(a.conf_int()["term"]) == list(a.to_frame()["term"])
    assert "zero outcome" in a.summary() and "tau" in a.summary()
    wide, narrow = a.conf_int(0.01), a.conf_int(0.2)
    assert (wide["conf_low"] <= narrow["conf_low"]).all() and (wide["conf_high"] >= narrow["conf_high"]).all()


def test_strata_and_clusters_resample_as_designed() -> None:
    d = pd.read_csv(REF / "earnings_data.csv")
    res = de.quantile_effects(d, strata="stratum", **ARGS)
    assert res.design == "blocked" and "within stratum and arm" in res.method
    # clusters randomised whole: 40 offices of 20 people, each wholly in one arm
    d = d.sort_values("arm", kind="stable").reset_index(drop=True)
    d["office"] = np.arange(len(d)) // 20
    d.loc[d["arm"] == "treatment", "office"] += 100  # the boundary office is split: keep arms apart
    res = de.quantile_effects(d, cluster="office", **ARGS)
    assert res.design == "clustered" and "whole clusters" in res.method
    plain = de.quantile_effects(d, **ARGS)
    np.testing.assert_array_equal(res.effects, plain.effects)  # the estimate ignores the design


def test_plot_and_alt_text() -> None:
    import matplotlib

    matplotlib.use("Agg")
    res = de.quantile_effects(pd.read_csv(REF / "earnings_data.csv"), **ARGS)
    left, right = res.plot()
    assert left.figure is right.figure
    assert de.results.palette.alt_text_of(left.figure) == res.alt_text()
    assert "zero outcome" in res.alt_text()
    import matplotlib.pyplot as plt

    plt.close(left.figure)


def test_bad_input() -> None:
    d = pd.read_csv(REF / "earnings_data.csv")
    for bad in ([0.0, 0.5], [0.5, 1.0], [50], [float("nan")], []):
        with pytest.raises(OptionError, match="'quantiles' parameter of quantile_effects must be"):
            de.quantile_effects(d, quantiles=bad, **ARGS)
    with pytest.raises(OptionError, match="repeats a level"):
        de.quantile_effects(d, quantiles=[0.5, 0.5], **ARGS)
    with pytest.raises(OptionError, match="'seed' parameter of quantile_effects is required"):
        de.quantile_effects(d, outcome="earnings", assigned="arm")
    with pytest.raises(ColumnError, match="'earnings' \\(outcome\\) must be numeric"):
        de.quantile_effects(d.assign(earnings=d["earnings"].astype(str)), **ARGS)
    gap = d.copy()
    gap.loc[[3, 7], "earnings"] = np.nan
    with pytest.raises(MissingDataError, match="'earnings' \\(outcome\\) has 2 missing"):
        de.quantile_effects(gap, **ARGS)
    with pytest.warns(de.errors.DroppedRowsWarning, match="2 row"):
        res = de.quantile_effects(gap, missing="drop", **ARGS)
    assert res.dropped == {"earnings": 2} and res.n_control + res.n_treatment == len(d) - 2
    small = pd.concat([d[d["arm"] == "control"], d[d["arm"] == "treatment"].head(30)])
    with pytest.raises(DesignError, match="arm 'treatment' holds 30 people, too few for quantiles"):
        de.quantile_effects(small, **ARGS)
    with pytest.raises(OptionError, match="'draws' parameter"):
        de.quantile_effects(d, **{**ARGS, "draws": 5})


def test_weighted_quantiles_are_type1() -> None:
    """The batched type-1 quantile with integer weights equals numpy's inverted_cdf
    quantile of the sample with each value repeated by its weight."""
    rng = np.random.default_rng(3)
    y = np.sort(rng.integers(0, 5, 40).astype(float))
    W = rng.integers(0, 3, (50, 40))
    W[:, 0] += 1
    taus = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    got = weighted_quantiles(y, W, taus)
    for b in range(50):
        want = np.quantile(np.repeat(y, W[b]), taus, method="inverted_cdf")
        np.testing.assert_array_equal(got[b], want)


# --- properties ------------------------------------------------------------------------
DATA = pd.read_csv(REF / "earnings_data.csv")
Q = [0.6, 0.75, 0.9]


@settings(max_examples=20, deadline=None)
@given(c=st.floats(-1e4, 1e4), seed=st.integers(0, 2**16))
def test_shifting_the_treatment_arm_shifts_the_effect(c: float, seed: int) -> None:
    base = de.quantile_effects(DATA, quantiles=Q, **ARGS)
    moved = DATA.assign(earnings=DATA["earnings"] + c * (DATA["arm"] == "treatment"))
    res = de.quantile_effects(moved.sample(frac=1.0, random_state=seed), quantiles=Q, **ARGS)
    np.testing.assert_allclose(res.effects, base.effects + c, rtol=1e-12, atol=1e-9 * (1 + abs(c)))


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(0.01, 100.0), power=st.sampled_from([0.5, 1.0, 2.0]))
def test_monotone_transforms_carry_the_arm_quantiles(scale: float, power: float) -> None:
    """Quantiles commute with increasing maps: the arms' quantiles of g(y) are g of theirs."""
    base = de.quantile_effects(DATA, quantiles=TAUS, **ARGS).to_frame()
    res = de.quantile_effects(DATA.assign(earnings=scale * DATA["earnings"] ** power),
                              quantiles=TAUS, **ARGS).to_frame()
    for col in ("control_quantile", "treatment_quantile"):
        np.testing.assert_allclose(res[col], scale * base[col] ** power, rtol=1e-12)
    assert list(res["zero_mass"]) == list(base["zero_mass"])


def test_relabelling_the_arms_flips_the_sign() -> None:
    flipped = DATA.assign(arm=DATA["arm"].map({"treatment": "control", "control": "treatment"}))
    a = de.quantile_effects(DATA, quantiles=TAUS, **ARGS)
    b = de.quantile_effects(flipped, quantiles=TAUS, **ARGS)
    np.testing.assert_array_equal(b.effects, -a.effects)
    assert b.zero_share_difference == -a.zero_share_difference


# --- seeded Monte Carlo ------------------------------------------------------------------
MC_SIMS = 1000


@pytest.mark.slow
def test_monte_carlo_coverage_away_from_the_zero_mass() -> None:
    """Earnings with 40% (control) and 33% (treatment) zeros and lognormal pay; the true
    QTE at tau in (0.6, 0.75, 0.9) from the model's quantile functions. The percentile
    intervals cover at 95% within the binomial band."""
    from scipy import stats

    p0 = {0: 0.40, 1: 0.33}
    mu = {0: 6.8, 1: 6.95}

    def true_q(arm: int, tau: float) -> float:
        return float(np.exp(mu[arm] + 0.8 * stats.norm.ppf((tau - p0[arm]) / (1 - p0[arm]))))

    taus = [0.6, 0.75, 0.9]
    truth = np.array([true_q(1, t) - true_q(0, t) for t in taus])
    rng = np.random.default_rng(1604)
    covered = np.zeros((MC_SIMS, 3), dtype=bool)
    for s in range(MC_SIMS):
        z = np.repeat([0, 1], 300)
        works = rng.random(600) > np.where(z == 1, p0[1], p0[0])
        y = np.where(works, rng.lognormal(np.where(z == 1, mu[1], mu[0]), 0.8), 0.0)
        d = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "earnings": y})
        f = de.quantile_effects(d, outcome="earnings", assigned="arm", quantiles=taus,
                                draws=299, seed=s).to_frame()
        covered[s] = (f["conf_low"] <= truth) & (truth <= f["conf_high"])
    lo, hi = de.testing.binomial_band(0.95, MC_SIMS)
    cov = covered.mean(axis=0)
    print(f"coverage at tau {taus}: {cov}, band [{lo}, {hi}], {MC_SIMS} sims")
    assert np.all((lo <= cov) & (cov <= hi)), cov


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_row_order_changes_nothing(seed: int) -> None:
    """People are numbered in outcome order within stratum and arm, so a seeded
    bootstrap gives the same intervals whatever order the rows come in."""
    a = de.quantile_effects(DATA, strata="stratum", **ARGS)
    b = de.quantile_effects(DATA.sample(frac=1.0, random_state=seed), strata="stratum", **ARGS)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_cluster_draws_resample_whole_clusters() -> None:
    """The batched engine on cluster counts equals np.quantile(inverted_cdf) of the
    outcomes repeated by their cluster's count, draw by draw, and every draw keeps the
    number of clusters per arm."""
    from dwp_eval._core.assignments import unit_cells
    from dwp_eval.estimate.quantile import QuantileEngine
    from dwp_eval.estimate.resampling import resample_counts

    rng = np.random.default_rng(5)
    n = 300
    cl = rng.integers(0, 30, n)
    z = (cl % 2).astype(float)
    y = np.where(rng.random(n) < 0.3, 0.0, rng.lognormal(6, 1, n).round(2))
    st_ = np.zeros(n, dtype=np.int64)
    cells = unit_cells(cl, st_, z, cell=z.astype(np.int64))
    runs = [(int(a), int(a + m)) for a, m in zip(cells.cells.lo, cells.cells.n, strict=True)]
    taus = np.array([0.25, 0.5, 0.9])
    eng = QuantileEngine(y, z, cells.unit_of_row, cells.cells.n_units, taus)
    C = next(resample_counts(runs, cells.cells.n_units, np.random.default_rng(1), 40))
    got = eng.statistics(C)
    for b in range(40):
        w = C[b, cells.unit_of_row]
        for arm, off in ((0.0, 0), (1.0, 3)):
            rep = np.repeat(y[z == arm], w[z == arm])
            np.testing.assert_array_equal(got[b, off:off + 3], np.quantile(rep, taus, method="inverted_cdf"))
        assert got[b, 10] == pytest.approx(np.mean(np.repeat(y[z == 1], w[z == 1]) == 0))
        assert C[b, : cells.cells.n[0]].sum() == cells.cells.n[0]


def test_clusters_spanning_strata_are_refused() -> None:
    d = DATA.sort_values("arm", kind="stable").reset_index(drop=True)
    d["office"] = np.arange(len(d)) // 20 + 100 * (d["arm"] == "treatment")
    with pytest.raises(DesignError, match="span several strata of 'stratum'"):
        de.quantile_effects(d, cluster="office", strata="stratum", **ARGS)
