"""While the trial runs: balance, take-up and contamination monitoring, flow and attrition.

One module per function a user looks for: :mod:`~dwp_eval.monitor.balance`,
:mod:`~dwp_eval.monitor.contamination` (``flag_contamination``),
:mod:`~dwp_eval.monitor.take_up`, :mod:`~dwp_eval.monitor.contamination_summary`
(with ``wilson_interval``), :mod:`~dwp_eval.monitor.flow`,
:mod:`~dwp_eval.monitor.attrition` and :mod:`~dwp_eval.monitor.lee_bounds`. Their
result types live in :mod:`dwp_eval.results` and are re-exported here.
"""

from dwp_eval.monitor.attrition import attrition
from dwp_eval.monitor.balance import balance
from dwp_eval.monitor.contamination import flag_contamination
from dwp_eval.monitor.contamination_summary import contamination_summary, wilson_interval
from dwp_eval.monitor.flow import flow
from dwp_eval.monitor.lee_bounds import lee_bounds
from dwp_eval.monitor.take_up import take_up
from dwp_eval.results.attrition import Attrition, LeeBounds
from dwp_eval.results.contamination import ContaminationSummary
from dwp_eval.results.flow import Flow

__all__ = [
    "Attrition",
    "ContaminationSummary",
    "Flow",
    "LeeBounds",
    "attrition",
    "balance",
    "contamination_summary",
    "flag_contamination",
    "flow",
    "lee_bounds",
    "take_up",
    "wilson_interval",
]
