"""Seeded Monte Carlo for several arms in one impact table (issue 13): under the global
null (no arm has an effect) Dunnett's single-step p-values across the arms keep the
familywise error rate at alpha, Holm's too, and the unadjusted p-values do not (they
reject somewhere about 1 - (1 - alpha)^k of the time for k nearly independent tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dwp_eval import impact_table

SIMS = 300
ALPHA = 0.05


def _band(p: float, n: int, level: float = 0.99) -> tuple[float, float]:
    """Exact two-sided binomial band holding a correct method's rejection share with
    probability ``level``."""
    tail = (1 - level) / 2
    return float(stats.binom.ppf(tail, n, p) / n), float(stats.binom.isf(tail, n, p) / n)


@pytest.mark.slow
def test_dunnett_and_holm_across_arms_keep_the_familywise_error_rate() -> None:
    rng = np.random.default_rng(20261205)
    arms = np.array(["control", "a", "b", "c"])
    n_arm = 60
    reject = {"dunnett": 0, "holm": 0, "none": 0}
    for _ in range(SIMS):
        arm = np.repeat(arms, n_arm)
        # heteroskedastic arms, skewed errors: the HC2 statistics are only approximately t
        scale = np.repeat([1.0, 1.5, 0.7, 1.2], n_arm)
        y = scale * (rng.exponential(size=len(arm)) - 1.0)
        df = pd.DataFrame({"arm": arm, "y": y})
        dun = impact_table(df, outcomes=["y"], assigned="arm", arm_correction="dunnett").to_frame()
        reject["dunnett"] += bool((dun["p_value_arms"] <= ALPHA).any())
        # Holm rejects something iff its first step does: k min(p) <= alpha
        reject["holm"] += bool(len(dun) * dun["p_value"].min() <= ALPHA)
        reject["none"] += bool((dun["p_value"] <= ALPHA).any())
    share = {k: v / SIMS for k, v in reject.items()}
    lo, hi = _band(ALPHA, SIMS)
    # Dunnett is exact for the correlation of the three contrasts (they share the control
    # arm), so it rejects at the nominal rate; Holm is conservative, never above it
    assert lo <= share["dunnett"] <= hi, (share, lo, hi)
    assert share["holm"] <= hi and share["holm"] <= share["dunnett"] + 1e-12, share
    # without an adjustment across arms the familywise rate is far above alpha
    assert share["none"] > hi, share
