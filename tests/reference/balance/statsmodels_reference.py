"""statsmodels reference values for the omnibus balance test of ``dwp_eval.balance``.

Run from the repository root::

    .venv/bin/python tests/reference/balance/statsmodels_reference.py > tests/reference/balance/statsmodels_reference.out

For each case, the 0/1 indicator of the tested arm (among people in that arm or
in control) is regressed by ``statsmodels.api.OLS`` on an intercept, the
covariates ``age female disability months_out_of_work prior_earnings`` and the
dummies of ``benefit`` and ``health_condition`` (first level in sorted order
omitted), plus, for ``strata`` cases, the dummies of ``site`` (first omitted)
as stratum fixed effects. The fit's ``cov_type`` gives the covariance:

* ``nonrobust``: dwp_eval's ``classical``;
* ``HC0`` ... ``HC3``: the same names;
* ``cluster`` (``groups`` = jobcentre codes): CR1, ``G/(G-1) (n-1)/(n-k)``
  (statsmodels' default ``use_correction=True``).

``res.wald_test(R, use_f=True, scalar=True)`` tests all covariate coefficients
(``R`` selects them; intercept and site dummies excluded) and gives ``F``,
``df_num``, ``df_denom`` (``n - k``, or ``G - 1`` with clusters) and the p-value.
``wald = F * df_num``. Numbers are written with ``repr`` (round-trip exact) to
``statsmodels_results.csv`` next to this script; this output lists them too.
The script builds its design matrices itself: it does not import dwp_eval.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm

HERE = Path(__file__).resolve().parent
NUMERIC = ["age", "female", "disability", "months_out_of_work", "prior_earnings"]
CATEGORICAL = ["benefit", "health_condition"]


def design(d: pd.DataFrame, strata: bool) -> tuple[pd.DataFrame, list[str]]:
    cols: dict[str, np.ndarray] = {"const": np.ones(len(d))}
    tested: list[str] = []
    for c in NUMERIC:
        cols[c] = d[c].to_numpy(float)
        tested.append(c)
    for c in CATEGORICAL:
        for lev in sorted(d[c].astype(str).unique())[1:]:
            name = f"{c}={lev}"
            cols[name] = (d[c].astype(str) == lev).to_numpy(float)
            tested.append(name)
    if strata:
        for s in sorted(d["site"].unique())[1:]:
            cols[f"site[{s}]"] = (d["site"] == s).to_numpy(float)
    return pd.DataFrame(cols, index=d.index), tested


CASES = [
    # (case, data file, arm, strata, cov_type)
    *[
        (f"complete_{ct}", "stratified.csv", "treatment", False, ct)
        for ct in ["nonrobust", "HC0", "HC1", "HC2", "HC3"]
    ],
    *[
        (f"strata_{arm}_{ct}", "stratified.csv", arm, True, ct)
        for arm in ["treatment", "intensive"]
        for ct in ["nonrobust", "HC0", "HC1", "HC2", "HC3"]
    ],
    ("cluster_CR1", "clustered.csv", "treatment", False, "cluster"),
    ("cluster_strata_CR1", "clustered.csv", "treatment", True, "cluster"),
]
SE_TYPE = {
    "nonrobust": "classical",
    "HC0": "HC0",
    "HC1": "HC1",
    "HC2": "HC2",
    "HC3": "HC3",
    "cluster": "CR1",
}


def main() -> None:
    rows = []
    for case, file, arm, strata, ct in CASES:
        full = pd.read_csv(HERE / "data" / file)
        d = full[full["arm"].isin(["control", arm])].reset_index(drop=True)
        X, tested = design(d, strata)
        y = (d["arm"] == arm).to_numpy(float)
        if ct == "cluster":
            groups = pd.factorize(d["jobcentre"], sort=True)[0]
            res = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
        else:
            res = sm.OLS(y, X).fit(cov_type=ct)
        R = np.zeros((len(tested), X.shape[1]))
        for i, name in enumerate(tested):
            R[i, list(X.columns).index(name)] = 1.0
        w = res.wald_test(R, use_f=True, scalar=True)
        f = float(np.squeeze(w.fvalue))
        print(f"== {case}: {arm} vs control in {file}, strata={strata}, cov_type={ct}")
        print(
            f"   n = {int(res.nobs)}, k = {X.shape[1]}, tested {len(tested)}: {', '.join(tested)}"
        )
        print(f"   {w}")
        rows.append(
            {
                "case": case,
                "data_file": file,
                "arm": arm,
                "strata": strata,
                "cluster": ct == "cluster",
                "cov_type": ct,
                "se_type": SE_TYPE[ct],
                "n_obs": int(res.nobs),
                "n_params": X.shape[1],
                "terms": " ".join(tested),
                "f_statistic": repr(f),
                "df_num": repr(float(w.df_num)),
                "df_denom": repr(float(w.df_denom)),
                "p_value": repr(float(w.pvalue)),
                "wald": repr(f * float(w.df_num)),
            }
        )
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "statsmodels_results.csv", index=False)
    print(f"\nwrote {len(out)} rows to statsmodels_results.csv")
    print(
        f"python {sys.version.split()[0]}, statsmodels {statsmodels.__version__}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )


if __name__ == "__main__":
    main()
