"""The subgroup heterogeneity test of :func:`dwp_eval.impact_table`: a Wald test that the
assignment effect is the same in every subgroup (see ``impact_table``'s Notes)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.linalg import demean, fit_ols
from dwp_eval._core.sample import prepare_sample
from dwp_eval._core.variance import SE_TYPES, resolve_se_type, vcov
from dwp_eval._core.wald import wald_test
from dwp_eval._validation import MAX_DUMMY_CELLS, as_column_list
from dwp_eval.errors import DesignError, DroppedRowsWarning

__all__ = ["MAX_DUMMY_CELLS", "interaction_test"]

# --------------------------------------------------------------------------- heterogeneity


def _independent(X: np.ndarray, first: int) -> np.ndarray:
    """Columns of ``X`` kept by a greedy pass: the first ``first`` always, then each column
    whose part not explained by the kept ones is more than 1e-8 of its length."""
    G = X.T @ X
    keep = list(range(first))
    for j in range(first, X.shape[1]):
        gjj = G[j, j]
        if gjj <= 1e-12 * max(1.0, float(np.max(np.diag(G)))):
            continue
        if keep:
            Gk = G[np.ix_(keep, keep)]
            gk = G[keep, j]
            resid = gjj - gk @ np.linalg.solve(Gk, gk)
        else:
            resid = gjj
        if resid > 1e-8 * gjj:
            keep.append(j)
    return np.asarray(keep, dtype=np.int64)


def interaction_test(
    data: pd.DataFrame,
    outcome: Hashable,
    by: Hashable,
    *,
    assigned: Hashable,
    control: str,
    treatment: str | None,
    covariates: Sequence[Hashable] | None,
    adjustment: str,
    strata: Hashable | None,
    cluster: Hashable | None,
    se_type: str | None,
    weights: Hashable | None,
    missing: str,
    func: str,
) -> dict[str, Any]:
    """Wald test that the assignment effect is the same in every subgroup (see impact_table)."""
    covs = as_column_list(covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)  # itt has already warned
        prep, frame = prepare_sample(
            data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
            covariates=covs, strata=strata, cluster=cluster, weights=weights, missing=missing,
            func=func, variance_cluster=True,  # as itt: clusters holding both arms group errors
        )
    codes, levels = pd.factorize(frame[by], sort=True)
    L = len(levels)
    n = len(prep.y)
    z = prep.z
    D = np.zeros((n, L))
    D[np.arange(n), codes] = 1.0
    se_used = resolve_se_type(se_type, clustered=prep.cluster is not None, func=func)
    # weighted CR2 cannot absorb strata: enter them as dummies then
    absorb = prep.strata is not None and not (prep.weights is not None and SE_TYPES[se_used].clustered)

    blocks = [z[:, None] * D]
    names = [f"assigned:{by}={lev}" for lev in levels]
    if not absorb:
        blocks.insert(0, np.ones((n, 1)))
        names.insert(0, "(Intercept)")
    n_fixed = sum(b.shape[1] for b in blocks)
    blocks.append(D[:, 1:])
    names += [f"{by}={lev}" for lev in levels[1:]]
    if prep.strata is not None and not absorb:
        n_strata = int(prep.strata.max()) + 1
        if n * n_strata > MAX_DUMMY_CELLS:
            raise DesignError(
                f"{func}: the heterogeneity test by {by!r} with weights and clustered standard "
                f"errors enters the {n_strata:,} strata of {strata!r} as dummies: {n:,} rows x "
                f"{n_strata:,} strata is above the limit of {MAX_DUMMY_CELLS:,} cells. Fix: merge "
                "strata (e.g. the blocks used at randomisation rather than matched pairs), or "
                "leave out weights= or the cluster for the subgroup analysis."
            )
        sd = np.zeros((n, n_strata))
        sd[np.arange(n), prep.strata] = 1.0
        blocks.append(sd[:, 1:])
        names += [f"stratum[{k}]" for k in range(1, sd.shape[1])]
    if prep.covariates.shape[1]:
        blocks.append(prep.covariates.to_numpy(dtype=float))
        names += [str(c) for c in prep.covariates.columns]
    X = np.hstack(blocks)

    # leave out columns the strata (or earlier columns) already span
    check = X
    if absorb and prep.strata is not None:
        check = demean(X, prep.strata, int(prep.strata.max()) + 1, prep.weights)
    if prep.weights is not None:
        check = check * np.sqrt(prep.weights)[:, None]
    keep = _independent(check, n_fixed)
    left_out = [names[j] for j in range(X.shape[1]) if j not in set(keep.tolist())]
    X = X[:, keep]
    names = [names[j] for j in keep]

    fit = fit_ols(
        X, prep.y, names, weights=prep.weights, fe_codes=prep.strata if absorb else None, func=func
    )
    V = vcov(fit, se_used, prep.cluster)
    tau = [names.index(f"assigned:{by}={lev}") for lev in levels]
    q = L - 1
    R = np.zeros((q, len(names)))
    R[:, tau[0]] = -1.0
    for i in range(q):
        R[i, tau[i + 1]] = 1.0
    if prep.cluster is not None:
        df2 = float(len(np.unique(prep.cluster)) - 1)
        df_label = "G - 1"
    else:
        df2 = float(fit.n - fit.rank)
        df_label = "n - p"
    test = wald_test(
        fit.beta, V.vcov, R, names=names, name=f"equal effects across {by}", se_type=se_used,
        df_denom=df2, null="the assignment effect is the same in every subgroup",
    )
    if not test.valid:
        raise DesignError(
            f"{func}: the covariance of the subgroup effects on {outcome!r} is singular, so "
            f"the heterogeneity test by {by!r} is undefined."
        )
    method = (
        f"Wald test of equal assignment effects across {L} subgroups, {se_used} covariance, "
        f"F({q}, {df_label})"
    )
    if absorb:
        method += ", strata fixed effects"
    elif prep.strata is not None:
        method += ", strata dummies"
    if covs:
        method += ", additive covariates"
    if left_out:
        method += f"; left out (already spanned): {', '.join(left_out)}"
    return {
        "outcome": str(outcome),
        "treatment": prep.treatment,
        "by": str(by),
        "n_subgroups": L,
        "statistic": test.statistic,
        "df_num": float(q),
        "df_denom": df2,
        "p_value": test.p_value,
        "wald_statistic": test.wald,
        "se_type": se_used,
        "n_obs": n,
        "method": method,
    }
