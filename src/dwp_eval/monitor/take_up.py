"""Take-up: who started the programme, from its start records (:func:`take_up`).

Take-up in the treatment arm, ``p_T``, and receipt in the control arm, ``p_C``
(:func:`dwp_eval.flag_contamination`), make the first stage of the
CACE: ``ITT = CACE x (p_T - p_C)`` (Angrist, Imbens & Rubin 1996). Record
problems (ids not in the trial, duplicated starts, starts before randomisation,
programme starts outside the treatment arms) are counted in one
:class:`~dwp_eval.errors.RecordProblemsWarning` and recorded in
``result.attrs["data_problems"]``, never dropped in silence.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines import DASK, SPARK, engine_of
from dwp_eval._validation import _fmt_list, label_key, label_order
from dwp_eval.errors import DesignError
from dwp_eval.monitor._engine import on_engine
from dwp_eval.monitor._records import (
    RecordProblems,
    check_people,
    check_records,
    check_window,
    checked_days,
    duplicated,
    example_rows,
    examples_text,
    first_dates,
    positions,
    shift,
    unknown_ids,
)

__all__ = ["TAKE_UP_COLUMNS", "TAKE_UP_REASONS", "take_up"]

#: Columns that :func:`take_up` adds after the id, arm, randomisation date and
#: ``keep`` columns.
TAKE_UP_COLUMNS = ("received", "crossover", "first_start_date", "days_to_start", "n_starts", "reason")

#: Values of the ``reason`` column of :func:`take_up`.
TAKE_UP_REASONS = ("started in window", "started outside window", "no start record")


def take_up(
    people: pd.DataFrame,
    starts: pd.DataFrame,
    *,
    id: Hashable = "id",
    assigned: Hashable = "arm",
    control: str = "control",
    treatment: str | Sequence[str] | None = None,
    randomised: Hashable = "randomised_on",
    started: Hashable = "start_date",
    window_days: tuple[int, int] = (0, 365),
    keep: Hashable | Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Who started the programme: ``received`` (0/1) from programme start records.

    A person has ``received = 1`` when at least one of their start records lies
    within ``window_days=(first, last)`` days after randomisation (both ends
    included, calendar days).

    Control-arm starts (more generally, starts by anyone not in a ``treatment``
    arm) are contamination of a different kind: the person received the
    programme itself although assigned not to. They get ``received = 1``
    (they did receive it: this is the ``received`` that CACE estimation needs)
    and ``crossover = 1``; they are counted in the warning and in
    ``attrs["data_problems"]["control_arm_start"]``. To analyse receipt of the
    programme *or* similar provision, combine with :func:`flag_contamination`:
    ``received | contaminated``.

    Parameters
    ----------
    people
        One row per person randomised: id, arm and date of randomisation. A
        pandas, Dask or Spark DataFrame (see "Dask and Spark" under Notes).
    starts
        One row per programme start: the person's id and the start date
        (datetime64 or ISO text). A person may have several (restarts). An
        empty frame is allowed. A frame of the same engine as ``people``.
    id, assigned, randomised
        Columns of ``people`` (``id`` also in ``starts``).
    control
        The control arm's label.
    treatment
        The programme arm(s); ``None``: every arm but ``control``.
    started
        Column of ``starts`` with the start date.
    window_days
        ``(first, last)`` days after randomisation within which a start counts.
    keep
        Columns of ``people`` to copy into the result.

    Returns
    -------
    pandas.DataFrame
        (A Dask or Spark DataFrame for such input, see Notes.) One row per
        person, in the order and with the index of ``people``: the
        ``id``, ``assigned``, ``randomised`` and ``keep`` columns, then
        ``received`` (int 0/1), ``crossover`` (int 0/1: received although not
        in a treatment arm), ``first_start_date`` (first start in the window),
        ``days_to_start`` (Int64), ``n_starts`` (distinct starts in the window)
        and ``reason`` (categorical: "started in window", "started outside
        window", "no start record").

        ``result.attrs["data_problems"]`` has the entries ``unknown_id`` (left
        out), ``duplicate`` (same id and date; counted once),
        ``before_randomisation`` (starts dated before randomisation; counted only
        if the window reaches back) and ``control_arm_start`` (distinct starts
        in the window by people outside the treatment arms: crossovers, kept
        with ``received = 1``), each
        ``{"n_records", "action", "examples"}``; one
        :class:`~dwp_eval.errors.RecordProblemsWarning` states the non-zero
        counts.

    Raises
    ------
    ColumnError, MissingDataError, DesignError, OptionError
        As for :func:`flag_contamination`; also a ``treatment`` arm that is not
        in the data.

    Notes
    -----
    Take-up in the treatment arm, ``p_T``, and receipt in the control arm,
    ``p_C``, make the first stage of the CACE: ``ITT = CACE x (p_T - p_C)``
    (Angrist, Imbens & Rubin 1996; Bloom 1984 when ``p_C = 0``). In the Work
    and Health Programme about 75% of those referred started.

    **Dask and Spark.** Given Dask or Spark DataFrames (``pip install
    "dwp_eval[dask]"`` or ``"dwp_eval[spark]"``), the rows of ``people`` and
    ``starts`` are hash-partitioned on ``id`` on the engine, so all of a
    person's starts meet their row of ``people`` in one partition, and the
    pandas rules run there. The driver decides what is global: the columns
    and options (the messages above), the arms (``control`` and ``treatment``
    are checked against the arms of all partitions), duplicated ids, and the
    one warning, whose counts and examples are those of all partitions, as
    pandas words them. The result is a frame of the same engine with the
    columns and values of the pandas result, in no particular row order (sort
    by ``id``), with ``reason`` as text (not categorical) and no ``attrs``
    (the problem counts are in the warning). Row labels named in an error
    message are those of the partition.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({
    ...     "id": [1, 2, 3],
    ...     "arm": ["treatment", "treatment", "control"],
    ...     "randomised_on": pd.to_datetime(["2018-01-08"] * 3),
    ... })
    >>> starts = pd.DataFrame({"id": [1, 2], "start_date": ["2018-01-29", "2019-06-01"]})
    >>> tu = take_up(people, starts)
    >>> tu[["id", "received", "days_to_start", "reason"]]
       id  received  days_to_start                  reason
    0   1         1             21       started in window
    1   2         0           <NA>  started outside window
    2   3         0           <NA>         no start record
    """
    func = "take_up"
    options: dict[str, Any] = dict(
        id=id, assigned=assigned, control=control, treatment=treatment, randomised=randomised,
        started=started, window_days=window_days, keep=keep,
    )
    engine = engine_of(people)
    if engine in (DASK, SPARK):
        out, raw = on_engine(engine, _take_up, people, starts, options, func=func,
                             param="starts", record_columns=[id, started])
        # the treatment arms among the arms of all partitions
        raw["treatment"] = _treatment_arms(treatment, raw["arms"], raw["control"], assigned)
    else:
        out, raw = _take_up(people, starts, **options)
    problems = _problems(raw)
    problems.warn(func, raw["n_records"], "start records", attrs=engine not in (DASK, SPARK))
    if engine in (DASK, SPARK):
        return out
    out.attrs["data_problems"] = problems.entries
    out.attrs["settings"] = {
        "function": func,
        "treatment": tuple(raw["treatment"]),
        "window_days": raw["window_days"],
        "control": raw["control"],
        "assigned": assigned,
        "randomised": randomised,
        "n_records": raw["n_records"],
    }
    return out


def _take_up(
    people: pd.DataFrame,
    starts: pd.DataFrame,
    *,
    id: Hashable,
    assigned: Hashable,
    control: str,
    treatment: str | Sequence[str] | None,
    randomised: Hashable,
    started: Hashable,
    window_days: tuple[int, int],
    keep: Hashable | Sequence[Hashable] | None,
    whole: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rules of :func:`take_up` without its warning: the result (no attrs) and the raw
    problem report (:func:`_problems` makes the warning of it). ``whole=False``: ``people``
    is one partition of a Dask or Spark frame (maybe empty): the control arm and the
    ``treatment`` arms are checked by the caller, against the arms of all partitions."""
    func = "take_up"
    P = check_people(
        people, id=id, assigned=assigned, control=control, randomised=randomised, keep=keep,
        added=TAKE_UP_COLUMNS, func=func, whole=whole,
    )
    present = sorted(set(P.arm.tolist()), key=label_order)
    control = str(label_key(control))  # labels compared by value, as everywhere
    treat = _treatment_arms(treatment, present, control, assigned, check=whole)
    st = check_records(starts, [(id, "id"), (started, "started")], func=func, param="starts")
    lo, hi = check_window(window_days, func)
    n = len(P.frame)
    pos = positions(P, st, id, func=func)
    _, sday = checked_days(st, started, role="started", func=func, param="starts")

    known_id = pos >= 0
    safe = np.where(known_id, pos, 0)
    days = sday - (P.day[safe] if n else np.zeros(len(st), dtype=np.int64))
    in_window = known_id & (days >= lo) & (days <= hi)
    kidx = np.flatnonzero(known_id)
    dup = np.zeros(len(st), dtype=bool)
    if kidx.size:
        dup[kidx] = duplicated([pos[kidx], shift(sday[kidx])])

    received = np.zeros(n, dtype=bool)
    received[pos[in_window]] = True
    in_treat = np.isin(P.arm, np.asarray(treat, dtype=object).astype(str))
    crossover = received & ~in_treat
    reason = np.full(n, 2, dtype=np.int8)
    reason[pos[known_id]] = 1
    reason[pos[in_window]] = 0
    n_starts = np.bincount(pos[in_window & ~dup], minlength=n).astype(np.int64)
    first_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_day, pos[in_window], sday[in_window])

    before = known_id & (days < 0)
    cross_rows = in_window & ~dup & ~(in_treat[safe] if n else np.zeros(len(st), dtype=bool))
    ids = st[id]
    raw: dict[str, Any] = {
        "n_records": len(st),
        "treatment": list(treat),
        "window_days": (lo, hi),
        "control": control,
        "arms": present,
        "unknown_id": unknown_ids(P, st, id, known_id),
        "duplicate": {"n": int(dup.sum()), "examples": example_rows(np.flatnonzero(dup), ids, sday)},
        "before_randomisation": {
            "n": int(before.sum()), "examples": example_rows(np.flatnonzero(before), ids, sday),
        },
        "control_arm_start": {
            "n": int(cross_rows.sum()), "n_people": int(crossover.sum()),
            "examples": example_rows(np.flatnonzero(cross_rows), ids, sday),
        },
    }

    out = P.frame
    out["received"] = received.astype(np.int64)
    out["crossover"] = crossover.astype(np.int64)
    out["first_start_date"], out["days_to_start"] = first_dates(first_day, received, P)
    out["n_starts"] = n_starts
    out["reason"] = pd.Categorical.from_codes(reason, categories=list(TAKE_UP_REASONS))
    return out, raw


def _treatment_arms(
    treatment: str | Sequence[str] | None, present: Sequence[str], control: str,
    assigned: Hashable, *, check: bool = True,
) -> list[str]:
    """The treatment arms (labels as compared): ``treatment``, or every arm ``present``
    but ``control``; with ``check``, raise :class:`DesignError` unless they are arms
    ``present`` other than ``control``."""
    if treatment is None:
        return [a for a in present if a != control]
    given = list(treatment) if isinstance(treatment, list | tuple) else [treatment]
    treat = [str(label_key(t)) for t in given]
    missing_arms = [t for t in treat if t not in present]
    if check and (not treat or missing_arms or control in treat):
        raise DesignError(
            f"take_up: treatment= must name arms other than the control arm {control!r} that "
            f"are in column {assigned!r}, which holds {_fmt_list(present)}. "
            f"Got {treatment!r} instead."
        )
    return treat


def _problems(raw: dict[str, Any]) -> RecordProblems:
    """The record problems of :func:`take_up` from its raw report (one call's, or the
    partitions' merged): the counts, actions, examples and the warning's text."""
    lo, hi = raw["window_days"]
    window_text = f"window_days={(lo, hi)}"
    problems = RecordProblems()
    problems.unknown_ids(raw["unknown_id"], raw["n_records"])
    problems.duplicates(raw["duplicate"]["n"], examples_text(raw["duplicate"]["examples"]))
    n_before = raw["before_randomisation"]["n"]
    problems.add(
        "before_randomisation", n_before, f"counted only inside {window_text}",
        examples_text(raw["before_randomisation"]["examples"]),
        f"{n_before:,} start(s) dated before randomisation (counted only inside {window_text})",
    )
    cross = raw["control_arm_start"]
    n_cross, n_crossover = cross["n"], cross["n_people"]
    problems.add(
        "control_arm_start", n_cross,
        f"kept: the {n_crossover:,} people starting have received=1 and crossover=1",
        examples_text(cross["examples"]),
        f"{n_cross:,} start(s) in the window by {n_crossover:,} person(s) outside the treatment "
        f"arm(s) {_fmt_list(raw['treatment'])} (kept: received=1, crossover=1)",
    )
    return problems
