"""``POST /slack``: the Slack slash command ``/dds-backup`` (form-encoded, Slack v0 signed).

    /dds-backup <instance name or id> [description]   start a backup (never waits: Slack allows 3 s)
    /dds-backup status <backup_id>                    the backup's status
    /dds-backup help                                  usage

Replies are ephemeral (only the caller sees them) and always HTTP 200: Slack shows anything else as an
opaque failure. The command's ``trigger_id`` is the idempotency key, so a resent command is one backup.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from lib.http.auth import require_slack_signature
from lib.http.gateway import HttpError, HttpRequest, response
from lib.http.orders import webhook_order
from lib.models import BackupRequest, Outcome, Trigger, validate_request
from lib.service import BackupService, ServiceError

# Everything in this route must answer within Slack's 3 s, including the DDS calls.
BUDGET_S = 2.5
_INSTANCE_ID = re.compile(r"^[0-9a-f]{32}in\d{2}$")
USAGE = (
    "Usage:\n"
    "• `/dds-backup &lt;instance name or id&gt; [description]`: start a manual backup\n"
    "• `/dds-backup status &lt;backup_id&gt;`: show a backup's status\n"
    "• `/dds-backup help`: this text"
)


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in ``text`` as HTML entities (api.slack.com "Formatting text for app
    surfaces: Escaping text"): validate what the user typed, not its escaped form."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """What we echo back goes through Slack's formatting: escaped, so that ``<!channel>`` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reply(text: str) -> dict[str, Any]:
    return response(200, {"response_type": "ephemeral", "text": text})


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "INVALID_BODY", "the body is not UTF-8") from None
    if text and "=" not in text:
        raise HttpError(400, "INVALID_BODY", "the body is not form-encoded (application/x-www-form-urlencoded)")
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise HttpError(
            400, "INVALID_BODY", "the body is not form-encoded (application/x-www-form-urlencoded)"
        ) from None
    return {k: v[0] for k, v in form.items()}


async def post_slack(request: HttpRequest, service: BackupService) -> dict[str, Any]:
    settings = require_slack_signature(request, service)
    form = parse_form(request.body)
    user, channel = form.get("user_id", ""), form.get("channel_id", "")
    if settings.slack_allowed_users is not None and user not in settings.slack_allowed_users:
        return reply("Sorry, you are not allowed to start DDS backups (SLACK_ALLOWED_USERS).")
    if settings.slack_allowed_channels is not None and channel not in settings.slack_allowed_channels:
        return reply("Backups cannot be started from this channel (SLACK_ALLOWED_CHANNELS).")
    words = unescape(form.get("text", "")).strip().split(maxsplit=1)
    if not words or words[0].lower() in ("help", "-h", "--help"):
        return reply(USAGE)
    if words[0].lower() == "status":
        return await _status(service, words[1].strip() if len(words) > 1 else "")
    return await _backup(request, service, form, words)


async def _status(service: BackupService, backup_id: str) -> dict[str, Any]:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", backup_id):
        return reply("Which backup? `/dds-backup status &lt;backup_id&gt;`")
    try:
        b = await service.find_backup(backup_id, service.invocation.deadline.within(BUDGET_S))
    except ServiceError as exc:
        return reply(f":warning: Could not read the backup: {exc.error.code}: {exc.error.message}")
    if b is None:
        return reply(f"No backup `{backup_id}` in this project.")
    return reply(f"Backup `{b.name}` (`{b.id}`) of {b.instance_name or b.instance_id}: *{b.status}*")


async def _backup(
    request: HttpRequest, service: BackupService, form: dict[str, str], words: list[str]
) -> dict[str, Any]:
    target = words[0]
    shown = escape(target)
    data: dict[str, Any] = {"instance_id": target} if _INSTANCE_ID.match(target) else {"selector": {"name": target}}
    if len(words) > 1:
        data["description"] = words[1]
    result = validate_request(data, "the command")
    if not isinstance(result, BackupRequest):
        return reply(f":warning: {escape(result.message)}\n{USAGE}")
    trigger_id = form.get("trigger_id")  # inside the signed body
    order = webhook_order(request, result, Trigger.SLACK, f"slack:{trigger_id}" if trigger_id else None)
    results = (await service.execute([order], service.invocation.deadline.within(BUDGET_S))).results
    pruned = [r for r in results if r.data.outcome is Outcome.PRUNED]
    (event, *more) = [r for r in results if r.data.outcome is not Outcome.PRUNED]
    if more:  # a name selector is exact, but names need not be unique
        return reply(f"`{shown}` names {len(more) + 1} instances; use the instance id.")
    d = event.data
    if d.outcome in (Outcome.CREATED, Outcome.EXISTS, Outcome.COMPLETED):
        verb = "started" if d.outcome is Outcome.CREATED else "already exists"
        return reply(
            f":floppy_disk: Backup {verb} for *{d.instance_name or d.instance_id}*\n"
            f"name `{d.name}` · backup id `{d.backup_id}`"
            + (f" · job id `{d.job_id}`" if d.job_id else "")
            + f"\nFollow it with `/dds-backup status {d.backup_id}`"
            + (f"\nRetention: {len(pruned)} old backup(s) deleted" if pruned else "")
        )
    assert d.error is not None
    if d.error.code == "NO_MATCHING_INSTANCE":
        return reply(f"No DDS instance is named `{shown}`.\n{USAGE}")
    again = " Try again in a minute." if d.error.retryable else ""
    return reply(f":warning: Backup of `{shown}` failed: {escape(d.error.message)} ({d.error.code}).{again}")
