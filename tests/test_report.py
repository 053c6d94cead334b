"""``dds-backup report``: the fleet report built against the emulator (fresh, stale, never, failed, by hand,
automated, each source of the function), its JSON and its schema, the page as text, and the command."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from dds_backup_dev import cli
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, Fault
from dds_backup_dev.emulator.history import DAY, HOUR, Seeded, seed
from dds_backup_dev.report import page, schema
from dds_backup_dev.report.build import EVERYTHING, Progress, Scope, began, judge, list_fleet, make_report
from dds_backup_dev.report.model import FleetReport
from dds_backup_dev.report.who import Who
from lib.config import load_settings
from lib.dds.models import Backup
from lib.models import Audit, BackupRequest
from lib.planning.retention import begin
from lib.runtime import Invocation
from lib.service.clients import open_clients
from tests.conftest import BILLING, CATALOG, FROZEN, ORDERS, ROOT, Invoke, marked
from tests.test_cli import run as run_cli

SCHEMA = ROOT / "docs" / "report.schema.json"
POLICY = Audit(max_age_hours=24)

# GIVEN the demo fleet with a history that has one instance of each kind:
#   orders-prod: completed 2 h ago (by hand), an automated one, a failed one 5 h ago: fresh, with a failure
#   billing-prod: completed 30 h ago, failed 3 h and 27 h ago, and one 40 days ago (outside the window): stale
#   catalog-staging: only automated backups, the newest 3 h ago: fresh, unless only manual backups count
#   legacy-frozen: nothing: never
FLEET = [
    Seeded(ORDERS, "hand", 2 * HOUR, description="before the upgrade"),
    Seeded(ORDERS, "auto", 20 * HOUR),
    Seeded(ORDERS, "hand", 5 * HOUR, fails=True),
    Seeded(BILLING, "hand", 30 * HOUR),
    Seeded(BILLING, "hand", 3 * HOUR, fails=True),
    Seeded(BILLING, "hand", 27 * HOUR, fails=True),
    Seeded(BILLING, "hand", 40 * DAY, fails=True),
    Seeded(CATALOG, "auto", 3 * HOUR),
    Seeded(CATALOG, "auto", 27 * HOUR),
]


@pytest.fixture
def fleet(configured: EmulatorServer) -> EmulatorServer:
    seed(configured.state, FLEET)
    return configured


def build(
    request: BackupRequest = EVERYTHING, policy: Audit = POLICY, progress: Progress | None = None
) -> tuple[FleetReport, Any]:
    invocation = Invocation.from_context(LocalContext(timeout_s=60), time.monotonic())
    return asyncio.run(make_report(invocation, request, policy, progress or Progress(io.StringIO())))


def by_id(report: FleetReport) -> dict[str, Any]:
    return {row.id: row for row in report.instances}


# -- the builder against the emulator -----------------------------------------------------------------------------


def test_each_instance_is_fresh_stale_or_never_by_the_audit_policy(fleet: EmulatorServer) -> None:
    report, _ = build()
    rows = by_id(report)
    assert {i: r.freshness for i, r in rows.items()} == {
        ORDERS: "fresh",
        BILLING: "stale",
        CATALOG: "fresh",
        FROZEN: "never",
    }
    assert rows[ORDERS].age_hours == pytest.approx(2.0, abs=0.1)
    assert rows[ORDERS].verdict == "the newest completed backup began 2.0 hours ago; the limit is 24 hours"
    assert rows[BILLING].verdict == "the newest completed backup began 30.0 hours ago; the limit is 24 hours"
    assert rows[FROZEN].verdict == "there is no completed backup of this instance; the limit is 24 hours"
    assert (rows[FROZEN].age_hours, rows[FROZEN].backups, rows[FROZEN].status) == (None, [], "abnormal")


def test_only_manual_backups_count_when_told_so(fleet: EmulatorServer) -> None:
    rows = by_id(build(policy=Audit(max_age_hours=24, include_automated=False))[0])
    assert rows[CATALOG].freshness == "never"
    assert rows[CATALOG].verdict == "there is no completed manual backup of this instance; the limit is 24 hours"
    assert rows[ORDERS].freshness == "fresh"
    # a longer limit makes billing's 30-hour-old backup fresh again
    assert by_id(build(policy=Audit(max_age_hours=31))[0])[BILLING].freshness == "fresh"


def test_failures_in_the_window_are_counted_and_the_newest_is_named(fleet: EmulatorServer) -> None:
    report, _ = build()
    rows = by_id(report)
    billing = rows[BILLING]
    assert billing.failed_in_window == 2  # the one 40 days ago is outside the 30 days
    assert billing.last_failure is not None
    assert billing.last_failure.status == "FAILED" and billing.last_failure.age_hours == pytest.approx(3.0, abs=0.1)
    assert billing.backups_listed == 4 and len(billing.backups) == 3
    assert rows[ORDERS].failed_in_window == 1 and rows[CATALOG].last_failure is None
    assert (report.summary.failed_in_window, report.summary.backups_in_window) == (3, 8)


def test_who_made_each_backup_hand_made_and_automated(fleet: EmulatorServer) -> None:
    rows = by_id(build()[0])
    orders = {b.type: b for b in rows[ORDERS].backups if b.status == "COMPLETED"}
    assert orders["Manual"].who is Who.BY_HAND and orders["Manual"].description == "before the upgrade"
    assert orders["Auto"].who is Who.AUTOMATED
    assert {b.who for b in rows[CATALOG].backups} == {Who.AUTOMATED}


def test_who_made_each_backup_by_the_functions_mark(configured: EmulatorServer) -> None:
    # GIVEN backups the function made for each kind of source (as its runner marks them), and one made by hand
    makers = ["timer", "webhook", "chat", "queue", "cloudevents", "direct", "hand"]
    seed(configured.state, [Seeded(ORDERS, maker, (n + 1) * HOUR, description="why") for n, maker in enumerate(makers)])
    seed(configured.state, [Seeded(CATALOG, "timer", HOUR)])  # no description of a person's: the mark alone
    rows = by_id(build()[0])
    backups = rows[ORDERS].backups
    assert [b.who.value for b in backups] == ["timer", "webhook", "chat", "queue", "cloudevents", "direct", "by_hand"]
    # the mark is not part of what a person reads
    assert {b.description for b in backups} == {"why"}
    assert [(b.who, b.description) for b in rows[CATALOG].backups] == [(Who.TIMER, "")]


def test_a_look_alike_or_a_copied_mark_is_by_hand(configured: EmulatorServer) -> None:
    # GIVEN a backup named exactly as the function names its own, without the mark...
    state = configured.state
    ours = "ddsb-orders-prod-20261201T010000-0123abcd"
    state.seed_backup(ORDERS, ours, age_s=HOUR)
    # ...and one carrying a mark written for another backup's name
    state.seed_backup(ORDERS, "before-upgrade", description=marked(ours, ORDERS, description="copied"), age_s=2 * HOUR)
    # ...and one the function made under that name
    state.seed_backup(
        BILLING,
        ours.replace("orders", "billing"),
        description=marked(ours.replace("orders", "billing"), BILLING),
        age_s=HOUR,
    )
    rows = by_id(build()[0])
    assert [b.who for b in rows[ORDERS].backups] == [Who.BY_HAND, Who.BY_HAND]
    assert rows[ORDERS].backups[1].description == marked(ours, ORDERS, description="copied")  # not ours: kept whole
    assert [b.who for b in rows[BILLING].backups] == [Who.TIMER]


def test_rows_are_worst_first_and_the_summary_adds_up(fleet: EmulatorServer) -> None:
    report, _ = build()
    # never, then stale, then fresh; among the fresh, the one with a failure first
    assert [r.id for r in report.instances] == [FROZEN, BILLING, ORDERS, CATALOG]
    s = report.summary
    assert (s.instances, s.fresh, s.stale, s.never, s.unknown, s.building) == (4, 2, 1, 1, 0, 0)
    completed = sum(1 for item in FLEET if not item.fails)
    assert s.size_kb == completed * 204800  # the emulator's size of a completed backup, in KB


def test_the_audit_part_is_what_an_audit_request_returns(fleet: EmulatorServer, invoke: Invoke) -> None:
    # One source of truth: the same instances audited through the handler reach the same verdicts.
    result = invoke({"selector": {"all": True}, "audit": {"max_age_hours": 24}})
    audited = {e["data"]["instance_id"]: e["data"] for e in result["results"]}
    for row in build()[0].instances:
        data = audited[row.id]
        assert data["outcome"] == ("fresh" if row.freshness == "fresh" else "stale")
        assert row.audit is not None
        mine, theirs = row.audit.model_dump(), data["audit"]
        for part in ("building", "recent_failed"):
            assert [b["id"] for b in mine[part]] == [b["id"] for b in theirs[part]]
        newest = theirs["newest_completed"]
        assert (mine["newest_completed"] or {}).get("id") == (newest or {}).get("id")
        if row.freshness != "fresh":
            assert row.verdict == data["error"]["message"]


def test_a_selection_reports_only_its_instances(fleet: EmulatorServer) -> None:
    report, _ = build(BackupRequest(selector={"tags": {"env": "prod"}}))
    assert {r.id for r in report.instances} == {ORDERS, BILLING}
    assert report.selection == {"selector": {"tags": {"env": "prod"}, "all": False}}
    unknown = "0" * 32 + "in02"
    ids, listing = build(BackupRequest(instance_ids=[CATALOG, unknown]))
    assert [r.id for r in ids.instances] == [CATALOG] and listing.missing == [unknown]


def test_judged_as_the_backups_arrive_is_judged_as_a_whole(fleet: EmulatorServer) -> None:
    made, _ = build()

    async def listed() -> Any:
        invocation = Invocation.from_context(LocalContext(timeout_s=60), time.monotonic())
        async with open_clients(load_settings(invocation.lookup), invocation, invocation.deadline) as clients:
            return await list_fleet(clients.dds, EVERYTHING, Progress(io.StringIO()))

    scope = Scope(policy=POLICY, request=EVERYTHING, now=made.generated_at, endpoint=made.endpoint)
    assert judge(asyncio.run(listed()), scope) == made


def test_it_only_reads(fleet: EmulatorServer) -> None:
    build()
    writes = [f"{r.method} {r.path}" for r in fleet.state.requests if r.method != "GET"]
    assert writes == ["POST /v3/auth/tokens"]


def test_an_instance_whose_backups_cannot_be_listed_is_unknown_not_lost(fleet: EmulatorServer) -> None:
    # GIVEN the backup list of billing-prod fails every time (beyond the retries)
    fleet.state.faults.append(
        Fault("GET", "/backups", status=500, count=100, error_code="DBS.280005", query_contains=BILLING)
    )
    report, _ = build()
    row = by_id(report)[BILLING]
    assert row.freshness == "unknown" and row.error is not None and row.error.code == "DBS.280005"
    assert row.verdict.startswith("its backups could not be listed: ")
    assert report.instances[0].id == BILLING  # unknown is the worst
    assert report.summary.unknown == 1 and report.summary.instances == 4
    html = page.render(report)
    row = html[html.index(f'<tr data-instance-id="{BILLING}" data-freshness="unknown">') :].split("</tr>")[0]
    assert '<span class="badge unknown">not listed</span>' in row and "DBS.280005" not in row
    assert "its backups could not be listed: " in row and "no backup in the last" not in row
    assert "could not be read</span>" in html  # the fleet's tile


@pytest.mark.parametrize(
    "text",
    ["2026-12-01 01:02:03", "2026-1-5 1:2:3", "2026-13-01 00:00:00", "2026-02-30 00:00:00", "2026-12-01T01:02:03",
     "2026-12-01 01:02:03+08:00", " 2026-12-01 01:02:03", ""],
)  # fmt: skip
def test_backup_times_are_read_as_the_audit_reads_them(text: str) -> None:
    backup = Backup(id="b", name="n", begin_time=text)
    assert began(backup) == begin(backup)


def test_progress_is_plain_lines_at_most_every_interval() -> None:
    ticks = iter([0.0, 0.0, 0.3, 1.2, 1.5, 2.3, 2.4])  # made, found, then one per instance
    out = io.StringIO()
    progress = Progress(out, every_s=1.0, clock=lambda: next(ticks))
    progress.found(5)
    for _ in range(5):
        progress.listed(100)
    lines = out.getvalue().splitlines()
    assert lines == [
        "dds-backup report: 5 instance(s) selected; listing their backups",
        "dds-backup report: backups of 2/5 instances listed (200 backups)",
        "dds-backup report: backups of 4/5 instances listed (400 backups)",
        "dds-backup report: backups of 5/5 instances listed (500 backups)",
    ]


# -- the JSON and its schema ----------------------------------------------------------------------------------------


def test_the_schema_in_the_docs_is_the_models(fleet: EmulatorServer) -> None:
    assert SCHEMA.read_text() == schema.schema_text(), "regenerate it: python -m dds_backup_dev.report.schema"
    # and a report reads back through it unchanged
    report, _ = build()
    assert FleetReport.model_validate_json(report.model_dump_json()) == report


# -- the page as text -------------------------------------------------------------------------------------------------


def test_the_page_loads_nothing_and_escapes_what_the_api_says(fleet: EmulatorServer) -> None:
    # GIVEN an instance whose name is markup (the API should never allow it; the page must not trust that)
    fleet.state.instances[CATALOG]["name"] = 'x"><img src=https://example.com/x.png onerror=alert(1)>'
    html = page.render(build()[0])
    assert "<img" not in html and "&lt;img src=https://example.com/x.png" in html
    assert not re.search(r"<(script|link|iframe|object|embed|img|base)\b", html, re.IGNORECASE)
    assert "url(" not in html and "@import" not in html
    references = re.findall(r'\s(?:src|href|xlink:href|action|srcset|poster)="([^"]*)"', html)
    assert references and all(r.startswith("#") for r in references)  # only the page's own shapes
    assert f'<meta http-equiv="Content-Security-Policy" content="{page.CSP}">' in html
    assert "default-src 'none'" in page.CSP


def test_one_row_per_instance_with_its_id_and_freshness(fleet: EmulatorServer) -> None:
    report, _ = build()
    rows = re.findall(r'<tr data-instance-id="([^"]+)" data-freshness="([^"]+)">', page.render(report))
    assert rows == [(r.id, r.freshness) for r in report.instances]


def test_the_header_says_where_when_which_and_by_what_policy(fleet: EmulatorServer, monkeypatch) -> None:
    monkeypatch.setenv("REGION", "eu-de")
    request = BackupRequest(selector={"tags": {"env": "prod"}, "mode": "Sharding"})
    report, _ = build(request, Audit(max_age_hours=26, include_automated=False))
    html = page.render(report)
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    for shown in (
        f"<dt>Project</dt><dd><code>{report.project_id}</code></dd>",
        "<dt>Region</dt><dd>eu-de</dd>",
        f"<dt>Generated</dt><dd>{generated}</dd>",
        "<dt>Policy</dt><dd>a completed backup within 26 hours; only manual backups count</dd>",
        "<dt>Instances</dt><dd>selected by tag env=prod, mode Sharding</dd>",
    ):
        assert shown in html
    assert [r.id for r in report.instances] == [BILLING]


def test_sizes_and_ages_read_as_people_say_them() -> None:
    assert [page.size(kb) for kb in (512, 204800, 5 * 1024**2, 3 * 1024**3, 2048 * 1024**3)] == [
        "512 KB",
        "200.0 MB",
        "5.0 GB",
        "3.0 TB",
        "2048.0 TB",
    ]
    assert [page.age(h) for h in (0.25, 2.04, 47.9, 76.0)] == ["15 min", "2.0 h", "47.9 h", "3.2 days"]


# -- the command ----------------------------------------------------------------------------------------------------


def report_cli(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["report", *args])
    out, err = capfd.readouterr()
    return code, out, err


def test_the_command_writes_both_files_and_says_so(
    fleet: EmulatorServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    html, data = tmp_path / "fleet.html", tmp_path / "fleet.json"
    code, out, err = report_cli(capfd, "--html", str(html), "--json", str(data))
    assert code == 0, err
    assert out == ""  # stdout stays free for --json -
    written = FleetReport.model_validate_json(data.read_text())
    assert {r.id: r.freshness for r in written.instances}[FROZEN] == "never"
    assert html.read_text().count("<tr data-instance-id=") == 4
    assert oct(html.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    lines = err.splitlines()
    assert lines[-1] == (
        f"dds-backup report: wrote {html} and {data}: 4 instance(s): 2 fresh, 1 stale, 1 never backed up; "
        "3 failed backup(s) in 30 days"
    )
    assert not any(line.startswith("{") for line in lines)


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_command_takes_the_policy_from_the_request_unless_told_otherwise(
    fleet: EmulatorServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    request = json.dumps({"selector": {"all": True}, "audit": {"max_age_hours": 31, "include_automated": False}})
    html = str(tmp_path / "r.html")
    code, out, _ = report_cli(capfd, "--request", request, "--html", html, "--json", "-")
    assert code == 0
    printed = FleetReport.model_validate_json(out)
    assert printed.policy == Audit(max_age_hours=31, include_automated=False)
    assert by_id(printed)[BILLING].freshness == "fresh" and by_id(printed)[CATALOG].freshness == "never"
    code, out, _ = report_cli(
        capfd, "--request", request, "--max-age-hours", "2", "--include-automated", "--html", html, "--json", "-"
    )
    assert FleetReport.model_validate_json(out).policy == Audit(max_age_hours=2, include_automated=True)


def test_bad_usage_exits_2_before_any_call(
    fleet: EmulatorServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, _, err = report_cli(capfd, "--request", '{"selector": {"nam": "x"}}')
    assert code == 2 and "--request" in err and "selector.nam" in err
    code, _, err = report_cli(capfd, "--html", str(tmp_path / "no" / "such" / "r.html"))
    assert code == 2 and "does not exist" in err
    with pytest.raises(SystemExit) as exited:
        cli.main(["report", "--max-age-hours", "0"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        cli.main(["report", "--manual-only", "--include-automated"])
    assert fleet.state.requests == []


def test_a_page_that_cannot_be_written_leaves_nothing_behind(
    fleet: EmulatorServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").mkdir()  # a folder where the page should go
    code, _, err = report_cli(capfd, "--html", str(tmp_path / "taken"))
    assert code == 1 and "cannot write the report" in err
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_an_incomplete_report_is_written_and_exits_1(
    fleet: EmulatorServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    unknown = "0" * 32 + "in02"
    html = tmp_path / "r.html"
    code, _, err = report_cli(capfd, "--request", json.dumps({"instance_ids": [ORDERS, unknown]}), "--html", str(html))
    assert code == 1 and html.exists()
    assert f"incomplete: 1 requested instance id(s) unknown to the API: {unknown}" in err
    code, _, err = report_cli(capfd, "--request", '{"selector": {"name": "nothing-like-it"}}', "--html", str(html))
    assert code == 1 and "incomplete: the selector matches no instance" in err
    assert "No instance matches the selection." in html.read_text()


def test_the_command_says_why_when_it_cannot_list(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OS_PASSWORD", "not-the-password")
    code, _, err = report_cli(capfd, "--html", str(tmp_path / "r.html"))
    assert code == 1 and not (tmp_path / "r.html").exists()
    assert "dds-backup report: " in err and "Traceback" not in err
    monkeypatch.setenv("MAX_CONCURRENCY", "0")
    code, _, err = report_cli(capfd, "--html", str(tmp_path / "r.html"))
    assert code == 1 and "MAX_CONCURRENCY" in err


@pytest.mark.servers  # a process of its own, with the embedded emulator
def test_with_nothing_configured_it_reports_the_embedded_demo_fleet(tmp_path: Path) -> None:
    proc = run_cli("report", "--html", str(tmp_path / "demo.html"), "--json", str(tmp_path / "demo.json"))
    assert proc.returncode == 0, proc.stderr
    assert "embedded emulator" in proc.stderr and "30 days of demo backups" in proc.stderr
    demo = FleetReport.model_validate_json((tmp_path / "demo.json").read_text())
    assert [(r.name, r.freshness) for r in demo.instances] == [
        ("legacy-frozen", "never"),
        ("billing-prod", "stale"),
        ("catalog-staging", "stale"),
        ("orders-prod", "fresh"),
    ]
    assert not any(line.startswith("{") for line in proc.stderr.splitlines())
