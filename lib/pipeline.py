"""One invocation, start to end: event -> requests -> DDS calls -> result events -> return value.

Nothing in here raises to the caller: configuration errors, unreachable endpoints and our own bugs all end
as result events (or, for API Gateway, as an HTTP answer) that say what happened. ``handler.py`` raises only
when ``Reply.retry`` asks it to.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp

from lib import logs
from lib.config import ConfigError, Settings, load_settings
from lib.dds import endpoints
from lib.dds.auth.credentials import connect
from lib.dds.client import DdsClient
from lib.dds.errors import DdsError
from lib.dds.http import SignedApi
from lib.dds.retry import RetryPolicy
from lib.models import ErrorInfo, InvocationResult, Outcome, ResultData, ResultEvent, Trigger
from lib.results import events, sinks
from lib.results.smn import SmnPublisher
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
        executed = await execute(parsed.items, env)
        outcome = InvocationResult.from_results(executed.results)
        outcome.publish = executed.publish
        _log.info("invocation finished", extra={"summary": outcome.summary.model_dump(), "ok": outcome.ok})
        return outcome


@dataclass(frozen=True)
class Executed:
    results: list[ResultEvent]
    #: What happened when publishing the results to RESULT_TOPIC_URN (None when not configured).
    publish: dict[str, Any] | None = None


async def execute(
    items: list[Item], env: Env, deadline: Deadline | None = None, wait_deadline: Deadline | None = None
) -> Executed:
    """Carry out items, log each outcome as a result event and publish them when configured. Never raises.

    ``deadline`` bounds everything (default: the invocation's); ``wait_deadline`` only the waiting for jobs.
    """
    deadline = deadline or env.invocation.deadline
    if not any(i.request is not None for i in items):
        return Executed(_emit([_result(i, Outcome.REJECTED, i.error) for i in items], env))

    def everyone(error: ErrorInfo) -> list[ResultData]:
        return [
            _result(i, Outcome.FAILED, error) if i.request is not None else _result(i, Outcome.REJECTED, i.error)
            for i in items
        ]

    try:
        async with open_session(env, deadline) as connected:
            assert env.settings is not None
            runner = Runner(
                client=connected.dds,
                settings=env.settings,
                deadline=deadline,
                retry=retry_policy(env.settings),
                wait_deadline=wait_deadline,
                publisher=connected.smn,
            )
            per_item = await _run_items(runner, items)
            results = _emit([d for batch in per_item for d in batch], env)
            publish = None
            if connected.smn is not None and env.settings.result_topic_urn is not None:
                publish = await publish_results(connected.smn, env.settings.result_topic_urn, results)
            return Executed(results, publish)
    except ConfigError as exc:
        return Executed(_emit(everyone(ErrorInfo(code="INVALID_CONFIG", message=str(exc), retryable=False)), env))
    except DdsError as exc:  # raised while connecting (IAM); DDS call errors are per item
        return Executed(_emit(everyone(error_info(exc)), env))
    except Exception as exc:  # a bug of ours: report it, never lose the event silently
        _log.exception("unexpected error")
        error = ErrorInfo(code="INTERNAL_ERROR", message=type(exc).__name__, retryable=True)
        return Executed(_emit([_result(item, Outcome.FAILED, error) for item in items], env))


def _emit(data: list[ResultData], env: Env) -> list[ResultEvent]:
    results = [events.build(d, env.invocation.function_name) for d in data]
    for r in results:
        sinks.log_result(r)
    return results


async def publish_results(smn: SmnPublisher, topic_urn: str, results: list[ResultEvent]) -> dict[str, Any]:
    """Each result event as one SMN message. A failure is logged and counted, never turned into a failed
    backup: the backup exists whether or not anybody heard about it."""
    errors: list[str] = []

    async def one(event: ResultEvent) -> None:
        data = event.data
        subject = f"dds-backup {data.outcome.value} {data.instance_name or data.instance_id or '-'}"
        try:
            await smn.publish(topic_urn, subject, json.dumps(event.to_json_dict(), separators=(",", ":")))
        except DdsError as exc:
            errors.append(exc.code)
            _log.warning(f"could not publish a result to SMN ({exc.code})", extra={"error.type": exc.code})

    await asyncio.gather(*(one(r) for r in results))
    report: dict[str, Any] = {"topic_urn": topic_urn, "published": len(results) - len(errors), "failed": len(errors)}
    if errors:
        report["errors"] = sorted(set(errors))
    return report


@dataclass(frozen=True)
class Connected:
    dds: DdsClient
    smn: SmnPublisher | None


@asynccontextmanager
async def open_session(env: Env, deadline: Deadline) -> AsyncIterator[Connected]:
    """One ClientSession and authenticated clients for the invocation. Raises ConfigError or DdsError."""
    if env.settings is None:
        raise ConfigError(env.config_error or "invalid configuration")
    settings = env.settings
    limit = asyncio.Semaphore(settings.max_concurrency)
    retry = retry_policy(settings)
    async with aiohttp.ClientSession() as session:
        conn = await connect(settings, env.invocation, session, settings.request_timeout)
        _log.info("credentials resolved", extra={"auth.source": conn.auth.source, "dds.endpoint": conn.endpoint})
        common: dict[str, Any] = {
            "auth": conn.auth,
            "deadline": deadline,
            "request_timeout": settings.request_timeout,
            "limit": limit,
            "retry": retry,
        }
        smn = None
        if settings.result_topic_urn or settings.fanout_topic_urn:
            endpoint = settings.smn_endpoint or (endpoints.smn_endpoint(settings.region) if settings.region else None)
            if endpoint is None:
                raise ConfigError("RESULT_TOPIC_URN/FANOUT_TOPIC_URN need SMN_ENDPOINT or REGION")
            prefix = f"/v2/{conn.project_id}/notifications/topics"
            smn = SmnPublisher(SignedApi(session, endpoint=endpoint, prefix=prefix, **common))
        yield Connected(DdsClient(session, endpoint=conn.endpoint, project_id=conn.project_id, **common), smn)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.retry_max_attempts, base_delay=settings.retry_base_delay)


def _result(item: Item, outcome: Outcome, error: ErrorInfo | None) -> ResultData:
    return ResultData(outcome=outcome, trigger=item.trigger, correlation_id=item.correlation_id, error=error)


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
