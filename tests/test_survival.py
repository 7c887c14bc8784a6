"""survival_effect: bad input (pinned messages), the result's tables and plot, and
hypothesis property tests (relabelling arms, row order, time scaling, the RMST of an
uncensored sample, the hazard ratio inverting when the arms swap)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dwp_eval as de
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    NotEstimableError,
    OptionError,
)

matplotlib.use("Agg")

REF = Path(__file__).parent / "reference" / "survival"
DATA = pd.read_csv(REF / "individual.csv")
KW = {"duration": "duration", "event": "event", "assigned": "arm", "horizon": 365}


def fit(data: pd.DataFrame = DATA, **kw: object) -> de.SurvivalEffect:
    return de.survival_effect(data, **{**KW, **kw})  # type: ignore[arg-type]


# ------------------------------------------------------------------ bad input

def test_duration_must_be_positive() -> None:
    bad = DATA.assign(duration=DATA["duration"].where(DATA.index != 3, 0.0))
    with pytest.raises(ColumnError, match=r"column 'duration' \(duration\) must be > 0 days; 1 row"):
        fit(bad)


def test_event_must_be_zero_or_one() -> None:
    bad = DATA.assign(event=DATA["event"].where(DATA.index != 5, 2))
    with pytest.raises(ColumnError, match=r"column 'event' \(event\) must hold 0 \(censored\) or 1"):
        fit(bad)
    with pytest.raises(ColumnError, match=r"found 'yes'"):
        fit(DATA.assign(event=np.where(DATA["event"] == 1, "yes", "no")))


def test_missing_values_raise_by_default_and_drop_warns() -> None:
    bad = DATA.assign(event=DATA["event"].astype(float).where(DATA.index != 7))
    with pytest.raises(MissingDataError, match=r"column 'event' \(event\) has 1 missing"):
        fit(bad)
    bad_d = DATA.assign(duration=DATA["duration"].where(DATA.index != 8))
    with pytest.raises(MissingDataError, match=r"column 'duration' \(duration\) has 1 missing"):
        fit(bad_d)
    with pytest.warns(DroppedRowsWarning, match="1 row"):
        res = fit(bad, missing="drop")
    assert res.n_obs == len(DATA) - 1
    assert dict(res.dropped) == {"event": 1}


def test_horizon_beyond_follow_up() -> None:
    last = DATA.groupby("arm")["duration"].max().min()
    with pytest.raises(DesignError, match=r"horizon=500 days is beyond the last follow-up time in "
                                          r"arm '(control|treatment)' \(\d+ days\)"):
        fit(horizon=500)
    fit(horizon=float(last))  # at the last time is fine
    short = DATA.assign(duration=np.where((DATA["stratum"] == "north") & (DATA["arm"] == "control"),
                                          np.minimum(DATA["duration"], 200.0), DATA["duration"]))
    with pytest.raises(DesignError, match=r"beyond the last follow-up time in stratum 'north' of "
                                          r"arm 'control' \(200 days\)"):
        fit(short, horizon=300, strata="stratum")
    fit(short, horizon=300)  # unstratified, the arm's follow-up is what counts
    with pytest.raises(OptionError, match="'horizon' parameter of survival_effect must be a positive"):
        fit(horizon=-1)


def test_an_arm_with_no_events_is_not_estimable() -> None:
    bad = DATA.assign(event=np.where(DATA["arm"] == "treatment", 0, DATA["event"]))
    with pytest.raises(NotEstimableError, match="arm 'treatment' has no events") as err:
        fit(bad)
    assert err.value.reason == "no events in an arm"


def test_unknown_columns_and_options() -> None:
    with pytest.raises(ColumnError, match=r"column 'evnt' \(event\) is not in the data. Did you mean 'event'"):
        fit(event="evnt")
    with pytest.raises(ColumnError, match=r"column 'dur' \(duration\) is not in the data"):
        fit(duration="dur")
    with pytest.raises(ColumnError, match=r"column 'stratum' \(duration\) must be a number of days"):
        fit(duration="stratum")
    with pytest.raises(ColumnError, match=r"column 'office' \(cluster\) is not in the data"):
        fit(cluster="office", nested_in="treatment")
    with pytest.raises(OptionError, match="'nested_in' parameter of survival_effect must be one of"):
        fit(cluster="stratum", nested_in="both")
    with pytest.raises(OptionError, match="nested_in='treatment' needs cluster="):
        fit(nested_in="treatment")


def test_nested_arm_needs_its_specialists() -> None:
    d = pd.read_csv(REF / "nested.csv")
    bad = d.assign(specialist=d["specialist"].where(d.index != len(d) - 1))
    with pytest.raises(MissingDataError, match=r"column 'specialist' \(cluster\) has 1 missing value\(s\) "
                                               r"in the nested \(treatment\) arm"):
        fit(bad, cluster="specialist", nested_in="treatment")
    one = d.assign(specialist=np.where(d["arm"] == "treatment", "s1", None))
    with pytest.raises(DesignError, match="needs at least 2 clusters in the treatment arm"):
        fit(one, cluster="specialist", nested_in="treatment")


def test_censored_people_are_never_dropped() -> None:
    res = fit()
    assert res.n_obs == len(DATA)
    curves = res.curves()
    assert curves["n_censor"].sum() == (DATA["event"] == 0).sum()
    assert curves["n_event"].sum() == DATA["event"].sum()


# ------------------------------------------------------------------ tables, plot

def test_tables_and_summary() -> None:
    res = fit(strata="stratum", covariates=["x1", "x2"])
    frame = res.to_frame()
    assert list(frame["term"]) == ["rmst_control", "rmst_treatment", "rmst_difference",
                                   "hazard_ratio", "log_rank"]
    assert list(frame.columns) == de.results.SURVIVAL_COLUMNS
    assert list(res.curves().columns) == de.results.CURVE_COLUMNS
    ci = res.conf_int()
    assert list(ci["term"]) == ["rmst_control", "rmst_treatment", "rmst_difference", "hazard_ratio"]
    hr = frame.set_index("term").loc["hazard_ratio"]
    assert hr["conf_low"] < hr["estimate"] < hr["conf_high"]
    assert hr["estimate"] == pytest.approx(res.hazard_ratio)
    wide = res.conf_int(alpha=0.01).set_index("term")
    assert (wide["conf_low"] < ci.set_index("term")["conf_low"]).all()
    assert "rmst_difference" in res.summary()
    assert res.cox_coefficients["assigned"] == pytest.approx(res.log_hazard_ratio)
    # the band is wider than the pointwise interval, and the interval holds the curve
    c = res.curves()
    assert (c["band_low"] <= c["survival"]).all() and (c["survival"] <= c["band_high"]).all()
    inner = c[(c["survival"] > 0.2) & (c["survival"] < 0.9)]
    assert (inner["band_high"] - inner["band_low"] > inner["conf_high"] - inner["conf_low"]).all()
    assert ((c["conf_low"] <= c["survival"]) & (c["survival"] <= c["conf_high"])).all()


def test_plot_has_alt_text() -> None:
    res = fit()
    ax = res.plot()
    assert ax.figure.alt_text == res.alt_text()
    assert "restricted mean time" in res.alt_text()
    assert len(ax.get_lines()) >= 2


def test_a_result_does_not_see_later_changes_to_the_data() -> None:
    d = DATA.copy()
    res = fit(d)
    before = res.to_frame()
    d["duration"] = 1.0
    pd.testing.assert_frame_equal(res.to_frame(), before)


# ------------------------------------------------------------------ properties

@st.composite
def samples_any(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(12, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    arm = rng.permutation(np.repeat(["control", "treatment"], [n // 2, n - n // 2]))
    t = np.ceil(rng.exponential(50, n))  # ties
    e = (rng.random(n) < 0.8).astype(int)
    d = pd.DataFrame({"arm": arm, "duration": t, "event": e})
    # an event in each arm, and the horizon inside both arms' follow-up
    d.loc[d.index[d["arm"] == "control"][0], "event"] = 1
    d.loc[d.index[d["arm"] == "treatment"][0], "event"] = 1
    return d


def samples() -> st.SearchStrategy[pd.DataFrame]:
    """Samples whose Cox model has a finite estimate (see the monotone-likelihood test)."""
    return samples_any().filter(_cox_estimable)


def _horizon(d: pd.DataFrame) -> float:
    return float(d.groupby("arm")["duration"].max().min())


def _cox_estimable(d: pd.DataFrame) -> bool:
    try:
        fit(d, horizon=_horizon(d))
    except NotEstimableError:
        return False
    return True


def test_a_monotone_likelihood_is_not_estimable() -> None:
    # every event before 49 days is in the treatment arm and no treatment person is at risk later
    d = pd.DataFrame({"arm": ["control"] * 6 + ["treatment"] * 6,
                      "duration": [166, 45, 16, 13, 68, 94, 1, 11, 31, 35, 49, 17],
                      "event": [1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1]})
    with pytest.raises(NotEstimableError, match="the Cox model has no finite estimate") as err:
        fit(d, horizon=45)
    assert err.value.reason == "Cox model not estimable"


def test_a_monotone_likelihood_is_refused_whichever_arm_is_treatment() -> None:
    # every treatment event has control people at risk; the one control event has no treatment
    # person at risk: the log HR runs to +infinity. Newton's steps stall near 36 (the
    # information underflows), which must not pass for convergence in either direction.
    d = pd.DataFrame({"arm": ["control", "treatment", "control", "treatment", "treatment",
                              "treatment", "control", "control", "control", "treatment",
                              "control", "treatment"],
                      "duration": [253, 60, 10, 3, 128, 63, 27, 28, 89, 23, 10, 85],
                      "event": [1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1]})
    for arms in ({}, {"control": "treatment", "treatment": "control"}):
        with pytest.raises(NotEstimableError, match="the Cox model has no finite estimate"):
            fit(d, horizon=85, **arms)


@settings(max_examples=30, deadline=None)
@given(samples())
def test_swapping_arms_negates_the_rmst_difference_and_inverts_the_hr(d: pd.DataFrame) -> None:
    h = _horizon(d)
    a = fit(d, horizon=h)
    b = fit(d, horizon=h, control="treatment", treatment="control")
    assert b.rmst_difference == pytest.approx(-a.rmst_difference, abs=1e-9)
    assert b.rmst_difference_se == pytest.approx(a.rmst_difference_se, rel=1e-9)
    assert b.log_hazard_ratio == pytest.approx(-a.log_hazard_ratio, abs=1e-6)
    assert b.log_hazard_ratio_se == pytest.approx(a.log_hazard_ratio_se, rel=1e-5)
    assert b.log_rank_statistic == pytest.approx(a.log_rank_statistic, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(samples(), st.sampled_from([0.5, 2.0, 7.0]))
def test_scaling_time_scales_the_rmst_and_keeps_the_hr(d: pd.DataFrame, k: float) -> None:
    h = _horizon(d)
    a = fit(d, horizon=h)
    b = fit(d.assign(duration=d["duration"] * k), horizon=h * k)
    assert b.rmst_difference == pytest.approx(k * a.rmst_difference, rel=1e-9, abs=1e-9)
    assert b.rmst_difference_se == pytest.approx(k * a.rmst_difference_se, rel=1e-9, abs=1e-9)
    assert b.log_hazard_ratio == pytest.approx(a.log_hazard_ratio, abs=1e-8)
    assert b.log_rank_p == pytest.approx(a.log_rank_p, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(samples(), st.integers(0, 2**32 - 1))
def test_row_order_and_arm_labels_do_not_matter(d: pd.DataFrame, seed: int) -> None:
    h = _horizon(d)
    a = fit(d, horizon=h)
    shuffled = d.sample(frac=1, random_state=seed % 2**31).assign(
        arm=lambda x: x["arm"].map({"control": "usual care", "treatment": "IPS"}))
    b = fit(shuffled, horizon=h, control="usual care")
    assert b.rmst_difference == pytest.approx(a.rmst_difference, abs=1e-9)
    assert b.rmst_difference_se == pytest.approx(a.rmst_difference_se, rel=1e-9)
    assert b.log_hazard_ratio == pytest.approx(a.log_hazard_ratio, abs=1e-8)
    assert b.log_hazard_ratio_se == pytest.approx(a.log_hazard_ratio_se, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(samples())
def test_rmst_is_the_mean_time_when_nobody_is_censored(d: pd.DataFrame) -> None:
    d = d.assign(event=1)
    h = float(d["duration"].max())
    for arm in ("control", "treatment"):  # both arms followed to the horizon
        d.loc[d.index[d["arm"] == arm][-1], "duration"] = h
    res = fit(d, horizon=h)
    means = d.groupby("arm")["duration"].mean()
    for arm in ("control", "treatment"):
        assert res.rmst[arm] == pytest.approx(means[arm], rel=1e-12)
        # Greenwood's SE of an uncensored mean: sqrt(sum (t - mean)^2) / n
        t = d.loc[d["arm"] == arm, "duration"].to_numpy()
        assert res.rmst_std_error[arm] == pytest.approx(
            np.sqrt(np.sum((t - t.mean()) ** 2)) / len(t), rel=1e-9)


def test_one_person_clusters_give_greenwood_times_the_small_sample_factor() -> None:
    plain = fit()
    own = fit(DATA.assign(person=np.arange(len(DATA))), cluster="person")
    for arm in ("control", "treatment"):
        n = own.n_by_arm[arm]
        assert own.n_clusters[arm] == n
        assert own.rmst_std_error[arm] == pytest.approx(
            np.sqrt(n / (n - 1)) * plain.rmst_std_error[arm], rel=1e-12)
    assert own.rmst_df == len(DATA) - 2
    # the Cox cluster-robust SE with one person per cluster is the robust SE
    assert own.log_hazard_ratio_se == pytest.approx(plain.log_hazard_ratio_se, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(samples(), st.sampled_from([0.01, 0.05, 0.2]))
def test_intervals_and_p_values_agree(d: pd.DataFrame, alpha: float) -> None:
    res = fit(d, horizon=_horizon(d), alpha=alpha)
    rows = res.to_frame().set_index("term")
    for term, null in (("rmst_difference", 0.0), ("hazard_ratio", 1.0)):
        r = rows.loc[term]
        if abs(r["p_value"] - alpha) < 1e-9:
            continue
        assert (r["p_value"] < alpha) == (not r["conf_low"] <= null <= r["conf_high"])
