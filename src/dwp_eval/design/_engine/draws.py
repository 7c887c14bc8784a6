"""Drawing allocations: complete randomisation within strata, permuted blocks in
arrival order (continuing open blocks across batches), re-randomisation until
balanced, the allocation table of a draw, and seeds recorded so that every
draw can be repeated.

The generator is consumed in a fixed sequence (see :func:`draw_complete` and
:func:`draw_blocks`). Only ``Generator.random`` and ``Generator.integers`` are
used, so an allocation can be re-drawn from its seed on any platform numpy supports.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.design._engine.canonical import Prepared
from dwp_eval.design._engine.spec import Design
from dwp_eval.errors import DesignError

__all__ = [
    "Draw",
    "OpenBlock",
    "complete_counts",
    "draw",
    "draw_blocks",
    "draw_complete",
    "rng_from_record",
    "seed_record",
    "std_diffs",
    "table_from_draw",
]


def complete_counts(n_s: np.ndarray, weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Arm counts per stratum with exact expected values ``n_s * w_a / W``.

    Each stratum gets ``floor(n_s p_a)`` of arm ``a``; the ``R_s`` people left
    over (the "misfits") go one each to ``R_s`` arms chosen by systematic
    sampling with inclusion probabilities equal to the fractional parts
    ``n_s p_a - floor(n_s p_a)`` (Madow 1949): a single uniform ``u_s`` places
    the points ``u_s, u_s + 1, ...`` on the cumulated fractional parts. So every
    arm count is the floor or the ceiling of its expected value, the counts sum
    to ``n_s``, and ``E[m_a] = n_s p_a`` exactly, which makes every person's
    probability of arm ``a`` exactly ``p_a``. With two arms this is randomizr's
    rule (Coppock 2023): ceiling with probability equal to the fractional part.
    """
    W = int(weights.sum())
    num = n_s[:, None].astype(np.int64) * weights[None, :].astype(np.int64)
    floors = num // W
    rem = num - floors * W
    cum = np.cumsum(rem, axis=1)
    prev = cum - rem
    extra = np.ceil(cum / W - u[:, None]) - np.ceil(prev / W - u[:, None])
    return floors + extra.astype(np.int64)


def draw_complete(unit_stratum: np.ndarray, n_strata: int, weights: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Complete random assignment of units within strata; returns arm index per unit.

    Generator use: ``rng.random(n_strata)`` for the remainder rule, then
    ``rng.permutation(n_units)``, a uniformly random order of the units. A stable
    sort of that order by stratum keeps it random within each stratum; the first
    ``m_1`` units of a stratum in that order get arm 1, the next ``m_2`` arm 2,
    and so on.
    """
    n_units = len(unit_stratum)
    n_arms = len(weights)
    n_s = np.bincount(unit_stratum, minlength=n_strata)
    u = rng.random(n_strata)
    counts = complete_counts(n_s, weights, u)
    # rng.shuffle of 0..n-1 gives the same order as rng.permutation(n_units); 32-bit
    # indices halve the memory traffic
    perm = np.arange(n_units, dtype=np.int32 if n_units < 2**31 else np.int64)
    rng.shuffle(perm)
    # a stable sort on 16-bit codes is a radix sort: linear time
    codes = unit_stratum.astype(np.uint16 if n_strata <= 65536 else np.int64)
    order = perm[np.argsort(codes[perm], kind="stable")]
    arm_sorted = np.repeat(np.tile(np.arange(n_arms, dtype=np.int8), n_strata), counts.ravel())
    arm = np.empty(n_units, dtype=np.int8)
    arm[order] = arm_sorted
    return arm.astype(np.int64)


@dataclass
class OpenBlock:
    """The unfilled end of the last permuted block in a stratum."""

    number: int
    size: int
    remaining: list[int]  # arm indices still to be handed out, sorted


def draw_blocks(
    unit_stratum: np.ndarray,
    unit_arrival_order: np.ndarray,
    stratum_labels: Sequence[str],
    weights: np.ndarray,
    block_sizes: Sequence[int],
    rng: np.random.Generator,
    state: dict[str, OpenBlock],
    next_block: dict[str, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, OpenBlock]]:
    """Permuted blocks of random size within strata, in arrival order.

    Within a stratum (strata taken in label order), units are taken in arrival
    order. If the stratum has an open block from an earlier batch, its remaining
    arms are handed out first in a fresh random order (``rng.random(k)`` sort
    keys). Then block sizes are drawn uniformly from ``block_sizes`` with
    ``rng.integers`` (``ceil(n / min size) + 1`` draws), each block holds the arms
    in the exact ratio, and ``rng.random`` keys permute the arms within each block.
    A block left unfilled stays open for the next batch. Every position of a
    uniformly permuted block has arm ``a`` with probability ``p_a``, so each
    person's probability is exactly the ratio.

    Returns arm index, block number and block size per unit, and the new open blocks.
    """
    n_units = len(unit_stratum)
    arm = np.full(n_units, -1, dtype=np.int64)
    block_no = np.zeros(n_units, dtype=np.int64)
    block_sz = np.zeros(n_units, dtype=np.int64)
    W = int(weights.sum())
    sizes = np.asarray(block_sizes, dtype=np.int64)
    comps = {int(z): np.repeat(np.arange(len(weights)), weights * (int(z) // W)) for z in sizes}
    new_state = dict(state)
    if n_units == 0:
        return arm, block_no, block_sz, new_state
    by_stratum = np.lexsort((unit_arrival_order, unit_stratum))
    s_sorted = unit_stratum[by_stratum]
    bounds = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1], True])
    for lo, hi in itertools.pairwise(bounds):
        units = by_stratum[lo:hi]
        label = stratum_labels[int(s_sorted[lo])]
        n = len(units)
        taken = 0
        open_block = new_state.pop(label, None)
        if open_block is not None:
            rem = np.asarray(open_block.remaining, dtype=np.int64)
            perm = rem[np.argsort(rng.random(len(rem)), kind="stable")]
            k = min(len(perm), n)
            arm[units[:k]] = perm[:k]
            block_no[units[:k]] = open_block.number
            block_sz[units[:k]] = open_block.size
            taken = k
            if k < len(perm):
                new_state[label] = OpenBlock(open_block.number, open_block.size, sorted(perm[k:].tolist()))
        left = n - taken
        if left <= 0:
            continue
        n_draw = math.ceil(left / int(sizes.min())) + 1
        chosen = sizes[rng.integers(0, len(sizes), size=n_draw)]
        nb = int(np.searchsorted(np.cumsum(chosen), left)) + 1
        chosen = chosen[:nb]
        arms_all = np.concatenate([comps[int(z)] for z in chosen])
        blk = np.repeat(np.arange(nb), chosen)
        keys = rng.random(len(arms_all))
        perm_all = arms_all[np.lexsort((keys, blk))]
        first = next_block.get(label, 1)
        rest = units[taken:]
        arm[rest] = perm_all[:left]
        block_no[rest] = first + blk[:left]
        block_sz[rest] = chosen[blk[:left]]
        next_block[label] = first + nb
        if left < len(perm_all):
            new_state[label] = OpenBlock(
                first + nb - 1, int(chosen[-1]), sorted(perm_all[left:].tolist())
            )
    return arm, block_no, block_sz, new_state


def std_diffs(x: np.ndarray, arm: np.ndarray, n_arms: int, control: int) -> np.ndarray:
    """Standardised differences of each column of ``x``, every arm against control.

    ``(mean_a - mean_c) / sqrt((var_a + var_c) / 2)`` with sample variances
    (Austin 2009, *Statistics in Medicine* 28, eq. 1). Returns an
    ``(n_arms - 1) x K`` array; an arm with fewer than two people gives ``inf``.
    """
    counts = np.bincount(arm, minlength=n_arms).astype(float)
    sums = np.vstack([np.bincount(arm, weights=x[:, j], minlength=n_arms) for j in range(x.shape[1])]).T
    sq = np.vstack([np.bincount(arm, weights=x[:, j] ** 2, minlength=n_arms) for j in range(x.shape[1])]).T
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / counts[:, None]
        var = (sq - counts[:, None] * means**2) / (counts[:, None] - 1)
        others = [a for a in range(n_arms) if a != control]
        pooled = np.sqrt((var[others] + var[control]) / 2)
        d = (means[others] - means[control]) / pooled
    d[~np.isfinite(d)] = np.inf
    return np.asarray(d)


@dataclass
class Draw:
    """The outcome of drawing one batch (internal)."""

    arm_person: np.ndarray
    block_no: np.ndarray | None
    block_size: np.ndarray | None
    state: dict[str, OpenBlock]
    draws: int
    max_abs_std_diff: float | None


def draw(
    prep: Prepared,
    design: Design,
    rng: np.random.Generator,
    *,
    method: str,
    state: dict[str, OpenBlock] | None = None,
    next_block: dict[str, int] | None = None,
    fixed_unit_arm: np.ndarray | None = None,
    func: str,
) -> Draw:
    """Draw one batch. ``fixed_unit_arm`` (>= 0) keeps the arm of units already allocated."""
    w = np.asarray(design.weights, dtype=np.int64)
    n_strata = len(prep.stratum_labels)
    free = np.ones(len(prep.unit_keys), dtype=bool)
    if fixed_unit_arm is not None:
        free = fixed_unit_arm < 0
    if method == "complete":
        rule = design.rule
        control = design.arms.index(design.control)
        draws = 0
        max_d: float | None = None
        best = np.inf
        while True:
            draws += 1
            if fixed_unit_arm is None:
                unit_arm = draw_complete(prep.unit_stratum, n_strata, w, rng)
            else:
                unit_arm = np.full(len(prep.unit_keys), -1, dtype=np.int64)
                unit_arm[free] = draw_complete(prep.unit_stratum[free], n_strata, w, rng)
            # without clusters the units are the people, in the same order
            arm_person = unit_arm if prep.cluster is None else unit_arm[prep.unit_of_person]
            if rule is None or prep.covariates is None:
                break
            d = std_diffs(prep.covariates, arm_person, len(w), control)
            max_d = float(np.max(np.abs(d)))
            best = min(best, max_d)
            if max_d < rule.max_abs_std_diff:
                break
            if draws >= rule.max_draws:
                raise DesignError(
                    f"{func}: no allocation met the re-randomisation rule "
                    f"(all |standardised difference| < {rule.max_abs_std_diff}) in "
                    f"{rule.max_draws:,} draws; the best-balanced of them had "
                    f"{best:.3f}. Fix: loosen max_abs_std_diff, allow more max_draws, "
                    "or stratify on the covariates instead."
                )
        return Draw(arm_person, None, None, {}, draws, max_d)
    if design.block_sizes is None:
        base = design.base_block
        sizes: tuple[int, ...] = (base, 2 * base, 3 * base)
    else:
        sizes = design.block_sizes
    unit_arm = np.full(len(prep.unit_keys), -1, dtype=np.int64)
    unit_blk = np.zeros(len(prep.unit_keys), dtype=np.int64)
    unit_bsz = np.zeros(len(prep.unit_keys), dtype=np.int64)
    idx = np.flatnonzero(free)
    a, b, z, new_state = draw_blocks(
        prep.unit_stratum[idx],
        _arrival_rank(prep, idx),
        prep.stratum_labels,
        w,
        sizes,
        rng,
        dict(state or {}),
        next_block if next_block is not None else {},
    )
    unit_arm[idx], unit_blk[idx], unit_bsz[idx] = a, b, z
    if fixed_unit_arm is not None:
        keep = ~free
        unit_arm[keep] = fixed_unit_arm[keep]
    return Draw(
        unit_arm[prep.unit_of_person],
        unit_blk[prep.unit_of_person],
        unit_bsz[prep.unit_of_person],
        new_state,
        1,
        None,
    )


def _arrival_rank(prep: Prepared, idx: np.ndarray) -> np.ndarray:
    """Arrival order of the units ``idx``: by arrival value, then canonical key."""
    return np.lexsort((np.arange(len(idx)), prep.unit_arrival[idx])).argsort()


def table_from_draw(prep: Prepared, design: Design, d: Draw, *, batch: int) -> pd.DataFrame:
    """The allocation table of one batch, in canonical id order."""
    # copies: the table must not share memory with the caller's data
    # the id (and cluster) keep their dtype (Int64, categorical, datetime with a zone, ...)
    cols: dict[str, Any] = {design.id: prep.id_values.copy(deep=True)}
    arms = list(design.arms)
    cols["arm"] = pd.Categorical.from_codes(d.arm_person, categories=arms)
    if design.strata:
        cols["stratum"] = pd.Categorical.from_codes(prep.stratum, categories=prep.stratum_labels)
    if design.cluster is not None and prep.cluster_values is not None:
        cols["cluster"] = prep.cluster_values.copy(deep=True)
    cols["batch"] = np.full(prep.n, batch, dtype=np.int64)
    if d.block_no is not None and d.block_size is not None:
        cols["block"] = d.block_no
        cols["block_size"] = d.block_size
    p = design.probabilities
    for j, name in enumerate(arms):
        cols[f"prob_{name}"] = np.full(prep.n, p[j])
    return pd.DataFrame(cols, copy=False)  # every array above is new: no need to copy


# ------------------------------------------------------------------ seeds


def seed_record(rng_or_seed: int | np.random.Generator) -> dict[str, Any]:
    """JSON-able record of a seed: the int, or the generator's full state."""
    if isinstance(rng_or_seed, np.random.Generator):
        bg = rng_or_seed.bit_generator
        return {"kind": "generator", "bit_generator": type(bg).__name__, "state": bg.state}
    return {"kind": "int", "seed": int(rng_or_seed)}


def rng_from_record(rec: Mapping[str, Any]) -> np.random.Generator:
    """Rebuild the generator recorded by :func:`seed_record`."""
    if rec["kind"] == "int":
        return np.random.default_rng(int(rec["seed"]))
    bg_cls = getattr(np.random, rec["bit_generator"])
    bg = bg_cls()
    bg.state = rec["state"]
    return np.random.Generator(bg)
