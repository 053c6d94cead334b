"""Creating one backup exactly once, whatever the network does to the answers.

The name is the idempotency key (the API keeps names unique per project). A create is retried by the policy;
after an ambiguous failure (sent, and no answer; or a 5xx) the name is looked up before the next attempt, so that a
create which was applied but whose answer was lost ends as "found", never as a second backup. "Name exists" is looked
up too: our own earlier attempt (found), or another instance's backup (a clear failure).
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.cloud.errors import CloudError, TransportError
from lib.cloud.retry import RetryPolicy, with_retry
from lib.dds.client import DdsClient
from lib.dds.models import Backup, CreateManualBackupResponse
from lib.runtime import Deadline

NAME_EXISTS = "DBS.201201"


@dataclass
class Attempt:
    """What came of it: exactly one of ``created``, ``existing``, ``error``; ``calls`` counts the creates sent."""

    created: CreateManualBackupResponse | None = None
    existing: Backup | None = None
    error: CloudError | None = None
    error_message: str | None = None
    calls: int = 0


class _AlreadyThere(Exception):
    def __init__(self, backup: Backup) -> None:
        super().__init__(backup.id)
        self.backup = backup


def ambiguous(exc: CloudError) -> bool:
    """The call may have been applied although it failed: it was sent and no answer came, or the server failed
    on its side. A create that never left (a refused connection, a connect timeout) needs no look-up."""
    if isinstance(exc, TransportError):
        return exc.sent
    return (exc.http_status or 0) >= 500


async def create_once(
    client: DdsClient,
    instance_id: str,
    name: str,
    description: str | None,
    *,
    retry: RetryPolicy,
    deadline: Deadline,
) -> Attempt:
    attempt = Attempt()

    def sent() -> None:
        attempt.calls += 1

    async def create() -> CreateManualBackupResponse:
        return await client.create_manual_backup(instance_id, name, description, on_send=sent)

    async def look_for_lost_create(exc: CloudError) -> None:
        if ambiguous(exc):
            try:
                found = await client.find_backup_by_name(instance_id, name)
            except CloudError:
                return  # the next attempt will tell
            if found is not None:
                raise _AlreadyThere(found)  # stop retrying: a retry would only meet "name exists"

    try:
        attempt.created = await with_retry(
            create, policy=retry, deadline=deadline, what=f"create backup {name}", on_failure=look_for_lost_create
        )
    except _AlreadyThere as there:
        attempt.existing = there.backup
    except CloudError as exc:
        await _settle_failure(client, instance_id, name, exc, attempt)
    return attempt


async def _settle_failure(client: DdsClient, instance_id: str, name: str, exc: CloudError, attempt: Attempt) -> None:
    if exc.code != NAME_EXISTS:
        attempt.error = exc
        return
    try:
        attempt.existing = await client.find_backup_by_name(instance_id, name)
    except CloudError as lookup:
        attempt.error = lookup
        return
    if attempt.existing is None:
        attempt.error = exc
        attempt.error_message = (
            f"the name {name} is taken by a backup of another instance (names are unique per project): "
            "choose another name"
        )
