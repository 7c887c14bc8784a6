"""The cell rules behind :meth:`DisclosureRules.control`: proportions shown from the
published counts, dominance of magnitude cells, complementary (secondary) suppression
and the disclosure log. Private: the public API is :class:`DisclosureRules`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.proportion import wilson_interval

# the rules are a dwp_eval.report.disclosure.DisclosureRules (not imported: that module
# imports this one)
DisclosureRules = Any

__all__: list[str] = []

LOG_COLUMNS = ["table", "row", "column", "rule", "reason"]


def is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v))


@dataclass
class Control:
    """One table being controlled: its cells (object columns), which are suppressed,
    and the log of every change."""

    rules: DisclosureRules
    frame: pd.DataFrame
    table: str
    labels: list[str]
    cells: dict[str, list[Any]] = field(default_factory=dict)
    hidden: dict[str, np.ndarray] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    rule: dict[tuple[str, int], str] = field(default_factory=dict)

    def column(self, col: str) -> list[Any]:
        if col not in self.cells:
            self.cells[col] = list(self.frame[col].tolist())
            self.hidden[col] = np.zeros(len(self.frame), dtype=bool)
        return self.cells[col]

    def suppress(self, col: str, i: int, rule: str, reason: str) -> None:
        values = self.column(col)
        if self.hidden[col][i]:
            return
        values[i] = self.rules.suppressed
        self.hidden[col][i] = True
        self.rule[(col, i)] = rule
        self.log.append({"table": self.table, "row": self.labels[i], "column": col,
                         "rule": rule, "reason": reason})

    def reason(self, col: str, i: int) -> str:
        return self.rule.get((col, i), "")

    def is_hidden(self, col: str, i: int) -> bool:
        return col in self.hidden and bool(self.hidden[col][i])


def row_labels(frame: pd.DataFrame, counts: Sequence[str]) -> list[str]:
    """A readable name for each row: its leading text columns (before the first count)."""
    keys = []
    for c in frame.columns:
        if c in counts or pd.api.types.is_numeric_dtype(frame[c]):
            break
        keys.append(c)
    if not keys:
        return [str(i) for i in range(len(frame))]
    return [" / ".join(f"{v}" for v in rec if not is_missing(v)) or str(i)
            for i, rec in enumerate(frame[keys].itertuples(index=False))]


def primary(ctl: Control, counts: Sequence[str]) -> tuple[int, int]:
    """Threshold suppression and rounding of the count columns; (suppressed, rounded)."""
    rules = ctl.rules
    n_rounded = 0
    n_sup = 0
    for col in counts:
        if col not in ctl.frame.columns:
            continue
        values = ctl.column(col)
        for i, v in enumerate(list(values)):
            out = rules.protect(v)
            if isinstance(out, str) and out == rules.suppressed:
                zero = int(v) == 0
                ctl.suppress(col, i, "threshold",
                             "a zero count (zeros are suppressed)" if zero else
                             f"count {'of zero' if zero else 'below'} {rules.min_count}")
                n_sup += 1
            else:
                if not is_missing(v) and out != v:
                    n_rounded += 1
                values[i] = out
    return n_sup, n_rounded


def proportions(
    ctl: Control, spec: Mapping[str, tuple[str, str | None]], rows: np.ndarray,
    intervals: Mapping[str, str], derived: Mapping[str, str | tuple[str, ...]],
) -> None:
    """Proportions (rates, means of 0/1 variables): suppressed where their numerator or
    its complement is small, otherwise recomputed from the published counts."""
    rules = ctl.rules
    t = rules.min_count
    f = ctl.frame
    alpha = f["alpha"].to_numpy() if "alpha" in f.columns else None
    for col, (total, count) in spec.items():
        if col not in f.columns or total not in f.columns:
            continue
        ctl.column(col)
        for i in map(int, np.flatnonzero(rows)):
            p = f[col].iloc[i]
            n = f[total].iloc[i]
            if is_missing(p) or isinstance(p, str) or is_missing(n):
                continue
            n = int(n)
            k = int(f[count].iloc[i]) if count and count in f.columns else round(float(p) * n)
            small = 0 < k < t or 0 < n - k < t or 0 < n < t
            zero = rules.suppress_zero and (k == 0 or k == n)
            if small or zero or ctl.is_hidden(total, i) or (count and ctl.is_hidden(count, i)):
                if count and count in f.columns and 0 < n - k < t:
                    ctl.suppress(count, int(i), "proportion",
                                 f"its complement ({total} - {count}) is below {t}")
                which = ("the count" if 0 < k < t else "its complement (n - count)"
                         if 0 < n - k < t else "the group")
                ctl.suppress(col, i, "proportion",
                             f"{which} is below {t}, so the proportion would reveal it"
                             if small else "it rests on a suppressed count" if not zero else
                             "a proportion of 0 or 1 discloses every member of the group")
                continue
            if rules.round_to > 1:
                big_k, big_n = rules.protect(k), rules.protect(n)
                value = round(big_k / big_n, rules.rate_decimals) if big_n else np.nan
                ctl.cells[col][i] = value
                for low_high, of in intervals.items():
                    if of != col or low_high not in f.columns:
                        continue
                    a = float(alpha[i]) if alpha is not None else 0.05
                    lo, hi = wilson_interval(np.array([big_k]), np.array([big_n]), a)
                    bound = lo[0] if "low" in low_high else hi[0]
                    ctl.column(low_high)[i] = round(float(bound), rules.rate_decimals)
                for d, sources in derived.items():
                    if col in _names(sources) and d in f.columns:
                        v = ctl.column(d)[i]
                        if not isinstance(v, str) and not is_missing(v):
                            ctl.cells[d][i] = round(float(v), rules.rate_decimals)
    for d, names in {**intervals, **derived}.items():
        for src in _names(names):
            if d in f.columns and src in ctl.hidden:
                for j in map(int, np.flatnonzero(ctl.hidden[src] & rows)):
                    ctl.suppress(d, j, "proportion", f"computed from the suppressed {src}")


def _names(source: str | tuple[str, ...]) -> tuple[str, ...]:
    return (source,) if isinstance(source, str) else tuple(source)


def dominated(rules: DisclosureRules, values: np.ndarray) -> str | None:
    """Why a magnitude cell (a total or mean of these contributions) must be suppressed,
    or None: fewer than ``min_count`` contributors, the (n, k) rule or the p% rule."""
    x = np.sort(np.abs(np.asarray(values, dtype=float)[np.isfinite(values)]))[::-1]
    if len(x) == 0:
        return None
    if 0 < len(x) < rules.min_count:
        return f"{len(x)} contributors, below {rules.min_count}"
    total = float(x.sum())
    if total <= 0:
        return None
    n, k = rules.nk_rule
    if n > 0 and k > 0 and float(x[:n].sum()) > k / 100 * total:
        return (f"(n, k) rule: the largest {n} contributions are "
                f"{100 * x[:n].sum() / total:.0f}% of the total, over {k:g}%")
    p = rules.p_percent
    if p > 0 and len(x) >= 2 and total - x[0] - x[1] < p / 100 * x[0]:
        return (f"p% rule: the second largest contributor could estimate the largest to "
                f"within {p:g}%")
    return None


def magnitudes(ctl: Control, spec: Mapping[str, Sequence[Any]]) -> None:
    for col, per_row in spec.items():
        if col not in ctl.frame.columns:
            continue
        for i, values in enumerate(per_row):
            if values is None:
                continue
            why = dominated(ctl.rules, np.asarray(values, dtype=float))
            if why is not None:
                rule = "threshold" if "contributors" in why else "dominance"
                ctl.suppress(col, i, rule, why)


def secondary(
    ctl: Control, counts: Sequence[str], margins: Sequence[Sequence[int]],
    row_totals: Mapping[str, Sequence[str]], linked: Mapping[str, Sequence[str]],
) -> None:
    """Complementary suppression: within every published total (a margin of rows, or a
    row total of columns), cells are withheld, smallest first, until the published
    figures tell no more about any primary-suppressed count than its symbol does (that it
    is from 1 to ``min_count - 1``), even to a reader who knows from the log which cells
    were withheld by which rule and takes the total as exact (Hundepool et al. 2012,
    *Statistical Disclosure Control*, sections 4.3 and 5.3: protection intervals)."""
    if not ctl.rules.secondary or ctl.rules.min_count <= 0:
        return
    cols = [c for c in counts if c in ctl.frame.columns]
    raw = {c: ctl.frame[c].tolist() for c in cols}

    def fix(cells: list[tuple[str, int]], where: str) -> bool:
        """Withhold one more cell of this group if a primary cell is exposed."""
        values = {c: raw[c[0]][c[1]] for c in cells}
        known = {c: v for c, v in values.items() if not is_missing(v)}
        if not exposed(ctl, known):
            return False
        others = [c for c, v in known.items() if not ctl.is_hidden(*c) and float(v) > 0]
        if not others:  # only the total itself can protect the cells now
            entry = {"table": ctl.table, "row": "(total)", "column": where, "rule": "total",
                     "reason": "the cells withheld here could be narrowed from the exact "
                               f"{where}: it must be withheld or rounded where it is published"}
            if entry not in ctl.log:
                ctl.log.append(entry)
            return False
        j = min(others, key=lambda c: float(known[c]))
        shown = [c for c in known if ctl.is_hidden(*c) and c != j]
        first = shown[0] if shown else j
        ctl.suppress(j[0], j[1], "secondary",
                     f"otherwise {first[0]} of {ctl.labels[first[1]]} could be recovered or "
                     f"narrowed by differencing from the published {where}")
        return True

    changed = True
    while changed:
        changed = False
        for c in cols:
            for group in margins:
                while fix([(c, int(i)) for i in group], f"total of {c}"):
                    changed = True
        for total, parts in row_totals.items():
            parts = [p for p in parts if p in raw]
            if total not in raw:
                continue
            for i in range(len(ctl.frame)):
                if ctl.is_hidden(total, i):
                    continue
                while fix([(p, i) for p in parts], total):
                    changed = True
    for c, dependents in linked.items():
        if c in ctl.hidden:
            for i in map(int, np.flatnonzero(ctl.hidden[c])):
                for d in dependents:
                    if d in ctl.frame.columns:
                        ctl.suppress(d, int(i), "secondary", f"computed from the suppressed {c}")


def exposed(ctl: Control, values: Mapping[tuple[str, int], Any]) -> bool:
    """Whether a reader who knows the exact total of these cells, the published ones, and
    which hidden ones were withheld as small counts (from 1, or 0, to ``min_count - 1``)
    or otherwise (at least ``min_count``), can narrow any small one's range."""
    t = ctl.rules.min_count
    floor = 0 if ctl.rules.suppress_zero else 1
    hidden = [c for c in values if ctl.is_hidden(*c)]
    small = {c for c in hidden if ctl.reason(*c) == "threshold"}
    if not small:
        return False
    total = sum(float(values[c]) for c in hidden)
    lows = {c: (floor if c in small else t) for c in hidden}
    highs = {c: (t - 1 if c in small else np.inf) for c in hidden}
    low_sum = sum(lows.values())
    high_sum = sum(highs.values())
    for c in small:
        lo = max(floor, total - (high_sum - highs[c]))
        hi = min(t - 1, total - (low_sum - lows[c]))
        if lo > floor or hi < t - 1:
            return True
    return False


def degrees_of_freedom(ctl: Control, spec: Mapping[str, Sequence[str]]) -> None:
    t = ctl.rules.min_count
    for df_col, cols in spec.items():
        if df_col not in ctl.frame.columns:
            continue
        for i, v in enumerate(ctl.frame[df_col].tolist()):
            if is_missing(v) or isinstance(v, str) or float(v) >= t:
                continue
            for c in cols:
                if c in ctl.frame.columns and not is_missing(ctl.frame[c].iloc[i]):
                    ctl.suppress(c, i, "degrees of freedom",
                                 f"the estimate has {float(v):g} residual degrees of freedom, "
                                 f"below {t}")


def together(ctl: Control, groups: Sequence[Sequence[str]]) -> None:
    for group in groups:
        cols = [c for c in group if c in ctl.frame.columns]
        for i in range(len(ctl.frame)):
            hidden = [c for c in cols if ctl.is_hidden(c, i)]
            if not hidden:
                continue
            for c in cols:
                if not ctl.is_hidden(c, i) and not is_missing(ctl.frame[c].iloc[i]):
                    ctl.suppress(c, i, "secondary",
                                 f"{hidden[0]} could be recovered from {c} and the published "
                                 "difference between them")


def log_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(entries, columns=LOG_COLUMNS)
