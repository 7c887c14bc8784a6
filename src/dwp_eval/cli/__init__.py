"""The ``dwp-eval`` command line.

```sh
dwp-eval demo
dwp-eval randomise participants.csv --id id --strata site benefit --ratio 1:1 \\
    --seed 20180501 --out allocation.csv
dwp-eval verify allocation.csv participants.csv --commitment 3f9a...c2
dwp-eval extend allocation.csv new_referrals.csv --seed 20180601 --out allocation_2.csv
dwp-eval analyse trial.csv --plan plan.toml --out report.html
```
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dwp_eval._version import __version__
from dwp_eval.cli.demo import run_demo
from dwp_eval.cli.files import (
    InputFileError,
    check_outputs,
    read_lazily,
    read_participants,
    read_table,
    spark_read_error,
)
from dwp_eval.cli.outcomes import add_outcomes_parser
from dwp_eval.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_CHECK_FAILED,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_TEXT,
    SubParser,
    headline,
    jsonable,
    print_headline,
    records,
    stdout_unless,
    with_common,
)
from dwp_eval.design import Allocation, randomise
from dwp_eval.errors import AllocationExistsError, DwpEvalError, OptionError

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_INTERNAL", "EXIT_OK", "InputFileError",
           "build_parser", "main", "read_participants", "read_table"]

def _parse_arms(ratio: str, arms: Sequence[str] | None) -> dict[str, float]:
    parts = ratio.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise DwpEvalError(
            f"--ratio must be numbers separated by ':' such as 1:1 or 2:1:1. Got {ratio!r}."
        ) from None
    if arms is None:
        if len(values) == 2:
            arms = ["control", "treatment"]
        else:
            arms = ["control", *[f"treatment_{i}" for i in range(1, len(values))]]
    if len(arms) != len(values):
        raise DwpEvalError(
            f"--arms names {len(arms)} arm(s) but --ratio {ratio!r} gives {len(values)} ratio(s)."
        )
    return {a: (int(v) if v.is_integer() else v) for a, v in zip(arms, values, strict=True)}


def _allocation_payload(alloc: Allocation, out: str, log: Path) -> dict[str, Any]:
    counts = alloc.table["arm"].astype(str).value_counts()
    return {
        "allocation": str(out), "audit_log": str(log), "n": alloc.n, "design": alloc.design,
        "arms": {str(a): int(counts.get(str(a), 0)) for a in alloc.arms},
        "seed": alloc.seed, "fingerprint": alloc.fingerprint, "commitment": alloc.commitment,
    }


def _cmd_randomise(args: argparse.Namespace) -> int:
    check_outputs([("--out", args.out)], overwrite=True)  # existing files: Allocation.write says
    data = read_participants(args.participants, [*(args.strata or []), args.cluster], args.id)
    alloc = randomise(
        data,
        id=args.id,
        arms=_parse_arms(args.ratio, args.arms),
        strata=args.strata,
        cluster=args.cluster,
        seed=args.seed,
        method=args.method,
        block_sizes=args.block_sizes,
        order=args.order,
    )
    log = alloc.write(args.out, overwrite=args.overwrite)
    print(alloc.summary())
    print(f"\nWrote {args.out} and its audit log {log}.")
    args.payload = _allocation_payload(alloc, args.out, log)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    read_table(args.allocation, what="allocation file")  # a one-line error if it is not a table
    alloc = Allocation.read(args.allocation)
    d = alloc.metadata["design"]
    data = read_participants(args.participants, [*d["strata"], d["cluster"]], d["id"])
    alloc.verify(data, commitment=args.commitment)
    print(
        f"Verified: re-running the {len(alloc.metadata['batches'])} recorded batch(es) from their "
        f"seeds reproduces all {alloc.n:,} allocations in {args.allocation} "
        f"(fingerprint {alloc.fingerprint[:16]}...)."
    )
    if args.commitment is not None:
        print(f"The allocation matches the registered commitment {alloc.commitment[:16]}....")
    args.payload = {"verified": True, "allocation": str(args.allocation), "n": alloc.n,
                    "batches": len(alloc.metadata["batches"]), "fingerprint": alloc.fingerprint,
                    "commitment_checked": args.commitment is not None}
    return 0


def _cmd_extend(args: argparse.Namespace) -> int:
    check_outputs([("--out", args.out)], overwrite=True)
    read_table(args.allocation, what="allocation file")
    alloc = Allocation.read(args.allocation)
    d = alloc.metadata["design"]
    data = read_participants(args.new_people, [*d["strata"], d["cluster"]], d["id"])
    new = alloc.extend(data, seed=args.seed)
    log = new.write(args.out, overwrite=args.overwrite)
    print(new.summary())
    print(f"\nWrote {args.out} and its audit log {log}; {args.allocation} is unchanged.")
    args.payload = _allocation_payload(new, args.out, log)
    return 0


def _treated_share(args: argparse.Namespace) -> float:
    """The fraction treated, from ``--treated-share F`` or ``--ratio C:T`` (as in ``randomise``)."""
    if args.ratio is not None and args.treated_share is not None:
        raise OptionError("give --ratio (control:treatment, e.g. 1:2) or --treated-share, not both.")
    if args.ratio is None:
        share = 0.5 if args.treated_share is None else args.treated_share
    else:
        weights = list(_parse_arms(args.ratio, None).values()) if ":" in args.ratio else []
        if len(weights) != 2 or min(weights) <= 0:
            raise OptionError(
                f"--ratio is the allocation ratio control:treatment, as in randomise (e.g. 1:1 or "
                f"1:2). Got {args.ratio!r}. For the fraction treated use --treated-share "
                f"(e.g. --treated-share {args.ratio if ':' not in args.ratio else '0.5'})."
            )
        share = weights[1] / (weights[0] + weights[1])
    if not 0 < share < 1:
        raise OptionError(f"--treated-share must be between 0 and 1 (exclusive). Got {share!r}.")
    n = args.n if args.n is not None else args.n_clusters
    if n is not None and min(n * share, n * (1 - share)) < 1:
        raise OptionError(
            f"--treated-share {share:g} of {n:,} leaves an arm with no one (it needs at least one "
            f"per arm: between {1 / n:.3g} and {1 - 1 / n:.3g}). Fix: give a share nearer 0.5."
        )
    return share


def _check_scale(args: argparse.Namespace) -> None:
    """Effects and SDs whose squares overflow (or that are not finite) are refused up front."""
    for option, value in (("--sd", args.sd), ("--mde", args.mde), ("--effect", args.effect)):
        if value is not None and not (math.isfinite(value) and math.isfinite(value * value)):
            raise OptionError(
                f"{option} {value!r} is too large to compute with (its square is not a finite "
                "number). Fix: give the outcome in larger units (thousands of pounds, say)."
            )


def _cmd_power(args: argparse.Namespace) -> int:
    from dwp_eval.design.power import mde, power, sample_size

    _check_scale(args)
    design = {
        "alpha": args.alpha,
        "ratio": _treated_share(args),
        "sd": args.sd,
        "baseline_rate": args.baseline_rate,
        "r2": args.r2,
        "cluster_size": args.cluster_size,
        "icc": args.icc,
        "take_up": args.take_up,
        "contamination": args.contamination,
        "attrition": args.attrition,
        "outcome": args.outcome,
        "nested_in": args.nested_in,
        "level3_size": args.level3_size,
        "icc_level3": args.icc_level3,
        "moderator_share": args.moderator_share,
        "control_median": args.control_median,
        "accrual": args.accrual,
        "follow_up": args.follow_up,
    }
    if args.events_formula is not None:
        design["events_formula"] = args.events_formula
    size = {"n": args.n, "n_clusters": args.n_clusters}
    if args.mde is not None and args.effect is not None:
        raise DwpEvalError("give --mde (solve for the sample size) or --effect (solve for power), not both.")
    if args.mde is not None:
        if args.n is not None or args.n_clusters is not None:
            raise DwpEvalError("--mde solves for the sample size: leave out --n and --n-clusters.")
        res = sample_size(mde=args.mde, power=args.power, scale=args.scale, **design)
    elif args.effect is not None:
        res = power(effect=args.effect, scale=args.scale, **size, **design)
    else:
        res = mde(power=args.power, **size, **design)
    print(res.summary())
    args.payload = {"result": records(res.to_frame())}
    return 0


def _plan_columns_from_engine(path: str, engine: str, plan: Any) -> pd.DataFrame:
    """The plan's columns of a parquet file read by Dask or Spark, brought into memory: the
    report runs in memory on the trial's one row per person. (Columns the plan names but
    the file lacks are left for :func:`~dwp_eval.analyse` to name.)"""
    from dwp_eval._core.engines import collect, columns

    frame = read_lazily(path, engine, what="trial data", command="dwp-eval analyse")
    try:
        named = {c for cols in plan.columns().values() for c in cols}
        have = columns(frame)
        return collect(frame, [c for c in have if c in named])
    except Exception as err:
        clear = spark_read_error(err)
        if clear is not None:
            raise clear from None
        raise


def _cmd_analyse(args: argparse.Namespace) -> int:
    from dwp_eval.report.plan import AnalysisPlan
    from dwp_eval.report.report import analyse

    # every output is checked before anything is computed or written: all outputs or none
    files = [("--out", args.out), ("--markdown", args.markdown)]
    folders = [("--tables", args.tables)]
    check_outputs(files, folders=folders, overwrite=args.overwrite)
    plan = AnalysisPlan.read(args.plan)
    d = plan.design
    text = [c for c in (d["assigned"], d["strata"], d["cluster"], d["site"], d["excluded"]) if c]
    if plan.area_pilot is not None:  # area codes stay text (E06000001, 0123)
        text = [plan.area_pilot.area]
    if args.engine == "pandas":
        data = read_participants(args.data, text, d["id"])
    else:
        data = _plan_columns_from_engine(args.data, args.engine, plan)
    report = analyse(data, plan)
    # every output checked before any is written, each written whole: all or none
    written = report.write(html=args.out, markdown=args.markdown, tables=args.tables,
                           overwrite=args.overwrite)
    print(f"Ran the analysis plan {args.plan} (sha256 {plan.fingerprint[:16]}...) on "
          f"{len(data):,} rows of {args.data}"
          + (f" (read by {args.engine.capitalize()}: the plan's {len(data.columns)} columns)."
             if args.engine != "pandas" else "."))
    payload: dict[str, Any] = {"report": str(written["html"]), "plan": str(args.plan),
                               "plan_sha256": plan.fingerprint, "rows": len(data)}
    if args.markdown:
        print(f"Wrote {written['markdown']}")
        payload["markdown"] = str(written["markdown"])
    if args.tables:
        print(f"Wrote {len(written['tables'])} tables to {args.tables}")
        payload["tables"] = [str(p) for p in written["tables"]]
    print(f"Wrote the report to {written['html']}")
    rows = headline(report)
    impact = report.results.get("impact")
    if impact is not None:
        print_headline(rows, impact.correction, impact.alpha)
    if plan.area_pilot is not None:  # the area pilot's headline: the primary estimate first
        top = report.section("headline")
        print("\n" + "\n".join(top.text))
        rows = records(top.table)
    payload["impacts"] = rows
    args.payload = payload
    return 0


def _cmd_selfcheck(args: argparse.Namespace) -> int:
    from dwp_eval.references import selfcheck

    res = selfcheck(args.references or None, verbose=not (args.quiet or args.json))
    args.payload = {"passed": bool(res.passed), "references": records(res.to_frame())}
    return EXIT_OK if res.passed else EXIT_CHECK_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dwp-eval``."""
    p = argparse.ArgumentParser(
        prog="dwp-eval", description="Randomised trials of employment programmes.",
        epilog=EXIT_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"dwp-eval {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           parser_class=SubParser)
    sub.add_parser = with_common(sub.add_parser)  # type: ignore[method-assign]

    r = sub.add_parser("randomise", help="allocate participants to arms and write an audit log")
    r.add_argument("participants", help="CSV (or .parquet) file with one row per participant")
    r.add_argument("--id", default="id", help="id column (default: id)")
    r.add_argument("--strata", nargs="+", help="column(s) to stratify on")
    r.add_argument("--cluster", help="column of the unit of assignment (cluster designs)")
    r.add_argument("--ratio", default="1:1", help="allocation ratio, e.g. 1:1 or 2:1:1 (default 1:1)")
    r.add_argument("--arms", nargs="+", help="arm names in the order of --ratio (default control treatment)")
    r.add_argument("--seed", type=int, required=True, help="integer seed, recorded in the audit log")
    r.add_argument("--method", default="complete", choices=["complete", "permuted_blocks"],
                   help="complete randomisation (default) or permuted blocks")
    r.add_argument("--block-sizes", type=int, nargs="+", dest="block_sizes", help="permuted block sizes")
    r.add_argument("--order", help="arrival-order column for permuted blocks (e.g. referral date)")
    r.add_argument("--out", required=True, help="allocation CSV to write (never overwritten)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing allocation (logged)")
    r.set_defaults(func=_cmd_randomise)

    v = sub.add_parser("verify", help="re-run an allocation from its audit log")
    v.add_argument("allocation", help="allocation CSV written by `dwp-eval randomise`")
    v.add_argument("participants", help="the participants CSV (or .parquet) that was randomised")
    v.add_argument(
        "--commitment",
        help="the commitment (64 hex digits) that `randomise` printed and that was registered "
        "with the trial; verify then also fails (exit status 2) if the allocation was re-drawn "
        "under another seed, design or population",
    )
    v.set_defaults(func=_cmd_verify)

    e = sub.add_parser("extend", help="allocate later referrals without changing earlier ones")
    e.add_argument("allocation", help="allocation CSV written by `dwp-eval randomise`")
    e.add_argument("new_people", help="CSV (or .parquet) file of people referred since")
    e.add_argument("--seed", type=int, required=True, help="integer seed for the new batch, recorded in the audit log")
    e.add_argument("--out", required=True, help="the extended allocation CSV to write")
    e.add_argument("--overwrite", action="store_true", help="replace an existing --out (logged)")
    e.set_defaults(func=_cmd_extend)

    d = sub.add_parser("demo", help="run the main job on built-in synthetic data")
    d.add_argument("--n", type=int, default=5000, help="number of synthetic people (default 5000)")
    d.add_argument("--seed", type=int, default=20180501,
                   help="seed of the population and the allocation (default 20180501)")
    d.add_argument("--out", help="folder for the output files (default: a new temporary folder)")
    d.add_argument("--overwrite", action="store_true", help="replace the report in --out")
    d.set_defaults(func=run_demo)

    w = sub.add_parser(
        "power",
        help="minimum detectable effect, sample size or power of a design",
        description="With --n (or --n-clusters): the MDE; with --mde: the sample size; with "
        "--effect and --n: the power. With --take-up or --contamination, --scale says whether "
        "--mde/--effect is the ITT effect or the CACE; binary effects as proportions (0.05 = 5 points).",
    )
    w.add_argument("--n", type=int, help="people randomised")
    w.add_argument("--n-clusters", type=int, dest="n_clusters", help="clusters randomised")
    w.add_argument("--mde", type=float, help="effect to detect: solve for the sample size")
    w.add_argument("--effect", type=float, help="effect: solve for the power")
    w.add_argument("--scale", choices=["itt", "cace", "odds_ratio", "risk_ratio", "hazard_ratio"], help="scale of --mde/--effect (needed with take-up)")
    w.add_argument("--sd", type=float, help="outcome SD (continuous outcome)")
    w.add_argument("--baseline-rate", type=float, dest="baseline_rate", help="control-arm rate (binary)")
    w.add_argument("--cluster-size", type=float, dest="cluster_size", help="mean people per cluster")
    w.add_argument("--icc", type=float, help="intraclass correlation (cluster designs)")
    w.add_argument("--r2", type=float, default=0.0, help="variance explained by covariates")
    w.add_argument("--ratio", help="allocation ratio control:treatment as in randomise, e.g. 1:2 (default 1:1)")
    w.add_argument("--treated-share", type=float, dest="treated_share",
                   help="fraction treated, instead of --ratio (default 0.5)")
    w.add_argument("--take-up", type=float, default=1.0, dest="take_up",
                   help="share of the treatment arm who take up the programme (default 1)")
    w.add_argument("--contamination", type=float, default=0.0,
                   help="share of the control arm who receive it or similar provision (default 0)")
    w.add_argument("--attrition", type=float, default=0.0, help="share lost to follow-up")
    w.add_argument("--alpha", type=float, default=0.05, help="two-sided test level (default 0.05)")
    w.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    w.add_argument("--outcome", help="outcome name for the summary")
    w.add_argument("--nested-in", choices=["treatment"], dest="nested_in",
                   help="partially nested: clusters (--cluster-size, --icc) in the treatment arm only")
    w.add_argument("--level3-size", type=float, dest="level3_size",
                   help="three-level: clusters per level-3 unit (--n-clusters counts level-3 units)")
    w.add_argument("--icc-level3", type=float, dest="icc_level3", help="three-level: level-3 ICC")
    w.add_argument("--moderator-share", type=float, dest="moderator_share",
                   help="solve for the difference between the effects of a binary moderator's subgroups")
    w.add_argument("--control-median", type=float, dest="control_median",
                   help="time to event: control median time (effects are hazard ratios)")
    w.add_argument("--accrual", type=float, help="time to event: uniform recruitment period")
    w.add_argument("--follow-up", type=float, dest="follow_up", help="time to event: follow-up after recruitment")
    w.add_argument("--events-formula", choices=["schoenfeld", "freedman"], dest="events_formula",
                   help="time to event: events formula (default schoenfeld)")
    w.set_defaults(func=_cmd_power)

    a = sub.add_parser(
        "analyse",
        help="run a pre-specified analysis plan on trial data and write the report",
        description="Reads the trial data (CSV or parquet, one row per person) and the analysis plan "
        "(TOML), runs exactly the plan, and writes one self-contained HTML report.",
    )
    a.add_argument("data", help="trial CSV (or .parquet) with the columns the plan names")
    a.add_argument("--plan", required=True, help="analysis plan (TOML)")
    a.add_argument("--out", required=True, help="HTML report to write (never overwritten)")
    a.add_argument("--markdown", help="also write the report as Markdown to this path")
    a.add_argument("--tables", help="also write every table as CSV into this folder")
    a.add_argument("--overwrite", action="store_true", help="replace existing output files")
    a.add_argument("--engine", choices=["pandas", "dask", "spark"], default="pandas",
                   help="what reads the data (default pandas). dask or spark read parquet lazily "
                   "(a file, a folder of parts or a glob) and bring the plan's columns into "
                   "memory, where the report runs")
    a.set_defaults(func=_cmd_analyse)

    add_outcomes_parser(sub)

    c = sub.add_parser(
        "selfcheck",
        help="re-run the shipped reference comparisons (R, statsmodels, published tables) on this install",
    )
    c.add_argument("references", nargs="*", help="reference names to run (default: all)")
    c.set_defaults(func=_cmd_selfcheck)
    return p


def _error(command: str, message: str) -> None:
    print(f"dwp-eval {command}: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dwp-eval``; returns the exit status.

    0 on success, 1 when ``selfcheck`` finds a disagreement, 2 for bad input or
    usage (the one-line message on standard error says what to fix), 70 for an
    internal error (a bug: the message asks for a report).
    """
    args = build_parser().parse_args(argv)
    try:
        with stdout_unless(not (args.quiet or args.json)):
            code = int(args.func(args))
    except AllocationExistsError as err:
        # the library's advice names the Python argument; give the command-line flag
        _error(args.command, str(err).replace("pass overwrite=True", "pass --overwrite"))
        return EXIT_BAD_INPUT
    except DwpEvalError as err:
        _error(args.command, str(err).replace("overwrite=True (--overwrite on the command line)",
                                              "--overwrite"))
        return EXIT_BAD_INPUT
    except OSError as err:  # a file that cannot be read or written: the user's to fix
        where = f" {str(err.filename)!r}" if err.filename else ""
        _error(args.command, f"cannot use{where}: {err.strerror or err}. Fix: check the path "
               "and its permissions.")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error(args.command, "interrupted.")
        return 130
    except Exception as err:
        _error(args.command, f"internal error: {type(err).__name__}: {err}")
        print("This is a bug in dwp_eval, not a problem with your input: please report it with "
              f"the command you ran and dwp-eval {__version__}.", file=sys.stderr)
        return EXIT_INTERNAL
    if args.json and args.payload is not None:
        print(json.dumps(jsonable({"command": args.command, "exit_status": code, **args.payload}),
                         indent=2))
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
