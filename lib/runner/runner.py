"""Carrying out one order: resolve its instances, then for each one name, pre-check, create exactly once, wait
and prune (or fan the order out through SMN), reporting every instance's outcome.

Every order and every instance is processed independently; one failure never stops the others. Every DDS call
holds one of the invocation's ``MAX_CONCURRENCY`` slots (the transport's semaphore).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.chat.post import ChatPoster
from lib.cloud import regions
from lib.cloud.errors import CloudError
from lib.cloud.retry import NO_RETRY, RetryPolicy
from lib.config import Settings
from lib.dds.client import DdsClient
from lib.dds.models import Backup, Instance
from lib.delivery import Retry, retry_of
from lib.logs import bound, get_logger
from lib.models import BackupOrder, BackupRequest, ErrorInfo, FollowUp, Outcome, ResultData, Watch
from lib.planning import naming
from lib.runner import fanout, handoff, watch
from lib.runner.audit import audit_instance
from lib.runner.create import create_once
from lib.runner.prune import prune
from lib.runner.report import Report
from lib.runner.resolve import Resolution, resolve
from lib.runner.waiting import wait_for_backup
from lib.runtime import Deadline
from lib.smn.client import SmnClient

_log = get_logger("runner")
_SUCCESS = (Outcome.CREATED, Outcome.COMPLETED, Outcome.EXISTS, Outcome.DRY_RUN)


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
        with bound(correlation_id=order.correlation_id):  # on every line about this order, retries included
            if order.request is not None:
                await handoff.pause_before_retry(order.request, self.deadline)
            return await self._settle(order, await self._run(order))

    async def _settle(self, order: BackupOrder, results: list[ResultData]) -> list[ResultData]:
        """Where raising may not bring a retry (lib/delivery.py), retryable failures are handed on through SMN."""
        request = order.request
        if request is None or retry_of(order.trigger, regions.cloud(self.settings.region)) is not Retry.UNCERTAIN:
            return results
        topic = self.settings.fanout_topic_urn
        out = []
        for data in results:
            if not handoff.retryable_failure(data):
                out.append(data)
            elif self.smn is not None and topic is not None:
                out.append(await handoff.hand_off(self.smn, topic, order, request, data))
            else:
                out.append(handoff.without_hand_off(data, order.trigger.value))
        return out

    async def _run(self, order: BackupOrder) -> list[ResultData]:
        report = Report.start(order, self.clock)
        request = order.request
        if request is None:
            return [report(Outcome.REJECTED, error=order.rejection)]
        try:
            resolution = await resolve(self.client, request)
        except CloudError as exc:
            return [report(Outcome.FAILED, error=exc.info())]
        out = self._unresolved(report, resolution)
        instances = resolution.instances
        if request.watch is not None:
            return out + [await self._watch(report, request, request.watch, i) for i in instances]
        if self.smn is not None and fanout.should_fan_out(self.settings, request, len(instances), self.deadline):
            return out + list(await asyncio.gather(*(self._fan_out(order, request, i) for i in instances)))
        if request.audit is not None:
            policy, template = request.audit, self.settings.backup_name_template
            audits = (
                audit_instance(self.client, Report.start(order, self.clock), i, policy, template) for i in instances
            )
            return out + list(await asyncio.gather(*audits))
        groups = await asyncio.gather(*(self._backup_and_prune(order, request, i) for i in instances))
        return out + [await self._follow(order, d) for group in groups for d in group]

    async def _follow(self, order: BackupOrder, data: ResultData) -> ResultData:
        """A chat command's backup that is still being made: hand a watch on, and say whether one will come."""
        request = watch.watch_request(order, data)
        if request is None:
            return data
        state = await watch.hand_on(self.smn, self.settings.fanout_topic_urn, request)
        return data.model_copy(update={"follow_up": state})

    async def _watch(self, report: Report, request: BackupRequest, seen: Watch, instance: Instance) -> ResultData:
        """Wait for the backup a chat command started, then post how it ended (or hand the watch on)."""
        fields: dict[str, Any] = {"instance": instance, "name": seen.name, "backup_id": seen.backup_id}
        fields["job_id"] = seen.job_id
        try:
            finished = await wait_for_backup(self.client, seen.job_id, seen.backup_id, self.deadline)
        except CloudError as exc:
            return report(Outcome.FAILED, error=exc.info(), **fields)
        if finished is None and watch.still_postable(seen.follow_up, seen.rounds + 1):
            state = await watch.hand_on(self.smn, self.settings.fanout_topic_urn, watch.again(request, seen))
            return report(Outcome.CREATED, backup_status="BUILDING", wait_ended_early=True, follow_up=state, **fields)
        if finished is None:
            posted = await self._post(seen.follow_up, watch.still_building_text(seen, instance.name or instance.id))
            return report(Outcome.CREATED, backup_status="BUILDING", wait_ended_early=True, follow_up=posted, **fields)
        text = await watch.outcome_text(
            self.client, seen, instance.name or instance.id, finished.completed, finished.fail_reason
        )
        posted = await self._post(seen.follow_up, text)
        if finished.completed:
            return report(Outcome.COMPLETED, backup_status="COMPLETED", follow_up=posted, **fields)
        error = watch.failure(finished.fail_reason)
        return report(Outcome.FAILED, backup_status="FAILED", error=error, follow_up=posted, **fields)

    async def _post(self, follow_up: FollowUp, text: str) -> str:
        return await self.chat.post(follow_up, text) if self.chat is not None else "failed: no chat client"

    def _unresolved(self, report: Report, resolution: Resolution) -> list[ResultData]:
        """A rejection for each requested id the API does not know, and for a selector that matched nothing."""
        out = [
            report(
                Outcome.REJECTED,
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
            error = ErrorInfo(
                code="NO_MATCHING_INSTANCE",
                message="the selector matched no instance (name, tags and mode are ANDed)",
                retryable=False,
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

    async def _fan_out(self, order: BackupOrder, request: BackupRequest, instance: Instance) -> ResultData:
        assert self.smn is not None
        assert self.settings.fanout_topic_urn is not None
        single = fanout.single_request(order, request, instance)
        name = None if request.audit is not None else self._name(order, request, instance)
        report = Report.start(order, self.clock)
        return await fanout.hand_on(self.smn, self.settings.fanout_topic_urn, report, single, instance, name)

    async def _backup_and_prune(
        self, order: BackupOrder, request: BackupRequest, instance: Instance
    ) -> list[ResultData]:
        made = await self._backup_one(order, request, instance)
        policy = request.retention or self.settings.default_retention
        if policy is None or made.outcome not in _SUCCESS:
            return [made]
        report = Report.start(order, self.clock)
        template = self.settings.backup_name_template
        return [
            made,
            *await prune(self.client, report, instance, policy, template, made.backup_id, dry_run=request.dry_run),
        ]

    async def _backup_one(self, order: BackupOrder, request: BackupRequest, instance: Instance) -> ResultData:
        name = self._name(order, request, instance)
        report = Report.start(order, self.clock)
        with bound(**{"dds.instance_id": instance.id}):
            try:
                not_ready = await self._pre_check(instance, name)
            except CloudError as exc:
                return report(Outcome.FAILED, instance=instance, name=name, error=exc.info())
            if not_ready is not None and request.dry_run and not_ready["outcome"] is Outcome.FAILED:
                # What would happen, not a failure: the reason goes along, and nothing asks for a retry.
                return report(Outcome.DRY_RUN, instance=instance, name=name, error=not_ready["error"])
            if not_ready is not None:
                return report(instance=instance, name=name, **not_ready)
            if request.dry_run:
                return report(Outcome.DRY_RUN, instance=instance, name=name)
            return await self._create(report, request, instance, name)

    async def _pre_check(self, instance: Instance, name: str) -> dict[str, Any] | None:
        """The result fields when the instance cannot take a backup now, else None. Our own earlier attempt may
        be the backup that keeps it busy (its answer was lost): that is ``exists``."""
        blocker = instance.backup_blocker
        if blocker is None:
            return None
        existing = await self.client.find_backup_by_name(instance.id, name)
        if existing is not None:
            return self._existing(existing, name)
        error = ErrorInfo(code="INSTANCE_NOT_READY", message=f"{blocker}; retry later", retryable=True)
        return {"outcome": Outcome.FAILED, "error": error}

    async def _create(self, report: Report, request: BackupRequest, instance: Instance, name: str) -> ResultData:
        attempt = await create_once(
            self.client, instance.id, name, request.description, retry=self.retry, deadline=self.deadline
        )
        fields: dict[str, Any] = {"instance": instance, "name": name, "attempts": attempt.calls}
        if attempt.existing is not None:
            return report(**fields, **self._existing(attempt.existing, name))
        if attempt.created is None:
            assert attempt.error is not None
            return report(Outcome.FAILED, error=attempt.error.info(attempt.error_message), **fields)
        created = attempt.created
        _log.info("backup created", extra={"dds.backup_id": created.backup_id, "dds.job_id": created.job_id})
        fields.update(backup_id=created.backup_id, job_id=created.job_id)
        if not request.wait:
            return report(Outcome.CREATED, backup_status="BUILDING", **fields)
        deadline = self.wait_deadline or self.deadline
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
        error = ErrorInfo(code="BACKUP_FAILED", message=f"the backup job failed: {reason}", retryable=False)
        return report(Outcome.FAILED, backup_status="FAILED", error=error, **fields)

    @staticmethod
    def _existing(backup: Backup, name: str) -> dict[str, Any]:
        """The result fields for a backup found under our name: ``exists``, unless it failed or is going away."""
        fields: dict[str, Any] = {"backup_id": backup.id, "backup_status": backup.status}
        if backup.status == "DISABLED":  # "Backup being deleted": never the backup this event asked for
            message = (
                f"the backup {name} is being deleted; once it is gone, a retry makes a new backup under the same name"
            )
            error = ErrorInfo(code="BACKUP_BEING_DELETED", message=message, retryable=True)
            return {"outcome": Outcome.FAILED, **fields, "error": error}
        if backup.status == "FAILED":
            message = f"the backup {name} exists and has FAILED: delete it, or send a new idempotency_key, to try again"
            error = ErrorInfo(code="BACKUP_FAILED", message=message, retryable=False)
            return {"outcome": Outcome.FAILED, **fields, "error": error}
        return {"outcome": Outcome.EXISTS, **fields}
