"""The deadline, from a context whose getters may be missing, wrong or in the wrong unit."""

from __future__ import annotations

from typing import Any

import pytest

from lib.runtime import Deadline, ctx_get


class Ctx:
    def __init__(self, **methods: Any) -> None:
        for name, value in methods.items():
            setattr(self, name, (lambda v: lambda *a: v)(value))


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_remaining_time_is_used_minus_a_reserve() -> None:
    clock = Clock()
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=30_000, getRunningTimeInSeconds=60), 1000.0, clock)
    assert d.remaining() == pytest.approx(30 - 3)  # 10% reserve, capped at 3 s
    clock.now += 10
    assert d.remaining() == pytest.approx(17)
    assert d.bound(100) == pytest.approx(17)
    assert d.bound(5) == 5


def test_implausible_remaining_time_falls_back_to_the_configured_timeout() -> None:
    # One runtime implementation mixes seconds and milliseconds: 60 s reported as 60,000 s remaining.
    clock = Clock(1002.0)  # 2 s after the start
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=60_000_000, getRunningTimeInSeconds=60), 1000.0, clock)
    assert d.remaining() == pytest.approx(58 - 3)


def test_missing_getters_use_a_default_budget() -> None:
    d = Deadline.from_context(object(), 1000.0, Clock())
    assert 0 < d.remaining() <= 60


def test_small_budgets_keep_a_small_reserve() -> None:
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=3000), 1000.0, Clock())
    assert d.remaining() == pytest.approx(2.5)


def test_expired_deadline() -> None:
    clock = Clock()
    d = Deadline(at=999.0, clock=clock)
    assert d.expired and d.remaining() == 0 and d.bound(10) == 0


def test_ctx_get_treats_missing_raising_and_empty_getters_as_absent() -> None:
    def boom() -> str:
        raise RuntimeError("no agency")

    ctx = Ctx(getToken="", getProjectID="p1")
    ctx.getSecurityToken = boom  # type: ignore[attr-defined]
    assert ctx_get(ctx, "getToken") is None
    assert ctx_get(ctx, "getSecurityToken") is None
    assert ctx_get(ctx, "getNothing") is None
    assert ctx_get(ctx, "getProjectID") == "p1"
