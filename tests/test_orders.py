"""HTTP requests become backup orders (lib/http/orders.py): a delivery identity makes a sender's retry one
backup; without one, each request is its own (API Gateway's request id). Neither is named with a time: the
clock never goes into a name."""

from __future__ import annotations

from lib.http.gateway import HttpRequest
from lib.http.orders import WEBHOOK_SCOPE, webhook_order
from lib.models import BackupRequest, Trigger

REQUEST = HttpRequest("POST", "/backups", {}, {}, b"{}", "req-1")


def test_without_a_delivery_identity_the_request_is_its_own_backup() -> None:
    order = webhook_order(REQUEST, BackupRequest(instance_id="a"), Trigger.APIG, None, WEBHOOK_SCOPE)
    assert (order.trigger, order.identity, order.correlation_id) == (Trigger.APIG, "http:req-1", "req-1")
    assert (order.event_time, order.scope) == (None, "webhook:/backups")
    assert order.request == BackupRequest(instance_id="a")


def test_a_delivery_identity_names_the_backup_whenever_the_delivery_comes_again() -> None:
    order = webhook_order(REQUEST, BackupRequest(instance_id="a"), Trigger.SLACK, "slack:T1.42", "slack:T1")
    assert (order.trigger, order.identity, order.correlation_id, order.event_time, order.scope) == (
        Trigger.SLACK,
        "slack:T1.42",
        "slack:T1.42",
        None,
        "slack:T1",
    )


def test_a_key_in_the_body_wins_over_the_delivery_within_the_route() -> None:
    request = BackupRequest(instance_id="a", idempotency_key="deploy-7")
    order = webhook_order(REQUEST, request, Trigger.APIG, "webhook:m1", WEBHOOK_SCOPE)
    assert (order.identity, order.correlation_id, order.event_time) == (
        "key:webhook:/backups:deploy-7",
        "webhook:m1",
        None,
    )
    # the same key from a chat team is another identity
    chat = webhook_order(REQUEST, request, Trigger.SLACK, "slack:T1.42", "slack:T1")
    assert chat.identity == "key:slack:T1:deploy-7"
