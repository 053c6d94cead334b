"""Deterministic backup names.

A name is a pure function of the template, the instance and the event's identity, so a redelivered or
retried event maps to the same name; the API keeps names unique per project, which turns the name into a
server-side idempotency key. Every rendered name satisfies the API's rule, also after truncation.

Placeholders: ``{instance}`` (instance name, else id), ``{instance_id}``, ``{trigger}``, ``{time}`` (event
time, UTC, ``YYYYMMDDTHHMMSS``), ``{date}`` (``YYYYMMDD``) and ``{hash}`` (8 hex chars of SHA-256 over the
event identity and the instance id). ``{hash}`` is mandatory: without it two events could share a name.

Without an event time (an ``idempotency_key``, a delivery identified by its id, an event that carries no time),
``{time}`` and ``{date}`` render empty and the separators around them collapse: the same identity gives the same
name whenever it comes. The clock never goes into a name.

``shape`` tells whether a name is one the template renders (retention deletes nothing else, and an explicit name
of that shape is reserved for the tool); whether a backup is the tool's own is proven by its mark
(``lib/planning/ownership.py``), never by its name alone.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import datetime, timezone

from lib import rules
from lib.models import Trigger

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
    _check_length(template)


#: The longest value ``{trigger}`` renders (a trigger's name).
TRIGGER_MAX = max(len(t.value) for t in Trigger)
_FIXED_WIDTH = {"time": 15, "date": 8, "hash": HASH_LEN, "trigger": TRIGGER_MAX, "instance": 1, "instance_id": 1}


def _check_length(template: str) -> None:
    parts = list(string.Formatter().parse(template))
    shortest = sum(len(lit) + (_FIXED_WIDTH[f] if f else 0) for lit, f, _, _ in parts)
    if shortest > rules.NAME_MAX:
        raise ValueError(
            f"is too long: its fixed parts need {shortest} characters (time, date and hash included) and a name "
            f"holds at most {rules.NAME_MAX}"
        )


# A free part (``_part``): name characters, a letter or digit at each end.
_FREE = "[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?"
_SHAPES = {
    "instance": _FREE,
    "instance_id": _FREE,
    "trigger": _FREE,
    "time": r"\d{8}T\d{6}",
    "date": r"\d{8}",
    "hash": f"[0-9a-f]{{{HASH_LEN}}}",
}
_STAMPS = {"time": "%Y%m%dT%H%M%S", "date": "%Y%m%d"}
# Stand-ins for the placeholders while the literal skeleton of a timeless name is collapsed (never a separator).
_SLOT = "\x00{}\x00"


@dataclass(frozen=True)
class Shape:
    """What every name a template renders looks like: with the event's time, and without it (keyed names)."""

    timed: re.Pattern[str]
    timeless: re.Pattern[str]

    def matches(self, name: str) -> bool:
        """Rendered by the template: literal text exact, a real timestamp where ``{time}``/``{date}`` is, 8 hex
        where ``{hash}`` is."""
        if len(name) > rules.NAME_MAX:  # what the API allows; it also bounds the patterns' work
            return False
        m = self.timed.fullmatch(name)
        if m is not None and all(_real_stamp(value, group) for group, value in m.groupdict().items()):
            return True
        return self.timeless.fullmatch(name) is not None


def _real_stamp(value: str, group: str) -> bool:
    try:
        datetime.strptime(value, _STAMPS[group.rstrip("0123456789")])
    except ValueError:
        return False
    return True


#: Each template's ``Shape``, built once (a process has one template; at most a handful in the tests).
_SHAPE_CACHE: dict[str, Shape] = {}
_SHAPE_CACHE_MAX = 16


def shape(template: str) -> Shape:
    """The template's ``Shape`` (the template must pass ``check_template``)."""
    if (known := _SHAPE_CACHE.get(template)) is not None:
        return known
    parts = list(string.Formatter().parse(template))
    timed = ""
    for i, (lit, f, _, _) in enumerate(parts):
        timed += re.escape(lit)
        if f in _STAMPS:
            timed += f"(?P<{f}{i}>{_SHAPES[f]})"
        elif f:
            timed += _SHAPES[f]
    # Timeless: {time} and {date} render empty and separator runs collapse, exactly as ``render`` does.
    slots = {f: ("" if f in _STAMPS else _SLOT.format(f)) for f in PLACEHOLDERS}
    skeleton = _format(template, slots, timeless=True)
    timeless = re.escape(skeleton)
    for f in PLACEHOLDERS - _STAMPS.keys():
        timeless = timeless.replace(re.escape(_SLOT.format(f)), _SHAPES[f])
    if len(_SHAPE_CACHE) >= _SHAPE_CACHE_MAX:
        _SHAPE_CACHE.clear()
    made = _SHAPE_CACHE[template] = Shape(re.compile(timed), re.compile(timeless))
    return made


def reserved(template: str, name: str) -> bool:
    """An explicit name the template could render: only the tool may give it (its backups are found by name)."""
    return shape(template).matches(name)


def event_hash(identity: str, instance_id: str) -> str:
    return hashlib.sha256(f"{identity}\x1f{instance_id}".encode()).hexdigest()[:HASH_LEN]


def _part(value: str) -> str:
    """A free part of a name: only name characters, and none of the separators at its ends (where they could run
    into the template's own and collapse, leaving a name of another shape)."""
    return _UNSAFE.sub("-", value).strip("-_")


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
    the_id = _part(instance_id) or "i"
    values = {
        "instance": _part(instance_name or "") or the_id,
        "instance_id": the_id,
        "trigger": _part(trigger) or "t",
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
            values[part] = values[part][:keep].rstrip("-_")
            name = _format(template, values, timeless=event_time is None)
            excess = len(name) - rules.NAME_MAX
    problems = rules.name_violations(name)
    if problems:  # pragma: no cover - check_template (its length rule) and the shortening make this unreachable
        raise ValueError(f"template {template!r} rendered an invalid name: {'; '.join(problems)}")
    return name
