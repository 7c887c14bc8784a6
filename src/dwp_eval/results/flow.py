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

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.text import Text

__all__ = ["FLOW_COLUMNS", "FLOW_STAGES", "MAX_REASONS_DRAWN", "Flow"]

#: Columns of :meth:`Flow.to_frame`.
FLOW_COLUMNS = ["stage", "arm", "reason", "count"]

#: Stages in CONSORT order. The first three come before randomisation (``arm``
#: is missing); the others have one row per arm.
FLOW_STAGES = (
    "assessed",
    "excluded",
    "randomised",
    "allocated",
    "received",
    "not_received",
    "lost_to_follow_up",
    "analysed",
    "excluded_from_analysis",
)

_ARM_STAGES = FLOW_STAGES[3:]

#: Most exclusion reasons listed in the diagram; the rest are summed on one line.
MAX_REASONS_DRAWN = 8

_Key = tuple[str, str | None, str | None]


@dataclass(frozen=True, eq=False, repr=False)
class Flow(ResultMixin):
    """Participant flow through a trial, stage by stage, as in the CONSORT 2010 diagram.

    Made by :func:`dwp_eval.flow`. Counts of a stage that was not recorded (no
    ``received``, ``followed_up`` or ``outcome`` column) are ``None`` and
    have no rows in :meth:`to_frame`.

    Attributes
    ----------
    arms
        The arms, control first, then the others in sorted order.
    control
        The control arm's label.
    n_assessed, n_excluded, n_randomised
        People assessed for eligibility, excluded before randomisation, and
        randomised (``n_assessed = n_excluded + n_randomised``).
    excluded_by_reason
        People excluded, by reason, largest first (empty without ``excluded=``).
    allocated
        People allocated to each arm (they sum to ``n_randomised``).
    received, not_received
        People in each arm who did and did not receive the intervention they
        were allocated to (``None`` without ``received=``).
    lost_to_follow_up
        People in each arm with ``followed_up = 0`` (``None`` without ``followed_up=``).
    analysed, excluded_from_analysis
        People in each arm in the analysis, and followed up but not analysed
        (see :func:`dwp_eval.flow` for the rule).
    recorded_exclusions
        Whether an ``excluded`` column was given (the diagram draws the
        exclusion box only then).
    """

    arms: tuple[str, ...]
    control: str
    n_assessed: int
    n_excluded: int
    n_randomised: int
    excluded_by_reason: Mapping[str, int]
    allocated: Mapping[str, int]
    received: Mapping[str, int] | None
    not_received: Mapping[str, int] | None
    lost_to_follow_up: Mapping[str, int] | None
    analysed: Mapping[str, int]
    excluded_from_analysis: Mapping[str, int] | None
    recorded_exclusions: bool
    _frame: pd.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_frame", self._build_frame())
        super().__post_init__()

    def _build_frame(self) -> pd.DataFrame:
        rows: list[tuple[str, str | None, str | None, int]] = [
            ("assessed", None, None, self.n_assessed),
            ("excluded", None, None, self.n_excluded),
        ]
        rows += [("excluded", None, r, k) for r, k in self.excluded_by_reason.items()]
        rows.append(("randomised", None, None, self.n_randomised))
        for stage in _ARM_STAGES:
            counts = getattr(self, stage)
            if counts is None:
                continue
            rows += [(stage, arm, None, int(counts[arm])) for arm in self.arms]
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
        ``excluded`` rows by reason (the first ``excluded`` row is the total).
        Stages are those of :data:`FLOW_STAGES`; stages that were not recorded
        have no rows.
        """
        return self._frame.copy()

    def summary(self) -> str:
        lines = [
            f"CONSORT flow: {self.n_assessed:,} assessed, {self.n_excluded:,} excluded, "
            f"{self.n_randomised:,} randomised"
        ]
        for reason, k in self.excluded_by_reason.items():
            lines.append(f"  excluded: {reason:<30} {k:>8,}")
        width = max(12, *(len(a) for a in self.arms))
        lines.append(f"  {'':<24}" + "".join(f"{a:>{width + 2}}" for a in self.arms))
        labels = {
            "allocated": "allocated",
            "received": "received allocation",
            "not_received": "did not receive it",
            "lost_to_follow_up": "lost to follow-up",
            "analysed": "analysed",
            "excluded_from_analysis": "excluded from analysis",
        }
        for stage in _ARM_STAGES:
            counts = getattr(self, stage)
            if counts is None:
                continue
            lines.append(
                f"  {labels[stage]:<24}" + "".join(f"{counts[a]:>{width + 2},}" for a in self.arms)
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        per_arm = ", ".join(f"{a} {self.allocated[a]:,}" for a in self.arms)
        return f"<Flow {self.n_assessed:,} assessed, {self.n_randomised:,} randomised ({per_arm})>"

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
        follow-up) and *Analysis* (analysed; excluded from analysis). Boxes of
        stages that were not recorded are left out.
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
        label_box = {"boxstyle": "round,pad=0.4", "facecolor": "#cfe2f3", "edgecolor": "#6f8fb0",
                     "lw": 0.8}
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

        rows = {"enrolment": 0.97, "allocation": 0.62, "follow-up": 0.36, "analysis": 0.18}
        for name, y in rows.items():
            ax.text(0.005, y - 0.01, name.capitalize(), transform=ax.transAxes, ha="left",
                    va="top", fontsize=font + 0.5, fontweight="bold", bbox=label_box)

        assessed = put(cx, rows["enrolment"],
                       f"Assessed for eligibility {n(('assessed', None, None))}")
        randomised = put(cx, 0.73, f"Randomised {n(('randomised', None, None))}")
        arrow(assessed, (0.5, 0.0), randomised, (0.5, 1.0))
        if self.recorded_exclusions:
            lines = [f"Excluded {n(('excluded', None, None))}"]
            reasons = list(self.excluded_by_reason)
            fits = len(reasons) <= MAX_REASONS_DRAWN + 1
            shown = reasons if fits else reasons[:MAX_REASONS_DRAWN]
            lines += [f"  \u2022 {r} {n(('excluded', None, r))}" for r in shown]
            if len(shown) < len(reasons):
                lines.append(f"  \u2022 {len(reasons) - len(shown)} other reasons")
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
            if self.lost_to_follow_up is not None:
                follow = put(x, rows["follow-up"],
                             f"Lost to follow-up {n(('lost_to_follow_up', arm, None))}")
                arrow(previous, (0.5, 0.0), follow, (0.5, 1.0))
                previous = follow
            lines = [f"Analysed {n(('analysed', arm, None))}"]
            if self.excluded_from_analysis is not None:
                dropped = n(("excluded_from_analysis", arm, None))
                lines.append(f"  \u2022 Excluded from analysis\n     {dropped}")
            analysis = put(x, rows["analysis"], "\n".join(lines))
            arrow(previous, (0.5, 0.0), analysis, (0.5, 1.0))
        return ax

    def _lookup(self, frame: pd.DataFrame | None) -> dict[_Key, str]:
        """The text of every count the diagram needs, from ``frame`` or this result."""
        own = {key: f"{count:,}" for key, count in self.counts.items()}
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
        given: dict[_Key, str] = {}
        for stage, arm, reason, count in frame[FLOW_COLUMNS].itertuples(index=False):
            given[_key(stage, arm, reason)] = _count_text(count)
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

