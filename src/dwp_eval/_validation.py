"""Checks of columns, options and seeds, with one message shape.

Messages follow the scikit-learn shape::

    The 'method' parameter of randomise must be one of 'complete',
    'permuted_blocks'. Got 'blocks' instead. Did you mean 'permuted_blocks'?

Column messages name the column, its role, the problem, the fix, and list the
columns that do exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

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
        raise OptionError(
            f"The '{param}' parameter of {func} must be a pandas DataFrame. "
            f"Got {type(data).__name__} instead. Fix: pass a DataFrame, e.g. pd.read_csv(path)."
        )
    if len(data) == 0 and not allow_empty:
        raise OptionError(
            f"The '{param}' parameter of {func} must have at least one row. Got an empty DataFrame."
        )
    return data


def as_column_list(value: Hashable | Sequence[Hashable] | None) -> list[Hashable]:
    """Normalise ``None``, one column name or a sequence of names to a list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return [value]
    return list(value)


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
        if col not in data.columns:
            guess = closest(str(col), [str(c) for c in present])
            hint = f" Did you mean {guess!r}?" if guess is not None else ""
            how = fix if fix is not None else f"pass the name of an existing column as {role}="
            raise ColumnError(
                f"{func}: column {col!r} ({role}) is not in {where}.{hint} "
                f"Columns present: {_fmt_list(present)}. Fix: {how}."
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


def compared_arms(
    data: pd.DataFrame, assigned: Hashable, control: str, treatment: str | None, *, func: str,
    purpose: str = "an effect",
) -> tuple[pd.Series, np.ndarray, str]:
    """The arms compared: ``(arm text, mask of rows in control or treatment, treatment label)``.

    Raises if the control arm is absent, there is no other arm, several arms and none named,
    or the named treatment arm is absent. ``purpose`` completes "... needs a treatment arm
    too" in the message. Rows with no arm are in neither compared arm.
    """
    arm_text = data[assigned].astype("string")
    arms = sorted(arm_text.dropna().unique().tolist())
    if str(control) not in arms:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms)}. Fix: pass control= with the control arm's label."
        )
    others = [a for a in arms if a != str(control)]
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
        treatment = others[0]
    elif str(treatment) not in others:
        raise DesignError(
            f"{func}: the treatment arm {treatment!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms)}."
        )
    keep = arm_text.isin([str(control), str(treatment)]).fillna(False).to_numpy(dtype=bool)
    return arm_text, keep, str(treatment)
