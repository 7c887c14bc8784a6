"""The measures :func:`~dwp_eval.outcomes.derive_outcomes` derives and the column
names of its records and of its result."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

__all__ = [
    "BENEFIT_COLUMNS",
    "EMPLOYMENT_COLUMNS",
    "FOLLOW_UP_COLUMNS",
    "MEASURES",
    "Measure",
]

Measure = Literal[
    "employed_weeks",
    "any_employment",
    "employed_13_weeks",
    "cumulative_earnings",
    "sustained_earnings",
    "days_on_benefit",
]
"""The name of a measure (one of :data:`MEASURES`)."""

MEASURES: tuple[str, ...] = (
    "employed_weeks",
    "any_employment",
    "employed_13_weeks",
    "cumulative_earnings",
    "sustained_earnings",
    "days_on_benefit",
)
"""The measures :func:`derive_outcomes` can derive, in the order of its result."""

FOLLOW_UP_COLUMNS: tuple[str, ...] = ("follow_up_end", "follow_up_complete", "reason")
"""Columns of the result of :func:`derive_outcomes` after the id and the measures."""

EMPLOYMENT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"month": "month", "earnings": "earnings", "weeks_employed": "weeks_employed"}
)
"""Default column names of the monthly employment records, by role.

Pass ``employment_columns={"month": "pay_month"}`` to :func:`derive_outcomes`
to change some of them; ``{"weeks_employed": None}`` ignores a weeks column
even if there is one.
"""

BENEFIT_COLUMNS: Mapping[str, str] = MappingProxyType({"start": "start", "end": "end"})
"""Default column names of the benefit spells, by role (``benefit_columns=``)."""
