"""Independent Python references for impact_table (no dwp_eval): scipy.stats.dunnett on
the equal-variance three-arm data, and, on the stratified trial with subgroups, statsmodels
OLS with stratum dummies on the rows left after dropping the strata that hold one arm
within a subgroup (subgroup rows and the heterogeneity test).
Run from this folder:  python python_reference.py > python_reference.out"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.formula.api as smf
from scipy import stats

print("scipy", scipy.__version__, "statsmodels", statsmodels.__version__)

# 1. scipy.stats.dunnett (one-way ANOVA model: pooled variance, df = N - 3)
h = pd.read_csv("data/homoskedastic.csv")
groups = {a: h.loc[h["arm"] == a, "y"].to_numpy() for a in ["control", "a", "b"]}
res = stats.dunnett(groups["a"], groups["b"], control=groups["control"],
                    rng=np.random.default_rng(1))
n = {a: len(v) for a, v in groups.items()}
lam = [np.sqrt(n[a] / (n[a] + n["control"])) for a in ("a", "b")]
rows = [{"treatment": a, "statistic": float(s), "p_value_dunnett": float(p),
         "df": len(h) - 3, "rho": lam[0] * lam[1]}
        for a, s, p in zip(("a", "b"), res.statistic, res.pvalue, strict=True)]
sc = pd.DataFrame(rows)
sc.to_csv("scipy_dunnett.csv", index=False)
print(sc.to_string())

# 2. subgroups of a stratified trial: drop (subgroup, stratum) cells with one arm
d = pd.read_csv("data/stratified_subgroups.csv")
d["z"] = (d["arm"] == "treatment").astype(float)
cells = d.groupby(["health_condition", "stratum"])["z"].agg(["min", "max", "size"])
one_arm = cells[cells["min"] == cells["max"]].reset_index()
print("cells holding one arm:\n", one_arm.to_string())
bad = set(zip(one_arm["health_condition"], one_arm["stratum"], strict=True))
keep = np.array([(g, s) not in bad for g, s in zip(d["health_condition"], d["stratum"], strict=True)])
kept = d.loc[keep]
out = []
for lev, sub in kept.groupby("health_condition"):
    for cov in ("", " + x"):
        fit = smf.ols(f"y ~ z{cov} + C(stratum)", data=sub).fit(cov_type="HC2")
        out.append({"subgroup": f"health_condition={lev}", "covariates": cov.strip(" +") or "none",
                    "estimate": fit.params["z"], "std_error": fit.bse["z"],
                    "p_value": 2 * stats.t.sf(abs(fit.params["z"] / fit.bse["z"]), fit.df_resid),
                    "df": fit.df_resid, "n_obs": int(fit.nobs),
                    "n_dropped": int((d["health_condition"] == lev).sum() - len(sub)),
                    "dropped_strata": ";".join(sorted(one_arm.loc[one_arm["health_condition"] == lev, "stratum"]))})
fe = pd.DataFrame(out)
fe.to_csv("statsmodels_subgroups.csv", index=False)
print(fe.to_string())
# heterogeneity: y ~ z:C(hc) + C(hc) [+ x] + C(stratum), HC2, F test of equal z:hc terms
het = []
for cov in ("", " + x"):
    fit = smf.ols(f"y ~ C(health_condition):z + C(health_condition){cov} + C(stratum)",
                  data=kept).fit(cov_type="HC2")
    names = [c for c in fit.params.index if c.endswith(":z")]
    R = np.zeros((len(names) - 1, len(fit.params)))
    for i in range(1, len(names)):
        R[i - 1, list(fit.params.index).index(names[0])] = -1.0
        R[i - 1, list(fit.params.index).index(names[i])] = 1.0
    f = fit.f_test(R)
    het.append({"covariates": cov.strip(" +") or "none", "statistic": float(np.squeeze(f.fvalue)),
                "df_num": float(f.df_num), "df_denom": float(f.df_denom),
                "p_value": float(np.squeeze(f.pvalue)), "n_obs": int(fit.nobs)})
ht = pd.DataFrame(het)
ht.to_csv("statsmodels_heterogeneity.csv", index=False)
print(ht.to_string())
kept.drop(columns="z").to_csv("data/stratified_subgroups_kept.csv", index=False)
