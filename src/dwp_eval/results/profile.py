"""The month-by-month impact profile made by :func:`dwp_eval.impact_profile`: the ITT
in each month after randomisation, with pointwise intervals and a simultaneous
(sup-t) band."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin, interval_frame
from dwp_eval._core.format import number
from dwp_eval._core.influence import sup_t_critical_value
from dwp_eval._core.wald import t_interval
from dwp_eval._validation import check_alpha
from dwp_eval.errors import OptionError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MEASURE_LABELS", "OKABE_ITO", "PROFILE_COLUMNS", "ImpactProfile"]

#: Columns of :meth:`ImpactProfile.to_frame`.
PROFILE_COLUMNS = [
    "term", "measure", "month", "estimate", "std_error", "statistic", "p_value", "conf_low",
    "conf_high", "band_low", "band_high", "df", "n_obs", "control_mean", "treatment_mean",
    "se_type", "design",
]

#: What each measure is, for labels and text.
MEASURE_LABELS = {"employed": "employment rate", "earnings": "monthly earnings"}

#: The Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
}


@dataclass(frozen=True, eq=False, repr=False)
class ImpactProfile(ResultMixin):
    """The ITT on each measure in each month after randomisation.

    Attributes
    ----------
    measures
        ``("employed", "earnings")`` or one of them.
    months
        The number of months ``K`` (months ``1`` to ``K`` after the month of
        randomisation).
    critical_values
        Per measure, the multiplier of the standard errors for the
        simultaneous (sup-t) band: the ``1 - alpha`` quantile of
        ``max_k |Z_k|`` for ``Z`` normal with the correlation of the monthly
        estimates (Montiel Olea & Plagborg-Moller 2019), never below the
        largest pointwise t critical value.
    draws, seed
        The normal draws and the seed the critical values were simulated with.
    notes
        Plain-language notes (e.g. months with no variation in either arm).
    adjusted
        The covariates each month's estimate is adjusted for (Lin 2013), if any.
    """

    _table: pd.DataFrame
    _vcov: Mapping[str, np.ndarray]
    measures: tuple[str, ...]
    months: int
    critical_values: Mapping[str, float]
    alpha: float
    draws: int
    seed: int
    outcome_unit: Mapping[str, str]
    treatment: str
    control: str
    n_by_arm: Mapping[str, int]
    data_end: str
    design: str
    se_type: str
    notes: tuple[str, ...] = ()
    adjusted: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per measure and month, columns :data:`PROFILE_COLUMNS`."""
        return self._table.copy()

    def vcov(self, measure: str | None = None) -> np.ndarray:
        """The joint covariance of a measure's monthly estimates (a copy)."""
        return np.array(self._vcov[self._measure(measure)])

    def _measure(self, measure: str | None) -> str:
        if measure is None:
            return self.measures[0]
        if measure not in self.measures:
            raise OptionError(
                f"The 'measure' parameter of ImpactProfile must be one of "
                f"{', '.join(map(repr, self.measures))}. Got {measure!r} instead."
            )
        return measure

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Pointwise ``1 - alpha`` intervals, one row per measure and month."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="ImpactProfile.conf_int")
        f = self._table
        ends = [t_interval(e, s, d, a) for e, s, d in
                zip(f["estimate"], f["std_error"], f["df"], strict=True)]
        return interval_frame(list(f["term"]), [lo for lo, _ in ends], [hi for _, hi in ends])

    def band(self, alpha: float | None = None) -> pd.DataFrame:
        """Simultaneous ``1 - alpha`` band (``term, band_low, band_high``); another alpha
        re-simulates the critical value with the result's seed and draws."""
        if alpha is None:
            f = self._table
            return pd.DataFrame({"term": f["term"], "band_low": f["band_low"],
                                 "band_high": f["band_high"]})
        a = check_alpha(alpha, func="ImpactProfile.band")
        parts = []
        for m in self.measures:
            f = self._table[self._table["measure"] == m]
            c = band_critical_value(self._vcov[m], f["df"].to_numpy(), alpha=a, draws=self.draws,
                                    seed=self.seed)
            se = f["std_error"].to_numpy()
            parts.append(pd.DataFrame({"term": f["term"], "band_low": f["estimate"] - c * se,
                                       "band_high": f["estimate"] + c * se}))
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> str:
        level = f"{100 * (1 - self.alpha):g}%"
        n_c, n_t = self.n_by_arm.get(self.control, 0), self.n_by_arm.get(self.treatment, 0)
        lines = [
            f"Impact profile: ITT of {self.treatment} vs {self.control} in each of months 1-"
            f"{self.months} after randomisation",
            f"  {self.design} design, {self.se_type} standard errors; n = {n_c + n_t:,} "
            f"({self.control} {n_c:,}, {self.treatment} {n_t:,}); records to {self.data_end}",
        ]
        if self.adjusted:
            lines.append(f"  Lin-adjusted for {', '.join(self.adjusted)}")
        for m in self.measures:
            f = self._table[self._table["measure"] == m]
            scale, unit = (100.0, " pp") if self.outcome_unit[m] == "pp" else (1.0, "")
            lines.append(
                f"  {MEASURE_LABELS[m]} ({self.outcome_unit[m]}): {level} pointwise intervals and "
                f"simultaneous band (sup-t critical value {self.critical_values[m]:.3f}, "
                f"{self.draws:,} draws)"
            )
            lines.append(f"  {'month':>6} {'estimate':>10} {'SE':>9} {'pointwise':>24} "
                         f"{'simultaneous':>24}")
            for r in f.itertuples(index=False):
                lines.append(
                    f"  {r.month:>6} {number(scale * r.estimate) + unit:>10} "
                    f"{number(scale * r.std_error):>9} "
                    f"{'[' + number(scale * r.conf_low) + ', ' + number(scale * r.conf_high) + ']':>24} "
                    f"{'[' + number(scale * r.band_low) + ', ' + number(scale * r.band_high) + ']':>24}"
                )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<ImpactProfile {self.months} months of {', '.join(self.measures)}: "
                f"{self.treatment} vs {self.control}>")

    def alt_text(self, measure: str | None = None) -> str:
        """A description of :meth:`plot` for screen readers (the figure's alt text)."""
        m = self._measure(measure)
        f = self._table[self._table["measure"] == m]
        pp = self.outcome_unit[m] == "pp"
        scale, unit = (100.0, " percentage points") if pp else (1.0, " pounds a month")
        est = scale * f["estimate"].to_numpy()
        lo, hi = f["band_low"].to_numpy(), f["band_high"].to_numpy()
        above = f["month"].to_numpy()[(lo > 0)].tolist()
        below = f["month"].to_numpy()[(hi < 0)].tolist()
        excl = []
        if above:
            excl.append(f"above zero in months {', '.join(map(str, above))}")
        if below:
            excl.append(f"below zero in months {', '.join(map(str, below))}")
        return (
            f"Line chart of the effect of assignment to {self.treatment} on the "
            f"{MEASURE_LABELS[m]} in each of months 1 to {self.months} after randomisation, in"
            f"{unit}. Estimates run from {number(est.min())} to {number(est.max())}"
            f" (month 1: {number(est[0])}; month {self.months}: {number(est[-1])}). The "
            f"{100 * (1 - self.alpha):g}% simultaneous band lies "
            + (" and ".join(excl) if excl else "across zero in every month") + "."
        )

    def plot(self, ax: Axes | None = None, *, measure: str | None = None) -> Axes:
        """The profile of one measure: estimates joined by a line, pointwise intervals
        (bars) and the simultaneous band (shaded), in percentage points for the
        employment rate; Okabe-Ito colours. :meth:`alt_text` describes it."""
        import matplotlib.pyplot as plt

        m = self._measure(measure)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        f = self._table[self._table["measure"] == m]
        pp = self.outcome_unit[m] == "pp"
        s = 100.0 if pp else 1.0
        x = f["month"].to_numpy()
        level = f"{100 * (1 - self.alpha):g}%"
        ax.fill_between(x, s * f["band_low"], s * f["band_high"], color=OKABE_ITO["sky_blue"],
                        alpha=0.35, lw=0, label=f"{level} simultaneous band")
        est = s * f["estimate"].to_numpy()
        ax.errorbar(x, est, yerr=[est - s * f["conf_low"].to_numpy(),
                                  s * f["conf_high"].to_numpy() - est],
                    fmt="o-", color=OKABE_ITO["blue"], ms=4, capsize=2, lw=1.2,
                    label=f"estimate, {level} pointwise interval")
        ax.axhline(0, color=OKABE_ITO["black"], lw=0.8)
        ax.set_xticks(x if len(x) <= 24 else x[:: max(1, len(x) // 12)])
        ax.set_xlabel("months after randomisation")
        ax.set_ylabel(f"effect on {MEASURE_LABELS[m]} ({'pp' if pp else 'pounds'})")
        ax.set_title(f"{MEASURE_LABELS[m].capitalize()}: {self.treatment} vs {self.control}",
                     fontsize=10)
        ax.legend(loc="best", fontsize=8)
        return ax


def band_critical_value(
    vcov: np.ndarray, df: np.ndarray, *, alpha: float, draws: int, seed: int
) -> float:
    """The sup-t critical value of a profile: the ``1 - alpha`` quantile of ``max_k |Z_k|``
    with ``Z ~ N(0, corr(vcov))`` simulated with ``seed`` (Montiel Olea & Plagborg-Moller
    2019, eq. 7; Freyberger & Rai 2018), and never below the largest pointwise t critical
    value, so the band always contains every pointwise interval."""
    from scipy import stats

    V = np.asarray(vcov, dtype=float)
    sd = np.sqrt(np.clip(np.diag(V), 0, None))
    ok = sd > 0
    corr = V[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    try:
        # Cholesky is continuous in the matrix, so the same data in another row order
        # (a covariance equal up to rounding) gives the same critical value up to rounding
        root = np.linalg.cholesky((corr + corr.T) / 2)
    except np.linalg.LinAlgError:  # singular (months that move together): the eigen root
        c = sup_t_critical_value(V, draws=draws, rng=np.random.default_rng(seed), alpha=alpha)
    else:
        z = np.random.default_rng(seed).standard_normal((draws, root.shape[0])) @ root.T
        c = float(np.quantile(np.max(np.abs(z), axis=1), 1 - alpha)) if z.size else 0.0
    d = np.asarray(df, dtype=float)
    point = float(np.max(stats.t.ppf(1 - alpha / 2, np.where(np.isfinite(d), d, np.inf))))
    return max(c, point)


def build_profile(
    *, measures: tuple[str, ...], months: int, estimates: Mapping[str, np.ndarray],
    vcov: Mapping[str, np.ndarray], df: Mapping[str, np.ndarray], n_obs: int,
    means: Mapping[str, tuple[np.ndarray, np.ndarray]], alpha: float, draws: int, seed: int,
    treatment: str, control: str, n_by_arm: Mapping[str, int], data_end: str, design: str,
    se_type: str, notes: tuple[str, ...] = (), adjusted: tuple[str, ...] = (),
) -> ImpactProfile:
    """Assemble an :class:`ImpactProfile` (pointwise t intervals, sup-t band)."""
    from scipy import stats

    frames, crit = [], {}
    for m in measures:
        est = np.asarray(estimates[m], dtype=float)
        V = np.asarray(vcov[m], dtype=float)
        se = np.sqrt(np.clip(np.diag(V), 0, None))
        d = np.asarray(df[m], dtype=float)
        c = band_critical_value(V, d, alpha=alpha, draws=draws, seed=seed)
        crit[m] = c
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(np.nan_to_num(stat)), d), np.nan)
        ends = [t_interval(e, s, k, alpha) for e, s, k in zip(est, se, d, strict=True)]
        frames.append(pd.DataFrame({
            "term": [f"{m} month {k}" for k in range(1, months + 1)], "measure": m,
            "month": np.arange(1, months + 1), "estimate": est, "std_error": se,
            "statistic": stat, "p_value": p, "conf_low": [lo for lo, _ in ends],
            "conf_high": [hi for _, hi in ends], "band_low": est - c * se,
            "band_high": est + c * se, "df": d, "n_obs": n_obs,
            "control_mean": means[m][0], "treatment_mean": means[m][1],
            "se_type": se_type, "design": design,
        }, columns=PROFILE_COLUMNS))
    table = pd.concat(frames, ignore_index=True)
    return ImpactProfile(
        _table=table, _vcov=dict(vcov), measures=tuple(measures), months=months,
        critical_values=crit, alpha=alpha, draws=draws, seed=seed,
        outcome_unit={m: ("pp" if m == "employed" else "pounds") for m in measures},
        treatment=treatment, control=control, n_by_arm=dict(n_by_arm), data_end=data_end,
        design=design, se_type=se_type, notes=notes, adjusted=adjusted,
    )

