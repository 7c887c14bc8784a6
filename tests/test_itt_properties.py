"""Properties of ``itt`` that hold for any data (hypothesis).

For every design (standard, blocked, matched pairs, clustered, block-clustered,
covariate-adjusted, weighted):

* the order of the rows does not matter;
* adding a constant to the outcome leaves the effect and its SE unchanged;
* multiplying the outcome by ``c`` multiplies the effect by ``c`` and the SE
  by ``|c|``;
* the interval and the test agree: testing ``H0: effect = conf_low`` gives a
  p-value of exactly ``alpha``.

Data are generated from a drawn seed (the design's shape is drawn too), so
every example is a valid design; examples are few (25 per test) to keep the
module under 30 s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import dwp_eval as de

# Row order: the same sums in another order (np.bincount / sorting), rounding
# only: 1e-9 relative.
RTOL_ORDER = 1e-9
# Shift and scale: the outcome itself is rounded when shifted (|shift| up to
# 1e3 on an outcome of scale ~1 loses ~1e3 * 2^-52 ~ 2e-13 absolute per value),
# which sums to well below 1e-9 relative for the effect and SE.
RTOL_SHIFT = 1e-8
RTOL_SCALE = 1e-9
# p-value at the interval's bound: t.ppf then t.sf round-trip to ~1e-12.
ATOL_P = 1e-8

DESIGNS = [
    "standard",
    "blocked",
    "matched-pair",
    "clustered",
    "block-clustered",
    "lin",
    "additive",
    "weighted",
    "lin-strata",
    "lin-cluster",
]


def make_design(design: str, seed: int) -> tuple[pd.DataFrame, dict]:
    """A random data set of the named design and the itt arguments for it."""
    rng = np.random.default_rng(seed)
    kwargs: dict = {}
    if design in ("clustered", "block-clustered", "lin-cluster"):
        n_blocks = 1 if design != "block-clustered" else int(rng.integers(2, 4))
        frames = []
        for b in range(n_blocks):
            lin = design == "lin-cluster"  # 3 parameters per arm: >= 6 people in each
            G = int(rng.integers(6 if lin else 4, 9))
            arm = rng.permutation(np.r_[np.ones(G // 2), np.zeros(G - G // 2)])
            sizes = rng.integers(2 if lin else 1, 6, size=G)
            for g in range(G):
                frames.append(
                    pd.DataFrame({"cl": f"b{b}c{g}", "s": b, "z": arm[g]}, index=range(sizes[g]))
                )
        d = pd.concat(frames, ignore_index=True)
        kwargs["cluster"] = "cl"
        if design == "block-clustered":
            kwargs["strata"] = "s"
    elif design in ("blocked", "lin-strata"):
        B = int(rng.integers(2, 5))
        parts = []
        for b in range(B):
            n1, n0 = rng.integers(2, 7, size=2)
            parts.append(pd.DataFrame({"s": b, "z": np.r_[np.ones(n1), np.zeros(n0)]}))
        d = pd.concat(parts, ignore_index=True)
        kwargs["strata"] = "s"
    elif design == "matched-pair":
        B = int(rng.integers(3, 12))
        d = pd.DataFrame({"s": np.repeat(np.arange(B), 2), "z": np.tile([1.0, 0.0], B)})
        kwargs["strata"] = "s"
    else:
        n1, n0 = rng.integers(4, 16, size=2)
        d = pd.DataFrame({"z": np.r_[np.ones(n1), np.zeros(n0)]})
    n = len(d)
    d["x1"] = rng.normal(size=n)
    d["x2"] = rng.exponential(size=n)
    d["w"] = rng.uniform(0.5, 2.0, size=n)
    scale = np.exp(rng.normal())
    d["y"] = scale * (rng.normal(size=n) * (1 + d["z"]) + 0.4 * d["z"] + d["x1"])
    d["arm"] = np.where(d["z"] == 1, "treatment", "control")
    if design.startswith("lin"):
        kwargs["covariates"] = ["x1", "x2"]
    elif design == "additive":
        kwargs.update(covariates=["x1", "x2"], adjustment="additive")
    elif design == "weighted":
        kwargs["weights"] = "w"
    return d.drop(columns="z"), kwargs


def fit(d: pd.DataFrame, kwargs: dict, outcome: str = "y"):
    return de.itt(d, outcome=outcome, assigned="arm", **kwargs)


SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=25, deadline=None)
@given(design=st.sampled_from(DESIGNS), seed=SEEDS, perm_seed=SEEDS)
def test_row_order_does_not_matter(design, seed, perm_seed):
    d, kwargs = make_design(design, seed)
    a = fit(d, kwargs)
    perm = np.random.default_rng(perm_seed).permutation(len(d))
    b = fit(d.iloc[perm], kwargs)
    c = fit(d.iloc[perm].reset_index(drop=True), kwargs)
    for other in (b, c):
        assert other.design == a.design
        assert other.estimate == pytest.approx(a.estimate, rel=RTOL_ORDER, abs=1e-12)
        assert other.std_error == pytest.approx(a.std_error, rel=RTOL_ORDER)
        assert other.df == pytest.approx(a.df, rel=RTOL_ORDER)
        assert other.n_by_arm == a.n_by_arm


@settings(max_examples=25, deadline=None)
@given(
    design=st.sampled_from(DESIGNS),
    seed=SEEDS,
    shift=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)
def test_shifting_the_outcome_leaves_the_effect(design, seed, shift):
    d, kwargs = make_design(design, seed)
    a = fit(d, kwargs)
    b = fit(d.assign(y_shift=d["y"] + shift), kwargs, outcome="y_shift")
    tol = RTOL_SHIFT * (1 + abs(shift)) * max(1.0, d["y"].abs().max())
    assert b.estimate == pytest.approx(a.estimate, rel=RTOL_SHIFT, abs=tol)
    assert b.std_error == pytest.approx(a.std_error, rel=RTOL_SHIFT, abs=tol)
    assert b.df == pytest.approx(a.df, rel=RTOL_SHIFT)
    assert b.control_mean == pytest.approx(a.control_mean + shift, rel=RTOL_SHIFT, abs=tol)


@settings(max_examples=25, deadline=None)
@given(
    design=st.sampled_from(DESIGNS),
    seed=SEEDS,
    c=st.floats(0.01, 100.0) | st.floats(-100.0, -0.01),
)
def test_scaling_the_outcome_scales_the_effect(design, seed, c):
    d, kwargs = make_design(design, seed)
    a = fit(d, kwargs)
    b = fit(d.assign(y_scaled=d["y"] * c), kwargs, outcome="y_scaled")
    assert b.estimate == pytest.approx(c * a.estimate, rel=RTOL_SCALE, abs=1e-12 * abs(c))
    assert np.sign(b.estimate) == np.sign(c) * np.sign(a.estimate)
    assert b.std_error == pytest.approx(abs(c) * a.std_error, rel=RTOL_SCALE)
    assert b.df == pytest.approx(a.df, rel=RTOL_SCALE)
    assert b.statistic == pytest.approx(np.sign(c) * a.statistic, rel=RTOL_SCALE, abs=1e-12)
    assert b.p_value == pytest.approx(a.p_value, rel=RTOL_SCALE, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    design=st.sampled_from(DESIGNS),
    seed=SEEDS,
    alpha=st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.5]) | st.floats(0.001, 0.5),
)
def test_interval_and_p_value_agree_at_the_bound(design, seed, alpha):
    d, kwargs = make_design(design, seed)
    res = fit(d, {**kwargs, "alpha": alpha})
    for bound in (res.conf_low, res.conf_high):
        statistic = (res.estimate - bound) / res.std_error
        p = 2 * stats.t.sf(abs(statistic), res.df)
        assert p == pytest.approx(alpha, abs=ATOL_P)
    # and inside / outside the interval the test does / does not reject
    half = res.conf_high - res.estimate
    for inside, h0 in [(True, res.estimate + 0.99 * half), (False, res.estimate + 1.01 * half)]:
        p = 2 * stats.t.sf(abs((res.estimate - h0) / res.std_error), res.df)
        assert (p > alpha) == inside
    # the reported p-value is the test of H0: effect = 0
    assert (res.p_value < alpha) == (not res.conf_low <= 0 <= res.conf_high)


@settings(max_examples=10, deadline=None)
@given(design=st.sampled_from(DESIGNS), seed=SEEDS)
def test_results_are_finite_and_labelled(design, seed):
    d, kwargs = make_design(design, seed)
    res = fit(d, kwargs)
    assert np.isfinite([res.estimate, res.std_error, res.df, res.p_value]).all()
    assert res.std_error > 0
    assert res.df > 0
    expected = {
        "standard": "standard", "lin": "standard", "additive": "standard", "weighted": "standard",
        "blocked": "blocked", "lin-strata": "blocked", "matched-pair": "matched-pair",
        "clustered": "clustered", "lin-cluster": "clustered", "block-clustered": "block-clustered",
    }
    assert res.design == expected[design]
