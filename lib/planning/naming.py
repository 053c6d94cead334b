"""Deterministic backup names.

A name is a pure function of the template, the instance and the event's identity, so a redelivered or
retried event maps to the same name; the API keeps names unique per project, which turns the name into a
server-side idempotency key. Every rendered name satisfies the API's rule, also after truncation.

Placeholders: ``{instance}`` (instance name, else id), ``{instance_id}``, ``{trigger}``, ``{time}`` (event
time, UTC, ``YYYYMMDDTHHMMSS``), ``{date}`` (``YYYYMMDD``) and ``{hash}`` (8 hex chars of SHA-256 over the
event identity and the instance id). ``{hash}`` is mandatory: without it two events could share a name.

With an ``idempotency_key`` the identity is the key alone and ``{time}``/``{date}`` render empty (separators
around them collapse): the same key must give the same name whenever, and from whichever source, it comes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from datetime import datetime, timezone

from lib import rules

PLACEHOLDERS = frozenset({"instance", "instance_id", "trigger", "time", "date", "hash"})
HASH_LEN = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_SEPARATOR_RUN = re.compile(r"[-_]{2,}")


def _fields(template: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"is not a valid template ({exc})") from None


def check_template(template: str) -> None:
    """Raise ValueError (a sentence for the user) unless every rendering of the template is a valid name."""
    fields = _fields(template)
    unknown = sorted(set(fields) - PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholder(s) {unknown}; known: {sorted(PLACEHOLDERS)}")
    if "hash" not in fields:
        raise ValueError("must contain {hash}: it keeps names of different events apart")
    literal = "".join(lit for lit, _, _, _ in string.Formatter().parse(template))
    if _UNSAFE.search(literal):
        raise ValueError("literal text may contain only letters, digits, '-' and '_'")
    if not template[:1].isascii() or not template[:1].isalpha():
        raise ValueError("must start with a letter (the API requires names to), e.g. 'ddsb-{instance}-{hash}'")


_PLACEHOLDER_PATTERNS = {
    "instance": "[A-Za-z0-9_-]*",
    "instance_id": "[A-Za-z0-9_-]*",
    "trigger": "[A-Za-z0-9_-]*",
    "time": r"(\d{8}T\d{6})?",
    "date": r"(\d{8})?",
    "hash": f"[0-9a-f]{{{HASH_LEN}}}",
}
MIN_RETENTION_PREFIX = 3


@functools.lru_cache(maxsize=16)
def ours_pattern(template: str) -> re.Pattern[str]:
    """A pattern that matches every name the template can render (truncation included) and little else.

    Retention deletes only names that match it, so the template must start with a literal prefix of at
    least 3 characters (``ddsb-`` by default): otherwise "ours" could not be told from anybody else's.
    """
    return _ours_pattern(template)


# Apart from the cache, so that mutation testing (docs/testing.md) reaches it: it cannot under a decorator.
def _ours_pattern(template: str) -> re.Pattern[str]:
    parts = list(string.Formatter().parse(template))
    prefix = parts[0][0] if parts else ""
    if len(prefix) < MIN_RETENTION_PREFIX:
        raise ValueError(
            f"retention needs BACKUP_NAME_TEMPLATE to start with a literal prefix of {MIN_RETENTION_PREFIX}+ "
            f"characters (like 'ddsb-'), so that only this tool's backups are ever deleted; got {template!r}"
        )
    # Separators may collapse (an empty {time}) and free parts may be shortened: both are allowed for.
    literal = "".join
    regex = "".join(
        literal(f"{c}*" if c in "-_" else re.escape(c) for c in lit) + (_PLACEHOLDER_PATTERNS[f] if f else "")
        for lit, f, _, _ in parts
    )
    return re.compile(regex)


def event_hash(identity: str, instance_id: str) -> str:
    return hashlib.sha256(f"{identity}\x1f{instance_id}".encode()).hexdigest()[:HASH_LEN]


def _format(template: str, values: dict[str, str], *, timeless: bool) -> str:
    name = template.format(**values)
    if timeless:  # "ddsb-orders--1a2b3c4d" -> "ddsb-orders-1a2b3c4d"
        name = _SEPARATOR_RUN.sub(lambda m: m.group(0)[0], name).strip("-_")
    return name


def render(
    template: str,
    *,
    instance_id: str,
    instance_name: str | None,
    trigger: str,
    event_time: datetime | None,
    identity: str,
) -> str:
    values = {
        "instance": _UNSAFE.sub("-", instance_name or instance_id),
        "instance_id": _UNSAFE.sub("-", instance_id),
        "trigger": _UNSAFE.sub("-", trigger),
        "time": "",
        "date": "",
        "hash": event_hash(identity, instance_id),
    }
    if event_time is not None:
        when = event_time.astimezone(timezone.utc)
        values["time"], values["date"] = when.strftime("%Y%m%dT%H%M%S"), when.strftime("%Y%m%d")
    name = _format(template, values, timeless=event_time is None)
    excess = len(name) - rules.NAME_MAX
    # Shorten the free-text parts first (the instance name, then its id); the hash always survives.
    for part in ("instance", "instance_id"):
        if excess <= 0:
            break
        if "{" + part + "}" in template:
            keep = max(1, len(values[part]) - excess)
            values[part] = values[part][:keep].rstrip("-_") or values[part][:1]
            name = _format(template, values, timeless=event_time is None)
            excess = len(name) - rules.NAME_MAX
    if excess > 0:
        name = name[: rules.NAME_MAX - HASH_LEN - 1] + "-" + values["hash"]
    problems = rules.name_violations(name)
    if problems:  # pragma: no cover - check_template and the truncation above make this unreachable
        raise ValueError(f"template {template!r} rendered an invalid name: {'; '.join(problems)}")
    return name
