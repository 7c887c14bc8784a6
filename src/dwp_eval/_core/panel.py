"""Panel checks and the two-way within transformation shared by the
difference-in-differences estimators (:mod:`dwp_eval.estimate.did`,
:mod:`dwp_eval.estimate.staggered`, :mod:`dwp_eval.estimate.event_study`).

The two-way transformation removes unit and period effects from columns of a
possibly unbalanced panel exactly, without dummy matrices. With ``M_u`` the
within-unit demeaning and ``D`` the period indicators, Frisch-Waugh-Lovell
gives ``M_{[U, D]} v = M_u v - M_u D g`` with ``g`` solving the T x T normal
equations ``(D' M_u D) g = D' M_u v``. ``D' M_u D = diag(n_t) - C' diag(1/n_i) C``
(``C``: the unit-by-period incidence matrix), so only counts, group sums and a
T x T (pseudo-)inverse are needed; its rank ``T - (number of connected
components of the unit-period graph)`` counts the period effects identified
beyond the unit effects.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from dwp_eval._core.linalg import OLSFit, fit_ols
from dwp_eval._core.sample import check_magnitude
from dwp_eval._validation import _fmt_list, check_columns, check_data, check_option
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    NotEstimableError,
    OptionError,
)

__all__ = [
    "TwoWay",
    "absorbed_parameters",
    "check_complete",
    "check_post_periods",
    "check_pre_period",
    "fit_within",
    "is_balanced",
    "post_means",
    "prepare_cohorts",
    "require_columns",
    "sorted_codes",
    "twoway",
    "validate_frame",
    "warn_dropped",
]


def sorted_codes(values: pd.Series, *, column: Hashable, role: str, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..K-1 in sorted order of ``values`` and the sorted levels.

    Raises :class:`ColumnError` when the values cannot be ordered (e.g. text mixed
    with numbers), since a period order is needed to say what is before and after.
    """
    codes, uniques = pd.factorize(values, sort=False)
    try:
        order = sorted(range(len(uniques)), key=lambda i: uniques[i])
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in uniques[:1000]})
        raise ColumnError(
            f"{func}: column {column!r} ({role}) must hold values that can be sorted (numbers "
            f"or dates); it mixes {', '.join(kinds)}. Fix: convert it to one type, e.g. "
            f"pd.to_numeric(df[{column!r}]) or pd.to_datetime(df[{column!r}])."
        ) from exc
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(uniques))
    codes = rank[codes]
    levels = uniques.take(order)
    return np.asarray(codes, dtype=np.int64), np.asarray(levels)


def check_complete(
    data: pd.DataFrame, columns: Sequence[tuple[Hashable, str]], *, func: str,
    droppable: Sequence[str] = (),
) -> None:
    """Raise :class:`MissingDataError` naming the first column (and role) with
    missing values; for roles in ``droppable`` the fix offers ``missing='drop'``."""
    for col, role in columns:
        isna = data[col].isna().to_numpy()
        if isna.any():
            first = data.index[isna][:5].tolist()
            how = (
                f"Fix: fill them or remove those rows, or pass missing='drop' to {func} to analyse "
                "complete rows (the count dropped is recorded)."
                if role in droppable
                else f"Fix: fill them or remove those rows before calling {func}; design columns "
                "cannot be dropped silently."
            )
            raise MissingDataError(
                f"{func}: column {col!r} ({role}) has {int(isna.sum()):,} missing value(s) "
                f"(first at rows {_fmt_list(first, 5)}). {how}"
            )


def check_numeric(data: pd.DataFrame, column: Hashable, *, role: str, func: str) -> np.ndarray:
    """The column as float, raising :class:`ColumnError` when it is not numeric or not finite."""
    s = data[column]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise ColumnError(
            f"{func}: column {column!r} ({role}) must be numeric; it has dtype {s.dtype}. "
            f"Fix: convert it, e.g. df[{column!r}].astype(float)."
        )
    v = s.to_numpy(dtype=float)
    if not np.all(np.isfinite(v)):
        raise ColumnError(f"{func}: column {column!r} ({role}) holds infinite values.")
    check_magnitude(v, s.index, column, role=role, func=func)
    return v


def check_varies(y: np.ndarray, column: Hashable, *, func: str) -> None:
    """Raise :class:`NotEstimableError` when the outcome is constant (its effect and
    standard error would both be 0, and every test undefined)."""
    if len(y) and np.all(y == y[0]):
        raise NotEstimableError(
            f"{func}: column {column!r} (outcome) is constant (every analysed value is {y[0]:g}), "
            "so there is no change to compare and no variance to estimate. Fix: check the column.",
            outcome=str(column), reason="zero residual variance",
        )


def check_post_periods(shares: np.ndarray, *, post: Hashable, time: Hashable, func: str) -> None:
    """Raise :class:`DesignError` unless ``post`` is one value within each period and marks
    both pre (0) and post (1) periods; ``shares``: each period's share of rows with
    ``post = 1``."""
    if np.any((shares != 0) & (shares != 1)):
        raise DesignError(
            f"{func}: column {post!r} (post) must be the same for every row of a period, "
            f"but it differs within some values of {time!r}. Fix: define post from the "
            f"period, e.g. df[{post!r}] = (df[{time!r}] >= start).astype(int)."
        )
    if shares.min() == shares.max():
        raise DesignError(f"{func}: column {post!r} (post) must mark both pre (0) and post (1) periods.")


def check_finite_result(values: Sequence[float], column: Hashable, *, func: str) -> None:
    """Raise :class:`DesignError` when an estimate or its SE overflowed."""
    if not np.all(np.isfinite(np.asarray(values, dtype=float))):
        raise DesignError(
            f"{func}: the estimate or its standard error is not finite: the values of column "
            f"{column!r} (outcome) are too large for double precision arithmetic. Fix: rescale the "
            f"outcome, e.g. df[{column!r}] / 1000."
        )


def check_binary(data: pd.DataFrame, column: Hashable, *, role: str, func: str) -> np.ndarray:
    """A 0/1 (or boolean) column as float; anything else raises :class:`ColumnError`."""
    v = check_numeric(data, column, role=role, func=func)
    bad = (v != 0.0) & (v != 1.0)
    if bad.any():
        vals = pd.unique(v[bad])[:5]
        raise ColumnError(
            f"{func}: column {column!r} ({role}) must hold 0/1 (or True/False); it also holds "
            f"{_fmt_list(vals, 5)}. Fix: recode it, e.g. (df[{column!r}] > 0).astype(int)."
        )
    return v


def require_columns(func: str, **columns: Hashable | None) -> None:
    """Raise :class:`OptionError` for a required column argument given as ``None``."""
    for param, value in columns.items():
        if value is None:
            extra = (
                " For repeated cross-sections (no unit followed over time) use did(unit=None, "
                "post=...)." if param == "unit" and func not in ("did", "staggered_did") else ""
            )
            if param == "unit" and func == "staggered_did":
                extra = (" For repeated cross-sections (survey respondents each observed once) pass "
                         "panel=False with unit= the area (cluster) column that the cohort belongs to.")
            raise OptionError(
                f"The '{param}' parameter of {func} must name a column of data; got None. "
                f"Fix: pass the column holding the {ROLE_TEXT.get(param, param)}, e.g. "
                f"{param}={EXAMPLE.get(param, param)!r}.{extra}"
            )


ROLE_TEXT = {"outcome": "outcome", "unit": "unit identifiers (areas, offices, people)",
             "time": "periods", "cohort": "period each unit is first treated (0: never)",
             "treated": "0/1 treatment status"}
EXAMPLE = {"outcome": "employment_rate", "unit": "area", "time": "month", "cohort": "cohort",
           "treated": "treated"}


def check_unit_time(
    data: pd.DataFrame, unit: Hashable, time: Hashable, *, func: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Codes of units and periods; raise showing duplicated unit-period rows."""
    u, ulev = pd.factorize(data[unit], sort=False)
    t, tlev = sorted_codes(data[time], column=time, role="time", func=func)
    key = np.asarray(u, dtype=np.int64) * len(tlev) + t
    if len(ulev) * len(tlev) <= 4 * len(key) + 1024:
        dup = np.bincount(key, minlength=len(ulev) * len(tlev))[key] > 1
    else:
        dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if dup.any():
        shown = data.loc[dup, [unit, time]].drop_duplicates().head(5)
        pairs = ", ".join(f"({r[0]!r}, {r[1]!r})" for r in shown.itertuples(index=False))
        n_pairs = len(pd.unique(key[dup]))
        raise ColumnError(
            f"{func}: columns {unit!r} (unit) and {time!r} (time) must identify each row once, "
            f"but {n_pairs:,} unit-period pair(s) appear more than once: {pairs}. Fix: keep one "
            "row per unit and period (e.g. aggregate people to area-month means first), or pass "
            "unit=None for repeated cross-sections."
        )
    return np.asarray(u, dtype=np.int64), np.asarray(ulev), t, tlev


def check_unique_column(data: pd.DataFrame, column: Hashable, *, role: str, func: str) -> None:
    """Raise :class:`ColumnError` when ``data`` has several columns named ``column``."""
    n = int(np.sum(data.columns == column))
    if n > 1:
        raise ColumnError(
            f"{func}: column {column!r} ({role}) appears {n} times in the data, so it is not clear "
            "which to use. Fix: rename or drop the duplicates, e.g. "
            "df = df.loc[:, ~df.columns.duplicated()]."
        )


def check_two_clusters(n_clusters: int, cluster: Hashable, *, func: str) -> None:
    """Raise :class:`DesignError` when a cluster column holds fewer than two clusters."""
    if n_clusters < 2:
        raise DesignError(
            f"{func}: column {cluster!r} (cluster) holds a single cluster; a cluster-robust "
            "variance needs at least two (with one, the residuals sum to zero). Fix: cluster on "
            "a column with several values, or leave cluster=None to cluster on units."
        )


def check_periods(n_periods: int, time: Hashable, *, func: str) -> None:
    """Raise :class:`DesignError` unless there are at least two periods."""
    if n_periods < 2:
        raise DesignError(
            f"{func}: column {time!r} (time) holds a single period, so there is no change over "
            "time to compare. Fix: pass data covering the periods before and after the change."
        )


#: How ``dropped`` names the rows of a balanced panel dropped with a unit's missing value.
OTHER_PERIODS = "other periods of those units"

#: Roles whose missing values ``missing="drop"`` may drop (the rest are design columns).
DROPPABLE = ("outcome", "covariates")


def validate_frame(
    data: pd.DataFrame, columns: Sequence[tuple[Hashable | None, str]], *, func: str,
    missing: str = "raise",
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Check the DataFrame and that every named column exists; handle missing values.

    ``missing="raise"``: any missing value raises :class:`MissingDataError`.
    ``missing="drop"``: rows with a missing outcome or covariate are dropped and
    counted per column (the first column that is missing in a row counts it), as
    :func:`dwp_eval.itt`; a missing value in a design column (unit, time,
    treatment, cohort, cluster) still raises. Returns the frame and the counts.
    """
    data = check_data(data, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    named = [(c, r) for c, r in columns if c is not None]
    for col, role in named:
        check_columns(data, [col], role=role, func=func)
        check_unique_column(data, col, role=role, func=func)
    if missing == "raise":
        check_complete(data, named, func=func, droppable=DROPPABLE)
        return data, {}
    check_complete(data, [(c, r) for c, r in named if r not in DROPPABLE], func=func)
    bad = np.zeros(len(data), dtype=bool)
    dropped: dict[str, int] = {}
    for col, role in named:
        if role in DROPPABLE:
            isna = data[col].isna().to_numpy()
            if isna.any():
                dropped[str(col)] = int((isna & ~bad).sum())
                bad |= isna
    if bad.all():
        raise MissingDataError(
            f"{func}: every row has a missing value in "
            f"{_fmt_list(list(dropped), 5)}, so missing='drop' leaves nothing to analyse. "
            "Fix: check the columns."
        )
    return (data.loc[~bad] if bad.any() else data), dropped


def warn_dropped(dropped: Mapping[str, int], *, func: str, stacklevel: int) -> None:
    """The :class:`DroppedRowsWarning` of ``missing="drop"``, counting rows per column
    (the wording of :func:`dwp_eval.itt`)."""
    if dropped:
        warnings.warn(
            f"{func}: {sum(dropped.values()):,} row(s) with missing values dropped ("
            + ", ".join(f"{n:,} {c}" if c.startswith(OTHER_PERIODS) else f"{n:,} with missing {c}"
                        for c, n in dropped.items())
            + ").",
            DroppedRowsWarning,
            stacklevel=stacklevel + 1,
        )


@dataclass(frozen=True)
class TwoWay:
    """The two-way within transformation of one panel (see the module docstring)."""

    unit: np.ndarray  # codes, n
    time: np.ndarray  # codes, n
    n_units: int
    n_periods: int
    count_unit: np.ndarray
    count_time: np.ndarray
    incidence: sp.csr_matrix  # n_units x n_periods, 0/1
    a_pinv: np.ndarray  # pseudo-inverse of D' M_u D
    rank_time: int  # period effects identified beyond the unit effects

    @property
    def n_fe(self) -> int:
        """Absorbed parameters: one per unit plus the identified period effects."""
        return self.n_units + self.rank_time

    def unit_means(self, v: np.ndarray) -> np.ndarray:
        """Per-unit means of the columns of ``v`` (n_units x m)."""
        out = np.empty((self.n_units, v.shape[1]))
        for j in range(v.shape[1]):
            out[:, j] = np.bincount(self.unit, weights=v[:, j], minlength=self.n_units)
        return out / self.count_unit[:, None]

    def demean(self, v: np.ndarray) -> np.ndarray:
        """Residuals of the columns of ``v`` on unit and period indicators."""
        one = v.ndim == 1
        v2 = np.asarray(v, dtype=float).reshape(len(v), -1)
        vu = v2 - self.unit_means(v2)[self.unit]
        b = np.empty((self.n_periods, v2.shape[1]))
        for j in range(v2.shape[1]):
            b[:, j] = np.bincount(self.time, weights=vu[:, j], minlength=self.n_periods)
        g = self.a_pinv @ b  # period effects after unit demeaning
        gi = self.incidence @ g / self.count_unit[:, None]  # unit means of g[time]
        out = vu - g[self.time] + gi[self.unit]
        return out[:, 0] if one else out


def twoway(unit: np.ndarray, time: np.ndarray, n_units: int, n_periods: int) -> TwoWay:
    """Set up the two-way within transformation for integer unit and period codes."""
    cu = np.bincount(unit, minlength=n_units).astype(float)
    ct = np.bincount(time, minlength=n_periods).astype(float)
    C = sp.csr_matrix((np.ones(len(unit)), (unit, time)), shape=(n_units, n_periods))
    A = np.diag(ct) - (C.T @ sp.diags(1.0 / cu) @ C).toarray()
    A = (A + A.T) / 2
    ev, V = np.linalg.eigh(A)
    tol = 1e-10 * max(1.0, float(ev.max(initial=0.0)))
    keep = ev > tol
    a_pinv = (V[:, keep] / ev[keep]) @ V[:, keep].T
    return TwoWay(unit, time, n_units, n_periods, cu, ct, C, a_pinv, int(keep.sum()))


def nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether each value of ``inner`` (integer codes) occurs with a single value of
    ``outer`` (integer codes)."""
    if inner is outer:
        return True
    first = np.empty(int(inner.max()) + 1, dtype=np.int64)
    first[inner[::-1]] = outer[::-1]  # the last write wins: each code's first occurrence
    return bool(np.all(outer == first[inner]))


def absorbed_parameters(tw: TwoWay, cluster: np.ndarray) -> int:
    """The absorbed unit and period effects counted in the cluster-robust
    small-sample factor ``G/(G-1) (n-1)/(n-K)``, ``K`` = regressors + this.

    fixest's default ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)``
    (fixest ``?ssc``; vignette "On standard-errors"): every fixed effect counts
    except those nested in the clusters, and a nested set of effects still
    leaves its one constant. With units nested in the clusters (cluster = unit,
    or units within regions) that is the identified period effects plus the
    constant, ``rank_time + 1`` (``T`` on a connected panel), the ``K`` of
    Stata's ``xtreg y x i.period, fe vce(cluster c)`` (period dummies and the
    constant; Stata Base Reference Manual, ``[XT] xtreg``, Methods and
    formulas). Clusters that cut across units count every effect,
    ``n_units + rank_time``; periods nested in the clusters leave ``n_units``;
    both nested (one cluster cannot be: ``G >= 2``) leave the constant.
    """
    unit_in = nested(tw.unit, cluster)
    time_in = nested(tw.time, cluster)
    if unit_in and time_in:
        return 1
    if unit_in:
        return tw.rank_time + 1
    if time_in:
        return tw.n_units
    return tw.n_units + tw.rank_time


def first_treated_period(d: np.ndarray, unit: np.ndarray, time: np.ndarray, n_units: int) -> np.ndarray:
    """Code of each unit's first treated period (``-1`` if never treated)."""
    big = np.iinfo(np.int64).max
    first = np.full(n_units, big, dtype=np.int64)
    on = d > 0
    np.minimum.at(first, unit[on], time[on])
    first[first == big] = -1
    return first


def check_no_switch_off(
    d: np.ndarray, unit: np.ndarray, time: np.ndarray, n_units: int, unit_levels: np.ndarray,
    *, column: Hashable, func: str
) -> np.ndarray:
    """Raise when a unit's treatment switches off; return first treated period codes."""
    first = first_treated_period(d, unit, time, n_units)
    ft = first[unit]
    off = (ft >= 0) & (time > ft) & (d == 0)
    if off.any():
        bad_units = pd.unique(unit[off])
        raise DesignError(
            f"{func}: column {column!r} (treated) switches off: {len(bad_units):,} unit(s) are "
            f"treated in one period and untreated later (e.g. {_fmt_list(unit_levels[bad_units][:5], 5)}). "
            "Treatment that switches off is not supported: the estimators here assume that once "
            "treated a unit stays treated (staggered adoption). Fix: check the column, or code "
            "the first period of treatment as a cohort and keep units treated from then on."
        )
    return first


# ---------------------------------------------------------------- cohorts


def is_balanced(
    data: pd.DataFrame, *, unit: Hashable, time: Hashable, columns: Sequence[Hashable], missing: str,
    func: str,
) -> bool:
    """Whether the rows (those complete in ``columns`` when ``missing="drop"``) are a
    balanced panel: every unit observed once in every period (R did's test)."""
    require_columns(func, unit=unit, time=time)
    frame = check_data(data, func=func)
    check_columns(frame, [unit, time, *columns], role="column", func=func)
    if missing == "drop":
        frame = frame.loc[~frame[list(columns)].isna().any(axis=1)]
    n_units, n_times = frame[unit].nunique(), frame[time].nunique()
    return bool(len(frame) == n_units * n_times and not frame.duplicated([unit, time]).any())


def post_means(Y: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """Mean outcome of treated units in their treated periods, and of comparison
    units (never treated; if none, not yet treated) in the periods from the first
    cohort on."""
    T = Y.shape[1]
    t = np.arange(T)[None, :]
    gg = g[:, None]
    treated = (gg >= 0) & (t >= gg)
    first = int(g[g >= 0].min()) if (g >= 0).any() else T
    if (g < 0).any():
        comp = (gg < 0) & (t >= first)
    else:
        comp = (t >= first) & (t < gg)
    tm = float(Y[treated].mean()) if treated.any() else float("nan")
    cm = float(Y[comp].mean()) if comp.any() else float("nan")
    return tm, cm


def prepare_cohorts(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, cohort: Hashable,
    covariates: Sequence[Hashable], cluster: Hashable | None, func: str, missing: str = "raise",
) -> dict[str, Any]:
    """Validate a balanced panel with a cohort column; return wide arrays.

    With ``missing="drop"`` the rows with a missing outcome or covariate are
    dropped and then, since the panel must stay balanced, the other periods of
    those units (as R did's ``makeBalancedPanel``); ``"dropped"`` counts both.
    """
    require_columns(func, outcome=outcome, unit=unit, time=time, cohort=cohort)
    frame, dropped = validate_frame(
        data,
        [(outcome, "outcome"), (unit, "unit"), (time, "time"),
         *[(c, "covariates") for c in covariates], (cluster, "cluster")],
        func=func, missing=missing,
    )
    check_columns(frame, [cohort], role="cohort", func=func)
    check_unique_column(frame, cohort, role="cohort", func=func)
    if dropped:
        incomplete = data[[outcome, *covariates]].isna().any(axis=1).to_numpy()
        touched = pd.unique(data[unit].to_numpy()[incomplete])
        rest = frame[unit].isin(touched).to_numpy()
        if rest.any():
            dropped[f"{OTHER_PERIODS} (balanced panel)"] = int(rest.sum())
            frame = frame.loc[~rest]
        if len(frame) == 0:
            raise MissingDataError(
                f"{func}: every unit of {unit!r} has a missing value in some period, so "
                "missing='drop' (which keeps the panel balanced) leaves nothing to analyse. "
                "Fix: fill the missing values."
            )
    y = check_numeric(frame, outcome, role="outcome", func=func)
    check_varies(y, outcome, func=func)
    u, ulev, t, tlev = check_unit_time(frame, unit, time, func=func)
    N, T = len(ulev), len(tlev)
    check_periods(T, time, func=func)
    counts = np.bincount(u, minlength=N)
    if np.any(counts != T):
        short = ulev[counts != T]
        raise DesignError(
            f"{func}: needs a balanced panel, but {len(short):,} unit(s) of {unit!r} are not observed "
            f"in all {T} periods (e.g. {_fmt_list(short[:5], 5)}). Fix: keep the units observed in "
            "every period (e.g. df.groupby(unit).filter(lambda g: len(g) == T)), or use did() for "
            "unbalanced panels."
        )
    coh = frame[cohort]
    never = coh.isna().to_numpy() | (coh.fillna(0).to_numpy() == 0) if pd.api.types.is_numeric_dtype(coh) else coh.isna().to_numpy()
    # cohort constant within unit
    cu = pd.Series(coh.to_numpy()).groupby(u).nunique(dropna=False)
    if (cu > 1).any():
        bad = ulev[cu.index[cu > 1].to_numpy()]
        raise DesignError(
            f"{func}: column {cohort!r} (cohort) must be the same in every period of a unit, but it "
            f"changes for {len(bad):,} unit(s) (e.g. {_fmt_list(bad[:5], 5)}). Fix: set each unit's "
            "cohort to the period it was first treated (0 or missing if never treated)."
        )
    first_row = np.zeros(N, dtype=np.int64)
    first_row[u] = np.arange(len(u))
    unit_never = never[first_row]
    cvals = coh.to_numpy()[first_row]
    gidx = np.full(N, -1, dtype=np.int64)
    if (~unit_never).any():
        lookup = {v: i for i, v in enumerate(tlev.tolist())}
        treated_vals = cvals[~unit_never]
        unknown = [v for v in pd.unique(treated_vals) if v not in lookup]
        if unknown:
            raise DesignError(
                f"{func}: cohort value(s) {_fmt_list(sorted(unknown)[:5], 5)} of column {cohort!r} are "
                f"not periods of {time!r} (observed {_fmt_list(tlev[:3], 3)} ... {tlev[-1]!r}). A cohort is "
                "the period a unit is first treated, in the units of the time column; 0 or missing "
                "means never treated. Fix: recode the cohorts, or drop units first treated after the "
                "last period (or code them 0: not treated during the panel)."
            )
        gidx[~unit_never] = np.array([lookup[v] for v in treated_vals.tolist()], dtype=np.int64)
    Y = np.full((N, T), np.nan)
    Y[u, t] = y
    Xs: np.ndarray | None = None
    if covariates:
        Xs = np.full((N, T, len(covariates)), np.nan)
        for j, c in enumerate(covariates):
            Xs[u, t, j] = check_numeric(frame, c, role="covariates", func=func)
    cl = None
    if cluster is not None:
        cc = pd.factorize(frame[cluster])[0]
        per = pd.Series(cc).groupby(u).nunique()
        if (per > 1).any():
            raise DesignError(
                f"{func}: column {cluster!r} (cluster) must be constant within units (units nested "
                "in clusters)."
            )
        cl = np.zeros(N, dtype=np.int64)
        cl[u] = cc
        cl = np.asarray(pd.factorize(cl)[0], dtype=np.int64)
        check_two_clusters(int(cl.max()) + 1, cluster, func=func)
    return {"Y": Y, "X": Xs, "g": gidx, "units": ulev, "times": tlev, "clusters": cl, "dropped": dropped}


def fit_within(Xd: np.ndarray, yd: np.ndarray, names: list[str], n_fe: int, func: str) -> OLSFit:
    """OLS on two-way demeaned data (:func:`twoway`), as an :class:`OLSFit` with the
    ``n_fe`` absorbed unit and period parameters counted in the residual degrees
    of freedom."""
    return fit_ols(Xd, yd, names, n_absorbed=n_fe, func=func, what="regressors")


def check_pre_period(g: np.ndarray, anticipation: int, *, func: str) -> np.ndarray:
    """The treated units (or rows) first treated in the first period, or within
    ``anticipation`` of it (no pre-treatment period: the caller drops them and says so);
    raise when that is every treated one. ``g``: first treated period index, -1 never."""
    early = (g >= 0) & (g - anticipation <= 0)
    if early.any() and early.sum() == (g >= 0).sum():
        raise DesignError(
            f"{func}: every treated unit is first treated in the first period"
            + (f" or within anticipation={anticipation} of it" if anticipation else "")
            + ", so none has a pre-treatment period to compare with. Fix: include earlier periods"
            + (", or lower anticipation." if anticipation else ".")
        )
    return early


def cohort_grid(prep: dict[str, Any], *, unit: Any, func: str, estimator: str,
                why: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u, t, gu)``: the unit index, period index and first-treated period index of every
    cell of :func:`prepare_cohorts`' unit x period grid (row-major); raise naming up to five
    units treated from the first period (``why``: what that prevents for ``estimator``)."""
    g = prep["g"]
    n, periods = prep["Y"].shape
    always = g == 0
    if always.any():
        raise DesignError(
            f"{func}: estimator={estimator!r} needs a pre-treatment period of every treated unit, "
            f"but {int(always.sum()):,} unit(s) of {unit!r} are treated from the first period (e.g. "
            f"{', '.join(repr(x) for x in prep['units'][always][:5].tolist())}): {why}. Fix: drop "
            "those units (always treated), or use estimator='callaway_santanna' (which leaves "
            "them out).")
    u = np.repeat(np.arange(n), periods)
    return u, np.tile(np.arange(periods), n), g[u]
