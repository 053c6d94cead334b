"""DMS for Kafka, open-source Kafka and DMS for RocketMQ triggers: one envelope for all three,
``{"trigger_type": "KAFKA" | "ROCKETMQ", "event_time": <epoch s>, "records": [{"topic_id", "messages": [...]}]}``.

Each string in ``messages`` is a JSON backup request. Kafka messages carry no id in this envelope, so the
identity is topic + event time + a digest of the message: a redelivered batch maps to the same names.
Identical messages in one batch are one backup.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from lib.models import BackupOrder, Trigger, describe_field_errors, field_errors
from lib.sources.common import ParsedEvent, SourceContext, event_rejection, parse_message
from lib.sources.envelopes import QueueEvent, QueueRecord


def _event_time(value: float | None) -> datetime | None:
    if value is not None and 0 < value < 1e11:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return None


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    trigger = Trigger.ROCKETMQ if str(event.get("trigger_type", "")).upper() == "ROCKETMQ" else Trigger.KAFKA
    try:
        envelope = QueueEvent.model_validate({**event, "trigger_type": str(event.get("trigger_type", "")).upper()})
    except ValidationError as exc:
        problem = describe_field_errors(field_errors(exc))
        message = f"the {trigger.value} event has no messages ({problem})"
        return ParsedEvent(trigger, [event_rejection(trigger, ctx, "INVALID_EVENT", message)])
    orders: list[BackupOrder] = []
    for r, raw in enumerate(envelope.records):
        try:
            record = QueueRecord.model_validate(raw)
        except ValidationError:
            message = f"{trigger.value} record {r} has no 'messages' list"
            orders.append(event_rejection(trigger, ctx, "INVALID_EVENT", message, part=r))
            continue
        orders.extend(_message(trigger, envelope, record, m, message, ctx) for m, message in enumerate(record.messages))
    if not orders:
        orders.append(event_rejection(trigger, ctx, "INVALID_EVENT", f"the {trigger.value} event has no messages"))
    return ParsedEvent(trigger, orders)


def _message(
    trigger: Trigger, envelope: QueueEvent, record: QueueRecord, index: int, message: Any, ctx: SourceContext
) -> BackupOrder:
    topic = record.topic_id
    stamp = str(envelope.event_time)
    text = message if isinstance(message, str) else ""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    result = parse_message(message, f"{trigger.value} message {index} of topic {topic or '?'}")
    when = _event_time(envelope.event_time) or ctx.now
    return BackupOrder.of(
        trigger, f"{trigger.value}:{topic}:{stamp}:{digest}", f"{topic}@{stamp}#{digest}", when, result
    )
