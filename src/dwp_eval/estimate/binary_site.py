""":func:`~dwp_eval.binary_effect` with ``site=``: a random-intercept logit by
adaptive Gauss-Hermite quadrature (:mod:`dwp_eval._core.glmm`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dwp_eval._core.glm import fit_binary_glm
from dwp_eval._core.glmm import fit_random_intercept, marginal_risks, profile_sigma_interval
from dwp_eval._core.sample import Prepared, prepare_sample
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import ColumnError, DesignError, NotEstimableError, OptionError
from dwp_eval.results.binary import BinaryEffect

__all__ = ["check_outcome", "design_matrix", "site_effect"]

SE_LABEL = "model-based (observed information)"


def site_effect(
    data: pd.DataFrame, *, outcome: Hashable, assigned: Hashable, control: Any,
    treatment: Any | None, covariates: Sequence[Hashable],
    strata: Hashable | Sequence[Hashable] | None, cluster: Hashable | None,
    weights: Hashable | None, se_type: str | None, model: str, scales: tuple[str, ...],
    site: Hashable, n_agq: int, alpha: float, missing: str, site_interval: str = "wald",
) -> BinaryEffect:
    """The random-intercept fit behind ``binary_effect(site=...)``.

    Marginal risks average ``F(x_i(a)'b + sigma u)`` over ``u ~ N(0, 1)`` (30-point
    Gauss-Hermite) and over people, so RD and RR are population-averaged; their
    SEs are the delta method with the inverse observed information of
    ``(b, sigma)``, conditional on the covariates. The odds ratio ``exp(b_z)`` is
    conditional on the site (and covariates)."""
    func = "binary_effect"
    _check_site_options(cluster, weights, se_type, model, n_agq, func=func)
    prep, frame = prepare_sample(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covariates, strata=strata, cluster=site, weights=None, missing=missing,
        func=func, variance_cluster=True,
    )
    check_outcome(prep, func=func)
    if prep.cluster is None:  # internal: prepare_sample was given cluster=site
        raise TypeError("site_model: the sites did not reach the sample (internal error)")
    sizes = np.bincount(prep.cluster)
    if np.any(sizes == 1):
        labels = pd.unique(frame[site].to_numpy()[sizes[prep.cluster] == 1])
        raise DesignError(
            f"{func}: {int(np.sum(sizes == 1)):,} site(s) in column {site!r} hold one person "
            f"only (e.g. {_fmt_list(list(labels[:5]), 5)}); a one-person site cannot separate "
            "its site effect from the person's outcome. Fix: merge it with a neighbouring site."
        )
    X, names = design_matrix(prep)
    glm = fit_binary_glm(X, prep.y, None, model="logit", outcome=prep.outcome, func=func)
    fit = fit_random_intercept(X, prep.y, prep.cluster, glm.beta, n_agq=n_agq,
                               outcome=prep.outcome, func=func)
    sd_se = float(np.sqrt(fit.vcov[-1, -1]))
    if site_interval == "profile":
        sd_lo, sd_hi = profile_sigma_interval(X, prep.y, prep.cluster, fit, n_agq=n_agq,
                                              alpha=alpha, outcome=prep.outcome, func=func)
    elif fit.sigma > 0:  # Wald on the log scale
        half = float(stats.norm.ppf(1 - alpha / 2)) * sd_se / fit.sigma
        sd_lo, sd_hi = fit.sigma * np.exp(-half), fit.sigma * np.exp(half)
    else:  # at the boundary the log scale has no Wald interval: the profile has one
        sd_lo, sd_hi = profile_sigma_interval(X, prep.y, prep.cluster, fit, n_agq=n_agq,
                                              alpha=alpha, outcome=prep.outcome, func=func)
        site_interval = "profile"
    (p0, p1), grad = marginal_risks(X, fit)
    Vp = grad @ fit.vcov @ grad.T
    g = np.array([-1 / p0, 1 / p1])
    lse_rr = float(np.sqrt(g @ Vp @ g))
    lse_or = float(np.sqrt(fit.vcov[1, 1]))
    rr, orr = p1 / p0, float(np.exp(fit.beta[1]))
    est = {"risk_difference": p1 - p0, "risk_ratio": rr, "odds_ratio": orr}
    ses = {"risk_difference": float(np.sqrt(Vp[0, 0] + Vp[1, 1] - 2 * Vp[0, 1])),
           "risk_ratio": rr * lse_rr, "odds_ratio": orr * lse_or}
    lses = {"risk_ratio": lse_rr, "odds_ratio": lse_or}
    n_sites = len(sizes)
    how = "profile likelihood" if site_interval == "profile" else "Wald, log scale"
    method = (f"random-intercept logit ({n_sites:,} sites, site SD {fit.sigma:.4g} on the logit "
              f"scale, {100 * (1 - alpha):g}% CI [{sd_lo:.4g}, {sd_hi:.4g}], {how}) by adaptive "
              f"Gauss-Hermite quadrature, nAGQ={n_agq}")
    if prep.strata is not None:
        method += ", strata dummies"
    if covariates:
        method += f", {len(covariates)} covariate(s)"
    method += "; population-averaged risks; odds ratio conditional on site"
    return BinaryEffect(
        outcome=str(outcome), treatment=prep.treatment, control=prep.control, scales=scales,
        estimates={s: est[s] for s in scales}, std_errors={s: ses[s] for s in scales},
        log_std_errors={s: lses[s] for s in scales if s in lses},
        control_risk=float(p0), treatment_risk=float(p1), alpha=alpha, n_obs=len(prep.y),
        n_by_arm=prep.n_by_arm, model="logit", se_type=SE_LABEL, method=method,
        covariates=tuple(str(c) for c in covariates), n_clusters=n_sites,
        n_strata=None if prep.strata is None else len(np.unique(prep.strata)),
        coefficients={**dict(zip(names, map(float, fit.beta), strict=True)),
                      "site_sd": fit.sigma, "site_sd_se": sd_se,
                      "site_sd_conf_low": float(sd_lo), "site_sd_conf_high": float(sd_hi)},
        dropped=prep.dropped,
    )


def _check_site_options(cluster: Any, weights: Any, se_type: Any, model: str, n_agq: Any,
                        *, func: str) -> None:
    for given, name in ((cluster, "cluster"), (weights, "weights"), (se_type, "se_type")):
        if given is not None:
            raise OptionError(
                f"{func}: {name}= cannot be combined with site= (the random-intercept model's "
                f"variance is model-based). Fix: drop {name}=, or drop site= for the ordinary "
                "logit with sandwich SEs."
            )
    if model != "logit":
        raise OptionError(f"{func}: site= fits a random-intercept logit only. Fix: use "
                          "model='logit' or drop site=.")
    if isinstance(n_agq, bool) or not isinstance(n_agq, int | np.integer) or not 8 <= n_agq <= 50:
        raise OptionError(f"{func}: n_agq={n_agq!r} must be an integer from 8 to 50 (the nodes are re-centred between maximisations, which finds the quadrature's maximum only when it is accurate; the Laplace approximation, n_agq=1, is not offered). Fix: "
                          "use the default 15.")


def check_outcome(prep: Prepared, *, func: str) -> None:
    y = prep.y
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        vals = _fmt_list(sorted({float(v) for v in y[bad]})[:5], 5)
        raise ColumnError(
            f"{func}: column {prep.outcome!r} (outcome) must hold only 0 and 1, but holds "
            f"{int(bad.sum()):,} other value(s) ({vals}). Fix: recode it to 0/1, or use "
            "itt() for a numeric outcome."
        )
    for arm, z in ((prep.control, 0), (prep.treatment, 1)):
        ya = y[prep.z == z]
        if ya.min() == ya.max():
            raise NotEstimableError(
                f"{func}: every person in arm {arm!r} has {prep.outcome!r} = {int(ya[0])}, so "
                "the log odds and the risk ratio are infinite (the model is separated). Fix: "
                "report the difference in proportions with itt(), or an exact method.",
                outcome=prep.outcome, reason="all-zero or all-one arm",
            )


def design_matrix(prep: Prepared) -> tuple[np.ndarray, list[str]]:
    """The model matrix: intercept, assignment, stratum dummies (first stratum
    dropped) and the expanded covariates, filled column by column into one
    Fortran-ordered float64 array (each column contiguous, as BLAS takes it)."""
    n = len(prep.y)
    names = ["(intercept)", "assigned"]
    n_strata = 0 if prep.strata is None else int(prep.strata.max()) + 1
    for s in range(1, n_strata):
        names.append(f"stratum[{prep.strata_levels[s] if s < len(prep.strata_levels) else s}]")
    covs = prep.covariates.to_numpy(dtype=float)
    names += [str(c) for c in prep.covariates.columns]
    X = np.empty((n, len(names)), order="F")
    X[:, 0] = 1.0
    X[:, 1] = prep.z
    if prep.strata is not None:
        for s in range(1, n_strata):
            np.equal(prep.strata, s, out=X[:, 1 + s], casting="unsafe")
    X[:, 1 + max(n_strata, 1):] = covs
    return X, names
