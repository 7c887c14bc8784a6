"""The report's month-by-month impact section (:func:`dwp_eval.impact_profile`), made when
:func:`~dwp_eval.report.report.analyse` is given the monthly employment records.

The section publishes the effects and their intervals only (never the arms' monthly
employment rates, which with a rounded n would give counts back); its counts pass
through the plan's disclosure rules like every other table. A profile that cannot be
estimated is reported as such, with the reason: it never stops the report.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import arm_keys, label_key
from dwp_eval.errors import DwpEvalError
from dwp_eval.estimate.profile import impact_profile
from dwp_eval.report.displays import _png
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.results.impact import NOT_ESTIMABLE

__all__ = ["PROFILE_COVERED", "PROFILE_MONTHS", "RANDOMISED_COLUMN", "add_profile"]

#: Months the report's profile covers at most (fewer when the records end sooner).
PROFILE_MONTHS = 24
#: Share of the people the report's profile covers at least (months are chosen to fit).
PROFILE_COVERED = 0.9
#: The column of the trial data holding each person's date of randomisation.
RANDOMISED_COLUMN = "randomised_on"
#: Columns of the published profile table.
_PUBLISHED = ["term", "measure", "month", "estimate", "std_error", "p_value", "conf_low",
              "conf_high", "band_low", "band_high", "df", "n_obs", "se_type", "design"]


def add_profile(
    add: Callable[..., None], results: MutableMapping[str, Any], randomised: pd.DataFrame,
    records: pd.DataFrame, plan: AnalysisPlan, *, treatment: str,
) -> None:
    """Estimate the profile on ``randomised`` (the trial's randomised people) and add the
    section ``"profile"`` through the report's ``add``; ``results["profile"]`` holds the
    :class:`~dwp_eval.ImpactProfile` (or ``None`` when it is not estimable)."""
    d = plan.design
    title = "Impacts month by month"
    try:
        if not d["id"]:
            raise DwpEvalError("the plan names no id column ([design] id), which links the "
                               "records to the people")
        prof = impact_profile(
            randomised, employment=records, assigned=d["assigned"], control=d["control"],
            treatment=treatment, id=d["id"], randomised=RANDOMISED_COLUMN,
            months=_months(randomised, records, d["id"]), strata=d["strata"],
            covariates=list(plan.covariates) if plan.adjustment == "lin" else None,
            alpha=plan.alpha, seed=plan.seed if isinstance(plan.seed, int) else 20191,
            missing="drop",
        )
    except DwpEvalError as err:
        results["profile"] = None
        why = str(err).split(". Fix:")[0].removeprefix("impact_profile: ")
        add("profile", title, [f"The month-by-month profile is {NOT_ESTIMABLE}: {why}."],
            pd.DataFrame({"note": [f"{NOT_ESTIMABLE}"]}))
        return
    results["profile"] = prof
    level = f"{100 * (1 - plan.alpha):g}%"
    frame = prof.to_frame()[_PUBLISHED]
    text = [
        f"The effect of assignment on the employment rate (percentage points) and on monthly "
        f"earnings (pounds) in each calendar month after the month of randomisation, from the "
        f"monthly employment records to {prof.data_end}: {level} pointwise intervals for each "
        f"month, and a {level} simultaneous (sup-t) band that covers the whole profile "
        f"(Montiel Olea & Plagborg-Moller 2019). Each month is the ITT of that month's "
        f"outcome ({prof.se_type} standard errors, "
        + (f"Lin-adjusted for {', '.join(prof.adjusted)})." if prof.adjusted
           else "no covariate adjustment)."),
        f"Figure: {prof.alt_text('employed')}",
    ]
    arms = arm_keys(randomised[d["assigned"]])
    n_compared = int(arms.isin([label_key(d["control"]), treatment]).sum())
    if int(frame["n_obs"].iloc[0]) < n_compared:
        text.append(f"People randomised too late for {prof.months} months of records are left "
                    "out of every month, so every month compares the same people.")
    text += list(prof.notes)
    add("profile", title, text, frame, display=_display(frame),
        figure=_png(lambda ax: prof.plot(ax, measure="employed")))


def _months(people: pd.DataFrame, records: pd.DataFrame, id: Any) -> int:
    """The longest profile (up to :data:`PROFILE_MONTHS`) that at least
    :data:`PROFILE_COVERED` of the people have: the months from that quantile of the
    randomisation months to the latest month of the records (people randomised later are
    left out of every month, and the section says so)."""
    try:
        first = pd.to_datetime(people[RANDOMISED_COLUMN]).dt.to_period("M")
        last = pd.to_datetime(records["month"].astype(str)).dt.to_period("M").max()
        late = first.sort_values().iloc[int(PROFILE_COVERED * (len(first) - 1))]
        span = int((last - late).n)
    except (KeyError, ValueError, TypeError, IndexError):
        return 12  # impact_profile then names what is wrong
    return int(np.clip(span, 1, PROFILE_MONTHS))


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """The table for reading: pp for the employment rate, pounds for earnings."""
    rows = []
    for r in frame.itertuples(index=False):
        s, unit = (100.0, " pp") if r.measure == "employed" else (1.0, "")
        rows.append({
            "measure": "employment rate" if r.measure == "employed" else "earnings (£)",
            "month": int(r.month),
            "effect": f"{s * r.estimate:+.1f}{unit}" if unit else f"{r.estimate:+,.0f}",
            "pointwise interval": _pair(s * r.conf_low, s * r.conf_high, unit),
            "simultaneous band": _pair(s * r.band_low, s * r.band_high, unit),
            "p-value": f"{r.p_value:.3f}" if np.isfinite(r.p_value) else "",
        })
    return pd.DataFrame(rows)


def _pair(lo: float, hi: float, unit: str) -> str:
    if unit:
        return f"{lo:+.1f} to {hi:+.1f}"
    return f"{lo:+,.0f} to {hi:+,.0f}"
