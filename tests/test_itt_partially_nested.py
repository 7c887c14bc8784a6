"""Partially nested trials: itt(..., cluster="specialist", nested_in="treatment").

People were randomised individually; the treatment arm's outcomes are clustered by
employment specialist and the control arm's are not (Bauer, Sterba & Hallfors 2008;
Candlish et al. 2018). Reference: tests/reference/partially_nested/reference.py (numpy
CR2 with Bell-McCaffrey df written out independently; statsmodels CR0/CR1 with each
control person a singleton cluster), values in reference_results.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.errors import DesignError, MissingDataError, OptionError

REF = Path(__file__).parent / "reference" / "partially_nested"
DATA = pd.read_csv(REF / "partially_nested_data.csv")
RESULTS = pd.read_csv(REF / "reference_results.csv").set_index("case")
# two implementations of the same linear algebra: rounding only (observed < 1e-13 relative)
RTOL = 1e-10
ARGS = dict(outcome="y", assigned="arm", cluster="specialist", nested_in="treatment")
KINDS = {"dim": {}, "lin": {"covariates": ["x"]}, "strata_fe": {"strata": "stratum", "estimator": "ols"}}
SE_TYPES = {"CR2": None, "CR0": "CR0", "CR1": "stata"}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("se", list(SE_TYPES))
def test_matches_reference(kind: str, se: str) -> None:
    res = de.itt(DATA, **ARGS, **KINDS[kind], se_type=SE_TYPES[se])
    ref = RESULTS.loc[f"{kind}_{se}"]
    assert res.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert res.std_error == pytest.approx(ref["std_error"], rel=RTOL)
    assert res.df == pytest.approx(ref["df"], rel=RTOL)
    assert res.design == ("blocked partially nested" if kind == "strata_fe" else "partially nested")
    assert res.cluster_role == "partially nested"
    assert res.n_clusters == 12 + 160


def test_estimate_is_the_unclustered_one_and_the_se_is_larger() -> None:
    res = de.itt(DATA, **ARGS)
    plain = de.itt(DATA, outcome="y", assigned="arm")
    assert res.estimate == pytest.approx(plain.estimate, rel=1e-12)
    assert plain.std_error == pytest.approx(RESULTS.loc["dim_HC2_ignoring_nesting", "std_error"], rel=RTOL)
    assert res.std_error > 1.15 * plain.std_error
    assert "partially nested" in res.summary()


def test_control_cluster_values_are_ignored() -> None:
    """Whatever the control arm's specialist column holds, each control person is a singleton."""
    filled = DATA.assign(specialist=DATA["specialist"].fillna("S00"))
    a = de.itt(DATA, **ARGS)
    b = de.itt(filled, **ARGS)
    assert (a.std_error, a.df) == pytest.approx((b.std_error, b.df), rel=1e-12)


def test_nesting_the_control_arm() -> None:
    """nested_in names an arm: nesting the control arm mirrors the treatment arm case."""
    flipped = DATA.assign(arm=DATA["arm"].map({"treatment": "control", "control": "treatment"}))
    a = de.itt(DATA, **ARGS)
    b = de.itt(flipped, **{**ARGS, "nested_in": "control"})
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-12)
    assert (b.std_error, b.df) == pytest.approx((a.std_error, a.df), rel=1e-10)


def test_bad_input() -> None:
    with pytest.raises(OptionError, match="'nested_in' parameter of itt is 'treatment', but cluster= is not given"):
        de.itt(DATA, outcome="y", assigned="arm", nested_in="treatment")
    with pytest.raises(OptionError, match="must be the label of one compared arm"):
        de.itt(DATA, **{**ARGS, "nested_in": "IPS"})
    gap = DATA.copy()
    gap.loc[gap.index[gap["arm"] == "treatment"][:2], "specialist"] = None
    with pytest.raises(MissingDataError, match=r"2 missing value.*nested arm 'treatment'"):
        de.itt(gap, **ARGS)
    one = DATA.assign(specialist=np.where(DATA["arm"] == "treatment", "S01", None))
    with pytest.raises(DesignError, match="nested arm 'treatment' holds 1 cluster"):
        de.itt(one, **ARGS)
    with pytest.raises(OptionError, match="needs estimator='ols'"):
        de.itt(DATA, **ARGS, strata="stratum")
    with pytest.raises(OptionError, match="ignores the clusters"):
        de.itt(DATA, **ARGS).with_se("HC2")


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-1e3, 1e3), scale=st.floats(0.01, 100), seed=st.integers(0, 2**16))
def test_shift_scale_and_row_order(shift: float, scale: float, seed: int) -> None:
    base = de.itt(DATA, **ARGS)
    moved = DATA.assign(y=DATA["y"] * scale + shift).sample(frac=1.0, random_state=seed)
    res = de.itt(moved, **ARGS)
    assert res.estimate == pytest.approx(scale * base.estimate, rel=1e-7, abs=1e-9)
    assert res.std_error == pytest.approx(scale * base.std_error, rel=1e-7)
    assert res.df == pytest.approx(base.df, rel=1e-7)


# --- seeded Monte Carlo --------------------------------------------------------------
MC_SIMS = 1000


def _mc_trial(rng: np.random.Generator, *, n: int = 240, specialists: int = 12, icc: float = 0.2) -> pd.DataFrame:
    """Individually randomised; in the treatment arm people share a specialist effect
    (ICC ``icc`` in that arm); control people are unclustered. True ITT 0.3."""
    z = rng.permutation(np.arange(n) % 2)
    spec = rng.integers(0, specialists, n)
    u = rng.normal(scale=np.sqrt(icc), size=specialists)
    e = rng.normal(scale=np.sqrt(1 - icc), size=n)
    y = np.where(z == 1, 0.3 + u[spec] + e, rng.normal(size=n))
    return pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "y": y,
                         "specialist": np.where(z == 1, spec.astype(float), np.nan)})


@pytest.mark.slow
def test_monte_carlo_coverage_and_ignoring_the_nesting_undercovers() -> None:
    rng = np.random.default_rng(16_04)
    nested, ignored, est = [], [], []
    for _ in range(MC_SIMS):
        d = _mc_trial(rng)
        a = de.itt(d, **ARGS)
        b = de.itt(d, outcome="y", assigned="arm")
        lo, hi = a.conf_int().iloc[0][["conf_low", "conf_high"]]
        nested.append(lo <= 0.3 <= hi)
        lo, hi = b.conf_int().iloc[0][["conf_low", "conf_high"]]
        ignored.append(lo <= 0.3 <= hi)
        est.append(a.estimate)
    lo_band, hi_band = de.testing.binomial_band(0.95, MC_SIMS)
    cov_nested, cov_ignored = float(np.mean(nested)), float(np.mean(ignored))
    print(f"coverage partially nested CR2 {cov_nested:.3f}, ignoring the nesting {cov_ignored:.3f}, "
          f"band [{lo_band}, {hi_band}], mean estimate {np.mean(est):.4f}")
    assert lo_band <= cov_nested <= hi_band
    assert cov_ignored < lo_band  # the Neyman SE ignores the specialist effect
    # unbiased: mean estimate within 4 Monte Carlo SEs of the truth
    assert abs(np.mean(est) - 0.3) < 4 * np.std(est) / np.sqrt(MC_SIMS)


CLUB = pd.read_csv(REF / "clubsandwich_results.csv").set_index("case")


@pytest.mark.parametrize("kind", list(KINDS))
def test_matches_clubsandwich(kind: str) -> None:
    """clubSandwich 0.5.8 (Debian r-cran-clubsandwich) coef_test(vcov = "CR2",
    test = "Satterthwaite") with singleton control clusters."""
    res = de.itt(DATA, **ARGS, **KINDS[kind])
    ref = CLUB.loc[f"{kind}_CR2"]
    assert res.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert res.std_error == pytest.approx(ref["std_error"], rel=RTOL)
    assert res.df == pytest.approx(ref["df"], rel=RTOL)


def test_with_se_keeps_the_nesting_unless_new_clusters_are_given() -> None:
    res = de.itt(DATA, **ARGS)
    cr0 = res.with_se("CR0")
    assert cr0.design == "partially nested" and cr0.std_error == pytest.approx(
        RESULTS.loc["dim_CR0", "std_error"], rel=RTOL)
    regrouped = res.with_se("CR2", cluster=DATA["stratum"])
    assert regrouped.design != "partially nested" and regrouped.cluster_role == "variance"
