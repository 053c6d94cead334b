"""DMS for Kafka, open-source Kafka and DMS for RocketMQ triggers: one envelope for all three,
``{"trigger_type": "KAFKA" | "ROCKETMQ", "event_time": ..., "records": [{"topic_id", "messages": [...]}]}``.

Each string in ``messages`` is a JSON backup request. Kafka messages carry no id in this envelope, so the
identity is topic + event time + a digest of the message: a redelivered batch maps to the same names, and
identical messages in one batch are one backup. ``event_time`` comes as epoch seconds in the published sample
events and is typed as a String in the runtime's field table: seconds, milliseconds, numeric text and RFC 3339 are
all read. A batch without a readable time is identified by its messages alone and named without a time, so a
redelivery at any later moment is still the same backup (a producer that wants another backup of the same
content sends an ``idempotency_key``). The scope of a message (its retention, its keys) is its topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from lib.codes import ErrorCode
from lib.logs import get_logger
from lib.models import BackupOrder, Trigger, describe_field_errors, field_errors
from lib.sources.common import ParsedEvent, SourceContext, digest, epoch_or_rfc3339, event_rejection, parse_message
from lib.sources.envelopes import QueueEvent, QueueRecord

_log = get_logger("sources")


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    trigger = Trigger.ROCKETMQ if str(event.get("trigger_type", "")).upper() == "ROCKETMQ" else Trigger.KAFKA
    try:
        envelope = QueueEvent.model_validate({**event, "trigger_type": str(event.get("trigger_type", "")).upper()})
    except ValidationError as exc:
        problem = describe_field_errors(field_errors(exc))
        message = f"the {trigger.value} event has no messages ({problem})"
        return ParsedEvent(trigger, [event_rejection(trigger, ctx, ErrorCode.INVALID_EVENT, message)])
    when = _event_time(envelope.event_time, trigger)
    orders: list[BackupOrder] = []
    for r, raw in enumerate(envelope.records):
        try:
            record = QueueRecord.model_validate(raw)
        except ValidationError:
            message = f"{trigger.value} record {r} has no 'messages' list"
            orders.append(event_rejection(trigger, ctx, ErrorCode.INVALID_EVENT, message, part=r))
            continue
        orders.extend(_message(trigger, when, record, m, message) for m, message in enumerate(record.messages))
    if not orders:
        orders.append(
            event_rejection(trigger, ctx, ErrorCode.INVALID_EVENT, f"the {trigger.value} event has no messages")
        )
    return ParsedEvent(trigger, orders)


def _event_time(value: Any, trigger: Trigger) -> datetime | None:
    when = epoch_or_rfc3339(value)
    if when is None and value is not None:
        # Never a reason to reject the batch: its messages still identify themselves.
        _log.warning(f"the {trigger.value} event_time is unreadable; its backups are named without a time")
    return when


def _message(trigger: Trigger, when: datetime | None, record: QueueRecord, index: int, message: Any) -> BackupOrder:
    topic = record.topic_id
    content = digest(message if isinstance(message, str) else "")
    stamp = when.isoformat() if when is not None else ""
    result = parse_message(message, f"{trigger.value} message {index} of topic {topic or '?'}")
    return BackupOrder.of(
        trigger,
        f"{trigger.value}:{topic}:{stamp}:{content}",
        f"{topic}@{stamp or '-'}#{content}",
        when,
        result,
        scope=f"{trigger.value}:{topic}",
    )
