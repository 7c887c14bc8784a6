"""The ``dwp-eval`` command line, run in-process through ``dwp_eval.cli.main``."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dwp_eval.cli import _parse_arms, main, read_participants
from dwp_eval.design import Allocation
from dwp_eval.errors import DwpEvalError


@pytest.fixture
def csv(tmp_path, people):
    path = tmp_path / "participants.csv"
    people.to_csv(path, index=False)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_randomise_then_verify(tmp_path, capsys, csv, people) -> None:
    out_path = tmp_path / "allocation.csv"
    code, out, err = run(capsys, "randomise", csv, "--strata", "site", "benefit", "--seed", 20180501, "--out", out_path)
    assert code == 0, err
    assert "Allocation (stratified randomisation, complete)" in out
    assert f"Wrote {out_path} and its audit log {tmp_path / 'allocation.csv.audit.json'}." in out
    alloc = Allocation.read(out_path)
    assert alloc.seed == 20180501 and alloc.n == len(people)
    alloc.verify(people)
    code, out, err = run(capsys, "verify", out_path, csv)
    assert code == 0, err
    assert re.search(r"Verified: re-running the 1 recorded batch\(es\) from their seeds reproduces all 240 allocations", out)


def test_randomise_twice_to_the_same_out_is_refused(tmp_path, capsys, csv) -> None:
    out_path = tmp_path / "allocation.csv"
    assert run(capsys, "randomise", csv, "--seed", 1, "--out", out_path)[0] == 0
    before = out_path.read_bytes()
    code, out, err = run(capsys, "randomise", csv, "--seed", 2, "--out", out_path)
    assert code == 2
    assert out == ""
    assert err.startswith("dwp-eval randomise: error: Allocation.write: ")
    assert "already exist(s); an allocation is never overwritten by accident" in err
    assert "pass --overwrite if you really mean to replace it" in err and "overwrite=True" not in err
    assert out_path.read_bytes() == before
    code, out, err = run(capsys, "randomise", csv, "--seed", 2, "--out", out_path, "--overwrite")
    assert code == 0, err
    assert len(Allocation.read(out_path).metadata["replaced"]) == 1


def test_ratio_arms_method_and_cluster_options(tmp_path, capsys, csv, people) -> None:
    out_path = tmp_path / "a.csv"
    code, _, err = run(
        capsys, "randomise", csv, "--strata", "site", "--cluster", "office", "--ratio", "2:1:1",
        "--arms", "control", "ips", "ips_plus", "--method", "permuted_blocks", "--block-sizes", "4", "8",
        "--order", "referred_day", "--seed", 5, "--out", out_path,
    )  # fmt: skip
    assert code == 0, err
    alloc = Allocation.read(out_path)
    assert alloc.arms == ("control", "ips", "ips_plus")
    d = alloc.metadata["design"]
    assert d["weights"] == [2, 1, 1] and d["block_sizes"] == [4, 8] and d["order"] == "referred_day"
    assert d["label"] == "stratified-cluster"
    assert run(capsys, "verify", out_path, csv)[0] == 0


def test_default_arm_names_follow_the_ratio() -> None:
    assert _parse_arms("1:2", None) == {"control": 1, "treatment": 2}
    assert _parse_arms("2:1:1", None) == {"control": 2, "treatment_1": 1, "treatment_2": 1}
    assert _parse_arms("1.5:1", ["c", "t"]) == {"c": 1.5, "t": 1}
    with pytest.raises(DwpEvalError, match=r"--ratio must be numbers separated by ':' such as 1:1 or 2:1:1\. Got '1-1'"):
        _parse_arms("1-1", None)
    with pytest.raises(DwpEvalError, match=r"--arms names 3 arm\(s\) but --ratio '1:1' gives 2 ratio\(s\)"):
        _parse_arms("1:1", ["a", "b", "c"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ratio", "1:x"], "--ratio must be numbers separated by ':'"),
        (["--ratio", "0:1"], "must give each arm a positive number as its ratio. Got 0 for arm 'control'"),
        (["--strata", "region"], "column 'region' (strata) is not in the data."),
        (["--method", "permuted_blocks", "--block-sizes", "3"], "must hold multiples of 2"),
    ],
)
def test_bad_input_exits_2_with_the_message(tmp_path, capsys, csv, argv, message) -> None:
    code, out, err = run(capsys, "randomise", csv, "--seed", 1, "--out", tmp_path / "x.csv", *argv)
    assert code == 2 and out == ""
    assert err.startswith("dwp-eval randomise: error: ") and message in err
    assert not (tmp_path / "x.csv").exists()


def test_verify_of_a_tampered_file_exits_2(tmp_path, capsys, csv) -> None:
    out_path = tmp_path / "a.csv"
    run(capsys, "randomise", csv, "--seed", 1, "--out", out_path)
    text = out_path.read_text()
    out_path.write_text(text.replace(",treatment,", ",control,", 1))
    code, _, err = run(capsys, "verify", out_path, csv)
    assert code == 2 and "has changed since it was written" in err


def test_extend_twice_then_verify_the_union(tmp_path, capsys, people) -> None:
    first, second, third = people.iloc[:150], people.iloc[150:200], people.iloc[200:]
    paths = {}
    for name, frame in [("first", first), ("second", second), ("third", third), ("all", people)]:
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    a1, a2, a3 = (tmp_path / f"alloc_{k}.csv" for k in (1, 2, 3))
    assert run(capsys, "randomise", paths["first"], "--strata", "site", "--seed", 1, "--out", a1)[0] == 0
    code, out, err = run(capsys, "extend", a1, paths["second"], "--seed", 2, "--out", a2)
    assert code == 0, err
    assert f"{a1} is unchanged" in out
    # the extended file (complete batch, then a rolling batch) is itself extended
    code, out, err = run(capsys, "extend", a2, paths["third"], "--seed", 3, "--out", a3)
    assert code == 0, err
    final = Allocation.read(a3)
    assert [b["seed"]["seed"] for b in final.metadata["batches"]] == [1, 2, 3]
    assert final.n == 240
    code, out, err = run(capsys, "verify", a3, paths["all"])
    assert code == 0, err
    assert "re-running the 3 recorded batch(es)" in out
    # extending with someone already allocated is refused
    code, _, err = run(capsys, "extend", a3, paths["second"], "--seed", 4, "--out", tmp_path / "x.csv")
    assert code == 2 and "50 id(s) in new_people are already allocated" in err


def test_ids_with_leading_zeros_survive(tmp_path, capsys) -> None:
    csv = tmp_path / "p.csv"
    ids = [f"{k:03d}" for k in range(1, 41)]
    pd.DataFrame({"id": ids, "site": ["01", "02"] * 20}).to_csv(csv, index=False)
    out_path = tmp_path / "a.csv"
    assert run(capsys, "randomise", csv, "--strata", "site", "--seed", 1, "--out", out_path)[0] == 0
    assert out_path.read_text().splitlines()[1].startswith("001,")
    alloc = Allocation.read(out_path)
    assert alloc.table["id"].tolist() == ids
    assert set(alloc.table["stratum"].astype(str)) == {"01", "02"}
    assert alloc.metadata["id_kind"] == "str"
    code, out, err = run(capsys, "verify", out_path, csv)
    assert code == 0, err
    assert "Verified" in out


def test_read_participants_keeps_text_and_plain_integers(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,site,other\n1,01,007\n20,02,8\n")
    frame = read_participants(path, ["site"], "id")
    assert frame["id"].dtype == "int64" and frame["id"].tolist() == [1, 20]
    assert frame["site"].tolist() == ["01", "02"]
    path.write_text("id,site\n007,1\n20,2\n")
    assert read_participants(path, ["site"], "id")["id"].tolist() == ["007", "20"]


def test_demo_runs_and_verifies(tmp_path, capsys) -> None:
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--n", 500)
    assert code == 0, err
    assert "1. Population: 500 referrals" in out
    assert "Writing again is refused" in out
    assert "4. Verified: re-drawing from the audit log's seed reproduces every person's arm" in out
    assert "Baseline balance" in out and "health_condition=mental_health" in out
    assert "Take-up by arm" in out and "Contamination by site" in out
    assert "raises 13+ weeks in work by 4.0 pp" in out
    assert "get no outcome yet (NA with a reason, never a zero)" in out
    assert "ITT impact of treatment vs control" in out
    assert "CACE of treatment vs control on employed_13_weeks" in out and "AR 95% CI" in out
    n_analysed = re.search(r"^employed_13_weeks +all .* (\d+)$", out, flags=re.M)
    assert n_analysed is not None and 400 < int(n_analysed.group(1)) <= 500
    for outcome in ("any_employment", "cumulative_earnings", "sustained_earnings",
                    "days_on_benefit"):
        assert re.search(rf"^{outcome} +all .* {n_analysed.group(1)}$", out, flags=re.M), outcome
    demo = tmp_path / "demo"
    assert "The impact report (flow diagram" in out and str(demo / "report.html") in out
    assert sorted(p.name for p in demo.iterdir()) == [
        "allocation.csv",
        "allocation.csv.audit.json",
        "benefit_spells.csv",
        "monthly_earnings.csv",
        "outcomes.csv",
        "participants.csv",
        "plan.toml",
        "programme_starts.csv",
        "referrals.csv",
        "report.acro.json",
        "report.html",
        "tables",
        "trial.csv",
    ]
    html = (demo / "report.html").read_text(encoding="utf-8")
    assert "Participant flow (CONSORT 2010)" in html and "data:image/png;base64," in html


@pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning")
def test_analyse_command_runs_the_plan_on_the_demo_files(tmp_path, capsys) -> None:
    demo = tmp_path / "demo"
    code, _, err = run(capsys, "demo", "--out", demo, "--n", 600)
    assert code == 0, err
    out_html = tmp_path / "again.html"
    code, out, err = run(capsys, "analyse", demo / "trial.csv", "--plan", demo / "plan.toml",
                         "--out", out_html, "--markdown", tmp_path / "again.md",
                         "--tables", tmp_path / "tables")
    assert code == 0, err
    assert f"Wrote the report to {out_html}" in out
    assert "sha256" in out
    a = pd.read_csv(demo / "tables" / "impact.csv")
    b = pd.read_csv(tmp_path / "tables" / "impact.csv")
    pd.testing.assert_frame_equal(a, b)  # the CSV round trip gives the same report
    code, _, err = run(capsys, "analyse", demo / "trial.csv", "--plan", demo / "plan.toml",
                       "--out", out_html)
    assert code == 2
    assert "already exists and would be overwritten" in err and "--overwrite" in err
    code, _, err = run(capsys, "analyse", demo / "trial.csv", "--plan", demo / "plan.toml",
                       "--out", tmp_path / "third.html", "--markdown", tmp_path / "again.md")
    assert code == 2
    assert "again.md' already exists and would be overwritten" in err and "--overwrite" in err
    assert not (tmp_path / "third.html").exists()  # all outputs or none
    bad = tmp_path / "bad.toml"
    bad.write_text((demo / "plan.toml").read_text().replace('"age", "female"', '"age", "sex"'))
    code, _, err = run(capsys, "analyse", demo / "trial.csv", "--plan", bad, "--out",
                       tmp_path / "x.html")
    assert code == 2
    assert "names 'sex' ([analysis] covariates), which the data do not have" in err
    assert not (tmp_path / "x.html").exists()


def test_version_and_usage(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("dwp-eval ")
    with pytest.raises(SystemExit) as info:
        main(["randomise", "x.csv"])  # --seed and --out are required
    assert info.value.code == 2
    assert "--seed" in capsys.readouterr().err


def test_verify_checks_a_registered_commitment(tmp_path, capsys, csv, people) -> None:
    """``dwp-eval verify --commitment`` checks the registered commitment, as
    ``Allocation.verify(data, commitment=...)`` does: a consistent re-randomisation
    under another seed verifies on its own but not against the registered value."""
    registered = tmp_path / "registered.csv"
    assert run(capsys, "randomise", csv, "--seed", 20180501, "--out", registered)[0] == 0
    commitment = Allocation.read(registered).commitment
    code, out, err = run(capsys, "verify", registered, csv, "--commitment", commitment, "--json")
    assert code == 0, err
    assert '"commitment_checked": true' in out
    code, out, err = run(capsys, "verify", registered, csv, "--commitment", commitment)
    assert code == 0 and f"matches the registered commitment {commitment[:16]}" in out
    shopped = tmp_path / "shopped.csv"  # another seed, both files consistent
    assert run(capsys, "randomise", csv, "--seed", 7, "--out", shopped)[0] == 0
    assert run(capsys, "verify", shopped, csv)[0] == 0
    code, out, err = run(capsys, "verify", shopped, csv, "--commitment", commitment)
    assert code == 2 and out == ""
    assert err.startswith("dwp-eval verify: error: ") and "commitment" in err
    code, _, err = run(capsys, "verify", registered, csv, "--commitment", "not-a-sha")
    assert code == 2
    assert "The 'commitment' parameter of Allocation.verify must be the 64 hexadecimal digits" in err


def test_verify_help_documents_commitment(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "--commitment" in capsys.readouterr().out
