"""Design diagnosis by simulation: bias, RMSE, coverage, power and interval width.

:func:`diagnose` repeats a trial many times: it draws (or takes) a population
with both potential outcomes, randomises it with :func:`dwp_eval.randomise`,
reveals the outcome of the arm each person was assigned to, estimates the
effect with the library's estimator and compares the estimate with the true
effect in that population. The summary statistics and their Monte Carlo
standard errors follow Morris, White & Crowther (2019), *Statistics in
Medicine* 38:2074-2102, Table 6.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from dwp_eval._core.progress import progress_bar
from dwp_eval._validation import _fmt_list, as_column_list, check_alpha, check_draws, check_option
from dwp_eval.design._simulation import (
    FixedPopulation,
    Out,
    Spec,
    batched_ok,
    check_population,
    prepare_fixed,
    regression_ok,
    run_chunk,
)
from dwp_eval.errors import OptionError
from dwp_eval.results import Diagnosis

__all__ = ["diagnose"]

Population: TypeAlias = pd.DataFrame | Callable[[np.random.Generator], pd.DataFrame]

#: Simulations per batch. Batches are fixed by this size alone (never by the
#: number of workers), so results are identical whatever ``workers`` is.
CHUNK = 100


def _seed_sequence(seed: Any, func: str) -> tuple[np.random.SeedSequence, int | None]:
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist()), None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and int(seed) >= 0:
        return np.random.SeedSequence(int(seed)), int(seed)
    raise OptionError(
        f"The 'seed' parameter of {func} must be a non-negative int or a numpy.random.Generator. "
        f"Got {seed!r} instead. Fix: pass a recorded integer, e.g. seed=20180501."
    )


def _arms(arms: Mapping[str, float] | Sequence[str], func: str) -> tuple[dict[str, float], str, str]:
    d = dict(arms) if isinstance(arms, Mapping) else dict.fromkeys(arms, 1.0)
    if len(d) != 2:
        raise OptionError(
            f"The 'arms' parameter of {func} must name exactly two arms (control and treatment), "
            f"each with its potential outcome y0 or y1. Got {_fmt_list(d)} instead."
        )
    names = list(d)
    control = "control" if "control" in d else names[0]
    treatment = next(a for a in names if a != control)
    return d, control, treatment


# ----------------------------------------------------------------------------- diagnose


def diagnose(
    design: Population,
    *,
    estimator: Literal["itt", "cace"] | Callable[[pd.DataFrame], Any] = "itt",
    sims: int = 1000,
    seed: int | np.random.Generator,
    effect: float | None = None,
    id: Hashable = "id",
    arms: Mapping[str, float] | Sequence[str] | None = None,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    se_type: str | None = None,
    alpha: float = 0.05,
    workers: int = 1,
    progress: bool | None = None,
) -> Diagnosis:
    """Simulate a trial design many times and report how its estimator behaves.

    Each simulation (1) takes the population, or draws a new one by calling
    ``design(rng)``; (2) randomises it with :func:`dwp_eval.randomise` using
    ``arms``, ``strata`` and ``cluster``; (3) reveals ``y = y1`` for people
    assigned to treatment and ``y = y0`` for control; (4) estimates the effect
    with :func:`dwp_eval.itt` (same ``strata``, ``cluster``, ``covariates``,
    ``se_type``); (5) compares it with that population's true effect
    ``mean(y1 - y0)``. With ``estimator="cace"``, receipt is revealed too and
    the estimand is the complier effect of receipt (see ``estimator``).

    Parameters
    ----------
    design
        The population contract: a DataFrame, or a callable ``dgp(rng)`` that
        returns one for a ``numpy.random.Generator``. One row per person with

        * ``y0``: the outcome the person would have under control;
        * ``y1`` (optional): the outcome under treatment. Without it, give
          ``effect=``: ``y1 = y0 + effect`` (a constant effect);
        * an ``id`` column (optional; row numbers otherwise), and any strata,
          cluster and covariate columns named in the other arguments.

        * ``d0`` and ``d1`` (optional; needed by ``estimator="cace"``): the
          potential receipts (see ``estimator``). With them, ``y0``/``y1``
          are the outcomes without/with receipt, and the ITT compares the
          outcomes of the receipt each assignment brings.

        A DataFrame is a fixed, finite population: only the assignment varies,
        and the Neyman variance is conservative unless effects are constant
        (Gerber & Green 2012, sec. 3.6). A callable draws a new sample each
        time (a super-population), for which it is unbiased. Built in:
        :func:`~dwp_eval.whp_population`. For ``workers > 1`` the callable must be
        picklable (a module-level function or a class instance, not a lambda).
    estimator
        ``"itt"`` (:func:`dwp_eval.itt`), or a callable ``estimator(data)``
        returning an :class:`~dwp_eval.Effect` (or anything with
        ``estimate``, ``std_error``, ``p_value``, ``design``, ``se_type`` and
        ``interval(alpha)`` or ``conf_int(alpha)``), where ``data`` is the population with the
        observed outcome ``y`` and the assigned arm ``arm`` added.
        ``"cace"``: :func:`dwp_eval.cace` (2SLS, assignment instrumenting
        receipt), for a population that also has the potential receipts
        ``d0`` and ``d1`` (0/1: whether the person would receive the
        programme, or provision like it, if assigned to control or to
        treatment). Receipt is revealed as ``received = d1`` or ``d0`` by
        arm, the outcome as ``y1`` for those who receive and ``y0`` for the
        rest (exclusion: assignment acts only through receipt), and the
        estimand is the population's Wald ratio ``sum((d1 - d0)(y1 - y0)) /
        sum(d1 - d0)``, the mean effect of receipt on compliers when there
        are no defiers. Built in: ``whp_population(take_up=...,
        contamination=...)``.
    sims
        Number of simulated trials.
    seed
        An int or a ``numpy.random.Generator``. Simulation ``s`` uses the
        ``s``-th child of ``numpy.random.SeedSequence(seed)``, so the results
        do not depend on ``workers``.
    effect
        Constant treatment effect added to ``y0`` when the population has no
        ``y1`` column; ``effect=0`` simulates the null (then ``power`` is the
        test's size).
    id, arms, strata, cluster
        As in :func:`dwp_eval.randomise`; ``arms`` must name two arms
        (default ``{"control": 1, "treatment": 1}``).
    covariates, adjustment, se_type, alpha
        As in :func:`dwp_eval.itt`.
    workers
        Processes to run batches of simulations in (``concurrent.futures``).
        ``1`` (default) runs in this process.
    progress
        ``True``: show a progress bar (tqdm: on stderr, or a widget in Jupyter);
        ``None`` (default): only in a terminal or a Jupyter notebook, once the
        run takes more than 2 s; ``False``: never.

    Returns
    -------
    Diagnosis

    Notes
    -----
    With ``S`` simulations, estimates ``b_s`` and truths ``t_s`` (Morris,
    White & Crowther 2019, Table 6), each metric has a Monte Carlo standard
    error: bias ``mean(b_s - t_s)`` with ``sd(b_s - t_s)/sqrt(S)``; coverage
    and power (proportions ``P``) with ``sqrt(P(1 - P)/S)``; RMSE by the delta
    method, ``sd((b_s - t_s)^2) / (2 RMSE sqrt(S))``; empirical SE with
    ``EmpSE / sqrt(2(S - 1))``; mean interval width with ``sd(width)/sqrt(S)``.

    *Batching.* For a fixed population (a DataFrame) ``itt``'s estimator is
    evaluated for many assignments at once (``method="batched"``), with the same
    estimates, SEs and df as :func:`dwp_eval.itt` on each simulated data set (to
    rounding). Without covariates or clusters, the design-based difference in
    means (standard or blocked) and its Neyman (= HC2) variance come from the
    treated units' sums of ``[y1, y1^2, y0, y0^2]``. With covariates (additive or
    Lin, strata as fixed effects, a classical or HC ``se_type``) only the
    assignment column ``z`` (and, for Lin, ``z`` times the centred covariates)
    changes between simulations: the fixed part (intercept or strata, centred
    covariates) is factorised once and each simulation's coefficient follows by
    Frisch-Waugh-Lovell, ``b = (W'W)^{-1} W'My`` with ``W = MV``, its leverages
    by ``P_[F,V] = P_F + P_W`` (Davidson & MacKinnon 2004, *Econometric Theory
    and Methods*, sec. 2.4; :mod:`dwp_eval._core.batched_fits`). ``itt`` itself
    still runs on the first simulated trial (its checks and labels). Clustered
    designs, a population function (a new population, so a new fixed part, each
    time), ``estimator="cace"``, a custom estimator and matched pairs call the
    estimator once per simulation (``method="loop"``).

    *Sign and magnitude.* The result also reports Gelman & Carlin's (2014)
    type S error rate and exaggeration ratio (type M) of the significant
    estimates: see :class:`~dwp_eval.results.Diagnosis`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> pop = pd.DataFrame({"y0": rng.normal(size=400)})
    >>> res = diagnose(pop, effect=0.3, sims=200, seed=2)
    >>> res.method, res.design
    ('batched', 'standard')
    >>> round(res.coverage, 2), round(res.power, 2)
    (0.94, 0.87)
    """
    func = "diagnose"
    sims = check_draws(sims, name="sims", func=func, minimum=2)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise OptionError(f"The 'workers' parameter of {func} must be a positive int. Got {workers!r} instead.")
    alpha = check_alpha(alpha, func=func)
    adjustment = check_option(adjustment, ("lin", "additive"), param="adjustment", func=func)  # type: ignore[assignment]
    if effect is not None and (isinstance(effect, bool) or not isinstance(effect, (int, float, np.floating))
                               or not np.isfinite(effect)):
        raise OptionError(f"The 'effect' parameter of {func} must be a finite number. Got {effect!r} instead.")
    if not callable(estimator):
        check_option(estimator, ["itt", "cace"], param="estimator", func=func)
    arm_map, control, treatment = _arms(arms if arms is not None else {"control": 1, "treatment": 1}, func)
    strata_list = as_column_list(strata)
    covs = [] if covariates is None else list(covariates)
    ss, seed_int = _seed_sequence(seed, func)
    batched = (estimator == "itt" and not covs and cluster is None and se_type is None)
    spec = Spec(None, None, estimator, None if effect is None else float(effect), id, arm_map,
                control, treatment, strata_list, cluster, covs, adjustment, se_type, alpha, batched)
    spec = replace(spec, regression=regression_ok(spec))
    if isinstance(design, pd.DataFrame):
        pop = check_population(design, spec, func)
        prepared = FixedPopulation(pop, spec, func)  # validates the design once, here
        ok = batched and batched_ok(prepared.stratum_rows if strata_list else None, len(pop),
                                    arm_map, control)
        spec = replace(spec, population=pop.reset_index(drop=True), batched=ok)
    elif callable(design):
        spec = replace(spec, dgp=design, regression=False)  # a new population each time
    else:
        raise OptionError(
            f"The 'design' parameter of {func} must be a pandas DataFrame (a population with "
            f"potential outcomes y0 and y1) or a callable dgp(rng) returning one. Got "
            f"{type(design).__name__} instead."
        )

    children = ss.spawn(int(sims))
    # a fixed population is prepared once for every chunk run here (other processes
    # prepare their own)
    state = (prepare_fixed(spec, children[0], prepared)
             if spec.population is not None and (workers == 1 or len(children) <= CHUNK) else None)
    chunks = [children[i : i + CHUNK] for i in range(0, int(sims), CHUNK)]
    bar = progress_bar(int(sims), progress, desc="diagnose", unit="sim")
    outs: list[Out] = []
    try:
        if workers == 1 or len(chunks) == 1:
            for c in chunks:
                outs.append(run_chunk(spec, c, state))
                bar.update(len(c))
        else:
            try:
                pickle.dumps(spec)
            except Exception as exc:
                raise OptionError(
                    f"{func}: with workers={workers} the design and estimator are sent to other "
                    f"processes, but they cannot be pickled ({exc}). Fix: use a module-level "
                    "function or a class instance instead of a lambda or closure, or workers=1."
                ) from None
            with ProcessPoolExecutor(max_workers=min(int(workers), len(chunks), os.cpu_count() or 1)) as ex:
                for c, out in zip(chunks, ex.map(run_chunk, [spec] * len(chunks), chunks), strict=True):
                    outs.append(out)
                    bar.update(len(c))
    finally:
        bar.close()

    def cat(name: str) -> np.ndarray:
        arr = np.concatenate([getattr(o, name) for o in outs])
        arr.flags.writeable = False
        return arr

    return Diagnosis(
        estimator=estimator if isinstance(estimator, str) else getattr(estimator, "__name__", "custom"),
        design=outs[-1].design,
        se_type=outs[-1].se_type,
        method="batched" if all(o.fast for o in outs) else "loop",
        sims=int(sims),
        n=float(np.mean(cat("n"))),
        alpha=alpha,
        effect=spec.effect,
        estimates=cat("estimate"),
        std_errors=cat("std_error"),
        conf_low=cat("conf_low"),
        conf_high=cat("conf_high"),
        p_values=cat("p_value"),
        truths=cat("truth"),
        seed=seed_int,
    )
