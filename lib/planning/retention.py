"""Retention: which of *our* manual backups of an instance may go (a pure function of the list and the policy).

"Ours" is proven, never guessed: a backup is ours when its description ends with the tool's mark, valid for the
backup's own name and instance id (``lib/planning/ownership.py``), and its name has the template's shape
(``naming.shape``). A backup without a valid mark is never deleted, whatever its name: backups made by hand, by the
automated policy or by another tool, and hand-made names that look like ours, are never touched. Retention is per
source: it counts and deletes only the backups made for the source (``scope``) of the backup just made, so that a
few chat or webhook backups never push a timer's history out.

Within ours: keep the newest ``keep_last`` COMPLETED ones, and delete what is beyond them or older than
``max_age_days``. Never deleted: the backup just made, anything not COMPLETED or FAILED (a BUILDING backup, one
being deleted), and the source's own newest COMPLETED one, which also means that the instance's newest COMPLETED
backup is never deleted (it is either not the source's, or it is the source's newest).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol, TypeVar

from lib.models import Retention
from lib.planning import naming, ownership


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
    @property
    def description(self) -> str: ...
    @property
    def instance_id(self) -> str: ...


B = TypeVar("B", bound=BackupLike)


def begin(backup: BackupLike) -> datetime:
    """``begin_time`` is ``yyyy-mm-dd hh:mm:ss`` in UTC; unreadable times sort as the oldest."""
    try:
        return datetime.strptime(backup.begin_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def ours(backup: BackupLike, template: str) -> ownership.Mark | None:
    """The tool's mark on ``backup`` when the backup is provably the tool's own: a manual backup whose name has the
    template's shape and whose description ends with a mark valid for its own name and instance id."""
    if backup.type.lower() != "manual" or not naming.shape(template).matches(backup.name):
        return None
    return ownership.read(backup.description, backup.name, backup.instance_id)


def made_for(backup: BackupLike, scope: str, template: str) -> bool:
    """The tool made ``backup`` for the source whose ``ownership.scope_digest`` is ``scope``."""
    mark = ours(backup, template)
    return mark is not None and mark.scope == scope


def select(
    backups: Sequence[B], policy: Retention, *, template: str, scope: str, keep_id: str | None, now: datetime
) -> list[B]:
    """The backups ``policy`` deletes among those made for ``scope`` (a ``scope_digest``)."""
    newest_first = sorted(backups, key=begin, reverse=True)
    mine = [b for b in newest_first if made_for(b, scope, template)]
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
