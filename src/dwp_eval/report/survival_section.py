"""The report's time-to-event sections (:func:`dwp_eval.survival_effect`), made for each
``[survival.<name>]`` table of the plan.

Two sections per outcome: ``survival`` holds the effects (restricted mean time to the
event in each arm and their difference, the hazard ratio, the log-rank test) with the
number of people and events per arm as counts under the plan's rules; ``survival_curves``
holds the Kaplan-Meier curves as published, from which the figure is drawn.

A Kaplan-Meier curve drawn at every event time discloses: each step is one day's events
among a known number at risk. The published curves are therefore coarsened (in the
manner of the OpenSAFELY Kaplan-Meier guidance: steps that each hold enough events):
each arm's curve is read at 30-day points, and a point is published only when at least
``min_count`` events have happened in that arm since the last published point and at
least ``min_count`` people are still at risk; so every published step holds at least
``min_count`` events, and the curve stops before the risk set gets small. The numbers at
risk and the events between points are counts, rounded and suppressed by the plan's
rules like every other count. A section that cannot be estimated is reported as such,
with the reason: it never stops the report.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import DwpEvalError
from dwp_eval.estimate.survival import survival_effect
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.displays import _png
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.plan_distributions import SurvivalOutcome
from dwp_eval.results.impact import NOT_ESTIMABLE
from dwp_eval.results.palette import SERIES, set_alt_text
from dwp_eval.results.survival import SurvivalEffect

__all__ = ["CURVE_STEP_DAYS", "add_survival", "published_curves"]

#: Days between the points at which the published curves are read.
CURVE_STEP_DAYS = 30
_EFFECT_COLUMNS = ["outcome", "term", "arm", "estimate", "std_error", "p_value", "conf_low",
                   "conf_high", "n", "count", "se_type", "design"]
_CURVE_COLUMNS = ["outcome", "arm", "time", "n", "count", "survival", "band_low", "band_high"]


def published_curves(res: SurvivalEffect, rules: DisclosureRules, *,
                     step: float = CURVE_STEP_DAYS) -> pd.DataFrame:
    """Each arm's Kaplan-Meier curve at ``step``-day points up to the horizon, keeping a
    point only when at least ``rules.min_count`` events (at least one) happened since the
    last kept point and at least ``rules.min_count`` people are still at risk after it.

    Columns ``arm, time, n`` (at risk just after ``time``), ``count`` (events since the
    previous point), ``survival``, ``band_low``, ``band_high`` (the simultaneous band);
    counts unrounded (the report's rules round them), the curve to 3 decimals."""
    tab = res.curves()
    floor = max(int(rules.min_count), 1)
    rows: list[dict[str, Any]] = []
    for arm in (res.control, res.treatment):
        part = tab[tab["arm"] == arm].sort_values("time")
        t = part["time"].to_numpy(float)
        n0 = int(res.n_by_arm[arm])
        events = np.cumsum(part["n_event"].to_numpy(int))
        left = np.cumsum((part["n_event"] + part["n_censor"]).to_numpy(int))
        rows.append({"arm": arm, "time": 0.0, "n": n0, "count": np.nan, "survival": 1.0,
                     "band_low": 1.0, "band_high": 1.0})
        last_events = 0
        end = min(res.horizon, float(t[-1])) if len(t) else 0.0
        for g in np.arange(step, end + step / 2, step):
            i = int(np.searchsorted(t, g, side="right")) - 1  # last row at or before g
            if i < 0:
                continue
            at_risk = n0 - int(left[i])
            if at_risk < floor:
                break
            new = int(events[i]) - last_events
            if new < floor:
                continue
            r = part.iloc[i]
            rows.append({"arm": arm, "time": float(g), "n": at_risk, "count": new,
                         "survival": round(float(r["survival"]), 3),
                         "band_low": round(float(r["band_low"]), 3),
                         "band_high": round(float(r["band_high"]), 3)})
            last_events = int(events[i])
    return pd.DataFrame(rows, columns=_CURVE_COLUMNS[1:])


def _effects(res: SurvivalEffect, name: str) -> pd.DataFrame:
    frame = res.to_frame()
    arms = {"rmst_control": res.control, "rmst_treatment": res.treatment}
    rows = []
    for r in frame.itertuples(index=False):
        arm = arms.get(r.term, "")
        rows.append({"outcome": name, "term": r.term, "arm": arm, "estimate": r.estimate,
                     "std_error": r.std_error, "p_value": r.p_value, "conf_low": r.conf_low,
                     "conf_high": r.conf_high,
                     "n": int(res.n_by_arm[arm]) if arm else int(r.n_obs),
                     "count": int(res.events_by_arm[arm]) if arm else
                     int(sum(res.events_by_arm.values())),
                     "se_type": r.se_type, "design": r.design})
    return pd.DataFrame(rows, columns=_EFFECT_COLUMNS)


def _display(effects: pd.DataFrame) -> pd.DataFrame:
    names = {"rmst_control": "restricted mean time (days)",
             "rmst_treatment": "restricted mean time (days)",
             "rmst_difference": "difference in restricted mean time (days)",
             "hazard_ratio": "hazard ratio", "log_rank": "log-rank test"}
    rows = []
    for r in effects.itertuples(index=False):
        ratio = r.term == "hazard_ratio"
        est = "" if not np.isfinite(r.estimate) else (
            f"{r.estimate:.3f}" if ratio else f"{r.estimate:+.1f}" if r.term == "rmst_difference"
            else f"{r.estimate:.1f}")
        ci = "" if not np.isfinite(r.conf_low) else (
            f"{r.conf_low:.3f} to {r.conf_high:.3f}" if ratio
            else f"{r.conf_low:.1f} to {r.conf_high:.1f}")
        rows.append({"outcome": r.outcome, "measure": names[r.term], "arm": r.arm or "both",
                     "estimate": est, "interval": ci,
                     "p-value": f"{r.p_value:.3f}" if np.isfinite(r.p_value) else "",
                     "people": r.n, "events": r.count})
    return pd.DataFrame(rows)


def _draw(curves: pd.DataFrame, res: SurvivalEffect, name: str, rules: DisclosureRules,
          ax: Any) -> None:
    """The published curves (steps through the published points) with their band."""
    for k, arm in enumerate((res.control, res.treatment)):
        part = curves[curves["arm"] == arm]
        ax.step(part["time"], part["survival"], where="post", color=SERIES[k], label=arm,
                linestyle="-" if k == 0 else "--")
        ax.fill_between(part["time"], part["band_low"], part["band_high"], step="post",
                        color=SERIES[k], alpha=0.2, linewidth=0)
    ax.axvline(res.horizon, color="#7f7f7f", linestyle=":", linewidth=1)
    ax.set_xlabel("days since randomisation")
    ax.set_ylabel(f"proportion without the event ({name})")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False)
    set_alt_text(ax, (
        f"Kaplan-Meier curves of the proportion of people without the event ({name}) by days "
        f"since randomisation, {res.control} and {res.treatment}, drawn through points each "
        f"at least {max(rules.min_count, 1)} events apart, with simultaneous bands; the dotted "
        f"line marks the {res.horizon:g}-day horizon."))


def add_survival(
    add: Callable[..., None], protect: Callable[..., pd.DataFrame],
    results: MutableMapping[str, Any], randomised: pd.DataFrame, plan: AnalysisPlan, *,
    treatment: str,
) -> None:
    """Estimate each of the plan's time-to-event outcomes on ``randomised`` and add the
    sections ``survival`` (effects) and ``survival_curves`` (published curves) through the
    report's ``add``; ``results["survival"]`` maps each name to its
    :class:`~dwp_eval.SurvivalEffect` (or ``None`` when it is not estimable)."""
    d = plan.design
    rules = plan.disclosure
    fitted: dict[str, SurvivalEffect | None] = {}
    effects, curves, notes = [], [], []
    for s in plan.survival:
        try:
            res = _fit(randomised, s, plan, treatment)
        except DwpEvalError as err:
            fitted[s.name] = None
            why = str(err).split(". Fix:")[0].removeprefix("survival_effect: ")
            notes.append(f"{s.name}: {NOT_ESTIMABLE}: {why}.")
            continue
        fitted[s.name] = res
        effects.append(_effects(res, s.name))
        curves.append(published_curves(res, rules).assign(outcome=s.name)[_CURVE_COLUMNS])
    results["survival"] = fitted
    title = "Time to the event"
    level = f"{100 * (1 - plan.alpha):g}%"
    if not effects:
        add("survival", title, notes, pd.DataFrame({"note": [NOT_ESTIMABLE]}))
        return
    effect_frame = pd.concat(effects, ignore_index=True)
    first = next(r for r in fitted.values() if r is not None)
    text = [
        f"For each pre-specified time-to-event outcome: the restricted mean time to the event "
        f"up to the horizon in each arm (the area under the Kaplan-Meier curve; Royston & "
        f"Parmar 2013) and their difference ({level} intervals, {first.rmst_se_type} standard "
        f"errors), the Cox hazard ratio of {treatment} to {d['control']} ({first.cox_se_type} "
        f"standard error of its logarithm; Lin & Wei 1989) and the log-rank test. People whose "
        f"event was not seen are censored, never dropped.",
        *notes,
    ]
    pub = protect(effect_frame, "survival")
    add("survival", title, text, effect_frame, display=_display(pub), published=pub)
    curve_frame = pd.concat(curves, ignore_index=True)
    curve_pub = protect(curve_frame, "survival_curves")
    for name, one in fitted.items():
        if one is None:
            continue
        key = f"survival_curves_{name}" if len(plan.survival) > 1 else "survival_curves"
        own = curve_pub[curve_pub["outcome"] == name].reset_index(drop=True)
        add(key, f"Kaplan-Meier curves: {name}",
            [f"The proportion without the event ({name}) by days since randomisation, read at "
             f"{CURVE_STEP_DAYS}-day points that each follow at least {max(rules.min_count, 1)} "
             f"events in the arm since the last point shown (and stopping before fewer than "
             f"{max(rules.min_count, 1)} people are at risk), with {level} simultaneous "
             "(Hall-Wellner) bands. Numbers at risk and events between points follow the "
             "disclosure rules."],
            own, published=own, figure=_png(partial(_draw, own, one, name, rules)))


def _fit(data: pd.DataFrame, s: SurvivalOutcome, plan: AnalysisPlan,
         treatment: str) -> SurvivalEffect:
    d = plan.design
    return survival_effect(
        data, duration=s.duration, event=s.event, assigned=d["assigned"], control=d["control"],
        treatment=treatment, strata=d["strata"], cluster=d["cluster"], horizon=s.horizon,
        alpha=plan.alpha, missing="raise" if plan.missing == "raise" else "drop",
    )
