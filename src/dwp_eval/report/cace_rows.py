"""The rows of the report's CACE section: the CACE of every outcome beside the ITT
it is the ratio of, that ITT being the one the impact table publishes.

One ITT figure per outcome: the headline, the impact table and the CACE table all
show the impact table's estimate (Lin-adjusted when the plan says so). The 2SLS
estimate adjusts for the same covariates additively (Angrist & Pischke 2009,
*Mostly Harmless Econometrics*, sec. 4.1), so the CACE equals the ITT divided by
the first stage exactly only without covariates; the section says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import NotEstimableError
from dwp_eval.estimate.cace import cace
from dwp_eval.report.impact_rows import not_estimable_reason
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.results import Effect
from dwp_eval.results.impact import NOT_ESTIMABLE

__all__ = ["CACE_NOTE", "cace_rows"]

#: The sentence under the CACE table on which ITT it shows.
CACE_NOTE = (
    "The ITT column is the impact table's estimate (one ITT per outcome throughout the "
    "report). The 2SLS estimate adjusts for the covariates additively, so with covariates "
    "the CACE is close to, not exactly, the ITT divided by the first stage."
)


def cace_rows(
    data: pd.DataFrame, plan: AnalysisPlan, table: Any, common: Mapping[str, Any],
    received: str,
) -> tuple[dict[str, Effect], pd.DataFrame, list[str]]:
    """The CACE of every outcome of the plan: the effects, the full-precision table
    (numbers only; ``not_estimable`` holds the reason where there is none) and notes.

    An outcome whose ITT is not estimable has no CACE (it is the ITT's ratio: one
    verdict per outcome); a CACE the data cannot estimate is that row's verdict,
    never the report's end.
    """
    effects: dict[str, Effect] = {}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    itt = {e.outcome: (e, why) for e, why in zip(table.effects, table.reasons(), strict=True)}
    for outcome in plan.outcomes:
        head, itt_why = itt.get(outcome, (None, ""))
        if itt_why:
            why = f"ITT {NOT_ESTIMABLE}: {itt_why}"
            rows.append({"outcome": outcome, "not_estimable": why})
            notes.append(f"{outcome}: {NOT_ESTIMABLE} ({why}); see the impacts.")
            continue
        try:
            e = cace(data, outcome=outcome, received=received,
                     covariates=list(plan.covariates) or None, se_type=plan.se_type,
                     alpha=plan.alpha, missing=plan.missing, **common)  # type: ignore[arg-type]
        except NotEstimableError as err:  # this outcome's cell only; the report goes on
            why = not_estimable_reason(err)
            rows.append({"outcome": outcome, "not_estimable": why})
            notes.append(f"{outcome}: {NOT_ESTIMABLE} ({why}). {err}")
            continue
        effects[outcome] = e
        fs = e.first_stage
        ar = e.ar_interval
        rows.append({
            "outcome": outcome,
            "itt": head.estimate if head is not None else np.nan,
            "first_stage": fs.difference if fs is not None else np.nan,
            "estimate": e.estimate, "std_error": e.std_error,
            "conf_low": e.conf_low, "conf_high": e.conf_high,
            "ar_low": ar.low if ar is not None else np.nan,
            "ar_high": ar.high if ar is not None else np.nan,
            "ar_interval": ar.text() if ar is not None else "",
            "p_value": e.p_value, "df": e.df, "n_obs": e.n_obs,
            "robust_f": fs.f_statistic if fs is not None else np.nan,
            "effective_f": fs.effective_f if fs is not None else np.nan,
            "not_estimable": "",
        })
    return effects, pd.DataFrame(rows), notes
