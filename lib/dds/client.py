"""The DDS v3 API over aiohttp: one ``ClientSession`` per invocation, every call bounded by the deadline.

What is signed is what is sent: the query string is built here with the signer's encoding and handed to
yarl as already encoded, and the body is sent as the exact bytes that were hashed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError
from yarl import URL

from lib.dds.auth import Authenticator, OutgoingRequest
from lib.dds.auth.signer import canonical_query
from lib.dds.errors import DdsApiError, DdsError, DdsTransportError, error_fields
from lib.dds.models import Backup, CreateManualBackupResponse, Instance, Job
from lib.dds.retry import NO_RETRY, RetryPolicy, with_retry
from lib.runtime import Deadline

PAGE_LIMIT = 100  # the API's maximum

#: The IAM action each operation needs (OTC dds_actions.rst; Huawei's alias in brackets). The deployment guide
#: lists exactly these for the agency, and a test keeps the two in step.
IAM_ACTIONS: dict[str, str] = {
    "create_manual_backup": "dds:instance:createManualBackup",
    "iter_backups": "dds:backup:list",
    "list_instances": "dds:instance:list",
    "delete_manual_backup": "dds:backup:delete",
}
M = TypeVar("M", bound=BaseModel)


class DdsClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        endpoint: str,
        project_id: str,
        auth: Authenticator,
        deadline: Deadline,
        request_timeout: float = 15.0,
        limit: asyncio.Semaphore | None = None,
        retry: RetryPolicy = NO_RETRY,
    ) -> None:
        self._session = session
        self._base = URL(endpoint)
        self._host = self._base.raw_authority  # with the port, exactly as the Host header will carry it
        self._prefix = self._base.raw_path.rstrip("/")
        self._project_id = project_id
        self._auth = auth
        self._deadline = deadline
        self._timeout = request_timeout
        # Every HTTP request of the invocation holds this while in flight: MAX_CONCURRENCY, whatever the fan-out.
        self._limit = limit or asyncio.Semaphore(10)
        self._retry = retry
        #: HTTP requests sent, for the result's ``attempts`` and for tests.
        self.requests_sent = 0

    @property
    def project_id(self) -> str:
        return self._project_id

    # -- operations -------------------------------------------------------------------------------------

    async def create_manual_backup(
        self, instance_id: str, name: str, description: str | None = None
    ) -> CreateManualBackupResponse:
        backup: dict[str, str] = {"instance_id": instance_id, "name": name}
        if description is not None:
            backup["description"] = description
        data = await self._call("POST", "/backups", body={"backup": backup})
        return self._parse(CreateManualBackupResponse, data)

    async def iter_backups(
        self, *, instance_id: str | None = None, backup_id: str | None = None, backup_type: str | None = None
    ) -> AsyncIterator[Backup]:
        """Every backup matching the filters, newest first, page after page."""
        query = _drop_none(instance_id=instance_id, backup_id=backup_id, backup_type=backup_type)
        async for item in self._pages("/backups", "backups", query):
            yield self._parse(Backup, item)

    async def list_backups(self, **filters: str | None) -> list[Backup]:
        return [b async for b in self.iter_backups(**filters)]

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
        tag_filter = ",".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else None
        query = _drop_none(id=instance_id, name=name, mode=mode, tags=tag_filter)
        return [self._parse(Instance, item) async for item in self._pages("/instances", "instances", query)]

    async def show_job(self, job_id: str) -> Job:
        data = await self._call("GET", "/jobs", query=[("id", job_id)])
        return self._parse(Job, data.get("job"))

    async def delete_manual_backup(self, backup_id: str) -> str:
        data = await self._call("DELETE", f"/backups/{backup_id}")
        job_id = data.get("job_id")
        if not isinstance(job_id, str):
            raise DdsTransportError("DDS.BAD_RESPONSE", "delete answered without a job_id", retryable=True)
        return job_id

    # -- plumbing ---------------------------------------------------------------------------------------

    async def _pages(self, path: str, key: str, query: list[tuple[str, str]]) -> AsyncIterator[Any]:
        offset = 0
        while True:
            page = [*query, ("offset", str(offset)), ("limit", str(PAGE_LIMIT))]
            data = await self._call("GET", path, query=page)
            items = data.get(key)
            if not isinstance(items, list):
                raise DdsTransportError("DDS.BAD_RESPONSE", f"list answer without '{key}'", retryable=True)
            for item in items:
                yield item
            offset += len(items)
            total = data.get("total_count")
            if not items or (isinstance(total, int) and offset >= total) or len(items) < PAGE_LIMIT:
                return

    def _parse(self, model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except ValidationError:
            raise DdsTransportError(
                "DDS.BAD_RESPONSE", f"unexpected answer shape for {model.__name__}", retryable=True
            ) from None

    async def _call(
        self, method: str, path: str, *, query: list[tuple[str, str]] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """GETs are retried by the policy; a POST or DELETE is retried by its caller, who knows whether a
        lost answer may have hidden a change (see runner/execute.py)."""
        if method != "GET":
            return await self._call_once(method, path, query, body)
        return await with_retry(
            lambda: self._call_once(method, path, query, body),
            policy=self._retry,
            deadline=self._deadline,
            what=f"{method} {path}",
        )

    async def _call_once(
        self, method: str, path: str, query: list[tuple[str, str]] | None, body: Any
    ) -> dict[str, Any]:
        reauthenticated = False
        while True:
            try:
                return await self._send(method, path, query or [], body)
            except DdsApiError as exc:
                if exc.http_status == 401 and not reauthenticated and self._auth.rejected():
                    reauthenticated = True
                    continue
                raise

    async def _send(self, method: str, path: str, query: list[tuple[str, str]], body: Any) -> dict[str, Any]:
        full_path = f"{self._prefix}/v3/{self._project_id}{path}"
        request = OutgoingRequest(
            method=method,
            host=self._host,
            path=full_path,
            query=query,
            headers={"Content-Type": "application/json"},
            body=json.dumps(body, separators=(",", ":")).encode() if body is not None else b"",
        )
        # The slot first: the deadline check, the signature's X-Sdk-Date and the timeout all count from when
        # the request really leaves, not from when it joined the queue.
        async with self._limit:
            if self._deadline.expired:
                raise DdsError("DEADLINE_EXCEEDED", "the invocation ran out of time", retryable=True)
            await self._auth.apply(request)
            qs = canonical_query(request.query)
            url = URL(f"{self._base.scheme}://{self._host}{full_path}" + (f"?{qs}" if qs else ""), encoded=True)
            timeout = self._deadline.bound(self._timeout)
            self.requests_sent += 1
            try:
                async with self._session.request(
                    method,
                    url,
                    headers=request.headers,
                    data=request.body or None,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                    allow_redirects=False,
                ) as resp:
                    raw = await resp.read()
                    request_id = resp.headers.get("X-Request-Id")
                    retry_after = resp.headers.get("Retry-After")
                    status = resp.status
            except asyncio.TimeoutError:
                raise DdsTransportError(
                    "TIMEOUT", f"{method} {path} got no answer within {timeout:.1f}s", retryable=True
                ) from None
            except aiohttp.ClientError as exc:
                raise DdsTransportError(
                    "CONNECTION_ERROR",
                    f"{method} {path}: no answer from {self._base.host} ({type(exc).__name__}); "
                    "check DDS_ENDPOINT/REGION if this persists",
                    retryable=True,
                ) from None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        if not 200 <= status < 300:
            code, message = error_fields(data)
            raise DdsApiError.from_response(status, code, message, request_id, retry_after)
        if not isinstance(data, dict):
            raise DdsTransportError(
                "DDS.BAD_RESPONSE", f"{method} {path} answered {status} with a non-JSON body", retryable=True
            )
        return data


def _drop_none(**params: str | None) -> list[tuple[str, str]]:
    return [(k, v) for k, v in params.items() if v is not None]
