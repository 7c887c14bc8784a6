"""Multiply imputed data (:class:`MultipleImputation`) and an effect pooled over
them by Rubin's rules (:class:`PooledEffect`).

:class:`MultipleImputation` keeps one private, read-only copy of the data and,
for each imputed column, the ``m`` draws for its missing rows; a completed
dataset is built when asked for. :meth:`MultipleImputation.fit` runs an
estimator on every completed dataset and pools its estimate and standard error
(:func:`dwp_eval._core.pooling.rubin_pool`). :meth:`MultipleImputation.shift`
gives the delta-adjusted imputations of a tipping-point analysis.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit

from dwp_eval._core.contract import IntervalEnds, ResultMixin
from dwp_eval._core.format import df_text, number, percent
from dwp_eval._core.pooling import rubin_pool
from dwp_eval._core.wald import t_interval, t_p_value
from dwp_eval._validation import check_alpha, label_key
from dwp_eval.errors import ColumnError, OptionError

__all__ = ["IMPUTATION_COLUMNS", "POOLED_COLUMNS", "MultipleImputation", "PooledEffect"]

#: Columns of :meth:`MultipleImputation.to_frame`: one row per imputed column and arm.
IMPUTATION_COLUMNS = ["column", "arm", "n", "n_missing", "share_missing", "method", "m"]

#: Columns of :meth:`PooledEffect.to_frame`.
POOLED_COLUMNS = [
    "estimand", "outcome", "term", "estimate", "std_error", "statistic", "p_value", "conf_low",
    "conf_high", "df", "alpha", "n_obs", "m", "within_variance", "between_variance",
    "total_variance", "riv", "lambda", "fmi", "df_complete", "method", "se_type", "delta",
]

_NEEDED = ("estimate", "std_error")


class _Parts(NamedTuple):
    """An estimate, its standard error and df on the scale Rubin's rules pool."""

    estimate: float
    std_error: float
    df: float


@dataclass(frozen=True, eq=False, repr=False)
class PooledEffect(IntervalEnds, ResultMixin):
    """An effect estimated on each of ``m`` completed datasets and pooled by Rubin's
    rules, with Barnard & Rubin (1999) degrees of freedom.

    Attributes
    ----------
    estimate, std_error, df
        ``Qbar``, ``sqrt(T)`` and the Barnard-Rubin degrees of freedom; the
        interval and p-value use a t distribution with ``df`` degrees of freedom.
    within_variance, between_variance, total_variance
        ``Ubar``, ``B`` and ``T = Ubar + (1 + 1/m) B`` (Rubin 1987, eq. 3.1.3-3.1.5).
    riv, lambda_, fmi
        The relative increase in variance due to nonresponse, the proportion of
        the variance due to the missing data, and the fraction of missing
        information (as R ``mice::pool``: riv, lambda, fmi).
    df_complete
        The complete-data degrees of freedom (the smallest ``df`` the estimator
        reported over the completed datasets).
    estimates, std_errors
        The estimate and standard error from each completed dataset.
    scale
        For an estimator with several scales (:func:`~dwp_eval.binary_effect` with one
        ``scale=``): the scale pooled, ``"log odds_ratio"`` or ``"log risk_ratio"``
        for a ratio (pooled, tested and given its interval on the log scale: take
        ``exp`` of the estimate and of the interval's ends for the ratio) or
        ``"risk_difference"``; ``""`` otherwise.
    delta, shifted_arm, shifted_column
        For a delta-adjusted (tipping-point) analysis: the shift added to the
        imputed values of ``shifted_column`` in ``shifted_arm``; ``0.0`` and
        ``None`` otherwise.
    """

    estimand: str
    outcome: str
    treatment: str
    control: str
    estimate: float
    std_error: float
    df: float
    alpha: float
    m: int
    within_variance: float
    between_variance: float
    total_variance: float
    riv: float
    lambda_: float
    fmi: float
    df_complete: float
    n_obs: int
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    method: str
    se_type: str = ""
    imputed: tuple[str, ...] = ()
    delta: float = 0.0
    shifted_arm: str | None = None
    shifted_column: str | None = None
    binary_outcome: bool = False
    scale: str = ""

    @property
    def statistic(self) -> float:
        return self.estimate / self.std_error if self.std_error > 0 else float("nan")

    @property
    def p_value(self) -> float:
        return t_p_value(self.statistic, self.df)

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: ``Qbar -/+ t_{1 - alpha/2, df} sqrt(T)`` (default: the result's alpha)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="PooledEffect.conf_int")
        return t_interval(self.estimate, self.std_error, self.df, a)

    def imputations_frame(self) -> pd.DataFrame:
        """The estimate and standard error from each completed dataset
        (``imputation, estimate, std_error``)."""
        return pd.DataFrame({"imputation": np.arange(1, self.m + 1),
                             "estimate": list(self.estimates), "std_error": list(self.std_errors)})

    def to_frame(self) -> pd.DataFrame:
        row = {
            "estimand": self.estimand, "outcome": self.outcome,
            "term": f"{self.treatment} vs {self.control}", "estimate": self.estimate,
            "std_error": self.std_error, "statistic": self.statistic, "p_value": self.p_value,
            "conf_low": self.conf_low, "conf_high": self.conf_high, "df": self.df,
            "alpha": self.alpha, "n_obs": self.n_obs, "m": self.m,
            "within_variance": self.within_variance, "between_variance": self.between_variance,
            "total_variance": self.total_variance, "riv": self.riv, "lambda": self.lambda_,
            "fmi": self.fmi, "df_complete": self.df_complete, "method": self.method,
            "se_type": self.se_type, "delta": self.delta,
        }
        return pd.DataFrame([row], columns=POOLED_COLUMNS)

    def _fmt(self, v: float) -> str:
        return f"{100 * v:.2f} pp" if self.binary_outcome else number(v)

    def _of(self) -> str:
        arms = f" of {self.treatment} vs {self.control}" if self.treatment else ""
        return arms + (f" on {self.outcome}" if self.outcome else "")

    def summary(self) -> str:
        lo, hi = self.interval()
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"{self.estimand}{self._of()}, pooled over m = {self.m} imputations (Rubin's rules)"
            + (f"; scale {self.scale}" if self.scale else ""),
            f"  estimate        {self._fmt(self.estimate)}  (SE {self._fmt(self.std_error)})",
            f"  {level + ' CI':<16}[{self._fmt(lo)}, {self._fmt(hi)}]",
            f"  t = {self.statistic:.3f}, df = {df_text(self.df)} (Barnard-Rubin; complete-data "
            f"df {df_text(self.df_complete)}), p = {self.p_value:.4g}",
            f"  missing info    fmi {self.fmi:.3f}, lambda {self.lambda_:.3f}, riv {self.riv:.3f}",
            f"  imputation      {self.method} of {', '.join(self.imputed)}; n {self.n_obs:,}"
            + (f"; SE {self.se_type}" if self.se_type else ""),
        ]
        if self.shifted_arm is not None:
            lines.append(f"  delta           {number(self.delta)} added to imputed "
                         f"{self.shifted_column} in {self.shifted_arm}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<PooledEffect {self.estimand} {self.outcome}: {self._fmt(self.estimate)} "
                f"(SE {self._fmt(self.std_error)}, m = {self.m}, fmi {self.fmi:.3f})>")


@dataclass(frozen=True, eq=False, repr=False)
class MultipleImputation(ResultMixin):
    """``m`` completed datasets, from :func:`dwp_eval.multiple_imputation` or from
    imputations made elsewhere (:meth:`from_completed`).

    ``completed(i)`` is the ``i``-th completed dataset (a new DataFrame, ``i`` from 0);
    ``fit(estimator, **kwargs)`` runs the estimator on each and pools the effect
    (:class:`PooledEffect`); ``shift(delta, arm=...)`` adds ``delta`` to the
    imputed values in one arm (a delta-adjusted analysis). ``to_frame()`` counts the
    missing values of each imputed column by arm.
    """

    _data: pd.DataFrame
    impute: tuple[str, ...]
    using: tuple[str, ...]
    assigned: str
    m: int
    method: str
    by_arm: bool
    #: column -> positions (0-based) of its missing rows
    _rows: Mapping[str, np.ndarray]
    #: column -> (m, n_missing) imputed values
    _values: Mapping[str, np.ndarray]
    #: logreg columns only: column -> (m, n_missing) linear predictor and uniform draw
    #: (the value imputed is ``uniform < expit(linear + delta)``)
    _linear: Mapping[str, np.ndarray] = field(default_factory=dict)
    _uniform: Mapping[str, np.ndarray] = field(default_factory=dict)
    seed: int | None = None
    iterations: int = 1
    delta: float = 0.0
    shifted_arm: str | None = None
    shifted_column: str | None = None

    @classmethod
    def from_completed(
        cls,
        data: pd.DataFrame,
        completed: list[pd.DataFrame] | tuple[pd.DataFrame, ...],
        *,
        impute: list[Hashable] | tuple[Hashable, ...],
        assigned: Hashable,
        method: str = "external",
    ) -> MultipleImputation:
        """Imputations made elsewhere (R ``mice``, Stata ``mi``): ``data`` with its
        missing values and ``m >= 2`` completed copies of it, row for row.

        The imputed values are read from each completed copy at the rows where
        ``data[column]`` is missing; the observed values must agree.
        """
        func = "MultipleImputation.from_completed"
        frames = list(completed)
        if len(frames) < 2:
            raise OptionError(f"{func}: Rubin's rules need m >= 2 completed datasets. Got "
                              f"{len(frames)}. Fix: pass every completed dataset.")
        cols = [str(c) for c in impute]
        for c in [*cols, assigned]:
            for frame in [data, *frames]:
                if c not in frame.columns:
                    raise ColumnError(f"{func}: column {c!r} is not in every dataset.")
        rows: dict[str, np.ndarray] = {}
        values: dict[str, np.ndarray] = {}
        for c in cols:
            orig = data[c].to_numpy(dtype=float, na_value=np.nan)
            miss = np.flatnonzero(np.isnan(orig))
            draws = []
            for k, frame in enumerate(frames):
                v = frame[c].to_numpy(dtype=float, na_value=np.nan)
                if len(v) != len(orig):
                    raise OptionError(f"{func}: completed dataset {k} has {len(v):,} rows; "
                                      f"data has {len(orig):,}.")
                obs = ~np.isnan(orig)
                if np.isnan(v).any() or not np.array_equal(v[obs], orig[obs]):
                    raise ColumnError(f"{func}: column {c!r} of completed dataset {k} is not "
                                      "complete or does not keep the observed values of data.")
                draws.append(v[miss])
            rows[c], values[c] = miss, np.vstack(draws)
        return cls(_data=data.reset_index(drop=True), impute=tuple(cols), using=(),
                   assigned=str(assigned), m=len(frames), method=method, by_arm=False,
                   _rows=rows, _values=values)

    # ------------------------------------------------------------------ datasets

    @property
    def n_obs(self) -> int:
        return len(self._data)

    def _imputed(self, column: str, i: int) -> np.ndarray:
        if column in self._linear:
            shift = self.delta if column == self.shifted_column else 0.0
            eta = self._linear[column][i] + shift * self._in_shifted_arm(column)
            return (self._uniform[column][i] < expit(eta)).astype(float)
        values = self._values[column][i]
        if column == self.shifted_column and self.delta != 0.0:
            values = values + self.delta * self._in_shifted_arm(column)
        return values

    def _in_shifted_arm(self, column: str) -> np.ndarray:
        arms = self._data[self.assigned].to_numpy()[self._rows[column]]
        key = label_key(self.shifted_arm)
        return np.array([label_key(a) == key for a in arms], dtype=float)

    def completed(self, i: int) -> pd.DataFrame:
        """The ``i``-th completed dataset (``0 <= i < m``), a new DataFrame."""
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= int(i) < self.m:
            raise OptionError(f"MultipleImputation.completed: i must be an int from 0 to "
                              f"{self.m - 1}. Got {i!r} instead.")
        out = self._data.copy()
        for col in self.impute:
            values = out[col].to_numpy(dtype=float, na_value=np.nan).copy()
            values[self._rows[col]] = self._imputed(col, int(i))
            out[col] = values
        return out

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return (self.completed(i) for i in range(self.m))

    def __len__(self) -> int:
        return self.m

    # ------------------------------------------------------------------ analysis

    def fit(self, estimator: Callable[..., Any], **kwargs: Any) -> PooledEffect:
        """Run ``estimator(completed_data, **kwargs)`` on each completed dataset and pool
        its ``estimate`` and ``std_error`` by Rubin's rules (Barnard-Rubin df from its ``df``).

        ``estimator`` is any of the library's estimators (:func:`~dwp_eval.itt`,
        :func:`~dwp_eval.cace`, :func:`~dwp_eval.did`, ...) or any callable returning a
        result with ``estimate`` and ``std_error`` (and ``df``, its complete-data degrees
        of freedom; a result without ``df`` is taken as large-sample, ``df = inf``). When
        it takes ``assigned`` and none is passed, the imputation's ``assigned`` column is
        passed. Ratios (odds or risk ratios) are pooled on the log scale: with
        :func:`~dwp_eval.binary_effect` pass one ``scale=`` (``fit(binary_effect,
        outcome="y", scale="odds_ratio")``) and the log ratio is pooled
        (:attr:`PooledEffect.scale`); any other estimator returning a log ratio and its
        standard error is pooled as it is.

        Notes
        -----
        Rubin (1987, sec. 3.1); Barnard & Rubin (1999); formulas in
        :mod:`dwp_eval._core.pooling`.
        """
        if not callable(estimator):
            raise OptionError(f"MultipleImputation.fit: estimator must be a function such as "
                              f"dwp_eval.itt. Got {type(estimator).__name__} instead.")
        try:
            params = inspect.signature(estimator).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        if "assigned" in params and "assigned" not in kwargs:
            kwargs = {**kwargs, "assigned": self.assigned}
        results = [estimator(self.completed(i), **kwargs) for i in range(self.m)]
        name = getattr(estimator, "__name__", type(estimator).__name__)
        return self.pool(results, name=name, alpha=kwargs.get("alpha", 0.05),
                         outcome=kwargs.get("outcome", ""))

    def pool(self, results: Sequence[Any], *, name: str = "estimator", alpha: float = 0.05,
             outcome: Any = "") -> PooledEffect:
        """Pool results already computed on the completed datasets (``results[i]`` on
        ``completed(i)``, one per imputation) by Rubin's rules, as :meth:`fit` does.

        Useful when one fit gives several quantities: fit
        :func:`~dwp_eval.binary_effect` once per dataset with every scale, then pool
        each scale (``pool([r.on_scale("odds_ratio") for r in fits])``). ``name``,
        ``alpha`` and ``outcome`` stand in for what a result does not say."""
        if len(results) != self.m:
            raise OptionError(f"MultipleImputation.pool: pass one result per imputation "
                              f"({self.m}). Got {len(results)}.")
        results = list(results)
        first = results[0]
        scale = ""
        if callable(getattr(first, "for_pooling", None)):  # e.g. a BinaryEffect: one scale
            parts = [r.for_pooling() for r in results]
            results = [_Parts(*p[:3]) for p in parts]
            scale = parts[0][3]
        for attr in _NEEDED:
            if not all(hasattr(r, attr) for r in results):
                raise OptionError(
                    f"MultipleImputation.fit: {name} returned a {type(first).__name__}, which has "
                    f"no {attr!r}. Fix: pass an estimator whose result has estimate and "
                    "std_error (and df), e.g. dwp_eval.itt, or wrap it to return one."
                )
        q = np.array([float(r.estimate) for r in results])
        se = np.array([float(r.std_error) for r in results])
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(se))):
            raise OptionError(f"MultipleImputation.fit: {name} returned a non-finite estimate or "
                              "standard error on a completed dataset; Rubin's rules need finite ones.")
        df_complete = min(float(getattr(r, "df", math.inf)) for r in results)
        pool = rubin_pool(q, se**2, df_complete)
        alpha = float(getattr(first, "alpha", alpha))
        return PooledEffect(
            estimand=str(getattr(first, "estimand", name)),
            outcome=str(getattr(first, "outcome", outcome)),
            treatment=str(getattr(first, "treatment", "")),
            control=str(getattr(first, "control", "")),
            estimate=pool.estimate, std_error=pool.std_error, df=pool.df, alpha=alpha, m=self.m,
            within_variance=pool.within_variance, between_variance=pool.between_variance,
            total_variance=pool.total_variance, riv=pool.riv, lambda_=pool.lambda_, fmi=pool.fmi,
            df_complete=pool.df_complete, n_obs=int(getattr(first, "n_obs", self.n_obs)),
            estimates=tuple(q.tolist()), std_errors=tuple(se.tolist()), method=self.method,
            se_type=str(getattr(first, "se_type", "")), imputed=self.impute, delta=self.delta,
            shifted_arm=self.shifted_arm, shifted_column=self.shifted_column,
            binary_outcome=bool(getattr(first, "binary_outcome", False)), scale=scale,
        )

    def shift(self, delta: float, *, arm: Any, column: Hashable | None = None) -> MultipleImputation:
        """A new :class:`MultipleImputation` whose imputed values of ``column`` in ``arm``
        are shifted by ``delta`` (delta adjustment; the observed values are unchanged).

        For ``method="pmm"`` or ``"norm"`` ``delta`` is added to the imputed values; for
        ``"logreg"`` it is added to the imputation model's log-odds, so an imputed 0/1 is
        ``u < expit(x' beta* + delta)`` with the same draw ``u`` (van Buuren 2018, sec. 3.8;
        Carpenter & Kenward 2013, ch. 10). ``column`` may be left out when one column
        is imputed. Shifts do not add up: ``shift`` replaces any earlier one.
        """
        col = self._shift_column(column)
        if isinstance(delta, bool) or not isinstance(delta, int | float | np.number) \
                or not math.isfinite(float(delta)):
            raise OptionError(f"MultipleImputation.shift: delta must be a finite number. "
                              f"Got {delta!r} instead.")
        keys = {label_key(a): a for a in pd.unique(self._data[self.assigned])}
        if label_key(arm) not in keys:
            raise OptionError(f"MultipleImputation.shift: arm {arm!r} is not a value of "
                              f"{self.assigned!r}; its arms are {sorted(map(str, keys.values()))}.")
        return replace(self, delta=float(delta), shifted_arm=str(keys[label_key(arm)]),
                       shifted_column=col)

    def _shift_column(self, column: Hashable | None) -> str:
        if column is None:
            if len(self.impute) != 1:
                raise OptionError(
                    f"MultipleImputation.shift: {len(self.impute)} columns were imputed "
                    f"({', '.join(self.impute)}); name the one to shift. Fix: pass "
                    f"column={self.impute[0]!r} (or another).")
            return self.impute[0]
        if column not in self.impute:
            raise ColumnError(f"MultipleImputation.shift: column {column!r} was not imputed; "
                              f"the imputed columns are {', '.join(map(repr, self.impute))}.")
        return str(column)

    # ------------------------------------------------------------------ contract

    def to_frame(self) -> pd.DataFrame:
        arms = self._data[self.assigned]
        rows = []
        for col in self.impute:
            missing = np.zeros(len(self._data), dtype=bool)
            missing[self._rows[col]] = True
            for arm in sorted(pd.unique(arms), key=str):
                in_arm = (arms == arm).to_numpy()
                n, n_miss = int(in_arm.sum()), int((missing & in_arm).sum())
                rows.append({"column": col, "arm": str(arm), "n": n, "n_missing": n_miss,
                             "share_missing": n_miss / n if n else float("nan"),
                             "method": self.method, "m": self.m})
        return pd.DataFrame(rows, columns=IMPUTATION_COLUMNS)

    def summary(self) -> str:
        how = f"by arm ({self.assigned})" if self.by_arm else f"with {self.assigned} as a predictor"
        lines = [f"Multiple imputation: m = {self.m}, method {self.method}, {how}"]
        lines.append(f"  predictors      {', '.join(self.using) if self.using else '(none)'}")
        for r in self.to_frame().itertuples(index=False):
            lines.append(f"  {r.column:<15} {r.arm}: {r.n_missing:,} of {r.n:,} missing "
                         f"({percent(r.share_missing)})")
        if self.seed is not None:
            lines.append(f"  seed            {self.seed}")
        if self.shifted_arm is not None:
            lines.append(f"  delta           {number(self.delta)} added to imputed "
                         f"{self.shifted_column} in {self.shifted_arm}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<MultipleImputation m = {self.m}, {self.method}, "
                f"{', '.join(self.impute)} ({self.n_obs:,} rows)>")
