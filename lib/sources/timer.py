"""TIMER trigger: ``{"trigger_type": "TIMER", "trigger_name", "time", "user_event": "<string>"}``.

``user_event`` holding a JSON object is the request, validated strictly: a typo must never fall back to
another target. Anything else (plain text, empty) selects ``DEFAULT_REQUEST``. Text that starts like a JSON
object but does not parse is rejected rather than treated as plain text, for the same reason.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lib.codes import ErrorCode
from lib.models import BackupOrder, BackupRequest, ErrorInfo, Trigger, describe_field_errors, field_errors, rejected
from lib.sources.common import ParsedEvent, SourceContext, parse_json_request, parse_time
from lib.sources.envelopes import TimerEvent


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    try:
        timer = TimerEvent.model_validate(event)
    except ValidationError as exc:
        problem = describe_field_errors(field_errors(exc))
        return _one(
            "timer",
            event.get("time"),
            rejected(ErrorCode.INVALID_EVENT, f"the TIMER event is malformed: {problem}"),
        )
    return _one(timer.trigger_name or "timer", timer.time, _request(timer, ctx))


def _request(timer: TimerEvent, ctx: SourceContext) -> BackupRequest | ErrorInfo:
    if parse_time(timer.time) is None:
        # The time is the timer's identity: without it a retry could not find its own backup again.
        return rejected(
            ErrorCode.INVALID_EVENT, f"TIMER event has no valid 'time' (got {timer.time!r}); expected RFC 3339"
        )
    text = (timer.user_event or "").strip()
    if text.startswith("{"):
        return parse_json_request(text, "the timer's user_event")
    if ctx.default_request is None and ctx.config_error is not None:
        return rejected(ErrorCode.INVALID_CONFIG, ctx.config_error)
    if ctx.default_request is None:
        return rejected(
            ErrorCode.NO_DEFAULT_REQUEST,
            "the timer's user_event holds no JSON request and DEFAULT_REQUEST is not configured: put a "
            'request such as {"instance_id": "..."} in user_event, or set DEFAULT_REQUEST',
        )
    return ctx.default_request


def _one(trigger_name: str, raw_time: Any, result: BackupRequest | ErrorInfo) -> ParsedEvent:
    """The timer's name and scheduled time identify the firing; its name is the scope (its retention, its keys)."""
    when = parse_time(raw_time)
    identity = f"timer:{trigger_name}:{when.isoformat() if when else raw_time}"
    order = BackupOrder.of(
        Trigger.TIMER, identity, f"{trigger_name}@{raw_time}", when, result, scope=f"timer:{trigger_name}"
    )
    return ParsedEvent(Trigger.TIMER, [order])
