"""Tiny pinned cases the fuzzer (``tests/fuzzing.py``) found: each failed with a
foreign exception, a silent NaN or a silent wrong answer before its fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, DwpEvalError, OptionError


def _trial(n: int = 12, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.tile(["control", "treatment"], n // 2)
    return pd.DataFrame(
        {
            "arm": arm,
            "y": rng.normal(size=n),
            "r": np.tile([1, 1, 0], n // 3),
            "s": np.tile(["a", "a", "b", "b"], n // 4),
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
