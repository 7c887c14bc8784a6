"""The result contract every result type meets: a frozen dataclass with
``to_frame()`` (fixed snake_case columns), ``summary()`` (text) and
``_repr_html_()`` (notebooks); mappings it holds are read-only views.

It lives on the ground floor so that the statistics here (the Wald test) can
return results too; the result families are in :mod:`dwp_eval.results`."""

from __future__ import annotations

import abc
import html
from types import MappingProxyType
from typing import Any, ClassVar

import pandas as pd

__all__ = ["ReadOnlyMappings", "ResultMixin"]

class ResultMixin(abc.ABC):
    """Shared display behaviour of result types; each defines ``to_frame`` and ``summary``."""

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


class ReadOnlyMappings:
    """Mixin for frozen result dataclasses whose mapping fields must not change.

    Each field named in ``_MAPPINGS`` is replaced by a read-only view of a
    private copy (``None`` stays ``None``), so a result cannot be changed
    through a dict it was given or through the mapping it returns; views do
    not pickle, so pickling stores plain dicts and re-wraps them on loading.
    """

    _MAPPINGS: ClassVar[tuple[str, ...]] = ()

    def _freeze_mappings(self) -> None:
        for name in self._MAPPINGS:
            value = getattr(self, name)
            frozen = None if value is None else MappingProxyType(dict(value))
            object.__setattr__(self, name, frozen)

    def __post_init__(self) -> None:
        self._freeze_mappings()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in self._MAPPINGS:
            value = state[name]
            state[name] = None if value is None else dict(value)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()
