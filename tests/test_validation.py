"""Bad input: every user-facing message of the allocation path, pinned.

Messages follow one shape (scikit-learn's): the parameter or column, its role,
what is wrong, what was found, and the fix; a column error lists the columns
that do exist.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval import errors
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_alpha,
    check_option,
    check_seed,
)
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(1, 13),
            "site": list("aabbccddeeff"),
            "office": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
            "age": [30.0, 41, 25, 52, 38, 60, 33, 29, 47, 55, 21, 44],
        }
    )


COLUMNS_PRESENT = "Columns present: 'id', 'site', 'office', 'age'."


# ----------------------------------------------------------------- columns


@pytest.mark.parametrize(
    ("kwargs", "column", "role", "guess"),
    [
        ({"id": "pid"}, "pid", "id", "id"),
        ({"strata": "sitee"}, "sitee", "strata", "site"),
        ({"strata": ["site", "benefit"]}, "benefit", "strata", None),
        ({"cluster": "offce"}, "offce", "cluster", "office"),
        ({"method": "permuted_blocks", "order": "referred_on"}, "referred_on", "order", None),
    ],
)
def test_missing_column_lists_columns_present(df, kwargs, column, role, guess) -> None:
    hint = f" Did you mean {guess!r}?" if guess else ""
    message = (
        f"randomise: column {column!r} ({role}) is not in the data.{hint} {COLUMNS_PRESENT} "
        f"Fix: pass the name of an existing column as {role}=."
    )
    with pytest.raises(ColumnError, match=f"^{re.escape(message)}$"):
        de.randomise(df, seed=1, **kwargs)


def test_long_column_lists_are_cut_with_a_count() -> None:
    wide = pd.DataFrame({f"c{k}": [1] for k in range(20)})
    with pytest.raises(ColumnError, match=re.escape("'c10', 'c11', ... (8 more).")):
        de.randomise(wide, seed=1)


def test_duplicated_ids_show_some_of_them(df) -> None:
    doubled = pd.concat([df, df.iloc[[0, 3]]])
    with pytest.raises(
        ColumnError,
        match=re.escape("column 'id' (id) must identify each row once, but 2 value(s) appear more than once: 1, 4."),
    ):
        de.randomise(doubled, seed=1)
    many = pd.concat([df, df])
    with pytest.raises(ColumnError, match=re.escape("12 value(s) appear more than once: 1, 2, 3, 4, 5. Fix:")):
        de.randomise(many, seed=1)
    text = df.assign(id=["x", "y"] * 6)
    with pytest.raises(ColumnError, match=re.escape("appear more than once: 'x', 'y'.")):
        de.randomise(text, seed=1)


@pytest.mark.parametrize(("column", "role"), [("site", "strata"), ("office", "cluster"), ("id", "id")])
def test_missing_values_in_strata_cluster_or_id(df, column, role) -> None:
    holes = df.astype({column: object})
    holes.loc[[2, 7], column] = None
    kwargs = {"strata": "site"} if role == "strata" else {"cluster": "office"} if role == "cluster" else {}
    with pytest.raises(
        MissingDataError,
        match=re.escape(
            f"randomise: column {column!r} ({role}) has 2 missing value(s) (first at rows 2, 7). "
            "Fix: fill them with an explicit category (e.g. 'unknown') or remove those rows before "
            "calling randomise."
        ),
    ):
        de.randomise(holes, seed=1, **kwargs)


def test_cluster_spanning_two_strata(df) -> None:
    spans = df.assign(office=[1, 1, 1, 2, 3, 3, 4, 4, 5, 5, 5, 6])
    with pytest.raises(
        DesignError,
        match=re.escape(
            "randomise: 2 cluster(s) in column 'office' span more than one stratum (e.g. 1, 5), so "
            "whole clusters cannot be assigned within strata. Fix: stratify on cluster-level "
            "columns only (strata=['site'] must be constant within each cluster)."
        ),
    ):
        de.randomise(spans, strata="site", cluster="office", seed=1)


def test_non_integer_numeric_ids(df) -> None:
    with pytest.raises(ColumnError, match=re.escape("column 'id' (id) holds non-integer numbers such as [1.5, 2.5, 3.5]")):
        de.randomise(df.assign(id=df["id"] + 0.5), seed=1)


@pytest.mark.parametrize("data", [[1, 2, 3], {"id": [1, 2]}, None])
def test_data_must_be_a_dataframe(data) -> None:
    with pytest.raises(OptionError, match=r"^The 'data' parameter of randomise must be a pandas DataFrame\. Got \w+ instead"):
        de.randomise(data, seed=1)


def test_data_must_not_be_empty(df) -> None:
    with pytest.raises(OptionError, match=r"must have at least one row\. Got an empty DataFrame"):
        de.randomise(df.iloc[:0], seed=1)


# ----------------------------------------------------------------- seeds


@pytest.mark.parametrize(
    ("seed", "shown"),
    # a NumPy scalar shows as NumPy's repr shows it (np.float64(3.0) from NumPy 2, 3.0 before)
    [(1.5, "1.5 (float)"), ("42", "'42' (str)"), (None, "None (NoneType)"), (True, "True (bool)"),
     (np.float64(3), f"{np.float64(3)!r} (float64)"), (np.random.RandomState(1), "RandomState")],
)  # fmt: skip
def test_seed_must_be_int_or_generator(df, seed, shown) -> None:
    start = "The 'seed' parameter of randomise must be an int or a numpy.random.Generator. "
    with pytest.raises(OptionError, match=f"^{re.escape(start)}Got {re.escape(shown)}"):
        de.randomise(df, seed=seed)
    with pytest.raises(OptionError, match=re.escape("Fix: pass a recorded integer, e.g. seed=20180501")):
        de.randomise(df, seed=seed)


def test_seed_must_be_non_negative(df) -> None:
    with pytest.raises(OptionError, match=r"must be a non-negative int or a numpy\.random\.Generator\. Got -1 instead"):
        de.randomise(df, seed=-1)


def test_extend_checks_its_seed(df) -> None:
    alloc = de.randomise(df.iloc[:6], seed=1)
    with pytest.raises(OptionError, match=r"The 'seed' parameter of Allocation\.extend must be an int.*Got '7' \(str\)"):
        alloc.extend(df.iloc[6:], seed="7")


def test_randomisation_never_touches_global_state(df) -> None:
    # read-only look at numpy's legacy global generator: it must not move
    before = np.random.get_state()  # noqa: NPY002
    de.randomise(df, strata="site", seed=12)
    de.randomise(df, method="permuted_blocks", seed=12).extend(df.assign(id=df["id"] + 100), seed=1)
    check_seed(12, func="f").random(10)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and (before[1] == after[1]).all() and before[2:] == after[2:]
    g = np.random.default_rng(1)
    assert check_seed(g, func="f") is g


# ----------------------------------------------------------------- re-randomisation rule


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"covariates": []}, "The 'covariates' parameter of BalanceRule must name at least one column. Got an empty list instead."),
        ({"covariates": ["age"], "max_abs_std_diff": 0}, "The 'max_abs_std_diff' parameter of BalanceRule must be a positive number. Got 0 instead."),
        ({"covariates": ["age"], "max_abs_std_diff": -0.1}, "must be a positive number. Got -0.1 instead."),
        ({"covariates": ["age"], "max_abs_std_diff": float("nan")}, "must be a positive number. Got nan instead."),
        ({"covariates": ["age"], "max_abs_std_diff": "0.1"}, "must be a positive number. Got '0.1' instead."),
        ({"covariates": ["age"], "max_abs_std_diff": True}, "must be a positive number. Got True instead."),
        ({"covariates": ["age"], "max_draws": 0}, "The 'max_draws' parameter of BalanceRule must be a positive int. Got 0 instead."),
        ({"covariates": ["age"], "max_draws": 10.0}, "must be a positive int. Got 10.0 instead."),
        ({"covariates": ["age"], "max_draws": False}, "must be a positive int. Got False instead."),
    ],
)  # fmt: skip
def test_balance_rule_bad_values(kwargs, message) -> None:
    with pytest.raises(OptionError, match=re.escape(message)):
        de.BalanceRule(**kwargs)


def test_balance_rule_dict_goes_through_the_same_checks(df) -> None:
    with pytest.raises(OptionError, match=r"'max_draws' parameter of BalanceRule must be a positive int\. Got -5"):
        de.randomise(df, rerandomise={"covariates": ["age"], "max_draws": -5}, seed=1)


def test_balance_rule_covariates(df) -> None:
    assert de.BalanceRule("age").covariates == ("age",)
    with pytest.raises(ColumnError, match=r"column 'income' \(covariates\) is not in the data\..*Columns present: 'id'"):
        de.randomise(df, rerandomise={"covariates": ["income"]}, seed=1)
    with pytest.raises(ColumnError, match=r"column 'site' \(re-randomisation covariate\) must be numeric or 0/1; it has dtype"):
        de.randomise(df, rerandomise={"covariates": ["site"]}, seed=1)
    with pytest.raises(DesignError, match=r"column 'age' \(re-randomisation covariate\) is constant, so its standardised difference is undefined"):
        de.randomise(df.assign(age=1.0), rerandomise={"covariates": ["age"]}, seed=1)
    with pytest.raises(MissingDataError, match=r"column 'age' \(re-randomisation covariate\) has 1 missing value"):
        de.randomise(df.assign(age=df["age"].where(df.index != 4)), rerandomise={"covariates": ["age"]}, seed=1)


# ----------------------------------------------------------------- extend


def test_extend_with_an_already_allocated_id(df) -> None:
    alloc = de.randomise(df.iloc[:8], seed=1)
    again = pd.concat([df.iloc[8:], df.iloc[[1, 5]]])
    with pytest.raises(
        DesignError,
        match=re.escape(
            "Allocation.extend: 2 id(s) in new_people are already allocated (e.g. 2, 6); an "
            "allocated person is never re-drawn. Fix: pass only people who have not been randomised."
        ),
    ):
        alloc.extend(again, seed=2)


def test_extend_bad_block_sizes_and_columns(df) -> None:
    alloc = de.randomise(df.iloc[:8], strata="site", seed=1)
    with pytest.raises(OptionError, match=re.escape("The 'block_sizes' parameter of Allocation.extend must hold positive multiples of 2. Got [2, 3] instead.")):
        alloc.extend(df.iloc[8:], seed=2, block_sizes=[2, 3])
    with pytest.raises(ColumnError, match=r"Allocation\.extend: column 'site' \(strata\) is not in the data"):
        alloc.extend(df.iloc[8:].drop(columns="site"), seed=2)
    with pytest.raises(OptionError, match=r"The 'new_people' parameter of Allocation\.extend must be a pandas DataFrame"):
        alloc.extend(df.iloc[8:].to_dict(), seed=2)


def test_extend_text_ids_into_integer_allocation(df) -> None:
    alloc = de.randomise(df.iloc[:8], seed=1)
    with pytest.raises(ColumnError, match=r"holds text such as \['p9', 'p10', 'p11'\], but the allocation recorded integer ids"):
        alloc.extend(df.iloc[8:].assign(id=lambda d: "p" + d["id"].astype(str)), seed=2)


# ----------------------------------------------------------------- helpers and errors


def test_check_option_message_shape() -> None:
    with pytest.raises(
        OptionError,
        match=re.escape("The 'se' parameter of itt must be one of 'HC2', 'CR2'. Got 'HC3' instead. Did you mean 'HC2'?"),
    ):
        check_option("HC3", ["HC2", "CR2"], param="se", func="itt")
    with pytest.raises(OptionError, match=r"Got 2 instead\.$"):
        check_option(2, ["HC2"], param="se", func="itt")
    assert check_option("CR2", ["HC2", "CR2"], param="se", func="itt") == "CR2"


def test_fmt_list_and_as_column_list() -> None:
    assert _fmt_list(["a", 1, 2.5]) == "'a', 1, 2.5"
    assert _fmt_list(range(7), 5) == "0, 1, 2, 3, 4, ... (2 more)"
    assert _fmt_list([]) == ""
    assert as_column_list(None) == []
    assert as_column_list("site") == ["site"]
    assert as_column_list(("a", "b")) == ["a", "b"]
    assert as_column_list(3) == [3]


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, "0.05", True, None])
def test_check_alpha_rejects(alpha) -> None:
    with pytest.raises(OptionError, match=re.escape(f"The 'alpha' parameter of itt must be a float in (0, 1). Got {alpha!r} instead.")):
        check_alpha(alpha, func="itt")


def test_check_alpha_accepts() -> None:
    assert check_alpha(0.05, func="itt") == 0.05
    assert check_alpha(np.float64(0.1), func="itt") == 0.1


def test_every_error_is_a_value_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name.endswith("Error"):
            assert issubclass(cls, errors.DwpEvalError) and issubclass(cls, ValueError), name
        else:
            assert issubclass(cls, UserWarning), name
    assert issubclass(errors.AllocationExistsError, FileExistsError)


@pytest.mark.parametrize(("module", "fix"), [
    ("dask.dataframe.dask_expr._collection", r"data\.compute\(\)"),
    ("pyspark.sql.dataframe", r"data\.toPandas\(\)"),
    ("polars.dataframe.frame", r"data\.to_pandas\(\)"),
])
def test_other_engines_frame_is_named_in_full(module: str, fix: str) -> None:
    """A Dask, Spark or polars frame is named by its full type (all are 'DataFrame')."""
    frame = type("DataFrame", (), {"__module__": module})()
    with pytest.raises(OptionError, match=rf"must be a pandas DataFrame\. Got {re.escape(module)}\.DataFrame "
                                          rf"instead\. Fix: .*{fix}"):
        de.itt(frame, outcome="y", assigned="arm")
