"""Design diagnosis by simulation: bias, RMSE, coverage, power and interval width.

:func:`diagnose` repeats a trial many times: it draws (or takes) a population
with both potential outcomes, randomises it with :func:`dwp_eval.randomise`,
reveals the outcome of the arm each person was assigned to, estimates the
effect with the library's estimator and compares the estimate with the true
effect in that population. The summary statistics and their Monte Carlo
standard errors follow Morris, White & Crowther (2019), *Statistics in
Medicine* 38:2074-2102, Table 6.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_option,
)
from dwp_eval.design import _engine as eng
from dwp_eval.design.randomise import randomise
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.results import Effect, ResultMixin

__all__ = ["DIAGNOSIS_COLUMNS", "Diagnosis", "diagnose", "whp_population"]

Population: TypeAlias = pd.DataFrame | Callable[[np.random.Generator], pd.DataFrame]

#: Columns of :meth:`Diagnosis.to_frame`.
DIAGNOSIS_COLUMNS = ["metric", "value", "mc_se", "description"]

#: Simulations per batch. Batches are fixed by this size alone (never by the
#: number of workers), so results are identical whatever ``workers`` is.
CHUNK = 100

_OBSERVED = "y"
_ARM = "arm"
_RECEIVED = "received"


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False, repr=False)
class Diagnosis(ResultMixin):
    """The simulated operating characteristics of a design and estimator.

    Made by :func:`diagnose`. Per-simulation values are in :meth:`draws`;
    :meth:`to_frame` has one row per metric (columns ``metric``, ``value``,
    ``mc_se``, ``description``).

    Attributes
    ----------
    estimator, design, se_type, method
        The estimator (``"itt"``), the design label it reported
        (``standard``, ``blocked``, ``clustered`` ...), its variance
        estimator, and how the simulations were run (``"batched"``: the
        estimator evaluated for many assignments at once; ``"loop"``: one
        estimator call per simulation).
    sims, n, alpha, effect
        Simulations, people per simulated trial (the mean when the population
        is redrawn), the significance level and the ``effect=`` given (or
        ``None`` when the population supplies ``y1``).
    estimates, std_errors, conf_low, conf_high, p_values, truths
        One value per simulation (read-only arrays); ``truths`` is the true
        effect in that simulation's population, ``mean(y1 - y0)``.
    """

    estimator: str
    design: str
    se_type: str
    method: str
    sims: int
    n: float
    alpha: float
    effect: float | None
    estimates: np.ndarray
    std_errors: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    p_values: np.ndarray
    truths: np.ndarray
    seed: int | None = None

    # -- metrics (Morris, White & Crowther 2019, Table 6) ---------------------------

    @property
    def estimand(self) -> float:
        """The mean over simulations of the true effect ``mean(y1 - y0)``."""
        return float(np.mean(self.truths))

    @property
    def bias(self) -> float:
        """``mean(estimate - truth)``."""
        return float(np.mean(self.estimates - self.truths))

    @property
    def bias_mc_se(self) -> float:
        """``sd(estimate - truth) / sqrt(S)``."""
        return _mean_se(self.estimates - self.truths)

    @property
    def rmse(self) -> float:
        """``sqrt(mean((estimate - truth)^2))``."""
        return float(np.sqrt(np.mean((self.estimates - self.truths) ** 2)))

    @property
    def rmse_mc_se(self) -> float:
        """Delta method: ``MCSE(MSE) / (2 RMSE)``, ``MCSE(MSE) = sd(err^2) / sqrt(S)``."""
        err2 = (self.estimates - self.truths) ** 2
        rmse = self.rmse
        return _mean_se(err2) / (2 * rmse) if rmse > 0 else 0.0

    @property
    def empirical_se(self) -> float:
        """Standard deviation of the estimates over simulations."""
        return float(np.std(self.estimates, ddof=1)) if self.sims > 1 else float("nan")

    @property
    def empirical_se_mc_se(self) -> float:
        """``empirical_se / sqrt(2 (S - 1))``."""
        return self.empirical_se / math.sqrt(2 * (self.sims - 1)) if self.sims > 1 else float("nan")

    @property
    def mean_se(self) -> float:
        """``sqrt(mean(std_error^2))``: the model standard error (Morris et al.'s ModSE)."""
        return float(np.sqrt(np.mean(self.std_errors**2)))

    @property
    def mean_se_mc_se(self) -> float:
        """``sqrt(var(std_error^2) / (4 S ModSE^2))``."""
        m = self.mean_se
        return _mean_se(self.std_errors**2) / (2 * m) if m > 0 else 0.0

    @property
    def coverage(self) -> float:
        """Share of ``1 - alpha`` intervals that contain the truth."""
        return float(np.mean((self.conf_low <= self.truths) & (self.truths <= self.conf_high)))

    @property
    def coverage_mc_se(self) -> float:
        """``sqrt(C (1 - C) / S)``."""
        return _prop_se(self.coverage, self.sims)

    @property
    def power(self) -> float:
        """Share of simulations rejecting ``effect = 0`` at ``alpha`` (two-sided)."""
        return float(np.mean(self.p_values < self.alpha))

    @property
    def power_mc_se(self) -> float:
        """``sqrt(P (1 - P) / S)``."""
        return _prop_se(self.power, self.sims)

    @property
    def mean_width(self) -> float:
        """Mean length of the ``1 - alpha`` interval."""
        return float(np.mean(self.conf_high - self.conf_low))

    @property
    def mean_width_mc_se(self) -> float:
        """``sd(width) / sqrt(S)``."""
        return _mean_se(self.conf_high - self.conf_low)

    # -- display ---------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: ``metric, value, mc_se, description``."""
        level = f"{100 * (1 - self.alpha):g}%"
        rows = [
            ("estimand", self.estimand, _mean_se(self.truths) if np.ptp(self.truths) > 0 else 0.0,
             "mean complier effect of receipt (Wald ratio)" if self.estimator == "cace"
             else "mean true effect mean(y1 - y0)"),
            ("bias", self.bias, self.bias_mc_se, "mean(estimate - truth)"),
            ("rmse", self.rmse, self.rmse_mc_se, "root mean squared error"),
            ("empirical_se", self.empirical_se, self.empirical_se_mc_se, "SD of the estimates"),
            ("mean_se", self.mean_se, self.mean_se_mc_se, "sqrt(mean(std_error^2))"),
            ("coverage", self.coverage, self.coverage_mc_se, f"share of {level} intervals covering the truth"),
            ("power", self.power, self.power_mc_se, f"share rejecting effect = 0 at alpha {self.alpha:g}"),
            ("mean_width", self.mean_width, self.mean_width_mc_se, f"mean {level} interval length"),
        ]
        return pd.DataFrame(rows, columns=DIAGNOSIS_COLUMNS)

    def draws(self) -> pd.DataFrame:
        """One row per simulation: ``sim, estimate, std_error, conf_low, conf_high, p_value, truth``."""
        return pd.DataFrame(
            {
                "sim": np.arange(self.sims),
                "estimate": self.estimates,
                "std_error": self.std_errors,
                "conf_low": self.conf_low,
                "conf_high": self.conf_high,
                "p_value": self.p_values,
                "truth": self.truths,
            }
        )

    def summary(self) -> str:
        f = self.to_frame()
        n = f"{self.n:,.0f}" if float(self.n).is_integer() else f"{self.n:,.1f} (mean)"
        lines = [
            f"Diagnosis of {self.estimator} ({self.design}, SE {self.se_type}): {self.sims:,} "
            f"simulated trials of {n} people",
            f"  {'metric':<13}{'value':>11}  {'MC SE':>9}",
        ]
        for row in f.itertuples(index=False):
            lines.append(f"  {row.metric:<13}{row.value:>11.4g}  {row.mc_se:>9.2g}  {row.description}")
        lines.append(f"  run           {self.method}; alpha {self.alpha:g}"
                     + (f"; seed {self.seed}" if self.seed is not None else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<Diagnosis {self.estimator} {self.design}: bias {self.bias:.3g}, coverage "
            f"{self.coverage:.3f}, power {self.power:.3f} ({self.sims:,} sims)>"
        )


def _mean_se(values: np.ndarray) -> float:
    """Monte Carlo SE of a mean: ``sd(values) / sqrt(S)``."""
    s = len(values)
    return float(np.std(values, ddof=1) / math.sqrt(s)) if s > 1 else float("nan")


def _prop_se(p: float, s: int) -> float:
    """Monte Carlo SE of a proportion: ``sqrt(p (1 - p) / S)``."""
    return math.sqrt(p * (1 - p) / s)


# ----------------------------------------------------------------------------- built-in population


@dataclass(frozen=True)
class _WhpPopulation:
    """Picklable data-generating process for :func:`whp_population`."""

    n: int
    effect: float
    outcome: str
    take_up: float | None = None
    contamination: float = 0.0

    def __call__(self, rng: np.random.Generator) -> pd.DataFrame:
        from dwp_eval.datasets import whp_like, whp_outcomes

        people = whp_like(self.n, seed=rng)
        if self.take_up is None:
            # the same generator state twice: identical shocks and uniforms, so y0 and y1
            # are coupled potential outcomes that differ only through the programme
            state = rng.bit_generator.state
            y0 = whp_outcomes(people, np.full(self.n, "control"), seed=rng, effect=self.effect)
            rng.bit_generator.state = state
            y1 = whp_outcomes(people, np.full(self.n, "treatment"), seed=rng, effect=self.effect)
            return people.assign(y0=y0[self.outcome].to_numpy(dtype=float),
                                 y1=y1[self.outcome].to_numpy(dtype=float))
        # receipt: one uniform per person; always-takers u < contamination, compliers
        # contamination <= u < take_up, never-takers the rest (no defiers)
        u = rng.random(self.n)
        d1 = (u < self.take_up).astype(np.int64)
        d0 = (u < self.contamination).astype(np.int64)
        arm = np.full(self.n, "control")
        state = rng.bit_generator.state
        y0 = whp_outcomes(people, arm, seed=rng, effect=self.effect, received=np.zeros(self.n))
        rng.bit_generator.state = state
        y1 = whp_outcomes(people, arm, seed=rng, effect=self.effect, received=np.ones(self.n))
        return people.assign(y0=y0[self.outcome].to_numpy(dtype=float),
                             y1=y1[self.outcome].to_numpy(dtype=float), d0=d0, d1=d1)


def whp_population(
    n: int = 10_000,
    *,
    effect: float = 0.04,
    outcome: str = "employed_13_weeks",
    take_up: float | None = None,
    contamination: float = 0.0,
) -> Callable[[np.random.Generator], pd.DataFrame]:
    """A data-generating process for :func:`diagnose` built on :func:`~dwp_eval.datasets.whp_like`.

    Parameters
    ----------
    n
        People per simulated trial.
    effect
        The programme's effect passed to :func:`~dwp_eval.datasets.whp_outcomes`
        (on ``employed_13_weeks``: a proportion, 0.04 = 4 percentage points).
    outcome
        One of the columns made by :func:`~dwp_eval.datasets.whp_outcomes`.
    take_up, contamination
        For ``diagnose(..., estimator="cace")``: the share who would receive the
        programme if offered it and the share who would receive it (or
        provision like it) if assigned to control. Each person draws one
        uniform ``u``: ``d1 = u < take_up``, ``d0 = u < contamination``, so
        there are always-takers, compliers and never-takers but no defiers
        (monotonicity). ``effect`` is then the effect of *receiving* (the
        CACE), and ``y0``/``y1`` are the outcomes without and with receipt.

    Returns
    -------
    callable
        ``dgp(rng)``: a new :func:`~dwp_eval.datasets.whp_like` population with
        potential outcomes ``y0`` (everyone in control) and ``y1`` (everyone
        treated), drawn with the same random numbers so that they differ only
        by the programme's effect; with ``take_up``, also the potential
        receipts ``d0`` and ``d1``.

    Examples
    --------
    >>> import numpy as np
    >>> dgp = whp_population(200, effect=0.04)
    >>> pop = dgp(np.random.default_rng(1))
    >>> pop[["y0", "y1"]].shape
    (200, 2)
    >>> bool((pop["y1"] >= pop["y0"]).all())
    True
    """
    from dwp_eval.datasets.outcomes import OUTCOMES

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise OptionError(f"The 'n' parameter of whp_population must be an int >= 4. Got {n!r} instead.")
    check_option(outcome, OUTCOMES, param="outcome", func="whp_population")
    for name, value in (("take_up", take_up), ("contamination", contamination)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value <= 1):
            raise OptionError(f"The '{name}' parameter of whp_population must be a share in [0, 1]. "
                              f"Got {value!r} instead.")
    if take_up is not None and not contamination < take_up:
        raise OptionError(
            f"whp_population: contamination ({contamination!r}) must be below take_up "
            f"({take_up!r}), or nobody's receipt depends on assignment and the CACE is not defined."
        )
    if take_up is None and contamination:
        raise OptionError("whp_population: contamination= needs take_up= (the share receiving "
                          "the programme if offered it).")
    return _WhpPopulation(int(n), float(effect), outcome,
                          None if take_up is None else float(take_up), float(contamination))


# ----------------------------------------------------------------------------- setup


@dataclass(frozen=True)
class _Spec:
    """Everything a worker needs to run a batch of simulations (picklable)."""

    population: pd.DataFrame | None
    dgp: Callable[[np.random.Generator], pd.DataFrame] | None
    estimator: str | Callable[[pd.DataFrame], Any]
    effect: float | None
    id: Hashable
    arms: dict[str, float]
    control: str
    treatment: str
    strata: list[Hashable]
    cluster: Hashable | None
    covariates: list[Hashable]
    adjustment: str
    se_type: str | None
    alpha: float
    batched: bool


def _seed_sequence(seed: Any, func: str) -> tuple[np.random.SeedSequence, int | None]:
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist()), None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and int(seed) >= 0:
        return np.random.SeedSequence(int(seed)), int(seed)
    raise OptionError(
        f"The 'seed' parameter of {func} must be a non-negative int or a numpy.random.Generator. "
        f"Got {seed!r} instead. Fix: pass a recorded integer, e.g. seed=20180501."
    )


def _arms(arms: Mapping[str, float] | Sequence[str], func: str) -> tuple[dict[str, float], str, str]:
    d = dict(arms) if isinstance(arms, Mapping) else dict.fromkeys(arms, 1.0)
    if len(d) != 2:
        raise OptionError(
            f"The 'arms' parameter of {func} must name exactly two arms (control and treatment), "
            f"each with its potential outcome y0 or y1. Got {_fmt_list(d)} instead."
        )
    names = list(d)
    control = "control" if "control" in d else names[0]
    treatment = next(a for a in names if a != control)
    return d, control, treatment


def _check_population(pop: Any, spec: _Spec, func: str) -> pd.DataFrame:
    """Validate a population and return it with an id column and ``y1``."""
    pop = check_data(pop, func=func, param="design")
    check_columns(pop, ["y0"], role="potential outcome under control", func=func)
    for col, role in [(c, "strata") for c in spec.strata] + [(c, "covariates") for c in spec.covariates]:
        check_columns(pop, [col], role=role, func=func)
    if spec.cluster is not None:
        check_columns(pop, [spec.cluster], role="cluster", func=func)
    reserved_for = {_OBSERVED: "observed outcome", _ARM: "assigned arm"}
    if spec.estimator == "cace":
        reserved_for[_RECEIVED] = "observed receipt"
    for reserved, use in reserved_for.items():
        if reserved in pop.columns:
            raise DesignError(
                f"{func}: the population has a column {reserved!r}, which diagnose uses for the "
                f"{use}. Fix: rename it."
            )
    if spec.estimator == "cace":
        for col, arm in (("d0", spec.control), ("d1", spec.treatment)):
            check_columns(pop, [col], role=f"potential receipt if assigned {arm!r} (0/1)", func=func)
            v = pop[col].to_numpy()
            if not np.isin(v, (0, 1)).all():
                raise DesignError(
                    f"{func}: column {col!r} (potential receipt of the programme if assigned "
                    f"{arm!r}) must hold 0 or 1 for everyone; found "
                    f"{_fmt_list(pd.unique(v[~np.isin(v, (0, 1))])[:5])}. Fix: code receipt as 0/1."
                )
        if not (pop["d1"].to_numpy(dtype=float) - pop["d0"].to_numpy(dtype=float)).sum() > 0:
            raise DesignError(
                f"{func}: nobody's receipt depends on assignment (sum of d1 - d0 is not "
                "positive), so the CACE is not defined. Fix: give the treatment arm more "
                "receipt than control (d1 = 1 for the compliers)."
            )
    has_y1 = "y1" in pop.columns
    if has_y1 and spec.effect is not None:
        raise OptionError(
            f"{func}: give the effect either as a 'y1' column of the population or as effect=, "
            f"not both. Got effect={spec.effect!r} and a 'y1' column."
        )
    if not has_y1 and spec.effect is None:
        raise OptionError(
            f"{func}: the population has no 'y1' column (potential outcome under treatment), so "
            "effect= is needed: y1 = y0 + effect. Columns present: "
            f"{_fmt_list(pop.columns)}."
        )
    extra: dict[Hashable, np.ndarray] = {}
    if spec.id not in pop.columns:
        extra[spec.id] = np.arange(len(pop), dtype=np.int64)
    if not has_y1:
        extra["y1"] = pop["y0"].to_numpy(dtype=float) + float(spec.effect)  # type: ignore[arg-type]
    for col in ("y0", "y1"):
        v = extra[col] if col in extra else pop[col].to_numpy(dtype=float)
        if not np.all(np.isfinite(v)):
            raise DesignError(f"{func}: column {col!r} (potential outcome) holds missing or infinite values.")
    if spec.estimator != "cace" and {"d0", "d1"} <= set(pop.columns):
        # potential receipts given: the ITT compares assignments, whose potential
        # outcomes are those of the receipt each assignment brings
        y0 = extra["y0"] if "y0" in extra else pop["y0"].to_numpy(dtype=float)
        y1 = extra["y1"] if "y1" in extra else pop["y1"].to_numpy(dtype=float)
        extra["y0"] = np.where(pop["d0"].to_numpy() == 1, y1, y0)
        extra["y1"] = np.where(pop["d1"].to_numpy() == 1, y1, y0)
    if not extra:
        return pop
    out = pop.copy()
    for key, values in extra.items():
        out[key] = values
    return out


# ----------------------------------------------------------------------------- estimation


@dataclass
class _Out:
    estimate: np.ndarray
    std_error: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray
    p_value: np.ndarray
    truth: np.ndarray
    n: np.ndarray
    design: str
    se_type: str
    fast: bool


def _t_stats(est: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    q = stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, est / se, np.nan)
    p = 2 * stats.t.sf(np.abs(t), df)
    return est - q * se, est + q * se, p


def _batched_stats(Z: np.ndarray, y0: np.ndarray, y1: np.ndarray, codes: np.ndarray | None,
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


def _batched_stats_complete(perms: np.ndarray, start: int, stop: int, y0: np.ndarray,
                            y1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_batched_stats` without strata when every simulation treats the units
    ``perms[s, start:stop]``: the treated sums are gathered column by column
    (no ``S x n`` assignment matrix)."""
    Y = _sum_columns(y0, y1)
    idx = perms[:, start:stop]
    T = np.stack([np.take(Y[:, k], idx).sum(axis=1) for k in range(4)]
                 + [np.full(len(perms), float(stop - start))], axis=1)
    return _stats_from_sums(T[:, :, None], Y.sum(axis=0)[:, None], False, 1)


def _stats_from_sums(T: np.ndarray, tot: np.ndarray, blocked: bool,
                     n_strata: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, SEs and df from the treated sums ``T`` (``S x 5 x B``) and the
    totals ``tot`` (``5 x B``) of ``[a1, a1^2, a0, a0^2, 1]``."""
    n1 = T[:, 4, :]
    n0 = tot[4][None, :] - n1
    s1, q1 = T[:, 0, :], T[:, 1, :]
    s0, q0 = tot[2][None, :] - T[:, 2, :], tot[3][None, :] - T[:, 3, :]
    m1, m0 = s1 / n1, s0 / n0
    v1 = (q1 - n1 * m1**2) / (n1 - 1) / n1
    v0 = (q0 - n0 * m0**2) / (n0 - 1) / n0
    v1, v0 = np.clip(v1, 0, None), np.clip(v0, 0, None)
    diff = m1 - m0
    if not blocked:
        est = diff[:, 0]
        var = v1[:, 0] + v0[:, 0]
        se = np.sqrt(var)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = var**2 / (v1[:, 0] ** 2 / (n1[:, 0] - 1) + v0[:, 0] ** 2 / (n0[:, 0] - 1))
        return est, se, df
    nb = tot[4]
    N = nb.sum()
    w = nb / N
    est = diff @ w
    se = np.sqrt((v1 + v0) @ (w**2))
    return est, se, np.full(len(est), float(N - 2 * n_strata))


def _batched_ok(codes: np.ndarray | None, n: int, arms: dict[str, float], control: str) -> bool:
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


def _itt_kwargs(spec: _Spec) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "outcome": _OBSERVED, "assigned": _ARM, "control": spec.control,
        "treatment": spec.treatment, "alpha": spec.alpha, "se_type": spec.se_type,
    }
    if spec.covariates:
        kw.update(covariates=spec.covariates, adjustment=spec.adjustment)
    if spec.strata:
        kw["strata"] = "_stratum"
    if spec.cluster is not None:
        kw["cluster"] = spec.cluster
    return kw


def _estimate_one(spec: _Spec, data: pd.DataFrame) -> Effect:
    if callable(spec.estimator):
        return spec.estimator(data)
    if spec.estimator == "cace":
        from dwp_eval.estimate.cace import cace

        kw = _itt_kwargs(spec)
        kw.pop("adjustment", None)  # covariates enter both stages additively
        return cace(data, received=_RECEIVED, **kw)
    from dwp_eval.estimate.itt import itt

    return itt(data, **_itt_kwargs(spec))


class _Prepared:
    """A fixed population randomised many times: the engine is prepared once."""

    def __init__(self, pop: pd.DataFrame, spec: _Spec, func: str):
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

        Without clusters this repeats :func:`~dwp_eval.design._engine.draw_complete`'s
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


def _reveal(pop: pd.DataFrame, z: np.ndarray, spec: _Spec, stratum: np.ndarray | None) -> pd.DataFrame:
    cols: dict[str, Any] = {_ARM: np.where(z == 1, spec.treatment, spec.control)}
    if spec.estimator == "cace":  # receipt follows assignment; the outcome follows receipt
        d = np.where(z == 1, pop["d1"].to_numpy(dtype=float), pop["d0"].to_numpy(dtype=float))
        cols[_RECEIVED] = d
        z = d
    cols[_OBSERVED] = np.where(z == 1, pop["y1"].to_numpy(dtype=float), pop["y0"].to_numpy(dtype=float))
    if stratum is not None:
        cols["_stratum"] = stratum
    return pop.assign(**cols)


def _truth(pop: pd.DataFrame, spec: _Spec) -> float:
    """The estimand in this population: ``mean(y1 - y0)`` for the ITT; for the CACE
    the Wald ratio ``sum((d1 - d0)(y1 - y0)) / sum(d1 - d0)``, the mean effect of
    receipt among compliers when nobody is a defier (Angrist, Imbens & Rubin 1996)."""
    y0 = pop["y0"].to_numpy(dtype=float)
    y1 = pop["y1"].to_numpy(dtype=float)
    if spec.estimator != "cace":
        return float(np.mean(y1 - y0))
    shift = pop["d1"].to_numpy(dtype=float) - pop["d0"].to_numpy(dtype=float)
    return float(np.sum(shift * (y1 - y0)) / np.sum(shift))


def _run_chunk(spec: _Spec, seqs: list[np.random.SeedSequence]) -> _Out:
    """Run the simulations of one chunk (one child SeedSequence each)."""
    S = len(seqs)
    est, se, lo, hi, p, truth, n = (np.empty(S) for _ in range(7))
    design, se_type = "", ""
    if spec.population is not None:
        pop = spec.population
        prepared = _Prepared(pop, spec, "diagnose")
        y0 = pop["y0"].to_numpy(dtype=float)
        y1 = pop["y1"].to_numpy(dtype=float)
        truth[:] = _truth(pop, spec)
        n[:] = len(pop)
        if spec.batched:  # everything in the engine's canonical order
            codes = prepared.prep.stratum if spec.strata else None
            rows = prepared.row_of
            if prepared.prep.cluster is None and len(prepared.prep.stratum_labels) == 1:
                perms, start, stop = prepared.complete_draws(seqs)
                if np.ptp(start) == 0 and np.ptp(stop) == 0:  # the same numbers treated
                    e, s_, df = _batched_stats_complete(perms, int(start[0]), int(stop[0]),
                                                        y0[rows], y1[rows])
                else:
                    Zc = np.zeros(perms.shape)
                    for i in range(len(seqs)):
                        Zc[i, perms[i, start[i] : stop[i]]] = 1.0
                    e, s_, df = _batched_stats(Zc, y0[rows], y1[rows], None, 1)
            else:
                Zc = prepared.treated_matrix(seqs)
                e, s_, df = _batched_stats(Zc, y0[rows], y1[rows], codes,
                                           len(prepared.prep.stratum_labels))
            lo_, hi_, p_ = _t_stats(e, s_, df, spec.alpha)
            design = "blocked" if spec.strata else "standard"
            label = "neyman (blocked)" if spec.strata else "HC2"
            return _Out(e, s_, lo_, hi_, p_, truth, n, design, label, True)
        stratum = prepared.stratum_rows if spec.strata else None
        for i in range(S):
            z = prepared.assign(np.random.default_rng(seqs[i]))
            res = _estimate_one(spec, _reveal(pop, z, spec, stratum))
            est[i], se[i] = res.estimate, res.std_error
            lo[i], hi[i] = res.interval(spec.alpha)
            p[i] = res.p_value
            design, se_type = res.design, res.se_type
        return _Out(est, se, lo, hi, p, truth, n, design, se_type, False)

    dgp = cast(Callable[[np.random.Generator], pd.DataFrame], spec.dgp)  # set on this path
    fast = True
    for i, s in enumerate(seqs):
        rng = np.random.default_rng(s)
        pop = _check_population(dgp(rng), spec, "diagnose")
        alloc = randomise(pop, id=spec.id, arms=spec.arms, strata=spec.strata or None,
                          cluster=spec.cluster, seed=rng)
        arm = alloc.table.set_index(spec.id)["arm"].reindex(pop[spec.id].to_numpy())
        z = (arm.to_numpy() == spec.treatment).astype(float)
        y0 = pop["y0"].to_numpy(dtype=float)
        y1 = pop["y1"].to_numpy(dtype=float)
        truth[i] = _truth(pop, spec)
        n[i] = len(pop)
        codes = None
        if spec.strata:
            codes = pd.factorize(alloc.table.set_index(spec.id)["stratum"]
                                 .reindex(pop[spec.id].to_numpy()).astype(str), sort=True)[0]
        if spec.batched and _batched_ok(codes, len(pop), spec.arms, spec.control):
            e, s_, df = _batched_stats(z[None, :], y0, y1, codes,
                                       int(codes.max()) + 1 if codes is not None else 1)
            lo_, hi_, p_ = _t_stats(e, s_, df, spec.alpha)
            est[i], se[i], lo[i], hi[i], p[i] = e[0], s_[0], lo_[0], hi_[0], p_[0]
            design = "blocked" if spec.strata else "standard"
            se_type = "neyman (blocked)" if spec.strata else "HC2"
            continue
        fast = False
        res = _estimate_one(spec, _reveal(pop, z, spec, codes))
        est[i], se[i] = res.estimate, res.std_error
        lo[i], hi[i] = res.interval(spec.alpha)
        p[i] = res.p_value
        design, se_type = res.design, res.se_type
    return _Out(est, se, lo, hi, p, truth, n, design, se_type, fast)


class _Progress:
    """A one-line progress report on stderr for long runs."""

    def __init__(self, total: int, mode: bool | None):
        self.total = total
        self.mode = mode
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done: int) -> None:
        elapsed = time.perf_counter() - self.t0
        show = self.mode is True or (self.mode is None and sys.stderr.isatty() and elapsed > 2.0)
        if not show:
            return
        self.shown = True
        eta = elapsed / done * (self.total - done) if done else float("nan")
        sys.stderr.write(f"\rdiagnose: {done:,}/{self.total:,} simulations, {elapsed:.1f} s"
                         + (f", about {eta:.0f} s left" if done < self.total else "") + " ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ----------------------------------------------------------------------------- diagnose


def diagnose(
    design: Population,
    *,
    estimator: Literal["itt", "cace"] | Callable[[pd.DataFrame], Any] = "itt",
    sims: int = 1000,
    seed: int | np.random.Generator,
    effect: float | None = None,
    id: Hashable = "id",
    arms: Mapping[str, float] | Sequence[str] | None = None,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    covariates: Sequence[Hashable] | None = None,
    adjustment: Literal["lin", "additive"] = "lin",
    se_type: str | None = None,
    alpha: float = 0.05,
    workers: int = 1,
    progress: bool | None = None,
) -> Diagnosis:
    """Simulate a trial design many times and report how its estimator behaves.

    Each simulation (1) takes the population, or draws a new one by calling
    ``design(rng)``; (2) randomises it with :func:`dwp_eval.randomise` using
    ``arms``, ``strata`` and ``cluster``; (3) reveals ``y = y1`` for people
    assigned to treatment and ``y = y0`` for control; (4) estimates the effect
    with :func:`dwp_eval.itt` (same ``strata``, ``cluster``, ``covariates``,
    ``se_type``); (5) compares it with that population's true effect
    ``mean(y1 - y0)``. With ``estimator="cace"``, receipt is revealed too and
    the estimand is the complier effect of receipt (see ``estimator``).

    Parameters
    ----------
    design
        The population contract: a DataFrame, or a callable ``dgp(rng)`` that
        returns one for a ``numpy.random.Generator``. One row per person with

        * ``y0``: the outcome the person would have under control;
        * ``y1`` (optional): the outcome under treatment. Without it, give
          ``effect=``: ``y1 = y0 + effect`` (a constant effect);
        * an ``id`` column (optional; row numbers otherwise), and any strata,
          cluster and covariate columns named in the other arguments.

        * ``d0`` and ``d1`` (optional; needed by ``estimator="cace"``): the
          potential receipts (see ``estimator``). With them, ``y0``/``y1``
          are the outcomes without/with receipt, and the ITT compares the
          outcomes of the receipt each assignment brings.

        A DataFrame is a fixed, finite population: only the assignment varies,
        and the Neyman variance is conservative unless effects are constant
        (Gerber & Green 2012, sec. 3.6). A callable draws a new sample each
        time (a super-population), for which it is unbiased. Built in:
        :func:`whp_population`. For ``workers > 1`` the callable must be
        picklable (a module-level function or a class instance, not a lambda).
    estimator
        ``"itt"`` (:func:`dwp_eval.itt`), or a callable ``estimator(data)``
        returning an :class:`~dwp_eval.Effect` (or anything with
        ``estimate``, ``std_error``, ``p_value``, ``design``, ``se_type`` and
        ``conf_int(alpha)``), where ``data`` is the population with the
        observed outcome ``y`` and the assigned arm ``arm`` added.
        ``"cace"``: :func:`dwp_eval.cace` (2SLS, assignment instrumenting
        receipt), for a population that also has the potential receipts
        ``d0`` and ``d1`` (0/1: whether the person would receive the
        programme, or provision like it, if assigned to control or to
        treatment). Receipt is revealed as ``received = d1`` or ``d0`` by
        arm, the outcome as ``y1`` for those who receive and ``y0`` for the
        rest (exclusion: assignment acts only through receipt), and the
        estimand is the population's Wald ratio ``sum((d1 - d0)(y1 - y0)) /
        sum(d1 - d0)``, the mean effect of receipt on compliers when there
        are no defiers. Built in: ``whp_population(take_up=...,
        contamination=...)``.
    sims
        Number of simulated trials.
    seed
        An int or a ``numpy.random.Generator``. Simulation ``s`` uses the
        ``s``-th child of ``numpy.random.SeedSequence(seed)``, so the results
        do not depend on ``workers``.
    effect
        Constant treatment effect added to ``y0`` when the population has no
        ``y1`` column; ``effect=0`` simulates the null (then ``power`` is the
        test's size).
    id, arms, strata, cluster
        As in :func:`dwp_eval.randomise`; ``arms`` must name two arms
        (default ``{"control": 1, "treatment": 1}``).
    covariates, adjustment, se_type, alpha
        As in :func:`dwp_eval.itt`.
    workers
        Processes to run batches of simulations in (``concurrent.futures``).
        ``1`` (default) runs in this process.
    progress
        ``True``: report progress on stderr; ``None`` (default): only when
        stderr is a terminal and the run takes more than 2 s; ``False``: never.

    Returns
    -------
    Diagnosis

    Notes
    -----
    With ``S`` simulations, estimates ``b_s`` and truths ``t_s`` (Morris,
    White & Crowther 2019, Table 6), each metric has a Monte Carlo standard
    error: bias ``mean(b_s - t_s)`` with ``sd(b_s - t_s)/sqrt(S)``; coverage
    and power (proportions ``P``) with ``sqrt(P(1 - P)/S)``; RMSE by the delta
    method, ``sd((b_s - t_s)^2) / (2 RMSE sqrt(S))``; empirical SE with
    ``EmpSE / sqrt(2(S - 1))``; mean interval width with ``sd(width)/sqrt(S)``.

    *Batching.* Without covariates, clusters or ``se_type`` (the
    design-based difference in means of :func:`dwp_eval.itt`, standard or
    blocked), the estimate, its Neyman (= HC2) variance and df are computed
    for a batch of assignments at once from the treated units' sums of
    ``[y1, y1^2, y0, y0^2]`` (gathered from each simulation's random order
    when every simulation treats the same number, otherwise the product of
    the ``S x n`` assignment matrix with them); the results equal
    :func:`dwp_eval.itt`'s to rounding. Other designs call the
    estimator once per simulation (``method="loop"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> pop = pd.DataFrame({"y0": rng.normal(size=400)})
    >>> res = diagnose(pop, effect=0.3, sims=200, seed=2)
    >>> res.method, res.design
    ('batched', 'standard')
    >>> round(res.coverage, 2), round(res.power, 2)
    (0.94, 0.87)
    """
    func = "diagnose"
    if isinstance(sims, bool) or not isinstance(sims, (int, np.integer)) or sims < 2:
        raise OptionError(f"The 'sims' parameter of {func} must be an int >= 2. Got {sims!r} instead.")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise OptionError(f"The 'workers' parameter of {func} must be a positive int. Got {workers!r} instead.")
    alpha = check_alpha(alpha, func=func)
    adjustment = check_option(adjustment, ("lin", "additive"), param="adjustment", func=func)  # type: ignore[assignment]
    if effect is not None and (isinstance(effect, bool) or not isinstance(effect, (int, float, np.floating))
                               or not np.isfinite(effect)):
        raise OptionError(f"The 'effect' parameter of {func} must be a finite number. Got {effect!r} instead.")
    if not callable(estimator):
        check_option(estimator, ["itt", "cace"], param="estimator", func=func)
    arm_map, control, treatment = _arms(arms if arms is not None else {"control": 1, "treatment": 1}, func)
    strata_list = as_column_list(strata)
    covs = [] if covariates is None else list(covariates)
    ss, seed_int = _seed_sequence(seed, func)
    batched = (estimator == "itt" and not covs and cluster is None and se_type is None)
    spec = _Spec(None, None, estimator, None if effect is None else float(effect), id, arm_map,
                 control, treatment, strata_list, cluster, covs, adjustment, se_type, alpha, batched)
    if isinstance(design, pd.DataFrame):
        pop = _check_population(design, spec, func)
        prepared = _Prepared(pop, spec, func)  # validates the design once, here
        ok = batched and _batched_ok(prepared.stratum_rows if strata_list else None, len(pop),
                                     arm_map, control)
        spec = _replace(spec, population=pop.reset_index(drop=True), batched=ok)
    elif callable(design):
        spec = _replace(spec, dgp=design)
    else:
        raise OptionError(
            f"The 'design' parameter of {func} must be a pandas DataFrame (a population with "
            f"potential outcomes y0 and y1) or a callable dgp(rng) returning one. Got "
            f"{type(design).__name__} instead."
        )

    children = ss.spawn(int(sims))
    chunks = [children[i : i + CHUNK] for i in range(0, int(sims), CHUNK)]
    bar = _Progress(int(sims), progress)
    outs: list[_Out] = []
    try:
        if workers == 1 or len(chunks) == 1:
            done = 0
            for c in chunks:
                outs.append(_run_chunk(spec, c))
                done += len(c)
                bar.update(done)
        else:
            try:
                pickle.dumps(spec)
            except Exception as exc:
                raise OptionError(
                    f"{func}: with workers={workers} the design and estimator are sent to other "
                    f"processes, but they cannot be pickled ({exc}). Fix: use a module-level "
                    "function or a class instance instead of a lambda or closure, or workers=1."
                ) from None
            with ProcessPoolExecutor(max_workers=min(int(workers), len(chunks), os.cpu_count() or 1)) as ex:
                done = 0
                for c, out in zip(chunks, ex.map(_run_chunk, [spec] * len(chunks), chunks), strict=True):
                    outs.append(out)
                    done += len(c)
                    bar.update(done)
    finally:
        bar.close()

    def cat(name: str) -> np.ndarray:
        arr = np.concatenate([getattr(o, name) for o in outs])
        arr.flags.writeable = False
        return arr

    return Diagnosis(
        estimator=estimator if isinstance(estimator, str) else getattr(estimator, "__name__", "custom"),
        design=outs[-1].design,
        se_type=outs[-1].se_type,
        method="batched" if all(o.fast for o in outs) else "loop",
        sims=int(sims),
        n=float(np.mean(cat("n"))),
        alpha=alpha,
        effect=spec.effect,
        estimates=cat("estimate"),
        std_errors=cat("std_error"),
        conf_low=cat("conf_low"),
        conf_high=cat("conf_high"),
        p_values=cat("p_value"),
        truths=cat("truth"),
        seed=seed_int,
    )


def _replace(spec: _Spec, **kw: Any) -> _Spec:
    from dataclasses import replace

    return replace(spec, **kw)

