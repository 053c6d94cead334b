"""Which source reads an event (lib/sources/detect.py), by the event's shape alone."""

from __future__ import annotations

from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from lib.models import Trigger
from lib.sources import SourceContext, parse_event
from lib.sources import timer as timer_source
from lib.sources.common import TRIGGERS_DOC
from tests.conftest import PLATFORM_EVENTS, Invoke, load_json, only_result

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
        ("../eventgrid/rocketmq_event.json", Trigger.CLOUDEVENTS),
        ("../eventgrid/published_events.json", Trigger.CLOUDEVENTS),
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
        ([{"instance_id": "x"}], "an event of JSON type list"),
        ("text", "an event of JSON type str"),
        ({"trigger_type": "LTS", "lts": {}}, "an LTS log event"),
        ({"trigger_type": "RABBITMQ", "records": []}, "a DMS for RabbitMQ event"),
        ({"trigger_type": "SOMETHINGNEW"}, "a SOMETHINGNEW event"),
        ({"Records": [{"s3": {}}]}, "an OBS object event"),
        ({"records": [{"event_source": "gaussdb", "event_name": "insert"}]}, "a gaussdb change event"),
        ({"trigger_type": "KAFKA"}, "a KAFKA event"),  # a queue trigger without records
    ],
)
def test_other_events_are_rejected_as_unsupported(event: Any, what: str) -> None:
    parsed = parse_event(event, CTX)
    (order,) = parsed.orders
    assert order.request is None and order.rejection is not None
    assert (order.rejection.code, order.rejection.retryable) == ("UNSUPPORTED_EVENT", False)
    assert order.rejection.message == (
        f"{what}: dds-backup does not act on these; see {TRIGGERS_DOC} for the triggers it serves"
    )


# The documented sample of every trigger type the function does not serve (tests/fixtures/README.md).
UNSERVED_SAMPLES = [
    ("cts_event.json", "a CTS audit event"),
    ("cts_fg_create.json", "a CTS audit event"),
    ("lts_event.json", "an LTS log event"),
    ("dds_event.json", "a DDS change-stream event"),
    ("obss3_event.json", "an OBS object event"),
    ("dis_event.json", "a DIS stream event"),
]


@pytest.mark.parametrize(("sample", "what"), UNSERVED_SAMPLES)
def test_each_unserved_trigger_is_named_by_its_documented_sample(sample: str, what: str) -> None:
    (order,) = parse_event(load_json(PLATFORM_EVENTS / sample), CTX).orders
    assert order.rejection is not None and order.rejection.code == "UNSUPPORTED_EVENT"
    assert order.rejection.message.startswith(f"{what}: dds-backup does not act on these")


@pytest.mark.parametrize(("sample", "what"), UNSERVED_SAMPLES)
def test_an_unserved_trigger_gets_its_answer_with_no_call_and_no_retry(
    configured: EmulatorServer, invoke: Invoke, sample: str, what: str
) -> None:
    result = invoke(load_json(PLATFORM_EVENTS / sample))
    data = only_result(result)
    assert (data["outcome"], data["error"]["code"], data["error"]["retryable"]) == (
        "rejected",
        "UNSUPPORTED_EVENT",
        False,
    )
    assert data["error"]["message"].startswith(what)
    assert result["_raised"] is False and result["ok"] is False
    assert configured.state.requests == []  # neither DDS nor IAM was asked anything


def test_a_bare_cts_trace_is_named_too() -> None:
    trace = load_json(PLATFORM_EVENTS / "cts_event.json")["cts"]
    (order,) = parse_event(trace, CTX).orders
    assert order.rejection is not None and order.rejection.message.startswith("a CTS audit event:")


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
