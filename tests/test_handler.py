"""The handler end to end: platform events in, real HTTP to the emulator, invocation results out."""

from __future__ import annotations

import asyncio
import json

import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from lib.dds.models import Instance
from lib.models import BackupOrder, BackupRequest, ResultData
from lib.runner.runner import Runner
from lib.sources.common import TRIGGERS_DOC
from tests.conftest import (
    BILLING,
    CATALOG,
    FROZEN,
    ORDERS,
    PLATFORM_EVENTS,
    ROOT,
    Invoke,
    load_json,
    only_result,
    parse_cloudevent,
)


def test_timer_event_creates_a_backup_with_a_deterministic_name(configured: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN the project's timer sample WHEN the handler runs
    result = invoke(load_json(ROOT / "events/timer.json"))
    # THEN one backup exists on the emulator, and the result says so
    data = only_result(result)
    assert result["ok"] is True and result["_raised"] is False
    assert data["outcome"] == "created"
    assert data["trigger"] == "timer"
    backup = configured.state.backups[data["backup_id"]]
    assert backup.instance_id == ORDERS
    assert backup.name == data["name"]
    assert data["name"].startswith("ddsb-orders-prod-20261127T000000-")  # 01:00+01:00 is midnight UTC
    assert data["job_id"] in configured.state.jobs
    assert result["summary"] == {
        "requested": 1,
        "created": 1,
        "completed": 0,
        "exists": 0,
        "failed": 0,
        "rejected": 0,
        "dry_run": 0,
        "pruned": 0,
        "fanned_out": 0,
        "handed_off": 0,
        "fresh": 0,
        "stale": 0,
    }


def test_a_redelivered_timer_event_reports_the_existing_backup(configured: EmulatorServer, invoke: Invoke) -> None:
    event = load_json(ROOT / "events/timer.json")
    first = only_result(invoke(event))
    # WHEN the platform delivers the same event again
    second = only_result(invoke(event))
    # THEN no second backup is made: the same name is found and reported as existing
    assert second["outcome"] == "exists"
    assert second["backup_id"] == first["backup_id"]
    assert second["name"] == first["name"]
    assert len(configured.state.backups) == 1


def test_platform_sample_timer_event_is_rejected_field_by_field(configured: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN the platform's own sample: user_event holds a JSON object that is not a backup request
    result = invoke(load_json(PLATFORM_EVENTS / "timer_event.json"))
    data = only_result(result)
    # THEN nothing falls back to another target: the request is rejected, naming the fields
    assert data["outcome"] == "rejected"
    assert data["error"]["code"] == "INVALID_REQUEST"
    assert data["error"]["retryable"] is False
    fields = {d["field"] for d in data["error"]["details"]}
    assert {"message", "topic"} <= fields
    assert "unknown field" in data["error"]["message"]
    assert result["ok"] is False and result["_raised"] is False
    assert configured.state.requests == []  # no DDS call at all


def test_platform_sample_plain_text_timer_uses_the_default_request(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_REQUEST", json.dumps({"instance_ids": [ORDERS, BILLING]}))
    result = invoke(load_json(PLATFORM_EVENTS / "timer_event_txt.json"))
    assert result["ok"] is True
    assert sorted(r["data"]["instance_id"] for r in result["results"]) == sorted([ORDERS, BILLING])
    assert {r["data"]["outcome"] for r in result["results"]} == {"created"}
    assert len(configured.state.backups) == 2


def test_plain_text_timer_without_default_request_is_rejected(configured: EmulatorServer, invoke: Invoke) -> None:
    data = only_result(invoke(load_json(PLATFORM_EVENTS / "timer_event_txt.json")))
    assert data["outcome"] == "rejected"
    assert data["error"]["code"] == "NO_DEFAULT_REQUEST"
    assert "DEFAULT_REQUEST" in data["error"]["message"]


def test_a_malformed_default_request_is_reported_as_the_configuration_error(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a DEFAULT_REQUEST with a typo, and a plain-text timer that relies on it
    monkeypatch.setenv("DEFAULT_REQUEST", '{"selector": {"tag": {"backup": "nightly"}}}')
    data = only_result(invoke(load_json(PLATFORM_EVENTS / "timer_event_txt.json")))
    # THEN the result names the variable and the problem, not "not configured"
    assert data["error"]["code"] == "INVALID_CONFIG"
    assert "DEFAULT_REQUEST.selector.tag" in data["error"]["message"]
    assert "unknown field" in data["error"]["message"]
    assert configured.state.requests == []


def test_a_dry_run_on_a_busy_instance_never_asks_the_platform_for_a_retry(
    configured: EmulatorServer, invoke: Invoke
) -> None:
    result = invoke({"instance_id": FROZEN, "dry_run": True})
    data = only_result(result)
    assert (data["outcome"], data["error"]["code"]) == ("dry_run", "INSTANCE_NOT_READY")
    assert result["_raised"] is False


def test_timer_user_event_that_is_broken_json_is_rejected_not_defaulted(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_REQUEST", json.dumps({"instance_id": ORDERS}))
    event = {**load_json(PLATFORM_EVENTS / "timer_event.json"), "user_event": '{"instance_id": "x",'}
    data = only_result(invoke(event))
    assert data["outcome"] == "rejected"
    assert data["error"]["code"] == "INVALID_JSON"
    assert configured.state.backups == {}


def test_direct_invocation_waits_for_the_job_to_complete(configured: EmulatorServer, invoke: Invoke) -> None:
    data = only_result(invoke(load_json(ROOT / "events/direct.json")))
    assert data["outcome"] == "completed"
    assert data["backup_status"] == "COMPLETED"
    assert data["trigger"] == "direct"
    assert data["correlation_id"] == "billing-migration-2026-11-27"
    assert configured.state.backup_status(configured.state.backups[data["backup_id"]]) == "COMPLETED"


def test_same_idempotency_key_never_makes_a_second_backup(configured: EmulatorServer, invoke: Invoke) -> None:
    request = {"instance_id": CATALOG, "idempotency_key": "deploy-4711"}
    first = only_result(invoke(request))
    second = only_result(invoke(request, request_id="another-invocation"))
    assert (first["outcome"], second["outcome"]) == ("created", "exists")
    assert first["name"] == second["name"]
    assert len(configured.state.backups) == 1


def test_direct_invocations_without_a_key_are_separate_backups(configured: EmulatorServer, invoke: Invoke) -> None:
    first = only_result(invoke({"instance_id": CATALOG}))
    configured.state.backup_delay = 0  # the first one is done, the instance is free again
    second = only_result(invoke({"instance_id": CATALOG}))
    assert first["outcome"] == second["outcome"] == "created"
    assert first["name"] != second["name"]


def test_a_failed_job_is_reported_as_failed(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.failing_instances.add(CATALOG)
    data = only_result(invoke({"instance_id": CATALOG, "wait": True}))
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "BACKUP_FAILED"
    assert "emulator was told to fail" in data["error"]["message"]


def test_dry_run_resolves_and_names_but_changes_nothing(configured: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"selector": {"tags": {"env": "prod"}}, "dry_run": True})
    assert {r["data"]["outcome"] for r in result["results"]} == {"dry_run"}
    assert sorted(r["data"]["instance_name"] for r in result["results"]) == ["billing-prod", "orders-prod"]
    assert all(r["data"]["name"].startswith("ddsb-") for r in result["results"])
    assert configured.state.backups == {}
    assert result["ok"] is True


def test_selector_by_fuzzy_name_and_mode(configured: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"selector": {"name": "*prod", "mode": "Sharding"}})
    assert [r["data"]["instance_id"] for r in result["results"]] == [BILLING]


def test_selector_matching_nothing_is_rejected(configured: EmulatorServer, invoke: Invoke) -> None:
    data = only_result(invoke({"selector": {"name": "no-such-instance"}}))
    assert data["outcome"] == "rejected"
    assert data["error"]["code"] == "NO_MATCHING_INSTANCE"


def test_unknown_instance_is_rejected_and_others_still_run(configured: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"instance_ids": ["doesnotexist0000in02", ORDERS]})
    by_id = {r["data"]["instance_id"]: r["data"] for r in result["results"]}
    assert by_id["doesnotexist0000in02"]["outcome"] == "rejected"
    assert by_id["doesnotexist0000in02"]["error"]["code"] == "INSTANCE_NOT_FOUND"
    assert by_id[ORDERS]["outcome"] == "created"
    assert result["ok"] is False and result["_raised"] is False  # permanent: no platform retry


def test_a_bug_on_one_instance_fails_that_instance_only(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a bug of ours that strikes while backing up orders-prod, after billing-prod's backup has started
    original = Runner._backup_one

    async def buggy(self: Runner, order: BackupOrder, request: BackupRequest, instance: Instance) -> ResultData:
        if instance.id == ORDERS:
            await asyncio.sleep(0.05)
            raise KeyError("a bug")
        return await original(self, order, request, instance)

    monkeypatch.setattr(Runner, "_backup_one", buggy)
    # WHEN both are asked for in one request, and in two orders of one batch
    one = invoke({"instance_ids": [ORDERS, BILLING]})
    by_id = {r["data"]["instance_id"]: r["data"] for r in one["results"]}
    # THEN orders-prod fails as a bug (retryable: the platform may try again), billing-prod is reported as made
    assert by_id[ORDERS]["outcome"] == "failed" and by_id[ORDERS]["error"]["code"] == "INTERNAL_ERROR"
    assert by_id[ORDERS]["error"]["message"] == "KeyError (a bug; see the log)" and one["_raised"] is True
    assert by_id[BILLING]["outcome"] == "created"
    assert [b.instance_id for b in configured.state.backups.values()] == [BILLING]


def test_instance_not_in_normal_state_fails_retryably_without_a_create_call(
    configured: EmulatorServer, invoke: Invoke
) -> None:
    result = invoke({"instance_id": FROZEN})
    data = only_result(result)
    assert data["outcome"] == "failed"
    assert data["error"] == {**data["error"], "code": "INSTANCE_NOT_READY", "retryable": True}
    assert "abnormal" in data["error"]["message"]
    assert result["_raised"] is True  # the platform's retry may find it normal again
    assert not [r for r in configured.state.requests if r.method == "POST" and r.path.endswith("/backups")]


def test_backup_already_running_is_a_retryable_failure(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.backup_delay = 60
    only_result(invoke({"instance_id": ORDERS}))
    data = only_result(invoke({"instance_id": ORDERS}))  # a different invocation: a different name
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "INSTANCE_NOT_READY"
    assert data["error"]["retryable"] is True


def test_retryable_failure_makes_the_handler_raise_after_reporting(configured: EmulatorServer, invoke: Invoke) -> None:
    # GIVEN DDS fails longer than our own retries last (4 attempts)
    configured.state.faults.append(Fault("POST", r"/backups$", 503, "DBS.280005", "Server error", count=4))
    result = invoke({"instance_id": ORDERS, "idempotency_key": "k1"})
    data = only_result(result)
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "DBS.280005" and data["error"]["retryable"] is True
    assert result["_raised"] is True
    # WHEN the platform retries THEN the same name is used and the backup is made once
    again = only_result(invoke({"instance_id": ORDERS, "idempotency_key": "k1"}))
    assert again["outcome"] == "created" and again["name"] == data["name"]


def test_unreachable_endpoint_is_a_retryable_failure(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDS_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("PROJECT_ID", "0549b4a43100d4f32f51c01c2fe4acdb")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "AKAKAKAKAKAKAKAKAKAK")
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "a-secret-key-that-must-not-leak")
    result = invoke({"instance_id": ORDERS})
    data = only_result(result)
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "CONNECTION_ERROR"
    assert data["error"]["retryable"] is True
    assert "DDS_ENDPOINT" in data["error"]["message"]
    assert result["_raised"] is True
    assert "a-secret-key-that-must-not-leak" not in json.dumps(result)


def test_invalid_configuration_fails_before_any_call(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONCURRENCY", "lots")
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["outcome"] == "failed"
    assert data["error"]["code"] == "INVALID_CONFIG"
    assert "MAX_CONCURRENCY" in data["error"]["message"]
    assert configured.state.requests == []


def test_configuration_from_get_user_data_wins_over_the_environment(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUP_NAME_TEMPLATE", "env-{hash}")
    data = only_result(invoke({"instance_id": ORDERS}, user_data={"BACKUP_NAME_TEMPLATE": "ud-{instance}-{hash}"}))
    assert data["name"].startswith("ud-orders-prod-")


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "x"}}}]},  # OBS
        {"trigger_type": "LTS", "lts": {"data": "e30="}},
    ],
)
def test_unsupported_event_kind_is_rejected_with_where_the_served_ones_are(
    configured: EmulatorServer, invoke: Invoke, event: dict[str, object]
) -> None:
    data = only_result(invoke(event))
    assert data["outcome"] == "rejected"
    assert data["error"]["code"] == "UNSUPPORTED_EVENT"
    assert data["error"]["message"].startswith(("an OBS object event: ", "an LTS log event: "))
    assert f"see {TRIGGERS_DOC} for the triggers it serves" in data["error"]["message"]


@pytest.mark.parametrize("event", [None, [], "text", 42, {"instance_id": 7}, {"instance_id": ORDERS, "extra": 1}])
def test_malformed_events_give_a_rejection_never_an_exception(
    configured: EmulatorServer, invoke: Invoke, event: object
) -> None:
    result = invoke(event)
    data = only_result(result)
    assert data["outcome"] == "rejected"
    assert data["error"]["retryable"] is False
    assert result["_raised"] is False


def test_results_are_valid_cloudevents(configured: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"instance_id": ORDERS})
    event = parse_cloudevent(result["results"][0])
    assert event.get_specversion() == "1.0"
    assert event.get_type() == "dds-backup.backup.created"
    assert event.get_subject() == ORDERS
    data = event.get_data()
    assert isinstance(data, dict) and data["outcome"] == "created"


def test_a_rejection_without_instance_is_still_a_valid_cloudevent(invoke: Invoke) -> None:
    event = parse_cloudevent(invoke({"oops": True})["results"][0])
    assert event.get_subject() is None
    assert event.get_type() == "dds-backup.backup.rejected"


def test_a_long_instance_id_list_is_resolved_with_one_listing(configured: EmulatorServer, invoke: Invoke) -> None:
    ids = configured.state.add_synthetic_instances(30)
    result = invoke({"instance_ids": [*ids, "doesnotexist0000in02"], "dry_run": True})
    outcomes = sorted(r["data"]["outcome"] for r in result["results"])
    assert outcomes == ["dry_run"] * 30 + ["rejected"]
    listings = [r for r in configured.state.requests if r.path.endswith("/instances")]
    assert len(listings) == 1 and "id=" not in listings[0].query
