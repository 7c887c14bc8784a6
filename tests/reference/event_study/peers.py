"""Reference values for event_study(estimator="imputation" | "sun_abraham").

Run from the repository root with a venv holding pyfixest and diff-diff:
    python tests/reference/event_study/peers.py > tests/reference/event_study/peers.out
Writes peers.csv: one row per (source, estimator, event_time) with estimate and std_error.
"""
import warnings
from importlib.metadata import version

import diff_diff as dd
import numpy as np
import pandas as pd
import pyfixest as pf

warnings.filterwarnings("ignore")
d = pd.read_csv("tests/reference/did/staggered_panel.csv")
d["first_treat"] = d["cohort"]
# a time-varying covariate that shifts the outcome, written out for the tests
rng = np.random.default_rng(20261206)
d["z"] = np.round(rng.normal(size=len(d)) + 0.1 * d["month"], 6)
d["y_z"] = d["employment_rate"] + 0.01 * d["z"]
d[["area", "month", "cohort", "employment_rate", "z", "y_z"]].to_csv(
    "tests/reference/event_study/panel_z.csv", index=False, float_format="%.17g")
print("diff-diff", version("diff-diff"), "pyfixest", version("pyfixest"), "pandas", version("pandas"))
rows = []

# BJS imputation, conservative variance, aux partition cohort x horizon, clustered by unit
imp = dd.ImputationDiD(cluster="area", aux_partition="cohort_horizon").fit(
    d, outcome="employment_rate", unit="area", time="month", first_treat="first_treat",
    aggregate="event_study")
for e, v in sorted(imp.event_study_effects.items()):
    if v.get("n_obs", 1) == 0 or v["se"] == 0:
        continue  # the reference period
    rows.append(("diff-diff", "imputation", int(e), v["effect"], v["se"]))
rows.append(("diff-diff", "imputation", "overall", imp.overall_att, imp.overall_se))
impz = dd.ImputationDiD(cluster="area", aux_partition="cohort_horizon").fit(
    d, outcome="y_z", unit="area", time="month", first_treat="first_treat", covariates=["z"],
    aggregate="event_study")
for e, v in sorted(impz.event_study_effects.items()):
    if v.get("n_obs", 1) == 0 or v["se"] == 0:
        continue  # the reference period
    rows.append(("diff-diff", "imputation_z", int(e), v["effect"], v["se"]))
rows.append(("diff-diff", "imputation_z", "overall", impz.overall_att, impz.overall_se))
saz = dd.SunAbraham(cluster="area").fit(d, outcome="y_z", unit="area", time="month",
                                        first_treat="first_treat", covariates=["z"])
for e, v in sorted(saz.event_study_effects.items()):
    if v.get("n_obs", 1) == 0 or v["se"] == 0:
        continue
    rows.append(("diff-diff", "sun_abraham_z", int(e), v["effect"], v["se"]))
rows.append(("diff-diff", "sun_abraham_z", "overall", saz.overall_att, saz.overall_se))

# Sun & Abraham, never-treated control, cluster by unit
sa = dd.SunAbraham(cluster="area").fit(d, outcome="employment_rate", unit="area", time="month",
                                       first_treat="first_treat")
for e, v in sorted(sa.event_study_effects.items()):
    if v.get("n_obs", 1) == 0 or v["se"] == 0:
        continue  # the reference period
    rows.append(("diff-diff", "sun_abraham", int(e), v["effect"], v["se"]))
rows.append(("diff-diff", "sun_abraham", "overall", sa.overall_att, sa.overall_se))

# Sun & Abraham with the last-treated cohort as control (no never-treated units):
# the panel without its never-treated units, cut to the periods before the last
# cohort starts, the last cohort coded never treated (Sun & Abraham 2021, Section 4.2)
nn = d[d["cohort"] > 0]
last = nn["cohort"].max()
nn = nn[nn["month"] < last].assign(first_treat=lambda x: np.where(x["cohort"] == last, 0, x["cohort"]))
sal = dd.SunAbraham(cluster="area").fit(nn, outcome="employment_rate", unit="area", time="month",
                                        first_treat="first_treat")
for e, v in sorted(sal.event_study_effects.items()):
    if v.get("n_obs", 1) == 0 or v["se"] == 0:
        continue
    rows.append(("diff-diff", "sun_abraham_last", int(e), v["effect"], v["se"]))
rows.append(("diff-diff", "sun_abraham_last", "overall", sal.overall_att, sal.overall_se))

# Gardner's two-stage (did2s): point estimates equal BJS's imputation estimates
d["rel"] = np.where(d["cohort"] > 0, d["month"] - d["cohort"], -1000)
d["treat"] = ((d["cohort"] > 0) & (d["month"] >= d["cohort"])).astype(int)
d2 = d.copy()
d2["rel"] = np.where(d2["treat"] == 1, d2["rel"], -1000)
fit = pf.did2s(d2, yname="employment_rate", first_stage="~ 0 | area + month",
               second_stage="~ i(rel, ref=-1000)", treatment="treat", cluster="area")
for name, b in fit.coef().items():
    e = int(float(name.split("::")[-1].rstrip("]")))
    rows.append(("pyfixest did2s", "imputation", e, b, float("nan")))
# BJS pre-trend test (their eq. 9, as R didimputation's `pretrends`): untreated
# observations on unit and month effects and lead indicators -5..-1 (the
# earliest lead, -6, is the reference), CRV1 by area (fixest's default ssc)
u0 = d[d["treat"] == 0].copy()
u0["lead"] = np.where(u0["cohort"] > 0, u0["month"] - u0["cohort"], -1000)
leads = sorted(x for x in u0["lead"].unique() if -1000 < x)[1:]
u0["lead"] = np.where(u0["lead"].isin(leads), u0["lead"], -1000)
pre = pf.feols("employment_rate ~ i(lead, ref=-1000) | area + month", data=u0, vcov={"CRV1": "area"})
for name, b in pre.coef().items():
    e = int(float(name.split("::")[-1].rstrip("]")))
    rows.append(("pyfixest feols", "imputation_pretrend", e, b, float(pre.se()[name])))
out = pd.DataFrame(rows, columns=["source", "estimator", "event_time", "estimate", "std_error"])
print(out.to_string())
out.to_csv("tests/reference/event_study/peers.csv", index=False, float_format="%.17g")
