"""One sample preparation for every estimator: columns, arms, missing values,
strata, clusters, weights and covariate expansion, checked once with the
library's messages and returned as plain arrays (:class:`Prepared`)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import Frozen
from dwp_eval._validation import (
    _fmt_list,
    check_columns,
    check_data,
    check_option,
    compared_arms,
)
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    OptionError,
)

__all__ = [
    "Prepared",
    "align_labels",
    "check_clusters",
    "codes",
    "expand_covariates",
    "expand_covariates_sourced",
    "prepare_sample",
    "wmean",
]


@dataclass(frozen=True, eq=False)
class Prepared(Frozen):
    """A validated analysis sample: the arrays every estimator takes, frozen (read-only
    copies, so later changes to the caller's DataFrame cannot reach it).

    ``index`` holds the labels of the analysed rows of the caller's DataFrame, so
    that a column passed later (``Effect.with_se(cluster=df["office"])``) can be
    aligned with them.
    """

    y: np.ndarray
    z: np.ndarray  # 1 = treatment, 0 = control
    covariates: pd.DataFrame  # expanded numeric covariates (may have 0 columns)
    strata: np.ndarray | None  # codes
    cluster: np.ndarray | None  # codes
    weights: np.ndarray | None
    n_by_arm: Mapping[str, int]
    treatment: str
    control: str
    dropped: Mapping[str, int]
    binary: bool
    # expanded covariate column -> the user's covariate it came from (dummies of a
    # categorical covariate share one), for messages
    sources: Mapping[str, str] = field(default_factory=dict)
    index: pd.Index | None = None
    outcome: str = "the outcome"  # the outcome column's name, for messages

    _UNFROZEN = ("index",)  # a pandas Index is immutable

    @property
    def n(self) -> int:
        return len(self.y)

    def regroup(self, cluster: Any, *, func: str) -> Prepared:
        """This sample clustered by ``cluster``: a pandas Series (aligned with the
        analysed rows by its index) or an array with one label per analysed row.

        A column *name* cannot be looked up (the sample holds no DataFrame):
        :class:`OptionError` says to pass the column itself.
        """
        cl = align_labels(cluster, self.index, self.n, param="cluster", func=func)
        check_clusters(cl, self.z, name="cluster", control=self.control,
                       treatment=self.treatment, func=func)
        return replace(self, cluster=cl)


def align_labels(labels: Any, index: pd.Index | None, n: int, *, param: str, func: str) -> np.ndarray:
    """Integer codes of ``labels`` given after estimation for the ``n`` analysed rows:
    a pandas Series (aligned with the rows by ``index``) or an array with one
    label per analysed row. A column *name* cannot be looked up (a result holds no
    DataFrame): :class:`OptionError` says to pass the column itself."""
    if isinstance(labels, pd.Series):
        if index is None or not labels.index.is_unique:
            raise OptionError(
                f"The '{param}' parameter of {func} is a Series whose index does not "
                "identify the analysed rows once each. Fix: pass the column of the data the "
                f"result was estimated from, e.g. {param}=df['office']."
            )
        missing = ~index.isin(labels.index)
        if missing.any():
            raise OptionError(
                f"The '{param}' parameter of {func} has no value for {int(missing.sum()):,} "
                f"analysed row(s) (e.g. index {_fmt_list(index[missing][:3].tolist(), 3)}). "
                "Fix: pass the column of the data the result was estimated from."
            )
        values = labels.reindex(index)
    elif isinstance(labels, np.ndarray | pd.Index | pd.Categorical | list | tuple):
        values = pd.Series(np.asarray(labels))
        if len(values) != n:
            raise OptionError(
                f"The '{param}' parameter of {func} has {len(values):,} values, but the "
                f"result analysed {n:,} rows. Fix: pass one label per analysed row, or the "
                "column of the data as a Series (aligned by its index)."
            )
    else:
        raise OptionError(
            f"The '{param}' parameter of {func} is {labels!r}, a column name, but a result "
            "keeps no copy of the caller's data to look it up in. Fix: pass the column "
            f"itself, e.g. {param}=df[{labels!r}] (a Series aligned with the data's index)."
        )
    if values.isna().any():
        raise MissingDataError(
            f"{func}: the {param} labels have {int(values.isna().sum()):,} missing value(s) "
            "among the analysed rows. Fix: fill them, or drop those rows before estimating."
        )
    return codes(values)


def check_clusters(
    cl: np.ndarray, z: np.ndarray, *, name: Hashable, control: str, treatment: str, func: str
) -> None:
    """Clusters must be the unit of assignment (each wholly in one arm), at least two
    in each arm; :class:`DesignError` otherwise."""
    n_arm_per_cluster = pd.Series(z).groupby(cl).nunique().to_numpy()
    split = int(np.sum(n_arm_per_cluster > 1))
    if split:
        raise DesignError(
            f"{func}: {split:,} cluster(s) in column {name!r} contain people from both "
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
        check_clusters(cl, z, name=cluster, control=str(control), treatment=treatment, func=func)

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
                 sources, frame.index, str(outcome)),
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
