"""HTTP requests -> backup orders. A delivery identity (from ``lib/http/auth.py``: a signed ``webhook-id``, the
hash of a GitHub-signed body, a chat command's own id) makes a sender's retry of one delivery one backup. Without
one, the request's id (API Gateway's) identifies it: each request is its own backup. Neither brings a time, so
webhook and chat backups are named without one.

The scope (whose retention and whose idempotency keys) is the webhook route for ``/backups``, and the team for a
chat command."""

from __future__ import annotations

from lib.http.gateway import HttpRequest
from lib.models import BackupOrder, BackupRequest, Trigger

#: Every caller of ``/backups`` shares one scope: the route's secret or the gateway's authentication admits them.
WEBHOOK_SCOPE = "webhook:/backups"


def webhook_order(
    request: HttpRequest, backup_request: BackupRequest, trigger: Trigger, delivery: str | None, scope: str
) -> BackupOrder:
    order = BackupOrder.of(
        trigger, f"http:{request.request_id}", delivery or request.request_id, None, backup_request, scope=scope
    )
    # An idempotency_key in the body has already set the identity; otherwise the delivery does.
    if delivery and backup_request.idempotency_key is None:
        return order.identified_by(delivery)
    return order
