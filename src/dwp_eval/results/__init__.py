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
from dwp_eval.results.balance import BALANCE_COLUMNS, OMNIBUS_COLUMNS, BalanceTable, BalanceTest
from dwp_eval.results.cost import COST_COLUMNS, CostEffectiveness
from dwp_eval.results.diagnosis import DIAGNOSIS_COLUMNS, Diagnosis
from dwp_eval.results.did import ATT_GT_COLUMNS, BACON_COLUMNS, BaconDecomposition, StaggeredDid
from dwp_eval.results.effect import (
    EFFECT_COLUMNS,
    SENSITIVITY_COLUMNS,
    ARInterval,
    Effect,
    FirstStage,
    SensitivityTable,
)
from dwp_eval.results.event_study import EVENT_STUDY_COLUMNS, EventStudy
from dwp_eval.results.multiplicity import ROMANO_WOLF_COLUMNS, RomanoWolf
from dwp_eval.results.power import POWER_COLUMNS, PowerCurve, PowerResult
from dwp_eval.results.randomisation import (
    BOOTSTRAP_COLUMNS,
    RI_COLUMNS,
    BootstrapTest,
    RandomisationTest,
)

__all__ = [
    "ATT_GT_COLUMNS",
    "BACON_COLUMNS",
    "BALANCE_COLUMNS",
    "BOOTSTRAP_COLUMNS",
    "COST_COLUMNS",
    "DIAGNOSIS_COLUMNS",
    "EFFECT_COLUMNS",
    "EVENT_STUDY_COLUMNS",
    "OMNIBUS_COLUMNS",
    "POWER_COLUMNS",
    "RI_COLUMNS",
    "ROMANO_WOLF_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "WALD_COLUMNS",
    "ARInterval",
    "BaconDecomposition",
    "BalanceTable",
    "BalanceTest",
    "BootstrapTest",
    "CostEffectiveness",
    "Diagnosis",
    "Effect",
    "EventStudy",
    "FirstStage",
    "PowerCurve",
    "PowerResult",
    "RandomisationTest",
    "ReadOnlyMappings",
    "ResultMixin",
    "RomanoWolf",
    "SensitivityTable",
    "StaggeredDid",
    "WaldTest",
]
