"""Carrying out retention after a successful backup: list the instance's backups, let the pure policy
(``lib/planning/retention.py``) choose, delete. Each deletion is a ``pruned`` result; a dry run only lists."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from lib.cloud.errors import CloudError
from lib.dds.client import DdsClient
from lib.dds.models import Backup, Instance
from lib.logs import get_logger
from lib.models import Outcome, ResultData, Retention
from lib.planning import retention
from lib.runner.report import Report

_log = get_logger("runner.prune")
# Refusals that may mean "already gone": DBS.201214 "The backup file does not exist", DBS.201502 (what both
# Terraform providers read as a missing backup on delete), and DBS.201204, documented both as "the backup file does
# not exist" and as "cannot be executed in the current state". The backup list decides.
MAYBE_GONE = ("DBS.201214", "DBS.201502", "DBS.201204")


async def prune(
    client: DdsClient,
    report: Report,
    instance: Instance,
    policy: Retention,
    *,
    template: str,
    scope: str,
    keep_id: str | None,
    dry_run: bool,
) -> list[ResultData]:
    """Apply ``policy`` to the backups of ``instance`` made for ``scope`` (``ownership.scope_digest``)."""
    try:
        backups = await client.list_backups(instance_id=instance.id)
    except CloudError as exc:
        return [report(Outcome.FAILED, instance=instance, error=exc.info())]
    now = datetime.now(timezone.utc)
    doomed = retention.select(backups, policy, template=template, scope=scope, keep_id=keep_id, now=now)
    return list(await asyncio.gather(*(_delete(client, report, instance, b, dry_run) for b in doomed)))


async def _delete(client: DdsClient, report: Report, instance: Instance, backup: Backup, dry_run: bool) -> ResultData:
    fields: dict[str, Any] = {"instance": instance, "name": backup.name, "backup_id": backup.id}
    if dry_run:
        return report(Outcome.PRUNED, dry_run=True, backup_status=backup.status, **fields)
    try:
        job_id = await client.delete_manual_backup(backup.id)
    except CloudError as exc:
        if exc.code in MAYBE_GONE:
            return await _confirm_gone(client, report, exc, fields)
        return report(Outcome.FAILED, error=exc.info(), **fields)
    _log.info("old backup deleted", extra={"dds.backup_id": backup.id, "dds.job_id": job_id})
    return report(Outcome.PRUNED, job_id=job_id, backup_status="DISABLED", **fields)


async def _confirm_gone(client: DdsClient, report: Report, refusal: CloudError, fields: dict[str, Any]) -> ResultData:
    """After a refused delete: gone (or being deleted) meets the goal; still there is a failure worth retrying."""
    try:
        listed = await client.list_backups(backup_id=fields["backup_id"])
    except CloudError as exc:
        return report(Outcome.FAILED, error=exc.info(), **fields)
    still = next((b for b in listed if b.id == fields["backup_id"] and b.status != "DISABLED"), None)
    if still is None:
        return report(Outcome.PRUNED, **fields)
    message = f"DDS refused to delete the backup ({refusal.code}) and it is still there ({still.status}); retry later"
    return report(Outcome.FAILED, error=refusal.info(message).amend(retryable=True), **fields)
