"""What the DiD paths on Dask and Spark share (``_did_engine``, ``_did_engine_rcs``,
``_staggered_engine``): the errors for options not offered on an engine, the checks of
column types and missing values made by the engine's sums (the rules and messages of the
in-memory :func:`~dwp_eval._core.panel.validate_frame`), and the group-by-period means
table from per-cluster sums."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines import map_sums
from dwp_eval._core.engines.groups import dropna, dtype_of
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import ColumnError, MissingDataError, OptionError
from dwp_eval.estimate._did_means import group_means_frame

__all__ = [
    "MissingRule",
    "check_values",
    "engine_fix",
    "engine_missing",
    "engine_numeric",
    "group_means_from_sums",
    "unsupported",
]


def engine_fix(engine: str) -> str:
    """How to bring an engine frame into memory."""
    return "data.toPandas()" if engine == "spark" else "data.compute()"


def unsupported(option: str, engine: str, func: str, why: str = "") -> OptionError:
    """The :class:`OptionError` for an option this function does not offer on an engine."""
    return OptionError(
        f"{func}: {option} is not supported on a {engine.capitalize()} DataFrame{why}. Fix: "
        f"bring the data into memory first ({engine_fix(engine)}) and call {func} on the "
        "pandas DataFrame, or drop the option."
    )


def engine_numeric(frame: Any, cols: Sequence[tuple[Hashable, str]], *, func: str) -> None:
    """Raise :class:`ColumnError` for a column (role) that is not numeric or boolean."""
    for col, role in cols:
        dt = dtype_of(frame, col)
        if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)):
            raise ColumnError(
                f"{func}: column {col!r} ({role}) must be numeric; it has dtype {dt}. "
                f"Fix: convert it, e.g. df[{col!r}].astype(float)."
            )


class MissingRule:
    """The missing-value rule of :func:`validate_frame` on an engine: :meth:`counts` of a
    chunk (added up by the engine), then :meth:`verdict` on the driver, which raises as
    :func:`validate_frame` does or (``missing="drop"``) returns the rows dropped per
    droppable column (a row counts for the first such column it misses)."""

    def __init__(self, cols: Sequence[tuple[Hashable, str]], *, droppable: Sequence[str], missing: str,
                 func: str) -> None:
        self.cols, self.missing, self.func = list(cols), missing, func
        self.droppable = tuple(droppable)
        self.names = list(dict.fromkeys(c for c, _ in cols))
        self.drop_cols = list(dict.fromkeys(c for c, r in cols if r in droppable))
        self.outs = ([f"_miss{i}" for i in range(len(self.names))]
                     + [f"_drop{i}" for i in range(len(self.drop_cols))] + ["_allmiss", "_rows"])

    def counts(self, chunk: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The chunk's counts and its complete rows (no droppable column missing)."""
        out = {f"_miss{i}": chunk[c].isna().to_numpy(dtype=float) for i, c in enumerate(self.names)}
        bad = np.zeros(len(chunk), dtype=bool)
        for i, c in enumerate(self.drop_cols):
            isna = chunk[c].isna().to_numpy()
            out[f"_drop{i}"] = (isna & ~bad).astype(float)
            bad |= isna
        out["_allmiss"] = bad.astype(float)
        out["_rows"] = np.ones(len(chunk))
        return out, ~bad

    def verdict(self, sums: pd.Series) -> dict[str, int]:
        func = self.func
        for col, role in self.cols:
            n_miss = int(sums[f"_miss{self.names.index(col)}"])
            if n_miss and (self.missing == "raise" or role not in self.droppable):
                how = (f"Fix: fill them or remove those rows, or pass missing='drop' to {func} to "
                       "analyse complete rows (the count dropped is recorded)." if role in self.droppable
                       else f"Fix: fill them or remove those rows before calling {func}; design columns "
                       "cannot be dropped silently.")
                raise MissingDataError(f"{func}: column {col!r} ({role}) has {n_miss:,} missing value(s). {how}")
        dropped = {str(c): int(sums[f"_drop{i}"]) for i, c in enumerate(self.drop_cols) if int(sums[f"_drop{i}"])}
        if dropped and int(sums["_allmiss"]) == int(sums["_rows"]):
            raise MissingDataError(
                f"{func}: every row has a missing value in {_fmt_list(list(dropped), 5)}, so "
                "missing='drop' leaves nothing to analyse. Fix: check the columns."
            )
        return dropped


def engine_missing(
    frame: Any, cols: Sequence[tuple[Hashable, str]], *, droppable: Sequence[str], missing: str,
    func: str,
) -> tuple[Any, dict[str, int]]:
    """Apply :class:`MissingRule` in a pass of its own; the frame without the dropped rows."""
    rule = MissingRule(cols, droppable=droppable, missing=missing, func=func)

    def count(chunk: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(rule.counts(chunk)[0])

    dropped = rule.verdict(map_sums(frame, rule.names, count, rule.outs).iloc[0])
    return (dropna(frame, rule.drop_cols), dropped) if dropped else (frame, {})


def check_values(A1: pd.DataFrame, *, outcome: Hashable, treated: Hashable, post: Hashable | None,
                  covs: Sequence[Hashable], func: str) -> None:
    """The value checks of :func:`check_numeric` and :func:`check_binary`, from counts."""
    checks = [("bad_y", outcome, "outcome", "holds infinite values."),
              *[(f"badx{j}", c, "covariates", "holds infinite values.") for j, c in enumerate(covs)]]
    for col, name, role, what in checks:
        if A1[col].sum() > 0:
            raise ColumnError(f"{func}: column {name!r} ({role}) {what}")
    for col, name, role in (("bad_tr", treated, "treated"), ("bad_p", post, "post")):
        if col in A1 and A1[col].sum() > 0:
            raise ColumnError(
                f"{func}: column {name!r} ({role}) must hold 0/1 (or True/False); "
                f"{int(A1[col].sum()):,} row(s) hold other values. Fix: recode it, e.g. "
                f"(df[{name!r}] > 0).astype(int)."
            )


def group_means_from_sums(P: pd.DataFrame, means: np.ndarray) -> pd.DataFrame:
    """``group_means`` from per-cluster counts, sums and centred sums of squares of the
    four group-by-period cells (as ``did._change_if``: the change's influence summed by
    cluster, variance ``G/(G-1) sum_c IF_c^2`` over the clusters holding the group)."""
    per_group = []
    for gg in (0, 1):
        n0c, n1c = P[f"n{gg}0"].to_numpy(), P[f"n{gg}1"].to_numpy()
        n0, n1 = int(n0c.sum()), int(n1c.sum())
        m0, m1 = float(means[gg, 0]), float(means[gg, 1])
        s0 = float(np.sqrt(P[f"ss{gg}0"].sum() / (n0 - 1)) / np.sqrt(n0)) if n0 > 1 else float("nan")
        s1 = float(np.sqrt(P[f"ss{gg}1"].sum() / (n1 - 1)) / np.sqrt(n1)) if n1 > 1 else float("nan")
        per = (P[f"s{gg}1"].to_numpy() - n1c * m1) / n1 - (P[f"s{gg}0"].to_numpy() - n0c * m0) / n0
        per = per[(n0c + n1c) > 0]
        G = len(per)
        se = float(np.sqrt(G / (G - 1) * np.sum(per**2))) if G > 1 else float("nan")
        per_group.append((n0, m0, s0, n1, m1, s1, se))
    return group_means_frame(per_group)
