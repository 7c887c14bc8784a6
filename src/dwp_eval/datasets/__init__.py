"""Synthetic trial populations for examples, tests and the demo."""

from dwp_eval.datasets.whp import (
    DISSIMILAR_PROVISION,
    SIGNPOSTING,
    SIMILAR_PROVISION,
    SITES,
    WhpRecords,
    whp_like,
    whp_outcomes,
    whp_referrals,
)

__all__ = [
    "DISSIMILAR_PROVISION",
    "SIGNPOSTING",
    "SIMILAR_PROVISION",
    "SITES",
    "WhpRecords",
    "whp_like",
    "whp_outcomes",
    "whp_referrals",
]
