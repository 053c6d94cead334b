"""Webhook signatures against the published test vectors of each scheme."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone

import pytest
import standardwebhooks

from dds_backup_dev.signing import standard_webhooks_headers
from lib.config import ConfigError, load_settings, standard_webhooks_key
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


# -- the official standardwebhooks library as the oracle ------------------------------------------------------

KEY_32 = bytes(range(32))
PADDED = "whsec_" + base64.b64encode(KEY_32).decode()  # ends in "="
UNPADDED = PADDED.rstrip("=")


@pytest.mark.parametrize("secret", [PADDED, UNPADDED])
def test_signed_by_the_official_library_verified_by_ours(secret: str) -> None:
    body = b'{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"}'
    now = time.time()
    stamp = datetime.fromtimestamp(now, tz=timezone.utc)
    signature = standardwebhooks.Webhook(secret).sign("msg_1", stamp, body.decode())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now)), "webhook-signature": signature}
    assert verify_standard_webhooks(secret, headers, body, now) is None


@pytest.mark.parametrize("secret", [PADDED, UNPADDED])
def test_signed_by_ours_verified_by_the_official_library(secret: str) -> None:
    body = b'{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"}'
    headers = standard_webhooks_headers(secret, body, "msg_2")
    assert standardwebhooks.Webhook(secret).verify(body, headers) == json.loads(body)
    assert standard_webhooks_key(secret) == KEY_32  # padding or not, the same key as the official library's


def test_a_get_signature_covers_the_method_and_the_path() -> None:
    now = time.time()
    headers = standard_webhooks_headers(PADDED, b"", "msg_3", int(now), method="GET", path="/backups/b1")
    assert verify_webhook(PADDED, headers, b"", now, "GET", "/backups/b1") is None
    # the same signature for another backup, or a body, is refused
    assert verify_webhook(PADDED, headers, b"", now, "GET", "/backups/b2") == "webhook-signature does not match"
    assert verify_webhook(PADDED, headers, b"x", now, "GET", "/backups/b1") == "a status query has no body"
    # a POST delivery replayed as a GET is refused
    post = standard_webhooks_headers(PADDED, b"", "msg_4", int(now))
    assert verify_webhook(PADDED, post, b"", now, "GET", "/backups/b1") == "webhook-signature does not match"
    # and the GET content is what the official library signs when given "GET <path>" as the payload
    official = standardwebhooks.Webhook(PADDED).sign(
        "msg_3", datetime.fromtimestamp(int(now), tz=timezone.utc), "GET /backups/b1"
    )
    assert official == headers["webhook-signature"]


def test_github_signatures_never_authorise_a_status_query() -> None:
    secret = "It's a Secret to Everybody, really"
    constant = {"x-hub-signature-256": github_signature(secret, b"")}
    problem = verify_webhook(secret, constant, b"", time.time(), "GET", "/backups/any")
    assert problem is not None and "only authorises POST" in problem
    assert verify_webhook(secret, constant, b"", time.time(), "POST", "/backups") is None


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        ("whsec_", "is not a whsec_ secret of at least 24 random bytes"),
        ("whsec_" + base64.b64encode(b"x").decode(), "is not a whsec_ secret of at least 24 random bytes"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "is not a whsec_ secret of at least 24 random bytes"),
        ("whsec_" + "a" * 33, "is not base64 after the whsec_ prefix"),
        ("short-plain-secret", "or a plain secret of at least 24 characters"),
    ],
)
def test_weak_or_malformed_webhook_secrets_are_a_configuration_error(secret: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"WEBHOOK_SECRET": secret}.get)
    assert "WEBHOOK_SECRET" in str(caught.value) and fragment in str(caught.value)
    assert secret not in str(caught.value) or secret == "whsec_"


def test_strong_secrets_of_both_kinds_are_accepted() -> None:
    assert load_settings({"WEBHOOK_SECRET": UNPADDED}.get).webhook_secret is not None
    assert load_settings({"WEBHOOK_SECRET": "x" * 24}.get).webhook_secret is not None
