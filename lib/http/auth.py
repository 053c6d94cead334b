"""Authenticating a route's requests before anything else: a missing, stale or forged signature is a 401 and
no DDS call at all. A route with no secret configured refuses everything (fail closed), unless
``WEBHOOK_AUTH=gateway`` says API Gateway's own APP/IAM authentication already vouches for the caller.

Authentication also says what identifies the delivery (the idempotency of a webhook), and only from what the
scheme covers: Standard Webhooks signs its ``webhook-id``; GitHub's ``X-GitHub-Delivery`` is not signed, so a
GitHub-signed request is identified by its body. Identities are prefixed by their scheme, so an id of one scheme
can never claim another's backup.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from lib.config import Settings
from lib.http.gateway import HttpError, HttpRequest
from lib.http.signatures import uses_standard_webhooks, verify_mattermost, verify_slack, verify_teams, verify_webhook
from lib.logs import get_logger
from lib.service import BackupService

_log = get_logger("http")


@dataclass(frozen=True)
class Caller:
    settings: Settings
    #: What makes a retried delivery the same backup (None: nothing does; each request is its own).
    delivery: str | None = None


def settings_of(service: BackupService) -> Settings:
    """The settings, or a 500 that says only that they are invalid: without them no caller can be authenticated,
    so what is wrong goes to the log, not to whoever asked."""
    if service.settings is None:
        _log.error(f"invalid configuration: {service.config_failure().message}")
        raise HttpError(500, "INVALID_CONFIG", "the function's configuration is invalid; its log says what to fix")
    return service.settings


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise HttpError(401, "UNAUTHENTICATED", problem)


def _unconfigured(variable: str) -> HttpError:
    return HttpError(401, "UNAUTHENTICATED", f"{variable} is not configured: this route refuses every request")


def require_webhook_signature(request: HttpRequest, service: BackupService) -> Caller:
    """``POST /backups``, ``GET /backups/{id}``: Standard Webhooks or X-Hub-Signature-256 with WEBHOOK_SECRET."""
    settings = settings_of(service)
    headers = request.headers
    if settings.webhook_auth == "gateway":
        # The gateway authenticated the caller; its delivery headers are the caller's word.
        if webhook_id := headers.get("webhook-id"):
            return Caller(settings, f"webhook:{webhook_id}")
        github = headers.get("x-github-delivery")
        return Caller(settings, f"github-delivery:{github}" if github else None)
    if settings.webhook_secret is None:
        raise _unconfigured("WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value()
    _refuse(verify_webhook(secret, headers, request.body, time.time(), request.method, request.path))
    if uses_standard_webhooks(headers):
        return Caller(settings, f"webhook:{headers['webhook-id']}")
    return Caller(settings, "github:" + hashlib.sha256(request.body).hexdigest()[:32])


def _chat(service: BackupService, variable: str, check: Callable[[str], str | None]) -> Settings:
    """A chat route: its own secret (``variable``), checked by ``check``; the gateway's auth when so configured."""
    settings = settings_of(service)
    if settings.webhook_auth == "gateway":
        return settings
    secret = getattr(settings, variable.lower())
    if secret is None:
        raise _unconfigured(variable)
    _refuse(check(secret.get_secret_value()))
    return settings


def require_slack_signature(request: HttpRequest, service: BackupService) -> Settings:
    return _chat(service, "SLACK_SIGNING_SECRET", lambda s: verify_slack(s, request.headers, request.body, time.time()))


def require_teams_signature(request: HttpRequest, service: BackupService) -> Settings:
    return _chat(service, "TEAMS_WEBHOOK_TOKEN", lambda token: verify_teams(token, request.headers, request.body))


def require_mattermost_token(request: HttpRequest, service: BackupService, form_token: str | None) -> Settings:
    return _chat(service, "MATTERMOST_TOKEN", lambda token: verify_mattermost(token, request.headers, form_token))
