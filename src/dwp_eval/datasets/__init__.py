"""Synthetic trial populations for examples, tests and the demo."""

from dwp_eval.datasets.whp import SITES, whp_like, whp_outcomes

__all__ = ["SITES", "whp_like", "whp_outcomes"]
