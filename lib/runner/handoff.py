"""Retrying through SMN where raising may not make the platform retry (lib/delivery.py: timers, Kafka, RocketMQ).

The retryable failures of such an order are published to ``FANOUT_TOPIC_URN`` (whose SMN trigger brings them back
as a new invocation) under the original event's identity, so the backup names, and with them exactly-once, are
unchanged: the failed instances together as one request (``instance_ids``; one per ``MAX_INSTANCE_IDS``), or the
whole request again when it failed as a whole (a selector whose listing broke off). Each hand-off counts; after
``MAX_HANDOFFS`` what is left ends ``failed``, still retryable. The new invocation first waits a little (10, 30,
60 s, within its deadline): a busy instance or a throttled tenant needs time, not speed.
"""

from __future__ import annotations

import asyncio

from lib.models import MAX_HANDOFFS, MAX_INSTANCE_IDS, BackupOrder, BackupRequest, HandOn, Outcome, ResultData
from lib.runner import handon
from lib.runtime import Deadline
from lib.smn.client import SmnClient

DELAYS_S = (10.0, 30.0, 60.0)
NO_RETRY_HINT = (
    "; a retry is not guaranteed: the platform may invoke {trigger} triggers synchronously, and then never "
    "retries (set FANOUT_TOPIC_URN to retry through SMN)"
)


async def pause_before_retry(order: BackupOrder, deadline: Deadline) -> None:
    """A handed-off order waits before its attempt, at most a third of the time it has."""
    if order.handoffs > 0:
        await asyncio.sleep(min(DELAYS_S[min(order.handoffs, len(DELAYS_S)) - 1], deadline.remaining() / 3))


def next_request(order: BackupOrder, request: BackupRequest, instance_ids: list[str] | None) -> HandOn:
    """The message for one more attempt: these instances, or (None) the whole request."""
    update: dict[str, object] = {"idempotency_key": None}
    if instance_ids is not None and len(instance_ids) == 1:
        update.update(instance_ids=None, selector=None, instance_id=instance_ids[0], name=request.name)
    elif instance_ids is not None:
        update.update(instance_ids=instance_ids, selector=None, instance_id=None)
    return order.hand_on(request.amend(**update), handoffs=order.handoffs + 1)


async def hand_off(
    smn: SmnClient, topic_urn: str, order: BackupOrder, request: BackupRequest, results: list[ResultData]
) -> list[ResultData]:
    """``results`` with each retryable failure handed on (``handed_off``), or ``failed`` when the hand-offs are
    used up or publishing failed."""
    failed = [n for n, d in enumerate(results) if d.asks_for_retry]
    out = list(results)
    count = order.handoffs
    if count >= MAX_HANDOFFS:
        for n in failed:
            out[n] = _with_message(results[n], f" (gave up after {MAX_HANDOFFS} more attempts through SMN)")
        return out
    groups: list[tuple[list[int], list[str] | None]]
    if any(results[n].instance_id is None for n in failed):
        groups = [(failed, None)]  # the request failed as a whole: all of it again, its instances' failures too
    else:
        every = list(dict.fromkeys(str(results[n].instance_id) for n in failed))
        groups = []
        for start in range(0, len(every), MAX_INSTANCE_IDS):
            chunk = every[start : start + MAX_INSTANCE_IDS]
            wanted = set(chunk)
            groups.append(([n for n in failed if results[n].instance_id in wanted], chunk))
    for members, ids in groups:
        follow_up = next_request(order, request, ids)
        first = results[members[0]]
        what = (first.instance_name or first.instance_id) if ids is not None and len(ids) == 1 else None
        subject = f"dds-backup retry {what or (f'{len(ids)} instances' if ids else 'request')}"
        failure = await handon.send(smn, topic_urn, subject, follow_up)
        if failure is not None:
            for n in members:
                out[n] = _with_message(results[n], f" (could not hand it on for a retry: {failure.code})")
            continue
        for n in members:
            handed = _with_message(results[n], f" (retry {count + 1} of {MAX_HANDOFFS} handed on through SMN)")
            out[n] = handed.amend(outcome=Outcome.HANDED_OFF)
    return out


def _with_message(data: ResultData, note: str) -> ResultData:
    """A failure (``asks_for_retry``: it has its error) with ``note`` after its message."""
    error = data.error.amend(message=data.error.message + note) if data.error is not None else None
    return data.amend(error=error)


def without_hand_off(data: ResultData, trigger: str) -> ResultData:
    """No topic to hand on to: say that no retry is certain (the handler still raises, in case it helps)."""
    return _with_message(data, NO_RETRY_HINT.format(trigger=trigger))
