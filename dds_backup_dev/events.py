"""Sample events for ``dds-backup generate-event``: every trigger's envelope, signed where the route wants it,
with the current time, so that they pass the handler's freshness checks."""

from __future__ import annotations

import json
import os
import time
import uuid
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


class UsageError(Exception):
    pass


def _secret(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{name} is not set: the event must be signed with the secret the function uses")
    return value


def _webhook_headers(body: bytes, method: str = "POST", path: str = "") -> dict[str, str]:
    """Standard Webhooks with a whsec_ secret; GitHub's X-Hub-Signature-256 (POST only) with a plain one, as the
    function reads them."""
    secret = _secret("WEBHOOK_SECRET")
    if not secret.startswith("whsec_") and method == "POST":
        return github_headers(secret, body)
    try:
        return standard_webhooks_headers(secret, body, method=method, path=path)
    except ValueError as exc:
        raise UsageError(f"WEBHOOK_SECRET {exc}: make one with `dds-backup secret`") from None


def generate(kind: str, *, request: str | None = None, text: str = "", backup_id: str = "") -> dict[str, Any]:
    try:
        req: Any = json.loads(request) if request else DEMO_REQUEST
    except ValueError as exc:
        raise UsageError(f"--request is not JSON: {exc}") from None
    body = json.dumps(req).encode()
    now = datetime.now(timezone.utc)
    if kind == "apig":
        return apig_event("POST", "/backups", body, _webhook_headers(body))
    if kind == "apig-status":
        if not backup_id:
            raise UsageError("apig-status needs --backup-id")
        path = f"/backups/{backup_id}"
        headers = _webhook_headers(b"", method="GET", path=path)
        return apig_event("GET", path, b"", headers)
    if kind == "slack":
        form = slack_form(text)
        return apig_event("POST", "/slack", form, slack_headers(_secret("SLACK_SIGNING_SECRET"), form))
    if kind == "teams":
        activity = teams_activity(text)
        return apig_event("POST", "/teams", activity, teams_headers(_secret("TEAMS_WEBHOOK_TOKEN"), activity))
    if kind == "mattermost":
        token = _secret("MATTERMOST_TOKEN")
        form = mattermost_form(text, token)
        return apig_event("POST", "/mattermost", form, mattermost_headers(token))
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
    trigger = "ROCKETMQ" if kind == "rocketmq" else "KAFKA"
    return {
        "event_version": "v1.0",
        "event_time": int(time.time()),
        "trigger_type": trigger,
        "region": "eu-de",
        "instance_id": str(uuid.uuid4()),
        "records": [{"messages": [json.dumps(req)], "topic_id": "dds-backup-requests"}],
    }
