"""Properties of ``cace`` that hold for any data (hypothesis).

* the order of the rows does not matter;
* adding a constant to the outcome leaves the CACE and its SE unchanged, and
  multiplying it by ``c`` multiplies them by ``c`` and ``|c|``;
* without covariates or strata the 2SLS estimate is the Wald ratio
  ``(mean(Y|T) - mean(Y|C)) / (p_T - p_C)``, and with them it is the ratio of
  the reduced form to the first stage;
* with one-sided non-compliance it is ``ITT / take-up``, and when everyone
  complies it is the ITT itself;
* the Anderson-Rubin set is the set of effects ``b`` not rejected by the ITT
  test on ``Y - b D``: at its ends that test's p-value is exactly ``alpha``.

Data are generated from a drawn seed and shape, so every example is valid;
20 examples per property keep the module near 5 s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval.estimate.cace import cace
from dwp_eval.estimate.itt import itt

# Row order: the same sums in another order, rounding only.
RTOL_ORDER = 1e-9
# Shift and scale: the shifted outcome is itself rounded (|shift| up to 1e3).
RTOL_SHIFT = 1e-8
RTOL_SCALE = 1e-9
# Wald ratio and ITT / take-up: two computations of the same ratio.
RTOL_RATIO = 1e-10
# p-value at an AR end: a quadratic root, then t.sf; the root carries the SE's
# rounding, amplified when the first stage is weak.
ATOL_P = 1e-6

SPECS = ["plain", "covariates", "strata", "cluster", "strata-covariates"]


def make(seed: int, spec: str, *, p_c: float = 0.15, p_t: float = 0.7) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 200))
    kwargs: dict = {}
    if spec == "cluster":
        g = int(rng.integers(8, 20))
        cl = np.concatenate([np.arange(g), rng.integers(0, g, n - g)])
        z = rng.permutation(np.arange(g) % 2)[cl]
        kwargs["cluster"] = "office"
    else:
        cl = np.zeros(n, dtype=int)
        z = rng.permutation(np.arange(n) % 2)
    block = np.arange(n) % 3
    if spec.startswith("strata"):
        z = np.zeros(n, dtype=int)
        for b in range(3):
            idx = np.flatnonzero(block == b)
            z[idx] = rng.permutation(np.arange(len(idx)) % 2)
        kwargs["strata"] = "block"
    if "covariates" in spec:
        kwargs["covariates"] = ["x", "xb"]
    x = rng.normal(size=n)
    d = np.where(z == 1, rng.random(n) < p_t, rng.random(n) < p_c).astype(int)
    d[np.flatnonzero(z == 1)[:2]] = 1  # a first stage in every sample
    d[np.flatnonzero(z == 0)[:2]] = 0
    y = 1 + x + 1.5 * d + rng.standard_t(4, size=n)
    df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "d": d, "y": y, "x": x,
                       "xb": rng.integers(0, 2, n), "block": block, "office": cl})
    return df, kwargs


def fit(df: pd.DataFrame, kwargs: dict, outcome: str = "y"):
    return cace(df, outcome=outcome, assigned="arm", received="d", **kwargs)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), spec=st.sampled_from(SPECS))
def test_row_order_does_not_matter(seed, spec):
    df, kw = make(seed, spec)
    a = fit(df, kw)
    b = fit(df.sample(frac=1, random_state=np.random.default_rng(seed)), kw)
    assert np.isclose(a.estimate, b.estimate, rtol=RTOL_ORDER, atol=0)
    assert np.isclose(a.std_error, b.std_error, rtol=RTOL_ORDER, atol=0)
    assert np.isclose(a.df, b.df, rtol=RTOL_ORDER, atol=0)
    assert a.ar_interval.kind == b.ar_interval.kind


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), spec=st.sampled_from(SPECS),
       shift=st.floats(-1e3, 1e3), scale=st.floats(0.01, 100).map(lambda v: v * (1 if v > 1 else -1)))
def test_shift_and_scale(seed, spec, shift, scale):
    df, kw = make(seed, spec)
    a = fit(df, kw)
    shifted = fit(df.assign(y=df["y"] + shift), kw)
    scaled = fit(df.assign(y=df["y"] * scale), kw)
    assert np.isclose(shifted.estimate, a.estimate, rtol=RTOL_SHIFT, atol=RTOL_SHIFT * a.std_error)
    assert np.isclose(shifted.std_error, a.std_error, rtol=RTOL_SHIFT, atol=0)
    assert np.isclose(scaled.estimate, scale * a.estimate, rtol=RTOL_SCALE, atol=0)
    assert np.isclose(scaled.std_error, abs(scale) * a.std_error, rtol=RTOL_SCALE, atol=0)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), spec=st.sampled_from(SPECS))
def test_estimate_is_reduced_form_over_first_stage(seed, spec):
    df, kw = make(seed, spec)
    res = fit(df, kw)
    assert np.isclose(res.estimate, res.itt.estimate / res.first_stage.difference,
                      rtol=RTOL_RATIO, atol=0)
    if spec in ("plain", "cluster"):
        t, c = df[df["arm"] == "treatment"], df[df["arm"] == "control"]
        wald = (t["y"].mean() - c["y"].mean()) / (t["d"].mean() - c["d"].mean())
        assert np.isclose(res.estimate, wald, rtol=RTOL_RATIO, atol=0)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), p_t=st.floats(0.3, 0.95))
def test_one_sided_is_itt_over_take_up(seed, p_t):
    df, kw = make(seed, "plain", p_c=0.0, p_t=p_t)
    df.loc[df["arm"] == "control", "d"] = 0
    res = fit(df, kw)
    take_up = df.loc[df["arm"] == "treatment", "d"].mean()
    assert np.isclose(res.estimate, res.itt.estimate / take_up, rtol=RTOL_RATIO, atol=0)
    assert res.first_stage.take_up_control == 0.0


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), spec=st.sampled_from(SPECS))
def test_full_compliance_cace_is_itt(seed, spec):
    df, kw = make(seed, spec)
    df["d"] = (df["arm"] == "treatment").astype(int)
    res = fit(df, kw)
    assert np.isclose(res.estimate, res.itt.estimate, rtol=RTOL_RATIO, atol=1e-12)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), spec=st.sampled_from(SPECS))
def test_ar_ends_are_where_the_itt_test_of_y_minus_bd_has_p_alpha(seed, spec):
    df, kw = make(seed, spec)
    res = fit(df, kw)
    ar = res.ar_interval
    assert ar.contains(res.estimate)  # just identified: the ratio is never rejected
    ends = [v for piece in ar.pieces for v in piece if np.isfinite(v)]
    for b in ends:
        shifted = df.assign(y_b=df["y"] - b * df["d"])
        p = itt(shifted, outcome="y_b", assigned="arm", covariates=kw.get("covariates"),
                adjustment="additive", strata=kw.get("strata"), cluster=kw.get("cluster"),
                se_type=res.se_type, estimator="ols").p_value
        assert abs(p - res.alpha) < ATOL_P, (b, p)
