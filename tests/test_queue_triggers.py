"""SMN, DMS for Kafka, open-source Kafka and DMS for RocketMQ: batches, per-record outcomes, exactly once."""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from tests.conftest import BILLING, CATALOG, ORDERS, PLATFORM_EVENTS, ROOT, Invoke, load_json, user_text

QUEUE_SAMPLES = ["dms4kafka_event.json", "kafkaopensource_event.json", "rocketmq_event.json"]
SMN_SAMPLES = ["smn_event.json", "smnevent.json"]


def with_messages(sample: str, *requests: Any) -> dict[str, Any]:
    """The platform's own envelope, carrying our requests instead of its plain-text messages."""
    event: dict[str, Any] = copy.deepcopy(load_json(PLATFORM_EVENTS / sample))
    texts = [r if isinstance(r, str) else json.dumps(r) for r in requests]
    if "record" in event:
        event["record"] = [copy.deepcopy(event["record"][0]) for _ in texts]
        for i, (record, text) in enumerate(zip(event["record"], texts, strict=True)):
            record["smn"]["message"] = text
            record["smn"]["message_id"] = f"msg-{i}"
    else:
        event["records"][0]["messages"] = texts
    return event


def outcomes(result: dict[str, Any]) -> Counter[str]:
    return Counter(r["data"]["outcome"] for r in result["results"])


@pytest.mark.parametrize("sample", QUEUE_SAMPLES + SMN_SAMPLES)
def test_platform_samples_as_given_are_rejected_message_by_message(
    configured: EmulatorServer, invoke: Invoke, sample: str
) -> None:
    event = load_json(PLATFORM_EVENTS / sample)
    result = invoke(event)
    expected = len(event["record"]) if "record" in event else len(event["records"][0]["messages"])
    assert outcomes(result) == {"rejected": expected}
    for r in result["results"]:
        assert r["data"]["error"]["code"] == "INVALID_JSON"
        assert "not valid JSON" in r["data"]["error"]["message"]
    assert result["_raised"] is False
    assert configured.state.requests == []


@pytest.mark.parametrize("sample", [*QUEUE_SAMPLES, "smn_event.json"])
def test_the_same_envelopes_with_requests_create_backups(
    configured: EmulatorServer, invoke: Invoke, sample: str
) -> None:
    result = invoke(with_messages(sample, {"instance_id": ORDERS}, {"instance_ids": [BILLING, CATALOG]}))
    assert outcomes(result) == {"created": 3}
    assert sorted(b.instance_id for b in configured.state.backups.values()) == sorted([ORDERS, BILLING, CATALOG])
    trigger = {"rocketmq_event.json": "rocketmq", "smn_event.json": "smn"}.get(sample, "kafka")
    assert {r["data"]["trigger"] for r in result["results"]} == {trigger}


def test_smn_redelivery_inside_one_event_makes_one_backup(configured: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN the platform sample with two records of the same message_id, each now a valid request
    event = load_json(PLATFORM_EVENTS / "smnevent.json")
    for record in event["record"]:
        record["smn"]["message"] = json.dumps({"instance_id": ORDERS})
    result = invoke(event)
    assert outcomes(result) == {"created": 1, "exists": 1}
    assert len(configured.state.backups) == 1
    created, exists = sorted(result["results"], key=lambda r: r["data"]["outcome"])
    assert created["data"]["backup_id"] == exists["data"]["backup_id"]


def test_bad_records_are_rejected_and_the_rest_of_the_batch_proceeds(
    configured: EmulatorServer, invoke: Invoke
) -> None:
    event = with_messages(
        "dms4kafka_event.json",
        {"instance_id": ORDERS},
        "not json at all",
        {"instance": ORDERS},  # JSON, but not a request
        {"instance_id": "doesnotexist0000in02"},
        "{" + " " * (256 * 1024) + "}",  # over the async event size limit
        {"instance_id": BILLING},
    )
    event["records"][0]["messages"].append(17)  # not even a string
    result = invoke(event)
    codes = sorted(r["data"]["error"]["code"] for r in result["results"] if r["data"]["error"])
    assert codes == sorted(
        ["INVALID_JSON", "INVALID_REQUEST", "INSTANCE_NOT_FOUND", "MESSAGE_TOO_LARGE", "INVALID_REQUEST"]
    )
    assert outcomes(result)["created"] == 2
    assert result["ok"] is False and result["_raised"] is False


@pytest.mark.parametrize("sample", ["smn_event.json", "dms4kafka_event.json"])
@pytest.mark.parametrize(
    ("hostile", "code"),
    [
        ("[" * 5000 + "]" * 5000, "JSON_TOO_DEEP"),
        ('{"instance_id": "' + ORDERS + '", "instance_id": "' + BILLING + '"}', "DUPLICATE_KEY"),
    ],
)
def test_a_hostile_record_is_rejected_alone_and_the_valid_one_beside_it_is_backed_up(
    configured: EmulatorServer, invoke: Invoke, sample: str, hostile: str, code: str
) -> None:
    result = invoke(with_messages(sample, hostile, {"instance_id": CATALOG}))
    assert outcomes(result) == {"rejected": 1, "created": 1}
    (bad,) = [r["data"] for r in result["results"] if r["data"]["outcome"] == "rejected"]
    assert (bad["error"]["code"], bad["error"]["retryable"]) == (code, False)
    assert [b.instance_id for b in configured.state.backups.values()] == [CATALOG]
    assert result["_raised"] is False


@pytest.mark.parametrize("sample", [*QUEUE_SAMPLES, "smn_event.json"])
def test_replaying_an_event_leaves_one_backup_per_instance(
    configured: EmulatorServer, invoke: Invoke, sample: str
) -> None:
    event = with_messages(sample, {"instance_ids": [ORDERS, BILLING]}, {"instance_id": CATALOG})
    first = invoke(event)
    second = invoke(event)
    assert outcomes(first) == {"created": 3}
    assert outcomes(second) == {"exists": 3}
    assert Counter(b.instance_id for b in configured.state.backups.values()) == {ORDERS: 1, BILLING: 1, CATALOG: 1}


@pytest.mark.parametrize("sample", ["dms4kafka_event.json", "smn_event.json"])
def test_two_concurrent_invocations_of_one_event_make_one_backup_per_instance(
    configured: EmulatorServer, invoke: Invoke, sample: str
) -> None:
    configured.state.latency = 0.02  # let the two invocations interleave
    event = with_messages(sample, {"instance_ids": [ORDERS, BILLING, CATALOG]})
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(invoke(event))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2
    assert Counter(b.instance_id for b in configured.state.backups.values()) == {ORDERS: 1, BILLING: 1, CATALOG: 1}
    total = outcomes(results[0]) + outcomes(results[1])
    assert total["created"] == 3
    assert total["created"] + total["exists"] + total["failed"] == 6
    # A loser that found the winner's backup still running says so, retryably, or reports it as existing.
    for r in results[0]["results"] + results[1]["results"]:
        assert r["data"]["outcome"] in ("created", "exists") or r["data"]["error"]["retryable"] is True


def test_a_retryable_failure_in_a_batch_asks_for_a_retry_and_the_replay_completes_it(
    configured: EmulatorServer, invoke: Invoke
) -> None:
    event = with_messages("rocketmq_event.json", {"instance_id": ORDERS}, {"instance_id": BILLING})
    configured.state.faults.append(Fault("POST", r"/backups$", 503, "DBS.280005", count=4, body_contains=ORDERS))
    first = invoke(event)
    assert outcomes(first) == {"created": 1, "failed": 1}
    assert first["_raised"] is True
    configured.state.backup_delay = 0
    second = invoke(event)  # the platform's retry of the same event
    assert outcomes(second) == {"created": 1, "exists": 1}
    assert second["_raised"] is False
    assert len(configured.state.backups) == 2


@pytest.mark.parametrize("name", ["smn.json", "kafka.json", "rocketmq.json"])
def test_project_sample_events_succeed(configured: EmulatorServer, invoke: Invoke, name: str) -> None:
    result = invoke(load_json(ROOT / "events" / name))
    assert result["ok"] is True
    assert result["results"]


@pytest.mark.parametrize("sample", [*QUEUE_SAMPLES, "smn_event.json"])
def test_two_different_messages_for_one_instance_in_one_batch_are_two_backups(
    configured: EmulatorServer, invoke: Invoke, sample: str
) -> None:
    # GIVEN one batch with two different requests for the same instance
    configured.state.backup_delay = 0
    event = with_messages(
        sample,
        {"instance_id": ORDERS, "description": "before the deployment"},
        {"instance_id": ORDERS, "description": "after the migration"},
    )
    # WHEN it is delivered (and retried, if the instance was busy with the other one)
    first = invoke(event)
    if first["_raised"]:
        invoke(event)
    # THEN each request has a backup of its own, under its own name
    backups = [b for b in configured.state.backups.values() if b.instance_id == ORDERS]
    assert sorted(user_text(b) for b in backups) == ["after the migration", "before the deployment"]
    assert len({b.name for b in backups}) == 2
    # AND a redelivery of the batch finds both: no third backup
    again = invoke(event)
    assert outcomes(again) == {"exists": 2}
    assert len(configured.state.backups) == 2
