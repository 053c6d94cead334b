"""At the platform's ceiling, end to end through the handler: an API that throttles the tenant, deadlines that cannot
cover a whole fleet, a listing that breaks off, an outage. Every requested instance gets a result of its own, and
what is left is handed on (or ends retryable), never lost. Speed itself is measured in bench/ceiling.py."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from dds_backup_dev.emulator.state import Published
from lib.runner import handoff
from tests.conftest import ORDERS, Invoke, log_lines
from tests.test_routes import SECRET, body_of, post_backups

PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
FANOUT_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"


def fleet(emulator: EmulatorServer, count: int) -> list[str]:
    """``count`` healthy instances tagged fleet=bench; their ids in the API's order."""
    return emulator.state.add_synthetic_instances(count)


def timer(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "trigger_type": "TIMER",
        "trigger_name": "fleet",
        "time": "2026-12-01T01:00:00Z",
        "user_event": json.dumps(request),
    }


def outcomes(result: dict[str, Any]) -> Counter[str]:
    return Counter(r["data"]["outcome"] for r in result["results"])


def handed_on(emulator: EmulatorServer) -> list[Published]:
    return [m for m in emulator.state.published if m.topic_urn == FANOUT_TOPIC]


def dds_answers(emulator: EmulatorServer) -> Counter[int]:
    return Counter(r.status for r in emulator.state.requests if r.path.startswith(f"/v3/{PROJECT}/"))


async def test_the_emulator_throttles_each_tenant_with_dds_s_answer(emulator: EmulatorServer) -> None:
    # GIVEN a tenant allowed 3 calls at once and then one every 10 s
    emulator.state.rate_limit, emulator.state.rate_burst = 0.1, 3.0
    base = emulator.endpoint
    async with aiohttp.ClientSession() as session:
        ours = [(await session.get(f"{base}/v3/{PROJECT}/instances")).status for _ in range(4)]
        throttled = await session.get(f"{base}/v3/{PROJECT}/instances")
        body = await throttled.json()
        other_tenant = await session.get(f"{base}/v3/{'f' * 32}/instances")
        token = await session.post(f"{base}/v3/auth/tokens", json={})
        smn = await session.get(f"{base}/v2/{PROJECT}/notifications/topics/{FANOUT_TOPIC}")
    # THEN the 4th call of the tenant is refused as DDS refuses it (unsigned calls count: the limit comes first)
    assert ours == [401, 401, 401, 429]
    assert (throttled.status, body) == (
        429,
        {"error_code": "DBS.280443", "error_msg": "The maximum number of connections has been reached."},
    )
    # AND another tenant, IAM and SMN have limits of their own
    assert (other_tenant.status, token.status, smn.status) == (401, 400, 401)
    assert emulator.state.throttled_calls == 2


def test_a_fleet_at_the_ceiling_is_backed_up_whole_without_spending_attempts(
    configured: EmulatorServer, invoke: Invoke, capfd: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 60 instances and an API that allows 20 calls a second (MAX_CONCURRENCY 10 would send hundreds)
    ids = fleet(configured, 60)
    configured.state.rate_limit, configured.state.latency = 20.0, 0.02
    result = invoke(timer({"selector": {"tags": {"fleet": "bench"}}}))
    # THEN every backup is made, none failed, and each create was answered once
    assert outcomes(result) == {"created": 60}
    assert {r["data"]["instance_id"] for r in result["results"]} == set(ids)
    creates = Counter(r.body for r in configured.state.requests if r.method == "POST" and r.status == 200)
    assert len(creates) == 60 and set(creates.values()) == {1}
    # AND the API did throttle, the calls waited instead of failing, and the log says where the rate settled
    throttled = dds_answers(configured)[429]
    assert throttled > 0
    lines = log_lines(capfd.readouterr().err)
    assert not [line for line in lines if line.get("logger") == "dds_backup.retry"]  # no attempt spent on it
    (report,) = [line for line in lines if line.get("limiter.calls") is not None]
    assert report["limiter.throttled"] == throttled
    assert report["limiter.rate"] > 0 and report["message"].startswith(f"DDS: {throttled} of ")


@pytest.fixture
def slow_api(configured: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """GIVEN 40 instances and an API that allows 4 calls a second: a 4 s invocation cannot back up all of them."""
    ids = fleet(configured, 40)
    configured.state.rate_limit = 4.0
    configured.state.backup_delay = 0.0
    monkeypatch.setattr(handoff, "DELAYS_S", (0.0, 0.0, 0.0))
    return ids


def inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fan-out topic to hand on to, and requests carried out inline (not fanned out before they start)."""
    monkeypatch.setenv("FANOUT_TOPIC_URN", FANOUT_TOPIC)
    monkeypatch.setenv("FANOUT_THRESHOLD", "1000")
    monkeypatch.setenv("MAX_CONCURRENCY", "100")


def test_what_the_deadline_cannot_cover_is_handed_on_with_exactly_its_ids(
    slow_api: list[str], configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline(monkeypatch)
    first = invoke(timer({"instance_ids": slow_api}), timeout_s=4)
    # THEN every requested instance has its own result: made, or handed on for another attempt
    assert first["summary"]["requested"] == 40
    assert [r["data"]["instance_id"] for r in first["results"]].count(slow_api[0]) == 1
    assert set(outcomes(first)) == {"created", "handed_off"} and first["_raised"] is False
    left = sorted(r["data"]["instance_id"] for r in first["results"] if r["data"]["outcome"] == "handed_off")
    # AND one message carries exactly those ids, under the timer's identity
    (message,) = handed_on(configured)
    follow_up = json.loads(message.message)
    assert sorted(follow_up["request"]["instance_ids"]) == left
    assert (follow_up["origin"]["handoffs"], follow_up["origin"]["trigger"]) == (1, "timer")
    # WHEN it comes back THEN the new invocation works on those ids alone
    again = invoke(configured.state.smn_event(message), timeout_s=4)
    assert again["summary"]["requested"] == len(left)
    assert {r["data"]["instance_id"] for r in again["results"]} == set(left)
    assert Counter(b.instance_id for b in configured.state.backups.values()).most_common(1)[0][1] == 1


def test_without_a_fan_out_topic_what_is_left_ends_retryable_and_the_platform_is_asked_to_retry(
    slow_api: list[str], configured: EmulatorServer, invoke: Invoke
) -> None:
    result = invoke(timer({"instance_ids": slow_api}), timeout_s=4)
    assert result["summary"]["requested"] == 40
    failed = [r["data"] for r in result["results"] if r["data"]["outcome"] == "failed"]
    assert failed and all(d["error"]["retryable"] for d in failed)
    assert all("a retry is not guaranteed" in d["error"]["message"] for d in failed)
    assert result["_raised"] is True


def test_a_webhook_for_more_than_its_time_covers_answers_503_with_retry_after(
    slow_api: list[str], configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    answer = invoke(post_backups({"selector": {"tags": {"fleet": "bench"}}}), timeout_s=4)
    body = body_of(answer)
    assert (answer["statusCode"], answer["headers"]["Retry-After"]) == (503, "30")
    assert len(body["results"]) == 40
    assert {r["data"]["outcome"] for r in body["results"]} == {"created", "failed"}


def test_when_the_listing_breaks_off_each_id_it_did_not_reach_fails_on_its_own_and_is_handed_on(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 250 instances, a request for 150 of them, and the listing's second page failing every time
    ids = fleet(configured, 250)[:150]
    configured.state.faults.append(
        Fault("GET", r"/instances$", 503, "DBS.280005", count=100, query_contains="offset=100")
    )
    inline(monkeypatch)
    result = invoke(timer({"instance_ids": ids}))
    # THEN what asked for 150 instances says what became of 150
    assert result["summary"]["requested"] == 150
    assert sorted(r["data"]["instance_id"] for r in result["results"]) == sorted(ids)
    first_page = {i["id"] for i in list(configured.state.instances.values())[:100]}
    made = {r["data"]["instance_id"] for r in result["results"] if r["data"]["outcome"] == "created"}
    unreached = {r["data"]["instance_id"] for r in result["results"] if r["data"]["outcome"] == "handed_off"}
    assert made == set(ids) & first_page and unreached == set(ids) - first_page
    error = next(r["data"]["error"] for r in result["results"] if r["data"]["outcome"] == "handed_off")
    assert (
        error["code"] == "DBS.280005"
        and "the instance listing broke off before reaching this instance" in error["message"]
    )
    # AND the hand-off carries exactly the ids the listing did not reach
    (message,) = handed_on(configured)
    assert set(json.loads(message.message)["request"]["instance_ids"]) == unreached


def test_an_outage_spends_the_invocations_retry_budget_not_every_calls_attempts(
    configured: EmulatorServer, invoke: Invoke
) -> None:
    # GIVEN 60 instances and DDS failing every create (RETRY_MAX_ATTEMPTS 4 would send 240)
    fleet(configured, 60)
    configured.state.faults.append(Fault("POST", r"/backups$", 503, "DBS.280005", count=10_000))
    result = invoke(timer({"selector": {"tags": {"fleet": "bench"}}}))
    creates = sum(1 for r in configured.state.requests if r.method == "POST" and r.path.endswith("/backups"))
    # THEN the budget (500, 5 a retry, 1 back for each answered look-up) stopped the retries well short of that
    assert 60 < creates < 200
    failed = [r["data"] for r in result["results"]]
    assert len(failed) == 60 and {d["outcome"] for d in failed} == {"failed"}
    assert all(d["error"]["retryable"] for d in failed)
    assert any("this invocation's retries are used up" in d["error"]["message"] for d in failed)
    assert result["_raised"] is True


def test_a_webhook_waiting_for_its_backup_stops_waiting_when_dds_work_must_stop_and_says_so(
    configured: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a result topic (DDS work stops ~1.4 s before the 6 s invocation's deadline, for publishing) and a backup
    # that takes longer than the invocation
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RESULT_TOPIC_URN", f"urn:smn:eu-de:{PROJECT}:dds-backup-results")
    configured.state.backup_delay = 60
    answer = invoke(post_backups({"instance_id": ORDERS, "wait": True}), timeout_s=6)
    body = body_of(answer)
    # THEN the backup is reported as still building (202), not as a failure of the polling cut off by the deadline
    assert (answer["statusCode"], body["status"], body["outcome"]) == (202, "BUILDING", "created")
    assert body["results"][0]["data"]["wait_ended_early"] is True
    assert len(configured.state.published) == 1  # and its result still went out
