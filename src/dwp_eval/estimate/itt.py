"""Intention-to-treat effects: design-aware difference in means and covariate-adjusted
regression (Lin 2013), with HC/CR variances from :mod:`dwp_eval.estimate.variance`."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_alpha,
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
from dwp_eval.estimate._linalg import fit_ols
from dwp_eval.estimate.variance import resolve_se_type, vcov
from dwp_eval.results import Effect

__all__ = ["DroppedRowsWarning", "itt"]

# se_type labels of the design-based blocked estimators: a weighted combination of
# within-stratum variances, which is not the HC/CR variance of the regression that
# itt(..., strata=, se_type=) fits (strata fixed effects), so it is not called "HC2".
BLOCKED_NEYMAN = "neyman (blocked)"  # Neyman variance in each stratum
BLOCKED_HC2 = "HC2 (blocked)"  # weighted: weighted HC2 in each stratum
BLOCKED_CR2 = "CR2 (blocked)"  # block-clustered: CR2 in each stratum
MATCHED_PAIR = "matched-pair"


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


class _Term(str):
    """A design-matrix column name that remembers the user's column it was built
    from (``source``; ``None`` for the intercept and assignment), so that
    :func:`~dwp_eval.estimate._linalg.check_full_rank` names user columns."""

    source: str | None

    def __new__(cls, name: str, source: str | None) -> _Term:
        term = super().__new__(cls, name)
        term.source = source
        return term


def _codes(s: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(s, sort=True)
    return np.asarray(codes, dtype=np.int64)


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
        cl = _codes(frame[cluster])
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
        st = _codes(frame[strata])
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

    cov_frame, sources = _expand_covariates_sourced(frame, covariates, func)
    n_by_arm = {str(control): int(np.sum(z == 0)), treatment: int(np.sum(z == 1))}
    if n_by_arm[str(control)] == 0 or n_by_arm[treatment] == 0:
        raise DesignError(f"{func}: after removing missing values an arm is empty.")
    return (
        Prepared(y, z, cov_frame, st, cl, w, n_by_arm, treatment, str(control), dropped, binary,
                 sources),
        frame,
    )


def _expand_covariates(frame: pd.DataFrame, covariates: Sequence[Hashable], func: str) -> pd.DataFrame:
    return _expand_covariates_sourced(frame, covariates, func)[0]


def _expand_covariates_sourced(
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


def _wmean(v: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.average(v, weights=w))


def _welch(y: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """Difference in means with the Neyman (Welch) SE and Welch-Satterthwaite df."""
    y1, y0 = y[z == 1], y[z == 0]
    n1, n0 = len(y1), len(y0)
    v1, v0 = np.var(y1, ddof=1) / n1, np.var(y0, ddof=1) / n0
    se = float(np.sqrt(v1 + v0))
    df = float(se**4 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))) if se > 0 else float("nan")
    return float(y1.mean() - y0.mean()), se, df


def _regression(
    y: np.ndarray,
    z: np.ndarray,
    cov: pd.DataFrame,
    adjustment: str,
    *,
    strata: np.ndarray | None,
    cluster: np.ndarray | None,
    weights: np.ndarray | None,
    se_type: str,
    func: str,
    sources: dict[str, str] | None = None,
) -> tuple[float, float, float, int | None]:
    """OLS of y on assignment (and covariates, strata effects); returns estimate, SE, df, G.

    ``sources`` maps covariate columns to the user's covariates they came from
    (default: themselves), so that a collinearity error names user columns.
    """
    n, p = len(y), cov.shape[1]
    lin = adjustment == "lin" and p > 0
    first = 1 if strata is None else 0  # intercept column unless strata are absorbed
    # one n x k array filled column by column: no n x p temporaries (memory is the
    # data's size plus the design, not several copies of the covariates)
    X = np.empty((n, first + 1 + p * (2 if lin else 1)), order="F")  # columns contiguous
    names: list[str] = [_Term("(Intercept)", None)] if first else []
    if first:
        X[:, 0] = 1.0
    X[:, first] = z
    names.append(_Term("assigned", None))
    if p:
        src = {str(c): (sources or {}).get(str(c), str(c)) for c in cov.columns}
        for j, c in enumerate(cov.columns):
            col = X[:, first + 1 + j]
            col[:] = cov[c].to_numpy(dtype=float)
            col -= np.average(col, weights=weights)  # centred (Lin 2013)
            if lin:
                np.multiply(col, z, out=X[:, first + 1 + p + j])
        names += [_Term(str(c), src[str(c)]) for c in cov.columns]
        if lin:
            names += [_Term(f"assigned:{c}", src[str(c)]) for c in cov.columns]
    fit = fit_ols(X, y, names, weights=weights, fe_codes=strata, func=func)
    res = vcov(fit, se_type, cluster)
    j = names.index("assigned")
    return float(fit.beta[j]), float(res.std_error[j]), float(res.df[j]), res.n_clusters


def itt(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> Effect:
    """Intention-to-treat effect of assignment to ``treatment`` rather than ``control``.

    Parameters
    ----------
    data
        One row per person.
    outcome
        Numeric outcome; a 0/1 outcome is a linear probability model and the
        effect is reported in percentage points.
    assigned
        Column holding each person's arm.
    control, treatment
        Labels of the compared arms; ``treatment`` may be omitted when there is
        only one other arm.
    covariates
        Baseline covariates. Text or categorical columns become dummies.
    adjustment
        ``"lin"``: covariates centred at their (weighted) means and fully
        interacted with assignment (Lin 2013); ``"additive"``: covariates
        entered additively.
    strata
        Column of the randomisation strata (blocks).
    cluster
        Column of the unit of assignment when clusters were randomised.
    se_type
        ``None`` (default) uses the design's estimator: without covariates the
        design-based difference in means (see Notes); with covariates ``HC2``,
        or ``CR2`` with Bell-McCaffrey degrees of freedom when clustered. Any
        name from :data:`dwp_eval.estimate.variance.SE_TYPES` (case does not
        matter; aliases such as ``"stata"`` are accepted) forces the
        regression estimator with that variance. To keep the design-based
        estimate and change only its variance, use :meth:`Effect.with_se`.
    weights
        Column of positive weights (weighted least squares).
    alpha
        Significance level of the interval and test.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome,
        covariate or ``assigned`` arm (a warning gives the counts, which are
        kept on the result's ``dropped``).

    Returns
    -------
    Effect

    Notes
    -----
    Without covariates the estimator follows the design, as estimatr's
    ``difference_in_means`` does:

    * *standard*: ``mean(Y|T) - mean(Y|C)``, Neyman variance
      ``s_T^2/n_T + s_C^2/n_C`` (numerically HC2, so labelled ``HC2``) and
      Welch-Satterthwaite df (Gerber & Green 2012, eq. 3.6);
    * *blocked*: ``sum_b (n_b/n) d_b`` with variance ``sum_b (n_b/n)^2 v_b``
      (Gerber & Green 2012, eq. 3.10-3.11) and ``n - 2B`` df, labelled
      ``neyman (blocked)``; if every block holds two people (or the design
      mixes pairs and larger blocks) the *matched-pair* variance
      ``sum_b (d_b - d)^2 / (B(B-1))`` (eq. 3.16) with ``B - 1`` df;
    * *clustered*: OLS of Y on assignment with CR2 variance and
      Bell-McCaffrey df (Pustejovsky & Tipton 2018);
    * *block-clustered*: the blocked combination of within-block CR2
      estimates, ``G - 2B`` df, labelled ``CR2 (blocked)``; pairs of clusters
      use Imai, King & Nall (2009, eq. 6) with ``B - 1`` df.

    With weights and no blocks, the weighted regression with HC2 (or CR2) is
    used. With weights and blocks, each block's weighted difference ``d_b``
    (weighted HC2 or CR2 variance ``v_b``) enters with its share of the total
    weight, ``W_b / W`` in place of ``n_b / n`` (``W_b``: the sum of the
    weights in block ``b``), as estimatr 1.0.0's ``difference_in_means`` does
    (``R/estimatr_difference_in_means.R``: a block's ``nobs`` is the sum of
    its weights); the df stay ``n - 2B`` (``G - 2B``) with ``n`` people.
    The weighted blocked variance is labelled ``HC2 (blocked)``.

    With covariates, OLS with Lin's (2013) interacted adjustment (or
    additive adjustment); strata enter as absorbed fixed effects.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 4,
    ...                    "y": [1.0, 2.0, 2.0, 4.0, 3.0, 3.0, 2.0, 3.0]})
    >>> res = itt(df, outcome="y", assigned="arm")
    >>> round(res.estimate, 3), res.design, res.se_type
    (1.0, 'standard', 'HC2')
    """
    func = "itt"
    alpha = check_alpha(alpha, func=func)
    adjustment = check_option(adjustment, ("lin", "additive"), param="adjustment", func=func)  # type: ignore[assignment]
    args: dict[str, Any] = dict(
        outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covariates, adjustment=adjustment, strata=strata, weights=weights,
        alpha=alpha, missing=missing,
    )
    return _estimate(data, args, se_type=se_type, cluster=cluster, keep_design=False, func=func)


def _estimate(
    data: pd.DataFrame,
    args: dict[str, Any],
    *,
    se_type: str | None,
    cluster: Hashable | None,
    keep_design: bool,
    func: str,
) -> Effect:
    """:func:`itt` on checked options. ``keep_design``: without covariates, keep the
    design-based point estimate whatever ``se_type`` is (:meth:`Effect.with_se`)."""
    covs = as_column_list(args["covariates"])
    adjustment = args["adjustment"]
    design_based = not covs and (se_type is None or keep_design)
    se_name = "" if design_based else resolve_se_type(se_type, clustered=cluster is not None, func=func)
    prep, _ = prepare_sample(
        data, outcome=args["outcome"], assigned=args["assigned"], control=args["control"],
        treatment=args["treatment"], covariates=covs, strata=args["strata"], cluster=cluster,
        weights=args["weights"], missing=args["missing"], func=func,
    )
    y, z, w = prep.y, prep.z, prep.weights
    n_clusters = None if prep.cluster is None else len(np.unique(prep.cluster))
    n_strata = None if prep.strata is None else len(np.unique(prep.strata))

    if design_based:
        est, se, df, design, used, method = _design_based(prep, func=func)
        if se_type is not None:
            own = used
            name = resolve_se_type(
                se_type, clustered=prep.cluster is not None, func=func, design_types=(own,)
            )
            if name != own:
                se, df, method = _same_estimate_regression(
                    prep, est, se, design=design, own=own, se_type=name, func=func
                )
                used = name
    else:
        used = se_name
        if prep.cluster is not None:
            design = "block-clustered" if prep.strata is not None else "clustered"
        else:
            design = "blocked" if prep.strata is not None else "standard"
        est, se, df, _ = _regression(
            y, z, prep.covariates, adjustment, strata=prep.strata, cluster=prep.cluster,
            weights=w, se_type=used, func=func, sources=prep.sources,
        )
        if covs:
            method = "OLS with Lin (2013) interacted covariates" if adjustment == "lin" else "OLS with additive covariates"
        else:
            method = "OLS of outcome on assignment"
        if prep.strata is not None:
            method += ", strata fixed effects"
        if w is not None:
            method += ", weighted"

    return Effect(
        estimand="ITT",
        outcome=str(args["outcome"]),
        treatment=prep.treatment,
        control=prep.control,
        estimate=est,
        std_error=se,
        df=df,
        alpha=args["alpha"],
        n_obs=len(y),
        n_by_arm=prep.n_by_arm,
        control_mean=_wmean(y[z == 0], None if w is None else w[z == 0]),
        treatment_mean=_wmean(y[z == 1], None if w is None else w[z == 1]),
        se_type=used,
        design=design,
        method=method,
        covariates=tuple(str(c) for c in covs),
        n_clusters=n_clusters,
        n_strata=n_strata,
        binary_outcome=prep.binary,
        dropped=prep.dropped,
        _refit=partial(
            _refit_itt, data, args, original_cluster=cluster,
            keep_design=design_based,
        ),
    )


def _refit_itt(
    data: pd.DataFrame,
    args: dict[str, Any],
    *,
    original_cluster: Hashable | None,
    keep_design: bool,
    se_type: str,
    cluster: Hashable | None,
) -> Effect:
    """:meth:`Effect.with_se`: the same estimator (design-based or regression) with
    another variance; ``cluster=None`` keeps the result's own cluster column."""
    return _estimate(
        data, args, se_type=se_type, cluster=original_cluster if cluster is None else cluster,
        keep_design=keep_design, func="Effect.with_se",
    )


def _same_estimate_regression(
    prep: Prepared, est: float, se: float, *, design: str, own: str, se_type: str, func: str,
) -> tuple[float, float, str]:
    """SE, df and method of the regression whose assignment coefficient *is* the
    design-based estimate ``est``, with variance ``se_type``.

    * no strata: (weighted) OLS of the outcome on assignment: its coefficient is
      the (weighted) difference in means;
    * strata (blocked, block-clustered): assignment fully interacted with centred
      (weighted-mean-centred) stratum dummies (Lin 2013): a saturated model of the
      stratum-by-arm means whose assignment coefficient is ``sum_b (W_b / W) d_b``,
      the blocked estimate (with HC2 it also reproduces the blocked Neyman SE
      and ``n - 2B`` df: estimatr's ``lm_lin(y ~ z, covariates = ~ block)``);
    * matched pairs: pair fixed effects, whose coefficient equals the pair-size
      weighted estimate only when every block has the same treated share
      ``p_b (1 - p_b)`` (e.g. pairs of one treated and one control person).

    The coefficient is checked against ``est``; when they differ (pairs mixed with
    larger blocks, pairs of unequal clusters) no regression keeps the estimate and
    :class:`OptionError` says which se_type this design offers.
    """
    empty = pd.DataFrame(index=range(len(prep.y)))
    fe = None
    cov = empty
    if prep.strata is None:
        method = "OLS of outcome on assignment"
    elif design.startswith("matched-pair"):
        fe = prep.strata
        method = "OLS of outcome on assignment, pair fixed effects"
    else:
        levels = np.unique(prep.strata)
        cov = pd.DataFrame(
            {f"stratum[{b}]": (prep.strata == b).astype(float) for b in levels[1:]}
        )
        method = "OLS with centred stratum dummies interacted with assignment (Lin 2013)"
    if prep.weights is not None:
        method += ", weighted"
    try:
        coef, se_new, df, _ = _regression(
            prep.y, prep.z, cov, "lin", strata=fe, cluster=prep.cluster, weights=prep.weights,
            se_type=se_type, func=func,
        )
    except DesignError as exc:
        raise OptionError(
            f"The 'se_type' parameter of {func} is {se_type!r}, which cannot be computed for this "
            f"{design} design without changing its estimate ({exc}). This design's own se_type "
            f"is {own!r}."
        ) from exc
    if not abs(coef - est) <= 1e-9 * (abs(est) + se + 1e-300):
        raise OptionError(
            f"The 'se_type' parameter of {func} is {se_type!r}, but no regression with that "
            f"variance has the same point estimate as this {design} design's difference in "
            f"means ({est:.6g}; the regression gives {coef:.6g}). The only se_type available for "
            f"this design is {own!r}. Fix: use with_se({own!r}), or re-estimate with "
            f"itt(..., se_type={se_type!r}) for the regression estimator."
        )
    return se_new, df, method + f"; its coefficient is the {design} difference in means"


def _design_based(prep: Prepared, *, func: str) -> tuple[float, float, float, str, str, str]:
    """estimatr-style difference in means by design (see :func:`itt` Notes)."""
    y, z, w, st, cl = prep.y, prep.z, prep.weights, prep.strata, prep.cluster
    empty = pd.DataFrame(index=range(len(y)))
    if st is None:
        if cl is None and w is None:
            est, se, df = _welch(y, z)
            return est, se, df, "standard", "HC2", "difference in means (Neyman variance, Welch df)"
        used = "CR2" if cl is not None else "HC2"
        est, se, df, _ = _regression(y, z, empty, "lin", strata=None, cluster=cl, weights=w, se_type=used, func=func)
        design = "clustered" if cl is not None else "standard"
        return est, se, df, design, used, "difference in means (OLS" + (", weighted" if w is not None else "") + f", {used})"

    blocks = np.unique(st)
    units_per_block = []
    for b in blocks:
        m = st == b
        units_per_block.append(len(np.unique(cl[m])) if cl is not None else int(m.sum()))
    upb = np.asarray(units_per_block)
    pair = bool(np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2)))
    if pair and w is not None:
        raise DesignError(f"{func}: weights cannot be used with a matched-pair design.")
    diffs = np.empty(len(blocks))
    ses = np.empty(len(blocks))
    nobs = np.empty(len(blocks))  # block weight: people, or sum of weights when weighted
    for i, b in enumerate(blocks):
        m = st == b
        yb, zb = y[m], z[m]
        nobs[i] = m.sum() if w is None else w[m].sum()
        if pair:
            diffs[i] = yb[zb == 1].mean() - yb[zb == 0].mean()
            continue
        if (cl is None and (np.sum(zb == 1) < 2 or np.sum(zb == 0) < 2)):
            raise DesignError(
                f"{func}: a stratum has fewer than two people in an arm, so its variance cannot be "
                "estimated; the blocked estimator needs at least two treated and two control "
                "people per stratum (or all strata of size two: matched pairs)."
            )
        if cl is None and w is None:
            diffs[i], ses[i], _ = _welch(yb, zb)
        else:
            used_b = "CR2" if cl is not None else "HC2"
            cb = None if cl is None else cl[m]
            if cb is not None and len(np.unique(cb[zb == 1])) + len(np.unique(cb[zb == 0])) < 3:
                raise DesignError(f"{func}: a stratum has one cluster per arm; use matched pairs of clusters.")
            wb = None if w is None else w[m]
            diffs[i], ses[i], _, _ = _regression(
                yb, zb, pd.DataFrame(index=range(len(yb))), "lin", strata=None, cluster=cb,
                weights=wb, se_type=used_b, func=func,
            )
    N = nobs.sum()
    est = float(np.sum(diffs * nobs / N))
    B = len(blocks)
    if pair:
        if cl is None:
            se = float(np.sqrt(np.sum((diffs - est) ** 2) / (B * (B - 1))))
            design = "matched-pair"
        else:
            se = float(np.sqrt(B / ((B - 1) * N**2) * np.sum((nobs * diffs - N * est / B) ** 2)))
            design = "matched-pair clustered"
        return est, se, float(B - 1), design, MATCHED_PAIR, "difference in means within pairs"
    se = float(np.sqrt(np.sum(ses**2 * (nobs / N) ** 2)))
    share = "size" if w is None else "sum of weights"
    if cl is None:
        label = BLOCKED_NEYMAN if w is None else BLOCKED_HC2
        return est, se, float(len(y) - 2 * B), "blocked", label, (
            f"blocked difference in means (strata weighted by {share})"
        )
    G = len(np.unique(cl))
    return est, se, float(G - 2 * B), "block-clustered", BLOCKED_CR2, (
        f"blocked difference in means of within-stratum CR2 estimates (strata weighted by {share})"
    )
