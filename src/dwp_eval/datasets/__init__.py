"""Synthetic trial populations for examples, tests and the demo, and public example data."""

from dwp_eval.datasets.card_krueger import card_krueger
from dwp_eval.datasets.rollout import area_rollout
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
    "area_rollout",
    "card_krueger",
    "whp_like",
    "whp_outcomes",
    "whp_referrals",
]
