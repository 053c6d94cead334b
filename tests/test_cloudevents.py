"""CloudEvents 1.0 from Huawei Cloud's EventGrid (lib/sources/cloudevents.py): where the request is, the identity
(source + id, pinned character for character), the event time, and per-event rejection in a batch; then end to end
through the handler and the emulator, starting from EventGrid's own documented samples."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from lib.models import BackupOrder, BackupRequest, Trigger
from lib.sources import SourceContext, cloudevents, parse_event
from tests.conftest import BILLING, ORDERS, REFERENCE, Invoke, load_json

EVENTGRID = REFERENCE / "eventgrid"
CTX = SourceContext(request_id="req-1", default_request=None)
REQUEST = {"instance_id": ORDERS}


def rocketmq_event(body: Any = REQUEST, **changes: Any) -> dict[str, Any]:
    """EventGrid's RocketMQ sample, its message body (``data.context``) now a backup request."""
    event: dict[str, Any] = load_json(EVENTGRID / "rocketmq_event.json")
    event["data"]["context"] = body if isinstance(body, str) else json.dumps(body)
    return {**event, **changes}


def custom_event(data: Any = REQUEST, **changes: Any) -> dict[str, Any]:
    """A custom source's event as PutEvents takes it: ``data`` is what the publisher sent."""
    event = {
        "specversion": "1.0",
        "id": "deploy-4711",
        "source": "ci/pipeline",
        "type": "backup.requested",
        "datacontenttype": "application/json",
        "time": "2026-11-29T02:00:00Z",
        "data": data,
    }
    return {**event, **changes}


def rejection(order: BackupOrder) -> tuple[str, str]:
    assert order.request is None and order.rejection is not None
    assert order.rejection.retryable is False
    return order.rejection.code, order.rejection.message


# -- where the request is, and who the event is --------------------------------------------------------------------


def test_the_documented_rocketmq_sample_is_a_cloudevent_whose_message_is_read_as_the_request() -> None:
    # GIVEN EventGrid's sample as documented: its message body is {"hello":"world"}
    parsed = parse_event(load_json(EVENTGRID / "rocketmq_event.json"), CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.CLOUDEVENTS and order.trigger is Trigger.CLOUDEVENTS
    # THEN the body is what is read, and it is no request (not a complaint about specversion or data)
    code, message = rejection(order)
    assert code == "INVALID_REQUEST"
    assert "data.context" in message and "hello: unknown field" in message
    assert "specversion" not in message


def test_a_rocketmq_event_is_identified_by_its_source_and_id_and_timed_by_its_time() -> None:
    (order,) = cloudevents.parse(rocketmq_event(), CTX).orders
    assert order.request == BackupRequest(instance_id=ORDERS)
    assert order.identity == "cloudevents:source-rocketmq:e6cc599b-0664-4078-87dd-5630087d5f7e"
    assert order.correlation_id == "source-rocketmq#e6cc599b-0664-4078-87dd-5630087d5f7e"
    assert order.event_time == datetime(2024, 2, 5, 14, 20, 31, tzinfo=timezone.utc)


@pytest.mark.parametrize("data", [REQUEST, json.dumps(REQUEST)], ids=["object", "json string"])
def test_a_custom_sources_data_is_the_request(data: Any) -> None:
    (order,) = cloudevents.parse(custom_event(data), CTX).orders
    assert order.request == BackupRequest(instance_id=ORDERS)
    assert order.identity == "cloudevents:ci/pipeline:deploy-4711"


@pytest.mark.parametrize("time", [None, "yesterday", 1795762800, "2026-11-29T02:00:00"])
def test_without_a_readable_time_the_event_has_none_never_the_clock(time: Any) -> None:
    event = custom_event()
    if time is None:
        del event["time"]
    else:
        event["time"] = time
    (order,) = cloudevents.parse(event, CTX).orders
    assert order.request is not None and order.event_time is None


def test_the_same_id_from_another_source_is_another_event() -> None:
    (a,) = cloudevents.parse(custom_event(), CTX).orders
    (b,) = cloudevents.parse(custom_event(source="ci/other"), CTX).orders
    assert a.identity != b.identity


def test_a_cloudevent_belongs_to_its_source() -> None:
    (order,) = cloudevents.parse(custom_event(), CTX).orders
    assert order.scope == "cloudevents:ci/pipeline"


def test_an_idempotency_key_in_the_request_still_wins_within_its_source() -> None:
    (order,) = cloudevents.parse(custom_event({**REQUEST, "idempotency_key": "k1"}), CTX).orders
    assert order.identity == "key:cloudevents:ci/pipeline:k1" and order.event_time is None
    (other,) = cloudevents.parse(custom_event({**REQUEST, "idempotency_key": "k1"}, source="ci/other"), CTX).orders
    assert other.identity != order.identity


@pytest.mark.parametrize(
    ("event", "code", "words"),
    [
        (custom_event(data=None), "INVALID_EVENT", "has no data"),
        (
            {k: v for k, v in custom_event(data_base64="e30=").items() if k != "data"},
            "INVALID_EVENT",
            "binary data (data_base64)",
        ),
        (custom_event({"instance_id": ORDERS, "wiat": True}), "INVALID_REQUEST", "wiat: unknown field"),
        (custom_event("{not json"), "INVALID_JSON", "not valid JSON"),
        (custom_event(["a list"]), "INVALID_REQUEST", "must be a JSON object"),
        (rocketmq_event("{"), "INVALID_JSON", "data.context"),
        (custom_event(specversion="0.3"), "INVALID_EVENT", "specversion"),
        (custom_event(id=""), "INVALID_EVENT", "id"),
        (custom_event(id="x" * 257), "INVALID_EVENT", "id"),
        (custom_event(source=7), "INVALID_EVENT", "source"),
        (custom_event(data={"watch": {"backup_id": "b"}, "instance_id": ORDERS}), "INVALID_REQUEST", "watch"),
    ],
)
def test_what_is_not_a_request_is_rejected_and_says_why(event: dict[str, Any], code: str, words: str) -> None:
    (order,) = parse_event(event, CTX).orders
    got, message = rejection(order)
    assert (got, words in message) == (code, True), message


@pytest.mark.parametrize(
    ("event", "what"),
    [
        (load_json(EVENTGRID / "published_events.json")["events"][0], "a HC.OBS event (object:put) of a cloud service"),
        (custom_event(source="HC.ECS", type="server:stop"), "a HC.ECS event (server:stop)"),
        (custom_event(type="dds-backup.backup.created"), "a result event of dds-backup itself"),
    ],
)
def test_cloud_service_events_and_our_own_results_are_unsupported(event: dict[str, Any], what: str) -> None:
    (order,) = parse_event(event, CTX).orders
    code, message = rejection(order)
    assert code == "UNSUPPORTED_EVENT"
    assert message.startswith(what) and "dds-backup does not act on these" in message


def test_only_our_result_types_are_taken_for_results() -> None:
    (order,) = cloudevents.parse(custom_event(type="dds-backup.request"), CTX).orders
    assert order.request == BackupRequest(instance_id=ORDERS)


# -- the batch of the publish API: each event on its own ---------------------------------------------------------


def test_the_documented_batch_is_read_event_by_event() -> None:
    parsed = parse_event(load_json(EVENTGRID / "published_events.json"), CTX)
    assert parsed.trigger is Trigger.CLOUDEVENTS
    (order,) = parsed.orders
    assert rejection(order)[0] == "UNSUPPORTED_EVENT"


def test_a_bad_event_in_a_batch_is_rejected_alone() -> None:
    batch = {
        "events": [
            custom_event(),
            "not an event",
            {"id": "x", "source": "s"},  # no specversion or type
            custom_event({"instance_id": BILLING}, id="deploy-4712"),
        ]
    }
    first, text, partial, second = parse_event(batch, CTX).orders
    assert first.request == BackupRequest(instance_id=ORDERS)
    assert second.request == BackupRequest(instance_id=BILLING)
    for part, bad in ((1, text), (2, partial)):
        code, message = rejection(bad)
        assert code == "INVALID_EVENT" and f"CloudEvent {part} of the batch" in message
        assert bad.identity == f"rejected:req-1#{part}"


@pytest.mark.parametrize("batch", [{"events": []}, {"events": [], "other": 1}])
def test_an_empty_batch_is_one_rejection(batch: dict[str, Any]) -> None:
    (order,) = parse_event(batch, CTX).orders
    assert rejection(order)[0] == "INVALID_EVENT"


# -- end to end: the handler and the DDS emulator -----------------------------------------------------------------


def outcomes(result: dict[str, Any]) -> Counter[str]:
    return Counter(r["data"]["outcome"] for r in result["results"])


def test_a_rocketmq_event_from_eventgrid_makes_its_backup_once(configured: EmulatorServer, invoke: Invoke) -> None:
    event = rocketmq_event()
    first = invoke(event)
    assert outcomes(first) == {"created": 1}
    (data,) = [r["data"] for r in first["results"]]
    assert (data["trigger"], data["instance_id"]) == ("cloudevents", ORDERS)
    # WHEN EventGrid delivers the same event again (same source and id)
    again = invoke(copy.deepcopy(event))
    assert outcomes(again) == {"exists": 1}
    assert again["results"][0]["data"]["backup_id"] == data["backup_id"]
    assert len(configured.state.backups) == 1


def test_a_custom_source_event_makes_its_backup_once(configured: EmulatorServer, invoke: Invoke) -> None:
    event = custom_event({"instance_ids": [ORDERS, BILLING]})
    assert outcomes(invoke(event)) == {"created": 2}
    assert outcomes(invoke(event)) == {"exists": 2}
    assert sorted(b.instance_id for b in configured.state.backups.values()) == sorted([ORDERS, BILLING])


def test_a_batch_backs_up_the_good_event_beside_the_bad_one(configured: EmulatorServer, invoke: Invoke) -> None:
    batch = {"events": [custom_event(), custom_event({"instance_id": ORDERS, "nmae": "x"}, id="deploy-4712")]}
    result = invoke(batch)
    assert outcomes(result) == {"created": 1, "rejected": 1}
    assert result["ok"] is False and result["_raised"] is False
    assert [b.instance_id for b in configured.state.backups.values()] == [ORDERS]


def test_the_same_event_twice_in_one_batch_is_one_backup(configured: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"events": [custom_event(), custom_event()]})
    assert outcomes(result) == {"created": 1, "exists": 1}
    assert len(configured.state.backups) == 1


def test_a_cloud_service_event_calls_nothing_and_asks_for_no_retry(configured: EmulatorServer, invoke: Invoke) -> None:
    result = invoke(load_json(EVENTGRID / "published_events.json"))
    (item,) = result["results"]
    assert (item["data"]["outcome"], item["data"]["error"]["code"]) == ("rejected", "UNSUPPORTED_EVENT")
    assert result["_raised"] is False
    assert configured.state.requests == []
