"""Shared test set-up: the hypothesis profile and small synthetic populations."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Allocation calls take about a millisecond but their first call in a process
# imports scipy and friends, so a per-example deadline would only make tests
# flaky. Few, small examples keep every property module well under 10 s; set
# HYPOTHESIS_PROFILE=thorough for a longer local search.
settings.register_profile(
    "dwp_eval",
    deadline=None,
    max_examples=40,
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("dwp_eval"),
    max_examples=500,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dwp_eval"))


def _people(n: int, seed: int) -> pd.DataFrame:
    """A small participants file: integer ids, two stratum columns nested
    clusters (office within site), a referral day and three covariates."""
    rng = np.random.default_rng(seed)
    site = rng.choice(np.array(["north", "south", "wales"]), size=n, p=[0.5, 0.3, 0.2])
    office_no = rng.integers(1, 4, size=n)
    return pd.DataFrame(
        {
            "id": rng.permutation(np.arange(1, n + 1, dtype=np.int64) * 7),
            "site": site,
            "benefit": rng.choice(np.array(["UC", "ESA", "JSA"]), size=n),
            "office": [f"{s[:2]}-{k}" for s, k in zip(site, office_no, strict=True)],
            "referred_day": rng.integers(0, 60, size=n),
            "age": rng.integers(18, 65, size=n),
            "female": rng.integers(0, 2, size=n),
            "prior_earnings": np.round(rng.lognormal(8, 1, size=n) * (rng.random(n) < 0.5), 2),
        }
    )


@pytest.fixture
def people() -> pd.DataFrame:
    """240 participants in 3 sites x 3 benefits, with offices nested in sites."""
    return _people(240, seed=20180501)


@pytest.fixture
def make_people():
    """Factory: ``make_people(n, seed)`` returns a participants file like ``people``."""
    return _people


# ------------------------------------------------------------------ Dask and Spark
# The engine tests (marked ``engine``) run each function on a pandas frame, on a Dask frame
# computed by a dask.distributed LocalCluster with 2 worker processes, and on a Spark frame
# (local mode, 2 threads). They skip when the [dask] or [spark] extra is missing, except in
# make test (DWP_EVAL_REQUIRE_EXTRAS=1), where a missing extra fails; without Java (a system
# package, which .ci/run installs) the Spark tests skip with the reason in the summary.
def _need(what: str) -> None:
    if os.environ.get("DWP_EVAL_REQUIRE_EXTRAS") == "1":
        pytest.fail(f"{what} is missing; make test installs it (and .ci/run installs Java)")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="session")
def dask_client():
    """A dask.distributed client on a LocalCluster of 2 single-threaded worker processes."""
    try:
        import dask.dataframe  # noqa: F401
        from distributed import Client, LocalCluster
    except ImportError:
        _need("the [dask] extra")
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def spark():
    """A Spark session in local mode (2 threads), its workers on this interpreter."""
    import shutil
    import sys

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _need("the [spark] extra")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        # Java is a system package, not an extra: .ci/run installs default-jre-headless, and
        # where that fails the Spark tests skip, saying so in the summary (-ra)
        pytest.skip("Java not found: Spark needs it (Debian: apt-get install default-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("dwp_eval-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", "2g")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["dask", "spark"])
def engine_frame(request):
    """``engine_frame(df, npartitions=3)``: ``df`` as a Dask or a Spark DataFrame (the test
    runs once per engine); pandas stays the reference."""
    if request.param == "dask":
        request.getfixturevalue("dask_client")  # skips (or fails) first when dask is missing
        import dask.dataframe as dd

        return lambda df, npartitions=3: dd.from_pandas(df, npartitions=npartitions)
    session = request.getfixturevalue("spark")
    return lambda df, npartitions=3: session.createDataFrame(df).repartition(npartitions)


@pytest.fixture
def dask_frame(dask_client):
    """``dask_frame(df, npartitions=3)``: ``df`` as a Dask DataFrame (Dask-only cases)."""
    import dask.dataframe as dd

    return lambda df, npartitions=3: dd.from_pandas(df, npartitions=npartitions)


@pytest.fixture
def spark_frame(spark):
    """``spark_frame(df, npartitions=3)``: ``df`` as a Spark DataFrame (Spark-only cases)."""
    return lambda df, npartitions=3: spark.createDataFrame(df).repartition(npartitions)
