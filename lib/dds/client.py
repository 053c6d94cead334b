"""The DDS v3 API: typed operations over the signed transport (``lib/cloud/transport.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lib.cloud.errors import TransportError
from lib.cloud.transport import SignedTransport
from lib.codes import ErrorCode
from lib.dds.models import Backup, CreateManualBackupResponse, Instance, Job

PAGE_LIMIT = 100  # the API's maximum

#: The IAM action each operation needs (OTC dds_actions.rst; Huawei's alias in brackets). The deployment guide
#: lists exactly these for the agency, and a test keeps the two in step.
IAM_ACTIONS: dict[str, str] = {
    "create_manual_backup": "dds:instance:createManualBackup",
    "iter_backups": "dds:backup:list",
    "list_instances": "dds:instance:list",
    "instance_pages": "dds:instance:list",
    "delete_manual_backup": "dds:backup:delete",
}
M = TypeVar("M", bound=BaseModel)


class DdsClient:
    """``api``: a signed transport on the DDS endpoint with the prefix ``/v3/{project_id}``."""

    def __init__(self, api: SignedTransport, *, project_id: str) -> None:
        self.api = api
        self._project_id = project_id

    @property
    def project_id(self) -> str:
        return self._project_id

    # -- operations -------------------------------------------------------------------------------------

    async def create_manual_backup(
        self,
        instance_id: str,
        name: str,
        description: str | None = None,
        *,
        on_send: Callable[[], None] | None = None,
    ) -> CreateManualBackupResponse:
        """``on_send`` runs as each request leaves (a throttled create is sent again by the transport)."""
        backup: dict[str, str] = {"instance_id": instance_id, "name": name}
        if description is not None:
            backup["description"] = description
        data = await self.api.call("POST", "/backups", body={"backup": backup}, on_send=on_send)
        return self._parse(CreateManualBackupResponse, data)

    async def iter_backups(
        self, *, instance_id: str | None = None, backup_id: str | None = None, backup_type: str | None = None
    ) -> AsyncIterator[Backup]:
        """Every backup matching the filters, newest first, page after page."""
        query = _drop_none(instance_id=instance_id, backup_id=backup_id, backup_type=backup_type)
        async for item in self._pages("/backups", "backups", query):
            yield self._parse(Backup, item)

    async def list_backups(
        self, *, instance_id: str | None = None, backup_id: str | None = None, backup_type: str | None = None
    ) -> list[Backup]:
        query = _drop_none(instance_id=instance_id, backup_id=backup_id, backup_type=backup_type)
        return [self._parse(Backup, item) for item in await self._all_pages("/backups", "backups", query)]

    async def find_backup_by_name(self, instance_id: str, name: str) -> Backup | None:
        # OTC's list API has no name filter: page through the instance's backups.
        async for backup in self.iter_backups(instance_id=instance_id):
            if backup.name == name:
                return backup
        return None

    async def list_instances(
        self,
        *,
        instance_id: str | None = None,
        name: str | None = None,
        mode: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> list[Instance]:
        """``name`` is exact, or fuzzy when it starts with ``*``; tags are ANDed."""
        query = _instance_query(instance_id, name, mode, tags)
        return [self._parse(Instance, item) for item in await self._all_pages("/instances", "instances", query)]

    async def instance_pages(
        self, *, name: str | None = None, mode: str | None = None, tags: dict[str, str] | None = None
    ) -> AsyncIterator[tuple[list[Instance], int | None]]:
        """(instances, total_count) page by page as each arrives: the first, then the others concurrently, so
        that a caller can start on the first page's instances while the rest load."""
        query = _instance_query(None, name, mode, tags)
        async for items, total in self._page_stream("/instances", "instances", query):
            yield [self._parse(Instance, item) for item in items], total

    async def show_job(self, job_id: str) -> Job:
        data = await self.api.call("GET", "/jobs", query=[("id", job_id)])
        return self._parse(Job, data.get("job"))

    async def delete_manual_backup(self, backup_id: str) -> str:
        data = await self.api.call("DELETE", f"/backups/{backup_id}")
        job_id = data.get("job_id")
        if not isinstance(job_id, str):
            raise TransportError(ErrorCode.DDS_BAD_RESPONSE, "delete answered without a job_id")
        return job_id

    # -- plumbing ---------------------------------------------------------------------------------------

    async def _all_pages(self, path: str, key: str, query: list[tuple[str, str]]) -> list[Any]:
        return [item async for items, _ in self._page_stream(path, key, query) for item in items]

    async def _page_stream(
        self, path: str, key: str, query: list[tuple[str, str]]
    ) -> AsyncIterator[tuple[list[Any], int | None]]:
        """Every page: the first tells ``total_count``, the others are then fetched concurrently (each still
        takes one of the invocation's slots) and yielded as they arrive. Without a count, page after page."""
        items, total = await self._page(path, key, query, 0)
        yield items, total
        if total is None:
            if len(items) == PAGE_LIMIT:
                async for item in self._pages(path, key, query, start=PAGE_LIMIT):
                    yield [item], total
            return
        pending = [asyncio.ensure_future(self._page(path, key, query, o)) for o in range(len(items), total, PAGE_LIMIT)]
        try:
            for arriving in asyncio.as_completed(pending):
                page, _ = await arriving
                yield page, total
        finally:
            for task in pending:
                task.cancel()

    async def _page(
        self, path: str, key: str, query: list[tuple[str, str]], offset: int
    ) -> tuple[list[Any], int | None]:
        data = await self.api.call("GET", path, query=[*query, ("offset", str(offset)), ("limit", str(PAGE_LIMIT))])
        items = data.get(key)
        if not isinstance(items, list):
            raise TransportError(ErrorCode.DDS_BAD_RESPONSE, f"list answer without '{key}'")
        total = data.get("total_count")
        return items, total if isinstance(total, int) else None

    async def _pages(self, path: str, key: str, query: list[tuple[str, str]], start: int = 0) -> AsyncIterator[Any]:
        """Page after page, for callers that may stop early (looking a name up)."""
        offset = start
        while True:
            items, total = await self._page(path, key, query, offset)
            for item in items:
                yield item
            offset += len(items)
            if not items or (total is not None and offset >= total) or len(items) < PAGE_LIMIT:
                return

    def _parse(self, model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except ValidationError:
            raise TransportError(ErrorCode.DDS_BAD_RESPONSE, f"unexpected answer shape for {model.__name__}") from None


def _instance_query(
    instance_id: str | None, name: str | None, mode: str | None, tags: dict[str, str] | None
) -> list[tuple[str, str]]:
    tag_filter = ",".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else None
    return _drop_none(id=instance_id, name=name, mode=mode, tags=tag_filter)


def _drop_none(**params: str | None) -> list[tuple[str, str]]:
    return [(k, v) for k, v in params.items() if v is not None]
