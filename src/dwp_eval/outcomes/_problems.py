"""Problems found in the records of :func:`derive_outcomes`: records naming ids that are
not in ``people`` are left out, and employment records dated after the end of the
records (``data_end``, given or inferred) are ignored; both are counted in
``result.attrs["data_problems"]`` and named in one
:class:`~dwp_eval.errors.RecordProblemsWarning`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.records import date_text, example_ids, month_of
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import RecordProblemsWarning
from dwp_eval.outcomes._inputs import _FUNC
from dwp_eval.outcomes._windows import RECORDS_END_SHARE


def _left_out(record_ids: pd.Series | None, known: np.ndarray | None) -> dict[str, Any]:
    """The problem report of the records whose id is not in ``people`` (``~known``);
    ``record_ids=None``: there are no such records."""
    ids: np.ndarray = np.zeros(0)
    if record_ids is not None and known is not None and not known.all():
        ids = record_ids.to_numpy()[~known]
    return {
        "n_records": len(ids),
        "action": "left out",
        "examples": example_ids(ids) if len(ids) else (),
    }


def _after_end(record_ids: pd.Series, month: np.ndarray, data_end: int) -> dict[str, Any]:
    """The problem report of the employment records dated after ``data_end`` (a month
    starting after it): they complete no one's window and are ignored."""
    late = month > int(month_of(np.array([data_end]))[0])
    ids = record_ids.to_numpy()[late]
    return {
        "n_records": int(late.sum()),
        "action": "ignored (dated after data_end)",
        "examples": example_ids(ids) if len(ids) else (),
        "latest": str(np.datetime64(int(month[late].max()), "M")) if late.any() else None,
    }


def _warn_problems(
    problems: dict[str, dict[str, Any]], *, n_emp: int, n_ben: int | None, n_known: int,
    data_end: int, inferred: bool, func: str = _FUNC, attrs: bool = True,
) -> None:
    """Warn once about every problem in ``problems``; call from ``derive_outcomes`` itself
    (the warning points at its caller). ``attrs=False``: the result is a Dask or Spark
    frame, which has no ``attrs``, so the warning says the counts are its own."""
    parts = []
    e = problems["employment_unknown_id"]
    if e["n_records"]:
        hint = ""
        if n_known == 0:
            hint = (
                " (no employment record matches anyone: check that the id columns have "
                "the same type)"
            )
        parts.append(
            f"{e['n_records']:,} of {n_emp:,} employment record(s) name ids not in people "
            f"(e.g. {_fmt_list(e['examples'])}){hint}"
        )
    bp = problems["benefits_unknown_id"]
    if bp["n_records"]:
        parts.append(
            f"{bp['n_records']:,} of {n_ben or 0:,} benefit spell(s) name ids not in people "
            f"(e.g. {_fmt_list(bp['examples'])})"
        )
    late = problems["employment_after_data_end"]
    if late["n_records"]:
        end = date_text(data_end)
        how = (
            f"data_end was not given, so the records were taken to end {end}: the last month "
            f"of the bulk of the employment records (at least {100 * RECORDS_END_SHARE:g}% of their "
            "median number per month)" if inferred else f"data_end is {end}"
        )
        parts.append(
            f"{how}; {late['n_records']:,} of {n_emp:,} employment record(s) are dated after it "
            f"(up to {late['latest']}; e.g. ids {_fmt_list(late['examples'])}): a typo in a "
            "date, or records not yet complete. They were ignored and complete no one's "
            "follow-up. Fix: correct those dates, or pass data_end= with the last day the "
            "records are complete for"
        )
    if parts:
        warnings.warn(
            f"{func}: " + "; ".join(parts) + ". They were left out; "
            + ("counts in result.attrs['data_problems']." if attrs
               else "these are the counts (a Dask or Spark result has no attrs)."),
            RecordProblemsWarning,
            stacklevel=3,
        )
