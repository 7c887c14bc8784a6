"""Callaway-Sant'Anna reference values from the Python packages moderndid and
csdid (test-only; run in an environment that has them) on
``staggered_panel.csv``:

* ``staggered_att_gt.csv``: ATT(g, t) and analytic SE for every method
  (dr, ipw, reg) x comparison group (never / not yet treated) x base period
  (varying / universal), with and without the covariate ``x``;
* ``staggered_aggte.csv``: the four aggregations (simple, group, dynamic,
  calendar) with their analytic SEs and overall effects.

No bootstrap: analytic influence-function SEs only (``boot=False`` /
``bstrap=False``). Run from the repository root:
``python tests/reference/did/staggered_peers.py > tests/reference/did/staggered_peers.out``
"""

from __future__ import annotations

import contextlib
import io
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
warnings.filterwarnings("ignore")
df = pd.read_csv(HERE / "staggered_panel.csv")
Y, T, ID, G = "employment_rate", "month", "id", "cohort"

att_rows: list[dict[str, object]] = []
agg_rows: list[dict[str, object]] = []


def spec_id(method: str, control: str, base: str, xf: str | None) -> dict[str, object]:
    return {"method": method, "control_group": control, "base_period": base, "covariates": xf or ""}


def run_moderndid() -> None:
    import moderndid

    for xf in (None, "~x"):
        for method in ("dr", "ipw", "reg"):
            if xf is None and method != "dr":
                continue  # without covariates the three estimators coincide
            for control in ("nevertreated", "notyettreated"):
                for base in ("varying", "universal"):
                    r = moderndid.att_gt(df, yname=Y, tname=T, idname=ID, gname=G, xformla=xf,
                                         est_method=method, control_group=control, base_period=base,
                                         boot=False, cband=False)
                    s = spec_id(method, control, base, xf)
                    for g, t, a, se in zip(r.groups, r.times, r.att_gt, r.se_gt, strict=True):
                        att_rows.append({"package": "moderndid", **s, "cohort": int(g), "time": int(t),
                                         "estimate": float(a), "std_error": float(se)})
                    if base != "varying":
                        continue
                    for typ in ("simple", "group", "dynamic", "calendar"):
                        a = moderndid.aggte(r, type=typ, boot=False, cband=False)
                        agg_rows.append({"package": "moderndid", **s, "type": typ, "key": "overall",
                                         "estimate": float(a.overall_att), "std_error": float(a.overall_se)})
                        if typ != "simple":
                            for k, e, se in zip(a.event_times, a.att_by_event, a.se_by_event, strict=True):
                                agg_rows.append({"package": "moderndid", **s, "type": typ, "key": str(int(k)),
                                                 "estimate": float(e), "std_error": float(se)})


def run_csdid() -> None:
    from csdid.att_gt import ATTgt

    for xf in (None, "employment_rate ~ x"):
        for method in ("dr", "ipw", "reg"):
            if xf is None and method != "dr":
                continue
            for control in ("nevertreated", "notyettreated"):
                base = "varying"
                with contextlib.redirect_stdout(io.StringIO()):
                    m = ATTgt(yname=Y, tname=T, idname=ID, gname=G, data=df.copy(), control_group=control,
                              xformla=xf, cband=False)
                    m.fit(est_method=method, base_period=base, bstrap=False)
                s = spec_id(method, control, base, None if xf is None else "~x")
                res = m.results
                for g, t, a, se in zip(res["group"], res["year"], res["att"], res["se"], strict=True):
                    att_rows.append({"package": "csdid", **s, "cohort": int(g), "time": int(t),
                                     "estimate": float(a), "std_error": float(se)})


run_moderndid()
try:
    run_csdid()
except Exception as exc:  # csdid's API changes between releases: report, keep moderndid's values
    print(f"csdid failed: {type(exc).__name__}: {exc}")
att = pd.DataFrame(att_rows)
agg = pd.DataFrame(agg_rows)
att.to_csv(HERE / "staggered_att_gt.csv", index=False)
agg.to_csv(HERE / "staggered_aggte.csv", index=False)
print(f"moderndid {version('moderndid')}, csdid {version('csdid')}, numpy {np.__version__}")
print(att.groupby(["package", "method", "control_group", "base_period", "covariates"]).size().to_string())
print(agg.head(20).to_string())
