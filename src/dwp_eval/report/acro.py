"""The output-checking record: the report's controlled tables in a form ACRO can re-check.

UK trusted research environments check outputs with ACRO (the ``acro`` package, "Tools
for the Semi-Automatic Checking of Research Outputs"): it recomputes a table from the
microdata inside the environment and flags every cell its rules find disclosive
(threshold, zeros, p% and (n, k) dominance). :func:`checking_record` describes each
count, rate and mean table of a :class:`~dwp_eval.Report` as the ACRO call that
recomputes it from the trial data, cell by cell, with the published columns that must be
withheld wherever ACRO flags that cell. :meth:`Report.write` saves it beside the HTML
(``<name>.acro.json``). :func:`acro_check`, run where the data are (it needs ``acro``:
``pip install dwp_eval[sdc]``), makes those calls and returns every flag with whether the
published table resolves it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import DwpEvalError

# a dwp_eval.report.document.Report (not imported: that module imports this one)
Report = Any

__all__ = ["acro_check", "checking_record"]

FLAG_COLUMNS = ["table", "call", "cell", "check", "resolved", "note"]


def _spec(table: str, method: str, index: list[str], columns: list[str] | None,
          values: str | None, where: Mapping[str, Any], cells: list[dict[str, Any]]) -> dict:
    return {"table": table, "method": method, "index": index, "columns": columns,
            "values": values, "aggfunc": "mean" if values else None, "where": dict(where),
            "cells": cells}


def _hidden(table: pd.DataFrame, row: int, col: str, symbol: str) -> bool:
    """Whether the published cell shows nothing: withheld, or not published at all (the
    means of a row that is not estimable are blank)."""
    if col not in table.columns:
        return False
    v = table[col].iloc[row]
    return v == symbol or v is None or v == "" or (isinstance(v, float) and np.isnan(v))


def checking_record(report: Report) -> dict[str, Any]:
    """The report's output-checking record (a JSON-ready dict).

    Each entry of ``"calls"`` is one ACRO call (``crosstab`` of counts, or
    ``pivot_table`` of means) over the trial data, restricted by ``where``;
    each of its ``cells`` names the ACRO cell (index labels, column label), the
    published table row, and ``withheld``: a list of column groups, each of
    which must have at least one withheld column in that row for an ACRO flag
    on the cell to count as resolved. ``"published"`` holds every published
    table as records and ``"log"`` the disclosure log.
    """
    plan = report.plan
    d = plan.design
    symbol = plan.disclosure.suppressed
    tables = report.tables
    calls: list[dict[str, Any]] = []
    assigned, control = str(d["assigned"]), str(d["control"])
    treatment = d["treatment"]
    if treatment is None and "impact" in tables and "treatment" in tables["impact"].columns:
        treatment = tables["impact"]["treatment"].iloc[0]  # the one arm besides control
    treatment = str(treatment)
    rate_tables: list[tuple[str, str, str, dict[str, str]]] = []
    if "take_up" in tables and d["received"]:
        rate_tables.append(("take_up", assigned, str(d["received"]), {}))
    if "contamination" in tables and d["contaminated"]:
        rate_tables.append(("contamination", assigned, str(d["contaminated"]),
                            {assigned: control}))
    if "contamination_by_site" in tables and d["site"]:
        rate_tables.append(("contamination_by_site", str(d["site"]), str(d["contaminated"]),
                            {assigned: control}))
    for key, by, flag, where in rate_tables:
        t = tables[key]
        cells = []
        for i, label in enumerate(t[by if by in t.columns else t.columns[0]]):
            cells.append({"index": [str(label)], "column": "1", "row": i,
                          "withheld": [["n_flagged"], ["rate", "n"]]})
            cells.append({"index": [str(label)], "column": "0", "row": i,
                          "withheld": [["n_flagged", "n"], ["rate", "n"]]})
        calls.append(_spec(key, "crosstab", [by], [flag], None, where, cells))
    calls += _flow_calls(tables, d, assigned, control)
    calls += _balance_calls(tables, assigned, control)
    for key in ("impact", "subgroups"):
        if key not in tables:
            continue
        t = tables[key]
        groups: dict[tuple[str, str], list[int]] = {}
        for i, rec in enumerate(t[["outcome", "subgroup"]].itertuples(index=False)):
            by = "" if rec.subgroup == "all" else str(rec.subgroup).split("=", 1)[0]
            groups.setdefault((str(rec.outcome), by), []).append(i)
        for (outcome, by), rows in groups.items():
            index = [by, assigned] if by else [assigned]
            mean_cells, count_cells = [], []
            for i in rows:
                sub = str(t["subgroup"].iloc[i])
                lead = [sub.split("=", 1)[1]] if by else []
                for arm, mean_col, n_col in ((control, "control_mean", "n_control"),
                                             (treatment, "treatment_mean", "n_treatment")):
                    mean_cells.append({"index": [*lead, str(arm)], "column": None, "row": i,
                                       "withheld": [[mean_col]]})
                    count_cells.append({"index": [*lead, str(arm)], "column": None, "row": i,
                                        "withheld": [[n_col]]})
            calls.append({**_spec(key, "means", index, None, outcome, {}, mean_cells)})
            calls.append({**_spec(key, "counts", index, None, outcome, {}, count_cells)})
    return {
        "format": "dwp_eval output-checking record 1 (ACRO re-check)",
        "plan_sha256": report.fingerprint,
        "rules": plan.disclosure.describe(),
        "suppressed": symbol,
        "calls": calls,
        "published": {k: json.loads(v.to_json(orient="records")) for k, v in tables.items()},
    }


def _flow_calls(tables: Mapping[str, pd.DataFrame], d: Mapping[str, Any], assigned: str,
                control: str) -> list[dict[str, Any]]:
    """The CONSORT flow's counts as crosstabs of the arm by the 0/1 columns they count:
    receipt (in the control arm the flow counts *not* receiving the programme as receiving
    the allocated condition) and, without a not-due column, loss to follow-up."""
    if "flow" not in tables:
        return []
    t = tables["flow"]
    row = {(str(s), str(a)): i for i, (s, a) in enumerate(zip(t["stage"], t["arm"], strict=True))}
    arms = [str(a) for a in t.loc[t["stage"] == "allocated", "arm"]]
    calls = []
    if d["received"]:
        cells = []
        for arm in arms:
            took = "0" if arm == control else "1"
            for column, stage in ((took, "received"), ("1" if took == "0" else "0", "not_received")):
                if (stage, arm) in row:
                    cells.append({"index": [arm], "column": column, "row": row[(stage, arm)],
                                  "withheld": [["count"]]})
        calls.append(_spec("flow", "crosstab", [assigned], [str(d["received"])], None, {}, cells))
    if d["followed_up"] and not d["not_due"]:
        cells = [{"index": [arm], "column": "0", "row": row[("lost_to_follow_up", arm)],
                  "withheld": [["count"]]} for arm in arms if ("lost_to_follow_up", arm) in row]
        calls.append(_spec("flow", "crosstab", [assigned], [str(d["followed_up"])], None, {},
                            cells))
    return calls


def _balance_calls(tables: Mapping[str, pd.DataFrame], assigned: str,
                   control: str) -> list[dict[str, Any]]:
    """The balance table's means by arm (a 0/1 characteristic's mean is re-checked as its
    crosstab, as for outcomes)."""
    if "balance" not in tables:
        return []
    t = tables["balance"]
    calls = []
    for i, (covariate, arm) in enumerate(zip(t["covariate"], t["arm"], strict=True)):
        cells = [{"index": [control], "column": None, "row": i, "withheld": [["mean_control"]]},
                 {"index": [str(arm)], "column": None, "row": i, "withheld": [["mean_arm"]]}]
        calls.append(_spec("balance", "means", [assigned], None, str(covariate), {}, cells))
    return calls


def write_record(report: Report) -> bytes:
    """The record as the bytes :meth:`Report.write` saves beside the HTML."""
    return json.dumps(checking_record(report), indent=1, default=str).encode("utf-8")


def acro_check(record: Mapping[str, Any] | str | Path, data: pd.DataFrame) -> pd.DataFrame:
    """Re-check a report's published tables with ACRO, on the data they came from.

    Parameters
    ----------
    record
        The record :meth:`Report.write` saved beside the HTML (its path), or
        :func:`checking_record`'s dict.
    data
        The trial data the report was made from.

    Returns
    -------
    pandas.DataFrame
        One row per ACRO flag: ``table, call, cell, check, resolved, note``.
        ``resolved`` is ``True`` when the published table withholds what the
        flagged cell would reveal. An empty frame means ACRO flagged nothing.

    Notes
    -----
    Counts are re-checked with ``ACRO.crosstab`` and means with
    ``ACRO.pivot_table`` (``aggfunc="mean"``), with ACRO's configured rules
    (by default: threshold 10, zeros disclosive, p% with p = 10%, (n, k) with
    n = 2, k = 90%). For a 0/1 outcome, the mean's cells are re-checked as the
    crosstab of the outcome, which is what ACRO checks for a proportion.
    """
    try:
        from acro import ACRO
    except ImportError as err:
        raise DwpEvalError(
            "acro_check needs the acro package, which is not installed. Fix: pip install "
            "'dwp_eval[sdc]' (or pip install acro) where the data are."
        ) from err
    rec: Mapping[str, Any] = (
        record if isinstance(record, Mapping)
        else json.loads(Path(record).read_text(encoding="utf-8"))
    )
    symbol = rec["suppressed"]
    published = {k: pd.DataFrame(v) for k, v in rec["published"].items()}
    import logging

    logging.getLogger("acro").setLevel(logging.WARNING)
    checker = ACRO(suppress=False)
    rows: list[dict[str, Any]] = []
    for n_call, call in enumerate(rec["calls"]):
        sub = data
        for col, value in call["where"].items():
            sub = sub[sub[col].astype(str) == str(value)]
        index = [sub[c].astype(str) for c in call["index"]]
        method = call["method"]
        if method == "counts":
            ok = sub[call["values"]].notna()
            sub = sub[ok]
            index = [i[ok] for i in index]
            outcome = _outcome(checker.crosstab(index, pd.Series("n", index=sub.index,
                                                                 name="all")), checker)
            column_of = lambda cell: "n"  # noqa: E731
        elif method == "means":
            y = _values(sub, call["values"])
            ok = y.notna()
            sub, y = sub[ok], y[ok]
            index = [i[ok] for i in index]
            binary = bool(y.isin([0, 1]).all())
            if binary:
                outcome = _outcome(checker.crosstab(index, y.astype(int).astype(str)), checker)
                column_of = None
            else:
                frame = pd.DataFrame({f"i{k}": v for k, v in enumerate(index)})
                frame["y"] = y.astype(float)
                outcome = _outcome(checker.pivot_table(
                    frame, index=list(frame.columns[:-1]), values=["y"], aggfunc="mean"),
                    checker)
                column_of = lambda cell: "y"  # noqa: E731
        else:
            outcome = _outcome(checker.crosstab(index, sub[call["columns"][0]].astype(
                int).astype(str)), checker)
            column_of = lambda cell: str(cell["column"])  # noqa: E731
        table = published[call["table"]]
        for cell in call["cells"]:
            key = tuple(cell["index"]) if len(cell["index"]) > 1 else cell["index"][0]
            if key not in outcome.index:
                continue
            cols = list(outcome.columns) if column_of is None else [column_of(cell)]
            for col in cols:
                flag = _flag(outcome, key, col)
                if not flag:
                    continue
                resolved = all(any(_hidden(table, cell["row"], c, symbol) for c in group)
                               for group in cell["withheld"])
                rows.append({"table": call["table"], "call": n_call,
                             "cell": f"{'/'.join(cell['index'])} x {col}", "check": flag,
                             "resolved": resolved,
                             "note": "" if resolved else _note(flag)})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def _values(data: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``, or for a category's indicator (``"column=level"``, as the
    balance table names an expanded categorical characteristic) the 0/1 indicator."""
    if name in data.columns or "=" not in name:
        return data[name]
    column, level = name.split("=", 1)
    col = data[column]
    return (col.astype(str) == level).astype(float).where(col.notna())


def _outcome(_: Any, checker: Any) -> pd.DataFrame:
    """ACRO's per-cell check results of the output it just recorded."""
    results = checker.results.results
    last = results[list(results)[-1]]
    out = last.outcome.copy()
    out.columns = [c[-1] if isinstance(c, tuple) else c for c in out.columns]
    out.columns = [str(c) for c in out.columns]
    if isinstance(out.index, pd.MultiIndex):
        out.index = pd.MultiIndex.from_tuples([tuple(map(str, t)) for t in out.index])
    else:
        out.index = out.index.map(str)
    return out


def _flag(outcome: pd.DataFrame, key: Any, col: str) -> str:
    if col not in outcome.columns:
        return ""
    value = outcome.loc[key, col]
    if isinstance(value, pd.Series):
        value = value.iloc[0]
    text = str(value).strip()
    return "" if text in ("ok", "", "nan") or (isinstance(value, float) and np.isnan(value)) else text


def _note(flag: str) -> str:
    if "Zero" in flag:
        return ("a zero cell: ACRO treats zeros as disclosive; these rules publish zeros "
                "unless suppress_zero is set")
    return "the published table shows what this cell would reveal"
