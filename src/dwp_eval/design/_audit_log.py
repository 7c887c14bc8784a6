"""The audit log on disk: an allocation is two files, ``<name>`` (the table, CSV)
and ``<name>.audit.json`` (the log; the full file name, so ``a.csv`` and ``a.txt``
never share one). Both are written together, atomically and all-or-none, by
:func:`dwp_eval._core.files.write_files`.

What protects what:

* ``table_sha256``: the SHA-256 of the table file;
* ``log_sha256``: the SHA-256 of every other field of the log (counts, ``n``,
  timestamps, design, seeds, batches, versions, ...) in canonical JSON;
* each batch's ``chain``: the SHA-256 of the previous batch's chain (the
  commitment for the first batch) and the batch's own record, so a batch cannot
  be removed, reordered or edited without breaking every later link;
* ``commitment``: the SHA-256 of the canonical design, the first seed and the
  population fingerprint, registered with the trial before anyone sees an
  allocation and checked by ``Allocation.verify(..., commitment=...)``.

A reader who edits a file and recomputes every hash can only be caught by what
was registered outside the files: the commitment (and, for rolling allocation,
the last batch's chain).
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval._core.contract import to_plain
from dwp_eval._core.files import read_files, write_files
from dwp_eval.design._table_codec import is_text, restore, table_to_csv, unescape
from dwp_eval.errors import AllocationExistsError, AllocationIntegrityError, OptionError

__all__ = [
    "LOG_FORMAT",
    "audit_path",
    "batch_chain",
    "canonical_json",
    "commitment_of",
    "now",
    "read_allocation",
    "write_allocation",
]

LOG_FORMAT = "dwp_eval.allocation/2"
_OLD_FORMAT = "dwp_eval.allocation/1"
_FUNC_W = "Allocation.write"
_FUNC_R = "Allocation.read"
_RESTORE = (
    "Fix: restore the audit log and table exactly as Allocation.write left them (e.g. from "
    "your backup); an audit log cannot be repaired by editing."
)


def now() -> str:
    """The time of an audit-log entry: UTC, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def canonical_json(value: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8): what every hash is taken over."""
    return json.dumps(
        to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def commitment_of(design: Mapping[str, Any], seed: Mapping[str, Any], fingerprint: str) -> str:
    """SHA-256 of the canonical design, the first batch's seed and the population
    fingerprint: what is registered with the trial before any allocation is seen."""
    body = {"design": dict(design), "seed": dict(seed), "fingerprint": str(fingerprint)}
    return hashlib.sha256(b"dwp_eval-commitment-v1\n" + canonical_json(body)).hexdigest()


def batch_chain(previous: str, batch: Mapping[str, Any]) -> str:
    """The chain link of a batch: SHA-256 of the previous link (the commitment for
    batch 0) and the batch's record without its own link."""
    rec = {k: v for k, v in batch.items() if k != "chain"}
    return hashlib.sha256(
        b"dwp_eval-batch-chain-v1\n" + previous.encode("ascii") + b"\n" + canonical_json(rec)
    ).hexdigest()


def _log_digest(log: Mapping[str, Any]) -> str:
    body = {k: v for k, v in log.items() if k != "log_sha256"}
    return hashlib.sha256(b"dwp_eval-audit-log-v2\n" + canonical_json(body)).hexdigest()


def audit_path(path: str | os.PathLike[str]) -> Path:
    """The audit-log sidecar of an allocation table: ``x.csv`` -> ``x.csv.audit.json``."""
    p = Path(path)
    return p.with_name(p.name + ".audit.json")


def _legacy_audit_path(path: Path) -> Path:
    return path.with_name(path.stem + ".audit.json") if path.suffix else audit_path(path)


def write_allocation(
    table: pd.DataFrame, audit_log: Mapping[str, Any], path: str | os.PathLike[str], *, overwrite: bool
) -> Path:
    """Write ``table`` (CSV) and ``audit_log`` with the table's checksum (see ``Allocation.write``);
    returns the path of the audit log."""
    table_path = Path(path)
    log_path = audit_path(table_path)
    log: dict[str, Any] = copy.deepcopy(dict(audit_log))
    for key in ("log_sha256", "written", "table_sha256", "table_file"):
        log.pop(key, None)
    text_cols = [log["design"]["id"], "arm", "stratum", "cluster"]
    data = table_to_csv(table, text_cols)
    log["table_file"] = table_path.name
    log["table_sha256"] = hashlib.sha256(data).hexdigest()
    log["written"] = now()
    replaced = _replaced_record(table_path, log_path) if overwrite else None
    if replaced is not None:
        log["replaced"] = [*log.get("replaced", []), replaced]
    log["log_sha256"] = _log_digest(log)
    hint = (
        "; an allocation is never overwritten by accident. Fix: write to a new path, or pass "
        "overwrite=True if you really mean to replace it (the replacement is logged)."
    )
    text = json.dumps(log, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_files(
        {table_path: data, log_path: text},
        overwrite=overwrite,
        func=_FUNC_W,
        exists_error=AllocationExistsError,
        exists_hint=hint,
    )
    return log_path


def _replaced_record(table_path: Path, log_path: Path) -> dict[str, Any] | None:
    """What an overwrite replaces: enough to recognise (and, with its data, re-run) it."""
    if not (table_path.is_file() or log_path.is_file()) or table_path.is_symlink() or log_path.is_symlink():
        return None
    old_table, old_log_bytes = read_files([table_path, log_path], func=_FUNC_W)
    replaced: dict[str, Any] = {"at": now()}
    if old_table is not None:
        replaced["table_sha256"] = hashlib.sha256(old_table).hexdigest()
    if old_log_bytes is not None:
        try:
            old_log = json.loads(old_log_bytes.decode("utf-8"))
            replaced["fingerprint"] = old_log.get("fingerprint")
            replaced["commitment"] = old_log.get("commitment")
            replaced["seeds"] = [b.get("seed") for b in old_log.get("batches", [])]
            replaced["created"] = old_log.get("created")
        except (ValueError, AttributeError, TypeError):
            replaced["log"] = "unreadable"
    return replaced


# ---------------------------------------------------------------- reading


def _damaged(log_path: Path, what: str) -> AllocationIntegrityError:
    return AllocationIntegrityError(f"{_FUNC_R}: {log_path} is damaged: {what}. {_RESTORE}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_shape(log: Any, log_path: Path) -> dict[str, Any]:
    """Every field the library reads, of the right type, or a pinned integrity error."""
    if not isinstance(log, dict):
        raise _damaged(log_path, f"it holds a JSON {type(log).__name__}, not the audit-log object")
    fmt = log.get("format")
    if fmt == _OLD_FORMAT:
        raise AllocationIntegrityError(
            f"{_FUNC_R}: {log_path} was written by an earlier dwp_eval (format {fmt!r}), whose "
            f"log is not protected by a hash or a commitment. Fix: read it with the dwp_eval "
            "version that wrote it, or re-create the allocation with randomise() from the "
            "recorded seed and data and write it again."
        )
    if fmt != LOG_FORMAT:
        raise OptionError(
            f"{_FUNC_R}: {log_path} is not a dwp_eval allocation log "
            f"(format {fmt!r}, expected {LOG_FORMAT!r})."
        )
    for key, kind in (("design", dict), ("batches", list), ("counts", dict), ("library", dict)):
        if not isinstance(log.get(key), kind):
            raise _damaged(log_path, f"its {key!r} entry is missing or not a JSON {kind.__name__}")
    for key in ("fingerprint", "commitment", "created", "id_kind"):
        if not isinstance(log.get(key), str):
            raise _damaged(log_path, f"its {key!r} entry is missing or not text")
    if not _is_int(log.get("n")) or log["n"] < 0:
        raise _damaged(log_path, "its 'n' entry is missing or not a whole number")
    if not isinstance(log.get("id_dtype"), dict) or not isinstance(log["id_dtype"].get("dtype"), str):
        raise _damaged(log_path, "its 'id_dtype' entry is missing")
    d = log["design"]
    for key in ("id", "control", "label", "method"):
        if not isinstance(d.get(key), str):
            raise _damaged(log_path, f"design entry {key!r} is missing or not text")
    if not isinstance(d.get("arms"), dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in d["arms"].values()
    ):
        raise _damaged(log_path, "design entry 'arms' is missing or not a map of arm to ratio")
    if not isinstance(d.get("weights"), list) or not all(_is_int(w) and w > 0 for w in d["weights"]):
        raise _damaged(log_path, "design entry 'weights' is missing or not positive whole numbers")
    if not isinstance(d.get("strata"), list):
        raise _damaged(log_path, "design entry 'strata' is missing or not a list")
    if not log["batches"]:
        raise _damaged(log_path, "it records no batch")
    for i, b in enumerate(log["batches"]):
        if not isinstance(b, dict):
            raise _damaged(log_path, f"batch {i} is not a JSON object")
        if b.get("batch") != i or not _is_int(b.get("batch")):
            raise _damaged(log_path, f"batch {i} is numbered {b.get('batch')!r}")
        for key in ("method", "fingerprint", "created", "chain"):
            if not isinstance(b.get(key), str):
                raise _damaged(log_path, f"batch {i}'s {key!r} is missing or not text")
        if not _is_int(b.get("n")):
            raise _damaged(log_path, f"batch {i}'s 'n' is missing or not a whole number")
        seed = b.get("seed")
        ok = isinstance(seed, dict) and (
            (seed.get("kind") == "int" and _is_int(seed.get("seed")) and seed["seed"] >= 0)
            or (
                seed.get("kind") == "generator"
                and isinstance(seed.get("bit_generator"), str)
                and isinstance(seed.get("state"), dict)
            )
        )
        if not ok:
            raise _damaged(
                log_path,
                f"batch {i}'s seed is {seed!r}, not a recorded int seed or generator state",
            )
    return log


def _check_hashes(log: dict[str, Any], log_path: Path) -> None:
    """The log's own hash, the batch chain, and the commitment's place at its head."""
    if log.get("log_sha256") != _log_digest(log):
        raise AllocationIntegrityError(
            f"{_FUNC_R}: {log_path} has been edited since it was written: its contents no "
            f"longer match the SHA-256 recorded in it (log_sha256). {_RESTORE} To inspect it, "
            "read with check_integrity=False and call verify()."
        )
    previous = log["commitment"]
    for b in log["batches"]:
        if b["chain"] != batch_chain(previous, b):
            raise AllocationIntegrityError(
                f"{_FUNC_R}: {log_path}: batch {b['batch']}'s record does not continue the "
                "batch chain (a batch was edited, removed or reordered). " + _RESTORE
            )
        previous = b["chain"]


def _check_table_against_log(table: pd.DataFrame, log: Mapping[str, Any], table_path: Path) -> None:
    """n, counts and batch sizes recorded in the log agree with the table."""
    problems = []
    if len(table) != log["n"]:
        problems.append(f"the log records n = {log['n']:,} people, the table holds {len(table):,}")
    counts = table["arm"].value_counts().to_dict()
    for arm, c in log["counts"].items():
        if int(counts.get(arm, 0)) != c:
            problems.append(f"the log records {c:,} in arm {arm!r}, the table {int(counts.get(arm, 0)):,}")
    if "batch" in table.columns:
        per_batch = table["batch"].value_counts().to_dict()
        for b in log["batches"]:
            if int(per_batch.get(b["batch"], 0)) != b["n"]:
                problems.append(
                    f"batch {b['batch']} has {int(per_batch.get(b['batch'], 0)):,} rows, "
                    f"the log records {b['n']:,}"
                )
        extra = set(per_batch) - {b["batch"] for b in log["batches"]}
        if extra:
            problems.append(f"the table has rows of batch(es) {sorted(extra)} the log does not record")
    if problems:
        raise AllocationIntegrityError(
            f"{_FUNC_R}: {table_path} and its audit log disagree: {'; '.join(problems[:3])}. "
            + _RESTORE
        )


def _parse_table(raw: bytes, log: Mapping[str, Any], table_path: Path) -> pd.DataFrame:
    d = log["design"]
    id_col = d["id"]
    text_cols = [id_col, "arm", "stratum", "cluster"]
    try:
        table = pd.read_csv(io.BytesIO(raw), dtype=dict.fromkeys(text_cols, str), keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise AllocationIntegrityError(
            f"{_FUNC_R}: {table_path} is not a readable allocation table ({err}). {_RESTORE}"
        ) from None
    for col in (id_col, "arm", "batch"):
        if col not in table.columns:
            raise AllocationIntegrityError(
                f"{_FUNC_R}: {table_path} has no {col!r} column (it holds "
                f"{', '.join(map(repr, table.columns)) or 'no columns'}). {_RESTORE}"
            )
    for col in text_cols:
        rec = log["id_dtype"] if col == id_col else log.get("cluster_dtype") if col == "cluster" else None
        if col in table.columns and (not isinstance(rec, dict) or is_text(rec)):
            table[col] = unescape(table[col])  # numbers and dates are never escaped
    try:
        table[id_col] = restore(table[id_col], log["id_dtype"])
        if "cluster" in table.columns and isinstance(log.get("cluster_dtype"), dict):
            table["cluster"] = restore(table["cluster"], log["cluster_dtype"])
        table["batch"] = table["batch"].astype("int64")
    except (ValueError, TypeError, OverflowError) as err:
        raise AllocationIntegrityError(
            f"{_FUNC_R}: {table_path} holds a value that is not of its recorded type ({err}). "
            + _RESTORE
        ) from None
    for col in ("block", "block_size"):
        # people outside any block (a complete first batch, or joining a cluster
        # allocated earlier) are written as empty cells: read them back as <NA>
        if col in table.columns and not pd.api.types.is_integer_dtype(table[col]):
            table[col] = pd.to_numeric(table[col].astype(object).mask(table[col] == "")).astype("Int64")
    arms = list(d["arms"])
    unknown = sorted(set(table["arm"]) - set(arms))
    if unknown:
        raise AllocationIntegrityError(
            f"{_FUNC_R}: {table_path}'s 'arm' column holds {unknown[:3]!r}, not an arm of the "
            f"design ({', '.join(map(repr, arms))}). {_RESTORE}"
        )
    table["arm"] = pd.Categorical(table["arm"], categories=arms)
    if "stratum" in table.columns:
        table["stratum"] = pd.Categorical(table["stratum"], categories=sorted(set(table["stratum"])))
    return table


def read_allocation(
    path: str | os.PathLike[str], *, check_integrity: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read the table and audit log written by :func:`write_allocation`; unless
    ``check_integrity=False``, check the table's checksum, the log's own hash, the
    batch chain and the log's counts against the table (see ``Allocation.read``)."""
    table_path = Path(path)
    log_path = audit_path(table_path)
    raw, log_bytes = read_files([table_path, log_path], func=_FUNC_R)
    if raw is None:
        raise OptionError(
            f"{_FUNC_R}: {table_path} does not exist. An allocation is read from the table "
            "written by Allocation.write and its '.audit.json' log beside it."
        )
    if log_bytes is None:
        legacy = _legacy_audit_path(table_path)
        hint = (
            f" {legacy} is a log named the way dwp_eval 0.x named it, which two tables (a.csv, "
            "a.txt) could share, so it is not read. Fix: re-create the allocation with "
            "randomise() from its recorded seed and write it again."
            if legacy != log_path and legacy.exists()
            else " Fix: keep the '<table name>.audit.json' log written beside the table."
        )
        raise OptionError(f"{_FUNC_R}: {log_path} does not exist.{hint}")
    try:
        parsed = json.loads(log_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise _damaged(log_path, "it is not UTF-8 text") from None
    except ValueError as err:
        what = "it is empty" if not log_bytes.strip() else f"it is not complete JSON ({err})"
        raise _damaged(log_path, what) from None
    log = _check_shape(parsed, log_path)
    if check_integrity:
        _check_hashes(log, log_path)
        digest = hashlib.sha256(raw).hexdigest()
        if digest != log.get("table_sha256"):
            raise AllocationIntegrityError(
                f"{_FUNC_R}: {table_path} has changed since it was written: its SHA-256 is "
                f"{digest[:16]}..., the audit log recorded {str(log.get('table_sha256'))[:16]}.... "
                "Fix: restore the original file; to inspect the changed file, read it with "
                "check_integrity=False and call verify()."
            )
    table = _parse_table(raw, log, table_path)
    if check_integrity:
        _check_table_against_log(table, log, table_path)
    for key in ("written", "log_sha256"):
        log.pop(key, None)
    return table, log


COMMITMENT_RE = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
