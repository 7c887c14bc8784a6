"""did and staggered_did on Dask and Spark DataFrames: the same result as on pandas.

Tolerance: 1e-10 relative. The engine paths add the same numbers in another order
(per partition, per cluster), so they agree with pandas to rounding (~1e-13 measured).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwp_eval import did
from dwp_eval.datasets.card_krueger import card_krueger
from dwp_eval.datasets.rollout import area_rollout
from dwp_eval.errors import ColumnError, MissingDataError, OptionError

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


@pytest.mark.parametrize("opts", [
    {},
    {"cluster": "region", "covariates": ["x"]},
    {"se_type": "CR0"},
])
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


def test_did_errors(engine_frame, rollout) -> None:
    frame = engine_frame(rollout)
    with pytest.raises(ColumnError, match="no column 'employment'"):
        did(frame, outcome="employment", unit="area", time="month", treated="treated")
    with pytest.raises(OptionError, match="se_type='CR2' is not supported on a .* DataFrame.*Fix"):
        did(frame, outcome="employment_rate", unit="area", time="month", treated="treated", se_type="CR2")
    with pytest.raises(OptionError, match="unit=None"):
        did(frame, outcome="employment_rate", unit=None, time="month", treated="treated", post="treated")
    gap = rollout.assign(employment_rate=rollout["employment_rate"].where(rollout["month"] != 3))
    with pytest.raises(MissingDataError, match="'employment_rate' \\(outcome\\) has 40 missing"):
        did(engine_frame(gap), outcome="employment_rate", unit="area", time="month", treated="treated")
