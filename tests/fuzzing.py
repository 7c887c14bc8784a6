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
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import dwp_eval as de
from dwp_eval.errors import DwpEvalError

ARM_KINDS = ("str", "int", "float", "bool", "category", "three", "one_arm", "nullable")
Y_KINDS = (
    "normal", "constant", "constant_in_arms", "binary", "nan", "inf", "huge", "tiny",
    "int", "nullable", "object", "one_per_arm",
)
STRATA_KINDS = ("none", "few", "single_arm", "one_each", "list")
COVARIATE_KINDS = ("none", "normal", "collinear", "constant", "outcome", "nan", "huge")
CLUSTER_KINDS = ("none", "aligned", "crossed", "one")
WEIGHT_KINDS = ("none", "positive", "zero", "negative", "nan")
INDEX_KINDS = ("range", "duplicate", "strings")
CALLS = (
    "itt", "itt_ols", "cace", "balance", "attrition", "flow", "impact_table", "lee_bounds",
    "randomisation_test", "wild_cluster_bootstrap", "randomise", "allocation_round_trip",
    "contamination_summary", "did", "power",
)
ID_KINDS = ("int", "float", "uint64", "str", "datetime", "nullable", "category", "mixed")
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


def random_case(rng: np.random.Generator) -> Case:
    """A case drawn at random (the tally script's counterpart of the hypothesis strategy)."""

    def pick(options: tuple[str, ...]) -> str:
        # Half the time the plain first option, so that enough calls reach the estimator.
        if rng.random() < 0.5:
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
    df["d"] = received
    df["r"] = (rng.random(n) < 0.8).astype(np.int64)
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
            return _Wrong(f"ids {written['id'].dtype} came back as {read['id'].dtype}")
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


@dataclass(frozen=True)
class _Wrong:
    """A call that returned but gave a wrong answer the fuzzer can see."""

    reason: str


def _numbers(result: Any) -> dict[str, float]:
    """The headline numbers of a result: what must be finite."""
    found: dict[str, float] = {}
    for name in ("estimate", "std_error", "p_value", "statistic", "n_required", "mde"):
        value = getattr(result, name, None)
        if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            found[name] = float(value)
    conf_int = getattr(result, "conf_int", None)
    if callable(conf_int) and hasattr(result, "estimate"):
        try:
            table = conf_int()
        except DwpEvalError:
            table = None
        if isinstance(table, pd.DataFrame):
            for column in ("conf_low", "conf_high"):
                if column in table:
                    for i, value in enumerate(table[column].to_numpy(dtype=float)):
                        found[f"{column}[{i}]"] = float(value)
    return found


def _constant_outcome(case: Case, df: pd.DataFrame) -> bool:
    y = pd.to_numeric(df.get("y"), errors="coerce") if "y" in df else None
    if y is None:
        return False
    y = y[np.isfinite(y.astype(float))] if len(y) else y
    return len(y) > 0 and float(y.max() - y.min()) == 0.0


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
            return "foreign", f"{type(error).__name__}: {str(error)[:200]}"
    if isinstance(result, _Wrong):
        return "silent_wrong", result.reason
    numbers = _numbers(result)
    if case.call == "contamination_summary":
        table = result.to_frame()
        for low, high, rate in zip(
            table["conf_low"], table["conf_high"], table["rate"], strict=True
        ):
            if not 0.0 <= low <= rate <= high <= 1.0:
                return "silent_wrong", f"interval [{low}, {high}] around rate {rate}"
    # an infinite interval bound is an answer when the result says so (test inversion with
    # few possible assignments rejects no effect on that side), never a NaN
    said = any("interval is unbounded" in str(note) for note in getattr(result, "notes", ()) or ())
    bad = [name for name, value in numbers.items() if not math.isfinite(value)
           and not (said and name.startswith("conf_") and math.isinf(value))]
    if bad:
        return "silent_nan", f"not finite: {', '.join(bad[:4])} ({type(result).__name__})"
    p_value = numbers.get("p_value")
    if (
        case.call in ("itt", "itt_ols", "cace", "randomisation_test", "wild_cluster_bootstrap")
        and _constant_outcome(case, df)
        and p_value is not None
        and p_value < 0.05
    ):
        return "silent_wrong", f"p = {p_value:.3g} on a constant outcome"
    n_obs = getattr(result, "n_obs", None)
    if isinstance(n_obs, (int, np.integer)) and case.call in ("itt", "itt_ols", "cace"):
        dropped = getattr(result, "dropped", {}) or {}
        counted = int(n_obs) + int(sum(dropped.values()))
        warned = any(issubclass(w.category, de.DroppedRowsWarning) for w in caught)
        # by value, as the library reads labels (a float column 0.0 holds control=0)
        rows = int(df["arm"].isin([kw["control"], kw["treatment"]]).sum())
        if counted != rows or (counted > n_obs and not warned):
            return "row_loss", f"{rows} rows in, {n_obs} used, {dict(dropped)} counted"
    return "correct", type(result).__name__


def tally(calls: int, seed: int) -> tuple[Counter[str], dict[str, list[str]]]:
    rng = np.random.default_rng(seed)
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for _ in range(calls):
        case = random_case(rng)
        outcome, detail = judge(case)
        counts[outcome] += 1
        if outcome not in ("correct", "clear_error"):
            examples.setdefault(outcome, []).append(f"{case}: {detail}")
    return counts, examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="how many random calls")
    parser.add_argument("--seed", type=int, default=20261205, help="seed of the case stream")
    parser.add_argument("--show", type=int, default=5, help="examples shown per bad outcome")
    args = parser.parse_args(argv)
    counts, examples = tally(args.calls, args.seed)
    print(f"tried {args.calls}: " + ", ".join(f"{k} {counts[k]}" for k in OUTCOMES))
    for outcome, lines in examples.items():
        print(f"\n{outcome} ({len(lines)}):")
        for line in lines[: args.show]:
            print("  " + line)
    return 0 if all(counts[k] == 0 for k in OUTCOMES[2:]) else 1


if __name__ == "__main__":
    sys.exit(main())
