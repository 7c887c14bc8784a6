r"""Attrition: response rates by arm, tests of differential attrition,
inverse-probability non-response weights and Lee (2009) trimming bounds.

* :func:`attrition` compares response (follow-up, survey completion) between
  the arms: rates with Wilson intervals, the difference in response rates with
  the design's inference (:func:`dwp_eval.estimate.itt.itt` on the response
  indicator), robust Wald tests of whether baseline covariates predict
  response, at all and differently by arm, and inverse-probability weights
  for the responders.
* :func:`lee_bounds` bounds the effect on an outcome observed only for
  responders, for the people who would respond whichever arm they were in,
  when response differs by arm (Lee 2009, *Review of Economic Studies*
  76:1071).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from dwp_eval._core.format import df_text, number
from dwp_eval._core.linalg import Term, fit_ols
from dwp_eval._core.sample import expand_covariates_sourced
from dwp_eval._core.variance import vcov
from dwp_eval._core.wald import WaldTest, wald_test
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    binary_values,
    check_alpha,
    check_columns,
    check_data,
    check_no_missing,
    check_option,
    check_seed,
    compared_arms,
)
from dwp_eval.errors import (
    ColumnError,
    DegenerateDrawsWarning,
    DesignError,
    MissingDataError,
    OptionError,
)
from dwp_eval.estimate.itt import itt
from dwp_eval.monitor.contamination import wilson_interval
from dwp_eval.results import Effect, ReadOnlyMappings, ResultMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ATTRITION_COLUMNS",
    "CELL_COLUMNS",
    "LEE_COLUMNS",
    "TEST_COLUMNS",
    "Attrition",
    "LeeBounds",
    "attrition",
    "lee_bounds",
]

#: Columns of :meth:`Attrition.to_frame` (one row per compared arm).
ATTRITION_COLUMNS = ["arm", "n", "n_responded", "n_not_responded", "response_rate", "conf_low",
                     "conf_high"]

#: Columns of :meth:`Attrition.tests` (one row per test).
TEST_COLUMNS = ["test", "estimate", "std_error", "statistic", "df_num", "df_denom", "p_value",
                "se_type"]

#: Columns of :meth:`LeeBounds.to_frame` (one row).
LEE_COLUMNS = [
    "outcome", "term", "lower", "upper", "se_lower", "se_upper", "conf_low", "conf_high",
    "set_conf_low", "set_conf_high", "alpha", "trimming_proportion", "trimmed_arm",
    "response_rate_control", "response_rate_treatment", "n_control", "n_treatment",
    "n_responded_control", "n_responded_treatment", "responders_difference", "se_type",
]

#: Columns of :attr:`LeeBounds.cells` (one row per cell of the tightening covariates).
CELL_COLUMNS = ["cell", "weight", "n_control", "n_treatment", "response_rate_control",
                "response_rate_treatment", "trimming_proportion", "lower", "upper"]


# ----------------------------------------------------------------------------- shared checks


def _compared_arms(
    data: pd.DataFrame, assigned: Hashable, control: str, treatment: str | None, func: str
) -> tuple[np.ndarray, str]:
    """Rows of the two compared arms (a boolean mask) and the treatment arm's label."""
    check_no_missing(data, assigned, role="assigned", func=func)
    _, keep, label = compared_arms(data, assigned, control, treatment, func=func,
                                   purpose="comparing response")
    return keep, label


def _binary(s: pd.Series, column: Hashable, *, role: str, func: str) -> np.ndarray:
    """``s`` as booleans; raise on missing values or values other than 0/1."""
    isna = s.isna().to_numpy()
    if isna.any():
        first = s.index[isna][:5].tolist()
        raise MissingDataError(
            f"{func}: column {column!r} ({role}) has {int(isna.sum()):,} missing value(s) among "
            f"the {len(s):,} rows of the compared arms (first at rows {_fmt_list(first, 5)}). Fix: "
            "record 0 (did not respond) or 1 (responded) for everyone randomised."
        )
    return binary_values(s, column, role=role, func=func, example=f"df[{column!r}].notna().astype(int)")


def _codes(s: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(s, sort=True)
    return np.asarray(codes, dtype=np.int64)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _p_text(p: float) -> str:
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


# ----------------------------------------------------------------------------- attrition


@dataclass(frozen=True, eq=False, repr=False)
class Attrition(ResultMixin):
    """Response by arm, tests of differential attrition and non-response weights.

    Made by :func:`attrition`.

    Attributes
    ----------
    responded, control, treatment
        The response column and the compared arms.
    differential
        The difference in response rates (treatment minus control) as an
        :class:`~dwp_eval.Effect`: :func:`~dwp_eval.estimate.itt.itt` with
        ``outcome=responded``, so its variance and degrees of freedom follow
        the design (HC2; CR2 with Bell-McCaffrey df when clustered; the
        blocked estimator with strata).
    covariate_test, interaction_test
        With ``covariates``: :class:`WaldTest` of all covariate terms (do the
        covariates predict response at all?) and of the covariate-by-arm
        interactions (do they predict response differently by arm?); ``None``
        without covariates.
    stabilised
        Whether the weights were multiplied by the arm's response rate.
    n_other_arms
        Rows in arms other than the two compared (they have no weight).
    """

    responded: str
    control: str
    treatment: str
    alpha: float
    differential: Effect
    covariate_test: WaldTest | None
    interaction_test: WaldTest | None
    covariates: tuple[str, ...]
    stabilised: bool
    n_other_arms: int
    _frame: pd.DataFrame = field(repr=False)
    _weights: pd.Series = field(repr=False)

    @property
    def weights(self) -> pd.Series:
        """Inverse-probability non-response weights, aligned with the data's index (a copy).

        ``1 / p_hat`` for responders (times the arm's response rate when
        stabilised), ``0`` for non-responders, and missing for rows in arms
        other than the two compared.
        """
        return self._weights.copy()

    @property
    def response_rate(self) -> Mapping[str, float]:
        """Share responding in each compared arm."""
        return MappingProxyType(dict(zip(self._frame["arm"], self._frame["response_rate"],
                                         strict=True)))

    @property
    def differential_p_value(self) -> float:
        """p-value of the test of equal response rates (``differential.p_value``)."""
        return self.differential.p_value

    @property
    def is_differential(self) -> bool:
        """Whether response rates differ between the arms at level ``alpha``."""
        return bool(self.differential.p_value < self.alpha)

    def to_frame(self) -> pd.DataFrame:
        """Response by arm: the columns of ``ATTRITION_COLUMNS``, with Wilson intervals."""
        return self._frame.copy()

    def tests(self) -> pd.DataFrame:
        """The tests as a table (columns of ``TEST_COLUMNS``): the difference in
        response rates (its F statistic is ``t^2`` on ``(1, df)`` degrees of
        freedom), then the covariate tests when there are covariates."""
        d = self.differential
        rows = [pd.DataFrame([{
            "test": "difference in response rates", "estimate": d.estimate,
            "std_error": d.std_error, "statistic": d.statistic**2, "df_num": 1,
            "df_denom": d.df, "p_value": d.p_value, "se_type": d.se_type,
        }], columns=TEST_COLUMNS)]
        for t in (self.covariate_test, self.interaction_test):
            if t is not None:
                rows.append(pd.DataFrame([{
                    "test": t.name, "estimate": float("nan"), "std_error": float("nan"),
                    "statistic": t.statistic, "df_num": t.df_num, "df_denom": t.df_denom,
                    "p_value": t.p_value, "se_type": t.se_type,
                }], columns=TEST_COLUMNS))
        return pd.concat(rows, ignore_index=True)

    def summary(self) -> str:
        f = self._frame
        level = f"{100 * (1 - self.alpha):g}%"
        d = self.differential
        lines = [f"Attrition: {self.responded} ({self.treatment} vs {self.control})"]
        for r in f.itertuples(index=False):
            lines.append(
                f"  response        {r.arm!s:<12} {_pct(r.response_rate):>6} "
                f"({r.n_responded:,} of {r.n:,}); Wilson {level} CI "
                f"[{_pct(r.conf_low)}, {_pct(r.conf_high)}]"
            )
        lines.append(
            f"  difference      {100 * d.estimate:.2f} pp (SE {100 * d.std_error:.2f} pp), "
            f"t = {d.statistic:.3f}, df = {df_text(d.df)}, {_p_text(d.p_value)}; "
            f"{d.design}, SE {d.se_type}"
        )
        if self.is_differential:
            verdict = (f"response rates differ by arm at the {100 * self.alpha:g}% level: "
                       "attrition is differential, so comparing responders alone may be biased "
                       "(use weights or Lee bounds)")
        else:
            verdict = (f"no evidence at the {100 * self.alpha:g}% level that response rates "
                       "differ by arm (attrition is not detectably differential)")
        lines.append(f"  verdict         {verdict}")
        if self.covariate_test is not None and self.interaction_test is not None:
            c, i = self.covariate_test, self.interaction_test
            says_c = "predict" if c.p_value < self.alpha else "do not detectably predict"
            says_i = ("predict response differently by arm" if i.p_value < self.alpha
                      else "no evidence that they predict response differently by arm")
            lines.append(
                f"  covariates      {c.reference} = {c.statistic:.3f}, "
                f"{_p_text(c.p_value)}: the covariates {says_c} response"
            )
            lines.append(
                f"  covariates x arm {i.reference} = {i.statistic:.3f}, "
                f"{_p_text(i.p_value)}: {says_i} ({i.se_type})"
            )
        w = self._weights[self._weights > 0]
        model = (f"logit on {', '.join(self.covariates)}" if self.covariates
                 else "arm's response rate")
        lines.append(
            f"  weights         1 / P(respond) within arm ({model})"
            f"{'; stabilised' if self.stabilised else ''}; responders' weights "
            f"{number(float(w.min()))} to {number(float(w.max()))}"
        )
        if self.n_other_arms:
            lines.append(
                f"  other arms      {self.n_other_arms:,} row(s) in other arms have no weight")
        return "\n".join(lines)

    def __repr__(self) -> str:
        rates = ", ".join(f"{a} {_pct(r)}" for a, r in self.response_rate.items())
        return f"<Attrition {self.responded}: {rates}; p = {self.differential.p_value:.4g}>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Response rate by arm with its Wilson interval."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        f = self._frame
        y = np.arange(len(f))
        rate = 100 * f["response_rate"].to_numpy(dtype=float)
        err = np.vstack([rate - 100 * f["conf_low"].to_numpy(dtype=float),
                         100 * f["conf_high"].to_numpy(dtype=float) - rate])
        ax.errorbar(rate, y, xerr=err, fmt="o", capsize=4, **kwargs)
        ax.set_yticks(y, [str(a) for a in f["arm"]])
        ax.set_ylim(-0.6, len(f) - 0.4)
        ax.set_xlabel(f"response rate (%), Wilson {100 * (1 - self.alpha):g}% CI")
        ax.set_title(f"{self.responded}: p = {self.differential.p_value:.3g} for a difference")
        return ax


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
        res = sm.Logit(s.astype(float), design).fit(disp=0, method="newton", maxiter=100)
    separated = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    failed = not res.mle_retvals.get("converged", True) or any(
        issubclass(w.category, ConvergenceWarning) for w in caught)
    if separated or failed:
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
    control: str = "control",
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
    keep, treatment = _compared_arms(data, assigned, control, treatment, func)
    sub = data.loc[keep]
    s = _binary(sub[responded], responded, role="responded", func=func)
    for c in covs:
        check_no_missing(sub, c, role="covariates", func=func)
    z = (sub[assigned].astype("string") == treatment).to_numpy(dtype=bool)
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
            s, z, cov_frame, sources, strata=None if strata is None else _codes(sub[strata]),
            cluster=None if cluster is None else _codes(sub[cluster]), func=func,
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


# ----------------------------------------------------------------------------- Lee bounds


@dataclass(frozen=True, eq=False, repr=False)
class LeeBounds(ReadOnlyMappings, ResultMixin):
    """Lee (2009) trimming bounds on the effect for people who respond in either arm.

    Made by :func:`lee_bounds`.

    Attributes
    ----------
    lower, upper
        Estimated lower and upper bounds on the effect of ``treatment`` vs
        ``control`` on ``outcome`` for the always-responders.
    se_lower, se_upper
        Their standard errors: analytic (Lee 2009, Proposition 3, extended
        to tightened bounds) or bootstrap (``se_type``).
    trimming_proportion
        ``p = (r_high - r_low) / r_high``: the share of the trimmed arm's
        responders trimmed (from the overall response rates; with
        ``tighten`` each cell has its own, see :attr:`cells`).
    trimmed_arm
        The arm whose responders were trimmed (the arm with the higher
        response rate), or ``None`` when nothing was trimmed.
    response_rate, n_by_arm, n_responded
        Response rate, people and responders in each compared arm.
    responders_difference
        Difference in mean outcome between the arms' responders (not an
        effect when response differs by arm).
    tighten
        The covariates whose cells tightened the bounds (empty if none).
    n_bootstrap
        Bootstrap draws used for the standard errors (``None``: analytic).
    notes
        Cells left untrimmed, bootstrap draws that failed, and similar.
    """

    outcome: str
    treatment: str
    control: str
    lower: float
    upper: float
    se_lower: float
    se_upper: float
    alpha: float
    trimming_proportion: float
    trimmed_arm: str | None
    response_rate: Mapping[str, float]
    n_by_arm: Mapping[str, int]
    n_responded: Mapping[str, int]
    responders_difference: float
    se_type: str
    tighten: tuple[str, ...] = ()
    n_bootstrap: int | None = None
    notes: tuple[str, ...] = ()
    _cells: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    _MAPPINGS = ("response_rate", "n_by_arm", "n_responded")

    def critical_value(self, alpha: float | None = None) -> float:
        """Imbens-Manski critical value ``C_n`` at level ``1 - alpha`` (see :func:`lee_bounds`)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="LeeBounds.critical_value")
        return _imbens_manski_c(self.upper - self.lower, self.se_lower, self.se_upper, a)

    def conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """Imbens & Manski (2004) ``1 - alpha`` interval for the effect (default: the
        result's alpha)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="LeeBounds.conf_int")
        c = self.critical_value(a)
        return self.lower - c * self.se_lower, self.upper + c * self.se_upper

    def set_conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """``[lower - z se_lower, upper + z se_upper]`` with ``z = z_{1 - alpha/2}``: covers
        the whole identified set with probability at least ``1 - alpha``."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="LeeBounds.set_conf_int")
        z = float(stats.norm.ppf(1 - a / 2))
        return self.lower - z * self.se_lower, self.upper + z * self.se_upper

    @property
    def conf_low(self) -> float:
        return self.conf_int()[0]

    @property
    def conf_high(self) -> float:
        return self.conf_int()[1]

    @property
    def set_conf_low(self) -> float:
        return self.set_conf_int()[0]

    @property
    def set_conf_high(self) -> float:
        return self.set_conf_int()[1]

    @property
    def cells(self) -> pd.DataFrame:
        """Bounds within each cell of the tightening covariates (columns of
        ``CELL_COLUMNS``; one row ``"all"`` without ``tighten``). ``weight`` is
        the cell's share of the responders in the arm with the lower response
        rate; ``lower`` and ``upper`` average to the overall bounds with these
        weights."""
        return self._cells.copy()

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns of ``LEE_COLUMNS``."""
        c, t = self.control, self.treatment
        row = {
            "outcome": self.outcome, "term": f"{t} vs {c}", "lower": self.lower,
            "upper": self.upper, "se_lower": self.se_lower, "se_upper": self.se_upper,
            "conf_low": self.conf_low, "conf_high": self.conf_high,
            "set_conf_low": self.set_conf_low, "set_conf_high": self.set_conf_high,
            "alpha": self.alpha, "trimming_proportion": self.trimming_proportion,
            "trimmed_arm": self.trimmed_arm,
            "response_rate_control": self.response_rate[c],
            "response_rate_treatment": self.response_rate[t],
            "n_control": self.n_by_arm[c], "n_treatment": self.n_by_arm[t],
            "n_responded_control": self.n_responded[c],
            "n_responded_treatment": self.n_responded[t],
            "responders_difference": self.responders_difference, "se_type": self.se_type,
        }
        return pd.DataFrame([row], columns=LEE_COLUMNS)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        c, t = self.control, self.treatment
        f = number
        lines = [
            f"Lee (2009) bounds on the effect of {t} vs {c} on {self.outcome}, for people who "
            "would respond in either arm",
            f"  response        {c} {_pct(self.response_rate[c])} ({self.n_responded[c]:,} of "
            f"{self.n_by_arm[c]:,}), {t} {_pct(self.response_rate[t])} "
            f"({self.n_responded[t]:,} of {self.n_by_arm[t]:,})",
        ]
        if self.trimmed_arm is None:
            lines.append("  trimming        none: equal response rates, the bounds are the "
                         "difference among responders")
        else:
            lines.append(
                f"  trimming        {_pct(self.trimming_proportion)} of {self.trimmed_arm}'s "
                "responders (the arm with the higher response rate), from the top for the "
                "lower bound and from the bottom for the upper"
            )
        how = ("analytic, Lee 2009 Prop. 3" if self.n_bootstrap is None
               else f"bootstrap, {self.n_bootstrap:,} draws within arms")
        lo, hi = self.conf_int()
        slo, shi = self.set_conf_int()
        lines += [
            f"  bounds          [{f(self.lower)}, {f(self.upper)}] (SE {f(self.se_lower)}, "
            f"{f(self.se_upper)}; {how})",
            f"  {level + ' CI':<16}[{f(lo)}, {f(hi)}] for the effect (Imbens & Manski 2004, "
            f"C = {self.critical_value():.3f})",
            f"  {level + ' set CI':<16}[{f(slo)}, {f(shi)}] for the identified set",
            f"  responders      difference in means {f(self.responders_difference)} (biased if "
            "response depends on the arm)",
        ]
        if self.tighten:
            lines.append(
                f"  tightened by    {', '.join(self.tighten)} ({len(self._cells):,} cells)")
        lines.extend(f"  note            {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<LeeBounds {self.outcome}: [{number(self.lower)}, {number(self.upper)}], "
                f"trimmed {self.trimmed_arm} {_pct(self.trimming_proportion)}>")

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The bounds (thick), the Imbens-Manski interval (thin) and the
        difference among responders (a dot)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 2))
        lo, hi = self.conf_int()
        ax.hlines(0, lo, hi, lw=1.2, color="grey",
                  label=f"{100 * (1 - self.alpha):g}% CI (Imbens-Manski)")
        ax.hlines(0, self.lower, self.upper, lw=6, color="C0", label="Lee bounds", **kwargs)
        ax.plot([self.responders_difference], [0], "o", color="C3", label="responders' difference")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks([])
        ax.set_xlabel(f"effect on {self.outcome} ({self.treatment} vs {self.control})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8,
                  frameon=False)
        return ax


def _imbens_manski_c(width: float, se_lower: float, se_upper: float, alpha: float) -> float:
    """Solve ``Phi(C + width / max(se)) - Phi(-C) = 1 - alpha`` (Imbens & Manski 2004, as
    Lee 2009 uses it): ``C`` runs from ``z_{1-alpha/2}`` (width 0) to ``z_{1-alpha}``."""
    z_one, z_two = float(stats.norm.ppf(1 - alpha)), float(stats.norm.ppf(1 - alpha / 2))
    s = max(se_lower, se_upper)
    if not s > 0:
        return z_one if width > 0 else z_two
    d = max(width, 0.0) / s

    def gap(c: float) -> float:
        return float(stats.norm.cdf(c + d) - stats.norm.cdf(-c) - (1 - alpha))

    if gap(z_one) >= 0:  # very wide set: C is z_{1-alpha} to machine precision
        return z_one
    return float(optimize.brentq(gap, z_one, z_two, xtol=1e-12))


@dataclass
class _Arms:
    """One arm's responders and cells (internal)."""

    y: np.ndarray  # outcome (anything where s is False)
    s: np.ndarray  # responded
    cell: np.ndarray  # cell codes


@dataclass
class _Theta:
    """``sum_x w_x (T_x - m_x)`` for one trimming side, with per-cell parts (internal)."""

    value: float
    variance: float
    cell_values: np.ndarray  # T_x - m_x (nan where the cell has no weight)
    weights: np.ndarray
    trim: np.ndarray  # p_x


def _trimmed(y_sorted: np.ndarray, kept: float, keep: str) -> tuple[float, float, np.ndarray]:
    """Mean of the lowest (``keep="bottom"``) or highest ``kept`` of the sorted values,
    the value at the trimming point and each value's weight (0 to 1).

    The observation at the trimming point keeps the fraction of its mass that
    makes the kept mass exactly ``kept``, so ties there are trimmed exactly.
    """
    n = len(y_sorted)
    rank = np.arange(n, dtype=float) if keep == "bottom" else np.arange(n - 1, -1, -1, dtype=float)
    w = np.clip(kept - rank, 0.0, 1.0)
    edge = math.ceil(kept - 1e-9) - 1  # last kept, in the order of trimming
    xi = float(y_sorted[edge] if keep == "bottom" else y_sorted[n - 1 - edge])
    return float(w @ y_sorted / kept), xi, w


def _theta(high: _Arms, low: _Arms, n_cells: int, keep: str, *, with_se: bool,
           func: str, labels: Sequence[str]) -> _Theta:
    """Trimmed-mean contrast of the trimmed ("high") arm with the other ("low") arm,
    and its influence-function variance (see :func:`lee_bounds` Notes)."""
    nh, nl = len(high.s), len(low.s)
    nh_c = np.bincount(high.cell, minlength=n_cells).astype(float)
    nl_c = np.bincount(low.cell, minlength=n_cells).astype(float)
    nhs_c = np.bincount(high.cell[high.s], minlength=n_cells).astype(float)
    nls_c = np.bincount(low.cell[low.s], minlength=n_cells).astype(float)
    qh_c = nhs_c / nh_c
    ql_c = nls_c / nl_c
    nls = float(nls_c.sum())
    ql = nls / nl
    w_c = nls_c / nls
    ysum_l = np.bincount(low.cell[low.s], weights=low.y[low.s], minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_c = ysum_l / nls_c
    T_c = np.full(n_cells, np.nan)
    p_c = np.zeros(n_cells)
    g_c = np.zeros(n_cells)
    if_h = np.zeros(nh)
    for c in range(n_cells):
        if w_c[c] == 0:
            continue
        if nhs_c[c] == 0:
            raise DesignError(
                f"{func}: cell {labels[c]} has responders in the arm with the lower response rate "
                "but none in the arm to be trimmed, which monotonicity rules out. Fix: use "
                "coarser tightening cells (fewer or merged categories in tighten=)."
            )
        in_c = high.cell == c
        resp = np.flatnonzero(in_c & high.s)
        order = resp[np.argsort(high.y[resp], kind="stable")]
        y_sorted = high.y[order]
        kept = nh_c[c] * nls_c[c] / nl_c[c]  # = n_hs (1 - p): the mass kept
        if abs(kept - round(kept)) < 1e-9 * max(1.0, kept):
            kept = float(round(kept))
        clipped = kept >= nhs_c[c]
        if clipped:
            kept = nhs_c[c]
        T, xi, _ = _trimmed(y_sorted, kept, keep)
        T_c[c] = T
        # p = 1 - r_low / r_high from whole counts (one rounding)
        num = nhs_c[c] * nl_c[c] - nh_c[c] * nls_c[c]
        p_c[c] = 0.0 if clipped else num / (nhs_c[c] * nl_c[c])
        if not with_se:
            continue
        if not clipped:
            g_c[c] = (T - xi) / (1.0 - p_c[c])  # dT/dp
        wins = np.minimum(y_sorted, xi) if keep == "bottom" else np.maximum(y_sorted, xi)
        # trimmed mean: (winsorised - its mean) / kept share; then the trimming share
        if_h[order] += w_c[c] * (wins - wins.mean()) * nh / kept
        if_h[in_c] += (w_c[c] * g_c[c] * (ql_c[c] / qh_c[c] ** 2)
                       * (high.s[in_c] - qh_c[c]) / (nh_c[c] / nh))
    diff_c = T_c - m_c
    value = float(np.nansum(w_c * np.where(w_c > 0, diff_c, 0.0)))
    variance = float("nan")
    if with_se:
        lc = low.cell
        d = np.where(w_c > 0, diff_c, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = np.where(w_c > 0, ql_c * g_c / (ql * qh_c), 0.0)
        y_l = np.where(low.s, low.y, 0.0)
        m_l = np.where(w_c > 0, m_c, 0.0)[lc]
        if_l = low.s * (d[lc] - value - (y_l - m_l)) / ql - coef[lc] * (low.s - ql_c[lc])
        variance = float(if_h @ if_h / nh**2 + if_l @ if_l / nl**2)
    return _Theta(value, variance, np.where(w_c > 0, diff_c, np.nan), w_c, p_c)


def _lee(treat: _Arms, ctrl: _Arms, n_cells: int, trim_treatment: bool, *, with_se: bool,
         func: str, labels: Sequence[str]) -> tuple[float, float, float, float, _Theta, _Theta]:
    """Effect bounds (lower, upper), their SEs and the two trimming sides."""
    high, low = (treat, ctrl) if trim_treatment else (ctrl, treat)
    bottom = _theta(high, low, n_cells, "bottom", with_se=with_se, func=func, labels=labels)
    top = _theta(high, low, n_cells, "top", with_se=with_se, func=func, labels=labels)
    if trim_treatment:  # effect = T(treated) - mean(control)
        return (bottom.value, top.value, math.sqrt(bottom.variance), math.sqrt(top.variance),
                bottom, top)
    # effect = mean(treated) - T(control): the largest control mean gives the lower bound
    return (-top.value, -bottom.value, math.sqrt(top.variance), math.sqrt(bottom.variance),
            top, bottom)


def lee_bounds(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    responded: Hashable | None = None,
    tighten: Sequence[Hashable] | None = None,
    trim: Literal["auto", "treatment", "control"] = "auto",
    alpha: float = 0.05,
    bootstrap: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> LeeBounds:
    r"""Lee (2009) bounds on the effect for always-responders when response differs by arm.

    Parameters
    ----------
    data
        One row per person randomised.
    outcome
        Numeric outcome, observed for responders.
    assigned
        Column with each person's arm.
    control, treatment
        Labels of the compared arms; ``treatment`` may be omitted when there
        is only one other arm.
    responded
        0/1 column: 1 if the outcome was observed. ``None``: responded means
        ``outcome`` is not missing. With it, ``outcome`` must be present for
        every responder (its values for non-responders are ignored).
    tighten
        Discrete baseline covariates whose cells (all combinations of their
        values) tighten the bounds (Lee 2009, Proposition 1b).
    trim
        Which arm's responders to trim. ``"auto"`` (default): the arm with the
        higher overall response rate, which monotonicity makes the arm whose
        responders include people who would not respond in the other arm.
        Naming an arm imposes the direction of monotonicity; cells where that
        arm's response rate is not the higher are not trimmed.
    alpha
        Level of the intervals.
    bootstrap
        Number of bootstrap draws for the standard errors (resampling people
        within each arm, the trimming direction held fixed); ``None``
        (default) uses the analytic standard errors. Needs ``seed``.
    seed
        An int or a ``numpy.random.Generator`` for the bootstrap.

    Returns
    -------
    LeeBounds

    Notes
    -----
    *Bounds* (Lee 2009, Proposition 1a). With random assignment and
    monotonic response (assignment moves everyone's response in the same
    direction), let the treatment arm respond more: :math:`r_T > r_C`. Then
    the treatment arm's responders are the always-responders plus a share

    .. math::

        p = \frac{r_T - r_C}{r_T}

    of others. Trimming that share from the top (bottom) of the treated
    responders' outcome distribution :math:`G` gives the smallest (largest)
    mean the always-responders can have, so

    .. math::

        \Delta^{LB} = \frac{1}{1 - p} \int_0^{1 - p} G^{-1}(u)\,du - \bar Y_{C,R},
        \qquad
        \Delta^{UB} = \frac{1}{1 - p} \int_p^{1} G^{-1}(u)\,du - \bar Y_{C,R}.

    For a continuous outcome the integrals are Lee's
    :math:`E[Y \mid T, R, Y \le y_{1-p}]` and :math:`E[Y \mid T, R, Y \ge
    y_p]`. With ties (many zero earnings), conditioning on
    :math:`Y \le y_{1-p}` would keep all of the tied mass at the quantile and
    trim too little; the quantile integral trims exactly the share
    :math:`p`: responders are sorted, the ``p n_{T,R}`` at the end are
    dropped, and the one at the trimming point keeps the fraction of its
    weight that makes the kept mass exactly :math:`(1 - p) n_{T,R}`. Which
    of several tied values is dropped does not matter. When the control arm
    responds more, its responders are trimmed and the bounds are
    :math:`\bar Y_{T,R}` minus the trimmed control means (the upper bound
    trims the control arm from the top).

    *Tightening* (Lee 2009, Proposition 1b). Within each cell :math:`x` of
    the ``tighten`` covariates the bounds are computed with the cell's own
    trimming share :math:`p_x = 1 - r_{C,x} / r_{T,x}` (zero where the
    trimmed arm's rate is not higher in the sample), and averaged with the
    always-responders' distribution of cells, which is that of the
    responders in the arm that responds less:

    .. math::

        \Delta^{LB}_X = \sum_x \Pr(X = x \mid C, R)\,
            \bigl(T^{LB}_x - \bar Y_{C,R,x}\bigr).

    *Standard errors* (Lee 2009, Proposition 3). Without tightening the
    variance of :math:`\hat\Delta^{LB}` is estimated by

    .. math::

        \frac{\sigma^2_{LB} + p (y_{1-p} - \mu_{LB})^2}{(1 - p)\, n_{T,R}}
        + \Bigl(\frac{y_{1-p} - \mu_{LB}}{1 - p}\Bigr)^2 \hat V(\hat p)
        + \frac{\sigma^2_{C,R}}{n_{C,R}},
        \quad
        \hat V(\hat p) = \Bigl(\frac{r_C}{r_T}\Bigr)^2
            \Bigl(\frac{1 - r_T}{n_T r_T} + \frac{1 - r_C}{n_C r_C}\Bigr),

    with :math:`\mu_{LB}` and :math:`\sigma^2_{LB}` the mean and variance of
    the kept responders, :math:`y_{1-p}` the trimming point and
    :math:`\sigma^2_{C,R}` the variance of the control responders' outcomes
    (divisor ``n``); the upper bound is the same with its own trimmed
    distribution and :math:`y_p`. The first term is the variance of a
    trimmed mean (the variance of the winsorised outcome over
    :math:`(1 - p)^2 n_{T,R}`; Stigler 1973, *Ann. Statist.* 1:472), the second the
    effect of estimating :math:`p`. With tightening the same influence
    functions are summed over cells, adding the sampling variation of the
    cell weights; without tightening this is exactly the formula above.
    Lee's Proposition 3 needs :math:`p > 0`; near :math:`p = 0` the bound
    is not differentiable and the bootstrap or the analytic SE are both
    approximations.

    *Intervals*. The Imbens & Manski (2004, *Econometrica* 72:1845)
    interval ``[lower - C se_lower, upper + C se_upper]``, with :math:`C`
    solving

    .. math::

        \Phi\Bigl(C + \frac{\hat\Delta^{UB} - \hat\Delta^{LB}}
            {\max(\hat\sigma_{LB}, \hat\sigma_{UB})}\Bigr) - \Phi(-C) = 1 - \alpha,

    covers the effect with probability at least :math:`1 - \alpha` (the
    interval Lee 2009 reports). ``set_conf_int()`` uses :math:`z_{1-\alpha/2}` on both
    sides and covers the whole identified set with probability at least
    :math:`1 - \alpha`.

    The standard errors assume individually randomised people (no clusters).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> arm = np.repeat(["control", "treatment"], 500)
    >>> y = rng.normal(size=1000) + 0.3 * (arm == "treatment")
    >>> responds = np.r_[np.arange(500) < 300, np.arange(500) < 400]  # 60% and 80%
    >>> df = pd.DataFrame({"arm": arm, "y": np.where(responds, y, np.nan)})
    >>> lb = lee_bounds(df, outcome="y", assigned="arm")
    >>> lb.trimmed_arm, lb.trimming_proportion
    ('treatment', 0.25)
    >>> lb.lower < lb.responders_difference < lb.upper
    True
    """
    func = "lee_bounds"
    data = check_data(data, func=func)
    alpha = check_alpha(alpha, func=func)
    trim = check_option(  # type: ignore[assignment]
        trim, ("auto", "treatment", "control"), param="trim", func=func)
    rng = None
    if bootstrap is not None:
        whole = isinstance(bootstrap, (int, np.integer)) and not isinstance(bootstrap, bool)
        if not whole or bootstrap < 2:
            raise OptionError(
                f"The 'bootstrap' parameter of {func} must be an int of at least 2 (the number of "
                f"draws) or None. Got {bootstrap!r} instead."
            )
        if seed is None:
            raise OptionError(
                f"The 'seed' parameter of {func} must be given with bootstrap=. Got None instead. "
                "Fix: pass a recorded integer, e.g. seed=20180501, so the result can be reproduced."
            )
        rng = check_seed(seed, func=func)
    cells_by = as_column_list(tighten)
    check_columns(data, [outcome], role="outcome", func=func)
    check_columns(data, [assigned], role="assigned", func=func)
    if responded is not None:
        check_columns(data, [responded], role="responded", func=func)
    check_columns(data, cells_by, role="tighten", func=func)
    keep, treatment = _compared_arms(data, assigned, control, treatment, func)
    sub = data.loc[keep]
    y_col = sub[outcome]
    if not (pd.api.types.is_numeric_dtype(y_col) or pd.api.types.is_bool_dtype(y_col)):
        raise ColumnError(
            f"{func}: column {outcome!r} (outcome) must be numeric; it has dtype {y_col.dtype}. "
            f"Fix: convert it, e.g. df[{outcome!r}].astype(float)."
        )
    if responded is None:
        s = y_col.notna().to_numpy(dtype=bool)
    else:
        s = _binary(sub[responded], responded, role="responded", func=func)
        no_y = s & y_col.isna().to_numpy()
        if no_y.any():
            first = sub.index[no_y][:5].tolist()
            raise MissingDataError(
                f"{func}: column {outcome!r} (outcome) is missing for {int(no_y.sum()):,} "
                f"responder(s) (rows with {responded!r} = 1; first at rows {_fmt_list(first, 5)}). "
                f"Fix: set {responded!r} to 0 for people whose outcome was not observed, or "
                "leave responded=None to treat a missing outcome as non-response."
            )
    y = y_col.to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(y[s])):
        raise ColumnError(
            f"{func}: column {outcome!r} (outcome) holds {int(np.sum(~np.isfinite(y[s]))):,} "
            "infinite value(s) among responders. Fix: replace them with finite values, or with "
            "NaN for people whose outcome was not observed."
        )
    for c in cells_by:
        check_no_missing(sub, c, role="tighten", func=func)
    z = (sub[assigned].astype("string") == treatment).to_numpy(dtype=bool)
    if cells_by:
        keys = sub[cells_by].astype("string")
        cell_index = (pd.MultiIndex.from_frame(keys) if len(cells_by) > 1
                      else pd.Index(keys.iloc[:, 0]))
        codes, uniques = pd.factorize(cell_index, sort=True)
        cell = np.asarray(codes, dtype=np.int64)
        labels = [", ".join(f"{col}={v}" for col, v in zip(cells_by, (u if isinstance(u, tuple)
                  else (u,)), strict=True)) for u in uniques]
    else:
        cell = np.zeros(len(sub), dtype=np.int64)
        labels = ["all"]
    n_cells = len(labels)
    for label, in_arm in ((str(control), ~z), (treatment, z)):
        if not s[in_arm].any():
            raise DesignError(
                f"{func}: nobody in the {label!r} arm has an observed {outcome!r}, so nothing "
                "bounds its mean. Fix: check the outcome and responded columns."
            )
        counts = np.bincount(cell[in_arm], minlength=n_cells)
        if np.any(counts == 0):
            empty = [labels[i] for i in np.flatnonzero(counts == 0)]
            raise DesignError(
                f"{func}: {len(empty):,} cell(s) of the tighten= covariates have nobody in the "
                f"{label!r} arm (e.g. {_fmt_list(empty[:3], 3)}), so their response rates cannot "
                "be compared. Fix: use coarser cells (fewer covariates or merged categories)."
            )

    treat = _Arms(y[z], s[z], cell[z])
    ctrl = _Arms(y[~z], s[~z], cell[~z])
    r_t, r_c = float(s[z].mean()), float(s[~z].mean())
    trim_treatment = r_t >= r_c if trim == "auto" else trim == "treatment"
    lower, upper, se_l, se_u, first, second = _lee(
        treat, ctrl, n_cells, trim_treatment, with_se=True, func=func, labels=labels)
    r_high, r_low = (r_t, r_c) if trim_treatment else (r_c, r_t)
    in_high = z if trim_treatment else ~z
    n_h, n_l = int(np.sum(in_high)), int(np.sum(~in_high))
    k_h, k_l = int(np.sum(s & in_high)), int(np.sum(s & ~in_high))
    # p = (r_high - r_low) / r_high = (k_h n_l - k_l n_h) / (k_h n_l), from whole counts
    p_overall = max(0.0, (k_h * n_l - k_l * n_h) / (k_h * n_l))
    trimmed_any = p_overall > 0 or bool(np.any(first.trim > 0))
    trimmed_arm = (treatment if trim_treatment else str(control)) if trimmed_any else None
    notes: list[str] = []
    if cells_by:
        flat = int(np.sum((first.trim == 0) & (first.weights > 0)))
        if flat:
            notes.append(f"{flat:,} of {n_cells:,} cells not trimmed (the trimmed arm's response "
                         "rate is not the higher there)")
    elif trim != "auto" and r_high < r_low:
        notes.append(f"trim={trim!r} names the arm with the lower response rate: nothing trimmed")

    se_type = "analytic"
    if rng is not None and bootstrap is not None:
        draws, failed = _bootstrap(treat, ctrl, n_cells, trim_treatment, int(bootstrap), rng,
                                   func=func, labels=labels)
        if failed:
            warnings.warn(
                f"{func}: {failed:,} of {int(bootstrap):,} bootstrap draws had a cell without the "
                "responders needed and were left out of the standard errors.",
                DegenerateDrawsWarning, stacklevel=2,
            )
            notes.append(f"{failed:,} bootstrap draws left out (a cell without responders)")
        if len(draws) < 2:
            raise DesignError(
                f"{func}: fewer than two bootstrap draws could be computed; the cells are too "
                "small. Fix: use coarser tighten= cells or the analytic standard errors."
            )
        se_l, se_u = (float(v) for v in np.std(draws, axis=0, ddof=1))
        se_type = "bootstrap"

    low_values = first.cell_values if trim_treatment else -first.cell_values
    high_values = second.cell_values if trim_treatment else -second.cell_values
    n_t_c = np.bincount(cell[z], minlength=n_cells)
    n_c_c = np.bincount(cell[~z], minlength=n_cells)
    cells = pd.DataFrame({
        "cell": labels, "weight": first.weights,
        "n_control": n_c_c.astype("int64"), "n_treatment": n_t_c.astype("int64"),
        "response_rate_control": np.bincount(cell[~z][s[~z]], minlength=n_cells) / n_c_c,
        "response_rate_treatment": np.bincount(cell[z][s[z]], minlength=n_cells) / n_t_c,
        "trimming_proportion": first.trim, "lower": low_values, "upper": high_values,
    }, columns=CELL_COLUMNS)
    return LeeBounds(
        outcome=str(outcome), treatment=treatment, control=str(control), lower=lower,
        upper=upper, se_lower=se_l, se_upper=se_u, alpha=alpha,
        trimming_proportion=p_overall if trimmed_arm is not None else 0.0,
        trimmed_arm=trimmed_arm,
        response_rate={str(control): r_c, treatment: r_t},
        n_by_arm={str(control): int(np.sum(~z)), treatment: int(np.sum(z))},
        n_responded={str(control): int(np.sum(s & ~z)), treatment: int(np.sum(s & z))},
        responders_difference=float(y[s & z].mean() - y[s & ~z].mean()),
        se_type=se_type, tighten=tuple(str(c) for c in cells_by),
        n_bootstrap=None if se_type == "analytic" else int(bootstrap or 0),
        notes=tuple(notes), _cells=cells,
    )


def _bootstrap(treat: _Arms, ctrl: _Arms, n_cells: int, trim_treatment: bool, draws: int,
               rng: np.random.Generator, *, func: str, labels: Sequence[str]
               ) -> tuple[np.ndarray, int]:
    """Bounds in ``draws`` resamples of people within each arm; the count that failed."""
    out = []
    failed = 0
    nt, nc = len(treat.s), len(ctrl.s)
    for _ in range(draws):
        it = rng.integers(0, nt, size=nt)
        ic = rng.integers(0, nc, size=nc)
        t = _Arms(treat.y[it], treat.s[it], treat.cell[it])
        c = _Arms(ctrl.y[ic], ctrl.s[ic], ctrl.cell[ic])
        ok = (np.all(np.bincount(t.cell, minlength=n_cells) > 0)
              and np.all(np.bincount(c.cell, minlength=n_cells) > 0) and t.s.any() and c.s.any())
        if not ok:
            failed += 1
            continue
        try:
            lo, hi, *_ = _lee(t, c, n_cells, trim_treatment, with_se=False, func=func,
                              labels=labels)
        except DesignError:
            failed += 1
            continue
        out.append((lo, hi))
    return np.asarray(out, dtype=float).reshape(-1, 2), failed
