"""The command grammar of every chat platform:

<instance name or id> [description]      start a backup (never waits)
status <backup_id>                       a backup's status
audit [name | id | key=value] [hours]    is there a completed backup from the last <hours> (default 24)?
help                                     usage
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_INSTANCE_ID = re.compile(r"^[0-9a-f]{32}in\d{2}$")
_BACKUP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_AUDIT_HOURS = 24


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Status:
    backup_id: str | None  # None: missing or not an id


@dataclass(frozen=True)
class Backup:
    target: str
    description: str | None


@dataclass(frozen=True)
class Audit:
    target: str | None  # None: every instance
    hours: int


Command = Help | Status | Backup | Audit


def parse(text: str) -> Command:
    words = text.strip().split(maxsplit=1)
    if not words or words[0].lower() in ("help", "-h", "--help"):
        return Help()
    verb, rest = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if verb == "status":
        return Status(rest if _BACKUP_ID.fullmatch(rest) else None)
    if verb == "audit":
        return _audit(rest.split())
    return Backup(words[0], rest or None)


def _audit(args: list[str]) -> Audit:
    hours = DEFAULT_AUDIT_HOURS
    if args and args[-1].isdigit():
        hours = int(args.pop())
    return Audit(" ".join(args) or None, hours)


def one_instance(target: str) -> dict[str, Any]:
    """A backup names one instance: by id, else by its exact name."""
    return {"instance_id": target} if _INSTANCE_ID.match(target) else {"selector": {"name": target}}


def selection(target: str | None) -> dict[str, Any]:
    """What a target names: an instance id, ``key=value`` (a tag), an instance name, or (None) every instance."""
    if target is None:
        return {"selector": {"all": True}}
    if _INSTANCE_ID.match(target):
        return {"instance_id": target}
    key, sep, value = target.partition("=")
    if sep:
        return {"selector": {"tags": {key: value}}}
    return {"selector": {"name": target}}


def usage(command: str) -> str:
    return (
        "Usage:\n"
        f"• `{command} <instance name or id> [description]`: start a manual backup\n"
        f"• `{command} status <backup_id>`: show a backup's status\n"
        f"• `{command} audit [name | id | key=value] [hours]`: is there a completed backup from the last "
        f"hours (default {DEFAULT_AUDIT_HOURS})?\n"
        f"• `{command} help`: this text"
    )
