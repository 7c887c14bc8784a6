"""The result contract every result type meets.

A result is a frozen dataclass with

* ``to_frame()``: a pandas DataFrame with fixed snake_case columns (a new copy);
* ``summary()``: readable text (``str(result)`` gives the same);
* ``_repr_html_()``: the summary and the table, for notebooks;
* ``conf_int(alpha=None)``: a DataFrame with columns ``term, conf_low, conf_high``
  wherever the result has intervals (see :func:`interval_frame`).

It is frozen all the way down: :class:`ResultMixin` replaces every field, on
construction, by a read-only version of a private copy (:func:`freeze`):
arrays become read-only copies, dicts read-only mappings, lists tuples, and
pandas tables :class:`ReadOnlyTable` (which hands out copies only). So nothing
reachable from a result can be changed, and nothing the caller still holds
(their DataFrame, a dict they passed) is shared with it.

It lives on the ground floor so that the statistics here (the Wald test) can
return results too; the result families are in :mod:`dwp_eval.results`.
"""

from __future__ import annotations

import abc
import dataclasses
import html
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dwp_eval._core.export import Exportable

__all__ = [
    "INTERVAL_COLUMNS",
    "ArmCounts",
    "Frozen",
    "FrozenMapping",
    "IntervalEnds",
    "OneInterval",
    "ReadOnlyTable",
    "Refit",
    "ResultMixin",
    "freeze",
    "interval_frame",
    "interval_of",
    "thaw",
    "to_plain",
]

#: Columns of every ``conf_int()``.
INTERVAL_COLUMNS = ["term", "conf_low", "conf_high"]


_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


class ReadOnlyTable:
    """A pandas DataFrame (or Series) that cannot be changed: it keeps a private
    copy and hands out new copies only (pandas' copy-on-write makes them cheap).

    Attribute access and indexing read from a fresh copy, so ``table["col"]``,
    ``table.loc[...]``, ``len(table)`` and iteration work as on the DataFrame,
    and anything done to what they return leaves the table as it was.
    """

    __slots__ = ("_data",)

    def __init__(self, data: pd.DataFrame | pd.Series) -> None:
        # with copy-on-write (pandas >= 3) a shallow copy is already independent
        object.__setattr__(self, "_data", data.copy(deep=not _COPY_ON_WRITE))

    def copy(self, deep: bool = True) -> Any:
        """A new DataFrame (or Series) with the table's contents."""
        return self._data.copy(deep=deep)

    to_frame = copy

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_data":
            raise AttributeError(name)
        return getattr(self._data.copy(deep=False), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a ReadOnlyTable cannot be changed; take .copy() first")

    def __getitem__(self, key: Any) -> Any:
        return self._data.copy(deep=False)[key]

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data.copy(deep=False))

    def __repr__(self) -> str:
        return repr(self._data)

    def __getstate__(self) -> Any:
        return self._data

    def __setstate__(self, state: Any) -> None:
        object.__setattr__(self, "_data", state)


def _forward(op: str) -> Any:
    def method(self: ReadOnlyTable, *args: Any) -> Any:
        return getattr(self._data.copy(deep=False), op)(*args)

    method.__name__ = op
    return method


# comparisons and arithmetic read from a copy too (``table > 0``, ``table * 2``)
for _op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__add__", "__sub__",
            "__mul__", "__truediv__", "__neg__", "__abs__", "__and__", "__or__", "__invert__",
            "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__array__"):
    setattr(ReadOnlyTable, _op, _forward(_op))
ReadOnlyTable.__hash__ = None  # type: ignore[assignment]


class FrozenMapping(Mapping[Any, Any]):
    """A read-only mapping (a result's counts by arm, its dropped rows by column):
    reads like a dict, prints like one, and cannot be changed."""

    __slots__ = ("_items",)
    _items: dict[Any, Any]

    def __init__(self, items: Mapping[Any, Any] | None = None) -> None:
        object.__setattr__(self, "_items", dict(items or {}))

    def __getitem__(self, key: Any) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a FrozenMapping cannot be changed; take dict(...) of it first")

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMapping, (self._items,))


def freeze(value: Any) -> Any:
    """A read-only version of ``value`` that shares nothing mutable with it.

    Arrays become read-only copies; dicts and other mappings read-only
    mappings of frozen values; lists and tuples tuples of frozen values; sets
    frozensets; DataFrames and Series :class:`ReadOnlyTable`. Results, strings,
    numbers, ``None`` and other immutable objects are returned as they are.
    """
    if isinstance(value, ResultMixin | ReadOnlyTable | FrozenMapping | str | bytes | int | float
                  | complex | bool):
        return value
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if not value.flags.writeable and value.flags.owndata:
            return value
        out = np.array(value, copy=True)
        out.setflags(write=False)
        return out
    if isinstance(value, pd.DataFrame | pd.Series):
        return ReadOnlyTable(value)
    if isinstance(value, Mapping):
        return FrozenMapping({k: freeze(v) for k, v in value.items()})
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple keeps its type
        return type(value)(*(freeze(v) for v in value))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(value)
    return value


def thaw(value: Any) -> Any:
    """Plain, mutable copies of what :func:`freeze` made (for pickling and JSON):
    read-only mappings become dicts; tuples of them stay tuples."""
    if isinstance(value, FrozenMapping | MappingProxyType):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(thaw(v) for v in value)
    return value


def to_plain(value: Any) -> Any:
    """A plain, mutable, JSON-ready copy of frozen data (an audit log): mappings become
    dicts and tuples lists, all the way down."""
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return [to_plain(v) for v in value]
    return value


def interval_frame(terms: Sequence[str], low: Any, high: Any) -> pd.DataFrame:
    """The ``conf_int()`` table: one row per term with ``conf_low`` and ``conf_high``."""
    return pd.DataFrame(
        {"term": list(terms), "conf_low": np.asarray(low, dtype=float),
         "conf_high": np.asarray(high, dtype=float)},
        columns=INTERVAL_COLUMNS,
    )


def interval_of(result: Any, alpha: float) -> tuple[float, float]:
    """The ``1 - alpha`` interval ``(low, high)`` of any result-like object (a user's
    estimator in a simulation may return its own): ``interval(alpha)`` (a pair), else
    ``conf_int(alpha)`` (a pair, or a one-row table with ``conf_low, conf_high``), else
    its own ``conf_low, conf_high``."""
    if hasattr(result, "interval"):
        lo, hi = result.interval(alpha)
        return float(lo), float(hi)
    if hasattr(result, "conf_int"):
        ci = result.conf_int(alpha)
        if isinstance(ci, pd.DataFrame):
            return float(ci["conf_low"].iloc[0]), float(ci["conf_high"].iloc[0])
        lo, hi = ci
        return float(lo), float(hi)
    return float(result.conf_low), float(result.conf_high)


class Frozen:
    """Freezing on construction and pickling for a frozen dataclass: every field is
    replaced by a read-only version of a private copy (:func:`freeze`), except the
    names in ``_UNFROZEN``; pickles store plain values and re-freeze on loading.
    Results derive from it through :class:`ResultMixin`; so do the prepared
    samples and other frozen objects a result holds."""

    #: Fields :meth:`__post_init__` leaves as they are (already immutable objects).
    _UNFROZEN: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                if f.name not in self._UNFROZEN and hasattr(self, f.name):
                    object.__setattr__(self, f.name, freeze(getattr(self, f.name)))

    def __getstate__(self) -> dict[str, Any]:
        # read-only mappings are re-made on loading: store plain dicts
        return {k: thaw(v) for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()


class ResultMixin(Frozen, Exportable, abc.ABC):
    """The contract's shared behaviour: freezing on construction, pickling, text
    and notebook display, exports (:class:`~dwp_eval._core.export.Exportable`).
    Each result defines ``to_frame`` and ``summary``."""

    @abc.abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame with fixed snake_case columns (a copy)."""

    @abc.abstractmethod
    def summary(self) -> str:
        """The result as readable text."""

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = self.summary().splitlines()[0] if self.summary() else type(self).__name__
        return f"<p><strong>{html.escape(head)}</strong></p>" + self.to_frame().to_html(
            index=False, float_format=lambda v: f"{v:.4g}"
        )


class OneInterval:
    """For a result with one interval: :meth:`conf_int` is :meth:`interval` (the
    pair, which the result defines) as the contract's one-row table."""

    treatment: str
    control: str

    @abc.abstractmethod
    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: the ``1 - alpha`` interval (default: the result's alpha)."""

    def _interval_term(self) -> str:
        return f"{self.treatment} vs {self.control}"

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The ``1 - alpha`` interval (default: the result's alpha) as a one-row table
        ``term, conf_low, conf_high``; :meth:`interval` gives the pair."""
        lo, hi = self.interval(alpha)
        return interval_frame([self._interval_term()], [lo], [hi])


class IntervalEnds(OneInterval):
    """``conf_low`` and ``conf_high``: the ends of :meth:`interval` at the result's alpha."""

    @property
    def conf_low(self) -> float:
        return self.interval()[0]

    @property
    def conf_high(self) -> float:
        return self.interval()[1]


class ArmCounts:
    """``n_control`` and ``n_treatment`` read from the result's ``n_by_arm``."""

    n_by_arm: Mapping[str, int]
    treatment: str
    control: str

    @property
    def n_control(self) -> int:
        return int(self.n_by_arm.get(self.control, 0))

    @property
    def n_treatment(self) -> int:
        return int(self.n_by_arm.get(self.treatment, 0))


@dataclasses.dataclass(frozen=True, eq=False)
class Refit(Frozen):
    """How a result is re-estimated with another variance (``with_se``): the
    estimator's kernel, a module-level function, and the prepared sample and
    options it needs, frozen. It holds no reference to the caller's data, so
    changing their DataFrame later changes nothing, and a result pickles with
    the prepared arrays only (the kernel is pickled by name).

    ``kernel(sample, options, se_type=..., cluster=...)`` returns the new result;
    ``cluster`` is ``None`` (keep the sample's clusters) or what the user passed.
    """

    kernel: Any
    sample: Any
    options: Mapping[str, Any]

    _UNFROZEN = ("kernel", "sample")

    def __call__(self, *, se_type: str, cluster: Any = None) -> Any:
        return self.kernel(self.sample, self.options, se_type=se_type, cluster=cluster)
