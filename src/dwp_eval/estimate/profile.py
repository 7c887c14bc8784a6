"""The month-by-month impact profile: the ITT on the employment rate and on earnings in
each month after randomisation, with pointwise intervals and a simultaneous (sup-t)
band, from monthly employment records."""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.linalg import demean, fit_ols
from dwp_eval._core.records import date_text
from dwp_eval._core.sample import expand_covariates
from dwp_eval._core.variance import hc_weights
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_draws,
    check_no_missing,
    check_option,
    compared_arms,
    label_key,
)
from dwp_eval.errors import DesignError, DroppedRowsWarning, OptionError
from dwp_eval.outcomes.monthly import monthly_records
from dwp_eval.results.profile import ImpactProfile, build_profile

__all__ = ["MEASURES", "impact_profile"]

_FUNC = "impact_profile"
#: The measures :func:`impact_profile` offers.
MEASURES = ("employed", "earnings")


def impact_profile(
    people: pd.DataFrame,
    *,
    employment: pd.DataFrame,
    assigned: Hashable,
    control: Any = "control",
    treatment: Any | None = None,
    id: Hashable = "id",
    randomised: Hashable = "randomised_on",
    months: int = 12,
    data_end: str | _dt.date | np.datetime64 | None = None,
    measures: str | Sequence[str] = MEASURES,
    strata: Hashable | Sequence[Hashable] | None = None,
    covariates: Sequence[Hashable] | None = None,
    employment_columns: Mapping[str, Hashable | None] | None = None,
    alpha: float = 0.05,
    draws: int = 100_000,
    seed: int = 20191,
    missing: Literal["raise", "drop"] = "raise",
) -> ImpactProfile:
    r"""ITT on the employment rate and on earnings in each month after randomisation.

    Parameters
    ----------
    people
        One row per person randomised: ``id``, the arm (``assigned``), the date
        of randomisation and the ``strata`` column(s), if any.
    employment
        Monthly employment records (HMRC RTI-like), as for
        :func:`~dwp_eval.outcomes.derive_outcomes`: ``id``, ``month``,
        ``earnings`` and optionally ``weeks_employed``; one row per person and
        month paid. Every id must be in ``people``.
    assigned, control, treatment
        The arm column and the compared arms, as for :func:`~dwp_eval.itt`.
    id, randomised
        The id column (in both frames) and the date of randomisation.
    months
        The profile covers months ``1`` to ``months`` after the month of
        randomisation (see :func:`~dwp_eval.outcomes.monthly_outcomes`).
    data_end
        The last day the records are complete for (default: the end of the
        latest month in the records).
    measures
        ``"employed"`` (the employment rate; effects in percentage points) and/or
        ``"earnings"`` (pounds a month).
    strata
        The randomisation strata (blocks), one column or several.
    covariates
        Baseline covariates: each month's effect is then the Lin (2013)
        regression estimate that :func:`~dwp_eval.itt` gives with
        ``covariates`` (centred covariates interacted with assignment, strata
        as absorbed fixed effects, HC2, ``n - k`` df). Text or categorical
        columns become dummies.
    employment_columns
        Other names for the columns of ``employment`` by role.
    alpha
        Significance level of the pointwise intervals and of the band.
    draws, seed
        Normal draws for the sup-t critical value and their seed (fixed by
        default, so the band is reproducible).
    missing
        ``"raise"`` (default) when someone's records do not reach month
        ``months`` (randomised too late for that much follow-up); ``"drop"``
        leaves those people out of every month (a warning counts them), so
        every month compares the same people.

    Returns
    -------
    ImpactProfile

    Raises
    ------
    ColumnError, MissingDataError
        A named column is missing; missing ids, arms or dates; records naming
        ids not in ``people``; two records for one person and month; negative
        or non-numeric earnings.
    DesignError
        Months beyond the records for someone (with ``missing="raise"``) or for
        everyone; an arm (within a stratum) with fewer than two people.
    OptionError
        A bad option (an unknown measure lists the valid ones).

    Notes
    -----
    Write :math:`Y_{ik}` for person :math:`i`'s outcome in month :math:`k`
    and :math:`Z_i` for assignment. Each month's estimate is the ITT that
    :func:`~dwp_eval.itt` gives for that month's outcome without covariates:
    the difference in means :math:`\hat\tau_k = \bar Y_{Tk} - \bar Y_{Ck}`
    with the Neyman variance :math:`s^2_{Tk}/n_T + s^2_{Ck}/n_C` (numerically
    HC2) and Welch df (Gerber & Green 2012, eq. 3.6); with strata, the blocked
    :math:`\sum_b (n_b/n)\hat\tau_{bk}` with :math:`\sum_b (n_b/n)^2 v_{bk}` and
    :math:`n - 2B` df (eq. 3.10-3.11). The *joint* covariance of the monthly
    estimates is the same sandwich stacked over months (the HC2 covariance of
    the seemingly-unrelated regressions of every month on assignment, one
    design matrix):

    .. math::

        \widehat{\mathrm{Cov}}(\hat\tau_j, \hat\tau_k) = \sum_b (n_b/n)^2
        \sum_{a \in \{T, C\}} \frac{\sum_{i \in (b, a)} (Y_{ij} - \bar Y_{baj})
        (Y_{ik} - \bar Y_{bak})}{n_{ba}(n_{ba} - 1)}.

    Pointwise intervals are :math:`\hat\tau_k \pm t_{1-\alpha/2, df_k}
    \widehat{se}_k`. The simultaneous band is :math:`\hat\tau_k \pm c\,
    \widehat{se}_k` with :math:`c` the :math:`1-\alpha` quantile of
    :math:`\max_k |Z_k|`, :math:`Z \sim N(0, \hat\Omega)` and :math:`\hat\Omega`
    the correlation matrix of the estimates (the sup-t band of Montiel Olea &
    Plagborg-Moller 2019, *J. Applied Econometrics* 34(1), eq. 7; Freyberger
    & Rai 2018, *J. Econometrics* 204(1)), found from ``draws`` normal draws
    with ``seed``; it covers the whole true profile with probability
    :math:`1-\alpha` asymptotically. :math:`c` is never below the largest
    pointwise t critical value, so the band contains every pointwise interval.

    With ``covariates``, month :math:`k`'s estimate is the assignment
    coefficient :math:`\hat\tau_k = \sum_i a_i Y_{ik}` of the Lin
    regression on the design :math:`X` (one for every month), with
    :math:`a_i = ((X'X)^{-1} x_i)_z`, and the joint HC2 covariance is
    :math:`\sum_i a_i^2 e_{ij} e_{ik} / (1 - h_{ii})` (the :math:`z` block
    of the stacked sandwich; MacKinnon & White 1985 for HC2).

    Examples
    --------
    >>> import pandas as pd, dwp_eval as de
    >>> people = pd.DataFrame({
    ...     "id": range(8), "arm": ["control", "treatment"] * 4,
    ...     "randomised_on": pd.to_datetime(["2019-01-10"] * 8)})
    >>> employment = pd.DataFrame({
    ...     "id": [1, 3, 5, 1, 3, 0, 7, 2],
    ...     "month": ["2019-02"] * 3 + ["2019-03"] * 5,
    ...     "earnings": [800.0, 900.0, 1000.0, 800.0, 950.0, 700.0, 600.0, 500.0]})
    >>> prof = de.impact_profile(people, employment=employment, assigned="arm", months=2,
    ...                          measures="employed", draws=1000)
    >>> prof.to_frame()[["month", "estimate", "n_obs"]]
       month  estimate  n_obs
    0      1      0.75      8
    1      2      0.25      8
    """
    people = check_data(people, func=_FUNC, param="people")
    chosen = _measures(measures)
    check_columns(people, [assigned], role="assigned", func=_FUNC, param="people")
    check_no_missing(people, assigned, role="assigned", func=_FUNC)
    a = check_alpha(alpha, func=_FUNC)
    n_draws = check_draws(draws, func=_FUNC, minimum=100)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise OptionError(f"The 'seed' parameter of {_FUNC} must be a non-negative int (the "
                          f"band is reproducible from it). Got {seed!r} instead.")
    check_option(missing, ["raise", "drop"], param="missing", func=_FUNC)
    arms, keep, treat = compared_arms(people, assigned, control, treatment, func=_FUNC,
                                      purpose="an impact profile")
    st_cols = as_column_list(strata)
    if st_cols:
        check_columns(people, st_cols, role="strata", func=_FUNC, param="people")
        for c in st_cols:
            check_no_missing(people, c, role="strata", func=_FUNC)
    rec = monthly_records(people, employment=employment, id=id, randomised=randomised,
                          months=months, data_end=data_end,
                          employment_columns=employment_columns, func=_FUNC)
    k = int(months)
    short = np.isnan(rec.employed[:, -1]) & keep
    if short.any():
        end_text = date_text(rec.data_end)
        most = int(np.min(np.sum(~np.isnan(rec.employed[keep]), axis=1)))
        if missing == "raise" or short.sum() == keep.sum():
            hint = (f"use months={most} (the longest profile everyone has)" if most >= 1
                    else "leave out the people randomised in the records' last month")
            raise DesignError(
                f"{_FUNC}: month {k} after randomisation is beyond the records (which end "
                f"{end_text}) for {int(short.sum()):,} of {int(keep.sum()):,} people (randomised "
                f"from {date_text(int(_first_day(people, randomised, short)))}). Fix: {hint}, pass "
                "data_end= if the records are complete to a later date, or missing='drop' to "
                "leave those people out of every month."
            )
        warnings.warn(
            f"{_FUNC}: {int(short.sum()):,} people randomised too late for {k} months of records "
            f"(to {end_text}) were left out of every month (missing='drop').",
            DroppedRowsWarning, stacklevel=2,
        )
        keep = keep & ~short
    cov_cols = as_column_list(covariates)
    if cov_cols:
        check_columns(people, cov_cols, role="covariates", func=_FUNC, param="people")
        for c in cov_cols:
            check_no_missing(people, c, role="covariates", func=_FUNC)
    z = (arms.to_numpy()[keep] == treat).astype(bool)
    ctrl = str(label_key(control))
    Y = np.hstack([rec.employed if m == "employed" else rec.earnings for m in chosen])[keep]
    if st_cols:
        block = people.loc[keep, st_cols].astype(str).agg("\x1f".join, axis=1).to_numpy()
        names, b = np.unique(block, return_inverse=True)
        names = np.char.replace(names.astype(str), "\x1f", "/")
    else:
        b = np.zeros(int(keep.sum()), dtype=np.int64)
        names = np.array([""])
    if cov_cols:
        cov = expand_covariates(people.loc[keep], cov_cols, _FUNC)
        est, V, df = _lin_regression(Y, z, cov, b if st_cols else None)
        means = (Y[~z].mean(axis=0), Y[z].mean(axis=0))
    else:
        est, V, df, means = _blocked_difference(Y, z, b, names if st_cols else None)
    notes = []
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    for j, m in enumerate(chosen):
        flat = [i + 1 for i in range(k) if se[j * k + i] == 0]
        if flat:
            notes.append(f"{m}: no variation within the arms in month(s) "
                         f"{_fmt_list(flat)}; no test or interval there (standard error 0).")
    sl = {m: slice(j * k, (j + 1) * k) for j, m in enumerate(chosen)}
    return build_profile(
        measures=chosen, months=k, estimates={m: est[s] for m, s in sl.items()},
        vcov={m: V[s, s] for m, s in sl.items()}, df={m: df[s] for m, s in sl.items()},
        n_obs=int(keep.sum()), means={m: (means[0][s], means[1][s]) for m, s in sl.items()},
        alpha=a, draws=n_draws, seed=int(seed), treatment=treat, control=ctrl,
        n_by_arm={ctrl: int((~z).sum()), treat: int(z.sum())}, data_end=date_text(rec.data_end),
        design="blocked" if st_cols else "standard",
        se_type="neyman (blocked)" if st_cols and not cov_cols else "HC2", notes=tuple(notes),
        adjusted=tuple(map(str, cov_cols)),
    )


def _first_day(people: pd.DataFrame, randomised: Hashable, mask: np.ndarray) -> int:
    days = pd.to_datetime(people.loc[mask, randomised]).to_numpy().astype("datetime64[D]")
    return int(days.min().astype(np.int64))


def _measures(measures: str | Sequence[str]) -> tuple[str, ...]:
    items = (measures,) if isinstance(measures, str) else tuple(measures)
    if not items:
        raise OptionError(f"The 'measures' parameter of {_FUNC} must name at least one of "
                          f"{_fmt_list(MEASURES)}. Got an empty list instead.")
    out = tuple(check_option(m, MEASURES, param="measures", func=_FUNC) for m in items)
    if len(set(out)) < len(out):
        raise OptionError(f"The 'measures' parameter of {_FUNC} names a measure twice: "
                          f"{_fmt_list(out)}.")
    return out


def _blocked_difference(
    Y: np.ndarray, z: np.ndarray, b: np.ndarray, names: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Per column of ``Y``: the (blocked) difference in means, its joint covariance
    (stacked Neyman/HC2, see :func:`impact_profile` Notes), df and the arm means."""
    n = len(z)
    strata = names is not None
    B = int(b.max()) + 1
    cell = 2 * b + z.astype(np.int64)
    count = np.bincount(cell, minlength=2 * B)
    if (count < 2).any():
        bad = int(np.flatnonzero(count < 2)[0])
        where = f" in stratum {str(names[bad // 2])!r}" if names is not None else ""
        raise DesignError(
            f"{_FUNC}: the {'treatment' if bad % 2 else 'control'} arm{where} holds "
            f"{int(count[bad])} person(s); a variance needs at least two in each arm"
            f"{' of every stratum' if strata else ''}. Fix: "
            + ("merge small strata, or leave strata out." if strata else "check the arms.")
        )
    sums = np.column_stack([np.bincount(cell, weights=Y[:, j], minlength=2 * B)
                            for j in range(Y.shape[1])])
    cm = sums / count[:, None]
    C = Y - cm[cell]
    n_b = count.reshape(B, 2).sum(axis=1)
    share = n_b / n
    d_b = cm[1::2] - cm[0::2]
    est = share @ d_b
    w = (share[b] ** 2) / (count[cell] * (count[cell] - 1.0))
    V = (C * w[:, None]).T @ C
    if strata:
        df = np.full(Y.shape[1], float(n - 2 * B))
    else:
        nc, nt = count[0], count[1]
        vc = np.sum(C[~z] ** 2, axis=0) / (nc - 1) / nc
        vt = np.sum(C[z] ** 2, axis=0) / (nt - 1) / nt
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (vc + vt) ** 2 / (vc**2 / (nc - 1) + vt**2 / (nt - 1))
        df = np.where(np.isfinite(df), df, float(n - 2))
    means = (Y[~z].mean(axis=0), Y[z].mean(axis=0))
    return est, V, df, means


def _lin_regression(
    Y: np.ndarray, z: np.ndarray, cov: pd.DataFrame, strata: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``Y``: the assignment coefficient of the Lin (2013) regression (the
    design :func:`dwp_eval._core.regression.assignment_regression` builds), the joint HC2
    covariance of the coefficients over the columns, and the ``n - k`` df."""
    n, p = len(z), cov.shape[1]
    first = 1 if strata is None else 0
    zf = z.astype(float)
    X = np.empty((n, first + 1 + 2 * p), order="F")
    if first:
        X[:, 0] = 1.0
    X[:, first] = zf
    for j, c in enumerate(cov.columns):
        col = cov[c].to_numpy(dtype=float)
        X[:, first + 1 + j] = col - col.mean()  # centred (Lin 2013)
        X[:, first + 1 + p + j] = X[:, first + 1 + j] * zf
    names = (["(Intercept)"] if first else []) + ["assigned"] + [str(c) for c in cov.columns] \
        + [f"assigned:{c}" for c in cov.columns]
    codes = None if strata is None else np.asarray(strata, dtype=np.int64)
    fit = fit_ols(X, Y[:, 0], names, fe_codes=codes, func=_FUNC)
    Yw = Y if codes is None else demean(Y, codes, int(codes.max()) + 1, None)
    coef = fit.bread @ (fit.X.T @ Yw)
    E = Yw - fit.X @ coef
    a = fit.X @ fit.bread[:, first]
    w = a**2 * hc_weights("HC2", fit.leverage())
    V = (E * w[:, None]).T @ E
    return coef[first], V, np.full(Y.shape[1], float(fit.n - fit.rank))
