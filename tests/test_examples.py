"""Run every example script, and the Python code on the documentation pages.

Each ``examples/*.py`` runs top to bottom in a fresh interpreter (the one
running the tests) and must exit with status 0; the examples check their own
key outputs with ``assert``. New examples are picked up automatically.

The Python blocks of the documentation pages listed in ``DOC_PAGES`` run in
order, as one session, in the same way: the documentation shows code that
works. Add a page to the list when its code blocks are meant to run as written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOC_PAGES = [
    "README.md",
    "docs/index.md",
    "docs/getting-started.md",
    "docs/guides/randomisation.md",
    "docs/guides/itt.md",
    "docs/guides/inference.md",
    "docs/guides/impact-tables.md",
    "docs/guides/contamination.md",
    "docs/guides/cace.md",
    "docs/guides/power.md",
    "docs/guides/simulation.md",
    "docs/guides/did.md",
    "docs/guides/outcomes.md",
    "docs/guides/balance.md",
    "docs/guides/attrition-and-flow.md",
    "docs/guides/missing-outcomes.md",
    "docs/guides/cost-effectiveness.md",
    "docs/guides/analysis-plan.md",
    "docs/guides/report.md",
    "docs/guides/disclosure.md",  # its ACRO block (```py) needs acro and the data: not run
]
# Generous: each example should take a few seconds; a slow CI machine gets 10x.
TIMEOUT_SECONDS = 120

PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", flags=re.DOTALL | re.MULTILINE)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"  # never open a plot window
    env["TMPDIR"] = str(cwd)  # temporary folders made by the code land in pytest's tmp_path
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_there_are_examples() -> None:
    assert EXAMPLES, "no examples/*.py found"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    result = _run([str(script)], cwd=tmp_path)
    assert result.returncode == 0, (
        f"{script.name} exited with status {result.returncode}\n"
        f"--- stdout (last 3000 characters)\n{result.stdout[-3000:]}\n"
        f"--- stderr\n{result.stderr[-5000:]}"
    )


@pytest.mark.parametrize("page", DOC_PAGES)
def test_documentation_code_runs(page: str, tmp_path: Path) -> None:
    blocks = PYTHON_BLOCK.findall((ROOT / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no ```python blocks"
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    result = _run([str(script)], cwd=tmp_path)
    assert result.returncode == 0, (
        f"the Python code of {page} failed (status {result.returncode})\n"
        f"--- stderr\n{result.stderr[-5000:]}"
    )
