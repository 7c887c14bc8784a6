"""analyse() and Report: the report runs exactly the plan and shows the functions' numbers."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import tomllib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.datasets import SIMILAR_PROVISION, whp_like, whp_outcomes, whp_referrals
from dwp_eval.datasets.plans import whp_plan
from dwp_eval.errors import ColumnError, DwpEvalError, OptionError
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.report import Report, analyse

pytestmark = pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")

# The HTML keeps every number of the full-precision tables as repr(float): read back, they
# equal the functions' numbers exactly.
EXACT = 0.0


def _trial(n: int = 2500, seed: int = 5) -> pd.DataFrame:
    people = whp_like(n=n, seed=seed)
    alloc = de.randomise(people, strata=["site", "benefit"], seed=seed + 1)
    people = people.merge(alloc.table[["id", "arm", "stratum"]], on="id")
    records = whp_referrals(people, people["arm"], seed=seed + 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", de.errors.RecordProblemsWarning)
        started = de.take_up(people, records.starts, randomised="referred_on")
        flags = de.flag_contamination(people, records.referrals, randomised="referred_on",
                                      similar=SIMILAR_PROVISION, min_days=7)
    received = started["received"].to_numpy() | flags["contaminated"].to_numpy()
    out = whp_outcomes(people, people["arm"], seed=seed + 3, received=received)
    df = people.merge(out, on="id").assign(
        received=received, contaminated=flags["contaminated"].to_numpy(),
    )
    df = df.rename(columns={"earnings_12m": "cumulative_earnings"})
    df["sustained_earnings"] = (df["cumulative_earnings"] > 4000).astype(int)
    # 4% lost to follow-up: no outcome (the plan drops and counts them)
    rng = np.random.default_rng(seed)
    lost = rng.random(len(df)) < 0.04
    df["followed_up"] = (~lost).astype(int)
    for col in ("employed_13_weeks", "any_employment", "cumulative_earnings",
                "sustained_earnings", "days_on_benefit"):
        df[col] = df[col].astype(float).where(~lost)
    return df


def _plan(**changes: Any) -> AnalysisPlan:
    raw = tomllib.loads(whp_plan())
    for section, keys in changes.items():
        raw.setdefault(section, {}).update(keys)
    return AnalysisPlan.from_dict(raw)


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return _trial()


@pytest.fixture(scope="module")
def report(trial: pd.DataFrame) -> Report:
    return analyse(trial, _plan())


class _Tables(html.parser.HTMLParser):
    """The tables of an HTML page: {data-table: [[cell, ...], ...]} (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("data-table") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _read_html(path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_the_report_has_every_planned_section(report: Report) -> None:
    keys = [s.key for s in report.sections]
    assert keys == ["headline", "flow", "balance", "impact", "subgroups", "cace", "take_up",
                    "contamination", "contamination_by_site", "mde", "methods", "disclosure"]
    assert not any(s.exploratory for s in report.sections)
    assert report.fingerprint == report.plan.fingerprint


def test_impact_numbers_are_impact_tables_numbers(trial: pd.DataFrame, report: Report) -> None:
    plan = report.plan
    direct = de.impact_table(
        trial, outcomes=list(plan.outcomes), assigned="arm", control="control",
        treatment="treatment", covariates=list(plan.covariates), strata="stratum",
        se_type="HC2", missing="drop", family=plan.family_map(),
    ).to_frame()
    got = report.tables["impact"]
    for col in ("estimate", "std_error", "p_value", "p_value_adjusted", "conf_low", "conf_high"):
        np.testing.assert_array_equal(got[col].to_numpy(dtype=float), direct[col].to_numpy(dtype=float))
    assert list(got["role"]) == ["primary"] + ["secondary"] * 4
    assert set(direct["family"]) == {"primary", "secondary"}


def test_cace_numbers_are_caces_numbers(trial: pd.DataFrame, report: Report) -> None:
    e = de.cace(trial, outcome="employed_13_weeks", assigned="arm", received="received",
                strata="stratum", covariates=list(report.plan.covariates), se_type="HC2",
                missing="drop")
    row = report.tables["cace"].iloc[0]
    assert row["estimate"] == e.estimate and row["std_error"] == e.std_error
    assert e.first_stage is not None and row["first_stage"] == e.first_stage.difference
    assert report.results["cace"]["employed_13_weeks"].estimate == e.estimate


def test_numbers_read_back_from_the_html_equal_the_functions(report: Report, tmp_path: Path) -> None:
    path = report.to_html(tmp_path / "report.html")
    page = _read_html(path)
    header, *rows = page.tables["impact"]
    impact = report.results["impact"]
    col = {name: i for i, name in enumerate(header)}
    for cells, e in zip(rows, impact.effects, strict=True):
        assert cells[col["outcome"]] == e.outcome
        for name in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
            assert float(cells[col[name]]) == pytest.approx(getattr(e, name), abs=EXACT)
    # and the readable table shows the same effects, rounded as the report rounds them
    shown = page.tables["display-impact"]
    first = dict(zip(shown[0], shown[1], strict=True))
    e = impact.effects[0]
    assert first["impact"] == f"{100 * e.estimate:+.1f} pp"
    cace_header, cace_row, *_ = page.tables["cace"]
    got = dict(zip(cace_header, cace_row, strict=True))
    assert float(got["estimate"]) == report.results["cace"]["employed_13_weeks"].estimate
    assert report.fingerprint in path.read_text(encoding="utf-8")


def test_every_image_is_an_embedded_png(report: Report, tmp_path: Path) -> None:
    page = _read_html(report.to_html(tmp_path / "r.html"))
    assert len(page.images) == 5  # flow, balance, impact, contamination by site, MDE
    assert all(src.startswith("data:image/png;base64,") for src in page.images)


def test_published_counts_follow_the_disclosure_rules(report: Report) -> None:
    flow = report.tables["flow"]
    for v in flow["count"]:
        assert v == "[c]" or (isinstance(v, int) and v % 5 == 0 and (v == 0 or v >= 10))
    site = report.tables["contamination_by_site"]
    small = site["n_flagged"] == "[c]"
    assert (site.loc[small, "rate"] == "[c]").all()
    assert "rounded to the nearest 5" in report.to_markdown()


def test_disclosure_can_be_turned_off_and_then_counts_are_exact(trial: pd.DataFrame) -> None:
    off = {"min_count": 0, "round_to": 1, "p_percent": 0, "nk_n": 0, "nk_k": 0}
    rep = analyse(trial, _plan(disclosure=off, subgroups={"by": []},
                               analysis={"cace": False}))
    # the plan gives no exclusions: no "assessed" count is invented (issue 14)
    assert rep.tables["flow"].query("stage in ['assessed', 'excluded']").empty
    randomised = rep.tables["flow"].query("stage == 'randomised'")["count"].iloc[0]
    assert randomised == len(trial)  # nobody is lost from the report
    lost = rep.tables["flow"].query("stage == 'lost_to_follow_up'")["count"].sum()
    assert lost == int((trial["followed_up"] == 0).sum())
    analysed = rep.tables["flow"].query("stage == 'analysed'")["count"].sum()
    assert analysed == int(trial["employed_13_weeks"].notna().sum())
    assert "No disclosure control" in rep.to_markdown()


def test_rows_dropped_for_missing_outcomes_are_counted(report: Report, trial: pd.DataFrame) -> None:
    dropped = report.results["impact"].dropped
    lost = int(trial["employed_13_weeks"].isna().sum())
    assert lost > 0
    assert dropped.loc[dropped["outcome"] == "employed_13_weeks", "n_dropped"].sum() == lost
    assert "row(s) with missing employed_13_weeks dropped" in report.to_markdown()


def test_exploratory_analyses_are_labelled(report: Report, trial: pd.DataFrame) -> None:
    extra = de.itt(trial, outcome="any_employment", assigned="arm", missing="drop")
    rep = report.with_exploratory("Unadjusted any employment", extra)
    assert len(rep.sections) == len(report.sections) + 1  # the original is unchanged
    s = rep.sections[-2]  # the disclosure log stays last
    assert s.exploratory and s.key == "exploratory_1"
    assert rep.sections[-1].key == "disclosure"
    assert s.title.startswith("Exploratory:")
    assert "not in the pre-specified plan" in rep.to_markdown()
    with pytest.raises(OptionError, match="must be a DataFrame or a dwp_eval result"):
        report.with_exploratory("x", 3)


def test_a_plan_naming_an_absent_column_fails_before_any_computation(trial: pd.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"names 'employed_26_weeks' \(\[outcomes\]\)"):
        analyse(trial, _plan(outcomes={"primary": ["employed_26_weeks"]}))


def test_duplicated_ids_and_a_wrong_control_label_are_refused(trial: pd.DataFrame) -> None:
    twice = pd.concat([trial, trial.iloc[:3]], ignore_index=True)
    with pytest.raises(ColumnError, match="id"):
        analyse(twice, _plan())
    with pytest.raises(OptionError, match="control arm 'ctrl' is not in column 'arm'"):
        analyse(trial, _plan(design={"control": "ctrl"}))


def test_outputs_are_never_overwritten_silently(report: Report, tmp_path: Path) -> None:
    p = report.to_html(tmp_path / "r.html")
    with pytest.raises(DwpEvalError, match="already exists and would be overwritten"):
        report.to_html(p)
    report.to_html(p, overwrite=True)
    paths = report.to_csv(tmp_path / "tables")
    assert {q.stem for q in paths} == set(report.tables)
    # round_trip: pandas < 2.2's default parser reads the written repr back only to about 1e-14
    back = pd.read_csv(tmp_path / "tables" / "impact.csv", float_precision="round_trip")
    np.testing.assert_allclose(back["estimate"], report.tables["impact"]["estimate"], rtol=1e-15)
    with pytest.raises(DwpEvalError, match="already exists"):
        report.to_csv(tmp_path / "tables")


def test_markdown_has_the_plan_fingerprint_and_every_section(report: Report) -> None:
    md = report.to_markdown()
    assert report.fingerprint in md
    for s in report.sections:
        assert f"## {s.title}" in md


def test_the_report_is_immutable(report: Report) -> None:
    with pytest.raises(AttributeError):
        report.fingerprint = "x"  # type: ignore[misc]
    t = report.tables["impact"]
    t.loc[0, "estimate"] = 99.0
    assert report.tables["impact"].loc[0, "estimate"] != 99.0


def test_the_plan_file_fingerprint_reaches_the_report(trial: pd.DataFrame, tmp_path: Path) -> None:
    raw = whp_plan().replace('by = ["health_condition"]', "by = []").replace("cace = true", "cace = false")
    path = tmp_path / "plan.toml"
    path.write_text(raw, encoding="utf-8")
    rep = analyse(trial, path)
    import hashlib

    assert rep.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path) in rep.to_markdown()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (CI installs Debian's chromium)")
def test_the_report_opens_in_a_real_browser_and_every_image_loads(report: Report, tmp_path: Path) -> None:
    page = report.to_html(tmp_path / "report.html").read_text(encoding="utf-8")
    probe = (
        "<script>window.addEventListener('load',function(){var i=Array.from(document.images);"
        "document.body.setAttribute('data-images',i.length+':'+i.filter(function(x){"
        "return x.complete&&x.naturalWidth>0;}).length);});</script></body>"
    )
    # the report's Content-Security-Policy forbids every script, the probe's too: the probe
    # copy leaves it out (test_report_browser.py opens the report as it is written)
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe), encoding="utf-8")
    cmd = [
        _chromium() or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
        "--dump-dom", (tmp_path / "probe.html").as_uri(),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "HOME": str(tmp_path)})
    found = re.search(r'data-images="(\d+):(\d+)"', out.stdout)
    assert found, f"Chromium did not render the page: {out.stderr[-2000:]}"
    total, loaded = int(found.group(1)), int(found.group(2))
    assert total == 5
    assert loaded == total
    assert report.title in out.stdout


def test_one_warning_sums_up_the_rows_left_out(trial: pd.DataFrame) -> None:
    plan = _plan(subgroups={"by": []}, analysis={"cace": False})
    with pytest.warns(de.errors.DroppedRowsWarning) as caught:
        analyse(trial, plan)
    mine = [w for w in caught if "analyse: rows with missing values" in str(w.message)]
    assert len(mine) == 1 and len(caught) == 1
    lost = int(trial["employed_13_weeks"].isna().sum())
    assert f"employed_13_weeks {lost:,}" in str(mine[0].message)


def test_strata_left_without_both_arms_are_counted_not_fatal(trial: pd.DataFrame) -> None:
    df = trial.copy()
    one = df["stratum"].value_counts().index[-1]  # the smallest stratum
    treated = (df["stratum"] == one) & (df["arm"] == "treatment")
    df.loc[treated, "employed_13_weeks"] = np.nan  # its treated people have no outcome
    rep = analyse(df, _plan(subgroups={"by": []}, analysis={"cace": False}))
    in_stratum = int(((df["stratum"] == one) & df["employed_13_weeks"].notna()).sum())
    notes = " ".join(rep.section("impact").text)
    shown = rep.plan.disclosure.protect(in_stratum)  # counts in sentences follow the rules
    shown = shown if isinstance(shown, str) else f"{shown:,}"
    assert f"employed_13_weeks: {shown} people with an outcome are in strata" in notes
    e = rep.results["impact"].effects[0]
    assert e.n_obs == int(df["employed_13_weeks"].notna().sum()) - in_stratum


def test_a_balance_omnibus_that_cannot_be_estimated_leaves_the_table_and_says_why(
    trial: pd.DataFrame,
) -> None:
    df = trial.assign(everyone=1.0)
    rep = analyse(df, _plan(balance={"covariates": ["age", "everyone"]}, subgroups={"by": []},
                            analysis={"cace": False}))
    text = " ".join(rep.section("balance").text)
    assert "The omnibus test could not be computed" in text and "'everyone'" in text
    assert set(rep.tables["balance"]["covariate"]) == {"age", "everyone"}
    assert rep.results["balance"].omnibus == ()


def test_more_messages_are_pinned(report: Report, trial: pd.DataFrame, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OptionError, match="Report has no section 'impacts'; its sections are 'headline', 'flow'"):
        report.section("impacts")
    three = trial.assign(arm=np.where(np.arange(len(trial)) % 3 == 0, "other", trial["arm"]))
    raw = tomllib.loads(whp_plan())
    del raw["design"]["treatment"]
    with pytest.raises(OptionError, match=r"The data have 2 arms besides 'control' \('other', "
                                          r"'treatment'\) and the analysis plan names none"):
        analyse(three, AnalysisPlan.from_dict(raw))
    import builtins

    real_import = builtins.__import__

    def no_openpyxl(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "openpyxl":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    with pytest.raises(DwpEvalError, match=r"Report\.to_excel needs the openpyxl package"):
        report.to_excel(tmp_path / "r.xlsx")
