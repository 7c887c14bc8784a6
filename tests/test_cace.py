"""Behaviour and input checks of ``cace``, ``complier_profile`` and
``contamination_sensitivity``; the Anderson-Rubin set's shapes."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    DwpEvalWarning,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.cace import anderson_rubin, cace
from dwp_eval.estimate.compliance import complier_profile, contamination_sensitivity
from dwp_eval.estimate.itt import itt
from dwp_eval.results import ARInterval, Effect, FirstStage, SensitivityTable
from dwp_eval.results.palette import alt_text_of


def trial(n: int = 400, seed: int = 1, *, p_c: float = 0.15, p_t: float = 0.7, effect: float = 2.0,
          clusters: int | None = None) -> pd.DataFrame:
    """Two-sided non-compliance: controls receive with probability p_c (contamination)."""
    rng = np.random.default_rng(seed)
    if clusters:
        cl = rng.integers(0, clusters, n)
        cl[: 2 * clusters] = np.arange(2 * clusters) % clusters  # every cluster used
        z = (np.arange(clusters) % 2)[cl]
    else:
        cl = np.zeros(n, dtype=int)
        z = rng.permutation(np.arange(n) % 2)
    x = rng.normal(size=n)
    d = np.where(z == 1, rng.random(n) < p_t, rng.random(n) < p_c).astype(int)
    y = 1 + 0.5 * x + effect * d + rng.normal(size=n)
    return pd.DataFrame({
        "arm": np.where(z == 1, "treatment", "control"), "received": d, "y": y, "x": x,
        "site": np.array(["a", "b", "c", "d"])[np.arange(n) % 4],
        "office": [f"o{c}" for c in cl],
    })


def test_returns_cace_effect_with_parts():
    df = trial()
    res = cace(df, outcome="y", assigned="arm", received="received")
    assert isinstance(res, Effect) and res.estimand == "CACE"
    assert isinstance(res.first_stage, FirstStage) and isinstance(res.ar_interval, ARInterval)
    assert res.itt is not None and res.itt.estimand == "ITT"
    assert res.se_type == "HC2" and res.design == "standard" and res.df == len(df) - 2
    assert res.estimate == pytest.approx(res.itt.estimate / res.first_stage.difference, rel=1e-12)
    fs = res.first_stage
    assert fs.take_up_treatment == df.loc[df.arm == "treatment", "received"].mean()
    assert fs.take_up_control == df.loc[df.arm == "control", "received"].mean()
    assert fs.effective_f == fs.f_statistic == pytest.approx((fs.difference / fs.std_error) ** 2)
    assert res.ar_interval.bounded and res.ar_interval.contains(res.estimate)
    assert res.to_frame()["estimand"].item() == "CACE"


def test_itt_part_is_the_additive_itt():
    df = trial()
    res = cace(df, outcome="y", assigned="arm", received="received", covariates=["x", "site"],
               strata=None)
    ref = itt(df, outcome="y", assigned="arm", covariates=["x", "site"], adjustment="additive",
              se_type="HC2")
    assert res.itt.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert res.itt.std_error == pytest.approx(ref.std_error, rel=1e-12)
    assert res.itt.with_se("HC1").std_error == pytest.approx(
        ref.with_se("HC1").std_error, rel=1e-12)


def test_first_stage_is_itt_on_received():
    df = trial()
    res = cace(df, outcome="y", assigned="arm", received="received", strata="site", se_type="HC1")
    ref = itt(df, outcome="received", assigned="arm", strata="site", se_type="HC1", estimator="ols")
    assert res.first_stage.difference == pytest.approx(ref.estimate, rel=1e-12)
    assert res.first_stage.std_error == pytest.approx(ref.std_error, rel=1e-12)
    assert res.design == "blocked" and res.n_strata == 4


def test_clustered_defaults_to_cr2():
    df = trial(clusters=20)
    res = cace(df, outcome="y", assigned="arm", received="received", cluster="office")
    assert res.se_type == "CR2" and res.design == "clustered" and res.n_clusters == 20
    assert res.df < 19  # Bell-McCaffrey, not G - 1
    assert res.with_se("CR1").df == 19
    assert res.with_se("stata").se_type == "CR1"


def test_with_se_gives_a_new_result():
    df = trial()
    res = cace(df, outcome="y", assigned="arm", received="received")
    hc1 = res.with_se("HC1")
    assert hc1.estimate == res.estimate and hc1.se_type == "HC1" and res.se_type == "HC2"
    assert hc1.first_stage.se_type == "HC1"


def test_summary_shows_first_stage_itt_and_ar():
    df = trial()
    text = cace(df, outcome="y", assigned="arm", received="received").summary()
    assert text.startswith("CACE of treatment vs control on y")
    assert "first stage     take-up treatment" in text and "robust F =" in text
    assert "effective F" in text and "\n  ITT " in text and "AR 95% CI" in text
    assert "first stage" not in itt(df, outcome="y", assigned="arm").summary()


def test_summary_says_when_ar_set_is_unbounded():
    df = trial(n=120, seed=3, p_c=0.2, p_t=0.24)
    res = cace(df, outcome="y", assigned="arm", received="received")
    assert not res.ar_interval.bounded
    text = res.summary()
    assert "weak first stage" in text
    assert ("two rays" in text) or ("whole line" in text)


def test_binary_outcome_in_percentage_points():
    df = trial()
    df["job"] = (df["y"] > 2).astype(int)
    res = cace(df, outcome="job", assigned="arm", received="received")
    assert res.binary_outcome and " pp" in res.summary().splitlines()[1]


def test_bool_received_and_row_labels():
    df = trial()
    a = cace(df, outcome="y", assigned="arm", received="received")
    df2 = df.assign(received=df["received"].astype(bool))
    df2.index = df2.index * 10 + 3
    b = cace(df2, outcome="y", assigned="arm", received="received")
    assert a.estimate == b.estimate and a.std_error == b.std_error


def test_one_sided_perfect_take_up_equals_itt():
    df = trial(p_c=0.0, p_t=1.0)
    res = cace(df, outcome="y", assigned="arm", received="received")
    assert res.first_stage.difference == pytest.approx(1.0, rel=1e-12)
    assert res.estimate == pytest.approx(res.itt.estimate, rel=1e-12)


def test_pickle_round_trip():
    res = cace(trial(), outcome="y", assigned="arm", received="received")
    back = pickle.loads(pickle.dumps(res))
    assert back.estimate == res.estimate and back.ar_interval.pieces == res.ar_interval.pieces
    assert back.first_stage.f_statistic == res.first_stage.f_statistic


def test_missing_drop_warns_and_records():
    df = trial()
    df.loc[:4, "received"] = np.nan
    with pytest.raises(MissingDataError, match=r"column 'received' \(received\) has 5 missing"):
        cace(df, outcome="y", assigned="arm", received="received")
    with pytest.warns(DroppedRowsWarning, match="5 with missing received"):
        res = cace(df, outcome="y", assigned="arm", received="received", missing="drop")
    assert res.n_obs == len(df) - 5 and res.dropped == {"received": 5}


# ---------------------------------------------------------------------------- errors


def test_received_not_binary():
    df = trial()
    df.loc[:2, "received"] = 2
    with pytest.raises(ColumnError, match=r"column 'received' \(received\) must hold 0/1 .* 3 row\(s\) hold other values \(2\)"):
        cace(df, outcome="y", assigned="arm", received="received")


def test_received_text():
    df = trial().assign(received=lambda d: np.where(d["received"] == 1, "yes", "no"))
    with pytest.raises(ColumnError, match=r"must hold 0/1 .* values such as 'no', 'yes'.*== 'yes'"):
        cace(df, outcome="y", assigned="arm", received="received")


def test_received_column_missing_lists_columns():
    with pytest.raises(ColumnError, match="took_up"):
        cace(trial(), outcome="y", assigned="arm", received="took_up")


def test_received_constant():
    df = trial().assign(received=1)
    with pytest.raises(DesignError, match=r"not identified: column 'received' \(received\) is 1 for everyone .* take-up is 100.0% in both arms"):
        cace(df, outcome="y", assigned="arm", received="received")


def test_no_first_stage():
    df = trial()
    for arm in ("control", "treatment"):  # 50% in both arms
        rows = df.index[df["arm"] == arm]
        df.loc[rows, "received"] = np.arange(len(rows)) % 2
    with pytest.raises(DesignError, match=r"the CACE is not identified: take-up is 50.0% in both arms"):
        cace(df, outcome="y", assigned="arm", received="received")


def test_defier_pattern_warns():
    df = trial(p_c=0.7, p_t=0.2)
    with pytest.warns(DwpEvalWarning, match=r"receipt is higher in the control arm 'control' \(.*%\) than in the treatment arm .* defier"):
        cace(df, outcome="y", assigned="arm", received="received")


def test_no_warning_for_ordinary_two_sided():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cace(trial(), outcome="y", assigned="arm", received="received")


def test_bad_se_type_and_alpha():
    df = trial()
    with pytest.raises(OptionError, match="Did you mean 'HC2'"):
        cace(df, outcome="y", assigned="arm", received="received", se_type="HC22")
    with pytest.raises(OptionError, match="cluster-robust type, but no cluster"):
        cace(df, outcome="y", assigned="arm", received="received", se_type="CR2")
    with pytest.raises(OptionError, match="'alpha' parameter of cace"):
        cace(df, outcome="y", assigned="arm", received="received", alpha=2)


def test_not_a_dataframe():
    with pytest.raises(OptionError, match="must be a pandas DataFrame"):
        cace([1, 2], outcome="y", assigned="arm", received="received")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- AR set shapes


def test_anderson_rubin_shapes():
    # strong first stage: bounded, contains the ratio
    ar = anderson_rubin(2.0, 0.5, 0.04, 0.001, 0.001, 1000, 0.05)
    assert ar.kind == "bounded" and ar.contains(4.0)
    # first stage not significant, reduced form significant: two rays
    ar = anderson_rubin(2.0, 0.05, 0.04, 0.0, 0.01, 1000, 0.05)
    assert ar.kind == "two rays" and ar.low == -np.inf and ar.high == np.inf
    assert ar.contains(40.0) and not ar.contains(0.0)
    assert "two rays" in ar.text() and " U " in ar.text()
    # neither significant: the whole line
    ar = anderson_rubin(0.01, 0.01, 0.04, 0.0, 0.01, 1000, 0.05)
    assert ar.kind == "whole line" and ar.contains(-1e9) and "whole line" in str(ar)


def test_anderson_rubin_boundary_is_a_ray():
    q2 = float(__import__("scipy").stats.norm.ppf(0.975)) ** 2
    ar = anderson_rubin(2.0, 1.0, 0.1, 0.0, 1.0 / q2, float("inf"), 0.05)
    assert ar.kind == "ray" and ar.high == np.inf and np.isfinite(ar.low)


# ---------------------------------------------------------------------------- complier profile


def test_complier_profile_types():
    rng = np.random.default_rng(5)
    n = 20_000
    kind = rng.choice(["complier", "always", "never"], size=n, p=[0.5, 0.2, 0.3])
    age = np.where(kind == "complier", 30.0, np.where(kind == "always", 50.0, 40.0)) + rng.normal(0, 5, n)
    region = np.where(kind == "always", "north", rng.choice(["north", "south"], size=n))
    z = rng.permutation(np.arange(n) % 2)
    d = np.where(kind == "always", 1, np.where(kind == "never", 0, z))
    df = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "d": d, "age": age,
                       "region": region})
    prof = complier_profile(df, assigned="arm", received="d", covariates=["age", "region"])
    assert list(prof.columns) == ["covariate", "compliers", "always_takers", "never_takers", "all"]
    assert list(prof["covariate"]) == ["age", "region[north]", "region[south]"]
    row = prof.set_index("covariate").loc["age"]
    assert abs(row["compliers"] - 30) < 0.3 and abs(row["always_takers"] - 50) < 0.3
    assert abs(row["never_takers"] - 40) < 0.3
    assert row["always_takers"] == df.loc[(z == 0) & (d == 1), "age"].mean()
    shares = prof.attrs["shares"]
    assert shares["compliers"] == pytest.approx(0.5, abs=0.02)
    assert sum(shares.values()) == pytest.approx(1.0)


def test_complier_profile_errors():
    df = trial()
    with pytest.raises(OptionError, match="'covariates' parameter of complier_profile"):
        complier_profile(df, assigned="arm", received="received", covariates=[])
    df.loc[0, "x"] = np.nan
    with pytest.raises(MissingDataError, match=r"column 'x' \(covariates\) has 1 missing"):
        complier_profile(df, assigned="arm", received="received", covariates=["x"])


# ---------------------------------------------------------------------------- sensitivity


def test_contamination_sensitivity_formula():
    df = trial(p_c=0.2, p_t=0.7)
    df["contaminated"] = ((df["arm"] == "control") & (df["received"] == 1)).astype(int)
    tab = contamination_sensitivity(df, outcome="y", assigned="arm", received="received",
                                    contaminated="contaminated")
    assert isinstance(tab, SensitivityTable)
    f = tab.to_frame()
    assert list(f["theta"]) == pytest.approx(list(np.linspace(0, 1, 11)))
    p_t, p_c = tab.take_up_treatment, tab.contaminated_control
    np.testing.assert_allclose(f["estimate"], tab.itt / (p_t - f["theta"] * p_c), rtol=1e-12)
    full = cace(df, outcome="y", assigned="arm", received="received")
    assert f["estimate"].iloc[-1] == pytest.approx(full.estimate, rel=1e-12)
    assert f["std_error"].iloc[-1] == pytest.approx(full.std_error, rel=1e-12)
    assert "theta" in tab.summary() and "Contamination sensitivity" in tab.summary()
    ax = tab.plot()
    assert ax.get_xlabel().startswith("theta")
    assert alt_text_of(ax.figure) == tab.alt_text()
    assert "11 values of theta" in tab.alt_text() and "at theta = 0, " in tab.alt_text()


def test_contamination_sensitivity_bad_theta():
    df = trial().assign(contaminated=0)
    with pytest.raises(OptionError, match=r"'theta' parameter of contamination_sensitivity must be numbers in \[0, 1\]"):
        contamination_sensitivity(df, outcome="y", assigned="arm", received="received",
                                  contaminated="contaminated", theta=[0.5, 2])


# ---------------------------------------------------------------------------- variance core


def test_with_residuals_gives_the_iv_sandwich():
    """``with_residuals`` keeps the fit's design and bread and swaps the residuals:
    HC0 of the 2SLS fit is ``M Xh' diag(e^2) Xh M`` with ``e = y - X b`` (actual receipt)."""
    from dwp_eval._core.linalg import fit_ols, with_residuals
    from dwp_eval._core.variance import vcov

    df = trial()
    z = (df["arm"] == "treatment").to_numpy(float)
    d = df["received"].to_numpy(float)
    y = df["y"].to_numpy(float)
    W = np.column_stack([np.ones(len(df)), z])
    d_hat = W @ np.linalg.lstsq(W, d, rcond=None)[0]
    Xh = np.column_stack([np.ones(len(df)), d_hat])
    fit = fit_ols(Xh, y, ["(Intercept)", "d"], func="test")
    e = y - np.column_stack([np.ones(len(df)), d]) @ fit.beta
    iv = with_residuals(fit, e)
    assert iv.X is fit.X and np.array_equal(iv.resid, e) and not np.array_equal(fit.resid, e)
    M = np.linalg.inv(Xh.T @ Xh)
    expected = M @ (Xh.T * e**2) @ Xh @ M
    np.testing.assert_allclose(vcov(iv, "HC0").vcov, expected, rtol=1e-10)
    res = cace(df, outcome="y", assigned="arm", received="received", se_type="HC0")
    assert res.std_error == pytest.approx(np.sqrt(expected[1, 1]), rel=1e-10)
    with pytest.raises(ValueError, match="with_residuals: resid must have shape"):
        with_residuals(fit, e[:-1])
