"""``dwp_eval.selfcheck`` and ``dwp-eval selfcheck``: the shipped reference copy
never drifts from ``tests/reference/``, every reference passes, and a changed
reference value is reported as a failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import dwp_eval.references as sc
from dwp_eval.cli import main
from dwp_eval.errors import OptionError

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "reference"
PACKAGE = ROOT / "src" / "dwp_eval" / "_reference"


def manifest() -> list[str]:
    files = set()
    for pattern in sc.PACKAGE_FILES:
        found = [p.relative_to(SOURCE).as_posix() for p in SOURCE.glob(pattern) if p.is_file()]
        assert found, pattern
        files.update(found)
    return sorted(files)


def test_package_copy_equals_tests_reference():
    """Fails when a reference is regenerated without re-running
    ``tests/reference/sync_package_reference.py``."""
    wanted = manifest()
    shipped = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file())
    assert shipped == wanted, "run: .venv/bin/python tests/reference/sync_package_reference.py"
    for rel in wanted:
        assert (PACKAGE / rel).read_bytes() == (SOURCE / rel).read_bytes(), (
            f"{rel} differs; run tests/reference/sync_package_reference.py")
    assert sum((PACKAGE / rel).stat().st_size for rel in wanted) < 1_000_000


def test_installed_package_finds_its_reference_files():
    assert (sc.reference_root() / "itt" / "estimatr_results.csv").is_file()
    for name in ["card_krueger_table3.csv", "estimatr_twfe.csv", "linearmodels_twfe.csv",
                 "twfe_panels.csv", "data/card_krueger.csv", "twfe_cr1.csv",
                 "staggered_panel_no_never.csv", "staggered_no_never_att_gt.csv",
                 "staggered_no_never_aggte.csv"]:
        assert (sc.reference_root() / "did" / name).is_file(), name


@pytest.fixture(scope="module")
def result() -> sc.SelfCheck:
    return sc.selfcheck(verbose=False)


def test_every_reference_passes(result):
    assert result.passed
    f = result.to_frame()
    assert list(f.columns) == sc.SELFCHECK_COLUMNS
    assert list(f["reference"]) == [r.name for r in sc.REFERENCES]
    est = f.set_index("reference").loc["itt_estimatr"]
    assert est["cases"] >= 100 and est["max_rel_diff"] < 1e-8 and est["failed"] == 0
    by = f.set_index("reference")
    assert by.loc["power_pwr", "cases"] >= 200 and by.loc["power_statsmodels", "cases"] >= 400
    assert by.loc["power_powerupr", "values"] >= 800
    assert by.loc["cace_estimatr", "cases"] == 186 and by.loc["cace_linearmodels", "cases"] == 38
    assert by.loc["cace_estimatr", "max_rel_diff"] < 1e-8
    # DiD: Table 3's 12 printed cells (+ store counts), estimatr's 15 and linearmodels' 3 fits
    assert (by.loc["did_card_krueger", "cases"], by.loc["did_card_krueger", "values"]) == (14, 27)
    assert by.loc["did_card_krueger", "max_abs_diff"] < 0.01
    assert (by.loc["did_estimatr", "cases"], by.loc["did_estimatr", "values"]) == (15, 60)
    assert (by.loc["did_linearmodels", "cases"], by.loc["did_linearmodels", "values"]) == (3, 9)
    assert by.loc["did_estimatr", "max_rel_diff"] < 1e-8
    assert by.loc["did_linearmodels", "max_rel_diff"] < 1e-8
    # issue 13: the default CR1 (fixest, xtreg: 10 cases x 2 sources) and staggered
    # adoption without never-treated units (csdid, moderndid)
    assert (by.loc["did_twfe_cr1", "cases"], by.loc["did_twfe_cr1", "values"]) == (20, 60)
    assert by.loc["did_twfe_cr1", "max_rel_diff"] < 1e-8
    assert by.loc["staggered_no_never", "values"] >= 800
    assert by.loc["staggered_no_never", "failed"] == 0
    d = result.details()
    assert list(d.columns) == sc.DETAIL_COLUMNS
    assert not (d["quantity"] == "skipped").any()  # every estimatr case is compared
    assert {"weighted_dim_blocks", "weighted_dim_blocks_clusters"} <= set(d["case"])


def test_summary_names_versions(result):
    text = result.summary()
    assert text.startswith("dwp_eval selfcheck: PASSED (dwp_eval ")
    assert "numpy" in text and "not compared" not in text
    assert "<table" in result._repr_html_() and "passed" in repr(result)


def test_a_changed_reference_value_fails(tmp_path, monkeypatch):
    copy = tmp_path / "_reference"
    shutil.copytree(PACKAGE, copy)
    path = copy / "itt" / "clubsandwich_results.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = frame.index[(frame["case"] == "clustered_ols") & (frame["term"] == "z")][0]
    frame.loc[row, "std_error"] = repr(float(frame.loc[row, "std_error"]) * (1 + 1e-6))
    frame.to_csv(path, index=False)
    monkeypatch.setattr(sc, "reference_root", lambda: copy)
    res = sc.selfcheck(["itt_clubsandwich"], verbose=False)
    assert not res.passed
    f = res.to_frame().iloc[0]
    assert f["failed"] == 1 and 9e-7 < f["max_rel_diff"] < 1.1e-6
    assert "FAIL itt_clubsandwich clustered_ols std_error" in res.summary()


@pytest.mark.parametrize(
    "reference,file,column,where,factor,summary",
    [
        ("did_estimatr", "estimatr_twfe.csv", "std_error",
         {"case": "unbalanced_x", "se_type": "CR2"}, 1 + 1e-6, "unbalanced_x CR2 std_error"),
        ("did_estimatr", "estimatr_twfe.csv", "std_error",
         {"case": "balanced", "se_type": "stata"}, 1 + 1e-6, "balanced stata std_error"),
        ("did_linearmodels", "linearmodels_twfe.csv", "std_error",
         {"case": "unbalanced", "term": "d"}, 1 + 1e-6, "unbalanced std_error"),
        ("did_twfe_cr1", "twfe_cr1.csv", "std_error",
         {"case": "unbalanced_x_region", "source": "xtreg"}, 1 + 1e-6,
         "unbalanced_x_region xtreg std_error"),
        ("staggered_no_never", "staggered_no_never_att_gt.csv", "std_error",
         {"package": "csdid", "method": "dr", "base_period": "varying", "covariates": "",
          "cohort": "5", "time": "6"}, 1 + 1e-6,
         "csdid dr varying no covariates att_gt (5, 6) std_error"),
        ("did_card_krueger", "card_krueger_table3.csv", "published_se",
         {"row": "4", "group": "NJ-PA"}, 1.01, "table 3 row 4 NJ-PA std_error"),
    ],
)
def test_a_changed_did_reference_value_fails(tmp_path, monkeypatch, reference, file, column,
                                             where, factor, summary):
    copy = tmp_path / "_reference"
    shutil.copytree(PACKAGE, copy)
    path = copy / "did" / file
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    match = pd.Series(True, index=frame.index)
    for col, value in where.items():
        match &= frame[col] == value
    (row,) = frame.index[match]
    frame.loc[row, column] = repr(float(frame.loc[row, column]) * factor)
    frame.to_csv(path, index=False)
    monkeypatch.setattr(sc, "reference_root", lambda: copy)
    res = sc.selfcheck([reference], verbose=False)
    assert not res.passed
    assert res.to_frame().iloc[0]["failed"] == 1
    assert f"FAIL {reference} {summary}" in res.summary()


def test_the_registry_takes_new_references(monkeypatch):
    def run(root: Path) -> list[sc.Row]:
        return [sc.Row("toy", "power", 0.8, 0.8, 1e-6), sc.Row("toy", "mde", 1.0, 1.0 + 1e-9, 1e-6)]

    toy = sc.Reference("toy_power", "pwr 1.3", "a toy", "relative 1e-6", run)
    monkeypatch.setattr(sc, "REFERENCES", (*sc.REFERENCES, toy))
    res = sc.selfcheck(["toy_power"], verbose=False)
    assert res.passed and res.to_frame()["values"].iloc[0] == 2


def test_unknown_reference_is_an_error():
    with pytest.raises(OptionError, match=r"The 'references' parameter of selfcheck must name "
                                          r"references among 'itt_estimatr', 'itt_clubsandwich', 'power_pwr', "
                                          r"'power_statsmodels', 'power_powerupr', 'cace_estimatr', 'cace_linearmodels', "
                                          r"'did_card_krueger', 'did_estimatr', 'did_linearmodels', 'did_twfe_cr1', "
                                          r"'staggered_no_never'(, \.\.\. \(\d+ more\))?\. "
                                          r"Got 'itt_estimator' instead\. Did you mean 'itt_estimatr'\?"):
        sc.selfcheck(["itt_estimator"])


def test_cli_selfcheck(capsys, monkeypatch):
    assert main(["selfcheck", "itt_clubsandwich"]) == 0
    out = capsys.readouterr().out
    assert "dwp_eval selfcheck: PASSED" in out and "itt_clubsandwich: 15 cases" in out
    assert main(["selfcheck", "nope"]) == 2
    assert "dwp-eval selfcheck: error: The 'references' parameter" in capsys.readouterr().err
