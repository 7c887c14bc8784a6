"""multiple_imputation, MultipleImputation.fit / shift, tipping_point: behaviour,
pinned errors, and properties of Rubin's rules (hypothesis).

The agreement with R mice::pool is in test_mi_reference.py; the Monte Carlo
(unbiasedness and coverage under missing at random) in test_mi_monte_carlo.py.
"""

from __future__ import annotations

import math
import pickle
from functools import cache
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval._core.pooling import barnard_rubin_df, rubin_pool
from dwp_eval.errors import ColumnError, DesignError, DwpEvalError, MissingDataError, OptionError
from dwp_eval.results.palette import alt_text_of

# pooling the same numbers in another order: sums in another order, rounding only
RTOL_ORDER = 1e-12


def trial(n: int = 300, seed: int = 1, share_missing: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "control", "treatment")
    x = rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], size=n)
    y = 1.0 + 0.5 * (arm == "treatment") + x + rng.normal(size=n)
    employed = (y + rng.normal(size=n) > 1.5).astype(float)
    miss = rng.random(n) < share_missing
    y[miss] = np.nan
    employed[miss & (rng.random(n) < 0.8)] = np.nan
    return pd.DataFrame({"arm": arm, "x": x, "region": region, "y": y, "employed": employed})


@cache
def imputed(method: str = "pmm", by_arm: bool = True) -> de.MultipleImputation:
    col = "employed" if method == "logreg" else "y"
    return de.multiple_imputation(trial(), impute=col, using=["x", "region"], assigned="arm",
                                  m=5, method=method, by_arm=by_arm, seed=11)


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("method", ["pmm", "norm", "logreg"])
@pytest.mark.parametrize("by_arm", [True, False])
def test_completed_datasets_fill_only_the_missing(method: str, by_arm: bool) -> None:
    data = trial()
    col = "employed" if method == "logreg" else "y"
    mi = imputed(method, by_arm)
    assert len(mi) == mi.m == 5
    miss = data[col].isna().to_numpy()
    for done in mi:
        assert not done[col].isna().any()
        np.testing.assert_array_equal(done.loc[~miss, col], data.loc[~miss, col])
        pd.testing.assert_frame_equal(done.drop(columns=col), data.drop(columns=col))
    if method == "pmm":  # donors' observed values only
        assert set(mi.completed(0).loc[miss, col]) <= set(data.loc[~miss, col])
    if method == "logreg":
        assert set(mi.completed(0)[col]) <= {0.0, 1.0}
    draws = np.array([d.loc[miss, col] for d in mi])
    assert np.ptp(draws, axis=0).max() > 0  # the imputations differ


def test_same_seed_same_imputations_and_a_generator_works() -> None:
    a = de.multiple_imputation(trial(), impute="y", using="x", assigned="arm", m=3, seed=5)
    b = de.multiple_imputation(trial(), impute="y", using="x", assigned="arm", m=3, seed=5)
    c = de.multiple_imputation(trial(), impute="y", using="x", assigned="arm", m=3,
                               seed=np.random.default_rng(5))
    for i in range(3):
        pd.testing.assert_frame_equal(a.completed(i), b.completed(i))
        pd.testing.assert_frame_equal(a.completed(i), c.completed(i))
    assert a.seed == 5 and c.seed is None


def test_fit_pools_itt_cace_did_and_any_callable() -> None:
    mi = imputed()
    pooled = mi.fit(de.itt, outcome="y", covariates=["x"])  # assigned comes from mi
    assert isinstance(pooled, de.PooledEffect)
    assert pooled.estimand == "ITT" and pooled.m == 5 and pooled.treatment == "treatment"
    assert pooled.estimate == pytest.approx(np.mean(pooled.estimates), rel=1e-12)
    assert pooled.std_error > np.sqrt(np.mean(np.square(pooled.std_errors)))
    assert 0 < pooled.fmi < 1 and pooled.df < pooled.df_complete
    frame = pooled.to_frame()
    assert frame.loc[0, "fmi"] == pooled.fmi and frame.loc[0, "lambda"] == pooled.lambda_
    lo, hi = pooled.interval()
    assert lo < pooled.estimate < hi
    assert "fmi" in pooled.summary() and "Barnard-Rubin" in pooled.summary()
    assert len(pooled.imputations_frame()) == 5

    data = trial().assign(received=lambda d: ((d["arm"] == "treatment")
                                              & (d["x"] > -0.5)).astype(int))
    mi_c = de.multiple_imputation(data, impute="y", using="x", assigned="arm", m=3, seed=2)
    assert mi_c.fit(de.cace, outcome="y", received="received").estimand == "CACE"

    panel = de.datasets.area_rollout(n_areas=24, periods=8, cohorts=(4, 6), seed=3)
    panel.loc[panel.index[::7], "employment_rate"] = np.nan
    # by cohort: each adoption cohort's imputation model has its own month trend
    mi_d = de.multiple_imputation(panel, impute="employment_rate", using=["month"],
                                  assigned="cohort", m=3, seed=4)
    att = mi_d.fit(de.did, outcome="employment_rate", unit="area", time="month",
                   treated="treated")
    assert att.estimand == "ATT" and att.m == 3

    def mine(d: pd.DataFrame) -> SimpleNamespace:
        t = d["arm"] == "treatment"
        diff = d.loc[t, "y"].mean() - d.loc[~t, "y"].mean()
        return SimpleNamespace(estimate=diff, std_error=0.1)  # no df: large-sample

    own = mi.fit(mine)
    assert own.estimand == "mine" and own.df_complete == math.inf


def test_a_binary_outcome_by_logreg_is_reported_in_points() -> None:
    pooled = imputed("logreg").fit(de.itt, outcome="employed")
    assert pooled.binary_outcome and " pp" in pooled.summary()


def test_fit_pools_binary_effect_on_one_scale_ratios_on_the_log_scale() -> None:
    """binary_effect reports three scales: fit pools the one asked for, a ratio as its
    log (Rubin's rules by hand on each completed dataset's log odds ratio and its SE),
    with the site (random-intercept) model too."""
    mi = imputed("logreg")
    kw = {"outcome": "employed", "covariates": ["x"]}
    pooled = mi.fit(de.binary_effect, scale="odds_ratio", **kw)
    each = [de.binary_effect(d, assigned="arm", scale="odds_ratio", **kw) for d in mi]
    q = np.log([r.estimate("odds_ratio") for r in each])
    u = np.array([r.log_std_errors["odds_ratio"] for r in each]) ** 2
    ref = rubin_pool(q, u, math.inf)
    assert pooled.estimand == "odds ratio" and pooled.scale == "odds_ratio"
    assert pooled.estimate == pytest.approx(math.exp(ref.estimate), rel=RTOL_ORDER)
    assert pooled.log_std_error == pytest.approx(ref.std_error, rel=RTOL_ORDER)
    assert pooled.std_error == pytest.approx(pooled.estimate * ref.std_error, rel=RTOL_ORDER)
    assert pooled.fmi == pytest.approx(ref.fmi, rel=RTOL_ORDER)
    lo, hi = pooled.interval()
    assert lo < pooled.estimate < hi
    assert math.log(lo) + math.log(hi) == pytest.approx(2 * ref.estimate, rel=1e-9)
    assert pooled.statistic == pytest.approx(ref.estimate / ref.std_error, rel=RTOL_ORDER)
    assert "on the log scale" in pooled.summary() and not pooled.binary_outcome
    rd = mi.fit(de.binary_effect, scale="risk_difference", **kw)
    assert rd.log_std_error is None and rd.binary_outcome and " pp" in rd.summary()
    assert rd.estimate == pytest.approx(np.mean([de.binary_effect(
        d, assigned="arm", scale="risk_difference", **kw).estimate("risk_difference")
        for d in mi]), rel=RTOL_ORDER)
    site = mi.fit(de.binary_effect, scale="odds_ratio", site="region", **kw)
    assert math.isfinite(site.estimate) and 0 < site.fmi < 1
    with pytest.raises(OptionError, match=r"binary_effect reported 3 scales \(risk_difference, "
                       r"risk_ratio, odds_ratio\) and Rubin's rules pool one at a time\. Fix: "
                       r"pass scale='odds_ratio'"):
        mi.fit(de.binary_effect, **kw)


def test_pool_gives_what_fit_gives_from_results_computed_once() -> None:
    """pool(results) is fit without the fitting: one binary_effect per completed
    dataset, pooled on each of its scales."""
    mi = imputed("logreg")
    kw = {"outcome": "employed", "covariates": ["x"]}
    fits = [de.binary_effect(d, assigned="arm", **kw) for d in mi]
    for scale in ("odds_ratio", "risk_ratio", "risk_difference"):
        pooled, fitted = mi.pool(fits, scale=scale), mi.fit(de.binary_effect, scale=scale, **kw)
        pd.testing.assert_frame_equal(pooled.to_frame(), fitted.to_frame())
        assert pooled.summary() == fitted.summary()
    itts = [de.itt(d, outcome="employed", assigned="arm") for d in mi]
    pd.testing.assert_frame_equal(mi.pool(itts).to_frame(),
                                  mi.fit(de.itt, outcome="employed").to_frame())
    with pytest.raises(OptionError, match=r"MultipleImputation\.pool: BinaryEffect reported 3 "
                       r"scales .* Fix: pass scale='odds_ratio' \(or 'risk_difference' or "
                       r"'risk_ratio'\); got scale=None"):
        mi.pool(fits)
    with pytest.raises(OptionError, match=r"results must be a list of the m = 5 results, one "
                       r"per completed dataset\. Got list of 4 instead"):
        mi.pool(fits[:4], scale="odds_ratio")
    with pytest.raises(OptionError, match=r"scale='odds_ratio' is for results with several "
                       r"scales \(binary_effect\); Effect results have one"):
        mi.pool(itts, scale="odds_ratio")


def test_several_columns_by_chained_equations() -> None:
    data = trial()
    data.loc[data.index[::9], "x"] = np.nan
    mi = de.multiple_imputation(data, impute=["y", "x"], using="region", assigned="arm",
                                m=3, method="norm", seed=3, iterations=3)
    done = mi.completed(1)
    assert not done[["y", "x"]].isna().any().any()
    assert set(mi.to_frame()["column"]) == {"y", "x"}
    with pytest.raises(OptionError, match=r"2 columns were imputed \(y, x\); name the one to "
                       r"shift\. Fix: pass column='y'"):
        mi.shift(1.0, arm="treatment")


def test_shift_moves_only_the_imputed_values_in_one_arm() -> None:
    mi = imputed()
    shifted = mi.shift(2.5, arm="treatment")
    data = trial()
    miss_t = (data["y"].isna() & (data["arm"] == "treatment")).to_numpy()
    diff = shifted.completed(0)["y"] - mi.completed(0)["y"]
    np.testing.assert_allclose(diff[miss_t], 2.5)
    assert (diff[~miss_t] == 0).all()
    # the ITT moves by 2.5 times the share of imputed values in the treatment arm
    # (difference in means: no covariates)
    share = miss_t.sum() / (data["arm"] == "treatment").sum()
    moved = shifted.fit(de.itt, outcome="y").estimate - mi.fit(de.itt, outcome="y").estimate
    assert moved == pytest.approx(2.5 * share, rel=1e-10)
    assert shifted.shift(0.0, arm="treatment").completed(0).equals(mi.completed(0))
    with pytest.raises(OptionError, match=r"arm 'treated' is not a value of 'arm'"):
        mi.shift(1.0, arm="treated")


def test_tipping_point_finds_where_the_interval_reaches_zero() -> None:
    mi = imputed()
    tp = de.tipping_point(mi, de.itt, outcome="y", covariates=["x"])
    assert tp.significant_at_zero and tp.tipping_delta < 0
    at_tip = mi.shift(tp.tipping_delta, arm="treatment").fit(de.itt, outcome="y",
                                                              covariates=["x"])
    assert at_tip.p_value == pytest.approx(0.05, abs=1e-6)
    frame = tp.to_frame()
    assert list(frame.columns) == de.results.TIPPING_COLUMNS
    assert frame["delta"].is_monotonic_increasing and 0.0 in set(frame["delta"])
    assert frame["tipping"].sum() == len(tp.tipping_deltas)
    assert "tipping point" in tp.summary()
    ax = tp.plot()
    assert ax.get_xlabel().startswith("delta added to imputed y in treatment")
    assert alt_text_of(ax.figure) == tp.alt_text()
    assert f"tips at delta = {tp.tipping_deltas[0]:g}" in tp.alt_text()
    import matplotlib.pyplot as plt

    plt.close("all")


def test_tipping_point_on_the_log_odds_scale_for_logreg() -> None:
    tp = de.tipping_point(imputed("logreg"), de.itt, outcome="employed",
                          deltas=np.linspace(-3, 3, 7))
    assert tp.scale == "log-odds"
    est = tp.to_frame().set_index("delta")["estimate"]
    assert est.loc[-3.0] < est.loc[0.0] < est.loc[3.0]


def test_results_are_frozen_and_pickle() -> None:
    mi = imputed()
    back = pickle.loads(pickle.dumps(mi))
    pd.testing.assert_frame_equal(back.completed(4), mi.completed(4))
    with pytest.raises(ValueError, match="read-only"):
        mi._values["y"][0, 0] = 1.0  # type: ignore[index]


# --------------------------------------------------------------------------- bad input


def call(**kw):  # type: ignore[no-untyped-def]
    args = {"impute": "y", "using": "x", "assigned": "arm", "m": 3, "seed": 1}
    args.update(kw)
    data = args.pop("data", trial())
    return de.multiple_imputation(data, **args)


def test_errors_are_pinned() -> None:
    with pytest.raises(OptionError, match=r"The 'm' parameter of multiple_imputation must be an "
                       r"int >= 2 \(Rubin's rules need a between-imputation variance"):
        call(m=1)
    with pytest.raises(OptionError, match=r"the assignment column 'arm' is in impute\. The arm "
                       r"each person was randomised to is known for everyone and must never be "
                       r"imputed"):
        call(impute=["y", "arm"])
    with pytest.raises(ColumnError, match=r"column 'wage' \(impute\) is not in the data\. .*"
                       r"Fix: name columns of data in impute=\[\.\.\.\]"):
        call(impute="wage")
    complete = trial().assign(y=lambda d: d["y"].fillna(0.0))
    with pytest.raises(MissingDataError, match=r"nothing to impute: 'y' has no missing values\. "
                       r"Fix: analyse the data directly"):
        call(data=complete)
    with pytest.raises(ColumnError, match=r"column 'region' \(impute\) is not numeric \(dtype "
                       r"(object|str)\); method 'pmm' imputes numbers"):
        call(data=trial().assign(region=lambda d: d["region"].where(d["x"] > 0)),
             impute="region")
    with pytest.raises(ColumnError, match=r"column 'y' \(impute\) must hold 0/1 values for "
                       r"method='logreg'"):
        call(method="logreg")
    with pytest.raises(OptionError, match=r"'method' parameter of multiple_imputation must be "
                       r"one of 'pmm', 'norm', 'logreg'\. Got 'mean' instead"):
        call(method="mean")
    with pytest.raises(MissingDataError, match=r"column 'x' \(using\) has 30 missing value\(s\); "
                       r"predictors must be complete\. Fix: add 'x' to impute"):
        call(data=trial().assign(x=lambda d: d["x"].where(d.index % 10 != 0)))
    with pytest.raises(OptionError, match=r"column 'x' is named twice"):
        call(impute=["y", "x"])
    with pytest.raises(DwpEvalError, match=r"The 'seed' parameter of multiple_imputation"):
        call(seed=None)


def test_too_few_observed_in_an_arm_and_separation_are_pinned() -> None:
    data = trial()
    data.loc[(data["arm"] == "treatment") & (data.index > 1), "y"] = np.nan
    with pytest.raises(DesignError, match=r"column 'y' has 1 observed value\(s\) in arm "
                       r"'treatment', too few to impute from\. Fix: impute with by_arm=False"):
        call(data=data)
    data = trial()
    data.loc[(data["arm"] == "treatment") & (data.index > 3), "y"] = np.nan
    with pytest.raises(DesignError, match=r"column 'y' has 2 observed value\(s\) in arm "
                       r"'treatment' for 2 predictor\(s\) \(with the intercept\); the "
                       r"imputation model needs more\. Fix: use fewer predictors"):
        call(data=data)
    data = trial()
    data.loc[data["arm"] == "control", "employed"] = data.loc[
        data["arm"] == "control", "employed"].where(lambda s: s.isna(), 0.0)
    with pytest.raises(DesignError, match=r"column 'employed' is 0 for everyone observed in arm "
                       r"'control', so a logistic imputation model has no finite fit"):
        call(data=data, impute="employed", method="logreg")


def test_fit_and_tipping_point_errors() -> None:
    mi = imputed()
    with pytest.raises(OptionError, match=r"mine returned a dict, which has no 'estimate'"):
        mi.fit(_returns_dict)
    with pytest.raises(OptionError, match=r"must be a MultipleImputation"):
        de.tipping_point(trial(), de.itt, outcome="y")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"i must be an int from 0 to 4"):
        mi.completed(5)
    with pytest.raises(OptionError, match=r"Rubin's rules need m >= 2 completed datasets"):
        de.MultipleImputation.from_completed(trial(), [trial()], impute=["y"], assigned="arm")


def _returns_dict(d: pd.DataFrame) -> dict[str, float]:
    return {"estimate": 1.0}


_returns_dict.__name__ = "mine"


# --------------------------------------------------------------------------- properties

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-4, 1e3, allow_nan=False, allow_infinity=False)
dfs = st.one_of(st.just(math.inf), st.floats(2.0, 1e5))


@settings(max_examples=50, deadline=None)
@given(q=finite, u=positive, m=st.integers(2, 50), df=dfs)
def test_zero_between_variance_gives_the_single_estimate(q: float, u: float, m: int,
                                                         df: float) -> None:
    pool = rubin_pool([q] * m, [u] * m, df)
    assert pool.estimate == pytest.approx(q, rel=1e-12, abs=1e-12)
    assert pool.std_error == pytest.approx(math.sqrt(u), rel=1e-12)
    assert pool.between_variance == 0 and pool.riv == 0 and pool.lambda_ == 0
    # Barnard-Rubin df at lambda = 0: nu_obs, below the complete-data df
    expected = math.inf if math.isinf(df) else (df + 1) / (df + 3) * df
    assert pool.df == pytest.approx(expected, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), m=st.integers(2, 30), df=dfs)
def test_pooling_ignores_the_order_of_the_imputations(data: st.DataObject, m: int,
                                                      df: float) -> None:
    q = data.draw(st.lists(finite, min_size=m, max_size=m))
    u = data.draw(st.lists(positive, min_size=m, max_size=m))
    perm = data.draw(st.permutations(range(m)))
    a = rubin_pool(q, u, df)
    b = rubin_pool([q[i] for i in perm], [u[i] for i in perm], df)
    for f in ("estimate", "total_variance", "df", "fmi", "riv"):
        assert getattr(b, f) == pytest.approx(getattr(a, f), rel=RTOL_ORDER, abs=1e-12), f


@settings(max_examples=50, deadline=None)
@given(data=st.data(), m=st.integers(2, 30), df=dfs, shift=finite,
       scale=st.floats(0.01, 100))
def test_pooling_is_equivariant_and_df_is_bounded(data: st.DataObject, m: int, df: float,
                                                  shift: float, scale: float) -> None:
    q = np.array(data.draw(st.lists(st.floats(-10, 10), min_size=m, max_size=m)))
    u = np.array(data.draw(st.lists(st.floats(0.01, 10), min_size=m, max_size=m)))
    a = rubin_pool(q, u, df)
    b = rubin_pool(scale * q + shift, scale**2 * u, df)
    assert b.estimate == pytest.approx(scale * a.estimate + shift, rel=1e-9, abs=1e-9)
    assert b.std_error == pytest.approx(scale * a.std_error, rel=1e-9)
    assert b.fmi == pytest.approx(a.fmi, rel=1e-9, abs=1e-12)
    assert 0 < a.df <= df and 0 <= a.lambda_ < 1
    # Barnard & Rubin (1999): their df never exceeds the complete-data df nor Rubin's
    assert a.df <= barnard_rubin_df(m, a.lambda_, math.inf) * (1 + 1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_fit_ignores_the_order_of_the_rows(seed: int) -> None:
    """Permuting the rows of the data permutes nothing that is pooled: the
    per-imputation ITTs (difference in means) of the permuted imputations equal
    the originals, so the pooled result does too."""
    mi = imputed()
    perm = np.random.default_rng(seed).permutation(mi.n_obs)
    frames = [d.iloc[perm].reset_index(drop=True) for d in mi]
    data = mi.completed(0).iloc[perm].reset_index(drop=True)
    data.loc[trial()["y"].isna().to_numpy()[perm], "y"] = np.nan
    again = de.MultipleImputation.from_completed(data, frames, impute=["y"], assigned="arm")
    a = mi.fit(de.itt, outcome="y")
    b = again.fit(de.itt, outcome="y")
    for f in ("estimate", "std_error", "df", "fmi"):
        assert getattr(b, f) == pytest.approx(getattr(a, f), rel=1e-9), f
