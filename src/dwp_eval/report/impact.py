"""Report-style impact tables: the ITT effect on several outcomes (and within subgroups),
with p-values adjusted for multiple testing and tests of subgroup heterogeneity."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from dwp_eval._core.degeneracy import not_estimable
from dwp_eval._core.sample import joined_strata
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
    NotEstimableError,
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
from dwp_eval.report.heterogeneity import interaction_test
from dwp_eval.report.impact_rows import (
    MAX_SUBGROUP_LEVELS,
    Row,
    check_subgroup_levels,
    dunnett_table_p_values,
    not_estimable_effect,
    not_estimable_reason,
    treatment_arms,
    usable_strata,
)
from dwp_eval.results import Effect
from dwp_eval.results.impact import (
    ALL,
    ARM_CORRECTIONS,
    CORRECTIONS,
    HETEROGENEITY_COLUMNS,
    EffectTable,
)

__all__ = ["MAX_SUBGROUP_LEVELS", "impact_table"]

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
    treatment: str | Sequence[str] | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    by: Hashable | None = None,
    correction: Literal["holm", "bonferroni", "bh", "romano_wolf", "none"] = "holm",
    arm_correction: Literal["holm", "dunnett"] | None = None,
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
    assigned, control, covariates, adjustment, strata, cluster, se_type, weights
        As for :func:`dwp_eval.itt`, used for every row.
    treatment
        The arm compared with control, a list of arms, or ``None`` (default):
        every arm other than control. With several arms each outcome (and
        subgroup) has one row per arm, each ``itt(..., treatment=arm)``.
    by
        A column of subgroups (e.g. health condition): adds one row per outcome
        and subgroup level, and a test of heterogeneity per outcome
        (:attr:`EffectTable.heterogeneity`). At most
        :data:`MAX_SUBGROUP_LEVELS` (50) levels. With ``strata``, a stratum that
        holds only one compared arm within a subgroup carries no comparison
        there: it is left out of that subgroup's rows and heterogeneity test,
        with a warning (and a note) naming the strata and counting the people.
    correction
        ``"holm"`` (default), ``"bonferroni"``, ``"bh"`` (Benjamini-Hochberg),
        ``"romano_wolf"`` (needs ``seed=``, one treatment arm) or ``"none"``:
        across the outcomes of each family.
    arm_correction
        With several treatment arms: ``None`` (default) treats every outcome x
        arm row of a family as one hypothesis of that family, so ``correction``
        adjusts across outcomes and arms together. ``"holm"`` or ``"dunnett"``
        first adjusts across the arms of each outcome (and subgroup): Holm
        (1979), or Dunnett's (1955) single-step many-to-one test on the
        multivariate t of the contrasts sharing the control arm (column
        ``p_value_arms``); ``correction`` then adjusts those p-values across the
        outcomes of each family, arm by arm.
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
        Bootstrap draws for Romano-Wolf, at most
        :data:`~dwp_eval.estimate.multiplicity.MAX_DRAWS` (100,000).
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

    *Several arms.* ``arm_correction="dunnett"`` refers each arm's statistic
    ``t_k`` (its row's) to ``max_j |T_j|`` for ``T`` multivariate t with the
    smallest of the rows' df and correlation ``rho_jk = sqrt(l_j l_k)``,
    ``l_k = v_c / (v_k + v_c)``, where ``v_c`` and ``v_k`` are the variances
    of the control and arm ``k`` outcome means (people or clusters as units,
    with weights): exactly the HC2 correlation of the unadjusted contrasts,
    and an approximation for covariate-adjusted or blocked rows (Dunnett 1955;
    computed by :func:`dwp_eval.estimate.multiplicity.dunnett_p_values`).
    With ``arm_correction``, a family's FWER is controlled across arms within
    each outcome and across outcomes within each arm; for control over every
    outcome x arm hypothesis at once use ``arm_correction=None``.

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
    if arm_correction is not None:
        arm_correction = check_option(  # type: ignore[assignment]
            arm_correction, tuple(ARM_CORRECTIONS), param="arm_correction", func=func
        )
    alpha = check_alpha(alpha, func=func)
    missing = check_option(missing, ("raise", "drop"), param="missing", func=func)  # type: ignore[assignment]
    families = _check_families(family, outs, func)
    draws = check_draws(draws, func=func)
    arms = treatment_arms(data, assigned, control, treatment, func=func)
    if correction == "romano_wolf" and len(arms) > 1:
        raise OptionError(
            f"{func}: correction='romano_wolf' compares one treatment arm with control, but "
            f"{len(arms)} arms ({_fmt_list(arms)}) are compared. Fix: use correction='holm' "
            "(with arm_correction='dunnett' or 'holm'), or pass treatment= one arm per table."
        )
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
        check_subgroup_levels(data[by], by, func=func)
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
        assigned=assigned, control=control, covariates=covariates,
        adjustment=adjustment, strata=strata, cluster=cluster, se_type=se_type,
        weights=weights, alpha=alpha, missing=missing,
    )
    design_args: dict[str, Any] = dict(
        assigned=assigned, covariates=covariates, adjustment=adjustment, strata=strata,
        cluster=cluster, se_type=se_type, weights=weights,
    )

    rows: list[Row] = []
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
        codes = pd.Categorical(data[by], categories=levels).codes
        masks = [codes == k for k in range(len(levels))]
    # a covariate constant within a subgroup (e.g. ``by`` itself) cannot adjust its rows
    covs = as_column_list(covariates)
    check_columns(data, covs, role="covariates", func=func)  # before the subgroups read them
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
    one_arm: dict[tuple[str, str, tuple[str, ...], int], list[str]] = {}
    het_masks: dict[tuple[Hashable, str], np.ndarray] = {}
    for o in outs:
        for arm in arms:
            args = dict(common, treatment=arm)
            vs = f" ({arm} vs {control})" if len(arms) > 1 else ""
            eff, why = _itt(data, o, args, f"outcome {o!r}{vs}", NotEstimableError)
            rows.append(Row(eff, ALL, family_of[o], None, o, args, arm, why))
            union = np.zeros(len(data), dtype=bool)
            for lev, mask, sargs in zip(levels, masks, sub_args, strict=True):
                label = f"{by}={lev}"
                args = dict(sargs, treatment=arm)
                kept, bad, n_bad = usable_strata(data, mask, o, args)
                if bad:
                    one_arm.setdefault((label, vs, bad, n_bad), []).append(str(o))
                eff, why = _itt(data.loc[kept], o, args, f"outcome {o!r}{vs}, subgroup {label}",
                                DesignError)
                rows.append(Row(eff, label, f"{o} by {by}", kept, o, args, arm, why))
                if not why:  # a subgroup that is not estimable is left out of the test too
                    union |= kept
            het_masks[(o, arm)] = union
    for (label, vs, bad, n_bad), which in one_arm.items():
        only = "" if len(which) == len(outs) else f" (outcome(s) {', '.join(which)})"
        msg = (
            f"subgroup {label}{vs}{only}: {len(bad):,} stratum/strata of {strata!r} hold only one "
            f"arm within the subgroup ({_fmt_list(list(bad), 10)}), so they carry no "
            f"within-stratum comparison; their {n_bad:,} people are left out of the subgroup's "
            "rows and its heterogeneity test (as estimatr and fixest drop them)"
        )
        notes.append(msg)
        warnings.warn(f"{func}: {msg}.", DroppedRowsWarning, stacklevel=2)

    p_arms, padj = _adjust(
        data, rows, arms, correction=correction, arm_correction=arm_correction,
        rng=rng, draws=draws, by=by, design_args=design_args, func=func,
    )

    het = None
    if by is not None:
        het_rows = [
            _heterogeneity(data.loc[het_masks[(o, arm)]], o, by, control=control,
                           treatment=arm, missing=missing, func=func, **design_args)
            for o in outs
            for arm in arms
        ]
        het = pd.DataFrame(het_rows, columns=HETEROGENEITY_COLUMNS)

    return EffectTable(
        effects=tuple(r.effect for r in rows),
        subgroups=tuple(r.subgroup for r in rows),
        families=tuple(r.family for r in rows),
        p_value_adjusted=tuple(float(v) for v in padj),
        correction=correction,
        alpha=alpha,
        by=None if by is None else str(by),
        draws=draws if correction == "romano_wolf" else None,
        by_missing=by_missing,
        notes=tuple(notes),
        _heterogeneity=het,
        p_value_arms=tuple(float(v) for v in p_arms),
        arm_correction=arm_correction,
        not_estimable=tuple(r.not_estimable for r in rows) if any(
            r.not_estimable for r in rows) else (),
    )


def _itt(
    data: pd.DataFrame, outcome: Hashable, common: dict[str, Any], where: str,
    cell_error: type[DesignError],
) -> tuple[Effect, str]:
    """``itt`` for one row and ``""``, or, when the row's own estimation fails with
    ``cell_error``, a stand-in effect and the reason the row is not estimable.

    ``cell_error`` is :class:`NotEstimableError` for the rows of everyone (the degeneracy
    rule: a constant outcome, one among its covariates, fewer than two per arm) and
    :class:`DesignError` for subgroup rows (also a one-person stratum or covariates that
    a small subgroup cannot support): the same call on everyone has succeeded, so the
    error is the cell's own. Any other error (bad columns, options or design of the
    whole table) propagates unchanged, with a note saying which row."""
    try:
        if cell_error is DesignError:  # a subgroup may hold (almost) nobody in an arm
            counts = not_estimable_effect(data, outcome, common, DesignError("")).n_by_arm
            if min(counts.values()) < 2:
                raise not_estimable(
                    str(outcome), "fewer than two per arm",
                    f"in {where} the arms hold {counts[str(common['treatment'])]:,} treated and "
                    f"{counts[str(common['control'])]:,} control people with the outcome, and a "
                    "variance needs at least two in each", func="impact_table",
                )
        eff = itt(data, outcome=outcome, **common)
        if cell_error is DesignError and not (np.isfinite(eff.p_value) and eff.std_error > 0):
            raise DesignError(  # the covariates use up a small subgroup: an exact fit
                "impact_table: no residual degrees of freedom (the covariates fit the "
                "subgroup exactly). Fix: use fewer covariates, or merge the subgroup "
                "with another."
            )
        return eff, ""
    except cell_error as err:
        return not_estimable_effect(data, outcome, common, err), not_estimable_reason(err)
    except DwpEvalError as err:
        err.add_note(f"(raised by impact_table for {where})")
        raise


def _heterogeneity(data: pd.DataFrame, outcome: Hashable, by: Hashable, **kwargs: Any) -> dict[str, Any]:
    """The heterogeneity test of one outcome (and arm), or, when the outcome's data do
    not allow it (:class:`NotEstimableError`: a constant outcome, or fewer than two
    estimable subgroups), a row with no statistic whose ``method`` says why. Other
    errors (a work limit, say) are the whole table's and propagate."""
    try:
        levels = int(data.loc[data[outcome].notna().to_numpy(), by].nunique())
        if levels < 2:
            raise NotEstimableError(
                f"{kwargs['func']}: only {levels} subgroup(s) of {by!r} have an estimable effect "
                f"on {outcome!r} (the others are marked not estimable), and a test of "
                "heterogeneity compares at least two",
                outcome=str(outcome), reason="fewer than two estimable subgroups",
            )
        return interaction_test(data, outcome, by, **kwargs)
    except NotEstimableError as err:
        return {
            "outcome": str(outcome), "by": str(by), "n_subgroups": int(data[by].nunique()),
            "statistic": np.nan, "df_num": np.nan, "df_denom": np.nan, "p_value": np.nan,
            "wald_statistic": np.nan, "se_type": str(kwargs.get("se_type") or ""),
            "n_obs": int(data[outcome].notna().sum()),
            "method": f"not computed ({not_estimable_reason(err)}): {err}",
            "treatment": str(kwargs["treatment"]),
        }


def _adjust(
    data: pd.DataFrame,
    rows: list[Row],
    arms: list[str],
    *,
    correction: str,
    arm_correction: str | None,
    rng: np.random.Generator | None,
    draws: int,
    by: Hashable | None,
    design_args: dict[str, Any],
    func: str,
) -> tuple[np.ndarray, np.ndarray]:
    """P-values adjusted across arms (within outcome and subgroup), then within families.
    Rows that are not estimable are left out of every adjustment (their adjusted
    p-values are NaN, and the table's notes say so)."""
    p = np.array([r.effect.p_value for r in rows], dtype=float)
    bad = [i for i, v in enumerate(p) if not np.isfinite(v) and not rows[i].not_estimable]
    if bad and correction != "romano_wolf":
        r = rows[bad[0]]
        raise DesignError(
            f"{func}: the p-value of {r.outcome!r} ({r.subgroup}, {r.arm} vs "
            f"{r.effect.control}) is undefined (zero standard error), so its family cannot be "
            "adjusted."
        )
    p_arms = p.copy()
    split_arms = arm_correction is not None and len(arms) > 1
    if split_arms:
        cells = dict.fromkeys((r.outcome, r.subgroup) for r in rows)
        for cell in cells:
            idx = [i for i, r in enumerate(rows)
                   if (r.outcome, r.subgroup) == cell and not r.not_estimable]
            if not idx:
                continue
            if arm_correction == "holm":
                p_arms[idx] = adjust_p_values(p[idx], method="holm")
            else:
                p_arms[idx] = dunnett_table_p_values(data, [rows[i] for i in idx])
    padj = np.full(len(rows), np.nan)
    for fam in dict.fromkeys(r.family for r in rows):
        groups = [
            [i for i, r in enumerate(rows) if r.family == fam and not r.not_estimable
             and (not split_arms or r.arm == arm)]
            for arm in (arms if split_arms else [None])
        ]
        for idx in groups:
            if not idx:
                continue
            if correction == "romano_wolf":
                first = rows[idx[0]]
                hyps = [
                    Hypothesis(
                        rows[i].effect.outcome if rows[i].subgroup == ALL
                        else f"{rows[i].effect.outcome}, {rows[i].subgroup}",
                        rows[i].outcome, rows[i].mask, rows[i].effect,
                        tuple(as_column_list(rows[i].args.get("covariates"))),
                    )
                    for i in idx
                ]
                rw = romano_wolf_family(
                    data, hyps, **design_args, within=None if first.mask is None else by,
                    draws=draws, rng=cast(np.random.Generator, rng), func=func,
                )
                padj[idx] = np.maximum(np.asarray(rw.p_value_adjusted), p[idx])
            else:
                padj[idx] = adjust_p_values(p_arms[idx], method=correction)  # type: ignore[arg-type]
    return p_arms, padj
