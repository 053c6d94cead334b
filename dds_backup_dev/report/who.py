"""Who made a backup: the one place the report decides it."""

from __future__ import annotations

import enum

from lib.dds.models import Backup
from lib.planning import ownership


class Who(str, enum.Enum):
    """The function's sources (from its mark on the backup), the automated policy, or a person."""

    TIMER = "timer"
    WEBHOOK = "webhook"
    CHAT = "chat"
    QUEUE = "queue"
    CLOUDEVENTS = "cloudevents"
    DIRECT = "direct"
    #: The instance's automated backup policy (backup type ``Auto``; Huawei Cloud's ``Incremental`` too).
    AUTOMATED = "automated"
    #: No valid mark of this tool: a person (console, API, another tool).
    BY_HAND = "by_hand"


def who_made(backup: Backup) -> tuple[Who, str]:
    """Who made it, and its description as a person wrote it (without the function's mark).

    Only the automated policy makes backups of another type than ``Manual``. A manual backup is the function's
    when its description ends with the function's mark, valid for this backup's own name and instance
    (``lib/planning/ownership.py``); the mark says which kind of source asked for it. Anything else, a
    look-alike name or a mark copied from another backup included, was made by hand."""
    if backup.type.lower() != "manual":
        return Who.AUTOMATED, backup.description
    mark = ownership.read(backup.description, backup.name, backup.instance_id)
    if mark is None:
        return Who.BY_HAND, backup.description
    # As ownership.user_description, without reading the mark a second time (a fleet has tens of thousands).
    return Who(mark.maker.value), backup.description[: -ownership.MARK_LEN - 1]
