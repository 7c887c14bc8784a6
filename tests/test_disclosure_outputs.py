"""Issue 14, first "Done when": an attacker over every published output of a report.

A trial with small cells (control-arm sites with 1 to 9 contamination events, 4 control
people who receive the programme, a 40-person subgroup with 5 of 16 and 3 of 24
employed, a 12-person pre-specified subgroup the covariates fit exactly, one person
whose earnings dominate a subgroup's arm) goes through ``analyse``. Then, over every
output format in :data:`FORMATS` (the report's tables, the HTML, the Markdown, the CSV
files, the Excel workbook, the LaTeX and the Word document; one line adds another) and over the data of every figure the
report drew:

- no count from 1 to 9 is shown, and every count shown is rounded;
- no rate or mean of a 0/1 outcome is shown whose count (or complement) is small, and no
  shown rate times a shown group size pins a count to 1..9;
- no withheld small count can be narrowed by differencing: a linear programme over every
  identity that links published cells, within a table and across tables (subgroups add
  up to the overall counts, sites to the control arm, the flow's arms to the take-up
  table ...), with every shown cell taken as exact, still lets each one be anything
  from 1 to 9 (0 to 9, as zeros are withheld here);
- the dominated earnings cell is withheld with its partner;
- ACRO, re-checking the tables on the data, leaves no flag unresolved;
- the report is produced, the 12-person subgroup marked not estimable with its reason.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from dwp_eval.report.document import COUNT_COLUMNS
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.report import Report, analyse
from small_cells import small_cell_plan, small_cell_trial

T = 10  # min_count
BASE = 5  # round_to
C = "[c]"
FLOOR = 0  # zeros are withheld too (suppress_zero), as ACRO treats them
COVARIATES = ["age", "x1", "x2", "x3", "x4"]  # with Lin's interactions: 12 parameters


def outputs_trial() -> pd.DataFrame:
    data = small_cell_trial()
    rng = np.random.default_rng(5)
    for c in COVARIATES[1:]:
        data[c] = rng.normal(size=len(data))
    ctrl = data.index[data["arm"] == "control"]
    data.loc[ctrl, "received"] = 0
    data.loc[ctrl[:4], "received"] = 1  # 4 control people receive the programme
    data["followed_up"] = 1  # 3 control people lost to follow-up (no outcome)
    data.loc[ctrl[-6:-3], "followed_up"] = 0
    data.loc[ctrl[-6:-3], ["employed", "earnings"]] = np.nan
    data["rare"] = 0  # a baseline condition of 3 control and 12 treatment people
    data.loc[ctrl[-3:], "rare"] = 1
    data.loc[data.index[data["arm"] == "treatment"][:12], "rare"] = 1
    # days to a first job (exponential, censored at 100-400 days): the survival sections
    t = rng.exponential(np.where(data["arm"] == "treatment", 250.0, 320.0))
    c = rng.uniform(100, 400, len(data))
    data["days_to_job"] = np.ceil(np.minimum(t, c))
    data["found_job"] = (t <= c).astype(int)
    return data


def outputs_plan() -> AnalysisPlan:
    raw = small_cell_plan(suppress_zero=True).to_dict()
    raw["analysis"].update({"covariates": COVARIATES, "cace": True})
    raw["balance"]["covariates"] = ["age", "rare"]
    raw["design"]["followed_up"] = "followed_up"
    raw["analysis"]["missing"] = "drop"
    raw["survival"] = {"time_to_job": {"duration": "days_to_job", "event": "found_job",
                                       "horizon": 300}}
    raw["distribution"] = {"outcomes": ["earnings"], "quantiles": [0.5, 0.75, 0.9], "draws": 199,
                           "seed": 3}
    return AnalysisPlan.from_dict(raw)


# ---------------------------------------------------------------------------- plot data


@dataclass
class PlotData:
    """What a figure shows: its text (labels, titles, tick labels) and every drawn
    coordinate (line and marker data, bar geometry, error-bar segments)."""

    texts: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def _plot_data(fig: Any) -> PlotData:
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    out = PlotData()
    out.texts = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    for ax in fig.axes:  # the data drawn (not the axes' own ticks and spines)
        for art in [*ax.lines, *ax.patches, *ax.collections]:
            if isinstance(art, Line2D):
                for xy in (art.get_xdata(), art.get_ydata()):
                    out.values += [float(v) for v in np.ravel(np.asarray(xy, dtype=float))]
            elif isinstance(art, Rectangle):
                out.values += [art.get_x() + art.get_width(), art.get_y() + art.get_height()]
            elif isinstance(art, Collection):  # scatter markers, error-bar segments
                out.values += [float(v) for v in np.ravel(np.asarray(art.get_offsets()))]
                for seg in getattr(art, "get_segments", list)():
                    out.values += [float(v) for v in np.ravel(seg)]
    return out


@dataclass
class Outputs:
    report: Report
    data: pd.DataFrame
    plots: list[PlotData]


@pytest.fixture(scope="module")
def outputs() -> Outputs:
    """The report, with the data of every figure it drew (captured as it is saved)."""
    from matplotlib.figure import Figure

    plots: list[PlotData] = []
    save = Figure.savefig

    def savefig(fig: Any, *args: Any, **kwargs: Any) -> Any:
        plots.append(_plot_data(fig))
        return save(fig, *args, **kwargs)

    data = outputs_trial()
    with warnings.catch_warnings(), mock.patch.object(Figure, "savefig", savefig):
        warnings.simplefilter("ignore")
        report = analyse(data, outputs_plan())
    return Outputs(report, data, plots)


# ---------------------------------------------------------------------------- formats
# Each format reads back what a writer wrote: {table name: frame of cell texts}. Table
# names are the section keys (full-precision tables) and "display-<key>" (the tables a
# reader sees). One line adds a format.


def _texts(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(v: Any) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return ""
        return repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)

    return frame.astype(object).map(cell).reset_index(drop=True)


def _from_tables(rep: Report, _: Path) -> dict[str, pd.DataFrame]:
    out = {k: _texts(t) for k, t in rep.tables.items()}
    out.update({f"display-{s.key}": _texts(s.display) for s in rep.sections})
    return out


def _marks_restored(table: pd.DataFrame, original: pd.DataFrame | None) -> pd.DataFrame:
    """The page's full-precision tables hold numbers only: a withheld cell is blank and
    named in the row's ``withheld`` column (report/page.py). Put the mark back where that
    column names a cell, so the page is compared cell for cell with the published table."""
    if "withheld" not in table.columns or original is None:
        return table
    out = table.copy()
    for i, names in enumerate(out["withheld"]):
        for entry in re.split(r"[;,] ", str(names)):
            col = entry.split(" (", 1)[0]
            if (col in out.columns and col != "withheld" and out.at[i, col] == ""
                    and col in original.columns and original[col].iloc[i] == C):
                out.at[i, col] = C
    if "withheld" not in original.columns:
        out = out.drop(columns="withheld")
    return out


def _from_html(rep: Report, folder: Path) -> dict[str, pd.DataFrame]:
    import html as html_lib

    page = rep.to_html(folder / "report.html").read_text(encoding="utf-8")
    out = {}
    for name, body in re.findall(r'<table class="[^"]*" data-table="([^"]+)">(.*?)</table>',
                                 page, flags=re.S):
        head = [html_lib.unescape(h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", body.split("</thead>", 1)[0])]
        rows = [[html_lib.unescape(c) for c in re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", r)]
                for r in re.findall(r"<tr>(.*?)</tr>", body.split("</thead>", 1)[1], re.S)]
        out[name] = _marks_restored(pd.DataFrame(rows, columns=head), rep.tables.get(name))
    out["text"] = pd.DataFrame({"text": re.findall(r"<p(?:\s[^>]*)?>(.*?)</p>", page, re.S)})
    return out


def _from_markdown(rep: Report, _: Path) -> dict[str, pd.DataFrame]:
    text = rep.to_markdown()
    out = {}
    chunks = re.split(r"^## .*$", text, flags=re.M)[1:]
    for section, chunk in zip(rep.sections, chunks, strict=True):
        lines = [ln for ln in chunk.splitlines() if ln.startswith("|")]
        cells = [[re.sub(r"\\(.)", r"\1", c.strip()).replace("&#126;", "~")
                  for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
        out[f"display-{section.key}"] = pd.DataFrame(cells[2:], columns=cells[0])
        out[f"text-{section.key}"] = pd.DataFrame(
            {"text": [ln for ln in chunk.splitlines() if ln and not ln.startswith("|")]})
    return out


def _from_csv(rep: Report, folder: Path) -> dict[str, pd.DataFrame]:
    paths = rep.write(tables=folder / "tables")["tables"]
    return {p.stem: _marks_restored(pd.read_csv(p, dtype=str, keep_default_na=False),
                                    rep.tables.get(p.stem)) for p in paths}


def _from_excel(rep: Report, folder: Path) -> dict[str, pd.DataFrame]:
    # the dependency matrix installs only the test extra; make test's main run requires it
    pytest.importorskip("openpyxl", reason="openpyxl is not installed (pip install 'dwp_eval[export]')")
    path = rep.write(excel=folder / "report.xlsx")["excel"]
    sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    return {key: _marks_restored(sheets[key[:31]], rep.tables.get(key)) for key in rep.tables}


_TEX = {r"\%": "%", r"\$": "$", r"\&": "&", r"\_": "_", r"\#": "#", r"\{": "{", r"\}": "}",
        r"\textasciitilde{}": "~", r"\textasciicircum{}": "^", r"\textbackslash{}": "\\"}


def _untex(text: str) -> str:
    return re.sub("|".join(re.escape(k) for k in _TEX), lambda m: _TEX[m.group(0)], text).strip()


def _from_latex(rep: Report, _: Path) -> dict[str, pd.DataFrame]:
    """The LaTeX report read back: each section's booktabs table (header between
    toprule and midrule, rows up to bottomrule) and its sentences."""
    pytest.importorskip("great_tables", reason="great-tables is not installed "
                                               "(pip install 'dwp_eval[export]')")
    chunks = re.split(r"^\\subsection\*\{.*\}$", rep.to_latex(), flags=re.M)[1:]
    out = {}
    for section, chunk in zip(rep.sections, chunks, strict=True):
        found = re.search(r"\\toprule\n(.*?)\\midrule[^\n]*\n(.*?)\\bottomrule", chunk, re.S)
        if found is not None:
            head, body = found.groups()

            def cells(line: str) -> list[str]:
                return [_untex(c) for c in re.split(r"(?<!\\)&", line.strip().rstrip("\\").rstrip())]

            rows = [cells(ln) for ln in body.strip().splitlines() if ln.strip()]
            out[f"display-{section.key}"] = pd.DataFrame(rows, columns=cells(head))
        text = [_untex(ln) for ln in chunk.splitlines()
                if ln.strip() and not ln.startswith(("\\", "%", "}")) and "&" not in ln]
        out[f"text-{section.key}"] = pd.DataFrame({"text": text})
    return out


def _from_docx(rep: Report, folder: Path) -> dict[str, pd.DataFrame]:
    """The Word report read back with python-docx: each section's table and its text."""
    docx = pytest.importorskip("docx", reason="python-docx is not installed "
                                              "(pip install 'dwp_eval[export]')")
    doc = docx.Document(str(rep.to_docx(folder / "report.docx")))
    shown = [s for s in rep.sections if len(s.display.columns)]
    assert len(doc.tables) == len(shown)
    out = {}
    for section, table in zip(shown, doc.tables, strict=True):
        rows = [[c.text for c in r.cells] for r in table.rows]
        out[f"display-{section.key}"] = pd.DataFrame(rows[1:], columns=rows[0])
    out["text"] = pd.DataFrame({"text": [p.text for p in doc.paragraphs if p.text]})
    return out


FORMATS: dict[str, Callable[[Report, Path], dict[str, pd.DataFrame]]] = {
    "tables": _from_tables,
    "html": _from_html,
    "markdown": _from_markdown,
    "csv": _from_csv,
    "excel": _from_excel,
    "latex": _from_latex,
    "docx": _from_docx,
}


@pytest.fixture(scope="module", params=sorted(FORMATS))
def published(request: pytest.FixtureRequest, outputs: Outputs,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    return FORMATS[request.param](outputs.report, tmp_path_factory.mktemp(request.param))


# ---------------------------------------------------------------------------- the truth

COUNT_NAMES = {*COUNT_COLUMNS, "n"}
# a shown proportion of a 0/1 variable: published column -> display column
PROPORTIONS = {"rate": "rate", "conf_low_rate": "conf_low_rate",
               "conf_high_rate": "conf_high_rate", "control_mean": "control mean",
               "treatment_mean": "treatment mean"}


def _hidden(v: str) -> bool:
    return v == C


def _number(v: str) -> float | None:
    """A cell's number as shown ("1,234", "33%", "+3.5 pp"), or None."""
    m = re.fullmatch(r"\s*([+-]?[\d,]*\.?\d+)\s*(%| pp)?\s*", v)
    if not m:
        return None
    x = float(m.group(1).replace(",", ""))
    return x / 100 if m.group(2) else x


def _secret_pairs(out: Outputs) -> Iterator[tuple[str, dict[str, str], list[str], int, int]]:
    """(table, row keys, columns, count, group size) of every proportion the report can
    publish, with the true count of people with the outcome and the true group."""
    data = out.data
    arms = {"control": "control", "treatment": "treatment"}
    for key in ("impact", "subgroups"):
        for s in [*data["group"].unique().tolist(), "all"]:
            rows = data if s == "all" else data[data["group"] == s]
            sub = "all" if s == "all" else f"group={s}"
            for arm, col in (("control", "control_mean"), ("treatment", "treatment_mean")):
                y = rows.loc[rows["arm"] == arm, "employed"]
                yield (key, {"outcome": "employed", "subgroup": sub},
                       [col, PROPORTIONS[col]], int(y.sum()), len(y))
    for arm in arms:
        y = data.loc[data["arm"] == arm, "received"]
        yield ("take_up", {"arm": arm}, ["rate", "conf_low_rate", "conf_high_rate"],
               int(y.sum()), len(y))
    ctrl = data[data["arm"] == "control"]
    yield ("contamination", {"arm": "control"}, ["rate", "conf_low_rate", "conf_high_rate"],
           int(ctrl["contaminated"].sum()), len(ctrl))
    for site, rows in ctrl.groupby("site"):
        yield ("contamination_by_site", {"site": str(site)},
               ["rate", "conf_low_rate", "conf_high_rate"], int(rows["contaminated"].sum()),
               len(rows))
    y = data.loc[data["arm"] == "control", "rare"]
    yield ("balance", {"covariate": "rare"},
           ["mean_control", "sd_control", "std_diff", "variance_ratio"], int(y.sum()), len(y))
    # the difference of the arms' receipt rates (the first stage, and the CACE MDE that
    # divides by it) gives the control rate back beside the published take-up
    for arm in arms:
        y = data.loc[data["arm"] == arm, "received"]
        yield ("cace", {}, ["first_stage", "first stage"], int(y.sum()), len(y))
        rate = "take_up" if arm == "treatment" else "contamination"  # as the mde table names
        yield ("mde", {}, ["mde_cace", "MDE (CACE)", rate], int(y.sum()), len(y))


def _rows(frame: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    pick = pd.Series(True, index=frame.index)
    for k, v in keys.items():
        if k not in frame.columns:
            return frame.iloc[0:0]
        pick &= frame[k] == v
    return frame[pick]


def _tables_of(pub: dict[str, pd.DataFrame], key: str) -> list[pd.DataFrame]:
    return [t for name, t in pub.items() if name in (key, f"display-{key}")]


# ---------------------------------------------------------------------------- attacks


def test_no_count_below_the_threshold_is_shown(published: dict[str, pd.DataFrame]) -> None:
    seen = 0
    for name, table in published.items():
        for col in table.columns:
            if col not in COUNT_NAMES:
                continue
            for v in table[col]:
                if v in ("", C):
                    continue
                x = _number(v)
                assert x is not None and x == int(x), (name, col, v)
                assert x >= T and x % BASE == 0, (name, col, v)
                seen += 1
        for col in ("text",) if "text" in table.columns else ():
            for line in table[col]:  # counts of people in sentences
                for m in re.finditer(r"\b(\d[\d,]*) (?:row\(s\)|rows?|people|person)\b", line):
                    x = int(m.group(1).replace(",", ""))
                    assert x >= T and x % BASE == 0, (name, line)
    assert seen > 20


def test_no_rate_reveals_a_small_count(published: dict[str, pd.DataFrame],
                                       outputs: Outputs) -> None:
    checked = withheld = 0
    for key, keys, cols, k, n in _secret_pairs(outputs):
        small = FLOOR <= k < T or FLOOR <= n - k < T
        for table in _tables_of(published, key):
            for _, row in _rows(table, keys).iterrows():
                for col in cols:
                    if col not in row.index or row[col] == "":
                        continue
                    checked += 1
                    if small:
                        assert _hidden(row[col]), (key, keys, col, row[col], k, n)
                        withheld += 1
    assert checked > 30 and withheld > 15


def test_no_shown_rate_times_a_shown_group_pins_a_small_count(
    published: dict[str, pd.DataFrame],
) -> None:
    """Without the truth: a shown rate (to its shown precision) times a shown group size
    (to the rounding base) leaves a range of counts; none may lie within 1..9."""
    pairs = [("rate", "n"), ("control_mean", "n_control"), ("treatment_mean", "n_treatment")]
    tried = 0
    for name, table in published.items():
        for p_col, n_col in pairs:
            if p_col not in table.columns or n_col not in table.columns:
                continue
            for p_text, n_text in zip(table[p_col], table[n_col], strict=True):
                p, n = _number(p_text), _number(n_text)
                if p is None or n is None or not 0 <= p <= 1:
                    continue
                digits = len(p_text.split(".")[1]) if "." in p_text else 0
                half = 0.5 * 10 ** -(digits + (2 if p_text.endswith("%") else 0))
                lo = (p - half) * (n - BASE / 2)
                hi = (p + half) * (n + BASE / 2)
                tried += 1
                for k_lo, k_hi in ((lo, hi), (n - BASE / 2 - hi, n + BASE / 2 - lo)):
                    assert not (k_lo > 0.5 and k_hi < T - 0.5), (name, p_text, n_text)
    assert tried >= 3


# the identities an attacker can difference: every count of a table (and across tables)
# that is the sum of others


def _identities(rep: Report, data: pd.DataFrame) -> list[tuple[tuple, list[tuple]]]:
    """(total cell, part cells): each cell is (table, row position, column)."""
    tabs = rep.tables
    out: list[tuple[tuple, list[tuple]]] = []

    def at(key: str, col: str, **keys: str) -> tuple | None:
        if key not in tabs:
            return None
        rows = _rows(_texts(tabs[key]), keys)
        return (key, int(rows.index[0]), col) if len(rows) == 1 else None

    def add(total: tuple | None, parts: list[tuple | None]) -> None:
        if total is not None and parts and all(p is not None for p in parts):
            out.append((total, parts))  # type: ignore[arg-type]

    for arm in ("control", "treatment"):
        add(at("flow", "count", stage="allocated", arm=arm),
            [at("flow", "count", stage="received", arm=arm),
             at("flow", "count", stage="not_received", arm=arm)])
        add(at("take_up", "n", arm=arm), [at("flow", "count", stage="allocated", arm=arm)])
    add(at("flow", "count", stage="randomised"),
        [at("flow", "count", stage="allocated", arm=a) for a in ("control", "treatment")])
    add(at("flow", "count", stage="assessed"),
        [at("flow", "count", stage="excluded"), at("flow", "count", stage="randomised")])
    for arm, col in (("control", "n_control"), ("treatment", "n_treatment")):
        add(at("flow", "count", stage="allocated", arm=arm),
            [at("flow", "count", stage=s, arm=arm)
             for s in ("lost_to_follow_up", "analysed", "excluded_from_analysis")])
        add(at("impact", col, outcome="employed", subgroup="all"),
            [at("flow", "count", stage="analysed", arm=arm)])
    add(at("flow", "count", stage="not_received", arm="control"),
        [at("take_up", "n_flagged", arm="control")])
    add(at("flow", "count", stage="received", arm="treatment"),
        [at("take_up", "n_flagged", arm="treatment")])
    for col in ("n", "n_flagged"):
        sites = [at("contamination_by_site", col, site=str(s))
                 for s in sorted(data["site"].unique())]
        add(at("contamination", col, arm="control"), [s for s in sites if s is not None])
    add(at("contamination", "n", arm="control"), [at("take_up", "n", arm="control")])
    for outcome in ("employed", "earnings"):
        for col in ("n_obs", "n_control", "n_treatment"):
            add(at("impact", col, outcome=outcome, subgroup="all"),
                [at("subgroups", col, outcome=outcome, subgroup=f"group={g}")
                 for g in sorted(data["group"].unique())])
        for key in ("impact", "subgroups"):
            for sub in ["all", *[f"group={g}" for g in data["group"].unique()]]:
                add(at(key, "n_obs", outcome=outcome, subgroup=sub),
                    [at(key, c, outcome=outcome, subgroup=sub)
                     for c in ("n_control", "n_treatment")])
    return out


def _truth(rep: Report) -> dict[str, pd.DataFrame]:
    """The tables before disclosure control, from the report's results."""
    res = rep.results
    subs = pd.concat([res[k].to_frame() for k in res if k.startswith("subgroups_")])
    subs = subs[subs["subgroup"] != "all"].reset_index(drop=True)
    return {"flow": res["flow"].to_frame(), "take_up": res["take_up"].to_frame(),
            "contamination": res["contamination"].to_frame(),
            "contamination_by_site": res["contamination_by_site"].to_frame(),
            "impact": res["impact"].to_frame(), "subgroups": subs}


def test_no_withheld_count_is_recoverable_by_differencing(
    published: dict[str, pd.DataFrame], outputs: Outputs,
) -> None:
    rep = outputs.report
    identities = _identities(rep, outputs.data)
    assert len(identities) > 15
    if not all(key in published for key in ("flow", "subgroups", "contamination_by_site")):
        pytest.skip("this format carries the display tables only (checked against the "
                    "published tables in test_every_format_withholds_what_the_tables_do)")
    truth = _truth(rep)
    cells = sorted({c for total, parts in identities for c in (total, *parts)})
    index = {c: i for i, c in enumerate(cells)}
    value = {c: int(truth[c[0]][c[2]].iloc[c[1]]) for c in cells}
    for c in cells:  # the truth is the unrounded table, row for row
        shown = published[c[0]][c[2]].iloc[c[1]]
        assert _hidden(shown) or int(float(shown)) == rep.plan.disclosure.protect(value[c]), c
    hidden = {c for c in cells if _hidden(published[c[0]][c[2]].iloc[c[1]])}
    a_eq, b_eq = [], []
    for total, parts in identities:
        row = np.zeros(len(cells))
        row[index[total]] = 1.0
        for p in parts:
            row[index[p]] -= 1.0
        a_eq.append(row)
        b_eq.append(0.0)
        assert value[total] == sum(value[p] for p in parts), (total, parts)
    bounds = []
    half = BASE // 2  # a count shown rounded to base 5 is within 2 of the truth
    for c in cells:  # the reader: shown cells to their rounding, withheld ones by their rule
        if c not in hidden:
            shown = int(float(published[c[0]][c[2]].iloc[c[1]]))
            bounds.append((max(shown - half, 0), shown + half))
        elif value[c] < T:
            bounds.append((FLOOR, T - 1))
        else:
            bounds.append((T, None))
    narrowed = []
    for c in hidden:
        if value[c] >= T:
            continue
        ends = []
        for sign in (1.0, -1.0):
            goal = np.zeros(len(cells))
            goal[index[c]] = sign
            res = linprog(goal, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds,
                          method="highs")
            assert res.status == 0, (c, res.message)
            ends.append(sign * res.fun)
        # recoverable: known more closely than the rules publish a count (to the rounding
        # base; without rounding, no more closely than the symbol says: 0 to 9)
        if np.floor(ends[1] + 1e-6) - np.ceil(ends[0] - 1e-6) + 1 < (BASE if BASE > 1 else T):
            narrowed.append((c, value[c], ends))
    assert len([c for c in hidden if value[c] < T]) >= 8
    assert not narrowed, narrowed


def test_every_format_withholds_what_the_tables_do(published: dict[str, pd.DataFrame],
                                                   outputs: Outputs) -> None:
    ref = _from_tables(outputs.report, Path())
    compared = 0
    for name, table in published.items():
        if name not in ref:
            continue
        mine = ref[name]
        assert list(table.columns) == [str(c) for c in mine.columns], name
        assert len(table) == len(mine), name
        for col in mine.columns:
            theirs = table[str(col)].tolist()
            assert [v == C for v in theirs] == [v == C for v in mine[col]], (name, col)
            compared += 1
    assert compared > 50


def test_the_dominated_earnings_cell_is_withheld_with_its_partner(
    published: dict[str, pd.DataFrame], outputs: Outputs,
) -> None:
    rules = outputs.report.plan.disclosure
    data = outputs.data
    mid = data[(data["group"] == "mid")]
    assert rules.dominated(mid.loc[mid["arm"] == "treatment", "earnings"]) is not None
    for table in _tables_of(published, "subgroups"):
        row = _rows(table, {"outcome": "earnings", "subgroup": "group=mid"})
        assert len(row) == 1
        for col in ("treatment_mean", "control_mean", "treatment mean", "control mean"):
            if col in row.columns:
                assert _hidden(row[col].iloc[0]), col


def test_the_plots_draw_controlled_numbers_only(outputs: Outputs) -> None:
    rep = outputs.report
    drawn = outputs.plots
    assert len(drawn) == sum(s.figure is not None for s in rep.sections)
    values = np.array([v for p in drawn for v in p.values if np.isfinite(v)])
    # no withheld rate is drawn, on either scale, at any precision shown
    for key, keys, _, k, n in _secret_pairs(outputs):
        # (a rate of 0 or 1 cannot be told from an axis line; its cell is checked above)
        if key in ("contamination_by_site", "take_up") and (0 < k < T or 0 < n - k < T):
            for scale in (1.0, 100.0):
                assert not np.isclose(values, scale * k / n, rtol=0, atol=1e-9).any(), keys
    # nor the standardised difference of the rare baseline condition (3 control people)
    raw = outputs.report.results["balance"].to_frame().set_index("covariate")
    assert rep.tables["balance"].set_index("covariate").loc["rare", "std_diff"] == C
    assert not np.isclose(values, float(raw.loc["rare", "std_diff"]), rtol=0, atol=1e-9).any()
    # the site plot draws the published rates only; its withheld sites are not drawn
    site = rep.tables["contamination_by_site"]
    shown = [100 * float(v) for v in site["rate"] if v != C]
    site_plot = next(p for p in drawn if any("contamination rate" in t for t in p.texts))
    assert any(f"{int((site['rate'] == C).sum())} group(s) suppressed" in t
               for t in site_plot.texts)
    for v in shown:
        assert np.isclose(site_plot.values, v).any()
    # every "(n = ...)" of the flow diagram is a published count, rounded, or withheld
    flow = rep.tables["flow"]["count"].astype(str).tolist()
    labels = [m for p in drawn for t in p.texts for m in re.findall(r"\(n (?:= )?([^)]*)\)", t)]
    assert labels
    for label in labels:
        assert label == C or label.replace(",", "") in flow, label


def test_the_tiny_subgroup_is_not_estimable_and_the_report_goes_on(outputs: Outputs) -> None:
    rep = outputs.report
    sub = rep.tables["subgroups"].set_index(["outcome", "subgroup"])
    for outcome in ("employed", "earnings"):
        why = sub.loc[(outcome, "group=tiny"), "not_estimable"]
        assert why == "no residual degrees of freedom (the covariates fit the subgroup exactly)"
        assert pd.isna(sub.loc[(outcome, "group=tiny"), "estimate"])
    shown = rep.section("subgroups").display.set_index(["outcome", "subgroup"])
    assert shown.loc[("employed", "group=tiny"), "impact"].startswith("not estimable (no residual")
    assert any("group=tiny: not estimable" in t for t in rep.section("subgroups").text)
    # the other rows are estimated as usual
    assert np.isfinite(float(sub.loc[("employed", "group=main"), "estimate"]))
    assert rep.sections[-1].key == "disclosure"


def test_acro_leaves_no_flag_unresolved(outputs: Outputs, tmp_path: Path) -> None:
    pytest.importorskip("acro", reason="acro is not installed (pip install 'dwp_eval[sdc]')")
    from dwp_eval.report.acro import acro_check

    out = outputs.report.write(html=tmp_path / "report.html")
    record = json.loads(out["record"].read_text(encoding="utf-8"))
    assert set(record["published"]) == set(outputs.report.tables)
    flags = acro_check(out["record"], outputs.data)
    assert len(flags) >= 10  # ACRO flags the small cells ...
    assert flags["resolved"].all(), flags[~flags["resolved"]].to_string()  # ... all withheld


def test_every_withheld_cell_has_its_reason_in_the_log(outputs: Outputs) -> None:
    rep = outputs.report
    log = rep.tables["disclosure"]
    for key, table in rep.tables.items():
        if key == "disclosure":
            continue
        withheld = int((table.astype(object) == C).to_numpy().sum())
        rows = log[(log["table"] == key) & (log["rule"] != "total") & (log["column"] != "text")]
        assert withheld == len(rows), key
    across = log[log["table"].isin(["cace", "mde"])]
    assert set(across["column"]) == {"first_stage", "mde_cace", "control_receipt"}
    rates = across[across["column"] != "control_receipt"]
    assert rates["reason"].str.contains("withheld receipt rate of control").all()


@given(st.dictionaries(st.sampled_from(["control", "treatment", "other"]),
                       st.one_of(st.just(C), st.floats(0, 1)), min_size=1),
       st.lists(st.one_of(st.floats(-1, 1), st.just(float("nan"))), min_size=1, max_size=4))
def test_receipt_columns_are_withheld_exactly_when_a_receipt_rate_is(
    rates: dict[str, Any], first_stage: list[float],
) -> None:
    from dwp_eval.report._across import receipt
    from dwp_eval.report.disclosure import DisclosureRules

    pub = pd.DataFrame({"outcome": [f"y{i}" for i in range(len(first_stage))],
                        "first_stage": first_stage, "estimate": 1.0})
    shown = pd.DataFrame({"outcome": pub["outcome"], "first stage": "x"})
    out, view = receipt(pub, shown, rates, DisclosureRules())
    withheld = C in rates.values()
    for i, v in enumerate(first_stage):
        expect = withheld and not np.isnan(v)
        assert (out["first_stage"].iloc[i] == C) == expect
        assert (view["first stage"].iloc[i] == C) == expect
    assert len(out.attrs.get("log", [])) == sum(
        withheld and not np.isnan(v) for v in first_stage)
    assert (out["estimate"] == 1.0).all()  # nothing else changes


def test_the_forest_plot_leaves_out_an_estimate_the_table_withholds(outputs: Outputs) -> None:
    from matplotlib.figure import Figure

    from dwp_eval.report._across import Published
    from dwp_eval.report.displays import _forest_png

    rep = outputs.report
    pub = rep.tables["impact"].astype(object)
    pub.loc[pub["outcome"] == "employed", "estimate"] = C  # as the df rule would withhold it
    plots: list[PlotData] = []
    save = Figure.savefig

    def savefig(fig: Any, *args: Any, **kwargs: Any) -> Any:
        plots.append(_plot_data(fig))
        return save(fig, *args, **kwargs)

    with mock.patch.object(Figure, "savefig", savefig):
        _forest_png(Published(rep.results["impact"], pub, rep.plan.disclosure))
        _forest_png(Published(rep.results["impact"], rep.tables["impact"], rep.plan.disclosure))
    assert "employed" not in plots[0].texts and "earnings" in plots[0].texts
    assert {"employed", "earnings"} <= set(plots[1].texts)


def test_impact_table_marks_a_subgroup_the_covariates_fit_exactly() -> None:
    import dwp_eval as de

    data = outputs_trial()
    args: dict[str, Any] = dict(assigned="arm", control="control", treatment="treatment",
                                covariates=COVARIATES, adjustment="lin", se_type="HC2",
                                missing="drop")
    alone = de.itt(data[data["group"] == "tiny"], outcome="employed", **args)
    assert alone.df == 0 and np.isnan(alone.p_value)  # 12 people, 12 parameters
    tab = de.impact_table(data, outcomes=["employed"], by="group", **args)
    f = tab.to_frame().set_index("subgroup")
    assert f.loc["group=tiny", "not_estimable"] == (
        "no residual degrees of freedom (the covariates fit the subgroup exactly)")
    tiny = tab.effects[list(tab.subgroups).index("group=tiny")]
    assert "Fix: use fewer covariates" in tiny.notes[0]
    assert f.loc["group=main", "not_estimable"] == "" and np.isfinite(f.loc["group=main", "p_value"])
