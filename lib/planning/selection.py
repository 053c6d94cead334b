"""Which instances a request means: ``instance_id``, ``instance_ids`` or a ``selector``, resolved through the
instances API (every page). Each instance comes back with its name and state, for naming and pre-checks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lib.dds.client import DdsClient
from lib.dds.models import Instance
from lib.models import BackupRequest

# Up to this many ids are looked up one by one (a project may hold thousands of instances).
BY_ID_LIMIT = 10


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
    ids = [request.instance_id] if request.instance_id is not None else list(request.instance_ids or [])
    if len(ids) > BY_ID_LIMIT:
        # One listing of the project (pages fetched concurrently) beats a call per id for long lists.
        everything = {i.id: i for i in await client.list_instances()}
        return Resolution(
            instances=[everything[i] for i in ids if i in everything], missing=[i for i in ids if i not in everything]
        )

    async def one(instance_id: str) -> Instance | None:
        matches = await client.list_instances(instance_id=instance_id)
        return next((i for i in matches if i.id == instance_id), None)

    found_by_id = await asyncio.gather(*(one(i) for i in ids))
    return Resolution(
        instances=[i for i in found_by_id if i is not None],
        missing=[i for i, f in zip(ids, found_by_id, strict=True) if f is None],
    )
