"""Take-up and control-group contamination: per-person flags from records, and monitoring.

A trial of a voluntary programme measures two things besides its outcomes:

* **take-up**: did people assigned to the programme start it? (:func:`take_up`,
  from the programme's start records);
* **contamination**: did people in the control arm receive provision similar to
  the programme under test? (:func:`flag_contamination`, from referral records
  to other provision).

Both dilute the intention-to-treat effect. With ``p_T`` the share of the
treatment arm that received the programme (or something like it) and ``p_C``
the share of the control arm that did, the ITT is ``CACE x (p_T - p_C)``
(Angrist, Imbens & Rubin 1996, *JASA* 91:444, under monotonicity and the
exclusion restriction), so both shares must be measured and carried into the
analysis. :func:`contamination_summary` reports them by arm, site, month of
randomisation or work coach, with Wilson (1927) intervals and an optional
tolerated rate, for monitoring while the trial runs.

Record problems (ids not in the trial, dates before randomisation, duplicated
records, unknown provision names, programme starts in the control arm) are
never dropped or double-counted in silence: each kind is counted in one
:class:`~dwp_eval.errors.RecordProblemsWarning` and recorded on the result in
``result.attrs["data_problems"]``, a dict of plain values (see
:func:`flag_contamination`).
"""

from __future__ import annotations

import difflib
import html
import warnings
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwp_eval._core.records import date_text, day_numbers, example_ids, no_missing, parse_dates
from dwp_eval._validation import (
    _fmt_list,
    as_column_list,
    binary_values,
    check_alpha,
    check_columns,
    check_data,
    check_no_missing,
    check_unique,
)
from dwp_eval.errors import (
    ColumnError,
    DesignError,
    OptionError,
    RecordProblemsWarning,
)
from dwp_eval.results import ResultMixin

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_REASONS",
    "SUMMARY_COLUMNS",
    "TAKE_UP_COLUMNS",
    "TAKE_UP_REASONS",
    "ContaminationSummary",
    "contamination_summary",
    "flag_contamination",
    "take_up",
    "wilson_interval",
]

#: Columns that :func:`flag_contamination` adds after the id, arm, randomisation
#: date and ``keep`` columns.
#: The fix named when a date column of records has missing dates.
_DATES_FIX = "remove those records or fill in their dates before calling {func}."

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

#: Columns that :func:`take_up` adds after the id, arm, randomisation date and
#: ``keep`` columns.
TAKE_UP_COLUMNS = ("received", "crossover", "first_start_date", "days_to_start", "n_starts", "reason")

#: Values of the ``reason`` column of :func:`take_up`.
TAKE_UP_REASONS = ("started in window", "started outside window", "no start record")

#: Columns of :meth:`ContaminationSummary.to_frame` after the ``by`` columns.
SUMMARY_COLUMNS = (
    "n",
    "n_flagged",
    "rate",
    "conf_low",
    "conf_high",
    "alpha",
    "threshold",
    "above_threshold",
    "significantly_above",
)

SimilarRule = Callable[[pd.DataFrame], Any]


# ------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class _People:
    frame: pd.DataFrame  # id, assigned, randomised (parsed), keep: the result's first columns
    index: pd.Index  # person ids, for looking up record ids
    arm: np.ndarray  # arm labels as str
    day: np.ndarray  # randomisation date, days since 1970-01-01


def _check_keep(keep: Any, people: pd.DataFrame, base: list[Hashable], added: Sequence[str], func: str) -> list[Hashable]:
    cols = as_column_list(keep)
    check_columns(people, cols, role="keep", func=func, param="people")
    clash = [c for c in cols if c in added]
    if clash:
        raise OptionError(
            f"The 'keep' parameter of {func} names column(s) {_fmt_list(clash)} that the result "
            f"adds itself. Fix: rename them in people first."
        )
    return [c for c in dict.fromkeys(cols) if c not in base]


def _check_people(
    people: Any,
    *,
    id: Hashable,
    assigned: Hashable,
    randomised: Hashable,
    keep: Any,
    added: Sequence[str],
    func: str,
) -> _People:
    people = check_data(people, func=func, param="people", allow_empty=False)
    check_columns(people, [id], role="id", func=func, param="people")
    check_columns(people, [assigned], role="assigned", func=func, param="people")
    check_columns(people, [randomised], role="randomised", func=func, param="people")
    base = list(dict.fromkeys([id, assigned, randomised]))
    extra = _check_keep(keep, people, base, added, func)
    check_no_missing(people, id, role="id", func=func)
    check_no_missing(people, assigned, role="assigned", func=func)
    check_unique(people, id, role="id", func=func)
    rand = parse_dates(people, randomised, role="randomised", func=func, param="people")
    day, missing = day_numbers(rand)
    no_missing(missing, people, randomised, role="randomised", func=func, param="people", noun="date(s)", fix=_DATES_FIX.format(func=func))
    frame = people[base + extra].copy()
    frame[randomised] = rand
    arm = people[assigned].astype(str).to_numpy()
    return _People(frame, pd.Index(people[id]), arm, day)


def _check_window(window_days: Any, func: str) -> tuple[int, int]:
    ok = (
        isinstance(window_days, (tuple, list))
        and len(window_days) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in window_days)
        and window_days[0] <= window_days[1]
    )
    if not ok:
        raise OptionError(
            f"The 'window_days' parameter of {func} must be a pair of ints (first, last) with "
            f"first <= last, in days after randomisation. Got {window_days!r} instead."
        )
    return int(window_days[0]), int(window_days[1])


def _arm_labels(arm: np.ndarray, control: str, func: str, column: Hashable) -> None:
    present = sorted(set(arm.tolist()))
    if control not in present:
        raise DesignError(
            f"{func}: the control arm {control!r} is not in column {column!r}, which holds "
            f"{_fmt_list(present)}. Fix: pass control= with the control arm's label."
        )


def _positions(
    people: _People, records: pd.DataFrame, id: Hashable, *, func: str, param: str
) -> np.ndarray:
    """Row of each record's person in ``people`` (-1: id not in the trial)."""
    check_no_missing(records, id, role="id", func=func)
    return np.asarray(people.index.get_indexer(records[id]), dtype=np.int64)


def _duplicated(keys: list[np.ndarray]) -> np.ndarray:
    """True for every record equal, on all ``keys`` (non-negative ints), to an earlier one."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=bool)
    widths = [int(k.max()) + 1 for k in keys]
    if float(np.prod([float(w) for w in widths])) < 2.0**62:
        packed = np.zeros(n, dtype=np.int64)
        for k, w in zip(keys, widths, strict=True):
            packed = packed * w + k
        return np.asarray(pd.Series(packed).duplicated().to_numpy(), dtype=bool)
    return np.asarray(pd.DataFrame({i: k for i, k in enumerate(keys)}).duplicated().to_numpy(), dtype=bool)


def _shift(x: np.ndarray) -> np.ndarray:
    """Values moved to start at 0 (for packing keys)."""
    return x - x.min() if x.size else x


def _problem(n: int, action: str, examples: Sequence[Any] = ()) -> dict[str, Any]:
    return {"n_records": int(n), "action": action, "examples": tuple(examples) if n else ()}


def _id_rank(ids: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Rank of the ids of ``rows`` by value (by text if values do not compare)."""
    sub = ids.to_numpy()[rows]
    try:
        _, inv = np.unique(sub, return_inverse=True)
    except TypeError:
        _, inv = np.unique(sub.astype(str), return_inverse=True)
    return np.asarray(inv, dtype=np.int64).ravel()


def _record_examples(
    rows: np.ndarray,
    ids: pd.Series,
    pos: np.ndarray,
    day: np.ndarray,
    label: tuple[np.ndarray, np.ndarray] | None,
    limit: int = 3,
) -> list[str]:
    """Short, row-order-free descriptions of some records (smallest person, then date)."""
    if rows.size == 0:
        return []
    if label is not None:
        names, codes = label
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.argsort(np.array([str(x) for x in names], dtype=object), kind="stable")] = np.arange(len(names))
        order = np.lexsort((rank[codes[rows]], day[rows], _id_rank(ids, rows)))
    else:
        order = np.lexsort((day[rows], _id_rank(ids, rows)))
    out = []
    id_values = ids.to_numpy()
    for r in rows[order][:limit]:
        what = f" {label[0][label[1][r]]!r}" if label is not None else ""
        value = id_values[r].item() if isinstance(id_values[r], np.generic) else id_values[r]
        out.append(f"id {value!r}:{what} on {date_text(day[r])}")
    return out


def _warn(func: str, total: int, what: str, problems: dict[str, dict[str, Any]], texts: dict[str, str]) -> None:
    parts = [texts[k] for k, v in problems.items() if v["n_records"]]
    if not parts:
        return
    n_bad = sum(v["n_records"] for v in problems.values())
    warnings.warn(
        f"{func}: {n_bad:,} problem(s) in {total:,} {what}: " + "; ".join(parts)
        + ". Nothing was dropped silently: details in result.attrs['data_problems'].",
        RecordProblemsWarning,
        stacklevel=3,
    )


def _normalise_name(name: Any) -> str:
    return " ".join(str(name).replace("-", " ").replace("_", " ").casefold().split())


def _unknown_provision(names: np.ndarray, similar: Sequence[Any], known: Sequence[Any] | None) -> dict[Any, str]:
    """Provision names that are not similar and are unknown or look like a similar name."""
    similar_set = set(similar)
    known_set = set(known) if known is not None else None
    norm_similar = {_normalise_name(s): s for s in similar}
    out: dict[Any, str] = {}
    for name in names:
        if name in similar_set:
            continue
        norm = _normalise_name(name)
        close = norm_similar.get(norm)
        if close is None:
            match = difflib.get_close_matches(norm, list(norm_similar), n=1, cutoff=0.9)
            close = norm_similar[match[0]] if match else None
        if close is not None:
            out[name] = f"looks like similar provision {close!r}"
        elif known_set is not None and name not in known_set:
            out[name] = "neither in similar nor in known"
    return out


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
        One row per person randomised: id, arm and date of randomisation.
    referrals
        One row per referral to other provision: the person's id, the
        provision's name, its start date and (optionally) its end date. Dates
        may be datetime64 or ISO text (``"2018-01-31"``); other text raises.
        An empty frame is allowed (nobody is flagged).
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
        One row per person, in the order and with the index of ``people``:
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
    P = _check_people(
        people, id=id, assigned=assigned, randomised=randomised, keep=keep, added=FLAG_COLUMNS, func=func
    )
    _arm_labels(P.arm, control, func, assigned)
    refs = check_data(referrals, func=func, param="referrals", allow_empty=True)
    check_columns(refs, [id], role="id", func=func, param="referrals")
    check_columns(refs, [provision], role="provision", func=func, param="referrals")
    check_columns(refs, [started], role="started", func=func, param="referrals")
    lo, hi = _check_window(window_days, func)
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
    pos = _positions(P, refs, id, func=func, param="referrals")
    start = parse_dates(refs, started, role="started", func=func, param="referrals")
    start_day, start_missing = day_numbers(start)
    no_missing(start_missing, refs, started, role="started", func=func, param="referrals", noun="date(s)", fix=_DATES_FIX.format(func=func))
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
        problems_unknown = _unknown_provision(names[used], names_similar, known_list)
    else:
        view = refs
        if not pd.api.types.is_datetime64_any_dtype(refs[started]) or (
            end is not None and not pd.api.types.is_datetime64_any_dtype(refs[ended])
        ):
            view = refs.copy(deep=False)
            view[started] = start
            if end is not None:
                view[ended] = end
        is_similar = _apply_rule(rule, view, func)

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
        keys = [spos, scodes, _shift(sstart)]
        if has_end:
            keys.append(np.where(songoing, 0, _shift(send) + 1))
        dup = _duplicated(keys)

    # ---------------------------------------------------------- problems
    label = (names, codes)
    unknown_rows = ~known_id
    before = days < 0
    end_before = ~songoing & (send < sstart) if has_end else np.zeros(sidx.size, dtype=bool)
    n_unknown_prov = 0
    unknown_examples: list[str] = []
    if problems_unknown:
        bad_names = list(problems_unknown)
        bad_code = np.zeros(len(names), dtype=bool)
        lookup = {nm: i for i, nm in enumerate(names)}
        for nm in bad_names:
            bad_code[lookup[nm]] = True
        counts = np.bincount(codes[bad_code[codes]], minlength=len(names))
        n_unknown_prov = int(counts.sum())
        order = sorted(bad_names, key=lambda nm: (-int(counts[lookup[nm]]), str(nm)))
        unknown_examples = [
            f"{nm!r} ({int(counts[lookup[nm]]):,} records; {problems_unknown[nm]})" for nm in order
        ]
    window_text = f"window_days={(lo, hi)}"
    problems = {
        "unknown_id": _problem(
            int(unknown_rows.sum()),
            "left out: the id is not in people",
            list(example_ids(refs[id].to_numpy()[unknown_rows])),
        ),
        "duplicate": _problem(
            int(dup.sum()),
            "counted once",
            _record_examples(sidx[dup], refs[id], pos, start_day, label),
        ),
        "before_randomisation": _problem(
            int(before.sum()),
            f"similar provision started before randomisation; counted only inside {window_text}",
            _record_examples(sidx[before], refs[id], pos, start_day, label),
        ),
        "unknown_provision": _problem(
            n_unknown_prov,
            "not counted as similar"
            if rule is None
            else "not checked: similar is a rule",
            unknown_examples,
        ),
        "end_before_start": _problem(
            int(end_before.sum()),
            "kept; too short for any min_days > 0",
            _record_examples(sidx[end_before], refs[id], pos, start_day, label),
        ),
    }
    texts = {
        "unknown_id": f"{problems['unknown_id']['n_records']:,} record(s) name ids not in people "
        f"(left out; e.g. {_fmt_list(problems['unknown_id']['examples'])})"
        + _id_type_hint(P, refs, id, problems["unknown_id"]["n_records"], len(refs)),
        "duplicate": f"{problems['duplicate']['n_records']:,} duplicated record(s) (counted once)",
        "before_randomisation": f"{problems['before_randomisation']['n_records']:,} similar-provision "
        f"record(s) dated before randomisation (counted only inside {window_text})",
        "unknown_provision": f"{n_unknown_prov:,} record(s) with unknown provision names, not "
        f"counted as similar: {'; '.join(unknown_examples[:3])}",
        "end_before_start": f"{problems['end_before_start']['n_records']:,} record(s) ending before "
        "they start",
    }
    _warn(func, len(refs), "referral records", problems, texts)

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
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.argsort(np.array([str(x) for x in names], dtype=object), kind="stable")] = np.arange(len(names))
        qorder = np.lexsort((rank[scodes[qi]], sstart[qi], spos[qi]))
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
        cat_order = np.argsort(np.array([str(x) for x in cats], dtype=object), kind="stable")
        inv = np.empty_like(cat_order)
        inv[cat_order] = np.arange(len(cat_order))
        cats = cats[cat_order]
        cat_codes = np.where(cat_codes >= 0, inv[np.maximum(cat_codes, 0)], -1)

    is_control = P.arm == control
    out = P.frame
    out["contaminated"] = (flagged & is_control).astype(np.int64)
    out["also_received"] = (flagged & ~is_control).astype(np.int64)
    out["first_provision"] = pd.Categorical.from_codes(cat_codes, categories=pd.Index(cats, dtype=object))
    has_first = first_code >= 0
    fdate = np.where(has_first, first_day, 0).astype("datetime64[D]").astype("datetime64[ns]")
    fdate[~has_first] = np.datetime64("NaT")
    out["first_start_date"] = fdate
    out["days_after_randomisation"] = pd.array(
        np.where(has_first, first_day - P.day, 0), dtype="Int64"
    )
    out.loc[~has_first, "days_after_randomisation"] = pd.NA
    out["n_similar"] = n_similar
    out["reason"] = pd.Categorical.from_codes(reason, categories=list(FLAG_REASONS))
    out.attrs["data_problems"] = problems
    out.attrs["settings"] = {
        "function": func,
        "similar": tuple(names_similar) if rule is None else f"rule {getattr(rule, '__name__', repr(rule))}",
        "window_days": (lo, hi),
        "min_days": min_days,
        "control": control,
        "assigned": assigned,
        "randomised": randomised,
        "n_records": len(refs),
    }
    return out


def _apply_rule(rule: SimilarRule, view: pd.DataFrame, func: str) -> np.ndarray:
    got = rule(view)
    arr = np.asarray(got)
    if arr.shape != (len(view),):
        raise OptionError(
            f"The 'similar' rule of {func} must return one value per referral record "
            f"({len(view):,}). Got shape {arr.shape} instead."
        )
    if arr.dtype == bool:
        return arr
    if pd.isna(pd.Series(arr)).any():
        raise OptionError(
            f"The 'similar' rule of {func} returned missing values. Fix: return True/False for "
            f"every record (e.g. .fillna(False))."
        )
    values = pd.unique(pd.Series(arr)).tolist()
    if not set(values) <= {0, 1}:
        bad = sorted((v for v in values if v not in (0, 1)), key=str)[:5]
        raise OptionError(
            f"The 'similar' rule of {func} must return booleans or 0/1. Got values "
            f"{_fmt_list(bad)} instead."
        )
    return arr.astype(bool)


def _id_type_hint(P: _People, refs: pd.DataFrame, id: Hashable, n_unknown: int, n_records: int) -> str:
    if n_unknown == 0 or n_unknown < n_records:
        return ""
    return (
        f"; no record matched a person: are the ids of the same type? "
        f"(people: {P.index.dtype}, records: {refs[id].dtype})"
    )


# ------------------------------------------------------------------ take-up


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
        One row per person randomised: id, arm and date of randomisation.
    starts
        One row per programme start: the person's id and the start date
        (datetime64 or ISO text). A person may have several (restarts). An
        empty frame is allowed.
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
        One row per person, in the order and with the index of ``people``: the
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
    P = _check_people(
        people, id=id, assigned=assigned, randomised=randomised, keep=keep, added=TAKE_UP_COLUMNS, func=func
    )
    _arm_labels(P.arm, control, func, assigned)
    present = sorted(set(P.arm.tolist()))
    if treatment is None:
        treat = [a for a in present if a != control]
    else:
        treat = [treatment] if isinstance(treatment, str) else list(treatment)
        missing_arms = [t for t in treat if t not in present]
        if not treat or missing_arms or control in treat:
            raise DesignError(
                f"{func}: treatment= must name arms other than the control arm {control!r} that "
                f"are in column {assigned!r}, which holds {_fmt_list(present)}. "
                f"Got {treatment!r} instead."
            )
    st = check_data(starts, func=func, param="starts", allow_empty=True)
    check_columns(st, [id], role="id", func=func, param="starts")
    check_columns(st, [started], role="started", func=func, param="starts")
    lo, hi = _check_window(window_days, func)
    n = len(P.frame)
    pos = _positions(P, st, id, func=func, param="starts")
    sdates = parse_dates(st, started, role="started", func=func, param="starts")
    sday, smissing = day_numbers(sdates)
    no_missing(smissing, st, started, role="started", func=func, param="starts", noun="date(s)", fix=_DATES_FIX.format(func=func))

    known_id = pos >= 0
    safe = np.where(known_id, pos, 0)
    days = sday - P.day[safe]
    in_window = known_id & (days >= lo) & (days <= hi)
    kidx = np.flatnonzero(known_id)
    dup = np.zeros(len(st), dtype=bool)
    if kidx.size:
        dup[kidx] = _duplicated([pos[kidx], _shift(sday[kidx])])

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
    cross_rows = in_window & ~dup & ~in_treat[np.where(known_id, pos, 0)]
    no_label = None
    problems = {
        "unknown_id": _problem(
            int((~known_id).sum()),
            "left out: the id is not in people",
            list(example_ids(st[id].to_numpy()[~known_id])),
        ),
        "duplicate": _problem(
            int(dup.sum()), "counted once", _record_examples(np.flatnonzero(dup), st[id], pos, sday, no_label)
        ),
        "before_randomisation": _problem(
            int(before.sum()),
            f"counted only inside window_days={(lo, hi)}",
            _record_examples(np.flatnonzero(before), st[id], pos, sday, no_label),
        ),
        "control_arm_start": _problem(
            int(cross_rows.sum()),
            f"kept: the {int(crossover.sum()):,} people starting have received=1 and crossover=1",
            _record_examples(np.flatnonzero(cross_rows), st[id], pos, sday, no_label),
        ),
    }
    texts = {
        "unknown_id": f"{problems['unknown_id']['n_records']:,} record(s) name ids not in people "
        f"(left out; e.g. {_fmt_list(problems['unknown_id']['examples'])})"
        + _id_type_hint(P, st, id, problems["unknown_id"]["n_records"], len(st)),
        "duplicate": f"{problems['duplicate']['n_records']:,} duplicated record(s) (counted once)",
        "before_randomisation": f"{problems['before_randomisation']['n_records']:,} start(s) dated "
        f"before randomisation (counted only inside window_days={(lo, hi)})",
        "control_arm_start": f"{int(cross_rows.sum()):,} start(s) in the window by "
        f"{int(crossover.sum()):,} person(s) outside the treatment arm(s) {_fmt_list(treat)} "
        f"(kept: received=1, crossover=1)",
    }
    _warn(func, len(st), "start records", problems, texts)

    out = P.frame
    has = received
    out["received"] = received.astype(np.int64)
    out["crossover"] = crossover.astype(np.int64)
    fdate = np.where(has, first_day, 0).astype("datetime64[D]").astype("datetime64[ns]")
    fdate[~has] = np.datetime64("NaT")
    out["first_start_date"] = fdate
    out["days_to_start"] = pd.array(np.where(has, first_day - P.day, 0), dtype="Int64")
    out.loc[~has, "days_to_start"] = pd.NA
    out["n_starts"] = n_starts
    out["reason"] = pd.Categorical.from_codes(reason, categories=list(TAKE_UP_REASONS))
    out.attrs["data_problems"] = problems
    out.attrs["settings"] = {
        "function": func,
        "treatment": tuple(treat),
        "window_days": (lo, hi),
        "control": control,
        "assigned": assigned,
        "randomised": randomised,
        "n_records": len(st),
    }
    return out


# ------------------------------------------------------------------ monitoring


def wilson_interval(
    n_flagged: np.ndarray | int, n: np.ndarray | int, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``k / n``.

    Notes
    -----
    With ``p = k / n`` and ``z`` the ``1 - alpha / 2`` normal quantile, the
    interval is (Wilson 1927, *JASA* 22:209, eq. on p. 210; Agresti & Coull
    1998, *Am. Stat.* 52:119, eq. 2)

    .. math::

        \\frac{p + z^2 / (2n) \\pm z \\sqrt{p (1 - p) / n + z^2 / (4 n^2)}}{1 + z^2 / n}.

    Unlike the Wald interval ``p -/+ z sqrt(p (1 - p) / n)`` it stays inside
    [0, 1] and keeps close to nominal coverage for the small groups and rare
    events of contamination monitoring (Brown, Cai & DasGupta 2001, *Stat.
    Sci.* 16:101).

    Examples
    --------
    >>> lo, hi = wilson_interval(3, 40)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0258, 0.1986)
    """
    from scipy import stats

    k = np.asarray(n_flagged, dtype=float)
    m = np.asarray(n, dtype=float)
    z = float(stats.norm.isf(alpha / 2))
    z2 = z * z
    p = k / m
    denom = 1.0 + z2 / m
    centre = (p + z2 / (2.0 * m)) / denom
    half = z * np.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m)) / denom
    return centre - half, centre + half


@dataclass(frozen=True, eq=False, repr=False)
class ContaminationSummary(ResultMixin):
    """Rates of contamination, receipt or take-up by group, with Wilson intervals.

    Made by :func:`contamination_summary`. ``to_frame()`` has the ``by``
    columns then :data:`SUMMARY_COLUMNS`: ``n`` (people), ``n_flagged``,
    ``rate``, ``conf_low`` and ``conf_high`` (Wilson score interval at level
    ``1 - alpha``), ``alpha``, ``threshold`` (the tolerated rate, NaN if none),
    ``above_threshold`` (rate above it) and ``significantly_above`` (the whole
    interval above it); the last two are missing (``<NA>``) without a threshold.
    """

    _frame: pd.DataFrame
    by: tuple[str, ...]
    flag: str
    label: str
    alpha: float
    threshold: float | None
    n_obs: int
    n_flagged: int

    @property
    def rate(self) -> float:
        """The overall rate (all groups together)."""
        return self.n_flagged / self.n_obs if self.n_obs else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The table: ``by`` columns then :data:`SUMMARY_COLUMNS` (a copy)."""
        return self._frame.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Wilson intervals of every group's rate at level ``1 - alpha`` (default: the result's)."""
        a = self.alpha if alpha is None else check_alpha(alpha, func="ContaminationSummary.conf_int")
        lo, hi = wilson_interval(self._frame["n_flagged"].to_numpy(), self._frame["n"].to_numpy(), a)
        out = self._frame[list(self.by)].copy()
        out["conf_low"] = lo
        out["conf_high"] = hi
        return out

    def above(self) -> pd.DataFrame:
        """The groups whose rate is above the threshold (empty without a threshold)."""
        f = self._frame
        if self.threshold is None:
            return f.iloc[0:0].copy()
        return f[f["above_threshold"].fillna(False).to_numpy(dtype=bool)].copy()

    def summary(self) -> str:
        f = self._frame
        level = f"{100 * (1 - self.alpha):g}%"
        by = ", ".join(self.by) if self.by else "all"
        lines = [
            f"{self.label.capitalize()} by {by}: {self.n_flagged:,} of {self.n_obs:,} "
            f"({100 * self.rate:.1f}%); Wilson {level} intervals"
        ]
        keys = [[str(v) for v in f[c]] for c in self.by]
        widths = [max([len(str(c))] + [len(v) for v in col]) for c, col in zip(self.by, keys, strict=True)]
        head = "  ".join(f"{c!s:<{w}}" for c, w in zip(self.by, widths, strict=True))
        lines.append(f"  {head}{'  ' if head else ''}{'n':>9} {'flagged':>8} {'rate':>7}  {level + ' CI':<17}")
        for i in range(len(f)):
            cells = "  ".join(f"{col[i]:<{w}}" for col, w in zip(keys, widths, strict=True))
            mark = ""
            if self.threshold is not None:
                mark = "  **" if bool(f["significantly_above"].iloc[i]) else (
                    "  *" if bool(f["above_threshold"].iloc[i]) else ""
                )
            lines.append(
                f"  {cells}{'  ' if cells else ''}{int(f['n'].iloc[i]):>9,} "
                f"{int(f['n_flagged'].iloc[i]):>8,} {100 * f['rate'].iloc[i]:>6.1f}%  "
                f"[{100 * f['conf_low'].iloc[i]:4.1f}%, {100 * f['conf_high'].iloc[i]:4.1f}%]{mark}"
            )
        if self.threshold is not None:
            n_above = int(f["above_threshold"].fillna(False).sum())
            n_sig = int(f["significantly_above"].fillna(False).sum())
            lines.append(
                f"  threshold {100 * self.threshold:g}%: {n_above} group(s) above (*), "
                f"{n_sig} with the whole interval above (**)"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<ContaminationSummary {self.label} by {', '.join(self.by) or 'all'}: "
            f"{len(self._frame)} groups, overall {100 * self.rate:.1f}%>"
        )

    def _repr_html_(self) -> str:
        head = self.summary().splitlines()[0]
        return f"<p><strong>{html.escape(head)}</strong></p>" + self._frame.to_html(
            index=False, float_format=lambda v: f"{v:.4g}"
        )

    def plot(self, ax: Axes | None = None, *, x: str = "month", band: bool = True, **kwargs: Any) -> Axes:
        """Rate over time (``x="month"``), one line per group of the other ``by`` columns.

        Needs ``"month"`` among the ``by`` columns (e.g. ``by=("site", "month")``);
        Wilson intervals are drawn as bands (``band=False`` to omit) and the
        threshold as a dashed line. Any other ``x`` among ``by`` gives points
        with interval bars.
        """
        import matplotlib.pyplot as plt

        if x not in self.by:
            raise OptionError(
                f"The 'x' parameter of ContaminationSummary.plot must be one of the by columns "
                f"{_fmt_list(self.by)}. Got {x!r} instead. Fix: summarise with by=(..., {x!r})."
            )
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        f = self._frame
        others = [c for c in self.by if c != x]
        groups = f.groupby(others, sort=True, observed=True) if others else [((), f)]
        for key, g in groups:
            g = g.sort_values(x)
            xs = g[x]
            if isinstance(xs.dtype, pd.PeriodDtype):
                xs = xs.dt.to_timestamp()
            name = " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,))) or self.label
            if x == "month":
                (line,) = ax.plot(xs, g["rate"], marker="o", label=name, **kwargs)
                if band:
                    ax.fill_between(xs, g["conf_low"], g["conf_high"], color=line.get_color(), alpha=0.15)
            else:
                err = np.vstack([g["rate"] - g["conf_low"], g["conf_high"] - g["rate"]])
                ax.errorbar(xs.astype(str), g["rate"], yerr=err, fmt="o", capsize=3, label=name, **kwargs)
        if self.threshold is not None:
            ax.axhline(self.threshold, color="grey", ls="--", lw=1, label=f"threshold {100 * self.threshold:g}%")
        ax.set_xlabel("month of randomisation" if x == "month" else str(x))
        ax.set_ylabel(f"{self.label} (rate)")
        ax.set_ylim(bottom=0)
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        from matplotlib.figure import Figure

        fig = ax.get_figure()
        if isinstance(fig, Figure):
            fig.tight_layout()
        return ax


def _binary(data: pd.DataFrame, column: Hashable, func: str) -> np.ndarray:
    check_no_missing(data, column, role="flag", func=func)
    s = data[column]
    return binary_values(s, column, role="flag", func=func,
                         example=f"(df[{column!r}] > 0).astype(int)")


def contamination_summary(
    flags: pd.DataFrame,
    *,
    by: Hashable | Sequence[Hashable] | None = ("arm",),
    alpha: float = 0.05,
    threshold: float | None = None,
    flag: Hashable | None = None,
    randomised: Hashable | None = None,
) -> ContaminationSummary:
    """Rates with Wilson intervals by arm, site, month of randomisation or work coach.

    Parameters
    ----------
    flags
        The result of :func:`flag_contamination` or :func:`take_up` (or any
        frame with a 0/1 column), with any grouping columns (e.g. through
        ``keep=``).
    by
        Grouping columns. ``"month"``, when not a column, is the month of
        randomisation, taken from the ``randomised`` column. ``None`` or
        ``()``: one overall row.
    alpha
        Intervals have level ``1 - alpha``.
    threshold
        A tolerated rate (e.g. ``0.05``): groups above it are marked
        (``above_threshold``), and those whose whole interval lies above it
        (``significantly_above``), for monitoring during the trial.
    flag
        The 0/1 column to summarise. ``None``: receipt of similar provision
        (``contaminated`` or ``also_received``; in the control arm that is the
        contamination rate) for :func:`flag_contamination` output, ``received``
        for :func:`take_up` output.
    randomised
        Column with the date of randomisation, for ``"month"``; ``None``: the
        one recorded by the function that made ``flags``, else
        ``"randomised_on"``.

    Returns
    -------
    ContaminationSummary
        ``to_frame()``, ``summary()``, ``conf_int(alpha)``, ``above()`` and
        ``plot()`` (rate over time by site with ``by=("site", "month")``).

    Notes
    -----
    Wilson (1927) score intervals; see :func:`wilson_interval`. Groups are
    monitored one by one: with many sites and months some will cross a
    threshold by chance, which is why ``significantly_above`` is reported
    next to ``above_threshold``.

    Examples
    --------
    >>> import pandas as pd
    >>> flags = pd.DataFrame({"arm": ["control"] * 4 + ["treatment"] * 4,
    ...                       "contaminated": [1, 0, 0, 0, 0, 0, 0, 0],
    ...                       "also_received": [0, 0, 0, 0, 1, 1, 0, 0]})
    >>> s = contamination_summary(flags, threshold=0.3)
    >>> s.to_frame()[["arm", "n", "n_flagged", "rate", "above_threshold"]]
             arm  n  n_flagged  rate  above_threshold
    0    control  4          1  0.25            False
    1  treatment  4          2  0.50             True
    """
    func = "contamination_summary"
    flags = check_data(flags, func=func, param="flags", allow_empty=False)
    alpha = check_alpha(alpha, func=func)
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.floating))
        or not 0.0 <= float(threshold) <= 1.0
    ):
        raise OptionError(
            f"The 'threshold' parameter of {func} must be a rate in [0, 1] or None. "
            f"Got {threshold!r} instead."
        )
    settings = flags.attrs.get("settings", {}) if isinstance(flags.attrs.get("settings"), dict) else {}
    if flag is None:
        if "contaminated" in flags.columns and "also_received" in flags.columns:
            y = _binary(flags, "contaminated", func) | _binary(flags, "also_received", func)
            flag_name, label = "contaminated|also_received", "receipt of similar provision"
            arm_col, control = settings.get("assigned"), settings.get("control")
            if arm_col in flags.columns and control is not None and bool(
                (flags[arm_col].astype(str) == str(control)).all()
            ):
                label = "contamination"  # control arm only: receipt of similar provision is contamination
        elif "received" in flags.columns:
            y = _binary(flags, "received", func)
            flag_name, label = "received", "take-up"
        elif "contaminated" in flags.columns:
            y = _binary(flags, "contaminated", func)
            flag_name, label = "contaminated", "contamination"
        else:
            raise ColumnError(
                f"{func}: flags has none of the columns 'contaminated', 'also_received', "
                f"'received'. Columns present: {_fmt_list(list(flags.columns))}. Fix: pass the "
                f"output of flag_contamination or take_up, or name the 0/1 column in flag=."
            )
    else:
        check_columns(flags, [flag], role="flag", func=func, param="flags")
        y = _binary(flags, flag, func)
        flag_name, label = str(flag), {"received": "take-up", "contaminated": "contamination"}.get(
            str(flag), f"{flag} rate"
        )
    by_cols = [] if by is None else as_column_list(by)
    frame = pd.DataFrame(index=flags.index)
    for c in by_cols:
        if c in flags.columns:
            check_no_missing(flags, c, role="by", func=func)
            frame[c] = flags[c]
        elif c == "month":
            rcol = randomised if randomised is not None else settings.get("randomised", "randomised_on")
            if rcol not in flags.columns:
                raise ColumnError(
                    f"{func}: by='month' is the month of randomisation, but column {rcol!r} "
                    f"(randomised) is not in flags. Columns present: {_fmt_list(list(flags.columns))}. "
                    f"Fix: pass randomised= with the date-of-randomisation column."
                )
            dates = parse_dates(flags, rcol, role="randomised", func=func, param="flags")
            _, miss = day_numbers(dates)
            no_missing(miss, flags, rcol, role="randomised", func=func, param="flags", noun="date(s)", fix=_DATES_FIX.format(func=func))
            frame["month"] = dates.dt.to_period("M")
        else:
            check_columns(flags, [c], role="by", func=func, param="flags")
    frame["_y"] = y.astype(np.int64)
    keys = [str(c) if not isinstance(c, str) else c for c in by_cols]
    if by_cols:
        grouped = frame.groupby(by_cols, sort=True, observed=True)["_y"].agg(["size", "sum"]).reset_index()
    else:
        grouped = pd.DataFrame({"size": [len(frame)], "sum": [int(frame["_y"].sum())]})
    n = grouped["size"].to_numpy(dtype=np.int64)
    k = grouped["sum"].to_numpy(dtype=np.int64)
    lo, hi = wilson_interval(k, n, alpha)
    out = grouped[by_cols].copy() if by_cols else pd.DataFrame(index=range(1))
    out["n"] = n
    out["n_flagged"] = k
    out["rate"] = k / n
    out["conf_low"] = lo
    out["conf_high"] = hi
    out["alpha"] = alpha
    out["threshold"] = float(threshold) if threshold is not None else np.nan
    if threshold is not None:
        out["above_threshold"] = pd.array(k / n > threshold, dtype="boolean")
        out["significantly_above"] = pd.array(lo > threshold, dtype="boolean")
    else:
        out["above_threshold"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["significantly_above"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out = out.reset_index(drop=True)
    return ContaminationSummary(
        out,
        tuple(keys),
        flag_name,
        label,
        alpha,
        float(threshold) if threshold is not None else None,
        int(n.sum()),
        int(k.sum()),
    )
