"""Multiple imputation: dwp_eval.multiple_imputation + fit against statsmodels' MICE.

The job: a trial of 20,000 people (1:1), outcome missing for about 30% (at
random given the arm and the covariates), five covariates; impute the outcome
by predictive mean matching m = 20 times with the arm and the covariates as
predictors (``by_arm=False``: one imputation model, as statsmodels' default
``y ~ all other columns``), fit OLS of the outcome on the arm and the
covariates with HC2 standard errors on each completed dataset, and pool by
Rubin's rules.

statsmodels: ``MICE("y ~ treat + x1 + ... + x5", OLS, MICEData(frame, k_pmm=5),
fit_kwds={"cov_type": "HC2"}).fit(n_burnin=0, n_imputations=20)`` with
``n_skip=0``: one MICE cycle per imputation, exact with one incomplete column
(as dwp_eval). dwp_eval: ``multiple_imputation(..., m=20, method="pmm",
by_arm=False).fit(itt, covariates=..., adjustment="additive")``.

The imputations are random draws, so the two pooled estimates differ by
Monte Carlo error: the check is that they are within 4 pooled SEs of each
other and of the full-data estimate. No target is set (the issue sets none);
the ratio is printed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from benchmarks import harness as h
from dwp_eval.estimate.imputation import multiple_imputation
from dwp_eval.estimate.itt import itt

DATA_SEED = 20261206
K = 5
COVARIATES = [f"x{j}" for j in range(1, K + 1)]
M = 20


def make_trial(n: int, *, seed: int = DATA_SEED) -> tuple[pd.DataFrame, float]:
    """The trial with missing outcomes and the full-data ITT."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, K))
    treat = rng.permutation(np.arange(n) < n // 2).astype(float)
    y = 1.0 + 0.3 * treat + x @ (np.arange(1, K + 1) / K) + rng.normal(size=n)
    frame = pd.DataFrame({"treat": treat, "y": y})
    for j, name in enumerate(COVARIATES):
        frame[name] = x[:, j]
    full = itt(frame.assign(arm=np.where(treat == 1, "treatment", "control")), outcome="y",
               assigned="arm", covariates=COVARIATES, adjustment="additive").estimate
    observed = rng.random(n) < expit(1.0 + 0.5 * x[:, 0] - 0.4 * treat)
    frame.loc[~observed, "y"] = np.nan
    return frame, float(full)


def run(quick: bool) -> list[h.Comparison]:
    n = 2_000 if quick else 20_000
    frame, full = make_trial(n)
    ours_frame = frame.assign(arm=np.where(frame["treat"] == 1, "treatment", "control"))
    mice = h.optional_import("statsmodels.imputation.mice")
    sm = h.optional_import("statsmodels.api")
    got: dict[str, float] = {}

    def ours() -> Any:
        mi = multiple_imputation(ours_frame, impute="y", using=COVARIATES, assigned="arm", m=M,
                                 method="pmm", by_arm=False, seed=1)
        return mi.fit(itt, outcome="y", covariates=COVARIATES, adjustment="additive")

    def ours_check(res: Any) -> str:
        got["estimate"], got["se"] = res.estimate, res.std_error
        if abs(res.estimate - full) > 4 * res.std_error:
            raise h.BenchmarkError(f"pooled ITT {res.estimate} far from the full data's {full}")
        return (f"pooled ITT {res.estimate:.4f} (SE {res.std_error:.4f}, df {res.df:.1f}, "
                f"fmi {res.fmi:.3f}); full data {full:.4f}")

    def sm_fit() -> Any:
        try:
            data = mice.MICEData(frame, k_pmm=5, rng=np.random.default_rng(1))
        except TypeError:  # statsmodels < 0.15 has no rng (it draws from numpy's global state)
            data = mice.MICEData(frame, k_pmm=5)
        model = mice.MICE("y ~ treat + " + " + ".join(COVARIATES), sm.OLS, data, n_skip=0,
                          fit_kwds={"cov_type": "HC2"})
        return model.fit(n_burnin=0, n_imputations=M)

    def sm_check(res: Any) -> str:
        est = float(np.asarray(res.params)[1])
        se = float(np.sqrt(np.diag(res.cov_params()))[1])
        if abs(est - got.get("estimate", est)) > 4 * max(se, got.get("se", se)):
            raise h.BenchmarkError(f"statsmodels' pooled estimate {est} far from dwp_eval's "
                                   f"{got.get('estimate')}")
        return f"pooled treat {est:.4f} (SE {se:.4f}, fmi {res.frac_miss_info[1]:.3f})"

    peers: dict[str, h.Case | h.Missing]
    if mice is None or sm is None:
        peers = {"statsmodels MICE": h.missing("statsmodels")}
    else:
        peers = {"statsmodels MICE": h.Case("sm", sm_fit, check=sm_check)}
    cmp = h.compare(
        f"multiple imputation (pmm, m = {M}) + OLS HC2 pooled, {n:,} rows, {K} covariates",
        h.Case("dwp_eval.multiple_imputation", ours, check=ours_check),
        peers,
        repeat=1 if quick else 3,
        quick=quick,
        info=f"data: {n:,} rows, outcome missing for {frame['y'].isna().mean():.0%}; both impute "
        "by pmm with 5 donors, one cycle per imputation, and pool Rubin's rules (statsmodels "
        "without Barnard-Rubin df)",
        show=False,
    )
    print(cmp.table(), "", sep="\n", flush=True)
    return [cmp]
