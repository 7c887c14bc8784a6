"""Callaway-Sant'Anna with not-yet-treated comparisons on a panel WITHOUT
never-treated units: reference values for ``staggered_did``'s ``last_cohort``.

The panel ``staggered_panel_no_never.csv`` is ``staggered_panel.csv`` without
its never-piloted areas (cohort 0): cohorts 3, 5 and 7 over months 1-8.

R's ``did`` (``R/pre_process_did.R`` at bcallaway11/did@71ba8a5) then, with
``control_group = "notyettreated"``, drops the periods ``t >= max(g) -
anticipation`` and leaves the last cohort out of the groups estimated: it is a
comparison group only. Three sets of values:

* ``csdid`` (0.4.3, a port of R did): ATT(g, t) and analytic SEs. It applies
  R's rule (no cells for cohort 7, months 7-8 dropped).
* ``moderndid_r_rule``: moderndid 0.2.0 on the panel pre-processed by R's rule
  written out (months >= 7 dropped; cohort 7 is then never treated within the
  panel and is coded 0, which for not-yet-treated comparisons is the same
  comparison set and the same group shares): ATT(g, t), SEs and the four
  aggregations with analytic SEs. Its cells agree with csdid's (printed below).
* ``moderndid``: moderndid 0.2.0 on the panel as it is. It does not apply R's
  rule: it also estimates cohort 7's pre-treatment cells (the behaviour of
  ``last_cohort="estimate"``).

dr without covariates, and dr / ipw / reg with ``x``; varying and universal
base periods (csdid: varying only). No bootstrap. Run from the repository root
(needs moderndid and csdid):
``python tests/reference/did/staggered_no_never.py > tests/reference/did/staggered_no_never.out``
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
Y, T, ID, G = "employment_rate", "month", "id", "cohort"

full = pd.read_csv(HERE / "staggered_panel.csv")
panel = full[full[G] != 0].reset_index(drop=True)
panel.to_csv(HERE / "staggered_panel_no_never.csv", index=False)

# R did's rule for not-yet-treated comparisons without never-treated units, written out
ANTICIPATION = 0
g_max = panel[G].max()
r_rule = panel[panel[T] < g_max - ANTICIPATION].copy()
r_rule.loc[r_rule[G] == g_max, G] = 0

att_rows: list[dict[str, object]] = []
agg_rows: list[dict[str, object]] = []
SPECS = [(None, "dr"), ("~x", "dr"), ("~x", "ipw"), ("~x", "reg")]


def spec_id(method: str, base: str, xf: str | None) -> dict[str, object]:
    return {"method": method, "base_period": base, "covariates": xf or ""}


def run_moderndid(label: str, data: pd.DataFrame) -> None:
    import moderndid

    for xf, method in SPECS:
        for base in ("varying", "universal"):
            r = moderndid.att_gt(data, yname=Y, tname=T, idname=ID, gname=G, xformla=xf, est_method=method,
                                 control_group="notyettreated", base_period=base, boot=False, cband=False)
            s = spec_id(method, base, xf)
            for g, t, a, se in zip(r.groups, r.times, r.att_gt, r.se_gt, strict=True):
                att_rows.append({"package": label, **s, "cohort": int(g), "time": int(t),
                                 "estimate": float(a), "std_error": float(se)})
            if np.isnan(np.asarray(r.att_gt, dtype=float)).any():
                # moderndid as-is with a universal base period: cells of the last cohort
                # with no comparison units are NaN; such cells are not aggregated here
                print(f"{label} {s}: {int(np.isnan(np.asarray(r.att_gt, dtype=float)).sum())} NaN "
                      "ATT(g, t); no aggregations")
                continue
            for typ in ("simple", "group", "dynamic", "calendar"):
                a = moderndid.aggte(r, type=typ, boot=False, cband=False)
                agg_rows.append({"package": label, **s, "type": typ, "key": "overall",
                                 "estimate": float(a.overall_att), "std_error": float(a.overall_se)})
                if typ != "simple":
                    for k, e, se in zip(a.event_times, a.att_by_event, a.se_by_event, strict=True):
                        agg_rows.append({"package": label, **s, "type": typ, "key": str(int(k)),
                                         "estimate": float(e), "std_error": float(se)})


def run_csdid() -> None:
    from csdid.att_gt import ATTgt

    for xf, method in SPECS:
        with contextlib.redirect_stdout(io.StringIO()):
            m = ATTgt(yname=Y, tname=T, idname=ID, gname=G, data=panel.copy(), control_group="notyettreated",
                      xformla=None if xf is None else f"{Y} ~ x", cband=False)
            m.fit(est_method=method, base_period="varying", bstrap=False)
        s = spec_id(method, "varying", xf)
        res = m.results
        for g, t, a, se in zip(res["group"], res["year"], res["att"], res["se"], strict=True):
            att_rows.append({"package": "csdid", **s, "cohort": int(g), "time": int(t),
                             "estimate": float(a), "std_error": float(se)})


run_csdid()
run_moderndid("moderndid_r_rule", r_rule)
run_moderndid("moderndid", panel)
att = pd.DataFrame(att_rows)
agg = pd.DataFrame(agg_rows)
att.to_csv(HERE / "staggered_no_never_att_gt.csv", index=False)
agg.to_csv(HERE / "staggered_no_never_aggte.csv", index=False)
print(f"moderndid {version('moderndid')}, csdid {version('csdid')}, numpy {np.__version__}, pandas {pd.__version__}")
print(f"panel: {panel[ID].nunique()} units, months {panel[T].min()}-{panel[T].max()}, "
      f"cohorts {sorted(panel[G].unique().tolist())}")
print(att.groupby(["package", "method", "base_period", "covariates"]).size().to_string())
key = ["method", "base_period", "covariates", "cohort", "time"]
both = att[att["package"] == "csdid"].merge(att[att["package"] == "moderndid_r_rule"], on=key,
                                            suffixes=("_csdid", "_r_rule"))
print(f"csdid vs moderndid_r_rule: {len(both)} cells matched of "
      f"{int((att['package'] == 'csdid').sum())}; max |estimate diff| "
      f"{float((both['estimate_csdid'] - both['estimate_r_rule']).abs().max()):.3g}, max relative SE diff "
      f"{float(((both['std_error_csdid'] - both['std_error_r_rule']) / both['std_error_r_rule']).abs().max()):.3g}")
extra = att[(att["package"] == "moderndid") & (att["cohort"] == g_max)]
print(f"moderndid as-is estimates {len(extra)} cell(s) for the last cohort {g_max}:")
print(extra.to_string(float_format=lambda v: f"{v:.15g}"))
print(agg[(agg["type"] == "dynamic") & (agg["method"] == "dr") & (agg["covariates"] == "")
          & (agg["base_period"] == "varying")].to_string(float_format=lambda v: f"{v:.15g}"))
