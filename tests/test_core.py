"""The ground floor's own behaviour and messages: frozen containers, the Wald test's
invalid state, and the errors a result's intervals and with_se give."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import dwp_eval as de
from dwp_eval._core.contract import FrozenMapping, ReadOnlyTable, freeze, thaw, to_plain
from dwp_eval._core.wald import wald_test
from dwp_eval.errors import MissingDataError, OptionError

# The Wald statistic against statsmodels' on the same coefficients and covariance:
# the same quadratic form, so only rounding differs.
RTOL = 1e-10


def _trial(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    office = np.repeat(np.arange(12), n // 12)
    arm = np.where(office % 2 == 0, "control", "treatment")
    received = (rng.random(n) < 0.1 + 0.6 * (arm == "treatment")).astype(int)
    return pd.DataFrame({"office": office, "arm": arm, "received": received,
                         "x": rng.normal(size=n), "y": rng.normal(size=n) + 0.5 * received})


# ------------------------------------------------------------------ frozen containers


def test_freeze_copies_and_locks_everything() -> None:
    arr = np.arange(4.0)
    data = {"a": [1, 2], "b": {"c": arr}, "d": pd.DataFrame({"x": [1.0]})}
    frozen = freeze(data)
    arr[0] = 99.0  # the caller's array changes; the frozen copy does not
    assert isinstance(frozen, FrozenMapping) and frozen["a"] == (1, 2)
    assert frozen["b"]["c"][0] == 0.0 and not frozen["b"]["c"].flags.writeable
    assert isinstance(frozen["d"], ReadOnlyTable)
    assert repr(frozen["a"]) == "(1, 2)" and repr(FrozenMapping({"k": 1})) == "{'k': 1}"
    assert thaw(frozen)["b"] == {"c": frozen["b"]["c"]}
    assert to_plain(frozen)["a"] == [1, 2]
    back = pickle.loads(pickle.dumps(frozen))
    assert isinstance(back, FrozenMapping) and back["a"] == (1, 2)
    np.testing.assert_array_equal(back["b"]["c"], frozen["b"]["c"])


def test_frozen_containers_refuse_changes() -> None:
    table = ReadOnlyTable(pd.DataFrame({"x": [1.0, 2.0]}))
    with pytest.raises(AttributeError, match=r"a ReadOnlyTable cannot be changed; take \.copy\(\) first"):
        table.x = 3  # type: ignore[attr-defined]
    copy = table.copy()
    copy.loc[0, "x"] = 5.0
    assert table["x"].tolist() == [1.0, 2.0] and len(table) == 2
    mapping = FrozenMapping({"a": 1})
    with pytest.raises(AttributeError, match=r"a FrozenMapping cannot be changed; take dict\(\.\.\.\) of it first"):
        mapping.a = 2  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        mapping["a"] = 2  # type: ignore[index]


# ------------------------------------------------------------------ the Wald test


def test_wald_test_equals_statsmodels_f_test() -> None:
    d = _trial()
    X = sm.add_constant(d[["x", "received"]].astype(float))
    fit = sm.OLS(d["y"], X).fit(cov_type="HC1")
    ours = wald_test(fit.params.to_numpy(), fit.cov_params().to_numpy(), [1, 2],
                     names=list(X.columns), name="joint", se_type="HC1", df_denom=fit.df_resid)
    theirs = fit.wald_test(np.eye(3)[1:], use_f=True, scalar=True)
    assert ours.statistic == pytest.approx(float(theirs.statistic), rel=RTOL)
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-8)
    assert ours.reference == f"F(2, {int(fit.df_resid)})" and ours.null == "x = received = 0"


def test_wald_test_chi2_and_hotelling_references() -> None:
    b, V = np.array([1.0, -0.5]), np.array([[0.5, 0.1], [0.1, 0.4]])
    w = float(b @ np.linalg.solve(V, b))
    chi2 = wald_test(b, V, [0, 1], names=["a", "b"], name="t", se_type="HC2")
    assert chi2.statistic == pytest.approx(w) and chi2.p_value == pytest.approx(stats.chi2.sf(w, 2))
    hot = wald_test(b, V, [0, 1], names=["a", "b"], name="t", se_type="CR2", hotelling=10)
    assert hot.statistic == pytest.approx(w * 8 / (2 * 9)) and hot.reference == "F(2, 8), Hotelling"


def test_a_singular_covariance_gives_an_invalid_test_with_its_reason() -> None:
    res = wald_test(np.array([1.0, 2.0]), np.zeros((2, 2)), [0, 1], names=["a", "b"],
                    name="joint", se_type="HC2", df_denom=50)
    assert not res.valid and np.isnan(res.statistic) and np.isnan(res.p_value)
    assert res.reason == "the HC2 covariance of the tested coefficients is singular"
    assert res.summary() == "joint: not computed (the HC2 covariance of the tested coefficients is singular)"
    nan = wald_test(np.array([np.nan]), np.eye(1), [0], names=["a"], name="t", se_type="HC2")
    assert nan.reason == "the estimates or their covariance are not finite"


# ------------------------------------------------------------------ with_se and intervals


def test_with_se_cluster_labels_are_checked() -> None:
    d = _trial()
    res = de.itt(d, outcome="y", assigned="arm")
    with pytest.raises(OptionError, match=re.escape(
            "The 'cluster' parameter of Effect.with_se has 5 values, but the result analysed 120 "
            "rows. Fix: pass one label per analysed row")):
        res.with_se("CR2", cluster=np.arange(5))
    with pytest.raises(OptionError, match=re.escape(
            "The 'cluster' parameter of Effect.with_se has no value for 20 analysed row(s) (e.g. "
            "index 100, 101, 102). Fix: pass the column of the data the result was estimated from.")):
        res.with_se("CR2", cluster=d["office"].iloc[:100])
    labels = d["office"].astype(float)
    labels.iloc[3] = np.nan
    with pytest.raises(MissingDataError, match=re.escape(
            "Effect.with_se: the cluster labels have 1 missing value(s) among the analysed rows.")):
        res.with_se("CR2", cluster=labels)
    with pytest.raises(OptionError, match=r"is a Series whose index does not identify the analysed rows once each"):
        res.with_se("CR2", cluster=pd.Series(d["office"].to_numpy(), index=[0] * len(d)))


def test_intervals_at_their_own_level_only() -> None:
    d = _trial().assign(contaminated=lambda f: f["received"] * (f["arm"] == "control"))
    cace = de.cace(d, outcome="y", assigned="arm", received="received")
    with pytest.raises(OptionError, match=re.escape(
            "ARInterval.conf_int: this set is at alpha = 0.05; another level needs a new set. "
            "Fix: re-run cace(..., alpha=...).")):
        cace.ar_interval.conf_int(0.1)
    table = de.contamination_sensitivity(d, outcome="y", assigned="arm", received="received",
                                         contaminated="contaminated")
    with pytest.raises(OptionError, match=re.escape(
            "SensitivityTable.conf_int: this table is at alpha = 0.05; another level needs a new "
            "table.")):
        table.conf_int(0.1)


def test_an_inverted_test_without_its_draws_says_so() -> None:
    res = de.randomisation_test(_trial(), outcome="y", assigned="arm", draws=99, seed=1)
    import dataclasses

    bare = dataclasses.replace(res, _pfun=None)
    with pytest.raises(OptionError, match=re.escape(
            "RandomisationTest: this result was not made by randomisation_test, so it has no "
            "p-value function.")):
        bare.p_value_at(0.0)
    assert bare.interval() == res.interval()  # the result's own level needs no draws
