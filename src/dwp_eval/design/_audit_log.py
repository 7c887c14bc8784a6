"""The audit log on disk: an allocation is two files, ``<name>.csv`` (the table)
and ``<name>.audit.json`` (the log). The log holds the SHA-256 of the table
file, so an edit made after writing is detected on reading; an allocation is
never overwritten by accident, and a deliberate replacement is recorded."""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwp_eval.errors import AllocationExistsError, AllocationIntegrityError, OptionError

__all__ = ["LOG_FORMAT", "audit_path", "now", "read_allocation", "write_allocation"]

LOG_FORMAT = "dwp_eval.allocation/1"


def now() -> str:
    """The time of an audit-log entry: UTC, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def audit_path(path: str | os.PathLike[str]) -> Path:
    """The audit-log sidecar of an allocation table: ``x.csv`` -> ``x.audit.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".audit.json") if p.suffix else p.with_name(p.name + ".audit.json")


def write_allocation(
    table: pd.DataFrame, audit_log: Mapping[str, Any], path: str | os.PathLike[str], *, overwrite: bool
) -> Path:
    """Write ``table`` (CSV) and ``audit_log`` with the table's checksum (see ``Allocation.write``);
    returns the path of the audit log."""
    table_path = Path(path)
    log_path = audit_path(table_path)
    existing = [p for p in (table_path, log_path) if p.exists()]
    if existing and not overwrite:
        raise AllocationExistsError(
            f"Allocation.write: {', '.join(str(p) for p in existing)} already exist(s); an "
            "allocation is never overwritten by accident. Fix: write to a new path, or pass "
            "overwrite=True if you really mean to replace it (the replacement is logged)."
        )
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n")
    data = buf.getvalue().encode("utf-8")
    log: dict[str, Any] = copy.deepcopy(dict(audit_log))
    log["table_file"] = table_path.name
    log["table_sha256"] = hashlib.sha256(data).hexdigest()
    log["written"] = now()
    if existing:
        replaced: dict[str, Any] = {"at": now()}
        if table_path.exists():
            replaced["table_sha256"] = hashlib.sha256(table_path.read_bytes()).hexdigest()
        if log_path.exists():
            # what was replaced: enough to recognise (and, with its data, re-run) it
            try:
                old_log = json.loads(log_path.read_text(encoding="utf-8"))
                replaced["fingerprint"] = old_log.get("fingerprint")
                replaced["seeds"] = [b.get("seed") for b in old_log.get("batches", [])]
                replaced["created"] = old_log.get("created")
            except (OSError, ValueError, AttributeError):
                replaced["log"] = "unreadable"
        log.setdefault("replaced", []).append(replaced)
    mode = "wb" if overwrite else "xb"
    table_path.parent.mkdir(parents=True, exist_ok=True)
    with open(table_path, mode) as fh:
        fh.write(data)
    with open(log_path, "w" if overwrite else "x", encoding="utf-8") as fh:
        json.dump(log, fh, indent=2)
        fh.write("\n")
    return log_path


def read_allocation(
    path: str | os.PathLike[str], *, check_integrity: bool
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read the table and audit log written by :func:`write_allocation`, checking the
    table's checksum unless ``check_integrity=False`` (see ``Allocation.read``)."""
    table_path = Path(path)
    log_path = audit_path(table_path)
    for p in (table_path, log_path):
        if not p.exists():
            raise OptionError(
                f"Allocation.read: {p} does not exist. An allocation is read from the table "
                "written by Allocation.write and its '.audit.json' log beside it."
            )
    log = json.loads(log_path.read_text(encoding="utf-8"))
    if log.get("format") != LOG_FORMAT:
        raise OptionError(
            f"Allocation.read: {log_path} is not a dwp_eval allocation log "
            f"(format {log.get('format')!r}, expected {LOG_FORMAT!r})."
        )
    raw = table_path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if check_integrity and digest != log.get("table_sha256"):
        raise AllocationIntegrityError(
            f"Allocation.read: {table_path} has changed since it was written: its SHA-256 is "
            f"{digest[:16]}..., the audit log recorded {str(log.get('table_sha256'))[:16]}.... "
            "Fix: restore the original file; to inspect the changed file, read it with "
            "check_integrity=False and call verify()."
        )
    d = log["design"]
    dtypes: dict[str, Any] = {d["id"]: str, "arm": str, "stratum": str, "cluster": str}
    table = pd.read_csv(io.BytesIO(raw), dtype=dtypes, keep_default_na=False)
    if log["id_kind"] == "int":
        table[d["id"]] = table[d["id"]].astype(np.int64)
    if "cluster" in table.columns and log.get("cluster_kind") == "int":
        table["cluster"] = table["cluster"].astype(np.int64)
    for col in ("block", "block_size"):
        # people outside any block (a complete first batch, or joining a cluster
        # allocated earlier) are written as empty cells: read them back as <NA>
        if col in table.columns and not pd.api.types.is_integer_dtype(table[col]):
            table[col] = pd.to_numeric(table[col].astype(object).mask(table[col] == "")).astype("Int64")
    table["arm"] = pd.Categorical(table["arm"], categories=list(d["arms"]))
    if "stratum" in table.columns:
        table["stratum"] = pd.Categorical(table["stratum"], categories=sorted(set(table["stratum"])))
    log.pop("written", None)
    return table, log
