"""Dispatch: API Gateway events to the HTTP fronts, every other event to its source, then the backup service.

Nothing in here raises to the caller: configuration errors, unreachable endpoints and our own bugs all end as
result events (or, for API Gateway, as an HTTP answer) that say what happened. ``handler.py`` raises only when
``Reply.retry`` asks it to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lib import logs
from lib.config import ConfigError, Settings, load_settings
from lib.models import Trigger
from lib.runtime import Invocation
from lib.service import BackupService
from lib.sources import SourceContext, parse_event

# OpenTelemetry's faas.trigger values.
_FAAS_TRIGGER = {
    Trigger.TIMER: "timer",
    Trigger.SMN: "pubsub",
    Trigger.KAFKA: "pubsub",
    Trigger.ROCKETMQ: "pubsub",
    Trigger.CLOUDEVENTS: "pubsub",
    Trigger.APIG: "http",
    Trigger.SLACK: "http",
    Trigger.TEAMS: "http",
    Trigger.MATTERMOST: "http",
    Trigger.DIRECT: "other",
}


# No generated repr: asyncio.run() formats its main task, and with it this result, when it restores the SIGINT
# handler; a repr of a large fan-out's whole answer cost milliseconds per invocation.
@dataclass(frozen=True, repr=False)
class Reply:
    """What the handler returns, and whether it must then ask the platform to retry."""

    value: dict[str, Any]
    retry: bool = False


def _is_http(event: Any) -> bool:
    """An API Gateway event (the platform's sample shape): everything else goes to its trigger's source."""
    return isinstance(event, dict) and "httpMethod" in event and ("requestContext" in event or "path" in event)


def _service(invocation: Invocation) -> BackupService:
    settings: Settings | None = None
    config_error: str | None = None
    try:
        settings = load_settings(invocation.lookup, invocation.chat_stand_ins)
    except ConfigError as exc:
        config_error = str(exc)
    logs.configure(settings.log_level if settings else "INFO")
    if settings is not None:
        logs.register_secrets(settings.secrets())
    return BackupService(invocation, settings, config_error)


async def run(
    event: Any, context: Any, started: float, *, cold_start: bool = False, chat_stand_ins: Iterable[str] = ()
) -> Reply:
    """``chat_stand_ins``: loopback stand-ins for the chat platforms, from the dev side only (``handler``)."""
    invocation = Invocation.from_context(context, started, chat_stand_ins)
    service = _service(invocation)
    try:
        return await _run(event, invocation, service, cold_start)
    finally:
        await service.close()


async def _run(event: Any, invocation: Invocation, service: BackupService, cold_start: bool) -> Reply:
    faas = {"faas.invocation_id": invocation.request_id, "faas.name": invocation.function_name}
    with logs.bound(**faas, **{"faas.coldstart": cold_start}), logs.scope():
        if _is_http(event):
            # Loaded for API Gateway events only: a timer or a queue never pays for the webhook stack (4 ms of
            # import, measured on top of a timer's).
            from lib.http import app

            with logs.bound(**{"faas.trigger": "http"}):
                # Synchronous: the caller gets the answer; a raise would only turn it into a gateway 500.
                return Reply(logs.redact(await app.handle(event, service)))
        settings = service.settings
        source = SourceContext(
            request_id=invocation.request_id,
            default_request=settings.default_request if settings else None,
            config_error=service.config_error,
            own_topic=settings.fanout_topic_urn if settings else None,
        )
        parsed = parse_event(event, source)
        with logs.bound(**{"faas.trigger": _FAAS_TRIGGER[parsed.trigger], "event.kind": parsed.trigger.value}):
            outcome = await service.run(parsed.orders)
        # The same redaction as the logs: no builder mistake can hand a secret to the caller either.
        return Reply(logs.redact(outcome.to_json_dict()), retry=outcome.needs_retry)
