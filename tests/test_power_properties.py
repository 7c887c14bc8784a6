"""hypothesis properties of the analytic power engine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dwp_eval.design.power as pw

methods = st.sampled_from(["t", "noncentral_t", "normal"])
designs = st.fixed_dictionaries(
    {
        "ratio": st.floats(0.2, 0.8),
        "r2": st.floats(0, 0.6),
        "take_up": st.floats(0.5, 1.0),
        "contamination": st.floats(0, 0.2),
        "attrition": st.floats(0, 0.4),
    }
)


@given(designs, methods, st.integers(60, 5000), st.floats(0.05, 0.5))
def test_power_increases_with_n_and_effect(d: dict, method: str, n: int, effect: float) -> None:
    p = pw.power(effect=effect, n=n, method=method, **d).power
    assert pw.power(effect=effect, n=2 * n, method=method, **d).power >= p - 1e-12
    assert pw.power(effect=1.5 * effect, n=n, method=method, **d).power >= p - 1e-12


@given(st.floats(0.0, 0.3), st.integers(10, 60), st.floats(0.05, 0.6))
def test_power_falls_with_icc(icc: float, clusters: int, effect: float) -> None:
    kw = dict(effect=effect, n_clusters=clusters, cluster_size=20)
    assert pw.power(icc=icc + 0.05, **kw).power <= pw.power(icc=icc, **kw).power + 1e-12


@given(st.floats(0.0, 0.3), st.integers(100, 4000), st.floats(0.05, 0.5))
def test_power_falls_with_contamination(c: float, n: int, effect: float) -> None:
    assert pw.power(effect=effect, n=n, contamination=c + 0.05).power <= pw.power(effect=effect, n=n, contamination=c).power + 1e-12


@given(designs, methods, st.integers(100, 20000), st.booleans())
def test_sample_size_inverts_mde(d: dict, method: str, n: int, binary: bool) -> None:
    outcome = {"baseline_rate": 0.25} if binary else {"sd": 3.0}
    m = pw.mde(n=n, method=method, **outcome, **d)
    # power at the MDE is the target power
    back = pw.power(effect=m.mde_cace, n=n, method=method, **outcome, **d)
    assert back.power == pytest.approx(0.8, abs=1e-8)
    # and the sample size for that MDE is n, up to rounding each arm up
    s = pw.sample_size(mde=m.mde_cace, method=method, **outcome, **d)
    assert s.unrounded == pytest.approx(n, rel=1e-3, abs=2)
    assert n - 2 <= s.n <= n + 3


@given(st.integers(3, 40).map(lambda k: 2 * k), st.floats(0.01, 0.3), st.floats(5, 60))
def test_cluster_sample_size_inverts_mde(clusters: int, icc: float, m: float) -> None:
    kw = dict(cluster_size=m, icc=icc, sd=1.0)
    res = pw.mde(n_clusters=clusters, **kw)
    s = pw.sample_size(mde=res.mde, **kw)
    assert s.unrounded == pytest.approx(clusters, rel=1e-6)
    assert s.n_clusters is not None and clusters <= s.n_clusters <= clusters + 2
