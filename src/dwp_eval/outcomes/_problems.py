"""Problems found in the records of :func:`derive_outcomes`: records naming ids that are
not in ``people`` are left out, counted in ``result.attrs["data_problems"]`` and named
in one :class:`~dwp_eval.errors.RecordProblemsWarning`."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.records import example_ids
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import RecordProblemsWarning
from dwp_eval.outcomes._inputs import _FUNC


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


def _warn_problems(
    problems: dict[str, dict[str, Any]], *, n_emp: int, n_ben: int | None, n_known: int
) -> None:
    """Warn once about every problem in ``problems``; call from ``derive_outcomes`` itself
    (the warning points at its caller)."""
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
    if parts:
        warnings.warn(
            f"{_FUNC}: " + "; ".join(parts) + ". They were left out; counts in "
            "result.attrs['data_problems'].",
            RecordProblemsWarning,
            stacklevel=3,
        )
