"""The design-based difference in means (estimatr's ``difference_in_means``):
standard (Neyman variance, Welch df), blocked, matched pairs, clustered and
block-clustered, and the regression whose assignment coefficient reproduces a
design-based estimate (so that another variance keeps the same estimate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from dwp_eval._core.degeneracy import check_arm_sizes, not_estimable, residuals_vanish
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import Prepared
from dwp_eval._core.saturated import saturated_blocked
from dwp_eval._validation import MAX_DUMMY_CELLS
from dwp_eval.errors import DesignError, NotEstimableError, OptionError

__all__ = [
    "BLOCKED_CR2",
    "BLOCKED_HC2",
    "BLOCKED_NEYMAN",
    "MATCHED_PAIR",
    "BatchedDifference",
    "blocked",
    "design_based",
    "pair_variance",
    "same_estimate_regression",
    "welch",
    "welch_df",
]

# se_type labels of the design-based blocked estimators: a weighted combination of
# within-stratum variances, which is not the HC/CR variance of the regression that
# itt(..., strata=, se_type=) fits (strata fixed effects), so it is not called "HC2".
BLOCKED_NEYMAN = "neyman (blocked)"  # Neyman variance in each stratum
BLOCKED_HC2 = "HC2 (blocked)"  # weighted: weighted HC2 in each stratum
BLOCKED_CR2 = "CR2 (blocked)"  # block-clustered: CR2 in each stratum
MATCHED_PAIR = "matched-pair"


def welch_df(v1: np.ndarray | float, v0: np.ndarray | float, n1: np.ndarray | float,
             n0: np.ndarray | float) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of ``v1 + v0``, the Neyman variance of
    a difference in means (arm variances of the means ``v_a = s_a^2 / n_a``):
    ``(v1 + v0)^2 / (v1^2 / (n1 - 1) + v0^2 / (n0 - 1))`` (NaN when both are 0)."""
    v1, v0 = np.asarray(v1, dtype=float), np.asarray(v0, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (v1 + v0) ** 2 / (v1**2 / (np.asarray(n1) - 1) + v0**2 / (np.asarray(n0) - 1))
    return np.asarray(np.where((v1 + v0) > 0, df, np.nan))


def blocked(diffs: np.ndarray, variances: np.ndarray, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The blocked estimate ``sum_b w_b d_b`` and its variance ``sum_b w_b^2 v_b``
    (Gerber & Green 2012, eq. 3.10-3.11), over the last axis (blocks); ``shares``
    ``w_b`` sum to one (block sizes, or sums of weights, over the total)."""
    w = np.asarray(shares, dtype=float)
    return np.sum(diffs * w, axis=-1), np.sum(variances * w**2, axis=-1)


def pair_variance(diffs: np.ndarray, estimate: float, sizes: np.ndarray | None = None) -> float:
    """Variance of a matched-pair estimate from the ``B`` pair differences: ``sum_b
    (d_b - d)^2 / (B (B - 1))`` (Gerber & Green 2012, eq. 3.16), or with pairs of
    clusters of ``n_b`` people (``N`` in all) ``B / ((B - 1) N^2) sum_b (n_b d_b -
    N d / B)^2`` (Imai, King & Nall 2009, eq. 6)."""
    B = len(diffs)
    if sizes is None:
        return float(np.sum((diffs - estimate) ** 2) / (B * (B - 1)))
    N = float(np.sum(sizes))
    return float(B / ((B - 1) * N**2) * np.sum((sizes * diffs - N * estimate / B) ** 2))


def welch(y: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """Difference in means with the Neyman (Welch) SE and Welch-Satterthwaite df
    (Gerber & Green 2012, eq. 3.6)."""
    y1, y0 = y[z == 1], y[z == 0]
    n1, n0 = len(y1), len(y0)
    v1, v0 = np.var(y1, ddof=1) / n1, np.var(y0, ddof=1) / n0
    return float(y1.mean() - y0.mean()), float(np.sqrt(v1 + v0)), float(welch_df(v1, v0, n1, n0))


def same_estimate_regression(
    prep: Prepared, est: float, se: float, *, design: str, own: str, se_type: str, func: str,
) -> tuple[float, float, str]:
    """SE, df and method of the regression whose assignment coefficient *is* the
    design-based estimate ``est``, with variance ``se_type``.

    * no strata: (weighted) OLS of the outcome on assignment: its coefficient is
      the (weighted) difference in means;
    * strata (blocked, block-clustered): assignment fully interacted with centred
      (weighted-mean-centred) stratum dummies (Lin 2013): a saturated model of the
      stratum-by-arm means whose assignment coefficient is ``sum_b (W_b / W) d_b``,
      the blocked estimate (with HC2 it also reproduces the blocked Neyman SE
      and ``n - 2B`` df: estimatr's ``lm_lin(y ~ z, covariates = ~ block)``);
    * matched pairs: pair fixed effects, whose coefficient equals the pair-size
      weighted estimate only when every block has the same treated share
      ``p_b (1 - p_b)`` (e.g. pairs of one treated and one control person).

    The coefficient is checked against ``est``; when they differ (pairs mixed with
    larger blocks, pairs of unequal clusters) no regression keeps the estimate and
    :class:`OptionError` says which se_type this design offers.
    """
    empty = pd.DataFrame(index=range(len(prep.y)))
    fe = None
    cov = empty
    grouped = False
    if prep.strata is None:
        method = "OLS of outcome on assignment"
    elif design.startswith("matched-pair"):
        fe = prep.strata
        method = "OLS of outcome on assignment, pair fixed effects"
    else:
        method = "OLS with centred stratum dummies interacted with assignment (Lin 2013)"
        # the saturated regression from cell sums (no n x strata matrix), except
        # weighted CR2, which needs the dummies: within a stated limit
        grouped = not (prep.weights is not None and se_type == "CR2")
        if not grouped:
            cov = _stratum_dummies(prep, se_type=se_type, design=design, own=own, func=func)
    if prep.weights is not None:
        method += ", weighted"
    try:
        if grouped:
            coef, se_new, df, _ = saturated_blocked(
                prep.y, prep.z, cast(np.ndarray, prep.strata), se_type=se_type,
                cluster=prep.cluster, weights=prep.weights,
            )
        else:
            coef, se_new, df, _ = assignment_regression(
                prep.y, prep.z, cov, "lin", strata=fe, cluster=prep.cluster,
                weights=prep.weights, se_type=se_type, func=func, outcome=prep.outcome,
            )
    except DesignError as exc:
        raise OptionError(
            f"The 'se_type' parameter of {func} is {se_type!r}, which cannot be computed for this "
            f"{design} design without changing its estimate ({exc}). This design's own se_type "
            f"is {own!r}."
        ) from exc
    if not abs(coef - est) <= 1e-9 * (abs(est) + se + 1e-300):
        raise OptionError(
            f"The 'se_type' parameter of {func} is {se_type!r}, but no regression with that "
            f"variance has the same point estimate as this {design} design's difference in "
            f"means ({est:.6g}; the regression gives {coef:.6g}). The only se_type available for "
            f"this design is {own!r}. Fix: use se_type={own!r}, or estimate the regression "
            f"with itt(..., estimator='ols', se_type={se_type!r})."
        )
    return se_new, df, method + f"; its coefficient is the {design} difference in means"


def _stratum_dummies(prep: Prepared, *, se_type: str, design: str, own: str, func: str) -> pd.DataFrame:
    """The stratum dummies (all but the first) of the saturated regression, refused
    above :data:`~dwp_eval._validation.MAX_DUMMY_CELLS` cells."""
    st = cast(np.ndarray, prep.strata)
    levels = np.unique(st)
    n = len(st)
    if n * len(levels) > MAX_DUMMY_CELLS:
        own_fix = "" if prep.cluster_role == "variance" else f"use se_type={own!r} (this design's own variance), "
        raise OptionError(
            f"The 'se_type' parameter of {func} is {se_type!r}, which with weights enters the "
            f"{len(levels):,} strata of this {design} design as dummies: {n:,} rows x "
            f"{len(levels):,} strata is above the limit of {MAX_DUMMY_CELLS:,} cells. Fix: "
            f"{own_fix}leave out weights= or the cluster, or merge strata."
        )
    return pd.DataFrame({f"stratum[{b}]": (st == b).astype(float) for b in levels[1:]})


def design_based(prep: Prepared, *, func: str) -> tuple[float, float, float, str, str, str]:
    """estimatr-style difference in means by design (see :func:`itt` Notes)."""
    y, z, w, st, cl = prep.y, prep.z, prep.weights, prep.strata, prep.cluster
    outcome = prep.outcome
    empty = pd.DataFrame(index=range(len(y)))
    if st is None:
        if cl is None and w is None:
            check_arm_sizes(z, outcome=outcome, func=func)
            zt = z == 1
            rss = float(np.sum((y[zt] - y[zt].mean()) ** 2) + np.sum((y[~zt] - y[~zt].mean()) ** 2))
            _check_spread(rss, len(y), y, outcome, "within the arms", func=func)
            est, se, df = welch(y, z)
            return est, se, df, "standard", "HC2", "difference in means (Neyman variance, Welch df)"
        used = "CR2" if cl is not None else "HC2"
        est, se, df, _ = assignment_regression(
            y, z, empty, "lin", strata=None, cluster=cl, weights=w, se_type=used, func=func,
            outcome=outcome,
        )
        design = "clustered" if cl is not None else "standard"
        return est, se, df, design, used, "difference in means (OLS" + (", weighted" if w is not None else "") + f", {used})"

    # strata as consecutive codes in code order (np.unique's inverse, in O(n) for the
    # integer codes prepare_sample gives): every per-stratum sum below is grouped
    st = np.asarray(st)
    if st.dtype.kind in "iu" and st.size and st.min() >= 0:
        present = np.bincount(st) > 0
        sb = (np.cumsum(present) - 1)[st]
        B = int(present.sum())
    else:
        blocks, sb = np.unique(st, return_inverse=True)
        B = len(blocks)
    zi = (np.asarray(z) == 1).astype(np.int64)
    cell = 2 * sb + zi  # (stratum, arm) cell: control 2b, treatment 2b + 1
    count = np.bincount(cell, minlength=2 * B).reshape(B, 2)
    if cl is None:
        upb = count.sum(axis=1)
    else:
        width = int(cl.max()) + 1
        upb = np.bincount(np.unique(sb * width + cl) // width, minlength=B)
    pair = bool(np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2)))
    if pair and w is not None:
        raise DesignError(f"{func}: weights cannot be used with a matched-pair design.")
    # block weight: people, or sum of weights when weighted
    nobs = np.bincount(sb, minlength=B).astype(float) if w is None else np.bincount(sb, weights=w, minlength=B)
    if cl is None and not pair and np.any(count < 2):
        small = int(np.sum(np.any(count < 2, axis=1)))
        raise NotEstimableError(
            f"{func}: a stratum has fewer than two people in an arm, so its variance cannot be "
            f"estimated ({small:,} of {B:,} strata, outcome {outcome!r}); the blocked estimator "
            "needs at least two treated and two control people per stratum (or all strata of "
            "size two: matched pairs). Fix: merge small strata, or use estimator='ols' (strata "
            "fixed effects).",
            outcome=outcome, reason="fewer than two per arm",
        )
    empty_arm = np.flatnonzero(np.any(count == 0, axis=1))
    if empty_arm.size:
        raise DesignError(
            f"{func}: {empty_arm.size:,} stratum(s) hold people from only one arm, so they carry no "
            "comparison; the blocked estimator needs both arms in every stratum. Fix: merge or "
            "drop those strata."
        )
    if pair:
        means = np.bincount(cell, weights=y, minlength=2 * B).reshape(B, 2) / count
        diffs = means[:, 1] - means[:, 0]
        ses = np.zeros(B)
        spread = diffs - np.sum(diffs * nobs) / nobs.sum()
        _check_spread(float(spread @ spread), B, y, outcome, "between the pairs' differences", func=func)
    else:
        wt = np.ones(len(y)) if w is None else w
        cm = np.bincount(cell, weights=wt * y, minlength=2 * B) / np.bincount(cell, weights=wt, minlength=2 * B)
        _check_spread(float(np.sum(wt * (y - cm[cell]) ** 2)), len(y), y * np.sqrt(wt), outcome,
                      "within the strata's arms", func=func)
        if cl is not None:
            clusters = np.unique(cell * width + cl)
            per_cell = np.bincount(clusters // width, minlength=2 * B).reshape(B, 2)
            if np.any(per_cell.sum(axis=1) < 3):
                raise DesignError(f"{func}: a stratum has one cluster per arm; use matched pairs of clusters.")
            nested = len(clusters) == len(np.unique(sb * width + cl))  # each cluster in one arm
        if cl is not None and (w is not None or not nested):
            diffs, ses = _blocked_by_regression(y, z, sb, B, cl, w, func=func)
        else:
            diffs, ses = _blocked_cells(y, cell, B, count, w, None if cl is None else cell * width + cl)
    N = nobs.sum()
    est_b, var_b = blocked(diffs, ses**2, nobs / N)
    est = float(est_b)
    if pair:
        se = float(np.sqrt(pair_variance(diffs, est, None if cl is None else nobs)))
        design = "matched-pair" if cl is None else "matched-pair clustered"
        return est, se, float(B - 1), design, MATCHED_PAIR, "difference in means within pairs"
    se = float(np.sqrt(var_b))
    share = "size" if w is None else "sum of weights"
    if cl is None:
        label = BLOCKED_NEYMAN if w is None else BLOCKED_HC2
        return est, se, float(len(y) - 2 * B), "blocked", label, (
            f"blocked difference in means (strata weighted by {share})"
        )
    G = len(np.unique(cl))
    if G - 2 * B < 1:  # no t reference distribution: the p-value and interval would be NaN
        raise DesignError(
            f"{func}: the block-clustered difference in means has {G:,} clusters and {B:,} strata, "
            f"so its degrees of freedom (clusters - 2 x strata = {G - 2 * B}) are not positive and "
            "no test or interval exists. Fix: use coarser strata, or clusters nested in strata "
            "(more clusters than twice the strata)."
        )
    return est, se, float(G - 2 * B), "block-clustered", BLOCKED_CR2, (
        f"blocked difference in means of within-stratum CR2 estimates (strata weighted by {share})"
    )


def _check_spread(rss: float, n: int, y: np.ndarray, outcome: str, where: str, *, func: str) -> None:
    """The degeneracy rule for a difference in means: :class:`NotEstimableError` when the
    sum of squares ``rss`` behind its variance vanishes to rounding against the
    outcome's scale (``max |y|``; :func:`dwp_eval._core.variance.residuals_vanish`)."""
    scale = float(np.max(np.abs(y))) if len(y) else 0.0
    if residuals_vanish(rss, n, scale):
        raise not_estimable(
            outcome, "zero residual variance",
            f"it does not vary {where} (sum of squares {rss:.3g} against an outcome of size "
            f"{scale:.3g})", func=func,
        )


def _blocked_cells(
    y: np.ndarray, cell: np.ndarray, B: int, count: np.ndarray, w: np.ndarray | None,
    cluster_key: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-stratum differences in (weighted) means and their SEs from grouped sums
    over the ``(stratum, arm)`` cells, in O(n) after one sort (no pass per stratum).

    Each arm's mean ``mu_a`` has variance (Gerber & Green 2012, eq. 3.6; the HC2
    and CR2 variances of the OLS of ``y`` on the arm dummies, MacKinnon & White
    1985, Bell & McCaffrey 2002):

    * unweighted, no clusters: ``s_a^2 / n_a`` (Neyman);
    * weighted (HC2): ``sum_i w_i^2 e_i^2 / (1 - h_i) / W_a^2`` with leverage
      ``h_i = w_i / W_a`` (0 weight where ``h_i = 1``, as estimatr);
    * clusters nested in arms, unweighted (CR2): ``sum_g E_g^2 / (1 - n_g / n_a)
      / n_a^2`` with ``E_g`` the cluster's residual total (0 where ``1 - n_g / n_a
      < 1e-12``: a leverage-one cluster, as estimatr).
    """
    n_cells = 2 * B
    wt = np.ones(len(y)) if w is None else w
    tot_w = np.bincount(cell, weights=wt, minlength=n_cells)
    mean = np.bincount(cell, weights=wt * y, minlength=n_cells) / tot_w
    e = y - mean[cell]
    if cluster_key is None and w is None:
        var_mean = np.bincount(cell, weights=e * e, minlength=n_cells) / (count.ravel() - 1) / count.ravel()
    elif cluster_key is None:
        h = wt / tot_w[cell]
        with np.errstate(divide="ignore"):
            adj = 1.0 / (1.0 - h)
        adj[~np.isfinite(adj)] = 0.0
        var_mean = np.bincount(cell, weights=wt**2 * e**2 * adj, minlength=n_cells) / tot_w**2
    else:
        keys, of_row = np.unique(cluster_key, return_inverse=True)
        E = np.bincount(of_row, weights=e, minlength=len(keys))
        n_g = np.bincount(of_row, minlength=len(keys)).astype(float)
        g_cell = np.zeros(len(keys), dtype=np.int64)
        g_cell[of_row] = cell
        one_minus = 1.0 - n_g / tot_w[g_cell]
        f2 = np.where(one_minus > 1e-12, 1.0 / np.clip(one_minus, 1e-300, None), 0.0)
        var_mean = np.bincount(g_cell, weights=E**2 * f2, minlength=n_cells) / tot_w**2
    mean2, var2 = mean.reshape(B, 2), var_mean.reshape(B, 2)
    return mean2[:, 1] - mean2[:, 0], np.sqrt(var2[:, 1] + var2[:, 0])


def _blocked_by_regression(
    y: np.ndarray, z: np.ndarray, sb: np.ndarray, B: int, cl: np.ndarray, w: np.ndarray | None,
    *, func: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-stratum CR2 estimates by one regression per stratum (weighted clusters, or
    clusters not nested in arms), on slices of one sort of the rows."""
    order = np.argsort(sb, kind="stable")
    # the degeneracy rule is the caller's, on all strata: one stratum may be constant
    bounds = np.r_[0, np.cumsum(np.bincount(sb, minlength=B))]
    diffs, ses = np.empty(B), np.empty(B)
    for i in range(B):
        rows = order[bounds[i] : bounds[i + 1]]
        yb = y[rows]
        diffs[i], ses[i], _, _ = assignment_regression(
            yb, z[rows], pd.DataFrame(index=range(len(yb))), "lin", strata=None, cluster=cl[rows],
            weights=None if w is None else w[rows], se_type="CR2", func=func, check=False,
        )
    return diffs, ses


# ------------------------------------------------------------- batched over re-drawn assignments

# Units converted to floats at a time when summing a batch (keeps the buffer in cache).
_CHUNK = 8192
# unit-level columns whose per-arm sums give every draw's statistic
_N, _U, _K, _U2, _UK, _K2, _NU, _NK, _N2 = range(9)
_NCOL = 9


@dataclass(frozen=True, eq=False)
class BatchedDifference:
    """The design-based difference in means and its variance for many assignments at
    once (re-drawn assignments of a randomisation test), as five numbers per draw.

    Each draw's statistic follows from per-stratum sums of a few unit-level
    columns over its treated units (matrix products, no loop over draws): the
    blocked estimate ``sum_s w_s d_s`` with the Neyman variance in each arm
    (``G/(G - 1)`` times the sum of squared unit residual totals over ``N^2``,
    which without clusters is ``s^2 / N``), or the matched-pair variances of
    :func:`pair_variance`; see :func:`dwp_eval.randomisation_test`, Notes.
    Under a constant effect ``tau`` they are ``(a, b, v0, v1, v2)`` with
    ``T(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)``.

    Everything needed to turn per-stratum sums into each draw's ``(a, b, v0, v1, v2)``.

    Units are in stratum order: stratum ``s`` holds units ``s_lo[s]:s_lo[s+1]``.
    Only the columns in ``phys`` are summed over draws; without clusters the
    others follow from them (one person per unit: ``N`` is the fixed count,
    ``K2 = K``, ``NU = U``, ``NK = K``, ``N2 = N``).
    """

    columns: np.ndarray  # units x 9
    s_lo: np.ndarray  # stratum bounds over units (length S + 1)
    totals: np.ndarray  # S x 9
    g1: np.ndarray  # treated units per stratum (fixed)
    g0: np.ndarray
    weights: np.ndarray  # persons per stratum / persons
    mode: str  # "blocked", "pair", "pair-cluster"
    kind: str  # "studentised" or "difference"
    clustered: bool
    phys: tuple[int, ...] = ()
    _indicator: Any = None  # sparse strata x units, for many strata

    @classmethod
    def build(cls, **kw: Any) -> BatchedDifference:
        full = kw["kind"] == "studentised" and kw["mode"] == "blocked"
        if kw["clustered"]:
            phys: tuple[int, ...] = tuple(range(_NCOL)) if full else (_N, _U, _K)
        else:
            phys = (_U, _K, _U2, _UK) if full else (_U, _K)
        n_strata = len(kw["s_lo"]) - 1
        indicator = None
        if n_strata > 64:
            import scipy.sparse as sp

            n_units = int(kw["s_lo"][-1])
            stratum = np.repeat(np.arange(n_strata), np.diff(kw["s_lo"]))
            indicator = sp.csr_matrix(
                (np.ones(n_units), (stratum, np.arange(n_units))), shape=(n_strata, n_units)
            )
        return cls(**kw, phys=phys, _indicator=indicator)

    @classmethod
    def from_units(
        cls, y: np.ndarray, z: np.ndarray, stratum: np.ndarray, unit_of_row: np.ndarray,
        observed: np.ndarray, unit_stratum: np.ndarray, n_units: int, *, clustered: bool, kind: str,
        people: np.ndarray | None = None,
    ) -> BatchedDifference:
        """From the analysed rows (outcome ``y``, observed arm ``z``, ``stratum`` codes,
        each row's unit in cell order) and the units (observed arm, stratum, in
        stratum order): the unit columns, per-stratum totals and the statistic's mode
        (``"pair"``/``"pair-cluster"`` when some stratum holds two units).

        ``people``: each row stands for that many people and ``y`` is the sum of their
        outcomes (a cluster's row of an engine's summary). The unit columns are sums over
        a unit's people, so they follow: the people, the sum of the outcome less the
        people times the stratum's mean, and the treated people."""
        n_strata = int(stratum.max()) + 1
        # unit columns, outcome centred within strata (the statistic is unchanged, rounding is not)
        if people is None:
            s_mean = np.bincount(stratum, weights=y, minlength=n_strata) / np.bincount(stratum, minlength=n_strata)
            yc = y - s_mean[stratum]
            persons = np.bincount(unit_of_row, minlength=n_units).astype(float)
            k = np.bincount(unit_of_row, weights=z, minlength=n_units)
        else:
            s_mean = (np.bincount(stratum, weights=y, minlength=n_strata)
                      / np.bincount(stratum, weights=people, minlength=n_strata))
            yc = y - people * s_mean[stratum]
            persons = np.bincount(unit_of_row, weights=people, minlength=n_units)
            k = np.bincount(unit_of_row, weights=z * people, minlength=n_units)
        cols = np.zeros((n_units, _NCOL))
        u = np.bincount(unit_of_row, weights=yc, minlength=n_units)
        cols[:, _N] = persons
        cols[:, _U] = u
        cols[:, _K] = k
        cols[:, _U2] = u * u
        cols[:, _UK] = u * k
        cols[:, _K2] = k * k
        cols[:, _NU] = persons * u
        cols[:, _NK] = persons * k
        cols[:, _N2] = persons * persons
        s_lo = np.r_[np.flatnonzero(np.r_[True, unit_stratum[1:] != unit_stratum[:-1]]), n_units]
        totals = np.add.reduceat(cols, s_lo[:-1], axis=0)
        g1 = np.add.reduceat(observed.astype(float), s_lo[:-1])
        g0 = np.diff(s_lo).astype(float) - g1
        upb = np.diff(s_lo)
        pair = bool(n_strata > 1 and (np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2))))
        mode = ("pair-cluster" if clustered else "pair") if pair else "blocked"
        return cls.build(
            columns=cols, s_lo=s_lo, totals=totals, g1=g1, g0=g0,
            weights=totals[:, _N] / totals[:, _N].sum(), mode=mode, kind=kind, clustered=clustered,
        )

    def sums(self, assign: np.ndarray) -> np.ndarray:
        """Treated sums per stratum: ``(9, draws, S)`` (the columns ``coefficients`` uses)."""
        size = assign.shape[0]
        n_strata = len(self.s_lo) - 1
        cols = self.columns[:, list(self.phys)]
        if self._indicator is not None:
            # many small strata: one sparse product per column on the units-by-draws matrix
            ft = np.ascontiguousarray(assign.view(np.uint8).T).astype(np.float64)
            part = np.stack([(self._indicator @ (ft * cols[:, [j]])).T for j in range(len(self.phys))], axis=-1)
        else:
            part = np.zeros((size, n_strata, len(self.phys)))
            buf = np.empty((size, min(_CHUNK, assign.shape[1])))
            for s in range(n_strata):
                for a in range(int(self.s_lo[s]), int(self.s_lo[s + 1]), _CHUNK):
                    b = min(a + _CHUNK, int(self.s_lo[s + 1]))
                    chunk = buf[:, : b - a]
                    np.copyto(chunk, assign[:, a:b])  # 0/1 as floats, in cache
                    part[:, s, :] += chunk @ cols[a:b]
        # column-first layout: every column is a contiguous (draws, S) array
        out = np.empty((_NCOL, size, n_strata))
        for i, j in enumerate(self.phys):
            out[j] = part[..., i]
        if not self.clustered:
            out[_N] = self.g1[None, :]
            if len(self.phys) > 2:  # the blocked variance uses every column
                out[_K2] = out[_K]
                out[_NU] = out[_U]
                out[_NK] = out[_K]
                out[_N2] = out[_N]
        return out

    def coefficients(self, treated: np.ndarray) -> np.ndarray:
        """``(draws, 5)`` rows ``a, b, v0, v1, v2`` from treated sums ``(9, draws, S)``:
        ``T(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)``."""
        shape = treated.shape[1:]
        totals = self.totals.T[:, None, :]

        class _Control:  # control-arm sums, column by column as needed
            def __getitem__(self, j: int) -> np.ndarray:
                return np.asarray(totals[j] - treated[j])

        alpha_s = np.zeros(shape)
        beta_s = np.zeros(shape)
        var = [np.zeros(shape) for _ in range(3)]
        arms: tuple[tuple[float, Any, np.ndarray], ...] = (
            (1.0, treated, self.g1),
            (-1.0, _Control(), self.g0),
        )
        for sign, x, g in arms:
            n = x[_N]
            mu0 = x[_U] / n
            mu1 = -x[_K] / n
            alpha_s += sign * mu0
            beta_s -= sign * mu1
            if self.kind == "studentised" and self.mode == "blocked":
                c0 = x[_U2] - 2 * mu0 * x[_NU] + mu0**2 * x[_N2]
                c1 = 2 * (-x[_UK] - mu1 * x[_NU] + mu0 * x[_NK] + mu0 * mu1 * x[_N2])
                c2 = x[_K2] + 2 * mu1 * x[_NK] + mu1**2 * x[_N2]
                f = (g / (g - 1.0))[None, :] / n**2
                var[0] += f * c0
                var[1] += f * c1
                var[2] += f * c2
        w = self.weights[None, :]
        a = np.sum(w * alpha_s, axis=1)
        b = np.sum(w * beta_s, axis=1)
        out = np.empty((treated.shape[1], 5))
        out[:, 0] = a
        out[:, 1] = b
        if self.kind == "difference":
            out[:, 2:] = (1.0, 0.0, 0.0)
        elif self.mode == "blocked":
            w2 = w**2
            out[:, 2] = np.sum(w2 * var[0], axis=1)
            out[:, 3] = np.sum(w2 * var[1], axis=1)
            out[:, 4] = np.sum(w2 * var[2], axis=1)
        else:
            n_s = len(self.weights)
            if self.mode == "pair":
                da = alpha_s - a[:, None]
                db = beta_s - b[:, None]
                fac = 1.0 / (n_s * (n_s - 1))
            else:  # pair-cluster: Imai, King & Nall (2009, eq. 6)
                persons = self.totals[:, _N].sum()
                ns = self.totals[None, :, _N]
                da = ns * alpha_s - persons * a[:, None] / n_s
                db = ns * beta_s - persons * b[:, None] / n_s
                fac = n_s / ((n_s - 1) * persons**2)
            out[:, 2] = fac * np.sum(da**2, axis=1)
            out[:, 3] = -2 * fac * np.sum(da * db, axis=1)
            out[:, 4] = fac * np.sum(db**2, axis=1)
        return out


# --------------------------------------------------------------------------- preparation
