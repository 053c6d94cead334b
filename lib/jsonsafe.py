"""The one JSON parser for untrusted input (webhook bodies, queue messages, a timer's ``user_event``, the JSON
variables of the configuration, events given to the local CLI).

Limits, so that no input can turn into anything but a clear rejection: a size, a nesting depth (``json`` itself
recurses, and a body nested a few thousand levels deep raises RecursionError), no duplicate keys (two parsers
could read ``{"instance_id": A, "instance_id": B}`` differently, and a signature covers both), and no
``NaN``/``Infinity`` (not JSON).

Every step runs in time linear in the input, at the speed of C: ``json.loads`` first (its scanner is linear, and
an input it cannot parse is refused before anything else looks at it), then the depth is read from the text of
what is now known to be valid JSON with bytes operations alone (no regular expression that could backtrack, no
loop per character in Python). ``bench/jsonsafe.py`` measures it against ``json.loads`` on adversarial shapes.
"""

from __future__ import annotations

import json
import operator
from itertools import accumulate, repeat
from typing import Any

from lib.codes import ErrorCode

MAX_DEPTH = 32
# What is left of a JSON text for its depth: quotes (to find the strings) and brackets, braces read as brackets.
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"[]{}')


class JsonRejected(ValueError):
    """Why a text is not acceptable JSON; ``code`` is one of INVALID_JSON, JSON_TOO_DEEP, DUPLICATE_KEY,
    MESSAGE_TOO_LARGE. The message never quotes the input's values; DUPLICATE_KEY names the key (its first 80
    characters), which is what the sender has to find."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _too_deep(max_depth: int) -> JsonRejected:
    return JsonRejected(
        ErrorCode.JSON_TOO_DEEP, f"nested more than {max_depth} levels deep; at most {max_depth} are accepted"
    )


def deeper_than(valid: bytes, max_depth: int) -> bool:
    """Whether the valid JSON text ``valid`` nests arrays and objects more than ``max_depth`` levels deep.

    First the brackets alone, each step one pass of a bytes method over the text: escaped backslashes, then
    escaped quotes go (in valid JSON a backslash is only ever an escape inside a string, and pairs from the left
    as the escapes do); what is neither a quote nor a bracket goes; empty strings go (removing two adjacent
    quotes leaves every other character inside or outside a string as it was); strings that held brackets go.
    Then the depth of the brackets, by ``_levels``.
    """
    if valid.count(b"[") + valid.count(b"{") <= max_depth:
        return False  # each level opens a bracket: not even the brackets inside strings make enough
    if b"\\" in valid:
        valid = valid.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = valid.translate(_SQUARE, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    return _levels(brackets, max_depth)


def _levels(brackets: bytes, max_depth: int) -> bool:
    """Whether balanced ``brackets`` nest more than ``max_depth`` deep. A round of removing ``[]`` peels one
    level off every innermost array, at a few nanoseconds a byte; the text is empty after ``max_depth`` rounds
    exactly when it is at most that deep. A round that removes little (few innermost arrays) says that the
    text has few places where one array ends and the next begins, so the depth is then read per such run
    (``_runs``), at C speed too."""
    if b"[" * (max_depth + 1) in brackets:
        return True
    for peeled in range(max_depth):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if (len(brackets) - len(shorter)) * 8 < len(brackets):
            return _runs(brackets) > max_depth - peeled
        brackets = shorter
    return brackets != b""


def _runs(brackets: bytes) -> int:
    """The depth of balanced brackets, from the pieces between one array's end and the next one's start: each
    piece opens some arrays, then closes some, so its deepest point is where its opening ends."""
    pieces = brackets.replace(b"][", b"],[").split(b",")  # never empty: b"".split() is [b""]
    opens = list(map(bytes.count, pieces, repeat(b"[")))
    closes = map(operator.sub, map(len, pieces), opens)
    before = accumulate(map(operator.sub, opens, closes), initial=0)
    deepest: int = max(map(operator.add, before, opens))
    return deepest


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonRejected(
                    ErrorCode.DUPLICATE_KEY, f"the key {json.dumps(key)[:80]} appears twice in one object"
                )
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise JsonRejected(ErrorCode.INVALID_JSON, f"{name} is not JSON")


# One decoder for every call: json.loads with arguments builds a new one each time, which costs more than parsing
# a small body (the json module itself shares one for its plain loads).
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant)


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` or raise JsonRejected; never anything else."""
    raw = data if isinstance(data, bytes) else data.encode(errors="surrogatepass")
    if len(raw) > max_bytes:
        raise JsonRejected(ErrorCode.MESSAGE_TOO_LARGE, f"{len(raw)} bytes; at most {max_bytes} are accepted")
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JsonRejected(ErrorCode.INVALID_JSON, "not UTF-8") from None
    try:
        value = _DECODER.decode(text)
    except JsonRejected:
        raise
    except RecursionError:  # json recurses per level and gave up, some hundreds of levels deep
        raise JsonRejected(
            ErrorCode.JSON_TOO_DEEP, f"nested more levels deep than the parser goes; at most {max_depth} are accepted"
        ) from None
    except ValueError as exc:
        raise JsonRejected(
            ErrorCode.INVALID_JSON, f"not valid JSON ({getattr(exc, 'msg', type(exc).__name__)})"
        ) from None
    if deeper_than(raw, max_depth):
        raise _too_deep(max_depth)
    return value
