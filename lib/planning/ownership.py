"""Ownership: the mark dds-backup writes into the description of every backup it makes, and the test of whether a
listed backup is its own.

The mark is the last word of the description, ``#ddsb1.<maker>.<scope>.<request>.<check>``:

- ``maker``: one letter for the kind of source the backup was made for: ``t`` a timer, ``w`` the webhook route,
  ``c`` a chat command, ``q`` a queue (SMN, Kafka, RocketMQ), ``e`` a CloudEvents source, ``d`` a direct invocation;
- ``scope``: 8 hex of SHA-256 over the source itself (which timer, which chat team, which topic): retention for one
  source counts and deletes only the backups made for it;
- ``request``: 8 hex over the request fields that shape the backup (instance, name, description, retention): the
  same identity with another request is refused, never answered with the first request's backup;
- ``check``: 10 hex over all of the above and the backup's own name and instance id: a mark copied onto another
  backup, or a name one character away, does not hold.

Only characters the API allows in a description (none of ``>!<"&'=``); 37 characters, so a user's description
keeps at most 218 of the API's 256 (a longer one is refused, never cut).

The mark is not a signature: every invocation would need the same key, and the function has none. It proves that
the description was written by this tool for this very backup, which keeps backups made by hand, by the automated
policy or by another tool, and names that merely look like ours, out of retention's reach. Whoever may create
backups in the project could still type one on purpose.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass

from lib import rules
from lib.models import Retention, Trigger

VERSION = "ddsb1"
_DIGEST = 8
_CHECK = 10


class Maker(str, enum.Enum):
    """Which kind of source a backup was made for (the report's "who made it")."""

    TIMER = "timer"
    WEBHOOK = "webhook"
    CHAT = "chat"
    QUEUE = "queue"
    CLOUDEVENTS = "cloudevents"
    DIRECT = "direct"


_LETTER = {
    Maker.TIMER: "t",
    Maker.WEBHOOK: "w",
    Maker.CHAT: "c",
    Maker.QUEUE: "q",
    Maker.CLOUDEVENTS: "e",
    Maker.DIRECT: "d",
}
_MAKER_OF_LETTER = {letter: maker for maker, letter in _LETTER.items()}
_MAKER_OF_TRIGGER = {
    Trigger.TIMER: Maker.TIMER,
    Trigger.APIG: Maker.WEBHOOK,
    Trigger.SLACK: Maker.CHAT,
    Trigger.TEAMS: Maker.CHAT,
    Trigger.MATTERMOST: Maker.CHAT,
    Trigger.SMN: Maker.QUEUE,
    Trigger.KAFKA: Maker.QUEUE,
    Trigger.ROCKETMQ: Maker.QUEUE,
    Trigger.CLOUDEVENTS: Maker.CLOUDEVENTS,
    Trigger.DIRECT: Maker.DIRECT,
}
_MARK = re.compile(rf"#{VERSION}\.([a-z])\.([0-9a-f]{{{_DIGEST}}})\.([0-9a-f]{{{_DIGEST}}})\.([0-9a-f]{{{_CHECK}}})")
MARK_LEN = len(f"#{VERSION}") + 2 + 2 * (1 + _DIGEST) + 1 + _CHECK
#: What a user's description may hold: the API's limit less the mark and the space before it.
DESCRIPTION_MAX = rules.DESCRIPTION_MAX - MARK_LEN - 1


def maker_of(trigger: Trigger) -> Maker:
    return _MAKER_OF_TRIGGER[trigger]


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def scope_digest(scope: str) -> str:
    return _hex(scope, _DIGEST)


def request_digest(*, instance_id: str, name: str | None, description: str | None, retention: Retention | None) -> str:
    """The fields that shape a backup, in one canonical form (``name``: an explicit one, else None)."""
    fields = {
        "instance_id": instance_id,
        "name": name,
        "description": description or "",
        "retention": retention.model_dump() if retention is not None else None,  # whole numbers only
    }
    return _hex(json.dumps(fields, sort_keys=True, separators=(",", ":")), _DIGEST)


@dataclass(frozen=True)
class Mark:
    maker: Maker
    #: ``scope_digest`` of the source the backup was made for.
    scope: str
    #: ``request_digest`` of the request that made it.
    request: str

    def text(self, name: str, instance_id: str) -> str:
        """The mark as written on the backup ``name`` of ``instance_id``."""
        body = f"#{VERSION}.{_LETTER[self.maker]}.{self.scope}.{self.request}"
        return f"{body}.{_check(body, name, instance_id)}"

    def describe(self, description: str | None, name: str, instance_id: str) -> str:
        """The description to send: the user's (which must leave room, ``DESCRIPTION_MAX``), then the mark."""
        mark = self.text(name, instance_id)
        return f"{description} {mark}" if description else mark


def _check(body: str, name: str, instance_id: str) -> str:
    return _hex(f"{body}\x1f{name}\x1f{instance_id}", _CHECK)


def read(description: str, name: str, instance_id: str) -> Mark | None:
    """The mark at the end of ``description`` when it holds for this backup's own name and instance id, else None.
    (Not the instance's current name: a renamed instance keeps its backups.)"""
    last = description[-MARK_LEN:]
    if len(description) > MARK_LEN and description[-MARK_LEN - 1] != " ":
        return None
    m = _MARK.fullmatch(last)
    if m is None or m.group(1) not in _MAKER_OF_LETTER:
        return None
    body = last[: -_CHECK - 1]
    if m.group(4) != _check(body, name, instance_id):
        return None
    return Mark(_MAKER_OF_LETTER[m.group(1)], m.group(2), m.group(3))


def user_description(description: str, name: str, instance_id: str) -> str:
    """What the user wrote: the description without a valid mark."""
    if read(description, name, instance_id) is None:
        return description
    return description[: -MARK_LEN - 1]  # a description that is the mark alone leaves ""
