"""The fleet report as data: what ``--json`` writes and what the page shows. These models are its schema
(``docs/report.schema.json`` is generated from ``FleetReport``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dds_backup_dev.report.who import Who
from lib.models import Audit, AuditReport, ErrorInfo

Freshness = Literal["fresh", "stale", "never", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackupEntry(_Model):
    """One backup of an instance, as the backup list gives it, with who made it."""

    id: str
    name: str
    #: ``Manual`` or ``Auto`` (Huawei Cloud also lists ``Incremental``).
    type: str
    #: ``BUILDING``, ``COMPLETED``, ``FAILED`` or ``DISABLED`` (being deleted).
    status: str
    #: When it began and ended, ``yyyy-mm-dd hh:mm:ss`` in UTC as the API gives it (``end_time`` empty while
    #: it is being made).
    begin_time: str
    end_time: str = ""
    #: Hours from ``begin_time`` to the report's ``generated_at``.
    age_hours: float | None = None
    #: In KB, as the API gives it (null: not given).
    size_kb: int | None = None
    who: Who
    #: The description a person gave it, without this tool's mark.
    description: str = ""


class InstanceReport(_Model):
    id: str
    name: str
    #: ``Sharding``, ``ReplicaSet`` or ``Single``.
    mode: str
    #: The instance's own status (``normal``, ``abnormal``, ...).
    status: str
    #: ``fresh``: a completed backup that counts began within the policy's hours; ``stale``: the newest one is
    #: older; ``never``: none at all; ``unknown``: its backups could not be listed (``error`` says why).
    freshness: Freshness
    #: One sentence: the audit's verdict (``BACKUP_STALE``'s message when not fresh), or why it is unknown.
    verdict: str
    #: Age of the newest completed backup that counts, in hours (null: there is none, or unknown).
    age_hours: float | None = None
    #: The audit's own report of the instance, exactly as an audit request returns it in ``data.audit``.
    audit: AuditReport | None = None
    #: Backups that ended ``FAILED`` within the window, by anyone.
    failed_in_window: int = 0
    #: The newest of them. The backup list says that a backup failed, not why.
    last_failure: BackupEntry | None = None
    #: How many backups the API listed for the instance, and the size of the completed ones (KB).
    backups_listed: int = 0
    size_kb: int = 0
    #: The backups that began within the window, newest first.
    backups: list[BackupEntry] = Field(default_factory=list)
    error: ErrorInfo | None = None


class Summary(_Model):
    instances: int
    fresh: int
    stale: int
    never: int
    unknown: int
    #: Backups that ended ``FAILED`` within the window, over the fleet.
    failed_in_window: int
    #: Backups still being made.
    building: int
    backups_in_window: int
    #: Size of every completed backup listed, in KB.
    size_kb: int


class FleetReport(_Model):
    #: The version of this schema: it changes when a field is renamed, removed or changes its meaning.
    version: Literal[1] = 1
    #: When the backups were judged (UTC): ages and the window are measured from here.
    generated_at: datetime
    project_id: str
    #: The configured region (null when only endpoints are configured).
    region: str | None = None
    #: The DDS endpoint the listing used.
    endpoint: str
    #: The audit's policy: how old the newest completed backup may be, and whether automated backups count.
    policy: Audit
    #: Which instances: the selection of the request the report was made for (``{"selector": {"all": true}}``
    #: by default).
    selection: dict[str, object]
    #: The timeline's length in days, ending at ``generated_at``.
    window_days: int
    summary: Summary
    #: Worst first: unknown, never, stale, fresh; then more failures in the window, then older.
    instances: list[InstanceReport]
