"""The ``Effect`` result: display (text, HTML, repr) and immutability."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dwp_eval as de
from dwp_eval.errors import OptionError
from dwp_eval.results import EFFECT_COLUMNS, Effect


def make_effect(**changes) -> Effect:
    fields = dict(
        estimand="ITT",
        outcome="earnings",
        treatment="treatment",
        control="control",
        estimate=1234.5,
        std_error=456.7,
        df=98.25,
        alpha=0.05,
        n_obs=100,
        n_by_arm={"control": 50, "treatment": 50},
        control_mean=15000.0,
        treatment_mean=16234.5,
        se_type="HC2",
        design="standard",
        method="difference in means (Neyman variance, Welch df)",
    )
    fields.update(changes)
    return Effect(**fields)


@pytest.fixture
def fitted() -> Effect:
    rng = np.random.default_rng(3)
    d = pd.DataFrame(
        {
            "arm": np.repeat(["control", "treatment"], 30),
            "cl": np.repeat(np.arange(12), 5),
            "s": np.tile(np.repeat([0, 1], 5), 6),
            "y": rng.normal(size=60),
        }
    )
    d["arm"] = np.where(d["cl"] % 2 == 0, "control", "treatment")
    return de.itt(d, outcome="y", assigned="arm", cluster="cl")


def test_summary_contains_estimate_ci_df_and_design():
    e = make_effect()
    text = e.summary()
    lo, hi = e.interval()
    assert text.splitlines()[0] == "ITT of treatment vs control on earnings"
    assert "estimate        1,234.5  (SE 456.7)" in text
    assert f"95% CI          [{lo:,.1f}, {hi:,.1f}]" in text
    assert f"t = {e.statistic:.3f}, df = 98.25, p = {e.p_value:.4g}" in text
    assert "design          standard; difference in means (Neyman variance, Welch df); SE HC2" in text
    assert "n               100 (control 50, treatment 50)" in text
    assert "means           control " in text
    assert str(e) == text


def test_summary_optional_lines():
    e = make_effect(
        design="block-clustered", se_type="CR2", n_clusters=24, n_strata=4, covariates=("age", "sex"),
        dropped={"earnings": 7}, notes=("a note",), alpha=0.1,
    )
    text = e.summary()
    assert "clusters        24" in text
    assert "strata          4" in text
    assert "covariates      age, sex" in text
    assert "dropped         7 row(s) with missing earnings" in text
    assert "note            a note" in text
    assert "90% CI" in text
    assert "block-clustered" in text


def test_summary_without_optional_lines():
    text = make_effect().summary()
    for word in ["clusters", "strata ", "covariates", "dropped", "note "]:
        assert word not in text


def test_summary_of_fitted_effect(fitted):
    text = fitted.summary()
    assert "design          clustered" in text
    assert "SE CR2" in text
    assert "clusters        12" in text
    assert f"df = {fitted.df:.4g}" in text


def test_repr():
    assert repr(make_effect()) == "<Effect ITT earnings: 1,234.5 (SE 456.7, HC2, standard)>"
    assert repr(make_effect(binary_outcome=True, estimate=0.05, std_error=0.02)) == (
        "<Effect ITT earnings: 5.00 pp (SE 2.00 pp, HC2, standard)>"
    )


def test_repr_html_returns_html(fitted):
    out = fitted._repr_html_()
    assert isinstance(out, str)
    assert out.startswith("<p><strong>ITT of treatment vs control on y</strong></p>")
    assert "<table" in out and "</table>" in out
    for col in EFFECT_COLUMNS:
        assert f"<th>{col}</th>" in out


def test_repr_html_escapes_labels():
    out = make_effect(outcome="a<b & c")._repr_html_()
    assert "a&lt;b &amp; c" in out
    assert "<b &" not in out


def test_frozen(fitted):
    for name, value in [("estimate", 0.0), ("std_error", 1.0), ("df", 3.0), ("se_type", "HC0")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fitted, name, value)
    with pytest.raises(dataclasses.FrozenInstanceError):
        del fitted.estimate
    with pytest.raises(dataclasses.FrozenInstanceError):
        fitted.new_attribute = 1


def test_derived_fields_are_read_only(fitted):
    for name in ["statistic", "p_value", "conf_low", "conf_high", "n_control", "n_treatment"]:
        with pytest.raises(AttributeError):
            setattr(fitted, name, 0.0)


def test_derived_fields():
    e = make_effect()
    assert e.statistic == pytest.approx(1234.5 / 456.7)
    assert e.p_value == pytest.approx(2 * stats.t.sf(1234.5 / 456.7, 98.25))
    q = stats.t.ppf(0.975, 98.25)
    assert (e.conf_low, e.conf_high) == pytest.approx((1234.5 - q * 456.7, 1234.5 + q * 456.7))
    assert (e.n_control, e.n_treatment) == (50, 50)


def test_infinite_df_uses_the_normal():
    e = make_effect(df=float("inf"))
    q = stats.norm.ppf(0.975)
    assert e.conf_high == pytest.approx(1234.5 + q * 456.7)
    assert e.p_value == pytest.approx(2 * stats.norm.sf(1234.5 / 456.7))


def test_zero_standard_error_gives_nan_statistic_not_an_error():
    e = make_effect(std_error=0.0)
    assert np.isnan(e.statistic)
    assert np.isnan(e.p_value)


def test_to_frame():
    frame = make_effect().to_frame()
    assert list(frame.columns) == EFFECT_COLUMNS
    assert frame["term"].item() == "treatment vs control"
    assert frame["n_control"].item() == 50
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in frame.columns)


def test_with_se_needs_an_estimator():
    from dwp_eval.errors import OptionError

    with pytest.raises(OptionError, match=r"with_se: this ITT .* cannot be re-estimated with another "
                                          r"se_type.* Fix: re-run the estimator"):
        make_effect().with_se("HC1")


def test_with_se_keeps_original(fitted):
    before = fitted.summary()
    other = fitted.with_se("CR0")  # keeps the result's own clusters
    assert other.se_type == "CR0"
    assert fitted.se_type == "CR2"
    assert fitted.summary() == before


# --------------------------------------------------------------------------- number format


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.56, "1,234.6"),
        (-1234.5, "-1,234.5"),
        (12345.678, "12,345.7"),
        (1234567.89, "1,234,567.9"),
        (999.96, "1,000.0"),  # rounds up into the thousands
        (456.78, "456.8"),
        (12.3456, "12.35"),
        (1.0, "1.000"),
        (0.0123456, "0.01235"),
        (0.00012345, "0.0001234"),
        (1.2345e-6, "1.234e-06"),
        (0.0, "0"),
        (float("nan"), "nan"),
    ],
)
def test_numbers_print_plain_with_thousands_and_four_significant_digits(value, text):
    """Earnings effects print as 1,234.6, not 1.235e+03; small ones keep 4 digits."""
    e = make_effect(estimate=value)
    assert e.summary().splitlines()[1].startswith(f"  estimate        {text}  (SE ")
    assert repr(e).startswith(f"<Effect ITT earnings: {text} (SE ")


def test_large_earnings_effect_has_no_scientific_notation():
    e = make_effect(estimate=12345.67, std_error=2345.6, control_mean=154321.0,
                    treatment_mean=166666.7, df=12345.0, n_obs=12347)
    text = e.summary()
    assert "e+" not in text
    assert "estimate        12,345.7  (SE 2,345.6)" in text
    assert "means           control 154,321.0, treatment 166,666.7" in text
    assert ", df = 12,345, p = " in text


def test_df_prints_whole_numbers_without_decimals_and_others_with_four_digits():
    assert ", df = 5,100, " in make_effect(df=5100.0).summary()
    assert ", df = 192.3, " in make_effect(df=192.2566).summary()
    assert ", df = inf, " in make_effect(df=float("inf")).summary()


# --------------------------------------------------------------------------- read-only mappings


def test_dict_fields_cannot_be_changed_through_the_result(fitted):
    for name in ("n_by_arm", "dropped"):
        mapping = getattr(fitted, name)
        with pytest.raises(TypeError):
            mapping["x"] = 1
        with pytest.raises(TypeError):
            del mapping["control"]
        assert not hasattr(mapping, "update")
    assert dict(fitted.n_by_arm) == {"control": 30, "treatment": 30}


def test_dict_given_to_the_constructor_is_copied():
    counts = {"control": 50, "treatment": 50}
    dropped = {"earnings": 3}
    e = make_effect(n_by_arm=counts, dropped=dropped)
    counts["control"] = 1
    dropped["age"] = 9
    assert e.n_control == 50
    assert dict(e.dropped) == {"earnings": 3}
    assert "age" not in e.summary()


def test_read_only_mappings_compare_print_and_pickle(fitted):
    assert fitted.n_by_arm == {"control": 30, "treatment": 30}
    assert fitted.dropped == {}
    for other in (pickle.loads(pickle.dumps(fitted)), copy.copy(fitted), copy.deepcopy(fitted),
                  dataclasses.replace(fitted, estimate=0.5)):
        assert other.n_by_arm == fitted.n_by_arm
        with pytest.raises(TypeError):
            other.n_by_arm["control"] = 0
    back = pickle.loads(pickle.dumps(fitted))
    assert (back.estimate, back.std_error, back.df, back.se_type) == (
        fitted.estimate, fitted.std_error, fitted.df, fitted.se_type)
    assert repr(back) == repr(fitted)
    assert back.summary() == fitted.summary()
    assert back.with_se("CR1").std_error == pytest.approx(fitted.with_se("CR1").std_error)


# --------------------------------------------------------------------------- conf_int alpha


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.2, "0.1", True, [0.05], float("inf")])
def test_conf_int_alpha_is_validated(alpha):
    with pytest.raises(
        OptionError, match=r"^The 'alpha' parameter of Effect\.conf_int must be a float in \(0, 1\)\. "
    ):
        make_effect().conf_int(alpha)


def test_conf_int_accepts_numpy_floats_and_ints_in_range():
    e = make_effect()
    assert e.interval(np.float64(0.1)) == e.interval(0.1)
    assert e.interval() == e.interval(None) == e.interval(0.05)
    pd.testing.assert_frame_equal(e.conf_int(np.float64(0.1)), e.conf_int(0.1))
    pd.testing.assert_frame_equal(e.conf_int(), e.conf_int(None))


def test_binary_summary_shows_means_as_percent_and_effects_in_pp():
    e = make_effect(binary_outcome=True, estimate=0.04, std_error=0.01, control_mean=0.2088,
                    treatment_mean=0.2488)
    text = e.summary()
    assert "means           control 20.88%, treatment 24.88%" in text
    assert "estimate        4.00 pp  (SE 1.00 pp)" in text
