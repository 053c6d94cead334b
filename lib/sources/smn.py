"""SMN trigger: ``{"record": [{"smn": {"message", "message_id", "timestamp", ...}}, ...]}``.

Each record's ``smn.message`` is a JSON backup request. The identity is the SMN ``message_id``: SMN
redelivers with the same id, so a redelivery maps to the same backup name.
"""

from __future__ import annotations

from typing import Any

from lib.models import BackupRequest, ErrorInfo, Trigger
from lib.sources.base import (
    Item,
    ParsedEvent,
    SourceContext,
    event_rejection,
    parse_json_request,
    parse_time,
    rejected,
    too_large,
)


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    records = event.get("record")
    items = [_record(i, record, ctx) for i, record in enumerate(records if isinstance(records, list) else [])]
    if not items:
        items = [event_rejection(Trigger.SMN, ctx, "INVALID_EVENT", "the SMN event has no records")]
    return ParsedEvent(Trigger.SMN, items)


def _record(index: int, record: Any, ctx: SourceContext) -> Item:
    smn = record.get("smn") if isinstance(record, dict) else None
    if not isinstance(smn, dict):
        return event_rejection(Trigger.SMN, ctx, "INVALID_EVENT", f"SMN record {index} has no 'smn' object", index)
    message_id = str(smn.get("message_id") or f"{ctx.request_id}#{index}")
    where = f"SMN message {message_id}"

    def item(result: BackupRequest | ErrorInfo) -> Item:
        when = parse_time(smn.get("timestamp")) or ctx.now
        return Item.of(Trigger.SMN, f"smn:{message_id}", message_id, when, result)

    message = smn.get("message")
    if not isinstance(message, str):
        return item(rejected("INVALID_REQUEST", f"{where}: 'message' must be a string holding a JSON request"))
    if (problem := too_large(message, where)) is not None:
        return item(problem)
    return item(parse_json_request(message, where))
