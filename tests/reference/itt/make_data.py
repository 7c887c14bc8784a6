"""Write the small seeded datasets that the ITT reference values are computed on.

Run from the repository root::

    .venv/bin/python tests/reference/itt/make_data.py

Every dataset has its own ``numpy.random.Generator`` seeded with a fixed
integer, so changing one dataset never changes another. Values are rounded to
six decimals before writing, so R and Python parse exactly the same doubles from
the CSV text (the reference values are computed on the file, not on the
unrounded draws).

Columns (present where the design needs them):

``id``
    row identifier (1..n), written in a shuffled order for clustered data so
    that no estimator can rely on clusters being contiguous.
``arm``
    assigned condition, ``"control"`` / ``"treatment"`` (multi-arm:
    ``"control"`` / ``"treatment_a"`` / ``"treatment_b"``).
``z``
    0/1, ``arm == "treatment"`` (multi-arm: ``arm != "control"``, with ``z_a``
    and ``z_b`` the indicators of the two treated arms).
``block``
    stratum label (pair label for matched pairs).
``cluster``
    cluster label; clusters are nested in blocks and assignment is constant
    within a cluster.
``y``
    outcome (0/1 in ``binary.csv``).
``x1, x2, x3``
    numeric baseline covariates (normal, uniform(0, 10), centred gamma).
``xb``
    binary baseline covariate.
``w``
    positive weights (``weighted.csv`` only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DECIMALS = 6


def _covariates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": rng.normal(0.0, 1.0, n),
            "x2": rng.uniform(0.0, 10.0, n),
            "x3": rng.gamma(2.0, 1.0, n) - 2.0,
            "xb": rng.binomial(1, 0.4, n),
        }
    )


def _outcome(
    rng: np.random.Generator,
    cov: pd.DataFrame,
    z: np.ndarray,
    group_effect: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Continuous outcome: effect 0.5 that varies with x1, heteroskedastic noise."""
    x1 = cov["x1"].to_numpy()
    mean = (
        1.0
        + 0.5 * z
        + 0.8 * x1
        - 0.3 * cov["x2"].to_numpy()
        + 0.5 * cov["x3"].to_numpy()
        + 0.4 * cov["xb"].to_numpy()
        + 0.3 * z * x1
        + group_effect
    )
    sd = 1.0 + 0.5 * z + 0.3 * np.abs(x1)
    return mean + rng.normal(0.0, 1.0, len(z)) * sd


def _complete_ra(rng: np.random.Generator, n: int, n_treated: int) -> np.ndarray:
    z = np.zeros(n, dtype=np.int64)
    z[rng.permutation(n)[:n_treated]] = 1
    return z


def _arm(z: np.ndarray) -> np.ndarray:
    return np.where(z == 1, "treatment", "control")


def _finish(
    frame: pd.DataFrame, order: list[str], shuffle: np.random.Generator | None
) -> pd.DataFrame:
    frame = frame[order].copy()
    for col in frame.columns:
        if frame[col].dtype.kind == "f":
            frame[col] = frame[col].round(DECIMALS)
    if shuffle is not None:
        frame = frame.iloc[shuffle.permutation(len(frame))].reset_index(drop=True)
    return frame


def standard() -> pd.DataFrame:
    """(a) Two arms, n = 200, complete randomisation of 100."""
    rng = np.random.default_rng(20240101)
    n = 200
    cov = _covariates(rng, n)
    z = _complete_ra(rng, n, 100)
    frame = cov.assign(id=np.arange(1, n + 1), z=z, arm=_arm(z), y=_outcome(rng, cov, z))
    return _finish(frame, ["id", "arm", "z", "y", "x1", "x2", "x3", "xb"], None)


def _blocked(seed: int, sizes: list[int], treated: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    cov = _covariates(rng, n)
    block = np.repeat([f"b{k + 1}" for k in range(len(sizes))], sizes)
    z = np.concatenate([_complete_ra(rng, s, t) for s, t in zip(sizes, treated, strict=True)])
    block_effect = np.repeat(rng.normal(0.0, 1.5, len(sizes)), sizes)
    y = _outcome(rng, cov, z, block_effect)
    frame = cov.assign(id=np.arange(1, n + 1), z=z, arm=_arm(z), block=block, y=y)
    return _finish(frame, ["id", "arm", "z", "block", "y", "x1", "x2", "x3", "xb"], rng)


def blocked() -> pd.DataFrame:
    """(b) Strata of 2, 3, 8, 40, 120 units with 1, 1, 3, 10, 80 treated.

    The strata of 2 and 3 have a single unit in one arm, so the usual
    within-stratum variance cannot be computed there (estimatr falls back to
    the matched-pair variance for the whole design, with a warning)."""
    return _blocked(20240102, [2, 3, 8, 40, 120], [1, 1, 3, 10, 80])


def blocked_min2() -> pd.DataFrame:
    """(b') Strata of 4, 5, 8, 40, 120 units with 2, 2, 3, 10, 80 treated:
    unequal sizes and shares, but at least two units per arm per stratum."""
    return _blocked(20240103, [4, 5, 8, 40, 120], [2, 2, 3, 10, 80])


def _clustered_frame(
    rng: np.random.Generator,
    cluster_sizes: list[int],
    cluster_z: np.ndarray,
    cluster_block: list[str] | None,
    cluster_sd: float = 0.8,
) -> pd.DataFrame:
    n = sum(cluster_sizes)
    labels = [f"c{k + 1:02d}" for k in range(len(cluster_sizes))]
    cov = _covariates(rng, n)
    cluster = np.repeat(labels, cluster_sizes)
    z = np.repeat(cluster_z, cluster_sizes)
    effect = np.repeat(rng.normal(0.0, cluster_sd, len(cluster_sizes)), cluster_sizes)
    if cluster_block is not None:
        blocks = sorted(set(cluster_block))
        block_effect = dict(zip(blocks, rng.normal(0.0, 1.5, len(blocks)), strict=True))
        effect = effect + np.repeat([block_effect[b] for b in cluster_block], cluster_sizes)
    frame = cov.assign(id=np.arange(1, n + 1), z=z, arm=_arm(z), cluster=cluster)
    if cluster_block is not None:
        frame["block"] = np.repeat(cluster_block, cluster_sizes)
    frame["y"] = _outcome(rng, cov, z, effect)
    return frame


CLUSTER_SIZES_30 = [1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7,
                    8, 8, 9, 10, 10, 12, 12, 14, 15, 18, 20, 25, 40, 55, 70]  # fmt: skip


def clustered() -> pd.DataFrame:
    """(c) 30 clusters of 1 to 70 units (4 singletons, 3 clusters of 40+),
    15 clusters treated; two of the four singletons are treated."""
    rng = np.random.default_rng(20240104)
    sizes = CLUSTER_SIZES_30
    singles = [k for k, s in enumerate(sizes) if s == 1]
    others = [k for k, s in enumerate(sizes) if s > 1]
    cz = np.zeros(len(sizes), dtype=np.int64)
    cz[rng.permutation(singles)[:2]] = 1
    cz[rng.permutation(others)[:13]] = 1
    frame = _clustered_frame(rng, sizes, cz, None)
    return _finish(frame, ["id", "arm", "z", "cluster", "y", "x1", "x2", "x3", "xb"], rng)


def block_clustered() -> pd.DataFrame:
    """(d) 4 strata holding 4, 6, 8, 12 clusters (30 in all, sizes 1 to 45),
    with 2, 3, 3, 8 clusters treated within each stratum."""
    rng = np.random.default_rng(20240105)
    per_block = [4, 6, 8, 12]
    treated = [2, 3, 3, 8]
    sizes = [int(s) for s in rng.permutation(CLUSTER_SIZES_30)]
    sizes = [min(s, 45) for s in sizes]
    cluster_block: list[str] = []
    cz_parts = []
    for k, (m, t) in enumerate(zip(per_block, treated, strict=True)):
        cluster_block += [f"b{k + 1}"] * m
        cz_parts.append(_complete_ra(rng, m, t))
    frame = _clustered_frame(rng, sizes, np.concatenate(cz_parts), cluster_block)
    order = ["id", "arm", "z", "block", "cluster", "y", "x1", "x2", "x3", "xb"]
    return _finish(frame, order, rng)


def few_clusters() -> pd.DataFrame:
    """(e) 10 clusters of 3 to 60 units, 5 treated."""
    rng = np.random.default_rng(20240106)
    sizes = [3, 5, 8, 12, 15, 20, 25, 30, 40, 60]
    cz = _complete_ra(rng, len(sizes), 5)
    frame = _clustered_frame(rng, sizes, cz, None, cluster_sd=1.0)
    return _finish(frame, ["id", "arm", "z", "cluster", "y", "x1", "x2", "x3", "xb"], rng)


def binary() -> pd.DataFrame:
    """(f) 0/1 outcome, n = 200, 80 treated."""
    rng = np.random.default_rng(20240107)
    n = 200
    cov = _covariates(rng, n)
    z = _complete_ra(rng, n, 80)
    eta = -0.3 + 0.6 * z + 0.7 * cov["x1"] - 0.1 * cov["x2"] + 0.3 * cov["x3"] + 0.5 * cov["xb"]
    y = rng.binomial(1, 1.0 / (1.0 + np.exp(-eta.to_numpy())))
    frame = cov.assign(id=np.arange(1, n + 1), z=z, arm=_arm(z), y=y)
    return _finish(frame, ["id", "arm", "z", "y", "x1", "x2", "x3", "xb"], None)


def weighted() -> pd.DataFrame:
    """(g) Weights w in [0.2, 5] (log-uniform), 4 strata x 10 clusters of 1
    to 12 units, 5, 4, 6, 3 clusters treated per stratum, so the same file
    serves weighted Standard / Blocked / Clustered / Block-clustered designs."""
    rng = np.random.default_rng(20240108)
    treated = [5, 4, 6, 3]
    sizes = [int(s) for s in rng.integers(1, 13, 40)]
    cluster_block = [f"b{k // 10 + 1}" for k in range(40)]
    cz = np.concatenate([_complete_ra(rng, 10, t) for t in treated])
    frame = _clustered_frame(rng, sizes, cz, cluster_block)
    frame["w"] = np.exp(rng.uniform(np.log(0.2), np.log(5.0), len(frame)))
    order = ["id", "arm", "z", "block", "cluster", "w", "y", "x1", "x2", "x3", "xb"]
    return _finish(frame, order, rng)


def multi_arm() -> pd.DataFrame:
    """(h) Three arms in 3 strata of 60, 80, 100 with arm counts
    (20, 20, 20), (30, 25, 25), (30, 30, 40) for control, treatment_a, treatment_b."""
    rng = np.random.default_rng(20240109)
    counts = [(20, 20, 20), (30, 25, 25), (30, 30, 40)]
    arms = np.array(["control", "treatment_a", "treatment_b"])
    arm_parts, block_parts = [], []
    for k, c in enumerate(counts):
        labels = np.repeat(arms, c)
        arm_parts.append(labels[rng.permutation(len(labels))])
        block_parts.append(np.repeat(f"b{k + 1}", sum(c)))
    arm = np.concatenate(arm_parts)
    block = np.concatenate(block_parts)
    n = len(arm)
    cov = _covariates(rng, n)
    z_a = (arm == "treatment_a").astype(np.int64)
    z_b = (arm == "treatment_b").astype(np.int64)
    block_effect = pd.Series(block).map({"b1": -0.5, "b2": 0.0, "b3": 0.7}).to_numpy()
    y = _outcome(rng, cov, z_a, block_effect) + 0.4 * z_b * (1.0 + cov["x2"].to_numpy() / 10.0)
    frame = cov.assign(
        id=np.arange(1, n + 1), arm=arm, z=(z_a + z_b), z_a=z_a, z_b=z_b, block=block, y=y
    )
    order = ["id", "arm", "z", "z_a", "z_b", "block", "y", "x1", "x2", "x3", "xb"]
    return _finish(frame, order, rng)


def _blocked_from_rng(
    rng: np.random.Generator, sizes: list[int], treated: list[int], pair_sd: float
) -> pd.DataFrame:
    n = sum(sizes)
    cov = _covariates(rng, n)
    block = np.repeat([f"p{k + 1:02d}" for k in range(len(sizes))], sizes)
    z = np.concatenate([_complete_ra(rng, s, t) for s, t in zip(sizes, treated, strict=True)])
    y = _outcome(rng, cov, z, np.repeat(rng.normal(0.0, pair_sd, len(sizes)), sizes))
    frame = cov.assign(id=np.arange(1, n + 1), z=z, arm=_arm(z), block=block, y=y)
    return _finish(frame, ["id", "arm", "z", "block", "y", "x1", "x2", "x3", "xb"], rng)


def matched_pairs() -> pd.DataFrame:
    """(i) 30 matched pairs (block = pair), one treated per pair."""
    rng = np.random.default_rng(20240110)
    pairs = 30
    sizes = [2] * pairs
    return _blocked_from_rng(rng, sizes, [1] * pairs, pair_sd=2.0)


def matched_cluster_pairs() -> pd.DataFrame:
    """(j) 8 pairs of clusters (16 clusters of 2 to 20 units), one cluster
    treated per pair."""
    rng = np.random.default_rng(20240111)
    sizes = [int(s) for s in rng.integers(2, 21, 16)]
    cluster_block = [f"p{k // 2 + 1:02d}" for k in range(16)]
    cz = np.concatenate([_complete_ra(rng, 2, 1) for _ in range(8)])
    frame = _clustered_frame(rng, sizes, cz, cluster_block)
    order = ["id", "arm", "z", "block", "cluster", "y", "x1", "x2", "x3", "xb"]
    return _finish(frame, order, rng)


DATASETS = {
    "standard": standard,
    "blocked": blocked,
    "blocked_min2": blocked_min2,
    "clustered": clustered,
    "block_clustered": block_clustered,
    "few_clusters": few_clusters,
    "binary": binary,
    "weighted": weighted,
    "multi_arm": multi_arm,
    "matched_pairs": matched_pairs,
    "matched_cluster_pairs": matched_cluster_pairs,
}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, build in DATASETS.items():
        frame = build()
        path = DATA / f"{name}.csv"
        frame.to_csv(path, index=False, float_format=f"%.{DECIMALS}f", lineterminator="\n")
        extra = ""
        if "cluster" in frame:
            extra += f", {frame['cluster'].nunique()} clusters"
        if "block" in frame:
            extra += f", {frame['block'].nunique()} blocks"
        print(f"{path.relative_to(HERE)}: {len(frame)} rows{extra}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
