"""Which source reads an event (lib/sources/detect.py), by the event's shape alone."""

from __future__ import annotations

from typing import Any

import pytest

from lib.models import Trigger
from lib.sources import SourceContext, parse_event
from lib.sources import timer as timer_source
from tests.conftest import PLATFORM_EVENTS, load_json

CTX = SourceContext(request_id="req-1", default_request=None)


@pytest.mark.parametrize(
    ("sample", "trigger"),
    [
        ("timer_event.json", Trigger.TIMER),
        ("timer_event_txt.json", Trigger.TIMER),
        ("smn_event.json", Trigger.SMN),
        ("smnevent.json", Trigger.SMN),
        ("dms4kafka_event.json", Trigger.KAFKA),
        ("kafkaopensource_event.json", Trigger.KAFKA),
        ("rocketmq_event.json", Trigger.ROCKETMQ),
    ],
)
def test_platform_samples_go_to_their_source(sample: str, trigger: Trigger) -> None:
    assert parse_event(load_json(PLATFORM_EVENTS / sample), CTX).trigger is trigger


def test_trigger_types_are_read_case_insensitively() -> None:
    event = {"trigger_type": "rocketmq", "event_time": 1, "records": [{"topic_id": "t", "messages": ["{}"]}]}
    assert parse_event(event, CTX).trigger is Trigger.ROCKETMQ
    assert parse_event({"trigger_type": "timer", "time": "2026-11-29T02:00:00Z"}, CTX).trigger is Trigger.TIMER


@pytest.mark.parametrize(
    ("event", "what"),
    [
        ([{"instance_id": "x"}], "JSON type list"),
        ("text", "JSON type str"),
        ({"trigger_type": "LTS", "lts": {}}, "a LTS event"),
        ({"Records": [{"s3": {}}]}, "an OBS event"),
        ({"trigger_type": "KAFKA"}, "a KAFKA event"),  # a queue trigger without records
    ],
)
def test_other_events_are_rejected_as_unsupported(event: Any, what: str) -> None:
    parsed = parse_event(event, CTX)
    (order,) = parsed.orders
    assert order.request is None and order.rejection is not None
    assert order.rejection.code == "UNSUPPORTED_EVENT"
    assert what in order.rejection.message and "supported events" in order.rejection.message


def test_anything_else_is_a_direct_request() -> None:
    parsed = parse_event({"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"}, CTX)
    assert parsed.trigger is Trigger.DIRECT
    assert parsed.orders[0].request is not None


def test_a_record_list_with_a_trigger_type_is_not_taken_for_smn() -> None:
    assert parse_event({"trigger_type": "DDS", "record": []}, CTX).orders[0].rejection.code == "UNSUPPORTED_EVENT"  # type: ignore[union-attr]


def test_a_parser_bug_becomes_one_internal_error_order(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(event: Any, ctx: SourceContext) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(timer_source, "parse", broken)
    (order,) = parse_event({"trigger_type": "TIMER"}, CTX).orders
    assert order.rejection is not None
    assert (order.rejection.code, order.rejection.retryable) == ("INTERNAL_ERROR", False)
