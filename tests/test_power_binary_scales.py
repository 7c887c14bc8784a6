"""Binary-outcome power on the odds-ratio and risk-ratio scales (issue 15, item 5).

References: ``tests/reference/power/binary_ratio_scales.R`` (base R only), its
``.Rout`` and ``.csv``. Tolerances:

* ``SAME_RTOL`` 1e-8: with ``method="normal"`` the engine's default variance
  (under the alternative) is the unpooled Wald test written out in the script,
  solved there by ``uniroot`` to 1e-12 and here by Brent's method.
* ``OTHER_RTOL`` 6%: ``power.prop.test`` (= Fleiss without continuity
  correction; 0.06% to 5.4% above the engine over the grid, the largest at 82
  per arm, 5 people) and Cohen's h (``pwr.2p.test``; -1.0% to +4.2%) are
  other approximations; they are reported against the engine, not matched.
  Fleiss with continuity correction is always larger (1.4% to 19%; checked as
  an inequality).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval.design.power as pw
from dwp_eval.errors import OptionError

REF = pd.read_csv(Path(__file__).parent / "reference" / "power" / "binary_ratio_scales.csv")
SAME_RTOL = 1e-8
OTHER_RTOL = 6e-2
KEYS = ["p0", "scale", "ratio", "alpha", "target"]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def _cases(method: str) -> list[dict]:
    return REF[REF["method"] == method].to_dict("records")


@pytest.mark.parametrize(
    "row",
    _cases("wald_unpooled"),
    ids=lambda r: f"{r['scale']}-{r['p0']}-{r['ratio']}-{r['alpha']}-{r['target']}",
)
def test_ratio_scales_match_unpooled_wald(row: dict) -> None:
    common = dict(baseline_rate=row["p0"], alpha=row["alpha"], method="normal", scale=row["scale"])
    res = pw.sample_size(mde=row["ratio"], power=row["target"], **common)
    assert _rel(res.unrounded / 2, row["n_per_arm"]) < SAME_RTOL
    assert res.mde == pytest.approx(row["p1"] - row["p0"], rel=1e-12)
    p = pw.power(effect=row["ratio"], n=2 * int(row["n_fixed"]), **common).power
    assert abs(p - row["power_at_n_fixed"]) < SAME_RTOL


def test_other_formulas_reported_within_six_percent() -> None:
    wald = REF[REF["method"] == "wald_unpooled"].set_index(KEYS)["n_per_arm"]
    for method in ("power_prop_test", "cohen_h"):
        other = REF[REF["method"] == method].set_index(KEYS)["n_per_arm"]
        assert ((other - wald).abs() / wald).max() < OTHER_RTOL
    cc = REF[REF["method"] == "fleiss_cc"].set_index(KEYS)["n_per_arm"]
    assert (cc > wald).all()


def test_issue_case_on_each_scale() -> None:
    # 20% -> 24%: risk ratio 1.2, odds ratio (0.24/0.76)/(0.2/0.8)
    by_diff = pw.sample_size(mde=0.04, baseline_rate=0.2, method="normal")
    by_rr = pw.sample_size(mde=1.2, baseline_rate=0.2, method="normal", scale="risk_ratio")
    by_or = pw.sample_size(
        mde=(0.24 / 0.76) / 0.25, baseline_rate=0.2, method="normal", scale="odds_ratio"
    )
    assert (
        by_diff.n_per_arm
        == by_rr.n_per_arm
        == by_or.n_per_arm
        == {"control": 1680, "treatment": 1680}
    )
    assert by_or.effect == pytest.approx(1.263157894736842)
    assert "(odds ratio)" in by_or.summary()


def test_mde_on_ratio_scales_round_trips() -> None:
    m = pw.mde(n=3000, baseline_rate=0.3)
    assert m.mde_odds_ratio is not None and m.mde_risk_ratio is not None
    for scale, ratio in (("odds_ratio", m.mde_odds_ratio), ("risk_ratio", m.mde_risk_ratio)):
        assert pw.sample_size(mde=ratio, baseline_rate=0.3, scale=scale).n == 3000
        assert pw.power(
            effect=ratio, n=3000, baseline_rate=0.3, scale=scale
        ).power == pytest.approx(0.8, abs=1e-9)
    assert pw.mde(n=3000, sd=1.0).mde_odds_ratio is None


def test_ratio_one_has_power_alpha() -> None:
    assert pw.power(
        effect=1.0, n=500, baseline_rate=0.2, scale="odds_ratio", method="normal"
    ).power == pytest.approx(0.05)


def test_ratio_scale_errors() -> None:
    with pytest.raises(
        OptionError, match="scale='odds_ratio' needs a binary outcome: pass baseline_rate="
    ):
        pw.sample_size(mde=1.5, sd=1.0, scale="odds_ratio")
    with pytest.raises(OptionError, match=r"must be a positive number other than 1\. Got 1"):
        pw.sample_size(mde=1, baseline_rate=0.2, scale="odds_ratio")
    with pytest.raises(OptionError, match=r"must be a positive number\. Got -2"):
        pw.power(effect=-2, n=100, baseline_rate=0.2, scale="risk_ratio")
    with pytest.raises(
        OptionError, match=r"baseline_rate x mde = 1.2 must be in \(0, 1\).*below 2.5"
    ):
        pw.sample_size(mde=3.0, baseline_rate=0.4, scale="risk_ratio")
    with pytest.raises(OptionError, match="scale"):
        pw.sample_size(mde=1.5, baseline_rate=0.2, scale="hazard_ratio")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    p0=st.floats(0.05, 0.6),
    lo=st.floats(1.1, 2.0),
    step=st.floats(0.05, 1.0),
    scale=st.sampled_from(["odds_ratio", "risk_ratio"]),
    variance=st.sampled_from(["unpooled", "baseline"]),
)
def test_monotone_in_the_ratio(
    p0: float, lo: float, step: float, scale: str, variance: str
) -> None:
    hi = lo + step
    if scale == "risk_ratio" and hi * p0 >= 0.95:
        return
    common = dict(baseline_rate=p0, scale=scale, binary_variance=variance, method="normal")
    n_lo = pw.sample_size(mde=lo, **common).unrounded
    n_hi = pw.sample_size(mde=hi, **common).unrounded
    assert n_hi < n_lo  # a larger ratio needs fewer people
    p_lo = pw.power(effect=lo, n=400, **common).power
    p_hi = pw.power(effect=hi, n=400, **common).power
    assert p_hi >= p_lo
    assert pw.power(effect=lo, n=800, **common).power >= p_lo  # more people, more power


@settings(max_examples=30, deadline=None)
@given(p0=st.floats(0.05, 0.6), ratio=st.floats(0.3, 0.95))
def test_protective_ratios_monotone(p0: float, ratio: float) -> None:
    # below 1: the further from 1, the fewer people (variance under the alternative)
    a = pw.sample_size(mde=ratio, baseline_rate=p0, scale="odds_ratio").unrounded
    b = pw.sample_size(mde=ratio * 0.9, baseline_rate=p0, scale="odds_ratio").unrounded
    assert b < a


def test_cli_takes_ratio_scales(capsys: pytest.CaptureFixture[str]) -> None:
    from dwp_eval.cli import main

    args = ["power", "--baseline-rate", "0.2", "--mde", "1.2", "--scale", "risk_ratio"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "you need 3,362 people" in out and "effect given    1.2 (risk ratio)" in out
