"""linearmodels ``IV2SLS`` reference values for the CACE on the datasets in ``data/``.

Run from the repository root::

    .venv/bin/python tests/reference/cace/linearmodels_reference.py > tests/reference/cace/linearmodels_reference.out

Writes ``linearmodels_results.csv`` next to this script: one row per case and
covariance, with the coefficient of ``d`` (``estimate``, ``std_error``) and the
first stage's partial F statistic for the instrument from
``res.first_stage.diagnostics`` (``first_stage_f``: a Wald test with the same
covariance as the fit). ``cov_type``/``debiased`` map to dwp_eval's se_type:

* ``unadjusted``, ``debiased=True``: ``classical`` (``s^2 = e'e / (n - k)``);
* ``robust``, ``debiased=False``: ``HC0``; ``debiased=True``: ``HC1``;
* ``clustered``, ``debiased=False``: ``CR0``; ``debiased=True``: ``CR1``
  (``G/(G-1) (n-1)/(n-k)``, Stata's).

Covariates ``x1 x2 xb`` and region dummies (``midlands`` omitted, as in R's
``factor`` with sorted levels) enter both stages; ``block`` dummies stand for
strata fixed effects. Numbers are written with ``repr`` (round-trip exact).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS

HERE = Path(__file__).resolve().parent


def design(d: pd.DataFrame, covariates: bool, fixed_effects: bool) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {"const": np.ones(len(d))}
    if covariates:
        cols["x1"] = d["x1"].to_numpy(float)
        cols["x2"] = d["x2"].to_numpy(float)
        cols["xb"] = d["xb"].to_numpy(float)
        for lev in ["north", "south"]:
            cols[f"region[{lev}]"] = (d["region"] == lev).to_numpy(float)
    if fixed_effects:
        for b in sorted(d["block"].unique())[1:]:
            cols[f"block[{b}]"] = (d["block"] == b).to_numpy(float)
    return pd.DataFrame(cols, index=d.index)


def main() -> None:
    rows = []
    cases = []
    for f in ["one_sided", "two_sided", "weak", "very_weak"]:
        for cov in (False, True):
            for ct, deb in [("unadjusted", True), ("robust", False), ("robust", True)]:
                cases.append((f, cov, False, ct, deb))
    for cov in (False, True):
        for ct, deb in [("unadjusted", True), ("robust", False), ("robust", True)]:
            cases.append(("two_sided", cov, True, ct, deb))
    for fe in (False, True):
        for cov in (False, True):
            for deb in (False, True):
                cases.append(("clustered", cov, fe, "clustered", deb))
    for f, cov, fe, ct, deb in cases:
        d = pd.read_csv(HERE / "data" / f"{f}.csv")
        exog = design(d, cov, fe)
        mod = IV2SLS(d["y"], exog, d[["d"]].astype(float), d[["z"]].astype(float))
        kw = {"clusters": d["cluster"]} if ct == "clustered" else {}
        res = mod.fit(cov_type=ct, debiased=deb, **kw)
        fs = res.first_stage.diagnostics
        se_type = {("unadjusted", True): "classical", ("robust", False): "HC0",
                   ("robust", True): "HC1", ("clustered", False): "CR0",
                   ("clustered", True): "CR1"}[(ct, deb)]
        case = f"{f}{'_fe' if fe else ''}{'_cov' if cov else ''}_{se_type}"
        row = {
            "case": case, "data_file": f"{f}.csv", "covariates": cov, "fixed_effects": fe,
            "clustered": ct == "clustered", "cov_type": ct, "debiased": deb, "se_type": se_type,
            "estimate": repr(float(res.params["d"])), "std_error": repr(float(res.std_errors["d"])),
            "first_stage_f": repr(float(fs.loc["d", "f.stat"])),
            "first_stage_partial_r2": repr(float(fs.loc["d", "partial.rsquared"])),
            "n_obs": int(res.nobs),
        }
        rows.append(row)
        print(f"{case:<28} d = {float(res.params['d']):.6f} ({float(res.std_errors['d']):.6f}), "
              f"first-stage F {float(fs.loc['d', 'f.stat']):.4f}")
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "linearmodels_results.csv", index=False, lineterminator="\n")
    import linearmodels

    print(f"\nwrote {len(out)} rows; python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"pandas {pd.__version__}, linearmodels {linearmodels.__version__}")


if __name__ == "__main__":
    main()
