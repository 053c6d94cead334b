"""What every source produces: items, each a validated request or the reason there is none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from lib.models import BackupRequest, ErrorInfo, Trigger, describe_field_errors, field_errors


@dataclass(frozen=True)
class SourceContext:
    request_id: str
    now: datetime
    default_request: BackupRequest | None


@dataclass(frozen=True)
class Item:
    """One request of an event. ``identity`` keys the deterministic backup name (CONTRACT.md section 3).

    ``event_time`` is None when the name must not depend on time: a request with an ``idempotency_key`` is
    the same backup whenever it arrives.
    """

    trigger: Trigger
    identity: str
    correlation_id: str
    event_time: datetime | None
    request: BackupRequest | None = None
    error: ErrorInfo | None = None

    @classmethod
    def of(
        cls,
        trigger: Trigger,
        identity: str,
        correlation_id: str,
        event_time: datetime | None,
        result: BackupRequest | ErrorInfo,
    ) -> Item:
        """An item from a validation result; the request's idempotency_key, if any, becomes the identity."""
        if isinstance(result, BackupRequest):
            return cls(trigger, identity, correlation_id, event_time, request=result).with_request_identity()
        return cls(trigger, identity, correlation_id, event_time, error=result)

    def with_request_identity(self) -> Item:
        """A fanned-out request keeps the identity of the event it came from; otherwise an ``idempotency_key``
        overrides the event identity, whatever the source."""
        if self.request is not None and self.request.origin is not None:
            o = self.request.origin
            return Item(o.trigger, o.identity, o.correlation_id, o.event_time, self.request, self.error)
        if self.request is not None and self.request.idempotency_key:
            return self.keyed(self.request.idempotency_key)
        return self

    def keyed(self, key: str) -> Item:
        """Identified by a key alone (idempotency key, webhook delivery id): the same key, the same name,
        whenever it arrives, so no time goes into the name."""
        return Item(self.trigger, f"key:{key}", self.correlation_id, None, self.request, self.error)


@dataclass(frozen=True)
class ParsedEvent:
    trigger: Trigger
    items: list[Item]


# FunctionGraph accepts at most 256 KB for an asynchronous event; one message can never be more.
MAX_MESSAGE_BYTES = 256 * 1024


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time with an offset, else None (3.10's fromisoformat does not know "Z")."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def too_large(message: str, where: str) -> ErrorInfo | None:
    size = len(message.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        return rejected("MESSAGE_TOO_LARGE", f"{where} is {size} bytes; a request is at most {MAX_MESSAGE_BYTES}")
    return None


def event_rejection(trigger: Trigger, ctx: SourceContext, code: str, message: str, part: int | None = None) -> Item:
    """An item that only says why an event (or its record ``part``) holds no request: nothing to name."""
    where = ctx.request_id if part is None else f"{ctx.request_id}#{part}"
    return Item(trigger, f"rejected:{where}", where, ctx.now, error=rejected(code, message))


def rejected(code: str, message: str, **details: Any) -> ErrorInfo:
    return ErrorInfo(code=code, message=message, retryable=False, **details)


def validate_request(data: Any, where: str) -> BackupRequest | ErrorInfo:
    """A backup request from parsed JSON, or a rejection naming every field and rule that failed."""
    if not isinstance(data, dict):
        return rejected(
            "INVALID_REQUEST", f"{where} must be a JSON object (a backup request), got {type(data).__name__}"
        )
    try:
        return BackupRequest.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        return rejected(
            "INVALID_REQUEST",
            f"{where} is not a valid backup request: {describe_field_errors(errors)}",
            details=errors,
        )


def parse_json_request(text: str, where: str) -> BackupRequest | ErrorInfo:
    try:
        data = json.loads(text)
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        return rejected("INVALID_JSON", f"{where} is not valid JSON ({msg})")
    return validate_request(data, where)
