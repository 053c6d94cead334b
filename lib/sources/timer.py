"""TIMER trigger: ``{"trigger_type": "TIMER", "trigger_name", "time", "user_event": "<string>"}``.

``user_event`` holding a JSON object is the request, validated strictly: a typo must never fall back to
another target. Anything else (plain text, empty) selects ``DEFAULT_REQUEST``. Text that starts like a JSON
object but does not parse is rejected rather than treated as plain text, for the same reason.
"""

from __future__ import annotations

from typing import Any

from lib.models import BackupRequest, Trigger
from lib.sources.base import Item, ParsedEvent, SourceContext, parse_json_request, parse_time, rejected


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    trigger_name = str(event.get("trigger_name") or "timer")
    raw_time = event.get("time")
    when = parse_time(raw_time)
    correlation_id = f"{trigger_name}@{raw_time}"

    def item(request: BackupRequest | None = None, **error: Any) -> ParsedEvent:
        identity = f"timer:{trigger_name}:{when.isoformat() if when else raw_time}"
        result = request if request is not None else rejected(**error)
        return ParsedEvent(Trigger.TIMER, [Item.of(Trigger.TIMER, identity, correlation_id, when or ctx.now, result)])

    if when is None:
        # The time is the timer's identity: without it a retry could not find its own backup again.
        return item(
            code="INVALID_EVENT",
            message=f"TIMER event has no valid 'time' (got {raw_time!r}); expected RFC 3339",
        )
    user_event = event.get("user_event")
    if user_event is not None and not isinstance(user_event, str):
        return item(code="INVALID_EVENT", message="TIMER user_event must be a string")
    text = (user_event or "").strip()
    if text.startswith("{"):
        result = parse_json_request(text, "the timer's user_event")
        if isinstance(result, BackupRequest):
            return item(result)
        return item(code=result.code, message=result.message, details=result.details)
    if ctx.default_request is None:
        return item(
            code="NO_DEFAULT_REQUEST",
            message="the timer's user_event holds no JSON request and DEFAULT_REQUEST is not configured: put a "
            'request such as {"instance_id": "..."} in user_event, or set DEFAULT_REQUEST',
        )
    return item(ctx.default_request)
