"""The MkDocs hook that renders ``examples/*.py`` into the site (``docs/_hooks/examples.py``).

The converter is tested on small synthetic percent scripts, without running
MkDocs: cells are split as jupytext writes them, code runs cell by cell in one
namespace (in a child interpreter, a temporary working directory, with the
Agg backend), its printed output and figures land under each cell, and a
failing cell raises an error that names the script and the cell. The real
examples are run by ``test_examples.py`` and rendered by ``mkdocs build``.
"""

from __future__ import annotations

import base64
import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOK_PATH = ROOT / "docs" / "_hooks" / "examples.py"


def _load_hook():
    spec = importlib.util.spec_from_file_location("dwp_eval_docs_examples_hook", HOOK_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


hook = _load_hook()

HEADER = """\
# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""


def write(tmp_path: Path, body: str, name: str = "99_synthetic.py") -> Path:
    folder = tmp_path / "repo" / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(HEADER + "\n" + textwrap.dedent(body), encoding="utf-8")
    return script


SCRIPT = """\
# %% [markdown]
# # A synthetic example
#
# Some *Markdown*, with a list:
#
# - one
# - two

# %%
import os
import sys

total = sum(range(5))
print("total is", total)
print("warned", file=sys.stderr)

# %% [markdown]
# ## A plot

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot([0, 1], [0, total])
print(os.environ["MPLBACKEND"])

# %%
print(len(plt.get_fignums()), "figures open")
here = os.getcwd()
total * 2
"""


# ---------------------------------------------------------------------------- parsing


def test_split_cells_drops_header_and_uncomments_markdown(tmp_path):
    cells = hook.split_cells(write(tmp_path, SCRIPT).read_text(encoding="utf-8"))
    assert [c.kind for c in cells] == ["markdown", "code", "markdown", "code", "code"]
    assert cells[0].source == (
        "# A synthetic example\n\nSome *Markdown*, with a list:\n\n- one\n- two"
    )
    assert cells[1].source.startswith("import os\nimport sys\n\ntotal")
    assert all("jupytext" not in c.source and "# ---" not in c.source for c in cells)
    # line numbers are the script's (header of 12 lines, a blank, the first marker)
    lines = write(tmp_path, SCRIPT).read_text(encoding="utf-8").splitlines()
    for c in cells:
        first = c.source.splitlines()[0]
        expected = first if c.kind == "code" else ("# " + first if first else "#")
        assert lines[c.line - 1] == expected


def test_split_cells_code_before_first_marker_and_empty_cells():
    text = "import math\n\n# %%\n\n# %% [markdown]\n#\n# Text\n#\n# %%\nx = 1\n"
    cells = hook.split_cells(text)
    assert [(c.kind, c.source, c.line) for c in cells] == [
        ("code", "import math", 1), ("markdown", "Text", 7), ("code", "x = 1", 10),
    ]


# ---------------------------------------------------------------------------- rendering


def test_render_shows_markdown_code_output_and_figure(tmp_path):
    script = write(tmp_path, SCRIPT)
    page = hook.render_example(script, tmp_path / "repo", source_link="99_synthetic.py")

    assert "format_name" not in page and "kernelspec" not in page and "# ---" not in page
    assert page.startswith("# A synthetic example\n\n*This page is generated from "
                           "[`examples/99_synthetic.py`](99_synthetic.py)")
    assert "\n## A plot\n" in page and "\n- one\n- two\n" in page
    assert "```python\nimport os\nimport sys\n" in page
    assert '```text title="Output"\ntotal is 10\n```' in page
    assert '```text title="stderr"\nwarned\n```' in page
    assert '```text title="Output"\nAgg\n```' in page

    images = page.split('src="data:image/png;base64,')
    assert len(images) == 2 and "<img alt=" in images[0]
    png = base64.b64decode(images[1].split('"', 1)[0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # the figure was closed after its cell; the last bare expression is echoed
    assert '```text title="Output"\n0 figures open\n20\n```' in page
    # output follows its own cell
    assert page.index("total is 10") < page.index("## A plot") < page.index("data:image/png")


def test_cells_share_a_namespace_in_a_temporary_directory(tmp_path):
    script = write(tmp_path, """\
        # %%
        import os
        import sys
        from pathlib import Path
        value = 41

        # %%
        value += 1
        print(value, Path(__file__).name, __name__)
        print(Path(os.getcwd()) != Path(__file__).parent, sys.path[:2])
        print(any(Path(p).name == "_hooks" for p in sys.path))
        open("scratch.txt", "w").write("made in the working directory")
        """)
    root = tmp_path / "repo"
    page = hook.render_example(script, root)
    expected = [str(script.parent.resolve()), str(root.resolve())]
    assert f"42 99_synthetic.py __main__\nTrue {expected}\nFalse\n" in page
    assert not (script.parent / "scratch.txt").exists()
    assert not (tmp_path / "scratch.txt").exists()


def test_failing_cell_names_the_example_and_the_cell(tmp_path):
    script = write(tmp_path, """\
        # %% [markdown]
        # # Fails

        # %%
        x = 1

        # %%
        y = x + 1
        raise RuntimeError(f"boom {y}")

        # %%
        print("never")
        """)
    with pytest.raises(hook.ExampleError,
                       match=r"examples/99_synthetic\.py: code cell 2 \(line 21\) raised "
                             r"RuntimeError: boom 2") as info:
        hook.render_example(script, tmp_path / "repo")
    message = str(info.value)
    assert 'line 22, in <module>\n    raise RuntimeError(f"boom {y}")' in message
    assert "_run_cell" not in message  # the traceback starts at the script


def test_failing_assert_and_syntax_error(tmp_path):
    script = write(tmp_path, "# %%\nassert 1 + 1 == 3, 'arithmetic'\n")
    with pytest.raises(hook.ExampleError, match=r"code cell 1 \(line 15\) raised AssertionError: arithmetic"):
        hook.render_example(script, tmp_path / "repo")
    script = write(tmp_path, "# %%\nx = 1\n# %%\ndef f(:\n")
    with pytest.raises(hook.ExampleError, match=r"code cell 2 \(line 17\) raised SyntaxError"):
        hook.render_example(script, tmp_path / "repo")


def test_system_exit_zero_stops_the_script_without_failing(tmp_path):
    script = write(tmp_path, """\
        # %%
        print("data missing")
        raise SystemExit(0)

        # %%
        print("not run")
        """)
    page = hook.render_example(script, tmp_path / "repo")
    assert "data missing" in page and 'print("not run")' in page
    assert "not run\n```" not in page.replace('print("not run")\n```', "")
    assert "*The script stopped (`SystemExit`) before this cell" in page

    failing = write(tmp_path, "# %%\nimport sys\nsys.exit(3)\n")
    with pytest.raises(hook.ExampleError, match=r"code cell 1 \(line 15\) raised SystemExit: 3"):
        hook.render_example(failing, tmp_path / "repo")


def test_fences_are_longer_than_backticks_in_the_output():
    cells = [hook.Cell("code", 'print("```")', 1)]
    page = hook.to_markdown(cells, [hook.Output(stdout="```\n")], source_link="x.py",
                            source_name="examples/x.py")
    assert '````text title="Output"\n```\n````' in page
    assert '````python\nprint("```")\n````' in page  # its own fence is longer too


# ---------------------------------------------------------------------------- MkDocs events


def _config(tmp_path: Path, nav: list | None):
    (tmp_path / "repo" / "docs").mkdir(parents=True, exist_ok=True)
    return {"config_file_path": str(tmp_path / "repo" / "mkdocs.yml"), "nav": nav}


def test_on_config_adds_unlisted_examples_to_nav(tmp_path):
    write(tmp_path, "# %%\nx = 1\n", name="01_listed.py")
    write(tmp_path, "# %%\nx = 1\n", name="02_new.py")
    nav = [{"Home": "index.md"}, {"Examples": [{"Listed": "examples/01_listed.md"}]}]
    hook.on_config(_config(tmp_path, nav))
    assert nav[1] == {"Examples": [{"Listed": "examples/01_listed.md"}, "examples/02_new.md"]}

    nav = [{"Home": "index.md"}]
    hook.on_config(_config(tmp_path, nav))
    assert nav[1] == {"Examples": ["examples/01_listed.md", "examples/02_new.md"]}


def test_on_files_adds_pages_and_fails_the_build(tmp_path, monkeypatch):
    from mkdocs.config import load_config
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import Files

    write(tmp_path, "# %% [markdown]\n# # Fine\n\n# %%\nprint('ok')\n", name="01_fine.py")
    (tmp_path / "repo" / "docs").mkdir()
    (tmp_path / "repo" / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    yml = tmp_path / "repo" / "mkdocs.yml"
    yml.write_text(f"site_name: t\nhooks:\n  - {HOOK_PATH}\n", encoding="utf-8")
    config = load_config(str(yml))  # reads the configuration; builds nothing
    monkeypatch.setenv(hook.JOBS_VARIABLE, "1")

    def on_files():  # the event as MkDocs dispatches it to the hook
        return config.plugins.on_files(Files([]), config=config)

    files = on_files()
    page = files.get_file_from_path("examples/01_fine.md")
    assert page is not None and page.generated_by is not None
    assert "```text title=\"Output\"\nok\n```" in page.content_string
    assert files.get_file_from_path("examples/01_fine.py") is not None

    monkeypatch.setenv(hook.RUN_VARIABLE, "0")
    page = on_files().get_file_from_path("examples/01_fine.md")
    assert "not run for this build" in page.content_string and "ok\n```" not in page.content_string
    monkeypatch.delenv(hook.RUN_VARIABLE)

    write(tmp_path, "# %%\n1 / 0\n", name="02_broken.py")
    with pytest.raises(PluginError, match=r"examples/02_broken\.py: code cell 1 \(line 15\) "
                                          r"raised ZeroDivisionError: division by zero"):
        on_files()

    monkeypatch.setenv(hook.JOBS_VARIABLE, "two")
    with pytest.raises(PluginError, match=re.escape(
            "DWP_EVAL_DOCS_JOBS must be a whole number >= 1. Got 'two' instead.")):
        on_files()


def test_a_last_expression_with_rich_display_is_shown_as_html(tmp_path):
    script = write(tmp_path, """\
        # %%
        class Shown:
            def _repr_html_(self):
                return "<table>\\n\\n<tr><td>cell</td></tr></table>"

        Shown()
        """)
    page = hook.render_example(script, tmp_path / "repo")
    assert ('<div class="example-output" style="overflow-x: auto">\n'
            "<table>\n<tr><td>cell</td></tr></table>\n</div>") in page
    assert "Output" not in page  # not also printed as its repr
