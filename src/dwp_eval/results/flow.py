"""The result of :func:`dwp_eval.flow`: participant flow through a trial, stage by
stage, as in the CONSORT 2010 flow diagram (Schulz, Altman & Moher 2010, *BMJ*
340:c332, Figure 1). :class:`Flow` gives the counts as a tidy table
(``to_frame()``) and draws the diagram (``plot()``), also from a table whose
counts have been suppressed or rounded for disclosure control.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval._validation import _fmt_list
from dwp_eval.errors import OptionError
from dwp_eval.results.palette import BLUE, set_alt_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.text import Text

__all__ = ["FLOW_COLUMNS", "FLOW_STAGES", "MAX_LOST_REASONS_DRAWN", "MAX_REASONS_DRAWN",
           "NOT_ADDING_UP", "Flow"]

#: Columns of :meth:`Flow.to_frame`.
FLOW_COLUMNS = ["stage", "arm", "reason", "count"]

#: Stages in CONSORT order. The first three come before randomisation (``arm``
#: is missing); the others have one row per arm. ``not_due`` (randomised too
#: recently to be due for follow-up) is not ``lost_to_follow_up``.
FLOW_STAGES = (
    "assessed",
    "excluded",
    "randomised",
    "allocated",
    "received",
    "not_received",
    "not_due",
    "lost_to_follow_up",
    "analysed",
    "excluded_from_analysis",
)

_ARM_STAGES = FLOW_STAGES[3:]

#: Most exclusion reasons listed in the diagram; the rest are summed on one line.
MAX_REASONS_DRAWN = 8

#: Most reasons for loss to follow-up listed in each arm's box.
MAX_LOST_REASONS_DRAWN = 4

#: The diagram's note when the (rounded or suppressed) counts it shows do not add up.
NOT_ADDING_UP = ("Counts are rounded or suppressed for disclosure control, so the boxes "
                 "do not add up exactly.")

_Key = tuple[str, str | None, str | None]


@dataclass(frozen=True, eq=False, repr=False)
class Flow(ResultMixin):
    """Participant flow through a trial, stage by stage, as in the CONSORT 2010 diagram.

    Made by :func:`dwp_eval.flow`. Counts of a stage that was not recorded (no
    ``received``, ``not_due``, ``followed_up`` or ``outcome`` column; no
    ``excluded`` or ``assessed``) are ``None`` and have no rows in
    :meth:`to_frame`, and the diagram has no box for them: a count is never
    invented.

    Attributes
    ----------
    arms
        The arms, control first, then the others in sorted order.
    control
        The control arm's label.
    n_assessed, n_excluded, n_randomised
        People assessed for eligibility, excluded before randomisation, and
        randomised (``n_assessed = n_excluded + n_randomised``). The first two
        are ``None`` when neither ``excluded=`` nor ``assessed=`` was given.
    excluded_by_reason
        People excluded, by reason, largest first (empty when no reasons were given).
    allocated
        People allocated to each arm (they sum to ``n_randomised``).
    received, not_received
        People in each arm who did and did not receive the intervention they
        were allocated to (``None`` without ``received=``).
    lost_to_follow_up
        People in each arm with ``followed_up = 0`` who were due for follow-up
        (``None`` without ``followed_up=``).
    analysed, excluded_from_analysis
        People in each arm in the analysis, and followed up but not analysed
        (see :func:`dwp_eval.flow` for the rule).
    recorded_exclusions
        Whether the exclusions before randomisation are known (``excluded=`` or
        ``assessed=``); the diagram draws the eligibility boxes only then.
    not_due
        People in each arm not yet due for follow-up when the data were
        extracted (``None`` without ``not_due=``): neither lost nor analysed.
    lost_by_reason
        Per arm, the people lost to follow-up by reason (``None`` without
        ``lost_reason=``); each arm's reasons sum to its ``lost_to_follow_up``.
    """

    arms: tuple[str, ...]
    control: str
    n_assessed: int | None
    n_excluded: int | None
    n_randomised: int
    excluded_by_reason: Mapping[str, int]
    allocated: Mapping[str, int]
    received: Mapping[str, int] | None
    not_received: Mapping[str, int] | None
    lost_to_follow_up: Mapping[str, int] | None
    analysed: Mapping[str, int]
    excluded_from_analysis: Mapping[str, int] | None
    recorded_exclusions: bool
    not_due: Mapping[str, int] | None = None
    lost_by_reason: Mapping[str, Mapping[str, int]] | None = None
    _frame: pd.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_frame", self._build_frame())
        super().__post_init__()

    def _build_frame(self) -> pd.DataFrame:
        rows: list[tuple[str, str | None, str | None, int]] = []
        if self.n_assessed is not None:
            rows.append(("assessed", None, None, self.n_assessed))
        if self.n_excluded is not None:
            rows.append(("excluded", None, None, self.n_excluded))
            rows += [("excluded", None, r, k) for r, k in self.excluded_by_reason.items()]
        rows.append(("randomised", None, None, self.n_randomised))
        for stage in _ARM_STAGES:
            counts = getattr(self, stage)
            if counts is None:
                continue
            rows += [(stage, arm, None, int(counts[arm])) for arm in self.arms]
            if stage == "lost_to_follow_up" and self.lost_by_reason is not None:
                rows += [(stage, arm, r, int(k)) for arm in self.arms
                         for r, k in self.lost_by_reason[arm].items()]
        frame = pd.DataFrame(rows, columns=FLOW_COLUMNS)
        frame["arm"] = frame["arm"].astype("string")
        frame["reason"] = frame["reason"].astype("string")
        frame["count"] = frame["count"].astype("int64")
        return frame

    @property
    def counts(self) -> Mapping[_Key, int]:
        """Every count, keyed by ``(stage, arm, reason)`` as in :meth:`to_frame`
        (``None`` for a missing arm or reason), in CONSORT order."""
        return MappingProxyType({
            _key(stage, arm, reason): int(count)
            for stage, arm, reason, count in self._frame.itertuples(index=False)
        })

    def to_frame(self) -> pd.DataFrame:
        """The counts in CONSORT order: columns ``stage, arm, reason, count``.

        ``arm`` is missing for the stages before randomisation (``assessed``,
        ``excluded``, ``randomised``); ``reason`` is missing except on the
        ``excluded`` and ``lost_to_follow_up`` rows by reason (the row without
        a reason is the total).
        Stages are those of :data:`FLOW_STAGES`; stages that were not recorded
        have no rows.
        """
        return self._frame.copy()

    def summary(self) -> str:
        if self.n_assessed is None or self.n_excluded is None:
            lines = [f"CONSORT flow: {self.n_randomised:,} randomised (assessment for "
                     "eligibility not recorded)"]
        else:
            lines = [
                f"CONSORT flow: {self.n_assessed:,} assessed, {self.n_excluded:,} excluded, "
                f"{self.n_randomised:,} randomised"
            ]
        for reason, k in self.excluded_by_reason.items():
            lines.append(f"  excluded: {reason:<30} {k:>8,}")
        width = max(12, *(len(a) for a in self.arms))
        lines.append(f"  {'':<26}" + "".join(f"{a:>{width + 2}}" for a in self.arms))
        labels = {
            "allocated": "allocated",
            "received": "received allocation",
            "not_received": "did not receive it",
            "not_due": "not yet due for follow-up",
            "lost_to_follow_up": "lost to follow-up",
            "analysed": "analysed",
            "excluded_from_analysis": "excluded from analysis",
        }
        for stage in _ARM_STAGES:
            counts = getattr(self, stage)
            if counts is None:
                continue
            lines.append(
                f"  {labels[stage]:<26}" + "".join(f"{counts[a]:>{width + 2},}" for a in self.arms)
            )
            if stage == "lost_to_follow_up" and self.lost_by_reason is not None:
                reasons = dict.fromkeys(r for a in self.arms for r in self.lost_by_reason[a])
                lines += [f"    {r[:22]:<22}" + "".join(
                    f"{self.lost_by_reason[a].get(r, 0):>{width + 2},}" for a in self.arms)
                    for r in reasons]
        return "\n".join(lines)

    def __repr__(self) -> str:
        per_arm = ", ".join(f"{a} {self.allocated[a]:,}" for a in self.arms)
        seen = "" if self.n_assessed is None else f"{self.n_assessed:,} assessed, "
        return f"<Flow {seen}{self.n_randomised:,} randomised ({per_arm})>"

    def plot(self, ax: Axes | None = None, *, frame: pd.DataFrame | None = None) -> Axes:
        """Draw the CONSORT 2010 flow diagram.

        Parameters
        ----------
        ax
            Axes to draw on (its axis lines are turned off); a new figure
            sized for the number of arms when ``None``.
        frame
            A transformed copy of :meth:`to_frame` whose ``count`` column may
            hold other values, e.g. after disclosure control: rounded counts,
            or text such as ``"<10"``. The diagram shows whatever is in it
            (whole numbers with thousands separators, text as it is, a missing
            value as an en dash). It must keep the ``stage``, ``arm`` and
            ``reason`` of every row the diagram needs; a missing row raises
            :class:`~dwp_eval.errors.OptionError`. ``None`` draws this
            result's own counts.

        Returns
        -------
        matplotlib.axes.Axes

        Notes
        -----
        The boxes follow the CONSORT 2010 template (Schulz, Altman & Moher
        2010, Figure 1): *Enrolment* (assessed for eligibility, excluded with
        reasons, randomised), *Allocation* (allocated to each arm; received
        and did not receive the allocated intervention), *Follow-up* (lost to
        follow-up, with reasons, and not yet due for follow-up) and *Analysis*
        (analysed; excluded from analysis). Boxes of stages that were not
        recorded are left out: the eligibility boxes appear only when the
        exclusions (or the number assessed) were given, and people randomised
        too recently to be due for follow-up are not counted as lost. When the
        counts of ``frame`` (rounded or suppressed) no longer add up
        (:meth:`adds_up`), a note under the diagram says so. The figure's
        ``alt_text`` (:meth:`alt_text`) describes the diagram in words.
        """
        import matplotlib.pyplot as plt

        values = self._lookup(frame)
        k = len(self.arms)
        n_reasons = min(len(self.excluded_by_reason), MAX_REASONS_DRAWN + 1)
        if ax is None:
            _, ax = plt.subplots(figsize=(max(7.5, 1.4 + 3.1 * k), 8.0 + 0.15 * n_reasons))
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)

        def n(key: _Key) -> str:
            text = values[key]
            # a suppressed count such as "<10" reads "(n <10)", not "(n = <10)"
            return f"(n {text})" if text and text[0] in "<>\u2264\u2265~" else f"(n = {text})"

        box = {"boxstyle": "square,pad=0.5", "facecolor": "white", "edgecolor": "black", "lw": 0.9}
        label_box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": BLUE,
                     "lw": 1.0}
        font = 8.0 if k <= 3 else 7.0
        left = 0.13  # the stage labels sit in the left margin
        centres = [left + (1 - left) * (2 * i + 1) / (2 * k) for i in range(k)]
        cx = left + (1 - left) / 2

        def put(x: float, y: float, text: str, *, va: str = "top", ha: str = "center") -> Text:
            return ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=font,
                           bbox=box, multialignment="left", zorder=3)

        def edge(item: Any) -> Any:
            # a box's outline (text plus padding), placed when the box is drawn
            return item.get_bbox_patch() if hasattr(item, "get_bbox_patch") else item

        def arrow(start: Any, start_at: tuple[float, float], end: Any,
                  end_at: tuple[float, float], connection: str = "arc3") -> None:
            props = {"arrowstyle": "-|>", "lw": 0.9, "color": "black", "mutation_scale": 10,
                     "shrinkA": 0, "shrinkB": 0, "connectionstyle": connection}
            # drawn after the boxes (higher zorder), whose outlines are then in place
            ax.annotate("", xy=end_at, xycoords=edge(end), xytext=start_at,
                        textcoords=edge(start), arrowprops=props, zorder=4)

        def bullets(counts: Mapping[str, Any], key: Any, most: int) -> list[str]:
            reasons = list(counts)
            shown = reasons if len(reasons) <= most + 1 else reasons[:most]
            lines = [f"  \u2022 {r} {n(key(r))}" for r in shown]
            if len(shown) < len(reasons):
                lines.append(f"  \u2022 {len(reasons) - len(shown)} other reasons")
            return lines

        follow_up = self.lost_to_follow_up is not None or self.not_due is not None
        rows = {"enrolment": 0.97, "allocation": 0.62, "follow-up": 0.38, "analysis": 0.17}
        if not follow_up:
            del rows["follow-up"]
        for name, y in rows.items():
            ax.text(0.005, y - 0.01, name.capitalize(), transform=ax.transAxes, ha="left",
                    va="top", fontsize=font + 0.5, fontweight="bold", bbox=label_box)

        top = self.n_assessed is not None
        randomised = put(cx, 0.73 if top else rows["enrolment"],
                         f"Randomised {n(('randomised', None, None))}")
        if top:  # the eligibility boxes only when the counts were given: never invented
            assessed = put(cx, rows["enrolment"],
                           f"Assessed for eligibility {n(('assessed', None, None))}")
            arrow(assessed, (0.5, 0.0), randomised, (0.5, 1.0))
        if self.recorded_exclusions and self.n_excluded is not None:
            lines = [f"Excluded {n(('excluded', None, None))}"]
            lines += bullets(self.excluded_by_reason, lambda r: ("excluded", None, r),
                             MAX_REASONS_DRAWN)
            y_ex = 0.85
            excluded = put(cx + 0.06, y_ex, "\n".join(lines), va="center", ha="left")
            arrow(ax.transAxes, (cx, y_ex), excluded, (0.0, 0.5))

        split = 0.675  # where the line from the randomised box branches to the arms
        if any(abs(x - cx) >= 1e-9 for x in centres):
            ax.annotate("", xy=(cx, split), xycoords=ax.transAxes, xytext=(0.5, 0.0),
                        textcoords=edge(randomised),
                        arrowprops={"arrowstyle": "-", "lw": 0.9, "color": "black",
                                    "shrinkA": 0, "shrinkB": 0}, zorder=4)

        def arm_name(arm: str) -> str:
            tag = arm == self.control and "control" not in arm.lower()
            return f"{arm} (control)" if tag else arm

        for arm, x in zip(self.arms, centres, strict=True):
            lines = [f"Allocated to {arm_name(arm)} {n(('allocated', arm, None))}"]
            if self.received is not None:
                got, not_got = n(("received", arm, None)), n(("not_received", arm, None))
                lines.append(f"  \u2022 Received allocated\n     intervention {got}")
                lines.append(f"  \u2022 Did not receive allocated\n     intervention {not_got}")
            allocation = put(x, rows["allocation"], "\n".join(lines))
            if abs(x - cx) < 1e-9:
                arrow(randomised, (0.5, 0.0), allocation, (0.5, 1.0))
            else:  # across from the split point, then down into the box
                arrow(ax.transAxes, (cx, split), allocation, (0.5, 1.0),
                      "angle,angleA=0,angleB=90,rad=0")
            previous = allocation
            if follow_up:
                lines = []
                if self.lost_to_follow_up is not None:
                    lines.append(f"Lost to follow-up {n(('lost_to_follow_up', arm, None))}")
                    if self.lost_by_reason is not None:
                        lines += bullets(self.lost_by_reason[arm],
                                         lambda r, a=arm: ("lost_to_follow_up", a, r),
                                         MAX_LOST_REASONS_DRAWN)
                if self.not_due is not None:
                    lines.append(f"Not yet due for follow-up {n(('not_due', arm, None))}")
                follow = put(x, rows["follow-up"], "\n".join(lines))
                arrow(previous, (0.5, 0.0), follow, (0.5, 1.0))
                previous = follow
            lines = [f"Analysed {n(('analysed', arm, None))}"]
            if self.excluded_from_analysis is not None:
                dropped = n(("excluded_from_analysis", arm, None))
                lines.append(f"  \u2022 Excluded from analysis\n     {dropped}")
            analysis = put(x, rows["analysis"], "\n".join(lines))
            arrow(previous, (0.5, 0.0), analysis, (0.5, 1.0))
        if frame is not None and not self.adds_up(frame):
            ax.text(0.5, 0.005, NOT_ADDING_UP, transform=ax.transAxes, ha="center",
                    va="bottom", fontsize=font - 0.5, style="italic", wrap=True)
        set_alt_text(ax, self.alt_text(frame))
        return ax

    def alt_text(self, frame: pd.DataFrame | None = None) -> str:
        """One sentence describing the diagram :meth:`plot` draws (for screen readers),
        with the counts of ``frame`` when given, as the diagram shows them."""
        v = self._lookup(frame)
        head = (f"{v[('assessed', None, None)]} assessed for eligibility, "
                f"{v[('excluded', None, None)]} excluded, " if self.n_excluded is not None
                and self.n_assessed is not None else "")
        arms = "; ".join(
            f"{arm}: {v[('allocated', arm, None)]} allocated"
            + (f", {v[('not_due', arm, None)]} not yet due for follow-up"
               if self.not_due is not None else "")
            + (f", {v[('lost_to_follow_up', arm, None)]} lost to follow-up"
               if self.lost_to_follow_up is not None else "")
            + f", {v[('analysed', arm, None)]} analysed"
            for arm in self.arms)
        note = "" if frame is None or self.adds_up(frame) else f" {NOT_ADDING_UP}"
        return (f"CONSORT flow diagram: {head}{v[('randomised', None, None)]} randomised; "
                f"{arms}.{note}")

    def adds_up(self, frame: pd.DataFrame | None = None) -> bool:
        """Whether the counts satisfy every CONSORT identity (for this result's own
        counts, always; for a transformed ``frame`` of :meth:`to_frame`, e.g.
        after rounding or suppression, often not).

        The identities: assessed = excluded + randomised; excluded = the sum of its
        reasons; randomised = the sum of the arms' allocated; in each arm,
        allocated = received + not received, allocated = not yet due + lost to
        follow-up + excluded from analysis + analysed (the stages recorded), and
        lost = the sum of its reasons. A suppressed (text) count cannot be checked
        and counts as not adding up. :meth:`plot` notes on the diagram when the
        counts it shows do not add up.
        """
        numbers = {key: _as_number(text) for key, text in self._lookup(frame, raw=True).items()}
        for total, parts in self._identities():
            got = [numbers.get(key) for key in (total, *parts)]
            known = [v for v in got if v is not None]
            if len(known) < len(got) or known[0] != sum(known[1:]):
                return False
        return True

    def _identities(self) -> list[tuple[_Key, list[_Key]]]:
        out: list[tuple[_Key, list[_Key]]] = []
        if self.n_assessed is not None and self.n_excluded is not None:
            out.append((("assessed", None, None),
                        [("excluded", None, None), ("randomised", None, None)]))
            if self.excluded_by_reason:
                out.append((("excluded", None, None),
                            [("excluded", None, r) for r in self.excluded_by_reason]))
        out.append((("randomised", None, None), [("allocated", a, None) for a in self.arms]))
        for a in self.arms:
            if self.received is not None:
                out.append((("allocated", a, None),
                            [("received", a, None), ("not_received", a, None)]))
            later = ["not_due", "lost_to_follow_up", "excluded_from_analysis", "analysed"]
            out.append((("allocated", a, None),
                        [(s, a, None) for s in later if getattr(self, s) is not None]))
            if self.lost_by_reason is not None and self.lost_by_reason[a]:
                out.append((("lost_to_follow_up", a, None),
                            [("lost_to_follow_up", a, r) for r in self.lost_by_reason[a]]))
        return out

    def _lookup(self, frame: pd.DataFrame | None, *, raw: bool = False) -> dict[_Key, Any]:
        """The text of every count the diagram needs, from ``frame`` or this result
        (with ``raw``, the values themselves)."""
        own = {key: (count if raw else f"{count:,}") for key, count in self.counts.items()}
        if frame is None:
            return own
        func = "Flow.plot"
        if not isinstance(frame, pd.DataFrame):
            raise OptionError(
                f"The 'frame' parameter of {func} must be a pandas DataFrame like "
                f"Flow.to_frame(). Got {type(frame).__name__} instead."
            )
        missing_cols = [c for c in FLOW_COLUMNS if c not in frame.columns]
        if missing_cols:
            raise OptionError(
                f"The 'frame' parameter of {func} must have the columns of Flow.to_frame() "
                f"({_fmt_list(FLOW_COLUMNS)}); {_fmt_list(missing_cols)} missing. "
                f"Columns present: {_fmt_list(list(frame.columns))}. Fix: transform only the "
                "'count' column of Flow.to_frame()."
            )
        given: dict[_Key, Any] = {}
        for stage, arm, reason, count in frame[FLOW_COLUMNS].itertuples(index=False):
            if str(stage) not in FLOW_STAGES:
                raise OptionError(
                    f"The 'frame' parameter of {func} has a row of unknown stage {stage!r}; the "
                    f"stages are {_fmt_list(list(FLOW_STAGES))}. Fix: keep the 'stage' column "
                    "of Flow.to_frame() as it is and change only its 'count' column."
                )
            given[_key(stage, arm, reason)] = count if raw else _count_text(count)
        absent = [key for key in own if key not in given]
        if absent:
            shown = ", ".join(f"({s!r}, {a!r}, {r!r})" for s, a, r in absent[:5])
            raise OptionError(
                f"The 'frame' parameter of {func} lacks {len(absent):,} row(s) the diagram needs "
                f"(stage, arm, reason): {shown}. Fix: keep every row of Flow.to_frame() and "
                "change only its 'count' column (suppressed counts can be text such as '<10')."
            )
        return given


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _key(stage: Any, arm: Any, reason: Any) -> _Key:
    return (
        str(stage),
        None if _missing(arm) else str(arm),
        None if _missing(reason) else str(reason),
    )


def _as_number(value: Any) -> float | None:
    """A count as a number, or ``None`` for text (a suppressed cell) or a missing value."""
    if _missing(value) or isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer, float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return None


def _count_text(value: Any) -> str:
    """A count as the diagram prints it: whole numbers with separators, text as it is."""
    if _missing(value):
        return "\u2013"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v) and v.is_integer():
            return f"{int(v):,}"
        return f"{v:,.4g}"
    return str(value)

