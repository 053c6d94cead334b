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
from lib.planning import ownership
from lib.runtime import Invocation
from lib.service.clients import open_clients
from tests.conftest import CATALOG, ORDERS, Invoke, marked, parse_cloudevent
from tests.test_routes import SECRET, post_backups

PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
RESULTS_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-results"
FANOUT_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"
DAY = 86400.0


def seed(
    state: EmulatorState, instance_id: str, name: str, age_days: float, scope: str | None = "direct", **kw: Any
) -> EmuBackup:
    """A backup ``age_days`` old, made by this tool for ``scope`` (direct invocations, as ``invoke`` sends them),
    or by hand (``scope=None``: no mark)."""
    description = marked(name, instance_id, scope, ownership.Maker.DIRECT) if scope is not None else "by hand"
    return state.seed_backup(instance_id, name, description=description, age_s=age_days * DAY, **kw)


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
    seed(s, ORDERS, "before-the-upgrade", 100, scope=None)  # by hand
    seed(s, ORDERS, "ddsb-orders-prod-20261001T000000-99999999", 100, scope=None)  # by hand, named like ours
    seed(s, ORDERS, "orders-prod-auto-20260927", 60, scope=None, type="Auto")  # by the automatic policy
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
    assert "ddsb-orders-prod-20261001T000000-99999999" in left  # our format, but not our mark
    assert len(left) == 10 - 2
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


def nightly(request: dict[str, Any], time: str = "2026-12-01T01:00:00Z") -> dict[str, Any]:
    return {"trigger_type": "TIMER", "trigger_name": "nightly", "time": time, "user_event": json.dumps(request)}


def test_default_retention_is_the_timers_own(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN four backups the "nightly" timer made, and DEFAULT_RETENTION keep_last 3
    s = configured.state
    s.backup_delay = 0  # each new backup is complete at once (the instance is free for the next)
    for n, age in enumerate((1, 2, 3, 4)):
        seed(s, ORDERS, f"ddsb-orders-prod-2026112{n}T010000-0000000{n}", age, scope="timer:nightly")
    monkeypatch.setenv("DEFAULT_RETENTION", '{"keep_last": 3}')
    # WHEN a direct invocation makes a backup THEN it prunes nothing: the default is not its own
    assert pruned(invoke({"instance_id": ORDERS})) == []
    # WHEN the timer fires THEN the timer's oldest go: its new one and its two newest are the three it keeps
    result = invoke(nightly({"instance_id": ORDERS}))
    assert pruned(result) == ["ddsb-orders-prod-20261122T010000-00000002", "ddsb-orders-prod-20261123T010000-00000003"]


def test_a_webhook_never_prunes_a_timers_backups(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two completed backups of the nightly timer, and webhook requests that ask for keep_last 1
    s = configured.state
    s.backup_delay = 0
    timers = {
        seed(s, ORDERS, f"ddsb-orders-prod-2026112{n}T010000-0000000{n}", n, scope="timer:nightly").id for n in (1, 2)
    }
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    first = json.loads(invoke(post_backups({"instance_id": ORDERS, "retention": {"keep_last": 1}}))["body"])
    # THEN the first webhook backup prunes nothing: the timer's backups are not the webhook's to count
    assert first["outcome"] == "completed" or first["outcome"] == "created"
    assert not [r for r in s.requests if r.method == "DELETE"]
    # AND the second prunes the first webhook backup, and only it
    request = {"instance_id": ORDERS, "retention": {"keep_last": 1}, "idempotency_key": "second"}
    second = json.loads(invoke(post_backups(request))["body"])
    assert [r["data"]["backup_id"] for r in second["results"] if r["data"]["outcome"] == "pruned"] == [
        first["backup_id"]
    ]
    assert timers <= set(s.backups)


def test_any_template_prunes_only_what_carries_the_mark(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a short template (a loose name pattern could no longer tell ours apart) and look-alikes by hand
    monkeypatch.setenv("BACKUP_NAME_TEMPLATE", "b{hash}")
    s = configured.state
    seed(s, ORDERS, "b0a0a0a0a", 3)
    seed(s, ORDERS, "b0b0b0b0b", 5)
    seed(s, ORDERS, "bcafebabe", 10, scope=None)
    seed(s, ORDERS, "b00000000", 20, scope=None)
    result = invoke({"instance_id": ORDERS, "retention": {"keep_last": 1}})
    # THEN only our older marked one goes
    assert pruned(result) == ["b0b0b0b0b"]
    assert {"bcafebabe", "b00000000"} <= {b.name for b in s.backups.values()}


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


@pytest.mark.servers  # an emulator of its own
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
