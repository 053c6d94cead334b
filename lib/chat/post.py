"""Posting a follow-up into a chat conversation. Only to the platform's own hosts (``hosts.py``); without
redirects; bounded by the deadline. A post that cannot be made is logged and reported, never an exception:
the backup is what it is, whether or not the chat heard about it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from lib.chat import hosts
from lib.config import Settings
from lib.logs import get_logger, mask_here
from lib.models import ChatPlatform, FollowUp, FollowUpState
from lib.runtime import Deadline

_log = get_logger("chat")


def payload(platform: ChatPlatform, text: str) -> dict[str, Any]:
    if platform == "teams":  # Workflows take Adaptive Cards only
        card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": text, "wrap": True}]}
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
    # Slack and Mattermost: a message response, seen by the user who gave the command
    return {"response_type": "ephemeral", "text": text}


@dataclass(frozen=True)
class ChatPoster:
    session: aiohttp.ClientSession
    settings: Settings
    deadline: Deadline
    timeout: float = 10.0
    #: ``Invocation.chat_stand_ins``: loopback stand-ins for the platforms, on the dev side only.
    stand_ins: frozenset[str] = frozenset()

    async def post(self, follow_up: FollowUp, text: str) -> str:
        """``FollowUpState.POSTED``, or why not (``refused: ...``, ``failed: ...``)."""
        url = hosts.target(follow_up, self.settings, self.stand_ins)
        if url is None:
            _log.warning(
                f"follow-up refused: not a {follow_up.platform} host ({hosts.host_of(follow_up.url)})",
                extra={"chat.platform": follow_up.platform},
            )
            return FollowUpState.REFUSED.because(f"the follow-up URL is not on {follow_up.platform}'s own hosts")
        if not mask_here(url):  # a capability (a Workflow URL is a configured secret, masked everywhere anyway)
            _log.warning(f"follow-up to {follow_up.platform} not posted: its URL cannot be masked in the log")
            return FollowUpState.REFUSED.because("the follow-up URL cannot be kept out of the log")
        timeout = self.deadline.bound(self.timeout)
        if timeout <= 0:  # aiohttp reads a total of 0 as "no timeout"
            return self._failed(follow_up, "no time left in this invocation")
        try:
            async with self.session.post(
                url,
                json=payload(follow_up.platform, text),
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as resp:
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return self._failed(follow_up, f"no answer ({type(exc).__name__})")
        if 200 <= status < 300:
            return FollowUpState.POSTED.value
        return self._failed(follow_up, f"HTTP {status}")

    def _failed(self, follow_up: FollowUp, why: str) -> str:
        _log.warning(f"follow-up to {follow_up.platform} failed: {why}", extra={"chat.platform": follow_up.platform})
        return FollowUpState.FAILED.because(why)
