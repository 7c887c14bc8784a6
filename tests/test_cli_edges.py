"""The command line at its edges: bad files, exit statuses, --quiet/--json, outputs, help.

Each case is one a user met: a traceback for a missing or malformed file, a parquet
file read as CSV, two outputs to one path, a tables folder that failed after the
HTML was written, a crash of ``demo`` with warnings enabled.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import warnings

import pandas as pd
import pytest

import dwp_eval.cli as cli
from dwp_eval.cli import build_parser, main
from dwp_eval.design import Allocation


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, command: str) -> str:
    """The error is one line, starts with the command and holds no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"dwp-eval {command}: error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture
def csv(tmp_path, people):
    path = tmp_path / "participants.csv"
    people.to_csv(path, index=False)
    return path


# -- input files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"participants file '.*nope\.csv' does not exist\. Fix: check the path"),
        (b"", r"participants file '.*bad\.csv' is empty\. Fix: give a CSV file with a header row"),
        (b"\n\n", r"participants file '.*bad\.csv' has no header row"),
        (b"id,site\n", r"participants file '.*bad\.csv' has a header \(id, site\) but no rows"),
        (b"id,site\n1,a\n2,b,c,d\n3,c\n",
         r"is not a well-formed CSV file: Expected 2 fields in line 3, saw 4\. Fix: every row must"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"is not a text CSV file \(it holds binary data\)"),
        (b"PAR1\x15\x04\x15\x10", r"It looks like parquet: name it with a \.parquet extension"),
        ("id,site\n1,\u00e9\n".encode("latin-1"), r"is not UTF-8 text\. Fix: save it as CSV with UTF-8"),
    ],
    ids=["missing", "empty", "blank-lines", "header-only", "ragged", "binary", "parquet-as-csv",
         "latin-1"],
)
def test_bad_participants_files_are_one_line_errors(tmp_path, capsys, content, message) -> None:
    path = tmp_path / ("nope.csv" if content is None else "bad.csv")
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "randomise", path, "--seed", 1, "--out", tmp_path / "a.csv")
    assert code == 2 and out == ""
    assert re.search(message, one_line_error(err, "randomise")), err
    assert not (tmp_path / "a.csv").exists()


def test_a_folder_as_input_and_a_missing_allocation(tmp_path, capsys, csv) -> None:
    code, _, err = run(capsys, "randomise", tmp_path, "--seed", 1, "--out", tmp_path / "a.csv")
    assert code == 2 and "is a folder, not a file" in one_line_error(err, "randomise")
    code, _, err = run(capsys, "verify", tmp_path / "gone.csv", csv)
    assert code == 2
    assert "allocation file" in one_line_error(err, "verify") and "does not exist" in err
    code, _, err = run(capsys, "extend", tmp_path / "gone.csv", csv, "--seed", 1, "--out",
                       tmp_path / "b.csv")
    assert code == 2 and "does not exist" in one_line_error(err, "extend")


def test_parquet_without_pyarrow_names_the_install(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "people.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 16 + b"PAR1")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real(name, *a))
    code, _, err = run(capsys, "randomise", path, "--seed", 1, "--out", tmp_path / "a.csv")
    assert code == 2
    line = one_line_error(err, "randomise")
    assert "is a parquet file, and reading parquet needs pyarrow, which is not installed" in line
    assert "Fix: pip install pyarrow (or save the table as CSV)" in line


def test_parquet_is_read_like_csv(tmp_path, capsys, people) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "people.parquet"
    people.to_parquet(path, index=False)
    out_path = tmp_path / "a.csv"
    code, _, err = run(capsys, "randomise", path, "--strata", "site", "--seed", 3, "--out", out_path)
    assert code == 0, err
    assert Allocation.read(out_path).n == len(people)
    assert run(capsys, "verify", out_path, path)[0] == 0


def test_unwritable_out_is_refused_before_any_work(tmp_path, capsys, csv) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, out, err = run(capsys, "randomise", csv, "--seed", 1, "--out", blocker / "a.csv")
    assert code == 2 and out == ""
    assert "--out: cannot write into" in one_line_error(err, "randomise")
    assert "is a file, not a folder" in err
    code, _, err = run(capsys, "randomise", csv, "--seed", 1, "--out", tmp_path)
    assert code == 2 and "is a folder. Fix: name a file to write" in one_line_error(err, "randomise")


# -- exit statuses -----------------------------------------------------------------------------


def test_an_internal_error_exits_70_and_asks_for_a_report(tmp_path, capsys, csv, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(cli, "randomise", broken)
    code, out, err = run(capsys, "randomise", csv, "--seed", 1, "--out", tmp_path / "a.csv")
    assert code == cli.EXIT_INTERNAL == 70 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "dwp-eval randomise: error: internal error: ZeroDivisionError: float division by zero"
    assert "This is a bug in dwp_eval, not a problem with your input: please report it" in lines[1]
    assert "Traceback" not in err


def test_help_documents_the_exit_statuses(capsys) -> None:
    for argv in (["--help"], ["analyse", "--help"], ["power", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        text = capsys.readouterr().out
        assert "exit status:" in text
        assert "2   bad input or usage" in text and "70  internal error in dwp_eval" in text


def _actions(parser: argparse.ArgumentParser, path: str = "dwp-eval"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        else:
            yield path, action


def test_every_option_has_help() -> None:
    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}"
               for path, a in _actions(build_parser())
               if not a.help or a.help == argparse.SUPPRESS]
    assert missing == []


# -- power: one meaning of --ratio, sizes that cannot be computed --------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ratio", "1e-9"], "--ratio is the allocation ratio control:treatment, as in randomise "
                              "(e.g. 1:1 or 1:2). Got '1e-9'. For the fraction treated use "
                              "--treated-share (e.g. --treated-share 1e-9)."),
        (["--ratio", "0.5"], "For the fraction treated use --treated-share"),
        (["--ratio", "0:1"], "--ratio is the allocation ratio control:treatment"),
        (["--treated-share", "1e-9"], "--treated-share 1e-09 of 100 leaves an arm with no one"),
        (["--treated-share", "1.5"], "--treated-share must be between 0 and 1 (exclusive). Got 1.5."),
        (["--ratio", "1:2", "--treated-share", "0.5"], "give --ratio (control:treatment, e.g. 1:2) "
                                                      "or --treated-share, not both."),
    ],
)
def test_power_ratio_means_what_it_means_in_randomise(capsys, argv, message) -> None:
    code, out, err = run(capsys, "power", "--n", 100, "--sd", 1, *argv)
    assert code == 2 and out == ""
    assert message in one_line_error(err, "power")


def test_power_ratio_and_treated_share_agree(capsys) -> None:
    code, by_ratio, _ = run(capsys, "power", "--n", 300, "--sd", 1, "--ratio", "1:2", "--json")
    assert code == 0
    code, by_share, _ = run(capsys, "power", "--n", 300, "--sd", 1, "--treated-share", 2 / 3, "--json")
    assert code == 0
    a, b = json.loads(by_ratio)["result"][0], json.loads(by_share)["result"][0]
    assert a["mde"] == pytest.approx(b["mde"], rel=1e-12)
    default = json.loads(run(capsys, "power", "--n", 300, "--sd", 1, "--json")[1])["result"][0]
    assert a["mde"] > default["mde"]  # 1:2 is less efficient than 1:1


@pytest.mark.parametrize("argv", [["--n", 100, "--sd", "1e300"], ["--mde", "0.1", "--sd", "1e300"],
                                  ["--effect", "1e200", "--n", 100, "--sd", 1]])
def test_power_with_numbers_too_large_is_a_one_line_error(capsys, argv) -> None:
    code, _, err = run(capsys, "power", *argv)
    assert code == 2
    assert "is too large to compute with (its square is not a finite number)" in one_line_error(err, "power")


# -- --quiet and --json ------------------------------------------------------------------------


def test_quiet_and_json(tmp_path, capsys, csv, people) -> None:
    a = tmp_path / "a.csv"
    code, out, err = run(capsys, "randomise", csv, "--strata", "site", "--seed", 4, "--out", a, "-q")
    assert (code, out, err) == (0, "", "")
    b = tmp_path / "b.csv"
    code, out, _ = run(capsys, "randomise", csv, "--strata", "site", "--seed", 4, "--out", b, "--json")
    assert code == 0
    got = json.loads(out)
    alloc = Allocation.read(b)
    assert got["command"] == "randomise" and got["exit_status"] == 0
    assert got["allocation"] == str(b) and got["audit_log"].endswith(".audit.json")
    assert got["n"] == len(people) and sum(got["arms"].values()) == len(people)
    assert got["seed"] == alloc.seed and got["fingerprint"] == alloc.fingerprint
    code, out, _ = run(capsys, "verify", b, csv, "--json")
    assert code == 0 and json.loads(out) == {
        "command": "verify", "exit_status": 0, "verified": True, "allocation": str(b),
        "n": len(people), "batches": 1, "fingerprint": alloc.fingerprint,
        "commitment_checked": False}
    assert run(capsys, "verify", b, csv, "--quiet")[1:] == ("", "")
    code, out, _ = run(capsys, "power", "--baseline-rate", 0.2, "--n", 3675, "--json")
    assert code == 0
    power = json.loads(out)["result"][0]
    assert power["n"] == 3675 and 0.03 < power["mde"] < 0.05
    # errors still go to standard error, one line
    code, out, err = run(capsys, "verify", b, tmp_path / "gone.csv", "--json")
    assert code == 2 and out == "" and "does not exist" in one_line_error(err, "verify")
    with pytest.raises(SystemExit) as info:
        main(["power", "--n", "10", "--sd", "1", "--json", "--quiet"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -- demo with warnings enabled ------------------------------------------------------------------


def test_demo_passes_on_foreign_warnings_instead_of_crashing(tmp_path, capsys, monkeypatch) -> None:
    """With warnings enabled, a library deprecation raised while the demo records its own
    warnings was read as a record problem and crashed on ``split(': ', 1)[1]``."""
    import dwp_eval.cli.demo as demo

    real = demo.take_up

    def noisy(*args, **kwargs):
        warnings.warn("generic timedelta unit", DeprecationWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(demo, "take_up", noisy)
    with pytest.warns(DeprecationWarning, match="generic timedelta unit"):
        code, out, err = run(capsys, "demo", "--out", tmp_path / "d", "--n", 500, "--quiet")
    assert (code, out) == (0, ""), err
    assert "Traceback" not in err


def test_demo_json_lists_its_files(tmp_path, capsys) -> None:
    code, out, _ = run(capsys, "demo", "--out", tmp_path / "d", "--n", 500, "--json")
    assert code == 0
    got = json.loads(out)
    assert got["folder"] == str(tmp_path / "d") and "report.html" in got["files"]
    assert pd.read_csv(tmp_path / "d" / "trial.csv").shape[0] == 500


# -- analyse: outputs checked up front, headline impacts -------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "d"
    assert main(["demo", "--out", str(folder), "--n", "600", "--quiet"]) == 0
    return folder


def analyse(capsys, demo_dir, *argv) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plan drops people without follow-up, with a warning
        return run(capsys, "analyse", demo_dir / "trial.csv", "--plan", demo_dir / "plan.toml", *argv)


def test_analyse_refuses_two_outputs_to_one_path(tmp_path, capsys, demo_dir) -> None:
    same = tmp_path / "same.html"
    code, out, err = analyse(capsys, demo_dir, "--out", same, "--markdown", same)
    assert code == 2 and out == ""
    assert (f"--out and --markdown both name {str(same)!r}; one would overwrite the other. "
            "Fix: give each output its own path.") in one_line_error(err, "analyse")
    assert not same.exists()
    code, _, err = analyse(capsys, demo_dir, "--out", same, "--tables", same)
    assert code == 2 and "--out and --tables both name" in err and not same.exists()


def test_analyse_checks_every_table_before_writing_anything(tmp_path, capsys, demo_dir) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "impact.csv").write_text("keep me\n")
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    code, out, err = analyse(capsys, demo_dir, "--out", html, "--markdown", md, "--tables", tables)
    assert code == 2 and out == ""
    line = one_line_error(err, "analyse")
    assert f"{str(tables / 'impact.csv')!r} already exists and would be overwritten" in line
    assert not html.exists() and not md.exists()  # all outputs or none
    assert sorted(p.name for p in tables.iterdir()) == ["impact.csv"]
    assert (tables / "impact.csv").read_text() == "keep me\n"
    code, _, err = analyse(capsys, demo_dir, "--out", html, "--tables", demo_dir / "plan.toml")
    assert code == 2 and "is a file, not a folder" in one_line_error(err, "analyse")
    assert not html.exists()


def test_analyse_prints_the_headline_impacts(tmp_path, capsys, demo_dir) -> None:
    code, out, err = analyse(capsys, demo_dir, "--out", tmp_path / "r.html")
    assert code == 0, err
    head = out.split("Headline impacts (ITT; p adjusted: holm):\n", 1)[1].splitlines()
    assert head[0].split() == ["outcome", "arm", "estimate", "95%", "CI", "p", "p", "adjusted"]
    rows = {line.split()[0]: line for line in head[1:]}
    assert set(rows) == {"employed_13_weeks", "any_employment", "cumulative_earnings",
                         "sustained_earnings", "days_on_benefit"}
    assert "treatment vs control" in rows["employed_13_weeks"] and " pp" in rows["employed_13_weeks"]
    code, out, err = analyse(capsys, demo_dir, "--out", tmp_path / "j.html", "--json")
    assert code == 0, err
    got = json.loads(out)
    table = pd.read_csv(demo_dir / "tables" / "impact.csv")
    assert [r["outcome"] for r in got["impacts"]] == table["outcome"].tolist()
    first = got["impacts"][0]
    assert first["arm"] == "treatment vs control" and first["conf_low"] < first["estimate"] < first["conf_high"]
    assert got["report"] == str(tmp_path / "j.html") and got["plan_sha256"]
