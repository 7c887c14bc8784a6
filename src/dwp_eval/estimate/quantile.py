"""Unconditional quantile treatment effects (differences of the arms' quantiles) with
a design-following bootstrap, and the share with a zero outcome by arm."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.assignments import unit_cells
from dwp_eval._core.sample import prepare_sample
from dwp_eval._validation import check_alpha, check_draws, check_seed
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate.resampling import resample_counts
from dwp_eval.results.quantile import QuantileEffects

__all__ = ["DEFAULT_QUANTILES", "MIN_BEYOND", "quantile_effects", "weighted_quantiles"]

#: The quantiles :func:`quantile_effects` reports by default.
DEFAULT_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: An arm must hold at least this many people below and above each quantile
#: (``n_a min(tau, 1 - tau) >= MIN_BEYOND``): an order statistic nearer the ends is
#: the sample's extreme, which the bootstrap cannot reproduce in distribution.
MIN_BEYOND = 5
# Largest number of draws x rows held at once in a batch of the bootstrap.
_BATCH = 4_000_000


def quantile_effects(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: Any = "control",
    treatment: Any | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    draws: int = 999,
    seed: int | np.random.Generator | None = None,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> QuantileEffects:
    """Quantile treatment effects: the difference of the arms' ``tau``-quantiles.

    Parameters
    ----------
    data
        One row per person.
    outcome
        Numeric outcome (earnings: often zero for many people).
    assigned, control, treatment
        The arm column and the compared arms' labels, as in :func:`~dwp_eval.itt`.
    quantiles
        Levels ``tau``, each strictly between 0 and 1.
    strata
        Randomisation strata: the bootstrap resamples within stratum and arm.
    cluster
        Column of the clusters when whole clusters were randomised: the bootstrap
        resamples whole clusters (within stratum and arm).
    draws
        Bootstrap draws.
    seed
        An int or a :class:`numpy.random.Generator` (required: the intervals are
        random).
    alpha
        The intervals are ``1 - alpha`` percentile intervals.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome or arm
        (a warning counts them).

    Returns
    -------
    QuantileEffects

    Notes
    -----
    The sample quantile of arm ``a`` is the inverse of its empirical CDF
    (Hyndman & Fan 1996, type 1; R ``quantile(type = 1)``)::

        Q_a(tau) = inf{y : F_a(y) >= tau} = y_a(ceil(n_a tau)),

    the ``ceil(n_a tau)``-th smallest outcome in the arm. When ``n_a tau`` is not
    an integer it is the unique minimiser of the check loss, so the effect
    ``Q_T(tau) - Q_C(tau)`` equals the coefficient of the treatment dummy in
    Koenker & Bassett's (1978) quantile regression ``rq(y ~ arm, tau)`` (R
    quantreg; checked in ``tests/reference/quantile/``). When ``n_a tau`` is an
    integer every point of ``[y_a(n_a tau), y_a(n_a tau + 1)]`` minimises the
    loss: type 1 takes the lower end. This is the unconditional quantile
    treatment effect of Firpo (2007, eq. 2 without covariates), which a
    randomised trial identifies; Bitler, Gelbach & Hoynes (2006) read a
    welfare-to-work trial's earnings this way.

    *The mass at zero.* When ``tau <= p_a``, the share of arm ``a`` with a zero
    outcome (and none negative), ``Q_a(tau) = 0`` exactly: no interpolation
    happens. Where ``tau`` lies inside both arms' zero mass the effect is exactly
    0 (``zero_mass = "both"``); inside one arm's only (``"control"`` or
    ``"treatment"``), the effect is the other arm's quantile minus zero: the
    programme moved people out of (or into) having no earnings at that rank,
    which is a real effect, reported as such and flagged.

    *Intervals* (Efron & Tibshirani 1993, ch. 13, percentile method): each
    bootstrap draw resamples people, or whole clusters when clusters were
    randomised, with replacement within each stratum x arm cell (the design's
    cells), and recomputes both arms' type-1 quantiles (the weighted version,
    a clustered draw's arm size varying); the interval is the ``alpha/2`` and
    ``1 - alpha/2`` quantiles of the draws (numpy's linear interpolation), the
    standard error their standard deviation and the p-value
    ``min(1, 2 (1 + min(#{b <= 0}, #{b >= 0})) / (B + 1))``. The zero shares and
    their difference get the same bootstrap.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> arm = np.repeat(["control", "treatment"], 201)
    >>> y = np.where(rng.random(402) < 0.4, 0.0, rng.lognormal(8, 1, 402)).round(2)
    >>> res = quantile_effects(pd.DataFrame({"arm": arm, "y": y}), outcome="y",
    ...                        assigned="arm", quantiles=[0.2, 0.5, 0.8], seed=1, draws=199)
    >>> res.to_frame()[["quantile", "zero_mass"]].to_dict("list")
    {'quantile': [0.2, 0.5, 0.8], 'zero_mass': ['both', 'none', 'none']}
    """
    func = "quantile_effects"
    alpha = check_alpha(alpha, func=func)
    taus = check_quantiles(quantiles, func=func)
    draws = check_draws(draws, func=func, minimum=19, hint=" (e.g. 999)")
    if seed is None:
        raise OptionError(
            f"The 'seed' parameter of {func} is required: the bootstrap intervals are random. "
            "Fix: pass seed=<an int> (or a numpy Generator), e.g. seed=2024."
        )
    rng = check_seed(seed, func=func)
    prep, _ = prepare_sample(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=[], strata=strata, cluster=cluster, weights=None, missing=missing, func=func,
    )
    y, z = prep.y, prep.z
    for arm, name in ((1.0, prep.treatment), (0.0, prep.control)):
        n_a = int(np.sum(z == arm))
        need = max(math.ceil(MIN_BEYOND / min(t, 1 - t) - 1e-9) for t in taus)
        if n_a < need:
            raise DesignError(
                f"{func}: arm {name!r} holds {n_a:,} people, too few for quantiles "
                f"{_taus_text(taus)}: each needs at least {MIN_BEYOND} people below and above it "
                f"(n x min(tau, 1 - tau) >= {MIN_BEYOND}), so {need:,} people in each arm. Fix: "
                "drop the extreme quantiles, or analyse a larger sample."
            )
    stratum = np.zeros(len(y), dtype=np.int64) if prep.strata is None else prep.strata
    cell = stratum * 2 + z.astype(np.int64)
    if prep.cluster is None:
        # people, numbered in outcome order within each stratum x arm: the draws then do
        # not depend on the rows' order, and an arm's counts are already in sorted order
        perm = np.lexsort((y, z, stratum))
        cells = unit_cells(np.arange(len(y), dtype=np.int64), stratum[perm], z[perm], cell=cell[perm])
        unit_of_row = np.empty(len(y), dtype=np.int64)
        unit_of_row[perm] = cells.unit_of_row
    else:
        spans = pd.Series(stratum).groupby(prep.cluster).nunique().to_numpy()
        if np.any(spans > 1):
            raise DesignError(
                f"{func}: {int(np.sum(spans > 1)):,} cluster(s) in column {cluster!r} span several "
                f"strata of {strata!r}, so whole clusters cannot be resampled within strata. Fix: "
                "pass the strata whole clusters were randomised in (each cluster in one stratum)."
            )
        cells = unit_cells(prep.cluster, stratum, z, cell=cell)
        unit_of_row = cells.unit_of_row
    lo = cells.cells.lo
    runs = [(int(a), int(a + m)) for a, m in zip(lo, cells.cells.n, strict=True)]
    short = [e - a for a, e in runs if e - a < 2]
    if short:
        what = "clusters" if prep.cluster is not None else "people"
        raise DesignError(
            f"{func}: {len(short):,} stratum x arm cell(s) hold a single one of the {what} the "
            "bootstrap resamples, so the draws could not vary there. Fix: merge those strata."
        )
    engine = QuantileEngine(y, z, unit_of_row, cells.cells.n_units, taus)
    observed = engine.statistics(np.ones((1, cells.cells.n_units), dtype=np.int64))[0]
    boot = np.vstack([engine.statistics(c) for c in resample_counts(
        runs, cells.cells.n_units, rng, draws,
        batch_elements=max(1, _BATCH // len(y)) * cells.cells.n_units,
    )])
    resampled = "whole clusters" if prep.cluster is not None else "people"
    within = "stratum and arm" if prep.strata is not None else "arm"
    method = (f"difference of type-1 arm quantiles; percentile bootstrap ({draws:,} draws, "
              f"{resampled} resampled within {within})")
    return QuantileEffects(
        outcome=str(outcome), treatment=prep.treatment, control=prep.control,
        quantiles=taus, estimates=observed, draws_matrix=boot, alpha=alpha,
        n_by_arm=prep.n_by_arm, draws=draws, method=method,
        design="clustered" if prep.cluster is not None else (
            "blocked" if prep.strata is not None else "standard"),
        n_clusters=None if prep.cluster is None else int(cells.cells.n_units),
        n_strata=None if prep.strata is None else int(stratum.max()) + 1,
        cdf_control=_ecdf(y[z == 0]), cdf_treatment=_ecdf(y[z == 1]),
        dropped=prep.dropped,
    )


def check_quantiles(quantiles: Any, *, func: str) -> tuple[float, ...]:
    """The levels as floats strictly inside (0, 1), distinct, sorted."""
    if isinstance(quantiles, int | float | np.number):
        quantiles = [quantiles]
    try:
        taus = [float(t) for t in quantiles]
    except (TypeError, ValueError):
        raise OptionError(
            f"The 'quantiles' parameter of {func} must be a list of numbers in (0, 1). Got "
            f"{quantiles!r} instead."
        ) from None
    bad = [t for t in taus if not 0.0 < t < 1.0]  # NaN fails too
    if not taus or bad:
        raise OptionError(
            f"The 'quantiles' parameter of {func} must be numbers strictly between 0 and 1 "
            f"(e.g. [0.1, 0.25, 0.5, 0.75, 0.9]). Got {_taus_text(bad or taus) if taus else '[]'} "
            "instead. Fix: pass levels as fractions, e.g. 0.5 for the median (not 50)."
        )
    if len(set(taus)) != len(taus):
        raise OptionError(f"The 'quantiles' parameter of {func} repeats a level: {_taus_text(taus)}.")
    return tuple(sorted(taus))


def _taus_text(taus: Sequence[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in taus) + "]"


def _ecdf(v: np.ndarray) -> np.ndarray:
    """The distinct values of ``v`` and the empirical CDF at each (2 x k)."""
    vals, counts = np.unique(v, return_counts=True)
    return np.vstack([vals, np.cumsum(counts) / len(v)])


class QuantileEngine:
    """Both arms' type-1 quantiles and zero shares for many resampling draws at once.

    Each arm's rows are sorted by outcome once; a draw is a vector of counts per
    resampled unit (person or cluster), i.e. integer weights per row. The weighted
    type-1 quantile is the first sorted row whose cumulative weight reaches
    ``ceil(tau W - 1e-9)`` (``W``: the draw's total weight in the arm; weights are
    integers, so the offset only absorbs rounding in ``tau W``). When the arm's units
    are its people numbered in outcome order (no clusters, no strata) the counts are
    used in place; otherwise they are gathered per row."""

    def __init__(self, y: np.ndarray, z: np.ndarray, unit_of_row: np.ndarray, n_units: int,
                 taus: Sequence[float]) -> None:
        self.taus = np.asarray(taus, dtype=float)
        self.n_units = n_units
        self.arms: list[tuple[np.ndarray, np.ndarray | slice, int, int]] = []
        for arm in (0.0, 1.0):
            rows = np.flatnonzero(z == arm)
            order = rows[np.argsort(y[rows], kind="stable")]
            units = unit_of_row[order]
            ys = y[order]
            a = int(units[0])
            contiguous = bool(np.array_equal(units, np.arange(a, a + len(units))))
            zeros = np.flatnonzero(ys == 0.0)  # a contiguous run of the sorted outcomes
            z0, z1 = (int(zeros[0]), int(zeros[-1]) + 1) if len(zeros) else (0, 0)
            self.arms.append((ys, slice(a, a + len(units)) if contiguous else units, z0, z1))

    def statistics(self, counts: np.ndarray) -> np.ndarray:
        """``draws x (3 Q + 3)``: the control quantiles, treatment quantiles, their
        differences, then the control and treatment zero shares and their difference."""
        parts = []
        shares = []
        for ys, units, z0, z1 in self.arms:
            cum = np.cumsum(counts[:, units], axis=1)
            parts.append(weighted_quantiles(ys, cum, self.taus, cumulative=True))
            total = cum[:, -1].astype(float)
            if z1 > z0:
                inside = cum[:, z1 - 1] - (cum[:, z0 - 1] if z0 > 0 else 0)
                shares.append(inside / total)
            else:
                shares.append(np.zeros(len(cum)))
        qc, qt = parts
        return np.column_stack([qc, qt, qt - qc, shares[0], shares[1], shares[1] - shares[0]])


def weighted_quantiles(sorted_y: np.ndarray, weights: np.ndarray, taus: np.ndarray, *,
                       cumulative: bool = False) -> np.ndarray:
    """Type-1 quantiles of ``sorted_y`` (ascending) under each row of integer
    ``weights`` (draws x n; ``cumulative=True``: their running sums along the rows):
    ``draws x len(taus)``. One cumulative sum per draw, then a binary search of each
    row for the ``len(taus)`` ranks."""
    cum = weights if cumulative else np.cumsum(weights, axis=1)
    need = np.ceil(np.outer(cum[:, -1], taus) - 1e-9)  # draws x Q, in 1..total
    idx = np.empty(need.shape, dtype=np.int64)
    for b in range(len(cum)):
        idx[b] = np.searchsorted(cum[b], need[b], side="left")
    return sorted_y[idx]
