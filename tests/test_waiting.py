"""Waiting for a backup (lib/runner/waiting.py): the job decides while it can be read; when it cannot (DBS.200543
before it is registered and after it is purged, a 404, a refusal), the backup list does, to the backup's real end
or the deadline. Against the emulator, with a real client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from lib.cloud.errors import ApiError
from lib.config import Settings
from lib.dds.client import DdsClient
from lib.dds.models import Backup
from lib.models import BackupOrder, BackupRequest, Outcome, Trigger
from lib.runner.runner import Runner
from lib.runner.waiting import Finished, wait_for_backup
from lib.runtime import Deadline
from tests.conftest import ORDERS
from tests.test_dds_client import make_client

QUICK = 0.05  # the first pause; the backoff doubles from here


@pytest.fixture
async def client(emulator: EmulatorServer) -> AsyncIterator[DdsClient]:
    async with aiohttp.ClientSession() as session:
        yield make_client(session, emulator)


def soon(seconds: float) -> Deadline:
    return Deadline(at=time.monotonic() + seconds)


async def started(client: DdsClient, emulator: EmulatorServer, delay: float = 0.3) -> tuple[str, str]:
    emulator.state.backup_delay = delay
    created = await client.create_manual_backup(ORDERS, "wait-test-1", "")
    return created.job_id, created.backup_id


def job_queries(emulator: EmulatorServer) -> list[int]:
    return [r.status for r in emulator.state.requests if r.path.endswith("/jobs")]


def list_queries(emulator: EmulatorServer, backup_id: str) -> int:
    return sum(1 for r in emulator.state.requests if r.path.endswith("/backups") and backup_id in r.query)


async def test_the_job_decides_while_it_can_be_read(client: DdsClient, emulator: EmulatorServer) -> None:
    job_id, backup_id = await started(client, emulator)
    assert await wait_for_backup(client, job_id, backup_id, soon(5), QUICK) == Finished(True)
    assert set(job_queries(emulator)) == {200} and list_queries(emulator, backup_id) == 0


async def test_a_job_never_registered_is_no_verdict_the_backup_list_is(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    # GIVEN a job query that answers DBS.200543 for as long as we wait
    emulator.state.job_visible_after = 3600
    job_id, backup_id = await started(client, emulator)
    # THEN the backup list is followed to the backup's real end: completed, not "failed" and not "gone"
    assert await wait_for_backup(client, job_id, backup_id, soon(5), QUICK) == Finished(True)
    assert job_queries(emulator) == [400]  # asked once; from then on the list decides
    assert list_queries(emulator, backup_id) >= 2  # BUILDING first, then COMPLETED


async def test_a_job_purged_when_it_ends_still_gives_the_backups_outcome(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    # GIVEN a job that is readable while it runs and forgotten the moment it ends
    emulator.state.job_forget_after = 0.0
    job_id, backup_id = await started(client, emulator)
    assert await wait_for_backup(client, job_id, backup_id, soon(5), QUICK) == Finished(True)
    statuses = job_queries(emulator)
    assert statuses[0] == 200 and statuses[-1] == 400


async def test_a_failed_backup_behind_an_unreadable_job_is_reported_failed(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    emulator.state.job_visible_after = 3600
    emulator.state.failing_instances.add(ORDERS)
    job_id, backup_id = await started(client, emulator)
    assert await wait_for_backup(client, job_id, backup_id, soon(5), QUICK) == Finished(False, "the backup is FAILED")


async def test_a_backup_not_listed_yet_is_waited_for_not_taken_as_gone(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    # GIVEN neither the job nor the backup is visible at first
    emulator.state.job_visible_after = 3600
    emulator.state.backup_listed_after = 0.5
    job_id, backup_id = await started(client, emulator, delay=0.7)
    assert await wait_for_backup(client, job_id, backup_id, soon(5), QUICK) == Finished(True)


async def test_a_backup_never_listed_is_waited_for_until_the_deadline(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    emulator.state.job_visible_after = 3600
    emulator.state.backup_listed_after = 3600
    job_id, backup_id = await started(client, emulator)
    begun = time.monotonic()
    assert await wait_for_backup(client, job_id, backup_id, soon(0.6), QUICK) is None
    assert time.monotonic() - begun >= 0.5
    assert list_queries(emulator, backup_id) >= 2


async def test_a_backup_that_was_listed_and_vanished_is_gone(
    client: DdsClient, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.state.job_visible_after = 3600
    job_id, backup_id = await started(client, emulator, delay=3600)
    listing = client.list_backups

    async def then_deleted_behind_our_back(**query: Any) -> list[Backup]:
        found = await listing(**query)
        emulator.state.backups.pop(backup_id, None)
        return found

    monkeypatch.setattr(client, "list_backups", then_deleted_behind_our_back)
    finished = await wait_for_backup(client, job_id, backup_id, soon(5), QUICK)
    assert finished == Finished(False, "the backup disappeared from the backup list")


async def test_a_job_answering_404_is_followed_through_the_list_too(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    emulator.state.faults.append(Fault("GET", r"/jobs$", 404, "DBS.280009", "not found", count=100))
    job_id, backup_id = await started(client, emulator)
    assert await wait_for_backup(client, job_id, backup_id, soon(5), QUICK) == Finished(True)


async def test_any_other_error_of_the_job_query_is_the_answer(client: DdsClient, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(Fault("GET", r"/jobs$", 409, "DBS.280999", "conflict", count=100))
    job_id, backup_id = await started(client, emulator)
    with pytest.raises(ApiError) as raised:
        await wait_for_backup(client, job_id, backup_id, soon(5), QUICK)
    assert raised.value.code == "DBS.280999"


async def test_an_order_with_wait_reports_completed_through_dbs_200543(emulator: EmulatorServer) -> None:
    # The same through the runner, as a timer with "wait": true would see it.
    emulator.state.backup_delay = 0.3
    emulator.state.job_visible_after = 3600
    async with aiohttp.ClientSession() as session:
        deadline = soon(10)
        client = make_client(session, emulator, deadline=deadline)
        runner = Runner(client=client, settings=Settings(), deadline=deadline)
        request = BackupRequest(instance_id=ORDERS, wait=True)
        (data,) = await runner.run(BackupOrder.of(Trigger.TIMER, "timer:t:1", "t@1", None, request, scope="timer:t"))
    assert (data.outcome, data.backup_status, data.error) == (Outcome.COMPLETED, "COMPLETED", None)
