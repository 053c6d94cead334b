"""The aiohttp DDS client against the emulator over loopback HTTP, signed with AK/SK on the wire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer
from dds_backup_dev.emulator.state import DEMO_AK, DEMO_SK
from lib.cloud.auth import OutgoingRequest
from lib.cloud.auth.aksk import AkSkAuth
from lib.cloud.errors import ApiError, CloudError, TransportError
from lib.cloud.transport import SignedTransport
from lib.dds.client import DdsClient
from lib.runtime import Deadline
from tests.conftest import BILLING, CATALOG, ORDERS


@pytest.fixture
async def client(emulator: EmulatorServer) -> AsyncIterator[DdsClient]:
    async with aiohttp.ClientSession() as session:
        yield make_client(session, emulator)


def make_client(session: aiohttp.ClientSession, emulator: EmulatorServer, **kw: object) -> DdsClient:
    """A client signed with the demo AK/SK (or ``auth=``), over its own transport (keywords go to it)."""
    project_id = emulator.state.project_id
    transport = SignedTransport(
        session,
        endpoint=kw.pop("endpoint", emulator.endpoint),  # type: ignore[arg-type]
        prefix=f"/v3/{project_id}",
        auth=kw.pop("auth", AkSkAuth(DEMO_AK, DEMO_SK, None, project_id, source="test")),  # type: ignore[arg-type]
        deadline=kw.pop("deadline", Deadline(at=time.monotonic() + 30)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    return DdsClient(transport, project_id=project_id)


async def test_create_then_read_back_through_list_and_job(client: DdsClient, emulator: EmulatorServer) -> None:
    created = await client.create_manual_backup(ORDERS, "client-test-1", "from the client test")
    backups = await client.list_backups(instance_id=ORDERS)
    assert [(b.id, b.name, b.status) for b in backups] == [(created.backup_id, "client-test-1", "BUILDING")]
    job = await client.show_job(created.job_id)
    assert (job.status, job.instance and job.instance.id) == ("Running", ORDERS)
    # Every request was AK/SK signed and verified by the emulator.
    assert all(r.status == 200 for r in emulator.state.requests)
    assert all("SDK-HMAC-SHA256" in r.headers["Authorization"] for r in emulator.state.requests)


async def test_lists_every_page(client: DdsClient, emulator: EmulatorServer) -> None:
    for i in range(230):
        emulator.state.add_backup(CATALOG, f"seeded-{i:03d}", "")
    backups = await client.list_backups(instance_id=CATALOG)
    assert len(backups) == 230
    assert len({b.id for b in backups}) == 230
    pages = [r.query for r in emulator.state.requests if r.path.endswith("/backups")]
    assert pages[0] == f"instance_id={CATALOG}&limit=100&offset=0"  # the first page tells the total
    assert sorted(pages[1:]) == [
        f"instance_id={CATALOG}&limit=100&offset=100",
        f"instance_id={CATALOG}&limit=100&offset=200",
    ]


async def test_pages_after_the_first_are_fetched_concurrently(client: DdsClient, emulator: EmulatorServer) -> None:
    for i in range(450):
        emulator.state.add_backup(CATALOG, f"seeded-{i:03d}", "")
    emulator.state.latency = 0.2  # long enough for the four later pages to overlap
    backups = await client.list_backups(instance_id=CATALOG)
    assert len({b.id for b in backups}) == 450
    assert emulator.state.max_in_flight == 4  # pages 2-5 in flight together, after page 1


async def test_find_backup_by_name_pages_until_found(client: DdsClient, emulator: EmulatorServer) -> None:
    target, _ = emulator.state.add_backup(ORDERS, "the-one", "")
    emulator.state.clock = lambda: time.time() + 1  # newer ones go first in the list
    for i in range(150):
        emulator.state.add_backup(ORDERS, f"newer-{i}", "")
    found = await client.find_backup_by_name(ORDERS, "the-one")
    assert found is not None and found.id == target.id
    assert await client.find_backup_by_name(ORDERS, "absent") is None


async def test_instance_filters(client: DdsClient) -> None:
    assert [i.id for i in await client.list_instances(name="orders-prod")] == [ORDERS]
    assert sorted(i.id for i in await client.list_instances(name="*prod")) == sorted([ORDERS, BILLING])
    assert [i.id for i in await client.list_instances(mode="Single")] == [CATALOG]
    assert [i.id for i in await client.list_instances(tags={"env": "prod", "team": "billing"})] == [BILLING]
    assert [i.id for i in await client.list_instances(instance_id=CATALOG)] == [CATALOG]
    assert await client.list_instances(name="orders") == []  # exact unless it starts with *


async def test_the_query_is_sent_exactly_as_signed(client: DdsClient, emulator: EmulatorServer) -> None:
    # yarl would turn %3A back into ":" and a space into "+"; the wire must carry the signed form.
    with pytest.raises(ApiError):
        await client.show_job("job id:with/odd chars")
    (req,) = emulator.state.requests
    assert req.query == "id=job%20id%3Awith%2Fodd%20chars"
    assert req.status == 400  # signature verified, then: unknown job (DBS.200543)


async def test_delete_manual_backup(client: DdsClient, emulator: EmulatorServer) -> None:
    emulator.state.backup_delay = 0
    created = await client.create_manual_backup(ORDERS, "to-delete", None)
    job_id = await client.delete_manual_backup(created.backup_id)
    assert job_id in emulator.state.jobs
    # WHILE it is being deleted it is listed as DISABLED, and deleting it again is refused
    (listed,) = await client.list_backups(backup_id=created.backup_id)
    assert listed.status == "DISABLED"
    with pytest.raises(ApiError) as caught:
        await client.delete_manual_backup(created.backup_id)
    assert (caught.value.code, caught.value.http_status) == ("DBS.201204", 400)
    # THEN it is gone, and deleting it is "does not exist"
    emulator.state.delete_delay = 0
    assert await client.list_backups(backup_id=created.backup_id) == []
    with pytest.raises(ApiError) as caught:
        await client.delete_manual_backup(created.backup_id)
    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == ("DBS.201214", 400, False)


async def test_api_errors_are_typed(client: DdsClient) -> None:
    with pytest.raises(ApiError) as caught:
        await client.create_manual_backup("doesnotexist0000in02", "abcd", None)
    err = caught.value
    assert (err.code, err.http_status, err.retryable) == ("DBS.200002", 404, False)
    assert err.request_id
    assert "instance does not exist" in err.message


async def test_slow_answer_is_a_retryable_timeout(emulator: EmulatorServer) -> None:
    emulator.state.latency = 0.5
    async with aiohttp.ClientSession() as session:
        client = make_client(session, emulator, request_timeout=0.1)
        with pytest.raises(TransportError) as caught:
            await client.list_instances()
    assert (caught.value.code, caught.value.retryable) == ("TIMEOUT", True)


async def test_nothing_is_sent_after_the_deadline(emulator: EmulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, emulator, deadline=Deadline(at=time.monotonic() - 1))
        with pytest.raises(CloudError) as caught:
            await client.list_instances()
    assert (caught.value.code, caught.value.retryable) == ("DEADLINE_EXCEEDED", True)
    assert emulator.state.requests == []


class _SlowAuth(AkSkAuth):
    """Signs like AK/SK, after a pause (as fetching a token can take)."""

    async def apply(self, request: OutgoingRequest) -> None:
        await asyncio.sleep(0.3)
        await super().apply(request)


async def test_nothing_is_sent_when_signing_used_up_the_time_left(emulator: EmulatorServer) -> None:
    # GIVEN 0.1 s left and an authenticator that takes 0.3 s
    project_id = emulator.state.project_id
    auth = _SlowAuth(DEMO_AK, DEMO_SK, None, project_id, source="test")
    async with aiohttp.ClientSession() as session:
        client = make_client(session, emulator, auth=auth, deadline=Deadline(at=time.monotonic() + 0.1))
        # WHEN a call is made THEN it ends with the deadline, sending nothing (no request without a timeout)
        with pytest.raises(CloudError) as caught:
            await client.list_instances()
    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert emulator.state.requests == []


async def test_wrong_secret_key_is_not_retried(emulator: EmulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, emulator, auth=AkSkAuth(DEMO_AK, "wrong", None, None, source="test"))
        with pytest.raises(ApiError) as caught:
            await client.list_instances()
    assert (caught.value.code, caught.value.retryable) == ("APIG.0301", False)
    assert len(emulator.state.requests) == 1  # one failure, not a burst towards the 5-failure lockout
