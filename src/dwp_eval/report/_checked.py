"""What the disclosure rules need to know about each of the report's tables: which
columns are proportions of a 0/1 variable (and over which count), which cells are
means of magnitudes (and their individual contributions, for the dominance rules), and
which rows add up to a total published elsewhere (for secondary suppression)."""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._validation import arm_keys
from dwp_eval.report._sdc import LOG_COLUMNS
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.document import _num

__all__: list[str] = []

ESTIMATES = ["estimate", "std_error", "statistic", "p_value", "p_value_adjusted", "conf_low",
             "conf_high", "p_value_arms"]
RATES: dict[str, Any] = {
    "proportions": {"rate": ("n", "n_flagged")},
    "intervals": {"conf_low_rate": "rate", "conf_high_rate": "rate"},
}


def is_binary(values: pd.Series) -> bool:
    """Whether a column holds a 0/1 variable (its observed values are within {0, 1})."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    return len(v) > 0 and bool(v.isin([0, 1]).all()) and values.notna().sum() == len(v)


def _members(data: pd.DataFrame, subgroup: Any) -> np.ndarray:
    """Rows of ``data`` in an impact table's subgroup (``"all"`` or ``"<by>=<level>"``)."""
    if not isinstance(subgroup, str) or subgroup == "all" or "=" not in subgroup:
        return np.ones(len(data), dtype=bool)
    by, level = subgroup.split("=", 1)
    if by not in data.columns:
        return np.ones(len(data), dtype=bool)
    return (data[by].astype(str) == level).to_numpy()


def rates(frame: pd.DataFrame, *, margin: bool = False) -> dict[str, Any]:
    """A table of rates (take-up, contamination): ``rate = n_flagged / n`` with Wilson
    bounds; with ``margin``, its rows add up to a total published in another table."""
    out = dict(RATES)
    if margin:
        out["margins"] = [list(range(len(frame)))]
    return out


def impact(
    frame: pd.DataFrame, data: pd.DataFrame, *, assigned: Hashable, control: str,
    treatment: str,
) -> dict[str, Any]:
    """An impact table (overall or by subgroup): arm means are proportions for 0/1
    outcomes and magnitudes otherwise; within a subgroup family the rows add up to the
    overall counts of the impact table."""
    arm = arm_keys(data[assigned]).to_numpy()
    binary = []
    mags: dict[str, list[Any]] = {"control_mean": [], "treatment_mean": []}
    for rec in frame.itertuples(index=False):
        outcome = rec.outcome
        if outcome not in data.columns:
            binary.append(False)
            mags["control_mean"].append(None)
            mags["treatment_mean"].append(None)
            continue
        y = data[outcome]
        b = is_binary(y)
        binary.append(b)
        inside = _members(data, getattr(rec, "subgroup", "all")) & y.notna().to_numpy()
        for col, label in (("control_mean", control), ("treatment_mean", treatment)):
            mags[col].append(None if b else y.to_numpy()[inside & (arm == label)].astype(float))
    spec: dict[str, Any] = {
        "proportions": {"control_mean": ("n_control", None),
                        "treatment_mean": ("n_treatment", None)},
        "binary": binary,
        "magnitudes": mags,
        "row_totals": {"n_obs": ["n_control", "n_treatment"]},
        "together": [["control_mean", "treatment_mean"]],
        "estimates": {"df": ESTIMATES},
    }
    if "family" in frame.columns and "subgroup" in frame.columns:
        sub = frame["subgroup"].astype(str) != "all"
        groups = frame[sub].groupby("family", sort=False).indices
        positions = np.flatnonzero(sub.to_numpy())
        spec["margins"] = [list(positions[ix]) for ix in groups.values()]
    return spec


def balance(
    frame: pd.DataFrame, data: pd.DataFrame, *, assigned: Hashable, control: str,
) -> dict[str, Any]:
    """A balance table: the arm means of 0/1 covariates (and dummies of categorical
    ones) are proportions, their standard deviations follow them; the means of other
    covariates are magnitudes."""
    arm = arm_keys(data[assigned]).to_numpy()
    binary = []
    mags: dict[str, list[Any]] = {"mean_control": [], "mean_arm": []}
    for rec in frame.itertuples(index=False):
        cov = str(rec.covariate)
        dummy = cov not in data.columns and "=" in cov
        b = dummy or (cov in data.columns and is_binary(data[cov]))
        binary.append(b)
        for col, label in (("mean_control", control), ("mean_arm", str(rec.arm))):
            if b or cov not in data.columns or not pd.api.types.is_numeric_dtype(data[cov]):
                mags[col].append(None)
            else:
                v = data[cov].to_numpy(dtype=float)[arm == label]
                mags[col].append(v[np.isfinite(v)])
    return {
        "proportions": {"mean_control": ("n_control", None), "mean_arm": ("n_arm", None)},
        "derived": {"sd_control": "mean_control", "sd_arm": "mean_arm",
                    "std_diff": ("mean_control", "mean_arm"),
                    "variance_ratio": ("mean_control", "mean_arm")},
        "binary": binary,
        "magnitudes": mags,
    }


def log_of(published: pd.DataFrame, key: str) -> pd.DataFrame:
    """The disclosure log :func:`_protect` left in a published table's attrs (taken out)."""
    entries = published.attrs.pop("log", [])
    log = pd.DataFrame(entries, columns=LOG_COLUMNS)
    log["table"] = key
    return log


def published_cells(shown: pd.DataFrame, published: pd.DataFrame, rules: DisclosureRules) -> None:
    """The display of an impact table takes its counts and arm means from the published
    (controlled) table: ``n`` and ``control mean`` / ``treatment mean``, in place."""
    decimals = max(rules.rate_decimals - 2, 0)
    binary = [is_binary_row(v) for v in shown.get("control mean", pd.Series(dtype=object))]
    shown["n"] = [_num(v) for v in published["n_obs"]]
    withheld = published["estimate"].map(lambda v: isinstance(v, str)).to_numpy()
    for col in shown.columns:
        if col in ("impact", "p-value", "adjusted p-value") or str(col).endswith("% CI"):
            shown.loc[withheld, col] = rules.suppressed
    for col, src in (("control mean", "control_mean"), ("treatment mean", "treatment_mean")):
        if col not in shown.columns or src not in published.columns:
            continue
        out = []
        for v, pct, old in zip(published[src], binary, shown[col], strict=True):
            if isinstance(v, str) or old == "" or _missing(v):
                out.append(v if isinstance(v, str) else old)
            elif pct:
                out.append(f"{100 * float(v):.{decimals}f}%")
            else:
                out.append(_num(v))
        shown[col] = out


def is_binary_row(cell: Any) -> bool:
    """Whether an impact table's display shows this arm mean as a percentage."""
    return isinstance(cell, str) and cell.endswith("%")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def flow(frame: pd.DataFrame) -> dict[str, Any]:
    """The CONSORT counts: the stages that add up to another published stage (excluded
    and randomised to assessed; the reasons to excluded; the arms to randomised; received
    and not received, and not due, lost, excluded from analysis and analysed, to each arm;
    the reasons for loss to the arm's lost), for secondary suppression."""
    if not {"stage", "arm"} <= set(frame.columns):
        return {}
    stage = frame["stage"].astype(str).to_numpy()
    arm = frame["arm"].astype(object).where(frame["arm"].notna(), None).to_numpy()
    plain = frame["reason"].isna().to_numpy() if "reason" in frame.columns else np.ones(
        len(frame), dtype=bool)

    def rows(stages: tuple[str, ...], a: Any = None, *, any_arm: bool = False) -> list[int]:
        return [i for i in range(len(frame)) if plain[i] and stage[i] in stages
                and (any_arm or arm[i] == a)]

    groups = [rows(("excluded", "randomised")), rows(("allocated",), any_arm=True)]
    reason = ~plain
    groups.append([i for i in range(len(frame)) if reason[i] and stage[i] == "excluded"])
    for a in {x for x in arm if x is not None}:
        groups.append(rows(("received", "not_received"), a))
        groups.append(rows(("not_due", "lost_to_follow_up", "excluded_from_analysis",
                            "analysed"), a))
        groups.append([i for i in range(len(frame)) if reason[i] and arm[i] == a
                       and stage[i] == "lost_to_follow_up"])
    return {"margins": [g for g in groups if len(g) > 1]}


_COUNT_IN_TEXT = re.compile(r"\b(\d[\d,]*)(?= (?:row\(s\)|rows?|people|person)\b)")


def protect_text(lines: list[str], rules: DisclosureRules, key: str,
                 log: list[dict[str, Any]]) -> list[str]:
    """The counts of people (or rows) in the report's generated sentences ("6 people in
    strata ...", "102 row(s) with missing ... dropped") under the same rules as the
    tables; a withheld one is logged."""
    out = []
    for line in lines:
        def sub(m: re.Match[str]) -> str:
            count = int(m.group(1).replace(",", ""))
            shown = rules.protect(count)
            if isinstance(shown, str):
                log.append({"table": key, "row": "(text)", "column": "text",
                            "rule": "threshold", "reason": f"a count below {rules.min_count} "
                            "in a sentence of the section"})
                return shown
            return f"{shown:,}"
        out.append(_COUNT_IN_TEXT.sub(sub, line))
    return out
