"""The group-time cells of Callaway & Sant'Anna (2021), shared by every path of
:func:`~dwp_eval.staggered_did` (panel, repeated cross-sections, Dask and Spark): the
checks of the comparison group, which ``(g, t, base period)`` cells exist, which units
compare with cohort ``g`` in a cell, and a cell's row of the ATT(g, t) table.

Cohorts and periods are integer indices (``g = -1``: never treated). The rules are R
``did``'s (Callaway & Sant'Anna 2021, sec. 4; ``did::pre_process_did`` for the last
cohort without never-treated units).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import numpy as np

from dwp_eval.errors import DesignError

__all__ = ["att_gt_cells", "att_gt_row", "check_comparison_group", "comparison", "last_cohort_cut"]


def check_comparison_group(g: np.ndarray, control_group: str, *, cohort: Hashable,
                           times: Any, anticipation: int, func: str) -> None:
    """Raise when no unit is ever treated, or when ``control_group='never_treated'`` and
    every unit has a cohort.

    R ``did`` (``pre_process_did``) warns in the second case and silently makes the last
    cohort the never-treated group, dropping the periods from ``g_max - anticipation`` on:
    a different comparison group from the one asked for, so here it is an error that
    names both ways to go on.
    """
    if not (g >= 0).any():
        raise DesignError(f"{func}: no unit is ever treated (column {cohort!r} is 0 or missing throughout).")
    if control_group == "never_treated" and not (g < 0).any():
        g_last = int(g.max())
        cut = g_last - anticipation
        raise DesignError(
            f"{func}: control_group='never_treated' but no unit is never treated (every unit has a "
            f"cohort in {cohort!r}), so there is no never-treated comparison group. Fix: use "
            "control_group='not_yet_treated', which compares each cohort with units treated "
            f"later (the last cohort, {times[g_last]}, then serves only as the comparison, "
            "as in R's did); or, to do what R's did does with control_group='nevertreated', "
            f"treat the last cohort as never treated yourself: set {cohort!r} to 0 for its units "
            f"and keep only the periods before {times[cut]}."
        )


def last_cohort_cut(cohorts: np.ndarray, *, anticipation: int, unit: Hashable, times: Any,
                    func: str) -> tuple[int, str]:
    """Without never-treated units (``not_yet_treated``, ``last_cohort='comparison'``), R
    ``did``'s rule: the periods from ``g_max - anticipation`` on are left out and the last
    cohort serves only as the comparison. Returns that first period left out and the
    note saying so; raises when there is a single cohort (no comparison at all)."""
    if len(cohorts) == 1:
        raise DesignError(
            f"{func}: every unit of {unit!r} is first treated in the same period and none is "
            "never treated, so there is no comparison group (the cohort is its own only "
            "not-yet-treated comparison). Fix: add never-treated or later-treated units."
        )
    g_max = int(cohorts.max())
    cut = g_max - anticipation
    note = (f"no never-treated units: the last cohort ({times[g_max]}) serves only as the "
            f"comparison group and the periods from {times[cut]} on are left out (as R's did; "
            "last_cohort='estimate' keeps them)")
    return cut, note


def att_gt_cells(cohorts: np.ndarray, n_periods: int, *, base_period: str,
          anticipation: int) -> Iterator[tuple[int, int, int]]:
    """``(g, t, b)`` for every ATT(g, t) in R ``did``'s order: cohort ``g``, period ``t``
    and its base period ``b`` (``'varying'``: the period before ``t`` in pre-periods, the
    last before treatment (less anticipation) after; ``'universal'``: always that one,
    skipping ``t = b``)."""
    for gg in cohorts.tolist():
        ref = gg - 1 - anticipation
        for t in range(n_periods):
            if base_period == "varying":
                b = ref if t >= gg - anticipation else t - 1
                if b < 0:
                    continue
            else:
                b = ref
                if t == b:
                    continue
            yield gg, t, b


def comparison(g: np.ndarray, gg: int, t: int, b: int, *, control_group: str,
               anticipation: int) -> np.ndarray:
    """The units (or rows) compared with cohort ``gg`` in cell ``(t, b)``: never treated,
    or also not yet treated by ``max(t, b) + anticipation`` (and not cohort ``gg``)."""
    if control_group == "never_treated":
        return g < 0
    return (g < 0) | ((g > max(t, b) + anticipation) & (g != gg))


def att_gt_row(times: Any, gg: int, t: int, b: int, att: float, n_treated: int,
               n_control: int) -> dict[str, Any]:
    """A row of the ATT(g, t) table (``_g`` and ``_t``: the indices, for aggregation)."""
    return {"_g": gg, "_t": t, "cohort": times[gg], "time": times[t], "event_time": t - gg,
            "base_period": times[b], "estimate": att, "n_treated": n_treated,
            "n_control": n_control, "post": bool(t >= gg)}
