"""Signed JSON calls to a Huawei/OTC REST API over aiohttp: the transport under the DDS and SMN clients.

One ``ClientSession`` per invocation; every call takes its turn from the API's limiter (``limiter.py``: calls in
flight and the send rate) and is bounded by the deadline. A throttled call waits for the limiter and is sent again,
spending none of its retry attempts, until the deadline. What is signed is what is sent: the query string is built
here with the signer's encoding and handed to yarl as already encoded, and the body is sent as the exact bytes that
were hashed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from lib.cloud.auth import Authenticator, OutgoingRequest
from lib.cloud.auth.signer import canonical_query
from lib.cloud.errors import ApiError, CloudError, TransportError, error_fields, throttling
from lib.cloud.limiter import Limiter
from lib.cloud.retry import NO_RETRY, RetryPolicy, with_retry
from lib.codes import ErrorCode
from lib.logs import get_logger
from lib.runtime import Deadline

_log = get_logger("transport")


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
        limiter: Limiter | None = None,
        retry: RetryPolicy = NO_RETRY,
    ) -> None:
        self._session = session
        self._base = URL(endpoint)
        self._host = self._base.raw_authority  # with the port, exactly as the Host header will carry it
        self._prefix = self._base.raw_path.rstrip("/") + prefix
        self._auth = auth
        self._deadline = deadline
        self._timeout = request_timeout
        # Shared by every call of the invocation to this API, whatever the fan-out.
        self._limiter = limiter or Limiter(None, max_in_flight=10)
        self._retry = retry

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        on_send: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """GETs are retried by the policy; a POST or DELETE is retried by its caller, who knows whether a
        lost answer may have hidden a change (see lib/runner/create.py). A throttled call of any method is sent
        again here: the API applied nothing. ``on_send`` runs as each request leaves (the creates are counted)."""
        if method != "GET":
            return await self._call_once(method, path, query, body, on_send)
        return await with_retry(
            lambda: self._call_once(method, path, query, body, on_send),
            policy=self._retry,
            deadline=self._deadline,
            what=f"{method} {path}",
        )

    async def _call_once(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None,
        body: Any,
        on_send: Callable[[], None] | None,
    ) -> dict[str, Any]:
        reauthenticated = False
        throttled = 0
        while True:
            try:
                return await self._send(method, path, query or [], body, on_send)
            except ApiError as exc:
                if exc.http_status == 401 and not reauthenticated and self._auth.rejected():
                    reauthenticated = True
                    continue
                if not throttling(exc):
                    raise
                throttled += 1
                await self._back_off(exc, throttled, f"{method} {path}")

    async def _back_off(self, exc: ApiError, throttled: int, what: str) -> None:
        """After a throttled answer: wait (from the longer throttling base, at least Retry-After), then queue for
        the limiter again. Only the deadline ends it: the throttle is then the call's error."""
        pause = self._retry.throttle_delay(throttled, exc)
        if pause >= self._deadline.remaining():
            raise ApiError(
                exc.code,
                f"{exc.message}; the invocation ran out of time waiting under the rate limit "
                f"(this call was throttled {throttled} times)",
                retryable=True,
                http_status=exc.http_status,
                request_id=exc.request_id,
                retry_after=exc.retry_after,
            ) from None
        _log.info(
            f"{what}: throttled ({exc.code}); queueing again in {pause:.2f}s",
            extra={"retry.throttled": throttled, "retry.delay_s": round(pause, 3), "error.type": exc.code},
        )
        await asyncio.sleep(pause)

    async def _send(
        self, method: str, path: str, query: list[tuple[str, str]], body: Any, on_send: Callable[[], None] | None
    ) -> dict[str, Any]:
        request = OutgoingRequest(
            method=method,
            host=self._host,
            path=f"{self._prefix}{path}",
            query=query,
            headers={"Content-Type": "application/json"},
            body=json.dumps(body, separators=(",", ":")).encode() if body is not None else b"",
        )
        # The turn first: the deadline check, the signature's X-Sdk-Date and the timeout all count from when
        # the request really leaves, not from when it joined the queue.
        sent_at = await self._limiter.acquire(self._deadline)
        try:
            if self._deadline.expired:
                raise CloudError(ErrorCode.DEADLINE_EXCEEDED, "the invocation ran out of time")
            await self._auth.apply(request)
            if on_send is not None:
                on_send()
            status, raw, headers = await self._exchange(request, what=f"{method} {path}")
        except BaseException:
            self._limiter.release(sent_at, answered=False)
            raise
        try:
            data = _decode(status, raw, headers, what=f"{method} {path}")
        except ApiError as exc:
            self._limiter.release(sent_at, answered=True, throttled=throttling(exc), retry_after=exc.retry_after)
            raise
        except CloudError:
            self._limiter.release(sent_at, answered=True)
            raise
        self._limiter.release(sent_at, answered=True)
        return data

    async def _exchange(self, request: OutgoingRequest, what: str) -> tuple[int, bytes, Mapping[str, str]]:
        qs = canonical_query(request.query)
        url = URL(f"{self._base.scheme}://{self._host}{request.path}" + (f"?{qs}" if qs else ""), encoded=True)
        timeout = self._deadline.bound(self._timeout)
        if timeout <= 0:  # signing may have used the last of it; aiohttp reads a total of 0 as "no timeout"
            raise CloudError(ErrorCode.DEADLINE_EXCEEDED, "the invocation ran out of time")
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
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # No connection: the request never left this machine (nothing can have been applied).
            code = ErrorCode.TIMEOUT if isinstance(exc, asyncio.TimeoutError) else ErrorCode.CONNECTION_ERROR
            raise TransportError(
                code,
                f"{what}: could not connect to {self._base.host} ({type(exc).__name__}); "
                "check DDS_ENDPOINT/REGION if this persists",
                sent=False,
                method=request.method,
                path=request.path,
            ) from None
        except asyncio.TimeoutError:
            raise TransportError(
                ErrorCode.TIMEOUT,
                f"{what} got no answer within {timeout:.1f}s",
                method=request.method,
                path=request.path,
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                ErrorCode.CONNECTION_ERROR,
                f"{what}: no answer from {self._base.host} ({type(exc).__name__}); "
                "check DDS_ENDPOINT/REGION if this persists",
                method=request.method,
                path=request.path,
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
        raise TransportError(ErrorCode.DDS_BAD_RESPONSE, f"{what} answered {status} with a non-JSON body")
    return data
