"""One sample preparation for every estimator: columns, arms, missing values,
strata, clusters, weights and covariate expansion, checked once with the
library's messages and returned as plain arrays (:class:`Prepared`)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    check_columns,
    check_data,
    check_option,
    compared_arms,
)
from dwp_eval.errors import ColumnError, DesignError, DroppedRowsWarning, MissingDataError

__all__ = ["Prepared", "codes", "expand_covariates", "expand_covariates_sourced", "prepare_sample", "wmean"]


@dataclass
class Prepared:
    """Validated analysis sample (internal)."""

    y: np.ndarray
    z: np.ndarray  # 1 = treatment, 0 = control
    covariates: pd.DataFrame  # expanded numeric covariates (may have 0 columns)
    strata: np.ndarray | None  # codes
    cluster: np.ndarray | None  # codes
    weights: np.ndarray | None
    n_by_arm: dict[str, int]
    treatment: str
    control: str
    dropped: dict[str, int]
    binary: bool
    # expanded covariate column -> the user's covariate it came from (dummies of a
    # categorical covariate share one), for messages
    sources: dict[str, str] = field(default_factory=dict)


def codes(s: pd.Series) -> np.ndarray:
    """Integer codes 0..K-1 of a column's values, in sorted order of the values."""
    found, _ = pd.factorize(s, sort=True)
    return np.asarray(found, dtype=np.int64)


def prepare_sample(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str,
    treatment: str | None,
    covariates: Sequence[Hashable],
    strata: Hashable | None,
    cluster: Hashable | None,
    weights: Hashable | None,
    missing: str,
    func: str,
    extra: Sequence[Hashable] = (),
) -> tuple[Prepared, pd.DataFrame]:
    """Check columns and values, pick the two compared arms, handle missing data."""
    data = check_data(data, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    check_columns(data, [outcome], role="outcome", func=func)
    check_columns(data, [assigned], role="assigned", func=func)
    check_columns(data, covariates, role="covariates", func=func)
    check_columns(data, list(extra), role="received", func=func)
    if strata is not None:
        check_columns(data, [strata], role="strata", func=func)
    if cluster is not None:
        check_columns(data, [cluster], role="cluster", func=func)
    if weights is not None:
        check_columns(data, [weights], role="weights", func=func)

    arm_text, keep, treatment = compared_arms(data, assigned, control, treatment, func=func)
    frame = data.loc[keep]
    dropped: dict[str, int] = {}
    # people with no arm are in neither compared arm: never lost silently
    n_no_arm = int(arm_text.isna().sum())
    if n_no_arm:
        if missing == "raise":
            raise MissingDataError(
                f"{func}: column {assigned!r} (assigned) has {n_no_arm:,} missing value(s) among "
                f"the {len(data):,} rows, so those people belong to no arm. Fix: fill in the arm "
                "each person was allocated to, or remove those rows, or pass missing='drop' to "
                "analyse the people with a known arm (the count dropped is recorded)."
            )
        dropped[str(assigned)] = n_no_arm

    y_col = frame[outcome]
    if not (pd.api.types.is_numeric_dtype(y_col) or pd.api.types.is_bool_dtype(y_col)):
        raise ColumnError(
            f"{func}: column {outcome!r} (outcome) must be numeric (or 0/1 for a binary outcome); "
            f"it has dtype {y_col.dtype}. Fix: convert it, e.g. df[{outcome!r}].astype(float)."
        )
    if pd.api.types.is_numeric_dtype(y_col) and not np.all(np.isfinite(y_col.dropna().to_numpy(dtype=float))):
        raise ColumnError(f"{func}: column {outcome!r} (outcome) holds infinite values.")

    checked = [(outcome, "outcome")]
    checked += [(c, "covariates") for c in covariates]
    checked += [(c, "received") for c in extra]
    if strata is not None:
        checked.append((strata, "strata"))
    if cluster is not None:
        checked.append((cluster, "cluster"))
    if weights is not None:
        checked.append((weights, "weights"))
    bad = np.zeros(len(frame), dtype=bool)
    for col, role in checked:
        isna = frame[col].isna().to_numpy()
        if isna.any():
            if missing == "raise" or role in ("cluster", "strata", "weights"):
                how = (
                    "Fix: fill or remove them, or pass missing='drop' to analyse complete cases "
                    "(the count dropped is recorded)."
                    if role in ("outcome", "covariates", "received")
                    else "Fix: fill or remove them; design columns cannot be dropped silently."
                )
                raise MissingDataError(
                    f"{func}: column {col!r} ({role}) has {int(isna.sum()):,} missing value(s) among "
                    f"the {len(frame):,} rows of the compared arms. {how}"
                )
            dropped[str(col)] = int((isna & ~bad).sum())
            bad |= isna
    if bad.any():
        frame = frame.loc[~bad]
    if dropped:
        warnings.warn(
            f"{func}: {sum(dropped.values()):,} row(s) with missing values dropped ("
            + ", ".join(f"{n:,} with missing {c}" for c, n in dropped.items())
            + ").",
            DroppedRowsWarning,
            stacklevel=3,
        )

    z = (frame[assigned].astype("string") == treatment).to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    uniq = np.unique(y)
    binary = bool(len(uniq) <= 2 and np.all(np.isin(uniq, [0.0, 1.0])))

    w = None
    if weights is not None:
        w = frame[weights].to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ColumnError(
                f"{func}: column {weights!r} (weights) must hold positive finite numbers."
            )

    cl = None
    if cluster is not None:
        cl = codes(frame[cluster])
        n_arm_per_cluster = pd.Series(z).groupby(cl).nunique().to_numpy()
        split = int(np.sum(n_arm_per_cluster > 1))
        if split:
            raise DesignError(
                f"{func}: {split:,} cluster(s) in column {cluster!r} contain people from both "
                "arms, so clusters were not the unit of assignment and this is not a cluster "
                "design. Fix: pass cluster= only when whole clusters were randomised."
            )
        per_arm = pd.Series(cl).groupby(z).nunique()
        if per_arm.min() < 2 or len(per_arm) < 2:
            raise DesignError(
                f"{func}: a cluster design needs at least 2 clusters in each arm; found "
                f"{int(per_arm.get(0.0, 0))} in {control!r} and {int(per_arm.get(1.0, 0))} in "
                f"{treatment!r}. Cluster-robust inference is impossible."
            )

    st = None
    if strata is not None:
        st = codes(frame[strata])
        sizes = np.bincount(st)
        if np.any(sizes == 1):
            labels = pd.unique(frame[strata].to_numpy()[np.isin(st, np.flatnonzero(sizes == 1))])
            raise DesignError(
                f"{func}: {int(np.sum(sizes == 1)):,} stratum/strata in column {strata!r} hold one "
                f"person only (e.g. {_fmt_list(labels[:5], 5)}); a one-person stratum carries no "
                "comparison. Fix: merge it with a neighbouring stratum, as at randomisation."
            )
        both = pd.Series(z).groupby(st).nunique().to_numpy()
        if np.any(both < 2):
            labels = pd.unique(frame[strata].to_numpy()[np.isin(st, np.flatnonzero(both < 2))])
            raise DesignError(
                f"{func}: {int(np.sum(both < 2)):,} stratum/strata in column {strata!r} hold only one "
                f"of the compared arms (e.g. {_fmt_list(labels[:5], 5)}). Fix: check the strata "
                "column is the one used at randomisation, or merge those strata."
            )

    cov_frame, sources = expand_covariates_sourced(frame, covariates, func)
    n_by_arm = {str(control): int(np.sum(z == 0)), treatment: int(np.sum(z == 1))}
    if n_by_arm[str(control)] == 0 or n_by_arm[treatment] == 0:
        raise DesignError(f"{func}: after removing missing values an arm is empty.")
    return (
        Prepared(y, z, cov_frame, st, cl, w, n_by_arm, treatment, str(control), dropped, binary,
                 sources),
        frame,
    )


def expand_covariates(frame: pd.DataFrame, covariates: Sequence[Hashable], func: str) -> pd.DataFrame:
    return expand_covariates_sourced(frame, covariates, func)[0]


def expand_covariates_sourced(
    frame: pd.DataFrame, covariates: Sequence[Hashable], func: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric covariate columns (dummies for text/categorical ones, first level
    dropped) and, for each, the covariate it came from."""
    cols: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    for c in covariates:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            v = s.to_numpy(dtype=float)
            if np.ptp(v) == 0:
                raise DesignError(
                    f"{func}: covariate {c!r} is constant ({v[0]:g}) in the analysis sample, so it "
                    "cannot adjust anything. Fix: drop it from covariates."
                )
            cols[str(c)] = v
            sources[str(c)] = str(c)
        else:
            levels = sorted(s.astype(str).unique())
            if len(levels) < 2:
                raise DesignError(
                    f"{func}: covariate {c!r} takes one value ({levels[0]!r}) in the analysis sample. "
                    "Fix: drop it from covariates."
                )
            txt = s.astype(str).to_numpy()
            for lev in levels[1:]:
                cols[f"{c}[{lev}]"] = (txt == lev).astype(float)
                sources[f"{c}[{lev}]"] = str(c)
    return pd.DataFrame(cols, index=frame.index), sources


def wmean(v: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.average(v, weights=w))
