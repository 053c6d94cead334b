"""Signed JSON calls to a Huawei/OTC REST API over aiohttp: the transport under the DDS and SMN clients.

One ``ClientSession`` per invocation; every call holds one of the invocation's ``MAX_CONCURRENCY`` slots and is
bounded by the deadline. What is signed is what is sent: the query string is built here with the signer's
encoding and handed to yarl as already encoded, and the body is sent as the exact bytes that were hashed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from lib.cloud.auth import Authenticator, OutgoingRequest
from lib.cloud.auth.signer import canonical_query
from lib.cloud.errors import ApiError, CloudError, TransportError, error_fields
from lib.cloud.retry import NO_RETRY, RetryPolicy, with_retry
from lib.runtime import Deadline


class SignedTransport:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        endpoint: str,
        prefix: str,
        auth: Authenticator,
        deadline: Deadline,
        request_timeout: float = 15.0,
        limit: asyncio.Semaphore | None = None,
        retry: RetryPolicy = NO_RETRY,
    ) -> None:
        self._session = session
        self._base = URL(endpoint)
        self._host = self._base.raw_authority  # with the port, exactly as the Host header will carry it
        self._prefix = self._base.raw_path.rstrip("/") + prefix
        self._auth = auth
        self._deadline = deadline
        self._timeout = request_timeout
        # Every HTTP request of the invocation holds this while in flight: MAX_CONCURRENCY, whatever the fan-out.
        self._limit = limit or asyncio.Semaphore(10)
        self._retry = retry

    async def call(
        self, method: str, path: str, *, query: list[tuple[str, str]] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """GETs are retried by the policy; a POST or DELETE is retried by its caller, who knows whether a
        lost answer may have hidden a change (see lib/runner/create.py)."""
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
            except ApiError as exc:
                if exc.http_status == 401 and not reauthenticated and self._auth.rejected():
                    reauthenticated = True
                    continue
                raise

    async def _send(self, method: str, path: str, query: list[tuple[str, str]], body: Any) -> dict[str, Any]:
        request = OutgoingRequest(
            method=method,
            host=self._host,
            path=f"{self._prefix}{path}",
            query=query,
            headers={"Content-Type": "application/json"},
            body=json.dumps(body, separators=(",", ":")).encode() if body is not None else b"",
        )
        # The slot first: the deadline check, the signature's X-Sdk-Date and the timeout all count from when
        # the request really leaves, not from when it joined the queue.
        async with self._limit:
            if self._deadline.expired:
                raise CloudError("DEADLINE_EXCEEDED", "the invocation ran out of time", retryable=True)
            await self._auth.apply(request)
            status, raw, headers = await self._exchange(request, what=f"{method} {path}")
        return _decode(status, raw, headers, what=f"{method} {path}")

    async def _exchange(self, request: OutgoingRequest, what: str) -> tuple[int, bytes, Mapping[str, str]]:
        qs = canonical_query(request.query)
        url = URL(f"{self._base.scheme}://{self._host}{request.path}" + (f"?{qs}" if qs else ""), encoded=True)
        timeout = self._deadline.bound(self._timeout)
        if timeout <= 0:  # signing may have used the last of it; aiohttp reads a total of 0 as "no timeout"
            raise CloudError("DEADLINE_EXCEEDED", "the invocation ran out of time", retryable=True)
        try:
            async with self._session.request(
                request.method,
                url,
                headers=request.headers,
                data=request.body or None,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as resp:
                return resp.status, await resp.read(), resp.headers
        except asyncio.TimeoutError:
            raise TransportError("TIMEOUT", f"{what} got no answer within {timeout:.1f}s", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                "CONNECTION_ERROR",
                f"{what}: no answer from {self._base.host} ({type(exc).__name__}); "
                "check DDS_ENDPOINT/REGION if this persists",
                retryable=True,
            ) from None


def _decode(status: int, raw: bytes, headers: Mapping[str, str], what: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; anything else as the error it is."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = None
    if not 200 <= status < 300:
        code, message = error_fields(data)
        raise ApiError.from_response(status, code, message, headers.get("X-Request-Id"), headers.get("Retry-After"))
    if not isinstance(data, dict):
        raise TransportError("DDS.BAD_RESPONSE", f"{what} answered {status} with a non-JSON body", retryable=True)
    return data
