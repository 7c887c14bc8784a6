"""Reference values for ``dwp_eval.itt``'s regression estimators from statsmodels.

Run from the repository root (the output is committed as
``statsmodels_reference.out``)::

    .venv/bin/python tests/reference/itt/statsmodels_reference.py \
        > tests/reference/itt/statsmodels_reference.out

Reads the committed datasets in ``data/`` (written by ``make_data.py``) and
writes ``statsmodels_results.csv`` next to this script: one row per (case,
coefficient), every number formatted with ``%.17g`` so that it reads back as
the same double.

Each case is one regression that ``dwp_eval.itt(..., se_type=...)`` fits,
built here by hand as an explicit design matrix and fitted with statsmodels
``OLS`` (``WLS`` when weighted), an implementation independent of dwp_eval's
(statsmodels solves by pseudo-inverse and computes HC leverages from the full
hat matrix; dwp_eval uses a Cholesky factor and absorbs strata by demeaning):

``none``
    ``y ~ 1 + z``: the difference in means as OLS of the outcome on assignment;
``additive``
    ``y ~ 1 + z + x1 + x2 + x3``;
``lin``
    ``y ~ 1 + z + x1_c + x2_c + x3_c + z:x1_c + z:x2_c + z:x3_c`` with
    ``x_c = x - mean(x)`` over the whole analysis sample (the weighted mean
    when weighted), Lin (2013);

each with ``C(block)`` (stratum dummies, first level dropped) added where the
design is blocked: ``itt(..., strata="block", se_type=...)`` absorbs strata
fixed effects, which give the same coefficients, residuals and leverages as
the dummies. ``z`` is ``arm == treatment`` among the rows of the two compared
arms (multi-arm contrasts use only those rows, as ``itt`` does).

Standard errors (statsmodels ``cov_type``):

* ``classical`` (``"nonrobust"``), ``HC0``-``HC3`` (``"HC0"``-``"HC3"``) when
  the design has no clusters;
* ``CR0`` and ``CR1`` (``"cluster"`` with ``groups`` = cluster codes and
  ``use_correction`` False / True) when clusters were randomised. statsmodels'
  correction (``sandwich_covariance.cov_cluster``) multiplies CR0 by
  ``G/(G-1) (n-1)/(n-k)`` with ``k`` the number of columns of the design,
  stratum dummies included, and its t tests use ``G - 1`` df
  (``df_resid_inference``). The printed output checks that factor on every
  clustered case.

Strata dummy coefficients (nuisance parameters) are not written; ``k_params``
counts them. Columns of the CSV: ``case, dataset, model, formula, adjustment,
covariates, control, treatment, strata, cluster, weights, se_type, cov_type,
term, estimate, std_error, df_resid, df_inference, n_obs, k_params,
n_clusters, statsmodels_version``.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "statsmodels_results.csv"

COVARIATES = ["x1", "x2", "x3"]
HC_TYPES = ["classical", "HC0", "HC1", "HC2", "HC3"]
CR_TYPES = ["CR0", "CR1"]
ADJUSTMENTS = ["none", "additive", "lin"]


@dataclass(frozen=True)
class Design:
    """One analysis of one dataset: the compared arms and the design columns."""

    name: str  # case prefix
    dataset: str  # file in data/
    control: str = "control"
    treatment: str = "treatment"
    strata: str | None = None
    cluster: str | None = None
    weights: str | None = None


DESIGNS = [
    Design("standard", "standard.csv"),
    Design("binary", "binary.csv"),
    Design("blocked", "blocked.csv", strata="block"),
    Design("blocked_min2", "blocked_min2.csv", strata="block"),
    Design("matched_pairs", "matched_pairs.csv", strata="block"),
    Design("multi_arm_control_vs_a", "multi_arm.csv", treatment="treatment_a", strata="block"),
    Design("multi_arm_control_vs_b", "multi_arm.csv", treatment="treatment_b", strata="block"),
    Design("multi_arm_a_vs_b", "multi_arm.csv", control="treatment_a", treatment="treatment_b",
           strata="block"),
    Design("clustered", "clustered.csv", cluster="cluster"),
    Design("few_clusters", "few_clusters.csv", cluster="cluster"),
    Design("block_clustered", "block_clustered.csv", strata="block", cluster="cluster"),
    Design("matched_cluster_pairs", "matched_cluster_pairs.csv", strata="block", cluster="cluster"),
    # weighted.csv serves the four weighted designs (README: "Datasets")
    Design("weighted_standard", "weighted.csv", weights="w"),
    Design("weighted_blocked", "weighted.csv", strata="block", weights="w"),
    Design("weighted_clustered", "weighted.csv", cluster="cluster", weights="w"),
    Design("weighted_block_clustered", "weighted.csv", strata="block", cluster="cluster",
           weights="w"),
]


def design_matrix(
    frame: pd.DataFrame, design: Design, adjustment: str
) -> tuple[pd.DataFrame, str, int]:
    """The regressors of one case, its formula and the number of stratum dummies."""
    z = (frame["arm"] == design.treatment).to_numpy(dtype=float)
    cols: dict[str, np.ndarray] = {"Intercept": np.ones(len(frame)), "z": z}
    terms = ["1", "z"]
    n_dummies = 0
    if design.strata is not None:
        levels = sorted(frame[design.strata].unique())
        for lev in levels[1:]:
            cols[f"{design.strata}[{lev}]"] = (frame[design.strata] == lev).to_numpy(dtype=float)
        n_dummies = len(levels) - 1
        terms.append(f"C({design.strata})")
    w = None if design.weights is None else frame[design.weights].to_numpy(dtype=float)
    if adjustment == "additive":
        for c in COVARIATES:
            cols[c] = frame[c].to_numpy(dtype=float)
        terms += COVARIATES
    elif adjustment == "lin":
        centred = {f"{c}_c": frame[c].to_numpy(dtype=float) for c in COVARIATES}
        for name, v in centred.items():
            cols[name] = v - np.average(v, weights=w)
        for name in centred:
            cols[f"z:{name}"] = z * cols[name]
        terms += list(centred) + [f"z:{name}" for name in centred]
    formula = "y ~ " + " + ".join(terms)
    if adjustment == "lin":
        formula += "; x_c = x - " + ("weighted mean(x)" if w is not None else "mean(x)")
    return pd.DataFrame(cols, index=frame.index), formula, n_dummies


def fit(
    frame: pd.DataFrame, X: pd.DataFrame, design: Design, se_type: str
) -> sm.regression.linear_model.RegressionResultsWrapper:
    y = frame["y"].to_numpy(dtype=float)
    if design.weights is None:
        model = sm.OLS(y, X.to_numpy())
    else:
        model = sm.WLS(y, X.to_numpy(), weights=frame[design.weights].to_numpy(dtype=float))
    if se_type == "classical":
        return model.fit(cov_type="nonrobust")
    if se_type.startswith("HC"):
        return model.fit(cov_type=se_type)
    groups = pd.factorize(frame[design.cluster], sort=True)[0]
    return model.fit(cov_type="cluster",
                     cov_kwds={"groups": groups, "use_correction": se_type == "CR1"})


def cov_type_of(se_type: str) -> str:
    if se_type == "classical":
        return "nonrobust"
    if se_type.startswith("HC"):
        return se_type
    return "cluster (use_correction=" + ("True" if se_type == "CR1" else "False") + ")"


def main() -> None:
    print(f"statsmodels {statsmodels.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"Python {platform.python_version()}")
    print(f"datasets: {DATA.relative_to(HERE.parents[2])}; covariates {' + '.join(COVARIATES)}")
    rows: list[dict[str, object]] = []
    factor_checks: list[tuple[str, float]] = []
    for design in DESIGNS:
        data = pd.read_csv(DATA / design.dataset)
        frame = data[data["arm"].isin([design.control, design.treatment])].reset_index(drop=True)
        if design.dataset != "multi_arm.csv":
            assert (frame["z"].to_numpy() == (frame["arm"] == design.treatment)).all()
        se_types = CR_TYPES if design.cluster is not None else HC_TYPES
        G = None if design.cluster is None else int(frame[design.cluster].nunique())
        for adjustment in ADJUSTMENTS:
            X, formula, n_dummies = design_matrix(frame, design, adjustment)
            shown = [c for c in X.columns if not c.startswith(f"{design.strata}[")]
            kind = "WLS" if design.weights is not None else "OLS"
            print(f"\n=== {design.name}_{adjustment}  [{design.dataset}]  {kind}: {formula}")
            print(f"    control {design.control!r}, treatment {design.treatment!r}; n = {len(frame)}, "
                  f"k = {X.shape[1]} ({n_dummies} stratum dummies)"
                  + (f", G = {G} clusters ({design.cluster})" if G is not None else "")
                  + (f", weights {design.weights}" if design.weights else "")
                  + f", condition number {np.linalg.cond(X.to_numpy()):.1f}")
            table = {}
            bse = {}
            dfs = []
            for se_type in se_types:
                res = fit(frame, X, design, se_type)
                params = pd.Series(res.params, index=X.columns)
                ses = pd.Series(res.bse, index=X.columns)
                if not np.all(np.isfinite(ses[shown])):
                    raise SystemExit(f"{design.name} {adjustment} {se_type}: non-finite SE")
                df_inf = float(getattr(res, "df_resid_inference", None) or res.df_resid)
                table["estimate"] = params[shown]
                table[se_type] = ses[shown]
                bse[se_type] = ses["z"]
                case = f"{design.name}_{adjustment}_{se_type}"
                for term in shown:
                    rows.append({
                        "case": case, "dataset": design.dataset, "model": kind,
                        "formula": formula, "adjustment": adjustment,
                        "covariates": " ".join(COVARIATES) if adjustment != "none" else "",
                        "control": design.control, "treatment": design.treatment,
                        "strata": design.strata or "", "cluster": design.cluster or "",
                        "weights": design.weights or "", "se_type": se_type,
                        "cov_type": cov_type_of(se_type), "term": term,
                        "estimate": float(params[term]), "std_error": float(ses[term]),
                        "df_resid": float(res.df_resid), "df_inference": df_inf,
                        "n_obs": int(res.nobs), "k_params": X.shape[1],
                        "n_clusters": "" if G is None else G,
                        "statsmodels_version": statsmodels.__version__,
                    })
                dfs.append(f"{se_type} {res.df_resid:g}/{df_inf:g}")
            print("    df_resid / df of t tests: " + ", ".join(dfs))
            print(pd.DataFrame(table).to_string(float_format=lambda v: f"{v:.10f}"))
            if G is not None:
                n, k = len(frame), X.shape[1]
                factor = G / (G - 1) * (n - 1) / (n - k)
                ratio = (bse["CR1"] / bse["CR0"]) ** 2
                factor_checks.append((f"{design.name}_{adjustment}", ratio / factor - 1))
                print(f"    (SE_CR1 / SE_CR0)^2 = {ratio:.15f}; G/(G-1) (n-1)/(n-k) = {factor:.15f}")
    out = pd.DataFrame(rows)
    out.to_csv(OUT, index=False, float_format="%.17g", lineterminator="\n")
    n_cases = out["case"].nunique()
    print(f"\nwrote {len(out)} rows for {n_cases} cases ({len(DESIGNS)} designs x "
          f"{len(ADJUSTMENTS)} adjustments x SE types) to {OUT.name}")
    worst = max(abs(r) for _, r in factor_checks)
    print(f"CR1 = CR0 x G/(G-1) (n-1)/(n-k) on all {len(factor_checks)} clustered fits: "
          f"largest relative deviation {worst:.2g}")


if __name__ == "__main__":
    main()
