"""Tiny pinned cases the fuzzer (``tests/fuzzing.py``) found: each failed with a
foreign exception, a silent NaN or a silent wrong answer before its fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, NotEstimableError, OptionError


def _trial(n: int = 12, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.tile(["control", "treatment"], n // 2)
    return pd.DataFrame(
        {
            "arm": arm,
            "y": rng.normal(size=n),
            "r": np.resize([1, 1, 0], n),
            "s": np.resize(["a", "a", "b", "b"], n),
            "s2": np.repeat(["u", "v"], n // 2),
        }
    )


# -- power functions with odd inputs ------------------------------------------------


def test_mde_with_an_arm_of_no_one_is_a_clear_error() -> None:
    # n=3 at ratio 0.01 puts nobody in the treatment arm: was ZeroDivisionError.
    with pytest.raises(DesignError, match=r"mde: n=3 .* 0 in arm"):
        de.mde(n=3, sd=0.01, ratio=0.01)


def test_power_with_an_arm_of_no_one_is_a_clear_error() -> None:
    with pytest.raises(DesignError, match=r"power: n=3 .* 0 in arm"):
        de.power(effect=1e6, n=3, sd=1.0, ratio=1e-9)


def test_power_with_an_sd_whose_square_overflows_is_a_clear_error() -> None:
    # sd=1e300: sd**2 overflowed with a raw OverflowError.
    with pytest.raises(OptionError, match=r"'sd' parameter of power .* below 1e\+150"):
        de.power(effect=1e6, n=10**12, sd=1e300)


# -- duplicate column names and a list where one column is expected ----------------------


def _with_duplicate(data: pd.DataFrame, name: str) -> pd.DataFrame:
    return pd.concat([data, data[[name]]], axis=1)


def test_lee_bounds_with_a_duplicated_outcome_column_is_a_clear_error() -> None:
    # Was AttributeError: 'DataFrame' object has no attribute 'dtype'.
    data = _with_duplicate(_trial(), "y")
    with pytest.raises(ColumnError, match=r"lee_bounds: column 'y' \(outcome\) appears 2 times"):
        de.lee_bounds(data, outcome="y", assigned="arm", responded="r")


def test_randomise_with_a_duplicated_id_column_is_a_clear_error() -> None:
    # Was TypeError: int() argument must be ... not 'Series'.
    data = _with_duplicate(_trial().assign(id=range(12)), "id")
    with pytest.raises(ColumnError, match=r"column 'id' \(id\) appears 2 times"):
        de.randomise(data, id="id", seed=1)


def test_attrition_with_a_list_of_strata_is_a_clear_error() -> None:
    # Was TypeError: unhashable type: 'list'.
    with pytest.raises(OptionError, match=r"attrition: .*\['s', 's2'\] \(strata\) must be one column name"):
        de.attrition(_trial(), assigned="arm", responded="r", strata=["s", "s2"])


def test_randomisation_test_takes_a_list_of_strata_as_itt_does() -> None:
    # Was TypeError: factorize requires a Series ... got DataFrame.
    data = _trial(24)
    joined = data.assign(cell=data["s"] + "/" + data["s2"])
    kw = {"outcome": "y", "assigned": "arm", "draws": 200, "seed": 3}
    listed = de.randomisation_test(data, strata=["s", "s2"], **kw)
    one = de.randomisation_test(joined, strata="cell", **kw)
    assert listed.p_value == one.p_value
    assert listed.estimate == one.estimate


# -- huge but finite values -----------------------------------------------------------------


def test_itt_ols_on_an_outcome_near_the_float_limit_is_a_clear_error() -> None:
    # y ~ 1e300: the standard error came back NaN with no warning.
    data = _trial().assign(y=lambda d: (1 + 0.1 * d["y"]) * 1e300)
    with pytest.raises(ColumnError, match=r"itt: column 'y' \(outcome\) is too large to compute with"):
        de.itt(data, outcome="y", assigned="arm", estimator="ols")


def test_randomisation_test_on_an_outcome_near_the_float_limit_is_a_clear_error() -> None:
    data = _trial().assign(y=lambda d: (1 + 0.1 * d["y"]) * 1e300)
    with pytest.raises(ColumnError, match=r"column 'y' \(outcome\) is too large"):
        de.randomisation_test(data, outcome="y", assigned="arm", draws=50, seed=1)


def test_staggered_did_on_an_outcome_near_the_float_limit_is_a_clear_error() -> None:
    # Every standard error came back NaN with no warning.
    rng = np.random.default_rng(4)
    panel = pd.DataFrame(
        {"unit": np.repeat(np.arange(8), 4), "period": np.tile(np.arange(1, 5), 8),
         "cohort": np.repeat([0, 0, 2, 2, 3, 3, 0, 2], 4)}
    )
    panel["y"] = (1 + 0.1 * rng.normal(size=len(panel))) * 1e300
    with pytest.raises(ColumnError, match=r"staggered_did: column 'y' \(outcome\) is too large"):
        de.staggered_did(panel, outcome="y", unit="unit", time="period", cohort="cohort", bootstrap=0)


# -- degrees of freedom ---------------------------------------------------------------------


def test_block_clustered_itt_with_more_strata_than_clusters_allow_is_a_clear_error() -> None:
    # 4 strata crossed by 4 clusters: G - 2B = -4 degrees of freedom, and the p-value and
    # interval came back NaN with no warning.
    rng = np.random.default_rng(5)
    rows = [
        (f"s{k}", arm, f"{arm[0]}{c}")
        for k in range(4) for arm in ("control", "treatment") for c in range(2) for _ in range(2)
    ]
    data = pd.DataFrame(rows, columns=["s", "arm", "c"]).assign(y=lambda d: rng.normal(size=len(d)))
    with pytest.raises(DesignError, match=r"itt: .*4 clusters and 4 strata.*degrees of freedom"):
        de.itt(data, outcome="y", assigned="arm", strata="s", cluster="c")


def test_impact_table_with_a_duplicated_arm_column_is_a_clear_error() -> None:
    # Was TypeError: factorize requires a Series ... got DataFrame (in arm_keys).
    data = _with_duplicate(_trial(), "arm")
    with pytest.raises(ColumnError, match=r"impact_table: column 'arm' \(assigned\) appears 2 times"):
        de.impact_table(data, outcomes=["y"], assigned="arm")


# -- unbounded intervals from test inversion --------------------------------------------------


def test_an_unbounded_randomisation_interval_is_warned_about() -> None:
    # Three per arm: 20 assignments, smallest p 1/20 = alpha, so the interval is
    # (-inf, inf); it was returned with no warning.
    data = _trial(6)
    with pytest.warns(de.DwpEvalWarning, match=r"95% interval from inverting the test is unbounded"):
        result = de.randomisation_test(data, outcome="y", assigned="arm", draws=50, seed=1)
    assert np.isinf(result.conf_int()[["conf_low", "conf_high"]].to_numpy()).all()


def test_a_bounded_randomisation_interval_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", de.DwpEvalWarning)
        result = de.randomisation_test(_trial(40), outcome="y", assigned="arm", draws=500, seed=1)
    assert np.isfinite(result.conf_int()[["conf_low", "conf_high"]].to_numpy()).all()


# -- staggered difference in differences with one unit a side ---------------------------------


def test_staggered_cell_with_one_treated_and_one_comparison_unit_is_marked_not_estimable() -> None:
    # Two units (one never treated, one treated from period 2): the standard error of
    # ATT(2, 2) was exactly 0 and its statistic -inf, with no warning.
    panel = pd.DataFrame(
        {"unit": np.repeat([0, 1], 3), "period": np.tile([1, 2, 3], 2),
         "cohort": np.repeat([0, 2], 3), "y": [0.1, 0.5, 0.2, 0.3, 1.4, 0.9]}
    )
    with pytest.warns(de.DwpEvalWarning, match=r"staggered_did: 2 ATT\(g, t\) of outcome 'y' not "
                      r"estimable \(fewer than two per arm\): ATT\(2, 2\), ATT\(2, 3\)"):
        result = de.staggered_did(panel, outcome="y", unit="unit", time="period", cohort="cohort",
                                  bootstrap=0)
    cells = result.att_gt
    assert cells["estimate"].notna().all()
    assert cells[["std_error", "statistic", "p_value", "conf_low", "conf_high"]].isna().all().all()
    assert any("not estimable" in note for note in result.notes)


def test_studentised_randomisation_test_on_an_outcome_constant_in_arms_is_not_estimable() -> None:
    # y is 1 in control and 2 in treatment: SE 0, a statistic of inf, and a reported
    # std_error of 0 with no error.
    data = _trial(20).assign(y=lambda d: np.where(d["arm"] == "treatment", 2.0, 1.0))
    kw = {"outcome": "y", "assigned": "arm", "draws": 100, "seed": 1}
    with pytest.raises(NotEstimableError, match=r"randomisation_test: the standard error .* is 0.*"
                       r"statistic='difference'"):
        de.randomisation_test(data, **kw)
    assert de.randomisation_test(data, statistic="difference", **kw).p_value < 0.05


def test_lee_bounds_on_an_outcome_near_the_float_limit_is_a_clear_error() -> None:
    # The bounds' confidence limits came back NaN with no warning.
    data = _trial().assign(y=lambda d: (1 + 0.1 * d["y"]) * 1e300)
    with pytest.raises(ColumnError, match=r"lee_bounds: column 'y' \(outcome\) is too large"):
        de.lee_bounds(data, outcome="y", assigned="arm", responded="r")


# -- a stray future date in the records -----------------------------------------------------


def test_only_future_dated_records_do_not_set_the_end_of_follow_up() -> None:
    # The one employment record is dated 2031-06 (a typo for 2013): data_end was inferred
    # as 2031-06-30, completing everyone's follow-up, with no warning.
    people = pd.DataFrame({"id": [1, 2], "randomised_on": pd.to_datetime(["2019-03-01", "2019-05-01"])})
    employment = pd.DataFrame(
        {"id": [1], "month": [pd.Timestamp("2031-06-01")], "earnings": [500.0], "weeks_employed": [4.0]}
    )
    with pytest.raises(OptionError, match=r"'data_end' parameter of derive_outcomes is needed: every "
                       r"employment record is dated after the current month"):
        de.derive_outcomes(people, employment=employment)
