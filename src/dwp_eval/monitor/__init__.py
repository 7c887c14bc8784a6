"""While the trial runs: balance, take-up and contamination monitoring, flow and attrition."""

from dwp_eval.monitor.attrition import Attrition, LeeBounds, attrition, lee_bounds
from dwp_eval.monitor.balance import balance
from dwp_eval.monitor.contamination import (
    ContaminationSummary,
    contamination_summary,
    flag_contamination,
    take_up,
    wilson_interval,
)
from dwp_eval.monitor.flow import Flow, flow

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
