"""The impact report as a document: :class:`Report` (immutable, made by
:func:`dwp_eval.analyse`) and its :class:`Section` objects, the formatting of
published tables (disclosure control, display strings) and the writers (one
self-contained HTML file, Markdown, CSV files, an Excel workbook)."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.contract import ResultMixin
from dwp_eval._core.files import publish_files, refuse_duplicates, target_problem
from dwp_eval.errors import DwpEvalError, OptionError, OutputExistsError, OutputPathError
from dwp_eval.report import page
from dwp_eval.report.acro import write_record
from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.publish import export_report, report_docx, report_latex, write_file

__all__ = ["COUNT_COLUMNS", "RATE_COLUMNS", "Report", "Section"]

#: Count columns of the published tables, protected by the disclosure rules,
#: and the rate columns suppressed with them.
COUNT_COLUMNS = (
    "count", "n", "n_obs", "n_control", "n_treatment", "n_arm", "n_flagged",
    "n_analysed", "n_treatment_received", "n_control_received",
)
RATE_COLUMNS = {"rate": "n_flagged", "conf_low_rate": "n_flagged", "conf_high_rate": "n_flagged"}


@dataclass(frozen=True, eq=False, repr=False)
class Section(ResultMixin):
    """One part of a report: a heading, text, a table and (optionally) a figure.

    Attributes
    ----------
    key
        Short name (``"impact"``, ``"flow"``, ...); the table is ``Report.tables[key]``.
    title, text
        Heading and paragraphs (plain text).
    table
        The published table: the functions' numbers at full precision, with
        disclosure control applied to counts.
    display
        The same table formatted for reading (strings), as the HTML and
        Markdown show it.
    figure
        A PNG image, or ``None``.
    exploratory
        ``True`` for analyses that were not in the plan.
    """

    key: str
    title: str
    text: tuple[str, ...]
    table: pd.DataFrame
    display: pd.DataFrame
    figure: bytes | None = None
    exploratory: bool = False

    def to_frame(self) -> pd.DataFrame:
        """The published table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        return "\n".join([self.title, *self.text])

    def __repr__(self) -> str:
        return f"<Section {self.key!r}: {self.title}>"

    def _export_cells(self) -> pd.DataFrame:  # exports show the published display
        return self.display.copy()


@dataclass(frozen=True, eq=False, repr=False)
class Report(ResultMixin):
    """An impact report made by :func:`analyse` from a pre-specified plan.

    Attributes
    ----------
    plan
        The :class:`~dwp_eval.report.plan.AnalysisPlan` that was run.
    fingerprint
        The plan's SHA-256 fingerprint, printed in every output.
    sections
        The report's :class:`Section` objects, in order.
    results
        The result objects the tables came from (``"impact"``: the
        :class:`~dwp_eval.EffectTable`; ``"cace"``: a mapping of outcome to
        :class:`~dwp_eval.Effect`; ``"balance"``, ``"flow"``, ``"mde"``, ...).
    created
        When the report was made (UTC, ISO 8601).
    versions
        dwp_eval, Python, numpy and pandas versions.
    """

    plan: AnalysisPlan
    fingerprint: str
    sections: tuple[Section, ...]
    results: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""
    versions: Mapping[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per section: ``key, title, exploratory, n_rows`` (its table's rows)."""
        return pd.DataFrame(
            [{"key": s.key, "title": s.title, "exploratory": s.exploratory,
              "n_rows": len(s.table)} for s in self.sections],
            columns=["key", "title", "exploratory", "n_rows"],
        )

    # -- access ----------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.plan.title

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every published table by section key (copies; exploratory keys start ``exploratory_``)."""
        return {s.key: s.table.copy() for s in self.sections}

    def section(self, key: str) -> Section:
        """The section with this key."""
        for s in self.sections:
            if s.key == key:
                return s
        raise OptionError(
            f"Report has no section {key!r}; its sections are "
            f"{', '.join(repr(s.key) for s in self.sections)}."
        )

    def with_exploratory(self, title: str, result: Any, *, text: str = "") -> Report:
        """A new report with one more section, labelled exploratory (not in the plan).

        ``result`` is any dwp_eval result with ``to_frame()`` (an
        :class:`~dwp_eval.Effect`, an :class:`~dwp_eval.EffectTable`, ...) or
        a DataFrame. Its counts get the plan's disclosure control.
        """
        if isinstance(result, pd.DataFrame):
            frame = result.copy()
        elif hasattr(result, "to_frame"):
            frame = result.to_frame()
        else:
            raise OptionError(
                "The 'result' parameter of Report.with_exploratory must be a DataFrame or a "
                f"dwp_eval result with to_frame(). Got {type(result).__name__} instead."
            )
        n = sum(s.exploratory for s in self.sections) + 1
        key = f"exploratory_{n}"
        words = ["Exploratory: this analysis was not in the pre-specified plan."]
        if text:
            words.append(text)
        table = _protect(frame, self.plan.disclosure, key)
        entries = pd.DataFrame(table.attrs.pop("log", []))
        section = Section(key, f"Exploratory: {title}", tuple(words), table, _display(table),
                          exploratory=True)
        # the disclosure log stays last and lists this section's withheld cells too
        logs = [s for s in self.sections if s.key == "disclosure"]
        rest = [s for s in self.sections if s.key != "disclosure"]
        if logs and len(entries):
            log = pd.concat([logs[0].table, entries], ignore_index=True)
            logs = [replace(logs[0], text=tuple(_log_text(log, self.plan.disclosure)),
                            table=log, display=_display(log))]
        return replace(self, sections=(*rest, section, *logs))

    # -- output ----------------------------------------------------------------------------
    def summary(self) -> str:
        """The report's sections as text."""
        return self.to_markdown()

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"<Report {self.title!r}: {len(self.sections)} sections, plan sha256 "
            f"{self.fingerprint[:12]}...>"
        )

    def _repr_html_(self) -> str:
        return self._html_body()

    def to_markdown(self) -> str:
        """The report as Markdown (figures are left out; the HTML has them).

        Every piece of text from the data or the plan (titles, labels of
        outcomes, arms and subgroups, table cells) is escaped: ``<``, ``>``
        and ``&`` as HTML entities, Markdown's specials with a backslash, and
        line breaks as spaces, so no label can add markup, a link, a script or
        a table row, whichever Markdown renderer reads the file.
        """
        lines = [f"# {_md(self.title)}", "", *self._provenance(markdown=True), ""]
        for s in self.sections:
            lines += [f"## {_md(s.title)}", ""]
            for t in s.text:
                lines += [_md(t), ""]
            lines += [_markdown_table(s.display), ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self, path: str | Path, *, overwrite: bool = False) -> Path:  # type: ignore[override]
        """Write one self-contained HTML file (plots embedded); never overwrites by default.

        Like every writer of the report, the file is written whole or not at all
        (see :meth:`write`)."""
        return self.write(html=path, overwrite=overwrite)["html"]

    def to_csv(self, folder: str | Path, *, overwrite: bool = False) -> list[Path]:  # type: ignore[override]
        """Write each published table as ``<folder>/<key>.csv``; returns the paths.

        Columns of numbers hold numbers only, as in the HTML page's full-precision
        tables: a cell withheld under disclosure control is empty and the row's
        ``withheld`` column names it. Every file is checked before any is written:
        all the tables or none."""
        return self.write(tables=folder, overwrite=overwrite)["tables"]

    def to_docx(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """The whole report as a Word document (sections, figures, published tables)."""
        return write_file(path, report_docx(self), overwrite=overwrite, func="Report.to_docx")

    def to_latex(self) -> str:
        """The whole report as a LaTeX fragment (published tables; figures left out)."""
        return report_latex(self)

    def export(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """The whole report in the format of the suffix: .html, .md, .xlsx, .docx, .tex."""
        return export_report(self, path, overwrite=overwrite)

    def to_excel(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write each published table to a sheet of one workbook (needs ``openpyxl``);
        columns of numbers hold numbers only, as :meth:`to_csv` writes them."""
        return self.write(excel=path, overwrite=overwrite)["excel"]

    def write(
        self,
        *,
        html: str | Path | None = None,
        markdown: str | Path | None = None,
        tables: str | Path | None = None,
        excel: str | Path | None = None,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Write any of the outputs at once, all or none.

        Every target (the HTML and Markdown files, the workbook, each
        ``<tables>/<key>.csv``) is checked before anything is written: a path
        named for two outputs, a folder given as a file or an existing file
        (without ``overwrite``) is refused with nothing written. Each file is
        then written to a temporary file in its folder and moved into place
        atomically: a killed write leaves no partial file, and of two
        processes writing one new path exactly one succeeds (the other gets a
        :class:`~dwp_eval.errors.DwpEvalError`). Text cells of the CSV files
        and the workbook that a spreadsheet would read as a formula (starting
        with ``= + - @``, a tab or a carriage return) are written with a
        leading ``'``.

        With ``html``, the output-checking record is written beside it
        (``<name>.acro.json``, see :func:`dwp_eval.report.acro.checking_record`):
        the published tables and, for each, the ACRO call that re-checks it on
        the trial data.

        Returns
        -------
        dict
            The paths written by output name (``"tables"``: a list; ``"record"``:
            the output-checking record).
        """
        if excel is not None:
            try:
                import openpyxl  # noqa: F401
            except ImportError as err:
                raise DwpEvalError(
                    "Report.to_excel needs the openpyxl package, which is not installed. Fix: "
                    "pip install openpyxl, or use Report.to_csv."
                ) from err
        targets: list[tuple[str | Path, str]] = []
        if html is not None:
            targets.append((html, "report"))
            targets.append((_record_path(html), "output-checking record"))
        if markdown is not None:
            targets.append((markdown, "Markdown report"))
        if excel is not None:
            targets.append((excel, "workbook"))
        published = self.tables
        if tables is not None:
            folder = Path(tables)
            if folder.exists() and not folder.is_dir():
                raise DwpEvalError(
                    f"{str(folder)!r} is a file, not a folder, so the tables cannot be written "
                    "into it. Fix: give a folder path."
                )
            targets += [(folder / f"{key}.csv", "table") for key in published]
        _check_targets(targets, overwrite=overwrite)
        files: list[tuple[Path, bytes]] = []
        if html is not None:
            files.append((Path(html), self._html_document().encode("utf-8")))
            files.append((_record_path(html), write_record(self)))
        if markdown is not None:
            files.append((Path(markdown), self.to_markdown().encode("utf-8")))
        mark = self.plan.disclosure.suppressed
        numeric = {key: page.numeric_form(t, mark) for key, t in published.items()}
        if excel is not None:
            files.append((Path(excel), _workbook(numeric)))
        if tables is not None:
            files += [
                (Path(tables) / f"{key}.csv",
                 _spreadsheet_safe(t).to_csv(index=False).encode("utf-8"))
                for key, t in numeric.items()
            ]
        what = {Path(p): w for p, w in targets}
        publish_files(files, overwrite=overwrite, func="Report.write",
                      exists_error=lambda p: OutputExistsError(_exists_message(p, what[p])))
        out: dict[str, Any] = {}
        for name, value in (("html", html), ("markdown", markdown), ("excel", excel)):
            if value is not None:
                out[name] = Path(value)
        if html is not None:
            out["record"] = _record_path(html)
        if tables is not None:
            out["tables"] = [Path(tables) / f"{key}.csv" for key in published]
        return out

    # -- internals -------------------------------------------------------------------------
    def _provenance(self, *, markdown: bool = False) -> list[str]:
        plan = self.plan
        esc = _md if markdown else str
        src = f" ({esc(str(plan.source))})" if plan.source else ""
        reg = f"; registered as {esc(plan.registration)}" if plan.registration else ""
        ver = f" version {esc(plan.version)}" if plan.version else ""
        versions = esc(", ".join(f"{k} {v}" for k, v in self.versions.items()))
        return [
            f"Analysis plan{ver}{src}{reg}: SHA-256 `{self.fingerprint}`. Every section below "
            "was pre-specified in that plan unless it is labelled exploratory.",
            "",
            f"Made {esc(self.created)} with {versions}.",
            "",
            esc(plan.disclosure.describe()),
        ]

    def _html_document(self) -> str:
        meta = f"<meta name=\"dwp-eval-plan-sha256\" content=\"{self.fingerprint}\">"
        return page.html_document(self, self._html_body(), [meta])

    def _html_body(self) -> str:
        return page.html_body(self, _html_table, _inline)


# ---------------------------------------------------------------------------- files


def _exists_message(p: Path, what: str) -> str:
    return (
        f"{str(p)!r} already exists and would be overwritten by this {what}. Fix: choose "
        "another path, or pass overwrite=True (--overwrite on the command line)."
    )


def _check_targets(targets: list[tuple[str | Path, str]], *, overwrite: bool) -> None:
    """Every ``(path, what)`` checked before anything is written (the ground floor's
    rules, :mod:`dwp_eval._core.files`): no file named for two outputs, none a folder,
    none existing unless ``overwrite`` (a symbolic link is then replaced, never
    followed)."""
    refuse_duplicates(targets, lambda p, first, second: OutputPathError(
        f"{str(p)!r} is named for two outputs ({first} and {second}): the second would "
        "replace the first. Fix: give each output its own path."))
    for raw, what in targets:
        problem = target_problem(raw, overwrite=overwrite, links="replace")
        if problem == "exists":
            raise OutputExistsError(_exists_message(Path(raw), what))
        if problem is not None:
            kind = "a folder, not a file" if problem == "folder" else "not a regular file"
            raise OutputPathError(
                f"{str(raw)!r} is {kind}, so this {what} cannot be written there. Fix: give a "
                "file path."
            )


# ---------------------------------------------------------------------------- formatting

def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _cell_text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _html_table(frame: pd.DataFrame, table_id: str, cls: str) -> str:
    columns = [html.escape(str(c)) for c in frame.columns]
    head = "".join(f"<th scope=\"col\">{c}</th>" for c in columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = "".join(
            f"<td data-col=\"{c}\">{html.escape(_cell_text(v))}</td>"
            for c, v in zip(columns, rec, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<table class=\"{cls}\" data-table=\"{html.escape(table_id)}\"><thead><tr>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


_MD_SPECIAL = re.compile(r"[\\`*\[\]|#]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_MD_LINE_START = re.compile(r"^(?:[-+](?=\s|$)|-{3,}|={3,}|\d+(?=[.)](?:\s|$)))")


def _md(text: Any, *, block: bool = True) -> str:
    """Text from data or a plan made inert in Markdown: one line (line breaks and tabs
    become spaces, other control characters U+FFFD), ``& < >`` as HTML entities (no raw HTML, hence no script or event
    handler), ``\\ ` * [ ] | #`` and ``_`` outside a word backslash-escaped (no code,
    emphasis, link, image or table cell; CommonMark, GFM and Python-Markdown all read
    these escapes), ``~`` as an entity (GFM strikethrough), and (``block``: a line of
    its own) nothing at the start that opens a list or a rule."""
    one = re.sub(r"[\r\n\t\v\f\u2028\u2029\x85]+", " ", str(text)).strip()
    one = _CONTROL.sub("\ufffd", one)  # Python-Markdown's own placeholders are \x02, \x03
    one = one.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    one = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), one).replace("~", "&#126;")
    start = _MD_LINE_START.match(one) if block else None
    if start:  # "- x", "+ x", "1. x" would open a list, "---" a rule
        k = start.end()
        if one[:1].isdigit():
            one = one[:k] + "\\" + one[k:]
        else:  # Python-Markdown has no backslash escape for "="
            one = ("&#61;" + one[1:]) if one[0] == "=" else "\\" + one
    return one


def _markdown_table(frame: pd.DataFrame) -> str:
    cols = [_md(c, block=False) or " " for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for rec in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_md(_cell_text(v), block=False) for v in rec) + " |")
    return "\n".join(lines)


def _num(v: Any, digits: int = 3) -> str:
    if isinstance(v, str):
        return v
    if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
        return "" if v is None or v is pd.NA or np.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    f = float(v)
    if abs(f) >= 1000:
        return f"{f:,.0f}"
    return f"{f:.{digits}g}" if f != 0 else "0"


def _display(
    frame: pd.DataFrame, *, columns: list[str] | None = None, percent: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A formatted copy: counts with thousands separators, other numbers to 3-4 figures,
    ``percent`` columns (shares) as percentages; only ``columns`` when given."""
    out = pd.DataFrame(index=frame.index)
    for col in columns or list(frame.columns):
        digits = 4 if "p_value" in str(col) else 3
        if col in percent:
            out[col] = [v if isinstance(v, str) else _pct(float(v)) for v in frame[col]]
        else:
            out[col] = [_num(v, digits) for v in frame[col]]
    return out.reset_index(drop=True)


def _log_text(log: pd.DataFrame, rules: DisclosureRules) -> list[str]:
    """The paragraphs above the disclosure log."""
    text = [rules.describe()]
    withheld = log[log["rule"] != "total"]
    if len(log) == 0:
        text.append("No cell needed to be withheld under these rules.")
        return text
    counts = withheld.groupby("rule", sort=False).size()
    text.append(
        f"{len(withheld):,} cells are withheld ({rules.suppressed}): "
        + ", ".join(f"{n:,} by the {rule} rule" for rule, n in counts.items()) + ". "
        "Each row names the table, the row and column of the cell, the rule and why."
    )
    if len(withheld) < len(log):
        text.append("Rows with the rule 'total' name a published total that must itself be "
                    "withheld or rounded: the cells withheld beside it cannot protect it.")
    return text


def _record_path(html: str | Path) -> Path:
    """Where the output-checking record goes: beside the HTML, ``<name>.acro.json``."""
    p = Path(html)
    return p.with_name(f"{p.stem}.acro.json")


def _protect(frame: pd.DataFrame, rules: DisclosureRules, table: str = "",
             **options: Any) -> pd.DataFrame:
    """The published table (its disclosure log in ``attrs["log"]``)."""
    return rules.apply(frame, counts=list(COUNT_COLUMNS), rates=RATE_COLUMNS, table=table,
                       **options)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names a spreadsheet would read as a formula
    (starting with ``= + - @``, a tab or a carriage return) start with ``'`` instead
    (OWASP, "CSV injection"); numbers are left as they are."""
    def safe(v: Any) -> Any:
        return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v

    out = frame.copy()
    out.columns = [safe(c) for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            out.isetitem(i, col.astype(object).map(safe, na_action="ignore"))
    return out


def _workbook(tables: Mapping[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for key, table in tables.items():
            _spreadsheet_safe(table).to_excel(writer, sheet_name=key[:31], index=False)
    return buf.getvalue()


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"
