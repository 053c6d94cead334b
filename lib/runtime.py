"""What the pipeline needs from FunctionGraph's context object, and the invocation's deadline.

The context API is duck-typed (the runtime's own class, the community mock, our local CLI context). Getters
may be missing, raise, or return "" (no agency configured): all of that reads as "not available".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def ctx_get(context: Any, method: str, *args: Any) -> str | None:
    fn = getattr(context, method, None)
    if not callable(fn):
        return None
    try:
        value = fn(*args)
    except Exception:
        return None
    if value is None:
        return None
    text = str(value)
    return text if text else None


def _ctx_number(context: Any, method: str) -> float | None:
    text = ctx_get(context, method)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number > 0 else None


# Kept for emitting results after the work stops: logging, the return value, a publish.
_RESERVE_MAX_S = 3.0
_RESERVE_MIN_S = 0.5
_DEFAULT_BUDGET_S = 60.0


@dataclass
class Deadline:
    """A point in time.monotonic() by which the work must stop, with the reserve already taken off."""

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def from_context(cls, context: Any, started: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """Budget from getRemainingTimeInMilliSeconds(), else the configured timeout measured from ``started``.

        The former is not reliable on every runtime version (one implementation mixes seconds and
        milliseconds), so a value larger than the configured timeout is not believed.
        """
        timeout_s = _ctx_number(context, "getRunningTimeInSeconds")
        remaining_ms = _ctx_number(context, "getRemainingTimeInMilliSeconds")
        now = clock()
        by_timeout = timeout_s - (now - started) if timeout_s is not None else None
        by_remaining = remaining_ms / 1000.0 if remaining_ms is not None else None
        if by_remaining is not None and (timeout_s is None or by_remaining <= timeout_s + 1.0):
            budget = by_remaining
        elif by_timeout is not None:
            budget = by_timeout
        else:
            budget = _DEFAULT_BUDGET_S
        reserve = min(_RESERVE_MAX_S, max(_RESERVE_MIN_S, budget * 0.1))
        return cls(at=now + budget - reserve, clock=clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def bound(self, seconds: float) -> float:
        """``seconds``, or less if the deadline comes first."""
        return min(seconds, self.remaining())

    def before(self, seconds: float) -> Deadline:
        """This deadline moved ``seconds`` earlier: time kept for what must still happen after the work."""
        return Deadline(at=self.at - seconds, clock=self.clock)

    def within(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now, or this one if it comes first (a caller with less patience)."""
        return Deadline(at=min(self.at, self.clock() + seconds), clock=self.clock)


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def loopback_origin(origin: str) -> str:
    """``scheme://host:port`` of a loopback URL; anything else is a ValueError (only loopback can stand in)."""
    parts = urlsplit(origin)
    if parts.hostname not in _LOOPBACK:
        raise ValueError("only loopback origins can stand in for a chat platform")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Invocation:
    """The parts of the platform context the pipeline uses, read once."""

    context: Any
    request_id: str
    function_name: str
    deadline: Deadline
    #: Loopback origins (``http://127.0.0.1:<port>``) where a local stand-in for Slack, Teams or Mattermost
    #: listens, so that follow-ups may go there too: handed to the handler by the dev side alone (``dds-backup
    #: serve --fake-chat-origin``, the tests), never read from the configuration or the context, so no deployed
    #: function can be pointed at one.
    chat_stand_ins: frozenset[str] = frozenset()

    @classmethod
    def from_context(cls, context: Any, started: float, chat_stand_ins: Iterable[str] = ()) -> Invocation:
        return cls(
            context=context,
            request_id=ctx_get(context, "getRequestID") or f"local-{int(time.time() * 1000)}",
            function_name=ctx_get(context, "getFunctionName") or "dds-backup",
            deadline=Deadline.from_context(context, started),
            chat_stand_ins=frozenset(loopback_origin(o) for o in chat_stand_ins),
        )

    def lookup(self, key: str) -> str | None:
        """A configuration value: ``context.getUserData(key)`` first, then the environment."""
        value = ctx_get(self.context, "getUserData", key)
        if value is None:
            value = os.environ.get(key) or None
        return value

    def get(self, method: str) -> str | None:
        return ctx_get(self.context, method)
