"""``POST /slack``: the Slack slash command ``/dds-backup`` (form-encoded, Slack v0 signed).

Replies are ephemeral (only the caller sees them) and HTTP 200: Slack shows anything else as an opaque failure.
The command's ``trigger_id`` (inside the signed body) is the idempotency key, so a resent command is one backup;
its ``response_url`` is where the outcome is posted when the backup ends.
"""

from __future__ import annotations

from typing import Any

from lib.http.auth import require_slack_signature
from lib.http.chat.conversation import ChatRequest, answer, follow_up_of
from lib.http.chat.forms import parse_form
from lib.http.gateway import HttpRequest, response
from lib.models import Trigger
from lib.service import BackupService

# Slack waits 3 s for the answer, DDS calls included.
BUDGET_S = 2.5


def reply(text: str) -> dict[str, Any]:
    return response(200, {"response_type": "ephemeral", "text": text})


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in ``text`` as HTML entities: validate what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def post_slack(request: HttpRequest, service: BackupService) -> dict[str, Any]:
    settings = require_slack_signature(request, service)
    form = parse_form(request.body)
    trigger_id = form.get("trigger_id")
    chat = ChatRequest(
        platform="slack",
        trigger=Trigger.SLACK,
        invoke_as=form.get("command") or "/dds-backup",
        user=form.get("user_id", ""),
        channel=form.get("channel_id", ""),
        text=unescape(form.get("text", "")),
        delivery=f"slack:{trigger_id}" if trigger_id else None,
        follow_up=follow_up_of(form, "slack", settings),
        budget_s=BUDGET_S,
        http=request,
    )
    return reply(await answer(chat, service, settings.slack_allowed_users, settings.slack_allowed_channels))
