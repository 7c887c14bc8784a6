"""The documentation site works offline: no page loads a script, stylesheet or font
from the network (MathJax is served from the site, fonts are the reader's own),
and, where Chromium is installed, equations render with the network switched off.

The site is built once (``mkdocs build --strict``) into a temporary folder, with
``DWP_EVAL_DOCS_RUN_EXAMPLES=0`` (the example pages are not run here: their
outputs are inline text, tables and PNG data, and ``make test`` builds the full
site). Skipped when MkDocs or the Material theme is missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# a page with display and inline equations (pymdownx.arithmatex)
MATH_PAGE = "guides/itt/index.html"

pytestmark = pytest.mark.slow  # the build takes 5-10 s

REMOTE = r"""(?:https?:)?//"""
# <script src=...>, <link href=...> (stylesheets, fonts, preloads), <img src=...> of a remote host
REMOTE_TAG = re.compile(
    rf"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']?{REMOTE}[^"'\s>]+""",
    re.IGNORECASE,
)
# CSS: @import and url() of a remote host (web fonts)
REMOTE_CSS = re.compile(rf"""(?:@import\s+|url\(\s*)["']?{REMOTE}""", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, DWP_EVAL_DOCS_RUN_EXAMPLES="0")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, f"mkdocs build failed\n{proc.stderr[-5000:]}"
    return out


def test_no_page_loads_anything_from_the_network(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    remote = {
        str(page.relative_to(site)): REMOTE_TAG.findall(page.read_text(encoding="utf-8"))
        for page in pages
    }
    remote = {page: found for page, found in remote.items() if found}
    assert not remote, f"pages that load from the network: {remote}"
    css = {
        str(sheet.relative_to(site)): REMOTE_CSS.findall(sheet.read_text(encoding="utf-8"))
        for sheet in site.rglob("*.css")
    }
    css = {sheet: found for sheet, found in css.items() if found}
    assert not css, f"stylesheets that load from the network: {css}"


def test_mathjax_is_served_from_the_site(site: Path) -> None:
    page = (site / MATH_PAGE).read_text(encoding="utf-8")
    assert 'class="arithmatex"' in page
    scripts = re.findall(r"""<script\b[^>]*\bsrc="([^"]+)""", page)
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert any(s.endswith("javascripts/vendor/mathjax/tex-svg.js") for s in mathjax), scripts
    vendored = site / "javascripts" / "vendor" / "mathjax"
    assert (vendored / "tex-svg.js").stat().st_size > 1_000_000
    assert "Apache License" in (vendored / "LICENSE").read_text(encoding="utf-8")
    assert not re.search(r"fonts\.(googleapis|gstatic)\.com", page)


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed")
def test_equations_render_with_the_network_off(site: Path, tmp_path: Path) -> None:
    """Headless Chromium, every host name unresolvable: MathJax typesets the page's
    TeX into SVG (``mjx-container`` elements holding ``svg``)."""
    page = (site / MATH_PAGE).resolve()
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
         '--host-resolver-rules=MAP * ~NOTFOUND', "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    dom = proc.stdout
    source = page.read_text(encoding="utf-8")
    n_math = source.count('class="arithmatex"')
    containers = re.findall(r"<mjx-container\b[^>]*>\s*<svg\b", dom)
    assert n_math > 5
    assert len(containers) >= n_math, (
        f"{len(containers)} rendered equations for {n_math} arithmatex elements"
    )
    assert 'jax="SVG"' in dom
