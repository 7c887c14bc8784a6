"""Binary outcomes: the default variance under the alternative against R (issue 13).

``sample_size(mde=0.04, baseline_rate=0.20)`` gave 1,571 per arm (the variance
at the baseline rate in both arms); the standard two-proportion calculations
need about 1,680. The references are in ``tests/reference/power/``
(``pwr_two_proportions.R``, its ``.Rout`` and ``.csv``; nothing here needs R).

Tolerances:

* ``SAME_RTOL`` 1e-8: dwp_eval's default variance with ``method="normal"`` is
  the unpooled Wald test written out in the R script (both tails), solved
  there by ``uniroot`` to 1e-12, here by Brent's method: the same formula.
* ``OTHER_RTOL`` 0.3% of n for the issue's case: Fleiss/Stata (pooled variance
  under the null) and ``pwr.2p.test`` (Cohen's arcsine h) are different
  approximations; they are reported, not matched.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import dwp_eval.design.power as pw

REF = Path(__file__).parent / "reference" / "power" / "pwr_two_proportions.csv"
TABLE = pd.read_csv(REF)
WALD = TABLE[TABLE["method"] == "wald_unpooled"].reset_index(drop=True)
SAME_RTOL = 1e-8
OTHER_RTOL = 3e-3


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def _ref(method: str, **where: float) -> float:
    rows = TABLE[(TABLE["method"] == method) & (TABLE["quantity"] == "n_total")]
    for k, v in where.items():
        rows = rows[(rows[k] - v).abs() < 1e-12]
    assert len(rows) == 1
    return float(rows["value"].iloc[0])


ISSUE = dict(p0=0.2, p1=0.24, alpha=0.05, target=0.8, share=0.5)


def test_issue_case_default_needs_about_1680_per_arm() -> None:
    res = pw.sample_size(mde=0.04, baseline_rate=0.20)
    assert res.binary_variance == "unpooled"
    wald = _ref("wald_unpooled", **ISSUE) / 2
    # the default t multiplier adds a fraction of a person to the normal-theory n
    assert res.n_per_arm == {"control": math.ceil(wald) + 1, "treatment": math.ceil(wald) + 1}
    normal = pw.sample_size(mde=0.04, baseline_rate=0.20, method="normal")
    assert _rel(normal.unrounded / 2, wald) < SAME_RTOL
    assert normal.n_per_arm == {"control": math.ceil(wald), "treatment": math.ceil(wald)}
    # the other standard forms agree to a few tenths of a percent
    for method in ("fleiss_chi2", "fleiss_closed", "pwr_h", "wald_unpooled_closed"):
        assert _rel(res.unrounded / 2, _ref(method, **ISSUE) / 2) < OTHER_RTOL, method
    # the old behaviour stays available by name
    old = pw.sample_size(mde=0.04, baseline_rate=0.20, binary_variance="baseline")
    assert old.n_per_arm == {"control": 1571, "treatment": 1571}


@pytest.mark.parametrize("i", range(len(WALD)), ids=[f"wald{i}" for i in range(len(WALD))])
def test_unpooled_wald(i: int) -> None:
    r = WALD.iloc[i]
    common = dict(baseline_rate=float(r["p0"]), alpha=float(r["alpha"]), ratio=float(r["share"]),
                  method="normal")
    if r["quantity"] == "n_total":
        res = pw.sample_size(mde=float(r["delta"]), power=float(r["target"]), **common)
        assert _rel(res.unrounded, r["value"]) < SAME_RTOL
    else:
        n1, n0 = int(r["n_treated"]), int(r["n_control"])
        if r["quantity"] == "power":
            res = pw.power(effect=float(r["delta"]), n=n1 + n0, **common)
            assert res.n_per_arm == {"control": n0, "treatment": n1}
            assert _rel(res.power, r["value"]) < SAME_RTOL
        else:  # the MDE (a rise from p0)
            res = pw.mde(n=n1 + n0, power=float(r["target"]), **common)
            assert res.n_per_arm == {"control": n0, "treatment": n1}
            assert _rel(res.mde, r["value"]) < SAME_RTOL


def test_agreement_with_other_forms_is_reported() -> None:
    """How far the default (unpooled Wald, normal) is from Fleiss/Stata and pwr over the grid."""
    n = TABLE[TABLE["quantity"] == "n_total"]
    wide = n.pivot_table(index=["p0", "p1", "alpha", "target", "share"], columns="method", values="value")
    balanced = wide.xs(0.5, level="share")
    # equal arms: every form within 3% of the others on this grid
    assert (balanced["fleiss_chi2"] / balanced["wald_unpooled"] - 1).abs().max() < 0.03
    assert (balanced["pwr_h"] / balanced["wald_unpooled"] - 1).abs().max() < 0.03
    # the closed forms are the one-tailed approximations of the solved ones
    assert (wide["fleiss_closed"] / wide["fleiss_chi2"] - 1).abs().max() < 1e-4
    assert (wide["wald_unpooled_closed"] / wide["wald_unpooled"] - 1).abs().max() < 1e-4
