"""Checks of columns, options and seeds, with one message shape.

Messages follow the scikit-learn shape::

    The 'method' parameter of randomise must be one of 'complete',
    'permuted_blocks'. Got 'blocks' instead. Did you mean 'permuted_blocks'?

Column messages name the column, its role, the problem, the fix, and list the
columns that do exist.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd

from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError

Seed = int | np.random.Generator


def _fmt_list(values: Iterable[Any], limit: int = 12) -> str:
    vals = [repr(v) if isinstance(v, str) else str(v) for v in values]
    more = len(vals) - limit
    text = ", ".join(vals[:limit])
    return text + (f", ... ({more} more)" if more > 0 else "")


def closest(name: str, valid: Iterable[str]) -> str | None:
    """Return the valid name closest to ``name`` or ``None`` if nothing is close."""
    match = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.5)
    return match[0] if match else None


def check_option(value: Any, valid: Sequence[str], *, param: str, func: str) -> str:
    """Check that ``value`` is one of ``valid``; suggest the closest name otherwise."""
    if isinstance(value, str) and value in valid:
        return value
    msg = (
        f"The '{param}' parameter of {func} must be one of {_fmt_list(valid)}. "
        f"Got {value!r} instead."
    )
    if isinstance(value, str):
        guess = closest(value, valid)
        if guess is not None:
            msg += f" Did you mean {guess!r}?"
    raise OptionError(msg)


def check_data(data: Any, *, func: str, param: str = "data", allow_empty: bool = False) -> pd.DataFrame:
    """Check that ``data`` is a pandas DataFrame (with at least one row unless ``allow_empty``)."""
    if not isinstance(data, pd.DataFrame):
        kind = type(data)
        engine = kind.__module__.split(".")[0]
        # the full name where the short one is ambiguous (a Dask, Spark or polars DataFrame)
        name = (kind.__qualname__ if engine in ("builtins", "pandas", "numpy")
                else f"{kind.__module__}.{kind.__qualname__}")
        fix = {
            "dask": "bring it into memory with data.compute() (if it fits)",
            "pyspark": "bring it into memory with data.toPandas() (if it fits)",
            "polars": "convert it with data.to_pandas()",
        }.get(engine, "pass a DataFrame, e.g. pd.read_csv(path)")
        raise OptionError(
            f"The '{param}' parameter of {func} must be a pandas DataFrame. "
            f"Got {name} instead. Fix: {fix}."
        )
    if len(data) == 0 and not allow_empty:
        raise OptionError(
            f"The '{param}' parameter of {func} must have at least one row. Got an empty DataFrame."
        )
    return data


def check_unique_columns(data: pd.DataFrame, *, func: str, param: str = "data") -> None:
    """Raise :class:`ColumnError` naming the duplicated column names of ``data`` (a column
    name that appears twice makes ``data[name]`` a DataFrame, not a column)."""
    dup = data.columns[data.columns.duplicated()]
    if len(dup):
        names = list(dict.fromkeys(dup.tolist()))
        raise ColumnError(
            f"{func}: {param} has duplicated column name(s) {_fmt_list(names, 5)}, so "
            f"{names[0]!r} does not name one column. Fix: rename or drop the duplicates, e.g. "
            f"{param}.loc[:, ~{param}.columns.duplicated()]."
        )


def as_column_list(value: Hashable | Sequence[Hashable] | None) -> list[Hashable]:
    """Normalise ``None``, one column name or a sequence of names to a list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return [value]
    return list(value)


def _has_column(data: pd.DataFrame, col: Any) -> bool:
    """Whether ``col`` names a column; an unhashable name (a list) names none (pandas < 2.2
    raises TypeError for ``[...] in data.columns``)."""
    try:
        return col in data.columns
    except TypeError:
        return False


def check_columns(
    data: pd.DataFrame,
    columns: Iterable[Hashable],
    *,
    role: str,
    func: str,
    param: str | None = None,
    fix: str | None = None,
) -> None:
    """Raise :class:`ColumnError` if any of ``columns`` is not in ``data``.

    The message names the column and its role, suggests the closest column,
    lists the columns present and gives the fix; ``param`` names the frame
    (``"people"``, ``"referrals"``) when a function takes several.
    """
    present = list(data.columns)
    where = "the data" if param is None else param
    for col in columns:
        if not isinstance(col, Hashable):
            raise OptionError(
                f"{func}: {col!r} ({role}) must be one column name; got a "
                f"{type(col).__name__}. Fix: pass one column (join several into one first, "
                f"e.g. data[cols].astype(str).agg('/'.join, axis=1))."
            )
        if not _has_column(data, col):
            guess = closest(str(col), [str(c) for c in present])
            hint = f" Did you mean {guess!r}?" if guess is not None else ""
            how = fix if fix is not None else f"pass the name of an existing column as {role}="
            raise ColumnError(
                f"{func}: column {col!r} ({role}) is not in {where}.{hint} "
                f"Columns present: {_fmt_list(present)}. Fix: {how}."
            )
        count = sum(1 for c in data.columns if c == col) if data.columns.has_duplicates else 1
        if count > 1:
            raise ColumnError(
                f"{func}: column {col!r} ({role}) appears {count} times in {where}, so it does "
                f"not name one column. Fix: rename or drop the duplicates, e.g. "
                f"data.loc[:, ~data.columns.duplicated()]."
            )


def check_no_missing(data: pd.DataFrame, column: Hashable, *, role: str, func: str) -> None:
    """Raise :class:`MissingDataError` if ``column`` holds missing values."""
    isna = data[column].isna()
    n_missing = int(isna.sum())
    if n_missing:
        first = data.index[isna.to_numpy()][:5].tolist()
        raise MissingDataError(
            f"{func}: column {column!r} ({role}) has {n_missing:,} missing value(s) "
            f"(first at rows {_fmt_list(first, 5)}). "
            f"Fix: fill them with an explicit category (e.g. 'unknown') or remove those rows "
            f"before calling {func}."
        )


def check_unique(data: pd.DataFrame, column: Hashable, *, role: str, func: str) -> None:
    """Raise :class:`ColumnError` naming some duplicated values of ``column``."""
    dup = data[column].duplicated(keep=False)
    if dup.any():
        values = pd.unique(data.loc[dup.to_numpy(), column])
        raise ColumnError(
            f"{func}: column {column!r} ({role}) must identify each row once, but "
            f"{len(values):,} value(s) appear more than once: {_fmt_list(values[:5], 5)}. "
            f"Fix: remove the duplicated rows or choose a unique id column."
        )


def check_seed(seed: Any, *, func: str) -> np.random.Generator:
    """Return a Generator for ``seed`` (an int or a ``numpy.random.Generator``).

    The global numpy random state is never used.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise OptionError(
                f"The 'seed' parameter of {func} must be a non-negative int or a "
                f"numpy.random.Generator. Got {seed!r} instead."
            )
        return np.random.default_rng(int(seed))
    raise OptionError(
        f"The 'seed' parameter of {func} must be an int or a numpy.random.Generator. "
        f"Got {seed!r} ({type(seed).__name__}) instead. "
        f"Fix: pass a recorded integer, e.g. seed=20180501, so the result can be reproduced."
    )


#: Most draws, replications or simulations any function accepts (``draws`` of
#: :func:`dwp_eval.randomisation_test`, :func:`dwp_eval.wild_cluster_bootstrap`,
#: :func:`dwp_eval.balance`, :func:`dwp_eval.romano_wolf`, :func:`dwp_eval.impact_table`,
#: analysis plans; ``sims`` of :func:`dwp_eval.diagnose`): beyond it the Monte Carlo error
#: of a p-value or a rejection rate (at most ``0.5 / sqrt(draws)``, 0.0016 here) is far
#: below anything reported, and the work grows without bound.
MAX_DRAWS = 100_000


#: Most cells (rows x levels) of a dense dummy expansion: larger categorical
#: expansions are computed from grouped sums, or refused with this limit in the
#: message (about 160 MB of float64).
MAX_DUMMY_CELLS = 20_000_000


def check_draws(
    draws: Any, *, name: str = "draws", func: str, minimum: int = 1, hint: str = ""
) -> int:
    """A number of draws (replications, simulations) from ``minimum`` to :data:`MAX_DRAWS`.

    One check, so that every function refuses unbounded work up front with the same
    message: the argument, the limit and the fix. ``hint`` completes the type message
    (e.g. ``" (e.g. 1000)"``).
    """
    if minimum == 1:
        kind = "a positive int"
    elif minimum == 0:
        kind = "a non-negative int"
    else:
        kind = f"an int >= {minimum}"
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or int(draws) < minimum:
        raise OptionError(
            f"The '{name}' parameter of {func} must be {kind}{hint}. Got {draws!r} instead."
        )
    if int(draws) > MAX_DRAWS:
        raise OptionError(
            f"The '{name}' parameter of {func} is {int(draws):,}, above the limit of "
            f"{MAX_DRAWS:,} (a p-value's Monte Carlo error is then below 0.002, and the work "
            f"grows without bound). Fix: pass {name}=10000 or fewer; 1,000 to 10,000 is usual."
        )
    return int(draws)


def check_alpha(alpha: Any, *, func: str) -> float:
    """Check a significance level in (0, 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)):
        raise OptionError(
            f"The 'alpha' parameter of {func} must be a float in (0, 1). Got {alpha!r} instead."
        )
    if not 0.0 < float(alpha) < 1.0:
        raise OptionError(
            f"The 'alpha' parameter of {func} must be a float in (0, 1). Got {alpha!r} instead."
        )
    return float(alpha)


def binary_values(s: pd.Series, column: Hashable, *, role: str, func: str, example: str) -> np.ndarray:
    """``s`` (already checked for missing values) as booleans; raise unless it holds only 0/1.

    ``example`` is the recoding suggested in the message, e.g. ``"(df['x'] > 0).astype(int)"``.
    """
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=bool)
    values = pd.unique(s)
    try:
        ok = set(np.asarray(values, dtype=float).tolist()) <= {0.0, 1.0}
    except (TypeError, ValueError):
        ok = False
    if not ok:
        shown = sorted((v for v in values if v not in (0, 1)), key=str)[:5]
        raise ColumnError(
            f"{func}: column {column!r} ({role}) must hold 0/1 values. Got {_fmt_list(shown)} "
            f"among its values. Fix: recode it to 0/1 (e.g. {example})."
        )
    return s.to_numpy(dtype=float) == 1.0


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def label_key(value: Any) -> str | None:
    """The one reading of an arm label, compared by value: numbers and their text are
    the same label (``0 == "0" == 0.0``, ``1.5 == "1.5"``), booleans are 0/1
    (``True == 1 == "True"``), anything else is its text; missing values give ``None``.

    Used for the labels a user passes (``control=0``) and for the values of an arm
    column alike, so an int, float, bool, text or categorical arm column matches the
    same labels everywhere (itt, cace, balance, attrition, flow, the plan, the CLI).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if np.isnan(f):
            return None
        return str(int(f)) if f.is_integer() else repr(f)
    text = str(value)
    if _NUMBER.fullmatch(text):
        return label_key(float(text)) if not text.lstrip("+-").isdigit() else str(int(text))
    if text.lower() in ("true", "false"):
        return "1" if text.lower() == "true" else "0"
    return text


def arm_keys(column: pd.Series) -> pd.Series:
    """:func:`label_key` of every value of an arm column (missing stays missing), as a
    ``string`` Series with the column's index. Values equal by value are one arm
    (``1``, ``"1"`` and ``1.0``)."""
    found, uniques = pd.factorize(column, sort=False)
    keys = [label_key(u) for u in uniques]
    table = np.asarray([*keys, None], dtype=object)
    return pd.Series(table[found], index=column.index, dtype="string")


def arm_index(column: pd.Series, labels: Sequence[str]) -> np.ndarray:
    """For every value of an arm column, the position of its :func:`label_key` in
    ``labels``; ``len(labels)`` for another arm and ``-1`` for a missing value. The keys
    are read at the distinct values only, so this is fast on a large chunk."""
    found, uniques = pd.factorize(column, sort=False)
    pos = {label: i for i, label in enumerate(labels)}
    keys = (label_key(u) for u in uniques)
    table = np.asarray([-1 if k is None else pos.get(k, len(labels)) for k in keys] + [-1], dtype=np.int64)
    return table[found]


def is_numeric_label(label: str) -> bool:
    """Whether an arm label (a :func:`label_key`) is a number, which reads badly alone
    in text ("ITT of 1 vs 0")."""
    return bool(_NUMBER.fullmatch(str(label)))


def arm_phrase(label: str, role: str, assigned: Hashable | None = None) -> str:
    """Readable text for an arm in a summary: the label itself when it is a word
    (``"treatment"``, ``"offered"``), else the role with the label,
    ``"treatment (arm = 1)"``."""
    if not is_numeric_label(label):
        return str(label)
    return f"{role} ({assigned} = {label})" if assigned is not None else f"{role} (arm {label})"


def compared_arms(
    data: pd.DataFrame, assigned: Hashable, control: Any, treatment: Any | None, *, func: str,
    purpose: str = "an effect",
) -> tuple[pd.Series, np.ndarray, str]:
    """The arms compared: ``(arm labels, mask of rows in control or treatment, treatment label)``.

    Labels are read by :func:`label_key` (by value: ``control=0`` matches ``0``,
    ``0.0``, ``"0"`` and ``False``); the arm labels returned are those keys.
    Raises if the control arm is absent, there is no other arm, several arms and none named,
    or the named treatment arm is absent. ``purpose`` completes "... needs a treatment arm
    too" in the message. Rows with no arm are in neither compared arm.
    """
    arms = compared_arm_codes(data, assigned, control, treatment, func=func, purpose=purpose)
    table = np.asarray([*arms.keys, None], dtype=object)
    arm_text = pd.Series(table[arms.codes], index=data.index, dtype="string")
    return arm_text, arms.keep, arms.treatment


class ArmCodes(NamedTuple):
    """The compared arms as codes: ``codes`` (one per row, -1 for a missing arm) index
    ``keys`` (the :func:`label_key` of each distinct value; several values can share a
    key); ``keep`` marks the rows in control or treatment, ``in_treatment`` those in
    treatment, ``no_arm`` those with no arm."""

    codes: np.ndarray
    keys: tuple[str | None, ...]
    keep: np.ndarray
    in_treatment: np.ndarray
    no_arm: np.ndarray
    treatment: str


def compared_arm_codes(
    data: pd.DataFrame, assigned: Hashable, control: Any, treatment: Any | None, *, func: str,
    purpose: str = "an effect",
) -> ArmCodes:
    """:func:`compared_arms` as integer codes of the arm column's distinct values (one
    pass over the rows; the checks and messages are those of :func:`compared_arms`)."""
    check_label(control, param="control", func=func)
    if treatment is not None:
        check_label(treatment, param="treatment", func=func)
    check_columns(data, [assigned], role="assigned", func=func)
    found, uniques = pd.factorize(data[assigned], sort=False)
    keys = tuple(label_key(u) for u in uniques)
    # distinct keys in order of first appearance, as Series.unique() gives them
    arms = sorted(dict.fromkeys(k for k in keys if k is not None), key=label_order)
    ctrl = label_key(control)
    if ctrl not in arms:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms)}. Fix: pass control= with the control arm's label."
        )
    others = [a for a in arms if a != ctrl]
    if not others:
        raise DesignError(
            f"{func}: column {assigned!r} holds only one arm ({control!r}); {purpose} needs a "
            "treatment arm too."
        )
    if treatment is None:
        if len(others) > 1:
            raise DesignError(
                f"{func}: column {assigned!r} holds several treatment arms ({_fmt_list(others)}). "
                f"Fix: name the arm to compare with control, e.g. treatment={others[0]!r}."
            )
        treat = others[0]
    else:
        treat = cast(str, label_key(treatment))
        if treat not in others:
            raise DesignError(
                f"{func}: the treatment arm {treatment!r} is not in column {assigned!r}, which "
                f"holds {_fmt_list(arms)}."
            )

    def rows(wanted: Any) -> np.ndarray:
        # a lookup table with one more entry, for the code -1 of a missing value
        table = np.asarray([wanted(k) for k in keys] + [wanted(None)], dtype=bool)
        return table[found]

    return ArmCodes(found, keys, rows(lambda k: k in (ctrl, treat)), rows(lambda k: k == treat),
                    rows(lambda k: k is None), treat)


def label_order(label: str) -> tuple[int, float, str]:
    """Numbers in numeric order, then words in text order."""
    return (0, float(label), "") if is_numeric_label(label) else (1, 0.0, label)


def check_label(value: Any, *, param: str, func: str) -> None:
    """An arm label must be text, a number or a bool (:class:`OptionError` otherwise)."""
    ok = isinstance(value, str | bool | int | float | np.integer | np.floating | np.bool_)
    if not ok or label_key(value) is None:
        raise OptionError(
            f"The '{param}' parameter of {func} must be an arm label: text, a number or a bool "
            f"(compared by value, so 0, 0.0 and '0' are one label). Got {value!r} instead."
        )
