"""Direct invocation (console test, sync/async invoke API): the event itself is the request."""

from __future__ import annotations

from typing import Any

from lib.models import BackupOrder, BackupRequest, Trigger, validate_request
from lib.sources.common import ParsedEvent, SourceContext


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    """Without an ``idempotency_key`` the identity is the invocation's request id: each call is a new backup (named
    without a time: the event carries none). Direct invocations are one scope."""
    result = validate_request(event, "the event")
    key = result.idempotency_key if isinstance(result, BackupRequest) else None
    order = BackupOrder.of(
        Trigger.DIRECT, f"direct:{ctx.request_id}", key or ctx.request_id, None, result, scope=Trigger.DIRECT.value
    )
    return ParsedEvent(Trigger.DIRECT, [order])
