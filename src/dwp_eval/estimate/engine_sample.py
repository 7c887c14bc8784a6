"""The analysis sample of an estimator on a Dask or Spark DataFrame: the engine
counterpart of :func:`dwp_eval._core.sample.prepare_sample`, with its rules and messages
(arms by value, missing values raised or dropped and counted, infinite values refused),
read from sums the engine adds up (:func:`dwp_eval._core.engines.regression.scan`)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines import check_engine_columns, columns, map_sums, require
from dwp_eval._core.engines.regression import Design, scan
from dwp_eval._validation import check_option, compared_arm_codes, label_key
from dwp_eval.errors import (
    ColumnError,
    DroppedRowsWarning,
    MissingDataError,
    NotEstimableError,
    OptionError,
)

__all__ = ["check_numeric", "check_sample_columns", "engine_sample", "refuse", "warn_dropped"]

_NO_ARM = "\x00no arm"


def warn_dropped(dropped: dict[str, int], *, func: str, stacklevel: int) -> None:
    """The one :class:`DroppedRowsWarning` of rows dropped for missing values, by column (in
    memory's words), attributed ``stacklevel`` frames up."""
    warnings.warn(
        f"{func}: {sum(dropped.values()):,} row(s) with missing values dropped ("
        + ", ".join(f"{n:,} with missing {c}" for c, n in dropped.items()) + ").",
        DroppedRowsWarning, stacklevel=stacklevel,
    )


def check_sample_columns(
    data: Any, engine: str, *, func: str, outcome: Hashable, assigned: Hashable,
    covariates: Sequence[Hashable], cluster: Hashable | None, weights: Hashable | None,
    extra: Sequence[Hashable] = (), extra_role: str = "received",
) -> None:
    """The engine is installed, every column is there and the numeric ones are numeric."""
    require(engine, func=func)
    roles: dict[str, Hashable | None] = {"outcome": outcome, "assigned": assigned,
                                         "cluster": cluster, "weights": weights}
    roles.update({f"covariates ({c!r})": c for c in covariates})
    roles.update({f"{extra_role} ({c!r})": c for c in extra})
    check_engine_columns(columns(data), roles, param="data", func=func)
    check_numeric(data, engine, [outcome, *covariates, *extra], func=func)


def engine_sample(
    data: Any, engine: str, *, func: str, outcome: Hashable, assigned: Hashable, control: Any,
    treatment: Any | None, covariates: Sequence[Hashable], cluster: Hashable | None,
    weights: Hashable | None, missing: str, lin: bool = False, extra: Sequence[Hashable] = (),
    extra_role: str = "received",
) -> tuple[Design, pd.Series, dict[str, int]]:
    """Pick the arms (columns checked by :func:`check_sample_columns`), and read the counts and sums of pass 1: the
    design (covariates not yet centred), the totals of :func:`scan` and the dropped counts.
    Refuses (in memory's words) fewer than two people in an arm and non-positive weights."""
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    treat_key, ctrl_key, n_no_arm = _arms(data, assigned, control, treatment, func=func)
    design = Design(outcome, assigned, ctrl_key, treat_key, tuple(covariates), lin=lin,
                    weights=weights, cluster=cluster, drop_missing=missing == "drop",
                    extra=tuple(extra))
    totals = scan(data, design)
    dropped = _missing(totals, design, n_no_arm, missing=missing, func=func, extra_role=extra_role)
    n1, n0 = int(totals["n1"]), int(totals["n0"])
    if min(n1, n0) < 2:
        raise NotEstimableError(
            f"{func}: outcome {outcome!r} has {min(n1, n0)} person(s) in an arm, so its effect "
            "cannot be estimated (it needs two people in each arm).",
            outcome=str(outcome), reason="fewer than two per arm",
        )
    if weights is not None and totals["nonpositive_w"] > 0:
        raise ColumnError(f"{func}: column {weights!r} (weights) holds {int(totals['nonpositive_w']):,} "
                          "zero or negative weight(s). Fix: weights must be positive.")
    return design, totals, dropped


def refuse(option: str, engine: str, func: str) -> OptionError:
    fix = "data.compute()" if engine == "dask" else "data.toPandas()"
    return OptionError(
        f"The {option} of {func} is not yet offered on a {engine.capitalize()} DataFrame (it "
        f"needs the rows of the analysis sample together). Fix: bring the analysis sample into "
        f"memory with {fix} (one row per person fits in memory for most trials), or leave the "
        "option out."
    )


def check_numeric(data: Any, engine: str, cols: Sequence[Hashable], *, func: str,
                  what: str = "the outcome and covariates (text covariates are expanded to dummies "
                              "in memory only)") -> None:
    """The columns ``cols`` (``what`` they are, for the message) must be numeric on the
    engine (text covariates would need their levels; the pandas path makes dummies)."""
    for c in cols:
        if engine == "dask":
            kind = data.dtypes[c]
            ok = pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
        else:
            ok = data.schema[str(c)].dataType.typeName() in (
                "long", "integer", "short", "byte", "double", "float", "boolean", "decimal")
        if not ok:
            raise ColumnError(
                f"{func}: column {c!r} is not numeric on this {engine.capitalize()} DataFrame; on "
                f"an engine {what} must be numeric. Fix: make 0/1 dummy columns for its levels, "
                "or convert it."
            )


def _arms(data: Any, assigned: Hashable, control: Any, treatment: Any, *, func: str) -> tuple[str, str, int]:
    """The compared arms' keys, by the same rules and messages as in memory (on the
    distinct labels), and the rows with no arm."""
    key = "arm"

    def labels(chunk: pd.DataFrame) -> pd.DataFrame:
        # one row per distinct value (values equal by label are added up by map_sums)
        found, uniques = pd.factorize(chunk[assigned], sort=False)
        keys = [_NO_ARM, *(label_key(u) or _NO_ARM for u in uniques)]
        return pd.DataFrame({key: keys, "n": np.bincount(found + 1, minlength=len(keys)).astype(float)})

    counts = map_sums(data, [assigned], labels, ["n"], key=key, key_type="string")
    found = [k for k in counts.index if k != _NO_ARM]
    arms = compared_arm_codes(pd.DataFrame({assigned: found}), assigned, control, treatment, func=func)
    n_no_arm = int(counts["n"].get(_NO_ARM, 0))
    return arms.treatment, str(label_key(control)), n_no_arm


def _missing(totals: pd.Series, design: Design, n_no_arm: int, *, missing: str, func: str,
             extra_role: str = "received") -> dict[str, int]:
    """Missing values as in memory: raise (naming the column), or count the dropped rows
    (design columns are never dropped)."""
    dropped: dict[str, int] = {}
    n_arms = int(totals["n_arms"])
    if n_no_arm:
        if missing == "raise":
            raise MissingDataError(
                f"{func}: column {design.assigned!r} (assigned) has {n_no_arm:,} missing value(s) "
                f"among the {n_arms + n_no_arm:,} rows, so those people belong to no arm. Fix: fill "
                "in the arm each person was allocated to, or remove those rows, or pass "
                "missing='drop' to analyse the people with a known arm (the count dropped is "
                "recorded)."
            )
        dropped[str(design.assigned)] = n_no_arm
    cols = design.columns
    roles = {design.outcome: "outcome", **{c: "covariates" for c in design.covariates},
             **{c: extra_role for c in design.extra},
             design.cluster: "cluster", design.weights: "weights"}
    numeric = design.numeric
    for i, c in enumerate(numeric):
        n_inf = int(totals[f"inf_{i}"])
        if n_inf:
            raise ColumnError(
                f"{func}: column {c!r} ({roles[c]}) holds infinite values: {n_inf:,} row(s) are "
                "+/-inf. Infinity is not a missing value, so missing='drop' does not remove it. "
                f"Fix: correct those values, or mark them missing and pass missing='drop'."
            )
    order = [design.outcome, *design.covariates, *design.extra, design.cluster, design.weights]
    for c in [c for c in order if c is not None]:
        n_na = int(totals[f"na_{cols.index(c)}"])
        if not n_na:
            continue
        role = roles[c]
        if missing == "raise" or role in ("cluster", "weights"):
            how = ("Fix: fill or remove them, or pass missing='drop' to analyse complete cases "
                   "(the count dropped is recorded)." if role not in ("cluster", "weights")
                   else "Fix: fill or remove them; design columns cannot be dropped silently.")
            raise MissingDataError(
                f"{func}: column {c!r} ({role}) has {n_na:,} missing value(s) among the "
                f"{n_arms:,} rows of the compared arms. {how}"
            )
        dropped[str(c)] = n_na
    if dropped:
        warn_dropped(dropped, func=func, stacklevel=5)
    return dropped


