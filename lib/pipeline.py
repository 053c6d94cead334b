"""One invocation, start to end: event -> requests -> DDS calls -> result events -> invocation result.

Nothing in here raises to the caller: configuration errors, unreachable endpoints and our own bugs all end
as result events that say what happened. ``handler.py`` decides whether to ask the platform to retry.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

import aiohttp

from lib import logs
from lib.config import ConfigError, Settings, load_settings
from lib.dds.auth.credentials import connect
from lib.dds.client import DdsClient
from lib.dds.errors import DdsError
from lib.models import ErrorInfo, InvocationResult, Outcome, ResultData, Trigger
from lib.results import events, sinks
from lib.runner.execute import Runner, error_info
from lib.runtime import Deadline, Invocation, ctx_get
from lib.sources import Item, ParsedEvent, SourceContext, parse_event

_log = logs.get_logger("pipeline")

# OpenTelemetry's faas.trigger values.
_FAAS_TRIGGER = {
    Trigger.TIMER: "timer",
    Trigger.SMN: "pubsub",
    Trigger.KAFKA: "pubsub",
    Trigger.ROCKETMQ: "pubsub",
    Trigger.APIG: "http",
    Trigger.SLACK: "http",
    Trigger.DIRECT: "other",
}


def invocation_from(context: Any, started: float) -> Invocation:
    return Invocation(
        context=context,
        request_id=ctx_get(context, "getRequestID") or f"local-{int(time.time() * 1000)}",
        function_name=ctx_get(context, "getFunctionName") or "dds-backup",
        deadline=Deadline.from_context(context, started),
    )


async def run(event: Any, context: Any, started: float, *, cold_start: bool = False) -> InvocationResult:
    invocation = invocation_from(context, started)
    settings: Settings | None = None
    config_error: str | None = None
    try:
        settings = load_settings(invocation.lookup)
    except ConfigError as exc:
        config_error = str(exc)
    logs.configure(settings.log_level if settings else "INFO")
    if settings is not None:
        logs.register_secrets(settings.secrets())
    with logs.bound(
        **{
            "faas.invocation_id": invocation.request_id,
            "faas.name": invocation.function_name,
            "faas.coldstart": cold_start,
        }
    ):
        parsed = parse_event(
            event,
            SourceContext(
                request_id=invocation.request_id,
                now=datetime.now(timezone.utc),
                default_request=settings.default_request if settings else None,
            ),
        )
        with logs.bound(**{"faas.trigger": _FAAS_TRIGGER[parsed.trigger]}):
            _log.info("invocation started", extra={"event.kind": parsed.trigger.value, "items": len(parsed.items)})
            try:
                data = await _process(parsed, settings, config_error, invocation)
            except Exception as exc:  # a bug of ours: report it, never lose the event silently
                _log.exception("unexpected error")
                data = [
                    _failed(item, ErrorInfo(code="INTERNAL_ERROR", message=type(exc).__name__, retryable=True))
                    for item in parsed.items
                ]
            results = [events.build(d, invocation.function_name) for d in data]
            for r in results:
                sinks.log_result(r)
            outcome = InvocationResult.from_results(results)
            _log.info("invocation finished", extra={"summary": outcome.summary.model_dump(), "ok": outcome.ok})
            return outcome


def _failed(item: Item, error: ErrorInfo) -> ResultData:
    return ResultData(
        outcome=Outcome.FAILED,
        trigger=item.trigger,
        correlation_id=item.correlation_id,
        error=error,
    )


def _rejected(item: Item) -> ResultData:
    assert item.error is not None
    return ResultData(
        outcome=Outcome.REJECTED, trigger=item.trigger, correlation_id=item.correlation_id, error=item.error
    )


async def _process(
    parsed: ParsedEvent, settings: Settings | None, config_error: str | None, invocation: Invocation
) -> list[ResultData]:
    valid = [i for i in parsed.items if i.request is not None]
    if not valid:
        return [_rejected(i) for i in parsed.items]
    if settings is None:
        assert config_error is not None
        err = ErrorInfo(code="INVALID_CONFIG", message=config_error, retryable=False)
        return [_failed(i, err) if i.request is not None else _rejected(i) for i in parsed.items]

    limit = asyncio.Semaphore(settings.max_concurrency)
    async with aiohttp.ClientSession() as session:
        try:
            conn = await connect(settings, invocation, session, settings.request_timeout)
        except ConfigError as exc:
            err = ErrorInfo(code="INVALID_CONFIG", message=str(exc), retryable=False)
            return [_failed(i, err) if i.request is not None else _rejected(i) for i in parsed.items]
        except DdsError as exc:
            return [_failed(i, error_info(exc)) if i.request is not None else _rejected(i) for i in parsed.items]
        _log.info("credentials resolved", extra={"auth.source": conn.auth.source, "dds.endpoint": conn.endpoint})
        client = DdsClient(
            session,
            endpoint=conn.endpoint,
            project_id=conn.project_id,
            auth=conn.auth,
            deadline=invocation.deadline,
            request_timeout=settings.request_timeout,
        )
        runner = Runner(client=client, settings=settings, deadline=invocation.deadline, limit=limit)
        per_item = await _run_items(runner, parsed.items)
    return [d for batch in per_item for d in batch]


async def _run_items(runner: Runner, items: list[Item]) -> list[list[ResultData]]:
    """Every item concurrently, except items of the same identity (a message delivered twice in one batch):
    those run one after the other, so the second finds the first's backup and reports ``exists``."""
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(item.identity, []).append(index)
    out: list[list[ResultData]] = [[] for _ in items]

    async def run_group(indexes: list[int]) -> None:
        for index in indexes:
            out[index] = await runner.run_item(items[index])

    await asyncio.gather(*(run_group(g) for g in groups.values()))
    return out
