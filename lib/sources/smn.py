"""SMN trigger: ``{"record": [{"smn": {"message", "message_id", "timestamp", ...}}, ...]}``.

Each record's ``smn.message`` is a JSON backup request. The identity is the SMN ``message_id``: SMN
redelivers with the same id, so a redelivery maps to the same backup name (a record without one is identified by
its topic and content). ``timestamp`` is the event time; a record without it is named without a time. The scope
of a message (its retention, its keys) is its topic.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lib.codes import ErrorCode
from lib.models import (
    BackupOrder,
    BackupRequest,
    ErrorInfo,
    HandOn,
    Trigger,
    describe_field_errors,
    field_errors,
    validate_hand_on,
    validate_request,
)
from lib.sources.common import (
    ParsedEvent,
    SourceContext,
    digest,
    event_rejection,
    parse_json,
    parse_message,
    parse_time,
)
from lib.sources.envelopes import SmnEvent, SmnRecord


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    try:
        envelope = SmnEvent.model_validate(event)
    except ValidationError:
        return ParsedEvent(
            Trigger.SMN, [event_rejection(Trigger.SMN, ctx, ErrorCode.INVALID_EVENT, "the SMN event has no records")]
        )
    return ParsedEvent(Trigger.SMN, [_record(i, record, ctx) for i, record in enumerate(envelope.record)])


def _record(index: int, raw: Any, ctx: SourceContext) -> BackupOrder:
    try:
        smn = SmnRecord.model_validate(raw).smn
    except ValidationError as exc:
        problem = describe_field_errors(field_errors(exc))
        return event_rejection(
            Trigger.SMN, ctx, ErrorCode.INVALID_EVENT, f"SMN record {index} is malformed: {problem}", index
        )
    topic = smn.topic_urn or ""
    content = digest(smn.message if isinstance(smn.message, str) else "")
    identity = f"smn:{smn.message_id}" if smn.message_id else f"smn:{topic}:{content}"
    message_id = smn.message_id or f"{topic or '?'}#{content}"
    where = f"SMN message {message_id}"
    result: BackupRequest | HandOn | ErrorInfo
    if ctx.own_topic is not None and topic == ctx.own_topic and isinstance(smn.message, str):
        data = parse_json(smn.message, where)
        if isinstance(data, dict) and "origin" in data:  # one the function sent itself: a hand-on
            result = validate_hand_on(data, where)
        else:
            result = data if isinstance(data, ErrorInfo) else validate_request(data, where)
    else:
        result = parse_message(smn.message, where)
    if isinstance(result, HandOn):
        return BackupOrder.handed(result)
    return BackupOrder.of(Trigger.SMN, identity, message_id, parse_time(smn.timestamp), result, scope=f"smn:{topic}")
