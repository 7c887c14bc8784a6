"""Tables that travel: every result to CSV, Excel, Markdown, HTML, LaTeX and Word.

:class:`Exportable` is inherited by the result base class
(:class:`~dwp_eval._core.contract.ResultMixin`), so every result has

* machine exports of :meth:`to_frame` (``to_csv``, ``to_excel``): numbers stay
  numbers at full precision; a column that mixes numbers with text markers
  (``"[c]"`` for a suppressed cell, ``"a, b"``) is split into the numeric
  column and a ``<column>_note`` text column (:func:`machine_frame`), and text
  a spreadsheet would run as a formula gets a leading ``'`` (OWASP, "CSV
  injection");
* reader exports of the formatted cells (``to_markdown``, ``to_html``,
  ``to_latex``, ``to_docx``): the title, the table as a reader sees it and the
  notes. HTML and LaTeX are rendered by great-tables (Posit's ``great_tables``:
  escaping, booktabs rules), Word by python-docx;
* ``export(path)``, which picks the format from the file's suffix.

A result shapes its reader table through three hooks: ``_export_title()``,
``_export_cells()`` (a DataFrame of strings) and ``_export_notes()``; by
default the first line of ``summary()``, ``to_frame()`` with numbers shown by
:func:`~dwp_eval._core.format.number`, and no notes.

Excel, Word and the great-tables renderings need the optional packages of the
``[export]`` extra (openpyxl, python-docx, great-tables); without one, a
:class:`~dwp_eval.errors.DwpEvalError` names the package and the extra.
Files are written whole or not at all (:func:`~dwp_eval._core.files.publish_files`)
and never over an existing file unless ``overwrite=True``.
"""

from __future__ import annotations

import hashlib
import importlib
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval._core.files import publish_files, target_problem
from dwp_eval._core.format import number
from dwp_eval.errors import DwpEvalError

__all__ = [
    "EXPORT_SUFFIXES",
    "Exportable",
    "docx_table",
    "gt_table",
    "machine_frame",
    "need",
    "write_file",
]

#: ``export(path)``: the writer for each file suffix.
EXPORT_SUFFIXES = {
    ".csv": "to_csv",
    ".xlsx": "to_excel",
    ".md": "to_markdown",
    ".html": "to_html",
    ".htm": "to_html",
    ".tex": "to_latex",
    ".docx": "to_docx",
}
_PACKAGES = {"openpyxl": "openpyxl", "docx": "python-docx", "great_tables": "great-tables"}
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def need(module: str, what: str) -> ModuleType:
    """Import ``module`` of the ``[export]`` extra, or raise naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        package = _PACKAGES.get(module, module)
        raise DwpEvalError(
            f"{what} needs the {package} package, which is not installed. Fix: "
            f'pip install "dwp_eval[export]" (or pip install {package}).'
        ) from err


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )


def machine_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for machines: a text column that mixes numbers with text markers
    (``"[c]"``, ``"a, b"``) becomes the numbers (NaN where the text was) and a
    ``<column>_note`` column beside it holding the text (``""`` elsewhere)."""
    out: dict[Any, pd.Series] = {}
    for col in frame.columns:
        s = frame[col]
        if s.dtype == object:
            numeric = s.map(_is_number)
            text = s.map(lambda v: isinstance(v, str))
            if numeric.any() and text.any():
                out[col] = pd.to_numeric(s.where(numeric), errors="coerce").astype(float)
                out[f"{col}_note"] = s.where(text, "").astype(str)
                continue
        out[col] = s
    return pd.DataFrame(out, index=frame.index)


def _escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_RISKY) else v
            )
    return out


def _cell(v: Any) -> str:
    if (
        v is None
        or v is pd.NA
        or v is pd.NaT
        or (isinstance(v, (float, np.floating)) and np.isnan(v))
    ):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if _is_number(v):
        return number(float(v))
    return str(v)


def _md(text: str) -> str:
    """Markdown-safe text: HTML specials as entities, Markdown specials escaped."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|#":
        text = text.replace(ch, "\\" + ch)
    return text


class Exportable:
    """Exports of a result (see the module). Needs ``to_frame()`` and ``summary()``."""

    to_frame: Callable[[], pd.DataFrame]
    summary: Callable[[], str]

    # -- hooks a result may override ----------------------------------------------------
    def _export_title(self) -> str:
        lines = self.summary().splitlines()
        return lines[0] if lines else type(self).__name__

    def _export_cells(self) -> pd.DataFrame:
        frame = self.to_frame()
        if len(frame) == 1 and len(frame.columns) > 6:  # one wide row reads better as a list
            return pd.DataFrame(
                {
                    "field": [str(c) for c in frame.columns],
                    "value": [_cell(v) for v in frame.iloc[0]],
                }
            )
        names = [str(c) for c in frame.columns]
        cols = {n: [_cell(v) for v in frame[c]] for n, c in zip(names, frame.columns, strict=True)}
        return pd.DataFrame(cols, columns=names)

    def _export_notes(self) -> list[str]:
        return []

    # -- machine exports ----------------------------------------------------------------
    def to_csv(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``to_frame()`` as CSV (numbers at full precision, mixed columns split
        by :func:`machine_frame`, UTF-8, no index)."""
        frame = _escape_formulas(machine_frame(self.to_frame()))
        text = frame.to_csv(index=False, lineterminator="\n")
        return _write(path, text.encode("utf-8"), overwrite, f"{type(self).__name__}.to_csv")

    def to_excel(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """``to_frame()`` on the sheet ``table`` (numbers as numbers) and the title
        and notes on the sheet ``notes`` of a new workbook (needs openpyxl)."""
        func = f"{type(self).__name__}.to_excel"
        need("openpyxl", func)
        buf = io.BytesIO()
        notes = pd.DataFrame({"note": [self._export_title(), *self._export_notes()]})
        with pd.ExcelWriter(buf, engine="openpyxl") as xl:
            _escape_formulas(machine_frame(self.to_frame())).to_excel(
                xl, sheet_name="table", index=False
            )
            _escape_formulas(notes).to_excel(xl, sheet_name="notes", index=False)
        return _write(path, buf.getvalue(), overwrite, func)

    # -- reader exports -----------------------------------------------------------------
    def to_markdown(self) -> str:
        """The title, the formatted table as a pipe table and the notes, as Markdown."""
        cells = self._export_cells()
        head = [_md(c) for c in cells.columns]
        lines = [f"**{_md(self._export_title())}**", "", "| " + " | ".join(head) + " |"]
        lines.append("|" + "|".join(" --- " for _ in head) + "|")
        for row in cells.itertuples(index=False):
            lines.append("| " + " | ".join(_md(v) for v in row) + " |")
        notes = self._export_notes()
        if notes:
            lines += ["", *(f"- {_md(n)}" for n in notes)]
        return "\n".join(lines) + "\n"

    def _gt(self, what: str) -> Any:
        return gt_table(self._export_cells(), self._export_title(), self._export_notes(), what)

    def to_html(self) -> str:
        """The title, formatted table and notes as an HTML fragment (great-tables;
        self-contained: no scripts, fonts or requests)."""
        return str(self._gt(f"{type(self).__name__}.to_html").as_raw_html())

    def to_latex(self) -> str:
        """The title, formatted table and notes as a LaTeX ``table`` (great-tables;
        needs ``\\usepackage{booktabs, caption}`` in the preamble)."""
        return str(self._gt(f"{type(self).__name__}.to_latex").as_latex())

    def to_docx(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """The title, formatted table and notes as a Word document (python-docx)."""
        func = f"{type(self).__name__}.to_docx"
        docx = need("docx", func)
        cells = self._export_cells()
        doc = docx.Document()
        doc.add_paragraph(self._export_title(), style="Heading 2")
        docx_table(doc, cells)
        for note in self._export_notes():
            doc.add_paragraph(note)
        buf = io.BytesIO()
        doc.save(buf)
        return _write(path, buf.getvalue(), overwrite, func)

    def export(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the result to ``path`` in the format its suffix names: ``.csv``,
        ``.xlsx``, ``.md``, ``.html``/``.htm``, ``.tex`` or ``.docx``."""
        func = f"{type(self).__name__}.export"
        suffix = Path(path).suffix.lower()
        if suffix not in EXPORT_SUFFIXES:
            raise DwpEvalError(
                f"{func}: cannot tell the format of {str(path)!r} from its suffix {suffix!r}. "
                f"Fix: end the file name with one of {', '.join(EXPORT_SUFFIXES)}."
            )
        writer = getattr(Exportable, EXPORT_SUFFIXES[suffix])  # this class's writers, whatever
        if suffix in (".csv", ".xlsx", ".docx"):  # a subclass names its own to_html or to_csv
            return Path(writer(self, path, overwrite=overwrite))
        return _write(path, str(writer(self)).encode("utf-8"), overwrite, func)


def gt_table(cells: pd.DataFrame, title: str | None, notes: Sequence[str], what: str) -> Any:
    """A great-tables ``GT`` of ``cells`` with ``title`` (if any) and ``notes`` under it;
    its HTML id is a hash of the content, so the same table renders the same."""
    gt = need("great_tables", what)
    key = hashlib.sha256(((title or "") + cells.to_json()).encode("utf-8")).hexdigest()[:10]
    table = gt.GT(cells, id=f"dwp-{key}")
    if title:
        table = table.tab_header(title=title)
    for note in notes:
        table = table.tab_source_note(note)
    return table


def docx_table(doc: Any, cells: pd.DataFrame) -> Any:
    """Add ``cells`` to the python-docx document ``doc`` as a grid table, header in bold."""
    table = doc.add_table(rows=len(cells) + 1, cols=len(cells.columns))
    table.style = "Table Grid"
    for j, name in enumerate(cells.columns):
        table.cell(0, j).paragraphs[0].add_run(str(name)).bold = True
    rows = table.rows  # each row's cells once: table.cell(i, j) walks the table each time
    for i, values in enumerate(cells.itertuples(index=False), start=1):
        for cell, value in zip(rows[i].cells, values, strict=True):
            cell.text = str(value)
    return table


def write_file(path: str | Path, data: bytes, *, overwrite: bool, func: str) -> Path:
    """Write ``data`` to ``path`` whole or not at all; never over a file without ``overwrite``."""
    return _write(path, data, overwrite, func)


def _write(path: str | Path, data: bytes, overwrite: bool, func: str) -> Path:
    problem = target_problem(path, overwrite=overwrite)
    if problem is not None:
        why = {
            "exists": "a file is already there. Fix: pass overwrite=True or choose another name",
            "folder": "it is a folder. Fix: give a file name",
            "link": "it is a symbolic link, which is never written through. Fix: give the real path",
            "special": "it is not a regular file. Fix: give a file name",
        }[problem]
        raise DwpEvalError(f"{func}: will not write {str(path)!r}: {why}.")

    def exists(p: Path) -> Exception:
        return DwpEvalError(f"{func}: {str(p)!r} appeared while writing. Fix: pass overwrite=True.")

    return publish_files([(path, data)], overwrite=overwrite, func=func, exists_error=exists)[0]
