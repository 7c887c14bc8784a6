"""The allocation engine shared by :func:`randomise`, ``Allocation.extend`` and
``Allocation.verify``.

Everything here is deterministic given the design, the data and the random
generator, and does not depend on the order of the input rows:

1. units (people, or clusters in a cluster design) are put in a canonical order:
   ids sorted numerically when they are integers, as text otherwise;
2. strata are coded in the lexicographic order of their values (as text);
3. the generator is consumed in a fixed sequence (see :func:`draw_complete` and
   :func:`draw_blocks`).

Only ``Generator.random`` and ``Generator.integers`` are used, so an allocation
can be re-drawn from its seed on any platform numpy supports.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_columns,
    check_data,
    check_no_missing,
    check_option,
    check_unique,
)
from dwp_eval.errors import ColumnError, DesignError, OptionError

METHODS = ("complete", "permuted_blocks")
FINGERPRINT_VERSION = b"dwp_eval-fingerprint-v1\n"


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class BalanceRule:
    """A re-randomisation rule: redraw until every standardised difference is small.

    Parameters
    ----------
    covariates
        Numeric (or 0/1) baseline columns whose balance is checked.
    max_abs_std_diff
        Accept a draw when, for every covariate and every arm compared with the
        control arm, ``|mean_arm - mean_control| / sqrt((var_arm + var_control) / 2)``
        is below this bound.
    max_draws
        Give up (raising :class:`~dwp_eval.errors.DesignError`) after this many draws.

    Notes
    -----
    Re-randomisation (Morgan & Rubin 2012, *Annals of Statistics* 40(2)) changes
    the assignment mechanism: the nominal probabilities no longer describe the
    design, so inference must be by randomisation tests that repeat the rule.
    """

    covariates: tuple[str, ...]
    max_abs_std_diff: float = 0.1
    max_draws: int = 1000

    def __post_init__(self) -> None:
        covs = as_column_list(self.covariates)
        if not covs:
            raise OptionError(
                "The 'covariates' parameter of BalanceRule must name at least one column. "
                "Got an empty list instead."
            )
        object.__setattr__(self, "covariates", tuple(str(c) for c in covs))
        bound = self.max_abs_std_diff
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
            raise OptionError(
                "The 'max_abs_std_diff' parameter of BalanceRule must be a positive number. "
                f"Got {bound!r} instead."
            )
        draws = self.max_draws
        if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
            raise OptionError(
                "The 'max_draws' parameter of BalanceRule must be a positive int. "
                f"Got {draws!r} instead."
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "covariates": list(self.covariates),
            "max_abs_std_diff": float(self.max_abs_std_diff),
            "max_draws": int(self.max_draws),
        }


@dataclass(frozen=True)
class Design:
    """The recorded description of an allocation design (what the audit log keeps)."""

    id: str
    arms: tuple[str, ...]
    ratios: tuple[float, ...]
    weights: tuple[int, ...]
    control: str
    strata: tuple[str, ...] = ()
    cluster: str | None = None
    order: str | None = None
    method: str = "complete"
    block_sizes: tuple[int, ...] | None = None
    rule: BalanceRule | None = None

    @property
    def label(self) -> str:
        """``complete``, ``stratified``, ``cluster`` or ``stratified-cluster``."""
        if self.cluster is None:
            return "stratified" if self.strata else "complete"
        return "stratified-cluster" if self.strata else "cluster"

    @property
    def probabilities(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def base_block(self) -> int:
        return int(sum(self.weights))

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "id": self.id,
            "arms": dict(zip(self.arms, self.ratios, strict=True)),
            "weights": list(self.weights),
            "control": self.control,
            "strata": list(self.strata),
            "cluster": self.cluster,
            "order": self.order,
            "method": self.method,
            "block_sizes": None if self.block_sizes is None else list(self.block_sizes),
            "rerandomise": None if self.rule is None else self.rule.to_json(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Design:
        rule = d.get("rerandomise")
        arms = dict(d["arms"])
        return cls(
            id=d["id"],
            arms=tuple(arms),
            ratios=tuple(float(v) for v in arms.values()),
            weights=tuple(int(v) for v in d["weights"]),
            control=d["control"],
            strata=tuple(d.get("strata") or ()),
            cluster=d.get("cluster"),
            order=d.get("order"),
            method=d.get("method", "complete"),
            block_sizes=None if d.get("block_sizes") is None else tuple(d["block_sizes"]),
            rule=None if rule is None else BalanceRule(**rule),
        )


def _ratio_weights(arms: Any, func: str) -> tuple[tuple[str, ...], tuple[float, ...], tuple[int, ...]]:
    """Validate ``arms`` and return names, ratios and the smallest integer weights."""
    if isinstance(arms, Mapping):
        items = list(arms.items())
    elif isinstance(arms, (list, tuple)) and all(isinstance(a, str) for a in arms):
        items = [(a, 1) for a in arms]
    else:
        raise OptionError(
            f"The 'arms' parameter of {func} must be a dict of arm name to ratio, e.g. "
            f"{{'control': 1, 'treatment': 2}}, or a list of arm names. Got {arms!r} instead."
        )
    if len(items) < 2:
        raise OptionError(
            f"The 'arms' parameter of {func} must name at least two arms. Got {arms!r} instead."
        )
    names: list[str] = []
    fracs: list[Fraction] = []
    ratios: list[float] = []
    for name, ratio in items:
        if not isinstance(name, str) or not name.strip():
            raise OptionError(
                f"The 'arms' parameter of {func} must have non-empty text arm names. "
                f"Got {name!r} instead."
            )
        if name in names:
            raise OptionError(f"The 'arms' parameter of {func} names arm {name!r} twice.")
        if (
            isinstance(ratio, bool)
            or not isinstance(ratio, (int, float, np.integer, np.floating, Fraction))
            or not math.isfinite(float(ratio))
            or float(ratio) <= 0
        ):
            raise OptionError(
                f"The 'arms' parameter of {func} must give each arm a positive number as its "
                f"ratio. Got {ratio!r} for arm {name!r} instead. Fix: e.g. "
                f"arms={{'control': 1, 'treatment': 2}}."
            )
        names.append(name)
        ratios.append(float(ratio))
        fracs.append(Fraction(str(ratio)).limit_denominator(10_000))
    denom = math.lcm(*(f.denominator for f in fracs))
    ints = [int(f * denom) for f in fracs]
    g = math.gcd(*ints)
    weights = tuple(i // g for i in ints)
    if sum(weights) > 10_000:
        raise OptionError(
            f"The 'arms' parameter of {func} gives ratios {ratios} whose smallest whole-number "
            f"form {weights} is too fine. Fix: use simple ratios such as 2:1:1."
        )
    return tuple(names), tuple(ratios), weights


def make_design(
    *,
    id: Hashable,
    arms: Any,
    strata: Any,
    cluster: Any,
    order: Any,
    method: Any,
    block_sizes: Any,
    rerandomise: Any,
    func: str,
) -> Design:
    """Validate the options of :func:`randomise` and return a :class:`Design`."""
    method = check_option(method, METHODS, param="method", func=func)
    names, ratios, weights = _ratio_weights(arms, func)
    control = "control" if "control" in names else names[0]
    strata_cols = tuple(str(c) for c in as_column_list(strata))
    if len(set(strata_cols)) != len(strata_cols):
        raise OptionError(f"The 'strata' parameter of {func} names a column twice: {strata_cols}.")
    base = int(sum(weights))
    sizes: tuple[int, ...] | None = None
    if method == "permuted_blocks":
        if block_sizes is None:
            sizes = (base, 2 * base, 3 * base)
        else:
            raw: list[Any] = list(as_column_list(block_sizes))
            if not raw or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in raw
            ):
                raise OptionError(
                    f"The 'block_sizes' parameter of {func} must be a list of positive ints. "
                    f"Got {block_sizes!r} instead."
                )
            bad = [int(s) for s in raw if int(s) % base]
            if bad:
                raise OptionError(
                    f"The 'block_sizes' parameter of {func} must hold multiples of {base} "
                    f"(the sum of the ratios {':'.join(map(str, weights))}) so that every block "
                    f"keeps the ratio exactly. Got {bad} instead."
                )
            sizes = tuple(sorted({int(s) for s in raw}))
    elif block_sizes is not None:
        raise OptionError(
            f"The 'block_sizes' parameter of {func} is used only with method='permuted_blocks'. "
            f"Got method={method!r}."
        )
    rule: BalanceRule | None
    if rerandomise is None:
        rule = None
    elif isinstance(rerandomise, BalanceRule):
        rule = rerandomise
    elif isinstance(rerandomise, Mapping):
        rule = BalanceRule(**rerandomise)
    else:
        raise OptionError(
            f"The 'rerandomise' parameter of {func} must be a BalanceRule (or a dict of its "
            f"fields). Got {rerandomise!r} instead."
        )
    if rule is not None and method != "complete":
        raise OptionError(
            f"The 'rerandomise' parameter of {func} needs method='complete': re-randomisation "
            "redraws the whole sample at once, which rolling (permuted-block) allocation cannot do."
        )
    return Design(
        id=str(id),
        arms=names,
        ratios=ratios,
        weights=weights,
        control=control,
        strata=strata_cols,
        cluster=None if cluster is None else str(cluster),
        order=None if order is None else str(order),
        method=method,
        block_sizes=sizes,
        rule=rule,
    )


# ------------------------------------------------------------------ canonical data


def canonical_keys(values: pd.Series, *, role: str, func: str) -> tuple[str, np.ndarray]:
    """Return ``(kind, keys)``: integer ids as int64, anything else as text."""
    if pd.api.types.is_bool_dtype(values):
        return "str", values.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_integer_dtype(values):
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


def stratum_codes(data: pd.DataFrame, strata: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Dense stratum codes in lexicographic order of the strata values (as text).

    The label of a stratum joins its values with ``|`` in the order of ``strata``.
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
        labels.append("|".join(reversed(parts)))
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


# ------------------------------------------------------------------ drawing


def complete_counts(n_s: np.ndarray, weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Arm counts per stratum with exact expected values ``n_s * w_a / W``.

    Each stratum gets ``floor(n_s p_a)`` of arm ``a``; the ``R_s`` people left
    over (the "misfits") go one each to ``R_s`` arms chosen by systematic
    sampling with inclusion probabilities equal to the fractional parts
    ``n_s p_a - floor(n_s p_a)`` (Madow 1949): a single uniform ``u_s`` places
    the points ``u_s, u_s + 1, ...`` on the cumulated fractional parts. So every
    arm count is the floor or the ceiling of its expected value, the counts sum
    to ``n_s``, and ``E[m_a] = n_s p_a`` exactly, which makes every person's
    probability of arm ``a`` exactly ``p_a``. With two arms this is randomizr's
    rule (Coppock 2023): ceiling with probability equal to the fractional part.
    """
    W = int(weights.sum())
    num = n_s[:, None].astype(np.int64) * weights[None, :].astype(np.int64)
    floors = num // W
    rem = num - floors * W
    cum = np.cumsum(rem, axis=1)
    prev = cum - rem
    extra = np.ceil(cum / W - u[:, None]) - np.ceil(prev / W - u[:, None])
    return floors + extra.astype(np.int64)


def draw_complete(unit_stratum: np.ndarray, n_strata: int, weights: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Complete random assignment of units within strata; returns arm index per unit.

    Generator use: ``rng.random(n_strata)`` for the remainder rule, then
    ``rng.permutation(n_units)``, a uniformly random order of the units. A stable
    sort of that order by stratum keeps it random within each stratum; the first
    ``m_1`` units of a stratum in that order get arm 1, the next ``m_2`` arm 2,
    and so on.
    """
    n_units = len(unit_stratum)
    n_arms = len(weights)
    n_s = np.bincount(unit_stratum, minlength=n_strata)
    u = rng.random(n_strata)
    counts = complete_counts(n_s, weights, u)
    # rng.shuffle of 0..n-1 gives the same order as rng.permutation(n_units); 32-bit
    # indices halve the memory traffic
    perm = np.arange(n_units, dtype=np.int32 if n_units < 2**31 else np.int64)
    rng.shuffle(perm)
    # a stable sort on 16-bit codes is a radix sort: linear time
    codes = unit_stratum.astype(np.uint16 if n_strata <= 65536 else np.int64)
    order = perm[np.argsort(codes[perm], kind="stable")]
    arm_sorted = np.repeat(np.tile(np.arange(n_arms, dtype=np.int8), n_strata), counts.ravel())
    arm = np.empty(n_units, dtype=np.int8)
    arm[order] = arm_sorted
    return arm.astype(np.int64)


@dataclass
class OpenBlock:
    """The unfilled end of the last permuted block in a stratum."""

    number: int
    size: int
    remaining: list[int]  # arm indices still to be handed out, sorted


def draw_blocks(
    unit_stratum: np.ndarray,
    unit_arrival_order: np.ndarray,
    stratum_labels: Sequence[str],
    weights: np.ndarray,
    block_sizes: Sequence[int],
    rng: np.random.Generator,
    state: dict[str, OpenBlock],
    next_block: dict[str, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, OpenBlock]]:
    """Permuted blocks of random size within strata, in arrival order.

    Within a stratum (strata taken in label order), units are taken in arrival
    order. If the stratum has an open block from an earlier batch, its remaining
    arms are handed out first in a fresh random order (``rng.random(k)`` sort
    keys). Then block sizes are drawn uniformly from ``block_sizes`` with
    ``rng.integers`` (``ceil(n / min size) + 1`` draws), each block holds the arms
    in the exact ratio, and ``rng.random`` keys permute the arms within each block.
    A block left unfilled stays open for the next batch. Every position of a
    uniformly permuted block has arm ``a`` with probability ``p_a``, so each
    person's probability is exactly the ratio.

    Returns arm index, block number and block size per unit, and the new open blocks.
    """
    n_units = len(unit_stratum)
    arm = np.full(n_units, -1, dtype=np.int64)
    block_no = np.zeros(n_units, dtype=np.int64)
    block_sz = np.zeros(n_units, dtype=np.int64)
    W = int(weights.sum())
    sizes = np.asarray(block_sizes, dtype=np.int64)
    comps = {int(z): np.repeat(np.arange(len(weights)), weights * (int(z) // W)) for z in sizes}
    new_state = dict(state)
    if n_units == 0:
        return arm, block_no, block_sz, new_state
    by_stratum = np.lexsort((unit_arrival_order, unit_stratum))
    s_sorted = unit_stratum[by_stratum]
    bounds = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1], True])
    for lo, hi in itertools.pairwise(bounds):
        units = by_stratum[lo:hi]
        label = stratum_labels[int(s_sorted[lo])]
        n = len(units)
        taken = 0
        open_block = new_state.pop(label, None)
        if open_block is not None:
            rem = np.asarray(open_block.remaining, dtype=np.int64)
            perm = rem[np.argsort(rng.random(len(rem)), kind="stable")]
            k = min(len(perm), n)
            arm[units[:k]] = perm[:k]
            block_no[units[:k]] = open_block.number
            block_sz[units[:k]] = open_block.size
            taken = k
            if k < len(perm):
                new_state[label] = OpenBlock(open_block.number, open_block.size, sorted(perm[k:].tolist()))
        left = n - taken
        if left <= 0:
            continue
        n_draw = math.ceil(left / int(sizes.min())) + 1
        chosen = sizes[rng.integers(0, len(sizes), size=n_draw)]
        nb = int(np.searchsorted(np.cumsum(chosen), left)) + 1
        chosen = chosen[:nb]
        arms_all = np.concatenate([comps[int(z)] for z in chosen])
        blk = np.repeat(np.arange(nb), chosen)
        keys = rng.random(len(arms_all))
        perm_all = arms_all[np.lexsort((keys, blk))]
        first = next_block.get(label, 1)
        rest = units[taken:]
        arm[rest] = perm_all[:left]
        block_no[rest] = first + blk[:left]
        block_sz[rest] = chosen[blk[:left]]
        next_block[label] = first + nb
        if left < len(perm_all):
            new_state[label] = OpenBlock(
                first + nb - 1, int(chosen[-1]), sorted(perm_all[left:].tolist())
            )
    return arm, block_no, block_sz, new_state


def std_diffs(x: np.ndarray, arm: np.ndarray, n_arms: int, control: int) -> np.ndarray:
    """Standardised differences of each column of ``x``, every arm against control.

    ``(mean_a - mean_c) / sqrt((var_a + var_c) / 2)`` with sample variances
    (Austin 2009, *Statistics in Medicine* 28, eq. 1). Returns an
    ``(n_arms - 1) x K`` array; an arm with fewer than two people gives ``inf``.
    """
    counts = np.bincount(arm, minlength=n_arms).astype(float)
    sums = np.vstack([np.bincount(arm, weights=x[:, j], minlength=n_arms) for j in range(x.shape[1])]).T
    sq = np.vstack([np.bincount(arm, weights=x[:, j] ** 2, minlength=n_arms) for j in range(x.shape[1])]).T
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / counts[:, None]
        var = (sq - counts[:, None] * means**2) / (counts[:, None] - 1)
        others = [a for a in range(n_arms) if a != control]
        pooled = np.sqrt((var[others] + var[control]) / 2)
        d = (means[others] - means[control]) / pooled
    d[~np.isfinite(d)] = np.inf
    return np.asarray(d)


@dataclass
class Draw:
    """The outcome of drawing one batch (internal)."""

    arm_person: np.ndarray
    block_no: np.ndarray | None
    block_size: np.ndarray | None
    state: dict[str, OpenBlock]
    draws: int
    max_abs_std_diff: float | None


def draw(
    prep: Prepared,
    design: Design,
    rng: np.random.Generator,
    *,
    method: str,
    state: dict[str, OpenBlock] | None = None,
    next_block: dict[str, int] | None = None,
    fixed_unit_arm: np.ndarray | None = None,
    func: str,
) -> Draw:
    """Draw one batch. ``fixed_unit_arm`` (>= 0) keeps the arm of units already allocated."""
    w = np.asarray(design.weights, dtype=np.int64)
    n_strata = len(prep.stratum_labels)
    free = np.ones(len(prep.unit_keys), dtype=bool)
    if fixed_unit_arm is not None:
        free = fixed_unit_arm < 0
    if method == "complete":
        rule = design.rule
        control = design.arms.index(design.control)
        draws = 0
        max_d: float | None = None
        best = np.inf
        while True:
            draws += 1
            if fixed_unit_arm is None:
                unit_arm = draw_complete(prep.unit_stratum, n_strata, w, rng)
            else:
                unit_arm = np.full(len(prep.unit_keys), -1, dtype=np.int64)
                unit_arm[free] = draw_complete(prep.unit_stratum[free], n_strata, w, rng)
            # without clusters the units are the people, in the same order
            arm_person = unit_arm if prep.cluster is None else unit_arm[prep.unit_of_person]
            if rule is None or prep.covariates is None:
                break
            d = std_diffs(prep.covariates, arm_person, len(w), control)
            max_d = float(np.max(np.abs(d)))
            best = min(best, max_d)
            if max_d < rule.max_abs_std_diff:
                break
            if draws >= rule.max_draws:
                raise DesignError(
                    f"{func}: no allocation met the re-randomisation rule "
                    f"(all |standardised difference| < {rule.max_abs_std_diff}) in "
                    f"{rule.max_draws:,} draws; the best-balanced of them had "
                    f"{best:.3f}. Fix: loosen max_abs_std_diff, allow more max_draws, "
                    "or stratify on the covariates instead."
                )
        return Draw(arm_person, None, None, {}, draws, max_d)
    if design.block_sizes is None:
        base = design.base_block
        sizes: tuple[int, ...] = (base, 2 * base, 3 * base)
    else:
        sizes = design.block_sizes
    unit_arm = np.full(len(prep.unit_keys), -1, dtype=np.int64)
    unit_blk = np.zeros(len(prep.unit_keys), dtype=np.int64)
    unit_bsz = np.zeros(len(prep.unit_keys), dtype=np.int64)
    idx = np.flatnonzero(free)
    a, b, z, new_state = draw_blocks(
        prep.unit_stratum[idx],
        _arrival_rank(prep, idx),
        prep.stratum_labels,
        w,
        sizes,
        rng,
        dict(state or {}),
        next_block if next_block is not None else {},
    )
    unit_arm[idx], unit_blk[idx], unit_bsz[idx] = a, b, z
    if fixed_unit_arm is not None:
        keep = ~free
        unit_arm[keep] = fixed_unit_arm[keep]
    return Draw(
        unit_arm[prep.unit_of_person],
        unit_blk[prep.unit_of_person],
        unit_bsz[prep.unit_of_person],
        new_state,
        1,
        None,
    )


def _arrival_rank(prep: Prepared, idx: np.ndarray) -> np.ndarray:
    """Arrival order of the units ``idx``: by arrival value, then canonical key."""
    return np.lexsort((np.arange(len(idx)), prep.unit_arrival[idx])).argsort()


def table_from_draw(prep: Prepared, design: Design, d: Draw, *, batch: int) -> pd.DataFrame:
    """The allocation table of one batch, in canonical id order."""
    # copies: the table must not share memory with the caller's data
    cols: dict[str, Any] = {design.id: prep.id_values.to_numpy(copy=True)}
    arms = list(design.arms)
    cols["arm"] = pd.Categorical.from_codes(d.arm_person, categories=arms)
    if design.strata:
        cols["stratum"] = pd.Categorical.from_codes(prep.stratum, categories=prep.stratum_labels)
    if design.cluster is not None and prep.cluster_values is not None:
        cols["cluster"] = prep.cluster_values.to_numpy(copy=True)
    cols["batch"] = np.full(prep.n, batch, dtype=np.int64)
    if d.block_no is not None and d.block_size is not None:
        cols["block"] = d.block_no
        cols["block_size"] = d.block_size
    p = design.probabilities
    for j, name in enumerate(arms):
        cols[f"prob_{name}"] = np.full(prep.n, p[j])
    return pd.DataFrame(cols, copy=False)  # every array above is new: no need to copy


# ------------------------------------------------------------------ seeds


def seed_record(rng_or_seed: int | np.random.Generator) -> dict[str, Any]:
    """JSON-able record of a seed: the int, or the generator's full state."""
    if isinstance(rng_or_seed, np.random.Generator):
        bg = rng_or_seed.bit_generator
        return {"kind": "generator", "bit_generator": type(bg).__name__, "state": bg.state}
    return {"kind": "int", "seed": int(rng_or_seed)}


def rng_from_record(rec: Mapping[str, Any]) -> np.random.Generator:
    """Rebuild the generator recorded by :func:`seed_record`."""
    if rec["kind"] == "int":
        return np.random.default_rng(int(rec["seed"]))
    bg_cls = getattr(np.random, rec["bit_generator"])
    bg = bg_cls()
    bg.state = rec["state"]
    return np.random.Generator(bg)
