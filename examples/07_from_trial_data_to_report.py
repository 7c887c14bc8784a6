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
# # From trial data to report: a Work-and-Health-style trial end to end
#
# The whole path an evaluator follows, on synthetic data shaped like the Work
# and Health Programme RCT: allocate referrals (with an audit log), derive
# take-up and control-group contamination from programme-start and referral
# records, derive 12-month employment outcomes from monthly earnings records
# (like HMRC Real Time Information) and benefit spells, then run the
# pre-specified analysis plan and write the impact report: CONSORT flow,
# balance, ITT impacts with multiplicity adjustment, subgroups, contamination
# by site, the CACE beside the ITT, and the minimum detectable effect achieved,
# with disclosure control on every published count.
#
# It runs top to bottom as a script or as a notebook (jupytext). The `assert`
# lines check the claims in the text.

# %%
import tempfile
import warnings
from pathlib import Path

import dwp_eval as de
from dwp_eval.datasets import SIMILAR_PROVISION

out = Path(tempfile.mkdtemp(prefix="dwp_eval_report_"))

# %% [markdown]
# ## 1. Allocation
#
# 4,000 referrals randomised 1:1 within site x benefit strata. The allocation
# and its audit log are written once and never overwritten.

# %%
people = de.datasets.whp_like(n=4000, seed=7)
alloc = de.randomise(people, strata=["site", "benefit"], seed=20180501)
alloc.write(out / "allocation.csv")
people = people.merge(alloc.table[["id", "arm", "stratum"]], on="id", validate="one_to_one")
print(alloc.summary().splitlines()[0])

# %% [markdown]
# ## 2. Take-up and contamination from the records
#
# Programme starts give take-up in the treatment arm; referrals to provision
# like the programme (the IPS trial, third-party IPS support) give
# contamination in the control arm. Record problems (unknown ids, duplicates,
# dates before randomisation) are counted, never dropped silently.

# %%
records = de.datasets.whp_referrals(people, people["arm"], seed=8)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", de.RecordProblemsWarning)  # counted in attrs
    started = de.take_up(people, records.starts, randomised="referred_on")
    flags = de.flag_contamination(people, records.referrals, randomised="referred_on",
                                  similar=SIMILAR_PROVISION, min_days=7)
received = started["received"].to_numpy() | flags["contaminated"].to_numpy()
print(f"take-up in the treatment arm: {received[people['arm'] == 'treatment'].mean():.1%}")
print(f"controls receiving similar provision: {flags['contaminated'][people['arm'] == 'control'].mean():.1%}")
assert flags.attrs["data_problems"], "record problems are reported"

# %% [markdown]
# ## 3. Outcomes from monthly earnings records
#
# `derive_outcomes` turns person-month earnings records and benefit spells into
# the trial's outcomes over the 12 months after randomisation. The records end
# on 31 March 2020, so people randomised less than 12 months before then have
# no outcome yet: NA with a reason, never a zero.

# %%
admin = de.datasets.whp_monthly_records(people, people["arm"], seed=9, received=received,
                                        data_end="2020-03-31")
outcomes = de.derive_outcomes(people, employment=admin.employment, benefits=admin.benefits,
                              randomised="referred_on", months=12)
incomplete = outcomes[~outcomes["follow_up_complete"]]
print(outcomes.attrs["follow_up"])
print(incomplete[["id", "employed_13_weeks", "reason"]].head(3).to_string(index=False))
assert incomplete["employed_13_weeks"].isna().all()
assert (incomplete["reason"].str.startswith("follow-up incomplete")).all()
assert len(outcomes) == len(people)  # nobody lost

# %% [markdown]
# ## 4. The analysis data and the pre-specified plan
#
# One row per person. The plan (TOML) was written before the outcomes were
# seen; its SHA-256 fingerprint goes into the report.

# %%
trial = (
    people.merge(outcomes.drop(columns=["reason", "follow_up_end"]), on="id", validate="one_to_one")
    .assign(received=received, contaminated=flags["contaminated"].to_numpy(),
            followed_up=outcomes["follow_up_complete"].to_numpy().astype(int))
    .drop(columns="follow_up_complete")
)
plan_path = out / "plan.toml"
plan_path.write_text(de.datasets.whp_plan(), encoding="utf-8")
plan = de.AnalysisPlan.read(plan_path)
print(plan.summary())

# %% [markdown]
# ## 5. Run the plan
#
# `Trial` binds the column roles once; `trial.analyse(plan)` is `analyse(data,
# plan)` after checking the plan binds the same roles.

# %%
t = de.Trial(trial, id="id", assigned="arm", strata="stratum", received="received",
             contaminated="contaminated")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", de.DroppedRowsWarning)  # counted in the report's notes
    report = t.analyse(plan)
print([s.key for s in report.sections])
print(report.results["impact"].summary())

# %% [markdown]
# Every number in the report is the library's own: the impact table equals
# what `impact_table` gives with the plan's settings, and the CACE equals
# `cace`.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore", de.DroppedRowsWarning)
    direct = t.itt(outcome="employed_13_weeks", covariates=list(plan.covariates), se_type="HC2",
                   missing="drop")
    direct_cace = t.cace(outcome="employed_13_weeks", covariates=list(plan.covariates),
                         se_type="HC2", missing="drop")
row = report.tables["impact"].iloc[0]
assert row["estimate"] == direct.estimate and row["std_error"] == direct.std_error
assert report.tables["cace"].iloc[0]["estimate"] == direct_cace.estimate
direct_cace  # a result shows itself as a table in a notebook (print(x.summary()) for text)

# %% [markdown]
# ## 6. Disclosure control and the published report
#
# Counts under 10 are suppressed (`[c]`) and the others rounded to the nearest
# 5, as the plan says; the rule is stated in the report. Estimates use the
# unrounded data.

# %%
flow = report.tables["flow"]
print(flow.to_string(index=False))
assert all(v == "[c]" or v % 5 == 0 for v in flow["count"])
print(report.tables["contamination_by_site"][["site", "n", "n_flagged", "rate"]].to_string(index=False))

# %% [markdown]
# Anything run outside the plan is labelled exploratory.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore", de.DroppedRowsWarning)
    extra = t.itt(outcome="employed_weeks", covariates=list(plan.covariates), missing="drop")
report = report.with_exploratory("Weeks in work", extra)
assert report.sections[-2].exploratory and report.sections[-1].key == "disclosure"  # the log stays last

path = report.to_html(out / "report.html")
report.to_csv(out / "tables")
print(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained)")
assert plan.fingerprint in path.read_text(encoding="utf-8")

# %% [markdown]
# The same from a shell: `dwp-eval analyse trial.csv --plan plan.toml --out report.html`.
