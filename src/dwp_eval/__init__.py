"""dwp_eval: randomised trials and impact evaluation of employment programmes.

The public API is flat: ``import dwp_eval as de`` then ``de.randomise(...)``.
"""

from dwp_eval import datasets, errors, outcomes, testing
from dwp_eval._version import __version__
from dwp_eval.datasets import whp_population
from dwp_eval.design import Allocation, BalanceRule, randomise
from dwp_eval.design.power import mde, power, power_curve, sample_size
from dwp_eval.design.simulate import diagnose
from dwp_eval.errors import (
    ConvergenceError,
    DroppedRowsWarning,
    DwpEvalError,
    DwpEvalWarning,
    RecordProblemsWarning,
    RerandomisationWarning,
)
from dwp_eval.estimate.binary import binary_effect
from dwp_eval.estimate.bootstrap import wild_cluster_bootstrap
from dwp_eval.estimate.cace import cace
from dwp_eval.estimate.compliance import complier_profile, contamination_sensitivity
from dwp_eval.estimate.cost import cost_effectiveness
from dwp_eval.estimate.did import bacon_decomposition, did
from dwp_eval.estimate.event_study import event_study
from dwp_eval.estimate.honest import honest_did, pretrend_power
from dwp_eval.estimate.imputation import multiple_imputation
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.multiplicity import adjust_p_values, romano_wolf
from dwp_eval.estimate.profile import impact_profile
from dwp_eval.estimate.quantile import quantile_effects
from dwp_eval.estimate.ri import randomisation_test
from dwp_eval.estimate.staggered import staggered_did
from dwp_eval.estimate.survival import survival_effect
from dwp_eval.estimate.synthetic import synthetic_control, synthetic_did
from dwp_eval.estimate.tipping import tipping_point
from dwp_eval.monitor import (
    Attrition,
    ContaminationSummary,
    Flow,
    LeeBounds,
    attrition,
    balance,
    contamination_summary,
    flag_contamination,
    flow,
    lee_bounds,
    take_up,
)
from dwp_eval.outcomes import derive_outcomes, time_to_event
from dwp_eval.references import SelfCheck, selfcheck
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.impact import impact_table
from dwp_eval.report.plan import AnalysisPlan, PlanError
from dwp_eval.report.report import Report, analyse
from dwp_eval.results import (
    ARInterval,
    BaconDecomposition,
    BalanceTable,
    BalanceTest,
    BootstrapTest,
    CostEffectiveness,
    Diagnosis,
    Effect,
    EventStudy,
    FirstStage,
    HonestDid,
    MultipleImputation,
    PooledEffect,
    PowerCurve,
    PowerResult,
    PretrendPower,
    QuantileEffects,
    RandomisationTest,
    RomanoWolf,
    SensitivityTable,
    StaggeredDid,
    TippingPoint,
    WaldTest,
)
from dwp_eval.results.binary import BinaryEffect
from dwp_eval.results.impact import EffectTable
from dwp_eval.results.profile import ImpactProfile
from dwp_eval.results.survival import SurvivalEffect
from dwp_eval.results.table import Table, compare
from dwp_eval.trial import Trial

__all__ = [
    "ARInterval",
    "Allocation",
    "AnalysisPlan",
    "Attrition",
    "BaconDecomposition",
    "BalanceRule",
    "BalanceTable",
    "BalanceTest",
    "BinaryEffect",
    "BootstrapTest",
    "ContaminationSummary",
    "ConvergenceError",
    "CostEffectiveness",
    "Diagnosis",
    "DisclosureRules",
    "DroppedRowsWarning",
    "DwpEvalError",
    "DwpEvalWarning",
    "Effect",
    "EffectTable",
    "EventStudy",
    "FirstStage",
    "Flow",
    "HonestDid",
    "ImpactProfile",
    "LeeBounds",
    "MultipleImputation",
    "PlanError",
    "PooledEffect",
    "PowerCurve",
    "PowerResult",
    "PretrendPower",
    "QuantileEffects",
    "RandomisationTest",
    "RecordProblemsWarning",
    "Report",
    "RerandomisationWarning",
    "RomanoWolf",
    "SelfCheck",
    "SensitivityTable",
    "StaggeredDid",
    "SurvivalEffect",
    "Table",
    "TippingPoint",
    "Trial",
    "WaldTest",
    "__version__",
    "adjust_p_values",
    "analyse",
    "attrition",
    "bacon_decomposition",
    "balance",
    "binary_effect",
    "cace",
    "compare",
    "complier_profile",
    "contamination_sensitivity",
    "contamination_summary",
    "cost_effectiveness",
    "datasets",
    "derive_outcomes",
    "diagnose",
    "did",
    "errors",
    "event_study",
    "flag_contamination",
    "flow",
    "honest_did",
    "impact_profile",
    "impact_table",
    "itt",
    "lee_bounds",
    "mde",
    "multiple_imputation",
    "outcomes",
    "power",
    "power_curve",
    "pretrend_power",
    "quantile_effects",
    "randomisation_test",
    "randomise",
    "romano_wolf",
    "sample_size",
    "selfcheck",
    "staggered_did",
    "survival_effect",
    "synthetic_control",
    "synthetic_did",
    "take_up",
    "testing",
    "time_to_event",
    "tipping_point",
    "whp_population",
    "wild_cluster_bootstrap",
]
