"""The fleet report as data: what ``--json`` writes and what the page shows. These models are its schema
(``docs/report.schema.json`` is generated from ``FleetReport``, with the docstrings below as descriptions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dds_backup_dev.report.who import Who
from lib.models import Audit, AuditReport, ErrorInfo

Freshness = Literal["fresh", "stale", "never", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class BackupEntry(_Model):
    """One backup of an instance, as the backup list gives it, with who made it."""

    id: str
    name: str
    type: str
    """``Manual`` or ``Auto`` (Huawei Cloud also lists ``Incremental``)."""
    status: str
    """``BUILDING``, ``COMPLETED``, ``FAILED`` or ``DISABLED`` (being deleted)."""
    begin_time: str
    """When it began, ``yyyy-mm-dd hh:mm:ss`` in UTC, as the API gives it."""
    end_time: str = ""
    """When it ended, likewise; empty while it is being made."""
    age_hours: float | None = None
    """Hours from ``begin_time`` to the report's ``generated_at`` (null: the API's time could not be read)."""
    size_kb: int | None = None
    """In KB, as the API gives it (null: not given)."""
    who: Who
    """Who made it: one of the function's sources (``timer``, ``webhook``, ``chat``, ``queue``, ``cloudevents``,
    ``direct``) when its description carries the function's mark, valid for this backup; ``automated`` for the
    instance's automated backup policy (type ``Auto``); ``by_hand`` for anything else."""
    description: str = ""
    """The description a person gave it, without the function's mark."""


class InstanceReport(_Model):
    """One instance: its verdict, the numbers of its row, and its backups of the window."""

    id: str
    name: str
    mode: str
    """``Sharding``, ``ReplicaSet`` or ``Single``."""
    status: str
    """The instance's own status (``normal``, ``abnormal``, ...)."""
    freshness: Freshness
    """``fresh``: a completed backup that counts began within the policy's hours; ``stale``: the newest one is
    older; ``never``: there is none; ``unknown``: its backups could not be listed (``error`` says why)."""
    verdict: str
    """One sentence: the audit's verdict (``BACKUP_STALE``'s message when not fresh), or why it is unknown."""
    age_hours: float | None = None
    """Age of the newest completed backup that counts, in hours (null: there is none, or unknown)."""
    audit: AuditReport | None = None
    """The audit's own report of the instance, as an audit request returns it in ``data.audit`` (null: unknown)."""
    failed_in_window: int = 0
    """Backups that began within the window and ended ``FAILED``, by anyone."""
    last_failure: BackupEntry | None = None
    """The newest of them. The backup list says that a backup failed, not why."""
    backups_listed: int = 0
    """How many backups the API listed for the instance (all of them, not only the window's)."""
    size_kb: int = 0
    """The size of its completed backups, in KB."""
    backups: list[BackupEntry] = Field(default_factory=list)
    """The backups that began within the window, newest first."""
    error: ErrorInfo | None = None
    """Why its backups could not be listed (``freshness`` is then ``unknown``)."""


class Summary(_Model):
    """The fleet in numbers."""

    instances: int
    fresh: int
    stale: int
    never: int
    unknown: int
    failed_in_window: int
    """Backups that began within the window and ended ``FAILED``, over the fleet."""
    building: int
    """Backups being made when the report was made."""
    backups_in_window: int
    size_kb: int
    """The size of every completed backup listed, in KB."""


class FleetReport(_Model):
    """``dds-backup report --json``: the selected instances of one project, their backups and the audit's
    verdict on each, worst first."""

    version: Literal[1] = 1
    """The version of this schema: it changes when a field is renamed, removed or changes its meaning."""
    generated_at: datetime
    """When the listing began (UTC): ages and the window are measured from here (a backup that began while the
    report was listing is 0 hours old)."""
    project_id: str
    region: str | None = None
    """The configured region (null when only endpoints are configured)."""
    endpoint: str
    """The DDS endpoint the listing used."""
    policy: Audit
    """The audit's policy: how old the newest completed backup may be, and whether automated backups count."""
    selection: dict[str, object]
    """Which instances: the selection of the request the report was made for (``{"selector": {"all": true}}``
    by default)."""
    window_days: int
    """The timeline's length in days, ending at ``generated_at``."""
    summary: Summary
    instances: list[InstanceReport]
    """Worst first: unknown, never, stale, fresh; then more failures in the window, then older."""
