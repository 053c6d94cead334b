"""Which trigger sent an event, by its shape (functiongraph.md section 3)."""

from __future__ import annotations

from typing import Any

from lib.models import Trigger
from lib.sources import direct, kafka, smn, timer
from lib.sources.base import ParsedEvent, SourceContext, event_rejection

SUPPORTED = "direct invocation with a backup request, TIMER, SMN, DMS for Kafka, open-source Kafka, DMS for RocketMQ"
_QUEUES = ("KAFKA", "OPENSOURCEKAFKA", "ROCKETMQ")


def _kind(event: dict[str, Any]) -> str | None:
    """A recognised platform event kind that this version does not handle, or None."""
    trigger_type = str(event.get("trigger_type", "")).upper()
    if "httpMethod" in event and "requestContext" in event:
        return "APIG"
    if isinstance(event.get("Records"), list):
        return "OBS"
    return trigger_type or None


def _unsupported(ctx: SourceContext, what: str) -> ParsedEvent:
    message = f"{what} is not supported; supported events: {SUPPORTED}"
    return ParsedEvent(Trigger.DIRECT, [event_rejection(Trigger.DIRECT, ctx, "UNSUPPORTED_EVENT", message)])


def parse_event(event: Any, ctx: SourceContext) -> ParsedEvent:
    if not isinstance(event, dict):
        return _unsupported(ctx, f"an event of JSON type {type(event).__name__}")
    trigger_type = str(event.get("trigger_type", "")).upper()
    if trigger_type == "TIMER":
        return timer.parse(event, ctx)
    if trigger_type in _QUEUES and "records" in event:
        return kafka.parse(event, ctx)
    if isinstance(event.get("record"), list) and "trigger_type" not in event:
        return smn.parse(event, ctx)
    kind = _kind(event)
    if kind is not None:
        return _unsupported(ctx, f"a {kind} event")
    return direct.parse(event, ctx)
