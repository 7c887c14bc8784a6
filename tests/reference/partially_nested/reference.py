"""Independent reference values for itt(..., cluster="specialist", nested_in="treatment").

The partially nested variance is the cluster-robust variance of the regression with each
control person as their own (singleton) cluster. This script computes it without
dwp_eval:

* CR2 (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018, eq. 6-7 with the identity
  working model) and its Satterthwaite (Bell-McCaffrey) df (Pustejovsky & Tipton 2018,
  sec. 3; Imbens & Kolesar 2016, eq. 9), written out in numpy/scipy here;
* CR0 and CR1 ("stata": CR0 x G/(G-1) x (n-1)/(n-k)) from statsmodels' OLS
  ``cov_type="cluster"`` (df G - 1), as an independent check of the cluster sums.

The CR2 is re-derived in numpy here (written before clubSandwich was installed);
clubsandwich_reference.R checks the same cases with clubSandwich 0.5.8.
Rerun: python reference.py > reference.out  (writes reference_results.csv)."""

from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm

HERE = Path(__file__).parent
df = pd.read_csv(HERE / "partially_nested_data.csv")
z = (df["arm"] == "treatment").to_numpy(float)
y = df["y"].to_numpy()
n = len(y)
# the clusters: specialists in the treatment arm, one singleton per control person
cl = np.where(z == 1, df["specialist"].fillna(""), "single" + df.index.astype(str))
groups = pd.factorize(cl)[0]
G = groups.max() + 1


def design(kind):
    if kind == "dim":
        return np.column_stack([np.ones(n), z])
    if kind == "lin":
        xc = df["x"].to_numpy() - df["x"].mean()
        return np.column_stack([np.ones(n), z, xc, z * xc])
    if kind == "strata_fe":
        d = pd.get_dummies(df["stratum"], drop_first=True, dtype=float).to_numpy()
        return np.column_stack([np.ones(n), z, d])
    raise ValueError(kind)


def cr2(X, y, groups, j=1):
    """CR2 variance of coefficient j and its Bell-McCaffrey df."""
    M = np.linalg.inv(X.T @ X)
    b = M @ X.T @ y
    e = y - X @ b
    H = X @ M @ X.T
    IH = np.eye(len(y)) - H
    meat = np.zeros((X.shape[1], X.shape[1]))
    cvec = np.zeros(X.shape[1])
    cvec[j] = 1.0
    P = np.zeros((len(y), G))  # column g: (I - H)' A_g X_g M c, stacked
    for g in range(G):
        idx = np.flatnonzero(groups == g)
        Igg = np.eye(len(idx)) - H[np.ix_(idx, idx)]
        w, V = np.linalg.eigh(Igg)
        A = (V / np.sqrt(w)) @ V.T  # (I - H_gg)^{-1/2}, symmetric
        u = X[idx].T @ A @ e[idx]
        meat += np.outer(u, u)
        P[:, g] = IH[:, idx] @ (A @ (X[idx] @ (M @ cvec)))
    V = M @ meat @ M
    GtG = P.T @ P
    df_bm = np.trace(GtG) ** 2 / np.sum(GtG ** 2)
    return b[j], float(np.sqrt(V[j, j])), float(df_bm)


rows = []
for kind in ("dim", "lin", "strata_fe"):
    X = design(kind)
    est, se, dfb = cr2(X, y, groups)
    rows.append(dict(case=f"{kind}_CR2", estimate=est, std_error=se, df=dfb, source="numpy CR2 + BM df"))
    fit0 = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    fit1 = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    rows.append(dict(case=f"{kind}_CR0", estimate=fit0.params[1], std_error=fit0.bse[1], df=G - 1,
                     source="statsmodels cluster, use_correction=False"))
    rows.append(dict(case=f"{kind}_CR1", estimate=fit1.params[1], std_error=fit1.bse[1], df=G - 1,
                     source="statsmodels cluster (CR1)"))
    # the unclustered HC2 SE for comparison: what ignoring the nesting gives
    hc2 = sm.OLS(y, X).fit(cov_type="HC2")
    rows.append(dict(case=f"{kind}_HC2_ignoring_nesting", estimate=hc2.params[1], std_error=hc2.bse[1],
                     df=np.nan, source="statsmodels HC2 (no clusters)"))
out = pd.DataFrame(rows)
pd.set_option("display.precision", 17)
pd.set_option("display.width", 200)
print(f"n = {n}, G = {G} (12 specialists + {int((z == 0).sum())} control singletons)")
print(out.to_string())
print(f"numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, pandas {pd.__version__}")
out.to_csv(HERE / "reference_results.csv", index=False, float_format="%.17g")
