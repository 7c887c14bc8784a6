"""Seeded Monte Carlo: multiple imputation under outcomes missing at random by
arm and a covariate.

Each simulation draws a trial of n = 300 (1:1), outcome ``y = 1 + 0.5 T + x + e``,
and leaves ``y`` unobserved with ``P(observed) = expit(0.5 + 1.2 x - 0.8 T)``:
responders have higher ``x`` and so higher ``y``, more so in the treatment arm
(missing at random given the arm and ``x``, not completely at random). On the
same data:

* the ITT pooled over m = 5 imputations (``norm``, by arm, using ``x``) is
  unbiased for 0.5 (within 2 Monte Carlo SEs) and its 95% interval covers at the
  nominal rate (inside the 99% binomial band for 300 simulations);
* the complete-case ITT is biased (its mean is more than 5 Monte Carlo SEs from 0.5).

300 simulations: the Monte Carlo SE of a coverage of 0.95 is
sqrt(0.95 * 0.05 / 300) = 0.0126, and the band is about [0.917, 0.977]; the
Monte Carlo SE of the mean estimate is the SD of the estimates / sqrt(300)
(about 0.008 here). Seeded, so the outcome of each test is fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import dwp_eval as de
from dwp_eval.testing import binomial_band

SIMS = 300
N = 300
TRUTH = 0.5
ALPHA = 0.05
BAND_LEVEL = 0.99  # a correct method falls outside the band with probability < 1%
BIAS_Z = 2.0  # the brief: bias within 2 Monte Carlo SEs
CC_BIAS_Z = 5.0  # complete cases: clearly biased


def draw(rng: np.random.Generator) -> pd.DataFrame:
    t = (np.arange(N) % 2).astype(float)
    x = rng.normal(size=N)
    y = 1.0 + TRUTH * t + x + rng.normal(size=N)
    observed = rng.random(N) < expit(0.5 + 1.2 * x - 0.8 * t)
    return pd.DataFrame({"arm": np.where(t == 1, "treatment", "control"), "x": x,
                         "y": np.where(observed, y, np.nan)})


@pytest.mark.slow
def test_mi_is_unbiased_and_covers_where_complete_cases_are_biased() -> None:
    rng = np.random.default_rng(20261206)
    mi_est, mi_cover, cc_est = [], [], []
    for _ in range(SIMS):
        data = draw(rng)
        mi = de.multiple_imputation(data, impute="y", using="x", assigned="arm", m=5,
                                    method="norm", seed=rng)
        pooled = mi.fit(de.itt, outcome="y")
        lo, hi = pooled.interval()
        mi_est.append(pooled.estimate)
        mi_cover.append(lo <= TRUTH <= hi)
        cc_est.append(de.itt(data.dropna(), outcome="y", assigned="arm").estimate)
    mi_est_a, cc_est_a = np.array(mi_est), np.array(cc_est)
    mc_se = mi_est_a.std(ddof=1) / np.sqrt(SIMS)
    bias = mi_est_a.mean() - TRUTH
    assert abs(bias) < BIAS_Z * mc_se, (bias, mc_se)
    cc_bias = cc_est_a.mean() - TRUTH
    cc_mc_se = cc_est_a.std(ddof=1) / np.sqrt(SIMS)
    assert abs(cc_bias) > CC_BIAS_Z * cc_mc_se, (cc_bias, cc_mc_se)
    lo, hi = binomial_band(1 - ALPHA, SIMS, significance=1 - BAND_LEVEL)
    coverage = float(np.mean(mi_cover))
    assert lo <= coverage <= hi, (coverage, lo, hi)
    print(f"MI bias {bias:.4f} (MC SE {mc_se:.4f}); CC bias {cc_bias:.4f} (MC SE "
          f"{cc_mc_se:.4f}); coverage {coverage:.3f} in [{lo:.3f}, {hi:.3f}]")
