"""Control-group contamination: who in the control arm received provision similar to
the programme under test, from referral records (:func:`flag_contamination`).

A trial of a voluntary programme measures two things besides its outcomes:
*take-up* (:func:`dwp_eval.take_up`, from the programme's start
records) and *contamination* (here, from referral records to other provision).

Both dilute the intention-to-treat effect. With ``p_T`` the share of the
treatment arm that received the programme (or something like it) and ``p_C``
the share of the control arm that did, the ITT is ``CACE x (p_T - p_C)``
(Angrist, Imbens & Rubin 1996, *JASA* 91:444, under monotonicity and the
exclusion restriction), so both shares must be measured and carried into the
analysis. :func:`dwp_eval.contamination_summary` reports them by arm,
site, month of randomisation or work coach, with Wilson (1927) intervals and an
optional tolerated rate, for monitoring while the trial runs.

Record problems (ids not in the trial, dates before randomisation, duplicated
records, unknown provision names) are never dropped or double-counted in
silence: each kind is counted in one
:class:`~dwp_eval.errors.RecordProblemsWarning` and recorded on the result in
``result.attrs["data_problems"]``, a dict of plain values (see
:func:`flag_contamination`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.engines import DASK, SPARK, engine_of
from dwp_eval._core.records import day_numbers, parse_dates
from dwp_eval._validation import _fmt_list, check_no_missing, label_key, label_order
from dwp_eval.errors import ColumnError, OptionError
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
    text_rank,
    unknown_ids,
)
from dwp_eval.monitor._similar import SimilarRule, apply_rule, unknown_counts, unknown_provision
from dwp_eval.results.contamination import SUMMARY_COLUMNS

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_REASONS",
    "SUMMARY_COLUMNS",
    "flag_contamination",
]

#: Columns that :func:`flag_contamination` adds after the id, arm, randomisation
#: date and ``keep`` columns.
FLAG_COLUMNS = (
    "contaminated",
    "also_received",
    "first_provision",
    "first_start_date",
    "days_after_randomisation",
    "n_similar",
    "reason",
)

#: Values of the ``reason`` column of :func:`flag_contamination`, from the
#: strongest to the weakest: a person gets the first that applies.
FLAG_REASONS = (
    "similar provision in window",
    "similar provision shorter than min_days",
    "similar provision outside window",
    "no similar provision",
    "no referral records",
)


# ------------------------------------------------------------------ flags


def flag_contamination(
    people: pd.DataFrame,
    referrals: pd.DataFrame,
    *,
    id: Hashable = "id",
    assigned: Hashable = "arm",
    control: str = "control",
    randomised: Hashable = "randomised_on",
    provision: Hashable = "provision",
    started: Hashable = "start_date",
    similar: Sequence[Any] | str | SimilarRule,
    window_days: tuple[int, int] = (0, 365),
    min_days: int = 0,
    ended: Hashable | None = "end_date",
    known: Sequence[Any] | None = None,
    keep: Hashable | Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Flag control-arm members who received provision similar to the programme under test.

    A referral record counts as *receipt of similar provision* when

    1. its id is one of the trial's people;
    2. its provision is similar: ``provision`` is one of the names in
       ``similar``, or the rule ``similar(records)`` says so;
    3. it started within the window: ``first <= start - randomised <= last``
       days, with ``window_days=(first, last)`` (both ends included; dates are
       compared as calendar days, times of day ignored);
    4. it lasted at least ``min_days`` days: ``end - start + 1 >= min_days``
       (calendar days, both ends included, so a one-day course lasts one day).
       A record without an end date is an ongoing spell and counts. With
       ``min_days=0`` (the default) every record counts and no end date is needed.

    A control-arm person with at least one such record has ``contaminated = 1``.
    A person in any other arm with such a record has ``also_received = 1``:
    they received similar *other* provision on top of (or instead of) the
    programme. Everyone else has zeros.

    Parameters
    ----------
    people
        One row per person randomised: id, arm and date of randomisation. A
        pandas, Dask or Spark DataFrame (see "Dask and Spark" under Notes).
    referrals
        One row per referral to other provision: the person's id, the
        provision's name, its start date and (optionally) its end date. Dates
        may be datetime64 or ISO text (``"2018-01-31"``); other text raises.
        An empty frame is allowed (nobody is flagged). A frame of the same
        engine as ``people``.
    id, assigned, randomised
        Columns of ``people``: person id (unique), arm, date of randomisation.
        ``id`` also names the id column of ``referrals``.
    control
        The control arm's label in ``assigned``.
    provision, started, ended
        Columns of ``referrals``: provision name, start date, end date. The
        end-date column is needed only with ``min_days > 0``; missing end dates
        mean "still attending".
    similar
        Which provision is similar to the programme. Either a list of
        provision names (a single name may be given as a string), or a rule: a
        callable that receives the referral records (all rows, in their order,
        with the ``started`` and ``ended`` columns parsed to datetime64) and
        returns one boolean (or 0/1) per row, e.g.
        ``lambda r: r["provision"].str.contains("IPS")``.
    window_days
        ``(first, last)`` days after randomisation within which a start counts.
        ``(0, 365)``: from the day of randomisation to one year after.
    min_days
        Ignore trivial contact: records that lasted fewer than ``min_days``
        calendar days (see 4. above).
    known
        Optional list of every other provision name expected in the records.
        Names that are neither in ``similar`` nor in ``known`` are reported as
        unknown provision. Whether or not ``known`` is given, a name that is not
        in ``similar`` but looks like a similar name (equal once case, spaces,
        hyphens and underscores are ignored, or at least 90% alike) is
        reported: it may be a misspelling that hides contamination. Unknown
        names are *not* counted as similar.
    keep
        Columns of ``people`` to copy into the result (e.g. ``"site"``,
        ``"work_coach"``) for :func:`contamination_summary`.

    Returns
    -------
    pandas.DataFrame
        (A Dask or Spark DataFrame for such input, see Notes.) One row per
        person, in the order and with the index of ``people``:
        the ``id``, ``assigned`` and ``randomised`` (parsed) columns, the
        ``keep`` columns, then

        ``contaminated`` (int 0/1; control arm only), ``also_received`` (int
        0/1; other arms only), ``first_provision`` (categorical: the similar
        provision whose qualifying record started first; ties broken by name),
        ``first_start_date`` (its start date), ``days_after_randomisation``
        (Int64), ``n_similar`` (number of distinct qualifying records;
        duplicates counted once) and ``reason`` (categorical, one of
        :data:`FLAG_REASONS`: the first that applies of "similar provision in
        window", "similar provision shorter than min_days", "similar provision
        outside window", "no similar provision", "no referral records").

        ``result.attrs["data_problems"]`` is a dict with one entry per kind of
        problem, always present, each a dict ``{"n_records", "action",
        "examples"}``:

        - ``unknown_id``: records whose id is not in ``people`` (left out);
        - ``duplicate``: records equal to an earlier one on id, provision, start
          and end date (counted once);
        - ``before_randomisation``: similar-provision records that started
          before the person's randomisation (counted only if ``window_days``
          reaches back that far; the person may already have been receiving
          similar support);
        - ``unknown_provision``: records whose provision name is unknown or
          looks like a similar name (not counted as similar; the names and their
          record counts are in ``examples``);
        - ``end_before_start``: records that end before they start (with
          ``min_days > 0`` they are too short and do not count).

        ``result.attrs["settings"]`` records the rule used. When any problem
        count is non-zero one :class:`~dwp_eval.errors.RecordProblemsWarning`
        states every count.

    Raises
    ------
    ColumnError
        A named column is missing (the message lists those present), ``people``
        has duplicated ids, or a date column holds text that is not a date
        (the message names the column and gives an example value).
    MissingDataError
        Missing ids, arms, randomisation dates, provision names or start dates.
    DesignError
        ``control`` is not one of the arms.
    OptionError
        A parameter has the wrong type or value.

    Notes
    -----
    With contamination, the ITT estimates ``CACE x (p_T - p_C)`` where ``p_C``
    is the control arm's rate of receipt (Angrist, Imbens & Rubin 1996, *JASA*
    91:444, eq. 3; Bloom 1984, *Evaluation Review* 8:225 for the one-sided
    case). The flags give ``p_C``; :func:`take_up` gives the treatment arm's
    receipt of the programme.

    The result depends only on the set of records: it is the same for any
    order of the rows of ``people`` (up to its own row order) and of
    ``referrals``. Adding records of dissimilar provision for people in the
    trial changes no flag and no problem count; only ``reason`` may change from
    "no referral records" to "no similar provision".

    **Dask and Spark.** Given Dask or Spark DataFrames (``pip install
    "dwp_eval[dask]"`` or ``"dwp_eval[spark]"``), the rows of ``people`` and
    ``referrals`` are hash-partitioned on ``id`` on the engine, so all of a
    person's records meet their row of ``people`` in one partition, and the
    pandas rules run there; a ``similar`` rule is called on each partition's
    records, so it must judge each record by its own row. The driver decides
    what is global: the columns and options (the messages above), the arms
    (``control`` is checked against the arms of all partitions), duplicated
    ids, and the one warning, whose counts and examples (unknown provision
    names with their record counts included) are those of all partitions, as
    pandas words them. The result is a frame of the same engine with the
    columns and values of the pandas result, in no particular row order (sort
    by ``id``), with ``first_provision`` and ``reason`` as text (not
    categorical) and no ``attrs`` (the problem counts are in the warning).
    Row labels named in an error message are those of the partition.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({
    ...     "id": [1, 2, 3, 4],
    ...     "arm": ["control", "control", "treatment", "control"],
    ...     "randomised_on": pd.to_datetime(["2018-01-08"] * 4),
    ... })
    >>> referrals = pd.DataFrame({
    ...     "id": [1, 2, 3, 4],
    ...     "provision": ["IPS trial", "CV workshop", "IPS trial", "IPS trial"],
    ...     "start_date": ["2018-02-01", "2018-02-01", "2018-03-01", "2017-12-01"],
    ... })
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     flags = flag_contamination(people, referrals, similar=["IPS trial"],
    ...                                window_days=(-60, 365))
    >>> flags[["id", "contaminated", "also_received", "days_after_randomisation"]]
       id  contaminated  also_received  days_after_randomisation
    0   1             1              0                        24
    1   2             0              0                      <NA>
    2   3             0              1                        52
    3   4             1              0                       -38
    >>> flags["reason"].tolist()[:2]
    ['similar provision in window', 'no similar provision']
    >>> type(caught[0].message).__name__
    'RecordProblemsWarning'
    >>> flags.attrs["data_problems"]["before_randomisation"]["n_records"]
    1
    """
    func = "flag_contamination"
    options: dict[str, Any] = dict(
        id=id, assigned=assigned, control=control, randomised=randomised, provision=provision,
        started=started, similar=similar, window_days=window_days, min_days=min_days,
        ended=ended, known=known, keep=keep,
    )
    engine = engine_of(people)
    if engine in (DASK, SPARK):
        out, raw = on_engine(engine, _flag, people, referrals, options, func=func,
                             param="referrals", record_columns=[id, provision, started, ended])
    else:
        out, raw = _flag(people, referrals, **options)
    problems = _problems(raw)
    problems.warn(func, raw["n_records"], "referral records", attrs=engine not in (DASK, SPARK))
    if engine in (DASK, SPARK):
        return out
    out.attrs["data_problems"] = problems.entries
    out.attrs["settings"] = {
        "function": func,
        "similar": raw["similar"],
        "window_days": raw["window_days"],
        "min_days": raw["min_days"],
        "control": control,
        "assigned": assigned,
        "randomised": randomised,
        "n_records": raw["n_records"],
    }
    return out


def _flag(
    people: pd.DataFrame,
    referrals: pd.DataFrame,
    *,
    id: Hashable,
    assigned: Hashable,
    control: str,
    randomised: Hashable,
    provision: Hashable,
    started: Hashable,
    similar: Sequence[Any] | str | SimilarRule,
    window_days: tuple[int, int],
    min_days: int,
    ended: Hashable | None,
    known: Sequence[Any] | None,
    keep: Hashable | Sequence[Hashable] | None,
    whole: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rules of :func:`flag_contamination` without its warning: the result (no attrs)
    and the raw problem report (:func:`_problems` makes the warning of it).
    ``whole=False``: ``people`` is one partition of a Dask or Spark frame (maybe empty;
    the caller checks the control arm against the arms of all partitions)."""
    func = "flag_contamination"
    P = check_people(
        people, id=id, assigned=assigned, control=control, randomised=randomised, keep=keep,
        added=FLAG_COLUMNS, func=func, whole=whole,
    )
    refs = check_records(
        referrals, [(id, "id"), (provision, "provision"), (started, "started")],
        func=func, param="referrals",
    )
    lo, hi = check_window(window_days, func)
    if isinstance(min_days, bool) or not isinstance(min_days, (int, np.integer)) or min_days < 0:
        raise OptionError(
            f"The 'min_days' parameter of {func} must be a non-negative int (days). "
            f"Got {min_days!r} instead."
        )
    min_days = int(min_days)
    has_end = ended is not None and ended in refs.columns
    if min_days > 0 and not has_end:
        present = _fmt_list(list(refs.columns))
        raise ColumnError(
            f"{func}: min_days={min_days} needs the end date of each referral, but column "
            f"{ended!r} (ended) is not in referrals. Columns present: {present}. "
            f"Fix: pass ended= with the end-date column, or min_days=0."
        )
    rule: SimilarRule | None = None
    names_similar: list[Any] = []
    if callable(similar):
        rule = similar
    elif isinstance(similar, str):
        names_similar = [similar]
    elif isinstance(similar, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)) and len(similar) > 0:
        names_similar = list(dict.fromkeys(similar))
    else:
        raise OptionError(
            f"The 'similar' parameter of {func} must be a non-empty list of provision names or a "
            f"callable rule (records -> booleans). Got {similar!r} instead."
        )
    if known is not None and (isinstance(known, str) or not isinstance(known, Iterable)):
        raise OptionError(
            f"The 'known' parameter of {func} must be a list of provision names or None. "
            f"Got {known!r} instead."
        )
    known_list = list(known) if known is not None else None

    n = len(P.frame)
    check_no_missing(refs, provision, role="provision", func=func)
    pos = positions(P, refs, id, func=func)
    start, start_day = checked_days(refs, started, role="started", func=func, param="referrals")
    if has_end:
        end = parse_dates(refs, ended, role="ended", func=func, param="referrals")
        end_day, ongoing = day_numbers(end)
    else:
        end = None
        end_day, ongoing = np.zeros(len(refs), dtype=np.int64), np.ones(len(refs), dtype=bool)

    prov = refs[provision]
    if isinstance(prov.dtype, pd.CategoricalDtype):
        codes = prov.cat.codes.to_numpy().astype(np.int64)
        names = np.asarray(prov.cat.categories, dtype=object)
    else:
        # an object array hashes faster than pandas' string dtype (same codes)
        values = prov.to_numpy() if pd.api.types.is_string_dtype(prov) else prov
        codes_, uniq = pd.factorize(values, sort=False)
        codes = np.asarray(codes_, dtype=np.int64)
        names = np.asarray(uniq, dtype=object)

    problems_unknown: dict[Any, str] = {}
    if rule is None:
        names_set = set(names_similar)
        similar_name = np.fromiter((nm in names_set for nm in names), dtype=bool, count=len(names))
        is_similar = similar_name[codes] if len(codes) else np.zeros(0, dtype=bool)
        used = np.zeros(len(names), dtype=bool)
        used[codes] = True
        problems_unknown = unknown_provision(names[used], names_similar, known_list)
    else:
        view = refs
        if not pd.api.types.is_datetime64_any_dtype(refs[started]) or (
            end is not None and not pd.api.types.is_datetime64_any_dtype(refs[ended])
        ):
            view = refs.copy(deep=False)
            view[started] = start
            if end is not None:
                view[ended] = end
        is_similar = apply_rule(rule, view, func)

    # Everything below looks only at similar-provision records of people in the
    # trial: other records cannot change a flag, so they cannot raise a problem.
    known_id = pos >= 0
    sidx = np.flatnonzero(known_id & is_similar)
    spos = pos[sidx]
    sstart = start_day[sidx]
    days = sstart - P.day[spos]
    in_window = (days >= lo) & (days <= hi)
    send = end_day[sidx]
    songoing = ongoing[sidx]
    if min_days > 0:
        long_enough = songoing | (send - sstart + 1 >= min_days)
    else:
        long_enough = np.ones(sidx.size, dtype=bool)
    qual = in_window & long_enough
    scodes = codes[sidx]

    # duplicates: same person, provision, start and end date
    dup = np.zeros(sidx.size, dtype=bool)
    if sidx.size:
        keys = [spos, scodes, shift(sstart)]
        if has_end:
            keys.append(np.where(songoing, 0, shift(send) + 1))
        dup = duplicated(keys)

    # ---------------------------------------------------------- problems
    label = (names, codes)
    before = days < 0
    end_before = ~songoing & (send < sstart) if has_end else np.zeros(sidx.size, dtype=bool)
    ids = refs[id]
    raw: dict[str, Any] = {
        "n_records": len(refs),
        "window_days": (lo, hi),
        "min_days": min_days,
        "arms": sorted(set(P.arm.tolist()), key=label_order),
        "rule": rule is not None,
        "similar": (tuple(names_similar) if rule is None
                    else f"rule {getattr(rule, '__name__', repr(rule))}"),
        "unknown_id": unknown_ids(P, refs, id, known_id),
        "duplicate": {"n": int(dup.sum()), "examples": example_rows(sidx[dup], ids, start_day, label)},
        "before_randomisation": {
            "n": int(before.sum()), "examples": example_rows(sidx[before], ids, start_day, label),
        },
        "unknown_provision": {"names": unknown_counts(problems_unknown, names, codes)},
        "end_before_start": {
            "n": int(end_before.sum()),
            "examples": example_rows(sidx[end_before], ids, start_day, label),
        },
    }

    # ---------------------------------------------------------- per person
    flagged = np.zeros(n, dtype=bool)
    reason = np.full(n, 4, dtype=np.int8)
    reason[pos[known_id]] = 3
    reason[spos[~in_window]] = 2
    reason[spos[in_window & ~long_enough]] = 1
    reason[spos[qual]] = 0
    flagged[spos[qual]] = True
    n_similar = np.bincount(spos[qual & ~dup], minlength=n).astype(np.int64)

    first_code = np.full(n, -1, dtype=np.int64)
    first_day = np.zeros(n, dtype=np.int64)
    qi = np.flatnonzero(qual)
    if qi.size:
        qorder = np.lexsort((text_rank(names)[scodes[qi]], sstart[qi], spos[qi]))
        qs = qi[qorder]
        ps = spos[qs]
        head = np.ones(len(qs), dtype=bool)
        head[1:] = ps[1:] != ps[:-1]
        firsts = qs[head]
        first_code[spos[firsts]] = scodes[firsts]
        first_day[spos[firsts]] = sstart[firsts]
    used_codes = np.unique(first_code[first_code >= 0])
    cats = names[used_codes]
    remap = np.full(len(names) + 1, -1, dtype=np.int64)
    remap[used_codes] = np.arange(len(used_codes))
    cat_codes = np.where(first_code >= 0, remap[np.maximum(first_code, 0)], -1)
    if len(cats):
        rank = text_rank(cats)
        cats = cats[np.argsort(rank)]
        cat_codes = np.where(cat_codes >= 0, rank[np.maximum(cat_codes, 0)], -1)

    is_control = P.arm == str(label_key(control))
    out = P.frame
    out["contaminated"] = (flagged & is_control).astype(np.int64)
    out["also_received"] = (flagged & ~is_control).astype(np.int64)
    out["first_provision"] = pd.Categorical.from_codes(cat_codes, categories=pd.Index(cats, dtype=object))
    out["first_start_date"], out["days_after_randomisation"] = first_dates(first_day, first_code >= 0, P)
    out["n_similar"] = n_similar
    out["reason"] = pd.Categorical.from_codes(reason, categories=list(FLAG_REASONS))
    return out, raw


def _problems(raw: dict[str, Any]) -> RecordProblems:
    """The record problems of :func:`flag_contamination` from its raw report (one call's,
    or the partitions' merged): the counts, actions, examples and the warning's text."""
    lo, hi = raw["window_days"]
    window_text = f"window_days={(lo, hi)}"
    problems = RecordProblems()
    problems.unknown_ids(raw["unknown_id"], raw["n_records"])
    problems.duplicates(raw["duplicate"]["n"], examples_text(raw["duplicate"]["examples"]))
    n_before = raw["before_randomisation"]["n"]
    problems.add(
        "before_randomisation", n_before,
        f"similar provision started before randomisation; counted only inside {window_text}",
        examples_text(raw["before_randomisation"]["examples"]),
        f"{n_before:,} similar-provision record(s) dated before randomisation (counted only "
        f"inside {window_text})",
    )
    unknown = raw["unknown_provision"]["names"]
    by_name: dict[Any, list[Any]] = {}
    for nm, k, why in unknown.itertuples(index=False):
        by_name.setdefault(nm, [0, why])[0] += int(k)
    n_unknown_prov = sum(k for k, _ in by_name.values())
    order = sorted(by_name, key=lambda nm: (-by_name[nm][0], str(nm)))
    unknown_examples = [f"{nm!r} ({by_name[nm][0]:,} records; {by_name[nm][1]})" for nm in order]
    problems.add(
        "unknown_provision", n_unknown_prov,
        "not counted as similar" if not raw["rule"] else "not checked: similar is a rule",
        unknown_examples,
        f"{n_unknown_prov:,} record(s) with unknown provision names, not counted as similar: "
        f"{'; '.join(unknown_examples[:3])}",
    )
    n_end_before = raw["end_before_start"]["n"]
    problems.add(
        "end_before_start", n_end_before, "kept; too short for any min_days > 0",
        examples_text(raw["end_before_start"]["examples"]),
        f"{n_end_before:,} record(s) ending before they start",
    )
    return problems
