"""Synthetic control and synthetic difference-in-differences for one or a few
treated areas (block adoption: every treated unit starts at ``treat_time``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.synthetic import (
    bootstrap_draws,
    fit_sdid,
    jackknife_se,
    placebo_draws,
    resampling_se,
)
from dwp_eval._validation import (
    Seed,
    check_alpha,
    check_columns,
    check_data,
    check_option,
    check_seed,
)
from dwp_eval.errors import DesignError, MissingDataError, OptionError
from dwp_eval.results.synthetic import SyntheticEstimate

__all__ = ["synthetic_control", "synthetic_did"]


def _panel(data: Any, outcome: Hashable, unit: Hashable, time: Hashable, treated_units: Any,
           treat_time: Any, func: str) -> tuple[np.ndarray, list[Any], list[Any], list[Any], list[Any]]:
    """The wide ``N x T`` matrix (donors first, then treated; pre-periods first)."""
    df = check_data(data, func=func)
    check_columns(df, [outcome], role="outcome", func=func)
    check_columns(df, [unit], role="unit", func=func)
    check_columns(df, [time], role="time", func=func)
    treated = ([treated_units] if isinstance(treated_units, str) or not isinstance(treated_units, Sequence | np.ndarray | pd.Index)
               else list(treated_units))
    for col, role in ((unit, "unit"), (time, "time")):
        if df[col].isna().any():
            raise MissingDataError(f"{func}: column {col!r} ({role}) has {int(df[col].isna().sum())} missing "
                                   f"value(s). Fix: drop or fill those rows first.")
    y = pd.to_numeric(df[outcome], errors="coerce")
    if y.isna().any():
        raise MissingDataError(
            f"{func}: outcome {outcome!r} has {int(y.isna().sum())} missing or non-numeric value(s); "
            f"synthetic comparisons need a balanced panel (every unit observed in every period). "
            f"Fix: fill or impute those cells, or drop the units concerned.")
    units = pd.unique(df[unit])
    if not treated:
        raise OptionError(f"{func}: treated_units is empty. Fix: name the treated unit(s).")
    missing = [u for u in treated if u not in set(units.tolist())]
    if missing:
        raise DesignError(f"{func}: treated_units {missing!r} are not in column {unit!r}. "
                          f"Fix: pass values of {unit!r} (e.g. {list(units[:3])!r}).")
    if df.duplicated([unit, time]).any():
        raise DesignError(f"{func}: some ({unit!r}, {time!r}) pairs appear more than once. "
                          f"Fix: keep one row per unit and period (aggregate first).")
    wide = df.assign(_y=y).pivot(index=unit, columns=time, values="_y").sort_index(axis=1)
    if wide.isna().any().any():
        n = int(wide.isna().sum().sum())
        raise MissingDataError(
            f"{func}: the panel is unbalanced: {n} unit-period cell(s) are absent. Synthetic "
            f"comparisons need a balanced panel (every unit observed in every period). "
            f"Fix: restrict to units and periods observed throughout, or fill the gaps.")
    times = list(wide.columns)
    pre = [t for t in times if t < treat_time]
    post = [t for t in times if t >= treat_time]
    if len(pre) == 0:
        raise DesignError(f"{func}: no period before treat_time={treat_time!r}: the treated unit(s) "
                          f"have no pre-period. Fix: check treat_time, or add earlier periods.")
    if len(pre) < 2:
        raise DesignError(f"{func}: only {len(pre)} period before treat_time={treat_time!r}; the "
                          f"weights need at least 2 pre-periods. Fix: add earlier periods.")
    if not post:
        raise DesignError(f"{func}: no period at or after treat_time={treat_time!r}. Fix: check treat_time.")
    tset = set(treated)
    donors = [u for u in wide.index if u not in tset]
    if len(donors) < 2:
        raise DesignError(f"{func}: the donor pool has {len(donors)} unit(s); at least 2 untreated "
                          f"units are needed to form weights. Fix: add comparison units.")
    Y = wide.loc[donors + list(treated), pre + post].to_numpy(dtype=float)
    return Y, donors, list(treated), pre, post


def _inference(Y: np.ndarray, n0: int, t0: int, fit: Any, kind: str, se_method: str,
               replications: int, rng: np.random.Generator | None, func: str) -> tuple[float, np.ndarray]:
    n1 = Y.shape[0] - n0
    if se_method == "jackknife" or rng is None:
        return jackknife_se(Y, n0, t0, fit, kind), np.zeros(0)
    if se_method == "placebo":
        if n0 <= n1:
            raise DesignError(f"{func}: the placebo SE needs more donors ({n0}) than treated units ({n1}). "
                              f"Fix: se_method='jackknife' or 'bootstrap'.")
        draws = placebo_draws(Y, n0, t0, fit, kind, replications, rng)
    else:
        if n1 == 1:  # as synthdid: the unit bootstrap is undefined with one treated unit
            return float("nan"), np.zeros(0)
        draws = bootstrap_draws(Y, n0, t0, fit, kind, replications, rng)
    return resampling_se(draws), draws


def _result(kind: str, Y: np.ndarray, donors: list[Any], treated: list[Any], pre: list[Any], post: list[Any],
            outcome: Hashable, fit: Any, se: float, draws: np.ndarray, p: float, se_method: str, alpha: float,
            replications: int, seed: Any) -> SyntheticEstimate:
    n0, t0 = len(donors), len(pre)
    did = fit_sdid(Y, n0, t0, kind="did").estimate
    treated_path = Y[n0:].mean(axis=0)
    synth = fit.omega @ Y[:n0]
    if kind == "sdid":  # the synthetic path shifted by the lambda-weighted pre-period gap
        synth = synth + float((treated_path[:t0] - synth[:t0]) @ fit.lam)
    return SyntheticEstimate(
        estimator=kind, outcome=str(outcome), estimate=fit.estimate, std_error=se, se_method=se_method,
        alpha=alpha, p_value=p, did_estimate=did, donors=tuple(donors), treated=tuple(treated),
        pre_times=tuple(pre), post_times=tuple(post), omega=fit.omega, lam=fit.lam,
        treated_path=treated_path, synthetic_path=synth, placebo_estimates=draws,
        zeta_omega=fit.zeta_omega, noise_level=fit.noise, replications=replications,
        seed=seed if isinstance(seed, int) else None)


def synthetic_did(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, treated_units: Any,
    treat_time: Any, se_method: str = "placebo", replications: int = 200, alpha: float = 0.05,
    seed: Seed | None = None,
) -> SyntheticEstimate:
    r"""Synthetic difference-in-differences (Arkhangelsky et al. 2021).

    Parameters
    ----------
    data : DataFrame
        A balanced long panel: one row per unit and period, no missing outcome.
    outcome, unit, time : column names
    treated_units : a unit label or a list of them
        Units treated from ``treat_time`` on (all at once); the rest are donors.
    treat_time : the first treated period (periods ``< treat_time`` are pre-periods).
    se_method : {"placebo", "jackknife", "bootstrap"}
        Algorithms 4, 3 and 2 of the paper. Jackknife and bootstrap are undefined
        (NaN) with one treated unit (use placebo, as the paper does for Proposition
        99); placebo needs more donors than treated units.
    replications : int
        Placebo / bootstrap draws.
    alpha : float
    seed : int or Generator
        Required for placebo and bootstrap (not for jackknife).

    Returns
    -------
    SyntheticEstimate

    Notes
    -----
    Unit weights solve (eq. 2.2-2.3)
    :math:`\min_{\omega_0, \omega \in \Delta} \sum_{t \le T_0} (\omega_0 + \sum_i \omega_i Y_{it}
    - \bar Y_{tr,t})^2 + \zeta^2 T_0 \lVert\omega\rVert^2` with
    :math:`\zeta = (N_{tr} T_{post})^{1/4} \hat\sigma`, :math:`\hat\sigma` the SD of the
    donors' pre-period first differences; time weights solve eq. 2.4 (with
    :math:`\zeta_\lambda = 10^{-6}\hat\sigma`); the estimate is the weighted two-way
    fixed effects regression of eq. 2.1,
    :math:`\hat\tau = (\bar Y_{tr,post} - \sum_t \lambda_t \bar Y_{tr,t})
    - \sum_i \omega_i (\bar Y_{i,post} - \sum_t \lambda_t Y_{it})`.
    Weights are found by Frank-Wolfe with synthdid's settings (100 steps, sparsify
    weights below a quarter of the largest, then up to 10,000 steps until the objective
    falls by less than :math:`(10^{-5}\hat\sigma)^2`). Source: Arkhangelsky, Athey,
    Hirshberg, Imbens & Wager (2021), "Synthetic difference-in-differences", AER
    111(12), 4088-4118, Algorithms 1-4.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dwp_eval as de
    >>> rng = np.random.default_rng(0)
    >>> rows = [(u, t, u / 10 + t + rng.normal(0, 0.1) + (2.0 if u == 0 and t >= 8 else 0.0))
    ...         for u in range(12) for t in range(10)]
    >>> panel = pd.DataFrame(rows, columns=["area", "year", "rate"])
    >>> res = de.synthetic_did(panel, outcome="rate", unit="area", time="year",
    ...                        treated_units=[0], treat_time=8, replications=50, seed=1)
    >>> round(res.estimate)
    2
    """
    func = "synthetic_did"
    method = check_option(se_method, ("placebo", "jackknife", "bootstrap"), param="se_method", func=func)
    a = check_alpha(alpha, func=func)
    Y, donors, treated, pre, post = _panel(data, outcome, unit, time, treated_units, treat_time, func)
    rng = check_seed(seed, func=func) if method != "jackknife" else None
    fit = fit_sdid(Y, len(donors), len(pre), kind="sdid")
    se, draws = _inference(Y, len(donors), len(pre), fit, "sdid", method, replications, rng, func)
    return _result("sdid", Y, donors, treated, pre, post, outcome, fit, se, draws, float("nan"), method, a,
                   replications, seed)


def _rmspe_ratio(Y1: np.ndarray, Y0: np.ndarray, t0: int) -> float:
    """Post- over pre-period RMSPE of a one-unit synthetic control fit."""
    Y = np.vstack([Y0, Y1[None, :]])
    fit = fit_sdid(Y, Y0.shape[0], t0, kind="sc")
    gap = Y1 - fit.omega @ Y0
    pre = np.sqrt(np.mean(gap[:t0] ** 2))
    return float(np.sqrt(np.mean(gap[t0:] ** 2)) / pre) if pre > 0 else float("inf")


def synthetic_control(
    data: pd.DataFrame, *, outcome: Hashable, unit: Hashable, time: Hashable, treated_units: Any,
    treat_time: Any, covariates: Sequence[Hashable] | None = None, se_method: str = "placebo",
    replications: int = 200, alpha: float = 0.05, seed: Seed | None = None,
) -> SyntheticEstimate:
    r"""Synthetic control (Abadie, Diamond & Hainmueller 2010) on the outcome path.

    Parameters are as :func:`synthetic_did`. ``covariates`` (the V-weighted predictor
    version) is not supported yet: only the outcome-only version, as synthdid's
    ``sc_estimate``.

    Returns
    -------
    SyntheticEstimate
        With ``p_value`` from in-space placebos: each donor in turn is treated as if
        treated and fitted from the other donors; the p-value is the share of all
        units (treated included) whose post/pre RMSPE ratio is at least the treated
        unit's (ADH 2010, Section 3.2.2 and Figure 8).

    Notes
    -----
    Donor weights :math:`w \in \Delta` minimise
    :math:`\sum_{t \le T_0} (\bar Y_{tr,t} - \sum_i w_i Y_{it})^2 + \zeta^2 T_0 \lVert w\rVert^2`
    with a vanishing ridge :math:`\zeta = 10^{-6}\hat\sigma` (no intercept, no time
    weights: Arkhangelsky et al. 2021, eq. 2.6 and Table 1); the estimate is
    :math:`\bar Y_{tr,post} - \sum_i w_i \bar Y_{i,post}`. Sources: Abadie, Diamond &
    Hainmueller (2010), JASA 105(490), 493-505, eq. (1)-(2); Arkhangelsky et al.
    (2021), AER 111(12), Section 2.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dwp_eval as de
    >>> rng = np.random.default_rng(0)
    >>> rows = [(u, t, u / 10 + t + rng.normal(0, 0.1) + (2.0 if u == 0 and t >= 8 else 0.0))
    ...         for u in range(12) for t in range(10)]
    >>> panel = pd.DataFrame(rows, columns=["area", "year", "rate"])
    >>> res = de.synthetic_control(panel, outcome="rate", unit="area", time="year",
    ...                            treated_units=[0], treat_time=8, replications=50, seed=1)
    >>> res.estimator
    'sc'
    """
    func = "synthetic_control"
    if covariates:
        raise OptionError(f"{func}: covariates= (the V-weighted predictor version) is not supported yet. "
                          f"Fix: leave covariates=None (weights fit the pre-period outcome path).")
    method = check_option(se_method, ("placebo", "jackknife", "bootstrap"), param="se_method", func=func)
    a = check_alpha(alpha, func=func)
    Y, donors, treated, pre, post = _panel(data, outcome, unit, time, treated_units, treat_time, func)
    rng = check_seed(seed, func=func) if method != "jackknife" else None
    n0, t0 = len(donors), len(pre)
    fit = fit_sdid(Y, n0, t0, kind="sc")
    se, draws = _inference(Y, n0, t0, fit, "sc", method, replications, rng, func)
    Y0 = Y[:n0]
    actual = _rmspe_ratio(Y[n0:].mean(axis=0), Y0, t0)
    ratios = [_rmspe_ratio(Y0[j], np.delete(Y0, j, axis=0), t0) for j in range(n0)]
    p = float((1 + np.sum(np.asarray(ratios) >= actual)) / (n0 + 1))
    return _result("sc", Y, donors, treated, pre, post, outcome, fit, se, draws, p, method, a,
                   replications, seed)
