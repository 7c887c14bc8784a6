"""Run an area-pilot analysis plan (``[area_pilot]``) and make its report.

:func:`dwp_eval.analyse` hands a plan with an ``[area_pilot]`` table here. The report
holds, in order: ``headline`` (the primary estimate), ``sample`` (areas and rows by
cohort), ``did`` (Callaway & Sant'Anna ATT aggregations), ``event_study`` (effects by
event time with the uniform band and the pre-trend test), ``sensitivity`` (Honest DiD
robust intervals, the breakdown value and the pre-trend test's power), ``synthetic``
(the synthetic comparison's estimate), ``synthetic_path`` (the pilot area and its
synthetic comparison period by period), ``synthetic_weights`` (donor areas' weights),
``methods`` and the ``disclosure`` log: whichever the plan pre-specifies.

Disclosure control is the trial report's: counts of people (survey respondents, or
people in a person panel) are rounded and suppressed by the plan's rules. The effects
pool many areas and are published as estimated; the one place a small group's value
could show is the pilot area's own outcome period by period (the synthetic comparison):
there, with survey rows, each period's mean is published only when the respondents
behind it, and for a 0/1 outcome those with and without it, pass the rules; otherwise it
is withheld, from the table and the figure alike, and logged.

The primary analysis must succeed: its error stops the report (the data need fixing).
A secondary analysis that cannot be estimated is reported as such, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._validation import check_data
from dwp_eval.errors import DwpEvalError
from dwp_eval.estimate.event_study import event_study
from dwp_eval.estimate.honest import honest_did, pretrend_power
from dwp_eval.estimate.staggered import staggered_did
from dwp_eval.estimate.synthetic import synthetic_control, synthetic_did
from dwp_eval.report.area_methods import area_methods, headline_text
from dwp_eval.report.displays import _png
from dwp_eval.report.document import Report
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.plan_area import AreaPilot
from dwp_eval.report.sections import SectionBuilder, versions
from dwp_eval.results.impact import NOT_ESTIMABLE
from dwp_eval.results.palette import SERIES, set_alt_text

__all__ = ["analyse_area"]

_TITLES = {"did": "Difference-in-differences (Callaway & Sant'Anna)",
           "event_study": "Event study", "synthetic": "Synthetic comparison"}


def analyse_area(data: pd.DataFrame, plan: AnalysisPlan) -> Report:
    """Run ``plan`` (an area-pilot plan) on ``data`` and return the report (see the module)."""
    a = plan.area_pilot
    if a is None:
        raise TypeError("analyse_area needs an area-pilot plan")  # internal: analyse dispatches
    data = check_data(data, func="analyse")
    plan.check_data(data)
    built = SectionBuilder(plan.disclosure)
    results: dict[str, Any] = {}
    notes: dict[str, str] = {}
    steps: dict[str, Callable[[], None]] = {
        "did": lambda: _did(built, results, data, plan, a),
        "event_study": lambda: _event_study(built, results, data, plan, a),
        "synthetic": lambda: _synthetic(built, results, data, plan, a),
    }
    _sample(built, data, a)
    for name in a.analyses:
        if name == a.primary:
            steps[name]()  # the primary analysis stops the report if it fails
            continue
        try:
            steps[name]()
        except DwpEvalError as err:
            why = str(err).split(". Fix:")[0]
            notes[name] = f"{NOT_ESTIMABLE}: {why}."
            built.add(name, _TITLES[name], [notes[name]], pd.DataFrame({"note": [NOT_ESTIMABLE]}))
    built.add("methods", *area_methods(plan, results, versions()))
    title, text, table = headline_text(plan, results, notes)
    built.add("headline", title, text, table)
    built.sections.insert(0, built.sections.pop())  # the headline first
    return built.finish(plan, results, versions())


# ------------------------------------------------------------------------------ sample


def _cohort_label(g: Any) -> str:
    return "never piloted" if pd.isna(g) or g == 0 else f"pilot from {g}"


def _sample(built: SectionBuilder, data: pd.DataFrame, a: AreaPilot) -> None:
    """Areas and rows by cohort (or pilot vs donor areas): counts of people protected."""
    people = not a.panel or (a.unit is not None and a.unit != a.area)
    if a.cohort is not None:  # never piloted first, then the waves in order
        key = data[a.cohort].fillna(0)
        label: Callable[[Any], str] = _cohort_label
    else:
        treated = a.synthetic.treated if a.synthetic is not None else ()
        key = data[a.area].isin(treated)
        label = {True: "pilot area(s)", False: "comparison areas"}.__getitem__
    rows = []
    for value, part in data.groupby(key, sort=True):
        n = part[a.unit].nunique() if a.panel and people else len(part)
        row: dict[str, Any] = {"group": label(value), "areas": int(part[a.area].nunique()),
                               "periods": int(part[a.time].nunique())}
        row["n" if people else "area_periods"] = int(n)
        rows.append(row)
    frame = pd.DataFrame(rows)
    what = ("survey respondents (a fresh sample each period)" if not a.panel else
            "people followed over time" if people else "area-periods")
    built.add("sample", "Areas and data",
              [f"The areas by when the pilot started in them, with the number of {what}. "
               + ("Counts of people follow the disclosure rules." if people else
                  "The data are area-level: no count of people is published.")], frame)


# ------------------------------------------------------------------------------ DiD


def _fit_cs(data: pd.DataFrame, plan: AnalysisPlan, a: AreaPilot, *, control_group: str,
            method: str, anticipation: int, bootstrap: int, seed: int | None,
            base_period: str) -> Any:
    unit = a.unit or a.area
    return staggered_did(
        data, outcome=a.outcome, unit=unit, time=a.time, cohort=a.cohort or "",
        control_group=control_group, method=method, anticipation=anticipation,  # type: ignore[arg-type]
        base_period=base_period, cluster=a.area if unit != a.area else None,  # type: ignore[arg-type]
        bootstrap=bootstrap, seed=seed, alpha=plan.alpha, panel=a.panel,
        weights=a.weights)


def _did(built: SectionBuilder, results: dict[str, Any], data: pd.DataFrame, plan: AnalysisPlan,
         a: AreaPilot) -> None:
    s = a.did
    if s is None:  # internal: called only for the analyses the plan names
        raise TypeError("the plan has no [area_pilot.did] settings")
    fit = _fit_cs(data, plan, a, control_group=s.control_group, method=s.method,
                  anticipation=s.anticipation, bootstrap=s.bootstrap, seed=s.seed,
                  base_period="varying")
    results["did"] = fit
    rows: list[dict[str, Any]] = []
    aggs: dict[str, Any] = {}
    for kind in s.aggregations:
        agg = fit.aggregate(kind)
        aggs[kind] = agg
        if kind == "simple":
            lo, hi = agg.interval()
            rows.append({"aggregation": "overall (simple)", "level": "all", "estimate": agg.estimate,
                         "std_error": agg.std_error, "conf_low": lo, "conf_high": hi,
                         "band_low": np.nan, "band_high": np.nan, "p_value": agg.p_value})
            continue
        by = "cohort" if kind == "group" else "time"
        f = agg.to_frame()
        for r in f.itertuples(index=False):
            rows.append({"aggregation": f"by {'cohort' if kind == 'group' else 'period'}",
                         "level": str(getattr(r, by)), "estimate": r.estimate,
                         "std_error": r.std_error, "conf_low": r.conf_low, "conf_high": r.conf_high,
                         "band_low": r.band_low, "band_high": r.band_high, "p_value": r.p_value})
        ov = agg.overall
        lo, hi = ov.interval()
        rows.append({"aggregation": f"overall (by {by})", "level": "all", "estimate": ov.estimate,
                     "std_error": ov.std_error, "conf_low": lo, "conf_high": hi,
                     "band_low": np.nan, "band_high": np.nan, "p_value": ov.p_value})
    results["did_aggregations"] = aggs
    frame = pd.DataFrame(rows)
    level = f"{100 * (1 - plan.alpha):g}%"
    kind = "repeated cross-sections" if fit.data_kind == "repeated cross-sections" else fit.data_kind
    text = [
        f"Average effects of the pilot on {a.outcome} on the areas piloted (ATT), from the "
        f"group-time effects ATT(g, t) of Callaway & Sant'Anna (2021) ({fit.method}, "
        f"{fit.control_group.replace('_', '-')} comparison areas, {kind}"
        + (f", survey weights {a.weights!r}" if a.weights else "") + "), aggregated as "
        f"pre-specified. Standard errors from the influence functions, clustered by "
        f"{a.area} ({fit.n_clusters or fit.n_units:,} clusters); {level} intervals"
        + (f", and uniform {level} bands over each aggregation's rows from {fit.bootstrap:,} "
           f"multiplier-bootstrap draws (seed {s.seed})." if fit.bootstrap else "."),
        *fit.notes,
    ]
    groups = aggs.get("group")
    built.add("did", _TITLES["did"], text, frame,
              figure=None if groups is None else _png(lambda ax: groups.plot(ax)))


# ------------------------------------------------------------------------------ event study


def _event_study(built: SectionBuilder, results: dict[str, Any], data: pd.DataFrame,
                 plan: AnalysisPlan, a: AreaPilot) -> None:
    s = a.event_study
    if s is None:  # internal: called only for the analyses the plan names
        raise TypeError("the plan has no [area_pilot.event_study] settings")
    if s.estimator == "callaway_santanna" and not a.panel:
        fit = _fit_cs(data, plan, a, control_group=s.control_group, method="dr", anticipation=0,
                      bootstrap=s.bootstrap, seed=s.seed, base_period="universal")
        es = fit.aggregate("dynamic", window=s.window)
    else:
        unit = a.unit or a.area
        es = event_study(
            data, outcome=a.outcome, unit=unit, time=a.time, cohort=a.cohort or "", ref=-1,
            window=s.window, cluster=a.area if unit != a.area else None,
            estimator=s.estimator, control_group=s.control_group,  # type: ignore[arg-type]
            bootstrap=s.bootstrap, seed=s.seed, alpha=plan.alpha)
    results["event_study"] = es
    f = es.to_frame()
    frame = f[["event_time", "estimate", "std_error", "conf_low", "conf_high", "band_low",
               "band_high", "p_value"]].copy()
    level = f"{100 * (1 - plan.alpha):g}%"
    text = [f"Effects by periods since the pilot started (event time; -1, the period before, "
            f"is the reference), estimator {s.estimator.replace('_', '-')}, with {level} "
            "pointwise intervals and the uniform band."]
    if es.pretrend is not None:
        text.append(f"Joint test that every pre-pilot effect is zero: statistic "
                    f"{es.pretrend.statistic:.2f}, {es.pretrend_test}, p = {es.pretrend.p_value:.3f}. "
                    "Passing it is weak evidence for parallel trends: see the sensitivity analysis.")
    built.add("event_study", _TITLES["event_study"], text, frame, figure=_png(lambda ax: es.plot(ax)))
    if s.sensitivity is not None or s.pretrend_power > 0:
        _sensitivity(built, results, es, plan, a)


def _sensitivity(built: SectionBuilder, results: dict[str, Any], es: Any, plan: AnalysisPlan,
                 a: AreaPilot) -> None:
    s = a.event_study
    if s is None:  # internal: called only for the analyses the plan names
        raise TypeError("the plan has no [area_pilot.event_study] settings")
    target: Literal["average"] | None = "average" if s.target == "average" else None
    what = ("the average of the post-pilot effects" if target else
            "the effect in the first period of the pilot")
    text: list[str] = []
    frame = pd.DataFrame({"note": ["no sensitivity analysis pre-specified"]})
    figure = None
    if s.sensitivity is not None:
        if s.sensitivity == "smoothness":
            hon = honest_did(es, method="smoothness", m=list(s.m) if s.m else None,
                             l_vec=target, alpha=plan.alpha)
            bound = ("M bounds how much the slope of the difference in trends may change from one "
                     "period to the next (Delta^SD, Rambachan & Roth 2023); M = 0 allows a linear "
                     "trend continuing from before the pilot")
        else:
            hon = honest_did(es, method="relative_magnitude", mbar=list(s.mbar), l_vec=target,
                             alpha=plan.alpha)
            bound = ("Mbar bounds each post-pilot violation of parallel trends by Mbar times the "
                     "largest pre-pilot one (Delta^RM, Rambachan & Roth 2023)")
        results["sensitivity"] = hon
        frame = hon.to_frame()
        lo, hi = hon.original
        text += [
            f"How robust the conclusion about {what} is to violations of parallel trends: {bound}. "
            f"Each row is a {100 * (1 - plan.alpha):g}% confidence set valid under that bound; "
            f"the conventional interval, valid only under exact parallel trends, is "
            f"{lo:.4g} to {hi:.4g}.",
            f"Breakdown value: {hon.breakdown:.4g} (the largest bound at which the robust set still "
            "excludes zero)." if np.isfinite(hon.breakdown) else
            "Breakdown value: none in the range searched.",
        ]
        figure = _png(lambda ax: hon.plot(ax))
    if s.pretrend_power > 0:
        pw = pretrend_power(es, power=s.pretrend_power, l_vec=target, alpha=plan.alpha,
                            seed=s.seed or 0)
        results["pretrend_power"] = pw
        text.append(
            f"Power of the pre-trend test (Roth 2022): a linear violation of parallel trends with "
            f"slope {pw.slope:.4g} per period would be detected with probability "
            f"{pw.power:.2f}; it would bias {what} by {pw.bias:.4g} ({pw.bias_given_pass:.4g} "
            "among samples that pass the test).")
    built.add("sensitivity", "Sensitivity to violations of parallel trends (Honest DiD)", text,
              frame, figure=figure)


# ------------------------------------------------------------------------------ synthetic


def _area_panel(data: pd.DataFrame, a: AreaPilot) -> pd.DataFrame:
    """One row per area and period: the (survey-weighted) mean outcome and the rows behind it,
    with those with a 0/1 outcome of 1 (``ones``; -1 when the outcome is not 0/1)."""
    y = data[a.outcome].astype(float)
    w = data[a.weights].astype(float) if a.weights else pd.Series(1.0, index=data.index)
    keys = [data[a.area], data[a.time]]
    g = pd.DataFrame({"wy": w * y, "w": w, "y": y}).groupby(keys, sort=True)
    out = g.agg(wy=("wy", "sum"), w=("w", "sum"), n=("y", "size"), ones=("y", "sum"))
    binary = bool(y.isin([0.0, 1.0]).all())
    out[a.outcome] = out["wy"] / out["w"]
    out["ones"] = out["ones"].astype(int) if binary else -1
    return out.reset_index().rename(columns={"level_0": a.area, "level_1": a.time})


def _synthetic(built: SectionBuilder, results: dict[str, Any], data: pd.DataFrame,
               plan: AnalysisPlan, a: AreaPilot) -> None:
    s = a.synthetic
    if s is None:  # internal: called only for the analyses the plan names
        raise TypeError("the plan has no [area_pilot.synthetic] settings")
    excluded = 0
    if a.cohort is not None:  # donors: areas never piloted (the pilot areas aside)
        other = ~data[a.area].isin(s.treated) & data[a.cohort].notna() & (data[a.cohort] != 0)
        excluded = int(data.loc[other, a.area].nunique())
        data = data[~other]
    cells = _area_panel(data, a) if not a.panel else None
    panel = cells if cells is not None else data
    fitter = synthetic_did if s.method == "synthetic_did" else synthetic_control
    res = fitter(panel, outcome=a.outcome, unit=a.area, time=a.time, treated_units=list(s.treated),
                 treat_time=s.treat_time, se_method=s.se_method, replications=s.replications,
                 alpha=plan.alpha, seed=s.seed)
    results["synthetic"] = res
    effect = res.to_frame().drop(columns=["term"])
    name = "synthetic difference-in-differences" if res.estimator == "sdid" else "synthetic control"
    level = f"{100 * (1 - plan.alpha):g}%"
    built.add("synthetic", _TITLES["synthetic"], [
        f"The pilot's average effect on {a.outcome} in {', '.join(map(str, s.treated))} after "
        f"{s.treat_time}, by {name} ("
        + ("Arkhangelsky et al. 2021" if res.estimator == "sdid" else
           "Abadie, Diamond & Hainmueller 2010") + f"), with a {level} interval from "
        f"{s.se_method} standard errors"
        + (f" ({res.replications:,} replications, seed {s.seed})" if s.se_method != "jackknife"
           else "") + "."
        + (" The survey rows are first averaged per area and period (weighted by the survey "
           "weights)." if cells is not None else "")
        + (f" The comparison areas are those never piloted: {excluded:,} area(s) piloted at "
           "other times are left out of the donor pool." if excluded else "")], effect)
    path = _path(res, cells, a, built)
    built.add("synthetic_path", "The pilot area and its synthetic comparison", [
        (f"The pilot areas' mean {a.outcome}" if len(s.treated) > 1 else
         f"The pilot area's {a.outcome}") + " and the synthetic comparison in each period; the "
        "gap after the pilot starts is its effect."
        + (" The pilot-area value is the survey-weighted mean; beside it, the respondents (n) "
           "and those with and without the outcome (unweighted counts, under the disclosure "
           "rules). A period's mean is withheld when any of these counts is." if cells is not None
           else "")], path, published=path,
        figure=_png(lambda ax: _draw_path(ax, path, a, s.treat_time)))
    weights = res.unit_weights
    wt = pd.DataFrame({"area": weights.index.astype(str), "weight": weights.to_numpy()})
    wt = wt[wt["weight"] > 1e-6].sort_values("weight", ascending=False).reset_index(drop=True)
    built.add("synthetic_weights", "Comparison areas' weights", [
        f"The areas making up the synthetic comparison and their weights ({len(wt)} of "
        f"{len(res.donors)} candidate areas carry weight)."], wt)


def _path(res: Any, cells: pd.DataFrame | None, a: AreaPilot,
          built: SectionBuilder) -> pd.DataFrame:
    """The published path: per period the pilot areas' mean, the synthetic comparison and the
    gap; with survey rows, the respondents (``n``) and those with the outcome (``count``) and
    without (``n_without``), the means withheld with any of them."""
    times = list(res.pre_times) + list(res.post_times)
    frame = pd.DataFrame({"time": times, "pilot": res.treated_path,
                          "synthetic": res.synthetic_path})
    frame["gap"] = frame["pilot"] - frame["synthetic"]
    frame["post"] = frame["time"].isin(res.post_times)
    if cells is None:
        return frame
    mine = cells[cells[a.area].isin(res.treated)].groupby(a.time, sort=True)
    n = mine["n"].sum().reindex(times).to_numpy()
    frame["n"] = n
    counts = ["n"]
    if (cells["ones"] >= 0).all():
        ones = mine["ones"].sum().reindex(times).to_numpy()
        frame["count"], frame["n_without"] = ones, n - ones
        counts += ["count", "n_without"]
    return built.rules.apply(frame, counts=counts, table="synthetic_path",
                             linked={c: ["pilot", "gap"] for c in counts})


def _draw_path(ax: Any, path: pd.DataFrame, a: AreaPilot, start: Any) -> None:
    shown = pd.to_numeric(path["pilot"], errors="coerce")
    ax.plot(path["time"], shown, color=SERIES[0], marker="o", markersize=3, label="pilot area(s)")
    ax.plot(path["time"], path["synthetic"].astype(float), color=SERIES[1], linestyle="--",
            label="synthetic comparison")
    ax.axvline(start, color="#7f7f7f", linestyle=":", linewidth=1)
    ax.set_xlabel(a.time)
    ax.set_ylabel(a.outcome)
    ax.legend(frameon=False)
    withheld = int(shown.isna().sum())
    set_alt_text(ax, (
        f"{a.outcome} in the pilot area(s) and in their synthetic comparison by {a.time}, the "
        f"pilot starting at {start} (dotted line)"
        + (f"; {withheld} period(s) of the pilot areas withheld for disclosure control"
           if withheld else "") + "."))
