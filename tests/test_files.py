"""Safe output files (``dwp_eval._core.files``) and allocation writes under
killed and concurrent writers (issue 19, item 4; issue 13, item 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dwp_eval as de
from dwp_eval._core.files import read_files, write_files
from dwp_eval.design import Allocation
from dwp_eval.errors import AllocationExistsError, OutputExistsError, OutputPathError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks and signals")


# ------------------------------------------------------------- the helper


def test_write_files_writes_text_and_bytes_together(tmp_path) -> None:
    a, b = tmp_path / "sub" / "a.txt", tmp_path / "sub" / "b.bin"
    assert write_files({a: "héllo\n", b: b"\x00\x01"}, func="t") == [a, b]
    assert a.read_text(encoding="utf-8") == "héllo\n" and b.read_bytes() == b"\x00\x01"
    assert read_files([a, b, tmp_path / "sub" / "none"], func="t") == [
        "héllo\n".encode(), b"\x00\x01", None,
    ]
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.txt", "b.bin"]


def test_write_files_is_all_or_none(tmp_path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    b.write_text("old")
    with pytest.raises(OutputExistsError, match=r"b\.txt already exist\(s\)\. Fix: write to a new path, or pass overwrite=True"):
        write_files({a: "new", b: "new"}, func="t")
    assert not a.exists() and b.read_text() == "old"
    write_files({a: "new", b: "new"}, func="t", overwrite=True)
    assert a.read_text() == b.read_text() == "new"


def test_write_files_refuses_two_outputs_to_one_file(tmp_path) -> None:
    a = tmp_path / "a.txt"
    with pytest.raises(OutputPathError, match=r"t: two outputs would be written to one file, .*a\.txt\. Fix: give each output its own path"):
        write_files({a: "1", f"{tmp_path}/sub/../a.txt": "2"}, func="t")
    assert not a.exists()


def test_write_files_refuses_a_folder_and_a_link(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputPathError, match=r"is not a regular file; it is never replaced"):
        write_files({tmp_path / "d": "x"}, func="t", overwrite=True)
    target = tmp_path / "target.txt"
    target.write_text("keep")
    (tmp_path / "link.txt").symlink_to(target)
    with pytest.raises(OutputPathError, match=r"link\.txt is a symbolic link"):
        write_files({tmp_path / "new.txt": "x", tmp_path / "link.txt": "x"}, func="t", overwrite=True)
    assert target.read_text() == "keep" and not (tmp_path / "new.txt").exists()


def test_write_files_keeps_the_usual_permissions(tmp_path) -> None:
    a = tmp_path / "a.txt"
    write_files({a: "x"}, func="t")
    umask = os.umask(0)
    os.umask(umask)
    assert (a.stat().st_mode & 0o777) == (0o666 & ~umask)


# ------------------------------------------------------------- killed writers

CHILD = textwrap.dedent(
    """
    import os, sys, time
    import dwp_eval as de
    from dwp_eval._core import files

    stage, path, marker, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    real_replace, real_temp = os.replace, files._write_temp
    calls = []

    def slow_replace(a, b):
        calls.append(b)
        # journal in place, table renamed, log not yet: the worst moment to die
        if stage == "between-renames" and len(calls) == 3:
            open(marker, "w").close()
            time.sleep(120)
        return real_replace(a, b)

    def slow_temp(target, data):
        if stage == "mid-write" and str(target).endswith(".audit.json"):
            open(marker, "w").close()
            time.sleep(120)
        return real_temp(target, data)

    files.os.replace = slow_replace
    files._write_temp = slow_temp
    people = de.datasets.whp_like(n=300, seed=1)
    de.randomise(people, strata="site", seed=seed).write(path, overwrite=True)
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _kill_at(stage: str, path: Path, seed: int) -> None:
    marker = path.with_name(f"marker-{stage}")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, str(path), str(marker), str(seed)], env=_env()
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the writer ended before the marked moment"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    marker.unlink()


@pytest.fixture(scope="module")
def people():  # the children's participants (overrides the shared fixture)
    return de.datasets.whp_like(n=300, seed=1)


def test_a_write_killed_mid_way_keeps_the_previous_allocation(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    old = de.randomise(people, strata="site", seed=1)
    old.write(path)
    before = (path.read_bytes(), Path(f"{path}.audit.json").read_bytes())
    _kill_at("mid-write", path, seed=2)
    assert (path.read_bytes(), Path(f"{path}.audit.json").read_bytes()) == before
    back = Allocation.read(path)
    assert back.commitment == old.commitment
    back.verify(people)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.csv.audit.json"]


def test_a_killed_fresh_write_does_not_block_a_retry(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    _kill_at("mid-write", path, seed=2)
    assert not path.exists()
    de.randomise(people, strata="site", seed=2).write(path)  # no overwrite needed
    Allocation.read(path).verify(people)


def test_a_write_killed_between_the_renames_is_completed_not_mismatched(tmp_path, people) -> None:
    path = tmp_path / "a.csv"
    de.randomise(people, strata="site", seed=1).write(path)
    _kill_at("between-renames", path, seed=2)
    back = Allocation.read(path)  # rolls the interrupted write forward
    assert back.commitment == de.randomise(people, strata="site", seed=2).commitment
    back.verify(people)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.csv.audit.json"]


# ------------------------------------------------------------- concurrent writers

RACER = textwrap.dedent(
    """
    import os, sys, time
    import dwp_eval as de
    from dwp_eval.errors import AllocationExistsError

    path, go, seed, rounds, overwrite = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
    people = de.datasets.whp_like(n=300, seed=1)
    allocs = [de.randomise(people, strata="site", seed=seed + k) for k in range(rounds)]
    while not os.path.exists(go):
        time.sleep(0.005)
    won = 0
    for a in allocs:
        try:
            a.write(path, overwrite=overwrite)
            won += 1
        except AllocationExistsError:
            pass
    print(won)
    """
)


def _race(tmp_path: Path, *, rounds: int, overwrite: bool) -> list[int]:
    path, go = tmp_path / "a.csv", tmp_path / "go"
    kids = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path), str(go), str(seed), str(rounds), "1" if overwrite else "0"],
            env=_env(), stdout=subprocess.PIPE, text=True,
        )
        for seed in (100, 200)
    ]
    time.sleep(4)  # both have imported the library and drawn their allocations
    go.touch()
    outs = [k.communicate(timeout=300) for k in kids]
    assert [k.returncode for k in kids] == [0, 0]
    return [int(o.strip()) for o, _ in outs]


def test_two_writers_with_overwrite_never_leave_a_mismatched_pair(tmp_path, people) -> None:
    assert _race(tmp_path, rounds=12, overwrite=True) == [12, 12]
    back = Allocation.read(tmp_path / "a.csv")
    back.verify(people)
    assert back.seed in {*range(100, 112), *range(200, 212)}


def test_two_writers_without_overwrite_one_wins(tmp_path, people) -> None:
    assert sorted(_race(tmp_path, rounds=1, overwrite=False)) == [0, 1]
    Allocation.read(tmp_path / "a.csv").verify(people)
    with pytest.raises(AllocationExistsError):
        de.randomise(people, strata="site", seed=5).write(tmp_path / "a.csv")


# ------------------------------------------------------------- one ground floor for every writer


def test_one_rule_names_a_file_twice_through_dots_and_links(tmp_path) -> None:
    from dwp_eval._core.files import duplicate_target, target_problem

    real = tmp_path / "report.html"
    real.write_text("x")
    (tmp_path / "alias.html").symlink_to(real)
    pairs = [(tmp_path / "a.md", "--markdown"), (tmp_path / "sub" / ".." / "report.html", "--out"),
             (tmp_path / "alias.html", "--excel")]
    assert duplicate_target(pairs) == (tmp_path / "alias.html", "--out", "--excel")
    assert duplicate_target(pairs[:2]) is None
    assert target_problem(real, overwrite=False) == "exists"
    assert target_problem(real, overwrite=True) is None
    assert target_problem(tmp_path, overwrite=True) == "folder"
    assert target_problem(tmp_path / "alias.html", overwrite=True) == "link"
    assert target_problem(tmp_path / "alias.html", overwrite=True, links="replace") is None
    assert target_problem(tmp_path / "alias.html", overwrite=False, links="replace") == "exists"
    assert target_problem(tmp_path / "new.html", overwrite=False) is None


def test_the_command_line_names_both_flags_for_a_file_reached_through_a_link(tmp_path) -> None:
    from dwp_eval.cli.files import InputFileError, check_outputs

    (tmp_path / "alias.md").symlink_to(tmp_path / "report.html")  # dangling: not written yet
    with pytest.raises(InputFileError, match=r"--out and --markdown both name '.*alias\.md'; one "
                                             r"would overwrite the other"):
        check_outputs([("--out", tmp_path / "report.html"), ("--markdown", tmp_path / "alias.md")],
                      overwrite=True)
    assert not (tmp_path / "report.html").exists()


def test_concurrent_report_writers_with_overwrite_never_leave_a_mixed_set(
    tmp_path, monkeypatch,
) -> None:
    """Two writers replacing one set of files (HTML + Markdown in two folders) take the
    folders' locks: the set on disk is always one writer's, never half of each."""
    import threading

    from dwp_eval._core import files

    real_replace = os.replace

    def slow_replace(a, b):  # widen the window between the two renames
        real_replace(a, b)
        time.sleep(0.02)

    monkeypatch.setattr(files.os, "replace", slow_replace)
    html, md = tmp_path / "r.html", tmp_path / "md" / "r.md"
    md.parent.mkdir()  # the reader below locks this folder, possibly before a writer made it
    errors: list[BaseException] = []

    def writer(tag: bytes) -> None:
        try:
            for _ in range(8):
                files.publish_files([(html, tag), (md, tag)], overwrite=True, func="t",
                                    exists_error=lambda p: OutputExistsError(str(p)))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in (b"A", b"B")]
    seen = set()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        with files._folder_lock(tmp_path, func="t", timeout=10), \
                files._folder_lock(md.parent, func="t", timeout=10):
            if html.exists() and md.exists():
                seen.add((html.read_bytes(), md.read_bytes()))
    for t in threads:
        t.join()
    assert not errors
    assert seen and all(a == b for a, b in seen), seen
    assert html.read_bytes() == md.read_bytes()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["md", "r.html", "r.md"]
