"""Subgroup impacts cell by cell, for a report whose subgroup table cannot be made in one
piece: a cell that cannot be estimated (12 people and four covariates, say) is reported
as "not estimable" with the reason, and the others as :func:`impact_table` gives them.

Only :class:`~dwp_eval.errors.DesignError` (and its subclasses, such as a degenerate
cell) is caught, and only for its own cell: an error in the data or the options, or a
programming error, still stops the report.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pandas as pd

from dwp_eval.errors import DesignError
from dwp_eval.report.impact import impact_table

__all__: list[str] = []

NOT_ESTIMABLE = "not estimable"


def subgroup_cells(
    sample: pd.DataFrame,
    *,
    by: Hashable,
    outcomes: Sequence[Hashable],
    covariates: Sequence[Hashable],
    options: Mapping[str, Any],
    common: Mapping[str, Any],
    alpha: float,
    error: DesignError,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], Mapping[tuple[str, str], Any]]:
    """The subgroup rows of ``impact_table(sample, by=by, ...)`` computed one cell (outcome
    x level of ``by``) at a time, after that call raised ``error``.

    Returns the full-precision rows (with a ``note`` column), their display cells, the
    notes for the report and, per ``(outcome, subgroup label)``, the cell's
    :class:`~dwp_eval.EffectTable` or the reason it could not be estimated.
    """
    levels = sorted(sample[by].dropna().unique(), key=lambda v: (str(type(v)), v))
    level_ci = f"{100 * (1 - alpha):g}% CI"
    shown_cols = ["outcome", "subgroup", "control mean", "treatment mean", "impact", level_ci,
                  "p-value", "n"]
    rows: list[pd.DataFrame] = []
    shown: list[dict[str, Any]] = []
    results: dict[tuple[str, str], Any] = {}
    notes = [f"The test of heterogeneity by {by} was not computed (it needs every subgroup "
             f"estimated together): {error}"]
    for o in outcomes:
        for lev in levels:
            cell = sample[(sample[by] == lev).fillna(False).to_numpy(dtype=bool)]
            label = f"{by}={lev}"
            const = [c for c in covariates if cell[c].nunique(dropna=True) <= 1]
            covs = [c for c in covariates if c not in const] or None
            try:
                table = impact_table(cell, outcomes=[o], covariates=covs, **options, **common)
            except DesignError as err:  # this cell only; the report goes on
                results[(str(o), label)] = str(err)
                n = int(cell[o].notna().sum())
                rows.append(pd.DataFrame([{"outcome": o, "subgroup": label,
                                           "family": f"{o} by {by}", "n_obs": n,
                                           "note": f"{NOT_ESTIMABLE}: {err}"}]))
                shown.append({"outcome": o, "subgroup": label, "impact": NOT_ESTIMABLE})
                notes.append(f"By {by}, {o}, subgroup {label}: {NOT_ESTIMABLE}. {err}")
                continue
            results[(str(o), label)] = table
            frame = table.to_frame().assign(subgroup=label, family=f"{o} by {by}", note="")
            rows.append(frame)
            cells = table._cells()[0]
            cells["subgroup"] = label
            shown.append(cells)
    full = pd.concat(rows, ignore_index=True)
    display = pd.DataFrame(shown).reindex(columns=shown_cols).fillna("")
    return full, display, notes, MappingProxyType(results)
