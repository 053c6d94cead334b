"""``dds-backup serve``: a local HTTP server that plays API Gateway in front of the handler.

Each request becomes an APIG event (base64 body, lower-case headers, path, method, query) and the handler's
APIG response becomes the HTTP answer, so webhook senders, curl snippets and CI jobs can be tried locally.
The handler is synchronous and runs its own event loop, so it runs in a worker thread.

As a production front does (nginx's client_header_timeout and client_body_timeout, API Gateway's own limits), a
client gets ``read_timeout`` seconds for its request line and headers, counted from the connection's start, and as
many again for its body: one that trickles bytes is answered 408 and cut off, so it cannot hold a connection (and
a worker) open. Each connection carries one request (``Connection: close``), so every request has its own clock.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from dds_backup_dev.context import LocalContext
from lib.codes import ErrorCode


@dataclass(frozen=True)
class RouteAuth:
    """What authenticates some routes: the variable whose secret they check (its name, never its value)."""

    routes: tuple[str, ...]
    #: The variable holding the secret; None when API Gateway's own authentication is trusted instead.
    variable: str | None
    scheme: str


def route_auth(lookup: Callable[[str], str | None]) -> list[RouteAuth]:
    """Per route of the function, what ``serve`` must tell its user: which variable's secret the route checks,
    read from the routes' own declaration (``lib.http.app.route_checks``): the routes that share a secret are told
    together, and a route handed to API Gateway's authentication (``WEBHOOK_AUTH`` or ``CHAT_AUTH`` set to
    ``gateway``) checks none."""
    from lib.http.app import route_checks

    groups: dict[str, list[str]] = {}
    checks = {}
    for route in route_checks():
        groups.setdefault(route.secret, []).append(f"{route.method} {route.path}")
        checks[route.secret] = route
    out = []
    for variable, routes in groups.items():
        check = checks[variable]
        if (lookup(check.trust) or "").strip().lower() == "gateway":
            trusted = f"API Gateway's own authentication ({check.trust}=gateway); locally: nothing is checked"
            out.append(RouteAuth(tuple(routes), None, trusted))
        else:
            out.append(RouteAuth(tuple(routes), variable, check.scheme))
    return out


def to_apig_event(request: web.Request, body: bytes) -> dict[str, Any]:
    request_id = uuid.uuid4().hex
    return {
        "body": base64.b64encode(body).decode(),
        "requestContext": {"apiId": "local", "requestId": request_id, "stage": "RELEASE"},
        "queryStringParameters": dict(request.query),
        "httpMethod": request.method,
        "pathParameters": {},
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "path": request.path,
        "isBase64Encoded": True,
    }


def from_apig_response(answer: dict[str, Any]) -> web.Response:
    body = answer.get("body", "")
    raw = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    return web.Response(status=int(answer.get("statusCode", 500)), body=raw, headers=headers)


#: Seconds a client gets for its request line and headers, and again for its body.
READ_TIMEOUT_S = 10.0


def _json_error(status: int, reason: str, code: ErrorCode | None = None) -> web.Response:
    """Errors in the function's own shape, never aiohttp's text pages (which echo the offending bytes)."""
    code = code or (ErrorCode.BAD_HTTP_REQUEST if status < 500 else ErrorCode.INTERNAL_ERROR)
    return web.json_response({"error": {"code": code, "message": reason}}, status=status)


def _too_slow(what: str, seconds: float) -> str:
    return f"the request's {what} did not arrive within {seconds:g} s"


def _raw_408(message: str) -> bytes:
    """A whole 408 answer, written straight to a connection whose request never became one."""
    body = json.dumps({"error": {"code": ErrorCode.REQUEST_TIMEOUT, "message": message}}).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@web.middleware
async def _json_http_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:  # e.g. a body over client_max_size
        return _json_error(exc.status, exc.reason)


class _JsonErrorHandler(RequestHandler):
    """Requests that never reach the app (malformed request lines, headers, chunking) are answered in JSON too;
    a request line and headers that do not arrive within ``read_timeout`` get a 408 and the connection closes."""

    read_timeout = READ_TIMEOUT_S

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._headers_due: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            self.read_timeout, self._headers_too_slow
        )

    def headers_arrived(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _headers_too_slow(self) -> None:
        self._headers_due = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_raw_408(_too_slow("line and headers", self.read_timeout)))
        self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.headers_arrived()
        super().connection_lost(exc)

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # part of an answer is out: the connection is beyond saving
            raise ConnectionError("an answer was already started")
        response = _json_error(status, f"{HTTPStatus(status).phrase}: malformed HTTP request" if status < 500 else "")
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    read_timeout = READ_TIMEOUT_S

    def __call__(self) -> RequestHandler:
        handler = _JsonErrorHandler(self, loop=self._loop, **self._kwargs)
        handler.read_timeout = self.read_timeout
        return handler


class _Runner(web.AppRunner):
    def __init__(self, app: web.Application, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.read_timeout = read_timeout

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The same server with its handler factory swapped: aiohttp builds it with private arguments.
        server.__class__ = _JsonErrorServer
        server.read_timeout = self.read_timeout  # type: ignore[attr-defined]
        return server


class InFlight:
    """The requests the handler is working on now (for the line after an interrupt)."""

    def __init__(self) -> None:
        self.count = 0


def create_app(
    timeout_s: int = 60,
    in_flight: InFlight | None = None,
    read_timeout: float = READ_TIMEOUT_S,
    stand_ins: frozenset[str] = frozenset(),
) -> web.Application:
    """``stand_ins``: loopback stand-ins for the chat platforms (``--fake-chat-origin``), handed to the handler."""
    import handler  # after the caller has set up the environment

    busy = in_flight or InFlight()

    async def any_route(request: web.Request) -> web.StreamResponse:
        protocol = request.protocol
        if isinstance(protocol, _JsonErrorHandler):
            protocol.headers_arrived()
        try:
            body = await asyncio.wait_for(request.read(), read_timeout)
        except asyncio.TimeoutError:
            slow = _json_error(408, _too_slow("body", read_timeout), ErrorCode.REQUEST_TIMEOUT)
            slow.force_close()
            return slow
        event = to_apig_event(request, body)
        context = LocalContext(timeout_s=timeout_s, request_id=event["requestContext"]["requestId"])
        busy.count += 1
        try:
            call = functools.partial(handler.handler, event, context, chat_stand_ins=stand_ins)
            answer = await asyncio.get_running_loop().run_in_executor(None, call)
        except Exception as exc:  # the handler never raises for APIG events; if it does, say so plainly
            return web.json_response({"error": {"code": ErrorCode.HANDLER_RAISED, "message": str(exc)}}, status=500)
        finally:
            busy.count -= 1
        response = from_apig_response(answer)
        response.force_close()  # one request per connection: the next one's headers have their own clock
        return response

    app = web.Application(client_max_size=8 * 1024**2, middlewares=[_json_http_errors])
    app.router.add_route("*", "/{tail:.*}", any_route)
    return app


async def serve(
    host: str,
    port: int,
    timeout_s: int,
    read_timeout: float = READ_TIMEOUT_S,
    *,
    stand_ins: frozenset[str] = frozenset(),
    on_ready: Callable[[str], None] | None = None,
    on_interrupt: Callable[[int], None] | None = None,
) -> bool:
    """Serve until Ctrl-C (SIGINT; SIGTERM ends the process as it always does). ``on_ready`` gets the URL once the port
    is bound; ``on_interrupt`` the number of requests still in flight, before anything is torn down (it may end
    the process rather than wait for them)."""
    in_flight = InFlight()
    # lingering_time=0: a body that never finished is not read on after the 408 (aiohttp would for 10 s)
    app = create_app(timeout_s, in_flight, read_timeout, stand_ins)
    runner = _Runner(app, read_timeout, access_log=None, lingering_time=0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    url = f"http://{host}:{bound[1]}"
    stop = asyncio.Event()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        if on_interrupt is not None:
            on_interrupt(in_flight.count)
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupt)
    if on_ready is not None:
        on_ready(url)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return interrupted
