"""dwp_eval: randomised trials and impact evaluation of employment programmes.

The public API is flat: ``import dwp_eval as de`` then ``de.randomise(...)``.
"""

from dwp_eval import datasets, errors, testing
from dwp_eval._version import __version__
from dwp_eval.design import Allocation, BalanceRule, randomise
from dwp_eval.design.power import mde, power, power_curve, sample_size
from dwp_eval.design.simulate import Diagnosis, diagnose, whp_population
from dwp_eval.errors import (
    ConvergenceError,
    DroppedRowsWarning,
    DwpEvalError,
    DwpEvalWarning,
    RecordProblemsWarning,
    RerandomisationWarning,
)
from dwp_eval.estimate.bootstrap import BootstrapTest, wild_cluster_bootstrap
from dwp_eval.estimate.cace import cace, complier_profile, contamination_sensitivity
from dwp_eval.estimate.did import BaconDecomposition, bacon_decomposition, did
from dwp_eval.estimate.event_study import EventStudy, event_study
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.multiplicity import RomanoWolf, adjust_p_values, romano_wolf
from dwp_eval.estimate.ri import RandomisationTest, randomisation_test
from dwp_eval.estimate.staggered import StaggeredDid, staggered_did
from dwp_eval.monitor import (
    ContaminationSummary,
    balance,
    contamination_summary,
    flag_contamination,
    take_up,
)
from dwp_eval.references import SelfCheck, selfcheck
from dwp_eval.report.impact import EffectTable, impact_table
from dwp_eval.results import (
    ARInterval,
    BalanceTable,
    Effect,
    FirstStage,
    PowerCurve,
    PowerResult,
    SensitivityTable,
)

__all__ = [
    "ARInterval",
    "Allocation",
    "BaconDecomposition",
    "BalanceRule",
    "BalanceTable",
    "BootstrapTest",
    "ContaminationSummary",
    "ConvergenceError",
    "Diagnosis",
    "DroppedRowsWarning",
    "DwpEvalError",
    "DwpEvalWarning",
    "Effect",
    "EffectTable",
    "EventStudy",
    "FirstStage",
    "PowerCurve",
    "PowerResult",
    "RandomisationTest",
    "RecordProblemsWarning",
    "RerandomisationWarning",
    "RomanoWolf",
    "SelfCheck",
    "SensitivityTable",
    "StaggeredDid",
    "__version__",
    "adjust_p_values",
    "bacon_decomposition",
    "balance",
    "cace",
    "complier_profile",
    "contamination_sensitivity",
    "contamination_summary",
    "datasets",
    "diagnose",
    "did",
    "errors",
    "event_study",
    "flag_contamination",
    "impact_table",
    "itt",
    "mde",
    "power",
    "power_curve",
    "randomisation_test",
    "randomise",
    "romano_wolf",
    "sample_size",
    "selfcheck",
    "staggered_did",
    "take_up",
    "testing",
    "whp_population",
    "wild_cluster_bootstrap",
]
