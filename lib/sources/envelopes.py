"""The platform's trigger envelopes as pydantic models (after Powertools' parser envelopes).

An envelope model validates the parts of an event that the platform builds; the messages inside it are the
users' and are validated by the request model, record by record, so that one bad record is rejected alone.
Shapes: the FunctionGraph sample events (timer, SMN, DMS for Kafka, open-source Kafka, DMS for RocketMQ) and
CloudEvents 1.0 as Huawei Cloud's EventGrid sends them.
Fields the function does not read are ignored; fields it reads are typed, and a wrong type is reported by name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Envelope(BaseModel):
    # Built when first used: an invocation reads one trigger's envelope, never all of them.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class TimerEvent(_Envelope):
    """``{"trigger_type": "TIMER", "trigger_name", "time", "user_event": "<string>"}``."""

    trigger_type: str
    trigger_name: str = "timer"
    #: Read as text: a malformed time is reported with the value, not as a type error.
    time: Any = None
    user_event: str | None = None


class SmnMessage(_Envelope):
    message: Any = None  # checked by the source: a string holding a JSON request
    message_id: str | None = None
    timestamp: str | None = None
    topic_urn: str | None = None
    subject: str | None = None


class SmnRecord(_Envelope):
    smn: SmnMessage


class SmnEvent(_Envelope):
    """``{"record": [{"smn": {...}}, ...]}``; each record is validated on its own (``SmnRecord``)."""

    record: list[Any] = Field(min_length=1)


class QueueRecord(_Envelope):
    topic_id: str = ""
    messages: list[Any]


class QueueEvent(_Envelope):
    """DMS for Kafka, open-source Kafka and DMS for RocketMQ share ``{"trigger_type", "event_time",
    "records": [{"topic_id", "messages": [...]}]}``; each record is validated on its own (``QueueRecord``)."""

    trigger_type: Literal["KAFKA", "OPENSOURCEKAFKA", "ROCKETMQ"]
    #: Epoch seconds in the sample events, a String in the runtime's field table: read by the source, which never
    #: rejects a batch for it.
    event_time: Any = None
    records: list[Any] = Field(min_length=1)


#: The longest ``source`` and ``id`` read: both go into the event's identity, which a hand-off carries (1024 chars).
MAX_CLOUDEVENT_KEY = 256


class CloudEvent(_Envelope):
    """A CloudEvents 1.0 event in structured JSON mode (the CloudEvents spec; EventGrid's PutEvents API lists the
    same attributes: ``id``, ``source``, ``specversion``, ``type`` mandatory; ``datacontenttype``, ``subject``,
    ``time`` optional; ``data`` the payload). ``source`` + ``id`` identify an event ("source+id uniquely identifies
    an event", PutEvents)."""

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=MAX_CLOUDEVENT_KEY)
    source: str = Field(min_length=1, max_length=MAX_CLOUDEVENT_KEY)
    type: str = Field(min_length=1)
    subject: str | None = None
    datacontenttype: str | None = None
    #: Read as text: an unreadable time leaves the event without one, it does not reject it.
    time: Any = None
    data: Any = None
    data_base64: Any = None


class CloudEventBatch(_Envelope):
    """``{"events": [CloudEvent, ...]}``, the body of EventGrid's PutEvents API; each event is validated on its
    own (``CloudEvent``)."""

    events: list[Any] = Field(min_length=1)
