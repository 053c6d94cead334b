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
from lib.dds.errors import DdsError
from lib.dds.models import Backup, Instance
from lib.logs import bound, get_logger
from lib.models import BackupRequest, ErrorInfo, Outcome, ResultData
from lib.planning import naming
from lib.planning.selection import resolve
from lib.runner.waiting import wait_for_job
from lib.runtime import Deadline
from lib.sources.base import Item

_log = get_logger("runner")
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
    limit: asyncio.Semaphore
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
            resolution = await resolve(self.client, request, self.limit)
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

        with bound(**{"dds.instance_id": instance.id}):
            try:
                blocker = instance.backup_blocker
                if blocker is not None:
                    # Our own earlier attempt may be the running backup (its answer was lost): look first.
                    existing = await self._find(instance.id, name)
                    if existing is not None:
                        return data(Outcome.EXISTS, backup_id=existing.id, backup_status=existing.status)
                    return data(
                        Outcome.FAILED,
                        error=ErrorInfo(code="INSTANCE_NOT_READY", message=f"{blocker}; retry later", retryable=True),
                    )
                if request.dry_run:
                    return data(Outcome.DRY_RUN, dry_run=True)
                attempts += 1
                try:
                    async with self.limit:
                        created = await self.client.create_manual_backup(instance.id, name, request.description)
                except DdsError as exc:
                    if exc.code != NAME_EXISTS:
                        raise
                    existing = await self._find(instance.id, name)
                    if existing is None:
                        return data(
                            Outcome.FAILED,
                            error=error_info(exc).model_copy(
                                update={
                                    "message": f"the name {name} is taken by a backup of another instance "
                                    "(names are unique per project): choose another name",
                                }
                            ),
                        )
                    if existing.status == "FAILED":
                        return data(
                            Outcome.FAILED,
                            backup_id=existing.id,
                            backup_status=existing.status,
                            error=ErrorInfo(
                                code="BACKUP_FAILED",
                                message=f"the backup {name} exists and has FAILED: delete it, or send a new "
                                "idempotency_key, to try again",
                                retryable=False,
                            ),
                        )
                    return data(Outcome.EXISTS, backup_id=existing.id, backup_status=existing.status)
                _log.info("backup created", extra={"dds.backup_id": created.backup_id, "dds.job_id": created.job_id})
                if not request.wait:
                    return data(
                        Outcome.CREATED,
                        backup_id=created.backup_id,
                        job_id=created.job_id,
                        backup_status="BUILDING",
                    )
                job = await wait_for_job(self.client, created.job_id, self.wait_deadline or self.deadline)
                if job is None:  # out of time while still running: created, not failed
                    return data(
                        Outcome.CREATED,
                        backup_id=created.backup_id,
                        job_id=created.job_id,
                        backup_status="BUILDING",
                    )
                if job.status == "Completed":
                    return data(
                        Outcome.COMPLETED,
                        backup_id=created.backup_id,
                        job_id=created.job_id,
                        backup_status="COMPLETED",
                    )
                return data(
                    Outcome.FAILED,
                    backup_id=created.backup_id,
                    job_id=created.job_id,
                    backup_status="FAILED",
                    error=ErrorInfo(
                        code="BACKUP_FAILED",
                        message=f"the backup job failed: {job.fail_reason or 'no reason given'}",
                        retryable=False,
                    ),
                )
            except DdsError as exc:
                return data(Outcome.FAILED, error=error_info(exc))

    async def _find(self, instance_id: str, name: str) -> Backup | None:
        async with self.limit:
            return await self.client.find_backup_by_name(instance_id, name)

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
