"""Rubin's rules against R ``mice::pool`` and statsmodels ``MICE.combine`` on the
SAME completed datasets (R mice's imputations, exported by
tests/reference/mi/mice_pool.R; statsmodels by statsmodels_pool.py).

Tolerances: 1e-10 relative for everything pooled from the same numbers (the
pooling formulas are a few sums; only the last bits of the per-imputation fits
differ between R's and the library's linear algebra).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval._core.pooling import rubin_pool

REF = Path(__file__).parent / "reference" / "mi"
RTOL = 1e-10  # pooling is exact arithmetic on shared inputs; see module docstring
POOLED = pd.read_csv(REF / "pooled.csv").set_index("case")
PER = pd.read_csv(REF / "per_imputation.csv")
STATSMODELS = pd.read_csv(REF / "statsmodels_pool.csv").set_index("case")


@cache
def imputation() -> de.MultipleImputation:
    data = pd.read_csv(REF / "data.csv")
    long = pd.read_csv(REF / "completed.csv")
    frames = [s.drop(columns=[".imp", ".id"]).reset_index(drop=True)
              for _, s in long.groupby(".imp", sort=True)]
    return de.MultipleImputation.from_completed(data, frames, impute=["y", "employed"],
                                                assigned="arm", method="mice (R)")


def ols_classical(data: pd.DataFrame, *, outcome: str, assigned: str) -> Any:
    """A user's own estimator: classical OLS of y on treat, x, z (numpy)."""
    x = np.column_stack([np.ones(len(data)), data["treat"], data["x"], data["z"]])
    y = data[outcome].to_numpy(float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    df = len(y) - x.shape[1]
    cov = resid @ resid / df * np.linalg.inv(x.T @ x)
    return SimpleNamespace(estimate=beta[1], std_error=np.sqrt(cov[1, 1]), df=float(df))


FITS = {
    "lm_classical": lambda mi: mi.fit(ols_classical, outcome="y"),
    "lin_hc2": lambda mi: mi.fit(de.itt, outcome="y", covariates=["x", "z"]),
    "dim_y": lambda mi: mi.fit(de.itt, outcome="y"),
    "dim_employed": lambda mi: mi.fit(de.itt, outcome="employed"),
    "lm_hc2_employed": lambda mi: mi.fit(de.itt, outcome="employed", covariates=["x"],
                                         adjustment="additive"),
}

FIELDS = {"estimate": "estimate", "within_variance": "ubar", "between_variance": "b",
          "total_variance": "t", "df_complete": "dfcom", "df": "df", "riv": "riv",
          "lambda_": "lambda", "fmi": "fmi", "std_error": "std_error"}


@pytest.mark.parametrize("case", sorted(POOLED.index))
def test_rubin_pool_equals_mice_pool(case: str) -> None:
    """The per-imputation estimates R computed, pooled here, equal mice::pool."""
    per = PER[PER["case"] == case]
    ref = POOLED.loc[case]
    got = rubin_pool(per["estimate"], per["std_error"] ** 2, ref["dfcom"])
    assert got.m == ref["m"] == 20
    for ours, theirs in FIELDS.items():
        assert getattr(got, ours) == pytest.approx(ref[theirs], rel=RTOL, abs=0), ours


@pytest.mark.parametrize("case", sorted(FITS))
def test_fit_on_r_imputations_equals_mice_pool(case: str) -> None:
    """The library's estimators run on R's completed datasets and pooled by
    MultipleImputation.fit equal R's estimators pooled by mice::pool."""
    pooled = FITS[case](imputation())
    ref = POOLED.loc[case]
    per = PER[PER["case"] == case]
    np.testing.assert_allclose(pooled.estimates, per["estimate"], rtol=RTOL)
    np.testing.assert_allclose(pooled.std_errors, per["std_error"], rtol=RTOL)
    assert pooled.m == 20
    for ours, theirs in FIELDS.items():
        assert getattr(pooled, ours) == pytest.approx(ref[theirs], rel=RTOL, abs=0), ours


@pytest.mark.parametrize("case", sorted(STATSMODELS.index))
def test_fit_on_r_imputations_equals_statsmodels_combine(case: str) -> None:
    pooled = FITS[case](imputation())
    ref = STATSMODELS.loc[case]
    assert pooled.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert pooled.std_error == pytest.approx(ref["std_error"], rel=RTOL)
    assert pooled.lambda_ == pytest.approx(ref["frac_miss_info"], rel=RTOL)


def test_from_completed_keeps_the_imputations() -> None:
    mi = imputation()
    long = pd.read_csv(REF / "completed.csv")
    third = long[long[".imp"] == 3].drop(columns=[".imp", ".id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(mi.completed(2)[third.columns], third, check_dtype=False)
    counts = mi.to_frame().set_index(["column", "arm"])["n_missing"]
    data = pd.read_csv(REF / "data.csv")
    assert counts.sum() == data[["y", "employed"]].isna().sum().sum()
