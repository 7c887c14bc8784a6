"""An example statistical analysis plan for the synthetic Work-and-Health-style trial."""

from __future__ import annotations

__all__ = ["WHP_PLAN", "whp_plan"]

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
