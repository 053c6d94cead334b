"""Waiting for a backup to finish (``wait: true``), bounded by the deadline.

The job (``GET /v3/{project_id}/jobs?id=``) says ``Running``, ``Completed`` or ``Failed``. A new job "takes
several seconds" to become queryable (OTC DDS API reference, "Obtaining Information About a Task with a Specified
ID"); meanwhile the API answers 400 (``DBS.200543`` in public provider code), so a 400/404 is polled through for
a while. No IAM action is documented for the job query, so a refusal (403) switches to the backup list
(``dds:backup:list``, which the function needs anyway): ``BUILDING`` -> ``COMPLETED`` or ``FAILED``.
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
NOT_YET_QUERYABLE_FOR = 30.0
_log = get_logger("runner.wait")


@dataclass(frozen=True)
class Finished:
    completed: bool
    fail_reason: str | None = None


async def wait_for_backup(
    client: DdsClient, job_id: str | None, backup_id: str, deadline: Deadline, first_delay: float = FIRST_DELAY
) -> Finished | None:
    """How the backup ended, or None when the deadline comes first. Without a job id, the backup list tells."""
    delay = first_delay
    waited = 0.0
    by_job = job_id is not None
    while True:
        if by_job:
            try:
                if (finished := await _by_job(client, str(job_id))) is not None:
                    return finished
            except ApiError as exc:
                if exc.http_status == 403:
                    _log.warning(
                        f"the job query was refused ({exc.code}); following the backup list instead",
                        extra={"error.type": exc.code},
                    )
                    by_job = False
                elif exc.http_status not in (400, 404) or waited > NOT_YET_QUERYABLE_FOR:
                    raise
        if not by_job and (finished := await _by_backup(client, backup_id)) is not None:
            return finished
        pause = deadline.bound(delay)
        if pause <= 0:
            return None
        await asyncio.sleep(pause)
        waited += pause
        if deadline.expired:
            return None
        delay = min(MAX_DELAY, delay * 2)


async def _by_job(client: DdsClient, job_id: str) -> Finished | None:
    job = await client.show_job(job_id)
    if not job.finished:
        return None
    return Finished(job.status == "Completed", job.fail_reason)


async def _by_backup(client: DdsClient, backup_id: str) -> Finished | None:
    found = [b for b in await client.list_backups(backup_id=backup_id) if b.id == backup_id]
    status = found[0].status if found else "FAILED"
    if status == "COMPLETED":
        return Finished(True)
    if status in ("FAILED", "DISABLED"):
        return Finished(False, "the backup " + ("disappeared" if not found else f"is {status}"))
    return None
