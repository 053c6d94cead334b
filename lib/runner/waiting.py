"""Waiting for a backup job (``Running`` -> ``Completed``/``Failed``), bounded by the deadline.

A new job "takes several seconds" to become queryable (OTC DDS API reference, "Obtaining Information About a
Task with a Specified ID"), so "not found" answers are
polled through for a while. Backoff doubles from 1 s to 10 s; Terraform's provider polls every 10 s.
"""

from __future__ import annotations

import asyncio

from lib.cloud.errors import ApiError
from lib.dds.client import DdsClient
from lib.dds.models import Job
from lib.runtime import Deadline

FIRST_DELAY = 1.0
MAX_DELAY = 10.0
NOT_YET_QUERYABLE_FOR = 30.0


async def wait_for_job(
    client: DdsClient, job_id: str, deadline: Deadline, first_delay: float = FIRST_DELAY
) -> Job | None:
    """The finished job, or None when the deadline comes first."""
    delay = first_delay
    waited = 0.0
    while True:
        try:
            job = await client.show_job(job_id)
            if job.finished:
                return job
        except ApiError as exc:
            if exc.http_status not in (400, 404) or waited > NOT_YET_QUERYABLE_FOR:
                raise
        pause = deadline.bound(delay)
        if pause <= 0:
            return None
        await asyncio.sleep(pause)
        waited += pause
        if deadline.expired:
            return None
        delay = min(MAX_DELAY, delay * 2)
