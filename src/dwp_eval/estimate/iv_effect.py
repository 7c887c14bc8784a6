"""The parts of a CACE that do not depend on where the rows are: the 2SLS fit's numbers,
the first-stage rule, the Anderson-Rubin set and the result, shared by
:mod:`dwp_eval.estimate.cace` (in memory) and :mod:`dwp_eval.estimate.cace_engine`
(Dask and Spark)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from dwp_eval._core.contract import Refit
from dwp_eval.errors import DesignError, DwpEvalWarning
from dwp_eval.results import ARInterval, Effect, FirstStage

__all__ = ["WEAK_F", "IVFit", "anderson_rubin", "cace_effect", "first_stage_rule"]

#: Below this first-stage F the summary flags the instrument as weak (Staiger &
#: Stock 1997's rule of thumb; the Anderson-Rubin interval stays valid).
WEAK_F = 10.0


@dataclass(frozen=True)
class IVFit:
    """Everything one 2SLS fit gives (internal)."""

    estimate: float
    std_error: float
    df: float
    fs_coef: float
    fs_se: float
    fs_df: float
    fs_f: float
    fs_df_den: float
    rf_coef: float
    rf_se: float
    rf_df: float
    ar: ARInterval
    n_clusters: int | None


def first_stage_rule(
    p_t: float, p_c: float, constant: float | None, received: Hashable, treatment: str,
    control: str, func: str,
) -> None:
    """Raise when there is no first stage (``constant``: the one value receipt takes, when
    it is the same for everyone), warn on a defier pattern (take-up by arm ``p_t``, ``p_c``)."""
    if constant is not None:
        raise DesignError(
            f"{func}: the CACE is not identified: column {received!r} (received) is {constant:g} for "
            f"everyone in the compared arms, so take-up is {100 * p_t:.1f}% in both arms. Fix: "
            "check that it records who received the programme (e.g. take_up() for the "
            "treatment arm, combined with flag_contamination() for the control arm)."
        )
    if abs(p_t - p_c) <= 1e-12:
        raise DesignError(
            f"{func}: the CACE is not identified: take-up is {100 * p_t:.1f}% in both arms "
            f"({received!r} has the same mean in {treatment!r} and {control!r}), so assignment "
            "did not change receipt and there is no first stage. Report the ITT instead."
        )
    if p_c > p_t:
        warnings.warn(
            f"{func}: receipt is higher in the control arm {control!r} ({100 * p_c:.1f}%) than in "
            f"the treatment arm {treatment!r} ({100 * p_t:.1f}%): a defier pattern. The CACE "
            "assumes monotonicity (no one receives because they were assigned to control); "
            f"check the coding of {received!r} and of control=.",
            DwpEvalWarning,
            stacklevel=3,
        )


def anderson_rubin(
    gy: float, gd: float, vyy: float, vyd: float, vdd: float, df: float, alpha: float
) -> ARInterval:
    """The set of ``b`` with ``(gy - b gd)^2 <= q^2 Var(gy - b gd)``.

    ``gy``, ``gd``: coefficients of assignment in the regressions of the outcome
    (reduced form) and of receipt (first stage) on the same design; ``vyy``,
    ``vyd``, ``vdd``: their (robust) variances and covariance, so that
    ``Var(gy - b gd) = vyy - 2 b vyd + b^2 vdd`` is the variance of the
    coefficient of assignment in the regression of ``Y - b D``; ``q`` the
    ``1 - alpha/2`` quantile of t with ``df`` degrees of freedom. Inverting the
    test is solving ``A b^2 - 2 B b + C <= 0`` with ``A = gd^2 - q^2 vdd``,
    ``B = gy gd - q^2 vyd``, ``C = gy^2 - q^2 vyy`` (Anderson & Rubin 1949;
    Dufour 1997 for the unbounded cases).
    """
    q2 = float(stats.t.ppf(1 - alpha / 2, df)) ** 2 if np.isfinite(df) else float(stats.norm.ppf(1 - alpha / 2)) ** 2
    A = gd * gd - q2 * vdd
    B = gy * gd - q2 * vyd
    C = gy * gy - q2 * vyy
    disc = B * B - A * C
    inf = float("inf")
    scale = max(gd * gd, q2 * vdd)
    if abs(A) <= 1e-14 * scale:  # the first stage t is exactly the critical value
        if B > 0:
            pieces: tuple[tuple[float, float], ...] = ((float(C / (2 * B)), inf),)
        elif B < 0:
            pieces = ((-inf, float(C / (2 * B))),)
        else:
            return ARInterval(((-inf, inf),), "whole line", alpha, df)
        return ARInterval(pieces, "ray", alpha, df)
    if disc <= 0:
        # A > 0 cannot get here in a just-identified model (b = gy / gd is in the set);
        # A < 0: the quadratic is negative everywhere
        if A < 0:
            return ARInterval(((-inf, inf),), "whole line", alpha, df)
        b0 = float(B / A)
        return ARInterval(((b0, b0),), "bounded", alpha, df)
    root = float(np.sqrt(disc))
    qq = B + np.copysign(root, B)  # stable roots: qq / A and C / qq
    r1, r2 = (qq / A, C / qq) if qq != 0 else (-root / A, root / A)
    lo, hi = float(min(r1, r2)), float(max(r1, r2))
    if A > 0:
        return ARInterval(((lo, hi),), "bounded", alpha, df)
    return ARInterval(((-inf, lo), (hi, inf)), "two rays", alpha, df)


def cace_effect(
    fit: IVFit, *, p_t: float, p_c: float, options: Mapping[str, Any], used: str, design: str,
    n_strata: int | None, weighted: bool, cluster_role: str | None, common: Mapping[str, Any],
    refit: Refit | None, itt_refit: Refit | None,
) -> Effect:
    """The CACE result (with its first stage, ITT and Anderson-Rubin set) from a 2SLS fit:
    one builder for the in-memory and the engine paths. ``common``: the fields the CACE
    and its ITT share (outcome, arms, counts, means, design)."""
    received, alpha, covs = options["received"], options["alpha"], options["covariates"]
    extras = ""
    if covs:
        extras += ", additive covariates"
    if n_strata is not None:
        extras += ", strata fixed effects"
    if weighted:
        extras += ", weighted"
    if cluster_role == "variance":
        extras += ", SEs clustered for the variance only (people were randomised)"
    itt_effect = Effect(
        estimand="ITT", estimate=fit.rf_coef, std_error=fit.rf_se, df=fit.rf_df,
        method=("OLS with additive covariates" if covs else "OLS of outcome on assignment")
        + (", strata fixed effects" if n_strata is not None else "")
        + (", weighted" if weighted else ""),
        _refit=itt_refit,
        **common,
    )
    first = FirstStage(
        received=received, treatment=common["treatment"], control=common["control"],
        take_up_treatment=p_t, take_up_control=p_c, difference=fit.fs_coef,
        std_error=fit.fs_se, df=fit.fs_df, f_statistic=fit.fs_f, df_denominator=fit.fs_df_den,
        effective_f=fit.fs_f, se_type=used, alpha=alpha,
    )
    notes: list[str] = []
    if fit.fs_f < WEAK_F:
        notes.append(
            f"weak first stage (F = {fit.fs_f:.3g} < {WEAK_F:g}): the t interval may undercover; "
            "use the Anderson-Rubin set"
        )
    return Effect(
        estimand="CACE", estimate=fit.estimate, std_error=fit.std_error, df=fit.df,
        method=f"2SLS, {received} instrumented by assignment{extras}",
        notes=tuple(notes),
        _refit=refit,
        first_stage=first, itt=itt_effect, ar_interval=fit.ar,
        **common,
    )
