"""Second reference for binary_effect's odds ratio: statsmodels Logit/Probit with
sandwich variances on the data R wrote (data.csv). Run from this folder:
``python statsmodels_reference.py`` (writes statsmodels_reference.csv)."""

import pandas as pd
import statsmodels.api as sm

d = pd.read_csv("data.csv")
X = pd.get_dummies(d[["z", "stratum", "x1", "x2"]], columns=["stratum"], drop_first=True, dtype=float)
X = sm.add_constant(X)
rows = []
# statsmodels' HC1 for GLMs and its probit (observed-information bread) follow other
# conventions than sandwich::vcovHC, so only the logit HC0 and CR1 are compared here.
for name, cov, kw in [
    ("cov_hc0", "HC0", {}),
    ("cov_cr1", "cluster", {"groups": d["office"].to_numpy()}),
]:
    glm = sm.GLM(d["y"], X, family=sm.families.Binomial())
    fit = glm.fit(tol=1e-14, cov_type=cov, cov_kwds=kw or None)
    rows.append({"case": name, "log_or": fit.params["z"], "se_log_or": fit.bse["z"]})
out = pd.DataFrame(rows)
out.to_csv("statsmodels_reference.csv", index=False)
print(out.to_string())
