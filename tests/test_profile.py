"""``impact_profile`` and ``monthly_outcomes``: R references (estimatr, sandwich), agreement
with ``itt`` month by month, the sup-t band, plots, bad input and properties."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.outcomes import monthly_outcomes
from dwp_eval.results.profile import OKABE_ITO, PROFILE_COLUMNS, band_critical_value

matplotlib.use("Agg")

REF = Path(__file__).parent / "reference" / "profile"
#: Estimates, SEs, df and the joint covariance are the same closed forms as R's, summed in
#: another order: agreement to 1e-10 (relative to the largest value) is rounding only.
TOL = 1e-10
K = 9


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(REF / "data" / "people.csv"), pd.read_csv(REF / "data" / "employment.csv")


@pytest.fixture(scope="module")
def profile(data) -> de.ImpactProfile:
    people, emp = data
    return de.impact_profile(people, employment=emp, assigned="arm", months=K)


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "estimatr_profile.csv", skipinitialspace=True)


def close(a, b) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.max(np.abs(a - b)) <= TOL * max(1.0, float(np.max(np.abs(b))))


# ------------------------------------------------------------------ references


def test_matches_estimatr_lm_robust_hc2_month_by_month(profile, ref):
    f = profile.to_frame()
    assert list(f["measure"]) == list(ref["measure"]) and list(f["month"]) == list(ref["month"])
    close(f["estimate"], ref["lm_estimate"])
    close(f["std_error"], ref["lm_std_error"])
    # the df are the library's ITT default: Welch, as estimatr's difference_in_means
    close(f["estimate"], ref["dim_estimate"])
    close(f["std_error"], ref["dim_std_error"])
    close(f["df"], ref["dim_df"])
    assert set(f["se_type"]) == {"HC2"}


def test_blocked_matches_estimatr_difference_in_means_with_blocks(data, ref):
    people, emp = data
    f = de.impact_profile(people, employment=emp, assigned="arm", months=K,
                          strata="stratum").to_frame()
    close(f["estimate"], ref["blocked_estimate"])
    close(f["std_error"], ref["blocked_std_error"])
    close(f["df"], ref["blocked_df"])


@pytest.mark.parametrize("measure", ["employed", "earnings"])
def test_joint_covariance_matches_sandwich_vcovhc_hc2_of_the_stacked_regressions(profile, measure):
    V = pd.read_csv(REF / f"sandwich_vcov_{measure}.csv", skipinitialspace=True).to_numpy()
    close(profile.vcov(measure), V)


@pytest.mark.parametrize(("month", "strata"), [(1, None), (5, None), (9, "stratum")])
def test_each_month_is_the_itt_of_that_months_outcome(data, month, strata):
    people, emp = data
    prof = de.impact_profile(people, employment=emp, assigned="arm", months=K, strata=strata)
    trial = people.join(monthly_outcomes(people, employment=emp, months=K).drop(columns="id"))
    f = prof.to_frame().set_index("term")
    for m in ("employed", "earnings"):
        col = f"{m}_{month}"
        e = de.itt(trial.astype({col: float}), outcome=col, assigned="arm", strata=strata)
        row = f.loc[f"{m} month {month}"]
        assert row["estimate"] == pytest.approx(e.estimate, rel=1e-12, abs=1e-12)
        assert row["std_error"] == pytest.approx(e.std_error, rel=1e-12)
        assert row["df"] == pytest.approx(e.df, rel=1e-12)
        assert row["se_type"] == e.se_type


# ------------------------------------------------------------------ monthly outcomes


def test_monthly_outcomes_counts_calendar_months_after_randomisation():
    people = pd.DataFrame({"id": ["a", "b"], "randomised_on": ["2019-01-31", "2019-02-01"]})
    emp = pd.DataFrame({"id": ["a", "a", "b", "b"],
                        "month": ["2019-01", "2019-02", "2019-02", "2019-04"],
                        "earnings": [100.0, 200.0, 300.0, 0.0]})
    out = monthly_outcomes(people, employment=emp, months=3, data_end="2019-04-15")
    # a: the month of randomisation (January) is not month 1; b: April (month 2) is after the
    # records end (data_end mid-April covers March only), and a zero payment is not work
    assert out["employed_1"].tolist() == [1, 0]
    assert out["earnings_1"].tolist() == [200.0, 0.0]
    assert out["employed_2"].isna().tolist() == [False, True]
    assert out["employed_3"].isna().tolist() == [True, True]
    assert out.attrs["data_end"] == "2019-03-31"


def test_weeks_employed_decides_work_when_given():
    people = pd.DataFrame({"id": [1], "randomised_on": ["2019-01-10"]})
    emp = pd.DataFrame({"id": [1, 1], "month": ["2019-02", "2019-03"], "earnings": [50.0, 60.0],
                        "weeks_employed": [0.0, 2.0]})
    out = monthly_outcomes(people, employment=emp, months=2)
    assert out[["employed_1", "employed_2"]].iloc[0].tolist() == [0, 1]


# ------------------------------------------------------------------ the band


def test_band_contains_the_pointwise_intervals_and_uses_the_joint_correlation(profile):
    f = profile.to_frame()
    assert (f["band_low"] <= f["conf_low"] + 1e-12).all()
    assert (f["band_high"] >= f["conf_high"] - 1e-12).all()
    for m in profile.measures:
        c = profile.critical_values[m]
        g = f[f["measure"] == m]
        close(g["band_high"] - g["estimate"], c * g["std_error"])
        # between the pointwise and the Bonferroni critical values (correlated months)
        assert stats.norm.ppf(0.975) < c < stats.norm.ppf(1 - 0.025 / K)


def test_sup_t_critical_value_of_independent_months_is_the_sidak_value():
    # max of K independent |N(0,1)|: P(max <= c) = (2 Phi(c) - 1)^K; MC error of the 95%
    # quantile with 100,000 draws is about 0.01
    k = 6
    c = band_critical_value(np.eye(k), np.full(k, np.inf), alpha=0.05, draws=100_000, seed=1)
    exact = stats.norm.ppf((1 + 0.95 ** (1 / k)) / 2)
    assert c == pytest.approx(exact, abs=0.02)
    # perfectly correlated months: the band is (up to MC error) the pointwise interval
    c1 = band_critical_value(np.ones((k, k)), np.full(k, np.inf), alpha=0.05, draws=100_000,
                             seed=1)
    assert c1 == pytest.approx(stats.norm.ppf(0.975), abs=0.02)


def test_band_is_reproducible_and_resimulated_for_another_alpha(data, profile):
    people, emp = data
    again = de.impact_profile(people, employment=emp, assigned="arm", months=K)
    pd.testing.assert_frame_equal(profile.to_frame(), again.to_frame())
    same = profile.band()
    pd.testing.assert_frame_equal(same, profile.band(alpha=profile.alpha), atol=1e-12)
    wider = profile.band(alpha=0.01)
    assert (wider["band_high"] > same["band_high"]).all()
    ci = profile.conf_int(0.1)
    assert list(ci.columns) == ["term", "conf_low", "conf_high"]
    assert (ci["conf_high"] < profile.to_frame()["conf_high"]).all()


# ------------------------------------------------------------------ result, text, plot


def test_result_reads_and_writes(profile):
    f = profile.to_frame()
    assert list(f.columns) == PROFILE_COLUMNS
    assert len(f) == 2 * K
    text = profile.summary()
    assert "sup-t critical value" in text and " pp" in text
    assert "ImpactProfile" in repr(profile)
    assert profile.n_by_arm == {"control": 301, "treatment": 299}
    alt = profile.alt_text()
    assert "percentage points" in alt and "months 1 to 9" in alt
    assert "pounds" in profile.alt_text("earnings")


def test_plot_is_in_percentage_points_with_okabe_ito_colours(profile):
    import matplotlib.colors as mc
    import matplotlib.pyplot as plt

    ax = profile.plot()
    est = 100 * profile.to_frame().query("measure == 'employed'")["estimate"].to_numpy()
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), est)
    assert mc.to_hex(line.get_color()) == OKABE_ITO["blue"].lower()
    assert "(pp)" in ax.get_ylabel()
    ax2 = profile.plot(measure="earnings")
    assert "pounds" in ax2.get_ylabel()
    plt.close("all")
    with pytest.raises(OptionError, match="'measure' parameter of ImpactProfile"):
        profile.plot(measure="wages")


# ------------------------------------------------------------------ bad input


def _small() -> tuple[pd.DataFrame, pd.DataFrame]:
    people = pd.DataFrame({"id": range(8), "arm": ["control", "treatment"] * 4,
                           "randomised_on": ["2019-01-10"] * 6 + ["2019-03-02"] * 2,
                           "site": ["x"] * 7 + ["y"]})
    emp = pd.DataFrame({"id": [0, 1, 2, 3, 4, 5], "month": ["2019-02"] * 3 + ["2019-03"] * 3,
                        "earnings": [500.0, 600.0, 700.0, 800.0, 900.0, 1000.0]})
    return people, emp


def run(people, emp, **kw):
    opts = {"assigned": "arm", "months": 2, "data_end": "2019-05", "draws": 200} | kw
    return de.impact_profile(people, employment=emp, **opts)


def test_months_beyond_the_records_raise_and_drop_warns():
    people, emp = _small()
    with pytest.raises(DesignError, match=r"month 3 after randomisation is beyond the records "
                       r"\(which end 2019-05-31\) for 2 of 8 people.*months=2"):
        run(people, emp, months=3)
    with pytest.warns(de.DroppedRowsWarning, match="2 people randomised too late"):
        prof = run(people, emp, months=3, missing="drop")
    assert prof.to_frame()["n_obs"].iloc[0] == 6
    with pytest.raises(DesignError, match="records end 2018-12-31, before anyone's first month"):
        run(people, emp, data_end="2018-12")


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda p, e: (p.assign(id=[0, 1, None, 3, 4, 5, 6, 7]), e), MissingDataError,
         r"column 'id' \(id\) of people has 1 missing"),
        (lambda p, e: (p, e.assign(id=[0, 1, 2, 3, 4, 99])), MissingDataError,
         r"1 employment record\(s\) name ids that are not in people's column 'id' \(e.g. 99\)"),
        (lambda p, e: (p.assign(id=[0, 0, 2, 3, 4, 5, 6, 7]), e), ColumnError,
         "must identify each row once"),
        (lambda p, e: (p, pd.concat([e, e.iloc[:1]])), ColumnError,
         "more than one record for a person and month, e.g. id 0"),
        (lambda p, e: (p, e.assign(earnings=-e["earnings"])), ColumnError,
         "negative or infinite"),
        (lambda p, e: (p, e.assign(earnings=e["earnings"].astype(str))), ColumnError,
         "must be numeric"),
        (lambda p, e: (p, e.drop(columns="earnings")), ColumnError,
         r"column 'earnings' .* is not in employment"),
        (lambda p, e: (p.drop(columns="randomised_on"), e), ColumnError,
         r"column 'randomised_on' .* is not in people"),
        (lambda p, e: (p.assign(randomised_on=[None] + ["2019-01-10"] * 7), e), MissingDataError,
         r"column 'randomised_on' \(randomised\) of people has 1 missing"),
        (lambda p, e: (p.assign(arm=[None] + ["treatment", "control"] * 3 + ["treatment"]), e),
         MissingDataError, r"column 'arm' \(assigned\) has 1 missing"),
        (lambda p, e: (p.assign(arm=["control"] * 8), e), DesignError, "holds only one arm"),
    ],
)
def test_bad_input_raises_naming_the_problem(change, error, match):
    people, emp = change(*_small())
    with pytest.raises(error, match=match):
        run(people, emp)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"measures": "wages"}, "'measures' parameter of impact_profile"),
        ({"measures": []}, "must name at least one"),
        ({"measures": ["employed", "employed"]}, "names a measure twice"),
        ({"months": 0}, "'months' parameter of impact_profile must be a positive int"),
        ({"alpha": 2}, "'alpha' parameter"),
        ({"draws": 10}, "'draws' parameter"),
        ({"seed": -1}, "'seed' parameter of impact_profile"),
        ({"missing": "keep"}, "'missing' parameter"),
        ({"strata": "site"}, r"control arm in stratum 'y' holds 0 person\(s\).*merge small"),
        ({"employment_columns": {"pay": "earnings"}}, "unknown role"),
    ],
)
def test_bad_options_raise(kw, match):
    people, emp = _small()
    with pytest.raises(de.DwpEvalError, match=match):
        run(people, emp, **kw)


# ------------------------------------------------------------------ properties


def _draw_trial(seed: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({"id": np.arange(n), "arm": rng.permutation(
        np.repeat(["control", "treatment"], n // 2)), "randomised_on": "2020-01-05"})
    work = rng.random((n, 4)) < 0.4
    i, k = np.nonzero(work)
    emp = pd.DataFrame({"id": i, "month": [f"2020-0{j + 2}" for j in k],
                        "earnings": np.round(rng.gamma(2.0, 400.0, size=len(i)), 2)})
    return people, emp


def _profile(people, emp, **kw):
    return de.impact_profile(people, employment=emp, assigned="arm", months=4, draws=500, **kw)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(10, 60).map(lambda v: 2 * v))
def test_row_order_does_not_matter(seed, n):
    people, emp = _draw_trial(seed, n)
    rng = np.random.default_rng(seed + 1)
    a = _profile(people, emp).to_frame()
    b = _profile(people.iloc[rng.permutation(len(people))],
                 emp.iloc[rng.permutation(len(emp))]).to_frame()
    pd.testing.assert_frame_equal(a, b, rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0))
def test_scaling_earnings_scales_the_effect_and_swapping_arms_negates_it(seed, scale):
    people, emp = _draw_trial(seed, 60)
    a = _profile(people, emp, measures="earnings").to_frame()
    b = _profile(people, emp.assign(earnings=emp["earnings"] * scale),
                 measures="earnings").to_frame()
    np.testing.assert_allclose(b["estimate"], scale * a["estimate"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b["std_error"], scale * a["std_error"], rtol=1e-9)
    np.testing.assert_allclose(b["p_value"], a["p_value"], rtol=1e-7, atol=1e-12)
    c = _profile(people, emp, measures="earnings", control="treatment").to_frame()
    np.testing.assert_allclose(c["estimate"], -a["estimate"], atol=1e-9)
    np.testing.assert_allclose(c["std_error"], a["std_error"], rtol=1e-10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), alpha=st.floats(0.01, 0.3))
def test_interval_band_and_p_value_agree(seed, alpha):
    people, emp = _draw_trial(seed, 40)
    f = _profile(people, emp, alpha=alpha).to_frame()
    ok = f["std_error"] > 0
    g = f[ok]
    # zero is outside the pointwise interval exactly when p < alpha
    outside = (g["conf_low"] > 0) | (g["conf_high"] < 0)
    assert ((g["p_value"] < alpha) == outside).all()
    assert (g["band_low"] <= g["conf_low"] + 1e-12).all()
    assert (g["band_high"] >= g["conf_high"] - 1e-12).all()


# ------------------------------------------------------------------ covariates (Lin 2013)


@pytest.fixture(scope="module")
def lin_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "estimatr_profile_lin.csv", skipinitialspace=True)


@pytest.mark.parametrize(("strata", "prefix"), [(None, "lin"), ("stratum", "fe")])
def test_lin_adjusted_profile_matches_estimatr(data, lin_ref, strata, prefix):
    # lm_lin(y ~ z, covariates = ~ age + benefit) and, with strata, lm_robust on the same
    # centred and interacted design with fixed_effects = ~ stratum; HC2, n - k df
    people, emp = data
    prof = de.impact_profile(people, employment=emp, assigned="arm", months=K, strata=strata,
                             covariates=["age", "benefit"])
    f = prof.to_frame()
    close(f["estimate"], lin_ref[f"{prefix}_estimate"])
    close(f["std_error"], lin_ref[f"{prefix}_std_error"])
    close(f["df"], lin_ref[f"{prefix}_df"])
    assert set(f["se_type"]) == {"HC2"} and prof.adjusted == ("age", "benefit")
    assert "Lin-adjusted for age, benefit" in prof.summary()
    if strata is None:
        for m in ("employed", "earnings"):
            V = pd.read_csv(REF / f"sandwich_vcov_lin_{m}.csv", skipinitialspace=True).to_numpy()
            close(prof.vcov(m), V)


@pytest.mark.parametrize("strata", [None, "stratum"])
def test_lin_adjusted_month_is_the_itt_with_covariates(data, strata):
    people, emp = data
    prof = de.impact_profile(people, employment=emp, assigned="arm", months=K, strata=strata,
                             covariates=["age", "benefit"])
    trial = people.join(monthly_outcomes(people, employment=emp, months=K).drop(columns="id"))
    f = prof.to_frame().set_index("term")
    for col in ("employed_3", "earnings_7"):
        e = de.itt(trial.astype({col: float}), outcome=col, assigned="arm", strata=strata,
                   covariates=["age", "benefit"])
        m, k = col.split("_")
        row = f.loc[f"{m} month {k}"]
        assert row["estimate"] == pytest.approx(e.estimate, rel=1e-10, abs=1e-12)
        assert row["std_error"] == pytest.approx(e.std_error, rel=1e-10)
        assert row["df"] == e.df


def test_covariate_errors_are_named():
    people, emp = _small()
    with pytest.raises(ColumnError, match=r"column 'agee' \(covariates\) is not in people"):
        run(people, emp, covariates=["agee"])
    with pytest.raises(MissingDataError, match=r"column 'age' \(covariates\) has 1 missing"):
        run(people.assign(age=[30.0, None, 40, 50, 60, 20, 25, 35]), emp, covariates=["age"])
