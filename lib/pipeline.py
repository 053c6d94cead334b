"""One invocation, start to end: event -> requests -> DDS calls -> result events -> return value.

Nothing in here raises to the caller: configuration errors, unreachable endpoints and our own bugs all end
as result events (or, for API Gateway, as an HTTP answer) that say what happened. ``handler.py`` raises only
when ``Reply.retry`` asks it to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp

from lib import logs
from lib.config import ConfigError, Settings, load_settings
from lib.dds.auth.credentials import connect
from lib.dds.client import DdsClient
from lib.dds.errors import DdsError
from lib.dds.retry import RetryPolicy
from lib.models import ErrorInfo, InvocationResult, Outcome, ResultData, ResultEvent, Trigger
from lib.results import events, sinks
from lib.runner.execute import Runner, error_info
from lib.runtime import Deadline, Invocation, ctx_get
from lib.sources import Item, ParsedEvent, SourceContext, apig, parse_event

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


@dataclass(frozen=True)
class Reply:
    """What the handler returns, and whether it must then ask the platform to retry."""

    value: dict[str, Any]
    retry: bool = False


@dataclass(frozen=True)
class Env:
    """What every part of an invocation needs: the platform context and the configuration (or its error)."""

    invocation: Invocation
    settings: Settings | None
    config_error: str | None


def invocation_from(context: Any, started: float) -> Invocation:
    return Invocation(
        context=context,
        request_id=ctx_get(context, "getRequestID") or f"local-{int(time.time() * 1000)}",
        function_name=ctx_get(context, "getFunctionName") or "dds-backup",
        deadline=Deadline.from_context(context, started),
    )


async def run(event: Any, context: Any, started: float, *, cold_start: bool = False) -> Reply:
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
    env = Env(invocation, settings, config_error)
    with logs.bound(
        **{
            "faas.invocation_id": invocation.request_id,
            "faas.name": invocation.function_name,
            "faas.coldstart": cold_start,
        }
    ):
        if apig.is_apig_event(event):
            with logs.bound(**{"faas.trigger": "http"}):
                # Synchronous: the caller gets the answer; a raise would only turn it into a gateway 500.
                return Reply(logs.redact(await apig.handle(event, env)))
        outcome = await run_event(event, env)
        # The same redaction as the logs: no builder mistake can hand a secret to the caller either.
        return Reply(logs.redact(outcome.to_json_dict()), retry=outcome.needs_retry)


async def run_event(event: Any, env: Env) -> InvocationResult:
    source_context = SourceContext(
        request_id=env.invocation.request_id,
        now=datetime.now(timezone.utc),
        default_request=env.settings.default_request if env.settings else None,
    )
    try:
        parsed = parse_event(event, source_context)
    except Exception:  # a bug of ours in a parser: the same event would fail the same way, so no retry
        _log.exception("unexpected error while reading the event")
        error = ErrorInfo(
            code="INTERNAL_ERROR", message="the event could not be read (a bug; see the log)", retryable=False
        )
        item = Item(
            Trigger.DIRECT, f"unreadable:{env.invocation.request_id}", env.invocation.request_id, None, error=error
        )
        parsed = ParsedEvent(Trigger.DIRECT, [item])
    with logs.bound(**{"faas.trigger": _FAAS_TRIGGER[parsed.trigger]}):
        _log.info("invocation started", extra={"event.kind": parsed.trigger.value, "items": len(parsed.items)})
        results = await execute(parsed.items, env)
        outcome = InvocationResult.from_results(results)
        _log.info("invocation finished", extra={"summary": outcome.summary.model_dump(), "ok": outcome.ok})
        return outcome


async def execute(
    items: list[Item], env: Env, deadline: Deadline | None = None, wait_deadline: Deadline | None = None
) -> list[ResultEvent]:
    """Carry out items and report each outcome as a logged result event. Never raises.

    ``deadline`` bounds everything (default: the invocation's); ``wait_deadline`` only the waiting for jobs.
    """
    try:
        data = await _process(items, env, deadline or env.invocation.deadline, wait_deadline)
    except Exception as exc:  # a bug of ours: report it, never lose the event silently
        _log.exception("unexpected error")
        err = ErrorInfo(code="INTERNAL_ERROR", message=type(exc).__name__, retryable=True)
        data = [_result(item, Outcome.FAILED, err) for item in items]
    results = [events.build(d, env.invocation.function_name) for d in data]
    for r in results:
        sinks.log_result(r)
    return results


@asynccontextmanager
async def open_client(env: Env, deadline: Deadline) -> AsyncIterator[DdsClient]:
    """One session and one authenticated client for the invocation. Raises ConfigError or DdsError."""
    if env.settings is None:
        raise ConfigError(env.config_error or "invalid configuration")
    settings = env.settings
    async with aiohttp.ClientSession() as session:
        conn = await connect(settings, env.invocation, session, settings.request_timeout)
        _log.info("credentials resolved", extra={"auth.source": conn.auth.source, "dds.endpoint": conn.endpoint})
        yield DdsClient(
            session,
            endpoint=conn.endpoint,
            project_id=conn.project_id,
            auth=conn.auth,
            deadline=deadline,
            request_timeout=settings.request_timeout,
            limit=asyncio.Semaphore(settings.max_concurrency),
            retry=retry_policy(settings),
        )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.retry_max_attempts, base_delay=settings.retry_base_delay)


def _result(item: Item, outcome: Outcome, error: ErrorInfo | None) -> ResultData:
    return ResultData(outcome=outcome, trigger=item.trigger, correlation_id=item.correlation_id, error=error)


async def _process(items: list[Item], env: Env, deadline: Deadline, wait_deadline: Deadline | None) -> list[ResultData]:
    if not any(i.request is not None for i in items):
        return [_result(i, Outcome.REJECTED, i.error) for i in items]

    def everyone(error: ErrorInfo) -> list[ResultData]:
        return [
            _result(i, Outcome.FAILED, error) if i.request is not None else _result(i, Outcome.REJECTED, i.error)
            for i in items
        ]

    try:
        async with open_client(env, deadline) as client:
            assert env.settings is not None
            runner = Runner(
                client=client,
                settings=env.settings,
                deadline=deadline,
                retry=retry_policy(env.settings),
                wait_deadline=wait_deadline,
            )
            per_item = await _run_items(runner, items)
    except ConfigError as exc:
        return everyone(ErrorInfo(code="INVALID_CONFIG", message=str(exc), retryable=False))
    except DdsError as exc:  # raised while connecting (IAM); DDS call errors are per item
        return everyone(error_info(exc))
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
