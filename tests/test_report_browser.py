"""The demo's report.html opened in headless Chromium as a reader's browser opens it.

Checks, on the page exactly as written (no probe script: its Content-Security-Policy
forbids scripts): no console message (a CSP violation, a broken image or a script
error would log one), no network request from the page (Chromium's own net log,
``--log-net-log``), alt text on every image and every SVG figure, headings in order,
the headline findings first. The detectors are themselves checked on a probe page
that makes a network request and logs a console error, so a silent pass cannot come
from a detector that sees nothing.

Skipped when Chromium is absent (``.ci/run`` installs Debian's chromium).
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dwp_eval.cli.demo import run_demo

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None,
                       reason="Chromium is not installed (.ci/run installs Debian's chromium)"),
    pytest.mark.filterwarnings("ignore::dwp_eval.errors.DroppedRowsWarning"),
    pytest.mark.filterwarnings("ignore::dwp_eval.errors.RecordProblemsWarning"),
]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _open(page: Path, work: Path, *extra: str) -> tuple[str, list[str], list[str]]:
    """Open ``page`` in a fresh profile: (rendered DOM, console lines, URLs the page asked
    the network for)."""
    work.mkdir(parents=True, exist_ok=True)
    net = work / "net.json"
    cmd = [CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={work / 'profile'}",
           "--enable-logging=stderr", "--v=0", f"--log-net-log={net}",
           "--virtual-time-budget=3000", *extra, "--dump-dom", page.as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "HOME": str(work)})
    console = [line for line in out.stderr.splitlines() if ":CONSOLE" in line]
    return out.stdout, console, _page_requests(net)


def _page_requests(net: Path) -> list[str]:
    """URLs of the requests the page made. Chromium's own traffic (update and account
    checks the flags cannot all silence) has no initiator ("not an origin"); a request
    from a file:// page has the initiator "null" and the page's isolation key."""
    log = json.loads(net.read_text(encoding="utf-8"))
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if types.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if (params.get("initiator") != "not an origin"
                or "file://" in str(params.get("network_isolation_key", ""))):
            urls.append(params["url"])
    return urls


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.svgs: list[dict[str, str | None]] = []
        self.headings: list[int] = []
        self.sections: list[str] = []
        self.main = False
        self.figures = 0
        self.captions = 0
        self._svg_titles: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        elif tag == "svg":
            self.svgs.append(a)
        elif tag == "title" and self.svgs:
            self._svg_titles.append(True)
        elif len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag == "main":
            self.main = True
        elif tag == "section" and self.main:
            self.sections.append(a.get("id") or "")
        elif tag == "figure":
            self.figures += 1
        elif tag == "figcaption":
            self.captions += 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    args = argparse.Namespace(n=1200, seed=20180501, out=str(out / "demo"), overwrite=False)
    assert run_demo(args) == 0
    return out / "demo" / "report.html"


def test_the_detectors_see_a_request_and_a_console_error(tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(
        "<!DOCTYPE html><html lang=en><head><title>probe</title></head><body>"
        "<img src=\"http://192.0.2.1/x.png\" alt=\"x\">"  # TEST-NET-1: never routed
        "<script>console.error('probe-console-error')</script></body></html>",
        encoding="utf-8")
    _, console, requests = _open(probe, tmp_path / "chromium")
    assert any("probe-console-error" in line for line in console)
    assert "http://192.0.2.1/x.png" in requests


@pytest.fixture(scope="module")
def opened(demo: Path) -> tuple[str, list[str], list[str]]:
    return _open(demo, demo.parent / "chromium")


def test_the_report_opens_with_no_console_message_and_no_request(
    opened: tuple[str, list[str], list[str]],
) -> None:
    dom, console, requests = opened
    assert "Headline findings" in dom, "Chromium did not render the report"
    assert console == []
    assert requests == []


def test_every_figure_has_alt_text_and_the_headline_comes_first(
    opened: tuple[str, list[str], list[str]],
) -> None:
    dom, _, _ = opened
    page = _Page()
    page.feed(dom)
    assert page.images, "the demo report has figures"
    for img in page.images:
        assert (img.get("alt") or "").strip(), img.get("src", "")[:40]
        assert (img.get("src") or "").startswith("data:image/")  # self-contained
    for svg in page.svgs:  # an inline SVG figure is an image with a name
        assert svg.get("role") == "img" and (svg.get("aria-label") or svg.get("aria-labelledby"))
    assert page.figures == page.captions == len(page.images) + len(page.svgs)
    assert page.sections[0] == "headline"
    assert page.sections[-1] == "disclosure" and "methods" in page.sections
    # headings in order: one h1, and no level skipped on the way down
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(page.headings, page.headings[1:], strict=False))


def test_the_page_forbids_the_network_and_has_a_print_stylesheet(demo: Path) -> None:
    text = demo.read_text(encoding="utf-8")
    assert "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'" in text
    assert "@media print" in text
    for tag in ("<header>", "<main>", "<footer>", "<figcaption>", "<nav "):
        assert tag in text
    assert "http://" not in text and "https://" not in text
