"""The retry policy, in one place: which failures are retried, how long to wait, and when to give up.

Retried: connection errors, timeouts, unreadable answers, 5xx, 429 (``DBS.280443``, ``APIG.0308``) and the
"instance busy" codes, i.e. every error classified ``retryable`` in ``errors.py`` except an expired deadline.
Never retried here: anything permanent, and authentication failures (a token is refreshed once by the client;
an AK/SK is never hammered, the gateway locks it after 5 failures).

Waits are exponential with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"), at least
``Retry-After`` when the server sent one, and never past the deadline: a wait that would end after it is
not started, and the last error is what the caller reports.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from lib.cloud.errors import ApiError, CloudError
from lib.logs import get_logger
from lib.runtime import Deadline

T = TypeVar("T")
_log = get_logger("retry")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def should_retry(self, exc: CloudError) -> bool:
        if exc.code == "DEADLINE_EXCEEDED" or not exc.retryable:
            return False
        # 401s are the client's business (one token refresh), never a backoff loop.
        return not (isinstance(exc, ApiError) and exc.http_status == 401)

    def delay(self, attempt: int, exc: CloudError) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        jitter = self.rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        retry_after = exc.retry_after if isinstance(exc, ApiError) else None
        return max(jitter, retry_after) if retry_after is not None else jitter


NO_RETRY = RetryPolicy(max_attempts=1)


async def with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline: Deadline,
    what: str,
    on_failure: Callable[[CloudError], Awaitable[None]] | None = None,
) -> T:
    """Run ``call`` until it succeeds, fails permanently, runs out of attempts, or the deadline comes.

    ``on_failure`` runs after each retryable failure, before the wait (the create path uses it to look
    for a backup that a lost answer may have hidden); it may raise to stop the loop.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except CloudError as exc:
            if attempt >= policy.max_attempts or not policy.should_retry(exc):
                raise
            pause = policy.delay(attempt, exc)
            if pause >= deadline.remaining():
                _log.warning(
                    f"{what}: no time left to retry after {exc.code}",
                    extra={"retry.attempt": attempt, "error.type": exc.code},
                )
                raise
            _log.warning(
                f"{what}: attempt {attempt} failed ({exc.code}); retrying in {pause:.2f}s",
                extra={"retry.attempt": attempt, "retry.delay_s": round(pause, 3), "error.type": exc.code},
            )
            if on_failure is not None:
                await on_failure(exc)
            await asyncio.sleep(pause)
