"""Column checks shared by :func:`dwp_eval.attrition`, :func:`dwp_eval.lee_bounds` and
:func:`dwp_eval.flow` (private)."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list, binary_values, check_no_missing, compared_arms
from dwp_eval.errors import MissingDataError

__all__ = ["binary_among", "responded_values", "response_arms"]


def binary_among(
    s: pd.Series, column: Hashable, *, role: str, func: str, among: str, fix: str, example: str
) -> np.ndarray:
    """``s`` (the rows that must have a value) as booleans; raise on missing values or
    values other than 0/1.

    The missing-value message counts the rows as "among the {n} {among}" and ends
    with ``fix``; ``example`` is the recoding suggested for other values.
    """
    isna = s.isna().to_numpy()
    if isna.any():
        first = s.index[isna][:5].tolist()
        raise MissingDataError(
            f"{func}: column {column!r} ({role}) has {int(isna.sum()):,} missing value(s) among "
            f"the {len(s):,} {among} (first at rows {_fmt_list(first, 5)}). Fix: {fix}"
        )
    return binary_values(s, column, role=role, func=func, example=example)


def responded_values(s: pd.Series, column: Hashable, *, func: str) -> np.ndarray:
    """The 0/1 response column on the rows of the compared arms, as booleans."""
    return binary_among(
        s, column, role="responded", func=func, among="rows of the compared arms",
        fix="record 0 (did not respond) or 1 (responded) for everyone randomised.",
        example=f"df[{column!r}].notna().astype(int)",
    )


def response_arms(
    data: pd.DataFrame, assigned: Hashable, control: str, treatment: str | None, *, func: str
) -> tuple[np.ndarray, str]:
    """Rows of the two arms whose response is compared (a boolean mask) and the treatment
    arm's label; every row must have an arm."""
    check_no_missing(data, assigned, role="assigned", func=func)
    _, keep, label = compared_arms(data, assigned, control, treatment, func=func,
                                   purpose="comparing response")
    return keep, label
