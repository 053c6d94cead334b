"""Publishing to SMN topics: result events (``RESULT_TOPIC_URN``) and fanned-out requests (``FANOUT_TOPIC_URN``).

``POST /v2/{project_id}/notifications/topics/{topic_urn}/publish`` with ``{"subject", "message",
"time_to_live"}`` answers ``{"message_id", "request_id"}`` (SMN API reference, "Publishing a Message"); signed
like every other call. IAM action: ``smn:topic:publish``.
"""

from __future__ import annotations

from lib.dds.errors import DdsTransportError
from lib.dds.http import SignedApi

MAX_SUBJECT_BYTES = 512
MAX_MESSAGE_BYTES = 256 * 1024
TIME_TO_LIVE_S = "3600"
IAM_ACTION = "smn:topic:publish"


def subject_line(text: str) -> str:
    """SMN subjects are at most 512 bytes (and become e-mail subjects): one line, cut on a character."""
    line = " ".join(text.split())
    while len(line.encode()) > MAX_SUBJECT_BYTES:
        line = line[:-1]
    return line


class SmnPublisher:
    """``api`` is a SignedApi on the SMN endpoint with the prefix ``/v2/{project_id}/notifications/topics``."""

    def __init__(self, api: SignedApi) -> None:
        self.api = api

    async def publish(self, topic_urn: str, subject: str, message: str) -> str:
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise DdsTransportError("SMN.MESSAGE_TOO_LARGE", "the message exceeds SMN's 256 KB", retryable=False)
        body = {"subject": subject_line(subject), "message": message, "time_to_live": TIME_TO_LIVE_S}
        data = await self.api.call("POST", f"/{topic_urn}/publish", body=body)
        message_id = data.get("message_id")
        if not isinstance(message_id, str):
            raise DdsTransportError("SMN.BAD_RESPONSE", "publish answered without a message_id", retryable=True)
        return message_id
