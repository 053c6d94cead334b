"""Authenticating a route's requests before anything else: a missing, stale or forged signature is a 401 and
no DDS call at all. A route with no secret configured refuses everything (fail closed), unless
``WEBHOOK_AUTH=gateway`` says API Gateway's own APP/IAM authentication already vouches for the caller."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from lib.config import Settings
from lib.http.gateway import HttpError, HttpRequest
from lib.http.signatures import verify_slack, verify_webhook
from lib.service import BackupService

Verify = Callable[[str, Mapping[str, str], bytes, float], "str | None"]


def settings_of(service: BackupService) -> Settings:
    if service.settings is None:
        raise HttpError(500, "INVALID_CONFIG", service.config_failure().message)
    return service.settings


def _require(request: HttpRequest, settings: Settings, secret: SecretStr | None, variable: str, verify: Verify) -> None:
    if settings.webhook_auth == "gateway":
        return
    if secret is None:
        raise HttpError(401, "UNAUTHENTICATED", f"{variable} is not configured: this route refuses every request")
    problem = verify(secret.get_secret_value(), request.headers, request.body, time.time())
    if problem is not None:
        raise HttpError(401, "UNAUTHENTICATED", problem)


def require_webhook_signature(request: HttpRequest, service: BackupService) -> Settings:
    """``POST /backups``, ``GET /backups/{id}``: Standard Webhooks or X-Hub-Signature-256 with WEBHOOK_SECRET."""
    settings = settings_of(service)
    _require(request, settings, settings.webhook_secret, "WEBHOOK_SECRET", verify_webhook)
    return settings


def require_slack_signature(request: HttpRequest, service: BackupService) -> Settings:
    settings = settings_of(service)
    _require(request, settings, settings.slack_signing_secret, "SLACK_SIGNING_SECRET", verify_slack)
    return settings
