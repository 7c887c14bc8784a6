"""Attacks on a written allocation (issue 13, "an allocation that can be defended";
issue 19, ids that round trip): each test reproduces a case that passed, or
crashed with a foreign exception, before the audit log was hardened."""

from __future__ import annotations

import hashlib
import json
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
    OutputPathError,
    VerificationError,
)


def log_of(path: Path) -> Path:
    return path.with_name(path.name + ".audit.json")


def load(path: Path) -> dict:
    return json.loads(log_of(path).read_text(encoding="utf-8"))


def save(path: Path, log: dict) -> None:
    log_of(path).write_text(json.dumps(log, indent=2), encoding="utf-8")


@pytest.fixture
def written(tmp_path, people):
    alloc = de.randomise(people, strata="site", seed=20180501)
    path = tmp_path / "allocation.csv"
    alloc.write(path)
    return alloc, path


# ------------------------------------------------------------- the commitment


def test_commitment_is_returned_shown_and_verified(written, people) -> None:
    alloc, path = written
    assert len(alloc.commitment) == 64 and int(alloc.commitment, 16) >= 0
    assert f"commitment      {alloc.commitment}" in alloc.summary()
    assert "register it with the trial before anyone sees the allocation" in alloc.summary()
    back = Allocation.read(path)
    assert back.commitment == alloc.commitment
    back.verify(people, commitment=alloc.commitment)
    back.verify(people, commitment="SHA256:" + alloc.commitment.upper())
    with pytest.raises(OptionError, match=r"The 'commitment' parameter of Allocation\.verify must be the 64 hexadecimal digits of a SHA-256.*Got 'abc' instead"):
        back.verify(people, commitment="abc")


def test_commitment_depends_on_design_seed_and_people(people) -> None:
    base = de.randomise(people, strata="site", seed=1).commitment
    assert de.randomise(people.iloc[::-1], strata="site", seed=1).commitment == base
    assert de.randomise(people, strata="site", seed=2).commitment != base
    assert de.randomise(people, strata="benefit", seed=1).commitment != base
    assert de.randomise(people.iloc[1:], strata="site", seed=1).commitment != base


def test_a_consistent_re_randomisation_is_caught_by_the_registered_commitment(written, people) -> None:
    alloc, path = written
    registered = alloc.commitment
    # seed shopping after registration: draw again, replace both files, copy the timestamps
    other = de.randomise(people, strata="site", seed=99)
    other.write(path, overwrite=True)
    log = load(path)
    log.pop("replaced", None)
    log["created"] = alloc.metadata["created"]
    # the forger also rebuilds every hash the files carry
    from dwp_eval.design import _audit_log as audit

    log["batches"][0]["created"] = alloc.metadata["batches"][0]["created"]
    log["batches"][0]["chain"] = audit.batch_chain(log["commitment"], log["batches"][0])
    log["log_sha256"] = audit._log_digest(log)
    save(path, log)
    forged = Allocation.read(path)  # the files are self-consistent
    forged.verify(people)  # and reproduce themselves
    with pytest.raises(VerificationError, match=rf"this allocation does not match the registered commitment {registered[:16]}\.\.\.: its design, first seed and people hash to {other.commitment[:16]}\.\.\.\. It was drawn with another seed"):
        forged.verify(people, commitment=registered)


# ------------------------------------------------------------- every field is covered


@pytest.mark.parametrize(
    "edit",
    [
        lambda log: log["counts"].update(control=log["counts"]["control"] + 1),
        lambda log: log.update(n=log["n"] + 1),
        lambda log: log.update(created="2018-05-01T09:00:00+00:00"),
        lambda log: log["batches"][0].update(created="2018-05-01T09:00:00+00:00"),
        lambda log: log["library"].update(numpy="1.0.0"),
        lambda log: log.update(n_strata=7),
    ],
    ids=["counts", "n", "created", "batch-created", "versions", "n_strata"],
)
def test_edits_to_any_log_field_are_caught_on_read(written, edit) -> None:
    _, path = written
    log = load(path)
    edit(log)
    save(path, log)
    with pytest.raises(AllocationIntegrityError, match=r"allocation\.csv\.audit\.json has been edited since it was written: its contents no longer match the SHA-256 recorded in it"):
        Allocation.read(path)


def test_counts_edited_with_the_log_hash_recomputed_are_caught_against_the_table(written) -> None:
    from dwp_eval.design import _audit_log as audit

    _, path = written
    log = load(path)
    log["counts"]["control"] += 1
    log["n"] += 1
    log["log_sha256"] = audit._log_digest(log)
    save(path, log)
    with pytest.raises(AllocationIntegrityError, match=r"allocation\.csv and its audit log disagree: the log records n = 241 people, the table holds 240; the log records \d+ in arm 'control', the table \d+"):
        Allocation.read(path)


def _extended(tmp_path: Path, people: pd.DataFrame) -> tuple[Allocation, Path]:
    first = de.randomise(people.iloc[:150], strata="site", seed=1)
    ext = first.extend(people.iloc[150:200], seed=2).extend(people.iloc[200:], seed=3)
    path = tmp_path / "ext.csv"
    ext.write(path)
    return ext, path


def test_removing_a_later_batch_from_table_and_log_is_caught(tmp_path, people) -> None:
    _ext, path = _extended(tmp_path, people)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    kept = table[table["batch"] != "2"]
    kept.to_csv(path, index=False, lineterminator="\n")
    log = load(path)
    log["batches"] = log["batches"][:2]
    log["n"] = len(kept)
    log["counts"] = kept["arm"].value_counts().to_dict()
    log["fingerprint"] = de.design._engine.chain_fingerprint([b["fingerprint"] for b in log["batches"]])
    log["table_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    save(path, log)
    with pytest.raises(AllocationIntegrityError, match=r"ext\.csv\.audit\.json has been edited since it was written"):
        Allocation.read(path)


def test_a_removed_or_reordered_batch_breaks_the_chain(tmp_path, people) -> None:
    from dwp_eval.design import _audit_log as audit

    _, path = _extended(tmp_path, people)
    log = load(path)
    del log["batches"][1]
    log["batches"][1]["batch"] = 1
    log["log_sha256"] = audit._log_digest(log)
    save(path, log)
    with pytest.raises(AllocationIntegrityError, match=r"batch 1's record does not continue the batch chain \(a batch was edited, removed or reordered\)"):
        Allocation.read(path)


def test_each_batch_links_to_the_one_before(tmp_path, people) -> None:
    from dwp_eval.design import _audit_log as audit

    ext, _ = _extended(tmp_path, people)
    batches = ext.metadata["batches"]
    previous = ext.commitment
    for b in batches:
        assert b["chain"] == audit.batch_chain(previous, b)
        previous = b["chain"]
    assert len({b["chain"] for b in batches}) == 3


# ------------------------------------------------------------- file names and writes


def test_sidecar_names_do_not_collide(tmp_path, people) -> None:
    a = de.randomise(people, strata="site", seed=1)
    a.write(tmp_path / "a.csv")
    de.randomise(people, seed=2).write(tmp_path / "a.txt", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.csv", "a.csv.audit.json", "a.txt", "a.txt.audit.json",
    ]
    back = Allocation.read(tmp_path / "a.csv")
    assert back.commitment == a.commitment
    back.verify(people)


def test_an_old_style_sidecar_is_refused_with_the_reason(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    de.randomise(people, seed=1).write(path)
    log_of(path).rename(tmp_path / "a.audit.json")
    with pytest.raises(OptionError, match=r"a\.csv\.audit\.json does not exist\. .*a\.audit\.json is a log named the way dwp_eval 0\.x named it, which two tables \(a\.csv, a\.txt\) could share, so it is not read\. Fix: re-create"):
        Allocation.read(path)


@pytest.mark.parametrize("linked", ["table", "log"])
def test_overwrite_never_follows_a_symlink(tmp_path, people, linked) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    path = tmp_path / "a.csv"
    (path if linked == "table" else log_of(path)).symlink_to(precious)
    with pytest.raises(OutputPathError, match=r"is a symbolic link; outputs are never written through a link .* Fix: write to the real path"):
        de.randomise(people, seed=1).write(path, overwrite=True)
    assert precious.read_text() == "keep me\n"
    assert not (path if linked == "log" else log_of(path)).exists()  # nothing written


def test_a_dangling_symlink_is_refused_too(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    path.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(OutputPathError, match=r"is a symbolic link"):
        de.randomise(people, seed=1).write(path, overwrite=True)
    assert not (tmp_path / "elsewhere.csv").exists()


def test_a_failed_write_leaves_no_temporary_files(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    de.randomise(people, seed=1).write(path)
    with pytest.raises(AllocationExistsError):
        de.randomise(people, seed=2).write(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.csv.audit.json"]


# ------------------------------------------------------------- damaged files


def _damage_log(path: Path, how: str) -> None:
    lp = log_of(path)
    text = lp.read_text(encoding="utf-8")
    log = json.loads(text)
    if how == "truncated":
        lp.write_text(text[: len(text) // 2], encoding="utf-8")
    elif how == "empty":
        lp.write_bytes(b"")
    elif how == "not-utf8":
        lp.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    elif how == "list":
        lp.write_text(json.dumps([log]), encoding="utf-8")
    elif how == "no-design":
        del log["design"]
        save(path, log)
    elif how == "no-batches":
        del log["batches"]
        save(path, log)
    elif how == "seed-text":
        log["batches"][0]["seed"]["seed"] = "20180501"
        save(path, log)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", r"is damaged: it is not complete JSON"),
        ("empty", r"is damaged: it is empty"),
        ("not-utf8", r"is damaged: it is not UTF-8 text"),
        ("list", r"is damaged: it holds a JSON list, not the audit-log object"),
        ("no-design", r"is damaged: its 'design' entry is missing or not a JSON dict"),
        ("no-batches", r"is damaged: its 'batches' entry is missing or not a JSON list"),
        ("seed-text", r"is damaged: batch 0's seed is \{'kind': 'int', 'seed': '20180501'\}, not a recorded int seed or generator state"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("check_integrity", [True, False])
def test_damaged_audit_logs_raise_a_pinned_integrity_error(written, how, message, check_integrity) -> None:
    _, path = written
    _damage_log(path, how)
    with pytest.raises(AllocationIntegrityError, match=r"allocation\.csv\.audit\.json " + message + r".*Fix: restore the audit log and table exactly as Allocation\.write left them"):
        Allocation.read(path, check_integrity=check_integrity)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.drop(columns="id"), r"allocation\.csv has no 'id' column \(it holds 'arm', 'stratum'"),
        (lambda t: t.drop(columns="arm"), r"allocation\.csv has no 'arm' column"),
        (lambda t: t.assign(arm=t["arm"].replace("treatment", "treatmnet")), r"allocation\.csv's 'arm' column holds \['treatmnet'\], not an arm of the design \('control', 'treatment'\)"),
        (lambda t: t.assign(id=t["id"].where(t.index != 0, "x7")), r"allocation\.csv holds a value that is not of its recorded type"),
    ],
    ids=["no-id", "no-arm", "unknown-arm", "id-type"],
)  # fmt: skip
def test_damaged_tables_raise_a_pinned_integrity_error(written, edit, message) -> None:
    _, path = written
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(table).to_csv(path, index=False, lineterminator="\n")
    with pytest.raises(AllocationIntegrityError, match=r"has changed since it was written"):
        Allocation.read(path)
    with pytest.raises(AllocationIntegrityError, match=message + r".*Fix: restore"):
        Allocation.read(path, check_integrity=False)


def test_an_empty_or_binary_table_is_a_pinned_integrity_error(written) -> None:
    _, path = written
    path.write_bytes(b"")
    with pytest.raises(AllocationIntegrityError, match=r"allocation\.csv is not a readable allocation table"):
        Allocation.read(path, check_integrity=False)
    path.write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(AllocationIntegrityError, match=r"allocation\.csv is not a readable allocation table"):
        Allocation.read(path, check_integrity=False)


# ------------------------------------------------------------- verify every column


def test_verify_checks_the_stratum_column(written, people) -> None:
    _, path = written
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(table["stratum"] == "north")[0])
    table.loc[i, "stratum"] = "south"
    table.to_csv(path, index=False, lineterminator="\n")
    with pytest.raises(VerificationError, match=rf"column 'stratum' differs from the re-drawn allocation for 1 person\(s\) \(e\.g\. {table['id'][i]}: table 'south', re-drawn 'north'\)"):
        Allocation.read(path, check_integrity=False).verify(people)


def test_verify_checks_the_cluster_and_batch_columns(tmp_path, people) -> None:
    path = tmp_path / "c.csv"
    de.randomise(people, cluster="office", seed=4).write(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    same_arm = table[table["arm"] == table["arm"].iloc[0]]["cluster"].unique()
    other = next(c for c in same_arm if c != table["cluster"].iloc[0])
    table.loc[0, "cluster"] = other
    table.to_csv(path, index=False, lineterminator="\n")
    with pytest.raises(VerificationError, match=r"column 'cluster' differs from the re-drawn allocation for 1 person"):
        Allocation.read(path, check_integrity=False).verify(people)


# ------------------------------------------------------------- labels


def test_strata_labels_containing_the_separator_do_not_collide(tmp_path) -> None:
    data = pd.DataFrame({
        "id": range(40),
        "a": ["x|y", "x"] * 20,
        "b": ["z", "y|z"] * 20,
    })
    alloc = de.randomise(data, strata=["a", "b"], seed=1)
    assert alloc.metadata["n_strata"] == 2
    assert sorted(alloc.table["stratum"].astype(str).unique()) == ["x\\|y|z", "x|y\\|z"]
    counts = alloc.counts()
    assert counts.shape == (2, 2) and (counts.to_numpy() == 10).all()
    alloc.write(tmp_path / "s.csv")
    Allocation.read(tmp_path / "s.csv").verify(data)


def test_strata_labels_with_backslashes_stay_distinct() -> None:
    data = pd.DataFrame({"id": range(40), "a": ["x\\", "x"] * 20, "b": ["|y", "\\|y"] * 20})
    assert de.randomise(data, strata=["a", "b"], seed=1).metadata["n_strata"] == 2


PAYLOADS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "'quoted", "plain"]


def test_labels_are_escaped_against_formula_injection_and_restored(tmp_path) -> None:
    data = pd.DataFrame({
        "id": [f"{p}{k}" for k in range(5) for p in PAYLOADS],
        "site": PAYLOADS * 5,
        "office": [f"={k % 8}-{(k // 8) % 2}" for k in range(40)],
    })
    arms = {"=cmd|' /C calc'!A0": 1, "control": 1}
    alloc = de.randomise(data, strata="site", cluster="office", arms=arms, seed=1)
    path = tmp_path / "inj.csv"
    alloc.write(path)
    raw = path.read_text(encoding="utf-8")
    body = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("id", "arm", "stratum", "cluster"):
        assert not body[col].str.match(r"^[=+\-@\t\r]").any(), col
    assert "'=HYPERLINK" in raw and "'@SUM" in raw and "''quoted" in raw
    back = Allocation.read(path)
    pd.testing.assert_frame_equal(back.table, alloc.table, check_categorical=False)
    assert sorted(back.table["stratum"].unique()) == sorted(PAYLOADS)
    back.verify(data)


# ------------------------------------------------------------- ids round trip (issue 19)


def _ids(kind: str) -> pd.Series:
    n = 40
    if kind == "int":
        return pd.Series(np.arange(n, dtype=np.int64) * 3 - 50)
    if kind == "int32":
        return pd.Series(np.arange(n, dtype=np.int32))
    if kind == "float-after-blank":
        return pd.read_csv(__import__("io").StringIO("id\n" + "\n".join(str(k) for k in range(n)) + "\n\n"))["id"].dropna()
    if kind == "uint64-big":
        return pd.Series(np.uint64(2**63) + np.arange(n, dtype=np.uint64) * np.uint64(7))
    if kind == "str":
        return pd.Series([f"P{k:04d}" for k in range(n)], dtype=object)
    if kind == "string":
        return pd.Series([f"P{k:04d}" for k in range(n)], dtype="string")
    if kind == "datetime":
        return pd.Series(pd.date_range("2020-01-01", periods=n, freq="37min"))
    if kind == "datetime-ns":
        return pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(n), unit="ns"))
    if kind == "datetime-tz":
        return pd.Series(pd.date_range("2020-03-29 00:00", periods=n, freq="5min", tz="Europe/London"))
    if kind == "categorical":
        return pd.Series([f"c{k}" for k in range(n)], dtype="category")
    if kind == "categorical-int":
        return pd.Series(range(100, 100 + n), dtype="category")
    if kind == "Int64":
        return pd.Series(range(n), dtype="Int64")
    if kind == "UInt64-big":
        return pd.Series([2**64 - 1 - k for k in range(n)], dtype="UInt64")
    raise AssertionError(kind)


ID_KINDS = ["int", "int32", "float-after-blank", "uint64-big", "str", "string", "datetime",
            "datetime-ns", "datetime-tz", "categorical", "categorical-int", "Int64", "UInt64-big"]


@pytest.mark.parametrize("kind", ID_KINDS)
def test_every_id_type_round_trips_with_its_dtype(tmp_path, kind) -> None:
    ids = _ids(kind).reset_index(drop=True)
    data = pd.DataFrame({"id": ids, "site": ["a", "b"] * 20})
    alloc = de.randomise(data, strata="site", seed=3)
    assert alloc.table["id"].dtype == ids.dtype
    path = tmp_path / "ids.csv"
    alloc.write(path)
    back = Allocation.read(path)
    assert back.metadata["id_dtype"]["dtype"] in str(ids.dtype) or kind.startswith("categorical")
    assert back.table["id"].dtype == alloc.table["id"].dtype or kind.startswith("categorical")
    if kind.startswith("categorical"):
        assert isinstance(back.table["id"].dtype, pd.CategoricalDtype)
    assert back.table["id"].tolist() == alloc.table["id"].tolist()
    back.verify(data)
    back.verify(data.iloc[::-1])


def test_extend_keeps_the_id_dtype(tmp_path) -> None:
    ids = _ids("uint64-big")
    data = pd.DataFrame({"id": ids, "site": ["a", "b"] * 20})
    first = de.randomise(data.iloc[:20], strata="site", method="permuted_blocks", seed=3)
    ext = first.extend(data.iloc[20:], seed=4)
    assert ext.table["id"].dtype == np.uint64
    ext.write(tmp_path / "e.csv")
    back = Allocation.read(tmp_path / "e.csv")
    assert back.table["id"].tolist() == ext.table["id"].tolist()
    back.verify(data)


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (pd.Series([1, "1a", *range(2, 40)], dtype=object), r"column 'id' \(id\) holds values of mixed types such as 1 \(int\) among text, which would not read back as they were\. Fix: convert the column to one type first"),
        (pd.Series(pd.to_timedelta(range(40), unit="s")), r"column 'id' \(id\) has dtype timedelta64\[\w+\], which an allocation file cannot store exactly\. Fix: use integer, text or datetime ids"),
    ],
)  # fmt: skip
def test_id_types_that_cannot_round_trip_are_refused_up_front(ids, message) -> None:
    data = pd.DataFrame({"id": ids, "site": ["a", "b"] * 20})
    with pytest.raises(ColumnError, match=message):
        de.randomise(data, seed=1)


# ------------------------------------------------------------- exact ratios (issue 19, item 7)


def test_a_tiny_ratio_is_refused_not_rounded_to_zero(people) -> None:
    with pytest.raises(OptionError, match=r"The 'arms' parameter of randomise gives ratios 1:1e-09, which cannot be honoured exactly: .*arm 'treatment' would get probability 0 or a rounded one\)\. Fix: use simple ratios"):
        de.randomise(people, arms={"control": 1, "treatment": 1e-9}, seed=1)


@pytest.mark.parametrize(
    ("arms", "probs"),
    [
        ({"control": 1, "treatment": 1 / 3}, (0.75, 0.25)),
        ({"control": 0.1, "treatment": 0.2}, (1 / 3, 2 / 3)),
        ({"control": 1, "treatment": 1e-3}, (1000 / 1001, 1 / 1001)),
    ],
)
def test_ratios_are_exact_rationals(people, arms, probs) -> None:
    alloc = de.randomise(people, arms=arms, seed=1)
    got = tuple(alloc.table[f"prob_{a}"].iloc[0] for a in arms)
    assert got == pytest.approx(probs, rel=1e-15, abs=0)
    assert all(p > 0 for p in got)
