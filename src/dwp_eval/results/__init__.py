"""Frozen result types and the conventions every result follows.

Every result is an immutable dataclass with

* ``to_frame()``: a pandas DataFrame with fixed snake_case columns (a copy);
* ``summary()``: readable text (``str(result)`` gives the same);
* ``_repr_html_()``: the summary and the table for notebooks.

A different analysis choice gives a new result; nothing is changed in place.
Results are grouped by family, one module each; all are importable from here.
"""

from dwp_eval._core.contract import ResultMixin
from dwp_eval._core.wald import WALD_COLUMNS, WaldTest
from dwp_eval.results.attrition import ATTRITION_COLUMNS, LEE_COLUMNS, Attrition, LeeBounds
from dwp_eval.results.balance import BALANCE_COLUMNS, OMNIBUS_COLUMNS, BalanceTable, BalanceTest
from dwp_eval.results.contamination import SUMMARY_COLUMNS, ContaminationSummary
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
from dwp_eval.results.flow import FLOW_COLUMNS, FLOW_STAGES, Flow
from dwp_eval.results.honest import HONEST_COLUMNS, HonestDid, PretrendPower
from dwp_eval.results.impact import HETEROGENEITY_COLUMNS, IMPACT_COLUMNS, EffectTable
from dwp_eval.results.imputation import (
    IMPUTATION_COLUMNS,
    POOLED_COLUMNS,
    MultipleImputation,
    PooledEffect,
)
from dwp_eval.results.multiplicity import ROMANO_WOLF_COLUMNS, RomanoWolf
from dwp_eval.results.power import POWER_COLUMNS, PowerCurve, PowerResult
from dwp_eval.results.quantile import QUANTILE_COLUMNS, QuantileEffects
from dwp_eval.results.randomisation import (
    BOOTSTRAP_COLUMNS,
    RI_COLUMNS,
    BootstrapTest,
    RandomisationTest,
)
from dwp_eval.results.survival import CURVE_COLUMNS, SURVIVAL_COLUMNS, SurvivalEffect
from dwp_eval.results.synthetic import SYNTHETIC_COLUMNS, SyntheticEstimate
from dwp_eval.results.table import COMPARE_COLUMNS, Table, compare
from dwp_eval.results.tipping import TIPPING_COLUMNS, TippingPoint

__all__ = [
    "ATTRITION_COLUMNS",
    "ATT_GT_COLUMNS",
    "BACON_COLUMNS",
    "BALANCE_COLUMNS",
    "BOOTSTRAP_COLUMNS",
    "COMPARE_COLUMNS",
    "COST_COLUMNS",
    "CURVE_COLUMNS",
    "DIAGNOSIS_COLUMNS",
    "EFFECT_COLUMNS",
    "EVENT_STUDY_COLUMNS",
    "FLOW_COLUMNS",
    "FLOW_STAGES",
    "HETEROGENEITY_COLUMNS",
    "HONEST_COLUMNS",
    "IMPACT_COLUMNS",
    "IMPUTATION_COLUMNS",
    "LEE_COLUMNS",
    "OMNIBUS_COLUMNS",
    "POOLED_COLUMNS",
    "POWER_COLUMNS",
    "QUANTILE_COLUMNS",
    "RI_COLUMNS",
    "ROMANO_WOLF_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "SUMMARY_COLUMNS",
    "SURVIVAL_COLUMNS",
    "SYNTHETIC_COLUMNS",
    "TIPPING_COLUMNS",
    "WALD_COLUMNS",
    "ARInterval",
    "Attrition",
    "BaconDecomposition",
    "BalanceTable",
    "BalanceTest",
    "BootstrapTest",
    "ContaminationSummary",
    "CostEffectiveness",
    "Diagnosis",
    "Effect",
    "EffectTable",
    "EventStudy",
    "FirstStage",
    "Flow",
    "HonestDid",
    "LeeBounds",
    "MultipleImputation",
    "PooledEffect",
    "PowerCurve",
    "PowerResult",
    "PretrendPower",
    "QuantileEffects",
    "RandomisationTest",
    "ResultMixin",
    "RomanoWolf",
    "SensitivityTable",
    "StaggeredDid",
    "SurvivalEffect",
    "SyntheticEstimate",
    "Table",
    "TippingPoint",
    "WaldTest",
    "compare",
]
