"""The backup service: given orders and the invocation, it wires the clients, carries the orders out, emits a
result event for each outcome (log line, then the result topic) and answers status queries.

Nothing in here raises to its callers except ``ServiceError`` from the status query: configuration errors,
unreachable endpoints and our own bugs all end as result events that say what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from lib.cloud.errors import CloudError
from lib.codes import ErrorCode
from lib.config import ConfigError, Settings
from lib.dds.models import Backup, Instance
from lib.logs import get_logger
from lib.models import (
    BackupOrder,
    BackupRequest,
    ErrorInfo,
    InvocationResult,
    Outcome,
    ResultData,
    ResultEvent,
    internal_error,
)
from lib.results import events
from lib.results.log_sink import log_result
from lib.runner.resolve import resolve
from lib.runner.runner import Runner
from lib.runtime import Deadline, Invocation
from lib.service.clients import Clients, Connection, connect, open_clients

_log = get_logger("service")


class ServiceError(Exception):
    """The service could not answer (configuration, credentials, the API); ``error`` says why."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Execution:
    results: list[ResultEvent]
    #: What happened when publishing the results to RESULT_TOPIC_URN (None when not configured).
    publish: dict[str, Any] | None = None


@dataclass(frozen=True)
class BackupService:
    invocation: Invocation
    #: None when the configuration is invalid; ``config_error`` then says why.
    settings: Settings | None
    config_error: str | None = None
    #: The invocation's one session and credentials, opened by the first call that needs them (a chat command
    #: looks an instance up, then backs it up) and closed by ``close``.
    _connection: list[Connection] = field(default_factory=list, init=False, repr=False)
    _opened: AsyncExitStack = field(default_factory=AsyncExitStack, init=False, repr=False)
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def close(self) -> None:
        """Closes the invocation's session, if one was opened."""
        await self._opened.aclose()
        self._connection.clear()

    async def _connect(self) -> Connection:
        async with self._opening:
            if not self._connection:
                self._connection.append(
                    await self._opened.enter_async_context(connect(self._settings(), self.invocation))
                )
            return self._connection[0]

    def config_failure(self) -> ErrorInfo:
        return ErrorInfo.of(ErrorCode.INVALID_CONFIG, self.config_error or "invalid configuration")

    async def run(self, orders: list[BackupOrder]) -> InvocationResult:
        """Carry out every order of a (non-HTTP) event; the invocation result says what became of each."""
        _log.info("invocation started", extra={"items": len(orders)})
        execution = await self.execute(orders)
        outcome = InvocationResult.from_results(execution.results)
        outcome.publish = execution.publish
        _log.info("invocation finished", extra={"summary": outcome.summary.model_dump(), "ok": outcome.ok})
        return outcome

    async def execute(
        self, orders: list[BackupOrder], deadline: Deadline | None = None, wait_deadline: Deadline | None = None
    ) -> Execution:
        """Carry out orders, log each outcome as a result event and publish them when configured. Never raises.

        ``deadline`` bounds everything (default: the invocation's); ``wait_deadline`` only the waiting for jobs.
        """
        if not any(o.request is not None for o in orders):
            return Execution(self._emit([_unserved(o, None) for o in orders]))
        try:
            return await self._execute(orders, deadline or self.invocation.deadline, wait_deadline)
        except ConfigError as exc:
            error = ErrorInfo.of(ErrorCode.INVALID_CONFIG, str(exc))
            return Execution(self._emit([_unserved(o, error) for o in orders]))
        except CloudError as exc:  # raised while connecting (IAM); DDS call errors are per order
            return Execution(self._emit([_unserved(o, exc.info()) for o in orders]))
        except Exception as exc:  # a bug of ours: report it, never lose the event silently
            _log.exception("unexpected error")
            return Execution(self._emit([_result(o, Outcome.FAILED, internal_error(exc)) for o in orders]))

    async def _execute(
        self, orders: list[BackupOrder], deadline: Deadline, wait_deadline: Deadline | None
    ) -> Execution:
        settings = self._settings()
        chat = any(o.watch is not None for o in orders)
        work = _work_deadline(settings, deadline)
        if wait_deadline is not None and wait_deadline.at > work.at:
            wait_deadline = work  # waiting polls DDS: it ends with DDS's work
        connection = await self._connect()
        async with open_clients(
            settings, self.invocation, work, chat=chat, smn_deadline=deadline, connection=connection
        ) as clients:
            runner = Runner(
                client=clients.dds,
                settings=settings,
                deadline=work,
                retry=clients.retry,
                wait_deadline=wait_deadline,
                smn=clients.smn,
                chat=clients.chat,
            )
            per_order = await _run_orders(runner, orders)
            results = self._emit([d for batch in per_order for d in batch])
            return Execution(results, await self._publish(clients, results))

    async def _publish(self, clients: Clients, results: list[ResultEvent]) -> dict[str, Any] | None:
        """Every result to RESULT_TOPIC_URN, the stale and failed ones also to ALERT_TOPIC_URN, concurrently."""
        settings = self._settings()
        if clients.smn is None:
            return None
        from lib.results.smn_sink import alerts, publish_results  # 0.7 ms of import: only with a topic configured

        sends = {
            "results": (settings.result_topic_urn, results),
            "alerts": (settings.alert_topic_urn, alerts(results)),
        }
        wanted = {k: v for k, v in sends.items() if v[0] is not None and v[1]}
        reports = await asyncio.gather(*(publish_results(clients.smn, str(t), r) for t, r in wanted.values()))
        by_kind = dict(zip(wanted, reports, strict=True))
        if not by_kind:
            return None
        report = by_kind.get("results", {})
        if "alerts" in by_kind:
            report = {**report, "alerts": by_kind["alerts"]}
        return report

    async def find_backup(self, backup_id: str, deadline: Deadline) -> Backup | None:
        """The backup with this id in the project, or None. Raises ServiceError when the API cannot tell."""
        async with self._reading(deadline) as clients:
            found = await clients.dds.list_backups(backup_id=backup_id)
        return next((b for b in found if b.id == backup_id), None)

    async def find_instances(self, request: BackupRequest, deadline: Deadline) -> list[Instance]:
        """The instances a request means, without doing anything to them. Raises ServiceError as above."""
        async with self._reading(deadline) as clients:
            return (await resolve(clients.dds, request)).instances

    @contextlib.asynccontextmanager
    async def _reading(self, deadline: Deadline) -> AsyncIterator[Clients]:
        """Clients for a query; what stops it becomes a ServiceError that says why."""
        try:
            connection = await self._connect()
            async with open_clients(self._settings(), self.invocation, deadline, connection=connection) as clients:
                yield clients
        except ConfigError as exc:
            raise ServiceError(ErrorInfo.of(ErrorCode.INVALID_CONFIG, str(exc))) from None
        except CloudError as exc:
            raise ServiceError(exc.info()) from None

    def _settings(self) -> Settings:
        if self.settings is None:
            raise ConfigError(self.config_error or "invalid configuration")
        return self.settings

    def _emit(self, data: list[ResultData]) -> list[ResultEvent]:
        results = [events.build(d, self.invocation.function_name) for d in data]
        for r in results:
            log_result(r)
        return results


#: With a topic configured, DDS's work stops this much before the deadline (at most a quarter of the time left), so
#: that what is left can still be handed on and the results published.
PUBLISH_RESERVE_S = 2.0


def _work_deadline(settings: Settings, deadline: Deadline) -> Deadline:
    if not (settings.result_topic_urn or settings.fanout_topic_urn or settings.alert_topic_urn):
        return deadline
    return deadline.before(min(PUBLISH_RESERVE_S, deadline.remaining() * 0.25))


def _result(order: BackupOrder, outcome: Outcome, error: ErrorInfo | None) -> ResultData:
    dry_run = order.request is not None and order.request.dry_run
    return ResultData(
        outcome=outcome, trigger=order.trigger, correlation_id=order.correlation_id, error=error, dry_run=dry_run
    )


def _unserved(order: BackupOrder, error: ErrorInfo | None) -> ResultData:
    """An order that could not be started: its own rejection, else ``failed`` with the common cause."""
    if order.request is None:
        return _result(order, Outcome.REJECTED, order.rejection)
    return _result(order, Outcome.FAILED, error)


async def _run_orders(runner: Runner, orders: list[BackupOrder]) -> list[list[ResultData]]:
    """Every order concurrently, except orders of the same identity (a message delivered twice in one batch):
    those run one after the other, so the second finds the first's backup and reports ``exists``."""
    groups: dict[str, list[int]] = {}
    for index, order in enumerate(orders):
        groups.setdefault(order.identity, []).append(index)
    out: list[list[ResultData]] = [[] for _ in orders]

    async def run_group(indexes: list[int]) -> None:
        for index in indexes:
            out[index] = await _run_one(runner, orders[index])

    await asyncio.gather(*(run_group(g) for g in groups.values()))
    return out


async def _run_one(runner: Runner, order: BackupOrder) -> list[ResultData]:
    """One order; whatever stops it fails this order only, while the others run on to their own results."""
    try:
        return await runner.run(order)
    except CloudError as exc:
        return [_result(order, Outcome.FAILED, exc.info())]
    except Exception as exc:
        _log.exception("unexpected error")
        return [_result(order, Outcome.FAILED, internal_error(exc))]
