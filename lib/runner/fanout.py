"""Fan-out: a request for more instances than one invocation should serve is handed on through SMN
(``FANOUT_TOPIC_URN``), one single-instance request per instance, under the identity of the original event,
so that each backup is named as if it had been made inline."""

from __future__ import annotations

from typing import Any

from lib.config import Settings
from lib.dds.models import Instance
from lib.models import BackupOrder, BackupRequest, HandOn, Outcome, ResultData
from lib.runner import handon
from lib.runner.report import Report
from lib.runtime import Deadline
from lib.smn.client import SmnClient


def should_fan_out(settings: Settings, order: BackupOrder, count: int, deadline: Deadline) -> bool:
    if settings.fanout_topic_urn is None or order.handed_on or count < 2:
        return False  # a request handed on (a fanned-out one among them) is never fanned out again
    # Or more than this invocation can serve: about a second per backup per slot, half the time left.
    return count > settings.fanout_threshold or count / settings.max_concurrency > deadline.remaining() * 0.5


def single_request(order: BackupOrder, request: BackupRequest, instance: Instance) -> HandOn:
    """The request for one instance, under the original event's identity (its key has made that identity)."""
    one = request.amend(instance_ids=None, selector=None, instance_id=instance.id, idempotency_key=None)
    return order.hand_on(one)


async def hand_on(
    smn: SmnClient, topic_urn: str, report: Report, message: HandOn, instance: Instance, name: str | None
) -> ResultData:
    fields: dict[str, Any] = {"instance": instance, "name": name, "dry_run": message.request.dry_run}
    failed = await handon.send(smn, topic_urn, f"dds-backup request {instance.name or instance.id}", message)
    if failed is not None:
        return report(Outcome.FAILED, error=failed.info(), **fields)
    return report(Outcome.FANNED_OUT, **fields)
