"""Seeded Monte Carlo: flags and take-up on synthetic records recover the rates that made them.

``datasets.whp_referrals`` signposts each control-arm member to similar
provision with a known, site-dependent probability ``p_i`` and lets each
treatment-arm member take up the programme with a known probability. The
number flagged is then a sum of independent Bernoulli(p_i) draws, with mean
``sum p_i`` and variance ``sum p_i (1 - p_i)``: every check below allows
4 standard deviations (a false alarm about once in 16,000 checks per
replicate), and the replicate-by-replicate exact agreement with the truth
is checked as well.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dwp_eval.datasets import SIGNPOSTING, SIMILAR_PROVISION, whp_like, whp_referrals
from dwp_eval.errors import RecordProblemsWarning
from dwp_eval.monitor import contamination_summary, flag_contamination, take_up

N_PEOPLE = 10_000
REPLICATES = 12
BAND_SD = 4.0  # binomial band: 4 SD (two-sided false alarm ~6e-5 per check)


def _replicate(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    people = whp_like(n=N_PEOPLE, seed=rng)
    people["arm"] = np.where(rng.permutation(N_PEOPLE) < N_PEOPLE // 2, "treatment", "control")
    rec = whp_referrals(people, people["arm"], seed=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordProblemsWarning)
        flags = flag_contamination(
            people, rec.referrals, randomised="referred_on", similar=SIMILAR_PROVISION,
            min_days=7, keep="site",
        )
        tu = take_up(people, rec.starts, randomised="referred_on", keep="site")
    return people, flags, tu, rec.truth


@pytest.mark.slow
def test_flags_recover_the_generating_contamination_and_take_up_rates() -> None:
    site_k: dict[str, int] = dict.fromkeys(SIGNPOSTING, 0)
    site_n: dict[str, int] = dict.fromkeys(SIGNPOSTING, 0)
    total_k = total_mean = total_var = 0.0
    for r in range(REPLICATES):
        _, flags, tu, truth = _replicate(20180501 + r)
        # exact: the flags are the truth that generated the records
        np.testing.assert_array_equal(flags["contaminated"], truth["contaminated"])
        np.testing.assert_array_equal(flags["also_received"], truth["also_received"])
        np.testing.assert_array_equal(tu["received"], truth["received_programme"])

        control = (flags["arm"] == "control").to_numpy()
        p = flags.loc[control, "site"].map(SIGNPOSTING).to_numpy(dtype=float)
        k = int(flags.loc[control, "contaminated"].sum())
        mean, sd = p.sum(), np.sqrt((p * (1 - p)).sum())
        assert abs(k - mean) <= BAND_SD * sd, (r, k, mean, sd)
        assert truth.attrs["true_rates"]["expected_contamination"] == pytest.approx(mean / control.sum())
        total_k, total_mean, total_var = total_k + k, total_mean + mean, total_var + sd**2

        # take-up within a year: Bernoulli(p_take_i * (1 - out_of_window)), mean p_take = 0.75
        treat = (tu["arm"] == "treatment").to_numpy()
        q = 0.75 * (1 - 0.02)
        k_t = int(tu.loc[treat, "received"].sum())
        n_t = int(treat.sum())
        # the p_i vary (0.60 to 0.90), so n q (1 - q) over-states the variance: conservative
        assert abs(k_t - n_t * q) <= BAND_SD * np.sqrt(n_t * q * (1 - q)), (r, k_t / n_t)

        summ = contamination_summary(flags[control], by="site").to_frame()
        for row in summ.itertuples(index=False):
            site_k[row.site] += int(row.n_flagged)
            site_n[row.site] += int(row.n)

    assert abs(total_k - total_mean) <= BAND_SD * np.sqrt(total_var)
    for site, rate in SIGNPOSTING.items():
        n = site_n[site]
        assert abs(site_k[site] / n - rate) <= BAND_SD * np.sqrt(rate * (1 - rate) / n), site
