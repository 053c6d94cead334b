"""Reliability under faults: each fault kind end to end, the deadline, and bounded concurrency."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from tests.conftest import BILLING, CATALOG, ORDERS, Invoke, log_lines, only_result


def creates(emulator: EmulatorServer) -> list[int]:
    return [r.status for r in emulator.state.requests if r.method == "POST" and r.path.endswith("/backups")]


@pytest.mark.parametrize(
    "fault",
    [
        Fault("POST", r"/backups$", 500, "DBS.280005"),
        Fault("POST", r"/backups$", 503, "SOMETHING.NEW"),
        Fault("POST", r"/backups$", 429, "DBS.280443", headers={"Retry-After": "0.2"}),
        Fault("POST", r"/backups$", 429, "APIG.0308"),
        Fault("POST", r"/backups$", kind="reset"),
        Fault("POST", r"/backups$", kind="slow", delay=1.0),  # past REQUEST_TIMEOUT_SECONDS=0.3
    ],
    ids=["500", "503", "429-retry-after", "apig-throttle", "reset", "slow"],
)
def test_a_transient_fault_on_create_is_retried_into_one_backup(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "0.3")
    # A copy: the emulator counts a fault down, and the parameter outlives this run (mutmut runs the suite
    # several times in one process).
    configured.state.faults.append(replace(fault))
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["outcome"] in ("created", "exists")  # a slow create may land before our retry
    assert len(configured.state.backups) == 1
    assert data["attempts"] >= 2 or data["outcome"] == "exists"


@pytest.mark.parametrize("code", ["DBS.200019", "DBS.201202"])
def test_a_busy_instance_is_not_retried_within_seconds_but_by_the_next_invocation(
    configured: EmulatorServer, invoke: Invoke, code: str
) -> None:
    # GIVEN DDS answers that the instance is busy (a backup or another operation takes minutes)
    configured.state.faults.append(Fault("POST", r"/backups$", 403, code, count=5))
    first = invoke({"instance_id": ORDERS})
    data = only_result(first)
    # THEN one create, no retry within the invocation: a retryable failure the platform's retry takes over
    assert (data["outcome"], data["error"]["code"], data["error"]["retryable"], data["attempts"]) == (
        "failed",
        code,
        True,
        1,
    )
    assert len(creates(configured)) == 1 and first["_raised"] is True
    # AND once the instance is free, the retry of the same event makes the one backup
    configured.state.faults.clear()
    assert only_result(invoke({"instance_id": ORDERS}))["outcome"] == "created"
    assert len(configured.state.backups) == 1


def test_retry_after_is_honoured(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.faults.append(Fault("POST", r"/backups$", 429, "DBS.280443", headers={"Retry-After": "0.5"}))
    started = time.monotonic()
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["outcome"] == "created" and data["attempts"] == 2
    assert time.monotonic() - started >= 0.5


def test_applied_but_answer_lost_ends_as_exists_not_a_second_backup(
    configured: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    configured.state.backup_delay = 30  # the first backup is still building when we retry
    configured.state.faults.append(Fault("POST", r"/backups$", kind="lost"))
    data = only_result(invoke({"instance_id": ORDERS}))
    assert data["outcome"] == "exists"
    assert data["backup_status"] == "BUILDING"
    (backup,) = configured.state.backups.values()
    assert data["backup_id"] == backup.id
    assert creates(configured) == [0]  # one create, applied, answer dropped; none after
    retries = [line for line in log_lines(capfd.readouterr().err) if line.get("logger") == "dds_backup.retry"]
    assert retries and retries[0]["error.type"] == "CONNECTION_ERROR"


def test_lost_answer_with_a_quick_backup_also_ends_as_exists(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.backup_delay = 0
    configured.state.faults.append(Fault("POST", r"/backups$", kind="lost"))
    data = only_result(invoke({"instance_id": ORDERS, "idempotency_key": "lost"}))
    assert data["outcome"] == "exists"
    assert len(configured.state.backups) == 1


def test_faults_on_reads_are_retried_too(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.faults.append(Fault("GET", r"/instances$", 503, "DBS.280005", count=2))
    configured.state.faults.append(Fault("GET", r"/instances$", kind="reset"))
    assert only_result(invoke({"instance_id": ORDERS}))["outcome"] == "created"


def test_permanent_errors_are_not_retried(configured: EmulatorServer, invoke: Invoke) -> None:
    configured.state.faults.append(Fault("POST", r"/backups$", 403, "DBS.280032", count=5))
    data = only_result(invoke({"instance_id": ORDERS}))
    assert (data["outcome"], data["attempts"]) == ("failed", 1)
    assert len(creates(configured)) == 1


def test_deadline_two_seconds_against_a_five_second_api(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 2 s left in the invocation and an API that answers in 5 s (AK/SK: no token to fetch first)
    for key, value in configured.env("aksk").items():
        monkeypatch.setenv(key, value)
    for key in ("OS_USERNAME", "OS_PASSWORD", "OS_USER_DOMAIN_NAME"):
        monkeypatch.delenv(key)
    configured.state.latency = 5.0
    started = time.monotonic()
    result = invoke({"instance_ids": [ORDERS, BILLING, CATALOG]}, timeout_s=2)
    elapsed = time.monotonic() - started
    # THEN each requested instance is reported as a retryable failure (the lookup itself could not finish)...
    assert [(r["data"]["outcome"], r["data"]["instance_id"]) for r in result["results"]] == [
        ("failed", ORDERS),
        ("failed", BILLING),
        ("failed", CATALOG),
    ]
    assert result["summary"]["requested"] == 3
    error = result["results"][0]["data"]["error"]
    assert (error["code"], error["retryable"]) == ("TIMEOUT", True)
    assert "the instance listing broke off before reaching this instance" in error["message"]
    assert result["_raised"] is True
    # ...because the call was cut at the deadline the code computed from the 2 s (1.5 s after the 0.5 s reserve
    # for the results), not at REQUEST_TIMEOUT_SECONDS (15 s) nor when the API would have answered (5 s).
    cut_after = float(re.search(r"within ([0-9.]+)s", error["message"]).group(1))  # type: ignore[union-attr]
    assert cut_after <= 1.5
    assert elapsed < 5.0


def test_the_deadline_also_bounds_a_slow_create(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured.state.faults.append(Fault("POST", r"/backups$", kind="slow", delay=5.0, count=10))
    started = time.monotonic()
    result = invoke({"instance_id": ORDERS}, timeout_s=2)
    assert time.monotonic() - started < 5.0  # the create was not waited for: the deadline came first
    creates = [r for r in configured.state.requests if r.method == "POST" and r.path.endswith("/backups")]
    assert creates and all(r.status == 0 for r in creates)  # none was answered before the deadline
    data = only_result(result)
    assert data["outcome"] in ("failed", "exists")
    if data["outcome"] == "failed":
        assert data["error"]["retryable"] is True


def test_fan_out_never_exceeds_max_concurrency(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(40):
        inst = dict(configured.state.instances[CATALOG], id=f"{i:032x}in02", name=f"fleet-{i:02d}", tags=[])
        configured.state.instances[inst["id"]] = inst
    configured.state.latency = 0.02
    monkeypatch.setenv("MAX_CONCURRENCY", "3")
    result = invoke({"selector": {"name": "*fleet-"}})
    assert len(result["results"]) == 40
    assert {r["data"]["outcome"] for r in result["results"]} == {"created"}
    assert configured.state.max_in_flight <= 3 + 1  # + the IAM token request, which is not a DDS call
    assert configured.state.max_in_flight >= 3  # and the fan-out did run in parallel
