"""Which trigger sent an event, by its shape (the FunctionGraph sample events), and the source that reads it.

API Gateway events never get here: the pipeline sends them to the HTTP front first.
"""

from __future__ import annotations

from typing import Any

from lib.logs import get_logger
from lib.models import BackupOrder, ErrorInfo, Trigger
from lib.sources.common import ParsedEvent, SourceContext, event_rejection

_log = get_logger("sources")
SUPPORTED = "direct invocation with a backup request, TIMER, SMN, DMS for Kafka, open-source Kafka, DMS for RocketMQ"
_QUEUES = ("KAFKA", "OPENSOURCEKAFKA", "ROCKETMQ")


def parse_event(event: Any, ctx: SourceContext) -> ParsedEvent:
    """The event's orders. Never raises: a bug of ours in a parser ends as one ``INTERNAL_ERROR`` order (the same
    event would fail the same way, so it is not retryable)."""
    try:
        return _parse(event, ctx)
    except Exception:
        _log.exception("unexpected error while reading the event")
        error = ErrorInfo(
            code="INTERNAL_ERROR", message="the event could not be read (a bug; see the log)", retryable=False
        )
        order = BackupOrder(
            Trigger.DIRECT, f"unreadable:{ctx.request_id}", ctx.request_id, None, rejection=error, scope="direct"
        )
        return ParsedEvent(Trigger.DIRECT, [order])


def _parse(event: Any, ctx: SourceContext) -> ParsedEvent:
    if not isinstance(event, dict):
        return _unsupported(ctx, f"an event of JSON type {type(event).__name__}")
    # Each source is imported when its event comes: an instance serves one trigger, and cold starts are measured.
    trigger_type = str(event.get("trigger_type", "")).upper()
    if trigger_type == "TIMER":
        from lib.sources import timer

        return timer.parse(event, ctx)
    if trigger_type in _QUEUES and "records" in event:
        from lib.sources import kafka

        return kafka.parse(event, ctx)
    if isinstance(event.get("record"), list) and "trigger_type" not in event:
        from lib.sources import smn

        return smn.parse(event, ctx)
    if trigger_type:
        return _unsupported(ctx, f"a {trigger_type} event")
    if isinstance(event.get("Records"), list):
        return _unsupported(ctx, "an OBS event")
    from lib.sources import direct

    return direct.parse(event, ctx)


def _unsupported(ctx: SourceContext, what: str) -> ParsedEvent:
    message = f"{what} is not supported; supported events: {SUPPORTED}"
    return ParsedEvent(Trigger.DIRECT, [event_rejection(Trigger.DIRECT, ctx, "UNSUPPORTED_EVENT", message)])
