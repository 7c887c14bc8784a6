"""The area-pilot report's words: the headline (the primary estimate and how robust it is)
and the Methods section (each estimator, its inference and its source, the settings as a
table), for :mod:`dwp_eval.report.area_report`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.report.plan import AnalysisPlan

__all__ = ["area_methods", "headline_text"]

_SOURCES = {
    "callaway_santanna": "Callaway & Sant'Anna (2021), with the doubly robust 2x2 comparisons "
                         "of Sant'Anna & Zhao (2020)",
    "imputation": "the imputation estimator of Borusyak, Jaravel & Spiess (2024)",
    "sun_abraham": "the interaction-weighted estimator of Sun & Abraham (2021)",
    "twfe": "a two-way fixed-effects regression with event-time dummies (biased when effects "
            "differ across cohorts: de Chaisemartin & D'Haultfoeuille 2020)",
}


def _primary(plan: AnalysisPlan, results: Mapping[str, Any]) -> tuple[str, float, float, float,
                                                                     float] | None:
    """``(what, estimate, conf_low, conf_high, p_value)`` of the primary analysis."""
    a = plan.area_pilot
    if a is None:  # internal: area-pilot plans only
        raise TypeError("not an area-pilot plan")
    if a.primary == "did" and "did" in results:
        aggs = results.get("did_aggregations", {})
        for kind in ("simple", "group", "calendar"):
            if kind in aggs:
                eff = aggs[kind] if kind == "simple" else aggs[kind].overall
                lo, hi = eff.interval()
                return (f"difference-in-differences, {kind} aggregation", eff.estimate, lo, hi,
                        eff.p_value)
    if a.primary == "event_study" and "event_study" in results:
        eff = results["event_study"].overall
        lo, hi = eff.interval()
        return "event study, average of post-pilot effects", eff.estimate, lo, hi, eff.p_value
    if a.primary == "synthetic" and "synthetic" in results:
        res = results["synthetic"]
        lo, hi = res.interval()
        name = "synthetic difference-in-differences" if res.estimator == "sdid" else \
            "synthetic control"
        return name, res.estimate, lo, hi, res.p_value
    return None


def headline_text(plan: AnalysisPlan, results: Mapping[str, Any],
                  notes: Mapping[str, str]) -> tuple[str, list[str], pd.DataFrame]:
    """The headline section: the primary analysis's estimate, then what qualifies it."""
    a = plan.area_pilot
    if a is None:  # internal: area-pilot plans only
        raise TypeError("not an area-pilot plan")
    level = f"{100 * (1 - plan.alpha):g}%"
    first = _primary(plan, results)
    text: list[str] = []
    rows: list[dict[str, Any]] = []
    if first is not None:
        what, est, lo, hi, p = first
        text.append(f"Pre-specified primary analysis ({what}): the pilot changed {a.outcome} by "
                    f"{est:+.4g} ({level} interval {lo:+.4g} to {hi:+.4g}"
                    + ("" if not np.isfinite(p) else ", p < 0.001" if p < 0.001 else f", p = {p:.3f}")
                    + ").")
        rows.append({"analysis": f"primary: {what}", "estimate": est, "conf_low": lo,
                     "conf_high": hi, "p_value": p})
    hon = results.get("sensitivity")
    if hon is not None:
        name = "M" if hon.restriction == "smoothness" else "Mbar"
        target = ("the average post-pilot effect" if a.event_study is not None
                  and a.event_study.target == "average" else "the first post-pilot effect")
        head = f"Sensitivity of {target} (Honest DiD, {hon.restriction.replace('_', ' ')}): "
        text.append(
            head + f"the robust interval excludes zero up to {name} = {hon.breakdown:.4g}."
            if np.isfinite(hon.breakdown) else
            head + f"the robust interval includes zero already at {name} = 0 (no breakdown value).")
    for other in a.analyses[1:]:
        if other in notes:
            text.append(f"{other.replace('_', ' ')}: {notes[other]}")
            continue
        second = _primary(_as_primary(plan, other), results)
        if second is not None:
            what, est, lo, hi, p = second
            text.append(f"Supporting ({what}): {est:+.4g} ({lo:+.4g} to {hi:+.4g}).")
            rows.append({"analysis": f"supporting: {what}", "estimate": est, "conf_low": lo,
                         "conf_high": hi, "p_value": p})
    return "Headline", text, pd.DataFrame(
        rows, columns=["analysis", "estimate", "conf_low", "conf_high", "p_value"])


def _as_primary(plan: AnalysisPlan, name: str) -> AnalysisPlan:
    from dataclasses import replace

    if plan.area_pilot is None:  # internal: area-pilot plans only
        raise TypeError("not an area-pilot plan")
    return replace(plan, area_pilot=replace(plan.area_pilot, primary=name))


def area_methods(plan: AnalysisPlan, results: Mapping[str, Any],
                 versions: Mapping[str, str]) -> tuple[str, list[str], pd.DataFrame]:
    """The Methods section's title, paragraphs and table of settings (``item, setting``)."""
    a = plan.area_pilot
    if a is None:  # internal: area-pilot plans only
        raise TypeError("not an area-pilot plan")
    rows: list[tuple[str, str]] = [
        ("plan", f"{plan.title} (sha256 {plan.fingerprint[:16]}...)"),
        ("data", "panel" if a.panel else "repeated cross-sections"),
        ("outcome", a.outcome), ("area (clusters)", a.area), ("period", a.time),
        ("primary analysis", a.primary), ("alpha", f"{plan.alpha:g}"),
    ]
    if a.weights:
        rows.append(("survey weights", a.weights))
    text = [
        "An area pilot: the programme ran in some areas and not others, so its effect is "
        "estimated by comparing areas, not by randomisation. The data are "
        + ("a panel followed over time" if a.panel else
           "repeated cross-sections (each period a fresh survey sample; Sant'Anna & Zhao 2020)")
        + f"; inference is clustered by {a.area}, the unit the pilot was assigned to."
    ]
    if a.did is not None:
        d = a.did
        text.append(
            f"Difference-in-differences: group-time average effects ATT(g, t) of "
            f"{_SOURCES['callaway_santanna']}, {d.method}, against "
            f"{d.control_group.replace('_', '-')} areas, anticipation {d.anticipation}, "
            f"aggregated ({', '.join(d.aggregations)}; Callaway & Sant'Anna 2021, section 4)."
            f" Standard errors from the influence functions; uniform bands from "
            f"{d.bootstrap:,} Rademacher multiplier-bootstrap draws (their Algorithm 1).")
        rows += [("did", f"{d.method}, {d.control_group}, bootstrap {d.bootstrap:,}, seed "
                         f"{d.seed}")]
    if a.event_study is not None:
        e = a.event_study
        text.append(
            f"Event study: effects by periods since the pilot started, by {_SOURCES[e.estimator]},"
            f" relative to the period before (base period universal)."
            + (" Sensitivity to violations of parallel trends by Honest DiD (Rambachan & Roth "
               "2023): " + ("fixed-length confidence intervals under bounded changes in the "
                            "slope of the trend difference (Delta^SD(M))"
                            if e.sensitivity == "smoothness" else
                            "conditional least-favourable hybrid confidence sets (Andrews, Roth "
                            "& Pakes 2023) under relative magnitudes (Delta^RM(Mbar))") + "."
               if e.sensitivity else "")
            + (f" Power of the pre-trend test against a linear violation (Roth 2022), at power "
               f"{e.pretrend_power:g}." if e.pretrend_power > 0 else ""))
        rows += [("event study", f"{e.estimator}, window {e.window or 'all'}, sensitivity "
                                 f"{e.sensitivity or 'none'}, target {e.target}")]
    if a.synthetic is not None:
        s = a.synthetic
        text.append(
            ("Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & "
             "Wager 2021): unit and time weights, regularised as in the paper"
             if s.method == "synthetic_did" else
             "Synthetic control (Abadie, Diamond & Hainmueller 2010): donor weights matching "
             "the pilot area's pre-pilot path")
            + f"; {s.se_method} standard errors (Arkhangelsky et al. 2021, Algorithms 2-4).")
        rows += [("synthetic", f"{s.method}, treated {', '.join(map(str, s.treated))} from "
                               f"{s.treat_time}, {s.se_method}, {s.replications} replications, "
                               f"seed {s.seed}")]
    text.append(plan.disclosure.describe())
    text.append("Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    rows += [(k, v) for k, v in versions.items()]
    return "Methods", text, pd.DataFrame(rows, columns=["item", "setting"])
