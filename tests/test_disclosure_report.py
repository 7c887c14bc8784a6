"""The disclosure layer over a whole report, on a generated trial with small cells:
sites with 1 to 9 contamination events, a 12-person subgroup, a 40-person subgroup with
5 of 16 and 3 of 24 employed, and one person who dominates a subgroup's earnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwp_eval.report.displays import _plot_rates, _png
from dwp_eval.report.document import COUNT_COLUMNS
from dwp_eval.report.report import Report, analyse
from small_cells import small_cell_plan, small_cell_trial
from test_disclosure import _feasible

T = 10  # the plan's min_count
C = "[c]"


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return small_cell_trial()


@pytest.fixture(scope="module")
def report(trial: pd.DataFrame) -> Report:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(trial, small_cell_plan())


def _members(trial: pd.DataFrame, subgroup: str) -> pd.Series:
    if subgroup == "all":
        return pd.Series(True, index=trial.index)
    return trial["group"] == subgroup.split("=", 1)[1]


def test_no_published_count_is_below_the_threshold(report: Report) -> None:
    for key, table in report.tables.items():
        for col in COUNT_COLUMNS:
            if col not in table.columns:
                continue
            for v in table[col]:
                assert v == C or pd.isna(v) or (int(v) % 5 == 0 and (v == 0 or v >= T)), (key, col, v)


def test_binary_means_reveal_no_small_count_by_rate_times_n(
    report: Report, trial: pd.DataFrame
) -> None:
    rules = report.plan.disclosure
    checked = 0
    for key in ("impact", "subgroups"):
        table = report.tables[key]
        for rec in table[table["outcome"] == "employed"].itertuples(index=False):
            inside = _members(trial, rec.subgroup)
            for col, arm, n_col in (("control_mean", "control", "n_control"),
                                    ("treatment_mean", "treatment", "n_treatment")):
                y = trial.loc[inside & (trial["arm"] == arm), "employed"]
                k, n = int(y.sum()), len(y)
                value = getattr(rec, col)
                if value == C:
                    continue
                checked += 1
                assert k >= T and n - k >= T, (key, rec.subgroup, col)
                # rate x published n gives back the published (rounded) count, nothing more
                assert value == round(rules.protect(k) / rules.protect(n), 2)
                assert getattr(rec, n_col) == rules.protect(n)
    assert checked >= 4
    sub = report.tables["subgroups"].set_index(["outcome", "subgroup"])
    # the case: 5 of 16 and 3 of 24 are not shown, whatever the precision
    assert sub.loc[("employed", "group=mid"), "control_mean"] == C
    assert sub.loc[("employed", "group=mid"), "treatment_mean"] == C
    shown = report.section("subgroups").display.set_index(["outcome", "subgroup"])
    assert shown.loc[("employed", "group=mid"), "control mean"] == C
    assert "31.2%" not in report.to_markdown()


def test_no_suppressed_count_is_recoverable_by_differencing(
    report: Report, trial: pd.DataFrame
) -> None:
    """Subgroup counts add up to the impact table's counts; site counts to the
    contamination table's: with those totals taken as exact, every withheld small count
    could still be anything from 1 to 9."""
    log = report.tables["disclosure"]
    sub = report.tables["subgroups"]
    groups = []
    for outcome, rows in sub.groupby("outcome"):
        for col, arm in (("n_control", "control"), ("n_treatment", "treatment"),
                         ("n_obs", None)):
            true = []
            for s in rows["subgroup"]:
                pick = _members(trial, s) & trial[outcome].notna()
                if arm is not None:
                    pick &= trial["arm"] == arm
                true.append(int(pick.sum()))
            hidden = [v == C for v in rows[col]]
            small = [0 < v < T for v in true]
            groups.append((true, hidden, small))
    site = report.tables["contamination_by_site"]
    ctrl = trial[trial["arm"] == "control"]
    true = [int(ctrl.loc[ctrl["site"] == s, "contaminated"].sum()) for s in site["site"]]
    groups.append((true, [v == C for v in site["n_flagged"]], [0 < v < T for v in true]))
    exposed = 0
    for true, hidden, small in groups:
        assert all(h for h, s in zip(hidden, small, strict=True) if s)
        for i, feasible in zip([i for i, h in enumerate(hidden) if h],
                               _feasible(true, hidden, small, T), strict=True):
            if small[i]:
                exposed += feasible != set(range(1, T))
    assert exposed == 0
    assert (log["rule"] == "secondary").any()  # the 12-person subgroup needed complements


def test_a_dominated_earnings_cell_is_withheld_with_its_partner(report: Report) -> None:
    sub = report.tables["subgroups"].set_index(["outcome", "subgroup"])
    assert sub.loc[("earnings", "group=mid"), "treatment_mean"] == C
    # the control mean too: with the published impact it would give the treatment mean back
    assert sub.loc[("earnings", "group=mid"), "control_mean"] == C
    log = report.tables["disclosure"]
    dom = log[log["rule"] == "dominance"]
    assert dom["row"].str.contains("earnings / group=mid").any()
    assert dom["reason"].str.contains(r"\(n, k\) rule").any()


def test_the_tiny_subgroup_is_reported_without_its_estimate(report: Report) -> None:
    sub = report.tables["subgroups"].set_index(["outcome", "subgroup"])
    row = sub.loc[("employed", "group=tiny")]
    assert row["n_obs"] == 10  # 12 people, rounded
    assert row["estimate"] == C and row["conf_low"] == C  # 8 residual df
    shown = report.section("subgroups").display.set_index(["outcome", "subgroup"])
    assert shown.loc[("employed", "group=tiny"), "impact"] == C


def test_the_site_plot_draws_the_published_rates_only(report: Report) -> None:
    section = report.section("contamination_by_site")
    table = report.tables["contamination_by_site"]
    assert section.figure == _png(lambda ax: _plot_rates(ax, table, "site",
                                                         report.plan.disclosure))
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    _plot_rates(ax, table, "site", report.plan.disclosure)
    drawn = np.asarray(ax.lines[0].get_xdata(), dtype=float)
    published = [100 * v for v in table["rate"] if v != C]
    assert drawn.tolist() == pytest.approx(published, abs=0)
    assert len(drawn) == int((table["n_flagged"] != C).sum())


def test_every_withheld_cell_is_in_the_disclosure_log(report: Report) -> None:
    log = report.tables["disclosure"]
    for key, table in report.tables.items():
        if key == "disclosure":
            continue
        withheld = int((table.astype(object) == C).to_numpy().sum())
        cells = (log["table"] == key) & (log["rule"] != "total") & (log["column"] != "text")
        assert withheld == int(cells.sum()), key
    assert set(log["rule"]) <= {"threshold", "proportion", "dominance", "secondary", "total",
                                "degrees of freedom"}
    assert report.sections[-1].key == "disclosure"


def test_the_exports_carry_the_controlled_numbers(report: Report, tmp_path: Path) -> None:
    out = report.write(html=tmp_path / "r.html", tables=tmp_path / "tables",
                       markdown=tmp_path / "r.md")
    page = Path(out["html"]).read_text()
    assert "Disclosure log" in page
    site = pd.read_csv(tmp_path / "tables" / "contamination_by_site.csv")
    published = report.tables["contamination_by_site"]["n_flagged"]
    # a column of numbers holds numbers only: a withheld cell is empty and named in the
    # row's withheld column
    assert pd.api.types.is_numeric_dtype(site["n_flagged"])
    hidden = (published == C).to_numpy()
    assert hidden.any() and site["n_flagged"].isna().to_numpy().tolist() == hidden.tolist()
    assert site.loc[~hidden, "n_flagged"].tolist() == [float(v) for v in published[~hidden]]
    assert all("n_flagged" in str(w) for w in site.loc[hidden, "withheld"])
    log = pd.read_csv(tmp_path / "tables" / "disclosure.csv")
    assert len(log) == len(report.tables["disclosure"])


def test_the_flow_diagram_gets_complements_for_a_small_stage(trial: pd.DataFrame) -> None:
    # 4 treatment-arm people do not receive the programme: "received" would give them back
    data = trial.copy()
    treat = data.index[data["arm"] == "treatment"]
    data.loc[treat, "received"] = 1
    data.loc[treat[:4], "received"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = analyse(data, small_cell_plan())
    flow = rep.tables["flow"].set_index(["stage", "arm"])["count"]
    assert flow[("not_received", "treatment")] == C
    assert flow[("received", "treatment")] == C  # allocated - received = not received
    log = rep.tables["disclosure"]
    assert ((log["table"] == "flow") & (log["rule"] == "secondary")).any()


def test_no_small_count_is_shown_anywhere_in_the_html(report: Report, tmp_path: Path) -> None:
    import re

    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    counts = set(COUNT_COLUMNS) | {"n"}
    cells = re.findall(r'<td data-col="([^"]+)">([^<]*)</td>', page)
    shown = [(c, v) for c, v in cells if c in counts and v not in ("", C)]
    assert shown  # the tables are there
    for col, v in shown:
        value = int(float(v.replace(",", "")))
        assert value == 0 or (value >= T and value % 5 == 0), (col, v)
    # the subgroup (control 5 of 16 = 31.2%, treatment 3 of 24 = 12.5%) nowhere
    for text in ("31.2%", "31%", "12.5%", "0.3125", "0.125"):
        assert text not in page


def test_an_exploratory_table_joins_the_disclosure_log(report: Report) -> None:
    extra = pd.DataFrame({"office": ["North", "South"], "n": [4, 300]})
    rep = report.with_exploratory("Offices", extra)
    assert rep.sections[-1].key == "disclosure"
    assert rep.sections[-2].title == "Exploratory: Offices"
    assert rep.tables[rep.sections[-2].key]["n"].tolist() == [C, 300]
    log = rep.tables["disclosure"]
    assert len(log) == len(report.tables["disclosure"]) + 1
    assert log.iloc[-1]["table"] == rep.sections[-2].key
    assert f"{len(log) - int((log['rule'] == 'total').sum())} cells are withheld" in " ".join(
        rep.sections[-1].text)


def test_counts_in_generated_sentences_follow_the_rules() -> None:
    from dwp_eval.report._checked import protect_text
    from dwp_eval.report.disclosure import DisclosureRules

    log: list[dict[str, object]] = []
    lines = ["By group, y: 6 people in strata that hold one person are not in the estimates.",
             "y: 102 row(s) with missing y dropped", "F = 1.668 (8, 2464 df), p = 0.1013"]
    out = protect_text(lines, DisclosureRules(), "subgroups", log)
    assert out == ["By group, y: [c] people in strata that hold one person are not in the "
                   "estimates.", "y: 100 row(s) with missing y dropped", lines[2]]
    assert [e["row"] for e in log] == ["(text)"]


def test_the_report_sentences_carry_no_small_count(report: Report) -> None:
    import re

    for s in report.sections:
        for t in s.text:
            for m in re.finditer(r"\b(\d[\d,]*) (?:row\(s\)|rows?|people|person)\b", t):
                v = int(m.group(1).replace(",", ""))
                assert v == 0 or (v >= T and v % 5 == 0), t
