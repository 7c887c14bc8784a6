"""Employment outcomes derived from monthly administrative records.

Trials of employment programmes measure their outcomes from administrative
data linked to each participant: monthly employment and earnings records (in
the UK, HMRC PAYE Real Time Information, RTI) and benefit spells. This module
turns those records into one row of outcomes per person over a follow-up
window that starts on the day of randomisation (``months`` calendar months):

- ``employed_weeks``: weeks in work in the window;
- ``any_employment``: 1 if ``employed_weeks > 0``;
- ``employed_13_weeks``: 1 if ``employed_weeks >= weeks_threshold`` (13);
- ``cumulative_earnings``: pounds earned in the window;
- ``sustained_earnings``: 1 if the window's earnings reach ``hours x
  sustained_weeks`` at the wage rate in force each month (the Work and Health
  Programme's 16 hours a week for 26 weeks at the National Living Wage);
- ``days_on_benefit``: days of the window covered by a benefit spell.

A person whose window is not yet covered by the records gets missing (NA)
measures and a ``reason``, never a zero: a zero would say "did not work",
which the records cannot yet tell. See :func:`derive_outcomes` for the exact
conventions.
"""

# The modules: measures (the measures and the column names), wage_rates (the
# National Living Wage and regional rates), derive (derive_outcomes and its
# result); privately, _inputs (option and column checks), _records (reading the
# employment records and benefit spells), _windows (follow-up windows and the
# sums over them) and _problems (records left out, and the warning); durations
# (time_to_event: days to a first job or off benefit, censored).
from dwp_eval.outcomes.derive import derive_outcomes
from dwp_eval.outcomes.durations import EVENTS, TIME_TO_EVENT_COLUMNS, Event, time_to_event
from dwp_eval.outcomes.measures import (
    BENEFIT_COLUMNS,
    EMPLOYMENT_COLUMNS,
    FOLLOW_UP_COLUMNS,
    MEASURES,
    Measure,
)
from dwp_eval.outcomes.monthly import monthly_outcomes
from dwp_eval.outcomes.wage_rates import NATIONAL_LIVING_WAGE

__all__ = [
    "BENEFIT_COLUMNS",
    "EMPLOYMENT_COLUMNS",
    "EVENTS",
    "FOLLOW_UP_COLUMNS",
    "MEASURES",
    "NATIONAL_LIVING_WAGE",
    "TIME_TO_EVENT_COLUMNS",
    "Event",
    "Measure",
    "derive_outcomes",
    "monthly_outcomes",
    "time_to_event",
]
