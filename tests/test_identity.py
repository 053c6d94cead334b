"""Identity and ownership end to end, through the handler and the emulator: a redelivery is the same backup
whenever it comes (identity from the event, never the clock), a backup is ours only when it carries our mark,
names the template could render are the tool's, and idempotency keys are scoped to their source and bound to
their request."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine

from dds_backup_dev.emulator import EmulatorServer
from lib.config import DEFAULT_NAME_TEMPLATE
from lib.planning import naming
from tests.conftest import ORDERS, PLATFORM_EVENTS, Invoke, load_json, only_result, user_text
from tests.test_routes import SECRET, body_of, dds_calls, post_backups

REQUEST = json.dumps({"instance_id": ORDERS, "description": "from the queue"})
ABSENT = object()


@pytest.fixture
def webhooks(configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    configured.state.backup_delay = 0  # each backup completes at once: the instance is free for the next
    return configured


def kafka(event_time: Any = ABSENT, sample: str = "dms4kafka_event.json") -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load_json(PLATFORM_EVENTS / sample))
    event["records"][0]["messages"] = [REQUEST]
    if event_time is ABSENT:
        del event["event_time"]
    else:
        event["event_time"] = event_time
    return event


def smn_without_timestamp() -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load_json(PLATFORM_EVENTS / "smn_event.json"))
    record = event["record"][0]["smn"]
    record.pop("timestamp", None)
    record["message"] = REQUEST
    return event


def later(delta: timedelta) -> time_machine.travel:
    return time_machine.travel(datetime.now(timezone.utc) + delta, tick=True)


# -- 1 and 2: identity from the event, never from the clock; every documented event_time is read ----------


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(kafka(), id="kafka-without-event-time"),
        pytest.param(kafka(1795762800000), id="kafka-epoch-milliseconds"),
        pytest.param(kafka("2026-11-27T07:00:00Z"), id="kafka-rfc3339-string"),
        pytest.param(kafka("1795762800"), id="kafka-numeric-string"),
        pytest.param(kafka("not a time"), id="kafka-unreadable-time"),
        pytest.param(kafka(sample="rocketmq_event.json"), id="rocketmq-without-event-time"),
        pytest.param(smn_without_timestamp(), id="smn-without-timestamp"),
    ],
)
@pytest.mark.parametrize("delay", [timedelta(seconds=5), timedelta(days=1)], ids=["seconds-later", "a-day-later"])
def test_a_redelivery_at_any_later_moment_is_the_same_backup(
    webhooks: EmulatorServer, invoke: Invoke, event: dict[str, Any], delay: timedelta
) -> None:
    # GIVEN a delivery that made a backup (a string or millisecond time is read, never a reason to reject)
    first = only_result(invoke(event))
    assert first["outcome"] == "created", first
    # WHEN the same event comes again later
    with later(delay):
        again = only_result(invoke(event))
    # THEN it is the same backup, and the answer names it
    assert again["outcome"] == "exists"
    assert (again["name"], again["backup_id"]) == (first["name"], first["backup_id"])
    assert len(webhooks.state.backups) == 1


def test_a_batch_with_a_string_event_time_backs_up_every_message(webhooks: EmulatorServer, invoke: Invoke) -> None:
    event = kafka("2026-11-27T07:00:00Z")
    event["records"][0]["messages"] = [REQUEST, json.dumps({"instance_id": ORDERS, "description": "second"})]
    webhooks.state.backup_delay = 0
    result = invoke(event)
    assert [r["data"]["outcome"] for r in result["results"]].count("created") >= 1
    assert {r["data"]["error"]["code"] for r in result["results"] if r["data"]["error"]} <= {"INSTANCE_NOT_READY"}
    # named with the event's time, not the clock's
    assert all("20261127T070000" in r["data"]["name"] for r in result["results"])


# -- 3: a backup under our name that we did not make is never ours ---------------------------------------------


def timer_event() -> dict[str, Any]:
    return {
        "trigger_type": "TIMER",
        "trigger_name": "nightly",
        "time": "2026-12-01T01:00:00Z",
        "user_event": json.dumps({"instance_id": ORDERS}),
    }


def our_name_for(event: dict[str, Any]) -> str:
    return naming.render(
        DEFAULT_NAME_TEMPLATE,
        instance_id=ORDERS,
        instance_name="orders-prod",
        trigger="timer",
        event_time=datetime(2026, 12, 1, 1, tzinfo=timezone.utc),
        identity=f"timer:nightly:{datetime(2026, 12, 1, 1, tzinfo=timezone.utc).isoformat()}",
    )


def test_an_unmarked_backup_under_our_own_name_is_name_taken_and_left_untouched(
    webhooks: EmulatorServer, invoke: Invoke
) -> None:
    # GIVEN a backup made by hand under exactly the name the next timer run will give (its instance busy with it)
    name = our_name_for(timer_event())
    squatter = webhooks.state.seed_backup(ORDERS, name, description="made by hand")
    # WHEN the timer fires
    result = invoke(timer_event())
    data = only_result(result)
    # THEN it is not "exists": NAME_TAKEN, failed, not retryable (no platform retry, no hand-off loop)
    assert (data["outcome"], data["error"]["code"], data["error"]["retryable"]) == ("failed", "NAME_TAKEN", False)
    assert name in data["error"]["message"] and "did not make" in data["error"]["message"]
    assert result["_raised"] is False
    assert webhooks.state.backups == {squatter.id: squatter}
    assert squatter.description == "made by hand"


def test_our_own_marked_backup_is_exists(webhooks: EmulatorServer, invoke: Invoke) -> None:
    made = only_result(invoke(timer_event()))
    again = only_result(invoke(timer_event()))
    assert (made["outcome"], again["outcome"], again["backup_id"]) == ("created", "exists", made["backup_id"])
    (backup,) = webhooks.state.backups.values()
    assert user_text(backup) == ""


def test_name_taken_answers_409_on_the_webhook(webhooks: EmulatorServer, invoke: Invoke) -> None:
    webhooks.state.seed_backup(ORDERS, "release-42", description="by hand")
    answer = invoke(post_backups({"instance_id": ORDERS, "name": "release-42"}))
    assert answer["statusCode"] == 409
    assert body_of(answer)["error"]["code"] == "NAME_TAKEN"


# -- 5: names the template could render belong to the tool -------------------------------------------------------


def test_an_explicit_name_of_the_templates_shape_is_reserved(webhooks: EmulatorServer, invoke: Invoke) -> None:
    reserved = our_name_for(timer_event())
    # WHEN a webhook caller asks for the name the coming timer run will need
    answer = invoke(post_backups({"instance_id": ORDERS, "name": reserved}))
    # THEN 400 NAME_RESERVED, nothing is asked of DDS
    assert answer["statusCode"] == 400
    error = body_of(answer)["error"]
    assert (error["code"], error["retryable"]) == ("NAME_RESERVED", False)
    assert "leave name out" in error["message"]
    assert dds_calls(webhooks) == []
    # AND a direct invocation is rejected the same way
    data = only_result(invoke({"instance_id": ORDERS, "name": reserved}))
    assert (data["outcome"], data["error"]["code"]) == ("rejected", "NAME_RESERVED")
    # AND when the timer comes, its backup is made
    assert only_result(invoke(timer_event()))["outcome"] == "created"


def test_other_explicit_names_work_as_before(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(post_backups({"instance_id": ORDERS, "name": "before-upgrade-2026"}))
    assert answer["statusCode"] in (200, 202)
    again = invoke(post_backups({"instance_id": ORDERS, "name": "before-upgrade-2026"}))
    assert (again["statusCode"], body_of(again)["outcome"]) == (200, "exists")


# -- 6: idempotency keys scoped to their source and bound to their request -----------------------------------


def test_the_same_key_with_another_request_is_refused_and_with_the_same_is_exists(
    webhooks: EmulatorServer, invoke: Invoke
) -> None:
    first = invoke(post_backups({"instance_id": ORDERS, "idempotency_key": "deploy-7", "description": "a"}))
    assert first["statusCode"] in (200, 202)
    backup_id = body_of(first)["backup_id"]
    # WHEN the key comes again with another description THEN 422 IDEMPOTENCY_KEY_REUSED, nothing made
    reused = invoke(post_backups({"instance_id": ORDERS, "idempotency_key": "deploy-7", "description": "b"}))
    assert reused["statusCode"] == 422
    error = body_of(reused)["error"]
    assert (error["code"], error["retryable"]) == ("IDEMPOTENCY_KEY_REUSED", False)
    # AND with the same request THEN exists, the same backup
    same = invoke(post_backups({"instance_id": ORDERS, "idempotency_key": "deploy-7", "description": "a"}))
    assert (same["statusCode"], body_of(same)["outcome"], body_of(same)["backup_id"]) == (200, "exists", backup_id)
    assert list(webhooks.state.backups) == [backup_id]


def test_the_same_key_from_two_sources_is_two_backups(webhooks: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN one key sent by a CI pipeline through the webhook and by a Kafka producer
    ci = body_of(invoke(post_backups({"instance_id": ORDERS, "idempotency_key": "release-9"})))
    event = kafka(1795762800)
    event["records"][0]["messages"] = [json.dumps({"instance_id": ORDERS, "idempotency_key": "release-9"})]
    queued = only_result(invoke(event))
    # THEN each source has its own backup
    assert (ci["outcome"], queued["outcome"]) in {("created", "created"), ("completed", "created")}
    assert ci["name"] != queued["name"]
    assert len(webhooks.state.backups) == 2


def test_a_name_with_a_key_is_refused(webhooks: EmulatorServer, invoke: Invoke) -> None:
    answer = invoke(post_backups({"instance_id": ORDERS, "idempotency_key": "k", "name": "release-10"}))
    assert answer["statusCode"] == 400
    assert "give name or idempotency_key, not both" in body_of(answer)["error"]["message"]
    assert dds_calls(webhooks) == []
