"""Delta-adjusted multiple imputation: how far from missing at random must the
non-responders be before the trial's conclusion changes (the tipping point)?"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import brentq

from dwp_eval._validation import check_alpha
from dwp_eval.errors import OptionError
from dwp_eval.results.imputation import MultipleImputation, PooledEffect
from dwp_eval.results.tipping import TIPPING_COLUMNS, TippingPoint, tipping_frame

__all__ = ["TIPPING_COLUMNS", "TippingPoint", "tipping_point"]

FUNC = "tipping_point"


def tipping_point(
    imputation: MultipleImputation,
    estimator: Callable[..., Any],
    *,
    deltas: Sequence[float] | np.ndarray | None = None,
    arm: Any = None,
    column: Hashable | None = None,
    alpha: float = 0.05,
    **kwargs: Any,
) -> TippingPoint:
    """Pooled effects with the imputed values of ``column`` in ``arm`` shifted by each
    delta, and the delta at which the conclusion changes.

    Parameters
    ----------
    imputation
        From :func:`dwp_eval.multiple_imputation`.
    estimator, kwargs
        As :meth:`MultipleImputation.fit`, e.g. ``dwp_eval.itt, outcome="y"``.
    deltas
        Shifts to evaluate (0 is always added). For ``pmm`` and ``norm`` in the
        column's units; for ``logreg`` on the log-odds scale. Default: 21 points
        from -2 to 2 standard deviations of the column's observed values (``-4`` to
        ``4`` on the log-odds scale).
    arm
        The arm whose imputed values are shifted; default the estimator's treatment arm.
    column
        The imputed column to shift (may be left out when one column was imputed).
    alpha
        Level at which the conclusion is judged (``p < alpha``); also passed to the
        estimator.

    Notes
    -----
    Delta adjustment (Rubin 1987, ch. 6; van Buuren 2018, sec. 3.8; Carpenter &
    Kenward 2013, ch. 10; Ratitch, O'Kelly & Tosiello 2013): the imputed values of
    non-responders in one arm are assumed to differ by ``delta`` from those of
    responders like them, every completed dataset is re-analysed and pooled by
    Rubin's rules, and the tipping point is the ``delta`` at which the pooled
    p-value crosses ``alpha``, refined by Brent's method between the two grid
    points that bracket the change. The same imputation draws are used at every
    delta, so the pooled effect changes smoothly (pmm, norm) with delta.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import dwp_eval as de
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"arm": np.repeat(["control", "treatment"], 150),
    ...                    "x": rng.normal(size=300)})
    >>> df["y"] = 0.6 * (df["arm"] == "treatment") + df["x"] + rng.normal(size=300)
    >>> df.loc[rng.random(300) < 0.25, "y"] = np.nan
    >>> mi = de.multiple_imputation(df, impute="y", using="x", assigned="arm", m=5, seed=3)
    >>> tp = de.tipping_point(mi, de.itt, outcome="y", covariates=["x"])
    >>> bool(tp.tipping_delta < 0)
    True
    """
    if not isinstance(imputation, MultipleImputation):
        raise OptionError(f"{FUNC}: imputation must be a MultipleImputation (from "
                          f"dwp_eval.multiple_imputation). Got {type(imputation).__name__} instead.")
    alpha = check_alpha(alpha, func=FUNC)
    col = imputation._shift_column(column)
    try:
        takes_alpha = "alpha" in inspect.signature(estimator).parameters
    except (TypeError, ValueError):
        takes_alpha = False
    if takes_alpha:
        kwargs = {**kwargs, "alpha": alpha}
    base = imputation.fit(estimator, **kwargs)
    if arm is None:
        if not base.treatment:
            raise OptionError(f"{FUNC}: the estimator's result names no treatment arm. Fix: pass "
                              "arm= (the arm whose imputed values are shifted).")
        arm = base.treatment
    logreg = imputation.method == "logreg"
    if deltas is None:
        if logreg:
            grid = np.linspace(-4.0, 4.0, 21)
        else:
            observed = imputation._data[col].dropna().to_numpy(dtype=float)
            sd = float(np.std(observed, ddof=1)) if observed.size > 1 else 1.0
            grid = np.linspace(-2.0, 2.0, 21) * (sd if sd > 0 else 1.0)
    else:
        grid = np.asarray(deltas, dtype=float).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)):
            raise OptionError(f"{FUNC}: deltas must be finite numbers. Got {deltas!r} instead.")
    grid = np.unique(np.append(grid, 0.0))

    cache: dict[float, PooledEffect] = {0.0: base}

    def pooled(delta: float) -> PooledEffect:
        if delta not in cache:
            cache[delta] = imputation.shift(delta, arm=arm, column=col).fit(
                estimator, **kwargs)
        return cache[delta]

    signif = {float(d): pooled(float(d)).p_value < alpha for d in grid}
    tips: list[float] = []
    for lo, hi in itertools.pairwise(grid):
        if signif[float(lo)] != signif[float(hi)]:
            try:
                root = brentq(lambda d: pooled(float(d)).p_value - alpha, lo, hi,
                              xtol=1e-8 * max(1.0, abs(hi - lo)), maxiter=100)
            except ValueError:  # a step (logreg): the grid point where it flips
                root = hi if abs(hi) < abs(lo) else lo
            tips.append(float(root))
            pooled(float(root))
    rows = []
    for d, res in cache.items():
        rows.append({"delta": d, "estimate": res.estimate, "std_error": res.std_error,
                     "statistic": res.statistic, "p_value": res.p_value, "conf_low": res.conf_low,
                     "conf_high": res.conf_high, "df": res.df, "fmi": res.fmi,
                     "significant": res.p_value < alpha, "tipping": d in tips})
    nearest = min(tips, key=abs) if tips else math.nan
    return TippingPoint(
        _frame=tipping_frame([r for r in rows if r["delta"] in set(grid) | set(tips)]),
        estimand=base.estimand, outcome=base.outcome, column=col, arm=str(arm),
        treatment=base.treatment, control=base.control, alpha=alpha, m=imputation.m,
        method=imputation.method, scale="log-odds" if logreg else "outcome",
        tipping_delta=nearest, tipping_deltas=tuple(sorted(tips, key=abs)),
        significant_at_zero=bool(base.p_value < alpha), binary_outcome=base.binary_outcome,
    )
