"""The result data of one order, measured from when its step started."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lib.dds.models import Instance
from lib.models import AuditReport, BackupOrder, ErrorInfo, Outcome, ResultData


@dataclass(frozen=True)
class Report:
    order: BackupOrder
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    @classmethod
    def start(cls, order: BackupOrder, clock: Callable[[], float] = time.monotonic) -> Report:
        return cls(order, clock, clock())

    def __call__(
        self,
        outcome: Outcome,
        *,
        instance: Instance | None = None,
        instance_id: str | None = None,
        name: str | None = None,
        backup_id: str | None = None,
        job_id: str | None = None,
        backup_status: str | None = None,
        attempts: int = 0,
        dry_run: bool | None = None,
        wait_ended_early: bool = False,
        audit: AuditReport | None = None,
        follow_up: str | None = None,
        error: ErrorInfo | None = None,
    ) -> ResultData:
        """One result, every field named (a misspelt one is a TypeError, never dropped). ``dry_run`` defaults to the
        request's: every result of a dry run says so, and a dry run never asks the platform for a retry."""
        request = self.order.request
        return ResultData(
            outcome=outcome,
            instance_id=instance.id if instance else instance_id,
            instance_name=instance.name if instance else None,
            name=name,
            backup_id=backup_id,
            job_id=job_id,
            backup_status=backup_status,
            trigger=self.order.trigger,
            correlation_id=self.order.correlation_id,
            attempts=attempts,
            duration_ms=int((self.clock() - self.started) * 1000),
            dry_run=dry_run if dry_run is not None else request is not None and request.dry_run,
            wait_ended_early=wait_ended_early,
            audit=audit,
            follow_up=follow_up,
            error=error,
        )
