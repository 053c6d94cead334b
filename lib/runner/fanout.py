"""Fan-out: a request for more instances than one invocation should serve is handed on through SMN
(``FANOUT_TOPIC_URN``), one single-instance request per instance, under the identity of the original event,
so that each backup is named as if it had been made inline."""

from __future__ import annotations

from typing import Any

from lib.cloud.errors import CloudError
from lib.config import Settings
from lib.dds.models import Instance
from lib.models import BackupOrder, BackupRequest, Outcome, ResultData
from lib.runner.report import Report
from lib.runtime import Deadline
from lib.smn.client import SmnClient


def should_fan_out(settings: Settings, request: BackupRequest, count: int, deadline: Deadline) -> bool:
    if settings.fanout_topic_urn is None or request.origin is not None or count < 2:
        return False  # a fanned-out request is never fanned out again
    # Or more than this invocation can serve: about a second per backup per slot, half the time left.
    return count > settings.fanout_threshold or count / settings.max_concurrency > deadline.remaining() * 0.5


def single_request(order: BackupOrder, request: BackupRequest, instance: Instance) -> BackupRequest:
    """The request for one instance, carrying the original event's identity."""
    return request.model_copy(
        update={
            "instance_ids": None,
            "selector": None,
            "instance_id": instance.id,
            "idempotency_key": None,
            "origin": order.origin(),
        }
    )


async def hand_on(
    smn: SmnClient, topic_urn: str, report: Report, request: BackupRequest, instance: Instance, name: str | None
) -> ResultData:
    fields: dict[str, Any] = {"instance": instance, "name": name, "dry_run": request.dry_run}
    try:
        await smn.publish(
            topic_urn,
            f"dds-backup request {instance.name or instance.id}",
            request.model_dump_json(exclude_none=True, exclude_defaults=True),
        )
    except CloudError as exc:
        return report(Outcome.FAILED, error=exc.info(), **fields)
    return report(Outcome.FANNED_OUT, **fields)
