"""What :func:`dwp_eval.randomisation_test` asks of a Dask or Spark frame.

The re-drawn assignments are a units-by-draws computation made in memory whatever the
engine, so the engine's part is to bring the units to the driver:

* a cluster design (``cluster=``): one row per cluster, summarised by the engine: its
  people, the sum, smallest and largest value of the outcome, with its arm and strata
  (:func:`cluster_summary`). The statistic needs no more (the residual of a cluster is
  its sum less its people times the arm's mean), so 100 million people in 10,000
  clusters bring 10,000 rows to the driver;
* people randomised one by one: each person is a unit, so each person's outcome, arm and
  strata come to the driver (:func:`design_rows`; a few numbers a person, about 300 MB
  for 10 million people).

Either way the rows are put in one canonical order (strata, cluster, arm, outcome): an
engine's rows have none, and the order of the units fixes which units a seeded draw
treats. The summary and the rows then give the same units in the same order, so the
same seed gives the same draws on both. A summary that shows a problem (a missing or
non-finite value, a cluster in two arms or two strata, an arm or stratum the design
cannot compare) sends the test to the rows instead, where the in-memory checks raise
their own errors or drop with their own counts: a message is never a summary's guess.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines import (
    DASK,
    SPARK,
    check_engine_columns,
    collect,
    columns,
    engine_of,
    require,
)
from dwp_eval._core.engines.groups import dtype_of
from dwp_eval._validation import as_column_list, compared_arm_codes
from dwp_eval.errors import OptionError

__all__ = ["HI", "LO", "SUM", "N", "cluster_summary", "design_rows", "in_memory"]

#: The summary's columns: people, sum of the outcome, its smallest and largest value.
N, SUM, LO, HI = "_dwp_eval_n", "_dwp_eval_sum", "_dwp_eval_min", "_dwp_eval_max"
_COUNT = "_dwp_eval_count"


def in_memory(data: Any, *, outcome: Hashable, assigned: Hashable, strata: Any, cluster: Any,
              control: Any, treatment: Any, allocation: Any, func: str) -> tuple[Any, bool]:
    """``(frame, summarised)``: a pandas frame passes through unchanged; an engine's frame
    becomes :func:`cluster_summary` (``summarised``) when it has one, else :func:`design_rows`."""
    engine = engine_of(data)
    if engine not in (DASK, SPARK):
        return data, False
    require(engine, func=func)
    if allocation is not None:
        fix = "data.compute()" if engine == DASK else "data.toPandas()"
        raise OptionError(
            f"The 'allocation' parameter of {func} is not offered on a {engine.capitalize()} "
            f"DataFrame (the allocation is matched to the participants in memory). Fix: pass "
            f"strata= and cluster= as randomised, or bring the data into memory with {fix}."
        )
    have = columns(data)
    check_engine_columns(have, {"outcome": outcome, "assigned": assigned, "cluster": cluster},
                         param="data", func=func)
    for c in as_column_list(strata):
        check_engine_columns(have, {"strata": c}, param="data", func=func)
    if cluster is not None:
        summary = cluster_summary(data, outcome=outcome, assigned=assigned, strata=strata,
                                  cluster=cluster, control=control, treatment=treatment, func=func)
        if summary is not None:
            return summary, True
    return design_rows(data, outcome=outcome, assigned=assigned, strata=strata, cluster=cluster), False


def _design_columns(outcome: Hashable, assigned: Hashable, strata: Any, cluster: Any) -> list[Hashable]:
    """The canonical order's columns: strata, cluster, arm, outcome (each once)."""
    return list(dict.fromkeys([*as_column_list(strata), *as_column_list(cluster), assigned, outcome]))


def _canonical(rows: pd.DataFrame, cols: Sequence[Hashable]) -> pd.DataFrame:
    """``rows`` sorted by ``cols`` (text columns as text), index reset: equal rows are
    interchangeable, so this order depends on the values only."""
    key = [f"_key{i}" for i in range(len(cols))]
    keys = pd.DataFrame({k: rows[c].astype(str) if rows[c].dtype == object else rows[c]
                         for k, c in zip(key, cols, strict=True)})
    order = keys.sort_values(key, kind="mergesort", na_position="last").index
    return rows.loc[order].reset_index(drop=True)


def design_rows(data: Any, *, outcome: Hashable, assigned: Hashable, strata: Any,
                cluster: Any) -> pd.DataFrame:
    """One row per person with the outcome, arm, strata and cluster, in the canonical order."""
    cols = _design_columns(outcome, assigned, strata, cluster)
    return _canonical(collect(data, cols), cols)


def _engine_groups(data: Any, keys: list[Hashable], outcome: Hashable) -> pd.DataFrame:
    """Per combination of ``keys`` (missing values a group of their own): the rows, the
    outcome's non-missing values, their sum, smallest and largest (NaN on Spark when
    the outcome holds a NaN, which Spark counts as a value)."""
    if engine_of(data) == DASK:
        y = data[outcome].astype("float64")
        part = data[keys].assign(**{SUM: y})
        g = part.groupby(keys, dropna=False)[SUM]
        import dask

        size, count, total, lo, hi = dask.compute(g.size(), g.count(), g.sum(), g.min(), g.max())
        out = pd.DataFrame({N: size, _COUNT: count, SUM: total, LO: lo, HI: hi}).reset_index()
        return out
    from pyspark.sql import functions as F

    y = F.col(f"`{outcome}`").cast("double")
    part = data.groupBy(*[F.col(f"`{k}`") for k in keys]).agg(
        F.count(F.lit(1)).alias(N), F.count(y).alias(_COUNT), F.sum(y).alias(SUM),
        F.min(y).alias(LO), F.max(y).alias(HI),
    )
    return collect(part)


def cluster_summary(data: Any, *, outcome: Hashable, assigned: Hashable, strata: Any,
                    cluster: Hashable, control: Any, treatment: Any, func: str) -> pd.DataFrame | None:
    """One row per cluster of the compared arms, in the canonical order: the design
    columns and :data:`N`, :data:`SUM`, ``LO``, ``HI``; ``None`` when the summary shows
    something the in-memory checks must judge on the rows (see the module's text)."""
    kind = dtype_of(data, outcome)
    if not (pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)):
        return None  # the rows' check names the dtype and the fix
    keys = _design_columns(None, assigned, strata, cluster)[:-1]
    groups = _engine_groups(data, keys, outcome)
    counts = groups[[N, _COUNT]].to_numpy(dtype=float)
    sums = groups[[SUM, LO, HI]].to_numpy(dtype=float)
    if (groups[keys].isna().to_numpy().any() or np.any(counts[:, 0] != counts[:, 1])
            or not np.all(np.isfinite(sums)) or groups[cluster].duplicated().any()):
        return None  # missing or non-finite values, or clusters across arms or strata
    arms = compared_arm_codes(groups, assigned, control, treatment, func=func)
    kept = groups.loc[arms.keep]
    z = np.asarray(arms.in_treatment, dtype=bool)[np.asarray(arms.keep, dtype=bool)]
    if min(int(np.sum(z)), int(np.sum(~z))) < 2:
        return None  # fewer than two clusters in an arm
    by = [kept[c].to_numpy() for c in as_column_list(strata)]
    if by and (pd.Series(z).groupby(by).nunique() < 2).any():
        return None  # a stratum (combination of strata) without both arms
    summary = kept.drop(columns=_COUNT)
    return _canonical(summary, keys)
