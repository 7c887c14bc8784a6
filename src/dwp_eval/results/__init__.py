"""Frozen result types and the conventions every result follows.

Every result is an immutable dataclass with

* ``to_frame()``: a pandas DataFrame with fixed snake_case columns (a copy);
* ``summary()``: readable text (``str(result)`` gives the same);
* ``_repr_html_()``: the summary and the table for notebooks.

A different analysis choice gives a new result; nothing is changed in place.
Results are grouped by family, one module each; all are importable from here.
"""

from dwp_eval._core.contract import ReadOnlyMappings, ResultMixin
from dwp_eval._core.wald import WALD_COLUMNS, WaldTest
from dwp_eval.results.attrition import ATTRITION_COLUMNS, LEE_COLUMNS, Attrition, LeeBounds
from dwp_eval.results.balance import BALANCE_COLUMNS, OMNIBUS_COLUMNS, BalanceTable, BalanceTest
from dwp_eval.results.contamination import SUMMARY_COLUMNS, ContaminationSummary
from dwp_eval.results.effect import (
    EFFECT_COLUMNS,
    SENSITIVITY_COLUMNS,
    ARInterval,
    Effect,
    FirstStage,
    SensitivityTable,
)
from dwp_eval.results.event_study import EVENT_STUDY_COLUMNS, EventStudy
from dwp_eval.results.flow import FLOW_COLUMNS, FLOW_STAGES, Flow
from dwp_eval.results.power import POWER_COLUMNS, PowerCurve, PowerResult

__all__ = [
    "ATTRITION_COLUMNS",
    "BALANCE_COLUMNS",
    "EFFECT_COLUMNS",
    "EVENT_STUDY_COLUMNS",
    "FLOW_COLUMNS",
    "FLOW_STAGES",
    "LEE_COLUMNS",
    "OMNIBUS_COLUMNS",
    "POWER_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "SUMMARY_COLUMNS",
    "WALD_COLUMNS",
    "ARInterval",
    "Attrition",
    "BalanceTable",
    "BalanceTest",
    "ContaminationSummary",
    "Effect",
    "EventStudy",
    "FirstStage",
    "Flow",
    "LeeBounds",
    "PowerCurve",
    "PowerResult",
    "ReadOnlyMappings",
    "ResultMixin",
    "SensitivityTable",
    "WaldTest",
]
