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
# # Estimate the intention-to-treat effect
#
# A synthetic Work-and-Health-style trial: 6,000 referrals randomised 1:1
# within site x benefit strata, and 12-month outcomes simulated with a known
# effect (`datasets.whp_outcomes`: +4 percentage points on "13+ weeks in work").
# We estimate the ITT as an evaluator would report it: the design-based
# difference in means, then Lin-adjusted for baseline covariates, a
# randomisation test, a jobcentre-randomised version with CR2 standard errors,
# and the impact table over four outcomes.
#
# It runs top to bottom as a script (`python examples/02_estimate_the_itt.py`)
# or as a notebook (jupytext). The `assert` lines check the claims in the text.

# %%
import dwp_eval as de

people = de.datasets.whp_like(n=6000, seed=7)
alloc = de.randomise(people, strata=["site", "benefit"], seed=20180501)
arm = alloc.table.set_index("id")["arm"].reindex(people["id"]).to_numpy()
outcomes = de.datasets.whp_outcomes(people, arm, seed=7)
true_itt = outcomes.attrs["true_itt"]["employed_13_weeks"]
trial = people.merge(outcomes, on="id").merge(alloc.table[["id", "arm", "stratum"]], on="id")

# %% [markdown]
# ## The design-based difference in means
#
# Without covariates `itt` is the blocked difference in means (strata weighted
# by their size) with its Neyman variance: what estimatr's
# `difference_in_means(blocks=)` reports.

# %%
plain = de.itt(trial, outcome="employed_13_weeks", assigned="arm", strata="stratum")
assert plain.design == "blocked"
assert plain.conf_low < true_itt < plain.conf_high
plain  # a result shows itself as a table in a notebook (print(x.summary()) for text)

# %% [markdown]
# ## Adjusting for baseline covariates
#
# Lin (2013): centred covariates fully interacted with assignment, strata as
# fixed effects, HC2 standard errors. Covariates predictive of the outcome
# shrink the standard error without changing what is estimated.

# %%
covariates = ["age", "female", "months_out_of_work", "prior_earnings"]
lin = de.itt(
    trial, outcome="employed_13_weeks", assigned="arm", covariates=covariates, strata="stratum"
)
assert lin.std_error < plain.std_error
assert lin.conf_low < true_itt < lin.conf_high
lin

# %% [markdown]
# ## A randomisation test
#
# The p-value of the sharp null of no effect for anyone, from 2,000 re-draws of
# the stratified allocation, needs no large-sample assumption.

# %%
ri = de.randomisation_test(
    trial,
    outcome="employed_13_weeks",
    assigned="arm",
    strata="stratum",
    draws=2000,
    seed=1,
)
assert ri.p_value < 0.05
ri

# %% [markdown]
# ## When jobcentres are randomised
#
# With whole jobcentres assigned, outcomes are correlated within jobcentre and
# the default standard error is CR2 with Bell-McCaffrey degrees of freedom.

# %%
by_jobcentre = de.randomise(people, cluster="jobcentre", strata="site", seed=3)
arm_c = by_jobcentre.table.set_index("id")["arm"].reindex(people["id"]).to_numpy()
cluster_trial = people.merge(de.datasets.whp_outcomes(people, arm_c, seed=8), on="id")
cluster_trial["arm"] = arm_c
clustered = de.itt(
    cluster_trial,
    outcome="employed_13_weeks",
    assigned="arm",
    covariates=covariates,
    strata="site",
    cluster="jobcentre",
)
assert clustered.se_type == "CR2"
assert clustered.df < clustered.n_clusters
clustered

# %% [markdown]
# ## The impact table
#
# Four outcomes, each row exactly what `itt` gives for it, p-values adjusted
# within the family by Holm's method.

# %%
table = de.impact_table(
    trial,
    outcomes=["employed_13_weeks", "any_employment", "earnings_12m", "days_on_benefit"],
    assigned="arm",
    covariates=covariates,
    strata="stratum",
)
frame = table.to_frame()
assert frame.loc[frame["outcome"] == "employed_13_weeks", "estimate"].iloc[0] == lin.estimate
table
