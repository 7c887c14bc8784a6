"""The report's first section, its headline findings, and the order of the sections.

A reader of an impact report looks first for the answer: the primary outcome, the
effect of assignment with its confidence interval in words and in numbers, who was
randomised, how many took the programme up and how many in the control arm got it
or something like it. Every number here is copied from a section's *published*
table (disclosure control already applied) or from the result object that table
shows, so the headline never says more than the tables do and says it with the
same figure: one ITT per outcome (the impact table's), one control-arm receipt.

Names used throughout the report: **take-up** is the share of the treatment arm
who received the programme; **control-arm receipt** the share of the control arm
who received it or similar provision (the ``received`` column, which the CACE and
the MDE use); **contamination** the share of the control arm flagged as receiving
similar provision (the ``contaminated`` column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.report.binary_rows import SCALE_NAMES, BinaryRow, scale_text
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.document import Section, _num
from dwp_eval.report.numbers import effect_words, interval_rates, rate_text, value_text
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.results.impact import NOT_ESTIMABLE

__all__ = ["HEADLINE_COLUMNS", "ORDER", "arrange", "headline"]

#: The columns of the headline's full-precision table.
HEADLINE_COLUMNS = ["measure", "outcome", "estimate", "conf_low", "conf_high", "n", "unit",
                    "withheld"]

#: The order of the report's sections (a key not listed keeps its place after the
#: section it followed when it was made).
ORDER = ("headline", "flow", "balance", "impact", "prespecified", "profile", "subgroups", "cace", "take_up",
         "contamination", "contamination_by_site", "mde", "methods", "disclosure")


def arrange(sections: Sequence[Section]) -> list[Section]:
    """The sections in :data:`ORDER`; any other section stays right after the one it
    followed (an exploratory section, a section a later version adds)."""
    rank: list[float] = []
    last = -1.0
    for s in sections:
        if s.key in ORDER:
            last = float(ORDER.index(s.key))
            rank.append(last)
        else:
            rank.append(last + 0.5)
    order = sorted(range(len(sections)), key=lambda i: (rank[i], i))
    return [sections[i] for i in order]


def _table(sections: Sequence[Section], key: str) -> pd.DataFrame | None:
    for s in sections:
        if s.key == key:
            return s.table
    return None


def _value(v: Any) -> tuple[float, bool]:
    """A published cell as a number, and whether it was withheld (text in its place)."""
    if isinstance(v, str):
        return np.nan, True
    if v is None or v is pd.NA:
        return np.nan, False
    return float(v), False


def _rate_of(table: pd.DataFrame | None, col: str, label: Any) -> tuple[Any, Any, Any, Any]:
    """Rate, interval and count of one row of a published rates table (by its first
    column's label), or ``None`` when the table or row is absent."""
    if table is None:
        return None, None, None, None
    hit = table[table[col].astype(str) == str(label)] if col in table.columns else table.iloc[:0]
    if not len(hit):
        return None, None, None, None
    r = hit.iloc[0]
    return r.get("rate"), r.get("conf_low_rate"), r.get("conf_high_rate"), r.get("n_flagged")


def headline(
    plan: AnalysisPlan, sections: Sequence[Section], results: Mapping[str, Any], *,
    treatment: Any, control: Any,
) -> tuple[str, list[str], pd.DataFrame, pd.DataFrame]:
    """The headline section's title, paragraphs, full-precision table and display.

    The table has :data:`HEADLINE_COLUMNS`: numbers only in ``estimate``,
    ``conf_low``, ``conf_high`` and ``n`` (proportions for shares and for effects
    on 0/1 outcomes; a withheld cell is blank, and ``withheld`` names its columns).
    """
    rules: DisclosureRules = plan.disclosure
    d = plan.design
    assigned = d["assigned"]
    level = f"{100 * (1 - plan.alpha):g}%"
    text: list[str] = []
    rows: list[dict[str, Any]] = []

    # who was randomised (the flow's published counts)
    flow = _table(sections, "flow")
    if flow is not None:
        def count(stage: str, arm: Any = None) -> Any:
            f = flow[flow["stage"] == stage]
            f = f[f["arm"].isna()] if arm is None else f[f["arm"].astype(str) == str(arm)]
            f = f[f["reason"].isna()] if "reason" in f.columns else f
            return f["count"].iloc[0] if len(f) else None

        n_all, n_t, n_c = count("randomised"), count("allocated", treatment), count(
            "allocated", control)
        design = results["impact"].effects[0].design if "impact" in results else ""
        within = f", randomised within the strata of {d['strata']}" if d["strata"] else ""
        clusters = f", in clusters of {d['cluster']}" if d["cluster"] else ""
        text.append(
            f"Who was randomised: {_num(n_all)} people, {_num(n_t)} to {treatment} and "
            f"{_num(n_c)} to {control} ({design} design{within}{clusters})."
        )
        v, hidden = _value(n_all)
        rows.append({"measure": "randomised", "outcome": "", "n": v,
                     "unit": "people", "withheld": "n" if hidden else ""})

    # the primary outcome: the impact table's ITT, as it publishes it
    primary = plan.primary[0]
    table = results.get("impact")
    impact_pub = _table(sections, "impact")
    prespecified = results.get("binary", {}).get(primary)
    if prespecified:
        shown = _table(sections, "prespecified")
        adjusted = np.nan if shown is None else float(shown.loc[
            (shown["outcome"] == primary) & (shown["analysis"] == "pre-specified"),
            "p_value_adjusted"].iloc[0])
        _binary_headline(prespecified, plan, text, rows, treatment=treatment, control=control,
                         adjusted=adjusted)
    elif table is not None and impact_pub is not None:
        pos = next(i for i, e in enumerate(table.effects) if e.outcome == primary)
        e, why = table.effects[pos], table.reasons()[pos]
        pub = impact_pub.iloc[pos]
        unit = "proportion" if e.binary_outcome else "outcome units"
        if why:
            text.append(f"Primary outcome, {primary}: {NOT_ESTIMABLE} ({why}).")
            rows.append({"measure": "ITT", "outcome": primary, "unit": unit,
                         "withheld": f"{NOT_ESTIMABLE}: {why}"})
        elif isinstance(pub.get("estimate"), str):
            text.append(f"Primary outcome, {primary}: the effect is withheld under disclosure "
                        "control (see the disclosure log).")
            rows.append({"measure": "ITT", "outcome": primary, "unit": unit,
                         "withheld": "estimate, conf_low, conf_high"})
        else:
            lo, hi = e.interval()
            fmt = {"binary": e.binary_outcome, "outcome": primary}
            mean = pub.get("control_mean")
            base = ""
            if not isinstance(mean, str) and mean is not None and np.isfinite(float(mean)):
                base = (f" The control arm's mean was "
                        f"{rate_text(mean, rules) if e.binary_outcome else _num(mean)}.")
            p_adj = pub.get("p_value_adjusted")
            adj = (f"; adjusted for multiple outcomes p = {float(p_adj):.3f}"
                   if p_adj is not None and not isinstance(p_adj, str)
                   and np.isfinite(float(p_adj)) and plan.correction != "none" else "")
            verdict = (
                "The interval excludes zero: the effect is statistically significant at the "
                f"{100 * plan.alpha:g}% level." if lo > 0 or hi < 0 else
                "The interval includes zero: the data are consistent with no effect."
            )
            text.append(
                f"Primary outcome, {primary}: assignment to {treatment} rather than {control} "
                f"led to {effect_words(e.estimate, **fmt)} ({value_text(e.estimate, **fmt)}; "
                f"{level} confidence interval {value_text(lo, **fmt)} to "
                f"{value_text(hi, **fmt)}; p = {e.p_value:.3f}{adj}).{base} {verdict}"
            )
            rows.append({"measure": "ITT", "outcome": primary, "estimate": e.estimate,
                         "conf_low": lo, "conf_high": hi, "n": _value(pub.get("n_obs"))[0],
                         "unit": unit, "withheld": ""})
    if table is not None and impact_pub is not None:
        pos = next(i for i, e in enumerate(table.effects) if e.outcome == primary)
        why = table.reasons()[pos]
        cace_e = results.get("cace", {}).get(primary)
        if cace_e is not None and not why:
            lo, hi = cace_e.interval()
            fmt = {"binary": cace_e.binary_outcome, "outcome": primary}
            text.append(
                "For people who received the programme because they were offered it "
                f"(compliers), the effect of receiving it (CACE) was "
                f"{value_text(cace_e.estimate, **fmt)} ({level} CI {value_text(lo, **fmt)} "
                f"to {value_text(hi, **fmt)})."
            )
            rows.append({"measure": "CACE", "outcome": primary, "estimate": cace_e.estimate,
                         "conf_low": lo, "conf_high": hi, "unit": unit, "withheld": ""})

    # take-up, control-arm receipt, contamination: the rates tables' published values
    take = _table(sections, "take_up")
    parts = []
    for measure, arm, words in (
        ("take-up", treatment, "of the treatment arm received the programme (take-up)"),
        ("control-arm receipt", control, "of the control arm received it or similar "
         "provision (control-arm receipt)"),
    ):
        rate, lo, hi, k = _rate_of(take, str(assigned), arm)
        if rate is None:
            continue
        shown = interval_rates(rate, lo, hi, rules, nonzero=_positive(k))
        why = " (withheld under disclosure control)" if isinstance(rate, str) else ""
        parts.append(f"{shown[0]} {words}{why}")
        rows.append(_rate_row(measure, rate, lo, hi))
    if parts:
        text.append(f"Receipt: {'; '.join(parts)}.")
    cont = _table(sections, "contamination")
    rate, lo, hi, k = _rate_of(cont, str(assigned), control)
    if rate is not None:
        shown = interval_rates(rate, lo, hi, rules, nonzero=_positive(k))
        ci = f" ({level} CI {shown[1]} to {shown[2]})" if not isinstance(rate, str) else (
            " (withheld under disclosure control; see the disclosure log)")
        text.append(f"Contamination: {shown[0]} of the control arm were flagged as receiving "
                    f"provision similar to the programme{ci}.")
        rows.append(_rate_row("contamination", rate, lo, hi))
    mde = _table(sections, "mde")
    if mde is not None and len(mde) and table is not None:
        first = mde.iloc[0]
        e = next((x for x in table.effects if x.outcome == first["outcome"]), None)
        if e is not None and np.isfinite(float(first["mde"])):
            size = value_text(float(first["mde"]), binary=e.binary_outcome, outcome=e.outcome,
                              sign=False)
            text.append(f"With the sample analysed, the smallest ITT on {first['outcome']} the "
                        f"trial had 80% power to detect was {size}.")
    frame = pd.DataFrame(rows, columns=HEADLINE_COLUMNS)
    frame["withheld"] = frame["withheld"].fillna("")
    frame["outcome"] = frame["outcome"].fillna("")
    return "Headline findings", text, frame, _display(frame, rules, treatment)


def _binary_headline(rows_of: Sequence[BinaryRow], plan: AnalysisPlan, text: list[str],
                     rows: list[dict[str, Any]], *, treatment: Any, control: Any,
                     adjusted: float) -> None:
    """The primary outcome's headline on its pre-specified scale, the others supporting."""
    primary = plan.primary[0]
    a = plan.analysis_of(primary)
    first, rest = rows_of[0], rows_of[1:]
    name = SCALE_NAMES[first.scale]
    unit = "ratio" if first.scale in ("odds_ratio", "risk_ratio") else (
        "proportion" if first.scale == "risk_difference"
        or getattr(first.result, "binary_outcome", False) else "outcome units")
    measure = "ITT" if first.scale == "itt" else name
    if first.reason:
        text.append(f"Primary outcome, {primary} (pre-specified: {name}): {NOT_ESTIMABLE} "
                    f"({first.reason}).")
        rows.append({"measure": measure, "outcome": primary, "unit": unit,
                     "withheld": f"{NOT_ESTIMABLE}: {first.reason}"})
        return
    level = f"{100 * (1 - plan.alpha):g}%"
    value, ci = scale_text(first, primary)
    null = 1.0 if unit == "ratio" else 0.0
    verdict = (
        f"The interval excludes {null:g}: the effect is statistically significant at the "
        f"{100 * plan.alpha:g}% level." if first.conf_low > null or first.conf_high < null else
        f"The interval includes {null:g}: the data are consistent with no effect."
    )
    if first.scale == "itt":
        how = "the pre-specified analysis (the ITT"
    else:
        how = (f"the pre-specified scale ({'logistic' if a.model == 'logit' else 'probit'} "
               "regression" + (f" with a random intercept for {a.site}" if a.site else ""))
    if plan.mi is not None and hasattr(first.result, "m"):
        how += f", pooled over {first.result.m} imputations"
    how += ")"
    low, high = ci.strip("[]").split(", ")
    if unit != "ratio":
        low, high = (value_text(v, binary=unit == "proportion", outcome=primary)
                     for v in (first.conf_low, first.conf_high))
    text.append(
        f"Primary outcome, {primary}: assignment to {treatment} rather than {control} gave "
        f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name} of {value} ({level} confidence "
        f"interval {low} to {high}; p = {first.p_value:.3f}"
        + (f"; adjusted for multiple outcomes p = {adjusted:.3f}" if np.isfinite(adjusted)
           and plan.correction != "none" else "")
        + f"), {how}. {verdict}"
    )
    rows.append({"measure": measure, "outcome": primary, "estimate": first.estimate,
                 "conf_low": first.conf_low, "conf_high": first.conf_high, "unit": unit,
                 "withheld": ""})
    support = [f"{SCALE_NAMES[r.scale]} {scale_text(r)[0]} {scale_text(r)[1]}" for r in rest
               if not r.reason]
    if support:
        text.append(f"Supporting scales for {primary}: {'; '.join(support)}.")


def _positive(count: Any) -> bool:
    return not isinstance(count, str) and count is not None and not pd.isna(count) and count > 0


def _rate_row(measure: str, rate: Any, lo: Any, hi: Any) -> dict[str, Any]:
    cells = {"estimate": rate, "conf_low": lo, "conf_high": hi}
    hidden = [c for c, v in cells.items() if isinstance(v, str)]
    out = {c: (np.nan if isinstance(v, str) else v) for c, v in cells.items()}
    return {"measure": measure, "outcome": "", **out, "unit": "proportion",
            "withheld": ", ".join(hidden)}


def _display(frame: pd.DataFrame, rules: DisclosureRules, treatment: Any) -> pd.DataFrame:
    rows = []
    for rec in frame.itertuples(index=False):
        est, lo, hi = rec.estimate, rec.conf_low, rec.conf_high
        if rec.measure == "randomised":
            value, ci = _num(rec.n) if np.isfinite(rec.n) else rules.suppressed, ""
        elif rec.withheld and not np.isfinite(est):
            value, ci = (rules.suppressed if "estimate" in rec.withheld else rec.withheld), ""
        elif rec.unit == "ratio":
            value, ci = f"{est:.2f}", f"{lo:.2f} to {hi:.2f}"
        elif rec.measure in ("ITT", "CACE", "risk difference"):
            binary = rec.unit == "proportion"
            value = value_text(est, binary=binary, outcome=rec.outcome)
            ci = (f"{value_text(lo, binary=binary, outcome=rec.outcome)} to "
                  f"{value_text(hi, binary=binary, outcome=rec.outcome)}")
        else:
            value, low, high = interval_rates(est, lo, hi, rules)
            ci = f"{low} to {high}" if low and high else ""
        label = f"{rec.measure}, {rec.outcome}" if rec.outcome else rec.measure
        rows.append({"finding": label, "value": value, "interval": ci})
    return pd.DataFrame(rows, columns=["finding", "value", "interval"])
