"""``dwp-eval demo``: the whole job on built-in synthetic data."""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from dwp_eval._version import __version__
from dwp_eval.cli.files import read_participants
from dwp_eval.datasets import SIMILAR_PROVISION, whp_like, whp_referrals
from dwp_eval.datasets.admin import whp_monthly_records
from dwp_eval.datasets.plans import whp_plan
from dwp_eval.design import Allocation, randomise
from dwp_eval.errors import DroppedRowsWarning, DwpEvalError, RecordProblemsWarning
from dwp_eval.monitor import contamination_summary, flag_contamination, take_up
from dwp_eval.outcomes import derive_outcomes
from dwp_eval.report.plan import AnalysisPlan
from dwp_eval.report.report import analyse

__all__ = ["run_demo"]


def _ours(caught: list[warnings.WarningMessage], category: type[Warning]) -> list[warnings.WarningMessage]:
    """The caught warnings of ``category``; every other warning is issued again as it came.

    ``catch_warnings(record=True)`` records every warning, not only the category
    the demo reports (a NumPy deprecation with warnings enabled, say): those are
    passed on to the warnings filters rather than read as record problems.
    """
    ours = []
    for w in caught:
        if issubclass(w.category, category):
            ours.append(w)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return ours


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo as ``dwp-eval demo`` does; returns the exit status."""
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
    for w in _ours(caught, RecordProblemsWarning):
        text = str(w.message)
        print(f"   Record problems, counted and reported: {text.split(': ', 1)[-1]}\n")
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
    if _ours(dropped, DroppedRowsWarning):
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
    args.payload = {"folder": str(out), "report": str(html_path),
                    "files": sorted(p.name for p in out.iterdir())}
    return 0
