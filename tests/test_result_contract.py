"""One contract test over every public result class (the scikit-learn idea of one
conformance test run over every estimator).

Every result is a frozen dataclass, frozen all the way down (no mutable dict,
list, set, writable array or pandas object reachable from a field, no closure
and no reference to the caller's data), with ``to_frame()`` (a new DataFrame
each time), ``summary()`` (``str(result)``), ``_repr_html_()``, and, wherever it
has intervals, ``conf_int(alpha=None)`` returning a DataFrame that starts with
``term, conf_low, conf_high``. A result pickles and comes back equal.

The classes are discovered, not listed: a new result class without a factory
here fails :func:`test_every_result_class_has_a_factory`.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import pickle
import pkgutil
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval._core.contract import (
    INTERVAL_COLUMNS,
    FrozenMapping,
    ReadOnlyTable,
    Refit,
    ResultMixin,
)

# --------------------------------------------------------------------------- data


def _trial(n: int = 240, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    site = np.repeat(["a", "b", "c", "d"], n // 4)
    office = np.repeat(np.arange(24), n // 24)
    arm = np.where(office % 2 == 0, "control", "treatment")
    z = (arm == "treatment").astype(float)
    received = (rng.random(n) < 0.1 + 0.6 * z).astype(int)
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * received + x + rng.normal(size=n)
    responded = (rng.random(n) < 0.8 + 0.05 * z).astype(int)
    return pd.DataFrame({
        "id": np.arange(n), "site": site, "office": office, "arm": arm, "received": received,
        "x": x, "age": rng.integers(18, 65, size=n), "y": y,
        "employed": (y > 1.5).astype(int), "earnings": np.where(responded == 1, y * 100, np.nan),
        "responded": responded, "cost": 1000.0,
    })


@functools.cache
def trial() -> pd.DataFrame:
    return _trial()


@functools.cache
def panel() -> pd.DataFrame:
    return de.datasets.area_rollout(n_areas=24, periods=8, cohorts=(4, 6), seed=3)


def _cace() -> de.Effect:
    return de.cace(trial(), outcome="y", assigned="arm", received="received")


def _attrition() -> Any:
    return de.attrition(trial(), responded="responded", assigned="arm", covariates=["x"])


def _flags() -> pd.DataFrame:
    people = pd.DataFrame({
        "id": np.arange(40), "arm": np.tile(["control", "treatment"], 20),
        "randomised_on": pd.Timestamp("2018-01-01"), "site": np.repeat(["North", "South"], 20),
    })
    referrals = pd.DataFrame({
        "id": np.arange(0, 40, 3), "provision": "IPS trial",
        "start_date": pd.Timestamp("2018-02-01"), "end_date": pd.Timestamp("2018-04-01"),
    })
    return de.flag_contamination(people, referrals, similar=["IPS trial"], keep=["site"])


@functools.cache
def _report() -> Any:
    people = de.datasets.whp_like(n=600, seed=1)
    alloc = de.randomise(people, strata="site", seed=2)
    t = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    t = t.merge(de.datasets.whp_outcomes(t, t["arm"], seed=3), on="id")
    plan = de.AnalysisPlan.from_dict({
        "design": {"id": "id", "assigned": "arm", "strata": "stratum"},
        "outcomes": {"primary": ["employed_13_weeks"], "secondary": ["earnings_12m"]},
        "analysis": {"covariates": ["age", "prior_earnings"]},
    })
    return de.analyse(t, plan)


@functools.cache
def _imputation() -> Any:
    return de.multiple_imputation(trial(), impute="earnings", using=["x"], assigned="arm", m=3,
                                  seed=1)


FACTORIES: dict[str, Callable[[], Any]] = {
    "Allocation": lambda: de.randomise(de.datasets.whp_like(n=300, seed=4), strata="site", seed=5),
    "Report": _report,
    "Section": lambda: _report().section("flow"),  # a table without intervals
    "BinaryEffect": lambda: de.binary_effect(
        trial(), outcome="employed", assigned="arm", covariates=["x"], cluster="office"),
    "Effect": lambda: de.itt(trial(), outcome="y", assigned="arm", covariates=["x"]),
    "SurvivalEffect": lambda: de.survival_effect(
        trial().assign(days=lambda d: 1.0 + d["age"], event=lambda d: d["employed"]),
        duration="days", event="event", assigned="arm", horizon=40, cluster="office",
        covariates=["x"]),
    "FirstStage": lambda: _cace().first_stage,
    "ARInterval": lambda: _cace().ar_interval,
    "SensitivityTable": lambda: de.contamination_sensitivity(
        trial().assign(contaminated=lambda d: d["received"] * (d["arm"] == "control")),
        outcome="y", assigned="arm", received="received", contaminated="contaminated"),
    "BalanceTable": lambda: de.balance(trial(), assigned="arm", covariates=["x", "age"]),
    "BalanceTest": lambda: de.balance(trial(), assigned="arm", covariates=["x", "age"]).omnibus[0],
    "PowerResult": lambda: de.mde(n=2000),
    "PowerCurve": lambda: de.power_curve(effect=[0.02, 0.04], baseline_rate=0.2, n=[1000, 2000]),
    "RandomisationTest": lambda: de.randomisation_test(
        trial(), outcome="y", assigned="arm", draws=200, seed=1),
    "BootstrapTest": lambda: de.wild_cluster_bootstrap(
        trial(), outcome="y", assigned="arm", cluster="office", draws=199, seed=1),
    "CostEffectiveness": lambda: de.cost_effectiveness(
        de.itt(trial(), outcome="employed", assigned="arm"), cost_per_participant=1000.0),
    "RomanoWolf": lambda: de.romano_wolf(
        trial(), outcomes=["y", "employed"], assigned="arm", draws=99, seed=1),
    "EventStudy": lambda: de.event_study(
        panel(), outcome="employment_rate", unit="area", time="month", cohort="cohort",
        bootstrap=200, seed=1),
    "StaggeredDid": lambda: de.staggered_did(
        panel(), outcome="employment_rate", unit="area", time="month", cohort="cohort",
        bootstrap=200, seed=1),
    "SyntheticEstimate": lambda: de.synthetic_did(
        pd.DataFrame([(u, t, u / 10 + t + np.sin(u * t)) for u in range(8) for t in range(6)],
                     columns=["area", "year", "y"]).assign(y=lambda d: d.y + 2.0 * ((d.area == 0) & (d.year >= 4))),
        outcome="y", unit="area", time="year", treated_units=[0], treat_time=4, replications=20, seed=1),
    "BaconDecomposition": lambda: de.bacon_decomposition(
        panel(), outcome="employment_rate", unit="area", time="month", cohort="cohort"),
    "WaldTest": lambda: _attrition().covariate_test,
    "ImpactProfile": lambda: de.impact_profile(
        pd.DataFrame({"id": range(8), "arm": ["control", "treatment"] * 4,
                      "randomised_on": "2019-01-10"}),
        employment=pd.DataFrame({"id": [1, 3, 5, 0, 7, 2, 6], "month": ["2019-02"] * 3 + ["2019-03"] * 4,
                                 "earnings": [800.0, 900.0, 1000.0, 700.0, 600.0, 500.0, 400.0]}),
        assigned="arm", months=2, draws=200),
    "Attrition": _attrition,
    "LeeBounds": lambda: de.lee_bounds(
        trial(), outcome="earnings", responded="responded", assigned="arm"),
    "Flow": lambda: de.flow(trial(), assigned="arm", received="received",
                            followed_up="responded"),
    "ContaminationSummary": lambda: de.contamination_summary(_flags(), by="site"),
    "EffectTable": lambda: de.impact_table(
        trial(), outcomes=["y", "employed"], assigned="arm"),
    "Diagnosis": lambda: de.diagnose(de.whp_population(n=400), sims=20, seed=6),
    "MonteCarloCheck": lambda: de.testing.assert_unbiased(
        lambda d: de.itt(d, outcome="y", assigned="arm"),
        lambda rng: _trial(n=48, seed=int(rng.integers(1 << 30))),
        truth=0.5 * 0.6, sims=20, seed=1, significance=1e-9, tolerance=10.0),
    "SelfCheck": lambda: de.selfcheck(["itt_clubsandwich"], verbose=False),
    "Table": lambda: de.compare([de.itt(trial(), outcome="y", assigned="arm"),
                                 de.itt(trial(), outcome="y", assigned="arm", covariates=["x"])]),
    "MultipleImputation": lambda: _imputation(),
    "PooledEffect": lambda: _imputation().fit(de.itt, outcome="earnings", covariates=["x"]),
    "QuantileEffects": lambda: de.quantile_effects(
        trial(), outcome="y", assigned="arm", quantiles=[0.25, 0.5, 0.75], draws=49, seed=3),
    "TippingPoint": lambda: de.tipping_point(_imputation(), de.itt, outcome="earnings",
                                             deltas=[-50.0, 0.0, 50.0]),
    "HonestDid": lambda: de.honest_did(betahat=np.array([0.01, -0.01, 0.05, 0.06]),
                                       sigma=np.eye(4) * 1e-4, num_pre=2, num_post=2, m=[0.0, 0.01]),
    "PretrendPower": lambda: de.pretrend_power(betahat=np.zeros(3), sigma=np.eye(3) * 1e-4,
                                               num_pre=2, num_post=1, slope=0.01, draws=5_000),
}


def _result_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for mod in pkgutil.walk_packages(de.__path__, "dwp_eval."):
        module = importlib.import_module(mod.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, ResultMixin) and obj is not ResultMixin
                    and obj.__module__ == module.__name__ and not name.startswith("_")):
                found[name] = obj
    return found


RESULT_CLASSES = _result_classes()


def test_every_result_class_has_a_factory() -> None:
    assert set(RESULT_CLASSES) <= set(FACTORIES), sorted(set(RESULT_CLASSES) - set(FACTORIES))
    assert len(RESULT_CLASSES) >= 24


@functools.cache
def made(name: str) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FACTORIES[name]()


# --------------------------------------------------------------------------- frozen all the way down


def _walk(value: Any, path: str, seen: set[int]) -> Iterator[str]:
    """Paths to anything mutable (or holding the caller's data) reachable from ``value``."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if value is None or isinstance(value, str | bytes | int | float | complex | bool | np.generic):
        return
    if isinstance(value, np.ndarray):
        if value.flags.writeable:
            yield f"{path}: a writable array"
        if value.dtype == object:
            for i, v in enumerate(value.ravel()[:50]):
                yield from _walk(v, f"{path}[{i}]", seen)
        return
    if isinstance(value, ReadOnlyTable):
        return  # hands out copies only
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index):
        if isinstance(value, pd.Index):
            return  # pandas indexes are immutable
        yield f"{path}: a {type(value).__name__}"
        return
    if isinstance(value, dict | list | set | bytearray):
        yield f"{path}: a {type(value).__name__}"
        return
    if isinstance(value, types.MappingProxyType | FrozenMapping):
        for k, v in value.items():
            yield from _walk(v, f"{path}[{k!r}]", seen)
        return
    if isinstance(value, tuple | frozenset):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]", seen)
        return
    if isinstance(value, functools.partial):
        yield f"{path}: a functools.partial (a closure over its arguments)"
        return
    if inspect.isfunction(value):
        if value.__closure__ or value.__name__ == "<lambda>":
            yield f"{path}: a closure"
        return
    if inspect.isclass(value) or inspect.ismodule(value) or isinstance(value, types.BuiltinFunctionType):
        return
    if dataclasses.is_dataclass(value):
        params = getattr(type(value), "__dataclass_params__", None)
        if params is not None and not params.frozen:
            yield f"{path}: a mutable dataclass {type(value).__name__}"
        for f in dataclasses.fields(value):
            if hasattr(value, f.name):
                yield from _walk(getattr(value, f.name), f"{path}.{f.name}", seen)
        return
    if isinstance(value, np.random.Generator):
        yield f"{path}: a random Generator (its state changes)"
        return
    yield f"{path}: an object of type {type(value).__name__} the contract does not know"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_frozen_all_the_way_down(name: str) -> None:
    res = made(name)
    assert type(res).__name__ == name
    assert dataclasses.is_dataclass(res)
    first = dataclasses.fields(res)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, first, getattr(res, first))
    problems = list(_walk(res, name, set()))
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_display_and_tables(name: str) -> None:
    res = made(name)
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) > 0
    assert all(isinstance(c, str) and c == c.lower() and " " not in c for c in frame.columns)
    again = res.to_frame()
    assert again is not frame
    if len(frame):
        frame.iloc[0, 0] = None  # changing the copy changes nothing in the result
        pd.testing.assert_frame_equal(res.to_frame(), again)
    text = res.summary()
    assert isinstance(text, str) and text
    assert str(res) == text
    assert isinstance(res._repr_html_(), str)
    assert isinstance(repr(res), str)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_intervals_are_tables(name: str) -> None:
    res = made(name)
    if not hasattr(res, "conf_int"):
        assert not {"conf_low", "conf_high"} & set(res.to_frame().columns), (
            f"{name} reports intervals but has no conf_int()"
        )
        return
    ci = res.conf_int()
    assert isinstance(ci, pd.DataFrame)
    assert list(ci.columns[:3]) == INTERVAL_COLUMNS
    alpha = getattr(res, "alpha", None)
    if alpha is not None:
        pd.testing.assert_frame_equal(res.conf_int(alpha), ci)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_pickles(name: str) -> None:
    res = made(name)
    back = pickle.loads(pickle.dumps(res))
    assert type(back) is type(res)
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())
    assert not list(_walk(back, name, set()))


# --------------------------------------------------------------------------- the caller's data


@pytest.mark.parametrize("estimator", ["itt", "cace", "did"])
def test_changing_the_callers_frame_changes_nothing(estimator: str) -> None:
    """The result keeps read-only copies of the prepared arrays, so neither the
    result nor with_se sees later changes to the caller's DataFrame (before, with_se
    re-read the caller's frame and returned another point estimate)."""
    if estimator == "did":
        data = panel().copy()
        res = de.did(data, outcome="employment_rate", unit="area", time="month",
                     treated="treated")
        column = "employment_rate"
    else:
        data = trial().copy()
        if estimator == "itt":
            res = de.itt(data, outcome="y", assigned="arm", covariates=["x"])
        else:
            res = de.cace(data, outcome="y", assigned="arm", received="received")
        column = "y"
    before = res.to_frame()
    hc1_before = res.with_se("HC1" if estimator != "did" else "CR2").to_frame()
    data[column] = data[column] * 10 + 5
    data.loc[data.index[:5], column] = np.nan
    pd.testing.assert_frame_equal(res.to_frame(), before)
    pd.testing.assert_frame_equal(
        res.with_se("HC1" if estimator != "did" else "CR2").to_frame(), hc1_before)


def _prepared_bytes(res: de.Effect) -> int:
    sample = res._refit.sample  # type: ignore[union-attr]
    arrays = [sample.y, sample.z, sample.strata, sample.cluster, sample.weights]
    total = sum(a.nbytes for a in arrays if a is not None)
    total += sample.covariates.copy().to_numpy().nbytes
    total += sample.index.memory_usage()
    return int(total)


def test_a_result_pickles_to_its_prepared_arrays() -> None:
    """200,000 rows and 30 columns the estimate does not use: the pickle holds the
    prepared arrays (outcome, arm, covariates) and nothing of the unused columns."""
    rng = np.random.default_rng(0)
    n = 200_000
    data = pd.DataFrame({f"unused_{j}": rng.normal(size=n) for j in range(30)})
    data["arm"] = np.where(rng.random(n) < 0.5, "control", "treatment")
    data["x"] = rng.normal(size=n)
    data["y"] = rng.normal(size=n)
    res = de.itt(data, outcome="y", assigned="arm", covariates=["x"])
    size = len(pickle.dumps(res))
    need = _prepared_bytes(res)
    assert size <= 1.05 * need + 20_000, (size, need)
    assert size < data.memory_usage(deep=True).sum() / 10


def test_with_se_takes_the_cluster_column_not_its_name() -> None:
    data = trial()
    res = de.itt(data, outcome="y", assigned="arm")
    with pytest.raises(de.errors.OptionError, match=r"a column name, but a result keeps no copy of "
                       r"the caller's data to look it up in\. Fix: pass the column itself, e\.g\. "
                       r"cluster=df\['office'\]"):
        res.with_se("CR2", cluster="office")
    by_series = res.with_se("CR2", cluster=data["office"])
    by_array = res.with_se("CR2", cluster=data["office"].to_numpy())
    direct = de.itt(data, outcome="y", assigned="arm", cluster="office")
    assert by_series.std_error == pytest.approx(direct.std_error, rel=1e-12)
    assert by_array.std_error == by_series.std_error
    assert by_series.estimate == pytest.approx(res.estimate, rel=1e-12)


def test_refit_is_a_module_level_kernel() -> None:
    res = de.itt(trial(), outcome="y", assigned="arm")
    assert isinstance(res._refit, Refit)
    assert inspect.isfunction(res._refit.kernel) and not res._refit.kernel.__closure__
