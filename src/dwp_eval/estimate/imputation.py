"""Multiple imputation of missing outcomes (and covariates) by chained equations.

:func:`multiple_imputation` draws ``m`` completed datasets; ``.fit(estimator)`` on
the result pools any estimator over them by Rubin's rules
(:class:`~dwp_eval.results.imputation.PooledEffect`), and
:func:`dwp_eval.tipping_point` runs the delta-adjusted sensitivity analysis.

Imputation is within each arm by default (``by_arm=True``: every imputation model
interacts fully with assignment), so the imputations keep the difference between
the arms; imputing without the arm would pull the effect towards zero.

The three imputation models are those of R ``mice`` (van Buuren 2018, ch. 3),
written here because statsmodels' ``MICEData`` offers predictive mean matching
only and, before statsmodels 0.15, draws from numpy's global random state.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.special import expit

from dwp_eval._validation import (
    as_column_list,
    check_columns,
    check_data,
    check_draws,
    check_no_missing,
    check_option,
    check_seed,
    check_unique_columns,
)
from dwp_eval.errors import ColumnError, DesignError, MissingDataError, OptionError
from dwp_eval.results.imputation import MultipleImputation, PooledEffect

__all__ = ["METHODS", "MultipleImputation", "PooledEffect", "multiple_imputation"]

FUNC = "multiple_imputation"
METHODS = ("pmm", "norm", "logreg")


def multiple_imputation(
    data: pd.DataFrame,
    *,
    impute: Hashable | Sequence[Hashable],
    assigned: Hashable,
    using: Hashable | Sequence[Hashable] | None = None,
    m: int = 20,
    method: Literal["pmm", "norm", "logreg"] = "pmm",
    by_arm: bool = True,
    seed: int | np.random.Generator,
    iterations: int = 10,
    donors: int = 5,
) -> MultipleImputation:
    """Draw ``m`` completed datasets for the missing values of the ``impute`` columns.

    Parameters
    ----------
    data
        One row per person.
    impute
        Column(s) with missing values to impute: usually the outcome, perhaps a
        baseline covariate too.
    assigned
        The arm column (never imputed; it must be complete).
    using
        Complete columns that predict the imputed ones (baseline covariates,
        strata). Text or categorical columns enter as dummies.
    m
        Number of imputations (at least 2; 20 or more when the fraction of missing
        information is high: White, Royston & Wood 2011 suggest m >= the percentage
        of incomplete cases).
    method
        ``"pmm"``: predictive mean matching (type-1 matching; each missing value
        takes the observed value of one of the ``donors`` cases whose predicted means
        are closest); ``"norm"``: Bayesian linear regression; ``"logreg"``: Bayesian
        logistic regression for a 0/1 column.
    by_arm
        ``True``: impute separately in each arm. ``False``: one model with the arm
        (as dummies) among the predictors.
    seed
        An int or a ``numpy.random.Generator``.
    iterations
        Cycles of the chained equations for each imputation when several columns
        have missing values (ignored when one does: one cycle is then exact).
    donors
        Donor pool size of ``"pmm"`` (5, as R ``mice``).

    Returns
    -------
    MultipleImputation
        ``.fit(estimator, **kwargs)`` pools an estimator over the completed
        datasets by Rubin's rules; ``.completed(i)`` is the ``i``-th dataset.

    Notes
    -----
    For a column ``y`` with predictors ``X`` (an intercept, ``using``, the other
    imputed columns, and the arm unless ``by_arm``), fitted on the ``n1`` rows
    where ``y`` is observed (van Buuren 2018, Algorithms 3.1, 3.3 and 3.4; Rubin
    1987, p. 167):

    * ``norm``: ``sigma*^2 = RSS / g`` with ``g ~ chi2(n1 - p)``;
      ``beta* = beta_hat + sigma* R^{-1} z`` (``X = QR``, ``z ~ N(0, I)``);
      ``y_mis = X_mis beta* + sigma* e``, ``e ~ N(0, 1)``.
    * ``pmm``: ``beta*`` as in ``norm``; each missing case, predicted as
      ``X_mis beta*``, is matched to the ``donors`` observed cases with the closest
      ``X_obs beta_hat`` and takes the observed value of one at random.
    * ``logreg``: the maximum-likelihood fit ``beta_hat`` with covariance ``V``;
      ``beta* ~ N(beta_hat, V)``; ``y_mis = 1`` when ``u < expit(X_mis beta*)``
      with ``u ~ U(0, 1)``.

    With several incomplete columns each imputation runs its own chain of
    ``iterations`` cycles, started from random draws of the observed values (as
    ``mice``). Collinear predictors (e.g. a dummy constant within an arm) are left
    out of that model.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import dwp_eval as de
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"arm": np.repeat(["control", "treatment"], 100),
    ...                    "x": rng.normal(size=200)})
    >>> df["y"] = 0.5 * (df["arm"] == "treatment") + df["x"] + rng.normal(size=200)
    >>> df.loc[rng.random(200) < 0.2, "y"] = np.nan
    >>> mi = de.multiple_imputation(df, impute="y", using="x", assigned="arm", m=5, seed=1)
    >>> pooled = mi.fit(de.itt, outcome="y", covariates=["x"])
    >>> pooled.m, round(pooled.fmi, 2) > 0
    (5, True)
    """
    data = check_data(data, func=FUNC)
    check_unique_columns(data, func=FUNC)
    cols = as_column_list(impute)
    preds = as_column_list(using)
    if not cols:
        raise OptionError(f"{FUNC}: impute names no column. Fix: pass impute=['outcome'].")
    check_columns(data, [assigned], role="assigned", func=FUNC)
    check_columns(data, cols, role="impute", func=FUNC,
                  fix="name columns of data in impute=[...]")
    check_columns(data, preds, role="using", func=FUNC)
    if assigned in cols:
        raise OptionError(
            f"{FUNC}: the assignment column {assigned!r} is in impute. The arm each person "
            "was randomised to is known for everyone and must never be imputed. Fix: remove "
            f"{assigned!r} from impute (rows without an arm are not in the trial)."
        )
    both = [c for c in cols if c in preds or c == assigned] + [c for c in preds if c == assigned]
    if both:
        raise OptionError(f"{FUNC}: column {both[0]!r} is named twice (in impute and using, or as "
                          f"assigned). Fix: name each column once; assigned is always used.")
    check_no_missing(data, assigned, role="assigned", func=FUNC)
    m = check_draws(m, name="m", func=FUNC, minimum=2,
                    hint=" (Rubin's rules need a between-imputation variance; 20 is usual)")
    iterations = check_draws(iterations, name="iterations", func=FUNC)
    donors = check_draws(donors, name="donors", func=FUNC)
    method = check_option(method, METHODS, param="method", func=FUNC)  # type: ignore[assignment]
    if not isinstance(by_arm, bool):
        raise OptionError(f"The 'by_arm' parameter of {FUNC} must be True or False. "
                          f"Got {by_arm!r} instead.")
    rng = check_seed(seed, func=FUNC)
    for c in preds:
        if data[c].isna().any():
            raise MissingDataError(
                f"{FUNC}: column {c!r} (using) has {int(data[c].isna().sum()):,} missing "
                f"value(s); predictors must be complete. Fix: add {c!r} to impute=[...] to "
                "impute it too, or fill it (e.g. with a 'missing' indicator)."
            )
    y = np.column_stack([_impute_values(data[c], c, method) for c in cols])
    missing = np.isnan(y)
    if not missing.any():
        raise MissingDataError(
            f"{FUNC}: nothing to impute: {', '.join(map(repr, cols))} "
            f"{'has' if len(cols) == 1 else 'have'} no missing values. Fix: analyse the data "
            "directly (e.g. dwp_eval.itt) without multiple imputation."
        )
    x = _design(data, preds, assigned, by_arm)
    arms = data[assigned].to_numpy()
    groups = [np.flatnonzero(arms == a) for a in pd.unique(arms)] if by_arm \
        else [np.arange(len(data))]
    draws = np.repeat(y[None], m, axis=0)
    linear = np.zeros_like(draws) if method == "logreg" else None
    uniform = np.ones_like(draws) if method == "logreg" else None
    for i in range(m):
        for rows in groups:
            arm = arms[rows[0]] if by_arm else None
            n_incomplete = int(missing[rows].any(axis=0).sum())
            out = _chain(y[rows], x[rows], missing[rows], [str(c) for c in cols], method,
                         donors, iterations if n_incomplete > 1 else 1, rng, arm)
            draws[i][rows], lin, uni = out
            if linear is not None and uniform is not None:
                linear[i][rows], uniform[i][rows] = lin, uni
    rows_by_col = {str(c): np.flatnonzero(missing[:, j]) for j, c in enumerate(cols)}
    values = {str(c): draws[:, missing[:, j], j] for j, c in enumerate(cols)}
    lin_by_col: dict[str, np.ndarray] = {}
    uni_by_col: dict[str, np.ndarray] = {}
    if linear is not None and uniform is not None:
        lin_by_col = {str(c): linear[:, missing[:, j], j] for j, c in enumerate(cols)}
        uni_by_col = {str(c): uniform[:, missing[:, j], j] for j, c in enumerate(cols)}
    return MultipleImputation(
        _data=data.reset_index(drop=True), impute=tuple(map(str, cols)),
        using=tuple(map(str, preds)), assigned=str(assigned), m=m, method=method,
        by_arm=by_arm, _rows=rows_by_col, _values=values, _linear=lin_by_col,
        _uniform=uni_by_col, seed=int(seed) if isinstance(seed, int | np.integer) else None,
        iterations=iterations,
    )


def _impute_values(s: pd.Series, column: Hashable, method: str) -> np.ndarray:
    """The column as floats with NaN for missing; numeric (0/1 for logreg) or an error."""
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        if s.dropna().map(lambda v: isinstance(v, bool | np.bool_)).all():
            s = s.astype("boolean")
        else:
            raise ColumnError(
                f"{FUNC}: column {column!r} (impute) is not numeric (dtype {s.dtype}); method "
                f"{method!r} imputes numbers. Fix: recode it to numbers (a 0/1 column with "
                "method='logreg'), e.g. df[col].map({'no': 0, 'yes': 1})."
            )
    v = s.to_numpy(dtype=float, na_value=np.nan)
    if method == "logreg":
        bad = sorted(set(v[~np.isnan(v)].tolist()) - {0.0, 1.0})[:5]
        if bad:
            raise ColumnError(
                f"{FUNC}: column {column!r} (impute) must hold 0/1 values for method='logreg'. "
                f"Got {bad} among its values. Fix: recode it to 0/1, or use method='pmm'.")
    return v


def _design(data: pd.DataFrame, preds: list[Hashable], assigned: Hashable, by_arm: bool) -> np.ndarray:
    """Intercept, the predictors (text and categories as dummies), and the arm's dummies
    unless imputing by arm."""
    parts = [np.ones((len(data), 1))]
    for c in [*preds, *([] if by_arm else [assigned])]:
        s = data[c]
        if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) and c != assigned:
            parts.append(s.to_numpy(dtype=float)[:, None])
        else:
            dummies = pd.get_dummies(s.astype(str), drop_first=True, dtype=float)
            parts.append(dummies.to_numpy())
    return np.hstack(parts)


def _chain(
    y: np.ndarray, x: np.ndarray, missing: np.ndarray, cols: list[str], method: str,
    donors: int, iterations: int, rng: np.random.Generator, arm: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chain of chained equations on one group of rows (an arm, or everyone):
    the completed values and, for logreg, the last linear predictors and uniforms."""
    y = y.copy()
    linear = np.zeros_like(y)
    uniform = np.ones_like(y)
    where = "" if arm is None else f" in arm {arm!r}"
    order = sorted((j for j in range(y.shape[1]) if missing[:, j].any()),
                   key=lambda j: int(missing[:, j].sum()))
    for j in order:
        observed = y[~missing[:, j], j]
        if observed.size < 2:
            raise DesignError(
                f"{FUNC}: column {cols[j]!r} has {observed.size} observed value(s){where}, too "
                "few to impute from. Fix: impute with by_arm=False (the arm as a predictor), "
                "or analyse this column another way (e.g. lee_bounds).")
        y[missing[:, j], j] = rng.choice(observed, size=int(missing[:, j].sum()))
    for _ in range(iterations):
        for j in order:
            xx = np.hstack([x, np.delete(y, j, axis=1)])
            obs = ~missing[:, j]
            if method == "logreg":
                eta, u = _logreg(xx[obs], y[obs, j], xx[~obs], rng, cols[j], where)
                y[~obs, j] = (u < expit(eta)).astype(float)
                linear[~obs, j], uniform[~obs, j] = eta, u
            else:
                y[~obs, j] = _linear_draw(xx[obs], y[obs, j], xx[~obs], rng, method, donors,
                                          cols[j], where)
    return y, linear, uniform


def _independent(x1: np.ndarray, column: str, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pivoted QR of the observed rows' predictors, keeping linearly independent columns:
    ``(keep, Q, R)`` with ``x1[:, keep] = Q R``."""
    q, r, piv = scipy.linalg.qr(x1, mode="economic", pivoting=True, check_finite=False)
    d = np.abs(np.diag(r))
    rank = int(np.sum(d > 1e-10 * d[0])) if d.size and d[0] > 0 else 0
    if x1.shape[0] <= rank:
        raise DesignError(
            f"{FUNC}: column {column!r} has {x1.shape[0]} observed value(s){where} for "
            f"{rank} predictor(s) (with the intercept); the imputation model needs more. "
            "Fix: use fewer predictors in using=[...], or by_arm=False.")
    # x1[:, piv[:rank]] = Q[:, :rank] R[:rank, :rank] (the leading pivoted columns)
    return piv[:rank], q[:, :rank], r[:rank, :rank]


def _linear_draw(
    x1: np.ndarray, y1: np.ndarray, x0: np.ndarray, rng: np.random.Generator, method: str,
    donors: int, column: str, where: str,
) -> np.ndarray:
    """``norm`` and ``pmm`` draws (van Buuren 2018, Algorithms 3.1 and 3.3)."""
    keep, q, r = _independent(x1, column, where)
    x1, x0 = x1[:, keep], x0[:, keep]
    beta = scipy.linalg.solve_triangular(r, q.T @ y1)
    resid = y1 - x1 @ beta
    dof = x1.shape[0] - x1.shape[1]
    sigma = float(np.sqrt(resid @ resid / rng.chisquare(dof)))
    beta_star = beta + sigma * scipy.linalg.solve_triangular(r, rng.standard_normal(len(beta)))
    if method == "norm":
        return x0 @ beta_star + sigma * rng.standard_normal(x0.shape[0])
    return _match(x1 @ beta, y1, x0 @ beta_star, donors, rng)


def _match(fit_obs: np.ndarray, y_obs: np.ndarray, fit_mis: np.ndarray, donors: int,
           rng: np.random.Generator) -> np.ndarray:
    """Predictive mean matching: for each missing case, one of the ``donors`` observed
    cases with the closest predicted mean, at random; its observed value."""
    d = min(donors, fit_obs.size)
    order = np.argsort(fit_obs, kind="stable")
    sorted_fit, sorted_y = fit_obs[order], y_obs[order]
    pos = np.searchsorted(sorted_fit, fit_mis)
    window = np.clip(pos[:, None] + np.arange(-d, d)[None, :], 0, sorted_fit.size - 1)
    dist = np.abs(sorted_fit[window] - fit_mis[:, None])
    # a clipped window repeats an end: count each candidate once
    dup = np.zeros_like(dist, dtype=bool)
    dup[:, 1:] = window[:, 1:] == window[:, :-1]
    dist[dup] = np.inf
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :d]
    pick = nearest[np.arange(fit_mis.size), rng.integers(0, d, size=fit_mis.size)]
    return sorted_y[window[np.arange(fit_mis.size), pick]]


def _logreg(
    x1: np.ndarray, y1: np.ndarray, x0: np.ndarray, rng: np.random.Generator, column: str,
    where: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Bayesian logistic draw (van Buuren 2018, Algorithm 3.4): the linear predictor
    ``x0' beta*`` with ``beta* ~ N(beta_hat, V)``, and the uniforms ``u``."""
    if y1.min() == y1.max():
        raise DesignError(
            f"{FUNC}: column {column!r} is {int(y1[0])} for everyone observed{where}, so a "
            "logistic imputation model has no finite fit (separation). Fix: method='pmm' "
            "(imputes from observed values), or by_arm=False.")
    keep, _, _ = _independent(x1, column, where)
    x1, x0 = x1[:, keep], x0[:, keep]
    beta = np.zeros(x1.shape[1])
    for _ in range(100):
        p = expit(x1 @ beta)
        w = p * (1 - p)
        info = x1.T @ (x1 * w[:, None])
        step = np.linalg.solve(info, x1.T @ (y1 - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    eta1 = x1 @ beta
    if not np.all(np.isfinite(beta)) or np.max(np.abs(eta1)) > 30:
        raise DesignError(
            f"{FUNC}: the logistic imputation model of {column!r}{where} separates the observed "
            "0s from the 1s (no finite maximum-likelihood fit). Fix: method='pmm', fewer "
            "predictors in using=[...], or by_arm=False.")
    p = expit(eta1)
    info = x1.T @ (x1 * (p * (1 - p))[:, None])
    chol = np.linalg.cholesky(np.linalg.inv(info))
    beta_star = beta + chol @ rng.standard_normal(len(beta))
    return x0 @ beta_star, rng.random(size=(x0.shape[0],))
