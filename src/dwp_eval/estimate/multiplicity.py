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

import itertools
import warnings
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from statsmodels.stats.multitest import multipletests

from dwp_eval._core.difference_in_means import design_based
from dwp_eval._core.regression import assignment_regression
from dwp_eval._core.sample import Prepared, expand_covariates
from dwp_eval._validation import (
    Seed,
    _fmt_list,
    as_column_list,
    check_alpha,
    check_data,
    check_option,
    check_seed,
)
from dwp_eval.errors import DegenerateDrawsWarning, DesignError, MissingDataError, OptionError
from dwp_eval.estimate.itt import itt
from dwp_eval.results import Effect, ResultMixin

__all__ = [
    "P_ADJUST_METHODS",
    "RomanoWolf",
    "adjust_p_values",
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

#: ``itt`` designs whose variance comes from the spread of pair differences:
#: Romano-Wolf resamples whole pairs (strata) for them.
PAIR_DESIGNS = ("matched-pair", "matched-pair clustered")

# Largest number of array elements (draws x resampled units) held at once by the
# bootstrap; about 32 MB per float64 array. Draws are made in batches of this size.
_BATCH_ELEMENTS = 4_000_000


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
    """A positive number of bootstrap draws."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or int(draws) < 1:
        raise OptionError(
            f"The 'draws' parameter of {func} must be a positive int (e.g. 1000). "
            f"Got {draws!r} instead."
        )
    return int(draws)


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

    The computation is :func:`statsmodels.stats.multitest.multipletests` with
    ``method="holm"``, ``"bonferroni"`` or ``"fdr_bh"``.

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
    return np.asarray(multipletests(p, method=P_ADJUST_METHODS[method])[1], dtype=float)


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


ROMANO_WOLF_COLUMNS = [
    "outcome",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "p_value_bootstrap",
    "p_value_adjusted",
    "n_obs",
    "se_type",
    "design",
]


@dataclass(frozen=True, eq=False, repr=False)
class RomanoWolf(ResultMixin):
    """Romano-Wolf adjusted p-values for a family of effects.

    Attributes
    ----------
    effects
        The effect of each hypothesis (as :func:`dwp_eval.itt` reports it).
    labels
        A label per hypothesis (the outcome, or ``"outcome, by=level"``).
    p_value_bootstrap
        Unadjusted bootstrap-t p-values.
    p_value_adjusted
        Romano-Wolf step-down adjusted p-values.
    bootstrap_statistics
        The ``draws x K`` resampled statistics ``(theta* - theta) / se*``
        (read-only).
    draws
        Number of bootstrap draws.
    resampling
        What was resampled (e.g. ``"clusters within strata and arm"``).
    n_degenerate
        Draws in which some statistic could not be computed; they count as
        exceeding the observed statistic (conservative).
    """

    effects: tuple[Effect, ...]
    labels: tuple[str, ...]
    p_value_bootstrap: tuple[float, ...]
    p_value_adjusted: tuple[float, ...]
    bootstrap_statistics: np.ndarray
    draws: int
    resampling: str
    n_degenerate: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per hypothesis (columns as in ``ROMANO_WOLF_COLUMNS``)."""
        rows = [
            {
                "outcome": label,
                "estimate": e.estimate,
                "std_error": e.std_error,
                "statistic": e.statistic,
                "p_value": e.p_value,
                "p_value_bootstrap": pb,
                "p_value_adjusted": pa,
                "n_obs": e.n_obs,
                "se_type": e.se_type,
                "design": e.design,
            }
            for label, e, pb, pa in zip(
                self.labels, self.effects, self.p_value_bootstrap, self.p_value_adjusted, strict=True
            )
        ]
        return pd.DataFrame(rows, columns=ROMANO_WOLF_COLUMNS)

    def summary(self) -> str:
        width = max([len(s) for s in self.labels] + [7])
        lines = [
            f"Romano-Wolf step-down adjusted p-values ({self.draws:,} bootstrap draws; "
            f"{self.resampling})",
            f"  {'outcome':<{width}}  {'estimate':>11} {'t':>8} {'p':>8} {'p boot':>8} {'p adj':>8}",
        ]
        for label, e, pb, pa in zip(
            self.labels, self.effects, self.p_value_bootstrap, self.p_value_adjusted, strict=True
        ):
            lines.append(
                f"  {label:<{width}}  {e.estimate:>11.4g} {e.statistic:>8.3f} {e.p_value:>8.4f} "
                f"{pb:>8.4f} {pa:>8.4f}"
            )
        if self.n_degenerate:
            lines.append(
                f"  {self.n_degenerate:,} draw(s) could not be studentised and count as exceedances"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<RomanoWolf {len(self.labels)} hypotheses, {self.draws:,} draws>"


@dataclass(frozen=True)
class Hypothesis:
    """One hypothesis of a family (internal): an outcome, optionally on a subset."""

    label: str
    outcome: Hashable
    subset: np.ndarray | None  # boolean over the rows of ``data``; None = all rows
    effect: Effect
    covariates: tuple[Hashable, ...] | None = None  # None: the family's covariates


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
    boot = _Bootstrap(
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


def _g(t: np.ndarray) -> np.ndarray:
    """``1 / (1 - t)``, and 0 where ``1 - t <= 1e-12`` (leverage one, as in CR2)."""
    one_minus = 1.0 - t
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(one_minus > 1e-12, 1.0 / one_minus, 0.0)
    return np.asarray(out)


class _Bootstrap:
    """The resampling plan of a family and the studentised statistics of each draw."""

    def __init__(
        self,
        data: pd.DataFrame,
        hyps: Sequence[Hypothesis],
        *,
        assigned: Hashable,
        covariates: list[Hashable],
        adjustment: str,
        strata: Hashable | None,
        cluster: Hashable | None,
        se_type: str | None,
        weights: Hashable | None,
        within: Hashable | None,
        func: str,
    ) -> None:
        self.hyps = list(hyps)
        self.func = func
        self.adjustment = adjustment
        first = self.hyps[0].effect
        self.control, self.treatment = first.control, first.treatment
        arm_text = data[assigned].astype("string")
        keep = arm_text.isin([self.control, self.treatment]).fillna(False).to_numpy(dtype=bool)
        frame = data.loc[keep]
        n = len(frame)
        self.z = (arm_text[keep] == self.treatment).to_numpy(dtype=float)
        for col, role in ((strata, "strata"), (cluster, "cluster"), (weights, "weights")):
            if col is not None and frame[col].isna().any():
                raise MissingDataError(
                    f"{func}: column {col!r} ({role}) has missing values; design columns must be "
                    "complete for resampling."
                )
        self.st = None if strata is None else _codes(frame[strata])
        self.cl = None if cluster is None else _codes(frame[cluster])
        self.w = None if weights is None else frame[weights].to_numpy(dtype=float)

        # which rows enter each hypothesis, and its outcome (0 where excluded)
        H = len(self.hyps)
        self.inc = np.zeros((n, H), dtype=bool)
        self.y = np.zeros((n, H))
        self.hyp_covs = [list(covariates if h.covariates is None else h.covariates) for h in self.hyps]
        self.se_type = se_type
        for j, h in enumerate(self.hyps):
            inc = np.array(frame[h.outcome].notna(), dtype=bool)
            for c in self.hyp_covs[j]:
                inc &= frame[c].notna().to_numpy()
            if h.subset is not None:
                inc &= np.asarray(h.subset, dtype=bool)[keep]
            if int(inc.sum()) != h.effect.n_obs:  # pragma: no cover - internal consistency
                raise RuntimeError(
                    f"{func}: internal error: {int(inc.sum())} rows for {h.label!r}, but the "
                    f"effect used {h.effect.n_obs}."
                )
            self.inc[:, j] = inc
            yv = frame[h.outcome].to_numpy(dtype=float, na_value=np.nan)
            self.y[:, j] = np.where(inc, yv, 0.0)

        # Matched pairs (as itt detects them: every stratum holds two units, or the strata mix
        # pairs and larger blocks): whole strata are resampled, since a pair has one unit per arm.
        self.pair = False
        if self.st is not None:
            if self.cl is None:
                upb = np.bincount(self.st)
            else:
                upb = pd.Series(self.cl).groupby(self.st).nunique().to_numpy()
            upb = upb[upb > 0]
            self.pair = bool(np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2)))

        # resampled units: pairs (strata), clusters (within strata) or people
        if self.pair and self.st is not None:  # matched pairs come from strata
            unit = self.st
            what = "pairs (strata)"
        elif self.cl is not None:
            key = self.cl if self.st is None else self.st * (int(self.cl.max()) + 1) + self.cl
            unit = _codes(pd.Series(key))
            what = "clusters"
        else:
            unit = np.arange(n, dtype=np.int64)
            what = "people"
        self.unit = unit
        self.n_units = int(unit.max()) + 1
        _, first_row = np.unique(unit, return_index=True)  # first row of each unit
        self.unit_arm = self.z[first_row]
        self.unit_st = None if self.st is None else self.st[first_row]

        # Resampling cells: units are drawn with replacement within each cell. Strata always;
        # then arm, and the subgroup (``within``) when it is constant within units, each only
        # if every cell keeps at least two units (a one-unit cell would never vary).
        candidates: list[tuple[str, np.ndarray]] = []
        if not self.pair:
            if self.unit_st is not None:
                candidates.append(("strata", self.unit_st))
            candidates.append(("arm", self.unit_arm.astype(np.int64)))
        if within is not None:
            wc = _codes(frame[within].astype("string").fillna("<NA>"))
            constant = pd.Series(wc).groupby(unit).nunique().to_numpy() <= 1
            if np.all(constant):
                candidates.append((str(within), wc[first_row]))
        cell = np.zeros(self.n_units, dtype=np.int64)
        names: list[str] = []
        for name, part in candidates:
            finer = _codes(pd.Series(cell * (int(part.max()) + 1) + part))
            if name != "strata" and np.bincount(finer).min() < 2:
                continue
            cell = finer
            names.append(name)
        # Number the units cell by cell, and by arm within a cell: each cell, each stratum
        # (cells are ordered by stratum first) and each stratum x arm is then a contiguous
        # range of units.
        perm = np.lexsort((self.unit_arm, cell))  # by cell, then arm within a cell
        relabel = np.empty(self.n_units, dtype=np.int64)
        relabel[perm] = np.arange(self.n_units)
        self.unit = relabel[unit]
        self.unit_arm = self.unit_arm[perm]
        self.unit_st = None if self.unit_st is None else self.unit_st[perm]
        self.cells = _runs(cell[perm])
        self.resampling = what + (" within " + " and ".join(names) if names else "")

        # how each draw's statistic is computed
        designs = {h.effect.design for h in self.hyps}
        if any(self.hyp_covs) or se_type is not None:
            self.mode = "regression"
        elif self.pair and designs <= set(PAIR_DESIGNS):
            self.mode = "pairs"
        elif not self.pair and not designs & set(PAIR_DESIGNS) and not (
            self.w is not None and self.cl is not None
        ):
            self.mode = "blocks"
        else:  # weighted CR2, or designs that differ between hypotheses: itt's own code per draw
            self.mode = "design-loop"
        self.cov: list[np.ndarray] = []
        self.cov_names: list[list[str]] = []
        if self.mode == "regression":
            for j in range(H):
                sub = frame.loc[self.inc[:, j]]
                expanded = expand_covariates(sub, self.hyp_covs[j], func)
                mat = np.full((n, expanded.shape[1]), np.nan)
                mat[self.inc[:, j]] = expanded.to_numpy(dtype=float)
                self.cov.append(mat)
                self.cov_names.append(list(expanded.columns))
        self.est_obs = np.array([h.effect.estimate for h in self.hyps], dtype=float)
        if self.mode == "blocks":
            self._sums = self._unit_sums()
        elif self.mode == "pairs":
            self._pair_sums = self._pair_block_sums()
        self._order = np.argsort(self.unit, kind="stable")
        self._sizes = np.bincount(self.unit, minlength=self.n_units)
        self._starts = np.cumsum(self._sizes) - self._sizes

    # ------------------------------------------------------------------ draws

    def counts(self, rng: np.random.Generator, draws: int) -> Iterator[np.ndarray]:
        """Batches of resampling counts (draws x units): how often each unit is drawn."""
        U = self.n_units
        batch = max(1, min(draws, _BATCH_ELEMENTS // max(U, 1)))
        done = 0
        while done < draws:
            b = min(batch, draws - done)
            drawn = np.empty((b, U), dtype=np.int64)
            for a, e in self.cells:
                drawn[:, a:e] = a + rng.integers(0, e - a, size=(b, e - a))
            flat = drawn + (np.arange(b, dtype=np.int64) * U)[:, None]
            yield np.bincount(flat.ravel(), minlength=b * U).reshape(b, U)
            done += b

    def run(self, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """The ``draws x H`` studentised statistics and the number of degenerate draws."""
        out = []
        for C in self.counts(rng, draws):
            if self.mode == "blocks":
                est, se = self._blocks(C)
            elif self.mode == "pairs":
                est, se = self._pairs(C)
            else:
                est, se = self._loop(C)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (est - self.est_obs[None, :]) / se
            out.append(t)
        tb = np.vstack(out)
        bad = ~np.isfinite(tb)
        tb[bad] = np.inf
        return tb, int(np.sum(bad.any(axis=1)))

    # ------------------------------------------------------------------ vectorised estimators

    def _unit_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit and hypothesis: mass (weight total), sum of weight x centred outcome, count."""
        U, H = self.n_units, len(self.hyps)
        wt = np.ones(len(self.z)) if self.w is None else self.w
        m = np.zeros((U, H))
        s = np.zeros((U, H))
        k = np.zeros((U, H))
        for j in range(H):
            inc = self.inc[:, j].astype(float)
            centre = np.average(self.y[:, j], weights=inc * wt)  # shift: better-conditioned sums
            yc = np.where(self.inc[:, j], self.y[:, j] - centre, 0.0)
            m[:, j] = np.bincount(self.unit, weights=inc * wt, minlength=U)
            s[:, j] = np.bincount(self.unit, weights=inc * wt * yc, minlength=U)
            k[:, j] = np.bincount(self.unit, weights=inc, minlength=U)
        return m, s, k

    def _blocks(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blocked difference in means with HC2/CR2 (Neyman) variance per block and arm.

        For a cell (block x arm) with drawn units ``u`` (count ``c_u``), mass
        ``m_u`` (weight total of the unit's rows), sum ``S_u`` (of weight x
        outcome) and ``n = sum c_u m_u``: mean ``ybar = sum c_u S_u / n`` and
        variance ``sum_u c_u (S_u - m_u ybar)^2 / (1 - m_u / n) / n^2``, which
        is the CR2 (clusters), HC2 (weights) or Neyman ``s^2 / n`` (people)
        variance of the arm mean, since the leverage of unit ``u`` in a
        regression on arm indicators is ``m_u / n``.
        """
        m, s, _k = self._sums
        C = counts.astype(float)
        b, H = C.shape[0], m.shape[1]
        scalar = self.cl is None and self.w is None
        block_key = np.zeros(self.n_units, dtype=np.int64) if self.unit_st is None else self.unit_st
        num = np.zeros((b, H))
        den = np.zeros((b, H))
        var_num = np.zeros((b, H))
        with np.errstate(divide="ignore", invalid="ignore"):
            for a0, e0 in _runs(block_key):  # units of a block are consecutive, by arm
                d = np.zeros((b, H))
                v = np.zeros((b, H))
                for a1, e1 in _runs(self.unit_arm[a0:e0]):
                    sign = 1.0 if self.unit_arm[a0 + a1] == 1 else -1.0
                    ids = slice(a0 + a1, a0 + e1)
                    Cc = C[:, ids]
                    mi, si = m[ids], s[ids]
                    if scalar:  # people, unweighted: m_u in {0, 1}, S_u^2 = m_u y_u^2
                        r = Cc @ np.hstack([mi, si, si**2])
                        nn, tot, sq = r[:, :H], r[:, H : 2 * H], r[:, 2 * H :]
                        ybar = tot / nn
                        vv = (sq - nn * ybar**2) / (nn * (nn - 1))
                    else:
                        nn = Cc @ mi
                        ybar = (Cc @ si) / nn
                        vv = np.empty((b, H))
                        for j in range(H):
                            F = Cc * _g(mi[None, :, j] / nn[:, j, None])
                            a = F @ si[:, j] ** 2
                            c2 = F @ (si[:, j] * mi[:, j])
                            c3 = F @ mi[:, j] ** 2
                            vv[:, j] = (a - 2 * ybar[:, j] * c2 + ybar[:, j] ** 2 * c3) / nn[:, j] ** 2
                    d += sign * ybar
                    v += vv
                nb = C[:, a0:e0] @ m[a0:e0]  # weight total of the block (estimatr)
                use = nb > 0
                num += np.where(use, nb * d, 0.0)
                den += nb
                var_num += np.where(use, nb**2 * v, 0.0)
            est = num / den
            se = np.sqrt(var_num) / den
        return est, se

    def _pair_block_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pair (stratum) and hypothesis: difference in means, people, included (0/1)."""
        B, H = self.n_units, len(self.hyps)
        d = np.zeros((B, H))
        nobs = np.zeros((B, H))
        for j in range(H):
            inc = self.inc[:, j].astype(float)
            centre = self.y[self.inc[:, j], j].mean()
            yc = np.where(self.inc[:, j], self.y[:, j] - centre, 0.0)
            n1 = np.bincount(self.unit, weights=inc * self.z, minlength=B)
            n0 = np.bincount(self.unit, weights=inc * (1 - self.z), minlength=B)
            s1 = np.bincount(self.unit, weights=inc * self.z * yc, minlength=B)
            s0 = np.bincount(self.unit, weights=inc * (1 - self.z) * yc, minlength=B)
            with np.errstate(divide="ignore", invalid="ignore"):
                d[:, j] = np.where(n1 + n0 > 0, s1 / n1 - s0 / n0, 0.0)
            nobs[:, j] = n1 + n0
        return d, nobs, (nobs > 0).astype(float)

    def _pairs(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matched-pair estimators on resampled pairs (see :func:`dwp_eval.itt` Notes)."""
        d, nobs, incl = self._pair_sums
        C = counts.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            nb = C @ incl
            N = C @ nobs
            nd = C @ (nobs * d)
            est = nd / N
            if self.cl is None:
                ss = C @ (incl * d**2) - 2 * est * (C @ (incl * d)) + est**2 * nb
                se = np.sqrt(ss / (nb * (nb - 1)))
            else:
                a = N * est / nb
                ss = C @ ((nobs * d) ** 2) - 2 * a * nd + nb * a**2
                se = np.sqrt(nb / ((nb - 1) * N**2) * ss)
        return est, se

    # ------------------------------------------------------------------ one fit per draw

    def _loop(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Refit each hypothesis on each draw (covariates, explicit SE types, weighted CR2)."""
        b, H = counts.shape[0], len(self.hyps)
        est = np.full((b, H), np.nan)
        se = np.full((b, H), np.nan)
        for i in range(b):
            copies = np.repeat(np.arange(self.n_units), counts[i])
            lens = self._sizes[copies]
            ends = np.cumsum(lens)
            offs = np.arange(int(ends[-1])) + np.repeat(self._starts[copies] - ends + lens, lens)
            rows = self._order[offs]
            copy_id = np.repeat(np.arange(len(copies)), lens)
            for j in range(H):
                sel = self.inc[rows, j]
                try:
                    est[i, j], se[i, j] = self._fit(j, rows[sel], copy_id[sel])
                except (DesignError, np.linalg.LinAlgError, ValueError):
                    pass  # degenerate draw: counted by run()
        return est, se

    def _fit(self, j: int, rows: np.ndarray, copy: np.ndarray) -> tuple[float, float]:
        h = self.hyps[j]
        y, z = self.y[rows, j], self.z[rows]
        w = None if self.w is None else self.w[rows]
        strata: np.ndarray | None
        cluster: np.ndarray | None
        if self.pair:
            strata = copy  # each drawn pair is its own stratum
            cluster = None
            if self.cl is not None:
                cluster = _codes(pd.Series(copy * (int(self.cl.max()) + 1) + self.cl[rows]))
        else:
            strata = None if self.st is None else self.st[rows]
            cluster = None if self.cl is None else copy
        if strata is not None:  # consecutive codes: strata absent from this sample leave no gaps
            strata = np.unique(strata, return_inverse=True)[1].astype(np.int64)
        if self.mode == "design-loop" or (not self.hyp_covs[j] and self.se_type is None):
            prep = Prepared(
                y, z, pd.DataFrame(index=range(len(y))), strata, cluster, w, {}, self.treatment,
                self.control, {}, False,
            )
            est, se_, _, _, _, _ = design_based(prep, func=self.func)
            return est, se_
        X = self.cov[j][rows]
        names = self.cov_names[j]
        if X.shape[1]:
            if self.adjustment == "lin":
                ok = (np.ptp(X[z == 1], axis=0) > 0) & (np.ptp(X[z == 0], axis=0) > 0)
            else:
                ok = np.ptp(X, axis=0) > 0
            X = X[:, ok]
            names = [nm for nm, o in zip(names, ok, strict=True) if o]
        cov = pd.DataFrame(X, columns=names)
        est, se_, _, _ = assignment_regression(
            y, z, cov, self.adjustment, strata=strata, cluster=cluster, weights=w,
            se_type=h.effect.se_type, func=self.func,
        )
        return est, se_


def _runs(sorted_codes: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of equal values in ``sorted_codes``."""
    edges = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1], True])
    return [(int(a), int(e)) for a, e in itertools.pairwise(edges)]


def _codes(s: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(s, sort=True)
    return np.asarray(codes, dtype=np.int64)
