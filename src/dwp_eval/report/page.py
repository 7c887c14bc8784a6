"""The report as one HTML page people read, print and archive.

* Semantic: ``header`` (title and provenance), ``nav`` (contents), ``main`` with one
  ``section`` per part (its ``h2``), figures as ``figure`` with ``figcaption`` and
  alt text saying what the chart shows, tables with a ``caption``; headings in
  order (one ``h1``, then ``h2``).
* Self-contained and offline: the CSS is inline, images are ``data:`` URIs, there
  is no script, and a Content-Security-Policy meta allows nothing else
  (``default-src 'none'``, images only from ``data:``, the one style block by its
  SHA-256 hash), so the page cannot reach the network even if a label did.
* Printable: a print stylesheet drops the contents list and the full-precision
  tables (which the CSV files carry), keeps figures and tables whole and shows
  link targets.
* The full-precision tables hold numbers only: a cell withheld under disclosure
  control is blank and the row's ``withheld`` column names it.

Colours follow the Okabe-Ito palette (:mod:`dwp_eval.results.palette`) and text
contrast meets WCAG 2.1 AA.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FIGURE_ALT", "html_body", "html_document", "numeric_form"]

#: What each section's figure shows, for its alt text and caption.
FIGURE_ALT = {
    "flow": "CONSORT flow diagram: people randomised, allocated to each arm, receiving the "
            "programme, lost to follow-up and analysed, by arm",
    "balance": "Dot plot of the standardised difference between the arms for each baseline "
               "characteristic, with reference lines at the balance threshold",
    "impact": "Forest plot: the ITT impact on each outcome with its confidence interval, one "
              "panel per outcome in its own unit, with a line at no effect",
    "contamination_by_site": "Dot plot of the control-arm contamination rate by site with "
                             "Wilson intervals; sites withheld under disclosure control are "
                             "not drawn",
    "mde": "Bar chart of the minimum detectable effect achieved beside the size of the ITT "
           "estimate, one panel per primary outcome in its own unit",
}

CSS = (
    ":root{color-scheme:light}"
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.45;"
    "max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;background:#fff}"
    "h1{font-size:1.8rem;margin:0 0 .5rem}h2{font-size:1.35rem;margin-top:2rem;"
    "border-bottom:2px solid #0072B2;padding-bottom:.2rem}"
    "a{color:#005a8c}a:focus,summary:focus{outline:3px solid #E69F00;outline-offset:2px}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}"
    "caption{text-align:left;font-weight:600;padding:.2rem 0;color:#1b1b1b}"
    "th,td{border:1px solid #b1b4b6;padding:.2rem .5rem;text-align:right;vertical-align:top}"
    "th{background:#f3f2f1}th:first-child,td:first-child{text-align:left}"
    "#methods td,#methods th,#disclosure td,#disclosure th{text-align:left}"
    "figure{margin:1rem 0}figcaption{font-size:.9rem;color:#383f43;margin-top:.3rem}"
    "img{max-width:100%;height:auto}"
    ".exploratory{border-left:4px solid #D55E00;padding-left:1rem}"
    ".provenance{color:#383f43;font-size:.9rem}code{font-size:.85rem}"
    ".provenance code{overflow-wrap:anywhere}.display td{white-space:nowrap}"
    "#headline{background:#eef6fb;border:1px solid #0072B2;padding:.5rem 1rem 1rem}"
    "#headline h2{margin-top:.5rem}#headline p{font-size:1.05rem}"
    "details{margin-bottom:1rem}.wide{overflow-x:auto;max-width:100%}"
    "@media print{body{max-width:none;margin:0;font-size:10pt}nav,details{display:none}"
    "h2{break-after:avoid}figure,table,tr{break-inside:avoid}"
    "a[href^='#']{color:inherit;text-decoration:none}"
    "#headline{background:none}img{max-height:24cm}}"
)


def csp(css: str = CSS) -> str:
    """The Content-Security-Policy of the page: nothing but the inline style (by hash)
    and ``data:`` images."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; img-src data:; style-src 'sha256-{digest}'; "
            "base-uri 'none'; form-action 'none'")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v == "" or (isinstance(v, float) and np.isnan(v))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_))


def numeric_form(frame: pd.DataFrame, mark: str) -> pd.DataFrame:
    """A published table with its numeric columns numbers only: a cell holding the
    disclosure mark (``"[c]"``) or other text in a column of numbers is left blank and
    named in the row's ``withheld`` column (added, or joined to an existing one)."""
    out = frame.copy()
    withheld: list[list[str]] = [[] for _ in range(len(out))]
    for j, col in enumerate(frame.columns):
        values = list(frame.iloc[:, j])
        if col == "withheld" or pd.api.types.is_numeric_dtype(frame.iloc[:, j]):
            continue
        text = [isinstance(v, str) and v != "" for v in values]
        numbers = [_is_number(v) and not _missing(v) for v in values]
        all_marks = all(v == mark for v, t in zip(values, text, strict=True) if t)
        if not any(text) or (not any(numbers) and not all_marks):
            continue
        if any(not t and not n and not _missing(v)
               for v, t, n in zip(values, text, numbers, strict=True)):
            continue  # a column of other objects: left as it is
        out.isetitem(j, pd.Series([np.nan if t or _missing(v) else v for v, t in zip(
            values, text, strict=True)], index=out.index, dtype=float))
        for i, t in enumerate(text):
            if t:
                withheld[i].append(str(col) if values[i] == mark else f"{col} ({values[i]})")
    if any(withheld):
        joined = [", ".join(w) for w in withheld]
        if "withheld" in out.columns:
            old = [("" if _missing(v) else str(v)) for v in out["withheld"]]
            joined = ["; ".join(x for x in (a, b) if x) for a, b in zip(old, joined, strict=True)]
            out["withheld"] = joined
        else:
            out["withheld"] = joined
    return out


def html_body(report: Any, table: Callable[[pd.DataFrame, str, str], str],
              inline: Callable[[str], str]) -> str:
    """The page's body: header, contents, main (one section per part), footer."""
    esc = html.escape
    parts = ["<header>", f"<h1>{esc(report.title)}</h1>"]
    parts += [f"<p class=\"provenance\">{inline(t)}</p>" for t in report._provenance() if t]
    parts.append("</header>")
    toc = "".join(f"<li><a href=\"#{esc(s.key)}\">{esc(s.title)}</a></li>"
                  for s in report.sections)
    nav = f"<nav aria-label=\"Contents\"><h2>Contents</h2><ol>{toc}</ol></nav>"
    parts.append("<main>")
    symbol = report.plan.disclosure.suppressed
    for i, s in enumerate(report.sections):
        if i == (1 if report.sections[0].key == "headline" else 0):
            parts.append(nav)  # the headline findings come before everything else
        parts.append(_section(s, symbol, table))
    parts.append("</main>")
    parts.append(
        "<footer><p class=\"provenance\">Made with dwp_eval "
        f"{esc(str(report.versions.get('dwp_eval', '')))}; plan SHA-256 "
        f"<code>{esc(report.fingerprint)}</code>.</p></footer>"
    )
    return "\n".join(parts)


def _section(s: Any, symbol: str, table: Callable[[pd.DataFrame, str, str], str]) -> str:
    esc = html.escape
    cls = "section exploratory" if s.exploratory else "section"
    out = [f"<section class=\"{cls}\" id=\"{esc(s.key)}\" aria-labelledby=\"h-{esc(s.key)}\">"
           f"<h2 id=\"h-{esc(s.key)}\">{esc(s.title)}</h2>"]
    out += [f"<p>{esc(t)}</p>" for t in s.text]
    if s.figure is not None:
        b64 = base64.b64encode(s.figure).decode("ascii")
        what = FIGURE_ALT.get(s.key, f"Chart of the section {s.title}")
        out.append(
            f"<figure><img src=\"data:image/png;base64,{b64}\" "
            f"alt=\"{esc(what)}. The numbers it shows are in the table that follows.\">"
            f"<figcaption>{esc(s.title)}: {esc(what)}.</figcaption></figure>"
        )
    out.append(_captioned(table(s.display, f"display-{s.key}", "display"), s.title))
    out.append(
        "<details><summary>Full-precision table (numbers as in Report.tables; a cell "
        "withheld under disclosure control is blank here and named in the "
        f"<code>withheld</code> column)</summary>"
        f"<div class=\"wide\">{table(numeric_form(s.table, symbol), s.key, 'data')}</div>"
        "</details></section>"
    )
    return "".join(out)


def _captioned(table_html: str, title: str) -> str:
    head, sep, rest = table_html.partition(">")
    return f"<div class=\"wide\">{head}{sep}<caption>{html.escape(title)}</caption>{rest}</div>"


def html_document(report: Any, body: str, extra_meta: Sequence[str] = ()) -> str:
    """The whole page: ``<head>`` with charset, viewport, CSP, title and inline CSS."""
    meta = "".join(extra_meta)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp()}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(report.title)}</title>{meta}"
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )
