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
# # Randomise a trial
#
# This walks through allocating a Work-and-Health-style trial with `dwp_eval`:
# a stratified 1:1 allocation of 8,000 referrals, its exact probabilities and
# balance, the audit trail on disk (write, read, verify, no overwriting), rolling
# allocation of people referred later, and a jobcentre-level cluster design.
#
# It runs top to bottom as a script (`python examples/01_randomise_a_trial.py`)
# or as a notebook (open it with jupytext). The `assert` lines check the claims
# made in the text, so the example fails loudly if the library stops keeping
# them.

# %%
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import dwp_eval as de

SEED_POPULATION = 2018
SEED_ALLOCATION = 20180501  # recorded in the protocol before randomising

# %% [markdown]
# ## The population
#
# `whp_like` makes a synthetic population shaped like the Work and Health
# Programme trial: people referred over 17 months at 42 jobcentres in seven
# sites, with their benefit, health condition and work history. The numbers are
# invented.

# %%
people = de.datasets.whp_like(n=8000, seed=SEED_POPULATION)
print(people.head())
print(people["site"].value_counts())

# %% [markdown]
# ## Stratified 1:1 randomisation
#
# Randomise people 1:1 to control and treatment within strata of site and
# benefit. The seed is an integer, so it is written into the audit log as it is.
# To show rolling allocation later, we first randomise everyone referred before
# September 2018 and keep the later referrals back.

# %%
cutoff = pd.Timestamp("2018-09-01")
first = people[people["referred_on"] < cutoff]
later = people[people["referred_on"] >= cutoff]

alloc = de.randomise(first, strata=["site", "benefit"], seed=SEED_ALLOCATION)
alloc  # a result shows itself as a table in a notebook (print(x.summary()) for text)

# %% [markdown]
# ### Counts by stratum
#
# Within every stratum each arm gets half the people, rounded down or up: the
# odd person in a stratum of odd size goes to treatment with probability 1/2.

# %%
counts = alloc.counts()
print(counts)

half = counts.sum(axis=1) / 2
assert counts["control"].between(np.floor(half), np.ceil(half)).all()
assert counts["treatment"].between(np.floor(half), np.ceil(half)).all()
assert int(counts.to_numpy().sum()) == len(first)

# %% [markdown]
# ### Exact probabilities
#
# Every person's probability of each arm is exactly 1/2, in every stratum,
# however small. The table stores it beside the arm, ready for analysis.

# %%
table = alloc.table
print(table.head())
assert (table["prob_control"] == 0.5).all()
assert (table["prob_treatment"] == 0.5).all()

# %% [markdown]
# The same holds for unequal ratios and more arms. In a stratum of 7 people at
# 2:1:1 the expected counts are 3.5, 1.75 and 1.75; each arm gets the floor
# (3, 1, 1), and the two people left over go to arms chosen with inclusion
# probabilities 0.5, 0.75 and 0.75 (the fractional parts). Each person's
# probabilities are then exactly 1/2, 1/4 and 1/4.

# %%
seven = pd.DataFrame({"id": range(1, 8)})
three_arms = {"control": 2, "ips": 1, "ips_plus": 1}
small = de.randomise(seven, arms=three_arms, seed=1)
print(small.counts())
assert small.table.loc[0, ["prob_control", "prob_ips", "prob_ips_plus"]].tolist() == [
    0.5,
    0.25,
    0.25,
]
possible = {(3, 2, 2), (4, 1, 2), (4, 2, 1)}
for seed in range(50):
    drawn = de.randomise(seven, arms=three_arms, seed=seed).counts().iloc[0]
    assert tuple(int(c) for c in drawn) in possible

# %% [markdown]
# ## Baseline balance
#
# Standardised differences of baseline characteristics between the arms
# (Austin 2009); 0.1 or more is marked with `*`.

# %%
covariates = [
    "age",
    "female",
    "disability",
    "months_out_of_work",
    "prior_earnings",
    "health_condition",
]
bal = alloc.balance(first, covariates)
assert bal.max_abs_std_diff < 0.1
bal

# %% [markdown]
# ## Write, read back and verify
#
# The allocation is written as a CSV table and a JSON audit log beside it. The
# log records the design, the seed, a fingerprint of the people randomised, the
# SHA-256 of the table file, and the library versions.

# %%
folder = Path(tempfile.mkdtemp(prefix="dwp_eval_example_"))
path = folder / "allocation.csv"
log_path = alloc.write(path)
log = json.loads(log_path.read_text())
print(sorted(log))
print(log["batches"][0]["seed"], log["fingerprint"][:16])
assert log["batches"][0]["seed"] == {"kind": "int", "seed": SEED_ALLOCATION}
assert log["fingerprint"] == alloc.fingerprint

# %% [markdown]
# Reading it back checks the table against the checksum in its log, and
# `verify` re-draws the allocation from the recorded seed and the participants
# data. It raises if any person's arm differs; here it returns quietly.

# %%
again = de.Allocation.read(path)
again.verify(first)
assert again.table["arm"].tolist() == alloc.table["arm"].tolist()
print("verified:", again)

# %% [markdown]
# A second write to the same place is refused: an allocation is never
# overwritten by accident.

# %%
try:
    alloc.write(path)
except de.errors.AllocationExistsError as err:
    print("refused:", str(err).split(";")[0])
else:
    raise AssertionError("a second write should have been refused")

# %% [markdown]
# ## Rolling allocation of later referrals
#
# People referred after the first allocation are added with `extend`, in
# monthly batches. Each batch is allocated by permuted blocks within its
# stratum, in referral order, without changing anyone already allocated; every
# batch's seed goes into the log.

# %%
rolling = again
month = later["referred_on"].dt.to_period("M")
for k, (period, batch) in enumerate(later.groupby(month)):
    rolling = rolling.extend(batch, seed=SEED_ALLOCATION + k + 1)
    print(f"{period}: {len(batch):,} referrals allocated as batch {k + 1}")

n_batches = month.nunique() + 1
assert len(rolling.metadata["batches"]) == n_batches
assert rolling.n == len(people)
# nobody allocated earlier changed arm
before = rolling.table[rolling.table["batch"] == 0]
assert before["arm"].tolist() == alloc.table["arm"].tolist()
# the ratio stays tight in every stratum
rolling_counts = rolling.counts()
assert (rolling_counts["control"] - rolling_counts["treatment"]).abs().max() <= 4
# every batch re-draws from its seed
rolling.verify(people)
rolling

# %% [markdown]
# Someone who is already allocated cannot be allocated again:

# %%
try:
    rolling.extend(people.head(2), seed=1)
except de.errors.DesignError as err:
    print("refused:", err)
else:
    raise AssertionError("extending with allocated ids should fail")

# %% [markdown]
# The extended allocation is written to a new file; the first one is kept.

# %%
rolling.write(folder / "allocation_all.csv")
de.Allocation.read(folder / "allocation_all.csv").verify(people)
print(sorted(p.name for p in folder.iterdir()))

# %% [markdown]
# ## A jobcentre-level design
#
# When the intervention changes how a jobcentre works, whole jobcentres are
# randomised: everyone in a jobcentre gets its arm. Stratifying by site keeps
# the arms comparable with only 42 clusters. Each site's jobcentres are split
# between the arms as evenly as their number allows, and each jobcentre (so
# each person) has probability exactly 1/2 of treatment.

# %%
by_jobcentre = de.randomise(people, cluster="jobcentre", strata="site", seed=SEED_ALLOCATION)

jc = by_jobcentre.table
assert by_jobcentre.design == "stratified-cluster"
assert (jc.groupby("cluster")["arm"].nunique() == 1).all()
per_site = jc.drop_duplicates("cluster").groupby(["stratum", "arm"], observed=True).size().unstack()
print(per_site)
half_jc = per_site.sum(axis=1) / 2
assert per_site["control"].between(np.floor(half_jc), np.ceil(half_jc)).all()
assert (jc["prob_treatment"] == 0.5).all()
by_jobcentre.verify(people)
by_jobcentre

# %%
print(f"Done. Files are in {folder}")
