"""The rows of :func:`dwp_eval.impact_table`: which treatment arms are compared, the
strata a subgroup row can use, the limit on subgroup levels, and Dunnett's correlation
of the contrasts that share the control arm."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dwp_eval._validation import _fmt_list, as_column_list, check_columns, compared_arms
from dwp_eval.errors import DesignError, NotEstimableError, OptionError
from dwp_eval.estimate.multiplicity import dunnett_p_values
from dwp_eval.results import Effect

__all__ = [
    "MAX_SUBGROUP_LEVELS",
    "Row",
    "arm_mean_variances",
    "check_subgroup_levels",
    "dunnett_table_p_values",
    "not_estimable_effect",
    "not_estimable_reason",
    "treatment_arms",
    "usable_strata",
]

#: Most levels a subgroup column (``by=``) may take: each level is a row per outcome and
#: arm and a column of the heterogeneity regression, so a column with thousands of values
#: (an id, a postcode) is refused up front.
MAX_SUBGROUP_LEVELS = 50


class Row(NamedTuple):
    """One row of an impact table while it is built."""

    effect: Effect
    subgroup: str
    family: str
    mask: np.ndarray | None  # rows of the subgroup used (None: every row)
    outcome: Hashable
    args: dict[str, Any]  # the itt arguments
    arm: str
    not_estimable: str = ""  # why the row has no estimate, or ""


def not_estimable_reason(err: DesignError) -> str:
    """The short reason a cell shows: the degeneracy rule's cause
    (:attr:`NotEstimableError.reason`), or for another design error of a cell (a
    one-person stratum, collinear covariates in a small subgroup) the first clause of
    its message, without the function's name."""
    if isinstance(err, NotEstimableError) and err.reason:
        return err.reason
    text = str(err).split(": ", 1)[-1] if str(err).startswith(("itt:", "impact_table:")) else str(err)
    for stop in (" (e.g.", ". Fix:", "; ", ": "):
        text = text.split(stop, 1)[0]
    return text.rstrip(". ")


def not_estimable_effect(
    data: pd.DataFrame, outcome: Hashable, args: dict[str, Any], err: DesignError
) -> Effect:
    """The stand-in :class:`~dwp_eval.Effect` of a row that cannot be estimated: the
    people with the outcome in each compared arm, and no estimate, standard error,
    interval or means (NaN); ``notes`` holds the error's full message."""
    control, arm = str(args["control"]), str(args["treatment"])
    text = data[args["assigned"]].astype("string")
    ok = np.array(data[outcome].notna(), dtype=bool)
    if args.get("missing") == "drop":
        for c in as_column_list(args.get("covariates")):
            ok &= data[c].notna().to_numpy()
    n_by_arm = {a: int((ok & (text == a).fillna(False).to_numpy(dtype=bool)).sum())
                for a in (control, arm)}
    values = pd.to_numeric(data[outcome], errors="coerce").dropna()
    nan = float("nan")
    return Effect(
        estimand="ITT", outcome=str(outcome), treatment=arm, control=control, estimate=nan,
        std_error=nan, df=nan, alpha=float(args["alpha"]), n_obs=sum(n_by_arm.values()),
        n_by_arm=n_by_arm, control_mean=nan, treatment_mean=nan,
        se_type=str(args.get("se_type") or ""), design="", method="not estimable",
        covariates=tuple(str(c) for c in as_column_list(args.get("covariates"))),
        binary_outcome=bool(len(values) and values.isin([0, 1]).all()),
        notes=(str(err),), assigned=str(args["assigned"]),
    )


def treatment_arms(
    data: pd.DataFrame, assigned: Hashable, control: Any, treatment: Any, *, func: str
) -> list[str]:
    """The treatment arms compared with control: the one named, the ones listed, or (with
    ``treatment=None``) every arm other than control."""
    if isinstance(treatment, (list, tuple)):
        if not treatment:
            raise OptionError(
                f"The 'treatment' parameter of {func} lists no arm. Fix: name one or more arms, "
                "or leave it out to compare every arm with control."
            )
        named = [compared_arms(data, assigned, control, t, func=func)[2] for t in treatment]
        if len(set(named)) < len(named):
            raise OptionError(
                f"The 'treatment' parameter of {func} names an arm twice ({_fmt_list(named)})."
            )
        return named
    if treatment is not None:
        return [compared_arms(data, assigned, control, treatment, func=func)[2]]
    check_columns(data, [assigned], role="assigned", func=func)
    text = data[assigned].astype("string")
    others = sorted(v for v in text.dropna().unique().tolist() if v != str(control))
    if len(others) <= 1:
        return [compared_arms(data, assigned, control, None, func=func)[2]]
    return [compared_arms(data, assigned, control, o, func=func)[2] for o in others]


def check_subgroup_levels(values: pd.Series, by: Hashable, *, func: str) -> None:
    """Refuse a subgroup column with more than :data:`MAX_SUBGROUP_LEVELS` levels."""
    n_levels = int(values.nunique(dropna=True))
    if n_levels > MAX_SUBGROUP_LEVELS:
        raise DesignError(
            f"{func}: column {by!r} (by) takes {n_levels:,} values, above the limit of "
            f"{MAX_SUBGROUP_LEVELS} subgroups (each is a row per outcome and a term of the "
            "heterogeneity test). Fix: group it into a few pre-specified bands, e.g. "
            "pd.cut(df[col], bins=...) or a mapping to broader categories."
        )


def usable_strata(
    data: pd.DataFrame, mask: np.ndarray, outcome: Hashable, args: dict[str, Any]
) -> tuple[np.ndarray, tuple[str, ...], int]:
    """The subgroup's rows without the strata that hold only one compared arm there.

    Such a stratum has no within-stratum comparison, so with strata fixed effects (or a
    blocked difference in means) it contributes nothing; estimatr and fixest drop it.
    Returns ``(rows kept, labels of the strata dropped, people in them)``; the people are
    those of the compared arms with the outcome (and, with ``missing="drop"``, the
    covariates) observed, counted in one grouped pass.
    """
    strata = args.get("strata")
    if strata is None:
        return mask, (), 0
    assigned, control, arm = args["assigned"], str(args["control"]), str(args["treatment"])
    sub = data.loc[mask]
    arm_text = sub[assigned].astype("string")
    valid = np.array(arm_text.isin([control, arm]).fillna(False), dtype=bool)
    valid &= sub[outcome].notna().to_numpy() & sub[strata].notna().to_numpy()
    if args.get("missing") == "drop":
        for c in as_column_list(args.get("covariates")):
            valid &= sub[c].notna().to_numpy()
    codes, labels = pd.factorize(sub[strata])
    z = (arm_text == arm).fillna(False).to_numpy(dtype=bool)
    k = len(labels)
    n_t = np.bincount(codes[valid], weights=z[valid], minlength=k)
    n_all = np.bincount(codes[valid], minlength=k)
    one_arm = (n_all > 0) & ((n_t == 0) | (n_t == n_all))
    if not one_arm.any():
        return mask, (), 0
    drop = np.isin(codes, np.flatnonzero(one_arm))
    kept = mask.copy()
    kept[np.flatnonzero(mask)[drop]] = False
    bad = labels[one_arm].tolist()
    try:
        bad = sorted(bad)
    except TypeError:
        bad = sorted(bad, key=str)
    return kept, tuple(str(b) for b in bad), int(n_all[one_arm].sum())


def arm_mean_variances(data: pd.DataFrame, row: Row) -> tuple[float, float]:
    """Variances of the control and treatment arm means of a row's outcome.

    For an arm with outcomes ``y_i``, weights ``w_i`` (1 without weights) and weighted
    mean ``m``: ``v = U / (U - 1) * sum_u (sum_{i in u} w_i (y_i - m))^2 / (sum_i w_i)^2``
    over its units ``u`` (people, or clusters), which is ``s^2 / n`` unweighted and
    unclustered: the HC2 variance of an arm mean in the regression on arm dummies.
    """
    args = row.args
    frame = data if row.mask is None else data.loc[row.mask]
    text = frame[args["assigned"]].astype("string")
    ok = np.array(frame[row.outcome].notna(), dtype=bool)
    if args.get("missing") == "drop":
        for c in as_column_list(args.get("covariates")):
            ok &= frame[c].notna().to_numpy()
    out = []
    for label in (str(args["control"]), str(args["treatment"])):
        pick = ok & (text == label).fillna(False).to_numpy(dtype=bool)
        y = frame[row.outcome].to_numpy(dtype=float)[pick]
        w = np.ones(len(y)) if args.get("weights") is None else \
            frame[args["weights"]].to_numpy(dtype=float)[pick]
        e = w * (y - np.sum(w * y) / np.sum(w))
        cluster = args.get("cluster")
        if cluster is not None:
            e = pd.Series(e).groupby(pd.factorize(frame[cluster].to_numpy()[pick])[0]).sum().to_numpy()
        units = len(e)
        out.append(float(units / max(units - 1, 1) * np.sum(e**2) / np.sum(w) ** 2))
    return out[0], out[1]


def dunnett_table_p_values(data: pd.DataFrame, rows: Sequence[Row]) -> np.ndarray:
    """Single-step Dunnett p-values for the rows of one outcome (and subgroup), one per arm.

    The contrasts share the control arm, so ``rho_jk = sqrt(l_j l_k)`` with
    ``l_k = v_c / (v_k + v_c)`` from the arm-mean variances (:func:`arm_mean_variances`);
    the statistics are the rows' own and the df the smallest of theirs.
    """
    t = np.array([r.effect.statistic for r in rows], dtype=float)
    lam = []
    for r in rows:
        v_c, v_k = arm_mean_variances(data, r)
        lam.append(v_c / (v_k + v_c) if v_k + v_c > 0 else 0.0)
    a = np.sqrt(np.asarray(lam))
    corr = np.outer(a, a)
    np.fill_diagonal(corr, 1.0)
    df = min(float(r.effect.df) for r in rows)
    return dunnett_p_values(t, corr, df=df)
