"""While the trial runs: balance, take-up and contamination monitoring."""

from dwp_eval.monitor.balance import balance
from dwp_eval.monitor.contamination import (
    ContaminationSummary,
    contamination_summary,
    flag_contamination,
    take_up,
    wilson_interval,
)

__all__ = [
    "ContaminationSummary",
    "balance",
    "contamination_summary",
    "flag_contamination",
    "take_up",
    "wilson_interval",
]
