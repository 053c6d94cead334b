"""``POST /slack``: the Slack slash command ``/dds-backup`` (form-encoded, Slack v0 signed).

Replies are ephemeral (only the caller sees them) and HTTP 200: Slack shows anything else as an opaque failure.
The command's ``trigger_id`` (inside the signed body) is the idempotency key, so a resent command is one backup;
its ``response_url`` is where the outcome is posted when the backup ends.
"""

from __future__ import annotations

from typing import Any

from lib.http.auth import Caller
from lib.http.chat.conversation import answer, slash_command, slash_reply
from lib.http.chat.forms import parse_form
from lib.http.gateway import HttpRequest
from lib.service import BackupService

# Slack waits 3 s for the answer, DDS calls included.
BUDGET_S = 2.5


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in ``text`` as HTML entities: validate what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def post_slack(request: HttpRequest, caller: Caller, service: BackupService) -> dict[str, Any]:
    settings = caller.settings
    form = parse_form(request.body)
    text = unescape(form.get("text", ""))
    chat = slash_command(request, form, "slack", settings, text, BUDGET_S, service.invocation.chat_stand_ins)
    return slash_reply(await answer(chat, service, settings.slack_allowed_users, settings.slack_allowed_channels))
