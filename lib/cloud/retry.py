"""The retry policy, in one place: which failures are retried, how long to wait, and when to give up.

Retried: connection errors, timeouts, unreadable answers and 5xx, i.e. every error classified ``retryable`` in
``errors.py`` except three kinds. Throttling (429 ``DBS.280443``, ``APIG.0308``) is not spent from the
attempts: the transport waits for the invocation's limiter (``limiter.py``) and sends again, backing off from a
longer base, until the deadline. "Instance busy" is not retried within seconds, since a backup takes minutes: it
ends retryable, for a later invocation. An expired deadline ends the call. Never retried: anything permanent, and
authentication failures (a token is refreshed once by the client; an AK/SK is never hammered, the gateway locks
it after 5 failures).

Waits are exponential with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"), at least
``Retry-After`` when the server sent one, and never past the deadline: a wait that would end after it is
not started, and the last error is what the caller reports.

Retries share one budget per invocation (``RetryBudget``), so that an outage of the API does not multiply a
fleet's calls by the attempts: once it is spent, a failure ends the call at once, retryable.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from lib.cloud.errors import ApiError, CloudError, busy, throttling
from lib.codes import ErrorCode
from lib.logs import get_logger
from lib.runtime import Deadline

T = TypeVar("T")
_log = get_logger("retry")

#: Throttling backs off from a base this many times the transient one (4 x 0.25 s = 1 s, botocore's throttling
#: base; botocore/retries/standard.py ``ExponentialBackoff``).
THROTTLE_FACTOR = 4.0


class RetryBudget:
    """botocore's retry quota (botocore/retries/quota.py, standard.py ``RetryQuotaChecker``): 500 to start with; a
    retry costs 5, or 10 after a timeout; a success gives back what its last retry cost, or 1 without retries."""

    CAPACITY = 500
    RETRY_COST = 5
    TIMEOUT_COST = 10
    SUCCESS_REFUND = 1

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.available = capacity
        self.refused = 0

    def spend(self, exc: CloudError) -> int | None:
        """The cost of retrying after ``exc``, taken from the budget; None when the budget cannot pay it."""
        cost = self.TIMEOUT_COST if exc.code == ErrorCode.TIMEOUT else self.RETRY_COST
        if cost > self.available:
            if self.refused == 0:
                _log.warning(
                    "this invocation's retries are used up: further failures end at once, retryable",
                    extra={"retry.budget": self.capacity},
                )
            self.refused += 1
            return None
        self.available -= cost
        return cost

    def refund(self, amount: int) -> None:
        self.available = min(self.capacity, self.available + amount)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    #: The invocation's budget; None: unlimited (a policy made for one call).
    budget: RetryBudget | None = field(default=None, compare=False, repr=False)

    def should_retry(self, exc: CloudError) -> bool:
        if exc.code == ErrorCode.DEADLINE_EXCEEDED or not exc.retryable:
            return False
        # Throttling reaches here only when the transport's waiting ran out of time; busy takes minutes.
        if throttling(exc) or busy(exc):
            return False
        # 401s are the client's business (one token refresh), never a backoff loop.
        return not (isinstance(exc, ApiError) and exc.http_status == 401)

    def delay(self, attempt: int, exc: CloudError) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return self._jittered(self.base_delay, attempt, exc)

    def throttle_delay(self, attempt: int, exc: CloudError) -> float:
        """Seconds a call waits after its ``attempt``-th throttled answer before it queues for the limiter again."""
        return self._jittered(self.base_delay * THROTTLE_FACTOR, attempt, exc)

    def _jittered(self, base: float, attempt: int, exc: CloudError) -> float:
        jitter = self.rng.uniform(0, min(self.max_delay, base * 2 ** (attempt - 1)))
        retry_after = exc.retry_after if isinstance(exc, ApiError) else None
        return max(jitter, retry_after) if retry_after is not None else jitter


NO_RETRY = RetryPolicy(max_attempts=1)


def _unpaid(exc: CloudError) -> CloudError:
    """``exc`` as it ends when the budget cannot pay for another attempt."""
    return type(exc)(
        exc.code,
        f"{exc.message} (not retried: this invocation's retries are used up)",
        retryable=exc.retryable,
        http_status=exc.http_status,
        request_id=exc.request_id,
        retry_after=exc.retry_after,
    )


async def with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline: Deadline,
    what: str,
    on_failure: Callable[[CloudError], Awaitable[None]] | None = None,
) -> T:
    """Run ``call`` until it succeeds, fails permanently, runs out of attempts or budget, or the deadline comes.

    ``on_failure`` runs after each retryable failure, before the wait (the create path uses it to look
    for a backup that a lost answer may have hidden); it may raise to stop the loop.
    """
    attempt = 0
    paid = 0
    budget = policy.budget
    while True:
        attempt += 1
        try:
            result = await call()
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
            if budget is not None:
                cost = budget.spend(exc)
                if cost is None:
                    raise _unpaid(exc) from None
                paid = cost
            _log.warning(
                f"{what}: attempt {attempt} failed ({exc.code}); retrying in {pause:.2f}s",
                extra={"retry.attempt": attempt, "retry.delay_s": round(pause, 3), "error.type": exc.code},
            )
            if on_failure is not None:
                await on_failure(exc)
            await asyncio.sleep(pause)
        else:
            if budget is not None:
                budget.refund(paid or RetryBudget.SUCCESS_REFUND)
            return result
