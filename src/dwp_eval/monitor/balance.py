"""Baseline balance tables."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    check_columns,
    check_data,
    check_no_missing,
)
from dwp_eval.errors import ColumnError, DesignError
from dwp_eval.results import BALANCE_COLUMNS, BalanceTable

__all__ = ["balance"]


def _expand(data: pd.DataFrame, covariates: Sequence[Hashable], func: str) -> pd.DataFrame:
    """Numeric matrix of covariates: numbers and 0/1 as they are, categories as dummies."""
    cols: dict[str, np.ndarray] = {}
    for c in covariates:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols[str(c)] = s.to_numpy(dtype=float)
        elif isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            levels = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.astype(str).unique())
            txt = s.astype(str)
            for lev in levels:
                cols[f"{c}={lev}"] = (txt == str(lev)).to_numpy(dtype=float)
        else:
            raise ColumnError(
                f"{func}: column {c!r} (covariates) has dtype {s.dtype}, which is neither numeric "
                "nor categorical. Fix: convert it to numbers or categories."
            )
    return pd.DataFrame(cols, index=data.index)


def balance(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    covariates: Sequence[Hashable],
    control: str = "control",
    threshold: float = 0.1,
) -> BalanceTable:
    """Baseline balance: means and SDs by arm, standardised differences, variance ratios.

    Parameters
    ----------
    data
        One row per person.
    assigned
        Column with each person's arm.
    covariates
        Baseline columns; numeric and 0/1 columns are summarised as they are,
        text or categorical columns as the share in each category.
    control
        The control arm's label; every other arm is compared with it.
    threshold
        |standardised difference| flagged in the summary (0.1 is the usual rule of thumb).

    Notes
    -----
    The standardised difference is ``(mean_arm - mean_control) /
    sqrt((s_arm^2 + s_control^2) / 2)`` with sample variances (Austin 2009,
    *Statistics in Medicine* 28:3083, eq. 1 and 2); the variance ratio is
    ``s_arm^2 / s_control^2`` (Imbens & Rubin 2015, ch. 14).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 3, "age": [30, 32, 40, 40, 50, 48]})
    >>> bt = balance(df, assigned="arm", covariates=["age"])
    >>> round(float(bt.to_frame()["std_diff"].iloc[0]), 4)
    0.0
    """
    func = "balance"
    data = check_data(data, func=func)
    covs = as_column_list(covariates)
    if not covs:
        raise ColumnError(f"{func}: name at least one covariate in covariates=.")
    check_columns(data, [assigned], role="assigned", func=func)
    check_columns(data, covs, role="covariates", func=func)
    check_no_missing(data, assigned, role="assigned", func=func)
    for c in covs:
        check_no_missing(data, c, role="covariates", func=func)
    arm_values = data[assigned].astype(str)
    arms = list(data[assigned].cat.categories) if isinstance(data[assigned].dtype, pd.CategoricalDtype) else sorted(arm_values.unique())
    arms = [str(a) for a in arms]
    if control not in arms:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms)}. Fix: pass control= with the control arm's label."
        )
    x = _expand(data, covs, func)
    rows = []
    groups = {a: x[(arm_values == a).to_numpy()] for a in arms}
    n_by_arm = {a: len(g) for a, g in groups.items()}
    c = groups[control]
    mc, sc = c.mean(), c.std(ddof=1)
    for a in arms:
        if a == control:
            continue
        g = groups[a]
        if len(g) == 0:
            continue
        ma, sa = g.mean(), g.std(ddof=1)
        pooled = np.sqrt((sa**2 + sc**2) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.where(pooled > 0, (ma - mc) / pooled, 0.0)
            vr = np.where(sc > 0, sa**2 / sc**2, np.nan)
        for j, col in enumerate(x.columns):
            rows.append(
                {
                    "covariate": col,
                    "arm": a,
                    "n_control": len(c),
                    "n_arm": len(g),
                    "mean_control": float(mc.iloc[j]),
                    "mean_arm": float(ma.iloc[j]),
                    "sd_control": float(sc.iloc[j]),
                    "sd_arm": float(sa.iloc[j]),
                    "std_diff": float(sd[j]),
                    "variance_ratio": float(vr[j]),
                }
            )
    frame = pd.DataFrame(rows, columns=BALANCE_COLUMNS)
    return BalanceTable(frame, control, tuple(arms), tuple(str(c) for c in covs), n_by_arm, threshold)
