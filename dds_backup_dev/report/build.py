"""Building the fleet report: list the selected instances and every backup of each through the function's own
clients (reads only), and judge each instance with the audit's verdict (``lib/planning/audit.py``) as soon as
its backups arrive.

``list_fleet`` is the calls alone; ``judge`` is a pure function of what they returned, the policy and the time;
``make_report`` does both at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TextIO, TypeVar

from dds_backup_dev.check import endpoint
from dds_backup_dev.report.model import BackupEntry, FleetReport, Freshness, InstanceReport, Summary
from dds_backup_dev.report.who import who_made
from lib.cloud.errors import CloudError
from lib.config import load_settings
from lib.dds.client import DdsClient
from lib.dds.models import Backup, Instance
from lib.models import Audit, BackupRequest, ErrorInfo, Selector
from lib.planning import audit
from lib.planning.retention import begin
from lib.runner.resolve import Resolution, resolve
from lib.runtime import Invocation
from lib.service.clients import open_clients

WINDOW_DAYS = 30
EVERYTHING = BackupRequest(selector=Selector(all=True))


class Progress:
    """Plain lines on a stream (stderr) while the fleet is listed: never JSON, so they stand apart from log
    lines. A line when the instances are known, then how far the backups are, at most every ``every_s``
    seconds, and when they are all listed."""

    def __init__(
        self, out: TextIO | None = None, every_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.out = out if out is not None else sys.stderr
        self.every_s = every_s
        self.clock = clock
        self.total = 0
        self.done = 0
        self.backups = 0
        self._last = clock()

    def say(self, text: str) -> None:
        print(f"dds-backup report: {text}", file=self.out, flush=True)

    def found(self, instances: int) -> None:
        self.total = instances
        self._last = self.clock()
        self.say(f"{instances} instance(s) selected; listing their backups")

    def listed(self, backups: int) -> None:
        self.done += 1
        self.backups += backups
        now = self.clock()
        if self.done == self.total or now - self._last >= self.every_s:
            self._last = now
            self.say(f"backups of {self.done}/{self.total} instances listed ({self.backups} backups)")


@dataclass(frozen=True)
class Listing:
    """What the API answered: the instances, and for each its backups or why they could not be listed."""

    project_id: str
    instances: list[Instance]
    backups: dict[str, list[Backup] | ErrorInfo]
    #: Requested ids that the API does not know.
    missing: list[str] = field(default_factory=list)
    #: A selector that matched no instance.
    empty_selector: bool = False


T = TypeVar("T")
Answer = list[Backup] | ErrorInfo


async def each_instance(
    dds: DdsClient, request: BackupRequest, progress: Progress, then: Callable[[Instance, Answer], T]
) -> tuple[Resolution, list[T]]:
    """The instances the request selects, then every backup of each, concurrently (MAX_CONCURRENCY bounds the
    calls in flight). ``then`` takes each instance's backups, or why they could not be listed, as soon as they
    arrive, so that its work overlaps the calls still in flight; its results come back in the instances' order."""
    found = await resolve(dds, request)
    progress.found(len(found.instances))

    async def one(instance: Instance) -> T:
        try:
            listed: Answer = await dds.list_backups(instance_id=instance.id)
        except CloudError as exc:
            listed = exc.info()
        progress.listed(len(listed) if isinstance(listed, list) else 0)
        return then(instance, listed)

    return found, list(await asyncio.gather(*(one(i) for i in found.instances)))


async def list_fleet(dds: DdsClient, request: BackupRequest, progress: Progress) -> Listing:
    """The listing calls alone, every answer kept: what the report cannot do without."""
    found, answers = await each_instance(dds, request, progress, lambda _, answer: answer)
    return Listing(
        project_id=dds.project_id,
        instances=found.instances,
        backups={i.id: a for i, a in zip(found.instances, answers, strict=True)},
        missing=found.missing,
        empty_selector=found.empty_selector,
    )


# -- judging ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the report is about besides the listing: the policy, the selection, where and when."""

    policy: Audit
    request: BackupRequest
    now: datetime
    region: str | None = None
    endpoint: str = ""
    window_days: int = WINDOW_DAYS


def _hours(since: datetime, now: datetime) -> float | None:
    """Hours from ``since`` to ``now``; a backup that began while the report was listing is 0 hours old."""
    return max(0.0, round((now - since).total_seconds() / 3600, 1)) if since.year > 1 else None


_API_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def began(backup: Backup) -> datetime:
    """``retention.begin``, ten times faster for the API's own shape (``fromisoformat`` instead of ``strptime``):
    a large fleet has tens of thousands of backups. Any other shape goes to ``begin`` itself."""
    if _API_TIME.fullmatch(backup.begin_time):
        try:
            return datetime.fromisoformat(backup.begin_time).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return begin(backup)


def _entry(backup: Backup, at: datetime, now: datetime) -> BackupEntry:
    who, description = who_made(backup)
    return BackupEntry(
        id=backup.id,
        name=backup.name,
        type=backup.type,
        status=backup.status,
        begin_time=backup.begin_time,
        end_time=backup.end_time,
        age_hours=_hours(at, now),
        size_kb=backup.size,
        who=who,
        description=description,
    )


def _unknown(instance: Instance, error: ErrorInfo) -> InstanceReport:
    return InstanceReport(
        id=instance.id,
        name=instance.name,
        mode=instance.mode,
        status=instance.status,
        freshness="unknown",
        verdict=f"its backups could not be listed: {error.message}",
        error=error,
    )


def judge_instance(instance: Instance, backups: Sequence[Backup], scope: Scope) -> InstanceReport:
    found, stale = audit.evaluate(backups, scope.policy, scope.now)
    newest = found.newest_completed
    freshness: Freshness = "fresh" if stale is None else ("never" if newest is None else "stale")
    if stale is None:
        assert newest is not None  # fresh means a completed backup within the window
        kind = "completed backup" if scope.policy.include_automated else "completed manual backup"
        limit = scope.policy.max_age_hours
        verdict = f"the newest {kind} began {newest.age_hours} hours ago; the limit is {limit} hours"
    else:
        verdict = stale.message
    start = scope.now - timedelta(days=scope.window_days)
    dated = sorted(((began(b), b) for b in backups), key=lambda pair: pair[0], reverse=True)
    window = [_entry(b, at, scope.now) for at, b in dated if start <= at]
    failed = [e for e in window if e.status == "FAILED"]
    return InstanceReport(
        id=instance.id,
        name=instance.name,
        mode=instance.mode,
        status=instance.status,
        freshness=freshness,
        verdict=verdict,
        age_hours=newest.age_hours if newest else None,
        audit=found,
        failed_in_window=len(failed),
        last_failure=failed[0] if failed else None,
        backups_listed=len(backups),
        size_kb=sum(b.size or 0 for b in backups if b.status == "COMPLETED"),
        backups=window,
    )


_RANK = {"unknown": 0, "never": 1, "stale": 2, "fresh": 3}


def worst_first(row: InstanceReport) -> tuple[int, int, float, str, str]:
    age = row.age_hours if row.age_hours is not None else float("inf")
    return (_RANK[row.freshness], -row.failed_in_window, -age, row.name, row.id)


def summarise(rows: Sequence[InstanceReport]) -> Summary:
    def count(freshness: str) -> int:
        return sum(r.freshness == freshness for r in rows)

    return Summary(
        instances=len(rows),
        fresh=count("fresh"),
        stale=count("stale"),
        never=count("never"),
        unknown=count("unknown"),
        failed_in_window=sum(r.failed_in_window for r in rows),
        building=sum(len(r.audit.building) for r in rows if r.audit is not None),
        backups_in_window=sum(len(r.backups) for r in rows),
        size_kb=sum(r.size_kb for r in rows),
    )


def selection(request: BackupRequest) -> dict[str, object]:
    return request.model_dump(include={"instance_id", "instance_ids", "selector"}, exclude_none=True)


def judge_one(instance: Instance, answer: Answer, scope: Scope) -> InstanceReport:
    return _unknown(instance, answer) if isinstance(answer, ErrorInfo) else judge_instance(instance, answer, scope)


def assemble(rows: list[InstanceReport], project_id: str, scope: Scope) -> FleetReport:
    rows = sorted(rows, key=worst_first)
    return FleetReport(
        generated_at=scope.now,
        project_id=project_id,
        region=scope.region,
        endpoint=scope.endpoint,
        policy=scope.policy,
        selection=selection(scope.request),
        window_days=scope.window_days,
        summary=summarise(rows),
        instances=rows,
    )


def judge(listing: Listing, scope: Scope) -> FleetReport:
    """The report of a listing already made (a pure function of it, the policy and the time)."""
    rows = [judge_one(i, listing.backups[i.id], scope) for i in listing.instances]
    return assemble(rows, listing.project_id, scope)


# -- the whole report --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a large fleet is read, judged and written (a short-lived command).
    The objects made then (models of every backup) all live until the files are written, and each full
    collection walks all of them again: for 50,000 backups that took longer than the listing itself. At the end
    the survivors are frozen (left to reference counting), so that the collection put off does not come due at
    once. Reference counting frees everything else all along."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


async def make_report(
    invocation: Invocation, request: BackupRequest, policy: Audit, progress: Progress
) -> tuple[FleetReport, Resolution]:
    """List and judge with the function's configuration, each instance as soon as its backups arrive; ages
    are measured from when the listing began. Raises ConfigError (configuration, credentials) or CloudError
    (IAM, the instances listing)."""
    settings = load_settings(invocation.lookup)
    async with open_clients(settings, invocation, invocation.deadline) as clients:
        progress.say(f"listing the instances of project {clients.dds.project_id}")
        scope = Scope(
            policy=policy,
            request=request,
            now=datetime.now(timezone.utc),
            region=settings.region,
            endpoint=endpoint(settings),
        )
        found, rows = await each_instance(clients.dds, request, progress, lambda i, a: judge_one(i, a, scope))
    return assemble(rows, clients.dds.project_id, scope), found


def report_now(
    invocation: Invocation, request: BackupRequest, policy: Audit, progress: Progress
) -> tuple[FleetReport, Resolution]:
    """``make_report`` from synchronous code. The result is handed out beside ``asyncio.run``, not as its
    return value: when ``asyncio.run`` puts back the SIGINT handler, CPython (3.10, 3.11) writes out the repr
    of the task it ran, result included, which for a fleet of 50,000 backups took a second."""
    made: list[tuple[FleetReport, Resolution]] = []

    async def main() -> None:
        made.append(await make_report(invocation, request, policy, progress))

    asyncio.run(main())
    return made[0]
