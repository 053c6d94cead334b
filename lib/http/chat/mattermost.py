"""``POST /mattermost``: a Mattermost custom slash command (form-encoded, like Slack's).

Mattermost signs nothing: it sends the command's token (``MATTERMOST_TOKEN``) as ``Authorization: Token ...`` and
as the ``token`` field. The answer is ``{"response_type": "ephemeral", "text": <markdown>}``; the outcome is posted
later to the command's ``response_url``, which is on the operator's own server (``MATTERMOST_URL``).
"""

from __future__ import annotations

from typing import Any

from lib.http.auth import require_mattermost_token
from lib.http.chat.conversation import ChatRequest, answer, follow_up_of
from lib.http.chat.forms import parse_form
from lib.http.gateway import HttpRequest, response
from lib.models import Trigger
from lib.service import BackupService

# Mattermost waits 30 s by default, but its guide asks for an answer within 3.
BUDGET_S = 2.5


def reply(text: str) -> dict[str, Any]:
    return response(200, {"response_type": "ephemeral", "text": text})


async def post_mattermost(request: HttpRequest, service: BackupService) -> dict[str, Any]:
    form = parse_form(request.body)
    settings = require_mattermost_token(request, service, form.get("token"))
    trigger_id = form.get("trigger_id")
    chat = ChatRequest(
        platform="mattermost",
        trigger=Trigger.MATTERMOST,
        invoke_as=form.get("command") or "/dds-backup",
        user=form.get("user_id", ""),
        channel=form.get("channel_id", ""),
        text=form.get("text", ""),
        delivery=f"mattermost:{trigger_id}" if trigger_id else None,
        follow_up=follow_up_of(form, "mattermost", settings),
        budget_s=BUDGET_S,
        http=request,
    )
    return reply(await answer(chat, service, settings.mattermost_allowed_users, settings.mattermost_allowed_channels))
