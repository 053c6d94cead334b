"""Sample events for ``dds-backup generate-event`` and ``dds-backup send``: every trigger's envelope, signed where
the route wants it, with the current time, so that they pass the handler's freshness checks. What they carry is
checked first: a sample that the function would reject is a usage error, never printed."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dds_backup_dev.signing import (
    apig_event,
    github_headers,
    mattermost_form,
    mattermost_headers,
    slack_form,
    slack_headers,
    standard_webhooks_headers,
    teams_activity,
    teams_headers,
)

DEMO_REQUEST = {"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02", "description": "generated sample"}


FUNCTION_URN = "urn:fss:eu-de:0549b4a43100d4f32f51c01c2fe4acdb:function:default:dds-backup:latest"


#: The kinds whose sample is an HTTP request to one of the function's routes (``send`` sends them).
HTTP_KINDS = ("apig", "apig-status", "slack", "teams", "mattermost")
#: Every kind ``generate-event`` makes.
KINDS = (*HTTP_KINDS, "timer", "direct", "smn", "kafka", "rocketmq", "cloudevents", "eventgrid-rocketmq")
CHAT_KINDS = ("slack", "teams", "mattermost")
#: What a chat sample says when no --text is given.
DEFAULT_TEXT = "billing-prod before the release"


class UsageError(Exception):
    pass


@dataclass(frozen=True)
class HttpSample:
    """A request to one of the function's routes, signed as its sender signs it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _secret(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UsageError(
            f"{name} is not set: the request must be signed with the secret the function uses "
            f"(`dds-backup serve` shows the export line of the secrets it made)"
        )
    return value


def backup_request(request: str | None) -> dict[str, Any]:
    """``--request`` as the function would read it, or the demo request; anything it would reject is refused
    here, with the same words."""
    if request is None:
        return dict(DEMO_REQUEST)
    from lib import jsonsafe
    from lib.http.gateway import MAX_BODY_BYTES
    from lib.models import ErrorInfo, validate_request

    try:  # the webhook's limit, the smallest of the sources'
        data = jsonsafe.loads(request, max_bytes=MAX_BODY_BYTES)
    except jsonsafe.JsonRejected as exc:
        raise UsageError(f"--request: {exc.message}") from None
    checked = validate_request(data, "--request")
    if isinstance(checked, ErrorInfo):
        raise UsageError(checked.message)
    return dict(data)


def _webhook_headers(body: bytes, *, method: str = "POST", path: str = "", msg_id: str | None = None) -> dict[str, str]:
    """A ``whsec_`` secret signs with Standard Webhooks; any other secret is GitHub's kind (X-Hub-Signature-256),
    which signs a POST's body only."""
    secret = _secret("WEBHOOK_SECRET")
    if secret.startswith("whsec_"):
        try:
            return standard_webhooks_headers(secret, body, msg_id, method=method, path=path)
        except ValueError as exc:  # the function's own rule: a whsec_ value is base64, strictly
            raise UsageError(f"WEBHOOK_SECRET {exc}: make one with `dds-backup secret`") from None
    if method != "POST":
        raise UsageError(
            "a status query is signed with Standard Webhooks, which needs a whsec_ WEBHOOK_SECRET "
            "(`dds-backup secret` makes one); a plain secret signs POST /backups the GitHub way only"
        )
    return github_headers(secret, body, msg_id)


def http_sample(
    kind: str, *, request: str | None = None, text: str | None = None, backup_id: str = "", msg_id: str | None = None
) -> HttpSample:
    """The request a sender of ``kind`` makes (``HTTP_KINDS``), signed with the configured secret. ``msg_id`` is
    the delivery's id (``webhook-id``, ``X-GitHub-Delivery``, Slack's and Mattermost's ``trigger_id``, Teams'
    activity ``id``); by default each sample is a new delivery."""
    if kind not in HTTP_KINDS:
        raise UsageError(f"{kind} is not sent over HTTP: one of {', '.join(HTTP_KINDS)}")
    if kind in CHAT_KINDS and request is not None:
        raise UsageError(f"{kind} carries a chat command: give --text, not --request")
    if kind not in CHAT_KINDS and text is not None:
        raise UsageError(f"{kind} carries a backup request: give --request, not --text")
    if kind != "apig-status" and backup_id:
        raise UsageError("--backup-id is for apig-status")
    command = DEFAULT_TEXT if text is None else text
    # The delivery's id, when given: a resent command with the same id is the same backup.
    trigger_id = {"trigger_id": msg_id} if msg_id else {}
    if kind == "apig":
        body = json.dumps(backup_request(request)).encode()
        headers = {"content-type": "application/json", **_webhook_headers(body, msg_id=msg_id)}
        return HttpSample("POST", "/backups", headers, body)
    if kind == "apig-status":
        if request is not None:
            raise UsageError("apig-status asks about a backup: give --backup-id, not --request")
        if not backup_id:
            raise UsageError("apig-status needs --backup-id (the backup_id of an earlier answer)")
        path = f"/backups/{backup_id}"
        return HttpSample("GET", path, _webhook_headers(b"", method="GET", path=path, msg_id=msg_id), b"")
    if kind == "slack":
        form = slack_form(command, **trigger_id)
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return HttpSample("POST", "/slack", {**headers, **slack_headers(_secret("SLACK_SIGNING_SECRET"), form)}, form)
    if kind == "teams":
        activity = teams_activity(command, **({"id": msg_id} if msg_id else {}))
        return HttpSample("POST", "/teams", teams_headers(_secret("TEAMS_WEBHOOK_TOKEN"), activity), activity)
    token = _secret("MATTERMOST_TOKEN")
    form = mattermost_form(command, token, **trigger_id)
    return HttpSample("POST", "/mattermost", mattermost_headers(token), form)


def generate(kind: str, *, request: str | None = None, text: str | None = None, backup_id: str = "") -> dict[str, Any]:
    if kind in HTTP_KINDS:
        sample = http_sample(kind, request=request, text=text, backup_id=backup_id)
        return apig_event(sample.method, sample.path, sample.body, sample.headers)
    if text is not None:
        raise UsageError(f"{kind} carries a backup request: give --request, not --text")
    if backup_id:
        raise UsageError("--backup-id is for apig-status")
    req = backup_request(request)
    now = datetime.now(timezone.utc)
    if kind == "timer":
        return {
            "version": "v1.0",
            "time": now.isoformat(timespec="seconds"),
            "trigger_type": "TIMER",
            "trigger_name": "generated-timer",
            "user_event": json.dumps(req),
        }
    if kind == "direct":
        return dict(req)
    if kind == "smn":
        return {
            "record": [
                {
                    "event_version": "1.0",
                    "smn": {
                        "topic_urn": "urn:smn:eu-de:0549b4a43100d4f32f51c01c2fe4acdb:dds-backup-requests",
                        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "message_attributes": None,
                        "message": json.dumps(req),
                        "type": "notification",
                        "message_id": uuid.uuid4().hex,
                        "subject": "dds-backup request",
                    },
                    "event_subscription_urn": FUNCTION_URN,
                    "event_source": "smn",
                }
            ],
            "functionname": "dds-backup",
            "requestId": str(uuid.uuid4()),
            "timestamp": now.isoformat(),
        }
    if kind in ("cloudevents", "eventgrid-rocketmq"):
        return _cloudevent(kind, req, now)
    trigger = "ROCKETMQ" if kind == "rocketmq" else "KAFKA"
    return {
        "event_version": "v1.0",
        "event_time": int(time.time()),
        "trigger_type": trigger,
        "region": "eu-de",
        "instance_id": str(uuid.uuid4()),
        "records": [{"messages": [json.dumps(req)], "topic_id": "dds-backup-requests"}],
    }


def _cloudevent(kind: str, req: Any, now: datetime) -> dict[str, Any]:
    """A CloudEvent as Huawei Cloud's EventGrid delivers it: from a custom source, ``data`` is the request; from a
    RocketMQ source, the message body ``data.context`` (the user guide's "Sending RocketMQ Events" shape)."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "dds-backup-requests",
        "type": "dds-backup.request",
        "datacontenttype": "application/json",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": req,
    }
    if kind == "eventgrid-rocketmq":
        project = "0549b4a43100d4f32f51c01c2fe4acdb"
        instance = "f003dc69-2fc3-4c44-9062-0b9a2c6cb8cc"
        event.update(
            source="source-rocketmq",
            type="ROCKETMQ:CloudTrace:RocketmqCall",
            subject=f"ROCKETMQ:ap-southeast-3:{instance}/{project}:ROCKETMQ:source-rocketmq",
            data={"context": json.dumps(req), "topic": "dds-backup-requests"},
        )
    return event
