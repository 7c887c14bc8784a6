"""hypothesis properties of the difference-in-differences estimators.

* Adding a unit-specific constant or a period-specific constant to the outcome
  leaves every estimate and standard error unchanged (TWFE, ATT(g, t), every
  aggregation, the Goodman-Bacon terms, the TWFE event study);
* relabelling units and reordering rows leaves every result unchanged;
* scaling the outcome scales estimates and standard errors;
* (issue 13) ``missing="drop"`` is the estimate on the complete rows; R did's
  last-cohort rule removes only the last cohort's cells; the default CR1 is
  CR0 with ``K = k + T``.
"""

from __future__ import annotations

import warnings

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


# ---------------------------------------------------------------- issue 13


@FEW
@given(panels(), st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_missing_drop_is_did_on_the_complete_rows(df: pd.DataFrame, seed: int, k: int) -> None:
    """missing='drop' gives the result on the complete rows, whatever rows are
    missing, and counts exactly those rows."""
    rng = np.random.default_rng(seed)
    # untreated rows only, so that some treated rows always remain
    rows = rng.choice(np.flatnonzero(df["d"].to_numpy() == 0), size=k, replace=False)
    holed = df.assign(y=df["y"].where(~np.isin(np.arange(len(df)), rows)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = did(holed, outcome="y", unit="unit", time="t", treated="d", missing="drop")
    full = did(df.drop(index=df.index[rows]), outcome="y", unit="unit", time="t", treated="d")
    assert dict(res.dropped) == {"y": k}
    _close(np.array([res.estimate, res.std_error]), np.array([full.estimate, full.std_error]))


@FEW
@given(panels())
def test_last_cohort_rule_only_removes_the_last_cohort(df: pd.DataFrame) -> None:
    """Without never-treated units and with not-yet-treated comparisons, R did's
    rule (default) gives exactly the cells of last_cohort='estimate' for the
    earlier cohorts and none for the last cohort or from its first period on."""
    nt = df[df["cohort"] > 0]
    if nt["cohort"].nunique() < 2:
        nt = nt.assign(cohort=np.where(nt["unit"].isin(nt["unit"].unique()[:1]), nt["t"].max(), nt["cohort"]))
    kw = {"outcome": "y", "unit": "unit", "time": "t", "cohort": "cohort", "bootstrap": 0,
          "control_group": "not_yet_treated"}
    r_rule = staggered_did(nt, **kw).att_gt.set_index(["cohort", "time"])  # type: ignore[arg-type]
    kept = staggered_did(nt, **kw, last_cohort="estimate").att_gt.set_index(["cohort", "time"])  # type: ignore[arg-type]
    g_max = nt["cohort"].max()
    assert g_max not in r_rule.index.get_level_values("cohort")
    assert (r_rule.index.get_level_values("time") < g_max).all()
    earlier = kept[kept.index.get_level_values("cohort") < g_max]
    assert sorted(r_rule.index) == sorted(earlier.index)
    _close(r_rule.loc[earlier.index, ["estimate", "std_error"]].to_numpy(),
           earlier[["estimate", "std_error"]].to_numpy())


@FEW
@given(panels())
def test_cr1_is_cr0_with_k_plus_t_parameters(df: pd.DataFrame) -> None:
    """The default CR1 of TWFE is CR0 times G/(G-1) (n-1)/(n-K) with K = 1 + T
    (the treatment, T - 1 period effects, the constant; fixest and xtreg, fe)."""
    cr0 = did(df, outcome="y", unit="unit", time="t", treated="d", se_type="CR0")
    cr1 = did(df, outcome="y", unit="unit", time="t", treated="d")
    n, G, T = cr1.n_obs, cr1.n_clusters, df["t"].nunique()
    assert G is not None
    factor = G / (G - 1) * (n - 1) / (n - 1 - T)
    _close(np.array([cr1.std_error]), np.array([cr0.std_error * np.sqrt(factor)]))
