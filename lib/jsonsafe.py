"""The one JSON parser for untrusted input (webhook bodies, queue messages, a timer's ``user_event``, the JSON
variables of the configuration, events given to the local CLI).

Limits, so that no input can turn into anything but a clear rejection: a size, a nesting depth (``json`` itself
recurses, and a body nested a few thousand levels deep raises RecursionError), no duplicate keys (two parsers
could read ``{"instance_id": A, "instance_id": B}`` differently, and a signature covers both), and no
``NaN``/``Infinity`` (not JSON).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JsonRejected(ValueError):
    """Why a text is not acceptable JSON; ``code`` is one of INVALID_JSON, JSON_TOO_DEEP, DUPLICATE_KEY,
    MESSAGE_TOO_LARGE. The message never quotes the input's values; DUPLICATE_KEY names the key (its first 80
    characters), which is what the sender has to find."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, outside strings, without recursion."""
    deepest = depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonRejected("DUPLICATE_KEY", f"the key {json.dumps(key)[:80]} appears twice in one object")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise JsonRejected("INVALID_JSON", f"{name} is not JSON")


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` or raise JsonRejected; never anything else."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JsonRejected("MESSAGE_TOO_LARGE", f"{size} bytes; at most {max_bytes} are accepted")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JsonRejected("INVALID_JSON", "not UTF-8") from None
    if (depth := _depth(text)) > max_depth:
        raise JsonRejected("JSON_TOO_DEEP", f"nested {depth} levels deep; at most {max_depth} are accepted")
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except JsonRejected:
        raise
    except (ValueError, RecursionError) as exc:
        raise JsonRejected("INVALID_JSON", f"not valid JSON ({getattr(exc, 'msg', type(exc).__name__)})") from None
