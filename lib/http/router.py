"""A declarative route table (after Powertools' ``APIGatewayRestResolver``): method + path template -> the
route's authentication check, then its handler.

Path templates name their parameters (``/backups/{backup_id}``); a parameter matches 1-64 letters, digits, ``-``
or ``_``, nothing that could change the meaning of a URL. A path that matches with another method answers 405
with ``Allow``; no match answers 404 listing the routes. A route cannot be declared without its check, and the
router runs it before the handler: no handler has to remember to authenticate, and none sees an unauthenticated
request.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lib.codes import ErrorCode
from lib.http.auth import Caller, Check
from lib.http.gateway import HttpError, HttpRequest
from lib.service import BackupService

Handler = Callable[[HttpRequest, Caller, BackupService], Awaitable[dict[str, Any]]]
_PARAM = re.compile(r"(\{[a-z_]+\})")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    auth: Check

    def compile(self) -> re.Pattern[str]:
        parts = _PARAM.split(self.template)
        regex = "".join(f"(?P<{p[1:-1]}>[A-Za-z0-9_-]{{1,64}})" if _PARAM.fullmatch(p) else re.escape(p) for p in parts)
        return re.compile(f"^{regex}$")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._compiled = [(r, r.compile()) for r in routes]

    async def dispatch(self, request: HttpRequest, service: BackupService) -> dict[str, Any]:
        allowed: list[str] = []
        for route, pattern in self._compiled:
            match = pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            routed = dataclasses.replace(request, path_params=match.groupdict())
            caller = route.auth.authenticate(routed, service)
            return await route.handler(routed, caller, service)
        if allowed:
            methods = ", ".join(sorted(set(allowed)))
            raise HttpError(405, ErrorCode.METHOD_NOT_ALLOWED, f"{request.path} accepts {methods}", {"Allow": methods})
        listing = ", ".join(f"{r.method} {r.template}" for r in self.routes)
        raise HttpError(404, ErrorCode.NOT_FOUND, f"no route for {request.path}; routes: {listing}")
