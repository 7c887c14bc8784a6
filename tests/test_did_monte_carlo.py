"""Seeded Monte Carlo checks of the difference-in-differences estimators on
``dwp_eval.datasets.area_rollout`` panels (staggered adoption, effects that grow
with time since adoption and differ across waves, parallel trends by
construction). Each simulation draws a new panel (new districts, new
effects around each wave's mean, new noise), so the estimand is the
population ATT, for which the influence-function SEs are consistent.

* two-way fixed effects is biased (downwards here: already-treated districts
  serve as controls while their effects grow) and Callaway-Sant'Anna is not;
* coverage of the simple aggregation's 95% interval, and simultaneous coverage
  of the uniform band over event times, inside exact binomial bands;
* under parallel trends the joint pre-trend test rejects at about its level.
"""

from __future__ import annotations

import numpy as np
import pytest

from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.estimate.did import did
from dwp_eval.estimate.event_study import event_study
from dwp_eval.estimate.staggered import staggered_did
from dwp_eval.testing import binomial_band

pytestmark = pytest.mark.slow

SIMS = 300
# Bands: a correct method lands outside with probability < 0.1%.
SIGNIFICANCE = 0.001
# Unbiasedness: |mean error| < 4 Monte Carlo standard errors.
BIAS_Z = 4.0
N_AREAS, PERIODS, COHORTS = 80, 8, (3, 5, 7)
EFFECT, GROWTH = 0.02, 0.004
MULT = np.linspace(1.5, 0.5, len(COHORTS))  # area_rollout's wave multipliers (mean of k_i)


def _panel(seed: int, n_areas: int | None = None):  # type: ignore[no-untyped-def]
    return area_rollout(n_areas=n_areas or N_AREAS, periods=PERIODS, cohorts=COHORTS, effect=EFFECT,
                        effect_growth=GROWTH, seed=seed)


def _expected_effect(cohort: int, month: int) -> float:
    w = COHORTS.index(cohort)
    return float(MULT[w] * (EFFECT + GROWTH * (month - cohort)))


def _truth_simple(panel) -> float:  # type: ignore[no-untyped-def]
    """Population ATT averaged over treated district-months (the simple aggregation's estimand)."""
    on = panel[panel["treated"] == 1]
    return float(np.mean([_expected_effect(g, t) for g, t in zip(on["cohort"], on["month"], strict=True)]))


def _truth_dynamic(panel) -> dict[int, float]:  # type: ignore[no-untyped-def]
    sizes = panel.groupby("cohort")["area"].nunique()
    out: dict[int, float] = {}
    for e in range(-(PERIODS - 1), PERIODS):
        num = den = 0.0
        for g in COHORTS:
            if 1 <= g + e <= PERIODS and e >= 0:
                num += sizes[g] * _expected_effect(g, g + e)
                den += sizes[g]
            elif 1 <= g + e <= PERIODS:
                den += sizes[g]
        if den:
            out[e] = num / den
    return out


def test_twfe_is_biased_and_callaway_santanna_is_not() -> None:
    cs_err, twfe_err = [], []
    for s in range(SIMS):
        panel = _panel(1000 + s)
        truth = _truth_simple(panel)
        cs = staggered_did(panel, outcome="employment_rate", unit="area", time="month", cohort="cohort",
                           bootstrap=0).aggregate("simple")
        tw = did(panel, outcome="employment_rate", unit="area", time="month", treated="treated")
        cs_err.append(cs.estimate - truth)
        twfe_err.append(tw.estimate - truth)
    cs_e, tw_e = np.asarray(cs_err), np.asarray(twfe_err)
    cs_mcse = cs_e.std(ddof=1) / np.sqrt(SIMS)
    tw_mcse = tw_e.std(ddof=1) / np.sqrt(SIMS)
    assert abs(cs_e.mean()) < BIAS_Z * cs_mcse, (cs_e.mean(), cs_mcse)
    # TWFE: a bias of more than 20% of the effect, far outside Monte Carlo error
    assert tw_e.mean() < -0.2 * 0.03
    assert abs(tw_e.mean()) > 20 * tw_mcse


def test_simple_aggregation_interval_covers_at_nominal_rate() -> None:
    covered = 0
    for s in range(SIMS):
        panel = _panel(5000 + s)
        truth = _truth_simple(panel)
        res = staggered_did(panel, outcome="employment_rate", unit="area", time="month", cohort="cohort",
                            bootstrap=0).aggregate("simple")
        lo, hi = res.interval(0.05)
        covered += lo <= truth <= hi
    lo_b, hi_b = binomial_band(0.95, SIMS, significance=SIGNIFICANCE)
    assert lo_b <= covered / SIMS <= hi_b, covered / SIMS


def test_uniform_band_covers_all_event_times_jointly() -> None:
    sims = 200
    covered = 0
    for s in range(sims):
        panel = _panel(9000 + s)
        truth = _truth_dynamic(panel)
        es = event_study(panel, outcome="employment_rate", unit="area", time="month", cohort="cohort",
                         bootstrap=299, seed=s)
        f = es.to_frame()
        tv = np.array([truth[int(e)] for e in f["event_time"]])
        covered += bool(np.all((f["band_low"] <= tv) & (tv <= f["band_high"])))
    lo_b, hi_b = binomial_band(0.95, sims, significance=SIGNIFICANCE)
    assert lo_b <= covered / sims <= hi_b, covered / sims


def test_pre_trend_test_rejects_at_its_level_under_parallel_trends() -> None:
    """The joint Wald test of the Callaway-Sant'Anna pre-period effects, referred to
    Hotelling's F(k, G - k): with about 20 districts per wave (80 areas) it rejects
    7% at 5% here (the chi-square limit: 9%), inside the band."""
    rejected = 0
    for s in range(SIMS):
        es = event_study(_panel(13000 + s), outcome="employment_rate", unit="area", time="month",
                         cohort="cohort", bootstrap=0)
        assert es.pretrend_p_value is not None and es.pretrend_test is not None
        assert es.pretrend_test.endswith("Hotelling")
        rejected += es.pretrend_p_value < 0.05
    lo_b, hi_b = binomial_band(0.05, SIMS, significance=SIGNIFICANCE)
    assert lo_b <= rejected / SIMS <= hi_b, rejected / SIMS
