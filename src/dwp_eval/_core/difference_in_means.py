"""The design-based difference in means (estimatr's ``difference_in_means``):
standard (Neyman variance, Welch df), blocked, matched pairs, clustered and
block-clustered, and the regression whose assignment coefficient reproduces a
design-based estimate (so that another variance keeps the same estimate)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import Prepared
from dwp_eval.errors import DesignError, OptionError

__all__ = [
    "BLOCKED_CR2",
    "BLOCKED_HC2",
    "BLOCKED_NEYMAN",
    "MATCHED_PAIR",
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
    if prep.strata is None:
        method = "OLS of outcome on assignment"
    elif design.startswith("matched-pair"):
        fe = prep.strata
        method = "OLS of outcome on assignment, pair fixed effects"
    else:
        levels = np.unique(prep.strata)
        cov = pd.DataFrame(
            {f"stratum[{b}]": (prep.strata == b).astype(float) for b in levels[1:]}
        )
        method = "OLS with centred stratum dummies interacted with assignment (Lin 2013)"
    if prep.weights is not None:
        method += ", weighted"
    try:
        coef, se_new, df, _ = assignment_regression(
            prep.y, prep.z, cov, "lin", strata=fe, cluster=prep.cluster, weights=prep.weights,
            se_type=se_type, func=func,
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
            f"this design is {own!r}. Fix: use with_se({own!r}), or re-estimate with "
            f"itt(..., se_type={se_type!r}) for the regression estimator."
        )
    return se_new, df, method + f"; its coefficient is the {design} difference in means"


def design_based(prep: Prepared, *, func: str) -> tuple[float, float, float, str, str, str]:
    """estimatr-style difference in means by design (see :func:`itt` Notes)."""
    y, z, w, st, cl = prep.y, prep.z, prep.weights, prep.strata, prep.cluster
    empty = pd.DataFrame(index=range(len(y)))
    if st is None:
        if cl is None and w is None:
            est, se, df = welch(y, z)
            return est, se, df, "standard", "HC2", "difference in means (Neyman variance, Welch df)"
        used = "CR2" if cl is not None else "HC2"
        est, se, df, _ = assignment_regression(y, z, empty, "lin", strata=None, cluster=cl, weights=w, se_type=used, func=func)
        design = "clustered" if cl is not None else "standard"
        return est, se, df, design, used, "difference in means (OLS" + (", weighted" if w is not None else "") + f", {used})"

    blocks = np.unique(st)
    units_per_block = []
    for b in blocks:
        m = st == b
        units_per_block.append(len(np.unique(cl[m])) if cl is not None else int(m.sum()))
    upb = np.asarray(units_per_block)
    pair = bool(np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2)))
    if pair and w is not None:
        raise DesignError(f"{func}: weights cannot be used with a matched-pair design.")
    diffs = np.empty(len(blocks))
    ses = np.zeros(len(blocks))
    nobs = np.empty(len(blocks))  # block weight: people, or sum of weights when weighted
    for i, b in enumerate(blocks):
        m = st == b
        yb, zb = y[m], z[m]
        nobs[i] = m.sum() if w is None else w[m].sum()
        if pair:
            diffs[i] = yb[zb == 1].mean() - yb[zb == 0].mean()
            continue
        if (cl is None and (np.sum(zb == 1) < 2 or np.sum(zb == 0) < 2)):
            raise DesignError(
                f"{func}: a stratum has fewer than two people in an arm, so its variance cannot be "
                "estimated; the blocked estimator needs at least two treated and two control "
                "people per stratum (or all strata of size two: matched pairs)."
            )
        if cl is None and w is None:
            diffs[i], ses[i], _ = welch(yb, zb)
        else:
            used_b = "CR2" if cl is not None else "HC2"
            cb = None if cl is None else cl[m]
            if cb is not None and len(np.unique(cb[zb == 1])) + len(np.unique(cb[zb == 0])) < 3:
                raise DesignError(f"{func}: a stratum has one cluster per arm; use matched pairs of clusters.")
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
        return est, se, float(B - 1), design, MATCHED_PAIR, "difference in means within pairs"
    se = float(np.sqrt(var_b))
    share = "size" if w is None else "sum of weights"
    if cl is None:
        label = BLOCKED_NEYMAN if w is None else BLOCKED_HC2
        return est, se, float(len(y) - 2 * B), "blocked", label, (
            f"blocked difference in means (strata weighted by {share})"
        )
    G = len(np.unique(cl))
    return est, se, float(G - 2 * B), "block-clustered", BLOCKED_CR2, (
        f"blocked difference in means of within-stratum CR2 estimates (strata weighted by {share})"
    )
