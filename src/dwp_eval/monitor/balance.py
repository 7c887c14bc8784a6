"""Baseline balance tables and the omnibus test of balance.

:func:`balance` gives means and standard deviations by arm, standardised
differences and variance ratios, and, for every arm compared with control, an
omnibus test: the regression of the arm's 0/1 indicator on all the covariates
(strata as fixed effects), with a robust F test and a randomisation test that
re-draws the assignment the way the design drew it.

The omnibus test and its randomisation version are in
:mod:`dwp_eval.monitor.omnibus`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.engines import DASK, SPARK, engine_of
from dwp_eval._core.sample import joined_strata
from dwp_eval._core.variance import resolve_se_type
from dwp_eval._validation import (
    _fmt_list,
    arm_keys,
    as_column_list,
    check_columns,
    check_data,
    check_draws,
    check_label,
    check_no_missing,
    check_option,
    check_seed,
    check_unique_columns,
    label_key,
    label_order,
)
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    DroppedRowsWarning,
    MissingDataError,
    OptionError,
)
from dwp_eval.monitor.balance_engine import balance_on_engine
from dwp_eval.monitor.omnibus import comparison, expand, omnibus_test
from dwp_eval.results import BALANCE_COLUMNS, BalanceTable

__all__ = ["balance"]

#: Re-drawn assignments used when a seed is given and ``draws`` is not.
DEFAULT_DRAWS = 2_000


def _check_draws(draws: Any, seed: Any, omnibus: bool, func: str) -> int:
    if draws is None:
        return DEFAULT_DRAWS if (seed is not None and omnibus) else 0
    draws = check_draws(
        draws, name="draws", func=func, minimum=0, hint=" (0: no randomisation test)"
    )
    if draws > 0 and not omnibus:
        raise OptionError(
            f"{func}: draws={int(draws)} asks for the randomisation version of the omnibus test, "
            "but omnibus=False. Fix: pass omnibus=True, or drop draws=."
        )
    if draws > 0 and seed is None:
        raise OptionError(
            f"The 'seed' parameter of {func} must be an int or a numpy.random.Generator when "
            f"draws={int(draws)} asks for a randomisation test. Got None instead. Fix: pass a "
            "recorded integer, e.g. seed=20180501, so the test can be reproduced."
        )
    return int(draws)


def _check_design_columns(
    data: pd.DataFrame,
    arm_values: pd.Series,
    strata: Hashable | None,
    cluster: Hashable | None,
    func: str,
) -> None:
    """Clusters must be wholly in one arm and one stratum (whole clusters randomised)."""
    if cluster is None:
        return
    frame = pd.DataFrame(
        {"cluster": data[cluster].astype(str).to_numpy(), "arm": arm_values.to_numpy()}
    )
    arms_per = frame.groupby("cluster", sort=True)["arm"].nunique()
    mixed = arms_per.index[arms_per.to_numpy() > 1]
    if len(mixed):
        raise DesignError(
            f"{func}: {len(mixed):,} cluster(s) of column {cluster!r} hold people of more than one "
            f"arm (e.g. {_fmt_list(mixed[:5].tolist(), 5)}), so whole clusters were not "
            "randomised. "
            "Fix: pass the column of the unit of assignment as cluster=, or cluster=None for "
            "individual randomisation."
        )
    if strata is not None:
        frame["stratum"] = data[strata].astype(str).to_numpy()
        per = frame.groupby("cluster", sort=True)["stratum"].nunique()
        split = per.index[per.to_numpy() > 1]
        if len(split):
            raise DesignError(
                f"{func}: {len(split):,} cluster(s) of column {cluster!r} span more than one "
                f"stratum of {strata!r} (e.g. {_fmt_list(split[:5].tolist(), 5)}), so whole "
                "clusters cannot have been randomised within strata. Fix: check the strata and "
                "cluster columns are the ones used at randomisation."
            )


def _drop_missing(
    data: pd.DataFrame, checked: Sequence[tuple[Hashable, str]], *, missing: str, func: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``data`` without rows missing one of the ``checked`` columns (``missing="drop"``,
    counted by column and warned) or unchanged (``missing="raise"``: raises naming the
    column, the count and the fix)."""
    dropped: dict[str, int] = {}
    bad = np.zeros(len(data), dtype=bool)
    for col, role in checked:
        isna = data[col].isna().to_numpy()
        if not isna.any():
            continue
        if missing == "raise":
            raise MissingDataError(
                f"{func}: column {col!r} ({role}) has {int(isna.sum()):,} missing value(s) "
                f"among the {len(data):,} rows. Fix: fill or remove them, or pass "
                "missing='drop' to describe the complete cases (the count dropped is recorded)."
            )
        dropped[str(col)] = int((isna & ~bad).sum())
        bad |= isna
    if not bad.any():
        return data, dropped
    warnings.warn(
        f"{func}: {int(bad.sum()):,} row(s) with missing values dropped ("
        + ", ".join(f"{n:,} with missing {c}" for c, n in dropped.items() if n)
        + ").",
        DroppedRowsWarning,
        stacklevel=3,
    )
    return data.loc[~bad], {c: n for c, n in dropped.items() if n}


def balance(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    covariates: Sequence[Hashable],
    control: Any = "control",
    threshold: float = 0.1,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    omnibus: bool = True,
    draws: int | None = None,
    seed: int | np.random.Generator | None = None,
    missing: Literal["raise", "drop"] = "raise",
) -> BalanceTable:
    """Baseline balance: means and SDs by arm, standardised differences, variance
    ratios, and an omnibus test of balance of each arm against control.

    Parameters
    ----------
    data
        One row per person: a pandas DataFrame, or a Dask or Spark DataFrame (the table
        and the omnibus F test from sums the engine adds up, equal to the in-memory
        results; numeric covariates only, and strata and the randomisation test need the
        rows in memory).
    assigned
        Column with each person's arm.
    covariates
        Baseline columns; numeric and 0/1 columns are summarised as they are,
        text or categorical columns as the share in each category.
    control
        The control arm's label; every other arm is compared with it. Labels
        are compared by value (``0``, ``0.0``, ``"0"`` and ``False`` are one
        label), as in every function of the library.
    threshold
        |standardised difference| flagged in the summary (0.1 is the usual rule of thumb).
    strata
        Column of the randomisation strata (or a list of columns: one stratum
        per combination of their values): fixed effects in the omnibus
        regression, and the randomisation test re-draws within each stratum.
    cluster
        Column of the unit of assignment when whole clusters were randomised:
        the covariance is cluster-robust (CR2) and the randomisation test
        re-draws whole clusters.
    se_type
        Covariance of the omnibus regression, from the library's table
        (:mod:`dwp_eval._core.variance`): ``None`` gives HC2, or CR2 with
        ``cluster``.
    omnibus
        Whether to run the omnibus test (``False``: the descriptive table only,
        which also accepts covariates that are constant or collinear).
    draws
        Re-drawn assignments for the randomisation version of the omnibus test.
        ``None`` (default): 2,000 when ``seed`` is given, none otherwise; ``0``
        turns the randomisation test off. When the design has no more
        assignments than ``draws``, all of them are enumerated.
    seed
        An int or a ``numpy.random.Generator``: the only source of randomness,
        needed for the randomisation test.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing covariate or
        arm (as in :func:`~dwp_eval.itt`: a ``DroppedRowsWarning`` gives the
        counts, kept on the table's ``dropped``). Missing strata or clusters
        always raise.

    Returns
    -------
    BalanceTable
        The table, with ``omnibus`` holding one
        :class:`~dwp_eval.results.BalanceTest` per arm compared with control
        (``omnibus_frame()`` for a data frame).

    Raises
    ------
    DesignError
        For the omnibus test: a covariate constant among the compared people (or
        within every stratum), collinear covariates (named), a stratum with one
        person, too few clusters, or covariates that predict the arm exactly.
        Pass ``omnibus=False`` for the descriptive table of such covariates.

    Notes
    -----
    *Descriptive table.* The standardised difference is ``(mean_arm -
    mean_control) / sqrt((s_arm^2 + s_control^2) / 2)`` with sample variances
    (Austin 2009, *Statistics in Medicine* 28:3083, eq. 1 and 2); the variance
    ratio is ``s_arm^2 / s_control^2`` (Imbens & Rubin 2015, ch. 14).

    *Omnibus regression.* For arm ``a``, among the ``n`` people in ``a`` or
    control, ``1{arm_i = a} = alpha_s(i) + x_i'b + e_i`` by least squares, with
    ``alpha_s`` a fixed effect of each stratum (one intercept without strata)
    and ``x_i`` the ``q`` covariate columns: numeric covariates as they are and,
    for a categorical covariate, a dummy for each level present in the compared
    sample except the first (the reference level; levels absent from the sample
    have no column). Randomisation makes the arm independent of the baseline
    covariates, so ``b = 0`` (Hansen & Bowers 2008, *Statistical Science*
    23(2):219; Kerwin, Rostom & Sterck 2024, IZA DP 17217).

    *F test.* ``W = b' V^{-1} b`` with ``V`` the HC2 covariance (MacKinnon &
    White 1985; CR2 with clusters, Bell & McCaffrey 2002; leverages include the
    stratum fixed effects, as in the model with stratum dummies), and ``F = W /
    q`` on ``(q, n - p)`` degrees of freedom, ``p = q + S`` the number of
    parameters (``S`` strata, or 1 for the intercept): the residual degrees of
    freedom of the regression, as Stata's ``test`` and statsmodels'
    ``wald_test(..., use_f=True)`` use after a robust fit (the HC2 F matches
    statsmodels to 1e-8; see ``tests/reference/balance/``). With clusters the
    denominator is ``G - 1`` (``G`` clusters), the usual cluster-robust
    choice (Stata's ``vce(cluster)``, statsmodels' cluster covariance): the
    scores are ``G`` cluster sums, so the covariance has at most ``G - 1``
    independent pieces of information. The F reference distribution is an
    approximation that over-rejects when ``q`` is large relative to ``n`` (or to
    ``G``) (Kerwin, Rostom & Sterck 2024); the randomisation test does not.

    *Randomisation test.* The assignment is re-drawn as the design drew it,
    by the machinery of :func:`dwp_eval.estimate.ri.randomisation_test`: the
    observed number of people (or clusters) in ``a`` within each stratum (all
    compared people when there are no strata), every such choice equally
    likely, whole clusters together; people in other arms stay out. For each
    re-drawn assignment ``W_b`` is recomputed with the same covariates, and
    ``p = (1 + #{W_b >= W}) / (1 + B)`` (Phipson & Smyth 2010) with Monte
    Carlo standard error ``sqrt(p (1 - p) / B)``; enumerating all ``K``
    assignments gives the exact ``#{W_b >= W} / K``. Ties are judged with a
    relative tolerance of 1e-9. The p-value is exact whatever ``q / n``.
    Re-drawn assignments are processed in batches: the hat matrix is the same
    for all of them, so coefficients, residuals and the robust meat of a batch
    are a few matrix products.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 3, "age": [30, 32, 40, 40, 50, 48]})
    >>> bt = balance(df, assigned="arm", covariates=["age"])
    >>> round(float(bt.to_frame()["std_diff"].iloc[0]), 4)
    0.0
    >>> test = bt.omnibus[0]
    >>> test.df_num, test.df_denom, round(test.statistic, 4)
    (1, 4.0, 0.0)
    >>> with_ri = balance(df, assigned="arm", covariates=["age"], seed=1)
    >>> with_ri.omnibus[0].ri_draws, with_ri.omnibus[0].ri_enumerated   # C(6, 3) assignments
    (20, True)
    """
    func = "balance"
    engine = engine_of(data)
    if engine not in (DASK, SPARK):
        data = check_data(data, func=func)
    covs = as_column_list(covariates)
    if not covs:
        raise ColumnError(f"{func}: name at least one covariate in covariates=.")
    if not isinstance(omnibus, (bool, np.bool_)):
        raise OptionError(
            f"The 'omnibus' parameter of {func} must be True or False. Got {omnibus!r} instead."
        )
    n_draws = _check_draws(draws, seed, bool(omnibus), func)
    rng = check_seed(seed, func=func) if seed is not None else None
    if engine in (DASK, SPARK):
        check_label(control, param="control", func=func)
        return balance_on_engine(
            data, engine, assigned=assigned, covariates=covs, control=control,
            threshold=threshold, strata=strata, cluster=cluster,
            used_se=resolve_se_type(se_type, clustered=cluster is not None, func=func),
            omnibus=bool(omnibus), draws=n_draws,
            missing=check_option(missing, ("raise", "drop"), param="missing", func=func),
        )
    check_unique_columns(data, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)  # type: ignore[assignment]
    check_label(control, param="control", func=func)
    check_columns(data, [assigned], role="assigned", func=func)
    check_columns(data, covs, role="covariates", func=func)
    data, strata = joined_strata(data, strata, func=func)
    if strata is not None:
        check_columns(data, [strata], role="strata", func=func)
    if cluster is not None:
        check_columns(data, [cluster], role="cluster", func=func)
    used_se = resolve_se_type(se_type, clustered=cluster is not None, func=func)
    if strata is not None:
        check_no_missing(data, strata, role="strata", func=func)
    if cluster is not None:
        check_no_missing(data, cluster, role="cluster", func=func)
    data, dropped = _drop_missing(data, [(assigned, "assigned"), *((c, "covariates") for c in covs)],
                                  missing=missing, func=func)
    arm_values = arm_keys(data[assigned])
    if isinstance(data[assigned].dtype, pd.CategoricalDtype):
        arms = list(dict.fromkeys(str(label_key(a)) for a in data[assigned].cat.categories))
    else:
        arms = sorted(arm_values.unique().tolist(), key=label_order)
    ctrl = str(label_key(control))
    if ctrl not in arms:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms)}. Fix: pass control= with the control arm's label."
        )
    control = ctrl
    _check_design_columns(data, arm_values, strata, cluster, func)
    expanded = expand(data, covs, func)
    x = expanded.frame
    rows = []
    in_arm = {a: (arm_values == a).to_numpy(dtype=bool, na_value=False) for a in arms}
    groups = {a: x[in_arm[a]] for a in arms}
    n_by_arm = {a: len(g) for a, g in groups.items()}
    c = groups[control]
    mc, sc = c.mean(), c.std(ddof=1)
    tests = []
    for a in arms:
        if a == control:
            continue
        g = groups[a]
        if len(g) == 0:
            continue
        ma, sa = g.mean(), g.std(ddof=1)
        pooled = np.sqrt((sa**2 + sc**2) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.where(pooled > 0, (ma - mc) / pooled, 0.0)
            vr = np.where(sc > 0, sa**2 / sc**2, np.nan)
        for j, col in enumerate(x.columns):
            rows.append(
                {
                    "covariate": col,
                    "arm": a,
                    "n_control": len(c),
                    "n_arm": len(g),
                    "mean_control": float(mc.iloc[j]),
                    "mean_arm": float(ma.iloc[j]),
                    "sd_control": float(sc.iloc[j]),
                    "sd_arm": float(sa.iloc[j]),
                    "std_diff": float(sd[j]),
                    "variance_ratio": float(vr[j]),
                }
            )
        if omnibus:
            keep = in_arm[a] | in_arm[control]
            comp = comparison(
                x[keep],
                expanded,
                arm=a,
                control=control,
                d=in_arm[a][keep].astype(float),
                strata=None if strata is None else data.loc[keep, strata],
                strata_name=strata,
                cluster=None if cluster is None else data.loc[keep, cluster],
                func=func,
            )
            tests.append(
                omnibus_test(
                    comp,
                    arm=a,
                    control=control,
                    se_type=used_se,
                    draws=n_draws,
                    rng=rng,
                    func=func,
                )
            )
    frame = pd.DataFrame(rows, columns=BALANCE_COLUMNS)
    return BalanceTable(
        frame,
        control,
        tuple(arms),
        tuple(str(c) for c in covs),
        n_by_arm,
        threshold,
        omnibus=tuple(tests),
        strata=None if strata is None else str(strata),
        cluster=None if cluster is None else str(cluster),
        dropped=dropped,
    )
