"""What each source (lib/sources/timer.py, smn.py, kafka.py, direct.py) makes of an event: the orders, and the
identity of each, which keys the backup name.

An identity must be the same for a redelivery and different for a different message; and it must never change
between versions: a redelivery after an upgrade would otherwise make a second backup. So the identities are
pinned here, character for character.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lib.models import BackupOrder, BackupRequest, Trigger
from lib.sources import SourceContext, direct, kafka, smn, timer

CTX = SourceContext(request_id="req-1", default_request=None)
ORDERS = "a89dab5e39394eccbdb77b19d57b0180in02"
REQUEST = json.dumps({"instance_id": ORDERS})


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rejection(order: BackupOrder) -> tuple[str, str]:
    assert order.request is None and order.rejection is not None
    assert order.rejection.retryable is False
    return order.rejection.code, order.rejection.message


# -- Kafka and RocketMQ: topic + event time + a digest of the message ------------------------------------------

FANOUT = "urn:smn:eu-de:p1:dds-backup-fanout"
STAMP = "2026-11-27T07:00:00+00:00"  # 1795762800, as every readable form of it is identified


def queue_event(*messages: Any, trigger_type: str = "KAFKA", event_time: Any = 1795762800) -> dict[str, Any]:
    return {
        "trigger_type": trigger_type,
        "event_time": event_time,
        "records": [{"topic_id": "t1", "messages": list(messages)}],
    }


def test_a_kafka_message_is_identified_by_topic_event_time_and_its_digest() -> None:
    parsed = kafka.parse(queue_event(REQUEST), CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.KAFKA and order.trigger is Trigger.KAFKA
    assert order.identity == f"kafka:t1:{STAMP}:{digest(REQUEST)}"
    assert order.correlation_id == f"t1@{STAMP}#{digest(REQUEST)}"
    assert order.event_time == datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)
    assert order.request == BackupRequest(instance_id=ORDERS)
    assert order.scope == "kafka:t1"


def test_a_rocketmq_message_has_an_identity_of_its_own_trigger() -> None:
    (order,) = kafka.parse(queue_event(REQUEST, trigger_type="rocketmq"), CTX).orders
    assert order.trigger is Trigger.ROCKETMQ
    assert order.identity == f"rocketmq:t1:{STAMP}:{digest(REQUEST)}"
    assert order.scope == "rocketmq:t1"


def test_two_different_messages_of_one_batch_are_two_identities_and_the_same_message_is_one() -> None:
    other = json.dumps({"instance_id": ORDERS, "description": "after the migration"})
    one, two, again = kafka.parse(queue_event(REQUEST, other, REQUEST), CTX).orders
    assert one.identity != two.identity
    assert one.identity == again.identity


def test_a_message_that_is_no_string_is_rejected_under_the_digest_of_nothing() -> None:
    (order,) = kafka.parse(queue_event({"instance_id": ORDERS}), CTX).orders
    assert rejection(order) == (
        "INVALID_REQUEST",
        "kafka message 0 of topic t1 must be a string holding a JSON request",
    )
    assert order.identity == f"kafka:t1:{STAMP}:{digest('')}"


def test_a_message_is_digested_as_utf8_even_with_lone_surrogates() -> None:
    text = '{"instance_id": "\ud800"}'
    (order,) = kafka.parse(queue_event(text), CTX).orders
    expected = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    assert order.identity == f"kafka:t1:{STAMP}:{expected}"


@pytest.mark.parametrize(
    "event_time",
    [
        1795762800,  # epoch seconds, as the sample events carry it
        1795762800.0,
        1795762800000,  # epoch milliseconds
        "1795762800",  # the runtime's field table types it as a String
        "1795762800000",
        "2026-11-27T07:00:00Z",  # RFC 3339, as the community runtime's tests send it
        "2026-11-27T08:00:00+01:00",
    ],
)
def test_every_readable_event_time_is_the_same_instant_and_the_same_identity(event_time: Any) -> None:
    (order,) = kafka.parse(queue_event(REQUEST, event_time=event_time), CTX).orders
    assert order.event_time == datetime(2026, 11, 27, 7, 0, tzinfo=timezone.utc)
    assert order.identity == f"kafka:t1:{STAMP}:{digest(REQUEST)}"
    assert order.request == BackupRequest(instance_id=ORDERS)


@pytest.mark.parametrize("event_time", [None, 0, -5, 1e14, "yesterday", "2026-11-27T07:00:00", True, [1], {}, "1e9"])
def test_without_a_readable_event_time_the_message_alone_identifies_it_and_nothing_is_rejected(
    event_time: Any, caplog: pytest.LogCaptureFixture
) -> None:
    (order,) = kafka.parse(queue_event(REQUEST, event_time=event_time), CTX).orders
    # an unreadable time is logged (an absent one is no news), once per event
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    expected = (
        [] if event_time is None else ["the kafka event_time is unreadable; its backups are named without a time"]
    )
    assert warned == expected
    assert order.request == BackupRequest(instance_id=ORDERS)  # never a reason to reject
    assert order.event_time is None  # never the clock: named without a time
    assert order.identity == f"kafka:t1::{digest(REQUEST)}"
    assert order.correlation_id == f"t1@-#{digest(REQUEST)}"


def test_the_event_time_at_the_edges_of_seconds_and_milliseconds() -> None:
    (order,) = kafka.parse(queue_event(REQUEST, event_time=1e11 - 1), CTX).orders
    assert order.event_time == datetime.fromtimestamp(1e11 - 1, tz=timezone.utc)
    (order,) = kafka.parse(queue_event(REQUEST, event_time=1e11), CTX).orders
    assert order.event_time == datetime.fromtimestamp(1e8, tz=timezone.utc)  # from here on, milliseconds
    (order,) = kafka.parse(queue_event(REQUEST, event_time=1e14 - 1), CTX).orders
    assert order.event_time == datetime.fromtimestamp((1e14 - 1) / 1000, tz=timezone.utc)
    (order,) = kafka.parse(queue_event(REQUEST, event_time=1), CTX).orders
    assert order.event_time == datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)


def test_a_message_without_a_topic_says_so() -> None:
    event = {"trigger_type": "KAFKA", "event_time": 1, "records": [{"messages": ["nope"]}]}
    (order,) = kafka.parse(event, CTX).orders
    assert rejection(order)[1].startswith("kafka message 0 of topic ?: not valid JSON")
    assert order.identity == f"kafka::1970-01-01T00:00:01+00:00:{digest('nope')}"


def test_a_queue_event_without_records_is_one_rejection_of_the_event() -> None:
    parsed = kafka.parse({"trigger_type": "ROCKETMQ", "records": []}, CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.ROCKETMQ and order.trigger is Trigger.ROCKETMQ
    code, message = rejection(order)
    assert code == "INVALID_EVENT"
    assert (
        message
        == "the rocketmq event has no messages (records: List should have at least 1 item after validation, not 0)"
    )
    assert (order.identity, order.correlation_id, order.event_time) == ("rejected:req-1", "req-1", None)


def test_a_record_without_messages_is_rejected_alone_and_the_next_record_is_read() -> None:
    event = {
        "trigger_type": "KAFKA",
        "event_time": 1,
        "records": [{"topic_id": "t0"}, {"topic_id": "t1", "messages": [REQUEST]}],
    }
    bad, good = kafka.parse(event, CTX).orders
    assert rejection(bad) == ("INVALID_EVENT", "kafka record 0 has no 'messages' list")
    assert (bad.trigger, bad.identity, bad.correlation_id) == (Trigger.KAFKA, "rejected:req-1#0", "req-1#0")
    assert good.request == BackupRequest(instance_id=ORDERS)


def test_records_with_empty_message_lists_are_one_rejection() -> None:
    (order,) = kafka.parse({"trigger_type": "KAFKA", "records": [{"messages": []}]}, CTX).orders
    assert rejection(order) == ("INVALID_EVENT", "the kafka event has no messages")
    assert order.trigger is Trigger.KAFKA


# -- SMN: the message_id -------------------------------------------------------------------------------------


def smn_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"record": [{"smn": r} for r in records]}


def test_an_smn_message_is_identified_by_its_message_id() -> None:
    parsed = smn.parse(smn_event({"message": REQUEST, "message_id": "m-1", "timestamp": "2026-11-27T03:00:00Z"}), CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.SMN and order.trigger is Trigger.SMN
    assert (order.identity, order.correlation_id) == ("smn:m-1", "m-1")
    assert order.event_time == datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
    assert order.request == BackupRequest(instance_id=ORDERS)
    assert order.scope == "smn:"  # the sample has no topic_urn
    (topical,) = smn.parse(smn_event({"message": REQUEST, "message_id": "m-1", "topic_urn": FANOUT}), CTX).orders
    assert topical.scope == f"smn:{FANOUT}"


def test_two_smn_messages_are_two_identities_and_a_redelivery_is_the_same() -> None:
    one, two, again = smn.parse(
        smn_event(
            {"message": REQUEST, "message_id": "m-1"},
            {"message": REQUEST, "message_id": "m-2"},
            {"message": REQUEST, "message_id": "m-1"},
        ),
        CTX,
    ).orders
    assert (one.identity, two.identity, again.identity) == ("smn:m-1", "smn:m-2", "smn:m-1")


def test_an_smn_message_without_a_time_is_named_without_one() -> None:
    (order,) = smn.parse(smn_event({"message": REQUEST, "message_id": "m-1"}), CTX).orders
    assert (order.identity, order.event_time) == ("smn:m-1", None)


def test_an_smn_message_without_an_id_is_identified_by_its_topic_and_content_in_any_invocation() -> None:
    record = {"message": REQUEST, "topic_urn": FANOUT}
    (order,) = smn.parse(smn_event(record), CTX).orders
    assert (order.identity, order.correlation_id, order.event_time) == (
        f"smn:{FANOUT}:{digest(REQUEST)}",
        f"{FANOUT}#{digest(REQUEST)}",
        None,
    )
    (again,) = smn.parse(smn_event(record), SourceContext(request_id="req-2", default_request=None)).orders
    assert again.identity == order.identity


def test_an_smn_message_that_is_no_request_is_rejected_naming_the_message() -> None:
    (order,) = smn.parse(smn_event({"message": "[]", "message_id": "m-9"}), CTX).orders
    assert rejection(order) == ("INVALID_REQUEST", "SMN message m-9 must be a JSON object (a backup request), got list")
    assert order.identity == "smn:m-9"


def test_watch_and_origin_are_read_only_from_the_functions_own_topic() -> None:
    # GIVEN the function's own fan-out topic, and a message that carries an origin
    ctx = SourceContext(request_id="req-1", default_request=None, own_topic=FANOUT)
    origin = {
        "identity": "timer:nightly:1",
        "trigger": "timer",
        "scope": "timer:nightly",
        "correlation_id": "nightly@1",
    }
    message = json.dumps({"request": {"instance_id": ORDERS}, "origin": origin})
    own, other, unknown = smn.parse(
        smn_event(
            {"message": message, "message_id": "m-1", "topic_urn": FANOUT},
            {"message": message, "message_id": "m-2", "topic_urn": FANOUT + "-other"},
            {"message": message, "message_id": "m-3"},
        ),
        ctx,
    ).orders
    # THEN on the own topic it is the origin's order, on any other (or none) it is refused
    assert own.request is not None and (own.identity, own.scope) == ("timer:nightly:1", "timer:nightly")
    assert own.handed_on
    for order in (other, unknown):
        code, text = rejection(order)
        assert code == "INVALID_REQUEST" and "origin: set by dds-backup itself" in text
    # AND without a fan-out topic configured nothing is the function's own
    (alone,) = smn.parse(smn_event({"message": message, "message_id": "m-1", "topic_urn": FANOUT}), CTX).orders
    assert rejection(alone)[0] == "INVALID_REQUEST"


def test_a_message_on_the_functions_own_topic_that_is_no_hand_on_is_refused_as_that_message() -> None:
    ctx = SourceContext(request_id="req-1", default_request=None, own_topic=FANOUT)
    broken_hand_on = json.dumps({"request": {"instance_id": ORDERS}, "origin": {"trigger": "timer"}})
    hand_on, text, not_json = smn.parse(
        smn_event(
            {"message": broken_hand_on, "message_id": "m-4", "topic_urn": FANOUT, "timestamp": "2026-11-27T03:00Z"},
            {"message": json.dumps("origin"), "message_id": "m-5", "topic_urn": FANOUT},
            {"message": "{", "message_id": "m-6", "topic_urn": FANOUT},
        ),
        ctx,
    ).orders
    # THEN an origin that is not the function's own is refused under the message's own identity, naming it
    code, message = rejection(hand_on)
    assert code == "INVALID_REQUEST"
    assert message.startswith("SMN message m-4 is not a message of dds-backup's own: origin.identity: ")
    assert (hand_on.trigger, hand_on.identity, hand_on.correlation_id, hand_on.event_time, hand_on.scope) == (
        Trigger.SMN,
        "smn:m-4",
        "m-4",
        datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc),
        f"smn:{FANOUT}",
    )
    # AND text that merely mentions an origin is no hand-on but a request that is no object; no JSON is no JSON
    assert rejection(text) == ("INVALID_REQUEST", "SMN message m-5 must be a JSON object (a backup request), got str")
    assert rejection(not_json)[0] == "INVALID_JSON" and rejection(not_json)[1].startswith("SMN message m-6: ")


def test_an_smn_message_that_is_no_text_counts_as_empty_content_and_a_missing_topic_as_question_mark() -> None:
    # GIVEN records without message_id: one with no text, one empty, one without a topic
    no_text, empty, no_topic = smn.parse(
        smn_event(
            {"message": {"instance_id": ORDERS}, "topic_urn": FANOUT},
            {"message": "", "topic_urn": FANOUT},
            {"message": REQUEST},
        ),
        CTX,
    ).orders
    # THEN a message that is no text is refused, and identified as an empty one would be
    assert rejection(no_text)[0] == "INVALID_REQUEST"
    assert no_text.identity == empty.identity == f"smn:{FANOUT}:{digest('')}"
    assert no_topic.correlation_id == f"?#{digest(REQUEST)}"


def test_a_malformed_smn_record_is_rejected_alone() -> None:
    event = {"record": [{"smn": "text"}, {"smn": {"message": REQUEST, "message_id": "m-2"}}]}
    bad, good = smn.parse(event, CTX).orders
    code, message = rejection(bad)
    assert code == "INVALID_EVENT"
    assert message.startswith("SMN record 0 is malformed: smn: ")
    assert (bad.trigger, bad.identity, bad.correlation_id) == (Trigger.SMN, "rejected:req-1#0", "req-1#0")
    assert good.identity == "smn:m-2"


def test_an_smn_event_without_records_is_one_rejection() -> None:
    parsed = smn.parse({"record": []}, CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.SMN and order.trigger is Trigger.SMN
    assert rejection(order) == ("INVALID_EVENT", "the SMN event has no records")
    assert order.identity == "rejected:req-1"


# -- TIMER: the trigger's name and the time it fired --------------------------------------------------------


def timer_event(**fields: Any) -> dict[str, Any]:
    return {"trigger_type": "TIMER", "trigger_name": "nightly", "time": "2026-11-27T01:00:00+01:00", **fields}


def test_a_timer_event_is_identified_by_the_trigger_name_and_the_time() -> None:
    parsed = timer.parse(timer_event(user_event=REQUEST), CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.TIMER and order.trigger is Trigger.TIMER
    assert order.identity == "timer:nightly:2026-11-27T01:00:00+01:00"
    assert order.correlation_id == "nightly@2026-11-27T01:00:00+01:00"
    assert order.event_time == datetime(2026, 11, 27, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert order.request == BackupRequest(instance_id=ORDERS)
    assert order.scope == "timer:nightly"


def test_the_next_firing_is_another_identity_and_a_redelivery_the_same() -> None:
    first = timer.parse(timer_event(user_event=REQUEST), CTX).orders[0]
    next_day = timer.parse(timer_event(user_event=REQUEST, time="2026-11-28T01:00:00+01:00"), CTX).orders[0]
    again = timer.parse(timer_event(user_event=REQUEST), CTX).orders[0]
    assert first.identity != next_day.identity
    assert first.identity == again.identity


def test_a_timer_without_a_name_is_called_timer() -> None:
    event = {"trigger_type": "TIMER", "time": "2026-11-27T00:00:00Z", "user_event": f"  {REQUEST}  "}
    (order,) = timer.parse(event, CTX).orders
    assert order.identity == "timer:timer:2026-11-27T00:00:00+00:00"
    assert order.request == BackupRequest(instance_id=ORDERS)
    (order,) = timer.parse({**event, "trigger_name": ""}, CTX).orders
    assert order.identity == "timer:timer:2026-11-27T00:00:00+00:00"


def test_plain_text_selects_the_default_request() -> None:
    default = BackupRequest(instance_id=ORDERS, description="default")
    ctx = SourceContext(request_id="req-1", default_request=default)
    for user_event in ("nightly backup", "", None):
        (order,) = timer.parse(timer_event(user_event=user_event), ctx).orders
        assert order.request == default


def test_plain_text_without_a_default_request_is_rejected_with_what_to_do() -> None:
    (order,) = timer.parse(timer_event(user_event="nightly"), CTX).orders
    code, message = rejection(order)
    assert code == "NO_DEFAULT_REQUEST"
    assert message.startswith("the timer's user_event holds no JSON request and DEFAULT_REQUEST is not configured")


def test_an_unreadable_default_request_is_reported_as_the_configuration_error() -> None:
    ctx = SourceContext(request_id="req-1", default_request=None, config_error="DEFAULT_REQUEST is bad")
    (order,) = timer.parse(timer_event(user_event="nightly"), ctx).orders
    assert rejection(order) == ("INVALID_CONFIG", "DEFAULT_REQUEST is bad")
    # A JSON request in user_event needs no default, readable or not.
    (order,) = timer.parse(timer_event(user_event=REQUEST), ctx).orders
    assert order.request == BackupRequest(instance_id=ORDERS)


def test_a_user_event_that_looks_like_json_but_is_not_is_rejected() -> None:
    (order,) = timer.parse(timer_event(user_event='{"instance_id": '), CTX).orders
    code, message = rejection(order)
    assert code == "INVALID_JSON"
    assert message.startswith("the timer's user_event: not valid JSON")


@pytest.mark.parametrize("time", ["yesterday", "2026-11-27T01:00:00", 1795762800, None])
def test_a_timer_without_a_valid_time_is_rejected_and_identified_by_what_it_said(time: Any) -> None:
    (order,) = timer.parse(timer_event(user_event=REQUEST, time=time), CTX).orders
    code, message = rejection(order)
    assert code == "INVALID_EVENT"
    assert message == f"TIMER event has no valid 'time' (got {time!r}); expected RFC 3339"
    assert (order.identity, order.correlation_id, order.event_time) == (
        f"timer:nightly:{time}",
        f"nightly@{time}",
        None,
    )


def test_a_malformed_timer_event_is_rejected_naming_the_field() -> None:
    (order,) = timer.parse({"trigger_type": "TIMER", "trigger_name": 5, "time": "2026-11-27T00:00:00Z"}, CTX).orders
    assert order.trigger is Trigger.TIMER
    assert rejection(order) == (
        "INVALID_EVENT",
        "the TIMER event is malformed: trigger_name: Input should be a valid string",
    )
    assert order.identity == "timer:timer:2026-11-27T00:00:00+00:00"


# -- direct invocation: the invocation, unless the request has a key -----------------------------------------


def test_a_direct_invocation_is_identified_by_its_request_id() -> None:
    parsed = direct.parse({"instance_id": ORDERS}, CTX)
    (order,) = parsed.orders
    assert parsed.trigger is Trigger.DIRECT and order.trigger is Trigger.DIRECT
    assert (order.identity, order.correlation_id, order.event_time) == ("direct:req-1", "req-1", None)
    assert order.scope == "direct"


def test_a_direct_invocation_with_a_key_is_identified_by_the_key_whenever_it_comes() -> None:
    (order,) = direct.parse({"instance_id": ORDERS, "idempotency_key": "deploy-4711"}, CTX).orders
    assert (order.identity, order.correlation_id, order.event_time) == (
        "key:direct:deploy-4711",
        "deploy-4711",
        None,
    )


def test_a_direct_invocation_that_is_no_request_is_rejected() -> None:
    (order,) = direct.parse({"instance": ORDERS}, CTX).orders
    code, message = rejection(order)
    assert code == "INVALID_REQUEST"
    assert message.startswith("the event is not a valid backup request: ")
    assert (order.identity, order.correlation_id) == ("direct:req-1", "req-1")


def test_no_default_request_says_both_ways_out() -> None:
    (order,) = timer.parse(timer_event(user_event="nightly"), CTX).orders
    assert rejection(order)[1] == (
        "the timer's user_event holds no JSON request and DEFAULT_REQUEST is not configured: put a request such as "
        '{"instance_id": "..."} in user_event, or set DEFAULT_REQUEST'
    )


def test_a_malformed_timer_event_without_a_time_is_identified_without_any_time() -> None:
    (order,) = timer.parse({"trigger_type": "TIMER", "trigger_name": 5}, CTX).orders
    assert rejection(order)[0] == "INVALID_EVENT"
    assert (order.identity, order.event_time) == ("timer:timer:None", None)
