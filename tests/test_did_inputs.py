"""``did`` and ``staggered_did`` on real-data traps (issue 13): ``missing=`` with
itt's vocabulary and behaviour, and a pinned :class:`DwpEvalError` (never a
foreign exception) for each bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.did import did
from dwp_eval.estimate.staggered import staggered_did


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    p = area_rollout(n_areas=30, periods=6, cohorts=(3, 5), seed=1)
    p["d"] = ((p["cohort"] > 0) & (p["month"] >= p["cohort"])).astype(int)
    p["x"] = np.random.default_rng(2).normal(size=len(p))
    return p


DID = {"outcome": "employment_rate", "unit": "area", "time": "month", "treated": "d"}
STAG = {"outcome": "employment_rate", "unit": "area", "time": "month", "cohort": "cohort", "bootstrap": 0}


def _with_nan(p: pd.DataFrame, column: str, rows: list[int]) -> pd.DataFrame:
    out = p.copy()
    out[column] = out[column].astype(object if out[column].dtype.kind not in "fi" else float)
    out.loc[rows, column] = np.nan
    return out


# ---------------------------------------------------------------- missing= (point 3)


def test_did_missing_raises_by_default_and_offers_drop(panel: pd.DataFrame) -> None:
    with pytest.raises(MissingDataError, match=r"column 'employment_rate' \(outcome\) has 2 missing "
                       r"value\(s\).*pass missing='drop' to did"):
        did(_with_nan(panel, "employment_rate", [3, 40]), **DID)


def test_did_missing_drop_counts_warns_and_equals_complete_rows(panel: pd.DataFrame) -> None:
    data = _with_nan(_with_nan(panel, "employment_rate", [3, 40]), "x", [40, 41])
    with pytest.warns(DroppedRowsWarning, match=r"did: 3 row\(s\) with missing values dropped \(2 with "
                      r"missing employment_rate, 1 with missing x\)"):
        res = did(data, **DID, covariates=["x"], missing="drop")
    assert dict(res.dropped) == {"employment_rate": 2, "x": 1}
    assert res.n_obs == len(panel) - 3
    complete = did(panel.drop(index=[3, 40, 41]), **DID, covariates=["x"])
    assert res.estimate == pytest.approx(complete.estimate, rel=1e-12)
    assert res.std_error == pytest.approx(complete.std_error, rel=1e-12)
    assert "dropped         2 row(s) with missing employment_rate" in res.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # with_se re-uses the sample: no second warning
        again = res.with_se("CR2")
    assert dict(again.dropped) == {"employment_rate": 2, "x": 1}


def test_did_missing_drop_never_drops_design_columns(panel: pd.DataFrame) -> None:
    for column, role in (("d", "treated"), ("area", "unit"), ("month", "time")):
        with pytest.raises(MissingDataError, match=rf"column '{column}' \({role}\) has 1 missing.*design "
                           "columns cannot be dropped"):
            did(_with_nan(panel, column, [5]), **DID, missing="drop")


def test_did_missing_option_is_checked(panel: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match="The 'missing' parameter of did must be one of 'raise', 'drop'"):
        did(panel, **DID, missing="error")  # type: ignore[arg-type]


def test_staggered_missing_drop_keeps_the_panel_balanced(panel: pd.DataFrame) -> None:
    data = _with_nan(panel, "employment_rate", [3])  # a row of D01
    with pytest.raises(MissingDataError, match="pass missing='drop' to staggered_did"):
        staggered_did(data, **STAG)
    with pytest.warns(DroppedRowsWarning, match=r"staggered_did: 6 row\(s\) with missing values dropped "
                      r"\(1 with missing employment_rate, 5 other periods of those units"):
        res = staggered_did(data, **STAG, missing="drop")
    assert dict(res.dropped) == {"employment_rate": 1, "other periods of those units (balanced panel)": 5}
    complete = staggered_did(panel[panel["area"] != panel.loc[3, "area"]], **STAG)
    pd.testing.assert_frame_equal(res.att_gt, complete.att_gt)
    assert "dropped         1 row(s): missing employment_rate" in res.summary()


def test_staggered_missing_drop_with_everything_missing(panel: pd.DataFrame) -> None:
    with pytest.raises(MissingDataError, match="missing='drop' leaves nothing to analyse"):
        staggered_did(panel.assign(employment_rate=np.nan), **STAG, missing="drop")
    every_unit = _with_nan(panel, "employment_rate", list(range(0, len(panel), 6)))
    with pytest.raises(MissingDataError, match="every unit of 'area' has a missing value"):
        staggered_did(every_unit, **STAG, missing="drop")


# ---------------------------------------------------------------- bad input (point 4)


def test_staggered_unit_none_names_the_argument(panel: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match=r"The 'unit' parameter of staggered_did must name a column of "
                       r"data; got None\. Fix: pass the column holding the unit identifiers.*panel=False with unit= the area"):
        staggered_did(panel, **{**STAG, "unit": None})


@pytest.mark.parametrize("param", ["outcome", "time", "cohort"])
def test_staggered_required_columns_none(panel: pd.DataFrame, param: str) -> None:
    with pytest.raises(OptionError, match=rf"The '{param}' parameter of staggered_did must name a column"):
        staggered_did(panel, **{**STAG, param: None})


@pytest.mark.parametrize("param", ["outcome", "time", "treated"])
def test_did_required_columns_none(panel: pd.DataFrame, param: str) -> None:
    with pytest.raises(OptionError, match=rf"The '{param}' parameter of did must name a column"):
        did(panel, **{**DID, param: None})


@pytest.mark.parametrize("func,kw", [(did, DID), (staggered_did, STAG)], ids=["did", "staggered_did"])
def test_bad_input_is_a_pinned_error(panel: pd.DataFrame, func, kw) -> None:  # type: ignore[no-untyped-def]
    name = func.__name__
    with pytest.raises(ColumnError, match=rf"{name}: column 'nope' \(outcome\) is not in the data"):
        func(panel, **{**kw, "outcome": "nope"})
    mixed = panel.assign(month=panel["month"].astype(object).where(panel["month"] != 2, "two"))
    with pytest.raises(ColumnError, match=rf"{name}: column 'month' \(time\) must hold values that can be "
                       "sorted.*mixes int, str"):
        func(mixed, **kw)
    with pytest.raises(ColumnError, match=rf"{name}: columns 'area' \(unit\) and 'month' \(time\) must "
                       r"identify each row once, but 3 unit-period pair\(s\)"):
        func(pd.concat([panel, panel.head(3)]), **kw)
    with pytest.raises(DesignError, match=rf"{name}: column 'month' \(time\) holds a single period"):
        func(panel[panel["month"] == 4], **kw)
    with pytest.raises(ColumnError, match=rf"{name}: column 'employment_rate' \(outcome\) appears 2 times"):
        func(pd.concat([panel, panel[["employment_rate"]]], axis=1), **kw)
    with pytest.raises(DesignError, match=rf"{name}: column 'r' \(cluster\) holds a single cluster"):
        func(panel.assign(r=1), **kw, cluster="r")
    with pytest.raises(ColumnError, match=rf"{name}: column 'employment_rate' \(outcome\) must be numeric"):
        func(panel.assign(employment_rate="x"), **kw)


def test_no_treated_units(panel: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="did: no row is treated, so there is no effect to estimate"):
        did(panel.assign(d=0), **DID)
    with pytest.raises(DesignError, match="staggered_did: no unit is ever treated"):
        staggered_did(panel.assign(cohort=0), **STAG)


def test_text_periods_that_are_not_the_cohorts(panel: pd.DataFrame) -> None:
    text = panel.assign(month="m" + panel["month"].astype(str))
    with pytest.raises(DesignError, match=r"staggered_did: cohort value\(s\) 3, 5 of column 'cohort' are "
                       "not periods of 'month'"):
        staggered_did(text, **STAG)


def test_constant_outcome_is_refused(panel: pd.DataFrame) -> None:
    """A constant outcome gave an estimate 0 with SE 0 (NaN tests) silently."""
    with pytest.raises(DesignError, match=r"did: column 'employment_rate' \(outcome\) is constant"):
        did(panel.assign(employment_rate=1.0), **DID)
    with pytest.raises(DesignError, match=r"staggered_did: column 'employment_rate' \(outcome\) is constant"):
        staggered_did(panel.assign(employment_rate=1.0), **STAG)


def test_overflowing_outcome_is_refused(panel: pd.DataFrame) -> None:
    """Outcomes near the largest double gave an infinite SE silently."""
    # refused up front, in the shared column checks (values whose squares overflow)
    with pytest.raises(ColumnError, match=r"did: column 'employment_rate' \(outcome\) is too large "
                       r"to compute with.*Fix: rescale the column"):
        did(panel.assign(employment_rate=panel["employment_rate"] * 1e300), **DID)


def test_every_treated_unit_too_early(panel: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="every treated unit is first treated in the first period or "
                       "within anticipation=5 of it"):
        staggered_did(panel, **STAG, anticipation=5)


def test_with_se_on_a_single_cluster_names_it(panel: pd.DataFrame) -> None:
    res = did(panel, **DID)
    with pytest.raises(DesignError, match=r"Effect.with_se: column 'r' \(cluster\) holds a single cluster"):
        res.with_se("CR1", cluster=panel.assign(r=1)["r"])
