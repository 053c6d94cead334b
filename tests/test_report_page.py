"""The fleet report's page in a real browser: Debian's Chromium (``make browser`` installs it), driven by
Playwright, started once for all the tests here. One row per instance with its freshness, nothing fetched from
the network, usable at 1400 px and on a phone, readable in print. Each test leaves screenshots in its
``tmp_path`` for people to look at (the path is printed: ``pytest -s`` or ``-rP`` shows it)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.emulator.history import seed
from dds_backup_dev.report import page
from dds_backup_dev.report.model import FleetReport
from tests.test_report import FLEET, build

# A browser is a process of its own; one for the module, so its tests run on one xdist worker (--dist loadgroup).
pytestmark = [pytest.mark.servers, pytest.mark.xdist_group("browser")]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root, in a sandbox without a network: no sandbox of its own, and none of Chromium's background
# connections (update checks, sync, QUIC), which would only be refused here.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (or set CHROMIUM=/path)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def fleet(configured: EmulatorServer) -> EmulatorServer:
    seed(configured.state, FLEET)
    return configured


def report_of_fleet() -> FleetReport:
    """The report of the seeded fleet, built on a thread of its own: Playwright's synchronous API keeps an
    event loop running on this one while the browser is open."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(build).result()[0]


def written(report: FleetReport, folder: Path, html: str | None = None) -> Path:
    path = folder / "dds-backup-report.html"
    path.write_text(html if html is not None else page.render(report))
    return path


class Watched:
    """A page whose every request is recorded: each one it attempts (``requests``, also those its own
    Content-Security-Policy then blocks, with the reason in ``failures``), and each one that got past the
    browser's checks towards the network (``sent``), where anything but the report's own file is refused."""

    def __init__(self, browser: Any, path: Path, **context: Any) -> None:
        self.url = path.as_uri()
        self.requests: list[str] = []
        self.sent: list[str] = []
        self.failures: dict[str, str] = {}
        self.context = browser.new_context(**context)
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.on("requestfailed", lambda request: self.failures.update({request.url: request.failure}))
        self.context.route("**/*", self._only_the_file)
        self.page = self.context.new_page()
        self.page.goto(self.url, wait_until="load")

    def _only_the_file(self, route: Any) -> None:
        self.sent.append(route.request.url)
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    def shot(self, path: Path) -> Path:
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        self.context.close()

    def overflow(self) -> int:
        """How far the page is wider than the window (0: no sideways scrolling)."""
        width: int = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        return width


def test_one_row_per_instance_with_its_freshness_and_no_network(
    browser: Any, fleet: EmulatorServer, tmp_path: Path
) -> None:
    report = report_of_fleet()
    watched = Watched(browser, written(report, tmp_path), viewport={"width": 1400, "height": 900})
    try:
        rows = watched.page.eval_on_selector_all(
            "tbody tr[data-instance-id]", "rows => rows.map(r => [r.dataset.instanceId, r.dataset.freshness])"
        )
        assert rows == [[r.id, r.freshness] for r in report.instances]
        assert {f for _, f in rows} == {"fresh", "stale", "never"}
        # the page asked for nothing but itself
        assert watched.requests == watched.sent == [watched.url]
        # usable at 1400 px: no sideways scrolling, and each strip wide enough to read
        assert watched.overflow() == 0
        strips = watched.page.eval_on_selector_all("svg.strip", "s => s.map(e => e.getBoundingClientRect().width)")
        assert len(strips) == 4 and min(strips) > 300
        labels = watched.page.eval_on_selector_all("svg.strip", "s => s.map(e => e.getAttribute('aria-label'))")
        assert all(re.match(r"(\d+ backups in 30 days: |no backup in the last 30 days)", label) for label in labels)
        shot = watched.shot(tmp_path / "report-1400.png")
        assert shot.stat().st_size > 10_000
    finally:
        watched.close()


def test_the_network_watch_sees_what_a_page_fetches(browser: Any, fleet: EmulatorServer, tmp_path: Path) -> None:
    # The watch above is not blind: the same page with an image from elsewhere is seen asking for it...
    report = report_of_fleet()
    pixel = '<img alt="" src="http://127.0.0.1:9/pixel.png">'
    html = page.render(report).replace("<main>", f"<main>{pixel}")
    without_policy = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    watched = Watched(browser, written(report, tmp_path, without_policy))
    try:
        assert watched.requests == watched.sent == [watched.url, "http://127.0.0.1:9/pixel.png"]
    finally:
        watched.close()
    # ...and with the page's own Content-Security-Policy in place the browser blocks it before it leaves.
    watched = Watched(browser, written(report, tmp_path, html))
    try:
        assert watched.requests == [watched.url, "http://127.0.0.1:9/pixel.png"]
        assert watched.sent == [watched.url]
        assert watched.failures == {"http://127.0.0.1:9/pixel.png": "csp"}
    finally:
        watched.close()


def test_usable_on_a_phone(browser: Any, fleet: EmulatorServer, tmp_path: Path) -> None:
    report = report_of_fleet()
    watched = Watched(
        browser,
        written(report, tmp_path),
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        assert watched.overflow() == 0
        # one card per instance, each cell saying what it is
        cards = watched.page.eval_on_selector_all(
            "tbody tr", "rows => rows.map(r => [getComputedStyle(r).display, r.getBoundingClientRect().width])"
        )
        assert len(cards) == 4 and all(display == "block" and width <= 390 for display, width in cards)
        label = watched.page.eval_on_selector(
            "tbody tr td[data-label='Mode']", "td => getComputedStyle(td, '::before').content"
        )
        assert label == '"Mode"'
        watched.shot(tmp_path / "report-phone.png")
    finally:
        watched.close()


def test_readable_in_print(browser: Any, fleet: EmulatorServer, tmp_path: Path) -> None:
    report = report_of_fleet()
    watched = Watched(browser, written(report, tmp_path), viewport={"width": 1100, "height": 1400})
    try:
        watched.page.emulate_media(media="print")
        head = watched.page.eval_on_selector("thead th", "th => getComputedStyle(th).position")
        colours = watched.page.eval_on_selector("body", "b => getComputedStyle(b).printColorAdjust")
        assert (head, colours) == ("static", "exact")
        rows = watched.page.eval_on_selector_all("tbody tr", "rows => rows.filter(r => r.offsetHeight > 0).length")
        assert rows == 4
        pdf = tmp_path / "dds-backup-report.pdf"
        watched.page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
        printed = pdf.read_bytes()
        assert printed.startswith(b"%PDF") and len(printed) > 10_000
        print(f"printed: {pdf}")
        watched.shot(tmp_path / "report-print.png")
    finally:
        watched.close()
