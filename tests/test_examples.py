"""Run every example as a Jupyter notebook, and the Python code on the documentation pages.

Each ``examples/*.py`` is a jupytext percent script: jupytext reads it as a
notebook and nbclient executes it in a fresh IPython kernel (this interpreter,
with its installed dwp_eval), in a temporary working directory, as Jupyter
would (matplotlib's inline backend, rich display). A cell that raises fails the
test with nbclient's report of the cell. The examples check their own key
outputs with ``assert``. New examples are picked up automatically. The
notebook that reproduces the JTPA table of *Mostly Harmless Econometrics*
(Table 4.4.1) is also checked here, cell by cell, against the published
numbers in ``tests/reference/itt/``. These tests skip when jupytext, nbclient
or ipykernel are missing (the ``[notebooks]`` extra; the dependency-matrix runs
do not install it).

The Python blocks of the documentation pages listed in ``DOC_PAGES`` run in
order, as one session, in a fresh interpreter: the documentation shows code that
works. Add a page to the list when its code blocks are meant to run as written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import dwp_eval

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
JTPA = ROOT / "examples" / "06_reproduce_jtpa.py"
PUBLISHED = ROOT / "tests" / "reference" / "itt" / "jtpa_mhe_table_4_4_1.csv"
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
    "docs/guides/area-pilot.md",
    "docs/guides/outcomes.md",
    "docs/guides/time-to-event.md",
    "docs/guides/balance.md",
    "docs/guides/attrition-and-flow.md",
    "docs/guides/missing-outcomes.md",
    "docs/guides/cost-effectiveness.md",
    "docs/guides/analysis-plan.md",
    "docs/guides/report.md",
    "docs/guides/disclosure.md",  # its ACRO block (```py) needs acro and the data: not run
]
# A hang guard, not a speed test: the slowest page (simulation.md, with selfcheck) takes
# about 35 s on an idle 2-core machine and went over 120 s with other jobs on the cores.
TIMEOUT_SECONDS = 300
KERNEL = "dwp-eval-tests"

PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", flags=re.DOTALL | re.MULTILINE)


def _pythonpath() -> str:
    """``$PYTHONPATH`` with the folder of the dwp_eval these tests import first: the
    child process (or kernel), in another working directory, imports the same one
    (installed, or ``src/`` given as a relative ``PYTHONPATH``)."""
    package_root = str(Path(dwp_eval.__file__).resolve().parents[1])
    return os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"  # never open a plot window
    env["TMPDIR"] = str(cwd)  # temporary folders made by the code land in pytest's tmp_path
    env["PYTHONPATH"] = _pythonpath()
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
    assert JTPA in EXAMPLES


def _execute_notebook(script: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Execute ``script`` as a notebook in ``cwd``; return the executed notebook."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # A kernel spec of our own, so the kernel is this interpreter (not whatever a
    # "python3" kernel spec on the machine points to).
    spec = cwd / ".jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "dwp_eval tests", "language": "python",
    }), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(cwd / ".jupyter"))
    monkeypatch.setenv("PYTHONPATH", _pythonpath())
    monkeypatch.setenv("TMPDIR", str(cwd))  # temporary folders the code makes land in tmp_path
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own (inline) backend
    notebook = jupytext.read(script)
    client = nbclient.NotebookClient(
        notebook, timeout=TIMEOUT_SECONDS, kernel_name=KERNEL,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{script.name}: a cell raised\n{_plain(str(exc))[-5000:]}", pytrace=False)
    return notebook


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # IPython's tracebacks are coloured


# notebooks that take more than about 5 s (measured: 05 runs 200 simulations, 7-8 s;
# 08 fits 20 mixed-effects logits, 15-45 s on a shared 2-core machine; 10 runs 40 event-study
# draws and synthetic control placebos, 25 s; 11 starts a Dask LocalCluster and a Spark
# session: 33 s as a notebook with the load average at 2, about twice that under load)
SLOW = {"05_design_a_trial.py", "08_ips_primary_analysis.py", "10_evaluate_an_area_pilot.py",
        "11_data_beyond_one_machine.py"}


@pytest.mark.parametrize("script", [
    pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW else [])
    for p in EXAMPLES if p != JTPA
])
def test_example_runs_as_notebook(script: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = _execute_notebook(script, tmp_path, monkeypatch)
    assert any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_jtpa_notebook_reproduces_mhe_table_4_4_1(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The JTPA notebook's 12 cells of MHE Table 4.4.1 against the published table:
    within half a dollar (MHE print whole dollars), estimates and standard errors."""
    notebook = _execute_notebook(JTPA, tmp_path, monkeypatch)
    reproduced = pd.read_csv(tmp_path / "jtpa_table_4_4_1.csv")
    published = pd.read_csv(PUBLISHED)
    mhe = published[published["source"].str.startswith("Angrist & Pischke")]
    both = mhe.merge(reproduced, on=["sample", "covariates", "quantity"],
                     suffixes=("_published", "_notebook"), validate="one_to_one")
    assert len(mhe) == len(reproduced) == len(both) == 12
    assert (both["estimate_notebook"] - both["estimate_published"]).abs().max() <= 0.5
    assert (both["std_error_notebook"] - both["std_error_published"]).abs().max() <= 0.5
    # the notebook shows its results (rich display), not only text
    html = [out["data"]["text/html"] for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "text/html" in out.get("data", {})]
    assert any("ITT of treatment (jtpa_offer = 1)" in h for h in html)
    assert any("(6)" in h for h in html)  # the table as MHE print it


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
