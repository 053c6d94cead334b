"""Carrying out requests: resolve instances, name, pre-check, create, and report each instance's outcome.

Every item and every instance is processed independently; one failure never stops the others. Fan-out is
bounded by one semaphore per invocation (``MAX_CONCURRENCY``) shared by all DDS calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lib.config import Settings
from lib.dds.client import DdsClient
from lib.dds.errors import DdsError, DdsTransportError
from lib.dds.models import Backup, CreateManualBackupResponse, Instance
from lib.dds.retry import NO_RETRY, RetryPolicy, with_retry
from lib.logs import bound, get_logger
from lib.models import BackupRequest, ErrorInfo, Origin, Outcome, ResultData, Retention
from lib.planning import naming, retention
from lib.planning.selection import resolve
from lib.results.smn import SmnPublisher
from lib.runner.waiting import wait_for_job
from lib.runtime import Deadline
from lib.sources.base import Item

_log = get_logger("runner")


class _AlreadyThere(Exception):
    """A create whose answer was lost turned out to have been applied."""

    def __init__(self, backup: Backup) -> None:
        super().__init__(backup.id)
        self.backup = backup


NAME_EXISTS = "DBS.201201"


def error_info(exc: DdsError) -> ErrorInfo:
    return ErrorInfo(
        code=exc.code,
        message=exc.message,
        retryable=exc.retryable,
        http_status=exc.http_status,
        request_id=exc.request_id,
    )


@dataclass
class Runner:
    client: DdsClient
    settings: Settings
    deadline: Deadline
    retry: RetryPolicy = NO_RETRY
    #: Bounds waiting for jobs (``wait: true``) when the caller has less patience than the invocation.
    wait_deadline: Deadline | None = None
    #: For fanning large requests out through SMN (``FANOUT_TOPIC_URN``).
    publisher: SmnPublisher | None = None
    clock: Callable[[], float] = time.monotonic

    async def run_item(self, item: Item) -> list[ResultData]:
        with bound(correlation_id=item.correlation_id):  # on every line about this request, retries included
            return await self._run_item(item)

    async def _run_item(self, item: Item) -> list[ResultData]:
        started = self.clock()
        request = item.request
        if request is None:
            assert item.error is not None
            return [self._data(item, Outcome.REJECTED, started, error=item.error)]
        try:
            resolution = await resolve(self.client, request)
        except DdsError as exc:
            return [self._data(item, Outcome.FAILED, started, error=error_info(exc))]
        out = [
            self._data(
                item,
                Outcome.REJECTED,
                started,
                instance_id=missing,
                error=ErrorInfo(
                    code="INSTANCE_NOT_FOUND",
                    message=f"instance {missing} does not exist in project {self.client.project_id}: "
                    "check the instance id, PROJECT_ID and REGION",
                    retryable=False,
                ),
            )
            for missing in resolution.missing
        ]
        if resolution.empty_selector:
            out.append(
                self._data(
                    item,
                    Outcome.REJECTED,
                    started,
                    error=ErrorInfo(
                        code="NO_MATCHING_INSTANCE",
                        message="the selector matched no instance (name, tags and mode are ANDed)",
                        retryable=False,
                    ),
                )
            )
        if self._should_fan_out(request, len(resolution.instances)):
            fanned = await asyncio.gather(*(self._fan_out(item, request, inst) for inst in resolution.instances))
            return out + list(fanned)
        groups = await asyncio.gather(*(self._backup_and_prune(item, request, inst) for inst in resolution.instances))
        return out + [d for group in groups for d in group]

    # -- fan-out -------------------------------------------------------------------------------------------

    def _should_fan_out(self, request: BackupRequest, count: int) -> bool:
        s = self.settings
        if s.fanout_topic_urn is None or self.publisher is None or request.origin is not None or count < 2:
            return False  # a fanned-out request is never fanned out again
        # Or more than this invocation can serve: about a second per backup per slot, half the time left.
        return count > s.fanout_threshold or count / s.max_concurrency > self.deadline.remaining() * 0.5

    async def _fan_out(self, item: Item, request: BackupRequest, instance: Instance) -> ResultData:
        """Hand one instance to its own invocation through SMN, under the identity of this event."""
        started = self.clock()
        topic = self.settings.fanout_topic_urn
        assert self.publisher is not None
        assert topic is not None
        single = request.model_copy(
            update={
                "instance_ids": None,
                "selector": None,
                "instance_id": instance.id,
                "idempotency_key": None,
                "origin": Origin(
                    identity=item.identity,
                    trigger=item.trigger,
                    correlation_id=item.correlation_id,
                    event_time=item.event_time,
                ),
            }
        )
        name = request.name or self._name(item, instance)
        fields: dict[str, Any] = {"instance": instance, "name": name, "dry_run": request.dry_run}
        try:
            await self.publisher.publish(
                topic,
                f"dds-backup request {instance.name or instance.id}",
                single.model_dump_json(exclude_none=True, exclude_defaults=True),
            )
        except DdsError as exc:
            return self._data(item, Outcome.FAILED, started, error=error_info(exc), **fields)
        return self._data(item, Outcome.FANNED_OUT, started, **fields)

    # -- retention -----------------------------------------------------------------------------------------

    async def _backup_and_prune(self, item: Item, request: BackupRequest, instance: Instance) -> list[ResultData]:
        made = await self._backup_one(item, request, instance)
        policy = request.retention or self.settings.default_retention
        ok = (Outcome.CREATED, Outcome.COMPLETED, Outcome.EXISTS, Outcome.DRY_RUN)
        if policy is None or made.outcome not in ok:
            return [made]
        return [made, *await self._prune(item, instance, policy, made.backup_id, dry_run=request.dry_run)]

    async def _prune(
        self, item: Item, instance: Instance, policy: Retention, keep_id: str | None, *, dry_run: bool
    ) -> list[ResultData]:
        started = self.clock()
        try:
            ours = naming.ours_pattern(self.settings.backup_name_template)
        except ValueError as exc:
            error = ErrorInfo(code="RETENTION_UNSAFE", message=str(exc), retryable=False)
            return [self._data(item, Outcome.FAILED, started, instance=instance, error=error)]
        try:
            backups = await self.client.list_backups(instance_id=instance.id)
        except DdsError as exc:
            return [self._data(item, Outcome.FAILED, started, instance=instance, error=error_info(exc))]
        doomed = retention.select(backups, policy, ours, keep_id, datetime.now(timezone.utc))

        async def delete(backup: Backup) -> ResultData:
            fields: dict[str, Any] = {"instance": instance, "name": backup.name, "backup_id": backup.id}
            if dry_run:
                return self._data(item, Outcome.PRUNED, started, dry_run=True, backup_status=backup.status, **fields)
            try:
                job_id = await self.client.delete_manual_backup(backup.id)
            except DdsError as exc:
                if exc.code in ("DBS.201214", "DBS.201502", "DBS.201204"):  # already gone: the goal is met
                    return self._data(item, Outcome.PRUNED, started, **fields)
                return self._data(item, Outcome.FAILED, started, error=error_info(exc), **fields)
            _log.info("old backup deleted", extra={"dds.backup_id": backup.id, "dds.job_id": job_id})
            return self._data(item, Outcome.PRUNED, started, job_id=job_id, backup_status="DISABLED", **fields)

        return list(await asyncio.gather(*(delete(b) for b in doomed)))

    def _name(self, item: Item, instance: Instance) -> str:
        return naming.render(
            self.settings.backup_name_template,
            instance_id=instance.id,
            instance_name=instance.name,
            trigger=item.trigger.value,
            event_time=item.event_time,
            identity=item.identity,
        )

    async def _backup_one(self, item: Item, request: BackupRequest, instance: Instance) -> ResultData:
        started = self.clock()
        name = request.name or self._name(item, instance)
        attempts = 0

        def data(outcome: Outcome, **fields: Any) -> ResultData:
            return self._data(item, outcome, started, instance=instance, name=name, attempts=attempts, **fields)

        async def create() -> CreateManualBackupResponse:
            nonlocal attempts
            attempts += 1
            return await self.client.create_manual_backup(instance.id, name, request.description)

        async def look_for_lost_create(exc: DdsError) -> None:
            # No answer, or a 5xx: the create may have been applied all the same. If the backup is there,
            # stop retrying (a retry would only meet "name exists" or "instance busy").
            if isinstance(exc, DdsTransportError) or (exc.http_status or 0) >= 500:
                try:
                    found = await self.client.find_backup_by_name(instance.id, name)
                except DdsError:
                    return  # the next attempt will tell
                if found is not None:
                    raise _AlreadyThere(found)

        with bound(**{"dds.instance_id": instance.id}):
            try:
                blocker = instance.backup_blocker
                if blocker is not None:
                    # Our own earlier attempt may be the running backup (its answer was lost): look first.
                    existing = await self.client.find_backup_by_name(instance.id, name)
                    if existing is not None:
                        return data(**self._existing(existing, name))
                    return data(
                        Outcome.FAILED,
                        error=ErrorInfo(code="INSTANCE_NOT_READY", message=f"{blocker}; retry later", retryable=True),
                    )
                if request.dry_run:
                    return data(Outcome.DRY_RUN, dry_run=True)
                try:
                    created = await with_retry(
                        create,
                        policy=self.retry,
                        deadline=self.deadline,
                        what=f"create backup {name}",
                        on_failure=look_for_lost_create,
                    )
                except _AlreadyThere as there:
                    return data(**self._existing(there.backup, name))
                except DdsError as exc:
                    if exc.code != NAME_EXISTS:
                        raise
                    existing = await self.client.find_backup_by_name(instance.id, name)
                    if existing is None:
                        message = (
                            f"the name {name} is taken by a backup of another instance "
                            "(names are unique per project): choose another name"
                        )
                        return data(Outcome.FAILED, error=error_info(exc).model_copy(update={"message": message}))
                    return data(**self._existing(existing, name))
                _log.info("backup created", extra={"dds.backup_id": created.backup_id, "dds.job_id": created.job_id})
                ids = {"backup_id": created.backup_id, "job_id": created.job_id}
                if not request.wait:
                    return data(Outcome.CREATED, backup_status="BUILDING", **ids)
                job = await wait_for_job(self.client, created.job_id, self.wait_deadline or self.deadline)
                if job is None:  # out of time while still running: created, not failed
                    return data(Outcome.CREATED, backup_status="BUILDING", **ids)
                if job.status == "Completed":
                    return data(Outcome.COMPLETED, backup_status="COMPLETED", **ids)
                reason = job.fail_reason or "no reason given"
                error = ErrorInfo(code="BACKUP_FAILED", message=f"the backup job failed: {reason}", retryable=False)
                return data(Outcome.FAILED, backup_status="FAILED", error=error, **ids)
            except DdsError as exc:
                return data(Outcome.FAILED, error=error_info(exc))

    @staticmethod
    def _existing(backup: Backup, name: str) -> dict[str, Any]:
        """The result fields for a backup found under our name: ``exists``, unless it failed."""
        fields: dict[str, Any] = {"backup_id": backup.id, "backup_status": backup.status}
        if backup.status == "FAILED":
            message = f"the backup {name} exists and has FAILED: delete it, or send a new idempotency_key, to try again"
            return {
                "outcome": Outcome.FAILED,
                **fields,
                "error": ErrorInfo(code="BACKUP_FAILED", message=message, retryable=False),
            }
        return {"outcome": Outcome.EXISTS, **fields}

    def _data(
        self,
        item: Item,
        outcome: Outcome,
        started: float,
        *,
        instance: Instance | None = None,
        instance_id: str | None = None,
        **fields: Any,
    ) -> ResultData:
        return ResultData(
            outcome=outcome,
            instance_id=instance.id if instance else instance_id,
            instance_name=instance.name if instance else None,
            trigger=item.trigger,
            correlation_id=item.correlation_id,
            duration_ms=int((self.clock() - started) * 1000),
            **fields,
        )
