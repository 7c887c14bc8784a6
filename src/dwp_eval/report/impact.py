"""Report-style impact tables: the ITT effect on several outcomes (and within subgroups),
with p-values adjusted for multiple testing and tests of subgroup heterogeneity."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from dwp_eval._core.linalg import demean, fit_ols
from dwp_eval._core.sample import joined_strata, prepare_sample
from dwp_eval._core.variance import SE_TYPES, resolve_se_type, vcov
from dwp_eval._core.wald import wald_test
from dwp_eval._validation import (
    Seed,
    _fmt_list,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_option,
    check_seed,
)
from dwp_eval.errors import (
    DesignError,
    DroppedRowsWarning,
    DwpEvalError,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.multiplicity import (
    Hypothesis,
    adjust_p_values,
    check_draws,
    check_outcome_list,
    romano_wolf_family,
)
from dwp_eval.results import Effect
from dwp_eval.results.impact import ALL, CORRECTIONS, HETEROGENEITY_COLUMNS, EffectTable

__all__ = ["impact_table"]

# --------------------------------------------------------------------------- checks


def _check_families(
    family: Mapping[str, Sequence[Hashable]] | None, outcomes: list[Hashable], func: str
) -> dict[str, list[Hashable]]:
    if family is None:
        return {"all outcomes": list(outcomes)}
    if not isinstance(family, Mapping) or not family:
        raise OptionError(
            f"The 'family' parameter of {func} must be a dict mapping a family name to a list "
            f"of outcomes, e.g. {{'primary': [...], 'secondary': [...]}}. Got {family!r} instead."
        )
    owner: dict[Hashable, str] = {}
    out: dict[str, list[Hashable]] = {}
    for name, members in family.items():
        cols = as_column_list(members)
        if not cols:
            raise OptionError(
                f"The 'family' parameter of {func}: family {name!r} lists no outcomes."
            )
        for o in cols:
            if o not in outcomes:
                raise OptionError(
                    f"The 'family' parameter of {func} names {o!r} (in family {name!r}), which "
                    f"is not in outcomes ({_fmt_list(outcomes)}). Fix: add it to outcomes= or "
                    "remove it from the family."
                )
            if o in owner:
                raise OptionError(
                    f"The 'family' parameter of {func} puts {o!r} in two families "
                    f"({owner[o]!r} and {name!r}); each outcome belongs to one family."
                )
            owner[o] = str(name)
        out[str(name)] = cols
    left = [o for o in outcomes if o not in owner]
    if left:
        raise OptionError(
            f"The 'family' parameter of {func} leaves {_fmt_list(left)} in no family. Fix: add "
            "each outcome to a family, e.g. family={'primary': [...], 'secondary': [...]}."
        )
    return out


def _sorted_levels(values: pd.Series) -> list[Any]:
    levels = list(pd.unique(values.dropna()))
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)


# --------------------------------------------------------------------------- impact_table


def impact_table(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[Hashable],
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    by: Hashable | None = None,
    correction: Literal["holm", "bonferroni", "bh", "romano_wolf", "none"] = "holm",
    family: Mapping[str, Sequence[Hashable]] | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
    draws: int = 1000,
    seed: Seed | None = None,
) -> EffectTable:
    """The ITT effect on each outcome (and within subgroups), with adjusted p-values.

    Each row is exactly what :func:`dwp_eval.itt` returns for that outcome (on
    the subgroup's rows for subgroup rows), so the table shows the control and
    treatment means, the impact, its confidence interval, the p-value, the
    p-value adjusted for multiple testing within its family, and the number
    analysed, as UK evaluation reports tabulate them.

    Parameters
    ----------
    data
        One row per person.
    outcomes
        The outcome columns, in the order of the table; each once.
    assigned, control, treatment, covariates, adjustment, strata, cluster, se_type, weights
        As for :func:`dwp_eval.itt`, used for every row.
    by
        A column of subgroups (e.g. health condition): adds one row per outcome
        and subgroup level, and a test of heterogeneity per outcome
        (:attr:`EffectTable.heterogeneity`).
    correction
        ``"holm"`` (default), ``"bonferroni"``, ``"bh"`` (Benjamini-Hochberg),
        ``"romano_wolf"`` (needs ``seed=``) or ``"none"``.
    family
        Families of outcomes within which p-values are adjusted, e.g.
        ``{"primary": ["employed_13_weeks"], "secondary": [...]}``; every
        outcome in exactly one family. Default: all outcomes form one family.
        Subgroup rows form their own family per outcome (``"<outcome> by
        <by>"``).
    alpha
        Significance level of the intervals.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome or
        covariate, outcome by outcome (a warning gives the counts; they are
        kept in :attr:`EffectTable.dropped`). With ``"drop"``, rows with a
        missing ``by`` are left out of the subgroup rows and tests only.
    draws
        Bootstrap draws for Romano-Wolf.
    seed
        An int or ``numpy.random.Generator``; required for Romano-Wolf.

    Returns
    -------
    EffectTable

    Notes
    -----
    *Corrections* are applied within each family to the rows' p-values (see
    :func:`dwp_eval.estimate.multiplicity.adjust_p_values`). Romano-Wolf
    (:func:`dwp_eval.estimate.multiplicity.romano_wolf`) resamples the trial
    as designed and recomputes every row of a family on the same draws; its
    adjusted p-value is reported as ``max(p_RW, p)`` so that an adjusted
    p-value is never below the row's own (t-test) p-value. That only makes
    the procedure more conservative, so familywise error control is kept.

    *Heterogeneity test.* For each outcome, on the rows with a subgroup, the
    regression

    ``Y_i = sum_l tau_l Z_i D_il + sum_{l>1} gamma_l D_il + beta'X_i + [strata] + e_i``

    with ``D_il`` the indicator of subgroup ``l``, baseline covariates ``X``
    entered additively (with Lin's interacted adjustment, part of a subgroup
    difference would be absorbed by the assignment x covariate terms), and
    strata as fixed effects. Subgroup main effects (or covariates) that the
    strata or the subgroups already span are left out. The Wald statistic
    for ``H0: tau_1 = ... = tau_L``, ``W = (R tau)' (R V R')^{-1} (R tau)``,
    uses the robust covariance ``V`` (``se_type``; default HC2, or CR2 when
    clustered) and is referred to an F distribution with ``q = L - 1`` and
    ``n - p`` degrees of freedom (``p`` parameters, strata included), or
    ``G - 1`` with clusters: ``F = W / q`` (as ``statsmodels``'s
    ``f_test`` does with a robust covariance; Wooldridge 2010, section 4.2.3).
    With few clusters this F test can over-reject; the Pustejovsky & Tipton
    (2018) HTZ test is the refinement.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dwp_eval.report.impact import impact_table
    >>> rng = np.random.default_rng(3)
    >>> n = 400
    >>> df = pd.DataFrame({"arm": np.tile(["control", "treatment"], n // 2),
    ...                    "female": rng.integers(0, 2, n)})
    >>> t = (df["arm"] == "treatment").to_numpy()
    >>> df["employed"] = (rng.random(n) < 0.3 + 0.1 * t).astype(int)
    >>> df["earnings"] = rng.normal(5000 + 600 * t, 2000).round(2)
    >>> tab = impact_table(df, outcomes=["employed", "earnings"], assigned="arm", by="female")
    >>> tab.to_frame()[["outcome", "subgroup", "estimate", "p_value", "p_value_adjusted"]].round(3)
        outcome  subgroup  estimate  p_value  p_value_adjusted
    0  employed       all     0.070    0.147             0.147
    1  employed  female=0     0.026    0.711             0.711
    2  employed  female=1     0.120    0.072             0.143
    3  earnings       all   795.218    0.000             0.000
    4  earnings  female=0   734.023    0.009             0.009
    5  earnings  female=1   858.169    0.003             0.006
    >>> tab.heterogeneity[["outcome", "statistic", "df_num", "df_denom", "p_value"]].round(3)
        outcome  statistic  df_num  df_denom  p_value
    0  employed      0.951     1.0     396.0    0.330
    1  earnings      0.096     1.0     396.0    0.757
    """
    func = "impact_table"
    data = check_data(data, func=func)
    outs = check_outcome_list(outcomes, func=func)
    correction = check_option(correction, tuple(CORRECTIONS), param="correction", func=func)  # type: ignore[assignment]
    alpha = check_alpha(alpha, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)  # type: ignore[assignment]
    families = _check_families(family, outs, func)
    draws = check_draws(draws, func=func)
    rng = None
    if correction == "romano_wolf":
        if seed is None:
            raise OptionError(
                f"{func}: correction='romano_wolf' resamples the data, so it needs seed=. Fix: "
                "pass a recorded integer, e.g. seed=20240601, so the adjusted p-values can be "
                "reproduced."
            )
        rng = check_seed(seed, func=func)
    check_columns(data, outs, role="outcomes", func=func)
    data, strata = joined_strata(data, strata, func=func)  # a list of columns: one stratum each
    by_missing = 0
    if by is not None:
        check_columns(data, [by], role="by", func=func)
        by_na = data[by].isna().to_numpy()
        by_missing = int(by_na.sum())
        if by_missing and missing == "raise":
            raise MissingDataError(
                f"{func}: column {by!r} (by) has {by_missing:,} missing value(s). Fix: fill them "
                "(e.g. with 'unknown', which becomes a subgroup of its own), or pass "
                "missing='drop' to leave those rows out of the subgroup rows (they stay in the "
                "rows for everyone)."
            )
        if by_missing:
            warnings.warn(
                f"{func}: {by_missing:,} row(s) with missing {by} are left out of the subgroup "
                "rows and heterogeneity tests.",
                DroppedRowsWarning,
                stacklevel=2,
            )

    common: dict[str, Any] = dict(
        assigned=assigned, control=control, treatment=treatment, covariates=covariates,
        adjustment=adjustment, strata=strata, cluster=cluster, se_type=se_type,
        weights=weights, alpha=alpha, missing=missing,
    )
    design_args: dict[str, Any] = dict(
        assigned=assigned, covariates=covariates, adjustment=adjustment, strata=strata,
        cluster=cluster, se_type=se_type, weights=weights,
    )

    # rows: (effect, subgroup label, family, subset mask or None, outcome column, itt args)
    rows: list[tuple[Effect, str, str, np.ndarray | None, Hashable, dict[str, Any]]] = []
    family_of = {o: name for name, members in families.items() for o in members}
    levels: list[Any] = []
    masks: list[np.ndarray] = []
    if by is not None:
        levels = _sorted_levels(data[by])
        if len(levels) < 2:
            raise DesignError(
                f"{func}: column {by!r} (by) takes {len(levels)} value(s) ({_fmt_list(levels)}); "
                "subgroups need at least two."
            )
        masks = [(data[by] == lev).fillna(False).to_numpy(dtype=bool) for lev in levels]
    # a covariate constant within a subgroup (e.g. ``by`` itself) cannot adjust its rows
    covs = as_column_list(covariates)
    sub_args: list[dict[str, Any]] = []
    notes: list[str] = []
    for lev, mask in zip(levels, masks, strict=True):
        const = [c for c in covs if data.loc[mask, c].nunique(dropna=True) <= 1]
        args = dict(common)
        if const:
            args["covariates"] = [c for c in covs if c not in const]
            notes.append(
                f"subgroup {by}={lev}: {_fmt_list(const)} left out of the covariates "
                "(constant within the subgroup)"
            )
        sub_args.append(args)
    for o in outs:
        rows.append((_itt(data, o, common, f"outcome {o!r}"), ALL, family_of[o], None, o, common))
        for lev, mask, args in zip(levels, masks, sub_args, strict=True):
            label = f"{by}={lev}"
            eff = _itt(data.loc[mask], o, args, f"outcome {o!r}, subgroup {label}")
            rows.append((eff, label, f"{o} by {by}", mask, o, args))

    # adjusted p-values, family by family
    padj = np.full(len(rows), np.nan)
    fam_names = list(dict.fromkeys(r[2] for r in rows))
    for fam in fam_names:
        idx = [i for i, r in enumerate(rows) if r[2] == fam]
        p = np.array([rows[i][0].p_value for i in idx])
        if correction == "romano_wolf":
            hyps = [
                Hypothesis(
                    rows[i][0].outcome if rows[i][1] == ALL else f"{rows[i][0].outcome}, {rows[i][1]}",
                    rows[i][4],
                    rows[i][3],
                    rows[i][0],
                    tuple(as_column_list(rows[i][5].get("covariates"))),
                )
                for i in idx
            ]
            rw = romano_wolf_family(
                data, hyps, **design_args, within=None if rows[idx[0]][3] is None else by,
                draws=draws, rng=cast(np.random.Generator, rng), func=func,  # set for romano_wolf
            )
            padj[idx] = np.maximum(np.asarray(rw.p_value_adjusted), p)
        else:
            if np.any(~np.isfinite(p)):
                raise DesignError(
                    f"{func}: a p-value in family {fam!r} is undefined (zero standard error), so "
                    "the family cannot be adjusted."
                )
            padj[idx] = adjust_p_values(p, method=correction)

    het = None
    if by is not None:
        het_rows = [
            _interaction_test(
                data.loc[~data[by].isna().to_numpy()], o, by, control=control,
                treatment=treatment, missing=missing, func=func, **design_args,
            )
            for o in outs
        ]
        het = pd.DataFrame(het_rows, columns=HETEROGENEITY_COLUMNS)

    return EffectTable(
        effects=tuple(r[0] for r in rows),
        subgroups=tuple(r[1] for r in rows),
        families=tuple(r[2] for r in rows),
        p_value_adjusted=tuple(float(v) for v in padj),
        correction=correction,
        alpha=alpha,
        by=None if by is None else str(by),
        draws=draws if correction == "romano_wolf" else None,
        by_missing=by_missing,
        notes=tuple(notes),
        _heterogeneity=het,
    )


def _itt(data: pd.DataFrame, outcome: Hashable, common: dict[str, Any], where: str) -> Effect:
    """``itt`` for one row; its errors propagate unchanged, with a note saying which row."""
    try:
        return itt(data, outcome=outcome, **common)
    except DwpEvalError as err:
        err.add_note(f"(raised by impact_table for {where})")
        raise


# --------------------------------------------------------------------------- heterogeneity


def _independent(X: np.ndarray, first: int) -> np.ndarray:
    """Columns of ``X`` kept by a greedy pass: the first ``first`` always, then each column
    whose part not explained by the kept ones is more than 1e-8 of its length."""
    G = X.T @ X
    keep = list(range(first))
    for j in range(first, X.shape[1]):
        gjj = G[j, j]
        if gjj <= 1e-12 * max(1.0, float(np.max(np.diag(G)))):
            continue
        if keep:
            Gk = G[np.ix_(keep, keep)]
            gk = G[keep, j]
            resid = gjj - gk @ np.linalg.solve(Gk, gk)
        else:
            resid = gjj
        if resid > 1e-8 * gjj:
            keep.append(j)
    return np.asarray(keep, dtype=np.int64)


def _interaction_test(
    data: pd.DataFrame,
    outcome: Hashable,
    by: Hashable,
    *,
    assigned: Hashable,
    control: str,
    treatment: str | None,
    covariates: Sequence[Hashable] | None,
    adjustment: str,
    strata: Hashable | None,
    cluster: Hashable | None,
    se_type: str | None,
    weights: Hashable | None,
    missing: str,
    func: str,
) -> dict[str, Any]:
    """Wald test that the assignment effect is the same in every subgroup (see impact_table)."""
    covs = as_column_list(covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)  # itt has already warned
        prep, frame = prepare_sample(
            data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
            covariates=covs, strata=strata, cluster=cluster, weights=weights, missing=missing,
            func=func, variance_cluster=True,  # as itt: clusters holding both arms group errors
        )
    codes, levels = pd.factorize(frame[by], sort=True)
    L = len(levels)
    n = len(prep.y)
    z = prep.z
    D = np.zeros((n, L))
    D[np.arange(n), codes] = 1.0
    se_used = resolve_se_type(se_type, clustered=prep.cluster is not None, func=func)
    # weighted CR2 cannot absorb strata: enter them as dummies then
    absorb = prep.strata is not None and not (prep.weights is not None and SE_TYPES[se_used].clustered)

    blocks = [z[:, None] * D]
    names = [f"assigned:{by}={lev}" for lev in levels]
    if not absorb:
        blocks.insert(0, np.ones((n, 1)))
        names.insert(0, "(Intercept)")
    n_fixed = sum(b.shape[1] for b in blocks)
    blocks.append(D[:, 1:])
    names += [f"{by}={lev}" for lev in levels[1:]]
    if prep.strata is not None and not absorb:
        sd = np.zeros((n, int(prep.strata.max()) + 1))
        sd[np.arange(n), prep.strata] = 1.0
        blocks.append(sd[:, 1:])
        names += [f"stratum[{k}]" for k in range(1, sd.shape[1])]
    if prep.covariates.shape[1]:
        blocks.append(prep.covariates.to_numpy(dtype=float))
        names += [str(c) for c in prep.covariates.columns]
    X = np.hstack(blocks)

    # leave out columns the strata (or earlier columns) already span
    check = X
    if absorb and prep.strata is not None:
        check = demean(X, prep.strata, int(prep.strata.max()) + 1, prep.weights)
    if prep.weights is not None:
        check = check * np.sqrt(prep.weights)[:, None]
    keep = _independent(check, n_fixed)
    left_out = [names[j] for j in range(X.shape[1]) if j not in set(keep.tolist())]
    X = X[:, keep]
    names = [names[j] for j in keep]

    fit = fit_ols(
        X, prep.y, names, weights=prep.weights, fe_codes=prep.strata if absorb else None, func=func
    )
    V = vcov(fit, se_used, prep.cluster)
    tau = [names.index(f"assigned:{by}={lev}") for lev in levels]
    q = L - 1
    R = np.zeros((q, len(names)))
    R[:, tau[0]] = -1.0
    for i in range(q):
        R[i, tau[i + 1]] = 1.0
    if prep.cluster is not None:
        df2 = float(len(np.unique(prep.cluster)) - 1)
        df_label = "G - 1"
    else:
        df2 = float(fit.n - fit.rank)
        df_label = "n - p"
    test = wald_test(
        fit.beta, V.vcov, R, names=names, name=f"equal effects across {by}", se_type=se_used,
        df_denom=df2, null="the assignment effect is the same in every subgroup",
    )
    if not test.valid:
        raise DesignError(
            f"{func}: the covariance of the subgroup effects on {outcome!r} is singular, so "
            f"the heterogeneity test by {by!r} is undefined."
        )
    method = (
        f"Wald test of equal assignment effects across {L} subgroups, {se_used} covariance, "
        f"F({q}, {df_label})"
    )
    if absorb:
        method += ", strata fixed effects"
    elif prep.strata is not None:
        method += ", strata dummies"
    if covs:
        method += ", additive covariates"
    if left_out:
        method += f"; left out (already spanned): {', '.join(left_out)}"
    return {
        "outcome": str(outcome),
        "by": str(by),
        "n_subgroups": L,
        "statistic": test.statistic,
        "df_num": float(q),
        "df_denom": df2,
        "p_value": test.p_value,
        "wald_statistic": test.wald,
        "se_type": se_used,
        "n_obs": n,
        "method": method,
    }
