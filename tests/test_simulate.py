"""``diagnose``: batched estimates equal ``itt``'s, assignments equal ``randomise``'s,
results do not depend on ``workers``, Monte Carlo SEs follow their formulas, and
every user-facing error is pinned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.datasets import whp_population
from dwp_eval.design._simulation import FixedPopulation, Spec
from dwp_eval.design.simulate import diagnose
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.results import DIAGNOSIS_COLUMNS, Diagnosis
from dwp_eval.testing import binomial_band

# Batched formulas and itt compute the same sums in another order: agreement to
# rounding (1e-9 relative is far below any formula difference, e.g. n vs n - 1).
RTOL = 1e-9


def population(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 4, size=n)
    y0 = rng.normal(size=n) + 0.5 * s
    return pd.DataFrame({
        "id": rng.permutation(np.arange(n)) * 3 + 5,  # ids not in row order
        "s": np.array(["a", "b", "c", "d"])[s],
        "x": rng.normal(size=n),
        "office": rng.integers(0, 20, size=n),
        "y0": y0,
        "y1": y0 + 0.3 + 0.2 * rng.normal(size=n),  # heterogeneous effects
    })


def itt_loop(strata: str | None = None):
    def est(d: pd.DataFrame) -> de.Effect:
        return de.itt(d, outcome="y", assigned="arm", strata=strata)
    return est


def normal_dgp(rng: np.random.Generator) -> pd.DataFrame:
    """Module-level (picklable) super-population: n = 120, constant effect 0.4."""
    y0 = rng.normal(size=120)
    return pd.DataFrame({"y0": y0, "y1": y0 + 0.4, "s": rng.integers(0, 3, size=120)})


# ----------------------------------------------------------------------------- batched = itt


@pytest.mark.parametrize(("strata", "n", "arms"), [
    (None, 300, None),  # the same number treated in every simulation: gathered sums
    (None, 301, None),  # 150 or 151 treated by the remainder rule: assignment matrix
    (None, 300, {"control": 1, "treatment": 2}),
    ("s", 300, None),
])
def test_batched_estimates_equal_itt_on_the_same_assignments(strata, n, arms):
    pop = population(n)
    fast = diagnose(pop, sims=120, seed=7, strata=strata, arms=arms)
    slow = diagnose(pop, sims=120, seed=7, strata=strata, arms=arms, estimator=itt_loop(strata))
    assert fast.method == "batched" and slow.method == "loop"
    assert fast.design == slow.design == ("blocked" if strata else "standard")
    for name in ("estimates", "std_errors", "conf_low", "conf_high", "p_values", "truths"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=RTOL, atol=1e-12)


def test_batched_dgp_path_equals_itt():
    fast = diagnose(normal_dgp, sims=30, seed=3, strata="s")
    slow = diagnose(normal_dgp, sims=30, seed=3, strata="s", estimator=itt_loop("_stratum"))
    assert fast.method == "batched" and slow.method == "loop"
    np.testing.assert_allclose(fast.estimates, slow.estimates, rtol=RTOL)
    np.testing.assert_allclose(fast.std_errors, slow.std_errors, rtol=RTOL)
    np.testing.assert_allclose(fast.p_values, slow.p_values, rtol=1e-7)


def test_assignments_are_randomise_draws():
    """Each simulated assignment is exactly ``randomise(pop, seed=rng)`` with that
    simulation's generator (the engine is prepared once)."""
    pop = population()
    spec = Spec(pop, None, "itt", None, "id", {"control": 1, "treatment": 2}, "control",
                 "treatment", ["s"], None, [], "lin", None, 0.05, True)
    prepared = FixedPopulation(pop, spec, "test")
    for child in np.random.SeedSequence(11).spawn(3):
        z = prepared.assign(np.random.default_rng(child))
        alloc = de.randomise(pop, strata="s", arms={"control": 1, "treatment": 2},
                             seed=np.random.default_rng(child))
        arm = alloc.table.set_index("id")["arm"].reindex(pop["id"]).to_numpy()
        np.testing.assert_array_equal(z, (arm == "treatment").astype(float))


def test_covariates_and_clusters_use_the_estimator_per_simulation():
    pop = population()
    lin = diagnose(pop, sims=20, seed=1, covariates=["x"])
    assert lin.method == "batched" and lin.se_type == "HC2"  # tests/test_diagnose_batched.py
    cl = diagnose(pop, sims=10, seed=1, cluster="office")
    assert cl.method == "loop" and cl.design == "clustered" and cl.se_type == "CR2"


def test_matched_pair_strata_fall_back_to_itt():
    pop = population(40).assign(pair=np.repeat(np.arange(20), 2))
    res = diagnose(pop, sims=10, seed=1, strata="pair")
    assert res.method == "loop" and res.design == "matched-pair"


# ----------------------------------------------------------------------------- seeds, workers


def test_same_seed_same_answer_and_generator_seed():
    pop = population()
    a = diagnose(pop, sims=50, seed=5)
    b = diagnose(pop, sims=50, seed=5)
    np.testing.assert_array_equal(a.estimates, b.estimates)
    c = diagnose(pop, sims=50, seed=np.random.default_rng(5))
    assert c.seed is None and not np.array_equal(a.estimates, c.estimates)


def test_results_are_read_only():
    res = diagnose(population(), sims=20, seed=1)
    with pytest.raises(ValueError, match="read-only"):
        res.estimates[0] = 0.0


@settings(max_examples=4)
@given(sims=st.integers(min_value=2, max_value=260), workers=st.integers(min_value=2, max_value=3))
def test_results_do_not_depend_on_workers(sims, workers):
    pop = population(80)
    one = diagnose(pop, sims=sims, seed=sims, effect=None)
    many = diagnose(pop, sims=sims, seed=sims, workers=workers)
    np.testing.assert_array_equal(one.estimates, many.estimates)
    np.testing.assert_array_equal(one.p_values, many.p_values)


def test_workers_with_a_dgp_and_the_loop():
    one = diagnose(normal_dgp, sims=210, seed=2, cluster=None, covariates=None)
    two = diagnose(normal_dgp, sims=210, seed=2, workers=2)
    np.testing.assert_array_equal(one.estimates, two.estimates)


def test_progress_goes_to_stderr(capsys):
    diagnose(population(), sims=200, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "diagnose: 100%" in err and "200/200" in err  # tqdm's bar
    diagnose(population(), sims=200, seed=1, progress=False)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- metrics


def test_metrics_and_monte_carlo_ses_follow_their_formulas():
    """Morris, White & Crowther (2019), Table 6, computed by hand."""
    est = np.array([0.9, 1.3, 1.1, 0.3, 1.4])
    se = np.array([0.2, 0.25, 0.2, 0.3, 0.2])
    truth = np.ones(5)
    lo, hi = est - 2 * se, est + 2 * se
    p = np.array([0.001, 0.2, 0.03, 0.04, 0.5])
    d = Diagnosis("itt", "standard", "HC2", "loop", 5, 100.0, 0.05, None, est, se, lo, hi, p, truth)
    err = est - truth
    S = 5
    assert d.bias == pytest.approx(err.mean())
    assert d.bias_mc_se == pytest.approx(np.sqrt(np.sum((err - err.mean()) ** 2) / (S * (S - 1))))
    rmse = np.sqrt(np.mean(err**2))
    assert d.rmse == pytest.approx(rmse)
    mse_se = np.sqrt(np.sum((err**2 - rmse**2) ** 2) / (S * (S - 1)))
    assert d.rmse_mc_se == pytest.approx(mse_se / (2 * rmse))
    assert d.empirical_se_mc_se == pytest.approx(np.std(est, ddof=1) / np.sqrt(2 * (S - 1)))
    assert d.coverage == pytest.approx(4 / 5)  # 0.3 +/- 0.6 misses 1
    assert d.coverage_mc_se == pytest.approx(np.sqrt(0.8 * 0.2 / 5))
    assert d.power == pytest.approx(3 / 5) and d.power_mc_se == pytest.approx(np.sqrt(0.24 / 5))
    assert d.mean_width == pytest.approx(np.mean(4 * se))
    assert d.mean_se == pytest.approx(np.sqrt(np.mean(se**2)))
    f = d.to_frame()
    assert list(f.columns) == DIAGNOSIS_COLUMNS
    assert list(f["metric"]) == ["estimand", "bias", "rmse", "empirical_se", "mean_se", "coverage",
                                 "power", "mean_width", "type_s", "type_m"]
    assert "coverage" in d.summary() and "<table" in d._repr_html_() and "Diagnosis" in repr(d)
    assert list(d.draws().columns) == ["sim", "estimate", "std_error", "conf_low", "conf_high",
                                       "p_value", "truth"]


@pytest.mark.slow
def test_simulated_coverage_and_size_are_nominal():
    """Super-population draws with a constant effect: the Welch interval covers at
    its nominal rate, inside a 99.9% exact binomial band; under the null the test
    has size alpha."""
    res = diagnose(normal_dgp, sims=1000, seed=20240501)
    lo, hi = binomial_band(0.95, 1000)
    assert lo <= res.coverage <= hi
    assert abs(res.bias) < 3.3 * res.bias_mc_se
    null = diagnose(pd.DataFrame({"y0": np.random.default_rng(1).normal(size=400)}), effect=0.0,
                    sims=1000, seed=1)
    lo, hi = binomial_band(0.05, 1000)
    assert lo <= null.power <= hi


def test_whp_population_gives_coupled_potential_outcomes():
    dgp = whp_population(500, effect=0.05)
    pop = dgp(np.random.default_rng(3))
    diff = pop["y1"] - pop["y0"]
    assert set(np.unique(diff)) <= {0.0, 1.0}
    assert abs(diff.mean() - 0.05) < 0.03
    res = diagnose(dgp, sims=5, seed=1, strata="site")
    assert res.n == 500 and res.design == "blocked"


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sims": 1}, OptionError, r"The 'sims' parameter of diagnose must be an int >= 2\. Got 1"),
        ({"workers": 0}, OptionError, r"The 'workers' parameter of diagnose must be a positive int"),
        ({"alpha": 2}, OptionError, r"The 'alpha' parameter of diagnose must be a float in \(0, 1\)"),
        ({"effect": float("nan")}, OptionError, r"'effect' parameter of diagnose must be a finite"),
        ({"estimator": "iv"}, OptionError, r"The 'estimator' parameter of diagnose must be one of 'itt', 'cace'"),
        ({"estimator": "itx"}, OptionError, r"Got 'itx' instead\. Did you mean 'itt'\?"),
        ({"arms": ["control", "a", "b"]}, OptionError, r"must name exactly two arms"),
        ({"seed": -1}, OptionError, r"The 'seed' parameter of diagnose must be a non-negative int"),
        ({"strata": "site"}, Exception, r"column 'site' \(strata\) is not in the data"),
        ({"adjustment": "linn"}, OptionError, r"Did you mean 'lin'\?"),
    ],
)
def test_errors_are_pinned(kwargs, error, match):
    args = {"sims": 10, "seed": 1, **kwargs}
    with pytest.raises(error, match=match):
        diagnose(population(), **args)


def test_population_contract_errors():
    pop = population()
    with pytest.raises(OptionError, match=r"either as a 'y1' column of the population or as effect="):
        diagnose(pop, effect=0.2, sims=10, seed=1)
    with pytest.raises(OptionError, match=r"no 'y1' column .* so effect= is needed: y1 = y0 \+ effect"):
        diagnose(pop.drop(columns="y1"), sims=10, seed=1)
    with pytest.raises(Exception, match=r"column 'y0' \(potential outcome under control\) is not in"):
        diagnose(pop.drop(columns="y0"), sims=10, seed=1)
    with pytest.raises(DesignError, match=r"has a column 'y', which diagnose uses for the observed"):
        diagnose(pop.assign(y=1.0), sims=10, seed=1)
    with pytest.raises(DesignError, match=r"column 'y1' \(potential outcome\) holds missing"):
        diagnose(pop.assign(y1=np.nan), sims=10, seed=1)
    with pytest.raises(OptionError, match=r"The 'design' parameter of diagnose must be a pandas "
                                          r"DataFrame .* Got list instead"):
        diagnose([1, 2], sims=10, seed=1)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"cannot be pickled .* Fix: use a module-level function"):
        diagnose(lambda rng: normal_dgp(rng), sims=200, seed=1, workers=2)


def test_population_without_id_uses_row_numbers():
    pop = population().drop(columns="id")
    res = diagnose(pop, sims=10, seed=1)
    assert res.n == 300


# ----------------------------------------------------------------------------- CACE


def test_cace_loop_equals_direct_calls() -> None:
    """estimator="cace" reveals receipt by arm and the outcome by receipt, then calls cace."""
    from dwp_eval.estimate.cace import cace

    rng = np.random.default_rng(11)
    n = 600
    u = rng.random(n)
    pop = pd.DataFrame({"id": np.arange(n), "y0": rng.normal(size=n),
                        "d1": (u < 0.7).astype(int), "d0": (u < 0.1).astype(int)})
    pop["y1"] = pop["y0"] + 0.5 + 0.2 * rng.normal(size=n)
    res = diagnose(pop, estimator="cace", sims=5, seed=3)
    shift = pop["d1"] - pop["d0"]
    assert res.truths[0] == pytest.approx(float((shift * (pop["y1"] - pop["y0"])).sum() / shift.sum()))
    for s, child in enumerate(np.random.SeedSequence(3).spawn(5)):
        alloc = de.randomise(pop, seed=np.random.default_rng(child))
        arm = alloc.table.set_index("id")["arm"].reindex(pop["id"]).to_numpy()
        d = np.where(arm == "treatment", pop["d1"], pop["d0"])
        data = pop.assign(arm=arm, received=d, y=np.where(d == 1, pop["y1"], pop["y0"]))
        direct = cace(data, outcome="y", assigned="arm", received="received")
        assert res.estimates[s] == pytest.approx(direct.estimate, rel=1e-12)
        assert res.std_errors[s] == pytest.approx(direct.std_error, rel=1e-12)
    assert res.estimator == "cace" and "complier" in res.to_frame().loc[0, "description"]


@pytest.mark.slow
def test_cace_diagnosis_with_contamination_covers() -> None:
    """whp_population with take-up 70% and 10% contamination: the CACE interval covers."""
    dgp = whp_population(1000, effect=0.1, take_up=0.7, contamination=0.1)
    res = diagnose(dgp, estimator="cace", sims=200, seed=20240502, strata="site")
    assert abs(res.bias) < 4 * res.bias_mc_se + 0.002
    lo, hi = binomial_band(0.95, 200, significance=1e-3)
    assert lo <= res.coverage <= hi


def test_cace_population_errors() -> None:
    pop = pd.DataFrame({"y0": np.zeros(40), "d0": 0, "d1": np.tile([0, 1], 20)})
    with pytest.raises(DesignError, match=r"column 'd1' \(potential receipt .* must hold 0 or 1"):
        diagnose(pop.assign(d1=2), estimator="cace", effect=1.0, sims=5, seed=1)
    with pytest.raises(DesignError, match=r"nobody's receipt depends on assignment"):
        diagnose(pop.assign(d1=0), estimator="cace", effect=1.0, sims=5, seed=1)
    with pytest.raises(DesignError, match=r"'received', which diagnose uses for the observed receipt"):
        diagnose(pop.assign(received=1), estimator="cace", effect=1.0, sims=5, seed=1)
    with pytest.raises(OptionError, match=r"contamination \(0\.5\) must be below take_up"):
        whp_population(100, take_up=0.4, contamination=0.5)
