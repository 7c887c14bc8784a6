"""MkDocs hook: render the example scripts into the documentation site.

Every ``examples/*.py`` (a jupytext "percent" script: ``# %% [markdown]`` cells
of ``#``-commented Markdown and ``# %%`` cells of Python) becomes a page
``examples/<name>.md`` that exists only in the build (a virtual file, nothing
is committed): the Markdown cells as Markdown, each code cell as a ``python``
block followed by what it printed, the rich display (``_repr_html_``) of a last
bare expression, and the figures it drew (inline PNG). The
jupytext header is left out, and the page links to a copy of the script
(``examples/<name>.py`` in the site).

The outputs are real: each script runs when the site is built, cell by cell
in one namespace, in a fresh interpreter (the one running MkDocs), as
``python examples/<name>.py`` would, with the repository root on ``sys.path``,
a temporary directory as the working directory and ``MPLBACKEND=Agg``. A cell
that raises fails the build with the example, the cell and the traceback. A
script that stops itself with ``SystemExit(0)`` (e.g. because optional data
are missing) is rendered up to that cell, the rest without output.

Examples are found by globbing, so a new script gets a page; it is also added
to the ``Examples`` section of ``nav`` when ``mkdocs.yml`` does not list it.
Each runs in its own interpreter, ``$DWP_EVAL_DOCS_JOBS`` at a time (default:
the number of CPUs). ``DWP_EVAL_DOCS_RUN_EXAMPLES=0`` renders the pages
without running anything (no outputs; for quick previews with ``mkdocs serve``).

Loaded from ``mkdocs.yml`` (``hooks:``); ``python docs/_hooks/examples.py
SCRIPT ROOT OUT.json`` is the child process that runs one script.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.examples")

EXAMPLES_DIR = "examples"  # relative to the repository root (where mkdocs.yml is)
PAGES_DIR = "examples"  # relative to docs_dir: pages are <PAGES_DIR>/<name>.md
NAV_SECTION = "Examples"
# Generous: each example takes a few seconds; a slow machine gets 50x.
TIMEOUT_SECONDS = 300
# How many examples run at a time (default: the number of CPUs).
JOBS_VARIABLE = "DWP_EVAL_DOCS_JOBS"
# Set to 0 to render the pages without running the examples (quick previews
# with mkdocs serve; the pages then have no output).
RUN_VARIABLE = "DWP_EVAL_DOCS_RUN_EXAMPLES"

CELL_MARKER = re.compile(r"^#\s*%%(?!%)(?P<rest>.*)$")
MARKDOWN_MARKER = re.compile(r"\[(markdown|md)\]")


class ExampleError(Exception):
    """An example script could not be rendered (a cell raised, or the run failed)."""


@dataclass(frozen=True)
class Cell:
    """One cell of a percent script: ``kind`` is ``"markdown"`` or ``"code"``;
    ``line`` is the 1-based line of the script where its source starts."""

    kind: str
    source: str
    line: int


@dataclass
class Output:
    """What one code cell produced."""

    stdout: str = ""
    stderr: str = ""
    images: list[str] = field(default_factory=list)  # base64 PNG
    executed: bool = True
    html: list[str] = field(default_factory=list)  # an echoed value's _repr_html_()


# ---------------------------------------------------------------------------- parsing


def _strip_header(lines: list[str]) -> int:
    """Index of the first line after a jupytext YAML header (``# ---`` ... ``# ---``)."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].rstrip() == "# ---":
        for j in range(i + 1, len(lines)):
            if lines[j].rstrip() == "# ---":
                return j + 1
    return 0


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    if line.rstrip() == "#":
        return ""
    return line  # not commented (jupytext writes "# " on every line; keep anything else)


def _trim(lines: list[str], first: int) -> tuple[str, int]:
    """Drop blank lines at both ends; return the text and the line number of its start."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]), first + start


def split_cells(text: str) -> list[Cell]:
    """The cells of a jupytext percent script, without its header and empty cells.

    Lines before the first ``# %%`` marker (after the header) form a code cell.
    Markdown lines lose their leading ``"# "`` (a bare ``"#"`` is an empty line).
    """
    lines = text.splitlines()
    i = _strip_header(lines)
    cells: list[Cell] = []
    kind, body, first = "code", [], i + 1

    def flush() -> None:
        if kind == "markdown":
            src, line = _trim([_uncomment(x) for x in body], first)
        else:
            src, line = _trim(body, first)
        if src:
            cells.append(Cell(kind, src, line))

    for n in range(i, len(lines)):
        marker = CELL_MARKER.match(lines[n])
        if marker:
            flush()
            kind = "markdown" if MARKDOWN_MARKER.search(marker["rest"]) else "code"
            body, first = [], n + 2
        else:
            body.append(lines[n])
    flush()
    return cells


# ---------------------------------------------------------------------------- running


def _figures() -> list[str]:
    """Every open matplotlib figure as base64 PNG; the figures are then closed."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    plt = sys.modules["matplotlib.pyplot"]
    images = []
    for num in plt.get_fignums():
        fig = plt.figure(num)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        images.append(base64.b64encode(buf.getvalue()).decode("ascii"))
    plt.close("all")
    return images


def _run_cell(source: str, line: int, filename: str, namespace: dict[str, Any]) -> str | None:
    """Execute one cell; a last bare expression is echoed as a notebook shows it: its
    ``_repr_html_()`` when it has one (returned), else its ``repr`` (printed)."""
    tree = ast.parse("\n" * (line - 1) + source, filename=filename)
    echo = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
        echo = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), namespace)
    if echo is not None:
        value = eval(compile(echo, filename, "eval"), namespace)
        if value is not None and callable(getattr(value, "_repr_html_", None)):
            return str(value._repr_html_())
        if value is not None:
            print(repr(value))
    return None


def execute(cells: list[Cell], *, script: Path, root: Path) -> tuple[list[Output], dict[str, Any] | None]:
    """Run the code cells of ``script`` in order in one namespace, in this process.

    Changes this process's working directory (to a temporary one), ``sys.path``
    (the script's folder and ``root`` first), ``sys.argv`` and the environment
    (``MPLBACKEND=Agg``, ``TMPDIR``): call it in a child process (:func:`run_example`).
    Returns one :class:`Output` per code cell, and ``None`` or, when a cell
    raised, ``{"cell", "line", "error", "traceback"}`` (later cells are then not run).
    """
    os.environ["MPLBACKEND"] = "Agg"
    # plt.show() under Agg warns that it cannot show; the figure is shown on the page
    warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
    sys.path[0:0] = [str(script.parent), str(root)]  # as `python examples/x.py` from the root
    sys.argv = [str(script)]
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(script),
                                 "__builtins__": __builtins__}
    outputs: list[Output] = []
    failure: dict[str, Any] | None = None
    stopped = False
    code_cells = [c for c in cells if c.kind == "code"]
    with tempfile.TemporaryDirectory(prefix="dwp_eval_example_") as tmp:
        os.chdir(tmp)
        os.environ["TMPDIR"] = tmp
        tempfile.tempdir = None  # re-read TMPDIR
        for number, cell in enumerate(code_cells, start=1):
            if stopped or failure is not None:
                outputs.append(Output(executed=False))
                continue
            out, err = io.StringIO(), io.StringIO()
            html: str | None = None
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    html = _run_cell(cell.source, cell.line, str(script), namespace)
                except SystemExit as stop:
                    if stop.code not in (None, 0):
                        failure = _failure(number, cell, stop, script)
                    stopped = True
                except BaseException as exc:  # a failing example must fail the build
                    failure = _failure(number, cell, exc, script)
            outputs.append(Output(out.getvalue(), err.getvalue(), _figures(),
                                  html=[] if html is None else [html]))
        os.chdir(root)
    return outputs, failure


def _failure(number: int, cell: Cell, exc: BaseException, script: Path) -> dict[str, Any]:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != str(script):
        tb = tb.tb_next  # start the traceback at the script, not at this runner
    return {
        "cell": number,
        "line": cell.line,
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
    }


def run_example(script: Path, root: Path, *, timeout: float = TIMEOUT_SECONDS) -> list[Output]:
    """Run ``script`` cell by cell in a fresh interpreter; raise :class:`ExampleError`
    naming the script and the cell when a cell raises."""
    name = _display_name(script, root)
    with tempfile.TemporaryDirectory(prefix="dwp_eval_docs_") as tmp:
        result_file = Path(tmp) / "outputs.json"
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED=os.environ.get("PYTHONHASHSEED", "0"))
        try:
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), str(script), str(root), str(result_file)],
                cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ExampleError(f"{name} did not finish within {timeout:g} seconds") from exc
        if proc.returncode != 0 or not result_file.exists():
            raise ExampleError(
                f"{name} could not be run (status {proc.returncode})\n{proc.stderr[-5000:]}"
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
    failure = result["failure"]
    if failure is not None:
        raise ExampleError(
            f"{name}: code cell {failure['cell']} (line {failure['line']}) raised "
            f"{failure['error']}\n{failure['traceback']}"
        )
    return [Output(**o) for o in result["outputs"]]


def _child(script: str, root: str, result_file: str) -> None:
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]  # this hook's folder: not the example's
    path = Path(script).resolve()
    cells = split_cells(path.read_text(encoding="utf-8"))
    outputs, failure = execute(cells, script=path, root=Path(root).resolve())
    payload = {"outputs": [asdict(o) for o in outputs], "failure": failure}
    Path(result_file).write_text(json.dumps(payload), encoding="utf-8")


# ---------------------------------------------------------------------------- Markdown


def _fence(text: str, info: str) -> str:
    """A fenced block longer than any run of backticks inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def to_markdown(cells: list[Cell], outputs: list[Output], *, source_link: str, source_name: str) -> str:
    """The page: Markdown cells as they are, code cells as ``python`` blocks, each
    followed by its output (``text`` blocks) and figures (``<img>`` with a data URI).

    ``outputs`` has one entry per code cell, in order.
    """
    n_code = sum(c.kind == "code" for c in cells)
    if len(outputs) != n_code:
        raise ValueError(f"{source_name}: {n_code} code cells but {len(outputs)} outputs")
    ran = any(o.executed for o in outputs) or not outputs
    note = (
        f"*This page is generated from [`{source_name}`]({source_link}) when the site is "
        + ("built; the output under each cell is what it printed then. " if ran else
           "built; the example was not run for this build, so there is no output. ")
        + f"Run it with `python {source_name}` or open it as a notebook with jupytext.*"
    )
    parts: list[str] = []
    noted = stop_noted = False
    code = iter(outputs)
    for cell in cells:
        if cell.kind == "markdown":
            text = cell.source
            if not noted and text.startswith("# "):  # the note goes under the title
                title, _, rest = text.partition("\n")
                text = f"{title}\n\n{note}\n\n{rest.strip()}".rstrip()
                noted = True
            parts.append(text)
            continue
        out = next(code)
        if ran and not out.executed and not stop_noted:
            parts.append("*The script stopped (`SystemExit`) before this cell: "
                         "the cells from here on were not run.*")
            stop_noted = True
        parts.append(_fence(cell.source.rstrip(), "python"))
        if out.stdout.strip():
            parts.append(_fence(out.stdout.rstrip(), 'text title="Output"'))
        if out.stderr.strip():
            parts.append(_fence(out.stderr.rstrip(), 'text title="stderr"'))
        parts.extend(  # raw HTML: no blank line inside, or Markdown takes over
            '<div class="example-output" style="overflow-x: auto">\n' + re.sub(r"\n\s*\n", "\n", h.strip()) + "\n</div>"
            for h in out.html
        )
        parts.extend(
            f'<p><img alt="Figure {k} drawn by this cell" src="data:image/png;base64,{img}"></p>'
            for k, img in enumerate(out.images, start=1)
        )
    if not noted:
        parts.insert(0, note)
    return "\n\n".join(parts) + "\n"


def _display_name(script: Path, root: Path) -> str:
    try:
        return script.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return script.name


def render_example(script: Path, root: Path, *, source_link: str | None = None) -> str:
    """The Markdown page of one example script (runs it: see :func:`run_example`)."""
    cells = split_cells(script.read_text(encoding="utf-8"))
    outputs = run_example(script, root)
    return to_markdown(cells, outputs, source_link=source_link or script.name,
                       source_name=_display_name(script, root))


# ---------------------------------------------------------------------------- MkDocs events


def _root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _scripts(config: Any) -> list[Path]:
    return sorted((_root(config) / EXAMPLES_DIR).glob("*.py"))


def _page(script: Path) -> str:
    return f"{PAGES_DIR}/{script.stem}.md"


def on_config(config: Any) -> Any:
    """Add to the ``Examples`` section of ``nav`` any example it does not list."""
    nav = config.get("nav")
    scripts = _scripts(config)
    if not nav or not scripts:
        return config
    section = next((item[NAV_SECTION] for item in nav
                    if isinstance(item, dict) and isinstance(item.get(NAV_SECTION), list)), None)
    if section is None:
        section = []
        nav.append({NAV_SECTION: section})
    listed = {v if isinstance(v, str) else next(iter(v.values())) for v in section}
    section.extend(p for p in map(_page, scripts) if p not in listed)
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add a generated page, and a copy of the script, for every ``examples/*.py``."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    started = time.perf_counter()
    root = _root(config)
    scripts = _scripts(config)
    run = os.environ.get(RUN_VARIABLE, "1") != "0"
    jobs = _jobs(len(scripts))

    def render(script: Path) -> str:
        if run:
            return render_example(script, root, source_link=script.name)
        cells = split_cells(script.read_text(encoding="utf-8"))
        outputs = [Output(executed=False) for c in cells if c.kind == "code"]
        return to_markdown(cells, outputs, source_link=script.name,
                           source_name=_display_name(script, root))

    # each example runs in its own interpreter, so they can run side by side
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(render, script) for script in scripts]
    for script, future in zip(scripts, futures, strict=True):
        try:
            page = future.result()
        except ExampleError as exc:
            raise PluginError(f"examples hook: {exc}") from exc
        files.append(File.generated(config, _page(script), content=page))
        files.append(File.generated(config, f"{PAGES_DIR}/{script.name}",
                                    content=script.read_bytes()))
    if run:
        log.info("examples hook: ran and rendered %d examples in %.1f s (%d at a time)",
                 len(scripts), time.perf_counter() - started, jobs)
    else:
        log.info("examples hook: %s=0, %d examples rendered without running them",
                 RUN_VARIABLE, len(scripts))
    return files


def _jobs(n_scripts: int) -> int:
    value = os.environ.get(JOBS_VARIABLE, "")
    if value.strip():
        try:
            jobs = int(value)
        except ValueError:
            jobs = 0
        if jobs < 1:
            from mkdocs.exceptions import PluginError

            raise PluginError(
                f"examples hook: {JOBS_VARIABLE} must be a whole number >= 1. Got {value!r} instead."
            )
    elif hasattr(os, "sched_getaffinity"):
        jobs = len(os.sched_getaffinity(0))  # the CPUs this process may use
    else:
        jobs = os.cpu_count() or 1
    return max(1, min(jobs, n_scripts))


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    """``mkdocs serve``: rebuild when an example changes."""
    server.watch(str(_root(config) / EXAMPLES_DIR))
    return server


if __name__ == "__main__":
    _child(*sys.argv[1:4])
