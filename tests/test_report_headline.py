"""The report people read: headline findings first, one ITT per outcome, one control-arm
receipt, units (pp, %, pounds), rates never finer than disclosure allows, full-precision
tables of numbers, the Methods section."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwp_eval.report.disclosure import DisclosureRules
from dwp_eval.report.headline import ORDER, arrange
from dwp_eval.report.numbers import interval_rates, is_currency, rate_text, value_text
from dwp_eval.report.page import numeric_form
from dwp_eval.report.report import Report, Section, analyse
from test_report import _plan, _Tables, _trial

pytestmark = pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")

ROUNDED = DisclosureRules()  # counts rounded to 5: rates to whole percentage points
EXACT = DisclosureRules(min_count=0, round_to=1)


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    return _trial(n=1500, seed=8)


@pytest.fixture(scope="module")
def report(trial: pd.DataFrame) -> Report:
    return analyse(trial, _plan())


def _row(report: Report, measure: str) -> pd.Series:
    t = report.tables["headline"]
    return t[t["measure"] == measure].iloc[0]


def test_the_headline_is_first_and_methods_before_the_log(report: Report) -> None:
    keys = [s.key for s in report.sections]
    assert keys[0] == "headline" and keys[-2:] == ["methods", "disclosure"]
    assert keys == [k for k in ORDER if k in keys]


def test_one_itt_per_outcome_everywhere(report: Report) -> None:
    impact = report.tables["impact"].set_index("outcome")["estimate"]
    cace = report.tables["cace"].set_index("outcome")["itt"]
    for outcome, itt in cace.items():
        assert itt == impact[outcome]  # the Lin-adjusted ITT, not the 2SLS reduced form
    primary = report.plan.primary[0]
    assert _row(report, "ITT")["estimate"] == impact[primary]
    assert report.tables["mde"].set_index("outcome")["estimate"][primary] == impact[primary]
    e = report.results["impact"].effects[0]
    lo, hi = e.interval()
    text = " ".join(report.section("headline").text)
    assert f"{value_text(lo, binary=True)} to {value_text(hi, binary=True)}" in text
    assert "percentage points" in text and primary in text
    shown = report.section("cace").display.set_index("outcome")["ITT"]
    assert shown[primary] == value_text(impact[primary], binary=True)


def test_control_arm_receipt_has_one_name_and_one_value(report: Report) -> None:
    take = report.tables["take_up"].set_index("arm")["rate"]
    receipt = _row(report, "control-arm receipt")["estimate"]
    assert receipt == take["control"]
    assert report.tables["mde"]["control_receipt"].iloc[0] == take["control"]
    assert "contamination" not in report.tables["mde"].columns
    assert _row(report, "take-up")["estimate"] == take["treatment"]
    cont = report.tables["contamination"]["rate"].iloc[0]
    assert _row(report, "contamination")["estimate"] == cont
    text = " ".join(report.section("headline").text)
    assert f"{rate_text(receipt, ROUNDED)} of the control arm received it" in text


def test_rates_print_at_the_published_precision(report: Report) -> None:
    for key in ("take_up", "contamination", "contamination_by_site"):
        for col in ("rate", "conf_low_rate", "conf_high_rate"):
            for v in report.section(key).display[col]:
                assert v == "[c]" or re.fullmatch(r"<?\d+%", v), (key, col, v)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_a_rate_is_never_finer_than_the_rules_publish(r: float, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    for text in interval_rates(r, lo, hi, ROUNDED, nonzero=True):
        assert "." not in text  # whole percentage points beside rounded counts
    shown = interval_rates(r, lo, hi, EXACT)
    decimals = {len(t.rstrip("%").partition(".")[2]) for t in shown}
    assert len(decimals) == 1  # the interval at its estimate's precision


def test_tiny_and_zero_rates_read_sensibly() -> None:
    assert rate_text(0.0041, EXACT) == "0.41%"
    assert rate_text(0.09, EXACT) == "9.0%"
    assert rate_text(0.771, EXACT) == "77%"
    assert interval_rates(0.01, 0.01, 0.02, ROUNDED) == ("1%", "1%", "2%")
    assert rate_text(0.0, ROUNDED, nonzero=True) == "<1%"  # a count of 10+ is never 0%
    assert rate_text(0.0, ROUNDED) == "0%"
    assert rate_text("[c]", ROUNDED) == "[c]"


def test_effects_carry_their_units(report: Report) -> None:
    assert value_text(155.3, binary=False, outcome="cumulative_earnings") == "+£155"
    assert value_text(-12.5, binary=False, outcome="weekly_pay") == "-£12.50"
    assert value_text(-5.9, binary=False, outcome="days_on_benefit") == "-5.900"
    assert not is_currency("days_on_benefit") and is_currency("earnings_12m")
    shown = report.section("impact").display.set_index("outcome")
    assert re.fullmatch(r"[+-]£[\d,]+", shown.loc["cumulative_earnings", "impact"])
    assert shown.loc["employed_13_weeks", "impact"].endswith(" pp")
    assert "£" not in shown.loc["days_on_benefit", "impact"]


def test_numeric_form_keeps_numbers_and_names_withheld_cells() -> None:
    frame = pd.DataFrame({
        "site": ["a", "b"], "n": [100, "[c]"], "rate": [0.25, "[c]"],
        "note": ["", "text"], "withheld": ["", "x"],
    })
    out = numeric_form(frame, "[c]")
    assert out["n"].dtype == float and np.isnan(out["n"][1]) and out["n"][0] == 100
    assert out["rate"].dtype == float
    assert list(out["withheld"]) == ["", "x; n, rate"]
    assert list(out["note"]) == ["", "text"] and list(out["site"]) == ["a", "b"]


def test_full_precision_html_tables_hold_numbers(report: Report, tmp_path: Path) -> None:
    parser = _Tables()
    parser.feed(report.to_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    for key in ("take_up", "contamination_by_site", "impact", "cace", "headline"):
        header, *rows = parser.tables[key]
        for col in ("n_flagged", "rate", "estimate", "conf_low", "conf_high", "itt"):
            if col not in header:
                continue
            for cells in rows:
                cell = cells[header.index(col)]
                assert cell == "" or np.isfinite(float(cell)) or cell in ("inf", "-inf"), (
                    key, col, cell)


def test_sections_are_arranged_and_unknown_ones_keep_their_place() -> None:
    def s(key: str) -> Section:
        return Section(key, key, (), pd.DataFrame(), pd.DataFrame())

    given_order = ["flow", "impact", "impact_profile", "take_up", "cace", "mde", "headline",
                   "methods"]
    got = [x.key for x in arrange([s(k) for k in given_order])]
    assert got == ["headline", "flow", "impact", "impact_profile", "cace", "take_up", "mde",
                   "methods"]


def test_methods_say_how_every_number_was_made(report: Report) -> None:
    text = " ".join(report.section("methods").text)
    for words in ("Lin (2013)", "HC2", "Holm", "Wilson", "Anderson-Rubin", "80% power",
                  report.fingerprint, f"dwp_eval {report.versions['dwp_eval']}",
                  "rounded to the nearest 5"):
        assert words in text, words
    items = report.tables["methods"].set_index("item")["setting"]
    assert items["covariate adjustment"] == "lin" and items["standard errors"] == "HC2"


def test_a_primary_outcome_that_is_not_estimable_still_gets_a_headline(
    trial: pd.DataFrame,
) -> None:
    df = trial.copy()
    df["employed_13_weeks"] = np.where(df["arm"] == "treatment", 1.0, 0.0)  # no variance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = analyse(df, _plan(subgroups={"by": []}))
    text = " ".join(rep.section("headline").text)
    assert "employed_13_weeks: not estimable (" in text
    assert rep.sections[0].key == "headline"


def test_balance_shows_shares_in_percent_and_earnings_in_pounds(report: Report) -> None:
    shown = report.section("balance").display.set_index("covariate")
    published = report.tables["balance"].set_index("covariate")
    assert shown.loc["female", "mean_control"] == rate_text(
        published.loc["female", "mean_control"], ROUNDED)
    assert re.fullmatch(r"\d+%", shown.loc["female", "mean_arm"])
    assert shown.loc["prior_earnings", "mean_control"].startswith("£")
    assert "%" not in shown.loc["age", "mean_control"]


def test_the_headline_withholds_what_the_tables_withhold(trial: pd.DataFrame) -> None:
    df = trial.copy()
    control = (df["arm"] == "control").to_numpy()
    df.loc[control, "received"] = 0
    df.loc[df.index[control][:4], "received"] = 1  # 4 controls: a count below 10
    df.loc[control, "contaminated"] = df.loc[control, "received"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = analyse(df, _plan(subgroups={"by": []}, analysis={"cace": False}))
    assert rep.tables["take_up"].set_index("arm").loc["control", "rate"] == "[c]"
    row = _row(rep, "control-arm receipt")
    assert np.isnan(row["estimate"]) and "estimate" in row["withheld"]
    text = " ".join(rep.section("headline").text)
    assert "[c] of the control arm received it" in text
    assert "Contamination: [c] of the control arm" in text
    shown = rep.section("headline").display.set_index("finding")
    assert shown.loc["control-arm receipt", "value"] == "[c]"
