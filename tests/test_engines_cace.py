"""cace on Dask and Spark DataFrames equals cace in memory (issue 18): the CACE, its first
stage, its ITT and the Anderson-Rubin set, on the JTPA experiment (receipt of training
instrumented by the offer) and on a synthetic trial with control-arm contamination,
offices, weights and covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import ColumnError, DesignError, OptionError

pytestmark = pytest.mark.engine

RTOL = 1e-10


def _trial(n: int = 2400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = rng.integers(0, 30, n)
    z = rng.random(n) < 0.5
    df = pd.DataFrame({"arm": np.where(z, "treatment", "control"), "office": office,
                       "age": rng.integers(18, 65, n).astype(float),
                       "prior": np.round(rng.lognormal(8, 1, n), 2),
                       "weight": rng.uniform(0.5, 2.0, n)})
    df["received"] = (rng.random(n) < np.where(z, 0.6, 0.1)).astype(np.int64)
    df["earnings"] = (1500 + 700 * df.received + 0.2 * df.prior + 300 * rng.normal(size=30)[office]
                      + rng.normal(0, 800, n))
    df["office_arm"] = np.where(office % 2 == 0, "treatment", "control")
    df["received_office"] = (rng.random(n) < np.where(df.office_arm == "treatment", 0.6, 0.1)).astype(np.int64)
    return df


def _numbers(r: de.Effect) -> np.ndarray:
    fs, itt = r.first_stage, r.itt
    pieces = np.ravel(r.ar_interval.pieces)
    return np.array([r.estimate, r.std_error, r.df, fs.difference, fs.std_error, fs.df,
                     fs.f_statistic, fs.df_denominator, fs.take_up_treatment, fs.take_up_control,
                     itt.estimate, itt.std_error, itt.df, r.control_mean, r.treatment_mean,
                     *pieces[np.isfinite(pieces)]])


def _same(a: de.Effect, b: de.Effect) -> None:
    np.testing.assert_allclose(_numbers(b), _numbers(a), rtol=RTOL, atol=1e-12)
    assert b.ar_interval.kind == a.ar_interval.kind
    for field in ("n_obs", "n_by_arm", "se_type", "design", "n_clusters", "cluster_role",
                  "binary_outcome", "dropped", "covariates", "notes"):
        assert getattr(b, field) == getattr(a, field), field
    assert b.method.startswith(a.method)
    assert b.itt.method == a.itt.method


CASES = [
    dict(),
    dict(covariates=["age", "prior"]),
    dict(weights="weight"),
    dict(cluster="office"),
    dict(cluster="office", covariates=["prior"], se_type="CR1"),
    dict(assigned="office_arm", cluster="office", received="received_office"),
    dict(se_type="HC3"),
    dict(se_type="classical", covariates=["age"]),
    dict(weights="weight", cluster="office", se_type="CR0"),
]


# every option set on Dask; on Spark (a few seconds a call) the ones that differ in kind
SPARK_CASES = [CASES[i] for i in (0, 1, 3, 8)]


def _ids(c: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in c.items()) or "default"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_cace_on_dask_equals_pandas(dask_frame, case) -> None:
    df = _trial()
    kw = {"outcome": "earnings", "assigned": "arm", "received": "received", **case}
    _same(de.cace(df, **kw), de.cace(dask_frame(df, 4), **kw))


@pytest.mark.parametrize("case", SPARK_CASES, ids=_ids)
def test_cace_on_spark_equals_pandas(spark_frame, case) -> None:
    df = _trial()
    kw = {"outcome": "earnings", "assigned": "arm", "received": "received", **case}
    _same(de.cace(df, **kw), de.cace(spark_frame(df, 4), **kw))


def test_cace_on_engine_jtpa(engine_frame) -> None:
    """JTPA (Abadie, Angrist & Imbens 2002): training instrumented by the offer."""
    j = de.datasets.jtpa().astype({"earnings": "float64"})
    kw = dict(outcome="earnings", assigned="jtpa_offer", control=0, received="jtpa_training",
              covariates=["sex", "black", "hispanic", "afdc", "age2225"])
    _same(de.cace(j, **kw), de.cace(engine_frame(j, 5), **kw))


def test_cace_bad_input_on_engine(engine_frame) -> None:
    df = _trial()
    big = engine_frame(df, 3)
    kw = {"outcome": "earnings", "assigned": "arm", "received": "received"}
    with pytest.raises(ColumnError, match=r"no column 'recieved' \(the received \('recieved'\) column\)"):
        de.cace(big, **{**kw, "received": "recieved"})
    odd = df.assign(received=df.received * 2)
    with pytest.raises(ColumnError, match="'received' \\(received\\) must hold 0/1"):
        de.cace(engine_frame(odd, 3), **kw)
    none = df.assign(received=0)
    with pytest.raises(DesignError, match="is 0 for everyone in the compared arms") as eng:
        de.cace(engine_frame(none, 3), **kw)
    with pytest.raises(DesignError) as mem:
        de.cace(none, **kw)
    assert str(eng.value) == str(mem.value)
    with pytest.raises(OptionError, match="'strata' parameter of cace is not yet offered"):
        de.cace(big, **kw, strata="office")
    twice = df.assign(age2=2 * df.age)
    with pytest.raises(DesignError, match="singular"):
        de.cace(engine_frame(twice, 3), **kw, covariates=["age", "age2"])
