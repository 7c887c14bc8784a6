"""Reading people and their records, shared by :func:`dwp_eval.flag_contamination`
and :func:`dwp_eval.take_up` (private).

Both read one row per person randomised and records (referrals, programme starts)
keyed by the person's id, with dates compared as calendar days after randomisation.
Record problems (ids not in the trial, duplicates, dates before randomisation, ...)
are never dropped in silence: :class:`RecordProblems` counts each kind, keeps
examples for ``result.attrs["data_problems"]`` and states every count in one
:class:`~dwp_eval.errors.RecordProblemsWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.records import date_text, day_numbers, example_ids, no_missing, parse_dates
from dwp_eval._validation import (
    _fmt_list,
    arm_keys,
    as_column_list,
    check_columns,
    check_data,
    check_no_missing,
    check_unique,
    label_key,
    label_order,
)
from dwp_eval.errors import DesignError, OptionError, RecordProblemsWarning

__all__ = [
    "DATES_FIX",
    "People",
    "RecordProblems",
    "check_control",
    "check_people",
    "check_records",
    "check_window",
    "checked_days",
    "duplicated",
    "example_rows",
    "examples_text",
    "first_dates",
    "merge_raw",
    "positions",
    "record_examples",
    "shift",
    "text_rank",
    "unknown_ids",
]

#: The fix named when a date column has missing dates.
DATES_FIX = "remove those records or fill in their dates before calling {func}."


@dataclass(frozen=True)
class People:
    """The people randomised, checked (internal)."""

    frame: pd.DataFrame  # id, assigned, randomised (parsed), keep: the result's first columns
    index: pd.Index  # person ids, for looking up record ids
    arm: np.ndarray  # arm labels as str
    day: np.ndarray  # randomisation date, days since 1970-01-01


def checked_days(
    data: pd.DataFrame, column: Hashable, *, role: str, func: str, param: str
) -> tuple[pd.Series, np.ndarray]:
    """A date column parsed, and its calendar day numbers; missing dates raise."""
    dates = parse_dates(data, column, role=role, func=func, param=param)
    days, missing = day_numbers(dates)
    no_missing(missing, data, column, role=role, func=func, param=param, noun="date(s)",
               fix=DATES_FIX.format(func=func))
    return dates, days


def _check_keep(
    keep: Any, people: pd.DataFrame, base: list[Hashable], added: Sequence[str], func: str
) -> list[Hashable]:
    cols = as_column_list(keep)
    check_columns(people, cols, role="keep", func=func, param="people")
    clash = [c for c in cols if c in added]
    if clash:
        raise OptionError(
            f"The 'keep' parameter of {func} names column(s) {_fmt_list(clash)} that the result "
            f"adds itself. Fix: rename them in people first."
        )
    return [c for c in dict.fromkeys(cols) if c not in base]


def check_people(
    people: Any,
    *,
    id: Hashable,
    assigned: Hashable,
    control: str,
    randomised: Hashable,
    keep: Any,
    added: Sequence[str],
    func: str,
    whole: bool = True,
) -> People:
    """Check the people randomised (unique ids, arms with the control arm among them,
    randomisation dates) and the ``keep`` columns; ``added`` are the columns the result adds.
    ``whole=False``: ``people`` is one partition of a Dask or Spark frame (it may be empty;
    the caller checks the control arm against the arms of all partitions)."""
    people = check_data(people, func=func, param="people", allow_empty=not whole)
    check_columns(people, [id], role="id", func=func, param="people")
    check_columns(people, [assigned], role="assigned", func=func, param="people")
    check_columns(people, [randomised], role="randomised", func=func, param="people")
    base = list(dict.fromkeys([id, assigned, randomised]))
    extra = _check_keep(keep, people, base, added, func)
    check_no_missing(people, id, role="id", func=func)
    check_no_missing(people, assigned, role="assigned", func=func)
    check_unique(people, id, role="id", func=func)
    rand, day = checked_days(people, randomised, role="randomised", func=func, param="people")
    frame = people[base + extra].copy()
    frame[randomised] = rand
    # labels compared by value (0 == "0" == 0.0 == False), as everywhere
    arm = arm_keys(people[assigned]).to_numpy(dtype=object, na_value="<NA>")
    if whole:
        check_control(sorted(set(arm.tolist()), key=label_order), control, assigned, func=func)
    return People(frame, pd.Index(people[id]), arm, day)


def check_control(present: Sequence[str], control: str, assigned: Hashable, *, func: str) -> None:
    """Raise :class:`DesignError` when the control arm is not among the arms ``present``."""
    if label_key(control) not in present:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(present)}. Fix: pass control= with the control arm's label."
        )


def check_records(
    records: Any, columns: Sequence[tuple[Hashable, str]], *, func: str, param: str
) -> pd.DataFrame:
    """Check a frame of records (it may be empty) and its ``(column, role)`` columns."""
    data = check_data(records, func=func, param=param, allow_empty=True)
    for column, role in columns:
        check_columns(data, [column], role=role, func=func, param=param)
    return data


def check_window(window_days: Any, func: str) -> tuple[int, int]:
    """``window_days`` as ``(first, last)`` days after randomisation."""
    ok = (
        isinstance(window_days, (tuple, list))
        and len(window_days) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in window_days)
        and window_days[0] <= window_days[1]
    )
    if not ok:
        raise OptionError(
            f"The 'window_days' parameter of {func} must be a pair of ints (first, last) with "
            f"first <= last, in days after randomisation. Got {window_days!r} instead."
        )
    return int(window_days[0]), int(window_days[1])


def positions(people: People, records: pd.DataFrame, id: Hashable, *, func: str) -> np.ndarray:
    """Row of each record's person in ``people`` (-1: id not in the trial)."""
    check_no_missing(records, id, role="id", func=func)
    return np.asarray(people.index.get_indexer(records[id]), dtype=np.int64)


def duplicated(keys: list[np.ndarray]) -> np.ndarray:
    """True for every record equal, on all ``keys`` (non-negative ints), to an earlier one."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=bool)
    widths = [int(k.max()) + 1 for k in keys]
    if float(np.prod([float(w) for w in widths])) < 2.0**62:
        packed = np.zeros(n, dtype=np.int64)
        for k, w in zip(keys, widths, strict=True):
            packed = packed * w + k
        return np.asarray(pd.Series(packed).duplicated().to_numpy(), dtype=bool)
    return np.asarray(pd.DataFrame({i: k for i, k in enumerate(keys)}).duplicated().to_numpy(), dtype=bool)


def shift(x: np.ndarray) -> np.ndarray:
    """Values moved to start at 0 (for packing keys)."""
    return x - x.min() if x.size else x


def first_dates(day: np.ndarray, has: np.ndarray, people: People) -> tuple[np.ndarray, Any]:
    """Each person's first date (``day``; NaT where ``has`` is False) as datetime64, and its
    days after randomisation (Int64; missing where ``has`` is False)."""
    dates = np.where(has, day, 0).astype("datetime64[D]").astype("datetime64[ns]")
    dates[~has] = np.datetime64("NaT", "ns")
    days = pd.array(np.where(has, day - people.day, 0), dtype="Int64")
    days[~has] = pd.NA
    return dates, days


def text_rank(names: np.ndarray) -> np.ndarray:
    """Rank of each name in the order of the names as text (ties in their order)."""
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array([str(x) for x in names], dtype=object), kind="stable")] = np.arange(len(names))
    return rank


def _id_rank(ids: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Rank of the ids of ``rows`` by value (by text if values do not compare)."""
    sub = ids.to_numpy()[rows]
    try:
        _, inv = np.unique(sub, return_inverse=True)
    except TypeError:
        _, inv = np.unique(sub.astype(str), return_inverse=True)
    return np.asarray(inv, dtype=np.int64).ravel()


def example_rows(
    rows: np.ndarray,
    ids: pd.Series,
    day: np.ndarray,
    label: tuple[np.ndarray, np.ndarray] | None = None,
    limit: int = 3,
) -> pd.DataFrame:
    """The records that :func:`record_examples` names (at most ``limit``; columns ``id``,
    ``day`` and, with ``label``, ``label``): the examples of several partitions together
    hold the examples of all their records."""
    if rows.size and label is not None:
        names, codes = label
        order = np.lexsort((text_rank(names)[codes[rows]], day[rows], _id_rank(ids, rows)))
    elif rows.size:
        order = np.lexsort((day[rows], _id_rank(ids, rows)))
    else:
        order = np.zeros(0, dtype=np.int64)
    picked = rows[order][:limit]
    out = pd.DataFrame({"id": ids.to_numpy()[picked], "day": day[picked]})
    if label is not None:
        out["label"] = pd.Series(label[0][label[1][picked]], dtype=object)
    return out


def examples_text(examples: pd.DataFrame, limit: int = 3) -> list[str]:
    """Short, row-order-free descriptions of some records (a frame from
    :func:`example_rows`, or several of them stacked): smallest person, then date, then
    the label as text."""
    rows = np.arange(len(examples))
    if rows.size == 0:
        return []
    label = None
    if "label" in examples.columns:
        codes, names = pd.factorize(examples["label"].to_numpy(dtype=object))
        label = (np.asarray(names, dtype=object), np.asarray(codes, dtype=np.int64))
    ids = examples["id"].reset_index(drop=True)
    day = examples["day"].to_numpy(dtype=np.int64)
    picked = example_rows(rows, ids, day, label, limit)
    out = []
    for value, d, *what in picked.itertuples(index=False):
        value = value.item() if isinstance(value, np.generic) else value
        text = f" {what[0]!r}" if what else ""
        out.append(f"id {value!r}:{text} on {date_text(int(d))}")
    return out


def record_examples(
    rows: np.ndarray,
    ids: pd.Series,
    day: np.ndarray,
    label: tuple[np.ndarray, np.ndarray] | None = None,
    limit: int = 3,
) -> list[str]:
    """Short, row-order-free descriptions of some records (smallest person, then date,
    then the ``label`` ``(names, codes)`` as text)."""
    return examples_text(example_rows(rows, ids, day, label, limit), limit)


def unknown_ids(people: People, records: pd.DataFrame, id: Hashable, known: np.ndarray) -> dict[str, Any]:
    """What :meth:`RecordProblems.unknown_ids` reports of the records whose id is not in
    ``people`` (``known`` is False): their number, the smallest ids and the id types."""
    return {
        "n": int((~known).sum()),
        "ids": example_ids(records[id].to_numpy()[~known]),
        "types": (_id_type(people.index), _id_type(records[id])),
    }


def merge_raw(raws: Sequence[Any]) -> Any:
    """Several partitions' problem reports as one: counts (ints) added up, example frames
    stacked, example ids (``"ids"``) chosen again, anything else (settings) from the first."""
    first = raws[0]
    if isinstance(first, dict):
        return {key: (example_ids([v for r in raws for v in r[key]]) if key == "ids"
                      else merge_raw([r[key] for r in raws])) for key in first}
    if isinstance(first, pd.DataFrame):
        return pd.concat(list(raws), ignore_index=True)
    if isinstance(first, (int, np.integer)) and not isinstance(first, bool):
        return int(sum(raws))
    return first


class RecordProblems:
    """The record problems of one call: for each kind (in the order added) the count,
    the action taken and examples (``entries``, for ``attrs["data_problems"]``), and
    the text the warning gives when the count is not zero."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self._texts: dict[str, str] = {}

    def add(self, kind: str, n: int, action: str, examples: Sequence[Any], text: str) -> None:
        self.entries[kind] = {
            "n_records": int(n), "action": action, "examples": tuple(examples) if n else (),
        }
        self._texts[kind] = text

    def unknown_ids(self, raw: dict[str, Any], n_records: int) -> None:
        """Records whose id is not in ``people`` (``raw``: from :func:`unknown_ids`, of all
        ``n_records`` records): left out."""
        n, examples = raw["n"], raw["ids"]
        hint = ""
        if n and n == n_records:
            hint = (
                f"; no record matched a person: are the ids of the same type? "
                f"(people: {raw['types'][0]}, records: {raw['types'][1]})"
            )
        self.add("unknown_id", n, "left out: the id is not in people", examples,
                 f"{n:,} record(s) name ids not in people (left out; e.g. {_fmt_list(examples)})"
                 + hint)

    def duplicates(self, n: int, examples: Sequence[Any]) -> None:
        """Records equal to an earlier one: counted once."""
        self.add("duplicate", n, "counted once", examples,
                 f"{n:,} duplicated record(s) (counted once)")

    def warn(self, func: str, total: int, what: str, *, attrs: bool = True) -> None:
        """One :class:`~dwp_eval.errors.RecordProblemsWarning` stating every non-zero count
        (attributed to the caller of ``func``); ``attrs=False``: the result (a Dask or Spark
        frame) has no ``attrs``, so the warning is where the counts are."""
        parts = [self._texts[k] for k, v in self.entries.items() if v["n_records"]]
        if not parts:
            return
        n_bad = sum(v["n_records"] for v in self.entries.values())
        warnings.warn(
            f"{func}: {n_bad:,} problem(s) in {total:,} {what}: " + "; ".join(parts)
            + ". Nothing was dropped silently: "
            + ("details in result.attrs['data_problems']." if attrs
               else "these are the counts (a Dask or Spark result has no attrs)."),
            RecordProblemsWarning,
            stacklevel=3,
        )


def _id_type(ids: pd.Index | pd.Series) -> str:
    """The type of a column of ids as a reader knows it: ``str`` for text whatever pandas
    stores it as (``object`` before pandas 3, ``str`` or ``string`` after), else the dtype."""
    return "str" if pd.api.types.is_string_dtype(ids) and not isinstance(
        ids.dtype, pd.CategoricalDtype) else str(ids.dtype)
