"""Baseline balance tables and the omnibus test of balance.

:func:`balance` gives means and standard deviations by arm, standardised
differences and variance ratios, and, for every arm compared with control, an
omnibus test: the regression of the arm's 0/1 indicator on all the covariates
(strata as fixed effects), with a robust F test and a randomisation test that
re-draws the assignment the way the design drew it.

The randomisation test re-uses the re-drawing machinery of
:mod:`dwp_eval.estimate.ri` and is vectorised over draws: the covariates, and so
the hat matrix, are the same under every re-drawn assignment; only the outcome
(the assignment) changes. So a batch of assignments is a matrix ``D`` (draws x
people), its coefficients are one product ``D (X R^{-1})``, its residuals one
more, and the robust "meat" of every draw a product of the squared residuals
with fixed row weights (HC) or of fixed per-row score operators (CR).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from dwp_eval._core.assignments import TIE_RTOL, Redraws, unit_cells
from dwp_eval._core.linalg import OLSFit, Term, fit_ols
from dwp_eval._core.variance import BatchedWald, resolve_se_type, vcov
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_columns,
    check_data,
    check_no_missing,
    check_seed,
)
from dwp_eval.errors import ColumnError, DesignError, OptionError
from dwp_eval.results import BALANCE_COLUMNS, BalanceTable, BalanceTest

__all__ = ["balance"]

#: Re-drawn assignments used when a seed is given and ``draws`` is not.
DEFAULT_DRAWS = 2_000
# Levels of a categorical covariate held by fewer people are noted under the omnibus test.
RARE_LEVEL = 5


@dataclass(frozen=True)
class _Expanded:
    """Numeric covariate columns and where each came from."""

    frame: pd.DataFrame
    # covariate -> its columns in ``frame`` (one per level for a categorical covariate)
    groups: dict[str, list[str]]
    # covariate -> level of each of its columns (categorical covariates only)
    levels: dict[str, list[str]]


def _expand(data: pd.DataFrame, covariates: Sequence[Hashable], func: str) -> _Expanded:
    """Numeric matrix of covariates: numbers and 0/1 as they are, categories as dummies."""
    cols: dict[str, np.ndarray] = {}
    groups: dict[str, list[str]] = {}
    levels_of: dict[str, list[str]] = {}
    for c in covariates:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols[str(c)] = s.to_numpy(dtype=float)
            groups[str(c)] = [str(c)]
        elif (
            isinstance(s.dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(s)
            or pd.api.types.is_string_dtype(s)
        ):
            levels = (
                s.cat.categories
                if isinstance(s.dtype, pd.CategoricalDtype)
                else sorted(s.astype(str).unique())
            )
            txt = s.astype(str)
            groups[str(c)] = []
            levels_of[str(c)] = []
            for lev in levels:
                name = f"{c}={lev}"
                cols[name] = (txt == str(lev)).to_numpy(dtype=float)
                groups[str(c)].append(name)
                levels_of[str(c)].append(str(lev))
        else:
            raise ColumnError(
                f"{func}: column {c!r} (covariates) has dtype {s.dtype}, which is neither numeric "
                "nor categorical. Fix: convert it to numbers or categories."
            )
    return _Expanded(pd.DataFrame(cols, index=data.index), groups, levels_of)


# --------------------------------------------------------------------------- omnibus


def _design_matrix(
    x: pd.DataFrame,
    expanded: _Expanded,
    *,
    arm: str,
    control: str,
    func: str,
) -> tuple[np.ndarray, list[Term], list[tuple[str, int]]]:
    """The regression's covariate columns among the compared people: numeric
    covariates as they are; for a categorical covariate the dummies of the levels
    present, less the first of them (the reference level). Also the levels (the
    reference included) held by fewer than ``RARE_LEVEL`` people, with their counts."""
    cols: list[np.ndarray] = []
    names: list[Term] = []
    rare: list[tuple[str, int]] = []
    n = len(x)
    fix = "Fix: drop it from covariates, or pass omnibus=False for the descriptive table only."
    for cov, members in expanded.groups.items():
        if cov in expanded.levels:
            present = [
                (m, lev)
                for m, lev in zip(members, expanded.levels[cov], strict=True)
                if x[m].to_numpy().any()
            ]
            if len(present) < 2:
                raise DesignError(
                    f"{func}: covariate {cov!r} takes one value ({present[0][1]!r}) among the "
                    f"{n:,} people in {arm!r} and {control!r}, so the omnibus regression cannot "
                    f"include it (it would be collinear with the intercept). {fix}"
                )
            for m, _ in present[1:]:
                cols.append(x[m].to_numpy(dtype=float))
                names.append(Term(m, cov))
            for m, _ in present:
                held = int(np.count_nonzero(x[m].to_numpy()))
                if held < RARE_LEVEL:
                    rare.append((m, held))
        else:
            v = x[members[0]].to_numpy(dtype=float)
            if np.ptp(v) == 0:
                raise DesignError(
                    f"{func}: covariate {cov!r} is constant ({v[0]:g}) among the {n:,} people in "
                    f"{arm!r} and {control!r}, so the omnibus regression cannot include it (it "
                    f"would be collinear with the intercept). {fix}"
                )
            cols.append(v)
            names.append(Term(members[0], cov))
    return np.column_stack(cols), names, rare


def _codes(values: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(values.astype(str), sort=True)
    return np.asarray(codes, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class _Comparison:
    """The omnibus regression of one arm against control."""

    fit: OLSFit
    d: np.ndarray  # 0/1 indicator of the arm
    strata: np.ndarray  # stratum code per row (all 0 without strata)
    cluster: np.ndarray | None  # cluster code per row
    n_strata: int | None
    n_clusters: int | None
    terms: tuple[str, ...]
    index: pd.Index  # the compared rows of the data
    rare_levels: tuple[tuple[str, int], ...]  # levels held by fewer than RARE_LEVEL people
    by_design: tuple[str, ...] = ()  # constant within strata: left out of the omnibus test

    @property
    def q(self) -> int:
        return self.fit.k


def _comparison(
    x: pd.DataFrame,
    expanded: _Expanded,
    *,
    arm: str,
    control: str,
    d: np.ndarray,
    strata: pd.Series | None,
    strata_name: Hashable | None,
    cluster: pd.Series | None,
    func: str,
) -> _Comparison:
    """Check the compared people's covariates, strata and clusters, and fit the regression."""
    n = len(d)
    X, names, rare = _design_matrix(x, expanded, arm=arm, control=control, func=func)
    q = X.shape[1]
    by_design: tuple[str, ...] = ()
    if strata is not None:
        st = _codes(strata)
        counts = np.bincount(st)
        single = np.flatnonzero(counts == 1)
        if single.size:
            labels = np.asarray(sorted(strata.astype(str).unique()), dtype=object)[single]
            raise DesignError(
                f"{func}: {single.size:,} stratum/strata of column {strata_name!r} hold one person "
                f"among those in {arm!r} and {control!r} ({_fmt_list(labels[:5].tolist(), 5)}), "
                "so the omnibus regression with stratum fixed effects fits them exactly "
                "(leverage one). Fix: merge each with a similar stratum, or pass strata=None."
            )
        # a covariate constant within every stratum is zero once the strata are absorbed
        S = sp.csr_matrix((np.ones(n), (np.arange(n), st)), shape=(n, len(counts)))
        centred = X - S @ (np.asarray(S.T @ X) / counts[:, None])
        scale = np.maximum(np.abs(X).max(axis=0), 1.0)
        flat = np.flatnonzero(np.abs(centred).max(axis=0) <= 1e-12 * scale)
        if flat.size:
            # such a covariate (typically a stratification variable) is balanced by design:
            # it stays in the table and leaves the omnibus test, which says so in a note
            flat_sources = {names[j].source for j in flat}
            keep = [j for j in range(q) if names[j].source not in flat_sources]
            by_design = tuple(dict.fromkeys(str(names[j].source) for j in flat))
            if not keep:
                raise DesignError(
                    f"{func}: every covariate ({_fmt_list(by_design)}) is constant within each "
                    f"stratum of {strata_name!r} among the people in {arm!r} and {control!r}, so "
                    "the stratification balances them all and the omnibus test has nothing to "
                    "test. Fix: pass omnibus=False for the descriptive table only."
                )
            X = X[:, keep]
            names = [names[j] for j in keep]
            q = X.shape[1]
    else:
        st = np.zeros(n, dtype=np.int64)
    n_st = int(st.max()) + 1
    cl = None if cluster is None else _codes(cluster)
    G = None if cl is None else int(cl.max()) + 1
    if G is not None and G - 1 <= q:
        raise DesignError(
            f"{func}: the {G:,} clusters in {arm!r} and {control!r} are too few for a "
            f"cluster-robust test of {q} covariate coefficient(s): the covariance is singular "
            f"with fewer than {q + 2} clusters. Fix: pass fewer covariates (at most {G - 2})."
        )
    if n - q - n_st < 1:
        raise DesignError(
            f"{func}: the omnibus regression of {arm!r} vs {control!r} has {q + n_st} "
            f"parameters for {n:,} people, so there are no residual degrees of freedom. Fix: pass "
            "fewer covariates (or coarser strata)."
        )
    try:
        fit = fit_ols(X, d, names, fe_codes=st, func=func)
    except DesignError as err:
        raise DesignError(
            f"{err} Or pass omnibus=False for the descriptive table without the omnibus test."
        ) from err
    if float(np.max(np.abs(fit.resid))) <= 1e-10:
        raise DesignError(
            f"{func}: the covariates predict assignment to {arm!r} rather than {control!r} exactly "
            "(every residual of the omnibus regression is zero), so they cannot be baseline "
            "covariates of a randomised trial. Fix: check that none of them was recorded after "
            "randomisation or derived from the arm."
        )
    return _Comparison(
        fit=fit,
        d=d,
        strata=st,
        cluster=cl,
        n_strata=n_st if strata is not None else None,
        n_clusters=G,
        terms=tuple(str(t) for t in names),
        index=x.index,
        rare_levels=tuple(rare),
        by_design=by_design,
    )


def _observed_wald(comp: _Comparison, se_type: str, *, arm: str, control: str, func: str) -> float:
    """``b' V^{-1} b`` of the covariate coefficients, ``V`` from the library's variance table.

    ``V`` is refused as singular when, in the coordinates where ``X'X = I``, its
    smallest eigenvalue is below ``1e-10`` times the residual variance ``e'e / (n - p)``
    (the classical covariance there): some direction of the covariates then has no
    residual variation at all, and ``W`` would be a ratio of rounding errors.
    """
    fit = comp.fit
    vc = vcov(fit, se_type, comp.cluster)
    s2 = float(fit.resid @ fit.resid) / (fit.n - fit.rank)
    meat = fit.R @ vc.vcov @ fit.R.T
    smallest = float(np.linalg.eigvalsh((meat + meat.T) / 2).min())
    if not smallest > 1e-10 * s2:
        raise DesignError(
            f"{func}: the {se_type} covariance of the covariate coefficients of {arm!r} vs "
            f"{control!r} is singular: in some direction of the covariates no person (or "
            "cluster) has residual variation, typically a rare level of a categorical covariate "
            "whose holders are all in one arm and alike otherwise. The omnibus Wald test is then "
            "undefined. Fix: merge rare levels into a larger one, or drop the covariate."
        )
    b = fit.beta
    return float(b @ np.linalg.solve(vc.vcov, b))


def _null_statistics(
    comp: _Comparison, se_type: str, draws: int, rng: np.random.Generator
) -> tuple[bool, Iterator[tuple[np.ndarray, np.ndarray]]]:
    """Whether the assignments are enumerated, and batches of ``(assignments, W)``:
    the re-drawn assignments of the compared rows (batch x rows, bool) and the Wald
    statistic under each."""
    null = BatchedWald.build(comp.fit, se_type, comp.strata, comp.cluster)
    unit = comp.cluster if comp.cluster is not None else np.arange(len(comp.d), dtype=np.int64)
    setup = unit_cells(unit, comp.strata, comp.d)
    width = max(comp.fit.n, comp.q * (comp.n_clusters or 0), setup.cells.n_units)
    redraws = Redraws(setup.cells, draws, rng, width=width, max_batch=1024, func="balance")

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for assign in redraws:
            rows = assign[:, setup.unit_of_row]
            yield rows, null.statistics(rows.astype(float))

    return redraws.enumerated, batches()


def _omnibus_test(
    comp: _Comparison,
    *,
    arm: str,
    control: str,
    se_type: str,
    draws: int,
    rng: np.random.Generator | None,
    func: str,
) -> BalanceTest:
    fit = comp.fit
    q = comp.q
    wald = _observed_wald(comp, se_type, arm=arm, control=control, func=func)
    df_denom = (
        float(comp.n_clusters - 1) if comp.n_clusters is not None else float(fit.n - fit.rank)
    )
    statistic = wald / q
    p_value = float(stats.f.sf(statistic, q, df_denom))
    notes = []
    if se_type in ("HC0", "HC1", "HC2", "HC3"):
        one = np.flatnonzero(fit.leverage() >= 1.0 - 1e-10)
        if one.size:
            single = [name for name, held in comp.rare_levels if held == 1]
            rare = (
                f", from the level(s) {_fmt_list(single, 5)} held by one person" if single else ""
            )
            raise DesignError(
                f"{func}: {one.size:,} person(s) among those in {arm!r} and {control!r} have "
                "leverage one in the omnibus regression "
                f"(rows {_fmt_list(comp.index[one][:5].tolist(), 5)})"
                f"{rare}: their residuals are zero, so the {se_type} covariance, and the F test, "
                "are not defined. Fix: merge rare levels into a larger one, or drop the covariate."
            )
    if comp.by_design:
        notes.append(
            f"{_fmt_list(comp.by_design)} constant within every stratum (balanced by the "
            "stratification): left out of the omnibus test"
        )
    if comp.rare_levels:
        notes.append(
            f"level(s) held by fewer than {RARE_LEVEL} people: "
            + ", ".join(f"{name} ({held})" for name, held in comp.rare_levels)
            + "; robust F tests over-reject with rare levels, so prefer the randomisation p-value"
        )
    ri_p = ri_se = None
    n_draws = 0
    enumerated = False
    if draws > 0 and rng is not None:
        enumerated, batches = _null_statistics(comp, se_type, draws, rng)
        beyond = 0
        for assign, w in batches:
            # undefined draws count as at least as extreme (conservative); ties by a tolerance
            beyond += int(np.count_nonzero(~(w < wald * (1.0 - TIE_RTOL))))
            n_draws += assign.shape[0]
        if enumerated:
            ri_p, ri_se = beyond / n_draws, 0.0
        else:
            ri_p = (1 + beyond) / (1 + n_draws)
            ri_se = float(np.sqrt(ri_p * (1 - ri_p) / n_draws))
        if n_draws == 1:
            notes.append("the design allows only the observed assignment: the randomisation p is 1")
    if comp.n_clusters is not None:
        design = "stratified-cluster" if comp.n_strata is not None else "cluster"
    else:
        design = "stratified" if comp.n_strata is not None else "complete"
    return BalanceTest(
        arm=arm,
        control=control,
        statistic=float(statistic),
        df_num=int(q),
        df_denom=df_denom,
        p_value=p_value,
        wald=wald,
        ri_p_value=None if ri_p is None else float(ri_p),
        ri_draws=int(n_draws),
        ri_mcse=None if ri_se is None else float(ri_se),
        se_type=se_type,
        design=design,
        n_obs=int(fit.n),
        terms=comp.terms,
        n_strata=comp.n_strata,
        n_clusters=comp.n_clusters,
        ri_enumerated=bool(enumerated),
        notes=tuple(notes),
    )


def _null_wald(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    covariates: Sequence[Hashable],
    arm: str,
    control: str = "control",
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    draws: int,
    seed: int | np.random.Generator,
) -> tuple[float, np.ndarray, pd.DataFrame]:
    """The observed Wald statistic, its values under the re-drawn assignments and
    those assignments (a testing hook): a bool DataFrame with one row per compared
    row of ``data`` (its index) and one column per draw, ``True`` for ``arm``.
    With two arms it consumes ``seed`` exactly as :func:`balance` does."""
    func = "balance"
    covs = as_column_list(covariates)
    arm_values = data[assigned].astype(str)
    keep = arm_values.isin([arm, control]).to_numpy()
    expanded = _expand(data, covs, func)
    comp = _comparison(
        expanded.frame[keep],
        expanded,
        arm=arm,
        control=control,
        d=(arm_values == arm).to_numpy()[keep].astype(float),
        strata=None if strata is None else data.loc[keep, strata],
        strata_name=strata,
        cluster=None if cluster is None else data.loc[keep, cluster],
        func=func,
    )
    used = resolve_se_type(se_type, clustered=cluster is not None, func=func)
    wald = _observed_wald(comp, used, arm=arm, control=control, func=func)
    _, batches = _null_statistics(comp, used, draws, check_seed(seed, func=func))
    got = list(batches)
    assign = np.concatenate([a for a, _ in got], axis=0)
    stats_ = np.concatenate([w for _, w in got])
    return wald, stats_, pd.DataFrame(assign.T, index=data.index[keep])


def _check_draws(draws: Any, seed: Any, omnibus: bool, func: str) -> int:
    if draws is None:
        return DEFAULT_DRAWS if (seed is not None and omnibus) else 0
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 0:
        raise OptionError(
            f"The 'draws' parameter of {func} must be a non-negative int (0: no randomisation "
            f"test). Got {draws!r} instead."
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


def balance(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    covariates: Sequence[Hashable],
    control: str = "control",
    threshold: float = 0.1,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    omnibus: bool = True,
    draws: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> BalanceTable:
    """Baseline balance: means and SDs by arm, standardised differences, variance
    ratios, and an omnibus test of balance of each arm against control.

    Parameters
    ----------
    data
        One row per person.
    assigned
        Column with each person's arm.
    covariates
        Baseline columns; numeric and 0/1 columns are summarised as they are,
        text or categorical columns as the share in each category.
    control
        The control arm's label; every other arm is compared with it.
    threshold
        |standardised difference| flagged in the summary (0.1 is the usual rule of thumb).
    strata
        Column of the randomisation strata: fixed effects in the omnibus
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
    check_columns(data, [assigned], role="assigned", func=func)
    check_columns(data, covs, role="covariates", func=func)
    if strata is not None:
        check_columns(data, [strata], role="strata", func=func)
    if cluster is not None:
        check_columns(data, [cluster], role="cluster", func=func)
    used_se = resolve_se_type(se_type, clustered=cluster is not None, func=func)
    check_no_missing(data, assigned, role="assigned", func=func)
    for c in covs:
        check_no_missing(data, c, role="covariates", func=func)
    if strata is not None:
        check_no_missing(data, strata, role="strata", func=func)
    if cluster is not None:
        check_no_missing(data, cluster, role="cluster", func=func)
    arm_values = data[assigned].astype(str)
    arms = (
        list(data[assigned].cat.categories)
        if isinstance(data[assigned].dtype, pd.CategoricalDtype)
        else sorted(arm_values.unique())
    )
    arms = [str(a) for a in arms]
    if control not in arms:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms)}. Fix: pass control= with the control arm's label."
        )
    _check_design_columns(data, arm_values, strata, cluster, func)
    expanded = _expand(data, covs, func)
    x = expanded.frame
    rows = []
    in_arm = {a: (arm_values == a).to_numpy() for a in arms}
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
            comp = _comparison(
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
                _omnibus_test(
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
    )
