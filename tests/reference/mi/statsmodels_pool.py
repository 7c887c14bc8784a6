"""Second reference for Rubin's rules: statsmodels' MICE.combine on the completed
datasets R mice made (completed.csv, from mice_pool.R).

statsmodels' ``MICE.combine`` pools a list of fitted models: the mean of the
parameters, ``cov_within + (1 + 1/m) cov_between`` and ``frac_miss_info =
(1 + 1/m) B / T`` (what mice calls lambda); it has no Barnard-Rubin df. Here it
pools statsmodels ``OLS`` fits (classical and HC2 covariance) of the cases
``lm_classical`` and ``lm_hc2_employed`` of mice_pool.R.

Regenerate from the repository root:
    .venv/bin/python tests/reference/mi/statsmodels_pool.py > tests/reference/mi/statsmodels_pool.out
Writes statsmodels_pool.csv: case, m, estimate, std_error, frac_miss_info.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.imputation.mice import MICE

HERE = Path(__file__).resolve().parent
CASES = {
    "lm_classical": ("y", ["treat", "x", "z"], "nonrobust"),
    "lm_hc2_employed": ("employed", ["treat", "x"], "HC2"),
}


def main() -> None:
    long = pd.read_csv(HERE / "completed.csv")
    rows = []
    for case, (outcome, exog, cov_type) in CASES.items():
        fits = []
        for _, s in long.groupby(".imp", sort=True):
            fits.append(sm.OLS(s[outcome].to_numpy(float),
                               sm.add_constant(s[exog].to_numpy(float))).fit(cov_type=cov_type))
        # MICE.combine reads only results_list and the names; call it on a stand-in
        # (the public MICE.fit would also impute, with statsmodels' own draws)
        holder = SimpleNamespace(results_list=fits, exog_names=["const", *exog],
                                 endog_names=outcome, model_class=sm.OLS)
        res = MICE.combine(holder)
        j = 1  # treat
        se = float(np.sqrt(res.cov_params()[j, j]))
        rows.append({"case": case, "m": len(fits), "estimate": float(res.params[j]),
                     "std_error": se, "frac_miss_info": float(res.frac_miss_info[j])})
        print(case, rows[-1])
    out = pd.DataFrame(rows)
    for c in ("estimate", "std_error", "frac_miss_info"):
        out[c] = [f"{v:.17g}" for v in out[c]]
    out.to_csv(HERE / "statsmodels_pool.csv", index=False)
    print("statsmodels", statsmodels.__version__, "numpy", np.__version__, "pandas", pd.__version__)


if __name__ == "__main__":
    main()
