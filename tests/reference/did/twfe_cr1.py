"""CR1 reference values for two-way fixed effects (``twfe_cr1.csv``), two ways.

* ``pyfixest``: ``feols("y ~ d [+ x] | unit + period", vcov={"CRV1": cluster},
  ssc=ssc(k_adj=True, k_fixef="nonnested", G_adj=True))`` (pyfixest 0.60's
  spelling of its default), the small-sample correction that is fixest's
  default ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)``, keeping
  units observed once (``fixef_rm="none"``, as fixest's feols) (``?fixest::ssc``: ``K`` counts the
  regressors and the fixed effects *not* nested in the clusters).
* ``xtreg``: Stata's ``xtreg y d [x] i.period, fe vce(cluster c)`` rebuilt with
  statsmodels: every column (outcome, regressors, period dummies 2..T) is
  transformed as Stata's within estimator does, ``v_it - vbar_i + vbar``
  ([XT] xtreg, Methods and formulas), then OLS with a constant and
  statsmodels' cluster-robust covariance with its default correction
  ``G/(G-1) (n-1)/(n-K)``, ``K`` = the columns of that regression (regressors,
  ``T-1`` period dummies and the constant), which is the ``K`` of xtreg, fe.

Cases: the three synthetic panels of ``twfe_panels.csv`` (balanced, and the
unbalanced one), each without and with the covariate ``x``, clustered by unit
and by region (units are nested in regions); and Card & Krueger's two-wave
panel (``data/card_krueger.csv``; all stores, and those observed in both
waves) clustered by store.

Run from the repository root (needs pyfixest and statsmodels):
``python tests/reference/did/twfe_cr1.py > tests/reference/did/twfe_cr1.out``
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import statsmodels
import statsmodels.api as sm

HERE = Path(__file__).parent


def cases() -> list[tuple[str, pd.DataFrame, list[str], str]]:
    """(case, data with columns y, d, unit, period, cluster columns, covariates, cluster)."""
    panels = pd.read_csv(HERE / "twfe_panels.csv")
    out = []
    for panel in ("balanced", "unbalanced"):
        d = panels[panels["panel"] == panel].reset_index(drop=True)
        for covs in ([], ["x"]):
            for cl in ("unit", "region"):
                out.append((f"{panel}{'_x' if covs else ''}_{cl}", d, covs, cl))
    ck = pd.read_csv(HERE / "data/card_krueger.csv").dropna(subset=["fte"])
    ck = ck.assign(y=ck["fte"], d=ck["nj"] * ck["wave"], unit=ck["store"], period=ck["wave"])
    both = ck[ck.groupby("store")["fte"].transform("size") == 2]
    out.append(("card_krueger_available_unit", ck.reset_index(drop=True), [], "unit"))
    out.append(("card_krueger_balanced_unit", both.reset_index(drop=True), [], "unit"))
    return out


def by_pyfixest(d: pd.DataFrame, covs: list[str], cl: str) -> tuple[float, float, int]:
    fml = "y ~ " + " + ".join(["d", *covs]) + " | unit + period"
    # fixef_rm="none": keep units observed once, as fixest's feols (fixef.rm = "perfect"
    # removes nothing in a linear model) and xtreg do; fixef_tol: demean to convergence
    fit = pf.feols(fml, data=d, vcov={"CRV1": cl},
                   ssc=pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True),
                   fixef_rm="none", fixef_tol=1e-14, fixef_maxiter=100_000)
    return float(fit.coef()["d"]), float(fit.se()["d"]), int(fit._N)


def by_xtreg(d: pd.DataFrame, covs: list[str], cl: str) -> tuple[float, float, int, int]:
    periods = sorted(d["period"].unique())
    cols = {"d": d["d"].astype(float)}
    for c in covs:
        cols[c] = d[c].astype(float)
    for p in periods[1:]:
        cols[f"period_{p}"] = (d["period"] == p).astype(float)
    X = pd.DataFrame(cols)
    y = d["y"].astype(float)

    def within(v: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
        return v - v.groupby(d["unit"]).transform("mean") + v.mean()

    Z = sm.add_constant(within(X), has_constant="add")
    fit = sm.OLS(within(y), Z).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d[cl])[0]})
    return float(fit.params["d"]), float(fit.bse["d"]), int(fit.nobs), int(Z.shape[1])


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)  # pyfixest 0.60 on fixef_tol's spelling
    rows = []
    for case, d, covs, cl in cases():
        b, se, n = by_pyfixest(d, covs, cl)
        rows.append({"case": case, "source": "pyfixest", "estimate": b, "std_error": se, "n_obs": n,
                     "k_xtreg": np.nan})
        b, se, n, k = by_xtreg(d, covs, cl)
        rows.append({"case": case, "source": "xtreg", "estimate": b, "std_error": se, "n_obs": n,
                     "k_xtreg": k})
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "twfe_cr1.csv", index=False)
    print(f"pyfixest {pf.__version__}, statsmodels {statsmodels.__version__}, pandas {pd.__version__}, "
          f"numpy {np.__version__}")
    print(out.to_string(float_format=lambda v: f"{v:.15g}"))
    wide = out.pivot(index="case", columns="source", values="std_error")
    print("max relative difference pyfixest vs xtreg (SE):",
          f"{float(((wide['pyfixest'] - wide['xtreg']).abs() / wide['xtreg']).max()):.3g}")


if __name__ == "__main__":
    main()
