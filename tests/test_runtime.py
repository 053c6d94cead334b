"""The deadline, from a context whose getters may be missing, wrong or in the wrong unit."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lib.runtime import Deadline, Invocation, ctx_get


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


# -- the budget's boundaries -----------------------------------------------------------------------------------


def test_a_remaining_time_up_to_one_second_over_the_timeout_is_believed() -> None:
    # GIVEN a 60 s timeout WHEN the platform says 61 s remain (rounding, clock skew) THEN that is believed
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=61_000, getRunningTimeInSeconds=60), 1000.0, Clock())
    assert d.at == pytest.approx(1000 + 61 - 3)
    # AND one millisecond more is not: the configured timeout, measured from the start, decides
    clock = Clock(1010.0)
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=61_001, getRunningTimeInSeconds=60), 1000.0, clock)
    assert d.at == pytest.approx(1010 + 50 - 3)


def test_without_a_timeout_any_remaining_time_is_believed() -> None:
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=900_000), 1000.0, Clock())
    assert d.at == pytest.approx(1000 + 900 - 3)


def test_without_a_remaining_time_the_timeout_counts_from_the_start() -> None:
    d = Deadline.from_context(Ctx(getRunningTimeInSeconds=20), 1000.0, Clock(1004.0))
    assert d.at == pytest.approx(1004 + 16 - 1.6)  # 10% of the 16 s left are kept back


def test_with_neither_the_budget_is_sixty_seconds() -> None:
    assert Deadline.from_context(object(), 1000.0, Clock()).at == pytest.approx(1000 + 60 - 3)


@pytest.mark.parametrize(
    ("budget_s", "reserve_s"),
    [(2, 0.5), (5, 0.5), (6, 0.6), (29, 2.9), (30, 3.0), (900, 3.0)],
)
def test_the_reserve_is_a_tenth_of_the_budget_between_half_a_second_and_three(budget_s: int, reserve_s: float) -> None:
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=budget_s * 1000), 1000.0, Clock())
    assert d.at == pytest.approx(1000 + budget_s - reserve_s)


@pytest.mark.parametrize("value", ["0", "-5", "soon", "", None])
def test_a_getter_that_says_nothing_usable_counts_as_absent(value: Any) -> None:
    # GIVEN a usable timeout, and a remaining time that is zero, negative, not a number or empty
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds=value, getRunningTimeInSeconds=20), 1000.0, Clock())
    # THEN the timeout decides
    assert d.at == pytest.approx(1000 + 20 - 2)


def test_the_deadline_reaches_zero_and_stays_there() -> None:
    clock = Clock()
    d = Deadline(at=1010.0, clock=clock)
    assert (d.remaining(), d.expired) == (10.0, False)
    clock.now = 1010.0
    assert (d.remaining(), d.expired) == (0.0, True)
    clock.now = 1020.0
    assert (d.remaining(), d.bound(5)) == (0.0, 0.0)


def test_within_takes_whichever_comes_first_and_keeps_the_clock() -> None:
    clock = Clock()
    d = Deadline(at=1010.0, clock=clock)
    assert d.within(5).at == 1005.0
    assert d.within(50).at == 1010.0
    shorter = d.within(5)
    clock.now = 1003.0
    assert shorter.remaining() == 2.0


def test_before_moves_the_deadline_earlier_and_keeps_the_clock() -> None:
    # GIVEN a deadline 10 s away WHEN 3 s are kept back for what must follow the work
    clock = Clock()
    kept = Deadline(at=1010.0, clock=clock).before(3)
    # THEN the work's deadline is 7 s away and follows the same clock
    assert kept.at == 1007.0
    clock.now = 1005.0
    assert kept.remaining() == 2.0


def test_the_invocation_reads_the_context_once_with_local_defaults() -> None:
    ctx = Ctx(getRequestID="req-9", getFunctionName="backup-fn", getUserData="from-user-data")
    inv = Invocation.from_context(ctx, 0.0)
    assert (inv.request_id, inv.function_name) == ("req-9", "backup-fn")
    assert inv.get("getFunctionName") == "backup-fn"
    bare = Invocation.from_context(object(), 0.0)
    assert bare.function_name == "dds-backup"
    assert bare.request_id.startswith("local-") and bare.request_id[len("local-") :].isdigit()


def test_configuration_comes_from_user_data_before_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION", "eu-de")
    assert Invocation.from_context(Ctx(getUserData="eu-nl"), 0.0).lookup("REGION") == "eu-nl"
    assert Invocation.from_context(object(), 0.0).lookup("REGION") == "eu-de"
    monkeypatch.setenv("REGION", "")
    assert Invocation.from_context(object(), 0.0).lookup("REGION") is None


def test_ctx_get_passes_arguments_and_reads_values_as_text() -> None:
    class UserData:
        def getUserData(self, key: str) -> object:
            return {"A": 5}.get(key)

    assert ctx_get(UserData(), "getUserData", "A") == "5"
    assert ctx_get(UserData(), "getUserData", "B") is None
    assert ctx_get(Ctx(getUserData=None), "getUserData", "A") is None
    assert ctx_get(type("NotCallable", (), {"getToken": "t"})(), "getToken") is None


def test_a_remaining_time_of_one_millisecond_is_believed() -> None:
    # GIVEN the platform says 1 ms remain (any positive number is a reading)
    d = Deadline.from_context(Ctx(getRemainingTimeInMilliSeconds="1", getRunningTimeInSeconds=20), 1000.0, Clock())
    # THEN the deadline has passed (the reserve is larger), rather than 20 s being assumed
    assert d.at == pytest.approx(1000 + 0.001 - 0.5)


def test_a_local_request_id_is_the_time_in_milliseconds() -> None:
    before = int(time.time() * 1000)
    request_id = Invocation.from_context(object(), 0.0).request_id
    assert before <= int(request_id.removeprefix("local-")) <= int(time.time() * 1000)


def test_the_invocation_deadline_is_read_from_its_context() -> None:
    started = time.monotonic()
    inv = Invocation.from_context(Ctx(getRemainingTimeInMilliSeconds=10_000), started)
    assert inv.deadline.remaining() == pytest.approx(10 - 1, abs=0.5)


def test_user_data_is_asked_for_the_key() -> None:
    class Context:
        def getUserData(self, key: str) -> str | None:
            return {"REGION": "eu-nl"}.get(key)

    inv = Invocation.from_context(Context(), 0.0)
    assert (inv.lookup("REGION"), inv.lookup("PROJECT_ID")) == ("eu-nl", None)


def test_only_loopback_origins_stand_in_for_the_chat_platforms() -> None:
    # GIVEN the stand-ins the dev CLI and the tests pass (a path or a query is no part of an origin)
    inv = Invocation.from_context(object(), 0.0, chat_stand_ins=["http://127.0.0.1:8123/hook?x=1", "http://[::1]:9"])
    assert inv.chat_stand_ins == frozenset({"http://127.0.0.1:8123", "http://[::1]:9"})
    assert Invocation.from_context(object(), 0.0).chat_stand_ins == frozenset()
    # WHEN any other host is offered THEN the invocation is refused before anything runs
    for origin in ("https://hooks.slack.com", "http://127.0.0.2:80", "http://localhost.example:80", "not a url"):
        with pytest.raises(ValueError, match=r"^only loopback origins can stand in for a chat platform$"):
            Invocation.from_context(object(), 0.0, chat_stand_ins=[origin])
