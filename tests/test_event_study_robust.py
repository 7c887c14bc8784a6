"""event_study(estimator="imputation" | "sun_abraham"): references, properties,
bad input and a seeded Monte Carlo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.errors import DesignError

REF = Path(__file__).parent / "reference"
PANEL = pd.read_csv(REF / "did" / "staggered_panel.csv")
PEERS = pd.read_csv(REF / "event_study" / "peers.csv", dtype={"event_time": str})


PANEL_Z = pd.read_csv(REF / "event_study" / "panel_z.csv")


def _fit(data: pd.DataFrame, estimator: str, outcome: str = "employment_rate", **kw: object) -> de.EventStudy:
    return de.event_study(data, outcome=outcome, unit="area", time="month", cohort="cohort",
                          estimator=estimator, bootstrap=0, **kw)  # type: ignore[arg-type]


CASES = [
    # (our estimator, reference label, source, with covariate z)
    ("imputation", "imputation", "diff-diff", False),
    ("imputation", "imputation_z", "diff-diff", True),
    ("imputation", "imputation", "pyfixest did2s", False),
    ("imputation", "imputation_pretrend", "pyfixest feols", False),
    ("sun_abraham", "sun_abraham", "diff-diff", False),
    ("sun_abraham", "sun_abraham_z", "diff-diff", True),
    ("sun_abraham", "sun_abraham_last", "diff-diff", None),  # no never treated: last cohort as control
]


@pytest.mark.parametrize(("estimator", "label", "source", "with_z"), CASES)
def test_matches_peers(estimator: str, label: str, source: str, with_z: bool | None) -> None:
    if with_z is None:
        res = _fit(PANEL[PANEL.cohort > 0], estimator)
    elif with_z:
        res = _fit(PANEL_Z, estimator, outcome="y_z", covariates=["z"])
    else:
        res = _fit(PANEL, estimator)
    ref = PEERS[(PEERS.source == source) & (PEERS.estimator == label)]
    f = res.to_frame().set_index("event_time")
    # pyfixest demeans by alternating projections to its default tolerance (3e-8 off here)
    rel = 1e-6 if source.startswith("pyfixest") else 1e-8
    for row in ref.itertuples():
        if row.event_time == "overall":
            est, se = res.overall.estimate, res.overall.std_error
        else:
            est, se = f.loc[int(row.event_time), "estimate"], f.loc[int(row.event_time), "std_error"]
        assert est == pytest.approx(row.estimate, rel=rel, abs=1e-12)
        if np.isfinite(row.std_error):
            assert se == pytest.approx(row.std_error, rel=1e-6)
    assert len(ref) >= 5


@pytest.mark.parametrize("estimator", ["imputation", "sun_abraham"])
def test_result_shape(estimator: str) -> None:
    res = _fit(PANEL, estimator, window=(-3, 4))
    f = res.to_frame()
    assert f["event_time"].min() >= -3 and f["event_time"].max() <= 4
    assert res.pretrend is not None and 0 <= res.pretrend_p_value <= 1
    assert estimator.split("_")[0] in res.estimator
    assert np.all(f["band_low"] <= f["conf_low"] + 1e-15)
    with_band = de.event_study(PANEL, outcome="employment_rate", unit="area", time="month",
                               cohort="cohort", estimator=estimator, bootstrap=500, seed=3)  # type: ignore[arg-type]
    assert with_band.critical_value > 1.96


def _always_treated() -> pd.DataFrame:
    d = PANEL.copy()
    d.loc[d.area == d.area.iloc[0], "cohort"] = d.month.min()
    return d


@pytest.mark.parametrize("estimator", ["imputation", "sun_abraham"])
def test_always_treated_unit_is_refused(estimator: str) -> None:
    with pytest.raises(DesignError, match=r"1 unit\(s\) of 'area' are treated from the first period"):
        _fit(_always_treated(), estimator)


def test_period_without_untreated_is_refused() -> None:
    d = PANEL[PANEL.cohort > 0]  # no never treated: the last cohort's periods are all treated
    with pytest.raises(DesignError, match=r"untreated .*observations in every period"):
        _fit(d, "imputation")
    sa = _fit(d, "sun_abraham")  # the last-treated cohort is the control
    assert "last-treated" in sa.estimator
    assert sa.to_frame()["n_obs"].iloc[0] < len(d)


def _sim(rng: np.random.Generator, n: int = 60, T: int = 8, homogeneous: float | None = None,
         sigma: float = 1.0) -> pd.DataFrame:
    cohorts = rng.choice([0, 4, 6, 7], size=n)
    unit_fe = rng.normal(size=n)
    time_fe = rng.normal(size=T) + 0.3 * np.arange(T)
    rows = []
    for i in range(n):
        for t in range(1, T + 1):
            g = cohorts[i]
            e = t - g if g > 0 else -99
            if homogeneous is not None:
                tau = homogeneous if g > 0 and e >= 0 else 0.0
            else:  # effects grow with time since treatment and differ by cohort
                tau = (1.0 + 0.5 * e) * (1 + (g == 4)) if g > 0 and e >= 0 else 0.0
            rows.append((i, t, g, unit_fe[i] + time_fe[t - 1] + tau + sigma * rng.normal(), tau))
    return pd.DataFrame(rows, columns=["area", "month", "cohort", "employment_rate", "tau"])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), estimator=st.sampled_from(["imputation", "sun_abraham"]))
def test_invariant_to_unit_and_period_effects(seed: int, estimator: str) -> None:
    rng = np.random.default_rng(seed)
    d = _sim(rng, n=30, T=7)
    a = rng.normal(size=30) * 10
    b = rng.normal(size=8) * 10
    d2 = d.assign(employment_rate=d.employment_rate + a[d.area] + b[d.month])
    f1, f2 = _fit(d, estimator).to_frame(), _fit(d2, estimator).to_frame()
    np.testing.assert_allclose(f1["estimate"], f2["estimate"], atol=1e-9)
    np.testing.assert_allclose(f1["std_error"], f2["std_error"], rtol=1e-7, atol=1e-12)


@pytest.mark.filterwarnings("ignore:staggered_did.*not estimable:UserWarning")  # noise-free cells
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(-3, 3))
def test_homogeneous_effect_all_estimators_agree(seed: int, tau: float) -> None:
    d = _sim(np.random.default_rng(seed), n=30, T=7, homogeneous=tau, sigma=0.0)
    for est in ("imputation", "sun_abraham", "twfe", "callaway_santanna"):
        f = _fit(d, est).to_frame()
        post = f[f.event_time >= 0]["estimate"].to_numpy()
        pre = f[f.event_time < 0]["estimate"].to_numpy()
        np.testing.assert_allclose(post, tau, atol=1e-8)
        np.testing.assert_allclose(pre, 0.0, atol=1e-8)


@pytest.mark.slow
def test_monte_carlo_unbiased_and_covers_where_twfe_is_biased() -> None:
    rng = np.random.default_rng(20261206)
    sims = 300
    keys = [0, 1, 2, 3]
    hits = {k: [] for k in ("imputation", "sun_abraham")}
    bias: dict[str, list[np.ndarray]] = {k: [] for k in ("imputation", "sun_abraham", "twfe")}
    for _ in range(sims):
        d = _sim(rng, n=80, T=8)
        treated = d[(d.cohort > 0) & (d.month >= d.cohort)]
        truth = treated.assign(e=treated.month - treated.cohort).groupby("e")["tau"].mean()
        for est in bias:
            f = _fit(d, est).to_frame().set_index("event_time").loc[keys]
            bias[est].append(f["estimate"].to_numpy() - truth.loc[keys].to_numpy())
            if est in hits:
                hits[est].append(((f.conf_low <= truth.loc[keys]) & (truth.loc[keys] <= f.conf_high)).to_numpy())
    for est in ("imputation", "sun_abraham"):
        b = np.array(bias[est])
        se_mc = b.std(axis=0) / np.sqrt(sims)
        assert np.all(np.abs(b.mean(axis=0)) < 4 * se_mc), (est, b.mean(axis=0), se_mc)
        cover = np.array(hits[est]).mean(axis=0)
        # binomial band around 0.95 with 300 draws: 0.95 +- 3 sd (imputation's variance is conservative)
        assert np.all(cover > 0.95 - 3 * np.sqrt(0.95 * 0.05 / sims)), (est, cover)
    b = np.array(bias["twfe"])
    se_mc = b.std(axis=0) / np.sqrt(sims)
    assert np.max(np.abs(b.mean(axis=0)) / se_mc) > 6, b.mean(axis=0)


@pytest.mark.parametrize("estimator", ["imputation", "sun_abraham"])
def test_cluster_column_changes_only_the_standard_errors(estimator: str) -> None:
    by_unit = _fit(PANEL, estimator)
    by_region = _fit(PANEL, estimator, cluster="region")
    np.testing.assert_allclose(by_unit.to_frame()["estimate"], by_region.to_frame()["estimate"], rtol=1e-12)
    assert by_region.n_clusters == PANEL.region.nunique() < by_unit.n_clusters == PANEL.area.nunique()
    assert not np.allclose(by_unit.to_frame()["std_error"], by_region.to_frame()["std_error"])


def test_imputation_window_and_overall() -> None:
    full = _fit(PANEL, "imputation")
    cut = _fit(PANEL, "imputation", window=(-2, 2))
    f, c = full.to_frame().set_index("event_time"), cut.to_frame().set_index("event_time")
    assert list(c.index) == [-2, -1, 0, 1, 2]
    np.testing.assert_allclose(c.loc[[0, 1, 2], "estimate"], f.loc[[0, 1, 2], "estimate"], rtol=1e-12)
    # the overall effect averages the treated observations inside the window
    d = PANEL.assign(e=PANEL.month - PANEL.cohort)
    n = d[(PANEL.cohort > 0) & d.e.between(0, 2)].groupby("e").size()
    assert cut.overall.estimate == pytest.approx(float((c.loc[[0, 1, 2], "estimate"] * n).sum() / n.sum()))


def test_imputation_refuses_a_reference_period() -> None:
    from dwp_eval.errors import OptionError

    with pytest.raises(OptionError, match="'ref' parameter of event_study is not used"):
        _fit(PANEL, "imputation", ref=-2)
