"""Waiting for a backup to finish (``wait: true``), bounded by the deadline.

The job (``GET /v3/{project_id}/jobs?id=``) says ``Running``, ``Completed`` or ``Failed``. When the job cannot be
read, the backup list decides (``dds:backup:list``, which the function needs anyway): ``BUILDING`` -> ``COMPLETED``
or ``FAILED``. The job cannot be read when:

- it is not visible (HTTP 400 ``DBS.200543``, or a 404): a new job "takes several seconds" to become queryable
  (OTC DDS API reference, "Obtaining Information About a Task with a Specified ID"), and a finished one is purged
  some time later. The public clients read the code both ways: gophertelekomcloud (``openstack/dds/v3/instances/
  job.go``) as "not registered yet" and polls on, terraform-provider-huaweicloud (``huaweicloud/services/dds/
  resource_huaweicloud_dds_backup.go``, ``ddsJobStatusRefreshFunc``) as "finished" (``Deleted``). Neither takes it
  as the backup's outcome, and neither does this: the backup list tells it.
- the query is refused (403): no IAM action is documented for it.

A backup that is not listed (yet) is polled for until the deadline, never taken as gone: the job may not be
registered either. Only a backup that was listed and then is not is reported as gone.
Backoff doubles from 1 s to 10 s; Terraform's provider polls every 10 s.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from lib.cloud.errors import ApiError
from lib.dds.client import DdsClient
from lib.logs import get_logger
from lib.runtime import Deadline

FIRST_DELAY = 1.0
MAX_DELAY = 10.0
#: The job query's answers for a job it does not know (see above).
JOB_NOT_FOUND_CODES = frozenset({"DBS.200543"})
_log = get_logger("runner.wait")


@dataclass(frozen=True)
class Finished:
    completed: bool
    fail_reason: str | None = None


def job_unreadable(exc: ApiError) -> str | None:
    """Why the backup list must decide instead of the job (None: the error is the answer)."""
    if exc.http_status == 403:
        return f"the job query was refused ({exc.code})"
    if exc.code in JOB_NOT_FOUND_CODES or exc.http_status in (400, 404):
        return f"the job cannot be read ({exc.code or exc.http_status}: not registered yet, or already purged)"
    return None


@dataclass
class _BackupList:
    """Follows one backup in the backup list."""

    client: DdsClient
    backup_id: str
    seen: bool = False
    said_unlisted: bool = False

    async def poll(self) -> Finished | None:
        found = [b for b in await self.client.list_backups(backup_id=self.backup_id) if b.id == self.backup_id]
        if not found:
            if self.seen:
                return Finished(False, "the backup disappeared from the backup list")
            if not self.said_unlisted:
                _log.info("the backup is not listed yet; waiting for it", extra={"dds.backup_id": self.backup_id})
                self.said_unlisted = True
            return None
        self.seen = True
        status = found[0].status
        if status == "COMPLETED":
            return Finished(True)
        if status == "FAILED":
            return Finished(False, "the backup is FAILED")
        if status == "DISABLED":
            return Finished(False, "the backup is being deleted")
        return None


async def wait_for_backup(
    client: DdsClient, job_id: str | None, backup_id: str, deadline: Deadline, first_delay: float = FIRST_DELAY
) -> Finished | None:
    """How the backup ended, or None when the deadline comes first. Without a job id, the backup list tells."""
    delay = first_delay
    by_job = job_id is not None
    backups = _BackupList(client, backup_id)
    while True:
        if by_job:
            try:
                if (finished := await _by_job(client, str(job_id))) is not None:
                    return finished
            except ApiError as exc:
                why = job_unreadable(exc)
                if why is None:
                    raise
                _log.warning(f"{why}; following the backup list instead", extra={"error.type": exc.code})
                by_job = False
        if not by_job and (finished := await backups.poll()) is not None:
            return finished
        pause = deadline.bound(delay)
        if pause <= 0:
            return None
        await asyncio.sleep(pause)
        if deadline.expired:
            return None
        delay = min(MAX_DELAY, delay * 2)


async def _by_job(client: DdsClient, job_id: str) -> Finished | None:
    job = await client.show_job(job_id)
    if not job.finished:
        return None
    return Finished(job.status == "Completed", job.fail_reason)
