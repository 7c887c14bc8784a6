"""Tables that travel (issue 14, item 6): every result and EffectTable to CSV,
Excel, Markdown, HTML, LaTeX and Word, and the side-by-side ``compare`` table.

Tolerances: CSV carries numbers at full precision (the shortest ``repr`` that
round-trips; read back with ``float_precision="round_trip"``), so its round trip
is exact (``rtol=0``); openpyxl writes 16 significant digits into the workbook
(Excel itself shows 15), so the Excel round trip is within ``XLSX_RTOL`` = 1e-15.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval._core.export import machine_frame
from dwp_eval.errors import DwpEvalError, OptionError
from test_result_contract import FACTORIES, made

docx = pytest.importorskip("docx")  # the [export] extra; make test installs it
XLSX_RTOL = 1e-15


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    people = de.datasets.whp_like(n=1500, seed=1)
    alloc = de.randomise(people, strata=["site", "benefit"], seed=5)
    t = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    return t.merge(de.datasets.whp_outcomes(t, t["arm"], seed=2), on="id")


# --------------------------------------------------------------------------- helpers


def _latex_is_balanced(tex: str) -> None:
    """Structural LaTeX check: environments nest, braces balance, every body row
    of the tabular has one cell per column."""
    stack: list[str] = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, f"\\end{{{env}}} does not close {stack}"
    assert not stack, f"unclosed: {stack}"
    plain = re.sub(r"\\[{}]", "", tex)
    depth = 0
    for ch in plain:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    head = re.search(r"\\begin\{tabular\*?\}(.*)$", tex, re.M)
    assert head is not None
    spec = head.group(1).replace("{\\linewidth}", "").replace("@{\\extracolsep{\\fill}}", "")
    ncol = len(re.findall(r"[lcr]", spec))
    body = re.search(r"\\begin\{tabular.*?$(.*?)\\end\{tabular", tex, re.S | re.M)
    assert body is not None
    for line in body.group(1).splitlines():
        line = line.strip()
        if line.endswith("\\\\"):
            cells = re.split(r"(?<!\\)&", line[:-2])
            assert len(cells) == ncol, (line, ncol)


def _docx_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    doc = docx.Document(str(path))
    paras = [p.text for p in doc.paragraphs]
    (table,) = doc.tables
    return paras, [[c.text for c in row.cells] for row in table.rows]


# --------------------------------------------------------------------------- every result


@pytest.mark.parametrize("name", sorted(set(FACTORIES) - {"Report"}))
def test_every_result_exports(name: str, tmp_path: Path) -> None:
    res = made(name)
    frame = res.to_frame()
    cells = res._export_cells()
    # machine exports: the numbers of to_frame, numeric columns numeric
    back = pd.read_csv(res.export(tmp_path / "t.csv"), float_precision="round_trip")
    xl = pd.read_excel(res.export(tmp_path / "t.xlsx"), sheet_name="table")
    for col in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            for got, rtol in ((back, 0.0), (xl, XLSX_RTOL)):
                assert pd.api.types.is_numeric_dtype(got[col]), col
                np.testing.assert_allclose(
                    got[col].to_numpy(float),
                    frame[col].to_numpy(float),
                    rtol=rtol,
                    atol=0,
                    equal_nan=True,
                )
    # reader exports: the same cells everywhere
    paras, rows = _docx_cells(res.export(tmp_path / "t.docx"))
    assert paras[0] == res._export_title()
    assert rows[0] == list(cells.columns)
    assert rows[1:] == [list(map(str, r)) for r in cells.itertuples(index=False)]
    _latex_is_balanced(res.export(tmp_path / "t.tex").read_text())
    md = res.export(tmp_path / "t.md").read_text()
    assert md.count("\n|") == len(cells) + 2  # header, rule, rows
    html = res.export(tmp_path / "t.html").read_text()
    assert "<table" in html and "<script" not in html and "http" not in html.split("<table")[1]


def test_export_picks_the_format_by_suffix(tmp_path: Path) -> None:
    res = made("Effect")
    for suffix in (".csv", ".xlsx", ".md", ".html", ".htm", ".tex", ".docx"):
        path = res.export(tmp_path / f"out{suffix}")
        assert path.exists() and path.stat().st_size > 0
    assert (tmp_path / "out.tex").read_text().startswith("\\begin{table}")
    assert (tmp_path / "out.md").read_text() == res.to_markdown()


def test_export_refuses(tmp_path: Path) -> None:
    res = made("Effect")
    with pytest.raises(DwpEvalError, match=r"cannot tell the format of .*'\.pdf'.*\.csv, \.xlsx"):
        res.export(tmp_path / "out.pdf")
    res.export(tmp_path / "out.csv")
    with pytest.raises(DwpEvalError, match=r"a file is already there\. Fix: pass overwrite=True"):
        res.export(tmp_path / "out.csv")
    res.export(tmp_path / "out.csv", overwrite=True)
    with pytest.raises(DwpEvalError, match="it is a folder"):
        res.to_docx(tmp_path)


@pytest.mark.parametrize(
    ("module", "call"),
    [
        ("docx", lambda r, p: r.to_docx(p / "a.docx")),
        ("openpyxl", lambda r, p: r.to_excel(p / "a.xlsx")),
        ("great_tables", lambda r, p: r.to_latex()),
        ("great_tables", lambda r, p: r.to_html()),
    ],
)
def test_missing_extra_names_it(
    module: str, call: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(
        DwpEvalError, match=r'is not installed\. Fix: pip install "dwp_eval\[export\]"'
    ):
        call(made("Effect"), tmp_path)
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- numbers stay numbers


def test_text_markers_leave_numeric_columns() -> None:
    frame = pd.DataFrame(
        {
            "term": ["a", "b", "c"],
            "count": pd.Series([12, "[c]", 30.5], dtype=object),
            "share": [0.1, 0.2, 0.3],
        }
    )
    out = machine_frame(frame)
    assert list(out.columns) == ["term", "count", "count_note", "share"]
    assert out["count"].dtype == float and np.isnan(out.loc[1, "count"])
    assert out["count_note"].tolist() == ["", "[c]", ""]


def test_suppressed_cells_export_as_numbers_and_a_note(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"site": ["A", "B"], "n": pd.Series([5, "[c]"], dtype=object), "label": ["=SUM(A1)", "-x"]}
    )
    t = de.Table(title="sites", frame=frame, cells=frame.astype(str))
    for back in (
        pd.read_csv(t.to_csv(tmp_path / "s.csv")),
        pd.read_excel(t.to_excel(tmp_path / "s.xlsx"), sheet_name="table"),
    ):
        assert pd.api.types.is_float_dtype(back["n"])
        assert back["n"].iloc[0] == 5 and np.isnan(back["n"].iloc[1])
        assert back["n_note"].fillna("").tolist() == ["", "[c]"]
        assert back["label"].tolist() == ["'=SUM(A1)", "'-x"]  # formula injection


# --------------------------------------------------------------------------- EffectTable


def test_effect_table_exports_show_its_cells(trial: pd.DataFrame, tmp_path: Path) -> None:
    tab = de.impact_table(
        trial, outcomes=["employed_13_weeks", "earnings_12m"], assigned="arm", by="site"
    )
    cells = pd.DataFrame(tab._cells())
    _, rows = _docx_cells(tab.to_docx(tmp_path / "e.docx"))
    assert rows[1:] == cells.values.tolist()
    assert "+7.6 pp" in rows[1] or rows[1][4].endswith("pp")
    tex = tab.to_latex()
    _latex_is_balanced(tex)
    assert tab._title().split(" (")[0] in tex
    for note in tab._footnotes():
        assert note.split(":")[0].replace("_", "\\_")[:20] in tex
    back = pd.read_csv(tab.to_csv(tmp_path / "e.csv"), float_precision="round_trip")
    np.testing.assert_array_equal(back["estimate"], tab.to_frame()["estimate"])
    np.testing.assert_array_equal(back["p_value_adjusted"], tab.to_frame()["p_value_adjusted"])


# --------------------------------------------------------------------------- compare


def test_compare_matches_each_result(trial: pd.DataFrame, tmp_path: Path) -> None:
    a = de.itt(trial, outcome="employed_13_weeks", assigned="arm")
    b = de.itt(trial, outcome="employed_13_weeks", assigned="arm", strata="stratum")
    c = de.itt(trial, outcome="earnings_12m", assigned="arm", covariates=["age"])
    t = de.compare({"plain": a, "blocked": b, "earnings": c})
    frame = t.to_frame()
    assert list(frame.columns) == de.results.COMPARE_COLUMNS
    for name, res in (("plain", a), ("blocked", b), ("earnings", c)):
        row = frame[frame["model"] == name].iloc[0]
        one = res.to_frame().iloc[0]
        for col in ("estimate", "std_error", "conf_low", "conf_high", "p_value", "n_obs"):
            assert row[col] == one[col]
        assert (row["se_type"], row["outcome"]) == (one["se_type"], one["outcome"])
    cells = t.cells.copy()
    assert list(cells.columns) == ["", "plain", "blocked", "earnings"]
    assert cells.iloc[0].tolist() == [
        "treatment vs control",
        f"{a.estimate:,.3f}",
        f"{b.estimate:,.3f}",
        f"{c.estimate:,.3f}",
    ]
    assert cells.iloc[1, 1] == f"({a.std_error:.3f})"
    info = cells.set_index("")
    assert info.loc["people", "plain"] == f"{a.n_obs:,}"
    assert info.loc["SE type", "blocked"] == b.se_type
    assert info.loc["outcome", "earnings"] == "earnings_12m"
    # machine exports keep the long numeric frame
    back = pd.read_csv(t.to_csv(tmp_path / "c.csv"), float_precision="round_trip")
    np.testing.assert_array_equal(back["estimate"], frame["estimate"])
    xl = pd.read_excel(t.to_excel(tmp_path / "c.xlsx"), sheet_name="table")
    np.testing.assert_allclose(xl["std_error"], frame["std_error"], rtol=XLSX_RTOL, atol=0)
    _, rows = _docx_cells(t.to_docx(tmp_path / "c.docx"))
    assert rows[1][1] == cells.iloc[0, 1]
    _latex_is_balanced(t.to_latex())


def test_compare_conf_int_is_each_results(trial: pd.DataFrame) -> None:
    a = de.itt(trial, outcome="employed_13_weeks", assigned="arm")
    b = de.itt(trial, outcome="employed_13_weeks", assigned="arm", alpha=0.1)
    ci = de.compare([a, b]).conf_int()
    assert ci[["conf_low", "conf_high"]].values.tolist() == [list(a.interval()), list(b.interval())]
    with pytest.raises(DwpEvalError, match="call conf_int\\(alpha\\) on the results"):
        de.compare([a, b]).conf_int(0.1)


def test_compare_intervals_and_stars(trial: pd.DataFrame) -> None:
    a = de.itt(trial, outcome="employed_13_weeks", assigned="arm", alpha=0.1)
    t = de.compare([a], beneath="conf_int", digits=4, stars=True)
    assert list(t.cells.columns) == ["", "(1)"]
    assert t.cells.iloc[1, 1] == f"[{a.conf_low:.4f}, {a.conf_high:.4f}]"
    stars = (
        "***"
        if a.p_value < 0.001
        else "**"
        if a.p_value < 0.01
        else "*"
        if a.p_value < 0.05
        else ""
    )
    assert t.cells.iloc[0, 1] == f"{a.estimate:.4f}{stars}"
    assert any("p < 0.05" in n for n in t.notes)


def test_compare_lines_up_an_effect_table_with_effects(trial: pd.DataFrame) -> None:
    tab = de.impact_table(trial, outcomes=["employed_13_weeks", "earnings_12m"], assigned="arm")
    a = de.itt(trial, outcome="employed_13_weeks", assigned="arm")
    t = de.compare({"table": tab, "itt": a})
    first = t.cells.iloc[0]
    assert first[""] == "employed_13_weeks: treatment vs control"
    assert first["table"] == first["itt"] == f"{a.estimate:,.3f}"
    assert t.cells.set_index("").loc["outcome", "table"] == "several"


def test_compare_errors(trial: pd.DataFrame) -> None:
    a = de.itt(trial, outcome="employed_13_weeks", assigned="arm")
    with pytest.raises(DwpEvalError, match="no results given"):
        de.compare([])
    with pytest.raises(
        DwpEvalError, match="model '\\(2\\)' is a PowerResult, whose table has no 'estimate'"
    ):
        de.compare([a, de.mde(n=100)])
    with pytest.raises(DwpEvalError, match="must be a list of results or a mapping"):
        de.compare(a)
    with pytest.raises(
        OptionError, match="'beneath' parameter of compare must be 'std_error' or 'conf_int'"
    ):
        de.compare([a], beneath="se")  # type: ignore[arg-type]
    with pytest.raises(
        OptionError, match=r"'digits' parameter of compare must be an int in \[0, 10\]"
    ):
        de.compare([a], digits=-1)
    with pytest.raises(DwpEvalError, match="model names must be distinct and not empty"):
        de.compare({"": a})


# --------------------------------------------------------------------------- the whole report


def test_report_exports_whole(tmp_path: Path) -> None:
    report = made("Report")
    doc = docx.Document(str(report.export(tmp_path / "r.docx")))
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert heads == [s.title for s in report.sections]
    assert len(doc.tables) == sum(len(s.display.columns) > 0 for s in report.sections)
    first = next(s for s in report.sections if len(s.display.columns))
    assert [c.text for c in doc.tables[0].rows[1].cells] == list(map(str, first.display.iloc[0]))
    figures = [s for s in report.sections if s.figure is not None]
    assert len(doc.inline_shapes) == len(figures)
    for shape, s in zip(doc.inline_shapes, figures, strict=True):
        assert shape._inline.docPr.get("descr") == s.title  # alternative text
    tex = report.export(tmp_path / "r.tex").read_text()
    for block in re.findall(r"\\begin\{table\}.*?\\end\{table\}", tex, re.S):
        _latex_is_balanced(block)
    assert tex.count("\\subsection*{") == len(report.sections)
    assert report.export(tmp_path / "r.md").read_text() == report.to_markdown()
    assert report.export(tmp_path / "r.html").exists()
    with pytest.raises(
        DwpEvalError, match=r"cannot write a whole report as '\.csv'.*to_csv\(folder\)"
    ):
        report.export(tmp_path / "r.csv")
