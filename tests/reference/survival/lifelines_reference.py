"""Second reference for survival_effect from lifelines (not a dependency of dwp_eval or its tests).

    python3 -m venv /tmp/venv-surv && /tmp/venv-surv/bin/pip install lifelines
    cd tests/reference/survival && /tmp/venv-surv/bin/python lifelines_reference.py

Writes lifelines_km.csv (Kaplan-Meier by arm, lifelines' default exponential-Greenwood
= log(-log) interval) and lifelines_scalar.csv (RMST, Cox with robust / cluster variance,
log-rank). lifelines' RMST variance integrates the squared curve (a different estimator
from Greenwood's), so only its RMST point estimate is a reference.
"""

from pathlib import Path

import lifelines
import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import restricted_mean_survival_time

HERE = Path(__file__).parent
TAU = 365.0

km_rows, scalar = [], []
for ds in ("individual", "cluster", "nested"):
    d = pd.read_csv(HERE / f"{ds}.csv")
    d["z"] = (d["arm"] == "treatment").astype(int)
    for arm in ("control", "treatment"):
        s = d[d["arm"] == arm]
        kmf = KaplanMeierFitter().fit(s["duration"], s["event"], alpha=0.05)
        sf = kmf.survival_function_.iloc[1:, 0]  # drop the row at time 0
        ci = kmf.confidence_interval_.iloc[1:]
        km_rows.append(pd.DataFrame({"dataset": ds, "arm": arm, "time": sf.index.to_numpy(),
                                     "survival": sf.to_numpy(), "conf_low": ci.iloc[:, 0].to_numpy(),
                                     "conf_high": ci.iloc[:, 1].to_numpy()}))
        scalar.append((ds, f"rmst_{arm}", restricted_mean_survival_time(kmf, t=TAU)))
    a, b = d[d["z"] == 0], d[d["z"] == 1]
    lr = logrank_test(a["duration"], b["duration"], a["event"], b["event"])
    scalar.extend([(ds, "logrank_chisq", lr.test_statistic), (ds, "logrank_p", lr.p_value)])

    def cox(tag, cols, ds=ds, d=d, **kw):
        f = CoxPHFitter().fit(d[["duration", "event", *cols]], "duration", "event", **kw)
        scalar.extend([(ds, f"{tag}_coef", f.params_["z"]), (ds, f"{tag}_robust_se", f.standard_errors_["z"])])

    cox("cox_robust", ["z"], robust=True)
    if ds == "individual":
        cox("cox_cov_robust", ["z", "x1", "x2"], robust=True)
        cox("cox_strata_robust", ["z", "x1", "x2", "stratum"], robust=True, strata=["stratum"])
    if ds == "cluster":
        cox("cox_cluster", ["z", "x1", "office"], cluster_col="office")
        cox("cox_strata_cluster", ["z", "x1", "office", "stratum"], cluster_col="office", strata=["stratum"])
    if ds == "nested":
        cox("cox_cluster", ["z", "nest_id"], cluster_col="nest_id")

pd.concat(km_rows).to_csv(HERE / "lifelines_km.csv", index=False)
out = pd.DataFrame(scalar, columns=["dataset", "quantity", "value"])
out["value"] = out["value"].map(lambda v: f"{float(v):.17g}")
out.to_csv(HERE / "lifelines_scalar.csv", index=False)
(HERE / "lifelines_versions.txt").write_text(
    f"lifelines {lifelines.__version__}, pandas {pd.__version__}, numpy {np.__version__}\n")
