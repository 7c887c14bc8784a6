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
    check_label,
    check_no_missing,
    check_option,
    check_unique_columns,
    compared_arm_codes,
    label_key,
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
    "check_magnitude",
    "codes",
    "expand_covariates",
    "expand_covariates_sourced",
    "joined_strata",
    "prepare_sample",
    "singleton_clusters",
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
    # "design": whole clusters were randomised; "variance": people were randomised and
    # the clusters only group the errors (None without clusters)
    cluster_role: str | None = None
    # the stratum label of each code in ``strata`` (for messages), and the strata's name
    strata_levels: tuple[str, ...] = ()
    strata_name: str | None = None
    outcome: str = "the outcome"  # the outcome column's name, for messages

    _UNFROZEN = ("index",)  # a pandas Index is immutable

    @property
    def n(self) -> int:
        return len(self.y)

    def regroup(self, cluster: Any, *, func: str, variance: bool = True) -> Prepared:
        """This sample clustered by ``cluster``: a pandas Series (aligned with the
        analysed rows by its index) or an array with one label per analysed row.
        Clusters that hold both arms are for the variance only (``variance=False``:
        refused, whole clusters must have been randomised).

        A column *name* cannot be looked up (the sample holds no DataFrame):
        :class:`OptionError` says to pass the column itself.
        """
        cl = align_labels(cluster, self.index, self.n, param="cluster", func=func)
        role = check_clusters(cl, self.z, name="cluster", control=self.control,
                              treatment=self.treatment, func=func, variance=variance)
        return replace(self, cluster=cl, cluster_role=role)


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
    cl: np.ndarray, z: np.ndarray, *, name: Hashable, control: str, treatment: str, func: str,
    variance: bool = False,
) -> str:
    """The role of the clusters: ``"design"`` when each is wholly in one arm (whole
    clusters randomised; at least two in each arm), else ``"variance"`` (people were
    randomised, the clusters only group the errors; at least two clusters), which only
    estimators that accept it ask for (``variance=True``); :class:`DesignError` otherwise."""
    n_arm_per_cluster = pd.Series(z).groupby(cl).nunique().to_numpy()
    split = int(np.sum(n_arm_per_cluster > 1))
    if split and variance:
        if len(n_arm_per_cluster) < 2:
            raise DesignError(
                f"{func}: column {name!r} (cluster) holds one cluster only; cluster-robust "
                "inference needs at least 2 clusters. Fix: drop cluster= or pass a column "
                "with more clusters."
            )
        return "variance"
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
    return "design"


def singleton_clusters(
    data: pd.DataFrame, *, cluster: Hashable | None, assigned: Hashable, control: Any,
    treatment: Any | None, nested_in: Any, func: str,
) -> tuple[pd.DataFrame, str, str]:
    """A partially nested design's clusters: ``cluster`` in the arm ``nested_in`` and one
    singleton cluster per person of every other arm (whose ``cluster`` values are
    ignored and may be missing), in a new column of a copy of ``data``.

    Returns the copy, the new column's name and a sentence for the result's method.
    Raises :class:`OptionError` when ``cluster`` is missing or ``nested_in`` names
    neither compared arm, :class:`MissingDataError` when a nested-arm person has no
    cluster and :class:`DesignError` when the nested arm holds fewer than two clusters.
    """
    data = check_data(data, func=func)
    if cluster is None:
        raise OptionError(
            f"The 'nested_in' parameter of {func} is {nested_in!r}, but cluster= is not given. "
            "Fix: pass cluster= with the column that groups the nested arm's people (e.g. "
            "cluster='specialist'), or drop nested_in=."
        )
    check_label(nested_in, param="nested_in", func=func)
    check_columns(data, [cluster], role="cluster", func=func)
    arms = compared_arm_codes(data, assigned, control, treatment, func=func)
    ctrl, treat = label_key(control), arms.treatment
    key = label_key(nested_in)
    if key not in (ctrl, treat):
        raise OptionError(
            f"The 'nested_in' parameter of {func} must be the label of one compared arm "
            f"({_fmt_list([ctrl, treat])}). Got {nested_in!r} instead. Fix: pass the arm whose "
            "people share a cluster (the one the specialists served), e.g. "
            f"nested_in={treat!r}."
        )
    in_nested = arms.in_treatment if key == treat else (arms.keep & ~arms.in_treatment)
    values = data[cluster]
    absent = in_nested & values.isna().to_numpy()
    if absent.any():
        raise MissingDataError(
            f"{func}: column {cluster!r} (cluster) has {int(absent.sum()):,} missing value(s) "
            f"among the {int(in_nested.sum()):,} people of the nested arm {key!r}. Fix: fill "
            "them in (every nested-arm person has a cluster), or remove those rows; design "
            "columns cannot be dropped silently."
        )
    found, _ = pd.factorize(values, sort=True)
    n_groups = len(np.unique(found[in_nested]))
    if n_groups < 2:
        raise DesignError(
            f"{func}: the nested arm {key!r} holds {n_groups} cluster(s) in column {cluster!r}; "
            "cluster-robust inference needs at least 2. Fix: check cluster= and nested_in=."
        )
    # clusters first (codes 0..K-1), then one new code per person outside the nested arm
    labels = np.where(in_nested, found, len(found) + np.arange(len(found)))
    name = f"{cluster} (partially nested)"
    while name in data.columns:
        name += "_"
    other = treat if key == ctrl else ctrl
    note = (f"partially nested: clustered by {cluster!r} in {key!r} ({n_groups:,} clusters), "
            f"each {other!r} person their own cluster")
    return data.assign(**{name: labels}), name, note


def joined_strata(
    data: pd.DataFrame, strata: Any, *, func: str
) -> tuple[pd.DataFrame, Hashable | None]:
    """``strata`` as one column: a column name is kept; a list of columns becomes one
    stratum per combination of their values, labelled unambiguously by the values'
    reprs (``"site='A', benefit='JSA'"``: quotes and escapes keep labels that contain
    separators apart), in a new column of a copy of ``data``."""
    if strata is None or not isinstance(strata, list | tuple):
        return data, strata
    cols = list(strata)
    if not cols:
        raise OptionError(
            f"The 'strata' parameter of {func} is an empty list. Fix: pass a column name, a "
            "list of columns, or None."
        )
    check_columns(data, cols, role="strata", func=func)
    if len(cols) == 1:
        return data, cols[0]
    for c in cols:
        check_no_missing(data, c, role="strata", func=func)
    parts = [data[c].map(lambda v, c=c: f"{c}={v!r}").astype(str) for c in cols]
    label = parts[0].str.cat(parts[1:], sep=", ")
    name = " x ".join(str(c) for c in cols)
    while name in data.columns:
        name += "_"
    return data.assign(**{name: label}), name


def check_finite(s: pd.Series, column: Hashable, *, role: str, func: str) -> None:
    """+/-inf is a value, not a missing one (``missing="drop"`` keeps it): raise
    :class:`ColumnError` naming the column, the count, the first rows and the fix."""
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return
    v = s.to_numpy(dtype=float, na_value=np.nan)
    if np.max(np.abs(v), initial=0.0) <= LARGEST_VALUE:  # NaN compares False: checked below
        return
    inf = np.isinf(v)
    if inf.any():
        rows = s.index[inf][:5].tolist()
        raise ColumnError(
            f"{func}: column {column!r} ({role}) holds infinite values: {int(inf.sum()):,} "
            f"row(s) are +/-inf (first at rows {_fmt_list(rows, 5)}). Infinity is not a missing "
            "value, so missing='drop' does not remove it. Fix: correct those values, or mark "
            f"them missing, e.g. df[{column!r}].replace([np.inf, -np.inf], np.nan), and pass "
            "missing='drop'."
        )
    check_magnitude(v, s.index, column, role=role, func=func)


# Above this magnitude a value's square overflows double precision (sqrt of the largest
# double is 1.3e154), so variances and standard errors become inf or NaN.
LARGEST_VALUE = 1e150


def check_magnitude(v: np.ndarray, index: pd.Index, column: Hashable, *, role: str, func: str) -> None:
    """Raise :class:`ColumnError` when finite values are so large that their squares
    overflow: every variance would be inf or NaN. NaN is left to the missing-data rule."""
    with np.errstate(invalid="ignore"):
        huge = np.abs(v) > LARGEST_VALUE
    if huge.any():
        rows = index[huge][:5].tolist()
        raise ColumnError(
            f"{func}: column {column!r} ({role}) is too large to compute with (its square is not "
            f"a finite number): {int(huge.sum()):,} row(s) exceed {LARGEST_VALUE:g} in magnitude "
            f"(first at rows {_fmt_list(rows, 5)}; largest {np.nanmax(np.abs(v)):.3g}). Fix: "
            f"rescale the column, e.g. df[{column!r}] / 1e6, or correct those values."
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
    control: Any,
    treatment: Any | None,
    covariates: Sequence[Hashable],
    strata: Hashable | Sequence[Hashable] | None,
    cluster: Hashable | None,
    weights: Hashable | None,
    missing: str,
    func: str,
    extra: Sequence[Hashable] = (),
    variance_cluster: bool = False,
) -> tuple[Prepared, pd.DataFrame]:
    """Check columns and values, pick the two compared arms, handle missing data.

    ``variance_cluster``: clusters that hold both arms are accepted as a grouping of
    the errors only (``Prepared.cluster_role == "variance"``); otherwise they must be
    the unit of assignment."""
    data = check_data(data, func=func)
    check_unique_columns(data, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    data, strata = joined_strata(data, strata, func=func)
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

    arms = compared_arm_codes(data, assigned, control, treatment, func=func)
    treatment, keep = arms.treatment, arms.keep
    ctrl = str(label_key(control))
    # every row in a compared arm: the caller's frame itself (only read, never changed)
    frame = data if keep.all() else data.loc[keep]
    z = (arms.in_treatment if frame is data else arms.in_treatment[keep]).astype(float)
    dropped: dict[str, int] = {}
    # people with no arm are in neither compared arm: never lost silently
    n_no_arm = int(arms.no_arm.sum())
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
    checked_inf = [(outcome, "outcome"), *((c, "covariates") for c in covariates),
                   *((c, "received") for c in extra)]
    for col, role in checked_inf:
        check_finite(frame[col], col, role=role, func=func)

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
        z = z[~bad]
    if dropped:
        warnings.warn(
            f"{func}: {sum(dropped.values()):,} row(s) with missing values dropped ("
            + ", ".join(f"{n:,} with missing {c}" for c, n in dropped.items())
            + ").",
            DroppedRowsWarning,
            stacklevel=3,
        )

    y = frame[outcome].to_numpy(dtype=float)
    # no missing or infinite value is left: 0/1 throughout is a binary outcome
    binary = bool(np.all((y == 0.0) | (y == 1.0)))

    w = None
    if weights is not None:
        w = frame[weights].to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ColumnError(
                f"{func}: column {weights!r} (weights) must hold positive finite numbers."
            )

    cl = None
    cl_role = None
    if cluster is not None:
        cl = codes(frame[cluster])
        cl_role = check_clusters(cl, z, name=cluster, control=ctrl, treatment=treatment,
                              func=func, variance=variance_cluster)

    st = None
    levels: tuple[str, ...] = ()
    if strata is not None:
        st = codes(frame[strata])
        levels = tuple(str(v) for v in pd.unique(frame[strata].sort_values()))
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
    n_by_arm = {ctrl: int(np.sum(z == 0)), treatment: int(np.sum(z == 1))}
    if n_by_arm[ctrl] == 0 or n_by_arm[treatment] == 0:
        raise DesignError(f"{func}: after removing missing values an arm is empty.")
    return (
        Prepared(y, z, cov_frame, st, cl, w, n_by_arm, treatment, ctrl, dropped, binary,
                 sources, frame.index, cl_role, levels,
                 None if strata is None else str(strata), str(outcome)),
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
