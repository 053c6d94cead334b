"""CloudEvents 1.0 in structured JSON, as Huawei Cloud's EventGrid delivers them to a function: one event per
invocation, or a batch ``{"events": [...]}`` (the body of EventGrid's PutEvents API), each event on its own.

Where the request is:

- RocketMQ (and RabbitMQ) event sources: EventGrid turns each message into one event whose ``data.context`` is the
  message body, a string, and ``data.topic`` its topic (EventGrid user guide, "Sending RocketMQ Events",
  support.huaweicloud.com/usermanual-eg/eg-ug-074.html; the subscription guide says the same ``context`` field for
  RabbitMQ sources). The request is the JSON in ``data.context``.
- custom event sources: ``data`` is what the publisher sent (PutEvents: ``data`` is an object): the request
  itself, or a string holding it as JSON.
- cloud service sources (``source`` ``HC.<service>``, e.g. ``HC.OBS`` in EventGrid's own example): nothing to
  back up, ``UNSUPPORTED_EVENT``.

Identity is ``source`` + ``id`` (PutEvents: "source+id uniquely identifies an event"), so a redelivered event is
the same backup; requests are scoped to their source. The event time is ``time`` (RFC 3339), or None when it is
absent or unreadable: never the time of arrival.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lib.codes import ErrorCode
from lib.models import (
    BackupOrder,
    BackupRequest,
    ErrorInfo,
    Trigger,
    describe_field_errors,
    field_errors,
    rejected,
    validate_request,
)
from lib.results.events import TYPE_PREFIX as RESULT_TYPE_PREFIX
from lib.sources.common import (
    CLOUDEVENT_REQUIRED,
    ParsedEvent,
    SourceContext,
    event_rejection,
    is_cloudevent,
    parse_json_request,
    parse_message,
    parse_time,
    unsupported,
)
from lib.sources.envelopes import CloudEvent, CloudEventBatch

TRIGGER = Trigger.CLOUDEVENTS
#: EventGrid's cloud service event sources (HC.OBS, HC.ECS, ...): their events are about the services, not requests.
CLOUD_SERVICE_PREFIX = "HC."


def parse(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    """One event: one order."""
    return ParsedEvent(TRIGGER, [_order(event, ctx, None)])


def parse_batch(event: dict[str, Any], ctx: SourceContext) -> ParsedEvent:
    """``{"events": [...]}``: one order per event; a bad event is rejected alone, the others go on."""
    try:
        batch = CloudEventBatch.model_validate(event)
    except ValidationError:
        message = 'the CloudEvents batch holds no events ({"events": [...]} needs at least one)'
        return ParsedEvent(TRIGGER, [event_rejection(TRIGGER, ctx, ErrorCode.INVALID_EVENT, message)])
    return ParsedEvent(TRIGGER, [_order(raw, ctx, i) for i, raw in enumerate(batch.events)])


def _order(raw: Any, ctx: SourceContext, part: int | None) -> BackupOrder:
    where = "the CloudEvent" if part is None else f"CloudEvent {part} of the batch"
    if not isinstance(raw, dict) or not is_cloudevent(raw):
        message = f"{where} is not a CloudEvents 1.0 event (it needs {', '.join(CLOUDEVENT_REQUIRED)})"
        return event_rejection(TRIGGER, ctx, ErrorCode.INVALID_EVENT, message, part)
    try:
        event = CloudEvent.model_validate(raw)
    except ValidationError as exc:
        message = f"{where} is malformed: {describe_field_errors(field_errors(exc))}"
        return event_rejection(TRIGGER, ctx, ErrorCode.INVALID_EVENT, message, part)
    if event.source.startswith(CLOUD_SERVICE_PREFIX):
        what = f"a {event.source} event ({event.type}) of a cloud service, from EventGrid"
        return event_rejection(TRIGGER, ctx, ErrorCode.UNSUPPORTED_EVENT, unsupported(what), part)
    if event.type.startswith(RESULT_TYPE_PREFIX):
        what = f"a result event of dds-backup itself ({event.type}): results are not requests"
        return event_rejection(TRIGGER, ctx, ErrorCode.UNSUPPORTED_EVENT, unsupported(what), part)
    return _backup_order(event, _request(event))


def _backup_order(event: CloudEvent, result: BackupRequest | ErrorInfo) -> BackupOrder:
    """Identified by ``source`` + ``id``; its keys and its retention are its source's."""
    identity = f"cloudevents:{event.source}:{event.id}"
    correlation = f"{event.source}#{event.id}"
    scope = f"cloudevents:{event.source}"
    return BackupOrder.of(TRIGGER, identity, correlation, parse_time(event.time), result, scope=scope)


def _request(event: CloudEvent) -> BackupRequest | ErrorInfo:
    where = f"CloudEvent {event.id} of source {event.source}"
    data = event.data
    if data is None and event.data_base64 is not None:
        return rejected(
            ErrorCode.INVALID_EVENT, f"{where} carries binary data (data_base64): send the request as JSON data"
        )
    if data is None:
        return rejected(
            ErrorCode.INVALID_EVENT,
            f"{where} has no data: the backup request goes in data (from a RocketMQ source: in the message body)",
        )
    if isinstance(data, dict) and "context" in data:
        return parse_message(data["context"], f"the message of {where} (data.context)")
    if isinstance(data, str):
        return parse_json_request(data, f"the data of {where}")
    return validate_request(data, f"the data of {where}")
