"""Canonical data: people (or clusters) in an order that does not depend on the
order of the input rows, stratum codes in the lexicographic order of their
values, and the SHA-256 fingerprint of what was allocated.

1. units (people, or clusters in a cluster design) are put in a canonical order:
   ids sorted numerically when they are integers, as text otherwise;
2. strata are coded in the lexicographic order of their values (as text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    check_columns,
    check_data,
    check_no_missing,
    check_unique,
)
from dwp_eval.design._engine.spec import Design
from dwp_eval.errors import ColumnError, DesignError

__all__ = [
    "FINGERPRINT_VERSION",
    "Prepared",
    "canonical_keys",
    "chain_fingerprint",
    "coerce_keys",
    "fingerprint",
    "join_stratum",
    "prepare",
    "stratum_codes",
]

FINGERPRINT_VERSION = b"dwp_eval-fingerprint-v1\n"


def canonical_keys(values: pd.Series, *, role: str, func: str) -> tuple[str, np.ndarray]:
    """Return ``(kind, keys)``: integer ids as int64, anything else as text."""
    if pd.api.types.is_bool_dtype(values):
        return "str", values.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_integer_dtype(values):
        if pd.api.types.is_unsigned_integer_dtype(values) and len(values) and (
            int(values.max()) > np.iinfo(np.int64).max
        ):
            # beyond int64: compared (and ordered) as their decimal text
            return "str", np.asarray([str(int(v)) for v in values], dtype=object)
        return "int", values.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(values):
        v = values.to_numpy(dtype=float)
        if np.all(np.isfinite(v)) and np.all(v == np.round(v)) and np.all(np.abs(v) < 2**53):
            return "int", v.astype(np.int64)
        raise ColumnError(
            f"{func}: column {values.name!r} ({role}) holds non-integer numbers such as "
            f"{v[v != np.round(v)][:3].tolist()}. Fix: use integer or text ids."
        )
    return "str", values.astype(str).to_numpy(dtype=object)


def coerce_keys(values: pd.Series, kind: str, *, role: str, func: str) -> np.ndarray:
    """Canonical keys of ``values`` converted to a recorded ``kind`` when possible."""
    got, keys = canonical_keys(values, role=role, func=func)
    if got == kind:
        return keys
    if kind == "str":
        return keys.astype(str).astype(object)
    try:
        return np.asarray([int(k) for k in keys], dtype=np.int64)
    except (TypeError, ValueError):
        raise ColumnError(
            f"{func}: column {values.name!r} ({role}) holds text such as {keys[:3].tolist()}, "
            "but the allocation recorded integer ids. Fix: read the file with integer ids."
        ) from None


def _sort_order(keys: np.ndarray) -> np.ndarray:
    if keys.dtype == object:
        return np.argsort(keys.astype(str), kind="stable")
    if keys.size:
        lo, hi = int(keys.min()), int(keys.max())
        if hi - lo < 4 * keys.size:
            # distinct integers in a narrow range (the usual ids): place each at its offset
            slot = np.full(hi - lo + 1, -1, dtype=np.int64)
            slot[keys - lo] = np.arange(keys.size)
            order = slot[slot >= 0]
            if order.size == keys.size:
                return order
    return np.argsort(keys, kind="stable")


def _small_int_factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize`` (sorted) for integers spanning a small range, by table lookup."""
    if not pd.api.types.is_integer_dtype(values) or not isinstance(values.dtype, np.dtype):
        return None
    v = values.to_numpy()
    if v.size == 0:
        return None
    lo, hi = int(v.min()), int(v.max())
    if hi - lo > max(4 * v.size, 1024):
        return None
    present = np.zeros(hi - lo + 1, dtype=bool)
    present[v - lo] = True
    rank = np.cumsum(present) - 1
    return rank[v - lo], np.flatnonzero(present) + lo


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes of ``values`` ranked by their text form, and the sorted texts."""
    fast = _small_int_factorize(values)
    codes, uniques = fast if fast is not None else pd.factorize(values, sort=False)
    texts = [str(u) for u in uniques]
    rank_order = np.argsort(np.asarray(texts, dtype=object).astype(str), kind="stable")
    rank = np.empty(len(texts), dtype=np.int64)
    rank[rank_order] = np.arange(len(texts))
    return rank[codes], [texts[i] for i in rank_order]


def join_stratum(values: Any) -> str:
    """The label of a combination of strata values: the values joined by ``|``,
    each with ``\\`` written ``\\\\`` and ``|`` written ``\\|`` (an unambiguous encoding:
    values without either character read as before, e.g. ``North West|ESA``)."""
    return "|".join(str(v).replace("\\", "\\\\").replace("|", "\\|") for v in values)


def stratum_codes(data: pd.DataFrame, strata: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Dense stratum codes in lexicographic order of the strata values (as text).

    The label of a stratum joins its values with ``|`` in the order of ``strata``;
    with several columns, a ``|`` or ``\\`` inside a value is written ``\\|`` or
    ``\\\\`` (see :func:`join_stratum`), so two different combinations never share
    a label (``"a|b" + "c"`` is ``a\\|b|c``, ``"a" + "b|c"`` is ``a|b\\|c``).
    """
    n = len(data)
    if not strata:
        return np.zeros(n, dtype=np.int64), ["all"]
    combined = np.zeros(n, dtype=np.int64)
    per_col: list[list[str]] = []
    for col in strata:
        codes, texts = _text_codes(data[col])
        combined = combined * len(texts) + codes
        per_col.append(texts)
    if len(strata) == 1:
        return combined, per_col[0]
    codes, uniq = pd.factorize(combined, sort=False)
    rank_order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[rank_order] = np.arange(len(uniq))
    inverse = rank[codes]
    uniq = uniq[rank_order]
    labels = []
    for code in uniq.tolist():
        parts = []
        for texts in reversed(per_col):
            code, r = divmod(code, len(texts))
            parts.append(texts[r])
        labels.append(join_stratum(reversed(parts)))
    return inverse.astype(np.int64), labels


@dataclass
class Prepared:
    """A validated batch of people in canonical order (internal)."""

    ids: np.ndarray  # canonical keys, sorted
    id_kind: str
    id_values: pd.Series  # original id values in canonical order
    stratum: np.ndarray  # code per person
    stratum_labels: list[str]
    cluster: np.ndarray | None  # canonical cluster key per person
    cluster_kind: str | None
    cluster_values: pd.Series | None
    order_rank: np.ndarray | None  # arrival rank per person
    covariates: np.ndarray | None  # n x K for re-randomisation
    # units: people, or clusters
    unit_of_person: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unit_stratum: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unit_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unit_arrival: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.ids)


def prepare(
    data: Any,
    design: Design,
    *,
    func: str,
    id_kind: str | None = None,
    cluster_kind: str | None = None,
) -> Prepared:
    """Validate ``data`` against ``design`` and put it in canonical order."""
    data = check_data(data, func=func)
    check_columns(data, [design.id], role="id", func=func)
    check_columns(data, design.strata, role="strata", func=func)
    if design.cluster is not None:
        check_columns(data, [design.cluster], role="cluster", func=func)
    if design.order is not None:
        check_columns(data, [design.order], role="order", func=func)
    covs = list(design.rule.covariates) if design.rule is not None else []
    check_columns(data, covs, role="covariates", func=func)
    check_no_missing(data, design.id, role="id", func=func)
    for col in design.strata:
        check_no_missing(data, col, role="strata", func=func)
    if design.cluster is not None:
        check_no_missing(data, design.cluster, role="cluster", func=func)
    if design.order is not None:
        check_no_missing(data, design.order, role="order", func=func)

    if id_kind is None:
        id_kind, keys = canonical_keys(data[design.id], role="id", func=func)
    else:
        keys = coerce_keys(data[design.id], id_kind, role="id", func=func)
    if keys.dtype != object and bool(np.all(keys[1:] > keys[:-1])):
        perm = None  # already in canonical order, so also unique
        has_dup = False
    else:
        perm = _sort_order(keys)
        keys = keys[perm]
        # duplicates are neighbours once sorted; check_unique then writes the message
        if keys.dtype == object:
            text = keys.astype(str)
            has_dup = bool(np.any(text[1:] == text[:-1]))
        else:
            has_dup = bool(np.any(keys[1:] == keys[:-1]))
    if has_dup:
        check_unique(data, design.id, role="id", func=func)
        raise ColumnError(  # ids equal only as text (e.g. 1 and "1"): still duplicates
            f"{func}: column {design.id!r} (id) holds values that are the same once written "
            "as text. Fix: make the ids unique."
        )
    frame = data if perm is None else data.iloc[perm]
    strat, labels = stratum_codes(frame, design.strata)

    cl_keys = None
    cl_vals = None
    if design.cluster is not None:
        if cluster_kind is None:
            cluster_kind, cl_keys = canonical_keys(frame[design.cluster], role="cluster", func=func)
        else:
            cl_keys = coerce_keys(frame[design.cluster], cluster_kind, role="cluster", func=func)
        cl_vals = frame[design.cluster].reset_index(drop=True)

    order_rank = None
    if design.order is not None:
        order_rank, _ = pd.factorize(frame[design.order], sort=True)
        order_rank = np.asarray(order_rank, dtype=np.int64)

    cov = None
    if covs:
        mats = []
        for c in covs:
            col = frame[c]
            if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
                raise ColumnError(
                    f"{func}: column {c!r} (re-randomisation covariate) must be numeric or 0/1; "
                    f"it has dtype {col.dtype}. Fix: encode it as numbers or dummy columns."
                )
            check_no_missing(frame, c, role="re-randomisation covariate", func=func)
            v = col.to_numpy(dtype=float)
            if np.ptp(v) == 0:
                raise DesignError(
                    f"{func}: column {c!r} (re-randomisation covariate) is constant, so its "
                    "standardised difference is undefined. Fix: drop it from the rule."
                )
            mats.append(v)
        cov = np.column_stack(mats)

    prep = Prepared(
        ids=keys,
        id_kind=id_kind,
        id_values=frame[design.id].reset_index(drop=True),
        stratum=strat,
        stratum_labels=labels,
        cluster=cl_keys,
        cluster_kind=cluster_kind,
        cluster_values=cl_vals,
        order_rank=order_rank,
        covariates=cov,
    )
    _build_units(prep, design, func=func)
    return prep


def _build_units(prep: Prepared, design: Design, *, func: str) -> None:
    """Define the units of assignment (people or clusters) and their arrival order."""
    n = prep.n
    arrival_person = prep.order_rank if prep.order_rank is not None else np.zeros(n, np.int64)
    if prep.cluster is None:
        prep.unit_of_person = np.arange(n, dtype=np.int64)
        prep.unit_stratum = prep.stratum
        prep.unit_keys = prep.ids
        prep.unit_arrival = arrival_person
        return
    cl = prep.cluster
    # cluster keys are int64 or text, so a sorted factorize orders them canonically
    codes, uniques = pd.factorize(cl, sort=True)
    unit = np.asarray(codes, dtype=np.int64)
    n_units = len(uniques)
    unit_keys = np.asarray(uniques, dtype=cl.dtype)
    s_of_unit = np.empty(n_units, dtype=np.int64)
    s_of_unit[unit] = prep.stratum  # any member's stratum; all agree unless a cluster is split
    split_person = prep.stratum != s_of_unit[unit]
    if split_person.any():
        split = np.unique(unit[split_person])
        keys = unit_keys[split][:5].tolist()
        raise DesignError(
            f"{func}: {split.size:,} cluster(s) in column {design.cluster!r} span more than one "
            f"stratum (e.g. {_fmt_list(keys, 5)}), so whole clusters cannot be assigned within "
            f"strata. Fix: stratify on cluster-level columns only (strata={list(design.strata)} "
            "must be constant within each cluster)."
        )
    if prep.order_rank is None:
        arrival = np.zeros(n_units, dtype=np.int64)
    else:
        arrival = np.full(n_units, np.iinfo(np.int64).max)
        np.minimum.at(arrival, unit, arrival_person)
    prep.unit_of_person = unit
    prep.unit_stratum = s_of_unit
    prep.unit_keys = unit_keys
    prep.unit_arrival = arrival


# ------------------------------------------------------------------ fingerprints


def _hash_int64(h: Any, values: np.ndarray) -> None:
    """Feed ``values`` to ``h`` as little-endian int64 bytes, without a copy when possible."""
    h.update(np.ascontiguousarray(values, dtype="<i8").data.cast("B"))


def _hash_keys(h: Any, keys: np.ndarray, kind: str) -> None:
    if kind == "int":
        h.update(b"int64\n")
        _hash_int64(h, keys)
    else:
        h.update(b"str\n" + "\x1f".join(str(k) for k in keys).encode("utf-8"))


def fingerprint(prep: Prepared, design: Design) -> str:
    """SHA-256 of the sorted ids with their strata, cluster and arrival order.

    The hashed byte stream is: the header ``dwp_eval-fingerprint-v1``; the ids in
    canonical order (little-endian int64, or UTF-8 text joined by ``\\x1f``); if
    stratified, the JSON list of stratum labels and each person's stratum code
    (little-endian int64); if clustered, each person's cluster key; if an arrival
    order was given, each person's arrival rank.
    """
    h = hashlib.sha256()
    h.update(FINGERPRINT_VERSION)
    h.update(b"ids:")
    _hash_keys(h, prep.ids, prep.id_kind)
    if design.strata:
        h.update(b"strata:" + json.dumps(prep.stratum_labels).encode("utf-8") + b"\n")
        _hash_int64(h, prep.stratum)
    if prep.cluster is not None and prep.cluster_kind is not None:
        h.update(b"cluster:")
        _hash_keys(h, prep.cluster, prep.cluster_kind)
    if prep.order_rank is not None:
        h.update(b"order:")
        _hash_int64(h, prep.order_rank)
    return h.hexdigest()


def chain_fingerprint(batch_fingerprints: Sequence[str]) -> str:
    """The fingerprint of a multi-batch allocation: SHA-256 over its batches' fingerprints.

    A single-batch allocation's fingerprint is its batch's fingerprint.
    """
    if len(batch_fingerprints) == 1:
        return batch_fingerprints[0]
    h = hashlib.sha256(b"dwp_eval-fingerprint-chain-v1\n")
    for fp in batch_fingerprints:
        h.update(fp.encode("ascii"))
    return h.hexdigest()
