"""CONSORT 2010 participant flow: counts per arm (:func:`flow`).

:func:`flow` counts people at each stage of the CONSORT 2010 flow diagram
(Schulz, Altman & Moher 2010, *BMJ* 340:c332, Figure 1) from one row per
person assessed for eligibility; the :class:`~dwp_eval.Flow` it returns holds
the counts, gives them as a tidy table (``to_frame()``) and draws the diagram
(``plot()``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
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
from dwp_eval.errors import DesignError, MissingDataError, OptionError
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
    excluded: Hashable | Mapping[str, int] | None = None,
    received: Hashable | None = None,
    followed_up: Hashable | None = None,
    outcome: Hashable | None = None,
    id: Hashable | None = None,
    received_in_control: Literal["allocated", "programme"] = "allocated",
    assessed: int | None = None,
    not_due: Hashable | None = None,
    lost_reason: Hashable | None = None,
) -> Flow:
    """CONSORT 2010 counts per arm: assessed, excluded, randomised, allocated, received,
    not yet due for follow-up, lost to follow-up, analysed.

    Parameters
    ----------
    data
        One row per person assessed for eligibility (with an ``excluded``
        column), or one row per person randomised.
    assigned
        Column with each randomised person's arm; missing for people excluded
        before randomisation.
    control
        The control arm's label (drawn first).
    excluded
        Column with the reason each person was excluded before randomisation
        (e.g. ``"not eligible"``, ``"declined"``); missing or empty for people
        randomised. Or, when ``data`` hold only the people randomised, the
        counts by reason, e.g. ``{"did not meet criteria": 40, "declined":
        12}``. Without it everyone must have an arm, and the diagram has no
        eligibility boxes unless ``assessed`` is given.
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
    assessed
        The number of people assessed for eligibility, when ``data`` hold only
        the people randomised (with an ``excluded`` column it must equal the
        number of rows). Without ``excluded`` counts, the people assessed but
        not randomised are one exclusion without reasons.
    not_due
        0/1 column: 1 for people randomised too recently to be due for
        follow-up when the data were extracted. They are counted apart, never
        as lost to follow-up, and are not analysed; they must not have
        ``followed_up = 1`` or an ``outcome``.
    lost_reason
        Column with the reason each person lost to follow-up was lost (e.g.
        ``"moved away"``, ``"withdrew consent"``); needs ``followed_up``. A
        missing reason counts as ``"reason not recorded"``; reasons of people
        not lost are not used.

    Returns
    -------
    Flow

    Raises
    ------
    DesignError
        If someone has both an exclusion reason and an arm, the control arm
        is not in ``assigned``, the exclusions and the people randomised do
        not add up to ``assessed``, or someone not yet due for follow-up was
        followed up.
    OptionError
        If ``assessed`` or an exclusion count is not a whole number >= 0, or
        ``lost_reason`` is given without ``followed_up``.
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
      with an arm, so ``assessed = excluded + randomised`` (with counts
      instead of a column: ``assessed`` and the sum of ``excluded`` as given,
      checked to satisfy the same identity);
    * per arm: allocated; received and did not receive the allocated
      intervention (``received + not_received = allocated``); not yet due
      for follow-up (``not_due = 1``); lost to follow-up (``followed_up =
      0`` among those due), by reason with ``lost_reason``;
    * analysed: allocated, followed up (when ``followed_up`` is given) and
      with a non-missing ``outcome`` (when given); without either column
      everyone allocated is analysed. Excluded from analysis: followed up
      but not analysed (missing outcome), so that
      ``not_due + lost_to_follow_up + excluded_from_analysis + analysed =
      allocated`` (the stages recorded: ``excluded_from_analysis`` only with
      ``outcome``).

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
    counts_given = isinstance(excluded, Mapping)
    column_of_reasons = None if counts_given else excluded
    for col, role in ((column_of_reasons, "excluded"), (received, "received"),
                      (followed_up, "followed_up"), (outcome, "outcome"), (id, "id"),
                      (not_due, "not_due"), (lost_reason, "lost_reason")):
        if col is not None:
            check_columns(data, [col], role=role, func=func)
    if lost_reason is not None and followed_up is None:
        raise OptionError(
            f"The 'lost_reason' parameter of {func} needs followed_up= (the 0/1 column saying "
            "who was followed up): the reasons are those of the people lost to follow-up. "
            "Fix: pass followed_up= too."
        )
    if assessed is not None:
        assessed = _count(assessed, "assessed", func)
    if id is not None:
        check_no_missing(data, id, role="id", func=func)
        check_unique(data, id, role="id", func=func)

    arm_text = arm_keys(data[assigned]).str.strip()
    has_arm = (arm_text.notna() & (arm_text != "")).to_numpy(dtype=bool)
    by_reason: dict[str, int] = {}
    if column_of_reasons is not None:
        reason_text = data[column_of_reasons].astype("string").str.strip()
        has_reason = (reason_text.notna() & (reason_text != "")).to_numpy(dtype=bool)
        both = has_arm & has_reason
        if both.any():
            first = data.index[both][:5].tolist()
            raise DesignError(
                f"{func}: {int(both.sum()):,} row(s) have both an exclusion reason in column "
                f"{column_of_reasons!r} (excluded) and an arm in column {assigned!r} (assigned) "
                f"(first at rows {_fmt_list(first, 5)}); someone excluded before randomisation "
                "cannot have been allocated. Fix: clear the reason of people who were "
                "randomised, or the arm of people who were excluded."
            )
        neither = ~has_arm & ~has_reason
        if neither.any():
            first = data.index[neither][:5].tolist()
            raise MissingDataError(
                f"{func}: {int(neither.sum()):,} row(s) have neither an arm in column {assigned!r} "
                f"(assigned) nor an exclusion reason in column {column_of_reasons!r} (excluded) "
                f"(first at rows {_fmt_list(first, 5)}). Fix: record why each person assessed "
                "was not randomised (e.g. 'not eligible', 'declined'), or their arm."
            )
        by_reason = _largest_first(reason_text[has_reason].value_counts(sort=False))
        if assessed is not None and assessed != len(data):
            raise DesignError(
                f"{func}: assessed={assessed:,} but the data have {len(data):,} rows, one per "
                f"person assessed (with the exclusion reasons in column {column_of_reasons!r}). "
                "Fix: leave out assessed= (the rows are counted), or pass the exclusions as "
                "counts, excluded={'reason': count, ...}, with data of the people randomised."
            )
    elif not has_arm.all():
        first = data.index[~has_arm][:5].tolist()
        how = ("with excluded= as counts, data must hold only the people randomised"
               if counts_given else "and no excluded= column says why those people were not "
               "randomised")
        raise MissingDataError(
            f"{func}: column {assigned!r} (assigned) has {int((~has_arm).sum()):,} missing "
            f"value(s) (first at rows {_fmt_list(first, 5)}), {how}. Fix: pass excluded= with "
            "the column holding each excluded person's reason, or fill in the arm."
        )

    n_randomised = int(has_arm.sum())
    n_assessed: int | None = len(data) if column_of_reasons is not None else None
    n_excluded: int | None = int(np.sum(~has_arm)) if column_of_reasons is not None else None
    if counts_given:
        by_reason = _exclusion_counts(excluded, func)  # type: ignore[arg-type]
        n_excluded = sum(by_reason.values())
        n_assessed = n_randomised + n_excluded if assessed is None else assessed
    elif column_of_reasons is None and assessed is not None:
        if assessed < n_randomised:
            raise DesignError(
                f"{func}: {n_randomised:,} randomised (rows with an arm), more than the "
                f"{assessed:,} assessed for eligibility (assessed=); everyone randomised was "
                "assessed. Fix: correct assessed=, or leave it out when it is not known."
            )
        n_assessed, n_excluded = assessed, assessed - n_randomised
    if n_assessed is not None and n_excluded is not None and (
            n_assessed != n_excluded + n_randomised):
        what = "more" if n_excluded + n_randomised > n_assessed else "fewer"
        raise DesignError(
            f"{func}: {n_excluded:,} excluded before randomisation (excluded=) and "
            f"{n_randomised:,} randomised (rows with an arm) make {n_excluded + n_randomised:,}, "
            f"{what} than the {n_assessed:,} assessed for eligibility (assessed=); CONSORT's "
            "assessed = excluded + randomised must hold. Fix: correct the counts"
            + (", or add the assessed people without a recorded reason to excluded= as "
               "'reason not recorded'." if what == "fewer" else ".")
        )

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

    everyone = np.ones(n_randomised, dtype=bool)
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

    waiting = np.zeros(n_randomised, dtype=bool)
    waiting_counts: dict[str, int] | None = None
    if not_due is not None:
        waiting = _binary_among(data, not_due, rand_rows, role="not_due", func=func)
        waiting_counts = per_arm(waiting)

    lost: dict[str, int] | None = None
    lost_reasons: dict[str, dict[str, int]] | None = None
    followed = everyone
    if followed_up is not None:
        followed = _binary_among(data, followed_up, rand_rows, role="followed_up", func=func)
        _not_due_but(data, waiting, followed, rand_rows, not_due, followed_up, "followed_up = 1",
                     func)
        gone = ~followed & ~waiting
        lost = per_arm(gone)
        if lost_reason is not None:
            text = data[lost_reason][has_arm].astype("string").str.strip()
            text = text.where(text.notna() & (text != ""), "reason not recorded")
            labels = _largest_first(text[gone].value_counts(sort=False))
            reasons_of = text.to_numpy(dtype=object)
            lost_reasons = {a: {r: int(np.sum(gone & (arm_of == a) & (reasons_of == r)))
                                for r in labels} for a in arms}

    excluded_analysis: dict[str, int] | None = None
    analysed_mask = followed & ~waiting
    if outcome is not None:
        has_outcome = data[outcome][has_arm].notna().to_numpy(dtype=bool)
        _not_due_but(data, waiting, has_outcome, rand_rows, not_due, outcome,
                     "a value of the outcome", func)
        analysed_mask = analysed_mask & has_outcome
        excluded_analysis = per_arm(followed & ~waiting & ~has_outcome)

    return Flow(
        arms=arms,
        control=ctrl,
        n_assessed=n_assessed,
        n_excluded=n_excluded,
        n_randomised=n_randomised,
        excluded_by_reason=by_reason,
        allocated=allocated,
        received=got,
        not_received=not_got,
        lost_to_follow_up=lost,
        analysed=per_arm(analysed_mask),
        excluded_from_analysis=excluded_analysis,
        recorded_exclusions=n_excluded is not None,
        not_due=waiting_counts,
        lost_by_reason=lost_reasons,
    )


def _largest_first(counts: pd.Series) -> dict[str, int]:
    order = sorted(counts.index, key=lambda r: (-int(counts[r]), str(r)))
    return {str(r): int(counts[r]) for r in order}


def _count(value: Any, what: str, func: str) -> int:
    """A count given by the user: a whole number >= 0."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok and isinstance(value, (float, np.floating)) and float(value).is_integer():
        value, ok = int(value), True
    if not ok or int(value) < 0:
        raise OptionError(
            f"The {what} parameter of {func} must be a whole number >= 0 (a count of people). "
            f"Got {value!r} instead."
        )
    return int(value)


def _exclusion_counts(excluded: Mapping[Any, Any], func: str) -> dict[str, int]:
    """The ``excluded={reason: count}`` counts, checked; largest first."""
    out: dict[str, int] = {}
    for reason, k in excluded.items():
        text = str(reason).strip() if reason is not None else ""
        if not text:
            raise OptionError(
                f"The 'excluded' parameter of {func} has an empty reason (with count {k!r}). "
                "Fix: name each reason, e.g. {'did not meet criteria': 40}, or use 'reason not "
                "recorded'."
            )
        out[text] = out.get(text, 0) + _count(k, f"'excluded' count of {text!r} in the", func)
    return _largest_first(pd.Series(out, dtype="int64"))


def _not_due_but(data: pd.DataFrame, waiting: np.ndarray, seen: np.ndarray, rows: np.ndarray,
                 not_due: Hashable | None, column: Hashable, what: str, func: str) -> None:
    """Raise if people not yet due for follow-up were followed up (``seen``)."""
    both = waiting & seen
    if both.any():
        first = data.index[rows][both][:5].tolist()
        raise DesignError(
            f"{func}: {int(both.sum()):,} row(s) are not yet due for follow-up (column "
            f"{not_due!r}) but have {what} (column {column!r}) (first at rows "
            f"{_fmt_list(first, 5)}). Fix: set {not_due!r} to 0 for people whose follow-up "
            "was due, or clear their follow-up data."
        )
