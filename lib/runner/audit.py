"""Carrying out an audit for one instance: list its backups (every page) and let the pure verdict decide
(``lib/planning/audit.py``). Reads only."""

from __future__ import annotations

from datetime import datetime, timezone

from lib.cloud.errors import CloudError
from lib.dds.client import DdsClient
from lib.dds.models import Instance
from lib.models import Audit, Outcome, ResultData
from lib.planning import audit
from lib.runner.report import Report


async def audit_instance(client: DdsClient, report: Report, instance: Instance, policy: Audit) -> ResultData:
    try:
        backups = await client.list_backups(instance_id=instance.id)
    except CloudError as exc:
        return report(Outcome.FAILED, instance=instance, error=exc.info())
    found, stale = audit.evaluate(backups, policy, datetime.now(timezone.utc))
    if stale is not None:
        return report(Outcome.STALE, instance=instance, audit=found, error=stale)
    newest = found.newest_completed
    return report(
        Outcome.FRESH,
        instance=instance,
        audit=found,
        name=newest.name if newest else None,
        backup_id=newest.id if newest else None,
        backup_status="COMPLETED",
    )
