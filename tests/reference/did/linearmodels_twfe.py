"""TWFE reference values from linearmodels ``PanelOLS`` for tests/test_did_reference.py.

``PanelOLS(y, X, entity_effects=True, time_effects=True).fit(cov_type="clustered",
group_debias=True)``. linearmodels scales the cluster meat by
``n / (n - p)`` with ``p`` counting every absorbed effect and the constant
(``p = k + N + T - 1``), and by ``G / (G - 1)`` with ``group_debias``; the
test undoes both and compares with dwp_eval's CR0.

Run from the repository root:
``python tests/reference/did/linearmodels_twfe.py > tests/reference/did/linearmodels_twfe.out``
"""

from __future__ import annotations

from pathlib import Path

import linearmodels
import pandas as pd
from linearmodels.panel import PanelOLS

HERE = Path(__file__).parent

panels = pd.read_csv(HERE / "twfe_panels.csv")
rows = []
for name in ("balanced", "unbalanced", "unbalanced_x"):
    d = panels[panels["panel"] == name].set_index(["unit", "period"])
    exog = ["d", "x"] if name.endswith("_x") else ["d"]
    clusters = {"clusters": d["region"]} if name.endswith("_x") else {"cluster_entity": True}
    fit = PanelOLS(d["y"], d[exog], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", group_debias=True, **clusters
    )
    for term in exog:
        rows.append({"case": name, "term": term, "estimate": fit.params[term],
                     "std_error": fit.std_errors[term], "n_obs": int(fit.nobs),
                     "df_model": int(fit.df_model)})
out = pd.DataFrame(rows)
out.to_csv(HERE / "linearmodels_twfe.csv", index=False)
print(f"linearmodels {linearmodels.__version__}")
print(out.to_string(float_format=lambda v: f"{v:.15g}"))
