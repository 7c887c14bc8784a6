"""Monitoring contamination and take-up while the trial runs: rates by arm, site,
month of randomisation or work coach, with Wilson (1927) intervals and an optional
tolerated rate (:func:`contamination_summary`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from dwp_eval._core.proportion import wilson_interval
from dwp_eval._validation import (
    _fmt_list,
    arm_keys,
    as_column_list,
    binary_values,
    check_alpha,
    check_columns,
    check_data,
    check_no_missing,
    check_unique_columns,
    label_key,
)
from dwp_eval.errors import ColumnError, OptionError
from dwp_eval.monitor._records import checked_days
from dwp_eval.results.contamination import ContaminationSummary

__all__ = ["contamination_summary", "wilson_interval"]


def _binary(data: pd.DataFrame, column: Hashable, func: str) -> np.ndarray:
    check_no_missing(data, column, role="flag", func=func)
    s = data[column]
    return binary_values(s, column, role="flag", func=func,
                         example=f"(df[{column!r}] > 0).astype(int)")


def contamination_summary(
    flags: pd.DataFrame,
    *,
    by: Hashable | Sequence[Hashable] | None = ("arm",),
    alpha: float = 0.05,
    threshold: float | None = None,
    flag: Hashable | None = None,
    randomised: Hashable | None = None,
) -> ContaminationSummary:
    """Rates with Wilson intervals by arm, site, month of randomisation or work coach.

    Parameters
    ----------
    flags
        The result of :func:`flag_contamination` or :func:`take_up` (or any
        frame with a 0/1 column), with any grouping columns (e.g. through
        ``keep=``).
    by
        Grouping columns. ``"month"``, when not a column, is the month of
        randomisation, taken from the ``randomised`` column. ``None`` or
        ``()``: one overall row.
    alpha
        Intervals have level ``1 - alpha``.
    threshold
        A tolerated rate (e.g. ``0.05``): groups above it are marked
        (``above_threshold``), and those whose whole interval lies above it
        (``significantly_above``), for monitoring during the trial.
    flag
        The 0/1 column to summarise. ``None``: receipt of similar provision
        (``contaminated`` or ``also_received``; in the control arm that is the
        contamination rate) for :func:`flag_contamination` output, ``received``
        for :func:`take_up` output.
    randomised
        Column with the date of randomisation, for ``"month"``; ``None``: the
        one recorded by the function that made ``flags``, else
        ``"randomised_on"``.

    Returns
    -------
    ContaminationSummary
        ``to_frame()``, ``summary()``, ``conf_int(alpha)``, ``above()`` and
        ``plot()`` (rate over time by site with ``by=("site", "month")``).

    Notes
    -----
    Wilson (1927) score intervals; see :func:`wilson_interval`. Groups are
    monitored one by one: with many sites and months some will cross a
    threshold by chance, which is why ``significantly_above`` is reported
    next to ``above_threshold``.

    Examples
    --------
    >>> import pandas as pd
    >>> flags = pd.DataFrame({"arm": ["control"] * 4 + ["treatment"] * 4,
    ...                       "contaminated": [1, 0, 0, 0, 0, 0, 0, 0],
    ...                       "also_received": [0, 0, 0, 0, 1, 1, 0, 0]})
    >>> s = contamination_summary(flags, threshold=0.3)
    >>> s.to_frame()[["arm", "n", "n_flagged", "rate", "above_threshold"]]
             arm  n  n_flagged  rate  above_threshold
    0    control  4          1  0.25            False
    1  treatment  4          2  0.50             True
    """
    func = "contamination_summary"
    flags = check_data(flags, func=func, param="flags", allow_empty=False)
    check_unique_columns(flags, func=func, param="flags")
    alpha = check_alpha(alpha, func=func)
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.floating))
        or not 0.0 <= float(threshold) <= 1.0
    ):
        raise OptionError(
            f"The 'threshold' parameter of {func} must be a rate in [0, 1] or None. "
            f"Got {threshold!r} instead."
        )
    settings = flags.attrs.get("settings", {}) if isinstance(flags.attrs.get("settings"), dict) else {}
    if flag is None:
        if "contaminated" in flags.columns and "also_received" in flags.columns:
            y = _binary(flags, "contaminated", func) | _binary(flags, "also_received", func)
            flag_name, label = "contaminated|also_received", "receipt of similar provision"
            arm_col, control = settings.get("assigned"), settings.get("control")
            if arm_col in flags.columns and control is not None and bool(
                (arm_keys(flags[arm_col]) == label_key(control)).fillna(False).all()
            ):
                label = "contamination"  # control arm only: receipt of similar provision is contamination
        elif "received" in flags.columns:
            y = _binary(flags, "received", func)
            flag_name, label = "received", "take-up"
        elif "contaminated" in flags.columns:
            y = _binary(flags, "contaminated", func)
            flag_name, label = "contaminated", "contamination"
        else:
            raise ColumnError(
                f"{func}: flags has none of the columns 'contaminated', 'also_received', "
                f"'received'. Columns present: {_fmt_list(list(flags.columns))}. Fix: pass the "
                f"output of flag_contamination or take_up, or name the 0/1 column in flag=."
            )
    else:
        check_columns(flags, [flag], role="flag", func=func, param="flags")
        y = _binary(flags, flag, func)
        flag_name, label = str(flag), {"received": "take-up", "contaminated": "contamination"}.get(
            str(flag), f"{flag} rate"
        )
    by_cols = [] if by is None else as_column_list(by)
    frame = pd.DataFrame(index=flags.index)
    for c in by_cols:
        if c in flags.columns:
            check_no_missing(flags, c, role="by", func=func)
            frame[c] = flags[c]
        elif c == "month":
            rcol = randomised if randomised is not None else settings.get("randomised", "randomised_on")
            if rcol not in flags.columns:
                raise ColumnError(
                    f"{func}: by='month' is the month of randomisation, but column {rcol!r} "
                    f"(randomised) is not in flags. Columns present: {_fmt_list(list(flags.columns))}. "
                    f"Fix: pass randomised= with the date-of-randomisation column."
                )
            dates, _ = checked_days(flags, rcol, role="randomised", func=func, param="flags")
            frame["month"] = dates.dt.to_period("M")
        else:
            check_columns(flags, [c], role="by", func=func, param="flags")
    frame["_y"] = y.astype(np.int64)
    keys = [str(c) if not isinstance(c, str) else c for c in by_cols]
    if by_cols:
        grouped = frame.groupby(by_cols, sort=True, observed=True)["_y"].agg(["size", "sum"]).reset_index()
    else:
        grouped = pd.DataFrame({"size": [len(frame)], "sum": [int(frame["_y"].sum())]})
    n = grouped["size"].to_numpy(dtype=np.int64)
    k = grouped["sum"].to_numpy(dtype=np.int64)
    lo, hi = wilson_interval(k, n, alpha)
    out = grouped[by_cols].copy() if by_cols else pd.DataFrame(index=range(1))
    out["n"] = n
    out["n_flagged"] = k
    out["rate"] = k / n
    out["conf_low"] = lo
    out["conf_high"] = hi
    out["alpha"] = alpha
    out["threshold"] = float(threshold) if threshold is not None else np.nan
    if threshold is not None:
        out["above_threshold"] = pd.array(k / n > threshold, dtype="boolean")
        out["significantly_above"] = pd.array(lo > threshold, dtype="boolean")
    else:
        out["above_threshold"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["significantly_above"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out = out.reset_index(drop=True)
    return ContaminationSummary(
        out,
        tuple(keys),
        flag_name,
        label,
        alpha,
        float(threshold) if threshold is not None else None,
        int(n.sum()),
        int(k.sum()),
    )
