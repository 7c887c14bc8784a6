"""The blocked difference in means by grouped sums (issue 13, item 5): one sort of
the rows and per-(stratum, arm) sums, never a pass over the rows per stratum.

Its results must equal, to 1e-12, the former implementation (one regression or
Welch computation per stratum, kept verbatim below as the oracle) on many random
designs: blocked, weighted blocked, block-clustered, matched pairs and matched
pairs of clusters. The speed is the benchmark's job (benchmarks/bench_blocked.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval._core.difference_in_means import (
    BLOCKED_CR2,
    BLOCKED_HC2,
    BLOCKED_NEYMAN,
    MATCHED_PAIR,
    blocked,
    design_based,
    pair_variance,
    welch,
)
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import Prepared
from dwp_eval.errors import DesignError

RTOL = 1e-12


def old_design_based(prep: Prepared, *, func: str) -> tuple[float, float, float, str, str, str]:
    """The per-stratum loop as it was before the grouped rewrite (the oracle)."""
    y, z, w, st_, cl = prep.y, prep.z, prep.weights, prep.strata, prep.cluster
    assert st_ is not None
    blocks = np.unique(st_)
    units_per_block = []
    for b in blocks:
        m = st_ == b
        units_per_block.append(len(np.unique(cl[m])) if cl is not None else int(m.sum()))
    upb = np.asarray(units_per_block)
    pair = bool(np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2)))
    if pair and w is not None:
        raise DesignError(f"{func}: weights cannot be used with a matched-pair design.")
    diffs = np.empty(len(blocks))
    ses = np.zeros(len(blocks))
    nobs = np.empty(len(blocks))
    for i, b in enumerate(blocks):
        m = st_ == b
        yb, zb = y[m], z[m]
        nobs[i] = m.sum() if w is None else w[m].sum()
        if pair:
            diffs[i] = yb[zb == 1].mean() - yb[zb == 0].mean()
            continue
        if cl is None and (np.sum(zb == 1) < 2 or np.sum(zb == 0) < 2):
            raise DesignError(f"{func}: a stratum has fewer than two people in an arm")
        if cl is None and w is None:
            diffs[i], ses[i], _ = welch(yb, zb)
        else:
            used_b = "CR2" if cl is not None else "HC2"
            cb = None if cl is None else cl[m]
            if cb is not None and len(np.unique(cb[zb == 1])) + len(np.unique(cb[zb == 0])) < 3:
                raise DesignError(f"{func}: a stratum has one cluster per arm")
            wb = None if w is None else w[m]
            diffs[i], ses[i], _, _ = assignment_regression(
                yb, zb, pd.DataFrame(index=range(len(yb))), "lin", strata=None, cluster=cb,
                weights=wb, se_type=used_b, func=func,
            )
    N = nobs.sum()
    B = len(blocks)
    est_b, var_b = blocked(diffs, ses**2, nobs / N)
    est = float(est_b)
    if pair:
        se = float(np.sqrt(pair_variance(diffs, est, None if cl is None else nobs)))
        design = "matched-pair" if cl is None else "matched-pair clustered"
        return est, se, float(B - 1), design, MATCHED_PAIR, ""
    se = float(np.sqrt(var_b))
    if cl is None:
        return est, se, float(len(y) - 2 * B), "blocked", BLOCKED_NEYMAN if w is None else BLOCKED_HC2, ""
    G = len(np.unique(cl))
    return est, se, float(G - 2 * B), "block-clustered", BLOCKED_CR2, ""


def _prep(y: np.ndarray, z: np.ndarray, strata: np.ndarray, cluster: np.ndarray | None,
          weights: np.ndarray | None) -> Prepared:
    return Prepared(
        y=y, z=z.astype(float), covariates=pd.DataFrame(index=range(len(y))), strata=strata,
        cluster=cluster, weights=weights, n_by_arm={"control": int(np.sum(z == 0)), "treatment": int(np.sum(z == 1))},
        treatment="treatment", control="control", dropped={}, binary=False,
    )


def _design(seed: int, kind: str) -> Prepared:
    """A random design of ``kind``: units (people or clusters) permuted within strata."""
    rng = np.random.default_rng(seed)
    n_strata = int(rng.integers(2, 9))
    if kind in ("pair", "pair-cluster"):
        units = np.full(n_strata, 2)
        if rng.random() < 0.3:  # some larger blocks mixed with pairs
            units[: n_strata // 2] = rng.integers(3, 6, size=n_strata // 2)
    else:
        units = rng.integers(4, 12, size=n_strata)
    clustered = kind.endswith("cluster")
    strata, z_unit, unit = [], [], []
    for s, u in enumerate(units.tolist()):
        treated = rng.permutation(np.arange(u) < max(1, u // 2))
        if not clustered and kind != "pair":
            treated = rng.permutation(np.arange(u) < u // 2)
        for t in treated.tolist():
            size = int(rng.integers(1, 5)) if clustered else 1
            uid = len(z_unit)
            z_unit.append(t)
            strata += [s] * size
            unit += [uid] * size
    unit_a = np.asarray(unit)
    z = np.asarray(z_unit, dtype=float)[unit_a]
    # stratum codes not in sorted order, and gaps are allowed by the estimator
    relabel = rng.permutation(n_strata) * 3
    strata_a = relabel[np.asarray(strata)]
    scale = 10.0 ** rng.integers(-3, 4)
    y = scale * (rng.normal(size=len(z)) + 0.4 * z + rng.normal(size=n_strata)[np.asarray(strata)])
    weights = rng.uniform(0.2, 3.0, size=len(z)) if kind == "weighted" else None
    if kind == "weighted-cluster":
        weights = rng.uniform(0.2, 3.0, size=len(z))
    cl = None
    if clustered:
        cl = rng.permutation(unit_a.max() + 1)[unit_a]
    return _prep(y, z, strata_a, cl, weights)


def _same(prep: Prepared) -> None:
    try:
        old = old_design_based(prep, func="t")
    except DesignError:
        with pytest.raises(DesignError):
            design_based(prep, func="t")
        return
    new = design_based(prep, func="t")
    assert new[3:5] == old[3:5]
    np.testing.assert_allclose(new[:3], old[:3], rtol=RTOL, atol=RTOL * (abs(old[1]) + 1e-300))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["blocked", "weighted", "cluster", "weighted-cluster", "pair", "pair-cluster"]))
def test_grouped_blocked_equals_the_per_stratum_loop(seed: int, kind: str) -> None:
    _same(_design(seed, kind))


def test_block_clustered_with_a_cluster_across_arms_falls_back_exactly() -> None:
    # a cluster used for variance that holds both arms: no closed form, one regression per stratum
    rng = np.random.default_rng(4)
    n = 120
    strata = np.repeat(np.arange(3), 40)
    z = np.tile(np.r_[np.zeros(20), np.ones(20)], 3)
    cl = np.repeat(np.arange(12), 10)
    cl[15:25] = 99  # spans both arms of stratum 0
    cl = np.unique(cl, return_inverse=True)[1]
    y = rng.normal(size=n) + z
    _same(_prep(y, z, strata, cl, None))


def test_many_small_strata_match_the_loop() -> None:
    # 400 strata of 4 people (2 + 2) and 300 matched pairs: the shapes of the benchmark
    rng = np.random.default_rng(11)
    s = np.repeat(np.arange(400), 4)
    z = np.tile([0.0, 1.0, 0.0, 1.0], 400)
    y = rng.normal(size=len(s)) + z
    _same(_prep(y, z, s, None, None))
    p = np.repeat(np.arange(300), 2)
    zp = np.tile([0.0, 1.0], 300)
    _same(_prep(rng.normal(size=600) + zp, zp, p, None, None))


def test_diagnose_batched_blocked_stats_with_many_strata_match_the_dense_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # diagnose's batched blocked statistics: a sparse stratum indicator above 64 strata
    from dwp_eval.design._simulation import batched

    rng = np.random.default_rng(0)
    B, size = 200, 10
    codes = np.repeat(np.arange(B), size)
    Z = np.zeros((7, B * size))
    for s in range(7):
        for b in range(B):
            Z[s, b * size + rng.permutation(size)[: size // 2]] = 1.0
    y0 = rng.normal(size=B * size)
    y1 = y0 + 0.3 + rng.normal(size=B * size)
    sparse = batched.batched_stats(Z, y0, y1, codes, B)
    monkeypatch.setattr(batched, "_DENSE_STRATA", 10**9)
    dense = batched.batched_stats(Z, y0, y1, codes, B)
    for got, want in zip(sparse, dense, strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL)
