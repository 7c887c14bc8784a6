"""``itt(..., se_type=...)`` against committed statsmodels reference values.

``tests/reference/itt/statsmodels_results.csv`` was written by
``tests/reference/itt/statsmodels_reference.py`` (raw output:
``statsmodels_reference.out``; see ``tests/reference/itt/README.md``): statsmodels
0.15.0 ``OLS`` / ``WLS`` on explicit design matrices for the regressions that
``itt`` fits on the committed datasets in ``tests/reference/itt/data/``:

* difference in means as OLS of ``y`` on ``[1, z]``, additive adjustment
  ``[1, z, x1, x2, x3]``, Lin (2013) adjustment ``[1, z, x_c, z x_c]`` with
  covariates centred at their full-sample (weighted) mean;
* stratum dummies where the design is blocked (``itt`` absorbs them);
* classical and HC0-HC3 without clusters; CR0 and CR1 (statsmodels
  ``cov_type="cluster"``) with clusters; WLS for the four weighted designs.

Every comparison passes ``estimator="ols"``, so ``itt`` fits the regression, also
for blocked designs without covariates: the default without covariates is the
design-based blocked difference in means, which is not a regression with
stratum dummies and is compared with estimatr in ``test_itt_reference.py``
instead.

CR1: statsmodels (``sandwich_covariance.cov_cluster``, ``use_correction=True``)
multiplies CR0 by ``G/(G-1) (n-1)/(n-k)``, ``k`` the columns of its design,
stratum dummies included. dwp_eval's CR1 (``_core/variance.py``) is CR0 times
``G/(G-1) (n-1)/(n-p)`` with ``p = fit.rank``, the columns of the working
design plus the absorbed strata: the same number, so the same factor.
``test_cr1_factor_is_statsmodels_small_sample_correction`` checks it on the
committed values.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de

REF = Path(__file__).parent / "reference" / "itt"

# ---------------------------------------------------------------------------- tolerances
# Estimates and SEs: both sides solve the same least-squares problem on the same
# doubles (the datasets have 6 decimals; the reference numbers are written with
# %.17g and read back exactly), statsmodels by pseudo-inverse with the full hat
# matrix, dwp_eval by Cholesky with strata absorbed by demeaning. On these
# designs (condition number < 200) the two agree to ~1e-13; 1e-10 relative
# keeps a margin of 1000 while any formula difference (n/(n-k) with k off by
# one: ~5e-3; a leverage term left out: >1e-3) is far larger.
RTOL = 1e-10
# Degrees of freedom are counts (n - k, G - 1): exact.

RESULTS = pd.read_csv(REF / "statsmodels_results.csv", keep_default_na=False)
TREATMENT = RESULTS[RESULTS["term"] == "z"].set_index("case")


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / name)


def _itt(row: pd.Series) -> de.Effect:
    covariates = row["covariates"].split() or None
    kwargs = {}
    if covariates:
        kwargs["adjustment"] = row["adjustment"]
    return de.itt(
        _data(row["dataset"]), outcome="y", assigned="arm", control=row["control"],
        treatment=row["treatment"], covariates=covariates, strata=row["strata"] or None,
        cluster=row["cluster"] or None, weights=row["weights"] or None, se_type=row["se_type"],
        estimator="ols", **kwargs,
    )


@pytest.mark.parametrize("case", list(TREATMENT.index))
def test_itt_matches_statsmodels(case: str) -> None:
    ref = TREATMENT.loc[case]
    res = _itt(ref)
    assert res.estimate == pytest.approx(float(ref["estimate"]), rel=RTOL, abs=0)
    assert res.std_error == pytest.approx(float(ref["std_error"]), rel=RTOL, abs=0)
    assert res.se_type == ref["se_type"]
    assert res.n_obs == int(ref["n_obs"])
    if ref["cluster"]:
        assert res.n_clusters == int(ref["n_clusters"])
        assert res.df == float(ref["df_inference"]) == int(ref["n_clusters"]) - 1
    else:
        assert res.df == float(ref["df_resid"]) == int(ref["n_obs"]) - int(ref["k_params"])
    kind = {"none": "OLS of outcome on assignment", "additive": "OLS with additive covariates",
            "lin": "OLS with Lin (2013) interacted covariates"}[ref["adjustment"]]
    assert res.method.startswith(kind)
    assert ("strata fixed effects" in res.method) == bool(ref["strata"])


def test_cr1_factor_is_statsmodels_small_sample_correction() -> None:
    """The committed CR1 SEs are CR0 times sqrt(G/(G-1) (n-1)/(n-k)), k counting the
    stratum dummies: the factor of dwp_eval's CR1 with p = columns + absorbed strata."""
    cr = TREATMENT[TREATMENT["se_type"].isin(["CR0", "CR1"])]
    cr0 = cr[cr["se_type"] == "CR0"].rename(index=lambda c: c.removesuffix("_CR0"))
    cr1 = cr[cr["se_type"] == "CR1"].rename(index=lambda c: c.removesuffix("_CR1"))
    assert sorted(cr0.index) == sorted(cr1.index) and len(cr1) == 18
    G = cr1["n_clusters"].astype(int)
    n, k = cr1["n_obs"], cr1["k_params"]
    factor = G / (G - 1) * (n - 1) / (n - k)
    ratio = (cr1["std_error"] / cr0.loc[cr1.index, "std_error"]) ** 2
    np.testing.assert_allclose(ratio, factor, rtol=1e-12)
    # the blocked clustered designs do count their stratum dummies in k
    blocked = cr1[cr1["strata"] != ""]
    assert (blocked["k_params"] > blocked["adjustment"].map({"none": 2, "additive": 5, "lin": 8})).all()


def test_reference_covers_every_dataset_and_se_type() -> None:
    datasets = sorted(p.name for p in (REF / "data").glob("*.csv"))
    assert sorted(RESULTS["dataset"].unique()) == datasets
    assert set(RESULTS["se_type"]) == {"classical", "HC0", "HC1", "HC2", "HC3", "CR0", "CR1"}
    assert set(RESULTS["adjustment"]) == {"none", "additive", "lin"}
    assert RESULTS["statsmodels_version"].nunique() == 1
    # one treatment row per case; every SE finite
    assert TREATMENT.index.is_unique and len(TREATMENT) == RESULTS["case"].nunique()
    assert np.isfinite(RESULTS["std_error"].astype(float)).all()
