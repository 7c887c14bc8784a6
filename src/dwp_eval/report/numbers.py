"""Numbers as a report's reader sees them: shares in %, effects on 0/1 outcomes in
percentage points, earnings in pounds, and rates never shown finer than the
disclosure rules publish them.

The precision of a share is chosen by its magnitude (two significant figures,
at most two decimals of a percentage: ``77%``, ``9.0%``, ``0.42%``), then capped
by disclosure control: when counts are rounded, rates are published to
``DisclosureRules.rate_decimals`` decimals of a proportion (whole percentage
points by default, so ``9%`` and never ``9.0%``). A published rate that rounds
to zero while its count is not zero is shown as ``<1%`` (at the published
precision), never as ``0%``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.format import number
from dwp_eval.report.disclosure import DisclosureRules

__all__ = [
    "CURRENCY", "balance_display", "effect_words", "in_units", "interval_rates", "is_currency",
    "rate_decimals", "rate_text", "value_text",
]

#: The currency symbol of earnings-like outcomes (the report is for DWP trials).
CURRENCY = "£"

#: Outcome names read as money: earnings, income, wages, pay, benefit amounts.
_MONEY = re.compile(r"earning|income|wage|salary|(?:^|_)pay(?:$|_)|amount|_gbp|pounds", re.I)


def is_currency(outcome: Any) -> bool:
    """Whether a (non 0/1) outcome is money, by its name (``cumulative_earnings`` is;
    ``days_on_benefit`` is not)."""
    return bool(_MONEY.search(str(outcome)))


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def rate_decimals(rules: DisclosureRules) -> int | None:
    """The most decimals of a percentage the rules allow (``None``: no limit)."""
    if rules.round_to > 1:
        return max(rules.rate_decimals - 2, 0)
    return None


def _decimals_for(pct: float) -> int:
    """Two significant figures, between 0 and 2 decimals of a percentage."""
    a = abs(pct)
    if a >= 10 or a == 0:
        return 0
    if a >= 1:
        return 1
    return 2


def rate_text(value: Any, rules: DisclosureRules, *, decimals: int | None = None,
              nonzero: bool = False) -> str:
    """A published share as a percentage (a withheld cell's mark as it is).

    ``decimals`` fixes the precision (so an interval matches its estimate);
    by default it follows the magnitude, capped by the disclosure rules.
    ``nonzero``: the count behind the rate is not zero, so a rate that rounds
    to zero reads ``<1%`` (``<0.1%`` at one decimal ...).
    """
    if isinstance(value, str):
        return value
    if _missing(value):
        return ""
    pct = 100 * float(value)
    d = _decimals_for(pct) if decimals is None else decimals
    cap = rate_decimals(rules)
    if cap is not None:
        d = min(d, cap)
    if nonzero and round(pct, d) == 0:
        return f"<{10.0 ** -d:g}%"
    return f"{pct:.{d}f}%"


def interval_rates(rate: Any, low: Any, high: Any, rules: DisclosureRules, *,
                   nonzero: bool = False) -> tuple[str, str, str]:
    """A rate and its interval as text, all three at the rate's precision."""
    if isinstance(rate, str) or _missing(rate):
        return rate_text(rate, rules), rate_text(low, rules), rate_text(high, rules)
    d = _decimals_for(100 * float(rate))
    cap = rate_decimals(rules)
    d = d if cap is None else min(d, cap)
    return (rate_text(rate, rules, decimals=d, nonzero=nonzero),
            rate_text(low, rules, decimals=d), rate_text(high, rules, decimals=d))


def value_text(value: float, *, binary: bool, outcome: Any = "", sign: bool = True) -> str:
    """An effect (or a difference) in its unit: pp for 0/1 outcomes, pounds for money,
    the outcome's own units otherwise (``+2.1 pp``, ``+£155``, ``-5.92``)."""
    if not np.isfinite(value):
        return number(value)
    if binary:
        return f"{100 * value:+.1f} pp" if sign else f"{100 * value:.1f} pp"
    s = "-" if value < 0 else ("+" if sign else "")
    if is_currency(outcome):
        a = abs(value)
        return f"{s}{CURRENCY}{a:,.0f}" if a >= 100 else f"{s}{CURRENCY}{a:,.2f}"
    return f"{s}{number(abs(value))}"


def effect_words(value: float, *, binary: bool, outcome: Any = "") -> str:
    """An effect in words: ``an increase of 2.1 percentage points``."""
    if not np.isfinite(value) or value == 0:
        return "no change"
    size = value_text(abs(value), binary=binary, outcome=outcome, sign=False)
    size = size.replace(" pp", " percentage points")
    return f"{'an increase' if value > 0 else 'a decrease'} of {size}"


_NUMBER = re.compile(r"([+-]?)(\d[\d,]*(?:\.\d+)?)")


def in_currency(text: str) -> str:
    """A display cell of an earnings effect in pounds (``+155`` -> ``+£155``,
    ``[-207, +663]`` -> ``[-£207, +£663]``)."""
    return _NUMBER.sub(lambda m: f"{m.group(1)}{CURRENCY}{m.group(2)}", text)


def in_units(display: pd.DataFrame) -> pd.DataFrame:
    """An impact display with the rows of money outcomes in pounds (arm means, impact and
    interval; 0/1 outcomes are already in % and pp, others stay in their own units)."""
    out = display.copy()
    if "outcome" not in out.columns:
        return out
    cols = [c for c in out.columns if c in ("control mean", "treatment mean", "impact")
            or str(c).endswith("% CI")]
    for i, outcome in enumerate(out["outcome"]):
        if not is_currency(outcome):
            continue
        for c in cols:
            v = out.iloc[i, out.columns.get_loc(c)]
            if isinstance(v, str) and v and not v.endswith(("%", "pp", "pp]")) and "[c]" not in v:
                out.iloc[i, out.columns.get_loc(c)] = in_currency(v)
    return out


def balance_display(published: pd.DataFrame, shown: pd.DataFrame, binary: list[bool],
                    rules: DisclosureRules) -> pd.DataFrame:
    """The balance display with the arm means of 0/1 covariates (and dummies of
    categorical ones) as shares in % at the published precision, money (prior earnings)
    in pounds; other means, standard deviations and standardised differences stay
    numbers."""
    out = shown.copy()
    for col in ("mean_control", "mean_arm"):
        if col not in out.columns or col not in published.columns:
            continue
        out[col] = [rate_text(v, rules) if b else s
                    for v, s, b in zip(published[col], out[col], binary, strict=True)]
    money = [not b and is_currency(c) for c, b in zip(out["covariate"], binary, strict=True)]
    for col in ("mean_control", "mean_arm", "sd_control", "sd_arm"):
        if col in out.columns:
            out[col] = [in_currency(s) if m and isinstance(s, str) else s
                        for s, m in zip(out[col], money, strict=True)]
    return out
