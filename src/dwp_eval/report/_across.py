"""Disclosure control across the report's tables: cells of one table that, beside another
published table, would give back a cell that table withholds.

Within a table, and where rows add up to a total published in another table (subgroups
to the overall impact counts, sites to the control arm), :class:`DisclosureRules` does
the work (primary, proportion, dominance and secondary suppression). What is left are
statistics computed from two published rates: the first stage of the CACE is the
difference between the arms' receipt rates, and the minimum detectable CACE divides the
ITT MDE by it. Beside the take-up table's published rate for one arm, either gives back
the other arm's rate to more decimals than the take-up table shows, and with the
published group size a count the take-up table withholds. So wherever the take-up table
withholds an arm's rate, these columns are withheld too, in the published table and in
its display, and the disclosure log says why (the same complementary reasoning as
secondary suppression: Hundepool et al. 2012, *Statistical Disclosure Control*, Wiley,
section 4.3, applied to linked tables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dwp_eval.report.disclosure import DisclosureRules

__all__: list[str] = []

#: Columns computed from the difference of the arms' receipt rates: published column ->
#: the column of its display.
RECEIPT_COLUMNS = {"first_stage": "first stage", "mde_cace": "MDE (CACE)"}
_HOW = {"first_stage": "it is the difference of the arms' receipt rates",
        "mde_cace": "it is the ITT MDE divided by the difference of the arms' receipt rates"}
#: Columns that copy the take-up table's published rates (withheld where it withholds them).
COPIED = ("take_up", "contamination", "control_receipt")


def receipt(
    published: pd.DataFrame, display: pd.DataFrame, rates: Mapping[Any, Any],
    rules: DisclosureRules,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``published`` and ``display`` (copies) with the :data:`RECEIPT_COLUMNS` withheld
    in every row when the take-up table withholds an arm's receipt rate (``rates``: arm ->
    published rate); the log entries join ``published.attrs["log"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> pub = pd.DataFrame({"outcome": ["y"], "first_stage": [0.8]})
    >>> shown = pd.DataFrame({"outcome": ["y"], "first stage": ["80.0 pp"]})
    >>> out, view = receipt(pub, shown, {"control": "[c]", "treatment": 0.82},
    ...                     DisclosureRules())
    >>> out["first_stage"].tolist(), view["first stage"].tolist()
    (['[c]'], ['[c]'])
    >>> out.attrs["log"][0]["rule"]
    'secondary'
    """
    withheld = [str(arm) for arm, v in rates.items() if v == rules.suppressed]
    out, view = published.copy(), display.copy()
    out.attrs = dict(published.attrs)
    if not withheld or len(out) == 0:
        return out, view
    log = list(out.attrs.get("log", []))
    labels = [str(v) for v in out[out.columns[0]]]
    for col, shown in RECEIPT_COLUMNS.items():
        if col not in out.columns:
            continue
        out[col] = out[col].astype(object)
        for i in range(len(out)):
            v = out[col].iloc[i]
            if v is None or (isinstance(v, float) and v != v) or v == rules.suppressed:
                continue
            out.iloc[i, out.columns.get_loc(col)] = rules.suppressed
            if shown in view.columns:
                view.iloc[i, view.columns.get_loc(shown)] = rules.suppressed
            log.append({"table": "", "row": labels[i], "column": col, "rule": "secondary",
                        "reason": f"{_HOW[col]}, so with the published rate of one arm it "
                                  f"would give back the withheld receipt rate of "
                                  f"{', '.join(withheld)}"})
    for col in COPIED:  # withheld in the take-up table, so here
        for i in range(len(out)) if col in out.columns else ():
            if out[col].iloc[i] == rules.suppressed:
                log.append({"table": "", "row": labels[i], "column": col, "rule": "secondary",
                            "reason": "the receipt rate as the take-up table publishes it "
                                      "(withheld there)"})
    out.attrs["log"] = log
    return out, view


def drawn(result: Any, published: pd.DataFrame, columns: tuple[str, ...],
          rules: DisclosureRules) -> Any:
    """A copy of a result whose table (``_frame``) has NaN wherever the published table
    withholds the cell, so that its ``plot`` draws the disclosure-controlled numbers
    only (the balance plot's standardised difference of a 0/1 covariate gives back its
    arm means, which the published table withholds beside small counts).

    Examples
    --------
    >>> import dataclasses
    >>> import pandas as pd
    >>> @dataclasses.dataclass(frozen=True)
    ... class R:
    ...     _frame: pd.DataFrame
    >>> r = R(pd.DataFrame({"std_diff": [0.1, 0.4]}))
    >>> drawn(r, pd.DataFrame({"std_diff": [0.1, "[c]"]}), ("std_diff",),
    ...       DisclosureRules())._frame["std_diff"].tolist()
    [0.1, nan]
    """
    import dataclasses

    frame = result._frame.copy()
    for col in columns:
        if col in published.columns and col in frame.columns:
            withheld = (published[col].astype(object) == rules.suppressed).to_numpy()
            frame[col] = frame[col].astype(float).where(~withheld)
    return dataclasses.replace(result, _frame=frame)


class Published:
    """An effect table as its published table shows it, for the forest plot: a row whose
    estimate the published table withholds (too few residual degrees of freedom) is left
    out of the plot as a row that is not estimable is.

    Examples
    --------
    >>> import types
    >>> t = types.SimpleNamespace(effects=("a", "b"), reasons=lambda: ["", ""])
    >>> pub = pd.DataFrame({"estimate": [0.1, "[c]"]})
    >>> Published(t, pub, DisclosureRules()).reasons()
    ['', 'withheld (disclosure control)']
    """

    def __init__(self, table: Any, published: pd.DataFrame, rules: DisclosureRules) -> None:
        self._table = table
        self._withheld = [v == rules.suppressed for v in published["estimate"]]
        self.effects = table.effects

    def reasons(self) -> list[str]:
        return [why or ("withheld (disclosure control)" if hidden else "")
                for why, hidden in zip(self._table.reasons(), self._withheld, strict=True)]
