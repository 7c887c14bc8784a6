"""Randomisation inference that follows the design.

:func:`randomisation_test` re-draws the assignment the way the trial drew it
(complete randomisation with fixed numbers, within strata, of whole clusters,
within permuted blocks, re-applying a re-randomisation rule) and compares the
observed statistic with its distribution over the re-drawn assignments under
the sharp null hypothesis of no effect for anyone. It also inverts the test
under a constant additive effect to give an interval.

The draws are vectorised: assignments are generated for a batch of draws at a
time as a ``(batch, units)`` 0/1 matrix, and every draw's statistic follows from
per-stratum sums of a few unit-level columns (matrix products), never from a
Python loop over draws. Each draw is summarised by five numbers, so the test of
any constant effect ``tau`` re-uses the same draws at no extra cost (see
:func:`randomisation_test`, Notes).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.assignments import (
    Cells,
    RecordedDesign,
    Redraws,
    RerandomisationRule,
    unit_cells,
)
from dwp_eval._core.inversion import PValueFunction, t_values
from dwp_eval._core.sample import prepare_sample
from dwp_eval._validation import (
    check_alpha,
    check_columns,
    check_data,
    check_option,
    check_seed,
)
from dwp_eval.errors import ColumnError, DesignError, OptionError
from dwp_eval.results import ResultMixin

__all__ = ["RandomisationTest", "randomisation_test"]

STATISTICS = ("studentised", "difference")
# Units converted to floats at a time when summing a batch (keeps the buffer in cache).
_CHUNK = 8192

# unit-level columns whose per-arm sums give every draw's statistic
_N, _U, _K, _U2, _UK, _K2, _NU, _NK, _N2 = range(9)
_NCOL = 9


# --------------------------------------------------------------------------- result


RI_COLUMNS = [
    "outcome",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "p_value_mc_se",
    "conf_low",
    "conf_high",
    "df",
    "alpha",
    "draws",
    "n_obs",
    "n_control",
    "n_treatment",
    "test_statistic",
    "se_type",
    "design",
]


@dataclass(frozen=True, eq=False, repr=False)
class RandomisationTest(ResultMixin):
    """A randomisation (permutation) test of no effect, with the interval from inverting it.

    Attributes
    ----------
    estimate
        The observed difference in means (blocked when stratified; of people
        when clustered).
    std_error
        The standard error used to studentise (see :func:`randomisation_test`);
        with ``test_statistic="difference"``, the standard deviation of the
        difference over the re-drawn assignments.
    statistic
        The observed test statistic: the studentised difference or the raw
        difference.
    p_value, p_value_mc_se
        Two-sided p-value and its Monte Carlo standard error (0 when every
        assignment was enumerated).
    conf_low, conf_high
        The ``1 - alpha`` interval: every constant effect not rejected at
        ``alpha``. An infinite end means no effect that large is rejected
        (too few draws or assignments).
    draws, enumerated
        The number of re-drawn assignments, and whether these were all the
        assignments the design could produce.
    null_statistics
        The statistic under each re-drawn assignment (read-only array).
    design, se_type, test_statistic
        Design label (``complete``, ``stratified``, ``cluster``,
        ``stratified-cluster``, with ``permuted blocks`` or ``re-randomised``
        when the allocation says so), the variance used to studentise and the
        statistic's name.
    """

    outcome: str
    treatment: str
    control: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    p_value_mc_se: float
    conf_low: float
    conf_high: float
    alpha: float
    draws: int
    enumerated: bool
    test_statistic: str
    se_type: str
    design: str
    n_obs: int
    n_by_arm: dict[str, int]
    n_strata: int | None
    n_clusters: int | None
    null_statistics: np.ndarray
    notes: tuple[str, ...] = ()
    acceptance_rate: float | None = None
    _pfun: PValueFunction | None = field(default=None, repr=False)

    @property
    def df(self) -> float:
        """Not used: the reference distribution is the randomisation distribution (NaN)."""
        return float("nan")

    @property
    def n_control(self) -> int:
        return int(self.n_by_arm.get(self.control, 0))

    @property
    def n_treatment(self) -> int:
        return int(self.n_by_arm.get(self.treatment, 0))

    @property
    def critical_value(self) -> float:
        """The ``1 - alpha`` quantile of ``|statistic|`` over the re-drawn assignments."""
        return float(np.quantile(np.abs(self.null_statistics), 1 - self.alpha))

    def p_value_at(self, effect: float) -> float:
        """The p-value of the hypothesis of a constant effect ``effect`` (same draws)."""
        if self._pfun is None:
            raise ValueError("This result was not made by randomisation_test.")
        return self._pfun(float(effect))

    def conf_int(self, alpha: float | None = None) -> tuple[float, float]:
        """The ``1 - alpha`` interval by test inversion (default: the result's alpha)."""
        a = self.alpha if alpha is None else float(alpha)
        if not 0 < a < 1:
            raise ValueError(f"alpha must be in (0, 1). Got {alpha!r}.")
        if a == self.alpha:
            return self.conf_low, self.conf_high
        if self._pfun is None:
            raise ValueError("This result was not made by randomisation_test.")
        return self._pfun.interval(a)

    def to_frame(self) -> pd.DataFrame:
        """One row with the columns in ``RI_COLUMNS``."""
        row = {
            "outcome": self.outcome,
            "term": f"{self.treatment} vs {self.control}",
            "estimate": self.estimate,
            "std_error": self.std_error,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_value_mc_se": self.p_value_mc_se,
            "conf_low": self.conf_low,
            "conf_high": self.conf_high,
            "df": self.df,
            "alpha": self.alpha,
            "draws": self.draws,
            "n_obs": self.n_obs,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "test_statistic": self.test_statistic,
            "se_type": self.se_type,
            "design": self.design,
        }
        return pd.DataFrame([row], columns=RI_COLUMNS)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        how = (
            f"all {self.draws:,} assignments enumerated"
            if self.enumerated
            else f"{self.draws:,} random re-draws"
        )
        q = np.quantile(self.null_statistics, [0.025, 0.5, 0.975]) if self.draws else [np.nan] * 3
        lines = [
            f"Randomisation test of {self.treatment} vs {self.control} on {self.outcome}",
            f"  estimate        {self.estimate:,.4g}  (SE {self.std_error:,.4g})",
            f"  statistic       {self.statistic:.4g} ({self.test_statistic}; SE {self.se_type})",
            f"  p-value         {self.p_value:.4g}"
            + (f" (Monte Carlo SE {self.p_value_mc_se:.2g})" if not self.enumerated else " (exact)"),
            f"  {level + ' CI':<16}[{self.conf_low:,.4g}, {self.conf_high:,.4g}] (test inversion, "
            "constant effect)",
            f"  null            {how}; statistic median {q[1]:.3g}, 95% range "
            f"[{q[0]:.3g}, {q[2]:.3g}]",
            f"  n               {self.n_obs:,} ({', '.join(f'{a} {n:,}' for a, n in self.n_by_arm.items())})",
            f"  design          {self.design}",
        ]
        if self.n_clusters is not None:
            lines.append(f"  clusters        {self.n_clusters:,}")
        if self.n_strata is not None:
            lines.append(f"  strata          {self.n_strata:,}")
        if self.acceptance_rate is not None:
            lines.append(f"  re-randomised   {self.acceptance_rate:.3g} of candidate draws met the rule")
        lines.extend(f"  note            {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<RandomisationTest {self.outcome}: {self.estimate:,.4g}, p = {self.p_value:.4g} "
            f"({self.draws:,} {'assignments' if self.enumerated else 'draws'}, {self.design})>"
        )


# --------------------------------------------------------------------------- drawing


# --------------------------------------------------------------------------- statistic


@dataclass(frozen=True, eq=False)
class _Statistic:
    """Everything needed to turn per-stratum sums into each draw's ``(a, b, v0, v1, v2)``.

    Units are in stratum order: stratum ``s`` holds units ``s_lo[s]:s_lo[s+1]``.
    Only the columns in ``phys`` are summed over draws; without clusters the
    others follow from them (one person per unit: ``N`` is the fixed count,
    ``K2 = K``, ``NU = U``, ``NK = K``, ``N2 = N``).
    """

    columns: np.ndarray  # units x 9
    s_lo: np.ndarray  # stratum bounds over units (length S + 1)
    totals: np.ndarray  # S x 9
    g1: np.ndarray  # treated units per stratum (fixed)
    g0: np.ndarray
    weights: np.ndarray  # persons per stratum / persons
    mode: str  # "blocked", "pair", "pair-cluster"
    kind: str  # "studentised" or "difference"
    clustered: bool
    phys: tuple[int, ...] = ()
    _indicator: Any = None  # sparse strata x units, for many strata

    @classmethod
    def build(cls, **kw: Any) -> _Statistic:
        full = kw["kind"] == "studentised" and kw["mode"] == "blocked"
        if kw["clustered"]:
            phys: tuple[int, ...] = tuple(range(_NCOL)) if full else (_N, _U, _K)
        else:
            phys = (_U, _K, _U2, _UK) if full else (_U, _K)
        n_strata = len(kw["s_lo"]) - 1
        indicator = None
        if n_strata > 64:
            import scipy.sparse as sp

            n_units = int(kw["s_lo"][-1])
            stratum = np.repeat(np.arange(n_strata), np.diff(kw["s_lo"]))
            indicator = sp.csr_matrix(
                (np.ones(n_units), (stratum, np.arange(n_units))), shape=(n_strata, n_units)
            )
        return cls(**kw, phys=phys, _indicator=indicator)

    def sums(self, assign: np.ndarray) -> np.ndarray:
        """Treated sums per stratum: ``(9, draws, S)`` (the columns ``coefficients`` uses)."""
        size = assign.shape[0]
        n_strata = len(self.s_lo) - 1
        cols = self.columns[:, list(self.phys)]
        if self._indicator is not None:
            # many small strata: one sparse product per column on the units-by-draws matrix
            ft = np.ascontiguousarray(assign.view(np.uint8).T).astype(np.float64)
            part = np.stack([(self._indicator @ (ft * cols[:, [j]])).T for j in range(len(self.phys))], axis=-1)
        else:
            part = np.zeros((size, n_strata, len(self.phys)))
            buf = np.empty((size, min(_CHUNK, assign.shape[1])))
            for s in range(n_strata):
                for a in range(int(self.s_lo[s]), int(self.s_lo[s + 1]), _CHUNK):
                    b = min(a + _CHUNK, int(self.s_lo[s + 1]))
                    chunk = buf[:, : b - a]
                    np.copyto(chunk, assign[:, a:b])  # 0/1 as floats, in cache
                    part[:, s, :] += chunk @ cols[a:b]
        # column-first layout: every column is a contiguous (draws, S) array
        out = np.empty((_NCOL, size, n_strata))
        for i, j in enumerate(self.phys):
            out[j] = part[..., i]
        if not self.clustered:
            out[_N] = self.g1[None, :]
            if len(self.phys) > 2:  # the blocked variance uses every column
                out[_K2] = out[_K]
                out[_NU] = out[_U]
                out[_NK] = out[_K]
                out[_N2] = out[_N]
        return out

    def coefficients(self, treated: np.ndarray) -> np.ndarray:
        """``(draws, 5)`` rows ``a, b, v0, v1, v2`` from treated sums ``(9, draws, S)``:
        ``T(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)``."""
        shape = treated.shape[1:]
        totals = self.totals.T[:, None, :]

        class _Control:  # control-arm sums, column by column as needed
            def __getitem__(self, j: int) -> np.ndarray:
                return np.asarray(totals[j] - treated[j])

        alpha_s = np.zeros(shape)
        beta_s = np.zeros(shape)
        var = [np.zeros(shape) for _ in range(3)]
        arms: tuple[tuple[float, Any, np.ndarray], ...] = (
            (1.0, treated, self.g1),
            (-1.0, _Control(), self.g0),
        )
        for sign, x, g in arms:
            n = x[_N]
            mu0 = x[_U] / n
            mu1 = -x[_K] / n
            alpha_s += sign * mu0
            beta_s -= sign * mu1
            if self.kind == "studentised" and self.mode == "blocked":
                c0 = x[_U2] - 2 * mu0 * x[_NU] + mu0**2 * x[_N2]
                c1 = 2 * (-x[_UK] - mu1 * x[_NU] + mu0 * x[_NK] + mu0 * mu1 * x[_N2])
                c2 = x[_K2] + 2 * mu1 * x[_NK] + mu1**2 * x[_N2]
                f = (g / (g - 1.0))[None, :] / n**2
                var[0] += f * c0
                var[1] += f * c1
                var[2] += f * c2
        w = self.weights[None, :]
        a = np.sum(w * alpha_s, axis=1)
        b = np.sum(w * beta_s, axis=1)
        out = np.empty((treated.shape[1], 5))
        out[:, 0] = a
        out[:, 1] = b
        if self.kind == "difference":
            out[:, 2:] = (1.0, 0.0, 0.0)
        elif self.mode == "blocked":
            w2 = w**2
            out[:, 2] = np.sum(w2 * var[0], axis=1)
            out[:, 3] = np.sum(w2 * var[1], axis=1)
            out[:, 4] = np.sum(w2 * var[2], axis=1)
        else:
            n_s = len(self.weights)
            if self.mode == "pair":
                da = alpha_s - a[:, None]
                db = beta_s - b[:, None]
                fac = 1.0 / (n_s * (n_s - 1))
            else:  # pair-cluster: Imai, King & Nall (2009, eq. 6)
                persons = self.totals[:, _N].sum()
                ns = self.totals[None, :, _N]
                da = ns * alpha_s - persons * a[:, None] / n_s
                db = ns * beta_s - persons * b[:, None] / n_s
                fac = n_s / ((n_s - 1) * persons**2)
            out[:, 2] = fac * np.sum(da**2, axis=1)
            out[:, 3] = -2 * fac * np.sum(da * db, axis=1)
            out[:, 4] = fac * np.sum(db**2, axis=1)
        return out


# --------------------------------------------------------------------------- preparation


@dataclass(frozen=True, eq=False)
class _Setup:
    cells: Cells
    stat: _Statistic
    observed: np.ndarray  # bool per unit (cell order)
    unit_of_row: np.ndarray  # analysed row -> unit (cell order)
    index: pd.Index  # analysed rows of data
    rule: RerandomisationRule | None
    design: str
    se_type: str
    outcome: str
    treatment: str
    control: str
    n_by_arm: dict[str, int]
    n_strata: int | None
    n_clusters: int | None


def _setup(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str,
    treatment: str | None,
    strata: Hashable | None,
    cluster: Hashable | None,
    allocation: Any,
    statistic: str,
    missing: str,
    func: str,
) -> _Setup:
    data = check_data(data, func=func)
    statistic = check_option(statistic, STATISTICS, param="statistic", func=func)
    recorded: RecordedDesign | None = None
    cell_col: Hashable | None = strata
    if allocation is not None:
        if not callable(getattr(allocation, "recorded_design", None)):
            raise OptionError(
                f"The 'allocation' parameter of {func} must be a dwp_eval.Allocation (from "
                f"randomise or Allocation.read). Got {type(allocation).__name__} instead."
            )
        if strata is not None or cluster is not None:
            raise OptionError(
                f"{func}: pass either allocation= or strata=/cluster=, not both: the allocation "
                "records the design's strata and clusters. Fix: drop strata= and cluster=."
            )
        check_columns(data, [assigned], role="assigned", func=func)
        recorded = allocation.recorded_design(data, assigned=assigned, func=func)
        data = data.copy(deep=False)
        data["allocation stratum"] = recorded.stratum
        data["allocation block"] = recorded.cell
        if recorded.cluster is not None:
            data["allocation cluster"] = recorded.cluster
        strata = "allocation stratum" if recorded.has_strata else None
        cluster = "allocation cluster" if recorded.cluster is not None else None
        cell_col = "allocation block"
        if recorded.rule_covariates and missing != "raise":
            raise OptionError(
                f"{func}: missing='drop' cannot be used with a re-randomised allocation: the "
                "balance rule is re-applied to everyone allocated. Fix: complete the outcome first."
            )
    prep, frame = prepare_sample(
        data,
        outcome=outcome,
        assigned=assigned,
        control=control,
        treatment=treatment,
        covariates=[],
        strata=strata,
        cluster=cluster,
        weights=None,
        missing=missing,
        func=func,
    )
    y = prep.y
    z = prep.z
    n = len(y)
    if np.ptp(y) == 0:
        raise DesignError(
            f"{func}: column {outcome!r} (outcome) is constant ({y[0]:g}) in the compared arms, so "
            "there is nothing to test."
        )
    st = prep.strata if prep.strata is not None else np.zeros(n, dtype=np.int64)
    if cell_col is not None:
        cell_codes, _ = pd.factorize(frame[cell_col].astype(str), sort=True)
        cell = np.asarray(cell_codes, dtype=np.int64)
    else:
        cell = np.zeros(n, dtype=np.int64)
    if prep.cluster is not None:
        unit = prep.cluster
    else:
        unit = np.arange(n, dtype=np.int64)
    n_units = int(unit.max()) + 1
    # a unit (cluster) must sit inside one stratum and one cell
    for codes, what in ((st, "stratum"), (cell, "randomisation block")):
        lo = np.full(n_units, np.iinfo(np.int64).max)
        hi = np.full(n_units, -1)
        np.minimum.at(lo, unit, codes)
        np.maximum.at(hi, unit, codes)
        split = np.flatnonzero(lo != hi)
        if split.size:
            raise DesignError(
                f"{func}: {split.size:,} cluster(s) in column {cluster!r} span more than one "
                f"{what}, so whole clusters cannot have been randomised within strata. Fix: "
                "check the strata and cluster columns are the ones used at randomisation."
            )
    grouped = unit_cells(unit, st, z, cell)
    cells, observed, unit_of_row, u_stratum = (
        grouped.cells, grouped.observed, grouped.unit_of_row, grouped.stratum
    )

    # unit columns, outcome centred within strata (the statistic is unchanged, rounding is not)
    n_strata = int(st.max()) + 1
    s_mean = np.bincount(st, weights=y, minlength=n_strata) / np.bincount(st, minlength=n_strata)
    yc = y - s_mean[st]
    cols = np.zeros((n_units, _NCOL))
    persons = np.bincount(unit_of_row, minlength=n_units).astype(float)
    u = np.bincount(unit_of_row, weights=yc, minlength=n_units)
    k = np.bincount(unit_of_row, weights=z, minlength=n_units)
    cols[:, _N] = persons
    cols[:, _U] = u
    cols[:, _K] = k
    cols[:, _U2] = u * u
    cols[:, _UK] = u * k
    cols[:, _K2] = k * k
    cols[:, _NU] = persons * u
    cols[:, _NK] = persons * k
    cols[:, _N2] = persons * persons
    s_lo = np.r_[np.flatnonzero(np.r_[True, u_stratum[1:] != u_stratum[:-1]]), n_units]
    totals = np.add.reduceat(cols, s_lo[:-1], axis=0)
    g1 = np.add.reduceat(observed.astype(float), s_lo[:-1])
    g0 = np.diff(s_lo).astype(float) - g1
    weights = totals[:, _N] / totals[:, _N].sum()
    clustered = prep.cluster is not None
    upb = np.diff(s_lo)
    pair = bool(n_strata > 1 and (np.all(upb == 2) or (np.any(upb == 2) and np.any(upb > 2))))
    if pair:
        mode = "pair-cluster" if clustered else "pair"
        se_type = "matched-pair"
    else:
        mode = "blocked"
        se_type = "CR0 x G/(G-1) per arm" if clustered else "Neyman"
        if statistic == "studentised" and (np.any(g1 < 2) or np.any(g0 < 2)):
            raise DesignError(
                f"{func}: a stratum has fewer than two {'clusters' if clustered else 'people'} in "
                "an arm, so the studentised statistic's variance cannot be estimated there. Fix: "
                "pass statistic='difference' (a valid test with the raw difference in means)."
            )
    if statistic == "difference":
        se_type = "none"
    stat = _Statistic.build(
        columns=cols,
        s_lo=s_lo,
        totals=totals,
        g1=g1,
        g0=g0,
        weights=weights,
        mode=mode,
        kind=statistic,
        clustered=clustered,
    )

    rule = None
    if recorded is not None and recorded.rule_covariates:
        rule = _make_rule(data, frame, recorded, prep.treatment, prep.control, unit_of_row, n_units, assigned, func)
    if recorded is not None:
        design = recorded.label
    else:
        design = ("stratified-cluster" if strata is not None else "cluster") if clustered else (
            "stratified" if strata is not None else "complete"
        )
    return _Setup(
        cells=cells,
        stat=stat,
        observed=observed,
        unit_of_row=unit_of_row,
        index=frame.index,
        rule=rule,
        design=design,
        se_type=se_type,
        outcome=str(outcome),
        treatment=prep.treatment,
        control=prep.control,
        n_by_arm=prep.n_by_arm,
        n_strata=n_strata if strata is not None else None,
        n_clusters=n_units if clustered else None,
    )


def _make_rule(
    data: pd.DataFrame,
    frame: pd.DataFrame,
    recorded: RecordedDesign,
    treatment: str,
    control: str,
    unit_of_row: np.ndarray,
    n_units: int,
    assigned: Hashable,
    func: str,
) -> RerandomisationRule:
    covs = list(recorded.rule_covariates)
    check_columns(data, covs, role="re-randomisation covariates", func=func)
    if not recorded.all_ids_present:
        raise DesignError(
            f"{func}: the allocation was re-randomised, so the test re-applies its balance rule "
            "to everyone allocated, but the data do not hold every allocated person. Fix: pass "
            "the full participants data (all arms) with the outcome."
        )
    for c in covs:
        if data[c].isna().any() or not (
            pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])
        ):
            raise ColumnError(
                f"{func}: column {c!r} (re-randomisation covariate) must be numeric and complete, "
                "as it was at randomisation."
            )
    x = frame[covs].to_numpy(dtype=float)
    cols = np.zeros((n_units, 1 + 2 * len(covs)))
    cols[:, 0] = np.bincount(unit_of_row, minlength=n_units)
    for j in range(len(covs)):
        cols[:, 1 + j] = np.bincount(unit_of_row, weights=x[:, j], minlength=n_units)
        cols[:, 1 + len(covs) + j] = np.bincount(unit_of_row, weights=x[:, j] ** 2, minlength=n_units)
    arm_text = data[assigned].astype(str).to_numpy()
    fixed = {}
    for arm in recorded.arms:
        if arm in (treatment, control):
            continue
        xa = data.loc[arm_text == arm, covs].to_numpy(dtype=float)
        fixed[arm] = np.r_[len(xa), xa.sum(axis=0), (xa**2).sum(axis=0)]
    return RerandomisationRule(
        columns=cols,
        fixed=fixed,
        arms=recorded.arms,
        design_control=recorded.control,
        treatment=treatment,
        control=control,
        bound=recorded.rule_bound,
        max_draws=recorded.rule_max_draws,
    )


def _check_draws(draws: Any, func: str) -> int | None:
    if isinstance(draws, str) and draws == "all":
        return None
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise OptionError(
            f"The 'draws' parameter of {func} must be a positive int or 'all'. Got {draws!r} instead."
        )
    return int(draws)


def _assignment_stream(
    setup: _Setup, draws: int | None, rng: np.random.Generator, func: str
) -> tuple[list[np.ndarray], bool, float | None]:
    """The re-drawn assignments in batches, whether they are all of them, and the
    acceptance rate of a re-randomisation rule."""
    rule = setup.rule
    redraws = Redraws(
        setup.cells, draws, rng, width=setup.cells.n_units, max_batch=4096, func=func,
        accept=None if rule is None else rule.accept,
        max_tries=1 if rule is None else rule.max_draws,
    )
    batches = list(redraws)
    return batches, redraws.enumerated, redraws.acceptance_rate


def _null_assignments(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    allocation: Any = None,
    draws: int | Literal["all"] = 100,
    seed: int | np.random.Generator,
) -> pd.DataFrame:
    """The re-drawn assignments :func:`randomisation_test` uses (a testing hook).

    Returns a bool DataFrame with one row per analysed row of ``data`` (its
    index) and one column per draw: ``True`` for the treatment arm.
    """
    func = "randomisation_test"
    setup = _setup(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        strata=strata, cluster=cluster, allocation=allocation, statistic="difference",
        missing="raise", func=func,
    )
    rng = check_seed(seed, func=func)
    batches, _, _ = _assignment_stream(setup, _check_draws(draws, func), rng, func)
    assign = np.concatenate(batches, axis=0)
    return pd.DataFrame(assign[:, setup.unit_of_row].T, index=setup.index)


# --------------------------------------------------------------------------- public


def randomisation_test(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    assigned: Hashable,
    control: str = "control",
    treatment: str | None = None,
    strata: Hashable | None = None,
    cluster: Hashable | None = None,
    allocation: Any = None,
    statistic: Literal["studentised", "difference"] = "studentised",
    draws: int | Literal["all"] = 10_000,
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    missing: Literal["raise", "drop"] = "raise",
) -> RandomisationTest:
    """Randomisation test of no effect that re-draws the assignment as the design did.

    Parameters
    ----------
    data
        One row per person.
    outcome
        Numeric outcome column.
    assigned
        Column holding each person's arm.
    control, treatment
        Labels of the compared arms (``treatment`` may be omitted when there is
        one other arm). With more arms, only people in these two are re-drawn.
    strata
        Column of the randomisation strata: assignments are re-drawn within
        each stratum, keeping its observed number treated.
    cluster
        Column of the unit of assignment when whole clusters were randomised:
        clusters are re-drawn whole.
    allocation
        A :class:`dwp_eval.Allocation`: take strata, clusters, permuted blocks
        and any re-randomisation rule from it (people are matched by its id
        column). Do not pass ``strata`` or ``cluster`` with it.
    statistic
        ``"studentised"`` (default): the difference in means divided by its
        design-based standard error; ``"difference"``: the difference in means.
    draws
        Number of re-drawn assignments, or ``"all"`` to enumerate every
        assignment (refused beyond 1,000,000). When the design has no more
        assignments than ``draws``, all of them are enumerated.
    seed
        An int or a ``numpy.random.Generator``; the only source of randomness.
    alpha
        Level of the test-inversion interval.
    missing
        ``"raise"`` (default) or ``"drop"`` rows with a missing outcome; with
        ``"drop"`` the test conditions on the people analysed.

    Returns
    -------
    RandomisationTest

    Notes
    -----
    *Re-drawing.* Complete randomisation puts a fixed number of units in each
    arm within each stratum. The test conditions on the observed numbers
    treated in each stratum (with :func:`dwp_eval.randomise` they are the floor
    or the ceiling of the expected number, chosen independently of everything
    else, so conditioning on them keeps the test exact) and re-draws which
    units are treated uniformly among the ``C(n_s, m_s)`` choices in every
    stratum; in a cluster design the units are clusters. With
    ``allocation=``, permuted-block allocations are re-drawn within each block
    (the block sizes are drawn independently of the arms), clusters joining
    later keep the block of their cluster, and a re-randomisation rule is
    re-applied: only re-drawn assignments meeting it are kept (Morgan & Rubin
    2012), so a re-randomised trial gets its exact test. With more than two
    arms only people in the two compared arms are re-drawn (conditioning on
    who was in the others).

    *Statistic.* With strata ``s`` of ``N_s`` people (weights ``w_s = N_s/N``)
    the estimate is ``d = sum_s w_s d_s``, ``d_s`` the difference in means of
    people (Gerber & Green 2012, eq. 3.10). The studentised statistic is
    ``T = d / sqrt(V)``, with ``V = sum_s w_s^2 (V_1s + V_0s)`` and, in arm
    ``a`` of stratum ``s`` with ``G_as`` units (people or clusters) and
    ``N_as`` people, ``V_as = G_as/(G_as - 1) sum_g e_g^2 / N_as^2``, where
    ``e_g`` sums the residuals ``y_i - mean_as`` over unit ``g``. Without
    clusters ``V_as = s_as^2 / N_as``, the Neyman variance (eq. 3.6, 3.11), so
    ``T`` is :func:`dwp_eval.itt`'s t statistic; with clusters it is the CR0
    variance of the difference in means with a ``G/(G - 1)`` correction in
    each arm (equal to CR2 when clusters in an arm are of equal size).
    Matched pairs use ``sum_b (d_b - d)^2 / (B(B - 1))`` (eq. 3.16), and pairs
    of clusters Imai, King & Nall (2009, eq. 6), as ``itt`` does. Studentising
    keeps the test valid for the weak null asymptotically (Wu & Ding 2021,
    *JASA* 116).

    *p-value.* With ``B`` random re-draws, ``p = (1 + #{|T*| >= |T|}) / (1 + B)``
    (Phipson & Smyth 2010, *Stat. Appl. Genet. Mol. Biol.* 9(1)), never zero
    and exact as a test of level ``alpha``; its Monte Carlo standard error is
    ``sqrt(p (1 - p) / B)``. Enumerating all ``K`` assignments (the observed
    one among them) gives the exact ``p = #{|T*| >= |T|} / K``. Ties are
    judged with a relative tolerance of 1e-9.

    *Interval.* Under a constant effect ``tau`` (``Y(1) = Y(0) + tau``) the
    control outcomes are ``y - tau z``, and the statistic under a re-drawn
    assignment is ``T*(tau) = (a - tau b) / sqrt(v0 + v1 tau + v2 tau^2)``,
    where the five numbers come from the draw's per-stratum sums of
    ``y, z, y^2, yz, ...``. So every ``tau`` is tested with the same draws,
    the p-value function is deterministic, and the interval (Imbens & Rubin
    2015, ch. 5.7) is the set of ``tau`` with ``p(tau) > alpha``, found by a
    grid scan and bisection from the estimate (its convex hull, should the
    set have holes).

    Draws are generated a batch at a time as a units-by-draws 0/1 matrix, and
    every statistic of the batch follows from matrix products with the unit
    columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from dwp_eval.estimate.ri import randomisation_test
    >>> df = pd.DataFrame({"arm": ["control", "treatment"] * 4,
    ...                    "y": [3.1, 4.0, 2.2, 5.3, 2.9, 4.1, 3.5, 4.4]})
    >>> res = randomisation_test(df, outcome="y", assigned="arm", draws="all", seed=1)
    >>> res.draws, res.enumerated   # C(8, 4) assignments
    (70, True)
    >>> round(res.p_value, 4)
    0.0286
    >>> res.conf_low < res.estimate < res.conf_high
    True
    """
    func = "randomisation_test"
    alpha = check_alpha(alpha, func=func)
    n_draws = _check_draws(draws, func)
    rng = check_seed(seed, func=func)
    how_missing = check_option(missing, ("raise", "drop"), param="missing", func=func)
    setup = _setup(
        data, outcome=outcome, assigned=assigned, control=control, treatment=treatment,
        strata=strata, cluster=cluster, allocation=allocation, statistic=statistic,
        missing=how_missing, func=func,
    )
    if setup.rule is not None and not bool(setup.rule.accept(setup.observed[None, :])[0]):
        raise DesignError(
            f"{func}: the observed assignment does not meet the allocation's re-randomisation "
            "rule, so these are not the data (or covariates) that were randomised. Fix: pass the "
            "participants data as they were at randomisation."
        )
    stat = setup.stat
    obs = stat.coefficients(stat.sums(setup.observed[None, :]))
    batches, enumerated, rate = _assignment_stream(setup, n_draws, rng, func)
    coefs = np.concatenate([stat.coefficients(stat.sums(a)) for a in batches], axis=0)
    b = len(coefs)
    null = t_values(coefs, 0.0)
    null.setflags(write=False)
    estimate = float(obs[0, 0])
    if statistic == "studentised":
        std_error = float(np.sqrt(max(obs[0, 2], 0.0)))
    else:
        std_error = float(np.std(coefs[:, 0], ddof=1)) if b > 1 else float("nan")
    # scale for the interval search: the SE of the estimate
    scale = std_error if np.isfinite(std_error) and std_error > 0 else float(np.std(coefs[:, 0]))
    pfun = PValueFunction(obs=obs, draws=coefs, plus_one=not enumerated, centre=estimate, scale=scale)
    p = pfun(0.0)
    lo, hi = pfun.interval(alpha)
    notes = []
    if enumerated:
        notes.append(f"all {b:,} assignments of the design enumerated: the p-value is exact")
    if not np.isfinite(lo) or not np.isfinite(hi):
        notes.append(
            "the interval is unbounded: with these draws no effect is rejected at "
            f"alpha = {alpha:g} on that side"
        )
    return RandomisationTest(
        outcome=setup.outcome,
        treatment=setup.treatment,
        control=setup.control,
        estimate=estimate,
        std_error=std_error,
        statistic=float(t_values(obs, 0.0)[0]),
        p_value=float(p),
        p_value_mc_se=0.0 if enumerated else float(np.sqrt(p * (1 - p) / b)),
        conf_low=float(lo),
        conf_high=float(hi),
        alpha=alpha,
        draws=b,
        enumerated=enumerated,
        test_statistic=statistic,
        se_type=setup.se_type,
        design=setup.design,
        n_obs=int(sum(setup.n_by_arm.values())),
        n_by_arm=setup.n_by_arm,
        n_strata=setup.n_strata,
        n_clusters=setup.n_clusters,
        null_statistics=null,
        notes=tuple(notes),
        acceptance_rate=rate,
        _pfun=pfun,
    )
