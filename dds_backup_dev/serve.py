"""``dds-backup serve``: a local HTTP server that plays API Gateway in front of the handler.

Each request becomes an APIG event (base64 body, lower-case headers, path, method, query) and the handler's
APIG response becomes the HTTP answer, so webhook senders, curl snippets and CI jobs can be tried locally.
The handler is synchronous and runs its own event loop, so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
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


@dataclass(frozen=True)
class RouteAuth:
    """What authenticates some routes: the variable whose secret they check (its name, never its value)."""

    routes: tuple[str, ...]
    #: The variable holding the secret; None when API Gateway's own authentication is trusted instead.
    variable: str | None
    scheme: str


def route_auth(lookup: Callable[[str], str | None]) -> list[RouteAuth]:
    """Per route of the function, what ``serve`` must tell its user: which variable's secret the route checks.

    The one place that knows it on the dev side (lib/http/auth.py decides it for the function): with
    ``WEBHOOK_AUTH=gateway`` every route trusts API Gateway's authentication and checks no secret.
    """
    if (lookup("WEBHOOK_AUTH") or "").strip().lower() == "gateway":
        trusted = "API Gateway's own authentication (WEBHOOK_AUTH=gateway); locally: nothing is checked"
        return [
            RouteAuth(("POST /backups", "GET /backups/{backup_id}"), None, trusted),
            RouteAuth(("POST /slack", "POST /teams", "POST /mattermost"), None, trusted),
        ]
    return [
        RouteAuth(
            ("POST /backups", "GET /backups/{backup_id}"),
            "WEBHOOK_SECRET",
            "Standard Webhooks signature (a whsec_ secret) or X-Hub-Signature-256",
        ),
        RouteAuth(("POST /slack",), "SLACK_SIGNING_SECRET", "Slack's v0 request signature"),
        RouteAuth(("POST /teams",), "TEAMS_WEBHOOK_TOKEN", "Teams' HMAC of the outgoing webhook's token"),
        RouteAuth(("POST /mattermost",), "MATTERMOST_TOKEN", "the slash command's token"),
    ]


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


def _json_error(status: int, reason: str) -> web.Response:
    """Errors in the function's own shape, never aiohttp's text pages (which echo the offending bytes)."""
    code = "BAD_HTTP_REQUEST" if status < 500 else "INTERNAL_ERROR"
    return web.json_response({"error": {"code": code, "message": reason}}, status=status)


@web.middleware
async def _json_http_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:  # e.g. a body over client_max_size
        return _json_error(exc.status, exc.reason)


class _JsonErrorHandler(RequestHandler):
    """Requests that never reach the app (malformed request lines, headers, chunking) are answered in JSON too."""

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # part of an answer is out: the connection is beyond saving
            raise ConnectionError("an answer was already started")
        response = _json_error(status, f"{HTTPStatus(status).phrase}: malformed HTTP request" if status < 500 else "")
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The same server with its handler factory swapped: aiohttp builds it with private arguments.
        server.__class__ = _JsonErrorServer
        return server


class InFlight:
    """The requests the handler is working on now (for the line after an interrupt)."""

    def __init__(self) -> None:
        self.count = 0


def create_app(timeout_s: int = 60, in_flight: InFlight | None = None) -> web.Application:
    import handler  # after the caller has set up the environment

    busy = in_flight or InFlight()

    async def any_route(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        event = to_apig_event(request, body)
        context = LocalContext(timeout_s=timeout_s, request_id=event["requestContext"]["requestId"])
        busy.count += 1
        try:
            answer = await asyncio.get_running_loop().run_in_executor(None, handler.handler, event, context)
        except Exception as exc:  # the handler never raises for APIG events; if it does, say so plainly
            return web.json_response({"error": {"code": "HANDLER_RAISED", "message": str(exc)}}, status=500)
        finally:
            busy.count -= 1
        return from_apig_response(answer)

    app = web.Application(client_max_size=8 * 1024**2, middlewares=[_json_http_errors])
    app.router.add_route("*", "/{tail:.*}", any_route)
    return app


async def serve(
    host: str,
    port: int,
    timeout_s: int,
    *,
    on_ready: Callable[[str], None] | None = None,
    on_interrupt: Callable[[int], None] | None = None,
) -> bool:
    """Serve until Ctrl-C (SIGINT; SIGTERM ends the process as it always does). ``on_ready`` gets the URL once the port
    is bound; ``on_interrupt`` the number of requests still in flight, before anything is torn down (it may end
    the process rather than wait for them)."""
    in_flight = InFlight()
    runner = _Runner(create_app(timeout_s, in_flight), access_log=None)
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
