"""did and staggered_did on Dask and Spark DataFrames: the same result as on pandas.

Tolerance: 1e-10 relative. The engine paths add the same numbers in another order
(per partition, per cluster), so they agree with pandas to rounding (~1e-13 measured).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dwp_eval import did, staggered_did
from dwp_eval.datasets.card_krueger import card_krueger
from dwp_eval.datasets.lfs import lfs_areas
from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("ignore::UserWarning")]

RTOL, ATOL = 1e-10, 1e-12


def _same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        if pd.api.types.is_float_dtype(a[c]):
            np.testing.assert_allclose(b[c].to_numpy(), a[c].to_numpy(), rtol=RTOL, atol=ATOL, err_msg=c)
        else:
            assert a[c].tolist() == b[c].tolist(), c


def _same_effect(a, b) -> None:
    _same_frame(a.to_frame(), b.to_frame())
    assert (a.n_by_arm, a.notes, a.design, a.method, a.n_clusters, a.dropped) == (
        b.n_by_arm, b.notes, b.design, b.method, b.n_clusters, b.dropped)
    if a.group_means is None:
        assert b.group_means is None
    else:
        _same_frame(a.group_means, b.group_means)


@pytest.fixture(scope="module")
def rollout() -> pd.DataFrame:
    panel = area_rollout(n_areas=40, periods=10, cohorts=(4, 7), seed=3)
    rng = np.random.default_rng(5)
    panel["x"] = rng.normal(size=len(panel))
    return panel


# ------------------------------------------------------------------ did
def test_did_card_krueger_2x2(engine_frame) -> None:
    ck = card_krueger()
    kw = dict(outcome="fte", unit="store", time="wave", treated="nj", post="wave", missing="drop")
    with pytest.warns(Warning):
        ref = did(ck, **kw)
    with pytest.warns(Warning):
        res = did(engine_frame(ck), **kw)
    _same_effect(ref, res)
    assert ref.group_means is not None and res.group_means is not None


@pytest.mark.parametrize("opts", [{}, {"cluster": "region", "covariates": ["x"], "se_type": "CR2"}])
def test_did_twfe_unbalanced(engine_frame, rollout, opts) -> None:
    # an unbalanced panel, rows shuffled: a unit's rows sit in several partitions
    data = rollout.sample(frac=0.85, random_state=2)
    kw = dict(outcome="employment_rate", unit="area", time="month", treated="treated", **opts)
    ref = did(data, **kw)
    res = did(engine_frame(data, npartitions=4), **kw)
    _same_effect(ref, res)
    assert res.design == "panel (unbalanced)"
    again = res.with_se("CR0")
    _same_effect(ref.with_se("CR0"), again)


@pytest.mark.parametrize("opts", [
    {"covariates": ["x"], "missing": "drop", "se_type": "HC2"},
    {"cluster": "area"},
])
def test_did_repeated_cross_sections(engine_frame, opts) -> None:
    lfs = lfs_areas(n_areas=20, quarters=6, cohorts=(4,), people=15, seed=3)
    lfs["group"] = (lfs["cohort"] > 0).astype(int)
    lfs["after"] = (lfs["quarter"] >= 4).astype(int)
    lfs["x"] = np.random.default_rng(1).normal(size=len(lfs))
    lfs.loc[lfs.sample(frac=0.03, random_state=1).index, "x"] = np.nan
    kw = dict(outcome="employed", unit=None, time="quarter", treated="group", post="after", **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = did(lfs, **kw)
        res = did(engine_frame(lfs), **kw)
    _same_effect(ref, res)
    other = "CR0" if "cluster" in opts else "classical"
    _same_effect(ref.with_se(other), res.with_se(other))


def test_did_errors(engine_frame, rollout) -> None:
    frame = engine_frame(rollout)
    with pytest.raises(ColumnError, match="no column 'employment'"):
        did(frame, outcome="employment", unit="area", time="month", treated="treated")
    with pytest.raises(OptionError, match=r"se_type='CR2' with unit=None is not supported on a "
                       r"(Dask|Spark) DataFrame\. Fix: bring the data into memory first"):
        did(frame, outcome="employment_rate", unit=None, time="month", treated="treated", post="treated",
            cluster="area", se_type="CR2")
    gap = rollout.assign(employment_rate=rollout["employment_rate"].where(rollout["month"] != 3))
    with pytest.raises(MissingDataError, match="'employment_rate' \\(outcome\\) has 40 missing"):
        did(engine_frame(gap), outcome="employment_rate", unit="area", time="month", treated="treated")


# ------------------------------------------------------------------ staggered_did
def _same_staggered(a, b) -> None:
    _same_frame(a.att_gt, b.att_gt)
    np.testing.assert_allclose(b.critical_value, a.critical_value, rtol=RTOL)
    np.testing.assert_allclose([b.treated_mean, b.comparison_mean], [a.treated_mean, a.comparison_mean],
                               rtol=RTOL)
    assert (a.notes, a.n_units, a.n_clusters, a.cohort_sizes, a.n_comparison_units, a.data_kind) == (
        b.notes, b.n_units, b.n_clusters, b.cohort_sizes, b.n_comparison_units, b.data_kind)
    for kind in ("simple", "dynamic"):
        _same_frame(a.aggregate(kind).to_frame(), b.aggregate(kind).to_frame())


def _in_engine_order(frame):
    """The engine frame kept in memory and its rows in its own order, as pandas. The
    bootstrap's draws follow the order in which units first appear; Spark's repartition
    deals rows out in an order that can change from one evaluation to the next, so the
    frame is cached to give it one order."""
    if hasattr(frame, "toPandas"):
        frame = frame.cache()
        return frame, frame.toPandas()
    return frame, frame.compute()


def test_staggered_panel(engine_frame, rollout) -> None:
    kw = dict(outcome="employment_rate", unit="area", time="month", cohort="cohort", cluster="region",
              control_group="not_yet_treated", bootstrap=99, seed=7)
    frame, ordered = _in_engine_order(engine_frame(rollout))
    _same_staggered(staggered_did(ordered, **kw), staggered_did(frame, **kw))


@pytest.mark.parametrize("opts", [
    dict(covariates=["x"], method="dr", bootstrap=49, seed=3),
    dict(control_group="never_treated", base_period="universal", anticipation=1, bootstrap=0),
], ids=["covariates-dr", "never-treated-universal"])
def test_staggered_panel_options(engine_frame, rollout, opts) -> None:
    """The balanced panel from per-unit sums (panel_cells) with covariates and the other
    options: the same ATT(g, t), standard errors, bands and aggregations as pandas."""
    kw = dict(outcome="employment_rate", unit="area", time="month", cohort="cohort", **opts)
    shuffled = rollout.sample(frac=1.0, random_state=4).reset_index(drop=True)
    frame, ordered = _in_engine_order(engine_frame(shuffled, 3))
    _same_staggered(staggered_did(ordered, **kw), staggered_did(frame, **kw))


def test_staggered_panel_missing_values(engine_frame, rollout) -> None:
    """missing='drop' drops the rows with a missing outcome or covariate and the other
    periods of those units (a balanced panel), with the same counts and warning as pandas;
    missing='raise' names the column."""
    gap = rollout.copy()
    gap.loc[[3, 57], "employment_rate"] = np.nan
    gap.loc[[120], "x"] = np.nan
    kw = dict(outcome="employment_rate", unit="area", time="month", cohort="cohort", covariates=["x"],
              method="reg", missing="drop", bootstrap=0)
    frame, ordered = _in_engine_order(engine_frame(gap, 3))
    with pytest.warns(Warning) as w_ref:
        ref = staggered_did(ordered, **kw)
    with pytest.warns(Warning) as w_got:
        got = staggered_did(frame, **kw)
    _same_staggered(ref, got)
    assert ref.n_units == 40 - 3
    assert sorted(str(w.message) for w in w_ref) == sorted(str(w.message) for w in w_got)
    with pytest.raises(MissingDataError, match=r"'employment_rate' \(outcome\) has 2 missing"):
        staggered_did(frame, **{**kw, "missing": "raise"})
    # a missing value in every unit: nothing is left of a balanced panel
    holes = rollout.copy()
    holes.loc[holes.month == 5, "employment_rate"] = np.nan
    for data in (holes, engine_frame(holes, 3)):
        with pytest.raises(MissingDataError, match=r"every unit of 'area' has a missing value in some period"):
            staggered_did(data, **kw)


def _panel_error(frame_of, data, exc, match, **extra) -> None:
    kw = dict(outcome="employment_rate", unit="area", time="month", cohort="cohort", bootstrap=0, **extra)
    with pytest.raises(exc, match=match):
        staggered_did(data, **kw)
    with pytest.raises(exc, match=match):
        staggered_did(frame_of(data, 3), **kw)


def test_staggered_panel_errors(engine_frame, rollout) -> None:
    """Bad panels give pandas' errors on the engine too."""
    dup = pd.concat([rollout, rollout.iloc[[5]]], ignore_index=True)
    _panel_error(engine_frame, dup, ColumnError, r"must identify each row once, but 1 unit-period pair")
    short = rollout.drop(index=[7]).reset_index(drop=True)
    _panel_error(engine_frame, short, Exception, r"needs a balanced panel, but 1 unit\(s\) of 'area'")
    changing = rollout.copy()
    changing.loc[changing.area == changing.area.iloc[0], "cohort"] = np.r_[[4] * 5, [7] * 5]
    _panel_error(engine_frame, changing, DesignError, r"must be the same in every period of a unit")
    unknown = rollout.assign(cohort=rollout.cohort.replace(7, 99))
    _panel_error(engine_frame, unknown, DesignError, r"are not periods of 'month'")
    mixed = rollout.copy()
    mixed.loc[mixed.index[:3], "region"] = "Elsewhere"
    _panel_error(engine_frame, mixed, DesignError, r"'region' \(cluster\) must be constant within units",
                 cluster="region")
    _panel_error(engine_frame, rollout, OptionError, r"weights='claimants' with a balanced panel",
                 weights="claimants")
    flat = rollout.assign(employment_rate=0.5)
    _panel_error(engine_frame, flat, Exception, r"'employment_rate' \(outcome\) is constant")


def test_staggered_unbalanced_panel_on_engine(engine_frame, rollout) -> None:
    """allow_unbalanced=True: the rows come to the driver and the unbalanced estimator runs."""
    short = rollout.drop(index=[7, 33]).reset_index(drop=True)
    kw = dict(outcome="employment_rate", unit="area", time="month", cohort="cohort", allow_unbalanced=True,
              bootstrap=0)
    frame, ordered = _in_engine_order(engine_frame(short, 3))
    _same_staggered(staggered_did(ordered, **kw), staggered_did(frame, **kw))


@pytest.mark.parametrize("opts", [
    {"bootstrap": 99, "seed": 7},
    {"cluster": "region", "base_period": "universal", "control_group": "not_yet_treated",
     "bootstrap": 99, "seed": 7},
])
def test_staggered_repeated_cross_sections(engine_frame, opts) -> None:
    lfs = lfs_areas(n_areas=30, quarters=8, cohorts=(3, 6), people=20, seed=1)
    kw = dict(outcome="employed", unit="area", time="quarter", cohort="cohort", panel=False, **opts)
    frame, ordered = _in_engine_order(engine_frame(lfs))
    ref = staggered_did(ordered, **kw)
    res = staggered_did(frame, **kw)
    _same_staggered(ref, res)
    # estimates and standard errors do not depend on the row order
    _same_frame(staggered_did(lfs, **{**kw, "bootstrap": 0}).att_gt.drop(columns=["band_low", "band_high"]),
                res.att_gt.drop(columns=["band_low", "band_high"]))


def test_staggered_errors(engine_frame) -> None:
    lfs = lfs_areas(n_areas=12, quarters=6, cohorts=(3,), people=5, seed=2)
    frame = engine_frame(lfs)
    kw = dict(outcome="employed", unit="area", time="quarter", cohort="cohort", panel=False, bootstrap=0)
    with pytest.raises(ColumnError, match="no column 'cohrt'"):
        staggered_did(frame, **{**kw, "cohort": "cohrt"})
    with pytest.raises(OptionError, match=r"weights= with panel=False is not supported.*Fix"):
        staggered_did(frame, **kw, weights="weight")
    with pytest.raises(OptionError, match=r"covariates= with panel=False is not supported"):
        staggered_did(frame, **kw, covariates=["weight"])
