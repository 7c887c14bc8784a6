"""Reproduce the JTPA numbers of MHE Table 4.4.1 / Abadie, Angrist & Imbens
(2002) with statsmodels, and compare them with the published values in
``jtpa_mhe_table_4_4_1.csv``.

Run from the repository root (the output is committed as jtpa_check.out)::

    .venv/bin/python tests/reference/itt/jtpa_check.py > tests/reference/itt/jtpa_check.out

The data are ``../shared/data/jtpa.dta`` relative to the repository (override
with the environment variable ``JTPA_DTA``); the file's sha256 is checked
against the provenance note in ``../shared/data/README.md``.

Every regression is OLS on a sex subsample: earnings on ``jtpa_offer`` (ITT),
earnings on ``jtpa_training`` (OLS comparison by training status),
``jtpa_training`` on ``jtpa_offer`` (first stage), without covariates and with
the baseline covariates of AAI (2002) / MHE; plus 2SLS of earnings on
``jtpa_training`` instrumented by ``jtpa_offer`` (linearmodels). Standard
errors: conventional, HC0, HC1 (Stata's ``robust``), HC2, HC3.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DTA = Path(os.environ.get("JTPA_DTA", REPO.parent / "shared" / "data" / "jtpa.dta"))
SHA256 = "d22045787b33f365162f767bce0cefaaad9f13a636decf72f0bfb911271ed07d"

# AAI (2002, p. 101): black, Hispanic, high school or GED, married, 5 age
# groups, AFDC receipt (for women only), worked < 13 weeks in the past year,
# recommended service strategy (classroom / OJT-JSA / other) and second
# follow-up survey.
BASELINE = [
    "hsorged",
    "black",
    "hispanic",
    "married",
    "wkless13",
    "class_tr",
    "ojt_jsa",
    "age2225",
    "age2629",
    "age3035",
    "age3644",
    "age4554",
    "f2sms",
]
SE_TYPES = ["nonrobust", "HC0", "HC1", "HC2", "HC3"]


def covariates(sample: str, spec: str) -> list[str]:
    if spec == "none":
        return []
    return [*BASELINE, "afdc"] if sample == "women" else list(BASELINE)


def ols(frame: pd.DataFrame, y: str, d: str, controls: list[str]) -> dict[str, float]:
    exog = sm.add_constant(frame[[d, *controls]].astype(float))
    model = sm.OLS(frame[y].astype(float), exog)
    out = {"estimate": float(model.fit().params[d])}
    for se in SE_TYPES:
        out[se] = float(model.fit(cov_type=se).bse[d])
    return out


def iv(frame: pd.DataFrame, controls: list[str]) -> dict[str, float]:
    from linearmodels.iv import IV2SLS

    exog = sm.add_constant(frame[controls].astype(float)) if controls else None
    if exog is None:
        exog = pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)
    model = IV2SLS(
        frame["earnings"].astype(float),
        exog,
        frame[["jtpa_training"]].astype(float),
        frame[["jtpa_offer"]].astype(float),
    )
    out = {"estimate": float(model.fit(cov_type="unadjusted").params["jtpa_training"])}
    out["nonrobust"] = float(
        model.fit(cov_type="unadjusted", debiased=True).std_errors["jtpa_training"]
    )
    out["HC0"] = float(model.fit(cov_type="robust").std_errors["jtpa_training"])
    out["HC1"] = float(model.fit(cov_type="robust", debiased=True).std_errors["jtpa_training"])
    out["HC2"] = out["HC3"] = float("nan")
    return out


def main() -> None:
    digest = hashlib.sha256(DTA.read_bytes()).hexdigest()
    print(
        f"data: {DTA.name}, sha256 {digest} ({'matches' if digest == SHA256 else 'DIFFERS from'} README)"
    )
    data = pd.read_stata(DTA)
    published = pd.read_csv(HERE / "jtpa_mhe_table_4_4_1.csv")

    rows = []
    for sample, sex in [("men", 1), ("women", 0)]:
        frame = data[data["sex"] == sex]
        print(f"{sample}: n = {len(frame)}, offered = {int(frame['jtpa_offer'].sum())}")
        for spec in ["none", "baseline"]:
            ctl = covariates(sample, spec)
            fits = {
                "itt": ols(frame, "earnings", "jtpa_offer", ctl),
                "ols": ols(frame, "earnings", "jtpa_training", ctl),
                "first_stage": ols(frame, "jtpa_training", "jtpa_offer", ctl),
                "wald_iv": iv(frame, ctl),
            }
            for quantity, fit in fits.items():
                rows.append({"sample": sample, "covariates": spec, "quantity": quantity, **fit})
    computed = pd.DataFrame(rows)

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print("\nComputed (statsmodels OLS; 2SLS from linearmodels, whose HC1 is the")
    print("robust covariance times n/(n - k); HC2/HC3 not computed for 2SLS):")
    print(computed.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    merged = published.merge(computed, on=["sample", "covariates", "quantity"], how="left")
    merged["source"] = np.where(merged["source"].str.startswith("Angrist"), "MHE", "AAI")
    merged["diff_est"] = merged["estimate_y"] - merged["estimate_x"]
    merged["diff_se_HC1"] = merged["HC1"] - merged["std_error"]
    merged["diff_se_nonrobust"] = merged["nonrobust"] - merged["std_error"]
    cols = [
        "sample",
        "covariates",
        "quantity",
        "source",
        "verified",
        "estimate_x",
        "estimate_y",
        "diff_est",
        "std_error",
        "HC1",
        "diff_se_HC1",
        "nonrobust",
        "diff_se_nonrobust",
    ]
    table = merged[cols].rename(columns={"estimate_x": "published", "estimate_y": "computed"})
    print("\nPublished vs computed (diff = computed - published):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    mhe = merged[(merged["source"] == "MHE")]
    est_ok = int((mhe["estimate_y"].round(0) == mhe["estimate_x"]).sum())
    print(f"\nMHE rows: estimates that round to the published dollar: {est_ok} of {len(mhe)}")
    for se in SE_TYPES:
        have = mhe[se].notna()
        hits = int((mhe.loc[have, se].round(0) == mhe.loc[have, "std_error"]).sum())
        print(f"  {se:>9} SEs that round to the published dollar: {hits} of {int(have.sum())}")
    print("Men without afdc in the covariates (as published); with afdc added for men:")
    men = data[data["sex"] == 1]
    with_afdc = ols(men, "earnings", "jtpa_offer", [*BASELINE, "afdc"])
    print(f"  ITT {with_afdc['estimate']:.3f} (HC1 {with_afdc['HC1']:.3f}) vs published 970 (546)")

    er_path = HERE / "jtpa_estimatr.csv"
    if er_path.exists():
        er = pd.read_csv(er_path)
        both = er.merge(computed, on=["sample", "covariates", "quantity"])
        both["ours"] = [row[row["se_type"]] for _, row in both.iterrows()]
        both = both[both["ours"].notna()]
        rel_est = (both["estimate_x"] / both["estimate_y"] - 1).abs().max()
        rel_se = (both["std_error"] / both["ours"] - 1).abs().max()
        print(
            f"\nestimatr (jtpa_estimatr.csv) vs statsmodels/linearmodels, {len(both)} matching "
            f"estimate/SE pairs (HC1, HC2): max relative difference {rel_est:.2e} in estimates, "
            f"{rel_se:.2e} in SEs"
        )


if __name__ == "__main__":
    main()
