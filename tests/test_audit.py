"""Audit requests: prove that every instance has a recent, completed backup (reads only), and alert when not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dds_backup_dev.emulator import EmulatorServer, EmulatorState
from lib.dds.models import Backup
from lib.models import Audit
from lib.planning import audit
from tests.conftest import BILLING, CATALOG, FROZEN, ORDERS, ROOT, Invoke, marked, only_result, parse_cloudevent
from tests.test_routes import SECRET, body_of, post_backups

HOUR = 3600.0
PROJECT = "0549b4a43100d4f32f51c01c2fe4acdb"
ALERT_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-alerts"
RESULTS_TOPIC = f"urn:smn:eu-de:{PROJECT}:dds-backup-results"
NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)


# -- the verdict, as a pure function ------------------------------------------------------------------------


def listed(
    n: int, hours_old: float, status: str = "COMPLETED", type_: str = "Manual", name: str = "", ours: bool = True
) -> Backup:
    """Backup ``b<n>``, made by this tool (marked) unless ``ours`` is false."""
    begin = (NOW - timedelta(hours=hours_old)).strftime("%Y-%m-%d %H:%M:%S")
    name = name or f"ddsb-orders-prod-{n:08x}"
    return Backup(
        id=f"b{n}",
        name=name,
        instance_id=ORDERS,
        type=type_,
        status=status,
        begin_time=begin,
        description=marked(name, ORDERS) if ours else "",
    )


def verdict(backups: list[Backup], hours: int = 24, automated: bool = True) -> tuple[Any, Any]:
    return audit.evaluate(backups, Audit(max_age_hours=hours, include_automated=automated), NOW)


def test_fresh_exactly_at_the_limit_and_stale_just_past_it() -> None:
    assert verdict([listed(1, 24)])[1] is None
    report, stale = verdict([listed(1, 24.01)])
    assert stale is not None and stale.code == "BACKUP_STALE" and stale.retryable is False
    assert "began 24.0 hours ago; the limit is 24 hours" in stale.message
    assert report.newest_completed.id == "b1"


def test_automated_backups_count_unless_told_otherwise() -> None:
    backups = [listed(1, 2, type_="Auto", name="auto-x"), listed(2, 50)]
    assert verdict(backups)[1] is None
    report, stale = verdict(backups, automated=False)
    assert stale is not None and report.newest_completed.id == "b2"
    assert "completed manual backup" in stale.message


def test_only_completed_backups_make_an_instance_fresh() -> None:
    report, stale = verdict(
        [listed(1, 1, status="BUILDING"), listed(2, 2, status="FAILED"), listed(3, 3, status="DISABLED")]
    )
    assert stale is not None and "there is no completed backup" in stale.message
    assert [b.id for b in report.building] == ["b1"]


def test_our_recent_failures_are_listed_even_on_a_fresh_instance() -> None:
    backups = [
        listed(1, 1),
        listed(2, 2, status="FAILED"),
        listed(3, 30, status="FAILED"),
        listed(4, 3, status="FAILED", name="by-hand", ours=False),
        listed(5, 3, status="FAILED", name="ddsb-orders-prod-00000005", ours=False),  # our format, by hand
    ]
    report, stale = verdict(backups)
    assert stale is None
    assert [b.id for b in report.recent_failed] == ["b2"]  # within the window, and ours


def test_a_failure_exactly_at_the_window_is_listed_and_one_just_past_it_is_not() -> None:
    report, _ = verdict([listed(1, 1), listed(2, 24, status="FAILED"), listed(3, 24.01, status="FAILED")])
    assert [b.id for b in report.recent_failed] == ["b2"]


def test_a_failure_without_the_mark_is_never_claimed_as_ours() -> None:
    report, fresh = verdict([listed(1, 1), listed(2, 2, status="FAILED", ours=False)])
    assert (fresh, report.recent_failed) == (None, [])


def test_the_report_shows_each_backup_with_its_age_in_hours() -> None:
    odd = Backup(id="b9", name="ddsb-x", type="Manual", status="BUILDING", begin_time="not a time")
    report, _ = verdict([listed(1, 1.26), listed(2, 0.5, status="BUILDING"), odd])
    newest = report.newest_completed
    assert newest is not None
    assert (newest.id, newest.name, newest.type, newest.status, newest.age_hours) == (
        "b1",
        "ddsb-orders-prod-00000001",
        "Manual",
        "COMPLETED",
        1.3,
    )
    assert newest.begin_time == (NOW - timedelta(hours=1.26)).strftime("%Y-%m-%d %H:%M:%S")
    assert [(b.id, b.age_hours) for b in report.building] == [("b2", 0.5), ("b9", None)]
    assert (report.max_age_hours, report.include_automated) == (24, True)


def test_the_newest_completed_backup_is_the_one_that_counts() -> None:
    report, stale = verdict([listed(1, 30), listed(2, 2, status="FAILED"), listed(3, 26)], hours=25)
    assert report.newest_completed is not None and report.newest_completed.id == "b3"
    assert stale is not None
    assert stale.message == "the newest completed backup began 26.0 hours ago; the limit is 25 hours"
    _, none = verdict([], hours=5, automated=False)
    assert none is not None
    assert none.message == "there is no completed manual backup of this instance; the limit is 5 hours"


# -- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        ({"audit": {}}, "audit.max_age_hours: Field required"),
        ({"audit": {"max_age_hours": 0}}, "audit.max_age_hours: Input should be greater than or equal to 1"),
        ({"audit": {"max_age_hours": -5}}, "audit.max_age_hours: Input should be greater than or equal to 1"),
        ({"audit": {"max_age_hours": 10**6}}, "audit.max_age_hours: Input should be less than or equal to 8760"),
        ({"audit": {"max_age_hours": "a day"}}, "audit.max_age_hours: Input should be a valid integer"),
        ({"audit": {"max_age_hours": 24, "name": "x"}}, "audit.name: unknown field"),
        ({"audit": {"max_age_hours": 24}, "retention": {"keep_last": 3}}, "cannot be combined with retention"),
        ({"audit": {"max_age_hours": 24}, "description": "x"}, "cannot be combined with description"),
        ({"audit": {"max_age_hours": 24}, "wait": True}, "cannot be combined with wait"),
    ],
)
def test_bad_audit_requests_are_rejected_before_any_call(
    configured: EmulatorServer, invoke: Invoke, request_: dict[str, Any], fragment: str
) -> None:
    data = only_result(invoke({"instance_id": ORDERS, **request_}))
    assert data["outcome"] == "rejected" and fragment in data["error"]["message"]
    assert configured.state.requests == []


def test_an_explicit_name_with_an_audit_is_rejected(configured: EmulatorServer, invoke: Invoke) -> None:
    data = only_result(invoke({"instance_id": ORDERS, "name": "abcd", "audit": {"max_age_hours": 24}}))
    assert "cannot be combined with name" in data["error"]["message"]


# -- end to end ---------------------------------------------------------------------------------------------


def seed(state: EmulatorState, instance: str, name: str, hours_old: float, ours: bool = True, **kw: Any) -> None:
    description = marked(name, instance) if ours else ""
    state.seed_backup(instance, name, description=description, age_s=hours_old * HOUR, **kw)


@pytest.fixture
def fleet(configured: EmulatorServer) -> EmulatorServer:
    """GIVEN orders-prod fresh by our manual backup (and a recent failure of ours), billing-prod fresh by an
    automated one, catalog-staging with only an old completed backup and one still building, legacy-frozen with
    none at all."""
    s = configured.state
    s.backup_delay = 600  # "now - created < delay" is BUILDING: the seeded ages below are older
    seed(s, ORDERS, "ddsb-orders-prod-20261129T000000-11111111", 3)
    seed(s, ORDERS, "ddsb-orders-prod-20261129T060000-22222222", 2, fails=True)
    seed(s, BILLING, "billing-prod-auto", 5, ours=False, type="Auto")
    seed(s, CATALOG, "ddsb-catalog-staging-20261101T000000-33333333", 28 * 24)
    seed(s, CATALOG, "ddsb-catalog-staging-20261129T110000-44444444", 0.01)
    return configured


def by_instance(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["data"]["instance_id"]: r["data"] for r in result["results"]}


def test_an_audit_of_the_fleet(fleet: EmulatorServer, invoke: Invoke) -> None:
    result = invoke({"selector": {"all": True}, "audit": {"max_age_hours": 24}})
    data = by_instance(result)
    assert {i: d["outcome"] for i, d in data.items()} == {
        ORDERS: "fresh",
        BILLING: "fresh",
        CATALOG: "stale",
        FROZEN: "stale",
    }
    assert data[BILLING]["audit"]["newest_completed"]["type"] == "Auto"
    assert [b["name"] for b in data[ORDERS]["audit"]["recent_failed"]] == ["ddsb-orders-prod-20261129T060000-22222222"]
    assert [b["name"] for b in data[CATALOG]["audit"]["building"]] == ["ddsb-catalog-staging-20261129T110000-44444444"]
    assert "began 672.0 hours ago" in data[CATALOG]["error"]["message"]
    assert "there is no completed backup" in data[FROZEN]["error"]["message"]
    # Not ok, and no retry: another run changes nothing
    assert (result["ok"], result["_raised"]) == (False, False)
    assert result["summary"]["fresh"] == 2 and result["summary"]["stale"] == 2
    for r in result["results"]:
        parse_cloudevent(r)
    # It only read
    assert {(r.method, r.path.split("/")[-1]) for r in fleet.state.requests} <= {
        ("POST", "tokens"),
        ("GET", "instances"),
        ("GET", "backups"),
    }


def test_stale_and_failed_results_page_someone_through_the_alert_topic(
    fleet: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERT_TOPIC_URN", ALERT_TOPIC)
    monkeypatch.setenv("RESULT_TOPIC_URN", RESULTS_TOPIC)
    result = invoke({"selector": {"all": True}, "audit": {"max_age_hours": 24}})
    alerts = [m for m in fleet.state.published if m.topic_urn == ALERT_TOPIC]
    assert sorted(m.subject for m in alerts) == ["dds-backup stale catalog-staging", "dds-backup stale legacy-frozen"]
    assert all(json.loads(m.message)["data"]["error"]["code"] == "BACKUP_STALE" for m in alerts)
    assert len([m for m in fleet.state.published if m.topic_urn == RESULTS_TOPIC]) == 4  # every result
    assert result["publish"]["alerts"]["published"] == 2
    # A failed backup of any request alerts too
    failed = only_result(invoke({"instance_id": FROZEN}))
    assert failed["outcome"] == "failed"
    assert [m.subject for m in fleet.state.published if m.topic_urn == ALERT_TOPIC][
        -1
    ] == "dds-backup failed legacy-frozen"


def test_a_pipeline_audit_over_post_backups_answers_200_when_fresh_and_409_when_stale(
    fleet: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the webhook route, as a pre-deployment step uses it (curl --fail stops on 4xx)
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    fresh = invoke(post_backups({"instance_id": ORDERS, "audit": {"max_age_hours": 24}}))
    assert fresh["statusCode"] == 200
    assert (body_of(fresh)["status"], body_of(fresh)["outcome"]) == ("FRESH", "fresh")
    stale = invoke(post_backups({"instance_id": CATALOG, "audit": {"max_age_hours": 24}}))
    assert stale["statusCode"] == 409
    assert (body_of(stale)["status"], body_of(stale)["error"]["code"]) == ("STALE", "BACKUP_STALE")
    # A fleet with one stale instance is a 409 as a whole, and says STALE like a single one
    both = invoke(post_backups({"instance_ids": [ORDERS, CATALOG], "audit": {"max_age_hours": 24}}))
    assert (both["statusCode"], body_of(both)["status"]) == (409, "STALE")
    # A fleet all fresh is 200 and FRESH
    fine = invoke(post_backups({"instance_ids": [ORDERS, BILLING], "audit": {"max_age_hours": 24}}))
    assert (fine["statusCode"], body_of(fine)["status"]) == (200, "FRESH")


def test_a_timer_can_audit(fleet: EmulatorServer, invoke: Invoke) -> None:
    event = json.loads((ROOT / "events/audit.json").read_text())
    result = invoke(event)
    assert {r["data"]["outcome"] for r in result["results"]} <= {"fresh", "stale"}
    assert result["results"] and result["_raised"] is False


def test_a_large_audit_is_fanned_out_like_a_backup(
    fleet: EmulatorServer, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    fanout_topic = f"urn:smn:eu-de:{PROJECT}:dds-backup-fanout"
    monkeypatch.setenv("FANOUT_TOPIC_URN", fanout_topic)
    monkeypatch.setenv("FANOUT_THRESHOLD", "2")
    first = invoke({"selector": {"all": True}, "audit": {"max_age_hours": 24}})
    assert first["summary"]["fanned_out"] == 4
    assert all(r["data"]["name"] is None for r in first["results"])  # an audit names no backup
    handed = [m for m in fleet.state.published if m.topic_urn == fanout_topic]
    verdicts = {}
    for message in handed:
        data = only_result(invoke(fleet.state.smn_event(message)))
        verdicts[data["instance_id"]] = data["outcome"]
    assert verdicts == {ORDERS: "fresh", BILLING: "fresh", CATALOG: "stale", FROZEN: "stale"}
    assert not [r for r in fleet.state.requests if r.method == "POST" and r.path.endswith("/backups")]
