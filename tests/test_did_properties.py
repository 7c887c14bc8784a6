"""hypothesis properties of the difference-in-differences estimators.

* Adding a unit-specific constant or a period-specific constant to the outcome
  leaves every estimate and standard error unchanged (TWFE, ATT(g, t), every
  aggregation, the Goodman-Bacon terms, the TWFE event study);
* relabelling units and reordering rows leaves every result unchanged;
* scaling the outcome scales estimates and standard errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval.estimate.did import bacon_decomposition, did
from dwp_eval.estimate.event_study import event_study
from dwp_eval.estimate.staggered import staggered_did

# Invariances hold exactly in exact arithmetic; in floating point the shifts
# (up to 1e3 against outcomes of order 1) cost ~1e-13 relative through the
# within transformation. 1e-7 relative (of the outcome scale) is far below any
# real change.
TOL = 1e-7
# Each example runs every estimator twice (~0.2 s): 15 examples per property keep
# the module near 5 s; HYPOTHESIS_PROFILE=thorough does not raise this cap.
FEW = settings(max_examples=15)


@st.composite
def panels(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(6, 14))
    T = draw(st.integers(4, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cohorts = rng.choice([0, 3, T], size=n)
    cohorts[:2] = 0  # never treated
    cohorts[2:4] = 3  # a treated cohort
    unit = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(1, T + 1), n)
    g = cohorts[unit]
    d = ((g > 0) & (t >= g)).astype(int)
    y = rng.normal(size=n * T) + d * rng.uniform(0, 2, size=n * T) + 0.3 * t
    return pd.DataFrame({"unit": [f"u{i}" for i in unit], "t": t, "cohort": g, "d": d, "y": y})


def _all(df: pd.DataFrame) -> np.ndarray:
    """Every estimate and SE of every estimator, concatenated."""
    out = []
    r = did(df, outcome="y", unit="unit", time="t", treated="d")
    out += [r.estimate, r.std_error]
    s = staggered_did(df, outcome="y", unit="unit", time="t", cohort="cohort", bootstrap=0)
    out += s.att_gt.sort_values(["cohort", "time"])[["estimate", "std_error"]].to_numpy().ravel().tolist()
    simple = s.aggregate("simple")
    out += [simple.estimate, simple.std_error]
    for kind in ("dynamic", "group", "calendar"):
        f = s.aggregate(kind, bootstrap=0).to_frame()  # type: ignore[arg-type, union-attr]
        out += f[["estimate", "std_error"]].to_numpy().ravel().tolist()
    b = bacon_decomposition(df, outcome="y", unit="unit", time="t", cohort="cohort").to_frame()
    out += b[["estimate", "weight"]].to_numpy().ravel().tolist()
    es = event_study(df, outcome="y", unit="unit", time="t", cohort="cohort", estimator="twfe", bootstrap=0)
    out += es.to_frame()[["estimate", "std_error"]].to_numpy().ravel().tolist()
    return np.asarray(out, dtype=float)


def _close(a: np.ndarray, b: np.ndarray, scale: float = 1.0) -> None:
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL * scale)


@FEW
@given(panels(), st.floats(-1e3, 1e3), st.integers(0, 2**32 - 1))
def test_unit_and_period_constants_change_nothing(df: pd.DataFrame, size: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    units = df["unit"].unique()
    a = dict(zip(units, rng.normal(0, abs(size) + 1, len(units)), strict=True))
    b = dict(zip(sorted(df["t"].unique()), rng.normal(0, abs(size) + 1, df["t"].nunique()), strict=True))
    shifted = df.assign(y=df["y"] + df["unit"].map(a) + df["t"].map(b))
    _close(_all(shifted), _all(df))


@FEW
@given(panels(), st.integers(0, 2**32 - 1))
def test_relabelling_units_and_reordering_rows_change_nothing(df: pd.DataFrame, seed: int) -> None:
    rng = np.random.default_rng(seed)
    units = df["unit"].unique()
    new = dict(zip(units, [f"area-{k}" for k in rng.permutation(len(units))], strict=True))
    other = df.assign(unit=df["unit"].map(new)).sample(frac=1.0, random_state=int(seed % 2**31))
    _close(_all(other), _all(df))


@FEW
@given(panels(), st.floats(0.01, 100))
def test_scaling_the_outcome_scales_estimates(df: pd.DataFrame, c: float) -> None:
    base = did(df, outcome="y", unit="unit", time="t", treated="d")
    scaled = did(df.assign(y=df["y"] * c), outcome="y", unit="unit", time="t", treated="d")
    assert abs(scaled.estimate - c * base.estimate) <= TOL * c * (1 + abs(base.estimate))
    assert abs(scaled.std_error - c * base.std_error) <= TOL * c * (1 + base.std_error)
    s0 = staggered_did(df, outcome="y", unit="unit", time="t", cohort="cohort", bootstrap=0).aggregate("simple")
    s1 = staggered_did(df.assign(y=df["y"] * c), outcome="y", unit="unit", time="t", cohort="cohort",
                       bootstrap=0).aggregate("simple")
    assert abs(s1.estimate - c * s0.estimate) <= TOL * c * (1 + abs(s0.estimate))
