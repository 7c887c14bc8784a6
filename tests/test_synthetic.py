"""Synthetic control and synthetic DiD: R synthdid and Arkhangelsky et al. (2021)
Table 1 references, bad input, properties and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval._core.synthetic import fit_sdid
from dwp_eval.errors import DwpEvalError

REF = Path(__file__).parent / "reference" / "synthetic"
KIND = {"synthdid": "sdid", "sc": "sc", "did": "did"}


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, keep_default_na=False)


def _value(ref: pd.DataFrame, key: str) -> float:
    v = ref.loc[ref["key"] == key, "value"].iloc[0]
    return float("nan") if v == "NA" else float(v)


def _prop99() -> pd.DataFrame:
    return pd.read_csv(REF / "california_prop99.csv", sep=";")


def _multi() -> pd.DataFrame:
    return pd.read_csv(REF / "factor_panel.csv")


PROP99 = {"outcome": "PacksPerCapita", "unit": "State", "time": "Year",
          "treated_units": ["California"], "treat_time": 1989}
MULTI = {"outcome": "y", "unit": "unit", "time": "year",
         "treated_units": [f"u{i}" for i in range(25, 30)], "treat_time": 2015}


def _fit(func: str, data: pd.DataFrame, kw: dict, **more: object) -> de.results.SyntheticEstimate:
    f = de.synthetic_did if func == "sdid" else de.synthetic_control
    return f(data, **kw, **more)


@pytest.fixture(scope="module")
def fits() -> dict:
    out = {}
    for tag, data, kw in (("prop99", _prop99(), PROP99), ("multi", _multi(), MULTI)):
        for k in ("sdid", "sc"):
            out[tag, k] = _fit(k, data, kw, se_method="jackknife")
    return out


@pytest.mark.parametrize("tag,file", [("prop99", "synthdid_reference.csv"), ("multi", "synthdid_multi.csv")])
@pytest.mark.parametrize("rname", ["synthdid", "sc", "did"])
def test_estimates_and_weights_match_r_synthdid(fits: dict, tag: str, file: str, rname: str) -> None:
    ref = _ref(file)
    kind = KIND[rname]
    res = fits[tag, "sdid" if kind == "did" else kind]
    if kind == "did":
        assert res.did_estimate == pytest.approx(_value(ref, "did_estimate"), abs=1e-9)
        return
    assert res.estimate == pytest.approx(_value(ref, f"{rname}_estimate"), abs=1e-8)
    om = ref[ref["key"] == f"{rname}_omega"]
    got = res.unit_weights
    np.testing.assert_allclose(got[om["index"].tolist()].to_numpy(), om["value"].astype(float), atol=1e-8)
    lam = ref[ref["key"] == f"{rname}_lambda"]
    np.testing.assert_allclose(res.lam, lam["value"].astype(float), atol=1e-8)


@pytest.mark.parametrize("tag,file", [("prop99", "synthdid_reference.csv"), ("multi", "synthdid_multi.csv")])
@pytest.mark.parametrize("rname", ["synthdid", "sc"])
def test_jackknife_se_matches_r_synthdid(fits: dict, tag: str, file: str, rname: str) -> None:
    want = _value(_ref(file), f"{rname}_se_jackknife")
    got = fits[tag, KIND[rname]].std_error
    if np.isnan(want):  # one treated unit: undefined in the paper and in R
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-6)


def test_published_table1_prop99(fits: dict) -> None:
    """Arkhangelsky et al. (2021) Table 1 point estimates to the printed digit."""
    pub = pd.read_csv(REF / "published_table1.csv").set_index("estimator")
    assert round(fits["prop99", "sdid"].estimate, 1) == pub.loc["sdid", "estimate"]
    assert round(fits["prop99", "sc"].estimate, 1) == pub.loc["sc", "estimate"]
    assert round(fits["prop99", "sdid"].did_estimate, 1) == pub.loc["did", "estimate"]


@pytest.mark.slow
def test_placebo_se_prop99_within_monte_carlo_error() -> None:
    """The placebo SE (200 draws) against R's (200 draws) and the published 8.4: two
    independent 200-draw SEs differ by about sqrt(2) * SE / sqrt(2 * 200) = 5%."""
    res = de.synthetic_did(_prop99(), **PROP99, se_method="placebo", replications=200, seed=7)
    want = _value(_ref("synthdid_reference.csv"), "synthdid_se_placebo")
    assert res.std_error == pytest.approx(want, rel=0.2)
    assert res.std_error == pytest.approx(8.4, rel=0.2)


def test_multi_placebo_and_bootstrap_se_within_monte_carlo_error() -> None:
    ref = _ref("synthdid_multi.csv")
    for method in ("placebo", "bootstrap"):
        res = de.synthetic_did(_multi(), **MULTI, se_method=method, replications=200, seed=3)
        want = _value(ref, f"synthdid_se_{method}")
        assert res.std_error == pytest.approx(want, rel=0.25), method
        assert res.placebo_estimates.size == 200


# ------------------------------------------------------------------ bad input

def _small(n: int = 8, t: int = 6) -> pd.DataFrame:
    rows = [(u, y, u / 10 + y + np.sin(u * y)) for u in range(n) for y in range(t)]
    return pd.DataFrame(rows, columns=["area", "year", "y"])


KW = {"outcome": "y", "unit": "area", "time": "year", "seed": 1}


@pytest.mark.parametrize("func", [de.synthetic_did, de.synthetic_control])
def test_bad_input_is_pinned(func: object) -> None:
    d = _small()
    with pytest.raises(DwpEvalError, match="no pre-period"):
        func(d, **KW, treated_units=[0], treat_time=0)
    with pytest.raises(DwpEvalError, match="at least 2 pre-periods"):
        func(d, **KW, treated_units=[0], treat_time=1)
    with pytest.raises(DwpEvalError, match="donor pool has 1"):
        func(d[d.area < 2], **KW, treated_units=[0], treat_time=4)
    with pytest.raises(DwpEvalError, match="unbalanced"):
        func(d.drop(index=5), **KW, treated_units=[0], treat_time=4)
    with pytest.raises(DwpEvalError, match="missing or non-numeric"):
        func(d.assign(y=d.y.where(d.index != 3)), **KW, treated_units=[0], treat_time=4)
    with pytest.raises(DwpEvalError, match=r"\[99\] are not in column 'area'"):
        func(d, **KW, treated_units=[99], treat_time=4)
    with pytest.raises(DwpEvalError, match="more than once"):
        func(pd.concat([d, d.iloc[:1]]), **KW, treated_units=[0], treat_time=4)
    with pytest.raises(DwpEvalError, match="no period at or after"):
        func(d, **KW, treated_units=[0], treat_time=99)
    with pytest.raises(DwpEvalError, match="se_method"):
        func(d, **KW, treated_units=[0], treat_time=4, se_method="wild")
    with pytest.raises(DwpEvalError, match="column 'nope'"):
        func(d, outcome="nope", unit="area", time="year", treated_units=[0], treat_time=4, seed=1)


def test_placebo_needs_more_donors_than_treated() -> None:
    with pytest.raises(DwpEvalError, match="more donors"):
        de.synthetic_did(_small(4), **KW, treated_units=[0, 1], treat_time=4)


def test_covariates_not_supported_says_so() -> None:
    with pytest.raises(DwpEvalError, match="covariates"):
        de.synthetic_control(_small(), **KW, treated_units=[0], treat_time=4, covariates=["x"])


# ------------------------------------------------------------------ properties

def _panel(rng: np.random.Generator, n: int, t: int) -> np.ndarray:
    load = rng.normal(size=(n, 2))
    fac = np.cumsum(rng.normal(size=(t, 2)), axis=0)
    return load @ fac.T + rng.normal(size=(n, 1)) + rng.normal(scale=0.3, size=(n, t))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-50, 50), kind=st.sampled_from(["sdid", "sc"]),
       n1=st.integers(1, 3))
def test_post_shift_of_treated_moves_estimate_by_it(seed: int, shift: float, kind: str, n1: int) -> None:
    rng = np.random.default_rng(seed)
    n0, t0, t1 = 8, 6, 3
    Y = _panel(rng, n0 + n1, t0 + t1)
    a = fit_sdid(Y, n0, t0, kind=kind)
    Y2 = Y.copy()
    Y2[n0:, t0:] += shift
    b = fit_sdid(Y2, n0, t0, kind=kind)
    assert b.estimate - a.estimate == pytest.approx(shift, abs=1e-7 * (1 + abs(shift)))
    for w in (a.omega, a.lam if kind == "sdid" else np.array([1.0])):
        assert np.all(w >= 0) and w.sum() == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["sdid", "sc"]))
def test_permuting_donors_leaves_estimate_unchanged(seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    d = _small(9, 7)
    d["y"] = d["y"] + rng.normal(size=len(d))
    f = de.synthetic_did if kind == "sdid" else de.synthetic_control
    a = f(d, **KW, treated_units=[0], treat_time=5, se_method="jackknife")
    relabel = dict(zip(range(1, 9), rng.permutation(np.arange(1, 9)) + 100, strict=True))
    b = f(d.assign(area=d.area.replace(relabel)), **KW, treated_units=[0], treat_time=5, se_method="jackknife")
    # the weights are the same optimum: Frank-Wolfe stops within min_decrease of it
    assert b.estimate == pytest.approx(a.estimate, abs=1e-3 * d["y"].std())


# ------------------------------------------------------------------ result and plots

def test_result_contract_and_plots(fits: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from dwp_eval.results.palette import alt_text_of

    res = de.synthetic_did(_prop99(), **PROP99, replications=30, seed=1)
    assert list(res.to_frame().columns)[:3] == ["term", "estimator", "estimate"]
    assert "synthetic DiD" in res.summary()
    with pytest.raises(ValueError):
        res.omega[0] = 1.0
    assert res.unit_weights.sum() == pytest.approx(1.0)
    assert res.time_weights.index[-1] == 1988
    for plot in (res.plot, res.plot_weights, res.plot_placebos):
        ax = plot()
        assert alt_text_of(ax.figure)
        matplotlib.pyplot.close(ax.figure)
    sc = de.synthetic_control(_prop99(), **PROP99, replications=30, seed=1)
    assert 0 < sc.p_value <= 1
    assert "placebo p" in sc.summary()
