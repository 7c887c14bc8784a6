r"""Lee (2009) trimming bounds: the effect on an outcome observed only for responders,
for the people who would respond whichever arm they were in, when response differs
by arm (:func:`lee_bounds`; Lee 2009, *Review of Economic Studies* 76:1071).

:func:`dwp_eval.attrition` tests whether response differs by arm; the bounds
trim the responders of the arm that responds more, from the top for the lower
bound and from the bottom for the upper.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from dwp_eval._core.sample import check_magnitude
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_alpha,
    check_columns,
    check_data,
    check_no_missing,
    check_option,
    check_seed,
)
from dwp_eval.errors import (
    ColumnError,
    DegenerateDrawsWarning,
    DesignError,
    MissingDataError,
    OptionError,
)
from dwp_eval.monitor._checks import responded_values, response_arms
from dwp_eval.results.attrition import CELL_COLUMNS, LEE_COLUMNS, LeeBounds

__all__ = ["CELL_COLUMNS", "LEE_COLUMNS", "LeeBounds", "lee_bounds"]


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
    keep, treatment = response_arms(data, assigned, control, treatment, func=func)
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
        s = responded_values(sub[responded], responded, func=func)
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
    check_magnitude(y[s], sub.index[s], outcome, role="outcome", func=func)
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
