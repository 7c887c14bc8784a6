"""Before the trial starts: random allocation with an audit log (randomise, Allocation),
power and sample size (power), and design diagnosis by simulation (simulate)."""

from dwp_eval.design.allocation import Allocation
from dwp_eval.design.randomise import BalanceRule, randomise

__all__ = ["Allocation", "BalanceRule", "randomise"]
