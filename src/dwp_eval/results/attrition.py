"""The results of :func:`dwp_eval.attrition` (:class:`Attrition`: response by
arm, tests of differential attrition, non-response weights) and
:func:`dwp_eval.lee_bounds` (:class:`LeeBounds`: Lee 2009 trimming bounds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from dwp_eval._core.contract import IntervalEnds, ResultMixin, interval_frame
from dwp_eval._core.format import df_text, number, p_value_text, percent
from dwp_eval._core.proportion import wilson_interval
from dwp_eval._core.wald import WaldTest
from dwp_eval._validation import check_alpha
from dwp_eval.results.effect import Effect
from dwp_eval.results.palette import BLUE, GREY, VERMILLION, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ATTRITION_COLUMNS",
    "CELL_COLUMNS",
    "LEE_COLUMNS",
    "TEST_COLUMNS",
    "Attrition",
    "LeeBounds",
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



@dataclass(frozen=True, eq=False, repr=False)
class Attrition(ResultMixin):
    """Response by arm, tests of differential attrition and non-response weights.

    Made by :func:`dwp_eval.attrition`.

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

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Wilson (1927) ``1 - alpha`` intervals of each arm's response rate (default:
        the result's alpha), one row per arm (``term`` is the arm)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="Attrition.conf_int")
        f = self._frame
        lo, hi = wilson_interval(f["n_responded"].to_numpy(), f["n"].to_numpy(), a)
        return interval_frame([str(v) for v in f["arm"]], lo, hi)

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
                f"  response        {r.arm!s:<12} {percent(r.response_rate):>6} "
                f"({r.n_responded:,} of {r.n:,}); Wilson {level} CI "
                f"[{percent(r.conf_low)}, {percent(r.conf_high)}]"
            )
        lines.append(
            f"  difference      {100 * d.estimate:.2f} pp (SE {100 * d.std_error:.2f} pp), "
            f"t = {d.statistic:.3f}, df = {df_text(d.df)}, {p_value_text(d.p_value)}; "
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
                f"{p_value_text(c.p_value)}: the covariates {says_c} response"
            )
            lines.append(
                f"  covariates x arm {i.reference} = {i.statistic:.3f}, "
                f"{p_value_text(i.p_value)}: {says_i} ({i.se_type})"
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
        rates = ", ".join(f"{a} {percent(r)}" for a, r in self.response_rate.items())
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
        kwargs.setdefault("color", BLUE)
        ax.errorbar(rate, y, xerr=err, fmt="o", capsize=4, **kwargs)
        ax.set_yticks(y, [str(a) for a in f["arm"]])
        ax.set_ylim(-0.6, len(f) - 0.4)
        ax.set_xlabel(f"response rate (%), Wilson {100 * (1 - self.alpha):g}% CI")
        ax.set_title(f"{self.responded}: p = {self.differential.p_value:.3g} for a difference")
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        f = self._frame
        arms = "; ".join(
            f"{a} {percent(r)} [{percent(lo)}, {percent(hi)}]"
            for a, r, lo, hi in zip(f["arm"], f["response_rate"], f["conf_low"], f["conf_high"],
                                    strict=True))
        return (f"Response rate ({self.responded}) by arm with Wilson "
                f"{100 * (1 - self.alpha):g}% intervals: {arms}; "
                f"p = {self.differential.p_value:.3g} for a difference between arms.")


@dataclass(frozen=True, eq=False, repr=False)
class LeeBounds(IntervalEnds, ResultMixin):
    """Lee (2009) trimming bounds on the effect for people who respond in either arm.

    Made by :func:`dwp_eval.lee_bounds`.

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


    def critical_value(self, alpha: float | None = None) -> float:
        """Imbens-Manski critical value ``C_n`` at level ``1 - alpha`` (see
        :func:`dwp_eval.lee_bounds`)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="LeeBounds.critical_value")
        return _imbens_manski_c(self.upper - self.lower, self.se_lower, self.se_upper, a)

    def interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: the Imbens & Manski (2004) ``1 - alpha`` interval for the
        effect (default: the result's alpha)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="LeeBounds.conf_int")
        c = self.critical_value(a)
        return self.lower - c * self.se_lower, self.upper + c * self.se_upper

    def set_interval(self, alpha: float | None = None) -> tuple[float, float]:
        """``(low, high)``: ``[lower - z se_lower, upper + z se_upper]`` with ``z =
        z_{1 - alpha/2}``, which covers the whole identified set with probability at
        least ``1 - alpha``."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="LeeBounds.set_conf_int")
        z = float(stats.norm.ppf(1 - a / 2))
        return self.lower - z * self.se_lower, self.upper + z * self.se_upper

    def set_conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The interval covering the whole identified set (see :meth:`set_interval`) as
        a one-row table ``term, conf_low, conf_high``."""
        lo, hi = self.set_interval(alpha)
        return interval_frame([f"{self.treatment} vs {self.control}"], [lo], [hi])

    @property
    def set_conf_low(self) -> float:
        return self.set_interval()[0]

    @property
    def set_conf_high(self) -> float:
        return self.set_interval()[1]

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
            f"  response        {c} {percent(self.response_rate[c])} ({self.n_responded[c]:,} of "
            f"{self.n_by_arm[c]:,}), {t} {percent(self.response_rate[t])} "
            f"({self.n_responded[t]:,} of {self.n_by_arm[t]:,})",
        ]
        if self.trimmed_arm is None:
            lines.append("  trimming        none: equal response rates, the bounds are the "
                         "difference among responders")
        else:
            lines.append(
                f"  trimming        {percent(self.trimming_proportion)} of {self.trimmed_arm}'s "
                "responders (the arm with the higher response rate), from the top for the "
                "lower bound and from the bottom for the upper"
            )
        how = ("analytic, Lee 2009 Prop. 3" if self.n_bootstrap is None
               else f"bootstrap, {self.n_bootstrap:,} draws within arms")
        lo, hi = self.interval()
        slo, shi = self.set_interval()
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
                f"trimmed {self.trimmed_arm} {percent(self.trimming_proportion)}>")

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The bounds (thick), the Imbens-Manski interval (thin) and the
        difference among responders (a dot)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 2))
        lo, hi = self.interval()
        ax.hlines(0, lo, hi, lw=1.2, color=GREY,
                  label=f"{100 * (1 - self.alpha):g}% CI (Imbens-Manski)")
        kwargs.setdefault("color", BLUE)
        ax.hlines(0, self.lower, self.upper, lw=6, label="Lee bounds", **kwargs)
        ax.plot([self.responders_difference], [0], "D", color=VERMILLION,
                label="responders' difference")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks([])
        ax.set_xlabel(f"effect on {self.outcome} ({self.treatment} vs {self.control})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8,
                  frameon=False)
        set_alt_text(ax, self.alt_text())
        return ax

    def alt_text(self) -> str:
        """The sentence a screen reader reads for :meth:`plot`."""
        lo, hi = self.interval()
        return (f"Lee bounds on the effect on {self.outcome} ({self.treatment} vs {self.control}) "
                f"for people who would respond in either arm: [{number(self.lower)}, "
                f"{number(self.upper)}], with the {100 * (1 - self.alpha):g}% Imbens-Manski "
                f"interval [{number(lo)}, {number(hi)}] and the difference among responders, "
                f"{number(self.responders_difference)}, marked.")


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
