"""Signing webhook requests the way their senders do (for ``generate-event``, ``serve`` examples and tests)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from lib.config import standard_webhooks_key
from lib.http.signatures import github_signature, signed_content, slack_signature, teams_signature


def standard_webhooks_headers(
    secret: str,
    body: bytes,
    msg_id: str | None = None,
    ts: int | None = None,
    *,
    method: str = "POST",
    path: str = "",
) -> dict[str, str]:
    """A POST signs its body; a GET signs ``GET <path>`` (see lib/http/signatures.py)."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = str(ts if ts is not None else int(time.time()))
    content = signed_content(method, path, body)
    mac = hmac.new(standard_webhooks_key(secret), f"{msg_id}.{stamp}.".encode() + content, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def github_headers(secret: str, body: bytes, delivery: str | None = None) -> dict[str, str]:
    return {
        "x-hub-signature-256": github_signature(secret, body),
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-github-event": "deployment",
    }


def slack_headers(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time()))
    return {"x-slack-request-timestamp": stamp, "x-slack-signature": slack_signature(secret, stamp, body)}


def slack_form(text: str, **fields: str) -> bytes:
    form = {
        "token": "deprecated-verification-token",
        "team_id": "T0001",
        "team_domain": "example",
        "channel_id": "C0001",
        "channel_name": "ops",
        "user_id": "U0001",
        "user_name": "operator",
        "command": "/dds-backup",
        "text": text,
        "response_url": "https://hooks.slack.com/commands/T0001/1/x",
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}",
    }
    form.update(fields)
    return urlencode(form).encode()


def apig_event(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    base64_body: bool = True,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway event as FunctionGraph delivers it: base64 body, lower-case header names."""
    request_id = uuid.uuid4().hex
    all_headers = {"host": "dds-backup.apic.eu-de.otc.t-systems.com", "x-request-id": request_id}
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    return {
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "requestContext": {"apiId": "dds-backup-api", "requestId": request_id, "stage": "RELEASE"},
        "queryStringParameters": query or {},
        "httpMethod": method,
        "pathParameters": {},
        "headers": all_headers,
        "path": path,
        "isBase64Encoded": base64_body,
    }


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()


def status_query(secret: str, path: str, *, ts: int | None = None, msg_id: str | None = None) -> dict[str, Any]:
    """``GET /backups/{id}`` as API Gateway delivers it, signed over ``GET <path>`` with Standard Webhooks."""
    headers = standard_webhooks_headers(secret, b"", msg_id, ts, method="GET", path=path)
    return apig_event("GET", path, b"", headers)


def teams_activity(text: str, **fields: Any) -> bytes:
    """A Teams outgoing webhook's message activity (the documented example's shape), mentioning the webhook."""
    activity: dict[str, Any] = {
        "type": "message",
        "id": str(int(time.time() * 1000)),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "channelId": "msteams",
        "from": {
            "id": "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85g",
            "name": "Operator",
            "aadObjectId": "aad-0001",
        },
        "conversation": {"id": "19:253b1f341670408fb6fe51050b6e5ceb@thread.skype;messageid=1485983194839"},
        "textFormat": "plain",
        "text": f"<at>dds-backup</at> {text}",
        "channelData": {"teamsChannelId": "19:253b1f341670408fb6fe51050b6e5ceb@thread.skype"},
    }
    activity.update(fields)
    return json.dumps(activity).encode()


def teams_headers(token: str, body: bytes) -> dict[str, str]:
    return {"authorization": teams_signature(token, body), "content-type": "application/json"}


def mattermost_form(text: str, token: str, **fields: str) -> bytes:
    """A Mattermost slash command's form (the fields its server sends)."""
    form = {
        "channel_id": "fukxanjgjbnp7ng383at53k1sy",
        "channel_name": "town-square",
        "command": "/dds-backup",
        "response_url": "https://chat.example.com/hooks/commands/i11f6nnfgfyk8eg56x9omc6dpa",
        "team_domain": "team-awesome",
        "team_id": "wx4zz8t4ttgmtxqiwfohijayzc",
        "text": text,
        "token": token,
        "trigger_id": uuid.uuid4().hex,
        "user_id": "erj6qck3rfgtujs86w5r6rckzh",
        "user_name": "operator",
    }
    form.update(fields)
    return urlencode(form).encode()


def mattermost_headers(token: str) -> dict[str, str]:
    return {"authorization": f"Token {token}", "content-type": "application/x-www-form-urlencoded"}
