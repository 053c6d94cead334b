"""The SMN API: publishing to a topic (result events, fanned-out requests), and asking whether a topic exists.

``POST /v2/{project_id}/notifications/topics/{topic_urn}/publish`` with ``{"subject", "message",
"time_to_live"}`` answers ``{"message_id", "request_id"}`` (SMN API reference, "Publishing a Message"); signed
like every other call. IAM action: ``smn:topic:publish``.

``GET /v2/{project_id}/notifications/topics/{topic_urn}`` answers the topic (SMN API reference, "Querying
Details of a Topic"); an unknown topic is 404 ``SMN.0006``. OTC lists no action of its own for it; Huawei Cloud
names it ``smn:topic:get`` with the alias ``smn:topic:list``, which both clouds grant.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from lib.cloud.errors import TransportError
from lib.cloud.transport import SignedTransport
from lib.codes import ErrorCode

MAX_SUBJECT_BYTES = 512
MAX_MESSAGE_BYTES = 256 * 1024
TIME_TO_LIVE_S = "3600"
IAM_ACTION = "smn:topic:publish"
QUERY_ACTION = "smn:topic:list"


class Topic(BaseModel):
    """QueryTopicDetail: the fields a caller can act on. Unknown fields are ignored (the clouds differ)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    topic_urn: str
    name: str
    display_name: str = ""


def subject_line(text: str) -> str:
    """SMN subjects are at most 512 bytes (and become e-mail subjects): one line, cut on a character."""
    line = " ".join(text.split())
    while len(line.encode()) > MAX_SUBJECT_BYTES:
        line = line[:-1]
    return line


class SmnClient:
    """``api``: a signed transport on the SMN endpoint with the prefix ``/v2/{project_id}/notifications/topics``."""

    def __init__(self, api: SignedTransport) -> None:
        self.api = api

    async def publish(self, topic_urn: str, subject: str, message: str) -> str:
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise TransportError(ErrorCode.SMN_MESSAGE_TOO_LARGE, "the message exceeds SMN's 256 KB")
        body = {"subject": subject_line(subject), "message": message, "time_to_live": TIME_TO_LIVE_S}
        data = await self.api.call("POST", f"/{topic_urn}/publish", body=body)
        message_id = data.get("message_id")
        if not isinstance(message_id, str):
            raise TransportError(ErrorCode.SMN_BAD_RESPONSE, "publish answered without a message_id")
        return message_id

    async def get_topic(self, topic_urn: str) -> Topic:
        """Raises ApiError 404 (``SMN.0006``) when the topic does not exist."""
        data = await self.api.call("GET", f"/{topic_urn}")
        try:
            return Topic.model_validate(data)
        except ValidationError:
            raise TransportError(
                ErrorCode.SMN_BAD_RESPONSE, "the topic query answered without topic_urn/name"
            ) from None
