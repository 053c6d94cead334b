"""HTTP requests -> backup orders. A delivery identity (from ``lib/http/auth.py``: a signed ``webhook-id``, the
hash of a GitHub-signed body, Slack's ``trigger_id``) makes a sender's retry of one delivery one backup."""

from __future__ import annotations

from datetime import datetime, timezone

from lib.http.gateway import HttpRequest
from lib.models import BackupOrder, BackupRequest, Trigger


def webhook_order(
    request: HttpRequest, backup_request: BackupRequest, trigger: Trigger, delivery: str | None
) -> BackupOrder:
    order = BackupOrder.of(
        trigger,
        f"http:{request.request_id}",
        delivery or request.request_id,
        datetime.now(timezone.utc),
        backup_request,
    )
    # An idempotency_key or an origin in the body has already set the identity; otherwise the delivery does.
    if delivery and backup_request.idempotency_key is None and backup_request.origin is None:
        return order.identified_by(delivery)
    return order
