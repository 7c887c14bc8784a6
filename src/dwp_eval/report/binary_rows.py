"""The report's rows for outcomes the plan analyses with :func:`dwp_eval.binary_effect`:
the pre-specified scale first, the other scales as supporting, each from
:func:`dwp_eval.binary_effect` (pooled over the imputations by
:meth:`dwp_eval.MultipleImputation.fit` when the plan says ``missing = "mi"``).

A model that cannot be fitted (separation, an arm with no events, no convergence)
marks that outcome's cells not estimable with the reason, as the impact table does;
the rest of the report is made as usual. The rows publish effects, intervals and
p-values only: no counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.format import p_cell
from dwp_eval.errors import ConvergenceError, DesignError
from dwp_eval.estimate.binary import binary_effect
from dwp_eval.estimate.imputation import multiple_imputation
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.multiplicity import adjust_p_values
from dwp_eval.report.impact_rows import not_estimable_reason
from dwp_eval.report.numbers import value_text
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.plan_estimators import MiSettings, OutcomeAnalysis
from dwp_eval.results.impact import NOT_ESTIMABLE
from dwp_eval.results.imputation import PooledEffect

__all__ = ["BINARY_ROW_COLUMNS", "SCALE_NAMES", "BinaryRow", "adjusted_p_values",
           "binary_analyses", "binary_section", "scale_text"]

#: How the report names each scale.
SCALE_NAMES = {"risk_difference": "risk difference", "risk_ratio": "risk ratio",
               "odds_ratio": "odds ratio", "itt": "ITT effect"}

#: The columns of the section's full-precision table.
BINARY_ROW_COLUMNS = ["outcome", "role", "analysis", "scale", "estimate", "conf_low",
                      "conf_high", "p_value", "p_value_adjusted", "df", "model", "site", "m", "note"]


@dataclass(frozen=True)
class BinaryRow:
    """One scale of one outcome: ``estimate`` and the interval on the scale itself
    (ratios exponentiated), the p-value of no effect, and the result it came from
    (a :class:`~dwp_eval.BinaryEffect` or, with multiple imputation, a
    :class:`~dwp_eval.PooledEffect`); ``reason`` says why it is not estimable."""

    outcome: str
    scale: str
    prespecified: bool
    estimate: float
    conf_low: float
    conf_high: float
    p_value: float
    df: float
    result: Any = None
    reason: str = ""


def _nan_row(outcome: str, scale: str, first: bool, why: str) -> BinaryRow:
    nan = float("nan")
    return BinaryRow(outcome, scale, first, nan, nan, nan, nan, nan, None, why)


def _fit_one(data: pd.DataFrame, outcome: str, a: OutcomeAnalysis, plan: AnalysisPlan,
             args: dict[str, Any]) -> list[BinaryRow]:
    """The rows of one outcome, every scale (pre-specified first)."""
    scales = a.scales()
    kwargs: dict[str, Any] = dict(
        outcome=outcome, assigned=args["assigned"], control=args["control"],
        treatment=args["treatment"], covariates=list(plan.covariates) or None,
        strata=args["strata"], cluster=None if a.site else args["cluster"], model=a.model,
        site=a.site, alpha=plan.alpha,
    )
    rows: list[BinaryRow] = []
    mi = plan.mi
    try:
        if mi is not None and data[outcome].isna().any():
            using = list(mi.using if mi.using is not None else plan.covariates)
            imputed = multiple_imputation(
                data, impute=outcome, assigned=args["assigned"], using=using or None, m=mi.m,
                method=mi.method or "logreg", seed=mi.seed,  # type: ignore[arg-type]
            )
            # one fit per completed dataset gives every scale; each is pooled on its own
            # (the same numbers as imputed.fit(binary_effect, scale=s, ...), at a third of
            # the cost)
            fits = [binary_effect(d, scale=scales, **kwargs) for d in imputed]
            for k, s in enumerate(scales):
                pooled = imputed.pool(fits, scale=s)  # ratios pooled on the log scale
                lo, hi = pooled.interval()
                rows.append(BinaryRow(outcome, s, k == 0, float(pooled.estimate),
                                      float(lo), float(hi), float(pooled.p_value),
                                      float(pooled.df), pooled))
            return rows
        res = binary_effect(data, scale=scales, **kwargs,
                            missing="drop" if plan.missing == "drop" else "raise")
    except (DesignError, ConvergenceError) as err:  # separation, no events in an arm, ...
        why = not_estimable_reason(err) if isinstance(err, DesignError) else "did not converge"
        return [_nan_row(outcome, s, k == 0, why) for k, s in enumerate(scales)]
    for k, r in enumerate(res.to_frame().itertuples(index=False)):
        rows.append(BinaryRow(outcome, str(r.scale), k == 0, float(r.estimate),
                              float(r.conf_low), float(r.conf_high), float(r.p_value),
                              float("inf"), res))
    return rows


def _itt_mi(data: pd.DataFrame, outcome: str, plan: AnalysisPlan, mi: MiSettings,
            args: dict[str, Any]) -> list[BinaryRow]:
    """The ITT of an outcome with missing values pooled over the plan's imputations."""
    values = pd.to_numeric(data[outcome], errors="coerce").dropna()
    binary = bool(len(values) and values.isin([0, 1]).all())
    try:
        using = list(mi.using if mi.using is not None else plan.covariates)
        imputed = multiple_imputation(
            data, impute=outcome, assigned=args["assigned"], using=using or None, m=mi.m,
            method=mi.method or ("logreg" if binary else "pmm"), seed=mi.seed,  # type: ignore[arg-type]
        )
        pooled = imputed.fit(itt, outcome=outcome, control=args["control"],
                             treatment=args["treatment"],
                             covariates=list(plan.covariates) or None,
                             adjustment=plan.adjustment, strata=args["strata"],
                             cluster=args["cluster"], se_type=plan.se_type, alpha=plan.alpha)
    except DesignError as err:
        return [_nan_row(outcome, "itt", True, not_estimable_reason(err))]
    lo, hi = pooled.interval()
    return [BinaryRow(outcome, "itt", True, float(pooled.estimate), float(lo), float(hi),
                      float(pooled.p_value), float(pooled.df), pooled)]


def binary_analyses(data: pd.DataFrame, plan: AnalysisPlan,
                    args: Mapping[str, Any]) -> dict[str, tuple[BinaryRow, ...]]:
    """The pre-specified rows of every outcome the plan analyses beyond the ITT table:
    with binary_effect (every scale, the pre-specified one first), and with
    ``missing = "mi"`` the ITT of an outcome with missing values, pooled over the
    imputations (scale ``"itt"``).

    ``args`` holds the report's ``assigned``, ``control``, ``treatment``, ``strata``
    and ``cluster``."""
    out: dict[str, tuple[BinaryRow, ...]] = {}
    for o in plan.outcomes:
        if plan.analysis_of(o).binary:
            out[o] = tuple(_fit_one(data, o, plan.analysis_of(o), plan, dict(args)))
        elif plan.mi is not None and data[o].isna().any():
            out[o] = tuple(_itt_mi(data, o, plan, plan.mi, dict(args)))
    return out


def scale_text(row: BinaryRow, outcome: str = "") -> tuple[str, str]:
    """A row's estimate and interval as a reader sees them: a risk difference in pp
    (``+8.3 pp``, ``[+2.1, +14.5]``), a ratio to two decimals (``1.45``,
    ``[1.10, 1.91]``)."""
    if row.reason:
        return f"{NOT_ESTIMABLE} ({row.reason})", ""
    if row.scale == "itt":
        binary = bool(getattr(row.result, "binary_outcome", False))
        ends = [value_text(v, binary=binary, outcome=outcome).replace(" pp", "")
                for v in (row.conf_low, row.conf_high)]
        return value_text(row.estimate, binary=binary, outcome=outcome), f"[{ends[0]}, {ends[1]}]"
    if row.scale == "risk_difference":
        lo = value_text(row.conf_low, binary=True).replace(" pp", "")
        hi = value_text(row.conf_high, binary=True).replace(" pp", "")
        return value_text(row.estimate, binary=True), f"[{lo}, {hi}]"
    return f"{row.estimate:.2f}", f"[{row.conf_low:.2f}, {row.conf_high:.2f}]"


def adjusted_p_values(analyses: Mapping[str, tuple[BinaryRow, ...]], plan: AnalysisPlan,
                      table: Any) -> dict[str, float]:
    """The pre-specified rows' p-values adjusted within the plan's families, each
    binary_effect outcome's pre-specified p-value standing in for its ITT p-value among
    the impact table's (rows of everyone). Not estimable rows are left out of the
    adjustment; with Romano-Wolf (a bootstrap of the ITT rows) none is given."""
    if plan.correction == "romano_wolf":
        return {o: float("nan") for o in analyses}
    p_of: dict[str, float] = {}
    for e, sub, why in zip(table.effects, table.subgroups, table.reasons(), strict=True):
        if sub == "all" and not why:
            p_of[e.outcome] = float(e.p_value)
    for o, rs in analyses.items():
        p_of.pop(o, None)
        if rs and not rs[0].reason:
            p_of[o] = rs[0].p_value
    out: dict[str, float] = {o: float("nan") for o in analyses}
    for members in plan.family_map().values():
        fam = [str(o) for o in members if str(o) in p_of]
        if not fam:
            continue
        adj = adjust_p_values([p_of[o] for o in fam], method=plan.correction)  # type: ignore[arg-type]
        out.update({o: float(v) for o, v in zip(fam, adj, strict=True) if o in analyses})
    return out


def binary_section(analyses: Mapping[str, tuple[BinaryRow, ...]], plan: AnalysisPlan,
                   table: Any) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The section's paragraphs, full-precision table and display (``table``: the
    impact table, whose other rows share the multiplicity families)."""
    adjusted = adjusted_p_values(analyses, plan, table)
    level = f"{100 * (1 - plan.alpha):g}% CI"
    rows, shown = [], []
    text = []
    if any(plan.analysis_of(o).binary for o in analyses):
        text.append(
            "Effects on 0/1 outcomes that the plan analyses by logistic (or probit) "
            "regression: the pre-specified scale first, the other scales as supporting "
            "analyses. Risk differences are in percentage points (pp); risk and odds ratios "
            "have no unit (1 is no effect). Ratios are tested and given intervals on the log "
            "scale.")
    if plan.mi is not None:
        text.append(
            f"Missing outcomes are multiply imputed (m = {plan.mi.m}) and each estimate is "
            "pooled over the completed datasets by Rubin's rules (Barnard-Rubin df): for the "
            "ITT effects here, the impact table's complete-case ITT is supporting.")
    text.append(
            "The adjusted p-value of a pre-specified row is adjusted within its family "
            "with the other outcomes' pre-specified p-values (the ITT for the others)."
            + (" With the Romano-Wolf correction (a bootstrap of the ITT rows) no adjusted "
               "p-value is given here." if plan.correction == "romano_wolf" else ""))
    for o, rs in analyses.items():
        a = plan.analysis_of(o)
        role = "primary" if o in plan.primary else "secondary"
        if rs and rs[0].reason:
            text.append(f"{o}: {NOT_ESTIMABLE} ({rs[0].reason}); the impact table's ITT is "
                        "a supporting analysis.")
        for r in rs:
            analysis = "pre-specified" if r.prespecified else "supporting"
            rows.append({
                "outcome": o, "role": role, "analysis": analysis, "scale": r.scale,
                "estimate": r.estimate, "conf_low": r.conf_low, "conf_high": r.conf_high,
                "p_value": r.p_value,
                "p_value_adjusted": adjusted[o] if r.prespecified else float("nan"),
                "df": r.df, "model": a.model if a.binary else "ols", "site": a.site or "",
                "m": r.result.m if isinstance(r.result, PooledEffect) else None,
                "note": f"{NOT_ESTIMABLE}: {r.reason}" if r.reason else "",
            })
            value, ci = scale_text(r, o)
            shown.append({"outcome": o, "analysis": analysis,
                          "scale": SCALE_NAMES[r.scale], "estimate": value, level: ci,
                          "p-value": "" if r.reason else p_cell(r.p_value),
                          "adjusted p-value": p_cell(adjusted[o])
                          if r.prespecified and np.isfinite(adjusted[o]) else ""})
    frame = pd.DataFrame(rows, columns=BINARY_ROW_COLUMNS)
    frame["m"] = frame["m"].astype("Int64")
    display = pd.DataFrame(shown, columns=["outcome", "analysis", "scale", "estimate", level,
                                           "p-value", "adjusted p-value"])
    return text, frame, display

