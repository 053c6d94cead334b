"""Which instances a request means, read from the instances API. Each instance comes back with its name and
state, for naming and the pre-checks.

``stream`` hands the instances on page by page as the listing arrives, so that the work on the first page's
instances starts while the other pages load; ``resolve`` waits for all of them. When the listing breaks off,
``stream`` raises after handing on what it found.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from lib.dds.client import DdsClient
from lib.dds.models import Instance
from lib.models import BackupRequest
from lib.planning import selection


@dataclass(frozen=True)
class Batch:
    instances: list[Instance]
    #: How many instances the request will come to, as far as the first page tells (for the fan-out decision).
    expected: int


@dataclass(frozen=True)
class Resolution:
    instances: list[Instance]
    missing: list[str]  # requested ids the API does not know
    empty_selector: bool = False


async def stream(client: DdsClient, request: BackupRequest) -> AsyncIterator[Batch]:
    if request.selector is not None:
        sel = request.selector
        async for page, total in client.instance_pages(name=sel.name, mode=sel.mode, tags=sel.tags or None):
            yield Batch(page, total if total is not None else len(page))
        return
    ids = selection.requested_ids(request)
    if selection.list_whole_project(ids):
        # One listing of the project (pages fetched concurrently) beats a call per id for long lists.
        async for page, _ in client.instance_pages():
            yield Batch(selection.match(ids, page)[0], len(ids))
        return
    # Every lookup runs to its end: those that answered are worked on even when another one failed.
    listed = await asyncio.gather(*(client.list_instances(instance_id=i) for i in ids), return_exceptions=True)
    found = [i for batch in listed if isinstance(batch, list) for i in batch]
    yield Batch(selection.match(ids, found)[0], len(ids))
    failure = next((f for f in listed if isinstance(f, BaseException)), None)
    if failure is not None:
        raise failure


def settle(request: BackupRequest, found: list[Instance]) -> Resolution:
    """What the whole listing came to: the requested ids nobody listed, or a selector that matched nothing."""
    if request.selector is not None:
        return Resolution(found, [], empty_selector=not found)
    instances, missing = selection.match(selection.requested_ids(request), found)
    return Resolution(instances, missing)


async def resolve(client: DdsClient, request: BackupRequest) -> Resolution:
    found = [i async for batch in stream(client, request) for i in batch.instances]
    return settle(request, found)
