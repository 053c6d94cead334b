"""Retention: which of *our* manual backups of an instance may go (a pure function of the list and the policy).

"Ours" means the name matches the backup name template (``naming.ours_pattern``), so backups made by hand, by
the automatic policy or by another tool are never touched. Within ours: keep the newest ``keep_last``
COMPLETED ones, and delete what is beyond them or older than ``max_age_days``. Never deleted: the backup just
made, anything not COMPLETED or FAILED (a BUILDING backup, one being deleted), and our own newest COMPLETED one,
which also means that the instance's newest COMPLETED backup is never deleted (it is either not ours, or it is
our newest).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol, TypeVar

from lib.models import Retention


class BackupLike(Protocol):
    """What retention reads of a listed backup (the API client's ``Backup`` has these fields)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def begin_time(self) -> str: ...


B = TypeVar("B", bound=BackupLike)


def begin(backup: BackupLike) -> datetime:
    """``begin_time`` is ``yyyy-mm-dd hh:mm:ss`` in UTC; unreadable times sort as the oldest."""
    try:
        return datetime.strptime(backup.begin_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def select(
    backups: Sequence[B], policy: Retention, ours: re.Pattern[str], keep_id: str | None, now: datetime
) -> list[B]:
    newest_first = sorted(backups, key=begin, reverse=True)
    mine = [b for b in newest_first if b.type.lower() == "manual" and ours.fullmatch(b.name)]
    mine_completed = [b for b in mine if b.status == "COMPLETED"]
    protected = {keep_id, *(b.id for b in mine_completed[:1])}
    # Without keep_last the slice keeps every completed one: nothing is beyond it.
    kept = {b.id for b in mine_completed[: policy.keep_last]}
    out = []
    for b in mine:
        if b.id in protected or b.status not in ("COMPLETED", "FAILED"):
            continue
        beyond = b.status == "COMPLETED" and b.id not in kept
        too_old = policy.max_age_days is not None and now - begin(b) > timedelta(days=policy.max_age_days)
        if beyond or too_old:
            out.append(b)
    return out
