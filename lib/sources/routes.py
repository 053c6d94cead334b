"""Webhook routes (CONTRACT.md section 5): ``POST /backups``, ``GET /backups/{backup_id}``, ``POST /slack``.

Every route authenticates before anything else: a missing, stale or forged signature is a 401 and no DDS call
at all. With no secret configured a route answers 401 too (fail closed), unless ``WEBHOOK_AUTH=gateway``
says API Gateway's own APP/IAM authentication already vouches for the caller.

``POST /backups`` answers 202 + ``Location: /backups/{backup_id}`` while the backup builds (or when a
``wait`` ran out of budget), 200 when it is completed or already existed, 400/404 for bad requests and
502/503 when DDS failed (503 + Retry-After when trying again can help).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any

from lib.config import ConfigError
from lib.dds.errors import DdsError
from lib.models import BackupRequest, ErrorInfo, Outcome, ResultEvent, Trigger
from lib.pipeline import Env, execute, open_session
from lib.sources import slack
from lib.sources.apig import HttpError, HttpRequest, error_response, response
from lib.sources.base import Item, validate_request
from lib.sources.webhook_auth import verify_slack, verify_webhook

_BACKUP_PATH = re.compile(r"^/backups/([A-Za-z0-9_-]{1,64})$")
_NOT_FOUND = {"INSTANCE_NOT_FOUND", "NO_MATCHING_INSTANCE"}
RETRY_AFTER_S = "30"


async def dispatch(request: HttpRequest, env: Env) -> dict[str, Any]:
    path = request.path
    if path == "/backups":
        _allow(request, "POST")
        return await post_backups(request, env)
    if (match := _BACKUP_PATH.match(path)) is not None:
        _allow(request, "GET")
        return await get_backup(request, env, match.group(1))
    if path == "/slack":
        _allow(request, "POST")
        return await post_slack(request, env)
    raise HttpError(404, "NOT_FOUND", f"no route for {path}; routes: POST /backups, GET /backups/{{id}}, POST /slack")


def _allow(request: HttpRequest, method: str) -> None:
    if request.method != method:
        raise HttpError(405, "METHOD_NOT_ALLOWED", f"{request.path} accepts {method}", {"Allow": method})


def _authenticate(request: HttpRequest, env: Env, route: str) -> None:
    settings = env.settings
    if settings is None:
        raise HttpError(500, "INVALID_CONFIG", env.config_error or "invalid configuration")
    if settings.webhook_auth == "gateway":
        return
    secret = settings.slack_signing_secret if route == "slack" else settings.webhook_secret
    variable = "SLACK_SIGNING_SECRET" if route == "slack" else "WEBHOOK_SECRET"
    if secret is None:
        raise HttpError(401, "UNAUTHENTICATED", f"{variable} is not configured: this route refuses every request")
    now = time.time()
    if route == "slack":
        problem = verify_slack(secret.get_secret_value(), request.headers, request.body, now)
    else:
        problem = verify_webhook(secret.get_secret_value(), request.headers, request.body, now)
    if problem is not None:
        raise HttpError(401, "UNAUTHENTICATED", problem)


def _json_body(request: HttpRequest) -> Any:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "INVALID_BODY", "the body is not UTF-8") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HttpError(400, "INVALID_JSON", f"the body is not JSON ({getattr(exc, 'msg', exc)})") from None


def webhook_item(request: HttpRequest, backup_request: BackupRequest, trigger: Trigger, delivery: str | None) -> Item:
    """A delivery id (webhook-id, X-GitHub-Delivery, Slack trigger_id) is the request's idempotency key."""
    item = Item.of(
        trigger,
        f"http:{request.request_id}",
        delivery or request.request_id,
        datetime.now(timezone.utc),
        backup_request,
    )
    # An idempotency_key or an origin in the body has already set the identity; otherwise the delivery does.
    if delivery and backup_request.idempotency_key is None and backup_request.origin is None:
        return item.keyed(delivery)
    return item


async def post_backups(request: HttpRequest, env: Env) -> dict[str, Any]:
    _authenticate(request, env, "webhook")
    assert env.settings is not None
    result = validate_request(_json_body(request), "the body")
    if isinstance(result, ErrorInfo):
        details = [d.model_dump() for d in result.details or []]
        return error_response(400, result.code, result.message, request.request_id, details=details)
    delivery = request.header("webhook-id") or request.header("x-github-delivery")
    item = webhook_item(request, result, Trigger.APIG, delivery)
    executed = await execute([item], env, wait_deadline=env.invocation.deadline.within(env.settings.webhook_wait))
    return backups_answer(executed.results, request.request_id)


def _status_of(event: ResultEvent) -> str:
    data = event.data
    if data.backup_status:
        return data.backup_status
    known = {
        Outcome.COMPLETED: "COMPLETED",
        Outcome.CREATED: "BUILDING",
        Outcome.DRY_RUN: "DRY_RUN",
        Outcome.FANNED_OUT: "QUEUED",  # handed to its own invocation through SMN
    }
    return known.get(data.outcome, "FAILED" if data.outcome is Outcome.FAILED else "REJECTED")


def _http_status(event: ResultEvent) -> int:
    data = event.data
    if data.outcome in (Outcome.CREATED, Outcome.FANNED_OUT):
        return 202
    if data.outcome in (Outcome.COMPLETED, Outcome.EXISTS, Outcome.DRY_RUN, Outcome.PRUNED):
        return 200
    assert data.error is not None
    if data.outcome is Outcome.REJECTED:
        return 404 if data.error.code in _NOT_FOUND else 400
    if data.error.code == "INVALID_CONFIG":
        return 500
    return 503 if data.error.retryable else 502


def backups_answer(results: list[ResultEvent], request_id: str) -> dict[str, Any]:
    statuses = [_http_status(r) for r in results]
    # The worst answer wins: an error over "still building" over "done".
    status = max(statuses, key=lambda s: (s >= 400, s == 202, s))
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_S
    body: dict[str, Any] = {"request_id": request_id, "results": [r.to_json_dict() for r in results]}
    # The backup itself, as opposed to the retention clean-up that may follow it.
    primary = [r for r in results if r.data.outcome is not Outcome.PRUNED]
    if len(primary) == 1:
        data = primary[0].data
        body.update(
            status=_status_of(primary[0]),
            outcome=data.outcome.value,
            backup_id=data.backup_id,
            name=data.name,
            instance_id=data.instance_id,
            job_id=data.job_id,
            error=data.error.model_dump(exclude_none=True) if data.error else None,
        )
        if data.backup_id:
            body["status_url"] = f"/backups/{data.backup_id}"
            if status in (200, 202):
                headers["Location"] = body["status_url"]
    return response(status, body, headers)


async def get_backup(request: HttpRequest, env: Env, backup_id: str) -> dict[str, Any]:
    _authenticate(request, env, "webhook")
    assert env.settings is not None
    try:
        async with open_session(env, env.invocation.deadline.within(env.settings.request_timeout)) as connected:
            found = await connected.dds.list_backups(backup_id=backup_id)
    except ConfigError as exc:
        return error_response(500, "INVALID_CONFIG", str(exc), request.request_id)
    except DdsError as exc:
        status = 503 if exc.retryable else 502
        headers = {"Retry-After": RETRY_AFTER_S} if exc.retryable else None
        return error_response(status, exc.code, exc.message, request.request_id, headers=headers)
    match = next((b for b in found if b.id == backup_id), None)
    if match is None:
        return error_response(404, "BACKUP_NOT_FOUND", f"no backup {backup_id} in this project", request.request_id)
    return response(
        200,
        {
            "backup_id": match.id,
            "name": match.name,
            "instance_id": match.instance_id,
            "instance_name": match.instance_name,
            "status": match.status,
            "type": match.type,
            "begin_time": match.begin_time,
            "end_time": match.end_time,
            "size_kb": match.size,
            "request_id": request.request_id,
        },
    )


async def post_slack(request: HttpRequest, env: Env) -> dict[str, Any]:
    _authenticate(request, env, "slack")
    return await slack.handle(request, env)
