"""The log sink: every result event is one JSON log line (the whole CloudEvent under ``cloudevent``)."""

from __future__ import annotations

import logging

from lib.logs import get_logger
from lib.models import Outcome, ResultEvent

_log = get_logger("results")
_FAILURE = {Outcome.FAILED, Outcome.REJECTED, Outcome.STALE}


def log_result(event: ResultEvent) -> None:
    data = event.data
    failed = data.outcome in _FAILURE
    _log.log(
        logging.WARNING if failed else logging.INFO,
        f"backup {data.outcome.value}"
        + (f": {data.name}" if data.name else "")
        + (f" ({data.error.code}: {data.error.message})" if data.error else ""),
        extra={
            "event.action": "dds.backup.audit" if data.audit is not None else "dds.backup.create",
            "event.outcome": "failure" if failed else "success",
            "event.duration_ms": data.duration_ms,
            "dds.instance_id": data.instance_id,
            "dds.backup_id": data.backup_id,
            "dds.job_id": data.job_id,
            "correlation_id": data.correlation_id,
            "cloudevent": event.to_json_dict(),
        },
    )
