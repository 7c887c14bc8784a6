"""The coverage numbers behind tests/test_survival_monte_carlo.py (same DGPs, seeds and sims),
printed for the guide and the report.

    cd /work/wt-surv && PYTHONPATH=src:tests python tests/reference/survival/monte_carlo_survival.py \
        > tests/reference/survival/monte_carlo_survival.txt
"""

import numpy as np
from scipy import stats

import dwp_eval as de
from dwp_eval._core.survival import rmst_influence
from dwp_eval.testing import binomial_band
from test_survival_monte_carlo import HR, LAM0, SIMS, TAU, TRUE_DIFF, clustered, individual, nested

z = stats.norm.ppf(0.975)
print(f"sims {SIMS}; 0.999 binomial band for 0.95: {binomial_band(0.95, SIMS)}")
for name, seed in (("individual", 20261206), ("nested", 20261207)):
    rng = np.random.default_rng(seed)
    hits = {"rmst": 0, "hr": 0, "rmst_naive": 0, "hr_naive": 0}
    diffs, hrs = [], []
    for _ in range(SIMS):
        if name == "individual":
            df = individual(rng)
            res = de.survival_effect(df, duration="days", event="event", assigned="arm", horizon=TAU)
        else:
            df = nested(rng)
            res = de.survival_effect(df, duration="days", event="event", assigned="arm", horizon=TAU,
                                     cluster="specialist", nested_in="treatment")
        lo, hi = res.interval(term="rmst_difference")
        hits["rmst"] += lo <= TRUE_DIFF <= hi
        lo, hi = res.interval(term="hazard_ratio")
        hits["hr"] += lo <= HR <= hi
        tr = df["arm"].to_numpy() == "treatment"
        _, phi = rmst_influence(df["days"].to_numpy()[tr], df["event"].to_numpy()[tr], TAU)
        se = np.sqrt(res.rmst_std_error["control"] ** 2 + np.sum(phi**2))
        d = res.rmst_difference
        hits["rmst_naive"] += d - z * se <= TRUE_DIFF <= d + z * se
        b, s = res.log_hazard_ratio, res.log_hazard_ratio_naive_se
        hits["hr_naive"] += np.exp(b - z * s) <= HR <= np.exp(b + z * s)
        diffs.append(d)
        hrs.append(b)
    diffs_a = np.asarray(diffs)
    print(f"{name}: coverage " + ", ".join(f"{k} {v / SIMS:.3f}" for k, v in hits.items())
          + f"; RMST diff mean {diffs_a.mean():.3f} vs truth {TRUE_DIFF:.3f} "
          f"(MC SE {diffs_a.std(ddof=1) / np.sqrt(SIMS):.3f}); mean log HR {np.mean(hrs):.4f} "
          f"vs {np.log(HR):.4f}")

# the Kaplan-Meier band and pointwise interval (control arm, 200 people, 1,000 sims)
rng = np.random.default_rng(20261208)
band_hits = point_hits = 0
for _ in range(1000):
    c = de.survival_effect(individual(rng, n=200), duration="days", event="event", assigned="arm",
                           horizon=TAU).curves()
    c = c[c["arm"] == "control"]
    truth = np.exp(-LAM0 * c["time"].to_numpy())
    band_hits += bool(np.all((c["band_low"] <= truth) & (truth <= c["band_high"])))
    at = c[c["time"] <= 150].iloc[-1]
    point_hits += bool(at["conf_low"] <= np.exp(-LAM0 * 150) <= at["conf_high"])
print(f"KM control arm, 200 people: Hall-Wellner band holds the whole true curve {band_hits / 1000:.3f}; "
      f"log-log pointwise interval at 150 days covers {point_hits / 1000:.3f}")

# whole offices randomised (30 offices of 14)
rng = np.random.default_rng(20261209)
hits = {"rmst": 0, "hr": 0}
diffs = []
for _ in range(SIMS):
    res = de.survival_effect(clustered(rng), duration="days", event="event", assigned="arm",
                             horizon=TAU, cluster="office")
    lo, hi = res.interval(term="rmst_difference")
    hits["rmst"] += lo <= TRUE_DIFF <= hi
    lo, hi = res.interval(term="hazard_ratio")
    hits["hr"] += lo <= HR <= hi
    diffs.append(res.rmst_difference)
print("cluster randomised (30 offices): coverage " + ", ".join(f"{k} {v / SIMS:.3f}" for k, v in hits.items())
      + f"; RMST diff mean {np.mean(diffs):.3f} vs truth {TRUE_DIFF:.3f} "
      f"(MC SE {np.std(diffs, ddof=1) / np.sqrt(SIMS):.3f})")
