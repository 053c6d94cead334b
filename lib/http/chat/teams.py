"""``POST /teams``: a Microsoft Teams outgoing webhook (``@dds-backup <command>`` in a channel).

The body is a Bot Framework activity; ``Authorization: HMAC <base64>`` signs it with the webhook's security
token (``TEAMS_WEBHOOK_TOKEN``). Teams gives the answer 5 seconds ("your code gets five seconds to respond to
the message before the connection times out", Microsoft Teams docs, "Create an Outgoing Webhook") and takes
``{"type": "message", "text": ...}``. An outgoing webhook cannot post later; follow-ups go to the operator's
``TEAMS_INCOMING_WEBHOOK_URL`` (a Workflow that posts into a channel), when it is set.
"""

from __future__ import annotations

import html
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from lib import jsonsafe
from lib.codes import ErrorCode
from lib.http.auth import Caller
from lib.http.chat.conversation import ChatRequest, answer
from lib.http.gateway import MAX_BODY_BYTES, HttpError, HttpRequest, response
from lib.models import FollowUp, Trigger
from lib.service import BackupService

BUDGET_S = 4.0
# Linear on any text: each match attempt stops at the next "<", so no "<" is scanned from more than one start
# (a lazy ".*?" or a "[^>]*" rescans the rest of the text from every unclosed "<"). Teams escapes a "<" that
# a user typed (&lt;), so every raw "<" starts markup, and a mention's name holds none.
_MENTION = re.compile(r"<at>[^<]*</at>")
_TAG = re.compile(r"<[^<>]*>")


def command_text(text: str) -> str:
    """The text without the @mentions (Teams puts ``<at>name</at>`` in it) and without markup."""
    return " ".join(html.unescape(_TAG.sub(" ", _MENTION.sub(" ", text))).split())


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Account(_Loose):
    id: str = ""
    aadObjectId: str | None = None


class _Channel(_Loose):
    id: str = ""


class _ChannelData(_Loose):
    channel: _Channel | None = None
    teamsChannelId: str | None = None
    team: _Channel | None = None
    teamsTeamId: str | None = None
    tenant: _Channel | None = None


class Activity(_Loose):
    """The parts of the activity the command needs (every other field is ignored)."""

    id: str | None = None
    text: str = ""
    from_: _Account = _Account()
    conversation: _Channel = _Channel()
    channelData: _ChannelData = _ChannelData()

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def read(cls, body: bytes) -> Activity:
        try:
            data = jsonsafe.loads(body, max_bytes=MAX_BODY_BYTES)
            return cls.model_validate({**data, "from_": data.get("from") or {}} if isinstance(data, dict) else data)
        except (jsonsafe.JsonRejected, ValidationError) as exc:
            raise HttpError(
                400, ErrorCode.INVALID_BODY, f"the body is not a Teams activity ({type(exc).__name__})"
            ) from None

    @property
    def command(self) -> str:
        return command_text(self.text)

    @property
    def channel(self) -> str:
        data = self.channelData
        return (data.channel.id if data.channel else "") or data.teamsChannelId or self.conversation.id

    @property
    def team(self) -> str:
        """The team (else the tenant) the channel belongs to: the command's scope."""
        data = self.channelData
        team = (data.team.id if data.team else "") or data.teamsTeamId
        return team or (data.tenant.id if data.tenant else "")


def reply(text: str) -> dict[str, Any]:
    return response(200, {"type": "message", "text": text.replace("\n", "\n\n")})


async def post_teams(request: HttpRequest, caller: Caller, service: BackupService) -> dict[str, Any]:
    settings = caller.settings
    activity = Activity.read(request.body)
    chat = ChatRequest(
        platform="teams",
        trigger=Trigger.TEAMS,
        invoke_as="@dds-backup",
        user=activity.from_.aadObjectId or activity.from_.id,
        channel=activity.channel,
        text=activity.command,
        delivery=f"teams:{activity.id}" if activity.id else None,
        team=activity.team,
        follow_up=FollowUp(platform="teams") if settings.teams_incoming_webhook_url is not None else None,
        budget_s=BUDGET_S,
        http=request,
    )
    return reply(await answer(chat, service, settings.teams_allowed_users, settings.teams_allowed_channels))
