""":func:`~dwp_eval.derive_outcomes` on a Dask or Spark DataFrame.

The pandas rules (``_derive``) run once per partition through
:func:`dwp_eval._core.engines.by_key`: the rows of ``people``, ``employment`` and
``benefits`` are hash-partitioned on the person id, so all of a person's records reach the
kernel that holds the person. What is global is decided on the driver: the columns and
options (the rules run on empty stand-ins of the frames, with their own messages), the end
of the records when ``data_end`` is not given (from the month histogram of all employment
records, added up on the engine), whether anyone has complete follow-up, duplicated ids,
and the problem counts of the one warning (each partition's counts, added up).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines import by_key, columns, map_sums, require
from dwp_eval._core.engines.person import (
    check_same_engine,
    duplicated_ids,
    plain,
    raise_duplicated,
    stand_in,
)
from dwp_eval._core.records import example_ids, month_numbers
from dwp_eval._validation import check_data
from dwp_eval.errors import DwpEvalError
from dwp_eval.outcomes._inputs import _FUNC, _roles
from dwp_eval.outcomes._windows import _data_end_day, _end_from_histogram, _no_complete_error
from dwp_eval.outcomes.measures import BENEFIT_COLUMNS, EMPLOYMENT_COLUMNS

# a month number no record can have: a chunk whose months do not parse (the kernel that
# gets those rows raises the pandas error with its message)
_BAD_MONTH = -(2**62)


def _on_engine(
    engine: str,
    core: Callable[..., tuple[pd.DataFrame, Any]],
    people: Any,
    employment: Any,
    benefits: Any,
    options: Mapping[str, Any],
) -> tuple[Any, Any]:
    """The result as a frame of ``engine`` and the report (the type ``core`` returns) with
    the counts of every partition added up."""
    require(engine, func=_FUNC)
    check_same_engine(engine, {"employment": employment, "benefits": benefits}, func=_FUNC)
    opts = dict(options)
    # the columns and options, checked by the rules themselves on empty stand-ins, and the
    # result's columns and dtypes
    stand = {name: stand_in(frame) for name, frame in
             (("people", people), ("employment", employment), ("benefits", benefits))
             if frame is not None}
    first, report = core(stand["people"], stand.get("employment"), stand.get("benefits"), **opts,
                    end=(0, "data_end"), whole=False)
    meta = plain(first)
    id_ = opts["id"]
    emp_roles = _roles(opts["employment_columns"], EMPLOYMENT_COLUMNS, param="employment_columns")
    ben_roles = _roles(opts["benefit_columns"], BENEFIT_COLUMNS, param="benefit_columns")
    tables: dict[str, Any] = {
        "people": (people, id_, _present(people, [id_, opts["randomised"], opts["region"]])),
        "employment": (employment, id_, _present(employment, [id_, *emp_roles.values()])),
        "benefits": None if benefits is None else (
            benefits, id_, _present(benefits, [id_, *ben_roles.values()])),
    }
    month_col = emp_roles["month"]
    bad_months = False
    if opts["data_end"] is None:
        day = _inferred_end(employment, emp_roles["month"])
        # months that are not dates: any day will do, the kernel with them raises their error
        bad_months = day is None
        end = (0 if day is None else day, "employment")
    else:
        end = (_data_end_day(opts["data_end"]), "data_end")

    def kernel(parts: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]]:
        dups = duplicated_ids(parts["people"], id_)
        if dups:
            return meta.iloc[:0], {"duplicated": dups}
        out, report = core(parts["people"], _in_order(parts["employment"], id_, month_col),
                           parts.get("benefits"), **opts, end=end, whole=False)
        return plain(out, meta), {"report": report._asdict()}

    rows, notes = by_key(tables, kernel, meta)
    values = [note.value for note in notes]
    raise_duplicated([v for value in values for v in value.get("duplicated", ())], id_,
                     role="id", func=_FUNC)
    reports = [value["report"] for value in values if "report" in value]
    if bad_months:  # pragma: no cover - a kernel raises the error of the months first
        raise DwpEvalError(f"{_FUNC}: column {emp_roles['month']!r} of employment has months "
                           "that are missing or not dates.")
    return rows, _merged(type(report), reports, stand["people"], end)


def _in_order(employment: pd.DataFrame, id: Hashable, month: Hashable) -> pd.DataFrame:
    """A partition's employment records sorted by person and month: the order a pandas
    user's records usually have (a person's earnings are added up month by month, then
    rounded to the penny, so the order of addition can decide a half penny)."""
    try:
        return employment.sort_values([id, month], kind="stable", ignore_index=True)
    except (TypeError, ValueError, KeyError):
        return employment  # the rules name the problem with those columns


def _present(frame: Any, cols: Sequence[Hashable | None]) -> list[Hashable]:
    """The named columns that the frame has, once each (the rules name a missing one)."""
    have = columns(frame)
    return [c for c in dict.fromkeys(cols) if c is not None and c in have]


def _inferred_end(employment: Any, month_col: Hashable) -> int | None:
    """The end of the records read from the month histogram of all employment records
    (counted on the engine), as the pandas rules read it; ``None`` when some months are
    missing or not dates."""

    def histogram(chunk: pd.DataFrame) -> pd.DataFrame:
        try:
            month, missing = month_numbers(chunk, month_col, role="month", func=_FUNC,
                                           param="employment")
        except DwpEvalError:
            return pd.DataFrame({"month": [_BAD_MONTH], "n": [1.0]})
        if missing.any():
            return pd.DataFrame({"month": [_BAD_MONTH], "n": [1.0]})
        return pd.DataFrame({"month": month.astype(np.int64), "n": np.ones(len(month))})

    sums = map_sums(employment, [month_col], histogram, ["n"], key="month")
    months = sums.index.to_numpy(dtype=np.int64)
    if len(months) and months[0] == _BAD_MONTH:
        return None
    counts = sums["n"].to_numpy(dtype=np.float64)
    return _end_from_histogram(months, counts, None)


def _merged(kind: Any, reports: list[dict[str, Any]], people: pd.DataFrame,
            end: tuple[int, str]) -> Any:
    """The partitions' reports as one: counts added up, examples chosen again from the
    partitions' examples (the smallest ids overall are among them)."""
    n_people = sum(r["follow_up"]["n_people"] for r in reports)
    if n_people == 0:
        check_data(people, func=_FUNC, param="people")  # raises: people has no rows
    if sum(r["follow_up"]["n_complete"] for r in reports) == 0:
        first = min(r["first_start"] for r in reports if r["first_start"] is not None)
        raise _no_complete_error(first, reports[0]["follow_up"]["months"], end[0])
    problems = {key: _merged_problem([r["problems"][key] for r in reports])
                for key in reports[0]["problems"]}
    follow_up = dict(reports[0]["follow_up"])
    for key in ("n_people", "n_complete", "n_incomplete", "n_not_started"):
        follow_up[key] = sum(r["follow_up"][key] for r in reports)
    n_ben = [r["n_ben"] for r in reports]
    return kind(
        problems=problems,
        n_emp=sum(r["n_emp"] for r in reports),
        n_ben=None if n_ben[0] is None else sum(n_ben),
        n_known=sum(r["n_known"] for r in reports),
        data_end=end[0],
        data_end_from=end[1],
        follow_up=follow_up,
        settings=reports[0]["settings"],
        first_start=min((r["first_start"] for r in reports if r["first_start"] is not None),
                        default=None),
    )


def _merged_problem(entries: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(entries[0])
    out["n_records"] = sum(e["n_records"] for e in entries)
    out["examples"] = (example_ids([x for e in entries for x in e["examples"]])
                       if out["n_records"] else ())
    if "latest" in out:
        latest = [e["latest"] for e in entries if e["latest"] is not None]
        out["latest"] = max(latest) if latest else None
    return out
