"""linearmodels ``IV2SLS(weights=)`` reference values for the weighted CACE on
``variance_cluster_data.csv`` (a second implementation next to estimatr's
``iv_robust(weights =)`` in ``variance_cluster_reference.R``).

Run from the repository root::

    .venv/bin/python tests/reference/itt/weighted_cace_linearmodels.py \
        > tests/reference/itt/weighted_cace_linearmodels.out

Writes ``weighted_cace_linearmodels.csv``: the coefficient of ``d`` with
``cov_type``/``debiased`` mapped to dwp_eval's se_type: ``unadjusted`` +
``debiased=True`` = ``classical``; ``robust`` = ``HC0`` (``debiased=True``:
``HC1``); ``clustered`` by village = ``CR0`` (``debiased=True``: ``CR1``,
Stata's). Covariates ``x1 x2`` enter both stages in the ``cov`` cases. Numbers
are written with ``repr`` (round-trip exact).
"""

from __future__ import annotations

import sys
from pathlib import Path

import linearmodels
import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS

HERE = Path(__file__).resolve().parent


def main() -> None:
    d = pd.read_csv(HERE / "variance_cluster_data.csv")
    rows = []
    for covariates in (False, True):
        exog = pd.DataFrame({"const": np.ones(len(d))})
        if covariates:
            exog["x1"], exog["x2"] = d["x1"], d["x2"]
        for se_type, cov_type, debiased in (
            ("classical", "unadjusted", True), ("HC0", "robust", False), ("HC1", "robust", True),
            ("CR0", "clustered", False), ("CR1", "clustered", True),
        ):
            kw = {"clusters": pd.Categorical(d["village"]).codes} if cov_type == "clustered" else {}
            fit = IV2SLS(d["y"], exog, d[["d"]], d[["z"]], weights=d["w"]).fit(
                cov_type=cov_type, debiased=debiased, **kw)
            rows.append({"case": f"{'cov_' if covariates else ''}{se_type}", "se_type": se_type,
                         "covariates": covariates, "estimate": repr(float(fit.params["d"])),
                         "std_error": repr(float(fit.std_errors["d"]))})
            print(rows[-1]["case"], rows[-1]["estimate"], rows[-1]["std_error"])
    pd.DataFrame(rows).to_csv(HERE / "weighted_cace_linearmodels.csv", index=False)
    print(f"linearmodels {linearmodels.__version__}, numpy {np.__version__}, "
          f"pandas {pd.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
