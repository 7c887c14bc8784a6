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
# # Reproduce the JTPA table of *Mostly Harmless Econometrics*
#
# The US National JTPA Study randomised about 20,000 applicants for services
# under the Job Training Partnership Act (1987-89): two thirds were offered
# training, job-search assistance or other services (the *offer*, Z), one third
# were not. Not everyone offered enrolled, and a few people who were not
# offered enrolled anyway, so the offer is a randomised *encouragement* and
# enrolment in training (D) is the choice people made.
#
# We use the adult sample of Abadie, Angrist & Imbens (2002; "AAI"): 5,102 men
# and 6,102 women, with earnings over the 30 months after random assignment.
# The data ship with dwp_eval (`dwp_eval.datasets.jtpa()`; their provenance is
# in `dwp_eval/datasets/data/PROVENANCE.md`); pass the path of your own copy of
# `jtpa.dta` to read that instead. Angrist & Pischke, *Mostly Harmless
# Econometrics* (2009; "MHE"), Table 4.4.1 reports for men and for women:
#
# | MHE column | quantity | what it is |
# | --- | --- | --- |
# | (1)-(2) | OLS | earnings of trainees minus non-trainees (a comparison by *choice*) |
# | (3)-(4) | ITT | earnings of those offered minus those not offered: the effect of the offer |
# | (5)-(6) | IV | the effect of training on those whom the offer moved into training |
#
# each without and with baseline covariates, with heteroskedasticity-robust
# standard errors. We reproduce every cell with `dwp_eval.itt` and
# `dwp_eval.cace`, plus the first stage that AAI (2002, Table I) report, and
# check each against the published value (`dwp_eval.datasets.jtpa_mhe_table()`)
# to its printed precision. The reproduced table is saved as
# `jtpa_table_4_4_1.csv` in the working directory.
#
# It runs top to bottom as a script or as a notebook (jupytext), from an
# installed dwp_eval. The `assert` lines check the claims in the text.

# %%
import numpy as np
import pandas as pd

import dwp_eval as de
from dwp_eval.datasets import jtpa, jtpa_mhe_table

data = jtpa()  # or jtpa("path/to/your/jtpa.dta")
published = jtpa_mhe_table()
samples = {"men": data[data["sex"] == 1], "women": data[data["sex"] == 0]}

# AAI (2002, p. 101), repeated in the MHE table notes: race and ethnicity,
# high school or GED, married, five age groups, worked < 13 weeks in the year
# before assignment, the recommended service strategy (classroom / OJT-JSA;
# "other" omitted), second follow-up survey, and AFDC receipt for women only.
BASELINE = ["hsorged", "black", "hispanic", "married", "wkless13", "class_tr", "ojt_jsa",
            "age2225", "age2629", "age3035", "age3644", "age4554", "f2sms"]


def covariates(sample: str, spec: str) -> list[str] | None:
    if spec == "none":
        return None
    return [*BASELINE, "afdc"] if sample == "women" else BASELINE


print({name: len(frame) for name, frame in samples.items()})
assert {name: len(frame) for name, frame in samples.items()} == {"men": 5102, "women": 6102}

# %% [markdown]
# ## Non-compliance on both sides
#
# With *one-sided* non-compliance only the treatment arm can fall short: some
# people offered a programme never start ("no-shows"), but nobody in the
# control arm can get it. With *two-sided* non-compliance some controls
# receive the programme (or something like it) as well ("crossovers").
#
# JTPA is two-sided, but barely: about 62-66% of those offered enrolled in
# training, and 1-2% of those not offered enrolled too (a few got into
# training despite the embargo on controls). In the language of Angrist,
# Imbens & Rubin (1996) the controls who trained are *always-takers*, the
# offered who did not are *never-takers*, and the offer moved the *compliers*
# into training.

# %%
take_up = pd.DataFrame([
    {"sample": name, "offered": offer, "n": len(group), "trained": int(group.sum()),
     "share_trained": group.mean()}
    for name, frame in samples.items()
    for offer, group in frame.groupby("jtpa_offer")["jtpa_training"]
])
print(take_up.round(4).to_string(index=False))
rate = take_up.set_index(["sample", "offered"])["share_trained"]
assert rate.xs(1, level="offered").between(0.6, 0.7).all()  # no-shows: a third did not train
assert rate.xs(0, level="offered").between(0, 0.03, inclusive="neither").all()  # crossovers

# %% [markdown]
# ## The intention-to-treat effect (MHE columns 3-4)
#
# The ITT (the *reduced form*, in IV language) compares everyone offered with
# everyone not offered, whatever they then did. Randomisation makes it an
# unbiased estimate of the effect of the *offer*; no-shows and crossovers dilute
# it but do not bias it. MHE report it without covariates and with the
# baseline covariates entered additively (`adjustment="additive"`; dwp_eval's
# default is Lin's interacted adjustment) and robust standard errors: Stata's
# `robust`, i.e. HC1 (dwp_eval's default, HC2, differs from it by cents here).

# %%
fits: dict[tuple[str, str, str], de.Effect] = {}
for name, frame in samples.items():
    for spec in ("none", "baseline"):
        fits[name, spec, "itt"] = de.itt(
            frame, outcome="earnings", assigned="jtpa_offer", control="0",
            covariates=covariates(name, spec), adjustment="additive", se_type="HC1",
        )
hc2 = fits["men", "none", "itt"].with_se("HC2")
assert abs(hc2.std_error - fits["men", "none", "itt"].std_error) < 0.05
fits["men", "none", "itt"]  # a result shows its summary table in a notebook

# %% [markdown]
# ## The first stage
#
# The first stage is the same comparison with enrolment in training as the
# outcome: how much the offer raised the share trained, `p_T - p_C`. It is
# the share of compliers. It is large (61 percentage points for men, 64 for
# women) and precisely estimated (robust F in the thousands): JTPA is a strong
# instrument.

# %%
for name, frame in samples.items():
    for spec in ("none", "baseline"):
        fits[name, spec, "wald_iv"] = de.cace(
            frame, outcome="earnings", assigned="jtpa_offer", control="0",
            received="jtpa_training", covariates=covariates(name, spec), se_type="HC1",
        )
first = {name: fits[name, "none", "wald_iv"].first_stage for name in samples}
print(pd.concat({name: fs.to_frame() for name, fs in first.items()}).droplevel(1)[
    ["take_up_treatment", "take_up_control", "difference", "std_error", "f_statistic"]
].round(4))
for fs in first.values():
    assert abs(fs.difference - (fs.take_up_treatment - fs.take_up_control)) < 1e-12
    assert fs.f_statistic > 1000
# the reduced form inside the CACE is the ITT above
for key in [(n, s) for n in samples for s in ("none", "baseline")]:
    assert abs(fits[(*key, "wald_iv")].itt.estimate - fits[(*key, "itt")].estimate) < 1e-8

# %% [markdown]
# ## The Bloom estimator and the Wald estimator (MHE column 5)
#
# Bloom (1984) noticed that, with one-sided non-compliance, the no-shows gain
# nothing from the offer, so the whole ITT comes from those who took part:
# the effect on participants is `ITT / p_T`. With two-sided non-compliance the
# crossovers received the programme in both arms, so the offer changed the
# programme status only of the compliers, a share `p_T - p_C`. Hence
# the Wald estimator `ITT / (p_T - p_C)`: the complier average causal effect
# (CACE, or LATE; Imbens & Angrist 1994). It is what MHE print in column 5,
# and what `cace` estimates by two-stage least squares. In JTPA the
# crossovers are few, so dividing by `p_T` alone would understate the effect
# only a little (by less than 3%).

# %%
bloom = pd.DataFrame([
    {
        "sample": name,
        "itt": fits[name, "none", "itt"].estimate,
        "p_t": first[name].take_up_treatment,
        "p_c": first[name].take_up_control,
        "itt_over_p_t": fits[name, "none", "itt"].estimate / first[name].take_up_treatment,
        "wald": fits[name, "none", "itt"].estimate / first[name].difference,
        "cace_2sls": fits[name, "none", "wald_iv"].estimate,
    }
    for name in samples
])
print(bloom.round(3).to_string(index=False))
assert np.allclose(bloom["wald"], bloom["cace_2sls"], rtol=1e-12, atol=0)
assert (bloom["itt_over_p_t"] < bloom["wald"]).all()
assert ((bloom["wald"] - bloom["itt_over_p_t"]) / bloom["wald"] < 0.03).all()

# %% [markdown]
# ## Two-stage least squares with covariates (MHE column 6)
#
# With covariates the ratio becomes 2SLS: training instrumented by the offer,
# the covariates in both stages. The estimate is still the ratio of the
# reduced form to the first stage, each adjusted for the same covariates.
# Because the first stage is strong the Anderson-Rubin interval (valid however
# weak the instrument) is almost the usual t interval.

# %%
for name in samples:
    res = fits[name, "baseline", "wald_iv"]
    print(f"{name}: 2SLS {res.estimate:,.1f} (SE {res.std_error:,.1f}); "
          f"t interval [{res.conf_low:,.0f}, {res.conf_high:,.0f}], "
          f"Anderson-Rubin {res.ar_interval.text()}")
    assert abs(res.estimate - res.itt.estimate / res.first_stage.difference) < 1e-8
    assert res.ar_interval.bounded and res.ar_interval.contains(res.estimate)
    width = res.conf_high - res.conf_low
    assert abs(res.ar_interval.low - res.conf_low) < 0.01 * width
    assert abs(res.ar_interval.high - res.conf_high) < 0.01 * width

# %% [markdown]
# ## The comparison by training status (MHE columns 1-2)
#
# For contrast, MHE also compare trainees with non-trainees, ignoring the
# offer. This is the same regression with training status in the place of
# assignment (so `itt` computes it), but it is not an experimental
# comparison: who trains is chosen. For men the trainee-non-trainee difference
# is more than twice the experimental (IV) estimate of the effect of training,
# with or without covariates: selection, not training, makes up most of it.
# For women the two happen to be close.

# %%
for name, frame in samples.items():
    for spec in ("none", "baseline"):
        fits[name, spec, "ols"] = de.itt(
            frame, outcome="earnings", assigned="jtpa_training", control="0",
            covariates=covariates(name, spec), adjustment="additive", se_type="HC1",
        )
for spec in ("none", "baseline"):
    naive, iv = fits["men", spec, "ols"], fits["men", spec, "wald_iv"]
    print(f"men, covariates {spec}: trainees - non-trainees {naive.estimate:,.0f}, "
          f"IV {iv.estimate:,.0f}")
    assert naive.estimate > 2 * iv.estimate

# %% [markdown]
# ## Computed and published, side by side
#
# The published numbers come with dwp_eval (`jtpa_mhe_table()`). MHE print whole
# dollars, so each estimate and standard error must be within half a dollar;
# the first stage (from AAI Table I) is printed to two decimals. The `verified`
# column is the table's: the AAI cells were checked against the paper; the MHE
# cells were not checked against the printed book (no copy could be searched;
# see `tests/reference/itt/jtpa_notes.md` in the source repository), though those that AAI also print
# (the OLS columns and column 6) agree with them. The remaining AAI cells,
# which differ from MHE only by their rounding (AAI truncate 1,116.58 to
# 1,116), are checked in `tests/test_itt_reference.py` and
# `tests/test_cace_reference.py`.

# %%
MHE_COLUMN = {("ols", "none"): 1, ("ols", "baseline"): 2, ("itt", "none"): 3,
              ("itt", "baseline"): 4, ("wald_iv", "none"): 5, ("wald_iv", "baseline"): 6}
mhe = published[published["source"].str.startswith("Angrist & Pischke")]
aai_first = published[(published["quantity"] == "first_stage") & (published["verified"] == "yes")]
rows = []
for pub in pd.concat([mhe, aai_first]).itertuples(index=False):
    key = (pub.sample, pub.covariates, pub.quantity)
    if pub.quantity == "first_stage":
        fs = fits[pub.sample, pub.covariates, "wald_iv"].first_stage
        estimate, std_error, digits, source = fs.difference, fs.std_error, 2, "AAI Table I"
    else:
        res = fits[key]
        estimate, std_error, digits = res.estimate, res.std_error, 0
        source = f"MHE col. {MHE_COLUMN[pub.quantity, pub.covariates]}"
    rows.append({
        "sample": pub.sample, "covariates": pub.covariates, "quantity": pub.quantity,
        "source": source, "published": pub.estimate, "computed": estimate,
        "published_se": pub.std_error, "computed_se": std_error, "digits": digits,
        "verified": pub.verified,
    })
table = pd.DataFrame(rows).sort_values(["sample", "source"], ignore_index=True)
half = 0.5 * 10.0 ** -table["digits"]  # half a unit of the last printed digit
table["agrees"] = (table["computed"] - table["published"]).abs() <= half
dollars = table["digits"] == 0  # the first stage's SE is derived from a t, not printed
table.loc[dollars, "agrees"] &= (table["computed_se"] - table["published_se"]).abs()[dollars] <= 0.5
print(table.drop(columns="digits").to_string(index=False, formatters={
    "published": "{:,.2f}".format, "computed": "{:,.2f}".format,
    "published_se": "{:,.3f}".format, "computed_se": "{:,.3f}".format,
}))
assert len(table) == 14 and table["agrees"].all()

# %% [markdown]
# ## Who are the compliers?
#
# The IV estimate is an effect for compliers, so it is worth knowing who they
# are. Their baseline means come from Abadie's (2003) kappa weights; the
# always-takers are the controls who trained and the never-takers the offered
# who did not. The shares are `p_T - p_C`, `p_C` and `1 - p_T`. With so few
# crossovers (19 men, 35 women) the always-takers' means are noisy.

# %%
profile_covariates = ["hsorged", "black", "hispanic", "married", "wkless13", "age2225", "age4554"]
for name, frame in samples.items():
    profile = de.complier_profile(
        frame, assigned="jtpa_offer", control="0", received="jtpa_training",
        covariates=profile_covariates,
    )
    shares = profile.attrs["shares"]
    print(f"{name}: shares", {k: round(v, 3) for k, v in shares.items()})
    print(profile.round(3).to_string(index=False))
    assert abs(sum(shares.values()) - 1) < 1e-12
    assert abs(shares["compliers"] - first[name].difference) < 1e-12
    assert abs(shares["always_takers"] - first[name].take_up_control) < 1e-12
assert take_up.loc[take_up["offered"] == 0, "trained"].tolist() == [19, 35]

# %% [markdown]
# ## The table as MHE print it
#
# The reproduced Table 4.4.1: estimates with robust standard errors (in
# brackets below them in the book), men in panel A, women in panel B, rounded
# to whole dollars as printed. It is saved as `jtpa_table_4_4_1.csv` (one row
# per cell, unrounded) for the report or a check of your own.

# %%
COLUMNS = {1: ("ols", "none"), 2: ("ols", "baseline"), 3: ("itt", "none"),
           4: ("itt", "baseline"), 5: ("wald_iv", "none"), 6: ("wald_iv", "baseline")}
reproduced = pd.DataFrame([
    {"sample": name, "covariates": spec, "quantity": quantity, "mhe_column": column,
     "estimate": fits[name, spec, quantity].estimate,
     "std_error": fits[name, spec, quantity].std_error}
    for name in samples
    for column, (quantity, spec) in COLUMNS.items()
])
reproduced.to_csv("jtpa_table_4_4_1.csv", index=False)
printed = reproduced.melt(id_vars=["sample", "mhe_column"], value_vars=["estimate", "std_error"],
                          var_name="row").pivot(index=["sample", "row"], columns="mhe_column",
                                                values="value")
printed.columns = [f"({c})" for c in printed.columns]
assert len(reproduced) == 12
printed.round(0).astype(int)
