"""Webhook signatures: Standard Webhooks, GitHub's X-Hub-Signature-256, Slack v0, Teams' HMAC, Mattermost's token.

Pure functions over the raw body and the lower-case headers; ``now`` is passed in so that tests can fix the
clock. Comparisons are constant-time. Each returns None when the request is authentic, else the reason
(which is safe to show: it never contains a secret or a computed signature). A header may hold anything (API
Gateway hands them over as JSON strings, unpaired surrogates included): nothing here raises for one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from lib import jsonsafe
from lib.config import standard_webhooks_key

TOLERANCE_S = 5 * 60
_UNIX_TIME = re.compile(r"[0-9]{1,12}")
# ISO 8601 as the Bot Framework writes it: "2017-02-01T21:10:07.437Z", "2016-09-23T13:07:49.4714686-07:00".
_ISO_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", re.ASCII)


def _bytes(text: str) -> bytes:
    return text.encode(errors="surrogatepass")


def _same(given: str, expected: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters, and a forged header may hold any.
    return hmac.compare_digest(_bytes(given), expected.encode())


def _stale(seconds: float, now: float) -> bool:
    return abs(now - seconds) > TOLERANCE_S


def _fresh(timestamp: str | None, now: float, header: str) -> str | None:
    if not timestamp:
        return f"missing {header}"
    if not _UNIX_TIME.fullmatch(timestamp):  # digits only: int() would also take " 1", "+1", "1_0" and "١"
        return f"{header} is not a unix timestamp"
    if _stale(int(timestamp), now):
        return f"{header} is more than 5 minutes away from now (stale or replayed request)"
    return None


def signed_content(method: str, path: str, body: bytes) -> bytes:
    """What a Standard Webhooks signature covers after ``{webhook-id}.{webhook-timestamp}.``: the raw body of a
    POST (as the spec says), and ``GET <path>`` for a status query, which has no body. A GET signature thus
    opens one path only, and a POST delivery can never pass as a GET."""
    return f"GET {path}".encode() if method == "GET" else body


def verify_standard_webhooks(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, method: str = "POST", path: str = ""
) -> str | None:
    if method == "GET" and body:
        return "a status query has no body"
    try:
        key = standard_webhooks_key(secret)
    except ValueError as exc:
        return (
            f"WEBHOOK_SECRET {exc}: Standard Webhooks signatures cannot be checked (the function needs a whsec_ secret)"
        )
    msg_id = headers.get("webhook-id")
    if not msg_id:
        return "missing webhook-id"
    if (stale := _fresh(headers.get("webhook-timestamp"), now, "webhook-timestamp")) is not None:
        return stale
    timestamp = headers["webhook-timestamp"]
    signed = _bytes(f"{msg_id}.{timestamp}.") + signed_content(method, path, body)
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # Several space-separated signatures allow secret rotation; any v1 match is enough.
    for candidate in headers.get("webhook-signature", "").split():
        version, _, value = candidate.partition(",")
        if version == "v1" and _same(value, expected):
            return None
    return "webhook-signature does not match"


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str, headers: Mapping[str, str], body: bytes) -> str | None:
    given = headers.get("x-hub-signature-256", "")
    if not given:
        return "missing x-hub-signature-256"
    if not _same(given, github_signature(secret, body)):
        return "x-hub-signature-256 does not match"
    return None


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    timestamp = headers.get("x-slack-request-timestamp")
    if (stale := _fresh(timestamp, now, "x-slack-request-timestamp")) is not None:
        return stale
    assert timestamp is not None
    given = headers.get("x-slack-signature", "")
    if not given:
        return "missing x-slack-signature"
    if not _same(given, slack_signature(secret, timestamp, body)):
        return "x-slack-signature does not match"
    return None


def uses_standard_webhooks(headers: Mapping[str, str]) -> bool:
    return "webhook-signature" in headers or "webhook-id" in headers


def verify_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, method: str = "POST", path: str = ""
) -> str | None:
    """``POST /backups`` and ``GET /backups/{id}``: Standard Webhooks if its headers are there, else GitHub's.
    GitHub's signature has no timestamp and covers only the body: it never authorises a GET (over an empty body
    it would be one constant that opens every status, forever)."""
    if uses_standard_webhooks(headers):
        return verify_standard_webhooks(secret, headers, body, now, method, path)
    if "x-hub-signature-256" in headers:
        if method != "POST":
            return "X-Hub-Signature-256 only authorises POST /backups: sign status queries with Standard Webhooks"
        return verify_github(secret, headers, body)
    return (
        "no signature: send Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) "
        "or X-Hub-Signature-256"
    )


def teams_signature(token: str, body: bytes) -> str:
    """``HMAC <base64>``: HMAC-SHA256 of the raw body, keyed with the base64-decoded security token that Teams
    shows when the outgoing webhook is created (Microsoft Teams docs, "Create an Outgoing Webhook"; the
    OfficeDev samples' AuthProvider.cs and app.js compute it the same way)."""
    key = base64.b64decode(token + "=" * (-len(token) % 4))
    return "HMAC " + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def verify_teams(token: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Teams signs the body alone; its time is inside it (``verify_teams_activity``)."""
    given = headers.get("authorization", "")
    if not given.startswith("HMAC "):
        return "missing Authorization: HMAC <signature>"
    if not body:
        return "an empty body cannot be authenticated"
    if not _same(given, teams_signature(token, body)):
        return "the HMAC signature does not match"
    return None


def activity_time(activity: object) -> float | None:
    """When Teams recorded the activity: its ``timestamp`` (UTC, ISO 8601, "SHOULD always include Z"), or, only
    when that is absent, its ``localTimestamp`` (with its offset). Bot Framework Activity schema
    (microsoft/botframework-sdk, specs/botframework-activity/botframework-activity.md: "Timestamp", A2040-A2043;
    "Local timestamp", A2050); a Teams outgoing webhook sends such an activity (MicrosoftDocs/msteams-docs,
    msteams-platform/webhooks-and-connectors/how-to/add-outgoing-webhook.md). None when there is no readable one."""
    if not isinstance(activity, dict):
        return None
    value = activity["timestamp"] if "timestamp" in activity else activity.get("localTimestamp")
    match = _ISO_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = (
        timedelta(0) if zone == "Z" else int(zone[0] + "1") * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:]))
    )
    try:
        at = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone(offset))
    except ValueError:  # a month 13, a 25th hour, an offset of a day
        return None
    return at.timestamp() + float(f"0.{fraction or 0}")


def verify_teams_activity(token: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Teams' HMAC over the body, then the activity's own time, within 5 minutes of now as the other schemes'
    timestamps: the signature covers it, so a replay of a recorded activity is refused once it is stale. The
    schema's A2042 asks bots not to reject activities by ``timestamp`` because they "may appear out-of-order";
    an outgoing webhook is called while Teams waits for the answer (5 seconds), so its activity is never
    minutes old."""
    if (forged := verify_teams(token, headers, body)) is not None:
        return forged
    try:
        at = activity_time(jsonsafe.loads(body, max_bytes=len(body)))
    except jsonsafe.JsonRejected:
        at = None
    if at is None:
        return "the activity has no timestamp (ISO 8601, as Teams sends it)"
    if _stale(at, now):
        return "the activity's timestamp is more than 5 minutes away from now (stale or replayed request)"
    return None


def verify_mattermost(token: str, headers: Mapping[str, str], form_token: str | None) -> str | None:
    """The slash command's token, sent as ``Authorization: Token <token>`` and as the ``token`` field
    (mattermost server ``app/command.go``): no signature, a shared token compared in constant time."""
    scheme, _, given = headers.get("authorization", "").partition(" ")
    candidate = given.strip() if scheme == "Token" else (form_token or "")
    if not candidate:
        return "missing Authorization: Token <token>"
    if not _same(candidate, token):
        return "the token does not match"
    return None
