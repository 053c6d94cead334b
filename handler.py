"""FunctionGraph entry point: ``handler.handler``.

Synchronous, as the Python runtime requires; it runs the async pipeline on a fresh event loop per call
(``asyncio.run``), so no session or loop outlives an invocation. It raises only to make the platform retry an
asynchronous event, after the results are logged, and only when some request failed with a retryable error.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

# The project layout fixes the package name ``lib``, which Huawei warns can collide with a module of the same
# name on the runtime's path. Our code root goes first on sys.path, and a foreign ``lib`` that something
# imported before us is evicted, so that ``lib`` always means the folder next to this file.
_ROOT = os.path.dirname(os.path.abspath(__file__))


def _claim_lib() -> None:
    if not sys.path or os.path.abspath(sys.path[0] or os.curdir) != _ROOT:
        sys.path.insert(0, _ROOT)
    loaded = sys.modules.get("lib")
    origin = getattr(loaded, "__file__", None) or ""
    if loaded is not None and os.path.dirname(os.path.dirname(os.path.abspath(origin))) != _ROOT:
        for name in [n for n in sys.modules if n == "lib" or n.startswith("lib.")]:
            del sys.modules[name]


_claim_lib()
# The function uses no pydantic plugins: skip their discovery, a scan of every package's metadata that the first
# model would otherwise pay for at each cold start.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# The imports below make some 75,000 objects that live as long as the instance. The cyclic garbage collector would
# scan them over and over while they are made (~10 ms of a cold start, bench/coldstart.py) and at every full
# collection after: it is off while they are made, and they are set aside from its scans (gc.freeze) once made.
gc.disable()
try:
    from lib import pipeline  # after _claim_lib, on purpose
finally:
    gc.freeze()
    gc.enable()

_cold = True


class RetryRequested(Exception):
    """Raised after the results are out, so that FunctionGraph retries the event (async invocations).

    Retrying is safe: backup names are derived from the event's identity, so a replay finds what the first
    run created. ``result`` is the invocation result, for local callers.
    """

    def __init__(self, result: dict[str, Any]) -> None:
        summary = result.get("summary", {})
        super().__init__(
            f"{summary.get('failed', 0)} of {summary.get('requested', 0)} backup request(s) failed with a "
            "retryable error; asking the platform to retry the event"
        )
        self.result = result


def handler(event: Any, context: Any, *, chat_stand_ins: Iterable[str] = ()) -> dict[str, Any]:
    """The FunctionGraph entry point. ``chat_stand_ins`` is for the dev side alone (``dds-backup serve
    --fake-chat-origin``, the tests): loopback origins where a stand-in for Slack, Teams or Mattermost listens,
    which may then receive follow-ups. The platform calls ``handler(event, context)``: never with any."""
    global _cold
    started = time.monotonic()
    cold, _cold = _cold, False
    reply = asyncio.run(pipeline.run(event, context, started, cold_start=cold, chat_stand_ins=chat_stand_ins))
    if reply.retry:
        raise RetryRequested(reply.value)
    return reply.value
