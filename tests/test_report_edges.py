"""Reports at the edges (issue 19): rates of 0% and 100%, a subgroup cell that cannot
be estimated, labels that carry markup, and writes that are atomic and all-or-none."""

from __future__ import annotations

import html
import html.parser
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from dwp_eval._core.proportion import wilson_interval
from dwp_eval.errors import DwpEvalError
from dwp_eval.report.report import Report, analyse
from test_report import _chromium, _plan, _trial

pytestmark = pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")

# Away from 0 and n our Wilson bounds and statsmodels' come from the same formula written
# differently: they agree to rounding (a few ulps), 1e-12 leaves room for that and nothing else.
WILSON_ATOL = 1e-12


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return _trial()


# ---------------------------------------------------------------------------- rates at 0 and 1


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.32])
def test_wilson_bounds_match_statsmodels_away_from_the_edges(alpha: float) -> None:
    n = np.repeat(np.arange(2, 400), np.arange(2, 400) - 1)
    k = np.concatenate([np.arange(1, m) for m in range(2, 400)])
    lo, hi = wilson_interval(k, n, alpha)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=0, atol=WILSON_ATOL)
    np.testing.assert_allclose(hi, ref_hi, rtol=0, atol=WILSON_ATOL)


def test_wilson_bounds_match_r_prop_test_including_the_edges() -> None:
    # R's prop.test(correct = FALSE): tests/reference/proportion (script, raw output, CSV)
    ref = pd.read_csv(Path(__file__).parent / "reference" / "proportion" / "wilson_prop_test.csv")
    for alpha, part in ref.groupby("alpha"):
        lo, hi = wilson_interval(part["k"].to_numpy(), part["n"].to_numpy(), float(alpha))
        np.testing.assert_allclose(lo, part["lower"], rtol=0, atol=WILSON_ATOL)
        np.testing.assert_allclose(hi, part["upper"], rtol=0, atol=WILSON_ATOL)
        zero, full = (part["k"] == 0).to_numpy(), (part["k"] == part["n"]).to_numpy()
        assert (lo[zero] == 0.0).all() and (part["lower"][zero] == 0.0).all()  # exactly, as R
        assert (hi[full] == 1.0).all() and (part["upper"][full] == 1.0).all()


def test_wilson_bounds_are_exact_at_zero_and_n_and_never_on_the_wrong_side() -> None:
    n = np.arange(1, 5001)
    for k in (np.zeros_like(n), n, n // 2, np.minimum(n, 1), n - np.minimum(n, 1)):
        lo, hi = wilson_interval(k, n)
        rate = k / n
        assert (lo <= rate).all() and (rate <= hi).all()
        assert (lo >= 0).all() and (hi <= 1).all()
    lo, hi = wilson_interval(n, n)
    assert (hi == 1.0).all()  # statsmodels gives 1 - 1.1e-16 for n = 7, 9, 12, ...
    lo, hi = wilson_interval(np.zeros_like(n), n)
    assert (lo == 0.0).all()
    lo, hi = wilson_interval(150, 150)
    assert float(hi) == 1.0 and float(lo) < 1.0


def test_a_site_whose_controls_are_all_contaminated_does_not_crash_the_report(
    trial: pd.DataFrame,
) -> None:
    df = trial.copy()
    # pick a site whose control arm has a size where the plain formula falls below the rate
    ctrl = df["arm"] == "control"
    sizes = df[ctrl].groupby("site").size()
    bad = [s for s, m in sizes.items() if proportion_confint(m, m, method="wilson")[1] < 1.0]
    site = bad[0] if bad else sizes.index[0]
    if not bad:  # trim the site's controls to 7 people (statsmodels' upper bound 1 - 1.1e-16)
        keep = df.index[ctrl & (df["site"] == site)][7:]
        df = df.drop(index=keep)
        ctrl = df["arm"] == "control"
    df.loc[ctrl & (df["site"] == site), "contaminated"] = 1
    rep = analyse(df, _plan(subgroups={"by": []}, analysis={"cace": False}))
    by_site = rep.results["contamination_by_site"].to_frame()
    row = by_site[by_site["site"] == site].iloc[0]
    assert row["rate"] == 1.0 and row["conf_high"] == 1.0
    assert (by_site["conf_low"] <= by_site["rate"]).all()
    assert (by_site["rate"] <= by_site["conf_high"]).all()
    assert isinstance(rep, Report)


# ---------------------------------------------------------------------------- labels with markup

_MARK = "document.body.setAttribute('data-pwned','{}')"
PAYLOADS = {
    "title": f"<script>{_MARK.format('title')}</script> Trial",
    "control": f"<img src=x onerror=\"{_MARK.format('control')}\">\n\n<script>{_MARK.format('nl')}</script>",
    "treatment": "=HYPERLINK(\"http://evil.example\")|[click](javascript:alert(1))",
    "mental_health": f"<svg onload=\"{_MARK.format('svg')}\"></svg>\n| x | y |",
    "none": f"<details open ontoggle=\"{_MARK.format('details')}\">x</details>",
}


@pytest.fixture(scope="module")
def hostile() -> Report:
    df = _trial(n=1200, seed=7)
    df["arm"] = df["arm"].map({"control": PAYLOADS["control"], "treatment": PAYLOADS["treatment"]})
    df["health_condition"] = df["health_condition"].replace(
        {"mental_health": PAYLOADS["mental_health"], "none": PAYLOADS["none"]})
    plan = _plan(plan={"title": PAYLOADS["title"]},
                 design={"control": PAYLOADS["control"], "treatment": PAYLOADS["treatment"]},
                 analysis={"cace": False})
    return analyse(df, plan)


def _rendered(report: Report) -> str:
    """The Markdown as mkdocs renders it (Python-Markdown with tables)."""
    import markdown

    return markdown.markdown(report.to_markdown(), extensions=["tables"])


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1


def test_markdown_labels_carry_no_markup(hostile: Report) -> None:
    page = _rendered(hostile)
    assert "<script" not in page.lower()
    parser = _Tags()
    parser.feed(page)
    allowed = {"h1", "h2", "p", "code", "table", "thead", "tbody", "tr", "th", "td"}
    assert {t for t, _ in parser.tags} <= allowed
    for tag, attrs in parser.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    # every row of every table has its header's cells: no label broke a table
    assert len(set(parser.rows)) > 1 and all(n > 0 for n in parser.rows)
    tables = page.count("<table>")
    assert tables == len(hostile.sections)
    # the labels are there, as text
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert PAYLOADS["treatment"] in text
    assert PAYLOADS["title"] in text


def test_markdown_tables_keep_their_shape(hostile: Report) -> None:
    page = _rendered(hostile)
    chunks = page.split("<table>")[1:]
    for section, chunk in zip(hostile.sections, chunks, strict=True):
        parser = _Tags()
        parser.feed("<table>" + chunk.split("</table>")[0] + "</table>")
        assert parser.rows == [section.display.shape[1]] * (len(section.display) + 1), section.key


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (CI installs Debian's chromium)")
def test_no_injected_script_runs_when_the_markdown_is_opened_in_a_browser(
    hostile: Report, tmp_path: Path,
) -> None:
    canary = "<script>document.body.setAttribute('data-alive','1')</script>"
    page = f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{_rendered(hostile)}{canary}</body></html>"
    (tmp_path / "md.html").write_text(page, encoding="utf-8")
    cmd = [
        _chromium() or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
        "--dump-dom", (tmp_path / "md.html").as_uri(),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert 'data-alive="1"' in out.stdout, f"Chromium did not run the page: {out.stderr[-2000:]}"
    # the payloads are in the page as text; only a script that ran sets the attribute
    assert not re.search(r"<body[^>]*data-pwned", out.stdout), out.stdout[:500]


def test_csv_cells_cannot_become_formulas(hostile: Report, tmp_path: Path) -> None:
    paths = hostile.to_csv(tmp_path / "tables")
    flow = pd.read_csv(tmp_path / "tables" / "flow.csv", dtype=str, keep_default_na=False)
    arms = set(flow["arm"]) - {""}
    assert "'" + PAYLOADS["treatment"] in arms and PAYLOADS["treatment"] not in arms
    for p in paths:
        for cell in pd.read_csv(p, dtype=str, keep_default_na=False).to_numpy().ravel():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (p.name, cell)


def test_workbook_cells_cannot_become_formulas(hostile: Report, tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    import openpyxl

    book = openpyxl.load_workbook(hostile.to_excel(tmp_path / "report.xlsx"))
    cells = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert "'" + PAYLOADS["treatment"] in cells


# ---------------------------------------------------------------------------- writes


@pytest.fixture(scope="module")
def small() -> Report:
    return analyse(_trial(n=800, seed=11), _plan(subgroups={"by": []}, analysis={"cace": False}))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_tables_are_all_written_or_none(small: Report, tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    last = list(small.tables)[-1]
    (folder / f"{last}.csv").write_text("mine\n", encoding="utf-8")
    with pytest.raises(DwpEvalError, match=rf"'.*{last}\.csv' already exists .* overwrite=True"):
        small.to_csv(folder)
    assert _leftovers(folder) == [f"{last}.csv"]  # nothing else written, no temporary file
    assert (folder / f"{last}.csv").read_text(encoding="utf-8") == "mine\n"
    paths = small.to_csv(folder, overwrite=True)
    assert _leftovers(folder) == sorted(p.name for p in paths)


def test_two_outputs_to_one_path_are_refused_before_anything_is_written(
    small: Report, tmp_path: Path,
) -> None:
    same = tmp_path / "same.html"
    with pytest.raises(DwpEvalError, match=r"named for two outputs \(report and Markdown report\)"):
        small.write(html=same, markdown=tmp_path / "." / "same.html")
    folder = tmp_path / "t"
    with pytest.raises(DwpEvalError, match=r"named for two outputs \(report and table\)"):
        small.write(html=folder / "flow.csv", tables=folder)
    with pytest.raises(DwpEvalError, match=r"is a folder, not a file"):
        small.write(html=tmp_path, markdown=tmp_path / "r.md")
    assert _leftovers(tmp_path) == []
    out = small.write(html=same, markdown=tmp_path / "r.md", tables=folder)
    assert out["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert out["markdown"].read_text(encoding="utf-8") == small.to_markdown()
    assert len(out["tables"]) == len(small.tables)


def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(
    small: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dwp_eval._core import files as _files

    old = tmp_path / "report.html"
    old.write_text("previous report", encoding="utf-8")
    calls = {"n": 0}
    real_replace = os.replace

    def dies(src: str, dst: str) -> None:  # killed as the second file is moved into place
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(_files.os, "replace", dies)
    with pytest.raises(KeyboardInterrupt):
        small.write(markdown=tmp_path / "a.md", html=old, overwrite=True)
    assert old.read_text(encoding="utf-8") == "previous report"
    assert not [p for p in _leftovers(tmp_path) if p.endswith(".tmp")]

    real_link = os.link
    calls["n"] = 0

    def dies_link(src: str, dst: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real_link(src, dst)

    monkeypatch.setattr(_files.os, "link", dies_link)
    with pytest.raises(KeyboardInterrupt):
        small.to_csv(tmp_path / "tables")
    assert _leftovers(tmp_path / "tables") == []  # the two tables already moved are removed


def _write_html(report: Report, path: Path, go: Any, results: Any) -> None:
    go.wait()
    try:
        report.to_html(path)
        results.put("ok")
    except DwpEvalError as err:
        results.put(f"refused: {err}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to share the report")
def test_of_two_processes_writing_one_new_path_exactly_one_succeeds(
    small: Report, tmp_path: Path,
) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    expected = small.to_html(tmp_path / "expected.html").read_text(encoding="utf-8")
    for round_ in range(6):
        path = tmp_path / f"r{round_}.html"
        go, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_write_html, args=(small, path, go, results)) for _ in range(2)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(60)
        got = sorted(results.get(timeout=10) for _ in procs)
        assert got[0] == "ok" and got[1].startswith("refused:") and "already exists" in got[1]
        assert path.read_text(encoding="utf-8") == expected
    assert not [p for p in _leftovers(tmp_path) if p.endswith(".tmp")]


# ---------------------------------------------------------------------------- a cell that cannot be estimated


def test_a_tiny_subgroup_is_reported_not_estimable_and_the_report_goes_on(
    trial: pd.DataFrame,
) -> None:
    import dwp_eval as de

    df = trial.copy()
    df["group"] = np.where(np.arange(len(df)) < 12, "tiny", "large")  # 12 people, 4 covariates
    plan = _plan(subgroups={"by": ["health_condition", "group"]}, analysis={"cace": False})
    rep = analyse(df, plan)
    assert [s.key for s in rep.sections][3:5] == ["impact", "subgroups"]
    table = rep.tables["subgroups"]
    tiny = table[table["subgroup"] == "group=tiny"].iloc[0]
    # the few left after the one-arm strata are set aside all have prior_earnings 0
    why = "covariate 'prior_earnings' is constant (0) in the analysis sample, so it cannot " \
          "adjust anything"
    assert np.isnan(tiny["estimate"]) and tiny["not_estimable"] == why
    shown = rep.section("subgroups").display
    assert shown.loc[shown["subgroup"] == "group=tiny", "impact"].item() == f"not estimable ({why})"
    text = " ".join(rep.section("subgroups").text)
    assert f"By group, employed_13_weeks, subgroup group=tiny: not estimable ({why}). Fix: " in text
    assert " itt: " not in text  # the error's counts stay out of the published text
    assert "Fix: drop it from covariates." in text  # the reason, as the estimator gave it
    assert "Heterogeneity by group, employed_13_weeks: not computed (fewer than two estimable " \
           "subgroups)" in text
    # the estimable cell is impact_table's number on its rows
    large = table[table["subgroup"] == "group=large"].iloc[0]
    cells = rep.results["subgroups_group"]
    assert cells.reasons()[cells.subgroups.index("group=tiny")] == why
    assert large["estimate"] == cells.effects[cells.subgroups.index("group=large")].estimate
    sub = df[df["group"] == "large"]
    direct = de.impact_table(sub, outcomes=["employed_13_weeks"], assigned="arm", control="control",
                             treatment="treatment", strata="stratum", covariates=list(plan.covariates),
                             adjustment="lin", se_type="HC2", missing="drop")
    assert large["estimate"] == pytest.approx(direct.effects[0].estimate, rel=1e-12, abs=1e-15)
    # the other subgroup variable is untouched, with its heterogeneity test
    assert rep.results["subgroups_health_condition"].heterogeneity is not None
    assert "Heterogeneity by health_condition" in text


def test_the_command_line_refuses_one_path_for_two_outputs_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from dwp_eval.cli import main

    demo = tmp_path / "demo"
    assert main(["demo", "--out", str(demo), "--n", "600"]) == 0
    capsys.readouterr()
    same = tmp_path / "same.html"
    args = ["analyse", str(demo / "trial.csv"), "--plan", str(demo / "plan.toml"), "--out"]
    assert main([*args, str(same), "--markdown", str(same)]) == 2
    assert "--out and --markdown both name" in capsys.readouterr().err
    assert not same.exists()
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "mde.csv").write_text("mine\n", encoding="utf-8")
    assert main([*args, str(same), "--tables", str(tables)]) == 2
    assert "mde.csv' already exists" in capsys.readouterr().err
    assert not same.exists() and _leftovers(tables) == ["mde.csv"]


def test_a_symlink_at_the_target_is_replaced_never_followed(small: Report, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    with pytest.raises(DwpEvalError, match="already exists"):
        small.to_html(link)
    small.to_html(link, overwrite=True)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and link.read_text(encoding="utf-8").startswith("<!DOCTYPE")


# ---------------------------------------------------------------------------- properties


@given(st.integers(1, 10**9), st.data(), st.floats(1e-6, 0.5))
def test_wilson_bounds_always_hold_the_rate(n: int, data: Any, alpha: float) -> None:
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n, alpha)
    assert 0.0 <= float(lo) <= k / n <= float(hi) <= 1.0
    assert (float(lo) == 0.0) == (k == 0) or k > 0
    assert (k < n) or float(hi) == 1.0


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_any_label_renders_as_its_own_text_in_markdown(label: str) -> None:
    import markdown

    from dwp_eval.report.document import _md

    label = re.sub(r"[\r\n\t\v\f\u2028\u2029\x85]", " ", label)
    label = re.sub(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]", "\ufffd", label)  # shown as such
    page = markdown.markdown(_md(label), extensions=["tables"])
    inner = re.fullmatch(r"(?s)<p>(.*)</p>", page)
    if not " ".join(label.split()):
        return  # nothing to show
    assert inner is not None, page
    assert "<" not in inner.group(1)  # no tag: only text and entities
    shown = html.unescape(inner.group(1))
    assert " ".join(shown.split()) == " ".join(label.split())
