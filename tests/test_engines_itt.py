"""itt on Dask and Spark DataFrames equals itt in memory (issue 18).

The engine path computes the estimate and its variance from sums the engine adds up
(:mod:`dwp_eval._core.engines.regression`); these tests run it on a dask.distributed
LocalCluster with 2 workers and on Spark in local mode (the ``engine_frame`` fixture)
and compare every number with the pandas path on the same rows: the JTPA experiment
(the bundled reference data, with real covariates) and a WHP-like trial with offices,
weights, missing values and a person-level randomisation clustered for the variance.
"""

from __future__ import annotations

import warnings

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


def _trial(n: int = 2400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = rng.integers(0, 30, n)
    arm = rng.choice(np.array(["control", "treatment"]), n)
    df = pd.DataFrame({
        "id": np.arange(n), "arm": arm, "office": office,
        "age": rng.integers(18, 65, n).astype(float),
        "prior_earnings": np.round(rng.lognormal(8, 1, n), 2),
        "weight": rng.uniform(0.5, 2.0, n),
    })
    df["earnings"] = (1500 + 400 * (arm == "treatment") + 0.2 * df.prior_earnings
                      + 300 * rng.normal(size=30)[office] + rng.normal(0, 800, n))
    df["employed"] = (rng.random(n) < 0.3 + 0.05 * (arm == "treatment")).astype(np.int64)
    # whole offices randomised: the cluster design
    df["office_arm"] = np.where(office % 2 == 0, "treatment", "control")
    return df


def _jtpa() -> pd.DataFrame:
    j = de.datasets.jtpa().astype({"earnings": "float64"})
    j["site"] = np.arange(len(j)) % 16  # a cluster label for the variance
    return j


def _same(a: de.Effect, b: de.Effect) -> None:
    for field in ("estimate", "std_error", "df", "p_value", "control_mean", "treatment_mean"):
        np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=RTOL, atol=1e-12,
                                   err_msg=field)
    for field in ("n_obs", "n_by_arm", "se_type", "design", "n_clusters", "cluster_role",
                  "binary_outcome", "dropped", "covariates", "treatment", "control"):
        assert getattr(b, field) == getattr(a, field), field
    assert b.method.startswith(a.method)


TRIAL_CASES = [
    dict(),
    dict(outcome="employed"),
    dict(covariates=["age", "prior_earnings"]),
    dict(covariates=["age", "prior_earnings"], adjustment="additive"),
    dict(weights="weight"),
    dict(weights="weight", covariates=["age"], se_type="HC1"),
    dict(cluster="office"),
    dict(cluster="office", covariates=["prior_earnings"]),
    dict(cluster="office", se_type="CR1"),
    dict(cluster="office", weights="weight", se_type="CR0"),
    dict(assigned="office_arm", cluster="office"),
    dict(assigned="office_arm", cluster="office", covariates=["age"]),
    dict(covariates=["prior_earnings"], se_type="HC3"),
    dict(se_type="classical"),
    dict(estimator="ols"),
]


# every option set on Dask; on Spark (a few seconds a call) the ones that differ in kind
SPARK_CASES = [TRIAL_CASES[i] for i in (0, 2, 5, 7, 10)]


def _ids(c: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in c.items()) or "default"


@pytest.mark.parametrize("case", TRIAL_CASES, ids=_ids)
def test_itt_on_dask_equals_pandas(dask_frame, case) -> None:
    df = _trial()
    kw = {"outcome": "earnings", "assigned": "arm", **case}
    _same(de.itt(df, **kw), de.itt(dask_frame(df, 4), **kw))


@pytest.mark.parametrize("case", SPARK_CASES, ids=_ids)
def test_itt_on_spark_equals_pandas(spark_frame, case) -> None:
    df = _trial()
    kw = {"outcome": "earnings", "assigned": "arm", **case}
    _same(de.itt(df, **kw), de.itt(spark_frame(df, 4), **kw))


@pytest.mark.parametrize("case", [
    dict(),
    dict(covariates=["sex", "hsorged", "black", "hispanic", "married", "wkless13", "afdc",
                     "age2225", "age2629", "age3035", "age3644", "age4554"], missing="drop"),
    dict(cluster="site", covariates=["sex", "black"]),
])
def test_itt_on_engine_jtpa(engine_frame, case) -> None:
    """The JTPA experiment (Bloom et al. 1997; Abadie, Angrist & Imbens 2002): the offer's
    effect on 30-month earnings, with the reference data's own covariates."""
    j = _jtpa()
    kw = {"outcome": "earnings", "assigned": "jtpa_offer", "control": 0, **case}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        _same(de.itt(j, **kw), de.itt(engine_frame(j, 5), **kw))


def test_missing_values_on_engine(engine_frame) -> None:
    df = _trial()
    df.loc[df.index[::50], "earnings"] = np.nan
    df.loc[df.index[3::70], "age"] = np.nan
    df.loc[df.index[5::300], "arm"] = None
    big = engine_frame(df, 3)
    with pytest.raises(MissingDataError, match="'arm' \\(assigned\\) has 8 missing"):
        de.itt(big, outcome="earnings", assigned="arm", covariates=["age"])
    with pytest.warns(DroppedRowsWarning) as rec:
        b = de.itt(big, outcome="earnings", assigned="arm", covariates=["age"], missing="drop")
    with pytest.warns(DroppedRowsWarning) as rec_pd:
        a = de.itt(df, outcome="earnings", assigned="arm", covariates=["age"], missing="drop")
    _same(a, b)
    assert str(rec[0].message) == str(rec_pd[0].message)
    no_arm = df.dropna(subset=["arm"])
    with pytest.raises(MissingDataError) as pd_err:
        de.itt(no_arm, outcome="earnings", assigned="arm")
    with pytest.raises(MissingDataError) as eng_err:
        de.itt(engine_frame(no_arm, 3), outcome="earnings", assigned="arm")
    assert str(eng_err.value) == str(pd_err.value)


def test_bad_input_on_engine(engine_frame) -> None:
    df = _trial()
    big = engine_frame(df, 3)
    with pytest.raises(ColumnError, match=r"no column 'earning' \(the outcome column\).*'earnings'"):
        de.itt(big, outcome="earning", assigned="arm")
    with pytest.raises(DesignError, match="control arm 'ctrl' is not in column 'arm'"):
        de.itt(big, outcome="earnings", assigned="arm", control="ctrl")
    with pytest.raises(OptionError, match="'strata' parameter of itt is not yet offered"):
        de.itt(big, outcome="earnings", assigned="arm", strata="office")
    with pytest.raises(OptionError, match="weighted CR2"):
        de.itt(big, outcome="earnings", assigned="arm", cluster="office", weights="weight")
    inf = df.assign(age=df.age.where(df.index != 4, np.inf))
    with pytest.raises(ColumnError, match="'age' \\(covariates\\) holds infinite values: 1 row"):
        de.itt(engine_frame(inf, 3), outcome="earnings", assigned="arm", covariates=["age"])
    text = df.assign(sex=np.where(df.index % 2 == 0, "f", "m"))
    with pytest.raises(ColumnError, match="'sex' is not numeric"):
        de.itt(engine_frame(text, 3), outcome="earnings", assigned="arm", covariates=["sex"])
    res = de.itt(big, outcome="earnings", assigned="arm")
    with pytest.raises(OptionError):
        res.with_se("HC1")
    twice = df.assign(age2=2 * df.age + 1)
    with pytest.raises(DesignError, match="singular"):
        de.itt(engine_frame(twice, 3), outcome="earnings", assigned="arm", covariates=["age", "age2"])
    with pytest.raises(DesignError):  # in memory too (naming the collinear columns)
        de.itt(twice, outcome="earnings", assigned="arm", covariates=["age", "age2"])


def test_person_order_and_partitions_do_not_matter(engine_frame) -> None:
    """The sums do not depend on how the rows are split or ordered (1e-10)."""
    df = _trial(seed=11)
    a = de.itt(engine_frame(df, 2), outcome="earnings", assigned="arm", cluster="office")
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    b = de.itt(engine_frame(shuffled, 7), outcome="earnings", assigned="arm", cluster="office")
    _same(a, b)


@pytest.mark.parametrize("case", [dict(covariates=["age"]), dict(cluster="office", covariates=["age"]),
                                  dict(weights="weight", se_type="HC3")], ids=_ids)
def test_large_partitions_are_summed_in_slices(dask_frame, monkeypatch, case) -> None:
    """A partition longer than ``SLICE_ROWS`` is summed slice by slice (bounded working
    memory): the same result. Run in this process (Dask's synchronous scheduler) so the
    patched slice length reaches the sums; 2,400 rows in 2 partitions, slices of 97."""
    import dask

    from dwp_eval._core.engines import ops

    df = _trial(seed=5)
    kw = {"outcome": "earnings", "assigned": "arm", **case}
    ref = de.itt(df, **kw)
    monkeypatch.setattr(ops, "SLICE_ROWS", 97)
    with dask.config.set(scheduler="synchronous"):
        _same(ref, de.itt(dask_frame(df, 2), **kw))
        got = de.cace(dask_frame(df.assign(took=(df.arm == "treatment") & (df.age > 25)), 2),
                      outcome="earnings", assigned="arm", received="took", cluster=case.get("cluster"))
    want = de.cace(df.assign(took=(df.arm == "treatment") & (df.age > 25)), outcome="earnings",
                   assigned="arm", received="took", cluster=case.get("cluster"))
    np.testing.assert_allclose([got.estimate, got.std_error], [want.estimate, want.std_error], rtol=RTOL)
