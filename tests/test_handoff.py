"""Retrying through SMN where the platform may not retry (lib/delivery.py, lib/runner/handoff.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.emulator.state import Published
from lib.delivery import HUAWEICLOUD, OTC, TABLE, Retry, retry_of
from lib.models import Trigger
from lib.runner import handoff
from tests.conftest import NIGHTLY_TIMER, ORDERS, Invoke, only_result

PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
FANOUT_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"
TIMER = NIGHTLY_TIMER


def test_every_trigger_has_a_documented_cell_for_each_cloud() -> None:
    for trigger in Trigger:
        for cloud in (OTC, HUAWEICLOUD):
            assert TABLE[(trigger, cloud)].source, (trigger, cloud)
    assert retry_of(Trigger.SMN, OTC) is Retry.PLATFORM
    assert retry_of(Trigger.APIG, HUAWEICLOUD) is Retry.CALLER
    assert retry_of(Trigger.TIMER, None) is Retry.UNCERTAIN


@pytest.fixture
def busy(configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """GIVEN orders-prod busy with a backup somebody else started, and no waiting between hand-offs."""
    configured.state.backup_delay = 3600
    configured.state.add_backup(ORDERS, "made-by-hand", "")
    monkeypatch.setattr(handoff, "DELAYS_S", (0.0, 0.0, 0.0))
    return configured


def handed_on(emulator: EmulatorServer) -> list[Published]:
    return [m for m in emulator.state.published if m.topic_urn == FANOUT_TOPIC]


def deliver(emulator: EmulatorServer, message: Published, invoke: Invoke) -> dict[str, Any]:
    """What FunctionGraph's SMN trigger on the fan-out topic does with a published message."""
    return invoke(emulator.state.smn_event(message))


def test_a_timer_failure_is_handed_on_and_ends_in_exactly_one_backup(
    busy: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    first = invoke(TIMER)
    data = only_result(first)
    # THEN no raise is relied on: the failure is handed on through SMN
    assert (data["outcome"], data["error"]["code"]) == ("handed_off", "INSTANCE_NOT_READY")
    assert "retry 1 of 3" in data["error"]["message"]
    assert first["_raised"] is False
    (message,) = handed_on(busy)
    assert json.loads(message.message)["origin"]["handoffs"] == 1
    # WHEN the instance is free by the time the hand-off arrives
    busy.state.backup_delay = 0
    again = only_result(deliver(busy, message, invoke))
    assert again["outcome"] == "created"
    assert again["trigger"] == "timer"  # the original event's identity, so the original name
    monkeypatch.delenv("FANOUT_TOPIC_URN")
    inline = only_result(invoke({**TIMER, "user_event": json.dumps({"instance_id": ORDERS, "dry_run": True})}))
    assert again["name"] == inline["name"]
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    # AND a second delivery of the same hand-off makes no second backup
    assert only_result(deliver(busy, message, invoke))["outcome"] == "exists"
    assert [b.name for b in busy.state.backups.values()].count(again["name"]) == 1


def test_hand_offs_stop_after_three_with_the_reason(
    busy: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    result = invoke(TIMER)
    for attempt in range(1, 4):
        (message,) = handed_on(busy)[attempt - 1 :]
        result = deliver(busy, message, invoke)
        data = only_result(result)
        if attempt < 3:
            assert data["outcome"] == "handed_off"
    # THEN what is left ends failed, with its cause, and still retryable: the platform's retry may take over
    assert (data["outcome"], data["error"]["code"], data["error"]["retryable"]) == (
        "failed",
        "INSTANCE_NOT_READY",
        True,
    )
    assert "gave up after 3 more attempts through SMN" in data["error"]["message"]
    assert result["_raised"] is True
    assert len(handed_on(busy)) == 3


def test_without_a_topic_the_result_says_no_retry_is_certain(busy: EmulatorServer, invoke: Invoke) -> None:
    result = invoke(TIMER)
    data = only_result(result)
    assert (data["outcome"], data["error"]["retryable"]) == ("failed", True)
    assert "a retry is not guaranteed" in data["error"]["message"]
    assert result["_raised"] is True  # in case the platform does retry timers
    assert handed_on(busy) == []


def test_smn_requests_rely_on_the_platforms_retry(
    busy: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    event = {"record": [{"smn": {"message_id": "m-1", "message": json.dumps({"instance_id": ORDERS})}}]}
    result = invoke(event)
    assert only_result(result)["outcome"] == "failed"
    assert result["_raised"] is True
    assert handed_on(busy) == []
