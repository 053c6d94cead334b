"""Wiring for one invocation: one ``ClientSession``, the credentials, and the clients built on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from lib.cloud import regions
from lib.cloud.auth.credentials import Access, resolve_access
from lib.cloud.limiter import Limiter
from lib.cloud.retry import RetryBudget, RetryPolicy
from lib.cloud.transport import SignedTransport
from lib.config import ConfigError, Settings
from lib.dds.client import DdsClient
from lib.logs import get_logger
from lib.runtime import Deadline, Invocation

if TYPE_CHECKING:  # imported where they are built: most invocations need neither (SMN 0.6 ms, chat 1.0 ms of import)
    from lib.chat.post import ChatPoster
    from lib.smn.client import SmnClient

_log = get_logger("service")


@dataclass(frozen=True)
class Clients:
    dds: DdsClient
    #: None unless a topic is configured (RESULT_TOPIC_URN, FANOUT_TOPIC_URN, ALERT_TOPIC_URN).
    smn: SmnClient | None
    #: The one policy of the invocation (with its retry budget): the clients retry reads with it, the runner
    #: retries creates.
    retry: RetryPolicy
    #: None unless the invocation watches a chat-started backup.
    chat: ChatPoster | None


@dataclass(frozen=True)
class Connection:
    """What every client of an invocation shares: one ``ClientSession`` and the credentials, resolved once."""

    session: aiohttp.ClientSession
    access: Access


@asynccontextmanager
async def connect(settings: Settings, invocation: Invocation) -> AsyncIterator[Connection]:
    """Raises ConfigError or CloudError (IAM)."""
    async with aiohttp.ClientSession() as session:
        access = await resolve_access(settings, invocation, session, settings.request_timeout)
        _log.info("credentials resolved", extra={"auth.source": access.auth.source, "dds.endpoint": access.endpoint})
        yield Connection(session, access)


@asynccontextmanager
async def open_clients(
    settings: Settings,
    invocation: Invocation,
    deadline: Deadline,
    *,
    chat: bool = False,
    smn_deadline: Deadline | None = None,
    connection: Connection | None = None,
) -> AsyncIterator[Clients]:
    """Authenticated clients sharing one session and one retry policy and budget; each API has its limiter
    (at most ``MAX_CONCURRENCY`` calls in flight, and the rate it learns). ``smn_deadline``: SMN's calls may go
    on after DDS's stop (to hand on what is left). ``connection``: the invocation's, when it has one already
    (else one is opened for these clients alone). Raises ConfigError or CloudError (IAM)."""
    retry = RetryPolicy(
        max_attempts=settings.retry_max_attempts, base_delay=settings.retry_base_delay, budget=RetryBudget()
    )
    limiters: list[Limiter] = []
    async with AsyncExitStack() as stack:
        if connection is None:
            connection = await stack.enter_async_context(connect(settings, invocation))
        session, access = connection.session, connection.access

        def transport(api: str, endpoint: str, prefix: str, until: Deadline) -> SignedTransport:
            # What a warm instance learns about the rate is kept per API, endpoint and project (the tenant).
            limiter = Limiter(f"{api} {endpoint} {access.project_id}", max_in_flight=settings.max_concurrency, what=api)
            limiters.append(limiter)
            return SignedTransport(
                session,
                endpoint=endpoint,
                prefix=prefix,
                auth=access.auth,
                deadline=until,
                request_timeout=settings.request_timeout,
                limiter=limiter,
                retry=retry,
            )

        smn = None
        if settings.result_topic_urn or settings.fanout_topic_urn or settings.alert_topic_urn:
            endpoint = settings.smn_endpoint or (regions.smn_endpoint(settings.region) if settings.region else None)
            if endpoint is None:
                raise ConfigError("RESULT_TOPIC_URN/FANOUT_TOPIC_URN/ALERT_TOPIC_URN need SMN_ENDPOINT or REGION")
            from lib.smn.client import SmnClient

            topics = f"/v2/{access.project_id}/notifications/topics"
            smn = SmnClient(transport("SMN", endpoint, topics, smn_deadline or deadline))
        dds_api = transport("DDS", access.endpoint, f"/v3/{access.project_id}", deadline)
        dds = DdsClient(dds_api, project_id=access.project_id)
        poster = None
        if chat:
            from lib.chat.post import ChatPoster

            poster = ChatPoster(
                session, settings, smn_deadline or deadline, settings.request_timeout, invocation.chat_stand_ins
            )
        try:
            yield Clients(dds, smn, retry, poster)
        finally:
            for limiter in limiters:
                limiter.report()
