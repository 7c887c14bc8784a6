"""Monte Carlo assertions for estimators, for the library's tests and for users' CI.

Each helper simulates ``sims`` data sets with a data-generating process,
applies an estimator to each, and raises :class:`AssertionError` with a
readable message when the estimator's behaviour is outside what a correct
estimator produces with probability at least ``1 - significance``:

* :func:`assert_coverage`: the share of ``level`` intervals containing the
  truth, against an exact binomial band around ``level``;
* :func:`assert_size`: the share of p-values below ``alpha`` when the true
  effect is zero, against an exact binomial band around ``alpha``;
* :func:`assert_unbiased`: the mean error, against a normal band of
  ``z_{1 - significance/2}`` Monte Carlo standard errors.

Contract: ``dgp(rng)`` takes a ``numpy.random.Generator`` and returns one data
set (whatever the estimator takes, usually a DataFrame); ``estimator(data)``
returns a result with ``estimate`` and, as needed, ``conf_int(alpha)`` (or
``conf_low``/``conf_high``) and ``p_value``, such as :class:`dwp_eval.Effect`.
``truth`` is the true effect: a number, or a callable ``truth(data)`` (e.g.
the sample average of ``y1 - y0`` kept in the data). Simulation ``s`` uses the
``s``-th child of ``numpy.random.SeedSequence(seed)``.

Every helper returns a :class:`MonteCarloCheck` when it passes, so a test
can also report what it saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.contract import interval_of
from dwp_eval._validation import check_option
from dwp_eval.errors import OptionError
from dwp_eval.results import ResultMixin

__all__ = [
    "MonteCarloCheck",
    "assert_coverage",
    "assert_size",
    "assert_unbiased",
    "binomial_band",
]

Alternative = Literal["two-sided", "less", "greater"]
Truth = float | Callable[[Any], float]

CHECK_COLUMNS = ["check", "observed", "target", "lower", "upper", "mc_se", "sims", "significance",
                 "passed"]


def binomial_band(
    p: float, sims: int, *, significance: float = 0.001, alternative: Alternative = "two-sided"
) -> tuple[float, float]:
    """Acceptance band for the share of successes in ``sims`` Binomial(``sims``, ``p``) trials.

    Returns ``(lower, upper)`` as proportions. A share inside the band passes
    the exact binomial test of ``H0: rate = p`` at ``significance``:

    * ``"two-sided"`` (equal tails): ``P(X < lower sims) <= significance/2``
      and ``P(X > upper sims) <= significance/2``, so a correct estimator
      lands outside with probability at most ``significance``;
    * ``"less"`` (fail only when the rate is too low, e.g. undercoverage):
      ``P(X < lower sims) <= significance`` and ``upper = 1``;
    * ``"greater"`` (fail only when too high, e.g. over-rejection):
      ``lower = 0`` and ``P(X > upper sims) <= significance``.

    Examples
    --------
    >>> binomial_band(0.95, 1000)
    (0.926, 0.971)
    """
    _check_prob(p, "p", "binomial_band", closed=True)
    _check_sims(sims, "binomial_band")
    _check_prob(significance, "significance", "binomial_band")
    check_option(alternative, ("two-sided", "less", "greater"), param="alternative", func="binomial_band")
    tail = significance / 2 if alternative == "two-sided" else significance
    # ppf: smallest k with P(X <= k) >= tail, so P(X < k) < tail;
    # isf: smallest k with P(X > k) <= tail
    lo = float(stats.binom.ppf(tail, sims, p)) if alternative != "greater" else 0.0
    hi = float(stats.binom.isf(tail, sims, p)) if alternative != "less" else float(sims)
    return lo / sims, hi / sims


@dataclass(frozen=True, eq=False, repr=False)
class MonteCarloCheck(ResultMixin):
    """The outcome of a Monte Carlo assertion (returned when it passes).

    ``observed`` is the simulated coverage, rejection rate or bias; ``target``
    the value a correct estimator has; ``lower``/``upper`` the band it was
    judged against; ``mc_se`` its Monte Carlo standard error.
    """

    check: str
    observed: float
    target: float
    lower: float
    upper: float
    mc_se: float
    sims: int
    significance: float
    passed: bool
    message: str

    def to_frame(self) -> pd.DataFrame:
        """One row: ``check, observed, target, lower, upper, mc_se, sims, significance, passed``."""
        return pd.DataFrame([{c: getattr(self, c) for c in CHECK_COLUMNS}], columns=CHECK_COLUMNS)

    def summary(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (f"<MonteCarloCheck {self.check} {self.observed:.4g} in [{self.lower:.4g}, "
                f"{self.upper:.4g}] ({self.sims:,} sims): {'pass' if self.passed else 'FAIL'}>")


# ----------------------------------------------------------------------------- checks


def _check_prob(value: Any, param: str, func: str, *, closed: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (0.0 <= v <= 1.0) if closed else (0.0 < v < 1.0)
    if not ok:
        rng = "[0, 1]" if closed else "(0, 1)"
        raise OptionError(f"The '{param}' parameter of {func} must be a float in {rng}. Got {value!r} instead.")
    return float(value)


def _check_sims(sims: Any, func: str) -> int:
    if isinstance(sims, bool) or not isinstance(sims, (int, np.integer)) or sims < 2:
        raise OptionError(f"The 'sims' parameter of {func} must be an int >= 2. Got {sims!r} instead.")
    return int(sims)


def _rngs(seed: Any, sims: int, func: str) -> list[np.random.Generator]:
    if isinstance(seed, np.random.Generator):
        ss = np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and int(seed) >= 0:
        ss = np.random.SeedSequence(int(seed))
    else:
        raise OptionError(
            f"The 'seed' parameter of {func} must be a non-negative int or a numpy.random.Generator. "
            f"Got {seed!r} instead."
        )
    return [np.random.default_rng(c) for c in ss.spawn(sims)]


def _run(estimator: Callable[[Any], Any], dgp: Callable[[np.random.Generator], Any], sims: int,
         seed: Any, func: str, *, truth: Truth | None,
         extract: Callable[[Any], tuple[float, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Values extracted from each simulation's result, and each simulation's truth."""
    if not callable(estimator):
        raise OptionError(f"The 'estimator' parameter of {func} must be a callable estimator(data). "
                          f"Got {type(estimator).__name__} instead.")
    if not callable(dgp):
        raise OptionError(f"The 'dgp' parameter of {func} must be a callable dgp(rng). "
                          f"Got {type(dgp).__name__} instead.")
    if truth is not None and not callable(truth) and (
            isinstance(truth, bool) or not isinstance(truth, (int, float, np.floating))):
        raise OptionError(f"The 'truth' parameter of {func} must be a number or a callable "
                          f"truth(data). Got {truth!r} instead.")
    vals: list[tuple[float, ...]] = []
    truths = np.zeros(sims)
    for s, rng in enumerate(_rngs(seed, sims, func)):
        try:
            data = dgp(rng)
            res = estimator(data)
            vals.append(extract(res))
            if truth is not None:
                truths[s] = float(truth(data)) if callable(truth) else float(truth)
        except Exception as exc:
            exc.add_note(f"{func}: raised in simulation {s} of {sims:,} (seed {seed!r}).")
            raise
    out = np.asarray(vals, dtype=float)
    bad = ~np.all(np.isfinite(out), axis=1)
    if bad.any():
        raise AssertionError(
            f"{func}: the estimator gave non-finite results in {int(bad.sum()):,} of {sims:,} "
            f"simulations (first: simulation {int(np.flatnonzero(bad)[0])})."
        )
    return out, truths


def _interval(res: Any, level: float) -> tuple[float, float]:
    return interval_of(res, 1 - level)


def _judge(check: str, k: int, sims: int, target: float, significance: float,
           alternative: Alternative, what: str, advice: dict[str, str], func: str) -> MonteCarloCheck:
    lo, hi = binomial_band(target, sims, significance=significance, alternative=alternative)
    rate = k / sims
    passed = lo <= rate <= hi
    band = {"two-sided": "an exact two-sided (equal-tailed) binomial test",
            "less": "an exact one-sided binomial test (failing only below)",
            "greater": "an exact one-sided binomial test (failing only above)"}[alternative]
    msg = (f"{func}: {what} {rate:.4f} ({k:,} of {sims:,} simulations; Monte Carlo SE "
           f"{math.sqrt(rate * (1 - rate) / sims):.4f}) is "
           f"{'inside' if passed else 'outside'} [{lo:.4f}, {hi:.4f}], the band of {band} of "
           f"rate = {target:g} at significance {significance:g}.")
    if not passed:
        msg += " " + (advice["low"] if rate < lo else advice["high"])
    result = MonteCarloCheck(check, rate, target, lo, hi, math.sqrt(rate * (1 - rate) / sims), sims,
                             significance, passed, msg)
    if not passed:
        raise AssertionError(msg)
    return result


def assert_coverage(
    estimator: Callable[[Any], Any],
    dgp: Callable[[np.random.Generator], Any],
    *,
    truth: Truth,
    sims: int,
    seed: int | np.random.Generator,
    level: float = 0.95,
    significance: float = 0.001,
    alternative: Alternative = "two-sided",
) -> MonteCarloCheck:
    """Assert that ``level`` confidence intervals cover the truth at their nominal rate.

    Parameters
    ----------
    estimator
        ``estimator(data)`` returning a result with ``conf_int(alpha)`` (used
        with ``alpha = 1 - level``) or ``conf_low`` and ``conf_high``.
    dgp
        ``dgp(rng)`` returning one simulated data set.
    truth
        The true effect: a number or ``truth(data)``.
    sims, seed
        Number of simulations; an int or a ``numpy.random.Generator``.
    level
        Nominal coverage of the intervals.
    significance
        Probability that a correct estimator fails (the test's level).
    alternative
        ``"two-sided"`` fails on under- and over-coverage; ``"less"`` only on
        undercoverage (for estimators allowed to be conservative).

    Returns
    -------
    MonteCarloCheck

    Raises
    ------
    AssertionError
        With the observed coverage, the band and the number of simulations.

    Notes
    -----
    The number of intervals covering the truth is Binomial(``sims``,
    ``level``) for a correct estimator; the band is the acceptance region of
    the exact binomial test of :func:`binomial_band` (a coverage *below* the
    band is evidence of intervals that are too narrow).

    Examples
    --------
    >>> import numpy as np, pandas as pd, dwp_eval as de
    >>> def dgp(rng):
    ...     arm = rng.permutation(np.repeat(["control", "treatment"], 50))
    ...     return pd.DataFrame({"arm": arm, "y": rng.normal(size=100) + 0.5 * (arm == "treatment")})
    >>> est = lambda d: de.itt(d, outcome="y", assigned="arm")
    >>> assert_coverage(est, dgp, truth=0.5, sims=200, seed=1).passed
    True
    """
    func = "assert_coverage"
    sims = _check_sims(sims, func)
    level = _check_prob(level, "level", func)
    significance = _check_prob(significance, "significance", func)
    check_option(alternative, ("two-sided", "less"), param="alternative", func=func)
    out, truths = _run(estimator, dgp, sims, seed, func, truth=truth,
                       extract=lambda r: _interval(r, level))
    k = int(np.sum((out[:, 0] <= truths) & (truths <= out[:, 1])))
    return _judge("coverage", k, sims, level, significance, alternative,
                  f"coverage of the {100 * level:g}% intervals",
                  {"low": "The intervals are too narrow (standard errors too small, or the "
                          "estimator is biased).",
                   "high": "The intervals are too wide (standard errors too large)."}, func)


def assert_size(
    estimator: Callable[[Any], Any],
    dgp: Callable[[np.random.Generator], Any],
    *,
    sims: int,
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    significance: float = 0.001,
    alternative: Alternative = "two-sided",
) -> MonteCarloCheck:
    """Assert that a test rejects a true null at its nominal rate ``alpha``.

    ``dgp`` must simulate data in which the effect is zero; the estimator's
    ``p_value`` (of the test of no effect) rejects when below ``alpha``.

    Parameters
    ----------
    estimator, dgp, sims, seed, significance
        As in :func:`assert_coverage`.
    alpha
        Nominal size of the test.
    alternative
        ``"two-sided"`` fails on over- and under-rejection; ``"greater"``
        only on over-rejection (for tests allowed to be conservative).

    Returns
    -------
    MonteCarloCheck

    Raises
    ------
    AssertionError
        With the rejection rate, the band and the number of simulations.

    Notes
    -----
    Rejections are Binomial(``sims``, ``alpha``) for a test of exact size
    ``alpha``; the band is that of :func:`binomial_band`.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dwp_eval as de
    >>> def null_dgp(rng):
    ...     arm = rng.permutation(np.repeat(["control", "treatment"], 50))
    ...     return pd.DataFrame({"arm": arm, "y": rng.normal(size=100)})
    >>> est = lambda d: de.itt(d, outcome="y", assigned="arm")
    >>> assert_size(est, null_dgp, sims=200, seed=1).passed
    True
    """
    func = "assert_size"
    sims = _check_sims(sims, func)
    alpha = _check_prob(alpha, "alpha", func)
    significance = _check_prob(significance, "significance", func)
    check_option(alternative, ("two-sided", "greater"), param="alternative", func=func)
    out, _ = _run(estimator, dgp, sims, seed, func, truth=None, extract=lambda r: (float(r.p_value),))
    k = int(np.sum(out[:, 0] < alpha))
    return _judge("size", k, sims, alpha, significance, alternative,
                  f"rejection rate at alpha {alpha:g} under the null",
                  {"low": "The test is conservative (p-values too large).",
                   "high": "The test over-rejects a true null (standard errors too small, or "
                           "degrees of freedom too many)."}, func)


def assert_unbiased(
    estimator: Callable[[Any], Any],
    dgp: Callable[[np.random.Generator], Any],
    *,
    truth: Truth,
    sims: int,
    seed: int | np.random.Generator,
    significance: float = 0.001,
    tolerance: float = 0.0,
) -> MonteCarloCheck:
    """Assert that the estimator's mean error is zero, within Monte Carlo error.

    Parameters
    ----------
    estimator, dgp, truth, sims, seed, significance
        As in :func:`assert_coverage`; only ``estimate`` is used.
    tolerance
        A bias small enough to accept (absolute, outcome units), e.g. the
        known small-sample bias of a ratio estimator.

    Returns
    -------
    MonteCarloCheck

    Raises
    ------
    AssertionError
        With the bias, its Monte Carlo SE, the band and the number of simulations.

    Notes
    -----
    With errors ``e_s = estimate_s - truth_s``, the bias ``mean(e_s)`` has
    Monte Carlo SE ``sd(e_s) / sqrt(sims)`` (Morris, White & Crowther 2019,
    Table 6). The check fails when ``|bias| > tolerance + z * SE`` with
    ``z = Phi^{-1}(1 - significance/2)`` (3.29 at 0.001): a normal
    approximation to the two-sided test of zero bias, good for a few hundred
    simulations or more.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dwp_eval as de
    >>> def dgp(rng):
    ...     arm = rng.permutation(np.repeat(["control", "treatment"], 50))
    ...     return pd.DataFrame({"arm": arm, "y": rng.normal(size=100) + 0.5 * (arm == "treatment")})
    >>> est = lambda d: de.itt(d, outcome="y", assigned="arm")
    >>> assert_unbiased(est, dgp, truth=0.5, sims=200, seed=1).passed
    True
    """
    func = "assert_unbiased"
    sims = _check_sims(sims, func)
    significance = _check_prob(significance, "significance", func)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.floating)) or not tolerance >= 0:
        raise OptionError(f"The 'tolerance' parameter of {func} must be a number >= 0. Got {tolerance!r} instead.")
    out, truths = _run(estimator, dgp, sims, seed, func, truth=truth,
                       extract=lambda r: (float(r.estimate),))
    err = out[:, 0] - truths
    bias = float(np.mean(err))
    se = float(np.std(err, ddof=1) / math.sqrt(sims))
    z = float(stats.norm.ppf(1 - significance / 2))
    half = float(tolerance) + z * se
    passed = abs(bias) <= half
    tol = f"{tolerance:g} + " if tolerance else ""
    msg = (f"{func}: bias {bias:.4g} (mean estimate {float(np.mean(out[:, 0])):.4g} vs mean truth "
           f"{float(np.mean(truths)):.4g}; Monte Carlo SE {se:.3g}; {sims:,} simulations) is "
           f"{'inside' if passed else 'outside'} [{-half:.4g}, {half:.4g}] = +/-({tol}{z:.3g} x SE), "
           f"the two-sided normal test of zero bias at significance {significance:g}.")
    if not passed:
        raise AssertionError(msg + " The estimator is biased for this design.")
    return MonteCarloCheck("bias", bias, 0.0, -half, half, se, sims, significance, True, msg)
