"""Authenticating a route's requests before anything else. Each route of the table (``lib/http/app.py``) names
its ``Check`` and the router runs it before the route's handler: a missing, stale or forged signature is a 401
and no DDS call at all. A route whose secret is not configured refuses everything (fail closed), unless its own
switch says that API Gateway's APP/IAM authentication already vouches for the caller: ``WEBHOOK_AUTH=gateway``
for ``/backups``, ``CHAT_AUTH=gateway`` for the chat routes. Neither switch touches the other's routes.

Authentication also says what identifies the delivery (the idempotency of a webhook), and only from what the
scheme covers: Standard Webhooks signs its ``webhook-id``; GitHub's ``X-GitHub-Delivery`` is not signed, so a
GitHub-signed request is identified by its body. Identities are prefixed by their scheme, so an id of one scheme
can never claim another's backup. (A chat command's identity is in its signed body: its route reads it.)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs

from lib.codes import ErrorCode
from lib.config import Settings
from lib.http.gateway import HttpError, HttpRequest
from lib.http.signatures import (
    uses_standard_webhooks,
    verify_mattermost,
    verify_slack,
    verify_teams_activity,
    verify_webhook,
)
from lib.logs import get_logger
from lib.service import BackupService

_log = get_logger("http")

SecretVariable = Literal["WEBHOOK_SECRET", "SLACK_SIGNING_SECRET", "TEAMS_WEBHOOK_TOKEN", "MATTERMOST_TOKEN"]
TrustVariable = Literal["WEBHOOK_AUTH", "CHAT_AUTH"]


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
        raise HttpError(
            500, ErrorCode.INVALID_CONFIG, "the function's configuration is invalid; its log says what to fix"
        )
    return service.settings


def _nobody(request: HttpRequest) -> str | None:
    return None


@dataclass(frozen=True)
class Check:
    """How one route authenticates its callers: ``scheme`` in words, the variable that holds its secret, and the
    variable that hands the route to API Gateway's own authentication instead."""

    scheme: str
    secret: SecretVariable
    trust: TrustVariable
    #: The request, the secret, the time: None when authentic, else why not.
    verify: Callable[[HttpRequest, str, float], str | None]
    #: What identifies an authentic delivery (from what the signature covers), and one the gateway let through.
    identify: Callable[[HttpRequest], str | None] = _nobody
    identify_trusted: Callable[[HttpRequest], str | None] = _nobody

    def trusts_gateway(self, settings: Settings) -> bool:
        """Whether the route runs without its own check, on API Gateway's word."""
        mode: str = settings.webhook_auth if self.trust == "WEBHOOK_AUTH" else settings.chat_auth
        return mode == "gateway"

    def authenticate(self, request: HttpRequest, service: BackupService) -> Caller:
        settings = settings_of(service)
        if self.trusts_gateway(settings):
            return Caller(settings, self.identify_trusted(request))
        secret = _secret(settings, self.secret)
        if secret is None:
            raise HttpError(
                401, ErrorCode.UNAUTHENTICATED, f"{self.secret} is not configured: this route refuses every request"
            )
        if (problem := self.verify(request, secret, time.time())) is not None:
            raise HttpError(401, ErrorCode.UNAUTHENTICATED, problem)
        return Caller(settings, self.identify(request))


def _secret(settings: Settings, variable: SecretVariable) -> str | None:
    value = {
        "WEBHOOK_SECRET": settings.webhook_secret,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "TEAMS_WEBHOOK_TOKEN": settings.teams_webhook_token,
        "MATTERMOST_TOKEN": settings.mattermost_token,
    }[variable]
    return value.get_secret_value() if value is not None else None


# -- /backups: Standard Webhooks or X-Hub-Signature-256 ------------------------------------------------------


def _webhook(request: HttpRequest, secret: str, now: float) -> str | None:
    return verify_webhook(secret, request.headers, request.body, now, request.method, request.path)


def _signed_delivery(request: HttpRequest) -> str:
    if uses_standard_webhooks(request.headers):
        return f"webhook:{request.headers['webhook-id']}"
    return "github:" + hashlib.sha256(request.body).hexdigest()[:32]


def _gateway_delivery(request: HttpRequest) -> str | None:
    """The gateway authenticated the caller; its delivery headers are the caller's word."""
    if webhook_id := request.headers.get("webhook-id"):
        return f"webhook:{webhook_id}"
    github = request.headers.get("x-github-delivery")
    return f"github-delivery:{github}" if github else None


# -- the chat platforms ------------------------------------------------------------------------------------------


def _slack(request: HttpRequest, secret: str, now: float) -> str | None:
    return verify_slack(secret, request.headers, request.body, now)


def _teams(request: HttpRequest, token: str, now: float) -> str | None:
    return verify_teams_activity(token, request.headers, request.body, now)


def _form_token(body: bytes) -> str | None:
    """The ``token`` field of a form body; None when there is none (or no readable form: then the header is all)."""
    try:
        return parse_qs(body.decode()).get("token", [None])[0]
    except (UnicodeDecodeError, ValueError):
        return None


def _mattermost(request: HttpRequest, token: str, now: float) -> str | None:
    return verify_mattermost(token, request.headers, _form_token(request.body))


WEBHOOK = Check(
    "Standard Webhooks or X-Hub-Signature-256",
    "WEBHOOK_SECRET",
    "WEBHOOK_AUTH",
    _webhook,
    _signed_delivery,
    _gateway_delivery,
)
SLACK = Check("Slack request signature (v0)", "SLACK_SIGNING_SECRET", "CHAT_AUTH", _slack)
TEAMS = Check("Teams HMAC signature and activity timestamp", "TEAMS_WEBHOOK_TOKEN", "CHAT_AUTH", _teams)
MATTERMOST = Check("Mattermost slash command token", "MATTERMOST_TOKEN", "CHAT_AUTH", _mattermost)
