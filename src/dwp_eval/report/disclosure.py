"""Statistical disclosure control for published counts.

UK official statistics protect people in small groups before counts are
published: counts below a threshold are suppressed and the others are rounded
to a base (the Government Statistical Service's guidance on disclosure control
of tables; DWP's Stat-Xplore, for example, rounds to the nearest 5 or 10 and
suppresses small cells). :class:`DisclosureRules` holds the rules a report
applies and :meth:`DisclosureRules.apply` applies them to the count columns of
a table, leaving estimates (effects, means, intervals) untouched. Rates computed
from a suppressed count are suppressed with it, since the rate and the group
size would give the count away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import OptionError

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
        When counts are rounded, rates computed from them (and their
        intervals) are rounded to this many decimals (2: whole percentage
        points), since a precise rate and a rounded group size would give the
        exact count back.

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

    @property
    def active(self) -> bool:
        """Whether the rules change anything at all."""
        return self.min_count > 0 or self.round_to > 1 or self.suppress_zero

    def describe(self) -> str:
        """The rules in one sentence, as a report's footnote states them."""
        if not self.active:
            return "No disclosure control was applied to counts."
        parts = []
        if self.min_count > 0:
            zero = " (and zeros)" if self.suppress_zero else ""
            parts.append(
                f"counts below {self.min_count}{zero} are suppressed ({self.suppressed}), with "
                "any rate computed from them"
            )
        if self.round_to > 1:
            parts.append(
                f"other counts are rounded to the nearest {self.round_to}, and rates computed "
                f"from them to {self.rate_decimals} decimals"
            )
        text = "; ".join(parts)
        return (
            f"Disclosure control: {text}. Estimates, means and intervals use the unrounded "
            "data."
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

    def apply(
        self,
        frame: pd.DataFrame,
        *,
        counts: Sequence[str],
        rates: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """A copy of ``frame`` with its count columns protected.

        Parameters
        ----------
        frame
            A published table.
        counts
            Its columns of counts of people (those present are protected).
        rates
            ``{column: count column}``: columns computed from a count (a rate,
            or its interval), suppressed wherever that count is.

        Returns
        -------
        pandas.DataFrame
            The same rows and columns; protected count columns have object
            dtype (ints and the suppression symbol). ``attrs["suppressed"]``
            and ``attrs["rounded"]`` count the cells changed.
        """
        out = frame.copy()
        n_suppressed = 0
        n_rounded = 0
        masks: dict[str, np.ndarray] = {}
        for col in counts:
            if col not in out.columns:
                continue
            before = out[col].tolist()
            after = [self.protect(v) for v in before]
            mask = np.array([a is self.suppressed or a == self.suppressed for a in after])
            masks[col] = mask
            n_suppressed += int(mask.sum())
            n_rounded += sum(
                1 for b, a, m in zip(before, after, mask, strict=True) if not m and a != b
            )
            out[col] = pd.Series(after, index=out.index, dtype=object)
        for col, source in (rates or {}).items():
            if col not in out.columns or source not in masks:
                continue
            values = out[col].tolist()
            for i, v in enumerate(values):
                if masks[source][i]:
                    values[i] = self.suppressed
                elif self.round_to > 1 and not isinstance(v, str) and not pd.isna(v):
                    # a precise rate and a rounded group size would give the exact count back
                    values[i] = round(float(v), self.rate_decimals)
            out[col] = pd.Series(values, index=out.index, dtype=object)
        out.attrs = {**frame.attrs, "suppressed": n_suppressed, "rounded": n_rounded}
        return out
