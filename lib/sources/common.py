"""What every event source shares: the parsing context, and turning text into a validated request."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lib import jsonsafe
from lib.codes import ErrorCode
from lib.models import BackupOrder, BackupRequest, ErrorInfo, Trigger, rejected, validate_request


@dataclass(frozen=True)
class SourceContext:
    """What a source may read besides the event. No clock: what identifies a delivery, and the time in its backup's
    name, come from the event itself, so a redelivery at any later moment is the same backup."""

    request_id: str
    default_request: BackupRequest | None
    #: Why the configuration could not be read (then ``default_request`` is unknown, not absent).
    config_error: str | None = None
    #: FANOUT_TOPIC_URN: the function's own messages (``HandOn``) are read from it, and from it alone.
    own_topic: str | None = None


@dataclass(frozen=True)
class ParsedEvent:
    trigger: Trigger
    orders: list[BackupOrder]


#: Where users read which triggers the function serves (named in every UNSUPPORTED_EVENT answer).
TRIGGERS_DOC = "docs/triggers.md of dds-backup"


def unsupported(what: str) -> str:
    """The message of an ``UNSUPPORTED_EVENT``: what the event is, and where the served triggers are listed."""
    return f"{what}: dds-backup does not act on these; see {TRIGGERS_DOC} for the triggers it serves"


#: The attributes CloudEvents 1.0 requires: an event with all four is read as one (``sources/cloudevents.py``).
CLOUDEVENT_REQUIRED = ("specversion", "id", "source", "type")


def is_cloudevent(event: dict[str, Any]) -> bool:
    return all(key in event for key in CLOUDEVENT_REQUIRED)


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


def event_rejection(
    trigger: Trigger, ctx: SourceContext, code: ErrorCode, message: str, part: int | None = None
) -> BackupOrder:
    """An order that only says why an event (or its record ``part``) holds no request: nothing to name."""
    where = ctx.request_id if part is None else f"{ctx.request_id}#{part}"
    return BackupOrder(
        trigger, f"rejected:{where}", where, None, rejection=rejected(code, message), scope=trigger.value
    )


def digest(text: str) -> str:
    """What identifies a message by its content (lone surrogates included: they are the sender's bytes too)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# Epoch numbers below this are seconds, from here up to _MS_BELOW milliseconds (1e11 s is the year 5138; 1e14 ms is
# the year 5138 too), anything else is unreadable.
_S_BELOW = 1e11
_MS_BELOW = 1e14
_NUMBER = re.compile(r"\d{1,20}(\.\d{1,9})?")


def epoch_or_rfc3339(value: Any) -> datetime | None:
    """A time as queues send it, in UTC: epoch seconds or milliseconds (a number or a numeric string), or RFC 3339
    text with an offset. None when it is absent or unreadable."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        parsed = parse_time(value)
        return parsed.astimezone(timezone.utc) if parsed is not None else None
    seconds = value if value < _S_BELOW else value / 1000
    if not 0 < value < _MS_BELOW:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def parse_json(text: str, where: str) -> Any | ErrorInfo:
    """At most 256 KiB of JSON, within jsonsafe's limits; else why not."""
    try:
        return jsonsafe.loads(text, max_bytes=MAX_MESSAGE_BYTES)
    except jsonsafe.JsonRejected as exc:
        return rejected(
            exc.code,
            f"{where} is {exc.message}" if exc.code == ErrorCode.MESSAGE_TOO_LARGE else f"{where}: {exc.message}",
        )


def parse_json_request(text: str, where: str) -> BackupRequest | ErrorInfo:
    """At most 256 KiB of JSON (jsonsafe's limits) holding one backup request."""
    data = parse_json(text, where)
    return data if isinstance(data, ErrorInfo) else validate_request(data, where)


def parse_message(message: Any, where: str) -> BackupRequest | ErrorInfo:
    """A queue message: a string holding one JSON request."""
    if not isinstance(message, str):
        return rejected(ErrorCode.INVALID_REQUEST, f"{where} must be a string holding a JSON request")
    return parse_json_request(message, where)
