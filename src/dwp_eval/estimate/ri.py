"""Randomisation inference that follows the design.

:func:`randomisation_test` re-draws the assignment the way the trial drew it
(complete randomisation with fixed numbers, within strata, of whole clusters,
within permuted blocks, re-applying a re-randomisation rule) and compares the
observed statistic with its distribution over the re-drawn assignments under
the sharp null hypothesis of no effect for anyone. It also inverts the test
under a constant additive effect to give an interval.

The draws are vectorised: assignments are generated for a batch of draws at a
time as a ``(batch, units)`` 0/1 matrix, and every draw's statistic follows from
per-stratum sums of a few unit-level columns (matrix products), never from a
Python loop over draws. Each draw is summarised by five numbers, so the test of
any constant effect ``tau`` re-uses the same draws at no extra cost (see
:func:`randomisation_test`, Notes).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.assignments import (
    Cells,
    RecordedDesign,
    Redraws,
    RerandomisationRule,
    unit_cells,
)
from dwp_eval._core.difference_in_means import BatchedDifference
from dwp_eval._core.inversion import PValueFunction, t_values
from dwp_eval._core.sample import joined_strata, prepare_sample
from dwp_eval._validation import (
    arm_keys,
    check_alpha,
    check_columns,
    check_data,
    check_draws,
    check_option,
    check_seed,
    label_key,
)
from dwp_eval.errors import ColumnError, DesignError, NotEstimableError, OptionError
from dwp_eval.estimate._ri_engine import HI, LO, SUM, N, in_memory
from dwp_eval.results.randomisation import RandomisationTest

__all__ = ["RandomisationTest", "randomisation_test"]

STATISTICS = ("studentised", "difference")


@dataclass(frozen=True, eq=False)
class _Setup:
    cells: Cells
    stat: BatchedDifference
    observed: np.ndarray  # bool per unit (cell order)
    unit_of_row: np.ndarray  # analysed row -> unit (cell order)
    index: pd.Index  # analysed rows of data
    rule: RerandomisationRule | None
    design: str
    se_type: str
    outcome: str
    treatment: str
    control: str
    n_by_arm: Mapping[str, int]
    n_strata: int | None
    n_clusters: int | None


def _setup(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str,
    treatment: str | None,
    strata: Hashable | None,
    cluster: Hashable | None,
    allocation: Any,
    statistic: str,
    missing: str,
    func: str,
    summarised: bool = False,
) -> _Setup:
    """``summarised``: ``data`` is an engine's one row per cluster (``_ri_engine``), whose
    outcome is the cluster's sum, with its people, smallest and largest outcome."""
    data = check_data(data, func=func)
    statistic = check_option(statistic, STATISTICS, param="statistic", func=func)
    recorded: RecordedDesign | None = None
    # a list of strata columns is one stratum per combination, as in itt
    data, strata = joined_strata(data, strata, func=func)
    cell_col: Hashable | None = strata
    if allocation is not None:
        if not callable(getattr(allocation, "recorded_design", None)):
            raise OptionError(
                f"The 'allocation' parameter of {func} must be a dwp_eval.Allocation (from "
                f"randomise or Allocation.read). Got {type(allocation).__name__} instead."
            )
        if strata is not None or cluster is not None:
            raise OptionError(
                f"{func}: pass either allocation= or strata=/cluster=, not both: the allocation "
                "records the design's strata and clusters. Fix: drop strata= and cluster=."
            )
        check_columns(data, [assigned], role="assigned", func=func)
        recorded = allocation.recorded_design(data, assigned=assigned, func=func)
        data = data.copy(deep=False)
        data["allocation stratum"] = recorded.stratum
        data["allocation block"] = recorded.cell
        if recorded.cluster is not None:
            data["allocation cluster"] = recorded.cluster
        strata = "allocation stratum" if recorded.has_strata else None
        cluster = "allocation cluster" if recorded.cluster is not None else None
        cell_col = "allocation block"
        if recorded.rule_covariates and missing != "raise":
            raise OptionError(
                f"{func}: missing='drop' cannot be used with a re-randomised allocation: the "
                "balance rule is re-applied to everyone allocated. Fix: complete the outcome first."
            )
    prep, frame = prepare_sample(
        data,
        outcome=SUM if summarised else outcome,
        assigned=assigned,
        control=control,
        treatment=treatment,
        covariates=[],
        strata=strata,
        cluster=cluster,
        weights=None,
        missing=missing,
        func=func,
    )
    y = prep.y
    z = prep.z
    n = len(y)
    people = frame[N].to_numpy(dtype=float) if summarised else None
    lo, hi = (frame[LO].min(), frame[HI].max()) if summarised else (y.min(), y.max())
    n_by_arm = prep.n_by_arm if people is None else {
        prep.control: int(people[z == 0].sum()), prep.treatment: int(people[z == 1].sum())}
    if lo == hi:
        raise NotEstimableError(
            f"{func}: column {outcome!r} (outcome) is constant ({lo:g}) in the compared arms, so "
            "there is nothing to test.", outcome=str(outcome), reason="zero residual variance",
        )
    st = prep.strata if prep.strata is not None else np.zeros(n, dtype=np.int64)
    if cell_col is not None:
        cells = frame[cell_col].astype(str)  # a list of strata columns: their combinations
        key = cells.agg(" x ".join, axis=1) if isinstance(cells, pd.DataFrame) else cells
        cell_codes, _ = pd.factorize(key, sort=True)
        cell = np.asarray(cell_codes, dtype=np.int64)
    else:
        cell = np.zeros(n, dtype=np.int64)
    if prep.cluster is not None:
        unit = prep.cluster
    else:
        unit = np.arange(n, dtype=np.int64)
    n_units = int(unit.max()) + 1
    # a unit (cluster) must sit inside one stratum and one cell
    for codes, what in ((st, "stratum"), (cell, "randomisation block")):
        lo = np.full(n_units, np.iinfo(np.int64).max)
        hi = np.full(n_units, -1)
        np.minimum.at(lo, unit, codes)
        np.maximum.at(hi, unit, codes)
        split = np.flatnonzero(lo != hi)
        if split.size:
            raise DesignError(
                f"{func}: {split.size:,} cluster(s) in column {cluster!r} span more than one "
                f"{what}, so whole clusters cannot have been randomised within strata. Fix: "
                "check the strata and cluster columns are the ones used at randomisation."
            )
    grouped = unit_cells(unit, st, z, cell)
    cells, observed, unit_of_row, u_stratum = (
        grouped.cells, grouped.observed, grouped.unit_of_row, grouped.stratum
    )

    n_strata = int(st.max()) + 1
    clustered = prep.cluster is not None
    stat = BatchedDifference.from_units(
        y, z, st, unit_of_row, observed, u_stratum, n_units, clustered=clustered, kind=statistic,
        people=people,
    )
    if stat.mode != "blocked":
        se_type = "matched-pair"
    else:
        se_type = "CR0 x G/(G-1) per arm" if clustered else "Neyman"
        if statistic == "studentised" and (np.any(stat.g1 < 2) or np.any(stat.g0 < 2)):
            raise DesignError(
                f"{func}: a stratum has fewer than two {'clusters' if clustered else 'people'} in "
                "an arm, so the studentised statistic's variance cannot be estimated there. Fix: "
                "pass statistic='difference' (a valid test with the raw difference in means)."
            )
    if statistic == "difference":
        se_type = "none"

    rule = None
    if recorded is not None and recorded.rule_covariates:
        rule = _make_rule(data, frame, recorded, prep.treatment, prep.control, unit_of_row, n_units, assigned, func)
    if recorded is not None:
        design = recorded.label
    else:
        design = ("stratified-cluster" if strata is not None else "cluster") if clustered else (
            "stratified" if strata is not None else "complete"
        )
    return _Setup(
        cells=cells,
        stat=stat,
        observed=observed,
        unit_of_row=unit_of_row,
        index=frame.index,
        rule=rule,
        design=design,
        se_type=se_type,
        outcome=str(outcome),
        treatment=prep.treatment,
        control=prep.control,
        n_by_arm=n_by_arm,
        n_strata=n_strata if strata is not None else None,
        n_clusters=n_units if clustered else None,
    )


def _make_rule(
    data: pd.DataFrame,
    frame: pd.DataFrame,
    recorded: RecordedDesign,
    treatment: str,
    control: str,
    unit_of_row: np.ndarray,
    n_units: int,
    assigned: Hashable,
    func: str,
) -> RerandomisationRule:
    covs = list(recorded.rule_covariates)
    check_columns(data, covs, role="re-randomisation covariates", func=func)
    if not recorded.all_ids_present:
        raise DesignError(
            f"{func}: the allocation was re-randomised, so the test re-applies its balance rule "
            "to everyone allocated, but the data do not hold every allocated person. Fix: pass "
            "the full participants data (all arms) with the outcome."
        )
    for c in covs:
        if data[c].isna().any() or not (
            pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])
        ):
            raise ColumnError(
                f"{func}: column {c!r} (re-randomisation covariate) must be numeric and complete, "
                "as it was at randomisation."
            )
    x = frame[covs].to_numpy(dtype=float)
    cols = np.zeros((n_units, 1 + 2 * len(covs)))
    cols[:, 0] = np.bincount(unit_of_row, minlength=n_units)
    for j in range(len(covs)):
        cols[:, 1 + j] = np.bincount(unit_of_row, weights=x[:, j], minlength=n_units)
        cols[:, 1 + len(covs) + j] = np.bincount(unit_of_row, weights=x[:, j] ** 2, minlength=n_units)
    arm_text = arm_keys(data[assigned]).fillna("").to_numpy(dtype=object)  # by value (label_key)
    fixed = {}
    for arm in recorded.arms:
        if label_key(arm) in (treatment, control):
            continue
        xa = data.loc[arm_text == label_key(arm), covs].to_numpy(dtype=float)
        fixed[arm] = np.r_[len(xa), xa.sum(axis=0), (xa**2).sum(axis=0)]
    return RerandomisationRule(
        columns=cols,
        fixed=fixed,
        arms=recorded.arms,
        design_control=recorded.control,
        treatment=treatment,
        control=control,
        bound=recorded.rule_bound,
        max_draws=recorded.rule_max_draws,
    )


def _check_draws(draws: Any, func: str) -> int | None:
    if isinstance(draws, str) and draws == "all":
        return None
    return check_draws(draws, name="draws", func=func, hint=" or 'all'")


def _assignment_stream(
    setup: _Setup, draws: int | None, rng: np.random.Generator, func: str
) -> tuple[list[np.ndarray], bool, float | None]:
    """The re-drawn assignments in batches, whether they are all of them, and the
    acceptance rate of a re-randomisation rule."""
    rule = setup.rule
    redraws = Redraws(
        setup.cells, draws, rng, width=setup.cells.n_units, max_batch=4096, func=func,
        accept=None if rule is None else rule.accept,
        max_tries=1 if rule is None else rule.max_draws,
    )
    batches = list(redraws)
    return batches, redraws.enumerated, redraws.acceptance_rate


def _null_assignments(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    allocation: Any = None,
    draws: int | Literal["all"] = 100,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """The re-drawn assignments :func:`randomisation_test` uses (a testing hook).

    Returns a bool DataFrame with one row per analysed row of ``data`` (its
    index) and one column per draw: ``True`` for the treatment arm.
    """
    func = "randomisation_test"
    setup = _setup(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        strata=strata, cluster=cluster, allocation=allocation, statistic="difference",
        missing="raise", func=func,
    )
    rng = check_seed(seed, func=func)
    batches, _, _ = _assignment_stream(setup, _check_draws(draws, func), rng, func)
    assign = np.concatenate(batches, axis=0)
    return pd.DataFrame(assign[:, setup.unit_of_row].T, index=setup.index)


# --------------------------------------------------------------------------- public


def randomisation_test(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    allocation: Any = None,
    statistic: Literal["studentised", "difference"] = "studentised",
    draws: int | Literal["all"] = 10_000,
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> RandomisationTest:
    """Randomisation test of no effect that re-draws the assignment as the design did.

    Parameters
    ----------
    data
        One row per person: a pandas DataFrame, or a Dask or Spark DataFrame. The
        re-drawn assignments are computed in memory, so an engine brings the units
        there: with ``cluster=``, one row per cluster that it summarises (people, sum,
        smallest and largest outcome); otherwise each person's outcome, arm and strata.
        An engine's rows have no order, so the units are sorted by strata, cluster,
        arm and outcome: the same seed then gives the same test however the frame is
        partitioned, equal (to rounding, 1e-10) to the in-memory test of the rows in
        that order. A summary with missing values, or a design the test refuses, sends
        the rows instead, for the in-memory checks and counts. ``allocation=`` needs a
        pandas frame.
    outcome
        Numeric outcome column.
    assigned
        Column holding each person's arm.
    control, treatment
        Labels of the compared arms (``treatment`` may be omitted when there is
        one other arm). With more arms, only people in these two are re-drawn.
    strata
        Column of the randomisation strata (or a list of columns: one stratum per
        combination, as in :func:`itt`): assignments are re-drawn within each
        stratum, keeping its observed number treated.
    cluster
        Column of the unit of assignment when whole clusters were randomised:
        clusters are re-drawn whole.
    allocation
        A :class:`dwp_eval.Allocation`: take strata, clusters, permuted blocks
        and any re-randomisation rule from it (people are matched by its id
        column). Do not pass ``strata`` or ``cluster`` with it.
    statistic
        ``"studentised"`` (default): the difference in means divided by its
        design-based standard error; ``"difference"``: the difference in means.
    draws
        Number of re-drawn assignments, or ``"all"`` to enumerate every
        assignment (refused beyond 1,000,000). When the design has no more
        assignments than ``draws``, all of them are enumerated.
    seed
        An int or a ``numpy.random.Generator``; the only source of randomness.
    alpha
        Level of the test-inversion interval.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome; with
        ``"drop"`` the test conditions on the people analysed.

    Returns
    -------
    RandomisationTest

    Notes
    -----
    *Re-drawing.* Complete randomisation puts a fixed number of units in each
    arm within each stratum. The test conditions on the observed numbers
    treated in each stratum (with :func:`dwp_eval.randomise` they are the floor
    or the ceiling of the expected number, chosen independently of everything
    else, so conditioning on them keeps the test exact) and re-draws which
    units are treated uniformly among the ``C(n_s, m_s)`` choices in every
    stratum; in a cluster design the units are clusters. With
    ``allocation=``, permuted-block allocations are re-drawn within each block
    (the block sizes are drawn independently of the arms), clusters joining
    later keep the block of their cluster, and a re-randomisation rule is
    re-applied: only re-drawn assignments meeting it are kept (Morgan & Rubin
    2012), so a re-randomised trial gets its exact test. With more than two
    arms only people in the two compared arms are re-drawn (conditioning on
    who was in the others).

    *Statistic.* With strata ``s`` of ``N_s`` people (weights ``w_s = N_s/N``)
    the estimate is ``d = sum_s w_s d_s``, ``d_s`` the difference in means of
    people (Gerber & Green 2012, eq. 3.10). The studentised statistic is
    ``T = d / sqrt(V)``, with ``V = sum_s w_s^2 (V_1s + V_0s)`` and, in arm
    ``a`` of stratum ``s`` with ``G_as`` units (people or clusters) and
    ``N_as`` people, ``V_as = G_as/(G_as - 1) sum_g e_g^2 / N_as^2``, where
    ``e_g`` sums the residuals ``y_i - mean_as`` over unit ``g``. Without
    clusters ``V_as = s_as^2 / N_as``, the Neyman variance (eq. 3.6, 3.11), so
    ``T`` is :func:`dwp_eval.itt`'s t statistic; with clusters it is the CR0
    variance of the difference in means with a ``G/(G - 1)`` correction in
    each arm (equal to CR2 when clusters in an arm are of equal size).
    Matched pairs use ``sum_b (d_b - d)^2 / (B(B - 1))`` (eq. 3.16), and pairs
    of clusters Imai, King & Nall (2009, eq. 6), as ``itt`` does. Studentising
    keeps the test valid for the weak null asymptotically (Wu & Ding 2021,
    *JASA* 116).

    *p-value.* With ``B`` random re-draws, ``p = (1 + #{|T*| >= |T|}) / (1 + B)``
    (Phipson & Smyth 2010, *Stat. Appl. Genet. Mol. Biol.* 9(1)), never zero
    and exact as a test of level ``alpha``; its Monte Carlo standard error is
    ``sqrt(p (1 - p) / B)``. Enumerating all ``K`` assignments (the observed
    one among them) gives the exact ``p = #{|T*| >= |T|} / K``. Ties are
    judged with a relative tolerance of 1e-9.

    *Interval.* Under a constant effect ``tau`` (``Y(1) = Y(0) + tau``) the
    control outcomes are ``y - tau z``, and the statistic under a re-drawn
    assignment is ``T*(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)``,
    where the five numbers come from the draw's per-stratum sums of
    ``y, z, y^2, yz, ...``. So every ``tau`` is tested with the same draws,
    the p-value function is deterministic, and the interval (Imbens & Rubin
    2015, ch. 5.7) is the set of ``tau`` with ``p(tau) > alpha``, found by a
    grid scan and bisection from the estimate (its convex hull, should the
    set have holes).

    Draws are generated a batch at a time as a units-by-draws 0/1 matrix, and
    every statistic of the batch follows from matrix products with the unit
    columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from dwp_eval.estimate.ri import randomisation_test
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 4,
    ...                    "y": [3.1, 4.0, 2.2, 5.3, 2.9, 4.1, 3.5, 4.4]})
    >>> res = randomisation_test(df, outcome="y", assigned="arm", draws="all", seed=1)
    >>> res.draws, res.enumerated   # C(8, 4) assignments
    (70, True)
    >>> round(res.p_value, 4)
    0.0286
    >>> res.conf_low < res.estimate < res.conf_high
    True
    """
    func = "randomisation_test"
    alpha = check_alpha(alpha, func=func)
    n_draws = _check_draws(draws, func)
    rng = check_seed(seed, func=func)
    how_missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    data, summarised = in_memory(data, outcome=outcome, assigned=assigned, strata=strata,
                                 cluster=cluster, control=control, treatment=treatment,
                                 allocation=allocation, func=func)
    setup = _setup(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        strata=strata, cluster=cluster, allocation=allocation, statistic=statistic,
        missing=how_missing, func=func, summarised=summarised,
    )
    if setup.rule is not None and not bool(setup.rule.accept(setup.observed[None, :])[0]):
        raise DesignError(
            f"{func}: the observed assignment does not meet the allocation's re-randomisation "
            "rule, so these are not the data (or covariates) that were randomised. Fix: pass the "
            "participants data as they were at randomisation."
        )
    stat = setup.stat
    obs = stat.coefficients(stat.sums(setup.observed[None, :]))
    batches, enumerated, rate = _assignment_stream(setup, n_draws, rng, func)
    coefs = np.concatenate([stat.coefficients(stat.sums(a)) for a in batches], axis=0)
    b = len(coefs)
    null = t_values(coefs, 0.0)
    null.setflags(write=False)
    estimate = float(obs[0, 0])
    if statistic == "studentised":
        std_error = float(np.sqrt(max(obs[0, 2], 0.0)))
        if not std_error > 0:  # the degeneracy rule: no studentised statistic from 0/0 or x/0
            raise NotEstimableError(
                f"{func}: the standard error of the effect on {setup.outcome!r} is 0 (the outcome "
                "does not vary within the compared arms), so the studentised statistic is "
                "undefined. Fix: pass statistic='difference', which needs no standard error.",
                outcome=str(setup.outcome), reason="zero residual variance",
            )
    else:
        std_error = float(np.std(coefs[:, 0], ddof=1)) if b > 1 else float("nan")
    # scale for the interval search: the SE of the estimate
    scale = std_error if np.isfinite(std_error) and std_error > 0 else float(np.std(coefs[:, 0]))
    pfun = PValueFunction(obs=obs, draws=coefs, plus_one=not enumerated, centre=estimate, scale=scale)
    p = pfun(0.0)
    lo, hi = pfun.interval(alpha)
    notes = []
    if enumerated:
        notes.append(f"all {b:,} assignments of the design enumerated: the p-value is exact")
    if not np.isfinite(lo) or not np.isfinite(hi):
        notes.append(
            "the interval is unbounded: with these draws no effect is rejected at "
            f"alpha = {alpha:g} on that side"
        )
    return RandomisationTest(
        outcome=setup.outcome,
        treatment=setup.treatment,
        control=setup.control,
        estimate=estimate,
        std_error=std_error,
        statistic=float(t_values(obs, 0.0)[0]),
        p_value=float(p),
        p_value_mc_se=0.0 if enumerated else float(np.sqrt(p * (1 - p) / b)),
        conf_low=float(lo),
        conf_high=float(hi),
        alpha=alpha,
        draws=b,
        enumerated=enumerated,
        test_statistic=statistic,
        se_type=setup.se_type,
        design=setup.design,
        n_obs=int(sum(setup.n_by_arm.values())),
        n_by_arm=setup.n_by_arm,
        n_strata=setup.n_strata,
        n_clusters=setup.n_clusters,
        null_statistics=null,
        notes=tuple(notes),
        acceptance_rate=rate,
        _pfun=pfun,
    )
