"""The ``dwp-eval`` command line.

```sh
dwp-eval demo
dwp-eval randomise participants.csv --id id --strata site benefit --ratio 1:1 \\
    --seed 20180501 --out allocation.csv
dwp-eval verify allocation.csv participants.csv
dwp-eval extend allocation.csv new_referrals.csv --seed 20180601 --out allocation_2.csv
dwp-eval analyse trial.csv --plan plan.toml --out report.html
```
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dwp_eval._version import __version__
from dwp_eval.datasets import SIMILAR_PROVISION, whp_like, whp_referrals
from dwp_eval.datasets.admin import whp_monthly_records
from dwp_eval.datasets.plans import whp_plan
from dwp_eval.design import Allocation, randomise
from dwp_eval.errors import (
    AllocationExistsError,
    DroppedRowsWarning,
    DwpEvalError,
    RecordProblemsWarning,
)
from dwp_eval.monitor import contamination_summary, flag_contamination, take_up
from dwp_eval.outcomes import derive_outcomes
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.report import analyse

_INT_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)$")


def read_participants(path: str | Path, text_columns: Sequence[str], id: str | None = None) -> pd.DataFrame:
    """Read a participants CSV keeping ids, strata and clusters exactly as written.

    Strata and cluster columns are read as text (so ``01`` stays ``01``); the id
    column is read as text and becomes integer only if every id is a plain
    integer without leading zeros.
    """
    cols = [c for c in text_columns if c]
    if id is not None:
        cols.append(id)
    frame = pd.read_csv(path, dtype=dict.fromkeys(cols, str), keep_default_na=True)
    if id is not None and id in frame.columns:
        ids = frame[id]
        if ids.notna().all() and ids.astype(str).str.fullmatch(_INT_TEXT).all():
            frame[id] = ids.astype("int64")
    return frame


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


def _cmd_randomise(args: argparse.Namespace) -> int:
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
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    alloc = Allocation.read(args.allocation)
    d = alloc.metadata["design"]
    data = read_participants(args.participants, [*d["strata"], d["cluster"]], d["id"])
    alloc.verify(data)
    print(
        f"Verified: re-running the {len(alloc.metadata['batches'])} recorded batch(es) from their "
        f"seeds reproduces all {alloc.n:,} allocations in {args.allocation} "
        f"(fingerprint {alloc.fingerprint[:16]}...)."
    )
    return 0


def _cmd_extend(args: argparse.Namespace) -> int:
    alloc = Allocation.read(args.allocation)
    d = alloc.metadata["design"]
    data = read_participants(args.new_people, [*d["strata"], d["cluster"]], d["id"])
    new = alloc.extend(data, seed=args.seed)
    log = new.write(args.out, overwrite=args.overwrite)
    print(new.summary())
    print(f"\nWrote {args.out} and its audit log {log}; {args.allocation} is unchanged.")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="dwp_eval_demo_"))
    print(f"dwp_eval {__version__} demo: a synthetic Work-and-Health-style trial\n")
    people = whp_like(n=args.n, seed=args.seed)
    print(
        f"1. Population: {len(people):,} referrals at {people['jobcentre'].nunique()} jobcentres "
        f"in {people['site'].nunique()} sites (datasets.whp_like, seed {args.seed})."
    )
    out.mkdir(parents=True, exist_ok=True)
    participants = out / "participants.csv"
    people.to_csv(participants, index=False)
    alloc = randomise(people, strata=["site", "benefit"], seed=args.seed)
    print("2. Randomised 1:1 within site x benefit strata.\n")
    print(alloc.summary())
    path = out / "allocation.csv"
    log = alloc.write(path)
    print(f"\n3. Wrote {path} and its audit log {log.name}.")
    try:
        alloc.write(path)
    except DwpEvalError as err:
        print(f"   Writing again is refused: {str(err).split(';')[0]}.")
    again = Allocation.read(path)
    d = again.metadata["design"]
    again.verify(read_participants(participants, [*d["strata"], d["cluster"]], d["id"]))
    print(
        "4. Verified: re-drawing from the audit log's seed reproduces every person's arm "
        f"(fingerprint {again.fingerprint[:16]}...).\n"
    )
    print("5. Baseline balance:\n")
    print(
        again.balance(
            people,
            ["age", "female", "disability", "months_out_of_work", "prior_earnings", "health_condition"],
        ).summary()
    )
    arm = again.table.set_index(d["id"])["arm"].reindex(people["id"]).to_numpy()
    people = people.assign(arm=arm)
    records = whp_referrals(people, arm, seed=args.seed + 1)
    records.starts.to_csv(out / "programme_starts.csv", index=False)
    records.referrals.to_csv(out / "referrals.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecordProblemsWarning)
        started = take_up(people, records.starts, randomised="referred_on")
        flags = flag_contamination(
            people, records.referrals, randomised="referred_on", similar=SIMILAR_PROVISION,
            window_days=(0, 365), min_days=7, keep="site",
        )
    print(
        f"\n6. Programme starts ({len(records.starts):,}) and referral records "
        f"({len(records.referrals):,}) to other provision, simulated by datasets.whp_referrals.\n"
        "   Take-up: a programme start within a year of randomisation. Contamination: a control-"
        f"arm referral to similar provision ({', '.join(SIMILAR_PROVISION)}) within a year, "
        "lasting 7+ days.\n"
    )
    for w in caught:
        print(f"   Record problems, counted and reported: {str(w.message).split(': ', 1)[1]}\n")
    print(contamination_summary(started).summary())
    print()
    control = flags[flags["arm"] == "control"]
    print(contamination_summary(control, by="site", threshold=0.08).summary())
    received = (
        started["received"].to_numpy(dtype=int)
        | flags["contaminated"].to_numpy(dtype=int)
        | flags["also_received"].to_numpy(dtype=int)
    )
    admin = whp_monthly_records(people, arm, seed=args.seed + 2, received=received,
                                data_end="2020-03-31")
    admin.employment.to_csv(out / "monthly_earnings.csv", index=False)
    admin.benefits.to_csv(out / "benefit_spells.csv", index=False)
    outcomes = derive_outcomes(people, employment=admin.employment, benefits=admin.benefits,
                               randomised="referred_on", months=12)
    outcomes.to_csv(out / "outcomes.csv", index=False)
    follow = outcomes.attrs["follow_up"]
    true_cace = admin.truth.attrs["true_cace"]["employed_13_weeks"]
    print(
        f"\n7. Monthly earnings records ({len(admin.employment):,} person-months, like HMRC RTI) "
        f"and benefit spells ({len(admin.benefits):,}) to {follow['data_end']}, simulated by "
        "datasets.admin.whp_monthly_records:\n"
        f"   receiving the programme (or provision like it) raises 13+ weeks in work by "
        f"{100 * true_cace:.1f} pp.\n"
        "   Outcomes over the 12 months after randomisation (dwp_eval.derive_outcomes): "
        f"{follow['n_complete']:,} people have complete follow-up;\n"
        f"   {follow['n_incomplete'] + follow['n_not_started']:,} randomised later get no "
        "outcome yet (NA with a reason, never a zero).\n"
    )
    trial = (
        people.drop(columns="arm")
        .merge(outcomes.drop(columns=["reason", "follow_up_end"]), on="id", validate="one_to_one")
        .merge(again.table[[d["id"], "arm", "stratum"]], on=d["id"], validate="one_to_one")
        .assign(
            received=received,
            contaminated=flags["contaminated"].to_numpy(dtype=int),
            followed_up=outcomes["follow_up_complete"].to_numpy(dtype=int),
        )
        .drop(columns="follow_up_complete")
    )
    trial.to_csv(out / "trial.csv", index=False)
    plan_path = out / "plan.toml"
    plan_path.write_text(whp_plan(), encoding="utf-8")
    plan = AnalysisPlan.read(plan_path)
    with warnings.catch_warnings(record=True) as dropped:
        warnings.simplefilter("always", DroppedRowsWarning)
        report = analyse(trial, plan)
    print(
        f"8. The pre-specified analysis plan {plan_path.name} (sha256 {plan.fingerprint[:16]}...) "
        "run by dwp_eval.analyse.\n   ITT impacts: Lin-adjusted for baseline covariates, strata "
        "as fixed effects, HC2 standard errors, Holm within primary and secondary outcomes:\n"
    )
    print(report.results["impact"].summary())
    if dropped:
        lost = int((trial["followed_up"] == 0).sum())
        print(f"   ({lost:,} people without complete follow-up are counted in the flow diagram "
              "and left out of the impacts, as the plan says (missing = \"drop\"); the report's "
              "notes count every row left out.)")
    effect = report.results["cace"]["employed_13_weeks"]
    print(
        "\n9. CACE: the effect of receiving the programme on those who receive it because they "
        "were offered it\n   (2SLS, assignment instrumenting receipt; contaminated controls "
        "count as receiving):\n"
    )
    print(effect.summary())
    html_path = report.to_html(out / "report.html", overwrite=args.overwrite)
    report.to_csv(out / "tables", overwrite=args.overwrite)
    print(
        f"\n10. The impact report (flow diagram, balance, impacts, subgroups, contamination by "
        f"site, CACE, MDE achieved;\n    counts under 10 suppressed, others rounded to 5): "
        f"{html_path}\n"
    )
    print(f"Files are in {out}")
    return 0


def _cmd_power(args: argparse.Namespace) -> int:
    from dwp_eval.design.power import mde, power, sample_size

    design = {
        "alpha": args.alpha,
        "ratio": args.ratio,
        "sd": args.sd,
        "baseline_rate": args.baseline_rate,
        "r2": args.r2,
        "cluster_size": args.cluster_size,
        "icc": args.icc,
        "take_up": args.take_up,
        "contamination": args.contamination,
        "attrition": args.attrition,
        "outcome": args.outcome,
    }
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
    return 0


def _cmd_analyse(args: argparse.Namespace) -> int:
    from dwp_eval.report.plan import AnalysisPlan
    from dwp_eval.report.report import analyse

    plan = AnalysisPlan.read(args.plan)
    for target in (args.out, args.markdown):
        if target and Path(target).exists() and not args.overwrite:
            # checked before anything is computed or written: all outputs or none
            raise DwpEvalError(
                f"{str(target)!r} already exists and would be overwritten. Fix: choose another "
                "path, or pass --overwrite."
            )
    d = plan.design
    text = [c for c in (d["assigned"], d["strata"], d["cluster"], d["site"], d["excluded"]) if c]
    data = read_participants(args.data, text, d["id"])
    report = analyse(data, plan)
    # every output checked before any is written, each written whole: all or none
    written = report.write(html=args.out, markdown=args.markdown, tables=args.tables,
                           overwrite=args.overwrite)
    print(f"Ran the analysis plan {args.plan} (sha256 {plan.fingerprint[:16]}...) on "
          f"{len(data):,} rows of {args.data}.")
    if args.markdown:
        print(f"Wrote {written['markdown']}")
    if args.tables:
        print(f"Wrote {len(written['tables'])} tables to {args.tables}")
    print(f"Wrote the report to {written['html']}")
    return 0


def _cmd_selfcheck(args: argparse.Namespace) -> int:
    from dwp_eval.references import selfcheck

    res = selfcheck(args.references or None, verbose=True)
    return 0 if res.passed else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dwp-eval``."""
    p = argparse.ArgumentParser(prog="dwp-eval", description="Randomised trials of employment programmes.")
    p.add_argument("--version", action="version", version=f"dwp-eval {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("randomise", help="allocate participants to arms and write an audit log")
    r.add_argument("participants", help="CSV with one row per participant")
    r.add_argument("--id", default="id", help="id column (default: id)")
    r.add_argument("--strata", nargs="+", help="column(s) to stratify on")
    r.add_argument("--cluster", help="column of the unit of assignment (cluster designs)")
    r.add_argument("--ratio", default="1:1", help="allocation ratio, e.g. 1:1 or 2:1:1 (default 1:1)")
    r.add_argument("--arms", nargs="+", help="arm names in the order of --ratio (default control treatment)")
    r.add_argument("--seed", type=int, required=True, help="integer seed, recorded in the audit log")
    r.add_argument("--method", default="complete", choices=["complete", "permuted_blocks"])
    r.add_argument("--block-sizes", type=int, nargs="+", dest="block_sizes", help="permuted block sizes")
    r.add_argument("--order", help="arrival-order column for permuted blocks (e.g. referral date)")
    r.add_argument("--out", required=True, help="allocation CSV to write (never overwritten)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing allocation (logged)")
    r.set_defaults(func=_cmd_randomise)

    v = sub.add_parser("verify", help="re-run an allocation from its audit log")
    v.add_argument("allocation", help="allocation CSV written by `dwp-eval randomise`")
    v.add_argument("participants", help="the participants CSV that was randomised")
    v.set_defaults(func=_cmd_verify)

    e = sub.add_parser("extend", help="allocate later referrals without changing earlier ones")
    e.add_argument("allocation", help="allocation CSV written by `dwp-eval randomise`")
    e.add_argument("new_people", help="CSV of people referred since")
    e.add_argument("--seed", type=int, required=True)
    e.add_argument("--out", required=True, help="the extended allocation CSV to write")
    e.add_argument("--overwrite", action="store_true")
    e.set_defaults(func=_cmd_extend)

    d = sub.add_parser("demo", help="run the main job on built-in synthetic data")
    d.add_argument("--n", type=int, default=5000, help="number of synthetic people (default 5000)")
    d.add_argument("--seed", type=int, default=20180501)
    d.add_argument("--out", help="folder for the output files (default: a new temporary folder)")
    d.add_argument("--overwrite", action="store_true", help="replace the report in --out")
    d.set_defaults(func=_cmd_demo)

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
    w.add_argument("--scale", choices=["itt", "cace"], help="scale of --mde/--effect (needed with take-up)")
    w.add_argument("--sd", type=float, help="outcome SD (continuous outcome)")
    w.add_argument("--baseline-rate", type=float, dest="baseline_rate", help="control-arm rate (binary)")
    w.add_argument("--cluster-size", type=float, dest="cluster_size", help="mean people per cluster")
    w.add_argument("--icc", type=float, help="intraclass correlation (cluster designs)")
    w.add_argument("--r2", type=float, default=0.0, help="variance explained by covariates")
    w.add_argument("--ratio", type=float, default=0.5, help="fraction treated (default 0.5)")
    w.add_argument("--take-up", type=float, default=1.0, dest="take_up")
    w.add_argument("--contamination", type=float, default=0.0)
    w.add_argument("--attrition", type=float, default=0.0, help="share lost to follow-up")
    w.add_argument("--alpha", type=float, default=0.05)
    w.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    w.add_argument("--outcome", help="outcome name for the summary")
    w.set_defaults(func=_cmd_power)

    a = sub.add_parser(
        "analyse",
        help="run a pre-specified analysis plan on trial data and write the report",
        description="Reads the trial data (CSV, one row per person) and the analysis plan "
        "(TOML), runs exactly the plan, and writes one self-contained HTML report.",
    )
    a.add_argument("data", help="trial CSV with the columns the plan names")
    a.add_argument("--plan", required=True, help="analysis plan (TOML)")
    a.add_argument("--out", required=True, help="HTML report to write (never overwritten)")
    a.add_argument("--markdown", help="also write the report as Markdown to this path")
    a.add_argument("--tables", help="also write every table as CSV into this folder")
    a.add_argument("--overwrite", action="store_true", help="replace existing output files")
    a.set_defaults(func=_cmd_analyse)

    c = sub.add_parser(
        "selfcheck",
        help="re-run the shipped reference comparisons (R, statsmodels, published tables) on this install",
    )
    c.add_argument("references", nargs="*", help="reference names to run (default: all)")
    c.set_defaults(func=_cmd_selfcheck)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dwp-eval``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AllocationExistsError as err:
        # the library's advice names the Python argument; give the command-line flag
        msg = str(err).replace("pass overwrite=True", "pass --overwrite")
        print(f"dwp-eval {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except DwpEvalError as err:
        print(f"dwp-eval {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
