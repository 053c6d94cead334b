"""The limiter of calls to one API (lib/cloud/limiter.py), driven by a fake clock: no call waits for real time."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from lib.cloud import limiter
from lib.cloud.errors import CloudError
from lib.cloud.limiter import Limiter, TokenBucket, cubic
from lib.runtime import Deadline

KEY = "DDS https://dds.example 0549b4a43100d4f32f51c01c2fe4acdb"


class FakeTime:
    """time.monotonic() and asyncio.sleep() of a world where sleeping moves the clock, and nothing else does."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def deadline(self, seconds: float = 60.0) -> Deadline:
        return Deadline(at=self.now + seconds, clock=self.clock)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def make(time_: FakeTime, key: str | None = KEY, max_in_flight: int = 10) -> Limiter:
    return Limiter(key, max_in_flight=max_in_flight, what="DDS", clock=time_.clock, sleep=time_.sleep)


async def answered(lim: Limiter, deadline: Deadline, count: int, *, throttled: bool = False) -> None:
    """``count`` calls, one after the other, each answered at once."""
    for _ in range(count):
        sent = await lim.acquire(deadline)
        lim.release(sent, answered=True, throttled=throttled)


async def cut(lim: Limiter, deadline: Deadline) -> None:
    """20 calls accepted, then 3 throttled: a tenth of the last second's answers, a cut to 0.7 x 20."""
    await answered(lim, deadline, 20)
    await answered(lim, deadline, 3, throttled=True)


# -- CUBIC and the bucket, against botocore's own figures (tests/unit/retries/test_throttling.py) ------------------


def test_the_curve_starts_at_seventy_percent_and_is_back_at_the_last_rate_after_k() -> None:
    assert cubic(10.0, 0.0) == pytest.approx(7.0)
    assert cubic(10.0, 1.9574338205844317) == pytest.approx(10.0)  # botocore's k for w_max 10
    assert cubic(8.0, 1.8171205928321397) == pytest.approx(8.0)  # and for 8
    assert cubic(10.0, 1.0) < 10.0 < cubic(10.0, 3.0) < cubic(10.0, 5.0)


def test_the_bucket_banks_at_most_a_seconds_worth_and_never_runs_slower_than_half_a_call_a_second() -> None:
    bucket = TokenBucket(rate=4.0, stamp=0.0)
    assert bucket.wait(0.0) == pytest.approx(0.25)
    assert bucket.wait(10.0) == 0.0 and bucket.tokens == 4.0  # not 40
    bucket.set_rate(10.0, 0.01)
    assert bucket.rate == limiter.MIN_RATE and bucket.tokens == 1.0


# -- off until throttled ----------------------------------------------------------------------------------------


async def test_without_a_throttle_nothing_waits_but_the_cap(time_: FakeTime) -> None:
    lim = make(time_)
    await answered(lim, time_.deadline(), 500)
    assert (lim.rate, lim.calls, time_.slept) == (None, 500, [])


async def test_the_cap_holds_the_next_call_until_one_in_flight_is_answered(time_: FakeTime) -> None:
    lim = make(time_, max_in_flight=3)
    deadline = time_.deadline()
    sent = [await lim.acquire(deadline) for _ in range(3)]
    fourth = asyncio.ensure_future(lim.acquire(deadline))
    await asyncio.sleep(0)
    assert not fourth.done()
    lim.release(sent[0], answered=True)
    assert await asyncio.wait_for(fourth, 1) == time_.now


async def test_a_call_cancelled_while_waiting_takes_no_slot(time_: FakeTime) -> None:
    lim = make(time_, max_in_flight=1)
    deadline = time_.deadline()
    first = await lim.acquire(deadline)
    gone = asyncio.ensure_future(lim.acquire(deadline))
    after = asyncio.ensure_future(lim.acquire(deadline))
    await asyncio.sleep(0)
    gone.cancel()
    lim.release(first, answered=True)
    assert await asyncio.wait_for(after, 1) == time_.now  # the slot went past the cancelled call
    assert gone.cancelled() and lim.calls == 2


async def test_a_stray_throttle_among_many_answers_does_not_slow_anything_down(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await answered(lim, deadline, 30)
    await answered(lim, deadline, 1, throttled=True)
    assert (lim.rate, lim.cap, lim.throttled) == (None, 10, 1)


# -- the cut ----------------------------------------------------------------------------------------------------


async def test_throttles_cut_the_rate_to_seventy_percent_of_what_was_accepted_and_the_cap_too(
    time_: FakeTime,
) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await answered(lim, deadline, 20)  # 20 accepted within the last second
    await answered(lim, deadline, 3, throttled=True)
    assert lim.rate == pytest.approx(14.0)
    assert lim.cap == 7
    assert limiter._LEARNT[KEY].w_max == 20.0


async def test_answers_to_calls_sent_before_a_cut_do_not_cut_again(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await answered(lim, deadline, 20)
    early = [await lim.acquire(deadline) for _ in range(6)]  # all in flight when the throttles come
    for sent in early:
        lim.release(sent, answered=True, throttled=True)
    assert lim.rate == pytest.approx(14.0)  # one cut, not 0.7**5 of it
    assert lim.throttled == 6


async def test_after_a_cut_calls_are_paced_by_the_rate(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await cut(lim, deadline)
    started = time_.now
    sends = []
    for _ in range(15):
        sends.append(await lim.acquire(deadline))
        lim.release(sends[-1], answered=False)  # no answer: the rate stays as cut
    # the bucket was emptied by the throttles: 15 calls at 14 a second take 15/14 s
    assert time_.now - started == pytest.approx(15 / 14.0)
    assert all(b - a == pytest.approx(1 / 14.0) for a, b in itertools.pairwise(sends))


async def test_successes_grow_the_rate_back_along_the_curve_and_the_cap_one_per_round(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await cut(lim, deadline)
    cut_at = time_.now
    seen: list[tuple[float, float]] = []  # (seconds since the cut, rate)
    while time_.now - cut_at < 3.0:
        await answered(lim, deadline, 1)
        assert lim.rate is not None
        seen.append((time_.now - cut_at, lim.rate))
    k = (20 * 0.3 / 0.4) ** (1 / 3)
    rates = [r for _, r in seen]
    assert rates == sorted(rates)  # never down on success
    assert all(r == pytest.approx(cubic(20.0, t)) for t, r in seen)  # the calls sent keep the ceiling above it
    assert all(r < 20.0 for t, r in seen if t < k) and rates[-1] > 20.0  # back past the last rate after k
    assert lim.cap == 10  # +1 per round of answers, back to MAX_CONCURRENCY


async def test_the_rate_never_grows_past_twice_what_is_really_sent(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await cut(lim, deadline)
    time_.now += 30.0  # the curve alone would allow thousands a second by now
    await answered(lim, deadline, 1)
    assert lim.rate == pytest.approx(14.0)  # one call in the last second: the rate stays where it was


async def test_retry_after_holds_every_call_until_it_has_passed(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    sent = await lim.acquire(deadline)
    lim.release(sent, answered=True, throttled=True, retry_after=2.0)
    started = time_.now
    await lim.acquire(deadline)
    assert time_.now - started == pytest.approx(2.0)


async def test_a_turn_the_deadline_cannot_cover_fails_at_once_retryably(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline(1.0)
    sent = await lim.acquire(deadline)
    lim.release(sent, answered=True, throttled=True, retry_after=5.0)
    with pytest.raises(CloudError) as info:
        await lim.acquire(deadline)
    assert (info.value.code, info.value.retryable) == ("DEADLINE_EXCEEDED", True)
    assert "rate limit" in info.value.message
    assert time_.slept == []  # it did not sleep into the deadline first


async def test_turns_are_first_come_first_served(time_: FakeTime) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await cut(lim, deadline)
    order: list[int] = []

    async def call(n: int) -> None:
        sent = await lim.acquire(deadline)
        order.append(n)
        lim.release(sent, answered=False)

    await asyncio.gather(*(call(n) for n in range(8)))
    assert order == list(range(8))


# -- what a warm instance keeps -----------------------------------------------------------------------------------


async def test_a_warm_instance_starts_from_the_learnt_rate_and_forgets_it_once_the_curve_is_far_past(
    time_: FakeTime,
) -> None:
    await cut(make(time_), time_.deadline())
    time_.now += 1.0
    again = make(time_)  # the next invocation: a new limiter (a new event loop), the same tenant
    assert again.rate == pytest.approx(cubic(20.0, 1.0)) and again.cap == 7
    assert make(time_, key="DDS https://dds.example another-project").rate is None  # another tenant
    time_.now += 60.0
    assert make(time_).rate is None  # the curve is far past twice the last cut: start afresh
    limiter.forget()
    assert limiter._LEARNT == {}


async def test_the_report_says_how_many_were_throttled_and_where_the_rate_settled(
    time_: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    lim = make(time_)
    deadline = time_.deadline()
    await cut(lim, deadline)
    caplog.set_level("INFO", logger="dds_backup.limiter")
    lim.report()
    (line,) = [r for r in caplog.records if r.name == "dds_backup.limiter" and r.levelname == "INFO"]
    assert line.getMessage() == "DDS: 3 of 23 calls throttled (13%); the rate settled at 14.0 calls/s, 7 in flight"
    assert (line.__dict__["limiter.throttled"], line.__dict__["limiter.rate"]) == (3, 14.0)
