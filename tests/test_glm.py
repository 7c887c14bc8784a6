"""The binary GLM fit (``dwp_eval._core.glm``) on its own: the row-block passes, the
subsample start of a large logit and the scores it no longer stores agree with the
plain computations.

Tolerances: 1e-10 relative between the subsample start and the intercept-only start
(Newton converges quadratically to one maximum from both; the stopping rule leaves
an error far below that); 1e-12 for rearranged products (rounding only).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from dwp_eval._core import glm

START_RTOL = 1e-10
ROUNDING_RTOL = 1e-12


def _logit_data(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.permutation(np.arange(n) < n // 2), rng.normal(size=(n, 4))])
    y = (rng.random(n) < special.expit(X @ np.array([-0.5, 0.3, 0.2, -0.1, 0.4, 0.05]))).astype(float)
    return np.asfortranarray(X), y, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True])
def test_subsample_start_reaches_the_same_maximum(monkeypatch: pytest.MonkeyPatch,
                                                  weighted: bool) -> None:
    X, y, w = _logit_data(glm._SUBSAMPLE_ABOVE + 10_000)
    wt = w if weighted else None
    fast = glm.fit_binary_glm(X, y, wt, model="logit", outcome="y", func="t")
    monkeypatch.setattr(glm, "_SUBSAMPLE_ABOVE", 10**12)  # intercept-only start
    plain = glm.fit_binary_glm(X, y, wt, model="logit", outcome="y", func="t")
    np.testing.assert_allclose(fast.beta, plain.beta, rtol=START_RTOL)
    np.testing.assert_allclose(fast.bread, plain.bread, rtol=START_RTOL)
    for se in ("HC0", "HC1"):
        np.testing.assert_allclose(glm.glm_vcov(fast, None, se), glm.glm_vcov(plain, None, se),
                                   rtol=START_RTOL)


@pytest.mark.parametrize("model", ["logit", "probit"])
def test_block_passes_match_whole_array_formulas(model: str) -> None:
    X, y, w = _logit_data(3 * glm._BLOCK + 17, seed=2)  # several blocks and a ragged one
    fit = glm.fit_binary_glm(X, y, w, model=model, outcome="y", func="t")
    eta = X @ fit.beta
    np.testing.assert_allclose(fit.eta, eta, rtol=ROUNDING_RTOL)
    _, sw, iw = glm._row_terms(eta, y, model)
    info = X.T @ (X * (w * iw)[:, None])
    np.testing.assert_allclose(fit.bread, np.linalg.inv(info), rtol=1e-9)
    scores = X * (w * sw)[:, None]
    np.testing.assert_allclose(fit.scores, scores, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(np.abs(scores.sum(axis=0)).max(), 0.0, atol=1e-6)  # at the maximum
    v = np.arange(12.0).reshape(6, 2)
    np.testing.assert_allclose(fit.scores_times(v), fit.scores @ v, rtol=ROUNDING_RTOL, atol=1e-13)
    np.testing.assert_allclose(fit.scores_times(v[:, 0]), fit.scores @ v[:, 0],
                               rtol=ROUNDING_RTOL, atol=1e-13)
    meat = scores.T @ scores
    np.testing.assert_allclose(glm.glm_vcov(fit, None, "HC0"), fit.bread @ meat @ fit.bread,
                               rtol=1e-9)
    cl = np.arange(len(y)) % 7
    sums = np.stack([scores[cl == g].sum(axis=0) for g in range(7)])
    cr0 = fit.bread @ (sums.T @ sums * 7 / 6) @ fit.bread
    np.testing.assert_allclose(glm.glm_vcov(fit, cl, "CR0"), cr0, rtol=1e-9)


def test_logit_rows_are_exact_in_the_tails() -> None:
    e = np.array([-800.0, -40.0, -1.0, 0.0, 1.0, 40.0, 800.0])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    p, sw = np.empty_like(e), np.empty_like(e)
    with np.errstate(over="ignore", under="ignore"):
        ll, root = glm._logit_block(e, y, None, p, sw)
    np.testing.assert_allclose(p, special.expit(e), rtol=ROUNDING_RTOL)
    np.testing.assert_allclose(sw, y - special.expit(e), rtol=ROUNDING_RTOL, atol=1e-300)
    np.testing.assert_allclose(root**2, special.expit(e) * special.expit(-e), rtol=1e-12)
    np.testing.assert_allclose(ll, np.sum(y * e - np.logaddexp(0.0, e)), rtol=ROUNDING_RTOL)
