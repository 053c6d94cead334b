"""The result data of one order, measured from when its step started."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lib.dds.models import Instance
from lib.models import BackupOrder, Outcome, ResultData


@dataclass(frozen=True)
class Report:
    order: BackupOrder
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    @classmethod
    def start(cls, order: BackupOrder, clock: Callable[[], float] = time.monotonic) -> Report:
        return cls(order, clock, clock())

    def __call__(
        self, outcome: Outcome, *, instance: Instance | None = None, instance_id: str | None = None, **fields: Any
    ) -> ResultData:
        # Every result of a dry run says so: a dry run never asks the platform for a retry.
        request = self.order.request
        fields.setdefault("dry_run", request is not None and request.dry_run)
        return ResultData(
            outcome=outcome,
            instance_id=instance.id if instance else instance_id,
            instance_name=instance.name if instance else None,
            trigger=self.order.trigger,
            correlation_id=self.order.correlation_id,
            duration_ms=int((self.clock() - self.started) * 1000),
            **fields,
        )
