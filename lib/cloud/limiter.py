"""How fast an invocation calls one API: a cap on calls in flight and a send rate, both adapting to throttling.

DDS answers a tenant that calls too often with 429 ``DBS.280443`` ("APIs are frequently called by the same
tenant. Reduce the frequency of API calls.", OTC document-database-service api-ref/source/appendix/error_code.rst),
its gateway with 429 ``APIG.0308`` ("The throttling threshold has been reached.", OTC api-gateway
umn/source/published_api_calling/error_codes.rst); neither publishes a rate. The limiter finds it the way the AWS
SDKs' adaptive retry mode does (botocore/retries/adaptive.py, throttling.py, bucket.py): a token bucket that is
off until the first throttle, then sends at 0.7 of the rate that was accepted and grows back along a cubic curve
(CUBIC, RFC 8312): quickly at first, slowly near the rate of the last throttle, then faster again.

Where this differs from botocore, and why:

- the rate is cut once per round of calls: a throttled answer to a call sent before the last cut says nothing
  about the rate since (botocore cuts on every throttled answer, so ten calls throttled together cut it to 0.7^10);
- a stray throttle does not cut: it takes two or more in the last second, a tenth of its answers at least. The
  tenant's limit is shared with its other clients, and under scattered throttles a cut on each one would hold the
  rate at a few calls a second however much the API allows (a throttled call only waits and is sent again);
- a cut starts from the calls the API accepted in the last second, not from our send rate: before the first
  throttle the send rate is whatever MAX_CONCURRENCY and the latency make it, often several times the API's;
- a throttled answer empties the bucket, since the API's own is empty at that moment;
- ``Retry-After`` on a throttled answer holds every call until it has passed;
- the cap on calls in flight starts at MAX_CONCURRENCY and is cut and grown with the rate (AIMD), since DDS
  words its refusal as "The maximum number of connections has been reached": it may count calls in flight.

What an instance learnt about a tenant (``Learnt``) is plain data kept per API and tenant, so that a warm instance's
next invocation starts from it; the asyncio parts are made anew for each invocation (each runs its own event loop).
The clock and the sleep are parameters, so the tests drive it with a fake clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lib.cloud.errors import CloudError
from lib.codes import ErrorCode
from lib.logs import get_logger
from lib.runtime import Deadline

_log = get_logger("limiter")

#: CUBIC's constants, as botocore/retries/throttling.py has them: the cut (0.7) and how fast the rate grows back.
BETA = 0.7
SCALE = 0.4
#: The slowest the bucket ever sends (botocore/retries/bucket.py ``_MIN_RATE``).
MIN_RATE = 0.5
#: Rates are measured over the last second.
WINDOW_S = 1.0
#: A cut needs this many throttled answers in the last second, this share of its answers, and this many answers.
CUT_AFTER = 2
CUT_SHARE = 0.1
CUT_EVIDENCE = 10


def cubic(w_max: float, since: float) -> float:
    """The rate ``since`` seconds after a throttle at ``w_max`` calls/s (botocore's ``CubicCalculator``)."""
    k: float = (w_max * (1 - BETA) / SCALE) ** (1 / 3)
    return SCALE * (since - k) ** 3 + w_max


@dataclass
class TokenBucket:
    """``rate`` tokens a second, at most a second's worth banked; one token per call."""

    rate: float
    tokens: float = 0.0
    stamp: float | None = None

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate)

    def refill(self, now: float) -> None:
        if self.stamp is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: now)."""
        self.refill(now)
        # Within rounding of a whole token is a token: a wait of 1e-16 s would not move a clock at all.
        return 0.0 if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.refill(now)
        self.tokens -= 1.0

    def set_rate(self, now: float, rate: float) -> None:
        self.refill(now)  # what accrued so far, at the old rate
        self.rate = max(rate, MIN_RATE)
        self.tokens = min(self.tokens, self.capacity)

    def empty(self, now: float) -> None:
        self.refill(now)
        self.tokens = min(self.tokens, 0.0)


@dataclass
class Learnt:
    """What the calls to one API for one tenant taught, kept across the invocations of a warm instance."""

    #: The send rate (calls/s) the bucket had last; None: off (no throttle yet, or long enough ago to forget).
    rate: float | None = None
    #: CUBIC's memory: the rate at the last cut, and when that was (time.monotonic()).
    w_max: float = 0.0
    cut_at: float = -math.inf
    cap: int | None = None
    #: When the calls of the last second were sent, and when their answers came: accepted or throttled.
    sent: deque[float] = field(default_factory=deque)
    accepted: deque[float] = field(default_factory=deque)
    throttled: deque[float] = field(default_factory=deque)


_LEARNT: dict[str, Learnt] = {}


def forget() -> None:
    """Forget every tenant's learnt rate (the tests start each case from nothing)."""
    _LEARNT.clear()


def _count(times: deque[float], now: float) -> int:
    """How many of ``times`` lie within the last second (older ones are dropped)."""
    while times and times[0] <= now - WINDOW_S:
        times.popleft()
    return len(times)


def _note(times: deque[float], now: float) -> None:
    times.append(now)
    if len(times) > 256:
        _count(times, now)


class Limiter:
    """One per API and invocation: every call takes a turn (``acquire``) and reports its answer (``release``).

    Turns are handed out first come, first served: a released slot goes straight to the next waiting call. Without
    a throttle so far the only limit is the cap on calls in flight, and a turn costs no more than a counter.
    """

    def __init__(
        self,
        key: str | None,
        *,
        max_in_flight: int,
        what: str = "the API",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._learnt = _LEARNT.setdefault(key, Learnt()) if key is not None else Learnt()
        self._what = what
        self._clock = clock
        self._sleep = sleep
        self._max = max_in_flight
        now = clock()
        self._bucket = self._resume(now)
        self.cap = min(self._learnt.cap or max_in_flight, max_in_flight) if self._bucket else max_in_flight
        self._in_flight = 0
        self._grown = 0  # answers since the cap last grew
        #: The calls waiting for a turn, first come first served, each with its deadline.
        self._waiters: deque[tuple[asyncio.Future[float], Deadline]] = deque()
        self._pacer: asyncio.Task[None] | None = None  # sleeps until the rate lets the next waiter go
        self._paused_until = -math.inf
        #: Calls sent and throttled answers, this invocation.
        self.calls = 0
        self.throttled = 0

    def _resume(self, now: float) -> TokenBucket | None:
        """The bucket a warm instance starts with: the learnt curve, until it has grown to twice the last cut."""
        learnt = self._learnt
        if learnt.rate is None:
            return None
        rate = cubic(learnt.w_max, now - learnt.cut_at)
        if rate >= 2 * learnt.w_max:
            learnt.rate = learnt.cap = None
            return None
        return TokenBucket(rate=max(rate, MIN_RATE), tokens=1.0, stamp=now)

    @property
    def rate(self) -> float | None:
        """The send rate in calls/s, or None while no throttle has set one."""
        return self._bucket.rate if self._bucket is not None else None

    def _ready(self, now: float) -> float:
        """0 when a call may go now, else how long until the rate lets it (the cap is the caller's wait)."""
        wait = self._paused_until - now
        if self._bucket is not None:
            wait = max(wait, self._bucket.wait(now))
        return max(wait, 0.0)

    async def acquire(self, deadline: Deadline) -> float:
        """Wait for a turn; returns when the call was let go (pass it to ``release``). Raises a retryable
        ``DEADLINE_EXCEEDED`` when the rate would keep the call waiting past the deadline."""
        if not self._waiters and self._in_flight < self.cap and self._ready(self._clock()) <= 0:
            return self._let_go(self._clock())
        turn: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((turn, deadline))
        self._hand_out()
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.release(turn.result(), answered=False)  # granted as it was cancelled: the turn goes back
            raise

    def _let_go(self, now: float) -> float:
        if self._bucket is not None:
            self._bucket.take(now)
        self._in_flight += 1
        _note(self._learnt.sent, now)
        self.calls += 1
        return now

    def _hand_out(self) -> None:
        """Let the waiting calls go, in order, as far as the cap and the rate allow now; when the rate holds the
        next one, wake up when it lets it go (a call in flight ends by the deadline: so does a wait for the cap)."""
        while self._waiters:
            turn, deadline = self._waiters[0]
            if turn.done():  # cancelled while waiting
                self._waiters.popleft()
                continue
            if self._in_flight >= self.cap:
                return
            now = self._clock()
            wait = self._ready(now)
            if wait > 0 and wait >= deadline.remaining():
                self._waiters.popleft()
                turn.set_exception(self._out_of_time())
                continue
            if wait > 0:
                if self._pacer is None:
                    self._pacer = asyncio.ensure_future(self._pace(wait))
                return
            self._waiters.popleft()
            turn.set_result(self._let_go(now))

    async def _pace(self, wait: float) -> None:
        try:
            await self._sleep(wait)
        finally:
            self._pacer = None
        self._hand_out()

    def _out_of_time(self) -> CloudError:
        return CloudError(
            ErrorCode.DEADLINE_EXCEEDED,
            f"the invocation ran out of time waiting for its turn under {self._what}'s rate limit "
            f"({self.throttled} calls throttled so far; sending at most {self._rate_text()})",
        )

    def release(
        self, sent_at: float, *, answered: bool, throttled: bool = False, retry_after: float | None = None
    ) -> None:
        """The call's slot back; what its answer says about the rate (``answered``: there was one)."""
        self._in_flight -= 1
        if answered:
            now = self._clock()
            if throttled:
                self._throttled(sent_at, now, retry_after)
            else:
                _note(self._learnt.accepted, now)
                self._grow(now)
        self._hand_out()

    def _grow(self, now: float) -> None:
        if self.cap < self._max:
            self._grown += 1
            if self._grown >= self.cap:  # one more in flight per round of answers
                self.cap += 1
                self._grown = 0
                self._learnt.cap = self.cap
        bucket = self._bucket
        if bucket is None:
            return
        learnt = self._learnt
        rate = cubic(learnt.w_max, now - learnt.cut_at)
        # Never past twice the rate really used (botocore's rule): a curve grown while the calls were few would
        # otherwise let the next burst through unchecked.
        ceiling = max(2.0 * _count(learnt.sent, now), bucket.rate)
        bucket.set_rate(now, min(rate, ceiling))
        learnt.rate = bucket.rate

    def _throttled(self, sent_at: float, now: float, retry_after: float | None) -> None:
        self.throttled += 1
        learnt = self._learnt
        _note(learnt.throttled, now)
        if retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)
        if sent_at <= learnt.cut_at:
            return  # sent before the last cut: that cut already answered for it
        # A stray throttle does not cut: the tenant's limit is shared with its other clients, and a throttled call
        # only waits. Two or more, a tenth of the last second's answers or more (of ten at least), do.
        throttles, accepted = _count(learnt.throttled, now), _count(learnt.accepted, now)
        answers = throttles + accepted
        if throttles < CUT_AFTER or throttles < CUT_SHARE * answers or answers < CUT_EVIDENCE:
            return
        base = float(max(accepted, 1))
        if self._bucket is not None:
            base = min(base, self._bucket.rate)
        learnt.w_max, learnt.cut_at = base, now
        first = self._bucket is None
        if self._bucket is None:
            self._bucket = TokenBucket(rate=base * BETA, stamp=now)
        self._bucket.set_rate(now, base * BETA)
        self._bucket.empty(now)
        self.cap = max(1, int(self.cap * BETA))
        self._grown = 0
        learnt.rate, learnt.cap = self._bucket.rate, self.cap
        if first:
            _log.warning(
                f"{self._what} throttled this tenant: sending at most {self._rate_text()} from now on, "
                f"{self.cap} at a time",
                extra={"limiter.rate": round(self._bucket.rate, 2), "limiter.in_flight_cap": self.cap},
            )

    def _rate_text(self) -> str:
        return f"{self._bucket.rate:.1f} calls/s" if self._bucket is not None else "any rate"

    def report(self) -> None:
        """One log line for the invocation: how many calls were throttled, and where the limits settled."""
        if self.throttled == 0 and self._bucket is None:
            return
        share = self.throttled / self.calls if self.calls else 0.0
        _log.info(
            f"{self._what}: {self.throttled} of {self.calls} calls throttled ({share:.0%}); the rate settled at "
            f"{self._rate_text()}, {self.cap} in flight",
            extra={
                "limiter.calls": self.calls,
                "limiter.throttled": self.throttled,
                "limiter.rate": round(self._bucket.rate, 2) if self._bucket is not None else None,
                "limiter.in_flight_cap": self.cap,
            },
        )
