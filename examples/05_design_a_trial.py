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
# # Design a trial: MDE, sample size and a check by simulation
#
# Before randomising anyone, an evaluator sizes the trial. Here: an IPS-style
# trial with a binary primary outcome ("13+ weeks in work within 12 months",
# about 20% in the control group), 65% take-up of the offer and 5% of the
# control group receiving similar support elsewhere; then the same question
# for a trial that randomises whole jobcentres; and finally a check of the
# analytic answer by simulating the trial and analysing it as planned.
#
# It runs top to bottom as a script (`python examples/05_design_a_trial.py`)
# or as a notebook (jupytext). The `assert` lines check the claims in the text.

# %%
import dwp_eval as de

# %% [markdown]
# ## What can 3,675 people detect?
#
# The ITT MDE is what the headline comparison can detect; the CACE MDE is
# the effect the programme must have on those who receive it, the ITT MDE
# divided by (take-up - contamination). A binary outcome's variance is taken
# under the alternative (p(1-p) at the treated rate), as in the standard
# two-proportion calculations; `binary_variance="baseline"` keeps p0(1-p0)
# in both arms, which understates the sample needed.

# %%
res = de.mde(n=3675, baseline_rate=0.2, take_up=0.65, contamination=0.05,
             outcome="employed_13_weeks")
assert round(100 * res.mde, 2) == 3.82 and round(100 * res.mde_cace, 2) == 6.37
assert abs(res.mde_cace - res.mde / (0.65 - 0.05)) < 1e-12
base = de.mde(n=3675, baseline_rate=0.2, take_up=0.65, contamination=0.05,
              binary_variance="baseline")
assert base.mde < res.mde
res  # a result shows itself as a table in a notebook (print(x.summary()) for text)

# %% [markdown]
# ## How many people for a 6-point effect of receiving the programme?
#
# With take-up or contamination, `sample_size` and `power` need to be told
# which effect they are given: `scale="cace"` for the effect of receiving the
# programme, `scale="itt"` for the effect of the offer (what `mde` reports in
# `.mde`). Take-up and contamination dilute the ITT, so on the CACE scale the
# sample needed grows with 1 / (take-up - contamination)^2: here about 2.8
# times what full take-up would need.

# %%
full = de.sample_size(mde=0.06, baseline_rate=0.2)
diluted = de.sample_size(mde=0.06, baseline_rate=0.2, take_up=0.65, contamination=0.05,
                         scale="cace")
print(f"full take-up: {full.n:,} people; 65% take-up, 5% contamination: {diluted.n:,} people")
assert 2.6 < diluted.n / full.n < 3.0

# %% [markdown]
# The three functions are inverses: the MDE of 3,675 people, fed back on
# either scale, needs 3,675 people and has 80% power.

# %%
again = de.sample_size(mde=res.mde, baseline_rate=0.2, take_up=0.65, contamination=0.05,
                       scale="itt")
back = de.power(effect=res.mde_cace, n=3675, baseline_rate=0.2, take_up=0.65,
                contamination=0.05, scale="cace")
print(f"sample size for the ITT MDE: {again.n:,}; power at the CACE MDE: {back.power:.3f}")
assert again.n == 3675 and abs(back.power - 0.8) < 1e-9

# %% [markdown]
# ## Randomising jobcentres instead
#
# With 120 eligible claimants a jobcentre and an intraclass correlation of
# 0.02, randomising 60 jobcentres detects a much larger effect than
# randomising the same 7,200 people one by one: the design effect is
# 1 + (m - 1) ICC = 3.4.

# %%
cluster = de.mde(n_clusters=60, cluster_size=120, icc=0.02, baseline_rate=0.2)
people = de.mde(n=7200, baseline_rate=0.2)
print(f"\nindividual randomisation of the same 7,200 people: MDE {100 * people.mde:.2f} pp")
assert cluster.mde > 1.7 * people.mde
cluster

# %% [markdown]
# A power curve over the number of jobcentres, for two effects:

# %%
curve = de.power_curve(effect=[0.04, 0.06], n_clusters=[20, 40, 60, 80, 100],
                       cluster_size=120, icc=0.02, baseline_rate=0.2)
print(curve.to_frame().round(3).to_string(index=False))
ax = curve.plot()
powers = curve.to_frame().query("effect == 0.06")["power"].to_numpy()
assert (powers[1:] > powers[:-1]).all()

# %% [markdown]
# ## Check by simulation
#
# `diagnose` simulates the trial many times, randomises each simulated
# population with `randomise`, estimates the CACE with `cace` exactly as the
# analysis plan says (strata as fixed effects, HC2) and reports bias,
# coverage and power with their Monte Carlo standard errors. The analytic
# power for the same design should agree within Monte Carlo error (plus the
# approximation in the formula).

# %%
dgp = de.whp_population(3000, effect=0.08, take_up=0.65, contamination=0.05)
sim = de.diagnose(dgp, estimator="cace", sims=200, seed=20180501, strata="site")
analytic = de.power(effect=0.08, n=3000, baseline_rate=0.21, take_up=0.65, contamination=0.05,
                    scale="cace")
print(f"\nanalytic power {analytic.power:.3f}; simulated {sim.power:.3f} "
      f"(MC SE {sim.power_mc_se:.3f})")
assert abs(sim.bias) < 4 * sim.bias_mc_se + 0.005
assert abs(sim.power - analytic.power) < 4 * sim.power_mc_se + 0.05
sim
