"""Carrying out one order (lib/runner), against the emulator with a real client, without the handler around it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import aiohttp
import pytest

from dds_backup_dev.emulator import EmulatorServer, Fault
from lib.cloud.retry import RetryPolicy
from lib.codes import ErrorCode
from lib.config import Settings
from lib.dds.models import Instance
from lib.models import BackupOrder, BackupRequest, Outcome, Trigger, rejected
from lib.runner import fanout
from lib.runner.runner import Runner
from lib.runtime import Deadline
from tests.conftest import BILLING, CATALOG, FROZEN, ORDERS
from tests.test_dds_client import make_client

WHEN = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def order(identity: str = "timer:nightly:1", **request: object) -> BackupOrder:
    request_ = BackupRequest.model_validate(request)
    return BackupOrder.of(Trigger.TIMER, identity, "nightly@1", WHEN, request_, scope="timer:nightly")


@pytest.fixture
async def runner(emulator: EmulatorServer) -> AsyncIterator[Runner]:
    async with aiohttp.ClientSession() as session:
        deadline = Deadline(at=time.monotonic() + 30)
        yield Runner(
            client=make_client(session, emulator, deadline=deadline, retry=RetryPolicy(base_delay=0.01)),
            settings=Settings(),
            deadline=deadline,
            retry=RetryPolicy(base_delay=0.01),
        )


def creates(emulator: EmulatorServer) -> int:
    return sum(1 for r in emulator.state.requests if r.method == "POST" and r.path.endswith("/backups"))


async def test_a_rejected_order_is_reported_without_any_call(runner: Runner, emulator: EmulatorServer) -> None:
    bad = BackupOrder(
        Trigger.SMN, "smn:m1", "m1", WHEN, rejection=rejected(ErrorCode.INVALID_JSON, "not JSON"), scope="smn:t"
    )
    (data,) = await runner.run(bad)
    assert (data.outcome, data.error and data.error.code) == (Outcome.REJECTED, "INVALID_JSON")
    assert emulator.state.requests == []


async def test_create_then_the_same_order_again_is_exists(runner: Runner, emulator: EmulatorServer) -> None:
    (first,) = await runner.run(order(instance_id=ORDERS))
    assert (first.outcome, first.backup_status, first.attempts) == (Outcome.CREATED, "BUILDING", 1)
    emulator.state.backup_delay = 0
    (again,) = await runner.run(order(instance_id=ORDERS))
    assert (again.outcome, again.backup_id, again.name) == (Outcome.EXISTS, first.backup_id, first.name)
    assert creates(emulator) == 2  # the second create met "name exists" and was looked up
    assert len(emulator.state.backups) == 1


async def test_unknown_ids_and_empty_selectors_are_rejected(runner: Runner) -> None:
    results = await runner.run(order(instance_ids=[ORDERS, "f" * 32 + "in02"], dry_run=True))
    assert sorted((d.outcome, d.instance_id) for d in results) == [
        (Outcome.DRY_RUN, ORDERS),
        (Outcome.REJECTED, "f" * 32 + "in02"),
    ]
    (empty,) = await runner.run(order(selector={"name": "nothing-like-this"}))
    assert empty.error is not None and empty.error.code == "NO_MATCHING_INSTANCE"


async def test_an_instance_that_is_not_ready_is_a_retryable_failure_before_any_create(
    runner: Runner, emulator: EmulatorServer
) -> None:
    (data,) = await runner.run(order(instance_id=FROZEN))
    assert data.error is not None
    assert (data.outcome, data.error.code, data.error.retryable) == (Outcome.FAILED, "INSTANCE_NOT_READY", True)
    assert creates(emulator) == 0


async def test_a_lost_answer_is_found_by_name_not_created_twice(runner: Runner, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(Fault("POST", r"/backups$", kind="lost"))
    (data,) = await runner.run(order(instance_id=CATALOG))
    assert data.outcome is Outcome.EXISTS
    assert len(emulator.state.backups) == 1 and data.backup_id in emulator.state.backups


async def test_wait_reports_completed_or_the_jobs_failure(runner: Runner, emulator: EmulatorServer) -> None:
    emulator.state.backup_delay = 0.05
    emulator.state.failing_instances.add(BILLING)
    (ok,) = await runner.run(order(instance_id=ORDERS, wait=True))
    (bad,) = await runner.run(order(instance_id=BILLING, wait=True))
    assert (ok.outcome, ok.backup_status) == (Outcome.COMPLETED, "COMPLETED")
    assert bad.error is not None
    assert (bad.outcome, bad.error.code, bad.backup_id is not None) == (Outcome.FAILED, "BACKUP_FAILED", True)


async def test_a_name_taken_by_another_instance_is_a_clear_failure(runner: Runner, emulator: EmulatorServer) -> None:
    emulator.state.add_backup(BILLING, "taken-name", "")
    (data,) = await runner.run(order(instance_id=ORDERS, name="taken-name"))
    assert data.error is not None
    assert (data.outcome, data.error.code) == (Outcome.FAILED, "DBS.201201")
    assert "another instance" in data.error.message


def test_fan_out_only_with_a_topic_for_more_instances_than_the_threshold() -> None:
    topic = "urn:smn:eu-de:0549b4a43100d4f32f51c01c2fe4acdb:fanout"
    far = Deadline(at=time.monotonic() + 3600)
    request = BackupRequest(selector={"all": True})
    event = order(selector={"all": True})
    with_topic = Settings(fanout_topic_urn=topic, fanout_threshold=10)
    assert not fanout.should_fan_out(Settings(), event, 500, far)
    assert not fanout.should_fan_out(with_topic, event, 10, far)
    assert fanout.should_fan_out(with_topic, event, 11, far)
    # A request that was handed on already (fanned out, say) is never fanned out again.
    message = fanout.single_request(event, request, Instance(id=ORDERS, name="orders-prod"))
    assert message.request.instance_id == ORDERS and message.origin.identity == event.identity
    again = BackupOrder.handed(message.amend(request=request))
    assert again.handed_on and not fanout.should_fan_out(with_topic, again, 11, far)
    # Fewer than the threshold, but more than half the remaining time can serve at MAX_CONCURRENCY.
    assert fanout.should_fan_out(with_topic, event, 9, Deadline(at=time.monotonic() + 1))


async def test_a_redelivery_whose_backup_is_being_deleted_is_a_retryable_failure(
    runner: Runner, emulator: EmulatorServer
) -> None:
    (first,) = await runner.run(order(instance_id=CATALOG))
    emulator.state.backup_delay = 0
    emulator.state.delete_delay = 3600
    emulator.state.delete_backup(emulator.state.backups[str(first.backup_id)])
    # WHEN the same event comes again while its backup is DISABLED ("being deleted")
    (again,) = await runner.run(order(instance_id=CATALOG))
    # THEN it is not taken as the existing backup
    assert again.error is not None
    assert (again.outcome, again.backup_status) == (Outcome.FAILED, "DISABLED")
    assert (again.error.code, again.error.retryable) == ("BACKUP_BEING_DELETED", True)
    # AND once it is gone, the retry makes the backup again, under the same name
    emulator.state.delete_delay = 0
    (later,) = await runner.run(order(instance_id=CATALOG))
    assert (later.outcome, later.name) == (Outcome.CREATED, first.name)


async def test_wait_follows_the_backup_list_when_the_job_query_is_refused(
    runner: Runner, emulator: EmulatorServer
) -> None:
    emulator.state.backup_delay = 0.3
    emulator.state.faults.append(Fault("GET", r"/jobs$", 403, "DBS.280032", "no permission", count=100))
    (data,) = await runner.run(order(instance_id=ORDERS, wait=True))
    assert (data.outcome, data.backup_status) == (Outcome.COMPLETED, "COMPLETED")
    assert [r for r in emulator.state.requests if r.path.endswith("/backups") and "backup_id=" in r.query]


async def test_a_wait_cut_short_says_so(runner: Runner, emulator: EmulatorServer) -> None:
    emulator.state.backup_delay = 3600
    runner.wait_deadline = Deadline(at=time.monotonic() + 0.2)
    (data,) = await runner.run(order(instance_id=ORDERS, wait=True))
    assert (data.outcome, data.backup_status, data.wait_ended_early) == (Outcome.CREATED, "BUILDING", True)
    (quick,) = await runner.run(order("timer:other:1", instance_id=BILLING))
    assert quick.wait_ended_early is False  # no wait asked, nothing cut short


async def test_a_dry_run_on_a_busy_instance_reports_why_and_asks_for_no_retry(
    runner: Runner, emulator: EmulatorServer
) -> None:
    (data,) = await runner.run(order(instance_id=FROZEN, dry_run=True))
    assert data.error is not None
    assert (data.outcome, data.dry_run, data.error.code) == (Outcome.DRY_RUN, True, "INSTANCE_NOT_READY")
    assert creates(emulator) == 0


async def test_backups_of_the_first_page_are_made_before_the_last_page_arrives(
    runner: Runner, emulator: EmulatorServer
) -> None:
    emulator.state.add_synthetic_instances(250)
    emulator.state.faults.append(Fault("GET", r"/instances$", kind="slow", delay=1.5, query_contains="offset=200"))
    results = await runner.run(order(selector={"tags": {"fleet": "bench"}}))
    assert {d.outcome for d in results} == {Outcome.CREATED}
    (slow,) = [r for r in emulator.state.requests if "offset=200" in r.query]
    creates = [r for r in emulator.state.requests if r.method == "POST" and r.path.endswith("/backups")]
    assert len(creates) == 250
    assert sum(1 for c in creates if c.arrived < slow.answered) >= 100  # no create waited for the slow page


async def test_a_failed_look_up_of_one_id_fails_that_id_alone_and_the_others_go_on(
    runner: Runner, emulator: EmulatorServer
) -> None:
    # GIVEN three ids, each looked up on its own, and DDS failing every look-up of BILLING
    emulator.state.faults.append(
        Fault("GET", r"/instances$", 503, "DBS.280005", count=100, query_contains=f"id={BILLING}")
    )
    results = await runner.run(order(instance_ids=[ORDERS, BILLING, CATALOG]))
    # THEN the two found are backed up, and BILLING fails with the cause, retryable: one result for each id
    assert sorted((d.instance_id or "", d.outcome.value) for d in results) == sorted(
        [(ORDERS, "created"), (CATALOG, "created"), (BILLING, "failed")]
    )
    (failed,) = [d for d in results if d.outcome is Outcome.FAILED]
    assert failed.error is not None and (failed.error.code, failed.error.retryable) == ("DBS.280005", True)
    assert "the instance listing broke off before reaching this instance" in failed.error.message
