"""Writing, reading and verifying an allocation, and catching every kind of tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dwp_eval as de
from dwp_eval.design import Allocation
from dwp_eval.errors import (
    AllocationExistsError,
    AllocationIntegrityError,
    ColumnError,
    OptionError,
    VerificationError,
)


def same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal values; the stratum categories of a read table are sorted as text."""
    pd.testing.assert_frame_equal(a, b, check_categorical=False)
    assert list(a["arm"].cat.categories) == list(b["arm"].cat.categories)


def flip_arm(path: Path, row: int) -> str:
    """Change the arm of data row ``row`` (0-based) in a written CSV; return its id."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row + 1].split(",")
    arm = header.index("arm")
    cells[arm] = "control" if cells[arm] == "treatment" else "treatment"
    lines[row + 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cells[header.index("id")]


@pytest.fixture
def written(tmp_path, people):
    alloc = de.randomise(people, strata="site", cluster="office", seed=20180501)
    path = tmp_path / "allocation.csv"
    alloc.write(path)
    return alloc, path


def test_write_read_verify_round_trip(written, people) -> None:
    alloc, path = written
    assert sorted(p.name for p in path.parent.iterdir()) == ["allocation.csv", "allocation.csv.audit.json"]
    back = Allocation.read(path)
    same_table(back.table, alloc.table)
    assert back.fingerprint == alloc.fingerprint
    assert back.seed == 20180501
    assert back.design == "stratified-cluster"
    back.verify(people)
    back.verify(people.iloc[::-1])  # row order does not matter
    log = json.loads((path.parent / "allocation.csv.audit.json").read_text())
    assert log["table_file"] == "allocation.csv"
    assert log["table_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "written" in log and "written" not in back.metadata


def test_write_returns_the_audit_path_and_creates_folders(tmp_path, people) -> None:
    alloc = de.randomise(people, seed=1)
    assert alloc.write(tmp_path / "a" / "b" / "alloc.csv") == tmp_path / "a" / "b" / "alloc.csv.audit.json"
    assert alloc.write(tmp_path / "noext") == tmp_path / "noext.audit.json"
    Allocation.read(tmp_path / "noext").verify(people)


def test_tampered_arm_is_caught_on_read_and_named_by_verify(written, people) -> None:
    _, path = written
    changed_id = flip_arm(path, row=17)
    with pytest.raises(AllocationIntegrityError, match=r"has changed since it was written: its SHA-256 is [0-9a-f]{16}\.\.\., the audit log recorded [0-9a-f]{16}"):
        Allocation.read(path)
    loose = Allocation.read(path, check_integrity=False)
    with pytest.raises(
        VerificationError,
        match=rf"1 person\(s\) have an arm that the recorded seeds do not reproduce \({changed_id}: table '\w+', re-drawn '\w+'\)",
    ):
        loose.verify(people)


def test_tampered_table_with_a_matching_checksum_still_fails_verify(written, people) -> None:
    # someone edits the table AND updates the checksum in the log: the log's own
    # hash catches it on reading, and verify names the row when forced to load it
    _, path = written
    changed_id = flip_arm(path, row=3)
    log_path = path.parent / "allocation.csv.audit.json"
    log = json.loads(log_path.read_text())
    log["table_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    log_path.write_text(json.dumps(log))
    with pytest.raises(AllocationIntegrityError, match=r"allocation\.csv\.audit\.json has been edited since it was written: its contents no longer match the SHA-256 recorded in it \(log_sha256\)\. Fix: restore"):
        Allocation.read(path)
    forged = Allocation.read(path, check_integrity=False)
    with pytest.raises(VerificationError, match=rf"\({changed_id}: table"):
        forged.verify(people)


def test_tampered_probability_fails_verify(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    de.randomise(people, seed=1).write(path)
    path.write_text(path.read_text().replace(",0.5,0.5\n", ",0.4,0.6\n", 1))
    with pytest.raises(VerificationError, match=r"column 'prob_control' does not hold the design probability 0\.5 for every person"):
        Allocation.read(path, check_integrity=False).verify(people)


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda log: log["batches"][0]["seed"].update(seed=20180502), VerificationError, r"the audit log's commitment [0-9a-f]{16}\.\.\. is not the SHA-256 of its design, first seed and people"),
        (lambda log: log["batches"][0].update(fingerprint="0" * 64), VerificationError, r"batch 0's people match the log but some of their values in columns 'id', 'site', 'office' have changed"),
        (lambda log: log.update(fingerprint="f" * 64), VerificationError, r"does not match its batches; the audit log has been edited"),
        (lambda log: log["design"]["arms"].update(treatment=2), VerificationError, r"the audit log's arm ratios \{'control': 1\.0, 'treatment': 2\.0\} do not reduce to its whole-number weights \[1, 1\]; the audit log has been edited"),
        (lambda log: log["design"].update(weights=[1, 2]), VerificationError, r"do not reduce to its whole-number weights \[1, 2\]"),
        (lambda log: log.update(commitment="0" * 64), VerificationError, r"the audit log's commitment 0{16}\.\.\. is not the SHA-256 of its design, first seed and people"),
    ],
)  # fmt: skip
def test_tampered_audit_log(written, people, edit, error, message) -> None:
    # every edit breaks the log's own hash on reading; forced past it, verify
    # still finds what the edit changed
    _, path = written
    log_path = path.parent / "allocation.csv.audit.json"
    log = json.loads(log_path.read_text())
    edit(log)
    log_path.write_text(json.dumps(log))
    with pytest.raises(AllocationIntegrityError, match=r"has been edited since it was written|does not continue the batch chain"):
        Allocation.read(path)
    with pytest.raises(error, match=message):
        Allocation.read(path, check_integrity=False).verify(people)


def test_log_with_an_edited_table_checksum_or_format(written) -> None:
    _, path = written
    log_path = path.parent / "allocation.csv.audit.json"
    log = json.loads(log_path.read_text())
    log_path.write_text(json.dumps({**log, "table_sha256": "0" * 64}))
    with pytest.raises(AllocationIntegrityError, match=r"has been edited since it was written"):
        Allocation.read(path)
    log_path.write_text(json.dumps({**log, "format": "something/2"}))
    with pytest.raises(OptionError, match=r"is not a dwp_eval allocation log \(format 'something/2', expected 'dwp_eval\.allocation/2'\)"):
        Allocation.read(path)


def test_writing_twice_is_refused_and_leaves_files_byte_identical(written) -> None:
    alloc, path = written
    log_path = path.parent / "allocation.csv.audit.json"
    before = (path.read_bytes(), log_path.read_bytes())
    other = de.randomise(alloc.table.rename(columns={"cluster": "office"}), seed=2)
    with pytest.raises(AllocationExistsError, match=r"already exist\(s\); an allocation is never overwritten by accident\. Fix: write to a new path, or pass overwrite=True"):
        other.write(path)
    with pytest.raises(FileExistsError):
        alloc.write(path)
    assert (path.read_bytes(), log_path.read_bytes()) == before
    # a leftover audit log alone also blocks writing
    path.unlink()
    with pytest.raises(AllocationExistsError, match=r"allocation\.csv\.audit\.json already exist"):
        alloc.write(path)
    assert not path.exists()


def test_overwrite_replaces_and_logs_what_it_replaced(written, people) -> None:
    _, path = written
    old_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    new = de.randomise(people, strata="site", cluster="office", seed=7)
    new.write(path, overwrite=True)
    back = Allocation.read(path)
    same_table(back.table, new.table)
    (replaced,) = back.metadata["replaced"]
    assert replaced["table_sha256"] == old_sha
    assert "at" in replaced
    # the replaced allocation can be recognised: its fingerprint and seeds are kept
    old = written[0]
    assert replaced["fingerprint"] == old.fingerprint
    assert replaced["seeds"] == [b["seed"] for b in old.metadata["batches"]]
    back.verify(people)


def test_generator_seed_is_recorded_as_state_and_verifies(tmp_path, people) -> None:
    alloc = de.randomise(people, strata="benefit", seed=np.random.default_rng(5))
    path = tmp_path / "g.csv"
    alloc.write(path)
    log = json.loads((tmp_path / "g.csv.audit.json").read_text())
    seed = log["batches"][0]["seed"]
    assert seed["kind"] == "generator" and seed["bit_generator"] == "PCG64"
    assert seed["state"] == np.random.default_rng(5).bit_generator.state
    back = Allocation.read(path)
    back.verify(people)
    assert back.seed == seed
    assert "seed PCG64 state" in back.summary()


@pytest.mark.parametrize(
    "ids",
    [
        [f"P{k:05d}" for k in range(40)],  # text
        [f"{k:03d}" for k in range(40)],  # text with leading zeros
        ["NA", "null", "", "None", *[str(k) for k in range(36)]],  # text pandas would read as missing
        list(range(-20, 20)),  # integers, some negative
        [2**40 + k for k in range(40)],  # large integers
    ],
)
def test_id_types_survive_the_round_trip(tmp_path, ids) -> None:
    data = pd.DataFrame({"id": ids, "site": ["a", "b"] * 20})
    if isinstance(ids[0], str):
        data["id"] = data["id"].astype(object)
    alloc = de.randomise(data, strata="site", seed=3)
    alloc.write(tmp_path / "ids.csv")
    back = Allocation.read(tmp_path / "ids.csv")
    assert back.table["id"].tolist() == alloc.table["id"].tolist()
    assert sorted(back.table["id"].tolist(), key=str) == sorted(ids, key=str)
    back.verify(data)


def test_integer_ids_read_back_as_integers(written) -> None:
    _, path = written
    back = Allocation.read(path)
    assert back.table["id"].dtype == np.int64
    assert back.metadata["id_kind"] == "int"


def test_verify_with_missing_or_extra_people(written, people) -> None:
    _, path = written
    back = Allocation.read(path)
    first = int(back.table["id"].iloc[0])
    with pytest.raises(
        VerificationError,
        match=rf"the data do not hold the people allocated: 1 allocated id\(s\) are missing from the data \(e\.g\. {first}\)",
    ):
        back.verify(people[people["id"] != first])
    extra = pd.concat([people, people.iloc[[0]].assign(id=999_999)])
    # only the problem that occurred is described (no empty "(e.g. )")
    with pytest.raises(VerificationError, match=r"allocated: 1 id\(s\) in the data were never allocated \(e\.g\. 999999\)\. Fix: pass exactly the participants file") as info:
        back.verify(extra)
    assert "e.g. )" not in str(info.value) and "missing" not in str(info.value)
    both = pd.concat([people[people["id"] != first], people.iloc[[0]].assign(id=999_999)])
    with pytest.raises(VerificationError, match=rf"1 allocated id\(s\) are missing from the data \(e\.g\. {first}\) and 1 id\(s\) in the data were never allocated \(e\.g\. 999999\)"):
        back.verify(both)


def test_verify_with_changed_strata_or_cluster(written, people) -> None:
    alloc, _ = written
    moved = people.copy()
    moved.loc[moved.index[0], "site"] = "north" if moved["site"].iloc[0] != "north" else "south"
    moved.loc[moved.index[0], "office"] = "xx-1"
    with pytest.raises(VerificationError, match=r"batch 0's people match the log but some of their values in columns 'id', 'site', 'office' have changed since allocation"):
        alloc.verify(moved)
    with pytest.raises(ColumnError, match=r"Allocation\.verify: column 'site' \(strata\) is not in the data.*Columns present: 'id'"):
        alloc.verify(people.drop(columns="site"))


def test_verify_accepts_ids_read_as_text(written, people) -> None:
    alloc, _ = written
    alloc.verify(people.assign(id=people["id"].astype(str)))


def test_read_missing_files(tmp_path) -> None:
    with pytest.raises(OptionError, match=r"nothing\.csv does not exist\. An allocation is read from the table written by Allocation\.write"):
        Allocation.read(tmp_path / "nothing.csv")


def test_table_is_a_copy_and_the_allocation_is_frozen(people) -> None:
    alloc = de.randomise(people, seed=1)
    snapshot = alloc.table
    changed = alloc.table
    changed.loc[:, "arm"] = "control"
    changed["prob_control"] = 0.0
    pd.testing.assert_frame_equal(alloc.table, snapshot)
    pd.testing.assert_frame_equal(alloc.to_frame(), snapshot)
    with pytest.raises(dataclasses.FrozenInstanceError):
        alloc.seed = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        alloc._table = changed  # type: ignore[misc]
    meta = alloc.metadata
    meta["design"]["arms"]["control"] = 5
    assert alloc.metadata["design"]["arms"]["control"] == 1


def test_read_restores_dtypes(written) -> None:
    alloc, path = written
    back = Allocation.read(path).table
    assert back["arm"].dtype == "category"
    assert list(back["arm"].cat.categories) == ["control", "treatment"]
    assert back["stratum"].dtype == "category"
    assert back["cluster"].tolist() == alloc.table["cluster"].tolist()
    assert back["prob_treatment"].dtype == np.float64


def test_extended_allocation_round_trip(tmp_path, people) -> None:
    # a complete first batch has no block; the rows of a rolling batch do
    first = de.randomise(people.iloc[:150], strata="site", seed=1)
    ext = first.extend(people.iloc[150:], seed=2)
    ext.write(tmp_path / "ext.csv")
    back = Allocation.read(tmp_path / "ext.csv")
    same_table(back.table, ext.table)
    assert back.table["block"].dtype == "Int64"
    assert back.table["block"].isna().sum() == 150
    back.verify(people)
    assert re.search(r"batch 1: 90 people, permuted blocks, seed 2", back.summary())
