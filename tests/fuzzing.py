"""A fuzzer over the public estimators: random small trial frames with the
inputs real data brings (NaN, +/-inf, mixed and nullable dtypes, categorical,
bool and numeric arms, empty and one-row frames, single-arm strata, collinear
covariates, constant outcomes, huge values, duplicate index labels).

Every call must either return a result whose numbers are finite (and which
counts every row it did not use) or raise a :class:`dwp_eval.DwpEvalError`:
never a foreign exception, never a silent NaN, never a silent row loss, and
never a "significant" effect on a constant outcome.

``tests/test_fuzz.py`` drives :func:`run_case` with hypothesis (bounded
examples in ``make test``); ``python tests/fuzzing.py --calls 5000`` draws cases
at random and prints the tally the closing notes report.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import dwp_eval as de
import fuzzing_calls
from dwp_eval.errors import DwpEvalError
from fuzzing_calls import Finding

ARM_KINDS = (
    "str", "int", "float", "bool", "category", "three", "one_arm", "nullable", "string",
    "boolean",
)
Y_KINDS = (
    "normal", "constant", "constant_in_arms", "binary", "nan", "inf", "huge", "tiny",
    "int", "nullable", "object", "one_per_arm", "huge300", "Int64", "boolean",
)
STRATA_KINDS = ("none", "few", "single_arm", "one_each", "list")
COVARIATE_KINDS = ("none", "normal", "collinear", "constant", "outcome", "nan", "huge", "huge300")
CLUSTER_KINDS = ("none", "aligned", "crossed", "one")
WEIGHT_KINDS = ("none", "positive", "zero", "negative", "nan")
INDEX_KINDS = ("range", "duplicate", "strings", "nonunique", "dup_column")
# Take-up, contamination and response: random, or 0% / 100% for everyone.
RATE_KINDS = ("random", "zero", "all")
CALLS = (
    "itt", "itt_ols", "cace", "balance", "attrition", "flow", "impact_table", "lee_bounds",
    "randomisation_test", "wild_cluster_bootstrap", "randomise", "allocation_round_trip",
    "contamination_summary", "did", "power", "staggered_did", "derive_outcomes", "take_up",
    "mde", "power_effect", "contamination_sensitivity",
)
ID_KINDS = (
    "int", "float", "uint64", "str", "datetime", "nullable", "category", "mixed", "string",
)
SIZES = (0, 1, 2, 3, 4, 6, 10, 20, 20, 40, 40, 40)
OUTCOMES = ("correct", "clear_error", "foreign", "silent_nan", "silent_wrong", "row_loss")


@dataclass(frozen=True)
class Case:
    """One fuzzed call: what to call and the kinds of data it gets."""

    call: str
    n: int
    arm: str
    y: str
    strata: str
    covariates: str
    cluster: str
    weights: str
    index: str
    missing: str
    seed: int
    ids: str = "int"
    rate: str = "random"


def random_case(rng: np.random.Generator, plain: float = 0.5) -> Case:
    """A case drawn at random (the tally script's counterpart of the hypothesis strategy)."""

    def pick(options: tuple[str, ...]) -> str:
        # With probability ``plain`` the plain first option, so that enough calls reach
        # the estimator.
        if rng.random() < plain:
            return options[0]
        return str(options[int(rng.integers(len(options)))])

    return Case(
        call=str(CALLS[int(rng.integers(len(CALLS)))]),
        n=int(rng.choice(SIZES)),
        arm=pick(ARM_KINDS),
        y=pick(Y_KINDS),
        strata=pick(STRATA_KINDS),
        covariates=pick(COVARIATE_KINDS),
        cluster=pick(CLUSTER_KINDS),
        weights=pick(WEIGHT_KINDS),
        index=pick(INDEX_KINDS),
        missing=pick(("raise", "drop")),
        seed=int(rng.integers(2**31)),
        ids=pick(ID_KINDS),
        rate=pick(RATE_KINDS),
    )


# -- data ---------------------------------------------------------------------------


def _arms(case: Case, rng: np.random.Generator) -> tuple[pd.Series, Any, Any]:
    """The arm column and the control and treatment labels a user would pass."""
    n = case.n
    z = rng.integers(0, 2, size=n)
    if n >= 2:
        z[0], z[1] = 0, 1
    if case.arm == "str":
        return pd.Series(np.where(z == 1, "treatment", "control")), "control", "treatment"
    if case.arm == "int":
        return pd.Series(z.astype(np.int64)), 0, 1
    if case.arm == "float":
        return pd.Series(z.astype(float)), 0, 1
    if case.arm == "bool":
        return pd.Series(z.astype(bool)), False, True
    if case.arm == "category":
        labels = np.where(z == 1, "offered", "not offered")
        return pd.Series(pd.Categorical(labels)), "not offered", "offered"
    if case.arm == "three":
        z3 = rng.integers(0, 3, size=n)
        labels = np.array(["control", "a", "b"])[z3]
        return pd.Series(labels), "control", "a"
    if case.arm == "one_arm":
        return pd.Series(np.repeat("control", n)), "control", "treatment"
    if case.arm == "string":
        labels = np.where(z == 1, "treatment", "control")
        return pd.Series(pd.array(labels, dtype="string[python]")), "control", "treatment"
    if case.arm == "boolean":
        return pd.Series(pd.array(z.astype(bool), dtype="boolean")), False, True
    return pd.Series(pd.array(z, dtype="Int64")), 0, 1


def _ids(kind: str, n: int) -> Any:
    """Person ids of the types real files bring."""
    base = np.arange(1, n + 1) * 3
    if kind == "float":  # integral floats, as after a CSV with a blank cell
        return base.astype(float)
    if kind == "uint64":
        return np.uint64(2**63) + base.astype(np.uint64)
    if kind == "str":
        return np.array([f"P{v:05d}" for v in base], dtype=object)
    if kind == "datetime":
        return pd.date_range("2020-01-01", periods=n, freq="D").to_numpy()
    if kind == "nullable":
        return pd.array(base, dtype="Int64")
    if kind == "category":
        return pd.Categorical([f"c{v}" for v in base])
    if kind == "mixed":
        return np.array([v if v % 2 else str(v) for v in base], dtype=object)
    if kind == "string":
        return pd.array([f"S{v}" for v in base], dtype="string[python]")
    return base


def _outcome(case: Case, rng: np.random.Generator, z: np.ndarray) -> pd.Series:
    n = case.n
    y = rng.normal(size=n) + 0.3 * z
    kind = case.y
    if kind == "constant":
        return pd.Series(np.full(n, 3.5))
    if kind == "constant_in_arms":
        return pd.Series(np.where(z == 1, 2.0, 1.0))
    if kind == "binary":
        return pd.Series((rng.random(n) < 0.4).astype(np.int64))
    if kind == "nan":
        y[rng.random(n) < 0.3] = np.nan
    elif kind == "inf":
        if n:
            y[int(rng.integers(n))] = np.inf if rng.random() < 0.5 else -np.inf
    elif kind == "huge":
        y = y * 1e150
    elif kind == "tiny":
        y = 1e6 + y * 1e-9
    elif kind == "int":
        return pd.Series(rng.integers(0, 100, size=n))
    elif kind == "nullable":
        s = pd.Series(pd.array(np.round(y, 3), dtype="Float64"))
        if n:
            s.iloc[int(rng.integers(n))] = pd.NA
        return s
    elif kind == "object":
        values: list[Any] = [f"{v:.3f}" for v in y]
        if n:
            values[int(rng.integers(n))] = "n/a"
        return pd.Series(values, dtype=object)
    elif kind == "one_per_arm":
        return pd.Series(y)
    elif kind == "huge300":  # huge but finite: squares and sums overflow
        y = (1.0 + 0.1 * y) * 1e300
    elif kind == "Int64":
        s = pd.Series(pd.array(rng.integers(0, 5, size=n), dtype="Int64"))
        if n > 2:
            s.iloc[int(rng.integers(n))] = pd.NA
        return s
    elif kind == "boolean":
        return pd.Series(pd.array(rng.random(n) < 0.5, dtype="boolean"))
    return pd.Series(y)


def make_frame(case: Case) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The data frame for ``case`` and the keyword arguments naming its columns."""
    rng = np.random.default_rng(case.seed)
    n = case.n if case.y != "one_per_arm" else min(case.n, 2)
    case = Case(**{**case.__dict__, "n": n})
    arm, control, treatment = _arms(case, rng)
    z = np.asarray(arm.astype(str) == str(treatment), dtype=float)
    df = pd.DataFrame({"id": _ids(case.ids, n), "arm": arm.to_numpy()})
    df["y"] = _outcome(case, rng, z).to_numpy()
    received = (rng.random(n) < 0.2 + 0.6 * z).astype(np.int64)
    responded = (rng.random(n) < 0.8).astype(np.int64)
    if case.rate == "zero":  # nobody takes up, nobody in control is contaminated
        received = np.zeros(n, dtype=np.int64)
    elif case.rate == "all":  # everyone takes up (every control contaminated), all respond
        received, responded = np.ones(n, dtype=np.int64), np.ones(n, dtype=np.int64)
    df["d"] = received
    df["r"] = responded
    df["contaminated"] = ((1 - z) * received).astype(np.int64)
    df["g"] = rng.choice(np.array(["a", "b"]), size=n)
    kwargs: dict[str, Any] = {"control": control, "treatment": treatment}
    if case.strata == "few":
        df["s"] = rng.choice(np.array(["s1", "s2", "s3"]), size=n)
        kwargs["strata"] = "s"
    elif case.strata == "single_arm":
        df["s"] = np.where(z == 1, "only_treated", "mixed")
        if n >= 4:
            df.loc[df.index[:2], "s"] = "mixed"
        kwargs["strata"] = "s"
    elif case.strata == "one_each":
        df["s"] = np.arange(n).astype(str)
        kwargs["strata"] = "s"
    elif case.strata == "list":
        df["s"] = rng.choice(np.array(["s1", "s2"]), size=n)
        df["s2"] = rng.choice(np.array(["u", "v"]), size=n)
        kwargs["strata"] = ["s", "s2"]
    x1 = rng.normal(size=n)
    if case.covariates == "normal":
        df["x1"], df["x2"] = x1, rng.normal(size=n)
    elif case.covariates == "collinear":
        df["x1"], df["x2"] = x1, 2 * x1 + 1
    elif case.covariates == "constant":
        df["x1"], df["x2"] = x1, np.ones(n)
    elif case.covariates == "outcome":
        df["x1"], df["x2"] = df["y"], x1
    elif case.covariates == "nan":
        x1[rng.random(n) < 0.3] = np.nan
        df["x1"], df["x2"] = x1, rng.normal(size=n)
    elif case.covariates == "huge":
        df["x1"], df["x2"] = x1 * 1e200, rng.normal(size=n)
    elif case.covariates == "huge300":
        df["x1"], df["x2"] = (1.0 + 0.1 * x1) * 1e300, rng.normal(size=n)
    if case.covariates != "none":
        kwargs["covariates"] = ["x1", "x2"]
    if case.cluster == "aligned":
        # np.char.add: NumPy < 2 cannot add arrays of str with +
        df["c"] = np.char.add(np.where(z == 1, "t", "c"), (np.arange(n) % 3).astype(str))
        kwargs["cluster"] = "c"
    elif case.cluster == "crossed":
        df["c"] = (np.arange(n) % 4).astype(str)
        kwargs["cluster"] = "c"
    elif case.cluster == "one":
        df["c"] = "all"
        kwargs["cluster"] = "c"
    if case.weights != "none":
        w = rng.uniform(0.5, 2.0, size=n)
        if case.weights == "zero" and n:
            w[0] = 0.0
        elif case.weights == "negative" and n:
            w[0] = -1.0
        elif case.weights == "nan" and n:
            w[0] = np.nan
        df["w"] = w
        kwargs["weights"] = "w"
    if case.index == "duplicate" and n >= 2:
        df.index = np.zeros(n, dtype=np.int64)
    elif case.index == "strings":
        df.index = [f"r{i}" for i in range(n)]
    elif case.index == "nonunique" and n >= 3:
        df.index = np.arange(n) // 2
    elif case.index == "dup_column":  # two columns share a name the call uses
        name = ("y", "arm", "id", "d")[case.seed % 4]
        df = pd.concat([df, df[[name]]], axis=1)
    return df, kwargs


def _panel(case: Case) -> pd.DataFrame:
    rng = np.random.default_rng(case.seed)
    units = max(case.n // 2, 0)
    periods = 1 + int(rng.integers(1, 4))
    frame = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(units), periods),
            "period": np.tile(np.arange(periods), units),
        }
    )
    treated_units = rng.random(units) < 0.5
    frame["treated"] = treated_units[frame["unit"]].astype(np.int64) if units else []
    frame["post"] = (frame["period"] >= periods - 1).astype(np.int64)
    frame["region"] = (frame["unit"] % 3).astype(str)
    z = frame["treated"].to_numpy() * frame["post"].to_numpy()
    sub = Case(**{**case.__dict__, "n": len(frame)})
    frame["y"] = _outcome(sub, rng, z).to_numpy()
    if case.missing == "drop" and len(frame):
        frame = frame.sample(frac=0.8, random_state=case.seed % 1000)
    return frame


def _outcome_values(case: Case, n: int, rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    return _outcome(Case(**{**case.__dict__, "n": n}), rng, z).to_numpy()


# -- calls ----------------------------------------------------------------------------


def _call(case: Case, df: pd.DataFrame, kw: dict[str, Any]) -> Any:
    control, treatment = kw["control"], kw["treatment"]
    common = {"assigned": "arm", "control": control}
    strata = kw.get("strata")
    cluster = kw.get("cluster")
    covariates = kw.get("covariates")
    if case.call in ("itt", "itt_ols"):
        return de.itt(
            df, outcome="y", **common, treatment=treatment, covariates=covariates,
            strata=strata, cluster=cluster, weights=kw.get("weights"), missing=case.missing,
            estimator="ols" if case.call == "itt_ols" else None,
        )
    if case.call == "cace":
        return de.cace(
            df, outcome="y", **common, treatment=treatment, received="d",
            covariates=covariates, strata=strata, cluster=cluster, missing=case.missing,
        )
    if case.call == "balance":
        return de.balance(
            df, **common, covariates=covariates or ["y"], strata=strata, cluster=cluster,
        )
    if case.call == "attrition":
        return de.attrition(
            df, **common, treatment=treatment, responded="r", covariates=covariates,
            strata=strata, cluster=cluster,
        )
    if case.call == "flow":
        return de.flow(df, **common, received="d", followed_up="r", outcome="y")
    if case.call == "impact_table":
        return de.impact_table(
            df, outcomes=["y", "d"], **common, treatment=treatment, covariates=covariates,
            strata=strata, cluster=cluster, by="g" if case.seed % 2 else None,
            missing=case.missing, draws=50, seed=1,
        )
    if case.call == "lee_bounds":
        return de.lee_bounds(df, outcome="y", **common, treatment=treatment, responded="r")
    if case.call == "randomisation_test":
        return de.randomisation_test(
            df, outcome="y", **common, treatment=treatment, strata=strata, cluster=cluster,
            draws=50, seed=1, missing=case.missing,
        )
    if case.call == "wild_cluster_bootstrap":
        return de.wild_cluster_bootstrap(
            df, outcome="y", **common, treatment=treatment, covariates=covariates,
            cluster=cluster or "g", strata=strata, draws=99, seed=1, missing=case.missing,
        )
    if case.call == "randomise":
        return de.randomise(df, id="id", strata=strata, cluster=cluster, seed=case.seed)
    if case.call == "allocation_round_trip":
        allocation = de.randomise(df, id="id", strata=strata, seed=case.seed)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "allocation.csv"
            allocation.write(path)
            back = de.Allocation.read(path)
        written, read = allocation.to_frame(), back.to_frame()
        if not written.equals(read) or written["id"].dtype != read["id"].dtype:
            return Finding(
                "silent_wrong", f"ids {written['id'].dtype} came back as {read['id'].dtype}"
            )
        back.verify(df)
        return back
    if case.call == "contamination_summary":
        flags = df.assign(contaminated=df["contaminated"].astype(bool))
        if case.y == "constant":  # every control contaminated: a 100% rate
            flags["contaminated"] = True
        return de.contamination_summary(flags, by=["arm"] + (["s"] if strata == "s" else []))
    if case.call == "did":
        panel = _panel(case)
        return de.did(
            panel, outcome="y", unit="unit", time="period", treated="treated", post="post",
            cluster="region" if case.cluster == "crossed" else None,
        )
    if case.call == "staggered_did":
        return fuzzing_calls.staggered_did(case, _outcome_values)
    if case.call == "derive_outcomes":
        return fuzzing_calls.derive_outcomes(case, _ids(case.ids, case.n))
    if case.call == "take_up":
        return fuzzing_calls.take_up(case, _ids(case.ids, len(df)), df, kw)
    if case.call == "mde":
        return fuzzing_calls.mde(case)
    if case.call == "power_effect":
        return fuzzing_calls.power_effect(case)
    if case.call == "contamination_sensitivity":
        return fuzzing_calls.contamination_sensitivity(case, df, kw)
    if case.call == "power":
        rng = np.random.default_rng(case.seed)
        value = float(rng.choice([1e-9, 0.01, 0.2, 0.5, 0.99, 1e300, -1.0, 0.0]))
        return de.sample_size(
            mde=float(rng.choice([0.04, 1e-12, 1e6])), baseline_rate=0.2,
            ratio=value if 0 < value < 1 else 0.5, take_up=value if 0 < value <= 1 else 1.0,
            icc=value if 0 <= value < 1 else None, cluster_size=20 if value < 1 else None,
        )
    raise AssertionError(f"unknown call {case.call}")


# -- judging ------------------------------------------------------------------------

# The numbers of a result that must be finite (or the NaN warned about).
_NUMBER_COLUMNS = (
    "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high", "rate",
    "response_rate", "n_required", "mde", "power",
)
# Calls that test an effect: on a constant outcome they must never find one.
_SIGNIFICANCE_CALLS = (
    "itt", "itt_ols", "cace", "randomisation_test", "wild_cluster_bootstrap", "impact_table",
    "did", "staggered_did", "contamination_sensitivity",
)
# Calls whose result counts the rows it used (n_obs) and the rows it dropped.
_COUNTED_CALLS = ("itt", "itt_ols", "cace", "randomisation_test", "wild_cluster_bootstrap")


def _rows(result: Any) -> list[dict[str, Any]]:
    """The result's numbers, one dict per row (its attributes, then its table)."""
    rows: list[dict[str, Any]] = []
    found: dict[str, Any] = {}
    for name in _NUMBER_COLUMNS:
        value = getattr(result, name, None)
        if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            found[name] = float(value)
    if found:
        rows.append(found)
    to_frame = getattr(result, "to_frame", None)
    if callable(to_frame) and not isinstance(result, pd.DataFrame):
        try:
            table = to_frame()
        except DwpEvalError:
            table = None
        if isinstance(table, pd.DataFrame):
            columns = [c for c in _NUMBER_COLUMNS if c in table.columns]
            for _, record in table.iterrows():
                row = {c: record[c] for c in columns}
                row["outcome"] = record.get("outcome")
                row["note"] = record.get("note", record.get("reason"))
                rows.append(row)
    return rows


def _numbers(result: Any) -> dict[str, float]:
    """The headline numbers of a result, flattened: what must be finite."""
    found: dict[str, float] = {}
    for i, row in enumerate(_rows(result)):
        for name, value in row.items():
            if name in ("outcome", "note") or value is None or value is pd.NA:
                continue
            try:
                found[f"{name}[{i}]"] = float(value)
            except (TypeError, ValueError):
                continue
    return found


def _constant_outcome(case: Case, df: pd.DataFrame) -> bool:
    if case.y == "constant":
        return True
    if "y" not in df or isinstance(df["y"], pd.DataFrame):
        return False
    y = pd.to_numeric(df["y"], errors="coerce").astype(float)
    y = y[np.isfinite(y)]
    return len(y) > 0 and float(y.max() - y.min()) == 0.0


def _significant(rows: list[dict[str, Any]]) -> str | None:
    """Why the rows (for outcome y) claim an effect: p < 0.05 or a CI excluding 0."""
    for row in rows:
        if row.get("outcome") not in (None, "y"):
            continue
        p = row.get("p_value")
        if p is not None and p is not pd.NA and math.isfinite(float(p)) and float(p) < 0.05:
            return f"p = {float(p):.3g}"
        low, high = row.get("conf_low"), row.get("conf_high")
        if low is None or high is None or low is pd.NA or high is pd.NA:
            continue
        low, high = float(low), float(high)
        if math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0):
            return f"interval [{low:.3g}, {high:.3g}] excludes 0"
    return None


def _rows_in(df: pd.DataFrame, kw: dict[str, Any]) -> int | None:
    arm = df.get("arm")
    if not isinstance(arm, pd.Series):
        return None
    return int(arm.isin([kw["control"], kw["treatment"]]).fillna(False).sum())


def _where(error: BaseException) -> str:
    """The innermost library frame an exception passed through (for triage)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "dwp_eval" in f.filename]
    if not frames:
        return "tests"
    frame = frames[-1]
    return f"{frame.filename.split('dwp_eval/')[-1]}:{frame.lineno} {frame.name}"


def judge(case: Case) -> tuple[str, str]:
    """Run one case; return (outcome, detail)."""
    df, kw = make_frame(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _call(case, df, kw)
        except DwpEvalError as error:
            return "clear_error", f"{type(error).__name__}: {str(error)[:120]}"
        except Exception as error:
            return "foreign", f"{type(error).__name__}: {str(error)[:200]} [{_where(error)}]"
    if isinstance(result, Finding):
        return result.outcome, result.reason
    # a NaN is not silent when a warning says why (a dropped-rows count does not)
    warned = any(
        issubclass(w.category, de.DwpEvalWarning) and not issubclass(w.category, de.DroppedRowsWarning)
        for w in caught
    )
    rows = _rows(result)
    numbers = _numbers(result)
    if case.call == "contamination_summary":
        table = result.to_frame()
        for low, high, rate in zip(
            table["conf_low"], table["conf_high"], table["rate"], strict=True
        ):
            if not 0.0 <= low <= rate <= high <= 1.0:
                return "silent_wrong", f"interval [{low}, {high}] around rate {rate}"
    if isinstance(result, de.EffectTable):  # each row: finite numbers, or marked not estimable
        frame = result.to_frame()
        for row in frame.itertuples(index=False):
            if row.not_estimable:
                continue
            values = {c: float(getattr(row, c)) for c in (
                "estimate", "std_error", "p_value", "p_value_adjusted", "conf_low", "conf_high")}
            bad_row = [c for c, v in values.items() if not math.isfinite(v)]
            if bad_row:
                return "silent_nan", f"not finite in row {row.outcome}/{row.subgroup}: {bad_row}"
            if row.outcome == "y" and _constant_outcome(case, df) and values["p_value"] < 0.05:
                return "silent_wrong", f"p = {values['p_value']:.3g} on a constant outcome"
    bad = [name for name, value in numbers.items() if not math.isfinite(value)]
    if isinstance(result, de.EffectTable):  # its rows were judged one by one above
        bad = []
    if bad and not warned:
        return "silent_nan", f"not finite: {', '.join(bad[:4])} ({type(result).__name__})"
    if case.call in _SIGNIFICANCE_CALLS:
        if _constant_outcome(case, df):
            why = _significant(rows)
            if why is not None:
                return "silent_wrong", f"{why} on a constant outcome ({type(result).__name__})"
        zero_se = [
            name for name, value in numbers.items() if name.startswith("std_error") and value == 0
        ]
        if zero_se:
            return "silent_wrong", f"standard error 0 ({type(result).__name__})"
    n_obs = getattr(result, "n_obs", None)
    rows_in = _rows_in(df, kw)
    if isinstance(n_obs, (int, np.integer)) and case.call in _COUNTED_CALLS and rows_in is not None:
        dropped = getattr(result, "dropped", {}) or {}
        counted = int(n_obs) + int(sum(dropped.values()))
        dropped_warned = any(issubclass(w.category, de.DroppedRowsWarning) for w in caught)
        if n_obs < rows_in and not (dropped_warned or counted == rows_in):
            return "row_loss", f"{rows_in} rows in, {n_obs} used, {dict(dropped)} counted"
    return "correct", type(result).__name__


def tally(
    calls: int, seed: int, plain: float = 0.5
) -> tuple[Counter[str], dict[str, list[str]], dict[str, Counter[str]]]:
    """Judge ``calls`` random cases: the totals, examples of each bad outcome, and the
    totals per call."""
    rng = np.random.default_rng(seed)
    counts: Counter[str] = Counter()
    by_call: dict[str, Counter[str]] = {}
    examples: dict[str, list[str]] = {}
    for _ in range(calls):
        case = random_case(rng, plain)
        outcome, detail = judge(case)
        counts[outcome] += 1
        by_call.setdefault(case.call, Counter())[outcome] += 1
        if outcome not in ("correct", "clear_error"):
            examples.setdefault(outcome, []).append(f"{case}: {detail}")
    return counts, examples, by_call


def _markdown(counts: Counter[str], by_call: dict[str, Counter[str]]) -> str:
    """The tally as a Markdown table (tried / clear error / foreign / silent NaN /
    silent wrong / row loss / correct), one row per call and a total."""
    order = ("clear_error", "foreign", "silent_nan", "silent_wrong", "row_loss", "correct")
    lines = [
        "| call | tried | clear error | foreign | silent NaN | silent wrong | row loss | correct |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in CALLS:
        c = by_call.get(name, Counter())
        lines.append(f"| {name} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in order) + " |")
    lines.append(
        f"| **total** | **{sum(counts.values())}** | "
        + " | ".join(f"**{counts[k]}**" for k in order) + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="how many random calls")
    parser.add_argument("--seed", type=int, default=20261205, help="seed of the case stream")
    parser.add_argument("--show", type=int, default=5, help="examples shown per bad outcome")
    parser.add_argument("--markdown", action="store_true", help="also print a table per call")
    parser.add_argument(
        "--plain", type=float, default=0.5,
        help="chance of the plain option in each dimension (higher: more calls reach the estimator)",
    )
    args = parser.parse_args(argv)
    counts, examples, by_call = tally(args.calls, args.seed, args.plain)
    print(f"tried {args.calls}: " + ", ".join(f"{k} {counts[k]}" for k in OUTCOMES))
    if args.markdown:
        print("\n" + _markdown(counts, by_call))
    for outcome, lines in examples.items():
        print(f"\n{outcome} ({len(lines)}):")
        for line in lines[: args.show]:
            print("  " + line)
    return 0 if all(counts[k] == 0 for k in OUTCOMES[2:]) else 1


if __name__ == "__main__":
    sys.exit(main())
