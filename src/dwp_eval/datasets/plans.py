"""Example statistical analysis plans: the synthetic Work-and-Health-style trial's, and an
area pilot's on the synthetic Labour-Force-Survey-like areas."""

from __future__ import annotations

__all__ = ["AREA_PILOT_PLAN", "WHP_PLAN", "area_pilot_plan", "whp_plan"]

#: The analysis plan the demo runs (TOML), for the columns the demo builds from
#: :func:`~dwp_eval.datasets.whp_like`, :func:`~dwp_eval.datasets.whp_referrals`
#: and the outcomes derived from :func:`~dwp_eval.datasets.admin.whp_monthly_records`.
WHP_PLAN = """\
# Statistical analysis plan: synthetic Work and Health Programme-style trial.
# Written before the outcomes are seen; its SHA-256 goes into the report.

[plan]
title = "Synthetic Work and Health Programme-style trial: 12-month impacts"
version = "1.0"
registration = "not registered (synthetic data)"

[design]
id = "id"
assigned = "arm"
control = "control"
treatment = "treatment"
strata = "stratum"             # randomised 1:1 within site x benefit
received = "received"          # programme start, or similar provision for controls
contaminated = "contaminated"  # control-arm referral to similar provision
site = "site"
followed_up = "followed_up"    # 12 months of earnings records complete

[outcomes]
primary = ["employed_13_weeks"]
secondary = ["any_employment", "cumulative_earnings", "sustained_earnings", "days_on_benefit"]

[analysis]
covariates = ["age", "female", "months_out_of_work", "prior_earnings"]
adjustment = "lin"
se_type = "HC2"
alpha = 0.05
cace = true
missing = "drop"               # people without complete follow-up are counted, not analysed

[multiplicity]
correction = "holm"
families = "by_role"           # primary and secondary outcomes adjusted separately

[subgroups]
by = ["health_condition"]

[balance]
covariates = ["age", "female", "disability", "months_out_of_work", "prior_earnings",
              "health_condition", "benefit"]

[disclosure]
min_count = 10
round_to = 5
"""


def whp_plan() -> str:
    """The text of the example analysis plan (TOML) used by ``dwp-eval demo``.

    Examples
    --------
    >>> from dwp_eval.report.plan import AnalysisPlan
    >>> import tomllib
    >>> AnalysisPlan.from_dict(tomllib.loads(whp_plan())).primary
    ('employed_13_weeks',)
    """
    return WHP_PLAN


#: An area-pilot plan (TOML) for :func:`~dwp_eval.datasets.lfs_areas` (default settings, seed=123):
#: staggered DiD on the survey rows (primary), the event study with its Honest DiD
#: sensitivity, and a synthetic comparison for one area of the last wave.
AREA_PILOT_PLAN = """\
# Area-pilot analysis plan: employment advisers piloted in waves of areas,
# evaluated on quarterly Labour-Force-Survey-like samples.

[plan]
title = "Employment advisers in pilot areas: the employment rate"
version = "1.0"
registration = "not registered (synthetic data)"

[area_pilot]
outcome = "employed"     # 0/1: in work at interview
area = "area"
time = "quarter"
cohort = "cohort"        # the quarter the pilot started in the area; 0 = never
panel = false            # a fresh survey sample every quarter
weights = "weight"       # survey weights
primary = "did"

[did]
control_group = "never_treated"
aggregations = ["simple", "group", "calendar"]
bootstrap = 999
seed = 20240101

[event_study]
window = [-4, 4]
sensitivity = "smoothness"
m = [0.0, 0.0025, 0.005, 0.01]
target = "average"
seed = 20240102

[synthetic]
method = "synthetic_did"
treated = ["A20"]        # one area of the last wave (seed=123), piloted from quarter 13
treat_time = 13
se_method = "placebo"
replications = 200
seed = 20240103

[disclosure]
min_count = 10
round_to = 5
"""


def area_pilot_plan() -> str:
    """The text of the example area-pilot plan (TOML) for :func:`~dwp_eval.datasets.lfs_areas`.

    Examples
    --------
    >>> from dwp_eval.report.plan import AnalysisPlan
    >>> import tomllib
    >>> AnalysisPlan.from_dict(tomllib.loads(area_pilot_plan())).area_pilot.analyses
    ('did', 'event_study', 'synthetic')
    """
    return AREA_PILOT_PLAN
