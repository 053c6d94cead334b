"""Fleet operations: retention of our own backups, result publishing to SMN, fan-out through SMN."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import pytest

import handler
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, EmulatorState, Fault
from dds_backup_dev.emulator.state import EmuBackup
from lib.cloud.errors import ApiError
from lib.config import load_settings
from lib.runtime import Invocation
from lib.service.clients import open_clients
from tests.conftest import CATALOG, ORDERS, Invoke, parse_cloudevent

PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
RESULTS_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-results"
FANOUT_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"
DAY = 86400.0


def seed(state: EmulatorState, instance_id: str, name: str, age_days: float, **kw: Any) -> EmuBackup:
    backup = EmuBackup(
        id=f"{name}-id",
        name=name,
        instance_id=instance_id,
        instance_name="orders-prod",
        description="",
        created=time.time() - age_days * DAY,
        **kw,
    )
    state.backups[backup.id] = backup
    return backup


@pytest.fixture
def mixed(configured: EmulatorServer) -> EmulatorServer:
    """GIVEN orders-prod with backups of ours of mixed ages, one of ours that FAILED, one made by hand and one
    made by the automatic policy; and a backup of ours on another instance."""
    s = configured.state
    s.backup_delay = 1.0
    seed(s, ORDERS, "ddsb-orders-prod-20261125T000000-dddddddd", 2)
    seed(s, ORDERS, "ddsb-orders-prod-20261122T000000-eeeeeeee", 5, fails=True)
    seed(s, ORDERS, "ddsb-orders-prod-20261117T000000-bbbbbbbb", 10)
    seed(s, ORDERS, "ddsb-orders-prod-20261101T000000-aaaaaaaa", 26)
    seed(s, ORDERS, "ddsb-orders-prod-20261018T000000-cccccccc", 40)
    seed(s, ORDERS, "before-the-upgrade", 100)  # by hand
    seed(s, ORDERS, "orders-prod-auto-20260927", 60, type="Auto")  # by the automatic policy
    seed(s, CATALOG, "ddsb-catalog-staging-20261001T000000-ffffffff", 57)  # another instance
    return configured


def pruned(result: dict[str, Any]) -> list[str]:
    return sorted(r["data"]["name"] for r in result["results"] if r["data"]["outcome"] == "pruned")


def test_retention_deletes_only_our_backups_beyond_the_policy(mixed: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"instance_id": ORDERS, "retention": {"keep_last": 2, "max_age_days": 30}})
    assert result["ok"] is True
    outcomes = Counter(r["data"]["outcome"] for r in result["results"])
    assert outcomes == {"created": 1, "pruned": 2}
    # The two COMPLETED of ours beyond the newest two; the FAILED one is young; others are never ours.
    assert pruned(result) == ["ddsb-orders-prod-20261018T000000-cccccccc", "ddsb-orders-prod-20261101T000000-aaaaaaaa"]
    left = sorted(b.name for b in mixed.state.backups.values())
    assert "before-the-upgrade" in left and "orders-prod-auto-20260927" in left
    assert "ddsb-catalog-staging-20261001T000000-ffffffff" in left
    assert "ddsb-orders-prod-20261122T000000-eeeeeeee" in left
    assert len(left) == 9 - 2
    for r in result["results"]:
        parse_cloudevent(r)
    assert result["summary"]["pruned"] == 2


def test_retention_dry_run_lists_what_would_go_and_deletes_nothing(mixed: EmulatorServer, invoke: Invoke) -> None:
    before = set(mixed.state.backups)
    result = invoke({"instance_id": ORDERS, "dry_run": True, "retention": {"keep_last": 2, "max_age_days": 30}})
    assert pruned(result) == ["ddsb-orders-prod-20261018T000000-cccccccc", "ddsb-orders-prod-20261101T000000-aaaaaaaa"]
    assert all(r["data"]["dry_run"] for r in result["results"])
    assert set(mixed.state.backups) == before
    assert not [r for r in mixed.state.requests if r.method == "DELETE"]


def test_max_age_alone_and_the_backup_just_made_is_never_deleted(mixed: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"instance_id": ORDERS, "retention": {"max_age_days": 7}})
    made = next(r["data"] for r in result["results"] if r["data"]["outcome"] == "created")
    assert pruned(result) == [
        "ddsb-orders-prod-20261018T000000-cccccccc",
        "ddsb-orders-prod-20261101T000000-aaaaaaaa",
        "ddsb-orders-prod-20261117T000000-bbbbbbbb",
    ]
    assert made["backup_id"] in mixed.state.backups


def test_the_instances_last_completed_backup_survives_any_policy(configured: EmulatorServer, invoke: Invoke) -> None:
    s = configured.state
    s.backup_delay = 60  # the new backup stays BUILDING
    seed(s, ORDERS, "ddsb-orders-prod-20260101T000000-00000000", 300)
    seed(s, ORDERS, "ddsb-orders-prod-20250101T000000-11111111", 600)
    result = invoke({"instance_id": ORDERS, "retention": {"keep_last": 1, "max_age_days": 1}})
    # Only the older one goes: the newer is the instance's last COMPLETED backup while the new one builds.
    assert pruned(result) == ["ddsb-orders-prod-20250101T000000-11111111"]


@pytest.mark.parametrize(
    ("code", "applied", "outcome", "retryable"),
    [
        # DBS.201204 is documented both as "does not exist" and "cannot be executed now": the list decides.
        ("DBS.201204", True, "pruned", None),  # refused, but the backup went (DISABLED, then gone): goal met
        ("DBS.201204", False, "failed", True),  # refused and still there: a prune to retry
        ("DBS.201214", True, "pruned", None),
        ("DBS.201319", False, "failed", True),  # a restore is using the backup
    ],
)
def test_a_refused_delete_is_judged_by_whether_the_backup_is_still_there(
    configured: EmulatorServer, invoke: Invoke, code: str, applied: bool, outcome: str, retryable: bool | None
) -> None:
    old = seed(configured.state, ORDERS, "ddsb-orders-prod-20250101T000000-22222222", 400)
    seed(configured.state, ORDERS, "ddsb-orders-prod-20261127T000000-33333333", 2)
    fault = Fault("DELETE", r"/backups/", 400, code, "refused", kind="applied" if applied else "error")
    configured.state.faults.append(fault)
    result = invoke({"instance_id": ORDERS, "retention": {"max_age_days": 30}})
    (prune,) = [r["data"] for r in result["results"] if r["data"]["backup_id"] == old.id]
    assert prune["outcome"] == outcome
    if outcome == "failed":
        assert (prune["error"]["code"], prune["error"]["retryable"]) == (code, retryable)
        assert result["_raised"] is True
    if code == "DBS.201204" and outcome == "failed":
        assert "still there" in prune["error"]["message"]


def test_default_retention_from_the_configuration(
    mixed: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_RETENTION", '{"keep_last": 3}')
    result = invoke({"instance_id": ORDERS})
    assert pruned(result) == ["ddsb-orders-prod-20261018T000000-cccccccc"]


def test_retention_refuses_a_template_without_a_recognisable_prefix(
    mixed: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUP_NAME_TEMPLATE", "b{hash}")
    result = invoke({"instance_id": ORDERS, "retention": {"keep_last": 1}})
    codes = [r["data"]["error"]["code"] for r in result["results"] if r["data"]["error"]]
    assert codes == ["RETENTION_UNSAFE"]
    assert not [r for r in mixed.state.requests if r.method == "DELETE"]


@pytest.mark.parametrize(
    ("retention", "fragment"),
    [
        ({"keep_last": 0}, "would delete every backup"),
        ({"keep_last": -3}, "would delete every backup"),
        ({"max_age_days": 0}, "would delete backups of today"),
        ({"keep_last": 100000}, "less than or equal to 1000"),
        ({}, "needs keep_last, max_age_days or both"),
        ({"keep": 3}, "unknown field"),
    ],
)
def test_bad_retention_is_rejected_before_anything_happens(
    mixed: EmulatorServer, invoke: Invoke, retention: dict[str, Any], fragment: str
) -> None:
    before = set(mixed.state.backups)
    data = invoke({"instance_id": ORDERS, "retention": retention})["results"][0]["data"]
    assert data["outcome"] == "rejected"
    assert fragment in data["error"]["message"]
    assert set(mixed.state.backups) == before
    assert mixed.state.requests == []


# -- publishing -----------------------------------------------------------------------------------------------


def test_every_result_event_is_published_to_the_result_topic(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULT_TOPIC_URN", RESULTS_TOPIC)
    result = invoke({"instance_ids": [ORDERS, "doesnotexist0000in02"]})
    assert result["publish"] == {"topic_urn": RESULTS_TOPIC, "published": 2, "failed": 0}
    messages = {json.loads(m.message)["id"]: m for m in configured.state.published}
    for r in result["results"]:
        message = messages[r["id"]]
        assert message.topic_urn == RESULTS_TOPIC
        assert json.loads(message.message) == r
        parse_cloudevent(json.loads(message.message))
    subjects = sorted(m.subject for m in configured.state.published)
    assert subjects == ["dds-backup created orders-prod", "dds-backup rejected doesnotexist0000in02"]
    # Signed like every other call.
    publishes = [r for r in configured.state.requests if r.path.endswith("/publish")]
    assert all(r.status == 200 for r in publishes) and len(publishes) == 2


def test_a_failing_topic_never_turns_a_backup_into_a_failure(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULT_TOPIC_URN", RESULTS_TOPIC)
    configured.state.faults.append(Fault("POST", r"/publish$", 500, "SMN.00010001", count=100))
    result = invoke({"instance_id": ORDERS})
    assert result["ok"] is True and result["_raised"] is False
    assert result["results"][0]["data"]["outcome"] == "created"
    assert result["publish"]["failed"] == 1 and result["publish"]["errors"] == ["SMN.00010001"]


async def test_the_topic_query_answers_the_topic_or_404(
    configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULT_TOPIC_URN", RESULTS_TOPIC)
    settings = load_settings(os.environ.get)
    invocation = Invocation.from_context(LocalContext(timeout_s=30), time.monotonic())
    async with open_clients(settings, invocation, invocation.deadline) as clients:
        assert clients.smn is not None
        topic = await clients.smn.get_topic(RESULTS_TOPIC)
        with pytest.raises(ApiError) as missing:
            await clients.smn.get_topic(f"urn:smn:eu-de:{PROJECT}:never-created")
    assert (topic.topic_urn, topic.name) == (RESULTS_TOPIC, "dds-backup-results")
    assert (missing.value.code, missing.value.http_status) == ("SMN.0006", 404)
    assert all(r.method == "GET" for r in configured.state.requests if "/notifications/" in r.path)


def test_a_topic_that_does_not_exist_is_a_publish_failure_not_a_backup_failure(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULT_TOPIC_URN", f"urn:smn:eu-de:{PROJECT}:deleted-topic")
    result = invoke({"instance_id": ORDERS})
    assert result["ok"] is True and result["results"][0]["data"]["outcome"] == "created"
    assert result["publish"]["failed"] == 1 and result["publish"]["errors"] == ["SMN.0006"]
    assert configured.state.published == []


@pytest.mark.parametrize("variable", ["RESULT_TOPIC_URN", "FANOUT_TOPIC_URN"])
@pytest.mark.parametrize("urn", ["dds-backup-results", "urn:smn:eu-de:notaproject:topic", "urn:smn:eu-de:" + PROJECT])
def test_a_topic_urn_of_the_wrong_shape_is_a_configuration_error(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, variable: str, urn: str
) -> None:
    monkeypatch.setenv(variable, urn)
    data = invoke({"instance_id": ORDERS})["results"][0]["data"]
    assert data["error"]["code"] == "INVALID_CONFIG"
    assert variable in data["error"]["message"]
    assert configured.state.requests == []


# -- fan-out --------------------------------------------------------------------------------------------------


def test_a_300_instance_selector_fans_out_through_smn_one_backup_each(
    monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    state = EmulatorState.with_fixture(backup_delay=0.0)
    template = state.instances[CATALOG]
    for i in range(300):
        inst = dict(template, id=f"{i:032x}in02", name=f"fleet-{i:03d}", tags=[{"key": "fleet", "value": "big"}])
        state.instances[inst["id"]] = inst

    def platform(event: dict[str, Any]) -> None:
        """FunctionGraph's SMN trigger: invoke, and retry up to 3 times when asked to."""
        for _ in range(4):
            try:
                handler.handler(event, LocalContext(timeout_s=60))
                return
            except handler.RetryRequested:
                continue

    state.forward = platform
    state.forward_topics = {FANOUT_TOPIC}
    with EmulatorServer(state) as emulator:
        for key, value in emulator.env("aksk").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("LOG_LEVEL", "WARNING")
        monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0.01")
        monkeypatch.setenv("RESULT_TOPIC_URN", RESULTS_TOPIC)
        monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
        monkeypatch.setenv("FANOUT_THRESHOLD", "50")
        timer = {
            "version": "v1.0",
            "time": "2026-11-27T02:00:00+01:00",
            "trigger_type": "TIMER",
            "trigger_name": "fleet-nightly",
            "user_event": json.dumps({"selector": {"tags": {"fleet": "big"}}}),
        }
        first = invoke(timer)
        assert first["summary"]["fanned_out"] == 300 and first["ok"] is True
        deadline = time.monotonic() + 90
        while (state.forwarding or len(state.backups) < 300) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state.forwarding == 0

        # Exactly one backup per instance...
        assert Counter(b.instance_id for b in state.backups.values()) == {f"{i:032x}in02": 1 for i in range(300)}
        # ...named exactly as if it had been made inline by the timer event.
        monkeypatch.delenv("FANOUT_TOPIC_URN")
        monkeypatch.delenv("RESULT_TOPIC_URN")
        inline = invoke({**timer, "user_event": json.dumps({"selector": {"tags": {"fleet": "big"}}, "dry_run": True})})
        assert {r["data"]["name"] for r in inline["results"]} == {b.name for b in state.backups.values()}
        # And a result event for each instance on the result topic.
        results = [json.loads(m.message) for m in state.published if m.topic_urn == RESULTS_TOPIC]
        created = {r["subject"] for r in results if r["type"] == "dds-backup.backup.created"}
        assert created == {f"{i:032x}in02" for i in range(300)}
        fanned = [m for m in state.published if m.topic_urn == FANOUT_TOPIC]
        assert len(fanned) == 300
        assert all(r["data"]["trigger"] == "timer" for r in results)  # the origin's trigger is kept
