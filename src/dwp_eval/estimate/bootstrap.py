"""Wild cluster bootstrap for trials with few clusters.

:func:`wild_cluster_bootstrap` is the restricted wild cluster bootstrap-t
(WCR) of Cameron, Gelbach & Miller (2008) and MacKinnon & Webb (2017, 2018)
for the effect of assignment in an OLS regression, with CR1 t statistics,
Rademacher or Webb weights, and a confidence interval by inverting the test
(as Stata's ``boottest``, Roodman, MacKinnon, Nielsen & Webb 2019).

Every bootstrap draw is computed from ``G x k`` cluster sums: for a null value
``beta0`` the bootstrap t statistic is ``(a - beta0 b) / sqrt(v0 + v1 beta0 +
v2 beta0^2)`` with five numbers per draw that are matrix products of the
weight matrix (draws x clusters) with fixed cluster-level quantities, so the
draws are vectorised and the test of every ``beta0`` re-uses them.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import pandas as pd

from dwp_eval._core.assignments import first_appearance_codes
from dwp_eval._core.inversion import PValueFunction, t_values
from dwp_eval._core.linalg import fit_ols
from dwp_eval._core.sample import prepare_sample
from dwp_eval._core.variance import cluster_sums, vcov
from dwp_eval._validation import check_alpha, check_draws, check_option, check_seed
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.results.randomisation import BootstrapTest

__all__ = ["BootstrapTest", "wild_cluster_bootstrap"]

WEIGHTS = ("rademacher", "webb")
# Webb (2014) six-point distribution: mean 0, variance 1, each value with probability 1/6.
WEBB_POINTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
RADEMACHER_POINTS = np.array([-1.0, 1.0])
# Weight vectors per batch: draws x clusters elements.
_BATCH_ELEMENTS = 4_000_000

@dataclass(frozen=True, eq=False)
class _WildParts:
    """Cluster-level quantities from which every bootstrap t statistic follows.

    With ``q = X M e_1`` (``M = (X'X)^{-1}``, so ``beta_hat = q'y``), restricted
    residuals ``u(beta0) = ua - beta0 ub`` and cluster sums ``w_g = q_g'u_g``,
    ``A_g = X_g'q_g``, ``U_g = X_g'u_g``, a weight vector ``v`` gives
    ``beta* - beta0 = sum_g v_g w_g`` and CR1 scores
    ``r_g = v_g w_g - A_g' M sum_h U_h v_h``.
    """

    wa: np.ndarray  # G
    wb: np.ndarray  # G
    Ua: np.ndarray  # G x k
    Ub: np.ndarray  # G x k
    MA: np.ndarray  # k x G: M A'
    c: float  # CR1 factor G/(G-1) (n-1)/(n-k)

    def coefficients(self, v: np.ndarray) -> np.ndarray:
        """``(draws, 5)`` rows ``a, b, v0, v1, v2`` for weight vectors ``v`` (draws x G)."""
        ra = v * self.wa[None, :] - (v @ self.Ua) @ self.MA
        rb = v * self.wb[None, :] - (v @ self.Ub) @ self.MA
        out = np.empty((len(v), 5))
        out[:, 0] = v @ self.wa
        out[:, 1] = v @ self.wb
        out[:, 2] = self.c * np.einsum("ij,ij->i", ra, ra)
        out[:, 3] = -2 * self.c * np.einsum("ij,ij->i", ra, rb)
        out[:, 4] = self.c * np.einsum("ij,ij->i", rb, rb)
        return out


def _weight_draws(
    weights: str, n_clusters: int, draws: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], bool]:
    """Weight matrices (draws x G) in batches, and whether they enumerate every vector."""
    points = RADEMACHER_POINTS if weights == "rademacher" else WEBB_POINTS
    total = len(points) ** n_clusters
    if total <= draws:
        grid = np.array(list(itertools.product(range(len(points)), repeat=n_clusters)), dtype=np.int64)
        return [points[grid]], True
    batch = max(1, _BATCH_ELEMENTS // n_clusters)
    out = []
    done = 0
    while done < draws:
        size = min(batch, draws - done)
        out.append(points[rng.integers(0, len(points), size=(size, n_clusters))])
        done += size
    return out, False


def wild_cluster_bootstrap(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    cluster: Hashable,
    strata: Hashable | None = None,
    weights: Literal["rademacher", "webb"] = "rademacher",
    draws: int = 9_999,
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    impose_null: bool = True,
    missing: Literal["raise", "drop"] = "raise",
) -> BootstrapTest:
    """Wild cluster bootstrap-t test and interval for the effect of assignment.

    Parameters
    ----------
    data
        One row per person.
    outcome
        Numeric outcome column.
    assigned
        Column holding each person's arm.
    control, treatment
        Labels of the compared arms (``treatment`` may be omitted when there is
        one other arm).
    covariates
        Baseline covariates, entered additively (text columns become dummies).
    cluster
        Column of the unit of assignment (clusters were randomised).
    strata
        Column of the randomisation strata, entered as fixed effects.
    weights
        ``"rademacher"`` (default): ``+1`` or ``-1`` with equal probability;
        ``"webb"``: Webb's six-point distribution, better when there are very
        few clusters (fewer than about 10).
    draws
        Number of bootstrap samples (``9_999`` makes ``alpha (draws + 1)`` a
        whole number for the usual levels). When the weights have no more than
        ``draws`` distinct vectors (``2^G`` for Rademacher, ``6^G`` for Webb),
        all of them are used instead, each once, and the result says so.
    seed
        An int or a ``numpy.random.Generator``; the only source of randomness.
    alpha
        Level of the test-inversion interval.
    impose_null
        ``True`` (default): the restricted bootstrap (WCR), which imposes the
        null hypothesis on the bootstrap samples; ``False``: unrestricted (WCU).
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome or
        covariate.

    Returns
    -------
    BootstrapTest

    Notes
    -----
    The model is ``y = tau z + X gamma + e`` with ``z`` the assignment, ``X``
    an intercept (or strata dummies) and the covariates; ``t = (tau_hat -
    tau0) / se_CR1``, with ``se_CR1^2 = c sum_g (q_g'e_g)^2``, ``q = X M e_z``
    the row of the OLS projection giving ``tau_hat = q'y`` and
    ``c = G/(G-1) (n-1)/(n-k)`` (Cameron & Miller 2015, *JHR* 50(2)).

    *WCR* (Cameron, Gelbach & Miller 2008, *REStat* 90(3); MacKinnon & Webb
    2018, *Econometrics Journal* 21(2)): fit the model with ``tau = tau0``
    imposed, keep its residuals ``u`` and fitted values, and build bootstrap
    samples ``y* = fitted + tau0 z + v_g u_i`` with one weight ``v_g`` per
    cluster. Each sample's CR1 t statistic ``t*`` is computed as for the data,
    and the p-value is ``#{|t*| >= |t|} / B`` (symmetric, two-sided). Because
    ``q`` is orthogonal to the other regressors,
    ``tau* - tau0 = sum_g v_g q_g'u_g`` and the bootstrap residual scores are
    ``r_g = v_g q_g'u_g - (X_g'q_g)' M sum_h v_h X_h'u_h``: only ``G x k``
    cluster sums are needed (Roodman et al. 2019, *Stata Journal* 19(1)).
    *WCU* uses the unrestricted residuals and ``t* = (tau* - tau_hat)/se*``.

    *Interval.* ``u`` is linear in ``tau0``, so ``t*(tau0) = (a - tau0 b) /
    sqrt(v0 + v1 tau0 + v2 tau0^2)`` with five numbers per draw, and the
    interval is the set of ``tau0`` whose bootstrap p-value exceeds ``alpha``
    (MacKinnon 2015; Roodman et al. 2019), found by a grid scan and
    bisection from the estimate with the same weight draws for every ``tau0``.

    *Weights.* Rademacher weights have only ``2^G`` distinct vectors, and
    ``v`` and ``-v`` give the same ``|t*|``, so with ``G`` clusters the
    p-value cannot fall below ``2 / 2^G``; Webb's (2014) six-point weights
    (``+-sqrt(1/2), +-1, +-sqrt(3/2)``) avoid this with very few clusters.
    A test with fewer than about 5 treated or control clusters can still
    over- or under-reject (MacKinnon & Webb 2017, *JAE* 32(2)); a
    randomisation test is then the safer choice.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dwp_eval.estimate.bootstrap import wild_cluster_bootstrap
    >>> rng = np.random.default_rng(7)
    >>> g = np.repeat(np.arange(8), 25)           # 8 jobcentres of 25 people
    >>> arm = np.where(g % 2 == 0, "control", "treatment")
    >>> y = rng.normal(size=200) + rng.normal(size=8)[g] + 0.8 * (arm == "treatment")
    >>> df = pd.DataFrame({"jobcentre": g, "arm": arm, "y": y})
    >>> res = wild_cluster_bootstrap(df, outcome="y", assigned="arm", cluster="jobcentre", seed=1)
    >>> res.draws, res.enumerated   # 2^8 = 256 sign vectors, all used
    (256, True)
    >>> res.conf_low < res.estimate < res.conf_high
    True
    """
    func = "wild_cluster_bootstrap"
    alpha = check_alpha(alpha, func=func)
    kind = check_option(weights, WEIGHTS, param="weights", func=func)
    draws = check_draws(draws, name="draws", func=func)
    if not isinstance(impose_null, (bool, np.bool_)):
        raise OptionError(
            f"The 'impose_null' parameter of {func} must be True or False. Got {impose_null!r} instead."
        )
    rng = check_seed(seed, func=func)
    if cluster is None:
        raise OptionError(
            f"The 'cluster' parameter of {func} must name the column of the randomised clusters. "
            "Got None instead. Fix: without clusters use itt or randomisation_test."
        )
    covs = [] if covariates is None else list(covariates)
    prep, _ = prepare_sample(
        data,
        outcome=outcome,
        assigned=assigned,
        control=control,
        treatment=treatment,
        covariates=covs,
        strata=strata,
        cluster=cluster,
        weights=None,
        missing=missing,
        func=func,
    )
    y, z = prep.y, prep.z
    n = len(y)
    # clusters and strata numbered by first appearance, so that the seeded weight draws
    # (one column per cluster) do not depend on how the labels are spelled or sort
    cl = first_appearance_codes(cast(np.ndarray, prep.cluster))  # cluster= is required above
    strata_codes = None if prep.strata is None else first_appearance_codes(prep.strata)
    cols = [z]
    names = ["assigned"]
    if prep.covariates.shape[1]:
        cols.append(prep.covariates.to_numpy(dtype=float))
        names += list(prep.covariates.columns)
    if strata_codes is not None:
        n_strata = int(strata_codes.max()) + 1
        dummies = np.zeros((n, n_strata))
        dummies[np.arange(n), strata_codes] = 1.0
        cols.append(dummies)
        names += [f"stratum[{s}]" for s in range(n_strata)]
    else:
        n_strata = 0
        cols.append(np.ones(n))
        names.append("(Intercept)")
    X = np.column_stack(cols)
    k = X.shape[1]
    G = len(np.unique(cl))
    if G <= k:
        raise DesignError(
            f"{func}: {G} clusters cannot identify {k} coefficients (assignment, covariates and "
            "strata effects) with a cluster-robust variance. Fix: use fewer covariates or strata, "
            "or a randomisation test."
        )
    fit = fit_ols(X, y, names, func=func)
    M = fit.bread
    q = X @ M[:, 0]  # beta_hat = q'y
    beta = float(fit.beta[0])
    se = float(vcov(fit, "CR1", cl, outcome=prep.outcome, func=func).std_error[0])
    c = G / (G - 1) * (n - 1) / (n - k)  # the CR1 factor, as in the variance core
    MA = M @ cluster_sums(X * q[:, None], cl).T
    if impose_null:
        # restricted fit: y - tau0 z on the other regressors; residuals ua - tau0 ub
        Xr = X[:, 1:]
        ua = fit_ols(Xr, y, names[1:], func=func).resid
        ub = fit_ols(Xr, z, names[1:], func=func).resid
        parts = _WildParts(
            wa=cluster_sums(q * ua, cl),
            wb=cluster_sums(q * ub, cl),
            Ua=cluster_sums(X * ua[:, None], cl),
            Ub=cluster_sums(X * ub[:, None], cl),
            MA=MA,
            c=c,
        )
    else:
        parts = _WildParts(
            wa=cluster_sums(q * fit.resid, cl),
            wb=np.zeros(G),
            Ua=cluster_sums(X * fit.resid[:, None], cl),
            Ub=np.zeros((G, k)),
            MA=MA,
            c=c,
        )
    batches, enumerated = _weight_draws(kind, G, int(draws), rng)
    coefs = np.concatenate([parts.coefficients(v) for v in batches], axis=0)
    if not impose_null:
        coefs[:, 1] = 0.0  # t* does not move with the tested value
    obs = np.array([[beta, 1.0, se**2, 0.0, 0.0]])
    pfun = PValueFunction(obs=obs, draws=coefs, plus_one=False, centre=beta, scale=se)
    p = pfun(0.0)
    lo, hi = pfun.interval(alpha)
    null = t_values(coefs, 0.0)
    null.setflags(write=False)
    notes = []
    if enumerated:
        notes.append(
            f"all {len(coefs):,} distinct {kind} weight vectors used (fewer than draws={draws:,}): "
            "the p-value is exactly reproducible"
        )
    if kind == "rademacher" and G < 12:
        notes.append(
            f"with {G} clusters Rademacher weights cannot give p < {2 / 2**G:.3g}; consider weights='webb'"
        )
    if not np.isfinite(lo) or not np.isfinite(hi):
        notes.append(f"the interval is unbounded: no effect that large is rejected at alpha = {alpha:g}")
    return BootstrapTest(
        outcome=str(outcome),
        treatment=prep.treatment,
        control=prep.control,
        estimate=beta,
        std_error=se,
        statistic=beta / se if se > 0 else float("nan"),
        p_value=float(p),
        conf_low=float(lo),
        conf_high=float(hi),
        alpha=alpha,
        draws=len(coefs),
        enumerated=enumerated,
        weights=kind,
        impose_null=bool(impose_null),
        n_clusters=G,
        n_obs=n,
        n_by_arm=prep.n_by_arm,
        covariates=tuple(str(c) for c in prep.covariates.columns),
        n_strata=n_strata if prep.strata is not None else None,
        null_statistics=null,
        notes=tuple(notes),
        _pfun=pfun,
    )
