"""CONSORT 2010 participant flow: counts per arm (:func:`flow`).

:func:`flow` counts people at each stage of the CONSORT 2010 flow diagram
(Schulz, Altman & Moher 2010, *BMJ* 340:c332, Figure 1) from one row per
person assessed for eligibility; the :class:`~dwp_eval.Flow` it returns holds
the counts, gives them as a tidy table (``to_frame()``) and draws the diagram
(``plot()``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._validation import (
    _fmt_list,
    arm_keys,
    check_columns,
    check_data,
    check_label,
    check_no_missing,
    check_option,
    check_unique,
    check_unique_columns,
    label_key,
    label_order,
)
from dwp_eval.errors import DesignError, MissingDataError
from dwp_eval.monitor._checks import binary_among
from dwp_eval.results.flow import FLOW_COLUMNS, FLOW_STAGES, Flow

__all__ = ["FLOW_COLUMNS", "FLOW_STAGES", "Flow", "flow"]


def _binary_among(
    data: pd.DataFrame, column: Hashable, rows: np.ndarray, *, role: str, func: str
) -> np.ndarray:
    """The 0/1 (or boolean) values of ``column`` for the people randomised (``rows``: a
    boolean mask, so a non-unique index is no problem)."""
    return binary_among(
        data[column][rows], column, role=role, func=func, among="people randomised",
        fix="record 0 or 1 for everyone randomised (missing values are allowed only for people "
        "excluded before randomisation).",
        example=f"(df[{column!r}] == 'yes').astype(int)",
    )


def flow(
    data: pd.DataFrame,
    *,
    assigned: Hashable,
    control: Any = "control",
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
    check_unique_columns(data, func=func)
    check_label(control, param="control", func=func)
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

    arm_text = arm_keys(data[assigned]).str.strip()
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

    arms_present = sorted(arm_text[has_arm].unique().tolist(), key=label_order)
    ctrl = str(label_key(control))
    if ctrl not in arms_present:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {assigned!r}, which holds "
            f"{_fmt_list(arms_present)}. Fix: pass control= with the control arm's label."
        )
    arms = (ctrl, *[a for a in arms_present if a != ctrl])
    rand_rows = has_arm
    arm_of = arm_text[has_arm].to_numpy(dtype=object)

    def per_arm(mask: np.ndarray) -> dict[str, int]:
        return {a: int(np.sum(mask & (arm_of == a))) for a in arms}

    everyone = np.ones(int(has_arm.sum()), dtype=bool)
    allocated = per_arm(everyone)

    got: dict[str, int] | None = None
    not_got: dict[str, int] | None = None
    if received is not None:
        r = _binary_among(data, received, rand_rows, role="received", func=func)
        if received_in_control == "programme":
            in_control = arm_of == ctrl
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
        has_outcome = data[outcome][has_arm].notna().to_numpy(dtype=bool)
        analysed_mask = followed & has_outcome
        excluded_analysis = per_arm(followed & ~has_outcome)

    return Flow(
        arms=arms,
        control=ctrl,
        n_assessed=len(data),
        n_excluded=int(np.sum(~has_arm)),
        n_randomised=int(has_arm.sum()),
        excluded_by_reason=by_reason,
        allocated=allocated,
        received=got,
        not_received=not_got,
        lost_to_follow_up=lost,
        analysed=per_arm(analysed_mask),
        excluded_from_analysis=excluded_analysis,
        recorded_exclusions=excluded is not None,
    )
