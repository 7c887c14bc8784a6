"""Helpers shared by the synthetic data generators (private to :mod:`dwp_eval.datasets`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwp_eval.errors import OptionError


def _whp_people(people: pd.DataFrame, needed: tuple[str, ...], *, func: str) -> None:
    """Raise unless ``people`` is a non-empty DataFrame with the ``needed`` columns of
    :func:`~dwp_eval.datasets.whp_like`."""
    if not isinstance(people, pd.DataFrame) or len(people) == 0:
        got = "an empty DataFrame" if isinstance(people, pd.DataFrame) else type(people).__name__
        raise OptionError(
            f"The 'people' parameter of {func} must be a non-empty pandas DataFrame (e.g. from "
            f"whp_like). Got {got} instead."
        )
    absent = [c for c in needed if c not in people.columns]
    if absent:
        raise OptionError(
            f"The 'people' parameter of {func} must have the columns of whp_like "
            f"({', '.join(repr(c) for c in needed)}). Missing: "
            f"{', '.join(repr(c) for c in absent)}; columns present: "
            f"{', '.join(repr(c) for c in people.columns)}."
        )


def _arms(assigned: pd.Series | np.ndarray, n: int, *, func: str) -> np.ndarray:
    """Each person's arm as text; anything but one arm per person raises OptionError."""
    arm = np.asarray(assigned).astype(str)
    if arm.shape != (n,):
        raise OptionError(
            f"The 'assigned' parameter of {func} must have one arm per person ({n:,}). "
            f"Got {arm.size:,} instead."
        )
    return arm


def _binary_array(values: pd.Series | np.ndarray, n: int, *, param: str, func: str) -> np.ndarray:
    """A 0/1 vector of length ``n`` as int64; anything else raises OptionError."""
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise OptionError(
            f"The '{param}' parameter of {func} must have one value per person ({n:,}). "
            f"Got {arr.size:,} instead."
        )
    if arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        num = None
    if num is None or np.isnan(num).any() or not set(np.unique(num).tolist()) <= {0.0, 1.0}:
        shown = sorted({str(v) for v in arr.tolist() if str(v) not in ("0", "1", "0.0", "1.0")})[:5]
        raise OptionError(
            f"The '{param}' parameter of {func} must hold 0/1 values with none missing. "
            f"Got {', '.join(shown)} among its values instead."
        )
    return num.astype(np.int64)


def _chance_of_13_weeks(
    people: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each person's probability of 13+ weeks in work in the 12 months after randomisation
    without the programme, and the jobcentre shock in it (drawn from ``rng``).

    ``clip(0.24 - 0.0015 months_out_of_work + 0.000004 prior_earnings
    - 0.03 mental_health + u_j, 0.02, 0.9)`` with ``u_j ~ N(0, 0.04^2)`` shared by
    everyone at jobcentre ``j``: the one model behind :func:`whp_outcomes` and
    :func:`whp_monthly_records`, so that their truths agree.
    """
    _, jc = np.unique(people["jobcentre"].to_numpy().astype(str), return_inverse=True)
    shock = rng.normal(0, 0.04, size=int(jc.max()) + 1)[jc]
    months = people["months_out_of_work"].to_numpy(dtype=float)
    earn = people["prior_earnings"].to_numpy(dtype=float)
    condition = people["health_condition"].to_numpy(dtype=object, na_value=None)
    mh = (condition == "mental_health").astype(float)
    base = np.clip(0.24 - 0.0015 * months + 0.000004 * earn - 0.03 * mh + shock, 0.02, 0.9)
    return base, shock
