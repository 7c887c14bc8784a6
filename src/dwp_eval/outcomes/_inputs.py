"""Checks of the options and input columns of :func:`derive_outcomes`, in its message shapes.

Every message names ``derive_outcomes`` (``_FUNC``), or the function passed as
``func`` (``time_to_event`` reads the same records); the column checks name
the frame (``param``: ``"people"``, ``"employment"``, ``"benefits"``,
``"wage_rates"``) and the column's role.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.records import day_numbers, no_missing, parse_dates
from dwp_eval._validation import _fmt_list, check_columns, check_option
from dwp_eval.errors import OptionError
from dwp_eval.outcomes.measures import MEASURES

_FUNC = "derive_outcomes"


def _need(
    data: pd.DataFrame, column: Hashable, *, role: str, param: str, fix: str, func: str = _FUNC
) -> None:
    check_columns(data, [column], role=role, func=func, param=param, fix=fix)


def _no_missing(
    data: pd.DataFrame, missing: np.ndarray, column: Hashable, *, role: str, param: str,
    func: str = _FUNC,
) -> None:
    no_missing(missing, data, column, role=role, func=func, param=param)


def _no_missing_ids(data: pd.DataFrame, id: Hashable, *, param: str, func: str = _FUNC) -> None:
    _no_missing(data, data[id].isna().to_numpy(), id, role="id", param=param, func=func)


def _day_numbers(
    data: pd.DataFrame, column: Hashable, *, role: str, param: str, func: str = _FUNC
) -> tuple[np.ndarray, np.ndarray]:
    """Calendar days since 1970-01-01 (int64; times of day dropped) and a missing mask."""
    return day_numbers(parse_dates(data, column, role=role, func=func, param=param))


def _dates(
    data: pd.DataFrame, column: Hashable, *, role: str, param: str, func: str = _FUNC
) -> np.ndarray:
    """Calendar days of a date column that must have no missing values."""
    days, missing = _day_numbers(data, column, role=role, param=param, func=func)
    _no_missing(data, missing, column, role=role, param=param, func=func)
    return days


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _number(value: Any, *, param: str, what: str, minimum: float = 0.0) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) <= minimum:
        raise OptionError(
            f"The '{param}' parameter of {_FUNC} must be a positive number ({what}). "
            f"Got {value!r} instead."
        )
    return float(value)


def _months(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise OptionError(
            f"The 'months' parameter of {_FUNC} must be a positive int (calendar months of "
            f"follow-up, e.g. 12). Got {value!r} instead."
        )
    return int(value)


def _measures(measures: Any, has_benefits: bool) -> list[str]:
    if measures is None:
        return [m for m in MEASURES if has_benefits or m != "days_on_benefit"]
    values = [measures] if isinstance(measures, str) else measures
    if not isinstance(values, (list, tuple, pd.Index, np.ndarray)) or len(values) == 0:
        raise OptionError(
            f"The 'measures' parameter of {_FUNC} must be a measure name or a non-empty list of "
            f"them ({_fmt_list(MEASURES)}). Got {measures!r} instead."
        )
    chosen = [check_option(v, MEASURES, param="measures", func=_FUNC) for v in values]
    if "days_on_benefit" in chosen and not has_benefits:
        raise OptionError(
            f"The 'measures' parameter of {_FUNC} asks for 'days_on_benefit', which needs benefit "
            f"spells. Fix: pass benefits= (one row per spell: id, start, end) or leave "
            f"'days_on_benefit' out."
        )
    return list(dict.fromkeys(chosen))


def _roles(
    value: Any, defaults: Mapping[str, str], *, param: str, func: str = _FUNC
) -> dict[str, Hashable | None]:
    roles: dict[str, Hashable | None] = dict(defaults)
    if value is None:
        return roles
    if not isinstance(value, Mapping):
        raise OptionError(
            f"The '{param}' parameter of {func} must be a dict from role to column name, e.g. "
            f"{{{next(iter(defaults))!r}: 'my_column'}}. Got {value!r} instead."
        )
    for key, column in value.items():
        check_option(key, list(defaults), param=f"{param} key", func=func)
        roles[key] = column
    return roles
