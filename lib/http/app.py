"""The webhook routes, as one table. Each route authenticates first (``lib/http/auth.py``), then calls the
backup service; none of them opens a session or sees a DDS error."""

from __future__ import annotations

from typing import Any

from lib.http import backups, gateway
from lib.http.chat import mattermost, slack, teams
from lib.http.gateway import HttpRequest
from lib.http.router import Route, Router
from lib.service import BackupService

ROUTER = Router(
    [
        Route("POST", "/backups", backups.post_backups),
        Route("GET", "/backups/{backup_id}", backups.get_backup),
        Route("POST", "/slack", slack.post_slack),
        Route("POST", "/teams", teams.post_teams),
        Route("POST", "/mattermost", mattermost.post_mattermost),
    ]
)


async def handle(event: dict[str, Any], service: BackupService) -> dict[str, Any]:
    """An API Gateway event in, an APIG response out; never raises."""

    async def dispatch(request: HttpRequest) -> dict[str, Any]:
        return await ROUTER.dispatch(request, service)

    return await gateway.handle(event, dispatch, service.invocation.request_id)
