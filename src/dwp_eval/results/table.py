"""Side-by-side tables of several effects or models: :func:`compare` and :class:`Table`.

The layout of R ``modelsummary`` (Arel-Bundock 2022, *JSS* 103(1)) and pyfixest
``etable``: one column per model, one row per term with its estimate and,
beneath it, the standard error in parentheses or the confidence interval in
brackets, then model-information rows (outcome, estimand, people, SE type,
design). :meth:`Table.to_frame` is the long, numeric version (one row per model
and term) that CSV and Excel exports carry; HTML, LaTeX, Word and Markdown
show the side-by-side cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval.errors import DwpEvalError, OptionError

__all__ = ["COMPARE_COLUMNS", "Table", "compare"]

#: Columns of :meth:`Table.to_frame` for a table made by :func:`compare`.
COMPARE_COLUMNS = [
    "model",
    "term",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "p_value",
    "n_obs",
    "outcome",
    "estimand",
    "se_type",
    "design",
]
_INFO = (
    ("outcome", "outcome"),
    ("estimand", "estimand"),
    ("n_obs", "people"),
    ("se_type", "SE type"),
    ("design", "design"),
)
_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))


@dataclass(frozen=True, eq=False, repr=False)
class Table(ResultMixin):
    """A published table: numbers for machines and formatted cells for readers.

    Attributes
    ----------
    title
        The table's title.
    frame
        The numbers (``to_frame()`` returns a copy): for :func:`compare`, the
        columns :data:`COMPARE_COLUMNS`, one row per model and term.
    cells
        The cells as a reader sees them (text), with their column labels.
    notes
        Notes printed under the table.
    """

    title: str
    frame: pd.DataFrame
    cells: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The table's numbers (a copy)."""
        return self.frame.copy()

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """The intervals in the table (each result's own level): ``term, conf_low,
        conf_high`` and the ``model`` of each. Another level needs the results
        themselves (``result.conf_int(alpha)``), so ``alpha`` must be left out."""
        frame = self.frame.copy()
        if alpha is not None or not {"term", "conf_low", "conf_high"} <= set(frame.columns):
            why = (
                "it holds each result's own intervals; call conf_int(alpha) on the results"
                if alpha is not None
                else "it has no 'term', 'conf_low' and 'conf_high' columns"
            )
            raise DwpEvalError(f"Table.conf_int: no intervals at another level here: {why}.")
        rest = [c for c in ("model",) if c in frame.columns]
        return frame[["term", "conf_low", "conf_high", *rest]].reset_index(drop=True)

    def summary(self) -> str:
        """The title, the cells aligned in columns, and the notes."""
        cells = self.cells.copy()
        cols = [str(c) for c in cells.columns]
        rows = [[str(v) for v in r] for r in cells.itertuples(index=False)]
        widths = [max([len(c)] + [len(r[j]) for r in rows]) for j, c in enumerate(cols)]

        def line(values: Sequence[str]) -> str:
            first = f"{values[0]:<{widths[0]}}"
            rest = [f"{v:>{w}}" for v, w in zip(values[1:], widths[1:], strict=True)]
            return "  ".join([first, *rest]).rstrip()

        return "\n".join(
            [self.title, line(cols), *(line(r) for r in rows), *(f"  {n}" for n in self.notes)]
        )

    def __repr__(self) -> str:
        return f"<Table {self.title!r}: {len(self.cells)} rows x {len(self.cells.columns)} columns>"

    def _export_title(self) -> str:
        return self.title

    def _export_cells(self) -> pd.DataFrame:
        return self.cells.copy()

    def _export_notes(self) -> list[str]:
        return list(self.notes)


def _rows(result: Any, model: str) -> list[dict[str, Any]]:
    """One row per term of ``result.to_frame()``, in :data:`COMPARE_COLUMNS`."""
    to_frame = getattr(result, "to_frame", None)
    frame = to_frame() if callable(to_frame) else None
    if not isinstance(frame, pd.DataFrame) or not {"estimate", "std_error"} <= set(frame.columns):
        raise DwpEvalError(
            f"compare: model {model!r} is a {type(result).__name__}, whose table has no "
            "'estimate' and 'std_error' columns. Fix: pass effects or effect tables "
            "(itt, cace, did, impact_table ... results)."
        )
    effects = getattr(result, "effects", None)  # an EffectTable names each row's contrast
    if not isinstance(effects, tuple) or len(effects) != len(frame):
        effects = None
    out = []
    for i, (_, r) in enumerate(frame.iterrows()):
        if "term" in frame:
            term = str(r["term"])
        elif effects is not None:
            term = f"{effects[i].treatment} vs {effects[i].control}"
        elif "treatment" in frame:
            term = str(r["treatment"])
        else:
            term = "effect"
        if "subgroup" in frame and str(r["subgroup"]) != "all":
            term = f"{term} [{r['subgroup']}]"
        out.append(
            {
                "model": model,
                "term": term,
                **{
                    c: r.get(c, np.nan)
                    for c in ("estimate", "std_error", "conf_low", "conf_high", "p_value", "n_obs")
                },
                **{
                    c: (str(r[c]) if c in frame else "")
                    for c in ("outcome", "estimand", "se_type", "design")
                },
            }
        )
    return out


def _fixed(v: float, digits: int) -> str:
    return "" if not np.isfinite(v) else f"{v:,.{digits}f}"


def _one(values: pd.Series, fmt: Any = str) -> str:
    """A model's information cell: its one value, or ``"several"``."""
    vals = [v for v in values if not (isinstance(v, float) and np.isnan(v)) and v != ""]
    if not vals:
        return ""
    uniq = list(dict.fromkeys(vals))
    return fmt(uniq[0]) if len(uniq) == 1 else "several"


def compare(
    results: Sequence[Any] | Mapping[str, Any],
    *,
    beneath: Literal["std_error", "conf_int"] = "std_error",
    digits: int = 3,
    stars: bool = False,
    title: str | None = None,
) -> Table:
    """Several effects or models side by side, as R ``modelsummary`` and pyfixest ``etable``.

    Parameters
    ----------
    results
        Results with ``estimate`` and ``std_error`` in ``to_frame()``
        (:class:`~dwp_eval.Effect`, :class:`~dwp_eval.EffectTable`, did and
        event-study results ...), as a sequence (columns ``(1)``, ``(2)``, ...)
        or a mapping of column name to result.
    beneath
        ``"std_error"``: the standard error in parentheses under each estimate;
        ``"conf_int"``: the result's confidence interval in brackets.
    digits
        Decimals of estimates, standard errors and intervals.
    stars
        Mark estimates with ``*`` p < 0.05, ``**`` p < 0.01, ``***`` p < 0.001
        (each result's own, unadjusted p-value).
    title
        The table's title (default: "Comparison of k models").

    Returns
    -------
    Table
        ``to_frame()``: one row per model and term, columns
        :data:`COMPARE_COLUMNS` (numbers as numbers); the cells: a row per term
        and one beneath it, then the rows ``outcome``, ``estimand``, ``people``
        (``n_obs``), ``SE type`` and ``design`` (those any model has).

    Raises
    ------
    DwpEvalError
        No results, a result without estimates, repeated column names.

    Examples
    --------
    >>> import dwp_eval as de
    >>> people = de.datasets.whp_like(n=2000, seed=1)
    >>> people = people.merge(de.randomise(people, seed=3).table[["id", "arm"]], on="id")
    >>> data = people.merge(de.datasets.whp_outcomes(people, people["arm"], seed=2), on="id")
    >>> a = de.itt(data, outcome="employed_13_weeks", assigned="arm")
    >>> b = de.itt(data, outcome="employed_13_weeks", assigned="arm", covariates=["age"])
    >>> t = de.compare({"unadjusted": a, "adjusted": b})
    >>> list(t.cells.columns)
    ['', 'unadjusted', 'adjusted']
    """
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, Sequence) and not isinstance(results, str):
        items = [(f"({i})", v) for i, v in enumerate(results, start=1)]
    else:
        raise DwpEvalError(
            f"compare: 'results' must be a list of results or a mapping of name to result. "
            f"Got {type(results).__name__} instead."
        )
    if not items:
        raise DwpEvalError("compare: no results given. Fix: pass a list of two or more results.")
    names = [k for k, _ in items]
    if len(set(names)) != len(names) or "" in names:
        raise DwpEvalError(
            f"compare: model names must be distinct and not empty. Got {names}. Fix: name "
            "each result once in the mapping."
        )
    if beneath not in ("std_error", "conf_int"):
        raise OptionError(
            f"The 'beneath' parameter of compare must be 'std_error' or 'conf_int'. "
            f"Got {beneath!r} instead."
        )
    if (
        isinstance(digits, bool)
        or not isinstance(digits, (int, np.integer))
        or not 0 <= digits <= 10
    ):
        raise OptionError(
            f"The 'digits' parameter of compare must be an int in [0, 10]. Got {digits!r} instead."
        )
    frame = pd.DataFrame([row for k, v in items for row in _rows(v, k)], columns=COMPARE_COLUMNS)
    # a model with several outcomes: every term names its outcome, so rows line up
    if frame.groupby("model", sort=False)["outcome"].nunique().max() > 1:
        frame["term"] = frame["outcome"] + ": " + frame["term"]
    terms = list(dict.fromkeys(frame["term"]))
    body: list[dict[str, str]] = []
    for term in terms:
        top, under = {"": term}, {"": ""}
        for name in names:
            hit = frame[(frame["model"] == name) & (frame["term"] == term)]
            if hit.empty:
                top[name] = under[name] = ""
                continue
            r = hit.iloc[0]
            mark = ""
            if stars and np.isfinite(r["p_value"]):
                mark = next((s for cut, s in _STARS if r["p_value"] < cut), "")
            top[name] = _fixed(r["estimate"], digits) + mark
            if beneath == "std_error":
                under[name] = (
                    f"({_fixed(r['std_error'], digits)})" if np.isfinite(r["std_error"]) else ""
                )
            else:
                lo, hi = _fixed(r["conf_low"], digits), _fixed(r["conf_high"], digits)
                under[name] = f"[{lo}, {hi}]" if lo and hi else ""
        body += [top, under]
    for col, label in _INFO:
        fmt = (lambda v: f"{int(v):,}") if col == "n_obs" else str
        row = {"": label, **{n: _one(frame.loc[frame["model"] == n, col], fmt) for n in names}}
        if any(row[n] for n in names):
            body.append(row)
    notes = [
        "Standard errors in parentheses."
        if beneath == "std_error"
        else "Confidence intervals in brackets (each result's own level)."
    ]
    if stars:
        notes.append("* p < 0.05, ** p < 0.01, *** p < 0.001 (unadjusted).")
    cells = pd.DataFrame(body, columns=["", *names])
    return Table(
        title=title if title is not None else f"Comparison of {len(names)} models",
        frame=frame,
        cells=cells,
        notes=tuple(notes),
    )
