"""``datasets.jtpa`` and ``datasets.jtpa_mhe_table``: the JTPA data shipped in the package."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from dwp_eval.datasets import jtpa, jtpa_mhe_table
from dwp_eval.errors import ColumnError, OptionError
from shared_data import shared_file

ROOT = Path(__file__).resolve().parents[1]
DATA = resources.files("dwp_eval").joinpath("datasets/data")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_shipped_files_match_their_provenance() -> None:
    provenance = DATA.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    for name in ("jtpa.dta", "jtpa_mhe_table_4_4_1.csv"):
        row = next(line for line in provenance.splitlines() if line.startswith(f"| `{name}`"))
        recorded = re.findall(r"\b[0-9a-f]{64}\b", row)
        assert recorded == [_sha256(DATA.joinpath(name).read_bytes())], name


def test_published_table_is_the_reference_copy() -> None:
    shipped = DATA.joinpath("jtpa_mhe_table_4_4_1.csv").read_bytes()
    assert shipped == (ROOT / "tests/reference/itt/jtpa_mhe_table_4_4_1.csv").read_bytes()
    table = jtpa_mhe_table()
    assert len(table) == 24 and set(table["sample"]) == {"men", "women"}


def test_jtpa_shape_and_samples() -> None:
    data = jtpa()
    assert data.shape == (11204, 18)
    assert data["sex"].value_counts().to_dict() == {0: 6102, 1: 5102}
    assert set(data["jtpa_offer"]) == {0, 1} and set(data["jtpa_training"]) == {0, 1}


def test_shipped_copy_is_the_shared_file() -> None:
    shared = shared_file("jtpa.dta")
    if not shared.exists():
        pytest.skip(f"{shared} not found (../shared/data/jtpa.dta)")
    assert DATA.joinpath("jtpa.dta").read_bytes() == shared.read_bytes()
    pd.testing.assert_frame_equal(jtpa(shared), jtpa())


def test_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"'path' parameter of jtpa\(\).*does not exist.*Fix"):
        jtpa(tmp_path / "nope.dta")


def test_not_a_stata_file(tmp_path: Path) -> None:
    bad = tmp_path / "jtpa.dta"
    bad.write_text("earnings,sex\n1,0\n", encoding="utf-8")
    with pytest.raises(OptionError, match=r"could not be read as a Stata file.*Fix"):
        jtpa(bad)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    short = tmp_path / "short.dta"
    jtpa().drop(columns=["afdc", "f2sms"]).to_stata(short, write_index=False)
    with pytest.raises(ColumnError, match=r"lacks the column\(s\) afdc, f2sms.*Fix"):
        jtpa(short)
