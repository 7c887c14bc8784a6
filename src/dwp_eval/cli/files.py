"""What the command line reads and writes: input tables (CSV or parquet) and up-front output checks.

Every problem with a file a user names (missing, empty, ragged, binary, a parquet file
without pyarrow, an output that cannot be written or would be written twice) is an
:class:`InputFileError` with one line that names the file, the problem and the fix.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval._core.engines import require
from dwp_eval._core.files import refuse_duplicates, target_problem
from dwp_eval.errors import DwpEvalError

__all__ = ["PARQUET_SUFFIXES", "InputFileError", "check_outputs", "read_lazily", "read_participants",
           "read_table", "spark_read_error"]

_INT_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)$")

#: File name endings read as parquet (everything else is read as CSV).
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


class InputFileError(DwpEvalError):
    """A file named on the command line cannot be read, or an output cannot be written."""


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(4096)


def _check_readable(path: Path, what: str) -> None:
    if not path.exists():
        raise InputFileError(f"{what} {str(path)!r} does not exist. Fix: check the path and the name.")
    if path.is_dir():
        raise InputFileError(f"{what} {str(path)!r} is a folder, not a file. Fix: name the file in it.")


def read_table(path: str | Path, text_columns: Sequence[str] = (), *, what: str = "input file") -> pd.DataFrame:
    """Read a CSV or parquet file (chosen by its extension: ``.parquet``, ``.pq``, ``.parq``).

    CSV columns named in ``text_columns`` are read as text. Reading parquet needs
    ``pyarrow`` (``pip install pyarrow``); without it the error says so.
    """
    p = Path(path)
    _check_readable(p, what)
    if _is_parquet(p):
        if importlib.util.find_spec("pyarrow") is None:
            raise InputFileError(
                f"{what} {str(p)!r} is a parquet file, and reading parquet needs pyarrow, which is "
                "not installed. Fix: pip install pyarrow (or save the table as CSV)."
            )
        try:
            frame = pd.read_parquet(p)
        except Exception as err:  # pyarrow raises its own exception types
            raise InputFileError(
                f"{what} {str(p)!r} could not be read as parquet ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else 'no detail'}). Fix: check that it is "
                "a parquet file, or save it as CSV."
            ) from None
    else:
        if p.stat().st_size == 0:
            raise InputFileError(f"{what} {str(p)!r} is empty. Fix: give a CSV file with a header row and one row per person.")
        head = _head(p)
        if b"\x00" in head or head.startswith(b"PAR1"):
            hint = (" It looks like parquet: name it with a .parquet extension."
                    if head.startswith(b"PAR1") else "")
            raise InputFileError(
                f"{what} {str(p)!r} is not a text CSV file (it holds binary data).{hint} Fix: give "
                "a CSV file (or a parquet file ending in .parquet)."
            )
        try:
            frame = pd.read_csv(p, dtype=dict.fromkeys(text_columns, str), keep_default_na=True)
        except UnicodeDecodeError:
            raise InputFileError(
                f"{what} {str(p)!r} is not UTF-8 text. Fix: save it as CSV with UTF-8 encoding."
            ) from None
        except pd.errors.EmptyDataError:
            raise InputFileError(
                f"{what} {str(p)!r} has no header row. Fix: give a CSV file with a header row "
                "and one row per person."
            ) from None
        except (pd.errors.ParserError, csv.Error) as err:
            detail = str(err).strip().splitlines()[-1].replace("C error: ", "")
            detail = detail.removeprefix("Error tokenizing data. ")
            raise InputFileError(
                f"{what} {str(p)!r} is not a well-formed CSV file: {detail}. Fix: every row must "
                "have as many fields as the header (quote fields that contain commas)."
            ) from None
    if len(frame.columns) and len(frame) == 0:
        raise InputFileError(
            f"{what} {str(p)!r} has a header ({', '.join(map(str, frame.columns[:5]))}"
            f"{', ...' if len(frame.columns) > 5 else ''}) but no rows. Fix: give the file with its data."
        )
    return frame


def read_participants(path: str | Path, text_columns: Sequence[str], id: str | None = None) -> pd.DataFrame:
    """Read a participants file (CSV or parquet) keeping ids, strata and clusters exactly as written.

    From CSV, strata and cluster columns are read as text (so ``01`` stays
    ``01``); the id column is read as text and becomes integer only if every id
    is a plain integer without leading zeros. Parquet files keep their types.
    A file that is missing, empty, ragged or not text is an
    :class:`InputFileError` naming the file and the fix.
    """
    cols = [c for c in text_columns if c]
    if id is not None:
        cols.append(id)
    frame = read_table(path, cols, what="participants file")
    if id is not None and id in frame.columns and not _is_parquet(Path(path)):
        ids = frame[id]
        if ids.notna().all() and ids.astype(str).str.fullmatch(_INT_TEXT).all():
            frame[id] = ids.astype("int64")
    return frame


def read_lazily(path: str, engine: str, *, what: str, command: str) -> Any:
    """Parquet (a file, a folder of parts or a glob) as a lazy Dask or Spark DataFrame.
    Spark uses the session the environment configures (``getOrCreate``: local mode on a
    laptop, the cluster on Databricks); Dask its ``dask.distributed`` client if one runs."""
    if not any(str(path).lower().endswith(s) for s in PARQUET_SUFFIXES) and not Path(path).is_dir():
        raise InputFileError(
            f"{what} {path!r} is not parquet: with --engine {engine} the data are read lazily "
            "from parquet (a file, a folder of parts or a glob). Fix: convert the file to parquet, "
            "or use --engine pandas for a CSV that fits in memory."
        )
    require(engine, func=command)
    if engine == "dask":
        import dask.dataframe as dd

        return dd.read_parquet(path)
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate().read.parquet(path)


def spark_read_error(err: Exception) -> InputFileError | None:
    """The one-line error for Spark's refusal of pandas' nanosecond parquet timestamps
    (``None`` for any other error)."""
    if "PARQUET_TYPE_ILLEGAL" in str(err) and "NANOS" in str(err):
        return InputFileError(
            "Spark cannot read the parquet files' nanosecond timestamps (pandas' default). "
            "Fix: write them with microseconds, e.g. df.to_parquet(path, "
            "coerce_timestamps='us', allow_truncated_timestamps=True), or use --engine dask."
        )
    return None


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_outputs(targets: Sequence[tuple[str, str | Path | None]], *, overwrite: bool,
                  folders: Sequence[tuple[str, str | Path | None]] = ()) -> None:
    """Check every output before anything is written: all outputs or none.

    ``targets`` are ``(option, file path)`` pairs and ``folders`` ``(option,
    folder)`` pairs (``None`` entries are skipped). Refused: two options naming
    one path, a file that exists (unless ``overwrite``), a file path that is a
    folder (or a folder path that is a file), and a place that cannot be written
    (a parent that is a file, or a folder without write permission).
    """
    named = [(t, option) for option, t in [*targets, *folders] if t is not None and str(t) != ""]
    refuse_duplicates(named, lambda path, first, second: InputFileError(  # the ground floor's rule
        f"{first} and {second} both name {str(path)!r}; one would overwrite the other. Fix: "
        "give each output its own path."))
    for option, target in folders:
        if target is None:
            continue
        p = Path(target)
        if p.exists() and not p.is_dir():
            raise InputFileError(f"{option} {str(p)!r} is a file, not a folder. Fix: name a folder.")
        _check_writable(option, p)
    for option, target in targets:
        if target is None:
            continue
        p = Path(target)
        problem = target_problem(p, overwrite=overwrite, links="replace")
        if problem == "folder":
            raise InputFileError(f"{option} {str(p)!r} is a folder. Fix: name a file to write.")
        if problem == "exists":
            raise InputFileError(
                f"{option} {str(p)!r} already exists and would be overwritten. Fix: choose another "
                "path, or pass --overwrite."
            )
        if problem == "special":
            raise InputFileError(
                f"{option} {str(p)!r} is not a regular file. Fix: name a file to write."
            )
        _check_writable(option, p.parent)


def _check_writable(option: str, folder: Path) -> None:
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise InputFileError(
            f"{option}: cannot write into {str(folder)!r}: {str(base)!r} is a file, not a folder. "
            "Fix: choose another path."
        )
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputFileError(
            f"{option}: cannot write into {str(folder)!r}: no write permission for {str(base)!r}. "
            "Fix: choose a folder you can write to."
        )
