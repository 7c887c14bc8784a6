"""Regressions found by running the suite at both ends of the supported range (make test-deps)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import OptionError


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "arm": np.tile(["control", "treatment"], n // 2),
        "y": rng.normal(size=n),
        "s": np.repeat(["a", "b"], n // 2),
        "s2": np.tile(["u", "u", "v", "v"], n // 4),
        "r": rng.integers(0, 2, size=n),
    })  # fmt: skip


def test_balance_with_a_string_arm_column() -> None:
    """pandas 2.1: a comparison of a string-dtype column gave an object mask (IndexError)."""
    df = _frame().assign(x=lambda d: d["y"] + 1.0)
    t = de.balance(df, covariates=["x"], assigned="arm", control="control")
    assert len(t.to_frame()) == 1


def test_randomisation_test_takes_a_list_of_strata() -> None:
    """A list of strata columns was passed whole to pandas.factorize (TypeError)."""
    df = _frame()
    listed = de.randomisation_test(df, outcome="y", assigned="arm", control="control",
                                   treatment="treatment", strata=["s", "s2"], draws=50, seed=1)
    df["cell"] = df["s"] + " x " + df["s2"]
    one = de.randomisation_test(df, outcome="y", assigned="arm", control="control",
                                treatment="treatment", strata="cell", draws=50, seed=1)
    assert listed.p_value == one.p_value


def test_a_list_where_one_column_is_expected_is_named() -> None:
    """pandas < 2.2 raised TypeError (unhashable list) for `[...] in data.columns`."""
    with pytest.raises(OptionError, match=r"\['s', 's2'\] \(strata\) must be one column name"):
        de.attrition(_frame(), responded="r", assigned="arm", control="control", strata=["s", "s2"])
