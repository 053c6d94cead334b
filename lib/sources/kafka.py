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

from lib.models import BackupRequest, ErrorInfo, Trigger
from lib.sources.base import Item, ParsedEvent, SourceContext, event_rejection, parse_json_request, rejected, too_large


def _event_time(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return None


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    trigger = Trigger.ROCKETMQ if str(event.get("trigger_type", "")).upper() == "ROCKETMQ" else Trigger.KAFKA
    when = _event_time(event.get("event_time"))
    stamp = str(event.get("event_time"))
    items: list[Item] = []
    records = event.get("records")
    for r, record in enumerate(records if isinstance(records, list) else []):
        topic = str(record.get("topic_id", "")) if isinstance(record, dict) else ""
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list):
            message = f"{trigger.value} record {r} has no 'messages' list"
            items.append(event_rejection(trigger, ctx, "INVALID_EVENT", message, part=r))
            continue
        for m, message in enumerate(messages):
            where = f"{trigger.value} message {m} of topic {topic or '?'}"
            text = message if isinstance(message, str) else ""
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            result: BackupRequest | ErrorInfo
            if not isinstance(message, str):
                result = rejected("INVALID_REQUEST", f"{where} must be a string holding a JSON request")
            elif (problem := too_large(message, where)) is not None:
                result = problem
            else:
                result = parse_json_request(message, where)
            identity = f"{trigger.value}:{topic}:{stamp}:{digest}"
            items.append(Item.of(trigger, identity, f"{topic}@{stamp}#{digest}", when or ctx.now, result))
    if not items:
        items.append(event_rejection(trigger, ctx, "INVALID_EVENT", f"the {trigger.value} event has no messages"))
    return ParsedEvent(trigger, items)
