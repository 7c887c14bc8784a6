"""Statistical disclosure control for published tables.

UK official statistics protect people in small groups before tables are
published: counts below a threshold are suppressed and the others are rounded
to a base (the Government Statistical Service's guidance on disclosure control
of tables; DWP's Stat-Xplore, for example, rounds to the nearest 5 or 10 and
suppresses small cells). :class:`DisclosureRules` holds the rules a report
applies; :meth:`DisclosureRules.control` applies them to one table and returns
it with its disclosure log:

- primary suppression of small counts and rounding of the others;
- proportions (rates, means of 0/1 variables) suppressed where their numerator
  or its complement is small, and otherwise recomputed from the *published*
  (rounded) counts, so that a proportion times a published group size gives
  back nothing but the published count;
- a dominance rule for magnitude cells (totals or means of earnings);
- secondary (complementary) suppression, so that no suppressed cell can be
  recovered by differencing from a published total.

Estimates (effects, their intervals, p-values) are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import OptionError
from dwp_eval.report import _sdc

__all__ = ["DisclosureRules"]


@dataclass(frozen=True)
class DisclosureRules:
    """How counts are protected before they are published.

    Parameters
    ----------
    min_count
        Counts from 1 to ``min_count - 1`` are suppressed (shown as
        ``suppressed``). 0 turns suppression off.
    round_to
        Other counts are rounded to the nearest multiple of ``round_to``
        (halves upwards, so 12 -> 10, 13 -> 15). 1 turns rounding off.
    suppressed
        What a suppressed cell shows (``"[c]"``, the GSS symbol for
        "confidential").
    suppress_zero
        Also suppress true zeros (off by default: the GSS guidance treats
        zeros case by case).
    rate_decimals
        When counts are rounded, proportions (rates, means of 0/1 variables)
        are recomputed from the rounded counts and shown to this many decimals
        (2: whole percentage points), since a precise rate and a rounded group
        size would give the exact count back; their Wilson intervals are
        recomputed from the same published counts.
    p_percent
        The p% rule for magnitude cells (a total or mean of earnings, say):
        a cell is suppressed when the contributions other than the two largest
        sum to less than ``p_percent`` % of the largest, so that the second
        largest contributor could estimate the largest to within p%. 0 turns
        it off.
    nk_rule
        The (n, k) dominance rule: a magnitude cell is suppressed when its
        ``n`` largest contributions make up more than ``k`` % of its total.
        ``(0, 0)`` turns it off.
    secondary
        Complementary suppression: when a published total (a margin of rows,
        or a row total of columns) has exactly one suppressed part, the
        smallest other part is suppressed too, so the first cannot be
        recovered by differencing.

    Notes
    -----
    Suppressing counts below 10 and rounding the others to base 5 are the usual
    choices in UK official statistics from administrative data (the methods
    are described in the Government Statistical Service's *Disclosure control
    guidance for tables produced from administrative sources*, 2014; the
    numbers are set by each department). The dominance defaults (p = 10%;
    n = 2, k = 90%) and the threshold of 10 are the defaults of ACRO (the
    output-checking tool of UK trusted research environments, ``acro``'s
    ``default.yaml``), which follow the Safe Data Access Professionals'
    *Handbook on Statistical Disclosure Control for Outputs* (Griffiths et
    al. 2019). The sensitivity rules are defined in Hundepool et al. (2012),
    *Statistical Disclosure Control*, Wiley, section 4.2: for contributions
    ``x_1 >= x_2 >= ...`` to a cell total ``X``, the (n, k) rule flags
    ``x_1 + ... + x_n > k X / 100`` and the p% rule flags
    ``X - x_1 - x_2 < p x_1 / 100``.

    Examples
    --------
    >>> import pandas as pd
    >>> rules = DisclosureRules(min_count=10, round_to=5)
    >>> rules.apply(pd.DataFrame({"n": [3, 12, 1003]}), counts=["n"])["n"].tolist()
    ['[c]', 10, 1005]
    """

    min_count: int = 10
    round_to: int = 5
    suppressed: str = "[c]"
    suppress_zero: bool = False
    rate_decimals: int = 2
    p_percent: float = 10.0
    nk_rule: tuple[int, float] = (2, 90.0)
    secondary: bool = True

    def __post_init__(self) -> None:
        for name in ("min_count", "round_to", "rate_decimals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise OptionError(
                    f"The '{name}' parameter of DisclosureRules must be a non-negative int. "
                    f"Got {value!r} instead."
                )
        if self.round_to == 0:
            raise OptionError(
                "The 'round_to' parameter of DisclosureRules must be at least 1 (1 means no "
                "rounding). Got 0 instead."
            )
        p = self.p_percent
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not (
            0 <= p < 100
        ):
            raise OptionError(
                "The 'p_percent' parameter of DisclosureRules must be a number in [0, 100) (0 turns "
                f"the p% rule off). Got {p!r} instead."
            )
        nk = self.nk_rule
        ok = (
            isinstance(nk, (tuple, list)) and len(nk) == 2
            and isinstance(nk[0], (int, np.integer)) and not isinstance(nk[0], bool)
            and isinstance(nk[1], (int, float, np.integer, np.floating))
            and not isinstance(nk[1], bool) and nk[0] >= 0 and 0 <= nk[1] <= 100
            and ((nk[0] == 0) == (nk[1] == 0))
        )
        if not ok:
            raise OptionError(
                "The 'nk_rule' parameter of DisclosureRules must be a pair (n, k): an int n >= 1 "
                f"and a percentage k in (0, 100], or (0, 0) for off. Got {nk!r} instead."
            )
        object.__setattr__(self, "nk_rule", (int(nk[0]), float(nk[1])))
        if not isinstance(self.secondary, bool):
            raise OptionError(
                f"The 'secondary' parameter of DisclosureRules must be True or False. Got "
                f"{self.secondary!r} instead."
            )

    @property
    def active(self) -> bool:
        """Whether the rules change anything at all."""
        return (self.min_count > 0 or self.round_to > 1 or self.suppress_zero
                or self.p_percent > 0 or self.nk_rule[0] > 0)

    def describe(self) -> str:
        """The rules in one sentence, as a report's footnote states them."""
        if not self.active:
            return "No disclosure control was applied."
        parts = []
        if self.min_count > 0:
            zero = " (and zeros)" if self.suppress_zero else ""
            parts.append(
                f"counts below {self.min_count}{zero} are suppressed ({self.suppressed}), with "
                "any rate computed from them"
            )
            parts.append(
                "a rate or mean of a 0/1 outcome is suppressed when its count or the count "
                f"without the outcome is below {self.min_count}"
            )
        if self.round_to > 1:
            parts.append(
                f"other counts are rounded to the nearest {self.round_to}, and rates and means "
                "of 0/1 outcomes are computed from the rounded counts and shown to "
                f"{self.rate_decimals} decimals"
            )
        dom = []
        if self.p_percent > 0:
            dom.append(f"the p% rule (p = {self.p_percent:g})")
        if self.nk_rule[0] > 0:
            dom.append(f"the (n, k) rule (n = {self.nk_rule[0]}, k = {self.nk_rule[1]:g}%)")
        if dom:
            parts.append(f"means of earnings and other magnitudes follow {' and '.join(dom)}")
        if self.secondary and self.min_count > 0:
            parts.append("a second cell is suppressed wherever one suppressed cell could be "
                         "recovered from a published total")
        text = "; ".join(parts)
        return (
            f"Disclosure control: {text}. Effects, intervals and p-values use the unrounded "
            "data; the disclosure log lists every cell suppressed and why."
        )

    def protect(self, count: Any) -> Any:
        """One count after the rules: an int, or the suppression symbol."""
        if count is None or (isinstance(count, float) and np.isnan(count)) or count is pd.NA:
            return count
        c = int(count)
        if c != count:
            raise OptionError(
                f"DisclosureRules.protect: {count!r} is not a whole number. Fix: apply the rules "
                "to counts only."
            )
        if (0 < c < self.min_count) or (c == 0 and self.suppress_zero):
            return self.suppressed
        if self.round_to > 1:
            # halves upwards: floor(c / base + 1/2) * base, in integers
            return ((2 * c + self.round_to) // (2 * self.round_to)) * self.round_to
        return c

    def dominated(self, values: Any) -> str | None:
        """Why a magnitude cell made of these individual contributions must be withheld
        (fewer than ``min_count`` contributors, the (n, k) rule or the p% rule), or
        ``None`` when it may be published.

        Examples
        --------
        >>> DisclosureRules().dominated([400_000.0] + [1_000.0] * 23)
        '(n, k) rule: the largest 2 contributions are 95% of the total, over 90%'
        """
        return _sdc.dominated(self, np.asarray(values, dtype=float))

    def control(
        self,
        frame: pd.DataFrame,
        *,
        counts: Sequence[str],
        rates: Mapping[str, str] | None = None,
        proportions: Mapping[str, tuple[str, str | None]] | None = None,
        intervals: Mapping[str, str] | None = None,
        derived: Mapping[str, str | tuple[str, ...]] | None = None,
        binary: Sequence[bool] | None = None,
        magnitudes: Mapping[str, Sequence[Any]] | None = None,
        margins: Sequence[Sequence[int]] | None = None,
        row_totals: Mapping[str, Sequence[str]] | None = None,
        linked: Mapping[str, Sequence[str]] | None = None,
        together: Sequence[Sequence[str]] | None = None,
        estimates: Mapping[str, Sequence[str]] | None = None,
        table: str = "",
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One published table under the rules, and its disclosure log.

        Parameters
        ----------
        frame
            A table to publish.
        counts
            Its columns of counts of people (those present are protected).
        rates
            ``{column: count column}``: columns computed from a count,
            suppressed wherever that count is (and rounded to
            ``rate_decimals`` beside rounded counts).
        proportions
            ``{column: (denominator column, numerator column or None)}``:
            rates and means of 0/1 variables. Suppressed when the numerator
            (``column x denominator`` when no numerator column is given) or
            its complement is from 1 to ``min_count - 1``, or the denominator
            is suppressed; otherwise recomputed from the published counts.
        intervals
            ``{interval column: proportion column}``: Wilson bounds,
            recomputed from the published counts (suppressed with the
            proportion).
        derived
            ``{column: proportion column(s)}``: other statistics of the same
            0/1 variable (a standard deviation), suppressed with any of them
            and otherwise rounded to ``rate_decimals``.
        binary
            Per row, whether the ``proportions`` columns hold a proportion
            there (a 0/1 outcome); all rows by default.
        magnitudes
            ``{column: per-row contributions}``: cells that are totals or
            means of magnitudes; each row's array of individual values (or
            ``None``) is checked with the dominance rules.
        margins
            Groups of row positions whose sum is published (in this table or
            another): secondary suppression within each group.
        row_totals
            ``{total column: part columns}``: the parts add up to the total in
            every row (``n_obs = n_control + n_treatment``).
        linked
            ``{count column: columns}``: further columns suppressed wherever
            the count is (after secondary suppression).
        together
            Groups of columns withheld together in a row (the two arm means
            beside their published difference: if one is withheld, so is the
            other).
        estimates
            ``{degrees-of-freedom column: estimate columns}``: model estimates
            withheld where the residual degrees of freedom are below
            ``min_count`` (ACRO's rule for regression outputs).
        table
            The table's name in the log.

        Returns
        -------
        (pandas.DataFrame, pandas.DataFrame)
            The controlled table (the same rows and columns; changed columns
            have object dtype, ``attrs["suppressed"]`` and ``attrs["rounded"]``
            count the cells changed) and its log, one row per suppressed
            cell: ``table, row, column, rule, reason`` (rule: ``threshold``,
            ``proportion``, ``dominance``, ``degrees of freedom`` or
            ``secondary``), plus a ``total`` row (row ``"(total)"``) for a
            margin whose exact total would still narrow a withheld cell after
            every other cell is withheld: that total must be withheld (or
            rounded) where it is published.
        """
        ctl = _sdc.Control(self, frame, table, _sdc.row_labels(frame, counts))
        n_sup, n_rounded = _sdc.primary(ctl, counts)
        rows = np.ones(len(frame), dtype=bool) if binary is None else np.asarray(binary, bool)
        if len(rows) != len(frame):
            raise OptionError(
                f"DisclosureRules.control: 'binary' has {len(rows)} entries for a table of "
                f"{len(frame)} rows. Fix: give one per row."
            )
        props = dict(proportions or {})
        ivals = dict(intervals or {})
        _sdc.proportions(ctl, props, rows, ivals, dict(derived or {}))
        _sdc.magnitudes(ctl, dict(magnitudes or {}))
        _sdc.degrees_of_freedom(ctl, dict(estimates or {}))
        counted = [c for c in counts if c in frame.columns]
        _sdc.secondary(ctl, counted, list(margins or []), dict(row_totals or {}),
                       dict(linked or {}))
        _sdc.proportions(ctl, props, rows, ivals, dict(derived or {}))
        _sdc.together(ctl, list(together or []))
        for col, source in (rates or {}).items():
            if col not in frame.columns or source not in ctl.hidden:
                continue
            values = ctl.column(col)
            for i, v in enumerate(values):
                if ctl.is_hidden(source, i):
                    ctl.suppress(col, i, "threshold", f"computed from the suppressed {source}")
                elif self.round_to > 1 and not isinstance(v, str) and not pd.isna(v):
                    values[i] = round(float(v), self.rate_decimals)
        out = frame.copy()
        for col, values in ctl.cells.items():
            out[col] = pd.Series(values, index=out.index, dtype=object)
        n_sup = sum(int(m.sum()) for c, m in ctl.hidden.items() if c in counted)
        out.attrs = {**frame.attrs, "suppressed": n_sup, "rounded": n_rounded}
        return out, _sdc.log_frame(ctl.log)

    def apply(
        self,
        frame: pd.DataFrame,
        *,
        counts: Sequence[str],
        rates: Mapping[str, str] | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """:meth:`control`'s table alone (the log is in ``attrs["log"]`` as records).

        Parameters
        ----------
        frame
            A published table.
        counts
            Its columns of counts of people (those present are protected).
        rates
            ``{column: count column}``: columns computed from a count (a rate,
            or its interval), suppressed wherever that count is.
        **options
            The other arguments of :meth:`control`.
        """
        out, log = self.control(frame, counts=counts, rates=rates, **options)
        out.attrs["log"] = log.to_dict("records")
        return out
