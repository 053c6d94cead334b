"""The webhook routes, as one table: each names its handler and the check that authenticates its callers
(``lib/http/auth.py``), which the router runs first. No route opens a session or sees a DDS error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.config import Settings
from lib.http import auth, backups, gateway
from lib.http.gateway import HttpRequest
from lib.http.router import Route, Router
from lib.service import BackupService


# The chat platforms are imported when their command comes: a webhook never loads the chat stack (Slack's front
# costs 6 ms of import, Teams' 8.5 ms, Mattermost's 6 ms, measured on top of the webhook's own).
async def _slack(request: HttpRequest, caller: auth.Caller, service: BackupService) -> dict[str, Any]:
    from lib.http.chat import slack

    return await slack.post_slack(request, caller, service)


async def _teams(request: HttpRequest, caller: auth.Caller, service: BackupService) -> dict[str, Any]:
    from lib.http.chat import teams

    return await teams.post_teams(request, caller, service)


async def _mattermost(request: HttpRequest, caller: auth.Caller, service: BackupService) -> dict[str, Any]:
    from lib.http.chat import mattermost

    return await mattermost.post_mattermost(request, caller, service)


ROUTER = Router(
    [
        Route("POST", "/backups", backups.post_backups, auth.WEBHOOK),
        Route("GET", "/backups/{backup_id}", backups.get_backup, auth.WEBHOOK),
        Route("POST", "/slack", _slack, auth.SLACK),
        Route("POST", "/teams", _teams, auth.TEAMS),
        Route("POST", "/mattermost", _mattermost, auth.MATTERMOST),
    ]
)


@dataclass(frozen=True)
class RouteCheck:
    """One route and how it authenticates: its check (``scheme``), the variable whose secret the check uses, and
    the variable that hands the route to API Gateway's authentication instead (``trust``)."""

    method: str
    path: str
    scheme: str
    secret: str
    trust: str
    check: auth.Check

    def trusts_gateway(self, settings: Settings) -> bool:
        """True when, with these settings, the route runs without its own check (on API Gateway's word)."""
        return self.check.trusts_gateway(settings)


def route_checks() -> list[RouteCheck]:
    """Per route of the table: which check it runs and which secret variable that check uses."""
    return [RouteCheck(r.method, r.template, r.auth.scheme, r.auth.secret, r.auth.trust, r.auth) for r in ROUTER.routes]


async def handle(event: dict[str, Any], service: BackupService) -> dict[str, Any]:
    """An API Gateway event in, an APIG response out; never raises."""

    async def dispatch(request: HttpRequest) -> dict[str, Any]:
        return await ROUTER.dispatch(request, service)

    return await gateway.handle(event, dispatch, service.invocation.request_id)
