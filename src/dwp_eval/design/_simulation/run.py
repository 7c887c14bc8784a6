"""Running a chunk of :func:`~dwp_eval.diagnose`'s simulations: each one's
assignment, observed data, estimate, interval, p-value and true effect, by the
batched formulas when they apply and by the estimator otherwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from dwp_eval._core.contract import interval_of
from dwp_eval._core.difference_in_means import BLOCKED_NEYMAN
from dwp_eval.design._simulation.adjusted import AdjustedRegression
from dwp_eval.design._simulation.batched import (
    FixedPopulation,
    batched_ok,
    batched_stats,
    batched_stats_complete,
    t_stats,
)
from dwp_eval.design._simulation.population import (
    ARM,
    OBSERVED,
    RECEIVED,
    Spec,
    check_population,
    reveal,
    true_effect,
)
from dwp_eval.design.randomise import randomise
from dwp_eval.results import Effect

__all__ = ["FixedState", "Out", "estimate_one", "prepare_fixed", "run_chunk"]


@dataclass
class Out:
    estimate: np.ndarray
    std_error: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    p_value: np.ndarray
    truth: np.ndarray
    n: np.ndarray
    design: str
    se_type: str
    fast: bool


def itt_kwargs(spec: Spec) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "outcome": OBSERVED, "assigned": ARM, "control": spec.control,
        "treatment": spec.treatment, "alpha": spec.alpha, "se_type": spec.se_type,
    }
    if spec.covariates:
        kw.update(covariates=spec.covariates, adjustment=spec.adjustment)
    if spec.strata:
        kw["strata"] = "_stratum"
    if spec.cluster is not None:
        kw["cluster"] = spec.cluster
    return kw


def estimate_one(spec: Spec, data: pd.DataFrame) -> Effect:
    if callable(spec.estimator):
        return spec.estimator(data)
    if spec.estimator == "cace":
        from dwp_eval.estimate.cace import cace

        kw = itt_kwargs(spec)
        kw.pop("adjustment", None)  # covariates enter both stages additively
        return cace(data, received=RECEIVED, **kw)
    from dwp_eval.estimate.itt import itt

    return itt(data, **itt_kwargs(spec))


@dataclass
class FixedState:
    """A fixed population's preparation, made once and shared by the chunks run in one
    process: the allocation engine and, for the batched regression, the factorised
    fixed part with ``itt``'s labels (``design``, ``se_type``) from its first run."""

    prepared: FixedPopulation
    regression: AdjustedRegression | None = None
    design: str = ""
    se_type: str = ""


def prepare_fixed(spec: Spec, first: np.random.SeedSequence,
                  prepared: FixedPopulation | None = None) -> FixedState:
    """The :class:`FixedState` of ``spec``'s population; with the batched regression,
    ``itt`` itself runs once on the assignment drawn by ``first`` (its checks and
    labels) and that data set gives the covariates to factorise."""
    pop = cast(pd.DataFrame, spec.population)
    if prepared is None:
        prepared = FixedPopulation(pop, spec, "diagnose")
    state = FixedState(prepared)
    if spec.regression:
        z = np.empty(len(pop))
        z[prepared.row_of] = prepared.treated_matrix([first])[0]
        data = reveal(pop, z, spec, prepared.stratum_rows if spec.strata else None)
        res = estimate_one(spec, data)
        state.regression = AdjustedRegression(
            data, spec, prepared.row_of, pop["y0"].to_numpy(dtype=float),
            pop["y1"].to_numpy(dtype=float))
        state.design, state.se_type = res.design, res.se_type
    return state


def run_chunk(spec: Spec, seqs: list[np.random.SeedSequence], state: FixedState | None = None) -> Out:
    """Run the simulations of one chunk (one child SeedSequence each); ``state``: the
    fixed population's preparation when the caller made it once (else made here)."""
    S = len(seqs)
    est, se, lo, hi, p, truth, n = (np.empty(S) for _ in range(7))
    design, se_type = "", ""
    if spec.population is not None:
        pop = spec.population
        if state is None:
            state = prepare_fixed(spec, seqs[0])
        prepared = state.prepared
        y0 = pop["y0"].to_numpy(dtype=float)
        y1 = pop["y1"].to_numpy(dtype=float)
        truth[:] = true_effect(pop, spec)
        n[:] = len(pop)
        if spec.batched:  # everything in the engine's canonical order
            codes = prepared.prep.stratum if spec.strata else None
            rows = prepared.row_of
            if prepared.prep.cluster is None and len(prepared.prep.stratum_labels) == 1:
                perms, start, stop = prepared.complete_draws(seqs)
                if np.ptp(start) == 0 and np.ptp(stop) == 0:  # the same numbers treated
                    e, s_, df = batched_stats_complete(perms, int(start[0]), int(stop[0]),
                                                       y0[rows], y1[rows])
                else:
                    Zc = np.zeros(perms.shape)
                    for i in range(len(seqs)):
                        Zc[i, perms[i, start[i] : stop[i]]] = 1.0
                    e, s_, df = batched_stats(Zc, y0[rows], y1[rows], None, 1)
            else:
                Zc = prepared.treated_matrix(seqs)
                e, s_, df = batched_stats(Zc, y0[rows], y1[rows], codes,
                                          len(prepared.prep.stratum_labels))
            lo_, hi_, p_ = t_stats(e, s_, df, spec.alpha)
            design = "blocked" if spec.strata else "standard"
            label = BLOCKED_NEYMAN if spec.strata else "HC2"
            return Out(e, s_, lo_, hi_, p_, truth, n, design, label, True)
        stratum = prepared.stratum_rows if spec.strata else None
        if state.regression is not None:
            return _run_regression(spec, state, seqs, truth, n)
        for i in range(S):
            z = prepared.assign(np.random.default_rng(seqs[i]))
            res = estimate_one(spec, reveal(pop, z, spec, stratum))
            est[i], se[i] = res.estimate, res.std_error
            lo[i], hi[i] = interval_of(res, spec.alpha)
            p[i] = res.p_value
            design, se_type = res.design, res.se_type
        return Out(est, se, lo, hi, p, truth, n, design, se_type, False)

    dgp = cast(Callable[[np.random.Generator], pd.DataFrame], spec.dgp)  # set on this path
    fast = True
    for i, s in enumerate(seqs):
        rng = np.random.default_rng(s)
        pop = check_population(dgp(rng), spec, "diagnose")
        alloc = randomise(pop, id=spec.id, arms=spec.arms, strata=spec.strata or None,
                          cluster=spec.cluster, seed=rng)
        arm = alloc.table.set_index(spec.id)["arm"].reindex(pop[spec.id].to_numpy())
        z = (arm.to_numpy() == spec.treatment).astype(float)
        y0 = pop["y0"].to_numpy(dtype=float)
        y1 = pop["y1"].to_numpy(dtype=float)
        truth[i] = true_effect(pop, spec)
        n[i] = len(pop)
        codes = None
        if spec.strata:
            codes = pd.factorize(alloc.table.set_index(spec.id)["stratum"]
                                 .reindex(pop[spec.id].to_numpy()).astype(str), sort=True)[0]
        if spec.batched and batched_ok(codes, len(pop), spec.arms, spec.control):
            e, s_, df = batched_stats(z[None, :], y0, y1, codes,
                                      int(codes.max()) + 1 if codes is not None else 1)
            lo_, hi_, p_ = t_stats(e, s_, df, spec.alpha)
            est[i], se[i], lo[i], hi[i], p[i] = e[0], s_[0], lo_[0], hi_[0], p_[0]
            design = "blocked" if spec.strata else "standard"
            se_type = BLOCKED_NEYMAN if spec.strata else "HC2"
            continue
        fast = False
        res = estimate_one(spec, reveal(pop, z, spec, codes))
        est[i], se[i] = res.estimate, res.std_error
        lo[i], hi[i] = interval_of(res, spec.alpha)
        p[i] = res.p_value
        design, se_type = res.design, res.se_type
    return Out(est, se, lo, hi, p, truth, n, design, se_type, fast)


def _run_regression(spec: Spec, state: FixedState, seqs: list[np.random.SeedSequence],
                    truth: np.ndarray, n: np.ndarray) -> Out:
    """A chunk of a fixed population analysed by itt's covariate-adjusted regression,
    batched (:mod:`.adjusted`)."""
    pop = cast(pd.DataFrame, spec.population)
    prepared = state.prepared
    reg = cast(AdjustedRegression, state.regression)
    stratum = prepared.stratum_rows if spec.strata else None
    parts = []
    for lo in range(0, len(seqs), reg.draw_step):
        Zc = prepared.treated_matrix(seqs[lo : lo + reg.draw_step])

        def one(i: int, Zc: np.ndarray = Zc) -> tuple[float, float, float]:
            z = np.empty(len(pop))
            z[prepared.row_of] = Zc[i]
            res = estimate_one(spec, reveal(pop, z, spec, stratum))
            return float(res.estimate), float(res.std_error), float(res.df)

        parts.append(reg.estimate(Zc, one))
    e, s_, df = (np.concatenate([p[k] for p in parts]) for k in range(3))
    lo_, hi_, p_ = t_stats(e, s_, df, spec.alpha)
    return Out(e, s_, lo_, hi_, p_, truth, n, state.design, state.se_type, True)
