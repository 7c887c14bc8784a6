""":func:`~dwp_eval.take_up` and :func:`~dwp_eval.flag_contamination` on a Dask or Spark
DataFrame (private).

The pandas rules run once per partition through :func:`dwp_eval._core.engines.by_key`:
the rows of ``people`` and of the records are hash-partitioned on the person id, so all of
a person's records reach the kernel that holds the person. What is global is decided on
the driver: the columns and options (the rules run on empty stand-ins of the frames, with
their own messages), the arms (each partition reports its own; the control arm, and
``treatment`` in :func:`~dwp_eval.take_up`, are checked against them all), duplicated ids,
and the problem report of the one warning (each partition's counts added up, its examples
chosen again from the partitions' examples).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

from dwp_eval._core.engines import by_key, columns, require
from dwp_eval._core.engines.person import (
    check_same_engine,
    duplicated_ids,
    plain,
    raise_duplicated,
    stand_in,
)
from dwp_eval._validation import as_column_list, check_data, label_order
from dwp_eval.monitor._records import check_control, merge_raw

__all__ = ["on_engine"]


def on_engine(
    engine: str,
    core: Callable[..., tuple[pd.DataFrame, dict[str, Any]]],
    people: Any,
    records: Any,
    options: Mapping[str, Any],
    *,
    func: str,
    param: str,
    record_columns: Sequence[Hashable | None],
) -> tuple[Any, dict[str, Any]]:
    """The result as a frame of ``engine`` and the raw problem report of all partitions
    (``core``: the pandas rules, returning the result and the raw report)."""
    require(engine, func=func)
    check_same_engine(engine, {param: records}, func=func)
    opts = dict(options)
    id_, assigned = opts["id"], opts["assigned"]
    people_stand, records_stand = stand_in(people), stand_in(records)
    # the columns and options, checked by the rules themselves on empty stand-ins, and the
    # result's columns and dtypes
    first, _ = core(people_stand, records_stand, **opts, whole=False)
    meta = plain(first)
    people_cols = [id_, assigned, opts["randomised"], *as_column_list(opts["keep"])]
    tables = {
        "people": (people, id_, _present(people, people_cols)),
        "records": (records, id_, _present(records, [id_, *record_columns])),
    }

    def kernel(parts: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]]:
        dups = duplicated_ids(parts["people"], id_)
        if dups:
            return meta.iloc[:0], {"duplicated": dups}
        out, raw = core(parts["people"], parts["records"], **opts, whole=False)
        return plain(out, meta), {"raw": raw, "n_people": len(out)}

    rows, notes = by_key(tables, kernel, meta)
    values = [note.value for note in notes]
    raise_duplicated([v for value in values for v in value.get("duplicated", ())], id_,
                     role="id", func=func)
    if sum(value["n_people"] for value in values) == 0:
        check_data(people_stand, func=func, param="people")  # raises: people has no rows
    raws = [value["raw"] for value in values]
    arms = sorted({a for raw in raws for a in raw["arms"]}, key=label_order)
    check_control(arms, opts["control"], assigned, func=func)
    merged = merge_raw(raws)
    merged["arms"] = arms
    return rows, merged


def _present(frame: Any, cols: Sequence[Hashable | None]) -> list[Hashable]:
    """The named columns that the frame has, once each (the rules name a missing one)."""
    have = columns(frame)
    return [c for c in dict.fromkeys(cols) if c is not None and c in have]
