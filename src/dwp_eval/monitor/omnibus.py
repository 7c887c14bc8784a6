"""The omnibus test of balance: for one arm against control, the regression of the
arm's 0/1 indicator on all the covariates (strata as fixed effects), its robust
Wald F test, and the randomisation test that re-draws the assignment as the
design drew it (see :func:`dwp_eval.balance`, Notes).

The randomisation test uses the ground floor's re-drawing engine
(:mod:`dwp_eval._core.assignments`) and is vectorised over draws: the
covariates, and so the hat matrix, are the same under every re-drawn
assignment; only the outcome (the assignment) changes, so a batch of
assignments is a matrix ``D`` (draws x people) whose Wald statistics the
variance core's :class:`~dwp_eval._core.variance.BatchedWald` computes with a
few matrix products.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from dwp_eval._core.assignments import TIE_RTOL, Redraws, unit_cells
from dwp_eval._core.linalg import OLSFit, Term, fit_ols
from dwp_eval._core.sample import codes
from dwp_eval._core.variance import BatchedWald, resolve_se_type, vcov
from dwp_eval._validation import _fmt_list, as_column_list, check_seed
from dwp_eval.errors import ColumnError, DesignError
from dwp_eval.results import BalanceTest

__all__ = ["Expanded", "comparison", "expand", "omnibus_test"]

# Levels of a categorical covariate held by fewer people are noted under the omnibus test.
RARE_LEVEL = 5


@dataclass(frozen=True)
class Expanded:
    """Numeric covariate columns and where each came from."""

    frame: pd.DataFrame
    # covariate -> its columns in ``frame`` (one per level for a categorical covariate)
    groups: dict[str, list[str]]
    # covariate -> level of each of its columns (categorical covariates only)
    levels: dict[str, list[str]]


def expand(data: pd.DataFrame, covariates: Sequence[Hashable], func: str) -> Expanded:
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
    return Expanded(pd.DataFrame(cols, index=data.index), groups, levels_of)


# --------------------------------------------------------------------------- omnibus


def _design_matrix(
    x: pd.DataFrame,
    expanded: Expanded,
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


def comparison(
    x: pd.DataFrame,
    expanded: Expanded,
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
        st = _text_codes(strata)
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
    cl = None if cluster is None else _text_codes(cluster)
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


def omnibus_test(
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
    expanded = expand(data, covs, func)
    comp = comparison(
        expanded.frame[keep],
        expanded,
        arm=arm,
        control=control,
        d=(arm_values == arm).to_numpy(dtype=bool, na_value=False)[keep].astype(float),
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




def _text_codes(values: pd.Series) -> np.ndarray:
    """Codes of the values read as text (strata and clusters of any dtype)."""
    return codes(values.astype(str))
