"""randomisation_test on Dask and Spark DataFrames equals the in-memory test (issue 18):
the same seed gives the same re-drawn assignments, p-value and interval.

People randomised one by one are the units, so their design columns come to the driver;
a cluster design comes as one row per cluster summarised by the engine (people, sum,
smallest and largest outcome). Both are put in the canonical order (strata, cluster,
arm, outcome), so the pandas reference is the test of the rows in that order."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate import _ri_engine

pytestmark = pytest.mark.engine


def _trial(n: int = 600, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = rng.integers(0, 24, n)
    site = office % 3
    office_arm = np.where(rng.permutation(24)[office] % 2 == 0, "treatment", "control")
    return pd.DataFrame({
        "arm": rng.choice(np.array(["control", "treatment"]), n),
        "office_arm": office_arm,
        "office": office, "site": site, "region": np.where(office % 2 == 0, "N", "S"),
        "y": 1000.0 + rng.normal(size=n) + 0.2 * office / 24 + 0.3 * (office_arm == "treatment"),
    })


def _canonical(df: pd.DataFrame, case: dict) -> pd.DataFrame:
    strata = case.get("strata")
    cols = [*([strata] if isinstance(strata, str) else strata or []),
            *([case["cluster"]] if "cluster" in case else []), case["assigned"], "y"]
    cols = list(dict.fromkeys(cols))
    return df[cols].sort_values(cols, kind="mergesort").reset_index(drop=True)


def _no_rows(*args, **kwargs):
    raise AssertionError("the people's rows were collected")


def _same(a, b, exact: bool) -> None:
    assert (a.p_value, a.draws, a.n_obs, dict(a.n_by_arm), a.n_clusters, a.design) == (
        b.p_value, b.draws, b.n_obs, dict(b.n_by_arm), b.n_clusters, b.design)
    if exact:
        assert a.to_frame().equals(b.to_frame())
        assert (a.estimate, a.conf_low, a.conf_high) == (b.estimate, b.conf_low, b.conf_high)
    else:  # a cluster's summary: sums of people, then centred (rounding differs)
        for f in ("estimate", "std_error", "statistic", "conf_low", "conf_high"):
            assert getattr(b, f) == pytest.approx(getattr(a, f), rel=1e-10, abs=1e-12), f
        np.testing.assert_allclose(b.null_statistics, a.null_statistics, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", [
    dict(assigned="arm"),
    dict(assigned="arm", strata="site", statistic="difference"),
    dict(assigned="office_arm", cluster="office"),
    dict(assigned="office_arm", cluster="office", strata="region", statistic="difference"),
    dict(assigned="office_arm", cluster="office", strata=["region", "site"], statistic="difference"),
])
def test_ri_on_engine_equals_pandas(engine_frame, case, monkeypatch) -> None:
    """Equal to the in-memory test of the same rows in the canonical order, and the same
    for any partitioning (a cluster design from its summary: the rows are never asked for)."""
    df = _trial()
    if "cluster" in case:
        monkeypatch.setattr(_ri_engine, "design_rows", _no_rows)
    a = de.randomisation_test(_canonical(df, case), outcome="y", draws=400, seed=5, **case)
    b = de.randomisation_test(engine_frame(df, 3), outcome="y", draws=400, seed=5, **case)
    _same(a, b, exact="cluster" not in case)
    shuffled = df.sample(frac=1.0, random_state=1)
    c = de.randomisation_test(engine_frame(shuffled, 5), outcome="y", draws=400, seed=5, **case)
    _same(b, c, exact="cluster" not in case)


def test_ri_cluster_design_brings_one_row_per_cluster(engine_frame, monkeypatch) -> None:
    """A clean cluster design never collects the people: the rows' path is not taken,
    and the summary has one row per cluster with its people and outcome sum."""
    df = _trial()
    monkeypatch.setattr(_ri_engine, "design_rows", _no_rows)
    res = de.randomisation_test(engine_frame(df), outcome="y", assigned="office_arm",
                                cluster="office", draws=50, seed=1)
    assert res.n_clusters == df["office"].nunique() and res.n_obs == len(df)
    summary = _ri_engine.cluster_summary(
        engine_frame(df), outcome="y", assigned="office_arm", strata=None, cluster="office",
        control="control", treatment=None, func="randomisation_test")
    by = df.groupby("office")["y"]
    assert summary["office"].tolist() == sorted(df["office"].unique())
    np.testing.assert_allclose(summary[_ri_engine.SUM], by.sum().to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(summary[_ri_engine.N], by.size().to_numpy())


def test_ri_cluster_summary_with_more_arms_and_bool_outcome(engine_frame) -> None:
    """A third arm is left out (its clusters are not re-drawn); a 0/1 outcome is summed."""
    df = _trial()
    df.loc[df["office"] >= 20, "office_arm"] = "other"
    df["yb"] = df["y"] > df["y"].median()
    case = dict(assigned="office_arm", cluster="office", treatment="treatment")
    ordered = df[["office", "office_arm", "yb"]].sort_values(["office", "office_arm", "yb"], kind="mergesort")
    a = de.randomisation_test(ordered.reset_index(drop=True), outcome="yb", draws=300, seed=2, **case)
    b = de.randomisation_test(engine_frame(df), outcome="yb", draws=300, seed=2, **case)
    _same(a, b, exact=False)
    assert b.n_clusters == 20


def test_ri_cluster_problems_judged_on_the_rows(engine_frame) -> None:
    """What a summary cannot judge goes to the rows, with pandas' errors and counts."""
    df = _trial()
    case = dict(assigned="office_arm", cluster="office", draws=100, seed=3)
    # a missing outcome: raised, or dropped with the in-memory count and warning
    gaps = df.copy()
    gaps.loc[[3, 50, 51], "y"] = np.nan
    with pytest.raises(MissingDataError, match="3 missing value"):
        de.randomisation_test(engine_frame(gaps), outcome="y", **case)
    with pytest.warns(DroppedRowsWarning, match="3 row"):
        b = de.randomisation_test(engine_frame(gaps), outcome="y", missing="drop", **case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        a = de.randomisation_test(_canonical(gaps, case), outcome="y", missing="drop", **case)
    _same(a, b, exact=True)
    assert b.n_obs == len(df) - 3
    # a cluster in both arms, a cluster in two strata
    split = df.copy()
    rows4 = split.index[split["office"] == 4]
    split.loc[rows4[0], "office_arm"] = (
        "treatment" if split.loc[rows4[0], "office_arm"] == "control" else "control")
    with pytest.raises(DesignError, match="contain people from both arms"):
        de.randomisation_test(engine_frame(split), outcome="y", **case)
    span = df.copy()
    span.loc[span.index[span["office"] == 5][0], "region"] = "N"
    with pytest.raises(DesignError, match="span more than one stratum"):
        de.randomisation_test(engine_frame(span), outcome="y", strata="region", **case)
    # an infinite outcome, and one arm with a single cluster
    inf = df.copy()
    inf.loc[7, "y"] = np.inf
    with pytest.raises(ColumnError, match="infinite"):
        de.randomisation_test(engine_frame(inf), outcome="y", **case)
    lone = df.copy()
    lone.loc[lone["office_arm"] == "treatment", "office"] = 99
    with pytest.raises(DesignError, match="at least 2 clusters in each arm"):
        de.randomisation_test(engine_frame(lone), outcome="y", **case)
    constant = df.assign(y=2.5)
    with pytest.raises(de.errors.NotEstimableError, match=r"constant \(2.5\)"):
        de.randomisation_test(engine_frame(constant), outcome="y", **case)


def test_ri_bad_input_on_engine(engine_frame) -> None:
    big = engine_frame(_trial(), 3)
    with pytest.raises(ColumnError, match="no column 'yy'"):
        de.randomisation_test(big, outcome="yy", assigned="arm", seed=1)
    with pytest.raises(ColumnError, match="no column 'offic'"):
        de.randomisation_test(big, outcome="y", assigned="office_arm", cluster="offic", seed=1)
    with pytest.raises(ColumnError, match=r"no column 'sitee' \(the strata column\).*pass strata="):
        de.randomisation_test(big, outcome="y", assigned="arm", strata=["region", "sitee"], seed=1)
    with pytest.raises(OptionError, match="'allocation' parameter of randomisation_test is not offered"):
        de.randomisation_test(big, outcome="y", assigned="arm", seed=1, allocation=object())
    text = engine_frame(_trial().assign(y="a"), 2)
    with pytest.raises(ColumnError, match="must be numeric"):
        de.randomisation_test(text, outcome="y", assigned="office_arm", cluster="office", seed=1)
