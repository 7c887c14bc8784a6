"""Checks of an allocation against its re-drawing (private to ``design``): every
column of the table compared with the re-drawn one, and new people's ids put in
the allocation's dtype."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list
from dwp_eval.design import _engine as eng
from dwp_eval.errors import ColumnError, VerificationError

__all__ = ["as_dtype", "compare_columns"]


def compare_columns(tab: pd.DataFrame, again: pd.DataFrame, design: eng.Design, *, func: str) -> None:
    """Every column of the table against the re-drawn table (rows aligned by id)."""
    id_name = design.id
    again = again.copy()
    for col in ("block", "block_size"):  # NA where a batch had no blocks, as in the table
        if col in again.columns:
            again[col] = again[col].astype("Int64")
    if list(tab.columns) != list(again.columns):
        raise VerificationError(
            f"{func}: the table's columns {_fmt_list(tab.columns)} differ from the re-drawn "
            f"allocation's {_fmt_list(again.columns)}. The table has been changed."
        )
    recorded = tab["arm"].astype(object).to_numpy()
    expected = again["arm"].astype(object).to_numpy()
    bad = np.flatnonzero(recorded != expected)
    if bad.size:
        eg = [f"{tab[id_name].iloc[i]}: table {recorded[i]!r}, re-drawn {expected[i]!r}" for i in bad[:5]]
        raise VerificationError(
            f"{func}: {bad.size:,} person(s) have an arm that the recorded seeds do not "
            f"reproduce ({'; '.join(eg)}). The table has been changed since it was drawn."
        )
    p = design.probabilities
    for j, arm in enumerate(design.arms):
        col = f"prob_{arm}"
        if col not in tab.columns or not np.allclose(
            tab[col].to_numpy(dtype=float), p[j], rtol=0, atol=1e-12
        ):
            raise VerificationError(
                f"{func}: column {col!r} does not hold the design probability {p[j]:.6g} for "
                "every person. The table has been changed."
            )
    for col in tab.columns:
        if col == "arm" or str(col).startswith("prob_"):
            continue
        a, b = _texts(tab[col]), _texts(again[col])
        bad = np.flatnonzero(a != b)
        if bad.size:
            i = int(bad[0])
            raise VerificationError(
                f"{func}: column {col!r} differs from the re-drawn allocation for "
                f"{bad.size:,} person(s) (e.g. {tab[id_name].iloc[i]}: table {a[i]!r}, "
                f"re-drawn {b[i]!r}). The table has been changed since it was drawn."
            )


def _texts(values: pd.Series) -> np.ndarray:
    """Cell values as text, missing ones as ``<NA>`` (1 and 1.0 differ; Int64 1 and int 1 agree)."""
    text = values.astype(object).astype(str).to_numpy(dtype=object)
    text[values.isna().to_numpy()] = "<NA>"
    return text


def as_dtype(values: pd.Series, dtype: Any, *, func: str) -> pd.Series:
    """New people's ids (or clusters) in the dtype of the allocation's column."""
    if values.dtype == dtype:
        return values
    if isinstance(dtype, pd.CategoricalDtype):
        return values.astype(object)  # concatenated, then made categorical again below
    try:
        out = values.astype(dtype)
    except (TypeError, ValueError, OverflowError):
        out = None
    if out is None or not (out.astype(str).to_numpy() == values.astype(str).to_numpy()).all():
        raise ColumnError(
            f"{func}: column {values.name!r} of new_people has dtype {values.dtype}, which cannot "
            f"hold the allocation's ids of dtype {dtype} exactly. Fix: give the new people's "
            f"column the allocation's type, e.g. new_people[{values.name!r}].astype({str(dtype)!r})."
        )
    return out
