"""``dds-backup report``: list, judge, write the page (and the JSON), say how it went.

Exit 0 when the files hold every selected instance; 1 when the report could not be made (configuration,
credentials, the API) or is incomplete (an instance whose backups could not be listed, requested ids the API
does not know, a selector that matched nothing); 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.report.build import EVERYTHING, Progress, paused_gc, report_now
from dds_backup_dev.report.model import FleetReport
from dds_backup_dev.report.page import render
from lib.cloud.errors import CloudError
from lib.config import ConfigError
from lib.models import Audit, BackupRequest, ErrorInfo
from lib.runner.resolve import Resolution
from lib.runtime import Invocation
from lib.sources.common import parse_json_request

DEFAULT_HTML = "dds-backup-report.html"
DEFAULT_MAX_AGE_HOURS = 24


def _fail(message: str, code: int) -> int:
    print(f"dds-backup report: {message}", file=sys.stderr)
    return code


def hours(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of hours") from None
    if not 1 <= value <= 8760:
        raise argparse.ArgumentTypeError("between 1 and 8760 hours (a year), as an audit request allows")
    return value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report",
        help="read-only fleet report: every instance's backups as one HTML page (and JSON), with the configuration",
        description="List the selected instances and their backups (reads only), judge each with the audit's "
        "verdict and write one self-contained HTML page; --json also writes the same data for machines.",
    )
    report.add_argument(
        "--request",
        help="which instances, as a backup request: its selection (instance_id, instance_ids or selector) and its "
        'audit policy are read (default: every instance, {"selector": {"all": true}})',
    )
    report.add_argument(
        "--max-age-hours",
        type=hours,
        help=f"a backup older than this is stale (default: the request's audit, else {DEFAULT_MAX_AGE_HOURS})",
    )
    counted = report.add_mutually_exclusive_group()
    counted.add_argument(
        "--include-automated",
        dest="include_automated",
        action="store_true",
        default=None,
        help="the automated policy's backups count towards fresh (default)",
    )
    counted.add_argument(
        "--manual-only", dest="include_automated", action="store_false", help="only manual backups count"
    )
    report.add_argument("--html", default=DEFAULT_HTML, help=f"where the page goes (default {DEFAULT_HTML})")
    report.add_argument("--json", help="also write the report as JSON here (- for stdout; default: no JSON)")
    report.add_argument("--timeout", type=int, default=300, help="give up after this many seconds (default 300)")


def _request(text: str | None) -> BackupRequest | str:
    if text is None:
        return EVERYTHING
    parsed = parse_json_request(text, "--request")
    return parsed.message if isinstance(parsed, ErrorInfo) else parsed


def _policy(args: argparse.Namespace, request: BackupRequest) -> Audit:
    given = request.audit
    return Audit(
        max_age_hours=args.max_age_hours or (given.max_age_hours if given else DEFAULT_MAX_AGE_HOURS),
        include_automated=(
            args.include_automated
            if args.include_automated is not None
            else (given.include_automated if given else True)
        ),
    )


def _unwritable(path: str) -> str | None:
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        return f"cannot write {path}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"cannot write {path}: the folder {folder} is not writable"
    return None


def write(path: str, text: str) -> None:
    """All or nothing: a reader never sees half a page, and an old page stays until the new one is complete."""
    target = Path(path)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.resolve().parent, delete=False) as tmp:
        try:
            tmp.write(text)
            tmp.close()
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp.name, 0o666 & ~umask)  # as any new file, not the temporary file's 0600
            os.replace(tmp.name, target)
        except BaseException:
            os.unlink(tmp.name)
            raise


def _problems(request: BackupRequest, report: FleetReport, found: Resolution) -> list[str]:
    out = []
    if found.missing:
        shown = ", ".join(found.missing[:10]) + (" and more" if len(found.missing) > 10 else "")
        out.append(f"{len(found.missing)} requested instance id(s) unknown to the API: {shown}")
    if found.empty_selector and request.selector is not None and not request.selector.all:
        out.append("the selector matches no instance")
    if report.summary.unknown:
        out.append(f"the backups of {report.summary.unknown} instance(s) could not be listed (see the page)")
    return out


def _said(report: FleetReport) -> str:
    s = report.summary
    parts = [f"{s.fresh} fresh", f"{s.stale} stale", f"{s.never} never backed up"]
    if s.unknown:
        parts.append(f"{s.unknown} unknown")
    return (
        f"{s.instances} instance(s): {', '.join(parts)}; {s.failed_in_window} failed backup(s) in "
        f"{report.window_days} days"
    )


def run(args: argparse.Namespace, embedded: Callable[[], EmulatorServer | None]) -> int:
    """``embedded`` starts the embedded emulator when nothing is configured (after the arguments are checked)."""
    from dds_backup_dev.context import LocalContext
    from lib import logs

    request = _request(args.request)
    if isinstance(request, str):
        return _fail(request, 2)
    for path in (args.html, args.json):
        problem = _unwritable(path) if path not in (None, "-") else None
        if problem:
            return _fail(problem, 2)
    policy = _policy(args, request)
    emulator = embedded()
    logs.configure("WARNING")  # the files are the output; only trouble goes to the log on stderr
    context = LocalContext(timeout_s=args.timeout, project_id=os.environ.get("RUNTIME_PROJECT_ID", ""))
    invocation = Invocation.from_context(context, time.monotonic())
    with paused_gc():
        try:
            report, found = report_now(invocation, request, policy, Progress())
        except ConfigError as exc:
            return _fail(f"{exc} (the same configuration as dds-backup check; run it for a checklist)", 1)
        except CloudError as exc:
            return _fail(f"the instances could not be listed: {exc.message}", 1)
        finally:
            if emulator is not None:
                emulator.stop()
        try:
            write(args.html, render(report))
            if args.json == "-":
                print(report.model_dump_json())
            elif args.json:
                write(args.json, report.model_dump_json() + "\n")
        except OSError as exc:
            return _fail(f"cannot write the report: {exc}", 1)
    written = " and ".join(p for p in (args.html, args.json) if p and p != "-")
    print(f"dds-backup report: wrote {written}: {_said(report)}", file=sys.stderr)
    problems = _problems(request, report, found)
    for problem in problems:
        print(f"dds-backup report: incomplete: {problem}", file=sys.stderr)
    return 1 if problems else 0
