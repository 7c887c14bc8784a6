"""CONSORT 2010 participant flow: counts per arm and the flow diagram.

:func:`flow` counts people at each stage of the CONSORT 2010 flow diagram
(Schulz, Altman & Moher 2010, *BMJ* 340:c332, Figure 1) from one row per
person assessed for eligibility; :class:`Flow` holds the counts, gives them as
a tidy table (``to_frame()``) and draws the diagram (``plot()``), also from a
table whose counts have been suppressed or rounded for disclosure control.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    binary_values,
    check_columns,
    check_data,
    check_no_missing,
    check_option,
    check_unique,
)
from dwp_eval.errors import DesignError, MissingDataError, OptionError
from dwp_eval.results import ReadOnlyMappings, ResultMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.text import Text

__all__ = ["FLOW_COLUMNS", "FLOW_STAGES", "Flow", "flow"]

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
class Flow(ReadOnlyMappings, ResultMixin):
    """Participant flow through a trial, stage by stage, as in the CONSORT 2010 diagram.

    Made by :func:`flow`. Counts of a stage that was not recorded (no
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
        (see :func:`flow` for the rule).
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

    _MAPPINGS = (
        "excluded_by_reason", "allocated", "received", "not_received", "lost_to_follow_up",
        "analysed", "excluded_from_analysis",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_frame", self._build_frame())
        self._freeze_mappings()

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


def _binary_among(
    data: pd.DataFrame, column: Hashable, rows: np.ndarray, *, role: str, func: str
) -> np.ndarray:
    """The 0/1 (or boolean) values of ``column`` on ``rows``; raise on missing or other values."""
    s = data[column].loc[rows]
    isna = s.isna().to_numpy()
    if isna.any():
        first = s.index[isna][:5].tolist()
        raise MissingDataError(
            f"{func}: column {column!r} ({role}) has {int(isna.sum()):,} missing value(s) among "
            f"the {len(s):,} people randomised (first at rows {_fmt_list(first, 5)}). Fix: record "
            "0 or 1 for everyone randomised (missing values are allowed only for people excluded "
            "before randomisation)."
        )
    return binary_values(s, column, role=role, func=func, example=f"(df[{column!r}] == 'yes').astype(int)")


def flow(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    control: str = "control",
    excluded: Hashable | None = None,
    received: Hashable | None = None,
    followed_up: Hashable | None = None,
    outcome: Hashable | None = None,
    id: Hashable | None = None,
    received_in_control: Literal["allocated", "programme"] = "allocated",
) -> Flow:
    """CONSORT 2010 counts per arm: assessed, excluded, randomised, allocated, received,
    lost to follow-up, analysed.

    Parameters
    ----------
    data
        One row per person assessed for eligibility.
    assigned
        Column with each randomised person's arm; missing for people excluded
        before randomisation.
    control
        The control arm's label (drawn first).
    excluded
        Column with the reason each person was excluded before randomisation
        (e.g. ``"not eligible"``, ``"declined"``); missing or empty for people
        randomised. Without it everyone must have an arm.
    received
        0/1 column: the person received the intervention they were allocated
        to (1) or not (0); see ``received_in_control``.
    followed_up
        0/1 column: 0 for people lost to follow-up.
    outcome
        The analysis outcome: people randomised (and followed up) with a
        non-missing outcome are analysed.
    id
        Optional person id column, checked to identify each row once.
    received_in_control
        What ``received = 1`` means in the control arm. ``"allocated"``
        (default, CONSORT's reading): the person received the control
        condition they were allocated to. ``"programme"``: the person
        received the programme (the ``received`` column of
        :func:`dwp_eval.take_up` and :func:`dwp_eval.cace`, where 1 in the
        control arm is contamination), so controls with ``received = 0`` are
        the ones who received their allocation.

    Returns
    -------
    Flow

    Raises
    ------
    DesignError
        If someone has both an exclusion reason and an arm, or the control arm
        is not in ``assigned``.
    MissingDataError
        If someone has neither an arm nor an exclusion reason, or a
        ``received`` / ``followed_up`` value is missing for someone randomised.

    Notes
    -----
    The stages are those of the CONSORT 2010 flow diagram (Schulz, Altman &
    Moher 2010, *BMJ* 340:c332, Figure 1; Moher et al. 2010, *BMJ*
    340:c869, item 13a: "for each group, the numbers of participants who were
    randomly assigned, received intended treatment, and were analysed for the
    primary outcome"):

    * assessed = every row; excluded = rows with a reason; randomised = rows
      with an arm, so ``assessed = excluded + randomised``;
    * per arm: allocated; received and did not receive the allocated
      intervention (``received + not_received = allocated``); lost to
      follow-up (``followed_up = 0``);
    * analysed: allocated, followed up (when ``followed_up`` is given) and
      with a non-missing ``outcome`` (when given); without either column
      everyone allocated is analysed. Excluded from analysis: followed up
      but not analysed (missing outcome), so that
      ``lost_to_follow_up + excluded_from_analysis + analysed = allocated``
      (``excluded_from_analysis`` is recorded only with ``outcome``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "arm": ["control", "treatment", None, "treatment", "control", None],
    ...     "why_not": [None, None, "declined", None, None, "not eligible"],
    ...     "followed_up": [1, 1, None, 0, 1, None],
    ... })
    >>> fl = flow(df, assigned="arm", excluded="why_not", followed_up="followed_up")
    >>> fl.n_assessed, fl.n_excluded, dict(fl.allocated)
    (6, 2, {'control': 2, 'treatment': 2})
    >>> dict(fl.analysed)
    {'control': 2, 'treatment': 1}
    """
    func = "flow"
    data = check_data(data, func=func)
    received_in_control = check_option(  # type: ignore[assignment]
        received_in_control, ("allocated", "programme"), param="received_in_control", func=func
    )
    check_columns(data, [assigned], role="assigned", func=func)
    for col, role in ((excluded, "excluded"), (received, "received"),
                      (followed_up, "followed_up"), (outcome, "outcome"), (id, "id")):
        if col is not None:
            check_columns(data, [col], role=role, func=func)
    if id is not None:
        check_no_missing(data, id, role="id", func=func)
        check_unique(data, id, role="id", func=func)

    arm_text = data[assigned].astype("string").str.strip()
    has_arm = (arm_text.notna() & (arm_text != "")).to_numpy(dtype=bool)
    if excluded is not None:
        reason_text = data[excluded].astype("string").str.strip()
        has_reason = (reason_text.notna() & (reason_text != "")).to_numpy(dtype=bool)
        both = has_arm & has_reason
        if both.any():
            first = data.index[both][:5].tolist()
            raise DesignError(
                f"{func}: {int(both.sum()):,} row(s) have both an exclusion reason in column "
                f"{excluded!r} (excluded) and an arm in column {assigned!r} (assigned) (first at "
                f"rows {_fmt_list(first, 5)}); someone excluded before randomisation cannot have "
                "been allocated. Fix: clear the reason of people who were randomised, or the arm "
                "of people who were excluded."
            )
        neither = ~has_arm & ~has_reason
        if neither.any():
            first = data.index[neither][:5].tolist()
            raise MissingDataError(
                f"{func}: {int(neither.sum()):,} row(s) have neither an arm in column {assigned!r} "
                f"(assigned) nor an exclusion reason in column {excluded!r} (excluded) (first at "
                f"rows {_fmt_list(first, 5)}). Fix: record why each person assessed was not "
                "randomised (e.g. 'not eligible', 'declined'), or their arm."
            )
        reasons = reason_text[has_reason].value_counts(sort=False)
        order = sorted(reasons.index, key=lambda r: (-int(reasons[r]), str(r)))
        by_reason = {str(r): int(reasons[r]) for r in order}
    else:
        if not has_arm.all():
            first = data.index[~has_arm][:5].tolist()
            raise MissingDataError(
                f"{func}: column {assigned!r} (assigned) has {int((~has_arm).sum()):,} missing "
                f"value(s) (first at rows {_fmt_list(first, 5)}), and no excluded= column says "
                "why those people were not randomised. Fix: pass excluded= with the column "
                "holding each excluded person's reason, or fill in the arm."
            )
        by_reason = {}

    arms_present = sorted(arm_text[has_arm].unique().tolist())
    if str(control) not in arms_present:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms_present)}. Fix: pass control= with the control arm's label."
        )
    arms = (str(control), *[a for a in arms_present if a != str(control)])
    rand_rows = data.index[has_arm]
    arm_of = arm_text[has_arm].to_numpy(dtype=object)

    def per_arm(mask: np.ndarray) -> dict[str, int]:
        return {a: int(np.sum(mask & (arm_of == a))) for a in arms}

    everyone = np.ones(len(rand_rows), dtype=bool)
    allocated = per_arm(everyone)

    got: dict[str, int] | None = None
    not_got: dict[str, int] | None = None
    if received is not None:
        r = _binary_among(data, received, rand_rows, role="received", func=func)
        if received_in_control == "programme":
            in_control = arm_of == str(control)
            r = np.where(in_control, ~r, r)
        got = per_arm(r)
        not_got = per_arm(~r)

    lost: dict[str, int] | None = None
    followed = everyone
    if followed_up is not None:
        followed = _binary_among(data, followed_up, rand_rows, role="followed_up", func=func)
        lost = per_arm(~followed)

    excluded_analysis: dict[str, int] | None = None
    analysed_mask = followed
    if outcome is not None:
        has_outcome = data[outcome].loc[rand_rows].notna().to_numpy(dtype=bool)
        analysed_mask = followed & has_outcome
        excluded_analysis = per_arm(followed & ~has_outcome)

    return Flow(
        arms=arms,
        control=str(control),
        n_assessed=len(data),
        n_excluded=int(np.sum(~has_arm)),
        n_randomised=len(rand_rows),
        excluded_by_reason=by_reason,
        allocated=allocated,
        received=got,
        not_received=not_got,
        lost_to_follow_up=lost,
        analysed=per_arm(analysed_mask),
        excluded_from_analysis=excluded_analysis,
        recorded_exclusions=excluded is not None,
    )
