"""The whole report as a Word document or a LaTeX fragment, and ``Report.export``.

Both show what the HTML report shows, in its order: the title, the provenance
lines, then each section's heading, text, figure (Word only, with the section
title as its alternative text) and its *published* table (``Section.display``:
disclosure control already applied). Tables are rendered by the helpers of
:mod:`dwp_eval._core.export` (python-docx; great-tables for LaTeX).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from dwp_eval._core.export import docx_table, gt_table, need, write_file
from dwp_eval.errors import DwpEvalError

__all__ = ["export_report", "report_docx", "report_latex", "write_file"]

_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def _provenance(report: Any) -> list[str]:
    return [t.replace("`", "") for t in report._provenance() if t]


def report_docx(report: Any) -> bytes:
    """The report as a Word document (python-docx), as bytes."""
    docx = need("docx", "Report.to_docx")
    from docx.shared import Inches

    doc = docx.Document()
    doc.add_heading(report.title, level=0)
    for line in _provenance(report):
        doc.add_paragraph(line)
    for s in report.sections:
        doc.add_heading(s.title, level=1)
        for t in s.text:
            doc.add_paragraph(t)
        if s.figure is not None:
            doc.add_picture(io.BytesIO(s.figure), width=Inches(6))
            doc.inline_shapes[-1]._inline.docPr.set("descr", s.title)  # alternative text
        if len(s.display.columns):
            docx_table(doc, s.display.copy())
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def report_latex(report: Any) -> str:
    """The report as a LaTeX fragment to ``\\input`` (needs booktabs and caption);
    figures are left out (a comment marks each), as in the Markdown."""
    parts = [f"\\section*{{{_tex(report.title)}}}", ""]
    parts += [_tex(line) + "\n" for line in _provenance(report)]
    for s in report.sections:
        parts += [f"\\subsection*{{{_tex(s.title)}}}", ""]
        parts += [_tex(t) + "\n" for t in s.text]
        if s.figure is not None:
            parts.append(f"% figure: {_tex(s.title)} (in the HTML and Word reports)")
        if len(s.display.columns):
            parts.append(str(gt_table(s.display.copy(), None, (), "Report.to_latex").as_latex()))
    return "\n".join(parts) + "\n"


def export_report(report: Any, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the whole report in the format of ``path``'s suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        return Path(report.to_html(path, overwrite=overwrite))
    if suffix == ".xlsx":
        return Path(report.to_excel(path, overwrite=overwrite))
    writers = {
        ".md": lambda: report.to_markdown().encode("utf-8"),
        ".tex": lambda: report_latex(report).encode("utf-8"),
        ".docx": lambda: report_docx(report),
    }
    if suffix not in writers:
        raise DwpEvalError(
            f"Report.export: cannot write a whole report as {suffix or 'a file without a suffix'!r}. "
            "Fix: end the name with .html, .md, .xlsx, .docx or .tex (for the CSV tables, "
            "Report.to_csv(folder))."
        )
    return write_file(path, writers[suffix](), overwrite=overwrite, func="Report.export")
