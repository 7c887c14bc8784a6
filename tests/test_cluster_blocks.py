"""CR2 from per-cluster blocks equals the row-level CR2 of the variance module."""

from __future__ import annotations

import numpy as np
import pytest

from dwp_eval._core.cluster_blocks import cr2_from_sums
from dwp_eval._core.linalg import fit_ols
from dwp_eval._core.variance import vcov


@pytest.mark.parametrize("seed", [1, 2])
def test_cr2_from_sums_matches_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, G = 300, 12
    cl = rng.integers(0, G, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n), (cl % 3 == 0).astype(float)])
    y = X @ [1.0, 0.5, -0.2] + rng.normal(size=n) + 0.3 * rng.normal(size=G)[cl]
    fit = fit_ols(X, y, ["a", "b", "c"], func="test")
    ref = vcov(fit, "CR2", cl)
    xtx = np.stack([X[cl == g].T @ X[cl == g] for g in range(G)])
    xte = np.stack([X[cl == g].T @ fit.resid[cl == g] for g in range(G)])
    V, dof = cr2_from_sums(xtx, xte, fit.L)
    np.testing.assert_allclose(V, ref.vcov, rtol=1e-10)
    np.testing.assert_allclose(dof, ref.df, rtol=1e-10)
