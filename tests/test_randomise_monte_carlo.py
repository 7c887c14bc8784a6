"""Seeded Monte Carlo: every person's arm frequencies match their ``prob_<arm>``.

Each design below is allocated with N_SEEDS consecutive int seeds (independent
PCG64 streams; a separate range per design), and each person's count of every arm is compared with
``N_SEEDS * prob_<arm>`` by a chi-square goodness-of-fit test (k - 1 degrees of
freedom for k arms; the smallest expected count is 2000 / 4 = 500, so the
chi-square approximation is accurate far into the tail).

Decision rule: a design fails if any person's p-value, multiplied by the number
of people tested (Bonferroni across people, valid whatever their dependence),
is below LEVEL = 1e-4. So each design raises a false alarm with probability at
most 1e-4, and the whole module (9 designs) with probability at most 9e-4.
The seeds are fixed, so the outcome is deterministic.

Power: with 2000 seeds a person whose probability is off by 0.05 (0.45 instead
of 0.5) has a non-centrality of 2000 * 0.05^2 * (1/0.45 + 1/0.55) = 20.2, so
each such person alone is rejected about half the time at the Bonferroni
threshold; ``test_the_test_rejects_a_wrong_probability`` shows it happens.

The designs stress what could go wrong: strata whose sizes are not multiples
of the ratio sum (the remainder rule), unequal ratios (1:2 and 2:1:1), clusters
of unequal size, permuted blocks cut short at the end of a stratum, and
rolling allocation where later batches continue the open blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dwp_eval as de

pytestmark = pytest.mark.slow

N_SEEDS = 2000
# family-wise level per design, after Bonferroni across people (see module docstring)
LEVEL = 1e-4
# prob_<arm> is one double per person: it must equal w_a / W to rounding only
ATOL_PROB = 1e-15

MISFIT_SIZES = (1, 2, 3, 5, 7)


def people_in_strata(sizes: tuple[int, ...]) -> pd.DataFrame:
    """Ids 0..n-1 in strata of the given sizes, rows shuffled."""
    n = sum(sizes)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "stratum": np.repeat([f"s{k}" for k in range(len(sizes))], sizes),
        }
    )
    return frame.iloc[np.random.default_rng(99).permutation(n)]


def people_in_clusters(clusters: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """Clusters of the given sizes within strata (stratum -> cluster sizes)."""
    rows = []
    k = 0
    for stratum, sizes in clusters.items():
        for size in sizes:
            rows += [(stratum, f"c{k:02d}")] * size
            k += 1
    frame = pd.DataFrame(rows, columns=["stratum", "office"])
    frame.insert(0, "id", np.arange(len(frame)))
    return frame.iloc[np.random.default_rng(98).permutation(len(frame))]


def one_batch(data: pd.DataFrame, **kwargs: Any) -> Callable[[int], pd.DataFrame]:
    def run(seed: int) -> pd.DataFrame:
        return de.randomise(data, seed=seed, **kwargs).table

    return run


def rolling(data: pd.DataFrame, first: tuple[int, ...], **kwargs: Any) -> Callable[[int], pd.DataFrame]:
    """Randomise the first ``first[s]`` people (by id) of each stratum ``s``, then
    extend with the rest, so every stratum's open block continues in batch 1."""
    data = data.sort_values("id")
    position = data.groupby("stratum").cumcount().to_numpy()
    limit = data["stratum"].map(dict(zip(sorted(data["stratum"].unique()), first, strict=True))).to_numpy()
    early = data[position < limit]
    late = data[position >= limit]
    # batch 1 comes after batch 0 in the table, so keep ids increasing across batches
    late = late.assign(id=late["id"] + len(data))

    def run(seed: int) -> pd.DataFrame:
        alloc = de.randomise(early, seed=seed, **kwargs)
        # a seed for batch 1 disjoint from the batch-0 seeds
        return alloc.extend(late, seed=1_000_000 + seed).table

    return run


DESIGNS: dict[str, tuple[Callable[[int], pd.DataFrame], list[str]]] = {
    "stratified 1:1, strata of 1, 2, 3, 5, 7": (
        one_batch(people_in_strata(MISFIT_SIZES), strata="stratum"),
        ["control", "treatment"],
    ),
    "stratified 1:2, strata of 1, 2, 3, 5, 7": (
        one_batch(people_in_strata(MISFIT_SIZES), strata="stratum", arms={"control": 1, "treatment": 2}),
        ["control", "treatment"],
    ),
    "stratified 2:1:1, strata of 1, 2, 3, 5, 7": (
        one_batch(people_in_strata(MISFIT_SIZES), strata="stratum", arms={"a": 2, "b": 1, "c": 1}),
        ["a", "b", "c"],
    ),
    "cluster 1:1, 7 unequal clusters": (
        one_batch(people_in_clusters({"all": (1, 2, 3, 4, 5, 8, 1)}), cluster="office"),
        ["control", "treatment"],
    ),
    "stratified-cluster 1:2, unequal clusters": (
        one_batch(
            people_in_clusters({"A": (1, 3, 2), "B": (5, 1), "C": (2, 2, 2, 1, 4)}),
            strata="stratum",
            cluster="office",
            arms={"control": 1, "treatment": 2},
        ),
        ["control", "treatment"],
    ),
    "permuted blocks 1:1 (2, 4, 6), strata of 1, 3, 5, 7, 11": (
        one_batch(people_in_strata((1, 3, 5, 7, 11)), strata="stratum", method="permuted_blocks"),
        ["control", "treatment"],
    ),
    "permuted blocks 2:1:1 (4, 8), strata of 3, 5, 6, 10": (
        one_batch(
            people_in_strata((3, 5, 6, 10)),
            strata="stratum",
            arms={"a": 2, "b": 1, "c": 1},
            method="permuted_blocks",
            block_sizes=[4, 8],
        ),
        ["a", "b", "c"],
    ),
    "permuted blocks of clusters 1:2 (3, 6), unequal clusters": (
        one_batch(
            people_in_clusters({"A": (1, 3, 2, 2), "B": (5, 1, 1, 3, 2)}),
            strata="stratum",
            cluster="office",
            arms={"control": 1, "treatment": 2},
            method="permuted_blocks",
            block_sizes=[3, 6],
        ),
        ["control", "treatment"],
    ),
    "rolling 1:2 (3, 6): permuted blocks, then an extend continuing open blocks": (
        rolling(
            people_in_strata((7, 9, 4)),
            (5, 4, 3),
            strata="stratum",
            arms={"control": 1, "treatment": 2},
            method="permuted_blocks",
            block_sizes=[3, 6],
        ),
        ["control", "treatment"],
    ),
}


@functools.cache
def simulate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Arm counts per person over N_SEEDS seeds (n x k), and the prob_<arm> matrix."""
    run, arms = DESIGNS[name]
    counts: np.ndarray | None = None
    probs: np.ndarray | None = None
    prob_cols = [f"prob_{a}" for a in arms]
    # each design its own seeds, so that no two designs share draws
    first_seed = 10_000 * list(DESIGNS).index(name)
    for seed in range(first_seed, first_seed + N_SEEDS):
        table = run(seed)
        if counts is None:
            # every design here has ids increasing down the table (canonical order)
            ids = table["id"].to_numpy()
            assert (np.diff(ids) > 0).all()
            assert list(table["arm"].cat.categories) == arms
            counts = np.zeros((len(table), len(arms)), dtype=np.int64)
            probs = table[prob_cols].to_numpy()
        else:
            assert (table["id"].to_numpy() == ids).all()
            # a person's probabilities never depend on the draw
            np.testing.assert_allclose(table[prob_cols].to_numpy(), probs, rtol=0, atol=ATOL_PROB)
        counts[np.arange(len(table)), table["arm"].cat.codes.to_numpy()] += 1
    assert counts is not None and probs is not None
    return counts, probs


def chi_square(counts: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-person chi-square statistic and p-value of counts against probabilities."""
    n = counts.sum(axis=1, keepdims=True)
    expected = n * probs
    stat = ((counts - expected) ** 2 / expected).sum(axis=1)
    return stat, stats.chi2.sf(stat, df=counts.shape[1] - 1)


def rejects(counts: np.ndarray, probs: np.ndarray) -> tuple[bool, float, float]:
    """Bonferroni decision across people; returns (reject, largest statistic, adjusted p)."""
    stat, p = chi_square(counts, probs)
    adjusted = float(min(1.0, p.min() * len(p)))
    return adjusted < LEVEL, float(stat.max()), adjusted


def test_chi_square_helper_matches_scipy() -> None:
    cases = [([1010, 990], [0.5, 0.5]), ([480, 760, 760], [0.25, 0.375, 0.375])]
    for row, probs in cases:
        stat, p = chi_square(np.array([row]), np.array([probs]))
        ref = stats.chisquare(row, f_exp=np.sum(row) * np.array(probs))
        # the same sums in another order: rounding only
        np.testing.assert_allclose([stat[0], p[0]], [ref.statistic, ref.pvalue], rtol=1e-12)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_each_persons_frequencies_match_prob_columns(name: str) -> None:
    counts, probs = simulate(name)
    _, arms = DESIGNS[name]
    # the probabilities are the design's, the same for everyone
    assert np.ptp(probs, axis=0).max() == 0
    reject, max_stat, adjusted = rejects(counts, probs)
    assert not reject, (
        f"{name}: largest chi-square {max_stat:.2f} on {len(arms) - 1} df, "
        f"Bonferroni-adjusted p = {adjusted:.2e} < {LEVEL}"
    )


def test_the_test_rejects_a_wrong_probability() -> None:
    counts, probs = simulate("stratified 1:1, strata of 1, 2, 3, 5, 7")
    wrong = np.tile([0.45, 0.55], (len(counts), 1))
    assert np.allclose(probs, 0.5)
    reject, max_stat, adjusted = rejects(counts, wrong)
    assert reject, (max_stat, adjusted)
    # and the right probabilities, on the same counts, are not rejected
    assert not rejects(counts, probs)[0]


def test_the_test_rejects_a_wrong_ratio_with_three_arms() -> None:
    # 2:1:1 read as equal thirds: every person is off by 1/6 on arm "a"
    counts, probs = simulate("stratified 2:1:1, strata of 1, 2, 3, 5, 7")
    assert np.allclose(probs, [0.5, 0.25, 0.25])
    assert rejects(counts, np.full_like(probs, 1 / 3))[0]
