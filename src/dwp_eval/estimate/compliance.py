"""Who complies and what if controls' provision differs: the baseline profile of
compliers, always-takers and never-takers (:func:`complier_profile`), and the
CACE under assumptions about how much control-arm provision works like the
programme (:func:`contamination_sensitivity`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from dwp_eval._core.sample import prepare_sample
from dwp_eval._core.variance import resolve_se_type
from dwp_eval._core.wald import t_interval
from dwp_eval._validation import (
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_no_missing,
)
from dwp_eval.errors import DesignError, OptionError
from dwp_eval.estimate.cace import _check_first_stage, _fit_iv, _received_values
from dwp_eval.results import SENSITIVITY_COLUMNS, SensitivityTable

__all__ = ["complier_profile", "contamination_sensitivity"]


def complier_profile(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    received: Hashable,
    covariates: Sequence[Hashable],
    control: str = "control",
    treatment: str | None = None,
) -> pd.DataFrame:
    """Baseline means of compliers, always-takers and never-takers ("who took up").

    Parameters
    ----------
    data
        One row per person.
    assigned, received
        The arm and the 0/1 receipt column, as in :func:`cace`.
    covariates
        Baseline covariates. Numeric and 0/1 columns give one row each; text or
        categorical columns one row per category (the share in that category).
    control, treatment
        Labels of the compared arms.

    Returns
    -------
    pandas.DataFrame
        Columns ``covariate, compliers, always_takers, never_takers, all``; the
        shares of the three groups are in ``attrs["shares"]``.

    Notes
    -----
    Under monotonicity the always-takers are the controls who received
    (share ``p_C``), the never-takers the treated who did not (share
    ``1 - p_T``) and the rest are compliers (share ``p_T - p_C``). The
    always-taker mean is the mean among controls with ``D = 1``, the
    never-taker mean the mean among the treatment arm with ``D = 0``, and the
    complier mean is Abadie's (2003, *J. Econometrics* 113:231, Lemma 3.1)
    kappa-weighted mean ``sum(kappa_i x_i) / sum(kappa_i)`` with
    ``kappa_i = 1 - D_i (1 - Z_i) / (1 - p) - (1 - D_i) Z_i / p`` and ``p``
    the share assigned to treatment.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 4,
    ...                    "d": [0, 1, 1, 1, 0, 0, 0, 1], "age": [30, 40, 50, 20, 30, 60, 40, 30]})
    >>> complier_profile(df, assigned="arm", received="d", covariates=["age"]).round(2)
      covariate  compliers  always_takers  never_takers   all
    0       age       20.0           50.0          60.0  37.5
    """
    func = "complier_profile"
    covs = as_column_list(covariates)
    if not covs:
        raise OptionError(
            f"The 'covariates' parameter of {func} must name at least one column. Got {covariates!r} instead."
        )
    data = check_data(data, func=func)
    check_columns(data, [received], role="received", func=func)
    check_columns(data, covs, role="covariates", func=func)
    check_no_missing(data, received, role="received", func=func)
    _received_values(data, received, func)
    for col in covs:
        check_no_missing(data, col, role="covariates", func=func)
    prep, frame = prepare_sample(
        data, outcome=received, assigned=assigned, control=control, treatment=treatment,
        covariates=[], strata=None, cluster=None, weights=None, missing="raise", func=func,
    )
    d = _received_values(frame, received, func)
    z = prep.z
    p_t, p_c = _check_first_stage(d, z, received, prep.treatment, prep.control, func)
    p = float(z.mean())
    kappa = 1 - d * (1 - z) / (1 - p) - (1 - d) * z / p
    rows = []
    for c in covs:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts = [(str(c), s.to_numpy(dtype=float))]
        else:
            txt = s.astype(str).to_numpy()
            parts = [(f"{c}[{lev}]", (txt == lev).astype(float)) for lev in sorted(set(txt))]
        for name, x in parts:
            always = x[(z == 0) & (d == 1)]
            never = x[(z == 1) & (d == 0)]
            rows.append({
                "covariate": name,
                "compliers": float(np.sum(kappa * x) / np.sum(kappa)),
                "always_takers": float(always.mean()) if len(always) else float("nan"),
                "never_takers": float(never.mean()) if len(never) else float("nan"),
                "all": float(x.mean()),
            })
    out = pd.DataFrame(rows, columns=["covariate", "compliers", "always_takers", "never_takers", "all"])
    out.attrs["shares"] = {"compliers": p_t - p_c, "always_takers": p_c, "never_takers": 1 - p_t}
    return out


def contamination_sensitivity(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    received: Hashable,
    contaminated: Hashable,
    theta: Sequence[float] | np.ndarray | None = None,
    control: str = "control",
    treatment: str | None = None,
    covariates: Sequence[Hashable] | None = None,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    se_type: str | None = None,
    alpha: float = 0.05,
) -> SensitivityTable:
    """The programme's effect if similar provision received by controls was only a
    fraction ``theta`` as effective as the programme.

    Parameters
    ----------
    data, outcome, assigned, received, control, treatment, covariates, strata, cluster, se_type, alpha
        As in :func:`cace`.
    contaminated
        0/1 column: the person received similar provision rather than the
        programme (:func:`dwp_eval.flag_contamination`'s ``contaminated``).
    theta
        Relative effectiveness of the similar provision, each in [0, 1]
        (default ``numpy.linspace(0, 1, 11)``).

    Returns
    -------
    SensitivityTable
        One row per ``theta``: the effect, its t interval and Anderson-Rubin set.

    Notes
    -----
    If similar provision has a fraction ``theta`` of the programme's effect,
    the exclusion restriction holds for the dose ``D_theta = theta`` for the
    contaminated and ``D_theta = received`` for everyone else, and the 2SLS
    estimate with that dose is

        CACE_theta = ITT / (p_T - theta * p_C)

    without covariates, with ``p_C`` the share of contaminated controls (and
    no other control-arm receipt). ``theta = 1`` is :func:`cace` with
    ``received`` counting the contaminated; ``theta = 0`` treats their
    provision as ineffective (Bloom's ITT / ``p_T``). This is how to
    "account for" contamination in the sense the NAO asked of the Work and
    Health Programme trial.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 6,
    ...                    "took_up": [0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1],
    ...                    "contaminated": [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ...                    "y": [1.0, 3.0, 2.0, 4.0, 3.0, 3.0, 2.0, 1.0, 1.0, 4.0, 2.0, 3.0]})
    >>> tab = contamination_sensitivity(df, outcome="y", assigned="arm", received="took_up",
    ...                                 contaminated="contaminated", theta=[0, 1])
    >>> tab.to_frame()["estimate"].round(3).tolist()
    [1.4, 1.75]
    """
    func = "contamination_sensitivity"
    alpha = check_alpha(alpha, func=func)
    thetas = np.linspace(0, 1, 11) if theta is None else np.atleast_1d(np.asarray(theta, dtype=float))
    if thetas.ndim != 1 or len(thetas) == 0 or not np.all((thetas >= 0) & (thetas <= 1)):
        raise OptionError(
            f"The 'theta' parameter of {func} must be numbers in [0, 1]. Got {theta!r} instead."
        )
    covs = as_column_list(covariates)
    data = check_data(data, func=func)
    check_columns(data, [received], role="received", func=func)
    check_columns(data, [contaminated], role="contaminated", func=func)
    used = resolve_se_type(se_type, clustered=cluster is not None, func=func)
    prep, frame = prepare_sample(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        covariates=covs, strata=strata, cluster=cluster, weights=None, missing="raise",
        func=func, extra=[received, contaminated],
    )
    d = _received_values(frame, received, func)
    c = _received_values(frame, contaminated, func)
    rows = []
    itt_row = (float("nan"), float("nan"))  # the same at every theta: the reduced form
    for th in thetas:
        dose = np.where(c == 1, th, d)
        p_t, p_c = float(dose[prep.z == 1].mean()), float(dose[prep.z == 0].mean())
        if abs(p_t - p_c) <= 1e-12:
            raise DesignError(
                f"{func}: at theta = {th:g} the CACE is not identified: the share receiving "
                f"(counting contaminated controls as {th:g}) is {100 * p_t:.1f}% in both arms. "
                "Fix: leave that theta out."
            )
        fit = _fit_iv(prep, dose, used, alpha=alpha, func=func)
        lo, hi = t_interval(fit.estimate, fit.std_error, fit.df, alpha)
        itt_row = (fit.rf_coef, fit.rf_se)
        rows.append({
            "theta": float(th), "estimate": fit.estimate, "std_error": fit.std_error,
            "conf_low": lo, "conf_high": hi, "ar_low": fit.ar.low, "ar_high": fit.ar.high,
            "ar_kind": fit.ar.kind, "first_stage": fit.fs_coef, "df": fit.df,
        })
    return SensitivityTable(
        _frame=pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS), outcome=str(outcome),
        treatment=prep.treatment, control=prep.control, itt=itt_row[0],
        itt_std_error=itt_row[1], take_up_treatment=float(d[prep.z == 1].mean()),
        contaminated_control=float(c[prep.z == 0].mean()), alpha=alpha, se_type=used,
        binary_outcome=prep.binary,
    )
