"""Which referral records are of similar provision, for :func:`dwp_eval.flag_contamination`
(private): the rule form of ``similar``, and provision names that are unknown or look like a
similar name (possible misspellings that would hide contamination)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list
from dwp_eval.errors import OptionError

__all__ = ["SimilarRule", "apply_rule", "unknown_counts", "unknown_provision"]


#: The rule form of ``similar``: referral records -> one boolean (or 0/1) per record.
SimilarRule = Callable[[pd.DataFrame], Any]


# ------------------------------------------------------------------ similar provision


def _normalise_name(name: Any) -> str:
    return " ".join(str(name).replace("-", " ").replace("_", " ").casefold().split())


def unknown_provision(names: np.ndarray, similar: Sequence[Any], known: Sequence[Any] | None) -> dict[Any, str]:
    """Provision names that are not similar and are unknown or look like a similar name."""
    similar_set = set(similar)
    known_set = set(known) if known is not None else None
    norm_similar = {_normalise_name(s): s for s in similar}
    out: dict[Any, str] = {}
    for name in names:
        if name in similar_set:
            continue
        norm = _normalise_name(name)
        close = norm_similar.get(norm)
        if close is None:
            match = difflib.get_close_matches(norm, list(norm_similar), n=1, cutoff=0.9)
            close = norm_similar[match[0]] if match else None
        if close is not None:
            out[name] = f"looks like similar provision {close!r}"
        elif known_set is not None and name not in known_set:
            out[name] = "neither in similar nor in known"
    return out



def apply_rule(rule: SimilarRule, view: pd.DataFrame, func: str) -> np.ndarray:
    got = rule(view)
    arr = np.asarray(got)
    if arr.shape != (len(view),):
        raise OptionError(
            f"The 'similar' rule of {func} must return one value per referral record "
            f"({len(view):,}). Got shape {arr.shape} instead."
        )
    if arr.dtype == bool:
        return arr
    if pd.isna(pd.Series(arr)).any():
        raise OptionError(
            f"The 'similar' rule of {func} returned missing values. Fix: return True/False for "
            f"every record (e.g. .fillna(False))."
        )
    values = pd.unique(pd.Series(arr)).tolist()
    if not set(values) <= {0, 1}:
        bad = sorted((v for v in values if v not in (0, 1)), key=str)[:5]
        raise OptionError(
            f"The 'similar' rule of {func} must return booleans or 0/1. Got values "
            f"{_fmt_list(bad)} instead."
        )
    return arr.astype(bool)



def unknown_counts(unknown: dict[Any, str], names: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """The records of each unknown provision name (``unknown``: name -> why), as a frame
    that the partitions of a Dask or Spark frame stack (``name``, ``n``, ``why``)."""
    bad = list(unknown)
    counts = np.bincount(codes, minlength=len(names)) if len(bad) else np.zeros(0, dtype=np.int64)
    lookup = {nm: i for i, nm in enumerate(names)}
    return pd.DataFrame({
        "name": pd.Series(bad, dtype=object),
        "n": np.array([int(counts[lookup[nm]]) for nm in bad], dtype=np.int64),
        "why": pd.Series([unknown[nm] for nm in bad], dtype=object),
    })
