"""``wild_cluster_bootstrap``: the CR1 t statistic against statsmodels, every bootstrap
t statistic and the p-value against a plain loop written here (build each bootstrap
sample, refit by least squares, loop over clusters for CR1), exact reproducibility
with enumerated Rademacher weights, the interval against the p-value function,
errors with pinned messages, and the size of the test with 10 clusters.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import dwp_eval as de
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate import bootstrap as wb
from dwp_eval.estimate.bootstrap import wild_cluster_bootstrap
from dwp_eval.results import BOOTSTRAP_COLUMNS, BootstrapTest

# Same arithmetic in a different order (cluster sums and the push-through algebra
# against refitting each bootstrap sample): rounding differs by ~1e-13.
RTOL = 1e-9
BAND_LEVEL = 0.999


def make_data(G: int = 6, seed: int = 1, effect: float = 0.0, strata: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 30, size=G)
    g = np.repeat(np.arange(G), sizes)
    zc = np.zeros(G, dtype=int)
    zc[rng.permutation(G)[: G // 2]] = 1
    if strata:  # two strata, each with treated and control clusters
        zc = np.tile([1, 0], G // 2)
    x = rng.normal(size=len(g))
    y = 0.5 * x + rng.normal(size=G)[g] + rng.normal(size=len(g)) * (1 + zc[g]) + effect * zc[g]
    out = pd.DataFrame(
        {"cl": g, "arm": np.where(zc[g] == 1, "treatment", "control"), "y": y, "x": x}
    )
    out["s"] = (out["cl"] < G // 2).astype(int)
    return out


def reference_t_stars(
    df: pd.DataFrame, V: np.ndarray, *, beta0: float, covariates: tuple[str, ...] = (), strata: bool = False,
    impose_null: bool = True,
) -> tuple[float, np.ndarray]:
    """The slow way: one refit per weight vector, CR1 by a loop over clusters."""
    y = df["y"].to_numpy()
    z = (df["arm"] == "treatment").to_numpy(float)
    g = df["cl"].to_numpy()
    cols = [z, *[df[c].to_numpy(float) for c in covariates]]
    if strata:
        cols += [(df["s"] == v).to_numpy(float) for v in sorted(df["s"].unique())]
    else:
        cols.append(np.ones(len(y)))
    X = np.column_stack(cols)
    n, k = X.shape
    clusters = np.unique(g)
    G = len(clusters)

    def fit_t(yy: np.ndarray, null: float) -> float:
        b = np.linalg.lstsq(X, yy, rcond=None)[0]
        e = yy - X @ b
        bread = np.linalg.inv(X.T @ X)
        meat = np.zeros((k, k))
        for c in clusters:
            s = X[g == c].T @ e[g == c]
            meat += np.outer(s, s)
        v = G / (G - 1) * (n - 1) / (n - k) * bread @ meat @ bread
        return (b[0] - null) / np.sqrt(v[0, 0])

    t_obs = fit_t(y, beta0)
    if impose_null:
        Xr = X[:, 1:]
        gam = np.linalg.lstsq(Xr, y - beta0 * z, rcond=None)[0]
        fitted = Xr @ gam + beta0 * z
        u = y - fitted
        centre = beta0
    else:
        b = np.linalg.lstsq(X, y, rcond=None)[0]
        fitted = X @ b
        u = y - fitted
        centre = b[0]
    index = np.searchsorted(clusters, g)
    t_star = np.array([fit_t(fitted + u * v[index], centre) for v in V])
    return t_obs, t_star


# --------------------------------------------------------------------------- against references


def test_cr1_t_matches_statsmodels():
    df = make_data(G=10, seed=3, effect=0.4)
    res = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", covariates=["x"], seed=1, draws=99)
    X = sm.add_constant(np.column_stack([(df["arm"] == "treatment").astype(float), df["x"]]))
    f = sm.OLS(df["y"], X).fit(cov_type="cluster", cov_kwds={"groups": df["cl"]})
    assert res.estimate == pytest.approx(f.params.iloc[1], rel=RTOL)
    assert res.std_error == pytest.approx(f.bse.iloc[1], rel=RTOL)
    assert res.statistic == pytest.approx(f.tvalues.iloc[1], rel=RTOL)


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
@pytest.mark.parametrize(("covariates", "strata", "impose_null"), [((), False, True), (("x",), True, True), (("x",), False, False)])
def test_bootstrap_t_and_p_value_match_the_slow_loop(weights, covariates, strata, impose_null):
    df = make_data(G=12, seed=4, strata=strata)
    kwargs = {"covariates": list(covariates), "strata": "s" if strata else None}
    res = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", weights=weights, draws=199,
                                 seed=5, impose_null=impose_null, **kwargs)
    (V,), _ = wb._weight_draws(weights, 12, 199, np.random.default_rng(5))
    t_obs, t_star = reference_t_stars(df, V, beta0=0.0, covariates=covariates, strata=strata, impose_null=impose_null)
    assert res.statistic == pytest.approx(t_obs, rel=RTOL)
    assert np.allclose(res.null_statistics, t_star, rtol=RTOL, atol=1e-12)
    assert res.p_value == np.mean(np.abs(t_star) >= abs(t_obs))
    # a non-zero null value: the t statistics move with beta0 as in a refit
    beta0 = res.estimate + 0.7 * res.std_error
    t_obs0, t_star0 = reference_t_stars(df, V, beta0=beta0, covariates=covariates, strata=strata, impose_null=impose_null)
    assert res.p_value_at(beta0) == np.mean(np.abs(t_star0) >= abs(t_obs0))


def test_enumeration_with_six_clusters_is_exact_and_reproducible():
    df = make_data(G=6, seed=9, effect=1.0)
    a = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=1)
    b = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=12345)
    assert a.enumerated and a.draws == 64
    assert a.p_value == b.p_value and (a.conf_low, a.conf_high) == (b.conf_low, b.conf_high)
    V = np.array(list(itertools.product([-1.0, 1.0], repeat=6)))
    t_obs, t_star = reference_t_stars(df, V, beta0=0.0)
    assert a.p_value == np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-9))
    # v and -v give the same |t*|, and v = 1 reproduces the data: p >= 2/64
    assert a.p_value >= 2 / 64
    assert any("enumerat" in note or "distinct" in note for note in a.notes)


def test_webb_enumerates_with_very_few_clusters():
    df = make_data(G=4, seed=2)
    res = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", weights="webb", seed=1)
    assert res.enumerated and res.draws == 6**4


def test_interval_is_the_set_not_rejected():
    df = make_data(G=14, seed=6, effect=0.8)
    res = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", draws=999, seed=3)
    lo, hi = res.conf_low, res.conf_high
    assert lo < res.estimate < hi
    eps = 1e-6 * (hi - lo)
    assert res.p_value_at(lo - eps) <= res.alpha < res.p_value_at(lo + eps)
    assert res.p_value_at(hi + eps) <= res.alpha < res.p_value_at(hi - eps)
    assert res.p_value_at(0.0) == res.p_value
    lo90, hi90 = res.interval(0.1)
    assert lo <= lo90 < hi90 <= hi


def test_result_frame_and_summary():
    df = make_data(G=8, seed=1)
    res = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=1, draws=99, weights="webb")
    assert isinstance(res, BootstrapTest)
    f = res.to_frame()
    assert list(f.columns) == BOOTSTRAP_COLUMNS and len(f) == 1
    assert f.loc[0, "se_type"] == "CR1" and f.loc[0, "weights"] == "webb"
    assert f.loc[0, "n_clusters"] == 8
    assert "Wild cluster bootstrap of treatment vs control on y" in res.summary()
    assert res._repr_html_().startswith("<p><strong>Wild cluster bootstrap")
    assert "BootstrapTest" in repr(res)
    assert not res.null_statistics.flags.writeable


def test_same_seed_same_answer():
    df = make_data(G=20, seed=2)
    a = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=8, draws=499)
    b = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=8, draws=499)
    c = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=9, draws=499)
    assert a.p_value == b.p_value and np.array_equal(a.null_statistics, b.null_statistics)
    assert not np.array_equal(a.null_statistics, c.null_statistics)


# --------------------------------------------------------------------------- errors


def test_fewer_than_two_clusters_per_arm():
    df = make_data(G=6, seed=1)
    keep = df["cl"].isin(df.loc[df["arm"] == "control", "cl"].unique()[:2].tolist()
                         + df.loc[df["arm"] == "treatment", "cl"].unique()[:1].tolist())
    with pytest.raises(
        DesignError,
        match=re.escape(
            "wild_cluster_bootstrap: a cluster design needs at least 2 clusters in each arm; found 2 "
            "in 'control' and 1 in 'treatment'. Cluster-robust inference is impossible."
        ),
    ):
        wild_cluster_bootstrap(df[keep], outcome="y", assigned="arm", cluster="cl", seed=1)


def test_bad_weights():
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'weights' parameter of wild_cluster_bootstrap must be one of 'rademacher', 'webb'. "
            "Got 'mammen' instead."
        ),
    ):
        wild_cluster_bootstrap(make_data(), outcome="y", assigned="arm", cluster="cl", weights="mammen", seed=1)


@pytest.mark.parametrize("draws", [0, 1.5, True])
def test_bad_draws(draws):
    with pytest.raises(
        OptionError, match=re.escape(f"The 'draws' parameter of wild_cluster_bootstrap must be a positive int. Got {draws!r} instead.")
    ):
        wild_cluster_bootstrap(make_data(), outcome="y", assigned="arm", cluster="cl", draws=draws, seed=1)


def test_cluster_required():
    with pytest.raises(OptionError, match=re.escape("The 'cluster' parameter of wild_cluster_bootstrap must name the column")):
        wild_cluster_bootstrap(make_data(), outcome="y", assigned="arm", cluster=None, seed=1)


def test_too_few_clusters_for_the_model():
    df = make_data(G=4, seed=3)
    for j in range(4):
        df[f"x{j}"] = np.random.default_rng(j).normal(size=len(df))
    with pytest.raises(
        DesignError,
        match=re.escape("wild_cluster_bootstrap: 4 clusters cannot identify 6 coefficients"),
    ):
        wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", covariates=["x0", "x1", "x2", "x3"], seed=1)


def test_split_cluster_and_bad_seed():
    df = make_data(G=6)
    df.loc[df.index[0], "arm"] = "treatment" if df.loc[df.index[0], "arm"] == "control" else "control"
    with pytest.raises(DesignError, match=r"wild_cluster_bootstrap: 1 cluster\(s\) in column 'cl' contain people from both arms"):
        wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", seed=1)
    with pytest.raises(OptionError, match=r"The 'seed' parameter of wild_cluster_bootstrap must be an int"):
        wild_cluster_bootstrap(make_data(), outcome="y", assigned="arm", cluster="cl", seed=None)


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        wild_cluster_bootstrap(make_data(), outcome="nope", assigned="arm", cluster="cl", seed=1)
    assert issubclass(DesignError, de.DwpEvalError)


# --------------------------------------------------------------------------- size


@pytest.mark.slow
def test_size_with_ten_clusters_near_nominal():
    """WCR with 10 clusters (5 treated) of unequal size and heteroskedastic errors:
    rejection at 5% inside a binomial band around 0.05."""
    rng = np.random.default_rng(20240710)
    sims = 400
    p = np.empty(sims)
    for i in range(sims):
        sizes = rng.integers(10, 60, size=10)
        g = np.repeat(np.arange(10), sizes)
        zc = rng.permutation(np.r_[np.ones(5), np.zeros(5)])
        y = rng.normal(size=10)[g] + rng.standard_t(5, size=len(g)) * (1 + zc[g])
        df = pd.DataFrame({"cl": g, "arm": np.where(zc[g] == 1, "treatment", "control"), "y": y})
        p[i] = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="cl", draws=399,
                                      seed=int(rng.integers(2**31))).p_value
    lo, hi = stats.binom.ppf((1 - BAND_LEVEL) / 2, sims, 0.05) / sims, stats.binom.isf((1 - BAND_LEVEL) / 2, sims, 0.05) / sims
    rate = float(np.mean(p <= 0.05))
    assert lo <= rate <= hi, f"rejection rate {rate:.3f} outside [{lo:.3f}, {hi:.3f}]"
