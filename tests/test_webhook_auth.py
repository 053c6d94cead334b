"""Who may call the HTTP routes: the signatures of each scheme (lib/http/signatures.py) against their published
test vectors and official libraries, and each route's authentication (lib/http/auth.py) on its own."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
import standardwebhooks

from dds_backup_dev.context import LocalContext
from dds_backup_dev.signing import (
    mattermost_headers,
    slack_headers,
    standard_webhooks_headers,
    teams_activity,
    teams_headers,
)
from lib.config import WEBHOOK_SECRET_RULE, ConfigError, Settings, load_settings, standard_webhooks_key
from lib.http import auth
from lib.http.auth import Caller
from lib.http.gateway import HttpError, HttpRequest
from lib.http.signatures import (
    github_signature,
    teams_signature,
    verify_github,
    verify_mattermost,
    verify_slack,
    verify_standard_webhooks,
    verify_teams,
    verify_teams_activity,
    verify_webhook,
)
from lib.runtime import Invocation
from lib.service import BackupService
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


PLAIN = "It's a Secret to Everybody, really"  # GitHub's documented example secret, made 24+ characters long


def whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        ("whsec_", "is not a whsec_ secret of at least 24 random bytes"),
        (whsec(b"x"), "is not a whsec_ secret of at least 24 random bytes"),
        (whsec(b"x" * 23), "is not a whsec_ secret of at least 24 random bytes"),
        ("whsec_" + "a" * 33, "is not base64 after the whsec_ prefix"),
        ("short-plain-secret", "or a plain secret of at least 24 characters"),
        # found weak: a key of zeros, a key of 7 byte values, a plain secret of one or seven characters
        (whsec(bytes(24)), "decodes to a key of fewer than 8 different byte values: not a random key"),
        (whsec(bytes(range(7)) * 5), "decodes to a key of fewer than 8 different byte values: not a random key"),
        ("a" * 24, "has fewer than 8 different characters: not a random secret"),
        ("abcdefg" * 4, "has fewer than 8 different characters: not a random secret"),
        # found read as another key: a plain value was leniently base64-decoded (to 3 zero bytes here)
        ("--------------------AAAA", "has fewer than 8 different characters: not a random secret"),
        # strict base64: padding only as much as needed, at the end; no bits left over; the standard alphabet
        (whsec(bytes(range(33))) + "=", "is not base64 after the whsec_ prefix"),
        (whsec(bytes(range(32)))[:-2] + "=", "is not base64 after the whsec_ prefix"),
        ("whsec_AAAB" + whsec(bytes(range(24)))[6:-2] + "==", "(its last character leaves bits over)"),
        ("whsec_" + "A-_" * 11, "is not a whsec_ secret of at least 24 random bytes"),
        ("é" * 30, "or a plain secret of at least 24 characters (printable ASCII)"),
    ],
)
def test_weak_or_malformed_webhook_secrets_are_a_configuration_error(secret: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"WEBHOOK_SECRET": secret}.get)
    assert "WEBHOOK_SECRET" in str(caught.value) and fragment in str(caught.value)
    assert secret not in str(caught.value) or secret == "whsec_"


@pytest.mark.parametrize(
    "secret",
    [
        UNPADDED,
        PADDED,
        whsec(bytes(range(8)) * 3),  # 24 bytes of 8 values: the least that passes
        whsec(bytes(range(64))),
        "abcdefgh" * 3,  # 24 characters, 8 of them different
        PLAIN,
    ],
)
def test_strong_secrets_of_both_kinds_are_accepted(secret: str) -> None:
    assert load_settings({"WEBHOOK_SECRET": secret}.get).webhook_secret is not None


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (PLAIN, "is a plain secret: Standard Webhooks signatures need a whsec_ secret"),
        ("whsec_!!", "is not base64 after the whsec_ prefix"),
        ("whsec_QR", "is not base64 after the whsec_ prefix (its last character leaves bits over)"),
        ("whsec_QUF", "is not base64 after the whsec_ prefix (its last character leaves bits over)"),
        ("whsec_QUE==", "is not base64 after the whsec_ prefix"),  # more padding than the length needs
        ("whsec_Q", "is not base64 after the whsec_ prefix"),  # one character more than a multiple of four
        ("whsec_", "is empty after the whsec_ prefix"),
    ],
)
def test_the_standard_webhooks_key_is_decoded_strictly_or_refused(secret: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"^" + re.escape(problem) + "$"):
        standard_webhooks_key(secret)


def test_the_decoded_key_is_what_the_official_library_uses() -> None:
    for key in (bytes(range(24)), bytes(range(25)), bytes(range(26)), bytes(range(255, 191, -1))):
        secret = whsec(key)
        assert standard_webhooks_key(secret) == standardwebhooks.Webhook(secret)._whsecret == key
        assert standard_webhooks_key(secret.rstrip("=")) == key


def test_the_secret_the_cli_makes_is_always_accepted() -> None:
    # GIVEN many secrets as `dds-backup secret` makes them THEN each passes the rule the function applies
    from dds_backup_dev.secret_rules import new_secret

    for _ in range(200):
        made = new_secret("WEBHOOK_SECRET", 32)
        assert WEBHOOK_SECRET_RULE.problem(made) is None, made


def test_a_standard_webhooks_request_under_a_plain_secret_is_told_to_use_a_whsec_secret() -> None:
    # GIVEN a plain WEBHOOK_SECRET (GitHub's kind) and a delivery signed, leniently, with the same string
    svc = service(WEBHOOK_SECRET=PLAIN)
    headers = standard_webhooks_headers(PADDED, BODY, "msg_plain")
    # THEN it is a 401 that says what to use, and nothing is derived from the plain value
    status, code, message = refused(lambda: require_webhook_signature(request(headers), svc))
    assert (status, code) == (401, "UNAUTHENTICATED")
    assert message == (
        "WEBHOOK_SECRET is a plain secret: Standard Webhooks signatures need a whsec_ secret: Standard Webhooks "
        "signatures cannot be checked (the function needs a whsec_ secret)"
    )
    # AND GitHub's scheme with the whole string still works
    github = {"x-hub-signature-256": github_signature(PLAIN, BODY)}
    assert require_webhook_signature(request(github), svc).delivery is not None


def test_a_whsec_secret_serves_github_signatures_with_the_whole_string() -> None:
    svc = service(WEBHOOK_SECRET=PADDED)
    assert require_webhook_signature(request({"x-hub-signature-256": github_signature(PADDED, BODY)}), svc)
    key_only = {"x-hub-signature-256": github_signature(PADDED.removeprefix("whsec_"), BODY)}
    assert refused(lambda: require_webhook_signature(request(key_only), svc))[0] == 401


# -- the replay window: 5 minutes either way, for every scheme with a timestamp -------------------------------

WINDOW_S = 5 * 60


def standard_webhooks_at(stamp: int) -> dict[str, str]:
    """A delivery signed at ``stamp`` by the official library (so only the clock can make it fail)."""
    v = VECTORS["standard_webhooks_v1"]
    signature = standardwebhooks.Webhook(v["secret"]).sign(
        v["webhook_id"], datetime.fromtimestamp(stamp, tz=timezone.utc), v["body"]
    )
    return {"webhook-id": v["webhook_id"], "webhook-timestamp": str(stamp), "webhook-signature": signature}


@pytest.mark.parametrize("skew", [-WINDOW_S, -1, 0, 1, WINDOW_S])
def test_standard_webhooks_within_five_minutes_either_way_are_accepted(skew: int) -> None:
    # GIVEN a delivery signed at T WHEN it arrives up to 5 minutes after (or, clocks apart, before) T
    v = VECTORS["standard_webhooks_v1"]
    stamp = int(v["webhook_timestamp"])
    # THEN it is authentic
    assert verify_standard_webhooks(v["secret"], standard_webhooks_at(stamp), v["body"].encode(), stamp + skew) is None


@pytest.mark.parametrize("skew", [-WINDOW_S - 1, WINDOW_S + 1, 100 * WINDOW_S - 1])
def test_standard_webhooks_just_outside_five_minutes_are_refused_as_stale(skew: int) -> None:
    v = VECTORS["standard_webhooks_v1"]
    stamp = int(v["webhook_timestamp"])
    problem = verify_standard_webhooks(v["secret"], standard_webhooks_at(stamp), v["body"].encode(), stamp + skew)
    assert problem == "webhook-timestamp is more than 5 minutes away from now (stale or replayed request)"


@pytest.mark.parametrize("skew", [-WINDOW_S, 0, WINDOW_S])
def test_slack_within_five_minutes_either_way_is_accepted(skew: int) -> None:
    v = VECTORS["slack_v0"]
    headers = {"x-slack-request-timestamp": v["x_slack_request_timestamp"], "x-slack-signature": v["x_slack_signature"]}
    now = float(v["x_slack_request_timestamp"]) + skew
    assert verify_slack(v["signing_secret"], headers, v["body"].encode(), now) is None


@pytest.mark.parametrize("skew", [-WINDOW_S - 1, WINDOW_S + 1, 100 * WINDOW_S - 1])
def test_slack_just_outside_five_minutes_is_refused_as_stale(skew: int) -> None:
    v = VECTORS["slack_v0"]
    headers = {"x-slack-request-timestamp": v["x_slack_request_timestamp"], "x-slack-signature": v["x_slack_signature"]}
    now = float(v["x_slack_request_timestamp"]) + skew
    problem = verify_slack(v["signing_secret"], headers, v["body"].encode(), now)
    assert problem == "x-slack-request-timestamp is more than 5 minutes away from now (stale or replayed request)"


# -- lib/http/auth.py: each route's authentication, and what identifies a delivery ----------------------------

SLACK_SECRET = VECTORS["slack_v0"]["signing_secret"]
TEAMS_TOKEN = "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA="  # the Teams sample's "contoso" key
MATTERMOST_TOKEN = "qzgakf1nx3yt9dr4n8585ihbxy"  # the Mattermost guide's example token
BODY = b'{"instance_id": "a89dab5e39394eccbdb77b19d57b0180in02"}'


def service(**variables: str) -> BackupService:
    invocation = Invocation.from_context(LocalContext(), time.monotonic())
    return BackupService(invocation, load_settings(variables.get))


def request(headers: dict[str, str], body: bytes = BODY, method: str = "POST", path: str = "/backups") -> HttpRequest:
    return HttpRequest(method, path, headers, {}, body, "req-1")


def require_webhook_signature(r: HttpRequest, s: BackupService) -> Caller:
    return auth.WEBHOOK.authenticate(r, s)


def require_slack_signature(r: HttpRequest, s: BackupService) -> Settings:
    return auth.SLACK.authenticate(r, s).settings


def require_teams_signature(r: HttpRequest, s: BackupService) -> Settings:
    return auth.TEAMS.authenticate(r, s).settings


def require_mattermost_token(r: HttpRequest, s: BackupService, form_token: str | None) -> Settings:
    body = urlencode({"token": form_token}).encode() if form_token is not None else b""
    return auth.MATTERMOST.authenticate(dataclasses.replace(r, body=body), s).settings


def refused(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(HttpError) as caught:
        call()
    return caught.value.status, caught.value.code, caught.value.message


def test_a_standard_webhooks_delivery_is_identified_by_its_signed_id() -> None:
    svc = service(WEBHOOK_SECRET=PADDED)
    caller = require_webhook_signature(request(standard_webhooks_headers(PADDED, BODY, "msg_7")), svc)
    assert caller == Caller(svc.settings, "webhook:msg_7")  # type: ignore[arg-type]


def test_a_github_delivery_is_identified_by_its_signed_body_not_its_delivery_header() -> None:
    secret = PLAIN
    svc = service(WEBHOOK_SECRET=secret)
    headers = {"x-hub-signature-256": github_signature(secret, BODY), "x-github-delivery": "d-1"}
    caller = require_webhook_signature(request(headers), svc)
    assert caller.delivery == "github:" + hashlib.sha256(BODY).hexdigest()[:32]
    assert caller.settings is svc.settings


def test_a_forged_or_stale_webhook_is_a_401() -> None:
    svc = service(WEBHOOK_SECRET=PADDED)
    forged = standard_webhooks_headers(UNPADDED + "x", BODY, "msg_8")
    assert refused(lambda: require_webhook_signature(request(forged), svc)) == (
        401,
        "UNAUTHENTICATED",
        "webhook-signature does not match",
    )
    stale = standard_webhooks_headers(PADDED, BODY, "msg_9", int(time.time()) - WINDOW_S - 60)
    status, code, message = refused(lambda: require_webhook_signature(request(stale), svc))
    assert (status, code) == (401, "UNAUTHENTICATED") and "stale or replayed" in message


@pytest.mark.parametrize(
    ("route", "variable"),
    [
        (lambda r, s: require_webhook_signature(r, s), "WEBHOOK_SECRET"),
        (lambda r, s: require_slack_signature(r, s), "SLACK_SIGNING_SECRET"),
        (lambda r, s: require_teams_signature(r, s), "TEAMS_WEBHOOK_TOKEN"),
        (lambda r, s: require_mattermost_token(r, s, MATTERMOST_TOKEN), "MATTERMOST_TOKEN"),
    ],
    ids=["webhook", "slack", "teams", "mattermost"],
)
def test_a_route_without_its_secret_refuses_everything(route: Callable[..., object], variable: str) -> None:
    # GIVEN every other secret configured, but not this route's
    others = {"WEBHOOK_SECRET": PADDED, "SLACK_SIGNING_SECRET": SLACK_SECRET, "TEAMS_WEBHOOK_TOKEN": TEAMS_TOKEN}
    others |= {"MATTERMOST_TOKEN": MATTERMOST_TOKEN}
    svc = service(**{k: v for k, v in others.items() if k != variable})
    headers = (
        standard_webhooks_headers(PADDED, BODY) | teams_headers(TEAMS_TOKEN, BODY) | slack_headers(SLACK_SECRET, BODY)
    )
    # THEN even a request signed with the others' secrets is a 401 that names the missing variable
    assert refused(lambda: route(request(headers), svc)) == (
        401,
        "UNAUTHENTICATED",
        f"{variable} is not configured: this route refuses every request",
    )


@pytest.mark.parametrize(
    "route",
    [
        lambda r, s: require_webhook_signature(r, s),
        lambda r, s: require_slack_signature(r, s),
        lambda r, s: require_teams_signature(r, s),
        lambda r, s: require_mattermost_token(r, s, None),
    ],
    ids=["webhook", "slack", "teams", "mattermost"],
)
def test_an_invalid_configuration_is_a_500_on_every_route(
    route: Callable[..., object], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a function whose configuration is invalid: no caller can be authenticated
    invocation = Invocation.from_context(LocalContext(), time.monotonic())
    svc = BackupService(invocation, None, config_error="WEBHOOK_SECRET is too short")
    # WHEN any route is called THEN it is a 500 that tells the caller nothing of the configuration
    assert refused(lambda: route(request({}), svc)) == (
        500,
        "INVALID_CONFIG",
        "the function's configuration is invalid; its log says what to fix",
    )
    # AND the log says what to fix
    assert "invalid configuration: WEBHOOK_SECRET is too short" in caplog.messages


def test_in_gateway_mode_the_delivery_headers_are_the_callers_word() -> None:
    svc = service(WEBHOOK_AUTH="gateway")
    assert require_webhook_signature(request({"webhook-id": "m1"}), svc) == Caller(svc.settings, "webhook:m1")  # type: ignore[arg-type]
    github = require_webhook_signature(request({"x-github-delivery": "d1"}), svc)
    assert github == Caller(svc.settings, "github-delivery:d1")  # type: ignore[arg-type]
    assert require_webhook_signature(request({}), svc) == Caller(svc.settings, None)  # type: ignore[arg-type]


CHATS = [
    ("slack", lambda r, s: require_slack_signature(r, s), "SLACK_SIGNING_SECRET", SLACK_SECRET),
    ("teams", lambda r, s: require_teams_signature(r, s), "TEAMS_WEBHOOK_TOKEN", TEAMS_TOKEN),
    ("mattermost", lambda r, s: require_mattermost_token(r, s, None), "MATTERMOST_TOKEN", MATTERMOST_TOKEN),
]


@pytest.mark.parametrize(("name", "route", "variable", "secret"), CHATS, ids=[c[0] for c in CHATS])
def test_webhook_auth_gateway_never_switches_off_a_chat_routes_own_check(
    name: str, route: Callable[..., object], variable: str, secret: str
) -> None:
    # GIVEN /backups handed to API Gateway's auth, and the chat route's secret configured (found: an unsigned
    # Slack command was answered "Backup started" under WEBHOOK_AUTH=gateway)
    svc = service(WEBHOOK_AUTH="gateway", **{variable: secret})
    # THEN an unsigned chat request is still refused by the chat route's own check
    assert refused(lambda: route(request({}), svc))[:2] == (401, "UNAUTHENTICATED")
    # AND without its secret the chat route refuses everything, as without WEBHOOK_AUTH
    bare = service(WEBHOOK_AUTH="gateway")
    assert refused(lambda: route(request({}), bare)) == (
        401,
        "UNAUTHENTICATED",
        f"{variable} is not configured: this route refuses every request",
    )


@pytest.mark.parametrize(("name", "route", "variable", "secret"), CHATS, ids=[c[0] for c in CHATS])
def test_chat_auth_gateway_trusts_the_gateway_for_the_chat_routes_only(
    name: str, route: Callable[..., object], variable: str, secret: str
) -> None:
    svc = service(CHAT_AUTH="gateway", WEBHOOK_SECRET=PADDED)
    assert route(request({}), svc) is svc.settings  # no secret, no signature: API Gateway vouched
    # and /backups keeps its signatures
    assert refused(lambda: require_webhook_signature(request({}), svc))[:2] == (401, "UNAUTHENTICATED")


def test_slack_is_checked_against_the_signing_secret_and_the_clock() -> None:
    svc = service(SLACK_SIGNING_SECRET=SLACK_SECRET)
    assert require_slack_signature(request(slack_headers(SLACK_SECRET, BODY)), svc) is svc.settings
    forged = request(slack_headers(SLACK_SECRET[::-1], BODY))
    assert refused(lambda: require_slack_signature(forged, svc)) == (
        401,
        "UNAUTHENTICATED",
        "x-slack-signature does not match",
    )
    stale = request(slack_headers(SLACK_SECRET, BODY, ts=int(time.time()) - WINDOW_S - 60))
    assert "stale or replayed" in refused(lambda: require_slack_signature(stale, svc))[2]


def test_teams_is_checked_against_the_hmac_of_the_body_and_its_time() -> None:
    svc = service(TEAMS_WEBHOOK_TOKEN=TEAMS_TOKEN)
    activity = teams_activity("help")
    assert require_teams_signature(request(teams_headers(TEAMS_TOKEN, activity), activity), svc) is svc.settings
    tampered = request(teams_headers(TEAMS_TOKEN, activity), body=activity + b" ")
    assert refused(lambda: require_teams_signature(tampered, svc)) == (
        401,
        "UNAUTHENTICATED",
        "the HMAC signature does not match",
    )
    # found: a correctly signed activity stamped 2020 made a backup
    old = teams_activity("orders-prod", timestamp="2020-06-01T09:00:00.000Z")
    assert refused(lambda: require_teams_signature(request(teams_headers(TEAMS_TOKEN, old), old), svc)) == (
        401,
        "UNAUTHENTICATED",
        "the activity's timestamp is more than 5 minutes away from now (stale or replayed request)",
    )


def activity_at(stamp: str, field: str = "timestamp") -> bytes:
    return json.dumps({"type": "message", "text": "help", field: stamp}).encode()


TEAMS_NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-29T12:00:00Z",
        "2026-11-29T11:55:00.000Z",  # 5 minutes before: the edge, as for the other schemes
        "2026-11-29T12:05:00Z",
        "2026-11-29T12:04:59.9999999Z",  # .NET writes seven digits
        "2026-11-29T13:00:00+01:00",  # the same instant with an offset
    ],
)
def test_a_teams_activity_within_five_minutes_either_way_is_accepted(stamp: str) -> None:
    body = activity_at(stamp)
    assert verify_teams_activity(TEAMS_TOKEN, teams_headers(TEAMS_TOKEN, body), body, TEAMS_NOW) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (activity_at("2026-11-29T11:54:59.999Z"), "stale"),
        (activity_at("2026-11-29T12:05:01Z"), "stale"),
        (activity_at("2026-11-29T12:00:00+02:00"), "stale"),  # two hours earlier than it reads
        (activity_at("2020-06-01T09:00:00.000Z"), "stale"),
        (activity_at("2026-11-29T12:00:00"), "no timestamp"),  # no zone: no instant
        (activity_at("2026-13-29T12:00:00Z"), "no timestamp"),
        (activity_at("2026-11-29T12:00:00+24:00"), "no timestamp"),
        (activity_at("٢٠٢٦-11-29T12:00:00Z"), "no timestamp"),  # other scripts' digits are no ISO 8601
        (activity_at("1764417600"), "no timestamp"),
        (json.dumps({"type": "message", "timestamp": 1764417600}).encode(), "no timestamp"),
        (json.dumps({"type": "message"}).encode(), "no timestamp"),
        (json.dumps(["not", "an", "activity"]).encode(), "no timestamp"),
        (b"not json", "no timestamp"),
        # the recorded time wins over the sender's local one; the local one counts only without it
        (
            json.dumps({"timestamp": "2020-01-01T00:00:00Z", "localTimestamp": "2026-11-29T12:00:00Z"}).encode(),
            "stale",
        ),
        (json.dumps({"timestamp": None, "localTimestamp": "2026-11-29T12:00:00Z"}).encode(), "no timestamp"),
    ],
)
def test_a_teams_activity_outside_five_minutes_or_without_a_time_is_refused(body: bytes, reason: str) -> None:
    problem = verify_teams_activity(TEAMS_TOKEN, teams_headers(TEAMS_TOKEN, body), body, TEAMS_NOW)
    assert (
        problem
        == {
            "stale": "the activity's timestamp is more than 5 minutes away from now (stale or replayed request)",
            "no timestamp": "the activity has no timestamp (ISO 8601, as Teams sends it)",
        }[reason]
    )


def test_a_teams_activity_without_its_timestamp_counts_its_local_one() -> None:
    body = activity_at("2026-11-29T04:01:00.4714686-08:00", field="localTimestamp")
    assert verify_teams_activity(TEAMS_TOKEN, teams_headers(TEAMS_TOKEN, body), body, TEAMS_NOW) is None


def test_the_documented_teams_example_is_authentic_at_its_own_time_only() -> None:
    # The OfficeDev sample's activity (tests/test_chat.py VECTOR_1_BODY) is stamped 2017-02-01T21:10:07.437Z.
    from tests.test_chat import VECTOR_1_BODY

    headers = {"authorization": "HMAC +8+1P0uA/vmBAPMuL64T8YHBMP4KHUOD/HPbX/Xl/2o="}
    at = datetime(2017, 2, 1, 21, 10, 7, 437000, tzinfo=timezone.utc).timestamp()
    assert verify_teams_activity(TEAMS_TOKEN, headers, VECTOR_1_BODY, at + 60) is None
    assert verify_teams_activity(TEAMS_TOKEN, headers, VECTOR_1_BODY, time.time()) is not None
    # and a forged signature is refused before its time is read
    forged = {"authorization": "HMAC " + "A" * 44}
    assert verify_teams_activity(TEAMS_TOKEN, forged, VECTOR_1_BODY, at) == "the HMAC signature does not match"


def test_mattermost_is_checked_against_the_token_in_the_header_or_the_form() -> None:
    svc = service(MATTERMOST_TOKEN=MATTERMOST_TOKEN)
    assert require_mattermost_token(request(mattermost_headers(MATTERMOST_TOKEN)), svc, None) is svc.settings
    assert require_mattermost_token(request({}), svc, MATTERMOST_TOKEN) is svc.settings
    assert refused(lambda: require_mattermost_token(request({}), svc, "guess")) == (
        401,
        "UNAUTHENTICATED",
        "the token does not match",
    )


# -- Teams and Mattermost, and the reasons each scheme gives -------------------------------------------------

# Computed by the OfficeDev samples' procedure (see tests/test_chat.py) with their example token.
TEAMS_VECTOR = (
    "+ZaRRMC8+mpnfGaGsBOmkIFt98bttL5YQRq3p2tXgcE=",
    b'{"type":"message","text":"<at>DDSBackup</at> help"}',
    "HMAC Nr8UdAwTfvDBveVOFccV1o7WDczlpwBnlvTATruK8os=",
)


def test_a_teams_token_is_read_with_or_without_its_base64_padding() -> None:
    token, body, header = TEAMS_VECTOR
    assert teams_signature(token.rstrip("="), body) == header
    assert verify_teams(token.rstrip("="), {"authorization": header}, body) is None


@pytest.mark.parametrize(
    ("authorization", "body", "reason"),
    [
        ("", TEAMS_VECTOR[1], "missing Authorization: HMAC <signature>"),
        (TEAMS_VECTOR[2].replace("HMAC ", "Bearer "), TEAMS_VECTOR[1], "missing Authorization: HMAC <signature>"),
        (TEAMS_VECTOR[2], b"", "an empty body cannot be authenticated"),
        ("HMAC " + "A" * 44, TEAMS_VECTOR[1], "the HMAC signature does not match"),
    ],
)
def test_teams_refusals_say_why(authorization: str, body: bytes, reason: str) -> None:
    assert verify_teams(TEAMS_VECTOR[0], {"authorization": authorization}, body) == reason


@pytest.mark.parametrize(
    ("authorization", "form_token", "reason"),
    [
        (f"Token {MATTERMOST_TOKEN}", None, None),
        (f"Token   {MATTERMOST_TOKEN}  ", "ignored", None),
        ("", MATTERMOST_TOKEN, None),
        (f"Bearer {MATTERMOST_TOKEN[::-1]}", MATTERMOST_TOKEN, None),  # another scheme: the form's token counts
        (f"token {MATTERMOST_TOKEN}", None, "missing Authorization: Token <token>"),  # the scheme is case-sensitive
        ("Token ", MATTERMOST_TOKEN, "missing Authorization: Token <token>"),
        ("", None, "missing Authorization: Token <token>"),
        ("", "", "missing Authorization: Token <token>"),
        (f"Token {MATTERMOST_TOKEN[:-1]}", None, "the token does not match"),
        ("", MATTERMOST_TOKEN + "x", "the token does not match"),
    ],
)
def test_mattermost_takes_the_header_token_else_the_form_token(
    authorization: str, form_token: str | None, reason: str | None
) -> None:
    assert verify_mattermost(MATTERMOST_TOKEN, {"authorization": authorization}, form_token) == reason


def test_each_missing_part_of_a_signature_is_named() -> None:
    v = VECTORS["slack_v0"]
    stamp = v["x_slack_request_timestamp"]
    now = float(stamp)
    assert verify_slack(SLACK_SECRET, {}, b"", now) == "missing x-slack-request-timestamp"
    assert verify_slack(SLACK_SECRET, {"x-slack-request-timestamp": stamp}, b"", now) == "missing x-slack-signature"
    assert verify_github(PLAIN, {}, b"{}") == "missing x-hub-signature-256"
    sw = standard_webhooks_at(int(VECTORS["standard_webhooks_v1"]["webhook_timestamp"]))
    assert verify_standard_webhooks(PADDED, {**sw, "webhook-id": ""}, b"{}", now) == "missing webhook-id"
    no_stamp = {k: v for k, v in sw.items() if k != "webhook-timestamp"}
    assert verify_standard_webhooks(PADDED, no_stamp, b"{}", now) == "missing webhook-timestamp"
    assert verify_webhook(PADDED, {"webhook-signature": "v1,x"}, b"{}", now) == "missing webhook-id"


def test_only_v1_signatures_count() -> None:
    v = VECTORS["standard_webhooks_v1"]
    headers = standard_webhooks_at(int(v["webhook_timestamp"]))
    v2 = {**headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,")}
    problem = verify_standard_webhooks(v["secret"], v2, v["body"].encode(), float(v["webhook_timestamp"]))
    assert problem == "webhook-signature does not match"


def test_an_undecodable_secret_is_reported_not_used() -> None:
    v = VECTORS["standard_webhooks_v1"]
    headers = standard_webhooks_at(int(v["webhook_timestamp"]))
    problem = verify_standard_webhooks("whsec_!!", headers, v["body"].encode(), float(v["webhook_timestamp"]))
    assert problem == (
        "WEBHOOK_SECRET is not base64 after the whsec_ prefix: Standard Webhooks signatures cannot be checked "
        "(the function needs a whsec_ secret)"
    )


def test_a_header_with_a_lone_surrogate_is_refused_not_a_crash() -> None:
    # API Gateway hands headers over as JSON, which can carry any code point, paired or not.
    forged = {"x-hub-signature-256": "sha256=\ud800"}
    assert verify_github(PLAIN, forged, b"{}") == "x-hub-signature-256 does not match"


def test_a_standard_webhooks_delivery_without_a_signature_header_does_not_match() -> None:
    v = VECTORS["standard_webhooks_v1"]
    unsigned = {k: x for k, x in standard_webhooks_at(int(v["webhook_timestamp"])).items() if k != "webhook-signature"}
    problem = verify_standard_webhooks(v["secret"], unsigned, v["body"].encode(), float(v["webhook_timestamp"]))
    assert problem == "webhook-signature does not match"


def test_teams_without_an_authorization_header_is_missing_it() -> None:
    assert verify_teams(TEAMS_VECTOR[0], {}, TEAMS_VECTOR[1]) == "missing Authorization: HMAC <signature>"


def test_the_webhook_route_says_which_signatures_it_takes() -> None:
    assert verify_webhook(PADDED, {}, b"{}", time.time()) == (
        "no signature: send Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) "
        "or X-Hub-Signature-256"
    )
    github = {"x-hub-signature-256": github_signature(PADDED, b"")}
    assert verify_webhook(PADDED, github, b"", time.time(), "GET", "/backups/b1") == (
        "X-Hub-Signature-256 only authorises POST /backups: sign status queries with Standard Webhooks"
    )


def test_a_teams_token_of_any_length_is_read_with_or_without_padding() -> None:
    key = bytes(range(37))  # 50 base64 characters and "==" of padding
    token = base64.b64encode(key).decode()
    assert token.endswith("==")
    assert teams_signature(token.rstrip("="), TEAMS_VECTOR[1]) == teams_signature(token, TEAMS_VECTOR[1])


@pytest.mark.parametrize(
    ("stamp", "at"),
    [
        ("2026-11-29T12:00:00Z", TEAMS_NOW),
        ("2026-11-29T12:00:00.25Z", TEAMS_NOW + 0.25),
        ("2026-11-29T05:00:00.4714686-07:00", TEAMS_NOW + 0.4714686),
        ("2026-11-29T17:30:00+05:30", TEAMS_NOW),  # an offset with minutes
        ("2026-11-29T06:15:00-05:45", TEAMS_NOW),  # and west of UTC
    ],
)
def test_an_activity_time_is_read_to_the_fraction_of_a_second(stamp: str, at: float) -> None:
    from lib.http.signatures import activity_time

    assert activity_time({"timestamp": stamp}) == pytest.approx(at, abs=1e-6)
