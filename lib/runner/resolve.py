"""Which instances a request means, read from the instances API (every page). Each instance comes back with
its name and state, for naming and the pre-checks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lib.dds.client import DdsClient
from lib.dds.models import Instance
from lib.models import BackupRequest
from lib.planning import selection


@dataclass(frozen=True)
class Resolution:
    instances: list[Instance]
    missing: list[str]  # requested ids the API does not know
    empty_selector: bool = False


async def resolve(client: DdsClient, request: BackupRequest) -> Resolution:
    if request.selector is not None:
        sel = request.selector
        found = await client.list_instances(name=sel.name, mode=sel.mode, tags=sel.tags or None)
        return Resolution(instances=found, missing=[], empty_selector=not found)
    ids = selection.requested_ids(request)
    if selection.list_whole_project(ids):
        # One listing of the project (pages fetched concurrently) beats a call per id for long lists.
        instances, missing = selection.match(ids, await client.list_instances())
        return Resolution(instances=instances, missing=missing)

    async def one(instance_id: str) -> list[Instance]:
        return await client.list_instances(instance_id=instance_id)

    listed = await asyncio.gather(*(one(i) for i in ids))
    instances, missing = selection.match(ids, [i for batch in listed for i in batch])
    return Resolution(instances=instances, missing=missing)
