"""Structured JSON logs: one object per line, UTC RFC 3339 timestamps, invocation context from contextvars.

Field names follow Powertools for AWS Lambda's Logger and the OpenTelemetry/ECS semantic conventions. A redaction step
runs on every record: registered secret values are replaced wherever they appear, and fields whose names
say "token", "secret", "password", "authorization" or "signature" are masked, so a mistake elsewhere cannot
leak a credential into the logs.

Two kinds of values are masked. The function's own (its configured secrets, the temporary credentials and tokens
the platform hands it) are masked in every line of the process (``register_secrets``). A value that came with a
request (a chat command's response_url, which is a capability) is masked in the lines of that request alone
(``scope``, ``mask_here``), and only after it was checked: what one caller sends never changes what another
caller's lines say, and a scope holds a bounded number of bytes, so no caller can make every line slower.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

SERVICE = "dds-backup"
LOGGER_NAME = "dds_backup"
MASK = "***"

_context: ContextVar[dict[str, Any] | None] = ContextVar("dds_backup_log_context", default=None)
#: What one request (or one order in it) masks beside the process's secrets, at most this much.
MAX_SCOPED_VALUES = 8
MAX_SCOPED_CHARS = 8192
_SENSITIVE_KEY = re.compile(
    r"(^|[._-])(sk|token|secret|password|passwd|authorization|signature|security[._-]?token|x[._-]auth[._-]token)$",
    re.IGNORECASE,
)
#: Each value to mask, with its JSON-escaped form and until when (time.monotonic()) it is kept.
_secrets: dict[str, tuple[str, float]] = {}
# JSON keeps these raw (with ensure_ascii off), and line-based readers split lines on them: the C1 controls
# (U+0085 is "next line"), DEL, and the Unicode line and paragraph separators. Escaped, they stay readable JSON.
_LINE_BREAKERS = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x2028, 0x2029)}


class _Scope:
    """The values one request (or one order of it) masks: each with its JSON-escaped form; inside an enclosing
    scope, that one's too."""

    __slots__ = ("chars", "parent", "values")

    def __init__(self, parent: _Scope | None) -> None:
        self.parent = parent
        self.values: dict[str, str] = {}
        self.chars = 0


_scope: ContextVar[_Scope | None] = ContextVar("dds_backup_log_scope", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """The lines logged inside the block (and in tasks started in it) mask what ``mask_here`` registers in it,
    besides what enclosing scopes mask; once the block ends, nothing of it is kept."""
    token = _scope.set(_Scope(_scope.get()))
    try:
        yield
    finally:
        _scope.reset(token)


def mask_here(value: str) -> bool:
    """Mask ``value`` in the lines of the current scope alone. False, and nothing kept, outside any scope or when
    the scope holds its most (``MAX_SCOPED_VALUES`` values, ``MAX_SCOPED_CHARS`` characters): then the value must
    not be used, since it could not be kept out of the logs. Values under 6 characters are never masked (they
    would garble every line): False for them too."""
    current = _scope.get()
    if current is None or len(value) < 6:
        return False
    if value in current.values:
        return True
    if len(current.values) >= MAX_SCOPED_VALUES or current.chars + len(value) > MAX_SCOPED_CHARS:
        return False
    current.values[value] = json.dumps(value)[1:-1]
    current.chars += len(value)
    return True


def register_secrets(values: list[str], keep_s: float | None = None) -> None:
    """Values that must never be written. Short values are skipped: masking "a" would garble every line.

    ``keep_s``: how long a value stays dangerous (a temporary token, a chat response URL), after which a warm
    instance forgets it, so that the values looked for in every line do not pile up over its life. Values
    without it (the configuration's secrets) are kept. Registering a value again extends its time.
    """
    now = time.monotonic()
    until = now + keep_s if keep_s is not None else math.inf
    for value in values:
        if len(value) >= 6:
            kept = _secrets.get(value)
            _secrets[value] = (json.dumps(value)[1:-1], max(until, kept[1]) if kept else until)
    for value in [v for v, (_, ends) in _secrets.items() if ends <= now]:
        del _secrets[value]


_CONTAINERS = (dict, list, tuple)


@functools.lru_cache(maxsize=4096)
def _sensitive(key: str) -> bool:
    # The same few dozen keys come by in every record: decide once per key (it was the top CPU item).
    return _SENSITIVE_KEY.search(key) is not None


def _walk(value: Any, strings: bool) -> Any:
    if isinstance(value, str):
        return scrub(value) if strings else value
    if isinstance(value, dict):
        # One pass over the items, recursing into containers only: a record's values are mostly plain (the
        # comprehension that called this function for every value was the top CPU item of a large fan-out).
        out = {}
        for k, v in value.items():
            if _sensitive(k if isinstance(k, str) else str(k)) and value_is_set(v):
                out[k] = MASK
            elif isinstance(v, str):
                out[k] = scrub(v) if strings else v
            elif isinstance(v, _CONTAINERS):
                out[k] = _walk(v, strings)
            else:
                out[k] = v
        return out
    if isinstance(value, _CONTAINERS):
        return [_walk(v, strings) for v in value]
    return value


def redact(value: Any) -> Any:
    """Fields named like secrets masked, and registered secret values replaced wherever they appear."""
    return _walk(value, strings=True)


def mask_keys(value: Any) -> Any:
    """Only the structural half of ``redact``: fields named like secrets. Strings are left to ``scrub``."""
    return _walk(value, strings=False)


def scrub(text: str) -> str:
    """Registered secret values, and the current scope's, out of a finished line (also in their JSON-escaped form)."""
    text = _masked(text, [(secret, escaped) for secret, (escaped, _) in tuple(_secrets.items())])
    current = _scope.get()
    while current is not None:
        text = _masked(text, list(current.values.items()))
        current = current.parent
    return text


def _masked(text: str, values: list[tuple[str, str]]) -> str:
    for secret, escaped in values:
        if secret in text:
            text = text.replace(secret, MASK)
        if escaped != secret and escaped in text:
            text = text.replace(escaped, MASK)
    return text


def value_is_set(v: Any) -> bool:
    return v is not None and v != ""


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind fields to every record logged inside the block (and inside tasks started in it)."""
    current = _context.get() or {}
    token = _context.set({**current, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def context_fields() -> dict[str, Any]:
    """The fields bound here (``bound``): what every record logged now carries besides its own."""
    return dict(_context.get() or {})


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class _Formatter(JsonFormatter):
    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["timestamp"] = (
            datetime.fromtimestamp(record.created, tz=timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        super().add_fields(log_data, record, message_dict)
        log_data["service.name"] = SERVICE

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        masked: dict[str, Any] = mask_keys(log_data)
        return masked

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        # Secret values are looked for once, in the finished line, rather than in every string of the record.
        # Outside strings a JSON line is ASCII, so every escaped character was inside a string.
        line = scrub(super().jsonify_log_record(log_data)).translate(_LINE_BREAKERS)
        if line.isascii():
            return line
        # An unpaired surrogate (from a request's JSON) cannot be written as UTF-8: as a JSON escape it can.
        return line.encode("utf-8", "backslashreplace").decode()


def configure(level: str = "INFO", stream: TextIO | None = None) -> logging.Logger:
    """Idempotent: warm invocations call it again and must not stack handlers."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    logger.propagate = False
    target = stream if stream is not None else sys.stderr
    for h in logger.handlers:
        if getattr(h, "_dds_backup", False) and getattr(h, "stream", None) is target:
            return logger
    for h in list(logger.handlers):
        if getattr(h, "_dds_backup", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(target)
    handler._dds_backup = True  # type: ignore[attr-defined]
    handler.addFilter(_ContextFilter())
    handler.setFormatter(
        _Formatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    )
    logger.addHandler(handler)
    return logger
