"""The report's distribution section (:func:`dwp_eval.quantile_effects`), made when the
plan has a ``[distribution]`` table.

It publishes, for each outcome, the effect at each pre-specified quantile with its
bootstrap interval and whether the level lies in an arm's mass at zero, and each arm's
share with a zero outcome. It never publishes the arms' quantiles themselves: a sample
quantile is one person's value. The shares with a zero outcome are proportions of people,
controlled like every 0/1 mean (suppressed when the count with or without a zero is
small, otherwise recomputed from the rounded counts). An outcome that cannot be
estimated is reported as such, with the reason: it never stops the report.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import arm_keys
from dwp_eval.errors import DwpEvalError
from dwp_eval.estimate.quantile import quantile_effects
from dwp_eval.report.displays import _png
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.results.impact import NOT_ESTIMABLE
from dwp_eval.results.palette import band_plot, set_alt_text
from dwp_eval.results.quantile import QuantileEffects

__all__ = ["add_distribution"]

_COLUMNS = ["outcome", "measure", "quantile", "arm", "estimate", "std_error", "p_value",
            "conf_low", "conf_high", "zero_mass", "n", "count", "share", "design"]


def _rows(res: QuantileEffects, name: str, values: pd.Series, arms: pd.Series) -> list[dict]:
    rows: list[dict[str, Any]] = []
    for r in res.to_frame().itertuples(index=False):
        rows.append({"outcome": name, "measure": "quantile effect", "quantile": r.quantile,
                     "arm": "", "estimate": r.estimate, "std_error": r.std_error,
                     "p_value": r.p_value, "conf_low": r.conf_low, "conf_high": r.conf_high,
                     "zero_mass": r.zero_mass, "n": int(r.n_control + r.n_treatment),
                     "count": np.nan, "share": np.nan, "design": r.design})
    for arm, n in ((res.control, res.n_control), (res.treatment, res.n_treatment)):
        zeros = int((values[arms == arm] == 0).sum())
        rows.append({"outcome": name, "measure": "share with a zero outcome",
                     "quantile": np.nan, "arm": arm, "estimate": np.nan, "std_error": np.nan,
                     "p_value": np.nan, "conf_low": np.nan, "conf_high": np.nan,
                     "zero_mass": "", "n": int(n), "count": zeros, "share": zeros / n,
                     "design": res.design})
    return rows


def _display(pub: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in pub.itertuples(index=False):
        if r.measure == "quantile effect":
            zero = {"both": "inside both arms' zero mass", "none": ""}.get(
                r.zero_mass, f"inside the {r.zero_mass} arm's zero mass")
            rows.append({"outcome": r.outcome, "measure": f"effect at quantile {r.quantile:g}",
                         "estimate": f"{r.estimate:+,.0f}",
                         "interval": f"{r.conf_low:+,.0f} to {r.conf_high:+,.0f}",
                         "p-value": f"{r.p_value:.3f}", "note": zero, "people": r.n})
        else:
            share = r.share if isinstance(r.share, str) else f"{100 * r.share:.1f}%"
            rows.append({"outcome": r.outcome, "measure": f"share with zero: {r.arm}",
                         "estimate": share, "interval": "", "p-value": "", "note": "",
                         "people": r.n})
    return pd.DataFrame(rows)


def _draw(effects: pd.DataFrame, name: str, alpha: float, ax: Any) -> None:
    band_plot(ax, effects["quantile"], effects, scale=1.0, alpha=alpha, label="quantile effect")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("quantile (tau)")
    ax.set_ylabel(f"effect on {name}")
    ax.legend(loc="best", frameon=False)
    set_alt_text(ax, (
        f"Quantile treatment effects on {name} at {len(effects)} quantiles from "
        f"{effects['quantile'].min():g} to {effects['quantile'].max():g}, with "
        f"{100 * (1 - alpha):g}% bootstrap intervals as a band and a zero line; the largest is "
        f"{effects['estimate'].abs().max():,.0f} in absolute value."))


def add_distribution(
    add: Callable[..., None], protect: Callable[..., pd.DataFrame],
    results: MutableMapping[str, Any], randomised: pd.DataFrame, plan: AnalysisPlan, *,
    treatment: str,
) -> None:
    """Estimate the plan's quantile effects on ``randomised`` and add the section
    ``distribution`` through the report's ``add``; ``results["distribution"]`` maps each
    outcome to its :class:`~dwp_eval.QuantileEffects` (or ``None`` when not estimable)."""
    q = plan.distribution
    if q is None:
        return
    d = plan.design
    fitted: dict[str, QuantileEffects | None] = {}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for o in q.outcomes:
        try:
            res = quantile_effects(
                randomised, outcome=o, assigned=d["assigned"], control=d["control"],
                treatment=treatment, quantiles=q.quantiles, strata=d["strata"],
                cluster=d["cluster"], draws=q.draws, seed=q.seed, alpha=plan.alpha,
                missing="raise" if plan.missing == "raise" else "drop")
        except DwpEvalError as err:
            fitted[o] = None
            why = str(err).split(". Fix:")[0].removeprefix("quantile_effects: ")
            notes.append(f"{o}: {NOT_ESTIMABLE}: {why}.")
            continue
        fitted[o] = res
        kept = randomised[randomised[o].notna()]
        rows += _rows(res, o, kept[o], arm_keys(kept[d["assigned"]]))
    results["distribution"] = fitted
    title = "Impacts across the distribution"
    if not rows:
        add("distribution", title, notes, pd.DataFrame({"note": [NOT_ESTIMABLE]}))
        return
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    level = f"{100 * (1 - plan.alpha):g}%"
    pub = protect(frame, "distribution", proportions={"share": ("n", "count")})
    text = [
        f"The effect of assignment at each pre-specified quantile: the difference between the "
        f"arms' quantiles (the inverse of each arm's empirical distribution function; Firpo "
        f"2007, Bitler, Gelbach & Hoynes 2006), with {level} percentile intervals from "
        f"{q.draws:,} bootstrap draws that resample as the trial was randomised (seed "
        f"{q.seed}). A quantile inside both arms' mass at zero is an effect of exactly zero. "
        f"The arms' quantiles themselves are not published (a sample quantile is one person's "
        f"value); the shares with a zero outcome follow the disclosure rules.",
        *notes,
    ]
    effects = frame[frame["measure"] == "quantile effect"]
    first = next(o for o, r in fitted.items() if r is not None)
    add("distribution", title, text, frame, display=_display(pub), published=pub,
        figure=_png(lambda ax: _draw(effects[effects["outcome"] == first], first,
                                     plan.alpha, ax)))
