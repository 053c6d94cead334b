"""``POST /mattermost``: a Mattermost custom slash command (form-encoded, like Slack's).

Mattermost signs nothing: it sends the command's token (``MATTERMOST_TOKEN``) as ``Authorization: Token ...`` and
as the ``token`` field. The answer is ``{"response_type": "ephemeral", "text": <markdown>}``; the outcome is posted
later to the command's ``response_url``, which is on the operator's own server (``MATTERMOST_URL``).
"""

from __future__ import annotations

from typing import Any

from lib.http.auth import Caller
from lib.http.chat.conversation import answer, slash_command, slash_reply
from lib.http.chat.forms import parse_form
from lib.http.gateway import HttpRequest
from lib.service import BackupService

# Mattermost waits 30 s by default, but its guide asks for an answer within 3.
BUDGET_S = 2.5


async def post_mattermost(request: HttpRequest, caller: Caller, service: BackupService) -> dict[str, Any]:
    settings = caller.settings
    form = parse_form(request.body)
    text = form.get("text", "")
    chat = slash_command(request, form, "mattermost", settings, text, BUDGET_S, service.invocation.chat_stand_ins)
    return slash_reply(
        await answer(chat, service, settings.mattermost_allowed_users, settings.mattermost_allowed_channels)
    )
