"""Hourly wage rates by date for ``sustained_earnings``: the National Living Wage
(the default), a user's ``wage_rates`` table with regional overrides, and the
rate in force on a day."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._core.records import date_text
from dwp_eval._validation import _fmt_list, check_data
from dwp_eval.errors import ColumnError, DesignError, OptionError
from dwp_eval.outcomes._inputs import _FUNC, _dates, _need, _plain

__all__ = ["NATIONAL_LIVING_WAGE"]

NATIONAL_LIVING_WAGE: tuple[tuple[str, float], ...] = (
    ("2016-04-01", 7.20),
    ("2017-04-01", 7.50),
    ("2018-04-01", 7.83),
    ("2019-04-01", 8.21),
    ("2020-04-01", 8.72),
    ("2021-04-01", 8.91),
    ("2022-04-01", 9.50),
    ("2023-04-01", 10.42),
    ("2024-04-01", 11.44),
)
"""The UK National Living Wage: the date each rate took effect and pounds per hour.

The rate for workers aged 25 and over from April 2016 to March 2021, 23 and
over from April 2021, and 21 and over from April 2024. Source: GOV.UK,
"National Minimum Wage and National Living Wage rates"
(https://www.gov.uk/national-minimum-wage-rates, current and previous rates).
The default ``wage_rates`` of :func:`derive_outcomes`; as a table,
``pd.DataFrame(NATIONAL_LIVING_WAGE, columns=["from", "rate"])``.
"""


class _Rates:
    """Wage rates by date, a default schedule and regional overrides."""

    def __init__(
        self,
        default: tuple[np.ndarray, np.ndarray],
        regional: list[tuple[np.ndarray, np.ndarray]],
        region_names: list[Any],
    ) -> None:
        self.default = default
        self.regional = regional
        self.region_names = region_names

    def at(self, day: np.ndarray, region_code: np.ndarray) -> np.ndarray:
        """Rate in force on each ``day`` for each region code (-1: default; NaN: none)."""
        out = np.full(len(day), np.nan)
        frm, rate = self.default
        if frm.size:
            k = np.searchsorted(frm, day, side="right") - 1
            ok = k >= 0
            out[ok] = rate[k[ok]]
        for code, (r_frm, r_rate) in enumerate(self.regional):
            who = np.flatnonzero(region_code == code)
            if who.size == 0:
                continue
            k = np.searchsorted(r_frm, day[who], side="right") - 1
            ok = k >= 0
            out[who[ok]] = r_rate[k[ok]]
        return out

    def earliest(self) -> int | None:
        starts = [f[0] for f, _ in [self.default, *self.regional] if f.size]
        return int(min(starts)) if starts else None


def _wage_rates(wage_rates: Any, *, with_region: bool) -> tuple[_Rates, str]:
    if wage_rates is None:
        table = pd.DataFrame(NATIONAL_LIVING_WAGE, columns=["from", "rate"])
        source = "NATIONAL_LIVING_WAGE"
    else:
        table = check_data(wage_rates, func=_FUNC, param="wage_rates")
        source = "wage_rates"
    fix = (
        "wage_rates needs columns 'from' (date the rate takes effect) and 'rate' (pounds per hour)"
    )
    _need(table, "from", role="from", param="wage_rates", fix=fix)
    _need(table, "rate", role="rate", param="wage_rates", fix=fix)
    frm = _dates(table, "from", role="from", param="wage_rates")
    rate_col = table["rate"]
    if pd.api.types.is_bool_dtype(rate_col) or not pd.api.types.is_numeric_dtype(rate_col):
        raise ColumnError(
            f"{_FUNC}: column 'rate' of wage_rates must hold numbers (pounds per hour). Got dtype "
            f"{rate_col.dtype} instead. Fix: convert it, e.g. wage_rates['rate'].astype(float)."
        )
    rate = rate_col.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(rate) | (rate <= 0)
    if bad.any():
        raise ColumnError(
            f"{_FUNC}: column 'rate' of wage_rates must hold positive pounds per hour, but "
            f"{int(bad.sum()):,} row(s) do not (e.g. {_plain(rate_col[bad].iloc[0])!r}). "
            f"Fix: correct or remove those rows."
        )
    has_region_col = "region" in table.columns
    region_vals = (
        table["region"] if has_region_col else pd.Series([None] * len(table), index=table.index)
    )
    is_default = region_vals.isna().to_numpy()
    if with_region and not has_region_col:
        raise OptionError(
            f"The 'region' parameter of {_FUNC} picks regional rows of wage_rates, but wage_rates "
            f"has no 'region' column (columns present: {_fmt_list(list(table.columns))}). Fix: add "
            f"a 'region' column (missing for the default rows) or leave region= out."
        )
    if not with_region and (~is_default).any():
        names = _fmt_list(sorted({str(v) for v in region_vals[~is_default]}), 5)
        raise OptionError(
            f"The 'wage_rates' parameter of {_FUNC} has regional rows ({names}) but region= was "
            f"not given, so they would be ignored. Fix: pass region= with the column of people "
            f"naming each person's region, or drop the regional rows."
        )
    key = pd.DataFrame(
        {"region": region_vals.astype(object).where(~is_default, "\x00default"), "from": frm}
    )
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = key[dup].iloc[0]
        where = (
            "default rows" if first["region"] == "\x00default" else f"region {first['region']!r}"
        )
        raise ColumnError(
            f"{_FUNC}: wage_rates has {int(dup.sum()):,} rows that share a 'from' date with "
            f"another row of the same region (e.g. {where} from {date_text(first['from'])}). "
            f"Fix: keep one "
            f"rate per region and date."
        )

    def schedule(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(frm[mask], kind="stable")
        return frm[mask][order], rate[mask][order]

    region_names = list(pd.unique(region_vals[~is_default].astype(object)))
    regional = [schedule((~is_default) & (region_vals == r).to_numpy()) for r in region_names]
    return _Rates(schedule(is_default), regional, region_names), source


class _WindowRates(NamedTuple):
    """The wage rates for ``sustained_earnings`` and what the window sums need of them."""

    rates: _Rates
    source: str  # "NATIONAL_LIVING_WAGE" or "wage_rates"
    code: np.ndarray | None  # each person's region in rates.region_names (None: all default)
    at_start: np.ndarray  # the rate in force on the first day of each window


def _window_rates(
    wage_rates: Any,
    region: Hashable | None,
    people: pd.DataFrame,
    w_start: np.ndarray,
    complete: np.ndarray,
) -> _WindowRates:
    """The checked ``wage_rates``, each person's region code and the rate at each window's
    start; raise :class:`DesignError` if no rate is in force at the start of a complete window."""
    rates, source = _wage_rates(wage_rates, with_region=region is not None)
    code: np.ndarray | None = None
    if region is not None and rates.region_names:
        code = np.asarray(pd.Index(rates.region_names).get_indexer(people[region]), dtype=np.int64)
    n = len(w_start)
    at_start = rates.at(w_start, code if code is not None else np.full(n, -1, np.int64))
    uncovered = complete & np.isnan(at_start)
    if uncovered.any():
        first = int(w_start[uncovered].min())
        earliest = rates.earliest()
        known_from = (
            f"the earliest rate takes effect {date_text(earliest)}"
            if earliest is not None
            else "no rate applies"
        )
        raise DesignError(
            f"{_FUNC}: wage_rates do not cover the start of {int(uncovered.sum()):,} complete "
            f"follow-up window(s) (the earliest starts {date_text(first)}; {known_from}), so "
            f"sustained_earnings cannot be derived. Fix: add a rate with a 'from' date on or "
            f"before {date_text(first)} (to the default rows, or the person's region)."
        )
    return _WindowRates(rates, source, code, at_start)
