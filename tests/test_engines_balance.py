"""balance on Dask and Spark DataFrames equals balance in memory (issue 18): the
descriptive table (means, SDs, standardised differences, variance ratios) and the omnibus
F test, for a three-arm trial, a cluster-randomised one and the JTPA experiment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    OptionError,
)

pytestmark = pytest.mark.engine

RTOL = 1e-10


def _trial(n: int = 2000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = rng.integers(0, 40, n)
    return pd.DataFrame({
        "arm": rng.choice(np.array(["control", "coaching", "ips"]), n),
        "office_arm": np.where(office % 2 == 0, "treatment", "control"), "office": office,
        "prior_earnings": np.round(rng.lognormal(8, 1, n), 2) + 40_000,
        "female": rng.integers(0, 2, n), "age": rng.integers(18, 65, n).astype(float),
    })


def _same(a, b) -> None:
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa.columns) == list(fb.columns)
    num = fa.select_dtypes("number").columns
    np.testing.assert_allclose(fb[num].to_numpy(float), fa[num].to_numpy(float), rtol=RTOL, atol=1e-12)
    pd.testing.assert_frame_equal(fa.drop(columns=num), fb.drop(columns=num))
    assert (a.arms, a.n_by_arm, a.dropped, a.control) == (b.arms, b.n_by_arm, b.dropped, b.control)
    assert len(a.omnibus) == len(b.omnibus)
    for x, y in zip(a.omnibus, b.omnibus, strict=True):
        np.testing.assert_allclose([y.statistic, y.wald, y.p_value], [x.statistic, x.wald, x.p_value],
                                   rtol=RTOL)
        assert (x.df_num, x.df_denom, x.n_obs, x.design, x.n_clusters, x.terms, x.se_type, x.arm) == (
            y.df_num, y.df_denom, y.n_obs, y.design, y.n_clusters, y.terms, y.se_type, y.arm)


CASES = [
    dict(assigned="arm", covariates=["prior_earnings", "female", "age"]),
    dict(assigned="arm", covariates=["prior_earnings", "age"], se_type="HC1"),
    dict(assigned="office_arm", covariates=["prior_earnings", "age"], cluster="office"),
    dict(assigned="office_arm", covariates=["female"], cluster="office", se_type="CR1"),
    dict(assigned="arm", covariates=["age"], omnibus=False),
]


def _ids(c: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in c.items())


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_balance_on_dask_equals_pandas(dask_frame, case) -> None:
    df = _trial()
    _same(de.balance(df, **case), de.balance(dask_frame(df, 4), **case))


@pytest.mark.parametrize("case", [CASES[0], CASES[2]], ids=_ids)
def test_balance_on_spark_equals_pandas(spark_frame, case) -> None:
    """On Spark (a few seconds a call) the individual and the cluster design."""
    df = _trial()
    _same(de.balance(df, **case), de.balance(spark_frame(df, 4), **case))


def test_balance_on_engine_jtpa(engine_frame) -> None:
    j = de.datasets.jtpa()
    kw = dict(assigned="jtpa_offer", control=0, covariates=["sex", "black", "hispanic", "afdc", "age2225"])
    _same(de.balance(j, **kw), de.balance(engine_frame(j, 5), **kw))


def test_balance_missing_and_bad_input_on_engine(engine_frame) -> None:
    df = _trial()
    df.loc[df.index[::40], "age"] = np.nan
    big = engine_frame(df, 3)
    kw = dict(assigned="arm", covariates=["prior_earnings", "age"])
    with pytest.raises(MissingDataError) as eng:
        de.balance(big, **kw)
    with pytest.raises(MissingDataError) as mem:
        de.balance(df, **kw)
    assert str(eng.value) == str(mem.value)
    with pytest.warns(DroppedRowsWarning):
        b = de.balance(big, **kw, missing="drop")
    with pytest.warns(DroppedRowsWarning):
        a = de.balance(df, **kw, missing="drop")
    _same(a, b)
    with pytest.raises(OptionError, match="randomisation version of the omnibus test"):
        de.balance(big, **kw, missing="drop", seed=1)
    with pytest.raises(OptionError, match="'strata' parameter of balance is not yet offered"):
        de.balance(big, **kw, missing="drop", strata="office")
    with pytest.raises(ColumnError, match="no column 'agee'"):
        de.balance(big, assigned="arm", covariates=["agee"])
    mixed = engine_frame(_trial(), 3)
    with pytest.raises(DesignError, match="hold people of more than one arm"):
        de.balance(mixed, assigned="arm", covariates=["age"], cluster="office")
    const = _trial().assign(age=30.0)
    with pytest.raises(DesignError) as eng_c:
        de.balance(engine_frame(const, 3), assigned="arm", covariates=["age"])
    with pytest.raises(DesignError) as mem_c:
        de.balance(const, assigned="arm", covariates=["age"])
    assert str(eng_c.value) == str(mem_c.value)
