"""Carrying out requests: resolve instances, name, pre-check, create, and report each instance's outcome.

Every item and every instance is processed independently; one failure never stops the others. Fan-out is
bounded by one semaphore per invocation (``MAX_CONCURRENCY``) shared by all DDS calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.config import Settings
from lib.dds.client import DdsClient
from lib.dds.errors import DdsError, DdsTransportError
from lib.dds.models import Backup, CreateManualBackupResponse, Instance
from lib.dds.retry import NO_RETRY, RetryPolicy, with_retry
from lib.logs import bound, get_logger
from lib.models import BackupRequest, ErrorInfo, Outcome, ResultData
from lib.planning import naming
from lib.planning.selection import resolve
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
    clock: Callable[[], float] = time.monotonic

    async def run_item(self, item: Item) -> list[ResultData]:
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
        backups = await asyncio.gather(*(self._backup_one(item, request, inst) for inst in resolution.instances))
        return out + list(backups)

    async def _backup_one(self, item: Item, request: BackupRequest, instance: Instance) -> ResultData:
        started = self.clock()
        name = request.name or naming.render(
            self.settings.backup_name_template,
            instance_id=instance.id,
            instance_name=instance.name,
            trigger=item.trigger.value,
            event_time=item.event_time,
            identity=item.identity,
        )
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
