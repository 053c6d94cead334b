"""The webhook routes, as one table. Each route authenticates first (``lib/http/auth.py``), then calls the
backup service; none of them opens a session or sees a DDS error."""

from __future__ import annotations

from typing import Any

from lib.http import backups, gateway
from lib.http.gateway import HttpRequest
from lib.http.router import Route, Router
from lib.service import BackupService


# The chat platforms are imported when their command comes: a webhook never loads the chat stack.
async def _slack(request: HttpRequest, service: BackupService) -> dict[str, Any]:
    from lib.http.chat import slack

    return await slack.post_slack(request, service)


async def _teams(request: HttpRequest, service: BackupService) -> dict[str, Any]:
    from lib.http.chat import teams

    return await teams.post_teams(request, service)


async def _mattermost(request: HttpRequest, service: BackupService) -> dict[str, Any]:
    from lib.http.chat import mattermost

    return await mattermost.post_mattermost(request, service)


ROUTER = Router(
    [
        Route("POST", "/backups", backups.post_backups),
        Route("GET", "/backups/{backup_id}", backups.get_backup),
        Route("POST", "/slack", _slack),
        Route("POST", "/teams", _teams),
        Route("POST", "/mattermost", _mattermost),
    ]
)


async def handle(event: dict[str, Any], service: BackupService) -> dict[str, Any]:
    """An API Gateway event in, an APIG response out; never raises."""

    async def dispatch(request: HttpRequest) -> dict[str, Any]:
        return await ROUTER.dispatch(request, service)

    return await gateway.handle(event, dispatch, service.invocation.request_id)
