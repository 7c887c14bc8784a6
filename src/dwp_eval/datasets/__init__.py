"""Synthetic trial populations for examples, tests, the demo and simulated trials
(:func:`whp_population`), and public example data."""

from dwp_eval.datasets.admin import AdminRecords, whp_monthly_records
from dwp_eval.datasets.card_krueger import card_krueger
from dwp_eval.datasets.job_starts import whp_job_starts
from dwp_eval.datasets.jtpa import jtpa, jtpa_mhe_table
from dwp_eval.datasets.lfs import lfs_areas
from dwp_eval.datasets.outcomes import whp_outcomes
from dwp_eval.datasets.plans import WHP_PLAN, whp_plan
from dwp_eval.datasets.population import SITES, whp_like
from dwp_eval.datasets.populations import whp_population
from dwp_eval.datasets.referrals import (
    DISSIMILAR_PROVISION,
    SIGNPOSTING,
    SIMILAR_PROVISION,
    WhpRecords,
    whp_referrals,
)
from dwp_eval.datasets.rollout import area_rollout

__all__ = [
    "DISSIMILAR_PROVISION",
    "SIGNPOSTING",
    "SIMILAR_PROVISION",
    "SITES",
    "WHP_PLAN",
    "AdminRecords",
    "WhpRecords",
    "area_rollout",
    "card_krueger",
    "jtpa",
    "jtpa_mhe_table",
    "lfs_areas",
    "whp_job_starts",
    "whp_like",
    "whp_monthly_records",
    "whp_outcomes",
    "whp_plan",
    "whp_population",
    "whp_referrals",
]
