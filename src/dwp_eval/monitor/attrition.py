r"""Attrition: response rates by arm, tests of differential attrition and
inverse-probability non-response weights (:func:`attrition`).

:func:`attrition` compares response (follow-up, survey completion) between the
arms: rates with Wilson intervals, the difference in response rates with the
design's inference (:func:`dwp_eval.estimate.itt.itt` on the response
indicator), robust Wald tests of whether baseline covariates predict response,
at all and differently by arm, and inverse-probability weights for the
responders. When response differs by arm, :func:`dwp_eval.lee_bounds` bounds the
effect for the people who would respond whichever arm they were in.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.linalg import Term, fit_ols
from dwp_eval._core.proportion import wilson_interval
from dwp_eval._core.sample import codes, expand_covariates_sourced
from dwp_eval._core.variance import vcov
from dwp_eval._core.wald import WaldTest, wald_test
from dwp_eval._validation import (
    arm_keys,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_no_missing,
    label_key,
)
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate.itt import itt
from dwp_eval.monitor._checks import responded_values, response_arms
from dwp_eval.results.attrition import ATTRITION_COLUMNS, TEST_COLUMNS, Attrition

__all__ = ["ATTRITION_COLUMNS", "TEST_COLUMNS", "Attrition", "attrition"]


def _logit_response(s: np.ndarray, X: pd.DataFrame, *, arm: str, func: str) -> np.ndarray:
    """Fitted response probabilities from a logit of ``s`` on ``X`` (with an intercept)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    if X.shape[1] == 0:
        return np.full(len(s), float(np.mean(s)))
    # full rank: the interacted regression of _covariate_tests, which is of full rank
    # only if every arm's [1, X] is, was fitted first
    design = np.column_stack([np.ones(len(s)), X.to_numpy(dtype=float)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(s.astype(float), design).fit(disp=0, method="newton", maxiter=100)
        except np.linalg.LinAlgError:
            # statsmodels < 0.14.1: under (quasi-)separation the Newton step inverts a
            # singular Hessian instead of warning
            res = None
    separated = res is None or any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    failed = res is None or not res.mle_retvals.get("converged", True) or any(
        issubclass(w.category, ConvergenceWarning) for w in caught)
    if res is None or separated or failed:
        raise DesignError(
            f"{func}: the covariates predict response (almost) perfectly in the {arm!r} arm, so "
            "the logistic response model has no finite estimate and the weights would be "
            "extreme. Fix: use fewer or coarser covariates (e.g. merge small categories)."
        )
    return np.asarray(res.predict(design), dtype=float)


def attrition(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    responded: Hashable,
    control: Any = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    stabilise: bool = False,
    alpha: float = 0.05,
) -> Attrition:
    r"""Response rates by arm, tests of differential attrition, and non-response weights.

    Parameters
    ----------
    data
        One row per person randomised.
    assigned
        Column with each person's arm.
    responded
        0/1 column: 1 if the person's outcome was observed (responded to the
        survey, was followed up).
    control, treatment
        Labels of the compared arms; ``treatment`` may be omitted when there
        is only one other arm.
    covariates
        Baseline covariates for the tests of whether they predict response
        and for the response models of the weights. Text or categorical
        columns become dummies. Without covariates there are no covariate
        tests and each arm's weights are ``1 / (arm's response rate)``.
    strata
        Randomisation strata: the difference in response rates is the
        blocked estimate, and the covariate regressions absorb strata fixed
        effects.
    cluster
        Unit of assignment when clusters were randomised: CR2 variances with
        Bell-McCaffrey df for the difference, CR2 with ``G - 1`` denominator
        df for the F tests.
    stabilise
        Multiply each arm's weights by its response rate, so that they
        average one over the arm's responders when the response model fits
        the rate (stabilised weights; Robins, Hernán & Brumback 2000).
    alpha
        Level of the intervals and tests.

    Returns
    -------
    Attrition

    Notes
    -----
    *Response rates* ``r_a = n_{a,responded} / n_a`` are given with Wilson
    (1927) score intervals (:func:`~dwp_eval.monitor.wilson_interval`).

    *Differential attrition* is tested by the ITT of assignment on the
    response indicator, ``r_T - r_C``, estimated and tested exactly as
    :func:`~dwp_eval.estimate.itt.itt` does for an outcome (the What Works
    Clearinghouse's standards judge trials by overall and differential
    attrition, the gap between the arms' response rates).

    *Covariates and response* (Ghanem, Hirshleifer & Ortiz-Becerra 2023, *J.
    Human Resources*, "Testing attrition bias in field experiments") are
    tested in the linear probability model

    .. math::

        R_i = \alpha + \tau Z_i + \tilde X_i' \beta + Z_i \tilde X_i' \gamma + e_i,

    with covariates centred at their means (:math:`\tilde X`), by robust
    Wald F tests: ``covariate_test`` of :math:`\beta = \gamma = 0` (the
    covariates predict response in some arm) and ``interaction_test`` of
    :math:`\gamma = 0` (they predict it differently by arm, the sign that
    responders in the two arms differ at baseline). With :math:`q`
    restrictions, ``F = b' V^{-1} b / q`` with HC2 :math:`V` on ``(q, n -
    k)`` df (``k``: all estimated coefficients, absorbed strata included),
    or CR2 on ``(q, G - 1)`` df with clusters.

    *Weights*: in each arm a logit of ``R`` on an intercept and the
    covariates (statsmodels ``Logit``) gives :math:`\hat p_i`; responders get
    :math:`w_i = 1 / \hat p_i` (times the arm's response rate when
    ``stabilise``), non-responders 0 (Little & Rubin 2019, *Statistical
    Analysis with Missing Data*, 3rd ed., sec. 3.3; Wooldridge 2007, *J.
    Econometrics* 141:1281). Under response at random given the covariates
    within arm, the weighted mean of the responders estimates the arm's
    mean.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"arm": np.repeat(["control", "treatment"], 200),
    ...                    "age": rng.integers(18, 65, 400)})
    >>> rate = np.where(df["arm"] == "treatment", 0.8, 0.7)
    >>> df["responded"] = (rng.random(400) < rate).astype(int)
    >>> att = attrition(df, assigned="arm", responded="responded", covariates=["age"])
    >>> att.to_frame()[["arm", "n", "n_responded"]].to_numpy().tolist()
    [['control', 200, 152], ['treatment', 200, 158]]
    >>> round(att.differential.estimate, 3), att.differential.se_type
    (0.03, 'HC2')
    """
    func = "attrition"
    data = check_data(data, func=func)
    alpha = check_alpha(alpha, func=func)
    if not isinstance(stabilise, (bool, np.bool_)):
        raise OptionError(
            f"The 'stabilise' parameter of {func} must be True or False. Got {stabilise!r} instead."
        )
    covs = as_column_list(covariates)
    check_columns(data, [assigned], role="assigned", func=func)
    check_columns(data, [responded], role="responded", func=func)
    check_columns(data, covs, role="covariates", func=func)
    for col, role in ((strata, "strata"), (cluster, "cluster")):
        if col is not None:
            check_columns(data, [col], role=role, func=func)
    keep, treatment = response_arms(data, assigned, control, treatment, func=func)
    sub = data.loc[keep]
    s = responded_values(sub[responded], responded, func=func)
    for c in covs:
        check_no_missing(sub, c, role="covariates", func=func)
    z = (arm_keys(sub[assigned]) == treatment).to_numpy(dtype=bool)  # labels by value
    control = str(label_key(control))
    arm_labels = (str(control), treatment)
    for label, in_arm in ((str(control), ~z), (treatment, z)):
        if not s[in_arm].any():
            raise DesignError(
                f"{func}: nobody in the {label!r} arm responded (column {responded!r}), so there "
                "is nothing to weight or compare. Fix: check the response column."
            )

    # response by arm, Wilson intervals
    n_arm = np.array([np.sum(~z), np.sum(z)])
    k_arm = np.array([np.sum(s & ~z), np.sum(s & z)])
    lo, hi = wilson_interval(k_arm, n_arm, alpha)
    frame = pd.DataFrame({
        "arm": list(arm_labels), "n": n_arm.astype("int64"), "n_responded": k_arm.astype("int64"),
        "n_not_responded": (n_arm - k_arm).astype("int64"), "response_rate": k_arm / n_arm,
        "conf_low": lo, "conf_high": hi,
    }, columns=ATTRITION_COLUMNS)

    # the difference in response rates, with the design's inference
    design_cols = [c for c in dict.fromkeys([assigned, strata, cluster]) if c is not None]
    if responded in design_cols:
        raise OptionError(
            f"The 'responded' parameter of {func} names column {responded!r}, which is also the "
            "assigned, strata or cluster column. Fix: pass the 0/1 response column."
        )
    itt_data = sub[design_cols].copy()
    itt_data[responded] = s.astype(float)
    differential = itt(itt_data, outcome=responded, assigned=assigned, control=control,
                       treatment=treatment, strata=strata, cluster=cluster, alpha=alpha)

    covariate_test = interaction_test = None
    cov_frame = pd.DataFrame(index=sub.index)
    if covs:
        cov_frame, sources = expand_covariates_sourced(sub, covs, func)
        for label, in_arm in ((str(control), ~z), (treatment, z)):
            flat = [c for c in cov_frame.columns
                    if np.ptp(cov_frame[c].to_numpy(dtype=float)[in_arm]) == 0]
            if flat:
                raise DesignError(
                    f"{func}: covariate {sources[flat[0]]!r} is constant in the {label!r} arm "
                    f"({flat[0]!r}), so neither whether it predicts response differently by arm "
                    "nor its place in that arm's response model can be estimated. Fix: drop it "
                    "from covariates (or merge the category that arm lacks)."
                )
        covariate_test, interaction_test = _covariate_tests(
            s, z, cov_frame, sources, strata=None if strata is None else codes(sub[strata]),
            cluster=None if cluster is None else codes(sub[cluster]), func=func,
        )

    # inverse-probability non-response weights, within each arm
    w = np.zeros(len(sub))
    for label, in_arm in ((str(control), ~z), (treatment, z)):
        p_hat = _logit_response(s[in_arm], cov_frame.loc[in_arm], arm=label, func=func)
        w_arm = np.where(s[in_arm], 1.0 / p_hat, 0.0)
        if stabilise:
            w_arm = w_arm * float(np.mean(s[in_arm]))
        w[in_arm] = w_arm
    weights = pd.Series(np.nan, index=data.index, name="weight", dtype=float)
    weights.loc[keep] = w

    return Attrition(
        responded=str(responded), control=str(control), treatment=treatment, alpha=alpha,
        differential=differential, covariate_test=covariate_test,
        interaction_test=interaction_test, covariates=tuple(str(c) for c in covs),
        stabilised=bool(stabilise), n_other_arms=int(np.sum(~keep)),
        _frame=frame, _weights=weights,
    )


def _covariate_tests(
    s: np.ndarray,
    z: np.ndarray,
    cov: pd.DataFrame,
    sources: Mapping[str, str],
    *,
    strata: np.ndarray | None,
    cluster: np.ndarray | None,
    func: str,
) -> tuple[WaldTest, WaldTest]:
    """Robust Wald tests in the regression of response on arm, centred covariates and
    their interactions with arm (see :func:`attrition`)."""
    n, q = len(s), cov.shape[1]
    first = 1 if strata is None else 0
    X = np.empty((n, first + 1 + 2 * q), order="F")
    names: list[str] = [Term("(Intercept)", None)] if first else []
    if first:
        X[:, 0] = 1.0
    X[:, first] = z
    names.append(Term("assigned", None))
    for j, c in enumerate(cov.columns):
        col = cov[c].to_numpy(dtype=float)
        col = col - col.mean()
        X[:, first + 1 + j] = col
        X[:, first + 1 + q + j] = col * z
    names += [Term(str(c), sources[str(c)]) for c in cov.columns]
    names += [Term(f"assigned:{c}", sources[str(c)]) for c in cov.columns]
    fit = fit_ols(X, s.astype(float), names, fe_codes=strata, func=func)
    se_type = "HC2" if cluster is None else "CR2"
    res = vcov(fit, se_type, cluster)
    df_denom = float(fit.n - fit.rank) if cluster is None else float(len(np.unique(cluster)) - 1)
    main = list(range(first + 1, first + 1 + q))
    inter = list(range(first + 1 + q, first + 1 + 2 * q))
    covariate_test = wald_test(
        fit.beta, res.vcov, main + inter, names=names, name="covariates predict response",
        se_type=se_type, df_denom=df_denom,
    )
    interaction_test = wald_test(
        fit.beta, res.vcov, inter, names=names, name="covariates x arm", se_type=se_type,
        df_denom=df_denom,
    )
    return covariate_test, interaction_test
