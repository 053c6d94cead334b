"""The retry policy and the invocation's retry budget (lib/cloud/retry.py), without a network: the calls are
plain coroutines that fail as told."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import pytest

from lib.cloud.errors import ApiError, CloudError, TransportError
from lib.cloud.retry import RetryBudget, RetryPolicy, with_retry
from lib.codes import ErrorCode
from lib.runtime import Deadline


def failing(*errors: CloudError) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    """A call that raises ``errors`` in turn, then answers "ok"; and the list that counts its attempts."""
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return calls, call


def server_error() -> ApiError:
    return ApiError.from_response(503, "DBS.280005", None, None)


FAR = Deadline(at=float("inf"))
QUICK = RetryPolicy(base_delay=0.0)


async def test_a_transient_failure_is_retried_until_it_succeeds() -> None:
    calls, call = failing(server_error(), server_error())
    assert await with_retry(call, policy=QUICK, deadline=FAR, what="GET /x") == "ok"
    assert len(calls) == 3


@pytest.mark.parametrize(
    "error",
    [
        ApiError.from_response(429, "DBS.280443", None, None),  # the transport waited for the limiter already
        ApiError.from_response(403, "DBS.200019", None, None),  # busy: a later invocation retries it
        ApiError.from_response(400, "DBS.280277", None, None),  # permanent
        CloudError("DEADLINE_EXCEEDED", "out of time", retryable=True),
    ],
    ids=["throttled", "busy", "permanent", "deadline"],
)
async def test_throttling_busy_permanent_and_the_deadline_are_not_retried_here(error: CloudError) -> None:
    calls, call = failing(error)
    with pytest.raises(CloudError) as raised:
        await with_retry(call, policy=QUICK, deadline=FAR, what="POST /backups")
    assert raised.value is error and len(calls) == 1


def test_throttling_backs_off_from_a_longer_base_than_transient_failures() -> None:
    policy = RetryPolicy(base_delay=0.25, rng=random.Random(7))
    top = random.Random(7)
    error = server_error()
    # the same draw of the jitter, scaled: from 0.25 s for a failure, from 1 s for a throttle
    assert policy.delay(1, error) == pytest.approx(top.uniform(0, 0.25))
    assert policy.throttle_delay(1, error) == pytest.approx(top.uniform(0, 1.0))
    throttled = ApiError.from_response(429, "DBS.280443", None, None, retry_after="3")
    assert policy.throttle_delay(1, throttled) >= 3.0  # at least what the server asked for


def test_the_budget_charges_retries_and_timeouts_and_refunds_on_success() -> None:
    budget = RetryBudget(capacity=20)
    assert budget.spend(server_error()) == 5
    assert budget.spend(TransportError(ErrorCode.TIMEOUT, "no answer")) == 10
    assert budget.available == 5
    budget.refund(1)
    assert budget.available == 6
    assert budget.spend(TransportError(ErrorCode.TIMEOUT, "no answer")) is None  # 10 > 6
    budget.refund(100)
    assert budget.available == 20  # never above what it started with


async def test_once_the_budget_is_spent_a_failure_ends_at_once_and_retryably() -> None:
    # GIVEN an outage, and a budget that pays for two retries
    policy = RetryPolicy(base_delay=0.0, budget=RetryBudget(capacity=10))
    first_calls, first = failing(server_error(), server_error(), server_error(), server_error())
    with pytest.raises(ApiError):
        await with_retry(first, policy=policy, deadline=FAR, what="GET /a")
    assert len(first_calls) == 3  # 1 + the 2 retries the budget paid for, not RETRY_MAX_ATTEMPTS (4)
    # WHEN the next call fails THEN it is not retried at all, and says why
    calls, call = failing(server_error())
    with pytest.raises(ApiError) as raised:
        await with_retry(call, policy=policy, deadline=FAR, what="GET /b")
    assert len(calls) == 1
    assert (raised.value.code, raised.value.retryable) == ("DBS.280005", True)
    assert "this invocation's retries are used up" in raised.value.message


async def test_a_success_after_retries_gives_back_what_its_last_retry_cost() -> None:
    budget = RetryBudget(capacity=500)
    policy = RetryPolicy(base_delay=0.0, budget=budget)
    _, call = failing(server_error(), server_error())
    await with_retry(call, policy=policy, deadline=FAR, what="GET /x")
    assert budget.available == 500 - 5 - 5 + 5
