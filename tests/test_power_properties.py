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
    p = pw.power(effect=effect, n=n, method=method, scale="cace", **d).power
    assert pw.power(effect=effect, n=2 * n, method=method, scale="cace", **d).power >= p - 1e-12
    assert pw.power(effect=1.5 * effect, n=n, method=method, scale="cace", **d).power >= p - 1e-12


@given(st.floats(0.0, 0.3), st.integers(10, 60), st.floats(0.05, 0.6))
def test_power_falls_with_icc(icc: float, clusters: int, effect: float) -> None:
    kw = dict(effect=effect, n_clusters=clusters, cluster_size=20)
    assert pw.power(icc=icc + 0.05, **kw).power <= pw.power(icc=icc, **kw).power + 1e-12


@given(st.floats(0.0, 0.3), st.integers(100, 4000), st.floats(0.05, 0.5))
def test_power_falls_with_contamination(c: float, n: int, effect: float) -> None:
    # on the CACE scale: contamination dilutes the ITT effect
    kw = dict(effect=effect, n=n, scale="cace")
    assert pw.power(contamination=c + 0.05, **kw).power <= pw.power(contamination=c, **kw).power + 1e-12


@given(st.integers(3, 40).map(lambda k: 2 * k), st.floats(0.01, 0.3), st.floats(5, 60))
def test_cluster_sample_size_inverts_mde(clusters: int, icc: float, m: float) -> None:
    kw = dict(cluster_size=m, icc=icc, sd=1.0)
    res = pw.mde(n_clusters=clusters, **kw)
    s = pw.sample_size(mde=res.mde, **kw)
    assert s.unrounded == pytest.approx(clusters, rel=1e-6)
    assert s.n_clusters == clusters  # the smallest whole number of clusters (issue 13)
