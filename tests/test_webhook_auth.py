"""Webhook signatures against the published test vectors of each scheme."""

from __future__ import annotations

import json
import time

import pytest

from lib.http.signatures import (
    github_signature,
    verify_github,
    verify_slack,
    verify_standard_webhooks,
    verify_webhook,
)
from tests.conftest import REFERENCE

VECTORS = json.loads((REFERENCE / "webhook-vectors.json").read_text())


def test_slack_documented_example_verifies_at_its_own_time_and_is_stale_now() -> None:
    v = VECTORS["slack_v0"]
    headers = {"x-slack-request-timestamp": v["x_slack_request_timestamp"], "x-slack-signature": v["x_slack_signature"]}
    body = v["body"].encode()
    at_the_time = float(v["x_slack_request_timestamp"])
    assert verify_slack(v["signing_secret"], headers, body, now=at_the_time) is None
    assert verify_slack(v["signing_secret"], headers, body, now=at_the_time + 299) is None
    stale = verify_slack(v["signing_secret"], headers, body, now=time.time())
    assert stale is not None and "stale" in stale
    forged = verify_slack("another-secret", headers, body, now=at_the_time)
    assert forged == "x-slack-signature does not match"


def test_github_documented_example() -> None:
    v = VECTORS["github_sha256"]
    assert github_signature(v["secret"], v["body"].encode()) == v["x_hub_signature_256"]
    assert v["x_hub_signature_256"].startswith("sha256=757107ea")
    headers = {"x-hub-signature-256": v["x_hub_signature_256"]}
    assert verify_github(v["secret"], headers, v["body"].encode()) is None
    assert verify_github(v["secret"], headers, b"Hello, World?") is not None


def test_standard_webhooks_spec_example() -> None:
    v = VECTORS["standard_webhooks_v1"]
    headers = {
        "webhook-id": v["webhook_id"],
        "webhook-timestamp": v["webhook_timestamp"],
        "webhook-signature": v["webhook_signature"],
    }
    body = v["body"].encode()
    at = float(v["webhook_timestamp"])
    assert verify_standard_webhooks(v["secret"], headers, body, now=at) is None
    # Rotation: several signatures, one of them valid.
    rotated = {**headers, "webhook-signature": "v1,bm9wZQ== " + v["webhook_signature"]}
    assert verify_standard_webhooks(v["secret"], rotated, body, now=at) is None
    assert verify_standard_webhooks(v["secret"], headers, body, now=time.time()) is not None  # stale
    assert verify_standard_webhooks(v["secret"], headers, body + b" ", now=at) is not None  # tampered
    other_id = {**headers, "webhook-id": "msg_other"}
    assert verify_standard_webhooks(v["secret"], other_id, body, now=at) is not None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no signature"),
        ({"webhook-id": "m"}, "missing webhook-timestamp"),
        ({"webhook-id": "m", "webhook-timestamp": "soon", "webhook-signature": "v1,x"}, "not a unix timestamp"),
        ({"x-hub-signature-256": "sha256=00"}, "does not match"),
        ({"x-hub-signature-256": "sha256=ü"}, "does not match"),
        ({"webhook-id": "m", "webhook-timestamp": "NOW", "webhook-signature": "v1,ü"}, "not a unix timestamp"),
    ],
)
def test_missing_or_malformed_signatures_are_refused_with_a_reason(headers: dict[str, str], reason: str) -> None:
    problem = verify_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, b"{}", now=time.time())
    assert problem is not None and reason in problem
