"""Issue 13: one effect scale in and out, and mde / sample_size / power as exact inverses.

``mde(n=N).mde`` is an ITT effect; ``sample_size`` and ``power`` used to read
their effect on the CACE scale whenever ``take_up < 1``, so feeding one into the
other gave n = 5,554 and power 39% instead of 2,000 and 80%, silently. The
scale is now required when take-up or contamination make the two differ, and
the round trip holds for every design option (hypothesis test below).

Tolerances: ``POWER_ATOL`` 1e-9: the power at an MDE is the target up to the
solvers' precision (Brent, xtol 1e-12 on the multiplier and 1e-14 on a binary
MDE under the alternative).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval.design.power as pw
from dwp_eval.errors import OptionError

POWER_ATOL = 1e-9


def test_issue_case_itt_round_trip() -> None:
    m = pw.mde(n=2000, take_up=0.6)
    assert m.mde == pytest.approx(0.6 * m.mde_cace)
    s = pw.sample_size(mde=m.mde, take_up=0.6, scale="itt")
    assert s.n == 2000 and s.scale == "itt" and s.effect == m.mde
    assert s.mde == pytest.approx(m.mde) and s.mde_cace == pytest.approx(m.mde_cace)
    p = pw.power(effect=m.mde, n=2000, take_up=0.6, scale="itt")
    assert p.power == pytest.approx(0.8, abs=POWER_ATOL)
    # the same on the CACE scale
    assert pw.sample_size(mde=m.mde_cace, take_up=0.6, scale="cace").n == 2000
    p = pw.power(effect=m.mde_cace, n=2000, take_up=0.6, scale="cace")
    assert p.power == pytest.approx(0.8, abs=POWER_ATOL) and p.mde == pytest.approx(m.mde)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: pw.sample_size(mde=0.05, take_up=0.6), "mde"),
        (lambda: pw.power(effect=0.05, n=2000, take_up=0.6), "effect"),
        (lambda: pw.power(effect=0.05, n=2000, contamination=0.1), "effect"),
        (lambda: pw.power_curve(effect=[0.05, 0.1], n=2000, take_up=0.6), "effect"),
    ],
)
def test_scale_required_with_take_up(call, name: str) -> None:
    with pytest.raises(OptionError, match=rf"'{name}' is ambiguous when take_up=.* Fix: pass scale='itt' if {name} is the ITT effect \(as mde\(\) reports in \.mde\) or scale='cace'"):
        call()


def test_scale_optional_without_dilution_and_checked() -> None:
    assert pw.sample_size(mde=0.2).n == pw.sample_size(mde=0.2, scale="cace").n
    assert pw.power(effect=0.2, n=400).scale == "itt"
    with pytest.raises(OptionError, match=r"The 'scale' parameter of power must be one of .*'itt'.*'cace'.*Got 'ITT' instead"):
        pw.power(effect=0.2, n=400, scale="ITT")
    with pytest.raises(OptionError, match=r"treatment-arm rate baseline_rate \+ mde = 1\.1 must be in \(0, 1\)"):
        pw.sample_size(mde=0.9, baseline_rate=0.2, take_up=0.5, scale="itt")


def test_both_scales_reported() -> None:
    p = pw.power(effect=0.1, n=2000, baseline_rate=0.2, take_up=0.6, contamination=0.1, scale="cace")
    assert p.mde == pytest.approx(0.05) and p.mde_cace == pytest.approx(0.1)
    assert "  effect given    10 pp (CACE scale)" in p.summary()
    assert "ITT             5 pp" in p.summary()
    curve = pw.power_curve(effect=[0.05], n=[1000, 2000], take_up=0.5, scale="itt")
    f = curve.to_frame()
    assert f["effect_itt"].tolist() == [0.05, 0.05] and f["effect_cace"].tolist() == [0.1, 0.1]
    assert curve.scale == "itt"


def test_sample_size_is_smallest_whole_allocation() -> None:
    # unequal shares: n is the smallest total whose largest-remainder split reaches the power
    for n in (2001, 2002, 2003):
        m = pw.mde(n=n, ratio=0.3, baseline_rate=0.2)
        s = pw.sample_size(mde=m.mde, ratio=0.3, baseline_rate=0.2)
        assert s.n == n and s.power >= 0.8 - POWER_ATOL
        below = pw.power(effect=m.mde, n=n - 1, ratio=0.3, baseline_rate=0.2)
        assert below.power < 0.8


# ------------------------------------------------------- the round trip, property

@st.composite
def designs(draw: st.DrawFn) -> tuple[dict, str, int, str]:
    """A design over every option the engine supports, its scale and its size."""
    d: dict = {"method": draw(st.sampled_from(["t", "noncentral_t", "normal"]))}
    d["alpha"] = draw(st.sampled_from([0.05, 0.01, 0.1]))
    d["two_sided"] = draw(st.booleans())
    outcome = draw(st.sampled_from(["binary", "sd", "standardised"]))
    if outcome == "binary":
        d["baseline_rate"] = draw(st.floats(0.05, 0.6))
        d["binary_variance"] = draw(st.sampled_from(["unpooled", "baseline"]))
    elif outcome == "sd":
        d["sd"] = draw(st.floats(0.5, 20))
    if draw(st.booleans()):
        k = draw(st.integers(3, 4))
        d["arms"] = {"control": draw(st.sampled_from([1.0, 2.0])), **{f"t{i}": 1.0 for i in range(1, k)}}
        d["correction"] = draw(st.sampled_from(["bonferroni", "holm", "dunnett"]))
    else:
        d["ratio"] = draw(st.floats(0.2, 0.8))
    d["r2"] = draw(st.sampled_from([0.0, 0.3]))
    if draw(st.booleans()):
        d["strata"] = draw(st.integers(1, 4))
        d["n_covariates"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        d["take_up"] = draw(st.floats(0.5, 1.0))
        d["contamination"] = draw(st.sampled_from([0.0, 0.1]))
    if draw(st.booleans()):
        d["attrition"] = draw(st.floats(0.0, 0.3))
    clustered = draw(st.booleans())
    if clustered:
        d["cluster_size"] = draw(st.sampled_from([5, 12, 30]))
        d["icc"] = draw(st.floats(0.0, 0.2))
        d["r2_cluster"] = draw(st.sampled_from([0.0, 0.4]))
        d["cluster_size_cv"] = draw(st.sampled_from([0.0, 0.5]))
        size = draw(st.integers(24, 120))
    else:
        size = draw(st.integers(200, 20000))
    scale = draw(st.sampled_from(["itt", "cace"]))
    return d, scale, size, "n_clusters" if clustered else "n"


@settings(max_examples=60)
@given(designs())
def test_round_trip_over_every_option(case: tuple[dict, str, int, str]) -> None:
    d, scale, size, unit = case
    m = pw.mde(power=0.8, **{unit: size}, **d)
    effect = m.mde if scale == "itt" else m.mde_cace
    s = pw.sample_size(mde=effect, power=0.8, scale=scale, **d)
    got = s.n if unit == "n" else s.n_clusters
    assert got is not None and got <= size
    if got < size:
        # only with several arms (and the normal method, whose power ignores the
        # df): the people beyond `got` join an arm other than the least powered
        # comparison's, so they add no power and `got` is the smallest n
        assert len(s.arms) > 2 and d["method"] == "normal"
        assert pw.mde(power=0.8, **{unit: got}, **d).mde == pytest.approx(m.mde, rel=1e-12)
    assert s.power >= 0.8 - POWER_ATOL
    back = pw.power(effect=effect, scale=scale, **{unit: size}, **d)
    assert back.power == pytest.approx(0.8, abs=POWER_ATOL)
    assert back.mde == pytest.approx(m.mde, rel=1e-12)


# ------------------------------------------- Dunnett's probability: fixed nodes

def _dunnett_by_quad(c: float, lambdas: tuple[float, ...], df: float, two_sided: bool) -> float:
    """The same probability by adaptive quadrature over s on (0, inf) (slow, independent)."""
    import math

    import numpy as np
    from scipy import integrate, special, stats

    x, w = special.roots_hermitenorm(80)
    w = w / math.sqrt(2 * math.pi)
    lam = np.asarray(lambdas)[:, None]
    a, b = np.sqrt(lam), np.sqrt(1 - lam)

    def given_s(s: float) -> float:
        upper = stats.norm.cdf((c * s + a * x) / b)
        lower = stats.norm.cdf((-c * s + a * x) / b) if two_sided else 0.0
        return float(np.sum(w * np.prod(upper - lower, axis=0)))

    dens = stats.chi(df)
    val, _ = integrate.quad(lambda s: given_s(s) * float(dens.pdf(s * math.sqrt(df))) * math.sqrt(df),
                            0, np.inf, epsabs=1e-13, epsrel=1e-13, limit=400)
    return float(val)


@pytest.mark.parametrize("df", [1.0, 1.5, 3.0, 58.0, 3000.0])
def test_dunnett_nodes_match_adaptive_quadrature(df: float) -> None:
    from dwp_eval.design._power_variance import dunnett_probability

    for lam, two_sided, c in [((0.5, 0.5), True, 2.4), ((0.4, 0.6, 0.5), False, 1.9), ((0.5, 0.5), True, 30.0)]:
        got = dunnett_probability(c, lam, df, two_sided)
        assert got == pytest.approx(_dunnett_by_quad(c, lam, df, two_sided), abs=1e-11)


def test_dunnett_few_df_and_many_df() -> None:
    import math

    from dwp_eval.design._power_variance import dunnett_critical

    # one-sided 1% on ~1 df: beyond the old bracket of 40 (raised a bare ValueError)
    c = dunnett_critical(0.01, (0.5, 0.5), 1.0000001, False)
    assert c > 40 and _dunnett_by_quad(c, (0.5, 0.5), 1.0000001, False) == pytest.approx(0.99, abs=1e-9)
    # 1e9 df: the normal limit (quad on (0, inf) missed the peak and raised)
    big = dunnett_critical(0.05, (0.5, 0.5), 1e9, True)
    assert big == pytest.approx(dunnett_critical(0.05, (0.5, 0.5), math.inf, True), abs=1e-8)
