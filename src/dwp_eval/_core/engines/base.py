"""Which engine a frame belongs to, whether it is installed, and the columns it has."""

from __future__ import annotations

import importlib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dwp_eval import errors
from dwp_eval._validation import _fmt_list, closest
from dwp_eval.errors import ColumnError, DwpEvalError, OptionError

__all__ = [
    "DASK",
    "ENGINES",
    "PANDAS",
    "SPARK",
    "Note",
    "check_engine_columns",
    "engine_of",
    "require",
]

PANDAS = "pandas"
DASK = "dask"
SPARK = "spark"
#: The engines a public function accepts a frame of.
ENGINES = (PANDAS, DASK, SPARK)
# what each engine needs imported, and the extra that installs it
_MODULES = {DASK: ("dask.dataframe", "distributed"), SPARK: ("pyspark.sql", "pyarrow")}


def engine_of(data: Any) -> str | None:
    """``"pandas"``, ``"dask"`` or ``"spark"`` for a DataFrame of that engine; ``None`` for
    anything else (the caller's own check then names what it was)."""
    if isinstance(data, pd.DataFrame):
        return PANDAS
    module = type(data).__module__
    if module.startswith("dask.") and hasattr(data, "map_partitions"):
        return DASK
    if module.startswith("pyspark.sql") and hasattr(data, "mapInPandas"):
        return SPARK
    return None


def require(engine: str, *, func: str) -> None:
    """Import what ``engine`` needs, or raise :class:`OptionError` naming the extra."""
    if engine == PANDAS:
        return
    if engine not in _MODULES:
        raise OptionError(
            f"The 'engine' parameter of {func} must be one of {_fmt_list(ENGINES)}. Got "
            f"{engine!r}."
        )
    for name in _MODULES[engine]:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise OptionError(
                f"{func} needs {name.split('.')[0]} to work on a {engine.capitalize()} "
                f"DataFrame, and it is not installed ({exc}). Fix: pip install "
                f"\"dwp_eval[{engine}]\"."
            ) from None


def check_engine_columns(
    names: Iterable[Hashable], needed: Mapping[str, Hashable | None], *, param: str, func: str
) -> None:
    """Raise :class:`ColumnError` naming each role in ``needed`` (role -> column) whose
    column is not among ``names`` (the frame's columns), with the closest name."""
    have = [str(c) for c in names]
    for role, col in needed.items():
        if col is None or str(col) in have:
            continue
        near = closest(str(col), have)
        hint = f" Did you mean {near!r}?" if near else ""
        raise ColumnError(
            f"{func}: {param} has no column {col!r} (the {role} column). Its columns are "
            f"{_fmt_list(have, 12)}.{hint} Fix: pass {role}= with the name of the column."
        )


@dataclass
class Note:
    """What a partition's kernel reports besides its rows: any picklable ``value`` (counts
    of problems, which the driver adds up and warns about once), or the
    :class:`DwpEvalError` it raised (class name and message), which :meth:`raise_error`
    raises again on the driver."""

    value: Any = None
    error: tuple[str, str] | None = None

    @classmethod
    def of_error(cls, exc: DwpEvalError) -> Note:
        return cls(error=(type(exc).__name__, str(exc)))

    def raise_error(self) -> None:
        if self.error is None:
            return
        name, message = self.error
        kind = getattr(errors, name, None)
        if not (isinstance(kind, type) and issubclass(kind, DwpEvalError)):
            kind = DwpEvalError
        raise kind(message)
