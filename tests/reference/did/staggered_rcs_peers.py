"""moderndid 0.2.0 and csdid 0.4.3 on the repeated-cross-section and unbalanced-panel data.

    python tests/reference/did/staggered_rcs_peers.py > tests/reference/did/staggered_rcs_peers.out

(needs ``pip install moderndid==0.2.0 csdid==0.4.3``). moderndid's analytic SEs
ignore ``clustervars`` (each survey row its own cluster), so the tests compare
them with ``staggered_did`` run with every row its own unit; the clustered SEs
are compared with R did (``did_rcs.R``). Writes ``staggered_rcs_peers_att_gt.csv``
and ``staggered_rcs_peers_aggte.csv``.
"""

import contextlib
import io
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from csdid.att_gt import ATTgt
from moderndid import aggte, att_gt

warnings.simplefilter("ignore")
HERE = Path(__file__).parent
print("moderndid", version("moderndid"), "csdid", version("csdid"))
rcs = pd.read_csv(HERE / "staggered_rcs.csv")
unb = pd.read_csv(HERE / "staggered_unbalanced.csv")
gt_rows, ag_rows = [], []
for kind, data, t in (("rcs", rcs, "quarter"), ("unbalanced", unb, "period")):
    for cg in ("nevertreated", "notyettreated"):
        for m in ("dr", "ipw", "reg"):
            for xf in (None, "~x"):
                for wt in ("w", None):
                    spec = f"{kind}|{cg}|{m}|{'x' if xf else '1'}|varying|{wt or 'none'}"
                    kw = {"panel": False} if kind == "rcs" else {"idname": "id", "allow_unbalanced_panel": True}
                    try:
                        res = att_gt(data, yname="y", tname=t, gname="cohort", xformla=xf, weightsname=wt,
                                     est_method=m, control_group=cg, boot=False, cband=False, **kw)
                    except Exception as exc:
                        print(f"{spec}: moderndid failed: {type(exc).__name__}: {exc}")
                        continue
                    for g, tt, a, s in zip(res.groups, res.times, res.att_gt, res.se_gt, strict=True):
                        gt_rows.append((spec, g, tt, a, s))
                    for typ in ("simple", "dynamic", "group", "calendar"):
                        agg = aggte(res, type=typ, boot=False, cband=False)
                        ag_rows.append((spec, typ, np.nan, agg.overall_att, agg.overall_se))
                        if typ != "simple":
                            for k, a, s in zip(agg.event_times, agg.att_by_event, agg.se_by_event, strict=True):
                                ag_rows.append((spec, typ, k, a, s))
# moderndid 0.2.0 fails on unbalanced panels (the TypeError above); csdid 0.4.3 runs them
# (ATT(g, t) and analytic SEs; its aggregations need the bootstrap for SEs)
for cg in ("nevertreated", "notyettreated"):
    for m in ("dr", "ipw", "reg"):
        for xf in (None, "~x"):
            spec = f"unbalanced-csdid|{cg}|{m}|{'x' if xf else '1'}|varying|w"
            with contextlib.redirect_stdout(io.StringIO()):
                cs = ATTgt(yname="y", tname="period", idname="id", gname="cohort", data=unb.copy(),
                           allow_unbalanced_panel=True, weights_name="w", xformla=f"y{xf}" if xf else None,
                           control_group=cg)
                cs.fit(est_method=m, bstrap=False)
            r = cs.results
            for g, tt, a, s in zip(r["group"], r["year"], r["att"], r["se"], strict=True):
                gt_rows.append((spec, g, tt, a, s))
gt = pd.DataFrame(gt_rows, columns=["spec", "cohort", "time", "estimate", "std_error"])
ag = pd.DataFrame(ag_rows, columns=["spec", "type", "key", "estimate", "std_error"])
gt.to_csv(HERE / "staggered_rcs_peers_att_gt.csv", index=False, float_format="%.17g")
ag.to_csv(HERE / "staggered_rcs_peers_aggte.csv", index=False, float_format="%.17g")
print(gt.head(12).to_string())
print(ag.head(12).to_string())
print("rows", len(gt), len(ag))
