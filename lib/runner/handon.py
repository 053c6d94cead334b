"""Sending the function a message of its own (``HandOn``) through its fan-out topic (``FANOUT_TOPIC_URN``), whose SMN
trigger brings it back as a new invocation: the one place fan-outs (``fanout.py``), hand-offs of retryable
failures (``handoff.py``) and chat watches (``watch.py``) are published."""

from __future__ import annotations

from lib.cloud.errors import CloudError
from lib.models import HandOn
from lib.smn.client import SmnClient


async def send(smn: SmnClient, topic_urn: str, subject: str, message: HandOn) -> CloudError | None:
    """None when SMN took the message, else why not (the caller's result says it)."""
    try:
        await smn.publish(topic_urn, subject, message.model_dump_json(exclude_none=True, exclude_defaults=True))
    except CloudError as exc:
        return exc
    return None
