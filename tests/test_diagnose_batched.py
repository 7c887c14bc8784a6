"""``diagnose`` with covariates (additive, Lin) and strata: the batched regression
equals ``itt`` run on each simulated data set; the fixed-part factorisation in
``_core`` equals a direct fit; and the type S / type M diagnosands (Gelman &
Carlin 2014) against a direct computation and their ``retrodesign`` formulas
(R script and output in tests/reference/diagnose/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import dwp_eval as de
from dwp_eval._core.batched_fits import batched_vcov, fixed_part, one_column_fits, partial_fits
from dwp_eval._core.linalg import fit_ols
from dwp_eval._core.variance import vcov
from dwp_eval.design._simulation import FixedPopulation, Spec
from dwp_eval.design.simulate import diagnose
from dwp_eval.errors import DesignError, NotEstimableError
from dwp_eval.results import Diagnosis

# The batched fit and itt solve the same least-squares problem by different
# factorisations (QR of the fixed part + FWL vs Cholesky of the whole design):
# agreement to rounding. 1e-10 absolute on estimates and SEs of order 0.1.
ATOL = 1e-10
REF = Path(__file__).parent / "reference" / "diagnose" / "retrodesign.csv"


def population(n: int = 240, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y0 = 0.8 * x + rng.normal(size=n)
    return pd.DataFrame({
        "id": rng.permutation(np.arange(n)) * 7 + 3,  # ids not in row order
        "x": x,
        "w": rng.exponential(size=n),
        "g": rng.choice(["a", "b", "c"], size=n),  # a categorical covariate (dummies)
        "s": rng.choice(["north", "south", "east"], size=n),
        "y0": y0,
        "y1": y0 + 0.3 + 0.4 * x + 0.2 * rng.normal(size=n),  # effects vary with x
    })


def per_simulation_itt(pop: pd.DataFrame, sims: int, seed: int, **kw) -> np.ndarray:
    """(estimate, SE, df) of itt on each simulated data set, with the assignments
    diagnose draws (simulation s: the s-th child of SeedSequence(seed))."""
    strata = kw.get("strata")
    spec = Spec(pop, None, "itt", None, "id", {"control": 1, "treatment": 1}, "control",
                "treatment", [strata] if strata else [], None, [], "lin", None, 0.05, False)
    prepared = FixedPopulation(pop, spec, "test")
    out = np.empty((sims, 3))
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(sims)):
        z = prepared.assign(np.random.default_rng(child))
        data = pop.assign(arm=np.where(z == 1, "treatment", "control"),
                          y=np.where(z == 1, pop["y1"], pop["y0"]))
        res = de.itt(data, outcome="y", assigned="arm", control="control", **kw)
        out[i] = res.estimate, res.std_error, res.df
    return out


DESIGNS = {
    "additive": dict(covariates=["x", "w"], adjustment="additive"),
    "lin": dict(covariates=["x", "w"], adjustment="lin"),
    "lin, categorical": dict(covariates=["x", "g"], adjustment="lin"),
    "strata + additive": dict(covariates=["x"], adjustment="additive", strata="s"),
    "strata + lin": dict(covariates=["x", "g"], adjustment="lin", strata="s"),
    "lin, HC1": dict(covariates=["x", "w"], se_type="HC1"),
    "lin, HC3": dict(covariates=["x", "w"], se_type="HC3"),
    "additive, classical": dict(covariates=["x"], adjustment="additive", se_type="classical"),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_batched_regression_equals_itt_on_each_simulation(name):
    pop = population()
    kw = DESIGNS[name]
    res = diagnose(pop, sims=12, seed=7, progress=False, **kw)
    ref = per_simulation_itt(pop, 12, 7, **kw)
    assert res.method == "batched"
    np.testing.assert_allclose(res.estimates, ref[:, 0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(res.std_errors, ref[:, 1], rtol=0, atol=ATOL)
    # the interval uses itt's df (n - parameters, strata included)
    q = stats.t.ppf(0.975, ref[:, 2])
    np.testing.assert_allclose(res.conf_low, ref[:, 0] - q * ref[:, 1], rtol=0, atol=1e-9)
    assert res.se_type == kw.get("se_type", "HC2")
    assert res.design == ("blocked" if "strata" in kw else "standard")


def test_constant_effect_shortcut_equals_itt():
    """effect= (y1 = y0 + effect): the outcome moves with the assignment column."""
    pop = population().drop(columns="y1")
    kw = dict(covariates=["x", "w"], adjustment="lin", strata="s")
    res = diagnose(pop, effect=0.25, sims=8, seed=3, progress=False, **kw)
    ref = per_simulation_itt(pop.assign(y1=pop["y0"] + 0.25), 8, 3, **kw)
    np.testing.assert_allclose(res.estimates, ref[:, 0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(res.std_errors, ref[:, 1], rtol=0, atol=ATOL)


def test_workers_and_chunks_do_not_change_the_batched_answer():
    pop = population()
    kw = dict(covariates=["x", "g"], adjustment="lin")
    a = diagnose(pop, sims=130, seed=5, progress=False, **kw)  # two chunks, one state
    b = diagnose(pop, sims=130, seed=5, progress=False, workers=2, **kw)  # prepared per chunk
    np.testing.assert_array_equal(a.estimates, b.estimates)
    np.testing.assert_array_equal(a.std_errors, b.std_errors)


def test_clusters_and_population_functions_still_loop():
    pop = population().assign(office=np.arange(240) % 24)
    cl = diagnose(pop, sims=4, seed=1, covariates=["x"], cluster="office", progress=False)
    assert cl.method == "loop" and cl.se_type == "CR2"

    def dgp(rng):
        return population(120, seed=int(rng.integers(1 << 30)))

    redrawn = diagnose(dgp, sims=4, seed=1, covariates=["x"], progress=False)
    assert redrawn.method == "loop"


def test_batched_path_raises_itts_errors():
    pop = population().assign(x2=lambda d: 2 * d["x"])
    with pytest.raises(DesignError, match="collinear"):
        diagnose(pop, sims=4, seed=1, covariates=["x", "x2"], progress=False)
    flat = population().assign(y0=1.0, y1=2.0)  # y = 1 + z: fitted exactly
    with pytest.raises(NotEstimableError, match="fits every one of its"):
        diagnose(flat, sims=4, seed=1, covariates=["x"], progress=False)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(16, 60), p=st.integers(1, 3), lin=st.booleans(), strata=st.booleans(),
       sort=st.booleans(), seed=st.integers(0, 10_000))
def test_partial_fits_equal_a_direct_fit(n, p, lin, strata, sort, seed):
    """Property: the FWL fit of the varying columns (coefficients, residuals, leverages
    incl. P_F + P_{MV}, every HC variance) equals fit_ols + vcov on the whole design."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    codes = rng.integers(0, 3, size=n) if strata else None  # sorted: contiguous-run sums
    if codes is not None:
        codes = np.searchsorted(np.unique(codes), codes)
        codes = np.sort(codes) if sort else codes
    S = 3
    Z = np.zeros((S, n))
    for s in range(S):
        Z[s, rng.permutation(n)[: n // 2]] = 1.0
    loads = np.vstack([np.ones(n), x.T]) if lin else np.ones((1, n))
    V = Z[:, None, :] * loads[None, :, :]
    y = rng.normal(size=(S, n))
    F = x if codes is not None else np.column_stack([np.ones(n), x])
    fx = fixed_part(F, fe_codes=codes, func="test")
    fits = partial_fits(fx, V, y)
    for se_type in ("classical", "HC0", "HC1", "HC2", "HC3"):
        v, dof = batched_vcov(fits, se_type)
        for s in range(S):
            X = np.column_stack([V[s].T, F])
            try:
                full = fit_ols(X, y[s], [f"c{j}" for j in range(X.shape[1])], fe_codes=codes, func="t")
            except DesignError:
                assert not fits.ok[s]
                continue
            assert fits.ok[s]
            ref = vcov(full, se_type)
            assert fits.beta[s, 0] == pytest.approx(full.beta[0], abs=1e-9)
            assert v[s] == pytest.approx(ref.vcov[0, 0], rel=1e-8, abs=1e-12)
            assert dof == pytest.approx(ref.df[0])
            np.testing.assert_allclose(fits.leverage[s], full.leverage(), atol=1e-10)
            np.testing.assert_allclose(fits.resid[s], full.resid, atol=1e-9)


# ----------------------------------------------------------------------------- type S / type M


def make(est, truth, p, alpha=0.05) -> Diagnosis:
    est, truth, p = (np.asarray(a, dtype=float) for a in (est, truth, p))
    se = np.full(len(est), 0.1)
    return Diagnosis("itt", "standard", "HC2", "loop", len(est), 100.0, alpha, None, est, se,
                     est - 0.2, est + 0.2, p, truth)


def test_type_s_and_type_m_from_the_draws():
    est = np.array([0.5, -0.3, 0.2, 0.9, -0.1, 0.05])
    truth = np.array([0.2, 0.2, 0.2, 0.25, 0.2, 0.2])
    p = np.array([0.01, 0.02, 0.3, 0.001, 0.04, 0.9])
    d = make(est, truth, p)
    sig = p < 0.05  # 0.5, -0.3, 0.9, -0.1
    assert d.type_s == pytest.approx(2 / 4)
    assert d.type_s_mc_se == pytest.approx(np.sqrt(0.5 * 0.5 / 4))
    ratio = np.abs(est[sig]) / np.abs(truth[sig])
    assert d.type_m == pytest.approx(ratio.mean())
    assert d.type_m_mc_se == pytest.approx(ratio.std(ddof=1) / 2)
    f = d.to_frame().set_index("metric")
    assert f.loc["type_s", "value"] == pytest.approx(0.5)
    assert f.loc["type_m", "mc_se"] == pytest.approx(d.type_m_mc_se)
    assert d.sign_magnitude_undefined is None


def test_type_s_and_type_m_are_not_defined_with_a_reason():
    zero = make([0.1, -0.2, 0.3], [0.0, 0.0, 0.0], [0.01, 0.5, 0.02])
    assert zero.type_s is None and zero.type_m is None and zero.type_s_mc_se is None
    assert "true effect is zero in 3 of 3" in zero.sign_magnitude_undefined
    none_sig = make([0.1, -0.2], [0.2, 0.2], [0.5, 0.3])
    assert none_sig.type_m is None and "no simulation was significant" in none_sig.sign_magnitude_undefined
    f = none_sig.to_frame().set_index("metric")
    assert f.loc["type_s", "description"].startswith("not defined: no simulation was significant")
    assert "not defined" in none_sig.summary() and "nan" not in none_sig.summary()


def test_null_diagnosis_says_type_s_is_not_defined():
    res = diagnose(population().drop(columns="y1"), effect=0.0, sims=20, seed=2,
                   covariates=["x"], progress=False)
    assert res.type_s is None and "true effect is zero" in res.sign_magnitude_undefined


@pytest.mark.parametrize("case", ["beauty_sex_ratio", "ovulation_voting", "moderate_power"])
def test_type_s_and_type_m_match_gelman_carlin_retrodesign(case):
    """Estimates ~ N(A, s^2) with a known s and a two-sided z test: the diagnosands tend
    to retrodesign's power, type S and exaggeration ratio (R, closed form), within
    4 Monte Carlo SEs (400,000 draws)."""
    ref = pd.read_csv(REF, comment="#").set_index("case").loc[case]
    A, s = float(ref["A"]), float(ref["s"])
    rng = np.random.default_rng(2014)
    est = A + s * rng.standard_normal(400_000)
    p = 2 * stats.norm.sf(np.abs(est) / s)
    d = make(est, np.full(len(est), A), p)
    assert abs(d.power - ref["power"]) < 4 * d.power_mc_se
    assert abs(d.type_s - ref["type_s"]) < 4 * d.type_s_mc_se + 1e-6
    assert abs(d.type_m - ref["type_m"]) < 4 * d.type_m_mc_se
    # and the paper's own simulation of the exaggeration agrees with the closed form
    assert ref["type_m_sim"] == pytest.approx(ref["type_m"], rel=0.01)


@pytest.mark.slow
def test_batched_lin_diagnosis_covers():
    """Seeded Monte Carlo: Lin-adjusted HC2 intervals of a fixed population with
    heterogeneous effects cover at least at the nominal rate (the HC2 variance is
    conservative for a finite population: Gerber & Green 2012, sec. 3.6) and the
    estimates centre on the truth (Lin's estimator: bias O(1/n))."""
    from dwp_eval.testing import binomial_band

    pop = population(400, seed=11)
    res = diagnose(pop, sims=2_000, seed=12, covariates=["x", "g"], strata="s", progress=False)
    assert res.method == "batched"
    lo, _ = binomial_band(0.95, 2_000)
    assert res.coverage >= lo
    assert abs(res.bias) < 4 * res.bias_mc_se + 0.002


@settings(max_examples=50, deadline=None)
@given(data=st.lists(st.tuples(st.floats(-5, 5), st.floats(0.001, 0.2)), min_size=3, max_size=40),
       truth=st.floats(0.05, 3), scale=st.floats(0.1, 10))
def test_type_s_and_type_m_properties(data, truth, scale):
    """Property: flipping every sign (estimates and truth) or rescaling both leaves
    type S and type M unchanged; type S is a proportion and type M is positive."""
    est = np.array([d[0] for d in data])
    p = np.array([d[1] for d in data])
    t = np.full(len(est), truth)
    base = make(est, t, p)
    if base.sign_magnitude_undefined is not None:
        assert base.type_s is None and base.type_m is None
        return
    flipped = make(-est, -t, p)
    scaled = make(scale * est, scale * t, p)
    assert 0.0 <= base.type_s <= 1.0 and base.type_m >= 0.0
    assert flipped.type_s == pytest.approx(base.type_s)
    assert flipped.type_m == pytest.approx(base.type_m)
    assert scaled.type_s == pytest.approx(base.type_s)
    assert scaled.type_m == pytest.approx(base.type_m)
    sig = p < 0.05
    assert base.type_s == pytest.approx(np.mean(est[sig] <= 0))  # truth > 0: wrong sign is b <= 0


@pytest.mark.parametrize("extra", [
    {}, {"strata": "s"}, {"se_type": "HC0"}, {"se_type": "HC1"}, {"se_type": "HC3"},
    {"se_type": "classical"}, {"strata": "s", "covariates": ["x", "g"]},
])
def test_additive_constant_effect_fast_path_equals_itt(extra):
    """Additive covariates with effect= take the one-column path (one_column_fits)."""
    pop = population().drop(columns="y1")
    kw = {"covariates": ["x", "w"], "adjustment": "additive", **extra}
    res = diagnose(pop, effect=0.2, sims=10, seed=4, progress=False, **kw)
    ref = per_simulation_itt(pop.assign(y1=pop["y0"] + 0.2), 10, 4, **kw)
    assert res.method == "batched"
    np.testing.assert_allclose(res.estimates, ref[:, 0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(res.std_errors, ref[:, 1], rtol=0, atol=ATOL)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(16, 60), p=st.integers(1, 3), strata=st.booleans(),
       shift=st.floats(-2, 2), seed=st.integers(0, 10_000))
def test_one_column_fits_equal_the_general_path(n, p, strata, shift, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    codes = None
    if strata:
        codes = np.searchsorted(*(lambda c: (np.unique(c), c))(rng.integers(0, 3, size=n)))
    F = x if codes is not None else np.column_stack([np.ones(n), x])
    fx = fixed_part(F, fe_codes=codes, func="test")
    Z = np.zeros((3, n))
    for s in range(3):
        Z[s, rng.permutation(n)[: n // 2]] = 1.0
    y = rng.normal(size=n)
    general = partial_fits(fx, Z[:, None, :], y, shift=(0, shift))
    for se_type in ("classical", "HC0", "HC1", "HC2", "HC3"):
        b, v, dof, ok, rss = one_column_fits(fx, Z, y, shift, se_type)
        ref_v, ref_dof = batched_vcov(general, se_type)
        np.testing.assert_array_equal(ok, general.ok)
        np.testing.assert_allclose(b[ok], general.beta[ok, 0], atol=1e-10)
        np.testing.assert_allclose(v[ok], ref_v[ok], rtol=1e-8, atol=1e-14)
        np.testing.assert_allclose(rss[ok], np.sum(general.resid[ok] ** 2, axis=1), rtol=1e-8, atol=1e-12)
        assert dof == ref_dof
