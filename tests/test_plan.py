"""Pre-specified analysis plans: reading, validation, fingerprints."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dwp_eval.datasets.plans import whp_plan
from dwp_eval.errors import ColumnError, DwpEvalError
from dwp_eval.report.plan import AnalysisPlan, PlanError

MINIMAL = """
[design]
assigned = "arm"
strata = "stratum"

[outcomes]
primary = ["employed_13_weeks"]
secondary = ["earnings"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "plan.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_read_gives_the_defaults_and_the_files_sha256(tmp_path: Path) -> None:
    p = _write(tmp_path, MINIMAL)
    plan = AnalysisPlan.read(p)
    assert plan.fingerprint == hashlib.sha256(p.read_bytes()).hexdigest()
    assert plan.primary == ("employed_13_weeks",)
    assert plan.secondary == ("earnings",)
    assert plan.outcomes == ("employed_13_weeks", "earnings")
    assert (plan.correction, plan.families, plan.alpha, plan.adjustment) == ("holm", "by_role", 0.05, "lin")
    assert plan.design["control"] == "control"
    assert plan.family_map() == {"primary": ["employed_13_weeks"], "secondary": ["earnings"]}
    assert plan.source == str(p)
    assert "employed_13_weeks" in plan.summary()


def test_a_changed_plan_has_another_fingerprint(tmp_path: Path) -> None:
    a = AnalysisPlan.read(_write(tmp_path, MINIMAL)).fingerprint
    b = AnalysisPlan.read(_write(tmp_path, MINIMAL.replace("earnings", "earnings_12m"))).fingerprint
    assert a != b


def test_from_dict_matches_the_file() -> None:
    raw = tomllib.loads(MINIMAL)
    plan = AnalysisPlan.from_dict(raw)
    assert plan.primary == ("employed_13_weeks",)
    assert len(plan.fingerprint) == 64
    assert AnalysisPlan.from_dict(raw).fingerprint == plan.fingerprint


def test_the_example_plan_reads() -> None:
    plan = AnalysisPlan.from_dict(tomllib.loads(whp_plan()))
    assert plan.cace and plan.subgroups == ("health_condition",)
    assert plan.disclosure.min_count == 10 and plan.disclosure.round_to == 5
    assert plan.se_type == "HC2"


def _bad(raw_text: str) -> str:
    return MINIMAL + "\n" + raw_text


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[analysis]\ncovarates = ['age']", r"\[analysis\] has an unknown key 'covarates'.*Did you mean 'covariates'"),
        ("[anaylsis]\nalpha = 0.1", r"unknown section \[anaylsis\].*Did you mean \[analysis\]"),
        ("[multiplicity]\ncorrection = 'holmes'", r"'correction' parameter of analysis plan \[multiplicity\] must be one of.*Did you mean 'holm'"),
        ("[analysis]\nalpha = 1.5", r"alpha must be in \(0, 1\)"),
        ("[analysis]\nalpha = 'x'", r"\[analysis\] alpha has the wrong type"),
        ("[analysis]\ncace = true", r"asks for the CACE .* names no 'received' column"),
        ("[multiplicity]\ncorrection = 'romano_wolf'", "gives no seed"),
        ("[subgroups]\nby = ['sex']\noutcomes = ['wages']", r"\[subgroups\] outcomes names 'wages'"),
        ("[analysis]\nse_type = 'HC9'", "se_type"),
        ("[analysis]\ncovariates = 'age'\nadjustment = 'linn'", "'adjustment' parameter"),
    ],
)
def test_bad_plans_are_refused_with_a_clear_message(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DwpEvalError, match=match):
        AnalysisPlan.read(_write(tmp_path, _bad(text)))


def test_an_outcome_listed_twice_is_refused(tmp_path: Path) -> None:
    twice = MINIMAL.replace('secondary = ["earnings"]', 'secondary = ["earnings", "earnings"]')
    with pytest.raises(PlanError, match=r"\[outcomes\] secondary lists 'earnings' twice"):
        AnalysisPlan.read(_write(tmp_path, twice))
    both = MINIMAL.replace('secondary = ["earnings"]', 'secondary = ["employed_13_weeks"]')
    with pytest.raises(PlanError, match="as both a primary and a secondary outcome"):
        AnalysisPlan.read(_write(tmp_path, both))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"outcomes": {"primary": ["y"]}}, "must name the 'assigned' column"),
        ({"design": {"assigned": "arm"}}, "at least one primary outcome"),
        ({"design": {"assigned": "arm"}, "outcomes": {"primary": [1]}}, "must be a list of column names"),
        ({"design": {"assigned": 3}, "outcomes": {"primary": ["y"]}}, "must be a column name or label"),
        ({"design": "arm"}, r"\[design\] must be a table of keys"),
    ],
)
def test_bad_mappings(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(PlanError, match=match):
        AnalysisPlan.from_dict(raw)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="does not exist"):
        AnalysisPlan.read(tmp_path / "nope.toml")
    with pytest.raises(PlanError, match="is not valid TOML"):
        AnalysisPlan.read(_write(tmp_path, "[design\nassigned = 'arm'"))


def test_check_data_names_the_missing_column_and_the_ones_there() -> None:
    plan = AnalysisPlan.from_dict(tomllib.loads(MINIMAL))
    data = pd.DataFrame({"arm": ["control"], "stratum": [1], "employed_13_weeks": [0], "earning": [1.0]})
    with pytest.raises(ColumnError, match=r"names 'earnings' \(\[outcomes\]\).*Did you mean 'earning'"):
        plan.check_data(data)
    plan.check_data(data.rename(columns={"earning": "earnings"}))  # complete: no error


def test_families_all_puts_every_outcome_in_one_family() -> None:
    raw = tomllib.loads(MINIMAL)
    raw["multiplicity"] = {"families": "all"}
    assert AnalysisPlan.from_dict(raw).family_map() == {"all outcomes": ["employed_13_weeks", "earnings"]}


def test_the_plan_is_immutable() -> None:
    plan = AnalysisPlan.from_dict(tomllib.loads(MINIMAL))
    with pytest.raises(AttributeError):
        plan.alpha = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.design["assigned"] = "x"  # type: ignore[index]


def test_numeric_control_label_runs_the_report_on_a_float_arm_column() -> None:
    # old: "[design] control must be a column name or label (text). Got 0 instead.";
    # the report compared text ("0.0" != "0") and its impact line read "being offered 1"
    import numpy as np
    import pandas as pd

    from dwp_eval.report.report import analyse

    rng = np.random.default_rng(2)
    n = 400
    data = pd.DataFrame({"id": range(n), "z": np.tile([0.0, 1.0], n // 2), "y": rng.normal(size=n)})
    plan = AnalysisPlan.from_dict(tomllib.loads(
        '[design]\nassigned = "z"\ncontrol = 0\n[outcomes]\nprimary = ["y"]\n'))
    assert plan.design["control"] == "0"
    rep = analyse(data, plan)
    text = rep.to_markdown()
    assert ("Effect of assignment to treatment (z = 1) rather than control (z = 0) on every "
            "pre-specified outcome") in text
