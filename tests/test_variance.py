"""The variance core (``_core/linalg.py`` and ``_core/variance.py``).

* HC0-HC3, classical and CR1 against statsmodels ``OLS``/``WLS`` (an
  independent implementation), with and without weights and absorbed strata;
* CR2 and its Bell-McCaffrey / Pustejovsky-Tipton degrees of freedom against a
  brute-force implementation written here from the published formulas (full
  ``n x n`` hat matrix, ``A_g = (I - H_gg)^{-1/2}``, ``Omega = U'U``), which the
  fast code avoids forming;
* the lookup table: canonical names, aliases, case, ``"stata"``, errors.

R reference values (estimatr, clubSandwich) are compared in
``test_itt_reference.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import statsmodels.api as sm

from dwp_eval._core.linalg import fit_ols
from dwp_eval._core.variance import SE_TYPES, resolve_se_type, vcov
from dwp_eval.errors import DesignError, DwpEvalError, OptionError

# Tolerances (relative). Both sides are double-precision least squares on
# well-conditioned designs (condition number < 1e3): agreement is limited by
# rounding in different factorisations (Cholesky here, pinv/QR in statsmodels),
# ~1e-13; 1e-9 leaves room without hiding any formula difference (a wrong
# small-sample factor moves results by > 1e-3).
RTOL_SM = 1e-9
# Fast CR2 versus the brute-force version of the same formula: only rounding.
RTOL_BRUTE = 1e-9
# Absorbed strata versus explicit dummies: demeaning versus a larger
# factorisation, rounding only.
RTOL_FE = 1e-9

HC_TYPES = ["HC0", "HC1", "HC2", "HC3"]


# --------------------------------------------------------------------------- data


def make_data(seed: int, n: int = 60, k: int = 3, n_clusters: int = 12, n_strata: int = 4):
    """Random regression data: heteroskedastic errors, unequal clusters nested in strata."""
    rng = np.random.default_rng(seed)
    Xc = rng.normal(size=(n, k))
    Xc[:, 0] = rng.integers(0, 2, size=n)  # a treatment-like dummy
    # unequal cluster sizes: every cluster has at least 2 rows
    sizes = np.full(n_clusters, 2)
    extra = rng.multinomial(n - 2 * n_clusters, rng.dirichlet(np.ones(n_clusters)))
    sizes = sizes + extra
    cluster = np.repeat(np.arange(n_clusters), sizes)
    strata = cluster % n_strata  # clusters nested in strata
    y = Xc @ rng.normal(size=k) + rng.normal(size=n) * (1 + np.abs(Xc[:, 1])) + 0.5 * strata
    w = rng.uniform(0.5, 3.0, size=n)
    perm = rng.permutation(n)  # clusters not contiguous in row order
    return Xc[perm], y[perm], cluster[perm], strata[perm], w[perm]


def with_intercept(Xc: np.ndarray) -> tuple[np.ndarray, list[str]]:
    X = np.column_stack([np.ones(len(Xc)), Xc])
    return X, ["(Intercept)"] + [f"x{j}" for j in range(Xc.shape[1])]


def with_dummies(Xc: np.ndarray, strata: np.ndarray) -> tuple[np.ndarray, list[str]]:
    levels = np.unique(strata)
    D = (strata[:, None] == levels[None, :]).astype(float)
    X = np.column_stack([Xc, D])
    return X, [f"x{j}" for j in range(Xc.shape[1])] + [f"s{s}" for s in levels]


# --------------------------------------------------------------------------- brute force CR2


def _inv_sqrt_psd(S: np.ndarray) -> np.ndarray:
    """``S^{-1/2}`` on the range of symmetric ``S``; 0 on eigenvalues below 1e-12."""
    lam, U = np.linalg.eigh((S + S.T) / 2)
    f = np.where(lam > 1e-12, 1.0 / np.sqrt(np.clip(lam, 1e-300, None)), 0.0)
    return (U * f) @ U.T


def brute_cr2(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, w: np.ndarray | None = None):
    """CR2 vcov and Satterthwaite df of every coefficient, forming every matrix.

    Bell & McCaffrey (2002); Pustejovsky & Tipton (2018, JBES 36(4)), working
    model ``Phi = I``: ``H = X M X'W``, ``A_g = ([(I - H)(I - H)']_gg)^{-1/2}``
    (``(I - H_gg)^{-1/2}`` without weights), ``V = M sum_g X_g'W_g A_g e_g e_g'
    A_g W_g X_g M``. With ``e = (I - H) eps`` and ``eps ~ N(0, I)``, ``c'Vc =
    eps' U U' eps`` with ``u_g = (I - H)[g, :]' A_g W_g X_g M c``, so the
    Satterthwaite df is ``tr(Omega)^2 / tr(Omega^2)`` with ``Omega = U'U``.
    """
    n, k = X.shape
    W = np.eye(n) if w is None else np.diag(w)
    M = np.linalg.inv(X.T @ W @ X)
    beta = M @ X.T @ W @ y
    e = y - X @ beta
    IH = np.eye(n) - X @ M @ X.T @ W
    G2 = IH @ IH.T
    groups = np.unique(cluster)
    meat = np.zeros((k, k))
    P = []  # per cluster: rows and A_g W_g X_g M (n_g x k)
    for g in groups:
        rows = np.flatnonzero(cluster == g)
        A = _inv_sqrt_psd(G2[np.ix_(rows, rows)])
        s = X[rows].T @ W[np.ix_(rows, rows)] @ A @ e[rows]
        meat += np.outer(s, s)
        P.append((rows, A @ W[np.ix_(rows, rows)] @ X[rows] @ M))
    V = M @ meat @ M
    df = np.empty(k)
    for j in range(k):
        U = np.column_stack([IH[rows, :].T @ Pg[:, j] for rows, Pg in P])
        Om = U.T @ U
        df[j] = np.trace(Om) ** 2 / np.trace(Om @ Om)
    return beta, V, df


# --------------------------------------------------------------------------- statsmodels


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("se_type", HC_TYPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls"])
def test_hc_matches_statsmodels(seed, se_type, weighted):
    Xc, y, _, _, w = make_data(seed)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, weights=w if weighted else None, func="test")
    res = vcov(fit, se_type)
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    ref = model.fit(cov_type=se_type)
    np.testing.assert_allclose(fit.beta, ref.params, rtol=RTOL_SM)
    np.testing.assert_allclose(res.vcov, ref.cov_params(), rtol=RTOL_SM)
    np.testing.assert_allclose(res.std_error, ref.bse, rtol=RTOL_SM)
    np.testing.assert_array_equal(res.df, np.full(X.shape[1], len(y) - X.shape[1]))
    assert res.se_type == se_type
    assert res.n_clusters is None


@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls"])
def test_classical_matches_statsmodels(weighted):
    Xc, y, _, _, w = make_data(4)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, weights=w if weighted else None, func="test")
    res = vcov(fit, "classical")
    ref = (sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)).fit()
    np.testing.assert_allclose(res.vcov, ref.cov_params(), rtol=RTOL_SM)
    np.testing.assert_array_equal(res.df, np.full(X.shape[1], ref.df_resid))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls"])
def test_cr1_matches_statsmodels_cluster(seed, weighted):
    """statsmodels' default cluster correction is CR1: G/(G-1) (n-1)/(n-k)."""
    Xc, y, cluster, _, w = make_data(seed)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, weights=w if weighted else None, func="test")
    res = vcov(fit, "CR1", cluster)
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    ref = model.fit(cov_type="cluster", cov_kwds={"groups": cluster})
    np.testing.assert_allclose(res.vcov, ref.cov_params(), rtol=RTOL_SM)
    G = len(np.unique(cluster))
    assert res.n_clusters == G
    np.testing.assert_array_equal(res.df, np.full(X.shape[1], ref.df_resid_inference))
    assert ref.df_resid_inference == G - 1


def test_cr0_matches_statsmodels_without_correction():
    Xc, y, cluster, _, _ = make_data(5)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, func="test")
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cluster, "use_correction": False})
    np.testing.assert_allclose(vcov(fit, "CR0", cluster).vcov, ref.cov_params(), rtol=RTOL_SM)


@pytest.mark.parametrize("se_type", [*HC_TYPES, "classical"])
def test_absorbed_strata_hc_match_statsmodels_with_dummies(se_type):
    """Absorbed fixed effects count in ``p`` and in the leverages (HC1-HC3 see both)."""
    Xc, y, _, strata, _ = make_data(6)
    names = [f"x{j}" for j in range(Xc.shape[1])]
    fit = fit_ols(Xc, y, names, fe_codes=strata, func="test")
    res = vcov(fit, se_type)
    Xd, _ = with_dummies(Xc, strata)
    ref = sm.OLS(y, Xd).fit(cov_type="nonrobust" if se_type == "classical" else se_type)
    k = Xc.shape[1]
    np.testing.assert_allclose(fit.beta, ref.params[:k], rtol=RTOL_FE)
    np.testing.assert_allclose(res.vcov, ref.cov_params()[:k, :k], rtol=RTOL_FE)
    np.testing.assert_array_equal(res.df, np.full(k, ref.df_resid))


def test_absorbed_strata_cr1_matches_statsmodels_with_dummies():
    Xc, y, cluster, strata, _ = make_data(7)
    names = [f"x{j}" for j in range(Xc.shape[1])]
    fit = fit_ols(Xc, y, names, fe_codes=strata, func="test")
    res = vcov(fit, "CR1", cluster)
    Xd, _ = with_dummies(Xc, strata)
    ref = sm.OLS(y, Xd).fit(cov_type="cluster", cov_kwds={"groups": cluster})
    k = Xc.shape[1]
    np.testing.assert_allclose(res.vcov, ref.cov_params()[:k, :k], rtol=RTOL_FE)


@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls"])
def test_absorbed_strata_weighted_match_dummies(weighted):
    """Weighted within-stratum demeaning gives the dummy-variable WLS coefficients."""
    Xc, y, _, strata, w = make_data(8)
    names = [f"x{j}" for j in range(Xc.shape[1])]
    ww = w if weighted else None
    fit = fit_ols(Xc, y, names, weights=ww, fe_codes=strata, func="test")
    Xd, dn = with_dummies(Xc, strata)
    full = fit_ols(Xd, y, dn, weights=ww, func="test")
    k = Xc.shape[1]
    np.testing.assert_allclose(fit.beta, full.beta[:k], rtol=RTOL_FE)
    np.testing.assert_allclose(fit.leverage(), full.leverage(), rtol=RTOL_FE)
    for se_type in HC_TYPES:
        np.testing.assert_allclose(
            vcov(fit, se_type).vcov, vcov(full, se_type).vcov[:k, :k], rtol=RTOL_FE
        )


# --------------------------------------------------------------------------- CR2


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_cr2_matches_brute_force(seed):
    Xc, y, cluster, _, _ = make_data(seed)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, func="test")
    res = vcov(fit, "CR2", cluster)
    _, V, df = brute_cr2(X, y, cluster)
    np.testing.assert_allclose(res.vcov, V, rtol=RTOL_BRUTE)
    np.testing.assert_allclose(res.df, df, rtol=RTOL_BRUTE)
    assert res.n_clusters == len(np.unique(cluster))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weighted_cr2_matches_brute_force(seed):
    Xc, y, cluster, _, w = make_data(seed)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, weights=w, func="test")
    res = vcov(fit, "CR2", cluster)
    beta, V, df = brute_cr2(X, y, cluster, w)
    np.testing.assert_allclose(fit.beta, beta, rtol=RTOL_BRUTE)
    np.testing.assert_allclose(res.vcov, V, rtol=RTOL_BRUTE)
    np.testing.assert_allclose(res.df, df, rtol=RTOL_BRUTE)


def test_cr2_with_singleton_clusters_is_hc2_with_bell_mccaffrey_df():
    """One person per cluster: CR2 is HC2 (SE), and its df is the Bell-McCaffrey df of HC2.

    Unweighted only: with weights, CR2's working model ``Phi = I`` lives on the
    original scale, so singleton CR2 differs from weighted HC2 (whitened
    leverages) -- in estimatr and clubSandwich too (checked in R 4.x:
    ``lm_robust(y ~ x, weights = w, se_type = "CR2", clusters = id)`` gives
    0.22038 where ``se_type = "HC2"`` gives 0.21902).
    """
    Xc, y, _, _, _ = make_data(9)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, func="test")
    singletons = np.arange(len(y))
    cr2 = vcov(fit, "CR2", singletons)
    hc2 = vcov(fit, "HC2")
    np.testing.assert_allclose(cr2.std_error, hc2.std_error, rtol=RTOL_BRUTE)
    np.testing.assert_allclose(cr2.vcov, hc2.vcov, rtol=RTOL_BRUTE, atol=1e-14)
    _, _, bm_df = brute_cr2(X, y, singletons)
    np.testing.assert_allclose(cr2.df, bm_df, rtol=RTOL_BRUTE)
    # the Bell-McCaffrey df is a small-sample correction: below n - p
    assert np.all(cr2.df < len(y) - X.shape[1])


def test_cr2_singletons_difference_in_means_df_closed_form():
    """Difference in means: HC2 is the Neyman SE, and the Bell-McCaffrey df (working
    model ``Phi = I``) is Welch's formula with equal variances plugged in,
    ``(1/n1 + 1/n0)^2 / (1/(n1^2 (n1-1)) + 1/(n0^2 (n0-1)))``: it depends on the
    design only, not on the outcome."""
    rng = np.random.default_rng(10)
    z = np.r_[np.ones(9), np.zeros(15)]
    y = rng.normal(size=24) * np.where(z == 1, 3.0, 1.0) + z
    X = np.column_stack([np.ones(24), z])
    fit = fit_ols(X, y, ["(Intercept)", "z"], func="test")
    res = vcov(fit, "CR2", np.arange(24))
    v1, v0 = y[z == 1].var(ddof=1) / 9, y[z == 0].var(ddof=1) / 15
    np.testing.assert_allclose(res.std_error[1], np.sqrt(v1 + v0), rtol=RTOL_BRUTE)
    bm = (1 / 9 + 1 / 15) ** 2 / (1 / (81 * 8) + 1 / (225 * 14))
    np.testing.assert_allclose(res.df[1], bm, rtol=RTOL_BRUTE)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cr2_absorbed_strata_equals_explicit_dummies(seed):
    """Clusters nested in strata: absorbing the strata changes neither SE nor df."""
    Xc, y, cluster, strata, _ = make_data(seed)
    names = [f"x{j}" for j in range(Xc.shape[1])]
    absorbed = vcov(fit_ols(Xc, y, names, fe_codes=strata, func="test"), "CR2", cluster)
    Xd, dn = with_dummies(Xc, strata)
    explicit = vcov(fit_ols(Xd, y, dn, func="test"), "CR2", cluster)
    k = Xc.shape[1]
    np.testing.assert_allclose(absorbed.std_error, explicit.std_error[:k], rtol=RTOL_FE)
    np.testing.assert_allclose(absorbed.vcov, explicit.vcov[:k, :k], rtol=RTOL_FE)
    np.testing.assert_allclose(absorbed.df, explicit.df[:k], rtol=RTOL_FE)
    _, V, df = brute_cr2(Xd, y, cluster)
    np.testing.assert_allclose(absorbed.vcov, V[:k, :k], rtol=RTOL_BRUTE)
    np.testing.assert_allclose(absorbed.df, df[:k], rtol=RTOL_BRUTE)


def test_cr2_absorbed_strata_crossing_clusters_equals_explicit_dummies():
    """Strata that cut across clusters (the non-nested branch of the fast code)."""
    Xc, y, cluster, _, _ = make_data(11, n=72)
    rng = np.random.default_rng(11)
    strata = rng.integers(0, 3, size=len(y))  # independent of the clusters
    names = [f"x{j}" for j in range(Xc.shape[1])]
    absorbed = vcov(fit_ols(Xc, y, names, fe_codes=strata, func="test"), "CR2", cluster)
    Xd, dn = with_dummies(Xc, strata)
    explicit = vcov(fit_ols(Xd, y, dn, func="test"), "CR2", cluster)
    k = Xc.shape[1]
    np.testing.assert_allclose(absorbed.vcov, explicit.vcov[:k, :k], rtol=RTOL_FE)
    np.testing.assert_allclose(absorbed.df, explicit.df[:k], rtol=RTOL_FE)


def test_cr2_with_absorbed_strata_and_weights_is_refused():
    Xc, y, cluster, strata, w = make_data(12)
    fit = fit_ols(Xc, y, ["a", "b", "c"], weights=w, fe_codes=strata, func="test")
    with pytest.raises(DesignError, match="CR2 with weights and absorbed strata is not supported"):
        vcov(fit, "CR2", cluster)


# --------------------------------------------------------------------------- leverage one


def _leverage_one_data():
    """A dummy that is 1 for a single row gives that row leverage exactly one."""
    Xc, y, cluster, _, _ = make_data(13)
    solo = np.zeros(len(y))
    solo[5] = 1.0
    X, names = with_intercept(np.column_stack([Xc, solo]))
    cluster = cluster.copy()
    cluster[5] = cluster.max() + 1  # the leverage-one row is its own cluster
    return X, y, names, cluster


@pytest.mark.parametrize("se_type", ["HC2", "HC3", "CR2"])
def test_leverage_one_gives_finite_results(se_type):
    X, y, names, cluster = _leverage_one_data()
    fit = fit_ols(X, y, names, func="test")
    assert fit.leverage()[5] == pytest.approx(1.0, abs=1e-10)
    res = vcov(fit, se_type, cluster if se_type == "CR2" else None)
    assert np.all(np.isfinite(res.vcov))
    assert np.all(np.isfinite(res.std_error))
    # the coefficients not tied to the leverage-one row have positive variance and df
    assert np.all(res.std_error[:-1] > 0)
    assert np.all(np.isfinite(res.df[:-1]))
    assert np.all(res.df[:-1] > 0)


def test_leverage_one_cr2_matches_brute_force():
    """The leverage-one cluster gets weight 0 (as estimatr), in both implementations."""
    X, y, names, cluster = _leverage_one_data()
    res = vcov(fit_ols(X, y, names, func="test"), "CR2", cluster)
    _, V, df = brute_cr2(X, y, cluster)
    np.testing.assert_allclose(res.vcov, V, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.df[:-1], df[:-1], rtol=1e-8)


# --------------------------------------------------------------------------- lookup table


def test_table_holds_the_documented_estimators():
    assert set(SE_TYPES) == {"classical", "HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR2"}
    assert {n for n, e in SE_TYPES.items() if e.clustered} == {"CR0", "CR1", "CR2"}


@pytest.mark.parametrize(
    ("given", "clustered", "expected"),
    [
        (None, False, "HC2"),
        (None, True, "CR2"),
        ("stata", False, "HC1"),
        ("stata", True, "CR1"),
        ("STATA", True, "CR1"),
        ("Stata", False, "HC1"),
        ("robust", False, "HC0"),
        ("Robust", False, "HC0"),
        ("hc2", False, "HC2"),
        ("Hc3", False, "HC3"),
        ("neyman", False, "HC2"),
        ("iid", False, "classical"),
        ("homoskedastic", False, "classical"),
        ("CLASSICAL", False, "classical"),
        ("cr2", True, "CR2"),
        ("bell_mccaffrey", True, "CR2"),
        ("BM", True, "CR2"),
        ("cr0", True, "CR0"),
        (" HC1 ", False, "HC1"),
        ("hc-2", False, "HC2"),
        ("HC 3", False, "HC3"),
        ("Bell-McCaffrey", True, "CR2"),
        ("bell mccaffrey", True, "CR2"),
        ("Cr_1", True, "CR1"),
        ("IID", False, "classical"),
        ("Neyman", False, "HC2"),
    ],
)
def test_resolve_aliases_and_case(given, clustered, expected):
    assert resolve_se_type(given, clustered=clustered, func="itt") == expected


@pytest.mark.parametrize(
    ("given", "clustered", "suggestion"),
    [("HC5", False, "HC3"), ("HCC2", False, "HC2"), ("stat", False, "stata"), ("CR1x", True, "CR1"),
     ("cr3", True, "CR2"), ("hc22", False, "HC2")],
)
def test_unknown_name_lists_valid_ones_and_suggests_closest(given, clustered, suggestion):
    valid = "'CR0', 'CR1', 'CR2'" if clustered else "'classical', 'HC0', 'HC1', 'HC2', 'HC3'"
    with pytest.raises(OptionError) as info:
        resolve_se_type(given, clustered=clustered, func="itt")
    msg = str(info.value)
    assert msg.startswith(f"The 'se_type' parameter of itt must be one of {valid} (or 'stata'). ")
    assert f"Got {given!r} instead." in msg
    assert msg.endswith(f"Did you mean {suggestion!r}?")


@pytest.mark.parametrize(("given", "clustered"), [("HC4", True), ("HC 5", True), ("CR3", False),
                                                  ("cr_9", False), ("bm2", False)])
def test_suggestion_is_valid_for_the_design(given, clustered):
    """A near miss is never answered with a name the design refuses (HC types with
    clusters, CR types without)."""
    with pytest.raises(OptionError) as info:
        resolve_se_type(given, clustered=clustered, func="itt")
    suggested = re.findall(r"Did you mean '([^']+)'\?", str(info.value))
    for name in suggested:
        assert resolve_se_type(name, clustered=clustered, func="itt") in SE_TYPES
        assert SE_TYPES[resolve_se_type(name, clustered=clustered, func="itt")].clustered == clustered


def test_design_types_are_accepted_listed_first_and_suggested():
    own = ("neyman (blocked)",)
    assert resolve_se_type("Neyman (Blocked)", clustered=False, func="f", design_types=own) == own[0]
    assert resolve_se_type("neyman", clustered=False, func="f", design_types=own) == "HC2"
    with pytest.raises(
        OptionError,
        match=re.escape(
            "The 'se_type' parameter of f must be one of 'neyman (blocked)', 'classical', 'HC0', "
            "'HC1', 'HC2', 'HC3' (or 'stata'). Got 'neyman blocks' instead. Did you mean "
            "'neyman (blocked)'?"
        ),
    ):
        resolve_se_type("neyman blocks", clustered=False, func="f", design_types=own)
    # a design type that is also a table name is listed once
    with pytest.raises(OptionError, match=re.escape("With cluster= use one of 'CR2', 'CR0', 'CR1'.")):
        resolve_se_type("HC2", clustered=True, func="f", design_types=("CR2",))


def test_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="must be one of"):
        resolve_se_type("sandwich", clustered=False, func="itt")
    assert issubclass(OptionError, DwpEvalError)


def test_non_string_se_type():
    with pytest.raises(OptionError, match=r"must be a string such as 'HC2'\. Got 2 instead\."):
        resolve_se_type(2, clustered=False, func="itt")


@pytest.mark.parametrize("given", ["CR2", "cr1", "bm", "bell_mccaffrey"])
def test_cluster_type_without_cluster_raises(given):
    with pytest.raises(
        OptionError,
        match=rf"is '{given}', a cluster-robust type, but no cluster= was given\. Fix: pass cluster=, "
        r"or use one of 'classical', 'HC0', 'HC1', 'HC2', 'HC3'\.$",
    ):
        resolve_se_type(given, clustered=False, func="itt")


@pytest.mark.parametrize("given", ["HC2", "robust", "classical", "neyman"])
def test_non_cluster_type_with_cluster_raises(given):
    with pytest.raises(
        OptionError,
        match=rf"is '{given}', which ignores the clusters\. With cluster= use one of 'CR0', 'CR1', 'CR2'\.",
    ):
        resolve_se_type(given, clustered=True, func="itt")


def test_vcov_needs_cluster_codes_and_two_clusters():
    Xc, y, _, _, _ = make_data(14)
    X, names = with_intercept(Xc)
    fit = fit_ols(X, y, names, func="test")
    with pytest.raises(DesignError, match="se_type 'CR2' needs cluster codes"):
        vcov(fit, "CR2")
    with pytest.raises(DesignError, match="needs at least two clusters"):
        vcov(fit, "CR1", np.zeros(len(y), dtype=int))


# ----------------------------------------------- invariants hold under python -O


def test_variance_core_has_no_assert_statements():
    """Invariants are explicit checks (or typing.cast), never ``assert``, so that
    ``python -O`` keeps the behaviour."""
    import ast
    import inspect

    import dwp_eval._core.variance as variance

    tree = ast.parse(inspect.getsource(variance))
    asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert asserts == []


@pytest.mark.parametrize("se_type", ["CR0", "CR1", "CR2"])
def test_cluster_types_without_codes_raise_a_clear_error(se_type):
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(30), rng.normal(size=30)])
    fit = fit_ols(X, rng.normal(size=30), ["(Intercept)", "x"], func="test")
    with pytest.raises(DesignError, match=rf"se_type '{se_type}' is cluster-robust and needs cluster codes"):
        SE_TYPES[se_type].compute(fit, None)


def test_cluster_types_without_codes_raise_under_python_O():
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from dwp_eval._core.linalg import fit_ols\n"
        "from dwp_eval._core.variance import SE_TYPES\n"
        "from dwp_eval.errors import DesignError\n"
        "X = np.column_stack([np.ones(20), np.arange(20.0)])\n"
        "fit = fit_ols(X, np.sin(np.arange(20.0)), ['(Intercept)', 'x'], func='t')\n"
        "try:\n"
        "    SE_TYPES['CR1'].compute(fit, None)\n"
        "except DesignError:\n"
        "    print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
