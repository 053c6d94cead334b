"""Creating one backup exactly once (lib/runner/create.py), against the emulator with a real client: whatever
happens to the answers, one backup, and the result says whether we made it, found it, or why neither."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from lib.cloud.errors import ApiError, CloudError, TransportError
from lib.cloud.retry import RetryPolicy
from lib.codes import ErrorCode
from lib.dds.client import DdsClient
from lib.runner.create import NAME_EXISTS, Attempt, ambiguous, create_once
from lib.runtime import Deadline
from tests.conftest import BILLING, ORDERS
from tests.test_dds_client import make_client

NAME = "ddsb-orders-prod-20261129T020000-1a2b3c4d"


@pytest.fixture
async def client(emulator: EmulatorServer) -> AsyncIterator[DdsClient]:
    emulator.state.backup_delay = 30  # a backup stays BUILDING, as a fresh one does
    async with aiohttp.ClientSession() as session:
        yield make_client(session, emulator, retry=RetryPolicy(base_delay=0.01))


async def create(client: DdsClient, instance_id: str = ORDERS, name: str = NAME) -> Attempt:
    return await create_once(
        client,
        instance_id,
        name,
        "exactly once",
        retry=RetryPolicy(base_delay=0.01),
        deadline=Deadline(at=time.monotonic() + 20),
    )


def calls(emulator: EmulatorServer, method: str) -> int:
    return sum(1 for r in emulator.state.requests if r.method == method and r.path.endswith("/backups"))


async def test_a_create_that_is_answered_is_created_with_one_call(client: DdsClient, emulator: EmulatorServer) -> None:
    attempt = await create(client)
    assert attempt.created is not None and attempt.existing is None and attempt.error is None
    (backup,) = emulator.state.backups.values()
    assert (attempt.created.backup_id, backup.name, backup.description) == (backup.id, NAME, "exactly once")
    assert (attempt.calls, calls(emulator, "GET")) == (1, 0)


async def test_a_create_applied_but_unanswered_is_found_not_made_twice(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    # GIVEN the create is applied, then the connection drops before the answer
    emulator.state.faults.append(Fault("POST", r"/backups$", kind="lost"))
    attempt = await create(client)
    # THEN the name is looked up before any retry, and the backup found is the result
    (backup,) = emulator.state.backups.values()
    assert attempt.existing is not None and attempt.existing.id == backup.id
    assert (attempt.created, attempt.error, attempt.calls) == (None, None, 1)


async def test_a_5xx_after_the_work_was_done_is_found_too(client: DdsClient, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(Fault("POST", r"/backups$", 504, "APIG.0201", kind="applied"))
    attempt = await create(client)
    assert attempt.existing is not None and attempt.existing.name == NAME
    assert (attempt.calls, len(emulator.state.backups)) == (1, 1)


async def test_a_5xx_before_the_work_is_retried_after_looking(
    client: DdsClient, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.state.faults.append(Fault("POST", r"/backups$", 500, "DBS.280005"))
    attempt = await create(client)
    assert attempt.created is not None and attempt.existing is None
    assert (attempt.calls, calls(emulator, "GET"), len(emulator.state.backups)) == (2, 1, 1)
    # the retry is logged with what was retried, and why
    assert any(
        r.getMessage().startswith(f"create backup {NAME}: attempt 1 failed (DBS.280005)") for r in caplog.records
    )


async def test_after_a_5xx_only_this_instances_backups_are_looked_at(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    # GIVEN another instance's backup already holds the name WHEN our create fails with a 5xx before the work
    await create(client, BILLING)
    emulator.state.faults.append(Fault("POST", r"/backups$", 500, "DBS.280005"))
    attempt = await create(client, ORDERS)
    # THEN that backup is not taken for ours: the retry meets "name exists", and the result says whose it is
    assert attempt.existing is None and attempt.error is not None and attempt.error.code == NAME_EXISTS
    assert attempt.error_message is not None and "taken by a backup of another instance" in attempt.error_message


async def test_when_the_look_up_fails_the_next_attempt_tells(client: DdsClient, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(Fault("POST", r"/backups$", 500, "DBS.280005"))
    emulator.state.faults.append(Fault("GET", r"/backups$", 400, "DBS.280001", count=10))
    attempt = await create(client)
    assert attempt.created is not None and attempt.calls == 2


async def test_a_throttled_create_is_retried_without_looking(client: DdsClient, emulator: EmulatorServer) -> None:
    # A 429 is a refusal, not an ambiguous answer: nothing was applied, so nothing is looked up.
    emulator.state.faults.append(Fault("POST", r"/backups$", 429, "DBS.280443"))
    attempt = await create(client)
    assert attempt.created is not None
    assert (attempt.calls, calls(emulator, "GET")) == (2, 0)


async def test_a_permanent_refusal_is_the_error_after_one_call(client: DdsClient, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(Fault("POST", r"/backups$", 400, "DBS.280277", count=10))
    attempt = await create(client)
    assert attempt.error is not None and attempt.error.code == "DBS.280277"
    assert (attempt.created, attempt.existing, attempt.error_message, attempt.calls) == (None, None, None, 1)
    assert calls(emulator, "GET") == 0


async def test_our_own_earlier_backup_of_that_name_is_found(client: DdsClient, emulator: EmulatorServer) -> None:
    first = await create(client)
    again = await create(client)
    assert first.created is not None and again.existing is not None
    assert again.existing.id == first.created.backup_id
    assert (again.created, again.error, again.calls) == (None, None, 1)


async def test_a_name_taken_by_another_instance_is_a_clear_failure(client: DdsClient, emulator: EmulatorServer) -> None:
    await create(client, BILLING)
    attempt = await create(client, ORDERS)
    assert attempt.existing is None and attempt.error is not None and attempt.error.code == NAME_EXISTS
    assert attempt.error_message == (
        f"the name {NAME} is taken by a backup of another instance (names are unique per project): choose another name"
    )


async def test_a_name_clash_that_cannot_be_looked_up_reports_the_look_up(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    await create(client)
    emulator.state.faults.append(Fault("GET", r"/backups$", 403, "DBS.280032", count=10))
    attempt = await create(client)
    assert attempt.existing is None and attempt.error is not None
    assert (attempt.error.code, attempt.error_message) == ("DBS.280032", None)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TransportError(ErrorCode.CONNECTION_ERROR, "reset"), True),  # sent, and no answer
        (TransportError(ErrorCode.TIMEOUT, "read timeout"), True),
        (TransportError(ErrorCode.CONNECTION_ERROR, "refused", sent=False), False),  # never left this machine
        (TransportError(ErrorCode.TIMEOUT, "connect timeout", sent=False), False),
        (ApiError("DBS.280005", "server", retryable=True, http_status=500), True),
        (ApiError("APIG.0201", "gateway", retryable=True, http_status=504), True),
        (ApiError("X", "teapot", retryable=False, http_status=499), False),
        (ApiError("DBS.280443", "throttled", retryable=True, http_status=429), False),
        (CloudError("DEADLINE_EXCEEDED", "out of time", retryable=True), False),
    ],
)
def test_only_no_answer_or_a_server_failure_is_ambiguous(error: CloudError, expected: bool) -> None:
    assert ambiguous(error) is expected


async def test_a_create_that_never_left_is_not_looked_up_and_says_what_it_was(emulator: EmulatorServer) -> None:
    # GIVEN a DDS endpoint where nothing listens (the connection is refused)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lookups: list[str] = []
    async with aiohttp.ClientSession() as session:
        client = make_client(session, emulator, endpoint=f"http://127.0.0.1:{port}")

        async def counted(instance_id: str, name: str) -> None:
            lookups.append(name)

        client.find_backup_by_name = counted  # type: ignore[method-assign]
        attempt = await create(client)
    # THEN it failed as a connection that never left: nothing can have been applied, so no name is looked up
    assert isinstance(attempt.error, TransportError) and attempt.error.code == ErrorCode.CONNECTION_ERROR
    assert attempt.error.sent is False
    assert (attempt.error.method, attempt.error.path) == ("POST", f"/v3/{emulator.state.project_id}/backups")
    assert lookups == [] and attempt.calls == RetryPolicy().max_attempts  # each attempt refused, none looked up


async def test_a_reset_create_may_have_been_applied_and_is_looked_up(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    emulator.state.faults.append(Fault("POST", r"/backups$", kind="reset", count=1))
    attempt = await create(client)
    # the reset came after the request was sent: the name was looked up (not found), and the retry made it
    assert attempt.created is not None and attempt.calls == 2
    assert [r.method for r in emulator.state.requests if r.path.endswith("/backups")] == ["POST", "GET", "POST"]
