"""Time-to-event power (log-rank test: Schoenfeld, Freedman) against R and a printed table.

``tests/reference/power/log_rank.csv`` was made by ``log_rank.R`` (base R,
the formulas written out; event probabilities by ``integrate``);
``log_rank_published.csv`` holds the events printed by Phadnis, Wetmore &
Mayo (2017, *Stat Med* 36:4121, Table 3). Nothing here needs R.

Tolerances:

* ``RTOL`` 1e-8 relative: events, people and power from the same closed
  forms (the people solved by Brent's method to 1e-13 relative; R's
  ``integrate`` at ``rel.tol = 1e-13`` against the closed-form event
  probability).
* Printed events: the table rounds up to an even number, so the check is
  ``2 * ceil(D / 2) == printed``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval.design.power as pw
from dwp_eval.design._power_structure import event_probability
from dwp_eval.errors import DwpEvalError
from dwp_eval.references.power_runs import log_rank_design

REF = Path(__file__).parent / "reference" / "power"
RTOL = 1e-8
LR = pd.read_csv(REF / "log_rank.csv")
PUB = pd.read_csv(REF / "log_rank_published.csv")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("formula", ["schoenfeld", "freedman"])
@pytest.mark.parametrize("i", range(len(LR)))
def test_against_r(i: int, formula: str) -> None:
    r = LR.iloc[i]
    d = log_rank_design(r, formula)
    s = pw.sample_size(mde=float(r["hazard_ratio"]), power=float(r["power"]), **d)
    m = float(r["cluster_size"])
    assert _rel(s.unrounded * m, r[f"n_{formula}"]) < RTOL
    de = 1 + (m - 1) * float(r["icc"])
    assert _rel(s.events_needed, r[f"events_{formula}"] * de) < RTOL
    units = dict(n_clusters=1200) if m > 1 else dict(n=1200)
    p = pw.power(effect=float(r["hazard_ratio"]), **units, **d)
    assert _rel(p.power, r[f"power_{formula}"]) < RTOL


@pytest.mark.parametrize("i", range(len(LR)))
def test_event_probability(i: int) -> None:
    r = LR.iloc[i]
    lam = math.log(2) / r["control_median"]
    acc = float(r["accrual"]) or None
    assert _rel(event_probability(lam, acc, r["follow_up"]), r["p_control"]) < RTOL
    assert _rel(event_probability(lam * r["hazard_ratio"], acc, r["follow_up"]), r["p_treatment"]) < RTOL


@pytest.mark.parametrize("i", range(len(PUB)), ids=[f"hr{v}" for v in PUB["hazard_ratio"]])
def test_published_events(i: int) -> None:
    """Phadnis, Wetmore & Mayo (2017), Table 3: Schoenfeld's events, rounded up to even."""
    r = PUB.iloc[i]
    # follow-up a million medians: every person has the event (P = 1), so n = events
    s = pw.sample_size(mde=float(r["hazard_ratio"]), power=float(r["power"]), alpha=float(r["alpha"]),
                       two_sided=bool(r["two_sided"]), control_median=1.0, follow_up=1e6)
    assert 2 * math.ceil(s.events_needed / 2) == r["events_printed"]
    assert s.events_needed == pytest.approx(s.unrounded, rel=1e-12)


def test_round_trip_and_hazard_ratio() -> None:
    d = dict(control_median=200.0, accrual=180.0, follow_up=365.0)
    m = pw.mde(n=900, **d)
    assert m.mde_hazard_ratio == pytest.approx(math.exp(m.mde))
    assert pw.power(effect=m.mde_hazard_ratio, n=900, **d).power == pytest.approx(0.8, abs=1e-9)
    assert pw.sample_size(mde=m.mde_hazard_ratio, **d).n == 900
    # Schoenfeld is symmetric in log HR: 1/HR needs the same events
    a = pw.sample_size(mde=1.3, control_median=1.0, follow_up=1e6)
    b = pw.sample_size(mde=1 / 1.3, control_median=1.0, follow_up=1e6)
    assert a.events_needed == pytest.approx(b.events_needed, rel=1e-12)


def test_cluster_inflation() -> None:
    """Events and people scale by the design effect 1 + (m - 1) ICC."""
    base = dict(control_median=200.0, follow_up=365.0)
    a = pw.sample_size(mde=1.25, **base)
    b = pw.sample_size(mde=1.25, cluster_size=20, icc=0.05, **base)
    assert b.unrounded * 20 == pytest.approx(a.unrounded * 1.95, rel=1e-10)
    assert b.events_needed == pytest.approx(a.events_needed * 1.95, rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    hr=st.floats(1.1, 2.5),
    n=st.integers(200, 5000),
    icc=st.floats(0.0, 0.2),
    fu=st.floats(30.0, 1000.0),
    formula=st.sampled_from(["schoenfeld", "freedman"]),
)
def test_monotone(hr: float, n: int, icc: float, fu: float, formula: str) -> None:
    d: dict[str, Any] = dict(control_median=180.0, follow_up=fu, events_formula=formula)
    p = pw.power(effect=hr, n=n, **d).power

    def up(q: float, base: float) -> bool:  # strictly up unless power has saturated at 1
        return q > base or base > 1 - 1e-12

    assert up(pw.power(effect=hr, n=n + 200, **d).power, p)
    assert up(pw.power(effect=hr * 1.1, n=n, **d).power, p)
    assert up(pw.power(effect=hr, n=n, **{**d, "follow_up": fu * 1.5}).power, p)
    c = dict(cluster_size=10, icc=icc)
    pc = pw.power(effect=hr, n_clusters=n // 10, **d, **c).power
    assert up(pc, pw.power(effect=hr, n_clusters=n // 10, **d, cluster_size=10, icc=icc + 0.05).power)
    m = pw.mde(n=n, **d)
    assert pw.power(effect=m.mde_hazard_ratio, n=n, **d).power == pytest.approx(0.8, abs=1e-8)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(control_median=200), "needs follow_up="),
        (dict(control_median=0, follow_up=1), "'control_median' parameter of sample_size must be a positive"),
        (dict(control_median=200, follow_up=-1), "'follow_up' parameter of sample_size must be a positive"),
        (dict(control_median=200, follow_up=100, accrual=0), "'accrual' parameter of sample_size must be a positive"),
        (dict(control_median=200, follow_up=100, accrual=-5), "'accrual' parameter"),
        (dict(control_median=200, follow_up=100, baseline_rate=0.2), "cannot be combined with baseline_rate"),
        (dict(control_median=200, follow_up=100, take_up=0.7), "cannot be combined with take_up"),
        (dict(control_median=200, follow_up=100, method="t"), "pass method='normal'"),
        (dict(control_median=200, follow_up=100, events_formula="lachin"), "'events_formula' parameter"),
        (dict(follow_up=100), "time-to-event designs only"),
        (dict(control_median=200, follow_up=100, cluster_size=10, icc=1.2), "'icc' parameter"),
    ],
)
def test_bad_input(kw: dict[str, Any], match: str) -> None:
    with pytest.raises(DwpEvalError, match=match):
        pw.sample_size(mde=1.25, **kw)


def test_hazard_ratio_scale_errors() -> None:
    with pytest.raises(DwpEvalError, match="a hazard ratio: a positive number other than 1"):
        pw.sample_size(mde=1.0, control_median=200, follow_up=100)
    with pytest.raises(DwpEvalError, match="a hazard ratio: a positive number"):
        pw.power(effect=-0.5, n=100, control_median=200, follow_up=100)
    with pytest.raises(DwpEvalError, match="needs a time-to-event design"):
        pw.sample_size(mde=1.25, scale="hazard_ratio")
    with pytest.raises(DwpEvalError, match="is a hazard ratio"):
        pw.sample_size(mde=1.25, scale="itt", control_median=200, follow_up=100)


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from dwp_eval.cli import main

    assert main(["power", "--mde", "1.2", "--control-median", "240", "--accrual", "365",
                 "--follow-up", "365"]) == 0
    out = capsys.readouterr().out
    assert "you need 1,163 people" in out and "944.48 needed" in out
    assert main(["power", "--n", "1200", "--nested-in", "treatment", "--cluster-size", "20",
                 "--icc", "0.05", "--baseline-rate", "0.3"]) == 0
    assert "is 9.73 pp" in capsys.readouterr().out
    assert main(["power", "--n-clusters", "24", "--cluster-size", "100", "--icc", "0.02",
                 "--level3-size", "5", "--icc-level3", "0.01", "--baseline-rate", "0.3"]) == 0
    assert "24 level-3 units" in capsys.readouterr().out
    assert main(["power", "--n", "4000", "--moderator-share", "0.3", "--sd", "1"]) == 0
    assert "between the moderator's subgroups you can detect is 0.193" in capsys.readouterr().out
    assert main(["power", "--mde", "1.2", "--control-median", "240"]) == 2
    assert "needs follow_up=" in capsys.readouterr().err
