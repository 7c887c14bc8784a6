"""``dwp-eval outcomes``: employment outcomes from monthly records, in memory or on Dask or
Spark, from CSV or parquet files (:func:`dwp_eval.derive_outcomes`).

With ``--engine dask`` or ``--engine spark`` the parquet files (a file, a folder of parts
or a glob) are read lazily by the engine, the rules run per partition of people, and only
the result (one row per person) comes back to be written. Spark uses the session the
environment configures (``SparkSession.builder.getOrCreate()``: local mode on a laptop, the
cluster on Databricks); Dask uses the ``dask.distributed`` client if one is running, its
local scheduler otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval.cli.files import (
    PARQUET_SUFFIXES,
    check_outputs,
    read_lazily,
    read_table,
    spark_read_error,
)
from dwp_eval.outcomes import derive_outcomes

__all__ = ["add_outcomes_parser"]

def add_outcomes_parser(sub: Any) -> None:
    o = sub.add_parser(
        "outcomes",
        help="derive employment outcomes from monthly records (in memory, on Dask or on Spark)",
        description="Reads the people (id, randomisation date) and their monthly employment "
        "records (and benefit spells), derives each person's outcomes over the follow-up window "
        "and writes one row per person (CSV or parquet, by the extension of --out).",
    )
    o.add_argument("people", help="CSV or parquet of the people: id and randomisation date")
    o.add_argument("employment", help="CSV or parquet of monthly employment records (with "
                   "--engine dask|spark: parquet, a folder of parts or a glob)")
    o.add_argument("--benefits", help="CSV or parquet of benefit spells")
    o.add_argument("--out", required=True, help="file to write (.csv or .parquet; never overwritten)")
    o.add_argument("--engine", choices=["pandas", "dask", "spark"], default="pandas",
                   help="where the records are processed (default pandas: in memory)")
    o.add_argument("--months", type=int, default=12, help="follow-up months (default 12)")
    o.add_argument("--data-end", dest="data_end", help="last day the records are complete for "
                   "(default: read from the records)")
    o.add_argument("--id", default="id", help="id column (default: id)")
    o.add_argument("--randomised", default="randomised_on",
                   help="randomisation date column of the people (default: randomised_on)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    o.set_defaults(func=_cmd_outcomes)


def _read(path: str, engine: str, what: str, dates: list[str]) -> Any:
    if engine == "pandas":
        frame = read_table(path, what=what)
        for c in dates:  # CSV dates arrive as text
            if c in frame.columns and frame[c].dtype == object:
                frame[c] = pd.to_datetime(frame[c], errors="raise")
        return frame
    return read_lazily(path, engine, what=what, command="dwp-eval outcomes")


def _to_pandas(frame: Any, engine: str) -> pd.DataFrame:
    if engine == "dask":
        return frame.compute()
    if engine == "spark":
        return frame.toPandas()
    return frame


def _cmd_outcomes(args: argparse.Namespace) -> int:
    check_outputs([("--out", args.out)], overwrite=args.overwrite)
    try:
        people = _read(args.people, args.engine, "people file", [args.randomised])
        employment = _read(args.employment, args.engine, "employment file", ["month"])
        benefits = (None if args.benefits is None
                    else _read(args.benefits, args.engine, "benefits file", ["start", "end"]))
        out = derive_outcomes(people, employment=employment, benefits=benefits, id=args.id,
                              randomised=args.randomised, months=args.months,
                              data_end=args.data_end)
        table = _to_pandas(out, args.engine)
    except Exception as err:
        clear = spark_read_error(err)
        if clear is not None:
            raise clear from None
        raise
    table = table.sort_values(args.id, kind="mergesort").reset_index(drop=True)
    target = Path(args.out)
    if target.suffix.lower() in PARQUET_SUFFIXES:
        table.to_parquet(target, index=False)
    else:
        table.to_csv(target, index=False)
    complete = int(table["follow_up_complete"].sum())
    print(f"Derived {args.months}-month outcomes of {len(table):,} people on {args.engine} "
          f"({complete:,} with complete follow-up). Wrote {target}")
    args.payload = {"out": str(target), "people": len(table), "complete": complete,
                    "engine": args.engine}
    return 0
