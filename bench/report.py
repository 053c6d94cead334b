"""The fleet report on a large fleet: 500 instances with 100 backups each (50,000 backups), in the emulator's
own process on loopback.

In one process, alternating, several times: the listing calls alone (the instances, then every instance's
backups, through the same clients and the same MAX_CONCURRENCY) against the whole report (the same listing,
then the audit's verdict and who made each backup, the page and the JSON written to files). The ratio is what
the report adds to the listing it cannot do without. Then ``dds-backup report`` as a user runs it (a fresh
process), and the page in Chromium: how long it takes to load, and to lay itself out again for a phone.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Emulator, fmt, median
from dds_backup_dev.context import LocalContext
from dds_backup_dev.report.build import Progress, Scope, judge, list_fleet, paused_gc, report_now
from dds_backup_dev.report.command import write
from dds_backup_dev.report.page import render
from lib import logs
from lib.config import load_settings
from lib.models import Audit, BackupRequest, Selector
from lib.runtime import Invocation
from lib.service.clients import open_clients

INSTANCES = 500
PER_INSTANCE = 100
POLICY = Audit(max_age_hours=24)
# The synthetic fleet alone (the emulator also holds the 4 demo instances).
FLEET = BackupRequest(selector=Selector(tags={"fleet": "bench"}))
CONCURRENCY = "10"  # the default MAX_CONCURRENCY, what a user gets


def invocation() -> Invocation:
    return Invocation.from_context(LocalContext(timeout_s=300), time.monotonic())


async def listing_alone() -> int:
    """What the report cannot do without: the calls, through the service's clients."""
    inv = invocation()
    settings = load_settings(inv.lookup)
    async with open_clients(settings, inv, inv.deadline) as clients:
        listing = await list_fleet(clients.dds, FLEET, Progress(io.StringIO()))
    return sum(len(b) for b in listing.backups.values() if isinstance(b, list))


def whole_report(folder: Path) -> dict[str, float]:
    """The report as the command makes it, with the time of each part."""
    started, cpu = time.perf_counter(), time.process_time()
    with paused_gc():  # as the command does
        report, _ = report_now(invocation(), FLEET, POLICY, Progress(io.StringIO()))
        listed = time.perf_counter()
        html = render(report)
        rendered = time.perf_counter()
        data = report.model_dump_json()
        dumped = time.perf_counter()
        write(str(folder / "report.html"), html)
        write(str(folder / "report.json"), data + "\n")
    done = time.perf_counter()
    return {
        "wall": done - started,
        "cpu": time.process_time() - cpu,
        "list+judge": listed - started,
        "page": rendered - listed,
        "json": dumped - rendered,
        "write": done - dumped,
        "html_mb": len(html.encode()) / 2**20,
        "json_mb": len(data.encode()) / 2**20,
        "instances": float(report.summary.instances),
        "backups": float(sum(r.backups_listed for r in report.instances)),
    }


def judging_alone(runs: int) -> list[float]:
    """The verdicts and who made each backup, on a listing already in memory."""

    async def fetch() -> object:
        inv = invocation()
        async with open_clients(load_settings(inv.lookup), inv, inv.deadline) as clients:
            return await list_fleet(clients.dds, FLEET, Progress(io.StringIO()))

    listing = asyncio.run(fetch())
    out = []
    for _ in range(runs):
        scope = Scope(policy=POLICY, request=FLEET, now=datetime.now(timezone.utc))
        with paused_gc():
            start = time.perf_counter()
            judge(listing, scope)  # type: ignore[arg-type]
            out.append(time.perf_counter() - start)
    return out


def command(folder: Path, env: dict[str, str]) -> float:
    """``dds-backup report`` in a fresh process, as a user runs it."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dds_backup_dev.cli", "report", "--request", FLEET.model_dump_json(exclude_none=True),
         "--html", str(folder / "cmd.html"), "--json", str(folder / "cmd.json")],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"dds-backup report failed:\n{proc.stderr[-3000:]}")
    return wall


def in_chromium(page: Path) -> dict[str, float] | None:
    """Load the page in headless Chromium (when installed): navigation to the load event, and one layout
    after the window turns into a phone's."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return None
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 900})
            tab.goto(page.as_uri(), wait_until="load")
            load = tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
            start = time.perf_counter()
            tab.set_viewport_size({"width": 390, "height": 844})
            tab.evaluate("document.body.offsetHeight")  # the phone's layout is done
            relayout = time.perf_counter() - start
            scroll = tab.evaluate(
                "() => new Promise(done => { const t = performance.now();"
                " window.scrollTo(0, document.body.scrollHeight);"
                " requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t))); })"
            )
        finally:
            browser.close()
    return {"load": load, "relayout": relayout, "scroll": scroll / 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the emulator adds to every answer")
    args = parser.parse_args()

    em = Emulator(args.latency, INSTANCES, backups_per_instance=PER_INSTANCE)
    try:
        env = {**em.env(), "MAX_CONCURRENCY": CONCURRENCY}
        os.environ.update(env)
        logs.configure("WARNING")
        asyncio.run(listing_alone())  # warm: imports, the emulator's first answers
        lists, list_cpu, reports = [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for _ in range(args.runs):
                start, cpu = time.perf_counter(), time.process_time()
                with paused_gc():  # under the same conditions as the report
                    backups = asyncio.run(listing_alone())
                lists.append(time.perf_counter() - start)
                list_cpu.append(time.process_time() - cpu)
                reports.append(whole_report(folder))
            judged = judging_alone(args.runs)
            commands = [command(folder, env) for _ in range(max(1, args.runs // 2))]
            browser = in_chromium(folder / "report.html")
    finally:
        em.close()

    wall = [r["wall"] for r in reports]
    last = reports[-1]
    ratio = median(wall) / median(lists)
    print(
        f"report: {int(last['instances'])} instances, {backups} backups ({PER_INSTANCE} each), MAX_CONCURRENCY="
        f"{CONCURRENCY}, emulator latency {args.latency * 1000:.0f} ms, loopback; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs; {args.runs} runs each, alternating, median (min-max)"
    )
    print(f"{'measurement':38} {'report':>22}   {'baseline':22} {'':>22} {'ratio':>6}  goal")
    print(f"{'report, wall':38} {fmt(wall, ' s'):>22}   {'the listing calls alone':22} "
          f"{fmt(lists, ' s'):>22} {ratio:6.2f}  <= 1.50")  # fmt: skip
    print(f"{'report, wall':38} {fmt(wall, ' s'):>22}   {'goal':22} {'5.0 s':>22} "
          f"{median(wall) / 5.0:6.2f}  < 1.00")  # fmt: skip
    cpus = [r["cpu"] for r in reports]
    print(f"{'report, CPU of this process':38} {fmt(cpus, ' s'):>22}   {'the listing calls alone':22} "
          f"{fmt(list_cpu, ' s'):>22} {median(cpus) / median(list_cpu):6.2f}")  # fmt: skip
    print("  of which (median):")
    for key, label in (
        ("list+judge", "listing, verdicts, who made each"),
        ("page", "the page (HTML, SVG)"),
        ("json", "the JSON"),
        ("write", "writing both files"),
    ):
        print(f"    {label:36} {median([r[key] for r in reports]) * 1000:8.0f} ms")
    print(f"    {'verdicts and who, on a listing in memory':36} {median(judged) * 1000:8.0f} ms")
    print(f"  page {last['html_mb']:.1f} MiB, JSON {last['json_mb']:.1f} MiB")
    print(f"dds-backup report as a user runs it (fresh process): {fmt(commands, ' s')}")
    if browser is None:
        print("page in Chromium: not measured (no Chromium; `make browser` installs it)")
    else:
        print(
            f"page in Chromium (headless, 1400 px): loaded in {browser['load']:.2f} s; a phone's width laid out in "
            f"{browser['relayout'] * 1000:.0f} ms; scrolled to the end in {browser['scroll'] * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
