"""Write the small seeded datasets that the CACE reference values are computed on.

Run from the repository root::

    .venv/bin/python tests/reference/cace/make_data.py

Every dataset has its own ``numpy.random.Generator`` with a fixed seed, and values
are rounded to six decimals before writing, so R and Python read exactly the same
doubles. Rerunning rewrites byte-identical files.

Columns: ``id``; ``arm`` (``"control"`` / ``"treatment"``); ``z`` (0/1, ``arm ==
"treatment"``); ``d`` (0/1 receipt: take-up in the treatment arm, contamination in
the control arm); ``y`` (outcome); ``x1`` (normal), ``x2`` (uniform 0-10), ``xb``
(0/1), ``region`` (text, 3 levels) baseline covariates; ``block`` (stratum) and
``cluster`` where the design has them.

Compliance types are drawn from the covariates (compliers, always-takers,
never-takers; no defiers), and the effect of receipt differs by type, so the
CACE differs from the average effect of receipt in the population.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DECIMALS = 6


def _people(rng: np.random.Generator, n: int, *, always: float, never: float) -> pd.DataFrame:
    x1 = rng.normal(0.0, 1.0, n)
    x2 = rng.uniform(0.0, 10.0, n)
    xb = rng.binomial(1, 0.4, n)
    region = rng.choice(["north", "midlands", "south"], size=n)
    # compliance type depends on x1: people with high x1 are more often always-takers
    u = rng.random(n)
    p_always = np.clip(always * (1 + 0.5 * x1), 0, 0.9)
    p_never = np.clip(never * (1 - 0.3 * x1), 0, 0.9)
    kind = np.where(u < p_always, "always", np.where(u < p_always + p_never, "never", "complier"))
    return pd.DataFrame({"x1": x1, "x2": x2, "xb": xb, "region": region, "kind": kind})


def _finish(
    rng: np.random.Generator, people: pd.DataFrame, z: np.ndarray, shock: np.ndarray | float = 0.0
) -> pd.DataFrame:
    kind = people["kind"].to_numpy()
    d = np.where(kind == "always", 1, np.where(kind == "never", 0, z)).astype(np.int64)
    x1, x2, xb = people["x1"].to_numpy(), people["x2"].to_numpy(), people["xb"].to_numpy()
    effect = np.where(kind == "complier", 1.5, np.where(kind == "always", 0.5, 0.0)) + 0.4 * x1
    mean = 1.0 + 0.7 * x1 - 0.2 * x2 + 0.5 * xb + 0.6 * (kind == "always") + effect * d + shock
    y = mean + rng.normal(0.0, 1.0 + 0.4 * d + 0.3 * np.abs(x1), len(z))
    out = pd.DataFrame(
        {
            "id": np.arange(1, len(z) + 1),
            "arm": np.where(z == 1, "treatment", "control"),
            "z": z.astype(np.int64),
            "d": d,
            "y": y,
            "x1": x1,
            "x2": x2,
            "xb": xb,
            "region": people["region"].to_numpy(),
        }
    )
    return out


def one_sided() -> pd.DataFrame:
    """n = 300, complete RA (150 treated), one-sided non-compliance (no control receives)."""
    rng = np.random.default_rng(20240401)
    n = 300
    people = _people(rng, n, always=0.0, never=0.3)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    return _finish(rng, people, z)


def two_sided() -> pd.DataFrame:
    """n = 400, blocked RA in 5 blocks of 40-120, two-sided non-compliance (~15% of
    controls contaminated, ~25% of the treatment arm never take up)."""
    rng = np.random.default_rng(20240402)
    sizes = [40, 60, 80, 100, 120]
    people = _people(rng, sum(sizes), always=0.15, never=0.25)
    block = np.repeat([f"b{i + 1}" for i in range(len(sizes))], sizes)
    z = np.concatenate([rng.permutation(np.repeat([0, 1], [s - s // 2, s // 2])) for s in sizes])
    out = _finish(rng, people, z)
    out.insert(1, "block", block)
    return out


def clustered() -> pd.DataFrame:
    """40 clusters of 2-30 people in 4 strata of 10 clusters (5 treated each),
    two-sided non-compliance, a cluster shock; rows written in shuffled order."""
    rng = np.random.default_rng(20240403)
    n_clusters = 40
    size = rng.integers(2, 31, n_clusters)
    size[:3] = [1, 2, 45]  # a singleton and a large cluster
    cl = np.repeat(np.arange(n_clusters), size)
    block_of = np.repeat(np.arange(4), 10)
    z_of = np.concatenate([rng.permutation(np.repeat([0, 1], 5)) for _ in range(4)])
    shock = rng.normal(0.0, 0.6, n_clusters)[cl]
    people = _people(rng, len(cl), always=0.12, never=0.3)
    out = _finish(rng, people, z_of[cl], shock)
    out.insert(1, "block", np.array([f"s{b + 1}" for b in block_of[cl]]))
    out.insert(2, "cluster", np.array([f"c{c + 1:02d}" for c in cl]))
    order = rng.permutation(len(out))
    return out.iloc[order].reset_index(drop=True)


def _weak(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 200
    people = _people(rng, n, always=0.10, never=0.90)
    z = rng.permutation(np.repeat([0, 1], n // 2))
    return _finish(rng, people, z)


def weak() -> pd.DataFrame:
    """n = 200, complete RA, a weak first stage (robust F 2.7): the 95%
    Anderson-Rubin set is two rays."""
    return _weak(20240418)


def very_weak() -> pd.DataFrame:
    """n = 200, complete RA, almost no first stage (robust F 1.2): the 95%
    Anderson-Rubin set is the whole line."""
    return _weak(20240412)


DATASETS = {
    "one_sided": one_sided,
    "two_sided": two_sided,
    "clustered": clustered,
    "weak": weak,
    "very_weak": very_weak,
}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, make in DATASETS.items():
        frame = make()
        num = frame.select_dtypes("float").columns
        frame[num] = frame[num].round(DECIMALS)
        frame.to_csv(DATA / f"{name}.csv", index=False, float_format="%.6f", lineterminator="\n")
        print(f"{name}.csv: {len(frame)} rows")


if __name__ == "__main__":
    main()
