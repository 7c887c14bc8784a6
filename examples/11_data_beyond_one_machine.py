# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data beyond one machine: a trial on Dask (and Spark)
#
# The main functions of dwp_eval (outcomes from admin records, `itt`, `cace`,
# `balance`, `did` and others) also take a Dask or a Spark DataFrame, and give
# the same numbers as on a pandas one. This notebook derives a trial's
# outcomes from its monthly employment records and benefit spells on a
# `dask.distributed` cluster of two small workers, reading the files lazily
# from parquet, then estimates the intention-to-treat effect there, and checks
# every number against pandas on the same rows; a short last part does the
# same estimate on Spark in local mode, when pyspark and Java are installed.
# The reasoning (when to switch, what runs where, what is not offered yet) is
# in the guide [Data beyond one machine](../guides/beyond-one-machine.md).
#
# The data are small (10,000 people, about 200,000 person-months): starting
# the workers and the Spark session takes much of the run, and nothing in the
# code depends on the size.
# It runs top to bottom as a notebook (jupytext); not as a plain script,
# because a script that starts worker processes must do so under
# `if __name__ == "__main__":` (see the guide's pitfalls), which a notebook
# cannot have. It needs the `[dask]` extra (`pip install "dwp_eval[dask]"`);
# the Spark part also needs the `[spark]` extra and Java. The `assert` lines
# check the claims in the text.

# %%
import os
import shutil
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import dwp_eval as de
from dwp_eval.datasets.admin import whp_monthly_records
from dwp_eval.errors import OptionError


def same(a: de.Effect, b: de.Effect) -> bool:
    """Every number of two results equal to 1e-10 relative (the engine adds the same
    sums in another order, so the last digits may differ)."""
    fields = ("estimate", "std_error", "df", "p_value", "conf_low", "conf_high")
    return all(np.isclose(getattr(a, f), getattr(b, f), rtol=1e-10, atol=1e-12) for f in fields) \
        and a.n_obs == b.n_obs and a.se_type == b.se_type

# %% [markdown]
# ## A cluster on this machine
#
# A `LocalCluster` is a scheduler and worker processes on one machine: the
# same `Client` API as a cluster of many machines, so code written against it
# moves to a real cluster by changing the address the `Client` connects to.
# Two workers, one thread each, and a memory limit per worker: a worker that
# nears it spills data to disk, then pauses, and one that goes over it is
# restarted, instead of taking the machine down. While a `Client` is open,
# Dask computations run on its cluster.

# %%
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       memory_limit="1GiB", dashboard_address=":0", silence_logs=40)
client = Client(cluster)
workers = client.scheduler_info()["workers"].values()
limits = [f"{w['memory_limit'] / 2**30:.1f} GiB" for w in workers]
print(f"{len(limits)} workers, memory limits {', '.join(limits)}")

# %% [markdown]
# ## The trial's files
#
# A Work-and-Health-style trial: 10,000 referrals randomised 1:1 within site x
# benefit strata, and two years of their monthly employment records and
# benefit spells, simulated with a known effect (+4 percentage points on "13+
# weeks in work"). On a data platform these would already be folders of
# parquet files, the records by far the biggest; here we write them, in
# several files each.

# %%
people = de.datasets.whp_like(n=10_000, seed=7)
alloc = de.randomise(people, strata=["site", "benefit"], seed=20180501)
people = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
records = whp_monthly_records(people, people["arm"], seed=2, months=24)

root = Path(tempfile.mkdtemp())
for name, table, files in [("people", people, 4), ("employment", records.employment, 8),
                           ("benefits", records.benefits, 4)]:
    dd.from_pandas(table, npartitions=files).to_parquet(root / name, write_index=False)
print(f"{len(records.employment):,} person-months, {len(records.benefits):,} benefit spells, "
      f"{len(people):,} people")

# %% [markdown]
# ## Reading lazily
#
# `dd.read_parquet` reads the files' schema and nothing else: each frame is a
# plan, a partition per file, and the rows are read by the workers when a
# result is needed. `columns=` reads only the columns the analysis uses.

# %%
person_cols = ["id", "referred_on", "arm", "stratum", "jobcentre", "age", "female",
               "months_out_of_work", "prior_earnings"]
big_people = dd.read_parquet(root / "people", columns=person_cols)
big_employment = dd.read_parquet(root / "employment")
big_benefits = dd.read_parquet(root / "benefits")
print(type(big_employment).__name__, "with", big_employment.npartitions,
      "partitions; nothing read yet")

# %% [markdown]
# ## Outcomes from the records, on the cluster
#
# `derive_outcomes` given Dask frames shuffles the rows of the three tables by
# person id, so that each person's records reach one partition, and runs the
# pandas rules on each partition. What comes back is a Dask frame with one
# row per person (in no particular order), and the one warning about the
# records, with the counts of all partitions. We check it against
# `derive_outcomes` on the same tables in memory.

# %%
outcomes = de.derive_outcomes(big_people, employment=big_employment, benefits=big_benefits,
                              randomised="referred_on", months=12)
in_memory = de.derive_outcomes(people, employment=records.employment,
                               benefits=records.benefits, randomised="referred_on", months=12)
got = outcomes.compute().sort_values("id", ignore_index=True)
pd.testing.assert_frame_equal(got, in_memory.sort_values("id", ignore_index=True),
                              check_dtype=False, rtol=1e-10)
got.head(3).T

# %% [markdown]
# ## The ITT on the cluster
#
# Join the arms and the baseline covariates (still on the cluster) and
# estimate. `itt` sees a Dask DataFrame and computes the estimate and its
# variance from sums: each worker adds up, per partition, the counts, means
# and cross-products of its rows, and the driver (this process) adds the
# partitions' sums and finishes: a `k x k` solve, one refinement step, the
# variance. What travels to the driver is a few small arrays, not the rows.
# The result is an `Effect` like any other; its method says where it was
# computed. Every number equals the in-memory result to 1e-10.

# %%
big = outcomes.merge(big_people, on="id")
small = in_memory.merge(people[person_cols], on="id")

res = de.itt(big, outcome="employed_13_weeks", assigned="arm")
assert same(res, de.itt(small, outcome="employed_13_weeks", assigned="arm"))
print(res.method)
res

# %% [markdown]
# Lin-adjusted for baseline covariates (centred covariates interacted with
# assignment, HC2), and with standard errors clustered by jobcentre (CR2 with
# Bell-McCaffrey degrees of freedom from one block per jobcentre: the driver
# gets a few numbers per jobcentre, never an `n_g x n_g` matrix).

# %%
covariates = ["age", "female", "months_out_of_work", "prior_earnings"]
lin = de.itt(big, outcome="employed_13_weeks", assigned="arm", covariates=covariates)
assert same(lin, de.itt(small, outcome="employed_13_weeks", assigned="arm",
                        covariates=covariates))
true_itt = 0.04  # the effect whp_monthly_records builds in (its default)
assert lin.conf_low < true_itt < lin.conf_high

by_jobcentre = de.itt(big, outcome="cumulative_earnings", assigned="arm",
                      covariates=covariates, cluster="jobcentre")
assert same(by_jobcentre, de.itt(small, outcome="cumulative_earnings", assigned="arm",
                                 covariates=covariates, cluster="jobcentre"))
print(f"Lin:            {lin.estimate:.4f} (SE {lin.std_error:.4f}, {lin.se_type})")
print(f"by jobcentre:   {by_jobcentre.estimate:.2f} (SE {by_jobcentre.std_error:.2f}, "
      f"{by_jobcentre.se_type}, {by_jobcentre.n_clusters} clusters, df {by_jobcentre.df:.1f})")

# %% [markdown]
# A randomisation test re-draws the assignment the way the trial drew it
# (within its site x benefit strata here). The draws are a units x draws
# computation made on the driver, so the units come there: people randomised
# one by one are the units, so their outcome, arm and strata come (three
# columns); in a cluster design the engine would send one summary row per
# cluster instead. The rows are sorted first, so the same seed gives the
# same test however the frame is partitioned.

# %%
ri = de.randomisation_test(big, outcome="employed_13_weeks", assigned="arm",
                           strata="stratum", draws=999, seed=7)
print(f"randomisation test: p = {ri.p_value:.3f} ({ri.draws} draws, {ri.design}), "
      f"interval {ri.conf_low:.4f} to {ri.conf_high:.4f}")

# %% [markdown]
# ## What is not offered on an engine yet, and the fix
#
# Some options need the rows of the analysis sample together: the blocked
# difference in means by strata, for one. On an engine they raise an
# `OptionError` that names the option and the fix. The fix is cheap: the
# analysis sample has one row per person, and a trial of a few million people
# fits in memory. Select the columns the analysis uses and bring them to the
# driver with `.compute()` (Spark: `.toPandas()`).

# %%
try:
    de.itt(big, outcome="employed_13_weeks", assigned="arm", strata="stratum")
except OptionError as exc:
    print(exc)

sample = big[["arm", "stratum", "employed_13_weeks"]].compute()  # one row per person
blocked = de.itt(sample, outcome="employed_13_weeks", assigned="arm", strata="stratum")
assert blocked.design == "blocked"
print(f"\nblocked difference in means: {blocked.estimate:.4f} (SE {blocked.std_error:.4f}), "
      f"{len(sample):,} rows, {sample.memory_usage(deep=True).sum() / 2**20:.1f} MiB in memory")

# %% [markdown]
# The analysis file (one row per person: the outcome, arm and covariates) is
# written from the cluster for the Spark part below, and the cluster closed.

# %%
big[["id", "arm", "employed_13_weeks", *covariates]].to_parquet(root / "analysis",
                                                                 write_index=False)
client.close()
cluster.close()

# %% [markdown]
# ## The same on Spark
#
# In local mode Spark runs in this machine's Java process, with `local[2]`
# two threads; on Databricks or a trusted research environment the session
# already exists (`spark`) and the same calls run on its cluster. Spark's
# Python workers must run this interpreter (`PYSPARK_PYTHON`), which has
# dwp_eval, pandas and pyarrow. Spark reads the analysis file lazily, as Dask
# did, and gives the Lin-adjusted ITT again, equal to pandas. This part is
# skipped when pyspark or Java is missing.

# %%
have_spark = find_spec("pyspark") is not None and (
    shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME")))
if not have_spark:
    print("pyspark or Java is not installed: the Spark part is skipped")
else:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[2]").appName("dwp_eval-example")
             .config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "1g")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    sdf = spark.read.parquet(str(root / "analysis"))  # lazy, as with Dask
    on_spark = de.itt(sdf, outcome="employed_13_weeks", assigned="arm", covariates=covariates)
    assert same(on_spark, de.itt(small, outcome="employed_13_weeks", assigned="arm",
                                 covariates=covariates))
    print(on_spark.method)
    print(f"Lin on Spark: {on_spark.estimate:.4f} (SE {on_spark.std_error:.4f}), equal to pandas")
    spark.stop()

# %%
shutil.rmtree(root)  # the parquet files written above
