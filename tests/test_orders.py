"""HTTP requests become backup orders (lib/http/orders.py): a delivery identity makes a sender's retry one
backup; without one, each request is its own, named at the time it came."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lib.http.gateway import HttpRequest
from lib.http.orders import webhook_order
from lib.models import BackupRequest, Origin, Trigger

REQUEST = HttpRequest("POST", "/backups", {}, {}, b"{}", "req-1")


def test_without_a_delivery_identity_the_request_is_its_own_backup_named_at_its_time() -> None:
    order = webhook_order(REQUEST, BackupRequest(instance_id="a"), Trigger.APIG, None)
    assert (order.trigger, order.identity, order.correlation_id) == (Trigger.APIG, "http:req-1", "req-1")
    assert order.event_time is not None and order.event_time.tzinfo is timezone.utc
    assert datetime.now(timezone.utc) - order.event_time < timedelta(seconds=5)
    assert order.request == BackupRequest(instance_id="a")


def test_a_delivery_identity_names_the_backup_whenever_the_delivery_comes_again() -> None:
    order = webhook_order(REQUEST, BackupRequest(instance_id="a"), Trigger.SLACK, "slack:T1.42")
    assert (order.trigger, order.identity, order.correlation_id, order.event_time) == (
        Trigger.SLACK,
        "slack:T1.42",
        "slack:T1.42",
        None,
    )


def test_a_key_in_the_body_wins_over_the_delivery() -> None:
    order = webhook_order(
        REQUEST, BackupRequest(instance_id="a", idempotency_key="deploy-7"), Trigger.APIG, "webhook:m1"
    )
    assert (order.identity, order.correlation_id, order.event_time) == ("key:deploy-7", "webhook:m1", None)


def test_an_origin_in_the_body_wins_over_the_delivery() -> None:
    origin = Origin(identity="timer:nightly:1", trigger=Trigger.TIMER, correlation_id="nightly@1")
    order = webhook_order(REQUEST, BackupRequest(instance_id="a", origin=origin), Trigger.APIG, "webhook:m1")
    assert (order.trigger, order.identity, order.correlation_id, order.event_time) == (
        Trigger.TIMER,
        "timer:nightly:1",
        "nightly@1",
        None,
    )
