"""did, staggered_did, event_study, bacon_decomposition and area_rollout:
behaviour, result types and every user-facing error message."""

from __future__ import annotations

import pickle

import matplotlib
import numpy as np
import pandas as pd
import pytest

from dwp_eval._core.format import number
from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.did import bacon_decomposition, did
from dwp_eval.estimate.event_study import event_study
from dwp_eval.estimate.staggered import staggered_did
from dwp_eval.results import ATT_GT_COLUMNS, EFFECT_COLUMNS, Effect, EventStudy, StaggeredDid
from dwp_eval.results.palette import alt_text_of

matplotlib.use("Agg")

COMMON = dict(outcome="employment_rate", unit="area", time="month")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return area_rollout(n_areas=60, periods=8, cohorts=(3, 5, 7), seed=11)


def two_by_two() -> pd.DataFrame:
    return pd.DataFrame({"area": [1, 1, 2, 2, 3, 3, 4, 4], "t": [0, 1] * 4,
                         "nj": [1, 1, 1, 1, 0, 0, 0, 0], "after": [0, 1] * 4,
                         "y": [10.0, 13.0, 11.0, 13.0, 9.0, 10.0, 12.0, 12.0]})


# ------------------------------------------------------------------ did


def test_did_2x2_is_the_difference_in_mean_changes() -> None:
    res = did(two_by_two(), outcome="y", unit="area", time="t", treated="nj", post="after")
    assert isinstance(res, Effect) and res.estimand == "ATT"
    assert res.estimate == pytest.approx((2.5) - (0.5))
    gm = res.group_means
    assert gm is not None and list(gm["group"]) == ["comparison", "treated", "difference"]
    assert gm.loc[2, "change"] == pytest.approx(res.estimate)
    assert list(res.to_frame().columns) == EFFECT_COLUMNS
    assert "group means" in res.summary() and "difference" in res.summary()
    assert res.se_type == "CR1" and res.design == "panel (balanced)" and res.n_clusters == 4


def test_did_status_column_equals_group_times_post() -> None:
    df = two_by_two()
    df["d"] = df["nj"] * df["after"]
    a = did(df, outcome="y", unit="area", time="t", treated="d")
    b = did(df, outcome="y", unit="area", time="t", treated="nj", post="after")
    assert a.estimate == pytest.approx(b.estimate) and a.std_error == pytest.approx(b.std_error)
    assert a.group_means is not None  # one adoption date: still a 2x2 table


def test_did_with_se_gives_a_new_result(panel: pd.DataFrame) -> None:
    res = did(panel, **COMMON, treated="treated")
    cr2 = res.with_se("CR2")
    assert cr2 is not res and cr2.se_type == "CR2" and res.se_type == "CR1"
    assert cr2.estimate == pytest.approx(res.estimate, rel=1e-10)
    by_region = res.with_se("CR1", cluster=panel["region"])
    assert by_region.n_clusters == panel["region"].nunique()
    assert pickle.loads(pickle.dumps(res)).estimate == res.estimate


def test_did_repeated_cross_sections_and_unbalanced_panels(panel: pd.DataFrame) -> None:
    df = two_by_two()
    rcs = did(df, outcome="y", unit=None, time="t", treated="nj", post="after")
    assert rcs.design == "repeated cross-sections" and rcs.se_type == "HC1"
    assert rcs.estimate == pytest.approx(2.0)
    unb = panel.sample(frac=0.85, random_state=1)
    res = did(unb, **COMMON, treated="treated")
    assert res.design == "panel (unbalanced)"


def test_did_row_order_and_time_labels_do_not_matter(panel: pd.DataFrame) -> None:
    a = did(panel, **COMMON, treated="treated")
    shuffled = panel.sample(frac=1.0, random_state=3)
    shuffled = shuffled.assign(month=pd.to_datetime("2003-01-01") + pd.to_timedelta(shuffled["month"] * 31, "D"))
    b = did(shuffled, **COMMON, treated="treated")
    assert b.estimate == pytest.approx(a.estimate, rel=1e-10)
    assert b.std_error == pytest.approx(a.std_error, rel=1e-10)


def test_did_errors(panel: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"column 'employment' \(outcome\) is not in the data"):
        did(panel, outcome="employment", unit="area", time="month", treated="treated")
    bad = panel.copy()
    bad.loc[3, "employment_rate"] = np.nan
    with pytest.raises(MissingDataError, match=r"'employment_rate' \(outcome\) has 1 missing"):
        did(bad, **COMMON, treated="treated")
    dup = pd.concat([panel, panel.iloc[[0, 9]]])
    with pytest.raises(ColumnError, match=r"2 unit-period pair\(s\) appear more than once: \('D01', 1\)"):
        did(dup, **COMMON, treated="treated")
    off = panel.copy()
    idx = off.index[(off["treated"] == 1)][2]
    off.loc[idx, "treated"] = 0
    with pytest.raises(DesignError, match=r"switches off.*not supported"):
        did(off, **COMMON, treated="treated")
    with pytest.raises(ColumnError, match=r"'cohort' \(treated\) must hold 0/1"):
        did(panel, **COMMON, treated="cohort")
    with pytest.raises(OptionError, match="'post' parameter of did is needed with unit=None"):
        did(panel, outcome="employment_rate", unit=None, time="month", treated="treated")
    with pytest.raises(OptionError, match="'se_type' parameter of did must be one of"):
        did(panel, **COMMON, treated="treated", se_type="HC9")
    mixed = panel.astype({"month": object})
    mixed.loc[0, "month"] = "January"
    with pytest.raises(ColumnError, match=r"'month' \(time\) must hold values that can be sorted"):
        did(mixed, **COMMON, treated="treated")
    never = panel[panel["cohort"] > 0]
    with pytest.raises(DesignError, match="every unit is treated at some point"):
        did(never, **COMMON, treated="treated")


def test_did_post_must_be_a_function_of_time() -> None:
    df = two_by_two()
    df.loc[0, "after"] = 1
    with pytest.raises(DesignError, match=r"'after' \(post\) must be the same for every row of a period"):
        did(df, outcome="y", unit="area", time="t", treated="nj", post="after")


# ------------------------------------------------------------------ staggered


def test_staggered_result_and_aggregations(panel: pd.DataFrame) -> None:
    res = staggered_did(panel, **COMMON, cohort="cohort", seed=1, bootstrap=199)
    assert isinstance(res, StaggeredDid)
    assert list(res.att_gt.columns[: len(ATT_GT_COLUMNS)]) == ATT_GT_COLUMNS
    f = res.att_gt
    assert np.all(f["band_high"] - f["band_low"] >= f["conf_high"] - f["conf_low"] - 1e-12)
    simple = res.aggregate("simple")
    assert isinstance(simple, Effect) and simple.estimand == "ATT"
    for kind, by in (("dynamic", "event_time"), ("group", "cohort"), ("calendar", "time")):
        agg = res.aggregate(kind, bootstrap=0)  # type: ignore[arg-type]
        assert isinstance(agg, EventStudy) and agg.by == by and by in agg.to_frame().columns
    assert "Callaway & Sant'Anna" in res.summary()
    again = staggered_did(panel, **COMMON, cohort="cohort", seed=1, bootstrap=199)
    assert again.critical_value == res.critical_value  # same seed, same band


def test_staggered_errors(panel: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match="'seed' parameter of staggered_did is needed"):
        staggered_did(panel, **COMMON, cohort="cohort")
    with pytest.raises(OptionError, match=r"'control_group' parameter .* Did you mean 'never_treated'"):
        staggered_did(panel, **COMMON, cohort="cohort", control_group="never", bootstrap=0)  # type: ignore[arg-type]
    all_treated = panel[panel["cohort"] > 0]
    with pytest.raises(DesignError, match=r"no unit is never treated.*not_yet_treated"):
        staggered_did(all_treated, **COMMON, cohort="cohort", bootstrap=0)
    assert len(staggered_did(all_treated, **COMMON, cohort="cohort", bootstrap=0,
                             control_group="not_yet_treated").att_gt) > 0
    changing = panel.copy()
    changing.loc[changing.index[changing["area"] == "D01"][0], "cohort"] = 99
    with pytest.raises(DesignError, match=r"'cohort' \(cohort\) must be the same in every period"):
        staggered_did(changing, **COMMON, cohort="cohort", bootstrap=0)
    outside = panel.assign(cohort=np.where(panel["cohort"] == 7, 12, panel["cohort"]))
    with pytest.raises(DesignError, match=r"cohort value\(s\) 12 .* are not periods of 'month'"):
        staggered_did(outside, **COMMON, cohort="cohort", bootstrap=0)
    with pytest.raises(DesignError, match="needs a balanced panel"):
        staggered_did(panel.iloc[1:], **COMMON, cohort="cohort", bootstrap=0)


def test_staggered_drops_units_treated_from_the_first_period(panel: pd.DataFrame) -> None:
    df = panel.copy()
    df.loc[df["area"] == "D01", "cohort"] = 1
    with pytest.warns(DroppedRowsWarning, match="1 unit"):
        res = staggered_did(df, **COMMON, cohort="cohort", bootstrap=0)
    assert res.n_units == panel["area"].nunique() - 1


def test_never_treated_may_be_coded_as_missing(panel: pd.DataFrame) -> None:
    a = staggered_did(panel, **COMMON, cohort="cohort", bootstrap=0)
    b = staggered_did(panel.assign(cohort=panel["cohort"].replace(0, np.nan)), **COMMON, cohort="cohort",
                      bootstrap=0)
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt)


# ------------------------------------------------------------------ event study


@pytest.mark.parametrize("estimator", ["callaway_santanna", "twfe"])
def test_event_study(panel: pd.DataFrame, estimator: str) -> None:
    es = event_study(panel, **COMMON, cohort="cohort", estimator=estimator, seed=2, bootstrap=199)  # type: ignore[arg-type]
    f = es.to_frame()
    assert -1 not in f["event_time"].tolist() and es.ref == -1
    assert es.pretrend_p_value is not None and 0 <= es.pretrend_p_value <= 1
    assert es.critical_value > 1.96
    assert np.all(f["band_high"] >= f["conf_high"] - 1e-12)
    ax = es.plot()
    assert ax.get_xlabel() == "periods since treatment"
    assert alt_text_of(ax.figure) == es.alt_text()
    assert es.alt_text().count("[") == len(f) and "95% uniform band" in es.alt_text()
    assert "pre-trends" in es.summary()
    windowed = event_study(panel, **COMMON, cohort="cohort", estimator=estimator, window=(-2, 3), bootstrap=0)  # type: ignore[arg-type]
    assert windowed.to_frame()["event_time"].tolist() == [-2, 0, 1, 2, 3]


def test_event_study_errors(panel: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match="'ref' parameter of event_study must be -1 with"):
        event_study(panel, **COMMON, cohort="cohort", ref=-2, bootstrap=0)
    with pytest.raises(OptionError, match="'window' parameter of event_study must be a pair"):
        event_study(panel, **COMMON, cohort="cohort", window=(3, -2), bootstrap=0)
    with pytest.raises(OptionError, match="'estimator' parameter of event_study must be one of"):
        event_study(panel, **COMMON, cohort="cohort", estimator="stacked", bootstrap=0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ bacon


def test_bacon_weights_sum_to_one_and_reproduce_twfe(panel: pd.DataFrame) -> None:
    bd = bacon_decomposition(panel, **COMMON, cohort="cohort")
    f = bd.to_frame()
    assert f["weight"].sum() == pytest.approx(1.0)
    assert (f["weight"] * f["estimate"]).sum() == pytest.approx(bd.twfe_estimate, rel=1e-10)
    assert bd.twfe_estimate == pytest.approx(did(panel, **COMMON, treated="treated").estimate, rel=1e-10)
    assert set(bd.by_type()["comparison"]) == {
        "treated vs never treated", "earlier vs later treated", "later vs earlier treated"}
    assert "already-treated units as controls" in bd.summary()
    ax = bd.plot()
    assert alt_text_of(ax.figure) == bd.alt_text()
    assert "treated vs never treated: " in bd.alt_text() and number(bd.twfe_estimate) in bd.alt_text()


# ------------------------------------------------------------------ dataset


def test_area_rollout_shape_and_truth() -> None:
    p = area_rollout(n_areas=30, periods=10, cohorts=(4, 8), seed=3)
    assert p.shape == (300, 8)
    assert list(p.columns) == ["area", "region", "month", "cohort", "treated", "claimants",
                               "employment_rate", "true_effect"]
    assert set(p["cohort"]) <= {0, 4, 8}
    assert np.all((p["treated"] == 1) == ((p["cohort"] > 0) & (p["month"] >= p["cohort"])))
    assert np.all(p.loc[p["treated"] == 0, "true_effect"] == 0)
    pd.testing.assert_frame_equal(p, area_rollout(n_areas=30, periods=10, cohorts=(4, 8), seed=3))
    with pytest.raises(OptionError, match="'cohorts' parameter of area_rollout"):
        area_rollout(periods=6, cohorts=(1, 4), seed=1)
    with pytest.raises(OptionError, match="'seed' parameter of area_rollout"):
        area_rollout(seed="x")  # type: ignore[arg-type]
