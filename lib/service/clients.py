"""Wiring for one invocation: one ``ClientSession``, the credentials, and the clients built on them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from lib.cloud import regions
from lib.cloud.auth.credentials import resolve_access
from lib.cloud.retry import RetryPolicy
from lib.cloud.transport import SignedTransport
from lib.config import ConfigError, Settings
from lib.dds.client import DdsClient
from lib.logs import get_logger
from lib.runtime import Deadline, Invocation

if TYPE_CHECKING:  # imported where they are built: most invocations need neither
    from lib.chat.post import ChatPoster
    from lib.smn.client import SmnClient

_log = get_logger("service")


@dataclass(frozen=True)
class Clients:
    dds: DdsClient
    #: None unless a topic is configured (RESULT_TOPIC_URN, FANOUT_TOPIC_URN, ALERT_TOPIC_URN).
    smn: SmnClient | None
    #: The one policy of the invocation: the clients retry reads with it, the runner retries creates.
    retry: RetryPolicy
    #: None unless the invocation watches a chat-started backup.
    chat: ChatPoster | None


@asynccontextmanager
async def open_clients(
    settings: Settings, invocation: Invocation, deadline: Deadline, *, chat: bool = False
) -> AsyncIterator[Clients]:
    """Authenticated clients sharing one session, one retry policy and one ``MAX_CONCURRENCY`` semaphore.
    Raises ConfigError or CloudError (IAM)."""
    limit = asyncio.Semaphore(settings.max_concurrency)
    retry = RetryPolicy(max_attempts=settings.retry_max_attempts, base_delay=settings.retry_base_delay)
    async with aiohttp.ClientSession() as session:
        access = await resolve_access(settings, invocation, session, settings.request_timeout)
        _log.info("credentials resolved", extra={"auth.source": access.auth.source, "dds.endpoint": access.endpoint})

        def transport(endpoint: str, prefix: str) -> SignedTransport:
            return SignedTransport(
                session,
                endpoint=endpoint,
                prefix=prefix,
                auth=access.auth,
                deadline=deadline,
                request_timeout=settings.request_timeout,
                limit=limit,
                retry=retry,
            )

        smn = None
        if settings.result_topic_urn or settings.fanout_topic_urn or settings.alert_topic_urn:
            endpoint = settings.smn_endpoint or (regions.smn_endpoint(settings.region) if settings.region else None)
            if endpoint is None:
                raise ConfigError("RESULT_TOPIC_URN/FANOUT_TOPIC_URN/ALERT_TOPIC_URN need SMN_ENDPOINT or REGION")
            from lib.smn.client import SmnClient

            smn = SmnClient(transport(endpoint, f"/v2/{access.project_id}/notifications/topics"))
        dds = DdsClient(transport(access.endpoint, f"/v3/{access.project_id}"), project_id=access.project_id)
        poster = None
        if chat:
            from lib.chat.post import ChatPoster

            poster = ChatPoster(session, settings, deadline, settings.request_timeout, invocation.chat_stand_ins)
        yield Clients(dds, smn, retry, poster)
