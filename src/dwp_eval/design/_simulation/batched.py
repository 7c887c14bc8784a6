"""The batched path of :func:`~dwp_eval.diagnose`: a fixed population randomised
many times with the allocation engine prepared once (each draw exactly
``randomise(pop, seed=rng)``), and the design-based difference in means with
its Neyman variance and df for a whole batch of assignments at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from dwp_eval._core.difference_in_means import blocked, welch_df
from dwp_eval.design import _engine as eng
from dwp_eval.design._simulation.population import Spec

__all__ = [
    "FixedPopulation",
    "batched_ok",
    "batched_stats",
    "batched_stats_complete",
    "t_stats",
]


class FixedPopulation:
    """A fixed population randomised many times: the engine is prepared once."""

    def __init__(self, pop: pd.DataFrame, spec: Spec, func: str):
        self.design = eng.make_design(
            id=spec.id, arms=spec.arms, strata=spec.strata or None, cluster=spec.cluster,
            order=None, method="complete", block_sizes=None, rerandomise=None, func=func,
        )
        self.prep = eng.prepare(pop, self.design, func=func)
        ids = self.prep.id_values.to_numpy()
        # row of the population holding each canonical person
        pos = pd.Index(pop[spec.id].to_numpy()).get_indexer(ids)
        self.row_of = np.asarray(pos, dtype=np.int64)
        self.treat = self.design.arms.index(spec.treatment)
        self.stratum_rows = np.empty(len(pop), dtype=np.int64)
        self.stratum_rows[self.row_of] = self.prep.stratum
        self.weights = np.asarray(self.design.weights, dtype=np.int64)
        n_strata = len(self.prep.stratum_labels)
        self.n_s = np.bincount(self.prep.unit_stratum, minlength=n_strata)
        self.codes16 = self.prep.unit_stratum.astype(np.uint16 if n_strata <= 65536 else np.int64)

    def treated(self, rng: np.random.Generator) -> np.ndarray:
        """Treated (bool) per person in the engine's canonical order, exactly as
        ``randomise(pop, seed=rng)`` draws it.

        Without clusters this repeats :func:`~dwp_eval.design._engine.draws.draw_complete`'s
        use of the generator (``rng.random(n_strata)``, then one shuffle of
        ``0..n-1``) and marks the treated positions directly, skipping the
        per-person arm table; tests check that it equals ``randomise``.
        """
        prep = self.prep
        if prep.cluster is not None:
            d = eng.draw(prep, self.design, rng, method="complete", func="diagnose")
            return np.asarray(d.arm_person == self.treat)
        n_strata = len(prep.stratum_labels)
        counts = eng.complete_counts(self.n_s, self.weights, rng.random(n_strata))
        perm = np.arange(prep.n, dtype=np.int32 if prep.n < 2**31 else np.int64)
        rng.shuffle(perm)
        order = perm if n_strata == 1 else perm[np.argsort(self.codes16[perm], kind="stable")]
        # in that order, stratum b holds its arms' runs one after another
        if n_strata == 1:
            start = int(counts[0, : self.treat].sum())
            picked = order[start : start + int(counts[0, self.treat])]
        else:
            is_treat = np.tile(np.arange(len(self.weights)) == self.treat, n_strata)
            picked = order[np.repeat(is_treat, counts.ravel())]
        z = np.zeros(prep.n, dtype=bool)
        z[picked] = True
        return z

    def complete_draws(
        self, seqs: Sequence[np.random.SeedSequence]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For a complete (one-stratum, unclustered) design: each simulation's random
        order of the units and the slice ``[start, stop)`` of it that is treated,
        ``S x n`` and two length-``S`` arrays, with the same generator use as
        ``draw_complete`` so that they equal ``randomise``'s draws."""
        S, n = len(seqs), self.prep.n
        # 8-byte items: numpy's shuffle swaps them fastest; the order is the same for
        # any item size (the generator draws the same bounded integers)
        perms = np.empty((S, n), dtype=np.int64)
        u = np.empty(S)
        base = np.arange(n, dtype=np.int64)
        for i, q in enumerate(seqs):
            rng = np.random.default_rng(q)
            u[i] = rng.random(1)[0]  # the same stream use as draw_complete
            perms[i] = base
            rng.shuffle(perms[i])
        counts = eng.complete_counts(np.full(S, n), self.weights, u)  # S x arms
        start = counts[:, : self.treat].sum(axis=1)
        return perms, start, start + counts[:, self.treat]

    def treated_matrix(self, seqs: Sequence[np.random.SeedSequence]) -> np.ndarray:
        """``S x n`` 0/1 matrix (canonical order): row ``s`` equals
        ``treated(default_rng(seqs[s]))``, with the remainder rule evaluated for all
        simulations in one call and the treated written straight into the matrix."""
        prep = self.prep
        if prep.cluster is not None or len(prep.stratum_labels) != 1:
            return np.vstack([self.treated(np.random.default_rng(q)) for q in seqs]).astype(float)
        perms, start, stop = self.complete_draws(seqs)
        Z = np.zeros(perms.shape)
        for i in range(len(seqs)):
            Z[i, perms[i, start[i] : stop[i]]] = 1.0
        return Z

    def assign(self, rng: np.random.Generator) -> np.ndarray:
        """0/1 treatment per population row, exactly as ``randomise(pop, seed=rng)``."""
        z = np.empty(len(self.row_of), dtype=np.float64)
        z[self.row_of] = self.treated(rng)
        return z


def t_stats(est: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """Interval ``est -/+ t_{1-alpha/2, df} se`` and two-sided p-value, for many estimates."""
    q = stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, est / se, np.nan)
    p = 2 * stats.t.sf(np.abs(t), df)
    return est - q * se, est + q * se, p


# Above this many strata the stratum indicator is sparse (a dense n x B one costs O(n B)).
_DENSE_STRATA = 64


def batched_stats(Z: np.ndarray, y0: np.ndarray, y1: np.ndarray, codes: np.ndarray | None,
                  n_strata: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference in means, Neyman SE and df for many assignments at once.

    ``Z`` is ``S x n`` (1 = treatment). Without strata: the Neyman variance
    ``s_T^2/n_T + s_C^2/n_C`` and Welch-Satterthwaite df (Gerber & Green 2012,
    eq. 3.6). With strata: ``sum_b (n_b/N) d_b`` with variance
    ``sum_b (n_b/N)^2 v_b`` and ``N - 2B`` df (eq. 3.10-3.11). Sums and sums of
    squares in each arm come from one matrix product ``Z [y1, y1^2, y0, y0^2]``
    (by stratum: ``(Z * y) H`` with ``H`` the stratum indicators).
    """
    Y = _sum_columns(y0, y1)
    if codes is not None and n_strata > _DENSE_STRATA:
        # many strata: a sparse indicator, O(S n) per column instead of a dense n x B one
        Hs = sp.csr_matrix((np.ones(len(y0)), (np.arange(len(y0)), codes)), shape=(len(y0), n_strata))
        T = np.stack([np.asarray(Hs.T @ (Z * Y[:, k]).T).T for k in range(Y.shape[1])], axis=1)
        return _stats_from_sums(T, np.asarray(Hs.T @ Y).T, True, n_strata)
    if codes is None:
        H = np.ones((len(y0), 1))
    else:
        H = np.zeros((len(y0), n_strata))
        H[np.arange(len(y0)), codes] = 1.0
    # per sim and stratum: treated sums of [a1, a1^2, a0, a0^2, 1]
    if codes is None:
        T = (Z @ Y)[:, :, None]
    else:
        T = np.einsum("sn,nk,nb->skb", Z, Y, H, optimize=True)
    return _stats_from_sums(T, Y.T @ H, codes is not None, n_strata)


def _sum_columns(y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """``[a1, a1^2, a0, a0^2, 1]`` with ``a = y - mean(y0)``: centring keeps sums of
    squares accurate."""
    centre = float(np.mean(y0))
    a1, a0 = y1 - centre, y0 - centre
    return np.column_stack([a1, a1**2, a0, a0**2, np.ones_like(a0)])


def batched_stats_complete(perms: np.ndarray, start: int, stop: int, y0: np.ndarray,
                           y1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`batched_stats` without strata when every simulation treats the units
    ``perms[s, start:stop]``: the treated sums are gathered column by column
    (no ``S x n`` assignment matrix)."""
    Y = _sum_columns(y0, y1)
    idx = perms[:, start:stop]
    T = np.stack([np.take(Y[:, k], idx).sum(axis=1) for k in range(4)]
                 + [np.full(len(perms), float(stop - start))], axis=1)
    return _stats_from_sums(T[:, :, None], Y.sum(axis=0)[:, None], False, 1)


def _stats_from_sums(T: np.ndarray, tot: np.ndarray, is_blocked: bool,
                     n_strata: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, SEs and df from the treated sums ``T`` (``S x 5 x B``) and the
    totals ``tot`` (``5 x B``) of ``[a1, a1^2, a0, a0^2, 1]``.

    The arm means and the variances of the means ``v_a = s_a^2 / n_a`` of each
    stratum come from the sums; they are combined by the ground floor's
    :func:`~dwp_eval._core.difference_in_means.welch_df` (no strata) and
    :func:`~dwp_eval._core.difference_in_means.blocked` (strata), as in
    :func:`~dwp_eval.itt`.
    """
    n1 = T[:, 4, :]
    n0 = tot[4][None, :] - n1
    s1, q1 = T[:, 0, :], T[:, 1, :]
    s0, q0 = tot[2][None, :] - T[:, 2, :], tot[3][None, :] - T[:, 3, :]
    m1, m0 = s1 / n1, s0 / n0
    v1 = np.clip((q1 - n1 * m1**2) / (n1 - 1) / n1, 0, None)
    v0 = np.clip((q0 - n0 * m0**2) / (n0 - 1) / n0, 0, None)
    if not is_blocked:  # Neyman variance, Welch-Satterthwaite df (Gerber & Green 2012, eq. 3.6)
        var = v1[:, 0] + v0[:, 0]
        return m1[:, 0] - m0[:, 0], np.sqrt(var), welch_df(v1[:, 0], v0[:, 0], n1[:, 0], n0[:, 0])
    nb = tot[4]
    N = nb.sum()
    est, var = blocked(m1 - m0, v1 + v0, nb / N)  # eq. 3.10-3.11, N - 2B df
    return est, np.sqrt(var), np.full(len(est), float(N - 2 * n_strata))


def batched_ok(codes: np.ndarray | None, n: int, arms: dict[str, float], control: str) -> bool:
    """Whether every simulated assignment gives the ordinary (non-pair) estimator with
    at least two people per arm in every stratum, so the batched formulas apply."""
    total = sum(arms.values())
    sizes = np.array([n]) if codes is None else np.bincount(codes)
    if codes is not None and np.any(sizes == 2):
        return False  # matched-pair variance: left to itt
    for w in arms.values():
        if np.any(np.floor(sizes * w / total) < 2):
            return False
    return True
