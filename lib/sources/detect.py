"""Which trigger sent an event, by its shape (the FunctionGraph sample events), and the source that reads it.

API Gateway events never get here: the pipeline sends them to the HTTP front first.
"""

from __future__ import annotations

from typing import Any

from lib.codes import ErrorCode
from lib.logs import get_logger
from lib.models import BackupOrder, ErrorInfo, Trigger
from lib.sources import cloudevents, direct, kafka, smn, timer
from lib.sources.common import ParsedEvent, SourceContext, event_rejection, is_cloudevent, unsupported

_log = get_logger("sources")
_QUEUES = ("KAFKA", "OPENSOURCEKAFKA", "ROCKETMQ")

# FunctionGraph's trigger types that the function does not serve (OTC function-graph api-ref
# function_triggers/creating_a_trigger.rst, trigger_type_code; Huawei Cloud "Creating a Trigger",
# support.huaweicloud.com/intl/en-us/api-functiongraph/functiongraph_06_0122.html), named as users know them.
TRIGGER_NAMES = {
    "CTS": "a CTS audit event",
    "DDS": "a DDS change-stream event",
    "DIS": "a DIS stream event",
    "DMS": "a DMS queue event",
    "LTS": "an LTS log event",
    "OBS": "an OBS object event",
    "RABBITMQ": "a DMS for RabbitMQ event",
    "IOTDA": "an IoTDA device event",
}


def _unserved(event: dict[str, Any]) -> str | None:
    """What an event of a trigger the function does not serve is, by the platform's sample shape; else None.

    Samples: CTS ``{"cts": {...}}`` and the bare trace (otc-functiongraph-python-runtime fg-events/fg-cts-event/
    resources/cts_event.json, cts_fg_create.json, cts_ecs_creation.json); LTS ``{"lts": {"data": "<base64>"}}``
    (fg-lts-event/resources/lts_event.json); DDS ``{"records": [{"event_source": "dds", ...}]}`` (fg-dds-event/
    resources/dds_event.json); OBS ``{"Records": [{"s3": ...}]}`` (fg-obss3-event/resources/obss3_event.json); DIS
    ``{"ShardID", "Message": {"records": ...}, "StreamName"}`` (otc-functiongraph-go-runtime doc/source/devguide/
    event_function/trigger_events/trigger_dis_event.rst).
    """
    if isinstance(event.get("cts"), dict) or {"trace_id", "trace_name", "service_type"} <= event.keys():
        return TRIGGER_NAMES["CTS"]
    if isinstance(event.get("lts"), dict):
        return TRIGGER_NAMES["LTS"]
    records = event.get("records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "event_source" in records[0]:
        source = str(records[0]["event_source"])
        return TRIGGER_NAMES.get(source.upper(), f"a {source} change event")
    if isinstance(event.get("Records"), list):
        return TRIGGER_NAMES["OBS"]
    if "ShardID" in event and isinstance(event.get("Message"), dict):
        return TRIGGER_NAMES["DIS"]
    return None


def parse_event(event: Any, ctx: SourceContext) -> ParsedEvent:
    """The event's orders. Never raises: a bug of ours in a parser ends as one ``INTERNAL_ERROR`` order (the same
    event would fail the same way, so it is not retryable)."""
    try:
        return _parse(event, ctx)
    except Exception:
        _log.exception("unexpected error while reading the event")
        error = ErrorInfo(
            code=ErrorCode.INTERNAL_ERROR, message="the event could not be read (a bug; see the log)", retryable=False
        )
        order = BackupOrder(
            Trigger.DIRECT, f"unreadable:{ctx.request_id}", ctx.request_id, None, rejection=error, scope="direct"
        )
        return ParsedEvent(Trigger.DIRECT, [order])


def _parse(event: Any, ctx: SourceContext) -> ParsedEvent:
    if not isinstance(event, dict):
        return _unsupported(ctx, f"an event of JSON type {type(event).__name__}")
    trigger_type = str(event.get("trigger_type", "")).upper()
    if trigger_type == "TIMER":
        return timer.parse(event, ctx)
    if trigger_type in _QUEUES and "records" in event:
        return kafka.parse(event, ctx)
    if isinstance(event.get("record"), list) and "trigger_type" not in event:
        return smn.parse(event, ctx)
    if trigger_type:
        return _unsupported(ctx, TRIGGER_NAMES.get(trigger_type, f"a {trigger_type} event"))
    if is_cloudevent(event) or (isinstance(event.get("events"), list) and "trigger_type" not in event):
        return cloudevents.parse(event, ctx) if is_cloudevent(event) else cloudevents.parse_batch(event, ctx)
    what = _unserved(event)
    if what is not None:
        return _unsupported(ctx, what)
    return direct.parse(event, ctx)


def _unsupported(ctx: SourceContext, what: str) -> ParsedEvent:
    """Nothing to back up and nothing a retry could change: no DDS call, and the handler does not raise."""
    return ParsedEvent(
        Trigger.DIRECT, [event_rejection(Trigger.DIRECT, ctx, ErrorCode.UNSUPPORTED_EVENT, unsupported(what))]
    )
