"""ACRO (the output checker of UK trusted research environments) re-checks the report's
published tables on the trial data, from the record written beside the HTML, and finds
no flag the published tables leave unresolved.

``acro`` is an optional dependency (the ``sdc`` extra): it pulls lxml, rdflib, PyYAML and
tabulate, so it is not in the test extra and these tests skip without it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dwp_eval.report.report import analyse
from small_cells import small_cell_plan, small_cell_trial
from test_report import _plan, _trial

pytest.importorskip("acro", reason="acro is not installed (pip install 'dwp_eval[sdc]')")

from dwp_eval.report.acro import acro_check

pytestmark = pytest.mark.filterwarnings("ignore")


def _flags(data: pd.DataFrame, plan, tmp_path: Path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyse(data, plan)
    out = report.write(html=tmp_path / "report.html")
    assert out["record"] == tmp_path / "report.acro.json"
    record = json.loads(out["record"].read_text(encoding="utf-8"))
    assert record["plan_sha256"] == report.fingerprint
    return acro_check(out["record"], data)


def test_acro_finds_nothing_unresolved_in_a_small_cell_trial(tmp_path: Path) -> None:
    data = small_cell_trial()
    flags = _flags(data, small_cell_plan(suppress_zero=True), tmp_path)
    assert len(flags) >= 10  # ACRO does flag the small cells ...
    assert {"MinimumThresholdCheck", "NKCheck"} <= set(
        " ".join(flags["check"]).replace(";", " ").split())
    assert flags["resolved"].all(), flags[~flags["resolved"]].to_string()  # ... all withheld


def test_with_zeros_published_the_only_acro_flags_left_are_zeros(tmp_path: Path) -> None:
    # the one documented difference: ACRO treats zeros as disclosive, the default rules
    # (GSS practice) publish true zeros
    flags = _flags(small_cell_trial(), small_cell_plan(), tmp_path)
    left = flags[~flags["resolved"]]
    assert len(left) >= 1
    assert left["check"].str.contains("PresenceOfZeroCheck").all()


def test_acro_finds_nothing_unresolved_in_the_demo_report(tmp_path: Path) -> None:
    data = _trial()
    flags = _flags(data, _plan(disclosure={"suppress_zero": True}), tmp_path)
    assert flags["resolved"].all(), flags[~flags["resolved"]].to_string()


def test_acro_re_checks_the_flow_and_balance_tables(tmp_path: Path) -> None:
    # the small-cell trial of the disclosure attacker: 4 control people receive the
    # programme, a rare baseline condition (3 control people), small follow-up losses
    from test_disclosure_outputs import outputs_plan, outputs_trial

    data = outputs_trial()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyse(data, outputs_plan())
    out = report.write(html=tmp_path / "report.html")
    record = json.loads(out["record"].read_text(encoding="utf-8"))
    tables = {c["table"] for c in record["calls"]}
    assert {"flow", "balance"} <= tables
    # every flow cell a call maps is the count the flow table reports (before control)
    truth = report.results["flow"].to_frame()
    for call in (c for c in record["calls"] if c["table"] == "flow"):
        column = call["columns"][0]
        for cell in call["cells"]:
            arm = cell["index"][0]
            n = int((data.loc[data["arm"].astype(str) == arm, column].astype(int).astype(str)
                     == cell["column"]).sum())
            assert n == int(truth["count"].iloc[cell["row"]]), (column, cell)
    flags = acro_check(out["record"], data)
    for table in ("flow", "balance"):
        mine = flags[flags["table"] == table]
        assert len(mine) >= 1, table  # ACRO does flag their small cells ...
        assert mine["resolved"].all(), mine.to_string()  # ... and they are withheld
