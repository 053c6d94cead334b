"""The audit's verdict on one instance, as a pure function of its backups and the policy.

``fresh``: a COMPLETED backup began within ``max_age_hours`` (the instance's automated backups count unless
``include_automated`` is false). The report also lists the backups still being made, and this tool's own backups
(those carrying its mark) that ended FAILED within the window, so that a failing job is seen while an older
backup still keeps the instance fresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from lib.codes import ErrorCode
from lib.models import Audit, AuditReport, BackupSeen, ErrorInfo
from lib.planning import ownership
from lib.planning.retention import BackupLike, begin


def _seen(backup: BackupLike, now: datetime) -> BackupSeen:
    started = begin(backup)
    age = round((now - started).total_seconds() / 3600, 1) if started.year > 1 else None
    return BackupSeen(
        id=backup.id,
        name=backup.name,
        type=backup.type,
        status=backup.status,
        begin_time=backup.begin_time,
        age_hours=age,
    )


def _ours(backup: BackupLike) -> bool:
    return ownership.read(backup.description, backup.name, backup.instance_id) is not None


def evaluate(backups: Sequence[BackupLike], policy: Audit, now: datetime) -> tuple[AuditReport, ErrorInfo | None]:
    """The report, and the BACKUP_STALE error when the instance is not fresh (None when it is)."""
    window = timedelta(hours=policy.max_age_hours)
    newest_first = sorted(backups, key=begin, reverse=True)
    counted = [b for b in newest_first if policy.include_automated or b.type.lower() == "manual"]
    newest = next((b for b in counted if b.status == "COMPLETED"), None)
    report = AuditReport(
        max_age_hours=policy.max_age_hours,
        include_automated=policy.include_automated,
        newest_completed=_seen(newest, now) if newest is not None else None,
        building=[_seen(b, now) for b in newest_first if b.status == "BUILDING"],
        recent_failed=[
            _seen(b, now) for b in newest_first if b.status == "FAILED" and _ours(b) and now - begin(b) <= window
        ],
    )
    if newest is not None and now - begin(newest) <= window:
        return report, None
    kinds = "completed backup" if policy.include_automated else "completed manual backup"
    if newest is None:
        message = f"there is no {kinds} of this instance"
    else:
        message = f"the newest {kinds} began {report.newest_completed.age_hours} hours ago"  # type: ignore[union-attr]
    limit = f"; the limit is {policy.max_age_hours} hours"
    return report, ErrorInfo.of(ErrorCode.BACKUP_STALE, message + limit)
