"""While the trial runs: balance and monitoring."""

from dwp_eval.monitor.balance import balance

__all__ = ["balance"]
