"""Effects on a 0/1 outcome: logistic (or probit) regression of the outcome on
assignment, strata and covariates, with the marginal risk difference and risk
ratio by standardisation (g-computation) and the conditional odds ratio."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.glm import fit_binary_glm, glm_vcov, inverse_link, link_density
from dwp_eval._core.sample import Prepared, prepare_sample
from dwp_eval._validation import _fmt_list, as_column_list, check_alpha, check_option
from dwp_eval.errors import OptionError
from dwp_eval.estimate.binary_site import check_outcome, design_matrix, site_effect
from dwp_eval.results.binary import BinaryEffect

__all__ = ["SCALES", "binary_effect"]

#: The scales :func:`binary_effect` reports (``scale=``).
SCALES = ("risk_difference", "risk_ratio", "odds_ratio")
_MODELS = ("logit", "probit")


def binary_effect(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: Any = "control",
    treatment: Any | None = None,
    covariates: Sequence[Hashable] | None = None,
    strata: Hashable | Sequence[Hashable] | None = None,
    cluster: Hashable | None = None,
    weights: Hashable | None = None,
    se_type: str | None = None,
    model: Literal["logit", "probit"] = "logit",
    scale: str | Sequence[str] = SCALES,
    site: Hashable | None = None,
    n_agq: int = 15,
    site_interval: Literal["wald", "profile"] = "wald",
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> BinaryEffect:
    """Effect of assignment to ``treatment`` rather than ``control`` on a 0/1 outcome.

    The outcome is regressed on an intercept, assignment, stratum dummies and the
    covariates (entered additively) by maximum likelihood, logit or probit.

    Parameters
    ----------
    data, outcome, assigned, control, treatment, covariates, strata, cluster, weights, missing
        As for :func:`~dwp_eval.itt`; ``outcome`` must hold only 0 and 1, and
        ``weights`` are likelihood (prior) weights.
    se_type
        ``"HC0"`` (default without clusters, as R's ``sandwich::sandwich``),
        ``"HC1"`` (times ``n/(n-k)``), or with ``cluster`` ``"CR1"`` (default,
        ``G/(G-1) (n-1)/(n-k)``, as ``sandwich::vcovCL(type = "HC1")`` and Stata)
        or ``"CR0"`` (``G/(G-1)`` only).
    model
        ``"logit"`` (default) or ``"probit"``. The odds ratio is reported for
        the logit only.
    scale
        Which of ``"risk_difference"``, ``"risk_ratio"``, ``"odds_ratio"`` to report.
    site
        Column of sites: fit a random-intercept logit (a normal site effect on the
        logit scale) by maximum likelihood with ``n_agq``-point adaptive
        Gauss-Hermite quadrature, as ``lme4::glmer(y ~ z + x + (1 | site),
        nAGQ = n_agq)``; see :mod:`dwp_eval._core.glmm`. The variance is then the
        inverse observed information (``se_type`` must be ``None``); the logit
        only, no ``weights`` or ``cluster``. Every site needs two people or more.
    n_agq
        Quadrature points per site for ``site=``, 8 to 50 (the Laplace
        approximation, 1 point, is not offered).
    site_interval
        The interval for the site SD ``sigma`` (``coefficients["site_sd_conf_low"]``,
        ``["site_sd_conf_high"]``): ``"wald"`` (default), ``sigma exp(-/+ z se/sigma)``
        with ``se`` from the inverse observed information (Wald on the log scale,
        as Stata's ``melogit`` shows variance components); ``"profile"``, the
        likelihood-ratio test inverted, as ``confint(fit, method = "profile")`` in
        lme4 (Bates et al. 2015), with 0 as the lower end when ``sigma = 0`` is not
        rejected (used for "wald" too when the estimate is 0, where the log scale has
        no interval). The profile refits the model some 20 times.
    alpha
        Significance level of the intervals and tests.

    Returns
    -------
    BinaryEffect

    Notes
    -----
    *Marginal risks* by standardisation (g-computation; Robins 1986; Austin 2010):
    ``p_a = sum_i w_i F(x_i(a)' b) / sum_i w_i`` with ``x_i(a)`` person ``i``'s row
    with assignment set to ``a``; ``RD = p_1 - p_0``, ``RR = p_1 / p_0``. Their
    variance is the sandwich of the influence functions
    ``phi_i(a) = w_i (F(x_i(a)'b) - p_a) / W + D_a' B s_i``, with
    ``D_a = sum_i w_i f(x_i(a)'b) x_i(a) / W``, ``B`` the inverse information
    and ``s_i`` the score of row ``i``, which counts the sampling variance of
    the covariates as well as of ``b`` (Ye, Bannick, Yi & Shao 2023,
    *Stat. Theory Relat. Fields* 7(2); Tsiatis et al. 2008); the same
    small-sample factors as for ``b`` apply. The risk ratio's test and
    interval are on the log scale (delta method). Without covariates or
    strata the risk difference is the difference in proportions and its HC0
    variance is ``p_1(1-p_1)/n_1 + p_0(1-p_0)/n_0``.

    *Odds ratio*: ``exp(b_z)``, conditional on the covariates and strata, with
    the sandwich variance of ``b_z`` (Zeileis 2006) on the log scale.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 4,
    ...                    "y": [0, 1, 1, 1, 0, 0, 1, 1]})
    >>> res = binary_effect(df, outcome="y", assigned="arm")
    >>> round(res.estimate("risk_difference"), 3)  # 3/4 - 2/4
    0.25
    """
    func = "binary_effect"
    alpha = check_alpha(alpha, func=func)
    model = check_option(model, _MODELS, param="model", func=func)  # type: ignore[assignment]
    scales = _check_scales(scale, model, func=func)
    covs = as_column_list(covariates)
    if site is not None:
        return site_effect(data, outcome=outcome, assigned=assigned, control=control,
                           treatment=treatment, covariates=covs, strata=strata, cluster=cluster,
                           weights=weights, se_type=se_type, model=model, scales=scales,
                           site=site, n_agq=n_agq, alpha=alpha, missing=missing,
                           site_interval=check_option(site_interval, ("wald", "profile"),
                                                      param="site_interval", func=func))
    se = _check_se_type(se_type, clustered=cluster is not None, func=func)
    prep, _ = prepare_sample(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covs, strata=strata, cluster=cluster, weights=weights, missing=missing,
        func=func, variance_cluster=True,
    )
    check_outcome(prep, func=func)
    X, names = design_matrix(prep)
    fit = fit_binary_glm(X, prep.y, prep.weights, model=model, outcome=prep.outcome, func=func)
    V = glm_vcov(fit, prep.cluster, se)
    est, ses, lses, p0, p1 = _effects(X, fit, V, prep, se, model)
    method = f"{model} regression of outcome on assignment"
    if prep.strata is not None:
        method += ", strata dummies"
    if covs:
        method += f", {len(covs)} covariate(s)"
    if prep.weights is not None:
        method += ", weighted"
    method += "; marginal risks by standardisation (g-computation)"
    return BinaryEffect(
        outcome=str(outcome), treatment=prep.treatment, control=prep.control, scales=scales,
        estimates={s: est[s] for s in scales}, std_errors={s: ses[s] for s in scales},
        log_std_errors={s: lses[s] for s in scales if s in lses},
        control_risk=p0, treatment_risk=p1, alpha=alpha, n_obs=len(prep.y),
        n_by_arm=prep.n_by_arm, model=model, se_type=se, method=method,
        covariates=tuple(str(c) for c in covs),
        n_clusters=None if prep.cluster is None else len(np.unique(prep.cluster)),
        n_strata=None if prep.strata is None else len(np.unique(prep.strata)),
        coefficients=dict(zip(names, map(float, fit.beta), strict=True)), dropped=prep.dropped,
    )


def _check_scales(scale: Any, model: str, *, func: str) -> tuple[str, ...]:
    chosen = [scale] if isinstance(scale, str) else list(scale)
    if not chosen:
        raise OptionError(f"{func}: scale= is empty. Fix: pass one or more of {list(SCALES)}.")
    out = tuple(check_option(s, SCALES, param="scale", func=func) for s in chosen)
    if model != "logit" and "odds_ratio" in out:
        if isinstance(scale, str):
            raise OptionError(f"{func}: the odds ratio needs model='logit' (the {model} "
                              "coefficient is not a log odds ratio). Fix: use model='logit'.")
        out = tuple(s for s in out if s != "odds_ratio")
    return out


def _check_se_type(se_type: Any, *, clustered: bool, func: str) -> str:
    if se_type is None:
        return "CR1" if clustered else "HC0"
    valid = ("CR0", "CR1") if clustered else ("HC0", "HC1")
    name = se_type.upper() if isinstance(se_type, str) else se_type
    if name not in valid:
        raise OptionError(
            f"{func}: se_type={se_type!r} is not offered for a binary outcome "
            f"{'with' if clustered else 'without'} clusters. Fix: use one of {_fmt_list(valid)}."
        )
    return str(name)


def _effects(
    X: np.ndarray, fit: Any, V: np.ndarray, prep: Prepared, se_type: str, model: str,
) -> tuple[dict[str, float], dict[str, float], dict[str, float], float, float]:
    n, k = X.shape
    w = prep.weights
    W = float(n) if w is None else float(w.sum())
    b_z = fit.beta[1]
    # rows a = 0, 1 (everyone in control, everyone in treatment), each contiguous
    eta = np.empty((2, n))  # x_i(a)' b
    np.subtract(fit.eta, X[:, 1] * b_z, out=eta[0])
    np.add(eta[0], b_z, out=eta[1])
    F = inverse_link(eta, model)
    if model == "logit":
        wf = 1.0 - F
        wf *= F
    else:
        wf = link_density(eta, model)
    if w is not None:
        F *= w
        wf *= w
    mean_risk = F.sum(axis=1) / W
    # influence functions of (p0, p1): phi_i = D' B s_i + a_i, with s_i row i's score
    # and a_i = (w_i F_i(a) - w_i p_a) / W (2 x n, in F)
    F -= mean_risk[:, None] if w is None else w * mean_risk[:, None]
    F /= W
    hc = se_type not in ("CR0", "CR1")
    # one pass over X for wf' X and, for the HC variances, (a * score weights)' X
    rows = np.concatenate([wf, F * fit.score_weights]) if hc else wf
    products = rows @ X
    D = products[:2].T / W  # sum_i w_i f_i x_i(a) / W: column 1 of x_i(a) is a
    D[1] = (0.0, wf[1].sum() / W)
    BD = fit.bread @ D
    risks = [float(r) for r in mean_risk]
    if se_type in ("CR0", "CR1"):
        if prep.cluster is None:  # internal: CR0/CR1 resolve only with clusters
            raise TypeError("binary_effect: a cluster-robust se_type without clusters (internal error)")
        phi = fit.scores_times(BD).T
        phi += F
        _, inv = np.unique(prep.cluster, return_inverse=True)
        G = int(inv.max()) + 1
        sums = np.column_stack([np.bincount(inv, weights=phi[j], minlength=G) for j in (0, 1)])
        Vp = sums.T @ sums * (G / (G - 1)) * ((n - 1) / (n - k) if se_type == "CR1" else 1.0)
    else:
        # sum_i phi_i phi_i' without the n x 2 phi: D' B M B D (= D' V D, V = B M B
        # with M the HC meat and its factor) + C' B D + D' B C + sum_i a_i a_i', where
        # C = sum_i s_i a_i' = X' diag(score weights) a'
        factor = n / (n - k) if se_type == "HC1" else 1.0
        C = products[2:]  # 2 x k: (sum_i a_i s_i')
        cross = C @ BD
        Vp = D.T @ V @ D + factor * (cross + cross.T + F @ F.T)
    p0, p1 = risks
    rd = p1 - p0
    var_rd = Vp[0, 0] + Vp[1, 1] - 2 * Vp[0, 1]
    g = np.array([-1 / p0, 1 / p1])  # gradient of log RR in (p0, p1)
    lse_rr = float(np.sqrt(g @ Vp @ g))
    rr = p1 / p0
    est = {"risk_difference": rd, "risk_ratio": rr}
    ses = {"risk_difference": float(np.sqrt(var_rd)), "risk_ratio": rr * lse_rr}
    lses = {"risk_ratio": lse_rr}
    if model == "logit":
        lse_or = float(np.sqrt(V[1, 1]))
        orr = float(np.exp(fit.beta[1]))
        est["odds_ratio"], ses["odds_ratio"], lses["odds_ratio"] = orr, orr * lse_or, lse_or
    return est, ses, lses, p0, p1
