"""Retrying through SMN where raising may not make the platform retry (lib/delivery.py: timers, Kafka, RocketMQ).

A retryable failure of such an order is published to ``FANOUT_TOPIC_URN`` (whose SMN trigger brings it back as a
new invocation) as a request for the same instance under the original event's identity, so the backup name, and
with it exactly-once, is unchanged. Each hand-off counts; after ``MAX_HANDOFFS`` the order ends ``failed``. The
new invocation first waits a little (10, 30, 60 s, within its deadline): a busy instance needs time, not speed.
"""

from __future__ import annotations

import asyncio

from lib.cloud.errors import CloudError
from lib.models import MAX_HANDOFFS, BackupOrder, BackupRequest, Outcome, ResultData
from lib.runtime import Deadline
from lib.smn.client import SmnClient

DELAYS_S = (10.0, 30.0, 60.0)
NO_RETRY_HINT = (
    "; a retry is not guaranteed: the platform may invoke {trigger} triggers synchronously, and then never "
    "retries (set FANOUT_TOPIC_URN to retry through SMN)"
)


def handoffs_of(request: BackupRequest) -> int:
    return request.origin.handoffs if request.origin is not None else 0


async def pause_before_retry(request: BackupRequest, deadline: Deadline) -> None:
    """A handed-off request waits before its attempt, at most a third of the time it has."""
    count = handoffs_of(request)
    if count > 0:
        await asyncio.sleep(min(DELAYS_S[min(count, len(DELAYS_S)) - 1], deadline.remaining() / 3))


def retryable_failure(data: ResultData) -> bool:
    return data.outcome is Outcome.FAILED and data.error is not None and data.error.retryable and not data.dry_run


def next_request(order: BackupOrder, request: BackupRequest, instance_id: str | None) -> BackupRequest:
    """The request for one more attempt: one instance when the failure was one instance's, else the whole request."""
    update: dict[str, object] = {
        "idempotency_key": None,
        "origin": order.origin(handoffs=handoffs_of(request) + 1),
    }
    if instance_id is not None:
        update.update(instance_ids=None, selector=None, instance_id=instance_id, name=request.name)
    return request.model_copy(update=update)


async def hand_off(
    smn: SmnClient, topic_urn: str, order: BackupOrder, request: BackupRequest, data: ResultData
) -> ResultData:
    """The failure handed on (``handed_off``), or ``failed`` when the hand-offs are used up or publishing failed."""
    assert data.error is not None
    count = handoffs_of(request)
    if count >= MAX_HANDOFFS:
        message = f"{data.error.message} (gave up after {MAX_HANDOFFS} more attempts through SMN)"
        return data.model_copy(update={"error": data.error.model_copy(update={"message": message, "retryable": False})})
    follow_up = next_request(order, request, data.instance_id)
    subject = f"dds-backup retry {data.instance_name or data.instance_id or 'request'}"
    try:
        await smn.publish(topic_urn, subject, follow_up.model_dump_json(exclude_none=True, exclude_defaults=True))
    except CloudError as exc:
        message = f"{data.error.message} (could not hand it on for a retry: {exc.code})"
        return data.model_copy(update={"error": data.error.model_copy(update={"message": message})})
    message = f"{data.error.message} (retry {count + 1} of {MAX_HANDOFFS} handed on through SMN)"
    error = data.error.model_copy(update={"message": message})
    return data.model_copy(update={"outcome": Outcome.HANDED_OFF, "error": error})


def without_hand_off(data: ResultData, trigger: str) -> ResultData:
    """No topic to hand on to: say that no retry is certain (the handler still raises, in case it helps)."""
    assert data.error is not None
    message = data.error.message + NO_RETRY_HINT.format(trigger=trigger)
    return data.model_copy(update={"error": data.error.model_copy(update={"message": message})})
