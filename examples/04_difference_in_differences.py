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
# # Evaluate an area roll-out by difference-in-differences
#
# A programme piloted in districts in three waves (like Pathways to Work:
# 3 districts in 2003, 4 more in 2004, national roll-out later), with an
# effect on the monthly employment rate that grows with time since the start.
# `area_rollout` simulates such a panel with known true effects. We
#
# 1. reproduce the classic 2x2 (Card & Krueger 1994, Table 3, row 4);
# 2. show that two-way fixed effects (TWFE) misses the roll-out's effect and
#    why (the Goodman-Bacon decomposition);
# 3. estimate it with Callaway & Sant'Anna (2021) group-time effects;
# 4. draw the event study and test pre-trends.
#
# It runs top to bottom as a script or as a notebook (jupytext). The `assert`
# lines check the claims in the text.

# %%
from dwp_eval.datasets.card_krueger import card_krueger
from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.estimate.did import bacon_decomposition, did
from dwp_eval.estimate.event_study import event_study
from dwp_eval.estimate.staggered import staggered_did

# %% [markdown]
# ## 1. The 2x2: New Jersey's minimum wage
#
# Stores with employment in both waves; TWFE with store and wave effects is
# the difference in mean changes, CR2 clustered by store.

# %%
ck = card_krueger().dropna(subset=["fte"])
both = ck[ck.groupby("store")["fte"].transform("size") == 2]
nj = did(both, outcome="fte", unit="store", time="wave", treated="nj", post="wave", se_type="CR2")
print(nj)
assert round(nj.estimate, 2) == 2.75 and round(nj.std_error, 2) == 1.34  # Table 3, row 4

# %% [markdown]
# ## 2. A staggered roll-out, and what TWFE gets wrong

# %%
panel = area_rollout(n_areas=150, periods=24, cohorts=(7, 13, 19), seed=2003)
truth = panel.loc[panel["treated"] == 1, "true_effect"].mean()
twfe = did(panel, outcome="employment_rate", unit="area", time="month", treated="treated")
print(f"true ATT {truth:.4f}; TWFE {twfe.estimate:.4f} (SE {twfe.std_error:.4f})")
bacon = bacon_decomposition(panel, outcome="employment_rate", unit="area", time="month", cohort="cohort")
print(bacon)
assert twfe.conf_high < truth  # TWFE's interval misses the true effect
assert abs(bacon.to_frame().eval("weight * estimate").sum() - twfe.estimate) < 1e-10

# %% [markdown]
# ## 3. Callaway & Sant'Anna group-time effects

# %%
cs = staggered_did(panel, outcome="employment_rate", unit="area", time="month", cohort="cohort",
                   seed=20240501)
simple = cs.aggregate("simple")
print(simple)
lo, hi = simple.interval()
assert lo <= truth <= hi
by_wave = cs.aggregate("group", bootstrap=0)
print(by_wave.to_frame()[["cohort", "estimate", "std_error", "conf_low", "conf_high"]].round(4))

# %% [markdown]
# ## 4. Event study and pre-trends

# %%
es = event_study(panel, outcome="employment_rate", unit="area", time="month", cohort="cohort",
                 window=(-6, 12), seed=7)
print(es)
ax = es.plot()
ax.figure.savefig("event_study.png", dpi=100)
assert es.pretrend_p_value is not None and es.pretrend_p_value > 0.05
