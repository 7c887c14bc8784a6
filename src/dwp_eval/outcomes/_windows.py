"""Follow-up windows and what the records add up to inside them.

A person's window is the ``months`` calendar months from the day of
randomisation, ``[randomised, randomised + months)`` in days; it is complete
when the records cover its last day. The sums are written for tens of millions
of records: integer day and month numbers, few passes over the records, and
small tables for the months' first days, lengths and wage rates.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._core.records import add_months, date_text, month_of, month_start, scalar_date
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.outcomes._inputs import _FUNC
from dwp_eval.outcomes._records import _Spells
from dwp_eval.outcomes.wage_rates import _WindowRates


class _Windows(NamedTuple):
    """Each person's follow-up window (day numbers) and the end of the records."""

    start: np.ndarray  # the day of randomisation: the window's first day
    end: np.ndarray  # the day after the window's last day (exclusive)
    complete: np.ndarray  # the records cover the window's last day
    data_end: int  # the last day the records are complete for
    data_end_from: str  # "employment" (read from the records) or "data_end"


#: The end of the records, when ``data_end`` is not given, is the last month holding at
#: least this share of the median number of records per month (a stray record dated
#: years late, e.g. 2031-06 for 2013-06, is not a month of records) ...
RECORDS_END_SHARE = 0.1
#: ... and reached from the busiest month without a run of more than this many months
#: with no such month in between.
RECORDS_END_GAP = 12


def _records_end(month: np.ndarray) -> int:
    """The last month of the bulk of the records: the last month holding at least
    :data:`RECORDS_END_SHARE` of the median monthly count of records, reached from the
    busiest month in steps of at most :data:`RECORDS_END_GAP` months."""
    months, counts = np.unique(month, return_counts=True)
    return _records_end_of(months, counts)


def _records_end_of(months: np.ndarray, counts: np.ndarray) -> int:
    """:func:`_records_end` from the histogram: distinct ``months`` (sorted) and their
    ``counts`` of records (a Dask or Spark frame's histogram is added up on the engine)."""
    enough = counts >= RECORDS_END_SHARE * float(np.median(counts))
    peak = months[int(np.argmax(counts))]
    bulk = months[enough & (months >= peak)]
    jumps = np.flatnonzero(np.diff(bulk) > RECORDS_END_GAP)
    return int(bulk[jumps[0]] if len(jumps) else bulk[-1])


def _data_end_day(data_end: str | _dt.date | np.datetime64, *, func: str = _FUNC) -> int:
    """``data_end`` as a day number; a month (``"2020-03"``, a monthly Period or a
    ``datetime64[M]``) means its last day."""
    month: int | None = None
    if isinstance(data_end, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", data_end):
        try:
            month = int(np.datetime64(data_end.strip().zfill(7), "M").astype(np.int64))
        except ValueError:
            month = None
    elif isinstance(data_end, pd.Period) and data_end.freqstr == "M":
        month = int(data_end.ordinal)
    elif isinstance(data_end, np.datetime64) and np.datetime_data(data_end.dtype)[0] == "M":
        month = int(data_end.astype(np.int64))
    if month is not None:
        return int(month_start(np.array([month + 1]))[0]) - 1
    return scalar_date(data_end, param="data_end", func=func)


def _end_from_histogram(months: np.ndarray, counts: np.ndarray, example: int | None) -> int:
    """The inferred ``data_end`` (a day) from the month histogram of the employment records;
    ``example`` is the month named when every record is dated in the future."""
    if len(months) == 0:
        raise OptionError(
            f"The 'data_end' parameter of {_FUNC} is needed when employment is empty (the "
            f"end of the records cannot be read from them). Fix: pass data_end= with the "
            f"last day the records are complete for."
        )
    # a record dated after the current month is a typo, never the end of the records
    now = int(np.datetime64("today", "M").astype(np.int64))
    past = months <= now
    if not past.any():
        first = int(months[0]) if example is None else example
        raise OptionError(
            f"The 'data_end' parameter of {_FUNC} is needed: every employment record is "
            f"dated after the current month (e.g. {date_text(int(month_start(np.array([first]))[0]))}), "
            "so the end of the records cannot be read from them. Fix: correct those dates, "
            "or pass data_end= with the last day the records are complete for."
        )
    return int(month_start(np.array([_records_end_of(months[past], counts[past]) + 1]))[0]) - 1


def _resolve_end(
    data_end: str | _dt.date | np.datetime64 | None, month: np.ndarray
) -> tuple[int, str]:
    """The day the records end and where it came from (``"data_end"`` or ``"employment"``,
    read from the records' months by :func:`_records_end`)."""
    if data_end is not None:
        return _data_end_day(data_end), "data_end"
    months, counts = np.unique(month, return_counts=True)
    return _end_from_histogram(months, counts, int(month[0]) if len(month) else None), "employment"


def _follow_up(
    randomised: np.ndarray,
    n_months: int,
    data_end: str | _dt.date | np.datetime64 | None,
    month: np.ndarray,
    *,
    end: tuple[int, str] | None = None,
    whole: bool = True,
) -> _Windows:
    """The windows of ``n_months`` months from ``randomised`` and the day the records end
    (``data_end``, or the last day of the last month of the bulk of the employment
    records, :func:`_records_end`; ``end``: already resolved, as ``(day, from)``); raise
    :class:`DesignError` when no window is complete (unless ``whole`` is False: the
    people are one partition of a Dask or Spark frame, checked together by the caller)."""
    end_day, end_from = _resolve_end(data_end, month) if end is None else end
    w_start = randomised
    w_end = add_months(randomised, n_months)  # exclusive
    complete = (w_end - 1) <= end_day
    if whole and not complete.any():
        raise _no_complete_error(int(w_start.min()), n_months, end_day)
    return _Windows(w_start, w_end, complete, end_day, end_from)


def _no_complete_error(first: int, n_months: int, end_day: int) -> DesignError:
    """The error when no window is complete: ``first`` is the earliest randomisation day."""
    first_end = int(add_months(np.array([first]), n_months)[0])
    fits = [
        k
        for k in range(n_months - 1, 0, -1)
        if add_months(np.array([first]), k)[0] - 1 <= end_day
    ]
    if fits:
        hint = f"use months={fits[0]} or fewer (the longest window anyone can have complete)"
    elif end_day < first:
        hint = "the records end before anyone was randomised: check data_end and the dates"
    else:
        hint = "the records end less than a month after the earliest randomisation"
    return DesignError(
        f"{_FUNC}: no one has complete follow-up: the earliest window ({n_months} months from "
        f"{date_text(first)}) ends {date_text(first_end - 1)}, "
        f"but the records end {date_text(end_day)}. Fix: {hint}, or pass data_end= if the "
        f"records are complete to a later date."
    )


def _window_sums(
    pos: np.ndarray,
    month: np.ndarray,
    earnings: np.ndarray,
    weeks: np.ndarray | None,
    windows: _Windows,
    *,
    rates: _WindowRates | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per person: weeks in work, earnings and (with ``rates``) earnings / rate in the window.

    ``pos`` is each record's row in ``people`` (-1: none). Only complete windows
    are summed. Written for tens of millions of records: few passes over them,
    and the months' first days, lengths and wage rates come from small tables.
    """
    w_start, w_end, complete = windows.start, windows.end, windows.complete
    n = len(w_start)
    first_m = month_of(w_start)
    span = month_of(w_end - 1) - first_m
    all_known = bool((pos >= 0).all())
    rows: np.ndarray | None = None if all_known else np.flatnonzero(pos >= 0)
    p = pos if rows is None else pos[rows]
    # a record is in the window when its month is between the window's first and
    # last months; only those two months can be partly outside it
    rel = first_m[p]
    np.subtract(month if rows is None else month[rows], rel, out=rel)
    inside = rel >= 0
    inside &= rel <= span[p]
    if not complete.all():
        inside &= complete[p]
    if not inside.all():
        sel = np.flatnonzero(inside)
        rows = sel if rows is None else rows[sel]
        p = p[sel]
        rel = rel[sel]
    m = month if rows is None else month[rows]
    if m.size == 0:
        zero = np.zeros(n)
        return zero, zero.copy(), (zero.copy() if rates is not None else None)
    lo = int(m.min())
    starts = month_start(np.arange(lo, int(m.max()) + 2, dtype=np.int64))
    lengths = np.diff(starts)
    k = m - lo
    y = earnings.copy() if rows is None else earnings[rows]
    edge = np.flatnonzero((rel == 0) | (rel == span[p]))
    pe = p[edge]
    ke = k[edge]
    ms_e = starts[ke]
    overlap_e = np.minimum(w_end[pe], starts[ke + 1]) - np.maximum(w_start[pe], ms_e)
    frac_e = overlap_e / lengths[ke]
    if weeks is not None:
        wk = weeks.copy() if rows is None else weeks[rows]
        wk[edge] *= frac_e
    else:
        wk = (lengths / 7.0)[k]
        wk[edge] = overlap_e / 7.0
        wk[y <= 0] = 0.0
    y[edge] *= frac_e
    emp_weeks = np.bincount(p, weights=wk, minlength=n)
    del wk
    cum = np.bincount(p, weights=y, minlength=n)
    eq: np.ndarray | None = None
    if rates is not None:
        # the rate in force on the first day of each month inside the window: the
        # window's start in its first month, the month's first day otherwise
        code = rates.code
        n_codes = len(rates.rates.region_names) + 1
        month_days = starts[:-1]
        grid = rates.rates.at(
            np.tile(month_days, n_codes),
            np.repeat(np.arange(-1, n_codes - 1, dtype=np.int64), month_days.size),
        ).reshape(n_codes, month_days.size)
        r = grid[0][k] if code is None else grid[code[p] + 1, k]
        first_edge = edge[rel[edge] == 0]
        r[first_edge] = rates.at_start[p[first_edge]]
        np.divide(y, r, out=r)
        eq = np.bincount(p, weights=r, minlength=n)
    return emp_weeks, cum, eq


def _days_on_benefit(
    spells: _Spells, pos: np.ndarray, known: np.ndarray, windows: _Windows
) -> np.ndarray:
    """Per person, the days of a complete window inside at least one of their spells
    (both end days included; an open spell runs to the window's end)."""
    sel = np.flatnonzero(known)
    sel = sel[windows.complete[pos[sel]]]
    bp = pos[sel]
    lo = np.maximum(spells.start[sel], windows.start[bp])
    hi = np.where(
        spells.open[sel], windows.end[bp], np.minimum(spells.stop[sel] + 1, windows.end[bp])
    )
    return _union_days(bp, lo, hi, len(windows.start))


def _union_days(pos: np.ndarray, start: np.ndarray, end: np.ndarray, n: int) -> np.ndarray:
    """Per person, the number of days covered by the union of half-open ``[start, end)``."""
    keep = end > start
    pos, start, end = pos[keep], start[keep], end[keep]
    if pos.size == 0:
        return np.zeros(n, dtype=np.int64)
    base = int(min(start.min(), end.min()))
    s_rel = start - base
    e_rel = end - base
    order = np.argsort(pos * (int(s_rel.max()) + 1) + s_rel)
    pos, s_rel, e_rel = pos[order], s_rel[order], e_rel[order]
    width = int(e_rel.max()) + 1
    # running maximum of the end within each person: adding pos x width makes each
    # person's values larger than every earlier person's, so one accumulate suffices
    key = pos * width + e_rel
    run = np.maximum.accumulate(key)
    prev = np.empty_like(run)
    prev[0] = -1
    prev[1:] = run[:-1]
    prev_end = prev - pos * width  # negative when the previous spell is another person's
    new = np.maximum(0, e_rel - np.maximum(s_rel, prev_end))
    return np.bincount(pos, weights=new, minlength=n).round().astype(np.int64)
