"""The displays of the report's sections: readable tables (rates in %, effects on
their scale, the CACE beside the ITT, the MDE achieved) and the figures (forest
plot, rates by group, MDE), drawn on figures that are never shown and embedded
as PNG."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.format import p_cell
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.document import _display, _num
from dwp_eval.report.numbers import CURRENCY, interval_rates, is_currency, value_text
from dwp_eval.results import Effect
from dwp_eval.results.palette import BLUE, GREY, SERIES, alt_text_of, set_alt_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__: list[str] = []


def _png(draw: Callable[[Any], Any], *, size: tuple[float, float] = (7.0, 4.0)) -> bytes:
    """Draw on a new figure (never shown) and return it as PNG bytes."""
    from matplotlib.figure import Figure

    fig: Figure = Figure(figsize=size)
    ax = fig.add_subplot()
    draw(ax)
    fig.tight_layout()
    return _save(fig)


def _save(fig: Figure) -> bytes:
    """The figure as PNG bytes, its alt text (``figure.alt_text``) in the PNG's
    Description field."""
    buf = io.BytesIO()
    alt = alt_text_of(fig)
    fig.savefig(buf, format="png", dpi=110, metadata={"Description": alt} if alt else None)
    return buf.getvalue()


def _effect_text(e: Effect) -> str:
    lo, hi = e.interval()
    level = f"{100 * (1 - e.alpha):g}%"
    return f"{_scaled(e, e.estimate)} ({level} CI {_scaled(e, lo)} to {_scaled(e, hi)})"


def _rates_display(frame: pd.DataFrame, by: Hashable,
                   rules: DisclosureRules | None = None) -> pd.DataFrame:
    """The readable rates table: shares in %, at the precision their size calls for and
    never finer than the disclosure rules publish them (see :mod:`.numbers`)."""
    cols = [c for c in frame.columns if c not in ("alpha", "threshold", "above_threshold",
                                                  "significantly_above")]
    if frame["above_threshold"].notna().any():
        cols.append("above_threshold")
    rate_cols = ("rate", "conf_low_rate", "conf_high_rate")
    out = _display(frame, columns=[c for c in cols if c not in rate_cols] or None)
    out = out[[c for c in cols if c not in rate_cols]]
    rules = rules or DisclosureRules(min_count=0, round_to=1)
    texts = [interval_rates(r, lo, hi, rules, nonzero=_positive(k)) for r, lo, hi, k in zip(
        frame["rate"], frame["conf_low_rate"], frame["conf_high_rate"],
        frame.get("n_flagged", pd.Series([None] * len(frame))), strict=True)]
    at = cols.index("rate") if "rate" in cols else len(out.columns)
    for j, col in enumerate(rate_cols):
        out.insert(min(at + j, len(out.columns)), col, [t[j] for t in texts])
    return out.reset_index(drop=True)


def _positive(count: Any) -> bool:
    return not isinstance(count, str) and count is not None and not pd.isna(count) and count > 0


def _scaled(e: Effect, v: float) -> str:
    """An effect in its unit: pp for 0/1 outcomes, pounds for money (see :mod:`.numbers`)."""
    return value_text(v, binary=e.binary_outcome, outcome=e.outcome)


def _cace_display(frame: pd.DataFrame, effects: Mapping[str, Effect]) -> pd.DataFrame:
    rows = []
    for rec in frame.itertuples(index=False):
        if rec.outcome not in effects:
            rows.append({"outcome": rec.outcome, "CACE": f"not estimable ({rec.not_estimable})"})
            continue
        e = effects[rec.outcome]
        rows.append({
            "outcome": rec.outcome,
            "ITT": _scaled(e, rec.itt),
            "first stage": f"{100 * rec.first_stage:.1f} pp",  # a difference in receipt
            "CACE": _scaled(e, rec.estimate),
            f"{100 * (1 - e.alpha):g}% CI": f"[{_scaled(e, rec.conf_low)}, {_scaled(e, rec.conf_high)}]",
            "Anderson-Rubin set": (e.ar_interval.text(functools.partial(_scaled, e))
                                   if e.ar_interval is not None else ""),
            "p-value": p_cell(rec.p_value),
            "effective F": _num(rec.effective_f),
        })
    return pd.DataFrame(rows).fillna("")


def _mde_display(frame: pd.DataFrame, table: Any) -> pd.DataFrame:
    effects = {e.outcome: e for e in table.effects}
    rows = []
    for rec in frame.itertuples(index=False):
        e = effects[rec.outcome]
        rows.append({
            "outcome": rec.outcome,
            "n": _num(rec.n_obs),
            "ITT estimate": _scaled(e, rec.estimate),
            "MDE (ITT)": _scaled(e, rec.mde).lstrip("+"),
            "MDE (CACE)": _scaled(e, rec.mde_cace).lstrip("+"),
            "R-squared used": _num(rec.r2),
            "note": rec.note,
        })
    return pd.DataFrame(rows)


def _rename_rates(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"conf_low": "conf_low_rate", "conf_high": "conf_high_rate"})


def _forest_png(table: Any) -> bytes:
    """Forest plot of the impacts, one panel per outcome (outcomes have different units)."""
    from matplotlib.figure import Figure

    effects = [e for e, why in zip(table.effects, table.reasons(), strict=True) if not why]
    if not effects:  # nothing estimable to draw: an empty panel saying so
        fig = Figure(figsize=(7.0, 1.5))
        fig.text(0.5, 0.5, "no impact could be estimated", ha="center", va="center")
        fig.alt_text = "No impact could be estimated."  # type: ignore[attr-defined]
        return _save(fig)
    fig = Figure(figsize=(7.0, 0.9 * len(effects) + 0.8))
    axes = fig.subplots(len(effects), 1, squeeze=False)[:, 0]
    for ax, e in zip(axes, effects, strict=True):
        scale = 100.0 if e.binary_outcome else 1.0
        lo, hi = e.interval()
        # an interval never gives a negative bar (matplotlib refuses one), whatever rounding did
        ax.errorbar([scale * e.estimate], [0], xerr=[[max(scale * (e.estimate - lo), 0.0)],
                    [max(scale * (hi - e.estimate), 0.0)]], fmt="o", color=BLUE, capsize=3)
        ax.axvline(0, color=GREY, lw=0.8)
        ax.set_yticks([0], [e.outcome])
        ax.set_xlabel(_unit_label("impact", e), fontsize=8)
        ax.tick_params(labelsize=8)
        half = max(abs(scale * lo), abs(scale * hi)) * 1.15 or 1.0
        ax.set_xlim(-half, half)
    fig.tight_layout()
    set_alt_text(axes[0], "Forest plot of the impacts, one panel per outcome: " + "; ".join(
        f"{e.outcome} {_effect_text(e)}" for e in effects) + ".")
    return _save(fig)


def _plot_rates(ax: Any, frame: pd.DataFrame, by: str, rules: DisclosureRules) -> None:
    f = frame[frame["rate"].map(lambda v: not isinstance(v, str))]
    y = np.arange(len(f))
    rate = f["rate"].astype(float).to_numpy()
    lo = f["conf_low_rate"].astype(float).to_numpy()
    hi = f["conf_high_rate"].astype(float).to_numpy()
    bars = np.clip([100 * (rate - lo), 100 * (hi - rate)], 0.0, None)  # never a negative bar
    ax.errorbar(100 * rate, y, xerr=bars, fmt="o", color=BLUE, capsize=3)
    ax.set_yticks(y, [str(v) for v in f[by]])
    ax.invert_yaxis()
    ax.set_xlabel("control-arm contamination rate (%)")
    hidden = len(frame) - len(f)
    if hidden:
        ax.set_title(f"{hidden} group(s) suppressed ({rules.suppressed})", fontsize=9)
    set_alt_text(ax, f"Control-arm contamination rate by {by} with Wilson intervals, as "
                 f"published: {len(f)} group(s) drawn" + (f", {hidden} suppressed" if hidden
                                                         else "") + ".")


def _unit_label(what: str, e: Effect) -> str:
    if e.binary_outcome:
        return f"{what} (percentage points)"
    return f"{what} ({CURRENCY})" if is_currency(e.outcome) else f"{what} (outcome units)"


def _mde_png(frame: pd.DataFrame, table: Any) -> bytes:
    """The MDE achieved beside the |ITT estimate|, in the table's units: percentage points
    for 0/1 outcomes (one panel), each other outcome in its own units (a panel each)."""
    from matplotlib.figure import Figure

    binary = {e.outcome: e.binary_outcome for e in table.effects}
    panels: dict[str, list[int]] = {}
    for i, outcome in enumerate(frame["outcome"]):
        panels.setdefault("pp" if binary.get(outcome, False) else str(outcome), []).append(i)
    if not panels:
        panels = {"pp": []}
    sizes = [0.5 * max(len(rows), 1) + 1.0 for rows in panels.values()]
    fig = Figure(figsize=(7.0, sum(sizes) + 0.3))
    axes = fig.subplots(len(panels), 1, squeeze=False,
                        gridspec_kw={"height_ratios": sizes})[:, 0]
    for ax, (unit, rows) in zip(axes, panels.items(), strict=True):
        _plot_mde(ax, frame.iloc[rows], pp=unit == "pp", unit=unit)
    fig.tight_layout()
    return _save(fig)


def _plot_mde(ax: Any, frame: pd.DataFrame, *, pp: bool = False, unit: str = "") -> None:
    """One panel of the MDE chart: ``pp`` draws proportions as percentage points."""
    k = 100.0 if pp else 1.0
    y = np.arange(len(frame))
    mde = k * frame["mde"].astype(float).to_numpy()
    est = k * frame["estimate"].astype(float).abs().to_numpy()
    ax.barh(y - 0.2, mde, height=0.35, label="ITT MDE achieved", color=SERIES[5],
            edgecolor="black", lw=0.5)
    ax.barh(y + 0.2, est, height=0.35, label="|ITT estimate|", color=BLUE, hatch="//",
            edgecolor="white", lw=0.5)
    ax.set_yticks(y, list(frame["outcome"]))
    ax.invert_yaxis()
    ax.set_xlabel("effect, percentage points" if pp else f"effect ({unit} units)")
    ax.legend(loc="best", fontsize="small")
    set_alt_text(ax, "Minimum detectable effect achieved beside the absolute ITT estimate: " + "; ".join(
        f"{o}: MDE {m:.3g}{' pp' if pp else ''}, |estimate| {e:.3g}{' pp' if pp else ''}"
        for o, m, e in zip(frame["outcome"], mde, est, strict=True)) + ".")
