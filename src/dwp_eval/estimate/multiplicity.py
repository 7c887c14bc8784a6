"""Multiple outcomes: p-value adjustments (Holm, Bonferroni, Benjamini-Hochberg) and the
Romano-Wolf step-down bootstrap for familywise error control on studentised statistics.

=================  =====================================================  ==============
name               adjustment of the ordered p-values ``p_(1) <= ...``     controls
=================  =====================================================  ==============
``"bonferroni"``   ``min(1, K p_k)``                                       FWER
``"holm"``         ``max_{j<=k} min(1, (K - j + 1) p_(j))`` (Holm 1979)    FWER
``"bh"``           ``min_{j>=k} min(1, K p_(j) / j)``                      FDR
                   (Benjamini & Hochberg 1995)
``"none"``         ``p_k``                                                  nothing
=================  =====================================================  ==============

Holm, Bonferroni and Benjamini-Hochberg are delegated to
:func:`statsmodels.stats.multitest.multipletests`. Romano-Wolf resamples the
trial as it was designed (see :func:`romano_wolf`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import integrate, special, stats
from statsmodels.stats.multitest import multipletests

from dwp_eval._validation import (
    MAX_DRAWS,
    Seed,
    _fmt_list,
    as_column_list,
    check_alpha,
    check_data,
    check_option,
    check_seed,
)
from dwp_eval._validation import check_draws as _check_draws
from dwp_eval.errors import DegenerateDrawsWarning, DesignError, OptionError
from dwp_eval.estimate.itt import itt
from dwp_eval.estimate.resampling import DesignBootstrap, Hypothesis
from dwp_eval.results.multiplicity import RomanoWolf

__all__ = [
    "MAX_DRAWS",
    "P_ADJUST_METHODS",
    "adjust_p_values",
    "dunnett_p_values",
    "romano_wolf",
    "romano_wolf_p_values",
]

#: Names accepted by :func:`adjust_p_values`, mapped to the ``method`` of
#: :func:`statsmodels.stats.multitest.multipletests` that computes them.
P_ADJUST_METHODS: dict[str, str] = {
    "holm": "holm",
    "bonferroni": "bonferroni",
    "bh": "fdr_bh",
    "none": "none",
}


# --------------------------------------------------------------------------- checks


def check_outcome_list(outcomes: Any, *, func: str) -> list[Hashable]:
    """A non-empty list of distinct outcome column names."""
    outs = as_column_list(outcomes)
    if not outs:
        raise OptionError(
            f"The 'outcomes' parameter of {func} must name at least one outcome column. "
            f"Got {outcomes!r} instead."
        )
    seen: set[Hashable] = set()
    dups: list[Hashable] = []
    for o in outs:
        if o in seen and o not in dups:
            dups.append(o)
        seen.add(o)
    if dups:
        raise OptionError(
            f"The 'outcomes' parameter of {func} must name each outcome once; "
            f"{_fmt_list(dups)} appear(s) more than once. Fix: remove the repeats."
        )
    return outs


def check_draws(draws: Any, *, func: str) -> int:
    """A positive number of bootstrap draws, at most :data:`MAX_DRAWS` (the one check
    of :func:`dwp_eval._validation.check_draws`)."""
    return _check_draws(draws, name="draws", func=func, hint=" (e.g. 1000)")


def _check_p_values(p_values: ArrayLike, *, func: str) -> np.ndarray:
    try:
        p = np.array(p_values, dtype=float)
    except (TypeError, ValueError):
        raise OptionError(
            f"The 'p_values' parameter of {func} must be a sequence of numbers in [0, 1]. "
            f"Got {p_values!r} instead."
        ) from None
    if p.ndim != 1:
        raise OptionError(
            f"The 'p_values' parameter of {func} must be one-dimensional. Got shape {p.shape}."
        )
    bad = ~(np.isfinite(p) & (p >= 0) & (p <= 1))
    if bad.any():
        where = np.flatnonzero(bad)
        raise OptionError(
            f"The 'p_values' parameter of {func} must hold numbers in [0, 1] with no missing "
            f"values. Got {_fmt_list(p[where][:5].tolist(), 5)} at position(s) "
            f"{_fmt_list(where[:5].tolist(), 5)}."
        )
    return p


# --------------------------------------------------------------------------- p-value adjustments


def adjust_p_values(
    p_values: ArrayLike,
    method: Literal["holm", "bonferroni", "bh", "none"] = "holm",
) -> np.ndarray:
    """Adjust a family of p-values for multiple testing.

    Parameters
    ----------
    p_values
        One p-value per hypothesis of the family, each in [0, 1].
    method
        ``"holm"`` (default): Holm's (1979) step-down Bonferroni, which controls
        the familywise error rate (FWER) under any dependence and is uniformly
        more powerful than Bonferroni; ``"bonferroni"``; ``"bh"``:
        Benjamini-Hochberg (1995) step-up, which controls the false discovery
        rate (FDR) for independent or positively dependent tests; ``"none"``.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values, in the order given, each in [0, 1]. A
        hypothesis is rejected at level ``alpha`` when its adjusted p-value is
        at most ``alpha``.

    Notes
    -----
    With ``K`` hypotheses and ordered p-values ``p_(1) <= ... <= p_(K)``:

    * Bonferroni: ``min(1, K p_k)``;
    * Holm: ``p~_(k) = max_{j <= k} min(1, (K - j + 1) p_(j))``;
    * Benjamini-Hochberg: ``p~_(k) = min_{j >= k} min(1, K p_(j) / j)``.

    Bonferroni and Benjamini-Hochberg are
    :func:`statsmodels.stats.multitest.multipletests` (``"bonferroni"``, ``"fdr_bh"``).
    Holm is the formula above, written here: statsmodels' Holm branch runs a full
    garbage collection (``gc.collect()``) on every call, which took 0.1 to 1 s in a
    process holding a report's objects. It is tested equal to statsmodels' Holm.

    Holm S (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6(2), 65-70. Benjamini Y, Hochberg Y
    (1995). Controlling the false discovery rate. *JRSS B* 57(1), 289-300.

    Examples
    --------
    >>> from dwp_eval.estimate.multiplicity import adjust_p_values
    >>> adjust_p_values([0.01, 0.04, 0.03, 0.005], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    >>> adjust_p_values([0.01, 0.04, 0.03, 0.005], method="bh").round(3).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    func = "adjust_p_values"
    method = check_option(method, tuple(P_ADJUST_METHODS), param="method", func=func)  # type: ignore[assignment]
    p = _check_p_values(p_values, func=func)
    if p.size == 0 or method == "none":
        return p
    if method == "holm":
        return _holm(p)
    return np.asarray(multipletests(p, method=P_ADJUST_METHODS[method])[1], dtype=float)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's adjusted p-values, ``max_{j <= k} min(1, (K - j + 1) p_(j))`` (Holm 1979)."""
    order = np.argsort(p, kind="stable")
    k = p.size
    adjusted = np.minimum(np.maximum.accumulate(p[order] * np.arange(k, 0, -1)), 1.0)
    out = np.empty(k)
    out[order] = adjusted
    return out


# --------------------------------------------------------------------------- Dunnett


def dunnett_p_values(
    statistics: ArrayLike, correlation: ArrayLike, df: float = math.inf
) -> np.ndarray:
    """Single-step Dunnett adjusted p-values for several arms each compared with one control.

    Parameters
    ----------
    statistics
        The ``K`` studentised statistics ``t_k`` of the contrasts (arm ``k`` vs control).
    correlation
        Their ``K x K`` correlation matrix. For contrasts sharing a control arm whose
        means have variances ``v_c`` and ``v_k``, ``rho_jk = v_c / sqrt((v_j + v_c)
        (v_k + v_c))`` (Dunnett 1955; with equal variances ``sqrt(n_j n_k / ((n_j + n_c)
        (n_k + n_c)))``).
    df
        Degrees of freedom of the multivariate t (``inf``: multivariate normal).

    Returns
    -------
    numpy.ndarray
        ``p_k = P(max_j |T_j| >= |t_k|)`` for ``T`` multivariate t with that
        correlation and df: two-sided, single-step, in the order given.

    Notes
    -----
    When the correlation has the one-factor form ``rho_jk = a_j a_k`` (always so for
    contrasts sharing a control), ``T_j = (a_j W + sqrt(1 - a_j^2) Z_j) / S`` with
    independent standard normals ``W, Z_j`` and ``S = sqrt(chi2_df / df)``, so

    ``P(max_j |T_j| < c) = E_S E_W prod_j [Phi((cS - a_j W) / b_j) - Phi((-cS - a_j W) / b_j)]``

    with ``b_j = sqrt(1 - a_j^2)`` (Dunnett 1955, section 2): ``W`` is integrated on a
    fine grid (Simpson, 1,201 points on [-9, 9]) and ``S`` by adaptive quadrature, to
    about 1e-9. Other correlations use :class:`scipy.stats.multivariate_t` (Genz's
    quasi-Monte Carlo, about 1e-5). Multcomp's ``glht(..., mcp(arm = "Dunnett"))`` and
    :func:`scipy.stats.dunnett` compute the same p-values (Hothorn, Bretz & Westfall 2008).

    Dunnett CW (1955). A multiple comparison procedure for comparing several treatments
    with a control. *JASA* 50(272), 1096-1121.

    Examples
    --------
    >>> import numpy as np
    >>> from dwp_eval.estimate.multiplicity import dunnett_p_values
    >>> corr = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> dunnett_p_values([2.2, 1.0], corr, df=297).round(4).tolist()
    [0.0528, 0.5028]
    """
    func = "dunnett_p_values"
    t = np.abs(np.asarray(statistics, dtype=float))
    r = np.asarray(correlation, dtype=float)
    k = t.shape[0] if t.ndim == 1 else -1
    if t.ndim != 1 or k == 0 or not np.all(np.isfinite(t)):
        raise OptionError(f"{func}: 'statistics' must be a non-empty 1-D array of finite numbers.")
    if (r.shape != (k, k) or not np.all(np.isfinite(r)) or not np.allclose(r, r.T, atol=1e-12)
            or not np.allclose(np.diag(r), 1.0, atol=1e-12)
            or np.min(np.linalg.eigvalsh(r)) < -1e-10):
        raise OptionError(
            f"{func}: 'correlation' must be a {k} x {k} correlation matrix (symmetric, unit "
            f"diagonal, positive semi-definite). Got shape {r.shape}."
        )
    df = float(df)
    if not df > 0:
        raise OptionError(f"{func}: 'df' must be positive (or inf). Got {df!r}.")
    if k == 1:
        return np.asarray([2 * (stats.norm.sf(t[0]) if math.isinf(df) else stats.t.sf(t[0], df))])
    a = _one_factor(r)
    if a is None:
        return np.asarray([_mvt_exceed(c, r, df) for c in t])
    return np.asarray([1.0 - _dunnett_within(c, a, df) for c in t]).clip(0.0, 1.0)


def _one_factor(r: np.ndarray) -> np.ndarray | None:
    """``a`` with ``r_jk = a_j a_k`` off the diagonal and ``|a_j| < 1``, or ``None``."""
    k = r.shape[0]
    a = np.empty(k)
    for j in range(k):
        o = [i for i in range(k) if i != j]
        if k == 2:
            a[:] = math.sqrt(abs(r[0, 1]))
            a[1] *= np.sign(r[0, 1]) or 1.0
            break
        den = r[o[0], o[1]]
        if den == 0:
            return None
        sq = r[j, o[0]] * r[j, o[1]] / den
        if sq < 0:
            return None
        a[j] = math.sqrt(sq) * (np.sign(r[0, j]) or 1.0 if j else 1.0)
    off = ~np.eye(k, dtype=bool)
    if np.max(np.abs(np.outer(a, a) - r)[off]) > 1e-9 or np.max(np.abs(a)) >= 1:
        return None
    return a


_W = np.linspace(-9.0, 9.0, 1201)
_SIMPSON = np.r_[1.0, np.tile([4.0, 2.0], 599), 4.0, 1.0] * (_W[1] - _W[0]) / 3 * stats.norm.pdf(_W)


def _dunnett_within(c: float, a: np.ndarray, df: float) -> float:
    """``P(max_j |T_j| < c)`` for one-factor correlations (see dunnett_p_values)."""
    b = np.sqrt(1.0 - a**2)[None, :]
    aw = _W[:, None] * a[None, :]

    def given_s(s: float) -> float:
        cell = special.ndtr((c * s - aw) / b) - special.ndtr((-c * s - aw) / b)
        return float(_SIMPSON @ np.prod(cell, axis=1))

    if math.isinf(df):
        return given_s(1.0)
    # density of S = sqrt(chi2_df / df): f(s) = 2 df s g(df s^2), g the chi2_df density
    h = df / 2.0
    log_const = math.log(2.0 * df) - h * math.log(2.0) - special.gammaln(h)

    def dens(s: float) -> float:
        x = df * s * s
        return math.exp(log_const + math.log(s) + (h - 1.0) * math.log(x) - x / 2.0) if s > 0 else 0.0

    # S lies within 1 +- 12 / sqrt(2 df) but for a negligible mass (chi-square tails)
    lo, hi = float(math.sqrt(stats.chi2.ppf(1e-15, df) / df)), float(math.sqrt(stats.chi2.isf(1e-15, df) / df))
    val, _ = integrate.quad(lambda s: given_s(s) * dens(s), lo, hi, epsabs=1e-10, epsrel=1e-9,
                            limit=200)
    return float(val)


def _mvt_exceed(c: float, r: np.ndarray, df: float) -> float:
    """``P(max_j |T_j| >= c)`` by Genz's algorithm (general correlations)."""
    hi = np.full(r.shape[0], c)
    if math.isinf(df):
        mvn = stats.multivariate_normal(mean=np.zeros(len(hi)), cov=r, allow_singular=True, seed=0)
        # the integration settings as attributes: SciPy < 1.15 does not pass them through the call
        mvn.maxpts, mvn.abseps, mvn.releps = 200_000 * len(hi), 1e-7, 1e-7
        inside = mvn.cdf(hi, lower_limit=-hi)
    else:
        inside = stats.multivariate_t(shape=r, df=df, allow_singular=True).cdf(
            hi, lower_limit=-hi, maxpts=200_000 * len(hi), random_state=0
        )
    return float(np.clip(1.0 - inside, 0.0, 1.0))


# --------------------------------------------------------------------------- Romano-Wolf


def romano_wolf_p_values(statistics: ArrayLike, bootstrap_statistics: ArrayLike) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values from observed and resampled statistics.

    Parameters
    ----------
    statistics
        The ``K`` observed studentised statistics ``t_k``.
    bootstrap_statistics
        An ``M x K`` array of resampled statistics centred at the estimates,
        ``t*_mk = (theta*_mk - theta_k) / se*_mk``. Missing (NaN) or infinite
        values count as exceeding every observed statistic (conservative).

    Returns
    -------
    numpy.ndarray
        The ``K`` adjusted p-values for two-sided tests, in the order given.

    Notes
    -----
    Order the hypotheses so that ``|t_(1)| >= ... >= |t_(K)|``. For step
    ``j`` let ``max*_mj = max_{l >= j} |t*_m(l)|``, the largest resampled
    statistic among the hypotheses not yet rejected; then

    ``p_(j) = (1 + #{m : max*_mj >= |t_(j)|}) / (M + 1)``  and
    ``p~_(j) = max(p_(1), ..., p_(j))``,

    so adjusted p-values never decrease along the step-down order (Romano &
    Wolf 2016, Algorithm 2.1 and eq. 6; the ``+1`` in numerator and
    denominator, as in Clarke, Romano & Wolf 2020, makes each p-value valid
    for a finite number of draws). Since ``max*_mj >= |t*_mk|``, the adjusted
    p-value is never below the bootstrap unadjusted one,
    ``(1 + #{m : |t*_mk| >= |t_k|}) / (M + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from dwp_eval.estimate.multiplicity import romano_wolf_p_values
    >>> boot = np.random.default_rng(1).standard_normal((999, 3))
    >>> romano_wolf_p_values([3.5, 0.2, -2.1], boot).round(3).tolist()
    [0.003, 0.82, 0.071]
    """
    t = np.abs(np.asarray(statistics, dtype=float))
    tb = np.abs(np.asarray(bootstrap_statistics, dtype=float))
    if t.ndim != 1 or tb.ndim != 2 or tb.shape[1] != t.shape[0]:
        raise OptionError(
            "romano_wolf_p_values: 'bootstrap_statistics' must be a draws x K array matching "
            f"the K = {t.shape[0] if t.ndim == 1 else '?'} statistics. Got shape {tb.shape}."
        )
    if not np.all(np.isfinite(t)):
        raise OptionError("romano_wolf_p_values: the observed statistics must be finite.")
    if tb.shape[0] == 0:
        raise OptionError("romano_wolf_p_values: 'bootstrap_statistics' has no draws.")
    tb = np.where(np.isnan(tb), np.inf, tb)
    order = np.argsort(-t, kind="stable")
    # max over the hypotheses from step j onwards: reverse cumulative maximum
    tail_max = np.maximum.accumulate(tb[:, order][:, ::-1], axis=1)[:, ::-1]
    exceed = np.sum(tail_max >= t[order][None, :], axis=0)
    p_step = (exceed + 1) / (tb.shape[0] + 1)
    out = np.empty_like(p_step)
    out[order] = np.maximum.accumulate(p_step)
    return out


def _bootstrap_p_values(t: np.ndarray, tb: np.ndarray) -> np.ndarray:
    """Unadjusted bootstrap-t p-values ``(1 + #{|t*_k| >= |t_k|}) / (M + 1)``."""
    tb = np.where(np.isnan(tb), np.inf, np.abs(tb))
    return np.asarray((np.sum(tb >= np.abs(t)[None, :], axis=0) + 1) / (tb.shape[0] + 1))


def romano_wolf(
    data: pd.DataFrame,
    *,
    outcomes: Sequence[Hashable],
    assigned: Hashable,
    seed: Seed,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    weights: Hashable | None = None,
    draws: int = 1000,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> RomanoWolf:
    """Romano-Wolf step-down p-values for the ITT effects on several outcomes.

    Each outcome's effect is estimated by :func:`dwp_eval.itt` with the same
    arguments; the bootstrap resamples the trial as it was designed and
    recomputes every outcome's studentised statistic on the same draws, so the
    dependence between outcomes is kept.

    Parameters
    ----------
    data, outcomes, assigned
        One row per person; the outcome columns; the arm column.
    seed
        An int or a ``numpy.random.Generator`` (required: the p-values are
        random and must be reproducible).
    control, treatment, covariates, adjustment, strata, cluster, se_type, weights, alpha, missing
        As for :func:`dwp_eval.itt`.
    draws
        Number of bootstrap draws (1,000 by default; the smallest attainable
        p-value is ``1 / (draws + 1)``).

    Returns
    -------
    RomanoWolf

    Notes
    -----
    *Statistics.* For outcome ``k``, ``t_k = theta_k / se_k`` is the ITT
    estimate over its standard error exactly as :func:`dwp_eval.itt` reports
    them. In draw ``m`` the same estimator and variance give
    ``t*_mk = (theta*_mk - theta_k) / se*_mk``, centred at the estimate so
    that it mimics the null distribution (Romano & Wolf 2016, section 3).

    *Resampling follows the design* (a pairs bootstrap). People are resampled
    with replacement; in a cluster design whole clusters are; in both cases
    within each stratum and arm, since randomisation fixed those counts (this
    also means no draw has an empty arm). If some stratum holds a single unit
    of an arm, that unit would never vary, so units are then resampled within
    strata only. In a matched-pair design whole pairs (strata) are resampled.
    A cluster or pair drawn twice counts as two clusters or pairs. Rows with a
    missing outcome (``missing="drop"``) are resampled with their unit and left
    out of that outcome's statistic only.

    *Step-down.* Adjusted p-values are computed by
    :func:`romano_wolf_p_values` (Romano & Wolf 2016, Algorithm 2.1). The
    procedure controls the familywise error rate asymptotically and, by using
    the joint distribution of the statistics, is less conservative than
    Holm's when outcomes are correlated.

    *Computation.* Without covariates the design-based estimators (difference
    in means, blocked, clustered with CR2, block-clustered, weighted) are
    computed for all outcomes and a batch of draws at once from unit totals
    and resampling counts, by matrix products. With covariates (or an
    explicit ``se_type``, or weights with clusters) each draw is a least
    squares fit per outcome; a covariate that is constant in an arm of a draw
    is left out of that draw's fit. Draws where a statistic cannot be
    computed are counted in ``n_degenerate`` and treated as exceeding every
    observed statistic.

    Romano JP, Wolf M (2005). Stepwise multiple testing as formalized data
    snooping. *Econometrica* 73(4), 1237-1282. Romano JP, Wolf M (2016).
    Efficient computation of adjusted p-values for resampling-based stepdown
    multiple testing. *Statistics & Probability Letters* 113, 38-40.
    Clarke D, Romano JP, Wolf M (2020). The Romano-Wolf multiple-hypothesis
    correction in Stata. *Stata Journal* 20(4), 812-843 (``rwolf``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dwp_eval.estimate.multiplicity import romano_wolf
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"arm": np.repeat(["control", "treatment"], 100)})
    >>> df["y1"] = rng.normal(size=200) + 0.6 * (df["arm"] == "treatment")
    >>> df["y2"] = rng.normal(size=200)
    >>> rw = romano_wolf(df, outcomes=["y1", "y2"], assigned="arm", draws=499, seed=1)
    >>> [round(p, 3) for p in rw.p_value_adjusted]
    [0.004, 0.498]
    """
    func = "romano_wolf"
    data = check_data(data, func=func)
    outs = check_outcome_list(outcomes, func=func)
    draws = check_draws(draws, func=func)
    alpha = check_alpha(alpha, func=func)
    rng = check_seed(seed, func=func)
    effects = [
        itt(
            data, outcome=o, assigned=assigned, control=control, treatment=treatment,
            covariates=covariates, adjustment=adjustment, strata=strata, cluster=cluster,
            se_type=se_type, weights=weights, alpha=alpha, missing=missing,
        )
        for o in outs
    ]
    hyps = [Hypothesis(str(o), o, None, e) for o, e in zip(outs, effects, strict=True)]
    return romano_wolf_family(
        data, hyps, assigned=assigned, covariates=covariates, adjustment=adjustment,
        strata=strata, cluster=cluster, se_type=se_type, weights=weights, within=None,
        draws=draws, rng=rng, func=func,
    )


def romano_wolf_family(
    data: pd.DataFrame,
    hyps: Sequence[Hypothesis],
    *,
    assigned: Hashable,
    covariates: Sequence[Hashable] | None,
    adjustment: str,
    strata: Hashable | None,
    cluster: Hashable | None,
    se_type: str | None,
    weights: Hashable | None,
    within: Hashable | None,
    draws: int,
    rng: np.random.Generator,
    func: str,
) -> RomanoWolf:
    """Romano-Wolf for hypotheses whose effects were already estimated (internal).

    ``within``: a column (e.g. the subgroup of a subgroup family) that
    resampling also respects when it is constant within the resampled units.
    """
    boot = DesignBootstrap(
        data, hyps, assigned=assigned, covariates=as_column_list(covariates),
        adjustment=adjustment, strata=strata, cluster=cluster, se_type=se_type,
        weights=weights, within=within, func=func,
    )
    tb, n_bad = boot.run(draws, rng)
    t = np.array([h.effect.statistic for h in hyps], dtype=float)
    if not np.all(np.isfinite(t)):
        bad = [h.label for h, v in zip(hyps, t, strict=True) if not np.isfinite(v)]
        raise DesignError(
            f"{func}: the effect on {_fmt_list(bad)} has a zero or undefined standard error, so "
            "its studentised statistic (and a Romano-Wolf p-value) is undefined."
        )
    if n_bad:
        warnings.warn(
            f"{func}: {n_bad:,} of {draws:,} bootstrap draws could not be studentised (an arm "
            "or stratum with too few people for a variance); they count as exceeding every "
            "observed statistic, which is conservative.",
            DegenerateDrawsWarning,
            stacklevel=3,
        )
    tb.setflags(write=False)
    return RomanoWolf(
        effects=tuple(h.effect for h in hyps),
        labels=tuple(h.label for h in hyps),
        p_value_bootstrap=tuple(float(v) for v in _bootstrap_p_values(t, tb)),
        p_value_adjusted=tuple(float(v) for v in romano_wolf_p_values(t, tb)),
        bootstrap_statistics=tb,
        draws=draws,
        resampling=boot.resampling,
        n_degenerate=n_bad,
    )


