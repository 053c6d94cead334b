"""Which instances a request means: the pure decisions (lib/planning/selection.py) and the listing that
carries them out against the emulator (lib/runner/resolve.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer
from lib.dds.client import DdsClient
from lib.dds.models import Instance
from lib.models import BackupRequest
from lib.planning import selection
from lib.runner.resolve import resolve, stream
from tests.conftest import BILLING, CATALOG, FROZEN, ORDERS
from tests.test_dds_client import make_client


def test_requested_ids_keep_the_callers_order() -> None:
    assert selection.requested_ids(BackupRequest(instance_id="a1")) == ["a1"]
    assert selection.requested_ids(BackupRequest(instance_ids=["c", "a", "b"])) == ["c", "a", "b"]
    assert selection.requested_ids(BackupRequest(selector={"all": True})) == []


def test_up_to_ten_ids_are_looked_up_one_by_one_more_with_one_listing() -> None:
    assert not selection.list_whole_project(["x"] * selection.BY_ID_LIMIT)
    assert selection.list_whole_project(["x"] * (selection.BY_ID_LIMIT + 1))


def test_match_orders_by_the_request_and_names_the_missing() -> None:
    listed = [Instance(id="b", name="B"), Instance(id="a", name="A"), Instance(id="z", name="Z")]
    found, missing = selection.match(["a", "q", "b"], listed)
    assert [i.id for i in found] == ["a", "b"]
    assert missing == ["q"]


@pytest.fixture
async def client(emulator: EmulatorServer) -> AsyncIterator[DdsClient]:
    async with aiohttp.ClientSession() as session:
        yield make_client(session, emulator)


def listings(emulator: EmulatorServer) -> list[str]:
    return [r.query for r in emulator.state.requests if r.path.endswith("/instances")]


async def test_a_few_ids_are_looked_up_by_id(client: DdsClient, emulator: EmulatorServer) -> None:
    resolution = await resolve(client, BackupRequest(instance_ids=[BILLING, "0" * 32 + "in02", ORDERS]))
    assert [i.id for i in resolution.instances] == [BILLING, ORDERS]
    assert resolution.missing == ["0" * 32 + "in02"]
    assert all("id=" in q for q in listings(emulator)) and len(listings(emulator)) == 3


async def test_many_ids_are_matched_against_one_listing(client: DdsClient, emulator: EmulatorServer) -> None:
    extra = emulator.state.add_synthetic_instances(12)
    resolution = await resolve(client, BackupRequest(instance_ids=[*extra, ORDERS]))
    assert [i.id for i in resolution.instances] == [*extra, ORDERS]
    assert resolution.missing == []
    assert [q for q in listings(emulator) if "id=" in q] == []  # no lookup by id


async def test_a_selector_is_resolved_by_the_api_and_an_empty_match_is_flagged(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    prod = await resolve(client, BackupRequest(selector={"tags": {"env": "prod"}}))
    assert {i.id for i in prod.instances} == {ORDERS, BILLING}
    sharding = await resolve(client, BackupRequest(selector={"mode": "Sharding"}))
    assert [i.id for i in sharding.instances] == [BILLING]
    none = await resolve(client, BackupRequest(selector={"name": "no-such-instance"}))
    assert (none.instances, none.empty_selector) == ([], True)
    everything = await resolve(client, BackupRequest(selector={"all": True}))
    assert {ORDERS, BILLING, CATALOG, FROZEN} <= {i.id for i in everything.instances}


async def batches(client: DdsClient, request: BackupRequest) -> list[tuple[list[str], int]]:
    return [([i.id for i in b.instances], b.expected) async for b in stream(client, request)]


async def test_each_batch_says_how_many_instances_the_request_comes_to(
    client: DdsClient, emulator: EmulatorServer
) -> None:
    # a few ids: one batch, as many expected as asked for (even when one is unknown)
    assert await batches(client, BackupRequest(instance_ids=[ORDERS, "0" * 32 + "in02"])) == [([ORDERS], 2)]
    # many ids: one listing of the project, the same count expected
    extra = emulator.state.add_synthetic_instances(11)
    streamed = await batches(client, BackupRequest(instance_ids=extra))
    assert [i for ids, _ in streamed for i in ids] == extra
    assert {expected for _, expected in streamed} == {11}
    # a selector: the API's total, from the first page on
    (only,) = await batches(client, BackupRequest(selector={"mode": "Sharding"}))
    assert only == ([BILLING], 1)
    emulator.state.add_synthetic_instances(150)
    paged = await batches(client, BackupRequest(selector={"all": True}))
    total = len(emulator.state.instances)
    assert len(paged) > 1 and {expected for _, expected in paged} == {total}
    assert sum(len(ids) for ids, _ in paged) == total


async def test_a_selector_asks_the_api_for_exactly_its_criteria(client: DdsClient, emulator: EmulatorServer) -> None:
    await resolve(
        client, BackupRequest(selector={"name": "orders-prod", "mode": "ReplicaSet", "tags": {"env": "prod"}})
    )
    await resolve(client, BackupRequest(selector={"all": True}))
    named, everything = listings(emulator)
    assert "name=orders-prod" in named and "mode=ReplicaSet" in named and "tags=env%3Dprod" in named
    assert "name=" not in everything and "mode=" not in everything and "tags" not in everything


class Uncounted:
    """An instances API that sends no total_count: each page has to count for itself."""

    async def instance_pages(self, **criteria: object) -> AsyncIterator[tuple[list[Instance], int | None]]:
        yield [Instance(id="a", name="A"), Instance(id="b", name="B")], None
        yield [Instance(id="c", name="C")], None


async def test_without_a_total_each_page_of_a_selector_counts_for_itself() -> None:
    client = cast(DdsClient, Uncounted())
    assert await batches(client, BackupRequest(selector={"all": True})) == [(["a", "b"], 2), (["c"], 1)]
