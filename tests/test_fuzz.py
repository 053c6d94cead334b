"""Hypothesis-generated events for every source: the handler never raises except to ask for a retry, API
Gateway answers stay valid APIG responses, and results stay valid CloudEvents (the CloudEvents SDK checks)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handler
from dds_backup_dev.context import LocalContext
from dds_backup_dev.emulator import EmulatorServer, EmulatorState
from dds_backup_dev.signing import (
    apig_event,
    github_headers,
    mattermost_headers,
    slack_form,
    slack_headers,
    standard_webhooks_headers,
    status_query,
    teams_activity,
    teams_headers,
)
from tests.conftest import BILLING, CATALOG, FROZEN, ORDERS, _issued_tokens, parse_cloudevent

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
instance_ids = st.sampled_from([ORDERS, BILLING, CATALOG, FROZEN, "doesnotexist0000in02", "", "../etc", "x" * 70])
request_like = st.fixed_dictionaries(
    {},
    optional={
        "instance_id": instance_ids | json_values,
        "instance_ids": st.lists(instance_ids, max_size=3) | json_values,
        "selector": st.fixed_dictionaries({}, optional={"name": st.text(max_size=10), "mode": st.text(max_size=10)})
        | json_values,
        "name": st.text(max_size=70),
        "description": st.text(max_size=300),
        "dry_run": st.just(True),
        "wait": st.booleans() | json_values,
        "idempotency_key": st.text(max_size=20),
        "extra": json_values,
    },
)
# Mostly valid requests, so that the deep paths (resolve, create, exists, wait) are fuzzed too.
valid_requests = st.fixed_dictionaries(
    {"instance_id": st.sampled_from([ORDERS, BILLING, CATALOG, FROZEN, "doesnotexist0000in02"])},
    optional={
        "description": st.text(st.characters(exclude_characters=">!<\"&'=\r", codec="utf-8"), max_size=40),
        "dry_run": st.booleans(),
        "idempotency_key": st.text(min_size=1, max_size=12),
        "wait": st.just(False),
        "retention": st.fixed_dictionaries(
            {}, optional={"keep_last": st.integers(-2, 5), "max_age_days": st.integers(-1, 40)}
        ),
    },
) | st.fixed_dictionaries(
    {
        "selector": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["*prod", "orders-prod", "nope"]),
                "mode": st.sampled_from(["Sharding", "ReplicaSet", "Single"]),
            },
        ).filter(bool)
    }
)
message_text = st.one_of(
    st.text(max_size=50), request_like.map(json.dumps), valid_requests.map(json.dumps), json_values.map(json.dumps)
)

timer_events = st.fixed_dictionaries(
    {"trigger_type": st.just("TIMER")},
    optional={
        "time": st.sampled_from(["2026-11-27T01:00:00+01:00", "2026-11-27T00:00:00Z", "", "yesterday"]) | json_values,
        "trigger_name": st.text(max_size=20) | json_values,
        "user_event": message_text | json_values,
        "version": json_values,
    },
)
smn_events = st.fixed_dictionaries(
    {
        "record": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "smn": st.fixed_dictionaries(
                        {},
                        optional={
                            "message": message_text | json_values,
                            "message_id": st.text(max_size=10) | json_values,
                            "timestamp": st.sampled_from(["2018-01-09T07:11:40Z", "no"]) | json_values,
                        },
                    )
                    | json_values
                },
            )
            | json_values,
            max_size=4,
        )
    }
)
queue_events = st.fixed_dictionaries(
    {"trigger_type": st.sampled_from(["KAFKA", "ROCKETMQ", "OPENSOURCEKAFKA"])},
    optional={
        "event_time": st.integers() | json_values,
        "records": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "messages": st.lists(message_text | json_values, max_size=4) | json_values,
                    "topic_id": json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
    },
)
bodies = st.one_of(
    request_like.map(lambda r: base64.b64encode(json.dumps(r).encode()).decode()),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    st.text(max_size=100),  # often not base64 at all
)
apig_events = st.fixed_dictionaries(
    {
        "httpMethod": st.sampled_from(["GET", "POST", "PUT", "DELETE"]) | st.text(max_size=5),
        "requestContext": st.fixed_dictionaries({"requestId": st.text(max_size=10)}) | json_values,
    },
    optional={
        "path": st.sampled_from(["/backups", "/backups/abc", "/slack", "/", "/backups/../x"]) | st.text(max_size=20),
        "body": bodies | json_values,
        "isBase64Encoded": st.booleans() | json_values,
        "headers": st.dictionaries(
            st.sampled_from(
                [
                    "webhook-id",
                    "webhook-timestamp",
                    "webhook-signature",
                    "x-hub-signature-256",
                    "x-slack-signature",
                    "x-slack-request-timestamp",
                    "content-type",
                ]
            )
            | st.text(max_size=8),
            st.text(max_size=40),
            max_size=5,
        )
        | json_values,
        "queryStringParameters": json_values,
    },
)


WEBHOOK_SECRET = "whsec_ZnV6ei13ZWJob29rLXNlY3JldC12YWx1ZQ=="
SLACK_SECRET = "fuzzslacksigningsecret0123456789"
signed_apig_events = st.one_of(
    st.one_of(valid_requests, request_like)
    .map(lambda r: json.dumps(r).encode())
    .map(lambda b: apig_event("POST", "/backups", b, standard_webhooks_headers(WEBHOOK_SECRET, b))),
    st.text(max_size=40)
    .map(lambda t: slack_form(t.replace("\x00", "")))
    .map(lambda b: apig_event("POST", "/slack", b, slack_headers(SLACK_SECRET, b))),
    st.text("abcdef0123456789", max_size=40).map(lambda i: status_query(WEBHOOK_SECRET, f"/backups/{i}")),
)


@pytest.fixture(scope="module")
def fuzz_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorState.with_fixture(backup_delay=0.0)) as server:
        yield server


@pytest.fixture
def fuzz_env(fuzz_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    for key, value in fuzz_emulator.env("aksk").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    return fuzz_emulator


def run_handler(event: Any) -> dict[str, Any]:
    try:
        out: dict[str, Any] = handler.handler(event, LocalContext(timeout_s=30))
    except handler.RetryRequested as exc:
        out = exc.result
    return out


def check_invocation_result(out: dict[str, Any]) -> None:
    assert set(out) == {"ok", "results", "summary"}
    assert out["results"], "every event gets at least one result"
    assert out["summary"]["requested"] == len(out["results"])
    for r in out["results"]:
        parse_cloudevent(r)
        assert r["data"]["outcome"] in ("created", "completed", "exists", "failed", "rejected", "dry_run", "pruned")
    json.dumps(out)


def check_apig_answer(out: dict[str, Any]) -> None:
    assert set(out) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert isinstance(out["statusCode"], int) and 200 <= out["statusCode"] < 600
    assert out["statusCode"] != 500, out["body"]  # bad input is the caller's 4xx, never our crash
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in out["headers"].items())
    assert isinstance(out["body"], str) and out["isBase64Encoded"] is False
    json.loads(out["body"])


@FUZZ
@given(event=json_values)
def test_any_json_as_a_direct_event(fuzz_env: EmulatorServer, event: Any) -> None:
    out = run_handler(event)
    if isinstance(event, dict) and "httpMethod" in event:
        check_apig_answer(out)
    else:
        check_invocation_result(out)


@FUZZ
@given(event=request_like | valid_requests)
def test_request_shaped_direct_events(fuzz_env: EmulatorServer, event: dict[str, Any]) -> None:
    check_invocation_result(run_handler(event))


@FUZZ
@given(event=timer_events)
def test_timer_events(fuzz_env: EmulatorServer, event: dict[str, Any]) -> None:
    check_invocation_result(run_handler(event))


@FUZZ
@given(event=smn_events)
def test_smn_events(fuzz_env: EmulatorServer, event: dict[str, Any]) -> None:
    check_invocation_result(run_handler(event))


@FUZZ
@given(event=queue_events)
def test_kafka_and_rocketmq_events(fuzz_env: EmulatorServer, event: dict[str, Any]) -> None:
    check_invocation_result(run_handler(event))


@FUZZ
@given(event=apig_events)
def test_apig_events(fuzz_env: EmulatorServer, event: dict[str, Any]) -> None:
    check_apig_answer(run_handler(event))


@FUZZ
@given(event=signed_apig_events)
def test_signed_apig_requests(fuzz_env: EmulatorServer, event: dict[str, Any]) -> None:
    out = run_handler(event)
    check_apig_answer(out)
    assert out["statusCode"] != 401  # correctly signed: past authentication, whatever the body
    assert out["statusCode"] != 500


def test_a_6_mb_apig_body_is_refused_quickly(fuzz_env: EmulatorServer) -> None:
    body = base64.b64encode(b"{" + b" " * (6 * 1024 * 1024) + b"}").decode()
    out = run_handler(
        {"httpMethod": "POST", "path": "/backups", "requestContext": {}, "body": body, "isBase64Encoded": True}
    )
    check_apig_answer(out)
    assert out["statusCode"] == 413


@pytest.mark.parametrize("depth", [50, 900])
def test_deeply_nested_events(fuzz_env: EmulatorServer, depth: int) -> None:
    nested: Any = {"instance_id": ORDERS}
    for _ in range(depth):
        nested = {"selector": nested}
    check_invocation_result(run_handler(nested))
    check_invocation_result(
        run_handler({"trigger_type": "TIMER", "time": "2026-11-27T00:00:00Z", "user_event": json.dumps(nested)})
    )


def test_invalid_utf8_and_surrogates(fuzz_env: EmulatorServer) -> None:
    check_invocation_result(run_handler({"instance_id": "\udc80"}))
    check_invocation_result(run_handler({"record": [{"smn": {"message": "\udc80{", "message_id": "\ud800"}}]}))
    body = base64.b64encode(b"\xff\xfe\x00garbage").decode()
    for path in ("/backups", "/slack"):
        check_apig_answer(
            run_handler(
                {"httpMethod": "POST", "path": path, "requestContext": {}, "body": body, "isBase64Encoded": True}
            )
        )


# -- each front, fuzzed over its headers and bodies ----------------------------------------------------------
#
# Unsigned or forged requests (hypothesis cannot make a valid signature): 400 or 401, the usual error body, no DDS
# call at all. Requests signed as the sender signs them, over fuzzed bodies: past authentication, never a 5xx
# (but the designed 503 + Retry-After when DDS says to try later: an instance that is not ready).
# Always: no traceback in the log, no secret in the answer or the log.

FRONT_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEAMS_TOKEN = base64.b64encode(b"fuzz-teams-outgoing-webhook-key!").decode()
MATTERMOST_TOKEN = "fuzzmattermosttoken0123456"
FRONT_SECRETS = {
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
    "SLACK_SIGNING_SECRET": SLACK_SECRET,
    "TEAMS_WEBHOOK_TOKEN": TEAMS_TOKEN,
    "MATTERMOST_TOKEN": MATTERMOST_TOKEN,
}

# Header values as they may arrive: any text, unpaired surrogates (undecodable bytes), digits, signature look-alikes.
any_text = st.text(st.characters(exclude_categories=[]), max_size=60)
surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=[]), min_size=1)
header_values = st.one_of(
    any_text,
    surrogates,
    st.integers(-(10**15), 10**15).map(str),
    st.binary(max_size=40).map(lambda b: "v1," + base64.b64encode(b).decode()),
    st.binary(max_size=40).map(lambda b: "sha256=" + b.hex()),
    st.binary(max_size=40).map(lambda b: "v0=" + b.hex()),
    st.binary(max_size=40).map(lambda b: "HMAC " + base64.b64encode(b).decode()),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", max_size=30).map(lambda t: "Token " + t),
    st.lists(st.binary(max_size=32).map(lambda b: "v1," + base64.b64encode(b).decode()), max_size=4).map(" ".join),
)
FRONT_HEADERS = {
    "standard-webhooks": ("webhook-id", "webhook-timestamp", "webhook-signature"),
    "github": ("x-hub-signature-256", "x-github-delivery", "x-github-event"),
    "slack": ("x-slack-signature", "x-slack-request-timestamp"),
    "teams": ("authorization",),
    "mattermost": ("authorization",),
}
FRONT_PATHS = {
    "standard-webhooks": "/backups",
    "github": "/backups",
    "slack": "/slack",
    "teams": "/teams",
    "mattermost": "/mattermost",
}


def front_headers(front: str) -> st.SearchStrategy[dict[str, str]]:
    names = st.sampled_from(FRONT_HEADERS[front]) | st.sampled_from(["content-type", "x-request-id"]) | any_text
    return st.dictionaries(names, header_values, max_size=5)


form_fields = st.dictionaries(
    st.sampled_from(["text", "token", "trigger_id", "response_url", "user_id", "channel_id", "command"]) | any_text,
    any_text | st.sampled_from(["orders-prod", "help", "status b1", "audit", "https://hooks.slack.com/commands/1/2/3"]),
    max_size=6,
)
bodies_of_any_kind = st.one_of(
    st.binary(max_size=300),
    st.one_of(valid_requests, request_like, json_values).map(lambda v: json.dumps(v).encode()),
    form_fields.map(lambda f: urlencode(f, errors="surrogatepass").encode()),
    st.builds(lambda v: teams_activity(str(v)), any_text.map(lambda t: t.encode("utf-8", "replace").decode())),
)


@pytest.fixture
def fronts(fuzz_env: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    for key, value in FRONT_SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    return fuzz_env


def answered(front_env: EmulatorServer, capfd: pytest.CaptureFixture[str], event: dict[str, Any]) -> tuple[int, str]:
    """Invoke as API Gateway does; check what must always hold; the status and the log."""
    capfd.readouterr()
    before = len(front_env.state.requests)
    out = run_handler(event)
    log = capfd.readouterr().err
    check_apig_answer(out)
    assert out["statusCode"] < 500 or (out["statusCode"] == 503 and "Retry-After" in out["headers"]), out["body"]
    body = json.loads(out["body"])
    if out["statusCode"] >= 400 and "error" in body:
        assert set(body["error"]) >= {"code", "message"} and "request_id" in body
    assert "Traceback" not in log and "Logging error" not in log
    shown = out["body"] + json.dumps(out["headers"]) + log
    for secret in (*FRONT_SECRETS.values(), WEBHOOK_SECRET.removeprefix("whsec_"), *_issued_tokens):
        assert secret not in shown, "a secret reached an answer or the log"
    front_env.state.requests[before:] = []  # each example judged on its own calls
    return out["statusCode"], log


@pytest.mark.parametrize("front", list(FRONT_HEADERS))
@FRONT_FUZZ
@given(data=st.data())
def test_an_unauthenticated_request_to_any_front_gets_400_or_401_and_no_dds_call(
    fronts: EmulatorServer, capfd: pytest.CaptureFixture[str], front: str, data: st.DataObject
) -> None:
    headers = data.draw(front_headers(front))
    body = data.draw(bodies_of_any_kind)
    event = apig_event("POST", FRONT_PATHS[front], body, headers)
    capfd.readouterr()
    before = len(fronts.state.requests)
    out = run_handler(event)
    made = fronts.state.requests[before:]
    log = capfd.readouterr().err
    check_apig_answer(out)
    assert out["statusCode"] in (400, 401), out
    assert json.loads(out["body"])["error"]["code"] in ("UNAUTHENTICATED", "INVALID_HEADER", "INVALID_BODY")
    assert made == [], "a DDS call without valid authentication"
    assert "Traceback" not in log and "Logging error" not in log
    for secret in FRONT_SECRETS.values():
        assert secret not in out["body"] + log


def signed(front: str, body: bytes) -> dict[str, Any]:
    path = FRONT_PATHS[front]
    headers = {
        "standard-webhooks": lambda: standard_webhooks_headers(WEBHOOK_SECRET, body),
        "github": lambda: github_headers(WEBHOOK_SECRET, body),
        "slack": lambda: slack_headers(SLACK_SECRET, body),
        "teams": lambda: teams_headers(TEAMS_TOKEN, body),
        "mattermost": lambda: mattermost_headers(MATTERMOST_TOKEN),
    }[front]()
    return apig_event("POST", path, body, headers)


def signed_bodies(front: str) -> st.SearchStrategy[bytes]:
    if front in ("standard-webhooks", "github"):
        return st.one_of(valid_requests, request_like, json_values).map(lambda v: json.dumps(v).encode()) | st.binary(
            max_size=200
        )
    if front == "teams":  # what Teams sends is JSON: no Infinity
        finite = st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text,
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=20,
        )
        fields = st.fixed_dictionaries({}, optional={"id": finite, "from": finite, "channelData": finite})
        return st.builds(
            lambda text, extra: teams_activity(text, **extra),
            any_text.map(lambda t: t.encode("utf-8", "replace").decode()) | st.sampled_from(["orders-prod", "help"]),
            fields,
        )
    return form_fields.map(lambda f: urlencode(f, errors="surrogatepass").encode()) | st.builds(
        lambda text, url: slack_form(text, response_url=url, token=MATTERMOST_TOKEN),
        st.sampled_from(["catalog-staging", "help", "status x", "audit env=prod", "nope"]),
        any_text.map(lambda t: t.encode("utf-8", "replace").decode()),
    )


@pytest.mark.parametrize("front", list(FRONT_HEADERS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_authenticated_request_to_any_front_with_any_body_is_never_a_5xx(
    fronts: EmulatorServer, capfd: pytest.CaptureFixture[str], front: str, data: st.DataObject
) -> None:
    event = signed(front, data.draw(signed_bodies(front)))
    status, _ = answered(fronts, capfd, event)
    if front != "mattermost":  # its token may also be in the fuzzed form, so any form passes or not
        assert status != 401
