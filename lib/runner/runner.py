"""Carrying out one order: resolve its instances, then for each one name, pre-check, create exactly once, wait
and prune (or fan the order out through SMN), reporting every instance's outcome.

Every order and every instance is processed independently; one failure never stops the others. Every DDS call
takes its turn from the invocation's limiter (calls in flight and the send rate; ``lib/cloud/limiter.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lib.cloud import regions
from lib.cloud.errors import CloudError
from lib.cloud.retry import NO_RETRY, RetryPolicy
from lib.codes import ErrorCode
from lib.config import Settings
from lib.dds.client import DdsClient
from lib.dds.models import Backup, Instance
from lib.logs import bound, get_logger, scope
from lib.models import BackupOrder, BackupRequest, ErrorInfo, Outcome, ResultData, Trigger, internal_error, rejected
from lib.planning import naming, ownership, selection
from lib.runner.audit import audit_instance
from lib.runner.create import create_once
from lib.runner.pool import Pool
from lib.runner.prune import prune
from lib.runner.report import Report
from lib.runner.resolve import Resolution, settle, stream
from lib.runtime import Deadline

if TYPE_CHECKING:
    from lib.chat.post import ChatPoster
    from lib.smn.client import SmnClient

# Imported where they are used, because an ordinary timer event needs none of them and each costs a cold start
# time measured by `python -X importtime` on top of the timer's own imports (bench/coldstart.py has the import
# row): hand-offs 0.7 ms, who retries 0.7 ms, fan-out 0.7 ms, chat watches 3.0 ms (the chat styles and poster),
# waiting for jobs 0.8 ms. Retention and audits cost 0.3 ms each: imported at the top.

_log = get_logger("runner")
_SUCCESS = (Outcome.CREATED, Outcome.COMPLETED, Outcome.EXISTS, Outcome.DRY_RUN)
_CHAT = (Trigger.SLACK, Trigger.TEAMS, Trigger.MATTERMOST)


@dataclass
class Runner:
    client: DdsClient
    settings: Settings
    deadline: Deadline
    retry: RetryPolicy = NO_RETRY
    #: Bounds waiting for jobs (``wait: true``) when the caller has less patience than the invocation.
    wait_deadline: Deadline | None = None
    #: For fanning large requests out through SMN (``FANOUT_TOPIC_URN``).
    smn: SmnClient | None = None
    #: For telling a chat conversation how its backup ended.
    chat: ChatPoster | None = None
    clock: Callable[[], float] = time.monotonic

    async def run(self, order: BackupOrder) -> list[ResultData]:
        # on every line about this order, retries included; what the order masks (a follow-up URL) in its lines only
        with bound(correlation_id=order.correlation_id), scope():
            if order.handoffs:
                from lib.runner import handoff

                await handoff.pause_before_retry(order, self.deadline)
            return await self._settle(order, await self._run(order))

    async def _settle(self, order: BackupOrder, results: list[ResultData]) -> list[ResultData]:
        """Where raising may not bring a retry (lib/delivery.py), retryable failures are handed on through SMN."""
        request = order.request
        if request is None:
            return results
        if not any(d.asks_for_retry for d in results):
            return results
        from lib.delivery import Retry, retry_of

        if retry_of(order.trigger, regions.cloud(self.settings.region)) is not Retry.UNCERTAIN:
            return results
        from lib.runner import handoff

        topic = self.settings.fanout_topic_urn
        if self.smn is None or topic is None:
            trigger = order.trigger.value
            return [handoff.without_hand_off(d, trigger) if d.asks_for_retry else d for d in results]
        return await handoff.hand_off(self.smn, topic, order, request, results)

    async def _run(self, order: BackupOrder) -> list[ResultData]:
        report = Report.start(order, self.clock)
        request = order.request
        if request is None:
            return [report(Outcome.REJECTED, error=order.rejection)]
        if request.name is not None and naming.reserved(self.settings.backup_name_template, request.name):
            return [report(Outcome.REJECTED, instance_id=request.instance_id, error=_reserved(request.name))]
        # Work on each page's instances starts as the page arrives (no create waits for an unrelated page), twice
        # as many at a time as calls may be in flight; a wait for jobs keeps every instance's waiting going at once.
        found: list[Instance] = []
        fan_out: bool | None = None  # decided on the first page, before any work starts
        limit = None if request.wait or order.watch is not None else 2 * self.settings.max_concurrency
        work: Pool[Instance, list[ResultData]] = Pool(lambda i: self._guarded(order, request, i, bool(fan_out)), limit)
        try:
            async for batch in stream(self.client, request):
                if fan_out is None:
                    fan_out = self._fans_out(order, request, batch.expected)
                found += batch.instances
                for instance in batch.instances:
                    work.add(instance)
        except CloudError as exc:  # the listing broke off: what started goes on, the rest is reported
            out = self._unreached(report, request, found, exc)
        else:
            out = self._unresolved(report, settle(request, found))
        return out + [d for done in await work.results() for d in done]

    def _fans_out(self, order: BackupOrder, request: BackupRequest, expected: int) -> bool:
        if self.smn is None or self.settings.fanout_topic_urn is None:
            return False
        if order.trigger in _CHAT:  # the reply to the command must say what became of every instance
            return False
        from lib.runner import fanout

        return fanout.should_fan_out(self.settings, order, expected, self.deadline)

    async def _guarded(
        self, order: BackupOrder, request: BackupRequest, instance: Instance, fan_out: bool
    ) -> list[ResultData]:
        """One instance's work; whatever stops it fails this instance only, never its siblings."""
        try:
            return await self._for(order, request, instance, fan_out)
        except CloudError as exc:
            return [Report.start(order, self.clock)(Outcome.FAILED, instance=instance, error=exc.info())]
        except Exception as exc:
            _log.exception("unexpected error", extra={"dds.instance_id": instance.id})
            return [Report.start(order, self.clock)(Outcome.FAILED, instance=instance, error=internal_error(exc))]

    async def _for(
        self, order: BackupOrder, request: BackupRequest, instance: Instance, fan_out: bool
    ) -> list[ResultData]:
        """What the request asks for one of its instances."""
        report = Report.start(order, self.clock)
        if order.watch is not None:
            from lib.runner import watch

            topic, seen = self.settings.fanout_topic_urn, order.watch
            return [
                await watch.carry_out(
                    self.client, self.smn, topic, self.chat, self.deadline, report, order, request, seen, instance
                )
            ]
        if fan_out:
            from lib.runner import fanout

            assert self.smn is not None
            assert self.settings.fanout_topic_urn is not None
            name = None if request.audit is not None else self._name(order, request, instance)
            single = fanout.single_request(order, request, instance)
            return [await fanout.hand_on(self.smn, self.settings.fanout_topic_urn, report, single, instance, name)]
        if request.audit is not None:
            return [await audit_instance(self.client, report, instance, request.audit)]
        return [await self._follow(order, d) for d in await self._backup_and_prune(order, request, instance)]

    async def _follow(self, order: BackupOrder, data: ResultData) -> ResultData:
        """A chat command's backup that is still being made: hand a watch on, and say whether one will come."""
        if order.follow_up is None:
            return data
        from lib.runner import watch

        message = watch.watch_request(order, data)
        if message is None:
            return data
        state = await watch.hand_on(self.smn, self.settings.fanout_topic_urn, message)
        return data.amend(follow_up=state)

    def _unreached(
        self, report: Report, request: BackupRequest, found: list[Instance], exc: CloudError
    ) -> list[ResultData]:
        """A failure of its own for each requested id the broken-off listing did not reach (one for the request
        when a selector names no ids), so that a retry or a hand-off carries exactly those."""
        if request.selector is not None:
            return [report(Outcome.FAILED, error=exc.info())]
        reached = {i.id for i in found}
        message = f"the instance listing broke off before reaching this instance: {exc.message}"
        return [
            report(Outcome.FAILED, instance_id=i, error=exc.info(message))
            for i in selection.requested_ids(request)
            if i not in reached
        ]

    def _unresolved(self, report: Report, resolution: Resolution) -> list[ResultData]:
        """A rejection for each requested id the API does not know, and for a selector that matched nothing."""
        out = [
            report(
                Outcome.REJECTED,
                instance_id=missing,
                error=ErrorInfo.of(
                    ErrorCode.INSTANCE_NOT_FOUND,
                    f"instance {missing} does not exist in project {self.client.project_id}: "
                    "check the instance id, PROJECT_ID and REGION",
                ),
            )
            for missing in resolution.missing
        ]
        if resolution.empty_selector:
            error = ErrorInfo.of(
                ErrorCode.NO_MATCHING_INSTANCE, "the selector matched no instance (name, tags and mode are ANDed)"
            )
            out.append(report(Outcome.REJECTED, error=error))
        return out

    def _name(self, order: BackupOrder, request: BackupRequest, instance: Instance) -> str:
        return request.name or naming.render(
            self.settings.backup_name_template,
            instance_id=instance.id,
            instance_name=instance.name,
            trigger=order.trigger.value,
            event_time=order.event_time,
            identity=order.identity,
        )

    async def _backup_and_prune(
        self, order: BackupOrder, request: BackupRequest, instance: Instance
    ) -> list[ResultData]:
        made = await self._backup_one(order, request, instance)
        # DEFAULT_RETENTION is the timers' own: another source prunes only when its request asks for it.
        default = self.settings.default_retention if order.trigger is Trigger.TIMER else None
        policy = request.retention or default
        if policy is None or made.outcome not in _SUCCESS:
            return [made]
        report = Report.start(order, self.clock)
        return [
            made,
            *await prune(
                self.client,
                report,
                instance,
                policy,
                template=self.settings.backup_name_template,
                scope=ownership.scope_digest(order.scope),
                keep_id=made.backup_id,
                dry_run=request.dry_run,
            ),
        ]

    async def _backup_one(self, order: BackupOrder, request: BackupRequest, instance: Instance) -> ResultData:
        name = self._name(order, request, instance)
        report = Report.start(order, self.clock)
        mark = _mark(order, request, instance)
        with bound(**{"dds.instance_id": instance.id}):
            try:
                not_ready = await self._pre_check(instance, name, mark)
            except CloudError as exc:
                return report(Outcome.FAILED, instance=instance, name=name, error=exc.info())
            if not_ready is not None and request.dry_run and not_ready["outcome"] is Outcome.FAILED:
                # What would happen, not a failure: the reason goes along, and nothing asks for a retry.
                return report(Outcome.DRY_RUN, instance=instance, name=name, error=not_ready["error"])
            if not_ready is not None:
                return report(instance=instance, name=name, **not_ready)
            if request.dry_run:
                return report(Outcome.DRY_RUN, instance=instance, name=name)
            return await self._create(report, request, instance, name, mark)

    async def _pre_check(self, instance: Instance, name: str, mark: ownership.Mark) -> dict[str, Any] | None:
        """The result fields when the instance cannot take a backup now, else None. Our own earlier attempt may
        be the backup that keeps it busy (its answer was lost): that is ``exists``."""
        blocker = instance.backup_blocker
        if blocker is None:
            return None
        existing = await self.client.find_backup_by_name(instance.id, name)
        if existing is not None:
            return _existing(existing, instance, mark)
        error = ErrorInfo.of(ErrorCode.INSTANCE_NOT_READY, f"{blocker}; retry later")
        return {"outcome": Outcome.FAILED, "error": error}

    async def _create(
        self, report: Report, request: BackupRequest, instance: Instance, name: str, mark: ownership.Mark
    ) -> ResultData:
        description = mark.describe(request.description, name, instance.id)
        attempt = await create_once(
            self.client, instance.id, name, description, retry=self.retry, deadline=self.deadline
        )
        fields: dict[str, Any] = {"instance": instance, "name": name, "attempts": attempt.calls}
        if attempt.existing is not None:
            return report(**fields, **_existing(attempt.existing, instance, mark))
        if attempt.created is None:
            assert attempt.error is not None
            return report(Outcome.FAILED, error=attempt.error.info(attempt.error_message), **fields)
        created = attempt.created
        _log.info("backup created", extra={"dds.backup_id": created.backup_id, "dds.job_id": created.job_id})
        fields.update(backup_id=created.backup_id, job_id=created.job_id)
        if not request.wait:
            return report(Outcome.CREATED, backup_status="BUILDING", **fields)
        deadline = self.wait_deadline or self.deadline
        from lib.runner.waiting import wait_for_backup

        try:
            finished = await wait_for_backup(self.client, created.job_id, created.backup_id, deadline)
        except CloudError as exc:
            return report(Outcome.FAILED, error=exc.info(), **fields)
        if finished is None:  # out of time while still running: created, not failed, and said so
            _log.warning(
                "stopped waiting for the backup: the time for waiting ran out",
                extra={"dds.backup_id": created.backup_id},
            )
            return report(Outcome.CREATED, backup_status="BUILDING", wait_ended_early=True, **fields)
        if finished.completed:
            return report(Outcome.COMPLETED, backup_status="COMPLETED", **fields)
        reason = finished.fail_reason or "no reason given"
        error = ErrorInfo.of(ErrorCode.BACKUP_FAILED, f"the backup job failed: {reason}")
        return report(Outcome.FAILED, backup_status="FAILED", error=error, **fields)


def _mark(order: BackupOrder, request: BackupRequest, instance: Instance) -> ownership.Mark:
    """What this order writes on its backup: who it is made for, and what was asked."""
    digest = ownership.request_digest(
        instance_id=instance.id, name=request.name, description=request.description, retention=request.retention
    )
    return ownership.Mark(ownership.maker_of(order.trigger), ownership.scope_digest(order.scope), digest)


def _reserved(name: str) -> ErrorInfo:
    return rejected(
        ErrorCode.NAME_RESERVED,
        f"the name {name} has the shape of the names dds-backup gives its own backups (BACKUP_NAME_TEMPLATE): "
        "choose a name that does not, or leave name out (an idempotency_key makes retries the same backup)",
    )


def _existing(backup: Backup, instance: Instance, mark: ownership.Mark) -> dict[str, Any]:
    """The result fields for a backup found under the name this order gives: ``exists`` only when it carries this
    tool's mark for the same request; never a backup someone else made, nor one made for another request."""
    fields: dict[str, Any] = {"backup_id": backup.id, "backup_status": backup.status}
    name = backup.name
    found = ownership.read(backup.description, name, instance.id)
    if found is None:
        message = (
            f"a backup named {name} exists that dds-backup did not make (it carries no mark of this tool); it is "
            "left untouched: rename or delete it, or change BACKUP_NAME_TEMPLATE"
        )
        error = ErrorInfo.of(ErrorCode.NAME_TAKEN, message)
        return {"outcome": Outcome.FAILED, **fields, "error": error}
    if found.request != mark.request:
        message = (
            f"the backup {name} was made for another request with the same identity (its instance, name, "
            "description or retention differ): send a new idempotency_key for a new backup"
        )
        return {"outcome": Outcome.REJECTED, **fields, "error": rejected(ErrorCode.IDEMPOTENCY_KEY_REUSED, message)}
    if backup.status == "DISABLED":  # "Backup being deleted": never the backup this event asked for
        message = f"the backup {name} is being deleted; once it is gone, a retry makes a new backup under the same name"
        error = ErrorInfo.of(ErrorCode.BACKUP_BEING_DELETED, message)
        return {"outcome": Outcome.FAILED, **fields, "error": error}
    if backup.status == "FAILED":
        message = f"the backup {name} exists and has FAILED: delete it, or send a new idempotency_key, to try again"
        error = ErrorInfo.of(ErrorCode.BACKUP_FAILED, message)
        return {"outcome": Outcome.FAILED, **fields, "error": error}
    return {"outcome": Outcome.EXISTS, **fields}
